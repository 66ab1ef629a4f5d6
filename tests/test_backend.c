/* test_backend.c — every op of the backend interface (src/backend/backend.h)
 * on every backend present, against the double-precision references of
 * tests/naive_ref.c.
 *
 * Targets: the CPU backend on each instruction set (x86-64-v3 always,
 * x86-64-v4 where the CPU has AVX-512) and CUDA where a GPU is visible;
 * a target that is not here prints a SKIP line for each case. Case names
 * carry the target: "attention_gemma_like[cpu-v4]".
 *
 * The shapes reach the kernels' edges: partial attention tiles and query
 * blocks, sequences of one token, head_dim not a multiple of 32, GQA and
 * MQA, sliding windows shorter than the sequence, softcap, weights in
 * parts of mixed dtypes, borrowed (mmap-style) weights, in-place rmsnorm,
 * GELU where 1 + tanh cancels, top-k with real ties, more than 4096 active
 * features, and k up to the SAE width.
 *
 * SAEX_TEST_QUICK=1 skips (visibly) the cases that take seconds natively and
 * minutes under emulation (tests/e2e_install.sh runs the suite in QEMU). */
#include "backend/backend.h"
#include "backend/cpu_kernels.h"
#include "error.h"
#include "naive_ref.h"
#include "test.h"
#include <stdint.h>

/* ---------------------------------------------------------------- targets */

typedef struct {
    const char *label;   /* "cpu-v3", "cpu-v4", "cuda" */
    backend *be;         /* NULL: absent, see skip */
    char skip[200];
} target;

static target g_targets[3];
static int g_n_targets;
static backend *B;       /* the backend the running case tests */
static const char *g_skip_reason;

static void open_cpu(target *t, const char *label, const char *isa) {
    t->label = label;
    setenv("SAEX_CPU_ISA", isa, 1);
    if (strcmp(isa, "v4") == 0 && !cpu_has_v4()) {
        snprintf(t->skip, sizeof t->skip, "this CPU has no AVX-512 (x86-64-v4)");
    } else if (backend_cpu_create(2, &t->be) != SAEX_OK) {
        snprintf(t->skip, sizeof t->skip, "backend_cpu_create failed: %s", saex_last_error());
        t->be = NULL;
    }
    unsetenv("SAEX_CPU_ISA");
}

static void open_targets(void) {
    open_cpu(&g_targets[0], "cpu-v3", "v3");
    open_cpu(&g_targets[1], "cpu-v4", "v4");
    target *c = &g_targets[2];
    c->label = "cuda";
    if (!backend_cuda_available())
        snprintf(c->skip, sizeof c->skip, "no GPU (backend_cuda_available() = 0)");
    else if (backend_cuda_create(0, &c->be) != SAEX_OK)
        snprintf(c->skip, sizeof c->skip, "backend_cuda_create failed: %s", saex_last_error()), c->be = NULL;
    g_n_targets = 3;
}

static void skip_case(void) { SKIP("%s", g_skip_reason); }

static int quick(void) {
    const char *q = getenv("SAEX_TEST_QUICK");
    return q && *q && strcmp(q, "0") != 0;
}
#define NOT_QUICK()                                          \
    do {                                                     \
        if (quick()) SKIP("SAEX_TEST_QUICK: a slow case");   \
    } while (0)

/* Runs one case on every target. */
static void run_all(const char *name, void (*fn)(void)) {
    for (int i = 0; i < g_n_targets; i++) {
        char full[128];
        snprintf(full, sizeof full, "%s[%s]", name, g_targets[i].label);
        B = g_targets[i].be;
        g_skip_reason = g_targets[i].skip;
        t_run(full, B ? fn : skip_case);
    }
    B = NULL;
}
#define RUN_ALL(fn) run_all(#fn, fn)

/* ------------------------------------------------------------ test data */

static uint32_t rng_state = 12345u;
static float frand(void) { /* uniform [-1, 1) */
    rng_state = rng_state * 1664525u + 1013904223u;
    return (float)((rng_state >> 8) & 0xffffff) / 8388608.0f - 1.0f;
}
static int irand(int n) {
    rng_state = rng_state * 1664525u + 1013904223u;
    return (int)((rng_state >> 8) % (uint32_t)n);
}

static uint16_t bf16_bits(float f) { /* f must be a bf16 value already */
    uint32_t u;
    memcpy(&u, &f, 4);
    return (uint16_t)(u >> 16);
}
/* f16 bits of a value f16 holds exactly: 0 or a normal number */
static uint16_t f16_bits(float f) {
    if (f == 0.0f) return 0;
    uint32_t u;
    memcpy(&u, &f, 4);
    uint32_t sign = (u >> 16) & 0x8000u;
    int e = (int)((u >> 23) & 0xff) - 127 + 15;
    return (uint16_t)(sign | ((uint32_t)e << 10) | ((u >> 13) & 0x3ffu));
}

