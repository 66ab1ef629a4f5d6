/* encode.c — tokenization of one variation. */
#include "encode.h"

#include <stdlib.h>
#include <string.h>

static int starts_with(const char *s, size_t len, const char *prefix) {
    size_t n = strlen(prefix);
    return len >= n && memcmp(s, prefix, n) == 0;
}

char *apply_chat_template(const char *prompt, size_t len, chat_template chat, size_t *out_len) {
    static const char head[] = "<start_of_turn>user\n";
    static const char tail[] = "<end_of_turn>\n<start_of_turn>model\n";
    int wrap = chat == CHAT_GEMMA && !starts_with(prompt, len, "<bos>") && !starts_with(prompt, len, "<start_of_turn>");
    size_t n = wrap ? sizeof head - 1 + len + sizeof tail - 1 : len;
    char *s = malloc(n + 1);
    if (!s) return NULL;
    if (wrap) {
        memcpy(s, head, sizeof head - 1);
        memcpy(s + sizeof head - 1, prompt, len);
        memcpy(s + sizeof head - 1 + len, tail, sizeof tail - 1);
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
    for (size_t i = 0; i < n;) {
        if (i + 3 <= n && memcmp(piece + i, "\xE2\x96\x81", 3) == 0) { /* U+2581 stands for ' ' */
            bytes++;
            i += 3;
        } else {
            bytes++;
            i++;
        }
    }
    return bytes;
}

/* A JSON list of ints -> ids, each checked against the vocabulary. */
static int given_ids(sample *s, const char *field, json_t *arr, int vocab, int32_t **ids, size_t *n) {
    if (!json_is_array(arr)) {
        sample_fail(s, "\"%s\" is not a list of token ids", field);
        return -1;
    }
    *n = json_array_size(arr);
    *ids = malloc((*n ? *n : 1) * sizeof **ids);
    if (!*ids) return -1;
    for (size_t i = 0; i < *n; i++) {
        json_t *v = json_array_get(arr, i);
        if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) >= vocab) {
            sample_fail(s, "\"%s\"[%zu] is not a token id in 0..%d", field, i, vocab - 1);
            free(*ids);
            *ids = NULL;
            return -1;
        }
        (*ids)[i] = (int32_t)json_integer_value(v);
    }
    return 0;
}

/* The string field of the variation (or, for "prompt", of its result). */
static json_t *text_field(const sample *s, const char *name) {
    json_t *v = json_object_get(s->var, name);
    if (!v && s->result && strcmp(name, "prompt") == 0) v = json_object_get(s->result, name);
    return v;
}

static int check_text(sample *s, const char *name, json_t *v) {
    if (!v) {
        sample_fail(s, "no \"%s\" field", name);
        return -1;
    }
    if (!json_is_string(v)) {
        sample_fail(s, "\"%s\" is not a string", name);
        return -1;
    }
    if (json_string_length(v) == 0) {
        sample_fail(s, "\"%s\" is empty", name);
        return -1;
    }
    return 0;
}

static int tokenize_or_fail(sample *s, const saex_tokenizer *tok, const char *what, const char *text, size_t len,
                            int add_bos, int32_t **ids, size_t *n) {
    if (saex_tokenize(tok, text, len, add_bos, ids, n) != SAEX_OK) {
        sample_fail(s, "tokenizing the %s: %s", what, saex_last_error());
        return -1;
    }
    return 0;
}

