/* gemma2.c — the Gemma-2 forward pass, as HF transformers' Gemma2 computes
 * it with eager attention, up to the deepest requested block.
 *
 * Per block (HF's order):
 *   h = input_layernorm(x);  h = attn(h);  x += post_attention_layernorm(h)
 *   h = pre_feedforward_layernorm(x);  h = mlp(h);  x += post_feedforward_layernorm(h)
 * with RMSNorm y = x * rsqrt(mean(x^2) + eps) * (1 + w) in f32, RoPE in
 * rotate-half layout, grouped-query attention with scores scaled by
 * query_pre_attn_scalar^-0.5 and softcapped, sliding window on the layers
 * config marks sliding, and MLP down(gelu_tanh(gate(x)) * up(x)).
 *
 * Batches are packed: the tokens of all sequences form one [T, D] matrix for
 * the linear layers; attention stays inside each sequence. The model code
 * only calls the backend interface (backend/backend.h). */
#include "backend/backend.h"
#include "config.h"
#include "error.h"
#include "safetensors.h"
#include "sae.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct {
    be_weight *qkv;     /* [(H + 2 KVH) hd, D]: q, k, v projections stacked */
    be_weight *o;       /* [D, H hd] */
    be_weight *gate_up; /* [2 F, D]: gate, then up */
    be_weight *down;    /* [D, F] */
    float *norm[4];     /* device [D] each: input, post_attention, pre_feedforward, post_feedforward */
} block;

typedef struct {
    int layer;
    float *resid;        /* device [max_tokens, D]; NULL for the deepest layer, which stays in x */
    const saex_sae *sae; /* attached encoder, or NULL */
    be_sae *enc;
} capture;

struct saex_model {
    saex_model_info info;
    gemma2_config cfg;
    char dtype_name[16];
    backend *be;
    st_set *st;
    be_dtype compute;    /* matmul dtype */
    float embed_scale;   /* sqrt(D), rounded to the activation dtype as HF does */
    be_weight *embed;    /* [V, D] */
    block *blocks;       /* [deepest + 1] */
    capture *cap;        /* [n_cap] */
    int n_cap;
    int64_t max_tokens;
    /* scratch, device, sized for max_tokens rows */
    float *x;            /* [T, D] residual stream */
    float *h;            /* [T, D] */
    float *qkv;          /* [T, (H + 2 KVH) hd] */
    float *attn;         /* [T, H hd] */
    float *gu;           /* [T, 2F] */
    float *act;          /* [T, F] */
    float *rows;         /* [T, D] gathered SAE inputs */
    int32_t *ids_dev, *pos_dev; /* [T] */
    int32_t *ids_host, *pos_host; /* [T] */
    int64_t *row_idx;    /* [T] host */
    int32_t *nact_host;  /* [T] host: n_active when the caller passes none */
    int32_t *topk_ids;   /* [T * k] host, grown */
    float *topk_vals;
    size_t topk_cap;
    /* the latest batch */
    int *seq_start;      /* [n_seqs + 1] host */
    int *keep_pos;       /* [n_seqs] host: the one position kept at the deepest layer, or NULL */
    int n_seqs, seq_cap;
    int64_t T;
};

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

void saex_model_options_init(saex_model_options *o) {
    memset(o, 0, sizeof *o);
    o->device = SAEX_DEVICE_CPU;
    o->precision = SAEX_PRECISION_DEFAULT;
}

/* ------------------------------------------------------------ weight loading */

static be_dtype be_of(st_dtype d) { return d == ST_BF16 ? BE_BF16 : d == ST_F16 ? BE_F16 : BE_F32; }

