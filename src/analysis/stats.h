/* stats.h — the rank tests, effect sizes and multiple-testing correction of
 * `saex compare`, computed as SciPy computes them with its defaults:
 *
 *   stat_wilcoxon      scipy.stats.wilcoxon(x, y)          (zero_method="wilcox",
 *                      correction=False, two-sided, method="auto")
 *   stat_mannwhitneyu  scipy.stats.mannwhitneyu(x, y)      (use_continuity=True,
 *                      two-sided, method="auto")
 *   stat_bh            scipy.stats.false_discovery_control(p)  (method="bh")
 *
 * "auto" picks the method from the data, exactly as SciPy 1.17 does:
 *   wilcoxon:  n > 50 pairs -> asymptotic; else no ties and no zero
 *              differences -> exact; else n <= 13 -> permutation (SciPy's
 *              permutation_test enumerates all 2^n sign flips when 2^n <= 9999,
 *              so it is exact and deterministic; here it is computed as a
 *              subset-sum distribution); else asymptotic.
 *   mannwhitneyu: both samples > 8 or any tie -> asymptotic; else exact.
 * Where SciPy refuses (one pair whose difference is zero: its permutation
 * test needs two observations) the p-value is NaN. Checked against SciPy by
 * tests/test_stats.c on tests/fixtures/stats/reference.json. */
#ifndef SAEX_ANALYSIS_STATS_H
#define SAEX_ANALYSIS_STATS_H
#include <stdint.h>

typedef enum { STAT_EXACT = 0, STAT_PERMUTATION = 1, STAT_ASYMPTOTIC = 2 } stat_method;
const char *stat_method_name(stat_method m); /* "exact", "permutation", "asymptotic" */

typedef struct {
    double statistic;     /* wilcoxon: min(R+, R-); mannwhitneyu: U of x */
    double p;             /* two-sided; NaN where SciPy gives NaN or refuses */
    stat_method method;
    double rank_biserial; /* in [-1, 1], positive when x tends to be larger than y:
                           * paired (R+ - R-) / (R+ + R-) over the non-zero differences
                           * (0 when every difference is zero); unpaired 2 U / (nx ny) - 1 */
} stat_result;

/* Paired test of x[i] against y[i] (differences x - y). Returns 0, or -1 when
 * memory runs out. n may be 0 (p NaN). */
int stat_wilcoxon(const double *x, const double *y, int64_t n, stat_result *r);

/* Unpaired test of x[nx] against y[ny], both >= 1. Returns 0 or -1 (memory). */
int stat_mannwhitneyu(const double *x, int64_t nx, const double *y, int64_t ny, stat_result *r);

/* Benjamini-Hochberg adjusted p-values of p[n] into adj[n] (may be p).
 * NaN entries stay NaN and are left out of the family. Returns 0 or -1. */
int stat_bh(const double *p, int64_t n, double *adj);

/* Cohen's d of x against y: (mean x - mean y) / pooled sd (ddof 1). NaN when
 * nx + ny < 3 or the pooled sd is 0. */
double stat_cohens_d(const double *x, int64_t nx, const double *y, int64_t ny);
/* Paired d_z: mean(x - y) / sd(x - y) (ddof 1); NaN when n < 2 or the sd is 0. */
double stat_cohens_dz(const double *x, const double *y, int64_t n);

/* Upper tail of the standard normal, P(Z >= z). */
double stat_normal_sf(double z);

#endif
