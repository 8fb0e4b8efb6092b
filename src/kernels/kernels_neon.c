/*
 * kernels_neon.c - AArch64 NEON kernels (NEON is part of the AArch64
 * baseline, so no run-time check is needed there).
 *
 * GEMM micro-kernel: up to 6 rows x 16 columns (one weight panel as four
 * 128-bit registers) in 24 accumulators, leaving registers for the panel row
 * and one broadcast (half and bfloat16 weights widened as loaded); compiled
 * for every height 1..6 and weight type.
 */
#if defined(__aarch64__)
#include <arm_neon.h>
#include <math.h>

#include "kernels.h"

#define MR 6

/* Loads the first n (0..4) floats of p, zero elsewhere. */
static inline float32x4_t load_n(const float *p, int n) {
    if (n >= 4) return vld1q_f32(p);
    float t[4] = {0, 0, 0, 0};
    for (int i = 0; i < n; i++) t[i] = p[i];
    return vld1q_f32(t);
}

static inline void store_n(float *p, int n, float32x4_t v) {
    if (n >= 4) {
        vst1q_f32(p, v);
        return;
    }
    float t[4];
    vst1q_f32(t, v);
    for (int i = 0; i < n; i++) p[i] = t[i];
}

/* e^x as in kernels_avx512.c; 2^n is built in the exponent bits. */
static inline float32x4_t exp4(float32x4_t x) {
    x = vmaxq_f32(vminq_f32(x, vdupq_n_f32(88.3762626647949f)), vdupq_n_f32(-87.3365447505531f));
    float32x4_t n = vrndnq_f32(vmulq_f32(x, vdupq_n_f32(1.44269504088896341f)));
    float32x4_t r = vfmsq_f32(x, n, vdupq_n_f32(0.693359375f));
    r = vfmsq_f32(r, n, vdupq_n_f32(-2.12194440e-4f));
    float32x4_t p = vdupq_n_f32(1.9875691500e-4f);
    p = vfmaq_f32(vdupq_n_f32(1.3981999507e-3f), p, r);
    p = vfmaq_f32(vdupq_n_f32(8.3334519073e-3f), p, r);
    p = vfmaq_f32(vdupq_n_f32(4.1665795894e-2f), p, r);
    p = vfmaq_f32(vdupq_n_f32(1.6666665459e-1f), p, r);
    p = vfmaq_f32(vdupq_n_f32(5.0000001201e-1f), p, r);
    p = vfmaq_f32(vaddq_f32(r, vdupq_n_f32(1.0f)), p, vmulq_f32(r, r));
    int32x4_t e = vshlq_n_s32(vaddq_s32(vcvtq_s32_f32(n), vdupq_n_s32(127)), 23);
    return vmulq_f32(p, vreinterpretq_f32_s32(e));
}

/* GELU with the erf of Abramowitz & Stegun 7.1.26, as in kernels_avx512.c. */
static inline float32x4_t gelu4(float32x4_t x) {
    float32x4_t z = vmulq_f32(vabsq_f32(x), vdupq_n_f32(0.70710678118654752f));
    float32x4_t t = vdivq_f32(vdupq_n_f32(1.0f), vfmaq_f32(vdupq_n_f32(1.0f), z, vdupq_n_f32(0.3275911f)));
    float32x4_t p = vdupq_n_f32(1.061405429f);
    p = vfmaq_f32(vdupq_n_f32(-1.453152027f), p, t);
    p = vfmaq_f32(vdupq_n_f32(1.421413741f), p, t);
    p = vfmaq_f32(vdupq_n_f32(-0.284496736f), p, t);
    p = vfmaq_f32(vdupq_n_f32(0.254829592f), p, t);
    p = vmulq_f32(p, t);
    float32x4_t erf_abs = vfmsq_f32(vdupq_n_f32(1.0f), p, exp4(vnegq_f32(vmulq_f32(z, z))));
    uint32x4_t sign = vandq_u32(vreinterpretq_u32_f32(x), vdupq_n_u32(0x80000000u));
    float32x4_t erf = vreinterpretq_f32_u32(vorrq_u32(vreinterpretq_u32_f32(erf_abs), sign));
    return vmulq_f32(vmulq_f32(vdupq_n_f32(0.5f), x), vaddq_f32(vdupq_n_f32(1.0f), erf));
}

