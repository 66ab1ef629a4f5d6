/* compare_write.c — a comparison as CSV (one row per feature and test) and
 * as JSON (the run's description, then the tests with their rows). Columns
 * and fields: docs/cli.md, "saex compare". */
#include <stdlib.h>
#include <string.h>

#include "analysis/comparison.h"
#include "analysis/out_file.h"

static const char *test_name(const saex_comparison_test *t) { return t->paired ? "wilcoxon" : "mannwhitneyu"; }

/* Activation-derived values with 9 digits (they come from float32), test
 * statistics and p-values exactly. */
static void put_num(FILE *f, double v, int digits, const char *nan_text) {
    char b[40];
    fmt_num(b, sizeof b, v, digits);
    fputs(b[0] ? b : nan_text, f);
}

saex_status saex_comparison_write_csv(const saex_comparison *c, const char *path) {
    out_file o;
    saex_status st = out_open(&o, path);
    if (st) return st;
    FILE *f = o.f;
    fputs("layer,condition_a,condition_b,test,rank,feature,n_a,n_b,frac_active_a,frac_active_b,mean_a,mean_b,"
          "mean_diff,rank_biserial,cohens_d,method,statistic,p_value,p_adjusted,neuronpedia_url\n",
          f);
    for (int64_t i = 0; i < c->n_rows; i++) {
        const saex_compare_row *r = &c->rows[i];
        const saex_comparison_test *t = &c->tests[r->test];
        fprintf(f, "%d,", t->layer);
        put_csv_str(f, t->a);
        fputc(',', f);
        put_csv_str(f, t->b);
        fprintf(f, ",%s,%lld,%d,%lld,%lld", test_name(t), (long long)r->rank, (int)r->feature, (long long)t->n_a,
                (long long)t->n_b);
        const double v[] = {r->frac_a, r->frac_b, r->mean_a, r->mean_b, r->mean_diff, r->rank_biserial, r->cohens_d};
        for (size_t k = 0; k < sizeof v / sizeof v[0]; k++) fputc(',', f), put_num(f, v[k], 9, "");
        fprintf(f, ",%s,", r->method);
        put_num(f, r->statistic, 17, "");
        fputc(',', f), put_num(f, r->p, 17, "");
        fputc(',', f), put_num(f, r->p_adj, 17, "");
        char url[512];
        fprintf(f, ",%s\n", an_feature_url(c, an_test_layer_index(c, r->test), r->feature, url, sizeof url) ? url : "");
    }
    return out_commit(&o);
}

static void put_str_or_null(FILE *f, const char *s) {
    if (s) put_json_str(f, s);
    else fputs("null", f);
}

static void put_row_json(FILE *f, const saex_comparison *c, const saex_compare_row *r) {
    fprintf(f, "{\"rank\": %lld, \"feature\": %d", (long long)r->rank, (int)r->feature);
    const char *names[] = {"frac_active_a", "frac_active_b", "mean_a", "mean_b", "mean_diff", "rank_biserial",
                           "cohens_d", "statistic", "p_value", "p_adjusted"};
    const double v[] = {r->frac_a, r->frac_b, r->mean_a, r->mean_b, r->mean_diff, r->rank_biserial,
                        r->cohens_d, r->statistic, r->p, r->p_adj};
    for (size_t k = 0; k < sizeof v / sizeof v[0]; k++) {
        fprintf(f, ", \"%s\": ", names[k]);
        put_num(f, v[k], k < 7 ? 9 : 17, "null");
        if (k == 6) fprintf(f, ", \"method\": \"%s\"", r->method);
    }
    char url[512];
    fputs(", \"neuronpedia_url\": ", f);
    put_str_or_null(f, an_feature_url(c, an_test_layer_index(c, r->test), r->feature, url, sizeof url) ? url : NULL);
    fputc('}', f);
}

saex_status saex_comparison_write_json(const saex_comparison *c, const char *path) {
    out_file o;
    saex_status st = out_open(&o, path);
    if (st) return st;
    FILE *f = o.f;
    const saex_comparison_info *in = &c->info;
    fprintf(f, "{\n  \"saex_version\": \"%s\",\n  \"input\": ", saex_version());
    put_json_str(f, in->input);
    fprintf(f, ",\n  \"form\": \"%s\",\n  \"by\": ", in->form);
    put_json_str(f, in->by);
    fputs(",\n  \"pair_by\": ", f);
    put_str_or_null(f, in->pair_by);
    fputs(",\n  \"baseline\": ", f);
    put_str_or_null(f, in->baseline);
    fprintf(f, ",\n  \"positions\": \"%s\",\n  \"absent_feature_activation\": 0,\n", in->positions);
    fprintf(f, "  \"samples\": {\"total\": %lld, \"unlabelled\": %lld},\n  \"conditions\": [",
            (long long)in->n_samples, (long long)in->n_unlabelled);
    for (int i = 0; i < in->n_conditions; i++) {
        fprintf(f, "%s{\"name\": ", i ? ", " : "");
        put_json_str(f, in->conditions[i]);
        fprintf(f, ", \"samples\": %lld}", (long long)in->condition_size[i]);
    }
    fputs("],\n  \"layers\": [", f);
    for (int i = 0; i < in->n_layers; i++) {
        fprintf(f, "%s{\"layer\": %d, \"neuronpedia_id\": ", i ? ", " : "", in->layers[i]);
        put_str_or_null(f, in->neuronpedia[i]);
        fprintf(f, ", \"failed\": %lld, \"unprocessed\": %lld}", (long long)in->n_failed[i],
                (long long)in->n_unprocessed[i]);
    }
    fputs("],\n  \"tests\": [", f);
    for (int ti = 0; ti < in->n_tests; ti++) {
        const saex_comparison_test *t = &in->tests[ti];
        fprintf(f, "%s\n    {\"layer\": %d, \"a\": ", ti ? "," : "", t->layer);
        put_json_str(f, t->a);
        fputs(", \"b\": ", f);
        put_json_str(f, t->b);
        fprintf(f,
                ", \"test\": \"%s\", \"paired\": %s, \"n_a\": %lld, \"n_b\": %lld, \"left_out\": %lld, "
                "\"features\": %lld,\n     \"rows\": [",
                test_name(t), t->paired ? "true" : "false", (long long)t->n_a, (long long)t->n_b,
                (long long)t->n_left_out, (long long)t->n_rows);
        for (int64_t k = 0; k < t->n_rows; k++) {
            fputs(k ? ",\n      " : "\n      ", f);
            put_row_json(f, c, &c->rows[t->first_row + k]);
        }
        fputs(t->n_rows ? "\n     ]}" : "]}", f);
    }
    fputs("\n  ]\n}\n", f);
    return out_commit(&o);
}
