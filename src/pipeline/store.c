/* store.c — the run store's files: creating and checking them, the shard
 * locks and completion markers, finding and reading chunks (store.h). */
#include "store.h"
#include "error.h"
#include "safetensors.h"
#include "tempfile.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static char *join(const char *dir, const char *name) {
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = malloc(n);
    if (p) snprintf(p, n, "%s/%s", dir, name);
    return p;
}

static saex_status make_dir(const char *path) {
    if (mkdir(path, 0755) == 0 || errno == EEXIST) {
        struct stat sb;
        if (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode)) return SAEX_OK;
        return saex_fail(SAEX_ERR_IO, "run store %s: exists and is not a folder", path);
    }
    return saex_fail(SAEX_ERR_IO, "run store %s: cannot create the folder: %s", path, strerror(errno));
}

static char *shard_file(const store *s, int shard, const char *ext) {
    char name[64];
    snprintf(name, sizeof name, "shards/%d-of-%d.%s", shard, s->n_shards, ext);
    return join(s->dir, name);
}

char *store_chunk_path(const store *s, int64_t b) {
    char name[48];
    snprintf(name, sizeof name, "chunks/b%06" PRId64 ".safetensors", b);
    return join(s->dir, name);
}

/* ------------------------------------------------------------ open, lock */

static saex_status take_lock(store *s) {
    char *p = shard_file(s, s->shard, "lock");
    if (!p) return saex_fail(SAEX_ERR_NOMEM, "out of memory");
    s->lock_fd = open(p, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    saex_status st = SAEX_OK;
    if (s->lock_fd < 0) {
        st = saex_fail(SAEX_ERR_IO, "run store %s: cannot create %s: %s", s->dir, p, strerror(errno));
    } else if (flock(s->lock_fd, LOCK_EX | LOCK_NB) != 0) {
        char who[128] = "";
        ssize_t n = pread(s->lock_fd, who, sizeof who - 1, 0);
        who[n > 0 ? n : 0] = '\0';
        who[strcspn(who, "\n")] = '\0';
        st = saex_fail(SAEX_ERR_CONFLICT, "run store %s: shard %d of %d is being computed by another process (%s); "
                       "two processes must not run one shard", s->dir, s->shard, s->n_shards, who[0] ? who : "pid unknown");
        close(s->lock_fd);
        s->lock_fd = -1;
    } else {
        char line[96];
        int n = snprintf(line, sizeof line, "pid %ld started %lld\n", (long)getpid(), (long long)time(NULL));
        if (ftruncate(s->lock_fd, 0) != 0 || pwrite(s->lock_fd, line, (size_t)n, 0) != n)
            st = saex_fail(SAEX_ERR_IO, "run store %s: cannot write %s", s->dir, p);
    }
    free(p);
    return st;
}

saex_status store_open(const char *dir, int shard, int n_shards, store **out) {
    *out = NULL;
    store *s = calloc(1, sizeof *s);
    if (!s || !(s->dir = strdup(dir))) {
        free(s);
        return saex_fail(SAEX_ERR_NOMEM, "out of memory");
    }
    s->shard = shard, s->n_shards = n_shards, s->lock_fd = -1;
    for (int i = 0; i < STORE_CACHE; i++) s->cache[i].fd = -1;
    saex_status st = SAEX_OK;
    if (shard < 0) { /* to read: it must be a run store already */
        char *m = join(dir, "manifest.json");
        struct stat sb;
        if (!m) st = saex_fail(SAEX_ERR_NOMEM, "out of memory");
        else if (stat(dir, &sb) != 0) st = saex_fail(SAEX_ERR_NOT_FOUND, "run store %s does not exist", dir);
        else if (stat(m, &sb) != 0)
            st = saex_fail(SAEX_ERR_NOT_FOUND, "%s is not a run store (no manifest.json: no shard has started yet?)", dir);
        free(m);
    } /* to write: nothing on disk until store_bind, so that a run refused before it leaves nothing */
    if (st) {
        store_close(s);
        return st;
    }
    *out = s;
    return SAEX_OK;
}

void store_close(store *s) {
    if (!s) return;
    if (s->lock_fd >= 0) close(s->lock_fd); /* releases the flock */
    for (int i = 0; i < STORE_CACHE; i++)
        if (s->cache[i].fd >= 0) chunk_file_close(&s->cache[i]);
    json_decref(s->manifest);
    free(s->verified);
    free(s->dir);
    free(s);
}

/* ------------------------------------------------------------ plan file */

static saex_status sync_file(const char *path) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    int bad = fd < 0 || fsync(fd) != 0;
    if (fd >= 0) close(fd);
    return bad ? saex_fail(SAEX_ERR_IO, "%s: fsync failed: %s", path, strerror(errno)) : SAEX_OK;
}

