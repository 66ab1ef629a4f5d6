/* dataset.c — collects one scan of a source into per-layer sparse rows. */
#include "analysis/dataset.h"
#include "analysis/grow.h"

#include <stdlib.h>
#include <string.h>

#include "error.h"

enum { SNIPPET_BYTES = 240 };

/* ---------------------------------------------------------------- strtab */

static uint32_t hash(const char *s) {
    uint32_t h = 2166136261u; /* FNV-1a */
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 16777619u;
    return h;
}

int32_t strtab_find(const strtab *t, const char *s) {
    if (!t->n_slots) return -1;
    for (uint32_t i = hash(s) & (uint32_t)(t->n_slots - 1);; i = (i + 1) & (uint32_t)(t->n_slots - 1)) {
        int32_t k = t->slot[i];
        if (!k) return -1;
        if (!strcmp(t->str[k - 1], s)) return k - 1;
    }
}

static int strtab_rehash(strtab *t, int32_t n_slots) {
    int32_t *slot = calloc((size_t)n_slots, sizeof *slot);
    if (!slot) return -1;
    for (int32_t k = 0; k < t->n; k++) {
        uint32_t i = hash(t->str[k]) & (uint32_t)(n_slots - 1);
        while (slot[i]) i = (i + 1) & (uint32_t)(n_slots - 1);
        slot[i] = k + 1;
    }
    free(t->slot);
    t->slot = slot, t->n_slots = n_slots;
    return 0;
}

/* Index of s, added when new; -1 when memory runs out. */
static int32_t strtab_add(strtab *t, const char *s) {
    int32_t k = strtab_find(t, s);
    if (k >= 0) return k;
    if ((t->n + 1) * 2 > t->n_slots && strtab_rehash(t, t->n_slots ? t->n_slots * 2 : 64)) return -1;
    if (t->n == t->cap) {
        int32_t cap = t->cap ? t->cap * 2 : 16;
        char **p = realloc(t->str, (size_t)cap * sizeof *p);
        if (!p) return -1;
        t->str = p, t->cap = cap;
    }
    if (!(t->str[t->n] = strdup(s))) return -1;
    uint32_t i = hash(s) & (uint32_t)(t->n_slots - 1);
    while (t->slot[i]) i = (i + 1) & (uint32_t)(t->n_slots - 1);
    t->slot[i] = ++t->n;
    return t->n - 1;
}

static void strtab_free(strtab *t) {
    for (int32_t i = 0; i < t->n; i++) free(t->str[i]);
    free(t->str), free(t->slot);
    memset(t, 0, sizeof *t);
}

/* ------------------------------------------------------------- growing */

/* The per-sample arrays grow together. */
static int grow_samples(an_dataset *ds, int64_t need) {
    if (need <= ds->cap) return 0;
    int64_t c = ds->cap ? ds->cap * 2 : 256;
    void *p;
    if (!(p = realloc(ds->cond, (size_t)c * sizeof *ds->cond))) return -1;
    ds->cond = p;
    if (!(p = realloc(ds->pair, (size_t)c * sizeof *ds->pair))) return -1;
    ds->pair = p;
    if (!(p = realloc(ds->label, (size_t)c * sizeof *ds->label))) return -1;
    ds->label = p;
    if (!(p = realloc(ds->snippet, (size_t)c * sizeof *ds->snippet))) return -1;
    ds->snippet = p;
    ds->cap = c;
    return 0;
}

/* A layer's id and act arrays grow together. */
static int grow_nnz(ds_layer *l, int64_t need) {
    if (need <= l->cap_nnz) return 0;
    int64_t c = l->cap_nnz ? l->cap_nnz : 4096;
    while (c < need) c *= 2;
    void *p;
    if (!(p = realloc(l->id, (size_t)c * sizeof *l->id))) return -1;
    l->id = p;
    if (!(p = realloc(l->act, (size_t)c * sizeof *l->act))) return -1;
    l->act = p;
    l->cap_nnz = c;
    return 0;
}

/* A copy of the prompt's first bytes, cut at a UTF-8 character boundary. */
static char *snippet_of(const char *prompt) {
    size_t n = strlen(prompt);
    if (n > SNIPPET_BYTES) {
        n = SNIPPET_BYTES;
        while (n > 0 && ((unsigned char)prompt[n] & 0xC0) == 0x80) n--;
    }
    char *s = malloc(n + 4);
    if (!s) return NULL;
    memcpy(s, prompt, n);
    strcpy(s + n, n < strlen(prompt) ? "\xE2\x80\xA6" : ""); /* "…" */
    return s;
}

/* ------------------------------------------------------------ collecting */

static ds_layer *layer_for(an_dataset *ds, int layer) {
    for (int i = 0; i < ds->n_layers; i++)
        if (ds->layers[i].layer == layer) return &ds->layers[i];
    ds_layer *p = realloc(ds->layers, (size_t)(ds->n_layers + 1) * sizeof *p);
    if (!p) return NULL;
    ds->layers = p;
    /* Keep the layers ascending: shift the larger ones up. */
    int at = ds->n_layers;
    while (at > 0 && ds->layers[at - 1].layer > layer) at--;
    memmove(&ds->layers[at + 1], &ds->layers[at], (size_t)(ds->n_layers - at) * sizeof *p);
    ds->n_layers++;
    ds_layer *l = &ds->layers[at];
    memset(l, 0, sizeof *l);
    l->layer = layer;
    l->max_id = -1;
    /* The samples before this one did not have it. */
    if (an_grow((void **)&l->status, &l->cap_status, ds->n + 1, 1) ||
        an_grow((void **)&l->off, &l->cap_off, ds->n + 2, sizeof *l->off))
        return NULL;
    memset(l->status, AN_ABSENT, (size_t)ds->n);
    memset(l->off, 0, (size_t)(ds->n + 1) * sizeof *l->off);
    l->n_absent = ds->n;
    return l;
}

