/* cmd_tokenize.c — `saex tokenize`: text -> token ids as JSON.
 *
 *   saex tokenize --tokenizer PATH [--text STR] [--no-bos] [--tokens] [--jsonl]
 *
 * Text comes from --text or stdin. --jsonl reads lines {"text": ...} and
 * writes one {"ids": [...]} line per input line, in order. Exit codes:
 * 0 ok, 1 bad data (tokenizer file, text), 2 bad usage. */
#include "saex.h"
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"

static void usage(FILE *f) {
    fprintf(f, "usage: saex tokenize --tokenizer PATH [--text STR] [--no-bos] [--tokens] [--jsonl]\n"
               "  --tokenizer PATH  a tokenizer.json, or a model directory that holds one\n"
               "  --text STR        the text (default: all of stdin)\n"
               "  --no-bos          do not add the BOS token\n"
               "  --tokens          print {\"ids\": [...], \"tokens\": [...]}\n"
               "  --jsonl           stdin holds lines {\"text\": ...}; print one {\"ids\": [...]} line each\n");
}

static char *read_all(FILE *f, size_t *n) {
    size_t cap = 1 << 16;
    char *buf = malloc(cap);
    *n = 0;
    while (buf) {
        size_t r = fread(buf + *n, 1, cap - *n, f);
        *n += r;
        if (r == 0) break;
        if (*n == cap) {
            char *nb = realloc(buf, cap *= 2);
            if (!nb) free(buf);
            buf = nb;
        }
    }
    return buf;
}

/* The JSON value for one text: an array of ids, or {"ids", "tokens"}. */
static json_t *result(const saex_tokenizer *tok, const int32_t *ids, size_t n, int with_tokens, int force_obj) {
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++) json_array_append_new(arr, json_integer(ids[i]));
    if (!with_tokens && !force_obj) return arr;
    json_t *obj = json_object();
    json_object_set_new(obj, "ids", arr);
    if (with_tokens) {
        json_t *toks = json_array();
        for (size_t i = 0; i < n; i++) {
            const char *p = saex_token_piece(tok, ids[i]);
            json_array_append_new(toks, json_stringn(p ? p : "", p ? strlen(p) : 0));
        }
        json_object_set_new(obj, "tokens", toks);
    }
    return obj;
}

static int print_json(json_t *j) {
    int rc = json_dumpf(j, stdout, JSON_COMPACT | JSON_ENSURE_ASCII) == 0 && fputc('\n', stdout) != EOF ? 0 : 1;
    json_decref(j);
    return rc;
}

static int run_jsonl(const saex_tokenizer *tok, int add_bos, int with_tokens) {
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    long lineno = 0;
    int rc = 0;
    while (!rc && (len = getline(&line, &cap, stdin)) >= 0) {
        lineno++;
        json_error_t err;
        json_t *j = json_loadb(line, (size_t)len, JSON_ALLOW_NUL, &err);
        json_t *text = j ? json_object_get(j, "text") : NULL;
        if (!json_is_string(text)) {
            fprintf(stderr, "saex tokenize: stdin line %ld: expected {\"text\": \"...\"}%s%s\n", lineno, j ? "" : ": ",
                    j ? "" : err.text);
            json_decref(j);
            rc = 1;
            break;
        }
        int32_t *ids = NULL;
        size_t n = 0;
        if (saex_tokenize(tok, json_string_value(text), json_string_length(text), add_bos, &ids, &n) != SAEX_OK) {
            fprintf(stderr, "saex tokenize: stdin line %ld: %s\n", lineno, saex_last_error());
            rc = 1;
        } else {
            rc = print_json(result(tok, ids, n, with_tokens, 1));
        }
        saex_free(ids);
        json_decref(j);
    }
    free(line);
    return rc;
}

int cmd_tokenize(int argc, char **argv) {
    const char *path = NULL, *text = NULL;
    int add_bos = 1, with_tokens = 0, jsonl = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(a, "--tokenizer") || !strcmp(a, "--text")) {
            if (i + 1 >= argc) {
                fprintf(stderr, "saex tokenize: %s needs a value\n", a);
                usage(stderr);
                return 2;
            }
            if (!strcmp(a, "--tokenizer")) path = argv[++i];
            else text = argv[++i];
        } else if (!strcmp(a, "--no-bos")) {
            add_bos = 0;
        } else if (!strcmp(a, "--tokens")) {
            with_tokens = 1;
        } else if (!strcmp(a, "--jsonl")) {
            jsonl = 1;
        } else {
            fprintf(stderr, "saex tokenize: unknown argument '%s'\n", a);
            usage(stderr);
            return 2;
        }
    }
    if (!path) {
        fprintf(stderr, "saex tokenize: --tokenizer PATH is required\n");
        usage(stderr);
        return 2;
    }
    if (jsonl && text) {
        fprintf(stderr, "saex tokenize: --jsonl reads stdin; it does not take --text\n");
        return 2;
    }
    saex_tokenizer *tok = NULL;
    if (saex_tokenizer_open(path, &tok) != SAEX_OK) {
        fprintf(stderr, "saex tokenize: %s\n", saex_last_error());
        return 1;
    }
    int rc;
    if (jsonl) {
        rc = run_jsonl(tok, add_bos, with_tokens);
    } else {
        size_t n_text = 0;
        char *buf = NULL;
        if (text) {
            n_text = strlen(text);
        } else {
            buf = read_all(stdin, &n_text);
            if (!buf) {
                fprintf(stderr, "saex tokenize: cannot read stdin\n");
                saex_tokenizer_close(tok);
                return 1;
            }
            text = buf;
        }
        int32_t *ids = NULL;
        size_t n = 0;
        if (saex_tokenize(tok, text, n_text, add_bos, &ids, &n) != SAEX_OK) {
            fprintf(stderr, "saex tokenize: %s\n", saex_last_error());
            rc = 1;
        } else {
            rc = print_json(result(tok, ids, n, with_tokens, 0));
        }
        saex_free(ids);
        free(buf);
    }
    saex_tokenizer_close(tok);
    return rc;
}
