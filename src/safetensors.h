/* safetensors.h — read-only, validated access to safetensors checkpoints.
 *
 * A set is one .safetensors file or the shards listed by a
 * model.safetensors.index.json. Files are mmap'd; only the header is read
 * at open, so the bytes of tensors nobody asks for are never touched.
 * Open validates every tensor of every file: header length inside the file,
 * JSON header, known dtype, shape x element size == byte range, ranges
 * inside the data section, no two ranges overlapping. Every error names the
 * file and, where there is one, the tensor. */
#ifndef SAEX_SAFETENSORS_H
#define SAEX_SAFETENSORS_H
#include "saex.h"
#include <stddef.h>
#include <stdint.h>

typedef enum { ST_F32, ST_F16, ST_BF16, ST_F64, ST_I64, ST_I32, ST_I16, ST_I8, ST_U8, ST_BOOL } st_dtype;

#define ST_MAX_DIMS 8

typedef struct {
    const char *name;
    st_dtype dtype;
    int ndim;
    int64_t shape[ST_MAX_DIMS];
    int64_t numel;
    const void *data; /* inside the mmap; valid while the set is open */
    size_t nbytes;
    int64_t offset;   /* of its first byte in that file */
    const char *file; /* path of the file that holds it */
} st_tensor;

typedef struct st_set st_set;

/* path: a .safetensors file, a model.safetensors.index.json, or a directory
 * holding either (the index wins). */
saex_status st_open(const char *path, st_set **out);
void st_close(st_set *s);

/* Like st_open, but of a sharded set only the shards that hold at least one
 * tensor with want(name, ctx) != 0 are opened; the others may be missing
 * from disk (a partial download) and their tensors are not in the set. */
typedef int (*st_want_fn)(const char *name, void *ctx);
saex_status st_open_some(const char *path, st_want_fn want, void *ctx, st_set **out);

int st_count(const st_set *s);
const st_tensor *st_at(const st_set *s, int i);
const st_tensor *st_find(const st_set *s, const char *name); /* NULL if absent */
/* A "__metadata__" string of the set's first file, or NULL. */
const char *st_metadata(const st_set *s, const char *key);
/* Like st_find, but fails with a message naming the set's path when absent. */
saex_status st_get(const st_set *s, const char *name, const st_tensor **out);

/* Tells the kernel the tensor's pages may be dropped from memory (after its
 * bytes were copied elsewhere), so resident memory stays near what is used. */
void st_release(const st_tensor *t);

/* Maps the tensor's pages in now (for weights used in place from the mmap),
 * so the first forward pass does not take a page fault per 4 KiB. */
void st_prefetch(const st_tensor *t);

size_t st_dtype_size(st_dtype d);
const char *st_dtype_name(st_dtype d); /* "F32", "BF16", ... */

/* Converts n elements of a float tensor (F32/F16/BF16/F64) to f32. */
saex_status st_to_f32(const st_tensor *t, float *out);

/* ---- writing (residual dumps, test fixtures) ---- */
typedef struct {
    const char *name;
    st_dtype dtype;
    int ndim;
    int64_t shape[ST_MAX_DIMS];
    const void *data;
} st_write_tensor;

/* Writes a single-file safetensors to `path` (the caller renames into place).
 * metadata: NULL or pairs of strings, key/value, NULL-terminated. */
saex_status st_write(const char *path, const st_write_tensor *t, int n, const char *const *metadata);

/* bf16/f16 <-> f32 helpers (round to nearest even). */
float st_bf16_to_f32(uint16_t h);
uint16_t st_f32_to_bf16(float f);
float st_f16_to_f32(uint16_t h);

#endif
