/* summary.h — what `saex extract` and `saex merge` print when the output is
 * written: where it went, counts, the top features of the first variations
 * (stdout; stderr when the output itself goes to stdout), and the variations
 * that failed (stderr). */
#ifndef SAEX_CLI_SUMMARY_H
#define SAEX_CLI_SUMMARY_H
#include "saex.h"

typedef struct {
    const saex_doc *doc;
    saex_results *res;
    const char *written;   /* the output path, or "-" */
    const char *dump_path; /* or NULL */
    const int *layers;
    int n_layers;
    int64_t n_run;         /* samples the run covered (the first n_run of the document) */
    int verbose;           /* a line per variation, and every failure */
} summary_args;

/* Prints everything; returns the number of failed variations. */
int64_t summary_print(const summary_args *a);

#endif