/* Finds a weight and checks its shape against what config.json implies. */
static saex_status get_weight(saex_model *m, const char *name, int64_t rows, int64_t cols, const st_tensor **out) {
    const st_tensor *t;
    saex_status s = st_get(m->st, name, &t);
    if (s) return s;
    int ok = cols ? (t->ndim == 2 && t->shape[0] == rows && t->shape[1] == cols) : (t->ndim == 1 && t->shape[0] == rows);
    if (!ok) {
        char got[96] = "";
        for (int i = 0; i < t->ndim; i++) snprintf(got + strlen(got), sizeof got - strlen(got), "%s%lld", i ? ", " : "", (long long)t->shape[i]);
        if (cols) return saex_fail(SAEX_ERR_MISMATCH, "%s: tensor \"%s\" has shape [%s], but config.json implies [%lld, %lld]", t->file, name, got, (long long)rows, (long long)cols);
        return saex_fail(SAEX_ERR_MISMATCH, "%s: tensor \"%s\" has shape [%s], but config.json implies [%lld]", t->file, name, got, (long long)rows);
    }
    if (t->dtype != ST_F32 && t->dtype != ST_BF16 && t->dtype != ST_F16)
        return saex_fail(SAEX_ERR_UNSUPPORTED, "%s: tensor \"%s\" has dtype %s; weights must be F32, BF16 or F16", t->file, name, st_dtype_name(t->dtype));
    *out = t;
    return SAEX_OK;
}

/* Loads rows-stacked parts "prefix.{a,b,c}.weight" into one backend weight,
 * then lets the kernel drop the source pages unless the backend uses them in place. */
static saex_status load_stack(saex_model *m, int layer, const char *const *names, const int64_t *rows, int n, int64_t k,
                              be_weight **out) {
    be_part parts[3] = {{0}};
    const st_tensor *t[3] = {0};
    char name[256];
    saex_status s;
    for (int i = 0; i < n; i++) {
        snprintf(name, sizeof name, "model.layers.%d.%s.weight", layer, names[i]);
        if ((s = get_weight(m, name, rows[i], k, &t[i]))) return s;
        parts[i] = (be_part){t[i]->data, be_of(t[i]->dtype), rows[i]};
    }
    s = m->be->weight_create(m->be, parts, n, k, m->compute, out);
    /* A copy was made: the source pages may go. A borrowed weight is the mmap itself. */
    int borrowed = !s && m->be->weight_borrows && m->be->weight_borrows(m->be, *out);
    for (int i = 0; i < n; i++) borrowed ? st_prefetch(t[i]) : st_release(t[i]);
    return s;
}

static saex_status load_norm(saex_model *m, int layer, const char *which, float **out) {
    char name[256];
    const st_tensor *t;
    int64_t d = m->cfg.d_model;
    snprintf(name, sizeof name, "model.layers.%d.%s.weight", layer, which);
    saex_status s = get_weight(m, name, d, 0, &t);
    if (s) return s;
    float *host = malloc((size_t)d * sizeof(float));
    if (!host) return saex_fail(SAEX_ERR_NOMEM, "out of memory");
    if (!(s = st_to_f32(t, host)) && !(s = m->be->alloc(m->be, (size_t)d * 4, (void **)out)))
        s = m->be->upload(m->be, *out, host, (size_t)d * 4);
    free(host);
    return s;
}

static saex_status load_block(saex_model *m, int l) {
    const gemma2_config *c = &m->cfg;
    block *b = &m->blocks[l];
    int64_t D = c->d_model, q = (int64_t)c->n_heads * c->head_dim, kv = (int64_t)c->n_kv_heads * c->head_dim;
    static const char *qkv_names[] = {"self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj"};
    static const char *gu_names[] = {"mlp.gate_proj", "mlp.up_proj"};
    static const char *o_name[] = {"self_attn.o_proj"}, *down_name[] = {"mlp.down_proj"};
    static const char *norms[] = {"input_layernorm", "post_attention_layernorm", "pre_feedforward_layernorm", "post_feedforward_layernorm"};
    int64_t qkv_rows[] = {q, kv, kv}, gu_rows[] = {c->d_ff, c->d_ff}, d_rows[] = {D};
    saex_status s = load_stack(m, l, qkv_names, qkv_rows, 3, D, &b->qkv);
    if (!s) s = load_stack(m, l, o_name, d_rows, 1, q, &b->o);
    if (!s) s = load_stack(m, l, gu_names, gu_rows, 2, D, &b->gate_up);
    if (!s) s = load_stack(m, l, down_name, d_rows, 1, c->d_ff, &b->down);
    for (int i = 0; i < 4 && !s; i++) s = load_norm(m, l, norms[i], &b->norm[i]);
    if (s) return s;
    return SAEX_OK;
}

