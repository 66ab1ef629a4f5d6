/* plan.c — which samples run, in which batches, on which shard.
 *
 * The samples that tokenized cleanly are sorted by length (longest first,
 * then by document order) and packed greedily into batches of at most
 * batch_tokens tokens; a longer sample gets a batch of its own. The batches
 * are then cut into n_shards contiguous ranges of about equal token counts.
 * Nothing here depends on the shard count except that last cut, so the
 * batches — and therefore the numbers — are the same however the work is
 * split or resumed (pipeline.h). */
#include "digest.h"
#include "error.h"
#include "pipeline.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void saved_positions(const position_rule *pr, int32_t n_ids, int32_t prompt_len, int32_t *first, int32_t *count) {
    if (pr->save_all) {
        *first = pr->exclude_bos ? 1 : 0;
        *count = n_ids > *first ? n_ids - *first : 0;
    } else {
        *first = prompt_len - 1;
        *count = 1;
    }
}

void plan_free(plan *p) {
    if (p->reason)
        for (int64_t i = 0; i < p->n; i++) free(p->reason[i]);
    free(p->in_run), free(p->n_ids), free(p->prompt_len), free(p->mode), free(p->batch), free(p->slot);
    free(p->reason), free(p->ids), free(p->ids_off), free(p->batch_off), free(p->order), free(p->batch_tok);
    free(p->batch_pos), free(p->shard_first);
    memset(p, 0, sizeof *p);
}

static saex_status alloc_per_sample(plan *p, int64_t n) {
    size_t m = (size_t)(n ? n : 1);
    p->n = n;
    p->in_run = calloc(m, 1);
    p->n_ids = calloc(m, sizeof *p->n_ids);
    p->prompt_len = calloc(m, sizeof *p->prompt_len);
    p->mode = calloc(m, 1);
    p->batch = malloc(m * sizeof *p->batch);
    p->slot = malloc(m * sizeof *p->slot);
    p->reason = calloc(m, sizeof *p->reason);
    p->ids_off = calloc(m + 1, sizeof *p->ids_off);
    if (!p->in_run || !p->n_ids || !p->prompt_len || !p->mode || !p->batch || !p->slot || !p->reason || !p->ids_off)
        return saex_fail(SAEX_ERR_NOMEM, "out of memory planning %lld samples", (long long)n);
    for (int64_t i = 0; i < n; i++) p->batch[i] = p->slot[i] = -1;
    return SAEX_OK;
}

static saex_status select_samples(const saex_doc *d, const saex_run_options *o, plan *p) {
    if (o->select) {
        for (int64_t j = 0; j < o->n_select; j++) {
            int64_t i = o->select[j];
            if (i < 0 || i >= d->n || (j > 0 && i <= o->select[j - 1]))
                return saex_fail(SAEX_ERR_ARG, "%s: selected sample %lld is out of range 0..%lld or not ascending",
                                 d->name, (long long)i, (long long)d->n - 1);
            p->in_run[i] = 1;
        }
        return SAEX_OK;
    }
    int64_t n = o->max_samples > 0 && o->max_samples < d->n ? o->max_samples : d->n;
    memset(p->in_run, 1, (size_t)n);
    return SAEX_OK;
}

/* Tokenizes every selected sample, in parallel; fills n_ids, prompt_len,
 * mode, reason and the concatenated ids. */
static saex_status encode_all(const saex_doc *d, const saex_tokenizer *tok, const saex_run_options *o, int max_positions,
                              plan *p) {
    encoded *e = calloc((size_t)(p->n ? p->n : 1), sizeof *e);
    if (!e) return saex_fail(SAEX_ERR_NOMEM, "out of memory tokenizing %lld samples", (long long)p->n);
    encode_opts eo = {o->chat_template, o->joint_tokenization};
    int oom = 0;
    char oom_msg[512] = "";
#pragma omp parallel for schedule(dynamic, 16)
    for (int64_t i = 0; i < p->n; i++) {
        if (!p->in_run[i] || oom) continue;
        if (encode_sample(d, i, tok, &eo, &e[i]) != SAEX_OK) {
#pragma omp critical
            {
                oom = 1;
                snprintf(oom_msg, sizeof oom_msg, "%s", saex_last_error());
            }
        }
    }
    saex_status st = oom ? saex_fail(SAEX_ERR_NOMEM, "%s", oom_msg) : SAEX_OK;
    int64_t total = 0;
    for (int64_t i = 0; i < p->n; i++) {
        p->n_ids[i] = e[i].n_ids, p->prompt_len[i] = e[i].prompt_len, p->mode[i] = (uint8_t)e[i].mode;
        p->reason[i] = e[i].reason;
        if (!e[i].reason && e[i].ids && e[i].n_ids > max_positions) {
            char buf[160];
            snprintf(buf, sizeof buf, "too long: %d tokens, the model accepts at most %d (max_position_embeddings)",
                     e[i].n_ids, max_positions);
            p->reason[i] = strdup(buf);
            if (!p->reason[i]) st = saex_fail(SAEX_ERR_NOMEM, "out of memory");
        }
        p->ids_off[i] = total;
        total += e[i].n_ids;
    }
    p->ids_off[p->n] = total;
    p->ids = malloc((size_t)(total ? total : 1) * sizeof *p->ids);
    if (!p->ids && !st) st = saex_fail(SAEX_ERR_NOMEM, "out of memory for %lld tokens", (long long)total);
    for (int64_t i = 0; i < p->n; i++) {
        if (p->ids && e[i].ids) memcpy(p->ids + p->ids_off[i], e[i].ids, (size_t)e[i].n_ids * sizeof *p->ids);
        free(e[i].ids);
    }
    free(e);
    return st;
}

