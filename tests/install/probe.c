/* probe.c — a program built against an installed saex by tests/e2e_install.sh
 * (only <saex.h> and pkg-config): it tokenizes a sentence with the demo
 * tokenizer, runs the demo model to block 2 on the CPU, encodes the last
 * token with the demo SAE and prints its top features.
 *   probe MODEL_DIR SAE_PATH */
#include <saex.h>
#include <stdio.h>

static int die(const char *what) {
    fprintf(stderr, "probe: %s: %s\n", what, saex_last_error());
    return 1;
}

int main(int argc, char **argv) {
    if (argc != 3) return fprintf(stderr, "usage: probe MODEL_DIR SAE_PATH\n"), 2;
    saex_tokenizer *tok;
    if (saex_tokenizer_open(argv[1], &tok)) return die("tokenizer");
    const char *text = "The quick brown fox jumps over the lazy dog.";
    int32_t *ids;
    size_t n;
    if (saex_tokenize(tok, text, 44, 1, &ids, &n)) return die("tokenize");
    int layer = 2, len = (int)n, last = len - 1, seq = 0;
    saex_model_options opt;
    saex_model_options_init(&opt);
    opt.device = SAEX_DEVICE_CPU;
    saex_model *m;
    saex_sae *sae;
    if (saex_model_open(argv[1], &layer, 1, &opt, &m)) return die("model");
    if (saex_sae_open(argv[2], &sae)) return die("sae");
    if (saex_model_attach_sae(m, layer, sae)) return die("attach");
    const int32_t *seqs[1] = {ids};
    if (saex_model_forward(m, seqs, &len, 1)) return die("forward");
    saex_feature top[5];
    int32_t active;
    if (saex_model_sae_topk(m, layer, &seq, &last, 1, 5, top, &active)) return die("top-k");
    printf("saex %s: %d tokens, %d active\nids:", saex_version(), len, active);
    for (int i = 0; i < 5; i++) printf(" %d", top[i].id);
    printf("\nvalues:");
    for (int i = 0; i < 5; i++) printf(" %.4f", top[i].activation);
    printf("\n");
    saex_free(ids);
    saex_model_close(m);
    saex_sae_close(sae);
    saex_tokenizer_close(tok);
    return 0;
}
