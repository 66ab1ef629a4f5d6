/* json_write.c — streaming a jansson tree as JSON (see json_write.h). */
#include "json_write.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Numbers are printed and read in the C locale: the CLI never calls
 * setlocale, so printf's decimal point is always '.'. */

int json_format_real(double d, char *buf, size_t size) {
    int n = 0;
    for (int p = 15; p <= 17; p++) { /* %.17g always round-trips */
        n = snprintf(buf, size, "%.*g", p, d);
        if (strtod(buf, NULL) == d) break;
    }
    if (!strpbrk(buf, ".eEnN") && (size_t)n + 2 < size) { /* "1" -> "1.0", "-0" -> "-0.0" */
        memcpy(buf + n, ".0", 3);
        n += 2;
    }
    return n;
}

json_t *json_float32(float x) {
    if (!isfinite(x)) return json_null();
    char buf[32];
    for (int p = 1; p <= 9; p++) { /* 9 significant digits always round-trip a float32 */
        snprintf(buf, sizeof buf, "%.*g", p, (double)x);
        if (strtof(buf, NULL) == x) break;
    }
    return json_real(strtod(buf, NULL));
}

/* Bytes s[0..n) as a JSON string. The tree's strings are valid UTF-8
 * (jansson checks on parse and on json_string), so bytes >= 0x80 pass through. */
static void write_string(FILE *f, const char *s, size_t n) {
    putc('"', f);
    size_t run = 0; /* start of the bytes not yet written */
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != '"' && c != '\\') continue;
        fwrite(s + run, 1, i - run, f);
        run = i + 1;
        switch (c) {
        case '"': fputs("\\\"", f); break;
        case '\\': fputs("\\\\", f); break;
        case '\b': fputs("\\b", f); break;
        case '\f': fputs("\\f", f); break;
        case '\n': fputs("\\n", f); break;
        case '\r': fputs("\\r", f); break;
        case '\t': fputs("\\t", f); break;
        default: fprintf(f, "\\u%04X", c); /* NUL and the other control characters */
        }
    }
    fwrite(s + run, 1, n - run, f);
    putc('"', f);
}

/* jansson's JSON_INDENT layout: a newline and depth * indent spaces; compact: nothing. */
static void newline(FILE *f, int indent, int depth) {
    if (indent <= 0) return;
    putc('\n', f);
    for (int i = 0; i < depth * indent; i++) putc(' ', f);
}

static int write_value(FILE *f, json_t *v, int indent, int depth) {
    char num[40];
    switch (json_typeof(v)) {
    case JSON_OBJECT: {
        void *it = json_object_iter(v);
        if (!it) return fputs("{}", f) == EOF ? -1 : 0;
        putc('{', f);
        newline(f, indent, depth + 1);
        while (it) {
            write_string(f, json_object_iter_key(it), json_object_iter_key_len(it));
            fputs(indent > 0 ? ": " : ":", f);
            if (write_value(f, json_object_iter_value(it), indent, depth + 1)) return -1;
            it = json_object_iter_next(v, it);
            if (it) putc(',', f);
            newline(f, indent, it ? depth + 1 : depth);
        }
        putc('}', f);
        break;
    }
    case JSON_ARRAY: {
        size_t n = json_array_size(v);
        if (n == 0) return fputs("[]", f) == EOF ? -1 : 0;
        putc('[', f);
        newline(f, indent, depth + 1);
        for (size_t i = 0; i < n; i++) {
            if (write_value(f, json_array_get(v, i), indent, depth + 1)) return -1;
            if (i + 1 < n) putc(',', f);
            newline(f, indent, i + 1 < n ? depth + 1 : depth);
        }
        putc(']', f);
        break;
    }
    case JSON_STRING: write_string(f, json_string_value(v), json_string_length(v)); break;
    case JSON_INTEGER: fprintf(f, "%" JSON_INTEGER_FORMAT, json_integer_value(v)); break;
    case JSON_REAL:
        json_format_real(json_real_value(v), num, sizeof num);
        fputs(num, f);
        break;
    case JSON_TRUE: fputs("true", f); break;
    case JSON_FALSE: fputs("false", f); break;
    case JSON_NULL: fputs("null", f); break;
    }
    /* Stop at the first failed write rather than formatting the rest. */
    return ferror(f) ? -1 : 0;
}

int json_write(FILE *f, const json_t *v, int indent) {
    /* jansson's iterators take a non-const object; nothing is modified. */
    return write_value(f, (json_t *)v, indent, 0);
}
