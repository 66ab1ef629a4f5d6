/* cpu.c — the CPU backend: oneDNN matmuls (bf16 on AVX512-BF16 / AMX, f32
 * otherwise) and OpenMP loops for the element-wise work and attention. The
 * kernels that gain from AVX-512 live in cpu_kernels.c / cpu_attention.c and
 * are chosen for the CPU at create (cpu_kernels.h).
 *
 * This is also the numerical reference for the CUDA backend: every op is
 * written in the plainest form that computes what HF transformers computes
 * in f32. "Device" pointers are ordinary host pointers here. */
#include "backend/backend.h"
#include "backend/cpu_attention.h"
#include "backend/cpu_kernels.h"
#include "backend/cpu_scratch.h"
#include "error.h"
#include "safetensors.h"
#include <math.h>
#include <omp.h>
#include <oneapi/dnnl/dnnl.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------ oneDNN state */

/* The shape of one matmul C[m, n] = A[m, k] . B[k, n] (+ bias), each
 * operand given by its row and column strides in elements, so that heads
 * inside a packed qkv row or a transposed weight need no copy. */
typedef struct {
    int64_t m, k, n;
    int64_t as[2], bs[2], cs[2];
    int dt;   /* dnnl_data_type_t of A and B; C is always f32 */
    int bias; /* bias [1, n] f32 */
} mm_shape;

/* Creating a primitive costs up to milliseconds, so they are cached by
 * shape: a run repeats a few batch sizes, each with about ten shapes (the
 * weight parts and the SAE chunks). */
typedef struct {
    mm_shape sh;
    dnnl_primitive_t prim;
    dnnl_memory_t src, wei, dst, b;
    unsigned long last_use;
} mm_entry;

#define MM_CACHE 256

typedef struct {
    const cpu_kernels *k; /* the kernels for this CPU's instruction set */
    dnnl_engine_t eng;
    dnnl_stream_t strm;
    mm_entry cache[MM_CACHE];
    unsigned long tick;
    uint16_t *xbf;   /* [cap] activations rounded to bf16 for a bf16 matmul */
    size_t xbf_cap;
    /* 0 where oneDNN has no bf16 matmul (oneDNN 2.x needs AVX-512 for it):
     * a bf16 matmul then runs in f32 on its bf16-rounded input and on the
     * weight widened a block of rows at a time — the same products, summed
     * in f32, without a widened copy of the whole weight. */
    int bf16_native;
    float *xr;       /* [m, k] the input rounded to bf16, as f32 (no bf16_native) */
    size_t xr_cap;
    float *wblk;     /* [WIDEN_ROWS-ish, k] one block of a bf16 weight widened (no bf16_native) */
    size_t wblk_cap;
    cpu_attn_scratch attn;
    float *sae_pre;  /* [rows, s] SAE pre-activations of one chunk */
    size_t sae_cap;
} cpu_impl;

#define MAX_PARTS 3

/* A weight W[n, k] is either borrowed — n_parts blocks of rows, each
 * [rows, k] row-major in the caller's memory (the checkpoint's mmap), run as
 * one matmul per part into its columns of the output — or owned: data, a
 * converted [n, k] copy. */
struct be_weight {
    int64_t n, k;
    be_dtype dt;       /* BE_F32 or BE_BF16: the matmul's src and weight type */
    int n_parts;       /* > 0: borrowed */
    const void *part[MAX_PARTS];
    int64_t part_rows[MAX_PARTS];
    void *data;        /* owned [n, k]; or the embedding table */
    int borrowed;      /* 1 for the embedding table, which stays in the mmap */
};

struct be_sae {
    int64_t d, s;
    const float *W;    /* [d, s], borrowed from the saex_sae */
    const float *b;    /* [s] */
    const float *thr;  /* [s] */
};

static cpu_impl *impl_of(backend *b) { return (cpu_impl *)b->impl; }

static saex_status dnnl_check(dnnl_status_t st, const char *what) {
    if (st == dnnl_success) return SAEX_OK;
    return saex_fail(SAEX_ERR_BACKEND, "oneDNN: %s failed (status %d)", what, (int)st);
}

static void mm_entry_destroy(mm_entry *e) {
    if (!e->prim) return;
    dnnl_primitive_destroy(e->prim);
    dnnl_memory_destroy(e->src);
    dnnl_memory_destroy(e->wei);
    dnnl_memory_destroy(e->dst);
    if (e->b) dnnl_memory_destroy(e->b);
    memset(e, 0, sizeof *e);
}

