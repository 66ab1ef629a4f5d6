/* output.c — the input document with the results merged in, streamed.
 *
 * The document tree is walked and written as jansson's JSON_INDENT(2)
 * layout would print it (JSON Lines: one compact object per line), except
 * that each processed variation gets its "sae_activations" entry written
 * straight from the results, never built as a tree: memory stays bounded by
 * the input document, however many positions the run saved.
 *
 * Per variation, "sae_activations": {"layer_L": {...}} is merged into an
 * existing "sae_activations" object (other layers kept in place, the same
 * layer replaced in place), or appended at the end of the variation. The
 * run's metadata goes to a top-level "sae_extraction_metadata" (results
 * form) or to OUTPUT.meta.json (list and JSON Lines), merged the same way. */
#include "error.h"
#include "json_write.h"
#include "store.h"
#include "tempfile.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct {
    jw *w;
    int indent;           /* 2, or 0 for JSON Lines */
    const saex_doc *d;
    saex_results *r;
    int64_t next;         /* the next sample in document order */
} writer;

/* ------------------------------------------------------------ layout */

static void key(writer *o, int *n, const char *k, int depth) {
    if ((*n)++) jw_raw(o->w, ",", 1);
    jw_newline(o->w, o->indent, depth + 1);
    jw_string(o->w, k, strlen(k));
    jw_raw(o->w, o->indent > 0 ? ": " : ":", o->indent > 0 ? 2 : 1);
}

static void close_obj(writer *o, int n, int depth) {
    if (!n) jw_raw(o->w, "{", 1); /* an empty object prints as {} */
    else jw_newline(o->w, o->indent, depth);
    jw_raw(o->w, "}", 1);
}

/* ------------------------------------------------------------ one layer */

static int utf8_valid(const char *s, size_t n) {
    json_t *j = json_stringn(s, n);
    json_decref(j);
    return j != NULL;
}

static void write_error(writer *o, const saex_sample_view *v, int depth) {
    int n = 0;
    jw_raw(o->w, "{", 1);
    if (v->total_tokens > 0) {
        key(o, &n, "answer_start_position", depth);
        jw_int(o->w, v->answer_start);
        key(o, &n, "total_tokens", depth);
        jw_int(o->w, v->total_tokens);
    }
    key(o, &n, "status", depth);
    jw_string(o->w, "error", 5);
    key(o, &n, "reason", depth);
    const char *why = v->reason ? v->reason : "(no reason recorded)";
    if (!utf8_valid(why, strlen(why))) why = "(reason is not valid UTF-8)";
    jw_string(o->w, why, strlen(why));
    close_obj(o, n, depth);
}

static void write_success(writer *o, const saex_sample_view *v, int depth) {
    int n = 0, na = 0;
    jw_raw(o->w, "{", 1);
    key(o, &n, "activations", depth);
    jw_raw(o->w, "{", 1);
    int save_all = o->r->info.pos.save_all;
    for (int p = 0; p < v->n_pos; p++) {
        char name[32];
        if (save_all) snprintf(name, sizeof name, "token_%d", v->position[p]);
        key(o, &na, save_all ? name : "last_token", depth + 1);
        const char *piece = save_all ? results_piece(o->r, v->token_id[p]) : NULL;
        jw_features(o->w, v->ids + (size_t)p * (size_t)v->k, v->act + (size_t)p * (size_t)v->k, v->k, v->n_active[p],
                    save_all, piece, o->indent, depth + 2);
    }
    close_obj(o, na, depth + 1);
    key(o, &n, "answer_start_position", depth);
    jw_int(o->w, v->answer_start);
    key(o, &n, "total_tokens", depth);
    jw_int(o->w, v->total_tokens);
    key(o, &n, "status", depth);
    jw_string(o->w, "success", 7);
    close_obj(o, n, depth);
}

/* "layer_L": {...} of sample i, layer index l, at depth. */
static saex_status write_layer(writer *o, int64_t i, int l, int depth) {
    saex_sample_view v;
    saex_status st = saex_results_sample(o->r, i, l, &v);
    if (st) return st;
    if (v.status == SAEX_SAMPLE_OK) write_success(o, &v, depth);
    else write_error(o, &v, depth);
    return SAEX_OK;
}

static int has_results(const writer *o, int64_t i) {
    if (!o->r->p.in_run[i]) return 0;
    if (o->r->st || o->r->p.reason[i]) return 1;
    return o->r->mem[o->r->p.batch[i]] != NULL; /* memory results of an interrupted run: partial */
}

/* ------------------------------------------------------------ merging */

static int our_layer(const writer *o, const char *k) {
    for (int l = 0; l < o->r->info.n_layers; l++) {
        char name[32];
        snprintf(name, sizeof name, "layer_%d", o->r->info.layers[l]);
        if (strcmp(name, k) == 0) return l;
    }
    return -1;
}

