/* cmd_extract.c — `saex extract`: options -> checks -> load -> run -> write.
 *
 * Everything that can be checked without the model (options, the input
 * file, the output path, the SAE's layer and width) is checked before the
 * model is loaded, so that mistakes cost seconds, not minutes. */
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "args.h"
#include "atomic.h"
#include "commands.h"
#include "encode.h"
#include "download_progress.h"
#include "extract.h"
#include "output.h"
#include "progress.h"
#include "saex.h"
#include "samples.h"

#define MAX_LAYERS 64
#define SUMMARY_ROWS 20

static const char USAGE[] =
    "usage: saex extract --input FILE [options]\n"
    "\n"
    "Runs Gemma-2 over each variation's prompt + response (teacher forcing), takes the\n"
    "residual stream after block L (blocks.L.hook_resid_post), encodes it with a Gemma\n"
    "Scope SAE and writes the top-k features into a copy of the input JSON.\n"
    "\n"
    "Options (defaults as the SAELens/TransformerLens script):\n"
    "  --input FILE            results JSON, a JSON list of {prompt, response}, or JSON Lines (required)\n"
    "  --model ID|DIR          HF id (from the HF cache, downloaded if missing) or model folder\n"
    "                          [google/gemma-2-9b-it]\n"
    "  --sae-release NAME      [gemma-scope-9b-pt-res-canonical]\n"
    "  --sae-id ID             [layer_20/width_16k/canonical]; {L} is replaced by the layer\n"
    "  --target-layer L        [20]\n"
    "  --hook-name NAME        [blocks.{L}.hook_resid_post]; nothing else is supported\n"
    "  --save-all-tokens       features at every position, not only the last prompt token\n"
    "  --top-k K               [50]\n"
    "  --max-samples N         process only the first N variations [all]\n"
    "  --output FILE           [<input stem>_layer<L>_<YYYYmmdd_HHMMSS>.json beside the input]\n"
    "  --verbose               per-sample details\n"
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
    "  --offline               never use the network (also HF_HUB_OFFLINE=1): the HF cache only\n"
    "\n"
    "Exit status: 0 all ok, 3 some variations failed (see \"status\"), 1 fatal error\n"
    "(nothing written), 2 bad command line, 130 interrupted (nothing written).\n"
    "Reference: docs/cli.md\n";

typedef struct {
    const char *input, *model, *sae_release, *sae_id, *hook_name, *output, *sae_path, *dump_path;
    int sae_release_set, sae_id_set, target_set;
    int layers[MAX_LAYERS], n_layers;
    int save_all, verbose, exclude_bos, joint, offline;
    int64_t top_k, max_samples, threads, batch_tokens;
    saex_device device;
    saex_precision precision;
    chat_template chat;
} options;

/* ---------------------------------------------------------------- SIGINT */

static volatile sig_atomic_t g_stop;

static void on_sigint(int sig) {
    (void)sig;
    if (g_stop) { /* second Ctrl-C: leave now, still without leftovers */
        atomic_remove_all();
        _exit(EXIT_INTERRUPTED);
    }
    g_stop = 1;
    static const char msg[] = "\nsaex: interrupt: stopping after the current batch (Ctrl-C again to quit now)\n";
    ssize_t w = write(2, msg, sizeof msg - 1);
    (void)w;
}

