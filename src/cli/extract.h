/* extract.h — runs the model over the samples in length-sorted packed batches
 * and hands each sample's SAE top-k back through a callback.
 *
 * Batching: the samples that encoded cleanly are sorted by length (longest
 * first) and packed greedily into batches of at most batch_tokens tokens (a
 * longer sample gets a batch of its own). A batch that the library rejects
 * is retried one sample at a time, so that one bad sample fails alone. */
#ifndef SAEX_CLI_EXTRACT_H
#define SAEX_CLI_EXTRACT_H
#include <signal.h>

#include "progress.h"
#include "saex.h"
#include "samples.h"

/* The positions a sample reports: [first, first + count). */
typedef struct {
    int first, count;
} pos_range;

typedef struct {
    const int *layers;
    int n_layers;
    int top_k;
    int save_all;      /* every position, else only answer_start_position - 1 */
    int exclude_bos;   /* with save_all: skip position 0 */
    int64_t batch_tokens;
    int dump;          /* keep the dense residual rows (for --dump-residuals) */
    int verbose;
    volatile sig_atomic_t *stop; /* set by SIGINT: stop after the current batch */
} extract_opts;

/* Called once per sample and layer, in batch order. f[count, k] (padded
 * with id -1), n_active[count]. */
typedef int (*extract_result_fn)(void *ctx, sample *s, int layer_index, pos_range r, const saex_feature *f,
                                 const int32_t *n_active);

/* Dense residuals at the saved positions, in sample order (filled when dump). */
typedef struct {
    int64_t rows;
    int d_model;
    float **resid;         /* [n_layers][rows, d_model] */
    int32_t *sample_index; /* [rows] index of the sample in the input order */
    int32_t *result_index, *variation_index, *position; /* [rows] */
} residual_dump;

pos_range sample_positions(const sample *s, const extract_opts *o);

/* Returns 0 when done, 1 when stopped by *o->stop, -1 on a fatal error
 * (message printed). */
int extract_run(saex_model *m, input_doc *doc, const extract_opts *o, progress *pg, extract_result_fn fn, void *ctx,
                residual_dump *dump);
void residual_dump_free(residual_dump *d, int n_layers);

#endif
