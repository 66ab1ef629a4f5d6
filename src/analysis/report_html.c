/* report_html.c — writes the report page: one HTML file with its style,
 * script and data inline. Every piece of text from the output (prompts,
 * labels, condition names, metadata, token pieces) is untrusted: in markup
 * it is HTML-escaped; in the data block it is JSON with '<', '>' and '&'
 * escaped, so that "</script>" in a prompt stays text. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/out_file.h"
#include "analysis/report.h"
#include "analysis/report_assets.h"

/* ------------------------------------------------------------- helpers */

static void esc(FILE *f, const char *s) {
    for (; s && *s; s++) switch (*s) {
        case '&': fputs("&amp;", f); break;
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '"': fputs("&quot;", f); break;
        case '\'': fputs("&#39;", f); break;
        default: fputc(*s, f);
        }
}

/* A numeric cell: shown with fmt, sorted by the exact value. */
static void td_num(FILE *f, double v, const char *fmt) {
    char exact[40];
    fmt_num(exact, sizeof exact, v, 17);
    fprintf(f, "<td data-v=\"%s\">", exact);
    if (isnan(v)) fputs("&ndash;", f);
    else fprintf(f, fmt, v);
    fputs("</td>", f);
}

static int has_card(const rp_layer *l, int32_t f) {
    for (int j = 0; j < l->n_feat; j++)
        if (l->feat[j] == f) return 1;
    return 0;
}

/* The feature id, linked to its card when it has one, and to Neuronpedia. */
static void td_feature(FILE *f, const report *r, int li, int32_t feat) {
    fprintf(f, "<td data-v=\"%d\">", (int)feat);
    if (has_card(&r->layers[li], feat)) fprintf(f, "<a href=\"#f%d-%d\">%d</a>", r->ds->layers[li].layer, feat, feat);
    else fprintf(f, "%d", (int)feat);
    char url[512];
    int ci = -1;
    for (int k = 0; k < r->c->info.n_layers; k++)
        if (r->c->info.layers[k] == r->ds->layers[li].layer) ci = k;
    if (an_feature_url(r->c, ci, feat, url, sizeof url)) {
        fputs(" <a class=\"np\" target=\"_blank\" rel=\"noopener\" title=\"Neuronpedia\" href=\"", f);
        esc(f, url);
        fputs("\">&#8599;</a>", f);
    }
    fputs("</td>", f);
}

/* ---------------------------------------------------------- the sections */

static void write_run(FILE *f, const report *r) {
    const saex_comparison_info *in = saex_comparison_get_info(r->c);
    fputs("<section id=\"run\"><h2>Run</h2>\n<table><thead><tr><th class=\"l\">condition (", f);
    esc(f, in->by);
    fputs(")</th><th>variations</th></tr></thead><tbody>\n", f);
    for (int i = 0; i < in->n_conditions; i++) {
        fputs("<tr><td class=\"l\">", f);
        esc(f, in->conditions[i]);
        fprintf(f, "</td><td>%lld</td></tr>\n", (long long)in->condition_size[i]);
    }
    if (in->n_unlabelled)
        fprintf(f, "<tr><td class=\"l muted\">(without the field: left out)</td><td>%lld</td></tr>\n",
                (long long)in->n_unlabelled);
    fputs("</tbody></table>\n", f);
    for (int l = 0; l < in->n_layers; l++) {
        fprintf(f, "<h3>layer_%d</h3>\n<p>%lld failed (status error) and %lld unprocessed variations skipped.",
                in->layers[l], (long long)in->n_failed[l], (long long)in->n_unprocessed[l]);
        if (!in->neuronpedia[l])
            fputs(" <span class=\"muted\">No Neuronpedia source in the metadata (saex records it for SAEs named "
                  "by --sae-release / --sae-id): features are not linked.</span>",
                  f);
        fputs("</p>\n", f);
        char key[32];
        snprintf(key, sizeof key, "layer_%d", in->layers[l]);
        json_t *m = json_object_get(r->c->meta, key);
        if (!json_is_object(m)) {
            fputs("<p class=\"muted\">No sae_extraction_metadata for this layer.</p>\n", f);
            continue;
        }
        fputs("<details><summary>sae_extraction_metadata</summary><dl class=\"meta\">", f);
        const char *k;
        json_t *v;
        json_object_foreach(m, k, v) {
            fputs("<dt>", f);
            esc(f, k);
            fputs("</dt><dd>", f);
            if (json_is_string(v)) esc(f, json_string_value(v));
            else {
                char *t = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
                esc(f, t ? t : "?");
                free(t);
            }
            fputs("</dd>", f);
        }
        fputs("</dl></details>\n", f);
    }
    fputs("</section>\n", f);
}