static saex_status desc(dnnl_memory_desc_t *md, int64_t r, int64_t c, const int64_t *strides, dnnl_data_type_t dt) {
    dnnl_dims_t d = {r, c}, st = {strides[0], strides[1]};
    return dnnl_check(dnnl_memory_desc_init_by_strides(md, 2, d, dt, st), "memory desc");
}

static saex_status mm_create(cpu_impl *im, mm_entry *e) {
    const mm_shape *h = &e->sh;
    dnnl_memory_desc_t smd, wmd, dmd, bmd;
    dnnl_data_type_t dt = (dnnl_data_type_t)h->dt;
    int64_t bst[2] = {h->n, 1};
    saex_status s;
    if ((s = desc(&smd, h->m, h->k, h->as, dt)) || (s = desc(&wmd, h->k, h->n, h->bs, dt)) ||
        (s = desc(&dmd, h->m, h->n, h->cs, dnnl_f32)) || (s = desc(&bmd, 1, h->n, bst, dnnl_f32)))
        return s;
    dnnl_matmul_desc_t md;
    if ((s = dnnl_check(dnnl_matmul_desc_init(&md, &smd, &wmd, h->bias ? &bmd : NULL, &dmd), "matmul desc"))) return s;
    dnnl_primitive_desc_t pd;
    if ((s = dnnl_check(dnnl_primitive_desc_create(&pd, &md, NULL, im->eng, NULL), "matmul primitive desc"))) return s;
    dnnl_status_t st = dnnl_primitive_create(&e->prim, pd);
    dnnl_primitive_desc_destroy(pd);
    if ((s = dnnl_check(st, "matmul primitive"))) return s;
    if ((s = dnnl_check(dnnl_memory_create(&e->src, &smd, im->eng, DNNL_MEMORY_NONE), "memory")) ||
        (s = dnnl_check(dnnl_memory_create(&e->wei, &wmd, im->eng, DNNL_MEMORY_NONE), "memory")) ||
        (s = dnnl_check(dnnl_memory_create(&e->dst, &dmd, im->eng, DNNL_MEMORY_NONE), "memory")))
        return s;
    if (h->bias && (s = dnnl_check(dnnl_memory_create(&e->b, &bmd, im->eng, DNNL_MEMORY_NONE), "memory"))) return s;
    return SAEX_OK;
}

static saex_status mm_get(cpu_impl *im, const mm_shape *sh, mm_entry **out) {
    mm_entry *victim = &im->cache[0];
    for (int i = 0; i < MM_CACHE; i++) {
        mm_entry *e = &im->cache[i];
        if (e->prim && memcmp(&e->sh, sh, sizeof *sh) == 0) {
            e->last_use = ++im->tick;
            *out = e;
            return SAEX_OK;
        }
        if (!e->prim || (victim->prim && e->last_use < victim->last_use)) victim = e;
    }
    mm_entry_destroy(victim);
    victim->sh = *sh;
    saex_status s = mm_create(im, victim);
    if (s) {
        mm_entry_destroy(victim);
        return s;
    }
    victim->last_use = ++im->tick;
    *out = victim;
    return SAEX_OK;
}

/* C = A . B (+ bias) for the shape sh; the stream is waited on. */
static saex_status mm_run(cpu_impl *im, const mm_shape *sh, const void *a, const void *b, const float *bias, float *c) {
    mm_entry *e;
    saex_status s = mm_get(im, sh, &e);
    if (s) return s;
    dnnl_memory_set_data_handle(e->src, (void *)a);
    dnnl_memory_set_data_handle(e->wei, (void *)b);
    dnnl_memory_set_data_handle(e->dst, c);
    dnnl_exec_arg_t args[4] = {{DNNL_ARG_SRC, e->src}, {DNNL_ARG_WEIGHTS, e->wei}, {DNNL_ARG_DST, e->dst}};
    int nargs = 3;
    if (bias) {
        dnnl_memory_set_data_handle(e->b, (void *)bias);
        args[nargs++] = (dnnl_exec_arg_t){DNNL_ARG_BIAS, e->b};
    }
    if ((s = dnnl_check(dnnl_primitive_execute(e->prim, im->strm, nargs, args), "matmul"))) return s;
    return dnnl_check(dnnl_stream_wait(im->strm), "stream wait");
}

