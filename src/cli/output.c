/* output.c — building the output JSON and writing it (json_write.c). */
#include "output.h"
#include "args.h"
#include "json_write.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>


/* var["sae_activations"], created at the end of the object if absent. */
static json_t *activations_root(json_t *var) {
    json_t *a = json_object_get(var, "sae_activations");
    if (!json_is_object(a)) {
        a = json_object();
        json_object_set_new(var, "sae_activations", a);
    }
    return a;
}

static json_t *features_json(const saex_feature *f, int k, int32_t n_active) {
    json_t *o = json_object(), *list = json_array();
    for (int i = 0; i < k && f[i].id >= 0; i++) {
        json_t *e = json_object();
        json_object_set_new(e, "id", json_integer(f[i].id));
        json_object_set_new(e, "activation", json_float32(f[i].activation));
        json_array_append_new(list, e);
    }
    json_object_set_new(o, "top_k_features", list);
    json_object_set_new(o, "num_active_features", json_integer(n_active));
    return o;
}

int output_on_result(void *ctx, sample *s, int li, pos_range r, const saex_feature *f, const int32_t *n_active) {
    const output_ctx *c = ctx;
    char key[32];
    snprintf(key, sizeof key, "layer_%d", c->layers[li]);
    json_t *acts = json_object();
    for (int p = 0; p < r.count; p++) {
        int pos = r.first + p;
        json_t *e = features_json(f + (size_t)p * (size_t)c->top_k, c->top_k, n_active[p]);
        if (c->save_all) {
            const char *piece = saex_token_piece(c->tok, s->ids[pos]);
            json_t *t = piece ? json_string(piece) : NULL;
            json_object_set_new(e, "token", t ? t : json_null());
            char tk[32];
            snprintf(tk, sizeof tk, "token_%d", pos);
            json_object_set_new(acts, tk, e);
        } else {
            json_object_set_new(acts, "last_token", e);
        }
        if (pos == s->prompt_len - 1) { /* keep the summary's top features */
            if (!s->top) s->top = calloc((size_t)c->n_layers * SUMMARY_K, sizeof *s->top);
            if (!s->top) return -1;
            for (int i = 0; i < SUMMARY_K; i++) {
                saex_feature none = {-1, 0.0f};
                s->top[li * SUMMARY_K + i] = i < c->top_k ? f[(size_t)p * (size_t)c->top_k + i] : none;
            }
        }
    }
    json_t *layer = json_object();
    json_object_set_new(layer, "activations", acts);
    json_object_set_new(layer, "answer_start_position", json_integer(s->prompt_len));
    json_object_set_new(layer, "total_tokens", json_integer(s->n_ids));
    json_object_set_new(layer, "status", json_string("ok"));
    json_object_set_new(activations_root(s->var), key, layer);
    return 0;
}

void output_mark_errors(input_doc *doc, const output_ctx *c) {
    for (int i = 0; i < doc->n; i++) {
        sample *s = &doc->s[i];
        if (!s->reason) continue;
        json_t *root = activations_root(s->var);
        for (int l = 0; l < c->n_layers; l++) {
            char key[32];
            snprintf(key, sizeof key, "layer_%d", c->layers[l]);
            json_t *layer = json_object();
            if (s->ids) {
                json_object_set_new(layer, "answer_start_position", json_integer(s->prompt_len));
                json_object_set_new(layer, "total_tokens", json_integer(s->n_ids));
            }
            json_object_set_new(layer, "status", json_string("error"));
            json_t *reason = json_string(s->reason);
            json_object_set_new(layer, "reason", reason ? reason : json_string("(reason is not valid UTF-8)"));
            json_object_set_new(root, key, layer);
        }
    }
}

char *output_meta_path(const char *output) { return strfmt("%s.meta.json", output); }

/* Streams the value (JSON Lines: each element of the array, one per line)
 * into f's temp file through stdio on a dup of its descriptor; atomic_commit
 * then fsyncs and renames the descriptor itself. */
static int write_doc(json_t *v, int jsonl, atomic_file *f) {
    int fd = dup(f->fd);
    FILE *fp = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (!fp) {
        cli_error("writing %s: %s", f->path, strerror(errno));
        if (fd >= 0) close(fd);
        atomic_abort(f);
        return -1;
    }
    errno = 0;
    int bad = 0;
    if (jsonl) {
        for (size_t i = 0; i < json_array_size(v) && !bad; i++)
            bad = json_write(fp, json_array_get(v, i), 0) || putc('\n', fp) == EOF;
    } else {
        bad = json_write(fp, v, 2) || putc('\n', fp) == EOF;
    }
    bad = bad || fflush(fp) != 0 || ferror(fp);
    int err = errno;
    if (fclose(fp) != 0 && !bad) {
        bad = 1;
        err = errno;
    }
    if (bad) {
        cli_error("writing %s: %s", f->path, strerror(err ? err : EIO));
        atomic_abort(f);
        return -1;
    }
    return 0;
}

int output_write(input_doc *doc, json_t *metadata, atomic_file *out, atomic_file *meta) {
    if (doc->form == FORM_RESULTS) {
        json_t *m = json_object_get(doc->root, "sae_extraction_metadata");
        if (!json_is_object(m)) {
            m = json_object();
            json_object_set_new(doc->root, "sae_extraction_metadata", m);
        }
        json_object_update(m, metadata); /* replaces same-layer entries, keeps others */
        return write_doc(doc->root, 0, out);
    }
    if (write_doc(doc->root, doc->form == FORM_JSONL, out)) return -1;
    json_t *side = json_object();
    json_object_set_new(side, "input_form", json_string(input_form_name(doc->form)));
    json_object_set(side, "sae_extraction_metadata", metadata);
    int rc = write_doc(side, 0, meta);
    json_decref(side);
    if (rc) atomic_abort(out);
    return rc;
}
