/* json_write.c — the output's JSON text: numbers in the formats docs/cli.md
 * gives, strings escaped as Python's json.dump(ensure_ascii=False) does, and
 * everything through one buffer that is flushed to the file in large writes. */
#include "json_write.h"
#include "error.h"

#include <errno.h>
#include <float.h>
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
    char b[24];
    int n = sizeof b;
    uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v; /* INT64_MIN too */
    do b[--n] = (char)('0' + u % 10), u /= 10;
    while (u);
    if (v < 0) b[--n] = '-';
    jw_raw(w, b + n, sizeof b - (size_t)n);
}

/* An input real: the shortest of %.15g..%.17g that reads back to the same
 * double, always with a '.' or an exponent so that it stays a real. */
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

/* The exact, slow way: the shortest %.Pg (P <= 9) that strtof reads back as x,
 * then printed as the double it denotes would be (jw_real). Used where the
 * fast path below cannot decide with certainty (about one float in 10^6). */
static int f32_slow(float x, char *out) {
    char buf[40];
    for (int p = 1; p <= 9; p++) {
        snprintf(buf, sizeof buf, "%.*g", p, (double)x);
        if (strtof(buf, NULL) == x) break;
    }
    double d = strtod(buf, NULL);
    int n = 0;
    for (int p = 15; p <= 17; p++) {
        n = snprintf(out, 40, "%.*g", p, d);
        if (strtod(out, NULL) == d) break;
    }
    if (!strpbrk(out, ".eEnN")) memcpy(out + n, ".0", 3), n += 2;
    return n;
}

/* 10^i for i in -60..60, each the double nearest to it (the compiler rounds
 * these literals correctly); exact for 0 <= i <= 22. */
static const double P10[121] = {1e-60,1e-59,1e-58,1e-57,1e-56,1e-55,1e-54,1e-53,1e-52,1e-51,1e-50,1e-49,1e-48,1e-47,1e-46,1e-45,1e-44,1e-43,1e-42,1e-41,1e-40,1e-39,1e-38,1e-37,1e-36,1e-35,1e-34,1e-33,1e-32,1e-31,1e-30,1e-29,1e-28,1e-27,1e-26,1e-25,1e-24,1e-23,1e-22,1e-21,1e-20,1e-19,1e-18,1e-17,1e-16,1e-15,1e-14,1e-13,1e-12,1e-11,1e-10,1e-9,1e-8,1e-7,1e-6,1e-5,1e-4,1e-3,1e-2,1e-1,1e0,1e1,1e2,1e3,1e4,1e5,1e6,1e7,1e8,1e9,1e10,1e11,1e12,1e13,1e14,1e15,1e16,1e17,1e18,1e19,1e20,1e21,1e22,1e23,1e24,1e25,1e26,1e27,1e28,1e29,1e30,1e31,1e32,1e33,1e34,1e35,1e36,1e37,1e38,1e39,1e40,1e41,1e42,1e43,1e44,1e45,1e46,1e47,1e48,1e49,1e50,1e51,1e52,1e53,1e54,1e55,1e56,1e57,1e58,1e59,1e60};
#define POW10 (P10 + 60)

/* digits (P of them, no trailing zeros) and decimal exponent E (value =
 * 0.d1d2.. x 10^(E+1)) -> text as "%.15g" prints that value, plus ".0" when
 * it has neither '.' nor exponent. Returns the length. */
