/* stats.c — Wilcoxon signed-rank, Mann-Whitney U, Benjamini-Hochberg and
 * Cohen's d, as SciPy computes them with its defaults (see stats.h).
 *
 * Feature activations are mostly zeros (a feature absent from a sample's
 * top-k counts as 0), so ranking sorts only the non-zero values and places
 * the zeros as one tie block: O(n + nnz log nnz) per feature. Exact null
 * distributions are counted with positive additions only (subset sums),
 * which keeps every count exact or within a few ulps. */
#include "analysis/stats.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

const char *stat_method_name(stat_method m) {
    switch (m) {
    case STAT_EXACT: return "exact";
    case STAT_PERMUTATION: return "permutation";
    case STAT_ASYMPTOTIC: return "asymptotic";
    }
    return "?";
}

double stat_normal_sf(double z) { return 0.5 * erfc(z / sqrt(2.0)); }

/* ------------------------------------------------------------------ ranks */

typedef struct {
    double v;
    int tag; /* wilcoxon: difference > 0; mann-whitney: value from x */
} item;

static int cmp_item(const void *a, const void *b) {
    double x = ((const item *)a)->v, y = ((const item *)b)->v;
    return (x > y) - (x < y);
}

typedef struct {
    double tie_term; /* sum over tie groups of t^3 - t, the zero block included */
    int ties;        /* some group has t > 1 */
    int64_t n_neg;   /* items below zero (they rank before the zero block) */
} rank_info;

/* Sorts a[n] (no zeros among them) and writes each one's average rank,
 * 1-based, into rank[] (aligned with the sorted a), as if n_zero zeros stood
 * between the negative and the positive values. */
static rank_info rank_sorted(item *a, int64_t n, int64_t n_zero, double *rank) {
    qsort(a, (size_t)n, sizeof *a, cmp_item);
    rank_info ri = {0, 0, 0};
    while (ri.n_neg < n && a[ri.n_neg].v < 0) ri.n_neg++;
    if (n_zero > 1) {
        double t = (double)n_zero;
        ri.tie_term += t * t * t - t;
        ri.ties = 1;
    }
    for (int64_t i = 0; i < n;) {
        int64_t j = i + 1;
        while (j < n && a[j].v == a[i].v) j++;
        double before = (double)(i + (i >= ri.n_neg ? n_zero : 0));
        double t = (double)(j - i);
        for (int64_t k = i; k < j; k++) rank[k] = before + (t + 1) / 2;
        if (j - i > 1) {
            ri.tie_term += t * t * t - t;
            ri.ties = 1;
        }
        i = j;
    }
    return ri;
}

/* ------------------------------------------------------- null distributions */

/* counts[s] = number of subsets of w[n] (positive integers) whose sum is s,
 * for s = 0 .. sum(w); returns counts (caller frees) and *total_w = sum(w). */
static double *subset_sum_counts(const int64_t *w, int64_t n, int64_t *total_w) {
    int64_t total = 0;
    for (int64_t i = 0; i < n; i++) total += w[i];
    double *c = calloc((size_t)total + 1, sizeof *c);
    if (!c) return NULL;
    c[0] = 1;
    int64_t reach = 0;
    for (int64_t i = 0; i < n; i++) {
        reach += w[i];
        for (int64_t s = reach; s >= w[i]; s--) c[s] += c[s - w[i]];
    }
    *total_w = total;
    return c;
}

/* Two-sided p of the statistic `obs` (an integer here) under the uniform
 * distribution over the 2^n subsets of w: 2 min(P(S <= obs), P(S >= obs)),
 * at most 1. */
static int subset_sum_p(const int64_t *w, int64_t n, int64_t obs, double *p) {
    int64_t total;
    double *c = subset_sum_counts(w, n, &total);
    if (!c) return -1;
    double le = 0, ge = 0, all = ldexp(1.0, (int)n);
    for (int64_t s = 0; s <= total; s++) {
        if (s <= obs) le += c[s];
        if (s >= obs) ge += c[s];
    }
    free(c);
    *p = fmin(1.0, 2 * fmin(le, ge) / all);
    return 0;
}

/* P(U <= k) for the Mann-Whitney U of samples of sizes m and n without ties.
 * c(i, j, u) = c(i-1, j, u-j) + c(i, j-1, u): the largest of the i + j
 * values is either from the first sample (beating all j others) or not.
 * Kept for u <= k only, rows i = 0..m, sweeping j = 1..n. */
