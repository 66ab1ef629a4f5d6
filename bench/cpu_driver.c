/* cpu_driver.c — saex's side of the CPU benchmark (bench/cpu.sh).
 *
 * Uses only the public API (saex.h): reads a workload written by
 * bench/make_workload.py, sorts the samples by length, packs them into
 * batches under a token budget, runs saex_model_forward(_at) + saex_model_sae_topk
 * and prints throughput (load time excluded, reported apart), peak RSS and
 * one "RESULT {json}" line; writes the top-k of every position it encodes so
 * bench/compare_topk.py can check it against the HF baseline.
 *
 *   cpu_driver --model DIR --layer L --workload W.bin --sae SAE [--mode last|all]
 *              [--k 32] [--batch-tokens 4096] [--threads N] [--out TOPK.txt]
 *   cpu_driver --model DIR --layer L --workload W.bin --dump-resid OUT.f32 [--dump-seqs 2]
 *
 * last: one position per sample, its last prompt token; all: every position.
 *
 * Built with -Wl,--wrap=dnnl_primitive_execute,--wrap=dnnl_stream_wait
 * (see cpu.sh) it also reports the wall time spent inside oneDNN, split
 * into block matmuls and the SAE encoder matmul: everything else in the
 * forward pass (attention, norms, RoPE, GeGLU, bf16 rounding) is the rest.
 */
#include "saex.h"
#include <oneapi/dnnl/dnnl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

typedef struct {
    int index;      /* position in the workload file */
    int prompt_len; /* tokens of the prompt; the last prompt token is prompt_len - 1 */
    int len;        /* prompt + response */
    int32_t *ids;   /* [len] */
} sample;

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* ------------------------------------------- time inside oneDNN (link wrap) */

static double g_dnnl_s[2]; /* [0] block matmuls, [1] SAE encoder matmul */
static int g_in_sae;

dnnl_status_t __real_dnnl_primitive_execute(const_dnnl_primitive_t p, dnnl_stream_t s, int nargs, const dnnl_exec_arg_t *args);
dnnl_status_t __real_dnnl_stream_wait(dnnl_stream_t s);

dnnl_status_t __wrap_dnnl_primitive_execute(const_dnnl_primitive_t p, dnnl_stream_t s, int nargs, const dnnl_exec_arg_t *args) {
    double t0 = now_s();
    dnnl_status_t st = __real_dnnl_primitive_execute(p, s, nargs, args);
    g_dnnl_s[g_in_sae] += now_s() - t0;
    return st;
}

dnnl_status_t __wrap_dnnl_stream_wait(dnnl_stream_t s) {
    double t0 = now_s();
    dnnl_status_t st = __real_dnnl_stream_wait(s);
    g_dnnl_s[g_in_sae] += now_s() - t0;
    return st;
}

/* ------------------------------------------------------------------ workload */

static int read_u32(FILE *f, uint32_t *v) { return fread(v, 4, 1, f) == 1; }

static int load_workload(const char *path, sample **out, int *n_out) {
    FILE *f = fopen(path, "rb");
    if (!f) return fprintf(stderr, "cpu_driver: %s: cannot open\n", path), 0;
    char magic[4];
    uint32_t ver, n;
    if (fread(magic, 1, 4, f) != 4 || memcmp(magic, "SXWL", 4) || !read_u32(f, &ver) || ver != 1 || !read_u32(f, &n) ||
        n == 0 || n > 1000000) {
        fclose(f);
        return fprintf(stderr, "cpu_driver: %s: not a version-1 SXWL workload\n", path), 0;
    }
    sample *s = calloc(n, sizeof *s);
    for (uint32_t i = 0; s && i < n; i++) {
        uint32_t p, len;
        if (!read_u32(f, &p) || !read_u32(f, &len) || len < 1 || len > (1u << 20) || p < 1 || p > len) {
            fprintf(stderr, "cpu_driver: %s: sample %u: bad header\n", path, i);
            goto fail;
        }
        s[i] = (sample){(int)i, (int)p, (int)len, malloc((size_t)len * 4)};
        if (!s[i].ids || fread(s[i].ids, 4, len, f) != len) {
            fprintf(stderr, "cpu_driver: %s: sample %u: truncated\n", path, i);
            goto fail;
        }
    }
    fclose(f);
    *out = s, *n_out = (int)n;
    return 1;
fail:
    for (uint32_t i = 0; i < n; i++) free(s[i].ids);
    free(s);
    fclose(f);
    return 0;
}

static int by_len(const void *a, const void *b) {
    const sample *x = a, *y = b;
    return x->len != y->len ? x->len - y->len : x->index - y->index;
}

/* ---------------------------------------------------------------- memory */

static long vm_kb(const char *field) {
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long v = -1;
    size_t n = strlen(field);
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, field, n) && line[n] == ':') v = strtol(line + n + 1, NULL, 10);
    if (f) fclose(f);
    return v;
}

/* ------------------------------------------------------------------- main */

typedef struct {
    const char *model, *workload, *sae, *out, *dump;
    int layer, k, threads, all, dump_seqs;
    long batch_tokens;
} args;

