/*
 * kernels_avx2.c - AVX2 + FMA kernels (chosen at run time only on CPUs
 * that have them).
 *
 * GEMM micro-kernel: up to 6 rows x 16 columns (one weight panel as two ymm,
 * half and bfloat16 weights widened as loaded) in 12 ymm accumulators,
 * leaving registers for the panel row and one broadcast; compiled for every
 * height 1..6 and weight type.
 *
 * int8 micro-kernel (no VNNI here): weights are widened to 16 bits and
 * multiplied with VPMADDWD, which cannot saturate (unlike VPMADDUBSW on u8 x
 * s8); each int32 lane sums two k, and the pairs are added once at the end.
 * The avxvnni set is this one with a VPDPBUSD kernel on ymm instead.
 */
#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>
#include <math.h>
#include <string.h>

#include "kernels.h"

/* Every function below is compiled for AVX2 + FMA + F16C through this pragma rather
 * than -m flags, so the file means the same inside the amalgamation (one
 * translation unit with baseline code around it); cpu.c calls in here only
 * on CPUs that have them. */
#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx2,fma,f16c"))), apply_to = function)
#elif defined(__GNUC__)
#pragma GCC push_options
#pragma GCC target("avx2,fma,f16c")
#endif

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

/* 8 weights at b + at, widened to f32 in the register (as in kernels_avx512.c). */
static inline __attribute__((always_inline)) __m256 load_w(const void *b, size_t at, const te_welem t) {
    if (t == TE_WELEM_F32) return _mm256_loadu_ps((const float *)b + at);
    __m128i h = _mm_loadu_si128((const __m128i *)((const uint16_t *)b + at));
    if (t == TE_WELEM_F16) return _mm256_cvtph_ps(h);
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
}

static inline __attribute__((always_inline)) void ukernel_tile(const te_ukr_args *u, const int mr, const te_welem t) {
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
    const float *a = u->a;
    for (size_t k = 0; k < u->kc; k++, a += mr) {
        __m256 w0 = load_w(u->b, k * TE_PANEL, t), w1 = load_w(u->b, k * TE_PANEL + 8, t);
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

TE_UKERNELS_6(ukernel_tile)

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

/* The int8 epilogue for 8 columns from j (n valid) of row i: see kernels.h. */
static inline void q8_store(const te_q8_args *u, int i, int j, __m256i acc) {
    int n = u->cols - j;
    __m256i wsum = _mm256_cvtps_epi32(load_n(u->w_sum + j, n));
    __m256i d = _mm256_sub_epi32(acc, _mm256_mullo_epi32(_mm256_set1_epi32(u->a_zero[i]), wsum));
    __m256 s = _mm256_mul_ps(_mm256_set1_ps(u->a_scale[i]), load_n(u->w_scale + j, n));
    __m256 y = _mm256_mul_ps(_mm256_cvtepi32_ps(d), s);
    float *c = u->c + (size_t)i * u->ldc + j;
    if (u->bias) y = _mm256_add_ps(y, load_n(u->bias + j, n));
    if (u->load_c) y = _mm256_add_ps(y, load_n(c, n));
    store_n(c, n, u->gelu ? gelu256(y) : y);
}

/* acc[q] holds, for columns 4q..4q+3, two partial sums each; returns the
 * 8 sums of columns 0..7 (from acc[0], acc[1]) in order. */
static inline __m256i q8_pairs(__m256i lo, __m256i hi) {
    return _mm256_permute4x64_epi64(_mm256_hadd_epi32(lo, hi), 0xD8);
}

static inline __attribute__((always_inline)) void q8_tile(const te_q8_args *u, const int mr) {
    __m256i acc[TE_Q8_AVX2_MR][4];
    for (int i = 0; i < mr; i++)
        for (int q = 0; q < 4; q++) acc[i][q] = _mm256_setzero_si256();
    const int8_t *b = u->b;
    for (size_t g = 0; g < u->k4; g++, b += 64) {
        __m256i w[4];
        for (int q = 0; q < 4; q++) w[q] = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(b + 16 * q)));
        for (int i = 0; i < mr; i++) {
            int32_t a4;
            memcpy(&a4, u->a + (size_t)i * u->lda + 4 * g, 4);
            __m256i a = _mm256_broadcastq_epi64(_mm_cvtepu8_epi16(_mm_cvtsi32_si128(a4)));
            for (int q = 0; q < 4; q++) acc[i][q] = _mm256_add_epi32(acc[i][q], _mm256_madd_epi16(w[q], a));
        }
    }
    for (int i = 0; i < mr; i++) {
        q8_store(u, i, 0, q8_pairs(acc[i][0], acc[i][1]));
        if (u->cols > 8) q8_store(u, i, 8, q8_pairs(acc[i][2], acc[i][3]));
    }
}

