/* cpu_kernels.h — the CPU backend's kernels that depend on the instruction
 * set, and the choice between them at run time.
 *
 * The library is compiled for x86-64-v3 (AVX2 + FMA), so that what is
 * installed runs on any CPU of that family. The few kernels where AVX-512
 * pays (attention's register-blocked products, the vectorised exp / GELU,
 * the bf16 rounding of matmul inputs, the JumpReLU pass over the SAE
 * pre-activations) are compiled twice: cpu_kernels.c and cpu_attention.c
 * become cpu_*_v3.o and cpu_*_v4.o (x86-64-v4: AVX-512 F/BW/CD/DQ/VL), and
 * every function name in them carries the suffix. cpu_kernels_pick()
 * chooses one table per backend. oneDNN, which runs the matmuls, picks its
 * own kernels at run time.
 *
 * SAEX_CPU_ISA=auto|v3|v4 overrides the choice (tests run both paths). */
#ifndef SAEX_CPU_KERNELS_H
#define SAEX_CPU_KERNELS_H
#include "backend/backend.h"
#include "backend/cpu_attention.h"
#include <stdint.h>

typedef struct {
    const char *isa; /* "x86-64-v3" or "x86-64-v4" */
    /* out[i] = bf16(x[i]), round to nearest even */
    void (*round_bf16)(const float *x, int64_t n, uint16_t *out);
    /* out[m, f] = gelu_tanh(gu[m, 0:f]) * gu[m, f:2f] */
    void (*geglu)(const float *gu, int64_t m, int64_t f, float *out);
    /* f[j] = f[j] > thr[j] && f[j] > 0 ? f[j] : 0 over one row of s (JumpReLU, as SAELens) */
    void (*jumprelu)(float *f, const float *thr, int64_t s);
    saex_status (*attention)(const float *qkv, const int *seq_start, int n_seqs, const be_attn_params *p, float *out,
                             cpu_attn_scratch *scr);
} cpu_kernels;

extern const cpu_kernels cpu_kernels_v3, cpu_kernels_v4;

/* The kernels for this CPU: v4 when it has AVX-512 F/BW/CD/DQ/VL (and the OS
 * saves its registers), else v3; SAEX_CPU_ISA may force either. Fails
 * (SAEX_ERR_UNSUPPORTED / SAEX_ERR_ARG) when v4 is forced on a CPU without
 * it or the variable holds anything else. */
saex_status cpu_kernels_pick(const cpu_kernels **out);

/* 1 if this CPU can run the v4 kernels. */
int cpu_has_v4(void);

/* Inside the twice-compiled files: ISA(name) is name_v3 or name_v4. */
#ifdef CPU_ISA
#define ISA_CAT2(a, b) a##_##b
#define ISA_CAT(a, b) ISA_CAT2(a, b)
#define ISA(name) ISA_CAT(name, CPU_ISA)
#endif

#endif
