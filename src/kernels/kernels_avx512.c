/*
 * kernels_avx512.c - AVX-512F kernels (chosen at run time only on CPUs
 * that have it).
 *
 * GEMM micro-kernel: up to 14 rows x 32 columns (two weight panels), one
 * zmm accumulator per row and panel (28 of the 32 registers at 14 rows); per
 * k it loads two panel rows (f32, or half / bfloat16 widened as loaded) and
 * broadcasts one packed A value per row, so the FMA units, not the loads,
 * set the pace. It is compiled for every height 1..14 and weight type, so a
 * short input (13 tokens) is one exact tile, not 12 + 12.
 *
 * The int8 micro-kernel has the same shape with VPDPBUSD (AVX-512 VNNI): per
 * group of 4 k, one 64-byte weight load holds 4 k for 16 columns, and 4
 * activation bytes broadcast to every lane; it alone is compiled for VNNI
 * (a function target), so the te_kernels_avx512 set still runs on AVX-512
 * CPUs without it, with AVX2's int8 kernel.
 */
#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>
#include <math.h>
#include <string.h>

#include "kernels.h"

/* Every function below is compiled for AVX-512 (F, BW, DQ, VL) + FMA + F16C through this pragma rather
 * than -m flags, so the file means the same inside the amalgamation (one
 * translation unit with baseline code around it); cpu.c calls in here only
 * on CPUs that have them. */
#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,fma,f16c"))), apply_to = function)
#elif defined(__GNUC__)
#pragma GCC push_options
#pragma GCC target("avx512f,avx512bw,avx512dq,avx512vl,fma,f16c")
#endif

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

/* 16 weights of a panel row, widened to f32 in the register: half with
 * VCVTPH2PS, bfloat16 by moving its bits to the top of each lane. */
static inline __attribute__((always_inline)) __m512 load_w(const void *b, size_t at, const te_welem t) {
    if (t == TE_WELEM_F32) return _mm512_loadu_ps((const float *)b + at);
    __m256i h = _mm256_loadu_si256((const __m256i *)((const uint16_t *)b + at));
    if (t == TE_WELEM_F16) return _mm512_cvtph_ps(h);
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
}

/* A tile's accumulators before the sum: C (when accumulating) plus the bias. */
static inline __attribute__((always_inline)) void tile_start(const te_ukr_args *u, const int mr, const int np,
                                                             __m512 acc[][2]) {
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
}

/* ... and after it: GELU when asked, then the valid columns stored. */
static inline __attribute__((always_inline)) void tile_store(const te_ukr_args *u, const int mr, const int np,
                                                             __m512 acc[][2]) {
    const __mmask16 m0 = tail_mask(u->cols), m1 = tail_mask(u->cols - 16);
    for (int i = 0; i < mr; i++) {
        float *c = u->c + (size_t)i * u->ldc;
        _mm512_mask_storeu_ps(c, m0, u->gelu ? gelu512(acc[i][0]) : acc[i][0]);
        if (np == 2) _mm512_mask_storeu_ps(c + 16, m1, u->gelu ? gelu512(acc[i][1]) : acc[i][1]);
    }
}

/* The micro-kernel for `mr` rows, `np` panels (1 or 2) and weight type `t`;
 * always inlined with constant arguments, so each specialization keeps its
 * accumulators in registers. */
