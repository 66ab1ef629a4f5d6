/* test.h — a minimal test harness: each tests/test_*.c is one binary that
 * runs its cases and prints one line per case ("ok", "FAIL", "SKIP"), then
 * exits non-zero if anything failed. tests/run.sh adds the lines up. */
#ifndef SAEX_TEST_H
#define SAEX_TEST_H
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "saex.h"

static int t_failed_case, t_n_pass, t_n_fail, t_n_skip;
static const char *t_case;

/* Each macro evaluates cond exactly once: conditions often are the call under test. */
#define CHECK(cond, ...)                                                                  \
    do {                                                                                  \
        if (!(cond)) {                                                                    \
            fprintf(stderr, "  %s:%d: check failed: %s: ", __FILE__, __LINE__, #cond);    \
            fprintf(stderr, __VA_ARGS__);                                                 \
            fprintf(stderr, "\n");                                                        \
            t_failed_case = 1;                                                            \
        }                                                                                 \
    } while (0)

/* Like CHECK but leaves the case at once (for preconditions of later checks). */
#define REQUIRE(cond, ...)                                                                \
    do {                                                                                  \
        if (!(cond)) {                                                                    \
            fprintf(stderr, "  %s:%d: required: %s: ", __FILE__, __LINE__, #cond);        \
            fprintf(stderr, __VA_ARGS__);                                                 \
            fprintf(stderr, "\n");                                                        \
            t_failed_case = 1;                                                            \
            return;                                                                       \
        }                                                                                 \
    } while (0)

static int t_skip_flag;
#define SKIP(...)                                                                         \
    do {                                                                                  \
        printf("SKIP %s: ", t_case);                                                      \
        printf(__VA_ARGS__);                                                              \
        printf("\n");                                                                     \
        t_skip_flag = 1;                                                                  \
        return;                                                                           \
    } while (0)

static void t_run(const char *name, void (*fn)(void)) {
    t_case = name;
    t_failed_case = 0;
    t_skip_flag = 0;
    fn();
    if (t_skip_flag) {
        t_n_skip++;
    } else if (t_failed_case) {
        printf("FAIL %s\n", name);
        t_n_fail++;
    } else {
        printf("ok   %s\n", name);
        t_n_pass++;
    }
    fflush(stdout);
}
#define RUN(fn) t_run(#fn, fn)
#define TEST_MAIN_END()                                                                   \
    do {                                                                                  \
        return t_n_fail ? 1 : 0;                                                          \
    } while (0)

/* REQUIRE for a saex call: the library's message is printed on failure. */
#define REQUIRE_OK(expr)                                                                  \
    do {                                                                                  \
        saex_status r_ = (expr);                                                          \
        REQUIRE(r_ == SAEX_OK, "%s: %s", #expr, saex_last_error());                       \
    } while (0)
#define REQUIRE_TRUE(expr) REQUIRE((expr), "%s", #expr)

/* A scratch folder per test binary (t_tmp_open in main, t_tmp_close at the
 * end) and paths inside it; t_path keeps its last 8 results valid. */
static char t_dir[64];
static inline int t_tmp_open(const char *tag) {
    snprintf(t_dir, sizeof t_dir, "/tmp/saex_%s_XXXXXX", tag);
    return mkdtemp(t_dir) != NULL;
}
static inline void t_tmp_close(void) {
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", t_dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", t_dir);
}
static inline char *t_path(const char *name) {
    static char buf[8][256];
    static int k;
    char *p = buf[k++ % 8];
    snprintf(p, 256, "%s/%s", t_dir, name);
    return p;
}

/* The folder of committed fixtures: $SAEX_FIXTURES or tests/fixtures. */
static inline const char *t_fixtures(void) {
    const char *e = getenv("SAEX_FIXTURES");
    return e && *e ? e : "tests/fixtures";
}
#endif