/* The "sae_activations" object: the old one's other layers in place, ours
 * replacing or following them. */
static saex_status write_activations(writer *o, int64_t i, json_t *old, int depth) {
    int n = 0, done[SAEX_MAX_LAYERS] = {0};
    saex_status st = SAEX_OK;
    jw_raw(o->w, "{", 1);
    const char *k;
    json_t *v;
    if (json_is_object(old)) json_object_foreach(old, k, v) {
        int l = our_layer(o, k);
        key(o, &n, k, depth);
        if (l < 0) {
            jw_value(o->w, v, o->indent, depth + 1);
        } else {
            done[l] = 1;
            if ((st = write_layer(o, i, l, depth + 1))) return st;
        }
    }
    for (int l = 0; l < o->r->info.n_layers && !st; l++) {
        if (done[l]) continue;
        char name[32];
        snprintf(name, sizeof name, "layer_%d", o->r->info.layers[l]);
        key(o, &n, name, depth);
        st = write_layer(o, i, l, depth + 1);
    }
    close_obj(o, n, depth);
    return st;
}

static saex_status write_variation(writer *o, json_t *var, int depth) {
    int64_t i = o->next++;
    if (!has_results(o, i)) {
        jw_value(o->w, var, o->indent, depth);
        return SAEX_OK;
    }
    int n = 0, merged = 0;
    saex_status st = SAEX_OK;
    jw_raw(o->w, "{", 1);
    const char *k;
    json_t *v;
    json_object_foreach(var, k, v) {
        key(o, &n, k, depth);
        if (strcmp(k, "sae_activations") == 0) {
            merged = 1;
            if ((st = write_activations(o, i, v, depth + 1))) return st;
        } else {
            jw_value(o->w, v, o->indent, depth + 1);
        }
    }
    if (!merged) {
        key(o, &n, "sae_activations", depth);
        st = write_activations(o, i, NULL, depth + 1);
    }
    close_obj(o, n, depth);
    return st;
}

/* ------------------------------------------------------------ metadata */

static const char *tokenization(const plan *p) {
    const char *mode = NULL;
    for (int64_t i = 0; i < p->n; i++) {
        if (!p->in_run[i] || p->mode[i] == TOK_NONE) continue;
        const char *m = tok_mode_name((tok_mode)p->mode[i]);
        if (!mode) mode = m;
        else if (strcmp(mode, m) != 0) return "mixed";
    }
    return mode ? mode : "none";
}

/* Our layers' metadata with "tokenization" after "chat_template", merged
 * into the old metadata object (may be NULL). New reference. */
static json_t *merged_metadata(const saex_results *r, json_t *old) {
    json_t *out = json_is_object(old) ? json_deep_copy(old) : json_object();
    const char *layer;
    json_t *m;
    json_object_foreach(r->info.metadata, layer, m) {
        json_t *e = json_object();
        const char *k;
        json_t *v;
        json_object_foreach(m, k, v) {
            json_object_set(e, k, v);
            if (strcmp(k, "chat_template") == 0) json_object_set_new(e, "tokenization", json_string(tokenization(&r->p)));
        }
        json_object_set_new(out, layer, e); /* replaces in place, or appends */
    }
    return out;
}

/* ------------------------------------------------------------ documents */

static saex_status write_result(writer *o, json_t *res, int depth) {
    int n = 0;
    saex_status st = SAEX_OK;
    jw_raw(o->w, "{", 1);
    const char *k;
    json_t *v;
    json_object_foreach(res, k, v) {
        key(o, &n, k, depth);
        if (strcmp(k, "variations") != 0) {
            jw_value(o->w, v, o->indent, depth + 1);
            continue;
        }
        size_t nv = json_array_size(v);
        jw_raw(o->w, "[", 1);
        for (size_t j = 0; j < nv && !st; j++) {
            jw_newline(o->w, o->indent, depth + 2);
            st = write_variation(o, json_array_get(v, j), depth + 2);
            if (j + 1 < nv) jw_raw(o->w, ",", 1);
        }
        if (nv) jw_newline(o->w, o->indent, depth + 1); /* an empty list prints as [] */
        jw_raw(o->w, "]", 1);
    }
    close_obj(o, n, depth);
    return st;
}

