/* main.c — `saex`: subcommand dispatch, --help, --version. */
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "saex.h"

static const char USAGE[] =
    "usage: saex <command> [options]\n"
    "\n"
    "Commands:\n"
    "  extract    SAE features of Gemma-2 residual streams for prompt/response JSON\n"
    "             (a drop-in replacement for the SAELens + TransformerLens script)\n"
    "  tokenize   tokenize text with a tokenizer.json exactly as HF tokenizers does\n"
    "  merge      the output of a sharded run (Slurm job array), from its run directory\n"
    "  status     how far each shard of a run is\n"
    "  download   fetch a model (only the shards up to a layer) and SAEs into the HF cache\n"
    "  compare    features that differ between conditions of an output (rank tests, BH)\n"
    "  report     one self-contained HTML page about an output\n"
    "\n"
    "  saex <command> --help   options of one command\n"
    "  saex --version          version\n"
    "\n"
    "Reference: docs/cli.md\n";

int main(int argc, char **argv) {
    if (argc < 2) {
        fputs(USAGE, stderr);
        return EXIT_USAGE;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
        fputs(USAGE, stdout);
        return EXIT_ALL_OK;
    }
    if (!strcmp(cmd, "--version") || !strcmp(cmd, "-V") || !strcmp(cmd, "version")) {
        printf("saex %s\n", saex_version());
        return EXIT_ALL_OK;
    }
    if (!strcmp(cmd, "extract")) return cmd_extract(argc - 1, argv + 1);
    if (!strcmp(cmd, "tokenize")) return cmd_tokenize(argc - 1, argv + 1);
    if (!strcmp(cmd, "merge")) return cmd_merge(argc - 1, argv + 1);
    if (!strcmp(cmd, "status")) return cmd_status(argc - 1, argv + 1);
    if (!strcmp(cmd, "download")) return cmd_download(argc - 1, argv + 1);
    if (!strcmp(cmd, "compare")) return cmd_compare(argc - 1, argv + 1);
    if (!strcmp(cmd, "report")) return cmd_report(argc - 1, argv + 1);
    fprintf(stderr, "saex: unknown command '%s'\n\n%s", cmd, USAGE);
    return EXIT_USAGE;
}
