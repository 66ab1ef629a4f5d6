/* test_pipeline.c — units of the extraction pipeline that need no model:
 * documents (forms, NaN/Infinity, BOM), the chat template, encoding (given
 * ids, empty responses), and plans (batches independent of the shard count,
 * shards balanced by tokens). The demo tokenizer (examples/model) is used
 * where a tokenizer is needed. */
#include "pipeline/json_write.h"
#include "pipeline/pipeline.h"
#include "test.h"

static saex_doc *parse(const char *text) {
    saex_doc *d = NULL;
    saex_status st = saex_doc_parse("t.json", text, strlen(text), &d);
    return st == SAEX_OK ? d : NULL;
}

static char *dump(const saex_doc *d, int indent) {
    char *s = NULL;
    size_t n;
    return jw_to_string(d->root, indent, &s, &n) == SAEX_OK ? s : NULL;
}

static void test_nonfinite_round_trip(void) {
    const char *in = "[{\"prompt\":\"NaN is a word\",\"response\":\"x\",\"s\":[NaN,Infinity,-Infinity,1.5,-0.0],"
                     "\"t\":\"Infinity\"}]";
    saex_doc *d = parse(in);
    REQUIRE(d, "parsed: %s", saex_last_error());
    char *out = dump(d, 0);
    CHECK(out && strcmp(out, in) == 0, "written back as it was:\n%s\n%s", in, out ? out : "(null)");
    free(out);
    saex_doc_close(d);
    CHECK(!parse("[{\"a\": NaNa}]"), "NaNa is not a token");
    CHECK(!parse("[{\"a\": nan}]"), "lower-case nan is not Python's");
    saex_doc *r = parse("[{\"a\": \"\\u0000saex-nonfinite:NaN\"}]");
    CHECK(!r && strstr(saex_last_error(), "reserves"), "the reserved string is refused: %s", saex_last_error());
    saex_doc_close(r);
}

static void test_bom_and_forms(void) {
    saex_doc *d = parse("\xEF\xBB\xBF{\"results\": [{\"variations\": [{\"prompt\": \"a\", \"response\": \"b\"}]}]}");
    REQUIRE(d, "a BOM is accepted: %s", saex_last_error());
    CHECK(saex_doc_form_of(d) == SAEX_FORM_RESULTS && saex_doc_n_samples(d) == 1, "results form");
    saex_doc_close(d);
    d = parse("{\"prompt\": \"a\", \"response\": \"b\"}\n{\"prompt\": \"c\", \"response\": \"d\"}\n");
    REQUIRE(d, "JSON Lines by content");
    CHECK(saex_doc_form_of(d) == SAEX_FORM_JSONL && saex_doc_n_samples(d) == 2, "two lines");
    char label[96];
    saex_doc_sample_label(d, 1, label, sizeof label);
    CHECK(strcmp(label, "r1 v0") == 0, "%s", label);
    saex_doc_close(d);
    CHECK(!parse("{\"results\": [{\"variations\": [1]}]}") && strstr(saex_last_error(), "results[0].variations[0]"),
          "a variation that is not an object is named: %s", saex_last_error());
}

static void test_chat_template(void) {
    size_t n;
    char *s = apply_chat_template("Hi", 2, SAEX_CHAT_GEMMA, &n);
    CHECK(strcmp(s, "<start_of_turn>user\nHi<end_of_turn>\n<start_of_turn>model\n") == 0 && n == strlen(s), "%s", s);
    free(s);
    /* Gemma's template trims the message (Jinja's trim = Python's str.strip) */
    const char *padded = "  \n\tHi there \xC2\xA0\xE3\x80\x80\n";
    s = apply_chat_template(padded, strlen(padded), SAEX_CHAT_GEMMA, &n);
    CHECK(strcmp(s, "<start_of_turn>user\nHi there<end_of_turn>\n<start_of_turn>model\n") == 0, "trimmed: [%s]", s);
    free(s);
    s = apply_chat_template(" \xE2\x80\x8B x", 6, SAEX_CHAT_GEMMA, &n); /* U+200B is not whitespace for Python */
    CHECK(strstr(s, "user\n\xE2\x80\x8B x<end") != NULL, "zero-width space kept: [%s]", s);
    free(s);
    s = apply_chat_template("<bos>Hi", 7, SAEX_CHAT_GEMMA, &n);
    CHECK(strcmp(s, "<bos>Hi") == 0, "a <bos> prompt is left alone");
    free(s);
    s = apply_chat_template(" Hi ", 4, SAEX_CHAT_NONE, &n);
    CHECK(strcmp(s, " Hi ") == 0, "none keeps the text");
    free(s);
}

static void test_piece_bytes(void) {
    CHECK(piece_text_bytes("\xE2\x96\x81the") == 4, "space + 3");
    CHECK(piece_text_bytes("<0x0A>") == 1, "byte fallback");
    CHECK(piece_text_bytes("\xC3\xA9") == 2, "UTF-8 bytes");
}

static saex_tokenizer *demo_tokenizer(void) {
    saex_tokenizer *t = NULL;
    return saex_tokenizer_open("examples/model", &t) == SAEX_OK ? t : NULL;
}

