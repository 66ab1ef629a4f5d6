/* test_cli_units.c — unit tests of src/cli modules that need no model:
 * option helpers, chat template, piece byte spans (the registry and HF ids
 * moved to the library: tests/test_hub.c). */
#include "../src/cli/args.c"
#include "../src/cli/encode.c"
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

int main(void) {
    RUN(test_layers_list);
    RUN(test_int_and_subst);
    RUN(test_chat_template);
    RUN(test_piece_bytes);
    TEST_MAIN_END();
}
