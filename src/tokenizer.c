/* tokenizer.c — encode and decode exactly as Hugging Face `tokenizers` does
 * for SentencePiece-style BPE tokenizer.json files (see tokenizer.h for the
 * pipeline, tokenizer_load.c for what is accepted).
 *
 * Invalid UTF-8 is refused (SAEX_ERR_ARG, with the byte offset): HF's
 * Python binding only takes str, so there is no reference behaviour to
 * match, and guessing a repair would silently change the tokens. */
#include "error.h"
#include "tokenizer.h"
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ UTF-8 */

int tok_utf8_next(const char *s, size_t n, uint32_t *cp) {
    const uint8_t *u = (const uint8_t *)s;
    if (u[0] < 0x80 || n < 2) {
        *cp = u[0];
        return 1;
    }
    if (u[0] < 0xE0) {
        *cp = ((uint32_t)(u[0] & 0x1F) << 6) | (u[1] & 0x3F);
        return 2;
    }
    if (u[0] < 0xF0 || n < 4) {
        *cp = n < 3 ? u[0] : ((uint32_t)(u[0] & 0x0F) << 12) | ((uint32_t)(u[1] & 0x3F) << 6) | (u[2] & 0x3F);
        return n < 3 ? 1 : 3;
    }
    *cp = ((uint32_t)(u[0] & 0x07) << 18) | ((uint32_t)(u[1] & 0x3F) << 12) | ((uint32_t)(u[2] & 0x3F) << 6) | (u[3] & 0x3F);
    return 4;
}

