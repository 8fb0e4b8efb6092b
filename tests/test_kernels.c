/*
 * test_kernels.c - every SIMD kernel set this CPU runs against the scalar
 * reference: the GEMM (through the same driver the model uses, over shapes
 * with every kind of edge: one row, odd row counts, partial panels, k not a
 * multiple of anything, with bias, accumulation and GELU), the same for
 * int8, f16 and bf16 weights, LayerNorm, softmax, GELU, the embedding sum, the
 * panel packers, the quantizers and the search dot products.
 */
#include "gemm.h"
#include "half.h"
#include "harness.h"
#include "kernels/kernels.h"
#include "quant.h"
#include "threadpool.h"

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

/* One thread's GEMM scratch, as a context allocates it. */
static te_gemm_scratch scratch_new(void) {
    te_gemm_scratch s = {aligned_alloc(64, TE_GEMM_PACK_FLOATS * sizeof(float)),
                         aligned_alloc(64, TE_GEMM_WIDE_FLOATS * sizeof(float))};
    return s;
}

static void scratch_free(te_gemm_scratch *s) {
    free(s->pack);
    free(s->wide);
}

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
    te_gemm_scratch sc = scratch_new();
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
                    te_gemm g = {.a = a, .lda = k, .w = {.data = panels}, .bias = (flags & 1) ? bias : NULL, .c = got,
                                 .ldc = ldc, .m = m, .n = n, .k = k, .accumulate = (flags & 2) != 0, .gelu = (flags & 4) != 0};
                    te_gemm_tile(sets[s], &g, 0, m, 0, np, &sc);
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
    scratch_free(&sc);
    printf("  %d shapes x %d kernel sets\n", cases, n_sets);
}

/* The split over threads and row groups never changes a value: a tile
 * computed in pieces equals the tile computed whole, bit for bit. */
static int pieces_equal_whole(const te_kernels *kn, te_gemm *g, size_t np) {
    size_t m = g->m, n = g->n;
    float *whole = vec(m * n), *pieces = vec(m * n);
    te_gemm_scratch sc = scratch_new();
    g->c = whole;
    te_gemm_tile(kn, g, 0, m, 0, np, &sc);
    g->c = pieces;
    static const size_t cuts[] = {0, 1, 14, 27, 40, 61};
    for (size_t i = 0; i + 1 < sizeof cuts / sizeof *cuts; i++)
        for (size_t p = 0; p < np; p += 2) te_gemm_tile(kn, g, cuts[i], cuts[i + 1], p, p + 2 < np ? p + 2 : np, &sc);
    int same = memcmp(whole, pieces, m * n * sizeof *whole) == 0;
    free(whole); free(pieces); scratch_free(&sc);
    return same;
}

TEST(gemm_pieces_equal_whole) {
    size_t m = 61, n = 80, k = 300, np = 5;
    float *a = vec(m * k), *w = vec(n * k), *bias = vec(n), *panels = vec(np * 16 * k);
    te_pack_panels(w, k, n, k, panels);
    for (int s = 0; s < n_sets; s++) {
        te_gemm g = {.a = a, .lda = k, .w = {.data = panels}, .bias = bias, .ldc = n, .m = m, .n = n, .k = k, .gelu = 1};
        CHECK_MSG(pieces_equal_whole(sets[s], &g, np), "%s: pieces differ from the whole", sets[s]->name);
    }
    free(a); free(w); free(bias); free(panels);
}

/* An int8 weight as the file stores it, from a row-major f32 W [n][k]. */
typedef struct q8w {
    int8_t *panels, *rows; /* panel16x4, and the same values row-major */
    float *scale, *sum;
} q8w;

static q8w q8w_new(const float *w, size_t n, size_t k) {
    size_t np = (n + 15) / 16, k4 = (k + 3) / 4;
    q8w q = {calloc(np * k4 * 64, 1), malloc(n * k), malloc(n * sizeof(float)), malloc(n * sizeof(float))};
    for (size_t r = 0; r < n; r++) {
        q.scale[r] = te_quant_row_i8(w + r * k, k, q.rows + r * k);
        te_quant_panel_row(q.panels, k, r, q.rows + r * k);
        int32_t total = 0;
        for (size_t c = 0; c < k; c++) total += q.rows[r * k + c];
        q.sum[r] = (float)total;
    }
    return q;
}

