/* compare.c — `saex compare`: per layer, per pair of conditions and per
 * feature, how often and how strongly the feature fires in each condition,
 * a rank test of the difference, and Benjamini-Hochberg across features.
 *
 * A feature absent from a sample's top-k counts as activation 0 there: the
 * sample's top-k is all that the output holds. Only features active in at
 * least one tested sample get a row. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/comparison.h"
#include "analysis/stats.h"
#include "error.h"

void saex_compare_options_init(saex_compare_options *o) {
    memset(o, 0, sizeof *o);
    o->by = "template_type";
    o->layer = -1;
    o->positions = SAEX_POSITIONS_LAST;
}

/* Every pair of 45 conditions; more is a field that is not a condition
 * (a prompt, an id), and its tests would not fit in memory. */
enum { MAX_TESTS_PER_LAYER = 1000 };

/* ------------------------------------------------------------- messages */

/* "a, b, c" of a string table, cut at about size bytes. */
static void join(const strtab *t, char *buf, size_t size) {
    size_t n = 0;
    buf[0] = 0;
    for (int32_t i = 0; i < t->n && n + 8 < size; i++) {
        int w = snprintf(buf + n, size - n, "%s\"%s\"", i ? ", " : "", t->str[i]);
        if (w < 0 || (size_t)w >= size - n) {
            snprintf(buf + (n > size - 5 ? size - 5 : n), 5, "...");
            return;
        }
        n += (size_t)w;
    }
}

static void join_layers(const an_dataset *ds, char *buf, size_t size) {
    size_t n = 0;
    buf[0] = 0;
    for (int i = 0; i < ds->n_seen && n + 16 < size; i++)
        n += (size_t)snprintf(buf + n, size - n, "%slayer_%d", i ? ", " : "", ds->seen[i]);
}

/* Whole-input checks, before any test: each names what is wrong and what to do. */
static saex_status check_input(const an_dataset *ds, const saex_compare_options *o, an_source *src) {
    const char *name = src->name;
    char list[512];
    if (ds->n == 0) return saex_fail(SAEX_ERR_FORMAT, "%s: no variations: not a saex output", name);
    if (ds->n_seen == 0)
        return saex_fail(SAEX_ERR_FORMAT,
                         "%s is not a saex output: none of its %lld variations has \"sae_activations\" (run saex "
                         "extract on it first)",
                         name, (long long)ds->n);
    if (o->layer >= 0 && ds->n_layers == 0) {
        join_layers(ds, list, sizeof list);
        return saex_fail(SAEX_ERR_ARG, "%s has no layer_%d (it has %s)", name, o->layer, list);
    }
    if (ds->conds.n == 0)
        return saex_fail(SAEX_ERR_ARG,
                         "%s: no variation has a \"%s\" field (on itself or on its result) to group by; fields "
                         "seen: %s",
                         name, o->by, src->fields(src));
    if (ds->conds.n == 1)
        return saex_fail(SAEX_ERR_ARG,
                         "%s: \"%s\" has a single value (\"%s\") in all %lld labelled variations: nothing to "
                         "compare (choose another --by)",
                         name, o->by, ds->conds.str[0], (long long)(ds->n - ds->n_unlabelled));
    int64_t nc = ds->conds.n, n_tests = o->baseline ? nc - 1 : nc * (nc - 1) / 2;
    if (n_tests > MAX_TESTS_PER_LAYER)
        return saex_fail(SAEX_ERR_ARG,
                         "%s: \"%s\" has %lld values: %lld tests per layer (at most %d); compare with "
                         "--baseline, or group by another field",
                         name, o->by, (long long)nc, (long long)n_tests, MAX_TESTS_PER_LAYER);
    if (o->baseline && strtab_find(&ds->conds, o->baseline) < 0) {
        join(&ds->conds, list, sizeof list);
        return saex_fail(SAEX_ERR_ARG, "--baseline \"%s\" is not a value of \"%s\" in %s (values: %s)", o->baseline,
                         o->by, name, list);
    }
    if (o->pair_by && ds->n_with_pair == 0)
        return saex_fail(SAEX_ERR_ARG,
                         "%s: no variation has a \"%s\" field (on itself or on its result) to pair by; fields "
                         "seen: %s",
                         name, o->pair_by, src->fields(src));
    return SAEX_OK;
}

