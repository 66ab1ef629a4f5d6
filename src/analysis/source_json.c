/* source_json.c — a saex output file as an analysis source, read streaming.
 *
 * Outputs can be GBs (every token, top-50), so the file is never loaded as a
 * tree: yajl parses it in 1 MiB chunks and calls back per token; this file
 * keeps a stack of what each open value is (a result, a variation, a layer,
 * a position, a feature ...), collects one layer's positions at a time, and
 * reduces them to one sparse vector when the layer closes (an_aggregate).
 * Memory: one layer of one sample, plus the reduced variations of the
 * current result (result-level fields such as question_id may come after
 * its "variations", so they are handed over when the result closes).
 *
 * The three forms: {"results": [{..., "variations": [...]}], ...,
 * "sae_extraction_metadata": {...}}; a list of variations; JSON Lines
 * (several top-level values). List and JSON Lines keep their metadata in
 * PATH.meta.json. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yajl/yajl_parse.h>

#include "analysis/grow.h"
#include "analysis/source.h"
#include "error.h"

enum { CHUNK = 1 << 20, MAX_DEPTH = 512 };

typedef enum {
    R_SKIP,       /* a value nobody reads */
    R_TOP_OBJ,    /* a top-level object: the results container, or a variation (JSON Lines) */
    R_TOP_ARR,    /* a top-level list of variations */
    R_RESULTS,    /* "results": [...] */
    R_RESULT,     /* one result */
    R_VARIATIONS, /* its "variations": [...] */
    R_VAR,        /* one variation */
    R_SAE,        /* "sae_activations" */
    R_LAYER,      /* "layer_L" */
    R_ACTS,       /* "activations" */
    R_POS,        /* "last_token" / "token_N" */
    R_TOPK,       /* "top_k_features" */
    R_FEAT,       /* {"id", "activation"} */
    R_BUILD       /* inside "sae_extraction_metadata": built as a jansson tree */
} role;

typedef struct {
    role role;
    json_t *node; /* R_BUILD */
} frame;

typedef struct {
    char *group, *pair, *prompt, *qid, *tmpl;
} labels;

/* One layer of a variation, reduced. */
typedef struct {
    an_layer v;
    int32_t *id, *tok_pos, *hit_tok, *hit_id;
    float *act, *hit_act;
    char **tok_piece;
} layer_rec;

typedef struct {
    int64_t index, r, v;
    labels own;
    int n_layers;
    int64_t cap_layers;
    layer_rec *layers;
} var_rec;

/* The layer being read: every saved position, as read. */
typedef struct {
    int active;
    int layer;
    char *status, *reason;
    int answer_start;
    int n_rows;
    int64_t cap_pos, cap_off, cap_piece;
    int32_t *row_pos, *row_off; /* [n_rows], [n_rows + 1] */
    char **row_piece;           /* [n_rows] */
    int n_feat;
    int64_t cap_fid, cap_fact;
    int32_t *fid;
    float *fact;
    int64_t cur_id;
    double cur_act;
    int have_id, have_act;
} layer_buf;

typedef struct {
    an_source base;
    char *path;
    const saex_events *events;
    json_t *meta;
    char form[16];
    char fields[512];
    /* per scan */
    const an_request *req;
    an_visit visit;
    void *ctx;
    saex_status err; /* set when a callback stops the parse */
    frame stack[MAX_DEPTH];
    int depth;
    char *key;   /* the last object key (a value follows it at once) */
    size_t key_cap;
    int64_t n_vars, n_results, n_top_values;
    int container;      /* the top-level object held "results" */
    int top_array;      /* a top-level list */
    int64_t var_in_result;
    labels result;      /* the current result's fields */
    var_rec *pending;   /* its variations, handed over when it closes */
    int n_pending;
    int64_t cap_pending;
    var_rec var;        /* the variation being read */
    int in_var;
    layer_buf lb;
    an_vec vec;
    an_row *rows;
    int64_t cap_row_structs;
    int fields_from; /* variations whose field names are listed */
} json_source;

/* ------------------------------------------------------------ small helpers */

static char *dup_n(const void *s, size_t n) {
    char *p = malloc(n + 1);
    if (p) memcpy(p, s, n), p[n] = 0;
    return p;
}

