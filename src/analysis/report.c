/* report.c — `saex report`: what the page shows, gathered in two reads of
 * the output. The first read collects every sample's vector and runs the
 * comparison; the features worth a card are chosen (the most frequent per
 * condition, the top rows of each test) with the samples where each fires
 * most. The second read keeps, for those samples only, their tokens and the
 * chosen features' activation at each token (every-token outputs), so that
 * memory stays bounded by what the page shows. */
#include <stdlib.h>
#include <string.h>

#include "analysis/report.h"
#include "error.h"

void saex_report_options_init(saex_report_options *o) {
    memset(o, 0, sizeof *o);
    saex_compare_options_init(&o->compare);
    o->top = 20;
    o->examples = 5;
}

/* ------------------------------------------------------------ selection */

typedef struct {
    int32_t f;
    double frac, mean;
} freq;

static int cmp_freq(const void *pa, const void *pb) {
    const freq *a = pa, *b = pb;
    if (a->frac != b->frac) return a->frac > b->frac ? -1 : 1;
    if (a->mean != b->mean) return a->mean > b->mean ? -1 : 1;
    return (a->f > b->f) - (a->f < b->f);
}

/* The `top` most frequent features of each condition (then by mean). */
static int select_frequent(report *r, const ds_layer *l, const ds_columns *col, rp_layer *out) {
    const an_dataset *ds = r->ds;
    int nc = ds->conds.n, top = r->o->top;
    out->cond_n = calloc((size_t)nc, sizeof *out->cond_n);
    out->top = malloc((size_t)(nc * top) * sizeof *out->top);
    out->top_frac = calloc((size_t)(nc * top), sizeof *out->top_frac);
    out->top_mean = calloc((size_t)(nc * top), sizeof *out->top_mean);
    freq *fr = malloc((size_t)(col->n_features ? col->n_features : 1) * sizeof *fr);
    int64_t *cnt = calloc((size_t)nc, sizeof *cnt);
    double *sum = calloc((size_t)nc, sizeof *sum);
    if (!out->cond_n || !out->top || !out->top_frac || !out->top_mean || !fr || !cnt || !sum) {
        free(fr), free(cnt), free(sum);
        return -1;
    }
    for (int64_t i = 0; i < ds->n; i++)
        if (l->status[i] == AN_OK && ds->cond[i] >= 0) out->cond_n[ds->cond[i]]++;
    for (int k = 0; k < nc * top; k++) out->top[k] = -1;
    for (int c = 0; c < nc; c++) {
        int n = 0;
        for (int32_t f = 0; f < col->n_features; f++) {
            int64_t k_cnt = 0;
            double k_sum = 0;
            for (int64_t k = col->ptr[f]; k < col->ptr[f + 1]; k++)
                if (ds->cond[col->sample[k]] == c) k_cnt++, k_sum += col->act[k];
            if (k_cnt) fr[n++] = (freq){f, (double)k_cnt / (double)out->cond_n[c], k_sum / (double)out->cond_n[c]};
        }
        qsort(fr, (size_t)n, sizeof *fr, cmp_freq);
        for (int k = 0; k < n && k < top; k++) {
            out->top[c * top + k] = fr[k].f;
            out->top_frac[c * top + k] = fr[k].frac;
            out->top_mean[c * top + k] = fr[k].mean;
        }
    }
    free(fr), free(cnt), free(sum);
    return 0;
}

/* The features that get a card: the frequent ones and the top rows of this
 * layer's tests; for each, the samples where it fires most. */
