/* cpu_scratch.h — the CPU backend's scratch buffers: 64-byte aligned, and
 * they only ever grow, so the steady state allocates nothing. */
#ifndef SAEX_CPU_SCRATCH_H
#define SAEX_CPU_SCRATCH_H
#include "error.h"
#include <stdlib.h>

static inline saex_status cpu_grow(void **buf, size_t *cap, size_t bytes) {
    if (bytes <= *cap) return SAEX_OK;
    free(*buf);
    *buf = aligned_alloc(64, (bytes + 63) & ~(size_t)63);
    *cap = *buf ? bytes : 0;
    return *buf ? SAEX_OK : saex_fail(SAEX_ERR_NOMEM, "cpu: cannot allocate %zu bytes of scratch", bytes);
}

#endif
