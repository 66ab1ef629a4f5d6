/* cmd_compare.c — `saex compare`: which features differ between conditions.
 *
 *   saex compare OUTPUT [--by FIELD] [--pair-by FIELD] [--baseline NAME]
 *                [--layer L] [--positions P] [--out PREFIX] [--top N]
 *
 * Runs saex_compare() on a saex output, writes PREFIX.csv and PREFIX.json
 * and prints the top rows of each test. Exit codes: 0 ok, 1 bad input (not
 * a saex output, no such field or layer, nothing pairs ...), 2 bad usage,
 * 130 interrupted. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis_opts.h"
#include "args.h"
#include "commands.h"
#include "saex.h"

static void usage(FILE *f) {
    fputs("usage: saex compare OUTPUT [options]\n"
          "\n"
          "For every layer, every pair of conditions and every feature of a saex output: how often\n"
          "it is active, its mean activation (0 where it is not in a sample's top-k), a rank test\n"
          "of the difference with Benjamini-Hochberg correction across features, and effect sizes.\n"
          "\n" ANALYSIS_OPTIONS_HELP
          "  --out PREFIX        write PREFIX.csv and PREFIX.json\n"
          "                      [beside OUTPUT: <stem>_compare_<by>.csv/.json]\n"
          "  --top N             rows printed per test [10]; 0 prints none\n"
          "\n"
          "Reference: docs/cli.md, \"saex compare\".\n",
          f);
}

static void print_num(char *buf, size_t size, double v, const char *fmt) {
    if (isnan(v)) snprintf(buf, size, "-");
    else snprintf(buf, size, fmt, v);
}

static void print_test(const saex_comparison *c, int ti, int top) {
    const saex_comparison_info *in = saex_comparison_get_info(c);
    const saex_comparison_test *t = &in->tests[ti];
    printf("\nlayer %d: %s -> %s  (%s, ", t->layer, t->a, t->b,
           t->paired ? "Wilcoxon signed-rank" : "Mann-Whitney U");
    if (t->paired) printf("%lld pairs, %lld left out without a partner", (long long)t->n_a, (long long)t->n_left_out);
    else printf("%lld vs %lld samples", (long long)t->n_a, (long long)t->n_b);
    printf(", %lld features)\n", (long long)t->n_rows);
    if (top <= 0 || t->n_rows == 0) return;
    printf("  %4s %8s %15s %19s %9s %6s %9s %9s\n", "rank", "feature", "active a -> b", "mean a -> b", "diff", "r_rb",
           "p", "p_adj");
    for (int64_t k = 0; k < t->n_rows && k < top; k++) {
        const saex_compare_row *r = saex_comparison_row(c, t->first_row + k);
        char p[16], q[16];
        print_num(p, sizeof p, r->p, "%.3g");
        print_num(q, sizeof q, r->p_adj, "%.3g");
        printf("  %4lld %8d %6.0f%% -> %4.0f%% %8.3g -> %-8.3g %9.3g %6.2f %9s %9s\n", (long long)r->rank,
               (int)r->feature, 100 * r->frac_a, 100 * r->frac_b, r->mean_a, r->mean_b, r->mean_diff,
               r->rank_biserial, p, q);
    }
}

static void print_summary(const saex_comparison *c) {
    const saex_comparison_info *in = saex_comparison_get_info(c);
    printf("%s (%s form): %lld variations; %s =", in->input, in->form, (long long)in->n_samples, in->by);
    for (int i = 0; i < in->n_conditions; i++)
        printf("%s %s (%lld)", i ? "," : "", in->conditions[i], (long long)in->condition_size[i]);
    printf("\npositions: %s", in->positions);
    if (strcmp(in->positions, "last")) printf(" (a feature absent from a position's top-k counts as 0)");
    printf("\n");
    if (in->n_unlabelled) printf("left out: %lld variations without \"%s\"\n", (long long)in->n_unlabelled, in->by);
    for (int l = 0; l < in->n_layers; l++)
        if (in->n_failed[l] || in->n_unprocessed[l])
            printf("layer %d: skipped %lld failed (status error) and %lld unprocessed variations\n", in->layers[l],
                   (long long)in->n_failed[l], (long long)in->n_unprocessed[l]);
}

int cmd_compare(int argc, char **argv) {
    cli_set_prog("saex compare");
    saex_compare_options o;
    saex_compare_options_init(&o);
    const char *output = NULL, *prefix = NULL, *v;
    int64_t top = 10;
    for (int i = 1; i < argc; i++) {
        int m;
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            usage(stdout);
            return EXIT_ALL_OK;
        }
        if ((m = analysis_opt(argc, argv, &i, &o)) != 0) {
            if (m < 0) return EXIT_USAGE;
        } else if ((m = arg_match(argc, argv, &i, "--out", 1, &v)) != 0) {
            if (m < 0) return EXIT_USAGE;
            prefix = v;
        } else if ((m = arg_match(argc, argv, &i, "--top", 1, &v)) != 0) {
            if (m < 0 || arg_int("--top", v, 0, 1000000, &top)) return EXIT_USAGE;
        } else if (analysis_output_arg(argv[i], &output, "compare")) {
            return EXIT_USAGE;
        }
    }
    if (analysis_need_output(output)) {
        usage(stderr);
        return EXIT_USAGE;
    }
    o.events = analysis_events();
    saex_comparison *c;
    saex_status st = saex_compare(output, &o, &c);
    analysis_events_done();
    if (st) {
        cli_error("%s", saex_last_error());
        return st == SAEX_ERR_INTERRUPTED ? EXIT_INTERRUPTED : EXIT_FATAL;
    }
    char *suffix = strfmt("_compare_%s", o.by);
    char *base = prefix ? strfmt("%s", prefix) : beside_output(output, suffix);
    char *csv = strfmt("%s.csv", base), *json = strfmt("%s.json", base);
    st = saex_comparison_write_csv(c, csv);
    if (!st) st = saex_comparison_write_json(c, json);
    int rc = EXIT_ALL_OK;
    if (st) {
        cli_error("%s", saex_last_error());
        rc = EXIT_FATAL;
    } else {
        print_summary(c);
        const saex_comparison_info *in = saex_comparison_get_info(c);
        for (int t = 0; t < in->n_tests; t++) print_test(c, t, (int)top);
        printf("\nwrote %s and %s (rows ranked by adjusted p, then |rank-biserial|)\n", csv, json);
    }
    free(suffix), free(base), free(csv), free(json);
    saex_comparison_close(c);
    return rc;
}
