/*
 * kernels_avx512.c - AVX-512F kernels (compiled with -mavx512f ...; chosen at
 * run time only on CPUs that have it).
 *
 * GEMM micro-kernel: up to 14 rows x 32 columns (two weight panels), one
 * zmm accumulator per row and panel (28 of the 32 registers at 14 rows); per
 * k it loads two panel rows and broadcasts one packed A value per row, so
 * the FMA units, not the loads, set the pace. It is compiled for every
 * height 1..14, so a short input (13 tokens) is one exact tile, not 12 + 12.
 */
#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>
#include <math.h>

#include "kernels.h"

#define MR 12     /* preferred height */
#define MAX_MR 14 /* 28 accumulators + 2 panel rows + 1 broadcast <= 32 registers */

/* e^x: Cephes' range reduction and degree-6 polynomial, about 1 ulp;
 * scalef handles underflow to 0 for very negative x. */
static inline __m512 exp512(__m512 x) {
    x = _mm512_max_ps(_mm512_min_ps(x, _mm512_set1_ps(88.7f)), _mm512_set1_ps(-104.0f));
    __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)),
                                    _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), x);
    r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440e-4f), r);
    __m512 p = _mm512_set1_ps(1.9875691500e-4f);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.3981999507e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.3334519073e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.1665795894e-2f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.6666665459e-1f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(5.0000001201e-1f));
    p = _mm512_fmadd_ps(p, _mm512_mul_ps(r, r), _mm512_add_ps(r, _mm512_set1_ps(1.0f)));
    return _mm512_scalef_ps(p, n);
}

/* GELU with erf from Abramowitz & Stegun 7.1.26 (|error| < 1.5e-7), as
 * oneDNN does: erf(z) = 1 - t(a1 + t(a2 + ...)) e^(-z^2), t = 1/(1 + p z). */
static inline __m512 gelu512(__m512 x) {
    __m512 z = _mm512_mul_ps(_mm512_abs_ps(x), _mm512_set1_ps(0.70710678118654752f));
    __m512 t = _mm512_div_ps(_mm512_set1_ps(1.0f), _mm512_fmadd_ps(z, _mm512_set1_ps(0.3275911f), _mm512_set1_ps(1.0f)));
    __m512 p = _mm512_set1_ps(1.061405429f);
    p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(-1.453152027f));
    p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(1.421413741f));
    p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(-0.284496736f));
    p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(0.254829592f));
    p = _mm512_mul_ps(p, t);
    __m512 erf_abs = _mm512_fnmadd_ps(p, exp512(_mm512_mul_ps(_mm512_sub_ps(_mm512_setzero_ps(), z), z)), _mm512_set1_ps(1.0f));
    /* erf is odd: take the sign of x */
    __m512 erf = _mm512_castsi512_ps(_mm512_or_si512(_mm512_castps_si512(erf_abs),
        _mm512_and_si512(_mm512_castps_si512(x), _mm512_set1_epi32((int)0x80000000u))));
    return _mm512_mul_ps(_mm512_mul_ps(_mm512_set1_ps(0.5f), x), _mm512_add_ps(_mm512_set1_ps(1.0f), erf));
}

static inline __mmask16 tail_mask(int n) { return n >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (n > 0 ? n : 0)) - 1); }

/* The micro-kernel for `mr` rows and `np` panels (1 or 2); always inlined
 * with constant arguments, so each specialization keeps its accumulators in
 * registers. */
