/* chunk.c — the results of one batch, in memory and as a file.
 *
 * File format (safetensors; docs/run-store.md): for a batch of S samples and
 * P saved positions, tensors in this order
 *   sample      I64 [S]      document index of each sample, in batch order
 *   status      U8  [S]      0 success, 1 error
 *   reason_off  I64 [S + 1]  byte ranges of the error reasons in "reason"
 *   reason      U8  [R]      the reasons, UTF-8, concatenated
 *   pos_off     I64 [S + 1]  rows [pos_off[s], pos_off[s+1]) belong to sample s
 *   position    I32 [P]      token position of each row
 *   token       I32 [P]      token id at that position
 *   layer_L.ids       I32 [P, k]  top-k feature ids, largest activation first, -1 padded
 *   layer_L.act       F32 [P, k]  their activations (0 where padded)
 *   layer_L.n_active  I32 [P]     features with a non-zero activation
 *   layer_L.resid     F32 [P, d_model]  only with keep_residuals
 * and "__metadata__": format, version, batch, plan (sha256), layers, top_k,
 * crc32 (of the data section, hex). */
#include "digest.h"
#include "error.h"
#include "pipeline.h"
#include "safetensors.h"
#include "tempfile.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CHUNK_FORMAT "saex run-store chunk"
#define CHUNK_VERSION "1"

void chunk_free(chunk *c) {
    if (!c) return;
    if (!c->file) {
        free(c->sample), free(c->status), free(c->reason_off), free(c->reason_text), free(c->pos_off);
        free(c->position), free(c->token);
        for (int l = 0; l < c->n_layers; l++) free(c->ids[l]), free(c->act[l]), free(c->n_active[l]), free(c->resid[l]);
    }
    memset(c, 0, sizeof *c);
}

saex_status chunk_alloc(chunk *c, int64_t batch, int64_t n_s, int64_t max_pos, const run_info *ri) {
    memset(c, 0, sizeof *c);
    c->batch = batch;
    c->n_layers = ri->n_layers, c->k = ri->top_k, c->d_model = ri->keep_resid ? ri->d_model : 0;
    size_t S = (size_t)(n_s ? n_s : 1), P = (size_t)(max_pos ? max_pos : 1), K = (size_t)ri->top_k;
    c->sample = calloc(S, sizeof *c->sample);
    c->status = calloc(S, 1);
    c->reason_off = calloc(S + 1, sizeof *c->reason_off);
    c->pos_off = calloc(S + 1, sizeof *c->pos_off);
    c->position = malloc(P * sizeof *c->position);
    c->token = malloc(P * sizeof *c->token);
    int bad = !c->sample || !c->status || !c->reason_off || !c->pos_off || !c->position || !c->token;
    for (int l = 0; l < ri->n_layers && !bad; l++) {
        c->ids[l] = malloc(P * K * sizeof(int32_t));
        c->act[l] = malloc(P * K * sizeof(float));
        c->n_active[l] = malloc(P * sizeof(int32_t));
        if (ri->keep_resid) c->resid[l] = malloc(P * (size_t)ri->d_model * sizeof(float));
        bad = !c->ids[l] || !c->act[l] || !c->n_active[l] || (ri->keep_resid && !c->resid[l]);
    }
    if (bad) {
        chunk_free(c);
        return saex_fail(SAEX_ERR_NOMEM, "out of memory for a batch of %lld positions", (long long)max_pos);
    }
    return SAEX_OK;
}

/* ------------------------------------------------------------ writing */

#define MAX_TENSORS (7 + 4 * SAEX_MAX_LAYERS)

typedef struct {
    st_write_tensor t[MAX_TENSORS];
    char names[4 * SAEX_MAX_LAYERS][40];
    int n;
} tensor_list;

static void add(tensor_list *tl, const char *name, st_dtype dt, int64_t d0, int64_t d1, const void *data) {
    st_write_tensor *t = &tl->t[tl->n++];
    memset(t, 0, sizeof *t);
    t->name = name, t->dtype = dt, t->data = data;
    t->ndim = d1 >= 0 ? 2 : 1;
    t->shape[0] = d0;
    if (d1 >= 0) t->shape[1] = d1;
}

