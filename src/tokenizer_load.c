/* tokenizer_load.c — reads a Hugging Face tokenizer.json into a saex_tokenizer.
 *
 * Supported: the SentencePiece-style BPE family (Gemma, Llama 2): normalizer
 * Replace / Prepend (or a Sequence of them), no pre-tokenizer or literal
 * Split, BPE with byte fallback, TemplateProcessing, decoders Replace /
 * ByteFallback / Fuse / Strip. Other kinds are refused with
 * SAEX_ERR_UNSUPPORTED naming the kind; malformed files with
 * SAEX_ERR_FORMAT naming the file and the field. To add a model kind, add a
 * load_<kind>() next to load_bpe() and dispatch to it in load_model(). */
#include "error.h"
#include "tokenizer.h"
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* ------------------------------------------------------------------ arena */

typedef struct tok_block {
    struct tok_block *next;
    size_t used, cap;
    char data[];
} tok_block;

char *tok_arena_copy(saex_tokenizer *tok, const char *s, size_t n) {
    tok_block *b = tok->arena;
    if (!b || b->cap - b->used < n + 1) {
        size_t cap = n + 1 > (1u << 20) ? n + 1 : (1u << 20);
        tok_block *nb = malloc(sizeof *nb + cap);
        if (!nb) return NULL;
        nb->next = b;
        nb->used = 0;
        nb->cap = cap;
        tok->arena = b = nb;
    }
    char *p = b->data + b->used;
    if (n) memcpy(p, s, n);
    p[n] = 0;
    b->used += n + 1;
    return p;
}

void tok_arena_free(saex_tokenizer *tok) {
    tok_block *b = tok->arena;
    while (b) {
        tok_block *next = b->next;
        free(b);
        b = next;
    }
    tok->arena = NULL;
}

/* ------------------------------------------------------------------ maps */

uint64_t tok_hash(const char *s, size_t n) {
    uint64_t h = 0x9E3779B97F4A7C15ull ^ n;
    for (size_t i = 0; i < n; i++) h = (h ^ (uint8_t)s[i]) * 0x100000001B3ull;
    return h ^ (h >> 29);
}

int32_t tok_strmap_get(const tok_strmap *m, const tok_str *keys, const char *s, size_t n) {
    if (!m->cap) return -1;
    size_t mask = m->cap - 1;
    for (size_t i = tok_hash(s, n) & mask;; i = (i + 1) & mask) {
        uint32_t v = m->slot[i];
        if (!v) return -1;
        const tok_str *k = &keys[v - 1];
        if (k->n == n && memcmp(k->s, s, n) == 0) return (int32_t)(v - 1);
    }
}

int tok_strmap_put(tok_strmap *m, const tok_str *keys, int32_t id, int32_t *dup) {
    *dup = -1;
    size_t mask = m->cap - 1;
    const tok_str *key = &keys[id];
    for (size_t i = tok_hash(key->s, key->n) & mask;; i = (i + 1) & mask) {
        uint32_t v = m->slot[i];
        if (!v) {
            m->slot[i] = (uint32_t)id + 1;
            m->n++;
            return 0;
        }
        const tok_str *k = &keys[v - 1];
        if (k->n == key->n && memcmp(k->s, key->s, key->n) == 0) {
            *dup = (int32_t)(v - 1);
            return 0;
        }
    }
}

static size_t pair_slot(uint64_t key, size_t cap) { return (size_t)((key * 0x9E3779B97F4A7C15ull) >> 20) & (cap - 1); }

int tok_pairmap_put(tok_pairmap *m, uint32_t a, uint32_t b, uint32_t rank, uint32_t id) {
    uint64_t key = (((uint64_t)a << 32) | b) + 1;
    for (size_t i = pair_slot(key, m->cap);; i = (i + 1) & (m->cap - 1)) {
        if (m->key[i] == 0 || m->key[i] == key) {
            if (m->key[i] == 0) m->n++;
            m->key[i] = key; /* a repeated pair keeps the later rank, as HF's HashMap collect does */
            m->rank[i] = rank;
            m->id[i] = id;
            return 0;
        }
    }
}

int tok_pairmap_get(const tok_pairmap *m, uint32_t a, uint32_t b, uint32_t *rank, uint32_t *id) {
    if (!m->cap) return 0;
    uint64_t key = (((uint64_t)a << 32) | b) + 1;
    for (size_t i = pair_slot(key, m->cap);; i = (i + 1) & (m->cap - 1)) {
        uint64_t k = m->key[i];
        if (k == key) {
            *rank = m->rank[i];
            *id = m->id[i];
            return 1;
        }
        if (k == 0) return 0;
    }
}

