/* store.h — the run store: a folder that holds one run's plan and results,
 * so that a run can stop at any moment and continue, and so that several
 * processes (Slurm array tasks) can share one run.
 *
 *   RUN/manifest.json           what the run is: input, options, model, SAEs, plan
 *   RUN/plan.safetensors        per sample: tokens, prompt length, batch; the batches; the shards
 *   RUN/vocab.safetensors       the tokenizer's pieces (for the "token" of each position)
 *   RUN/chunks/bNNNNNN.safetensors   the results of batch N (chunk.c)
 *   RUN/shards/I-of-N.lock      held (flock) while shard I runs; holds its pid and start time
 *   RUN/shards/I-of-N.done      written when every batch of shard I is there
 *
 * Every file is written aside, fsynced and renamed: complete or absent.
 * docs/run-store.md describes the format for readers outside saex. */
#ifndef SAEX_STORE_H
#define SAEX_STORE_H
#include "pipeline.h"

#define STORE_CACHE 16

typedef struct store {
    char *dir;
    int shard, n_shards;  /* shard -1: opened to read (merge, status, analysis) */
    int lock_fd;
    json_t *manifest;     /* NULL until the run is bound or read */
    uint8_t *verified;    /* [n_batches] chunk checked (crc) in this process */
    chunk_file cache[STORE_CACHE]; /* recently read chunks, round robin */
    int cache_next;
} store;

saex_status store_open(const char *dir, int shard, int n_shards, store **out);
void store_close(store *s);
/* Loads manifest + plan + vocab of an existing store into r (read side). */
saex_status store_load(store *s, saex_results *r);
/* Binds a new run: creates the store files, or checks that the existing
 * ones describe the same run (SAEX_ERR_CONFLICT naming what differs). */
saex_status store_bind(store *s, saex_results *r, json_t *manifest, const saex_tokenizer *tok);
char *store_chunk_path(const store *s, int64_t b);
/* 1 if batch b has a chunk file (verify: and it is intact; a damaged one
 * is removed, with a warning through ev, so that it is computed again). */
int store_has(store *s, const saex_results *r, int64_t b, int verify, const saex_events *ev);
/* The chunk of batch b, opened (cached) and checked. */
saex_status store_chunk(store *s, const saex_results *r, int64_t b, chunk_file **out);
saex_status store_mark_done(store *s);

/* ---- manifest (manifest.c) ---- */
/* The manifest of a run about to start. */
json_t *manifest_build(const saex_extractor *x, const saex_doc *d, const saex_run_options *o, const plan *p,
                       const run_info *ri, int n_shards);
/* NULL when a and b describe the same run, else a message naming each
 * difference (caller frees). */
char *manifest_diff(json_t *have, json_t *want);
/* run_info from a manifest read back from disk. */
saex_status manifest_run_info(json_t *m, const char *path, run_info *ri);

#endif
