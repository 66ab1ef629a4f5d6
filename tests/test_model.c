/* test_model.c — the Gemma-2 forward pass and the SAE against reference
 * tensors that tools/make_fixtures.py wrote with HF transformers (eager)
 * and SAELens. Tolerances:
 *   f32 mode: ||ours - ref|| / ||ref|| <= 1e-4 per sequence and layer;
 *   default (bf16) mode vs HF in bf16: reported, and bounded by 3e-2;
 *   packed batch vs one-at-a-time: <= 1e-5 relative;
 *   SAE pre-activations: <= 1e-4 relative; top-k sets equal except where
 *   two activations are within 1e-5.
 *
 * The cases that run the model run once per device: the CPU with each of
 * its kernel sets (SAEX_CPU_ISA=v3, and v4 where the CPU has AVX-512) and
 * CUDA where a GPU is visible; an absent one prints SKIP lines.
 * SAEX_TEST_DEVICE=cpu or cuda runs that device only (cuda then fails
 * when no GPU is usable, rather than skipping). */
#include "backend/backend.h"
#include "backend/cpu_kernels.h"
#include "safetensors.h"
#include "saex.h"
#include "test.h"
#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_SEQS 16

typedef struct {
    char dir[512];
    st_set *ref;
    int n_seqs;
    int32_t *ids[MAX_SEQS];
    int lens[MAX_SEQS];
} fixture;

static int load_fixture(const char *name, const char *reffile, fixture *f) {
    memset(f, 0, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "%s/%s", t_fixtures(), name);
    char p[600];
    snprintf(p, sizeof p, "%s/%s", f->dir, reffile);
    if (st_open(p, &f->ref)) {
        fprintf(stderr, "  cannot open %s: %s\n", p, saex_last_error());
        return 0;
    }
    for (int i = 0; i < MAX_SEQS; i++) {
        char n[64];
        snprintf(n, sizeof n, "seq%d.ids", i);
        const st_tensor *t = st_find(f->ref, n);
        if (!t) break;
        f->ids[i] = (int32_t *)t->data;
        f->lens[i] = (int)t->numel;
        f->n_seqs = i + 1;
    }
    return f->n_seqs > 0;
}

static const st_tensor *ref_tensor(const fixture *f, const char *fmt, int seq, int layer) {
    char n[128];
    snprintf(n, sizeof n, fmt, seq, layer);
    return st_find(f->ref, n);
}

static double rel_err(const float *a, const float *b, int64_t n) {
    double num = 0, den = 0;
    for (int64_t i = 0; i < n; i++) {
        double d = (double)a[i] - b[i];
        num += d * d;
        den += (double)b[i] * b[i];
    }
    return den > 0 ? sqrt(num / den) : sqrt(num);
}

/* ------------------------------------------------------------- devices */

typedef struct {
    const char *label;
    saex_device device;
    const char *cpu_isa; /* SAEX_CPU_ISA for the CPU */
    const char *skip;    /* why this device is not run; NULL: run */
} test_device;

static test_device g_devices[3];
static const test_device *g_dev; /* the one the running case uses */

static void pick_devices(void) {
    const char *only = getenv("SAEX_TEST_DEVICE");
    int cpu = !only || !*only || strcmp(only, "cpu") == 0, cuda = !only || !*only || strcmp(only, "cuda") == 0;
    if (!cpu && !cuda) fprintf(stderr, "SAEX_TEST_DEVICE=\"%s\": expected cpu or cuda\n", only);
    g_devices[0] = (test_device){"cpu-v3", SAEX_DEVICE_CPU, "v3", cpu ? NULL : "SAEX_TEST_DEVICE=cuda"};
    g_devices[1] = (test_device){"cpu-v4", SAEX_DEVICE_CPU, "v4",
                                 !cpu ? "SAEX_TEST_DEVICE=cuda" : cpu_has_v4() ? NULL : "this CPU has no AVX-512"};
    g_devices[2] = (test_device){"cuda", SAEX_DEVICE_CUDA, NULL, !cuda ? "SAEX_TEST_DEVICE=cpu" : NULL};
    /* asked for by name, CUDA must be there: the case fails at open instead */
    if (cuda && !(only && *only) && !backend_cuda_available()) g_devices[2].skip = "no GPU (backend_cuda_available() = 0)";
}

