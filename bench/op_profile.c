/* op_profile.c — times each CPU backend op of one Gemma-2 block at real
 * shapes on random data: where a block's time goes, without a checkpoint.
 *
 *   cc -std=c11 -D_GNU_SOURCE -O2 -march=x86-64-v3 -fopenmp -Iinclude -Isrc bench/op_profile.c \
 *      build/libsaex.a -o build/op_profile -ljansson -ldnnl -lcrypto -lz -lm
 *   SAEX_CPU_ISA=v3|v4 build/op_profile ...   (the CPU kernel set; default: the best this CPU runs)
 *   build/op_profile T D H KVH F [SEQ_LEN]     (head_dim 256, as Gemma-2 2B/9B)
 *   build/op_profile 3584 2304 8 4 9216         # gemma-2-2b, 7 sequences of 512
 *   build/op_profile 3584 3584 16 8 14336       # gemma-2-9b
 *
 * Prints milliseconds per op, second of two repetitions (the first creates
 * and JIT-compiles the oneDNN primitives), and the matmul rate. */
#include "backend/backend.h"
#include "saex.h"
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

static float *rnd(int64_t n) {
    float *p = malloc((size_t)n * sizeof *p);
    for (int64_t i = 0; p && i < n; i++) p[i] = (float)(rand() % 1000 - 500) / 500.0f;
    return p;
}

#define TIME(name, flops, call)                                                                        \
    do {                                                                                               \
        double t0 = now();                                                                             \
        if ((call) != SAEX_OK) fprintf(stderr, "%s failed: %s\n", name, saex_last_error());            \
        double ms = (now() - t0) * 1e3;                                                                \
        if (rep) {                                                                                     \
            printf("%-9s %8.1f ms", name, ms);                                                         \
            if (flops > 0) printf("  %6.0f GFLOP/s", (flops) / ms / 1e6);                              \
            printf("\n");                                                                              \
            total += ms;                                                                               \
        }                                                                                              \
    } while (0)

int main(int argc, char **argv) {
    if (argc < 6) {
        fprintf(stderr, "usage: op_profile T D H KVH F [SEQ_LEN]\n");
        return 2;
    }
    int64_t T = atoll(argv[1]), D = atoll(argv[2]), H = atoll(argv[3]), KV = atoll(argv[4]), F = atoll(argv[5]);
    int64_t L = argc > 6 ? atoll(argv[6]) : 512, hd = 256, Q = H * hd, QKV = (H + 2 * KV) * hd;
    backend *b;
    if (backend_cpu_create(0, &b)) return fprintf(stderr, "%s\n", saex_last_error()), 1;
    float *x = rnd(T * D), *h = rnd(T * D), *qkv = rnd(T * QKV), *att = rnd(T * Q), *gu = rnd(T * 2 * F),
          *act = rnd(T * F), *w = rnd(D);
    int64_t wmax = 2 * F * D > QKV * D ? 2 * F * D : QKV * D;
    uint16_t *wq = malloc((size_t)wmax * 2);
    for (int64_t i = 0; i < wmax; i++) wq[i] = (uint16_t)(0x3c00 + i % 13); /* small bf16 values */
    be_weight *Wqkv, *Wo, *Wgu, *Wd;
    be_part pq = {wq, BE_BF16, QKV}, po = {wq, BE_BF16, D}, pg = {wq, BE_BF16, 2 * F}, pd = {wq, BE_BF16, D};
    b->weight_create(b, &pq, 1, D, BE_BF16, &Wqkv);
    b->weight_create(b, &po, 1, Q, BE_BF16, &Wo);
    b->weight_create(b, &pg, 1, D, BE_BF16, &Wgu);
    b->weight_create(b, &pd, 1, F, BE_BF16, &Wd);
    int n_seq = (int)((T + L - 1) / L), *ss = malloc((size_t)(n_seq + 1) * sizeof *ss);
    int32_t *pos = malloc((size_t)T * sizeof *pos);
    for (int i = 0; i <= n_seq; i++) ss[i] = (int)(i * L < T ? i * L : T);
    for (int64_t i = 0; i < T; i++) pos[i] = (int32_t)(i % L);
    be_attn_params ap = {(int)H, (int)KV, (int)hd, 1 / 16.f, 50.f, 4096};
    for (int rep = 0; rep < 2; rep++) {
        double total = 0;
        TIME("rmsnorm", 0, b->rmsnorm(b, x, w, T, D, 1e-6f, h, 0));
        TIME("mm_qkv", 2.0 * T * D * QKV, b->matmul(b, Wqkv, h, T, qkv));
        TIME("rope", 0, b->rope(b, qkv, pos, T, (int)H, (int)KV, (int)hd, 10000.f));
        TIME("attention", 0, b->attention(b, qkv, ss, n_seq, &ap, att));
        TIME("mm_o", 2.0 * T * Q * D, b->matmul(b, Wo, att, T, h));
        TIME("rms_add", 0, b->rmsnorm(b, h, w, T, D, 1e-6f, x, 1));
        TIME("rmsnorm", 0, b->rmsnorm(b, x, w, T, D, 1e-6f, h, 0));
        TIME("mm_gu", 2.0 * T * D * 2 * F, b->matmul(b, Wgu, h, T, gu));
        TIME("geglu", 0, b->geglu(b, gu, T, F, act));
        TIME("mm_down", 2.0 * T * F * D, b->matmul(b, Wd, act, T, h));
        TIME("rms_add", 0, b->rmsnorm(b, h, w, T, D, 1e-6f, x, 1));
        if (rep) printf("block     %8.1f ms for %lld tokens\n", total, (long long)T);
    }
    b->weight_free(b, Wqkv), b->weight_free(b, Wo), b->weight_free(b, Wgu), b->weight_free(b, Wd);
    b->destroy(b);
    free(x), free(h), free(qkv), free(att), free(gu), free(act), free(w), free(wq), free(ss), free(pos);
    return 0;
}
