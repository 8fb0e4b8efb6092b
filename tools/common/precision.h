/*
 * precision.h - an embedding in the precisions people store it in, one rule
 * for the CLI and the server:
 *   int8 / uint8     the library's te_embedding_quantize: each dimension's
 *                    calibrated range (in the model file) onto 256 steps;
 *   binary / ubinary sentence-transformers' quantize_embeddings: the bits of
 *                    v > 0, 8 to a byte, the first the most significant, the
 *                    last byte padded with 0 bits; binary is the byte - 128.
 * The signed precisions' bytes are int8 two's complement, so base64 and raw
 * output carry what a reader casting to int8 expects.
 */
#ifndef TE_PRECISION_H
#define TE_PRECISION_H

#include <stddef.h>
#include <stdint.h>

#include "tinyembed.h"

typedef enum precision { PREC_FLOAT = 0, PREC_INT8, PREC_UINT8, PREC_BINARY, PREC_UBINARY } precision;
#define PRECISION_NAMES "float|int8|uint8|binary|ubinary" /* by value, for choice lists */

/* "int8" -> PREC_INT8 ...; -1 for another name. */
int precision_parse(const char *name);
const char *precision_name(precision p);

/* Bytes of a d-dimension vector in p (not float). */
size_t precision_bytes(precision p, size_t d);
/* The precision's values are signed (int8, binary). */
static inline int precision_signed(precision p) { return p == PREC_INT8 || p == PREC_BINARY; }
/* The byte's value: -128..127 for the signed precisions, 0..255 else. */
static inline int precision_value(precision p, uint8_t byte) {
    return precision_signed(p) ? (int)(int8_t)byte : (int)byte;
}

/* Why int8 / uint8 cannot quantize these vectors by the model's range, or NULL when they can: a file
 * without a range, fewer dimensions than the model's (dims 0: all), or unit vectors (normalized: the
 * caller normalizes them) of a model whose own are not. The text follows the model's name. */
const char *precision_range_refusal(const te_model_info *in, int dims, int normalized);

/* out[precision_bytes(p, d)] = v[0..d) in p; int8 / uint8 need the model (te_embedding_quantize: d must be its
 * width and the file must hold a range). Returns TE_OK or the library's error. */
te_status precision_encode(const te_model *m, precision p, const float *v, size_t d, uint8_t *out, te_error *err);

#endif
