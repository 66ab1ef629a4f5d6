/* bench/json_write.c — output JSON assembly rate: positions per second with
 * top-50 features per position, laid out as `saex extract --save-all-tokens`
 * writes them (indent 2, a "token_N" key, the token text), written in fd
 * mode to /dev/null (formatting cost only) and to a file; the writer it
 * replaced (tests/jw_oracle.h) on the same data for comparison.
 *
 *   make build/bench/json_write && build/bench/json_write [positions]   */
#include "jw_oracle.h"
#include "pipeline/json_write.h"

#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#define K 50
#define DEPTH 6 /* results[].variations[].sae_activations.layer_L.activations.token_N */

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static uint64_t rng = 42;
static uint64_t next(void) {
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    return rng;
}

typedef struct {
    int32_t *ids; /* [n][K] */
    float *act;   /* [n][K], 10^U(-2, 2), decreasing per position as top-k is */
    int n;
} data;

static void make_data(data *d, int n) {
    d->n = n;
    d->ids = malloc(sizeof *d->ids * (size_t)n * K);
    d->act = malloc(sizeof *d->act * (size_t)n * K);
    for (size_t i = 0; i < (size_t)n * K; i++) {
        d->ids[i] = (int32_t)(next() % 131072);
        d->act[i] = (float)pow(10.0, -2.0 + 4.0 * (double)(next() >> 11) / 9007199254740992.0);
    }
}

static const char *TOKENS[] = {" the", "<bos>", " quick", "\n", " fox", "ing", " \"quoted\"", "\xe2\x96\x81\xc3\xa9"};

static void key(char *name, size_t cap, int p) {
    snprintf(name, cap, "token_%d", p);
}

static double run_new(const data *d, int fd) {
    double t0 = now();
    jw w;
    jw_init_fd(&w, fd);
    for (int p = 0; p < d->n; p++) {
        char name[32];
        key(name, sizeof name, p);
        if (p) jw_raw(&w, ",", 1);
        jw_newline(&w, 2, DEPTH);
        jw_string(&w, name, strlen(name));
        jw_raw(&w, ": ", 2);
        jw_features(&w, d->ids + (size_t)p * K, d->act + (size_t)p * K, K, 1000 + p % 500, 1, TOKENS[p % 8], 2, DEPTH);
    }
    if (jw_finish(&w)) fprintf(stderr, "write error\n");
    return now() - t0;
}

static double run_old(const data *d, int fd) {
    double t0 = now();
    ojw w;
    ojw_init_fd(&w, fd);
    for (int p = 0; p < d->n; p++) {
        char name[32];
        key(name, sizeof name, p);
        if (p) ojw_raw(&w, ",", 1);
        ojw_newline(&w, 2, DEPTH);
        ojw_string(&w, name, strlen(name));
        ojw_raw(&w, ": ", 2);
        ojw_features(&w, d->ids + (size_t)p * K, d->act + (size_t)p * K, K, 1000 + p % 500, 1, TOKENS[p % 8], 2, DEPTH);
    }
    if (ojw_finish(&w)) fprintf(stderr, "write error\n");
    return now() - t0;
}

static void machine(void) {
    char model[512] = "?", line[512];
    FILE *f = fopen("/proc/cpuinfo", "r");
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, "model name", 10) == 0) {
            char *c = strchr(line, ':');
            snprintf(model, sizeof model, "%s", c ? c + 2 : line);
            model[strcspn(model, "\n")] = '\0';
            break;
        }
    if (f) fclose(f);
    struct utsname u;
    uname(&u);
    printf("machine: %s, %ld cores online, %s %s, %s\n", model, sysconf(_SC_NPROCESSORS_ONLN), u.sysname, u.release,
           __VERSION__);
}

int main(int argc, char **argv) {
    int n = argc > 1 ? atoi(argv[1]) : 200000;
    data d;
    make_data(&d, n);
    machine();
    int null = open("/dev/null", O_WRONLY);
    char path[] = "/tmp/saex_jw_bench_XXXXXX";
    int file = mkstemp(path);
    if (null < 0 || file < 0) return perror("open"), 1;
    run_new(&d, null); /* warm up */
    double best = 1e9, best_file = 1e9;
    for (int r = 0; r < 5; r++) {
        double t = run_new(&d, null);
        best = t < best ? t : best;
        if (ftruncate(file, 0) || lseek(file, 0, SEEK_SET)) return perror("truncate"), 1;
        t = run_new(&d, file);
        best_file = t < best_file ? t : best_file;
    }
    off_t bytes = lseek(file, 0, SEEK_END);
    int n_old = n / 10 > 0 ? n / 10 : 1;
    data small = {d.ids, d.act, n_old};
    double old = run_old(&small, null);
    printf("top-%d features, %d positions, %.0f bytes/position, best of 5\n", K, n, (double)bytes / n);
    printf("new writer -> /dev/null: %.0f positions/s (%.0f MB/s)\n", n / best, bytes / best / 1e6);
    printf("new writer -> file:      %.0f positions/s\n", n / best_file);
    printf("old writer -> /dev/null: %.0f positions/s (%d positions)\n", n_old / old, n_old);
    close(file);
    unlink(path);
    close(null);
    free(d.ids);
    free(d.act);
    return 0;
}
