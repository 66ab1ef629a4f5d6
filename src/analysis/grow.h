/* grow.h — the growable arrays of src/analysis: *p holds *cap elements of
 * elem bytes; an_grow makes room for need of them (capacity doubling). */
#ifndef SAEX_ANALYSIS_GROW_H
#define SAEX_ANALYSIS_GROW_H
#include <stdint.h>
#include <stdlib.h>

/* 0, or -1 when memory runs out (*p and *cap are then unchanged). */
static inline int an_grow(void **p, int64_t *cap, int64_t need, size_t elem) {
    if (need <= *cap) return 0;
    int64_t c = *cap ? *cap : 16;
    while (c < need) c *= 2;
    void *q = realloc(*p, (size_t)c * elem);
    if (!q) return -1;
    *p = q, *cap = c;
    return 0;
}

#endif