/* A dense row-major A[m, k] times W[n, k]^T: the layout of every weight here. */
static mm_shape dense_wt(int64_t m, int64_t k, int64_t n, int dt) {
    mm_shape sh = {m, k, n, {k, 1}, {1, k}, {n, 1}, dt, 0};
    return sh;
}

/* 1 if oneDNN can make a bf16 matmul on this CPU (oneDNN 2.x: AVX-512 and up). */
static int bf16_matmul_runs(cpu_impl *im) {
    mm_shape sh = dense_wt(16, 32, 16, dnnl_bf16);
    mm_entry *e;
    if (mm_get(im, &sh, &e) == SAEX_OK) return 1;
    saex_clear_error();
    return 0;
}

/* ------------------------------------------------------------------ memory */

static saex_status cpu_alloc(backend *b, size_t bytes, void **out) {
    /* 64-byte alignment: full cache lines for the AVX-512 loops and oneDNN. */
    size_t n = (bytes + 63) & ~(size_t)63;
    *out = aligned_alloc(64, n ? n : 64);
    if (!*out) return saex_fail(SAEX_ERR_NOMEM, "cpu: cannot allocate %zu bytes", bytes);
    return SAEX_OK;
}
static void cpu_free(backend *b, void *p) { free(p); }
static saex_status cpu_copy(backend *b, void *dst, const void *src, size_t bytes) {
    memcpy(dst, src, bytes);
    return SAEX_OK;
}
static saex_status cpu_sync(backend *b) { return SAEX_OK; }

/* ----------------------------------------------------------------- weights */

static float to_f32(const void *p, be_dtype dt, int64_t i) {
    if (dt == BE_F32) return ((const float *)p)[i];
    if (dt == BE_BF16) return st_bf16_to_f32(((const uint16_t *)p)[i]);
    return st_f16_to_f32(((const uint16_t *)p)[i]);
}

/* Copies one part into W's rows [row0, row0 + p->rows), converting if needed. */
static void copy_part(be_weight *w, const be_part *p, int64_t row0) {
    int64_t n = p->rows * w->k, off = row0 * w->k;
    if (w->dt == p->dtype) {
        size_t es = w->dt == BE_F32 ? 4 : 2;
        memcpy((char *)w->data + (size_t)off * es, p->data, (size_t)n * es);
    } else if (w->dt == BE_F32) {
        float *d = (float *)w->data + off;
#pragma omp parallel for schedule(static)
        for (int64_t i = 0; i < n; i++) d[i] = to_f32(p->data, p->dtype, i);
    } else { /* f32/f16 source into a bf16 weight */
        uint16_t *d = (uint16_t *)w->data + off;
#pragma omp parallel for schedule(static)
        for (int64_t i = 0; i < n; i++) d[i] = st_f32_to_bf16(to_f32(p->data, p->dtype, i));
    }
}

static saex_status cpu_weight_create(backend *b, const be_part *parts, int n_parts, int64_t k, be_dtype compute,
                                     be_weight **out) {
    if (compute == BE_F16) compute = BE_F32; /* no f16 matmul on this path: widen */
    be_weight *w = calloc(1, sizeof *w);
    if (!w) return saex_fail(SAEX_ERR_NOMEM, "cpu: out of memory");
    w->k = k;
    w->dt = compute;
    int same = n_parts <= MAX_PARTS;
    for (int i = 0; i < n_parts; i++) w->n += parts[i].rows, same = same && parts[i].dtype == compute;
    if (same) { /* oneDNN reads the plain [n, k] layout as it is: no copy, no load time */
        w->n_parts = n_parts;
        for (int i = 0; i < n_parts; i++) w->part[i] = parts[i].data, w->part_rows[i] = parts[i].rows;
        *out = w;
        return SAEX_OK;
    }
    saex_status s = cpu_alloc(b, (size_t)(w->n * k) * (compute == BE_F32 ? 4 : 2), &w->data);
    if (s) {
        free(w);
        return s;
    }
    int64_t row = 0;
    for (int i = 0; i < n_parts; i++) {
        copy_part(w, &parts[i], row);
        row += parts[i].rows;
    }
    *out = w;
    return SAEX_OK;
}

/* The embedding table is only gathered from, a few rows per token, so it
 * stays in the caller's mmap: only the pages of tokens seen become resident. */
