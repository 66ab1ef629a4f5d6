/* test_json_write.c — the output serializer: jansson's layout, exact reals,
 * shortest float32 activations, write errors. */
#include "../src/cli/json_write.c"
#include "test.h"

#include <float.h>
#include <stdint.h>

/* json_write into a malloc'd string (caller frees). */
static char *write_to_string(const json_t *v, int indent) {
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f) return NULL;
    int rc = json_write(f, v, indent);
    fclose(f);
    if (rc) {
        free(buf);
        return NULL;
    }
    return buf;
}

static uint64_t rng_state = 0x9E3779B97F4A7C15u;
static uint64_t rng(void) { /* xorshift64* */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 2685821657736338717u;
}

/* Digits from the first to the last non-zero one of the mantissa ("1200.0" -> 2). */
static int significant_digits(const char *s) {
    int n = 0, first = -1, last = -1;
    for (; *s && *s != 'e' && *s != 'E'; s++) {
        if (*s < '0' || *s > '9') continue;
        if (*s != '0') {
            if (first < 0) first = n;
            last = n;
        }
        n++;
    }
    return first < 0 ? 1 : last - first + 1;
}

/* Without reals, the layout must be byte-identical to jansson's own. */
static void test_layout_matches_jansson(void) {
    const char *text = "{\"a\": 1, \"z\": [], \"m\": {}, \"s\": \"tab\\t nl\\n q\\\" bs\\\\ nul\\u0000 "
                       "ctl\\u001f del\\u007f sl/ \\u00e9\\u4e2d\\ud83d\\ude00\", "
                       "\"nested\": [[1, [2, {\"k\": null}]], {\"t\": true, \"f\": false}], "
                       "\"big\": 9007199254740993, \"min\": -9223372036854775808}";
    json_error_t err;
    json_t *v = json_loads(text, JSON_ALLOW_NUL, &err);
    REQUIRE(v, "parse: %s", err.text);
    for (int indent = 0; indent <= 4; indent += 2) {
        size_t flags = indent ? JSON_INDENT(indent) : JSON_COMPACT;
        char *want = json_dumps(v, flags), *got = write_to_string(v, indent);
        REQUIRE(want && got, "dump");
        CHECK(strcmp(want, got) == 0, "indent %d:\n%s\n---\n%s", indent, want, got);
        free(want);
        free(got);
    }
    json_decref(v);
}

/* Every real, integer and string reads back as the same value and type. */
static void test_round_trip_tree(void) {
    const char *text = "[0.1, 0.123456789012345, 1e-300, 1.7976931348623157e308, -0.0, 2.5e-8, 1.0, 100.0,"
                       " 1e22, 5e-324, 123456789.125, -1, 0, \"x\\u0000y\", {\"\": {\"a\": [0.3]}}]";
    json_error_t err;
    json_t *v = json_loads(text, JSON_ALLOW_NUL, &err);
    REQUIRE(v, "parse: %s", err.text);
    char *out = write_to_string(v, 2);
    REQUIRE(out, "write");
    json_t *back = json_loads(out, JSON_ALLOW_NUL, &err);
    REQUIRE(back, "reparse: %s\n%s", err.text, out);
    CHECK(json_equal(v, back), "%s", out);
    for (size_t i = 0; i < json_array_size(v); i++) {
        json_t *a = json_array_get(v, i), *b = json_array_get(back, i);
        CHECK(json_typeof(a) == json_typeof(b), "element %zu changed type", i);
        if (json_is_real(a))
            CHECK(memcmp(&(double){json_real_value(a)}, &(double){json_real_value(b)}, sizeof(double)) == 0,
                  "element %zu: %.17g -> %.17g", i, json_real_value(a), json_real_value(b));
    }
    CHECK(strstr(out, "-0.0") && strstr(out, "1.0,") && strstr(out, "100.0,") && strstr(out, "0.1,"), "%s", out);
    free(out);
    json_decref(back);
    json_decref(v);
}

