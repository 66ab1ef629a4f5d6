/* cpu_kernels.c — the CPU backend's element-wise kernels, compiled once per
 * instruction set (cpu_kernels.h): cpu_kernels_v3.o and cpu_kernels_v4.o.
 * Each defines its table, cpu_kernels_v3 or cpu_kernels_v4. The loops are
 * written so that the compiler vectorises them for either ISA. */
#include "backend/cpu_kernels.h"
#include "backend/cpu_math.h"
#include <omp.h>

#ifndef CPU_ISA
#error "cpu_kernels.c is compiled with -DCPU_ISA=v3 or -DCPU_ISA=v4 (see the Makefile)"
#endif

#define STR2(x) #x
#define STR(x) STR2(x)

static void ISA(round_bf16)(const float *x, int64_t n, uint16_t *out) {
#pragma omp parallel for simd schedule(static)
    for (int64_t i = 0; i < n; i++) out[i] = vbf16(x[i]);
}

static void ISA(geglu)(const float *gu, int64_t m, int64_t f, float *out) {
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < m; i++) {
        const float *g = gu + i * 2 * f, *u = g + f;
        float *o = out + i * f;
#pragma omp simd
        for (int64_t j = 0; j < f; j++) o[j] = vgelu_tanh(g[j]) * u[j];
    }
}

static void ISA(jumprelu)(float *f, const float *thr, int64_t s) {
#pragma omp simd
    for (int64_t j = 0; j < s; j++) {
        float v = f[j];
        f[j] = (v > thr[j]) & (v > 0.0f) ? v : 0.0f; /* & not &&: no branch, so it vectorises */
    }
}

const cpu_kernels ISA(cpu_kernels) = {
    "x86-64-" STR(CPU_ISA), ISA(round_bf16), ISA(geglu), ISA(jumprelu), ISA(cpu_attention_run),
};
