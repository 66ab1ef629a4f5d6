/* test_safetensors.c — st_write/st_open round trips, sharded sets, every
 * hostile-header case (status and a message naming file and tensor), and
 * the bf16/f16 conversions. Files are written into a fresh temp dir. */
#include "test.h"

#include "safetensors.h"
#include "safetensors_mem.h"

#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>


static int write_bytes(const char *path, const void *p, size_t n) {
    FILE *f = fopen(path, "wb");
    if (!f) return 0;
    int ok = fwrite(p, 1, n, f) == n;
    return fclose(f) == 0 && ok;
}

/* A safetensors file from a header string and data bytes; hlen_override
 * replaces the length prefix when non-zero. */
static int write_raw_st(const char *path, const char *header, const void *data, size_t dlen, uint64_t hlen_override) {
    size_t h = strlen(header);
    uint64_t L = hlen_override ? hlen_override : h;
    uint8_t *buf = malloc(8 + h + dlen + 1);
    for (int i = 0; i < 8; i++) buf[i] = (uint8_t)(L >> (8 * i));
    memcpy(buf + 8, header, h);
    if (dlen) memcpy(buf + 8 + h, data, dlen);
    int ok = write_bytes(path, buf, 8 + h + dlen);
    free(buf);
    return ok;
}

static int has(const char *hay, const char *needle) { return strstr(hay, needle) != NULL; }

/* Opens path expecting status `want` and a message naming `a` (and `b`). */
static void expect_fail(const char *path, saex_status want, const char *a, const char *b) {
    st_set *s = (st_set *)1;
    saex_status st = st_open(path, &s);
    const char *msg = saex_last_error();
    if (getenv("TEST_VERBOSE")) fprintf(stderr, "  [%d] %s\n", st, msg);
    CHECK(st == want, "%s: got status %d (%s), want %d", path, st, msg, want);
    CHECK(s == NULL, "%s: *out not cleared on failure", path);
    CHECK(has(msg, a), "message '%s' does not name '%s'", msg, a);
    if (b) CHECK(has(msg, b), "message '%s' does not name '%s'", msg, b);
    if (st == SAEX_OK) st_close(s);
}

/* ------------------------------------------------------------ round trip */

