/*
 * precision.c - embeddings as int8, uint8, binary or ubinary bytes (see
 * precision.h).
 */
#include "precision.h"

#include <stdio.h>
#include <string.h>

static const char *const names[] = {"float", "int8", "uint8", "binary", "ubinary"};

int precision_parse(const char *name) {
    for (int i = 0; name && i < (int)(sizeof names / sizeof *names); i++)
        if (strcmp(name, names[i]) == 0) return i;
    return -1;
}

const char *precision_name(precision p) { return names[p]; }

size_t precision_bytes(precision p, size_t d) { return p == PREC_BINARY || p == PREC_UBINARY ? (d + 7) / 8 : d; }

const char *precision_range_refusal(const te_model_info *in, int dims, int normalized) {
    if (!in->output_range)
        return "has no calibrated output range, which int8 and uint8 need (its file predates it): "
               "`tinyembed calibrate` adds one";
    if (dims && dims < in->hidden_size)
        return "quantizes int8 and uint8 by the range of its whole output: not with fewer dimensions";
    if (normalized && !in->normalize)
        return "quantizes int8 and uint8 by the range of its own vectors, which are not L2-normalized: not with "
               "normalized ones (\"normalize\", or a chunked mean: use \"reduce\": \"none\")";
    return NULL;
}

te_status precision_encode(const te_model *m, precision p, const float *v, size_t d, uint8_t *out, te_error *err) {
    if (p == PREC_FLOAT) { /* floats are not bytes: the callers write them themselves */
        if (err) err->code = TE_ERR_ARG, snprintf(err->msg, sizeof err->msg, "precision_encode: float is not a byte precision");
        return TE_ERR_ARG;
    }
    if (p == PREC_INT8 || p == PREC_UINT8) return te_embedding_quantize(m, v, d, p == PREC_UINT8, out, err);
    for (size_t i = 0; i < (d + 7) / 8; i++) {
        unsigned byte = 0;
        for (size_t k = 8 * i; k < 8 * i + 8; k++) byte = (byte << 1) | (k < d && v[k] > 0);
        out[i] = (uint8_t)(p == PREC_BINARY ? byte ^ 0x80u : byte); /* byte - 128 as int8 */
    }
    return TE_OK;
}
