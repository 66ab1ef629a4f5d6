/* tokenizer_bench.c — encodes a corpus file (one text per line) with saex on
 * one core and prints the throughput. Usage: tokenizer_bench TOKENIZER CORPUS [REPEATS] */
#include "saex.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: %s TOKENIZER CORPUS [REPEATS]\n", argv[0]);
        return 2;
    }
    int repeats = argc > 3 ? atoi(argv[3]) : 3;
    double t0 = now();
    saex_tokenizer *tok;
    if (saex_tokenizer_open(argv[1], &tok) != SAEX_OK) {
        fprintf(stderr, "%s\n", saex_last_error());
        return 1;
    }
    double t_load = now() - t0;
    FILE *f = fopen(argv[2], "rb");
    if (!f) {
        perror(argv[2]);
        return 1;
    }
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)size + 1);
    if (!buf || fread(buf, 1, (size_t)size, f) != (size_t)size) return 1;
    fclose(f);
    double best = 1e30;
    size_t n_tokens = 0;
    for (int r = 0; r < repeats; r++) {
        n_tokens = 0;
        double t = now();
        for (char *p = buf, *end = buf + size; p < end;) { /* one line = one text, as the HF side does */
            char *nl = memchr(p, '\n', (size_t)(end - p));
            size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
            int32_t *ids;
            size_t n;
            if (saex_tokenize(tok, p, len, 1, &ids, &n) != SAEX_OK) {
                fprintf(stderr, "%s\n", saex_last_error());
                return 1;
            }
            n_tokens += n;
            saex_free(ids);
            p += len + 1;
        }
        t = now() - t;
        if (t < best) best = t;
    }
    printf("saex: load %.3f s, %.2f MB in %.3f s (best of %d): %.2f MB/s, %zu tokens\n", t_load, size / 1e6, best, repeats,
           size / 1e6 / best, n_tokens);
    free(buf);
    saex_tokenizer_close(tok);
    return 0;
}
