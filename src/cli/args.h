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

/* ---- table-driven option parsing ---- */
typedef enum { ARG_FLAG, ARG_STR, ARG_INT, ARG_CHOICE } arg_kind;

typedef struct {
    const char *name;            /* "--top-k" */
    arg_kind kind;
    void *dst;                   /* FLAG/CHOICE: int *, STR: const char **, INT: int64_t * */
    int64_t lo, hi;              /* INT: accepted range */
    const char *const *choices;  /* CHOICE: NULL-terminated names; *dst gets the index */
    int *seen;                   /* set to 1 when the option is given (may be NULL) */
} arg_spec;

/* Parses argv[1..] against spec[0..n). --help / -h print usage to stdout
 * and return 1. Arguments that are not options go to pos[] (at most
 * max_pos). An unknown option gets a "did you mean" from the table.
 * Returns 0, 1 (help), or -1 after an error message. */
int arg_parse(int argc, char **argv, const arg_spec *spec, int n, const char *usage, const char **pos, int max_pos,
              int *n_pos);

/* Replaces every "{L}" in pattern by the layer number. Caller frees. */
char *subst_layer(const char *pattern, int layer);

/* Formats into a new heap string (never NULL: aborts on OOM). */
char *strfmt(const char *fmt, ...) CLI_PRINTF(1, 2);

#endif