static size_t pow2_at_least(size_t n) {
    size_t c = 16;
    while (c < n) c <<= 1;
    return c;
}

/* ------------------------------------------------------------------ JSON helpers */

typedef struct {
    const char *file;
    saex_tokenizer *tok;
} loader;

static saex_status bad(const loader *L, const char *field, const char *what) {
    return saex_fail(SAEX_ERR_FORMAT, "%s: %s: %s", L->file, field, what);
}

static saex_status nomem(const loader *L) { return saex_fail(SAEX_ERR_NOMEM, "%s: out of memory", L->file); }

/* A JSON string copied into the arena. */
static saex_status get_str(const loader *L, json_t *j, const char *field, tok_str *out) {
    if (!json_is_string(j)) return bad(L, field, "expected a string");
    size_t n = json_string_length(j);
    char *p = tok_arena_copy(L->tok, json_string_value(j), n);
    if (!p) return nomem(L);
    out->s = p;
    out->n = n;
    return SAEX_OK;
}

static int get_flag(json_t *obj, const char *key, int dflt, int *ok) {
    json_t *v = json_object_get(obj, key);
    if (!v || json_is_null(v)) return dflt;
    if (!json_is_boolean(v)) *ok = 0;
    return json_is_true(v);
}

static const char *type_of(json_t *obj) {
    json_t *t = json_object_get(obj, "type");
    return json_is_string(t) ? json_string_value(t) : NULL;
}

/* {"String": "..."} -> literal; {"Regex": ...} is a kind we do not run. */
static saex_status get_pattern(const loader *L, json_t *obj, const char *field, tok_str *out) {
    json_t *p = json_object_get(obj, "pattern");
    if (!json_is_object(p)) return bad(L, field, "pattern: expected an object {\"String\": ...}");
    json_t *s = json_object_get(p, "String");
    if (!s) {
        if (json_object_get(p, "Regex"))
            return saex_fail(SAEX_ERR_UNSUPPORTED, "%s: %s: regex patterns are not supported (only literal String patterns)",
                             L->file, field);
        return bad(L, field, "pattern: expected \"String\"");
    }
    saex_status st = get_str(L, s, field, out);
    if (st) return st;
    if (out->n == 0) return bad(L, field, "pattern: empty string");
    return SAEX_OK;
}

static json_t *member(json_t *obj, const char *key) { return json_is_object(obj) ? json_object_get(obj, key) : NULL; }

/* ------------------------------------------------------------------ normalizer */

static saex_status add_norm(const loader *L, json_t *n, const char *field, int depth) {
    saex_tokenizer *tok = L->tok;
    if (!n || json_is_null(n)) return SAEX_OK;
    if (!json_is_object(n)) return bad(L, field, "expected an object or null");
    if (depth > 8) return bad(L, field, "nested too deeply");
    const char *type = type_of(n);
    if (!type) return bad(L, field, "missing \"type\"");
    if (!strcmp(type, "Sequence")) {
        json_t *list = json_object_get(n, "normalizers");
        if (!json_is_array(list)) return bad(L, field, "normalizers: expected an array");
        for (size_t i = 0; i < json_array_size(list); i++) {
            saex_status st = add_norm(L, json_array_get(list, i), field, depth + 1);
            if (st) return st;
        }
        return SAEX_OK;
    }
    tok_norm_op op = {0};
    saex_status st;
    if (!strcmp(type, "Replace")) {
        op.kind = NORM_REPLACE;
        if ((st = get_pattern(L, n, field, &op.pattern))) return st;
        if ((st = get_str(L, json_object_get(n, "content"), "normalizer.content", &op.content))) return st;
    } else if (!strcmp(type, "Prepend")) {
        op.kind = NORM_PREPEND;
        if ((st = get_str(L, json_object_get(n, "prepend"), "normalizer.prepend", &op.content))) return st;
    } else {
        return saex_fail(SAEX_ERR_UNSUPPORTED, "%s: %s: normalizer %s is not supported (only Replace, Prepend, Sequence)",
                         L->file, field, type);
    }
    tok_norm_op *grown = realloc(tok->norm, (size_t)(tok->n_norm + 1) * sizeof *grown);
    if (!grown) return nomem(L);
    tok->norm = grown;
    tok->norm[tok->n_norm++] = op;
    return SAEX_OK;
}

/* ------------------------------------------------------------------ pre-tokenizer */

