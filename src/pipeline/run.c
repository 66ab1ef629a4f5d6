/* run.c — saex_extract: plan the run, bind it to the results, and run every
 * batch of this shard that has no results yet.
 *
 * A batch the library refuses as a whole (a sample it cannot take) is run
 * again one sample at a time, so that one bad sample fails alone, with its
 * reason, and the others keep their results. */
#include "error.h"
#include "store.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_seconds(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* Out of memory and a failing device stop the run; anything else is the
 * sample's own problem. */
static int fatal_status(saex_status st) { return st == SAEX_ERR_NOMEM || st == SAEX_ERR_BACKEND; }

/* ------------------------------------------------------------ one forward */

typedef struct {
    const plan *p;
    const run_info *ri;
    saex_model *m;
    /* scratch, grown to the largest batch */
    const int32_t **seqs;
    int *lens, *keep, *seq, *pos;
    saex_feature *feat;
    int cap_s, cap_p;
} runner;

static saex_status runner_fit(runner *r, int n_s, int n_p, int k) {
    if (n_s > r->cap_s) {
        free(r->seqs), free(r->lens), free(r->keep);
        r->seqs = malloc((size_t)n_s * sizeof *r->seqs);
        r->lens = malloc((size_t)n_s * sizeof *r->lens);
        r->keep = malloc((size_t)n_s * sizeof *r->keep);
        r->cap_s = r->seqs && r->lens && r->keep ? n_s : 0;
    }
    if (n_p > r->cap_p) {
        free(r->seq), free(r->pos), free(r->feat);
        r->seq = malloc((size_t)n_p * sizeof *r->seq);
        r->pos = malloc((size_t)n_p * sizeof *r->pos);
        r->feat = malloc((size_t)n_p * (size_t)k * sizeof *r->feat);
        r->cap_p = r->seq && r->pos && r->feat ? n_p : 0;
    }
    return r->cap_s >= n_s && r->cap_p >= n_p ? SAEX_OK : saex_fail(SAEX_ERR_NOMEM, "out of memory for a batch");
}

static void runner_free(runner *r) {
    free(r->seqs), free(r->lens), free(r->keep), free(r->seq), free(r->pos), free(r->feat);
}

/* Runs samples[0..n) as one packed forward pass and appends their rows to c
 * (whose n_s / n_pos grow). On failure c is unchanged. */
static saex_status forward_append(runner *r, const int64_t *samples, int n, chunk *c) {
    const plan *p = r->p;
    const run_info *ri = r->ri;
    int n_pos = 0;
    for (int i = 0; i < n; i++) {
        int32_t first, count;
        saved_positions(&ri->pos, p->n_ids[samples[i]], p->prompt_len[samples[i]], &first, &count);
        n_pos += count;
    }
    saex_status st = runner_fit(r, n, n_pos, ri->top_k);
    if (st) return st;
    int j = 0;
    for (int i = 0; i < n; i++) {
        int64_t s = samples[i];
        int32_t first, count;
        saved_positions(&ri->pos, p->n_ids[s], p->prompt_len[s], &first, &count);
        r->seqs[i] = p->ids + p->ids_off[s];
        r->lens[i] = p->n_ids[s];
        r->keep[i] = first;
        for (int q = 0; q < count; q++, j++) r->seq[j] = i, r->pos[j] = first + q;
    }
    /* Last-token mode reads one row per sample: the deepest block need not finish the others. */
    st = saex_model_forward_at(r->m, r->seqs, r->lens, n, ri->pos.save_all ? NULL : r->keep);
    if (st) return st;
    int64_t base = c->n_pos;
    size_t K = (size_t)ri->top_k;
    for (int l = 0; l < ri->n_layers; l++) {
        st = saex_model_sae_topk(r->m, ri->layers[l], r->seq, r->pos, n_pos, ri->top_k, r->feat, c->n_active[l] + base);
        if (st) return st;
        for (size_t q = 0; q < (size_t)n_pos * K; q++) {
            c->ids[l][(size_t)base * K + q] = r->feat[q].id;
            c->act[l][(size_t)base * K + q] = r->feat[q].activation;
        }
        for (int q = 0; c->resid[l] && q < n_pos && !st; q++)
            st = saex_model_residual(r->m, ri->layers[l], r->seq[q], r->pos[q], c->resid[l] + (size_t)(base + q) * (size_t)ri->d_model);
        if (st) return st;
    }
    for (int q = 0; q < n_pos; q++) {
        c->position[base + q] = r->pos[q];
        c->token[base + q] = r->seqs[r->seq[q]][r->pos[q]];
    }
    for (int i = 0; i < n; i++) {
        int64_t s = c->n_s++;
        c->sample[s] = samples[i];
        c->status[s] = SAEX_SAMPLE_OK;
        c->reason_off[s + 1] = c->reason_off[s];
    }
    c->n_pos += n_pos;
    /* pos_off: rows of each appended sample, in order */
    for (int64_t s = c->n_s - n, off = base; s < c->n_s; s++) {
        int32_t first, count;
        saved_positions(&ri->pos, p->n_ids[c->sample[s]], p->prompt_len[c->sample[s]], &first, &count);
        c->pos_off[s] = off;
        off += count;
        c->pos_off[s + 1] = off;
    }
    return SAEX_OK;
}