static saex_status write_results_form(writer *o) {
    json_t *root = o->d->root;
    json_t *meta = merged_metadata(o->r, json_object_get(root, "sae_extraction_metadata"));
    int n = 0, wrote_meta = 0;
    saex_status st = SAEX_OK;
    jw_raw(o->w, "{", 1);
    const char *k;
    json_t *v;
    json_object_foreach(root, k, v) {
        key(o, &n, k, 0);
        if (strcmp(k, "sae_extraction_metadata") == 0) {
            jw_value(o->w, meta, o->indent, 1);
            wrote_meta = 1;
        } else if (strcmp(k, "results") == 0) {
            size_t nr = json_array_size(v);
            jw_raw(o->w, "[", 1);
            for (size_t r = 0; r < nr && !st; r++) {
                jw_newline(o->w, o->indent, 2);
                st = write_result(o, json_array_get(v, r), 2);
                if (r + 1 < nr) jw_raw(o->w, ",", 1);
            }
            if (nr) jw_newline(o->w, o->indent, 1);
            jw_raw(o->w, "]", 1);
        } else {
            jw_value(o->w, v, o->indent, 1);
        }
    }
    if (!wrote_meta) {
        key(o, &n, "sae_extraction_metadata", 0);
        jw_value(o->w, meta, o->indent, 1);
    }
    close_obj(o, n, 0);
    jw_raw(o->w, "\n", 1);
    json_decref(meta);
    return st;
}

static saex_status write_list_form(writer *o) {
    size_t n = json_array_size(o->d->root);
    saex_status st = SAEX_OK;
    jw_raw(o->w, "[", 1);
    for (size_t i = 0; i < n && !st; i++) {
        jw_newline(o->w, o->indent, 1);
        st = write_variation(o, json_array_get(o->d->root, i), 1);
        if (i + 1 < n) jw_raw(o->w, ",", 1);
    }
    if (n) jw_newline(o->w, o->indent, 0);
    jw_raw(o->w, "]\n", 2);
    return st;
}

static saex_status write_jsonl_form(writer *o) {
    size_t n = json_array_size(o->d->root);
    saex_status st = SAEX_OK;
    for (size_t i = 0; i < n && !st; i++) {
        st = write_variation(o, json_array_get(o->d->root, i), 0);
        jw_raw(o->w, "\n", 1);
    }
    return st;
}

static saex_status write_doc(const saex_doc *d, saex_results *r, int fd, const char *name) {
    jw w;
    jw_init_fd(&w, fd);
    writer o = {&w, d->form == SAEX_FORM_JSONL ? 0 : 2, d, r, 0};
    saex_status st = d->form == SAEX_FORM_RESULTS ? write_results_form(&o)
                     : d->form == SAEX_FORM_LIST  ? write_list_form(&o)
                                                  : write_jsonl_form(&o);
    int err = jw_finish(&w);
    if (!st && err) st = saex_fail(SAEX_ERR_IO, "writing %s: %s", name, strerror(err));
    return st;
}

static saex_status write_sidecar(const saex_doc *d, saex_results *r, tempfile *f) {
    json_t *side = json_object();
    json_object_set_new(side, "input_form", json_string(saex_doc_form_name(d->form)));
    json_object_set_new(side, "sae_extraction_metadata", merged_metadata(r, d->prior_meta));
    jw w;
    jw_init_fd(&w, f->fd);
    jw_value(&w, side, 2, 0);
    jw_raw(&w, "\n", 1);
    int err = jw_finish(&w);
    json_decref(side);
    return err ? saex_fail(SAEX_ERR_IO, "writing %s: %s", f->path, strerror(err)) : SAEX_OK;
}

/* ------------------------------------------------------------ checks */

static saex_status check_complete(const saex_doc *d, saex_results *r) {
    if (!r->bound) return saex_fail(SAEX_ERR_ARG, "no run has been made into these results yet");
    if (r->p.n != d->n) return saex_fail(SAEX_ERR_MISMATCH, "the results are for a document of %lld samples; %s has %lld",
                                         (long long)r->p.n, d->name, (long long)d->n);
    if (!r->st) return SAEX_OK;
    const char *sha = json_string_value(json_object_get(json_object_get(r->st->manifest, "input"), "sha256"));
    if (!sha || strcmp(sha, d->sha256) != 0)
        return saex_fail(SAEX_ERR_MISMATCH, "run store %s was made from another input than %s (sha256 differs)", r->st->dir, d->name);
    char list[1024] = "";
    size_t len = 0;
    for (int s = 0; s < r->p.n_shards; s++) {
        saex_shard_status ss;
        saex_results_shard_status(r, s, &ss);
        if (ss.batches_done == ss.batches) continue;
        len += (size_t)snprintf(list + len, len < sizeof list ? sizeof list - len : 0, "\n    shard %d of %d: %lld of %lld batches%s",
                                s, r->p.n_shards, (long long)ss.batches_done, (long long)ss.batches,
                                ss.running ? " (running)" : ss.batches_done ? " (incomplete)" : " (missing)");
    }
    if (len) return saex_fail(SAEX_ERR_NOT_FOUND, "run store %s is not complete:%s", r->st->dir, list);
    return SAEX_OK;
}

