/* test_analysis.c — the public analysis API (saex_compare, rows, URLs,
 * saex_report) on small hand-written saex outputs whose every number is
 * known: pairing by a result-level field that comes after "variations",
 * the position modes of every-token outputs, Neuronpedia URLs, failed and
 * unprocessed variations. */
#include "test.h"

static void write_file(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    fputs(text, f);
    fclose(f);
}

/* One variation at layer 3: last_token features "f:a,f:a". */
#define VAR(tmpl, feats)                                                                                         \
    "{\"template_type\": \"" tmpl "\", \"prompt\": \"p\", \"sae_activations\": {\"layer_3\": {\"activations\": " \
    "{\"last_token\": {\"top_k_features\": [" feats "], \"num_active_features\": 2}}, "                          \
    "\"answer_start_position\": 4, \"total_tokens\": 6, \"status\": \"success\"}}}"
#define F(id, a) "{\"id\": " #id ", \"activation\": " #a "}"

/* Three questions; question_id after the variations; one failed and one
 * unprocessed variation. Feature 7: base 1,2,0  like 3,4,5 (pairs +2,+2,+5). */
static const char OUTPUT[] =
    "{\"results\": ["
    "{\"variations\": [" VAR("base", F(7, 1.0) "," F(9, 0.5)) "," VAR("like", F(7, 3.0)) "], \"question_id\": \"q1\"},"
    "{\"variations\": [" VAR("base", F(7, 2.0)) "," VAR("like", F(7, 4.0) "," F(9, 1.5)) "], \"question_id\": \"q2\"},"
    "{\"variations\": [" VAR("base", F(9, 2.5)) "," VAR("like", F(7, 5.0)) ","
    "{\"template_type\": \"like\", \"prompt\": \"x\", \"sae_activations\": {\"layer_3\": {\"status\": \"error\", "
    "\"reason\": \"empty response\"}}}, {\"template_type\": \"base\", \"prompt\": \"y\"}], \"question_id\": \"q3\"}],"
    "\"sae_extraction_metadata\": {\"layer_3\": {\"neuronpedia_id\": \"gemma-2-9b/3-gemmascope-res-16k\", "
    "\"save_all_tokens\": false}}}";

static void compare_paired_by_result_field(void) {
    write_file(t_path("out.json"), OUTPUT);
    saex_compare_options o;
    saex_compare_options_init(&o);
    o.pair_by = "question_id";
    saex_comparison *c;
    REQUIRE_OK(saex_compare(t_path("out.json"), &o, &c));
    const saex_comparison_info *in = saex_comparison_get_info(c);
    CHECK(in->n_samples == 8 && in->n_conditions == 2, "samples %lld conditions %d", (long long)in->n_samples,
          in->n_conditions);
    CHECK(!strcmp(in->conditions[0], "base") && !strcmp(in->conditions[1], "like"), "condition order");
    CHECK(in->n_layers == 1 && in->layers[0] == 3 && in->n_failed[0] == 1 && in->n_unprocessed[0] == 1,
          "layer %d failed %lld unprocessed %lld", in->layers[0], (long long)in->n_failed[0],
          (long long)in->n_unprocessed[0]);
    REQUIRE(in->n_tests == 1, "%d tests", in->n_tests);
    const saex_comparison_test *t = &in->tests[0];
    CHECK(t->paired && t->n_a == 3 && t->n_b == 3 && t->n_left_out == 0, "pairs %lld", (long long)t->n_a);
    CHECK(t->n_rows == 2, "%lld rows (features 7 and 9)", (long long)t->n_rows);
    const saex_compare_row *r7 = NULL;
    int64_t i7 = -1;
    for (int64_t i = t->first_row; i < t->first_row + t->n_rows; i++)
        if (saex_comparison_row(c, i)->feature == 7) r7 = saex_comparison_row(c, i), i7 = i;
    REQUIRE(r7, "no row for feature 7");
    CHECK(fabs(r7->mean_a - 1.0) < 1e-12 && fabs(r7->mean_b - 4.0) < 1e-12 && fabs(r7->mean_diff - 3.0) < 1e-12,
          "means %g %g", r7->mean_a, r7->mean_b);
    CHECK(fabs(r7->frac_a - 2.0 / 3) < 1e-12 && r7->frac_b == 1, "fracs %g %g", r7->frac_a, r7->frac_b);
    /* d = +2, +2, +5: ties and 3 pairs -> permutation; R- = 0; p = 2 * 1/8. */
    CHECK(r7->statistic == 0 && r7->rank_biserial == 1 && fabs(r7->p - 0.25) < 1e-12, "stat %g rb %g p %g",
          r7->statistic, r7->rank_biserial, r7->p);
    CHECK(!strcmp(r7->method, "permutation"), "method %s", r7->method);
    char *url = saex_comparison_row_url(c, i7);
    CHECK(url && !strcmp(url, "https://www.neuronpedia.org/gemma-2-9b/3-gemmascope-res-16k/7"), "url %s",
          url ? url : "(null)");
    saex_free(url);
    REQUIRE_OK(saex_comparison_write_csv(c, t_path("c.csv")));
    REQUIRE_OK(saex_comparison_write_json(c, t_path("c.json")));
    saex_comparison_close(c);
}

