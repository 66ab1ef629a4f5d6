/* cmd_download.c — `saex download`: fills the Hugging Face cache with what
 * `saex extract` will read (the model's run files and only the shards of
 * blocks 0..L, the SAE folders), or with the files matching --include globs.
 * Prints each resulting path on stdout; progress and messages go to stderr. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "args.h"
#include "commands.h"
#include "download_progress.h"
#include "signals.h"
#include "saex.h"

#define MAX_LAYERS 64
#define MAX_INCLUDES 64

static const char USAGE[] =
    "usage: saex download MODEL_ID [--target-layer L | --layers L1,L2,...] [options]\n"
    "       saex download --sae-release NAME --sae-id ID [--target-layer L | --layers ...]\n"
    "       saex download REPO_ID --include GLOB [--include GLOB ...]\n"
    "\n"
    "Downloads into the Hugging Face cache (HF_HUB_CACHE, else $HF_HOME/hub, else\n"
    "~/.cache/huggingface/hub), laid out as huggingface_hub does, so that saex extract\n"
    "(and Python tools) find the files there, also offline. A model and SAEs may be\n"
    "given together. Prints the folder / file of each on stdout.\n"
    "\n"
    "  MODEL_ID                 e.g. google/gemma-2-9b-it: config.json, the tokenizer files and,\n"
    "                           with --target-layer / --layers, only the safetensors shards that\n"
    "                           hold the embedding and blocks 0..L (all shards without)\n"
    "  --target-layer L         the layer saex extract will read\n"
    "  --layers L1,L2,...       several layers (the deepest decides the shards)\n"
    "  --sae-release NAME       with --sae-id: a Gemma Scope SAE of the SAELens registry\n"
    "  --sae-id ID              e.g. layer_20/width_16k/canonical; {L} is replaced by each layer\n"
    "  --include GLOB           only repository files matching GLOB (as hf download --include;\n"
    "                           '*' crosses '/'); any repository, nothing else is selected\n"
    "  --revision REV           branch, tag or commit of MODEL_ID / REPO_ID [main]\n"
    "  --offline                no network: only say whether the cache already has it\n"
    "\n"
    "Environment: HF_TOKEN (gated models such as Gemma need one), HF_ENDPOINT, HF_HOME,\n"
    "HF_HUB_CACHE, HF_HUB_OFFLINE=1. Interrupted downloads resume on the next run.\n"
    "Exit status: 0 done, 1 failed (the message says why and what to do), 2 bad command\n"
    "line, 130 interrupted. Reference: docs/cli.md\n";

typedef struct {
    const char *repo, *sae_release, *sae_id, *revision;
    const char *include[MAX_INCLUDES + 1];
    int n_include;
    int layers[MAX_LAYERS], n_layers;
    int offline;
} options;

static int parse_options(int argc, char **argv, options *o) {
    memset(o, 0, sizeof *o);
    const char *layers = NULL, *v = NULL;
    int64_t target = -1;
    for (int i = 1; i < argc; i++) {
        int m;
#define OPT(name) ((m = arg_match(argc, argv, &i, name, 1, &v)) != 0)
#define FLAG(name) ((m = arg_match(argc, argv, &i, name, 0, &v)) != 0)
        if (FLAG("--help") || FLAG("-h")) {
            fputs(USAGE, stdout);
            return 1;
        } else if (OPT("--target-layer")) {
            if (m > 0 && arg_int("--target-layer", v, 0, 1000, &target)) return -1;
        } else if (OPT("--layers")) {
            layers = v;
        } else if (OPT("--sae-release")) {
            o->sae_release = v;
        } else if (OPT("--sae-id")) {
            o->sae_id = v;
        } else if (OPT("--include")) {
            if (m > 0 && o->n_include == MAX_INCLUDES) {
                cli_error("--include: at most %d patterns", MAX_INCLUDES);
                return -1;
            }
            if (m > 0) o->include[o->n_include++] = v;
        } else if (OPT("--revision")) {
            o->revision = v;
        } else if (FLAG("--offline")) {
            o->offline = 1;
        } else if (argv[i][0] == '-' || o->repo) {
            cli_error(o->repo && argv[i][0] != '-' ? "one repository at a time (%s)" : "unknown option %s (see saex download --help)",
                      argv[i]);
            return -1;
        } else {
            o->repo = argv[i];
        }
        if (m < 0) return -1;
#undef OPT
#undef FLAG
    }
    if (layers && target >= 0) {
        cli_error("use either --target-layer or --layers, not both");
        return -1;
    }
    if (layers && (o->n_layers = arg_layers("--layers", layers, o->layers, MAX_LAYERS)) < 0) return -1;
    if (target >= 0) o->layers[o->n_layers++] = (int)target;
    if (!o->sae_release != !o->sae_id) {
        cli_error("--sae-release and --sae-id go together");
        return -1;
    }
    if (!o->repo && !o->sae_release) {
        cli_error("nothing to download: give a MODEL_ID and/or --sae-release + --sae-id (see saex download --help)");
        return -1;
    }
    if (o->n_include && !o->repo) {
        cli_error("--include needs a REPO_ID");
        return -1;
    }
    if (o->n_include && o->n_layers) {
        cli_error("--include selects files itself; it does not go with --target-layer / --layers");
        return -1;
    }
    return 0;
}

/* The library's message says what failed and what to do. */
static int fail(download_progress *dp) {
    download_progress_clear(dp);
    cli_error("%s", saex_last_error());
    return g_stop_signal ? signals_exit_status() : EXIT_FATAL;
}

int cmd_download(int argc, char **argv) {
    cli_set_prog("saex download");
    options o;
    int p = parse_options(argc, argv, &o);
    if (p != 0) return p > 0 ? EXIT_ALL_OK : EXIT_USAGE;
    signals_install(); /* a stop keeps partial files as .incomplete: the next run resumes */
    download_progress dp;
    download_progress_init(&dp, &g_stop_signal);
    saex_fetch_options f;
    saex_fetch_options_init(&f);
    f.offline = o.offline;
    f.revision = o.revision;
    f.events = &dp.events;
    for (int i = 0; i < o.n_layers; i++)
        if (o.layers[i] > f.max_layer) f.max_layer = o.layers[i];

    if (o.repo) {
        char *dir = NULL;
        saex_status st = o.n_include ? saex_hub_download(o.repo, o.include, &f, &dir) : saex_resolve_model(o.repo, &f, &dir);
        if (st) return fail(&dp);
        printf("%s\n", dir);
        saex_free(dir);
    }
    int n_sae = o.sae_release ? (o.n_layers ? o.n_layers : 1) : 0;
    for (int i = 0; i < n_sae; i++) {
        int layer = o.n_layers ? o.layers[i] : -1;
        char *path = NULL;
        if (saex_resolve_sae(o.sae_release, o.sae_id, layer, &f, &path, NULL)) return fail(&dp);
        printf("%s\n", path);
        saex_free(path);
    }
    return EXIT_ALL_OK;
}
