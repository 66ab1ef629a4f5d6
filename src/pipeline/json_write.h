/* json_write.h — the streaming JSON writer of the output document.
 *
 * Bytes go to a buffer that is flushed to the fd in large blocks (fd mode,
 * memory bounded by JW_BLOCK plus the largest single string) or grows to hold
 * the whole text (memory mode: jw_take). The layout is the one Python's
 * json.dump(indent=2) gives, with the caller placing commas and newlines;
 * strings are UTF-8, only '"', '\' and control characters escaped. The first
 * write error (errno) is kept, later writes are dropped, jw_finish reports it. */
#ifndef SAEX_PIPELINE_JSON_WRITE_H
#define SAEX_PIPELINE_JSON_WRITE_H
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "saex.h"

/* A string value starting with these 16 bytes (NUL included) is written as
 * the bare token that follows: doc.c carries NaN / Infinity / -Infinity of
 * the input this way. */
#define JW_NONFINITE_PREFIX "\0saex-nonfinite:"
#define JW_NONFINITE_PREFIX_LEN 16

#define JW_BLOCK ((size_t)1 << 20) /* fd mode: bytes buffered before a write(2) */

typedef struct {
    int fd;      /* -1: memory */
    char *buf;   /* [cap] bytes, the first n pending */
    size_t n, cap;
    int err;     /* first error (errno value), 0 if none */
} jw;

void jw_init_fd(jw *w, int fd);
void jw_init_mem(jw *w);
void jw_raw(jw *w, const char *s, size_t n);
void jw_string(jw *w, const char *s, size_t n);
void jw_int(jw *w, int64_t v);
void jw_real(jw *w, double v);  /* shortest of %.15g, %.16g, %.17g that reads back; ".0" added to integers */
void jw_float(jw *w, float v);  /* an activation: shortest decimal that reads back as the float32; null if not finite */
void jw_newline(jw *w, int indent, int depth);
void jw_value(jw *w, const json_t *v, int indent, int depth);
void jw_features(jw *w, const int32_t *ids, const float *act, int k, int32_t n_active, int with_token, const char *token,
                 int indent, int depth);
int jw_finish(jw *w);
char *jw_take(jw *w, size_t *len);
saex_status jw_to_string(const json_t *v, int indent, char **out, size_t *len);

#endif
