/* json_number.c — see json_number.h.
 *
 * jn_f32 works on v = m * 2^e exactly. It scales v by 10^-t so that the
 * integer part Wi of W = v * 10^-t has 9 digits, keeping W exactly as the
 * fraction N / Dn (Dn a power of two, or 10^t for large v). For p = 1..9 the
 * p-digit rounding of W is Wi / 10^(9-p) rounded half-even on the exact
 * remainder, and it reads back as v iff its distance to W is within the
 * float32 rounding interval [v - dlo, v + dhi] (ends included iff m is even,
 * as strtof rounds ties to even). All of it in units of 1/Dn: no error. */
#include "json_number.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef unsigned __int128 u128;

static const uint64_t P10[10] = {1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000, 1000000000};

/* 5^u as {high 64 bits, low 64 bits}, u = 0..43 (5^43 * 2^26 < 2^128). */
static const uint64_t P5[44][2] = {
    {0x0000000000000000ull, 0x0000000000000001ull}, /* 5^0 */
    {0x0000000000000000ull, 0x0000000000000005ull}, /* 5^1 */
    {0x0000000000000000ull, 0x0000000000000019ull}, /* 5^2 */
    {0x0000000000000000ull, 0x000000000000007dull}, /* 5^3 */
    {0x0000000000000000ull, 0x0000000000000271ull}, /* 5^4 */
    {0x0000000000000000ull, 0x0000000000000c35ull}, /* 5^5 */
    {0x0000000000000000ull, 0x0000000000003d09ull}, /* 5^6 */
    {0x0000000000000000ull, 0x000000000001312dull}, /* 5^7 */
    {0x0000000000000000ull, 0x000000000005f5e1ull}, /* 5^8 */
    {0x0000000000000000ull, 0x00000000001dcd65ull}, /* 5^9 */
    {0x0000000000000000ull, 0x00000000009502f9ull}, /* 5^10 */
    {0x0000000000000000ull, 0x0000000002e90eddull}, /* 5^11 */
    {0x0000000000000000ull, 0x000000000e8d4a51ull}, /* 5^12 */
    {0x0000000000000000ull, 0x0000000048c27395ull}, /* 5^13 */
    {0x0000000000000000ull, 0x000000016bcc41e9ull}, /* 5^14 */
    {0x0000000000000000ull, 0x000000071afd498dull}, /* 5^15 */
    {0x0000000000000000ull, 0x0000002386f26fc1ull}, /* 5^16 */
    {0x0000000000000000ull, 0x000000b1a2bc2ec5ull}, /* 5^17 */
    {0x0000000000000000ull, 0x000003782dace9d9ull}, /* 5^18 */
    {0x0000000000000000ull, 0x00001158e460913dull}, /* 5^19 */
    {0x0000000000000000ull, 0x000056bc75e2d631ull}, /* 5^20 */
    {0x0000000000000000ull, 0x0001b1ae4d6e2ef5ull}, /* 5^21 */
    {0x0000000000000000ull, 0x000878678326eac9ull}, /* 5^22 */
    {0x0000000000000000ull, 0x002a5a058fc295edull}, /* 5^23 */
    {0x0000000000000000ull, 0x00d3c21bcecceda1ull}, /* 5^24 */
    {0x0000000000000000ull, 0x0422ca8b0a00a425ull}, /* 5^25 */
    {0x0000000000000000ull, 0x14adf4b7320334b9ull}, /* 5^26 */
    {0x0000000000000000ull, 0x6765c793fa10079dull}, /* 5^27 */
    {0x0000000000000002ull, 0x04fce5e3e2502611ull}, /* 5^28 */
    {0x000000000000000aull, 0x18f07d736b90be55ull}, /* 5^29 */
    {0x0000000000000032ull, 0x7cb2734119d3b7a9ull}, /* 5^30 */
    {0x00000000000000fcull, 0x6f7c40458122964dull}, /* 5^31 */
    {0x00000000000004eeull, 0x2d6d415b85acef81ull}, /* 5^32 */
    {0x00000000000018a6ull, 0xe32246c99c60ad85ull}, /* 5^33 */
    {0x0000000000007b42ull, 0x6fab61f00de36399ull}, /* 5^34 */
    {0x000000000002684cull, 0x2e58e9b04570f1fdull}, /* 5^35 */
    {0x00000000000c097cull, 0xe7bc90715b34b9f1ull}, /* 5^36 */
    {0x00000000003c2f70ull, 0x86aed236c807a1b5ull}, /* 5^37 */
    {0x00000000012ced32ull, 0xa16a1b11e8262889ull}, /* 5^38 */
    {0x0000000005e0a1fdull, 0x2712875988becaadull}, /* 5^39 */
    {0x000000001d6329f1ull, 0xc35ca4bfabb9f561ull}, /* 5^40 */
    {0x0000000092efd1b8ull, 0xd0cf37be5aa1cae5ull}, /* 5^41 */
    {0x00000002deaf189cull, 0x140c16b7c528f679ull}, /* 5^42 */
    {0x0000000e596b7b0cull, 0x643c7196d9ccd05dull}, /* 5^43 */
};