static void test_encode_given_and_empty(void) {
    saex_tokenizer *tok = demo_tokenizer();
    REQUIRE(tok, "demo tokenizer: %s", saex_last_error());
    saex_doc *d = parse("[{\"prompt_token_ids\": [2, 99999], \"response\": \"x\"},"
                        " {\"prompt_token_ids\": [2, 1.5], \"response\": \"x\"},"
                        " {\"prompt\": \"Hello there.\", \"response\": \"\"},"
                        " {\"prompt\": \"Hello\", \"response_token_ids\": []}]");
    REQUIRE(d, "%s", saex_last_error());
    encode_opts eo = {SAEX_CHAT_NONE, 0};
    encoded e;
    REQUIRE(encode_sample(d, 0, tok, &eo, &e) == SAEX_OK, "an id outside the vocabulary is not a run failure");
    CHECK(e.reason && strstr(e.reason, "99999") && strstr(e.reason, "not a token id"), "%s", e.reason);
    free(e.reason), free(e.ids);
    REQUIRE(encode_sample(d, 1, tok, &eo, &e) == SAEX_OK, "a non-integer id");
    CHECK(e.reason && strstr(e.reason, "not an integer"), "%s", e.reason);
    free(e.reason), free(e.ids);
    REQUIRE(encode_sample(d, 2, tok, &eo, &e) == SAEX_OK, "empty response");
    CHECK(!e.reason && e.n_ids == e.prompt_len && e.n_ids > 1, "only the prompt: %d of %d", e.prompt_len, e.n_ids);
    free(e.reason), free(e.ids);
    REQUIRE(encode_sample(d, 3, tok, &eo, &e) == SAEX_OK, "empty given response");
    CHECK(!e.reason && e.n_ids == e.prompt_len && e.mode == TOK_GIVEN_SEPARATE, "mode %s", tok_mode_name(e.mode));
    free(e.reason), free(e.ids);
    saex_doc_close(d);
    saex_tokenizer_close(tok);
}

/* A document of n samples whose responses grow, for plans. */
static saex_doc *growing(int n) {
    size_t cap = 64 + (size_t)n * 400, len = 0;
    char *s = malloc(cap);
    len += (size_t)snprintf(s + len, cap - len, "[");
    for (int i = 0; i < n; i++) {
        len += (size_t)snprintf(s + len, cap - len, "%s{\"prompt\": \"question %d\", \"response\": \"", i ? "," : "", i);
        for (int w = 0; w < (i * 7) % 23; w++) len += (size_t)snprintf(s + len, cap - len, "word ");
        len += (size_t)snprintf(s + len, cap - len, "end\"}");
    }
    snprintf(s + len, cap - len, "]");
    saex_doc *d = parse(s);
    free(s);
    return d;
}

static void test_plan_independent_of_shards(void) {
    saex_tokenizer *tok = demo_tokenizer();
    saex_doc *d = growing(60);
    REQUIRE(tok && d, "demo tokenizer and document");
    saex_run_options o;
    saex_run_options_init(&o);
    o.batch_tokens = 40;
    plan one, three;
    REQUIRE(plan_build(d, tok, &o, 256, 1, &one) == SAEX_OK, "%s", saex_last_error());
    REQUIRE(plan_build(d, tok, &o, 256, 3, &three) == SAEX_OK, "%s", saex_last_error());
    CHECK(strcmp(one.sha256, three.sha256) == 0, "the same plan for 1 and 3 shards");
    CHECK(one.n_batches == three.n_batches && one.n_batches > 6, "%lld batches", (long long)one.n_batches);
    for (int64_t b = 0; b + 1 < one.n_batches; b++)
        CHECK(one.batch_tok[b] <= 40 || one.batch_off[b + 1] - one.batch_off[b] == 1, "batch %lld: %lld tokens",
              (long long)b, (long long)one.batch_tok[b]);
    int64_t sum[3] = {0};
    for (int s = 0; s < 3; s++)
        for (int64_t b = three.shard_first[s]; b < three.shard_first[s + 1]; b++) sum[s] += three.batch_tok[b];
    int64_t lo = sum[0], hi = sum[0];
    for (int s = 1; s < 3; s++) lo = sum[s] < lo ? sum[s] : lo, hi = sum[s] > hi ? sum[s] : hi;
    CHECK(three.shard_first[0] == 0 && three.shard_first[3] == three.n_batches, "the shards cover every batch");
    CHECK(hi - lo <= 2 * 40, "balanced by tokens: %lld %lld %lld", (long long)sum[0], (long long)sum[1], (long long)sum[2]);
    plan_free(&one), plan_free(&three);
    o.max_samples = 10;
    REQUIRE(plan_build(d, tok, &o, 256, 1, &one) == SAEX_OK, "max_samples");
    int64_t in = 0;
    for (int64_t i = 0; i < one.n; i++) in += one.in_run[i];
    CHECK(in == 10 && one.in_run[9] && !one.in_run[10], "the first 10");
    plan_free(&one);
    REQUIRE(plan_build(d, tok, &o, 8, 1, &one) == SAEX_OK, "a short max_positions");
    int too_long = 0;
    for (int64_t i = 0; i < 10; i++) too_long += one.reason[i] && strstr(one.reason[i], "too long") != NULL;
    CHECK(too_long > 0 && one.batch[0] == -1 ? 1 : too_long > 0, "long samples fail alone: %d", too_long);
    plan_free(&one);
    saex_doc_close(d);
    saex_tokenizer_close(tok);
}

int main(void) {
    RUN(test_nonfinite_round_trip);
    RUN(test_bom_and_forms);
    RUN(test_chat_template);
    RUN(test_piece_bytes);
    RUN(test_encode_given_and_empty);
    RUN(test_plan_independent_of_shards);
    TEST_MAIN_END();
}