static saex_status write_st(const char *path, const st_write_tensor *t, int n, const char *const *meta, int no_replace) {
    tempfile f;
    saex_status st = tempfile_open(&f, path, "run-store file");
    if (st) return st;
    close(f.fd);
    f.fd = -1;
    st = st_write(f.tmp, t, n, meta);
    if (st) saex_fail_prefix(st, "writing %s", path);
    if (!st) st = sync_file(f.tmp); /* the plan is written once: make it durable */
    if (!st) st = tempfile_commit(&f, no_replace ? TEMPFILE_NO_REPLACE : 0);
    if (st == SAEX_ERR_CONFLICT) st = SAEX_OK; /* another shard wrote it first: the manifest check decides */
    tempfile_abort(&f);
    return st;
}

static st_write_tensor t1(const char *name, st_dtype dt, int64_t n, const void *data) {
    st_write_tensor t;
    memset(&t, 0, sizeof t);
    t.name = name, t.dtype = dt, t.ndim = 1, t.shape[0] = n, t.data = data;
    return t;
}

static saex_status write_plan(store *s, const plan *p) {
    int64_t *roff = malloc((size_t)(p->n + 1) * sizeof *roff);
    if (!roff) return saex_fail(SAEX_ERR_NOMEM, "out of memory");
    int64_t R = 0;
    for (int64_t i = 0; i < p->n; i++) roff[i] = R, R += p->reason[i] ? (int64_t)strlen(p->reason[i]) : 0;
    roff[p->n] = R;
    char *rtext = malloc((size_t)(R ? R : 1));
    if (!rtext) {
        free(roff);
        return saex_fail(SAEX_ERR_NOMEM, "out of memory");
    }
    for (int64_t i = 0; i < p->n; i++)
        if (p->reason[i]) memcpy(rtext + roff[i], p->reason[i], (size_t)(roff[i + 1] - roff[i]));
    int64_t n_run = p->batch_off[p->n_batches];
    st_write_tensor t[] = {
        t1("in_run", ST_U8, p->n, p->in_run),          t1("n_ids", ST_I32, p->n, p->n_ids),
        t1("prompt_len", ST_I32, p->n, p->prompt_len), t1("mode", ST_U8, p->n, p->mode),
        t1("batch", ST_I32, p->n, p->batch),           t1("slot", ST_I32, p->n, p->slot),
        t1("reason_off", ST_I64, p->n + 1, roff),      t1("reason", ST_U8, R, rtext),
        t1("batch_off", ST_I64, p->n_batches + 1, p->batch_off), t1("order", ST_I64, n_run, p->order),
        t1("batch_tok", ST_I64, p->n_batches, p->batch_tok),     t1("batch_pos", ST_I64, p->n_batches, p->batch_pos),
        t1("shard_first", ST_I64, p->n_shards + 1, p->shard_first)};
    const char *meta[] = {"format", "saex run-store plan", "plan", p->sha256, NULL};
    char *path = join(s->dir, "plan.safetensors");
    saex_status st = path ? write_st(path, t, (int)(sizeof t / sizeof t[0]), meta, 1) : saex_fail(SAEX_ERR_NOMEM, "out of memory");
    free(path), free(roff), free(rtext);
    return st;
}

static saex_status get_copy(const st_set *set, const char *path, const char *name, st_dtype dt, int64_t n, void **out) {
    const st_tensor *t = st_find(set, name);
    if (!t || t->dtype != dt || t->ndim != 1 || (n >= 0 && t->shape[0] != n))
        return saex_fail(SAEX_ERR_FORMAT, "run-store plan %s: tensor \"%s\" is missing or misshapen", path, name);
    *out = malloc(t->nbytes ? t->nbytes : 1);
    if (!*out) return saex_fail(SAEX_ERR_NOMEM, "out of memory");
    memcpy(*out, t->data, t->nbytes);
    return SAEX_OK;
}

