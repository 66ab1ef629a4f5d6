/* test_npz.c — npz_load against zips written here with zlib (stored,
 * deflated, zip64), hostile archives and members (status and a message
 * naming file and member), and real numpy output from
 * tests/fixtures/npz (tools/make_npz_fixtures.py). */
#include "test.h"

#include "npz.h"
#include "npz_mem.h"

#include <stdint.h>
#include <unistd.h>
#include <zlib.h>


static int has(const char *hay, const char *needle) { return strstr(hay, needle) != NULL; }

/* ------------------------------------------------------- byte buffers */

typedef struct {
    uint8_t *p;
    size_t n, cap;
} bytes;

static void put(bytes *b, const void *src, size_t n) {
    if (b->n + n > b->cap) {
        b->cap = (b->n + n) * 2 + 64;
        b->p = realloc(b->p, b->cap);
    }
    if (n) memcpy(b->p + b->n, src, n);
    b->n += n;
}
static void put16(bytes *b, unsigned v) { put(b, (uint8_t[]){v & 255, v >> 8 & 255}, 2); }
static void put32(bytes *b, uint32_t v) { put16(b, v & 0xffff), put16(b, v >> 16); }
static void put64(bytes *b, uint64_t v) { put32(b, (uint32_t)v), put32(b, (uint32_t)(v >> 32)); }
static void set32(bytes *b, size_t at, uint32_t v) {
    for (int i = 0; i < 4; i++) b->p[at + i] = (uint8_t)(v >> (8 * i));
}
static void set16(bytes *b, size_t at, unsigned v) { b->p[at] = v & 255, b->p[at + 1] = v >> 8 & 255; }

static int write_file(const char *path, const bytes *b) {
    FILE *f = fopen(path, "wb");
    if (!f) return 0;
    int ok = fwrite(b->p, 1, b->n, f) == b->n;
    return fclose(f) == 0 && ok;
}

/* ------------------------------------------------------------ npy, zip */

/* A .npy file: header dict padded with spaces to a 64-byte boundary and
 * ended by '\n', as numpy writes it. version 1 or 2. */
static bytes make_npy(const char *dict, const void *data, size_t nbytes, int version) {
    bytes b = {0};
    size_t prefix = version == 1 ? 10 : 12, dl = strlen(dict);
    size_t hlen = (prefix + dl + 1 + 63) / 64 * 64 - prefix;
    put(&b, "\x93NUMPY", 6);
    put(&b, (uint8_t[]){(uint8_t)version, 0}, 2);
    if (version == 1)
        put16(&b, (unsigned)hlen);
    else
        put32(&b, (uint32_t)hlen);
    put(&b, dict, dl);
    for (size_t i = dl; i + 1 < hlen; i++) put(&b, " ", 1);
    put(&b, "\n", 1);
    put(&b, data, nbytes);
    return b;
}

typedef struct {
    const char *name;
    bytes content;
    int method; /* 0 stored, 8 deflate, other: written as stored with that method id */
} member;

/* Where things ended up, so tests can corrupt them. */
typedef struct {
    size_t local[8], data[8], central[8], eocd, cd_off;
} layout;

