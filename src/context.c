/*
 * context.c - te_ctx_new / te_ctx_free: the thread pool and scratch memory.
 * Buffers whose size does not depend on the call are allocated here; those
 * that grow with the batch (hidden states, Q|K|V, the batch's ids) and with
 * the longest sequence (attention) are allocated by te_ctx_reserve when a
 * call needs them, and kept: a context costs what its largest call needed,
 * within the bound of the scratch formula in tinyembed.h and max_memory.
 */
#include "context.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "internal.h"

#define DEFAULT_BATCH 32
#define DEFAULT_BATCH_TOKENS 4096
#define TE_MIN_TOKENS 16 /* max_memory lowers tokens per batch no further */
#define MAX_THREADS 256

/* 64-byte aligned, size rounded up; counted into c->scratch_bytes. */
static void *alloc_floats(te_ctx *c, size_t n, int *ok) {
    size_t bytes;
    if (!*ok || !te_mul_size(n ? n : 1, sizeof(float), &bytes)) { *ok = 0; return NULL; }
    bytes = (size_t)te_align_up(bytes, 64);
    void *p = aligned_alloc(64, bytes);
    if (!p) *ok = 0;
    else c->scratch_bytes += bytes;
    return p;
}

static void *alloc_zero(te_ctx *c, size_t n, size_t size, int *ok) {
    void *p = *ok ? calloc(n ? n : 1, size) : NULL;
    if (!p) *ok = 0;
    else c->scratch_bytes += n * size;
    return p;
}

/* Rotary angles t * base^(-2i/r) for every position the context runs, in
 * double as the reference computes them. */
static int rotary_table(te_ctx *c, const te_arch *a, float base, float **cos_out, float **sin_out) {
    int ok = 1;
    size_t half = (size_t)a->rotary_dims / 2;
    float *cs = *cos_out = alloc_floats(c, c->max_seq * half, &ok), *sn = *sin_out = alloc_floats(c, c->max_seq * half, &ok);
    for (size_t i = 0; ok && i < half; i++) {
        double inv = 1.0 / pow((double)base, (double)(2 * i) / (double)a->rotary_dims);
        for (size_t t = 0; t < c->max_seq; t++) {
            cs[t * half + i] = (float)cos((double)t * inv);
            sn[t * half + i] = (float)sin((double)t * inv);
        }
    }
    return ok;
}

/* The global layers' table, and the local layers' when their base differs. */
static int rotary_tables(te_ctx *c, const te_arch *a) {
    int ok = rotary_table(c, a, a->rotary_base, &c->rope_cos, &c->rope_sin);
    c->rope_cos_local = c->rope_cos, c->rope_sin_local = c->rope_sin;
    if (ok && a->global_every > 1 && a->rotary_base_local != a->rotary_base)
        ok = rotary_table(c, a, a->rotary_base_local, &c->rope_cos_local, &c->rope_sin_local);
    return ok;
}

/* MPNet's bucket of a key - query distance, as transformers'
 * relative_position_bucket computes it (the log in float32, truncated):
 * half the buckets for keys before the query, half for after; exact
 * distances below a quarter of the buckets, log-spaced ones up to
 * max_distance, the last bucket beyond. */
static int rel_bucket(long dist, int buckets, int max_distance) {
    int half = buckets / 2, exact = half / 2, ret = 0;
    long n = -dist;
    if (n < 0) {
        ret = half;
        n = -n;
    }
    if (n < exact) return ret + (int)n;
    float f = logf((float)n / (float)exact) / (float)log((double)max_distance / exact) * (float)(half - exact);
    long big = exact + (long)f;
    return ret + (int)(big < half - 1 ? big : half - 1);
}

static int relative_table(te_ctx *c, const te_model *m) {
    int ok = 1;
    size_t heads = (size_t)m->info.num_heads, span = 2 * c->max_seq - 1;
    c->relb = alloc_floats(c, heads * span, &ok);
    for (size_t i = 0; ok && i < span; i++) {
        int b = rel_bucket((long)i - (long)(c->max_seq - 1), m->arch.rel_buckets, m->arch.rel_max_distance);
        for (size_t h = 0; h < heads; h++) c->relb[h * span + i] = m->rel_bias[(size_t)b * heads + h];
    }
    return ok;
}

/* Bytes of the buffers that grow with the call, for batches of T tokens and
 * sequences of up to S: what te_ctx_reserve allocates (both use these sizes).
 * x is the hidden states' bytes; qkv the Q|K|V buffer's, with a pre-norm
 * model's normalized input after it. 0 if it overflows. */
