/* test_tokenizer.c — the Gemma tokenizer against Hugging Face `tokenizers`.
 *
 * The real Gemma-2 tokenizer comes from $SAEX_GEMMA2_TOKENIZER or
 * ../shared/data/tokenizers/gemma2 (the cases skip visibly without it). Its
 * expected ids / decodes are tests/fixtures/tokenizer/cases.jsonl.gz, made
 * by tools/gen_tokenizer_cases.py with HF tokenizers 0.23.3. */
#include "saex.h"
#include "test.h"
#include <jansson.h>
#include <stdint.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

static saex_tokenizer *g_tok;
static const char *g_tok_path;
static json_t **g_cases;
static size_t g_n_cases;

/* A small Llama-2-style tokenizer (Prepend + Replace normalizer, unk with
 * fuse_unk, no byte fallback, Strip decoder, lstrip/rstrip/single_word and
 * normalized added tokens, BOS + EOS template). */
static const char *SMALL_JSON =
    "{\"version\": \"1.0\", \"truncation\": null, \"padding\": null, \"added_tokens\": [{\"id\": 0, \"content\": \"<unk>"
    "\", \"single_word\": false, \"lstrip\": false, \"rstrip\": false, \"normalized\": false, \"special\": true}, {\""
    "id\": 1, \"content\": \"<s>\", \"single_word\": false, \"lstrip\": false, \"rstrip\": false, \"normalized\": fals"
    "e, \"special\": true}, {\"id\": 2, \"content\": \"</s>\", \"single_word\": false, \"lstrip\": false, \"rstrip\": f"
    "alse, \"normalized\": false, \"special\": true}, {\"id\": 9, \"content\": \"[M]\", \"single_word\": false, \"lstr"
    "ip\": true, \"rstrip\": true, \"normalized\": false, \"special\": false}, {\"id\": 10, \"content\": \"cat\", \"sin"
    "gle_word\": true, \"lstrip\": false, \"rstrip\": false, \"normalized\": true, \"special\": false}], \"normaliz"
    "er\": {\"type\": \"Sequence\", \"normalizers\": [{\"type\": \"Prepend\", \"prepend\": \"▁\"}, {\"type\": \"Replace\", \""
    "pattern\": {\"String\": \" \"}, \"content\": \"▁\"}]}, \"pre_tokenizer\": null, \"post_processor\": {\"type\": \"Tem"
    "plateProcessing\", \"single\": [{\"SpecialToken\": {\"id\": \"<s>\", \"type_id\": 0}}, {\"Sequence\": {\"id\": \"A\","
    " \"type_id\": 0}}, {\"SpecialToken\": {\"id\": \"</s>\", \"type_id\": 0}}], \"pair\": [{\"Sequence\": {\"id\": \"A\", "
    "\"type_id\": 0}}], \"special_tokens\": {\"<s>\": {\"id\": \"<s>\", \"ids\": [1], \"tokens\": [\"<s>\"]}, \"</s>\": {\"i"
    "d\": \"</s>\", \"ids\": [2], \"tokens\": [\"</s>\"]}}}, \"decoder\": {\"type\": \"Sequence\", \"decoders\": [{\"type\":"
    " \"Replace\", \"pattern\": {\"String\": \"▁\"}, \"content\": \" \"}, {\"type\": \"ByteFallback\"}, {\"type\": \"Fuse\"},"
    " {\"type\": \"Strip\", \"content\": \" \", \"start\": 1, \"stop\": 0}]}, \"model\": {\"type\": \"BPE\", \"dropout\": nul"
    "l, \"unk_token\": \"<unk>\", \"continuing_subword_prefix\": null, \"end_of_word_suffix\": null, \"fuse_unk\": "
    "true, \"byte_fallback\": false, \"ignore_merges\": false, \"vocab\": {\"<unk>\": 0, \"<s>\": 1, \"</s>\": 2, \"▁\""
    ": 3, \"a\": 4, \"b\": 5, \"c\": 6, \"t\": 7, \"ab\": 8, \"[M]\": 9, \"cat\": 10, \"▁a\": 11, \"▁ab\": 12, \"ca\": 13}, \""
    "merges\": [[\"a\", \"b\"], [\"▁\", \"a\"], [\"▁a\", \"b\"], [\"c\", \"a\"]]}}";