static bytes make_zip(const member *m, int n, int zip64, layout *L) {
    bytes z = {0}, cd = {0};
    layout dummy;
    if (!L) L = &dummy;
    for (int i = 0; i < n; i++) {
        const bytes *c = &m[i].content;
        uint32_t crc = (uint32_t)crc32(0, c->p, (uInt)c->n);
        bytes comp = {0};
        if (m[i].method == 8) {
            z_stream s = {0};
            deflateInit2(&s, 6, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY);
            comp.cap = deflateBound(&s, c->n) + 16;
            comp.p = malloc(comp.cap);
            s.next_in = c->p, s.avail_in = (uInt)c->n, s.next_out = comp.p, s.avail_out = (uInt)comp.cap;
            deflate(&s, Z_FINISH);
            comp.n = s.total_out;
            deflateEnd(&s);
        } else {
            put(&comp, c->p, c->n);
        }
        size_t nl = strlen(m[i].name);
        L->local[i] = z.n;
        put32(&z, 0x04034b50);
        put16(&z, zip64 ? 45 : 20), put16(&z, 0), put16(&z, (unsigned)m[i].method), put16(&z, 0), put16(&z, 0x21);
        put32(&z, crc);
        put32(&z, zip64 ? 0xffffffffu : (uint32_t)comp.n), put32(&z, zip64 ? 0xffffffffu : (uint32_t)c->n);
        put16(&z, (unsigned)nl), put16(&z, zip64 ? 20 : 0);
        put(&z, m[i].name, nl);
        if (zip64) put16(&z, 1), put16(&z, 16), put64(&z, c->n), put64(&z, comp.n);
        L->data[i] = z.n;
        put(&z, comp.p, comp.n);

        L->central[i] = cd.n;
        put32(&cd, 0x02014b50);
        put16(&cd, 20), put16(&cd, zip64 ? 45 : 20), put16(&cd, 0), put16(&cd, (unsigned)m[i].method);
        put16(&cd, 0), put16(&cd, 0x21);
        put32(&cd, crc);
        put32(&cd, zip64 ? 0xffffffffu : (uint32_t)comp.n), put32(&cd, zip64 ? 0xffffffffu : (uint32_t)c->n);
        put16(&cd, (unsigned)nl), put16(&cd, zip64 ? 28 : 0), put16(&cd, 0);
        put16(&cd, 0), put16(&cd, 0), put32(&cd, 0);
        put32(&cd, zip64 ? 0xffffffffu : (uint32_t)L->local[i]);
        put(&cd, m[i].name, nl);
        if (zip64) put16(&cd, 1), put16(&cd, 24), put64(&cd, c->n), put64(&cd, comp.n), put64(&cd, L->local[i]);
        free(comp.p);
    }
    L->cd_off = z.n;
    for (int i = 0; i < n; i++) L->central[i] += z.n;
    put(&z, cd.p, cd.n);
    if (zip64) {
        size_t rec = z.n;
        put32(&z, 0x06064b50), put64(&z, 44), put16(&z, 45), put16(&z, 45), put32(&z, 0), put32(&z, 0);
        put64(&z, (uint64_t)n), put64(&z, (uint64_t)n), put64(&z, cd.n), put64(&z, L->cd_off);
        put32(&z, 0x07064b50), put32(&z, 0), put64(&z, rec), put32(&z, 1);
    }
    L->eocd = z.n;
    put32(&z, 0x06054b50), put16(&z, 0), put16(&z, 0);
    put16(&z, zip64 ? 0xffff : (unsigned)n), put16(&z, zip64 ? 0xffff : (unsigned)n);
    put32(&z, zip64 ? 0xffffffffu : (uint32_t)cd.n), put32(&z, zip64 ? 0xffffffffu : (uint32_t)L->cd_off);
    put16(&z, 0);
    free(cd.p);
    return z;
}

/* ------------------------------------------------------- a standard set */

static float g_w[12], g_b[3];
static double g_t[3];

static int make_standard(member *m, int method, int version) {
    for (int i = 0; i < 12; i++) g_w[i] = (float)(i - 5) / 8;
    for (int i = 0; i < 3; i++) g_b[i] = -(float)i * 1e-3f, g_t[i] = 0.1 * (i + 1);
    float scalar = 2.5f;
    m[0] = (member){"W_enc.npy", make_npy("{'descr': '<f4', 'fortran_order': False, 'shape': (4, 3), }", g_w, 48, version),
                    method};
    m[1] = (member){"b_enc.npy", make_npy("{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }", g_b, 12, version),
                    method};
    m[2] = (member){"threshold.npy",
                    make_npy("{'descr': '<f8', 'fortran_order': False, 'shape': (3,), }", g_t, 24, version), method};
    m[3] = (member){"scalar.npy", make_npy("{'descr': '<f4', 'fortran_order': False, 'shape': (), }", &scalar, 4, version),
                    method};
    m[4] = (member){"empty.npy", make_npy("{\"descr\":\"<f4\",\"fortran_order\":False,\"shape\":(0, 5)}", NULL, 0, version),
                    method};
    return 5;
}

static void free_members(member *m, int n) {
    for (int i = 0; i < n; i++) free(m[i].content.p);
}

