/*
 * gemm.c - blocking, packing and parallel split around the micro-kernels.
 *
 * Loop nest for one tile (rows [m0,m1), panels [p0,p1)):
 *   for each k block of KC        (the bias joins on the first, GELU on the last)
 *     for each row block of MC    pack A[rows][k block] as groups of [k][h]
 *       for each group of np panels      (weight micro-panel: kc x np*16, from L2 into L1)
 *         for each group of h rows       (the micro-kernel; the micro-panel is reused from L1)
 * Weights need no packing: the file already stores them as panels. Every
 * element of C is computed by one micro-kernel call per k block, in k order,
 * whatever the group it falls in: the split never changes a result.
 */
#include "gemm.h"

#include <string.h>

#ifdef TE_BLAS
#include <cblas.h>
#endif

static size_t min_sz(size_t a, size_t b) { return a < b ? a : b; }

/* Rows of the next micro-tile: the kernel's preferred height, except that a
 * remainder the kernel can take whole ends the block in one tile (13 rows:
 * one tile of 13, not 12 + 1). */
static size_t group_rows(const te_kernels *kn, size_t left) {
    return left <= (size_t)kn->max_mr ? left : (size_t)kn->mr;
}

/* Whether g runs on the bf16 dot-product kernel: half-precision weights
 * (f16 ones are rounded to bf16 in registers), and a CPU with one. A is
 * then packed as bf16 pairs, two k in 32 bits. */
static int bf16_dot(const te_kernels *kn, const te_gemm *g) {
    return (g->w.dtype == TE_DTYPE_BF16 || g->w.dtype == TE_DTYPE_F16) && kn->ukernel_bf16_dot;
}

/* Packed A's length per row in 32-bit units: kc floats, or ceil(kc/2) pairs. */
static size_t packed_k(int pairs, size_t kc) { return pairs ? (kc + 1) / 2 : kc; }

/* Packs columns [k0, k1) of rows x kc of A into `out`, laid out as
 * consecutive groups of [k][h] (h = group height), or with `pairs` as
 * groups of [k/2][h] bf16 pairs (k0 even; an odd kc's last pair is (x, 0)):
 * disjoint k ranges write disjoint bytes, so threads can pack one block
 * together. */
static void pack_range(const te_kernels *kn, int pairs, const float *a, size_t lda, size_t rows, size_t kc, size_t k0,
                       size_t k1, float *out) {
    for (size_t g = 0, h; g < rows; g += h) {
        h = group_rows(kn, rows - g);
        float *dst = out + g * packed_k(pairs, kc);
        uint32_t *dst2 = (uint32_t *)dst;
        const float *rows_g = a + g * lda;
        if (!pairs) { /* in write order: the h source rows stay in L1 */
            for (size_t k = k0; k < k1; k++)
                for (size_t i = 0; i < h; i++) dst[k * h + i] = rows_g[i * lda + k];
            continue;
        }
        for (size_t i = 0; i < h; i++) kn->pack_bf16_pairs(dst2 + k0 / 2 * h + i, h, rows_g + i * lda + k0, k1 - k0);
    }
}

static void pack_block(const te_kernels *kn, int pairs, const float *a, size_t lda, size_t rows, size_t kc, float *out) {
    pack_range(kn, pairs, a, lda, rows, kc, 0, kc, out);
}

/* How the micro-kernel reads a weight matrix's elements. */
static te_welem welem_of(te_dtype d) {
    return d == TE_DTYPE_F16 ? TE_WELEM_F16 : d == TE_DTYPE_BF16 ? TE_WELEM_BF16 : TE_WELEM_F32;
}

/* Panel p of W at k0: the micro-kernels read f32, half and bfloat16 weights in place. */
static const void *weights_at(const te_gemm *g, size_t p, size_t k0) {
    size_t at = p * g->k * TE_PANEL + k0 * TE_PANEL;
    if (g->w.dtype == TE_DTYPE_F32) return (const float *)g->w.data + at;
    return (const uint16_t *)g->w.data + at;
}

/* Where a block's packed A is: groups of [k][h] for `lda_k` k (or bf16
 * pairs: k/2). */
typedef struct packed_a {
    const float *p;
    size_t lda_k;
} packed_a;

/* Half-precision panels [p, p + np) at k0..k0+kc widened into `wide` (a
 * micro-panel: np * kc * 16 floats), for a block with enough rows that
 * widening once beats widening in registers for every group of rows. */
static void widen_panels(const te_kernels *kn, const te_gemm *g, size_t p, size_t np, size_t k0, size_t kc,
                         float *wide) {
    size_t n_panels = (g->n + TE_PANEL - 1) / TE_PANEL;
    for (size_t q = 0; q < np && p + q < n_panels; q++) {
        const uint16_t *src = weights_at(g, p + q, k0);
        float *dst = wide + q * kc * TE_PANEL;
        if (g->w.dtype == TE_DTYPE_F16) kn->widen_f16(dst, src, kc * TE_PANEL);
        else kn->widen_bf16(dst, src, kc * TE_PANEL);
    }
}

