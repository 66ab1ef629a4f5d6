/* test_cuda_host.c — the CUDA backend against naive host arithmetic.
 *
 * Without a GPU (or without a CUDA build) it checks that the backend says
 * so cleanly: backend_cuda_available() is 0 and backend_cuda_create() fails
 * with SAEX_ERR_UNSUPPORTED and a message, then skips the op cases
 * visibly. With a GPU every op of struct backend runs on small shapes that
 * reach the kernels' edge cases (partial tiles, head_dim not a multiple of
 * 32, windows, softcap, GQA, top-k ties and the radix-select path) and is
 * compared with a double-precision host computation. */
#include "backend/backend.h"
#include "error.h"
#include "test.h"
#include <stdint.h>

static backend *g_be; /* NULL when no GPU */

/* ------------------------------------------------------------ host helpers */

static uint32_t rng_state = 12345u;
static float frand(void) { /* uniform [-1, 1) */
    rng_state = rng_state * 1664525u + 1013904223u;
    return (float)((rng_state >> 8) & 0xffffff) / 8388608.0f - 1.0f;
}
static int irand(int n) {
    rng_state = rng_state * 1664525u + 1013904223u;
    return (int)((rng_state >> 8) % (uint32_t)n);
}

static float bits_f32(uint32_t u) {
    float f;
    memcpy(&f, &u, 4);
    return f;
}
static uint32_t f32_bits(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}
static uint16_t to_bf16(float f) { /* round to nearest even (no NaNs here) */
    uint32_t u = f32_bits(f);
    return (uint16_t)((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
}
static float from_bf16(uint16_t h) { return bits_f32((uint32_t)h << 16); }
static float round_bf16(float f) { return from_bf16(to_bf16(f)); }
/* f16 of a value that f16 holds exactly (normal, |v| in [2^-14, 65504]) or 0 */
static uint16_t to_f16_exact(float f) {
    if (f == 0.0f) return 0;
    uint32_t u = f32_bits(f);
    uint32_t sign = (u >> 16) & 0x8000u;
    int e = (int)((u >> 23) & 0xff) - 127 + 15;
    return (uint16_t)(sign | ((uint32_t)e << 10) | ((u >> 13) & 0x3ffu));
}

static float *dev_from(const void *host, size_t bytes) {
    void *d = NULL;
    if (g_be->alloc(g_be, bytes, &d)) return NULL;
    if (g_be->upload(g_be, d, host, bytes)) return NULL;
    return (float *)d;
}
static int fetch(void *host, const void *dev, size_t bytes) { return g_be->download(g_be, host, dev, bytes) == SAEX_OK; }

static double max_rel(const float *got, const double *want, int64_t n, double floor_) {
    double worst = 0;
    for (int64_t i = 0; i < n; i++) {
        double e = fabs(got[i] - want[i]) / (fabs(want[i]) + floor_);
        if (!(e <= worst)) worst = e; /* NaN sticks */
    }
    return worst;
}

#define NEED_GPU()                                                                             \
    do {                                                                                       \
        if (!g_be) SKIP("no GPU (backend_cuda_available() = 0)");                              \
    } while (0)

/* ------------------------------------------------------------------- cases */

static void test_no_gpu_is_clean(void) {
    int avail = backend_cuda_available();
    CHECK(avail == 0 || avail == 1, "available() = %d", avail);
    if (avail) {
        saex_status st = backend_cuda_create(0, &g_be);
        REQUIRE(st == SAEX_OK && g_be, "a GPU is visible but create failed: %s", saex_last_error());
        CHECK(strcmp(g_be->name, "cuda") == 0, "name %s", g_be->name);
        backend *bad = (backend *)1;
        st = backend_cuda_create(1 << 20, &bad);
        CHECK(st == SAEX_ERR_ARG && bad == NULL, "device 1<<20: status %d", st);
        return;
    }
    backend *b = (backend *)1;
    saex_clear_error();
    saex_status st = backend_cuda_create(0, &b);
    CHECK(st == SAEX_ERR_UNSUPPORTED, "status %d (%s)", st, saex_last_error());
    CHECK(b == NULL, "out not cleared");
    const char *msg = saex_last_error();
    CHECK(strstr(msg, "CUDA") || strstr(msg, "cuda"), "message: %s", msg);
    printf("     (no GPU here: \"%s\")\n", msg);
}

static void test_memory_roundtrip(void) {
    NEED_GPU();
    /* 40 MB: more than one pinned staging chunk (32 MB) each way */
    size_t n = 10u << 20;
    float *h = malloc(n * 4), *back = malloc(n * 4);
    REQUIRE(h && back, "oom");
    for (size_t i = 0; i < n; i++) h[i] = (float)i * 0.5f - 7.0f;
    float *d = dev_from(h, n * 4);
    REQUIRE(d, "upload: %s", saex_last_error());
    memset(back, 0, n * 4);
    REQUIRE(fetch(back, d, n * 4), "download: %s", saex_last_error());
    CHECK(memcmp(h, back, n * 4) == 0, "roundtrip differs");
    CHECK(g_be->sync(g_be) == SAEX_OK, "sync: %s", saex_last_error());
    g_be->free(g_be, d);
    void *z = (void *)1;
    CHECK(g_be->alloc(g_be, 0, &z) == SAEX_OK && z == NULL, "alloc(0)");
    free(h);
    free(back);
}

/* W = [bf16 part; f32 part; f16 part] (n = 40 + 24 + 8) with k = 100 */
static void matmul_case(be_dtype compute) {
    enum { M = 37, K = 100, N1 = 40, N2 = 24, N3 = 8, N = N1 + N2 + N3 };
    static uint16_t w1[N1 * K], w3[N3 * K];
    static float w2[N2 * K], x[M * K], y[M * N];
    static double wf[N * K], want[M * N];
    for (int i = 0; i < N1 * K; i++) {
        w1[i] = to_bf16(frand());
        wf[i] = from_bf16(w1[i]);
    }
    for (int i = 0; i < N2 * K; i++) {
        w2[i] = frand();
        wf[N1 * K + i] = compute == BE_BF16 ? round_bf16(w2[i]) : w2[i];
    }
    for (int i = 0; i < N3 * K; i++) {
        float v = (float)(irand(129) - 64) / 64.0f; /* exact in f16 and bf16 */
        w3[i] = to_f16_exact(v);
        wf[(N1 + N2) * K + i] = v;
    }
    for (int i = 0; i < M * K; i++) x[i] = frand() * 3.0f;
    for (int r = 0; r < M; r++)
        for (int c = 0; c < N; c++) {
            double s = 0;
            for (int j = 0; j < K; j++) {
                double xv = compute == BE_BF16 ? round_bf16(x[r * K + j]) : x[r * K + j];
                s += xv * wf[c * K + j];
            }
            want[r * N + c] = s;
        }
    be_part parts[3] = {{w1, BE_BF16, N1}, {w2, BE_F32, N2}, {w3, BE_F16, N3}};
    be_weight *w = NULL;
    REQUIRE(g_be->weight_create(g_be, parts, 3, K, compute, &w) == SAEX_OK, "weight_create: %s", saex_last_error());
    float *dx = dev_from(x, sizeof x), *dy = NULL;
    REQUIRE(dx && g_be->alloc(g_be, sizeof y, (void **)&dy) == SAEX_OK, "alloc: %s", saex_last_error());
    REQUIRE(g_be->matmul(g_be, w, dx, M, dy) == SAEX_OK, "matmul: %s", saex_last_error());
    REQUIRE(fetch(y, dy, sizeof y), "download: %s", saex_last_error());
    double err = max_rel(y, want, M * N, 1.0);
    CHECK(err < 2e-5, "max error %.3g (compute %s)", err, compute == BE_BF16 ? "bf16" : "f32");
    g_be->weight_free(g_be, w);
    g_be->free(g_be, dx);
    g_be->free(g_be, dy);
}
static void test_matmul_f32(void) {
    NEED_GPU();
    matmul_case(BE_F32);
}
static void test_matmul_bf16(void) {
    NEED_GPU();
    matmul_case(BE_BF16);
}

static void test_embed(void) {
    NEED_GPU();
    enum { R = 50, C = 300, T = 6 };
    static uint16_t tab[R * C];
    static float x[T * C];
    int32_t ids[T] = {7, 0, 49, 7, 13, 2};
    for (int i = 0; i < R * C; i++) tab[i] = to_bf16(frand() * 4);
    be_weight *t = NULL;
    REQUIRE(g_be->table_create(g_be, tab, BE_BF16, R, C, &t) == SAEX_OK, "table_create: %s", saex_last_error());
    int32_t *dids = (int32_t *)dev_from(ids, sizeof ids);
    float *dx = NULL;
    REQUIRE(dids && g_be->alloc(g_be, sizeof x, (void **)&dx) == SAEX_OK, "alloc");
    REQUIRE(g_be->embed(g_be, t, dids, T, 1.75f, dx) == SAEX_OK, "embed: %s", saex_last_error());
    REQUIRE(fetch(x, dx, sizeof x), "download");
    int bad = 0;
    for (int i = 0; i < T; i++)
        for (int c = 0; c < C; c++)
            if (x[i * C + c] != from_bf16(tab[ids[i] * C + c]) * 1.75f) bad++;
    CHECK(bad == 0, "%d elements differ", bad);
    g_be->weight_free(g_be, t);
    g_be->free(g_be, dids);
    g_be->free(g_be, dx);
}

static void test_rmsnorm(void) {
    NEED_GPU();
    enum { M = 5, D = 300 };
    static float x[M * D], w[D], res[M * D], y[M * D];
    static double want[M * D];
    for (int i = 0; i < M * D; i++) x[i] = frand() * (1 + i % 7), res[i] = frand();
    for (int i = 0; i < D; i++) w[i] = frand() * 0.5f;
    for (int r = 0; r < M; r++) {
        double ss = 0;
        for (int i = 0; i < D; i++) ss += (double)x[r * D + i] * x[r * D + i];
        double inv = 1.0 / sqrt(ss / D + 1e-6);
        for (int i = 0; i < D; i++) want[r * D + i] = x[r * D + i] * inv * (1.0 + w[i]);
    }
    float *dx = dev_from(x, sizeof x), *dw = dev_from(w, sizeof w), *dres = dev_from(res, sizeof res), *dy = NULL;
    REQUIRE(dx && dw && dres && g_be->alloc(g_be, sizeof y, (void **)&dy) == SAEX_OK, "alloc");
    REQUIRE(g_be->rmsnorm(g_be, dx, dw, M, D, 1e-6f, dy, 0) == SAEX_OK, "rmsnorm: %s", saex_last_error());
    REQUIRE(fetch(y, dy, sizeof y), "download");
    double err = max_rel(y, want, M * D, 1e-3);
    CHECK(err < 1e-5, "plain: max error %.3g", err);
    /* accumulate: res += y */
    REQUIRE(g_be->rmsnorm(g_be, dx, dw, M, D, 1e-6f, dres, 1) == SAEX_OK, "rmsnorm acc: %s", saex_last_error());
    REQUIRE(fetch(y, dres, sizeof y), "download");
    static double want2[M * D];
    for (int i = 0; i < M * D; i++) want2[i] = want[i] + res[i];
    err = max_rel(y, want2, M * D, 1e-2);
    CHECK(err < 1e-5, "accumulate: max error %.3g", err);
    /* in place */
    REQUIRE(g_be->rmsnorm(g_be, dx, dw, M, D, 1e-6f, dx, 0) == SAEX_OK, "rmsnorm in place: %s", saex_last_error());
    REQUIRE(fetch(y, dx, sizeof y), "download");
    err = max_rel(y, want, M * D, 1e-3);
    CHECK(err < 1e-5, "in place: max error %.3g", err);
    g_be->free(g_be, dx);
    g_be->free(g_be, dw);
    g_be->free(g_be, dres);
    g_be->free(g_be, dy);
}

static void test_rope(void) {
    NEED_GPU();
    enum { M = 6, NH = 4, NKV = 2, HD = 16, W = (NH + 2 * NKV) * HD };
    static float qkv[M * W], got[M * W];
    static double want[M * W];
    int32_t pos[M] = {0, 1, 2, 3, 100, 5000};
    const float theta = 10000.0f;
    for (int i = 0; i < M * W; i++) qkv[i] = frand();
    for (int r = 0; r < M; r++) {
        for (int i = 0; i < W; i++) want[r * W + i] = qkv[r * W + i]; /* v stays */
        for (int h = 0; h < NH + NKV; h++) {
            const float *p = qkv + r * W + h * HD;
            for (int i = 0; i < HD / 2; i++) {
                float inv = 1.0f / powf(theta, (float)(2 * i) / (float)HD);
                double a = (double)((float)pos[r] * inv);
                double x1 = p[i], x2 = p[i + HD / 2];
                want[r * W + h * HD + i] = x1 * cos(a) - x2 * sin(a);
                want[r * W + h * HD + i + HD / 2] = x2 * cos(a) + x1 * sin(a);
            }
        }
    }
    float *d = dev_from(qkv, sizeof qkv);
    int32_t *dp = (int32_t *)dev_from(pos, sizeof pos);
    REQUIRE(d && dp, "alloc");
    REQUIRE(g_be->rope(g_be, d, dp, M, NH, NKV, HD, theta) == SAEX_OK, "rope: %s", saex_last_error());
    REQUIRE(fetch(got, d, sizeof got), "download");
    int bad = 0;
    for (int r = 0; r < M; r++)
        for (int i = 0; i < W; i++) {
            /* 1 ulp of powf moves a large angle by ~pos * 6e-8 radians */
            double tol = 2e-6 + 2e-7 * pos[r];
            if (!(fabs(got[r * W + i] - want[r * W + i]) <= tol)) {
                if (bad++ < 5)
                    fprintf(stderr, "  row %d col %d: %g vs %g\n", r, i, got[r * W + i], want[r * W + i]);
            }
        }
    CHECK(bad == 0, "%d elements off", bad);
    g_be->free(g_be, d);
    g_be->free(g_be, dp);
}

/* naive attention in double over packed sequences */
static void attention_ref(const float *qkv, const int *ss, int ns, const be_attn_params *p, double *out) {
    int nh = p->n_heads, nkv = p->n_kv_heads, hd = p->head_dim, ld = (nh + 2 * nkv) * hd;
    double *sc = malloc(sizeof(double) * 4096);
    for (int s = 0; s < ns; s++)
        for (int h = 0; h < nh; h++) {
            int g = h / (nh / nkv);
            for (int i = 0; i < ss[s + 1] - ss[s]; i++) {
                const float *q = qkv + (int64_t)(ss[s] + i) * ld + h * hd;
                double mx = -1e300;
                for (int j = 0; j <= i; j++) {
                    sc[j] = -1e300;
                    if (p->window > 0 && i - j >= p->window) continue;
                    const float *k = qkv + (int64_t)(ss[s] + j) * ld + (nh + g) * hd;
                    double d = 0;
                    for (int e = 0; e < hd; e++) d += (double)q[e] * k[e];
                    d *= p->scale;
                    if (p->softcap > 0) d = tanh(d / p->softcap) * p->softcap;
                    sc[j] = d;
                    if (d > mx) mx = d;
                }
                double sum = 0;
                for (int j = 0; j <= i; j++) {
                    sc[j] = sc[j] <= -1e299 ? 0 : exp(sc[j] - mx);
                    sum += sc[j];
                }
                double *o = out + (int64_t)(ss[s] + i) * nh * hd + h * hd;
                for (int e = 0; e < hd; e++) o[e] = 0;
                for (int j = 0; j <= i; j++) {
                    const float *v = qkv + (int64_t)(ss[s] + j) * ld + (nh + nkv + g) * hd;
                    for (int e = 0; e < hd; e++) o[e] += sc[j] / sum * v[e];
                }
            }
        }
    free(sc);
}

static void attention_case(const int *lens, int ns, int nh, int nkv, int hd, int window, float cap, float qscale) {
    int ss[16];
    ss[0] = 0;
    for (int s = 0; s < ns; s++) ss[s + 1] = ss[s] + lens[s];
    int m = ss[ns], ld = (nh + 2 * nkv) * hd;
    float *qkv = malloc(sizeof(float) * m * ld), *got = malloc(sizeof(float) * m * nh * hd);
    double *want = malloc(sizeof(double) * m * nh * hd);
    REQUIRE(qkv && got && want, "oom");
    for (int i = 0; i < m * ld; i++) qkv[i] = frand() * qscale;
    be_attn_params p = {nh, nkv, hd, 1.0f / sqrtf((float)hd), cap, window};
    attention_ref(qkv, ss, ns, &p, want);
    float *dq = dev_from(qkv, sizeof(float) * m * ld), *dout = NULL;
    REQUIRE(dq && g_be->alloc(g_be, sizeof(float) * m * nh * hd, (void **)&dout) == SAEX_OK, "alloc");
    REQUIRE(g_be->attention(g_be, dq, ss, ns, &p, dout) == SAEX_OK, "attention: %s", saex_last_error());
    REQUIRE(fetch(got, dout, sizeof(float) * m * nh * hd), "download: %s", saex_last_error());
    double worst = 0;
    int64_t at = -1;
    for (int64_t i = 0; i < (int64_t)m * nh * hd; i++) {
        double e = fabs(got[i] - want[i]);
        if (!(e <= worst)) worst = e, at = i;
    }
    CHECK(worst < 2e-5, "hd %d window %d cap %g: max abs error %.3g at row %lld col %lld (%g vs %g)", hd, window,
          cap, worst, (long long)(at / (nh * hd)), (long long)(at % (nh * hd)), at >= 0 ? got[at] : 0.0,
          at >= 0 ? want[at] : 0.0);
    g_be->free(g_be, dq);
    g_be->free(g_be, dout);
    free(qkv);
    free(got);
    free(want);
}

static void test_attention_window_softcap(void) {
    NEED_GPU();
    int lens[] = {1, 37, 70, 16};
    attention_case(lens, 4, 4, 2, 40, 20, 5.0f, 3.0f); /* hd not a multiple of 32, GQA 2:1 */
}
static void test_attention_full_hd256(void) {
    NEED_GPU();
    int lens[] = {33, 17, 100};
    attention_case(lens, 3, 4, 1, 256, 0, 0.0f, 1.0f); /* Gemma-2 head_dim, MQA */
}
static void test_attention_gemma_like(void) {
    NEED_GPU();
    int lens[] = {129, 3};
    attention_case(lens, 2, 8, 4, 256, 64, 50.0f, 2.0f); /* softcap 50 as Gemma-2, window smaller than the sequence */
}
static void test_attention_bad_args(void) {
    NEED_GPU();
    int ss[2] = {0, 4};
    be_attn_params p = {4, 3, 16, 0.25f, 0, 0};
    CHECK(g_be->attention(g_be, NULL, ss, 1, &p, NULL) == SAEX_ERR_ARG, "4 heads / 3 kv heads accepted");
    CHECK(strstr(saex_last_error(), "cuda: attention"), "message: %s", saex_last_error());
    be_attn_params q = {4, 2, 512, 0.25f, 0, 0};
    CHECK(g_be->attention(g_be, NULL, ss, 1, &q, NULL) == SAEX_ERR_ARG, "head_dim 512 accepted");
}

static void test_geglu(void) {
    NEED_GPU();
    enum { M = 3, F = 1000 };
    static float gu[M * 2 * F], out[M * F];
    static double want[M * F];
    for (int i = 0; i < M * 2 * F; i++) gu[i] = frand() * 6;
    for (int r = 0; r < M; r++)
        for (int c = 0; c < F; c++) {
            double x = gu[r * 2 * F + c], u = gu[r * 2 * F + F + c];
            want[r * F + c] = 0.5 * x * (1 + tanh(sqrt(2 / M_PI) * (x + 0.044715 * x * x * x))) * u;
        }
    float *dg = dev_from(gu, sizeof gu), *dout = NULL;
    REQUIRE(dg && g_be->alloc(g_be, sizeof out, (void **)&dout) == SAEX_OK, "alloc");
    REQUIRE(g_be->geglu(g_be, dg, M, F, dout) == SAEX_OK, "geglu: %s", saex_last_error());
    REQUIRE(fetch(out, dout, sizeof out), "download");
    double err = max_rel(out, want, M * F, 1e-3);
    CHECK(err < 1e-5, "max error %.3g", err);
    g_be->free(g_be, dg);
    g_be->free(g_be, dout);
}

static void test_gather_rows(void) {
    NEED_GPU();
    enum { R = 9, D = 333 };
    static float src[R * D], got[4 * D];
    for (int i = 0; i < R * D; i++) src[i] = (float)i;
    int64_t rows[4] = {2, 0, 8, 2};
    float *ds = dev_from(src, sizeof src), *dd = NULL;
    REQUIRE(ds && g_be->alloc(g_be, sizeof got, (void **)&dd) == SAEX_OK, "alloc");
    REQUIRE(g_be->gather_rows(g_be, ds, D, rows, 4, dd) == SAEX_OK, "gather: %s", saex_last_error());
    REQUIRE(fetch(got, dd, sizeof got), "download");
    int bad = 0;
    for (int i = 0; i < 4; i++)
        for (int c = 0; c < D; c++) bad += got[i * D + c] != src[rows[i] * D + c];
    CHECK(bad == 0, "%d differ", bad);
    g_be->free(g_be, ds);
    g_be->free(g_be, dd);
}

/* SAE top-k with values that f32 sums exactly (multiples of 1/64), so ties
 * are real and the comparison with the host is exact. */
static void sae_case(int64_t d, int64_t s, int n, int k, float bias, const char *what) {
    float *W = malloc(sizeof(float) * d * s), *b = malloc(sizeof(float) * s), *thr = malloc(sizeof(float) * s);
    float *x = malloc(sizeof(float) * n * d), *vals = malloc(sizeof(float) * n * k);
    int32_t *ids = malloc(sizeof(int32_t) * n * k), *nact = malloc(sizeof(int32_t) * n);
    double *f = malloc(sizeof(double) * s);
    REQUIRE(W && b && thr && x && vals && ids && nact && f, "oom");
    for (int64_t i = 0; i < d * s; i++) W[i] = (float)(irand(9) - 4) / 8.0f;
    for (int64_t j = 0; j < s; j++) {
        b[j] = bias + (float)(irand(65) - 32) / 64.0f;
        thr[j] = (float)irand(64) / 16.0f; /* often equal to pre: tests the strict > */
    }
    /* features 5 and 9 identical: a guaranteed tie, won by 5 */
    for (int64_t i = 0; i < d; i++) W[i * s + 9] = W[i * s + 5];
    b[9] = b[5];
    thr[9] = thr[5];
    for (int64_t i = 0; i < n * d; i++) x[i] = (float)(irand(9) - 4) / 8.0f;
    for (int64_t i = 0; i < d; i++) x[(n - 1) * d + i] = 0.0f; /* last row: only the biases */
    be_sae *e = NULL;
    REQUIRE(g_be->sae_create(g_be, W, b, thr, d, s, &e) == SAEX_OK, "sae_create: %s", saex_last_error());
    float *dx = dev_from(x, sizeof(float) * n * d);
    REQUIRE(dx, "upload");
    REQUIRE(g_be->sae_topk(g_be, e, dx, n, k, ids, vals, nact) == SAEX_OK, "sae_topk: %s", saex_last_error());
    int bad = 0;
    for (int r = 0; r < n; r++) {
        int active = 0;
        for (int64_t j = 0; j < s; j++) {
            double pre = b[j];
            for (int64_t i = 0; i < d; i++) pre += (double)x[r * d + i] * W[i * s + j];
            f[j] = pre > thr[j] ? (pre > 0 ? pre : 0) : 0;
            active += f[j] != 0;
        }
        if (nact[r] != active && bad++ < 5) fprintf(stderr, "  %s row %d: n_active %d vs %d\n", what, r, nact[r], active);
        /* expected order: repeatedly the largest remaining, lowest id on ties */
        for (int i = 0; i < k; i++) {
            int64_t best = -1;
            for (int64_t j = 0; j < s; j++)
                if (f[j] != 0 && (best < 0 || f[j] > f[best])) best = j;
            int32_t wid = best < 0 ? -1 : (int32_t)best;
            float wv = best < 0 ? 0.0f : (float)f[best];
            if (best >= 0) f[best] = 0;
            if ((ids[r * k + i] != wid || vals[r * k + i] != wv) && bad++ < 5)
                fprintf(stderr, "  %s row %d rank %d: (%d, %g) vs (%d, %g)\n", what, r, i, ids[r * k + i],
                        vals[r * k + i], wid, wv);
        }
    }
    CHECK(bad == 0, "%s: %d mismatches", what, bad);
    g_be->sae_free(g_be, e);
    g_be->free(g_be, dx);
    free(W), free(b), free(thr), free(x), free(vals), free(ids), free(nact), free(f);
}

static void test_sae_topk_sparse(void) {
    NEED_GPU();
    sae_case(64, 3000, 7, 50, 0.0f, "sparse");      /* typical: tens to hundreds active */
    sae_case(16, 700, 3, 1, -1.0f, "k=1");
}
static void test_sae_topk_dense_radix(void) {
    NEED_GPU();
    sae_case(32, 9000, 3, 1024, 8.0f, "dense"); /* > 4096 active: the radix-select path */
    sae_case(32, 9000, 2, 7, 8.0f, "dense small k");
}
static void test_sae_topk_bad_k(void) {
    NEED_GPU();
    CHECK(g_be->sae_topk(g_be, NULL, NULL, 1, 0, NULL, NULL, NULL) == SAEX_ERR_ARG, "k = 0 accepted");
    CHECK(strstr(saex_last_error(), "k = 0"), "message: %s", saex_last_error());
}

int main(void) {
    RUN(test_no_gpu_is_clean);
    RUN(test_memory_roundtrip);
    RUN(test_matmul_f32);
    RUN(test_matmul_bf16);
    RUN(test_embed);
    RUN(test_rmsnorm);
    RUN(test_rope);
    RUN(test_attention_window_softcap);
    RUN(test_attention_full_hd256);
    RUN(test_attention_gemma_like);
    RUN(test_attention_bad_args);
    RUN(test_geglu);
    RUN(test_gather_rows);
    RUN(test_sae_topk_sparse);
    RUN(test_sae_topk_dense_radix);
    RUN(test_sae_topk_bad_k);
    if (g_be) g_be->destroy(g_be);
    TEST_MAIN_END();
}