static saex_status append_failure(chunk *c, int64_t sample, const char *reason) {
    int64_t s = c->n_s++;
    size_t n = strlen(reason), have = (size_t)c->reason_off[s];
    char *t = realloc(c->reason_text, have + n + 1);
    if (!t) return saex_fail(SAEX_ERR_NOMEM, "out of memory");
    memcpy(t + have, reason, n);
    c->reason_text = t;
    c->sample[s] = sample;
    c->status[s] = SAEX_SAMPLE_ERROR;
    c->reason_off[s + 1] = (int64_t)(have + n);
    c->pos_off[s] = c->pos_off[s + 1] = c->n_pos;
    return SAEX_OK;
}

/* The chunk of batch b: one forward pass, or, when the library refuses the
 * batch, one pass per sample. */
static saex_status run_batch(runner *r, int64_t b, chunk *c) {
    const plan *p = r->p;
    const int64_t *samples = p->order + p->batch_off[b];
    int n = (int)(p->batch_off[b + 1] - p->batch_off[b]);
    saex_status st = chunk_alloc(c, b, n, p->batch_pos[b], r->ri);
    if (st) return st;
    st = forward_append(r, samples, n, c);
    if (st == SAEX_OK || fatal_status(st)) return st;
    c->n_s = 0, c->n_pos = 0;
    for (int i = 0; i < n; i++) {
        st = n == 1 ? st : forward_append(r, samples + i, 1, c);
        if (st && fatal_status(st)) return st;
        if (st && (st = append_failure(c, samples[i], saex_last_error()))) return st;
    }
    return SAEX_OK;
}

/* ------------------------------------------------------------ binding */

static saex_status check_options(const saex_extractor *x, const saex_run_options *o) {
    for (int l = 0; l < x->n_layers; l++) {
        int w = saex_sae_d_sae(x->sae[l]);
        if (o->top_k < 1 || o->top_k > w)
            return saex_fail(SAEX_ERR_ARG, "top_k %d: %s (the SAE %s has %d features)", o->top_k,
                             o->top_k < 1 ? "must be at least 1" : "wider than the SAE", x->sae_path[l], w);
    }
    if (o->batch_tokens < 0) return saex_fail(SAEX_ERR_ARG, "batch_tokens %lld: must be positive", (long long)o->batch_tokens);
    return SAEX_OK;
}

static void fill_run_info(const saex_extractor *x, const saex_run_options *o, run_info *ri) {
    memset(ri, 0, sizeof *ri);
    ri->n_layers = x->n_layers;
    memcpy(ri->layers, x->layers, sizeof ri->layers);
    ri->top_k = o->top_k;
    ri->pos.save_all = o->save_all_tokens;
    ri->pos.exclude_bos = o->save_all_tokens && o->exclude_bos;
    ri->keep_resid = o->keep_residuals;
    ri->d_model = x->d_model;
    ri->max_samples = o->select ? 0 : o->max_samples;
    ri->metadata = extractor_metadata(x, o);
}

/* Plans the run and attaches it to r: memory results start empty; a store
 * is created or checked against its manifest. */
