/*
 * kernels_avx2.c - AVX2 + FMA kernels (compiled with -mavx2 -mfma; chosen at
 * run time only on CPUs that have them).
 *
 * GEMM micro-kernel: up to 6 rows x 16 columns (one weight panel as two ymm)
 * in 12 ymm accumulators, leaving registers for the panel row and one
 * broadcast; compiled for every height 1..6.
 */
#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>
#include <math.h>

#include "kernels.h"

#define MR 6

/* Lane masks for the first n (0..8) of 8 floats. */
static inline __m256i lanes(int n) {
    n = n < 0 ? 0 : (n > 8 ? 8 : n);
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

static inline __m256 load_n(const float *p, int n) {
    return n >= 8 ? _mm256_loadu_ps(p) : _mm256_maskload_ps(p, lanes(n));
}

static inline void store_n(float *p, int n, __m256 v) {
    if (n >= 8) _mm256_storeu_ps(p, v);
    else if (n > 0) _mm256_maskstore_ps(p, lanes(n), v);
}

/* e^x as in kernels_avx512.c; 2^n is built in the exponent bits. */
static inline __m256 exp256(__m256 x) {
    x = _mm256_max_ps(_mm256_min_ps(x, _mm256_set1_ps(88.3762626647949f)), _mm256_set1_ps(-87.3365447505531f));
    __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
    __m256 p = _mm256_set1_ps(1.9875691500e-4f);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
    p = _mm256_fmadd_ps(p, _mm256_mul_ps(r, r), _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
    __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
    return _mm256_mul_ps(p, _mm256_castsi256_ps(e));
}

/* GELU with the erf of Abramowitz & Stegun 7.1.26, as in kernels_avx512.c. */
static inline __m256 gelu256(__m256 x) {
    const __m256 sign = _mm256_set1_ps(-0.0f);
    __m256 z = _mm256_mul_ps(_mm256_andnot_ps(sign, x), _mm256_set1_ps(0.70710678118654752f));
    __m256 t = _mm256_div_ps(_mm256_set1_ps(1.0f), _mm256_fmadd_ps(z, _mm256_set1_ps(0.3275911f), _mm256_set1_ps(1.0f)));
    __m256 p = _mm256_set1_ps(1.061405429f);
    p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(-1.453152027f));
    p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(1.421413741f));
    p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(-0.284496736f));
    p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(0.254829592f));
    p = _mm256_mul_ps(p, t);
    __m256 erf_abs = _mm256_fnmadd_ps(p, exp256(_mm256_mul_ps(_mm256_xor_ps(z, sign), z)), _mm256_set1_ps(1.0f));
    __m256 erf = _mm256_or_ps(erf_abs, _mm256_and_ps(x, sign));
    return _mm256_mul_ps(_mm256_mul_ps(_mm256_set1_ps(0.5f), x), _mm256_add_ps(_mm256_set1_ps(1.0f), erf));
}

static inline __attribute__((always_inline)) void ukernel_tile(const te_ukr_args *u, const int mr) {
    __m256 acc[MR][2];
    const int c0 = u->cols, c1 = u->cols - 8;
    const __m256 bias0 = u->bias ? load_n(u->bias, c0) : _mm256_setzero_ps();
    const __m256 bias1 = u->bias ? load_n(u->bias + 8, c1) : _mm256_setzero_ps();
    for (int i = 0; i < mr; i++) {
        acc[i][0] = bias0;
        acc[i][1] = bias1;
        if (u->load_c) {
            const float *c = u->c + (size_t)i * u->ldc;
            acc[i][0] = _mm256_add_ps(load_n(c, c0), bias0);
            acc[i][1] = _mm256_add_ps(load_n(c + 8, c1), bias1);
        }
    }
    const float *a = u->a, *b = u->b;
    for (size_t k = 0; k < u->kc; k++, a += mr, b += TE_PANEL) {
        __m256 w0 = _mm256_loadu_ps(b), w1 = _mm256_loadu_ps(b + 8);
#pragma GCC unroll 6
        for (int i = 0; i < mr; i++) {
            __m256 x = _mm256_broadcast_ss(a + i);
            acc[i][0] = _mm256_fmadd_ps(x, w0, acc[i][0]);
            acc[i][1] = _mm256_fmadd_ps(x, w1, acc[i][1]);
        }
    }
    for (int i = 0; i < mr; i++) {
        float *c = u->c + (size_t)i * u->ldc;
        store_n(c, c0, u->gelu ? gelu256(acc[i][0]) : acc[i][0]);
        store_n(c + 8, c1, u->gelu ? gelu256(acc[i][1]) : acc[i][1]);
    }
}

