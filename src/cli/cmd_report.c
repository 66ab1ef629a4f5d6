/* cmd_report.c — `saex report`: one self-contained HTML page about an output.
 *
 *   saex report OUTPUT [-o report.html] [--by FIELD] [--pair-by FIELD]
 *               [--baseline NAME] [--layer L] [--positions P] [--top N] [--examples N]
 *
 * Runs saex_report(): the run's metadata, the most frequent features per
 * condition, the differential features of `saex compare`, Neuronpedia links
 * and the samples where each feature fires most. Exit codes as compare. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis_opts.h"
#include "args.h"
#include "commands.h"
#include "saex.h"

static void usage(FILE *f) {
    fputs("usage: saex report OUTPUT [-o report.html] [options]\n"
          "\n"
          "One self-contained HTML file (no network needed) about a saex output: the run's\n"
          "metadata, the most frequent features per condition, the features that differ between\n"
          "conditions (as saex compare), a Neuronpedia link per feature where the SAE is known, and\n"
          "the samples where each feature fires most (every-token outputs: their text shaded by it).\n"
          "\n"
          "  -o, --output FILE   the HTML file [beside OUTPUT: <stem>_report.html]\n" ANALYSIS_OPTIONS_HELP
          "  --top N             rows per table [20]\n"
          "  --examples N        samples shown per feature [5]\n"
          "\n"
          "Reference: docs/cli.md, \"saex report\".\n",
          f);
}

int cmd_report(int argc, char **argv) {
    cli_set_prog("saex report");
    saex_report_options o;
    saex_report_options_init(&o);
    const char *output = NULL, *html = NULL, *v;
    int64_t n;
    for (int i = 1; i < argc; i++) {
        int m;
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            usage(stdout);
            return EXIT_ALL_OK;
        }
        if ((m = analysis_opt(argc, argv, &i, &o.compare)) != 0) {
            if (m < 0) return EXIT_USAGE;
        } else if ((m = arg_match(argc, argv, &i, "-o", 1, &v)) != 0 ||
                   (m = arg_match(argc, argv, &i, "--output", 1, &v)) != 0) {
            if (m < 0) return EXIT_USAGE;
            html = v;
        } else if ((m = arg_match(argc, argv, &i, "--top", 1, &v)) != 0) {
            if (m < 0 || arg_int("--top", v, 1, 100000, &n)) return EXIT_USAGE;
            o.top = (int)n;
        } else if ((m = arg_match(argc, argv, &i, "--examples", 1, &v)) != 0) {
            if (m < 0 || arg_int("--examples", v, 1, 1000, &n)) return EXIT_USAGE;
            o.examples = (int)n;
        } else if (analysis_output_arg(argv[i], &output, "report")) {
            return EXIT_USAGE;
        }
    }
    if (analysis_need_output(output)) {
        usage(stderr);
        return EXIT_USAGE;
    }
    char *path = html ? strfmt("%s", html) : beside_output(output, "_report.html");
    o.compare.events = analysis_events();
    saex_status st = saex_report(output, &o, path);
    analysis_events_done();
    if (st) {
        cli_error("%s", saex_last_error());
        free(path);
        return st == SAEX_ERR_INTERRUPTED ? EXIT_INTERRUPTED : EXIT_FATAL;
    }
    printf("wrote %s\n", path);
    free(path);
    return EXIT_ALL_OK;
}