static const plan *g_sort_plan; /* qsort has no context argument in C11 */
static int by_length_desc(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    int32_t lx = g_sort_plan->n_ids[x], ly = g_sort_plan->n_ids[y];
    if (lx != ly) return lx > ly ? -1 : 1;
    return x < y ? -1 : x > y;
}

static saex_status pack_batches(plan *p, const saex_run_options *o) {
    int64_t n_run = 0;
    for (int64_t i = 0; i < p->n; i++) n_run += p->in_run[i] && !p->reason[i];
    p->order = malloc((size_t)(n_run ? n_run : 1) * sizeof *p->order);
    p->batch_off = malloc((size_t)(n_run + 1) * sizeof *p->batch_off);
    p->batch_tok = malloc((size_t)(n_run ? n_run : 1) * sizeof *p->batch_tok);
    p->batch_pos = malloc((size_t)(n_run ? n_run : 1) * sizeof *p->batch_pos);
    if (!p->order || !p->batch_off || !p->batch_tok || !p->batch_pos) return saex_fail(SAEX_ERR_NOMEM, "out of memory");
    int64_t k = 0;
    for (int64_t i = 0; i < p->n; i++)
        if (p->in_run[i] && !p->reason[i]) p->order[k++] = i;
    g_sort_plan = p;
    qsort(p->order, (size_t)n_run, sizeof *p->order, by_length_desc);
    position_rule pr = {o->save_all_tokens, o->exclude_bos};
    int64_t limit = o->batch_tokens > 0 ? o->batch_tokens : 4096;
    p->n_batches = 0;
    p->total_tokens = 0;
    for (int64_t b = 0; b < n_run;) {
        int64_t e = b, tok = 0, pos = 0;
        while (e < n_run && (e == b || tok + p->n_ids[p->order[e]] <= limit)) {
            int64_t s = p->order[e];
            int32_t first, count;
            saved_positions(&pr, p->n_ids[s], p->prompt_len[s], &first, &count);
            p->batch[s] = (int32_t)p->n_batches;
            p->slot[s] = (int32_t)(e - b);
            tok += p->n_ids[s], pos += count, e++;
        }
        p->batch_off[p->n_batches] = b;
        p->batch_tok[p->n_batches] = tok;
        p->batch_pos[p->n_batches] = pos;
        p->n_batches++;
        p->total_tokens += tok;
        b = e;
    }
    p->batch_off[p->n_batches] = n_run;
    return SAEX_OK;
}

/* Shard s gets the batches whose token count before them is in
 * [s * total / n, (s + 1) * total / n). */
static saex_status cut_shards(plan *p, int n_shards) {
    p->n_shards = n_shards;
    p->shard_first = malloc((size_t)(n_shards + 1) * sizeof *p->shard_first);
    if (!p->shard_first) return saex_fail(SAEX_ERR_NOMEM, "out of memory");
    int64_t before = 0, b = 0;
    for (int s = 0; s < n_shards; s++) {
        p->shard_first[s] = b;
        /* Integer arithmetic: the cut must not depend on floating point rounding. */
        while (b < p->n_batches && before * n_shards < (int64_t)(s + 1) * p->total_tokens) before += p->batch_tok[b++];
    }
    p->shard_first[n_shards] = p->n_batches;
    return SAEX_OK;
}

static void hash_plan(plan *p) {
    sha256_ctx c;
    if (sha256_init(&c) != SAEX_OK) return;
    sha256_update(&c, &p->n, sizeof p->n);
    sha256_update(&c, p->in_run, (size_t)p->n);
    sha256_update(&c, p->n_ids, (size_t)p->n * sizeof *p->n_ids);
    sha256_update(&c, p->prompt_len, (size_t)p->n * sizeof *p->prompt_len);
    sha256_update(&c, p->mode, (size_t)p->n);
    sha256_update(&c, p->batch, (size_t)p->n * sizeof *p->batch);
    for (int64_t i = 0; i < p->n; i++)
        if (p->reason[i]) sha256_update(&c, p->reason[i], strlen(p->reason[i]) + 1);
    sha256_update(&c, p->ids, (size_t)p->ids_off[p->n] * sizeof *p->ids);
    sha256_update(&c, p->order, (size_t)p->batch_off[p->n_batches] * sizeof *p->order);
    sha256_final_hex(&c, p->sha256);
}

saex_status plan_build(const saex_doc *d, const saex_tokenizer *tok, const saex_run_options *o, int max_positions,
                       int n_shards, plan *p) {
    memset(p, 0, sizeof *p);
    saex_status st = alloc_per_sample(p, d->n);
    if (!st) st = select_samples(d, o, p);
    if (!st) st = encode_all(d, tok, o, max_positions, p);
    if (!st) st = pack_batches(p, o);
    if (!st) st = cut_shards(p, n_shards > 0 ? n_shards : 1);
    if (st) {
        plan_free(p);
        return st;
    }
    hash_plan(p);
    return SAEX_OK;
}
