/* cpu_attention.h — causal (optionally sliding-window, softcapped) attention
 * over packed sequences on the CPU; the CPU backend's attention op.
 * cpu_attention.c is compiled once per instruction set (cpu_kernels.h). */
#ifndef SAEX_CPU_ATTENTION_H
#define SAEX_CPU_ATTENTION_H
#include "backend/backend.h"
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

/* Scratch that only grows, so the steady state allocates nothing. */
typedef struct {
    float *kt;        /* transposed keys: per (sequence, kv head) [hd, L rounded up to KB] */
    size_t kt_cap;    /* bytes */
    float *sc;        /* per thread [QB, max L] scores */
    size_t sc_cap;    /* bytes */
} cpu_attn_scratch;

saex_status cpu_attention_run_v3(const float *qkv, const int *seq_start, int n_seqs, const be_attn_params *p,
                                 float *out, cpu_attn_scratch *scr);
saex_status cpu_attention_run_v4(const float *qkv, const int *seq_start, int n_seqs, const be_attn_params *p,
                                 float *out, cpu_attn_scratch *scr);

static inline void cpu_attention_free(cpu_attn_scratch *scr) {
    free(scr->kt), free(scr->sc);
    memset(scr, 0, sizeof *scr);
}

#endif