static int parse(int argc, char **argv, args *a) {
    *a = (args){.layer = -1, .k = 32, .batch_tokens = 4096, .dump_seqs = 2};
    for (int i = 1; i < argc; i++) {
        const char *o = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v) return fprintf(stderr, "cpu_driver: %s needs a value\n", o), 0;
        i++;
        if (!strcmp(o, "--model")) a->model = v;
        else if (!strcmp(o, "--workload")) a->workload = v;
        else if (!strcmp(o, "--sae")) a->sae = v;
        else if (!strcmp(o, "--out")) a->out = v;
        else if (!strcmp(o, "--dump-resid")) a->dump = v;
        else if (!strcmp(o, "--layer")) a->layer = atoi(v);
        else if (!strcmp(o, "--k")) a->k = atoi(v);
        else if (!strcmp(o, "--threads")) a->threads = atoi(v);
        else if (!strcmp(o, "--dump-seqs")) a->dump_seqs = atoi(v);
        else if (!strcmp(o, "--batch-tokens")) a->batch_tokens = atol(v);
        else if (!strcmp(o, "--mode")) {
            if (strcmp(v, "last") && strcmp(v, "all")) return fprintf(stderr, "cpu_driver: --mode is last or all\n"), 0;
            a->all = !strcmp(v, "all");
        } else return fprintf(stderr, "cpu_driver: unknown option %s\n", o), 0;
    }
    if (!a->model || !a->workload || a->layer < 0 || (!a->sae && !a->dump) || a->k < 1 || a->batch_tokens < 1)
        return fprintf(stderr, "usage: cpu_driver --model DIR --layer L --workload W.bin (--sae SAE | --dump-resid F) "
                               "[--mode last|all] [--k 32] [--batch-tokens 4096] [--threads N] [--out TOPK.txt]\n"),
               0;
    return 1;
}

static int fail(const char *what) {
    fprintf(stderr, "cpu_driver: %s: %s\n", what, saex_last_error());
    return 1;
}

/* Residuals of all positions of the first n samples (one batch), for SAE calibration. */
static int dump_resid(saex_model *m, const args *a, sample *s, int n) {
    const saex_model_info *info = saex_model_get_info(m);
    if (n > a->dump_seqs) n = a->dump_seqs;
    const int32_t *seqs[64];
    int lens[64];
    if (n > 64) n = 64;
    for (int i = 0; i < n; i++) seqs[i] = s[i].ids, lens[i] = s[i].len;
    if (saex_model_forward(m, seqs, lens, n)) return fail("forward");
    FILE *f = fopen(a->dump, "wb");
    if (!f) return fprintf(stderr, "cpu_driver: %s: cannot write\n", a->dump), 1;
    float *row = malloc((size_t)info->d_model * 4);
    for (int i = 0; i < n; i++)
        for (int p = 0; p < lens[i]; p++) {
            if (saex_model_residual(m, a->layer, i, p, row)) return fail("residual");
            fwrite(row, 4, (size_t)info->d_model, f);
        }
    free(row);
    if (fclose(f)) return fprintf(stderr, "cpu_driver: %s: write failed\n", a->dump), 1;
    fprintf(stderr, "cpu_driver: wrote residuals of %d samples to %s\n", n, a->dump);
    return 0;
}