/* ----------------------------------------------------------- per layer */

/* Scratch shared by the tests of one layer. */
typedef struct {
    int64_t *slot;   /* [n samples] +k: k-th of a, -k: k-th of b, 0: not tested */
    int64_t *list_a, *list_b;
    int64_t *pair_a, *pair_b; /* [n pair keys] the sample of a / b with that key, -1 */
    double *xa, *xb;
} scratch;

static int add_row(saex_comparison *c, const saex_compare_row *r) {
    if (c->n_rows == c->cap_rows) {
        int64_t cap = c->cap_rows ? c->cap_rows * 2 : 1024;
        saex_compare_row *p = realloc(c->rows, (size_t)cap * sizeof *p);
        if (!p) return -1;
        c->rows = p, c->cap_rows = cap;
    }
    c->rows[c->n_rows++] = *r;
    return 0;
}

static int cmp_rank(const void *pa, const void *pb) {
    const saex_compare_row *a = pa, *b = pb;
    int na = isnan(a->p_adj), nb = isnan(b->p_adj);
    if (na != nb) return na - nb;
    if (!na && a->p_adj != b->p_adj) return a->p_adj < b->p_adj ? -1 : 1;
    double ea = fabs(a->rank_biserial), eb = fabs(b->rank_biserial);
    if (ea != eb) return ea > eb ? -1 : 1;
    double da = fabs(a->mean_diff), db = fabs(b->mean_diff);
    if (da != db) return da > db ? -1 : 1;
    return (a->feature > b->feature) - (a->feature < b->feature);
}

/* The samples of test t: lists of a and b (paired: pair by pair). */
static saex_status pick_samples(const an_dataset *ds, const ds_layer *l, saex_comparison_test *t, int32_t ca,
                                int32_t cb, int paired, scratch *w, const char *name, const char *pair_by) {
    int64_t na = 0, nb = 0, ta = 0, tb = 0;
    if (paired)
        for (int32_t k = 0; k < ds->pairs.n; k++) w->pair_a[k] = w->pair_b[k] = -1;
    for (int64_t i = 0; i < ds->n; i++) {
        if (l->status[i] != AN_OK || (ds->cond[i] != ca && ds->cond[i] != cb)) continue;
        int is_a = ds->cond[i] == ca;
        is_a ? ta++ : tb++;
        if (!paired) {
            if (is_a) w->list_a[na++] = i;
            else w->list_b[nb++] = i;
            continue;
        }
        if (ds->pair[i] < 0) continue;
        int64_t *seen = is_a ? &w->pair_a[ds->pair[i]] : &w->pair_b[ds->pair[i]];
        if (*seen >= 0)
            return saex_fail(SAEX_ERR_ARG,
                             "%s: %s \"%s\" occurs twice in condition \"%s\" (%s and %s): pairs must be unique; "
                             "drop --pair-by for an unpaired test",
                             name, pair_by, ds->pairs.str[ds->pair[i]], t->a, ds->label[*seen], ds->label[i]);
        *seen = i;
    }
    if (paired) {
        for (int32_t k = 0; k < ds->pairs.n; k++)
            if (w->pair_a[k] >= 0 && w->pair_b[k] >= 0) w->list_a[na++] = w->pair_a[k], w->list_b[nb++] = w->pair_b[k];
        if (na == 0)
            return saex_fail(SAEX_ERR_ARG,
                             "%s: layer_%d: no \"%s\" value is shared by a \"%s\" and a \"%s\" variation: nothing "
                             "pairs (drop --pair-by for an unpaired test)",
                             name, l->layer, pair_by, t->a, t->b);
    }
    if (na == 0 || nb == 0)
        return saex_fail(SAEX_ERR_ARG, "%s: layer_%d: condition \"%s\" has no processed variation", name, l->layer,
                         na == 0 ? t->a : t->b);
    t->n_a = na, t->n_b = nb;
    t->n_left_out = paired ? ta + tb - na - nb : 0;
    return SAEX_OK;
}

