/* results.c — the results of a run, per sample and layer, whether they are
 * held in memory (one chunk per batch) or in a run store on disk. */
#include "error.h"
#include "json_write.h"
#include "store.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

saex_status saex_results_create(saex_results **out) {
    *out = calloc(1, sizeof **out);
    return *out ? SAEX_OK : saex_fail(SAEX_ERR_NOMEM, "out of memory");
}

saex_status saex_results_open_store(const char *dir, int shard, int n_shards, saex_results **out) {
    *out = NULL;
    if (shard >= 0 && (n_shards < 1 || shard >= n_shards))
        return saex_fail(SAEX_ERR_ARG, "shard %d of %d: expected 0 <= shard < shards", shard, n_shards);
    saex_results *r = calloc(1, sizeof *r);
    if (!r) return saex_fail(SAEX_ERR_NOMEM, "out of memory");
    saex_status st = store_open(dir, shard, n_shards, &r->st);
    if (!st && shard < 0) st = store_load(r->st, r);
    if (st) {
        saex_results_close(r);
        return st;
    }
    *out = r;
    return SAEX_OK;
}

saex_status results_copy_vocab(saex_results *r, const saex_tokenizer *tok) {
    int64_t V = saex_tokenizer_vocab_size(tok);
    r->vocab = calloc((size_t)(V ? V : 1), sizeof *r->vocab);
    if (!r->vocab) return saex_fail(SAEX_ERR_NOMEM, "out of memory");
    r->vocab_n = V;
    for (int64_t i = 0; i < V; i++) {
        const char *p = saex_token_piece(tok, (int32_t)i);
        if (p && !(r->vocab[i] = strdup(p))) return saex_fail(SAEX_ERR_NOMEM, "out of memory");
    }
    r->tok = NULL;
    return SAEX_OK;
}

static void unbind(saex_results *r) {
    if (r->mem)
        for (int64_t b = 0; b < r->p.n_batches; b++)
            if (r->mem[b]) chunk_free(r->mem[b]), free(r->mem[b]);
    free(r->mem);
    r->mem = NULL;
    if (r->vocab)
        for (int64_t i = 0; i < r->vocab_n; i++) free(r->vocab[i]);
    free(r->vocab);
    r->vocab = NULL;
    plan_free(&r->p);
    json_decref(r->info.metadata);
    memset(&r->info, 0, sizeof r->info);
    r->bound = 0;
}

void saex_results_close(saex_results *r) {
    if (!r) return;
    unbind(r);
    store_close(r->st);
    free(r->view_buf);
    free(r->reason_buf);
    free(r);
}

void results_unbind(saex_results *r) { unbind(r); }

int results_has(saex_results *r, int64_t b) {
    if (r->st) return store_has(r->st, r, b, 0, NULL);
    return r->mem && r->mem[b] != NULL;
}

saex_status results_commit(saex_results *r, chunk *c) {
    if (r->st) {
        char *path = store_chunk_path(r->st, c->batch);
        saex_status st = path ? chunk_write(c, &r->info, r->p.sha256, path) : saex_fail(SAEX_ERR_NOMEM, "out of memory");
        free(path);
        if (!st) r->st->verified[c->batch] = 1;
        chunk_free(c);
        return st;
    }
    chunk *keep = malloc(sizeof *keep);
    if (!keep) {
        chunk_free(c);
        return saex_fail(SAEX_ERR_NOMEM, "out of memory");
    }
    *keep = *c; /* takes ownership of the arrays */
    memset(c, 0, sizeof *c);
    r->mem[keep->batch] = keep;
    return SAEX_OK;
}

const char *results_piece(const saex_results *r, int32_t id) {
    if (r->vocab) return id >= 0 && id < r->vocab_n ? r->vocab[id] : NULL;
    return r->tok ? saex_token_piece(r->tok, id) : NULL;
}

/* ------------------------------------------------------------ views */

static saex_status grow(saex_results *r, size_t bytes) {
    if (bytes <= r->view_cap) return SAEX_OK;
    void *p = realloc(r->view_buf, bytes);
    if (!p) return saex_fail(SAEX_ERR_NOMEM, "out of memory");
    r->view_buf = p, r->view_cap = bytes;
    return SAEX_OK;
}

static saex_status read_rows(int fd, const char *what, int64_t off, void *dst, size_t n) {
    size_t got = 0;
    while (got < n) {
        ssize_t k = pread(fd, (char *)dst + got, n - got, (off_t)(off + (int64_t)got));
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) return saex_fail(SAEX_ERR_IO, "reading %s from the run store: %s", what, k < 0 ? strerror(errno) : "file ends early");
        got += (size_t)k;
    }
    return SAEX_OK;
}

