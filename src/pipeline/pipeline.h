/* pipeline.h — the structures that the files of src/pipeline share behind saex.h.
 *
 * The flow of one extraction:
 *
 *   saex_doc  --encode-->  plan  --batches-->  chunks  --output-->  JSON
 *   (doc.c)    (encode.c)  (plan.c)  (run.c)   (chunk.c,   (output.c)
 *                                               store.c)
 *
 * A plan fixes, once, which samples run and how they are packed: samples
 * sorted by length, packed greedily into batches of at most batch_tokens,
 * and the batches split into shards. Because the batches do not depend on
 * the shard count or on where a run was interrupted, every batch always runs
 * with the same neighbours, and a resumed or sharded run produces the same
 * bytes as one uninterrupted run.
 *
 * A chunk is the result of one batch: per saved position the top-k ids and
 * activations of every layer. Chunks live in memory (saex_results_create)
 * or as files of a run store (store.c), complete or absent. */
#ifndef SAEX_PIPELINE_H
#define SAEX_PIPELINE_H
#include <jansson.h>
#include <stdint.h>

#include "saex.h"

/* ------------------------------------------------------------ documents */

typedef struct {
    json_t *var;    /* the variation object (borrowed from the tree) */
    json_t *result; /* its enclosing result object, or NULL */
    int64_t r, v;   /* results[r].variations[v]; list / JSON Lines: element r, v = 0 */
} doc_sample;

struct saex_doc {
    char *name;            /* the path as given, or "<stdin>" */
    saex_doc_form form;
    json_t *root;          /* results: the object; list / JSON Lines: the array of objects */
    doc_sample *s;         /* [n] */
    int64_t n;
    char sha256[65];       /* of the bytes read */
    json_t *prior_meta;    /* list / JSON Lines: "sae_extraction_metadata" of NAME.meta.json, or NULL */
};

/* ------------------------------------------------------------ encoding */

typedef enum { TOK_NONE = 0, TOK_SEPARATE, TOK_JOINT, TOK_GIVEN, TOK_GIVEN_SEPARATE } tok_mode;
const char *tok_mode_name(tok_mode m); /* "separate", ... ; "none" for TOK_NONE */

typedef struct {
    int32_t *ids;     /* [n_ids] prompt then response tokens (malloc) */
    int32_t n_ids;
    int32_t prompt_len; /* answer_start_position */
    tok_mode mode;
    char *reason;     /* non-NULL: the sample cannot run (malloc) */
} encoded;

typedef struct {
    saex_chat_template chat;
    int joint;
} encode_opts;

/* Encodes sample s of d. Sample problems (missing field, bad id, empty
 * prompt) land in e->reason; the return is SAEX_OK unless memory ran out. */
saex_status encode_sample(const saex_doc *d, int64_t s, const saex_tokenizer *tok, const encode_opts *o, encoded *e);
/* The prompt after the chat template (caller frees); exposed for tests. */
char *apply_chat_template(const char *prompt, size_t len, saex_chat_template chat, size_t *out_len);
/* Bytes of text a vocabulary piece stands for ("<0x0A>" -> 1, "▁" -> 1). */
size_t piece_text_bytes(const char *piece);

/* ------------------------------------------------------------ plan */

typedef struct {
    int64_t n;            /* samples in the document */
    uint8_t *in_run;      /* [n] selected by max_samples / select */
    int32_t *n_ids;       /* [n] 0 when not tokenized */
    int32_t *prompt_len;  /* [n] */
    uint8_t *mode;        /* [n] tok_mode */
    int32_t *batch;       /* [n] its batch, -1 when it does not run */
    int32_t *slot;        /* [n] its index inside the batch */
    char **reason;        /* [n] why it cannot run (before any batch), or NULL */
    int32_t *ids;         /* tokens of every sample, concatenated (not persisted) */
    int64_t *ids_off;     /* [n + 1] */
    int64_t n_batches;
    int64_t *batch_off;   /* [n_batches + 1] into order */
    int64_t *order;       /* samples in batch order */
    int64_t *batch_tok;   /* [n_batches] tokens per batch */
    int64_t *batch_pos;   /* [n_batches] saved positions per batch */
    int n_shards;
    int64_t *shard_first; /* [n_shards + 1] first batch of each shard */
    int64_t total_tokens; /* of the samples that run */
    char sha256[65];      /* of everything that defines the plan */
} plan;

/* What decides which positions of a sample are saved. */
typedef struct {
    int save_all, exclude_bos;
} position_rule;

/* First saved position and count, for a sample of n_ids tokens, prompt_len of them prompt. */
void saved_positions(const position_rule *pr, int32_t n_ids, int32_t prompt_len, int32_t *first, int32_t *count);

/* Tokenizes the selected samples (in parallel), applies max_positions, sorts
 * and packs into batches, splits them into n_shards shards. */
saex_status plan_build(const saex_doc *d, const saex_tokenizer *tok, const saex_run_options *o, int max_positions,
                       int n_shards, plan *p);
void plan_free(plan *p);

/* ------------------------------------------------------------ chunks */

/* The results of one batch, as written to the store (store.c documents the
 * file format). Arrays either own their memory or point into a mapped file. */
