/* extract.c — batching and the calls into the model. */
#include "extract.h"
#include "args.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

pos_range sample_positions(const sample *s, const extract_opts *o) {
    pos_range r;
    if (o->save_all) {
        r.first = o->exclude_bos ? 1 : 0;
        r.count = s->n_ids - r.first;
    } else {
        r.first = s->prompt_len - 1;
        r.count = 1;
    }
    return r;
}

static input_doc *g_sort_doc;
static int by_length_desc(const void *a, const void *b) {
    const sample *x = &g_sort_doc->s[*(const int *)a], *y = &g_sort_doc->s[*(const int *)b];
    if (x->n_ids != y->n_ids) return y->n_ids - x->n_ids;
    return *(const int *)a - *(const int *)b;
}

/* Per-batch scratch. */
typedef struct {
    int *seq, *pos;      /* [n_pos] */
    saex_feature *feat;  /* [n_pos, k] */
    int32_t *n_active;   /* [n_pos] */
    int cap;
} scratch;

static int scratch_fit(scratch *sc, int n, int k) {
    if (n <= sc->cap) return 0;
    free(sc->seq), free(sc->pos), free(sc->feat), free(sc->n_active);
    sc->seq = malloc((size_t)n * sizeof *sc->seq);
    sc->pos = malloc((size_t)n * sizeof *sc->pos);
    sc->feat = malloc((size_t)n * (size_t)k * sizeof *sc->feat);
    sc->n_active = malloc((size_t)n * sizeof *sc->n_active);
    sc->cap = n;
    if (!sc->seq || !sc->pos || !sc->feat || !sc->n_active) {
        cli_error("out of memory for a batch of %d positions", n);
        sc->cap = 0;
        return -1;
    }
    return 0;
}

/* Runs samples idx[0..n) as one batch. Returns 0, or the library status. */
static saex_status run_batch(saex_model *m, input_doc *doc, const int *idx, int n, const extract_opts *o,
                             scratch *sc, extract_result_fn fn, void *ctx, residual_dump *dump,
                             const int64_t *dump_row) {
    const int32_t **seqs = malloc((size_t)n * sizeof *seqs);
    int *lens = malloc((size_t)n * sizeof *lens);
    if (!seqs || !lens) {
        free(seqs), free(lens);
        return SAEX_ERR_NOMEM;
    }
    int n_pos = 0;
    int *keep = o->save_all ? NULL : malloc((size_t)n * sizeof *keep);
    for (int i = 0; i < n; i++) {
        seqs[i] = doc->s[idx[i]].ids;
        lens[i] = doc->s[idx[i]].n_ids;
        pos_range r = sample_positions(&doc->s[idx[i]], o);
        n_pos += r.count;
        if (keep) keep[i] = r.first;
    }
    /* Last-token mode reads one row per sample: the deepest block need not
     * finish the others (saex_model_forward_at). */
    saex_status st = o->save_all || keep ? saex_model_forward_at(m, seqs, lens, n, keep) : SAEX_ERR_NOMEM;
    free(seqs);
    free(lens);
    free(keep);
    if (st != SAEX_OK) return st;
    if (scratch_fit(sc, n_pos, o->top_k)) return SAEX_ERR_NOMEM;
    int j = 0;
    for (int i = 0; i < n; i++) {
        pos_range r = sample_positions(&doc->s[idx[i]], o);
        for (int p = 0; p < r.count; p++, j++) {
            sc->seq[j] = i;
            sc->pos[j] = r.first + p;
        }
    }
    for (int l = 0; l < o->n_layers; l++) {
        st = saex_model_sae_topk(m, o->layers[l], sc->seq, sc->pos, n_pos, o->top_k, sc->feat, sc->n_active);
        if (st != SAEX_OK) return st;
        j = 0;
        for (int i = 0; i < n; i++) {
            sample *s = &doc->s[idx[i]];
            pos_range r = sample_positions(s, o);
            if (fn(ctx, s, l, r, sc->feat + (size_t)j * (size_t)o->top_k, sc->n_active + j)) return SAEX_ERR_NOMEM;
            if (dump && dump_row[idx[i]] >= 0) {
                for (int p = 0; p < r.count; p++) {
                    float *row = dump->resid[l] + (size_t)(dump_row[idx[i]] + p) * (size_t)dump->d_model;
                    st = saex_model_residual(m, o->layers[l], i, r.first + p, row);
                    if (st != SAEX_OK) return st;
                }
            }
            j += r.count;
        }
    }
    return SAEX_OK;
}

