/* gpu_driver.c — drives libsaex through saex.h only, for bench/gpu.sh.
 *
 *   gpu_driver check --model DIR --sae NPZ --out FILE.safetensors [--device cuda|cpu]
 *                    [--precision default|f32] [--layers L1,L2] [--k K]
 *       runs four fixed pseudo-random token sequences (lengths 1, 17, 100, 150)
 *       as one packed batch and writes tokens, seq_start, resid_<L> [T, D]
 *       for every layer and the SAE top-k of the last layer at every position
 *       (topk_ids, topk_vals [T, K], n_active [T]) for bench/gpu_check.py.
 *
 *   gpu_driver bench --model DIR --sae NPZ --tokens FILE [--device cuda|cpu]
 *                    [--layer L] [--k K] [--batch-tokens N] [--topk-out FILE] [--json FILE]
 *       FILE holds int32: n, lens[n], then the tokens of every sequence.
 *       Packs them in order into batches of at most N tokens, runs one
 *       warm-up batch, then times forward + SAE top-k at every position of
 *       every batch and prints / writes tokens per second. */
#include "saex.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int die(const char *what) {
    fprintf(stderr, "gpu_driver: %s: %s\n", what, saex_last_error());
    return 1;
}

typedef struct {
    const char *mode, *model, *sae, *out, *tokens, *topk_out, *json;
    saex_device device;
    saex_precision precision;
    int layers[8], n_layers, k;
    long batch_tokens;
} args;

static int parse(int argc, char **argv, args *a) {
    memset(a, 0, sizeof *a);
    a->device = SAEX_DEVICE_CUDA;
    a->k = 50;
    a->batch_tokens = 32768;
    if (argc < 2) return 0;
    a->mode = argv[1];
    for (int i = 2; i < argc; i++) {
        const char *o = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v) return 0;
        i++;
        if (!strcmp(o, "--model")) a->model = v;
        else if (!strcmp(o, "--sae")) a->sae = v;
        else if (!strcmp(o, "--out")) a->out = v;
        else if (!strcmp(o, "--tokens")) a->tokens = v;
        else if (!strcmp(o, "--topk-out")) a->topk_out = v;
        else if (!strcmp(o, "--json")) a->json = v;
        else if (!strcmp(o, "--k")) a->k = atoi(v);
        else if (!strcmp(o, "--batch-tokens")) a->batch_tokens = atol(v);
        else if (!strcmp(o, "--device")) a->device = !strcmp(v, "cpu") ? SAEX_DEVICE_CPU : SAEX_DEVICE_CUDA;
        else if (!strcmp(o, "--precision")) a->precision = !strcmp(v, "f32") ? SAEX_PRECISION_F32 : SAEX_PRECISION_DEFAULT;
        else if (!strcmp(o, "--layer") || !strcmp(o, "--layers")) {
            char *p = (char *)v;
            a->n_layers = 0;
            while (*p && a->n_layers < 8) {
                a->layers[a->n_layers++] = (int)strtol(p, &p, 10);
                if (*p == ',') p++;
            }
        } else
            return 0;
    }
    return a->model && a->sae && a->n_layers > 0;
}

static int open_all(const args *a, long max_tokens, saex_model **m, saex_sae **sae) {
    saex_model_options opt;
    saex_model_options_init(&opt);
    opt.device = a->device;
    opt.precision = a->precision;
    opt.max_batch_tokens = max_tokens;
    if (saex_model_open(a->model, a->layers, a->n_layers, &opt, m)) return die(a->model);
    if (saex_sae_open(a->sae, sae)) return die(a->sae);
    if (saex_model_attach_sae(*m, a->layers[a->n_layers - 1], *sae)) return die("attach_sae");
    const saex_model_info *in = saex_model_get_info(*m);
    fprintf(stderr, "gpu_driver: %s on %s, %d blocks loaded in %.2f s (%.2f GiB of weights)\n", a->model, in->device,
            in->deepest_layer + 1, in->load_seconds, in->weight_bytes / 1073741824.0);
    return 0;
}

/* SAE top-k at every position of the latest batch (T tokens). */
static int topk_all(saex_model *m, int layer, const int *lens, int n_seqs, int T, int k, saex_feature *feat,
                    int32_t *nact, int *seq, int *pos) {
    int t = 0;
    for (int s = 0; s < n_seqs; s++)
        for (int i = 0; i < lens[s]; i++, t++) seq[t] = s, pos[t] = i;
    if (saex_model_sae_topk(m, layer, seq, pos, T, k, feat, nact)) return die("sae_topk");
    return 0;
}

