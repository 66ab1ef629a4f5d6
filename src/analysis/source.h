/* source.h — where `saex compare` and `saex report` read samples from.
 *
 * A source hands every sample over in document order: its labels and, per
 * layer, one sparse feature vector aggregated over the requested positions
 * (aggregate.h). Nothing else in src/analysis knows where samples come from.
 *
 * Sources:
 *   source_json.c   a saex output file (results / list / JSON Lines), parsed
 *                   streaming with yajl: memory holds one sample at a time.
 *   source_store.c  a run store, OUTPUT.saex/: the samples from its chunks
 *                   (saex_results_sample), the labels from its input document. */
#ifndef SAEX_ANALYSIS_SOURCE_H
#define SAEX_ANALYSIS_SOURCE_H
#include <jansson.h>
#include <stdint.h>

#include "analysis/aggregate.h"
#include "saex.h"

typedef enum {
    AN_OK = 0,           /* processed: the vector is valid */
    AN_FAILED = 1,       /* status "error" */
    AN_ABSENT = 2,       /* no sae_activations for this layer */
    AN_NO_POSITIONS = 3  /* processed, but nothing at the requested positions */
} an_status;

/* One layer of one sample. */
typedef struct {
    int layer;                 /* block L */
    an_status status;
    int answer_start;          /* -1 when unknown */
    int n;                     /* the vector: features ascending */
    const int32_t *id;
    const float *act;
    /* Only for samples the request marks (the report's token view): every
     * saved position with its token piece, and the marked features there. */
    int n_tok;
    const int32_t *tok_pos;          /* [n_tok] */
    const char *const *tok_piece;    /* [n_tok]; NULL where unknown */
    int n_hit;
    const int32_t *hit_tok;          /* [n_hit] index into tok_* */
    const int32_t *hit_id;           /* [n_hit] */
    const float *hit_act;            /* [n_hit] */
} an_layer;

typedef struct {
    int64_t index;             /* document order */
    const char *group;         /* value of the `by` field; NULL when absent */
    const char *pair;          /* value of the `pair_by` field; NULL when absent */
    const char *label;         /* "q001 I_like", else "r0 v1" */
    const char *prompt;        /* NULL when absent */
    int n_layers;
    const an_layer *layer;
} an_sample;

typedef struct {
    saex_positions positions;
    const char *by, *pair_by;          /* pair_by may be NULL */
    const unsigned char *detail;       /* [n_detail] 1 = keep this sample's tokens; NULL = none */
    int64_t n_detail;
    const unsigned char *detail_feature; /* [n_detail_feature] features kept per token */
    int32_t n_detail_feature;
} an_request;

/* Returns SAEX_OK to go on; anything else stops the scan with that status
 * (the message already set). */
typedef saex_status (*an_visit)(void *ctx, const an_sample *s);

typedef struct an_source an_source;
struct an_source {
    const char *name; /* for messages: the path */
    /* Calls visit for every sample, in order. May be called again. */
    saex_status (*scan)(an_source *src, const an_request *req, an_visit visit, void *ctx);
    /* After a scan: sae_extraction_metadata ({"layer_L": {...}}) or NULL;
     * the form ("results", "list", "jsonl"); the field names seen on the
     * first variations and their results ("template_type, prompt, ..."). */
    const json_t *(*metadata)(an_source *src);
    const char *(*form)(an_source *src);
    const char *(*fields)(an_source *src);
    void (*close)(an_source *src);
};

/* A saex output file. Nothing is read until scan(). */
saex_status an_source_open_output(const char *path, const saex_events *events, an_source **out);
/* A run store (source_store.c); input: its input document, NULL for the
 * path the manifest records. Refused when a shard is missing. */
saex_status an_source_open_store(const char *dir, const char *input, an_source **out);
/* A run store when path is a folder, else an output file. */
saex_status an_source_open(const char *path, const saex_compare_options *o, an_source **out);

#endif