/* The rules of Rust's str::from_utf8: no overlong forms, no surrogates, nothing past U+10FFFF. */
size_t tok_utf8_check(const char *s, size_t n) {
    const uint8_t *u = (const uint8_t *)s;
    size_t i = 0;
    while (i < n) {
        uint8_t c = u[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t need;
        uint8_t lo = 0x80, hi = 0xBF;
        if (c >= 0xC2 && c <= 0xDF) need = 1;
        else if (c >= 0xE0 && c <= 0xEF) {
            need = 2;
            if (c == 0xE0) lo = 0xA0;
            if (c == 0xED) hi = 0x9F;
        } else if (c >= 0xF0 && c <= 0xF4) {
            need = 3;
            if (c == 0xF0) lo = 0x90;
            if (c == 0xF4) hi = 0x8F;
        } else
            return i;
        if (i + need >= n) return i;
        if (u[i + 1] < lo || u[i + 1] > hi) return i;
        for (size_t k = 2; k <= need; k++)
            if ((u[i + k] & 0xC0) != 0x80) return i;
        i += need + 1;
    }
    return n;
}

/* ------------------------------------------------------------------ growable buffers */

typedef struct {
    int32_t *v;
    size_t n, cap;
} idvec;

static int idvec_push(idvec *a, int32_t x) {
    if (a->n == a->cap) {
        size_t cap = a->cap ? 2 * a->cap : 64;
        int32_t *v = realloc(a->v, cap * sizeof *v);
        if (!v) return -1;
        a->v = v;
        a->cap = cap;
    }
    a->v[a->n++] = x;
    return 0;
}

typedef struct {
    char *s;
    size_t n, cap;
} strbuf;

static int sb_add(strbuf *b, const char *s, size_t n) {
    if (b->n + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 64;
        while (cap < b->n + n + 1) cap *= 2;
        char *p = realloc(b->s, cap);
        if (!p) return -1;
        b->s = p;
        b->cap = cap;
    }
    if (n) memcpy(b->s + b->n, s, n);
    b->n += n;
    b->s[b->n] = 0;
    return 0;
}

/* Appends s with every occurrence of pat replaced by rep (left to right, non-overlapping). */
static int sb_add_replaced(strbuf *b, const char *s, size_t n, tok_str pat, tok_str rep) {
    size_t i = 0, from = 0;
    while (i + pat.n <= n) {
        if (s[i] == pat.s[0] && memcmp(s + i, pat.s, pat.n) == 0) {
            if (sb_add(b, s + from, i - from) || sb_add(b, rep.s, rep.n)) return -1;
            i += pat.n;
            from = i;
        } else {
            i++;
        }
    }
    return sb_add(b, s + from, n - from);
}

/* ------------------------------------------------------------------ normalizer */

saex_status tok_normalize(const saex_tokenizer *tok, const char *s, size_t n, char **out, size_t *out_n) {
    strbuf cur = {0};
    if (sb_add(&cur, s, n)) return saex_fail(SAEX_ERR_NOMEM, "tokenizer: out of memory");
    for (int k = 0; k < tok->n_norm; k++) {
        const tok_norm_op *op = &tok->norm[k];
        strbuf next = {0};
        int err;
        if (op->kind == NORM_REPLACE) err = sb_add_replaced(&next, cur.s, cur.n, op->pattern, op->content);
        else if (cur.n == 0) err = sb_add(&next, "", 0); /* HF's Prepend leaves an empty string alone */
        else err = sb_add(&next, op->content.s, op->content.n) || sb_add(&next, cur.s, cur.n);
        free(cur.s);
        if (err) {
            free(next.s);
            return saex_fail(SAEX_ERR_NOMEM, "tokenizer: out of memory");
        }
        cur = next;
    }
    *out = cur.s;
    *out_n = cur.n;
    return SAEX_OK;
}

/* ------------------------------------------------------------------ added tokens */

typedef struct {
    size_t a, b;  /* byte range of the piece */
    int32_t id;   /* added token id, or -1 for text to process further */
} seg;

typedef struct {
    seg *v;
    size_t n, cap;
} segvec;

static int seg_push(segvec *a, size_t x, size_t y, int32_t id) {
    if (a->n == a->cap) {
        size_t cap = a->cap ? 2 * a->cap : 16;
        seg *v = realloc(a->v, cap * sizeof *v);
        if (!v) return -1;
        a->v = v;
        a->cap = cap;
    }
    a->v[a->n++] = (seg){x, y, id};
    return 0;
}

/* The character that ends at s[end) (end > 0). */
static uint32_t cp_before(const char *s, size_t end, size_t *start) {
    size_t i = end - 1;
    while (i > 0 && ((uint8_t)s[i] & 0xC0) == 0x80 && end - i < 4) i--;
    uint32_t cp;
    tok_utf8_next(s + i, end - i, &cp);
    *start = i;
    return cp;
}

/* HF AddedVocabulary::find_matches: leftmost-longest matches, then the
 * single_word / lstrip / rstrip rules, splitting s into pieces. */
static int split_added(const saex_tokenizer *tok, const tok_matcher *m, const char *s, size_t n, segvec *out) {
    size_t start_offset = 0, i = 0;
    while (i < n && m->n) {
        uint8_t b = (uint8_t)s[i];
        int hit = -1;
        for (int c = m->first[b]; c < m->first[b + 1]; c++) {
            const tok_added *a = &tok->added[m->order[c]];
            if (a->match.n <= n - i && memcmp(s + i, a->match.s, a->match.n) == 0) {
                hit = m->order[c];
                break;
            }
        }
        if (hit < 0) {
            i++;
            continue;
        }
        const tok_added *a = &tok->added[hit];
        size_t start = i, stop = i + a->match.n;
        i = stop; /* the search resumes after the raw match, whatever happens to it */
        if (a->single_word) {
            size_t dummy;
            uint32_t cp;
            int start_space = start == 0 || !tok_is_word(cp_before(s, start, &dummy));
            int stop_space = stop == n || (tok_utf8_next(s + stop, n - stop, &cp), !tok_is_word(cp));
            if (!start_space || !stop_space) continue;
        }
        if (a->lstrip) {
            size_t ns = start, prev;
            while (ns > 0 && tok_is_space(cp_before(s, ns, &prev))) ns = prev;
            start = ns > start_offset ? ns : start_offset;
        }
        if (a->rstrip) {
            uint32_t cp;
            while (stop < n) {
                int l = tok_utf8_next(s + stop, n - stop, &cp);
                if (!tok_is_space(cp)) break;
                stop += (size_t)l;
            }
        }
        if (start_offset < start && seg_push(out, start_offset, start, -1)) return -1;
        if (seg_push(out, start, stop, a->id)) return -1;
        start_offset = stop;
    }
    if (start_offset < n && seg_push(out, start_offset, n, -1)) return -1;
    return 0;
}

/* ------------------------------------------------------------------ BPE */

typedef struct {
    int32_t id;
    int32_t prev, next; /* neighbours in the list, -1 at the ends */
    uint32_t len;       /* bytes covered; 0 = merged into its left neighbour */
} sym;

typedef struct {
    uint32_t rank, pos, id;
} merge_ent;

typedef struct {
    sym *sy;
    size_t sy_cap;
    merge_ent *heap;
    size_t heap_n, heap_cap;
} scratch;

static int ent_less(const merge_ent *x, const merge_ent *y) { return x->rank != y->rank ? x->rank < y->rank : x->pos < y->pos; }

static int heap_push(scratch *w, merge_ent e) {
    if (w->heap_n == w->heap_cap) {
        size_t cap = w->heap_cap ? 2 * w->heap_cap : 256;
        merge_ent *h = realloc(w->heap, cap * sizeof *h);
        if (!h) return -1;
        w->heap = h;
        w->heap_cap = cap;
    }
    size_t i = w->heap_n++;
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!ent_less(&e, &w->heap[p])) break;
        w->heap[i] = w->heap[p];
        i = p;
    }
    w->heap[i] = e;
    return 0;
}