static const char *layer_name(tensor_list *tl, int slot, int layer, const char *what) {
    snprintf(tl->names[slot], sizeof tl->names[slot], "layer_%d.%s", layer, what);
    return tl->names[slot];
}

static void list_tensors(const chunk *c, const run_info *ri, tensor_list *tl) {
    int64_t S = c->n_s, P = c->n_pos;
    tl->n = 0;
    add(tl, "sample", ST_I64, S, -1, c->sample);
    add(tl, "status", ST_U8, S, -1, c->status);
    add(tl, "reason_off", ST_I64, S + 1, -1, c->reason_off);
    add(tl, "reason", ST_U8, c->reason_off[S], -1, c->reason_text);
    add(tl, "pos_off", ST_I64, S + 1, -1, c->pos_off);
    add(tl, "position", ST_I32, P, -1, c->position);
    add(tl, "token", ST_I32, P, -1, c->token);
    for (int l = 0; l < ri->n_layers; l++) {
        int L = ri->layers[l];
        add(tl, layer_name(tl, 4 * l, L, "ids"), ST_I32, P, ri->top_k, c->ids[l]);
        add(tl, layer_name(tl, 4 * l + 1, L, "act"), ST_F32, P, ri->top_k, c->act[l]);
        add(tl, layer_name(tl, 4 * l + 2, L, "n_active"), ST_I32, P, -1, c->n_active[l]);
        if (ri->keep_resid) add(tl, layer_name(tl, 4 * l + 3, L, "resid"), ST_F32, P, ri->d_model, c->resid[l]);
    }
}

static uint32_t data_crc(const tensor_list *tl) {
    uint32_t crc = 0;
    for (int i = 0; i < tl->n; i++) {
        int64_t numel = tl->t[i].shape[0] * (tl->t[i].ndim == 2 ? tl->t[i].shape[1] : 1);
        if (numel) crc = crc32_update(crc, tl->t[i].data, (size_t)numel * st_dtype_size(tl->t[i].dtype));
    }
    return crc;
}

static void layers_text(const run_info *ri, char *buf, size_t size) {
    size_t n = 0;
    buf[0] = '\0';
    for (int l = 0; l < ri->n_layers && n + 12 < size; l++) n += (size_t)snprintf(buf + n, size - n, "%s%d", l ? "," : "", ri->layers[l]);
}

saex_status chunk_write(const chunk *c, const run_info *ri, const char *plan_sha, const char *path) {
    tensor_list tl;
    list_tensors(c, ri, &tl);
    char batch[24], crc[16], layers[SAEX_MAX_LAYERS * 6 + 8], k[16];
    snprintf(batch, sizeof batch, "%" PRId64, c->batch);
    snprintf(crc, sizeof crc, "%08" PRIx32, data_crc(&tl));
    snprintf(k, sizeof k, "%d", ri->top_k);
    layers_text(ri, layers, sizeof layers);
    const char *meta[] = {"format", CHUNK_FORMAT, "version", CHUNK_VERSION, "batch", batch, "plan", plan_sha,
                          "layers", layers, "top_k", k, "crc32", crc, NULL};
    tempfile f;
    saex_status st = tempfile_open(&f, path, "run-store chunk");
    if (st) return st;
    /* st_write writes by path; the temp stays listed for signal cleanup. No
     * fsync: a killed process loses nothing from the page cache, and after a
     * machine crash a damaged chunk fails its crc32 on resume and is
     * computed again — one fsync per batch would cost more than it saves. */
    close(f.fd);
    f.fd = -1;
    st = st_write(f.tmp, tl.t, tl.n, meta);
    if (st) saex_fail_prefix(st, "writing %s", path);
    if (!st) st = tempfile_commit(&f, TEMPFILE_NO_SYNC);
    if (st) tempfile_abort(&f);
    return st;
}