static int dump_alloc(residual_dump *d, input_doc *doc, const extract_opts *o, int d_model, int64_t *row) {
    int64_t rows = 0;
    for (int i = 0; i < doc->n; i++) {
        row[i] = -1;
        if (doc->s[i].reason) continue;
        row[i] = rows;
        rows += sample_positions(&doc->s[i], o).count;
    }
    d->rows = rows;
    d->d_model = d_model;
    d->resid = calloc((size_t)o->n_layers, sizeof *d->resid);
    d->sample_index = malloc((size_t)(rows ? rows : 1) * sizeof(int32_t));
    d->result_index = malloc((size_t)(rows ? rows : 1) * sizeof(int32_t));
    d->variation_index = malloc((size_t)(rows ? rows : 1) * sizeof(int32_t));
    d->position = malloc((size_t)(rows ? rows : 1) * sizeof(int32_t));
    if (!d->resid || !d->sample_index || !d->result_index || !d->variation_index || !d->position) goto oom;
    for (int l = 0; l < o->n_layers; l++)
        if (!(d->resid[l] = calloc((size_t)(rows ? rows : 1) * (size_t)d_model, sizeof(float)))) goto oom;
    for (int i = 0; i < doc->n; i++) {
        if (row[i] < 0) continue;
        pos_range r = sample_positions(&doc->s[i], o);
        for (int p = 0; p < r.count; p++) {
            d->sample_index[row[i] + p] = i;
            d->result_index[row[i] + p] = doc->s[i].result_index;
            d->variation_index[row[i] + p] = doc->s[i].variation_index;
            d->position[row[i] + p] = r.first + p;
        }
    }
    return 0;
oom:
    cli_error("--dump-residuals: out of memory for %lld rows of %d floats", (long long)rows, d_model);
    return -1;
}

/* Drops the rows of samples that failed during the run. */
static void dump_compact(residual_dump *d, input_doc *doc, int n_layers) {
    int64_t w = 0;
    for (int64_t r = 0; r < d->rows; r++) {
        if (doc->s[d->sample_index[r]].reason) continue;
        if (w != r) {
            for (int l = 0; l < n_layers; l++)
                memcpy(d->resid[l] + w * d->d_model, d->resid[l] + r * d->d_model, (size_t)d->d_model * sizeof(float));
            d->sample_index[w] = d->sample_index[r];
            d->result_index[w] = d->result_index[r];
            d->variation_index[w] = d->variation_index[r];
            d->position[w] = d->position[r];
        }
        w++;
    }
    d->rows = w;
}

void residual_dump_free(residual_dump *d, int n_layers) {
    if (d->resid)
        for (int l = 0; l < n_layers; l++) free(d->resid[l]);
    free(d->resid);
    free(d->sample_index), free(d->result_index), free(d->variation_index), free(d->position);
    memset(d, 0, sizeof *d);
}

static int fatal_status(saex_status st) { return st == SAEX_ERR_NOMEM || st == SAEX_ERR_BACKEND; }

int extract_run(saex_model *m, input_doc *doc, const extract_opts *o, progress *pg, extract_result_fn fn, void *ctx,
                residual_dump *dump) {
    int rc = -1;
    int *order = malloc((size_t)doc->n * sizeof *order);
    int64_t *dump_row = malloc((size_t)doc->n * sizeof *dump_row);
    scratch sc = {0};
    if (!order || !dump_row) {
        cli_error("out of memory");
        goto done;
    }
    int n = 0;
    int64_t total_tokens = 0;
    for (int i = 0; i < doc->n; i++)
        if (!doc->s[i].reason) {
            order[n++] = i;
            total_tokens += doc->s[i].n_ids;
        }
    g_sort_doc = doc;
    qsort(order, (size_t)n, sizeof *order, by_length_desc);
    if (dump && dump_alloc(dump, doc, o, saex_model_get_info(m)->d_model, dump_row)) goto done;

    progress_begin(pg, n, total_tokens);
    int64_t done_s = 0, done_t = 0;
    for (int b = 0; b < n;) {
        int e = b;
        int64_t tok = 0;
        while (e < n && (e == b || tok + doc->s[order[e]].n_ids <= o->batch_tokens)) tok += doc->s[order[e++]].n_ids;
        saex_status st = run_batch(m, doc, order + b, e - b, o, &sc, fn, ctx, dump, dump_row);
        if (st != SAEX_OK && fatal_status(st)) {
            progress_clear(pg);
            cli_error("%s", saex_last_error());
            goto done;
        }
        if (st != SAEX_OK) {
            /* Isolate the sample(s) the library refuses. */
            for (int i = b; i < e; i++) {
                sample *s = &doc->s[order[i]];
                saex_status st1 = e - b == 1 ? st : run_batch(m, doc, order + i, 1, o, &sc, fn, ctx, dump, dump_row);
                if (st1 != SAEX_OK && fatal_status(st1)) {
                    progress_clear(pg);
                    cli_error("%s", saex_last_error());
                    goto done;
                }
                if (st1 != SAEX_OK) sample_fail(s, "%s", saex_last_error());
            }
        }
        if (o->verbose) {
            progress_clear(pg);
            for (int i = b; i < e; i++) {
                const sample *s = &doc->s[order[i]];
                fprintf(stderr, "  sample r%d v%d: %d tokens (prompt %d)%s%s\n", s->result_index, s->variation_index,
                        s->n_ids, s->prompt_len, s->reason ? ": error: " : "", s->reason ? s->reason : "");
            }
        }
        done_s += e - b;
        done_t += tok;
        progress_update(pg, done_s, done_t);
        b = e;
        if (o->stop && *o->stop) {
            rc = 1;
            goto done;
        }
    }
    progress_end(pg);
    if (dump) dump_compact(dump, doc, o->n_layers);
    rc = 0;
done:
    free(order);
    free(dump_row);
    free(sc.seq), free(sc.pos), free(sc.feat), free(sc.n_active);
    return rc;
}