/* Multiplies one packed block (rows r0.., k0..k0+kc) by panels [p0, p1);
 * prefetch: see te_ukr_args. `wide` (may be NULL): scratch for widened
 * half-precision panels, used when the block has more rows than one group. */
static void compute_block(const te_kernels *kn, const te_gemm *g, packed_a pa, size_t r0, size_t rows, size_t k0,
                          size_t kc, size_t p0, size_t p1, int prefetch, float *wide) {
    const size_t np = (size_t)kn->np;
    int first = k0 == 0, last = k0 + kc == g->k, pairs = bf16_dot(kn, g);
    int widen = wide && !pairs && g->w.dtype != TE_DTYPE_F32 && rows > (size_t)kn->max_mr;
    void (*ukernel)(const te_ukr_args *) = pairs ? kn->ukernel_bf16_dot : kn->ukernel;
    for (size_t p = p0; p < p1; p += np) {
        size_t col = p * TE_PANEL;
        if (widen) widen_panels(kn, g, p, min_sz(np, p1 - p), k0, kc, wide);
        te_ukr_args u = {
            .b = widen ? wide : weights_at(g, p, k0),
            .b_type = widen ? TE_WELEM_F32 : welem_of(g->w.dtype),
            .b_stride = widen ? kc * TE_PANEL : g->k * TE_PANEL,
            .kc = kc,
            .ldc = g->ldc,
            .cols = (int)min_sz(min_sz(np, p1 - p) * TE_PANEL, g->n - col),
            .load_c = !first || g->accumulate,
            .bias = (first && g->bias) ? g->bias + col : NULL,
            .gelu = last && g->gelu,
            .prefetch = prefetch,
        };
        for (size_t i = 0, h; i < rows; i += h) {
            h = group_rows(kn, rows - i);
            u.a = pa.p + i * pa.lda_k;
            u.c = g->c + (r0 + i) * g->ldc + col;
            u.rows = (int)h;
            ukernel(&u);
        }
    }
}

void te_gemm_tile(const te_kernels *kn, const te_gemm *g, size_t m0, size_t m1, size_t p0, size_t p1,
                  const te_gemm_scratch *s) {
    if (g->w.dtype == TE_DTYPE_I8) {
        te_gemm_q8_tile(kn, g, m0, m1, p0, p1, s->pack, TE_GEMM_PACK_FLOATS * sizeof(float));
        return;
    }
    int pairs = bf16_dot(kn, g);
    for (size_t k0 = 0; k0 < g->k; k0 += TE_GEMM_KC) {
        size_t kc = min_sz(TE_GEMM_KC, g->k - k0);
        for (size_t r0 = m0; r0 < m1; r0 += TE_GEMM_MC) {
            size_t rows = min_sz(TE_GEMM_MC, m1 - r0);
            pack_block(kn, pairs, g->a + r0 * g->lda + k0, g->lda, rows, kc, s->pack);
            compute_block(kn, g, (packed_a){s->pack, packed_k(pairs, kc)}, r0, rows, k0, kc, p0, p1, 0, s->wide);
        }
    }
}

typedef struct split {
    const te_exec *ex;
    const te_gemm *g;
    size_t row_tile, panel_tile, n_panels, k_per_task;
} split;

/* Enough rows: each task takes a block of rows across every panel, packing
 * its own rows; its rows stay packed while the weights stream past. */
static void run_rows(void *arg, size_t task, int thread) {
    const split *s = arg;
    size_t m0 = task * s->row_tile;
    te_gemm_tile(s->ex->k, s->g, m0, min_sz(m0 + s->row_tile, s->g->m), 0, s->n_panels, &s->ex->scratch[thread]);
}

/* Few rows: A was packed once, whole (ex->shared), and each task takes a
 * share of the panels. Without k blocking each panel is one sequential
 * stream, read once, with prefetch running ahead of it: these weights come
 * from DRAM and the arithmetic per byte is low. */
#define STREAM_PREFETCH 2048

static void run_pack(void *arg, size_t task, int thread) {
    (void)thread;
    const split *s = arg;
    size_t k0 = task * s->k_per_task;
    pack_range(s->ex->k, bf16_dot(s->ex->k, s->g), s->g->a, s->g->lda, s->g->m, s->g->k, k0,
               min_sz(k0 + s->k_per_task, s->g->k), s->ex->shared);
}

static void run_panels(void *arg, size_t task, int thread) {
    (void)thread;
    const split *s = arg;
    size_t p0 = task * s->panel_tile, p1 = min_sz(p0 + s->panel_tile, s->n_panels);
    compute_block(s->ex->k, s->g, (packed_a){s->ex->shared, packed_k(bf16_dot(s->ex->k, s->g), s->g->k)}, 0,
                  s->g->m, 0, s->g->k, p0, p1, STREAM_PREFETCH, NULL);
}