static void write_frequent(FILE *f, const report *r, int li) {
    const rp_layer *l = &r->layers[li];
    int top = r->o->top;
    fputs("<h3>Most frequent features per condition</h3>\n<div class=\"conds\">\n", f);
    for (int c = 0; c < r->ds->conds.n; c++) {
        fputs("<div><h4>", f);
        esc(f, r->ds->conds.str[c]);
        fprintf(f, " <span class=\"muted\">(%lld processed)</span></h4>\n", (long long)l->cond_n[c]);
        fprintf(f, "<table class=\"sortable\" id=\"freq%d-%d\"><thead><tr><th>feature</th><th>active</th>"
                   "<th>mean act.</th></tr></thead><tbody>\n",
                r->ds->layers[li].layer, c);
        for (int k = 0; k < top && l->top[c * top + k] >= 0; k++) {
            fputs("<tr>", f);
            td_feature(f, r, li, l->top[c * top + k]);
            td_num(f, 100 * l->top_frac[c * top + k], "%.0f%%");
            td_num(f, l->top_mean[c * top + k], "%.3g");
            fputs("</tr>\n", f);
        }
        fputs("</tbody></table></div>\n", f);
    }
    fputs("</div>\n", f);
}

static void write_tests(FILE *f, const report *r, int li) {
    const saex_comparison_info *in = saex_comparison_get_info(r->c);
    int layer = r->ds->layers[li].layer, max_rows = 5 * r->o->top;
    fputs("<h3>Differential features</h3>\n<p class=\"muted\">Differences are b &minus; a. r<sub>rb</sub>: "
          "rank-biserial correlation (&gt; 0: higher in b); d: Cohen's d (paired: d<sub>z</sub>); p: two-sided "
          "(Wilcoxon signed-rank when paired, else Mann-Whitney U, as SciPy's defaults), p<sub>adj</sub>: "
          "Benjamini-Hochberg across the features of the test. A feature absent from a sample's top-k counts "
          "as 0.</p>\n",
          f);
    for (int t = 0; t < in->n_tests; t++) {
        const saex_comparison_test *T = &in->tests[t];
        if (T->layer != layer) continue;
        fputs("<h4>", f);
        esc(f, T->a);
        fputs(" &rarr; ", f);
        esc(f, T->b);
        if (T->paired) fprintf(f, " <span class=\"muted\">(Wilcoxon signed-rank, %lld pairs", (long long)T->n_a);
        else fprintf(f, " <span class=\"muted\">(Mann-Whitney U, %lld vs %lld", (long long)T->n_a, (long long)T->n_b);
        int64_t shown = T->n_rows < max_rows ? T->n_rows : max_rows;
        if (shown < T->n_rows)
            fprintf(f, "; the first %lld of %lld features by rank, all in saex compare's CSV)</span></h4>\n",
                    (long long)shown, (long long)T->n_rows);
        else fprintf(f, "; %lld features)</span></h4>\n", (long long)T->n_rows);
        fprintf(f, "<div class=\"filters\" data-table=\"test%d\">filter <input class=\"text\" type=\"search\" "
                   "placeholder=\"feature, method...\"> p<sub>adj</sub> &le; <input class=\"pmax\" type=\"number\" "
                   "step=\"any\" min=\"0\" max=\"1\" style=\"width:6em\"> <span class=\"count\"></span></div>\n",
                t);
        fprintf(f, "<div class=\"scroll\"><table class=\"sortable\" id=\"test%d\"><thead><tr><th>rank</th><th>feature</th>"
                   "<th>active a</th><th>active b</th><th>mean a</th><th>mean b</th><th>diff</th>"
                   "<th>r<sub>rb</sub></th><th>d</th><th>p</th><th>p<sub>adj</sub></th><th class=\"l\">method</th>"
                   "</tr></thead><tbody>\n",
                t);
        for (int64_t k = 0; k < shown; k++) {
            const saex_compare_row *row = saex_comparison_row(r->c, T->first_row + k);
            char padj[40];
            fmt_num(padj, sizeof padj, row->p_adj, 17);
            fprintf(f, "<tr data-padj=\"%s\"><td>%lld</td>", padj[0] ? padj : "NaN", (long long)row->rank);
            td_feature(f, r, li, row->feature);
            td_num(f, 100 * row->frac_a, "%.0f%%");
            td_num(f, 100 * row->frac_b, "%.0f%%");
            td_num(f, row->mean_a, "%.3g");
            td_num(f, row->mean_b, "%.3g");
            fprintf(f, "<td data-v=\"%.9g\" class=\"%s\">%+.3g</td>", row->mean_diff,
                    row->mean_diff > 0 ? "pos" : row->mean_diff < 0 ? "neg" : "", row->mean_diff);
            td_num(f, row->rank_biserial, "%.2f");
            td_num(f, row->cohens_d, "%.2f");
            td_num(f, row->p, "%.3g");
            td_num(f, row->p_adj, "%.3g");
            fprintf(f, "<td class=\"l\">%s</td></tr>\n", row->method);
        }
        fputs("</tbody></table></div>\n", f);
    }
}