/* Expected ids from HF tokenizers 0.23.3 for SMALL_JSON (add_special_tokens=True). */
static const struct {
    const char *text;
    int32_t ids[10];
    int n;
    const char *decoded;
} SMALL_CASES[] = {
    {"ab", {1, 3, 8, 2}, 4, "<s> ab</s>"},
    {"ab ab", {1, 3, 8, 3, 8, 2}, 6, "<s> ab ab</s>"},
    {"abxyzb", {1, 3, 8, 0, 5, 2}, 6, "<s> ab<unk>b</s>"},
    {"a [M]  b", {1, 11, 9, 3, 5, 2}, 6, "<s> a[M] b</s>"},
    {"cat", {1, 10, 2}, 3, "<s> cat</s>"},
    {"a cat b", {1, 11, 3, 13, 7, 3, 5, 2}, 8, "<s> a cat b</s>"},
    {"acat", {1, 11, 13, 7, 2}, 5, "<s> acat</s>"},
    {"\xE2\x96\x81" "cat", {1, 3, 10, 2}, 4, "<s>  cat</s>"},
    {"xx<s>ab", {1, 3, 0, 1, 3, 8, 2}, 7, "<s> <unk><s> ab</s>"},
    {"", {1, 2}, 2, "<s></s>"},
};

static char g_tmpdir[256];

static const char *write_tmp(const char *name, const char *content) {
    static char path[512];
    snprintf(path, sizeof path, "%s/%s", g_tmpdir, name);
    FILE *f = fopen(path, "wb");
    if (!f) return NULL;
    fputs(content, f);
    fclose(f);
    return path;
}

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int load_cases(void) {
    char path[512];
    snprintf(path, sizeof path, "%s/tokenizer/cases.jsonl.gz", t_fixtures());
    gzFile gz = gzopen(path, "rb");
    if (!gz) return 0;
    size_t cap = 1 << 22, n = 0;
    char *buf = malloc(cap);
    int r;
    while (buf && (r = gzread(gz, buf + n, (unsigned)(cap - n))) > 0) {
        n += (size_t)r;
        if (n == cap) buf = realloc(buf, cap *= 2);
    }
    gzclose(gz);
    if (!buf) return 0;
    for (size_t i = 0; i < n;) {
        char *nl = memchr(buf + i, '\n', n - i);
        size_t len = nl ? (size_t)(nl - (buf + i)) : n - i;
        json_error_t e;
        json_t *j = json_loadb(buf + i, len, JSON_ALLOW_NUL, &e);
        if (j) {
            g_cases = realloc(g_cases, (g_n_cases + 1) * sizeof *g_cases);
            g_cases[g_n_cases++] = j;
        }
        i += len + 1;
    }
    free(buf);
    return (int)g_n_cases;
}

static void show_text(const char *s, size_t n) {
    fprintf(stderr, "    text (%zu bytes): \"", n);
    for (size_t i = 0; i < n && i < 80; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == '"') fprintf(stderr, "\\x%02x", c);
        else fputc(c, stderr);
    }
    fprintf(stderr, n > 80 ? "\"...\n" : "\"\n");
}

/* Compares ids with the JSON array; prints the first difference with context. */
static int g_reported;