static void check_standard(const npz_file *f) {
    CHECK(f->n == 5, "n = %d", f->n);
    const npz_array *w = npz_find(f, "W_enc"), *b = npz_find(f, "b_enc"), *t = npz_find(f, "threshold"),
                    *s = npz_find(f, "scalar"), *e = npz_find(f, "empty");
    REQUIRE(w && b && t && s && e, "a member is missing");
    CHECK(w->ndim == 2 && w->shape[0] == 4 && w->shape[1] == 3 && w->numel == 12, "W_enc shape");
    CHECK(!memcmp(w->data, g_w, sizeof g_w), "W_enc values");
    CHECK(b->ndim == 1 && b->shape[0] == 3 && !memcmp(b->data, g_b, sizeof g_b), "b_enc");
    for (int i = 0; i < 3; i++) CHECK(t->data[i] == (float)g_t[i], "threshold[%d] = %g", i, t->data[i]);
    CHECK(s->ndim == 0 && s->numel == 1 && s->data[0] == 2.5f, "scalar");
    CHECK(e->ndim == 2 && e->shape[1] == 5 && e->numel == 0, "empty");
    CHECK(npz_find(f, "W_dec") == NULL, "npz_find of an absent member");
    CHECK(npz_find(f, "W_enc.npy") == NULL, "names are without .npy");
}

static void roundtrip(int method, int zip64, int version) {
    member m[5];
    int n = make_standard(m, method, version);
    bytes z = make_zip(m, n, zip64, NULL);
    const char *p = t_path("std.npz");
    REQUIRE_TRUE(write_file(p, &z));
    npz_file f;
    saex_status st = npz_load(p, &f);
    CHECK(st == SAEX_OK, "%s", saex_last_error());
    if (st == SAEX_OK) check_standard(&f);
    npz_free(&f);
    CHECK(f.n == 0 && f.arrays == NULL, "npz_free leaves it empty");
    free_members(m, n);
    free(z.p);
}

static void test_stored(void) { roundtrip(0, 0, 1); }
static void test_deflated(void) { roundtrip(8, 0, 1); }
static void test_zip64(void) { roundtrip(8, 1, 1); }
static void test_zip64_stored_v2(void) { roundtrip(0, 1, 2); }

/* --------------------------------------------------------------- hostile */

/* Loads the bytes as `file`, expecting status `want` and a message naming
 * the file and `needle`. */
static void expect(const bytes *z, const char *file, saex_status want, const char *needle) {
    const char *p = t_path(file);
    REQUIRE_TRUE(write_file(p, z));
    npz_file f = {(npz_array *)1, 7};
    saex_status st = npz_load(p, &f);
    const char *msg = saex_last_error();
    if (getenv("TEST_VERBOSE")) fprintf(stderr, "  [%d] %s\n", st, msg);
    CHECK(st == want, "%s: status %d (%s), want %d", file, st, msg, want);
    CHECK(f.n == 0 && f.arrays == NULL, "%s: *out not left empty", file);
    CHECK(has(msg, file), "message '%s' does not name the file", msg);
    if (needle) CHECK(has(msg, needle), "message '%s' does not name '%s'", msg, needle);
    if (st == SAEX_OK) npz_free(&f);
}

/* A one-member zip with the given .npy header dict and data. */
static bytes one_member(const char *name, const char *dict, const void *data, size_t nbytes, int method, layout *L) {
    member m = {name, make_npy(dict, data, nbytes, 1), method};
    bytes z = make_zip(&m, 1, 0, L);
    free(m.content.p);
    return z;
}

static const char *F4_8 = "{'descr': '<f4', 'fortran_order': False, 'shape': (8,), }";
static const float ZEROS[64];