static saex_status load_weights(saex_model *m) {
    const gemma2_config *c = &m->cfg;
    const st_tensor *emb;
    saex_status s = get_weight(m, "model.embed_tokens.weight", c->vocab_size, c->d_model, &emb);
    if (s) return s;
    if ((s = m->be->table_create(m->be, emb->data, be_of(emb->dtype), c->vocab_size, c->d_model, &m->embed))) return s;
    m->blocks = calloc((size_t)m->info.deepest_layer + 1, sizeof *m->blocks);
    if (!m->blocks) return saex_fail(SAEX_ERR_NOMEM, "out of memory");
    for (int l = 0; l <= m->info.deepest_layer; l++)
        if ((s = load_block(m, l))) return s;
    int64_t D = c->d_model, q = (int64_t)c->n_heads * c->head_dim, kv = (int64_t)c->n_kv_heads * c->head_dim;
    size_t es = m->compute == BE_F32 ? 4 : 2;
    m->info.weight_bytes = (size_t)(m->info.deepest_layer + 1) * es * (size_t)((q + 2 * kv) * D + D * q + 3 * D * c->d_ff) +
                           (size_t)c->vocab_size * D * st_dtype_size(emb->dtype);
    return SAEX_OK;
}

/* ---------------------------------------------------------------- scratch */

/* Releases every buffer sized by max_tokens (the captured residuals of the
 * latest batch included). */
static void free_scratch(saex_model *m) {
    backend *b = m->be;
    void **bufs[] = {(void **)&m->x,    (void **)&m->h,   (void **)&m->qkv,     (void **)&m->attn,   (void **)&m->gu,
                     (void **)&m->act,  (void **)&m->rows, (void **)&m->ids_dev, (void **)&m->pos_dev};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++) {
        if (*bufs[i]) b->free(b, *bufs[i]);
        *bufs[i] = NULL;
    }
    for (int i = 0; i < m->n_cap; i++) {
        if (m->cap[i].resid) b->free(b, m->cap[i].resid);
        m->cap[i].resid = NULL;
    }
    free(m->ids_host), free(m->pos_host), free(m->row_idx), free(m->nact_host);
    m->ids_host = m->pos_host = NULL;
    m->row_idx = NULL;
    m->nact_host = NULL;
}

static saex_status alloc_scratch(saex_model *m) {
    const gemma2_config *c = &m->cfg;
    int64_t T = m->max_tokens, D = c->d_model, hd = c->head_dim;
    backend *b = m->be;
    /* Every buffer is f32 (or int32) rows of T tokens. */
    const struct {
        void **p;
        int64_t cols;
    } bufs[] = {
        {(void **)&m->x, D},                                       /* [T, D] residual stream */
        {(void **)&m->h, D},                                       /* [T, D] normed input / output of a sublayer */
        {(void **)&m->qkv, (c->n_heads + 2 * c->n_kv_heads) * hd}, /* [T, (nh + 2 nkv) hd] */
        {(void **)&m->attn, (int64_t)c->n_heads * hd},             /* [T, nh hd] */
        {(void **)&m->gu, 2 * (int64_t)c->d_ff},                   /* [T, 2 d_ff] gate | up */
        {(void **)&m->act, c->d_ff},                               /* [T, d_ff] */
        {(void **)&m->rows, D},                                    /* [T, D] gathered rows for the SAE */
        {(void **)&m->ids_dev, 1},                                 /* [T] token ids */
        {(void **)&m->pos_dev, 1},                                 /* [T] positions */
    };
    saex_status s = SAEX_OK;
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0] && !s; i++) s = b->alloc(b, (size_t)(T * bufs[i].cols) * 4, bufs[i].p);
    if (s) return s;
    for (int i = 0; i < m->n_cap; i++)
        if (m->cap[i].layer != m->info.deepest_layer &&
            (s = b->alloc(b, (size_t)(T * D) * 4, (void **)&m->cap[i].resid)))
            return s;
    m->ids_host = malloc((size_t)T * 4);
    m->pos_host = malloc((size_t)T * 4);
    m->row_idx = malloc((size_t)T * sizeof(int64_t));
    m->nact_host = malloc((size_t)T * 4);
    if (!m->ids_host || !m->pos_host || !m->row_idx || !m->nact_host) return saex_fail(SAEX_ERR_NOMEM, "out of memory");
    return SAEX_OK;
}