/* ------------------------------------------------------- device helpers */

static void *dev_from(const void *host, size_t bytes) {
    void *d = NULL;
    if (B->alloc(B, bytes, &d) || B->upload(B, d, host, bytes)) return NULL;
    return d;
}
static void *dev_alloc(size_t bytes) {
    void *d = NULL;
    return B->alloc(B, bytes, &d) == SAEX_OK ? d : NULL;
}
static int fetch(void *host, const void *dev, size_t bytes) { return B->download(B, host, dev, bytes) == SAEX_OK; }

/* max |got - want| / (|want| + floor) (relative above floor, absolute
 * below) < tol; otherwise prints the worst element and returns 0. */
static int close_enough(const float *got, const double *want, int64_t n, double floor_, double tol) {
    double worst = 0;
    int64_t at = -1;
    for (int64_t i = 0; i < n; i++) {
        double e = fabs(got[i] - want[i]) / (fabs(want[i]) + floor_);
        if (!(e <= worst)) worst = e, at = i; /* NaN sticks */
    }
    if (worst < tol) return 1;
    fprintf(stderr, "  max error %.3g (tolerance %.3g) at element %lld: %.9g, want %.9g\n", worst, tol, (long long)at,
            at >= 0 ? got[at] : 0.0, at >= 0 ? want[at] : 0.0);
    return 0;
}
#define CHECK_CLOSE(got, want, n, floor_, tol, ...) CHECK(close_enough(got, want, n, floor_, tol), __VA_ARGS__)

/* ---------------------------------------------------------------- memory */

static void memory_roundtrip(void) {
    /* 40 MB: more than one CUDA staging buffer (32 MB) each way */
    size_t n = quick() ? 2u << 20 : 10u << 20;
    float *h = malloc(n * 4), *back = malloc(n * 4);
    REQUIRE(h && back, "oom");
    for (size_t i = 0; i < n; i++) h[i] = (float)i * 0.5f - 7.0f;
    float *d = dev_from(h, n * 4);
    REQUIRE(d, "upload: %s", saex_last_error());
    memset(back, 0, n * 4);
    REQUIRE(fetch(back, d, n * 4), "download: %s", saex_last_error());
    CHECK(memcmp(h, back, n * 4) == 0, "roundtrip differs");
    /* a window in the middle, both ways */
    float mid[100];
    for (int i = 0; i < 100; i++) mid[i] = -(float)i;
    size_t at = n / 2;
    REQUIRE(B->upload(B, d + at, mid, sizeof mid) == SAEX_OK, "%s", saex_last_error());
    REQUIRE(fetch(back, d + at - 1, 102 * 4), "%s", saex_last_error());
    CHECK(back[0] == h[at - 1] && back[1] == 0.0f && back[100] == -99.0f && back[101] == h[at + 100], "window");
    CHECK(B->sync(B) == SAEX_OK, "sync: %s", saex_last_error());
    B->free(B, d);
    void *z = NULL;
    CHECK(B->alloc(B, 0, &z) == SAEX_OK, "alloc(0): %s", saex_last_error());
    B->free(B, z);
    free(h), free(back);
}

/* ---------------------------------------------------------------- matmul */

/* W = [bf16 part; f32 part; f16 part] with k = 100, m rows of x. The
 * reference rounds what the backend rounds for a bf16 matmul: x and the
 * f32 part to bf16. */