static u128 pow5(int u) {
    return (u128)P5[u][0] << 64 | P5[u][1];
}

/* ------------------------------------------------------------ layout */

static const char DIG2[200] = "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
                              "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
                              "8081828384858687888990919293949596979899";

/* The decimal digits of d (no leading zeros) into out; returns their count. */
static int utoa(char *out, uint64_t d) {
    int n = 1;
    while (n < 10 && d >= P10[n]) n++;
    char *p = out + n;
    while (d >= 100) {
        uint64_t q = d / 100;
        p -= 2, memcpy(p, DIG2 + 2 * (d - q * 100), 2);
        d = q;
    }
    if (d >= 10) memcpy(p - 2, DIG2 + 2 * d, 2);
    else p[-1] = (char)('0' + d);
    return n;
}

/* digits (nd <= 9 of them, last one nonzero; dig readable for 16 bytes)
 * times 10^(x - nd + 1), as %.15g writes it, then ".0" if it has neither
 * '.' nor an exponent. Fixed-size copies: out has JN_MAX bytes. */
static int layout(char *out, const char *dig, int nd, int x) {
    char *p = out;
    if (x < -4 || x >= 15) {
        *p++ = dig[0];
        if (nd > 1) {
            *p++ = '.';
            memcpy(p, dig + 1, 8), p += nd - 1;
        }
        *p++ = 'e';
        *p++ = x < 0 ? '-' : '+';
        int a = x < 0 ? -x : x;
        if (a >= 100) *p++ = (char)('0' + a / 100), a %= 100;
        memcpy(p, DIG2 + 2 * a, 2), p += 2;
    } else if (x >= nd - 1) { /* an integer: digits, zeros, ".0" */
        memcpy(p, dig, 16), p += nd;
        memcpy(p, "0000000000000000", 16), p += x + 1 - nd;
        memcpy(p, ".0", 2), p += 2;
    } else if (x >= 0) { /* x < nd - 1 <= 8 */
        memcpy(p, dig, 16);
        p[x + 1] = '.';
        memcpy(p + x + 2, dig + x + 1, 8), p += nd + 1;
    } else { /* -4 <= x < 0 */
        memcpy(p, "0.000000", 8), p += 1 - x;
        memcpy(p, dig, 16), p += nd;
    }
    return (int)(p - out);
}

/* ------------------------------------------------------------ printf route */

int jn_f64(char *out, double d) {
    char buf[JN_MAX];
    int n = 0;
    for (int p = 15; p <= 17; p++) {
        n = snprintf(buf, sizeof buf, "%.*g", p, d);
        if (strtod(buf, NULL) == d) break;
    }
    if (!strpbrk(buf, ".eEnN")) memcpy(buf + n, ".0", 3), n += 2;
    memcpy(out, buf, (size_t)n);
    return n;
}

int jn_f32_slow(char *out, float x) {
    if (!isfinite(x)) {
        memcpy(out, "null", 4);
        return 4;
    }
    char buf[32];
    for (int p = 1; p <= 9; p++) {
        snprintf(buf, sizeof buf, "%.*g", p, (double)x);
        if (strtof(buf, NULL) == x) break;
    }
    return jn_f64(out, strtod(buf, NULL));
}

/* ------------------------------------------------------------ exact route */

typedef struct {
    uint64_t wi;       /* integer part of W */
    u128 frac, dn;     /* W = wi + frac / dn */
    u128 dlo, dhi;     /* the rounding interval's half-widths, in units of 1/dn */
    uint64_t dlo_w, dhi_w; /* their integer parts in units of W */
} scaled;