/* ------------------------------------------------------------ reading */

void chunk_file_close(chunk_file *f) {
    if (f->fd >= 0) close(f->fd);
    free(f->c.sample), free(f->c.status), free(f->c.reason_off), free(f->c.reason_text), free(f->c.pos_off);
    memset(f, 0, sizeof *f);
    f->fd = -1;
}

static saex_status expect(const st_set *s, const char *path, const char *name, st_dtype dt, int64_t d0, int64_t d1,
                          const st_tensor **out) {
    const st_tensor *t = st_find(s, name);
    if (!t) return saex_fail(SAEX_ERR_FORMAT, "run-store chunk %s: no tensor \"%s\"", path, name);
    int ok = t->dtype == dt && t->ndim == (d1 >= 0 ? 2 : 1) && (d0 < 0 || t->shape[0] == d0) && (d1 < 0 || t->shape[1] == d1);
    if (!ok) return saex_fail(SAEX_ERR_FORMAT, "run-store chunk %s: tensor \"%s\" has an unexpected dtype or shape", path, name);
    *out = t;
    return SAEX_OK;
}

static saex_status copy_small(const st_tensor *t, void **dst) {
    *dst = malloc(t->nbytes ? t->nbytes : 1);
    if (!*dst) return saex_fail(SAEX_ERR_NOMEM, "out of memory");
    memcpy(*dst, t->data, t->nbytes);
    return SAEX_OK;
}

/* crc32 of everything after the header, read in blocks. */
static saex_status verify_crc(int fd, const char *path, int64_t data_start, const char *want) {
    static _Thread_local unsigned char buf[1 << 20];
    uint32_t crc = 0;
    for (off_t off = data_start;;) {
        ssize_t r = pread(fd, buf, sizeof buf, off);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) return saex_fail(SAEX_ERR_IO, "run-store chunk %s: read error: %s", path, strerror(errno));
        if (r == 0) break;
        crc = crc32_update(crc, buf, (size_t)r);
        off += r;
    }
    char got[16];
    snprintf(got, sizeof got, "%08" PRIx32, crc);
    if (!want || strcmp(got, want) != 0)
        return saex_fail(SAEX_ERR_FORMAT, "run-store chunk %s is damaged: crc32 %s, expected %s", path, got, want ? want : "(none)");
    return SAEX_OK;
}

static saex_status check_meta(const st_set *s, const char *path, const run_info *ri, int64_t batch, const char *plan_sha) {
    const char *fmt = st_metadata(s, "format"), *b = st_metadata(s, "batch"), *p = st_metadata(s, "plan");
    const char *k = st_metadata(s, "top_k"), *layers = st_metadata(s, "layers");
    char want_layers[SAEX_MAX_LAYERS * 6 + 8];
    layers_text(ri, want_layers, sizeof want_layers);
    if (!fmt || strcmp(fmt, CHUNK_FORMAT) != 0) return saex_fail(SAEX_ERR_FORMAT, "%s is not a saex run-store chunk", path);
    if (!b || strtoll(b, NULL, 10) != batch) return saex_fail(SAEX_ERR_FORMAT, "run-store chunk %s holds batch %s, not %lld", path, b ? b : "?", (long long)batch);
    if (!p || strcmp(p, plan_sha) != 0) return saex_fail(SAEX_ERR_FORMAT, "run-store chunk %s belongs to another plan", path);
    if (!k || atoi(k) != ri->top_k || !layers || strcmp(layers, want_layers) != 0)
        return saex_fail(SAEX_ERR_FORMAT, "run-store chunk %s has other layers or top_k than its run", path);
    return SAEX_OK;
}

