/* encode.c — a variation's text -> the token sequence the model sees.
 *
 *   separate (default)  tokens(prompt, with BOS) ++ tokens(response, no BOS);
 *                       answer_start_position = #prompt tokens
 *   joint               tokens(prompt + response, with BOS) as one string; the
 *                       answer starts at the first token whose byte span ends
 *                       past the prompt's last byte (a token straddling the
 *                       boundary belongs to the response)
 *   given               "prompt_token_ids" / "response_token_ids" in the
 *                       variation are used as they are (each independently)
 *
 * The response may be empty: the last prompt token does not depend on it.
 * The gemma chat template wraps the prompt as Gemma's own template does —
 * "<start_of_turn>user\n" + trim(prompt) + "<end_of_turn>\n<start_of_turn>model\n"
 * (Jinja's trim: Python's str.strip) — unless the prompt already starts with
 * "<bos>" or "<start_of_turn>"; a text that starts with "<bos>" gets no
 * second BOS. */
#include "error.h"
#include "pipeline.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *tok_mode_name(tok_mode m) {
    switch (m) {
    case TOK_SEPARATE: return "separate";
    case TOK_JOINT: return "joint";
    case TOK_GIVEN: return "given";
    case TOK_GIVEN_SEPARATE: return "given+separate";
    default: return "none";
    }
}

static int starts_with(const char *s, size_t len, const char *prefix) {
    size_t n = strlen(prefix);
    return len >= n && memcmp(s, prefix, n) == 0;
}

/* Length in bytes of a whitespace character (Python's str.isspace) at s, or 0. */
static size_t space_at(const unsigned char *s, size_t n) {
    if (n >= 1 && ((s[0] >= 0x09 && s[0] <= 0x0D) || (s[0] >= 0x1C && s[0] <= 0x20))) return 1;
    if (n >= 2 && s[0] == 0xC2 && (s[1] == 0x85 || s[1] == 0xA0)) return 2;
    if (n < 3) return 0;
    uint32_t cp = ((uint32_t)(s[0] & 0x0F) << 12) | ((uint32_t)(s[1] & 0x3F) << 6) | (s[2] & 0x3F);
    if ((s[0] & 0xF0) != 0xE0) return 0;
    int sp = cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 || cp == 0x202F ||
             cp == 0x205F || cp == 0x3000;
    return sp ? 3 : 0;
}

/* Python's str.strip() on UTF-8: [*start, *end) without outer whitespace. */
static void strip_space(const char *s, size_t len, size_t *start, size_t *end) {
    const unsigned char *u = (const unsigned char *)s;
    size_t a = 0, b = len, k;
    while (a < b && (k = space_at(u + a, b - a)) > 0) a += k;
    for (;;) { /* from the right: try each width a character may have */
        size_t w = 0;
        for (size_t cand = 1; cand <= 3 && cand <= b - a; cand++)
            if (space_at(u + b - cand, cand) == cand) w = cand;
        if (!w) break;
        b -= w;
    }
    *start = a, *end = b;
}

char *apply_chat_template(const char *prompt, size_t len, saex_chat_template chat, size_t *out_len) {
    static const char head[] = "<start_of_turn>user\n";
    static const char tail[] = "<end_of_turn>\n<start_of_turn>model\n";
    int wrap = chat == SAEX_CHAT_GEMMA && !starts_with(prompt, len, "<bos>") && !starts_with(prompt, len, "<start_of_turn>");
    size_t a = 0, b = len;
    if (wrap) strip_space(prompt, len, &a, &b);
    size_t body = b - a, n = wrap ? sizeof head - 1 + body + sizeof tail - 1 : len;
    char *s = malloc(n + 1);
    if (!s) return NULL;
    if (wrap) {
        memcpy(s, head, sizeof head - 1);
        memcpy(s + sizeof head - 1, prompt + a, body);
        memcpy(s + sizeof head - 1 + body, tail, sizeof tail - 1);
    } else {
        memcpy(s, prompt, len);
    }
    s[n] = '\0';
    *out_len = n;
    return s;
}