static int run_check(const args *a) {
    enum { NS = 4 };
    int lens[NS] = {1, 17, 100, 150}, T = 0;
    for (int s = 0; s < NS; s++) T += lens[s];
    saex_model *m = NULL;
    saex_sae *sae = NULL;
    if (open_all(a, T, &m, &sae)) return 1;
    const saex_model_info *in = saex_model_get_info(m);
    int D = in->d_model, V = in->vocab_size, k = a->k;
    int32_t *tok = malloc(sizeof(int32_t) * T), seq_start[NS + 1];
    const int32_t *seqs[NS];
    uint32_t r = 2024u;
    seq_start[0] = 0;
    for (int s = 0; s < NS; s++) {
        seqs[s] = tok + seq_start[s];
        seq_start[s + 1] = seq_start[s] + lens[s];
    }
    for (int t = 0; t < T; t++) {
        r = r * 1664525u + 1013904223u;
        tok[t] = (int32_t)((r >> 8) % (uint32_t)V);
    }
    for (int s = 0; s < NS; s++) tok[seq_start[s]] = 2; /* BOS first, as real inputs */
    if (saex_model_forward(m, seqs, lens, NS)) return die("forward");
    saex_tensor_view v[16];
    int nv = 0;
    v[nv++] = (saex_tensor_view){"tokens", "I32", 1, {T}, tok};
    v[nv++] = (saex_tensor_view){"seq_start", "I32", 1, {NS + 1}, seq_start};
    float *res[8];
    char names[8][32];
    for (int l = 0; l < a->n_layers; l++) {
        res[l] = malloc(sizeof(float) * T * D);
        for (int s = 0; s < NS; s++)
            for (int i = 0; i < lens[s]; i++)
                if (saex_model_residual(m, a->layers[l], s, i, res[l] + (size_t)(seq_start[s] + i) * D))
                    return die("residual");
        snprintf(names[l], sizeof names[l], "resid_%d", a->layers[l]);
        v[nv++] = (saex_tensor_view){names[l], "F32", 2, {T, D}, res[l]};
    }
    saex_feature *feat = malloc(sizeof *feat * T * k);
    int32_t *nact = malloc(sizeof(int32_t) * T), *ids = malloc(sizeof(int32_t) * T * k);
    float *vals = malloc(sizeof(float) * T * k);
    int *sq = malloc(sizeof(int) * T), *ps = malloc(sizeof(int) * T);
    if (topk_all(m, a->layers[a->n_layers - 1], lens, NS, T, k, feat, nact, sq, ps)) return 1;
    for (int i = 0; i < T * k; i++) ids[i] = feat[i].id, vals[i] = feat[i].activation;
    v[nv++] = (saex_tensor_view){"topk_ids", "I32", 2, {T, k}, ids};
    v[nv++] = (saex_tensor_view){"topk_vals", "F32", 2, {T, k}, vals};
    v[nv++] = (saex_tensor_view){"n_active", "I32", 1, {T}, nact};
    if (saex_write_safetensors(a->out, v, nv, NULL)) return die(a->out);
    fprintf(stderr, "gpu_driver: wrote %s (%d tokens, layers", a->out, T);
    for (int l = 0; l < a->n_layers; l++) fprintf(stderr, " %d", a->layers[l]);
    fprintf(stderr, ")\n");
    saex_model_close(m);
    saex_sae_close(sae);
    return 0;
}

static int32_t *read_tokens(const char *path, int *n_seqs, int **lens, long *total) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    int32_t n = 0;
    if (fread(&n, 4, 1, f) != 1 || n < 1) return fclose(f), NULL;
    *lens = malloc(sizeof(int) * n);
    long t = 0;
    for (int i = 0; i < n; i++) {
        int32_t l;
        if (fread(&l, 4, 1, f) != 1 || l < 1) return fclose(f), NULL;
        (*lens)[i] = l;
        t += l;
    }
    int32_t *tok = malloc(sizeof(int32_t) * t);
    if (!tok || fread(tok, 4, (size_t)t, f) != (size_t)t) return fclose(f), NULL;
    fclose(f);
    *n_seqs = n;
    *total = t;
    return tok;
}

