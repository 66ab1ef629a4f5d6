/* cuda.cu — the CUDA backend: the ops of backend.h on one NVIDIA GPU.
 *
 * C-style CUDA: plain structs, extern "C" entry points, no exceptions, no
 * templates beyond what the kernels need. Everything runs on one stream;
 * download() and sync() wait for it. Matmuls go to cuBLAS with f32
 * accumulation (never TF32: BE_F32 is the exact-comparison mode); every
 * other op is a small kernel below. The CPU backend (cpu.c) is the
 * numerical reference and these kernels follow its formulas op by op.
 *
 * Memory
 *   - weights: one device W[n, k] per weight, in the compute dtype;
 *   - scratch: one device buffer, grown (never shrunk) when an op needs
 *     more (bf16 copy of matmul inputs, upload chunks, SAE pre-activations),
 *     so the steady state allocates nothing;
 *   - staging: two pinned host buffers; uploads ping-pong between them so
 *     the host copy of one chunk overlaps the DMA of the other. Small
 *     per-call arrays (attention tiles, gather rows) have their own pair of
 *     pinned buffers: an upload from pageable memory would wait for the
 *     whole stream at every call.
 * Every CUDA / cuBLAS call is checked; a failure becomes
 * saex_fail(SAEX_ERR_BACKEND, "cuda: <call>: <reason>"). */
#include <cub/device/device_segmented_radix_sort.cuh>
#include <cublas_v2.h>
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

extern "C" {
#include "backend/backend.h"
#include "error.h"
}

/* ------------------------------------------------------------- constants */

#define STAGE_BYTES ((size_t)32 << 20)  /* each of the two pinned staging buffers */
#define SAE_PRE_BYTES ((size_t)256 << 20) /* pre-activations per SAE chunk */

/* attention: one block = ATT_BQ queries of one head of one sequence */
#define ATT_BQ 16
#define ATT_BK 32    /* keys per shared-memory tile: one per lane */
#define ATT_WARPS 4
#define ATT_QPW (ATT_BQ / ATT_WARPS) /* queries per warp */
#define ATT_MAXT 8   /* head_dim / 32 rounded up: head_dim <= 256 */
#define ATT_MAX_HD (32 * ATT_MAXT)

/* SAE top-k: up to TOPK_CAP, candidates sorted in shared memory; larger k
 * sorts whole rows in global memory (CUB), SORT_BYTES at most per chunk */
#define TOPK_CAP 4096
#define TOPK_THREADS 512
#define SORT_BYTES ((size_t)1 << 30)
#define SMALL_MIN_BYTES ((size_t)64 << 10) /* each pinned buffer of small_upload, at least */

/* ------------------------------------------------------------ the handle */

typedef struct {
    int device;
    cudaStream_t stream;
    cublasHandle_t blas;
    void *scratch; /* device, scratch_bytes */
    size_t scratch_bytes;
    void *stage[2]; /* pinned host, STAGE_BYTES each */
    cudaEvent_t stage_done[2]; /* recorded after the DMA that reads stage[i] */
    int stage_next;
    void *small; /* device: attention tile map, gather row list */
    size_t small_bytes;
    void *small_host[2]; /* pinned, small_host_bytes each: what small_upload copies from */
    size_t small_host_bytes;
    cudaEvent_t small_done[2]; /* recorded after the copy that reads small_host[i] */
    int small_next;
    float *rope_inv; /* device [rope_hd / 2]: RoPE inverse frequencies for rope_theta */
    int rope_hd;
    float rope_theta;
} cuda_impl;

struct be_weight {
    int64_t n, k;
    be_dtype dtype; /* of the device copy */
    void *d;        /* device W[n, k] */
};

struct be_sae {
    int64_t d, s;
    float *W;   /* device W_enc[d, s] */
    float *b;   /* device b_enc[s] */
    float *thr; /* device threshold[s] */
};

static cuda_impl *impl_of(backend *b) { return (cuda_impl *)b->impl; }

