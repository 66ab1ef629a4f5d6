/* json_write.c — TEMPORARY (see json_write.h). */
#include "json_write.h"
#include "error.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void jw_init_fd(jw *w, int fd) {
    memset(w, 0, sizeof *w);
    w->fd = fd;
    w->cap = 1 << 20;
    w->buf = malloc(w->cap);
    if (!w->buf) w->err = ENOMEM;
}

void jw_init_mem(jw *w) {
    jw_init_fd(w, -1);
}

static void flush(jw *w) {
    size_t off = 0;
    while (!w->err && off < w->n) {
        ssize_t k = write(w->fd, w->buf + off, w->n - off);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) w->err = k < 0 ? errno : EIO;
        else off += (size_t)k;
    }
    w->n = 0;
}

void jw_raw(jw *w, const char *s, size_t n) {
    if (w->err) return;
    if (w->n + n > w->cap) {
        if (w->fd >= 0) flush(w);
        if (w->n + n > w->cap) {
            size_t cap = (w->n + n) * 2;
            char *b = realloc(w->buf, cap);
            if (!b) {
                w->err = ENOMEM;
                return;
            }
            w->buf = b, w->cap = cap;
        }
    }
    memcpy(w->buf + w->n, s, n);
    w->n += n;
}

void jw_string(jw *w, const char *s, size_t n) {
    if (n > JW_NONFINITE_PREFIX_LEN && memcmp(s, JW_NONFINITE_PREFIX, JW_NONFINITE_PREFIX_LEN) == 0) {
        jw_raw(w, s + JW_NONFINITE_PREFIX_LEN, n - JW_NONFINITE_PREFIX_LEN);
        return;
    }
    jw_raw(w, "\"", 1);
    size_t run = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != '"' && c != '\\') continue;
        jw_raw(w, s + run, i - run);
        run = i + 1;
        char e[8];
        switch (c) {
        case '"': jw_raw(w, "\\\"", 2); break;
        case '\\': jw_raw(w, "\\\\", 2); break;
        case '\b': jw_raw(w, "\\b", 2); break;
        case '\f': jw_raw(w, "\\f", 2); break;
        case '\n': jw_raw(w, "\\n", 2); break;
        case '\r': jw_raw(w, "\\r", 2); break;
        case '\t': jw_raw(w, "\\t", 2); break;
        default: snprintf(e, sizeof e, "\\u%04X", c), jw_raw(w, e, 6);
        }
    }
    jw_raw(w, s + run, n - run);
    jw_raw(w, "\"", 1);
}

void jw_int(jw *w, int64_t v) {
    char b[32];
    int n = snprintf(b, sizeof b, "%lld", (long long)v);
    jw_raw(w, b, (size_t)n);
}

static void jw_real(jw *w, double d) {
    char buf[40];
    int n = 0;
    for (int p = 15; p <= 17; p++) {
        n = snprintf(buf, sizeof buf, "%.*g", p, d);
        if (strtod(buf, NULL) == d) break;
    }
    if (!strpbrk(buf, ".eEnN")) memcpy(buf + n, ".0", 3), n += 2;
    jw_raw(w, buf, (size_t)n);
}

static void jw_f32(jw *w, float x) {
    if (!isfinite(x)) {
        jw_raw(w, "null", 4);
        return;
    }
    char buf[32];
    for (int p = 1; p <= 9; p++) {
        snprintf(buf, sizeof buf, "%.*g", p, (double)x);
        if (strtof(buf, NULL) == x) break;
    }
    jw_real(w, strtod(buf, NULL));
}

void jw_newline(jw *w, int indent, int depth) {
    if (indent <= 0) return;
    jw_raw(w, "\n", 1);
    for (int i = 0; i < depth * indent; i++) jw_raw(w, " ", 1);
}