static merge_ent heap_pop(scratch *w) {
    merge_ent top = w->heap[0], last = w->heap[--w->heap_n];
    size_t i = 0, n = w->heap_n;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= n) break;
        if (c + 1 < n && ent_less(&w->heap[c + 1], &w->heap[c])) c++;
        if (!ent_less(&w->heap[c], &last)) break;
        w->heap[i] = w->heap[c];
        i = c;
    }
    if (n) w->heap[i] = last;
    return top;
}

static int sym_add(scratch *w, size_t *n, int32_t id, uint32_t len) {
    if (*n == w->sy_cap) {
        size_t cap = w->sy_cap ? 2 * w->sy_cap : 256;
        sym *s = realloc(w->sy, cap * sizeof *s);
        if (!s) return -1;
        w->sy = s;
        w->sy_cap = cap;
    }
    w->sy[*n] = (sym){id, (int32_t)*n - 1, -1, len};
    if (*n) w->sy[*n - 1].next = (int32_t)*n;
    (*n)++;
    return 0;
}

/* HF's BPE::merge_word + Word::merge_all for one pre-tokenized piece. */
static saex_status bpe_piece(const saex_tokenizer *tok, const char *s, size_t n, scratch *w, idvec *out) {
    const tok_bpe *bpe = &tok->bpe;
    if (n == 0) return SAEX_OK;
    if (bpe->ignore_merges) {
        int32_t id = tok_strmap_get(&tok->vocab, tok->vpiece, s, n);
        if (id >= 0) return idvec_push(out, id) ? saex_fail(SAEX_ERR_NOMEM, "tokenize: out of memory") : SAEX_OK;
    }
    size_t ns = 0;
    int32_t unk_id = -1;
    uint32_t unk_len = 0;
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        int cl = tok_utf8_next(s + i, n - i, &cp);
        int32_t id = cp < 0x10000 ? bpe->bmp_id[cp] : tok_strmap_get(&tok->vocab, tok->vpiece, s + i, (size_t)cl);
        if (id >= 0) {
            if (unk_id >= 0 && sym_add(w, &ns, unk_id, unk_len)) goto oom;
            unk_id = -1;
            if (sym_add(w, &ns, id, (uint32_t)cl)) goto oom;
            i += (size_t)cl;
            continue;
        }
        if (bpe->byte_fallback) {
            int all = 1;
            for (int k = 0; k < cl; k++) all &= bpe->byte_id[(uint8_t)s[i + k]] >= 0;
            if (all) { /* as in HF, a pending unk stays pending across byte tokens */
                for (int k = 0; k < cl; k++)
                    if (sym_add(w, &ns, bpe->byte_id[(uint8_t)s[i + k]], 1)) goto oom;
                i += (size_t)cl;
                continue;
            }
        }
        if (bpe->unk_id >= 0) {
            if (unk_id >= 0 && bpe->fuse_unk) {
                unk_len += (uint32_t)cl;
            } else {
                if (unk_id >= 0 && sym_add(w, &ns, unk_id, unk_len)) goto oom;
                unk_id = bpe->unk_id;
                unk_len = (uint32_t)cl;
            }
        }
        i += (size_t)cl;
    }
    if (unk_id >= 0 && sym_add(w, &ns, unk_id, unk_len)) goto oom;

    sym *sy = w->sy;
    w->heap_n = 0;
    uint32_t rank, nid;
    for (size_t i = 0; i + 1 < ns; i++)
        if (tok_pairmap_get(&bpe->merges, (uint32_t)sy[i].id, (uint32_t)sy[i + 1].id, &rank, &nid) &&
            heap_push(w, (merge_ent){rank, (uint32_t)i, nid}))
            goto oom;
    while (w->heap_n) {
        merge_ent top = heap_pop(w);
        sym *cur = &sy[top.pos];
        if (cur->len == 0 || cur->next < 0) continue;
        sym *right = &sy[cur->next];
        /* a stale entry: the pair at pos is no longer the one queued */
        if (!tok_pairmap_get(&bpe->merges, (uint32_t)cur->id, (uint32_t)right->id, &rank, &nid) || nid != top.id) continue;
        cur->id = (int32_t)top.id;
        cur->len += right->len;
        cur->next = right->next;
        right->len = 0;
        if (cur->next >= 0) sy[cur->next].prev = (int32_t)top.pos;
        if (cur->prev >= 0 && tok_pairmap_get(&bpe->merges, (uint32_t)sy[cur->prev].id, (uint32_t)cur->id, &rank, &nid) &&
            heap_push(w, (merge_ent){rank, (uint32_t)cur->prev, nid}))
            goto oom;
        if (cur->next >= 0 && tok_pairmap_get(&bpe->merges, (uint32_t)cur->id, (uint32_t)sy[cur->next].id, &rank, &nid) &&
            heap_push(w, (merge_ent){rank, top.pos, nid}))
            goto oom;
    }
    for (size_t i = 0; i < ns; i++)
        if (sy[i].len && idvec_push(out, sy[i].id)) goto oom;
    return SAEX_OK;