void te_q8_ukernel_avx2(const te_q8_args *u) {
    if (u->rows == 2) q8_tile(u, 2);
    else q8_tile(u, 1);
}

/* acc += a (u8) . w (s8), 4 bytes per lane, on ymm: VPDPBUSD as AVX-VNNI
 * encodes it ({vex}: Alder Lake and later client CPUs, Zen 5), or as
 * AVX512-VNNI with AVX512VL encodes it (EVEX), for CPUs that have only that:
 * the same instruction on the same registers (ymm0-15 either way), so the
 * EVEX build tests the kernel on AVX-512 machines. In asm, so one C body
 * serves both encodings without a function target for each. */
static inline __attribute__((always_inline)) __m256i dpbusd256(__m256i acc, __m256i a, __m256i w, const int vex) {
    if (vex) __asm__("%{vex%} vpdpbusd %2, %1, %0" : "+x"(acc) : "x"(a), "x"(w)); /* %{ %}: literal braces */
    else __asm__("vpdpbusd %2, %1, %0" : "+x"(acc) : "x"(a), "x"(w));
    return acc;
}

/* The 256-bit VNNI micro-kernel: up to 6 rows x 16 columns in 12 ymm
 * accumulators; per group of 4 k, two 32-byte weight loads (columns 0-7 and
 * 8-15 of the panel16x4 group) and one 4-byte broadcast per row. */
static inline __attribute__((always_inline)) void q8_vnni256_tile(const te_q8_args *u, const int mr, const int vex) {
    __m256i acc[TE_Q8_VNNI256_MR][2];
    for (int i = 0; i < mr; i++) acc[i][0] = acc[i][1] = _mm256_setzero_si256();
    const int8_t *b = u->b;
    for (size_t g = 0; g < u->k4; g++, b += 64) {
        __m256i w0 = _mm256_loadu_si256((const __m256i *)b), w1 = _mm256_loadu_si256((const __m256i *)(b + 32));
#pragma GCC unroll 6
        for (int i = 0; i < mr; i++) {
            int32_t a4;
            memcpy(&a4, u->a + (size_t)i * u->lda + 4 * g, 4);
            __m256i x = _mm256_set1_epi32(a4);
            acc[i][0] = dpbusd256(acc[i][0], x, w0, vex);
            acc[i][1] = dpbusd256(acc[i][1], x, w1, vex);
        }
    }
    for (int i = 0; i < mr; i++) {
        q8_store(u, i, 0, acc[i][0]);
        if (u->cols > 8) q8_store(u, i, 8, acc[i][1]);
    }
}

/* Every height 1..6, for each encoding, and the tables that pick one. */
#define Q8_VNNI256(name, vex, mr) \
    static void name##_##mr(const te_q8_args *u) { q8_vnni256_tile(u, mr, vex); }
#define Q8_VNNI256_ALL(name, vex) \
    Q8_VNNI256(name, vex, 1) Q8_VNNI256(name, vex, 2) Q8_VNNI256(name, vex, 3) Q8_VNNI256(name, vex, 4) \
    Q8_VNNI256(name, vex, 5) Q8_VNNI256(name, vex, 6) \
    static void (*const name[TE_Q8_VNNI256_MR + 1])(const te_q8_args *) = { \
        NULL, name##_1, name##_2, name##_3, name##_4, name##_5, name##_6, \
    };
Q8_VNNI256_ALL(q8_avxvnni, 1)
Q8_VNNI256_ALL(q8_vnni256_evex, 0)

static void q8_ukernel_avxvnni(const te_q8_args *u) { q8_avxvnni[u->rows](u); }
static void q8_ukernel_vnni256_evex(const te_q8_args *u) { q8_vnni256_evex[u->rows](u); }

static void quant_u8(const float *x, size_t k, size_t k4, uint8_t *q, float *scale, int32_t *zero) {
    __m256 lo = _mm256_setzero_ps(), hi = _mm256_setzero_ps();
    for (size_t i = 0; i < k; i += 8) {
        __m256 v = load_n(x + i, (int)(k - i)); /* missing lanes are 0, inside [lo, hi] anyway */
        lo = _mm256_min_ps(lo, v);
        hi = _mm256_max_ps(hi, v);
    }
    float l[8], h[8], lo1 = 0.0f, hi1 = 0.0f, inv, z;
    _mm256_storeu_ps(l, lo);
    _mm256_storeu_ps(h, hi);
    for (int j = 0; j < 8; j++) {
        lo1 = l[j] < lo1 ? l[j] : lo1;
        hi1 = h[j] > hi1 ? h[j] : hi1;
    }
    te_quant_u8_params(lo1, hi1, scale, &inv, &z);
    const __m256 vinv = _mm256_set1_ps(inv);
    const __m256i vz = _mm256_set1_epi32((int)z), v0 = _mm256_setzero_si256(), v255 = _mm256_set1_epi32(255);
    size_t i = 0;
    for (; i + 8 <= k; i += 8) {
        /* VCVTPS2DQ rounds to nearest even, as nearbyintf does in the default mode */
        __m256i r = _mm256_add_epi32(_mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(x + i), vinv)), vz);
        r = _mm256_min_epi32(_mm256_max_epi32(r, v0), v255);
        __m128i w16 = _mm_packus_epi32(_mm256_castsi256_si128(r), _mm256_extracti128_si256(r, 1));
        _mm_storel_epi64((__m128i *)(q + i), _mm_packus_epi16(w16, w16));
    }
    for (; i < k; i++) q[i] = te_quant_u8_one(x[i], inv, z);
    memset(q + k, (int)z, k4 - k);
    *zero = (int32_t)z;
}

