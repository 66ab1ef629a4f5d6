/* text.c — heap strings, a growable text buffer and small formatting
 * helpers for the messages and URLs of src/hub. */
#include "hub.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

char *hub_fmt(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    char *s = NULL;
    int n = vasprintf(&s, fmt, ap);
    va_end(ap);
    return n < 0 ? NULL : s;
}

void hub_buf_add(hub_buf *b, const char *fmt, ...) {
    if (b->oom) return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    if (b->len + (size_t)n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + (size_t)n + 1) cap *= 2;
        char *s = realloc(b->s, cap);
        if (!s) {
            b->oom = 1;
            return;
        }
        b->s = s;
        b->cap = cap;
    }
    va_start(ap, fmt);
    vsnprintf(b->s + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

char *hub_buf_take(hub_buf *b) {
    char *s = b->oom ? NULL : b->s ? b->s : calloc(1, 1);
    if (b->oom) free(b->s);
    memset(b, 0, sizeof *b);
    return s;
}

void hub_buf_free(hub_buf *b) {
    free(b->s);
    memset(b, 0, sizeof *b);
}

const char *hub_env(const char *name) {
    const char *v = getenv(name);
    return v && *v ? v : NULL;
}

int hub_env_true(const char *name) {
    const char *v = hub_env(name);
    if (!v) return 0;
    return !strcasecmp(v, "1") || !strcasecmp(v, "on") || !strcasecmp(v, "yes") || !strcasecmp(v, "true");
}

void hub_human_bytes(int64_t n, char *buf, size_t size) {
    static const char *units[] = {"B", "KB", "MB", "GB", "TB", "PB"};
    double v = (double)n;
    int u = 0;
    while (v >= 1000.0 && u < 5) v /= 1000.0, u++;
    if (u == 0) snprintf(buf, size, "%lld B", (long long)n);
    else snprintf(buf, size, "%.1f %s", v, units[u]);
}

char *hub_read_trimmed(const char *path) {
    FILE *f = path ? fopen(path, "rb") : NULL;
    if (!f) return NULL;
    char buf[1024];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    char *s = buf;
    while (isspace((unsigned char)*s)) s++;
    n = strlen(s);
    while (n > 0 && isspace((unsigned char)s[n - 1])) s[--n] = '\0';
    return n ? hub_fmt("%s", s) : NULL;
}
