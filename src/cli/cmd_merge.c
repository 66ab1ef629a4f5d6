/* cmd_merge.c — `saex merge RUN_DIR`: the output of a sharded run,
 * assembled from its run store once every shard is done. When shards are
 * missing or incomplete it lists them, so that only those are resubmitted. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "commands.h"
#include "saex.h"
#include "summary.h"

static const char USAGE[] =
    "usage: saex merge RUN_DIR [--output FILE] [--input FILE] [--dump-residuals F.safetensors] [--strict]\n"
    "\n"
    "Writes the output of the run in RUN_DIR (a run store written by saex extract, e.g. by the\n"
    "shards of a Slurm job array). Missing or incomplete shards are listed and nothing is written.\n"
    "  --output FILE      [RUN_DIR without its .saex suffix]; - writes to standard output\n"
    "  --input FILE       the input document [the path recorded in the run store]\n"
    "  --dump-residuals F the dense residual rows, for runs made with --dump-residuals\n"
    "  --strict           exit 3 when some variations failed\n"
    "Exit status: 0 written, 1 incomplete or an error, 2 bad command line, 3 see --strict.\n";

typedef struct {
    const char *run_dir, *output, *input, *dump;
    int strict;
} options;

static int parse(int argc, char **argv, options *o) {
    memset(o, 0, sizeof *o);
    const arg_spec spec[] = {
        {"--output", ARG_STR, &o->output, 0, 0, NULL, NULL},
        {"--input", ARG_STR, &o->input, 0, 0, NULL, NULL},
        {"--dump-residuals", ARG_STR, &o->dump, 0, 0, NULL, NULL},
        {"--strict", ARG_FLAG, &o->strict, 0, 0, NULL, NULL},
    };
    int n_pos;
    const char *pos[1];
    int p = arg_parse(argc, argv, spec, 4, USAGE, pos, 1, &n_pos);
    if (p) return p;
    if (n_pos != 1) {
        cli_error("give the run directory: saex merge RUN_DIR (see --help)");
        return -1;
    }
    o->run_dir = pos[0];
    return 0;
}

/* The recorded input path and the run's layers, from the manifest. */
static int read_manifest(saex_results *r, char **input, int *layers, int *n_layers) {
    char *text = NULL;
    if (saex_results_manifest(r, &text) != SAEX_OK) return -1;
    json_t *m = json_loads(text, 0, NULL);
    saex_free(text);
    const char *in = json_string_value(json_object_get(json_object_get(m, "input"), "path"));
    *input = in ? strfmt("%s", in) : NULL;
    json_t *ls = json_object_get(json_object_get(m, "run"), "layers");
    *n_layers = (int)json_array_size(ls);
    for (int l = 0; l < *n_layers && l < SAEX_MAX_LAYERS; l++) layers[l] = (int)json_integer_value(json_array_get(ls, (size_t)l));
    json_decref(m);
    return 0;
}

static char *default_output(const char *run_dir) {
    size_t n = strlen(run_dir);
    while (n > 1 && run_dir[n - 1] == '/') n--;
    if (n > 5 && strncmp(run_dir + n - 5, ".saex", 5) == 0) return strfmt("%.*s", (int)(n - 5), run_dir);
    return NULL;
}

static int merge(const options *o, saex_results *r) {
    char *recorded = NULL, *output = NULL;
    int layers[SAEX_MAX_LAYERS], n_layers = 0, rc = EXIT_FATAL;
    saex_doc *d = NULL;
    if (read_manifest(r, &recorded, layers, &n_layers)) {
        cli_error("%s", saex_last_error());
        return EXIT_FATAL;
    }
    const char *input = o->input ? o->input : recorded;
    output = o->output ? strfmt("%s", o->output) : default_output(o->run_dir);
    if (!input) cli_error("the run store does not record its input (it was read from stdin): give --input FILE");
    else if (!output) cli_error("%s does not end in .saex: give --output FILE", o->run_dir);
    else if (saex_doc_load(input, &d) != SAEX_OK) cli_error("%s", saex_last_error());
    else {
        char *written = NULL;
        saex_status st = saex_write_output(d, r, output, o->output ? 0 : SAEX_WRITE_UNIQUE, &written);
        if (!st && o->dump) st = saex_write_residuals(d, r, o->dump);
        if (st) {
            cli_error("%s", saex_last_error());
            if (st == SAEX_ERR_NOT_FOUND)
                fprintf(stderr, "  Run those shards again (saex extract ... --shard I/N, or in a Slurm array: sbatch "
                                "--array=<their indices> <your script>), then saex merge %s again.\n", o->run_dir);
        } else {
            int64_t n = saex_doc_n_samples(d);
            summary_args sa = {d, r, written, o->dump, layers, n_layers, n, 0};
            int64_t failed = summary_print(&sa);
            rc = failed && o->strict ? EXIT_SOME_FAILED : EXIT_ALL_OK;
        }
        free(written);
    }
    saex_doc_close(d);
    free(recorded), free(output);
    return rc;
}

int cmd_merge(int argc, char **argv) {
    cli_set_prog("saex merge");
    options o;
    int p = parse(argc, argv, &o);
    if (p) return p > 0 ? EXIT_ALL_OK : EXIT_USAGE;
    saex_results *r = NULL;
    if (saex_results_open_store(o.run_dir, -1, 0, &r) != SAEX_OK) {
        cli_error("%s", saex_last_error());
        return EXIT_FATAL;
    }
    int rc = merge(&o, r);
    saex_results_close(r);
    return rc;
}