static saex_status read_plan_arrays(const st_set *set, const char *path, plan *p, int64_t n, int64_t B, int N) {
    int64_t *roff = NULL;
    char *rtext = NULL;
    saex_status st;
    if ((st = get_copy(set, path, "in_run", ST_U8, n, (void **)&p->in_run)) ||
        (st = get_copy(set, path, "n_ids", ST_I32, n, (void **)&p->n_ids)) ||
        (st = get_copy(set, path, "prompt_len", ST_I32, n, (void **)&p->prompt_len)) ||
        (st = get_copy(set, path, "mode", ST_U8, n, (void **)&p->mode)) ||
        (st = get_copy(set, path, "batch", ST_I32, n, (void **)&p->batch)) ||
        (st = get_copy(set, path, "slot", ST_I32, n, (void **)&p->slot)) ||
        (st = get_copy(set, path, "reason_off", ST_I64, n + 1, (void **)&roff)) ||
        (st = get_copy(set, path, "reason", ST_U8, -1, (void **)&rtext)) ||
        (st = get_copy(set, path, "batch_off", ST_I64, B + 1, (void **)&p->batch_off)) ||
        (st = get_copy(set, path, "order", ST_I64, -1, (void **)&p->order)) ||
        (st = get_copy(set, path, "batch_tok", ST_I64, B, (void **)&p->batch_tok)) ||
        (st = get_copy(set, path, "batch_pos", ST_I64, B, (void **)&p->batch_pos)) ||
        (st = get_copy(set, path, "shard_first", ST_I64, N + 1, (void **)&p->shard_first)))
        goto done;
    p->reason = calloc((size_t)(n ? n : 1), sizeof *p->reason);
    if (!p->reason) {
        st = saex_fail(SAEX_ERR_NOMEM, "out of memory");
        goto done;
    }
    int64_t R = (int64_t)st_find(set, "reason")->nbytes;
    for (int64_t i = 0; i < n && !st; i++) {
        if (roff[i] < 0 || roff[i] > roff[i + 1] || roff[i + 1] > R) st = saex_fail(SAEX_ERR_FORMAT, "run-store plan %s: bad reason offsets", path);
        else if (roff[i + 1] > roff[i] && !(p->reason[i] = strndup(rtext + roff[i], (size_t)(roff[i + 1] - roff[i]))))
            st = saex_fail(SAEX_ERR_NOMEM, "out of memory");
    }
    for (int64_t b = 0; b < B && !st; b++)
        if (p->batch_off[b] < 0 || p->batch_off[b] > p->batch_off[b + 1]) st = saex_fail(SAEX_ERR_FORMAT, "run-store plan %s: bad batches", path);
    for (int64_t i = 0; i < n && !st; i++)
        if (p->batch[i] >= B || (p->batch[i] >= 0 && p->slot[i] < 0)) st = saex_fail(SAEX_ERR_FORMAT, "run-store plan %s: bad batch index", path);
done:
    free(roff), free(rtext);
    return st;
}

static saex_status read_plan(store *s, plan *p) {
    json_t *mp = json_object_get(s->manifest, "plan");
    int64_t n = json_integer_value(json_object_get(json_object_get(s->manifest, "input"), "samples"));
    int64_t B = json_integer_value(json_object_get(mp, "batches"));
    int N = (int)json_integer_value(json_object_get(mp, "shards"));
    const char *sha = json_string_value(json_object_get(mp, "sha256"));
    char *path = join(s->dir, "plan.safetensors");
    st_set *set = NULL;
    saex_status st = path ? st_open(path, &set) : saex_fail(SAEX_ERR_NOMEM, "out of memory");
    memset(p, 0, sizeof *p);
    if (!st && (!sha || !st_metadata(set, "plan") || strcmp(st_metadata(set, "plan"), sha) != 0))
        st = saex_fail(SAEX_ERR_FORMAT, "run-store plan %s does not match its manifest", path);
    if (!st && (n < 0 || B < 0 || N < 1)) st = saex_fail(SAEX_ERR_FORMAT, "run store %s: bad manifest plan", s->dir);
    if (!st) {
        p->n = n, p->n_batches = B, p->n_shards = N;
        snprintf(p->sha256, sizeof p->sha256, "%s", sha);
        st = read_plan_arrays(set, path, p, n, B, N);
    }
    if (!st) {
        p->total_tokens = json_integer_value(json_object_get(mp, "tokens"));
        p->ids_off = calloc((size_t)n + 1, sizeof *p->ids_off);
        if (!p->ids_off) st = saex_fail(SAEX_ERR_NOMEM, "out of memory");
    }
    if (set) st_close(set);
    free(path);
    if (st) plan_free(p);
    return st;
}