#ifdef TE_BLAS
/* make BLAS=openblas: big GEMMs go to cblas_sgemm. Each 16-column panel of
 * the weights is a row-major [k][16] matrix, so no weight is copied; bias
 * and GELU follow in a second pass over C, split over the pool. */
#define BLAS_MIN_ROWS 64

typedef struct epilogue {
    const te_exec *ex;
    const te_gemm *g;
    size_t rows_per_task;
} epilogue;

static void run_epilogue(void *arg, size_t task, int thread) {
    (void)thread;
    const epilogue *e = arg;
    for (size_t i = task * e->rows_per_task; i < min_sz(e->g->m, (task + 1) * e->rows_per_task); i++) {
        float *c = e->g->c + i * e->g->ldc;
        if (e->g->bias)
            for (size_t j = 0; j < e->g->n; j++) c[j] += e->g->bias[j];
        if (e->g->gelu) e->ex->k->gelu(c, e->g->n);
    }
}

static void gemm_blas(const te_exec *ex, const te_gemm *g) {
    for (size_t col = 0; col < g->n; col += TE_PANEL)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)g->m, (int)min_sz(TE_PANEL, g->n - col), (int)g->k,
                    1.0f, g->a, (int)g->lda, (const float *)g->w.data + (col / TE_PANEL) * g->k * TE_PANEL, TE_PANEL,
                    g->accumulate ? 1.0f : 0.0f, g->c + col, (int)g->ldc);
    if (!g->bias && !g->gelu) return;
    epilogue e = {ex, g, 16};
    te_pool_run(ex->pool, (g->m + e.rows_per_task - 1) / e.rows_per_task, run_epilogue, &e);
}
#endif

void te_gemm_run(const te_exec *ex, const te_gemm *g) {
    if (g->w.dtype == TE_DTYPE_I8) {
        te_gemm_q8_run(ex, g);
        return;
    }
#ifdef TE_BLAS
    if (g->m >= BLAS_MIN_ROWS && g->w.dtype == TE_DTYPE_F32) {
        gemm_blas(ex, g);
        return;
    }
#endif
    size_t threads = (size_t)te_pool_threads(ex->pool), mr = (size_t)ex->k->mr, np = (size_t)ex->k->np;
    split s = {ex, g, 0, 0, (g->n + TE_PANEL - 1) / TE_PANEL, 0};
    size_t groups = (g->m + mr - 1) / mr;
    if (groups >= 4 * threads || g->m > TE_GEMM_MC || g->k > ex->max_k) {
        size_t per = (groups + 4 * threads - 1) / (4 * threads);
        s.row_tile = min_sz(per * mr, TE_GEMM_MC);
        te_pool_run(ex->pool, (g->m + s.row_tile - 1) / s.row_tile, run_rows, &s);
        return;
    }
    s.k_per_task = ((g->k + threads - 1) / threads + 1) / 2 * 2; /* even: bf16 pairs never straddle two tasks */
    te_pool_run(ex->pool, (g->k + s.k_per_task - 1) / s.k_per_task, run_pack, &s);
    /* One contiguous share per thread: each thread's weights are one long
     * stream for the prefetcher (measured faster than finer, dynamic tasks). */
    size_t per = (s.n_panels + threads - 1) / threads;
    s.panel_tile = (per + np - 1) / np * np;
    te_pool_run(ex->pool, (s.n_panels + s.panel_tile - 1) / s.panel_tile, run_panels, &s);
}

void te_pack_panels(const float *src, size_t ld, size_t rows, size_t cols, float *out) {
    size_t padded = (rows + TE_PANEL - 1) / TE_PANEL * TE_PANEL;
    for (size_t r = 0; r < padded; r += TE_PANEL) {
        float *panel = out + (r / TE_PANEL) * cols * TE_PANEL;
        size_t n = min_sz(TE_PANEL, rows - min_sz(r, rows));
        for (size_t c = 0; c < cols; c++) {
            for (size_t j = 0; j < n; j++) panel[c * TE_PANEL + j] = src[(r + j) * ld + c];
            for (size_t j = n; j < TE_PANEL; j++) panel[c * TE_PANEL + j] = 0.0f;
        }
    }
}

void te_pack_panels_t(const float *src, size_t ld, size_t k, size_t n, float *out) {
    for (size_t j0 = 0; j0 < n; j0 += TE_PANEL) {
        float *panel = out + (j0 / TE_PANEL) * k * TE_PANEL;
        size_t w = min_sz(TE_PANEL, n - j0);
        for (size_t i = 0; i < k; i++) {
            memcpy(panel + i * TE_PANEL, src + i * ld + j0, w * sizeof *src);
            for (size_t j = w; j < TE_PANEL; j++) panel[i * TE_PANEL + j] = 0.0f;
        }
    }
}