static saex_status bind(saex_extractor *x, const saex_doc *d, const saex_run_options *o, saex_results *r) {
    if (r->bound) results_unbind(r);
    int n_shards = r->st ? r->st->n_shards : 1;
    fill_run_info(x, o, &r->info);
    r->tok = x->tok;
    saex_status st = plan_build(d, x->tok, o, x->max_positions, n_shards, &r->p);
    if (st) return st;
    if (r->st) {
        json_t *m = manifest_build(x, d, o, &r->p, &r->info, n_shards);
        st = m ? store_bind(r->st, r, m, x->tok) : saex_fail(SAEX_ERR_NOMEM, "out of memory");
        json_decref(m);
    } else {
        r->mem = calloc((size_t)(r->p.n_batches ? r->p.n_batches : 1), sizeof *r->mem);
        st = r->mem ? results_copy_vocab(r, x->tok) : saex_fail(SAEX_ERR_NOMEM, "out of memory");
    }
    if (!st) r->bound = 1;
    return st;
}

/* ------------------------------------------------------------ the run */

static void report(const saex_events *ev, int64_t ds, int64_t ts, int64_t dt, int64_t tt, int finished) {
    if (!ev || !ev->progress) return;
    saex_progress pr = {"extract", NULL, ds, ts, dt, tt, finished};
    ev->progress(ev->ctx, &pr);
}

saex_status saex_extract(saex_extractor *x, const saex_doc *d, const saex_run_options *o, saex_results *r) {
    saex_run_options defaults;
    if (!o) saex_run_options_init(&defaults), o = &defaults;
    saex_status st = check_options(x, o);
    if (!st) st = bind(x, d, o, r);
    if (st) return st;
    const plan *p = &r->p;
    int shard = r->st ? r->st->shard : 0;
    int64_t first = p->shard_first[shard], last = p->shard_first[shard + 1];
    int64_t total_s = 0, total_t = 0, done_s = 0, done_t = 0, todo = 0;
    for (int64_t b = first; b < last; b++) {
        int64_t ns = p->batch_off[b + 1] - p->batch_off[b];
        total_s += ns, total_t += p->batch_tok[b];
        if (r->st ? store_has(r->st, r, b, 1, o->events) : results_has(r, b)) done_s += ns, done_t += p->batch_tok[b];
        else todo++;
    }
    if (r->st && done_s)
        events_log(o->events, SAEX_LOG_INFO, "resuming %s: %lld of %lld batches already done", r->st->dir,
                   (long long)(last - first - todo), (long long)(last - first));
    if (todo && (st = saex_extractor_load_model(x))) return st;
    runner rn = {p, &r->info, x->model, NULL, NULL, NULL, NULL, NULL, NULL, 0, 0};
    report(o->events, done_s, total_s, done_t, total_t, 0);
    double t_model = 0, t_results = 0;
    int64_t positions = 0;
    for (int64_t b = first; b < last && !st; b++) {
        if (r->st ? r->st->verified[b] : results_has(r, b)) continue;
        if (events_stop(o->events)) {
            st = saex_fail(SAEX_ERR_INTERRUPTED, "interrupted after %lld of %lld batches", (long long)(b - first), (long long)(last - first));
            break;
        }
        chunk c;
        double t0 = now_seconds();
        st = run_batch(&rn, b, &c);
        double t1 = now_seconds();
        positions += st ? 0 : c.n_pos;
        if (!st) st = results_commit(r, &c);
        else chunk_free(&c);
        t_model += t1 - t0, t_results += now_seconds() - t1;
        int64_t ns = p->batch_off[b + 1] - p->batch_off[b];
        done_s += ns, done_t += p->batch_tok[b];
        if (!st) report(o->events, done_s, total_s, done_t, total_t, 0);
    }
    runner_free(&rn);
    if (st) return st;
    report(o->events, done_s, total_s, done_t, total_t, 1);
    if (todo)
        events_log(o->events, SAEX_LOG_INFO, "timing: model + SAE %.2f s, %lld positions kept in %.2f s (%s)", t_model,
                   (long long)positions, t_results, r->st ? "run store" : "memory");
    return r->st ? store_mark_done(r->st) : SAEX_OK;
}