static size_t grow_bytes(const te_ctx *c, size_t T, size_t S, size_t *x, size_t *qkv, size_t *att) {
    const te_model *m = c->m;
    size_t H = (size_t)m->info.hidden_size, d = (size_t)m->arch.head_dim, x_bytes, qkv_bytes, att_bytes;
    size_t width = te_qkv_width(&m->arch, m->info.num_heads) + (m->arch.norm_first ? H : 0);
    if (!te_mul_size(T, H * sizeof(float), &x_bytes) || !te_mul_size(T, width * sizeof(float), &qkv_bytes) ||
        !te_mul_size(te_att_floats(S, d), sizeof(float), &att_bytes))
        return 0;
    *x = (size_t)te_align_up(x_bytes, 64);
    *qkv = (size_t)te_align_up(qkv_bytes, 64);
    *att = (size_t)te_align_up(att_bytes, 64);
    /* x, qkv, pos and ids (int32), types (bytes); one attention buffer per thread */
    size_t per_thread, total = *x + *qkv + T * (2 * sizeof(int32_t) + 1);
    if (!te_mul_size(*att, (size_t)c->threads, &per_thread) || total + per_thread < total) return 0;
    return total + per_thread;
}

/* The buffers that do not grow with the call (ok = 0 if any allocation
 * failed; free_scratch undoes a partial one). */
static int alloc_fixed(te_ctx *c) {
    const te_model *m = c->m;
    const te_model_info *in = &m->info;
    size_t H = (size_t)in->hidden_size, I = (size_t)in->intermediate_size;
    int ok = 1;
    size_t nt = (size_t)c->threads;
    c->scratch_bytes = 0;
    c->ffn = alloc_floats(c, nt * c->ffn_rows * c->ffn_width, &ok);
    float *zero = alloc_zero(c, H, sizeof *zero, &ok);
    c->zero = zero;
    if (ok && in->position == TE_POS_ROTARY) ok = rotary_tables(c, &m->arch);
    if (ok && in->position == TE_POS_RELATIVE) ok = relative_table(c, m);
    size_t max_k = H > I ? H : I; /* the longest k of any product: A packed once per split GEMM */
    c->ex.shared = alloc_floats(c, (size_t)TE_GEMM_MC * max_k, &ok);
    c->ex.max_k = max_k;
    c->scratch = alloc_zero(c, nt, sizeof *c->scratch, &ok);
    c->att = alloc_zero(c, nt, sizeof *c->att, &ok);
    for (size_t t = 0; ok && t < nt; t++) {
        c->scratch[t].pack = alloc_floats(c, TE_GEMM_PACK_FLOATS, &ok);
        if (in->dtype == TE_DTYPE_F16 || in->dtype == TE_DTYPE_BF16)
            c->scratch[t].wide = alloc_floats(c, TE_GEMM_WIDE_FLOATS, &ok);
    }
    c->one = alloc_zero(c, c->max_seq, sizeof *c->one, &ok);
    c->one_types = alloc_zero(c, c->max_seq, sizeof *c->one_types, &ok);
    c->pair_tmp = alloc_zero(c, c->max_seq, sizeof *c->pair_tmp, &ok);
    if (in->kind != TE_KIND_EMBEDDING) c->head = alloc_floats(c, 2 * H, &ok); /* the dense output; the tokens' mean */
    c->start = alloc_zero(c, c->max_texts, sizeof *c->start, &ok);
    c->len = alloc_zero(c, c->max_texts, sizeof *c->len, &ok);
    return ok;
}

static void free_scratch(te_ctx *c) {
    for (int t = 0; t < c->threads; t++) {
        if (c->scratch) {
            free(c->scratch[t].pack);
            free(c->scratch[t].wide);
        }
        if (c->att) free(c->att[t]);
    }
    if (c->rope_cos_local != c->rope_cos) free(c->rope_cos_local), free(c->rope_sin_local);
    void *bufs[] = {c->scratch, c->att, c->ex.shared, c->x, c->qkv, c->ffn, c->pos, (void *)c->zero, c->rope_cos,
                    c->rope_sin, c->relb, c->ids, c->types, c->one, c->one_types, c->pair_tmp, c->head, c->start,
                    c->len};
    for (size_t i = 0; i < sizeof bufs / sizeof *bufs; i++) free(bufs[i]);
    c->scratch = NULL, c->att = NULL, c->ex.shared = NULL, c->x = c->qkv = c->xn = c->ffn = NULL, c->pos = NULL;
    c->zero = NULL, c->rope_cos = c->rope_sin = c->relb = NULL, c->ids = NULL, c->types = NULL, c->one = NULL;
    c->rope_cos_local = c->rope_sin_local = NULL;
    c->one_types = NULL, c->pair_tmp = NULL, c->head = NULL, c->start = c->len = NULL;
    c->scratch_bytes = c->fixed_bytes = c->cap_tokens = c->cap_seq = 0;
}

