/* fuzz_tokenizer.c — libFuzzer target for the tokenizer.
 * The first byte picks the mode:
 *   even: the rest is a tokenizer.json to load (errors are fine, crashes not)
 *   odd:  the rest is text, encoded with the real Gemma-2 tokenizer when
 *         $SAEX_GEMMA2_TOKENIZER / ../shared/data/tokenizers/gemma2 exists (else a
 *         small built-in one), then decoded back; valid text must round-trip
 *         through decode to what HF's decoder gives, at least without crashing. */
#include "saex.h"
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *SMALL =
    "{\"added_tokens\":[{\"id\":0,\"content\":\"<unk>\",\"special\":true,\"normalized\":false},"
    "{\"id\":1,\"content\":\"<s>\",\"special\":true,\"normalized\":false},"
    "{\"id\":9,\"content\":\"[M]\",\"lstrip\":true,\"rstrip\":true,\"single_word\":true,\"normalized\":false}],"
    "\"normalizer\":{\"type\":\"Sequence\",\"normalizers\":[{\"type\":\"Prepend\",\"prepend\":\"\\u2581\"},"
    "{\"type\":\"Replace\",\"pattern\":{\"String\":\" \"},\"content\":\"\\u2581\"}]},"
    "\"pre_tokenizer\":{\"type\":\"Split\",\"pattern\":{\"String\":\"x\"},\"behavior\":\"Isolated\",\"invert\":false},"
    "\"post_processor\":{\"type\":\"TemplateProcessing\",\"single\":[{\"SpecialToken\":{\"id\":\"<s>\"}},{\"Sequence\":{\"id\":\"A\"}}],"
    "\"special_tokens\":{\"<s>\":{\"ids\":[1]}}},"
    "\"decoder\":{\"type\":\"Sequence\",\"decoders\":[{\"type\":\"Replace\",\"pattern\":{\"String\":\"\\u2581\"},\"content\":\" \"},"
    "{\"type\":\"ByteFallback\"},{\"type\":\"Fuse\"},{\"type\":\"Strip\",\"content\":\" \",\"start\":1,\"stop\":0}]},"
    "\"model\":{\"type\":\"BPE\",\"unk_token\":\"<unk>\",\"fuse_unk\":true,\"byte_fallback\":true,"
    "\"vocab\":{\"<unk>\":0,\"<s>\":1,\"\\u2581\":2,\"a\":3,\"b\":4,\"ab\":5,\"\\u2581a\":6,\"<0x41>\":7,\"<0xC3>\":8,\"[M]\":9,\"x\":10},"
    "\"merges\":[\"a b\",\"\\u2581 a\"]}}";

static saex_tokenizer *g_text_tok;
static char g_dir[64];

static void setup(void) {
    snprintf(g_dir, sizeof g_dir, "/tmp/fuzz_tok_XXXXXX");
    if (!mkdtemp(g_dir)) abort();
    const char *env = getenv("SAEX_GEMMA2_TOKENIZER");
    const char *real = env && *env ? env : "../shared/data/tokenizers/gemma2/tokenizer.json";
    if (saex_tokenizer_open(real, &g_text_tok) == SAEX_OK) return;
    char path[128];
    snprintf(path, sizeof path, "%s/small.json", g_dir);
    FILE *f = fopen(path, "wb");
    fputs(SMALL, f);
    fclose(f);
    if (saex_tokenizer_open(path, &g_text_tok) != SAEX_OK) {
        fprintf(stderr, "built-in tokenizer: %s\n", saex_last_error());
        abort();
    }
}

static void encode_decode(const saex_tokenizer *tok, const char *s, size_t n) {
    int32_t *ids = NULL;
    size_t k = 0;
    if (saex_tokenize(tok, s, n, 1, &ids, &k) != SAEX_OK) return; /* invalid UTF-8 is refused */
    for (size_t i = 0; i < k; i++)
        if (ids[i] < 0 || ids[i] >= saex_tokenizer_vocab_size(tok) || !saex_token_piece(tok, ids[i])) abort();
    char *text = NULL;
    size_t len = 0;
    if (saex_detokenize(tok, ids, k, 0, &text, &len) != SAEX_OK) abort();
    saex_free(text);
    if (saex_detokenize(tok, ids, k, 1, &text, &len) != SAEX_OK) abort();
    saex_free(text);
    saex_free(ids);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!g_text_tok) setup();
    if (size == 0) return 0;
    const char *rest = (const char *)data + 1;
    size_t n = size - 1;
    if (data[0] % 2 == 0) {
        char path[128];
        snprintf(path, sizeof path, "%s/t.json", g_dir);
        FILE *f = fopen(path, "wb");
        if (!f) return 0;
        fwrite(rest, 1, n, f);
        fclose(f);
        saex_tokenizer *tok = NULL;
        if (saex_tokenizer_open(path, &tok) == SAEX_OK) {
            { const char *probe = "ab a\xC3\xA9 [M] <s>x"; encode_decode(tok, probe, strlen(probe)); }
            saex_tokenizer_close(tok);
        }
    } else {
        encode_decode(g_text_tok, rest, n);
    }
    return 0;
}
