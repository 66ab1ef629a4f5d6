/*
 * saex.h — the public interface of libsaex.
 *
 * saex runs Gemma-2 by teacher forcing up to a target block, captures the
 * residual stream after that block (blocks.L.hook_resid_post) and encodes it
 * with a Gemma Scope JumpReLU SAE. Everything the `saex` command does goes
 * through this header.
 *
 * Conventions
 *   - Every fallible call returns a saex_status; SAEX_OK is 0. On failure,
 *     saex_last_error() returns a message naming the file / field / tensor
 *     that is wrong. The message is per thread and valid until the next call.
 *   - Handles are opaque; each *_open has a matching *_close that accepts NULL.
 *   - Memory the library returns to the caller is released with saex_free().
 *   - The library never calls exit() and never prints (except where a
 *     verbose flag is passed explicitly).
 */
#ifndef SAEX_H
#define SAEX_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SAEX_VERSION "0.1.0"

typedef enum {
    SAEX_OK = 0,
    SAEX_ERR_IO = 1,          /* a file could not be opened / read / written */
    SAEX_ERR_FORMAT = 2,      /* a file is malformed (JSON, safetensors, npz, tokenizer) */
    SAEX_ERR_UNSUPPORTED = 3, /* valid input saex does not handle (architecture, dtype, tokenizer kind) */
    SAEX_ERR_ARG = 4,         /* an argument is out of its range */
    SAEX_ERR_NOMEM = 5,       /* an allocation failed */
    SAEX_ERR_BACKEND = 6,     /* the compute backend failed (oneDNN, CUDA) */
    SAEX_ERR_RANGE = 7,       /* a sequence is longer than the model allows, a token id outside the vocabulary */
    SAEX_ERR_MISMATCH = 8,    /* two inputs disagree: SAE width vs model, tensor shape vs config */
    SAEX_ERR_INTERRUPTED = 9, /* stopped at the caller's request (saex_events.should_stop, Ctrl-C) */
    SAEX_ERR_NOT_FOUND = 10,  /* a model, SAE or file is neither local nor (offline, 404) on the Hub */
    SAEX_ERR_NETWORK = 11,    /* the Hub could not be reached or kept failing after retries */
    SAEX_ERR_AUTH = 12,       /* the Hub refused: no token (401) or the license not accepted (403) */
    SAEX_ERR_CONFLICT = 13    /* a run store holds another run, or another process holds its lock */
} saex_status;

const char *saex_last_error(void);
const char *saex_status_name(saex_status s);
const char *saex_version(void);
void saex_free(void *p);

/* ------------------------------------------------------------------ tokenizer */

typedef struct saex_tokenizer saex_tokenizer;

/* path: a tokenizer.json, or a directory that holds one. */
saex_status saex_tokenizer_open(const char *path, saex_tokenizer **out);
void saex_tokenizer_close(saex_tokenizer *tok);

/* Encodes len bytes of UTF-8 (NUL bytes allowed) exactly as HF `tokenizers`
 * does. add_bos != 0 applies the post-processor's BOS. *ids is allocated
 * (saex_free); *n_ids receives its length. */
saex_status saex_tokenize(const saex_tokenizer *tok, const char *text, size_t len, int add_bos,
                          int32_t **ids, size_t *n_ids);

/* The vocabulary string of one id ("▁the", "<0x0A>", "<start_of_turn>"); NULL if out of range. */
const char *saex_token_piece(const saex_tokenizer *tok, int32_t id);

/* ids -> text as HF's decoder does (▁ -> space, byte fallback fused into UTF-8).
 * skip_special != 0 drops special added tokens. *text is NUL-terminated (saex_free). */
saex_status saex_detokenize(const saex_tokenizer *tok, const int32_t *ids, size_t n_ids, int skip_special,
                            char **text, size_t *len);

int32_t saex_tokenizer_vocab_size(const saex_tokenizer *tok);
/* Id of an exact vocabulary / added-token string, or -1. */
int32_t saex_tokenizer_token_id(const saex_tokenizer *tok, const char *piece);
int32_t saex_tokenizer_bos_id(const saex_tokenizer *tok); /* -1 if none */

/* ---------------------------------------------------------------------- model */

typedef struct saex_model saex_model;

typedef enum {
    SAEX_DEVICE_CPU = 0,
    SAEX_DEVICE_CUDA = 1,
    SAEX_DEVICE_AUTO = 2 /* CUDA when a GPU is present and the build has it, else CPU */
} saex_device;