oom:
    return saex_fail(SAEX_ERR_NOMEM, "tokenize: out of memory");
}

static saex_status model_piece(const saex_tokenizer *tok, const char *s, size_t n, scratch *w, idvec *out) {
    switch (tok->kind) {
    case MODEL_BPE: return bpe_piece(tok, s, n, w, out);
    }
    return saex_fail(SAEX_ERR_UNSUPPORTED, "tokenize: unknown model kind");
}

/* ------------------------------------------------------------------ pre-tokenizer */

/* Applies Split number `level` (literal pattern) to s and hands the pieces on. */
static saex_status pretok(const saex_tokenizer *tok, int level, const char *s, size_t n, scratch *w, idvec *out) {
    if (n == 0) return SAEX_OK;
    if (level == tok->n_split) return model_piece(tok, s, n, w, out);
    const tok_split *sp = &tok->split[level];
    size_t piece = 0, i = 0; /* piece: start of the text not yet handed on */
    saex_status st = SAEX_OK;
    while (i + sp->pattern.n <= n && !st) {
        if (memcmp(s + i, sp->pattern.s, sp->pattern.n) != 0) {
            i++;
            continue;
        }
        size_t m0 = i, m1 = i + sp->pattern.n;
        if (sp->behavior == SPLIT_CONTIGUOUS)
            while (m1 + sp->pattern.n <= n && memcmp(s + m1, sp->pattern.s, sp->pattern.n) == 0) m1 += sp->pattern.n;
        switch (sp->behavior) {
        case SPLIT_REMOVED:
            st = pretok(tok, level + 1, s + piece, m0 - piece, w, out);
            piece = m1;
            break;
        case SPLIT_ISOLATED:
        case SPLIT_CONTIGUOUS:
            st = pretok(tok, level + 1, s + piece, m0 - piece, w, out);
            if (!st) st = pretok(tok, level + 1, s + m0, m1 - m0, w, out);
            piece = m1;
            break;
        case SPLIT_MERGED_PREV:
            st = pretok(tok, level + 1, s + piece, m1 - piece, w, out);
            piece = m1;
            break;
        case SPLIT_MERGED_NEXT:
            st = pretok(tok, level + 1, s + piece, m0 - piece, w, out);
            piece = m0;
            break;
        }
        i = m1;
    }
    if (!st) st = pretok(tok, level + 1, s + piece, n - piece, w, out);
    return st;
}