static inline __attribute__((always_inline)) void ukernel_tile(const te_ukr_args *u, const int mr, const int np,
                                                               const te_welem t) {
    __m512 acc[MAX_MR][2];
    tile_start(u, mr, np, acc);
    const float *a = u->a;
    const size_t elem = t == TE_WELEM_F32 ? sizeof(float) : sizeof(uint16_t);
    const char *b0 = u->b, *b1 = b0 + u->b_stride * elem;
    const size_t ahead = (size_t)u->prefetch;
    for (size_t k = 0; k < u->kc; k++, a += mr, b0 += TE_PANEL * elem, b1 += TE_PANEL * elem) {
        if (ahead) {
            /* Weights read once (few rows) come from DRAM: ask for them early. */
            _mm_prefetch(b0 + ahead, _MM_HINT_T0);
            if (np == 2) _mm_prefetch(b1 + ahead, _MM_HINT_T0);
        }
        __m512 w0 = load_w(b0, 0, t);
        __m512 w1 = np == 2 ? load_w(b1, 0, t) : w0;
#pragma GCC unroll 14
        for (int i = 0; i < mr; i++) {
            __m512 x = _mm512_set1_ps(a[i]);
            acc[i][0] = _mm512_fmadd_ps(x, w0, acc[i][0]);
            if (np == 2) acc[i][1] = _mm512_fmadd_ps(x, w1, acc[i][1]);
        }
    }
    tile_store(u, mr, np, acc);
}

/* A tile function specialized for every height 1..14 and 1 or 2 panels,
 * and the table NAMEs[rows] that picks one (fp32 and int8 share it). */
#define SPECIALIZE(name, attr, args_t, tile, mr) \
    static attr void name##_##mr(const args_t *u) { \
        if (u->cols > TE_PANEL) tile(u, mr, 2); \
        else tile(u, mr, 1); \
    }
#define SPECIALIZE_ALL(name, attr, args_t, tile) \
    SPECIALIZE(name, attr, args_t, tile, 1) SPECIALIZE(name, attr, args_t, tile, 2) \
    SPECIALIZE(name, attr, args_t, tile, 3) SPECIALIZE(name, attr, args_t, tile, 4) \
    SPECIALIZE(name, attr, args_t, tile, 5) SPECIALIZE(name, attr, args_t, tile, 6) \
    SPECIALIZE(name, attr, args_t, tile, 7) SPECIALIZE(name, attr, args_t, tile, 8) \
    SPECIALIZE(name, attr, args_t, tile, 9) SPECIALIZE(name, attr, args_t, tile, 10) \
    SPECIALIZE(name, attr, args_t, tile, 11) SPECIALIZE(name, attr, args_t, tile, 12) \
    SPECIALIZE(name, attr, args_t, tile, 13) SPECIALIZE(name, attr, args_t, tile, 14) \
    static void (*const name##s[MAX_MR + 1])(const args_t *) = { \
        NULL, name##_1, name##_2, name##_3, name##_4, name##_5, name##_6, name##_7, \
        name##_8, name##_9, name##_10, name##_11, name##_12, name##_13, name##_14, \
    };

#define WEIGHT_TILE(t, elem) \
    static inline __attribute__((always_inline)) void ukernel_tile_##t(const te_ukr_args *u, const int mr, \
                                                                       const int np) { \
        ukernel_tile(u, mr, np, elem); \
    }
WEIGHT_TILE(f32, TE_WELEM_F32)
WEIGHT_TILE(f16, TE_WELEM_F16)
WEIGHT_TILE(bf16, TE_WELEM_BF16)
SPECIALIZE_ALL(ukernel_f32, , te_ukr_args, ukernel_tile_f32)
SPECIALIZE_ALL(ukernel_f16, , te_ukr_args, ukernel_tile_f16)
SPECIALIZE_ALL(ukernel_bf16, , te_ukr_args, ukernel_tile_bf16)

static void ukernel(const te_ukr_args *u) {
    switch (u->b_type) {
    case TE_WELEM_F16: ukernel_f16s[u->rows](u); break;
    case TE_WELEM_BF16: ukernel_bf16s[u->rows](u); break;
    default: ukernel_f32s[u->rows](u); break;
    }
}

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

/* The file's target plus VNNI: clang lets a function's own target replace
 * the pushed one, so it is spelled in full. */
#define VNNI __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,fma,f16c,avx512vnni")))

/* Every loop over the tile's rows must unroll fully, or the accumulators
 * live on the stack; clang does not cost the asm below as cheap. */
#if defined(__clang__)
#define UNROLL_ROWS _Pragma("clang loop unroll(full)")
#else
#define UNROLL_ROWS _Pragma("GCC unroll 14")
#endif