static void skip_device(void) { SKIP("%s", g_dev->skip); }

static void run_on_devices(const char *name, void (*fn)(void)) {
    for (int i = 0; i < 3; i++) {
        char full[128];
        snprintf(full, sizeof full, "%s[%s]", name, g_devices[i].label);
        g_dev = &g_devices[i];
        if (g_dev->cpu_isa) setenv("SAEX_CPU_ISA", g_dev->cpu_isa, 1);
        t_run(full, g_dev->skip ? skip_device : fn);
        unsetenv("SAEX_CPU_ISA");
    }
    g_dev = NULL;
}
#define RUN_DEVICES(fn) run_on_devices(#fn, fn)

static saex_model *open_model(const char *dir, const int *layers, int n, saex_precision prec) {
    saex_model_options o;
    saex_model_options_init(&o);
    if (g_dev) o.device = g_dev->device;
    o.precision = prec;
    o.max_batch_tokens = 1024;
    saex_model *m = NULL;
    if (saex_model_open(dir, layers, n, &o, &m)) fprintf(stderr, "  open %s: %s\n", dir, saex_last_error());
    return m;
}

/* Residual of every layer of every sequence, one sequence at a time; returns the worst error. */
static double compare_all_layers(saex_model *m, fixture *f, const char *fmt, int n_layers) {
    int D = saex_model_get_info(m)->d_model;
    double worst = 0;
    for (int s = 0; s < f->n_seqs; s++) {
        const int32_t *ids = f->ids[s];
        if (saex_model_forward(m, &ids, &f->lens[s], 1)) {
            fprintf(stderr, "  forward: %s\n", saex_last_error());
            return INFINITY;
        }
        float *got = malloc((size_t)f->lens[s] * D * sizeof(float));
        for (int l = 0; l < n_layers; l++) {
            const st_tensor *r = ref_tensor(f, fmt, s, l);
            if (!r) { fprintf(stderr, "  reference missing for seq %d layer %d\n", s, l); free(got); return INFINITY; }
            for (int p = 0; p < f->lens[s]; p++) saex_model_residual(m, l, 0, p, got + (size_t)p * D);
            double e = rel_err(got, (const float *)r->data, (int64_t)f->lens[s] * D);
            if (e > worst) worst = e;
        }
        free(got);
    }
    return worst;
}

static void check_model_f32(const char *name) {
    fixture f;
    REQUIRE(load_fixture(name, "ref.safetensors", &f), "fixture %s", name);
    char cfg[600];
    snprintf(cfg, sizeof cfg, "%s/config.json", f.dir);
    int layers[64], n = 0;
    saex_model *probe = open_model(f.dir, (int[]){0}, 1, SAEX_PRECISION_F32);
    REQUIRE(probe, "open %s", name);
    n = saex_model_get_info(probe)->n_layers;
    saex_model_close(probe);
    for (int i = 0; i < n; i++) layers[i] = i;
    saex_model *m = open_model(f.dir, layers, n, SAEX_PRECISION_F32);
    REQUIRE(m, "open all layers");
    double e = compare_all_layers(m, &f, "seq%d.resid.%d", n);
    printf("  %s f32: worst relative residual error %.3g over %d sequences x %d layers\n", name, e, f.n_seqs, n);
    CHECK(e <= 1e-4, "relative error %.3g > 1e-4", e);
    saex_model_close(m);
    st_close(f.ref);
}

static void test_tiny_a_f32(void) { check_model_f32("tiny_a"); }
static void test_tiny_b_sharded_f32(void) { check_model_f32("tiny_b"); }

