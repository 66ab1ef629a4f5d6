/* shards.c — which shards of a sharded checkpoint a run needs: those
 * holding the embedding or a block 0..max_layer, by the index's weight_map
 * (the same rule the loader uses: gemma2_tensor_needed). */
#include "config.h"
#include "error.h"
#include "hub.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

static int has(char **names, int n, const char *name) {
    for (int i = 0; i < n; i++)
        if (strcmp(names[i], name) == 0) return 1;
    return 0;
}

/* Appends a copy of name to the list (which has room for it). */
static int add(char **names, int *n, const char *name) {
    if (has(names, *n, name)) return 1;
    names[*n] = strdup(name);
    return names[(*n)++] != NULL;
}

void hub_shards_free(hub_shards *s) {
    for (int i = 0; i < s->n_need; i++) free(s->need[i]);
    for (int i = 0; i < s->n_skip; i++) free(s->skip[i]);
    free(s->need);
    free(s->skip);
    memset(s, 0, sizeof *s);
}

/* A shard name is a file beside the index: no folder, nothing absolute. */
static int plain_name(const char *s) { return *s && !strchr(s, '/') && strcmp(s, ".") && strcmp(s, ".."); }

saex_status hub_select_shards(const char *name, const char *json, size_t len, int max_layer, hub_shards *out) {
    memset(out, 0, sizeof *out);
    json_error_t jerr;
    json_t *root = json_loadb(json, len, 0, &jerr);
    if (!root) return saex_fail(SAEX_ERR_FORMAT, "%s: not valid JSON (line %d: %s)", name, jerr.line, jerr.text);
    json_t *wm = json_object_get(root, "weight_map");
    saex_status st = SAEX_OK;
    if (!json_is_object(wm) || json_object_size(wm) == 0) {
        st = saex_fail(SAEX_ERR_FORMAT, "%s: \"weight_map\" missing, empty or not an object", name);
        goto done;
    }
    size_t n = json_object_size(wm);
    out->need = calloc(n, sizeof *out->need);
    out->skip = calloc(n, sizeof *out->skip);
    if (!out->need || !out->skip) {
        st = saex_fail(SAEX_ERR_NOMEM, "out of memory");
        goto done;
    }
    const char *tensor;
    json_t *v;
    json_object_foreach(wm, tensor, v) {
        const char *shard = json_string_value(v);
        if (!shard || !plain_name(shard)) {
            st = saex_fail(SAEX_ERR_FORMAT, "%s: weight_map entry of tensor '%s' is not a file name beside the index",
                           name, tensor);
            goto done;
        }
        if (gemma2_tensor_needed(tensor, max_layer) && !add(out->need, &out->n_need, shard)) {
            st = saex_fail(SAEX_ERR_NOMEM, "out of memory");
            goto done;
        }
    }
    json_object_foreach(wm, tensor, v) {
        const char *shard = json_string_value(v);
        if (!has(out->need, out->n_need, shard) && !add(out->skip, &out->n_skip, shard)) {
            st = saex_fail(SAEX_ERR_NOMEM, "out of memory");
            goto done;
        }
    }
done:
    json_decref(root);
    if (st) hub_shards_free(out);
    return st;
}
