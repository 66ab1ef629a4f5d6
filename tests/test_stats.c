/* test_stats.c — src/analysis/stats.c against SciPy's answers on fixed data
 * (tests/fixtures/stats/reference.json, written by tools/gen_stats_reference.py):
 * Wilcoxon signed-rank and Mann-Whitney U with SciPy's defaults, including
 * which method SciPy's "auto" chose; Benjamini-Hochberg; Cohen's d. */
#include "test.h"

#include <jansson.h>
#include <math.h>

#include "analysis/stats.h"

static json_t *g_ref;

/* Relative closeness; both NaN (JSON null) counts as equal. */
static int close_to(double got, const json_t *want, double rtol) {
    if (json_is_null(want)) return isnan(got);
    double w = json_number_value(want);
    if (isnan(got)) return 0;
    return fabs(got - w) <= rtol * fabs(w) + 1e-300;
}

static double *doubles(const json_t *a, int64_t *n) {
    *n = (int64_t)json_array_size(a);
    double *v = malloc((size_t)(*n ? *n : 1) * sizeof *v);
    for (int64_t i = 0; i < *n; i++) v[i] = json_number_value(json_array_get(a, (size_t)i));
    return v;
}

static int method_listed(const json_t *methods, stat_method m) {
    size_t i;
    json_t *v;
    json_array_foreach(methods, i, v) if (!strcmp(json_string_value(v), stat_method_name(m))) return 1;
    return 0;
}

/* Runs every reference case of one test kind; returns the number checked. */
static int check_tests(const char *test) {
    int checked = 0;
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(g_ref, "cases"), i, c) {
        if (strcmp(json_string_value(json_object_get(c, "test")), test)) continue;
        const char *name = json_string_value(json_object_get(c, "name"));
        int64_t nx, ny;
        double *x = doubles(json_object_get(c, "x"), &nx), *y = doubles(json_object_get(c, "y"), &ny);
        stat_result r;
        double d;
        int rc;
        if (!strcmp(test, "wilcoxon")) {
            rc = stat_wilcoxon(x, y, nx, &r);
            d = stat_cohens_dz(x, y, nx);
        } else {
            rc = stat_mannwhitneyu(x, nx, y, ny, &r);
            d = stat_cohens_d(x, nx, y, ny);
        }
        CHECK(rc == 0, "%s: out of memory", name);
        if (json_object_get(c, "scipy_error")) {
            CHECK(isnan(r.p), "%s: SciPy refuses this input, saex should give NaN, got %g", name, r.p);
        } else {
            CHECK(close_to(r.statistic, json_object_get(c, "statistic"), 1e-12), "%s: statistic %.17g, SciPy %.17g",
                  name, r.statistic, json_number_value(json_object_get(c, "statistic")));
            CHECK(close_to(r.p, json_object_get(c, "pvalue"), 1e-9), "%s: p %.17g, SciPy %.17g", name, r.p,
                  json_number_value(json_object_get(c, "pvalue")));
            CHECK(method_listed(json_object_get(c, "methods"), r.method), "%s: method %s is not what SciPy's auto chose",
                  name, stat_method_name(r.method));
            CHECK(close_to(d, json_object_get(c, "cohens_d"), 1e-10), "%s: Cohen's d %.17g, numpy %.17g", name, d,
                  json_number_value(json_object_get(c, "cohens_d")));
        }
        free(x), free(y);
        checked++;
    }
    return checked;
}

static void wilcoxon_matches_scipy(void) {
    int n = check_tests("wilcoxon");
    CHECK(n >= 20, "only %d wilcoxon cases", n);
}

static void mannwhitneyu_matches_scipy(void) {
    int n = check_tests("mannwhitneyu");
    CHECK(n >= 15, "only %d mannwhitneyu cases", n);
}

static void bh_matches_scipy(void) {
    int checked = 0;
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(g_ref, "cases"), i, c) {
        if (strcmp(json_string_value(json_object_get(c, "test")), "bh")) continue;
        int64_t n, na;
        double *p = doubles(json_object_get(c, "p"), &n), *want = doubles(json_object_get(c, "adjusted"), &na);
        double *adj = malloc((size_t)n * sizeof *adj);
        REQUIRE(stat_bh(p, n, adj) == 0, "out of memory");
        for (int64_t k = 0; k < n; k++)
            CHECK(fabs(adj[k] - want[k]) <= 1e-12 * want[k], "%s[%ld]: %.17g, SciPy %.17g",
                  json_string_value(json_object_get(c, "name")), (long)k, adj[k], want[k]);
        /* In place gives the same. */
        stat_bh(p, n, p);
        CHECK(!memcmp(p, adj, (size_t)n * sizeof *p), "in-place differs");
        free(p), free(want), free(adj);
        checked++;
    }
    CHECK(checked >= 5, "only %d bh cases", checked);
}