/* One test: every feature active in a tested sample, then BH and ranking. */
static saex_status run_test(saex_comparison *c, int ti, const an_dataset *ds, const ds_layer *l, const ds_columns *col,
                            scratch *w) {
    saex_comparison_test *t = &c->tests[ti];
    int paired = t->paired;
    for (int64_t k = 0; k < t->n_a; k++) w->slot[w->list_a[k]] = k + 1, w->xa[k] = 0;
    for (int64_t k = 0; k < t->n_b; k++) w->slot[w->list_b[k]] = -(k + 1), w->xb[k] = 0;
    t->first_row = c->n_rows;
    saex_status st = SAEX_OK;
    for (int32_t f = 0; f < col->n_features && !st; f++) {
        int64_t cnt_a = 0, cnt_b = 0;
        double sum_a = 0, sum_b = 0;
        for (int64_t k = col->ptr[f]; k < col->ptr[f + 1]; k++) {
            int64_t s = w->slot[col->sample[k]];
            double v = col->act[k];
            if (s > 0) w->xa[s - 1] = v, cnt_a++, sum_a += v;
            else if (s < 0) w->xb[-s - 1] = v, cnt_b++, sum_b += v;
        }
        if (!cnt_a && !cnt_b) continue;
        stat_result r;
        saex_compare_row row = {.test = ti, .feature = f};
        int rc;
        if (paired) {
            rc = stat_wilcoxon(w->xb, w->xa, t->n_a, &r);
            row.cohens_d = stat_cohens_dz(w->xb, w->xa, t->n_a);
        } else {
            rc = stat_mannwhitneyu(w->xb, t->n_b, w->xa, t->n_a, &r);
            row.cohens_d = stat_cohens_d(w->xb, t->n_b, w->xa, t->n_a);
        }
        row.frac_a = (double)cnt_a / (double)t->n_a, row.frac_b = (double)cnt_b / (double)t->n_b;
        row.mean_a = sum_a / (double)t->n_a, row.mean_b = sum_b / (double)t->n_b;
        row.mean_diff = row.mean_b - row.mean_a;
        row.rank_biserial = r.rank_biserial;
        row.method = stat_method_name(r.method);
        row.statistic = r.statistic;
        row.p = r.p;
        if (rc || add_row(c, &row)) st = saex_fail(SAEX_ERR_NOMEM, "out of memory");
        for (int64_t k = col->ptr[f]; k < col->ptr[f + 1]; k++) {
            int64_t s = w->slot[col->sample[k]];
            if (s > 0) w->xa[s - 1] = 0;
            else if (s < 0) w->xb[-s - 1] = 0;
        }
    }
    for (int64_t k = 0; k < t->n_a; k++) w->slot[w->list_a[k]] = 0;
    for (int64_t k = 0; k < t->n_b; k++) w->slot[w->list_b[k]] = 0;
    if (st) return st;
    t->n_rows = c->n_rows - t->first_row;
    saex_compare_row *rows = c->rows + t->first_row;
    double *p = malloc((size_t)(t->n_rows ? t->n_rows : 1) * sizeof *p);
    if (!p) return saex_fail(SAEX_ERR_NOMEM, "out of memory");
    for (int64_t k = 0; k < t->n_rows; k++) p[k] = rows[k].p;
    int rc = stat_bh(p, t->n_rows, p);
    for (int64_t k = 0; k < t->n_rows; k++) rows[k].p_adj = p[k];
    free(p);
    if (rc) return saex_fail(SAEX_ERR_NOMEM, "out of memory");
    qsort(rows, (size_t)t->n_rows, sizeof *rows, cmp_rank);
    for (int64_t k = 0; k < t->n_rows; k++) rows[k].rank = k + 1;
    return SAEX_OK;
}

/* --------------------------------------------------------------- setup */

static char *neuronpedia_of(const json_t *meta, int layer) {
    char key[32];
    snprintf(key, sizeof key, "layer_%d", layer);
    const char *s = json_string_value(json_object_get(json_object_get(meta, key), "neuronpedia_id"));
    return s && *s ? strdup(s) : NULL;
}

