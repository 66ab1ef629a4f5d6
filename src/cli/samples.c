/* samples.c — reading the three input forms into one document. */
#include "samples.h"
#include "args.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *input_form_name(input_form f) {
    return f == FORM_RESULTS ? "results" : f == FORM_LIST ? "list" : "jsonl";
}

void sample_fail(sample *s, const char *fmt, ...) {
    if (s->reason) return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    s->reason = malloc((size_t)n + 1);
    if (!s->reason) abort();
    va_start(ap, fmt);
    vsnprintf(s->reason, (size_t)n + 1, fmt, ap);
    va_end(ap);
}

static char *read_all(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    while (buf) {
        size_t r = fread(buf + n, 1, cap - n, f);
        n += r;
        if (n < cap) break;
        char *nb = realloc(buf, cap * 2);
        if (!nb) {
            free(buf);
            buf = NULL;
            break;
        }
        buf = nb;
        cap *= 2;
    }
    int bad = ferror(f);
    fclose(f);
    if (bad) {
        free(buf);
        return NULL;
    }
    *len = n;
    return buf;
}

static int ends_with(const char *s, const char *suffix) {
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcmp(s + a - b, suffix) == 0;
}

/* JSON Lines: every non-blank line one object. Returns the array or NULL
 * (message printed only when report != 0). */
static json_t *parse_jsonl(const char *path, const char *buf, size_t len, int report) {
    json_t *arr = json_array();
    size_t line_no = 0;
    for (size_t i = 0; i < len;) {
        size_t j = i;
        while (j < len && buf[j] != '\n') j++;
        line_no++;
        size_t k = i;
        while (k < j && (buf[k] == ' ' || buf[k] == '\t' || buf[k] == '\r')) k++;
        if (k < j) {
            json_error_t err;
            json_t *v = json_loadb(buf + i, j - i, JSON_ALLOW_NUL, &err);
            if (!v || !json_is_object(v)) {
                if (report) {
                    if (v) cli_error("%s:%zu: JSON Lines: each line must be a JSON object", path, line_no);
                    else cli_error("%s:%zu:%d: malformed JSON: %s", path, line_no, err.column, err.text);
                }
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

static int add_sample(input_doc *d, int *cap, json_t *var, json_t *result, int r, int v) {
    if (d->n == *cap) {
        *cap = *cap ? *cap * 2 : 64;
        sample *ns = realloc(d->s, (size_t)*cap * sizeof *ns);
        if (!ns) return -1;
        d->s = ns;
    }
    sample *s = &d->s[d->n++];
    memset(s, 0, sizeof *s);
    s->var = var;
    s->result = result;
    s->result_index = r;
    s->variation_index = v;
    return 0;
}

static int collect(const char *path, input_doc *d) {
    int cap = 0;
    if (d->form == FORM_RESULTS) {
        json_t *results = json_object_get(d->root, "results");
        if (!json_is_array(results)) {
            cli_error("%s: the top-level object has no \"results\" list (expected {\"results\": [{\"variations\": [...]}]}, "
                      "a list of {prompt, response} objects, or JSON Lines)", path);
            return -1;
        }
        for (size_t r = 0; r < json_array_size(results); r++) {
            json_t *res = json_array_get(results, r);
            json_t *vars = json_object_get(res, "variations");
            if (!json_is_object(res) || !json_is_array(vars)) {
                cli_error("%s: results[%zu] is not an object with a \"variations\" list", path, r);
                return -1;
            }
            for (size_t v = 0; v < json_array_size(vars); v++) {
                json_t *var = json_array_get(vars, v);
                if (!json_is_object(var)) {
                    cli_error("%s: results[%zu].variations[%zu] is not an object", path, r, v);
                    return -1;
                }
                if (add_sample(d, &cap, var, res, (int)r, (int)v)) return -1;
            }
        }
    } else {
        for (size_t i = 0; i < json_array_size(d->root); i++) {
            json_t *var = json_array_get(d->root, i);
            if (!json_is_object(var)) {
                if (d->form == FORM_LIST) cli_error("%s: element [%zu] of the top-level list is not an object", path, i);
                else cli_error("%s: record %zu is not an object", path, i);
                return -1;
            }
            if (add_sample(d, &cap, var, NULL, (int)i, 0)) return -1;
        }
    }
    if (d->n == 0) {
        cli_error("%s: no variations to process", path);
        return -1;
    }
    return 0;
}

int input_load(const char *path, int64_t max_samples, input_doc *d) {
    memset(d, 0, sizeof *d);
    size_t len = 0;
    char *buf = read_all(path, &len);
    if (!buf) {
        cli_error("cannot read input %s: %m", path);
        return -1;
    }
    if (ends_with(path, ".jsonl")) {
        d->form = FORM_JSONL;
        d->root = parse_jsonl(path, buf, len, 1);
    } else {
        json_error_t err;
        d->root = json_loadb(buf, len, JSON_ALLOW_NUL | JSON_DECODE_ANY, &err);
        if (!d->root) {
            /* Several top-level values: JSON Lines by content. */
            json_t *lines = strstr(err.text, "end of file expected") ? parse_jsonl(path, buf, len, 0) : NULL;
            if (lines && json_array_size(lines) >= 2) {
                d->form = FORM_JSONL;
                d->root = lines;
            } else {
                json_decref(lines);
                cli_error("%s:%d:%d: malformed JSON: %s", path, err.line, err.column, err.text);
            }
        } else if (json_is_object(d->root)) {
            d->form = FORM_RESULTS;
        } else if (json_is_array(d->root)) {
            d->form = FORM_LIST;
        } else {
            cli_error("%s: the top level is neither an object with \"results\" nor a list", path);
            json_decref(d->root);
            d->root = NULL;
        }
    }
    free(buf);
    if (!d->root) return -1;
    if (collect(path, d) != 0) {
        input_free(d);
        return -1;
    }
    d->n_total = d->n;
    if (max_samples > 0 && max_samples < d->n) d->n = (int)max_samples;
    return 0;
}

void input_free(input_doc *d) {
    for (int i = 0; i < d->n_total; i++) {
        free(d->s[i].ids);
        free(d->s[i].reason);
        free(d->s[i].top);
    }
    free(d->s);
    json_decref(d->root);
    memset(d, 0, sizeof *d);
}