static int same_ids(const int32_t *ids, size_t n, json_t *want, const char *text, size_t text_n, const char *what) {
    size_t wn = json_array_size(want), i = 0;
    while (i < n && i < wn && ids[i] == (int32_t)json_integer_value(json_array_get(want, i))) i++;
    if (i == n && i == wn) return 1;
    if (g_reported++ >= 5) return 0; /* the first few differences are enough to debug */
    fprintf(stderr, "  %s: ids differ at index %zu (got %zu ids, want %zu)\n", what, i, n, wn);
    show_text(text, text_n);
    fprintf(stderr, "    got:  ");
    for (size_t k = i >= 3 ? i - 3 : 0; k < n && k < i + 5; k++) fprintf(stderr, "%d(%s) ", ids[k], saex_token_piece(g_tok, ids[k]));
    fprintf(stderr, "\n    want: ");
    for (size_t k = i >= 3 ? i - 3 : 0; k < wn && k < i + 5; k++) {
        int32_t id = (int32_t)json_integer_value(json_array_get(want, k));
        fprintf(stderr, "%d(%s) ", id, saex_token_piece(g_tok, id));
    }
    fprintf(stderr, "\n");
    return 0;
}

static void t_gemma_ids(void) {
    if (!g_tok) SKIP("no Gemma-2 tokenizer at %s (set SAEX_GEMMA2_TOKENIZER)", g_tok_path);
    REQUIRE(g_n_cases >= 500, "only %zu cases in the fixture", g_n_cases);
    size_t ok = 0, bad = 0;
    for (size_t c = 0; c < g_n_cases; c++) {
        json_t *j = g_cases[c];
        const char *text = json_string_value(json_object_get(j, "text"));
        size_t tn = json_string_length(json_object_get(j, "text"));
        json_t *want = json_object_get(j, "ids");
        int32_t *ids = NULL, *ids2 = NULL;
        size_t n = 0, n2 = 0;
        int good = saex_tokenize(g_tok, text, tn, 1, &ids, &n) == SAEX_OK;
        if (!good && g_reported++ < 5) fprintf(stderr, "  case %zu: %s\n", c, saex_last_error());
        good = good && same_ids(ids, n, want, text, tn, "add_bos");
        /* without BOS: ids_nobos when HF gave something else than ids[1:] */
        json_t *nob = json_object_get(j, "ids_nobos");
        if (good && saex_tokenize(g_tok, text, tn, 0, &ids2, &n2) == SAEX_OK) {
            if (nob) good = same_ids(ids2, n2, nob, text, tn, "no bos");
            else good = n2 + 1 == n && (n2 == 0 || memcmp(ids2, ids + 1, n2 * sizeof *ids2) == 0);
        } else {
            good = 0;
        }
        saex_free(ids);
        saex_free(ids2);
        if (good) ok++;
        else bad++;
    }
    printf("     gemma2: %zu/%zu cases identical to HF tokenizers\n", ok, g_n_cases);
    CHECK(bad == 0, "%zu of %zu cases differ from HF", bad, g_n_cases);
}

static int same_text(const char *got, size_t gn, json_t *want) {
    return gn == json_string_length(want) && memcmp(got, json_string_value(want), gn) == 0;
}

/* decode(ids) as HF, with and without special tokens; decode(encode(text)) == text. */
static void t_gemma_decode(void) {
    if (!g_tok) SKIP("no Gemma-2 tokenizer at %s", g_tok_path);
    REQUIRE(g_n_cases >= 500, "only %zu cases", g_n_cases);
    size_t ok = 0, bad = 0, round_ok = 0;
    for (size_t c = 0; c < g_n_cases; c++) {
        json_t *j = g_cases[c], *jids = json_object_get(j, "ids");
        size_t n = json_array_size(jids);
        int32_t *ids = malloc((n + 1) * sizeof *ids);
        for (size_t i = 0; i < n; i++) ids[i] = (int32_t)json_integer_value(json_array_get(jids, i));
        char *d1 = NULL, *d2 = NULL, *d3 = NULL;
        size_t n1 = 0, n2 = 0, n3 = 0;
        int good = saex_detokenize(g_tok, ids, n, 0, &d1, &n1) == SAEX_OK && same_text(d1, n1, json_object_get(j, "decode")) &&
                   saex_detokenize(g_tok, ids, n, 1, &d2, &n2) == SAEX_OK && same_text(d2, n2, json_object_get(j, "decode_skip"));
        if (!good && bad < 5) {
            fprintf(stderr, "  case %zu: decode differs from HF\n", c);
            show_text(json_string_value(json_object_get(j, "text")), json_string_length(json_object_get(j, "text")));
            if (d1) show_text(d1, n1);
        }
        /* round trip without BOS: the text must come back byte for byte */
        if (n > 0 && saex_detokenize(g_tok, ids + 1, n - 1, 0, &d3, &n3) == SAEX_OK &&
            same_text(d3, n3, json_object_get(j, "text")))
            round_ok++;
        else if (same_text(json_string_value(json_object_get(j, "text")), json_string_length(json_object_get(j, "text")),
                           json_object_get(j, "decode_skip"))) /* where HF round-trips, so must we */
            CHECK(0, "case %zu: decode(encode(text)) != text", c);
        good ? ok++ : bad++;
        saex_free(d1);
        saex_free(d2);
        saex_free(d3);
        free(ids);
    }
    printf("     gemma2: %zu/%zu decodes identical to HF, %zu round trips exact\n", ok, g_n_cases, round_ok);
    CHECK(bad == 0, "%zu decodes differ", bad);
}