/* Replaces *slot by a copy of text[len]; -1 when memory runs out. */
static int set_str(char **slot, const char *text, size_t len) {
    free(*slot);
    *slot = dup_n(text, len);
    return *slot ? 0 : -1;
}

static int stop(json_source *s, saex_status st) {
    if (!s->err) s->err = st;
    return 0; /* yajl: cancel */
}

static int nomem(json_source *s) { return stop(s, saex_fail(SAEX_ERR_NOMEM, "%s: out of memory", s->path)); }

static void labels_free(labels *l) {
    free(l->group), free(l->pair), free(l->prompt), free(l->qid), free(l->tmpl);
    memset(l, 0, sizeof *l);
}

static void layer_rec_free(layer_rec *l) {
    free(l->id), free(l->act), free(l->tok_pos), free(l->hit_tok), free(l->hit_id), free(l->hit_act);
    if (l->tok_piece)
        for (int i = 0; i < l->v.n_tok; i++) free(l->tok_piece[i]);
    free(l->tok_piece);
}

static void var_free(var_rec *v) {
    labels_free(&v->own);
    for (int i = 0; i < v->n_layers; i++) layer_rec_free(&v->layers[i]);
    free(v->layers);
    memset(v, 0, sizeof *v);
}

static void add_field_name(json_source *s, const char *key) {
    if (s->fields_from > 3) return;
    size_t n = strlen(s->fields), k = strlen(key);
    /* Listed once each: search for ", key," in ", list,". */
    char probe[160];
    if (k > sizeof probe - 8) return;
    snprintf(probe, sizeof probe, ", %s,", key);
    char list[sizeof s->fields + 4];
    snprintf(list, sizeof list, ", %s,", s->fields);
    if (strstr(list, probe)) return;
    if (n + k + 3 >= sizeof s->fields) return;
    snprintf(s->fields + n, sizeof s->fields - n, "%s%s", n ? ", " : "", key);
}

/* ---------------------------------------------------- handing samples over */

static const char *either(const char *a, const char *b) { return a ? a : b; }

static saex_status emit(json_source *s, var_rec *v, const labels *res) {
    an_layer layers[SAEX_MAX_LAYERS];
    int n = v->n_layers < SAEX_MAX_LAYERS ? v->n_layers : SAEX_MAX_LAYERS;
    for (int i = 0; i < n; i++) layers[i] = v->layers[i].v;
    const char *qid = either(v->own.qid, res ? res->qid : NULL);
    const char *tmpl = either(v->own.tmpl, res ? res->tmpl : NULL);
    char label[256];
    if (qid || tmpl) snprintf(label, sizeof label, "%s%s%s", qid ? qid : "", qid && tmpl ? " " : "", tmpl ? tmpl : "");
    else snprintf(label, sizeof label, "r%lld v%lld", (long long)v->r, (long long)v->v);
    an_sample smp = {
        .index = v->index,
        .group = either(v->own.group, res ? res->group : NULL),
        .pair = either(v->own.pair, res ? res->pair : NULL),
        .label = label,
        .prompt = either(v->own.prompt, res ? res->prompt : NULL),
        .n_layers = n,
        .layer = layers,
    };
    return s->visit(s->ctx, &smp);
}

/* ------------------------------------------------------------ layer close */

static int is_marked(const unsigned char *marks, int64_t n, int64_t i) { return marks && i >= 0 && i < n && marks[i]; }