static inline __attribute__((always_inline)) void ukernel_tile(const te_ukr_args *u, const int mr, const int np) {
    __m512 acc[MAX_MR][2];
    const __mmask16 m0 = tail_mask(u->cols), m1 = tail_mask(u->cols - 16);
    const __m512 bias0 = u->bias ? _mm512_maskz_loadu_ps(m0, u->bias) : _mm512_setzero_ps();
    const __m512 bias1 = (u->bias && np == 2) ? _mm512_maskz_loadu_ps(m1, u->bias + 16) : _mm512_setzero_ps();
    for (int i = 0; i < mr; i++) {
        acc[i][0] = bias0;
        acc[i][1] = bias1;
        if (u->load_c) {
            const float *c = u->c + (size_t)i * u->ldc;
            acc[i][0] = _mm512_add_ps(_mm512_maskz_loadu_ps(m0, c), bias0);
            if (np == 2) acc[i][1] = _mm512_add_ps(_mm512_maskz_loadu_ps(m1, c + 16), bias1);
        }
    }
    const float *a = u->a, *b0 = u->b, *b1 = u->b + u->b_stride;
    const size_t ahead = (size_t)u->prefetch / sizeof(float);
    for (size_t k = 0; k < u->kc; k++, a += mr, b0 += TE_PANEL, b1 += TE_PANEL) {
        if (ahead) {
            /* Weights read once (few rows) come from DRAM: ask for them early. */
            _mm_prefetch((const char *)(b0 + ahead), _MM_HINT_T0);
            if (np == 2) _mm_prefetch((const char *)(b1 + ahead), _MM_HINT_T0);
        }
        __m512 w0 = _mm512_loadu_ps(b0);
        __m512 w1 = np == 2 ? _mm512_loadu_ps(b1) : w0;
#pragma GCC unroll 14
        for (int i = 0; i < mr; i++) {
            __m512 x = _mm512_set1_ps(a[i]);
            acc[i][0] = _mm512_fmadd_ps(x, w0, acc[i][0]);
            if (np == 2) acc[i][1] = _mm512_fmadd_ps(x, w1, acc[i][1]);
        }
    }
    for (int i = 0; i < mr; i++) {
        float *c = u->c + (size_t)i * u->ldc;
        _mm512_mask_storeu_ps(c, m0, u->gelu ? gelu512(acc[i][0]) : acc[i][0]);
        if (np == 2) _mm512_mask_storeu_ps(c + 16, m1, u->gelu ? gelu512(acc[i][1]) : acc[i][1]);
    }
}

#define UKERNEL(mr) \
    static void ukernel_##mr(const te_ukr_args *u) { \
        if (u->cols > TE_PANEL) ukernel_tile(u, mr, 2); \
        else ukernel_tile(u, mr, 1); \
    }
UKERNEL(1) UKERNEL(2) UKERNEL(3) UKERNEL(4) UKERNEL(5) UKERNEL(6) UKERNEL(7)
UKERNEL(8) UKERNEL(9) UKERNEL(10) UKERNEL(11) UKERNEL(12) UKERNEL(13) UKERNEL(14)

static void (*const ukernels[MAX_MR + 1])(const te_ukr_args *) = {
    NULL, ukernel_1, ukernel_2, ukernel_3, ukernel_4, ukernel_5, ukernel_6, ukernel_7,
    ukernel_8, ukernel_9, ukernel_10, ukernel_11, ukernel_12, ukernel_13, ukernel_14,
};

static void ukernel(const te_ukr_args *u) { ukernels[u->rows](u); }

static inline float hsum(__m512 v) { return _mm512_reduce_add_ps(v); }

static void layernorm(float *x, size_t n, const float *w, const float *b, float eps) {
    __m512 s = _mm512_setzero_ps();
    for (size_t i = 0; i < n; i += 16) s = _mm512_add_ps(s, _mm512_maskz_loadu_ps(tail_mask((int)(n - i)), x + i));
    const __m512 mean = _mm512_set1_ps(hsum(s) / (float)n);
    __m512 v = _mm512_setzero_ps();
    for (size_t i = 0; i < n; i += 16) {
        __mmask16 m = tail_mask((int)(n - i));
        __m512 d = _mm512_maskz_sub_ps(m, _mm512_maskz_loadu_ps(m, x + i), mean);
        v = _mm512_fmadd_ps(d, d, v);
    }
    const __m512 inv = _mm512_set1_ps(1.0f / sqrtf(hsum(v) / (float)n + eps));
    for (size_t i = 0; i < n; i += 16) {
        __mmask16 m = tail_mask((int)(n - i));
        __m512 d = _mm512_mul_ps(_mm512_sub_ps(_mm512_maskz_loadu_ps(m, x + i), mean), inv);
        _mm512_mask_storeu_ps(x + i, m, _mm512_fmadd_ps(d, _mm512_maskz_loadu_ps(m, w + i), _mm512_maskz_loadu_ps(m, b + i)));
    }
}