static void t_gemma_api(void) {
    if (!g_tok) SKIP("no Gemma-2 tokenizer at %s", g_tok_path);
    CHECK(saex_tokenizer_vocab_size(g_tok) == 256000, "vocab %d", saex_tokenizer_vocab_size(g_tok));
    CHECK(saex_tokenizer_bos_id(g_tok) == saex_tokenizer_token_id(g_tok, "<bos>"), "bos");
    CHECK(saex_tokenizer_bos_id(g_tok) >= 0, "no bos");
    int32_t nl = saex_tokenizer_token_id(g_tok, "<0x0A>");
    CHECK(nl >= 0 && strcmp(saex_token_piece(g_tok, nl), "<0x0A>") == 0, "<0x0A> piece");
    CHECK(saex_token_piece(g_tok, -1) == NULL && saex_token_piece(g_tok, 256000) == NULL, "out of range piece");
    CHECK(saex_tokenizer_token_id(g_tok, "no such piece at all") == -1, "unknown piece");
    int32_t *ids = NULL;
    size_t n = 0;
    /* invalid UTF-8: refused, with the byte offset in the message */
    const char *inval[] = {"ab\xFF" "cd", "ab\xC0\xAF", "ab\xED\xA0\x80", "ab\xF4\x90\x80\x80", "ab\xE6\x97"};
    for (int i = 0; i < 5; i++) {
        CHECK(saex_tokenize(g_tok, inval[i], strlen(inval[i]), 1, &ids, &n) == SAEX_ERR_ARG, "invalid UTF-8 %d accepted", i);
        CHECK(strstr(saex_last_error(), "offset 2") != NULL, "message: %s", saex_last_error());
    }
    /* NUL bytes count: len is explicit */
    CHECK(saex_tokenize(g_tok, "a\0b", 3, 0, &ids, &n) == SAEX_OK && n == 3, "NUL: %zu ids", n);
    saex_free(ids);
    CHECK(saex_tokenize(g_tok, NULL, 0, 0, &ids, &n) == SAEX_OK && n == 0, "empty");
    saex_free(ids);
    int32_t badid[] = {5, 256000};
    char *txt = NULL;
    CHECK(saex_detokenize(g_tok, badid, 2, 0, &txt, NULL) == SAEX_ERR_RANGE, "id 256000 decoded");
    /* a directory path finds tokenizer.json */
    char dir[512];
    snprintf(dir, sizeof dir, "%s", g_tok_path);
    char *slash = strrchr(dir, '/');
    if (slash && strcmp(slash, "/tokenizer.json") == 0) *slash = 0;
    saex_tokenizer *t2 = NULL;
    double t0 = now();
    CHECK(saex_tokenizer_open(dir, &t2) == SAEX_OK, "open dir %s: %s", dir, saex_last_error());
    printf("     gemma2: load %.3f s\n", now() - t0);
    saex_tokenizer_close(t2);
}