/* Rows [a, a + n) of layer l of a chunk on disk, into the view's buffer. */
static saex_status view_from_file(saex_results *r, chunk_file *f, int64_t a, int64_t n, int l, saex_sample_view *v) {
    int k = r->info.top_k, d = f->off_resid[l] >= 0 ? r->info.d_model : 0;
    size_t per = (size_t)n * (3 * sizeof(int32_t) + 2 * (size_t)k * 4 + (size_t)d * 4);
    saex_status st = grow(r, per ? per : 1);
    if (st) return st;
    char *p = r->view_buf;
    int32_t *position = (int32_t *)p, *token = position + n, *ids = token + n, *nact = ids + n * k;
    float *act = (float *)(nact + n), *resid = act + n * k;
    if ((st = read_rows(f->fd, "positions", f->off_position + a * 4, position, (size_t)n * 4)) ||
        (st = read_rows(f->fd, "tokens", f->off_token + a * 4, token, (size_t)n * 4)) ||
        (st = read_rows(f->fd, "feature ids", f->off_ids[l] + a * k * 4, ids, (size_t)(n * k) * 4)) ||
        (st = read_rows(f->fd, "activations", f->off_act[l] + a * k * 4, act, (size_t)(n * k) * 4)) ||
        (st = read_rows(f->fd, "active counts", f->off_nact[l] + a * 4, nact, (size_t)n * 4)) ||
        (d && (st = read_rows(f->fd, "residuals", f->off_resid[l] + a * d * 4, resid, (size_t)(n * d) * 4))))
        return st;
    v->position = position, v->token_id = token, v->ids = ids, v->act = act, v->n_active = nact;
    v->resid = d ? resid : NULL;
    return SAEX_OK;
}

static void view_from_memory(const chunk *c, int64_t a, int l, saex_sample_view *v) {
    size_t k = (size_t)c->k;
    v->position = c->position + a, v->token_id = c->token + a;
    v->ids = c->ids[l] + (size_t)a * k, v->act = c->act[l] + (size_t)a * k, v->n_active = c->n_active[l] + a;
    v->resid = c->resid[l] ? c->resid[l] + (size_t)a * (size_t)c->d_model : NULL;
}

static saex_status set_reason(saex_results *r, const char *text, size_t n, saex_sample_view *v) {
    char *p = realloc(r->reason_buf, n + 1);
    if (!p) return saex_fail(SAEX_ERR_NOMEM, "out of memory");
    memcpy(p, text, n);
    p[n] = '\0';
    r->reason_buf = p;
    v->reason = p;
    return SAEX_OK;
}

saex_status saex_results_sample(saex_results *r, int64_t i, int l, saex_sample_view *v) {
    memset(v, 0, sizeof *v);
    v->status = SAEX_SAMPLE_UNPROCESSED;
    if (!r->bound) return saex_fail(SAEX_ERR_ARG, "no run has been made into these results yet");
    if (i < 0 || i >= r->p.n || l < 0 || l >= r->info.n_layers)
        return saex_fail(SAEX_ERR_ARG, "no sample %lld / layer index %d in these results", (long long)i, l);
    const plan *p = &r->p;
    v->k = r->info.top_k, v->d_model = r->info.d_model;
    v->answer_start = p->prompt_len[i], v->total_tokens = p->n_ids[i];
    if (!p->in_run[i]) return SAEX_OK;
    if (p->reason[i]) {
        v->status = SAEX_SAMPLE_ERROR;
        return set_reason(r, p->reason[i], strlen(p->reason[i]), v);
    }
    int64_t b = p->batch[i], slot = p->slot[i];
    const chunk *c = NULL;
    chunk_file *f = NULL;
    saex_status st = SAEX_OK;
    if (r->st) {
        if ((st = store_chunk(r->st, r, b, &f))) return st;
        c = &f->c;
    } else if (!(c = r->mem ? r->mem[b] : NULL)) {
        return SAEX_OK; /* selected but not run (interrupted): unprocessed */
    }
    if (slot >= c->n_s || c->sample[slot] != i)
        return saex_fail(SAEX_ERR_FORMAT, "run store: batch %lld does not hold sample %lld where the plan says", (long long)b, (long long)i);
    if (c->status[slot] != SAEX_SAMPLE_OK) {
        v->status = SAEX_SAMPLE_ERROR;
        return set_reason(r, c->reason_text + c->reason_off[slot], (size_t)(c->reason_off[slot + 1] - c->reason_off[slot]), v);
    }
    v->status = SAEX_SAMPLE_OK;
    int64_t a = c->pos_off[slot], n = c->pos_off[slot + 1] - a;
    v->n_pos = (int)n;
    if (f) st = view_from_file(r, f, a, n, l, v);
    else view_from_memory(c, a, l, v);
    return st;
}
