/*
 * quant.c - encodes weights for the file in each dtype (see quant.h).
 *
 * int8 linear weights use one scale per output row (symmetric, no zero
 * point) and are stored in the order the int8 micro-kernel reads them: per
 * 16-row panel, groups of 4 consecutive k for each of the 16 rows (64
 * bytes), which one VNNI instruction multiplies by 4 activations broadcast
 * to every lane. NAME_sum holds each row's sum of int8 weights: the kernel
 * needs it to remove the zero point of the activations (gemm_q8.c).
 */
#include "quant.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "format.h"
#include "half.h"
#include "internal.h"

/* nearbyintf(v) for |v| < 2^22 in the default rounding mode, without the
 * libm call that dominated quantizing: v + 1.5 * 2^23 lands where floats are
 * integers, so the addition rounds v (ties to even) and the subtraction is exact. */
static inline float round_even(float v) {
#if FLT_EVAL_METHOD == 0
    return (v + 12582912.0f) - 12582912.0f;
#else
    return nearbyintf(v); /* excess precision (x87) would round the sum twice */
#endif
}

/* Squared error of x quantized with scale s (clamped to +-127). */
static double quant_error(const float *x, size_t n, float s) {
    float inv = 1.0f / s;
    double e = 0;
    for (size_t i = 0; i < n; i++) {
        float v = round_even(x[i] * inv);
        v = v > 127.0f ? 127.0f : v < -127.0f ? -127.0f : v;
        e += ((double)x[i] - (double)v * s) * ((double)x[i] - (double)v * s);
    }
    return e;
}

float te_quant_row_i8(const float *x, size_t n, int8_t *q) {
    float amax = 0.0f;
    for (size_t i = 0; i < n; i++) amax = fabsf(x[i]) > amax ? fabsf(x[i]) : amax; /* NaN is skipped, as by fmaxf */
    float s = amax > 0.0f ? amax / 127.0f : 1.0f;
    /* The scale with the least squared error among clip points from 80% to
     * 100% of max|x| (as llama.cpp's quantizers search): clipping a lone
     * large value a little buys a finer grid for all the others. */
    double best = amax > 0.0f ? quant_error(x, n, s) : 0;
    for (int c = 1; c <= 40 && amax > 0.0f; c++) {
        float t = amax * (1.0f - 0.005f * (float)c) / 127.0f;
        double e = quant_error(x, n, t);
        if (e < best) best = e, s = t;
    }
    float inv = 1.0f / s;
    for (size_t i = 0; i < n; i++) {
        float v = round_even(x[i] * inv);
        q[i] = (int8_t)(v > 127.0f ? 127.0f : v < -127.0f ? -127.0f : v);
    }
    return s;
}

/* Each fill gets one row at a time in a buffer it owns and frees. */
typedef struct row_buf {
    float *f;
    int8_t *q;
} row_buf;

static te_status row_buf_init(row_buf *b, size_t k, te_error *err) {
    b->f = malloc(k * sizeof *b->f);
    b->q = malloc(k);
    if (b->f && b->q) return TE_OK;
    free(b->f);
    free(b->q);
    return te_fail(err, TE_ERR_NOMEM, "out of memory");
}

static void row_buf_free(row_buf *b) {
    free(b->f);
    free(b->q);
}

/* One value in a 16-bit dtype. */
static uint16_t to_16(float f, te_dtype dtype) { return dtype == TE_DTYPE_BF16 ? te_f32_to_bf16(f) : te_f32_to_f16(f); }

