/*
 * quant.h - how weights are stored in each dtype (docs/FORMAT.md, "Weight
 * dtypes"): f32, f16 and bf16 panels, int8 panels with per-row scales and sums,
 * and embedding tables as rows. The converter and `quantize` both declare
 * their tensors through here, so the two paths write identical bytes.
 */
#ifndef TE_QUANT_H
#define TE_QUANT_H

#include <stddef.h>
#include <stdint.h>

#include "temb_writer.h"

/* A logical f32 matrix [n][k], produced one row at a time (from a
 * safetensors file, or from an f32 .temb being quantized). */
typedef struct te_row_source {
    size_t n, k;
    void (*get)(const void *user, size_t r, float *dst); /* row r: k floats */
    const void *user;
} te_row_source;

/* Declares the tensors of a linear weight [n, k] in `dtype`:
 *   f32, f16, bf16: NAME (panel16)
 *   int8:     NAME (panel16x4), NAME_scale [n] f32, NAME_sum [n] f32
 * `src` must stay valid until temb_write returns. */
void te_quant_add_linear(temb_writer *w, const char *name, te_dtype dtype, const te_row_source *src, int new_block);

/* Declares a table stored as rows: f32, f16, bf16: NAME; int8: NAME + NAME_scale [n].
 * Tensors of one dimension are a source with n = 1. */
/* A 1-D u8 tensor holding data[0..n) as they are (kept until temb_write returns). */
void te_quant_add_bytes(temb_writer *w, const char *name, const uint8_t *data, size_t n, int new_block);

void te_quant_add_rows(temb_writer *w, const char *name, te_dtype dtype, int n_dims, const te_row_source *src,
                       int new_block);

/* Symmetric int8 quantization of one row: q[i] = round(x[i] / s) with
 * s = max|x| / 127 (1 for an all-zero row); returns s. */
float te_quant_row_i8(const float *x, size_t n, int8_t *q);

/* Stores int8 row r (k values) of a weight into its panel16x4 layout. */
void te_quant_panel_row(int8_t *panels, size_t k, size_t r, const int8_t *q);

#endif
