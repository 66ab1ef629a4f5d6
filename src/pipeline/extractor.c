/* extractor.c — what a run needs loaded: the tokenizer, one SAE per layer,
 * and the model (loaded last, on demand).
 *
 * Everything that can be checked without the model is checked at open —
 * the layers against the model's depth, each SAE's layer and width against
 * the target — so that mistakes cost seconds, not the minutes a 9b model
 * takes to load. */
#include "backend/backend.h"
#include "config.h"
#include "digest.h"
#include "error.h"
#include "pipeline.h"

#include <dirent.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

/* ------------------------------------------------------------ events */

void events_log(const saex_events *e, saex_log_level level, const char *fmt, ...) {
    if (!e || !e->log) return;
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    e->log(e->ctx, level, msg);
}

int events_stop(const saex_events *e) { return e && e->should_stop && e->should_stop(e->ctx); }

static double now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* ------------------------------------------------------------ options */

void saex_extractor_options_init(saex_extractor_options *o) {
    memset(o, 0, sizeof *o);
    o->model = "google/gemma-2-9b-it";
    o->sae_release = "gemma-scope-9b-pt-res-canonical";
    o->sae_id = "layer_20/width_16k/canonical";
    o->layers[0] = 20;
    o->n_layers = 1;
    saex_model_options_init(&o->model_options);
}

void saex_run_options_init(saex_run_options *o) {
    memset(o, 0, sizeof *o);
    o->top_k = 50;
    o->batch_tokens = 4096;
}

/* "{L}" -> the layer. */
static char *subst_layer(const char *pattern, int layer) {
    size_t n = strlen(pattern);
    char *out = malloc(n * 4 + 16), *w = out;
    if (!out) return NULL;
    for (const char *p = pattern; *p;) {
        if (strncmp(p, "{L}", 3) == 0) w += sprintf(w, "%d", layer), p += 3;
        else *w++ = *p++;
    }
    *w = '\0';
    return out;
}

/* ------------------------------------------------------------ identity */

/* sha256 over config.json, tokenizer.json and the names and sizes of the
 * weight files: cheap, and it changes when the checkpoint does. */
static saex_status model_identity(const char *dir, char out[65]) {
    sha256_ctx c;
    saex_status st = sha256_init(&c);
    if (st) return st;
    const char *files[] = {"config.json", "tokenizer.json"};
    for (int i = 0; i < 2; i++) {
        char path[PATH_MAX], hex[65];
        snprintf(path, sizeof path, "%s/%s", dir, files[i]);
        if (sha256_file_hex(path, hex) == SAEX_OK) sha256_update(&c, hex, 64);
    }
    struct dirent **names = NULL;
    int n = scandir(dir, &names, NULL, alphasort);
    for (int i = 0; i < n; i++) {
        const char *nm = names[i]->d_name;
        size_t len = strlen(nm);
        char path[PATH_MAX];
        struct stat sb;
        snprintf(path, sizeof path, "%s/%s", dir, nm);
        if (len > 12 && strcmp(nm + len - 12, ".safetensors") == 0 && stat(path, &sb) == 0) {
            char line[PATH_MAX + 32];
            int k = snprintf(line, sizeof line, "%s %lld\n", nm, (long long)sb.st_size);
            sha256_update(&c, line, (size_t)k);
        }
        free(names[i]);
    }
    free(names);
    sha256_final_hex(&c, out);
    return SAEX_OK;
}

/* ------------------------------------------------------------ open */

