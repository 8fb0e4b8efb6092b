/*
 * crc32.h - CRC-32 (zlib polynomial) used for the .temb section and tensor checksums.
 */
#ifndef TE_CRC32_H
#define TE_CRC32_H

#include <stddef.h>
#include <stdint.h>

extern const uint32_t te_crc32_table[256];

/* Continues a CRC: start with crc = 0; te_crc32_update(0, "123456789", 9) == 0xCBF43926. */
uint32_t te_crc32_update(uint32_t crc, const void *data, size_t n);

/* Nonzero when a computed checksum differs from the stored one. Fuzz builds
 * (libFuzzer's FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION, never set by the
 * Makefile's normal builds) accept every checksum, so that mutated inputs
 * reach the parsers behind them instead of stopping at the first CRC. */
static inline int te_crc32_differs(uint32_t computed, uint32_t stored) {
#ifdef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
    (void)computed;
    (void)stored;
    return 0;
#else
    return computed != stored;
#endif
}

#endif