static void q8w_free(q8w *q) {
    free(q->panels); free(q->rows); free(q->scale); free(q->sum);
}

/* The int8 GEMM of every set against (1) the scalar int8 kernel: equal bit
 * for bit without GELU (integer sums, one fixed float epilogue), within
 * GELU's approximation with it; (2) a double reference over the same
 * quantized values, which checks the zero-point algebra; (3) the f32 product,
 * within what 8-bit quantization allows. Sentinels catch stray writes. */
TEST(q8_gemm_matches_scalar_and_reference) {
    static const size_t ms[] = {1, 2, 3, 12, 13, 14, 15, 29, 97, 130};
    static const size_t ns[] = {1, 15, 16, 17, 33, 100};
    static const size_t ks[] = {1, 3, 4, 7, 64, 257, 600};
    te_gemm_scratch sc = scratch_new();
    int cases = 0;
    for (size_t mi = 0; mi < sizeof ms / sizeof *ms; mi++)
        for (size_t ni = 0; ni < sizeof ns / sizeof *ns; ni++)
            for (size_t ki = 0; ki < sizeof ks / sizeof *ks; ki++) {
                size_t m = ms[mi], n = ns[ni], k = ks[ki], np = (n + 15) / 16, ldc = n + 5;
                int flags = (int)((mi + ni + ki) % 8);
                float *a = vec(m * k), *w = vec(n * k), *bias = vec(n), *c0 = vec(m * n);
                for (size_t i = 0; i < m * k; i += 3) a[i] = fabsf(a[i]) * 4.0f; /* skewed rows: zero point != 128 */
                q8w q = q8w_new(w, n, k);
                float *ref = vec(m * ldc + GUARD), *got = vec(m * ldc + GUARD), *exact = vec(m * n), *f32 = vec(m * n);
                te_gemm g = {.a = a, .lda = k, .w = {TE_DTYPE_I8, q.panels, q.scale, q.sum},
                             .bias = (flags & 1) ? bias : NULL, .ldc = ldc, .m = m, .n = n, .k = k,
                             .accumulate = (flags & 2) != 0, .gelu = (flags & 4) != 0};
                /* (2): dequantize both sides, multiply in double. */
                size_t k4 = (k + 3) / 4 * 4;
                uint8_t *qa = malloc(k4);
                for (size_t i = 0; i < m; i++) {
                    float as;
                    int32_t z;
                    te_quant_u8_scalar(a + i * k, k, k4, qa, &as, &z);
                    for (size_t j = 0; j < n; j++) {
                        double acc = 0, facc = 0;
                        for (size_t t = 0; t < k; t++) {
                            acc += ((double)qa[t] - z) * as * q.rows[j * k + t] * q.scale[j];
                            facc += (double)a[i * k + t] * w[j * k + t];
                        }
                        double add = ((flags & 1) ? bias[j] : 0) + ((flags & 2) ? c0[i * n + j] : 0);
                        acc += add;
                        facc += add;
                        if (flags & 4) {
                            acc = 0.5 * acc * (1 + erf(acc / sqrt(2.0)));
                            facc = 0.5 * facc * (1 + erf(facc / sqrt(2.0)));
                        }
                        exact[i * n + j] = (float)acc;
                        f32[i * n + j] = (float)facc;
                    }
                }
                free(qa);
                for (int s = -1; s < n_sets; s++) {
                    const te_kernels *kn = s < 0 ? &te_kernels_scalar : sets[s];
                    float *out = s < 0 ? ref : got;
                    for (size_t i = 0; i < m * ldc + GUARD; i++) out[i] = SENTINEL;
                    for (size_t i = 0; i < m; i++) memcpy(out + i * ldc, c0 + i * n, n * sizeof *out);
                    g.c = out;
                    te_gemm_tile(kn, &g, 0, m, 0, np, &sc);
                    for (size_t i = 0; i < m * ldc + GUARD; i++) {
                        size_t r = i / ldc, col = i % ldc;
                        if (r >= m || col >= n) {
                            CHECK_MSG(out[i] == SENTINEL, "%s q8 m=%zu n=%zu k=%zu: wrote outside C at (%zu,%zu)",
                                      kn->name, m, n, k, r, col);
                            continue;
                        }
                        float e = exact[r * n + col], f = f32[r * n + col];
                        CHECK_MSG(fabs(out[i] - e) <= 1e-5 * (1 + fabs(e) + sqrt((double)k)),
                                  "%s q8 m=%zu n=%zu k=%zu flags=%d (%zu,%zu): %.9g vs exact %.9g", kn->name, m, n, k,
                                  flags, r, col, out[i], e);
                        /* Rounding bound: each term is off by at most half a step of
                         * each side (GELU's slope is below 1.13). */
                        double bound = 1e-5, as = 0;
                        float amin = 0, amax = 0;
                        for (size_t t = 0; t < k; t++) {
                            amin = fminf(amin, a[r * k + t]);
                            amax = fmaxf(amax, a[r * k + t]);
                        }
                        as = (amax - amin) / 255.0;
                        for (size_t t = 0; t < k; t++)
                            bound += 0.5 * as * fabs(w[col * k + t]) + 0.5 * q.scale[col] * fabs(a[r * k + t]) +
                                     0.25 * as * q.scale[col];
                        CHECK_MSG(fabs(out[i] - f) <= 1.2 * bound, "%s q8 vs f32 (%zu,%zu): %g vs %g (bound %g)",
                                  kn->name, r, col, out[i], f, bound);
                        if (s >= 0 && !(flags & 4))
                            CHECK_MSG(out[i] == ref[i], "%s q8 differs from scalar m=%zu n=%zu k=%zu at (%zu,%zu): %.9g vs %.9g",
                                      kn->name, m, n, k, r, col, out[i], ref[i]);
                        if (s >= 0 && (flags & 4))
                            CHECK_MSG(fabs(out[i] - ref[i]) <= 4e-7 * (1 + fabs(ref[i])), "%s q8 GELU at (%zu,%zu): %.9g vs %.9g",
                                      kn->name, r, col, out[i], ref[i]);
                    }
                }
                cases++;
                q8w_free(&q);
                free(a); free(w); free(bias); free(c0); free(ref); free(got); free(exact); free(f32);
            }
    scratch_free(&sc);
    printf("  %d int8 shapes x %d kernel sets\n", cases, n_sets);
}