static void write_cards(FILE *f, const report *r, int li) {
    const rp_layer *l = &r->layers[li];
    int layer = r->ds->layers[li].layer, nex = r->o->examples;
    int ci = -1;
    for (int k = 0; k < r->c->info.n_layers; k++)
        if (r->c->info.layers[k] == layer) ci = k;
    fprintf(f, "<h3>Features</h3>\n<p class=\"muted\">The %d features above, each with the samples where it fires "
               "most%s.</p>\n",
            l->n_feat, r->every_token ? " (text shaded by its activation at each token; &#9474; marks where the "
                                        "response starts, underlined)" : "");
    for (int j = 0; j < l->n_feat; j++) {
        int32_t feat = l->feat[j];
        fprintf(f, "<div class=\"card\" id=\"f%d-%d\"><h4>Feature %d", layer, feat, feat);
        char url[512];
        if (an_feature_url(r->c, ci, feat, url, sizeof url)) {
            fputs(" &middot; <a target=\"_blank\" rel=\"noopener\" href=\"", f);
            esc(f, url);
            fputs("\">Neuronpedia</a>", f);
        }
        fputs("</h4>\n<table><thead><tr><th class=\"l\">sample</th><th class=\"l\">condition</th>"
              "<th>activation</th><th class=\"l\">text</th></tr></thead><tbody>\n",
              f);
        for (int k = 0; k < nex; k++) {
            int64_t s = l->ex[j * nex + k];
            if (s < 0) break;
            fputs("<tr><td class=\"l\">", f);
            esc(f, r->ds->label[s]);
            fputs("</td><td class=\"l\">", f);
            esc(f, r->ds->cond[s] >= 0 ? r->ds->conds.str[r->ds->cond[s]] : "");
            fprintf(f, "</td><td>%.4g</td>", l->ex_act[j * nex + k]);
            if (r->every_token && r->detail[s] && r->detail[s]->n_tok)
                fprintf(f, "<td class=\"l\"><div class=\"tokens\" data-sample=\"%lld\" data-layer=\"%d\" "
                           "data-feature=\"%d\"></div></td>",
                        (long long)s, layer, feat);
            else {
                fputs("<td class=\"l snip\">", f);
                esc(f, r->ds->snippet[s] ? r->ds->snippet[s] : "");
                fputs("</td>", f);
            }
            fputs("</tr>\n", f);
        }
        fputs("</tbody></table></div>\n", f);
    }
}

/* ---------------------------------------------------------- the data block */

typedef struct {
    int32_t id;
    int idx;
} hit_ref;

static int cmp_hit(const void *a, const void *b) {
    const hit_ref *x = a, *y = b;
    if (x->id != y->id) return x->id < y->id ? -1 : 1;
    return x->idx - y->idx;
}