static int f32_text(int neg, const char *dig, int nd, int e, char *out) {
    int n = 0;
    if (neg) out[n++] = '-';
    if (e < -4 || e >= 15) {
        out[n++] = dig[0];
        if (nd > 1) {
            out[n++] = '.';
            memcpy(out + n, dig + 1, (size_t)nd - 1), n += nd - 1;
        }
        out[n++] = 'e';
        out[n++] = e < 0 ? '-' : '+';
        int a = e < 0 ? -e : e;
        if (a >= 100) out[n++] = (char)('0' + a / 100);
        out[n++] = (char)('0' + a / 10 % 10);
        out[n++] = (char)('0' + a % 10);
        return n;
    }
    if (e < 0) {
        out[n++] = '0', out[n++] = '.';
        for (int i = 0; i < -e - 1; i++) out[n++] = '0';
        memcpy(out + n, dig, (size_t)nd), n += nd;
        return n;
    }
    for (int i = 0; i <= e; i++) out[n++] = i < nd ? dig[i] : '0';
    out[n++] = '.';
    if (nd > e + 1) memcpy(out + n, dig + e + 1, (size_t)(nd - e - 1)), n += nd - e - 1;
    else out[n++] = '0';
    return n;
}

/* Writes x as the shortest decimal (<= 9 significant digits) that reads back
 * as the same float32, in the form f32_slow gives, and returns its length.
 * The digits come from double arithmetic (53 bits for a 24-bit value: far
 * more than needed); each decision that lands within a hair of a rounding
 * boundary, where double's own error could flip it, goes to f32_slow. */
int jw_f32_text(float x, char *out) {
    if (x == 0) return signbit(x) ? (memcpy(out, "-0.0", 4), 4) : (memcpy(out, "0.0", 3), 3);
    float ax = fabsf(x);
    if (!(ax >= FLT_MIN) || !(ax < FLT_MAX)) return f32_slow(x, out); /* subnormal, max: no neighbour above */
    double v = ax;
    /* The round-to-nearest interval of ax among floats: (lo, hi), exact in double. */
    double lo = (v + (double)nextafterf(ax, 0)) / 2, hi = (v + (double)nextafterf(ax, INFINITY)) / 2;
    int bexp;
    frexp(v, &bexp);
    int e = (int)floor((bexp - 1) * 0.30102999566398120); /* log10(2): e is off by at most one */
    if (POW10[e] > v) e--;
    else if (POW10[e + 1] <= v) e++;
    for (int p = 1; p <= 9; p++) {
        int k = p - 1 - e;                            /* v * 10^k has p digits before the point */
        double s = v * POW10[k];
        /* s < 10^9 carries an error below 1e-6: a tie or a wrong digit count is
         * left to the exact path. */
        if (!(s >= POW10[p - 1] && s < POW10[p])) return f32_slow(x, out);
        double fl = floor(s), frac = s - fl;
        if (fabs(frac - 0.5) < 1e-6) return f32_slow(x, out);
        uint64_t d = (uint64_t)fl + (frac > 0.5);
        double c = (double)d * POW10[-k];
        int ee = e;
        if (d == (uint64_t)POW10[p]) d /= 10, ee++; /* 9.96 at p=2 -> 100 -> 10 x 10^(e+1) */
        double margin = c * 0x1p-48;
        if (fabs(c - lo) < margin || fabs(c - hi) < margin) return f32_slow(x, out);
        if (c > lo && c < hi) {
            char dig[12];
            int nd = 0;
            char tmp[12];
            int nt = 0;
            while (d) tmp[nt++] = (char)('0' + d % 10), d /= 10;
            while (nt) dig[nd++] = tmp[--nt];
            while (nd > 1 && dig[nd - 1] == '0') nd--;
            return f32_text(signbit(x), dig, nd, ee, out);
        }
    }
    return f32_slow(x, out);
}