/* ------------------------------------------------------------------- open */

static saex_status make_backend(const saex_model_options *o, backend **out) {
    if (o->device == SAEX_DEVICE_CUDA) return backend_cuda_create(o->cuda_device, out);
    if (o->device == SAEX_DEVICE_AUTO && backend_cuda_available() && backend_cuda_create(o->cuda_device, out) == SAEX_OK)
        return SAEX_OK;
    return backend_cpu_create(o->threads, out);
}

static saex_status set_captures(saex_model *m, const int *layers, int n) {
    if (n <= 0) return saex_fail(SAEX_ERR_ARG, "no layers requested");
    m->cap = calloc((size_t)n, sizeof *m->cap);
    if (!m->cap) return saex_fail(SAEX_ERR_NOMEM, "out of memory");
    m->info.deepest_layer = -1;
    for (int i = 0; i < n; i++) {
        if (layers[i] < 0 || layers[i] >= m->cfg.n_layers)
            return saex_fail(SAEX_ERR_ARG, "layer %d does not exist: the model has blocks 0..%d", layers[i], m->cfg.n_layers - 1);
        for (int j = 0; j < m->n_cap; j++)
            if (m->cap[j].layer == layers[i]) return saex_fail(SAEX_ERR_ARG, "layer %d requested twice", layers[i]);
        m->cap[m->n_cap++].layer = layers[i];
        if (layers[i] > m->info.deepest_layer) m->info.deepest_layer = layers[i];
    }
    return SAEX_OK;
}

static void fill_info(saex_model *m, const saex_model_options *o) {
    const gemma2_config *c = &m->cfg;
    saex_model_info *i = &m->info;
    i->n_layers = c->n_layers, i->d_model = c->d_model, i->n_heads = c->n_heads, i->n_kv_heads = c->n_kv_heads;
    i->head_dim = c->head_dim, i->d_ff = c->d_ff, i->vocab_size = c->vocab_size, i->max_positions = c->max_positions;
    i->sliding_window = c->sliding_window;
    snprintf(m->dtype_name, sizeof m->dtype_name, "%s", c->dtype);
    i->dtype = m->dtype_name;
    i->device = m->be->name;
    i->threads = m->be->threads;
}

/* HF multiplies by a tensor sqrt(D) of the activation dtype: in a bf16 model
 * the normalizer itself is rounded to bf16 (sqrt(3584) = 59.87 -> 60.0). */
static float embed_scale(const saex_model *m) {
    float s = sqrtf((float)m->cfg.d_model);
    return m->compute == BE_BF16 ? st_bf16_to_f32(st_f32_to_bf16(s)) : s;
}

static int want_tensor(const char *name, void *deepest) { return gemma2_tensor_needed(name, *(const int *)deepest); }

