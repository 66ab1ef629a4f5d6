/* cmd_extract.c — `saex extract`: options -> the library pipeline -> summary.
 *
 * Everything here is about the command line: parsing, choosing paths, the
 * shard a Slurm task runs, printing. The work — tokenizing, batching, the
 * model, the SAEs, the run store, writing the output — is libsaex's
 * (saex.h), the same code the Python package calls. */
#include <errno.h>
#include <jansson.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "args.h"
#include "commands.h"
#include "events.h"
#include "progress.h"
#include "run_dir.h"
#include "saex.h"
#include "signals.h"
#include "summary.h"


static const char USAGE[] =
    "usage: saex extract --input FILE [options]\n"
    "\n"
    "Runs Gemma-2 over each variation's prompt + response (teacher forcing), takes the\n"
    "residual stream after block L (blocks.L.hook_resid_post), encodes it with a Gemma\n"
    "Scope SAE and writes the top-k features into a copy of the input JSON.\n"
    "\n"
    "Options (defaults as the SAELens/TransformerLens script):\n"
    "  --input FILE            results JSON, a JSON list of {prompt, response}, or JSON Lines;\n"
    "                          - reads standard input (required)\n"
    "  --model ID|DIR          HF id or model folder [google/gemma-2-9b-it]\n"
    "  --sae-release NAME      [gemma-scope-9b-pt-res-canonical]\n"
    "  --sae-id ID             [layer_20/width_16k/canonical]; {L} is replaced by the layer\n"
    "  --target-layer L        [20]\n"
    "  --hook-name NAME        [blocks.{L}.hook_resid_post]; nothing else is supported\n"
    "  --save-all-tokens       features at every position, not only the last prompt token\n"
    "  --top-k K               [50]\n"
    "  --max-samples N         process only the first N variations [all]\n"
    "  --output FILE           [<input stem>_layer<L>_<YYYYmmdd_HHMMSS>.json beside the input,\n"
    "                          never replacing a file]; - writes to standard output\n"
    "  --verbose               a line per variation, and every failure\n"
    "\n"
    "Beyond the script:\n"
    "  --sae PATH              SAE folder or params.npz (bypasses the registry); {L} is replaced\n"
    "  --layers L1,L2,...      several layers from one forward pass (instead of --target-layer)\n"
    "  --device cpu|cuda|auto  [auto]\n"
    "  --threads N             CPU threads [0 = all this process may use]\n"
    "  --batch-tokens N        tokens per packed batch [4096]\n"
    "  --precision default|f32 [default]: weights in their stored dtype; f32: everything in f32\n"
    "  --chat-template none|gemma  [none]\n"
    "  --exclude-bos           with --save-all-tokens: no features at position 0\n"
    "  --dump-residuals F.safetensors  dense residual rows at the saved positions\n"
    "  --joint-tokenization    tokenize prompt + response as one string\n"
    "  --offline               never use the network (also HF_HUB_OFFLINE=1)\n"
    "  --strict                exit 3 when some variations failed\n"
    "\n"
    "Run store (resume, sharding):\n"
    "  --run-dir DIR           [OUTPUT.saex; without --output <input stem>_layer<L>.json.saex]\n"
    "                          results are saved there batch by batch: run the same command\n"
    "                          again to continue an interrupted run\n"
    "  --fresh                 discard what the run directory holds and start over\n"
    "  --shard I/N             compute only shard I (0-based) of N, then `saex merge DIR`;\n"
    "                          default: from a Slurm job array or srun task; --shard none: never\n"
    "\n"
    "Exit status: 0 output written (failed variations have \"status\": \"error\"), 1 fatal\n"
    "error (no output), 2 bad command line, 3 with --strict: some variations failed,\n"
    "130 interrupted (what was computed stays in the run store).\n"
    "Reference: docs/cli.md\n";

