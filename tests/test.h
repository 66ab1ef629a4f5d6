/* test.h — a minimal test harness: each tests/test_*.c is one binary that
 * runs its cases and prints one line per case ("ok", "FAIL", "SKIP"), then
 * exits non-zero if anything failed. tests/run.sh adds the lines up. */
#ifndef SAEX_TEST_H
#define SAEX_TEST_H
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/* The folder of committed fixtures: $SAEX_FIXTURES or tests/fixtures. */
static inline const char *t_fixtures(void) {
    const char *e = getenv("SAEX_FIXTURES");
    return e && *e ? e : "tests/fixtures";
}
#endif
