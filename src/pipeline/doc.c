/* doc.c — reading an input document in any of its three forms.
 *
 *   results  {"results": [{..., "variations": [{prompt, response, ...}]}], ...}
 *   list     [{prompt, response, ...}, ...]
 *   jsonl    one {prompt, response, ...} object per line (.jsonl, or several top-level values)
 *
 * The parsed tree is kept whole: the output is this tree with the results
 * merged in, so every input field survives in its order. Python's json.dump
 * writes the bare tokens NaN, Infinity and -Infinity, which JSON (and
 * jansson) reject; they are rewritten before parsing into reserved strings
 * (JW_NONFINITE_PREFIX) that the writer prints back as the same tokens. */
#include "digest.h"
#include "error.h"
#include "json_write.h"
#include "pipeline.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const char *saex_doc_form_name(saex_doc_form f) {
    return f == SAEX_FORM_RESULTS ? "results" : f == SAEX_FORM_LIST ? "list" : "jsonl";
}

/* ------------------------------------------------------------ raw bytes */

static saex_status read_fd(int fd, const char *name, char **data, size_t *len) {
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    if (!buf) return saex_fail(SAEX_ERR_NOMEM, "%s: out of memory", name);
    for (;;) {
        if (n == cap) {
            char *nb = realloc(buf, cap * 2);
            if (!nb) {
                free(buf);
                return saex_fail(SAEX_ERR_NOMEM, "%s: out of memory reading %zu bytes", name, n);
            }
            buf = nb, cap *= 2;
        }
        ssize_t r = read(fd, buf + n, cap - n);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) {
            int e = errno;
            free(buf);
            return saex_fail(SAEX_ERR_IO, "cannot read input %s: %s", name, strerror(e));
        }
        if (r == 0) break;
        n += (size_t)r;
    }
    *data = buf, *len = n;
    return SAEX_OK;
}

static saex_status read_path(const char *path, char **data, size_t *len) {
    if (strcmp(path, "-") == 0) return read_fd(0, "<stdin>", data, len);
    FILE *f = fopen(path, "rb");
    if (!f) return saex_fail(SAEX_ERR_IO, "cannot read input %s: %s", path, strerror(errno));
    saex_status st = read_fd(fileno(f), path, data, len);
    fclose(f);
    return st;
}

/* ------------------------------------------------------------ NaN / Infinity */

static int is_word_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '.';
}

/* Length of a non-finite token at p (outside strings), or 0. */
static size_t nonfinite_at(const char *p, const char *end, const char **word) {
    static const char *const words[] = {"-Infinity", "Infinity", "NaN"};
    for (int i = 0; i < 3; i++) {
        size_t n = strlen(words[i]);
        if ((size_t)(end - p) >= n && memcmp(p, words[i], n) == 0 && (p + n == end || !is_word_char(p[n]))) {
            *word = words[i];
            return n;
        }
    }
    return 0;
}

/* Rewrites bare NaN / Infinity / -Infinity outside strings into reserved
 * strings. *out is NULL when the text has none (parse the original). */
static saex_status rewrite_nonfinite(const char *name, const char *s, size_t n, char **out, size_t *out_len) {
    *out = NULL;
    static const char reserved[] = "\\u0000saex-nonfinite:";
    if (memmem(s, n, reserved, sizeof reserved - 1))
        return saex_fail(SAEX_ERR_FORMAT, "%s: contains the string \"\\u0000saex-nonfinite:\", which saex reserves "
                                          "for NaN and Infinity", name);
    size_t cap = 0, w = 0;
    char *buf = NULL;
    int in_str = 0;
    size_t copied = 0; /* s[copied..i) not yet copied */
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (in_str) {
            if (c == '\\') i++;
            else if (c == '"') in_str = 0;
            continue;
        }
        if (c == '"') {
            in_str = 1;
            continue;
        }
        if (c != 'N' && c != 'I' && c != '-') continue;
        if (i > 0 && is_word_char(s[i - 1])) continue;
        const char *word;
        size_t len = nonfinite_at(s + i, s + n, &word);
        if (!len) continue;
        size_t need = w + (i - copied) + strlen(word) + sizeof reserved + 2 + (n - i);
        if (need > cap) {
            cap = need * 2;
            char *nb = realloc(buf, cap);
            if (!nb) {
                free(buf);
                return saex_fail(SAEX_ERR_NOMEM, "%s: out of memory", name);
            }
            buf = nb;
        }
        memcpy(buf + w, s + copied, i - copied), w += i - copied;
        w += (size_t)sprintf(buf + w, "\"%s%s\"", reserved, word);
        i += len - 1;
        copied = i + 1;
    }
    if (!buf) return SAEX_OK;
    memcpy(buf + w, s + copied, n - copied), w += n - copied;
    *out = buf, *out_len = w;
    return SAEX_OK;
}

/* ------------------------------------------------------------ parsing */

static int ends_with(const char *s, const char *suffix) {
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcmp(s + a - b, suffix) == 0;
}

/* JSON Lines: every non-blank line one object. report: fail with a message
 * (else return NULL quietly, when only probing). */