/* Copies the detail of the current layer (tokens + marked features) into l. */
static int keep_detail(json_source *s, layer_rec *l) {
    layer_buf *b = &s->lb;
    int n = b->n_rows;
    l->tok_pos = malloc((size_t)(n ? n : 1) * sizeof *l->tok_pos);
    l->tok_piece = calloc((size_t)(n ? n : 1), sizeof *l->tok_piece);
    int n_hit = 0;
    for (int i = 0; i < b->n_feat; i++) n_hit += is_marked(s->req->detail_feature, s->req->n_detail_feature, b->fid[i]);
    l->hit_tok = malloc((size_t)(n_hit ? n_hit : 1) * sizeof *l->hit_tok);
    l->hit_id = malloc((size_t)(n_hit ? n_hit : 1) * sizeof *l->hit_id);
    l->hit_act = malloc((size_t)(n_hit ? n_hit : 1) * sizeof *l->hit_act);
    if (!l->tok_pos || !l->tok_piece || !l->hit_tok || !l->hit_id || !l->hit_act) return -1;
    int h = 0;
    for (int i = 0; i < n; i++) {
        l->tok_pos[i] = b->row_pos[i];
        l->tok_piece[i] = b->row_piece[i];
        b->row_piece[i] = NULL; /* moved */
        for (int j = b->row_off[i]; j < b->row_off[i + 1]; j++)
            if (is_marked(s->req->detail_feature, s->req->n_detail_feature, b->fid[j]))
                l->hit_tok[h] = i, l->hit_id[h] = b->fid[j], l->hit_act[h] = b->fact[j], h++;
    }
    l->v.n_tok = n, l->v.tok_pos = l->tok_pos, l->v.tok_piece = (const char *const *)l->tok_piece;
    l->v.n_hit = h, l->v.hit_tok = l->hit_tok, l->v.hit_id = l->hit_id, l->v.hit_act = l->hit_act;
    return 0;
}

static int close_layer(json_source *s) {
    layer_buf *b = &s->lb;
    var_rec *v = &s->var;
    if (v->n_layers >= SAEX_MAX_LAYERS) return 1; /* more layers than saex writes: ignore the rest */
    if (an_grow((void **)&v->layers, &v->cap_layers, v->n_layers + 1, sizeof *v->layers)) return nomem(s);
    layer_rec *l = &v->layers[v->n_layers];
    memset(l, 0, sizeof *l);
    l->v.layer = b->layer;
    l->v.answer_start = b->answer_start;
    const char *st = b->status;
    if (st && !strcmp(st, "error")) {
        l->v.status = AN_FAILED;
    } else if (st && strcmp(st, "ok") && strcmp(st, "success")) {
        return stop(s, saex_fail(SAEX_ERR_FORMAT, "%s: variation %lld, layer_%d: unknown status \"%s\"", s->path,
                                 (long long)v->index, b->layer, st));
    } else if (b->n_rows == 0) {
        l->v.status = AN_ABSENT;
    } else {
        if (b->answer_start < 0)
            return stop(s, saex_fail(SAEX_ERR_FORMAT, "%s: variation %lld, layer_%d: no answer_start_position",
                                     s->path, (long long)v->index, b->layer));
        if (an_grow((void **)&s->rows, &s->cap_row_structs, b->n_rows, sizeof *s->rows)) return nomem(s);
        for (int i = 0; i < b->n_rows; i++) {
            int32_t pos = b->row_pos[i] < 0 ? b->answer_start - 1 : b->row_pos[i]; /* last_token */
            b->row_pos[i] = pos;
            s->rows[i] = (an_row){pos, b->row_off[i + 1] - b->row_off[i], b->fid + b->row_off[i], b->fact + b->row_off[i]};
        }
        int got = an_aggregate(s->rows, b->n_rows, b->answer_start, s->req->positions, &s->vec);
        if (got < 0) return nomem(s);
        l->v.status = got ? AN_OK : AN_NO_POSITIONS;
        l->id = malloc((size_t)(s->vec.n ? s->vec.n : 1) * sizeof *l->id);
        l->act = malloc((size_t)(s->vec.n ? s->vec.n : 1) * sizeof *l->act);
        if (!l->id || !l->act) return free(l->id), free(l->act), nomem(s);
        memcpy(l->id, s->vec.id, (size_t)s->vec.n * sizeof *l->id);
        memcpy(l->act, s->vec.act, (size_t)s->vec.n * sizeof *l->act);
        l->v.n = s->vec.n, l->v.id = l->id, l->v.act = l->act;
        if (is_marked(s->req->detail, s->req->n_detail, v->index) && keep_detail(s, l)) {
            layer_rec_free(l);
            return nomem(s);
        }
    }
    v->n_layers++;
    return 1;
}

static void layer_buf_reset(layer_buf *b) {
    free(b->status), free(b->reason);
    b->status = b->reason = NULL;
    for (int i = 0; i < b->n_rows; i++) free(b->row_piece[i]);
    b->n_rows = b->n_feat = 0;
    b->answer_start = -1;
    b->active = 0;
}