/* Whatever the split of rows (the int8 path quantizes per row) and panels,
 * every value is the same, bit for bit. */
TEST(q8_gemm_pieces_equal_whole) {
    size_t m = 61, n = 80, k = 300, np = 5;
    float *a = vec(m * k), *w = vec(n * k), *bias = vec(n);
    q8w q = q8w_new(w, n, k);
    for (int s = 0; s < n_sets; s++) {
        te_gemm g = {.a = a, .lda = k, .w = {TE_DTYPE_I8, q.panels, q.scale, q.sum}, .bias = bias, .ldc = n,
                     .m = m, .n = n, .k = k, .gelu = 1};
        CHECK_MSG(pieces_equal_whole(sets[s], &g, np), "%s: int8 pieces differ from the whole", sets[s]->name);
    }
    q8w_free(&q);
    free(a); free(w); free(bias);
}

/* f16 and bf16 weights give exactly what f32 weights holding the same (widened)
 * values give, through one tile and through te_gemm_run on two threads (few
 * rows: A packed once and the weights streamed with prefetch; many rows:
 * row blocks): the widening in registers is the only difference. */
static void run_both(const te_kernels *kn, te_pool *pool, te_gemm *g, float *c_tile, float *c_run) {
    te_gemm_scratch sc[2] = {scratch_new(), scratch_new()};
    size_t max_k = 600;
    float *shared = aligned_alloc(64, TE_GEMM_MC * max_k * sizeof(float));
    g->c = c_tile;
    te_gemm_tile(kn, g, 0, g->m, 0, (g->n + 15) / 16, &sc[0]);
    te_exec ex = {.pool = pool, .k = kn, .scratch = sc, .shared = shared, .max_k = max_k};
    g->c = c_run;
    te_gemm_run(&ex, g);
    free(shared); scratch_free(&sc[0]); scratch_free(&sc[1]);
}

/* A weight dtype of 16 bits and its scalar conversions. */
typedef struct half_type {
    te_dtype dtype;
    uint16_t (*from)(float);
    float (*to)(uint16_t);
} half_type;

