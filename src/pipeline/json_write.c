/* json_write.c — see json_write.h.
 *
 * Every writer first asks room() for the bytes it may need, then stores
 * through a plain pointer: the common case is one compare and a few stores.
 * In fd mode room() flushes the buffer when full; only a single string longer
 * than the buffer goes past it (written through, never buffered whole). */
#include "json_write.h"
#include "error.h"
#include "json_number.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MEM_START 4096 /* memory mode starts small: doc.c writes one value per call */

static void init(jw *w, int fd, size_t cap) {
    memset(w, 0, sizeof *w);
    w->fd = fd;
    w->cap = cap;
    w->buf = malloc(cap);
    if (!w->buf) w->err = ENOMEM, w->cap = 0;
}

void jw_init_fd(jw *w, int fd) {
    init(w, fd, JW_BLOCK);
}

void jw_init_mem(jw *w) {
    init(w, -1, MEM_START);
}

static void write_all(jw *w, const char *s, size_t n) {
    while (!w->err && n) {
        ssize_t k = write(w->fd, s, n);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) w->err = k < 0 ? errno : EIO;
        else s += k, n -= (size_t)k;
    }
}

static void flush(jw *w) {
    write_all(w, w->buf, w->n);
    w->n = 0;
}

/* Room for need more bytes at w->buf + w->n, or NULL once an error is set. */
static char *room_slow(jw *w, size_t need) {
    if (w->err) return NULL;
    if (w->fd >= 0) {
        flush(w);
        if (w->err) return NULL;
    }
    if (w->cap - w->n < need) {
        size_t cap = w->cap * 2 > w->n + need ? w->cap * 2 : w->n + need;
        char *b = realloc(w->buf, cap);
        if (!b) {
            w->err = ENOMEM;
            return NULL;
        }
        w->buf = b, w->cap = cap;
    }
    return w->buf + w->n;
}

static inline char *room(jw *w, size_t need) {
    if (w->cap - w->n >= need && !w->err) return w->buf + w->n;
    return room_slow(w, need);
}

static inline void done(jw *w, const char *end) {
    w->n = (size_t)(end - w->buf);
}

void jw_raw(jw *w, const char *s, size_t n) {
    if (w->fd >= 0 && n >= JW_BLOCK / 2 && !w->err) { /* a large block: through, not into the buffer */
        flush(w);
        write_all(w, s, n);
        return;
    }
    char *p = room(w, n);
    if (!p) return;
    memcpy(p, s, n);
    done(w, p + n);
}

/* ------------------------------------------------------------ strings */

/* ESC[c]: 0 plain, 'u' as \u00XX, otherwise the letter after the backslash. */
static const char ESC[256] = {
    ['\0'] = 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', ['\b'] = 'b', ['\t'] = 't', ['\n'] = 'n', ['\v'] = 'u',
    ['\f'] = 'f', ['\r'] = 'r', [14] = 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u',
    'u', 'u', 'u', ['"'] = '"', ['\\'] = '\\',
};

#define ONES 0x0101010101010101ull
#define HIGH 0x8080808080808080ull

/* Nonzero iff one of the 8 bytes of x is below 0x20, '"' or '\'. */
static inline uint64_t needs_escape8(uint64_t x) {
    uint64_t q = x ^ (ONES * '"'), b = x ^ (ONES * '\\');
    return ((x - ONES * 0x20) | (q - ONES) | (b - ONES)) & ~x & HIGH;
}

/* The length of the leading run of s[0..n) that needs no escape. */
static size_t plain_run(const char *s, size_t n) {
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t x;
        memcpy(&x, s + i, 8);
        if (needs_escape8(x)) break;
    }
    while (i < n && !ESC[(unsigned char)s[i]]) i++;
    return i;
}

static void escape(jw *w, unsigned char c) {
    char *p = room(w, 6);
    if (!p) return;
    p[0] = '\\';
    p[1] = ESC[c];
    if (ESC[c] != 'u') {
        done(w, p + 2);
        return;
    }
    static const char HEX[] = "0123456789ABCDEF";
    memcpy(p + 2, "00", 2);
    p[4] = HEX[c >> 4], p[5] = HEX[c & 15];
    done(w, p + 6);
}

void jw_string(jw *w, const char *s, size_t n) {
    if (n > JW_NONFINITE_PREFIX_LEN && memcmp(s, JW_NONFINITE_PREFIX, JW_NONFINITE_PREFIX_LEN) == 0) {
        jw_raw(w, s + JW_NONFINITE_PREFIX_LEN, n - JW_NONFINITE_PREFIX_LEN);
        return;
    }
    char *p = n <= 64 ? room(w, n + 2) : NULL;
    if (p && plain_run(s, n) == n) { /* the common case: a short plain string */
        p[0] = '"';
        memcpy(p + 1, s, n);
        p[n + 1] = '"';
        done(w, p + n + 2);
        return;
    }
    jw_raw(w, "\"", 1);
    size_t i = 0;
    while (i < n && !w->err) {
        size_t r = plain_run(s + i, n - i);
        jw_raw(w, s + i, r);
        i += r;
        if (i < n) escape(w, (unsigned char)s[i++]);
    }
    jw_raw(w, "\"", 1);
}

/* ------------------------------------------------------------ numbers */

static const char DIG2[200] = "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
                              "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
                              "8081828384858687888990919293949596979899";