static void layer_buf_free(layer_buf *b) {
    layer_buf_reset(b);
    free(b->row_pos), free(b->row_off), free(b->row_piece), free(b->fid), free(b->fact);
    memset(b, 0, sizeof *b);
}

/* ------------------------------------------------------------- value roles */

/* The role of a value that starts now under the innermost frame. */
static role child_role(json_source *s, int is_map, int is_array) {
    if (s->depth == 0) return is_map ? R_TOP_OBJ : is_array ? R_TOP_ARR : R_SKIP;
    role p = s->stack[s->depth - 1].role;
    const char *k = s->key;
    switch (p) {
    case R_TOP_OBJ:
        if (is_array && !strcmp(k, "results")) return R_RESULTS;
        if (is_map && !strcmp(k, "sae_extraction_metadata")) return R_BUILD;
        if (is_map && !strcmp(k, "sae_activations")) return R_SAE;
        return R_SKIP;
    case R_TOP_ARR: return is_map ? R_VAR : R_SKIP;
    case R_RESULTS: return is_map ? R_RESULT : R_SKIP;
    case R_RESULT: return is_array && !strcmp(k, "variations") ? R_VARIATIONS : R_SKIP;
    case R_VARIATIONS: return is_map ? R_VAR : R_SKIP;
    case R_VAR: return is_map && !strcmp(k, "sae_activations") ? R_SAE : R_SKIP;
    case R_SAE: return is_map && !strncmp(k, "layer_", 6) ? R_LAYER : R_SKIP;
    case R_LAYER: return is_map && !strcmp(k, "activations") ? R_ACTS : R_SKIP;
    case R_ACTS: return is_map && (!strcmp(k, "last_token") || !strncmp(k, "token_", 6)) ? R_POS : R_SKIP;
    case R_POS: return is_array && !strcmp(k, "top_k_features") ? R_TOPK : R_SKIP;
    case R_TOPK: return is_map ? R_FEAT : R_SKIP;
    case R_BUILD: return R_BUILD;
    default: return R_SKIP;
    }
}

/* Adds a metadata value under the innermost R_BUILD frame. */
static int build_add(json_source *s, json_t *v) {
    if (!v) return nomem(s);
    json_t *parent = s->stack[s->depth - 1].node;
    int rc = json_is_object(parent) ? json_object_set_new(parent, s->key, v) : json_array_append_new(parent, v);
    return rc ? nomem(s) : 1;
}

static void var_begin(json_source *s, int64_t r, int64_t v) {
    var_free(&s->var);
    s->var.index = s->n_vars;
    s->var.r = r, s->var.v = v;
    s->in_var = 1;
}

static int var_end(json_source *s, int in_result) {
    s->in_var = 0;
    s->n_vars++;
    s->fields_from++;
    if (in_result) {
        if (an_grow((void **)&s->pending, &s->cap_pending, s->n_pending + 1, sizeof *s->pending)) return nomem(s);
        s->pending[s->n_pending++] = s->var;
        memset(&s->var, 0, sizeof s->var);
        return 1;
    }
    saex_status st = emit(s, &s->var, NULL);
    var_free(&s->var);
    return st ? stop(s, st) : 1;
}

static int result_end(json_source *s) {
    saex_status st = SAEX_OK;
    for (int i = 0; i < s->n_pending; i++) {
        if (!st) st = emit(s, &s->pending[i], &s->result);
        var_free(&s->pending[i]);
    }
    s->n_pending = 0;
    labels_free(&s->result);
    return st ? stop(s, st) : 1;
}

