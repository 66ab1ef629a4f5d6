/* report.h — what `saex report` gathers before it writes the page
 * (report.c), and the writer (report_html.c). */
#ifndef SAEX_ANALYSIS_REPORT_H
#define SAEX_ANALYSIS_REPORT_H
#include "analysis/comparison.h"
#include "analysis/dataset.h"

/* The tokens of one shown sample and, per layer, the shown features there. */
typedef struct {
    int n_tok;
    int32_t *pos;
    char **piece;          /* NULL entries where unknown */
    int answer_start;
    int *n_hit;            /* [n_layers] */
    int32_t **hit_tok;     /* [n_layers][n_hit] index into pos / piece */
    int32_t **hit_id;
    float **hit_act;
} rp_detail;

/* One layer's selection. */
typedef struct {
    int32_t *feat;         /* [n_feat] the features that get a card, ascending */
    int n_feat;
    int64_t *ex;           /* [n_feat * examples] samples where each fires most, -1 padded */
    float *ex_act;
    int32_t *top;          /* [n_conditions * top] most frequent features per condition, -1 padded */
    double *top_frac, *top_mean;
    int64_t *cond_n;       /* [n_conditions] processed samples per condition */
} rp_layer;

typedef struct {
    const saex_report_options *o;
    const an_dataset *ds;
    const saex_comparison *c;
    rp_layer *layers;      /* [ds->n_layers] */
    rp_detail **detail;    /* [ds->n] NULL for samples not shown */
    int every_token;       /* the shown samples have token pieces */
} report;

saex_status report_write_html(const report *r, const char *path);

#endif
