/* summary.c — the end-of-run report (summary.h). */
#include "summary.h"
#include "args.h"

#include <stdio.h>
#include <string.h>

#define SUMMARY_ROWS 20
#define SUMMARY_K 5
#define FAILURES_SHOWN 10

/* The report goes to stdout, unless the output itself does (--output -). */
static FILE *g_out;

/* The top features at the last prompt token of a successful sample. */
static void print_top(const summary_args *a, int64_t i) {
    for (int l = 0; l < a->n_layers; l++) {
        saex_sample_view v;
        if (saex_results_sample(a->res, i, l, &v) != SAEX_OK || v.status != SAEX_SAMPLE_OK) continue;
        int p = 0;
        while (p < v.n_pos && v.position[p] != v.answer_start - 1) p++;
        fprintf(g_out, "  layer_%d:", a->layers[l]);
        for (int k = 0; p < v.n_pos && k < SUMMARY_K && k < v.k; k++) {
            int32_t id = v.ids[(size_t)p * (size_t)v.k + (size_t)k];
            if (id >= 0) fprintf(g_out, " %d:%.3g", id, (double)v.act[(size_t)p * (size_t)v.k + (size_t)k]);
        }
    }
}

static void count(const summary_args *a, int64_t *ok, int64_t *failed) {
    *ok = *failed = 0;
    for (int64_t i = 0; i < a->n_run; i++) {
        saex_sample_view v;
        if (saex_results_sample(a->res, i, 0, &v) != SAEX_OK) continue;
        *ok += v.status == SAEX_SAMPLE_OK;
        *failed += v.status == SAEX_SAMPLE_ERROR;
    }
}

static void verbose_lines(const summary_args *a) {
    char label[96];
    for (int64_t i = 0; i < a->n_run; i++) {
        saex_sample_view v;
        if (saex_results_sample(a->res, i, 0, &v) != SAEX_OK) continue;
        saex_doc_sample_label(a->doc, i, label, sizeof label);
        if (v.status == SAEX_SAMPLE_OK) fprintf(stderr, "  %s: %d tokens (prompt %d)\n", label, v.total_tokens, v.answer_start);
        else if (v.status == SAEX_SAMPLE_ERROR) fprintf(stderr, "  %s: error: %s\n", label, v.reason);
    }
}

static void label_width(const summary_args *a, int *width) {
    char label[96];
    *width = 0;
    for (int64_t i = 0; i < a->n_run && i < SUMMARY_ROWS; i++) {
        saex_doc_sample_label(a->doc, i, label, sizeof label);
        if ((int)strlen(label) > *width) *width = (int)strlen(label);
    }
}

static void print_head(const summary_args *a, int64_t ok, int64_t failed) {
    int64_t n = saex_doc_n_samples(a->doc);
    saex_doc_form form = saex_doc_form_of(a->doc);
    fprintf(g_out, "wrote %s (%s form, %lld variation%s: %lld ok, %lld failed", a->written, saex_doc_form_name(form),
           (long long)a->n_run, a->n_run == 1 ? "" : "s", (long long)ok, (long long)failed);
    if (a->n_run < n) fprintf(g_out, "; %lld more left unprocessed by --max-samples", (long long)(n - a->n_run));
    fprintf(g_out, ")\n");
    if (form != SAEX_FORM_RESULTS && strcmp(a->written, "-") != 0) fprintf(g_out, "metadata: %s.meta.json\n", a->written);
    if (a->dump_path) fprintf(g_out, "residuals: %s\n", a->dump_path);
}

static void print_rows(const summary_args *a) {
    int width;
    char label[96];
    label_width(a, &width);
    fprintf(g_out, "top %d features at the last prompt token (id:activation):\n", SUMMARY_K);
    for (int64_t i = 0; i < a->n_run && i < SUMMARY_ROWS; i++) {
        saex_sample_view v;
        saex_doc_sample_label(a->doc, i, label, sizeof label);
        fprintf(g_out, "  %-*s", width, label);
        if (saex_results_sample(a->res, i, 0, &v) == SAEX_OK && v.status == SAEX_SAMPLE_ERROR) fprintf(g_out, "  error: %s", v.reason);
        else print_top(a, i);
        fprintf(g_out, "\n");
    }
    if (a->n_run > SUMMARY_ROWS) fprintf(g_out, "  ... %lld more in the output\n", (long long)(a->n_run - SUMMARY_ROWS));
}

/* The failures: all of them with --verbose, else the first FAILURES_SHOWN
 * and how many more. */
static void print_failures(const summary_args *a, int64_t failed) {
    if (!failed) return;
    cli_warn("%lld of %lld variations failed; their \"status\" is \"error\", with a \"reason\":", (long long)failed,
             (long long)a->n_run);
    int64_t shown = 0;
    char label[96];
    for (int64_t i = 0; i < a->n_run; i++) {
        saex_sample_view v;
        if (saex_results_sample(a->res, i, 0, &v) != SAEX_OK || v.status != SAEX_SAMPLE_ERROR) continue;
        if (!a->verbose && shown == FAILURES_SHOWN) break;
        saex_doc_sample_label(a->doc, i, label, sizeof label);
        fprintf(stderr, "  %s: %s\n", label, v.reason);
        shown++;
    }
    if (failed > shown) fprintf(stderr, "  ... and %lld more (--verbose lists them all)\n", (long long)(failed - shown));
}

int64_t summary_print(const summary_args *a) {
    g_out = strcmp(a->written, "-") ? stdout : stderr;
    int64_t ok, failed;
    count(a, &ok, &failed);
    if (a->verbose) verbose_lines(a);
    fflush(stderr);
    print_head(a, ok, failed);
    print_rows(a);
    fflush(g_out);
    print_failures(a, failed);
    return failed;
}