/* f32, f16 and bf16 panels: out[(r/16)*k*16 + c*16 + r%16] = W[r][c]. */
static te_status fill_panels(const te_row_source *s, void *dst, size_t bytes, te_dtype dtype, te_error *err) {
    row_buf b;
    if (row_buf_init(&b, s->k, err) != TE_OK) return TE_ERR_NOMEM;
    memset(dst, 0, bytes); /* padding lanes of the last panel stay zero */
    for (size_t r = 0; r < s->n; r++) {
        s->get(s->user, r, b.f);
        size_t at = (r / TEMB_PANEL) * s->k * TEMB_PANEL + r % TEMB_PANEL;
        for (size_t c = 0; c < s->k; c++, at += TEMB_PANEL) {
            if (dtype == TE_DTYPE_F32) ((float *)dst)[at] = b.f[c];
            else ((uint16_t *)dst)[at] = to_16(b.f[c], dtype);
        }
    }
    row_buf_free(&b);
    return TE_OK;
}

static te_status fill_f32_panels(void *user, void *dst, size_t bytes, te_error *err) {
    return fill_panels(user, dst, bytes, TE_DTYPE_F32, err);
}

static te_status fill_f16_panels(void *user, void *dst, size_t bytes, te_error *err) {
    return fill_panels(user, dst, bytes, TE_DTYPE_F16, err);
}

static te_status fill_bf16_panels(void *user, void *dst, size_t bytes, te_error *err) {
    return fill_panels(user, dst, bytes, TE_DTYPE_BF16, err);
}

/* int8 panels of G = ceil(k/4) groups: W[r][c] at byte (r/16)*G*64 + (c/4)*64 + (r%16)*4 + c%4. */
void te_quant_panel_row(int8_t *panels, size_t k, size_t r, const int8_t *q) {
    int8_t *at = panels + (r / TEMB_PANEL) * ((k + 3) / 4) * 64 + (r % TEMB_PANEL) * 4;
    for (size_t c = 0; c < k; c++) at[(c / 4) * 64 + c % 4] = q[c];
}

static te_status fill_q8_panels(void *user, void *dst, size_t bytes, te_error *err) {
    const te_row_source *s = user;
    row_buf b;
    if (row_buf_init(&b, s->k, err) != TE_OK) return TE_ERR_NOMEM;
    memset(dst, 0, bytes); /* padding rows and k stay zero */
    for (size_t r = 0; r < s->n; r++) {
        s->get(s->user, r, b.f);
        te_quant_row_i8(b.f, s->k, b.q);
        te_quant_panel_row(dst, s->k, r, b.q);
    }
    row_buf_free(&b);
    return TE_OK;
}

/* Per row: its int8 scale (sum = 0) or the sum of its int8 values (sum = 1). */
static te_status fill_q8_stat(const te_row_source *s, float *out, int sum, te_error *err) {
    row_buf b;
    if (row_buf_init(&b, s->k, err) != TE_OK) return TE_ERR_NOMEM;
    for (size_t r = 0; r < s->n; r++) {
        s->get(s->user, r, b.f);
        float scale = te_quant_row_i8(b.f, s->k, b.q);
        int32_t total = 0;
        for (size_t c = 0; c < s->k; c++) total += b.q[c];
        out[r] = sum ? (float)total : scale; /* |total| <= 127 k < 2^24: exact */
    }
    row_buf_free(&b);
    return TE_OK;
}

static te_status fill_q8_scale(void *user, void *dst, size_t bytes, te_error *err) {
    (void)bytes;
    return fill_q8_stat(user, dst, 0, err);
}

static te_status fill_q8_sum(void *user, void *dst, size_t bytes, te_error *err) {
    (void)bytes;
    return fill_q8_stat(user, dst, 1, err);
}

/* Rows in f32, f16, bf16 or int8 (the int8 scales come from fill_q8_scale). */
static te_status fill_rows(const te_row_source *s, void *dst, te_dtype dtype, te_error *err) {
    row_buf b;
    if (row_buf_init(&b, s->k, err) != TE_OK) return TE_ERR_NOMEM;
    for (size_t r = 0; r < s->n; r++) {
        s->get(s->user, r, b.f);
        if (dtype == TE_DTYPE_F32) {
            memcpy((float *)dst + r * s->k, b.f, s->k * sizeof *b.f);
        } else if (dtype == TE_DTYPE_F16 || dtype == TE_DTYPE_BF16) {
            for (size_t c = 0; c < s->k; c++) ((uint16_t *)dst)[r * s->k + c] = to_16(b.f[c], dtype);
        } else {
            te_quant_row_i8(b.f, s->k, (int8_t *)dst + r * s->k);
        }
    }
    row_buf_free(&b);
    return TE_OK;
}