/* ------------------------------------------------------------ vocabulary */

static saex_status write_vocab(store *s, const saex_tokenizer *tok) {
    int64_t V = saex_tokenizer_vocab_size(tok), bytes = 0;
    int64_t *off = malloc((size_t)(V + 1) * sizeof *off);
    if (!off) return saex_fail(SAEX_ERR_NOMEM, "out of memory");
    for (int64_t i = 0; i < V; i++) {
        const char *p = saex_token_piece(tok, (int32_t)i);
        off[i] = bytes;
        bytes += p ? (int64_t)strlen(p) : 0;
    }
    off[V] = bytes;
    char *text = malloc((size_t)(bytes ? bytes : 1));
    if (!text) {
        free(off);
        return saex_fail(SAEX_ERR_NOMEM, "out of memory");
    }
    for (int64_t i = 0; i < V; i++) {
        const char *p = saex_token_piece(tok, (int32_t)i);
        if (p) memcpy(text + off[i], p, (size_t)(off[i + 1] - off[i]));
    }
    st_write_tensor t[] = {t1("piece_off", ST_I64, V + 1, off), t1("piece", ST_U8, bytes, text)};
    const char *meta[] = {"format", "saex run-store vocabulary", NULL};
    char *path = join(s->dir, "vocab.safetensors");
    saex_status st = path ? write_st(path, t, 2, meta, 1) : saex_fail(SAEX_ERR_NOMEM, "out of memory");
    free(path), free(off), free(text);
    return st;
}

static saex_status read_vocab(store *s, saex_results *r) {
    char *path = join(s->dir, "vocab.safetensors");
    st_set *set = NULL;
    saex_status st = path ? st_open(path, &set) : saex_fail(SAEX_ERR_NOMEM, "out of memory");
    const st_tensor *off = st ? NULL : st_find(set, "piece_off"), *text = st ? NULL : st_find(set, "piece");
    if (!st && (!off || !text || off->dtype != ST_I64 || text->dtype != ST_U8 || off->ndim != 1 || off->shape[0] < 1))
        st = saex_fail(SAEX_ERR_FORMAT, "run-store vocabulary %s is damaged", path);
    if (!st) {
        int64_t V = off->shape[0] - 1;
        const int64_t *o = off->data;
        r->vocab = calloc((size_t)(V ? V : 1), sizeof *r->vocab);
        if (!r->vocab) st = saex_fail(SAEX_ERR_NOMEM, "out of memory");
        for (int64_t i = 0; i < V && !st; i++) {
            if (o[i] < 0 || o[i] > o[i + 1] || o[i + 1] > (int64_t)text->nbytes) {
                st = saex_fail(SAEX_ERR_FORMAT, "run-store vocabulary %s is damaged", path);
                break;
            }
            r->vocab[i] = strndup((const char *)text->data + o[i], (size_t)(o[i + 1] - o[i]));
            if (!r->vocab[i]) st = saex_fail(SAEX_ERR_NOMEM, "out of memory");
        }
        r->vocab_n = V;
    }
    if (set) st_close(set);
    free(path);
    return st;
}

/* ------------------------------------------------------------ manifest */

static saex_status read_manifest(store *s, json_t **out) {
    char *path = join(s->dir, "manifest.json");
    json_error_t err;
    *out = path ? json_load_file(path, 0, &err) : NULL;
    saex_status st = *out ? SAEX_OK : saex_fail(SAEX_ERR_FORMAT, "run-store manifest %s: %s", path, path ? err.text : "out of memory");
    free(path);
    return st;
}