static void half_gemm_equals_f32_of_widened(const half_type *h) {
    static const size_t ks[] = {5, 256, 600}, ms[] = {1, 3, 13, 130};
    te_error err;
    te_pool *pool = te_pool_new(2, &err);
    CHECK(pool != NULL);
    for (size_t ki = 0; ki < sizeof ks / sizeof *ks; ki++)
        for (size_t mi = 0; mi < sizeof ms / sizeof *ms; mi++) {
            size_t m = ms[mi], n = 40, k = ks[ki], np = 3;
            float *a = vec(m * k), *w = vec(n * k), *bias = vec(n), *panels = vec(np * 16 * k);
            float *want = vec(m * n), *want_run = vec(m * n), *got = vec(m * n), *got_run = vec(m * n);
            uint16_t *half = malloc(np * 16 * k * 2);
            te_pack_panels(w, k, n, k, panels);
            for (size_t i = 0; i < np * 16 * k; i++) {
                half[i] = h->from(panels[i]);
                panels[i] = h->to(half[i]);
            }
            for (int s = 0; s < n_sets; s++) {
                te_gemm g = {.a = a, .lda = k, .w = {.data = panels}, .bias = bias, .ldc = n, .m = m, .n = n, .k = k,
                             .gelu = (int)(k & 1)};
                run_both(sets[s], pool, &g, want, want_run);
                g.w = (te_wmat){.dtype = h->dtype, .data = half};
                run_both(sets[s], pool, &g, got, got_run);
                const char *dt = te_dtype_name(h->dtype);
                CHECK_MSG(memcmp(got, got_run, m * n * sizeof *got) == 0, "%s: %s run differs from tile m=%zu k=%zu",
                          sets[s]->name, dt, m, k);
                if (sets[s]->ukernel_bf16_dot) continue; /* A rounded to bf16: see bf16_dot_matches_reference */
                CHECK_MSG(memcmp(want, got, m * n * sizeof *got) == 0, "%s: %s tile m=%zu k=%zu differs",
                          sets[s]->name, dt, m, k);
#ifndef TE_BLAS /* with BLAS=openblas a big f32 product (want_run) is cblas_sgemm's: equal only to 1e-6 */
                CHECK_MSG(memcmp(want_run, got_run, m * n * sizeof *got) == 0, "%s: %s run m=%zu k=%zu differs",
                          sets[s]->name, dt, m, k);
                CHECK_MSG(memcmp(want, want_run, m * n * sizeof *got) == 0, "%s: run differs from tile m=%zu k=%zu",
                          sets[s]->name, m, k);
#endif
            }
            free(a); free(w); free(bias); free(panels); free(want); free(want_run); free(got); free(got_run);
            free(half);
        }
    te_pool_free(pool);
}

TEST(f16_gemm_equals_f32_of_widened_weights) {
    half_type h = {TE_DTYPE_F16, te_f32_to_f16, te_f16_to_f32};
    half_gemm_equals_f32_of_widened(&h);
}

TEST(bf16_gemm_equals_f32_of_widened_weights) {
    half_type h = {TE_DTYPE_BF16, te_f32_to_bf16, te_bf16_to_f32};
    half_gemm_equals_f32_of_widened(&h);
}

/* The bf16 dot-product kernel (VDPBF16PS) multiplies A rounded to bf16 by
 * the bf16 weights (or f16 weights rounded to bf16), two k at a time:
 * against a double reference over the same rounded values, on every edge of
 * the shapes (odd k: the last pair is half empty), with bias, accumulation
 * and GELU, through one tile and through te_gemm_run; sentinels catch stray
 * writes. */