static json_t *parse_jsonl(const char *name, const char *buf, size_t len, int report, saex_status *st) {
    json_t *arr = json_array();
    size_t line_no = 0;
    for (size_t i = 0; i < len && arr;) {
        size_t j = i;
        while (j < len && buf[j] != '\n') j++;
        line_no++;
        size_t k = i;
        while (k < j && (buf[k] == ' ' || buf[k] == '\t' || buf[k] == '\r')) k++;
        if (k < j) {
            json_error_t err;
            json_t *v = json_loadb(buf + i, j - i, JSON_ALLOW_NUL, &err);
            if (!v || !json_is_object(v)) {
                if (report && v) *st = saex_fail(SAEX_ERR_FORMAT, "%s:%zu: JSON Lines: each line must be a JSON object", name, line_no);
                else if (report) *st = saex_fail(SAEX_ERR_FORMAT, "%s:%zu:%d: malformed JSON: %s", name, line_no, err.column, err.text);
                json_decref(v);
                json_decref(arr);
                return NULL;
            }
            json_array_append_new(arr, v);
        }
        i = j + 1;
    }
    return arr;
}

static saex_status parse_root(saex_doc *d, const char *buf, size_t len) {
    saex_status st = SAEX_OK;
    if (ends_with(d->name, ".jsonl")) {
        d->form = SAEX_FORM_JSONL;
        d->root = parse_jsonl(d->name, buf, len, 1, &st);
        return st;
    }
    json_error_t err;
    d->root = json_loadb(buf, len, JSON_ALLOW_NUL | JSON_DECODE_ANY, &err);
    if (!d->root) {
        /* Several top-level values: JSON Lines by content. */
        json_t *lines = strstr(err.text, "end of file expected") ? parse_jsonl(d->name, buf, len, 0, &st) : NULL;
        if (lines && json_array_size(lines) >= 2) {
            d->form = SAEX_FORM_JSONL;
            d->root = lines;
            return SAEX_OK;
        }
        json_decref(lines);
        return saex_fail(SAEX_ERR_FORMAT, "%s:%d:%d: malformed JSON: %s", d->name, err.line, err.column, err.text);
    }
    if (json_is_object(d->root)) d->form = SAEX_FORM_RESULTS;
    else if (json_is_array(d->root)) d->form = SAEX_FORM_LIST;
    else return saex_fail(SAEX_ERR_FORMAT, "%s: the top level is neither an object with \"results\" nor a list", d->name);
    return SAEX_OK;
}

static saex_status add_sample(saex_doc *d, int64_t *cap, json_t *var, json_t *result, int64_t r, int64_t v) {
    if (d->n == *cap) {
        *cap = *cap ? *cap * 2 : 64;
        doc_sample *ns = realloc(d->s, (size_t)*cap * sizeof *ns);
        if (!ns) return saex_fail(SAEX_ERR_NOMEM, "%s: out of memory", d->name);
        d->s = ns;
    }
    d->s[d->n++] = (doc_sample){var, result, r, v};
    return SAEX_OK;
}

static saex_status collect_results(saex_doc *d, int64_t *cap) {
    json_t *results = json_object_get(d->root, "results");
    if (!json_is_array(results))
        return saex_fail(SAEX_ERR_FORMAT, "%s: the top-level object has no \"results\" list (expected {\"results\": "
                         "[{\"variations\": [...]}]}, a list of {prompt, response} objects, or JSON Lines)", d->name);
    for (size_t r = 0; r < json_array_size(results); r++) {
        json_t *res = json_array_get(results, r);
        json_t *vars = json_object_get(res, "variations");
        if (!json_is_object(res) || !json_is_array(vars))
            return saex_fail(SAEX_ERR_FORMAT, "%s: results[%zu] is not an object with a \"variations\" list", d->name, r);
        for (size_t v = 0; v < json_array_size(vars); v++) {
            json_t *var = json_array_get(vars, v);
            if (!json_is_object(var))
                return saex_fail(SAEX_ERR_FORMAT, "%s: results[%zu].variations[%zu] is not an object", d->name, r, v);
            saex_status st = add_sample(d, cap, var, res, (int64_t)r, (int64_t)v);
            if (st) return st;
        }
    }
    return SAEX_OK;
}

static saex_status collect(saex_doc *d) {
    int64_t cap = 0;
    saex_status st = SAEX_OK;
    if (d->form == SAEX_FORM_RESULTS) {
        st = collect_results(d, &cap);
    } else {
        for (size_t i = 0; i < json_array_size(d->root) && !st; i++) {
            json_t *var = json_array_get(d->root, i);
            if (!json_is_object(var))
                return d->form == SAEX_FORM_LIST
                           ? saex_fail(SAEX_ERR_FORMAT, "%s: element [%zu] of the top-level list is not an object", d->name, i)
                           : saex_fail(SAEX_ERR_FORMAT, "%s: record %zu is not an object", d->name, i);
            st = add_sample(d, &cap, var, NULL, (int64_t)i, 0);
        }
    }
    if (!st && d->n == 0) st = saex_fail(SAEX_ERR_FORMAT, "%s: no variations to process", d->name);
    return st;
}

