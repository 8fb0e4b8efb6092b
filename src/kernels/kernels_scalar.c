/*
 * kernels_scalar.c - the reference kernels: plain C, one value at a time.
 * Every SIMD kernel set must agree with these (tests/test_kernels.c); they
 * also run on any CPU.
 */
#include <float.h>
#include <math.h>
#include <string.h>

#include "../half.h"
#include "kernels.h"

#define MR 4

static float gelu1(float x) { return 0.5f * x * (1.0f + erff(x * (float)M_SQRT1_2)); }

/* Each element: start from C (or 0), add the bias, then a[k] * w[k] for k in
 * order, then GELU -- the order every SIMD version keeps, so they differ from
 * this one only by FMA rounding. */
static float weight(const te_ukr_args *u, size_t at) {
    switch (u->b_type) {
    case TE_WELEM_F16: return te_f16_to_f32(((const uint16_t *)u->b)[at]);
    case TE_WELEM_BF16: return te_bf16_to_f32(((const uint16_t *)u->b)[at]);
    default: return ((const float *)u->b)[at];
    }
}

static void ukernel(const te_ukr_args *u) {
    for (int i = 0; i < u->rows; i++) {
        float *c = u->c + (size_t)i * u->ldc;
        for (int j = 0; j < u->cols; j++) {
            size_t w = (size_t)(j / TE_PANEL) * u->b_stride + (size_t)(j % TE_PANEL);
            float acc = u->load_c ? c[j] : 0.0f;
            if (u->bias) acc += u->bias[j];
            for (size_t k = 0; k < u->kc; k++)
                acc += u->a[k * (size_t)u->rows + (size_t)i] * weight(u, w + k * TE_PANEL);
            c[j] = u->gelu ? gelu1(acc) : acc;
        }
    }
}

static void layernorm(float *x, size_t n, const float *w, const float *b, float eps) {
    float mean = 0, var = 0;
    for (size_t i = 0; i < n; i++) mean += x[i];
    mean /= (float)n;
    for (size_t i = 0; i < n; i++) var += (x[i] - mean) * (x[i] - mean);
    var /= (float)n;
    float inv = 1.0f / sqrtf(var + eps);
    for (size_t i = 0; i < n; i++) x[i] = (x[i] - mean) * inv * w[i] + b[i];
}

static void softmax(float *x, size_t n, float scale) {
    float max = -INFINITY, sum = 0;
    for (size_t i = 0; i < n; i++) max = fmaxf(max, x[i]);
    for (size_t i = 0; i < n; i++) {
        x[i] = expf((x[i] - max) * scale);
        sum += x[i];
    }
    for (size_t i = 0; i < n; i++) x[i] /= sum;
}

static void gelu(float *x, size_t n) {
    for (size_t i = 0; i < n; i++) x[i] = gelu1(x[i]);
}

static void add3(float *dst, const float *a, const float *b, const float *c, size_t n) {
    for (size_t i = 0; i < n; i++) dst[i] = a[i] + b[i] + c[i];
}

static double fma_peak(long iters) {
    volatile float sink;
    float a[8] = {0, 1, 2, 3, 4, 5, 6, 7};
    for (long k = 0; k < iters; k++)
        for (int i = 0; i < 8; i++) a[i] = a[i] * 0.999999f + 1e-7f;
    sink = a[0] + a[7];
    (void)sink;
    return (double)iters * 8 * 2;
}

/* A column's weight sum as an integer, defined for any float a damaged file
 * may hold: out of range or NaN gives INT32_MIN, as CVTPS2DQ does. */
static int32_t sum_i32(float f) {
    return f >= -2147483648.0f && f < 2147483648.0f ? (int32_t)f : INT32_MIN;
}

/* The int8 tile, one value at a time: the integer sum over k, then the
 * float epilogue in the order kernels.h fixes. The zero-point correction
 * wraps in 32 bits like the SIMD kernels' (it is exact for valid files). */