static int mwu_cdf(int64_t m, int64_t n, int64_t k, double *p) {
    if (m > n) {
        int64_t t = m;
        m = n;
        n = t;
    }
    double *c = calloc((size_t)((m + 1) * (k + 1)), sizeof *c); /* [m+1][k+1] */
    if (!c) return -1;
    for (int64_t i = 0; i <= m; i++) c[i * (k + 1)] = 1; /* j = 0: U is 0 */
    for (int64_t j = 1; j <= n; j++)
        for (int64_t i = 1; i <= m; i++)
            for (int64_t u = k; u >= j; u--) c[i * (k + 1) + u] += c[(i - 1) * (k + 1) + u - j];
    double le = 0, total = 1;
    for (int64_t u = 0; u <= k; u++) le += c[m * (k + 1) + u];
    for (int64_t i = 1; i <= m; i++) total = total * (double)(n + i) / (double)i;
    free(c);
    *p = le / total;
    return 0;
}

/* ----------------------------------------------------------------- Wilcoxon */

int stat_wilcoxon(const double *x, const double *y, int64_t n, stat_result *r) {
    r->statistic = r->p = NAN;
    r->rank_biserial = 0;
    r->method = n > 50 ? STAT_ASYMPTOTIC : STAT_EXACT;
    if (n == 0) return 0;
    item *a = malloc((size_t)n * sizeof *a);
    double *rank = malloc((size_t)n * sizeof *rank);
    int64_t *w = malloc((size_t)n * sizeof *w);
    if (!a || !rank || !w) {
        free(a), free(rank), free(w);
        return -1;
    }
    int64_t count = 0; /* non-zero differences: zero_method "wilcox" drops the zeros */
    for (int64_t i = 0; i < n; i++) {
        double d = x[i] - y[i];
        if (d != 0) a[count++] = (item){fabs(d), d > 0};
    }
    rank_info ri = rank_sorted(a, count, 0, rank);
    double r_plus = 0, r_minus = 0;
    for (int64_t i = 0; i < count; i++) *(a[i].tag ? &r_plus : &r_minus) += rank[i];
    r->statistic = fmin(r_plus, r_minus);
    if (count > 0) r->rank_biserial = (r_plus - r_minus) / (r_plus + r_minus);

    int64_t n_zero = n - count;
    if (n > 50) r->method = STAT_ASYMPTOTIC;
    else if (!ri.ties && n_zero == 0) r->method = STAT_EXACT;
    else if (n <= 13) r->method = STAT_PERMUTATION;
    else r->method = STAT_ASYMPTOTIC;

    int rc = 0;
    if (r->method == STAT_ASYMPTOTIC) {
        double c = (double)count;
        double mn = c * (c + 1) * 0.25;
        double se = sqrt((c * (c + 1) * (2 * c + 1) - ri.tie_term / 2) / 24);
        if (se > 0) r->p = 2 * stat_normal_sf(fabs((r_plus - mn) / se)); /* count 0: NaN, as SciPy */
    } else if (r->method == STAT_EXACT) {
        for (int64_t i = 0; i < count; i++) w[i] = i + 1;
        rc = subset_sum_p(w, count, (int64_t)r_plus, &r->p);
    } else if (n >= 2) {
        /* Average ranks are multiples of 1/2: doubled, they are integers and
         * the sign-flip distribution is a subset-sum count. Zero differences
         * flip to themselves and only scale every count by the same 2^zeros. */
        for (int64_t i = 0; i < count; i++) w[i] = (int64_t)(2 * rank[i]);
        rc = subset_sum_p(w, count, (int64_t)(2 * r_plus), &r->p);
    }
    free(a), free(rank), free(w);
    return rc;
}

/* ------------------------------------------------------------- Mann-Whitney */