static void test_roundtrip(void) {
    float a[6] = {1.5f, -2.25f, 0.0f, 3e-8f, -1e30f, 42.0f};
    uint16_t bf[4], h[3] = {0x3c00, 0xc000, 0x0001}; /* 1, -2, 2^-24 */
    float bfsrc[4] = {1.0f, -0.5f, 3.140625f, 1e-3f};
    for (int i = 0; i < 4; i++) bf[i] = st_f32_to_bf16(bfsrc[i]);
    double d[2] = {0.1, -7.5};
    int64_t i64[2] = {-3, 1LL << 40};
    float scalar = 9.0f;
    st_write_tensor w[] = {
        {"model.a", ST_F32, 2, {2, 3}, a},   {"b.bf16", ST_BF16, 1, {4}, bf}, {"c.f16", ST_F16, 1, {3}, h},
        {"d.f64", ST_F64, 1, {2}, d},        {"e.i64", ST_I64, 1, {2}, i64},   {"f.empty", ST_U8, 2, {0, 7}, NULL},
        {"g.scalar", ST_F32, 0, {0}, &scalar},
    };
    const char *meta[] = {"format", "pt", "note", "round trip", NULL};
    const char *p = t_path("rt.safetensors");
    REQUIRE_OK(st_write(p, w, 7, meta));

    /* Header length is padded to a multiple of 8 and holds the metadata. */
    FILE *f = fopen(p, "rb");
    REQUIRE(f, "reopen");
    uint8_t lb[8];
    REQUIRE_TRUE(fread(lb, 1, 8, f) == 8);
    uint64_t hl = 0;
    for (int i = 7; i >= 0; i--) hl = hl << 8 | lb[i];
    CHECK(hl % 8 == 0, "header length %llu not a multiple of 8", (unsigned long long)hl);
    char *hdr = calloc(1, hl + 1);
    CHECK(fread(hdr, 1, hl, f) == hl, "read header");
    fclose(f);
    json_t *root = json_loads(hdr, 0, NULL);
    CHECK(root != NULL, "header not JSON: %s", hdr);
    json_t *m = json_object_get(root, "__metadata__");
    CHECK(m && !strcmp(json_string_value(json_object_get(m, "note")), "round trip"), "metadata lost: %s", hdr);
    json_decref(root);
    free(hdr);

    st_set *s = NULL;
    REQUIRE_OK(st_open(p, &s));
    CHECK(st_count(s) == 7, "count %d", st_count(s));
    for (int i = 0; i < 7; i++) {
        const st_tensor *t = st_find(s, w[i].name);
        REQUIRE(t, "missing %s", w[i].name);
        CHECK(t->dtype == w[i].dtype && t->ndim == w[i].ndim, "%s dtype/ndim", w[i].name);
        for (int k = 0; k < t->ndim; k++) CHECK(t->shape[k] == w[i].shape[k], "%s shape[%d]", w[i].name, k);
        CHECK(!strcmp(t->file, p), "file '%s'", t->file);
        CHECK(st_at(s, i) == t, "st_at(%d) is not in header order", i);
    }
    const st_tensor *t = st_find(s, "model.a");
    float out[6];
    REQUIRE_OK(st_to_f32(t, out));
    for (int i = 0; i < 6; i++) CHECK(out[i] == a[i], "a[%d] %g != %g", i, out[i], a[i]);
    t = st_find(s, "b.bf16");
    REQUIRE_OK(st_to_f32(t, out));
    for (int i = 0; i < 4; i++) CHECK(fabsf(out[i] - bfsrc[i]) <= fabsf(bfsrc[i]) / 256, "bf[%d] %g", i, out[i]);
    CHECK(out[2] == 3.140625f, "bf16 exact value %g", out[2]);
    t = st_find(s, "c.f16");
    REQUIRE_OK(st_to_f32(t, out));
    CHECK(out[0] == 1.0f && out[1] == -2.0f && out[2] == ldexpf(1, -24), "f16 %g %g %g", out[0], out[1], out[2]);
    t = st_find(s, "d.f64");
    REQUIRE_OK(st_to_f32(t, out));
    CHECK(out[0] == 0.1f && out[1] == -7.5f, "f64 %g %g", out[0], out[1]);
    t = st_find(s, "e.i64");
    CHECK(t->nbytes == 16 && !memcmp(t->data, i64, 16), "i64 bytes");
    CHECK(st_to_f32(t, out) == SAEX_ERR_UNSUPPORTED, "i64 to f32 should be refused");
    CHECK(has(saex_last_error(), "e.i64"), "%s", saex_last_error());
    t = st_find(s, "f.empty");
    CHECK(t->numel == 0 && t->nbytes == 0, "empty tensor numel %lld", (long long)t->numel);
    t = st_find(s, "g.scalar");
    CHECK(t->ndim == 0 && t->numel == 1 && st_to_f32(t, out) == SAEX_OK && out[0] == 9.0f, "scalar");
    CHECK(st_find(s, "nope") == NULL, "st_find of an absent name");
    const st_tensor *g = (const st_tensor *)1;
    CHECK(st_get(s, "nope.weight", &g) != SAEX_OK && g == NULL, "st_get of an absent name");
    CHECK(has(saex_last_error(), "nope.weight") && has(saex_last_error(), p), "%s", saex_last_error());
    st_close(s);
}

/* Many tensors: st_find must find each of them (sorted index, bsearch). */
static void test_many_tensors(void) {
    enum { N = 600 };
    st_write_tensor w[N];
    char names[N][40];
    float vals[N];
    for (int i = 0; i < N; i++) {
        snprintf(names[i], sizeof names[i], "model.layers.%d.weight", (i * 7919) % N);
        vals[i] = (float)i;
        w[i] = (st_write_tensor){names[i], ST_F32, 1, {1}, &vals[i]};
    }
    const char *p = t_path("many.safetensors");
    REQUIRE_OK(st_write(p, w, N, NULL));
    st_set *s;
    REQUIRE_OK(st_open(p, &s));
    CHECK(st_count(s) == N, "count");
    for (int i = 0; i < N; i++) {
        const st_tensor *t = st_find(s, names[i]);
        float v = -1;
        CHECK(t && st_to_f32(t, &v) == SAEX_OK && v == vals[i], "%s -> %g", names[i], v);
    }
    st_close(s);
}

