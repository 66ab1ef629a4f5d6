/* cpu_math.h — exp and the functions built on it, written so that loops
 * calling them vectorise (glibc's expf / tanhf are scalar calls that block
 * vectorisation, and GeGLU alone makes d_ff calls per token).
 *
 * vexp: Cody-Waite range reduction x = n ln2 + r, |r| <= ln2 / 2, then a
 * degree-6 polynomial for e^r; relative error ~2e-7 over [-87, 88].
 *
 * Always inlined: the kernels that use them are compiled once per
 * instruction set (cpu_kernels.h), and an out-of-line copy would be one
 * function with two bodies of different ISAs. */
#ifndef SAEX_CPU_MATH_H
#define SAEX_CPU_MATH_H
#include <stdint.h>
#include <string.h>

#define CPU_INLINE static inline __attribute__((always_inline))

CPU_INLINE float vexp(float x) {
    x = x < -87.0f ? -87.0f : x > 88.0f ? 88.0f : x;
    float n = __builtin_rintf(x * 1.44269504088896341f);
    float r = x - n * 0.693145751953125f; /* ln2, high part: exact products */
    r -= n * 1.428606765330187e-06f;      /* ln2, low part */
    float p = 1.0f / 720.0f;
    p = p * r + 1.0f / 120.0f;
    p = p * r + 1.0f / 24.0f;
    p = p * r + 1.0f / 6.0f;
    p = p * r + 0.5f;
    p = p * r + 1.0f;
    p = p * r + 1.0f;
    int32_t bits = ((int32_t)n + 127) << 23;
    float scale;
    memcpy(&scale, &bits, sizeof scale);
    return p * scale;
}

/* tanh(y) = 2 / (1 + e^(-2y)) - 1: absolute error ~2e-7, which is what
 * matters where it is used (softcap scores, 1 + tanh in GELU). */
CPU_INLINE float vtanh(float y) { return 2.0f / (1.0f + vexp(-2.0f * y)) - 1.0f; }

/* GELU, tanh approximation: 0.5 x (1 + tanh(u)) = x / (1 + e^(-2u)),
 * u = sqrt(2/pi) (x + 0.044715 x^3): the form without cancellation. */
CPU_INLINE float vgelu_tanh(float x) {
    float u = 0.7978845608028654f * (x + 0.044715f * x * x * x);
    return x / (1.0f + vexp(-2.0f * u));
}

/* f32 -> bf16, round to nearest even (NaN stays NaN): the same result as
 * st_f32_to_bf16, inlined so the rounding pass over a matmul input vectorises. */
CPU_INLINE uint16_t vbf16(float f) {
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((u >> 16) | 0x40u);
    u += 0x7fffu + ((u >> 16) & 1u);
    return (uint16_t)(u >> 16);
}

#endif