/* The int8 epilogue of one row and panel (kernels.h fixes the order). */
static inline __attribute__((always_inline)) void q8_store(const te_q8_args *u, int i, int p, __m512i acc) {
    const __mmask16 m = tail_mask(u->cols - 16 * p);
    const int j = 16 * p;
    __m512i wsum = _mm512_cvtps_epi32(_mm512_maskz_loadu_ps(m, u->w_sum + j));
    __m512i d = _mm512_sub_epi32(acc, _mm512_mullo_epi32(_mm512_set1_epi32(u->a_zero[i]), wsum));
    __m512 s = _mm512_mul_ps(_mm512_set1_ps(u->a_scale[i]), _mm512_maskz_loadu_ps(m, u->w_scale + j));
    __m512 y = _mm512_mul_ps(_mm512_cvtepi32_ps(d), s);
    float *c = u->c + (size_t)i * u->ldc + j;
    if (u->bias) y = _mm512_add_ps(y, _mm512_maskz_loadu_ps(m, u->bias + j));
    if (u->load_c) y = _mm512_add_ps(y, _mm512_maskz_loadu_ps(m, c));
    _mm512_mask_storeu_ps(c, m, u->gelu ? gelu512(y) : y);
}

/* acc += a (u8) . w (s8), 4 bytes per lane. Written as asm because GCC 12
 * copies the accumulator around the intrinsic's tied operand (a register
 * move per VPDPBUSD, and spills at 12 rows: 40% slower). */
static inline __attribute__((always_inline)) VNNI __m512i dpbusd(__m512i acc, __m512i a, __m512i w) {
    __asm__("vpdpbusd %2, %1, %0" : "+v"(acc) : "v"(a), "v"(w));
    return acc;
}

static inline __attribute__((always_inline)) VNNI void q8_tile(const te_q8_args *u, const int mr, const int np) {
    __m512i acc[MAX_MR][2];
    UNROLL_ROWS
    for (int i = 0; i < mr; i++) acc[i][0] = acc[i][1] = _mm512_setzero_si512();
    const int8_t *b0 = u->b, *b1 = u->b + u->b_stride;
    for (size_t g = 0; g < u->k4; g++, b0 += 64, b1 += 64) {
        __m512i w0 = _mm512_loadu_si512(b0);
        __m512i w1 = np == 2 ? _mm512_loadu_si512(b1) : w0;
        UNROLL_ROWS
        for (int i = 0; i < mr; i++) {
            int32_t a4;
            memcpy(&a4, u->a + (size_t)i * u->lda + 4 * g, 4);
            __m512i x = _mm512_set1_epi32(a4);
            acc[i][0] = dpbusd(acc[i][0], x, w0);
            if (np == 2) acc[i][1] = dpbusd(acc[i][1], x, w1);
        }
    }
    UNROLL_ROWS
    for (int i = 0; i < mr; i++) {
        q8_store(u, i, 0, acc[i][0]);
        if (np == 2) q8_store(u, i, 1, acc[i][1]);
    }
}

SPECIALIZE_ALL(q8_ukernel, VNNI, te_q8_args, q8_tile)

void te_q8_ukernel_vnni(const te_q8_args *u) { q8_ukernels[u->rows](u); }