typedef enum {
    /* Default. Weights stay in their stored dtype (bf16 for released Gemma-2);
     * activations are f32 between operations; matmul inputs are rounded to
     * the weight dtype and products accumulate in f32. */
    SAEX_PRECISION_DEFAULT = 0,
    /* Exact comparison mode: weights are widened to f32 at load (twice the
     * memory for bf16 checkpoints) and every operation runs in f32. */
    SAEX_PRECISION_F32 = 1
} saex_precision;

typedef struct {
    saex_device device;
    saex_precision precision;
    int threads;       /* CPU threads; 0 = the cores this process may use (cgroup-aware) */
    int cuda_device;   /* GPU ordinal for SAEX_DEVICE_CUDA */
    int64_t max_batch_tokens; /* scratch is sized for batches of this many tokens [8192]; a larger batch grows it */
} saex_model_options;

void saex_model_options_init(saex_model_options *opt);

typedef struct {
    int n_layers;            /* blocks in the checkpoint */
    int d_model;             /* hidden_size */
    int n_heads, n_kv_heads, head_dim;
    int d_ff;                /* intermediate_size */
    int vocab_size;
    int max_positions;       /* max_position_embeddings: longest sequence accepted */
    int sliding_window;
    int deepest_layer;       /* the deepest block this handle runs (max of the requested layers) */
    const char *dtype;       /* stored dtype of the weights: "bfloat16", "float16", "float32" */
    const char *device;      /* "cpu" or "cuda" */
    int threads;             /* CPU threads in use */
    double load_seconds;
    size_t weight_bytes;     /* bytes of the weights this handle holds */
} saex_model_info;

/* dir: a Hugging Face model directory (config.json + safetensors). layers:
 * the blocks whose resid_post will be captured. Only the embedding and
 * blocks 0..max(layers) are read from disk. */
saex_status saex_model_open(const char *dir, const int *layers, int n_layers, const saex_model_options *opt,
                            saex_model **out);
void saex_model_close(saex_model *m);
const saex_model_info *saex_model_get_info(const saex_model *m);

/* Runs n_seqs token sequences as one packed batch (no padding; attention
 * stays inside each sequence). Each sequence must be 1..max_positions long;
 * a larger total than max_batch_tokens grows the scratch. Captured residuals and SAE
 * results refer to the latest call. */
saex_status saex_model_forward(saex_model *m, const int32_t *const *seqs, const int *lens, int n_seqs);

/* Like saex_model_forward, for callers that will read the deepest captured
 * layer at one position per sequence only (keep_pos[i] in sequence i, e.g.
 * its last prompt token). The deepest block then runs attention output and
 * MLP for those rows alone — the same numbers there, without the work for
 * rows nobody reads. Shallower captured layers stay complete; reading the
 * deepest layer elsewhere fails with SAEX_ERR_ARG. keep_pos NULL: as
 * saex_model_forward. */
saex_status saex_model_forward_at(saex_model *m, const int32_t *const *seqs, const int *lens, int n_seqs,
                                  const int *keep_pos);

/* Copies resid_post of `layer` at (seq, pos) of the latest batch: d_model floats. */
saex_status saex_model_residual(saex_model *m, int layer, int seq, int pos, float *out);

/* ------------------------------------------------------------------------ SAE */

typedef struct saex_sae saex_sae;

/* path: a Gemma Scope params.npz, a folder holding params.npz, or a SAELens
 * folder (cfg.json + sae_weights.safetensors). */
saex_status saex_sae_open(const char *path, saex_sae **out);
void saex_sae_close(saex_sae *sae);
int saex_sae_d_in(const saex_sae *sae);
int saex_sae_d_sae(const saex_sae *sae);
/* The layer the SAE was trained on when its files say so (cfg.json hook_name /
 * hook_layer, or a Gemma Scope path "layer_N/..."), else -1. */
int saex_sae_layer(const saex_sae *sae);

typedef struct {
    int32_t id;
    float activation;
} saex_feature;

/* Host-side reference encode of n residual rows x[n, d_in]:
 * pre[n, d_sae] = x W_enc + b_enc (may be NULL); act[n, d_sae] = JumpReLU(pre) (may be NULL). */
saex_status saex_sae_encode(const saex_sae *sae, const float *x, int64_t n, float *pre, float *act);

