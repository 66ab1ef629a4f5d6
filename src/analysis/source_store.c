/* source_store.c — samples for `saex compare` / `saex report` from a run
 * store (OUTPUT.saex/, docs/run-store.md) instead of the JSON output.
 *
 * The results come from the store's chunks one sample at a time
 * (saex_results_sample: one chunk in memory), the labels (the grouping and
 * pairing fields, question_id, template_type, the prompt) from the input
 * document the manifest names. So the analysis of a dataset whose JSON would
 * be too big to write, or not written yet, reads what the JSON would hold:
 * the same vectors, the same labels, the same metadata. */
#include "analysis/source.h"
#include "analysis/grow.h"
#include "error.h"
#include "pipeline/json_number.h"
#include "pipeline/pipeline.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

typedef struct {
    an_source base;
    char *dir;
    saex_results *r;
    saex_doc *d;
    json_t *meta;              /* {"layer_L": {...}} as the output would hold it */
    char fields[512];
    int n_layers, layers[SAEX_MAX_LAYERS];
    an_vec vec[SAEX_MAX_LAYERS];
    an_layer out[SAEX_MAX_LAYERS];
    an_row *rows;              /* [n_pos] of the current sample */
    int64_t cap_rows;
    /* the report's token view of the current sample, per layer */
    int32_t *tok_pos[SAEX_MAX_LAYERS], *hit_tok[SAEX_MAX_LAYERS], *hit_id[SAEX_MAX_LAYERS];
    const char **tok_piece[SAEX_MAX_LAYERS];
    float *hit_act[SAEX_MAX_LAYERS];
} store_source;

/* A label field's text as source_json.c reads it from the output: a string
 * as is, a number or boolean as the output writes it (json_write.c: integers
 * in full, reals by jn_f64); NULL for null, objects and arrays. */
static char *field_text(const json_t *v) {
    char buf[JN_MAX + 1];
    if (json_is_string(v)) return strdup(json_string_value(v));
    if (json_is_integer(v)) snprintf(buf, sizeof buf, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
    else if (json_is_real(v)) buf[jn_f64(buf, json_real_value(v))] = '\0';
    else if (json_is_boolean(v)) snprintf(buf, sizeof buf, "%s", json_is_true(v) ? "true" : "false");
    else return NULL;
    return strdup(buf);
}

static int is_scalar(const json_t *v) { return v && (json_is_string(v) || json_is_number(v) || json_is_boolean(v)); }

/* A field of the variation, else of its result, as source_json.c takes it:
 * a scalar (null, objects and arrays count as absent); strings only with
 * want_string (the prompt). */
static const json_t *field(const doc_sample *s, const char *k, int want_string) {
    const json_t *objs[2] = {s->var, s->result};
    for (int o = 0; o < 2 && k; o++) {
        const json_t *v = objs[o] ? json_object_get(objs[o], k) : NULL;
        if (want_string ? json_is_string(v) : is_scalar(v)) return v;
    }
    return NULL;
}

/* "q001 I_like" from question_id and template_type, else "r0 v1": the label
 * source_json.c makes. */
static void sample_label(const doc_sample *ds, char *buf, size_t size) {
    char *q = field_text(field(ds, "question_id", 0)), *t = field_text(field(ds, "template_type", 0));
    if (q || t) snprintf(buf, size, "%s%s%s", q ? q : "", q && t ? " " : "", t ? t : "");
    else snprintf(buf, size, "r%lld v%lld", (long long)ds->r, (long long)ds->v);
    free(q), free(t);
}

/* Adds a field name to the list, once. */
static void add_name(store_source *s, const char *k) {
    size_t n = strlen(s->fields), kn = strlen(k);
    char probe[160], list[sizeof s->fields + 4];
    if (kn > sizeof probe - 8 || n + kn + 3 >= sizeof s->fields) return;
    snprintf(probe, sizeof probe, ", %s,", k);
    snprintf(list, sizeof list, ", %s,", s->fields);
    if (!strstr(list, probe)) snprintf(s->fields + n, sizeof s->fields - n, "%s%s", n ? ", " : "", k);
}

/* The names of the scalar fields of a variation (null ones too). */
static void add_names(store_source *s, const json_t *var) {
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)var, k, v) if (!json_is_object(v) && !json_is_array(v)) add_name(s, k);
}

/* The field names compare's messages list, in the order source_json.c meets
 * them in the output: the scalar fields of the results and of the first four
 * variations, in document order. */
static void list_fields(store_source *s) {
    s->fields[0] = 0;
    const json_t *root = s->d->root;
    const json_t *top = s->d->form == SAEX_FORM_RESULTS ? json_object_get(root, "results") : root;
    int ended = 0; /* variations met */
    for (size_t i = 0; i < json_array_size(top) && ended <= 3; i++) {
        const json_t *e = json_array_get(top, i);
        if (!json_is_object(e)) continue;
        if (s->d->form != SAEX_FORM_RESULTS) {
            add_names(s, e), ended++;
            continue;
        }
        const char *k;
        json_t *v;
        json_object_foreach((json_t *)e, k, v) {
            if (ended > 3) break;
            if (!strcmp(k, "variations") && json_is_array(v)) {
                for (size_t j = 0; j < json_array_size(v) && ended <= 3; j++)
                    if (json_is_object(json_array_get(v, j))) add_names(s, json_array_get(v, j)), ended++;
            } else if (!json_is_object(v) && !json_is_array(v)) {
                add_name(s, k);
            }
        }
    }
}