saex_status store_load(store *s, saex_results *r) {
    saex_status st = read_manifest(s, &s->manifest);
    char *path = join(s->dir, "manifest.json");
    if (!st) st = manifest_run_info(s->manifest, path, &r->info);
    free(path);
    if (!st) st = read_plan(s, &r->p);
    if (!st && r->p.n_shards != s->n_shards && s->shard >= 0)
        st = saex_fail(SAEX_ERR_CONFLICT, "run store %s was planned for %d shards, not %d", s->dir, r->p.n_shards, s->n_shards);
    if (!st) st = read_vocab(s, r);
    if (!st) {
        s->n_shards = r->p.n_shards;
        s->verified = calloc((size_t)(r->p.n_batches ? r->p.n_batches : 1), 1);
        if (!s->verified) st = saex_fail(SAEX_ERR_NOMEM, "out of memory");
    }
    if (!st) r->bound = 1;
    return st;
}

static saex_status check_same(store *s, json_t *want) {
    char *diff = manifest_diff(s->manifest, want);
    if (!diff) return SAEX_OK;
    saex_status st = saex_fail(SAEX_ERR_CONFLICT,
                               "run store %s holds another run; what differs:%s\n  Use another --run-dir (or --output), "
                               "or --fresh to discard that run and start over.", s->dir, diff);
    free(diff);
    return st;
}

/* The folders and this shard's lock. A store folder this call created is
 * removed again when that fails. */
static saex_status create_layout(store *s) {
    struct stat sb;
    int existed = stat(s->dir, &sb) == 0;
    char *chunks = join(s->dir, "chunks"), *shards = join(s->dir, "shards");
    saex_status st = chunks && shards ? SAEX_OK : saex_fail(SAEX_ERR_NOMEM, "out of memory");
    if (!st) st = make_dir(s->dir);
    if (!st) st = make_dir(chunks);
    if (!st) st = make_dir(shards);
    if (!st) st = take_lock(s);
    if (!st) tempfile_sweep(chunks, NULL), tempfile_sweep(s->dir, NULL); /* left by a kill -9 */
    if (st && !existed) {
        char *lock = shard_file(s, s->shard, "lock");
        if (lock) unlink(lock);
        free(lock);
        rmdir(chunks), rmdir(shards), rmdir(s->dir);
    }
    free(chunks), free(shards);
    return st;
}

saex_status store_bind(store *s, saex_results *r, json_t *manifest, const saex_tokenizer *tok) {
    saex_status st = s->lock_fd >= 0 ? SAEX_OK : create_layout(s);
    if (st) return st;
    char *path = join(s->dir, "manifest.json");
    if (!path) return saex_fail(SAEX_ERR_NOMEM, "out of memory");
    struct stat sb;
    if (stat(path, &sb) != 0) {
        st = write_plan(s, &r->p);
        if (!st) st = write_vocab(s, tok);
        char *text = st ? NULL : json_dumps(manifest, JSON_INDENT(2));
        if (!st && !text) st = saex_fail(SAEX_ERR_NOMEM, "out of memory");
        if (!st) st = write_file_atomic(path, text, strlen(text), TEMPFILE_NO_REPLACE);
        free(text);
        if (st == SAEX_ERR_CONFLICT) st = SAEX_OK; /* another shard was first: compare below */
    }
    free(path);
    json_decref(s->manifest);
    s->manifest = NULL;
    if (!st) st = read_manifest(s, &s->manifest);
    if (!st) st = check_same(s, manifest);
    if (!st) {
        free(s->verified);
        s->verified = calloc((size_t)(r->p.n_batches ? r->p.n_batches : 1), 1);
        if (!s->verified) st = saex_fail(SAEX_ERR_NOMEM, "out of memory");
    }
    return st;
}

/* ------------------------------------------------------------ chunks */

int store_has(store *s, const saex_results *r, int64_t b, int verify, const saex_events *ev) {
    char *path = store_chunk_path(s, b);
    struct stat sb;
    int has = path && stat(path, &sb) == 0;
    if (has && verify && !s->verified[b]) {
        chunk_file f;
        if (chunk_file_open(path, &r->info, b, r->p.sha256, 1, &f) == SAEX_OK) {
            s->verified[b] = 1;
            chunk_file_close(&f);
        } else {
            events_log(ev, SAEX_LOG_WARN, "%s; removing it, batch %lld will be computed again", saex_last_error(), (long long)b);
            unlink(path);
            has = 0;
        }
    }
    free(path);
    return has;
}

