/* json_write.h — the output's JSON writer: buffered, streaming to a file
 * descriptor or building a string, with the number formats docs/cli.md gives. */
#ifndef SAEX_PIPELINE_JSON_WRITE_H
#define SAEX_PIPELINE_JSON_WRITE_H
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "saex.h"

#define JW_NONFINITE_PREFIX "\0saex-nonfinite:"
#define JW_NONFINITE_PREFIX_LEN 16

typedef struct {
    int fd;           /* -1: memory */
    char *buf;
    size_t n, cap;
    int err;
} jw;

void jw_init_fd(jw *w, int fd);
void jw_init_mem(jw *w);
void jw_raw(jw *w, const char *s, size_t n);
void jw_string(jw *w, const char *s, size_t n);
void jw_int(jw *w, int64_t v);
void jw_newline(jw *w, int indent, int depth);
void jw_value(jw *w, const json_t *v, int indent, int depth);
void jw_features(jw *w, const int32_t *ids, const float *act, int k, int32_t n_active, int with_token, const char *token,
                 int indent, int depth);
int jw_finish(jw *w);
char *jw_take(jw *w, size_t *len);
/* x as the output writes an activation (out: >= 40 bytes); returns the length. */
int jw_f32_text(float x, char *out);
saex_status jw_to_string(const json_t *v, int indent, char **out, size_t *len);

#endif