static void matmul_mixed(be_dtype compute, int M) {
    enum { K = 100, N1 = 40, N2 = 24, N3 = 8, N = N1 + N2 + N3 };
    uint16_t *w1 = malloc(sizeof(uint16_t) * N1 * K), *w3 = malloc(sizeof(uint16_t) * N3 * K);
    float *w2 = malloc(sizeof(float) * N2 * K), *x = malloc(sizeof(float) * (M + 1) * K), *y = malloc(sizeof(float) * (M + 1) * N);
    double *wf = malloc(sizeof(double) * N * K), *xf = malloc(sizeof(double) * (M + 1) * K), *want = malloc(sizeof(double) * (M + 1) * N);
    REQUIRE(w1 && w3 && w2 && x && y && wf && xf && want, "oom");
    for (int i = 0; i < N1 * K; i++) {
        w1[i] = bf16_bits(ref_round_bf16(frand()));
        wf[i] = ref_bf16_to_double(w1[i]);
    }
    for (int i = 0; i < N2 * K; i++) {
        w2[i] = frand();
        wf[N1 * K + i] = compute == BE_BF16 ? ref_round_bf16(w2[i]) : w2[i];
    }
    for (int i = 0; i < N3 * K; i++) {
        float v = (float)(irand(129) - 64) / 64.0f; /* exact in f16 and bf16 */
        w3[i] = f16_bits(v);
        wf[(N1 + N2) * K + i] = ref_f16_to_double(w3[i]);
    }
    for (int i = 0; i < M * K; i++) {
        x[i] = frand() * 3.0f;
        xf[i] = compute == BE_BF16 ? ref_round_bf16(x[i]) : x[i];
    }
    ref_matmul(xf, wf, M, K, N, want);
    be_part parts[3] = {{w1, BE_BF16, N1}, {w2, BE_F32, N2}, {w3, BE_F16, N3}};
    be_weight *w = NULL;
    REQUIRE(B->weight_create(B, parts, 3, K, compute, &w) == SAEX_OK, "weight_create: %s", saex_last_error());
    /* the weight is the backend's own now: the parts may go */
    memset(w1, 0, sizeof(uint16_t) * N1 * K), memset(w2, 0, sizeof(float) * N2 * K), memset(w3, 0, sizeof(uint16_t) * N3 * K);
    float *dx = dev_from(x, sizeof(float) * M * K), *dy = dev_alloc(sizeof(float) * M * N);
    REQUIRE(dx && dy, "alloc: %s", saex_last_error());
    REQUIRE(B->matmul(B, w, dx, M, dy) == SAEX_OK, "matmul: %s", saex_last_error());
    REQUIRE(fetch(y, dy, sizeof(float) * M * N), "download: %s", saex_last_error());
    CHECK_CLOSE(y, want, (int64_t)M * N, 1.0, 2e-5, "compute %s, m %d", compute == BE_BF16 ? "bf16" : "f32", M);
    CHECK(B->matmul(B, w, dx, 0, dy) == SAEX_OK, "m = 0: %s", saex_last_error());
    B->weight_free(B, w);
    B->free(B, dx), B->free(B, dy);
    free(w1), free(w3), free(w2), free(x), free(y), free(wf), free(xf), free(want);
}
static void matmul_f32(void) {
    matmul_mixed(BE_F32, 37);
    matmul_mixed(BE_F32, 1);
}
static void matmul_bf16(void) {
    matmul_mixed(BE_BF16, 37);
    matmul_mixed(BE_BF16, 1);
}

/* Parts in the compute dtype: the CPU backend runs them in place, one
 * matmul per part into its columns of y; the source must stay. */
static void matmul_parts_in_place(be_dtype dt) {
    enum { M = 19, K = 64, N1 = 48, N2 = 16, N = N1 + N2 };
    static float xs[M * K], y[M * N], wf32[N * K];
    static uint16_t wbf[N * K];
    static double wf[N * K], xf[M * K], want[M * N];
    for (int i = 0; i < N * K; i++) {
        float v = ref_round_bf16(frand());
        wf32[i] = v, wbf[i] = bf16_bits(v), wf[i] = v;
    }
    for (int i = 0; i < M * K; i++) xs[i] = frand(), xf[i] = dt == BE_BF16 ? ref_round_bf16(xs[i]) : xs[i];
    ref_matmul(xf, wf, M, K, N, want);
    const void *base = dt == BE_BF16 ? (const void *)wbf : (const void *)wf32;
    size_t es = dt == BE_BF16 ? 2 : 4;
    be_part parts[2] = {{base, dt, N1}, {(const char *)base + (size_t)N1 * K * es, dt, N2}};
    be_weight *w = NULL;
    REQUIRE(B->weight_create(B, parts, 2, K, dt, &w) == SAEX_OK, "weight_create: %s", saex_last_error());
    float *dx = dev_from(xs, sizeof xs), *dy = dev_alloc(sizeof y);
    REQUIRE(dx && dy, "alloc");
    REQUIRE(B->matmul(B, w, dx, M, dy) == SAEX_OK, "matmul: %s", saex_last_error());
    REQUIRE(fetch(y, dy, sizeof y), "download");
    CHECK_CLOSE(y, want, M * N, 1.0, 2e-5, "%s parts", dt == BE_BF16 ? "bf16" : "f32");
    B->weight_free(B, w);
    B->free(B, dx), B->free(B, dy);
}
static void matmul_in_place_parts(void) {
    matmul_parts_in_place(BE_BF16);
    matmul_parts_in_place(BE_F32);
}

/* ----------------------------------------------------------------- embed */