static int open_value(json_source *s, int is_map) {
    if (s->depth >= MAX_DEPTH)
        return stop(s, saex_fail(SAEX_ERR_FORMAT, "%s: values nested deeper than %d", s->path, MAX_DEPTH));
    role r = child_role(s, is_map, !is_map);
    frame *f = &s->stack[s->depth];
    f->role = r;
    f->node = NULL;
    layer_buf *b = &s->lb;
    switch (r) {
    case R_TOP_OBJ:
        s->n_top_values++;
        s->container = 0;
        var_begin(s, s->n_top_values - 1, 0);
        break;
    case R_TOP_ARR:
        s->n_top_values++;
        s->top_array = 1;
        break;
    case R_RESULTS:
        s->container = 1;
        s->fields[0] = 0; /* the container's own fields are not a variation's */
        break;
    case R_RESULT:
        labels_free(&s->result);
        s->var_in_result = 0;
        s->n_results++;
        break;
    case R_VAR:
        if (s->stack[s->depth - 1].role == R_TOP_ARR) var_begin(s, s->n_vars, 0);
        else var_begin(s, s->n_results - 1, s->var_in_result++);
        break;
    case R_LAYER:
        layer_buf_reset(b);
        b->active = 1;
        b->layer = atoi(s->key + 6);
        break;
    case R_POS: {
        int last = !strcmp(s->key, "last_token");
        if (last && s->req->positions != SAEX_POSITIONS_LAST)
            return stop(s, saex_fail(SAEX_ERR_ARG,
                                     "%s: --positions %s needs an output made with --save-all-tokens (this one "
                                     "has the last prompt token only)",
                                     s->path, saex_positions_name(s->req->positions)));
        if (an_grow((void **)&b->row_pos, &b->cap_pos, b->n_rows + 1, sizeof *b->row_pos) ||
            an_grow((void **)&b->row_off, &b->cap_off, b->n_rows + 2, sizeof *b->row_off) ||
            an_grow((void **)&b->row_piece, &b->cap_piece, b->n_rows + 1, sizeof *b->row_piece))
            return nomem(s);
        b->row_pos[b->n_rows] = last ? -1 : atoi(s->key + 6);
        b->row_off[b->n_rows] = b->n_feat;
        b->row_piece[b->n_rows] = NULL;
        break;
    }
    case R_FEAT: b->have_id = b->have_act = 0; break;
    case R_BUILD: {
        json_t *n = is_map ? json_object() : json_array();
        if (!n) return nomem(s);
        if (s->depth > 0 && s->stack[s->depth - 1].role == R_BUILD) {
            if (!build_add(s, json_incref(n))) return json_decref(n), 0;
        } else {
            json_decref(s->meta);
            s->meta = json_incref(n);
        }
        f->node = n;
        break;
    }
    default: break;
    }
    s->depth++;
    return 1;
}

static int close_value(json_source *s) {
    frame *f = &s->stack[--s->depth];
    layer_buf *b = &s->lb;
    switch (f->role) {
    case R_TOP_OBJ:
        if (!s->container) return var_end(s, 0);
        var_free(&s->var);
        s->in_var = 0;
        return 1;
    case R_RESULT: return result_end(s);
    case R_VAR: return var_end(s, s->stack[s->depth - 1].role == R_VARIATIONS);
    case R_LAYER: {
        int rc = close_layer(s);
        layer_buf_reset(b);
        return rc;
    }
    case R_POS: b->row_off[++b->n_rows] = b->n_feat; return 1;
    case R_FEAT:
        if (!b->have_id || !b->have_act)
            return stop(s, saex_fail(SAEX_ERR_FORMAT, "%s: variation %lld, layer_%d: a top_k_features entry without %s",
                                     s->path, (long long)s->var.index, b->layer, b->have_id ? "activation" : "id"));
        if (an_grow((void **)&b->fid, &b->cap_fid, b->n_feat + 1, sizeof *b->fid) ||
            an_grow((void **)&b->fact, &b->cap_fact, b->n_feat + 1, sizeof *b->fact))
            return nomem(s);
        if (b->cur_id < 0 || b->cur_id > INT32_MAX)
            return stop(s, saex_fail(SAEX_ERR_FORMAT, "%s: variation %lld, layer_%d: feature id %lld out of range",
                                     s->path, (long long)s->var.index, b->layer, (long long)b->cur_id));
        b->fid[b->n_feat] = (int32_t)b->cur_id;
        b->fact[b->n_feat] = (float)b->cur_act;
        b->n_feat++;
        return 1;
    case R_BUILD: json_decref(f->node); return 1;
    default: return 1;
    }
}

/* A scalar: text as written (strings unescaped, numbers raw), kind 's' string,
 * 'n' number, 'b' boolean, '0' null. */
