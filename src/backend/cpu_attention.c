/* cpu_attention.c — attention for the CPU backend, compiled once per
 * instruction set (cpu_kernels.h: every function here is ISA(name)).
 *
 * For each sequence, head and block of QB queries:
 *   S = Q K^T * scale, softcap, causal + window mask, softmax (f32), O = P V.
 * Both products are register-blocked outer products written with GCC vector
 * types (16 floats = one AVX-512 register; the compiler splits them on
 * narrower machines):
 *   S: QB queries x KB keys of accumulators; each step over head_dim loads one
 *      row of K^T (KB keys) and broadcasts one element per query — no
 *      horizontal sums, which made a dot product per (query, key) slow;
 *   O: QB queries x 32 columns of accumulators; each key loads 32 values of V.
 * K is transposed once per (sequence, kv head) so that row of K^T is
 * contiguous; every query head of a GQA group reuses it. */
#include "backend/cpu_attention.h"
#include "backend/cpu_kernels.h"
#include "backend/cpu_math.h"
#include "backend/cpu_scratch.h"
#include "error.h"
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

/* -std=c11 turns off floating-point contraction; here a fused multiply-add
 * is both faster and (one rounding instead of two) at least as accurate. */
#pragma GCC optimize("fp-contract=fast")

typedef float v16 __attribute__((vector_size(64)));
/* v16 never crosses a call between objects (load16 / store16 are static and
 * inlined), so the ABI GCC warns about for non-AVX-512 builds is not at stake. */
#pragma GCC diagnostic ignored "-Wpsabi"

/* Every function of this file carries the ISA suffix (see cpu_kernels.h). */
#define load16 ISA(load16)
#define store16 ISA(store16)
#define round_up ISA(round_up)
#define transpose_keys ISA(transpose_keys)
#define scores_block ISA(scores_block)
#define values_block ISA(values_block)
#define softmax_row ISA(softmax_row)
#define attend_block ISA(attend_block)
#define cpu_attention_run ISA(cpu_attention_run)

#define QB 8  /* queries per block */
#define KB 16 /* keys per score block: one v16 */
#define VB 32 /* output columns per PV step: two v16 */

static inline v16 load16(const float *p) {
    v16 v;
    memcpy(&v, p, sizeof v);
    return v;
}
static inline void store16(float *p, const v16 *v) { memcpy(p, v, sizeof *v); }

static int64_t round_up(int64_t x, int64_t m) { return (x + m - 1) / m * m; }

/* Kt[g][e][j] = K[j][g][e] for one sequence; columns past L are zero so a
 * full KB block never reads garbage. Walks KB keys at a time so that both
 * the rows read and the rows written stay in cache. */
static void transpose_keys(const float *qkv, int64_t base, int64_t L, const be_attn_params *p, float *kt) {
    int nh = p->n_heads, nkv = p->n_kv_heads, hd = p->head_dim;
    int64_t stride = (int64_t)(nh + 2 * nkv) * hd, Lp = round_up(L, KB);
    for (int g = 0; g < nkv; g++) {
        float *dst = kt + (int64_t)g * hd * Lp;
        const float *src = qkv + base * stride + (int64_t)(nh + g) * hd;
        for (int64_t j0 = 0; j0 < Lp; j0 += KB)
            for (int e = 0; e < hd; e++)
                for (int64_t j = j0; j < j0 + KB; j++) dst[(int64_t)e * Lp + j] = j < L ? src[j * stride + e] : 0.0f;
    }
}

/* sc[r][j] = q_r . k_j for keys j in [j0, j1) (j0, j1 multiples of KB).
 * The QB query rows are first gathered into qt[hd][QB], so each step's QB
 * broadcasts come from one cache line; rows past nq repeat row 0. */