static saex_status cpu_table_create(backend *b, const void *table, be_dtype dtype, int64_t rows, int64_t cols,
                                    be_weight **out) {
    be_weight *w = calloc(1, sizeof *w);
    if (!w) return saex_fail(SAEX_ERR_NOMEM, "cpu: out of memory");
    w->n = rows, w->k = cols, w->dt = dtype, w->data = (void *)table, w->borrowed = 1;
    *out = w;
    return SAEX_OK;
}

static void cpu_weight_free(backend *b, be_weight *w) {
    if (!w) return;
    if (!w->borrowed) free(w->data);
    free(w);
}

static int cpu_weight_borrows(backend *b, const be_weight *w) { return w->n_parts > 0 || w->borrowed; }

/* ----------------------------------------------------------------- compute */

#define WIDEN_BYTES ((size_t)4 << 20) /* f32 bytes of one widened weight block: stays in cache */

/* y[:, col0 : col0 + rows] = xr . W^T for W[rows, k] bf16, in f32 blocks of rows. */
static saex_status mm_bf16_widened(cpu_impl *im, const uint16_t *W, int64_t rows, int64_t k, int64_t m, int64_t n,
                                   float *y) {
    int64_t blk = (int64_t)(WIDEN_BYTES / ((size_t)k * 4));
    if (blk < 16) blk = 16;
    if (blk > rows) blk = rows;
    saex_status s = cpu_grow((void **)&im->wblk, &im->wblk_cap, (size_t)(blk * k) * 4);
    for (int64_t r0 = 0; r0 < rows && !s; r0 += blk) {
        int64_t rb = rows - r0 < blk ? rows - r0 : blk;
        const uint16_t *src = W + r0 * k;
#pragma omp parallel for schedule(static)
        for (int64_t i = 0; i < rb * k; i++) im->wblk[i] = st_bf16_to_f32(src[i]);
        mm_shape sh = {m, k, rb, {k, 1}, {1, k}, {n, 1}, dnnl_f32, 0};
        s = mm_run(im, &sh, im->xr, im->wblk, NULL, y + r0);
    }
    return s;
}

/* A bf16 matmul where oneDNN has none: see bf16_native. */
static saex_status matmul_bf16_fallback(cpu_impl *im, const be_weight *w, const float *x, int64_t m, float *y) {
    saex_status s = cpu_grow((void **)&im->xbf, &im->xbf_cap, (size_t)(m * w->k) * 2);
    if (!s) s = cpu_grow((void **)&im->xr, &im->xr_cap, (size_t)(m * w->k) * 4);
    if (s) return s;
    im->k->round_bf16(x, m * w->k, im->xbf);
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < m * w->k; i++) im->xr[i] = st_bf16_to_f32(im->xbf[i]);
    if (w->n_parts == 0) return mm_bf16_widened(im, w->data, w->n, w->k, m, w->n, y);
    int64_t col = 0;
    for (int i = 0; i < w->n_parts && !s; i++) {
        s = mm_bf16_widened(im, w->part[i], w->part_rows[i], w->k, m, w->n, y + col);
        col += w->part_rows[i];
    }
    return s;
}

static saex_status cpu_matmul(backend *b, const be_weight *w, const float *x, int64_t m, float *y) {
    cpu_impl *im = impl_of(b);
    if (m == 0) return SAEX_OK;
    if (w->dt == BE_BF16 && !im->bf16_native) return matmul_bf16_fallback(im, w, x, m, y);
    int dt = w->dt == BE_F32 ? dnnl_f32 : dnnl_bf16;
    const void *src = x;
    if (w->dt == BE_BF16) {
        saex_status s = cpu_grow((void **)&im->xbf, &im->xbf_cap, (size_t)(m * w->k) * 2);
        if (s) return s;
        im->k->round_bf16(x, m * w->k, im->xbf);
        src = im->xbf;
    }
    if (w->n_parts == 0) {
        mm_shape sh = dense_wt(m, w->k, w->n, dt);
        return mm_run(im, &sh, src, w->data, NULL, y);
    }
    /* Borrowed parts: part i fills columns [col, col + rows_i) of y[m, n]. */
    int64_t col = 0;
    for (int i = 0; i < w->n_parts; i++) {
        mm_shape sh = {m, w->k, w->part_rows[i], {w->k, 1}, {1, w->k}, {w->n, 1}, dt, 0};
        saex_status s = mm_run(im, &sh, src, w->part[i], NULL, y + col);
        if (s) return s;
        col += w->part_rows[i];
    }
    return SAEX_OK;
}