/* Top-k of one row of activations: largest first, ties to the lower id,
 * only non-zero activations. Returns how many were written (<= k);
 * *n_active (may be NULL) receives the count of non-zero features. */
int saex_topk_row(const float *act, int64_t d_sae, int k, saex_feature *out, int64_t *n_active);

/* Makes `sae` the encoder of `layer` on the model's device (uploads its
 * weights). The layer must be one the model captures and d_in == d_model.
 * The model does not own the SAE; keep it open while the model uses it. */
saex_status saex_model_attach_sae(saex_model *m, int layer, const saex_sae *sae);

/* For n positions (seq[i], pos[i]) of the latest batch: SAE top-k of the
 * residual of `layer`, computed on the model's device. out[n * k]; rows with
 * fewer than k active features are padded with id -1, activation 0.
 * n_active[n] (may be NULL) gets the number of non-zero features. */
saex_status saex_model_sae_topk(saex_model *m, int layer, const int *seq, const int *pos, int n, int k,
                                saex_feature *out, int32_t *n_active);

/* ---------------------------------------------------------------- tensor I/O */

/* One tensor to write: dtype "F32", "BF16", "I32" or "I64". */
typedef struct {
    const char *name;
    const char *dtype;
    int ndim;
    int64_t shape[4];
    const void *data;
} saex_tensor_view;

/* Writes a single-file safetensors at path (written to path.tmp-PID, then
 * renamed, so a failure leaves nothing half-written). metadata: NULL or
 * key, value, ..., NULL strings for the "__metadata__" header entry. */
saex_status saex_write_safetensors(const char *path, const saex_tensor_view *t, int n, const char *const *metadata);

/* Number of CPU cores this process may use (sched affinity and cgroup quota). */
int saex_cpu_count(void);
/* 1 if this build has the CUDA backend and a GPU is visible. */
int saex_cuda_available(void);

/* ------------------------------------------------------------- events
 * How the library reports progress and asks whether to stop, without ever
 * printing: the front end (CLI, Python) renders. Every member may be NULL.
 * The callbacks run on the thread that made the call (saex_extract,
 * saex_resolve_model, ...), between units of work, never concurrently. */

typedef enum { SAEX_LOG_INFO = 0, SAEX_LOG_WARN = 1 } saex_log_level;

typedef struct {
    const char *what;        /* "download", "extract", "write" */
    const char *item;        /* downloads: the file (repo/path); else NULL */
    int64_t done, total;     /* bytes (download, write) or samples (extract); total -1 if unknown */
    int64_t done_tokens, total_tokens; /* extract only */
    int finished;            /* 1 on the last call for this item */
} saex_progress;

typedef struct {
    void (*log)(void *ctx, saex_log_level level, const char *message);
    void (*progress)(void *ctx, const saex_progress *p);
    /* Polled between batches and between download blocks: non-zero stops the
     * call with SAEX_ERR_INTERRUPTED (work already committed is kept). */
    int (*should_stop)(void *ctx);
    void *ctx;
} saex_events;

/* ====================================================== registry and the Hub
 * (src/hub) Gemma Scope SAEs by SAELens release + id, the Hugging Face cache
 * as huggingface_hub lays it out, and downloads into it. */

/* SAEX_HUB_API: declarations added by src/hub. */

/* One Gemma Scope residual-stream SAE of the SAELens registry (a table
 * generated by tools/gen_registry.py; no network). */
typedef struct {
    const char *release;     /* "gemma-scope-9b-pt-res-canonical" */
    const char *repo;        /* "google/gemma-scope-9b-pt-res" */
    const char *model;       /* "gemma-2-9b" */
    const char *sae_id;      /* "layer_20/width_16k/canonical" */
    const char *folder;      /* "layer_20/width_16k/average_l0_68" */
    const char *neuronpedia; /* "gemma-2-9b/20-gemmascope-res-16k" or NULL */
    int layer;               /* from "layer_N/...", else -1 */
} saex_registry_entry;
/* NULL if the pair is not in the table. */
const saex_registry_entry *saex_registry_find(const char *release, const char *sae_id);
int64_t saex_registry_count(void);
const saex_registry_entry *saex_registry_at(int64_t i); /* NULL outside 0..count-1 */

