/*
 * kernels_scalar.c - the reference kernels: plain C, one value at a time.
 * Every SIMD kernel set must agree with these (tests/test_kernels.c); they
 * also run on any CPU.
 */
#include <math.h>

#include "kernels.h"

#define MR 4

static float gelu1(float x) { return 0.5f * x * (1.0f + erff(x * (float)M_SQRT1_2)); }

/* Each element: start from C (or 0), add the bias, then a[k] * w[k] for k in
 * order, then GELU -- the order every SIMD version keeps, so they differ from
 * this one only by FMA rounding. */
static void ukernel(const te_ukr_args *u) {
    for (int i = 0; i < u->rows; i++) {
        float *c = u->c + (size_t)i * u->ldc;
        for (int j = 0; j < u->cols; j++) {
            const float *w = u->b + (size_t)(j / TE_PANEL) * u->b_stride + j % TE_PANEL;
            float acc = u->load_c ? c[j] : 0.0f;
            if (u->bias) acc += u->bias[j];
            for (size_t k = 0; k < u->kc; k++) acc += u->a[k * (size_t)u->rows + (size_t)i] * w[k * TE_PANEL];
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

const te_kernels te_kernels_scalar = {"scalar", MR, MR, 1, ukernel, layernorm, softmax, gelu, add3, fma_peak};
