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