/* Every-token: positions 0..4, answer_start 3. Feature 5: 1 at pos 0, 2 at
 * pos 2, 4 at pos 3; feature 6: 3 at pos 4. */
#define TOK(n, piece, feats) \
    "\"token_" #n "\": {\"top_k_features\": [" feats "], \"num_active_features\": 1, \"token\": \"" piece "\"}"
#define VAR_ALL(tmpl, qid)                                                                                          \
    "{\"template_type\": \"" tmpl "\", \"question_id\": \"" qid "\", \"sae_activations\": {\"layer_1\": "          \
    "{\"activations\": {" TOK(0, "<bos>", F(5, 1.0)) "," TOK(1, "\\u2581a", "") "," TOK(2, "b", F(5, 2.0)) ","      \
    TOK(3, "\\u2581c", F(5, 4.0)) "," TOK(4, "<0x0A>", F(6, 3.0)) "}, \"answer_start_position\": 3, "               \
    "\"total_tokens\": 5, \"status\": \"ok\"}}}"

static void position_modes(void) {
    write_file(t_path("all.jsonl"), VAR_ALL("a", "q1") "\n" VAR_ALL("b", "q1") "\n");
    struct {
        saex_positions p;
        int32_t feature;
        double mean;
    } want[] = {
        {SAEX_POSITIONS_LAST, 5, 2.0},          /* position 2 */
        {SAEX_POSITIONS_PROMPT_MEAN, 5, 1.0},   /* (1 + 0 + 2) / 3 */
        {SAEX_POSITIONS_PROMPT_MAX, 5, 2.0},
        {SAEX_POSITIONS_RESPONSE_MEAN, 5, 2.0}, /* (4 + 0) / 2 */
        {SAEX_POSITIONS_RESPONSE_MAX, 6, 3.0},
    };
    for (size_t k = 0; k < sizeof want / sizeof want[0]; k++) {
        saex_compare_options o;
        saex_compare_options_init(&o);
        o.positions = want[k].p;
        saex_comparison *c;
        REQUIRE_OK(saex_compare(t_path("all.jsonl"), &o, &c));
        int found = 0;
        for (int64_t i = 0; i < saex_comparison_n_rows(c); i++) {
            const saex_compare_row *r = saex_comparison_row(c, i);
            if (r->feature != want[k].feature) continue;
            found = 1;
            CHECK(fabs(r->mean_a - want[k].mean) < 1e-6, "%s: feature %d mean %g, want %g",
                  saex_positions_name(want[k].p), want[k].feature, r->mean_a, want[k].mean);
        }
        CHECK(found, "%s: no row for feature %d", saex_positions_name(want[k].p), want[k].feature);
        CHECK(saex_comparison_row_url(c, 0) == NULL, "a URL without neuronpedia_id");
        CHECK(!strcmp(saex_comparison_get_info(c)->form, "jsonl"), "form %s", saex_comparison_get_info(c)->form);
        saex_comparison_close(c);
    }
    CHECK(saex_positions_parse("response-max") == SAEX_POSITIONS_RESPONSE_MAX && saex_positions_parse("x") == -1,
          "parse");
}

static void report_writes_page(void) {
    write_file(t_path("all2.jsonl"), VAR_ALL("a", "q1") "\n" VAR_ALL("b", "q1") "\n");
    saex_report_options o;
    saex_report_options_init(&o);
    o.compare.positions = SAEX_POSITIONS_RESPONSE_MAX;
    REQUIRE_OK(saex_report(t_path("all2.jsonl"), &o, t_path("r.html")));
    FILE *f = fopen(t_path("r.html"), "r");
    REQUIRE(f, "no page");
    static char page[1 << 20];
    size_t n = fread(page, 1, sizeof page - 1, f);
    fclose(f);
    page[n] = 0;
    CHECK(strstr(page, "<!DOCTYPE html>") && strstr(page, "id=\"saex-data\""), "not a report page");
    /* The tokens of the shown samples made it into the data block. */
    CHECK(strstr(page, "\"tok\": [\"\\u003cbos\\u003e\",\"\xE2\x96\x81" "a\""), "token pieces missing");
    saex_report_options bad = o;
    bad.top = 0;
    CHECK(saex_report(t_path("all2.jsonl"), &bad, t_path("r2.html")) == SAEX_ERR_ARG, "top 0 accepted");
}

int main(void) {
    if (!t_tmp_open("analysis")) return 1;
    RUN(compare_paired_by_result_field);
    RUN(position_modes);
    RUN(report_writes_page);
    t_tmp_close();
    TEST_MAIN_END();
}