int stat_mannwhitneyu(const double *x, int64_t nx, const double *y, int64_t ny, stat_result *r) {
    r->statistic = r->p = NAN;
    r->rank_biserial = 0;
    r->method = STAT_ASYMPTOTIC;
    int64_t n = nx + ny;
    item *a = malloc((size_t)(n ? n : 1) * sizeof *a);
    double *rank = malloc((size_t)(n ? n : 1) * sizeof *rank);
    if (!a || !rank) {
        free(a), free(rank);
        return -1;
    }
    int64_t nn = 0, zx = 0, zy = 0;
    for (int64_t i = 0; i < nx; i++)
        if (x[i] != 0) a[nn++] = (item){x[i], 1};
        else zx++;
    for (int64_t i = 0; i < ny; i++)
        if (y[i] != 0) a[nn++] = (item){y[i], 0};
        else zy++;
    rank_info ri = rank_sorted(a, nn, zx + zy, rank);
    double zero_rank = (double)ri.n_neg + ((double)(zx + zy) + 1) / 2;
    double r1 = (double)zx * zero_rank;
    for (int64_t i = 0; i < nn; i++)
        if (a[i].tag) r1 += rank[i];
    double fx = (double)nx, fy = (double)ny;
    double u1 = r1 - fx * (fx + 1) / 2, u2 = fx * fy - u1, u = fmax(u1, u2);
    r->statistic = u1;
    r->rank_biserial = 2 * u1 / (fx * fy) - 1;
    r->method = (nx > 8 && ny > 8) || ri.ties ? STAT_ASYMPTOTIC : STAT_EXACT;
    int rc = 0;
    if (r->method == STAT_EXACT) {
        double le = NAN;
        rc = mwu_cdf(nx, ny, (int64_t)(fx * fy - u), &le); /* P(U >= u) = P(U <= nx ny - u) */
        r->p = fmin(1.0, 2 * le);
    } else {
        double f = (double)n;
        double s2 = fx * fy / 12 * ((f + 1) - ri.tie_term / (f * (f - 1)));
        /* Every value tied: s = 0 and u = mu, SciPy's -inf z gives p = 1. */
        r->p = s2 > 0 ? fmin(1.0, 2 * stat_normal_sf((u - fx * fy / 2 - 0.5) / sqrt(s2))) : 1.0;
    }
    free(a), free(rank);
    return rc;
}

/* ------------------------------------------------------ Benjamini-Hochberg */

typedef struct {
    double p;
    int64_t i;
} indexed_p;

static int cmp_indexed_p(const void *a, const void *b) {
    const indexed_p *x = a, *y = b;
    if (x->p != y->p) return x->p < y->p ? -1 : 1;
    return (x->i > y->i) - (x->i < y->i);
}

int stat_bh(const double *p, int64_t n, double *adj) {
    indexed_p *s = malloc((size_t)(n ? n : 1) * sizeof *s);
    if (!s) return -1;
    int64_t m = 0;
    for (int64_t i = 0; i < n; i++)
        if (!isnan(p[i])) s[m++] = (indexed_p){p[i], i};
    for (int64_t i = 0; i < n; i++)
        if (isnan(p[i])) adj[i] = NAN;
    qsort(s, (size_t)m, sizeof *s, cmp_indexed_p);
    /* As SciPy: p * (m / rank), then the running minimum from the largest p down. */
    for (int64_t k = 0; k < m; k++) s[k].p *= (double)m / (double)(k + 1);
    for (int64_t k = m - 2; k >= 0; k--) s[k].p = fmin(s[k].p, s[k + 1].p);
    for (int64_t k = 0; k < m; k++) adj[s[k].i] = fmin(1.0, fmax(0.0, s[k].p));
    free(s);
    return 0;
}

/* -------------------------------------------------------------- Cohen's d */

static void mean_var(const double *x, int64_t n, double *mean, double *ss) {
    double m = 0, s = 0;
    for (int64_t i = 0; i < n; i++) m += x[i];
    m /= (double)n;
    for (int64_t i = 0; i < n; i++) s += (x[i] - m) * (x[i] - m);
    *mean = m, *ss = s;
}

double stat_cohens_d(const double *x, int64_t nx, const double *y, int64_t ny) {
    if (nx < 1 || ny < 1 || nx + ny < 3) return NAN;
    double mx, sx, my, sy;
    mean_var(x, nx, &mx, &sx);
    mean_var(y, ny, &my, &sy);
    double sd = sqrt((sx + sy) / (double)(nx + ny - 2));
    return sd > 0 ? (mx - my) / sd : NAN;
}

double stat_cohens_dz(const double *x, const double *y, int64_t n) {
    if (n < 2) return NAN;
    double m = 0, s = 0;
    for (int64_t i = 0; i < n; i++) m += x[i] - y[i];
    m /= (double)n;
    for (int64_t i = 0; i < n; i++) s += (x[i] - y[i] - m) * (x[i] - y[i] - m);
    double sd = sqrt(s / (double)(n - 1));
    return sd > 0 ? m / sd : NAN;
}