typedef struct {
    int64_t batch;
    int64_t n_s;          /* samples in the batch, in batch order */
    int64_t *sample;      /* [n_s] document index */
    uint8_t *status;      /* [n_s] SAEX_SAMPLE_OK / SAEX_SAMPLE_ERROR */
    int64_t *reason_off;  /* [n_s + 1] into reason_text */
    char *reason_text;    /* reasons of the failed samples, not NUL-separated */
    int64_t *pos_off;     /* [n_s + 1] rows of each sample */
    int64_t n_pos;
    int32_t *position;    /* [n_pos] */
    int32_t *token;       /* [n_pos] */
    int n_layers, k, d_model;
    int32_t *ids[SAEX_MAX_LAYERS];      /* [n_pos, k] */
    float *act[SAEX_MAX_LAYERS];        /* [n_pos, k] */
    int32_t *n_active[SAEX_MAX_LAYERS]; /* [n_pos] */
    float *resid[SAEX_MAX_LAYERS];      /* [n_pos, d_model] or NULL */
    void *file;           /* st_set * when read from disk, else NULL (arrays owned) */
} chunk;

void chunk_free(chunk *c);
struct run_info;
/* Owned arrays for a batch of n_s samples and at most max_pos positions. */
saex_status chunk_alloc(chunk *c, int64_t batch, int64_t n_s, int64_t max_pos, const struct run_info *ri);
/* Writes c as one safetensors file at path (temp + fsync + rename). */
saex_status chunk_write(const chunk *c, const struct run_info *ri, const char *plan_sha, const char *path);

/* A chunk file opened for reading: the per-sample arrays in memory, the
 * per-position arrays read on demand with pread (so that reading a large
 * store keeps memory bounded). */
typedef struct {
    int fd;
    chunk c;                       /* sample, status, reason*, pos_off filled; row arrays NULL */
    int64_t off_position, off_token;
    int64_t off_ids[SAEX_MAX_LAYERS], off_act[SAEX_MAX_LAYERS], off_nact[SAEX_MAX_LAYERS], off_resid[SAEX_MAX_LAYERS];
} chunk_file;

/* Opens and checks a chunk: its format, batch, plan and shape against ri,
 * and (verify) its crc32. A damaged file is SAEX_ERR_FORMAT naming it. */
saex_status chunk_file_open(const char *path, const struct run_info *ri, int64_t batch, const char *plan_sha, int verify,
                            chunk_file *f);
void chunk_file_close(chunk_file *f);

/* ------------------------------------------------------------ results */

/* What every consumer of the results needs to know about the run. */
typedef struct run_info {
    int n_layers;
    int layers[SAEX_MAX_LAYERS];
    int top_k;
    position_rule pos;
    int keep_resid;
    int d_model;
    int64_t max_samples;   /* 0 = all */
    json_t *metadata;      /* {"layer_L": {...}} without "tokenization" (added at write time) */
} run_info;

struct store;

struct saex_results {
    int bound;             /* run and plan attached */
    run_info info;
    plan p;
    const saex_tokenizer *tok; /* for token pieces; NULL when read from a store's vocab */
    char **vocab;          /* store: the token pieces, or NULL */
    int64_t vocab_n;
    chunk **mem;           /* memory results: [p.n_batches], NULL until run */
    struct store *st;      /* run store, or NULL */
    chunk *cached;         /* the chunk the last view came from (store) */
    char *reason_buf;      /* the reason of the latest view */
    void *view_buf;        /* rows of the latest view read from disk */
    size_t view_cap;
};

/* Drops the run bound to r (plan, chunks in memory), keeping the store open. */
void results_unbind(saex_results *r);

/* The chunk of batch b: memory, or loaded (and checked) from the store.
 * *c is borrowed until the next call. SAEX_ERR_NOT_FOUND when not computed. */
saex_status results_chunk(saex_results *r, int64_t b, const chunk **c);
/* Records a finished batch. */
saex_status results_commit(saex_results *r, chunk *c);
/* Memory results keep their own copy of the token pieces, so that they stay
 * usable after the extractor that made them is closed (the Python package
 * lets a notebook free the model and still write the output). */
saex_status results_copy_vocab(saex_results *r, const saex_tokenizer *tok);
/* The token piece of an id, or NULL. */
const char *results_piece(const saex_results *r, int32_t id);
/* Whether batch b is already done (store: a valid chunk file). */
int results_has(saex_results *r, int64_t b);

/* ------------------------------------------------------------ extractor */

struct saex_extractor {
    saex_extractor_options o;
    char *model_id;        /* as given */
    char *model_dir;
    char *revision;
    saex_tokenizer *tok;
    saex_model *model;
    int n_layers;
    int layers[SAEX_MAX_LAYERS];
    saex_sae *sae[SAEX_MAX_LAYERS];
    char *sae_path[SAEX_MAX_LAYERS];
    char *sae_id[SAEX_MAX_LAYERS];       /* after {L}, or NULL with sae_path */
    const void *entry[SAEX_MAX_LAYERS];  /* saex_registry_entry *, or NULL */
    char *sae_release;
    int max_positions, d_model, n_model_layers;
    const char *device;    /* "cpu" or "cuda", resolved at open */
    char dtype[16];
    char identity[65];     /* sha256 of config.json + tokenizer.json + weight file sizes */
};

/* Per-layer metadata of a run (the output's "sae_extraction_metadata"). */
json_t *extractor_metadata(const saex_extractor *x, const saex_run_options *o);

/* ------------------------------------------------------------ output */

/* What saex_write_output checks first (r holds every sample of d: a run
 * store complete, made from these very bytes), and the
 * "sae_extraction_metadata" the output would hold (new reference). For
 * readers of a run store that write no output (saex compare / report). */
saex_status output_prepare(const saex_doc *d, saex_results *r, json_t **metadata);

/* Log through the events (no-op when absent). */
void events_log(const saex_events *e, saex_log_level level, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
int events_stop(const saex_events *e);

#endif
