/* cpu_isa.c — which of the CPU backend's kernel tables (cpu_kernels.h) this
 * CPU runs: the AVX-512 one where the CPU has it, unless SAEX_CPU_ISA says
 * otherwise. */
#include "backend/cpu_kernels.h"
#include "error.h"
#include <stdlib.h>
#include <string.h>

/* x86-64-v4 is AVX-512 F, BW, CD, DQ and VL. libgcc's CPU model also checks
 * that the OS saves the AVX-512 registers (XCR0) before it reports them. */
int cpu_has_v4(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512cd") && __builtin_cpu_supports("avx512dq") &&
           __builtin_cpu_supports("avx512vl");
}

saex_status cpu_kernels_pick(const cpu_kernels **out) {
    const char *want = getenv("SAEX_CPU_ISA");
    int v4 = cpu_has_v4();
    if (!want || !*want || strcmp(want, "auto") == 0) {
        *out = v4 ? &cpu_kernels_v4 : &cpu_kernels_v3;
        return SAEX_OK;
    }
    if (strcmp(want, "v3") == 0) {
        *out = &cpu_kernels_v3;
        return SAEX_OK;
    }
    if (strcmp(want, "v4") == 0) {
        if (!v4)
            return saex_fail(SAEX_ERR_UNSUPPORTED,
                             "SAEX_CPU_ISA=v4, but this CPU lacks AVX-512 (F, BW, CD, DQ and VL are needed); unset it or use v3");
        *out = &cpu_kernels_v4;
        return SAEX_OK;
    }
    return saex_fail(SAEX_ERR_ARG, "SAEX_CPU_ISA=\"%s\": expected auto, v3 or v4", want);
}
