/* jw_oracle.h — a frozen copy of the JSON writer saex had before the fast
 * one (src/pipeline/json_write.c at commit 9d0ca08), names prefixed ojw_,
 * everything static. tests/test_jw.c compares the new writer's bytes to it.
 * Do not "fix" it: it defines the bytes the output must keep. */
#ifndef SAEX_TEST_JW_ORACLE_H
#pragma GCC diagnostic ignored "-Wunused-function" /* each includer uses a part */
#define SAEX_TEST_JW_ORACLE_H
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct {
    int fd; /* -1: memory */
    char *buf;
    size_t n, cap;
    int err;
} ojw;

static void ojw_init_fd(ojw *w, int fd) {
    memset(w, 0, sizeof *w);
    w->fd = fd;
    w->cap = 1 << 20;
    w->buf = malloc(w->cap);
    if (!w->buf) w->err = ENOMEM;
}

static void ojw_init_mem(ojw *w) {
    ojw_init_fd(w, -1);
}

static void ojw_flush(ojw *w) {
    size_t off = 0;
    while (!w->err && off < w->n) {
        ssize_t k = write(w->fd, w->buf + off, w->n - off);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) w->err = k < 0 ? errno : EIO;
        else off += (size_t)k;
    }
    w->n = 0;
}

static void ojw_raw(ojw *w, const char *s, size_t n) {
    if (w->err) return;
    if (w->n + n > w->cap) {
        if (w->fd >= 0) ojw_flush(w);
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

static void ojw_string(ojw *w, const char *s, size_t n) {
    if (n > 16 && memcmp(s, "\0saex-nonfinite:", 16) == 0) {
        ojw_raw(w, s + 16, n - 16);
        return;
    }
    ojw_raw(w, "\"", 1);
    size_t run = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != '"' && c != '\\') continue;
        ojw_raw(w, s + run, i - run);
        run = i + 1;
        char e[8];
        switch (c) {
        case '"': ojw_raw(w, "\\\"", 2); break;
        case '\\': ojw_raw(w, "\\\\", 2); break;
        case '\b': ojw_raw(w, "\\b", 2); break;
        case '\f': ojw_raw(w, "\\f", 2); break;
        case '\n': ojw_raw(w, "\\n", 2); break;
        case '\r': ojw_raw(w, "\\r", 2); break;
        case '\t': ojw_raw(w, "\\t", 2); break;
        default: snprintf(e, sizeof e, "\\u%04X", c), ojw_raw(w, e, 6);
        }
    }
    ojw_raw(w, s + run, n - run);
    ojw_raw(w, "\"", 1);
}

static void ojw_int(ojw *w, int64_t v) {
    char b[32];
    int n = snprintf(b, sizeof b, "%lld", (long long)v);
    ojw_raw(w, b, (size_t)n);
}

static void ojw_real(ojw *w, double d) {
    char buf[40];
    int n = 0;
    for (int p = 15; p <= 17; p++) {
        n = snprintf(buf, sizeof buf, "%.*g", p, d);
        if (strtod(buf, NULL) == d) break;
    }
    if (!strpbrk(buf, ".eEnN")) memcpy(buf + n, ".0", 3), n += 2;
    ojw_raw(w, buf, (size_t)n);
}

static void ojw_f32(ojw *w, float x) {
    if (!isfinite(x)) {
        ojw_raw(w, "null", 4);
        return;
    }
    char buf[32];
    for (int p = 1; p <= 9; p++) {
        snprintf(buf, sizeof buf, "%.*g", p, (double)x);
        if (strtof(buf, NULL) == x) break;
    }
    ojw_real(w, strtod(buf, NULL));
}

static void ojw_newline(ojw *w, int indent, int depth) {
    if (indent <= 0) return;
    ojw_raw(w, "\n", 1);
    for (int i = 0; i < depth * indent; i++) ojw_raw(w, " ", 1);
}