static saex_comparison *comparison_new(const an_dataset *ds, const saex_compare_options *o, an_source *src) {
    saex_comparison *c = calloc(1, sizeof *c);
    if (!c) return NULL;
    int nc = ds->conds.n, nl = ds->n_layers;
    int n_tests_per_layer = o->baseline ? nc - 1 : nc * (nc - 1) / 2;
    c->input = strdup(src->name);
    c->by = strdup(o->by);
    c->pair_by = o->pair_by ? strdup(o->pair_by) : NULL;
    c->baseline = o->baseline ? strdup(o->baseline) : NULL;
    c->conditions = calloc((size_t)nc, sizeof *c->conditions);
    c->condition_size = calloc((size_t)nc, sizeof *c->condition_size);
    c->layers = calloc((size_t)nl, sizeof *c->layers);
    c->n_failed = calloc((size_t)nl, sizeof *c->n_failed);
    c->n_unprocessed = calloc((size_t)nl, sizeof *c->n_unprocessed);
    c->neuronpedia = calloc((size_t)nl, sizeof *c->neuronpedia);
    c->tests = calloc((size_t)(n_tests_per_layer * nl), sizeof *c->tests);
    const json_t *meta = src->metadata(src);
    c->meta = meta ? json_deep_copy(meta) : NULL;
    snprintf(c->form, sizeof c->form, "%s", src->form(src));
    if (!c->input || !c->by || (o->pair_by && !c->pair_by) || (o->baseline && !c->baseline) || !c->conditions ||
        !c->condition_size || !c->layers || !c->n_failed || !c->n_unprocessed || !c->neuronpedia || !c->tests) {
        saex_comparison_close(c);
        return NULL;
    }
    for (int i = 0; i < nc; i++)
        if (!(c->conditions[i] = strdup(ds->conds.str[i]))) return saex_comparison_close(c), NULL;
    for (int64_t i = 0; i < ds->n; i++)
        if (ds->cond[i] >= 0) c->condition_size[ds->cond[i]]++;
    for (int li = 0; li < nl; li++) {
        const ds_layer *l = &ds->layers[li];
        c->layers[li] = l->layer;
        c->n_failed[li] = l->n_failed;
        c->n_unprocessed[li] = l->n_absent + l->n_no_positions;
        c->neuronpedia[li] = neuronpedia_of(c->meta, l->layer);
    }
    int ti = 0;
    for (int li = 0; li < nl; li++) {
        int base = o->baseline ? strtab_find(&ds->conds, o->baseline) : -1;
        for (int a = 0; a < nc; a++)
            for (int b = a + 1; b < nc; b++) {
                int ca = a, cb = b;
                if (base >= 0) {
                    if (a != base && b != base) continue;
                    if (b == base) ca = b, cb = a; /* the baseline is always a */
                }
                c->tests[ti++] = (saex_comparison_test){.layer = ds->layers[li].layer, .a = c->conditions[ca],
                                                        .b = c->conditions[cb], .paired = o->pair_by != NULL};
            }
    }
    saex_comparison_info *in = &c->info;
    in->input = c->input, in->form = c->form, in->by = c->by, in->pair_by = c->pair_by, in->baseline = c->baseline;
    in->positions = saex_positions_name(o->positions);
    in->n_samples = ds->n, in->n_unlabelled = ds->n_unlabelled;
    in->n_conditions = nc;
    in->conditions = (const char *const *)c->conditions;
    in->condition_size = c->condition_size;
    in->n_layers = nl, in->layers = c->layers;
    in->n_failed = c->n_failed, in->n_unprocessed = c->n_unprocessed;
    in->neuronpedia = (const char *const *)c->neuronpedia;
    in->n_tests = ti, in->tests = c->tests;
    return c;
}

int an_test_layer_index(const saex_comparison *c, int test) {
    for (int li = 0; li < c->info.n_layers; li++)
        if (c->layers[li] == c->tests[test].layer) return li;
    return -1;
}

