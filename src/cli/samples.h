/* samples.h — the input document and the variations ("samples") in it.
 *
 * Three input forms are accepted and written back in the same form:
 *   results  {"results": [{..., "variations": [{prompt, response, ...}]}], ...}
 *   list     [{prompt, response, ...}, ...]
 *   jsonl    one {prompt, response, ...} object per line (.jsonl, or detected)
 * The parsed tree is kept whole so that the output carries every input field
 * in its original order; samples point into it. */
#ifndef SAEX_CLI_SAMPLES_H
#define SAEX_CLI_SAMPLES_H
#include <jansson.h>
#include <stdint.h>

#include "saex.h"

typedef enum { FORM_RESULTS, FORM_LIST, FORM_JSONL } input_form;

typedef struct {
    json_t *var;          /* the variation object (borrowed from the document) */
    json_t *result;       /* its enclosing result object, or NULL */
    int result_index;     /* results[r] (list/jsonl: the element / line index) */
    int variation_index;  /* variations[v] (list/jsonl: 0) */
    /* Filled by encode_sample(): */
    int32_t *ids;         /* [n_ids] prompt then response tokens */
    int n_ids;
    int prompt_len;       /* answer_start_position */
    const char *tok_mode; /* "separate", "joint", "given", "given+separate" */
    char *reason;         /* non-NULL: this sample failed (status "error") */
    /* Filled by the extraction, for the summary: top features at the last prompt token. */
    saex_feature *top;    /* [n_layers, SUMMARY_K] */
} sample;

#define SUMMARY_K 5

typedef struct {
    input_form form;
    json_t *root;         /* results: the object; list / jsonl: the array of objects */
    sample *s;
    int n;                /* samples selected (after --max-samples) */
    int n_total;          /* variations in the file */
} input_doc;

/* Reads and checks the file. Whole-file problems (unreadable, malformed JSON,
 * wrong shape, no variations) print an error and return -1. */
int input_load(const char *path, int64_t max_samples, input_doc *doc);
void input_free(input_doc *doc);
const char *input_form_name(input_form f);

/* Marks sample i as failed with a formatted reason (first reason wins). */
void sample_fail(sample *s, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

#endif
