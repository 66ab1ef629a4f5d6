/* dataset.h — what one scan of a source leaves for the tests and the report:
 * per sample its condition, pair key, label and prompt snippet; per layer
 * every sample's sparse feature vector (CSR) and status. */
#ifndef SAEX_ANALYSIS_DATASET_H
#define SAEX_ANALYSIS_DATASET_H
#include <stdint.h>

#include "analysis/source.h"

/* Interned strings: index <-> string. */
typedef struct {
    int32_t n, cap;
    char **str;
    int32_t *slot; /* open addressing: index + 1, 0 = empty */
    int32_t n_slots;
} strtab;

int32_t strtab_find(const strtab *t, const char *s); /* -1 when absent */

typedef struct {
    int layer;
    int64_t n_failed, n_absent, n_no_positions;
    unsigned char *status;   /* [n] an_status */
    int64_t *off;            /* [n + 1] */
    int32_t *id;             /* [off[n]] ascending within a sample */
    float *act;
    int64_t cap_status, cap_off, cap_nnz;
    int32_t max_id;          /* largest feature id seen, -1 none */
} ds_layer;

typedef struct {
    int64_t n, cap;
    int32_t *cond;           /* [n] index into conds, -1 without the `by` field */
    int32_t *pair;           /* [n] index into pairs, -1 without the `pair_by` field */
    char **label;            /* [n] */
    char **snippet;          /* [n] the prompt's first bytes (keep_snippets), else NULL */
    strtab conds, pairs;
    int64_t n_unlabelled, n_with_pair;
    int n_layers;
    ds_layer *layers;        /* ascending by layer */
    int n_seen;
    int seen[SAEX_MAX_LAYERS]; /* every layer number in the output, kept or not */
    int only_layer;          /* -1: keep every layer */
    int keep_snippets;
} an_dataset;

/* Scans src once with req and fills ds (zeroed by the caller, with
 * only_layer / keep_snippets set). */
saex_status an_dataset_collect(an_source *src, const an_request *req, an_dataset *ds);
void an_dataset_free(an_dataset *ds);

/* A layer by feature: for feature f, the samples where it is active
 * (ascending) and its activation there. */
typedef struct {
    int64_t *ptr; /* [n_features + 1] */
    int64_t *sample;
    float *act;
    int32_t n_features;
} ds_columns;
int ds_columns_build(const ds_layer *l, int64_t n, ds_columns *c); /* 0, or -1: out of memory */
void ds_columns_free(ds_columns *c);

/* The layer's vector of sample i. */
static inline int64_t ds_nnz(const ds_layer *l, int64_t i) { return l->off[i + 1] - l->off[i]; }

#endif