/* A list / JSON Lines output keeps its metadata in NAME.meta.json; when such
 * a file is the input of a second run, its layers' metadata carries over. */
static void load_prior_meta(saex_doc *d) {
    if (d->form == SAEX_FORM_RESULTS || strcmp(d->name, "<stdin>") == 0) return;
    size_t n = strlen(d->name);
    char *p = malloc(n + 11);
    if (!p) return;
    memcpy(p, d->name, n);
    memcpy(p + n, ".meta.json", 11);
    json_t *side = json_load_file(p, JSON_ALLOW_NUL, NULL);
    free(p);
    json_t *m = json_object_get(side, "sae_extraction_metadata");
    if (json_is_object(m)) d->prior_meta = json_incref(m);
    json_decref(side);
}

saex_status saex_doc_parse(const char *name, const void *data, size_t len, saex_doc **out) {
    *out = NULL;
    saex_doc *d = calloc(1, sizeof *d);
    if (!d || !(d->name = strdup(name ? name : "<input>"))) {
        free(d);
        return saex_fail(SAEX_ERR_NOMEM, "out of memory");
    }
    const char *buf = data;
    saex_status st = sha256_hex(buf, len, d->sha256);
    if (!st && len >= 3 && memcmp(buf, "\xEF\xBB\xBF", 3) == 0) buf += 3, len -= 3; /* UTF-8 byte order mark */
    char *rewritten = NULL;
    size_t rlen = 0;
    if (!st) st = rewrite_nonfinite(d->name, buf, len, &rewritten, &rlen);
    if (!st) st = parse_root(d, rewritten ? rewritten : buf, rewritten ? rlen : len);
    free(rewritten);
    if (!st) st = collect(d);
    if (st) {
        saex_doc_close(d);
        return st;
    }
    load_prior_meta(d);
    *out = d;
    return SAEX_OK;
}

saex_status saex_doc_load(const char *path, saex_doc **out) {
    *out = NULL;
    char *data = NULL;
    size_t len = 0;
    saex_status st = read_path(path, &data, &len);
    if (st) return st;
    st = saex_doc_parse(strcmp(path, "-") == 0 ? "<stdin>" : path, data, len, out);
    free(data);
    return st;
}

void saex_doc_close(saex_doc *d) {
    if (!d) return;
    json_decref(d->root);
    json_decref(d->prior_meta);
    free(d->s);
    free(d->name);
    free(d);
}

saex_doc_form saex_doc_form_of(const saex_doc *d) { return d->form; }
int64_t saex_doc_n_samples(const saex_doc *d) { return d->n; }
const char *saex_doc_sha256(const saex_doc *d) { return d->sha256; }

void saex_doc_sample_where(const saex_doc *d, int64_t i, int64_t *r, int64_t *v) {
    if (r) *r = i >= 0 && i < d->n ? d->s[i].r : -1;
    if (v) *v = i >= 0 && i < d->n ? d->s[i].v : -1;
}

saex_status saex_doc_sample_json(const saex_doc *d, int64_t i, char **json, size_t *len) {
    if (i < 0 || i >= d->n) return saex_fail(SAEX_ERR_ARG, "%s: no sample %lld (the document has %lld)", d->name, (long long)i, (long long)d->n);
    return jw_to_string(d->s[i].var, 0, json, len);
}

/* ------------------------------------------------------------ labels */

/* Appends a label field (a string or an integer) to buf, at most 40 bytes of
 * it, control characters as '?' and never half a UTF-8 character. */
static void label_part(char *buf, size_t size, const json_t *v) {
    char tmp[64];
    const char *t = tmp;
    size_t n;
    if (json_is_string(v)) {
        t = json_string_value(v);
        n = json_string_length(v);
    } else {
        n = (size_t)snprintf(tmp, sizeof tmp, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
    }
    if (n > 40) {
        n = 40;
        while (n > 0 && ((unsigned char)t[n] & 0xC0) == 0x80) n--; /* t[n] continues a character */
    }
    size_t len = strlen(buf);
    if (len && len + 1 < size) buf[len++] = ' ';
    for (size_t i = 0; i < n && len + 1 < size; i++) buf[len++] = (unsigned char)t[i] < 0x20 ? '?' : t[i];
    buf[len] = '\0';
}

static int is_label(const json_t *v) { return json_is_string(v) || json_is_integer(v); }

void saex_doc_sample_label(const saex_doc *d, int64_t i, char *buf, size_t size) {
    if (!size) return;
    buf[0] = '\0';
    if (i < 0 || i >= d->n) return;
    const doc_sample *s = &d->s[i];
    const json_t *q = json_object_get(s->var, "question_id");
    if (!is_label(q) && s->result) q = json_object_get(s->result, "question_id");
    const json_t *t = json_object_get(s->var, "template_type");
    if (is_label(q)) label_part(buf, size, q);
    if (is_label(t)) label_part(buf, size, t);
    if (!buf[0]) snprintf(buf, size, "r%lld v%lld", (long long)s->r, (long long)s->v);
}