typedef struct {
    int offline;              /* no network; also when HF_HUB_OFFLINE=1 */
    const char *revision;     /* NULL = "main" (models and saex_hub_download; SAEs are fetched at main) */
    int max_layer;            /* models: fetch only shards holding the embedding and blocks 0..max_layer; -1 = all */
    const saex_events *events; /* log lines, per-file progress ("download"), should_stop */
} saex_fetch_options;
/* offline 0, revision main, max_layer -1 (every shard), no events. A NULL
 * saex_fetch_options * means the same. */
void saex_fetch_options_init(saex_fetch_options *f);

/* "org/name" or a local folder -> the folder with config.json (saex_free).
 * A folder is used as it is. An id is looked up in the cache first: a
 * snapshot with config.json, tokenizer.json and the weights of blocks
 * 0..max_layer is used without any request. Otherwise the missing files are
 * downloaded (unless offline): config, tokenizer files, the index and only
 * the shards that blocks 0..max_layer need. Offline and not complete there:
 * SAEX_ERR_NOT_FOUND whose message lists every path looked at and the
 * commands that fetch it (`saex download ...`, `hf download ...`). Hub
 * failures: SAEX_ERR_AUTH (401 no token / 403 license not accepted),
 * SAEX_ERR_NOT_FOUND (no such repo / revision / file), SAEX_ERR_NETWORK
 * (unreachable, 5xx / 429 after retries), SAEX_ERR_IO (disk full),
 * SAEX_ERR_FORMAT (sha256 mismatch), SAEX_ERR_INTERRUPTED (should_stop). */
saex_status saex_resolve_model(const char *model, const saex_fetch_options *f, char **dir);

/* Checks release + id for one layer against the registry only (no cache,
 * no network): the same messages as saex_resolve_sae for an unknown id or
 * another layer's id. *entry (may be NULL) gets the row. */
saex_status saex_registry_check(const char *release, const char *sae_id, int layer, const saex_registry_entry **entry);

/* release + id for one layer ("{L}" in the id is replaced by the layer;
 * layer -1: the id's own layer, no check) -> path of params.npz (or the
 * SAELens folder) in the cache, downloading the SAE's folder unless offline
 * (saex_free). *entry (may be NULL) gets the registry row. Unknown release
 * or id: SAEX_ERR_ARG saying which layers and widths the release has and
 * where `canonical` ids live; an id of another layer: SAEX_ERR_MISMATCH
 * suggesting --sae-id 'layer_{L}/...'. Otherwise as saex_resolve_model. */
saex_status saex_resolve_sae(const char *release, const char *sae_id, int layer, const saex_fetch_options *f,
                             char **path, const saex_registry_entry **entry);

/* Downloads the files of repo at f->revision whose paths match one of the
 * globs (a NULL-terminated list, as `hf download --include`: '*' crosses
 * '/', "dir/" is everything under dir; NULL or empty: every file) into the
 * cache. *dir (may be NULL) gets the snapshot folder (saex_free). Offline:
 * the cached snapshot, unchecked, or SAEX_ERR_NOT_FOUND. */
saex_status saex_hub_download(const char *repo, const char *const *patterns, const saex_fetch_options *f, char **dir);

/* The cache folder in use (saex_free): HF_HUB_CACHE, else $HF_HOME/hub, else
 * ~/.cache/huggingface/hub. Layout: huggingface_hub's (docs/cli.md). */
char *saex_hf_cache_dir(void);

/* ============================================================ extraction
 * (src/pipeline) What `saex extract` does, for every front end:
 *   saex_doc        an input document: results / list / JSON Lines
 *   saex_extractor  tokenizer + SAE per layer (+ the model, loaded on demand)
 *   saex_results    per sample and layer the top-k features: in memory, or a
 *                   run store on disk (resumable, shardable)
 *   saex_write_output  the document with the results merged in. */

typedef struct saex_doc saex_doc;
typedef enum { SAEX_FORM_RESULTS = 0, SAEX_FORM_LIST = 1, SAEX_FORM_JSONL = 2 } saex_doc_form;

/* path "-" reads standard input. NaN / Infinity / -Infinity (Python's
 * json.dump) and a UTF-8 byte order mark are accepted and written back as
 * they were. Whole-file problems fail with a message naming the file. */
