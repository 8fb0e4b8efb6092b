/*
 * test_kernels.c - every SIMD kernel set this CPU runs against the scalar
 * reference: the GEMM (through the same driver the model uses, over shapes
 * with every kind of edge: one row, odd row counts, partial panels, k not a
 * multiple of anything, with bias, accumulation and GELU), LayerNorm,
 * softmax, GELU, the embedding sum and the panel packers.
 */
#include "gemm.h"
#include "harness.h"
#include "kernels/kernels.h"

static uint64_t rng = 0x2545F4914F6CDD1Du;
static float frand(void) {
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (float)((rng >> 40) & 0xFFFFFF) / 16777216.0f * 2.0f - 1.0f;
}

static float *vec(size_t n) {
    float *v = aligned_alloc(64, (n * sizeof(float) + 63) / 64 * 64);
    for (size_t i = 0; i < n; i++) v[i] = frand();
    return v;
}

/* Reference C = A W^T (+ bias) (+ C) (GELU) in double, W given row-major. */
static void gemm_ref(const float *a, const float *w, const float *bias, const float *c_in, float *c, size_t m, size_t n,
                     size_t k, int gelu) {
    for (size_t i = 0; i < m; i++)
        for (size_t j = 0; j < n; j++) {
            double acc = (c_in ? c_in[i * n + j] : 0) + (bias ? bias[j] : 0);
            for (size_t t = 0; t < k; t++) acc += (double)a[i * k + t] * w[j * k + t];
            c[i * n + j] = gelu ? (float)(0.5 * acc * (1 + erf(acc / sqrt(2.0)))) : (float)acc;
        }
}

static const te_kernels *sets[8];
static int n_sets;

TEST(pack_panels_layouts) {
    size_t rows = 37, cols = 23;
    float *src = vec(rows * cols), *out = vec(48 * cols), *out_t = vec(48 * rows);
    te_pack_panels(src, cols, rows, cols, out);
    for (size_t r = 0; r < 48; r++)
        for (size_t c = 0; c < cols; c++)
            CHECK(out[(r / 16) * cols * 16 + c * 16 + r % 16] == (r < rows ? src[r * cols + c] : 0.0f));
    /* transposed: W = src^T, src is [k = rows][n = cols] */
    te_pack_panels_t(src, cols, rows, cols, out_t);
    for (size_t j = 0; j < 32; j++)
        for (size_t i = 0; i < rows; i++)
            CHECK(out_t[(j / 16) * rows * 16 + i * 16 + j % 16] == (j < cols ? src[i * cols + j] : 0.0f));
    free(src);
    free(out);
    free(out_t);
}

/* Each kernel set, through te_gemm_tile, against a double-precision
 * reference (and so against each other). C has a wider row stride than n
 * and a guard after it, all holding a sentinel that must survive: a kernel
 * writing past its tile fails here even where later writes would hide it. */
#define SENTINEL 12345.0f
#define GUARD 64
TEST(gemm_matches_reference_on_every_shape) {
    static const size_t ms[] = {1, 2, 5, 11, 12, 13, 14, 15, 25, 27, 97, 130};
    static const size_t ns[] = {1, 15, 16, 17, 33, 48, 100};
    static const size_t ks[] = {1, 7, 64, 255, 256, 257, 600};
    float *pack = aligned_alloc(64, (size_t)TE_GEMM_MC * TE_GEMM_KC * sizeof(float));
    int cases = 0;
    for (size_t mi = 0; mi < sizeof ms / sizeof *ms; mi++)
        for (size_t ni = 0; ni < sizeof ns / sizeof *ns; ni++)
            for (size_t ki = 0; ki < sizeof ks / sizeof *ks; ki++) {
                size_t m = ms[mi], n = ns[ni], k = ks[ki], np = (n + 15) / 16;
                int flags = (int)((mi + ni + ki) % 8); /* bias, accumulate, gelu in all combinations */
                float *a = vec(m * k), *w = vec(n * k), *bias = vec(n), *c0 = vec(m * n);
                size_t ldc = n + 7;
                float *panels = vec(np * 16 * k), *want = vec(m * n), *got = vec(m * ldc + GUARD);
                te_pack_panels(w, k, n, k, panels);
                gemm_ref(a, w, (flags & 1) ? bias : NULL, (flags & 2) ? c0 : NULL, want, m, n, k, flags & 4);
                for (int s = 0; s < n_sets; s++) {
                    for (size_t i = 0; i < m * ldc + GUARD; i++) got[i] = SENTINEL;
                    for (size_t i = 0; i < m; i++) memcpy(got + i * ldc, c0 + i * n, n * sizeof *got);
                    te_gemm g = {.a = a, .lda = k, .w = panels, .bias = (flags & 1) ? bias : NULL, .c = got, .ldc = ldc,
                                 .m = m, .n = n, .k = k, .accumulate = (flags & 2) != 0, .gelu = (flags & 4) != 0};
                    te_gemm_tile(sets[s], &g, 0, m, 0, np, pack);
                    for (size_t i = 0; i < m * ldc + GUARD; i++) {
                        size_t r = i / ldc, col = i % ldc;
                        if (r >= m || col >= n) {
                            CHECK_MSG(got[i] == SENTINEL, "%s m=%zu n=%zu k=%zu: wrote outside C at row %zu col %zu",
                                      sets[s]->name, m, n, k, r, col);
                            continue;
                        }
                        float w_ = want[r * n + col];
                        double tol = 2e-6 * sqrt((double)k) * 4 + 1e-6 * fabs(w_);
                        CHECK_MSG(fabs(got[i] - w_) <= tol, "%s m=%zu n=%zu k=%zu flags=%d at (%zu,%zu): %g vs %g",
                                  sets[s]->name, m, n, k, flags, r, col, got[i], w_);
                    }
                }
                cases++;
                free(a); free(w); free(bias); free(c0); free(panels); free(want); free(got);
            }
    free(pack);
    printf("  %d shapes x %d kernel sets\n", cases, n_sets);
}