static void embed_case(be_dtype dt) {
    enum { R = 50, C = 300, T = 6 };
    static uint16_t t16[R * C];
    static float t32[R * C], x[T * C];
    int32_t ids[T] = {7, 0, 49, 7, 13, 2};
    for (int i = 0; i < R * C; i++) {
        float v = (float)(irand(257) - 128) / 32.0f; /* exact in bf16 and f16 */
        t32[i] = v, t16[i] = dt == BE_F16 ? f16_bits(v) : bf16_bits(v);
    }
    be_weight *t = NULL;
    REQUIRE(B->table_create(B, dt == BE_F32 ? (const void *)t32 : (const void *)t16, dt, R, C, &t) == SAEX_OK,
            "table_create: %s", saex_last_error());
    int32_t *dids = dev_from(ids, sizeof ids);
    float *dx = dev_alloc(sizeof x);
    REQUIRE(dids && dx, "alloc");
    REQUIRE(B->embed(B, t, dids, T, 1.75f, dx) == SAEX_OK, "embed: %s", saex_last_error());
    REQUIRE(fetch(x, dx, sizeof x), "download");
    int bad = 0;
    for (int i = 0; i < T; i++)
        for (int c = 0; c < C; c++) bad += x[i * C + c] != t32[ids[i] * C + c] * 1.75f;
    CHECK(bad == 0, "%d elements differ (dtype %d)", bad, (int)dt);
    B->weight_free(B, t);
    B->free(B, dids), B->free(B, dx);
}
static void embed(void) {
    embed_case(BE_BF16);
    embed_case(BE_F32);
    embed_case(BE_F16);
}

/* --------------------------------------------------------------- rmsnorm */

static void rmsnorm(void) {
    enum { M = 5, D = 300 };
    static float x[M * D], w[D], res[M * D], y[M * D];
    static double want[M * D], want_acc[M * D];
    for (int i = 0; i < M * D; i++) x[i] = frand() * (1 + i % 7), res[i] = frand();
    for (int i = 0; i < D; i++) w[i] = frand() * 0.5f;
    ref_rmsnorm(x, w, M, D, 1e-6, want);
    for (int i = 0; i < M * D; i++) want_acc[i] = want[i] + res[i];
    float *dx = dev_from(x, sizeof x), *dw = dev_from(w, sizeof w), *dres = dev_from(res, sizeof res), *dy = dev_alloc(sizeof y);
    REQUIRE(dx && dw && dres && dy, "alloc");
    REQUIRE(B->rmsnorm(B, dx, dw, M, D, 1e-6f, dy, 0) == SAEX_OK, "rmsnorm: %s", saex_last_error());
    REQUIRE(fetch(y, dy, sizeof y), "download");
    CHECK_CLOSE(y, want, M * D, 1e-3, 1e-5, "plain");
    REQUIRE(B->rmsnorm(B, dx, dw, M, D, 1e-6f, dres, 1) == SAEX_OK, "accumulate: %s", saex_last_error());
    REQUIRE(fetch(y, dres, sizeof y), "download");
    CHECK_CLOSE(y, want_acc, M * D, 1e-2, 1e-5, "accumulate (out += y)");
    REQUIRE(B->rmsnorm(B, dx, dw, M, D, 1e-6f, dx, 0) == SAEX_OK, "in place: %s", saex_last_error());
    REQUIRE(fetch(y, dx, sizeof y), "download");
    CHECK_CLOSE(y, want, M * D, 1e-3, 1e-5, "in place");
    B->free(B, dx), B->free(B, dw), B->free(B, dres), B->free(B, dy);
}

/* ------------------------------------------------------------------ rope */

static void rope_case(int nh, int nkv, int hd, float theta) {
    enum { M = 6 };
    int W = (nh + 2 * nkv) * hd;
    int32_t pos[M] = {0, 1, 2, 3, 100, 5000};
    float *qkv = malloc(sizeof(float) * M * W), *got = malloc(sizeof(float) * M * W);
    double *want = malloc(sizeof(double) * M * W);
    REQUIRE(qkv && got && want, "oom");
    for (int i = 0; i < M * W; i++) qkv[i] = frand();
    ref_rope(qkv, pos, M, nh, nkv, hd, theta, want);
    float *d = dev_from(qkv, sizeof(float) * M * W);
    int32_t *dp = dev_from(pos, sizeof pos);
    REQUIRE(d && dp, "alloc");
    REQUIRE(B->rope(B, d, dp, M, nh, nkv, hd, theta) == SAEX_OK, "rope: %s", saex_last_error());
    REQUIRE(fetch(got, d, sizeof(float) * M * W), "download");
    int bad = 0;
    for (int r = 0; r < M; r++)
        for (int i = 0; i < W; i++) {
            /* HF computes 1/theta^(2i/hd) in f32: 1 ulp of it turns a large
             * angle by about pos * 6e-8 radians */
            double tol = 2e-6 + 2e-7 * pos[r];
            if (!(fabs(got[r * W + i] - want[r * W + i]) <= tol) && bad++ < 5)
                fprintf(stderr, "  hd %d row %d col %d: %g vs %g\n", hd, r, i, got[r * W + i], want[r * W + i]);
        }
    CHECK(bad == 0, "hd %d: %d elements off", hd, bad);
    B->free(B, d), B->free(B, dp);
    free(qkv), free(got), free(want);
}
static void rope(void) {
    rope_case(4, 2, 16, 10000.0f);
    rope_case(2, 1, 256, 10000.0f);
    rope_case(3, 3, 64, 500000.0f);
}