static void quant_u8(const float *x, size_t k, size_t k4, uint8_t *q, float *scale, int32_t *zero) {
    __m512 lo = _mm512_setzero_ps(), hi = _mm512_setzero_ps();
    for (size_t i = 0; i < k; i += 16) {
        __m512 v = _mm512_maskz_loadu_ps(tail_mask((int)(k - i)), x + i); /* missing lanes are 0 */
        lo = _mm512_min_ps(lo, v);
        hi = _mm512_max_ps(hi, v);
    }
    float inv, z;
    te_quant_u8_params(_mm512_reduce_min_ps(lo), _mm512_reduce_max_ps(hi), scale, &inv, &z);
    const __m512 vinv = _mm512_set1_ps(inv);
    const __m512i vz = _mm512_set1_epi32((int)z), v0 = _mm512_setzero_si512(), v255 = _mm512_set1_epi32(255);
    for (size_t i = 0; i < k; i += 16) {
        __mmask16 m = tail_mask((int)(k - i));
        /* VCVTPS2DQ rounds to nearest even, as nearbyintf does in the default mode */
        __m512i r = _mm512_add_epi32(_mm512_cvtps_epi32(_mm512_mul_ps(_mm512_maskz_loadu_ps(m, x + i), vinv)), vz);
        _mm512_mask_cvtepi32_storeu_epi8(q + i, m, _mm512_min_epi32(_mm512_max_epi32(r, v0), v255));
    }
    memset(q + k, (int)z, k4 - k);
    *zero = (int32_t)z;
}

static void widen_bf16(float *dst, const uint16_t *src, size_t n) {
    for (size_t i = 0; i < n; i += 16) {
        __mmask16 m = tail_mask((int)(n - i));
        __m512i h = _mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(m, src + i));
        _mm512_mask_storeu_ps(dst + i, m, _mm512_castsi512_ps(_mm512_slli_epi32(h, 16)));
    }
}

static void widen_f16(float *dst, const uint16_t *src, size_t n) {
    for (size_t i = 0; i < n; i += 16) {
        __mmask16 m = tail_mask((int)(n - i));
        _mm512_mask_storeu_ps(dst + i, m, _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, src + i)));
    }
}

/* ---- bf16 dot products (AVX512-BF16) ---- */

#define BF16DP __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,fma,f16c,avx512bf16")))

/* acc += a.w over bf16 pairs, per lane; asm for the same reason as dpbusd. */
static inline __attribute__((always_inline)) BF16DP __m512 dpbf16(__m512 acc, __m512i a, __m512i w) {
    __asm__("vdpbf16ps %2, %1, %0" : "+v"(acc) : "v"(a), "v"(w));
    return acc;
}

/* 32 bf16, rows k and k+1 of a panel, interleaved into 16 pairs:
 * lane j = (row k+1, column j) << 16 | (row k, column j). */
static inline __attribute__((always_inline)) BF16DP __m512i pair_up(__m512i rows) {
    const __m512i idx = _mm512_set_epi16(31, 15, 30, 14, 29, 13, 28, 12, 27, 11, 26, 10, 25, 9, 24, 8, 23, 7, 22,
                                         6, 21, 5, 20, 4, 19, 3, 18, 2, 17, 1, 16, 0);
    return _mm512_permutexvar_epi16(idx, rows);
}

/* bf16 panel rows k and k+1 as pairs; the last, odd k alone (its pair's other half 0). */
static inline __attribute__((always_inline)) BF16DP __m512i bf16_pair(const uint16_t *rows, int pair) {
    if (!pair) return _mm512_cvtepu16_epi32(_mm256_loadu_si256((const __m256i *)rows));
    return pair_up(_mm512_loadu_si512(rows));
}

/* The same from f16 panels: widened exactly, rounded to bf16 (nearest even,
 * VCVTNE2PS2BF16, asm as dpbf16 is), then paired. */
static inline __attribute__((always_inline)) BF16DP __m512i f16_pair(const uint16_t *rows, int pair) {
    __m512 lo = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)rows));
    __m512 hi = pair ? _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(rows + TE_PANEL))) : _mm512_setzero_ps();
    __m512i both;
    __asm__("vcvtne2ps2bf16 %2, %1, %0" : "=v"(both) : "v"(hi), "v"(lo));
    return pair_up(both);
}

/* The same tile as ukernel_tile, two k per step: A as bf16 pairs (see
 * te_ukr_args.a), the weights' rows k, k+1 paired in registers (f16
 * weights rounded to bf16 first). */