saex_status saex_doc_load(const char *path, saex_doc **out);
/* The same from memory; name is what messages call it. */
saex_status saex_doc_parse(const char *name, const void *data, size_t len, saex_doc **out);
void saex_doc_close(saex_doc *d);
saex_doc_form saex_doc_form_of(const saex_doc *d);
const char *saex_doc_form_name(saex_doc_form f); /* "results", "list", "jsonl" */
int64_t saex_doc_n_samples(const saex_doc *d);
/* Variation i as compact JSON (saex_free). */
saex_status saex_doc_sample_json(const saex_doc *d, int64_t i, char **json, size_t *len);
/* results[r].variations[v] (list / JSON Lines: element r, v = 0). */
void saex_doc_sample_where(const saex_doc *d, int64_t i, int64_t *r, int64_t *v);
/* "q001 I_like" from question_id / template_type, else "r0 v1". */
void saex_doc_sample_label(const saex_doc *d, int64_t i, char *buf, size_t size);
/* Hex sha256 of the input bytes. */
const char *saex_doc_sha256(const saex_doc *d);

#define SAEX_MAX_LAYERS 64
typedef enum { SAEX_CHAT_NONE = 0, SAEX_CHAT_GEMMA = 1 } saex_chat_template;

typedef struct {
    const char *model;        /* folder, or HF id [google/gemma-2-9b-it] */
    const char *revision;     /* Hub revision [main] */
    const char *sae_release;  /* [gemma-scope-9b-pt-res-canonical] */
    const char *sae_id;       /* [layer_20/width_16k/canonical]; "{L}" -> the layer */
    const char *sae_path;     /* instead of release + id: params.npz or folder; "{L}" -> the layer */
    int layers[SAEX_MAX_LAYERS];
    int n_layers;             /* [1: layer 20] */
    saex_model_options model_options;
    int offline;              /* never use the network (also HF_HUB_OFFLINE=1) */
    const saex_events *events;
} saex_extractor_options;
void saex_extractor_options_init(saex_extractor_options *o);

typedef struct saex_extractor saex_extractor;
/* Resolves the model and the SAEs (downloading what is missing unless
 * offline), loads the tokenizer and the SAEs and checks each SAE's layer.
 * The model itself loads in saex_extractor_load_model (or at the first
 * extraction), so that mistakes in the input are found first. */
saex_status saex_extractor_open(const saex_extractor_options *o, saex_extractor **out);
saex_status saex_extractor_load_model(saex_extractor *x);
void saex_extractor_close(saex_extractor *x);
const saex_tokenizer *saex_extractor_tokenizer(const saex_extractor *x);
saex_model *saex_extractor_model(saex_extractor *x); /* NULL before load */
const saex_sae *saex_extractor_sae(const saex_extractor *x, int layer_index);
const char *saex_extractor_model_dir(const saex_extractor *x);
const char *saex_extractor_sae_path(const saex_extractor *x, int layer_index);
/* Neuronpedia source ("gemma-2-9b/20-gemmascope-res-16k") or NULL. */
const char *saex_extractor_neuronpedia(const saex_extractor *x, int layer_index);

typedef struct {
    int top_k;                /* [50], 1 .. SAE width */
    int save_all_tokens;      /* every position, else the last prompt token */
    int exclude_bos;          /* with save_all_tokens: not position 0 */
    saex_chat_template chat_template;
    int joint_tokenization;
    int64_t batch_tokens;     /* tokens per packed batch [4096] */
    int64_t max_samples;      /* the first N variations; 0 = all */
    const int64_t *select;    /* or exactly these sample indices (ascending); NULL = all */
    int64_t n_select;
    int keep_residuals;       /* also the dense resid_post rows at the saved positions */
    const saex_events *events;
} saex_run_options;
void saex_run_options_init(saex_run_options *o);

typedef struct saex_results saex_results;
/* Results held in memory (the Python package). */
saex_status saex_results_create(saex_results **out);
/* A run store folder, for shard i of n (0-based): created, or resumed when it
 * holds the same run; another run there, or the shard locked by another
 * process, is SAEX_ERR_CONFLICT with a message naming what differs. */
saex_status saex_results_open_store(const char *dir, int shard, int n_shards, saex_results **out);
void saex_results_close(saex_results *r);

/* Tokenizes, plans the batches, and runs every batch of this shard whose
 * results are not there yet. Failures of single samples are results
 * (status "error" + reason), not errors of the call. */
saex_status saex_extract(saex_extractor *x, const saex_doc *d, const saex_run_options *o, saex_results *r);

