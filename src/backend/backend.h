/* backend.h — the narrow interface between the Gemma-2 forward pass
 * (gemma2.c) and the hardware that runs it (cpu.c, cuda.cu).
 *
 * The model code only sees opaque device pointers and these operations; it
 * never knows which backend runs. Activations are always f32 row-major
 * matrices [rows, cols]. Weights are prepared once, at load, into whatever
 * layout the backend's matmul wants (oneDNN blocked layout, GPU memory).
 *
 * Every op returns SAEX_OK or a status with saex_fail() already called.
 * Ops may run asynchronously; download() and sync() wait. */
#ifndef SAEX_BACKEND_H
#define SAEX_BACKEND_H
#include "saex.h"
#include <math.h>
#include <stddef.h>
#include <stdint.h>

/* Weight element types the backends accept. */
typedef enum { BE_F32 = 0, BE_BF16 = 1, BE_F16 = 2 } be_dtype;

/* One source block of a weight: rows x k elements, row-major, host memory
 * (usually the mmap of a safetensors file). */
typedef struct {
    const void *data;
    be_dtype dtype;
    int64_t rows;
} be_part;

typedef struct be_weight be_weight; /* a matmul weight W[n, k], n = sum of parts' rows */
typedef struct be_sae be_sae;       /* an SAE encoder on the device */

typedef struct {
    int n_heads, n_kv_heads, head_dim;
    float scale;          /* query_pre_attn_scalar^-0.5 */
    float softcap;        /* attn_logit_softcapping; 0 = none */
    int window;           /* sliding window; 0 = full causal */
} be_attn_params;

typedef struct backend backend;
struct backend {
    const char *name; /* "cpu", "cuda" */
    const char *isa;  /* CPU kernels in use: "x86-64-v3" or "x86-64-v4" (cpu_kernels.h); NULL elsewhere */
    int threads;

    /* ---- memory: device pointers ---- */
    saex_status (*alloc)(backend *b, size_t bytes, void **out);
    void (*free)(backend *b, void *p);
    saex_status (*upload)(backend *b, void *dst, const void *src, size_t bytes);
    saex_status (*download)(backend *b, void *dst, const void *src, size_t bytes);
    saex_status (*sync)(backend *b);

    /* ---- weights ----
     * Concatenates parts along n into one W[n, k]. compute: the dtype the
     * matmul runs in (BE_F32 widens bf16/f16; BE_BF16 keeps bf16 and rounds
     * the activations to bf16). The source memory is not used after return,
     * unless weight_borrows says otherwise for that weight. */
    saex_status (*weight_create)(backend *b, const be_part *parts, int n_parts, int64_t k, be_dtype compute,
                                 be_weight **out);
    /* An embedding table kept for row gathers; the backend may keep a
     * pointer to table (the mmap) instead of copying it. */
    saex_status (*table_create)(backend *b, const void *table, be_dtype dtype, int64_t rows, int64_t cols,
                                be_weight **out);
    void (*weight_free)(backend *b, be_weight *w);
    /* 1 if w works from the parts' memory in place (the CPU backend, when no
     * conversion is needed: the mmap'd checkpoint is the weight, so loading
     * copies nothing). The caller must then keep that memory mapped and
     * resident. NULL = never. */
    int (*weight_borrows)(backend *b, const be_weight *w);

    /* ---- compute ---- */
    /* y[m, n] = x[m, k] . W[n, k]^T */
    saex_status (*matmul)(backend *b, const be_weight *w, const float *x, int64_t m, float *y);
    /* x[i, :] = f32(table[ids[i], :]) * scale. ids is a device pointer. */
    saex_status (*embed)(backend *b, const be_weight *table, const int32_t *ids, int64_t n, float scale, float *x);
    /* Gemma RMSNorm: y = x * rsqrt(mean(x^2) + eps) * (1 + w), in f32.
     * accumulate != 0: out += y (the post-norm + residual add). */
    saex_status (*rmsnorm)(backend *b, const float *x, const float *w, int64_t m, int64_t d, float eps, float *out,
                           int accumulate);
    /* Rotary embedding, rotate-half layout, in place on the q and k parts of
     * qkv[m, (nh + 2 nkv) hd] (q heads, then k heads, then v heads). pos is a
     * device pointer: each token's position inside its own sequence. */
    saex_status (*rope)(backend *b, float *qkv, const int32_t *pos, int64_t m, int nh, int nkv, int hd,
                        float theta);
    /* Causal attention within each packed sequence. qkv as for rope;
     * seq_start[n_seqs + 1] (host) are the first row of each sequence;
     * out[m, nh hd]. Softmax in f32. */
    saex_status (*attention)(backend *b, const float *qkv, const int *seq_start, int n_seqs,
                             const be_attn_params *p, float *out);
    /* out[m, f] = gelu_tanh(gu[m, 0:f]) * gu[m, f:2f] */
    saex_status (*geglu)(backend *b, const float *gu, int64_t m, int64_t f, float *out);
    /* dst[i, :] = src[rows[i], :]; rows is a host array. */
    saex_status (*gather_rows)(backend *b, const float *src, int64_t d, const int64_t *rows, int64_t n, float *dst);

    /* ---- SAE ---- */
    /* W_enc[d, s] (as Gemma Scope stores it), b_enc[s], threshold[s]; host f32.
     * The arrays must stay valid until sae_free: the CPU backend uses them in
     * place rather than holding a second copy of a 235 MB encoder. */
    saex_status (*sae_create)(backend *b, const float *W_enc, const float *b_enc, const float *threshold, int64_t d,
                              int64_t s, be_sae **out);
    void (*sae_free)(backend *b, be_sae *e);
    /* JumpReLU top-k of n rows x[n, d] (device pointer). Results on the host:
     * ids[n*k], vals[n*k] (padded with -1 / 0), n_active[n]. */
    saex_status (*sae_topk)(backend *b, const be_sae *e, const float *x, int64_t n, int k, int32_t *ids, float *vals,
                            int32_t *n_active);

    void (*destroy)(backend *b);
    void *impl;
};

/* RoPE's inverse frequencies inv[i] = 1 / theta^(2i / hd), i < hd / 2, in
 * f32 as HF computes them; each backend computes them once on the host. */
static inline void be_rope_inv_freq(float theta, int hd, float *inv) {
    for (int i = 0; i < hd / 2; i++) inv[i] = 1.0f / powf(theta, (float)(2 * i) / (float)hd);
}

/* threads: 0 = cores available. */
saex_status backend_cpu_create(int threads, backend **out);
/* Fails with SAEX_ERR_UNSUPPORTED when the build has no CUDA or no GPU is present. */
saex_status backend_cuda_create(int device, backend **out);
/* 1 if this build has CUDA and a GPU is visible. */
int backend_cuda_available(void);

#endif