static saex_status copy_options(saex_extractor *x, const saex_extractor_options *o) {
    x->o = *o;
    if (o->n_layers < 1 || o->n_layers > SAEX_MAX_LAYERS)
        return saex_fail(SAEX_ERR_ARG, "between 1 and %d layers, not %d", SAEX_MAX_LAYERS, o->n_layers);
    x->n_layers = o->n_layers;
    for (int l = 0; l < o->n_layers; l++) {
        x->layers[l] = o->layers[l];
        for (int j = 0; j < l; j++)
            if (x->layers[j] == x->layers[l]) return saex_fail(SAEX_ERR_ARG, "layer %d requested twice", x->layers[l]);
    }
    x->model_id = strdup(o->model ? o->model : "google/gemma-2-9b-it");
    x->sae_release = o->sae_release ? strdup(o->sae_release) : NULL;
    x->revision = o->revision ? strdup(o->revision) : NULL;
    if (!x->model_id || (o->sae_release && !x->sae_release) || (o->revision && !x->revision))
        return saex_fail(SAEX_ERR_NOMEM, "out of memory");
    x->o.model = x->model_id, x->o.sae_release = x->sae_release, x->o.revision = x->revision;
    x->o.sae_id = x->o.sae_path = NULL; /* per layer from here on */
    return SAEX_OK;
}

static saex_status read_config(saex_extractor *x) {
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/config.json", x->model_dir);
    gemma2_config c;
    saex_status st = gemma2_config_load(path, &c);
    if (st) return st;
    x->n_model_layers = c.n_layers, x->d_model = c.d_model, x->max_positions = c.max_positions;
    snprintf(x->dtype, sizeof x->dtype, "%s", c.dtype);
    gemma2_config_free(&c);
    for (int l = 0; l < x->n_layers; l++)
        if (x->layers[l] < 0 || x->layers[l] >= x->n_model_layers)
            return saex_fail(SAEX_ERR_ARG, "layer %d does not exist: the model %s has blocks 0..%d", x->layers[l],
                             x->model_dir, x->n_model_layers - 1);
    return SAEX_OK;
}

static saex_status open_sae(saex_extractor *x, int l, const saex_extractor_options *o, const saex_fetch_options *fo) {
    int L = x->layers[l];
    saex_status st;
    if (o->sae_path) {
        x->sae_path[l] = subst_layer(o->sae_path, L);
        if (!x->sae_path[l]) return saex_fail(SAEX_ERR_NOMEM, "out of memory");
        struct stat sb;
        if (stat(x->sae_path[l], &sb) != 0) return saex_fail(SAEX_ERR_NOT_FOUND, "SAE %s: no such file or folder", x->sae_path[l]);
    } else {
        x->sae_id[l] = subst_layer(o->sae_id ? o->sae_id : "layer_20/width_16k/canonical", L);
        if (!x->sae_id[l]) return saex_fail(SAEX_ERR_NOMEM, "out of memory");
        const saex_registry_entry *e = NULL;
        if ((st = saex_resolve_sae(x->sae_release, x->sae_id[l], L, fo, &x->sae_path[l], &e))) return st;
        x->entry[l] = e;
        const char *slash = strrchr(x->model_id, '/'), *name = slash ? slash + 1 : x->model_id;
        struct stat sb;
        int model_is_id = stat(x->model_id, &sb) != 0;
        if (e && model_is_id && strncmp(name, e->model, strlen(e->model)) != 0)
            events_log(o->events, SAEX_LOG_WARN, "SAE release %s was trained on %s, but the model is %s (continuing: "
                       "its width must still match)", x->sae_release, e->model, x->model_id);
    }
    double t0 = now_s();
    if ((st = saex_sae_open(x->sae_path[l], &x->sae[l]))) return saex_fail_prefix(st, "SAE %s", x->sae_path[l]);
    int sl = saex_sae_layer(x->sae[l]);
    if (sl >= 0 && sl != L)
        return saex_fail(SAEX_ERR_MISMATCH, "SAE %s is for layer %d, but the target layer is %d (for several layers, "
                         "name the SAE with {L}: --sae-id 'layer_{L}/...' or --sae '.../layer_{L}/...')", x->sae_path[l], sl, L);
    if (saex_sae_d_in(x->sae[l]) != x->d_model)
        return saex_fail(SAEX_ERR_MISMATCH, "SAE %s reads vectors of width %d, but the model %s has hidden size %d",
                         x->sae_path[l], saex_sae_d_in(x->sae[l]), x->model_dir, x->d_model);
    events_log(o->events, SAEX_LOG_INFO, "loaded SAE for layer %d from %s in %.2f s (d_in %d, d_sae %d)", L,
               x->sae_path[l], now_s() - t0, saex_sae_d_in(x->sae[l]), saex_sae_d_sae(x->sae[l]));
    return SAEX_OK;
}

