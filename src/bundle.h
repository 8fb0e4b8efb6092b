/*
 * bundle.h - a .temb model appended to an executable (docs/FORMAT.md,
 * "Bundles"): how te_open, the page-cache helpers and te_bundle_write find
 * the model's bytes inside the file.
 */
#ifndef TE_BUNDLE_H
#define TE_BUNDLE_H

#include <stdint.h>

#include "tinyembed.h"

/* Trailer, the last 40 bytes of a bundle: magic[8] "TEMBNDL1", u64
 * exe_bytes (the executable, before the padding), u64 model_offset, u64
 * model_bytes, u32 model_crc (CRC-32 of the model's bytes; te_verify checks
 * it), u32 trailer_crc (CRC-32 of the 36 bytes before it). */
#define TE_BUNDLE_MAGIC "TEMBNDL1"
#define TE_BUNDLE_TRAILER 40
#define TE_BUNDLE_ALIGN 16384 /* model_offset is a multiple: covers 4 KB and 16 KB pages */

typedef struct te_bundle_range {
    uint64_t exe_bytes;
    uint64_t offset, bytes; /* the model: [offset, offset + bytes) of the file */
    uint32_t crc;
} te_bundle_range;

/* Looks for a trailer at the end of the open file fd of `file_size` bytes.
 * Returns 1 and fills *out for a bundle, 0 for a file without a trailer, or
 * -1 with err set when the trailer is damaged or points outside the file. */
int te_bundle_read(int fd, uint64_t file_size, te_bundle_range *out, te_error *err);

#endif