static saex_status read_index(const st_set *s, const char *path, const run_info *ri, chunk_file *f) {
    const st_tensor *t;
    saex_status st;
    if ((st = expect(s, path, "sample", ST_I64, -1, -1, &t)) || (st = copy_small(t, (void **)&f->c.sample))) return st;
    int64_t S = f->c.n_s = t->shape[0];
    if ((st = expect(s, path, "status", ST_U8, S, -1, &t)) || (st = copy_small(t, (void **)&f->c.status)) ||
        (st = expect(s, path, "reason_off", ST_I64, S + 1, -1, &t)) || (st = copy_small(t, (void **)&f->c.reason_off)) ||
        (st = expect(s, path, "reason", ST_U8, -1, -1, &t)) || (st = copy_small(t, (void **)&f->c.reason_text)) ||
        (st = expect(s, path, "pos_off", ST_I64, S + 1, -1, &t)) || (st = copy_small(t, (void **)&f->c.pos_off)))
        return st;
    int64_t P = f->c.n_pos = f->c.pos_off[S], R = (int64_t)t->nbytes;
    (void)R;
    for (int64_t i = 0; i < S; i++)
        if (f->c.pos_off[i] < 0 || f->c.pos_off[i] > f->c.pos_off[i + 1] || f->c.reason_off[i] < 0 ||
            f->c.reason_off[i] > f->c.reason_off[i + 1] || f->c.reason_off[S] > (int64_t)st_find(s, "reason")->nbytes)
            return saex_fail(SAEX_ERR_FORMAT, "run-store chunk %s: inconsistent offsets", path);
    if ((st = expect(s, path, "position", ST_I32, P, -1, &t))) return st;
    f->off_position = t->offset;
    if ((st = expect(s, path, "token", ST_I32, P, -1, &t))) return st;
    f->off_token = t->offset;
    for (int l = 0; l < ri->n_layers; l++) {
        char name[48];
        snprintf(name, sizeof name, "layer_%d.ids", ri->layers[l]);
        if ((st = expect(s, path, name, ST_I32, P, ri->top_k, &t))) return st;
        f->off_ids[l] = t->offset;
        snprintf(name, sizeof name, "layer_%d.act", ri->layers[l]);
        if ((st = expect(s, path, name, ST_F32, P, ri->top_k, &t))) return st;
        f->off_act[l] = t->offset;
        snprintf(name, sizeof name, "layer_%d.n_active", ri->layers[l]);
        if ((st = expect(s, path, name, ST_I32, P, -1, &t))) return st;
        f->off_nact[l] = t->offset;
        f->off_resid[l] = -1;
        if (ri->keep_resid) {
            snprintf(name, sizeof name, "layer_%d.resid", ri->layers[l]);
            if ((st = expect(s, path, name, ST_F32, P, ri->d_model, &t))) return st;
            f->off_resid[l] = t->offset;
        }
    }
    f->c.n_layers = ri->n_layers, f->c.k = ri->top_k, f->c.d_model = ri->keep_resid ? ri->d_model : 0;
    return SAEX_OK;
}

saex_status chunk_file_open(const char *path, const run_info *ri, int64_t batch, const char *plan_sha, int verify,
                            chunk_file *f) {
    memset(f, 0, sizeof *f);
    f->fd = -1;
    st_set *s = NULL;
    saex_status st = st_open(path, &s);
    if (st) return st == SAEX_ERR_IO ? st : saex_fail_prefix(SAEX_ERR_FORMAT, "run-store chunk %s is damaged", path);
    st = check_meta(s, path, ri, batch, plan_sha);
    if (!st) st = read_index(s, path, ri, f);
    int64_t data_start = INT64_MAX;
    for (int i = 0; i < st_count(s); i++)
        if (st_at(s, i)->offset < data_start) data_start = st_at(s, i)->offset;
    char want[16];
    snprintf(want, sizeof want, "%s", st_metadata(s, "crc32") ? st_metadata(s, "crc32") : "");
    st_close(s);
    if (!st) {
        f->fd = open(path, O_RDONLY | O_CLOEXEC);
        if (f->fd < 0) st = saex_fail(SAEX_ERR_IO, "run-store chunk %s: %s", path, strerror(errno));
    }
    if (!st && verify) st = verify_crc(f->fd, path, data_start, want);
    f->c.batch = batch;
    if (st) chunk_file_close(f);
    return st;
}