static void ojw_value(ojw *w, const json_t *cv, int indent, int depth) {
    json_t *v = (json_t *)cv;
    switch (json_typeof(v)) {
    case JSON_OBJECT: {
        void *it = json_object_iter(v);
        if (!it) {
            ojw_raw(w, "{}", 2);
            return;
        }
        ojw_raw(w, "{", 1);
        ojw_newline(w, indent, depth + 1);
        while (it) {
            ojw_string(w, json_object_iter_key(it), json_object_iter_key_len(it));
            ojw_raw(w, indent > 0 ? ": " : ":", indent > 0 ? 2 : 1);
            ojw_value(w, json_object_iter_value(it), indent, depth + 1);
            it = json_object_iter_next(v, it);
            if (it) ojw_raw(w, ",", 1);
            ojw_newline(w, indent, it ? depth + 1 : depth);
        }
        ojw_raw(w, "}", 1);
        break;
    }
    case JSON_ARRAY: {
        size_t n = json_array_size(v);
        if (!n) {
            ojw_raw(w, "[]", 2);
            return;
        }
        ojw_raw(w, "[", 1);
        ojw_newline(w, indent, depth + 1);
        for (size_t i = 0; i < n; i++) {
            ojw_value(w, json_array_get(v, i), indent, depth + 1);
            if (i + 1 < n) ojw_raw(w, ",", 1);
            ojw_newline(w, indent, i + 1 < n ? depth + 1 : depth);
        }
        ojw_raw(w, "]", 1);
        break;
    }
    case JSON_STRING: ojw_string(w, json_string_value(v), json_string_length(v)); break;
    case JSON_INTEGER: ojw_int(w, json_integer_value(v)); break;
    case JSON_REAL: ojw_real(w, json_real_value(v)); break;
    case JSON_TRUE: ojw_raw(w, "true", 4); break;
    case JSON_FALSE: ojw_raw(w, "false", 5); break;
    case JSON_NULL: ojw_raw(w, "null", 4); break;
    }
}

static void ojw_features(ojw *w, const int32_t *ids, const float *act, int k, int32_t n_active, int with_token, const char *token,
                 int indent, int depth) {
    ojw_raw(w, "{", 1);
    ojw_newline(w, indent, depth + 1);
    ojw_string(w, "top_k_features", 14);
    ojw_raw(w, indent > 0 ? ": " : ":", indent > 0 ? 2 : 1);
    int n = 0;
    while (n < k && ids[n] >= 0) n++;
    if (!n) ojw_raw(w, "[]", 2);
    else {
        ojw_raw(w, "[", 1);
        for (int i = 0; i < n; i++) {
            ojw_newline(w, indent, depth + 2);
            ojw_raw(w, "{", 1);
            ojw_newline(w, indent, depth + 3);
            ojw_string(w, "id", 2);
            ojw_raw(w, indent > 0 ? ": " : ":", indent > 0 ? 2 : 1);
            ojw_int(w, ids[i]);
            ojw_raw(w, ",", 1);
            ojw_newline(w, indent, depth + 3);
            ojw_string(w, "activation", 10);
            ojw_raw(w, indent > 0 ? ": " : ":", indent > 0 ? 2 : 1);
            ojw_f32(w, act[i]);
            ojw_newline(w, indent, depth + 2);
            ojw_raw(w, "}", 1);
            if (i + 1 < n) ojw_raw(w, ",", 1);
        }
        ojw_newline(w, indent, depth + 1);
        ojw_raw(w, "]", 1);
    }
    ojw_raw(w, ",", 1);
    ojw_newline(w, indent, depth + 1);
    ojw_string(w, "num_active_features", 19);
    ojw_raw(w, indent > 0 ? ": " : ":", indent > 0 ? 2 : 1);
    ojw_int(w, n_active);
    if (with_token) {
        ojw_raw(w, ",", 1);
        ojw_newline(w, indent, depth + 1);
        ojw_string(w, "token", 5);
        ojw_raw(w, indent > 0 ? ": " : ":", indent > 0 ? 2 : 1);
        if (token) ojw_string(w, token, strlen(token));
        else ojw_raw(w, "null", 4);
    }
    ojw_newline(w, indent, depth);
    ojw_raw(w, "}", 1);
}

static int ojw_finish(ojw *w) {
    if (w->fd >= 0) ojw_flush(w);
    free(w->buf);
    w->buf = NULL;
    return w->err;
}

static char *ojw_take(ojw *w, size_t *len) {
    if (w->err) {
        free(w->buf);
        return NULL;
    }
    ojw_raw(w, "", 0);
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

#endif