static void install_sigint(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigint;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

/* --------------------------------------------------------------- options */

static int parse_options(int argc, char **argv, options *o) {
    memset(o, 0, sizeof *o);
    o->model = "google/gemma-2-9b-it";
    o->sae_release = "gemma-scope-9b-pt-res-canonical";
    o->sae_id = "layer_20/width_16k/canonical";
    o->hook_name = "blocks.{L}.hook_resid_post";
    o->top_k = 50;
    o->batch_tokens = 4096;
    o->device = SAEX_DEVICE_AUTO;
    int64_t target = 20;
    const char *layers = NULL, *v = NULL;
    for (int i = 1; i < argc; i++) {
        int m;
        const char *a = argv[i];
#define OPT(name) ((m = arg_match(argc, argv, &i, name, 1, &v)) != 0)
#define FLAG(name) ((m = arg_match(argc, argv, &i, name, 0, &v)) != 0)
        if (FLAG("--help") || FLAG("-h")) {
            fputs(USAGE, stdout);
            return 1;
        } else if (OPT("--input")) {
            o->input = v;
        } else if (OPT("--model")) {
            o->model = v;
        } else if (OPT("--sae-release")) {
            o->sae_release = v, o->sae_release_set = 1;
        } else if (OPT("--sae-id")) {
            o->sae_id = v, o->sae_id_set = 1;
        } else if (OPT("--target-layer")) {
            if (m > 0 && arg_int("--target-layer", v, 0, 1000, &target)) return -1;
            o->target_set = 1;
        } else if (OPT("--hook-name")) {
            o->hook_name = v;
        } else if (FLAG("--save-all-tokens")) {
            o->save_all = 1;
        } else if (OPT("--top-k")) {
            if (m > 0 && arg_int("--top-k", v, INT64_MIN, INT64_MAX, &o->top_k)) return -1;
        } else if (OPT("--max-samples")) {
            if (m > 0 && arg_int("--max-samples", v, INT64_MIN, INT64_MAX, &o->max_samples)) return -1;
            if (m > 0 && o->max_samples < 1) {
                cli_error("--max-samples %s: must be at least 1 (leave it out to process every variation)", v);
                return -1;
            }
        } else if (OPT("--output")) {
            o->output = v;
        } else if (FLAG("--verbose") || FLAG("-v")) {
            o->verbose = 1;
        } else if (OPT("--sae")) {
            o->sae_path = v;
        } else if (OPT("--layers")) {
            layers = v;
        } else if (OPT("--device")) {
            if (m > 0) {
                if (!strcmp(v, "cpu")) o->device = SAEX_DEVICE_CPU;
                else if (!strcmp(v, "cuda")) o->device = SAEX_DEVICE_CUDA;
                else if (!strcmp(v, "auto")) o->device = SAEX_DEVICE_AUTO;
                else {
                    cli_error("--device %s: expected cpu, cuda or auto", v);
                    return -1;
                }
            }
        } else if (OPT("--threads")) {
            if (m > 0 && arg_int("--threads", v, 0, 4096, &o->threads)) return -1;
        } else if (OPT("--batch-tokens")) {
            if (m > 0 && arg_int("--batch-tokens", v, 1, (int64_t)1 << 30, &o->batch_tokens)) return -1;
        } else if (OPT("--precision")) {
            if (m > 0) {
                if (!strcmp(v, "default")) o->precision = SAEX_PRECISION_DEFAULT;
                else if (!strcmp(v, "f32")) o->precision = SAEX_PRECISION_F32;
                else {
                    cli_error("--precision %s: expected default or f32", v);
                    return -1;
                }
            }
        } else if (OPT("--chat-template")) {
            if (m > 0) {
                if (!strcmp(v, "none")) o->chat = CHAT_NONE;
                else if (!strcmp(v, "gemma")) o->chat = CHAT_GEMMA;
                else {
                    cli_error("--chat-template %s: expected none or gemma", v);
                    return -1;
                }
            }
        } else if (FLAG("--exclude-bos")) {
            o->exclude_bos = 1;
        } else if (OPT("--dump-residuals")) {
            o->dump_path = v;
        } else if (FLAG("--joint-tokenization")) {
            o->joint = 1;
        } else if (FLAG("--offline")) {
            o->offline = 1;
        } else {
            cli_error("unknown option %s (see saex extract --help)", a);
            return -1;
        }
        if (m < 0) return -1;
#undef OPT
#undef FLAG
    }
    if (!o->input) {
        cli_error("--input is required (see saex extract --help)");
        return -1;
    }
    if (o->top_k < 1 || o->top_k > 1 << 20) {
        cli_error("--top-k %lld: must be at least 1", (long long)o->top_k);
        return -1;
    }
    if (layers) {
        if (o->target_set) {
            cli_error("use either --target-layer or --layers, not both");
            return -1;
        }
        o->n_layers = arg_layers("--layers", layers, o->layers, MAX_LAYERS);
        if (o->n_layers < 0) return -1;
    } else {
        o->layers[0] = (int)target;
        o->n_layers = 1;
    }
    /* Only the residual stream after a block is captured. */
    int hook_ok = !strcmp(o->hook_name, "blocks.{L}.hook_resid_post");
    if (!hook_ok && o->n_layers == 1) {
        char *want = strfmt("blocks.%d.hook_resid_post", o->layers[0]);
        hook_ok = !strcmp(o->hook_name, want);
        int hl;
        char tail[64];
        if (!hook_ok && sscanf(o->hook_name, "blocks.%d.%63s", &hl, tail) == 2 && !strcmp(tail, "hook_resid_post")) {
            cli_error("--hook-name %s is for layer %d, but the target layer is %d", o->hook_name, hl, o->layers[0]);
            free(want);
            return -1;
        }
        free(want);
    }
    if (!hook_ok) {
        cli_error("--hook-name %s is not supported: saex captures only blocks.L.hook_resid_post "
                  "(the residual stream after block L, what Gemma Scope res SAEs read)", o->hook_name);
        return -1;
    }
    if (o->exclude_bos && !o->save_all) cli_warn("--exclude-bos only matters with --save-all-tokens");
    if (o->dump_path) {
        size_t n = strlen(o->dump_path);
        if (n < 12 || strcmp(o->dump_path + n - 12, ".safetensors") != 0) {
            cli_error("--dump-residuals %s: the name must end in .safetensors", o->dump_path);
            return -1;
        }
    }
    return 0;
}

/* ------------------------------------------------------------ file paths */

/* 1 if a and b name the same file: same inode when b exists, else the same
 * canonical path (folder resolved, name compared). */
static int same_file(const char *a, const char *b) {
    struct stat sa, sb;
    if (stat(a, &sa) == 0 && stat(b, &sb) == 0) return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
    char ra[PATH_MAX], rb[PATH_MAX];
    if (!realpath(a, ra)) return 0;
    char *copy1 = strfmt("%s", b), *copy2 = strfmt("%s", b);
    int same = 0;
    if (realpath(dirname(copy1), rb)) {
        char *full = strfmt("%s/%s", rb, basename(copy2));
        same = strcmp(ra, full) == 0;
        free(full);
    }
    free(copy1);
    free(copy2);
    return same;
}

static char *default_output(const char *input, const int *layers, int n_layers, input_form form) {
    char *copy = strfmt("%s", input), *copy2 = strfmt("%s", input);
    char *dir = dirname(copy), *base = basename(copy2);
    char *dot = strrchr(base, '.');
    if (dot && dot != base) *dot = '\0';
    char lay[256] = "";
    size_t n = 0;
    for (int i = 0; i < n_layers && n < sizeof lay - 16; i++)
        n += (size_t)snprintf(lay + n, sizeof lay - n, "%s%d", i ? "_" : "", layers[i]);
    char ts[32];
    time_t t = time(NULL);
    struct tm tm;
    localtime_r(&t, &tm);
    strftime(ts, sizeof ts, "%Y%m%d_%H%M%S", &tm);
    char *out = strfmt("%s/%s_layer%s_%s.%s", dir, base, lay, ts, form == FORM_JSONL ? "jsonl" : "json");
    free(copy);
    free(copy2);
    return out;
}

static char *real_or_copy(const char *p) {
    char buf[PATH_MAX];
    return strfmt("%s", realpath(p, buf) ? buf : p);
}

/* --------------------------------------------------------------- the run */

typedef struct {
    char *path;                       /* what saex_sae_open gets */
    char *sae_id;                     /* after {L} substitution, or NULL with --sae */
    const saex_registry_entry *entry; /* NULL with --sae */
} sae_location;

static void sae_location_free(sae_location *l) {
    saex_free(l->path);
    free(l->sae_id);
    memset(l, 0, sizeof *l);
}

typedef struct {
    options o;
    input_doc doc;
    char *output;
    atomic_file out, meta;
    char *model_dir;
    saex_tokenizer *tok;
    saex_model *model;
    sae_location loc[MAX_LAYERS];
    saex_sae *sae[MAX_LAYERS];
    residual_dump dump;
    download_progress dp;      /* Hub downloads of a model / SAE not in the cache */
    saex_fetch_options fetch;
} run_state;

static void run_free(run_state *r) {
    atomic_abort(&r->out);
    atomic_abort(&r->meta);
    saex_model_close(r->model);
    for (int l = 0; l < r->o.n_layers; l++) {
        saex_sae_close(r->sae[l]);
        sae_location_free(&r->loc[l]);
    }
    saex_tokenizer_close(r->tok);
    residual_dump_free(&r->dump, r->o.n_layers);
    input_free(&r->doc);
    saex_free(r->model_dir);
    free(r->output);
}

static int is_hf_id_not_dir(const char *model) {
    struct stat st;
    const char *slash = strchr(model, '/');
    return slash && slash != model && model[0] != '.' && !strchr(slash + 1, '/') &&
           !(stat(model, &st) == 0 && S_ISDIR(st.st_mode));
}

/* --sae PATH ({L} replaced), else the registry + HF cache (downloading unless offline). */
static int locate_sae(run_state *r, int L, sae_location *loc) {
    const options *o = &r->o;
    if (o->sae_path) {
        loc->path = subst_layer(o->sae_path, L);
        struct stat st;
        if (stat(loc->path, &st) != 0) {
            cli_error("--sae %s: no such file or folder", loc->path);
            return -1;
        }
        return 0;
    }
    loc->sae_id = subst_layer(o->sae_id, L);
    if (saex_resolve_sae(o->sae_release, o->sae_id, L, &r->fetch, &loc->path, &loc->entry)) {
        download_progress_clear(&r->dp);
        cli_error("%s", saex_last_error());
        return -1;
    }
    return 0;
}

static const char *model_name_of(const char *model) {
    const char *s = strrchr(model, '/');
    return s ? s + 1 : model;
}

static json_t *layer_metadata(run_state *r, int l, const saex_model_info *info, const char *tokenization) {
    const options *o = &r->o;
    const sae_location *loc = &r->loc[l];
    int L = o->layers[l];
    json_t *m = json_object();
    int from_registry = loc->entry != NULL;
    json_object_set_new(m, "sae_id", from_registry ? json_string(loc->sae_id)
                                     : o->sae_id_set ? json_string(o->sae_id)
                                                     : json_null());
    json_object_set_new(m, "sae_release",
                        from_registry || o->sae_release_set ? json_string(o->sae_release) : json_null());
    char hook[64];
    snprintf(hook, sizeof hook, "blocks.%d.hook_resid_post", L);
    json_object_set_new(m, "hook_name", json_string(hook));
    json_object_set_new(m, "top_k_features", json_integer(o->top_k));
    json_object_set_new(m, "model", json_string(o->model));
    char *mp = real_or_copy(r->model_dir);
    json_object_set_new(m, "model_path", json_string(mp));
    free(mp);
    json_object_set_new(m, "sae_repo", from_registry ? json_string(loc->entry->repo) : json_null());
    json_object_set_new(m, "sae_folder", from_registry ? json_string(loc->entry->folder) : json_null());
    char *sp = real_or_copy(loc->path);
    json_object_set_new(m, "sae_path", json_string(sp));
    free(sp);
    if (from_registry && loc->entry->neuronpedia)
        json_object_set_new(m, "neuronpedia_id", json_string(loc->entry->neuronpedia));
    json_object_set_new(m, "d_sae", json_integer(saex_sae_d_sae(r->sae[l])));
    json_object_set_new(m, "saex_version", json_string(saex_version()));
    json_object_set_new(m, "device", json_string(info->device));
    json_object_set_new(m, "dtype", json_string(info->dtype));
    json_object_set_new(m, "precision", json_string(o->precision == SAEX_PRECISION_F32 ? "f32" : "default"));
    json_object_set_new(m, "chat_template", json_string(o->chat == CHAT_GEMMA ? "gemma" : "none"));
    json_object_set_new(m, "tokenization", json_string(tokenization));
    json_object_set_new(m, "save_all_tokens", json_boolean(o->save_all));
    json_object_set_new(m, "exclude_bos", json_boolean(o->exclude_bos));
    json_object_set_new(m, "max_samples", o->max_samples ? json_integer(o->max_samples) : json_null());
    return m;
}

static int write_dump(run_state *r, const saex_model_info *info) {
    const options *o = &r->o;
    int nt = o->n_layers + 4;
    saex_tensor_view *t = calloc((size_t)nt, sizeof *t);
    char **names = calloc((size_t)o->n_layers, sizeof *names);
    if (!t || !names) {
        free(t);
        free(names);
        cli_error("out of memory");
        return -1;
    }
    for (int l = 0; l < o->n_layers; l++) {
        names[l] = strfmt("blocks.%d.hook_resid_post", o->layers[l]);
        t[l] = (saex_tensor_view){names[l], "F32", 2, {r->dump.rows, info->d_model}, r->dump.resid[l]};
    }
    const char *idx_names[4] = {"sample_index", "result_index", "variation_index", "position"};
    int32_t *idx_data[4] = {r->dump.sample_index, r->dump.result_index, r->dump.variation_index, r->dump.position};
    for (int i = 0; i < 4; i++)
        t[o->n_layers + i] = (saex_tensor_view){idx_names[i], "I32", 1, {r->dump.rows}, idx_data[i]};
    char *in = real_or_copy(o->input);
    const char *meta[] = {"format", "saex residual dump", "input", in, "save_all_tokens", o->save_all ? "true" : "false",
                          "saex_version", saex_version(), NULL};
    saex_status st = saex_write_safetensors(o->dump_path, t, nt, meta);
    if (st != SAEX_OK) cli_error("--dump-residuals %s: %s", o->dump_path, saex_last_error());
    free(in);
    for (int l = 0; l < o->n_layers; l++) free(names[l]);
    free(names);
    free(t);
    return st == SAEX_OK ? 0 : -1;
}

/* Appends a label field (a string or an integer) to buf, at most 40 bytes of
 * it, control characters as '?' and never half a UTF-8 character. */
static void label_part(char *buf, size_t size, const json_t *v) {
    char tmp[64];
    const char *t = tmp;
    size_t n;
    if (json_is_string(v)) {
        t = json_string_value(v);
        n = json_string_length(v);
    } else {
        n = (size_t)snprintf(tmp, sizeof tmp, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
    }
    if (n > 40) {
        n = 40;
        while (n > 0 && ((unsigned char)t[n] & 0xC0) == 0x80) n--; /* t[n] continues a character */
    }
    size_t len = strlen(buf);
    if (len && len + 1 < size) buf[len++] = ' ';
    for (size_t i = 0; i < n && len + 1 < size; i++) buf[len++] = (unsigned char)t[i] < 0x20 ? '?' : t[i];
    buf[len] = '\0';
}

static int is_label(const json_t *v) { return json_is_string(v) || json_is_integer(v); }

/* How the summary names a variation: "q3 I_like" from its question_id (its
 * own, else its result's) and template_type when the input has them, else
 * "r0 v1" (result / variation index). buf: at least 96 bytes. */
static void sample_label(const sample *s, char *buf, size_t size) {
    const json_t *q = json_object_get(s->var, "question_id");
    if (!is_label(q) && s->result) q = json_object_get(s->result, "question_id");
    const json_t *t = json_object_get(s->var, "template_type");
    buf[0] = '\0';
    if (is_label(q)) label_part(buf, size, q);
    if (is_label(t)) label_part(buf, size, t);
    if (!buf[0]) snprintf(buf, size, "r%d v%d", s->result_index, s->variation_index);
}

static void print_summary(run_state *r, int n_ok, int n_failed) {
    const options *o = &r->o;
    const input_doc *d = &r->doc;
    printf("wrote %s (%s form, %d variation%s: %d ok, %d failed", r->output, input_form_name(d->form), d->n,
           d->n == 1 ? "" : "s", n_ok, n_failed);
    if (d->n < d->n_total) printf("; %d more left unprocessed by --max-samples", d->n_total - d->n);
    printf(")\n");
    if (d->form != FORM_RESULTS) printf("metadata: %s\n", r->meta.path ? r->meta.path : "(sidecar)");
    if (o->dump_path) printf("residuals: %s (%lld rows)\n", o->dump_path, (long long)r->dump.rows);
    printf("top %d features at the last prompt token (id:activation):\n", SUMMARY_K);
    int width = 0; /* labels padded to the widest shown, in bytes */
    for (int i = 0; i < d->n && i < SUMMARY_ROWS; i++) {
        char label[96];
        sample_label(&d->s[i], label, sizeof label);
        if ((int)strlen(label) > width) width = (int)strlen(label);
    }
    for (int i = 0; i < d->n && i < SUMMARY_ROWS; i++) {
        const sample *s = &d->s[i];
        char label[96];
        sample_label(s, label, sizeof label);
        printf("  %-*s", width, label);
        if (s->reason) {
            printf("  error: %s\n", s->reason);
            continue;
        }
        for (int l = 0; l < o->n_layers; l++) {
            printf("  layer_%d:", o->layers[l]);
            for (int k = 0; k < SUMMARY_K && s->top; k++) {
                const saex_feature *f = &s->top[l * SUMMARY_K + k];
                if (f->id >= 0) printf(" %d:%.3g", f->id, (double)f->activation);
            }
        }
        printf("\n");
    }
    if (d->n > SUMMARY_ROWS) printf("  ... %d more in the output\n", d->n - SUMMARY_ROWS);
}

static const char *aggregate_tokenization(const input_doc *d) {
    const char *mode = NULL;
    for (int i = 0; i < d->n; i++) {
        const char *m = d->s[i].tok_mode;
        if (!m) continue;
        if (!mode) mode = m;
        else if (strcmp(mode, m) != 0) return "mixed";
    }
    return mode ? mode : "none";
}

static int run(run_state *r) {
    options *o = &r->o;
    /* 1. the input, then the output path: both before anything heavy. */
    if (input_load(o->input, o->max_samples, &r->doc)) return EXIT_FATAL;
    r->output = o->output ? strfmt("%s", o->output) : default_output(o->input, o->layers, o->n_layers, r->doc.form);
    char *meta_path = r->doc.form != FORM_RESULTS ? output_meta_path(r->output) : NULL;
    const char *clash = same_file(o->input, r->output) ? r->output
                        : meta_path && same_file(o->input, meta_path) ? meta_path
                        : o->dump_path && same_file(o->input, o->dump_path) ? o->dump_path
                                                                             : NULL;
    if (clash) {
        cli_error("output %s is the input file; saex never overwrites its input (choose another --output)", clash);
        free(meta_path);
        return EXIT_FATAL;
    }
    if (o->dump_path && (same_file(r->output, o->dump_path) || !strcmp(r->output, o->dump_path))) {
        cli_error("--dump-residuals and --output are the same file %s", o->dump_path);
        free(meta_path);
        return EXIT_FATAL;
    }
    int bad = atomic_open(&r->out, r->output) || (meta_path && atomic_open(&r->meta, meta_path));
    free(meta_path);
    if (bad) return EXIT_FATAL;
    if (o->dump_path) { /* fail early on a dump path in a missing folder */
        char *c = strfmt("%s", o->dump_path);
        struct stat st;
        int ok = stat(dirname(c), &st) == 0 && S_ISDIR(st.st_mode);
        free(c);
        if (!ok) {
            cli_error("--dump-residuals %s: its folder does not exist", o->dump_path);
            return EXIT_FATAL;
        }
    }

    /* 2. model folder, tokenizer, token sequences. */
    download_progress_init(&r->dp, &g_stop);
    saex_fetch_options_init(&r->fetch);
    r->fetch.offline = o->offline;
    r->fetch.max_layer = o->layers[o->n_layers - 1]; /* sorted: the deepest */
    r->fetch.events = &r->dp.events;
    if (saex_resolve_model(o->model, &r->fetch, &r->model_dir)) {
        download_progress_clear(&r->dp);
        cli_error("%s", saex_last_error());
        return g_stop ? EXIT_INTERRUPTED : EXIT_FATAL;
    }
    double t0 = now_seconds();
    if (saex_tokenizer_open(r->model_dir, &r->tok) != SAEX_OK) {
        cli_error("tokenizer: %s", saex_last_error());
        return EXIT_FATAL;
    }
    cli_info("loaded tokenizer from %s in %.2f s (%d tokens)", r->model_dir, now_seconds() - t0,
             saex_tokenizer_vocab_size(r->tok));
    encode_opts eo = {o->chat, o->joint};
    int64_t longest = 0;
    for (int i = 0; i < r->doc.n; i++) {
        if (encode_sample(&r->doc.s[i], r->tok, &eo)) {
            cli_error("out of memory while tokenizing");
            return EXIT_FATAL;
        }
        if (!r->doc.s[i].reason && r->doc.s[i].n_ids > longest) longest = r->doc.s[i].n_ids;
    }
    if (g_stop) return EXIT_INTERRUPTED;

    /* 3. SAEs: location, layer, width. */
    for (int l = 0; l < o->n_layers; l++) {
        int L = o->layers[l];
        if (locate_sae(r, L, &r->loc[l])) return g_stop ? EXIT_INTERRUPTED : EXIT_FATAL;
        const saex_registry_entry *e = r->loc[l].entry;
        if (e && is_hf_id_not_dir(o->model) && strncmp(model_name_of(o->model), e->model, strlen(e->model)) != 0)
            cli_warn("SAE release %s was trained on %s, but --model is %s (continuing: d_in must still match)",
                     o->sae_release, e->model, o->model);
        t0 = now_seconds();
        if (saex_sae_open(r->loc[l].path, &r->sae[l]) != SAEX_OK) {
            cli_error("SAE %s: %s", r->loc[l].path, saex_last_error());
            return EXIT_FATAL;
        }
        int sl = saex_sae_layer(r->sae[l]);
        if (sl >= 0 && sl != L) {
            cli_error("SAE %s is for layer %d, but the target layer is %d", r->loc[l].path, sl, L);
            return EXIT_FATAL;
        }
        if (o->top_k > saex_sae_d_sae(r->sae[l])) {
            cli_error("--top-k %lld is wider than the SAE %s (%d features)", (long long)o->top_k, r->loc[l].path,
                      saex_sae_d_sae(r->sae[l]));
            return EXIT_FATAL;
        }
        cli_info("loaded SAE for layer %d from %s in %.2f s (d_in %d, d_sae %d)", L, r->loc[l].path,
                 now_seconds() - t0, saex_sae_d_in(r->sae[l]), saex_sae_d_sae(r->sae[l]));
        if (g_stop) return EXIT_INTERRUPTED;
    }

    /* 4. the model. */
    saex_model_options mo;
    saex_model_options_init(&mo);
    mo.device = o->device;
    mo.precision = o->precision;
    mo.threads = (int)o->threads;
    mo.max_batch_tokens = o->batch_tokens > longest ? o->batch_tokens : longest;
    t0 = now_seconds();
    if (saex_model_open(r->model_dir, o->layers, o->n_layers, &mo, &r->model) != SAEX_OK) {
        cli_error("model %s: %s", r->model_dir, saex_last_error());
        return EXIT_FATAL;
    }
    const saex_model_info *info = saex_model_get_info(r->model);
    cli_info("loaded model %s in %.2f s (blocks 0..%d of %d, d_model %d, %s on %s, %d threads, %.2f GiB)", r->model_dir,
             now_seconds() - t0, info->deepest_layer, info->n_layers, info->d_model, info->dtype, info->device,
             info->threads, (double)info->weight_bytes / (1 << 30));
    for (int l = 0; l < o->n_layers; l++) {
        if (saex_model_attach_sae(r->model, o->layers[l], r->sae[l]) != SAEX_OK) {
            cli_error("SAE %s with model %s: %s", r->loc[l].path, r->model_dir, saex_last_error());
            return EXIT_FATAL;
        }
    }
    for (int i = 0; i < r->doc.n; i++) {
        sample *s = &r->doc.s[i];
        if (!s->reason && s->n_ids > info->max_positions)
            sample_fail(s, "too long: %d tokens, the model accepts at most %d", s->n_ids, info->max_positions);
    }
    if (g_stop) return EXIT_INTERRUPTED;

    /* 5. the run. */
    extract_opts eo2 = {o->layers, o->n_layers, (int)o->top_k, o->save_all, o->exclude_bos, o->batch_tokens,
                        o->dump_path != NULL, o->verbose, &g_stop};
    output_ctx oc = {o->layers, o->n_layers, (int)o->top_k, o->save_all, r->tok};
    progress pg;
    int rc = extract_run(r->model, &r->doc, &eo2, &pg, output_on_result, &oc, o->dump_path ? &r->dump : NULL);
    if (rc == 1 || g_stop) return EXIT_INTERRUPTED;
    if (rc < 0) return EXIT_FATAL;

    /* 6. write. */
    output_mark_errors(&r->doc, &oc);
    const char *tokenization = aggregate_tokenization(&r->doc);
    json_t *meta = json_object();
    for (int l = 0; l < o->n_layers; l++) {
        char key[32];
        snprintf(key, sizeof key, "layer_%d", o->layers[l]);
        json_object_set_new(meta, key, layer_metadata(r, l, info, tokenization));
    }
    int werr = output_write(&r->doc, meta, &r->out, &r->meta);
    json_decref(meta);
    if (werr) return EXIT_FATAL;
    if (g_stop) return EXIT_INTERRUPTED;
    if (o->dump_path && write_dump(r, info)) return EXIT_FATAL;
    char *meta_final = r->meta.path ? strfmt("%s", r->meta.path) : NULL;
    if ((r->meta.path && atomic_commit(&r->meta)) || atomic_commit(&r->out)) {
        free(meta_final);
        return EXIT_FATAL;
    }
    r->meta.path = meta_final; /* kept only for the summary's "metadata:" line */

    int n_ok = 0, n_failed = 0;
    for (int i = 0; i < r->doc.n; i++) r->doc.s[i].reason ? n_failed++ : n_ok++;
    fflush(stderr);
    print_summary(r, n_ok, n_failed);
    free(meta_final);
    r->meta.path = NULL;
    if (n_failed) {
        cli_warn("%d of %d variations failed; their \"status\" is \"error\" with a \"reason\"", n_failed, r->doc.n);
        if (!o->verbose) {
            int shown = 0;
            for (int i = 0; i < r->doc.n && shown < 5; i++)
                if (r->doc.s[i].reason) {
                    char label[96];
                    sample_label(&r->doc.s[i], label, sizeof label);
                    fprintf(stderr, "  %s: %s\n", label, r->doc.s[i].reason);
                    shown++;
                }
        }
        return EXIT_SOME_FAILED;
    }
    return EXIT_ALL_OK;
}

int cmd_extract(int argc, char **argv) {
    cli_set_prog("saex extract");
    run_state r;
    memset(&r, 0, sizeof r);
    r.out.fd = r.meta.fd = -1;
    r.out.slot = r.meta.slot = -1;
    int p = parse_options(argc, argv, &r.o);
    if (p != 0) return p > 0 ? EXIT_ALL_OK : EXIT_USAGE;
    install_sigint();
    int rc = run(&r);
    if (rc == EXIT_INTERRUPTED) cli_error("interrupted: nothing was written");
    run_free(&r);
    return rc;
}
