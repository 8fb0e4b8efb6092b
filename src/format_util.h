/*
 * format_util.h - small computations on .temb structures that both the writer
 * and the reader need: tensor byte sizes and the vocabulary hash.
 */
#ifndef TE_FORMAT_UTIL_H
#define TE_FORMAT_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include "format.h"
#include "tinyembed.h"

/* Bytes of one element of `d` (int8 is 1). */
size_t te_dtype_size(te_dtype d);

/* Stored bytes of a tensor; 0 if the shape is invalid for the layout or the
 * size overflows 64 bits. Panel layouts need n_dims == 2 ([N, K]). */
uint64_t te_tensor_stored_bytes(te_dtype d, te_layout layout, int n_dims, const uint64_t *dims);

static inline uint32_t te_fnv1a(uint32_t h, const void *data, size_t n) {
    const unsigned char *p = data;
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= TEMB_FNV_PRIME;
    }
    return h;
}

#endif
