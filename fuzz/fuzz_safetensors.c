/* fuzz_safetensors.c — libFuzzer target: arbitrary bytes as one safetensors
 * file. Open must either fail cleanly or yield tensors whose bytes lie
 * inside the input; every float tensor is converted to touch all of them. */
#include "safetensors.h"
#include "safetensors_mem.h"

#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    st_set *s = NULL;
    if (st_open_mem(data, size, "fuzz.safetensors", &s) != SAEX_OK) return 0;
    for (int i = 0; i < st_count(s); i++) {
        const st_tensor *t = st_at(s, i);
        const uint8_t *p = t->data;
        if (p < data || p + t->nbytes > data + size || st_find(s, t->name) != t) __builtin_trap();
        float *out = malloc((size_t)(t->numel ? t->numel : 1) * sizeof *out);
        if (out) st_to_f32(t, out);
        free(out);
    }
    st_close(s);
    return 0;
}