static const uint64_t P10[20] = {1ull, 10ull, 100ull, 1000ull, 10000ull, 100000ull, 1000000ull, 10000000ull,
    100000000ull, 1000000000ull, 10000000000ull, 100000000000ull, 1000000000000ull, 10000000000000ull,
    100000000000000ull, 1000000000000000ull, 10000000000000000ull, 100000000000000000ull, 1000000000000000000ull,
    10000000000000000000ull};

/* v in decimal at p, digits written backward from the end; returns the end. */
static char *put_int(char *p, int64_t v) {
    uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
    if (v < 0) *p++ = '-';
    int n = 1;
    while (n < 20 && u >= P10[n]) n++;
    char *end = p + n;
    p = end;
    while (u >= 100) {
        uint64_t q = u / 100;
        p -= 2, memcpy(p, DIG2 + 2 * (u - q * 100), 2);
        u = q;
    }
    if (u >= 10) memcpy(p - 2, DIG2 + 2 * u, 2);
    else p[-1] = (char)('0' + u);
    return end;
}

void jw_int(jw *w, int64_t v) {
    char *p = room(w, 21);
    if (p) done(w, put_int(p, v));
}

void jw_real(jw *w, double v) {
    char *p = room(w, JN_MAX);
    if (p) done(w, p + jn_f64(p, v));
}

void jw_float(jw *w, float v) {
    char *p = room(w, JN_MAX);
    if (p) done(w, p + jn_f32(p, v));
}

/* ------------------------------------------------------------ layout */

#define SLACK 32 /* newlines store 32 spaces at once: room asks for this much more */
static const char SPACES[SLACK + 1] = "                                ";

/* A newline and depth * indent spaces (nothing when indent <= 0). */
static inline char *put_newline(char *p, int indent, int depth) {
    if (indent <= 0) return p;
    *p++ = '\n';
    int sp = depth * indent;
    if (sp <= 0) return p;
    if (sp <= SLACK) memcpy(p, SPACES, SLACK);
    else memset(p, ' ', (size_t)sp);
    return p + sp;
}

/* What put_newline may store. */
static size_t newline_len(int indent, int depth) {
    size_t sp = indent <= 0 || depth <= 0 ? 0 : (size_t)depth * (size_t)indent;
    return 1 + (sp > SLACK ? sp : SLACK);
}

void jw_newline(jw *w, int indent, int depth) {
    if (indent <= 0) return;
    char *p = room(w, newline_len(indent, depth));
    if (p) done(w, put_newline(p, indent, depth));
}

static void colon(jw *w, int indent) {
    jw_raw(w, indent > 0 ? ": " : ":", indent > 0 ? 2 : 1);
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
            colon(w, indent);
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

/* One {"id": ..., "activation": ...} of top_k_features, preceded by its
 * newline and followed by a comma unless last; the hot loop of the output. */
static void feature(jw *w, int32_t id, float act, int last, int indent, int depth) {
    size_t need = 2 * newline_len(indent, depth + 3) + newline_len(indent, depth + 2) + 40 + JN_MAX;
    char *p = room(w, need);
    if (!p) return;
    int ind = indent > 0;
    p = put_newline(p, indent, depth + 2);
    *p++ = '{';
    p = put_newline(p, indent, depth + 3);
    static const char ID[8] = "\"id\": ", ACT[16] = "\"activation\": ";
    memcpy(p, ID, 8), p += ind ? 6 : 5;
    p = put_int(p, id);
    *p++ = ',';
    p = put_newline(p, indent, depth + 3);
    memcpy(p, ACT, 16), p += ind ? 14 : 13;
    p += jn_f32(p, act);
    p = put_newline(p, indent, depth + 2);
    *p++ = '}';
    if (!last) *p++ = ',';
    done(w, p);
}

void jw_features(jw *w, const int32_t *ids, const float *act, int k, int32_t n_active, int with_token, const char *token,
                 int indent, int depth) {
    jw_raw(w, "{", 1);
    jw_newline(w, indent, depth + 1);
    jw_raw(w, "\"top_k_features\"", 16);
    colon(w, indent);
    int n = 0;
    while (n < k && ids[n] >= 0) n++;
    if (!n) jw_raw(w, "[]", 2);
    else {
        jw_raw(w, "[", 1);
        for (int i = 0; i < n; i++) feature(w, ids[i], act[i], i + 1 == n, indent, depth);
        jw_newline(w, indent, depth + 1);
        jw_raw(w, "]", 1);
    }
    jw_raw(w, ",", 1);
    jw_newline(w, indent, depth + 1);
    jw_raw(w, "\"num_active_features\"", 21);
    colon(w, indent);
    jw_int(w, n_active);
    if (with_token) {
        jw_raw(w, ",", 1);
        jw_newline(w, indent, depth + 1);
        jw_raw(w, "\"token\"", 7);
        colon(w, indent);
        if (token) jw_string(w, token, strlen(token));
        else jw_raw(w, "null", 4);
    }
    jw_newline(w, indent, depth);
    jw_raw(w, "}", 1);
}

/* ------------------------------------------------------------ the end */

int jw_finish(jw *w) {
    if (w->fd >= 0) flush(w);
    free(w->buf);
    w->buf = NULL;
    w->n = w->cap = 0;
    return w->err;
}

char *jw_take(jw *w, size_t *len) {
    char *p = w->err ? NULL : room(w, 1);
    if (!p) {
        free(w->buf);
        w->buf = NULL;
        return NULL;
    }
    *p = '\0';
    char *b = w->buf;
    *len = w->n;
    w->buf = NULL;
    w->n = w->cap = 0;
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