static void scores_block(const float *q0, int64_t qstride, int nq, const float *kt, int64_t Lp, int hd, int64_t j0,
                         int64_t j1, float *sc, int64_t sc_stride) {
    float qt[256 * QB];
    for (int e = 0; e < hd; e++)
        for (int r = 0; r < QB; r++) qt[e * QB + r] = q0[(r < nq ? r : 0) * qstride + e];
    for (int64_t jb = j0; jb < j1; jb += KB) {
        v16 acc[QB] = {{0}};
        for (int e = 0; e < hd; e++) {
            v16 k = load16(kt + (int64_t)e * Lp + jb);
            const float *q = qt + e * QB;
#pragma GCC unroll 8
            for (int r = 0; r < QB; r++) acc[r] += q[r] * k; /* unrolled: acc stays in registers */
        }
        for (int r = 0; r < nq; r++) store16(sc + r * sc_stride + jb, &acc[r]);
    }
}

/* o_r = sum_j p_r[j] v_j over keys [j0, j1); p_r is zero outside each query's span. */
static void values_block(const float *sc, int64_t sc_stride, int nq, const float *v0, int64_t vstride, int hd,
                         int64_t j0, int64_t j1, float *o0, int64_t ostride) {
    const float *pr[QB];
    for (int r = 0; r < QB; r++) pr[r] = sc + (r < nq ? r : 0) * sc_stride;
    for (int e0 = 0; e0 < hd; e0 += VB) {
        v16 a[QB][2] = {{{0}}};
        int two = e0 + KB < hd; /* head_dim is a multiple of 16, not always of 32 */
        for (int64_t j = j0; j < j1; j++) {
            const float *v = v0 + j * vstride + e0;
            v16 va = load16(v), vb = two ? load16(v + KB) : va;
#pragma GCC unroll 8
            for (int r = 0; r < QB; r++) {
                float w = pr[r][j];
                a[r][0] += w * va;
                a[r][1] += w * vb;
            }
        }
        for (int r = 0; r < nq; r++) {
            store16(o0 + r * ostride + e0, &a[r][0]);
            if (two) store16(o0 + r * ostride + e0 + KB, &a[r][1]);
        }
    }
}

/* Scale, softcap, mask and softmax of row r (query i) in place over [lo, i];
 * everything else in [j0, j1) becomes 0. */
static void softmax_row(float *row, int64_t lo, int64_t i, int64_t j0, int64_t j1, const be_attn_params *p) {
    float mx = -INFINITY, sum = 0, cap = p->softcap, inv_cap = cap > 0 ? 1.0f / cap : 0, scale = p->scale;
    int64_t n = i - lo + 1;
    float *s = row + lo;
    if (cap > 0) {
#pragma omp simd
        for (int64_t j = 0; j < n; j++) s[j] = vtanh(s[j] * scale * inv_cap) * cap;
    } else {
#pragma omp simd
        for (int64_t j = 0; j < n; j++) s[j] *= scale;
    }
#pragma omp simd reduction(max : mx)
    for (int64_t j = 0; j < n; j++) mx = s[j] > mx ? s[j] : mx;
#pragma omp simd reduction(+ : sum)
    for (int64_t j = 0; j < n; j++) sum += s[j] = vexp(s[j] - mx);
    float inv = 1.0f / sum;
#pragma omp simd
    for (int64_t j = 0; j < n; j++) s[j] *= inv;
    for (int64_t j = j0; j < lo; j++) row[j] = 0;
    for (int64_t j = i + 1; j < j1; j++) row[j] = 0;
}