/* --------------------------------------------------------------- shards */

static void write_shards(const char *sub, const char *index_json) {
    char d[256], p[300];
    snprintf(d, sizeof d, "%s/%s", t_dir, sub);
    mkdir(d, 0755);
    float x[2] = {1, 2}, y[3] = {3, 4, 5}, z[1] = {6};
    st_write_tensor s1[] = {{"x", ST_F32, 1, {2}, x}, {"y", ST_F32, 1, {3}, y}};
    st_write_tensor s2[] = {{"z", ST_F32, 1, {1}, z}};
    snprintf(p, sizeof p, "%s/model-00001-of-00002.safetensors", d);
    st_write(p, s1, 2, NULL);
    snprintf(p, sizeof p, "%s/model-00002-of-00002.safetensors", d);
    st_write(p, s2, 1, NULL);
    snprintf(p, sizeof p, "%s/model.safetensors.index.json", d);
    write_bytes(p, index_json, strlen(index_json));
}

static const char *good_index = "{\"metadata\": {\"total_size\": 24}, \"weight_map\": {"
                                "\"x\": \"model-00001-of-00002.safetensors\", \"y\": \"model-00001-of-00002.safetensors\","
                                "\"z\": \"model-00002-of-00002.safetensors\"}}";

static void test_sharded(void) {
    write_shards("sharded", good_index);
    const char *paths[2] = {t_path("sharded/model.safetensors.index.json"), t_path("sharded")};
    for (int k = 0; k < 2; k++) {
        st_set *s = NULL;
        REQUIRE_OK(st_open(paths[k], &s));
        CHECK(st_count(s) == 3, "count %d", st_count(s));
        const st_tensor *z = st_find(s, "z"), *y = st_find(s, "y");
        REQUIRE(z && y, "z/y missing");
        CHECK(has(z->file, "model-00002-of-00002") && has(y->file, "model-00001-of-00002"), "files %s %s", z->file,
              y->file);
        float v[3];
        CHECK(st_to_f32(y, v) == SAEX_OK && v[0] == 3 && v[2] == 5, "y values");
        CHECK(st_to_f32(z, v) == SAEX_OK && v[0] == 6, "z value");
        st_close(s);
    }
    /* A directory with just model.safetensors. */
    char d[256];
    snprintf(d, sizeof d, "%s/single", t_dir);
    mkdir(d, 0755);
    float x = 5;
    st_write_tensor w = {"only", ST_F32, 0, {0}, &x};
    REQUIRE_OK(st_write(t_path("single/model.safetensors"), &w, 1, NULL));
    st_set *s;
    REQUIRE_OK(st_open(d, &s));
    CHECK(st_find(s, "only") != NULL, "only");
    st_close(s);
    snprintf(d, sizeof d, "%s/emptydir", t_dir);
    mkdir(d, 0755);
    expect_fail(d, SAEX_ERR_IO, "emptydir", "model.safetensors");
}

