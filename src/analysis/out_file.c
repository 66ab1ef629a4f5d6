/* out_file.c — temp file + fsync + rename, and text helpers. */
#include "analysis/out_file.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "error.h"

saex_status out_open(out_file *o, const char *path) {
    memset(o, 0, sizeof *o);
    const char *slash = strrchr(path, '/');
    size_t dir = slash ? (size_t)(slash - path + 1) : 0;
    o->path = strdup(path);
    o->tmp = malloc(strlen(path) + 48);
    if (!o->path || !o->tmp) {
        out_abort(o);
        return saex_fail(SAEX_ERR_NOMEM, "out of memory");
    }
    sprintf(o->tmp, "%.*s.%s.saex-tmp-%ld", (int)dir, path, path + dir, (long)getpid());
    if (!(o->f = fopen(o->tmp, "wx"))) {
        saex_status s = saex_fail(SAEX_ERR_IO, "%s: cannot create %s: %s", path, o->tmp, strerror(errno));
        free(o->path), free(o->tmp);
        o->path = o->tmp = NULL;
        return s;
    }
    return SAEX_OK;
}

saex_status out_commit(out_file *o) {
    int bad = ferror(o->f) || fflush(o->f) != 0;
    int err = errno;
    if (!bad && fsync(fileno(o->f)) != 0) bad = 1, err = errno;
    if (fclose(o->f) != 0 && !bad) bad = 1, err = errno;
    o->f = NULL;
    if (!bad && rename(o->tmp, o->path) != 0) bad = 1, err = errno;
    saex_status s = bad ? saex_fail(SAEX_ERR_IO, "%s: cannot write: %s", o->path, strerror(err)) : SAEX_OK;
    if (bad) remove(o->tmp);
    free(o->path), free(o->tmp);
    o->path = o->tmp = NULL;
    return s;
}

void out_abort(out_file *o) {
    if (o->f) fclose(o->f), remove(o->tmp);
    free(o->path), free(o->tmp);
    memset(o, 0, sizeof *o);
}

void fmt_num(char *buf, size_t size, double v, int max_digits) {
    if (v != v) {
        buf[0] = 0;
        return;
    }
    if (v == (double)(long long)v && fabs(v) < 1e15) { /* 10, not 1e+01 */
        snprintf(buf, size, "%lld", (long long)v);
        return;
    }
    for (int p = 1; p <= max_digits; p++) {
        snprintf(buf, size, "%.*g", p, v);
        if (strtod(buf, NULL) == v) return;
    }
}

void put_json_str(FILE *f, const char *s) {
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        unsigned char c = *p;
        if (c == '"' || c == '\\') fputc('\\', f), fputc(c, f);
        else if (c == '\n') fputs("\\n", f);
        else if (c == '\r') fputs("\\r", f);
        else if (c == '\t') fputs("\\t", f);
        else if (c < 0x20 || c == '<' || c == '>' || c == '&') fprintf(f, "\\u%04x", c);
        else if (c == 0xE2 && p[1] == 0x80 && (p[2] == 0xA8 || p[2] == 0xA9)) /* U+2028/9: line ends in old JS */
            fprintf(f, "\\u%04x", p[2] == 0xA8 ? 0x2028 : 0x2029), p += 2;
        else fputc(c, f);
    }
    fputc('"', f);
}

void put_csv_str(FILE *f, const char *s) {
    if (!strpbrk(s, ",\"\r\n")) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"') fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}