/* ------------------------------------------------------------- attention */

static void attention_case(const int *lens, int ns, int nh, int nkv, int hd, int window, float cap, float qscale) {
    int ss[17];
    ss[0] = 0;
    for (int s = 0; s < ns; s++) ss[s + 1] = ss[s] + lens[s];
    int m = ss[ns], ld = (nh + 2 * nkv) * hd;
    float *qkv = malloc(sizeof(float) * m * ld), *got = malloc(sizeof(float) * m * nh * hd);
    double *want = malloc(sizeof(double) * m * nh * hd);
    REQUIRE(qkv && got && want, "oom");
    for (int i = 0; i < m * ld; i++) qkv[i] = frand() * qscale;
    be_attn_params p = {nh, nkv, hd, 1.0f / sqrtf((float)hd), cap, window};
    ref_attention(qkv, ss, ns, &p, want);
    float *dq = dev_from(qkv, sizeof(float) * m * ld), *dout = dev_alloc(sizeof(float) * m * nh * hd);
    REQUIRE(dq && dout, "alloc");
    REQUIRE(B->attention(B, dq, ss, ns, &p, dout) == SAEX_OK, "attention: %s", saex_last_error());
    REQUIRE(fetch(got, dout, sizeof(float) * m * nh * hd), "download: %s", saex_last_error());
    /* absolute: outputs are averages of values of size ~qscale */
    CHECK_CLOSE(got, want, (int64_t)m * nh * hd, 1.0, 2e-5, "heads %d/%d hd %d window %d cap %g", nh, nkv, hd, window, cap);
    B->free(B, dq), B->free(B, dout);
    free(qkv), free(got), free(want);
}

static void attention_window_softcap(void) {
    int lens[] = {1, 37, 70, 16};
    attention_case(lens, 4, 4, 2, 48, 20, 5.0f, 3.0f); /* hd a multiple of 16, not of 32; GQA 2:1 */
}
static void attention_full_mqa_hd256(void) {
    NOT_QUICK();
    int lens[] = {33, 17, 100};
    attention_case(lens, 3, 4, 1, 256, 0, 0.0f, 1.0f); /* Gemma-2 head_dim, one kv head */
}
static void attention_gemma_like(void) {
    NOT_QUICK();
    int lens[] = {129, 3};
    attention_case(lens, 2, 8, 4, 256, 64, 50.0f, 2.0f); /* softcap 50, window shorter than the sequence */
}
static void attention_single_tokens(void) {
    int lens[] = {1, 1, 1, 2, 1};
    attention_case(lens, 5, 2, 2, 16, 0, 0.0f, 1.0f);
    int one[] = {1};
    attention_case(one, 1, 2, 1, 32, 1, 30.0f, 1.0f); /* window 1: each token sees itself only */
}
static void attention_many_sequences(void) {
    int lens[16];
    for (int i = 0; i < 16; i++) lens[i] = 1 + irand(40);
    attention_case(lens, 16, 6, 2, 32, 8, 0.0f, 2.0f);
}
static void attention_head_dim_40(void) {
    /* The CUDA kernel takes any head_dim <= 256; the CPU one multiples of 16
     * and says so. Gemma-2 uses 256 (and 128 for 27b). */
    int lens[] = {1, 37, 70, 16};
    if (strcmp(B->name, "cpu") == 0) {
        int ss[2] = {0, 4};
        be_attn_params p = {4, 2, 40, 0.25f, 0, 0};
        CHECK(B->attention(B, NULL, ss, 1, &p, NULL) == SAEX_ERR_UNSUPPORTED, "head_dim 40 accepted");
        CHECK(strstr(saex_last_error(), "head_dim 40"), "message: %s", saex_last_error());
        return;
    }
    attention_case(lens, 4, 4, 2, 40, 20, 5.0f, 3.0f);
}
static void attention_bad_args(void) {
    int ss[2] = {0, 4};
    be_attn_params p = {4, 3, 16, 0.25f, 0, 0};
    CHECK(B->attention(B, NULL, ss, 1, &p, NULL) == SAEX_ERR_ARG, "4 heads / 3 kv heads accepted");
    CHECK(strstr(saex_last_error(), "attention"), "message: %s", saex_last_error());
    be_attn_params q = {4, 2, 512, 0.25f, 0, 0};
    saex_status st = B->attention(B, NULL, ss, 1, &q, NULL);
    CHECK(st == SAEX_ERR_ARG || st == SAEX_ERR_UNSUPPORTED, "head_dim 512 accepted");
}