/* 4 weights at b + at as f32: half widened with FCVTL, bfloat16 by shifting its bits to the top. */
static inline __attribute__((always_inline)) float32x4_t load_w(const void *b, size_t at, const te_welem t) {
    if (t == TE_WELEM_F32) return vld1q_f32((const float *)b + at);
    uint16x4_t h = vld1_u16((const uint16_t *)b + at);
    if (t == TE_WELEM_F16) return vcvt_f32_f16(vreinterpret_f16_u16(h));
    return vreinterpretq_f32_u32(vshll_n_u16(h, 16));
}

static inline __attribute__((always_inline)) void ukernel_tile(const te_ukr_args *u, const int mr, const te_welem t) {
    float32x4_t acc[MR][4];
    float32x4_t bias[4];
    for (int q = 0; q < 4; q++) bias[q] = u->bias ? load_n(u->bias + 4 * q, u->cols - 4 * q) : vdupq_n_f32(0);
    for (int i = 0; i < mr; i++)
        for (int q = 0; q < 4; q++) {
            acc[i][q] = bias[q];
            if (u->load_c) acc[i][q] = vaddq_f32(load_n(u->c + (size_t)i * u->ldc + 4 * q, u->cols - 4 * q), bias[q]);
        }
    const float *a = u->a;
    for (size_t k = 0; k < u->kc; k++, a += mr) {
        size_t at = k * TE_PANEL;
        float32x4_t w0 = load_w(u->b, at, t), w1 = load_w(u->b, at + 4, t), w2 = load_w(u->b, at + 8, t),
                    w3 = load_w(u->b, at + 12, t);
        for (int i = 0; i < mr; i++) {
            float32x4_t x = vld1q_dup_f32(a + i);
            acc[i][0] = vfmaq_f32(acc[i][0], x, w0);
            acc[i][1] = vfmaq_f32(acc[i][1], x, w1);
            acc[i][2] = vfmaq_f32(acc[i][2], x, w2);
            acc[i][3] = vfmaq_f32(acc[i][3], x, w3);
        }
    }
    for (int i = 0; i < mr; i++)
        for (int q = 0; q < 4; q++)
            store_n(u->c + (size_t)i * u->ldc + 4 * q, u->cols - 4 * q, u->gelu ? gelu4(acc[i][q]) : acc[i][q]);
}

TE_UKERNELS_6(ukernel_tile)

static void layernorm(float *x, size_t n, const float *w, const float *b, float eps) {
    float32x4_t s = vdupq_n_f32(0);
    for (size_t i = 0; i < n; i += 4) s = vaddq_f32(s, load_n(x + i, (int)(n - i)));
    const float mean_s = vaddvq_f32(s) / (float)n;
    const float32x4_t mean = vdupq_n_f32(mean_s);
    float32x4_t v = vdupq_n_f32(0);
    for (size_t i = 0; i < n; i += 4) {
        int k = (int)(n - i);
        float32x4_t d = vsubq_f32(load_n(x + i, k), mean);
        if (k < 4) d = vmulq_f32(d, load_n((const float[4]){1, 1, 1, 1}, k)); /* zero the lanes past n */
        v = vfmaq_f32(v, d, d);
    }
    const float32x4_t inv = vdupq_n_f32(1.0f / sqrtf(vaddvq_f32(v) / (float)n + eps));
    for (size_t i = 0; i < n; i += 4) {
        int k = (int)(n - i);
        float32x4_t d = vmulq_f32(vsubq_f32(load_n(x + i, k), mean), inv);
        store_n(x + i, k, vfmaq_f32(load_n(b + i, k), d, load_n(w + i, k)));
    }
}