static int is_marked(const unsigned char *marks, int64_t n, int64_t i) { return marks && i >= 0 && i < n && marks[i]; }

static void free_detail(store_source *s, int l) {
    free(s->tok_pos[l]), free(s->hit_tok[l]), free(s->hit_id[l]), free(s->hit_act[l]), free(s->tok_piece[l]);
    s->tok_pos[l] = s->hit_tok[l] = s->hit_id[l] = NULL, s->hit_act[l] = NULL, s->tok_piece[l] = NULL;
}

/* The token view of one layer of a marked sample: every saved position with
 * its piece, and the marked features there. */
static int keep_detail(store_source *s, int l, const saex_sample_view *v, const an_request *req) {
    free_detail(s, l);
    int n = v->n_pos, n_hit = 0;
    for (int64_t j = 0; j < (int64_t)n * v->k; j++)
        n_hit += v->ids[j] >= 0 && is_marked(req->detail_feature, req->n_detail_feature, v->ids[j]);
    s->tok_pos[l] = malloc((size_t)(n ? n : 1) * sizeof *s->tok_pos[l]);
    s->tok_piece[l] = calloc((size_t)(n ? n : 1), sizeof *s->tok_piece[l]);
    s->hit_tok[l] = malloc((size_t)(n_hit ? n_hit : 1) * sizeof *s->hit_tok[l]);
    s->hit_id[l] = malloc((size_t)(n_hit ? n_hit : 1) * sizeof *s->hit_id[l]);
    s->hit_act[l] = malloc((size_t)(n_hit ? n_hit : 1) * sizeof *s->hit_act[l]);
    if (!s->tok_pos[l] || !s->tok_piece[l] || !s->hit_tok[l] || !s->hit_id[l] || !s->hit_act[l]) return -1;
    int h = 0;
    for (int i = 0; i < n; i++) {
        s->tok_pos[l][i] = v->position[i];
        s->tok_piece[l][i] = results_piece(s->r, v->token_id[i]);
        for (int j = 0; j < v->k; j++) {
            int32_t f = v->ids[(size_t)i * v->k + j];
            if (f >= 0 && is_marked(req->detail_feature, req->n_detail_feature, f))
                s->hit_tok[l][h] = i, s->hit_id[l][h] = f, s->hit_act[l][h] = v->act[(size_t)i * v->k + j], h++;
        }
    }
    an_layer *o = &s->out[l];
    o->n_tok = n, o->tok_pos = s->tok_pos[l], o->tok_piece = s->tok_piece[l];
    o->n_hit = h, o->hit_tok = s->hit_tok[l], o->hit_id = s->hit_id[l], o->hit_act = s->hit_act[l];
    return 0;
}

/* Layer l of sample i into s->out[l]. */
static saex_status read_layer(store_source *s, int64_t i, int l, const an_request *req) {
    saex_sample_view v;
    saex_status st = saex_results_sample(s->r, i, l, &v);
    if (st) return st;
    an_layer *o = &s->out[l];
    memset(o, 0, sizeof *o);
    o->layer = s->layers[l];
    o->answer_start = v.status == SAEX_SAMPLE_OK ? v.answer_start : -1;
    if (v.status != SAEX_SAMPLE_OK) {
        o->status = v.status == SAEX_SAMPLE_ERROR ? AN_FAILED : AN_ABSENT;
        return SAEX_OK;
    }
    if (an_grow((void **)&s->rows, &s->cap_rows, v.n_pos ? v.n_pos : 1, sizeof *s->rows))
        return saex_fail(SAEX_ERR_NOMEM, "out of memory");
    for (int p = 0; p < v.n_pos; p++) {
        const int32_t *ids = v.ids + (size_t)p * v.k;
        int n = 0;
        while (n < v.k && ids[n] >= 0) n++;
        s->rows[p] = (an_row){.pos = v.position[p], .n = n, .id = ids, .act = v.act + (size_t)p * v.k};
    }
    int got = an_aggregate(s->rows, v.n_pos, v.answer_start, req->positions, &s->vec[l]);
    if (got < 0) return saex_fail(SAEX_ERR_NOMEM, "out of memory");
    o->status = got ? AN_OK : AN_NO_POSITIONS;
    o->n = s->vec[l].n, o->id = s->vec[l].id, o->act = s->vec[l].act;
    if (is_marked(req->detail, req->n_detail, i) && keep_detail(s, l, &v, req))
        return saex_fail(SAEX_ERR_NOMEM, "out of memory");
    return SAEX_OK;
}

