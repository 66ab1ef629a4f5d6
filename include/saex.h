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
    SAEX_ERR_MISMATCH = 8     /* two inputs disagree: SAE width vs model, tensor shape vs config */
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
    int64_t max_batch_tokens; /* largest packed batch that saex_model_forward will get; 0 = 8192 */
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
 * the total must not exceed max_batch_tokens. Captured residuals and SAE
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

#ifdef __cplusplus
}
#endif
#endif