static void test_bad_members(void) {
    bytes z = one_member("x.npy", "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 4), }", ZEROS, 32, 0, NULL);
    expect(&z, "fortran.npz", SAEX_ERR_UNSUPPORTED, "x.npy");
    free(z.p);
    z = one_member("ints.npy", "{'descr': '<i4', 'fortran_order': False, 'shape': (8,), }", ZEROS, 32, 8, NULL);
    expect(&z, "dtype.npz", SAEX_ERR_UNSUPPORTED, "ints.npy");
    free(z.p);
    z = one_member("big.npy", "{'descr': '>f4', 'fortran_order': False, 'shape': (8,), }", ZEROS, 32, 0, NULL);
    expect(&z, "bigendian.npz", SAEX_ERR_UNSUPPORTED, "big-endian");
    free(z.p);
    z = one_member("pipe.npy", "{'descr': '|f4', 'fortran_order': False, 'shape': (8,), }", ZEROS, 32, 0, NULL);
    expect(&z, "pipe.npz", SAEX_ERR_UNSUPPORTED, "pipe.npy");
    free(z.p);
    z = one_member("rec.npy", "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (8,), }", ZEROS, 32, 0, NULL);
    expect(&z, "structured.npz", SAEX_ERR_UNSUPPORTED, "rec.npy");
    free(z.p);
    /* The header says 16 floats, the member holds 8. */
    z = one_member("short.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': (16,), }", ZEROS, 32, 8, NULL);
    expect(&z, "truncmember.npz", SAEX_ERR_FORMAT, "short.npy");
    free(z.p);
    z = one_member("junk.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': (8,), 'extra': 1}", ZEROS, 32, 0, NULL);
    expect(&z, "key.npz", SAEX_ERR_FORMAT, "junk.npy");
    free(z.p);
    z = one_member("nokey.npy", "{'descr': '<f4', 'shape': (8,)}", ZEROS, 32, 0, NULL);
    expect(&z, "nokey.npz", SAEX_ERR_FORMAT, "nokey.npy");
    free(z.p);
    z = one_member("paren.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': (8,, }", ZEROS, 32, 0, NULL);
    expect(&z, "paren.npz", SAEX_ERR_FORMAT, "paren.npy");
    free(z.p);
    z = one_member("neg.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': (-8,), }", ZEROS, 32, 0, NULL);
    expect(&z, "negshape.npz", SAEX_ERR_FORMAT, "neg.npy");
    free(z.p);
    z = one_member("huge.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': (999999999999, 999999999999), }",
                   ZEROS, 32, 0, NULL);
    expect(&z, "huge.npz", SAEX_ERR_FORMAT, "huge.npy");
    free(z.p);
    /* Wrong npy magic. */
    member m = {"magic.npy", make_npy(F4_8, ZEROS, 32, 1), 0};
    m.content.p[1] = 'X';
    z = make_zip(&m, 1, 0, NULL);
    expect(&z, "magic.npz", SAEX_ERR_FORMAT, "magic.npy");
    free(z.p);
    m.content.p[1] = 'N';
    m.content.p[6] = 9; /* version 9.0 */
    z = make_zip(&m, 1, 0, NULL);
    expect(&z, "version.npz", SAEX_ERR_UNSUPPORTED, "magic.npy");
    free(z.p);
    free(m.content.p);
    /* Python 2 numpy wrote "16L" and a header with no trailing comma. */
    z = one_member("py2.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': (2L, 4L)}", ZEROS, 32, 0, NULL);
    REQUIRE_TRUE(write_file(t_path("py2.npz"), &z));
    npz_file f;
    CHECK(npz_load(t_path("py2.npz"), &f) == SAEX_OK && f.n == 1 && f.arrays[0].shape[1] == 4, "py2: %s",
          saex_last_error());
    npz_free(&f);
    free(z.p);
}