static void test_bf16_modes(void) {
    fixture f;
    REQUIRE(load_fixture("tiny_bf16", "ref.safetensors", &f), "fixture tiny_bf16");
    saex_model *probe = open_model(f.dir, (int[]){0}, 1, SAEX_PRECISION_F32);
    REQUIRE(probe, "open");
    int n = saex_model_get_info(probe)->n_layers, layers[64];
    CHECK(strcmp(saex_model_get_info(probe)->dtype, "bfloat16") == 0, "dtype %s", saex_model_get_info(probe)->dtype);
    saex_model_close(probe);
    for (int i = 0; i < n; i++) layers[i] = i;
    saex_model *m = open_model(f.dir, layers, n, SAEX_PRECISION_F32);
    REQUIRE(m, "open f32");
    double e32 = compare_all_layers(m, &f, "seq%d.resid.%d", n);
    saex_model_close(m);
    m = open_model(f.dir, layers, n, SAEX_PRECISION_DEFAULT);
    REQUIRE(m, "open default");
    double e16 = compare_all_layers(m, &f, "seq%d.resid_bf16.%d", n);
    double e16_vs32 = compare_all_layers(m, &f, "seq%d.resid.%d", n);
    saex_model_close(m);
    printf("  tiny_bf16: f32 mode vs HF f32 %.3g; default mode vs HF bf16 %.3g, vs HF f32 %.3g\n", e32, e16, e16_vs32);
    CHECK(e32 <= 1e-4, "f32 mode error %.3g", e32);
    CHECK(e16 <= 3e-2, "default mode vs HF bf16 %.3g", e16);
    CHECK(e16_vs32 <= 3e-2, "default mode vs HF f32 %.3g", e16_vs32);
    st_close(f.ref);
}

/* All sequences in one packed batch give what they give one at a time. */
static void test_packed_equals_single(void) {
    fixture f;
    REQUIRE(load_fixture("tiny_a", "ref.safetensors", &f), "fixture");
    int layers[] = {1, 3};
    saex_model *m = open_model(f.dir, layers, 2, SAEX_PRECISION_F32);
    REQUIRE(m, "open");
    int D = saex_model_get_info(m)->d_model;
    int64_t total = 0;
    for (int s = 0; s < f.n_seqs; s++) total += f.lens[s];
    float *single = malloc((size_t)total * D * 2 * sizeof(float)), *packed = malloc((size_t)total * D * 2 * sizeof(float));
    int64_t row = 0;
    for (int s = 0; s < f.n_seqs; s++) {
        const int32_t *ids = f.ids[s];
        REQUIRE(saex_model_forward(m, &ids, &f.lens[s], 1) == SAEX_OK, "%s", saex_last_error());
        for (int li = 0; li < 2; li++)
            for (int p = 0; p < f.lens[s]; p++) saex_model_residual(m, layers[li], 0, p, single + ((size_t)li * total + row + p) * D);
        row += f.lens[s];
    }
    const int32_t *seqs[MAX_SEQS];
    for (int s = 0; s < f.n_seqs; s++) seqs[s] = f.ids[s];
    REQUIRE(saex_model_forward(m, seqs, f.lens, f.n_seqs) == SAEX_OK, "%s", saex_last_error());
    row = 0;
    for (int s = 0; s < f.n_seqs; s++) {
        for (int li = 0; li < 2; li++)
            for (int p = 0; p < f.lens[s]; p++) saex_model_residual(m, layers[li], s, p, packed + ((size_t)li * total + row + p) * D);
        row += f.lens[s];
    }
    double e = rel_err(packed, single, total * D * 2);
    printf("  packed vs single: relative difference %.3g (%d sequences, %lld tokens)\n", e, f.n_seqs, (long long)total);
    CHECK(e <= 1e-5, "packed differs from single: %.3g", e);
    free(single), free(packed);
    saex_model_close(m);
    st_close(f.ref);
}

/* Top-k sets are equal, except for members whose activation lies within
 * eps of the k-th value (a near-tie that rounding may order either way). */