static int select_cards(report *r, int li, const ds_columns *col, rp_layer *out, unsigned char *shown_sample) {
    const saex_comparison_info *in = saex_comparison_get_info(r->c);
    int nc = r->ds->conds.n, top = r->o->top, nex = r->o->examples;
    unsigned char *mark = calloc((size_t)(col->n_features ? col->n_features : 1), 1);
    if (!mark) return -1;
    for (int k = 0; k < nc * top; k++)
        if (out->top[k] >= 0) mark[out->top[k]] = 1;
    for (int t = 0; t < in->n_tests; t++) {
        if (in->tests[t].layer != r->ds->layers[li].layer) continue;
        for (int64_t k = 0; k < in->tests[t].n_rows && k < top; k++)
            mark[saex_comparison_row(r->c, in->tests[t].first_row + k)->feature] = 1;
    }
    for (int32_t f = 0; f < col->n_features; f++) out->n_feat += mark[f];
    out->feat = malloc((size_t)(out->n_feat ? out->n_feat : 1) * sizeof *out->feat);
    out->ex = malloc((size_t)(out->n_feat * nex + 1) * sizeof *out->ex);
    out->ex_act = malloc((size_t)(out->n_feat * nex + 1) * sizeof *out->ex_act);
    if (!out->feat || !out->ex || !out->ex_act) return free(mark), -1;
    int j = 0;
    for (int32_t f = 0; f < col->n_features; f++) {
        if (!mark[f]) continue;
        int64_t *ex = out->ex + j * nex;
        float *act = out->ex_act + j * nex;
        for (int k = 0; k < nex; k++) ex[k] = -1, act[k] = 0;
        /* Insertion into a short list sorted by activation, largest first. */
        for (int64_t k = col->ptr[f]; k < col->ptr[f + 1]; k++) {
            float a = col->act[k];
            if (ex[nex - 1] >= 0 && a <= act[nex - 1]) continue;
            int at = nex - 1;
            while (at > 0 && (ex[at - 1] < 0 || a > act[at - 1])) ex[at] = ex[at - 1], act[at] = act[at - 1], at--;
            ex[at] = col->sample[k], act[at] = a;
        }
        for (int k = 0; k < nex; k++)
            if (ex[k] >= 0) shown_sample[ex[k]] = 1;
        out->feat[j++] = f;
    }
    free(mark);
    return 0;
}

/* ------------------------------------------------------- the second read */

typedef struct {
    report *r;
    const unsigned char *shown;
} pass2;

static int is_card(const rp_layer *l, int32_t f) {
    int lo = 0, hi = l->n_feat - 1;
    while (lo <= hi) {
        int mid = (lo + hi) / 2;
        if (l->feat[mid] == f) return 1;
        if (l->feat[mid] < f) lo = mid + 1;
        else hi = mid - 1;
    }
    return 0;
}

static void detail_free(rp_detail *d, int n_layers) {
    if (!d) return;
    for (int i = 0; i < d->n_tok; i++) free(d->piece[i]);
    for (int l = 0; l < n_layers; l++) free(d->hit_tok[l]), free(d->hit_id[l]), free(d->hit_act[l]);
    free(d->pos), free(d->piece), free(d->n_hit), free(d->hit_tok), free(d->hit_id), free(d->hit_act);
    free(d);
}

static saex_status keep_tokens(void *ctx, const an_sample *s) {
    pass2 *p = ctx;
    report *r = p->r;
    const an_dataset *ds = r->ds;
    if (s->index >= ds->n || !p->shown[s->index]) return SAEX_OK;
    int nl = ds->n_layers;
    rp_detail *d = calloc(1, sizeof *d);
    if (!d) return saex_fail(SAEX_ERR_NOMEM, "out of memory");
    r->detail[s->index] = d;
    d->n_hit = calloc((size_t)nl, sizeof *d->n_hit);
    d->hit_tok = calloc((size_t)nl, sizeof *d->hit_tok);
    d->hit_id = calloc((size_t)nl, sizeof *d->hit_id);
    d->hit_act = calloc((size_t)nl, sizeof *d->hit_act);
    if (!d->n_hit || !d->hit_tok || !d->hit_id || !d->hit_act) return saex_fail(SAEX_ERR_NOMEM, "out of memory");
    d->answer_start = -1;
    for (int k = 0; k < s->n_layers; k++) {
        const an_layer *in = &s->layer[k];
        int li = -1;
        for (int j = 0; j < nl; j++)
            if (ds->layers[j].layer == in->layer) li = j;
        if (li < 0 || in->n_tok == 0) continue;
        if (!d->pos) { /* the positions are the same in every layer: keep the first layer's */
            d->n_tok = in->n_tok;
            d->answer_start = in->answer_start;
            d->pos = malloc((size_t)in->n_tok * sizeof *d->pos);
            d->piece = calloc((size_t)in->n_tok, sizeof *d->piece);
            if (!d->pos || !d->piece) return saex_fail(SAEX_ERR_NOMEM, "out of memory");
            memcpy(d->pos, in->tok_pos, (size_t)in->n_tok * sizeof *d->pos);
            for (int i = 0; i < in->n_tok; i++) {
                if (in->tok_piece[i] && !(d->piece[i] = strdup(in->tok_piece[i])))
                    return saex_fail(SAEX_ERR_NOMEM, "out of memory");
                if (in->tok_piece[i]) r->every_token = 1;
            }
        }
        const rp_layer *rl = &r->layers[li];
        d->hit_tok[li] = malloc((size_t)(in->n_hit ? in->n_hit : 1) * sizeof **d->hit_tok);
        d->hit_id[li] = malloc((size_t)(in->n_hit ? in->n_hit : 1) * sizeof **d->hit_id);
        d->hit_act[li] = malloc((size_t)(in->n_hit ? in->n_hit : 1) * sizeof **d->hit_act);
        if (!d->hit_tok[li] || !d->hit_id[li] || !d->hit_act[li]) return saex_fail(SAEX_ERR_NOMEM, "out of memory");
        for (int h = 0; h < in->n_hit; h++)
            if (is_card(rl, in->hit_id[h])) {
                int n = d->n_hit[li]++;
                d->hit_tok[li][n] = in->hit_tok[h], d->hit_id[li][n] = in->hit_id[h], d->hit_act[li][n] = in->hit_act[h];
            }
    }
    return SAEX_OK;
}