static saex_status open_impl(saex_model *m, const char *dir, const int *layers, int n_layers, const saex_model_options *o) {
    char path[4096];
    snprintf(path, sizeof path, "%s/config.json", dir);
    saex_status s;
    if ((s = gemma2_config_load(path, &m->cfg))) return s;
    if ((s = set_captures(m, layers, n_layers))) return s;
    /* Only the shards holding the embedding and blocks 0..deepest: the others
     * need not even be on disk (downloads fetch only these). */
    if ((s = st_open_some(dir, want_tensor, &m->info.deepest_layer, &m->st))) return s;
    if ((s = make_backend(o, &m->be))) return s;
    fill_info(m, o);
    const st_tensor *emb = st_find(m->st, "model.embed_tokens.weight");
    int stored_bf16 = emb && emb->dtype == ST_BF16;
    m->compute = o->precision == SAEX_PRECISION_F32 || !stored_bf16 ? BE_F32 : BE_BF16;
    m->embed_scale = embed_scale(m);
    m->max_tokens = o->max_batch_tokens > 0 ? o->max_batch_tokens : 8192;
    if ((s = load_weights(m))) return s;
    return alloc_scratch(m);
}

saex_status saex_model_open(const char *dir, const int *layers, int n_layers, const saex_model_options *opt,
                            saex_model **out) {
    *out = NULL;
    saex_model_options defaults;
    if (!opt) saex_model_options_init(&defaults), opt = &defaults;
    saex_model *m = calloc(1, sizeof *m);
    if (!m) return saex_fail(SAEX_ERR_NOMEM, "out of memory");
    double t0 = now_s();
    saex_status s = open_impl(m, dir, layers, n_layers, opt);
    if (s) {
        saex_model_close(m);
        return s;
    }
    m->info.load_seconds = now_s() - t0;
    *out = m;
    return SAEX_OK;
}

void saex_model_close(saex_model *m) {
    if (!m) return;
    backend *b = m->be;
    if (b) {
        b->weight_free(b, m->embed);
        for (int l = 0; m->blocks && l <= m->info.deepest_layer; l++) {
            block *k = &m->blocks[l];
            b->weight_free(b, k->qkv), b->weight_free(b, k->o), b->weight_free(b, k->gate_up), b->weight_free(b, k->down);
            for (int i = 0; i < 4; i++) b->free(b, k->norm[i]);
        }
        for (int i = 0; i < m->n_cap; i++)
            if (m->cap[i].enc) b->sae_free(b, m->cap[i].enc);
        free_scratch(m); /* the captured residuals too */
        b->destroy(b);
    }
    free(m->blocks), free(m->cap);
    free(m->topk_ids), free(m->topk_vals), free(m->seq_start), free(m->keep_pos);
    if (m->st) st_close(m->st);
    gemma2_config_free(&m->cfg);
    free(m);
}

const saex_model_info *saex_model_get_info(const saex_model *m) { return &m->info; }

/* ---------------------------------------------------------------- forward */

static saex_status check_batch(saex_model *m, const int32_t *const *seqs, const int *lens, int n_seqs) {
    int64_t T = 0;
    if (n_seqs <= 0) return saex_fail(SAEX_ERR_ARG, "empty batch");
    for (int s = 0; s < n_seqs; s++) {
        if (lens[s] < 1 || lens[s] > m->cfg.max_positions)
            return saex_fail(SAEX_ERR_RANGE, "sequence %d has %d tokens; the model accepts 1..%d (max_position_embeddings)", s, lens[s], m->cfg.max_positions);
        for (int i = 0; i < lens[s]; i++)
            if (seqs[s][i] < 0 || seqs[s][i] >= m->cfg.vocab_size)
                return saex_fail(SAEX_ERR_RANGE, "sequence %d, position %d: token id %d is outside the vocabulary (0..%d)", s, i, seqs[s][i], m->cfg.vocab_size - 1);
        T += lens[s];
    }
    if (T > m->max_tokens) { /* one sequence longer than max_batch_tokens: grow, once */
        free_scratch(m);
        m->max_tokens = T;
        return alloc_scratch(m);
    }
    return SAEX_OK;
}