static int topk_agree(const saex_feature *got, int k, const float *ref_act, int64_t d_sae, double eps, int *n_cmp) {
    saex_feature *want = malloc((size_t)k * sizeof *want);
    int64_t na;
    int nw = saex_topk_row(ref_act, d_sae, k, want, &na);
    int ok = 1;
    float kth = nw ? want[nw - 1].activation : 0;
    for (int i = 0; i < nw; i++) {
        int found = 0;
        for (int j = 0; j < k && !found; j++) found = got[j].id == want[i].id;
        if (!found && fabsf(want[i].activation - kth) > eps) ok = 0;
        if (found) {
            for (int j = 0; j < k; j++)
                if (got[j].id == want[i].id && fabs(got[j].activation - want[i].activation) > 1e-4 * fmax(1, fabs(want[i].activation)) + 1e-5) ok = 0;
        }
    }
    for (int j = nw; j < k; j++) ok = ok && (got[j].id == -1 || fabsf(got[j].activation - kth) <= eps);
    *n_cmp += nw;
    free(want);
    return ok;
}

/* want_layer: what saex_sae_layer should say (-1 for a bare params.npz outside a layer_N folder). */
static void check_sae(const char *model, const char *sae_dir, int layer, int want_layer, int k) {
    fixture f;
    REQUIRE(load_fixture(model, "ref.safetensors", &f), "fixture");
    char p[700], rp[700];
    snprintf(p, sizeof p, "%s/%s", f.dir, sae_dir);
    snprintf(rp, sizeof rp, "%s/ref_sae.safetensors", f.dir);
    st_set *rs = NULL;
    REQUIRE(st_open(rp, &rs) == SAEX_OK, "%s", saex_last_error());
    saex_sae *sae = NULL;
    REQUIRE(saex_sae_open(p, &sae) == SAEX_OK, "%s", saex_last_error());
    CHECK(saex_sae_layer(sae) == want_layer, "layer %d, want %d", saex_sae_layer(sae), want_layer);
    int S = saex_sae_d_sae(sae), D = saex_sae_d_in(sae);
    saex_model *m = open_model(f.dir, &layer, 1, SAEX_PRECISION_F32);
    REQUIRE(m, "open");
    REQUIRE(saex_model_attach_sae(m, layer, sae) == SAEX_OK, "%s", saex_last_error());
    double worst_pre = 0;
    int bad_sets = 0, rows = 0, n_cmp = 0, bad_active = 0;
    for (int s = 0; s < f.n_seqs; s++) {
        const st_tensor *x = ref_tensor(&f, "seq%d.resid.%d", s, layer);
        char n1[64];
        snprintf(n1, sizeof n1, "seq%d.sae_pre", s);
        const st_tensor *pre = st_find(rs, n1);
        snprintf(n1, sizeof n1, "seq%d.sae_act", s);
        const st_tensor *act = st_find(rs, n1);
        REQUIRE(x && pre && act, "reference tensors for seq %d", s);
        int L = f.lens[s];
        float *mine = malloc((size_t)L * S * sizeof(float));
        saex_sae_encode(sae, (const float *)x->data, L, mine, NULL);
        double e = rel_err(mine, (const float *)pre->data, (int64_t)L * S);
        if (e > worst_pre) worst_pre = e;
        free(mine);
        /* The device path: forward, then top-k at every position. */
        const int32_t *ids = f.ids[s];
        REQUIRE(saex_model_forward(m, &ids, &L, 1) == SAEX_OK, "%s", saex_last_error());
        int *sq = calloc((size_t)L, sizeof(int)), *ps = malloc((size_t)L * sizeof(int));
        for (int i = 0; i < L; i++) ps[i] = i;
        saex_feature *got = malloc((size_t)L * k * sizeof *got);
        int32_t *na = malloc((size_t)L * sizeof *na);
        REQUIRE(saex_model_sae_topk(m, layer, sq, ps, L, k, got, na) == SAEX_OK, "%s", saex_last_error());
        for (int i = 0; i < L; i++, rows++) {
            const float *ra = (const float *)act->data + (size_t)i * S;
            if (!topk_agree(got + (size_t)i * k, k, ra, S, 1e-5, &n_cmp)) bad_sets++;
            int64_t want_na = 0;
            for (int j = 0; j < S; j++) want_na += ra[j] != 0;
            if (want_na != na[i]) bad_active++;
        }
        free(sq), free(ps), free(got), free(na);
    }
    (void)D;
    printf("  %s/%s: pre-activation error %.3g; top-%d sets differ in %d of %d rows (%d features compared); num_active differs in %d rows\n",
           model, sae_dir, worst_pre, k, bad_sets, rows, n_cmp, bad_active);
    CHECK(worst_pre <= 1e-4, "pre-activation error %.3g", worst_pre);
    CHECK(bad_sets == 0, "%d rows with a different top-k set", bad_sets);
    CHECK(bad_active <= rows / 100, "%d rows with a different num_active", bad_active);
    CHECK(n_cmp > 0, "no active features compared: the fixture's thresholds fire nothing");
    saex_model_close(m);
    saex_sae_close(sae);
    st_close(rs);
    st_close(f.ref);
}