/* Queries [i0, i0 + nq) of head h of the sequence starting at row base. */
static void attend_block(const float *qkv, int64_t base, int64_t L, int64_t i0, int nq, int h, const be_attn_params *p,
                         const float *kt_seq, float *sc, int64_t sc_stride, float *out) {
    int nh = p->n_heads, nkv = p->n_kv_heads, hd = p->head_dim, g = h / (nh / nkv);
    int64_t stride = (int64_t)(nh + 2 * nkv) * hd, ostride = (int64_t)nh * hd, Lp = round_up(L, KB);
    int64_t i_last = i0 + nq - 1;
    int64_t lo0 = p->window > 0 && i0 - p->window + 1 > 0 ? i0 - p->window + 1 : 0;
    int64_t j0 = lo0 / KB * KB, j1 = round_up(i_last + 1, KB);
    const float *q0 = qkv + (base + i0) * stride + (int64_t)h * hd;
    scores_block(q0, stride, nq, kt_seq + (int64_t)g * hd * Lp, Lp, hd, j0, j1, sc, sc_stride);
    for (int r = 0; r < nq; r++) {
        int64_t i = i0 + r, lo = p->window > 0 && i - p->window + 1 > 0 ? i - p->window + 1 : 0;
        softmax_row(sc + r * sc_stride, lo, i, j0, j1, p);
    }
    /* Keys past L have zero weight, but their V rows lie outside the
     * sequence: stop the PV sum at L. */
    const float *v0 = qkv + base * stride + (int64_t)(nh + nkv + g) * hd;
    values_block(sc, sc_stride, nq, v0, stride, hd, j0, j1 < L ? j1 : L, out + (base + i0) * ostride + (int64_t)h * hd,
                 ostride);
}

saex_status cpu_attention_run(const float *qkv, const int *seq_start, int n_seqs, const be_attn_params *p, float *out,
                              cpu_attn_scratch *scr) {
    int nh = p->n_heads, nkv = p->n_kv_heads, hd = p->head_dim;
    if (hd % KB || hd > 256)
        return saex_fail(SAEX_ERR_UNSUPPORTED, "cpu attention: head_dim %d is not a multiple of %d up to 256", hd, KB);
    int64_t maxlen = 0, kt_total = 0, n_items = 0;
    int64_t *kt_off = malloc((size_t)(n_seqs + 1) * sizeof *kt_off);
    if (!kt_off) return saex_fail(SAEX_ERR_NOMEM, "cpu attention: out of memory");
    for (int s = 0; s < n_seqs; s++) {
        int64_t L = seq_start[s + 1] - seq_start[s];
        kt_off[s] = kt_total;
        kt_total += (int64_t)nkv * hd * round_up(L, KB);
        if (L > maxlen) maxlen = L;
        n_items += (L + QB - 1) / QB;
    }
    int64_t sc_stride = round_up(maxlen, KB);
    int nt = omp_get_max_threads();
    saex_status st = cpu_grow((void **)&scr->kt, &scr->kt_cap, (size_t)kt_total * sizeof(float));
    if (!st) st = cpu_grow((void **)&scr->sc, &scr->sc_cap, (size_t)nt * QB * (size_t)sc_stride * sizeof(float));
    if (st) {
        free(kt_off);
        return st;
    }
#pragma omp parallel for schedule(dynamic, 1)
    for (int s = 0; s < n_seqs; s++)
        transpose_keys(qkv, seq_start[s], seq_start[s + 1] - seq_start[s], p, scr->kt + kt_off[s]);
    /* Work items are (query block, head) pairs over all sequences: one flat
     * dynamic loop balances sequences of any length over the threads. */
#pragma omp parallel for schedule(dynamic, 1)
    for (int64_t it = 0; it < n_items * nh; it++) {
        int64_t blk = it / nh, first = 0;
        int h = (int)(it % nh), s = 0;
        for (;; s++) { /* sequences are few next to the work per item */
            int64_t nb = (seq_start[s + 1] - seq_start[s] + QB - 1) / QB;
            if (blk < first + nb) break;
            first += nb;
        }
        int64_t base = seq_start[s], L = seq_start[s + 1] - base, i0 = (blk - first) * QB;
        int nq = (int)(i0 + QB < L ? QB : L - i0);
        float *sc = scr->sc + (size_t)omp_get_thread_num() * QB * (size_t)sc_stride;
        attend_block(qkv, base, L, i0, nq, h, p, scr->kt + kt_off[s], sc, sc_stride, out);
    }
    free(kt_off);
    return SAEX_OK;
}
