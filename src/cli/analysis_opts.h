/* analysis_opts.h — what `saex compare` and `saex report` share on the
 * command line: the grouping options, the default file names beside the
 * output, and a progress line while a large output is read. */
#ifndef SAEX_CLI_ANALYSIS_OPTS_H
#define SAEX_CLI_ANALYSIS_OPTS_H
#include "saex.h"

#define ANALYSIS_OPTIONS_HELP                                                                         \
    "  --by FIELD          conditions are the values of this field, on the variation or its\n"     \
    "                      result [template_type]\n"                                                  \
    "  --pair-by FIELD     pair samples with the same value across conditions (e.g. question_id):\n" \
    "                      Wilcoxon signed-rank; without it Mann-Whitney U (unpaired)\n"             \
    "  --baseline NAME     compare every condition with this one (default: every pair)\n"            \
    "  --layer L           only layer L (default: every layer in the output)\n"                       \
    "  --positions P       last (the last prompt token; default), or with --save-all-tokens\n"        \
    "                      outputs prompt-mean, prompt-max, response-mean, response-max\n"         \
    "  --input FILE        OUTPUT is a run store (OUTPUT.saex/): its input document [the path\n"    \
    "                      the store records]\n"

/* Matches argv[*i] against the shared options (consuming a value); returns
 * 1 when matched, 0 when not one of them, -1 on a bad value (message printed). */
int analysis_opt(int argc, char **argv, int *i, saex_compare_options *o);

/* An argument that is none of the command's options: the OUTPUT, given
 * once. Returns 0, or -1 after a message ("see saex CMD --help"). */
int analysis_output_arg(const char *arg, const char **output, const char *cmd);
/* -1 after a message when no OUTPUT was given. */
int analysis_need_output(const char *output);

/* OUTPUT without .json / .jsonl, then suffix: "run_layer20.json" -> "run_layer20<suffix>". Caller frees. */
char *beside_output(const char *output, const char *suffix);

/* Events that draw "reading FILE: 42%" on a terminal (stderr) and stop on Ctrl-C. */
const saex_events *analysis_events(void);
void analysis_events_done(void);

#endif