/* Whether any layer's metadata says every token was saved (unknown: 1). */
static int maybe_every_token(const json_t *meta) {
    if (!json_is_object(meta) || json_object_size(meta) == 0) return 1;
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)meta, k, v) if (json_is_true(json_object_get(v, "save_all_tokens"))) return 1;
    return 0;
}

/* ------------------------------------------------------------------ run */

static void report_free(report *r) {
    if (r->layers)
        for (int li = 0; li < r->ds->n_layers; li++) {
            rp_layer *l = &r->layers[li];
            free(l->feat), free(l->ex), free(l->ex_act), free(l->top), free(l->top_frac), free(l->top_mean);
            free(l->cond_n);
        }
    if (r->detail)
        for (int64_t i = 0; i < r->ds->n; i++) detail_free(r->detail[i], r->ds->n_layers);
    free(r->layers), free(r->detail);
}

static saex_status gather(report *r, an_source *src, const an_request *req0) {
    const an_dataset *ds = r->ds;
    r->layers = calloc((size_t)ds->n_layers, sizeof *r->layers);
    r->detail = calloc((size_t)ds->n, sizeof *r->detail);
    unsigned char *shown = calloc((size_t)ds->n, 1);
    int32_t n_features = 0;
    for (int li = 0; li < ds->n_layers; li++)
        if (ds->layers[li].max_id + 1 > n_features) n_features = ds->layers[li].max_id + 1;
    unsigned char *card = calloc((size_t)(n_features ? n_features : 1), 1);
    saex_status st = SAEX_OK;
    if (!r->layers || !r->detail || !shown || !card) st = saex_fail(SAEX_ERR_NOMEM, "out of memory");
    for (int li = 0; li < ds->n_layers && !st; li++) {
        ds_columns col;
        if (ds_columns_build(&ds->layers[li], ds->n, &col) || select_frequent(r, &ds->layers[li], &col, &r->layers[li]) ||
            select_cards(r, li, &col, &r->layers[li], shown))
            st = saex_fail(SAEX_ERR_NOMEM, "out of memory");
        ds_columns_free(&col);
        if (!st)
            for (int j = 0; j < r->layers[li].n_feat; j++) card[r->layers[li].feat[j]] = 1;
    }
    if (!st && maybe_every_token(src->metadata(src))) {
        an_request req = *req0;
        req.detail = shown, req.n_detail = ds->n;
        req.detail_feature = card, req.n_detail_feature = n_features;
        pass2 p = {r, shown};
        st = src->scan(src, &req, keep_tokens, &p);
        if (st) st = saex_fail_prefix(st, "%s (second read)", src->name);
    }
    free(shown), free(card);
    return st;
}

saex_status saex_report(const char *output, const saex_report_options *o, const char *html_path) {
    if (!o || !o->compare.by || o->top < 1 || o->examples < 1)
        return saex_fail(SAEX_ERR_ARG, "saex_report: bad options (by, top >= 1, examples >= 1)");
    an_source *src;
    saex_status st = an_source_open(output, &o->compare, &src);
    if (st) return st;
    an_request req = {.positions = o->compare.positions, .by = o->compare.by, .pair_by = o->compare.pair_by};
    an_dataset ds = {.only_layer = o->compare.layer, .keep_snippets = 1};
    saex_comparison *c = NULL;
    report r = {.o = o, .ds = &ds};
    st = an_dataset_collect(src, &req, &ds);
    if (!st) st = an_compare_dataset(&ds, &o->compare, src, &c);
    r.c = c;
    if (!st) st = gather(&r, src, &req);
    if (!st) st = report_write_html(&r, html_path);
    report_free(&r);
    saex_comparison_close(c);
    an_dataset_free(&ds);
    src->close(src);
    return st;
}