static inline __attribute__((always_inline)) BF16DP void bf16_dot_tile(const te_ukr_args *u, const int mr,
                                                                       const int np, const te_welem elem) {
    __m512 acc[MAX_MR][2];
    tile_start(u, mr, np, acc);
    const uint32_t *a = (const uint32_t *)u->a;
    const uint16_t *b0 = u->b, *b1 = b0 + u->b_stride;
    for (size_t k = 0; k < u->kc; k += 2, a += mr, b0 += 2 * TE_PANEL, b1 += 2 * TE_PANEL) {
        const int pair = k + 1 < u->kc;
        __m512i w0 = elem == TE_WELEM_F16 ? f16_pair(b0, pair) : bf16_pair(b0, pair);
        __m512i w1 = np == 2 ? (elem == TE_WELEM_F16 ? f16_pair(b1, pair) : bf16_pair(b1, pair)) : w0;
#pragma GCC unroll 14
        for (int i = 0; i < mr; i++) {
            __m512i x = _mm512_set1_epi32((int)a[i]);
            acc[i][0] = dpbf16(acc[i][0], x, w0);
            if (np == 2) acc[i][1] = dpbf16(acc[i][1], x, w1);
        }
    }
    tile_store(u, mr, np, acc);
}

static inline __attribute__((always_inline)) BF16DP void bf16_dot_tile_bf16(const te_ukr_args *u, const int mr,
                                                                            const int np) {
    bf16_dot_tile(u, mr, np, TE_WELEM_BF16);
}

static inline __attribute__((always_inline)) BF16DP void bf16_dot_tile_f16(const te_ukr_args *u, const int mr,
                                                                           const int np) {
    bf16_dot_tile(u, mr, np, TE_WELEM_F16);
}

SPECIALIZE_ALL(bf16_dot, BF16DP, te_ukr_args, bf16_dot_tile_bf16)
SPECIALIZE_ALL(f16_dot, BF16DP, te_ukr_args, bf16_dot_tile_f16)

/* te_pack_bf16_pairs_scalar, 32 values per VCVTNE2PS2BF16: its 16 dwords
 * are the pairs in order. The instruction reads subnormal floats as zero. */
static BF16DP void pack_bf16_pairs(uint32_t *dst, size_t stride, const float *src, size_t n) {
    for (size_t k = 0; k < n; k += 32) {
        int left = n - k < 32 ? (int)(n - k) : 32;
        __m512 lo = _mm512_maskz_loadu_ps(tail_mask(left), src + k);
        __m512 hi = _mm512_maskz_loadu_ps(tail_mask(left - 16), src + k + 16);
        __m512i both;
        __asm__("vcvtne2ps2bf16 %2, %1, %0" : "=v"(both) : "v"(hi), "v"(lo));
        uint32_t pairs[16];
        _mm512_storeu_si512(pairs, both);
        uint32_t *at = dst + k / 2 * stride;
        for (int p = 0; p < (left + 1) / 2; p++) at[(size_t)p * stride] = pairs[p];
    }
}

static void ukernel_bf16_dot(const te_ukr_args *u) {
    if (u->b_type == TE_WELEM_F16) f16_dots[u->rows](u);
    else bf16_dots[u->rows](u);
}

/* Search dot products, one row at a time with masked tails: f32 with two
 * FMA chains; int8 widened to int16 for VPMADDWD, or with VNNI as
 * u8 (row ^ 0x80 = row + 128) times s8 query, less 128 * sum(query). */
static void dot_f32(const float *q, const float *rows, size_t dim, size_t n, float *out) {
    for (size_t i = 0; i < n; i++, rows += dim) {
        __m512 a0 = _mm512_setzero_ps(), a1 = _mm512_setzero_ps();
        size_t k = 0;
        for (; k + 32 <= dim; k += 32) {
            a0 = _mm512_fmadd_ps(_mm512_loadu_ps(q + k), _mm512_loadu_ps(rows + k), a0);
            a1 = _mm512_fmadd_ps(_mm512_loadu_ps(q + k + 16), _mm512_loadu_ps(rows + k + 16), a1);
        }
        for (; k < dim; k += 16) {
            __mmask16 m = tail_mask((int)(dim - k));
            a0 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, q + k), _mm512_maskz_loadu_ps(m, rows + k), a0);
        }
        out[i] = _mm512_reduce_add_ps(_mm512_add_ps(a0, a1));
    }
}