static saex_status cpu_embed(backend *b, const be_weight *t, const int32_t *ids, int64_t n, float scale, float *x) {
    int64_t d = t->k;
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < n; i++) {
        int64_t row = (int64_t)ids[i] * d;
        for (int64_t j = 0; j < d; j++) x[i * d + j] = to_f32(t->data, t->dt, row + j) * scale;
    }
    return SAEX_OK;
}

static saex_status cpu_rmsnorm(backend *b, const float *x, const float *w, int64_t m, int64_t d, float eps, float *out,
                               int accumulate) {
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < m; i++) {
        const float *xi = x + i * d;
        float *oi = out + i * d;
        double ss = 0; /* double: the mean of squares over thousands of values */
        for (int64_t j = 0; j < d; j++) ss += (double)xi[j] * xi[j];
        float r = 1.0f / sqrtf((float)(ss / (double)d) + eps);
        if (accumulate)
            for (int64_t j = 0; j < d; j++) oi[j] += xi[j] * r * (1.0f + w[j]);
        else
            for (int64_t j = 0; j < d; j++) oi[j] = xi[j] * r * (1.0f + w[j]);
    }
    return SAEX_OK;
}

/* Rotates one head in place: pairs (i, i + hd/2) by angle pos * inv_freq[i]. */
static void rope_head(float *h, const float *cs, const float *sn, int half) {
    for (int i = 0; i < half; i++) {
        float a = h[i], c = h[i + half];
        h[i] = a * cs[i] - c * sn[i];
        h[i + half] = c * cs[i] + a * sn[i];
    }
}

static saex_status cpu_rope(backend *b, float *qkv, const int32_t *pos, int64_t m, int nh, int nkv, int hd,
                            float theta) {
    int half = hd / 2;
    int64_t stride = (int64_t)(nh + 2 * nkv) * hd;
    float inv_freq[4096];
    if (half > 4096) return saex_fail(SAEX_ERR_UNSUPPORTED, "cpu: head_dim %d too large", hd);
    be_rope_inv_freq(theta, hd, inv_freq);
#pragma omp parallel for schedule(static)
    for (int64_t t = 0; t < m; t++) {
        float cs[4096], sn[4096];
        for (int i = 0; i < half; i++) {
            float ang = (float)pos[t] * inv_freq[i];
            cs[i] = cosf(ang);
            sn[i] = sinf(ang);
        }
        float *row = qkv + t * stride;
        for (int h = 0; h < nh + nkv; h++) rope_head(row + (int64_t)h * hd, cs, sn, half);
    }
    return SAEX_OK;
}

static saex_status cpu_attention(backend *b, const float *qkv, const int *seq_start, int n_seqs,
                                 const be_attn_params *p, float *out) {
    cpu_impl *im = impl_of(b);
    if (n_seqs < 0 || p->n_heads < 1 || p->n_kv_heads < 1 || p->n_heads % p->n_kv_heads)
        return saex_fail(SAEX_ERR_ARG, "cpu: attention: %d heads, %d kv heads (heads must be a multiple of kv heads)",
                         p->n_heads, p->n_kv_heads);
    return im->k->attention(qkv, seq_start, n_seqs, p, out, &im->attn);
}

static saex_status cpu_geglu(backend *b, const float *gu, int64_t m, int64_t f, float *out) {
    impl_of(b)->k->geglu(gu, m, f, out);
    return SAEX_OK;
}

static saex_status cpu_gather_rows(backend *b, const float *src, int64_t d, const int64_t *rows, int64_t n, float *dst) {
    for (int64_t i = 0; i < n; i++) memmove(dst + i * d, src + rows[i] * d, (size_t)d * sizeof(float));
    return SAEX_OK;
}

/* --------------------------------------------------------------------- SAE */

static saex_status cpu_sae_create(backend *b, const float *W, const float *bias, const float *thr, int64_t d, int64_t s,
                                  be_sae **out) {
    be_sae *e = calloc(1, sizeof *e);
    if (!e) return saex_fail(SAEX_ERR_NOMEM, "cpu: out of memory");
    e->d = d, e->s = s, e->W = W, e->b = bias, e->thr = thr; /* borrowed: see backend.h */
    *out = e;
    return SAEX_OK;
}

static void cpu_sae_free(backend *b, be_sae *e) { free(e); }

#define SAE_CHUNK 256 /* rows per SAE matmul: bounds the [rows, d_sae] scratch */