TEST(bf16_dot_matches_reference) {
    static const size_t ms[] = {1, 3, 13, 14, 15, 130}, ns[] = {1, 17, 40}, ks[] = {1, 2, 5, 255, 256, 257, 600};
    te_error err;
    te_pool *pool = te_pool_new(2, &err);
    int sets_with = 0, cases = 0;
    for (int s = 0; s < n_sets; s++) {
        if (!sets[s]->ukernel_bf16_dot) continue;
        sets_with++;
        for (int f16 = 0; f16 < 2; f16++)
        for (size_t mi = 0; mi < sizeof ms / sizeof *ms; mi++)
            for (size_t ni = 0; ni < sizeof ns / sizeof *ns; ni++)
                for (size_t ki = 0; ki < sizeof ks / sizeof *ks; ki++) {
                    size_t m = ms[mi], n = ns[ni], k = ks[ki], np = (n + 15) / 16;
                    int flags = (int)((mi + ni + ki) % 8);
                    float *a = vec(m * k), *w = vec(n * k), *bias = vec(n), *c0 = vec(m * n), *panels = vec(np * 16 * k);
                    float *ar = vec(m * k), *want = vec(m * n), *got = vec(m * n + GUARD), *got_run = vec(m * n);
                    uint16_t *half = calloc(np * 16 * k, 2);
                    te_pack_panels(w, k, n, k, panels);
                    for (size_t i = 0; i < np * 16 * k; i++) half[i] = f16 ? te_f32_to_f16(panels[i]) : te_f32_to_bf16(panels[i]);
                    for (size_t i = 0; i < n * k; i++)
                        w[i] = te_bf16_to_f32(te_f32_to_bf16(f16 ? te_f16_to_f32(te_f32_to_f16(w[i])) : w[i]));
                    for (size_t i = 0; i < m * k; i++) ar[i] = te_bf16_to_f32(te_f32_to_bf16(a[i]));
                    gemm_ref(ar, w, (flags & 1) ? bias : NULL, (flags & 2) ? c0 : NULL, want, m, n, k, flags & 4);
                    for (size_t i = 0; i < m * n + GUARD; i++) got[i] = i < m * n ? c0[i] : SENTINEL;
                    memcpy(got_run, c0, m * n * sizeof *got);
                    te_gemm g = {.a = a, .lda = k, .w = {.dtype = f16 ? TE_DTYPE_F16 : TE_DTYPE_BF16, .data = half},
                                 .bias = (flags & 1) ? bias : NULL, .c = got, .ldc = n, .m = m, .n = n, .k = k,
                                 .accumulate = (flags & 2) != 0, .gelu = (flags & 4) != 0};
                    te_gemm_scratch sc[2] = {scratch_new(), scratch_new()};
                    te_gemm_tile(sets[s], &g, 0, m, 0, np, &sc[0]);
                    float *shared = aligned_alloc(64, TE_GEMM_MC * 600 * sizeof(float));
                    te_exec ex = {.pool = pool, .k = sets[s], .scratch = sc, .shared = shared, .max_k = 600};
                    g.c = got_run;
                    te_gemm_run(&ex, &g);
                    for (size_t i = 0; i < m * n; i++) {
                        double tol = 2e-6 * sqrt((double)k) * 4 + 1e-6 * fabs(want[i]);
                        CHECK_MSG(fabs(got[i] - want[i]) <= tol && fabs(got_run[i] - want[i]) <= tol,
                                  "%s bf16 dot, %s weights, m=%zu n=%zu k=%zu flags=%d at %zu: %g / %g vs %g",
                                  sets[s]->name, f16 ? "f16" : "bf16", m, n, k, flags, i, got[i], got_run[i], want[i]);
                    }
                    for (size_t i = m * n; i < m * n + GUARD; i++) CHECK(got[i] == SENTINEL);
                    cases++;
                    free(shared); scratch_free(&sc[0]); scratch_free(&sc[1]);
                    free(a); free(w); free(bias); free(c0); free(panels); free(ar); free(want); free(got); free(got_run);
                    free(half);
                }
    }
    te_pool_free(pool);
    printf("  %d shapes (bf16 and f16 weights) on %d sets with a bf16 dot kernel\n", cases, sets_with);
}

