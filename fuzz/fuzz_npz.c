/* fuzz_npz.c — libFuzzer target: arbitrary bytes as an .npz archive. Load
 * must either fail cleanly or yield arrays whose sizes agree with their
 * shapes. */
#include "npz.h"
#include "npz_mem.h"

#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    npz_file f;
    if (npz_load_mem(data, size, "fuzz.npz", &f) != SAEX_OK) {
        if (f.n != 0 || f.arrays) __builtin_trap();
        return 0;
    }
    for (int i = 0; i < f.n; i++) {
        const npz_array *a = &f.arrays[i];
        int64_t n = 1;
        for (int d = 0; d < a->ndim; d++) n *= a->shape[d];
        if (n != a->numel || npz_find(&f, a->name) == NULL) __builtin_trap();
        volatile float sum = 0;
        for (int64_t k = 0; k < a->numel; k++) sum += a->data[k];
    }
    npz_free(&f);
    return 0;
}
