/* output.h — the result fields added to the input document, and writing it.
 *
 * Per variation: "sae_activations": {"layer_L": {"activations": {...},
 * "answer_start_position", "total_tokens", "status"}} (merged into an
 * existing "sae_activations" object, so earlier layers are kept). Per run:
 * "sae_extraction_metadata": {"layer_L": {...}} at the top of a results
 * document, or in "<output>.meta.json" for the list and JSONL forms. */
#ifndef SAEX_CLI_OUTPUT_H
#define SAEX_CLI_OUTPUT_H
#include <jansson.h>

#include "atomic.h"
#include "extract.h"
#include "samples.h"

typedef struct {
    const int *layers;
    int n_layers;
    int top_k;
    int save_all;
    const saex_tokenizer *tok;
} output_ctx;

/* extract_result_fn: attaches one layer's result to the sample's variation. */
int output_on_result(void *ctx, sample *s, int layer_index, pos_range r, const saex_feature *f,
                     const int32_t *n_active);
/* Writes "status": "error" + "reason" for every failed sample. */
void output_mark_errors(input_doc *doc, const output_ctx *c);
/* Serializes the document (same form as the input) into out, and the
 * metadata into meta for list/jsonl (meta unused for results). Does not
 * commit. Returns 0 or -1 (message printed; files aborted). */
int output_write(input_doc *doc, json_t *metadata, atomic_file *out, atomic_file *meta);
/* The sidecar path for list/jsonl outputs (caller frees). */
char *output_meta_path(const char *output);

#endif