static saex_status open_impl(saex_extractor *x, const saex_extractor_options *o) {
    saex_status st = copy_options(x, o);
    if (st) return st;
    const char *off = getenv("HF_HUB_OFFLINE");
    int deepest = 0;
    for (int l = 0; l < x->n_layers; l++) deepest = x->layers[l] > deepest ? x->layers[l] : deepest;
    saex_fetch_options fo = {o->offline || (off && (!strcmp(off, "1") || !strcmp(off, "true"))), o->revision, deepest, o->events};
    /* A wrong SAE id is found before a model is looked for (or downloaded). */
    for (int l = 0; l < x->n_layers && !o->sae_path; l++)
        if ((st = saex_registry_check(x->sae_release, o->sae_id ? o->sae_id : "layer_20/width_16k/canonical", x->layers[l], NULL)))
            return st;
    if ((st = saex_resolve_model(x->model_id, &fo, &x->model_dir))) return st;
    if ((st = read_config(x))) return st;
    double t0 = now_s();
    if ((st = saex_tokenizer_open(x->model_dir, &x->tok))) return saex_fail_prefix(st, "tokenizer of %s", x->model_dir);
    events_log(o->events, SAEX_LOG_INFO, "loaded tokenizer from %s in %.2f s (%d tokens)", x->model_dir, now_s() - t0,
               saex_tokenizer_vocab_size(x->tok));
    for (int l = 0; l < x->n_layers; l++) {
        if ((st = open_sae(x, l, o, &fo))) return st;
        if (events_stop(o->events)) return saex_fail(SAEX_ERR_INTERRUPTED, "interrupted");
    }
    saex_device dev = o->model_options.device;
    x->device = dev == SAEX_DEVICE_CUDA || (dev == SAEX_DEVICE_AUTO && backend_cuda_available()) ? "cuda" : "cpu";
    return model_identity(x->model_dir, x->identity);
}

saex_status saex_extractor_open(const saex_extractor_options *o, saex_extractor **out) {
    *out = NULL;
    saex_extractor_options defaults;
    if (!o) saex_extractor_options_init(&defaults), o = &defaults;
    saex_extractor *x = calloc(1, sizeof *x);
    if (!x) return saex_fail(SAEX_ERR_NOMEM, "out of memory");
    saex_status st = open_impl(x, o);
    if (st) {
        saex_extractor_close(x);
        return st;
    }
    *out = x;
    return SAEX_OK;
}

saex_status saex_extractor_load_model(saex_extractor *x) {
    if (x->model) return SAEX_OK;
    saex_model_options mo = x->o.model_options;
    double t0 = now_s();
    saex_status st = saex_model_open(x->model_dir, x->layers, x->n_layers, &mo, &x->model);
    if (st) return saex_fail_prefix(st, "model %s", x->model_dir);
    const saex_model_info *i = saex_model_get_info(x->model);
    events_log(x->o.events, SAEX_LOG_INFO, "loaded model %s in %.2f s (blocks 0..%d of %d, d_model %d, %s on %s, %d threads, %.2f GiB)",
               x->model_dir, now_s() - t0, i->deepest_layer, i->n_layers, i->d_model, i->dtype, i->device, i->threads,
               (double)i->weight_bytes / (1 << 30));
    x->device = strcmp(i->device, "cuda") == 0 ? "cuda" : "cpu";
    for (int l = 0; l < x->n_layers; l++)
        if ((st = saex_model_attach_sae(x->model, x->layers[l], x->sae[l]))) {
            saex_fail_prefix(st, "SAE %s with model %s", x->sae_path[l], x->model_dir);
            saex_model_close(x->model);
            x->model = NULL;
            return st;
        }
    return SAEX_OK;
}