/* ----------------------------------------------------------------- geglu */

static void geglu(void) {
    enum { M = 3, F = 1000 };
    static float gu[M * 2 * F], out[M * F];
    static double want[M * F];
    for (int i = 0; i < M * 2 * F; i++) gu[i] = frand() * 6;
    /* the left tail, where 0.5 x (1 + tanh(u)) loses every digit in f32 */
    for (int c = 0; c < 200; c++) gu[c] = -3.0f - 7.0f * (float)c / 200.0f;
    ref_geglu(gu, M, F, want);
    float *dg = dev_from(gu, sizeof gu), *dout = dev_alloc(sizeof out);
    REQUIRE(dg && dout, "alloc");
    REQUIRE(B->geglu(B, dg, M, F, dout) == SAEX_OK, "geglu: %s", saex_last_error());
    REQUIRE(fetch(out, dout, sizeof out), "download");
    CHECK_CLOSE(out, want, M * F, 1e-20, 1e-5, "relative, x in [-10, 6]");
    B->free(B, dg), B->free(B, dout);
}

/* ----------------------------------------------------------- gather_rows */

static void gather_rows(void) {
    enum { R = 9, D = 333 };
    static float src[R * D], got[4 * D];
    for (int i = 0; i < R * D; i++) src[i] = (float)i;
    int64_t rows[4] = {2, 0, 8, 2};
    float *ds = dev_from(src, sizeof src), *dd = dev_alloc(sizeof got);
    REQUIRE(ds && dd, "alloc");
    REQUIRE(B->gather_rows(B, ds, D, rows, 4, dd) == SAEX_OK, "gather: %s", saex_last_error());
    REQUIRE(fetch(got, dd, sizeof got), "download");
    int bad = 0;
    for (int i = 0; i < 4; i++)
        for (int c = 0; c < D; c++) bad += got[i * D + c] != src[rows[i] * D + c];
    CHECK(bad == 0, "%d differ", bad);
    B->free(B, ds), B->free(B, dd);
}

/* --------------------------------------------------------------- SAE top-k */

/* Values that f32 sums exactly (multiples of 1/64), so ties are real and
 * the comparison with the reference is exact. bias shifts how many fire. */
static void sae_case(int64_t d, int64_t s, int n, int k, float bias, const char *what) {
    rng_state = (uint32_t)(d * 7919 + s * 31 + k); /* the same data whatever ran before */
    float *W = malloc(sizeof(float) * d * s), *b = malloc(sizeof(float) * s), *thr = malloc(sizeof(float) * s);
    float *x = malloc(sizeof(float) * n * d), *vals = malloc(sizeof(float) * n * k);
    int32_t *ids = malloc(sizeof(int32_t) * n * k), *nact = malloc(sizeof(int32_t) * n), *wid = malloc(sizeof(int32_t) * k);
    double *wv = malloc(sizeof(double) * k);
    REQUIRE(W && b && thr && x && vals && ids && nact && wid && wv, "oom");
    for (int64_t i = 0; i < d * s; i++) W[i] = (float)(irand(9) - 4) / 8.0f;
    for (int64_t j = 0; j < s; j++) {
        b[j] = bias + (float)(irand(65) - 32) / 64.0f;
        thr[j] = (float)irand(64) / 16.0f; /* often equal to pre: tests the strict > */
    }
    /* features 5 and 9 identical: a tie that 5 must win */
    for (int64_t i = 0; i < d; i++) W[i * s + 9] = W[i * s + 5];
    b[9] = b[5], thr[9] = thr[5];
    for (int64_t i = 0; i < n * d; i++) x[i] = (float)(irand(9) - 4) / 8.0f;
    for (int64_t i = 0; i < d; i++) x[(n - 1) * d + i] = 0.0f; /* last row: the biases alone */
    be_sae *e = NULL;
    REQUIRE(B->sae_create(B, W, b, thr, d, s, &e) == SAEX_OK, "sae_create: %s", saex_last_error());
    float *dx = dev_from(x, sizeof(float) * n * d);
    REQUIRE(dx, "upload");
    REQUIRE(B->sae_topk(B, e, dx, n, k, ids, vals, nact) == SAEX_OK, "%s: sae_topk: %s", what, saex_last_error());
    int bad = 0;
    int64_t total_active = 0;
    for (int r = 0; r < n; r++) {
        int64_t active = ref_sae_topk_row(x + (int64_t)r * d, W, b, thr, d, s, k, wid, wv);
        total_active += active;
        if (nact[r] != active && bad++ < 5) fprintf(stderr, "  %s row %d: n_active %d vs %lld\n", what, r, nact[r], (long long)active);
        for (int i = 0; i < k; i++)
            if ((ids[(int64_t)r * k + i] != wid[i] || vals[(int64_t)r * k + i] != wv[i]) && bad++ < 5)
                fprintf(stderr, "  %s row %d rank %d: (%d, %g) vs (%d, %g)\n", what, r, i, ids[(int64_t)r * k + i],
                        vals[(int64_t)r * k + i], wid[i], wv[i]);
    }
    CHECK(bad == 0, "%s: %d mismatches", what, bad);
    CHECK(total_active > 0, "%s: nothing fired: the case tests nothing", what);
    B->sae_free(B, e);
    B->free(B, dx);
    free(W), free(b), free(thr), free(x), free(vals), free(ids), free(nact), free(wid), free(wv);
}