static saex_status add_pretok(const loader *L, json_t *p, int depth) {
    saex_tokenizer *tok = L->tok;
    const char *field = "pre_tokenizer";
    if (!p || json_is_null(p)) return SAEX_OK;
    if (!json_is_object(p)) return bad(L, field, "expected an object or null");
    if (depth > 8) return bad(L, field, "nested too deeply");
    const char *type = type_of(p);
    if (!type) return bad(L, field, "missing \"type\"");
    if (!strcmp(type, "Sequence")) {
        json_t *list = json_object_get(p, "pretokenizers");
        if (!json_is_array(list)) return bad(L, field, "pretokenizers: expected an array");
        for (size_t i = 0; i < json_array_size(list); i++) {
            saex_status st = add_pretok(L, json_array_get(list, i), depth + 1);
            if (st) return st;
        }
        return SAEX_OK;
    }
    if (!strcmp(type, "ByteLevel"))
        return saex_fail(SAEX_ERR_UNSUPPORTED,
                         "%s: byte-level BPE (ByteLevel pre-tokenizer, GPT-2 / Llama 3 style) is not supported; "
                         "saex handles SentencePiece-style BPE with byte fallback (Gemma, Llama 2)",
                         L->file);
    if (strcmp(type, "Split"))
        return saex_fail(SAEX_ERR_UNSUPPORTED, "%s: pre_tokenizer %s is not supported (only Split on a literal string)",
                         L->file, type);
    tok_split sp = {0};
    saex_status st = get_pattern(L, p, field, &sp.pattern);
    if (st) return st;
    json_t *inv = json_object_get(p, "invert");
    if (inv && !json_is_boolean(inv)) return bad(L, "pre_tokenizer.invert", "expected a boolean");
    if (json_is_true(inv)) return saex_fail(SAEX_ERR_UNSUPPORTED, "%s: pre_tokenizer Split with invert=true is not supported", L->file);
    json_t *b = json_object_get(p, "behavior");
    const char *bs = json_is_string(b) ? json_string_value(b) : NULL;
    static const char *names[] = {"Removed", "Isolated", "MergedWithPrevious", "MergedWithNext", "Contiguous"};
    int found = -1;
    for (int i = 0; bs && i < 5; i++)
        if (!strcmp(bs, names[i])) found = i;
    if (found < 0) return bad(L, "pre_tokenizer.behavior", "expected Removed, Isolated, MergedWithPrevious, MergedWithNext or Contiguous");
    sp.behavior = (tok_split_behavior)found;
    tok_split *grown = realloc(tok->split, (size_t)(tok->n_split + 1) * sizeof *grown);
    if (!grown) return nomem(L);
    tok->split = grown;
    tok->split[tok->n_split++] = sp;
    return SAEX_OK;
}

/* ------------------------------------------------------------------ decoder */

static saex_status add_dec(const loader *L, json_t *d, int depth) {
    saex_tokenizer *tok = L->tok;
    const char *field = "decoder";
    if (!json_is_object(d)) return bad(L, field, "expected an object or null");
    if (depth > 8) return bad(L, field, "nested too deeply");
    const char *type = type_of(d);
    if (!type) return bad(L, field, "missing \"type\"");
    if (!strcmp(type, "Sequence")) {
        json_t *list = json_object_get(d, "decoders");
        if (!json_is_array(list)) return bad(L, field, "decoders: expected an array");
        for (size_t i = 0; i < json_array_size(list); i++) {
            saex_status st = add_dec(L, json_array_get(list, i), depth + 1);
            if (st) return st;
        }
        return SAEX_OK;
    }
    tok_dec_op op = {0};
    saex_status st;
    if (!strcmp(type, "Replace")) {
        op.kind = DEC_REPLACE;
        if ((st = get_pattern(L, d, "decoder.Replace", &op.pattern))) return st;
        if ((st = get_str(L, json_object_get(d, "content"), "decoder.Replace.content", &op.content))) return st;
    } else if (!strcmp(type, "ByteFallback")) {
        op.kind = DEC_BYTE_FALLBACK;
    } else if (!strcmp(type, "Fuse")) {
        op.kind = DEC_FUSE;
    } else if (!strcmp(type, "Strip")) {
        op.kind = DEC_STRIP;
        tok_str c;
        if ((st = get_str(L, json_object_get(d, "content"), "decoder.Strip.content", &c))) return st;
        uint32_t cp = 0;
        if (c.n == 0 || (size_t)tok_utf8_next(c.s, c.n, &cp) != c.n) return bad(L, "decoder.Strip.content", "expected one character");
        op.strip_cp = cp;
        json_t *a = json_object_get(d, "start"), *b = json_object_get(d, "stop");
        if (!json_is_integer(a) || !json_is_integer(b) || json_integer_value(a) < 0 || json_integer_value(b) < 0 ||
            json_integer_value(a) > 1000000 || json_integer_value(b) > 1000000)
            return bad(L, "decoder.Strip", "start / stop: expected non-negative integers");
        op.strip_start = (int)json_integer_value(a);
        op.strip_stop = (int)json_integer_value(b);
    } else {
        return saex_fail(SAEX_ERR_UNSUPPORTED,
                         "%s: decoder %s is not supported (only Replace, ByteFallback, Fuse, Strip, Sequence)", L->file, type);
    }
    tok_dec_op *grown = realloc(tok->dec, (size_t)(tok->n_dec + 1) * sizeof *grown);
    if (!grown) return nomem(L);
    tok->dec = grown;
    tok->dec[tok->n_dec++] = op;
    return SAEX_OK;
}