static saex_status stage_batch(saex_model *m, const int32_t *const *seqs, const int *lens, int n_seqs) {
    if (n_seqs + 1 > m->seq_cap) {
        int *p = realloc(m->seq_start, (size_t)(n_seqs + 1) * sizeof(int));
        if (!p) return saex_fail(SAEX_ERR_NOMEM, "out of memory");
        m->seq_start = p, m->seq_cap = n_seqs + 1;
    }
    int64_t t = 0;
    for (int s = 0; s < n_seqs; s++) {
        m->seq_start[s] = (int)t;
        for (int i = 0; i < lens[s]; i++, t++) m->ids_host[t] = seqs[s][i], m->pos_host[t] = i;
    }
    m->seq_start[n_seqs] = (int)t;
    m->n_seqs = n_seqs, m->T = t;
    saex_status s = m->be->upload(m->be, m->ids_dev, m->ids_host, (size_t)t * 4);
    return s ? s : m->be->upload(m->be, m->pos_dev, m->pos_host, (size_t)t * 4);
}

/* Norm, q/k/v projections, RoPE and attention over all T rows: attn = softmax(q k^T) v. */
static saex_status attention_core(saex_model *m, int l) {
    const gemma2_config *c = &m->cfg;
    backend *b = m->be;
    const block *k = &m->blocks[l];
    int64_t T = m->T, D = c->d_model;
    be_attn_params p = {c->n_heads, c->n_kv_heads, c->head_dim, 1.0f / sqrtf(c->query_pre_attn_scalar),
                        c->attn_softcap, c->sliding[l] ? c->sliding_window : 0};
    saex_status s = b->rmsnorm(b, m->x, k->norm[0], T, D, c->rms_eps, m->h, 0);
    if (!s) s = b->matmul(b, k->qkv, m->h, T, m->qkv);
    if (!s) s = b->rope(b, m->qkv, m->pos_dev, T, c->n_heads, c->n_kv_heads, c->head_dim, c->rope_theta);
    if (!s) s = b->attention(b, m->qkv, m->seq_start, m->n_seqs, &p, m->attn);
    return s;
}

/* x[0..n) += post_attention_norm(attn[0..n) . W_o^T) */
static saex_status attention_out(saex_model *m, int l, const float *attn, int64_t n) {
    backend *b = m->be;
    const block *k = &m->blocks[l];
    saex_status s = b->matmul(b, k->o, attn, n, m->h);
    return s ? s : b->rmsnorm(b, m->h, k->norm[1], n, m->cfg.d_model, m->cfg.rms_eps, m->x, 1);
}

/* x[0..n) += post_feedforward_norm(down(gelu(gate(h)) * up(h))), h = pre_feedforward_norm(x) */
static saex_status mlp_part(saex_model *m, int l, int64_t n) {
    const gemma2_config *c = &m->cfg;
    backend *b = m->be;
    const block *k = &m->blocks[l];
    int64_t D = c->d_model;
    saex_status s = b->rmsnorm(b, m->x, k->norm[2], n, D, c->rms_eps, m->h, 0);
    if (!s) s = b->matmul(b, k->gate_up, m->h, n, m->gu);
    if (!s) s = b->geglu(b, m->gu, n, c->d_ff, m->act);
    if (!s) s = b->matmul(b, k->down, m->act, n, m->h);
    if (!s) s = b->rmsnorm(b, m->h, k->norm[3], n, D, c->rms_eps, m->x, 1);
    return s;
}

static saex_status full_block(saex_model *m, int l) {
    saex_status s = attention_core(m, l);
    if (!s) s = attention_out(m, l, m->attn, m->T);
    return s ? s : mlp_part(m, l, m->T);
}

/* The deepest block when only keep_pos is read: attention needs every row's
 * keys and values, but after it each row is independent, so the kept rows
 * are gathered to the front (x into x[0..n), attention into qkv, which is
 * free by then) and the rest of the block runs on n rows. */
