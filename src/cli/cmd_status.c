/* cmd_status.c — `saex status RUN_DIR`: how far each shard of a run is. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "args.h"
#include "commands.h"
#include "saex.h"

static const char USAGE[] =
    "usage: saex status RUN_DIR\n"
    "\n"
    "Per shard of the run in RUN_DIR: samples and tokens done, state (done, running,\n"
    "incomplete, missing) and, for running shards, an estimate of the time left.\n"
    "Exit status: 0 (whatever the state), 1 not a run store.\n";

static void eta(double seconds, char *buf, size_t n) {
    if (seconds < 0) snprintf(buf, n, "-");
    else if (seconds >= 3600) snprintf(buf, n, "%d:%02d:%02d", (int)seconds / 3600, (int)seconds / 60 % 60, (int)seconds % 60);
    else snprintf(buf, n, "%02d:%02d", (int)seconds / 60, (int)seconds % 60);
}

static const char *state(const saex_shard_status *s) {
    if (s->running) return "running";
    if (s->batches_done == s->batches) return "done";
    return s->batches_done ? "incomplete" : "missing";
}

static void header(saex_results *r, const char *dir) {
    char *text = NULL;
    if (saex_results_manifest(r, &text) != SAEX_OK) return;
    json_t *m = json_loads(text, 0, NULL);
    saex_free(text);
    json_t *in = json_object_get(m, "input"), *run = json_object_get(m, "run");
    char *layers = json_dumps(json_object_get(run, "layers"), JSON_COMPACT);
    printf("run %s\n  input %s (%lld variations), model %s, layers %s, top_k %lld%s\n", dir,
           json_string_value(json_object_get(in, "path")) ? json_string_value(json_object_get(in, "path")) : "<stdin>",
           (long long)json_integer_value(json_object_get(in, "samples")),
           json_string_value(json_object_get(json_object_get(m, "model"), "id")), layers ? layers : "?",
           (long long)json_integer_value(json_object_get(run, "top_k")),
           json_is_true(json_object_get(run, "save_all_tokens")) ? ", every token" : "");
    free(layers);
    json_decref(m);
}

int cmd_status(int argc, char **argv) {
    cli_set_prog("saex status");
    const char *pos[1];
    int n_pos;
    int p = arg_parse(argc, argv, NULL, 0, USAGE, pos, 1, &n_pos);
    if (p) return p > 0 ? EXIT_ALL_OK : EXIT_USAGE;
    if (n_pos != 1) {
        cli_error("give the run directory: saex status RUN_DIR");
        return EXIT_USAGE;
    }
    saex_results *r = NULL;
    if (saex_results_open_store(pos[0], -1, 0, &r) != SAEX_OK) {
        cli_error("%s", saex_last_error());
        return EXIT_FATAL;
    }
    header(r, pos[0]);
    printf("  %-6s %-10s %-21s %-25s %s\n", "shard", "state", "samples", "tokens", "ETA");
    saex_shard_status all = {0};
    int n = saex_results_n_shards(r), n_done = 0;
    double now = (double)time(NULL);
    for (int s = 0; s < n; s++) {
        saex_shard_status ss;
        if (saex_results_shard_status(r, s, &ss) != SAEX_OK) continue;
        char left[32] = "-";
        double el = ss.updated - ss.started;
        if (ss.running && el > 0 && ss.tokens_done > 0)
            eta((double)(ss.tokens - ss.tokens_done) * el / (double)ss.tokens_done - (now - ss.updated), left, sizeof left);
        char samples[48], tokens[48];
        snprintf(samples, sizeof samples, "%lld/%lld", (long long)ss.samples_done, (long long)ss.samples);
        snprintf(tokens, sizeof tokens, "%lld/%lld", (long long)ss.tokens_done, (long long)ss.tokens);
        printf("  %-6d %-10s %-21s %-25s %s\n", s, state(&ss), samples, tokens, left);
        all.samples += ss.samples, all.samples_done += ss.samples_done;
        all.tokens += ss.tokens, all.tokens_done += ss.tokens_done;
        n_done += ss.batches_done == ss.batches;
    }
    char samples[48], tokens[48];
    snprintf(samples, sizeof samples, "%lld/%lld", (long long)all.samples_done, (long long)all.samples);
    snprintf(tokens, sizeof tokens, "%lld/%lld", (long long)all.tokens_done, (long long)all.tokens);
    printf("  %-6s %-10s %-21s %s\n", "all", n_done == n ? "done" : "", samples, tokens);
    if (n_done == n) printf("every shard is done: saex merge %s\n", pos[0]);
    saex_results_close(r);
    return EXIT_ALL_OK;
}