static void softmax(float *x, size_t n, float scale) {
    __m512 mx = _mm512_set1_ps(-INFINITY);
    for (size_t i = 0; i < n; i += 16) mx = _mm512_max_ps(mx, _mm512_mask_loadu_ps(_mm512_set1_ps(-INFINITY), tail_mask((int)(n - i)), x + i));
    const __m512 max = _mm512_set1_ps(_mm512_reduce_max_ps(mx)), sc = _mm512_set1_ps(scale);
    __m512 s = _mm512_setzero_ps();
    for (size_t i = 0; i < n; i += 16) {
        __mmask16 m = tail_mask((int)(n - i));
        __m512 e = exp512(_mm512_mul_ps(_mm512_sub_ps(_mm512_maskz_loadu_ps(m, x + i), max), sc));
        _mm512_mask_storeu_ps(x + i, m, e);
        s = _mm512_add_ps(s, _mm512_maskz_mov_ps(m, e));
    }
    const __m512 inv = _mm512_set1_ps(1.0f / hsum(s));
    for (size_t i = 0; i < n; i += 16) {
        __mmask16 m = tail_mask((int)(n - i));
        _mm512_mask_storeu_ps(x + i, m, _mm512_mul_ps(_mm512_maskz_loadu_ps(m, x + i), inv));
    }
}

static void gelu(float *x, size_t n) {
    for (size_t i = 0; i < n; i += 16) {
        __mmask16 m = tail_mask((int)(n - i));
        _mm512_mask_storeu_ps(x + i, m, gelu512(_mm512_maskz_loadu_ps(m, x + i)));
    }
}

static void add3(float *dst, const float *a, const float *b, const float *c, size_t n) {
    for (size_t i = 0; i < n; i += 16) {
        __mmask16 m = tail_mask((int)(n - i));
        __m512 s = _mm512_add_ps(_mm512_maskz_loadu_ps(m, a + i), _mm512_maskz_loadu_ps(m, b + i));
        _mm512_mask_storeu_ps(dst + i, m, _mm512_add_ps(s, _mm512_maskz_loadu_ps(m, c + i)));
    }
}

/* 12 independent chains cover the FMA latency on every AVX-512 core. */
static double fma_peak(long iters) {
    __m512 a[12], m = _mm512_set1_ps(0.999999f), c = _mm512_set1_ps(1e-7f);
    for (int i = 0; i < 12; i++) a[i] = _mm512_set1_ps((float)i);
    for (long k = 0; k < iters; k++) {
#pragma GCC unroll 12
        for (int i = 0; i < 12; i++) a[i] = _mm512_fmadd_ps(a[i], m, c);
        __asm__ volatile("" : "+v"(a[0]), "+v"(a[1]), "+v"(a[2]), "+v"(a[3]), "+v"(a[4]), "+v"(a[5]));
        __asm__ volatile("" : "+v"(a[6]), "+v"(a[7]), "+v"(a[8]), "+v"(a[9]), "+v"(a[10]), "+v"(a[11]));
    }
    return (double)iters * 12 * 16 * 2;
}

const te_kernels te_kernels_avx512 = {"avx512", MR, MAX_MR, 2, ukernel, layernorm, softmax, gelu, add3, fma_peak};
#endif