/* bfloat16 rounding: to nearest, ties to even, overflow to infinity, NaN stays NaN. */
TEST(bf16_rounding) {
    static const struct { uint32_t f; uint16_t b; } cases[] = {
        {0x3F800000u, 0x3F80}, /* 1 */
        {0x3F808000u, 0x3F80}, /* 1 + 2^-8: a tie, to the even 1 */
        {0x3F818000u, 0x3F82}, /* 1 + 3 * 2^-8: a tie, to the even neighbour above */
        {0x3F808001u, 0x3F81}, /* just above the tie */
        {0xBFC00000u, 0xBFC0}, /* -1.5 */
        {0x7F7FFFFFu, 0x7F80}, /* FLT_MAX rounds to infinity */
        {0x7F800000u, 0x7F80}, /* infinity */
        {0x00000001u, 0x0000}, /* the smallest subnormal */
        {0x80000000u, 0x8000}, /* -0 */
        {0x7F800001u, 0x7FC0}, /* a signalling NaN whose payload is in the low bits stays NaN */
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
        CHECK_MSG(te_f32_to_bf16(te_bits_to_f32(cases[i].f)) == cases[i].b, "bf16 of 0x%08x: 0x%04x, want 0x%04x",
                  (unsigned)cases[i].f, te_f32_to_bf16(te_bits_to_f32(cases[i].f)), cases[i].b);
    for (uint32_t b = 0; b < 0x10000; b++)
        if (((b >> 7) & 0xFF) != 0xFF) CHECK(te_f32_to_bf16(te_bf16_to_f32((uint16_t)b)) == b); /* exact round trip */
}

/* The activation quantizer: zero is exact, every value within half a step,
 * the padding holds the zero point, and every set writes the scalar
 * version's bytes; and widen_f16 of each set is exact. */
TEST(quantizers) {
    float x[45];
    uint8_t q[48], q2[48];
    for (int round = 0; round < 200; round++) {
        size_t k = 1 + (size_t)round % 45, k4 = (k + 3) / 4 * 4;
        for (size_t i = 0; i < k; i++) x[i] = frand() * (float)(round + 1) + (round % 3 == 0 ? 2.0f * (float)round : 0.0f);
        x[k / 2] = 0.0f;
        float s;
        int32_t z;
        te_quant_u8_scalar(x, k, k4, q, &s, &z);
        CHECK(z >= 0 && z <= 255);
        CHECK_EQ_INT(q[k / 2], z);
        for (size_t i = 0; i < k; i++)
            CHECK_MSG(fabsf(((float)q[i] - (float)z) * s - x[i]) <= 0.5f * s * 1.001f, "x[%zu]", i);
        for (size_t i = k; i < k4; i++) CHECK_EQ_INT(q[i], z);
        for (int t = 0; t < n_sets; t++) {
            float s2;
            int32_t z2;
            sets[t]->quant_u8(x, k, k4, q2, &s2, &z2);
            CHECK_MSG(s2 == s && z2 == z && memcmp(q, q2, k4) == 0, "%s quant_u8 k=%zu differs", sets[t]->name, k);
        }
        int8_t w[45];
        float ws = te_quant_row_i8(x, k, w), amax = 0;
        double e = 0, e_max = 0; /* squared error: chosen scale vs max|x| / 127 */
        for (size_t i = 0; i < k; i++) amax = fmaxf(amax, fabsf(x[i]));
        CHECK(amax == 0 || (ws <= amax / 127.0f * 1.0001f && ws >= amax / 127.0f * 0.799f));
        for (size_t i = 0; i < k; i++) {
            /* nearest step, or clamped at +-127 past the clip point */
            if (fabsf(x[i]) <= 127.0f * ws) CHECK(fabsf((float)w[i] * ws - x[i]) <= 0.5f * ws * 1.001f);
            else CHECK(w[i] == (x[i] > 0 ? 127 : -127));
            e += ((double)w[i] * ws - x[i]) * ((double)w[i] * ws - x[i]);
            float s_max = amax / 127.0f; /* computed as te_quant_row_i8 would with that scale */
            double d = amax > 0 ? (double)nearbyintf(x[i] * (1.0f / s_max)) * s_max - x[i] : 0;
            e_max += d * d;
        }
        CHECK(e <= e_max * 1.0001 + 1e-12);
    }
    uint16_t h[70];
    float want[70], got[70];
    for (int i = 0; i < 70; i++) h[i] = (uint16_t)(i * 937 + 11);
    h[0] = 0x7C00; h[1] = 0x0001; h[2] = 0x8000; /* inf, smallest subnormal, -0 */
    te_widen_f16_scalar(want, h, 70);
    float want_b[70], got_b[70];
    te_widen_bf16_scalar(want_b, h, 70);
    for (int i = 0; i < 70; i++) CHECK(memcmp(&want_b[i], &(float){te_bf16_to_f32(h[i])}, 4) == 0);
    for (int s = 0; s < n_sets; s++) {
        sets[s]->widen_f16(got, h, 70);
        CHECK_MSG(memcmp(want, got, sizeof got) == 0, "%s widen_f16", sets[s]->name);
        sets[s]->widen_bf16(got_b, h, 70);
        CHECK_MSG(memcmp(want_b, got_b, sizeof got_b) == 0, "%s widen_bf16", sets[s]->name);
    }
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

/* A rows as bf16 pairs: bit for bit the scalar rounding (to nearest, ties
 * to even, infinities kept), for every length and a stride, with nothing
 * written between or past the pairs. Subnormals (read as 0 by
 * VCVTNE2PS2BF16) and NaN are left out: activations are neither. */
TEST(bf16_pairs_match_scalar) {
    enum { STRIDE = 3, MAX_N = 70 };
    static const uint32_t special[] = {0x00000000u, 0x80000000u, 0x7F800000u, 0xFF800000u, 0x3F808000u, 0x3F818000u,
                                       0x3F80FFFFu, 0x7F7FFFFFu, 0x00800000u, 0xC0490FDBu};
    float src[MAX_N];
    uint32_t want[MAX_N * STRIDE + 8], got[MAX_N * STRIDE + 8];
    int sets_with = 0;
    for (int s = 0; s < n_sets; s++) {
        if (!sets[s]->pack_bf16_pairs) continue;
        sets_with++;
        for (size_t n = 1; n <= MAX_N; n++) {
            for (size_t i = 0; i < n; i++) src[i] = i < 10 ? te_bits_to_f32(special[(i + n) % 10]) : 100.0f * frand();
            memset(want, 0xAB, sizeof want);
            memset(got, 0xAB, sizeof got);
            te_pack_bf16_pairs_scalar(want, STRIDE, src, n);
            sets[s]->pack_bf16_pairs(got, STRIDE, src, n);
            CHECK_MSG(memcmp(want, got, sizeof want) == 0, "%s bf16 pairs n=%zu", sets[s]->name, n);
        }
    }
    printf("  %d sets with bf16 pairs\n", sets_with);
}

/* The search scan: int8 dot products equal the scalar ones exactly (every
 * set, every length, with extreme values); f32 ones within rounding. */
TEST(search_dots_match_scalar) {
    static const size_t dims[] = {1, 7, 31, 32, 63, 64, 65, 100, 384, 768, 1029};
    enum { ROWS = 5 };
    for (size_t di = 0; di < sizeof dims / sizeof *dims; di++) {
        size_t dim = dims[di];
        float *q = vec(dim), *rows = vec(dim * ROWS);
        int8_t *qi = malloc(dim), *ri = malloc(dim * ROWS);
        for (size_t i = 0; i < dim; i++) qi[i] = (int8_t)(i % 3 == 0 ? -128 : (int)(frand() * 127));
        for (size_t i = 0; i < dim * ROWS; i++) ri[i] = (int8_t)(i % 5 == 0 ? -128 : i % 7 == 0 ? 127 : (int)(frand() * 127));
        float want[ROWS], got[ROWS];
        int32_t iwant[ROWS], igot[ROWS];
        te_kernels_scalar.dot_f32(q, rows, dim, ROWS, want);
        te_kernels_scalar.dot_i8(qi, ri, dim, ROWS, iwant);
        for (size_t r = 0; r < ROWS; r++) {
            int32_t s32 = 0;
            for (size_t i = 0; i < dim; i++) s32 += qi[i] * ri[r * dim + i];
            CHECK_MSG(iwant[r] == s32, "scalar dot_i8 dim=%zu", dim);
        }
        for (int s = 0; s < n_sets; s++) {
            sets[s]->dot_f32(q, rows, dim, ROWS, got);
            sets[s]->dot_i8(qi, ri, dim, ROWS, igot);
            for (size_t r = 0; r < ROWS; r++) {
                CHECK_MSG(fabs(got[r] - want[r]) <= 1e-5 * (1 + sqrt((double)dim)), "%s dot_f32 dim=%zu: %g vs %g",
                          sets[s]->name, dim, got[r], want[r]);
                CHECK_MSG(igot[r] == iwant[r], "%s dot_i8 dim=%zu row %zu: %d vs %d", sets[s]->name, dim, r, igot[r],
                          iwant[r]);
            }
        }
        free(q); free(rows); free(qi); free(ri);
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
    RUN(q8_gemm_matches_scalar_and_reference);
    RUN(q8_gemm_pieces_equal_whole);
    RUN(f16_gemm_equals_f32_of_widened_weights);
    RUN(bf16_gemm_equals_f32_of_widened_weights);
    RUN(bf16_rounding);
    RUN(bf16_dot_matches_reference);
    RUN(quantizers);
    RUN(ops_match_scalar);
    RUN(bf16_pairs_match_scalar);
    RUN(search_dots_match_scalar);
    RUN(selection_by_name);
    return th_done();
}