/* ------------------------------------------------------------------ encode */

/* One stretch of raw text between added tokens: normalize, then added
 * tokens that match normalized text, then pre-tokenize and the model. */
static saex_status encode_raw(const saex_tokenizer *tok, const char *s, size_t n, scratch *w, idvec *out) {
    char *norm;
    size_t nn;
    saex_status st = tok_normalize(tok, s, n, &norm, &nn);
    if (st) return st;
    segvec segs = {0};
    if (split_added(tok, &tok->norm_match, norm, nn, &segs)) st = saex_fail(SAEX_ERR_NOMEM, "tokenize: out of memory");
    for (size_t k = 0; k < segs.n && !st; k++) {
        if (segs.v[k].id >= 0) {
            if (idvec_push(out, segs.v[k].id)) st = saex_fail(SAEX_ERR_NOMEM, "tokenize: out of memory");
        } else {
            st = pretok(tok, 0, norm + segs.v[k].a, segs.v[k].b - segs.v[k].a, w, out);
        }
    }
    free(segs.v);
    free(norm);
    return st;
}

saex_status saex_tokenize(const saex_tokenizer *tok, const char *text, size_t len, int add_bos, int32_t **ids, size_t *n_ids) {
    if (!tok || !ids || !n_ids || (!text && len)) return saex_fail(SAEX_ERR_ARG, "saex_tokenize: NULL argument");
    *ids = NULL;
    *n_ids = 0;
    if (!text) text = "";
    size_t bad = tok_utf8_check(text, len);
    if (bad != len)
        return saex_fail(SAEX_ERR_ARG, "saex_tokenize: text is not valid UTF-8 (byte offset %zu, byte 0x%02X)", bad,
                         (unsigned)(uint8_t)text[bad]);
    idvec out = {0};
    scratch w = {0};
    segvec segs = {0};
    saex_status st = SAEX_OK;
    for (int k = 0; add_bos && k < tok->n_prefix && !st; k++)
        if (idvec_push(&out, tok->prefix[k])) st = saex_fail(SAEX_ERR_NOMEM, "tokenize: out of memory");
    if (!st && split_added(tok, &tok->raw_match, text, len, &segs)) st = saex_fail(SAEX_ERR_NOMEM, "tokenize: out of memory");
    for (size_t k = 0; k < segs.n && !st; k++) {
        if (segs.v[k].id >= 0) {
            if (idvec_push(&out, segs.v[k].id)) st = saex_fail(SAEX_ERR_NOMEM, "tokenize: out of memory");
        } else {
            st = encode_raw(tok, text + segs.v[k].a, segs.v[k].b - segs.v[k].a, &w, &out);
        }
    }
    for (int k = 0; add_bos && k < tok->n_suffix && !st; k++)
        if (idvec_push(&out, tok->suffix[k])) st = saex_fail(SAEX_ERR_NOMEM, "tokenize: out of memory");
    free(segs.v);
    free(w.sy);
    free(w.heap);
    if (st) {
        free(out.v);
        return st;
    }
    if (!out.v && !(out.v = malloc(sizeof *out.v))) return saex_fail(SAEX_ERR_NOMEM, "tokenize: out of memory");
    *ids = out.v;
    *n_ids = out.n;
    return SAEX_OK;
}