static int scalar(json_source *s, const char *text, size_t len, char kind) {
    if (s->depth == 0) {
        s->n_top_values++;
        return 1;
    }
    frame *f = &s->stack[s->depth - 1];
    layer_buf *b = &s->lb;
    const char *k = s->key;
    char num[64];
    if (kind == 'n') {
        size_t n = len < sizeof num - 1 ? len : sizeof num - 1;
        memcpy(num, text, n), num[n] = 0;
    }
    switch (f->role) {
    case R_TOP_OBJ:
    case R_VAR:
    case R_RESULT: {
        labels *l = f->role == R_RESULT ? &s->result : &s->var.own;
        if (!(f->role == R_TOP_OBJ && s->container)) add_field_name(s, k);
        if (kind == '0') return 1; /* null: as if absent */
        int bad = 0;
        if (!strcmp(k, s->req->by)) bad |= set_str(&l->group, text, len);
        if (s->req->pair_by && !strcmp(k, s->req->pair_by)) bad |= set_str(&l->pair, text, len);
        if (!strcmp(k, "prompt") && kind == 's') bad |= set_str(&l->prompt, text, len);
        if (!strcmp(k, "question_id")) bad |= set_str(&l->qid, text, len);
        if (!strcmp(k, "template_type")) bad |= set_str(&l->tmpl, text, len);
        return bad ? nomem(s) : 1;
    }
    case R_LAYER:
        if (!strcmp(k, "status") && kind == 's') {
            free(b->status);
            if (!(b->status = dup_n(text, len))) return nomem(s);
        } else if (!strcmp(k, "answer_start_position") && kind == 'n') {
            b->answer_start = atoi(num);
        }
        return 1;
    case R_POS:
        if (!strcmp(k, "token") && kind == 's' && is_marked(s->req->detail, s->req->n_detail, s->var.index)) {
            free(b->row_piece[b->n_rows]);
            if (!(b->row_piece[b->n_rows] = dup_n(text, len))) return nomem(s);
        }
        return 1;
    case R_FEAT:
        if (kind != 'n') return 1;
        if (!strcmp(k, "id")) b->cur_id = strtoll(num, NULL, 10), b->have_id = 1;
        else if (!strcmp(k, "activation")) b->cur_act = strtod(num, NULL), b->have_act = 1;
        return 1;
    case R_BUILD: {
        json_t *v;
        if (kind == 's') v = json_stringn(text, len);
        else if (kind == 'b') v = len == 4 ? json_true() : json_false();
        else if (kind == '0') v = json_null();
        else if (strpbrk(num, ".eE")) v = json_real(strtod(num, NULL));
        else v = json_integer(strtoll(num, NULL, 10));
        return build_add(s, v);
    }
    default: return 1;
    }
}

/* ------------------------------------------------------------ yajl glue */

static int cb_null(void *c) { return scalar(c, "null", 4, '0'); }
static int cb_bool(void *c, int b) { return scalar(c, b ? "true" : "false", b ? 4 : 5, 'b'); }
static int cb_number(void *c, const char *t, size_t n) { return scalar(c, t, n, 'n'); }
static int cb_string(void *c, const unsigned char *t, size_t n) { return scalar(c, (const char *)t, n, 's'); }
static int cb_start_map(void *c) { return open_value(c, 1); }
static int cb_start_array(void *c) { return open_value(c, 0); }
static int cb_end(void *c) { return close_value(c); }
static int cb_key(void *c, const unsigned char *k, size_t n) {
    json_source *s = c;
    if (n + 1 > s->key_cap) {
        size_t cap = (n + 1) * 2;
        char *p = realloc(s->key, cap);
        if (!p) return nomem(s);
        s->key = p, s->key_cap = cap;
    }
    memcpy(s->key, k, n), s->key[n] = 0;
    return 1;
}

static const yajl_callbacks CALLBACKS = {
    cb_null, cb_bool, NULL, NULL, cb_number, cb_string, cb_start_map, cb_key, cb_end, cb_start_array, cb_end,
};

/* Python's json.dump writes NaN, Infinity and -Infinity, which JSON (and
 * yajl) refuse; saex keeps them in the user's fields. Outside strings each is
 * overwritten in place by a 0 and spaces, so offsets in messages still match
 * the file (the analysis never reads those fields as numbers). Returns how
 * many bytes are ready; a literal cut by the chunk's end waits for the next. */
typedef struct {
    int in_str, esc;
} nonfinite_state;