/* NaN p-values (undefined tests) stay NaN and do not count in the family:
 * the others are adjusted as if the NaN were not there. */
static void bh_leaves_nan_out(void) {
    double with_nan[] = {0.01, NAN, 0.04, NAN, 0.03}, without[] = {0.01, 0.04, 0.03};
    double a[5], b[3];
    stat_bh(with_nan, 5, a);
    stat_bh(without, 3, b);
    CHECK(isnan(a[1]) && isnan(a[3]), "NaN not kept");
    CHECK(a[0] == b[0] && a[2] == b[1] && a[4] == b[2], "family includes NaN: %g %g %g", a[0], a[2], a[4]);
}

/* Rank-biserial by hand. Paired: d = x - y = {+1, +2, -3, 0}: ranks of |d|
 * among non-zero {1, 2, 3}: R+ = 1 + 2, R- = 3 -> 0. Unpaired: x all above y
 * -> +1, below -> -1, one tie block -> 0. */
static void rank_biserial_by_hand(void) {
    stat_result r;
    double x[] = {2, 3, 0, 5}, y[] = {1, 1, 3, 5};
    stat_wilcoxon(x, y, 4, &r);
    CHECK(r.rank_biserial == 0, "paired %g", r.rank_biserial);
    double x2[] = {2, 3, 4, 5}, y2[] = {1, 1, 1, 1};
    stat_wilcoxon(x2, y2, 4, &r);
    CHECK(r.rank_biserial == 1, "paired all up %g", r.rank_biserial);
    double z[] = {0, 0, 0};
    stat_wilcoxon(z, z, 3, &r);
    CHECK(r.rank_biserial == 0, "paired no difference %g", r.rank_biserial);
    double hi[] = {5, 6, 7}, lo[] = {0, 1};
    stat_mannwhitneyu(hi, 3, lo, 2, &r);
    CHECK(r.rank_biserial == 1 && r.statistic == 6, "unpaired above: rb %g U %g", r.rank_biserial, r.statistic);
    stat_mannwhitneyu(lo, 2, hi, 3, &r);
    CHECK(r.rank_biserial == -1 && r.statistic == 0, "unpaired below: rb %g U %g", r.rank_biserial, r.statistic);
    stat_mannwhitneyu(z, 3, z, 2, &r);
    CHECK(r.rank_biserial == 0 && r.p == 1, "unpaired ties: rb %g p %g", r.rank_biserial, r.p);
}

/* Negative and positive values around a block of zeros rank in value order:
 * the same data shifted away from zero (no zero block) gives the same test. */
static void zero_block_ranks_between_signs(void) {
    double x[] = {-2, 0, 0, 3, 1.5, 0}, y[] = {-1, 0, 2, -3, 0, 4, 0.5};
    double xs[6], ys[7];
    for (int i = 0; i < 6; i++) xs[i] = x[i] + 10;
    for (int i = 0; i < 7; i++) ys[i] = y[i] + 10;
    stat_result a, b;
    stat_mannwhitneyu(x, 6, y, 7, &a);
    stat_mannwhitneyu(xs, 6, ys, 7, &b);
    CHECK(a.statistic == b.statistic && a.p == b.p && a.method == b.method, "U %g/%g p %g/%g", a.statistic,
          b.statistic, a.p, b.p);
}

int main(void) {
    char path[512];
    snprintf(path, sizeof path, "%s/stats/reference.json", t_fixtures());
    json_error_t e;
    g_ref = json_load_file(path, 0, &e);
    if (!g_ref) {
        printf("FAIL load %s: %s\n", path, e.text);
        return 1;
    }
    RUN(wilcoxon_matches_scipy);
    RUN(mannwhitneyu_matches_scipy);
    RUN(bh_matches_scipy);
    RUN(bh_leaves_nan_out);
    RUN(rank_biserial_by_hand);
    RUN(zero_block_ranks_between_signs);
    json_decref(g_ref);
    TEST_MAIN_END();
}