/* Scratch within max_memory bytes: fewer tokens per batch until it fits,
 * and if one text of max_seq tokens does not, a lower max_seq. The fixed
 * part is measured by allocating it (the allocation code is the formula),
 * the growing part by grow_bytes, at the most the context may grow to. */
static te_status fit_scratch(te_ctx *c, size_t max_memory, te_error *err) {
    for (;;) {
        int ok = alloc_fixed(c);
        size_t x, qkv, att, grow = grow_bytes(c, c->max_tokens, c->max_seq, &x, &qkv, &att);
        size_t bytes = c->scratch_bytes + grow;
        ok = ok && grow && bytes > grow;
        if (ok && (max_memory == 0 || bytes <= max_memory)) {
            c->fixed_bytes = c->scratch_bytes;
            c->scratch_bytes = bytes;
            return TE_OK;
        }
        free_scratch(c);
        if (max_memory == 0 || c->max_tokens <= TE_MIN_TOKENS)
            return max_memory ? te_fail(err, TE_ERR_NOMEM, "max_memory %zu bytes is too little for this model: even %zu "
                                        "tokens per batch need %zu bytes of scratch", max_memory, c->max_tokens, bytes)
                              : te_fail(err, TE_ERR_NOMEM, "out of memory for the context's scratch (%zu tokens per "
                                        "batch)", c->max_tokens);
        /* Shrink in proportion (the token-sized buffers dominate), at least by an eighth. */
        size_t want = ok ? (size_t)((double)c->max_tokens * (double)max_memory / (double)bytes) : c->max_tokens / 2;
        if (want > c->max_tokens - c->max_tokens / 8) want = c->max_tokens - c->max_tokens / 8;
        c->max_tokens = want < TE_MIN_TOKENS ? TE_MIN_TOKENS : want;
        if (c->max_seq > c->max_tokens) c->max_seq = c->max_tokens;
    }
}

/* A capacity that covers `need`: at least double the old one (so a context
 * grows a handful of times, not at every call), at least 64, at most `max`. */
static size_t grown(size_t cap, size_t need, size_t max) {
    size_t n = cap > max / 2 ? max : 2 * cap;
    if (n < need) n = need;
    if (n < 64) n = 64;
    return n < max ? n : max;
}

/* Drops the buffers te_ctx_reserve grows (after a failed growth: the next call grows them again). */
static void drop_grown(te_ctx *c) {
    free(c->x), free(c->qkv), free(c->pos), free(c->ids), free(c->types);
    c->x = c->qkv = c->xn = NULL, c->pos = c->ids = NULL, c->types = NULL;
    for (int t = 0; c->att && t < c->threads; t++) {
        free(c->att[t]);
        c->att[t] = NULL;
    }
    c->cap_tokens = c->cap_seq = 0;
}

/* Old buffers are freed before the new ones are allocated, so growing never
 * holds both: the scratch stays within its bound (max_memory) all along. Only
 * ids and types, which hold the batch being built, are kept (realloc). */
te_status te_ctx_reserve(te_ctx *c, size_t tokens, size_t seq, te_error *err) {
    if (tokens <= c->cap_tokens && seq <= c->cap_seq) return TE_OK;
    size_t T = tokens <= c->cap_tokens ? c->cap_tokens : grown(c->cap_tokens, tokens, c->max_tokens);
    size_t S = seq <= c->cap_seq ? c->cap_seq : grown(c->cap_seq, seq, c->max_seq);
    size_t x_bytes, qkv_bytes, att_bytes;
    size_t bytes = grow_bytes(c, T, S, &x_bytes, &qkv_bytes, &att_bytes); /* within scratch_bytes: T, S <= the maxima */
    int ok = 1;
    if (T > c->cap_tokens) {
        int32_t *ids = realloc(c->ids, T * sizeof *ids);
        if (ids) c->ids = ids;
        uint8_t *types = ids ? realloc(c->types, T) : NULL;
        if (types) c->types = types;
        ok = ids && types;
        if (ok) {
            free(c->x), free(c->qkv), free(c->pos);
            c->x = aligned_alloc(64, x_bytes);
            c->qkv = aligned_alloc(64, qkv_bytes);
            c->xn = c->qkv && c->m->arch.norm_first ? c->qkv + T * te_qkv_width(&c->m->arch, c->m->info.num_heads) : NULL;
            c->pos = malloc(T * sizeof *c->pos);
            ok = c->x && c->qkv && c->pos;
        }
    }
    for (int t = 0; ok && S > c->cap_seq && t < c->threads; t++) {
        free(c->att[t]);
        ok = (c->att[t] = aligned_alloc(64, att_bytes)) != NULL;
    }
    if (!ok) {
        drop_grown(c);
        return te_fail(err, TE_ERR_NOMEM, "out of memory growing the context's scratch to %zu tokens per batch (%zu "
                       "bytes)", T, c->fixed_bytes + bytes);
    }
    c->cap_tokens = T;
    c->cap_seq = S;
    return TE_OK;
}