static int run_bench(const args *a) {
    int n = 0, *lens = NULL;
    long total = 0;
    int32_t *tok = a->tokens ? read_tokens(a->tokens, &n, &lens, &total) : NULL;
    if (!tok) {
        fprintf(stderr, "gpu_driver: cannot read token file %s\n", a->tokens ? a->tokens : "(none: --tokens)");
        return 1;
    }
    int layer = a->layers[a->n_layers - 1], k = a->k;
    long B = a->batch_tokens;
    saex_model *m = NULL;
    saex_sae *sae = NULL;
    double t0 = now();
    if (open_all(a, B, &m, &sae)) return 1;
    double t_open = now() - t0;
    const int32_t **seqs = malloc(sizeof *seqs * n);
    long *off = malloc(sizeof(long) * (n + 1));
    off[0] = 0;
    for (int i = 0; i < n; i++) seqs[i] = tok + off[i], off[i + 1] = off[i] + lens[i];
    saex_feature *feat = malloc(sizeof *feat * B * k);
    int32_t *nact = malloc(sizeof(int32_t) * B);
    int *sq = malloc(sizeof(int) * B), *ps = malloc(sizeof(int) * B);
    int32_t *all_ids = a->topk_out ? malloc(sizeof(int32_t) * total * k) : NULL;
    long active_sum = 0;
    int batches = 0;
    double t_run = 0;
    for (int pass = 0; pass < 2; pass++) { /* pass 0: warm-up on the first batch only */
        double ts = now();
        for (int s0 = 0; s0 < n;) {
            int s1 = s0;
            long T = 0;
            while (s1 < n && T + lens[s1] <= B) T += lens[s1++];
            if (s1 == s0) {
                fprintf(stderr, "gpu_driver: sequence %d (%d tokens) exceeds --batch-tokens %ld\n", s0, lens[s0], B);
                return 1;
            }
            if (saex_model_forward(m, seqs + s0, lens + s0, s1 - s0)) return die("forward");
            if (topk_all(m, layer, lens + s0, s1 - s0, (int)T, k, feat, nact, sq, ps)) return 1;
            if (pass == 1) {
                batches++;
                for (long t = 0; t < T; t++) active_sum += nact[t];
                if (all_ids)
                    for (long i = 0; i < T * k; i++) all_ids[off[s0] * k + i] = feat[i].id;
            }
            s0 = s1;
            if (pass == 0) break;
        }
        if (pass == 1) t_run = now() - ts;
    }
    double tps = total / t_run;
    printf("saex: %ld tokens in %d batches, %.3f s: %.0f tokens/s (load %.1f s, mean active %.1f)\n", total, batches,
           t_run, tps, t_open, (double)active_sum / total);
    if (all_ids) {
        FILE *f = fopen(a->topk_out, "wb");
        if (!f || fwrite(all_ids, sizeof(int32_t), (size_t)total * k, f) != (size_t)total * k) {
            fprintf(stderr, "gpu_driver: cannot write %s\n", a->topk_out);
            return 1;
        }
        fclose(f);
    }
    if (a->json) {
        FILE *f = fopen(a->json, "w");
        if (!f) {
            fprintf(stderr, "gpu_driver: cannot write %s\n", a->json);
            return 1;
        }
        fprintf(f, "{\"tokens\": %ld, \"batches\": %d, \"seconds\": %.6f, \"tok_per_s\": %.3f, \"load_seconds\": %.3f, "
                   "\"mean_active\": %.3f, \"k\": %d, \"layer\": %d}\n",
                total, batches, t_run, tps, t_open, (double)active_sum / total, k, layer);
        fclose(f);
    }
    saex_model_close(m);
    saex_sae_close(sae);
    return 0;
}

int main(int argc, char **argv) {
    args a;
    if (!parse(argc, argv, &a) || (strcmp(a.mode, "check") && strcmp(a.mode, "bench")) ||
        (!strcmp(a.mode, "check") && !a.out)) {
        fprintf(stderr, "usage: gpu_driver check|bench --model DIR --sae NPZ --layers L[,L] ... (see bench/gpu_driver.c)\n");
        return 2;
    }
    return !strcmp(a.mode, "check") ? run_check(&a) : run_bench(&a);
}
