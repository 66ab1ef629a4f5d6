/* matmul_bound.c — how fast the linear layers alone could run (bench/cpu.sh).
 *
 * Times oneDNN bf16 matmuls (bf16 src and weights, f32 dst, weights given as
 * W[n, k] row-major, as saex stores them) on the four shapes saex runs per
 * Gemma-2 block, at M = the batch token count, with the same thread count:
 *   qkv     [M, D] x [D, (H + 2 KVH) hd]
 *   o       [M, H hd] x [H hd, D]
 *   gate_up [M, D] x [D, 2 F]
 *   down    [M, F] x [F, D]
 * FLOPs per token = 2 x the weight elements of blocks 0..L, so the bound is
 * tokens/s = M / (blocks x the time of one block's four matmuls).
 *
 *   matmul_bound --model DIR --layer L [--m 4096] [--threads N] [--reps 3]
 */
#include <jansson.h>
#include <omp.h>
#include <oneapi/dnnl/dnnl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

#define CHECK(call)                                                                  \
    do {                                                                             \
        dnnl_status_t st_ = (call);                                                  \
        if (st_ != dnnl_success) {                                                   \
            fprintf(stderr, "matmul_bound: %s failed (status %d)\n", #call, (int)st_); \
            return -1.0;                                                             \
        }                                                                            \
    } while (0)

static void fill_bf16(uint16_t *p, size_t n, unsigned seed) {
    for (size_t i = 0; i < n; i++) {
        seed = seed * 1103515245u + 12345u;
        float f = ((float)(seed >> 9) / 8388608.0f - 0.5f) * 0.1f;
        uint32_t u;
        memcpy(&u, &f, 4);
        p[i] = (uint16_t)(u >> 16);
    }
}

/* Seconds per matmul of [m, k] x [k, n] (best of reps, after one warm-up). */
static double time_matmul(dnnl_engine_t eng, dnnl_stream_t strm, int64_t m, int64_t k, int64_t n, int reps) {
    dnnl_memory_desc_t smd, wmd, dmd;
    dnnl_dims_t sd = {m, k}, wd = {k, n}, dd = {m, n};
    CHECK(dnnl_memory_desc_init_by_tag(&smd, 2, sd, dnnl_bf16, dnnl_ab));
    CHECK(dnnl_memory_desc_init_by_tag(&wmd, 2, wd, dnnl_bf16, dnnl_ba));
    CHECK(dnnl_memory_desc_init_by_tag(&dmd, 2, dd, dnnl_f32, dnnl_ab));
    dnnl_matmul_desc_t md;
    CHECK(dnnl_matmul_desc_init(&md, &smd, &wmd, NULL, &dmd));
    dnnl_primitive_desc_t pd;
    CHECK(dnnl_primitive_desc_create(&pd, &md, NULL, eng, NULL));
    dnnl_primitive_t prim;
    CHECK(dnnl_primitive_create(&prim, pd));
    dnnl_primitive_desc_destroy(pd);
    uint16_t *x = aligned_alloc(64, ((size_t)(m * k) * 2 + 63) & ~(size_t)63); /* [m, k] */
    uint16_t *w = aligned_alloc(64, ((size_t)(k * n) * 2 + 63) & ~(size_t)63); /* [n, k] */
    float *y = aligned_alloc(64, ((size_t)(m * n) * 4 + 63) & ~(size_t)63);    /* [m, n] */
    if (!x || !w || !y) {
        fprintf(stderr, "matmul_bound: out of memory\n");
        return -1.0;
    }
    fill_bf16(x, (size_t)(m * k), 1), fill_bf16(w, (size_t)(k * n), 2);
    dnnl_memory_t ms, mw, mdst;
    CHECK(dnnl_memory_create(&ms, &smd, eng, x));
    CHECK(dnnl_memory_create(&mw, &wmd, eng, w));
    CHECK(dnnl_memory_create(&mdst, &dmd, eng, y));
    dnnl_exec_arg_t args[3] = {{DNNL_ARG_SRC, ms}, {DNNL_ARG_WEIGHTS, mw}, {DNNL_ARG_DST, mdst}};
    double best = 1e30;
    for (int r = 0; r <= reps; r++) {
        double t0 = now_s();
        CHECK(dnnl_primitive_execute(prim, strm, 3, args));
        CHECK(dnnl_stream_wait(strm));
        double t = now_s() - t0;
        if (r > 0 && t < best) best = t; /* r == 0 is the warm-up */
    }
    dnnl_memory_destroy(ms), dnnl_memory_destroy(mw), dnnl_memory_destroy(mdst);
    dnnl_primitive_destroy(prim);
    free(x), free(w), free(y);
    return best;
}

static int cfg_int(json_t *root, const char *key, const char *path) {
    json_t *v = json_object_get(root, key);
    if (!json_is_integer(v) || json_integer_value(v) <= 0) {
        fprintf(stderr, "matmul_bound: %s: field \"%s\" missing or not a positive integer\n", path, key);
        return -1;
    }
    return (int)json_integer_value(v);
}

int main(int argc, char **argv) {
    const char *model = NULL;
    int layer = -1, threads = 0, reps = 3;
    int64_t M = 4096;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--model")) model = argv[i + 1];
        else if (!strcmp(argv[i], "--layer")) layer = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--m")) M = atoll(argv[i + 1]);
        else if (!strcmp(argv[i], "--threads")) threads = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--reps")) reps = atoi(argv[i + 1]);
        else return fprintf(stderr, "matmul_bound: unknown option %s\n", argv[i]), 2;
    }
    if (!model || layer < 0 || M < 1 || reps < 1)
        return fprintf(stderr, "usage: matmul_bound --model DIR --layer L [--m 4096] [--threads N] [--reps 3]\n"), 2;
    char path[4096];
    snprintf(path, sizeof path, "%s/config.json", model);
    json_error_t jerr;
    json_t *cfg = json_load_file(path, 0, &jerr);
    if (!cfg) return fprintf(stderr, "matmul_bound: %s: %s (line %d)\n", path, jerr.text, jerr.line), 1;
    int D = cfg_int(cfg, "hidden_size", path), F = cfg_int(cfg, "intermediate_size", path);
    int H = cfg_int(cfg, "num_attention_heads", path), KV = cfg_int(cfg, "num_key_value_heads", path);
    int hd = cfg_int(cfg, "head_dim", path);
    json_decref(cfg);
    if (D < 0 || F < 0 || H < 0 || KV < 0 || hd < 0) return 1;
    if (threads > 0) omp_set_num_threads(threads);
    dnnl_engine_t eng;
    dnnl_stream_t strm;
    if (dnnl_engine_create(&eng, dnnl_cpu, 0) != dnnl_success ||
        dnnl_stream_create(&strm, eng, dnnl_stream_default_flags) != dnnl_success)
        return fprintf(stderr, "matmul_bound: cannot create the oneDNN CPU engine\n"), 1;
    struct { const char *name; int64_t k, n; } shp[4] = {
        {"qkv", D, (int64_t)(H + 2 * KV) * hd}, {"o", (int64_t)H * hd, D}, {"gate_up", D, 2 * (int64_t)F}, {"down", F, D}};
    double block_s = 0, block_flops = 0;
    for (int i = 0; i < 4; i++) {
        double t = time_matmul(eng, strm, M, shp[i].k, shp[i].n, reps);
        if (t < 0) return 1;
        double fl = 2.0 * (double)M * (double)shp[i].k * (double)shp[i].n;
        printf("matmul_bound: %-7s M=%lld K=%lld N=%lld: %.4f s, %.1f GFLOP/s\n", shp[i].name, (long long)M,
               (long long)shp[i].k, (long long)shp[i].n, t, fl / t * 1e-9);
        block_s += t, block_flops += fl;
    }
    int blocks = layer + 1;
    double gflops = block_flops / block_s * 1e-9, tok_s = (double)M / (blocks * block_s);
    double flop_per_token = block_flops / (double)M * blocks;
    printf("matmul_bound: %d blocks, %.2f GFLOP/token, %.1f GFLOP/s overall -> %.2f tok/s for the linear layers alone "
           "(%d threads)\n",
           blocks, flop_per_token * 1e-9, gflops, tok_s, omp_get_max_threads());
    printf("RESULT {\"side\": \"bound\", \"m\": %lld, \"blocks\": %d, \"gflop_per_token\": %.4f, \"gflops\": %.2f, "
           "\"tok_s\": %.3f, \"threads\": %d}\n",
           (long long)M, blocks, flop_per_token * 1e-9, gflops, tok_s, omp_get_max_threads());
    dnnl_stream_destroy(strm);
    dnnl_engine_destroy(eng);
    return 0;
}