static void test_sae_npz_deflated(void) { check_sae("tiny_a", "sae_l2", 2, -1, 16); }
static void test_sae_saelens(void) { check_sae("tiny_a", "sae_l2_saelens", 2, 2, 16); }
static void test_sae_npz_stored(void) { check_sae("tiny_b", "sae_l3", 3, -1, 20); }

static void test_topk_row_order(void) {
    float act[8] = {0, 2.0f, 0.5f, 2.0f, 0, 3.0f, 0.5f, 1.0f};
    saex_feature out[4];
    int64_t na;
    int n = saex_topk_row(act, 8, 4, out, &na);
    CHECK(n == 4 && na == 6, "n %d na %lld", n, (long long)na);
    CHECK(out[0].id == 5 && out[1].id == 1 && out[2].id == 3 && out[3].id == 7, "order %d %d %d %d", out[0].id, out[1].id, out[2].id, out[3].id);
    saex_feature all[7];
    n = saex_topk_row(act, 8, 7, all, &na);
    CHECK(n == 6 && all[4].id == 2 && all[5].id == 6, "ties to the lower id: %d then %d", all[4].id, all[5].id);
}

/* ------------------------------------------------------------ bad inputs */

static void expect_open_fails(const char *dir, const int *layers, int n, saex_status want, const char *needle) {
    saex_model_options o;
    saex_model_options_init(&o);
    saex_model *m = NULL;
    saex_status s = saex_model_open(dir, layers, n, &o, &m);
    CHECK(s == want && m == NULL, "open %s: status %d (%s), want %d", dir, s, saex_last_error(), want);
    CHECK(strstr(saex_last_error(), needle) != NULL, "message \"%s\" lacks \"%s\"", saex_last_error(), needle);
    saex_model_close(m);
}

/* A temp model folder: the tiny_a weights, linked, with a config edited by sed. */
static void make_variant(char *dir, const char *sed_expr) {
    strcpy(dir, "/tmp/saex-model-XXXXXX");
    if (!mkdtemp(dir)) return;
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "ln -s \"$(realpath %s/tiny_a/model.safetensors)\" %s/ && sed -e '%s' %s/tiny_a/config.json > %s/config.json",
             t_fixtures(), dir, sed_expr, t_fixtures(), dir);
    if (system(cmd) != 0) fprintf(stderr, "  setup failed: %s\n", cmd);
}

static void remove_dir(const char *dir) {
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0) fprintf(stderr, "  cleanup failed\n");
}

static void test_bad_models(void) {
    char a[512], dir[64];
    snprintf(a, sizeof a, "%s/tiny_a", t_fixtures());
    expect_open_fails(a, (int[]){4}, 1, SAEX_ERR_ARG, "layer 4 does not exist");
    expect_open_fails(a, (int[]){-1}, 1, SAEX_ERR_ARG, "layer -1");
    expect_open_fails("/nonexistent/model", (int[]){0}, 1, SAEX_ERR_IO, "/nonexistent/model/config.json");
    make_variant(dir, "s/\"gemma2\"/\"llama\"/");
    expect_open_fails(dir, (int[]){0}, 1, SAEX_ERR_UNSUPPORTED, "llama");
    remove_dir(dir);
    make_variant(dir, "s/\"intermediate_size\": [0-9]*/\"intermediate_size\": 200/");
    expect_open_fails(dir, (int[]){0}, 1, SAEX_ERR_MISMATCH, "gate_proj");
    remove_dir(dir);
    make_variant(dir, "s/\"hidden_size\": [0-9]*/\"hidden_size\": \"64\"/");
    expect_open_fails(dir, (int[]){0}, 1, SAEX_ERR_FORMAT, "hidden_size");
    remove_dir(dir);
    make_variant(dir, "1s/{/{,/");
    expect_open_fails(dir, (int[]){0}, 1, SAEX_ERR_FORMAT, "invalid JSON");
    remove_dir(dir);
}

