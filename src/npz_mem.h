/* npz_mem.h — internal: load an .npz archive held in memory. Used by the
 * fuzzer and by npz_load (which maps the file and hands the bytes here).
 * Not part of the public API. */
#ifndef SAEX_NPZ_MEM_H
#define SAEX_NPZ_MEM_H
#include "npz.h"
#include <stddef.h>

/* label names the bytes in error messages (a file path). On failure *out is
 * left empty (nothing to free). */
saex_status npz_load_mem(const void *buf, size_t len, const char *label, npz_file *out);

#endif
