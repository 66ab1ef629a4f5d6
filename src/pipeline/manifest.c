/* manifest.c — what a run store holds, and whether a new run is the same run.
 *
 * Two runs are the same when every input of the numbers is: the input
 * document (sha256), the options that change results, the model's files
 * (config, tokenizer, weight sizes), each SAE, the plan (which fixes the
 * tokens and the batches) and the shard count. Paths, times and thread
 * counts are recorded but not compared: the same files mounted elsewhere
 * are still the same run. */
#include "error.h"
#include "store.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

static json_t *str_or_null(const char *s) { return s ? json_string(s) : json_null(); }

static char *abs_path(const char *p) {
    char buf[PATH_MAX];
    return strdup(realpath(p, buf) ? buf : p);
}

static json_t *run_part(const saex_extractor *x, const saex_run_options *o, const run_info *ri) {
    json_t *layers = json_array();
    for (int l = 0; l < ri->n_layers; l++) json_array_append_new(layers, json_integer(ri->layers[l]));
    json_t *r = json_object();
    json_object_set_new(r, "layers", layers);
    json_object_set_new(r, "top_k", json_integer(ri->top_k));
    json_object_set_new(r, "save_all_tokens", json_boolean(ri->pos.save_all));
    json_object_set_new(r, "exclude_bos", json_boolean(ri->pos.exclude_bos));
    json_object_set_new(r, "chat_template", json_string(o->chat_template == SAEX_CHAT_GEMMA ? "gemma" : "none"));
    json_object_set_new(r, "joint_tokenization", json_boolean(o->joint_tokenization));
    json_object_set_new(r, "batch_tokens", json_integer(o->batch_tokens));
    json_object_set_new(r, "max_samples", o->max_samples > 0 ? json_integer(o->max_samples) : json_null());
    json_object_set_new(r, "selected", o->select ? json_integer(o->n_select) : json_null());
    json_object_set_new(r, "keep_residuals", json_boolean(ri->keep_resid));
    json_object_set_new(r, "precision", json_string(x->o.model_options.precision == SAEX_PRECISION_F32 ? "f32" : "default"));
    json_object_set_new(r, "device", json_string(x->device));
    return r;
}

static json_t *saes_part(const saex_extractor *x) {
    json_t *a = json_array();
    for (int l = 0; l < x->n_layers; l++) {
        struct stat sb;
        json_t *e = json_object();
        json_object_set_new(e, "layer", json_integer(x->layers[l]));
        char *p = abs_path(x->sae_path[l]);
        json_object_set_new(e, "path", str_or_null(p));
        free(p);
        json_object_set_new(e, "bytes", json_integer(stat(x->sae_path[l], &sb) == 0 && S_ISREG(sb.st_mode) ? sb.st_size : -1));
        json_object_set_new(e, "d_in", json_integer(saex_sae_d_in(x->sae[l])));
        json_object_set_new(e, "d_sae", json_integer(saex_sae_d_sae(x->sae[l])));
        json_array_append_new(a, e);
    }
    return a;
}

static json_t *plan_part(const plan *p) {
    json_t *first = json_array();
    for (int s = 0; s <= p->n_shards; s++) json_array_append_new(first, json_integer(p->shard_first[s]));
    json_t *j = json_object();
    json_object_set_new(j, "sha256", json_string(p->sha256));
    json_object_set_new(j, "batches", json_integer(p->n_batches));
    json_object_set_new(j, "samples_run", json_integer(p->batch_off[p->n_batches]));
    json_object_set_new(j, "tokens", json_integer(p->total_tokens));
    json_object_set_new(j, "shards", json_integer(p->n_shards));
    json_object_set_new(j, "shard_first_batch", first);
    return j;
}

json_t *manifest_build(const saex_extractor *x, const saex_doc *d, const saex_run_options *o, const plan *p,
                       const run_info *ri, int n_shards) {
    (void)n_shards;
    json_t *m = json_object();
    json_object_set_new(m, "format", json_string("saex run store"));
    json_object_set_new(m, "version", json_integer(1));
    json_object_set_new(m, "saex_version", json_string(saex_version()));
    char when[32];
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
    json_object_set_new(m, "created", json_string(when));
    json_t *in = json_object();
    char *ip = strcmp(d->name, "<stdin>") == 0 ? NULL : abs_path(d->name);
    json_object_set_new(in, "path", str_or_null(ip));
    free(ip);
    json_object_set_new(in, "sha256", json_string(d->sha256));
    json_object_set_new(in, "samples", json_integer(d->n));
    json_object_set_new(in, "form", json_string(saex_doc_form_name(d->form)));
    json_object_set_new(m, "input", in);
    json_object_set_new(m, "run", run_part(x, o, ri));
    json_t *model = json_object();
    json_object_set_new(model, "id", json_string(x->model_id));
    char *mp = abs_path(x->model_dir);
    json_object_set_new(model, "path", str_or_null(mp));
    free(mp);
    json_object_set_new(model, "identity", json_string(x->identity));
    json_object_set_new(m, "model", model);
    json_object_set_new(m, "saes", saes_part(x));
    json_object_set_new(m, "plan", plan_part(p));
    json_object_set_new(m, "metadata", json_incref(ri->metadata));
    return m;
}