static void test_bad_batches(void) {
    char a[512];
    snprintf(a, sizeof a, "%s/tiny_a", t_fixtures());
    saex_model *m = open_model(a, (int[]){1}, 1, SAEX_PRECISION_F32);
    REQUIRE(m, "open");
    const saex_model_info *info = saex_model_get_info(m);
    int n = info->max_positions + 1;
    int32_t *ids = calloc((size_t)n, sizeof *ids);
    const int32_t *seq = ids;
    CHECK(saex_model_forward(m, &seq, &n, 1) == SAEX_ERR_RANGE, "too long accepted");
    CHECK(strstr(saex_last_error(), "max_position_embeddings"), "%s", saex_last_error());
    int one = 1;
    ids[0] = info->vocab_size;
    CHECK(saex_model_forward(m, &seq, &one, 1) == SAEX_ERR_RANGE, "id out of vocabulary accepted");
    ids[0] = 2;
    CHECK(saex_model_forward(m, &seq, &one, 1) == SAEX_OK, "%s", saex_last_error());
    float r[4096];
    CHECK(saex_model_residual(m, 1, 0, 1, r) == SAEX_ERR_ARG, "position past the end accepted");
    CHECK(saex_model_residual(m, 2, 0, 0, r) == SAEX_ERR_ARG, "uncaptured layer accepted");
    int sq = 0, ps = 0;
    saex_feature out[4];
    CHECK(saex_model_sae_topk(m, 1, &sq, &ps, 1, 4, out, NULL) == SAEX_ERR_ARG, "top-k without an SAE accepted");
    char sp[600];
    snprintf(sp, sizeof sp, "%s/tiny_b/sae_l3", t_fixtures());
    saex_sae *other = NULL;
    REQUIRE(saex_sae_open(sp, &other) == SAEX_OK, "%s", saex_last_error());
    CHECK(saex_model_attach_sae(m, 1, other) == SAEX_ERR_MISMATCH, "SAE of another width accepted");
    CHECK(strstr(saex_last_error(), "hidden size"), "%s", saex_last_error());
    saex_sae_close(other);
    free(ids);
    saex_model_close(m);
}

static void test_bad_sae_paths(void) {
    saex_sae *s = NULL;
    CHECK(saex_sae_open("/nonexistent/sae", &s) == SAEX_ERR_IO && !s, "missing path");
    CHECK(strstr(saex_last_error(), "/nonexistent/sae"), "%s", saex_last_error());
    char dir[] = "/tmp/saex-sae-XXXXXX";
    REQUIRE(mkdtemp(dir), "mkdtemp");
    CHECK(saex_sae_open(dir, &s) == SAEX_ERR_IO, "empty folder accepted");
    CHECK(strstr(saex_last_error(), "params.npz"), "%s", saex_last_error());
    char cfg[600];
    snprintf(cfg, sizeof cfg, "%s/cfg.json", dir);
    FILE *f = fopen(cfg, "w");
    fputs("{\"architecture\": \"topk\", \"d_in\": 64, \"d_sae\": 256}", f);
    fclose(f);
    CHECK(saex_sae_open(dir, &s) == SAEX_ERR_UNSUPPORTED, "topk SAE accepted");
    CHECK(strstr(saex_last_error(), "topk"), "%s", saex_last_error());
    remove(cfg);
    rmdir(dir);
}