#define CK(call)                                                                                       \
    do {                                                                                               \
        cudaError_t e_ = (call);                                                                       \
        if (e_ != cudaSuccess)                                                                         \
            return saex_fail(SAEX_ERR_BACKEND, "cuda: %s: %s", #call, cudaGetErrorString(e_));         \
    } while (0)

#define CKB(call)                                                                                      \
    do {                                                                                               \
        cublasStatus_t e_ = (call);                                                                    \
        if (e_ != CUBLAS_STATUS_SUCCESS)                                                               \
            return saex_fail(SAEX_ERR_BACKEND, "cuda: %s: %s", #call, cublasGetStatusString(e_));      \
    } while (0)

/* After a kernel launch: launch errors show here, execution errors at the next sync. */
#define CKL(name)                                                                                      \
    do {                                                                                               \
        cudaError_t e_ = cudaGetLastError();                                                           \
        if (e_ != cudaSuccess)                                                                         \
            return saex_fail(SAEX_ERR_BACKEND, "cuda: launch %s: %s", name, cudaGetErrorString(e_));   \
    } while (0)

static size_t dtype_size(be_dtype t) { return t == BE_F32 ? 4 : 2; }
static int dtype_ok(be_dtype t) { return t == BE_F32 || t == BE_BF16 || t == BE_F16; }
static const char *dtype_name(be_dtype t) { return t == BE_F32 ? "f32" : t == BE_BF16 ? "bf16" : "f16"; }

static unsigned grid_for(int64_t n, int threads) {
    int64_t g = (n + threads - 1) / threads;
    if (g > 65535 * 16) g = 65535 * 16; /* kernels below are grid-stride loops */
    return (unsigned)(g < 1 ? 1 : g);
}

/* Makes the current device ours (ops may come from another host thread). */
static saex_status enter(cuda_impl *c) {
    CK(cudaSetDevice(c->device));
    return SAEX_OK;
}

/* Grows a device buffer to at least `bytes`. The stream is drained first:
 * queued kernels may still read the old buffer. */
static saex_status grow(cuda_impl *c, void **buf, size_t *cap, size_t bytes) {
    if (bytes <= *cap) return SAEX_OK;
    CK(cudaStreamSynchronize(c->stream));
    CK(cudaFree(*buf));
    *buf = NULL;
    *cap = 0;
    size_t want = bytes + bytes / 8; /* a little headroom against creeping growth */
    cudaError_t e = cudaMalloc(buf, want);
    if (e != cudaSuccess) {
        *buf = NULL;
        return saex_fail(SAEX_ERR_BACKEND, "cuda: cudaMalloc(%zu bytes) for scratch: %s", want, cudaGetErrorString(e));
    }
    *cap = want;
    return SAEX_OK;
}

static saex_status scratch(cuda_impl *c, size_t bytes, void **out) {
    saex_status st = grow(c, &c->scratch, &c->scratch_bytes, bytes);
    if (st) return st;
    *out = c->scratch;
    return SAEX_OK;
}

/* Grows the two pinned buffers of small_upload to at least `bytes` each,
 * once the copies that read them are done. */
static saex_status small_host_grow(cuda_impl *c, size_t bytes) {
    if (bytes <= c->small_host_bytes) return SAEX_OK;
    size_t want = bytes > SMALL_MIN_BYTES ? bytes + bytes / 2 : SMALL_MIN_BYTES;
    for (int i = 0; i < 2; i++) {
        CK(cudaEventSynchronize(c->small_done[i]));
        if (c->small_host[i]) CK(cudaFreeHost(c->small_host[i]));
        c->small_host[i] = NULL;
    }
    c->small_host_bytes = 0;
    for (int i = 0; i < 2; i++) CK(cudaHostAlloc(&c->small_host[i], want, cudaHostAllocDefault));
    c->small_host_bytes = want;
    return SAEX_OK;
}

/* Small host array -> device (c->small), through a pinned buffer so that
 * the copy is queued without waiting for the stream; src may go away at
 * once. The device buffer is reused by the next call: stream order puts
 * that copy after the kernel that reads this one. */
static saex_status small_upload(cuda_impl *c, const void *src, size_t bytes, void **out) {
    saex_status st = grow(c, &c->small, &c->small_bytes, bytes);
    if (!st) st = small_host_grow(c, bytes);
    if (st) return st;
    int i = c->small_next;
    c->small_next ^= 1;
    CK(cudaEventSynchronize(c->small_done[i])); /* the copy two calls ago has read small_host[i] */
    memcpy(c->small_host[i], src, bytes);
    CK(cudaMemcpyAsync(c->small, c->small_host[i], bytes, cudaMemcpyHostToDevice, c->stream));
    CK(cudaEventRecord(c->small_done[i], c->stream));
    *out = c->small;
    return SAEX_OK;
}

/* Host -> device through the pinned staging buffers. */
static saex_status h2d(cuda_impl *c, void *dst, const void *src, size_t bytes) {
    char *d = (char *)dst;
    const char *s = (const char *)src;
    while (bytes) {
        size_t n = bytes < STAGE_BYTES ? bytes : STAGE_BYTES;
        int i = c->stage_next;
        c->stage_next ^= 1;
        CK(cudaEventSynchronize(c->stage_done[i])); /* the DMA that last read stage[i] */
        memcpy(c->stage[i], s, n);
        CK(cudaMemcpyAsync(d, c->stage[i], n, cudaMemcpyHostToDevice, c->stream));
        CK(cudaEventRecord(c->stage_done[i], c->stream));
        d += n;
        s += n;
        bytes -= n;
    }
    return SAEX_OK;
}

/* Device -> host through staging; waits for everything queued before it. */
static saex_status d2h(cuda_impl *c, void *dst, const void *src, size_t bytes) {
    char *d = (char *)dst;
    const char *s = (const char *)src;
    while (bytes) {
        size_t n = bytes < STAGE_BYTES ? bytes : STAGE_BYTES;
        /* stream order puts this after any queued H2D that still reads stage[0] */
        CK(cudaMemcpyAsync(c->stage[0], s, n, cudaMemcpyDeviceToHost, c->stream));
        CK(cudaStreamSynchronize(c->stream));
        memcpy(d, c->stage[0], n);
        d += n;
        s += n;
        bytes -= n;
    }
    return SAEX_OK;
}

/* ------------------------------------------------------------------ kernels */

__device__ __forceinline__ float load_as_f32(const void *p, int dt, int64_t i) {
    if (dt == BE_F32) return ((const float *)p)[i];
    if (dt == BE_BF16) return __bfloat162float(((const __nv_bfloat16 *)p)[i]);
    return __half2float(((const __half *)p)[i]);
}

__device__ __forceinline__ void store_from_f32(void *p, int dt, int64_t i, float v) {
    if (dt == BE_F32)
        ((float *)p)[i] = v;
    else if (dt == BE_BF16)
        ((__nv_bfloat16 *)p)[i] = __float2bfloat16_rn(v);
    else
        ((__half *)p)[i] = __float2half_rn(v);
}

/* dst[i] = dtype(src[i]), round to nearest even */
__global__ void k_convert(const void *src, int sdt, void *dst, int ddt, int64_t n) {
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x)
        store_from_f32(dst, ddt, i, load_as_f32(src, sdt, i));
}

/* x[i, :] = f32(table[ids[i], :]) * scale; one block per row */
__global__ void k_embed(const void *table, int dt, int64_t rows, int64_t cols, const int32_t *ids, float scale,
                        float *x) {
    int64_t i = blockIdx.x;
    int32_t id = ids[i];
    float *xr = x + i * cols;
    if (id < 0 || id >= rows) { /* the model checks ids first; never read outside the table */
        for (int64_t c = threadIdx.x; c < cols; c += blockDim.x) xr[c] = 0.0f;
        return;
    }
    int64_t base = (int64_t)id * cols;
    for (int64_t c = threadIdx.x; c < cols; c += blockDim.x) xr[c] = load_as_f32(table, dt, base + c) * scale;
}

__device__ __forceinline__ float warp_sum(float v) {
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}

__device__ __forceinline__ float warp_max(float v) {
    for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
    return v;
}

__device__ __forceinline__ double warp_sum_d(double v) {
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}

/* Sum over the block (blockDim.x a multiple of 32, <= 1024); every thread gets it. */
__device__ double block_sum_d(double v) {
    __shared__ double part[32];
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nw = blockDim.x >> 5;
    v = warp_sum_d(v);
    __syncthreads(); /* part[] may still be read by a previous call */
    if (lane == 0) part[warp] = v;
    __syncthreads();
    v = lane < nw ? part[lane] : 0.0;
    return warp_sum_d(v);
}

/* Gemma RMSNorm of one row per block: y = x / sqrt(mean(x^2) + eps) * (1 + w).
 * out may equal x when !acc (each thread reads its elements before writing them). */
__global__ void k_rmsnorm(const float *x, const float *w, int64_t d, float eps, float *out, int acc) {
    const float *xr = x + blockIdx.x * d;
    float *yr = out + blockIdx.x * d;
    double ss = 0.0; /* double, as cpu.c: the mean of thousands of squares */
    for (int64_t i = threadIdx.x; i < d; i += blockDim.x) ss += (double)xr[i] * xr[i];
    ss = block_sum_d(ss);
    float r = 1.0f / sqrtf((float)(ss / (double)d) + eps);
    for (int64_t i = threadIdx.x; i < d; i += blockDim.x) {
        float y = xr[i] * r * (1.0f + w[i]);
        if (acc)
            yr[i] += y;
        else
            yr[i] = y;
    }
}

/* Rotate-half RoPE on the q and k heads of qkv[m, (nh + 2 nkv) hd]: one
 * thread per (row, head, i < hd/2) rotates the pair (i, i + hd/2) by
 * pos * inv_freq[i] (computed on the host: be_rope_inv_freq). */
__global__ void k_rope(float *qkv, const int32_t *pos, const float *inv_freq, int64_t m, int nhk, int nall, int hd) {
    int half = hd / 2;
    int64_t total = m * nhk * half;
    for (int64_t t = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; t < total; t += (int64_t)gridDim.x * blockDim.x) {
        int i = (int)(t % half);
        int64_t rh = t / half;
        int h = (int)(rh % nhk);
        int64_t r = rh / nhk;
        float ang = (float)pos[r] * inv_freq[i];
        float cs = cosf(ang), sn = sinf(ang);
        float *p = qkv + r * (int64_t)nall * hd + (int64_t)h * hd;
        float x1 = p[i], x2 = p[i + half];
        p[i] = x1 * cs - x2 * sn;
        p[i + half] = x2 * cs + x1 * sn;
    }
}

/* 0.5 x (1 + tanh(u)) = x / (1 + e^(-2u)), the form cpu_math.h uses: the
 * first loses every digit to cancellation in 1 + tanh(u) for x below -3. */
__device__ __forceinline__ float gelu_tanh(float x) {
    const float k0 = 0.7978845608028654f; /* sqrt(2 / pi) */
    float u = k0 * (x + 0.044715f * x * x * x);
    return x / (1.0f + expf(-2.0f * u));
}

/* out[r, c] = gelu_tanh(gu[r, c]) * gu[r, f + c] */
__global__ void k_geglu(const float *gu, int64_t m, int64_t f, float *out) {
    int64_t total = m * f;
    for (int64_t t = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; t < total; t += (int64_t)gridDim.x * blockDim.x) {
        int64_t r = t / f, c = t % f;
        const float *g = gu + r * 2 * f;
        out[t] = gelu_tanh(g[c]) * g[f + c];
    }
}

/* dst[i, :] = src[rows[i], :]; one block per row */
__global__ void k_gather(const float *src, int64_t d, const int64_t *rows, float *dst) {
    const float *s = src + rows[blockIdx.x] * d;
    float *o = dst + blockIdx.x * d;
    for (int64_t c = threadIdx.x; c < d; c += blockDim.x) o[c] = s[c];
}

/* One attention tile: queries q0 .. q0 + ATT_BQ - 1 of a sequence that starts
 * at packed row row0 and has len tokens. */
typedef struct {
    int row0, len, q0, pad;
} att_tile;

/* Flash-style causal attention, f32 throughout.
 * grid = (tiles, n_heads); block = ATT_WARPS warps; warp w owns queries
 * q0 + w*ATT_QPW + r. Keys stream through shared memory ATT_BK at a time;
 * lane j scores key kt + j against the warp's queries, then the warp folds
 * the tile into each query's running max / sum / output (online softmax).
 * Each lane keeps output dims lane, lane + 32, ... (< hd).
 * Shared: Qs[ATT_BQ, hd], Ks[ATT_BK, ks] (ks odd: conflict-free column
 * reads by 32 lanes), Vs[ATT_BK, hd]. */
__global__ void __launch_bounds__(ATT_WARPS * 32)
    k_attention(const float *qkv, const att_tile *tiles, float *out, int nh, int nkv, int hd, float scale,
                float cap, int window) {
    extern __shared__ float sm[];
    const int ks = (hd % 2 == 0) ? hd + 1 : hd;
    float *Qs = sm;
    float *Ks = Qs + ATT_BQ * hd;
    float *Vs = Ks + ATT_BK * ks;

    const att_tile t = tiles[blockIdx.x];
    const int h = blockIdx.y;
    const int g = h / (nh / nkv); /* grouped-query: the kv head of query head h */
    const int64_t ld = (int64_t)(nh + 2 * nkv) * hd;
    const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
    const int nthr = ATT_WARPS * 32;

    for (int e = tid; e < ATT_BQ * hd; e += nthr) {
        int qi = e / hd, d = e - qi * hd;
        int i = t.q0 + qi;
        Qs[e] = i < t.len ? qkv[(int64_t)(t.row0 + i) * ld + (int64_t)h * hd + d] : 0.0f;
    }

    const int qlast = min(t.q0 + ATT_BQ, t.len) - 1; /* last query of the tile */
    const int kbeg = window > 0 ? max(0, t.q0 - window + 1) : 0;

    float m[ATT_QPW], l[ATT_QPW], o[ATT_QPW][ATT_MAXT];
#pragma unroll
    for (int r = 0; r < ATT_QPW; r++) {
        m[r] = -INFINITY;
        l[r] = 0.0f;
#pragma unroll
        for (int u = 0; u < ATT_MAXT; u++) o[r][u] = 0.0f;
    }

    for (int kt = kbeg; kt <= qlast; kt += ATT_BK) {
        __syncthreads(); /* Q is loaded; the previous K/V tile is consumed */
        for (int e = tid; e < ATT_BK * hd; e += nthr) {
            int jj = e / hd, d = e - jj * hd;
            int j = kt + jj;
            float kv = 0.0f, vv = 0.0f;
            if (j <= qlast) {
                const float *row = qkv + (int64_t)(t.row0 + j) * ld;
                kv = row[(int64_t)(nh + g) * hd + d];
                vv = row[(int64_t)(nh + nkv + g) * hd + d];
            }
            Ks[jj * ks + d] = kv;
            Vs[jj * hd + d] = vv;
        }
        __syncthreads();

        const int j = kt + lane; /* this lane's key */
        float sc[ATT_QPW];
#pragma unroll
        for (int r = 0; r < ATT_QPW; r++) sc[r] = 0.0f;
        const float *kr = Ks + lane * ks;
        const float *qw = Qs + warp * ATT_QPW * hd;
        for (int d = 0; d < hd; d++) {
            float kd = kr[d];
#pragma unroll
            for (int r = 0; r < ATT_QPW; r++) sc[r] += qw[r * hd + d] * kd;
        }

#pragma unroll
        for (int r = 0; r < ATT_QPW; r++) {
            const int i = t.q0 + warp * ATT_QPW + r; /* the same for the whole warp */
            if (i >= t.len) continue;
            const bool ok = j <= i && (window <= 0 || i - j < window);
            float s = sc[r] * scale;
            if (cap > 0.0f) s = tanhf(s / cap) * cap;
            s = ok ? s : -INFINITY;
            const float tmax = warp_max(s);
            if (tmax == -INFINITY) continue; /* no key of this tile is visible to query i */
            const float mn = fmaxf(m[r], tmax);
            const float corr = expf(m[r] - mn); /* 0 on the first visible tile */
            const float p = ok ? expf(s - mn) : 0.0f;
            l[r] = l[r] * corr + p; /* per-lane partial sum; summed over lanes at the end */
#pragma unroll
            for (int u = 0; u < ATT_MAXT; u++) o[r][u] *= corr;
            for (int jj = 0; jj < ATT_BK; jj++) {
                const float pj = __shfl_sync(0xffffffffu, p, jj);
                const float *vr = Vs + jj * hd;
#pragma unroll
                for (int u = 0; u < ATT_MAXT; u++) {
                    const int d = lane + 32 * u;
                    if (d < hd) o[r][u] += pj * vr[d];
                }
            }
            m[r] = mn;
        }
    }

#pragma unroll
    for (int r = 0; r < ATT_QPW; r++) {
        const int i = t.q0 + warp * ATT_QPW + r;
        if (i >= t.len) continue;
        const float L = warp_sum(l[r]);
        float *orow = out + (int64_t)(t.row0 + i) * nh * hd + (int64_t)h * hd;
#pragma unroll
        for (int u = 0; u < ATT_MAXT; u++) {
            const int d = lane + 32 * u;
            if (d < hd) orow[d] = o[r][u] / L;
        }
    }
}

/* Sort key of an active feature: descending key order = descending value,
 * ties to the lower id. Active values are > 0, so their f32 bits order like
 * the values; inactive features have no key (0 is below every real key). */
__device__ __forceinline__ unsigned long long feat_key(float v, int64_t id) {
    return ((unsigned long long)__float_as_uint(v) << 32) | (unsigned long long)(0xffffffffu - (uint32_t)id);
}

__device__ __forceinline__ unsigned long long jump_key(const float *pre, const float *b, const float *thr,
                                                       int64_t j) {
    float v = pre[j] + b[j];
    float f = v > thr[j] ? fmaxf(v, 0.0f) : 0.0f; /* JumpReLU, strict > */
    return f != 0.0f ? feat_key(f, j) : 0ull;
}

/* One row's results from its keys sorted descending: the first nout
 * decoded, the rest of k padded with -1 / 0; the block's threads share it. */
__device__ void write_topk_row(const unsigned long long *keys, int nout, int k, int32_t *ir, float *vr) {
    for (int i = threadIdx.x; i < k; i += blockDim.x) {
        if (i < nout) {
            unsigned long long key = keys[i];
            ir[i] = (int32_t)(0xffffffffu - (uint32_t)(key & 0xffffffffull));
            vr[i] = __uint_as_float((uint32_t)(key >> 32));
        } else {
            ir[i] = -1;
            vr[i] = 0.0f;
        }
    }
}

/* JumpReLU + top-k of one row of pre[n, s] (without b_enc) per block.
 * Active features (<= TOPK_CAP) are compacted into shared memory and
 * bitonic-sorted. With more active than that, a radix select over the
 * 64-bit keys finds the k-th largest key first and only the k keys at or
 * above it are sorted. */
__global__ void __launch_bounds__(TOPK_THREADS)
    k_sae_topk(const float *pre, const float *b, const float *thr, int64_t s, int k, int32_t *ids, float *vals,
               int32_t *nact) {
    __shared__ unsigned long long keys[TOPK_CAP];
    __shared__ unsigned int hist[256];
    __shared__ int count;
    __shared__ unsigned long long sel_prefix;
    __shared__ int sel_left;
    const float *p = pre + blockIdx.x * s;
    const int tid = threadIdx.x;

    if (tid == 0) count = 0;
    __syncthreads();
    for (int64_t j = tid; j < s; j += blockDim.x) {
        unsigned long long key = jump_key(p, b, thr, j);
        if (key) {
            int slot = atomicAdd(&count, 1);
            if (slot < TOPK_CAP) keys[slot] = key;
        }
    }
    __syncthreads();
    const int total = count; /* active features in the row */
    int nsort = total;

    if (total > TOPK_CAP) {
        /* radix select, 8 bits at a time from the top: after the last digit
         * sel_prefix is the k-th largest key (keys are unique: ids differ) */
        unsigned long long prefix = 0, mask = 0;
        int left = k;
        for (int shift = 56; shift >= 0; shift -= 8) {
            for (int i = tid; i < 256; i += blockDim.x) hist[i] = 0;
            __syncthreads();
            for (int64_t j = tid; j < s; j += blockDim.x) {
                unsigned long long key = jump_key(p, b, thr, j);
                if (key && (key & mask) == prefix) atomicAdd(&hist[(key >> shift) & 255u], 1u);
            }
            __syncthreads();
            if (tid == 0) {
                int cum = 0, bin = 255;
                for (; bin > 0; bin--) {
                    if (cum + (int)hist[bin] >= left) break;
                    cum += (int)hist[bin];
                }
                sel_left = left - cum;
                sel_prefix = prefix | ((unsigned long long)bin << shift);
            }
            __syncthreads();
            prefix = sel_prefix;
            left = sel_left;
            mask |= 255ull << shift;
            __syncthreads(); /* everyone has read sel_*; hist may be cleared */
        }
        if (tid == 0) count = 0;
        __syncthreads();
        for (int64_t j = tid; j < s; j += blockDim.x) {
            unsigned long long key = jump_key(p, b, thr, j);
            if (key && key >= prefix) {
                int slot = atomicAdd(&count, 1);
                if (slot < TOPK_CAP) keys[slot] = key;
            }
        }
        __syncthreads();
        nsort = count < TOPK_CAP ? count : TOPK_CAP; /* == k */
    }

    int P = 1;
    while (P < nsort) P <<= 1;
    for (int i = nsort + tid; i < P; i += blockDim.x) keys[i] = 0ull;
    __syncthreads();
    /* bitonic sort of keys[0, P), descending */
    for (int size = 2; size <= P; size <<= 1) {
        for (int stride = size >> 1; stride > 0; stride >>= 1) {
            for (int i = tid; i < P; i += blockDim.x) {
                int j = i ^ stride;
                if (j > i) {
                    unsigned long long a = keys[i], c = keys[j];
                    bool desc = (i & size) == 0;
                    if (desc ? (a < c) : (a > c)) {
                        keys[i] = c;
                        keys[j] = a;
                    }
                }
            }
            __syncthreads();
        }
    }

    write_topk_row(keys, total < k ? total : k, k, ids + blockIdx.x * (int64_t)k, vals + blockIdx.x * (int64_t)k);
    if (tid == 0) nact[blockIdx.x] = total;
}

/* For k > TOPK_CAP. keys[r, j] = the sort key of feature j of row r (0 when
 * inactive), nact[r] = how many are active; one block per row. */
__global__ void k_sae_keys(const float *pre, const float *b, const float *thr, int64_t s, unsigned long long *keys,
                           int32_t *nact) {
    __shared__ int count;
    const float *p = pre + blockIdx.x * s;
    unsigned long long *kr = keys + blockIdx.x * s;
    if (threadIdx.x == 0) count = 0;
    __syncthreads();
    int mine = 0;
    for (int64_t j = threadIdx.x; j < s; j += blockDim.x) {
        unsigned long long key = jump_key(p, b, thr, j);
        kr[j] = key;
        mine += key != 0;
    }
    atomicAdd(&count, mine);
    __syncthreads();
    if (threadIdx.x == 0) nact[blockIdx.x] = count;
}

/* offsets[i] = i * s: where each row's segment starts (and the last ends) */
__global__ void k_row_offsets(int *offsets, int rows, int s) {
    for (int i = blockIdx.x * blockDim.x + threadIdx.x; i <= rows; i += gridDim.x * blockDim.x) offsets[i] = i * s;
}

/* The first k of each row of keys sorted descending, decoded; one block per row. */
__global__ void k_topk_from_sorted(const unsigned long long *sorted, int64_t s, int k, const int32_t *nact,
                                   int32_t *ids, float *vals) {
    const int nout = nact[blockIdx.x] < k ? nact[blockIdx.x] : k;
    write_topk_row(sorted + blockIdx.x * s, nout, k, ids + blockIdx.x * (int64_t)k, vals + blockIdx.x * (int64_t)k);
}

/* -------------------------------------------------------------- memory ops */

static saex_status cu_alloc(backend *b, size_t bytes, void **out) {
    cuda_impl *c = impl_of(b);
    *out = NULL;
    if (bytes == 0) return SAEX_OK;
    saex_status st = enter(c);
    if (st) return st;
    cudaError_t e = cudaMalloc(out, bytes);
    if (e != cudaSuccess) {
        *out = NULL;
        return saex_fail(SAEX_ERR_BACKEND, "cuda: cudaMalloc(%zu bytes): %s", bytes, cudaGetErrorString(e));
    }
    return SAEX_OK;
}

static void cu_free(backend *b, void *p) {
    if (!p) return;
    cudaSetDevice(impl_of(b)->device);
    cudaFree(p); /* waits for queued work that may still use p */
}

static saex_status cu_upload(backend *b, void *dst, const void *src, size_t bytes) {
    cuda_impl *c = impl_of(b);
    saex_status st = enter(c);
    return st ? st : h2d(c, dst, src, bytes);
}

static saex_status cu_download(backend *b, void *dst, const void *src, size_t bytes) {
    cuda_impl *c = impl_of(b);
    saex_status st = enter(c);
    return st ? st : d2h(c, dst, src, bytes);
}

static saex_status cu_sync(backend *b) {
    cuda_impl *c = impl_of(b);
    saex_status st = enter(c);
    if (st) return st;
    CK(cudaStreamSynchronize(c->stream));
    return SAEX_OK;
}

/* ---------------------------------------------------------------- weights */

/* Copies `rows x k` host elements of dtype sdt into device dst (dtype ddt).
 * Same dtype: straight through staging. Otherwise raw chunks go to scratch
 * and a kernel converts them in place, so the host never holds a widened copy. */
static saex_status upload_converted(cuda_impl *c, void *dst, be_dtype ddt, const void *src, be_dtype sdt,
                                    int64_t n_elems) {
    size_t ss = dtype_size(sdt), ds = dtype_size(ddt);
    if (sdt == ddt) return h2d(c, dst, src, (size_t)n_elems * ss);
    int64_t chunk = (int64_t)(STAGE_BYTES / ss);
    void *tmp = NULL;
    saex_status st = scratch(c, (size_t)chunk * ss, &tmp);
    if (st) return st;
    for (int64_t off = 0; off < n_elems; off += chunk) {
        int64_t n = n_elems - off < chunk ? n_elems - off : chunk;
        st = h2d(c, tmp, (const char *)src + (size_t)off * ss, (size_t)n * ss);
        if (st) return st;
        k_convert<<<grid_for(n, 256), 256, 0, c->stream>>>(tmp, sdt, (char *)dst + (size_t)off * ds, ddt, n);
        CKL("k_convert");
    }
    return SAEX_OK;
}

static saex_status cu_weight_create(backend *b, const be_part *parts, int n_parts, int64_t k, be_dtype compute,
                                    be_weight **out) {
    cuda_impl *c = impl_of(b);
    *out = NULL;
    if (n_parts < 1 || k < 1) return saex_fail(SAEX_ERR_ARG, "cuda: weight_create: %d parts, k = %lld", n_parts, (long long)k);
    if (!dtype_ok(compute)) return saex_fail(SAEX_ERR_ARG, "cuda: weight_create: unknown compute dtype %d", (int)compute);
    int64_t n = 0;
    for (int i = 0; i < n_parts; i++) {
        if (parts[i].rows < 0 || !dtype_ok(parts[i].dtype) || (parts[i].rows > 0 && !parts[i].data))
            return saex_fail(SAEX_ERR_ARG, "cuda: weight_create: part %d is invalid (rows %lld, dtype %d)", i,
                             (long long)parts[i].rows, (int)parts[i].dtype);
        n += parts[i].rows;
    }
    if (n < 1 || n > INT_MAX || k > INT_MAX)
        return saex_fail(SAEX_ERR_ARG, "cuda: weight_create: W[%lld, %lld] is outside what cuBLAS takes", (long long)n,
                         (long long)k);
    saex_status st = enter(c);
    if (st) return st;
    be_weight *w = (be_weight *)calloc(1, sizeof *w);
    if (!w) return saex_fail(SAEX_ERR_NOMEM, "cuda: weight_create: out of host memory");
    w->n = n;
    w->k = k;
    w->dtype = compute;
    size_t bytes = (size_t)n * (size_t)k * dtype_size(compute);
    cudaError_t e = cudaMalloc(&w->d, bytes);
    if (e != cudaSuccess) {
        free(w);
        return saex_fail(SAEX_ERR_BACKEND, "cuda: cudaMalloc(%zu bytes) for a weight [%lld, %lld] %s: %s", bytes,
                         (long long)n, (long long)k, dtype_name(compute), cudaGetErrorString(e));
    }
    int64_t row = 0;
    for (int i = 0; i < n_parts && !st; i++) {
        char *dst = (char *)w->d + (size_t)row * (size_t)k * dtype_size(compute);
        st = upload_converted(c, dst, compute, parts[i].data, parts[i].dtype, parts[i].rows * k);
        row += parts[i].rows;
    }
    /* the caller may unmap the source once we return: the staged copies are
     * done with it, but wait for the device too so errors surface here */
    if (!st) {
        e = cudaStreamSynchronize(c->stream);
        if (e != cudaSuccess) st = saex_fail(SAEX_ERR_BACKEND, "cuda: cudaStreamSynchronize: %s", cudaGetErrorString(e));
    }
    if (st) {
        cudaFree(w->d);
        free(w);
        return st;
    }
    *out = w;
    return SAEX_OK;
}

static saex_status cu_table_create(backend *b, const void *table, be_dtype dtype, int64_t rows, int64_t cols,
                                   be_weight **out) {
    be_part part = {table, dtype, rows};
    if (!dtype_ok(dtype)) return saex_fail(SAEX_ERR_ARG, "cuda: table_create: unknown dtype %d", (int)dtype);
    /* kept in its stored dtype: embed widens one row at a time */
    return cu_weight_create(b, &part, 1, cols, dtype, out);
}

static void cu_weight_free(backend *b, be_weight *w) {
    if (!w) return;
    cu_free(b, w->d);
    free(w);
}

/* ---------------------------------------------------------------- compute */

static cudaDataType_t cuda_type(be_dtype t) {
    return t == BE_F32 ? CUDA_R_32F : t == BE_BF16 ? CUDA_R_16BF : CUDA_R_16F;
}

static saex_status cu_matmul(backend *b, const be_weight *w, const float *x, int64_t m, float *y) {
    cuda_impl *c = impl_of(b);
    if (m == 0) return SAEX_OK;
    if (m < 0 || m > INT_MAX) return saex_fail(SAEX_ERR_ARG, "cuda: matmul: m = %lld rows", (long long)m);
    saex_status st = enter(c);
    if (st) return st;
    const void *xin = x;
    if (w->dtype != BE_F32) { /* round the activations to the weight dtype */
        void *xr = NULL;
        st = scratch(c, (size_t)m * (size_t)w->k * 2, &xr);
        if (st) return st;
        int64_t n = m * w->k;
        k_convert<<<grid_for(n, 256), 256, 0, c->stream>>>(x, BE_F32, xr, w->dtype, n);
        CKL("k_convert");
        xin = xr;
    }
    /* Row-major y[m, n] = x[m, k] W[n, k]^T is column-major
     * y^T[n, m] = W^T (W as col-major [k, n], transposed) x^T ([k, m]). */
    const float one = 1.0f, zero = 0.0f;
    const int n = (int)w->n, k = (int)w->k;
    CKB(cublasGemmEx(c->blas, CUBLAS_OP_T, CUBLAS_OP_N, n, (int)m, k, &one, w->d, cuda_type(w->dtype), k, xin,
                     cuda_type(w->dtype), k, &zero, y, CUDA_R_32F, n, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
    return SAEX_OK;
}

static saex_status cu_embed(backend *b, const be_weight *table, const int32_t *ids, int64_t n, float scale, float *x) {
    cuda_impl *c = impl_of(b);
    if (n == 0) return SAEX_OK;
    if (n < 0 || n > INT_MAX) return saex_fail(SAEX_ERR_ARG, "cuda: embed: n = %lld rows", (long long)n);
    saex_status st = enter(c);
    if (st) return st;
    k_embed<<<(unsigned)n, 256, 0, c->stream>>>(table->d, table->dtype, table->n, table->k, ids, scale, x);
    CKL("k_embed");
    return SAEX_OK;
}

static saex_status cu_rmsnorm(backend *b, const float *x, const float *w, int64_t m, int64_t d, float eps, float *out,
                              int accumulate) {
    cuda_impl *c = impl_of(b);
    if (m == 0) return SAEX_OK;
    if (m < 0 || m > INT_MAX || d < 1) return saex_fail(SAEX_ERR_ARG, "cuda: rmsnorm: [%lld, %lld]", (long long)m, (long long)d);
    saex_status st = enter(c);
    if (st) return st;
    k_rmsnorm<<<(unsigned)m, 256, 0, c->stream>>>(x, w, d, eps, out, accumulate);
    CKL("k_rmsnorm");
    return SAEX_OK;
}

static saex_status cu_rope(backend *b, float *qkv, const int32_t *pos, int64_t m, int nh, int nkv, int hd, float theta) {
    cuda_impl *c = impl_of(b);
    if (m == 0) return SAEX_OK;
    if (m < 0 || nh < 1 || nkv < 1 || hd < 2 || hd % 2)
        return saex_fail(SAEX_ERR_ARG, "cuda: rope: m %lld, heads %d/%d, head_dim %d (must be even)", (long long)m, nh,
                         nkv, hd);
    saex_status st = enter(c);
    if (st) return st;
    if (!c->rope_inv || c->rope_hd != hd || c->rope_theta != theta) { /* once per model, not per layer */
        float *inv = (float *)malloc((size_t)(hd / 2) * sizeof(float));
        if (!inv) return saex_fail(SAEX_ERR_NOMEM, "cuda: rope: out of host memory");
        be_rope_inv_freq(theta, hd, inv);
        CK(cudaStreamSynchronize(c->stream)); /* queued kernels may still read the old table */
        cudaFree(c->rope_inv);
        c->rope_inv = NULL;
        c->rope_hd = 0;
        cudaError_t e = cudaMalloc((void **)&c->rope_inv, (size_t)(hd / 2) * sizeof(float));
        if (e == cudaSuccess) st = h2d(c, c->rope_inv, inv, (size_t)(hd / 2) * sizeof(float));
        free(inv);
        if (e != cudaSuccess) {
            c->rope_inv = NULL;
            return saex_fail(SAEX_ERR_BACKEND, "cuda: cudaMalloc for RoPE frequencies: %s", cudaGetErrorString(e));
        }
        if (st) return st;
        c->rope_hd = hd;
        c->rope_theta = theta;
    }
    int64_t total = m * (nh + nkv) * (hd / 2);
    k_rope<<<grid_for(total, 256), 256, 0, c->stream>>>(qkv, pos, c->rope_inv, m, nh + nkv, nh + 2 * nkv, hd);
    CKL("k_rope");
    return SAEX_OK;
}

static size_t att_smem(int hd) {
    int ks = (hd % 2 == 0) ? hd + 1 : hd;
    return sizeof(float) * ((size_t)ATT_BQ * hd + (size_t)ATT_BK * ks + (size_t)ATT_BK * hd);
}

static saex_status cu_attention(backend *b, const float *qkv, const int *seq_start, int n_seqs,
                                const be_attn_params *p, float *out) {
    cuda_impl *c = impl_of(b);
    if (n_seqs < 0 || p->n_heads < 1 || p->n_kv_heads < 1 || p->n_heads % p->n_kv_heads || p->head_dim < 1 ||
        p->head_dim > ATT_MAX_HD || p->n_heads > 65535)
        return saex_fail(SAEX_ERR_ARG, "cuda: attention: %d heads, %d kv heads, head_dim %d (the CUDA kernel takes head_dim <= %d and heads a multiple of kv heads)",
                         p->n_heads, p->n_kv_heads, p->head_dim, ATT_MAX_HD);
    if (n_seqs == 0) return SAEX_OK;
    int64_t n_tiles = 0;
    for (int s = 0; s < n_seqs; s++) {
        int len = seq_start[s + 1] - seq_start[s];
        if (seq_start[s] < 0 || len < 0)
            return saex_fail(SAEX_ERR_ARG, "cuda: attention: seq_start[%d..%d] = %d, %d is not increasing", s, s + 1,
                             seq_start[s], seq_start[s + 1]);
        n_tiles += (len + ATT_BQ - 1) / ATT_BQ;
    }
    if (n_tiles == 0) return SAEX_OK;
    if (n_tiles > INT_MAX) return saex_fail(SAEX_ERR_ARG, "cuda: attention: %lld query tiles", (long long)n_tiles);
    saex_status st = enter(c);
    if (st) return st;
    att_tile *tiles = (att_tile *)malloc((size_t)n_tiles * sizeof *tiles);
    if (!tiles) return saex_fail(SAEX_ERR_NOMEM, "cuda: attention: out of host memory for %lld tiles", (long long)n_tiles);
    int64_t nt = 0;
    for (int s = 0; s < n_seqs; s++) {
        int len = seq_start[s + 1] - seq_start[s];
        for (int q0 = 0; q0 < len; q0 += ATT_BQ) {
            tiles[nt].row0 = seq_start[s];
            tiles[nt].len = len;
            tiles[nt].q0 = q0;
            tiles[nt].pad = 0;
            nt++;
        }
    }
    void *dt = NULL;
    st = small_upload(c, tiles, (size_t)n_tiles * sizeof *tiles, &dt);
    free(tiles);
    if (st) return st;
    dim3 grid((unsigned)n_tiles, (unsigned)p->n_heads);
    k_attention<<<grid, ATT_WARPS * 32, att_smem(p->head_dim), c->stream>>>(
        qkv, (const att_tile *)dt, out, p->n_heads, p->n_kv_heads, p->head_dim, p->scale, p->softcap, p->window);
    CKL("k_attention");
    return SAEX_OK;
}

static saex_status cu_geglu(backend *b, const float *gu, int64_t m, int64_t f, float *out) {
    cuda_impl *c = impl_of(b);
    if (m == 0 || f == 0) return SAEX_OK;
    if (m < 0 || f < 0) return saex_fail(SAEX_ERR_ARG, "cuda: geglu: [%lld, %lld]", (long long)m, (long long)f);
    saex_status st = enter(c);
    if (st) return st;
    k_geglu<<<grid_for(m * f, 256), 256, 0, c->stream>>>(gu, m, f, out);
    CKL("k_geglu");
    return SAEX_OK;
}

static saex_status cu_gather_rows(backend *b, const float *src, int64_t d, const int64_t *rows, int64_t n, float *dst) {
    cuda_impl *c = impl_of(b);
    if (n == 0) return SAEX_OK;
    if (n < 0 || n > INT_MAX || d < 1) return saex_fail(SAEX_ERR_ARG, "cuda: gather_rows: n %lld, d %lld", (long long)n, (long long)d);
    for (int64_t i = 0; i < n; i++)
        if (rows[i] < 0) return saex_fail(SAEX_ERR_ARG, "cuda: gather_rows: rows[%lld] = %lld", (long long)i, (long long)rows[i]);
    saex_status st = enter(c);
    if (st) return st;
    void *dr = NULL;
    st = small_upload(c, rows, (size_t)n * sizeof *rows, &dr);
    if (st) return st;
    k_gather<<<(unsigned)n, 256, 0, c->stream>>>(src, d, (const int64_t *)dr, dst);
    CKL("k_gather");
    return SAEX_OK;
}

/* -------------------------------------------------------------------- SAE */

static void sae_release(be_sae *e) {
    if (!e) return;
    cudaFree(e->W);
    cudaFree(e->b);
    cudaFree(e->thr);
    free(e);
}

static saex_status cu_sae_create(backend *b, const float *W_enc, const float *b_enc, const float *threshold, int64_t d,
                                 int64_t s, be_sae **out) {
    cuda_impl *c = impl_of(b);
    *out = NULL;
    if (d < 1 || s < 1 || d > INT_MAX || s > INT_MAX)
        return saex_fail(SAEX_ERR_ARG, "cuda: sae_create: d_in %lld, d_sae %lld", (long long)d, (long long)s);
    saex_status st = enter(c);
    if (st) return st;
    be_sae *e = (be_sae *)calloc(1, sizeof *e);
    if (!e) return saex_fail(SAEX_ERR_NOMEM, "cuda: sae_create: out of host memory");
    e->d = d;
    e->s = s;
    size_t wb = (size_t)d * (size_t)s * sizeof(float), vb = (size_t)s * sizeof(float);
    cudaError_t ce = cudaMalloc((void **)&e->W, wb);
    if (ce == cudaSuccess) ce = cudaMalloc((void **)&e->b, vb);
    if (ce == cudaSuccess) ce = cudaMalloc((void **)&e->thr, vb);
    if (ce != cudaSuccess) {
        sae_release(e);
        return saex_fail(SAEX_ERR_BACKEND, "cuda: cudaMalloc for an SAE [%lld, %lld]: %s", (long long)d, (long long)s,
                         cudaGetErrorString(ce));
    }
    st = h2d(c, e->W, W_enc, wb);
    if (!st) st = h2d(c, e->b, b_enc, vb);
    if (!st) st = h2d(c, e->thr, threshold, vb);
    if (!st) {
        ce = cudaStreamSynchronize(c->stream);
        if (ce != cudaSuccess) st = saex_fail(SAEX_ERR_BACKEND, "cuda: cudaStreamSynchronize: %s", cudaGetErrorString(ce));
    }
    if (st) {
        sae_release(e);
        return st;
    }
    *out = e;
    return SAEX_OK;
}

static void cu_sae_free(backend *b, be_sae *e) {
    if (!e) return;
    cudaSetDevice(impl_of(b)->device);
    sae_release(e);
}

/* Bump allocator over one scratch buffer: 256-byte aligned pieces. */
static size_t carve(size_t *off, size_t bytes) {
    size_t at = *off;
    *off += (bytes + 255) & ~(size_t)255;
    return at;
}

/* row-major pre[rn, s] = x[rn, d] W[d, s]: column-major pre^T[s, rn] = W^T[s, d] x^T[d, rn] */
static saex_status sae_pre(cuda_impl *c, const be_sae *e, const float *x, int64_t rn, float *pre) {
    const float one = 1.0f, zero = 0.0f;
    CKB(cublasGemmEx(c->blas, CUBLAS_OP_N, CUBLAS_OP_N, (int)e->s, (int)rn, (int)e->d, &one, e->W, CUDA_R_32F,
                     (int)e->s, x, CUDA_R_32F, (int)e->d, &zero, pre, CUDA_R_32F, (int)e->s, CUBLAS_COMPUTE_32F,
                     CUBLAS_GEMM_DEFAULT));
    return SAEX_OK;
}

/* One chunk's results to the host. */
static saex_status topk_fetch(cuda_impl *c, int64_t r0, int64_t rn, int k, const int32_t *dids, const float *dvals,
                              const int32_t *dnact, int32_t *ids, float *vals, int32_t *n_active) {
    saex_status st = d2h(c, ids + r0 * k, dids, (size_t)rn * k * sizeof(int32_t));
    if (!st) st = d2h(c, vals + r0 * k, dvals, (size_t)rn * k * sizeof(float));
    if (!st && n_active) st = d2h(c, n_active + r0, dnact, (size_t)rn * sizeof(int32_t));
    return st;
}

/* k <= TOPK_CAP: one block per row selects and sorts in shared memory. */
static saex_status topk_shared(cuda_impl *c, const be_sae *e, const float *x, int64_t n, int k, int32_t *ids,
                               float *vals, int32_t *n_active) {
    /* rows per chunk: pre-activations within SAE_PRE_BYTES, results within a staging buffer */
    int64_t per_row_out = (int64_t)k * 8 + 4;
    int64_t chunk = (int64_t)(SAE_PRE_BYTES / ((size_t)e->s * sizeof(float)));
    if (chunk > (int64_t)(STAGE_BYTES / per_row_out)) chunk = (int64_t)(STAGE_BYTES / per_row_out);
    if (chunk > n) chunk = n;
    if (chunk < 1) chunk = 1;
    size_t off = 0;
    size_t o_pre = carve(&off, (size_t)chunk * (size_t)e->s * sizeof(float));
    size_t o_ids = carve(&off, (size_t)chunk * k * 4), o_vals = carve(&off, (size_t)chunk * k * 4);
    size_t o_nact = carve(&off, (size_t)chunk * 4);
    char *base = NULL;
    saex_status st = scratch(c, off, (void **)&base);
    if (st) return st;
    float *pre = (float *)(base + o_pre);        /* [chunk, s] */
    int32_t *dids = (int32_t *)(base + o_ids);   /* [chunk, k] */
    float *dvals = (float *)(base + o_vals);     /* [chunk, k] */
    int32_t *dnact = (int32_t *)(base + o_nact); /* [chunk] */
    for (int64_t r0 = 0; r0 < n; r0 += chunk) {
        int64_t rn = n - r0 < chunk ? n - r0 : chunk;
        if ((st = sae_pre(c, e, x + r0 * e->d, rn, pre))) return st;
        k_sae_topk<<<(unsigned)rn, TOPK_THREADS, 0, c->stream>>>(pre, e->b, e->thr, e->s, k, dids, dvals, dnact);
        CKL("k_sae_topk");
        if ((st = topk_fetch(c, r0, rn, k, dids, dvals, dnact, ids, vals, n_active))) return st;
    }
    return SAEX_OK;
}

/* k > TOPK_CAP (up to the SAE width and beyond): the keys of every feature
 * of a row are sorted whole, descending, by CUB's segmented radix sort (one
 * segment per row), and the first k are decoded. */
static saex_status topk_sorted(cuda_impl *c, const be_sae *e, const float *x, int64_t n, int k, int32_t *ids,
                               float *vals, int32_t *n_active) {
    /* per row: pre f32 + keys and their sort buffer u64 + results */
    size_t per_row = (size_t)e->s * (4 + 8 + 8) + (size_t)k * 8 + 8;
    int64_t chunk = (int64_t)(SORT_BYTES / per_row);
    if (chunk > INT_MAX / e->s - 1) chunk = INT_MAX / e->s - 1; /* CUB counts items in int */
    if (chunk > n) chunk = n;
    if (chunk < 1) chunk = 1;
    size_t temp_bytes = 0;
    cub::DoubleBuffer<unsigned long long> none(NULL, NULL);
    CK(cub::DeviceSegmentedRadixSort::SortKeysDescending(NULL, temp_bytes, none, (int)(chunk * e->s), (int)chunk,
                                                         (const int *)NULL, (const int *)NULL, 0, 64, c->stream));
    size_t off = 0, row_keys = (size_t)chunk * (size_t)e->s;
    size_t o_pre = carve(&off, row_keys * 4), o_keys = carve(&off, row_keys * 8), o_alt = carve(&off, row_keys * 8);
    size_t o_offs = carve(&off, (size_t)(chunk + 1) * 4), o_temp = carve(&off, temp_bytes);
    size_t o_ids = carve(&off, (size_t)chunk * k * 4), o_vals = carve(&off, (size_t)chunk * k * 4);
    size_t o_nact = carve(&off, (size_t)chunk * 4);
    char *base = NULL;
    saex_status st = scratch(c, off, (void **)&base);
    if (st) return st;
    float *pre = (float *)(base + o_pre);                                  /* [chunk, s] */
    unsigned long long *keys = (unsigned long long *)(base + o_keys);      /* [chunk, s] */
    unsigned long long *alt = (unsigned long long *)(base + o_alt);        /* [chunk, s] */
    int *offs = (int *)(base + o_offs);                                    /* [chunk + 1] */
    int32_t *dids = (int32_t *)(base + o_ids);                             /* [chunk, k] */
    float *dvals = (float *)(base + o_vals);                               /* [chunk, k] */
    int32_t *dnact = (int32_t *)(base + o_nact);                           /* [chunk] */
    for (int64_t r0 = 0; r0 < n; r0 += chunk) {
        int rn = (int)(n - r0 < chunk ? n - r0 : chunk);
        if ((st = sae_pre(c, e, x + r0 * e->d, rn, pre))) return st;
        k_sae_keys<<<(unsigned)rn, TOPK_THREADS, 0, c->stream>>>(pre, e->b, e->thr, e->s, keys, dnact);
        CKL("k_sae_keys");
        k_row_offsets<<<grid_for(rn + 1, 256), 256, 0, c->stream>>>(offs, rn, (int)e->s);
        CKL("k_row_offsets");
        cub::DoubleBuffer<unsigned long long> db(keys, alt);
        size_t tb = temp_bytes;
        CK(cub::DeviceSegmentedRadixSort::SortKeysDescending(base + o_temp, tb, db, (int)(rn * e->s), rn, offs,
                                                             offs + 1, 0, 64, c->stream));
        k_topk_from_sorted<<<(unsigned)rn, 256, 0, c->stream>>>(db.Current(), e->s, k, dnact, dids, dvals);
        CKL("k_topk_from_sorted");
        if ((st = topk_fetch(c, r0, rn, k, dids, dvals, dnact, ids, vals, n_active))) return st;
    }
    return SAEX_OK;
}

static saex_status cu_sae_topk(backend *b, const be_sae *e, const float *x, int64_t n, int k, int32_t *ids, float *vals,
                               int32_t *n_active) {
    cuda_impl *c = impl_of(b);
    if (k < 1) return saex_fail(SAEX_ERR_ARG, "cuda: sae_topk: k = %d (must be at least 1)", k);
    if (n < 0) return saex_fail(SAEX_ERR_ARG, "cuda: sae_topk: n = %lld", (long long)n);
    if (n == 0) return SAEX_OK;
    saex_status st = enter(c);
    if (st) return st;
    return k <= TOPK_CAP ? topk_shared(c, e, x, n, k, ids, vals, n_active)
                         : topk_sorted(c, e, x, n, k, ids, vals, n_active);
}

/* -------------------------------------------------------------- lifecycle */

static void impl_release(cuda_impl *c) {
    if (!c) return;
    cudaSetDevice(c->device);
    if (c->stream) cudaStreamSynchronize(c->stream);
    cudaFree(c->scratch);
    cudaFree(c->small);
    cudaFree(c->rope_inv);
    for (int i = 0; i < 2; i++) {
        if (c->small_done[i]) cudaEventDestroy(c->small_done[i]);
        if (c->small_host[i]) cudaFreeHost(c->small_host[i]);
        if (c->stage_done[i]) cudaEventDestroy(c->stage_done[i]);
        if (c->stage[i]) cudaFreeHost(c->stage[i]);
    }
    if (c->blas) cublasDestroy(c->blas);
    if (c->stream) cudaStreamDestroy(c->stream);
    free(c);
}

static void cu_destroy(backend *b) {
    if (!b) return;
    impl_release(impl_of(b));
    free(b);
}

/* The body of backend_cuda_create, with c released by the caller on failure. */
static saex_status impl_init(cuda_impl *c, int device) {
    c->device = device;
    CK(cudaSetDevice(device));
    CK(cudaStreamCreateWithFlags(&c->stream, cudaStreamNonBlocking));
    for (int i = 0; i < 2; i++) {
        CK(cudaHostAlloc(&c->stage[i], STAGE_BYTES, cudaHostAllocDefault));
        CK(cudaEventCreateWithFlags(&c->stage_done[i], cudaEventDisableTiming));
        CK(cudaEventCreateWithFlags(&c->small_done[i], cudaEventDisableTiming));
    }
    CKB(cublasCreate(&c->blas));
    CKB(cublasSetStream(c->blas, c->stream));
    /* no TF32: f32 matmuls must be f32 (BE_F32 is the exact mode) */
    CKB(cublasSetMathMode(c->blas, CUBLAS_DEFAULT_MATH));
    size_t smem = att_smem(ATT_MAX_HD);
    CK(cudaFuncSetAttribute(k_attention, cudaFuncAttributeMaxDynamicSharedMemorySize, (int)smem));
    return SAEX_OK;
}

extern "C" int backend_cuda_available(void) {
    int n = 0;
    if (cudaGetDeviceCount(&n) != cudaSuccess) {
        cudaGetLastError(); /* clear the sticky "no driver" error */
        return 0;
    }
    return n > 0;
}

extern "C" saex_status backend_cuda_create(int device, backend **out) {
    *out = NULL;
    int n = 0;
    cudaError_t e = cudaGetDeviceCount(&n);
    if (e != cudaSuccess) {
        cudaGetLastError();
        return saex_fail(SAEX_ERR_UNSUPPORTED, "cuda: no usable GPU: cudaGetDeviceCount: %s", cudaGetErrorString(e));
    }
    if (n < 1) return saex_fail(SAEX_ERR_UNSUPPORTED, "cuda: no GPU is visible");
    if (device < 0 || device >= n)
        return saex_fail(SAEX_ERR_ARG, "cuda: device %d does not exist (%d GPU%s visible)", device, n, n == 1 ? "" : "s");
    cuda_impl *c = (cuda_impl *)calloc(1, sizeof *c);
    backend *b = (backend *)calloc(1, sizeof *b);
    if (!c || !b) {
        free(c);
        free(b);
        return saex_fail(SAEX_ERR_NOMEM, "cuda: out of host memory");
    }
    saex_status st = impl_init(c, device);
    if (st) {
        impl_release(c);
        free(b);
        return st;
    }
    b->name = "cuda";
    b->threads = 1;
    b->alloc = cu_alloc;
    b->free = cu_free;
    b->upload = cu_upload;
    b->download = cu_download;
    b->sync = cu_sync;
    b->weight_create = cu_weight_create;
    b->table_create = cu_table_create;
    b->weight_free = cu_weight_free;
    b->matmul = cu_matmul;
    b->embed = cu_embed;
    b->rmsnorm = cu_rmsnorm;
    b->rope = cu_rope;
    b->attention = cu_attention;
    b->geglu = cu_geglu;
    b->gather_rows = cu_gather_rows;
    b->sae_create = cu_sae_create;
    b->sae_free = cu_sae_free;
    b->sae_topk = cu_sae_topk;
    b->destroy = cu_destroy;
    b->impl = c;
    *out = b;
    return SAEX_OK;
}
