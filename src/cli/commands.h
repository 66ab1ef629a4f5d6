/* commands.h — the subcommands of the `saex` program; main.c dispatches to them.
 * Each takes the arguments after the subcommand name (argv[0] is the name)
 * and returns the process exit status. */
#ifndef SAEX_CLI_COMMANDS_H
#define SAEX_CLI_COMMANDS_H

/* Exit statuses shared by every subcommand (docs/cli.md). */
enum {
    EXIT_ALL_OK = 0,
    EXIT_FATAL = 1,       /* nothing written: bad input file, model/SAE not found, I/O error */
    EXIT_USAGE = 2,       /* bad command line */
    EXIT_SOME_FAILED = 3, /* --strict: output written, but some variations have "status": "error" */
    EXIT_INTERRUPTED = 130
};

int cmd_extract(int argc, char **argv);
int cmd_tokenize(int argc, char **argv); /* src/cli/cmd_tokenize.c */
int cmd_merge(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_download(int argc, char **argv); /* src/cli/cmd_download.c */
int cmd_compare(int argc, char **argv);  /* src/cli/cmd_compare.c */
int cmd_report(int argc, char **argv);   /* src/cli/cmd_report.c */

#endif