size_t piece_text_bytes(const char *piece) {
    size_t n = strlen(piece);
    if (n == 6 && piece[0] == '<' && piece[1] == '0' && piece[2] == 'x' && piece[5] == '>') return 1;
    size_t bytes = 0;
    for (size_t i = 0; i < n; bytes++) /* U+2581 stands for one space byte */
        i += i + 3 <= n && memcmp(piece + i, "\xE2\x96\x81", 3) == 0 ? 3 : 1;
    return bytes;
}

/* ------------------------------------------------------------ failures */

static void fail(encoded *e, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
static void fail(encoded *e, const char *fmt, ...) {
    if (e->reason) return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    e->reason = malloc((size_t)n + 1);
    if (!e->reason) return; /* the caller sees reason == NULL and ids == NULL: out of memory */
    va_start(ap, fmt);
    vsnprintf(e->reason, (size_t)n + 1, fmt, ap);
    va_end(ap);
}

/* ------------------------------------------------------------ pieces */

typedef struct {
    int32_t *ids;
    size_t n;
    int owned_by_lib; /* from saex_tokenize (saex_free) rather than malloc */
} idlist;

static void idlist_free(idlist *l) {
    if (l->owned_by_lib) saex_free(l->ids);
    else free(l->ids);
    memset(l, 0, sizeof *l);
}

/* A JSON list of token ids, each checked against the vocabulary. Returns 0,
 * 1 when the sample fails (reason set), -1 when out of memory. */
static int given_ids(encoded *e, const char *field, json_t *arr, int vocab, idlist *out) {
    if (!json_is_array(arr)) {
        fail(e, "\"%s\" is not a list of token ids", field);
        return 1;
    }
    out->n = json_array_size(arr);
    out->ids = malloc((out->n ? out->n : 1) * sizeof *out->ids);
    if (!out->ids) return -1;
    for (size_t i = 0; i < out->n; i++) {
        json_t *v = json_array_get(arr, i);
        if (!json_is_integer(v)) {
            fail(e, "\"%s\"[%zu] is not an integer token id", field, i);
            return 1;
        }
        json_int_t id = json_integer_value(v);
        if (id < 0 || id >= vocab) {
            fail(e, "\"%s\"[%zu] = %lld is not a token id of this tokenizer (0..%d)", field, i, (long long)id, vocab - 1);
            return 1;
        }
        out->ids[i] = (int32_t)id;
    }
    return 0;
}

static int tokenize(encoded *e, const saex_tokenizer *tok, const char *what, const char *text, size_t len,
                    int add_bos, idlist *out) {
    size_t n = 0;
    out->owned_by_lib = 1;
    saex_status st = saex_tokenize(tok, text, len, add_bos, &out->ids, &n);
    if (st == SAEX_ERR_NOMEM) return -1;
    if (st != SAEX_OK) {
        fail(e, "tokenizing the %s: %s", what, saex_last_error());
        return 1;
    }
    out->n = n;
    return 0;
}

/* The string field of the variation (or, for "prompt", of its result). */
static json_t *text_field(const doc_sample *s, const char *name) {
    json_t *v = json_object_get(s->var, name);
    if (!v && s->result && strcmp(name, "prompt") == 0) v = json_object_get(s->result, name);
    return v;
}

static int check_text(encoded *e, const char *name, json_t *v, int may_be_empty) {
    if (!v) fail(e, "no \"%s\" field", name);
    else if (!json_is_string(v)) fail(e, "\"%s\" is not a string", name);
    else if (!may_be_empty && json_string_length(v) == 0) fail(e, "\"%s\" is empty", name);
    else return 0;
    return 1;
}

/* ------------------------------------------------------------ modes */

/* joint mode: one string, the boundary found from the byte spans of the pieces. */
static int encode_joint(encoded *e, const saex_tokenizer *tok, const char *ptext, size_t plen, json_t *resp) {
    size_t rlen = json_string_length(resp), n = plen + rlen;
    char *full = malloc(n + 1);
    if (!full) return -1;
    memcpy(full, ptext, plen);
    memcpy(full + plen, json_string_value(resp), rlen);
    full[n] = '\0';
    int add_bos = !starts_with(full, n, "<bos>");
    idlist l = {0};
    int rc = tokenize(e, tok, "prompt + response", full, n, add_bos, &l);
    free(full);
    if (rc) return rc;
    size_t end = 0, boundary = l.n;
    for (size_t i = 0; i < l.n; i++) {
        const char *piece = saex_token_piece(tok, l.ids[i]);
        end += (add_bos && i == 0) ? 0 : piece ? piece_text_bytes(piece) : 0;
        if (boundary == l.n && end > plen) boundary = i;
    }
    if (end != n) fail(e, "joint tokenization: the token pieces cover %zu bytes, the text has %zu; "
                          "use the default separate tokenization", end, n);
    else if (boundary == 0) fail(e, "joint tokenization: the prompt has no tokens of its own");
    if (e->reason) {
        idlist_free(&l);
        return 1;
    }
    e->ids = malloc((l.n ? l.n : 1) * sizeof *e->ids);
    if (!e->ids) {
        idlist_free(&l);
        return -1;
    }
    memcpy(e->ids, l.ids, l.n * sizeof *l.ids);
    e->n_ids = (int32_t)l.n;
    e->prompt_len = (int32_t)boundary;
    e->mode = TOK_JOINT;
    idlist_free(&l);
    return 0;
}

static int concat(encoded *e, idlist *p, idlist *r, int given_p, int given_r) {
    if (p->n == 0) {
        fail(e, "the prompt has no tokens");
        return 1;
    }
    e->ids = malloc((p->n + r->n) * sizeof *e->ids);
    if (!e->ids) return -1;
    memcpy(e->ids, p->ids, p->n * sizeof *p->ids);
    if (r->n) memcpy(e->ids + p->n, r->ids, r->n * sizeof *r->ids);
    e->n_ids = (int32_t)(p->n + r->n);
    e->prompt_len = (int32_t)p->n;
    e->mode = given_p && given_r ? TOK_GIVEN : (given_p || given_r) ? TOK_GIVEN_SEPARATE : TOK_SEPARATE;
    return 0;
}

static int encode_impl(const doc_sample *s, const saex_tokenizer *tok, const encode_opts *o, encoded *e) {
    int vocab = saex_tokenizer_vocab_size(tok);
    json_t *pids = json_object_get(s->var, "prompt_token_ids");
    json_t *rids = json_object_get(s->var, "response_token_ids");
    json_t *prompt = pids ? NULL : text_field(s, "prompt");
    json_t *resp = rids ? NULL : text_field(s, "response");
    if ((!pids && check_text(e, "prompt", prompt, 0)) || (!rids && check_text(e, "response", resp, 1))) return 1;

    size_t plen = 0;
    char *ptext = NULL;
    if (!pids) {
        ptext = apply_chat_template(json_string_value(prompt), json_string_length(prompt), o->chat, &plen);
        if (!ptext) return -1;
        if (o->joint && !rids) {
            int rc = encode_joint(e, tok, ptext, plen, resp);
            free(ptext);
            return rc;
        }
    }
    idlist p = {0}, r = {0};
    int rc = pids ? given_ids(e, "prompt_token_ids", pids, vocab, &p)
                  : tokenize(e, tok, "prompt", ptext, plen, !starts_with(ptext, plen, "<bos>"), &p);
    free(ptext);
    if (!rc) rc = rids ? given_ids(e, "response_token_ids", rids, vocab, &r)
                       : tokenize(e, tok, "response", json_string_value(resp), json_string_length(resp), 0, &r);
    if (!rc) rc = concat(e, &p, &r, pids != NULL, rids != NULL);
    idlist_free(&p);
    idlist_free(&r);
    return rc;
}

saex_status encode_sample(const saex_doc *d, int64_t i, const saex_tokenizer *tok, const encode_opts *o, encoded *e) {
    memset(e, 0, sizeof *e);
    int rc = encode_impl(&d->s[i], tok, o, e);
    if (rc == 1 && !e->reason) rc = -1; /* the reason itself could not be allocated */
    if (rc < 0) {
        free(e->ids);
        free(e->reason);
        memset(e, 0, sizeof *e);
        return saex_fail(SAEX_ERR_NOMEM, "%s: out of memory while tokenizing sample %lld", d->name, (long long)i);
    }
    if (rc == 1) {
        free(e->ids);
        e->ids = NULL;
    }
    return SAEX_OK;
}