static te_status fill_f32_rows(void *user, void *dst, size_t bytes, te_error *err) {
    (void)bytes;
    return fill_rows(user, dst, TE_DTYPE_F32, err);
}

static te_status fill_f16_rows(void *user, void *dst, size_t bytes, te_error *err) {
    (void)bytes;
    return fill_rows(user, dst, TE_DTYPE_F16, err);
}

static te_status fill_bf16_rows(void *user, void *dst, size_t bytes, te_error *err) {
    (void)bytes;
    return fill_rows(user, dst, TE_DTYPE_BF16, err);
}

static te_status fill_q8_rows(void *user, void *dst, size_t bytes, te_error *err) {
    (void)bytes;
    return fill_rows(user, dst, TE_DTYPE_I8, err);
}

/* NAME_scale / NAME_sum: one f32 per row. */
static void add_per_row(temb_writer *w, const char *name, const char *suffix, const te_row_source *src,
                        temb_fill_fn fill) {
    char full[TEMB_TENSOR_NAME];
    if (snprintf(full, sizeof full, "%s_%s", name, suffix) >= (int)sizeof full) {
        temb_fail(w, TE_ERR_ARG, "tensor name too long");
        return;
    }
    uint64_t dims[1] = {src->n};
    temb_add_tensor(w, full, TE_DTYPE_F32, TE_LAYOUT_ROWS, 1, dims, 0, fill, (void *)src);
}

void te_quant_add_linear(temb_writer *w, const char *name, te_dtype dtype, const te_row_source *src, int new_block) {
    uint64_t dims[2] = {src->n, src->k};
    void *user = (void *)src;
    if (dtype == TE_DTYPE_I8) {
        temb_add_tensor(w, name, TE_DTYPE_I8, TE_LAYOUT_PANEL16X4, 2, dims, new_block, fill_q8_panels, user);
        add_per_row(w, name, "scale", src, fill_q8_scale);
        add_per_row(w, name, "sum", src, fill_q8_sum);
    } else {
        temb_fill_fn fill = dtype == TE_DTYPE_F16 ? fill_f16_panels : dtype == TE_DTYPE_BF16 ? fill_bf16_panels
                                                                                             : fill_f32_panels;
        temb_add_tensor(w, name, dtype, TE_LAYOUT_PANEL16, 2, dims, new_block, fill, user);
    }
}

void te_quant_add_rows(temb_writer *w, const char *name, te_dtype dtype, int n_dims, const te_row_source *src,
                       int new_block) {
    uint64_t dims[2] = {src->n, src->k};
    if (n_dims == 1) dims[0] = src->k;
    temb_fill_fn fill = dtype == TE_DTYPE_I8     ? fill_q8_rows
                        : dtype == TE_DTYPE_F16  ? fill_f16_rows
                        : dtype == TE_DTYPE_BF16 ? fill_bf16_rows
                                                 : fill_f32_rows;
    temb_add_tensor(w, name, dtype, TE_LAYOUT_ROWS, n_dims, dims, new_block, fill, (void *)src);
    if (dtype == TE_DTYPE_I8) add_per_row(w, name, "scale", src, fill_q8_scale);
}

static te_status fill_bytes(void *user, void *dst, size_t bytes, te_error *err) {
    (void)err;
    memcpy(dst, user, bytes);
    return TE_OK;
}

void te_quant_add_bytes(temb_writer *w, const char *name, const uint8_t *data, size_t n, int new_block) {
    uint64_t dims[1] = {n};
    temb_add_tensor(w, name, TE_DTYPE_U8, TE_LAYOUT_ROWS, 1, dims, new_block, fill_bytes, (void *)data);
}
