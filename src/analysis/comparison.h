/* comparison.h — the saex_comparison object, shared by compare.c (the
 * tests), compare_write.c (CSV / JSON) and report.c (HTML). */
#ifndef SAEX_ANALYSIS_COMPARISON_H
#define SAEX_ANALYSIS_COMPARISON_H
#include <jansson.h>

#include "analysis/dataset.h"
#include "saex.h"

struct saex_comparison {
    saex_comparison_info info;
    char *input, *by, *pair_by, *baseline;
    char form[16];
    char **conditions;           /* [n_conditions] */
    int64_t *condition_size;
    int *layers;                 /* [n_layers] */
    int64_t *n_failed, *n_unprocessed;
    char **neuronpedia;          /* [n_layers], entries may be NULL */
    saex_comparison_test *tests; /* [n_tests] */
    saex_compare_row *rows;      /* [n_rows] */
    int64_t n_rows, cap_rows;
    json_t *meta;                /* sae_extraction_metadata, or NULL */
};

/* Runs the tests on a collected dataset; src names the input in messages. */
saex_status an_compare_dataset(const an_dataset *ds, const saex_compare_options *o, an_source *src,
                               saex_comparison **out);

/* Index of the layer in ds / in the comparison for a test. */
int an_test_layer_index(const saex_comparison *c, int test);

/* "https://www.neuronpedia.org/<source>/<feature>" into buf; 0 when the
 * layer's source is unknown. */
int an_feature_url(const saex_comparison *c, int layer_index, int32_t feature, char *buf, size_t size);

#endif