typedef enum { SAEX_SAMPLE_UNPROCESSED = -1, SAEX_SAMPLE_OK = 0, SAEX_SAMPLE_ERROR = 1 } saex_sample_status;
typedef struct {
    saex_sample_status status;
    const char *reason;        /* SAEX_SAMPLE_ERROR */
    int answer_start, total_tokens;
    int n_pos, k;
    const int32_t *position;   /* [n_pos] */
    const int32_t *token_id;   /* [n_pos] */
    const int32_t *ids;        /* [n_pos, k], -1 padded */
    const float *act;          /* [n_pos, k] */
    const int32_t *n_active;   /* [n_pos] */
    const float *resid;        /* [n_pos, d_model] with keep_residuals, else NULL */
    int d_model;
} saex_sample_view;
/* Sample i (document order) at layer index l. The view is valid until the
 * next call on r. */
saex_status saex_results_sample(saex_results *r, int64_t i, int layer_index, saex_sample_view *v);
/* What the output holds under sae_activations.layer_L for sample i (compact JSON, saex_free). */
saex_status saex_results_sample_json(saex_results *r, int64_t i, int layer_index, char **json, size_t *len);

enum {
    SAEX_WRITE_UNIQUE = 1 /* path exists: write NAME_2.EXT, NAME_3.EXT, ... never replacing a file */
};
/* Writes d with r merged in (the form of the input; list / JSON Lines also
 * get PATH.meta.json) to a temp file, fsynced and renamed: complete or
 * absent. path "-" streams to standard output. *written (may be NULL)
 * receives the path written (saex_free). */
saex_status saex_write_output(const saex_doc *d, saex_results *r, const char *path, int flags, char **written);
/* The dense rows of a keep_residuals run as one safetensors file:
 * "blocks.L.hook_resid_post" F32 [N, d_model] per layer, and I32 [N]
 * "sample_index", "result_index", "variation_index", "position", for the
 * N saved positions of the successful samples in document order. Streamed:
 * memory does not grow with N. */
saex_status saex_write_residuals(const saex_doc *d, saex_results *r, const char *path);

/* ---- run stores: progress and the merge of a sharded run ---- */
typedef struct {
    int64_t batches, batches_done;
    int64_t samples, samples_done;
    int64_t tokens, tokens_done;
    int complete;          /* its completion marker is there */
    int running;           /* a process holds its lock now */
    long pid;              /* of the process that ran it last, or 0 */
    double started;        /* unix time of that process's start, or 0 */
    double updated;        /* unix time of its newest chunk, or 0 */
} saex_shard_status;
int saex_results_n_shards(const saex_results *r);
saex_status saex_results_shard_status(saex_results *r, int shard, saex_shard_status *s);
/* The store's manifest.json as text (saex_free). */
saex_status saex_results_manifest(const saex_results *r, char **json);

/* Unlinks every temp file the library is writing (outputs, run-store
 * chunks). Async-signal-safe: for a front end's signal handlers, so that a
 * terminated run leaves nothing half-written behind. */
void saex_remove_temp_files(void);

/* SAEX_PIPELINE_API: further declarations added by src/pipeline. */

/* ============================================================ analysis
 * (src/analysis) saex compare / saex report. */

/* SAEX_ANALYSIS_API: declarations added by src/analysis. */

/* Which positions of a sample make its feature vector. A feature absent from
 * a position's top-k counts as 0 there. */
typedef enum {
    SAEX_POSITIONS_LAST = 0,          /* the last prompt token: last_token, or token_{answer_start - 1} */
    SAEX_POSITIONS_PROMPT_MEAN = 1,   /* every-token outputs: mean over positions < answer_start_position */
    SAEX_POSITIONS_PROMPT_MAX = 2,    /* ... maximum over them */
    SAEX_POSITIONS_RESPONSE_MEAN = 3, /* mean over positions >= answer_start_position */
    SAEX_POSITIONS_RESPONSE_MAX = 4
} saex_positions;
const char *saex_positions_name(saex_positions p); /* "last", "prompt-mean", ... */
int saex_positions_parse(const char *name);        /* the enum value, or -1 */

