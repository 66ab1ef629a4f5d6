/* output.c — building and serializing the output JSON. */
#include "output.h"
#include "args.h"

#include <stdlib.h>
#include <string.h>

#define DUMP_FLAGS (JSON_REAL_PRECISION(9)) /* 9 significant digits round-trip every float32 */

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
        json_object_set_new(e, "activation", json_real((double)f[i].activation));
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

/* json_dump_callback sink: buffers, then atomic_write. */
typedef struct {
    atomic_file *f;
    char *buf;
    size_t len, cap;
    int failed;
} sink;

static int sink_flush(sink *s) {
    if (s->failed) return -1;
    if (s->len && atomic_write(s->f, s->buf, s->len)) s->failed = 1;
    s->len = 0;
    return s->failed ? -1 : 0;
}

static int sink_put(const char *data, size_t n, void *ud) {
    sink *s = ud;
    if (s->failed) return -1;
    if (s->len + n > s->cap && sink_flush(s)) return -1;
    if (n > s->cap) return atomic_write(s->f, data, n) ? (s->failed = 1, -1) : 0;
    memcpy(s->buf + s->len, data, n);
    s->len += n;
    return 0;
}

static int dump_doc(json_t *v, size_t flags, atomic_file *f, int newline) {
    sink s = {f, malloc(1 << 20), 0, 1 << 20, 0};
    if (!s.buf) {
        cli_error("out of memory writing %s", f->path);
        atomic_abort(f);
        return -1;
    }
    int rc = json_dump_callback(v, sink_put, &s, flags);
    if (rc == 0 && newline) rc = sink_put("\n", 1, &s);
    if (rc == 0) rc = sink_flush(&s);
    free(s.buf);
    if (rc != 0) {
        if (!s.failed) { /* jansson itself refused (e.g. invalid UTF-8 in a key) */
            cli_error("cannot serialize the output %s", f->path);
            atomic_abort(f);
        }
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
        return dump_doc(doc->root, JSON_INDENT(2) | DUMP_FLAGS, out, 1);
    }
    if (doc->form == FORM_LIST) {
        if (dump_doc(doc->root, JSON_INDENT(2) | DUMP_FLAGS, out, 1)) return -1;
    } else {
        for (size_t i = 0; i < json_array_size(doc->root); i++)
            if (dump_doc(json_array_get(doc->root, i), JSON_COMPACT | DUMP_FLAGS, out, 1)) return -1;
    }
    json_t *side = json_object();
    json_object_set_new(side, "input_form", json_string(input_form_name(doc->form)));
    json_object_set(side, "sae_extraction_metadata", metadata);
    int rc = dump_doc(side, JSON_INDENT(2) | DUMP_FLAGS, meta, 1);
    json_decref(side);
    if (rc) atomic_abort(out);
    return rc;
}