static void test_sharded_hostile(void) {
    write_shards("missing", "{\"weight_map\": {\"x\": \"model-00001-of-00002.safetensors\", \"q\": \"gone.safetensors\"}}");
    expect_fail(t_path("missing"), SAEX_ERR_IO, "gone.safetensors", "model.safetensors.index.json");

    write_shards("lacks", "{\"weight_map\": {\"x\": \"model-00001-of-00002.safetensors\", \"w\": "
                          "\"model-00002-of-00002.safetensors\"}}");
    expect_fail(t_path("lacks/model.safetensors.index.json"), SAEX_ERR_FORMAT, "'w'", "model-00002-of-00002");

    write_shards("wrongshard", "{\"weight_map\": {\"x\": \"model-00002-of-00002.safetensors\", \"z\": "
                               "\"model-00001-of-00002.safetensors\"}}");
    expect_fail(t_path("wrongshard"), SAEX_ERR_FORMAT, "'x'", "model-00002-of-00002");

    /* The same tensor name in two shards. */
    write_shards("dup", good_index);
    float v = 1;
    st_write_tensor w = {"x", ST_F32, 0, {0}, &v};
    st_write(t_path("dup/model-00002-of-00002.safetensors"), &w, 1, NULL);
    expect_fail(t_path("dup"), SAEX_ERR_FORMAT, "'x'", "appears twice");

    write_shards("badjson", "{\"weight_map\": ");
    expect_fail(t_path("badjson"), SAEX_ERR_FORMAT, "badjson/model.safetensors.index.json", NULL);
    write_shards("nomap", "{\"metadata\": {}}");
    expect_fail(t_path("nomap"), SAEX_ERR_FORMAT, "weight_map", NULL);
    write_shards("badentry", "{\"weight_map\": {\"x\": 3}}");
    expect_fail(t_path("badentry"), SAEX_ERR_FORMAT, "'x'", "badentry");
    /* A shard that is itself malformed: both the index and the shard are named. */
    write_shards("badshard", good_index);
    write_bytes(t_path("badshard/model-00002-of-00002.safetensors"), "\x01\x02", 2);
    expect_fail(t_path("badshard"), SAEX_ERR_FORMAT, "model-00002-of-00002", "index.json");
}

/* ---------------------------------------------------------------- hostile */

typedef struct {
    const char *file, *header;
    size_t dlen;
    saex_status want;
    const char *needle; /* besides the file name */
} hostile_case;

