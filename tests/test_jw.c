/* test_jw.c — the output's number and text formats (src/pipeline/json_write.c).
 * An activation is written by a fast path on double arithmetic; the reference
 * here is the plain definition: the shortest "%.Pg" (P = 1..9) that strtof
 * reads back, then that value printed as the shortest of "%.15g".."%.17g"
 * that strtod reads back, with ".0" when it has no '.' or exponent. */
#include "test.h"
#include "pipeline/json_write.h"

#include <float.h>
#include <fcntl.h>
#include <stdint.h>

static int ref_f32(float x, char *out) {
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

static long n_checked, n_bad;

static void same(float x) {
    char a[48], b[48];
    int na = jw_f32_text(x, a), nb = ref_f32(x, b);
    n_checked++;
    if (na != nb || memcmp(a, b, (size_t)na)) {
        if (n_bad++ < 5) CHECK(0, "%a: '%.*s', want '%.*s'", (double)x, na, a, nb, b);
        t_failed_case = 1;
    }
}

static uint64_t rng = 0x9E3779B97F4A7C15u;
static uint32_t next32(void) {
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    return (uint32_t)(rng >> 16);
}

static float from_bits(uint32_t u) {
    float f;
    memcpy(&f, &u, 4);
    return f;
}

static void t_random_bit_patterns(void) {
    n_checked = n_bad = 0;
    for (int i = 0; i < 400000; i++) {
        float x = from_bits(next32());
        if (isfinite(x)) same(x);
    }
    printf("     %ld random float32 bit patterns, %ld differ\n", n_checked, n_bad);
}

/* Activations as the SAE gives them: positive, mostly 1e-3 .. 1e3. */
static void t_activation_range(void) {
    n_checked = n_bad = 0;
    for (uint32_t u = 0x3A800000u; u < 0x44800000u; u += 97) same(from_bits(u));
    for (uint32_t u = 0x3F800000u - 20000; u < 0x3F800000u + 20000; u++) same(from_bits(u));
    printf("     %ld activations in [1e-3, 1e3] and every float near 1.0, %ld differ\n", n_checked, n_bad);
}

/* The edges: zeros, subnormals, the extremes, powers of ten and of two and
 * their neighbours, values with few digits (2.56, 1e6, 123456789). */
static void t_edges(void) {
    n_checked = n_bad = 0;
    float fixed[] = {0.0f, -0.0f, FLT_MIN, FLT_MAX, -FLT_MAX, FLT_TRUE_MIN, 1e-45f, 2.56f, 1e6f, 1e15f, 1e16f,
                     1e-4f, 1e-5f, 123456789.0f, 0.1f, 0.3f, 16777216.0f, 3.4e38f, 1.17549435e-38f};
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++) same(fixed[i]);
    for (int e = -45; e <= 38; e++) {
        float p = strtof("1", NULL);
        char s[16];
        snprintf(s, sizeof s, "1e%d", e);
        p = strtof(s, NULL);
        for (float q = p, i = 0; i < 5; i++) same(q), same(-q), q = nextafterf(q, INFINITY);
        for (float q = p, i = 0; i < 5; i++) same(q), q = nextafterf(q, 0);
        for (int m = 1; m < 1000; m += 7) same(strtof(s, NULL) * (float)m);
    }
    for (int e = -149; e <= 127; e++) same(ldexpf(1.0f, e)), same(nextafterf(ldexpf(1.0f, e), 0));
    for (uint32_t u = 1; u < 0x00800000u; u += 4099) same(from_bits(u)); /* subnormals */
    printf("     %ld edge values, %ld differ\n", n_checked, n_bad);
}

/* Integers, text escapes and indentation through the writer itself. */
static void t_writer(void) {
    jw w;
    jw_init_mem(&w);
    int64_t ints[] = {0, -1, 7, 10, -10, 999, INT64_MAX, INT64_MIN, 1234567890123LL};
    for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++) jw_int(&w, ints[i]), jw_raw(&w, " ", 1);
    jw_string(&w, "a\"b\\c\n\t\x01\x1f\xc3\xa9\xf0\x9f\x98\x80", 15);
    jw_newline(&w, 2, 70);
    jw_raw(&w, "|", 1);
    size_t n = 0;
    char *s = jw_take(&w, &n);
    REQUIRE(s, "jw_take");
    char want[400];
    int k = snprintf(want, sizeof want, "0 -1 7 10 -10 999 9223372036854775807 -9223372036854775808 1234567890123 "
                                        "\"a\\\"b\\\\c\\n\\t\\u0001\\u001F\xc3\xa9\xf0\x9f\x98\x80\"\n");
    memset(want + k, ' ', 140), k += 140;
    want[k++] = '|';
    CHECK(n == (size_t)k && !memcmp(s, want, n), "got '%s'", s);
    free(s);
}

static void t_features(void) {
    int32_t ids[] = {7, 3, -1};
    float act[] = {2.56f, 1e-5f, 0};
    jw w;
    jw_init_mem(&w);
    jw_features(&w, ids, act, 3, 4, 1, "\xe2\x96\x81Paris", 0, 0);
    size_t n = 0;
    char *s = jw_take(&w, &n);
    REQUIRE(s, "jw_take");
    const char *want = "{\"top_k_features\":[{\"id\":7,\"activation\":2.56},{\"id\":3,\"activation\":1e-05}],"
                       "\"num_active_features\":4,\"token\":\"\xe2\x96\x81Paris\"}";
    CHECK(!strcmp(s, want), "got %s", s);
    free(s);
}

/* A write error (a full disk) is reported, not lost in the buffer. */
static void t_write_error(void) {
    int fd = open("/dev/full", O_WRONLY);
    if (fd < 0) SKIP("no /dev/full");
    jw w;
    jw_init_fd(&w, fd);
    for (int i = 0; i < 100000; i++) jw_raw(&w, "0123456789abcdef", 16);
    CHECK(jw_finish(&w) != 0, "no error on /dev/full");
    close(fd);
}

int main(void) {
    RUN(t_edges);
    RUN(t_activation_range);
    RUN(t_random_bit_patterns);
    RUN(t_writer);
    RUN(t_features);
    RUN(t_write_error);
    TEST_MAIN_END();
}