/* ------------------------------------------------------------ comparing */

typedef struct {
    char *buf;
    size_t len, cap;
} text;

static void say(text *t, const char *what, json_t *had, json_t *now) {
    char *a = json_dumps(had, JSON_ENCODE_ANY | JSON_COMPACT), *b = json_dumps(now, JSON_ENCODE_ANY | JSON_COMPACT);
    char line[512];
    int n = snprintf(line, sizeof line, "\n    %s: %.150s in the store, %.150s now", what, a ? a : "?", b ? b : "?");
    free(a), free(b);
    if (n < 0) return;
    if (t->len + (size_t)n + 1 > t->cap) {
        size_t cap = (t->cap + (size_t)n + 1) * 2;
        char *nb = realloc(t->buf, cap);
        if (!nb) return;
        t->buf = nb, t->cap = cap;
    }
    memcpy(t->buf + t->len, line, (size_t)n + 1);
    t->len += (size_t)n;
}

static void cmp(text *t, const char *what, json_t *have, json_t *want) {
    if (!json_equal(have, want)) say(t, what, have, want);
}

char *manifest_diff(json_t *have, json_t *want) {
    text t = {0};
    json_t *hr = json_object_get(have, "run"), *wr = json_object_get(want, "run");
    const char *k;
    json_t *v;
    cmp(&t, "input sha256 (the input file changed)", json_object_get(json_object_get(have, "input"), "sha256"),
        json_object_get(json_object_get(want, "input"), "sha256"));
    json_object_foreach(wr, k, v) cmp(&t, k, json_object_get(hr, k), v);
    cmp(&t, "model files (config.json, tokenizer.json, weight sizes)",
        json_object_get(json_object_get(have, "model"), "identity"), json_object_get(json_object_get(want, "model"), "identity"));
    json_t *hs = json_object_get(have, "saes"), *ws = json_object_get(want, "saes");
    for (size_t i = 0; i < json_array_size(ws); i++) {
        json_t *h = json_array_get(hs, i), *w = json_array_get(ws, i);
        char what[64];
        snprintf(what, sizeof what, "SAE of layer %lld (size, width)", (long long)json_integer_value(json_object_get(w, "layer")));
        json_t *hk = json_pack("[OOO]", json_object_get(h, "bytes") ? json_object_get(h, "bytes") : json_null(),
                               json_object_get(h, "d_in") ? json_object_get(h, "d_in") : json_null(),
                               json_object_get(h, "d_sae") ? json_object_get(h, "d_sae") : json_null());
        json_t *wk = json_pack("[OOO]", json_object_get(w, "bytes"), json_object_get(w, "d_in"), json_object_get(w, "d_sae"));
        cmp(&t, what, hk, wk);
        json_decref(hk), json_decref(wk);
    }
    json_t *hp = json_object_get(have, "plan"), *wp = json_object_get(want, "plan");
    cmp(&t, "shards", json_object_get(hp, "shards"), json_object_get(wp, "shards"));
    if (!t.len) cmp(&t, "plan (the tokens or the batches)", json_object_get(hp, "sha256"), json_object_get(wp, "sha256"));
    return t.buf;
}

/* ------------------------------------------------------------ reading back */

saex_status manifest_run_info(json_t *m, const char *path, run_info *ri) {
    memset(ri, 0, sizeof *ri);
    json_t *r = json_object_get(m, "run"), *layers = json_object_get(r, "layers");
    const char *fmt = json_string_value(json_object_get(m, "format"));
    if (!fmt || strcmp(fmt, "saex run store") != 0 || !json_is_object(r) || !json_is_array(layers) ||
        json_array_size(layers) < 1 || json_array_size(layers) > SAEX_MAX_LAYERS)
        return saex_fail(SAEX_ERR_FORMAT, "%s is not a saex run-store manifest", path);
    if (json_integer_value(json_object_get(m, "version")) != 1)
        return saex_fail(SAEX_ERR_UNSUPPORTED, "%s: run-store version %lld; this saex reads version 1", path,
                         (long long)json_integer_value(json_object_get(m, "version")));
    ri->n_layers = (int)json_array_size(layers);
    for (int l = 0; l < ri->n_layers; l++) ri->layers[l] = (int)json_integer_value(json_array_get(layers, (size_t)l));
    ri->top_k = (int)json_integer_value(json_object_get(r, "top_k"));
    ri->pos.save_all = json_is_true(json_object_get(r, "save_all_tokens"));
    ri->pos.exclude_bos = json_is_true(json_object_get(r, "exclude_bos"));
    ri->keep_resid = json_is_true(json_object_get(r, "keep_residuals"));
    ri->max_samples = json_integer_value(json_object_get(r, "max_samples"));
    json_t *s0 = json_array_get(json_object_get(m, "saes"), 0);
    ri->d_model = (int)json_integer_value(json_object_get(s0, "d_in"));
    json_t *meta = json_object_get(m, "metadata");
    if (ri->top_k < 1 || ri->d_model < 1 || !json_is_object(meta))
        return saex_fail(SAEX_ERR_FORMAT, "%s: incomplete run-store manifest", path);
    ri->metadata = json_incref(meta);
    return SAEX_OK;
}
