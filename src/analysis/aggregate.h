/* aggregate.h — one sample's saved positions -> one sparse feature vector:
 * the last prompt token, or the mean / max over the prompt or the response
 * (saex_positions). A feature absent from a position's top-k counts as 0
 * there, so a mean divides by the number of positions in the range. */
#ifndef SAEX_ANALYSIS_AGGREGATE_H
#define SAEX_ANALYSIS_AGGREGATE_H
#include <stdint.h>

#include "saex.h"

/* One saved position: its top-k features (no padding). */
typedef struct {
    int32_t pos;
    int n;
    const int32_t *id;
    const float *act;
} an_row;

/* A growable sparse vector; reused across samples. */
typedef struct {
    int n;
    int64_t cap_id, cap_act;
    int32_t *id;
    float *act;
    /* scratch: a dense accumulator over feature ids and the ids touched */
    double *dense;
    int32_t dense_cap;
    int32_t *touched;
    int64_t touched_cap;
} an_vec;

void an_vec_free(an_vec *v);

/* Fills out (features ascending) from rows[n_rows]. answer_start splits
 * prompt (pos < answer_start) from response. Returns 1 when the range held
 * at least one position, 0 when it held none, -1 when memory ran out. */
int an_aggregate(const an_row *rows, int n_rows, int answer_start, saex_positions mode, an_vec *out);

#endif