int main(int argc, char **argv) {
    args a;
    if (!parse(argc, argv, &a)) return 2;
    sample *s;
    int n;
    if (!load_workload(a.workload, &s, &n)) return 1;

    saex_model_options opt;
    saex_model_options_init(&opt);
    opt.threads = a.threads;
    opt.max_batch_tokens = a.batch_tokens;
    for (int i = 0; i < n; i++)
        if (s[i].len > opt.max_batch_tokens) opt.max_batch_tokens = s[i].len; /* a long sample runs alone */
    if (a.dump) {
        int64_t need = 0;
        for (int i = 0; i < n && i < a.dump_seqs; i++) need += s[i].len;
        if (need > opt.max_batch_tokens) opt.max_batch_tokens = need;
    }
    saex_model *m;
    double t0 = now_s();
    if (saex_model_open(a.model, &a.layer, 1, &opt, &m)) return fail(a.model);
    if (a.dump) {
        int rc = dump_resid(m, &a, s, n);
        saex_model_close(m);
        return rc;
    }
    saex_sae *sae;
    if (saex_sae_open(a.sae, &sae)) return fail(a.sae);
    if (saex_model_attach_sae(m, a.layer, sae)) return fail("attach SAE");
    double load_s = now_s() - t0;
    long rss_loaded = vm_kb("VmRSS");
    const saex_model_info *info = saex_model_get_info(m);

    qsort(s, (size_t)n, sizeof *s, by_len);
    FILE *out = a.out ? fopen(a.out, "w") : NULL;
    if (a.out && !out) return fprintf(stderr, "cpu_driver: %s: cannot write\n", a.out), 1;
    if (out) fprintf(out, "# saex top-k: sample pos n_active id:activation...\n");

    int64_t max_pos = opt.max_batch_tokens;
    int *seq_idx = malloc((size_t)max_pos * sizeof(int)), *pos = malloc((size_t)max_pos * sizeof(int));
    saex_feature *feat = malloc((size_t)max_pos * (size_t)a.k * sizeof *feat);
    int32_t *nact = malloc((size_t)max_pos * sizeof(int32_t));
    const int32_t **seqs = malloc((size_t)n * sizeof *seqs);
    int *lens = malloc((size_t)n * sizeof(int));
    int64_t tokens = 0, positions = 0, active_sum = 0;
    int batches = 0;
    double run_s = 0, sae_s = 0, fwd_s = 0;
    g_dnnl_s[0] = g_dnnl_s[1] = 0; /* SAE upload is not part of the run */
    for (int b0 = 0; b0 < n;) {
        /* greedy packing in length order under the token budget */
        int nb = 0;
        int64_t bt = 0;
        while (b0 + nb < n && (nb == 0 || bt + s[b0 + nb].len <= a.batch_tokens)) bt += s[b0 + nb].len, nb++;
        int np = 0;
        for (int i = 0; i < nb; i++) {
            const sample *x = &s[b0 + i];
            seqs[i] = x->ids, lens[i] = x->len;
            if (a.all)
                for (int p = 0; p < x->len; p++) seq_idx[np] = i, pos[np++] = p;
            else
                seq_idx[np] = i, pos[np++] = x->prompt_len - 1;
        }
        double t1 = now_s();
        /* last mode: one position per sequence, as saex extract runs it */
        if (saex_model_forward_at(m, seqs, lens, nb, a.all ? NULL : pos)) return fail("forward");
        double t2 = now_s();
        g_in_sae = 1;
        if (saex_model_sae_topk(m, a.layer, seq_idx, pos, np, a.k, feat, nact)) return fail("SAE top-k");
        g_in_sae = 0;
        double t3 = now_s();
        fwd_s += t2 - t1, sae_s += t3 - t2, run_s += t3 - t1;
        for (int i = 0; i < np; i++) {
            active_sum += nact[i];
            if (!out) continue;
            fprintf(out, "%d %d %d", s[b0 + seq_idx[i]].index, pos[i], nact[i]);
            for (int j = 0; j < a.k && feat[i * a.k + j].id >= 0; j++)
                fprintf(out, " %d:%.6g", feat[i * a.k + j].id, feat[i * a.k + j].activation);
            fputc('\n', out);
        }
        tokens += bt, positions += np, batches++;
        fprintf(stderr, "cpu_driver: batch %d: %d seqs, %lld tokens, %.2f s (%.1f tok/s)\n", batches, nb, (long long)bt,
                t3 - t1, (double)bt / (t3 - t1));
        b0 += nb;
    }
    if (out && fclose(out)) return fprintf(stderr, "cpu_driver: %s: write failed\n", a.out), 1;

    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("saex: %lld tokens in %d batches, %.2f s (forward %.2f s, SAE %.2f s): %.2f tok/s; load %.2f s\n",
           (long long)tokens, batches, run_s, fwd_s, sae_s, (double)tokens / run_s, load_s);
    printf("saex: oneDNN wall time: block matmuls %.2f s (%.0f%% of forward), SAE matmul %.2f s; rest of forward %.2f s\n",
           g_dnnl_s[0], 100.0 * g_dnnl_s[0] / fwd_s, g_dnnl_s[1], fwd_s - g_dnnl_s[0]);
    printf("saex: peak RSS %ld MiB (ru_maxrss), VmHWM %ld MiB, RSS after load %ld MiB, weight_bytes %.0f MiB, threads %d\n",
           ru.ru_maxrss / 1024, vm_kb("VmHWM") / 1024, rss_loaded / 1024, info->weight_bytes / 1048576.0, info->threads);
    printf("RESULT {\"side\": \"saex\", \"mode\": \"%s\", \"tokens\": %lld, \"positions\": %lld, \"batches\": %d, "
           "\"mean_batch_tokens\": %.1f, \"load_s\": %.3f, \"run_s\": %.3f, \"forward_s\": %.3f, \"sae_s\": %.3f, "
           "\"tok_s\": %.3f, \"mm_s\": %.3f, \"sae_mm_s\": %.3f, \"maxrss_kb\": %ld, \"vmhwm_kb\": %ld, "
           "\"rss_after_load_kb\": %ld, \"weight_bytes\": %zu, \"threads\": %d, \"mean_active\": %.2f}\n",
           a.all ? "all" : "last", (long long)tokens, (long long)positions, batches, (double)tokens / batches, load_s,
           run_s, fwd_s, sae_s, (double)tokens / run_s, g_dnnl_s[0], g_dnnl_s[1], ru.ru_maxrss, vm_kb("VmHWM"),
           rss_loaded, info->weight_bytes, info->threads, (double)active_sum / (double)positions);

    free(seq_idx), free(pos), free(feat), free(nact), free(seqs), free(lens);
    for (int i = 0; i < n; i++) free(s[i].ids);
    free(s);
    saex_model_close(m);
    saex_sae_close(sae);
    return 0;
}
