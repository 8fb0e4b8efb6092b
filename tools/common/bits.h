/*
 * bits.h - binary embeddings, as sentence-transformers' quantize_embeddings
 * packs them: the bits of v > 0, 8 to a byte, the first the most
 * significant, the last byte padded with 0 bits. "ubinary" is the byte,
 * "binary" the byte minus 128 (an int8, whose two's complement is byte ^ 0x80).
 */
#ifndef TE_BITS_H
#define TE_BITS_H

#include <stddef.h>

/* Byte i of the packed bits of v[0..d). */
static inline unsigned packed_byte(const float *v, size_t d, size_t i) {
    unsigned byte = 0;
    for (size_t k = 8 * i; k < 8 * i + 8; k++) byte = (byte << 1) | (k < d && v[k] > 0);
    return byte;
}

static inline size_t packed_bytes(size_t d) { return (d + 7) / 8; }

#endif
