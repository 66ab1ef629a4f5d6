/* analysis_opts.c — options, file names and progress shared by `saex compare` and `saex report`. */
#include "analysis_opts.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "args.h"

int analysis_opt(int argc, char **argv, int *i, saex_compare_options *o) {
    const char *v = NULL;
    int m;
    if ((m = arg_match(argc, argv, i, "--by", 1, &v)) != 0) {
        if (m > 0) o->by = v;
    } else if ((m = arg_match(argc, argv, i, "--pair-by", 1, &v)) != 0) {
        if (m > 0) o->pair_by = v;
    } else if ((m = arg_match(argc, argv, i, "--input", 1, &v)) != 0) {
        if (m > 0) o->input = v;
    } else if ((m = arg_match(argc, argv, i, "--baseline", 1, &v)) != 0) {
        if (m > 0) o->baseline = v;
    } else if ((m = arg_match(argc, argv, i, "--layer", 1, &v)) != 0) {
        int64_t l;
        if (m > 0 && arg_int("--layer", v, 0, 1000000, &l) != 0) return -1;
        if (m > 0) o->layer = (int)l;
    } else if ((m = arg_match(argc, argv, i, "--positions", 1, &v)) != 0) {
        if (m > 0) {
            int p = saex_positions_parse(v);
            if (p < 0) {
                cli_error("--positions: '%s' is not one of last, prompt-mean, prompt-max, response-mean, response-max",
                          v);
                return -1;
            }
            o->positions = (saex_positions)p;
        }
    } else {
        return 0;
    }
    if (m < 0) return -1;
    if (o->by && !*o->by) {
        cli_error("--by: empty field name");
        return -1;
    }
    return 1;
}

int analysis_output_arg(const char *arg, const char **output, const char *cmd) {
    if (arg[0] == '-' && arg[1]) {
        cli_error("unknown option %s (see saex %s --help)", arg, cmd);
        return -1;
    }
    if (*output) {
        cli_error("one OUTPUT only (got %s and %s)", *output, arg);
        return -1;
    }
    *output = arg;
    return 0;
}

int analysis_need_output(const char *output) {
    if (output) return 0;
    cli_error("no OUTPUT given (a file written by saex extract)");
    return -1;
}

char *beside_output(const char *output, const char *suffix) {
    size_t n = strlen(output);
    while (n > 1 && output[n - 1] == '/') n--;           /* a run store: out.json.saex/ -> out */
    if (n > 5 && !strncmp(output + n - 5, ".saex", 5)) n -= 5;
    if (n > 6 && !strncmp(output + n - 6, ".jsonl", 6)) return strfmt("%.*s%s", (int)n - 6, output, suffix);
    if (n > 5 && !strncmp(output + n - 5, ".json", 5)) return strfmt("%.*s%s", (int)n - 5, output, suffix);
    return strfmt("%.*s%s", (int)n, output, suffix);
}

/* ---------------------------------------------------------------- progress */

static volatile sig_atomic_t g_stop;
static int g_drawn, g_last_pct = -1;

static void on_signal(int sig) {
    (void)sig;
    g_stop = 1;
}

static int should_stop(void *ctx) {
    (void)ctx;
    return g_stop;
}

static void progress(void *ctx, const saex_progress *p) {
    (void)ctx;
    if (!isatty(2) || p->total <= 0) return;
    int pct = (int)(100 * p->done / p->total);
    if (pct == g_last_pct && !p->finished) return;
    g_last_pct = pct;
    fprintf(stderr, "\rreading %s: %3d%% (%.0f of %.0f MB)", p->item ? p->item : "", pct, p->done / 1e6,
            p->total / 1e6);
    g_drawn = 1;
}

const saex_events *analysis_events(void) {
    static saex_events ev = {NULL, progress, should_stop, NULL};
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    return &ev;
}

void analysis_events_done(void) {
    if (g_drawn) fputs("\r\033[K", stderr);
    g_drawn = 0;
    g_last_pct = -1;
}