static void dot_i8(const int8_t *q, const int8_t *rows, size_t dim, size_t n, int32_t *out) {
    for (size_t i = 0; i < n; i++, rows += dim) {
        __m512i acc = _mm512_setzero_si512();
        for (size_t k = 0; k < dim; k += 32) {
            __mmask32 m = dim - k >= 32 ? 0xFFFFFFFFu : (1u << (dim - k)) - 1;
            __m512i a = _mm512_cvtepi8_epi16(_mm256_maskz_loadu_epi8(m, q + k));
            __m512i b = _mm512_cvtepi8_epi16(_mm256_maskz_loadu_epi8(m, rows + k));
            acc = _mm512_add_epi32(acc, _mm512_madd_epi16(a, b));
        }
        out[i] = _mm512_reduce_add_epi32(acc);
    }
}

VNNI static void dot_i8_vnni(const int8_t *q, const int8_t *rows, size_t dim, size_t n, int32_t *out) {
    int32_t qsum = 0;
    for (size_t k = 0; k < dim; k++) qsum += q[k];
    const __m512i flip = _mm512_set1_epi8((char)0x80);
    for (size_t i = 0; i < n; i++, rows += dim) {
        __m512i acc = _mm512_setzero_si512();
        for (size_t k = 0; k < dim; k += 64) {
            /* Masked-off bytes: the row's become 128, the query's 0, so they add nothing. */
            __mmask64 m = dim - k >= 64 ? ~(__mmask64)0 : ((__mmask64)1 << (dim - k)) - 1;
            __m512i r = _mm512_xor_si512(_mm512_maskz_loadu_epi8(m, rows + k), flip);
            acc = _mm512_dpbusd_epi32(acc, r, _mm512_maskz_loadu_epi8(m, q + k));
        }
        out[i] = _mm512_reduce_add_epi32(acc) - 128 * qsum;
    }
}

/* Sets that differ only in the int8 kernels and the bf16 dot kernel. */
#define AVX512_FP32 \
    .mr = MR, .max_mr = MAX_MR, .np = 2, .ukernel = ukernel, .layernorm = layernorm, .softmax = softmax, \
    .gelu = gelu, .add3 = add3, .fma_peak = fma_peak, .widen_f16 = widen_f16, .widen_bf16 = widen_bf16, .quant_u8 = quant_u8, .dot_f32 = dot_f32

const te_kernels te_kernels_avx512 = {
    .name = "avx512", AVX512_FP32,
    .q8_mr = TE_Q8_AVX2_MR, .q8_max_mr = TE_Q8_AVX2_MR, .q8_np = 1, .q8_ukernel = te_q8_ukernel_avx2,
    .dot_i8 = dot_i8,
};

const te_kernels te_kernels_avx512vnni = {
    .name = "avx512vnni", AVX512_FP32,
    .q8_mr = TE_Q8_VNNI_MR, .q8_max_mr = TE_Q8_VNNI_MAX_MR, .q8_np = 2, .q8_ukernel = te_q8_ukernel_vnni,
    .dot_i8 = dot_i8_vnni,
};

const te_kernels te_kernels_avx512bf16 = {
    .name = "avx512bf16", AVX512_FP32, .ukernel_bf16_dot = ukernel_bf16_dot, .pack_bf16_pairs = pack_bf16_pairs,
    .q8_mr = TE_Q8_VNNI_MR, .q8_max_mr = TE_Q8_VNNI_MAX_MR, .q8_np = 2, .q8_ukernel = te_q8_ukernel_vnni,
    .dot_i8 = dot_i8_vnni,
};
#if defined(__clang__)
#pragma clang attribute pop
#elif defined(__GNUC__)
#pragma GCC pop_options
#endif
#endif
