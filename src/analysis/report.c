/* report.c — `saex report` (being written). */
#include <string.h>
#include "error.h"
void saex_report_options_init(saex_report_options *o) {
    memset(o, 0, sizeof *o);
    saex_compare_options_init(&o->compare);
    o->top = 20;
    o->examples = 5;
}
saex_status saex_report(const char *output, const saex_report_options *o, const char *html_path) {
    return saex_fail(SAEX_ERR_UNSUPPORTED, "not yet");
}
