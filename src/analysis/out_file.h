/* out_file.h — the files `saex compare` and `saex report` write: a temp file
 * beside the destination, fsynced and renamed over it, so that a file is
 * complete or absent; and the text helpers they share (shortest numbers,
 * JSON and CSV strings). */
#ifndef SAEX_ANALYSIS_OUT_FILE_H
#define SAEX_ANALYSIS_OUT_FILE_H
#include <stdio.h>

#include "saex.h"

typedef struct {
    char *path, *tmp;
    FILE *f;
} out_file;

saex_status out_open(out_file *o, const char *path);
/* Checks every write, fsyncs, renames; on any failure removes the temp file. */
saex_status out_commit(out_file *o);
void out_abort(out_file *o);

/* The shortest decimal that reads back as v ("0.25", "1e-12"), with at most
 * max_digits significant digits (17: exact; 9: enough for values that come
 * from float32 activations); "" for NaN. */
void fmt_num(char *buf, size_t size, double v, int max_digits);
/* s as a JSON string, quotes included; '<' as \u003c so that the text can sit
 * inside an HTML <script> element. */
void put_json_str(FILE *f, const char *s);
/* s as one CSV field (RFC 4180: quoted when it holds , " or a line break). */
void put_csv_str(FILE *f, const char *s);

#endif