typedef struct {
    const char *input, *model, *sae_release, *sae_id, *hook_name, *output, *sae_path, *dump_path, *layers_text;
    const char *run_dir, *shard_text;
    int sae_id_set, sae_release_set, target_set, save_all, verbose, exclude_bos, joint, strict, offline, fresh;
    int64_t target, top_k, max_samples, threads, batch_tokens;
    int device, precision, chat;
    int layers[SAEX_MAX_LAYERS], n_layers;
} options;

static const char *const DEVICES[] = {"cpu", "cuda", "auto", NULL};
static const char *const PRECISIONS[] = {"default", "f32", NULL};
static const char *const CHATS[] = {"none", "gemma", NULL};

/* ------------------------------------------------------------ options */

static int check_hook(const options *o) {
    if (!strcmp(o->hook_name, "blocks.{L}.hook_resid_post")) return 0;
    int hl;
    char tail[64];
    if (sscanf(o->hook_name, "blocks.%d.%63s", &hl, tail) == 2 && !strcmp(tail, "hook_resid_post") && o->n_layers == 1) {
        if (hl == o->layers[0]) return 0;
        cli_error("--hook-name %s is for layer %d, but the target layer is %d", o->hook_name, hl, o->layers[0]);
        return -1;
    }
    cli_error("--hook-name %s is not supported: saex captures only blocks.L.hook_resid_post "
              "(the residual stream after block L, what Gemma Scope res SAEs read)", o->hook_name);
    return -1;
}

static int parse_options(int argc, char **argv, options *o) {
    memset(o, 0, sizeof *o);
    o->model = "google/gemma-2-9b-it";
    o->sae_release = "gemma-scope-9b-pt-res-canonical";
    o->sae_id = "layer_20/width_16k/canonical";
    o->hook_name = "blocks.{L}.hook_resid_post";
    o->target = 20, o->top_k = 50, o->batch_tokens = 4096, o->device = 2;
    const arg_spec spec[] = {
        {"--input", ARG_STR, &o->input, 0, 0, NULL, NULL},
        {"--model", ARG_STR, &o->model, 0, 0, NULL, NULL},
        {"--sae-release", ARG_STR, &o->sae_release, 0, 0, NULL, &o->sae_release_set},
        {"--sae-id", ARG_STR, &o->sae_id, 0, 0, NULL, &o->sae_id_set},
        {"--target-layer", ARG_INT, &o->target, 0, 1000, NULL, &o->target_set},
        {"--hook-name", ARG_STR, &o->hook_name, 0, 0, NULL, NULL},
        {"--save-all-tokens", ARG_FLAG, &o->save_all, 0, 0, NULL, NULL},
        {"--top-k", ARG_INT, &o->top_k, 1, 1 << 20, NULL, NULL},
        {"--max-samples", ARG_INT, &o->max_samples, 1, INT64_MAX, NULL, NULL},
        {"--output", ARG_STR, &o->output, 0, 0, NULL, NULL},
        {"--verbose", ARG_FLAG, &o->verbose, 0, 0, NULL, NULL},
        {"-v", ARG_FLAG, &o->verbose, 0, 0, NULL, NULL},
        {"--sae", ARG_STR, &o->sae_path, 0, 0, NULL, NULL},
        {"--layers", ARG_STR, &o->layers_text, 0, 0, NULL, NULL},
        {"--device", ARG_CHOICE, &o->device, 0, 0, DEVICES, NULL},
        {"--threads", ARG_INT, &o->threads, 0, 4096, NULL, NULL},
        {"--batch-tokens", ARG_INT, &o->batch_tokens, 1, (int64_t)1 << 30, NULL, NULL},
        {"--precision", ARG_CHOICE, &o->precision, 0, 0, PRECISIONS, NULL},
        {"--chat-template", ARG_CHOICE, &o->chat, 0, 0, CHATS, NULL},
        {"--exclude-bos", ARG_FLAG, &o->exclude_bos, 0, 0, NULL, NULL},
        {"--dump-residuals", ARG_STR, &o->dump_path, 0, 0, NULL, NULL},
        {"--joint-tokenization", ARG_FLAG, &o->joint, 0, 0, NULL, NULL},
        {"--offline", ARG_FLAG, &o->offline, 0, 0, NULL, NULL},
        {"--strict", ARG_FLAG, &o->strict, 0, 0, NULL, NULL},
        {"--run-dir", ARG_STR, &o->run_dir, 0, 0, NULL, NULL},
        {"--fresh", ARG_FLAG, &o->fresh, 0, 0, NULL, NULL},
        {"--shard", ARG_STR, &o->shard_text, 0, 0, NULL, NULL},
    };
    int n_pos;
    int p = arg_parse(argc, argv, spec, (int)(sizeof spec / sizeof spec[0]), USAGE, NULL, 0, &n_pos);
    if (p) return p;
    if (!o->input) {
        cli_error("--input is required (see saex extract --help)");
        return -1;
    }
    if (o->layers_text) {
        if (o->target_set) {
            cli_error("use either --target-layer or --layers, not both");
            return -1;
        }
        if ((o->n_layers = arg_layers("--layers", o->layers_text, o->layers, SAEX_MAX_LAYERS)) < 0) return -1;
    } else {
        o->layers[0] = (int)o->target, o->n_layers = 1;
    }
    if (check_hook(o)) return -1;
    if (o->exclude_bos && !o->save_all) cli_warn("--exclude-bos only matters with --save-all-tokens");
    size_t n = o->dump_path ? strlen(o->dump_path) : 0;
    if (o->dump_path && (n < 12 || strcmp(o->dump_path + n - 12, ".safetensors") != 0)) {
        cli_error("--dump-residuals %s: the name must end in .safetensors", o->dump_path);
        return -1;
    }
    return 0;
}

