/*
 * gemm.c - blocking, packing and parallel split around the micro-kernels.
 *
 * Loop nest for one tile (rows [m0,m1), panels [p0,p1)):
 *   for each k block of KC        (the bias joins on the first, GELU on the last)
 *     for each row block of MC    pack A[rows][k block] as [group][k][mr]
 *       for each group of np panels      (weight micro-panel: kc x np*16, from L2 into L1)
 *         for each group of mr rows      (the micro-kernel; the micro-panel is reused from L1)
 * Weights need no packing: the file already stores them as panels.
 */
#include "gemm.h"

#include <string.h>

static size_t min_sz(size_t a, size_t b) { return a < b ? a : b; }

static void pack_a(const float *a, size_t lda, size_t rows, size_t kc, int mr, float *out) {
    for (size_t g = 0; g < rows; g += (size_t)mr) {
        size_t n = min_sz((size_t)mr, rows - g);
        float *dst = out + g * kc;
        for (size_t k = 0; k < kc; k++) {
            for (size_t i = 0; i < n; i++) dst[k * (size_t)mr + i] = a[(g + i) * lda + k];
            for (size_t i = n; i < (size_t)mr; i++) dst[k * (size_t)mr + i] = 0.0f;
        }
    }
}

void te_gemm_tile(const te_kernels *kn, const te_gemm *g, size_t m0, size_t m1, size_t p0, size_t p1, float *pack) {
    const size_t mr = (size_t)kn->mr, np = (size_t)kn->np, panel_stride = g->k * TE_PANEL;
    for (size_t k0 = 0; k0 < g->k; k0 += TE_GEMM_KC) {
        size_t kc = min_sz(TE_GEMM_KC, g->k - k0);
        int first = k0 == 0, last = k0 + kc == g->k;
        for (size_t r0 = m0; r0 < m1; r0 += TE_GEMM_MC) {
            size_t rows = min_sz(TE_GEMM_MC, m1 - r0);
            pack_a(g->a + r0 * g->lda + k0, g->lda, rows, kc, kn->mr, pack);
            for (size_t p = p0; p < p1; p += np) {
                size_t col = p * TE_PANEL;
                te_ukr_args u = {
                    .b = g->w + p * panel_stride + k0 * TE_PANEL,
                    .b_stride = panel_stride,
                    .kc = kc,
                    .ldc = g->ldc,
                    .cols = (int)min_sz(min_sz(np, p1 - p) * TE_PANEL, g->n - col),
                    .load_c = !first || g->accumulate,
                    .bias = (first && g->bias) ? g->bias + col : NULL,
                    .gelu = last && g->gelu,
                };
                for (size_t i = 0; i < rows; i += mr) {
                    u.a = pack + i * kc;
                    u.c = g->c + (r0 + i) * g->ldc + col;
                    u.rows = (int)min_sz(mr, rows - i);
                    kn->ukernel(&u);
                }
            }
        }
    }
}

typedef struct split {
    const te_exec *ex;
    const te_gemm *g;
    size_t row_tile, panel_tile, n_panel_tiles, n_panels;
} split;

static void run_split(void *arg, size_t task, int thread) {
    const split *s = arg;
    size_t rt = task / s->n_panel_tiles, pt = task % s->n_panel_tiles;
    size_t m0 = rt * s->row_tile, p0 = pt * s->panel_tile;
    te_gemm_tile(s->ex->k, s->g, m0, min_sz(m0 + s->row_tile, s->g->m), p0, min_sz(p0 + s->panel_tile, s->n_panels),
                 s->ex->pack[thread]);
}

void te_gemm_run(const te_exec *ex, const te_gemm *g) {
    size_t threads = (size_t)te_pool_threads(ex->pool), mr = (size_t)ex->k->mr, np = (size_t)ex->k->np;
    split s = {ex, g, 0, 0, 0, (g->n + TE_PANEL - 1) / TE_PANEL};
    /* Enough rows: split rows, each task sweeping every panel (its rows stay
     * packed while the weights stream past). Few rows: split the panels, so
     * each thread streams its own share of the weights once. */
    size_t groups = (g->m + mr - 1) / mr;
    if (groups >= 4 * threads) {
        size_t per = (groups + 4 * threads - 1) / (4 * threads);
        s.row_tile = min_sz(per * mr, TE_GEMM_MC);
        s.panel_tile = s.n_panels;
    } else {
        s.row_tile = g->m;
        size_t per = (s.n_panels + 4 * threads - 1) / (4 * threads);
        s.panel_tile = ((per + np - 1) / np) * np;
    }
    s.n_panel_tiles = (s.n_panels + s.panel_tile - 1) / s.panel_tile;
    size_t n_row_tiles = (g->m + s.row_tile - 1) / s.row_tile;
    te_pool_run(ex->pool, n_row_tiles * s.n_panel_tiles, run_split, &s);
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