/* ------------------------------------------------------------------ model: BPE */

/* model.vocab -> tok->vpiece, tok->vocab. limit bounds the ids. */
static saex_status load_vocab(const loader *L, json_t *vocab, int64_t limit, int32_t *max_id) {
    saex_tokenizer *tok = L->tok;
    if (!json_is_object(vocab)) return bad(L, "model.vocab", "missing or not an object");
    size_t n = json_object_size(vocab);
    if (n == 0) return bad(L, "model.vocab", "empty");
    tok->vocab.cap = pow2_at_least(2 * n);
    tok->vocab.slot = calloc(tok->vocab.cap, sizeof *tok->vocab.slot);
    if (!tok->vocab.slot) return nomem(L);
    *max_id = -1;
    for (void *it = json_object_iter(vocab); it; it = json_object_iter_next(vocab, it)) {
        const char *key = json_object_iter_key(it);
        size_t klen = json_object_iter_key_len(it);
        json_t *v = json_object_iter_value(it);
        if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) >= limit) {
            char what[160];
            snprintf(what, sizeof what, "id of \"%.40s\" is not an integer in 0..%lld", key, (long long)limit - 1);
            return bad(L, "model.vocab", what);
        }
        int32_t id = (int32_t)json_integer_value(v);
        if (tok->vpiece[id].s) {
            char what[200];
            snprintf(what, sizeof what, "id %d is given to both \"%.40s\" and \"%.40s\"", id, tok->vpiece[id].s, key);
            return bad(L, "model.vocab", what);
        }
        char *p = tok_arena_copy(tok, key, klen);
        if (!p) return nomem(L);
        tok->vpiece[id] = (tok_str){p, klen};
        int32_t dup;
        tok_strmap_put(&tok->vocab, tok->vpiece, id, &dup); /* keys are unique in a JSON object as jansson keeps them */
        if (id > *max_id) *max_id = id;
    }
    return SAEX_OK;
}

static saex_status piece_id(const loader *L, const char *s, size_t n, size_t i, int32_t *id) {
    *id = tok_strmap_get(&L->tok->vocab, L->tok->vpiece, s, n);
    if (*id >= 0) return SAEX_OK;
    char field[64], what[160];
    snprintf(field, sizeof field, "model.merges[%zu]", i);
    snprintf(what, sizeof what, "names \"%.*s\", which is not in model.vocab", (int)(n > 60 ? 60 : n), s);
    return bad(L, field, what);
}

static saex_status load_merges(const loader *L, json_t *merges) {
    saex_tokenizer *tok = L->tok;
    tok_pairmap *m = &tok->bpe.merges;
    if (!merges || json_is_null(merges)) merges = NULL;
    else if (!json_is_array(merges)) return bad(L, "model.merges", "expected an array");
    size_t n = merges ? json_array_size(merges) : 0;
    if (n > 0xFFFFFFF0u) return bad(L, "model.merges", "too many merges");
    m->cap = pow2_at_least(2 * n);
    m->key = calloc(m->cap, sizeof *m->key);
    m->rank = malloc(m->cap * sizeof *m->rank);
    m->id = malloc(m->cap * sizeof *m->id);
    if (!m->key || !m->rank || !m->id) return nomem(L);
    char *buf = NULL;
    size_t buf_cap = 0;
    saex_status st = SAEX_OK;
    for (size_t i = 0; i < n && !st; i++) {
        json_t *e = json_array_get(merges, i);
        const char *a, *b;
        size_t na, nb;
        char field[64];
        snprintf(field, sizeof field, "model.merges[%zu]", i);
        if (json_is_string(e)) { /* "a b": exactly one space */
            const char *s = json_string_value(e);
            size_t len = json_string_length(e);
            const char *sp = memchr(s, ' ', len);
            if (!sp || memchr(sp + 1, ' ', len - (size_t)(sp - s) - 1)) {
                st = bad(L, field, "expected \"left right\" with exactly one space");
                break;
            }
            a = s, na = (size_t)(sp - s), b = sp + 1, nb = len - na - 1;
        } else if (json_is_array(e) && json_array_size(e) == 2 && json_is_string(json_array_get(e, 0)) &&
                   json_is_string(json_array_get(e, 1))) {
            a = json_string_value(json_array_get(e, 0)), na = json_string_length(json_array_get(e, 0));
            b = json_string_value(json_array_get(e, 1)), nb = json_string_length(json_array_get(e, 1));
        } else {
            st = bad(L, field, "expected \"left right\" or [\"left\", \"right\"]");
            break;
        }
        int32_t ia, ib, im;
        if ((st = piece_id(L, a, na, i, &ia)) || (st = piece_id(L, b, nb, i, &ib))) break;
        if (na + nb > buf_cap) {
            buf_cap = 2 * (na + nb) + 64;
            char *nbuf = realloc(buf, buf_cap);
            if (!nbuf) {
                st = nomem(L);
                break;
            }
            buf = nbuf;
        }
        memcpy(buf, a, na);
        memcpy(buf + na, b, nb);
        if ((st = piece_id(L, buf, na + nb, i, &im))) break;
        tok_pairmap_put(m, (uint32_t)ia, (uint32_t)ib, (uint32_t)i, (uint32_t)im);
    }
    free(buf);
    return st;
}