void saex_extractor_close(saex_extractor *x) {
    if (!x) return;
    saex_model_close(x->model);
    for (int l = 0; l < SAEX_MAX_LAYERS; l++) {
        saex_sae_close(x->sae[l]);
        free(x->sae_path[l]);
        free(x->sae_id[l]);
    }
    saex_tokenizer_close(x->tok);
    free(x->model_id), free(x->model_dir), free(x->revision), free(x->sae_release);
    free(x);
}

const saex_tokenizer *saex_extractor_tokenizer(const saex_extractor *x) { return x->tok; }
saex_model *saex_extractor_model(saex_extractor *x) { return x->model; }
const saex_sae *saex_extractor_sae(const saex_extractor *x, int l) { return l >= 0 && l < x->n_layers ? x->sae[l] : NULL; }
const char *saex_extractor_model_dir(const saex_extractor *x) { return x->model_dir; }
const char *saex_extractor_sae_path(const saex_extractor *x, int l) { return l >= 0 && l < x->n_layers ? x->sae_path[l] : NULL; }

const char *saex_extractor_neuronpedia(const saex_extractor *x, int l) {
    const saex_registry_entry *e = l >= 0 && l < x->n_layers ? x->entry[l] : NULL;
    return e ? e->neuronpedia : NULL;
}

/* ------------------------------------------------------------ metadata */

static char *abs_or_copy(const char *p) {
    char buf[PATH_MAX];
    return strdup(realpath(p, buf) ? buf : p);
}

static json_t *str_or_null(const char *s) { return s ? json_string(s) : json_null(); }

static json_t *layer_metadata(const saex_extractor *x, int l, const saex_run_options *o) {
    const saex_registry_entry *e = x->entry[l];
    json_t *m = json_object();
    json_object_set_new(m, "sae_id", str_or_null(x->sae_id[l]));
    json_object_set_new(m, "sae_release", str_or_null(e || x->sae_id[l] ? x->sae_release : NULL));
    char hook[64];
    snprintf(hook, sizeof hook, "blocks.%d.hook_resid_post", x->layers[l]);
    json_object_set_new(m, "hook_name", json_string(hook));
    json_object_set_new(m, "top_k_features", json_integer(o->top_k));
    json_object_set_new(m, "model", json_string(x->model_id));
    char *mp = abs_or_copy(x->model_dir), *sp = abs_or_copy(x->sae_path[l]);
    json_object_set_new(m, "model_path", str_or_null(mp));
    json_object_set_new(m, "sae_repo", str_or_null(e ? e->repo : NULL));
    json_object_set_new(m, "sae_folder", str_or_null(e ? e->folder : NULL));
    json_object_set_new(m, "sae_path", str_or_null(sp));
    free(mp), free(sp);
    if (e && e->neuronpedia) json_object_set_new(m, "neuronpedia_id", json_string(e->neuronpedia));
    json_object_set_new(m, "d_sae", json_integer(saex_sae_d_sae(x->sae[l])));
    json_object_set_new(m, "saex_version", json_string(saex_version()));
    json_object_set_new(m, "device", json_string(x->device));
    json_object_set_new(m, "dtype", json_string(x->dtype));
    json_object_set_new(m, "precision", json_string(x->o.model_options.precision == SAEX_PRECISION_F32 ? "f32" : "default"));
    json_object_set_new(m, "chat_template", json_string(o->chat_template == SAEX_CHAT_GEMMA ? "gemma" : "none"));
    json_object_set_new(m, "save_all_tokens", json_boolean(o->save_all_tokens));
    json_object_set_new(m, "exclude_bos", json_boolean(o->exclude_bos));
    json_object_set_new(m, "max_samples", o->max_samples > 0 && !o->select ? json_integer(o->max_samples) : json_null());
    return m;
}

json_t *extractor_metadata(const saex_extractor *x, const saex_run_options *o) {
    json_t *all = json_object();
    for (int l = 0; l < x->n_layers; l++) {
        char key[32];
        snprintf(key, sizeof key, "layer_%d", x->layers[l]);
        json_object_set_new(all, key, layer_metadata(x, l, o));
    }
    return all;
}