static saex_status cpu_sae_topk(backend *b, const be_sae *e, const float *x, int64_t n, int k, int32_t *ids,
                                float *vals, int32_t *n_active) {
    cpu_impl *im = impl_of(b);
    if (k < 1) return saex_fail(SAEX_ERR_ARG, "cpu: sae_topk: k = %d (must be at least 1)", k);
    if (n <= 0) return SAEX_OK;
    int64_t chunk = n < SAE_CHUNK ? n : SAE_CHUNK; /* a few rows need no 256-row scratch */
    saex_status st = cpu_grow((void **)&im->sae_pre, &im->sae_cap, (size_t)chunk * (size_t)e->s * 4);
    if (st) return st;
    saex_feature *feat = malloc((size_t)k * sizeof *feat * (size_t)chunk);
    if (!feat) return saex_fail(SAEX_ERR_NOMEM, "cpu: out of memory");
    for (int64_t r0 = 0; r0 < n && !st; r0 += chunk) {
        int64_t rows = n - r0 < chunk ? n - r0 : chunk;
        mm_shape sh = {rows, e->d, e->s, {e->d, 1}, {e->s, 1}, {e->s, 1}, dnnl_f32, 1}; /* W_enc is [d, s] */
        st = mm_run(im, &sh, x + r0 * e->d, e->W, e->b, im->sae_pre);
        if (st) break;
#pragma omp parallel for schedule(static)
        for (int64_t r = 0; r < rows; r++) {
            float *f = im->sae_pre + r * e->s;
            im->k->jumprelu(f, e->thr, e->s); /* JumpReLU as SAELens: relu(pre) where pre > threshold (strict) */
            int64_t na;
            saex_feature *fr = feat + r * k;
            int got = saex_topk_row(f, e->s, k, fr, &na);
            int64_t o = (r0 + r) * k;
            for (int i = 0; i < k; i++) {
                ids[o + i] = i < got ? fr[i].id : -1;
                vals[o + i] = i < got ? fr[i].activation : 0.0f;
            }
            n_active[r0 + r] = (int32_t)na;
        }
    }
    free(feat);
    return st;
}

/* ----------------------------------------------------------------- lifetime */

static void cpu_destroy(backend *b) {
    if (!b) return;
    cpu_impl *im = impl_of(b);
    if (im) {
        for (int i = 0; i < MM_CACHE; i++) mm_entry_destroy(&im->cache[i]);
        if (im->strm) dnnl_stream_destroy(im->strm);
        if (im->eng) dnnl_engine_destroy(im->eng);
        free(im->xbf), free(im->sae_pre), free(im->xr), free(im->wblk);
        cpu_attention_free(&im->attn);
        free(im);
    }
    free(b);
}

saex_status backend_cpu_create(int threads, backend **out) {
    backend *b = calloc(1, sizeof *b);
    cpu_impl *im = calloc(1, sizeof *im);
    if (!b || !im) {
        free(b), free(im);
        return saex_fail(SAEX_ERR_NOMEM, "cpu: out of memory");
    }
    b->impl = im;
    b->name = "cpu";
    b->threads = threads > 0 ? threads : saex_cpu_count();
    omp_set_num_threads(b->threads);
    saex_status s;
    if ((s = cpu_kernels_pick(&im->k)) || (s = dnnl_check(dnnl_engine_create(&im->eng, dnnl_cpu, 0), "engine")) ||
        (s = dnnl_check(dnnl_stream_create(&im->strm, im->eng, dnnl_stream_default_flags), "stream"))) {
        cpu_destroy(b);
        return s;
    }
    b->alloc = cpu_alloc, b->free = cpu_free, b->upload = cpu_copy, b->download = cpu_copy, b->sync = cpu_sync;
    b->weight_create = cpu_weight_create, b->table_create = cpu_table_create, b->weight_free = cpu_weight_free;
    b->weight_borrows = cpu_weight_borrows;
    b->matmul = cpu_matmul, b->embed = cpu_embed, b->rmsnorm = cpu_rmsnorm, b->rope = cpu_rope;
    b->attention = cpu_attention, b->geglu = cpu_geglu, b->gather_rows = cpu_gather_rows;
    b->sae_create = cpu_sae_create, b->sae_free = cpu_sae_free, b->sae_topk = cpu_sae_topk;
    b->destroy = cpu_destroy;
    b->isa = im->k->isa;
    im->bf16_native = im->k == &cpu_kernels_v4 && bf16_matmul_runs(im);
    *out = b;
    return SAEX_OK;
}