static saex_status store_scan(an_source *src, const an_request *req, an_visit visit, void *ctx) {
    store_source *s = (store_source *)src;
    saex_status st = SAEX_OK;
    /* As source_json.c refuses it at an output's first "last_token". */
    if (!s->r->info.pos.save_all && req->positions != SAEX_POSITIONS_LAST)
        return saex_fail(SAEX_ERR_ARG,
                         "%s: --positions %s needs an output made with --save-all-tokens (this one has the last "
                         "prompt token only)",
                         s->dir, saex_positions_name(req->positions));
    for (int64_t i = 0; i < s->d->n && !st; i++) {
        const doc_sample *ds = &s->d->s[i];
        for (int l = 0; l < s->n_layers && !st; l++) st = read_layer(s, i, l, req);
        if (st) break;
        const json_t *prompt = field(ds, "prompt", 1);
        const json_t *g = field(ds, req->by, 0), *pv = req->pair_by ? field(ds, req->pair_by, 0) : NULL;
        char *group = field_text(g), *pair = field_text(pv);
        if ((g && !group) || (pv && !pair)) {
            free(group), free(pair);
            st = saex_fail(SAEX_ERR_NOMEM, "out of memory");
            break;
        }
        char label[256];
        sample_label(ds, label, sizeof label);
        an_sample smp = {.index = i, .group = group, .pair = pair, .label = label,
                         .prompt = prompt ? json_string_value(prompt) : NULL,
                         .n_layers = s->n_layers, .layer = s->out};
        st = visit(ctx, &smp);
        free(group), free(pair);
        for (int l = 0; l < s->n_layers; l++) free_detail(s, l);
    }
    return st;
}

static const json_t *store_metadata(an_source *src) { return ((store_source *)src)->meta; }
static const char *store_form(an_source *src) { return saex_doc_form_name(((store_source *)src)->d->form); }
static const char *store_fields(an_source *src) { return ((store_source *)src)->fields; }

static void store_close(an_source *src) {
    store_source *s = (store_source *)src;
    if (!s) return;
    for (int l = 0; l < SAEX_MAX_LAYERS; l++) an_vec_free(&s->vec[l]), free_detail(s, l);
    free(s->rows);
    json_decref(s->meta);
    saex_doc_close(s->d);
    saex_results_close(s->r);
    free(s->dir);
    free(s);
}

/* The input path the manifest records, and the run's layers. */
static saex_status read_manifest(store_source *s, char **input) {
    char *text = NULL;
    saex_status st = saex_results_manifest(s->r, &text);
    if (st) return st;
    json_t *m = json_loads(text, 0, NULL);
    saex_free(text);
    if (!m) return saex_fail(SAEX_ERR_FORMAT, "run store %s: its manifest.json is not JSON", s->dir);
    const char *in = json_string_value(json_object_get(json_object_get(m, "input"), "path"));
    *input = in ? strdup(in) : NULL;
    json_decref(m);
    s->n_layers = s->r->info.n_layers;
    memcpy(s->layers, s->r->info.layers, sizeof s->layers);
    return SAEX_OK;
}

/* The input document; when it is the one the manifest records, a failure
 * says how to point to it where it moved. */
static saex_status load_input(store_source *s, const char *path, int recorded) {
    saex_status st = saex_doc_load(path, &s->d);
    if (!st || !recorded) return st;
    char *why = strdup(saex_last_error());
    st = saex_fail(st, "%s (the input run store %s records; give --input FILE if it moved)", why ? why : path, s->dir);
    free(why);
    return st;
}

saex_status an_source_open_store(const char *dir, const char *input, an_source **out) {
    *out = NULL;
    store_source *s = calloc(1, sizeof *s);
    if (!s || !(s->dir = strdup(dir))) {
        free(s);
        return saex_fail(SAEX_ERR_NOMEM, "out of memory");
    }
    s->base = (an_source){.name = s->dir, .scan = store_scan, .metadata = store_metadata, .form = store_form,
                          .fields = store_fields, .close = store_close};
    char *recorded = NULL;
    saex_status st = saex_results_open_store(dir, -1, 0, &s->r);
    if (!st) st = read_manifest(s, &recorded);
    const char *in = input ? input : recorded;
    if (!st && !in)
        st = saex_fail(SAEX_ERR_ARG, "run store %s does not record its input (it was read from stdin): give --input FILE",
                       dir);
    if (!st) st = load_input(s, in, !input);
    if (!st) st = output_prepare(s->d, s->r, &s->meta);
    free(recorded);
    if (st) {
        store_close(&s->base);
        return st;
    }
    list_fields(s);
    *out = &s->base;
    return SAEX_OK;
}

saex_status an_source_open(const char *path, const saex_compare_options *o, an_source **out) {
    struct stat sb;
    if (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode)) return an_source_open_store(path, o->input, out);
    if (o->input) return saex_fail(SAEX_ERR_ARG, "--input is for a run store; %s is a file", path);
    return an_source_open_output(path, o->events, out);
}