/* joint mode: one string, boundary found from the byte spans of the pieces. */
static int encode_joint(sample *s, const saex_tokenizer *tok, const char *ptext, size_t plen, json_t *resp) {
    size_t rlen = json_string_length(resp);
    size_t n = plen + rlen;
    char *full = malloc(n + 1);
    if (!full) return -1;
    memcpy(full, ptext, plen);
    memcpy(full + plen, json_string_value(resp), rlen);
    full[n] = '\0';
    int add_bos = !starts_with(full, n, "<bos>");
    int32_t *ids = NULL;
    size_t n_ids = 0;
    int rc = tokenize_or_fail(s, tok, "prompt + response", full, n, add_bos, &ids, &n_ids);
    free(full);
    if (rc) return 0;
    size_t end = 0, boundary = n_ids;
    for (size_t i = 0; i < n_ids; i++) {
        const char *piece = saex_token_piece(tok, ids[i]);
        size_t b = (add_bos && i == 0) ? 0 : piece ? piece_text_bytes(piece) : 0;
        end += b;
        if (boundary == n_ids && end > plen) boundary = i;
    }
    if (end != n) {
        sample_fail(s, "joint tokenization: the token pieces cover %zu bytes, the text has %zu; "
                       "use the default separate tokenization", end, n);
    } else if (boundary == n_ids) {
        sample_fail(s, "joint tokenization: the response produced no tokens of its own");
    } else if (boundary == 0) {
        sample_fail(s, "joint tokenization: the prompt has no tokens of its own");
    }
    if (!s->reason) s->ids = malloc(n_ids * sizeof *ids); /* owned with malloc, like the other modes */
    if (!s->reason && !s->ids) {
        saex_free(ids);
        return -1;
    }
    if (s->reason) {
        saex_free(ids);
        return 0;
    }
    memcpy(s->ids, ids, n_ids * sizeof *ids);
    saex_free(ids);
    s->n_ids = (int)n_ids;
    s->prompt_len = (int)boundary;
    s->tok_mode = "joint";
    return 0;
}

int encode_sample(sample *s, const saex_tokenizer *tok, const encode_opts *o) {
    int vocab = saex_tokenizer_vocab_size(tok);
    json_t *pids_j = json_object_get(s->var, "prompt_token_ids");
    json_t *rids_j = json_object_get(s->var, "response_token_ids");
    json_t *prompt = pids_j ? NULL : text_field(s, "prompt");
    json_t *resp = rids_j ? NULL : text_field(s, "response");
    if (!pids_j && check_text(s, "prompt", prompt)) return 0;
    if (!rids_j && check_text(s, "response", resp)) return 0;

    size_t plen = 0;
    char *ptext = NULL;
    if (!pids_j) {
        ptext = apply_chat_template(json_string_value(prompt), json_string_length(prompt), o->chat, &plen);
        if (!ptext) return -1;
        if (o->joint && !rids_j) {
            int rc = encode_joint(s, tok, ptext, plen, resp);
            free(ptext);
            return rc;
        }
    }

    int32_t *p = NULL, *r = NULL;
    size_t np = 0, nr = 0;
    int bad = pids_j ? given_ids(s, "prompt_token_ids", pids_j, vocab, &p, &np)
                     : tokenize_or_fail(s, tok, "prompt", ptext, plen, !starts_with(ptext, plen, "<bos>"), &p, &np);
    free(ptext);
    if (!bad) {
        bad = rids_j ? given_ids(s, "response_token_ids", rids_j, vocab, &r, &nr)
                     : tokenize_or_fail(s, tok, "response", json_string_value(resp), json_string_length(resp), 0, &r,
                                        &nr);
    }
    if (!bad && np == 0) {
        sample_fail(s, "the prompt has no tokens");
        bad = 1;
    }
    if (!bad && nr == 0) {
        sample_fail(s, "the response has no tokens");
        bad = 1;
    }
    if (!bad) {
        s->ids = malloc((np + nr) * sizeof *s->ids);
        if (!s->ids) bad = -1;
    }
    if (!bad) {
        memcpy(s->ids, p, np * sizeof *p);
        memcpy(s->ids + np, r, nr * sizeof *r);
        s->n_ids = (int)(np + nr);
        s->prompt_len = (int)np;
        s->tok_mode = pids_j && rids_j ? "given" : (pids_j || rids_j) ? "given+separate" : "separate";
    }
    if (pids_j) free(p);
    else saex_free(p);
    if (rids_j) free(r);
    else saex_free(r);
    return bad < 0 ? -1 : 0;
}