static int is_null_or_empty(json_t *v) { return !v || json_is_null(v) || (json_is_string(v) && json_string_length(v) == 0); }

static saex_status load_bpe(const loader *L, json_t *model, int64_t limit, int32_t *max_id) {
    saex_tokenizer *tok = L->tok;
    tok_bpe *bpe = &tok->bpe;
    tok->kind = MODEL_BPE;
    json_t *drop = json_object_get(model, "dropout");
    if (drop && !json_is_null(drop)) {
        if (!json_is_number(drop)) return bad(L, "model.dropout", "expected a number or null");
        if (json_number_value(drop) != 0.0)
            return saex_fail(SAEX_ERR_UNSUPPORTED, "%s: model.dropout %g: BPE dropout is random; saex encodes deterministically",
                             L->file, json_number_value(drop));
    }
    if (!is_null_or_empty(json_object_get(model, "continuing_subword_prefix")) ||
        !is_null_or_empty(json_object_get(model, "end_of_word_suffix")))
        return saex_fail(SAEX_ERR_UNSUPPORTED, "%s: model: BPE with continuing_subword_prefix / end_of_word_suffix is not supported",
                         L->file);
    int ok = 1;
    bpe->fuse_unk = get_flag(model, "fuse_unk", 0, &ok);
    bpe->byte_fallback = get_flag(model, "byte_fallback", 0, &ok);
    bpe->ignore_merges = get_flag(model, "ignore_merges", 0, &ok);
    if (!ok) return bad(L, "model", "fuse_unk / byte_fallback / ignore_merges: expected booleans");

    saex_status st = load_vocab(L, json_object_get(model, "vocab"), limit, max_id);
    if (st) return st;
    bpe->unk_id = -1;
    json_t *unk = json_object_get(model, "unk_token");
    if (unk && !json_is_null(unk)) {
        if (!json_is_string(unk)) return bad(L, "model.unk_token", "expected a string or null");
        bpe->unk_id = tok_strmap_get(&tok->vocab, tok->vpiece, json_string_value(unk), json_string_length(unk));
        if (bpe->unk_id < 0) return bad(L, "model.unk_token", "not in model.vocab");
    }
    for (int b = 0; b < 256; b++) {
        char name[8];
        snprintf(name, sizeof name, "<0x%02X>", b);
        bpe->byte_id[b] = tok_strmap_get(&tok->vocab, tok->vpiece, name, 6);
    }
    /* Characters of the Basic Multilingual Plane get a direct table: the
     * encoder looks up every input character, and most are here. */
    bpe->bmp_id = malloc(0x10000 * sizeof *bpe->bmp_id);
    if (!bpe->bmp_id) return nomem(L);
    for (int i = 0; i < 0x10000; i++) bpe->bmp_id[i] = -1;
    for (int32_t id = 0; id <= *max_id; id++) {
        const tok_str *p = &tok->vpiece[id];
        uint32_t cp;
        if (p->s && p->n && p->n <= 3 && tok_utf8_check(p->s, p->n) == p->n && (size_t)tok_utf8_next(p->s, p->n, &cp) == p->n &&
            cp < 0x10000)
            bpe->bmp_id[cp] = id;
    }
    return load_merges(L, json_object_get(model, "merges"));
}