static void t_small(void) {
    saex_tokenizer *t = NULL;
    const char *p = write_tmp("small.json", SMALL_JSON);
    saex_status st = saex_tokenizer_open(p, &t); /* REQUIRE evaluates its condition twice */
    REQUIRE(st == SAEX_OK, "%s", saex_last_error());
    CHECK(saex_tokenizer_bos_id(t) == 1 && saex_tokenizer_vocab_size(t) == 14, "bos / vocab");
    for (size_t c = 0; c < sizeof SMALL_CASES / sizeof SMALL_CASES[0]; c++) {
        int32_t *ids = NULL;
        size_t n = 0;
        CHECK(saex_tokenize(t, SMALL_CASES[c].text, strlen(SMALL_CASES[c].text), 1, &ids, &n) == SAEX_OK, "encode");
        int same = (int)n == SMALL_CASES[c].n && memcmp(ids, SMALL_CASES[c].ids, n * sizeof *ids) == 0;
        CHECK(same, "case \"%s\": %zu ids", SMALL_CASES[c].text, n);
        char *d = NULL;
        CHECK(saex_detokenize(t, SMALL_CASES[c].ids, (size_t)SMALL_CASES[c].n, 0, &d, NULL) == SAEX_OK &&
                  strcmp(d, SMALL_CASES[c].decoded) == 0,
              "decode \"%s\" -> \"%s\"", SMALL_CASES[c].text, d ? d : "(null)");
        saex_free(d);
        saex_free(ids);
    }
    saex_tokenizer_close(t);
}

/* A tokenizer.json with `model` replaced; the rest valid. */
static const char *with_model(const char *model, const char *extra) {
    static char buf[4096];
    snprintf(buf, sizeof buf,
             "{\"version\":\"1.0\",\"added_tokens\":[],\"normalizer\":null,\"pre_tokenizer\":null,\"post_processor\":null,"
             "\"decoder\":null%s,\"model\":%s}",
             extra, model);
    return buf;
}

static void expect_fail(const char *name, const char *json, saex_status want, const char *needle) {
    const char *p = write_tmp(name, json);
    saex_tokenizer *t = (saex_tokenizer *)1;
    saex_status st = saex_tokenizer_open(p, &t);
    CHECK(st == want, "%s: status %d (%s), want %d", name, st, saex_last_error(), want);
    CHECK(t == NULL, "%s: handle not NULL", name);
    CHECK(strstr(saex_last_error(), name) != NULL, "%s: message does not name the file: %s", name, saex_last_error());
    CHECK(strstr(saex_last_error(), needle) != NULL, "%s: message lacks \"%s\": %s", name, needle, saex_last_error());
}

#define BPE_OK "{\"type\":\"BPE\",\"unk_token\":null,\"byte_fallback\":true,\"vocab\":{\"a\":0,\"b\":1,\"ab\":2},"

