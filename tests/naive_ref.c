/* naive_ref.c — double-precision reference ops for tests/test_backend.c
 * (see naive_ref.h). No blocking, no vectorisation, no shortcuts. */
#include "naive_ref.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

double ref_bf16_to_double(uint16_t h) {
    uint32_t u = (uint32_t)h << 16; /* bf16 is the top half of an f32 */
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

double ref_f16_to_double(uint16_t h) {
    int sign = h >> 15, e = (h >> 10) & 0x1f, man = h & 0x3ff;
    double v = e == 0 ? ldexp(man, -24) : e == 31 ? (man ? NAN : INFINITY) : ldexp(1024 + man, e - 25);
    return sign ? -v : v;
}

float ref_round_bf16(float f) {
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    uint32_t low = u & 0xffff, keep = u >> 16;
    if (low > 0x8000 || (low == 0x8000 && (keep & 1))) keep++; /* nearest, ties to even */
    u = keep << 16;
    memcpy(&f, &u, sizeof f);
    return f;
}

void ref_matmul(const double *x, const double *W, int64_t m, int64_t k, int64_t n, double *y) {
    for (int64_t r = 0; r < m; r++)
        for (int64_t c = 0; c < n; c++) {
            double s = 0;
            for (int64_t j = 0; j < k; j++) s += x[r * k + j] * W[c * k + j];
            y[r * n + c] = s;
        }
}

void ref_rmsnorm(const float *x, const float *w, int64_t m, int64_t d, double eps, double *y) {
    for (int64_t r = 0; r < m; r++) {
        double ss = 0;
        for (int64_t i = 0; i < d; i++) ss += (double)x[r * d + i] * x[r * d + i];
        double inv = 1.0 / sqrt(ss / (double)d + eps);
        for (int64_t i = 0; i < d; i++) y[r * d + i] = x[r * d + i] * inv * (1.0 + w[i]);
    }
}

void ref_rope(const float *qkv, const int32_t *pos, int64_t m, int nh, int nkv, int hd, double theta, double *out) {
    int64_t width = (int64_t)(nh + 2 * nkv) * hd;
    int half = hd / 2;
    for (int64_t r = 0; r < m; r++) {
        for (int64_t i = 0; i < width; i++) out[r * width + i] = qkv[r * width + i];
        for (int h = 0; h < nh + nkv; h++) {
            const float *x = qkv + r * width + (int64_t)h * hd;
            double *o = out + r * width + (int64_t)h * hd;
            for (int i = 0; i < half; i++) {
                double angle = pos[r] / pow(theta, 2.0 * i / hd);
                o[i] = x[i] * cos(angle) - x[i + half] * sin(angle);
                o[i + half] = x[i + half] * cos(angle) + x[i] * sin(angle);
            }
        }
    }
}

void ref_attention(const float *qkv, const int *seq_start, int n_seqs, const be_attn_params *p, double *out) {
    int nh = p->n_heads, nkv = p->n_kv_heads, hd = p->head_dim;
    int64_t width = (int64_t)(nh + 2 * nkv) * hd;
    for (int s = 0; s < n_seqs; s++) {
        int64_t base = seq_start[s], len = seq_start[s + 1] - base;
        double *score = malloc((size_t)(len > 0 ? len : 1) * sizeof *score);
        for (int h = 0; h < nh; h++) {
            int g = h / (nh / nkv); /* the kv head this query head shares */
            for (int64_t i = 0; i < len; i++) {
                const float *q = qkv + (base + i) * width + (int64_t)h * hd;
                double max = -INFINITY;
                for (int64_t j = 0; j <= i; j++) {
                    score[j] = -INFINITY;
                    if (p->window > 0 && i - j >= p->window) continue;
                    const float *kj = qkv + (base + j) * width + (int64_t)(nh + g) * hd;
                    double dot = 0;
                    for (int e = 0; e < hd; e++) dot += (double)q[e] * kj[e];
                    dot *= p->scale;
                    if (p->softcap > 0) dot = p->softcap * tanh(dot / p->softcap);
                    score[j] = dot;
                    if (dot > max) max = dot;
                }
                double sum = 0;
                for (int64_t j = 0; j <= i; j++) sum += score[j] == -INFINITY ? 0 : exp(score[j] - max);
                double *o = out + (base + i) * nh * hd + (int64_t)h * hd;
                for (int e = 0; e < hd; e++) o[e] = 0;
                for (int64_t j = 0; j <= i; j++) {
                    if (score[j] == -INFINITY) continue;
                    double weight = exp(score[j] - max) / sum;
                    const float *v = qkv + (base + j) * width + (int64_t)(nh + nkv + g) * hd;
                    for (int e = 0; e < hd; e++) o[e] += weight * v[e];
                }
            }
        }
        free(score);
    }
}

double ref_gelu_tanh(double x) {
    double u = sqrt(2.0 / M_PI) * (x + 0.044715 * x * x * x);
    /* = 0.5 x (1 + tanh(u)); written so, 1 + tanh(u) cancels to 0 even in
     * double for x below about -7, and the relative error is unbounded. */
    return x / (1.0 + exp(-2.0 * u));
}

void ref_geglu(const float *gu, int64_t m, int64_t f, double *out) {
    for (int64_t r = 0; r < m; r++)
        for (int64_t c = 0; c < f; c++) out[r * f + c] = ref_gelu_tanh(gu[r * 2 * f + c]) * gu[r * 2 * f + f + c];
}

typedef struct {
    int32_t id;
    double v;
} ranked;

static int rank_order(const void *pa, const void *pb) {
    const ranked *a = pa, *b = pb;
    if (a->v != b->v) return a->v > b->v ? -1 : 1;
    return a->id < b->id ? -1 : a->id > b->id;
}

int64_t ref_sae_topk_row(const float *x, const float *W, const float *b, const float *thr, int64_t d, int64_t s, int k,
                         int32_t *ids, double *vals) {
    ranked *active = malloc((size_t)s * sizeof *active);
    int64_t n = 0;
    for (int64_t j = 0; j < s; j++) {
        double pre = b[j];
        for (int64_t i = 0; i < d; i++) pre += (double)x[i] * W[i * s + j];
        if (pre > thr[j] && pre > 0) active[n++] = (ranked){(int32_t)j, pre};
    }
    qsort(active, (size_t)n, sizeof *active, rank_order);
    for (int i = 0; i < k; i++) {
        ids[i] = i < n ? active[i].id : -1;
        vals[i] = i < n ? active[i].v : 0.0;
    }
    free(active);
    return n;
}