te_ctx *te_ctx_new(const te_model *m, const te_ctx_opts *opts, te_error *err) {
    te_error_clear(err);
    if (!m) { te_fail(err, TE_ERR_ARG, "te_ctx_new: model is NULL"); return NULL; }
    te_ctx_opts o = {0};
    if (opts) o = *opts;
    if (o.threads < 0 || o.batch < 0 || o.max_batch_tokens < 0 || o.max_seq_length < 0 || o.max_seq_length == 1) {
        te_fail(err, TE_ERR_ARG, "te_ctx_new: threads, batch and max_batch_tokens must not be negative, max_seq_length 0 or at least 2");
        return NULL;
    }
    const te_kernels *k = te_kernels_select(o.simd);
    if (!k) {
        te_fail(err, TE_ERR_UNSUPPORTED, "SIMD level '%s' is not available on this CPU (or unknown)", o.simd);
        return NULL;
    }
    te_ctx *c = calloc(1, sizeof *c);
    if (!c) { te_fail(err, TE_ERR_NOMEM, "out of memory"); return NULL; }
    const te_model_info *in = &m->info;
    long online = sysconf(_SC_NPROCESSORS_ONLN);
    c->m = m;
    c->k = k;
    c->threads = o.threads ? o.threads : (online > 0 ? (int)online : 1);
    if (c->threads > MAX_THREADS) c->threads = MAX_THREADS;
    c->max_seq = (size_t)in->max_seq_length;
    if (o.max_seq_length > 0 && (size_t)o.max_seq_length < c->max_seq) c->max_seq = (size_t)o.max_seq_length;
    c->max_texts = o.batch ? (size_t)o.batch : DEFAULT_BATCH;
    c->max_tokens = o.max_batch_tokens ? (size_t)o.max_batch_tokens : DEFAULT_BATCH_TOKENS;
    if (c->max_tokens < c->max_seq) c->max_tokens = c->max_seq; /* one text always fits */
    c->ffn_rows = TE_GEMM_MC;
    c->ffn_width = in->gated_ffn ? 2 * (size_t)in->intermediate_size : (size_t)in->intermediate_size;
    if (fit_scratch(c, o.max_memory, err) != TE_OK) {
        te_ctx_free(c);
        return NULL;
    }
    c->pool = te_pool_new(c->threads, err);
    if (!c->pool) {
        te_ctx_free(c);
        return NULL;
    }
    c->ex = (te_exec){c->pool, c->k, c->scratch, c->ex.shared, c->ex.max_k};
    return c;
}

void te_ctx_free(te_ctx *c) {
    if (!c) return;
    te_pool_free(c->pool);
    free_scratch(c);
    free(c);
}

const char *te_ctx_simd(const te_ctx *c) { return c->k->name; }
int te_ctx_threads(const te_ctx *c) { return c->threads; }
int te_ctx_max_seq_length(const te_ctx *c) { return (int)c->max_seq; }
int te_ctx_max_batch_tokens(const te_ctx *c) { return (int)c->max_tokens; }
size_t te_ctx_scratch_bytes(const te_ctx *c) { return c->scratch_bytes; }

size_t te_ctx_scratch_in_use(const te_ctx *c) {
    size_t x = 0, qkv = 0, att = 0;
    return c->fixed_bytes + (c->cap_tokens || c->cap_seq ? grow_bytes(c, c->cap_tokens, c->cap_seq, &x, &qkv, &att) : 0);
}

typedef struct peak_job {
    const te_kernels *k;
    long iters;
} peak_job;

static void run_peak(void *arg, size_t task, int thread) {
    (void)task;
    (void)thread;
    const peak_job *j = arg;
    j->k->fma_peak(j->iters);
}

double te_ctx_peak_gflops(te_ctx *c) {
    /* Calibrate to about 0.2 s, then time one FMA loop per thread. */
    peak_job j = {c->k, 1 << 16};
    double t0 = te_now();
    te_pool_run(c->pool, (size_t)c->threads, run_peak, &j);
    double t = te_now() - t0;
    j.iters = (long)((double)j.iters * 0.2 / (t > 1e-6 ? t : 1e-6));
    if (j.iters < (1 << 16)) j.iters = 1 << 16;
    t0 = te_now();
    te_pool_run(c->pool, (size_t)c->threads, run_peak, &j);
    t = te_now() - t0;
    double flops_per_iter = c->k->fma_peak(1);
    return (double)c->threads * (double)j.iters * flops_per_iter / t / 1e9;
}