static saex_status load_model(const loader *L, json_t *model, int64_t limit, int32_t *max_id) {
    if (!json_is_object(model)) return bad(L, "model", "missing or not an object");
    const char *type = type_of(model);
    if (!type) return bad(L, "model.type", "missing or not a string");
    if (!strcmp(type, "BPE")) return load_bpe(L, model, limit, max_id);
    if (!strcmp(type, "WordPiece") || !strcmp(type, "Unigram") || !strcmp(type, "WordLevel"))
        return saex_fail(SAEX_ERR_UNSUPPORTED, "%s: model type %s is not supported (saex handles BPE with byte fallback)", L->file,
                         type);
    return saex_fail(SAEX_ERR_UNSUPPORTED, "%s: model.type: unknown model kind \"%s\"", L->file, type);
}

/* ------------------------------------------------------------------ added tokens */

static saex_status load_added(const loader *L, json_t *list, int64_t limit) {
    saex_tokenizer *tok = L->tok;
    if (!list || json_is_null(list)) return SAEX_OK;
    if (!json_is_array(list)) return bad(L, "added_tokens", "expected an array");
    size_t n = json_array_size(list);
    tok->added = calloc(n ? n : 1, sizeof *tok->added);
    if (!tok->added) return nomem(L);
    for (size_t i = 0; i < n; i++) {
        json_t *e = json_array_get(list, i);
        char field[64];
        snprintf(field, sizeof field, "added_tokens[%zu]", i);
        if (!json_is_object(e)) return bad(L, field, "expected an object");
        tok_added a = {0};
        json_t *id = json_object_get(e, "id");
        if (!json_is_integer(id) || json_integer_value(id) < 0 || json_integer_value(id) >= limit)
            return bad(L, field, "id: expected an integer in range");
        a.id = (int32_t)json_integer_value(id);
        saex_status st = get_str(L, json_object_get(e, "content"), field, &a.content);
        if (st) return st;
        int ok = 1;
        a.special = (uint8_t)get_flag(e, "special", 0, &ok);
        a.single_word = (uint8_t)get_flag(e, "single_word", 0, &ok);
        a.lstrip = (uint8_t)get_flag(e, "lstrip", 0, &ok);
        a.rstrip = (uint8_t)get_flag(e, "rstrip", 0, &ok);
        a.normalized = (uint8_t)get_flag(e, "normalized", !a.special, &ok);
        if (!ok) return bad(L, field, "special / single_word / lstrip / rstrip / normalized: expected booleans");
        if (a.content.n == 0) continue; /* HF ignores empty added tokens */
        int32_t in_vocab = tok_strmap_get(&tok->vocab, tok->vpiece, a.content.s, a.content.n);
        if (in_vocab >= 0 && in_vocab != a.id) return bad(L, field, "id differs from the id model.vocab gives the same string");
        for (int k = 0; k < tok->n_added; k++) {
            if (tok->added[k].id == a.id) return bad(L, field, "id used by an earlier added token");
            if (tok->added[k].content.n == a.content.n && !memcmp(tok->added[k].content.s, a.content.s, a.content.n))
                return bad(L, field, "content repeats an earlier added token");
        }
        if (tok->vpiece[a.id].s && in_vocab != a.id) return bad(L, field, "id belongs to a different model.vocab string");
        tok->added[tok->n_added++] = a;
    }
    return SAEX_OK;
}

/* Candidates grouped by first byte; within a group, longest first so that
 * the first hit is the longest match (leftmost-longest, as HF's
 * Aho-Corasick MatchKind::LeftmostLongest). */
static saex_status build_matcher(const loader *L, tok_matcher *m, int normalized) {
    saex_tokenizer *tok = L->tok;
    m->order = malloc((size_t)(tok->n_added ? tok->n_added : 1) * sizeof *m->order);
    if (!m->order) return nomem(L);
    m->n = 0;
    for (int b = 0; b < 256; b++) {
        m->first[b] = m->n;
        int start = m->n;
        for (int k = 0; k < tok->n_added; k++) {
            const tok_added *a = &tok->added[k];
            if (a->normalized != normalized || a->match.n == 0 || (uint8_t)a->match.s[0] != b) continue;
            /* insertion keeps order stable for equal lengths (the earlier token wins, as in HF) */
            int j = m->n++;
            while (j > start && tok->added[m->order[j - 1]].match.n < a->match.n) {
                m->order[j] = m->order[j - 1];
                j--;
            }
            m->order[j] = k;
        }
    }
    m->first[256] = m->n;
    return SAEX_OK;
}

/* HF searches special tokens first, then the others (its trie order); the
 * matchers keep that order for equal contents. Normalized tokens are
 * matched in their normalized form. */