void te_q8_ukernel_scalar(const te_q8_args *u) {
    for (int i = 0; i < u->rows; i++) {
        const uint8_t *a = u->a + (size_t)i * u->lda;
        float *c = u->c + (size_t)i * u->ldc;
        for (int j = 0; j < u->cols; j++) {
            const int8_t *w = u->b + (size_t)(j / TE_PANEL) * u->b_stride + (size_t)(j % TE_PANEL) * 4;
            int32_t acc = 0;
            for (size_t g = 0; g < u->k4; g++)
                for (int t = 0; t < 4; t++) acc += (int32_t)a[4 * g + (size_t)t] * (int32_t)w[g * 64 + (size_t)t];
            uint32_t zw = (uint32_t)u->a_zero[i] * (uint32_t)sum_i32(u->w_sum[j]);
            float y = (float)(int32_t)((uint32_t)acc - zw) * (u->a_scale[i] * u->w_scale[j]);
            if (u->bias) y += u->bias[j];
            if (u->load_c) y += c[j];
            c[j] = u->gelu ? gelu1(y) : y;
        }
    }
}

void te_quant_u8_params(float lo, float hi, float *scale, float *inv, float *zero) {
    if (!(hi - lo <= FLT_MAX)) { /* an Inf or NaN activation (a model with such weights): NaN out, no UB */
        *scale = NAN;
        *inv = *zero = 0.0f;
        return;
    }
    /* A range too narrow for a normal scale (zero, or denormal) would make inv infinite. */
    *scale = (hi - lo) / 255.0f >= FLT_MIN ? (hi - lo) / 255.0f : 1.0f;
    *inv = 1.0f / *scale;
    *zero = nearbyintf(-lo * *inv); /* 0..255 since lo <= 0 <= hi */
}

void te_quant_u8_scalar(const float *x, size_t k, size_t k4, uint8_t *q, float *scale, int32_t *zero) {
    float lo = 0.0f, hi = 0.0f, inv, z;
    for (size_t i = 0; i < k; i++) {
        lo = x[i] < lo ? x[i] : lo;
        hi = x[i] > hi ? x[i] : hi;
    }
    te_quant_u8_params(lo, hi, scale, &inv, &z);
    for (size_t i = 0; i < k; i++) q[i] = te_quant_u8_one(x[i], inv, z);
    memset(q + k, (int)z, k4 - k);
    *zero = (int32_t)z;
}

void te_pack_bf16_pairs_scalar(uint32_t *dst, size_t stride, const float *src, size_t n) {
    for (size_t k = 0; k < n; k += 2) {
        uint32_t hi = k + 1 < n ? te_f32_to_bf16(src[k + 1]) : 0;
        dst[k / 2 * stride] = hi << 16 | te_f32_to_bf16(src[k]);
    }
}

void te_widen_f16_scalar(float *dst, const uint16_t *src, size_t n) {
    for (size_t i = 0; i < n; i++) dst[i] = te_f16_to_f32(src[i]);
}

void te_widen_bf16_scalar(float *dst, const uint16_t *src, size_t n) {
    for (size_t i = 0; i < n; i++) dst[i] = te_bf16_to_f32(src[i]);
}

void te_dot_f32_scalar(const float *q, const float *rows, size_t dim, size_t n, float *out) {
    for (size_t i = 0; i < n; i++, rows += dim) {
        float s = 0.0f;
        for (size_t k = 0; k < dim; k++) s += q[k] * rows[k];
        out[i] = s;
    }
}

void te_dot_i8_scalar(const int8_t *q, const int8_t *rows, size_t dim, size_t n, int32_t *out) {
    for (size_t i = 0; i < n; i++, rows += dim) {
        int32_t s = 0;
        for (size_t k = 0; k < dim; k++) s += (int32_t)q[k] * rows[k];
        out[i] = s;
    }
}

const te_kernels te_kernels_scalar = {
    .name = "scalar", .mr = MR, .max_mr = MR, .np = 1, .ukernel = ukernel, .layernorm = layernorm,
    .softmax = softmax, .gelu = gelu, .add3 = add3, .fma_peak = fma_peak,
    .q8_mr = 4, .q8_max_mr = 4, .q8_np = 1, .q8_ukernel = te_q8_ukernel_scalar, .quant_u8 = te_quant_u8_scalar,
    .widen_f16 = te_widen_f16_scalar, .widen_bf16 = te_widen_bf16_scalar, .dot_f32 = te_dot_f32_scalar, .dot_i8 = te_dot_i8_scalar,
};