void jw_value(jw *w, const json_t *cv, int indent, int depth) {
    json_t *v = (json_t *)cv;
    switch (json_typeof(v)) {
    case JSON_OBJECT: {
        void *it = json_object_iter(v);
        if (!it) {
            jw_raw(w, "{}", 2);
            return;
        }
        jw_raw(w, "{", 1);
        jw_newline(w, indent, depth + 1);
        while (it) {
            jw_string(w, json_object_iter_key(it), json_object_iter_key_len(it));
            jw_raw(w, indent > 0 ? ": " : ":", indent > 0 ? 2 : 1);
            jw_value(w, json_object_iter_value(it), indent, depth + 1);
            it = json_object_iter_next(v, it);
            if (it) jw_raw(w, ",", 1);
            jw_newline(w, indent, it ? depth + 1 : depth);
        }
        jw_raw(w, "}", 1);
        break;
    }
    case JSON_ARRAY: {
        size_t n = json_array_size(v);
        if (!n) {
            jw_raw(w, "[]", 2);
            return;
        }
        jw_raw(w, "[", 1);
        jw_newline(w, indent, depth + 1);
        for (size_t i = 0; i < n; i++) {
            jw_value(w, json_array_get(v, i), indent, depth + 1);
            if (i + 1 < n) jw_raw(w, ",", 1);
            jw_newline(w, indent, i + 1 < n ? depth + 1 : depth);
        }
        jw_raw(w, "]", 1);
        break;
    }
    case JSON_STRING: jw_string(w, json_string_value(v), json_string_length(v)); break;
    case JSON_INTEGER: jw_int(w, json_integer_value(v)); break;
    case JSON_REAL: jw_real(w, json_real_value(v)); break;
    case JSON_TRUE: jw_raw(w, "true", 4); break;
    case JSON_FALSE: jw_raw(w, "false", 5); break;
    case JSON_NULL: jw_raw(w, "null", 4); break;
    }
}

void jw_features(jw *w, const int32_t *ids, const float *act, int k, int32_t n_active, int with_token, const char *token,
                 int indent, int depth) {
    jw_raw(w, "{", 1);
    jw_newline(w, indent, depth + 1);
    jw_string(w, "top_k_features", 14);
    jw_raw(w, indent > 0 ? ": " : ":", indent > 0 ? 2 : 1);
    int n = 0;
    while (n < k && ids[n] >= 0) n++;
    if (!n) jw_raw(w, "[]", 2);
    else {
        jw_raw(w, "[", 1);
        for (int i = 0; i < n; i++) {
            jw_newline(w, indent, depth + 2);
            jw_raw(w, "{", 1);
            jw_newline(w, indent, depth + 3);
            jw_string(w, "id", 2);
            jw_raw(w, indent > 0 ? ": " : ":", indent > 0 ? 2 : 1);
            jw_int(w, ids[i]);
            jw_raw(w, ",", 1);
            jw_newline(w, indent, depth + 3);
            jw_string(w, "activation", 10);
            jw_raw(w, indent > 0 ? ": " : ":", indent > 0 ? 2 : 1);
            jw_f32(w, act[i]);
            jw_newline(w, indent, depth + 2);
            jw_raw(w, "}", 1);
            if (i + 1 < n) jw_raw(w, ",", 1);
        }
        jw_newline(w, indent, depth + 1);
        jw_raw(w, "]", 1);
    }
    jw_raw(w, ",", 1);
    jw_newline(w, indent, depth + 1);
    jw_string(w, "num_active_features", 19);
    jw_raw(w, indent > 0 ? ": " : ":", indent > 0 ? 2 : 1);
    jw_int(w, n_active);
    if (with_token) {
        jw_raw(w, ",", 1);
        jw_newline(w, indent, depth + 1);
        jw_string(w, "token", 5);
        jw_raw(w, indent > 0 ? ": " : ":", indent > 0 ? 2 : 1);
        if (token) jw_string(w, token, strlen(token));
        else jw_raw(w, "null", 4);
    }
    jw_newline(w, indent, depth);
    jw_raw(w, "}", 1);
}

int jw_finish(jw *w) {
    if (w->fd >= 0) flush(w);
    free(w->buf);
    w->buf = NULL;
    return w->err;
}

char *jw_take(jw *w, size_t *len) {
    if (w->err) {
        free(w->buf);
        return NULL;
    }
    jw_raw(w, "", 0);
    char *b = realloc(w->buf, w->n + 1);
    if (!b) {
        free(w->buf);
        return NULL;
    }
    b[w->n] = '\0';
    *len = w->n;
    w->buf = NULL;
    return b;
}

saex_status jw_to_string(const json_t *v, int indent, char **out, size_t *len) {
    jw w;
    jw_init_mem(&w);
    jw_value(&w, v, indent, 0);
    size_t n = 0;
    *out = jw_take(&w, &n);
    if (len) *len = n;
    return *out ? SAEX_OK : saex_fail(SAEX_ERR_NOMEM, "out of memory");
}