/* ------------------------------------------------------------ names */

static int exists(const char *p) {
    struct stat sb;
    return lstat(p, &sb) == 0;
}

/* NAME.EXT -> NAME_k.EXT */
static char *numbered(const char *path, int k) {
    const char *slash = strrchr(path, '/'), *dot = strrchr(path, '.');
    if (!dot || (slash && dot < slash) || dot == (slash ? slash + 1 : path)) dot = path + strlen(path);
    size_t n = strlen(path) + 16;
    char *out = malloc(n);
    if (out) snprintf(out, n, "%.*s_%d%s", (int)(dot - path), path, k, dot);
    return out;
}

static char *meta_name(const char *path) {
    size_t n = strlen(path) + 11;
    char *p = malloc(n);
    if (p) snprintf(p, n, "%s.meta.json", path);
    return p;
}

/* Commits the output (and its sidecar) under path, or with unique under
 * the first NAME_k.EXT where neither exists yet. Sidecar first: an output
 * never appears without its metadata. */
static saex_status commit(tempfile *out, tempfile *side, const char *path, int unique, char **written) {
    for (int k = 1; k < 10000; k++) {
        char *name = k == 1 ? strdup(path) : numbered(path, k), *mname = side->tmp ? meta_name(name) : NULL;
        if (!name || (side->tmp && !mname)) {
            free(name), free(mname);
            return saex_fail(SAEX_ERR_NOMEM, "out of memory");
        }
        if (unique && (exists(name) || (mname && exists(mname)))) {
            free(name), free(mname);
            continue;
        }
        int flags = unique ? TEMPFILE_NO_REPLACE : 0;
        saex_status st = mname ? tempfile_commit_as(side, mname, flags) : SAEX_OK;
        if (!st) st = tempfile_commit_as(out, name, flags);
        if (st == SAEX_ERR_CONFLICT && unique) { /* taken in between: the sidecar stays with its output */
            if (mname) unlink(mname);
            free(name), free(mname);
            continue;
        }
        free(mname);
        if (!st && written) *written = name;
        else free(name);
        return st;
    }
    return saex_fail(SAEX_ERR_IO, "%s: no free name among 10000 numbered ones", path);
}

static void sweep_for(const char *path) {
    char *c = strdup(path);
    if (!c) return;
    const char *slash = strrchr(c, '/');
    if (slash) c[slash - c] = '\0';
    tempfile_sweep(slash ? (c[0] ? c : "/") : ".", slash ? slash + 1 : c);
    free(c);
}

saex_status output_prepare(const saex_doc *d, saex_results *r, json_t **metadata) {
    *metadata = NULL;
    saex_status st = check_complete(d, r);
    if (st) return st;
    json_t *old = d->form == SAEX_FORM_RESULTS ? json_object_get(d->root, "sae_extraction_metadata") : d->prior_meta;
    *metadata = merged_metadata(r, old);
    return *metadata ? SAEX_OK : saex_fail(SAEX_ERR_NOMEM, "out of memory");
}

saex_status saex_write_output(const saex_doc *d, saex_results *r, const char *path, int flags, char **written) {
    if (written) *written = NULL;
    saex_status st = check_complete(d, r);
    if (st) return st;
    if (strcmp(path, "-") == 0) {
        st = write_doc(d, r, 1, "<stdout>");
        if (!st && written) *written = strdup("-");
        return st;
    }
    sweep_for(path); /* temp files of an earlier run of this output, killed with -9 */
    tempfile out, side;
    memset(&side, 0, sizeof side);
    side.fd = side.slot = -1;
    if ((st = tempfile_open(&out, path, "output"))) return st;
    if (d->form != SAEX_FORM_RESULTS) {
        char *m = meta_name(path);
        st = m ? tempfile_open(&side, m, "output metadata") : saex_fail(SAEX_ERR_NOMEM, "out of memory");
        free(m);
    }
    if (!st) st = write_doc(d, r, out.fd, path);
    if (!st && side.tmp) st = write_sidecar(d, r, &side);
    if (!st) st = commit(&out, &side, path, flags & SAEX_WRITE_UNIQUE, written);
    tempfile_abort(&out);
    tempfile_abort(&side);
    return st;
}

saex_status saex_results_sample_json(saex_results *r, int64_t i, int l, char **json, size_t *len) {
    *json = NULL;
    jw w;
    jw_init_mem(&w);
    writer o = {&w, 0, NULL, r, i};
    saex_status st = write_layer(&o, i, l, 0);
    size_t n = 0;
    char *text = jw_take(&w, &n);
    if (!st && !text) st = saex_fail(SAEX_ERR_NOMEM, "out of memory");
    if (st) {
        free(text);
        return st;
    }
    *json = text;
    if (len) *len = n;
    return SAEX_OK;
}