static void sae_topk_sparse(void) {
    sae_case(64, 3000, 7, 50, 0.0f, "sparse");   /* tens to hundreds active, as real SAEs */
    sae_case(16, 700, 3, 1, 0.0f, "k=1");
}
static void sae_topk_dense(void) {
    sae_case(32, 9000, 3, 1024, 8.0f, "dense");  /* > 4096 active */
    sae_case(32, 9000, 2, 7, 8.0f, "dense, small k");
}
static void sae_topk_k_is_width(void) {
    sae_case(16, 700, 3, 700, 0.0f, "k = width, fewer active");
    NOT_QUICK();
    sae_case(8, 16384, 3, 16384, 8.0f, "k = width 16k, dense");
    sae_case(8, 16384, 2, 5000, 8.0f, "k = 5000 of 16k");
}
static void sae_topk_width_131k(void) {
    NOT_QUICK();
    sae_case(8, 131072, 2, 131072, 8.0f, "k = width 131k");
    sae_case(8, 131072, 2, 100, 0.0f, "k = 100 of 131k");
}
static void sae_topk_bad_k(void) {
    float W[4] = {1, 1, 1, 1}, b[4] = {0}, thr[4] = {0}, x[1] = {1};
    be_sae *e = NULL;
    REQUIRE(B->sae_create(B, W, b, thr, 1, 4, &e) == SAEX_OK, "%s", saex_last_error());
    float *dx = dev_from(x, sizeof x);
    int32_t ids[1], na[1];
    float vals[1];
    CHECK(B->sae_topk(B, e, dx, 1, 0, ids, vals, na) == SAEX_ERR_ARG, "k = 0 accepted");
    CHECK(strstr(saex_last_error(), "k = 0"), "message: %s", saex_last_error());
    CHECK(B->sae_topk(B, e, dx, 0, 1, ids, vals, na) == SAEX_OK, "n = 0: %s", saex_last_error());
    B->sae_free(B, e);
    B->free(B, dx);
}

/* --------------------------------------------------- not per target */

static void cuda_create_is_clean(void) {
    int avail = backend_cuda_available();
    CHECK(avail == 0 || avail == 1, "available() = %d", avail);
    backend *b = (backend *)1;
    saex_clear_error();
    if (avail) {
        CHECK(backend_cuda_create(1 << 20, &b) == SAEX_ERR_ARG && b == NULL, "device 1<<20 accepted");
        return;
    }
    saex_status st = backend_cuda_create(0, &b);
    CHECK(st == SAEX_ERR_UNSUPPORTED, "status %d (%s)", st, saex_last_error());
    CHECK(b == NULL, "out not cleared");
    CHECK(strstr(saex_last_error(), "CUDA") || strstr(saex_last_error(), "cuda"), "message: %s", saex_last_error());
    printf("     (no GPU here: \"%s\")\n", saex_last_error());
}

static void cpu_isa_choice(void) {
    const cpu_kernels *k = NULL;
    int v4 = cpu_has_v4();
    unsetenv("SAEX_CPU_ISA");
    REQUIRE_OK(cpu_kernels_pick(&k));
    CHECK(k == (v4 ? &cpu_kernels_v4 : &cpu_kernels_v3), "auto picked %s on a CPU %s AVX-512", k->isa, v4 ? "with" : "without");
    printf("     (auto: %s)\n", k->isa);
    setenv("SAEX_CPU_ISA", "v3", 1);
    REQUIRE_OK(cpu_kernels_pick(&k));
    CHECK(k == &cpu_kernels_v3 && strcmp(k->isa, "x86-64-v3") == 0, "v3: %s", k->isa);
    setenv("SAEX_CPU_ISA", "v4", 1);
    saex_status st = cpu_kernels_pick(&k);
    CHECK(v4 ? st == SAEX_OK && k == &cpu_kernels_v4 : st == SAEX_ERR_UNSUPPORTED, "v4 forced: status %d", st);
    setenv("SAEX_CPU_ISA", "avx9", 1);
    CHECK(cpu_kernels_pick(&k) == SAEX_ERR_ARG, "bad value accepted");
    CHECK(strstr(saex_last_error(), "SAEX_CPU_ISA=\"avx9\""), "message: %s", saex_last_error());
    backend *b = NULL;
    CHECK(backend_cpu_create(1, &b) == SAEX_ERR_ARG && b == NULL, "backend created with a bad SAEX_CPU_ISA");
    unsetenv("SAEX_CPU_ISA");
}

