/* test_jw.c — the fast JSON writer (src/pipeline/json_write.c, json_number.c)
 * against a frozen copy of the writer it replaced (tests/jw_oracle.h): the
 * same calls must give the same bytes, in memory and fd mode. Plus float32
 * round trips, and write errors reaching jw_finish. */
#include "jw_oracle.h"
#include "pipeline/json_number.h"
#include "pipeline/json_write.h"
#include "test.h"

#include <fcntl.h>
#include <float.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint64_t next(void) { /* splitmix64: fixed seed, same cases every run */
    uint64_t z = (rng += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static uint64_t p10(int n) {
    uint64_t r = 1;
    while (n-- > 0) r *= 10;
    return r;
}

static float f32_of(uint32_t bits) {
    float f;
    memcpy(&f, &bits, 4);
    return f;
}
static uint32_t bits_of(float f) {
    uint32_t b;
    memcpy(&b, &f, 4);
    return b;
}

/* A new writer and an oracle writer, both in memory mode. */
typedef struct {
    jw a;
    ojw b;
} pair;
static void pair_init(pair *p) {
    jw_init_mem(&p->a);
    ojw_init_mem(&p->b);
}
/* 1 if both hold the same bytes; reports the first difference. */
static int pair_same(pair *p, const char *what) {
    size_t i = 0, n = p->a.n < p->b.n ? p->a.n : p->b.n;
    while (i < n && p->a.buf[i] == p->b.buf[i]) i++;
    if (i == n && p->a.n == p->b.n) return 1;
    size_t s = i > 20 ? i - 20 : 0;
    fprintf(stderr, "  %s: differ at byte %zu (lengths %zu, %zu)\n    new:    %.60s\n    oracle: %.60s\n", what, i, p->a.n,
            p->b.n, p->a.buf + s, p->b.buf + s);
    return 0;
}
static void pair_reset(pair *p) {
    p->a.n = p->b.n = 0;
}
static void pair_free(pair *p) {
    jw_finish(&p->a);
    ojw_finish(&p->b);
}
#define BOTH(p, fn, ...) (jw_##fn(&(p)->a, __VA_ARGS__), ojw_##fn(&(p)->b, __VA_ARGS__))

/* ------------------------------------------------------------ float32 */

static int f32_bad; /* differences seen by check_f32, reported up to 5 */
static void check_f32(pair *p, float x) {
    pair_reset(p);
    jw_float(&p->a, x);
    ojw_f32(&p->b, x);
    if (p->a.n == p->b.n && memcmp(p->a.buf, p->b.buf, p->a.n) == 0) return;
    if (f32_bad++ < 5)
        fprintf(stderr, "  float 0x%08x: new %.*s oracle %.*s\n", bits_of(x), (int)p->a.n, p->a.buf, (int)p->b.n, p->b.buf);
}

static void f32_random_bits(void) {
    pair p;
    pair_init(&p);
    f32_bad = 0;
    for (int i = 0; i < 300000; i++) check_f32(&p, f32_of((uint32_t)next()));
    CHECK(f32_bad == 0, "%d of 300000 differ", f32_bad);
    pair_free(&p);
}

/* Activations as they come: positive, mostly 1e-3..1e3. */
static void f32_activation_range(void) {
    pair p;
    pair_init(&p);
    f32_bad = 0;
    for (int i = 0; i < 300000; i++) {
        double u = (double)(next() >> 11) / 9007199254740992.0;
        check_f32(&p, (float)pow(10.0, -3.0 + 6.0 * u));
    }
    CHECK(f32_bad == 0, "%d differ", f32_bad);
    pair_free(&p);
}

/* Every exponent with the significands where rounding is delicate: powers of
 * two (the interval is lopsided), their neighbours, the largest; denormals;
 * zero, max, min, non-finite. */
static void f32_edges(void) {
    pair p;
    pair_init(&p);
    f32_bad = 0;
    static const uint32_t sig[] = {0, 1, 2, 3, 0x7fffff, 0x7ffffe, 0x400000, 0x3fffff, 0x155555, 0x2aaaaa};
    for (uint32_t s = 0; s < 2; s++)
        for (uint32_t e = 0; e < 256; e++)
            for (size_t j = 0; j < sizeof sig / sizeof *sig; j++) check_f32(&p, f32_of(s << 31 | e << 23 | sig[j]));
    for (uint32_t d = 1; d < 100000; d++) check_f32(&p, f32_of(d)); /* the smallest denormals */
    const float named[] = {0.0f, -0.0f, FLT_MAX, -FLT_MAX, FLT_MIN, FLT_TRUE_MIN, 1.0f, 0.1f, 2.56f, 1e15f, 1e16f, 1e-5f,
                           1e-4f, 123456789.0f, 1e38f, 1e-35f, 1e-36f, NAN, INFINITY, -INFINITY, 3.4028235e38f};
    for (size_t j = 0; j < sizeof named / sizeof *named; j++) check_f32(&p, named[j]);
    CHECK(f32_bad == 0, "%d differ", f32_bad);
    pair_free(&p);
}

/* Powers of ten and short decimals, and their neighbours up to 3 ulps away:
 * where a shorter decimal almost reads back. */
static void f32_decimal_neighbours(void) {
    pair p;
    pair_init(&p);
    f32_bad = 0;
    char buf[64];
    for (int e = -45; e <= 38; e++)
        for (int d = 1; d <= 99; d++) {
            snprintf(buf, sizeof buf, "%de%d", d, e);
            float x = strtof(buf, NULL);
            for (int k = -3; k <= 3; k++) check_f32(&p, f32_of(bits_of(x) + (uint32_t)k));
        }
    for (int i = 0; i < 100000; i++) { /* random decimals of 1..9 digits */
        int nd = 1 + (int)(next() % 9), e = (int)(next() % 84) - 45;
        snprintf(buf, sizeof buf, "%llue%d", (unsigned long long)(next() % p10(nd)), e);
        float x = strtof(buf, NULL);
        if (isfinite(x)) check_f32(&p, f32_of(bits_of(x) + (uint32_t)(next() % 3) - 1));
    }
    CHECK(f32_bad == 0, "%d differ", f32_bad);
    pair_free(&p);
}

/* strtof(text) == x for every finite float32 tried, and the text parses
 * (strtod) to the float widened to double exactly when it has <= 9 digits. */
static void f32_round_trip(void) {
    char buf[JN_MAX + 1];
    int bad = 0;
    long n = 0;
    for (long i = 0; i < 4000000; i++) {
        float x = f32_of((uint32_t)next());
        if (!isfinite(x)) continue;
        int k = jn_f32(buf, x);
        buf[k] = '\0';
        float y = strtof(buf, NULL);
        if (bits_of(y) != bits_of(x) && bad++ < 5) fprintf(stderr, "  0x%08x -> %s -> 0x%08x\n", bits_of(x), buf, bits_of(y));
        n++;
    }
    CHECK(bad == 0, "%d of %ld do not read back", bad, n);
    CHECK(jn_f32(buf, NAN) == 4 && memcmp(buf, "null", 4) == 0, "NaN");
}

/* ------------------------------------------------------------ others */

static void f64_values(void) {
    pair p;
    pair_init(&p);
    int bad = 0;
    const double named[] = {0.0, -0.0, 0.1, 0.123456789012345, 1e-300, DBL_MAX, -DBL_MAX, DBL_MIN, 5e-324, 2.5e-8, 1.0,
                            100.0, 1e15, 1e16, 1e22, 0.30000000000000004, 1.0000000000000002, -1.5e-10,
                            123456789012345680.0, 1234567890123456.0, 9007199254740993.0, 3.14159265358979323846};
    for (size_t j = 0; j < sizeof named / sizeof *named; j++) {
        pair_reset(&p);
        BOTH(&p, real, named[j]);
        bad += !pair_same(&p, "named double");
    }
    for (int i = 0; i < 100000; i++) {
        uint64_t b = next();
        double d;
        memcpy(&d, &b, 8);
        if (!isfinite(d)) continue;
        pair_reset(&p);
        BOTH(&p, real, d);
        if (!pair_same(&p, "random double") && bad++ > 5) break;
    }
    CHECK(bad == 0, "%d differ", bad);
    pair_free(&p);
}

static void ints(void) {
    pair p;
    pair_init(&p);
    int bad = 0;
    int64_t v[] = {0, 1, -1, 9, 10, -10, 99, 100, INT32_MAX, INT32_MIN, (int64_t)INT32_MAX + 1, INT64_MAX, INT64_MIN,
                   INT64_MIN + 1, 9007199254740993LL};
    for (size_t j = 0; j < sizeof v / sizeof *v; j++) {
        pair_reset(&p);
        BOTH(&p, int, v[j]);
        bad += !pair_same(&p, "int");
    }
    for (int64_t t = 1; t <= INT64_MAX / 10; t *= 10)
        for (int64_t d = -1; d <= 1; d++) {
            pair_reset(&p);
            BOTH(&p, int, t + d);
            BOTH(&p, int, -(t + d));
            bad += !pair_same(&p, "power of ten");
        }
    for (int i = 0; i < 100000; i++) {
        pair_reset(&p);
        int64_t r = (int64_t)next() >> (next() % 64);
        BOTH(&p, int, r);
        bad += !pair_same(&p, "random int");
    }
    CHECK(bad == 0, "%d differ", bad);
    pair_free(&p);
}

static int same_string(pair *p, const char *s, size_t n, const char *what) {
    pair_reset(p);
    BOTH(p, string, s, n);
    return pair_same(p, what);
}

static void strings(void) {
    pair p;
    pair_init(&p);
    int bad = 0;
    char s[300];
    for (int c = 0; c < 256; c++) { /* every byte alone, and inside plain text at each alignment */
        s[0] = (char)c;
        bad += !same_string(&p, s, 1, "one byte");
        for (int at = 0; at < 20; at++) {
            memset(s, 'a', 40);
            s[at] = (char)c;
            bad += !same_string(&p, s, 40, "byte in text");
        }
    }
    const char *fixed[] = {"", "plain", "quote \" back \\ slash / end", "tab\t nl\n cr\r ff\f bs\b del\x7f",
                           "\xc3\xbc\xe2\x82\xac\xf0\x9f\x98\x80 non-BMP", "bad \xff\xfe \x80 \xc3 utf-8", "\xed\xa0\x80"};
    for (size_t j = 0; j < sizeof fixed / sizeof *fixed; j++) bad += !same_string(&p, fixed[j], strlen(fixed[j]), fixed[j]);
    for (int c = 0; c < 32; c++) s[c] = (char)c; /* every control char, NUL included */
    bad += !same_string(&p, s, 32, "controls");
    /* the reserved non-finite strings: bare tokens; exactly the prefix: a string */
    const char *nf[] = {"NaN", "Infinity", "-Infinity"};
    for (int j = 0; j < 3; j++) {
        memcpy(s, JW_NONFINITE_PREFIX, JW_NONFINITE_PREFIX_LEN);
        strcpy(s + JW_NONFINITE_PREFIX_LEN, nf[j]);
        bad += !same_string(&p, s, JW_NONFINITE_PREFIX_LEN + strlen(nf[j]), nf[j]);
        pair_reset(&p);
        jw_string(&p.a, s, JW_NONFINITE_PREFIX_LEN + strlen(nf[j]));
        CHECK(p.a.n == strlen(nf[j]) && memcmp(p.a.buf, nf[j], p.a.n) == 0, "bare %s", nf[j]);
    }
    bad += !same_string(&p, JW_NONFINITE_PREFIX, JW_NONFINITE_PREFIX_LEN, "prefix alone");
    for (int i = 0; i < 20000; i++) { /* random mixes of plain, escaped and high bytes */
        size_t n = next() % 300;
        for (size_t j = 0; j < n; j++) {
            uint64_t r = next();
            s[j] = r % 8 == 0 ? (char)(r >> 8) : (char)('a' + (r >> 8) % 26);
        }
        if (!same_string(&p, s, n, "random string") && bad++ > 5) break;
    }
    CHECK(bad == 0, "%d differ", bad);
    pair_free(&p);
}

/* ------------------------------------------------------------ values, features */

static json_t *random_value(int depth) {
    uint64_t r = next() % (depth > 4 ? 6 : 8);
    char s[24];
    switch (r) {
    case 0: return json_null();
    case 1: return json_boolean(next() & 1);
    case 2: return json_integer((json_int_t)next() >> (next() % 64));
    case 3: return json_real((double)f32_of((uint32_t)next() & 0x7f7fffff) * ((next() & 1) ? 1 : -1));
    case 4:
    case 5:
        for (size_t j = 0; j < sizeof s; j++) s[j] = (char)(' ' + next() % 95);
        s[next() % sizeof s] = "\n\"\\\x01"[next() % 4];
        return json_stringn(s, next() % sizeof s);
    case 6: {
        json_t *a = json_array();
        for (int n = (int)(next() % 5); n > 0; n--) json_array_append_new(a, random_value(depth + 1));
        return a;
    }
    default: {
        json_t *o = json_object();
        for (int n = (int)(next() % 5); n > 0; n--) {
            snprintf(s, sizeof s, "k%d\t\xc3\xa9", (int)(next() % 100));
            json_object_set_new(o, s, random_value(depth + 1));
        }
        return o;
    }
    }
}

static void values(void) {
    pair p;
    pair_init(&p);
    int bad = 0;
    json_error_t e;
    json_t *fixed = json_loads("{\"a\": [], \"b\": {}, \"c\": [1, 2.5, -0.0, \"x\\u0000y\", {\"d\": [null, true, false]}],"
                               " \"\\u00fc\": {\"e\": 1e300}}", JSON_ALLOW_NUL, &e);
    REQUIRE(fixed, "fixture: %s", e.text);
    for (int i = 0; i < 3000; i++) {
        json_t *v = i ? random_value(0) : json_incref(fixed);
        for (int indent = 0; indent <= 2; indent += 2)
            for (int depth = 0; depth <= 20; depth += depth ? 17 : 3) {
                pair_reset(&p);
                BOTH(&p, value, v, indent, depth);
                bad += !pair_same(&p, "value");
            }
        char *text = NULL;
        size_t n = 0;
        if (jw_to_string(v, 0, &text, &n) != SAEX_OK || strlen(text) != n) bad++;
        ojw o;
        ojw_init_mem(&o);
        ojw_value(&o, v, 0, 0);
        size_t on = 0;
        char *otext = ojw_take(&o, &on);
        if (!text || !otext || n != on || memcmp(text, otext, n)) bad++;
        free(text);
        free(otext);
        json_decref(v);
    }
    json_decref(fixed);
    CHECK(bad == 0, "%d differ", bad);
    pair_free(&p);
}

static void random_features(int32_t *ids, float *act, int k) {
    int n = (int)(next() % (k + 1)); /* the first n set, the rest -1 as in the store */
    for (int i = 0; i < k; i++) {
        ids[i] = i < n ? (int32_t)(next() % 131072) : -1;
        act[i] = i < n ? (float)pow(10.0, -2.0 + 4.0 * (double)(next() >> 11) / 9007199254740992.0) : 0.0f;
    }
}

static void features(void) {
    pair p;
    pair_init(&p);
    int bad = 0;
    int32_t ids[64];
    float act[64];
    const char *tokens[] = {NULL, "<bos>", " the", "\n", "tab\t\"q\"", "\xe2\x96\x81\xc3\xa9"};
    for (int i = 0; i < 3000; i++) {
        random_features(ids, act, 50);
        if (i % 7 == 0) act[0] = NAN;
        int with = (int)(next() & 1), indent = next() & 1 ? 2 : 0, depth = (int)(next() % 5) + (i % 10 == 0 ? 20 : 0); /* deep: more spaces than one store */
        const char *tok = tokens[next() % 6];
        int32_t n_active = (int32_t)(next() % 5000);
        pair_reset(&p);
        BOTH(&p, features, ids, act, 50, n_active, with, tok, indent, depth);
        if (!pair_same(&p, "features") && bad++ > 5) break;
    }
    pair_reset(&p);
    BOTH(&p, features, ids, act, 0, 0, 1, "x", 2, 3); /* k = 0 */
    bad += !pair_same(&p, "k = 0");
    CHECK(bad == 0, "%d differ", bad);
    pair_free(&p);
}

/* ------------------------------------------------------------ modes, errors */

/* One long document through fd w, and through memory: same bytes as the oracle. */
static void script(jw *a, ojw *b) {
    uint64_t seed = rng;
    int32_t ids[50];
    float act[50];
    char *big = malloc(3u << 20); /* one string larger than the fd buffer */
    for (size_t j = 0; j < 3u << 20; j++) big[j] = j % 1000 == 999 ? '\n' : (char)('a' + j % 26);
    jw_raw(a, "[", 1), ojw_raw(b, "[", 1);
    for (int i = 0; i < 20000; i++) {
        random_features(ids, act, 50);
        jw_newline(a, 2, 1), ojw_newline(b, 2, 1);
        jw_features(a, ids, act, 50, i, 1, " tok", 2, 1), ojw_features(b, ids, act, 50, i, 1, " tok", 2, 1);
        jw_raw(a, ",", 1), ojw_raw(b, ",", 1);
        if (i == 10000) jw_string(a, big, 3u << 20), ojw_string(b, big, 3u << 20), jw_raw(a, ",", 1), ojw_raw(b, ",", 1);
    }
    jw_raw(a, big, 2u << 20), ojw_raw(b, big, 2u << 20); /* raw, larger than the buffer */
    jw_raw(a, "]\n", 2), ojw_raw(b, "]\n", 2);
    free(big);
    rng = seed;
}

static void fd_and_memory(void) {
    const char *path = t_path("doc.json");
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    REQUIRE(fd >= 0, "open %s", path);
    jw f, m;
    ojw o;
    jw_init_fd(&f, fd);
    ojw_init_mem(&o);
    uint64_t seed = rng;
    script(&f, &o);
    rng = seed;
    jw_init_mem(&m);
    ojw dummy;
    ojw_init_mem(&dummy);
    script(&m, &dummy);
    ojw_finish(&dummy);
    CHECK(f.cap <= JW_BLOCK, "fd buffer grew to %zu", f.cap);
    CHECK(jw_finish(&f) == 0, "jw_finish");
    close(fd);
    size_t n = 0;
    char *mem = jw_take(&m, &n);
    REQUIRE(mem && mem[n] == '\0', "jw_take");
    FILE *fp = fopen(path, "rb");
    REQUIRE(fp, "reopen");
    char *file = malloc(n + 1);
    size_t got = fread(file, 1, n + 1, fp);
    fclose(fp);
    CHECK(got == n && memcmp(file, mem, n) == 0, "fd %zu bytes, memory %zu bytes", got, n);
    CHECK(o.n == n && memcmp(o.buf, mem, n) == 0, "oracle %zu bytes, memory %zu bytes", o.n, n);
    CHECK(n > 4 * JW_BLOCK, "document of %zu bytes spans several blocks", n);
    free(file);
    free(mem);
    ojw_finish(&o);
}

static void write_error(void) {
    int fd = open("/dev/full", O_WRONLY);
    if (fd < 0) SKIP("no /dev/full");
    jw w;
    jw_init_fd(&w, fd);
    jw_raw(&w, "[1]\n", 4);
    CHECK(jw_finish(&w) == ENOSPC, "small write: ENOSPC at jw_finish");
    jw_init_fd(&w, fd);
    for (int i = 0; i < 200000; i++) jw_int(&w, i), jw_raw(&w, ",", 1); /* past the first flush */
    int before = w.err;
    jw_string(&w, "more", 4);
    CHECK(before == ENOSPC && jw_finish(&w) == ENOSPC, "error kept from the first flush: %d", before);
    close(fd);
    int pfd[2];
    REQUIRE(pipe(pfd) == 0, "pipe");
    close(pfd[0]);
    signal(SIGPIPE, SIG_IGN);
    jw_init_fd(&w, pfd[1]);
    jw_raw(&w, "x", 1);
    CHECK(jw_finish(&w) == EPIPE, "closed pipe: EPIPE");
    close(pfd[1]);
}

int main(void) {
    if (!t_tmp_open("jw")) return 1;
    RUN(f32_edges);
    RUN(f32_random_bits);
    RUN(f32_activation_range);
    RUN(f32_decimal_neighbours);
    RUN(f32_round_trip);
    RUN(f64_values);
    RUN(ints);
    RUN(strings);
    RUN(values);
    RUN(features);
    RUN(fd_and_memory);
    RUN(write_error);
    t_tmp_close();
    TEST_MAIN_END();
}
