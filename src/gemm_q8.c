/*
 * gemm_q8.c - C = A W^T (+ bias) (+ C) (GELU) with int8 weights.
 *
 * A is quantized on the fly, one row (token) at a time, to u8 with its own
 * scale and zero point (asymmetric: after GELU most values are positive, and
 * a zero point spends all 256 levels on the row's actual range). Then the
 * int8 micro-kernel sums in int32 and rescales (kernels.h). Integer sums are
 * exact, and each row is quantized alone, so results do not depend on the
 * batch, the split or the thread count.
 */
#include "gemm.h"

static size_t min_sz(size_t a, size_t b) { return a < b ? a : b; }

/* Bytes per quantized row: k rounded up to whole groups of 4, then to 64. */
static size_t row_bytes(size_t k) { return (k + 63) / 64 * 64; }

/* Where one block of quantized rows lives. */
typedef struct q8_rows {
    uint8_t *q;       /* rows x ldq bytes */
    size_t ldq;
    float *scale;     /* [rows] */
    int32_t *zero;    /* [rows] */
} q8_rows;

/* Carves a buffer into `rows` quantized rows of g's k. */
static q8_rows carve(void *buf, size_t rows, size_t k) {
    q8_rows r;
    r.ldq = row_bytes(k);
    r.q = buf;
    r.scale = (float *)(r.q + rows * r.ldq);
    r.zero = (int32_t *)(r.scale + rows);
    return r;
}

static size_t rows_fitting(size_t buf_bytes, size_t k) {
    return buf_bytes / (row_bytes(k) + sizeof(float) + sizeof(int32_t));
}

static void quantize(const te_kernels *kn, const te_gemm *g, size_t r0, size_t rows, const q8_rows *r) {
    size_t k4 = (g->k + 3) / 4 * 4;
    for (size_t i = 0; i < rows; i++)
        kn->quant_u8(g->a + (r0 + i) * g->lda, g->k, k4, r->q + i * r->ldq, &r->scale[i], &r->zero[i]);
}

static size_t group_rows(const te_kernels *kn, size_t left) {
    return left <= (size_t)kn->q8_max_mr ? left : (size_t)kn->q8_mr;
}

/* Rows [r0, r0 + rows) of C (quantized in r) times panels [p0, p1). */
static void q8_block(const te_kernels *kn, const te_gemm *g, const q8_rows *r, size_t r0, size_t rows, size_t p0,
                     size_t p1) {
    const size_t np = (size_t)kn->q8_np, k4 = (g->k + 3) / 4, panel_bytes = k4 * 64;
    for (size_t p = p0; p < p1; p += np) {
        size_t col = p * TE_PANEL;
        te_q8_args u = {
            .lda = r->ldq,
            .b = (const int8_t *)g->w.data + p * panel_bytes,
            .b_stride = panel_bytes,
            .k4 = k4,
            .w_scale = g->w.scale + col,
            .w_sum = g->w.sum + col,
            .bias = g->bias ? g->bias + col : NULL,
            .ldc = g->ldc,
            .cols = (int)min_sz(min_sz(np, p1 - p) * TE_PANEL, g->n - col),
            .load_c = g->accumulate,
            .gelu = g->gelu,
        };
        for (size_t i = 0, h; i < rows; i += h) {
            h = group_rows(kn, rows - i);
            u.a = r->q + i * r->ldq;
            u.a_scale = r->scale + i;
            u.a_zero = r->zero + i;
            u.c = g->c + (r0 + i) * g->ldc + col;
            u.rows = (int)h;
            kn->q8_ukernel(&u);
        }
    }
}

void te_gemm_q8_tile(const te_kernels *kn, const te_gemm *g, size_t m0, size_t m1, size_t p0, size_t p1,
                     void *buf, size_t buf_bytes) {
    size_t per = min_sz(rows_fitting(buf_bytes, g->k), TE_GEMM_MC);
    for (size_t r0 = m0; r0 < m1; r0 += per) {
        size_t rows = min_sz(per, m1 - r0);
        q8_rows r = carve(buf, rows, g->k);
        quantize(kn, g, r0, rows, &r);
        q8_block(kn, g, &r, r0, rows, p0, p1);
    }
}

typedef struct q8_split {
    const te_exec *ex;
    const te_gemm *g;
    q8_rows r;                 /* few rows: all of A, quantized once */
    size_t row_tile, panel_tile, n_panels;
} q8_split;

static void run_rows(void *arg, size_t task, int thread) {
    const q8_split *s = arg;
    size_t m0 = task * s->row_tile;
    te_gemm_q8_tile(s->ex->k, s->g, m0, min_sz(m0 + s->row_tile, s->g->m), 0, s->n_panels,
                    s->ex->scratch[thread].pack, TE_GEMM_PACK_FLOATS * sizeof(float));
}

static void run_panels(void *arg, size_t task, int thread) {
    (void)thread;
    const q8_split *s = arg;
    size_t p0 = task * s->panel_tile;
    q8_block(s->ex->k, s->g, &s->r, 0, s->g->m, p0, min_sz(p0 + s->panel_tile, s->n_panels));
}

void te_gemm_q8_run(const te_exec *ex, const te_gemm *g) {
    size_t threads = (size_t)te_pool_threads(ex->pool), mr = (size_t)ex->k->q8_mr, np = (size_t)ex->k->q8_np;
    q8_split s = {ex, g, {0}, 0, 0, (g->n + TE_PANEL - 1) / TE_PANEL};
    size_t groups = (g->m + mr - 1) / mr, shared_bytes = (size_t)TE_GEMM_MC * ex->max_k * sizeof(float);
    if (groups >= 4 * threads || g->m > rows_fitting(shared_bytes, g->k)) {
        /* Enough rows: each task quantizes and multiplies its own rows. */
        size_t per = (groups + 4 * threads - 1) / (4 * threads);
        s.row_tile = min_sz(per * mr, TE_GEMM_MC);
        te_pool_run(ex->pool, (g->m + s.row_tile - 1) / s.row_tile, run_rows, &s);
        return;
    }
    /* Few rows: quantize them once (a few thousand values), then split the
     * weights, one contiguous share per thread. */
    s.r = carve(ex->shared, g->m, g->k);
    quantize(ex->k, g, 0, g->m, &s.r);
    size_t per = (s.n_panels + threads - 1) / threads;
    s.panel_tile = (per + np - 1) / np * np;
    te_pool_run(ex->pool, (s.n_panels + s.panel_tile - 1) / s.panel_tile, run_panels, &s);
}