saex_status store_chunk(store *s, const saex_results *r, int64_t b, chunk_file **out) {
    for (int i = 0; i < STORE_CACHE; i++)
        if (s->cache[i].fd >= 0 && s->cache[i].c.batch == b) {
            *out = &s->cache[i];
            return SAEX_OK;
        }
    char *path = store_chunk_path(s, b);
    if (!path) return saex_fail(SAEX_ERR_NOMEM, "out of memory");
    chunk_file *slot = &s->cache[s->cache_next];
    if (slot->fd >= 0) chunk_file_close(slot);
    struct stat sb;
    saex_status st = stat(path, &sb) != 0 ? saex_fail(SAEX_ERR_NOT_FOUND, "run store %s: batch %lld has no results yet (%s)",
                                                      s->dir, (long long)b, path)
                                          : chunk_file_open(path, &r->info, b, r->p.sha256, !s->verified[b], slot);
    free(path);
    if (st) return st;
    s->verified[b] = 1;
    s->cache_next = (s->cache_next + 1) % STORE_CACHE;
    *out = slot;
    return SAEX_OK;
}

saex_status store_mark_done(store *s) {
    char *p = shard_file(s, s->shard, "done");
    if (!p) return saex_fail(SAEX_ERR_NOMEM, "out of memory");
    char line[64];
    int n = snprintf(line, sizeof line, "done %lld\n", (long long)time(NULL));
    saex_status st = write_file_atomic(p, line, (size_t)n, 0);
    free(p);
    return st;
}

/* ------------------------------------------------------------ status */

int saex_results_n_shards(const saex_results *r) { return r->st ? r->st->n_shards : 1; }

saex_status saex_results_shard_status(saex_results *r, int shard, saex_shard_status *out) {
    memset(out, 0, sizeof *out);
    store *s = r->st;
    if (!s || !r->bound || shard < 0 || shard >= r->p.n_shards)
        return saex_fail(SAEX_ERR_ARG, "no shard %d in this run", shard);
    const plan *p = &r->p;
    for (int64_t b = p->shard_first[shard]; b < p->shard_first[shard + 1]; b++) {
        int64_t ns = p->batch_off[b + 1] - p->batch_off[b];
        out->batches++, out->samples += ns, out->tokens += p->batch_tok[b];
        char *path = store_chunk_path(s, b);
        struct stat sb;
        if (path && stat(path, &sb) == 0) {
            out->batches_done++, out->samples_done += ns, out->tokens_done += p->batch_tok[b];
            if ((double)sb.st_mtime > out->updated) out->updated = (double)sb.st_mtime;
        }
        free(path);
    }
    char *done = shard_file(s, shard, "done"), *lock = shard_file(s, shard, "lock");
    struct stat sb;
    out->complete = done && stat(done, &sb) == 0;
    int fd = lock ? open(lock, O_RDONLY | O_CLOEXEC) : -1;
    if (fd >= 0) {
        char text[128] = "";
        ssize_t n = pread(fd, text, sizeof text - 1, 0);
        text[n > 0 ? n : 0] = '\0';
        long long pid = 0, started = 0;
        if (sscanf(text, "pid %lld started %lld", &pid, &started) == 2) out->pid = (long)pid, out->started = (double)started;
        /* A shared lock fails only while a running shard holds the exclusive one. */
        out->running = flock(fd, LOCK_SH | LOCK_NB) != 0;
        if (!out->running) flock(fd, LOCK_UN);
        close(fd);
    }
    free(done), free(lock);
    return SAEX_OK;
}

saex_status saex_results_manifest(const saex_results *r, char **json) {
    *json = NULL;
    if (!r->st || !r->st->manifest) return saex_fail(SAEX_ERR_ARG, "these results are not a run store with a manifest");
    *json = json_dumps(r->st->manifest, JSON_INDENT(2));
    return *json ? SAEX_OK : saex_fail(SAEX_ERR_NOMEM, "out of memory");
}
