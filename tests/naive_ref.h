/* naive_ref.h — the reference for every op of the backend interface
 * (src/backend/backend.h), in one place: plain loops in double precision,
 * written to be read, not to be fast. tests/test_backend.c compares each
 * backend (CPU on each instruction set, CUDA) with these.
 *
 * Inputs are the same f32 (or bf16 / f16) arrays the backend gets; outputs
 * are double, so that the only rounding compared is the backend's. */
#ifndef SAEX_NAIVE_REF_H
#define SAEX_NAIVE_REF_H
#include "backend/backend.h"
#include <stdint.h>

/* Scalar conversions, from the definitions of the formats. */
double ref_bf16_to_double(uint16_t h);
double ref_f16_to_double(uint16_t h);
float ref_round_bf16(float f); /* to the nearest bf16, ties to even (finite f) */

/* y[m, n] = x[m, k] . W[n, k]^T */
void ref_matmul(const double *x, const double *W, int64_t m, int64_t k, int64_t n, double *y);

/* y = x / sqrt(mean(x^2) + eps) * (1 + w), row by row over x[m, d] */
void ref_rmsnorm(const float *x, const float *w, int64_t m, int64_t d, double eps, double *y);

/* Rotate-half RoPE of the q and k heads of qkv[m, (nh + 2 nkv) hd]; the v
 * heads are copied. The angle of pair i at position p is p / theta^(2i/hd). */
void ref_rope(const float *qkv, const int32_t *pos, int64_t m, int nh, int nkv, int hd, double theta, double *out);

/* Causal attention inside each packed sequence (seq_start[n_seqs + 1]):
 * scores q.k * scale, softcap c tanh(s / c) when c > 0, keys j with
 * i - j < window when window > 0, softmax, then the weighted sum of v.
 * qkv as for ref_rope; out[m, nh hd]. */
void ref_attention(const float *qkv, const int *seq_start, int n_seqs, const be_attn_params *p, double *out);

/* GELU, tanh approximation: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))),
 * computed in the equal form x / (1 + exp(-2 u)), accurate in the left tail */
double ref_gelu_tanh(double x);
/* out[m, f] = gelu_tanh(gu[m, 0:f]) * gu[m, f:2f] */
void ref_geglu(const float *gu, int64_t m, int64_t f, double *out);

/* Gemma Scope JumpReLU of one row x[d]: pre = x . W[d, s] + b, feature j
 * active when pre > thr[j] and pre > 0 (its value is pre). Top-k of the
 * active features, largest first, ties to the lower id; ids / vals padded
 * with -1 / 0 past the active count. Returns the number of active features. */
int64_t ref_sae_topk_row(const float *x, const float *W, const float *b, const float *thr, int64_t d, int64_t s, int k,
                         int32_t *ids, double *vals);

#endif