static void widen_bf16(float *dst, const uint16_t *src, size_t n) {
    size_t i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(dst + i, load_w(src, i, TE_WELEM_BF16));
    te_widen_bf16_scalar(dst + i, src + i, n - i);
}

static void widen_f16(float *dst, const uint16_t *src, size_t n) {
    size_t i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(dst + i, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(src + i))));
    te_widen_f16_scalar(dst + i, src + i, n - i);
}

/* Search dot products, one row at a time (the scan is bound by memory, not
 * arithmetic): f32 with two FMA chains, int8 widened to int16 for VPMADDWD. */
static void dot_f32(const float *q, const float *rows, size_t dim, size_t n, float *out) {
    for (size_t i = 0; i < n; i++, rows += dim) {
        __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
        size_t k = 0;
        for (; k + 16 <= dim; k += 16) {
            a0 = _mm256_fmadd_ps(_mm256_loadu_ps(q + k), _mm256_loadu_ps(rows + k), a0);
            a1 = _mm256_fmadd_ps(_mm256_loadu_ps(q + k + 8), _mm256_loadu_ps(rows + k + 8), a1);
        }
        __m256 a = _mm256_add_ps(a0, a1);
        __m128 h = _mm_add_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));
        h = _mm_add_ps(h, _mm_movehl_ps(h, h));
        float s = _mm_cvtss_f32(_mm_add_ss(h, _mm_movehdup_ps(h)));
        for (; k < dim; k++) s += q[k] * rows[k];
        out[i] = s;
    }
}

static void dot_i8(const int8_t *q, const int8_t *rows, size_t dim, size_t n, int32_t *out) {
    for (size_t i = 0; i < n; i++, rows += dim) {
        __m256i acc = _mm256_setzero_si256();
        size_t k = 0;
        for (; k + 16 <= dim; k += 16) {
            __m256i a = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(q + k)));
            __m256i b = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(rows + k)));
            acc = _mm256_add_epi32(acc, _mm256_madd_epi16(a, b));
        }
        __m128i h = _mm_add_epi32(_mm256_castsi256_si128(acc), _mm256_extracti128_si256(acc, 1));
        h = _mm_add_epi32(h, _mm_shuffle_epi32(h, 0x4E));
        h = _mm_add_epi32(h, _mm_shuffle_epi32(h, 0xB1));
        int32_t s = _mm_cvtsi128_si32(h);
        for (; k < dim; k++) s += (int32_t)q[k] * rows[k];
        out[i] = s;
    }
}

/* Three sets that differ only in the int8 micro-kernel. */
#define AVX2_FP32 \
    .mr = MR, .max_mr = MR, .np = 1, .ukernel = ukernel, .layernorm = layernorm, .softmax = softmax, .gelu = gelu, \
    .add3 = add3, .fma_peak = fma_peak, .quant_u8 = quant_u8, .widen_f16 = widen_f16, .widen_bf16 = widen_bf16, .dot_f32 = dot_f32, \
    .dot_i8 = dot_i8

const te_kernels te_kernels_avx2 = {
    .name = "avx2", AVX2_FP32,
    .q8_mr = TE_Q8_AVX2_MR, .q8_max_mr = TE_Q8_AVX2_MR, .q8_np = 1, .q8_ukernel = te_q8_ukernel_avx2,
};

const te_kernels te_kernels_avxvnni = {
    .name = "avxvnni", AVX2_FP32,
    .q8_mr = TE_Q8_VNNI256_MR, .q8_max_mr = TE_Q8_VNNI256_MR, .q8_np = 1, .q8_ukernel = q8_ukernel_avxvnni,
};

const te_kernels te_kernels_avxvnni_evex = {
    .name = "avxvnni", AVX2_FP32,
    .q8_mr = TE_Q8_VNNI256_MR, .q8_max_mr = TE_Q8_VNNI256_MR, .q8_np = 1, .q8_ukernel = q8_ukernel_vnni256_evex,
};
#if defined(__clang__)
#pragma clang attribute pop
#elif defined(__GNUC__)
#pragma GCC pop_options
#endif
#endif