/* ------------------------------------------------------------ paths */

/* 1 if a and b name the same file: the same inode when both exist, else the
 * same canonical path (folder resolved, name compared). */
static int same_file(const char *a, const char *b) {
    struct stat sa, sb;
    if (!strcmp(a, "-") || !strcmp(b, "-")) return 0;
    if (stat(a, &sa) == 0 && stat(b, &sb) == 0) return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
    char ra[PATH_MAX], rb[PATH_MAX];
    if (!realpath(a, ra)) return 0;
    char *c1 = strfmt("%s", b), *c2 = strfmt("%s", b);
    int same = 0;
    if (realpath(dirname(c1), rb)) {
        char *full = strfmt("%s/%s", rb, basename(c2));
        same = strcmp(ra, full) == 0;
        free(full);
    }
    free(c1), free(c2);
    return same;
}

/* "<dir>/<stem>_layer12_20" for the input and layers (caller frees). */
static char *output_stem(const options *o) {
    char *c1 = strfmt("%s", o->input), *c2 = strfmt("%s", o->input);
    char *dir = dirname(c1), *base = basename(c2), *dot = strrchr(base, '.');
    if (dot && dot != base) *dot = '\0';
    char lay[SAEX_MAX_LAYERS * 6] = "";
    for (int i = 0, n = 0; i < o->n_layers; i++) n += snprintf(lay + n, sizeof lay - (size_t)n, "%s%d", i ? "_" : "", o->layers[i]);
    char *stem = strfmt("%s/%s_layer%s", dir, base, lay);
    free(c1), free(c2);
    return stem;
}

static char *default_output(const options *o, saex_doc_form form) {
    char ts[32];
    time_t t = time(NULL);
    struct tm tm;
    localtime_r(&t, &tm);
    strftime(ts, sizeof ts, "%Y%m%d_%H%M%S", &tm);
    char *stem = output_stem(o);
    char *out = strfmt("%s_%s.%s", stem, ts, form == SAEX_FORM_JSONL ? "jsonl" : "json");
    free(stem);
    return out;
}

static char *default_run_dir(const options *o, const char *output, saex_doc_form form) {
    if (o->output && strcmp(o->output, "-") != 0) return strfmt("%s.saex", output);
    if (!strcmp(o->input, "-")) return NULL; /* stdin to stdout: nothing to resume from */
    char *stem = output_stem(o);
    char *dir = strfmt("%s.%s.saex", stem, form == SAEX_FORM_JSONL ? "jsonl" : "json");
    free(stem);
    return dir;
}