/* The split over threads and row groups never changes a value: a tile
 * computed in pieces equals the tile computed whole, bit for bit. */
TEST(gemm_pieces_equal_whole) {
    size_t m = 61, n = 80, k = 300, np = 5;
    float *a = vec(m * k), *w = vec(n * k), *bias = vec(n), *panels = vec(np * 16 * k);
    float *whole = vec(m * n), *pieces = vec(m * n);
    float *pack = aligned_alloc(64, (size_t)TE_GEMM_MC * TE_GEMM_KC * sizeof(float));
    te_pack_panels(w, k, n, k, panels);
    for (int s = 0; s < n_sets; s++) {
        te_gemm g = {.a = a, .lda = k, .w = panels, .bias = bias, .c = whole, .ldc = n, .m = m, .n = n, .k = k, .gelu = 1};
        te_gemm_tile(sets[s], &g, 0, m, 0, np, pack);
        g.c = pieces;
        static const size_t cuts[] = {0, 1, 14, 27, 40, 61};
        for (size_t i = 0; i + 1 < sizeof cuts / sizeof *cuts; i++)
            for (size_t p = 0; p < np; p += 2)
                te_gemm_tile(sets[s], &g, cuts[i], cuts[i + 1], p, p + 2 < np ? p + 2 : np, pack);
        CHECK_MSG(memcmp(whole, pieces, m * n * sizeof *whole) == 0, "%s: pieces differ from the whole", sets[s]->name);
    }
    free(a); free(w); free(bias); free(panels); free(whole); free(pieces); free(pack);
}

TEST(ops_match_scalar) {
    static const size_t lens[] = {1, 7, 16, 33, 64, 383, 384, 1536};
    const te_kernels *ref = &te_kernels_scalar;
    for (size_t li = 0; li < sizeof lens / sizeof *lens; li++) {
        size_t n = lens[li];
        float *x = vec(n), *w = vec(n), *b = vec(n), *y = vec(n), *z = vec(n);
        for (size_t i = 0; i < n; i++) x[i] *= 6.0f; /* GELU and softmax over a wide range */
        for (int s = 0; s < n_sets; s++) {
            const te_kernels *k = sets[s];
            memcpy(y, x, n * 4); memcpy(z, x, n * 4);
            ref->layernorm(y, n, w, b, 1e-12f);
            k->layernorm(z, n, w, b, 1e-12f);
            for (size_t i = 0; i < n; i++) CHECK_MSG(fabs(y[i] - z[i]) <= 2e-5, "%s layernorm n=%zu", k->name, n);
            memcpy(y, x, n * 4); memcpy(z, x, n * 4);
            ref->softmax(y, n, 0.17f);
            k->softmax(z, n, 0.17f);
            for (size_t i = 0; i < n; i++) CHECK_MSG(fabs(y[i] - z[i]) <= 1e-6 * (1 + 10 * y[i]), "%s softmax n=%zu", k->name, n);
            memcpy(y, x, n * 4); memcpy(z, x, n * 4);
            ref->gelu(y, n);
            k->gelu(z, n);
            for (size_t i = 0; i < n; i++)
                CHECK_MSG(fabs(y[i] - z[i]) <= 2e-7 * (1 + fabs(x[i])), "%s gelu(%g): %g vs %g", k->name, x[i], z[i], y[i]);
            ref->add3(y, x, w, b, n);
            k->add3(z, x, w, b, n);
            CHECK_MSG(memcmp(y, z, n * 4) == 0, "%s add3 n=%zu", k->name, n);
        }
        free(x); free(w); free(b); free(y); free(z);
    }
}

TEST(selection_by_name) {
    CHECK(te_kernels_select(NULL) == sets[0]);
    CHECK(te_kernels_select("scalar") == &te_kernels_scalar);
    CHECK(te_kernels_select("no-such-simd") == NULL);
    for (int s = 0; s < n_sets; s++) CHECK(te_kernels_select(sets[s]->name) == sets[s]);
}

int main(void) {
    n_sets = te_kernels_available(sets, 8);
    printf("  kernel sets on this CPU:");
    for (int s = 0; s < n_sets; s++) printf(" %s", sets[s]->name);
    printf("\n");
    RUN(pack_panels_layouts);
    RUN(gemm_matches_reference_on_every_shape);
    RUN(gemm_pieces_equal_whole);
    RUN(ops_match_scalar);
    RUN(selection_by_name);
    return th_done();
}
