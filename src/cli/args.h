/* args.h — small helpers for reading command-line options and reporting
 * CLI errors in one format ("saex extract: error: ..."). */
#ifndef SAEX_CLI_ARGS_H
#define SAEX_CLI_ARGS_H
#include <stdint.h>

#if defined(__GNUC__)
#define CLI_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define CLI_PRINTF(a, b)
#endif

/* The prefix of every message ("saex extract"). */
void cli_set_prog(const char *prog);
void cli_error(const char *fmt, ...) CLI_PRINTF(1, 2);
void cli_warn(const char *fmt, ...) CLI_PRINTF(1, 2);
void cli_info(const char *fmt, ...) CLI_PRINTF(1, 2);

/* Parses a whole decimal integer in [lo, hi]. Returns 0 on success, else
 * prints "option: ..." and returns -1. */
int arg_int(const char *option, const char *text, int64_t lo, int64_t hi, int64_t *out);

/* "12,20" -> layers (sorted, no duplicates). Returns the count, or -1 after an error message. */
int arg_layers(const char *option, const char *text, int *layers, int max_layers);

/* Matches argv[*i] against "--name" or "--name=value". For options that take
 * a value, *value gets it (from "=value" or the next argument, which is then
 * consumed). Returns 1 on a match, 0 if argv[*i] is another option, -1 if the
 * value is missing (message printed). */
int arg_match(int argc, char **argv, int *i, const char *name, int takes_value, const char **value);

/* Replaces every "{L}" in pattern by the layer number. Caller frees. */
char *subst_layer(const char *pattern, int layer);

/* Formats into a new heap string (never NULL: aborts on OOM). */
char *strfmt(const char *fmt, ...) CLI_PRINTF(1, 2);

#endif