static int check_paths(const options *o, const char *output) {
    char *meta = strfmt("%s.meta.json", output);
    const char *clash = same_file(o->input, output) ? output
                        : same_file(o->input, meta) ? meta
                        : o->dump_path && same_file(o->input, o->dump_path) ? o->dump_path
                                                                            : NULL;
    int bad = 0;
    if (clash) {
        cli_error("output %s is the input file; saex never overwrites its input (choose another --output)", clash);
        bad = 1;
    } else if (o->dump_path && (same_file(output, o->dump_path) || !strcmp(output, o->dump_path))) {
        cli_error("--dump-residuals and --output are the same file %s", o->dump_path);
        bad = 1;
    }
    const char *folders[] = {strcmp(output, "-") ? output : NULL, o->dump_path};
    for (int i = 0; i < 2 && !bad; i++) {
        if (!folders[i]) continue;
        char *c = strfmt("%s", folders[i]);
        struct stat sb;
        const char *dir = dirname(c);
        if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
            cli_error("%s %s: %s %s", i ? "--dump-residuals" : "output", folders[i], dir,
                      stat(dir, &sb) == 0 ? "is not a folder" : "does not exist");
            bad = 1;
        } else if (access(dir, W_OK) != 0) {
            cli_error("%s %s: cannot write in folder %s: %s", i ? "--dump-residuals" : "output", folders[i], dir, strerror(errno));
            bad = 1;
        }
        free(c);
    }
    free(meta);
    return bad ? -1 : 0;
}

/* ------------------------------------------------------------ the run */

typedef struct {
    options o;
    cli_ui ui;
    saex_events ev;
    saex_doc *doc;
    saex_extractor *x;
    saex_results *res;
    char *output, *run_dir;
    int shard, n_shards;
} run_state;

static void run_free(run_state *r) {
    saex_results_close(r->res);
    saex_extractor_close(r->x);
    saex_doc_close(r->doc);
    free(r->output), free(r->run_dir);
}

static int fail_status(saex_status st, const char *what) {
    if (st == SAEX_ERR_INTERRUPTED) return signals_exit_status();
    cli_error("%s%s", what, saex_last_error());
    return EXIT_FATAL;
}

static saex_status open_extractor(run_state *r) {
    const options *o = &r->o;
    saex_extractor_options xo;
    saex_extractor_options_init(&xo);
    xo.model = o->model, xo.sae_release = o->sae_release, xo.sae_id = o->sae_id, xo.sae_path = o->sae_path;
    memcpy(xo.layers, o->layers, sizeof xo.layers);
    xo.n_layers = o->n_layers;
    xo.model_options.device = o->device == 0 ? SAEX_DEVICE_CPU : o->device == 1 ? SAEX_DEVICE_CUDA : SAEX_DEVICE_AUTO;
    xo.model_options.precision = o->precision ? SAEX_PRECISION_F32 : SAEX_PRECISION_DEFAULT;
    xo.model_options.threads = (int)o->threads;
    xo.model_options.max_batch_tokens = o->batch_tokens;
    xo.offline = o->offline;
    xo.events = &r->ev;
    return saex_extractor_open(&xo, &r->x);
}

static saex_status open_results(run_state *r) {
    if (!r->run_dir) return saex_results_create(&r->res);
    if (r->o.fresh) {
        if (r->n_shards > 1) return SAEX_ERR_ARG;
        if (run_dir_remove(r->run_dir)) return SAEX_ERR_IO;
    }
    return saex_results_open_store(r->run_dir, r->shard, r->n_shards, &r->res);
}

