/* sae.c — Gemma Scope / SAELens JumpReLU SAEs: loading, and the host-side
 * reference encoder.
 *
 * Encode, exactly as SAELens' JumpReLU:
 *   pre = x . W_enc + b_enc           (no b_dec subtraction for Gemma Scope)
 *   f   = pre > threshold ? relu(pre) : 0      (strict >)
 * Only the encoder is kept: W_dec is validated and dropped, which halves
 * the SAE's memory. */
#include "sae.h"
#include "error.h"
#include "npz.h"
#include "safetensors.h"
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static int is_dir(const char *p) {
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}
static int is_file(const char *p) {
    struct stat st;
    return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

/* "layer_20/width_16k/..." anywhere in the path gives the layer. */
static int layer_from_path(const char *p) {
    const char *s = strstr(p, "layer_");
    while (s) {
        char *end;
        long v = strtol(s + 6, &end, 10);
        if (end != s + 6 && (*end == '/' || *end == 0) && v >= 0 && v < 10000) return (int)v;
        s = strstr(s + 1, "layer_");
    }
    return -1;
}

/* "blocks.20.hook_resid_post" -> 20; other hook points are refused by the caller. */
static int layer_from_hook(const char *hook) {
    if (!hook || strncmp(hook, "blocks.", 7) != 0) return -1;
    char *end;
    long v = strtol(hook + 7, &end, 10);
    return end != hook + 7 && *end == '.' ? (int)v : -1;
}

/* Checks an array's shape: dims[i] < 0 means "any, and report it". */
static saex_status check_shape(const char *file, const char *name, int ndim, const int64_t *shape, int want_ndim,
                               const int64_t *want) {
    int ok = ndim == want_ndim;
    for (int i = 0; ok && i < want_ndim; i++) ok = shape[i] == want[i];
    if (ok) return SAEX_OK;
    char got[128] = "", exp[128] = "";
    for (int i = 0; i < ndim; i++) snprintf(got + strlen(got), sizeof got - strlen(got), "%s%lld", i ? ", " : "", (long long)shape[i]);
    for (int i = 0; i < want_ndim; i++) snprintf(exp + strlen(exp), sizeof exp - strlen(exp), "%s%lld", i ? ", " : "", (long long)want[i]);
    return saex_fail(SAEX_ERR_FORMAT, "%s: array \"%s\" has shape [%s], expected [%s]", file, name, got, exp);
}

static float *dup_floats(const float *p, int64_t n) {
    float *d = malloc((size_t)n * sizeof(float));
    if (d) memcpy(d, p, (size_t)n * sizeof(float));
    return d;
}

/* ---------------------------------------------------------- Gemma Scope npz */

static saex_status load_npz(const char *file, saex_sae *e) {
    npz_file z;
    saex_status s = npz_load(file, &z);
    if (s) return s;
    static const char *names[] = {"W_enc", "b_enc", "threshold", "W_dec", "b_dec"};
    const npz_array *a[5];
    for (int i = 0; i < 5 && !s; i++)
        if (!(a[i] = npz_find(&z, names[i])))
            s = saex_fail(SAEX_ERR_FORMAT, "%s: missing array \"%s\" (a Gemma Scope params.npz has W_enc, b_enc, threshold, W_dec, b_dec)", file, names[i]);
    if (!s && a[0]->ndim != 2) s = saex_fail(SAEX_ERR_FORMAT, "%s: array \"W_enc\" must be 2-D [d_in, d_sae]", file);
    if (!s) {
        e->d_in = a[0]->shape[0], e->d_sae = a[0]->shape[1];
        int64_t vs[1] = {e->d_sae}, vd[1] = {e->d_in}, wd[2] = {e->d_sae, e->d_in};
        if (!(s = check_shape(file, "b_enc", a[1]->ndim, a[1]->shape, 1, vs)) &&
            !(s = check_shape(file, "threshold", a[2]->ndim, a[2]->shape, 1, vs)) &&
            !(s = check_shape(file, "W_dec", a[3]->ndim, a[3]->shape, 2, wd)))
            s = check_shape(file, "b_dec", a[4]->ndim, a[4]->shape, 1, vd);
    }
    if (!s) {
        /* Take ownership of W_enc's buffer instead of copying 235 MB. */
        npz_array *w = (npz_array *)a[0];
        e->W_enc = w->data, w->data = NULL;
        e->b_enc = dup_floats(a[1]->data, e->d_sae);
        e->threshold = dup_floats(a[2]->data, e->d_sae);
        if (!e->b_enc || !e->threshold) s = saex_fail(SAEX_ERR_NOMEM, "%s: out of memory", file);
    }
    npz_free(&z);
    return s;
}

/* ------------------------------------------------------------ SAELens folder */

static saex_status read_saelens_cfg(const char *cfg_path, saex_sae *e, int *apply_b_dec) {
    json_error_t err;
    json_t *cfg = json_load_file(cfg_path, 0, &err);
    if (!cfg) return saex_fail(SAEX_ERR_FORMAT, "%s: invalid JSON at line %d: %s", cfg_path, err.line, err.text);
    saex_status s = SAEX_OK;
    const char *arch = json_string_value(json_object_get(cfg, "architecture"));
    const char *norm = json_string_value(json_object_get(cfg, "normalize_activations"));
    json_t *meta = json_object_get(cfg, "metadata");
    const char *hook = json_string_value(json_object_get(cfg, "hook_name"));
    if (!hook && json_is_object(meta)) hook = json_string_value(json_object_get(meta, "hook_name"));
    json_t *din = json_object_get(cfg, "d_in"), *dsae = json_object_get(cfg, "d_sae");
    if (!arch || strcmp(arch, "jumprelu") != 0)
        s = saex_fail(SAEX_ERR_UNSUPPORTED, "%s: architecture \"%s\" is not supported (saex encodes JumpReLU SAEs)", cfg_path, arch ? arch : "(none)");
    else if (norm && strcmp(norm, "none") != 0)
        s = saex_fail(SAEX_ERR_UNSUPPORTED, "%s: normalize_activations \"%s\" is not supported (only \"none\")", cfg_path, norm);
    else if (!json_is_integer(din) || !json_is_integer(dsae) || json_integer_value(din) <= 0 || json_integer_value(dsae) <= 0)
        s = saex_fail(SAEX_ERR_FORMAT, "%s: d_in and d_sae must be positive integers", cfg_path);
    else if (hook && !strstr(hook, "hook_resid_post"))
        s = saex_fail(SAEX_ERR_UNSUPPORTED, "%s: hook_name \"%s\": saex reads the residual stream (blocks.L.hook_resid_post) only", cfg_path, hook);
    if (!s) {
        e->d_in = json_integer_value(din), e->d_sae = json_integer_value(dsae);
        e->layer = layer_from_hook(hook);
        *apply_b_dec = json_is_true(json_object_get(cfg, "apply_b_dec_to_input"));
    }
    json_decref(cfg);
    return s;
}

static saex_status f32_tensor(const st_set *st, const char *file, const char *name, int ndim, const int64_t *want,
                              float **out) {
    const st_tensor *t;
    saex_status s = st_get(st, name, &t);
    if (s) return s;
    if ((s = check_shape(file, name, t->ndim, t->shape, ndim, want))) return s;
    *out = malloc((size_t)t->numel * sizeof(float));
    if (!*out) return saex_fail(SAEX_ERR_NOMEM, "%s: out of memory", file);
    return st_to_f32(t, *out);
}

static saex_status load_saelens(const char *dir, saex_sae *e) {
    char cfg[4096], w[4096];
    snprintf(cfg, sizeof cfg, "%s/cfg.json", dir);
    snprintf(w, sizeof w, "%s/sae_weights.safetensors", dir);
    int apply_b_dec = 0;
    saex_status s = read_saelens_cfg(cfg, e, &apply_b_dec);
    if (s) return s;
    st_set *st;
    if ((s = st_open(w, &st))) return s;
    int64_t we[2] = {e->d_in, e->d_sae}, vs[1] = {e->d_sae}, vd[1] = {e->d_in};
    float *b_dec = NULL;
    if (!(s = f32_tensor(st, w, "W_enc", 2, we, &e->W_enc)) && !(s = f32_tensor(st, w, "b_enc", 1, vs, &e->b_enc)) &&
        !(s = f32_tensor(st, w, "threshold", 1, vs, &e->threshold)) && apply_b_dec)
        s = f32_tensor(st, w, "b_dec", 1, vd, &b_dec);
    if (!s && b_dec) {
        /* (x - b_dec) W + b = x W + (b - b_dec W): fold once so every backend encodes the same way. */
        for (int64_t j = 0; j < e->d_sae; j++) {
            double acc = 0;
            for (int64_t i = 0; i < e->d_in; i++) acc += (double)b_dec[i] * e->W_enc[i * e->d_sae + j];
            e->b_enc[j] -= (float)acc;
        }
    }
    free(b_dec);
    st_close(st);
    return s;
}

/* ------------------------------------------------------------------ public */

saex_status saex_sae_open(const char *path, saex_sae **out) {
    *out = NULL;
    saex_sae *e = calloc(1, sizeof *e);
    if (!e) return saex_fail(SAEX_ERR_NOMEM, "out of memory");
    e->layer = -1;
    e->path = strdup(path);
    char buf[4096];
    saex_status s;
    if (is_file(path)) {
        s = load_npz(path, e);
    } else if (is_dir(path)) {
        snprintf(buf, sizeof buf, "%s/params.npz", path);
        if (is_file(buf)) {
            s = load_npz(buf, e);
        } else {
            snprintf(buf, sizeof buf, "%s/cfg.json", path);
            s = is_file(buf) ? load_saelens(path, e)
                             : saex_fail(SAEX_ERR_IO, "%s: no SAE here: looked for %s/params.npz (Gemma Scope) and %s/cfg.json + sae_weights.safetensors (SAELens)", path, path, path);
        }
    } else {
        s = saex_fail(SAEX_ERR_IO, "%s: no such file or folder", path);
    }
    if (!s && e->layer < 0) e->layer = layer_from_path(path);
    if (s) {
        saex_sae_close(e);
        return s;
    }
    *out = e;
    return SAEX_OK;
}

void saex_sae_close(saex_sae *e) {
    if (!e) return;
    free(e->path), free(e->W_enc), free(e->b_enc), free(e->threshold), free(e);
}

int saex_sae_d_in(const saex_sae *e) { return (int)e->d_in; }
int saex_sae_d_sae(const saex_sae *e) { return (int)e->d_sae; }
int saex_sae_layer(const saex_sae *e) { return e->layer; }

saex_status saex_sae_encode(const saex_sae *e, const float *x, int64_t n, float *pre, float *act) {
    int64_t d = e->d_in, s = e->d_sae;
    float *row = malloc((size_t)s * sizeof(float));
    if (!row) return saex_fail(SAEX_ERR_NOMEM, "out of memory");
    for (int64_t r = 0; r < n; r++) {
        for (int64_t j = 0; j < s; j++) row[j] = e->b_enc[j];
        for (int64_t i = 0; i < d; i++) {
            float xi = x[r * d + i];
            const float *w = e->W_enc + i * s;
            for (int64_t j = 0; j < s; j++) row[j] += xi * w[j];
        }
        if (pre) memcpy(pre + r * s, row, (size_t)s * sizeof(float));
        if (act)
            for (int64_t j = 0; j < s; j++) act[r * s + j] = row[j] > e->threshold[j] && row[j] > 0 ? row[j] : 0.0f;
    }
    free(row);
    return SAEX_OK;
}

/* ---------------------------------------------------------------- top-k */

/* a ranks before b: larger activation, ties to the lower id. */
static int before(saex_feature a, saex_feature b) {
    return a.activation > b.activation || (a.activation == b.activation && a.id < b.id);
}

/* Sift-down in a heap whose root is the *last-ranked* element kept so far. */
static void sift(saex_feature *h, int n, int i) {
    for (;;) {
        int l = 2 * i + 1, r = l + 1, m = i;
        if (l < n && before(h[m], h[l])) m = l;
        if (r < n && before(h[m], h[r])) m = r;
        if (m == i) return;
        saex_feature t = h[i];
        h[i] = h[m], h[m] = t;
        i = m;
    }
}

int saex_topk_row(const float *act, int64_t d_sae, int k, saex_feature *out, int64_t *n_active) {
    int n = 0;
    int64_t na = 0;
    /* A heap of size k in `out`, worst kept at the root: one pass, no allocation. */
    for (int64_t j = 0; j < d_sae; j++) {
        if (act[j] == 0) continue;
        na++;
        saex_feature f = {(int32_t)j, act[j]};
        if (n < k) {
            out[n++] = f;
            for (int i = n / 2 - 1; i >= 0 && n == k; i--) sift(out, n, i);
        } else if (k > 0 && before(f, out[0])) {
            out[0] = f;
            sift(out, n, 0);
        }
    }
    if (n < k)
        for (int i = n / 2 - 1; i >= 0; i--) sift(out, n, i);
    /* Heap-sort: repeatedly move the worst to the end → best first. */
    for (int m = n; m > 1; m--) {
        saex_feature t = out[0];
        out[0] = out[m - 1], out[m - 1] = t;
        sift(out, m - 1, 0);
    }
    if (n_active) *n_active = na;
    return n;
}