static void note_seen(an_dataset *ds, int layer) {
    for (int i = 0; i < ds->n_seen; i++)
        if (ds->seen[i] == layer) return;
    if (ds->n_seen < SAEX_MAX_LAYERS) ds->seen[ds->n_seen++] = layer;
}

static saex_status add_sample(void *ctx, const an_sample *s) {
    an_dataset *ds = ctx;
    int64_t i = ds->n;
    if (grow_samples(ds, i + 1)) goto oom;
    ds->cond[i] = s->group ? strtab_add(&ds->conds, s->group) : -1;
    ds->pair[i] = s->pair ? strtab_add(&ds->pairs, s->pair) : -1;
    ds->label[i] = strdup(s->label);
    ds->snippet[i] = ds->keep_snippets && s->prompt ? snippet_of(s->prompt) : NULL;
    if ((s->group && ds->cond[i] < 0) || (s->pair && ds->pair[i] < 0) || !ds->label[i]) goto oom;
    if (!s->group) ds->n_unlabelled++;
    if (s->pair) ds->n_with_pair++;
    for (int k = 0; k < s->n_layers; k++) {
        note_seen(ds, s->layer[k].layer);
        if ((ds->only_layer < 0 || s->layer[k].layer == ds->only_layer) && !layer_for(ds, s->layer[k].layer)) goto oom;
    }
    for (int j = 0; j < ds->n_layers; j++) {
        ds_layer *l = &ds->layers[j];
        const an_layer *in = NULL;
        for (int k = 0; k < s->n_layers; k++)
            if (s->layer[k].layer == l->layer) in = &s->layer[k];
        an_status st = in ? in->status : AN_ABSENT;
        int n = st == AN_OK ? in->n : 0;
        if (an_grow((void **)&l->status, &l->cap_status, i + 1, 1) ||
            an_grow((void **)&l->off, &l->cap_off, i + 2, sizeof *l->off))
            goto oom;
        int64_t nnz = l->off[i];
        if (grow_nnz(l, nnz + n)) goto oom;
        if (n) {
            memcpy(l->id + nnz, in->id, (size_t)n * sizeof *l->id);
            memcpy(l->act + nnz, in->act, (size_t)n * sizeof *l->act);
            if (in->id[n - 1] > l->max_id) l->max_id = in->id[n - 1];
        }
        l->status[i] = (unsigned char)st;
        l->off[i + 1] = nnz + n;
        l->n_failed += st == AN_FAILED;
        l->n_absent += st == AN_ABSENT;
        l->n_no_positions += st == AN_NO_POSITIONS;
    }
    ds->n++;
    return SAEX_OK;
oom:
    return saex_fail(SAEX_ERR_NOMEM, "out of memory after %lld samples", (long long)i);
}

saex_status an_dataset_collect(an_source *src, const an_request *req, an_dataset *ds) {
    return src->scan(src, req, add_sample, ds);
}

void an_dataset_free(an_dataset *ds) {
    for (int64_t i = 0; i < ds->n; i++) free(ds->label[i]), free(ds->snippet[i]);
    free(ds->cond), free(ds->pair), free(ds->label), free(ds->snippet);
    strtab_free(&ds->conds);
    strtab_free(&ds->pairs);
    for (int i = 0; i < ds->n_layers; i++) {
        ds_layer *l = &ds->layers[i];
        free(l->status), free(l->off), free(l->id), free(l->act);
    }
    free(ds->layers);
    memset(ds, 0, sizeof *ds);
}

int ds_columns_build(const ds_layer *l, int64_t n, ds_columns *c) {
    memset(c, 0, sizeof *c);
    c->n_features = l->max_id + 1;
    c->ptr = calloc((size_t)c->n_features + 1, sizeof *c->ptr);
    int64_t nnz = l->off[n];
    c->sample = malloc((size_t)(nnz ? nnz : 1) * sizeof *c->sample);
    c->act = malloc((size_t)(nnz ? nnz : 1) * sizeof *c->act);
    if (!c->ptr || !c->sample || !c->act) return -1;
    for (int64_t k = 0; k < nnz; k++) c->ptr[l->id[k] + 1]++;
    for (int32_t f = 0; f < c->n_features; f++) c->ptr[f + 1] += c->ptr[f];
    int64_t *fill = malloc((size_t)(c->n_features ? c->n_features : 1) * sizeof *fill);
    if (!fill) return -1;
    memcpy(fill, c->ptr, (size_t)c->n_features * sizeof *fill);
    for (int64_t i = 0; i < n; i++)
        for (int64_t k = l->off[i]; k < l->off[i + 1]; k++) {
            int64_t at = fill[l->id[k]]++;
            c->sample[at] = i, c->act[at] = l->act[k];
        }
    free(fill);
    return 0;
}

void ds_columns_free(ds_columns *c) { free(c->ptr), free(c->sample), free(c->act); }
