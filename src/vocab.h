/*
 * vocab.h - the tokenizer vocabulary as stored in a .temb file: token strings
 * and a hash table, both read in place from the mapping (nothing is built at
 * open, and not read by te_open). Every lookup is bounds-checked, so a
 * damaged table or offset gives wrong answers, never out-of-bounds reads.
 */
#ifndef TE_VOCAB_H
#define TE_VOCAB_H

#include <stddef.h>
#include <stdint.h>

typedef struct te_vocab {
    uint32_t n;            /* number of tokens */
    uint32_t mask;         /* hash slots - 1 */
    uint32_t max_len;      /* longest token in bytes */
    uint32_t blob_len;
    const uint8_t *offsets; /* n + 1 little-endian u32 */
    const uint8_t *slots;   /* mask + 1 little-endian u32 */
    const char *blob;
} te_vocab;

/* Id of the token spelled prefix + s (prefix may be empty), or -1. */
int32_t te_vocab_find(const te_vocab *v, const char *prefix, size_t prefix_len,
                      const char *s, size_t len);

/* Bytes of token `id` (not NUL-terminated); NULL if id is out of range or
 * its stored offsets are damaged. */
const char *te_vocab_token(const te_vocab *v, uint32_t id, size_t *len);

#endif
