/* test_cli_units.c — unit tests of src/cli modules that need no model:
 * option helpers, chat template, piece byte spans, registry, HF ids. */
#include "../src/cli/args.c"
#include "../src/cli/encode.c"
#include "../src/cli/hfcache.c"
#include "../src/cli/registry.c"
#include "../src/cli/samples.c"
#include "test.h"

static void test_layers_list(void) {
    int l[8];
    CHECK(arg_layers("--layers", "20,12,20", l, 8) == 2 && l[0] == 12 && l[1] == 20, "sorted, deduplicated");
    CHECK(arg_layers("--layers", "12,,20", l, 8) == -1, "empty item refused");
    CHECK(arg_layers("--layers", "x", l, 8) == -1, "non-number refused");
}

static void test_int_and_subst(void) {
    int64_t v;
    CHECK(arg_int("--k", "10", 1, 100, &v) == 0 && v == 10, "10");
    CHECK(arg_int("--k", "0", 1, 100, &v) == -1, "below range");
    CHECK(arg_int("--k", "5x", 1, 100, &v) == -1, "trailing junk");
    char *s = subst_layer("layer_{L}/width_16k/{L}", 20);
    CHECK(strcmp(s, "layer_20/width_16k/20") == 0, "%s", s);
    free(s);
}

static void test_chat_template(void) {
    size_t n;
    char *s = apply_chat_template("Hi", 2, CHAT_GEMMA, &n);
    CHECK(strcmp(s, "<start_of_turn>user\nHi<end_of_turn>\n<start_of_turn>model\n") == 0 && n == strlen(s), "%s", s);
    free(s);
    s = apply_chat_template("<bos>Hi", 7, CHAT_GEMMA, &n);
    CHECK(strcmp(s, "<bos>Hi") == 0, "a <bos> prompt is left alone");
    free(s);
    s = apply_chat_template("<start_of_turn>user\nx", 21, CHAT_GEMMA, &n);
    CHECK(n == 21, "an already templated prompt is left alone");
    free(s);
    s = apply_chat_template("Hi", 2, CHAT_NONE, &n);
    CHECK(strcmp(s, "Hi") == 0, "none");
    free(s);
}

static void test_piece_bytes(void) {
    CHECK(piece_text_bytes("\xE2\x96\x81the") == 4, "space + 3");
    CHECK(piece_text_bytes("<0x0A>") == 1, "byte fallback");
    CHECK(piece_text_bytes("<start_of_turn>") == 15, "special token text");
    CHECK(piece_text_bytes("\xC3\xA9") == 2, "UTF-8 bytes");
}

static void test_registry(void) {
    const registry_entry *e = registry_find("gemma-scope-9b-pt-res-canonical", "layer_20/width_16k/canonical");
    REQUIRE(e != NULL, "the default SAE is in the table");
    CHECK(strcmp(e->repo, "google/gemma-scope-9b-pt-res") == 0, "%s", e->repo);
    CHECK(strcmp(e->folder, "layer_20/width_16k/average_l0_68") == 0, "%s", e->folder);
    CHECK(e->layer == 20, "%d", e->layer);
    CHECK(registry_find("gemma-scope-9b-pt-res-canonical", "layer_99/width_16k/canonical") == NULL, "unknown id");
    CHECK(!registry_has_release("no-such-release"), "unknown release");
}

static void test_hf_ids(void) {
    CHECK(hf_is_repo_id("google/gemma-2-9b-it"), "org/name");
    CHECK(!hf_is_repo_id("/abs/path"), "absolute path");
    CHECK(!hf_is_repo_id("./rel"), "relative path");
    CHECK(!hf_is_repo_id("a/b/c"), "two slashes");
    CHECK(!hf_is_repo_id("noslash"), "no slash");
}

int main(void) {
    RUN(test_layers_list);
    RUN(test_int_and_subst);
    RUN(test_chat_template);
    RUN(test_piece_bytes);
    RUN(test_registry);
    RUN(test_hf_ids);
    TEST_MAIN_END();
}
