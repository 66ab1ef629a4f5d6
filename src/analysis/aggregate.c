/* aggregate.c — a sample's saved positions -> one sparse feature vector. */
#include "analysis/aggregate.h"
#include "analysis/grow.h"

#include <stdlib.h>
#include <string.h>

static const char *const POSITION_NAMES[] = {"last", "prompt-mean", "prompt-max", "response-mean", "response-max"};

const char *saex_positions_name(saex_positions p) {
    return (unsigned)p < sizeof POSITION_NAMES / sizeof POSITION_NAMES[0] ? POSITION_NAMES[p] : "?";
}

int saex_positions_parse(const char *name) {
    for (int i = 0; i < (int)(sizeof POSITION_NAMES / sizeof POSITION_NAMES[0]); i++)
        if (name && !strcmp(name, POSITION_NAMES[i])) return i;
    return -1;
}

void an_vec_free(an_vec *v) {
    free(v->id), free(v->act), free(v->dense), free(v->touched);
    memset(v, 0, sizeof *v);
}

/* id and act grow together (each keeps its own capacity). */
static int reserve(an_vec *v, int64_t n) {
    return an_grow((void **)&v->id, &v->cap_id, n, sizeof *v->id) ||
                   an_grow((void **)&v->act, &v->cap_act, n, sizeof *v->act)
               ? -1
               : 0;
}

static int cmp_i32(const void *a, const void *b) {
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

int an_aggregate(const an_row *rows, int n_rows, int answer_start, saex_positions mode, an_vec *out) {
    out->n = 0;
    /* The last prompt token is the maximum over a range of one position. */
    int last = mode == SAEX_POSITIONS_LAST;
    int prompt = mode == SAEX_POSITIONS_PROMPT_MEAN || mode == SAEX_POSITIONS_PROMPT_MAX;
    int mean = mode == SAEX_POSITIONS_PROMPT_MEAN || mode == SAEX_POSITIONS_RESPONSE_MEAN;
    int in_range = 0, n_touched = 0;
    for (int i = 0; i < n_rows; i++) {
        const an_row *r = &rows[i];
        if (last ? r->pos != answer_start - 1 : (r->pos < answer_start) != prompt) continue;
        in_range++;
        for (int j = 0; j < r->n; j++) {
            int32_t f = r->id[j];
            if (f < 0) continue;
            if (f >= out->dense_cap) {
                int32_t c = out->dense_cap ? out->dense_cap : 1024;
                while (c <= f) c *= 2;
                double *d = realloc(out->dense, (size_t)c * sizeof *d);
                if (!d) return -1;
                memset(d + out->dense_cap, 0, (size_t)(c - out->dense_cap) * sizeof *d);
                out->dense = d, out->dense_cap = c;
            }
            /* Activations are > 0 (JumpReLU), so 0 marks "not touched yet". */
            if (out->dense[f] == 0) {
                if (an_grow((void **)&out->touched, &out->touched_cap, n_touched + 1, sizeof *out->touched)) return -1;
                out->touched[n_touched++] = f;
            }
            double a = r->act[j];
            out->dense[f] = mean ? out->dense[f] + a : (a > out->dense[f] ? a : out->dense[f]);
        }
    }
    if (reserve(out, n_touched)) return -1;
    qsort(out->touched, (size_t)n_touched, sizeof *out->touched, cmp_i32);
    for (int i = 0; i < n_touched; i++) {
        int32_t f = out->touched[i];
        out->id[i] = f;
        out->act[i] = (float)(mean ? out->dense[f] / in_range : out->dense[f]);
        out->dense[f] = 0;
    }
    out->n = n_touched;
    return in_range > 0;
}
