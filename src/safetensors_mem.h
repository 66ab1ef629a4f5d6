/* safetensors_mem.h — internal: parse a single safetensors file held in
 * memory. Used by the fuzzer and by st_open (which maps the file and hands
 * the bytes here). Not part of the public API. */
#ifndef SAEX_SAFETENSORS_MEM_H
#define SAEX_SAFETENSORS_MEM_H
#include "safetensors.h"

/* buf[len] must stay valid while the set is open; the set does not own it.
 * label names the bytes in error messages (a file path). Do not call
 * st_release on its tensors: madvise(MADV_DONTNEED) would zero heap memory. */
saex_status st_open_mem(const void *buf, size_t len, const char *label, st_set **out);

#endif