static void test_bad_zip(void) {
    layout L;
    bytes z = one_member("w.npy", F4_8, ZEROS, 32, 8, &L);
    bytes c = {0};

    put(&c, z.p, z.n);
    c.p[L.eocd] = 'Q'; /* no EOCD signature left */
    expect(&c, "noeocd.npz", SAEX_ERR_FORMAT, "end of central directory");
    c.n = 0;
    put(&c, z.p, z.n);
    set16(&c, L.eocd + 10, 40); /* 40 entries cannot fit */
    set16(&c, L.eocd + 8, 40);
    expect(&c, "cdcount.npz", SAEX_ERR_FORMAT, "central directory");
    c.n = 0;
    put(&c, z.p, z.n);
    set32(&c, L.eocd + 12, 20); /* directory cut short */
    expect(&c, "cdshort.npz", SAEX_ERR_FORMAT, "central directory");
    c.n = 0;
    put(&c, z.p, z.n);
    set32(&c, L.eocd + 16, 0x7fffff00); /* directory beyond the file */
    expect(&c, "cdoff.npz", SAEX_ERR_FORMAT, "central directory");
    c.n = 0;
    put(&c, z.p, z.n);
    set32(&c, L.central[0] + 42, 0x10000000); /* local header outside the file */
    expect(&c, "localoff.npz", SAEX_ERR_FORMAT, "w.npy");
    c.n = 0;
    put(&c, z.p, z.n);
    set32(&c, L.central[0] + 42, 3); /* not at a local header */
    expect(&c, "localsig.npz", SAEX_ERR_FORMAT, "w.npy");
    c.n = 0;
    put(&c, z.p, z.n);
    set32(&c, L.central[0] + 20, 0x00ffffff); /* compressed size past the end */
    expect(&c, "csize.npz", SAEX_ERR_FORMAT, "w.npy");
    c.n = 0;
    put(&c, z.p, z.n);
    set32(&c, L.central[0] + 16, 0xdeadbeef);
    expect(&c, "crc.npz", SAEX_ERR_FORMAT, "CRC");
    c.n = 0;
    put(&c, z.p, z.n);
    c.p[L.data[0]] = 0x07; /* final block of the reserved type 3 */
    expect(&c, "deflate.npz", SAEX_ERR_FORMAT, "deflate");
    c.n = 0;
    put(&c, z.p, z.n);
    set32(&c, L.central[0] + 20, 10); /* the stream is cut after 10 bytes */
    expect(&c, "deflatecut.npz", SAEX_ERR_FORMAT, "w.npy");
    c.n = 0;
    put(&c, z.p, z.n);
    set32(&c, L.central[0] + 24, 0x7fffffff); /* claims 2 GB from a few bytes */
    expect(&c, "bomb.npz", SAEX_ERR_FORMAT, "w.npy");
    c.n = 0;
    put(&c, z.p, z.n);
    set16(&c, L.central[0] + 10, 12); /* bzip2 */
    set16(&c, L.local[0] + 8, 12);
    expect(&c, "method.npz", SAEX_ERR_UNSUPPORTED, "w.npy");
    c.n = 0;
    put(&c, z.p, L.eocd / 2); /* file cut in half */
    expect(&c, "half.npz", SAEX_ERR_FORMAT, NULL);
    c.n = 0;
    put(&c, "PK\x05\x06", 4);
    expect(&c, "tiny.npz", SAEX_ERR_FORMAT, "too short");
    c.n = 0;
    put(&c, z.p, z.n);
    set32(&c, L.eocd + 12, 0xffffffffu); /* zip64 marker without a zip64 record */
    expect(&c, "nozip64.npz", SAEX_ERR_FORMAT, "zip64");
    free(c.p);
    free(z.p);

    /* Stored member whose sizes disagree. */
    z = one_member("s.npy", F4_8, ZEROS, 32, 0, &L);
    set32(&z, L.central[0] + 24, 20);
    expect(&z, "storedsize.npz", SAEX_ERR_FORMAT, "s.npy");
    free(z.p);
    /* The same member twice. */
    member m[2] = {{"d.npy", make_npy(F4_8, ZEROS, 32, 1), 0}, {"d.npy", make_npy(F4_8, ZEROS, 32, 1), 8}};
    z = make_zip(m, 2, 0, NULL);
    expect(&z, "twice.npz", SAEX_ERR_FORMAT, "d.npy");
    free(z.p);
    free_members(m, 2);

    npz_file f;
    CHECK(npz_load(t_path("absent.npz"), &f) == SAEX_ERR_IO && has(saex_last_error(), "absent.npz"), "%s",
          saex_last_error());
}

/* A deflated member that carries extra data past what its header says. */
static void test_trailing_data(void) {
    member m = {"t.npy", make_npy(F4_8, ZEROS, 32, 1), 8};
    put(&m.content, ZEROS, 8);
    bytes z = make_zip(&m, 1, 0, NULL);
    expect(&z, "trailing.npz", SAEX_ERR_FORMAT, "t.npy");
    free(z.p);
    /* ... and the same with the directory's size agreeing with the header:
     * the extra bytes are found by inflating past the end. */
    layout L;
    z = make_zip(&m, 1, 0, &L);
    set32(&z, L.central[0] + 24, (uint32_t)m.content.n - 8);
    expect(&z, "trailing2.npz", SAEX_ERR_FORMAT, "more data");
    free(z.p);
    free(m.content.p);
}

/* Non-.npy members are skipped, not refused. */
static void test_other_members(void) {
    member m[2] = {{"notes.txt", {0}, 0}, {"a.npy", make_npy(F4_8, ZEROS, 32, 1), 8}};
    put(&m[0].content, "hello", 5);
    bytes z = make_zip(m, 2, 0, NULL);
    npz_file f;
    saex_status st = npz_load_mem(z.p, z.n, "mem.npz", &f);
    CHECK(st == SAEX_OK && f.n == 1 && npz_find(&f, "a") && npz_find(&f, "a")->numel == 8, "%s", saex_last_error());
    npz_free(&f);
    free(z.p);
    free_members(m, 2);
}