static void softmax(float *x, size_t n, float scale) {
    float max = -INFINITY;
    for (size_t i = 0; i < n; i++) max = fmaxf(max, x[i]);
    const float32x4_t mx = vdupq_n_f32(max), sc = vdupq_n_f32(scale);
    float sum = 0;
    for (size_t i = 0; i < n; i += 4) {
        int k = (int)(n - i);
        float32x4_t e = exp4(vmulq_f32(vsubq_f32(load_n(x + i, k), mx), sc));
        store_n(x + i, k, e);
        float t[4];
        vst1q_f32(t, e);
        for (int j = 0; j < (k < 4 ? k : 4); j++) sum += t[j];
    }
    const float32x4_t inv = vdupq_n_f32(1.0f / sum);
    for (size_t i = 0; i < n; i += 4) store_n(x + i, (int)(n - i), vmulq_f32(load_n(x + i, (int)(n - i)), inv));
}

static void gelu(float *x, size_t n) {
    for (size_t i = 0; i < n; i += 4) store_n(x + i, (int)(n - i), gelu4(load_n(x + i, (int)(n - i))));
}

static void add3(float *dst, const float *a, const float *b, const float *c, size_t n) {
    for (size_t i = 0; i < n; i += 4) {
        int k = (int)(n - i);
        store_n(dst + i, k, vaddq_f32(vaddq_f32(load_n(a + i, k), load_n(b + i, k)), load_n(c + i, k)));
    }
}

static double fma_peak(long iters) {
    float32x4_t a[12], m = vdupq_n_f32(0.999999f), c = vdupq_n_f32(1e-7f);
    for (int i = 0; i < 12; i++) a[i] = vdupq_n_f32((float)i);
    for (long k = 0; k < iters; k++) {
        for (int i = 0; i < 12; i++) a[i] = vfmaq_f32(c, a[i], m);
        __asm__ volatile("" : "+w"(a[0]), "+w"(a[1]), "+w"(a[2]), "+w"(a[3]), "+w"(a[4]), "+w"(a[5]));
        __asm__ volatile("" : "+w"(a[6]), "+w"(a[7]), "+w"(a[8]), "+w"(a[9]), "+w"(a[10]), "+w"(a[11]));
    }
    return (double)iters * 12 * 4 * 2;
}

/* int8 and f16 weights use the scalar reference on NEON for now (a
 * SDOT-based int8 kernel is future work). */
/* Search dot products: four f32 lanes per FMA; int8 widened by vmull_s8 and
 * pairwise-accumulated into int32 lanes. */
static void dot_f32(const float *q, const float *rows, size_t dim, size_t n, float *out) {
    for (size_t i = 0; i < n; i++, rows += dim) {
        float32x4_t a0 = vdupq_n_f32(0.0f), a1 = vdupq_n_f32(0.0f);
        size_t k = 0;
        for (; k + 8 <= dim; k += 8) {
            a0 = vfmaq_f32(a0, vld1q_f32(q + k), vld1q_f32(rows + k));
            a1 = vfmaq_f32(a1, vld1q_f32(q + k + 4), vld1q_f32(rows + k + 4));
        }
        float s = vaddvq_f32(vaddq_f32(a0, a1));
        for (; k < dim; k++) s += q[k] * rows[k];
        out[i] = s;
    }
}

static void dot_i8(const int8_t *q, const int8_t *rows, size_t dim, size_t n, int32_t *out) {
    for (size_t i = 0; i < n; i++, rows += dim) {
        int32x4_t acc = vdupq_n_s32(0);
        size_t k = 0;
        for (; k + 8 <= dim; k += 8) acc = vpadalq_s16(acc, vmull_s8(vld1_s8(q + k), vld1_s8(rows + k)));
        int32_t s = vaddvq_s32(acc);
        for (; k < dim; k++) s += (int32_t)q[k] * rows[k];
        out[i] = s;
    }
}

const te_kernels te_kernels_neon = {
    .name = "neon", .mr = MR, .max_mr = MR, .np = 1, .ukernel = ukernel, .layernorm = layernorm,
    .softmax = softmax, .gelu = gelu, .add3 = add3, .fma_peak = fma_peak,
    .q8_mr = 4, .q8_max_mr = 4, .q8_np = 1, .q8_ukernel = te_q8_ukernel_scalar, .quant_u8 = te_quant_u8_scalar,
    .widen_f16 = te_widen_f16_scalar, .widen_bf16 = te_widen_bf16_scalar, .dot_f32 = dot_f32, .dot_i8 = dot_i8,
};
#endif