static void t_hostile(void) {
    expect_fail("notjson.json", "{\"model\": [1, 2", SAEX_ERR_FORMAT, "invalid JSON");
    expect_fail("array.json", "[1, 2]", SAEX_ERR_FORMAT, "top level");
    expect_fail("nomodel.json", "{\"added_tokens\": []}", SAEX_ERR_FORMAT, "model");
    expect_fail("novocab.json", with_model("{\"type\":\"BPE\",\"merges\":[]}", ""), SAEX_ERR_FORMAT, "model.vocab");
    expect_fail("vocabarr.json", with_model("{\"type\":\"BPE\",\"vocab\":[1,2],\"merges\":[]}", ""), SAEX_ERR_FORMAT, "model.vocab");
    expect_fail("vocabstr.json", with_model("{\"type\":\"BPE\",\"vocab\":{\"a\":\"0\"},\"merges\":[]}", ""), SAEX_ERR_FORMAT,
                "model.vocab");
    expect_fail("negid.json", with_model("{\"type\":\"BPE\",\"vocab\":{\"a\":-1},\"merges\":[]}", ""), SAEX_ERR_FORMAT, "model.vocab");
    expect_fail("bigid.json", with_model("{\"type\":\"BPE\",\"vocab\":{\"a\":0,\"b\":99999999},\"merges\":[]}", ""), SAEX_ERR_FORMAT,
                "model.vocab");
    expect_fail("dupid.json", with_model("{\"type\":\"BPE\",\"vocab\":{\"a\":0,\"b\":0},\"merges\":[]}", ""), SAEX_ERR_FORMAT,
                "model.vocab");
    expect_fail("mergeunk.json", with_model(BPE_OK "\"merges\":[\"a c\"]}", ""), SAEX_ERR_FORMAT, "model.merges[0]");
    expect_fail("mergeout.json", with_model(BPE_OK "\"merges\":[\"a b\",\"b a\"]}", ""), SAEX_ERR_FORMAT, "model.merges[1]");
    expect_fail("mergeform.json", with_model(BPE_OK "\"merges\":[\"ab\"]}", ""), SAEX_ERR_FORMAT, "model.merges[0]");
    expect_fail("mergetype.json", with_model(BPE_OK "\"merges\":[7]}", ""), SAEX_ERR_FORMAT, "model.merges[0]");
    expect_fail("mergesobj.json", with_model(BPE_OK "\"merges\":{}}", ""), SAEX_ERR_FORMAT, "model.merges");
    expect_fail("unkmissing.json", with_model("{\"type\":\"BPE\",\"unk_token\":\"<unk>\",\"vocab\":{\"a\":0},\"merges\":[]}", ""),
                SAEX_ERR_FORMAT, "model.unk_token");
    expect_fail("flagtype.json", with_model(BPE_OK "\"fuse_unk\":\"yes\",\"merges\":[]}", ""), SAEX_ERR_FORMAT, "model");
    expect_fail("addedid.json",
                "{\"added_tokens\":[{\"id\":77,\"content\":\"<x>\",\"special\":true}],\"model\":" BPE_OK "\"merges\":[]}}",
                SAEX_ERR_FORMAT, "added_tokens[0]");
    expect_fail("addeddup.json",
                "{\"added_tokens\":[{\"id\":2,\"content\":\"<x>\"},{\"id\":2,\"content\":\"<y>\"}],\"model\":" BPE_OK "\"merges\":[]}}",
                SAEX_ERR_FORMAT, "added_tokens[");
    expect_fail("addedtype.json", "{\"added_tokens\":[{\"id\":1,\"content\":5}],\"model\":" BPE_OK "\"merges\":[]}}", SAEX_ERR_FORMAT,
                "added_tokens[0]");
    expect_fail("posttype.json",
                "{\"post_processor\":{\"type\":\"TemplateProcessing\",\"single\":[{\"SpecialToken\":{\"id\":\"<s>\"}},"
                "{\"Sequence\":{\"id\":\"A\"}}],\"special_tokens\":{\"<s>\":{\"ids\":[99]}}},\"model\":" BPE_OK "\"merges\":[]}}",
                SAEX_ERR_FORMAT, "post_processor");
    expect_fail("normtype.json", "{\"normalizer\":{\"type\":\"Replace\",\"pattern\":\" \"},\"model\":" BPE_OK "\"merges\":[]}}",
                SAEX_ERR_FORMAT, "normalizer");
    saex_tokenizer *t = NULL;
    char missing[300];
    snprintf(missing, sizeof missing, "%s/does-not-exist.json", g_tmpdir);
    CHECK(saex_tokenizer_open(missing, &t) == SAEX_ERR_IO && strstr(saex_last_error(), "does-not-exist"), "missing: %s",
          saex_last_error());
    CHECK(saex_tokenizer_open(g_tmpdir, &t) == SAEX_ERR_IO, "dir without tokenizer.json: %s", saex_last_error());
}