static void write_data(FILE *f, const report *r) {
    const an_dataset *ds = r->ds;
    fputs("<script type=\"application/json\" id=\"saex-data\">{\"tokens\": {", f);
    int first = 1;
    for (int64_t s = 0; s < ds->n; s++) {
        const rp_detail *d = r->detail ? r->detail[s] : NULL;
        if (!d || !d->n_tok || !r->every_token) continue;
        fprintf(f, "%s\n\"%lld\": {\"label\": ", first ? "" : ",", (long long)s);
        first = 0;
        put_json_str(f, ds->label[s]);
        fputs(", \"cond\": ", f);
        put_json_str(f, ds->cond[s] >= 0 ? ds->conds.str[ds->cond[s]] : "");
        fprintf(f, ", \"as\": %d, \"pos\": [", d->answer_start);
        for (int i = 0; i < d->n_tok; i++) fprintf(f, "%s%d", i ? "," : "", d->pos[i]);
        fputs("], \"tok\": [", f);
        for (int i = 0; i < d->n_tok; i++) {
            if (i) fputc(',', f);
            if (d->piece[i]) put_json_str(f, d->piece[i]);
            else fputs("null", f);
        }
        fputs("]}", f);
    }
    fputs("},\n\"acts\": {", f);
    for (int li = 0; li < ds->n_layers; li++) {
        fprintf(f, "%s\"%d\": {", li ? ", " : "", ds->layers[li].layer);
        int first_s = 1;
        for (int64_t s = 0; s < ds->n && r->every_token; s++) {
            const rp_detail *d = r->detail[s];
            if (!d || !d->n_hit[li]) continue;
            int n = d->n_hit[li];
            hit_ref *h = malloc((size_t)n * sizeof *h);
            if (!h) continue;
            for (int k = 0; k < n; k++) h[k] = (hit_ref){d->hit_id[li][k], k};
            qsort(h, (size_t)n, sizeof *h, cmp_hit);
            fprintf(f, "%s\n\"%lld\": {", first_s ? "" : ",", (long long)s);
            first_s = 0;
            for (int k = 0; k < n; k++) {
                if (k == 0 || h[k].id != h[k - 1].id) fprintf(f, "%s\"%d\": [", k ? "], " : "", h[k].id);
                else fputc(',', f);
                char a[40];
                fmt_num(a, sizeof a, d->hit_act[li][h[k].idx], 9);
                fprintf(f, "[%d,%s]", d->hit_tok[li][h[k].idx], a);
            }
            fputs("]}", f);
            free(h);
        }
        fputs("}", f);
    }
    /* The largest activation of each card feature among the shown samples, to scale the shading. */
    fputs("},\n\"max\": {", f);
    for (int li = 0; li < ds->n_layers; li++) {
        const rp_layer *l = &r->layers[li];
        fprintf(f, "%s\"%d\": {", li ? ", " : "", ds->layers[li].layer);
        for (int j = 0; j < l->n_feat; j++) {
            char a[40];
            float m = 0;
            for (int64_t s = 0; s < ds->n && r->every_token; s++) {
                const rp_detail *d = r->detail[s];
                if (!d) continue;
                for (int k = 0; k < d->n_hit[li]; k++)
                    if (d->hit_id[li][k] == l->feat[j] && d->hit_act[li][k] > m) m = d->hit_act[li][k];
            }
            fmt_num(a, sizeof a, m, 9);
            fprintf(f, "%s\"%d\": %s", j ? ", " : "", l->feat[j], a);
        }
        fputs("}", f);
    }
    fputs("},\n\"cards\": {", f);
    for (int li = 0; li < ds->n_layers; li++) {
        fprintf(f, "%s\"%d\": [", li ? ", " : "", ds->layers[li].layer);
        for (int j = 0; j < r->layers[li].n_feat; j++) fprintf(f, "%s%d", j ? "," : "", r->layers[li].feat[j]);
        fputs("]", f);
    }
    fputs("}}</script>\n", f);
}

/* ------------------------------------------------------------------ page */

saex_status report_write_html(const report *r, const char *path) {
    out_file o;
    saex_status st = out_open(&o, path);
    if (st) return st;
    FILE *f = o.f;
    const saex_comparison_info *in = saex_comparison_get_info(r->c);
    fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
          "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>saex report: ",
          f);
    esc(f, in->input);
    fprintf(f, "</title>\n<style>\n%s</style></head>\n<body>\n<div id=\"js-errors\" hidden></div>\n<script>%s</script>\n",
            REPORT_CSS, REPORT_JS_ONERROR);
    fputs("<header><h1>saex report</h1><p>", f);
    esc(f, in->input);
    fprintf(f, " &middot; %s form &middot; %lld variations &middot; conditions: ", in->form, (long long)in->n_samples);
    esc(f, in->by);
    fprintf(f, " &middot; positions: %s &middot; %s</p></header>\n<nav><a href=\"#run\">Run</a>", in->positions,
            in->pair_by ? "paired" : "unpaired");
    for (int li = 0; li < r->ds->n_layers; li++)
        fprintf(f, "<a href=\"#layer%d\">layer %d</a>", r->ds->layers[li].layer, r->ds->layers[li].layer);
    if (r->every_token) fputs("<a href=\"#viewer\">Token viewer</a>", f);
    fputs("</nav>\n<main>\n", f);
    write_run(f, r);
    for (int li = 0; li < r->ds->n_layers; li++) {
        fprintf(f, "<section id=\"layer%d\"><h2>Layer %d</h2>\n", r->ds->layers[li].layer, r->ds->layers[li].layer);
        write_frequent(f, r, li);
        write_tests(f, r, li);
        write_cards(f, r, li);
        fputs("</section>\n", f);
    }
    if (r->every_token)
        fputs("<section id=\"viewer\"><h2>Token viewer</h2>\n<p>feature <select id=\"view-feature\"></select> "
              "sample <select id=\"view-sample\"></select></p>\n<div class=\"tokens\" id=\"view-tokens\"></div>"
              "</section>\n",
              f);
    fprintf(f, "<p class=\"muted\">Made by saex %s.</p>\n</main>\n", saex_version());
    write_data(f, r);
    fprintf(f, "<script>\n%s</script>\n</body></html>\n", REPORT_JS);
    return out_commit(&o);
}