/* Only blocks 0..L are loaded: a deeper model handle holds more weight bytes. */
static void test_loads_only_needed_blocks(void) {
    char a[512];
    snprintf(a, sizeof a, "%s/tiny_a", t_fixtures());
    saex_model *m1 = open_model(a, (int[]){0}, 1, SAEX_PRECISION_F32), *m3 = open_model(a, (int[]){3}, 1, SAEX_PRECISION_F32);
    REQUIRE(m1 && m3, "open");
    size_t w1 = saex_model_get_info(m1)->weight_bytes, w3 = saex_model_get_info(m3)->weight_bytes;
    CHECK(w1 < w3, "layer 0 handle holds %zu bytes, layer 3 handle %zu", w1, w3);
    saex_model_close(m1);
    saex_model_close(m3);
}

/* saex_model_forward_at: the deepest layer at the kept rows equals a full
 * pass there; shallower captures are complete; other rows are refused. */
static void test_forward_at_kept_rows(void) {
    fixture f;
    REQUIRE(load_fixture("tiny_b", "ref.safetensors", &f), "fixture");
    int layers[] = {1, 4};
    saex_model *m = open_model(f.dir, layers, 2, SAEX_PRECISION_F32);
    REQUIRE(m, "open");
    int D = saex_model_get_info(m)->d_model, n = f.n_seqs, keep[MAX_SEQS];
    const int32_t *seqs[MAX_SEQS];
    for (int s = 0; s < n; s++) seqs[s] = f.ids[s], keep[s] = f.lens[s] / 2;
    float *full = malloc((size_t)n * D * 2 * sizeof(float)), *part = malloc((size_t)n * D * 2 * sizeof(float));
    REQUIRE(saex_model_forward(m, seqs, f.lens, n) == SAEX_OK, "%s", saex_last_error());
    for (int s = 0; s < n; s++)
        for (int li = 0; li < 2; li++) saex_model_residual(m, layers[li], s, keep[s], full + ((size_t)li * n + s) * D);
    REQUIRE(saex_model_forward_at(m, seqs, f.lens, n, keep) == SAEX_OK, "%s", saex_last_error());
    for (int s = 0; s < n; s++)
        for (int li = 0; li < 2; li++)
            CHECK(saex_model_residual(m, layers[li], s, keep[s], part + ((size_t)li * n + s) * D) == SAEX_OK, "%s", saex_last_error());
    double e_deep = rel_err(part + (size_t)n * D, full + (size_t)n * D, (int64_t)n * D);
    double e_shallow = rel_err(part, full, (int64_t)n * D);
    printf("  forward_at vs full pass at the kept rows: layer 4 %.3g, layer 1 %.3g\n", e_deep, e_shallow);
    CHECK(e_deep <= 1e-6 && e_shallow <= 1e-6, "kept rows differ: %.3g / %.3g", e_deep, e_shallow);
    float r[256];
    int other = f.lens[n - 1] - 1 == keep[n - 1] ? 0 : f.lens[n - 1] - 1;
    CHECK(saex_model_residual(m, 4, n - 1, other, r) == SAEX_ERR_ARG, "a row the pruned block did not compute was returned");
    CHECK(saex_model_residual(m, 1, n - 1, other, r) == SAEX_OK, "shallower layer incomplete: %s", saex_last_error());
    int bad[MAX_SEQS];
    memcpy(bad, keep, sizeof bad);
    bad[0] = f.lens[0];
    CHECK(saex_model_forward_at(m, seqs, f.lens, n, bad) == SAEX_ERR_ARG, "keep position past the end accepted");
    free(full), free(part);
    saex_model_close(m);
    st_close(f.ref);
}

int main(void) {
    pick_devices();
    RUN(test_topk_row_order);
    RUN(test_bad_models);
    RUN(test_bad_sae_paths);
    RUN_DEVICES(test_tiny_a_f32);
    RUN_DEVICES(test_tiny_b_sharded_f32);
    RUN_DEVICES(test_bf16_modes);
    RUN_DEVICES(test_packed_equals_single);
    RUN_DEVICES(test_forward_at_kept_rows);
    RUN_DEVICES(test_sae_npz_deflated);
    RUN_DEVICES(test_sae_saelens);
    RUN_DEVICES(test_sae_npz_stored);
    RUN_DEVICES(test_bad_batches);
    RUN_DEVICES(test_loads_only_needed_blocks);
    TEST_MAIN_END();
}