saex_status an_compare_dataset(const an_dataset *ds, const saex_compare_options *o, an_source *src,
                               saex_comparison **out) {
    *out = NULL;
    saex_status st = check_input(ds, o, src);
    if (st) return st;
    saex_comparison *c = comparison_new(ds, o, src);
    if (!c) return saex_fail(SAEX_ERR_NOMEM, "out of memory");
    scratch w = {0};
    int64_t n = ds->n, np = ds->pairs.n;
    w.slot = calloc((size_t)n, sizeof *w.slot);
    w.list_a = malloc((size_t)n * sizeof *w.list_a), w.list_b = malloc((size_t)n * sizeof *w.list_b);
    w.pair_a = malloc((size_t)(np ? np : 1) * sizeof *w.pair_a);
    w.pair_b = malloc((size_t)(np ? np : 1) * sizeof *w.pair_b);
    w.xa = malloc((size_t)n * sizeof *w.xa), w.xb = malloc((size_t)n * sizeof *w.xb);
    if (!w.slot || !w.list_a || !w.list_b || !w.pair_a || !w.pair_b || !w.xa || !w.xb)
        st = saex_fail(SAEX_ERR_NOMEM, "out of memory");
    for (int li = 0; li < ds->n_layers && !st; li++) {
        const ds_layer *l = &ds->layers[li];
        ds_columns col;
        if (ds_columns_build(l, n, &col)) st = saex_fail(SAEX_ERR_NOMEM, "out of memory");
        for (int ti = 0; ti < c->info.n_tests && !st; ti++) {
            saex_comparison_test *t = &c->tests[ti];
            if (t->layer != l->layer) continue;
            st = pick_samples(ds, l, t, strtab_find(&ds->conds, t->a), strtab_find(&ds->conds, t->b), t->paired, &w,
                              src->name, o->pair_by);
            if (!st) st = run_test(c, ti, ds, l, &col, &w);
        }
        ds_columns_free(&col);
    }
    free(w.slot), free(w.list_a), free(w.list_b), free(w.pair_a), free(w.pair_b), free(w.xa), free(w.xb);
    if (st) {
        saex_comparison_close(c);
        return st;
    }
    *out = c;
    return SAEX_OK;
}

saex_status saex_compare(const char *output, const saex_compare_options *o, saex_comparison **out) {
    *out = NULL;
    if (!o || !o->by || !*o->by) return saex_fail(SAEX_ERR_ARG, "saex_compare: no field to group by");
    if ((unsigned)o->positions > SAEX_POSITIONS_RESPONSE_MAX)
        return saex_fail(SAEX_ERR_ARG, "saex_compare: unknown positions %d", (int)o->positions);
    an_source *src;
    saex_status st = an_source_open(output, o, &src);
    if (st) return st;
    an_request req = {.positions = o->positions, .by = o->by, .pair_by = o->pair_by};
    an_dataset ds = {.only_layer = o->layer};
    st = an_dataset_collect(src, &req, &ds);
    if (!st) st = an_compare_dataset(&ds, o, src, out);
    an_dataset_free(&ds);
    src->close(src);
    return st;
}

void saex_comparison_close(saex_comparison *c) {
    if (!c) return;
    for (int i = 0; i < c->info.n_conditions; i++) free(c->conditions[i]);
    if (c->neuronpedia)
        for (int i = 0; i < c->info.n_layers; i++) free(c->neuronpedia[i]);
    free(c->conditions), free(c->condition_size), free(c->layers), free(c->n_failed), free(c->n_unprocessed);
    free(c->neuronpedia), free(c->tests), free(c->rows);
    free(c->input), free(c->by), free(c->pair_by), free(c->baseline);
    json_decref(c->meta);
    free(c);
}

const saex_comparison_info *saex_comparison_get_info(const saex_comparison *c) { return &c->info; }
int64_t saex_comparison_n_rows(const saex_comparison *c) { return c->n_rows; }
const saex_compare_row *saex_comparison_row(const saex_comparison *c, int64_t i) {
    return i >= 0 && i < c->n_rows ? &c->rows[i] : NULL;
}

int an_feature_url(const saex_comparison *c, int layer_index, int32_t feature, char *buf, size_t size) {
    if (layer_index < 0 || layer_index >= c->info.n_layers || !c->neuronpedia[layer_index]) return 0;
    snprintf(buf, size, "https://www.neuronpedia.org/%s/%d", c->neuronpedia[layer_index], (int)feature);
    return 1;
}

char *saex_comparison_row_url(const saex_comparison *c, int64_t i) {
    const saex_compare_row *r = saex_comparison_row(c, i);
    char buf[512];
    if (!r || !an_feature_url(c, an_test_layer_index(c, r->test), r->feature, buf, sizeof buf)) return NULL;
    return strdup(buf);
}