static saex_status prepare_added(const loader *L) {
    saex_tokenizer *tok = L->tok;
    tok_added *sorted = malloc((size_t)(tok->n_added ? tok->n_added : 1) * sizeof *sorted);
    if (!sorted) return nomem(L);
    int n = 0;
    for (int pass = 1; pass >= 0; pass--)
        for (int k = 0; k < tok->n_added; k++)
            if (tok->added[k].special == pass) sorted[n++] = tok->added[k];
    if (n) memcpy(tok->added, sorted, (size_t)n * sizeof *sorted);
    free(sorted);
    for (int k = 0; k < tok->n_added; k++) {
        tok_added *a = &tok->added[k];
        a->match = a->content;
        if (a->normalized) {
            char *s;
            size_t sn;
            saex_status st = tok_normalize(tok, a->content.s, a->content.n, &s, &sn);
            if (st) return st;
            char *p = tok_arena_copy(tok, s, sn);
            free(s);
            if (!p) return nomem(L);
            a->match = (tok_str){p, sn};
        }
        /* HF names a normalized added token by its normalized form (id_to_token, decode) */
        tok->piece[a->id] = a->match;
        tok->special[a->id] = a->special;
    }
    saex_status st = build_matcher(L, &tok->raw_match, 0);
    if (!st) st = build_matcher(L, &tok->norm_match, 1);
    return st;
}

/* ------------------------------------------------------------------ post-processor */

static saex_status special_ids(const loader *L, json_t *specials, const char *name, int32_t **ids, int *n) {
    json_t *s = member(specials, name);
    json_t *list = member(s, "ids");
    if (!json_is_array(list)) return bad(L, "post_processor.special_tokens", "a token of the template has no \"ids\" array");
    for (size_t i = 0; i < json_array_size(list); i++) {
        json_t *v = json_array_get(list, i);
        if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) >= L->tok->n_ids ||
            !L->tok->piece[json_integer_value(v)].s)
            return bad(L, "post_processor.special_tokens", "ids: not an id of this vocabulary");
        int32_t *grown = realloc(*ids, (size_t)(*n + 1) * sizeof *grown);
        if (!grown) return nomem(L);
        *ids = grown;
        (*ids)[(*n)++] = (int32_t)json_integer_value(v);
    }
    return SAEX_OK;
}

static saex_status load_post(const loader *L, json_t *post) {
    saex_tokenizer *tok = L->tok;
    if (!post || json_is_null(post)) return SAEX_OK;
    if (!json_is_object(post)) return bad(L, "post_processor", "expected an object or null");
    const char *type = type_of(post);
    if (!type) return bad(L, "post_processor.type", "missing");
    if (strcmp(type, "TemplateProcessing"))
        return saex_fail(SAEX_ERR_UNSUPPORTED, "%s: post_processor %s is not supported (only TemplateProcessing)", L->file, type);
    json_t *single = json_object_get(post, "single");
    json_t *specials = json_object_get(post, "special_tokens");
    if (!json_is_array(single)) return bad(L, "post_processor.single", "expected an array");
    if (!json_is_object(specials)) return bad(L, "post_processor.special_tokens", "expected an object");
    int seen_seq = 0;
    for (size_t i = 0; i < json_array_size(single); i++) {
        json_t *e = json_array_get(single, i);
        json_t *sp = member(e, "SpecialToken"), *sq = member(e, "Sequence");
        if (sq) {
            if (seen_seq) return bad(L, "post_processor.single", "more than one Sequence");
            seen_seq = 1;
        } else if (json_is_string(member(sp, "id"))) {
            saex_status st = seen_seq ? special_ids(L, specials, json_string_value(member(sp, "id")), &tok->suffix, &tok->n_suffix)
                                      : special_ids(L, specials, json_string_value(member(sp, "id")), &tok->prefix, &tok->n_prefix);
            if (st) return st;
        } else {
            return bad(L, "post_processor.single", "expected {\"SpecialToken\": {\"id\": ...}} or {\"Sequence\": ...}");
        }
    }
    if (!seen_seq) return bad(L, "post_processor.single", "no Sequence");
    return SAEX_OK;
}

/* ------------------------------------------------------------------ open / close */