/* A bigger member, stored and deflated, from a file: many inflate calls
 * into one buffer, and the stored copy drops file pages as it goes. */
static void test_large(void) {
    enum { N = 1 << 20 };
    float *x = malloc(N * sizeof *x);
    for (int i = 0; i < N; i++) x[i] = (float)((i * 2654435761u) % 1000) / 7;
    for (int method = 0; method <= 8; method += 8) {
        member m[2] = {
            {"W_dec.npy", make_npy("{'descr': '<f4', 'fortran_order': False, 'shape': (1024, 1024), }", x, N * 4, 1), method},
            {"W_enc.npy", make_npy("{'descr': '<f4', 'fortran_order': False, 'shape': (1024, 1024), }", x, N * 4, 1), method},
        };
        bytes z = make_zip(m, 2, 0, NULL);
        const char *p = t_path("large.npz");
        CHECK(write_file(p, &z), "write");
        npz_file f;
        saex_status st = npz_load(p, &f);
        CHECK(st == SAEX_OK, "%s", saex_last_error());
        if (st == SAEX_OK) {
            CHECK(f.n == 2, "n %d", f.n);
            for (int i = 0; i < f.n; i++) CHECK(!memcmp(f.arrays[i].data, x, N * sizeof *x), "values of %s", f.arrays[i].name);
        }
        npz_free(&f);
        free(z.p);
        free_members(m, 2);
    }
    free(x);
}

/* --------------------------------------------------- real numpy output */

static void check_numpy_fixture(const char *file) {
    char p[512];
    snprintf(p, sizeof p, "%s/npz/%s", t_fixtures(), file);
    if (access(p, R_OK) != 0) SKIP("%s missing (run tools/make_npz_fixtures.py)", p);
    npz_file f;
    saex_status st = npz_load(p, &f);
    REQUIRE(st == SAEX_OK, "%s", saex_last_error());
    /* tools/make_npz_fixtures.py: W_enc = (arange(48).reshape(6, 8) - 20) / 16 as float32,
     * b_enc = linspace(-1, 1, 8) float32, threshold = arange(8) * 0.1 as float64,
     * scalar = float32(3.5), empty = zeros((0, 4), float32). */
    const npz_array *w = npz_find(&f, "W_enc"), *b = npz_find(&f, "b_enc"), *t = npz_find(&f, "threshold"),
                    *s = npz_find(&f, "scalar"), *e = npz_find(&f, "empty");
    CHECK(f.n == 5, "n %d", f.n);
    if (w && b && t && s && e) {
        CHECK(w->ndim == 2 && w->shape[0] == 6 && w->shape[1] == 8, "W_enc shape");
        for (int i = 0; i < 48; i++) CHECK(w->data[i] == (float)(i - 20) / 16, "W_enc[%d] = %g", i, w->data[i]);
        for (int i = 0; i < 8; i++) CHECK(fabsf(b->data[i] - (-1.0f + 2.0f * i / 7)) < 1e-6f, "b_enc[%d]", i);
        for (int i = 0; i < 8; i++) CHECK(t->data[i] == (float)(i * 0.1), "threshold[%d] = %.9g", i, t->data[i]);
        CHECK(s->ndim == 0 && s->data[0] == 3.5f, "scalar");
        CHECK(e->ndim == 2 && e->numel == 0 && e->shape[1] == 4, "empty");
    } else {
        CHECK(0, "a member is missing");
    }
    npz_free(&f);
}

static void test_numpy_savez(void) { check_numpy_fixture("savez.npz"); }
static void test_numpy_savez_compressed(void) { check_numpy_fixture("savez_compressed.npz"); }

int main(void) {
    if (!t_tmp_open("npz")) {
        perror("mkdtemp");
        return 1;
    }
    RUN(test_stored);
    RUN(test_deflated);
    RUN(test_zip64);
    RUN(test_zip64_stored_v2);
    RUN(test_bad_members);
    RUN(test_bad_zip);
    RUN(test_trailing_data);
    RUN(test_other_members);
    RUN(test_large);
    RUN(test_numpy_savez);
    RUN(test_numpy_savez_compressed);
    t_tmp_close();
    TEST_MAIN_END();
}