static saex_status pruned_block(saex_model *m, int l) {
    backend *b = m->be;
    int64_t n = m->n_seqs, D = m->cfg.d_model, A = (int64_t)m->cfg.n_heads * m->cfg.head_dim;
    saex_status s = attention_core(m, l);
    if (s) return s;
    for (int64_t i = 0; i < n; i++) m->row_idx[i] = m->seq_start[i] + m->keep_pos[i];
    s = b->gather_rows(b, m->x, D, m->row_idx, n, m->h);
    if (!s) s = b->gather_rows(b, m->attn, A, m->row_idx, n, m->qkv);
    if (s) return s;
    for (int64_t i = 0; i < n; i++) m->row_idx[i] = i;
    if ((s = b->gather_rows(b, m->h, D, m->row_idx, n, m->x))) return s;
    if ((s = attention_out(m, l, m->qkv, n))) return s;
    return mlp_part(m, l, n);
}

/* Copies x into a capture buffer for every requested layer but the deepest
 * (the pass stops there, so x itself holds it). */
static saex_status capture_layer(saex_model *m, int l) {
    for (int i = 0; i < m->n_cap; i++) {
        if (m->cap[i].layer != l || !m->cap[i].resid) continue;
        for (int64_t t = 0; t < m->T; t++) m->row_idx[t] = t;
        return m->be->gather_rows(m->be, m->x, m->cfg.d_model, m->row_idx, m->T, m->cap[i].resid);
    }
    return SAEX_OK;
}

static saex_status stage_keep(saex_model *m, const int *lens, const int *keep_pos) {
    free(m->keep_pos);
    m->keep_pos = NULL;
    if (!keep_pos) return SAEX_OK;
    for (int i = 0; i < m->n_seqs; i++)
        if (keep_pos[i] < 0 || keep_pos[i] >= lens[i])
            return saex_fail(SAEX_ERR_ARG, "keep position %d is outside sequence %d (length %d)", keep_pos[i], i, lens[i]);
    m->keep_pos = malloc((size_t)m->n_seqs * sizeof(int));
    if (!m->keep_pos) return saex_fail(SAEX_ERR_NOMEM, "out of memory");
    memcpy(m->keep_pos, keep_pos, (size_t)m->n_seqs * sizeof(int));
    return SAEX_OK;
}

saex_status saex_model_forward_at(saex_model *m, const int32_t *const *seqs, const int *lens, int n_seqs,
                                  const int *keep_pos) {
    m->T = 0;
    saex_status s = check_batch(m, seqs, lens, n_seqs);
    if (!s) s = stage_batch(m, seqs, lens, n_seqs);
    if (!s) s = stage_keep(m, lens, keep_pos);
    if (!s) s = m->be->embed(m->be, m->embed, m->ids_dev, m->T, m->embed_scale, m->x);
    if (s) return m->T = 0, s;
    for (int l = 0; l <= m->info.deepest_layer; l++) {
        s = l == m->info.deepest_layer && m->keep_pos ? pruned_block(m, l) : full_block(m, l);
        if (s || (s = capture_layer(m, l))) return m->T = 0, s;
    }
    return SAEX_OK;
}

saex_status saex_model_forward(saex_model *m, const int32_t *const *seqs, const int *lens, int n_seqs) {
    return saex_model_forward_at(m, seqs, lens, n_seqs, NULL);
}

/* ------------------------------------------------------------ read-back */

static saex_status find_capture(saex_model *m, int layer, capture **out) {
    for (int i = 0; i < m->n_cap; i++)
        if (m->cap[i].layer == layer) return *out = &m->cap[i], SAEX_OK;
    return saex_fail(SAEX_ERR_ARG, "layer %d is not captured by this model handle", layer);
}

static const float *resid_of(const saex_model *m, const capture *c) { return c->resid ? c->resid : m->x; }

/* The row of (seq, pos) in capture c's buffer; the deepest layer of a
 * pruned batch holds only the kept rows, one per sequence, in order. */