static size_t neutralize_nonfinite(nonfinite_state *st, unsigned char *b, size_t n, int at_eof) {
    for (size_t i = 0; i < n; i++) {
        unsigned char c = b[i];
        if (st->in_str) {
            if (st->esc) st->esc = 0;
            else if (c == '\\') st->esc = 1;
            else if (c == '"') st->in_str = 0;
            continue;
        }
        if (c == '"') {
            st->in_str = 1;
            continue;
        }
        const char *lit = c == 'N' ? "NaN" : c == 'I' ? "Infinity" : NULL;
        if (!lit) continue;
        size_t len = strlen(lit);
        if (i + len > n && !at_eof) return i;
        if (i + len <= n && !memcmp(b + i, lit, len)) {
            b[i] = '0';
            memset(b + i + 1, ' ', len - 1);
            i += len - 1;
        }
    }
    return n;
}

/* yajl's message without its trailing line break. */
static const char *trim(unsigned char *msg) {
    if (!msg) return "parse error";
    size_t n = strlen((char *)msg);
    while (n && (msg[n - 1] == '\n' || msg[n - 1] == ' ')) msg[--n] = 0;
    return (const char *)msg;
}

/* Line and column of byte `off` of chunk b, given the lines before it. */
static void where(const unsigned char *b, size_t off, long long line, long long col, long long *l, long long *c) {
    for (size_t i = 0; i < off; i++) {
        if (b[i] == '\n') line++, col = 1;
        else col++;
    }
    *l = line, *c = col;
}

static void scan_reset(json_source *s) {
    s->depth = 0;
    s->err = SAEX_OK;
    s->n_vars = s->n_results = s->n_top_values = 0;
    s->container = s->top_array = 0;
    labels_free(&s->result);
    var_free(&s->var);
    for (int i = 0; i < s->n_pending; i++) var_free(&s->pending[i]);
    s->n_pending = 0;
    layer_buf_reset(&s->lb);
}

static saex_status load_sidecar(json_source *s) {
    char *p = malloc(strlen(s->path) + 16);
    if (!p) return saex_fail(SAEX_ERR_NOMEM, "out of memory");
    sprintf(p, "%s.meta.json", s->path);
    json_error_t e;
    json_t *m = json_load_file(p, JSON_DECODE_ANY | JSON_ALLOW_NUL, &e);
    saex_status st = SAEX_OK;
    if (!m) {
        /* Absent: the analysis runs without metadata. Malformed: say so. */
        if (access(p, F_OK) == 0) st = saex_fail(SAEX_ERR_FORMAT, "%s: line %d: %s", p, e.line, e.text);
    } else {
        json_t *meta = json_object_get(m, "sae_extraction_metadata");
        json_t *form = json_object_get(m, "input_form");
        if (json_is_string(form)) snprintf(s->form, sizeof s->form, "%s", json_string_value(form));
        if (json_is_object(meta)) {
            json_decref(s->meta);
            s->meta = json_incref(meta);
        }
        json_decref(m);
    }
    free(p);
    return st;
}