static void test_format_real(void) {
    struct {
        double d;
        const char *want;
    } cases[] = {{0.1, "0.1"},
                 {0.123456789012345, "0.123456789012345"},
                 {1e-300, "1e-300"},
                 {DBL_MAX, "1.7976931348623157e+308"},
                 {-0.0, "-0.0"},
                 {0.0, "0.0"},
                 {2.5e-8, "2.5e-08"},
                 {1.0, "1.0"},
                 {-3.0, "-3.0"},
                 {1e22, "1e+22"},
                 {0.30000000000000004, "0.30000000000000004"},
                 {9007199254740993.0, "9007199254740992.0"}};
    char buf[40];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        json_format_real(cases[i].d, buf, sizeof buf);
        CHECK(strcmp(buf, cases[i].want) == 0, "%.17g: got %s, want %s", cases[i].d, buf, cases[i].want);
    }
    /* Random bit patterns: exact round trip (sign of zero included), always a real, no longer than needed. */
    int bad = 0;
    for (int i = 0; i < 200000 && bad < 5; i++) {
        uint64_t bits = rng();
        double d;
        memcpy(&d, &bits, sizeof d);
        if (!isfinite(d)) continue;
        int n = json_format_real(d, buf, sizeof buf);
        double back = strtod(buf, NULL);
        char shorter[400]; /* %g of a double can be 300+ characters */
        int digits = significant_digits(buf);
        snprintf(shorter, sizeof shorter, "%.*g", digits - 1, d);
        int ok = memcmp(&back, &d, sizeof d) == 0 && (size_t)n == strlen(buf) && strpbrk(buf, ".e") &&
                 (digits <= 15 || strtod(shorter, NULL) != d);
        if (!ok) {
            bad++;
            CHECK(0, "%a -> %s", d, buf);
        }
    }
}

static void test_float32_shortest(void) {
    json_t *v = json_float32(2.56f);
    char buf[40];
    json_format_real(json_real_value(v), buf, sizeof buf);
    CHECK(strcmp(buf, "2.56") == 0 && (float)json_real_value(v) == 2.56f, "%s", buf);
    json_decref(v);
    v = json_float32(1.0f);
    json_format_real(json_real_value(v), buf, sizeof buf);
    CHECK(strcmp(buf, "1.0") == 0, "%s", buf);
    json_decref(v);
    v = json_float32(NAN);
    CHECK(json_is_null(v), "NaN is null");
    json_decref(v);
    int bad = 0;
    for (int i = 0; i < 200000 && bad < 5; i++) {
        uint32_t bits = (uint32_t)rng();
        float x;
        memcpy(&x, &bits, sizeof x);
        if (!isfinite(x)) continue;
        v = json_float32(x);
        json_format_real(json_real_value(v), buf, sizeof buf);
        json_decref(v);
        /* The printed text reads back (as a float32) to x, in at most 9 digits, and no shorter %g would. */
        float back = strtof(buf, NULL);
        int digits = significant_digits(buf);
        char shorter[400]; /* %g of a double can be 300+ characters */
        snprintf(shorter, sizeof shorter, "%.*g", digits - 1, (double)x);
        int ok = memcmp(&back, &x, sizeof x) == 0 && digits <= 9 && (digits == 1 || strtof(shorter, NULL) != x);
        if (!ok) {
            bad++;
            CHECK(0, "%a -> %s (%d digits)", (double)x, buf, digits);
        }
    }
}

static void test_write_error(void) {
    FILE *f = fopen("/dev/full", "w");
    if (!f) SKIP("no /dev/full");
    json_t *v = json_array();
    for (int i = 0; i < 10000; i++) json_array_append_new(v, json_string("some text to fill the buffer"));
    int rc = json_write(f, v, 2);
    int flush = fflush(f);
    CHECK(rc == -1 && flush != 0 && ferror(f), "rc %d, fflush %d", rc, flush);
    fclose(f);
    json_decref(v);
}

int main(void) {
    RUN(test_layout_matches_jansson);
    RUN(test_round_trip_tree);
    RUN(test_format_real);
    RUN(test_float32_shortest);
    RUN(test_write_error);
    TEST_MAIN_END();
}