static saex_status row_of(const saex_model *m, const capture *c, int seq, int pos, int64_t *row) {
    if (m->T == 0) return saex_fail(SAEX_ERR_ARG, "no batch has been run");
    if (seq < 0 || seq >= m->n_seqs) return saex_fail(SAEX_ERR_ARG, "sequence %d is not in the batch (0..%d)", seq, m->n_seqs - 1);
    int len = m->seq_start[seq + 1] - m->seq_start[seq];
    if (pos < 0 || pos >= len) return saex_fail(SAEX_ERR_ARG, "position %d is outside sequence %d (length %d)", pos, seq, len);
    if (m->keep_pos && c->layer == m->info.deepest_layer) {
        if (pos != m->keep_pos[seq])
            return saex_fail(SAEX_ERR_ARG, "layer %d was run for position %d of sequence %d only (saex_model_forward_at), not %d", c->layer, m->keep_pos[seq], seq, pos);
        *row = seq;
        return SAEX_OK;
    }
    *row = m->seq_start[seq] + pos;
    return SAEX_OK;
}

saex_status saex_model_residual(saex_model *m, int layer, int seq, int pos, float *out) {
    capture *c = NULL;
    int64_t row, D = m->cfg.d_model;
    saex_status s;
    if ((s = find_capture(m, layer, &c)) || (s = row_of(m, c, seq, pos, &row))) return s;
    return m->be->download(m->be, out, resid_of(m, c) + row * D, (size_t)D * sizeof(float));
}

saex_status saex_model_attach_sae(saex_model *m, int layer, const saex_sae *sae) {
    capture *c = NULL;
    saex_status s = find_capture(m, layer, &c);
    if (s) return s;
    if (sae->d_in != m->cfg.d_model)
        return saex_fail(SAEX_ERR_MISMATCH, "%s: SAE input width %lld does not match the model's hidden size %d", sae->path, (long long)sae->d_in, m->cfg.d_model);
    if (c->enc) m->be->sae_free(m->be, c->enc), c->enc = NULL;
    if ((s = m->be->sae_create(m->be, sae->W_enc, sae->b_enc, sae->threshold, sae->d_in, sae->d_sae, &c->enc))) return s;
    c->sae = sae;
    return SAEX_OK;
}

static saex_status grow_topk(saex_model *m, size_t need) {
    if (need <= m->topk_cap) return SAEX_OK;
    free(m->topk_ids), free(m->topk_vals);
    m->topk_ids = malloc(need * sizeof(int32_t));
    m->topk_vals = malloc(need * sizeof(float));
    m->topk_cap = m->topk_ids && m->topk_vals ? need : 0;
    return m->topk_cap ? SAEX_OK : saex_fail(SAEX_ERR_NOMEM, "out of memory");
}

saex_status saex_model_sae_topk(saex_model *m, int layer, const int *seq, const int *pos, int n, int k, saex_feature *out,
                                int32_t *n_active) {
    capture *c = NULL;
    saex_status s = find_capture(m, layer, &c);
    if (s) return s;
    if (!c->enc) return saex_fail(SAEX_ERR_ARG, "no SAE is attached to layer %d", layer);
    if (k < 1 || k > c->sae->d_sae) return saex_fail(SAEX_ERR_ARG, "top-k %d is outside 1..%lld (the SAE's width)", k, (long long)c->sae->d_sae);
    if (n < 0 || n > m->T) return saex_fail(SAEX_ERR_ARG, "%d positions requested, the batch has %lld tokens", n, (long long)m->T);
    for (int i = 0; i < n; i++)
        if ((s = row_of(m, c, seq[i], pos[i], &m->row_idx[i]))) return s;
    int32_t *na = n_active ? n_active : m->nact_host;
    s = grow_topk(m, (size_t)n * (size_t)k);
    if (!s) s = m->be->gather_rows(m->be, resid_of(m, c), m->cfg.d_model, m->row_idx, n, m->rows);
    if (!s) s = m->be->sae_topk(m->be, c->enc, m->rows, n, k, m->topk_ids, m->topk_vals, na);
    if (s) return s;
    for (size_t i = 0; i < (size_t)n * (size_t)k; i++) out[i] = (saex_feature){m->topk_ids[i], m->topk_vals[i]};
    return SAEX_OK;
}