/* W = v * 10^-t for v = m * 2^e; 0 when outside the exact range. */
static inline int scale(scaled *s, uint32_t m, int e, int asym, int t) {
    if (t <= 0) {
        int u = -t, g = e + u - 2; /* v * 10^u = 4m * 5^u * 2^g */
        if (u > 43) return 0;
        u128 f = pow5(u), n = (u128)(4 * (uint64_t)m) * f;
        s->dhi = 2 * f, s->dlo = asym ? f : 2 * f;
        if (g >= 0) {
            s->wi = (uint64_t)(n << g), s->frac = 0, s->dn = 1;
            s->dhi <<= g, s->dlo <<= g;
            s->dlo_w = (uint64_t)s->dlo, s->dhi_w = (uint64_t)s->dhi;
            return 1;
        }
        if (-g > 96) return 0; /* keeps 10^9 * dn below 2^128 */
        s->dn = (u128)1 << -g;
        s->wi = (uint64_t)(n >> -g), s->frac = n & (s->dn - 1);
        s->dlo_w = (uint64_t)(s->dlo >> -g), s->dhi_w = (uint64_t)(s->dhi >> -g);
        return 1;
    }
    if (t > 29 || e < 2) return 0; /* v >= 1e9 has e >= 6; t <= 29 keeps 10^9 * dn below 2^128 */
    u128 n = (u128)m << e;
    s->dn = pow5(t) << t;
    s->wi = (uint64_t)(n / s->dn), s->frac = n % s->dn;
    s->dhi = (u128)1 << (e - 1), s->dlo = asym ? s->dhi / 2 : s->dhi;
    s->dlo_w = (uint64_t)(s->dlo / s->dn), s->dhi_w = (uint64_t)(s->dhi / s->dn);
    return 1;
}

/* p-digit rounding of W; returns 1 and sets *d when it reads back as v. */
static inline int try_digits(const scaled *s, int p, int even, uint64_t *d) {
    uint32_t S = (uint32_t)P10[9 - p], q = (uint32_t)s->wi / S, rr = (uint32_t)s->wi - q * S; /* wi < 2e9 */
    int up;
    if (2 * rr > S) up = 1;
    else if (2 * rr + 2 <= S) up = 0;
    else { /* within one unit of the half: decide on the exact remainder */
        u128 rem2 = 2 * ((u128)rr * s->dn + s->frac), half = (u128)S * s->dn;
        up = rem2 > half || (rem2 == half && (q & 1));
    }
    *d = q + (uint64_t)up;
    if (!up) {
        if (rr > s->dlo_w) return 0; /* distance >= rr > dlo */
        u128 dist = (u128)rr * s->dn + s->frac;
        return dist < s->dlo || (dist == s->dlo && even);
    }
    if (S - rr - 1 > s->dhi_w) return 0; /* distance > S - rr - 1 >= dhi */
    u128 dist = (u128)(S - rr) * s->dn - s->frac;
    return dist < s->dhi || (dist == s->dhi && even);
}

/* No p-digit decimal below this p can read back: the interval lies inside
 * (a, b] and no multiple of 10^(9-p) does for smaller p. Saves the trials
 * of short lengths that cannot work (most floats need 7 to 9 digits). */
static inline int first_digits(const scaled *s) {
    uint64_t a = s->wi - s->dlo_w - 2, b = s->wi + s->dhi_w + 1;
    int j = 0;
    while (j < 8 && a / 10 < b / 10) a /= 10, b /= 10, j++;
    return 9 - j;
}

int jn_f32(char *out, float x) {
    uint32_t bits;
    memcpy(&bits, &x, 4);
    int neg = (int)(bits >> 31), be = (int)(bits >> 23 & 0xff);
    uint32_t fr = bits & 0x7fffff;
    if (be == 0xff) {
        memcpy(out, "null", 4);
        return 4;
    }
    char *o = out;
    if (neg) *o++ = '-';
    if (be == 0 && fr == 0) {
        memcpy(o, "0.0", 3);
        return (int)(o - out) + 3;
    }
    uint32_t m = be ? fr | 1u << 23 : fr;
    int e = be ? be - 150 : -149;
    int asym = fr == 0 && be > 1; /* a power of two: the float below is half as far */
    int b = e + 31 - __builtin_clz(m); /* 2^b <= v < 2^(b+1) */
    int k = (int)(((int64_t)b * 1292913986) >> 32); /* floor(b log10 2): 10^k <= v < 2 * 10^(k+1) */
    scaled s;
    int t = k - 8;
    if (!scale(&s, m, e, asym, t)) return (int)(o - out) + jn_f32_slow(o, neg ? -x : x);
    if (s.wi >= P10[9]) {
        t++;
        if (!scale(&s, m, e, asym, t)) return (int)(o - out) + jn_f32_slow(o, neg ? -x : x);
    }
    uint64_t d = s.wi;
    int p = first_digits(&s);
    while (p < 9 && !try_digits(&s, p, !(m & 1), &d)) p++;
    if (p == 9) try_digits(&s, 9, !(m & 1), &d);
    int x10 = t + 8 + (d >= P10[p]); /* a round up to 10^p adds a digit */
    while (d % 10 == 0) d /= 10;
    char dig[32] = {0};
    int nd = utoa(dig, d);
    return (int)(o - out) + layout(o, dig, nd, x10);
}