#define UKERNEL(mr) \
    static void ukernel_##mr(const te_ukr_args *u) { ukernel_tile(u, mr); }
UKERNEL(1) UKERNEL(2) UKERNEL(3) UKERNEL(4) UKERNEL(5) UKERNEL(6)

static void (*const ukernels[MR + 1])(const te_ukr_args *) = {
    NULL, ukernel_1, ukernel_2, ukernel_3, ukernel_4, ukernel_5, ukernel_6,
};

static void ukernel(const te_ukr_args *u) { ukernels[u->rows](u); }

static inline float hsum(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

static void layernorm(float *x, size_t n, const float *w, const float *b, float eps) {
    __m256 s = _mm256_setzero_ps();
    for (size_t i = 0; i < n; i += 8) s = _mm256_add_ps(s, load_n(x + i, (int)(n - i)));
    const float mean_s = hsum(s) / (float)n;
    const __m256 mean = _mm256_set1_ps(mean_s);
    __m256 v = _mm256_setzero_ps();
    for (size_t i = 0; i < n; i += 8) {
        int k = (int)(n - i);
        __m256 d = _mm256_and_ps(_mm256_sub_ps(load_n(x + i, k), mean), _mm256_castsi256_ps(lanes(k)));
        v = _mm256_fmadd_ps(d, d, v);
    }
    const __m256 inv = _mm256_set1_ps(1.0f / sqrtf(hsum(v) / (float)n + eps));
    for (size_t i = 0; i < n; i += 8) {
        int k = (int)(n - i);
        __m256 d = _mm256_mul_ps(_mm256_sub_ps(load_n(x + i, k), mean), inv);
        store_n(x + i, k, _mm256_fmadd_ps(d, load_n(w + i, k), load_n(b + i, k)));
    }
}

static void softmax(float *x, size_t n, float scale) {
    float max = -INFINITY;
    for (size_t i = 0; i < n; i++) max = fmaxf(max, x[i]);
    const __m256 mx = _mm256_set1_ps(max), sc = _mm256_set1_ps(scale);
    __m256 s = _mm256_setzero_ps();
    for (size_t i = 0; i < n; i += 8) {
        int k = (int)(n - i);
        __m256 e = _mm256_and_ps(exp256(_mm256_mul_ps(_mm256_sub_ps(load_n(x + i, k), mx), sc)), _mm256_castsi256_ps(lanes(k)));
        store_n(x + i, k, e);
        s = _mm256_add_ps(s, e);
    }
    const __m256 inv = _mm256_set1_ps(1.0f / hsum(s));
    for (size_t i = 0; i < n; i += 8) store_n(x + i, (int)(n - i), _mm256_mul_ps(load_n(x + i, (int)(n - i)), inv));
}

static void gelu(float *x, size_t n) {
    for (size_t i = 0; i < n; i += 8) store_n(x + i, (int)(n - i), gelu256(load_n(x + i, (int)(n - i))));
}

static void add3(float *dst, const float *a, const float *b, const float *c, size_t n) {
    for (size_t i = 0; i < n; i += 8) {
        int k = (int)(n - i);
        store_n(dst + i, k, _mm256_add_ps(_mm256_add_ps(load_n(a + i, k), load_n(b + i, k)), load_n(c + i, k)));
    }
}

/* 12 independent chains: two FMA units times a latency of up to 5 cycles. */
static double fma_peak(long iters) {
    __m256 a[12], m = _mm256_set1_ps(0.999999f), c = _mm256_set1_ps(1e-7f);
    for (int i = 0; i < 12; i++) a[i] = _mm256_set1_ps((float)i);
    for (long k = 0; k < iters; k++) {
#pragma GCC unroll 12
        for (int i = 0; i < 12; i++) a[i] = _mm256_fmadd_ps(a[i], m, c);
        __asm__ volatile("" : "+x"(a[0]), "+x"(a[1]), "+x"(a[2]), "+x"(a[3]), "+x"(a[4]), "+x"(a[5]));
        __asm__ volatile("" : "+x"(a[6]), "+x"(a[7]), "+x"(a[8]), "+x"(a[9]), "+x"(a[10]), "+x"(a[11]));
    }
    return (double)iters * 12 * 8 * 2;
}

const te_kernels te_kernels_avx2 = {"avx2", MR, MR, 1, ukernel, layernorm, softmax, gelu, add3, fma_peak};
#endif