/* ------------------------------------------------------------------ decode */

typedef struct {
    strbuf *v;
    size_t n, cap;
} strlist;

static int sl_push(strlist *l, const char *s, size_t n) {
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 64;
        strbuf *v = realloc(l->v, cap * sizeof *v);
        if (!v) return -1;
        l->v = v;
        l->cap = cap;
    }
    l->v[l->n] = (strbuf){0};
    if (sb_add(&l->v[l->n], s, n)) return -1;
    l->n++;
    return 0;
}

static void sl_free(strlist *l) {
    for (size_t i = 0; i < l->n; i++) free(l->v[i].s);
    free(l->v);
    *l = (strlist){0};
}

static int hexval(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* "<0xXX>" -> byte, as HF's ByteFallback decoder reads it (Rust's
 * u8::from_str_radix, which also takes a leading '+'). -1 otherwise. */
static int byte_token(const strbuf *t) {
    if (t->n != 6 || memcmp(t->s, "<0x", 3) || t->s[5] != '>') return -1;
    if (t->s[3] == '+') return hexval(t->s[4]);
    int hi = hexval(t->s[3]), lo = hexval(t->s[4]);
    return hi < 0 || lo < 0 ? -1 : hi * 16 + lo;
}

/* Runs of byte tokens become their UTF-8 text, or one U+FFFD per byte if
 * the run is not valid UTF-8 (HF ByteFallback). */
static int dec_byte_fallback(strlist *l) {
    strlist out = {0};
    strbuf run = {0};
    size_t run_n = 0;
    int err = 0;
    for (size_t i = 0; i <= l->n && !err; i++) {
        int b = i < l->n ? byte_token(&l->v[i]) : -1;
        if (b >= 0) {
            char c = (char)b;
            err = sb_add(&run, &c, 1);
            run_n++;
            continue;
        }
        if (run_n) {
            if (tok_utf8_check(run.s, run.n) == run.n) err = sl_push(&out, run.s, run.n);
            else
                for (size_t k = 0; k < run_n && !err; k++) err = sl_push(&out, "\xEF\xBF\xBD", 3);
            run.n = 0;
            run_n = 0;
        }
        if (i < l->n && !err) err = sl_push(&out, l->v[i].s, l->v[i].n);
    }
    free(run.s);
    sl_free(l);
    *l = out;
    return err;
}

static int dec_strip(strbuf *t, const tok_dec_op *op) {
    size_t a = 0, b = t->n;
    for (int k = 0; k < op->strip_start && a < b; k++) {
        uint32_t cp;
        int l = tok_utf8_next(t->s + a, b - a, &cp);
        if (cp != op->strip_cp) break;
        a += (size_t)l;
    }
    for (int k = 0; k < op->strip_stop && b > a; k++) {
        size_t st;
        uint32_t cp = cp_before(t->s, b, &st);
        if (cp != op->strip_cp || st < a) break;
        b = st;
    }
    memmove(t->s, t->s + a, b - a);
    t->n = b - a;
    t->s[t->n] = 0;
    return 0;
}