typedef struct {
    const char *by;          /* field whose values are the conditions [template_type]: the
                              * variation's, else its result's */
    const char *pair_by;     /* field pairing samples across conditions (Wilcoxon signed-rank);
                              * NULL: unpaired (Mann-Whitney U) */
    const char *baseline;    /* compare every condition with this one; NULL: every pair */
    int layer;               /* only this block; -1: every layer in the output */
    saex_positions positions;
    const saex_events *events; /* progress of the reading (what "read", bytes) and should_stop */
    const char *input;       /* OUTPUT is a run store: its input document [the path it records] */
} saex_compare_options;
void saex_compare_options_init(saex_compare_options *o);

/* A comparison: for every layer, every pair of conditions (a, b) and every
 * feature active in one of their samples, one row. Rows of one test (layer,
 * a, b) are consecutive and ranked: adjusted p ascending (NaN last), then
 * |rank-biserial|, then |mean_diff| descending, then feature id. */
typedef struct saex_comparison saex_comparison;

typedef struct {
    int layer;
    const char *a, *b;      /* differences and effects are b - a */
    int paired;             /* Wilcoxon signed-rank on pairs, else Mann-Whitney U */
    int64_t n_a, n_b;       /* samples tested; paired: pairs (n_a == n_b) */
    int64_t n_left_out;     /* paired: samples of a or b without a partner */
    int64_t first_row, n_rows;
} saex_comparison_test;

typedef struct {
    const char *input, *form;  /* the output read; "results", "list", "jsonl" */
    const char *by, *pair_by, *baseline, *positions;
    int64_t n_samples;         /* variations in the output */
    int64_t n_unlabelled;      /* without the `by` field: left out */
    int n_conditions;
    const char *const *conditions; /* in order of first appearance */
    const int64_t *condition_size; /* labelled samples per condition */
    int n_layers;
    const int *layers;
    const int64_t *n_failed;       /* per layer: status "error", skipped */
    const int64_t *n_unprocessed;  /* per layer: no sae_activations there, or no position in range */
    const char *const *neuronpedia; /* per layer: "gemma-2-9b/20-gemmascope-res-16k" or NULL */
    int n_tests;
    const saex_comparison_test *tests;
} saex_comparison_info;

typedef struct {
    int test;                 /* index into info->tests */
    int32_t feature;
    int64_t rank;             /* 1-based within its test */
    double frac_a, frac_b;    /* fraction of the tested samples where it is active */
    double mean_a, mean_b;    /* mean activation, 0 where absent */
    double mean_diff;         /* mean_b - mean_a */
    double rank_biserial;     /* in [-1, 1], > 0 when b tends to be higher */
    double cohens_d;          /* unpaired: pooled-sd d; paired: d_z. NaN when undefined */
    const char *method;       /* "exact", "permutation", "asymptotic" */
    double statistic;         /* Wilcoxon: min(R+, R-); Mann-Whitney: U of b */
    double p, p_adj;          /* two-sided; Benjamini-Hochberg within the test. NaN when undefined */
} saex_compare_row;

/* Reads a saex output (results / list / JSON Lines; streamed, never held
 * whole), or a run store (OUTPUT.saex/: one chunk in memory at a time, the
 * labels from its input document), and runs the tests. */
saex_status saex_compare(const char *output, const saex_compare_options *o, saex_comparison **out);
void saex_comparison_close(saex_comparison *c);
const saex_comparison_info *saex_comparison_get_info(const saex_comparison *c);
int64_t saex_comparison_n_rows(const saex_comparison *c);
const saex_compare_row *saex_comparison_row(const saex_comparison *c, int64_t i);
/* Neuronpedia page of a row's feature, or NULL when the layer's source is unknown (saex_free). */
char *saex_comparison_row_url(const saex_comparison *c, int64_t i);
/* Every row as CSV / JSON (docs/cli.md), written to a temp file, fsynced, renamed. */
saex_status saex_comparison_write_csv(const saex_comparison *c, const char *path);
saex_status saex_comparison_write_json(const saex_comparison *c, const char *path);

typedef struct {
    saex_compare_options compare;
    int top;       /* rows per table [20] */
    int examples;  /* samples shown per feature [5] */
} saex_report_options;
void saex_report_options_init(saex_report_options *o);
/* One self-contained HTML file (inline CSS and JS, nothing fetched): the run's
 * metadata, the most frequent features per condition, the comparison's top
 * rows, and per feature its Neuronpedia link and the samples where it fires
 * most (every-token outputs: their text shaded by the feature). The output is
 * read twice. */
saex_status saex_report(const char *output, const saex_report_options *o, const char *html_path);

#ifdef __cplusplus
}
#endif
#endif