static saex_status json_scan(an_source *src, const an_request *req, an_visit visit, void *ctx) {
    json_source *s = (json_source *)src;
    FILE *f = fopen(s->path, "rb");
    if (!f) return saex_fail(SAEX_ERR_IO, "%s: %s", s->path, strerror(errno));
    struct stat stt;
    int64_t total = fstat(fileno(f), &stt) == 0 ? (int64_t)stt.st_size : -1;
    unsigned char *buf = malloc(CHUNK + 16);
    yajl_handle h = yajl_alloc(&CALLBACKS, NULL, s);
    if (!buf || !h) {
        free(buf);
        if (h) yajl_free(h);
        fclose(f);
        return saex_fail(SAEX_ERR_NOMEM, "%s: out of memory", s->path);
    }
    yajl_config(h, yajl_allow_multiple_values, 1);
    s->req = req, s->visit = visit, s->ctx = ctx;
    scan_reset(s);
    s->fields_from = 0;
    s->fields[0] = 0;
    json_decref(s->meta);
    s->meta = NULL;
    nonfinite_state nf = {0, 0};
    long long line = 1, col = 1;
    int64_t done = 0;
    size_t carry = 0;
    saex_status st = SAEX_OK;
    int bom_checked = 0;
    for (;;) {
        size_t got = fread(buf + carry, 1, CHUNK - carry, f);
        if (ferror(f)) {
            st = saex_fail(SAEX_ERR_IO, "%s: read error: %s", s->path, strerror(errno));
            break;
        }
        size_t n = carry + got;
        int eof = got == 0 || feof(f);
        if (!bom_checked && n >= 3) {
            bom_checked = 1;
            if (!memcmp(buf, "\xEF\xBB\xBF", 3)) memset(buf, ' ', 3); /* a UTF-8 byte order mark */
        }
        size_t ready = neutralize_nonfinite(&nf, buf, n, eof);
        yajl_status ys = ready ? yajl_parse(h, buf, ready) : yajl_status_ok;
        if (ys != yajl_status_ok) {
            if (ys == yajl_status_client_canceled && s->err) {
                st = s->err;
            } else {
                long long l, c;
                where(buf, yajl_get_bytes_consumed(h), line, col, &l, &c);
                unsigned char *msg = yajl_get_error(h, 0, buf, ready);
                st = saex_fail(SAEX_ERR_FORMAT, "%s:%lld:%lld: not valid JSON: %s", s->path, l, c, trim(msg));
                if (msg) yajl_free_error(h, msg);
            }
            break;
        }
        where(buf, ready, line, col, &line, &col);
        done += (int64_t)ready;
        carry = n - ready;
        memmove(buf, buf + ready, carry);
        if (s->events && s->events->progress) {
            saex_progress p = {"read", s->path, done, total, 0, 0, eof};
            s->events->progress(s->events->ctx, &p);
        }
        if (s->events && s->events->should_stop && s->events->should_stop(s->events->ctx)) {
            st = saex_fail(SAEX_ERR_INTERRUPTED, "%s: reading interrupted", s->path);
            break;
        }
        if (eof) break;
    }
    if (!st) {
        yajl_status ys = yajl_complete_parse(h);
        if (ys == yajl_status_client_canceled && s->err) {
            st = s->err;
        } else if (ys != yajl_status_ok) {
            unsigned char *msg = yajl_get_error(h, 0, buf, 0);
            st = saex_fail(SAEX_ERR_FORMAT, "%s:%lld:%lld: not valid JSON: %s", s->path, line, col,
                           done == 0 ? "empty file" : trim(msg));
            if (msg) yajl_free_error(h, msg);
        }
    }
    yajl_free(h);
    free(buf);
    fclose(f);
    if (!st && s->n_top_values == 0) st = saex_fail(SAEX_ERR_FORMAT, "%s: empty file", s->path);
    if (!st) {
        const char *form = s->container ? "results" : s->top_array && s->n_top_values == 1 ? "list" : "jsonl";
        snprintf(s->form, sizeof s->form, "%s", form);
        if (!s->container) st = load_sidecar(s);
    }
    scan_reset(s);
    return st;
}

static const json_t *json_metadata(an_source *src) { return ((json_source *)src)->meta; }
static const char *json_form(an_source *src) { return ((json_source *)src)->form; }
static const char *json_fields(an_source *src) { return ((json_source *)src)->fields; }

static void json_close(an_source *src) {
    json_source *s = (json_source *)src;
    if (!s) return;
    scan_reset(s);
    layer_buf_free(&s->lb);
    an_vec_free(&s->vec);
    free(s->rows), free(s->pending), free(s->key), free(s->path);
    json_decref(s->meta);
    free(s);
}

saex_status an_source_open_output(const char *path, const saex_events *events, an_source **out) {
    *out = NULL;
    struct stat st;
    if (stat(path, &st) != 0) return saex_fail(SAEX_ERR_IO, "%s: %s", path, strerror(errno));
    if (S_ISDIR(st.st_mode))
        return saex_fail(SAEX_ERR_UNSUPPORTED, "%s is a folder, not a saex output file (run stores are not read yet)",
                         path);
    json_source *s = calloc(1, sizeof *s);
    if (!s || !(s->path = strdup(path))) {
        free(s);
        return saex_fail(SAEX_ERR_NOMEM, "out of memory");
    }
    s->events = events;
    s->lb.answer_start = -1;
    s->base = (an_source){s->path, json_scan, json_metadata, json_form, json_fields, json_close};
    *out = &s->base;
    return SAEX_OK;
}