static saex_status load(loader *L, json_t *root) {
    saex_tokenizer *tok = L->tok;
    if (!json_is_object(root)) return bad(L, "(top level)", "expected a JSON object");
    const char *unsup[] = {"truncation", "padding"};
    for (int i = 0; i < 2; i++) {
        json_t *v = json_object_get(root, unsup[i]);
        if (v && !json_is_null(v))
            return saex_fail(SAEX_ERR_UNSUPPORTED, "%s: %s: must be null (saex tokenizes whole texts, unpadded)", L->file, unsup[i]);
    }
    json_t *model = json_object_get(root, "model");
    json_t *added = json_object_get(root, "added_tokens");
    if (added && !json_is_array(added) && !json_is_null(added)) return bad(L, "added_tokens", "expected an array");
    int64_t limit = (int64_t)json_object_size(member(model, "vocab")) + (int64_t)json_array_size(added);
    if (limit > 0x7FFFFFF0) return bad(L, "model.vocab", "too large");

    /* The kind decides everything else: refuse other kinds before looking further. */
    if (!json_is_object(model)) return bad(L, "model", "missing or not an object");
    const char *mtype = type_of(model);
    if (mtype && strcmp(mtype, "BPE")) return load_model(L, model, limit, NULL);
    saex_status st = add_pretok(L, json_object_get(root, "pre_tokenizer"), 0);
    if (st) return st;

    tok->vpiece = calloc((size_t)(limit ? limit : 1), sizeof *tok->vpiece);
    if (!tok->vpiece) return nomem(L);
    int32_t max_id = -1;
    if ((st = load_model(L, model, limit, &max_id))) return st;
    if ((st = add_norm(L, json_object_get(root, "normalizer"), "normalizer", 0))) return st;
    if ((st = load_added(L, added, limit))) return st;
    for (int k = 0; k < tok->n_added; k++)
        if (tok->added[k].id > max_id) max_id = tok->added[k].id;
    tok->n_ids = max_id + 1;
    tok->piece = calloc((size_t)tok->n_ids, sizeof *tok->piece);
    tok->special = calloc((size_t)tok->n_ids, 1);
    if (!tok->piece || !tok->special) return nomem(L);
    memcpy(tok->piece, tok->vpiece, (size_t)tok->n_ids * sizeof *tok->piece);
    if ((st = prepare_added(L))) return st;
    if ((st = load_post(L, json_object_get(root, "post_processor")))) return st;

    json_t *dec = json_object_get(root, "decoder");
    if (!dec || json_is_null(dec)) tok->n_dec = -1;
    else if ((st = add_dec(L, dec, 0))) return st;
    return SAEX_OK;
}

saex_status saex_tokenizer_open(const char *path, saex_tokenizer **out) {
    if (!out) return saex_fail(SAEX_ERR_ARG, "saex_tokenizer_open: out is NULL");
    *out = NULL;
    if (!path || !*path) return saex_fail(SAEX_ERR_ARG, "saex_tokenizer_open: empty path");
    struct stat sb;
    if (stat(path, &sb) != 0) return saex_fail(SAEX_ERR_IO, "%s: cannot open tokenizer: no such file or directory", path);
    size_t plen = strlen(path);
    char *file = malloc(plen + 32);
    if (!file) return saex_fail(SAEX_ERR_NOMEM, "%s: out of memory", path);
    if (S_ISDIR(sb.st_mode)) {
        snprintf(file, plen + 32, "%s%stokenizer.json", path, path[plen - 1] == '/' ? "" : "/");
        if (stat(file, &sb) != 0) {
            saex_status st = saex_fail(SAEX_ERR_IO, "%s: directory has no tokenizer.json", path);
            free(file);
            return st;
        }
    } else {
        memcpy(file, path, plen + 1);
    }
    json_error_t jerr;
    json_t *root = json_load_file(file, JSON_ALLOW_NUL, &jerr);
    if (!root) {
        saex_status st = jerr.line < 0 || json_error_code(&jerr) == json_error_cannot_open_file
                             ? saex_fail(SAEX_ERR_IO, "%s: cannot read: %s", file, jerr.text)
                             : saex_fail(SAEX_ERR_FORMAT, "%s: invalid JSON at line %d column %d: %s", file, jerr.line, jerr.column,
                                         jerr.text);
        free(file);
        return st;
    }
    saex_tokenizer *tok = calloc(1, sizeof *tok);
    if (!tok) {
        json_decref(root);
        free(file);
        return saex_fail(SAEX_ERR_NOMEM, "%s: out of memory", path);
    }
    tok->path = file;
    loader L = {file, tok};
    saex_status st = load(&L, root);
    json_decref(root);
    if (st) {
        saex_tokenizer_close(tok);
        return st;
    }
    *out = tok;
    return SAEX_OK;
}

void saex_tokenizer_close(saex_tokenizer *tok) {
    if (!tok) return;
    free(tok->path);
    free(tok->piece);
    free(tok->vpiece);
    free(tok->special);
    free(tok->vocab.slot);
    free(tok->norm);
    free(tok->split);
    free(tok->bpe.merges.key);
    free(tok->bpe.merges.rank);
    free(tok->bpe.merges.id);
    free(tok->bpe.bmp_id);
    free(tok->added);
    free(tok->raw_match.order);
    free(tok->norm_match.order);
    free(tok->prefix);
    free(tok->suffix);
    free(tok->dec);
    tok_arena_free(tok);
    free(tok);
}