void jw_newline(jw *w, int indent, int depth) {
    static const char spaces[] = "\n                                                                "
                                 "                                                                ";
    if (indent <= 0) return;
    int n = depth * indent;
    jw_raw(w, spaces, 1);
    for (; n > 0; n -= (int)sizeof spaces - 2) jw_raw(w, spaces + 1, (size_t)(n < (int)sizeof spaces - 2 ? n : (int)sizeof spaces - 2));
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

/* Room for n more bytes in the buffer (flushing it to the file first when it
 * is full); NULL after an error. The caller then advances w->n itself. */
static char *reserve(jw *w, size_t n) {
    if (w->err) return NULL;
    if (w->n + n > w->cap) {
        if (w->fd >= 0) flush(w);
        if (w->n + n > w->cap) {
            size_t cap = (w->n + n) * 2;
            char *b = realloc(w->buf, cap);
            if (!b) {
                w->err = ENOMEM;
                return NULL;
            }
            w->buf = b, w->cap = cap;
        }
    }
    return w->buf + w->n;
}

/* "\n" and indent * depth spaces (nothing when indent is 0), into t. */
static size_t indent_text(char *t, int indent, int depth) {
    if (indent <= 0) return 0;
    size_t n = (size_t)(indent * depth);
    t[0] = '\n';
    memset(t + 1, ' ', n);
    return n + 1;
}

static size_t uint_text(uint32_t u, char *out) {
    char b[12];
    int n = sizeof b;
    do b[--n] = (char)('0' + u % 10), u /= 10;
    while (u);
    memcpy(out, b + n, sizeof b - (size_t)n);
    return sizeof b - (size_t)n;
}

/* One position's features, as {"top_k_features": [{"id": I, "activation": A},
 * ...], "num_active_features": N[, "token": T]}. This is most of a large
 * output, so each feature goes into the buffer in one piece: the fixed text
 * around the numbers is made once per call. */
void jw_features(jw *w, const int32_t *ids, const float *act, int k, int32_t n_active, int with_token, const char *token,
                 int indent, int depth) {
    const char *colon = indent > 0 ? ": " : ":";
    jw_raw(w, "{", 1);
    jw_newline(w, indent, depth + 1);
    jw_raw(w, "\"top_k_features\"", 16);
    jw_raw(w, colon, strlen(colon));
    int n = 0;
    while (n < k && ids[n] >= 0) n++;
    if (!n) jw_raw(w, "[]", 2);
    else {
        size_t need = (indent > 0 ? (size_t)indent * (size_t)(depth + 3) : 0) + 32;
        char stack[3 * 400], *open = need <= 400 ? stack : malloc(3 * need);
        if (!open) {
            w->err = ENOMEM;
            return;
        }
        char *mid = open + need, *close = mid + need;
        size_t no = indent_text(open, indent, depth + 2);
        open[no++] = '{';
        no += indent_text(open + no, indent, depth + 3);
        no += (size_t)sprintf(open + no, "\"id\"%s", colon);
        size_t nm = 0;
        mid[nm++] = ',';
        nm += indent_text(mid + nm, indent, depth + 3);
        nm += (size_t)sprintf(mid + nm, "\"activation\"%s", colon);
        size_t nc = indent_text(close, indent, depth + 2);
        close[nc++] = '}';
        jw_raw(w, "[", 1);
        for (int i = 0; i < n; i++) {
            char *p = reserve(w, no + nm + nc + 64);
            if (!p) break;
            char *q = p;
            memcpy(q, open, no), q += no;
            q += uint_text((uint32_t)ids[i], q);
            memcpy(q, mid, nm), q += nm;
            if (isfinite(act[i])) q += jw_f32_text(act[i], q);
            else memcpy(q, "null", 4), q += 4;
            memcpy(q, close, nc), q += nc;
            if (i + 1 < n) *q++ = ',';
            w->n += (size_t)(q - p);
        }
        if (open != stack) free(open);
        jw_newline(w, indent, depth + 1);
        jw_raw(w, "]", 1);
    }
    jw_raw(w, ",", 1);
    jw_newline(w, indent, depth + 1);
    jw_raw(w, "\"num_active_features\"", 21);
    jw_raw(w, colon, strlen(colon));
    jw_int(w, n_active);
    if (with_token) {
        jw_raw(w, ",", 1);
        jw_newline(w, indent, depth + 1);
        jw_raw(w, "\"token\"", 7);
        jw_raw(w, colon, strlen(colon));
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