static void t_other_kinds(void) {
    expect_fail("wordpiece.json", with_model("{\"type\":\"WordPiece\",\"vocab\":{\"a\":0}}", ""), SAEX_ERR_UNSUPPORTED, "WordPiece");
    expect_fail("unigram.json", with_model("{\"type\":\"Unigram\",\"vocab\":[[\"a\",0.0]]}", ""), SAEX_ERR_UNSUPPORTED, "Unigram");
    expect_fail("wordlevel.json", with_model("{\"type\":\"WordLevel\",\"vocab\":{\"a\":0}}", ""), SAEX_ERR_UNSUPPORTED, "WordLevel");
    expect_fail("bytelevel.json",
                "{\"pre_tokenizer\":{\"type\":\"ByteLevel\",\"add_prefix_space\":false},\"model\":" BPE_OK "\"merges\":[]}}",
                SAEX_ERR_UNSUPPORTED, "ByteLevel");
    expect_fail("nfkc.json", "{\"normalizer\":{\"type\":\"NFKC\"},\"model\":" BPE_OK "\"merges\":[]}}", SAEX_ERR_UNSUPPORTED, "NFKC");
    expect_fail("regex.json",
                "{\"pre_tokenizer\":{\"type\":\"Split\",\"pattern\":{\"Regex\":\"\\\\s+\"},\"behavior\":\"Isolated\",\"invert\":false},"
                "\"model\":" BPE_OK "\"merges\":[]}}",
                SAEX_ERR_UNSUPPORTED, "regex");
    expect_fail("dropout.json", with_model(BPE_OK "\"dropout\":0.1,\"merges\":[]}", ""), SAEX_ERR_UNSUPPORTED, "dropout");
}

/* The tiny Gemma-style tokenizer the repo ships for examples, when it exists. */
static void t_example_tokenizer(void) {
    const char *p = "examples/model/tokenizer.json";
    struct stat sb;
    if (stat(p, &sb) != 0) SKIP("%s not in the repo yet", p);
    saex_tokenizer *t = NULL;
    saex_status st = saex_tokenizer_open(p, &t); /* REQUIRE evaluates its condition twice */
    REQUIRE(st == SAEX_OK, "%s", saex_last_error());
    const char *texts[] = {"Hello world", "The quick brown fox.", "  two  spaces\nnew line", "日本語 テキスト", "emoji 🤖"};
    for (int i = 0; i < 5; i++) {
        int32_t *ids = NULL;
        size_t n = 0;
        char *d = NULL;
        size_t dn = 0;
        CHECK(saex_tokenize(t, texts[i], strlen(texts[i]), 0, &ids, &n) == SAEX_OK && n > 0, "encode %d", i);
        CHECK(saex_detokenize(t, ids, n, 0, &d, &dn) == SAEX_OK, "decode %d", i);
        CHECK(d && dn == strlen(texts[i]) && memcmp(d, texts[i], dn) == 0, "round trip \"%s\" -> \"%s\"", texts[i], d ? d : "");
        saex_free(ids);
        saex_free(d);
    }
    saex_tokenizer_close(t);
}

int main(void) {
    snprintf(g_tmpdir, sizeof g_tmpdir, "/tmp/saex_tok_test_XXXXXX");
    if (!mkdtemp(g_tmpdir)) {
        printf("FAIL mkdtemp\n");
        return 1;
    }
    const char *env = getenv("SAEX_GEMMA2_TOKENIZER");
    g_tok_path = env && *env ? env : "../shared/data/tokenizers/gemma2/tokenizer.json";
    struct stat sb;
    if (stat(g_tok_path, &sb) == 0) {
        if (saex_tokenizer_open(g_tok_path, &g_tok) != SAEX_OK) fprintf(stderr, "open %s: %s\n", g_tok_path, saex_last_error());
        load_cases();
    }
    RUN(t_gemma_ids);
    RUN(t_gemma_decode);
    RUN(t_gemma_api);
    RUN(t_small);
    RUN(t_hostile);
    RUN(t_other_kinds);
    RUN(t_example_tokenizer);
    saex_tokenizer_close(g_tok);
    for (size_t i = 0; i < g_n_cases; i++) json_decref(g_cases[i]);
    free(g_cases);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_tmpdir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", g_tmpdir);
    TEST_MAIN_END();
}
