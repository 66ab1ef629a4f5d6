/* test_cpu_math.c — the CPU backend's vectorisable math against libm in
 * double precision, and its bf16 rounding against the safetensors one. */
#include "backend/cpu_math.h"
#include "safetensors.h"
#include "test.h"
#include <stdint.h>

static void test_vexp(void) {
    double worst = 0;
    for (float x = -87.0f; x < 88.0f; x += 0.0007f) {
        double e = fabs(vexp(x) - exp((double)x)) / exp((double)x);
        if (e > worst) worst = e;
    }
    printf("  vexp: max relative error %.3g on [-87, 88]\n", worst);
    CHECK(worst < 5e-7, "vexp error %.3g", worst);
    CHECK(vexp(-1000.0f) >= 0 && vexp(-1000.0f) < 1e-37f, "underflow clamps to a tiny positive value");
}

static void test_vtanh_and_gelu(void) {
    double wt = 0, wg = 0;
    for (float x = -30.0f; x < 30.0f; x += 0.0003f) {
        double t = fabs(vtanh(x) - tanh((double)x));
        if (t > wt) wt = t;
        double u = 0.7978845608028654 * (x + 0.044715 * (double)x * x * x);
        double g = 0.5 * x * (1 + tanh(u));
        double d = fabs(vgelu_tanh(x) - g) / fmax(1.0, fabs(g));
        if (d > wg) wg = d;
    }
    printf("  vtanh: max absolute error %.3g; vgelu_tanh: max error %.3g (relative above 1, absolute below)\n", wt, wg);
    CHECK(wt < 5e-7, "vtanh error %.3g", wt);
    CHECK(wg < 1e-6, "vgelu_tanh error %.3g", wg);
}

static void test_vbf16_matches_reference(void) {
    uint32_t state = 12345;
    int bad = 0;
    for (int i = 0; i < 2000000; i++) {
        state = state * 1664525u + 1013904223u;
        float f;
        memcpy(&f, &state, 4);
        uint16_t a = vbf16(f), b = st_f32_to_bf16(f);
        if (a != b && !(isnan(f) && (a & 0x7f80) == 0x7f80 && (a & 0x7f))) bad++;
    }
    CHECK(bad == 0, "%d of 2M random bit patterns round differently", bad);
    CHECK(vbf16(1.00390625f) == 0x3f80, "a tie rounds to even");
    CHECK(vbf16(1.01171875f) == 0x3f82, "a tie rounds to even (up)");
}

int main(void) {
    RUN(test_vexp);
    RUN(test_vtanh_and_gelu);
    RUN(test_vbf16_matches_reference);
    TEST_MAIN_END();
}
