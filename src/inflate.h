/*
 * inflate.h - a DEFLATE decoder (RFC 1951), for the deflated entries of a
 * zip archive (PyTorch checkpoints written with compression).
 */
#ifndef TE_INFLATE_H
#define TE_INFLATE_H

#include <stddef.h>
#include <stdint.h>

#include "tinyembed.h"

/* Decodes the raw DEFLATE stream in[0..in_len) into out[0..out_len), which
 * must be exactly the decoded size (a zip entry's uncompressed size).
 * TE_ERR_FORMAT, with a message, on a malformed stream, one that ends early
 * or one that decodes to another size. Never reads or writes outside the
 * buffers. */
te_status te_inflate(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_len, te_error *err);

#endif
