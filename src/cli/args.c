/* args.c — option parsing helpers and the CLI's message format. */
#include "args.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *g_prog = "saex";

void cli_set_prog(const char *prog) { g_prog = prog; }

static void vmsg(const char *kind, const char *fmt, va_list ap) {
    fprintf(stderr, "%s: %s", g_prog, kind);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
}

void cli_error(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vmsg("error: ", fmt, ap);
    va_end(ap);
}

void cli_warn(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vmsg("warning: ", fmt, ap);
    va_end(ap);
}

void cli_info(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vmsg("", fmt, ap);
    va_end(ap);
}

int arg_int(const char *option, const char *text, int64_t lo, int64_t hi, int64_t *out) {
    char *end = NULL;
    errno = 0;
    long long v = strtoll(text, &end, 10);
    if (end == text || *end != '\0' || errno == ERANGE) {
        cli_error("%s: '%s' is not an integer", option, text);
        return -1;
    }
    if (v < lo || v > hi) {
        cli_error("%s: %lld is out of range (%lld..%lld)", option, v, (long long)lo, (long long)hi);
        return -1;
    }
    *out = v;
    return 0;
}

static int cmp_int(const void *a, const void *b) {
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

int arg_layers(const char *option, const char *text, int *layers, int max_layers) {
    int n = 0;
    const char *p = text;
    while (1) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        char buf[32];
        if (len == 0 || len >= sizeof buf) {
            cli_error("%s: '%s' is not a comma-separated list of layer numbers", option, text);
            return -1;
        }
        memcpy(buf, p, len);
        buf[len] = '\0';
        int64_t v;
        if (arg_int(option, buf, 0, 1000, &v) != 0) return -1;
        if (n == max_layers) {
            cli_error("%s: at most %d layers", option, max_layers);
            return -1;
        }
        layers[n++] = (int)v;
        if (!comma) break;
        p = comma + 1;
    }
    qsort(layers, (size_t)n, sizeof *layers, cmp_int);
    int m = 0;
    for (int i = 0; i < n; i++)
        if (m == 0 || layers[m - 1] != layers[i]) layers[m++] = layers[i];
    return m;
}

int arg_match(int argc, char **argv, int *i, const char *name, int takes_value, const char **value) {
    const char *a = argv[*i];
    size_t n = strlen(name);
    if (strncmp(a, name, n) != 0) return 0;
    if (a[n] == '\0') {
        if (!takes_value) return 1;
        if (*i + 1 >= argc) {
            cli_error("%s needs a value", name);
            return -1;
        }
        *value = argv[++*i];
        return 1;
    }
    if (a[n] == '=' && takes_value) {
        *value = a + n + 1;
        return 1;
    }
    return 0;
}

char *strfmt(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *s = malloc((size_t)n + 1);
    if (!s) abort();
    va_start(ap, fmt);
    vsnprintf(s, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return s;
}

char *subst_layer(const char *pattern, int layer) {
    char num[16];
    snprintf(num, sizeof num, "%d", layer);
    size_t cap = strlen(pattern) * 4 + 16, len = 0;
    char *s = malloc(cap);
    if (!s) abort();
    for (const char *p = pattern; *p;) {
        if (strncmp(p, "{L}", 3) == 0) {
            len += (size_t)snprintf(s + len, cap - len, "%s", num);
            p += 3;
        } else {
            s[len++] = *p++;
        }
    }
    s[len] = '\0';
    return s;
}

/* ------------------------------------------------------------ tables */

/* Edit distance between two short strings (options), capped at 64 bytes. */
static int distance(const char *a, const char *b) {
    int la = (int)strlen(a), lb = (int)strlen(b);
    if (la > 63 || lb > 63) return 99;
    int d[64][64];
    for (int i = 0; i <= la; i++) d[i][0] = i;
    for (int j = 0; j <= lb; j++) d[0][j] = j;
    for (int i = 1; i <= la; i++)
        for (int j = 1; j <= lb; j++) {
            int sub = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);
            int del = d[i - 1][j] + 1, ins = d[i][j - 1] + 1;
            d[i][j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
        }
    return d[la][lb];
}

static void unknown_option(const char *given, const arg_spec *spec, int n) {
    char name[64];
    snprintf(name, sizeof name, "%.*s", (int)strcspn(given, "="), given);
    const char *best = NULL;
    int best_d = 4;
    for (int i = 0; i < n; i++) {
        int d = distance(name, spec[i].name);
        if (strstr(spec[i].name, name + 2) && strlen(name) > 4) d = d < 2 ? d : 2; /* a prefix or part of a name */
        if (d < best_d) best_d = d, best = spec[i].name;
    }
    if (best) cli_error("unknown option %s; did you mean %s? (see --help)", name, best);
    else cli_error("unknown option %s (see --help)", name);
}

static int take(const arg_spec *s, const char *v) {
    if (s->kind == ARG_STR) {
        *(const char **)s->dst = v;
    } else if (s->kind == ARG_INT) {
        if (arg_int(s->name, v, s->lo, s->hi, (int64_t *)s->dst)) return -1;
    } else {
        int k = 0;
        for (; s->choices[k] && strcmp(s->choices[k], v) != 0; k++) {}
        if (!s->choices[k]) {
            char list[256] = "";
            for (int j = 0; s->choices[j]; j++)
                snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", j ? ", " : "", s->choices[j]);
            cli_error("%s %s: expected one of %s", s->name, v, list);
            return -1;
        }
        *(int *)s->dst = k;
    }
    return 0;
}

int arg_parse(int argc, char **argv, const arg_spec *spec, int n, const char *usage, const char **pos, int max_pos,
              int *n_pos) {
    *n_pos = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            fputs(usage, stdout);
            return 1;
        }
        if (a[0] != '-' || !strcmp(a, "-")) {
            if (*n_pos == max_pos) {
                cli_error("unexpected argument '%s' (see --help)", a);
                return -1;
            }
            pos[(*n_pos)++] = a;
            continue;
        }
        int matched = 0;
        for (int k = 0; k < n && !matched; k++) {
            const char *v = NULL;
            int m = arg_match(argc, argv, &i, spec[k].name, spec[k].kind != ARG_FLAG, &v);
            if (m < 0) return -1;
            if (!m) continue;
            matched = 1;
            if (spec[k].kind == ARG_FLAG) *(int *)spec[k].dst = 1;
            else if (take(&spec[k], v)) return -1;
            if (spec[k].seen) *spec[k].seen = 1;
        }
        if (!matched) {
            unknown_option(a, spec, n);
            return -1;
        }
    }
    return 0;
}