static saex_status extract(run_state *r) {
    const options *o = &r->o;
    saex_run_options ro;
    saex_run_options_init(&ro);
    ro.top_k = (int)o->top_k, ro.save_all_tokens = o->save_all, ro.exclude_bos = o->exclude_bos;
    ro.chat_template = o->chat ? SAEX_CHAT_GEMMA : SAEX_CHAT_NONE;
    ro.joint_tokenization = o->joint, ro.batch_tokens = o->batch_tokens, ro.max_samples = o->max_samples;
    ro.keep_residuals = o->dump_path != NULL;
    ro.events = &r->ev;
    return saex_extract(r->x, r->doc, &ro, r->res);
}

static int finish(run_state *r) {
    const options *o = &r->o;
    char *written = NULL;
    double t0 = now_seconds();
    saex_status st = saex_write_output(r->doc, r->res, r->output, o->output ? 0 : SAEX_WRITE_UNIQUE, &written);
    if (st) return fail_status(st, "");
    struct stat sb;
    if (strcmp(written, "-") != 0 && stat(written, &sb) == 0)
        cli_info("timing: wrote %s in %.2f s (%.1f MB)", written, now_seconds() - t0, (double)sb.st_size / 1e6);
    if (o->dump_path && (st = saex_write_residuals(r->doc, r->res, o->dump_path))) {
        free(written);
        return fail_status(st, "");
    }
    int64_t n = saex_doc_n_samples(r->doc), n_run = o->max_samples && o->max_samples < n ? o->max_samples : n;
    summary_args sa = {r->doc, r->res, written, o->dump_path, o->layers, o->n_layers, n_run, o->verbose};
    int64_t failed = summary_print(&sa);
    free(written);
    return failed && o->strict ? EXIT_SOME_FAILED : EXIT_ALL_OK;
}

static int run(run_state *r) {
    options *o = &r->o;
    saex_status st = saex_doc_load(o->input, &r->doc);
    if (st) return fail_status(st, "");
    saex_doc_form form = saex_doc_form_of(r->doc);
    r->output = o->output ? strfmt("%s", o->output) : !strcmp(o->input, "-") ? strfmt("-") : default_output(o, form);
    if (check_paths(o, r->output)) return EXIT_FATAL;
    r->run_dir = o->run_dir ? strfmt("%s", o->run_dir) : default_run_dir(o, r->output, form);
    if (shard_choose(o->shard_text, r->run_dir, &r->shard, &r->n_shards)) return EXIT_USAGE;
    if (r->n_shards > 1 && !r->run_dir) {
        cli_error("a sharded run needs a run directory: give --run-dir or --output");
        return EXIT_USAGE;
    }
    if (o->fresh && r->n_shards > 1) {
        cli_error("--fresh would discard the other shards' work; remove %s by hand to start a sharded run over", r->run_dir);
        return EXIT_USAGE;
    }
    if ((st = open_extractor(r))) return fail_status(st, "");
    if ((st = open_results(r))) return fail_status(st, "");
    if (r->n_shards > 1) cli_info("shard %d of %d, run directory %s", r->shard, r->n_shards, r->run_dir);
    st = extract(r);
    if (st == SAEX_ERR_INTERRUPTED) {
        if (r->run_dir) cli_error("interrupted: the batches computed so far are saved in %s; run the same command again to continue", r->run_dir);
        else cli_error("interrupted: nothing was written");
        return signals_exit_status();
    }
    if (st) return fail_status(st, "");
    if (r->n_shards > 1) {
        printf("shard %d of %d done in %s\nwhen every shard is done: saex merge %s%s%s\n", r->shard, r->n_shards, r->run_dir,
               r->run_dir, o->output ? " --output " : "", o->output ? o->output : "");
        return EXIT_ALL_OK;
    }
    return finish(r);
}

int cmd_extract(int argc, char **argv) {
    cli_set_prog("saex extract");
    run_state r;
    memset(&r, 0, sizeof r);
    int p = parse_options(argc, argv, &r.o);
    if (p != 0) return p > 0 ? EXIT_ALL_OK : EXIT_USAGE;
    signals_install();
    r.ev = cli_events(&r.ui);
    int rc = run(&r);
    run_free(&r);
    return rc;
}