static void test_hostile_headers(void) {
    static const uint8_t zeros[64];
    const hostile_case cases[] = {
        {"badjson.safetensors", "{\"a\": {\"dtype\": \"F32\", ", 0, SAEX_ERR_FORMAT, "JSON"},
        {"notobj.safetensors", "[1, 2]", 0, SAEX_ERR_FORMAT, "'{'"},
        {"entry.safetensors", "{\"w\": 5}", 0, SAEX_ERR_FORMAT, "'w'"},
        {"dtype.safetensors", "{\"w.q\": {\"dtype\": \"F8_E4M3\", \"shape\": [4], \"data_offsets\": [0, 4]}}", 4,
         SAEX_ERR_UNSUPPORTED, "F8_E4M3"},
        {"dtype2.safetensors", "{\"w.q\": {\"dtype\": 7, \"shape\": [4], \"data_offsets\": [0, 4]}}", 4, SAEX_ERR_FORMAT,
         "'w.q'"},
        {"negshape.safetensors", "{\"w\": {\"dtype\": \"F32\", \"shape\": [-1], \"data_offsets\": [0, 4]}}", 4,
         SAEX_ERR_FORMAT, "'w'"},
        {"floatshape.safetensors", "{\"w\": {\"dtype\": \"F32\", \"shape\": [1.5], \"data_offsets\": [0, 4]}}", 4,
         SAEX_ERR_FORMAT, "shape"},
        {"noshape.safetensors", "{\"w\": {\"dtype\": \"F32\", \"data_offsets\": [0, 4]}}", 4, SAEX_ERR_FORMAT, "shape"},
        {"overflow.safetensors",
         "{\"w\": {\"dtype\": \"F32\", \"shape\": [4294967296, 4294967296, 16], \"data_offsets\": [0, 4]}}", 4,
         SAEX_ERR_FORMAT, "overflow"},
        {"size.safetensors", "{\"w.size\": {\"dtype\": \"F32\", \"shape\": [2, 3], \"data_offsets\": [0, 20]}}", 24,
         SAEX_ERR_FORMAT, "'w.size'"},
        {"outside.safetensors", "{\"w.out\": {\"dtype\": \"F32\", \"shape\": [4], \"data_offsets\": [8, 24]}}", 16,
         SAEX_ERR_FORMAT, "'w.out'"},
        {"backwards.safetensors", "{\"w\": {\"dtype\": \"U8\", \"shape\": [0], \"data_offsets\": [8, 4]}}", 16,
         SAEX_ERR_FORMAT, "'w'"},
        {"offsets.safetensors", "{\"w\": {\"dtype\": \"U8\", \"shape\": [4], \"data_offsets\": [0]}}", 16, SAEX_ERR_FORMAT,
         "data_offsets"},
        {"overlap.safetensors",
         "{\"first\": {\"dtype\": \"F32\", \"shape\": [4], \"data_offsets\": [0, 16]},"
         " \"second\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [12, 20]}}",
         24, SAEX_ERR_FORMAT, "'second'"},
        {"overlap2.safetensors", /* one range inside another, listed out of order */
         "{\"inner\": {\"dtype\": \"U8\", \"shape\": [2], \"data_offsets\": [20, 22]},"
         " \"outer\": {\"dtype\": \"U8\", \"shape\": [32], \"data_offsets\": [0, 32]},"
         " \"after\": {\"dtype\": \"U8\", \"shape\": [4], \"data_offsets\": [32, 36]}}",
         40, SAEX_ERR_FORMAT, "'inner'"},
        {"dupkey.safetensors",
         "{\"w\": {\"dtype\": \"U8\", \"shape\": [1], \"data_offsets\": [0, 1]},"
         " \"w\": {\"dtype\": \"U8\", \"shape\": [1], \"data_offsets\": [1, 2]}}",
         2, SAEX_ERR_FORMAT, "JSON"},
        {"meta.safetensors", "{\"__metadata__\": {\"format\": 1}}", 0, SAEX_ERR_FORMAT, "format"},
        {"dims.safetensors", "{\"w\": {\"dtype\": \"U8\", \"shape\": [1,1,1,1,1,1,1,1,1], \"data_offsets\": [0, 1]}}", 1,
         SAEX_ERR_UNSUPPORTED, "'w'"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *p = t_path(cases[i].file);
        REQUIRE_TRUE(write_raw_st(p, cases[i].header, zeros, cases[i].dlen, 0));
        expect_fail(p, cases[i].want, cases[i].file, cases[i].needle);
    }
    /* Valid neighbours: adjacent ranges and zero-size tensors anywhere are fine. */
    const char *ok = "{\"a\": {\"dtype\": \"U8\", \"shape\": [4], \"data_offsets\": [0, 4]},"
                     " \"e\": {\"dtype\": \"F32\", \"shape\": [0], \"data_offsets\": [2, 2]},"
                     " \"b\": {\"dtype\": \"U8\", \"shape\": [4], \"data_offsets\": [4, 8]}}";
    const char *p = t_path("adjacent.safetensors");
    write_raw_st(p, ok, zeros, 8, 0);
    st_set *s;
    CHECK(st_open(p, &s) == SAEX_OK, "%s", saex_last_error());
    if (s) st_close(s);
}

static void test_hostile_lengths(void) {
    const char *p = t_path("short.safetensors");
    write_bytes(p, "\x10\x00\x00", 3);
    expect_fail(p, SAEX_ERR_FORMAT, "short.safetensors", "too short");
    p = t_path("zero.safetensors");
    write_bytes(p, "", 0);
    expect_fail(p, SAEX_ERR_FORMAT, "zero.safetensors", NULL);
    p = t_path("beyond.safetensors");
    write_raw_st(p, "{}", NULL, 0, 4096);
    expect_fail(p, SAEX_ERR_FORMAT, "beyond.safetensors", "4096");
    p = t_path("absurd.safetensors");
    write_raw_st(p, "{}", NULL, 0, 0xffffffffffffull);
    expect_fail(p, SAEX_ERR_FORMAT, "absurd.safetensors", "absurd");
    /* A valid file cut short in its data section. */
    float x[64] = {0};
    st_write_tensor w = {"big.tensor", ST_F32, 1, {64}, x};
    p = t_path("cut.safetensors");
    REQUIRE_OK(st_write(p, &w, 1, NULL));
    REQUIRE_TRUE(truncate(p, 8 + 64 + 100) == 0);
    expect_fail(p, SAEX_ERR_FORMAT, "cut.safetensors", "'big.tensor'");
    expect_fail(t_path("does-not-exist.safetensors"), SAEX_ERR_IO, "does-not-exist.safetensors", NULL);
}

/* The in-memory entry point the fuzzer uses agrees with st_open. */
static void test_mem(void) {
    uint8_t buf[8 + 72 + 4];
    const char *h = "{\"t\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0, 4]}}";
    size_t hl = strlen(h);
    REQUIRE(hl + 8 + 4 <= sizeof buf, "buffer");
    for (int i = 0; i < 8; i++) buf[i] = (uint8_t)((uint64_t)hl >> (8 * i));
    memcpy(buf + 8, h, hl);
    float one = 1.0f;
    memcpy(buf + 8 + hl, &one, 4);
    st_set *s;
    REQUIRE_OK(st_open_mem(buf, 8 + hl + 4, "mem", &s));
    float v = 0;
    CHECK(st_to_f32(st_find(s, "t"), &v) == SAEX_OK && v == 1.0f, "value %g", v);
    st_close(s);
    CHECK(st_open_mem(buf, 8 + hl + 3, "membuf", &s) == SAEX_ERR_FORMAT && has(saex_last_error(), "membuf"), "%s",
          saex_last_error());
}

/* ---------------------------------------------------------- conversions */

static void test_f16_exhaustive(void) {
    int bad = 0;
    for (uint32_t h = 0; h < 65536; h++) {
        int s = h >> 15, e = h >> 10 & 31, m = h & 1023;
        float got = st_f16_to_f32((uint16_t)h);
        if (e == 31) {
            if (m ? !isnan(got) : !(isinf(got) && (signbit(got) != 0) == s)) bad++;
            continue;
        }
        double want = e ? ldexp(1.0 + m / 1024.0, e - 15) : ldexp(m, -24);
        if (s) want = -want;
        if ((double)got != want || (signbit(got) != 0) != s) {
            if (bad++ < 5) fprintf(stderr, "  f16 %04x -> %g, want %g\n", h, got, want);
        }
    }
    CHECK(bad == 0, "%d f16 values wrong", bad);
}

static float from_bits(uint32_t u) {
    float f;
    memcpy(&f, &u, 4);
    return f;
}

static void test_bf16(void) {
    CHECK(st_f32_to_bf16(1.0f) == 0x3f80, "1.0");
    CHECK(st_f32_to_bf16(from_bits(0x3f808000)) == 0x3f80, "tie rounds to even (down)");
    CHECK(st_f32_to_bf16(from_bits(0x3f818000)) == 0x3f82, "tie rounds to even (up)");
    CHECK(st_f32_to_bf16(from_bits(0x3f808001)) == 0x3f81, "above half rounds up");
    CHECK(st_f32_to_bf16(from_bits(0x7f7fffff)) == 0x7f80, "max float rounds to inf");
    CHECK(st_f32_to_bf16(INFINITY) == 0x7f80 && st_f32_to_bf16(-INFINITY) == 0xff80, "inf");
    CHECK(isnan(st_bf16_to_f32(st_f32_to_bf16(NAN))), "NaN stays NaN");
    CHECK(isnan(st_bf16_to_f32(st_f32_to_bf16(from_bits(0x7f800001)))), "NaN with low payload stays NaN");
    CHECK(isnan(st_bf16_to_f32(st_f32_to_bf16(from_bits(0xffffffff)))), "all-ones NaN stays NaN");
    /* Nearest-even against a brute-force reference over a spread of floats. */
    int bad = 0;
    uint32_t x = 12345;
    for (int i = 0; i < 200000; i++) {
        x = x * 1664525u + 1013904223u;
        float f = from_bits(x);
        if (isnan(f) || isinf(f)) continue;
        uint32_t lo = x & 0xffff0000u, hi = lo + 0x10000u;
        /* Past the largest bf16, rounding treats infinity as 2^128. */
        double hv = (hi & 0x7fffffffu) == 0x7f800000u ? copysign(ldexp(1, 128), f) : (double)from_bits(hi);
        double dl = fabs((double)f - (double)from_bits(lo)), dh = fabs(hv - (double)f);
        uint16_t want = (uint16_t)((dl < dh || (dl == dh && !((lo >> 16) & 1))) ? lo >> 16 : hi >> 16);
        if (st_f32_to_bf16(f) != want && bad++ < 5) fprintf(stderr, "  bf16 %08x -> %04x\n", x, st_f32_to_bf16(f));
        if (st_bf16_to_f32(want) != from_bits((uint32_t)want << 16)) bad++;
    }
    CHECK(bad == 0, "%d bf16 roundings wrong", bad);
}

/* ---------------------------------------------------------- write errors */

static void test_write_errors(void) {
    float x[4] = {1, 2, 3, 4};
    st_write_tensor w = {"x", ST_F32, 1, {4}, x};
    if (access("/dev/full", W_OK) == 0) {
        CHECK(st_write("/dev/full", &w, 1, NULL) == SAEX_ERR_IO, "writing to a full disk must fail");
        CHECK(has(saex_last_error(), "/dev/full"), "%s", saex_last_error());
    }
    CHECK(st_write(t_path("no/such/dir/x.safetensors"), &w, 1, NULL) == SAEX_ERR_IO, "missing dir");
    CHECK(has(saex_last_error(), "x.safetensors"), "%s", saex_last_error());
    st_write_tensor two[2] = {w, w};
    CHECK(st_write(t_path("dupe.safetensors"), two, 2, NULL) == SAEX_ERR_ARG, "duplicate names");
    CHECK(has(saex_last_error(), "'x'"), "%s", saex_last_error());
    st_write_tensor neg = {"neg", ST_F32, 1, {-4}, x};
    CHECK(st_write(t_path("neg.safetensors"), &neg, 1, NULL) == SAEX_ERR_ARG, "negative shape");
    const char *lonely[] = {"k", "v", "lonely", NULL, NULL};
    CHECK(st_write(t_path("meta.safetensors"), &w, 1, lonely) == SAEX_ERR_ARG, "metadata key without a value");
    CHECK(has(saex_last_error(), "lonely"), "%s", saex_last_error());
}

/* st_release drops only whole pages inside the tensor; the data is still
 * readable afterwards (it is re-read from the file). */
static void test_release(void) {
    enum { N = 5000 };
    float *a = malloc(N * sizeof *a), *b = malloc(N * sizeof *b), *out = malloc(N * sizeof *out);
    for (int i = 0; i < N; i++) a[i] = (float)i * 0.5f, b[i] = (float)-i;
    st_write_tensor w[2] = {{"a", ST_F32, 1, {N}, a}, {"b", ST_F32, 1, {N}, b}};
    const char *p = t_path("release.safetensors");
    REQUIRE_OK(st_write(p, w, 2, NULL));
    st_set *s;
    REQUIRE_OK(st_open(p, &s));
    const st_tensor *ta = st_find(s, "a"), *tb = st_find(s, "b");
    REQUIRE_OK(st_to_f32(ta, out));
    st_release(ta);
    st_release(ta);
    REQUIRE_OK(st_to_f32(tb, out));
    CHECK(!memcmp(out, b, N * sizeof *b), "b intact");
    REQUIRE_OK(st_to_f32(ta, out));
    CHECK(!memcmp(out, a, N * sizeof *a), "a intact after release");
    st_close(s);
    free(a), free(b), free(out);
}

int main(void) {
    if (!t_tmp_open("st")) {
        perror("mkdtemp");
        return 1;
    }
    RUN(test_roundtrip);
    RUN(test_many_tensors);
    RUN(test_sharded);
    RUN(test_sharded_hostile);
    RUN(test_hostile_headers);
    RUN(test_hostile_lengths);
    RUN(test_mem);
    RUN(test_f16_exhaustive);
    RUN(test_bf16);
    RUN(test_write_errors);
    RUN(test_release);
    t_tmp_close();
    TEST_MAIN_END();
}
