/* residuals.c — the dense residual rows of a keep_residuals run as one
 * safetensors file, streamed from the results (memory or run store) in
 * document order, so that a dump larger than memory can still be written. */
#include "error.h"
#include "store.h"
#include "tempfile.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    tempfile *f;
    char buf[1 << 20];
    size_t n;
    saex_status st;
} sink;

static void put(sink *s, const void *p, size_t n) {
    while (!s->st && n > 0) {
        size_t k = sizeof s->buf - s->n < n ? sizeof s->buf - s->n : n;
        memcpy(s->buf + s->n, p, k);
        s->n += k, p = (const char *)p + k, n -= k;
        if (s->n == sizeof s->buf) {
            s->st = tempfile_write(s->f, s->buf, s->n);
            s->n = 0;
        }
    }
}

static void flush(sink *s) {
    if (!s->st && s->n) s->st = tempfile_write(s->f, s->buf, s->n);
    s->n = 0;
}

/* Saved rows of the successful samples. */
static saex_status count_rows(saex_results *r, int64_t *rows) {
    *rows = 0;
    for (int64_t i = 0; i < r->p.n; i++) {
        if (!r->p.in_run[i] || r->p.reason[i]) continue;
        saex_sample_view v;
        saex_status st = saex_results_sample(r, i, 0, &v);
        if (st) return st;
        if (v.status == SAEX_SAMPLE_OK) *rows += v.n_pos;
    }
    return SAEX_OK;
}

static char *header(const saex_doc *d, saex_results *r, int64_t rows) {
    json_t *h = json_object();
    int64_t off = 0, D = r->info.d_model;
    for (int l = 0; l < r->info.n_layers; l++) {
        char name[64];
        snprintf(name, sizeof name, "blocks.%d.hook_resid_post", r->info.layers[l]);
        json_object_set_new(h, name, json_pack("{s:s, s:[I,I], s:[I,I]}", "dtype", "F32", "shape", (json_int_t)rows,
                                               (json_int_t)D, "data_offsets", (json_int_t)off, (json_int_t)(off + rows * D * 4)));
        off += rows * D * 4;
    }
    const char *idx[] = {"sample_index", "result_index", "variation_index", "position"};
    for (int t = 0; t < 4; t++) {
        json_object_set_new(h, idx[t], json_pack("{s:s, s:[I], s:[I,I]}", "dtype", "I32", "shape", (json_int_t)rows,
                                                 "data_offsets", (json_int_t)off, (json_int_t)(off + rows * 4)));
        off += rows * 4;
    }
    char in[PATH_MAX];
    json_object_set_new(h, "__metadata__",
                        json_pack("{s:s, s:s, s:s, s:s}", "format", "saex residual dump", "input",
                                  realpath(d->name, in) ? in : d->name, "save_all_tokens",
                                  r->info.pos.save_all ? "true" : "false", "saex_version", saex_version()));
    char *text = json_dumps(h, JSON_COMPACT);
    json_decref(h);
    return text;
}

static saex_status write_header(sink *s, const char *text) {
    size_t n = strlen(text), padded = (n + 7) / 8 * 8;
    unsigned char len[8];
    for (int i = 0; i < 8; i++) len[i] = (unsigned char)((uint64_t)padded >> (8 * i));
    put(s, len, 8);
    put(s, text, n);
    put(s, "        ", padded - n);
    return s->st;
}

/* One pass over the samples: the rows of layer l, or (l < 0) index column -l-1. */
static saex_status write_column(sink *s, const saex_doc *d, saex_results *r, int l) {
    for (int64_t i = 0; i < r->p.n && !s->st; i++) {
        if (!r->p.in_run[i] || r->p.reason[i]) continue;
        saex_sample_view v;
        saex_status st = saex_results_sample(r, i, l >= 0 ? l : 0, &v);
        if (st) return st;
        if (v.status != SAEX_SAMPLE_OK) continue;
        if (l >= 0) {
            put(s, v.resid, (size_t)v.n_pos * (size_t)v.d_model * sizeof(float));
            continue;
        }
        int32_t val = (int32_t)(l == -1 ? i : l == -2 ? d->s[i].r : d->s[i].v);
        for (int p = 0; p < v.n_pos; p++) put(s, l == -4 ? &v.position[p] : &val, 4);
    }
    return s->st;
}

saex_status saex_write_residuals(const saex_doc *d, saex_results *r, const char *path) {
    if (!r->bound || !r->info.keep_resid)
        return saex_fail(SAEX_ERR_ARG, "residuals %s: this run did not keep residuals (keep_residuals)", path);
    if (r->p.n != d->n) return saex_fail(SAEX_ERR_MISMATCH, "residuals %s: the results are for another document", path);
    int64_t rows;
    saex_status st = count_rows(r, &rows);
    if (st) return st;
    char *text = header(d, r, rows);
    if (!text) return saex_fail(SAEX_ERR_NOMEM, "out of memory");
    tempfile f;
    if ((st = tempfile_open(&f, path, "--dump-residuals"))) {
        free(text);
        return st;
    }
    sink *s = calloc(1, sizeof *s);
    if (!s) st = saex_fail(SAEX_ERR_NOMEM, "out of memory");
    else s->f = &f;
    if (!st) st = write_header(s, text);
    for (int l = 0; l < r->info.n_layers && !st; l++) st = write_column(s, d, r, l);
    for (int c = -1; c >= -4 && !st; c--) st = write_column(s, d, r, c);
    if (!st) flush(s), st = s->st;
    if (!st) st = tempfile_commit(&f, 0);
    tempfile_abort(&f);
    free(s);
    free(text);
    return st;
}