static int run_decoder(const saex_tokenizer *tok, strlist *l) {
    for (int k = 0; k < tok->n_dec; k++) {
        const tok_dec_op *op = &tok->dec[k];
        switch (op->kind) {
        case DEC_REPLACE:
            for (size_t i = 0; i < l->n; i++) {
                strbuf r = {0};
                if (sb_add_replaced(&r, l->v[i].s, l->v[i].n, op->pattern, op->content)) {
                    free(r.s);
                    return -1;
                }
                free(l->v[i].s);
                l->v[i] = r;
            }
            break;
        case DEC_BYTE_FALLBACK:
            if (dec_byte_fallback(l)) return -1;
            break;
        case DEC_FUSE: {
            strbuf all = {0};
            if (sb_add(&all, "", 0)) return -1;
            for (size_t i = 0; i < l->n; i++)
                if (sb_add(&all, l->v[i].s, l->v[i].n)) {
                    free(all.s);
                    return -1;
                }
            sl_free(l);
            if (sl_push(l, all.s, all.n)) {
                free(all.s);
                return -1;
            }
            free(all.s);
            break;
        }
        case DEC_STRIP:
            for (size_t i = 0; i < l->n; i++) dec_strip(&l->v[i], op);
            break;
        }
    }
    return 0;
}

saex_status saex_detokenize(const saex_tokenizer *tok, const int32_t *ids, size_t n_ids, int skip_special, char **text,
                            size_t *len) {
    if (!tok || !text || (!ids && n_ids)) return saex_fail(SAEX_ERR_ARG, "saex_detokenize: NULL argument");
    *text = NULL;
    if (len) *len = 0;
    strlist l = {0};
    for (size_t i = 0; i < n_ids; i++) {
        int32_t id = ids[i];
        if (id < 0 || id >= tok->n_ids || !tok->piece[id].s) {
            sl_free(&l);
            return saex_fail(SAEX_ERR_RANGE, "saex_detokenize: ids[%zu] = %d is not in the vocabulary (%s, %d ids)", i, id,
                             tok->path, tok->n_ids);
        }
        if (skip_special && tok->special[id]) continue;
        if (sl_push(&l, tok->piece[id].s, tok->piece[id].n)) goto oom;
    }
    strbuf all = {0};
    if (sb_add(&all, "", 0)) goto oom;
    if (tok->n_dec < 0) { /* no decoder: HF joins the tokens with spaces */
        for (size_t i = 0; i < l.n; i++)
            if ((i && sb_add(&all, " ", 1)) || sb_add(&all, l.v[i].s, l.v[i].n)) goto oom_all;
    } else {
        if (run_decoder(tok, &l)) goto oom_all;
        for (size_t i = 0; i < l.n; i++)
            if (sb_add(&all, l.v[i].s, l.v[i].n)) goto oom_all;
    }
    sl_free(&l);
    *text = all.s;
    if (len) *len = all.n;
    return SAEX_OK;
oom_all:
    free(all.s);
oom:
    sl_free(&l);
    return saex_fail(SAEX_ERR_NOMEM, "saex_detokenize: out of memory");
}

/* ------------------------------------------------------------------ accessors */

const char *saex_token_piece(const saex_tokenizer *tok, int32_t id) {
    if (!tok || id < 0 || id >= tok->n_ids) return NULL;
    return tok->piece[id].s;
}

int32_t saex_tokenizer_vocab_size(const saex_tokenizer *tok) { return tok ? tok->n_ids : 0; }

int32_t saex_tokenizer_token_id(const saex_tokenizer *tok, const char *piece) {
    if (!tok || !piece) return -1;
    size_t n = strlen(piece);
    for (int k = 0; k < tok->n_added; k++)
        if (tok->added[k].content.n == n && !memcmp(tok->added[k].content.s, piece, n)) return tok->added[k].id;
    return tok_strmap_get(&tok->vocab, tok->vpiece, piece, n);
}

int32_t saex_tokenizer_bos_id(const saex_tokenizer *tok) { return tok && tok->n_prefix ? tok->prefix[0] : -1; }
