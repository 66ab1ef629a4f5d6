/* npz.h — NumPy .npz archives (a zip of .npy members), as Gemma Scope ships
 * its SAEs (params.npz). Members may be stored or deflated, zip64 or not.
 * Arrays are little-endian, C-order; float32 and float64 are loaded as f32
 * (float64 is narrowed). Every error names the file and the member. */
#ifndef SAEX_NPZ_H
#define SAEX_NPZ_H
#include "saex.h"
#include <stdint.h>

#define NPZ_MAX_DIMS 8

typedef struct {
    char *name;  /* member name without ".npy" */
    int ndim;
    int64_t shape[NPZ_MAX_DIMS];
    int64_t numel;
    float *data; /* malloc'd, numel floats */
} npz_array;

typedef struct {
    npz_array *arrays;
    int n;
} npz_file;

saex_status npz_load(const char *path, npz_file *out);
void npz_free(npz_file *f);
const npz_array *npz_find(const npz_file *f, const char *name);

#endif