/* The two CPU kernel tables on the same data: attention and GeGLU agree to
 * rounding, bf16 rounding bit for bit. */
static void cpu_isa_paths_agree(void) {
    if (!cpu_has_v4()) SKIP("this CPU has no AVX-512 (x86-64-v4)");
    enum { F = 4099, NR = 100003 };
    static float gu[2 * F], o3[F], o4[F], xr[NR];
    static uint16_t r3[NR], r4[NR];
    for (int i = 0; i < 2 * F; i++) gu[i] = frand() * 8;
    cpu_kernels_v3.geglu(gu, 1, F, o3);
    cpu_kernels_v4.geglu(gu, 1, F, o4);
    double worst_g = 0, worst = 0;
    for (int i = 0; i < F; i++) worst_g = fmax(worst_g, fabs(o3[i] - o4[i]) / (fabs(o3[i]) + 1e-6));
    CHECK(worst_g < 1e-6, "geglu v3 vs v4: %.3g", worst_g);
    for (int i = 0; i < NR; i++) {
        uint32_t u = (uint32_t)irand(1 << 30) * 4u + (uint32_t)irand(4);
        memcpy(&xr[i], &u, 4);
        if (isnan(xr[i])) xr[i] = 1.0f;
    }
    cpu_kernels_v3.round_bf16(xr, NR, r3);
    cpu_kernels_v4.round_bf16(xr, NR, r4);
    CHECK(memcmp(r3, r4, sizeof r3) == 0, "bf16 rounding differs between v3 and v4");
    int ss[4] = {0, 1, 38, 108}, nh = 4, nkv = 2, hd = 64, ld = (nh + 2 * nkv) * hd;
    float *qkv = malloc(sizeof(float) * 108 * ld), *a3 = malloc(sizeof(float) * 108 * nh * hd), *a4 = malloc(sizeof(float) * 108 * nh * hd);
    REQUIRE(qkv && a3 && a4, "oom");
    for (int i = 0; i < 108 * ld; i++) qkv[i] = frand() * 2;
    be_attn_params p = {nh, nkv, hd, 0.125f, 30.0f, 16};
    cpu_attn_scratch s3 = {0}, s4 = {0};
    REQUIRE_OK(cpu_kernels_v3.attention(qkv, ss, 3, &p, a3, &s3));
    REQUIRE_OK(cpu_kernels_v4.attention(qkv, ss, 3, &p, a4, &s4));
    for (int i = 0; i < 108 * nh * hd; i++) worst = fmax(worst, fabs(a3[i] - a4[i]));
    CHECK(worst < 1e-6, "attention v3 vs v4: max abs difference %.3g", worst);
    printf("     (v3 vs v4: attention %.2g abs, GeGLU %.2g rel, bf16 rounding identical)\n", worst, worst_g);
    cpu_attention_free(&s3), cpu_attention_free(&s4);
    free(qkv), free(a3), free(a4);
}

int main(void) {
    open_targets();
    RUN(cuda_create_is_clean);
    RUN(cpu_isa_choice);
    RUN(cpu_isa_paths_agree);
    RUN_ALL(memory_roundtrip);
    RUN_ALL(matmul_f32);
    RUN_ALL(matmul_bf16);
    RUN_ALL(matmul_in_place_parts);
    RUN_ALL(embed);
    RUN_ALL(rmsnorm);
    RUN_ALL(rope);
    RUN_ALL(attention_window_softcap);
    RUN_ALL(attention_full_mqa_hd256);
    RUN_ALL(attention_gemma_like);
    RUN_ALL(attention_single_tokens);
    RUN_ALL(attention_many_sequences);
    RUN_ALL(attention_head_dim_40);
    RUN_ALL(attention_bad_args);
    RUN_ALL(geglu);
    RUN_ALL(gather_rows);
    RUN_ALL(sae_topk_sparse);
    RUN_ALL(sae_topk_dense);
    RUN_ALL(sae_topk_k_is_width);
    RUN_ALL(sae_topk_width_131k);
    RUN_ALL(sae_topk_bad_k);
    for (int i = 0; i < g_n_targets; i++)
        if (g_targets[i].be) g_targets[i].be->destroy(g_targets[i].be);
    TEST_MAIN_END();
}
