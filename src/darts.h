/*
 * darts.h - double-array tries in darts-clone's unit format: the format of
 * SentencePiece's precompiled normalization charsmap, and the one the
 * converter writes the Unigram vocabulary in, so one reader walks both and
 * opening a model builds nothing.
 *
 * A trie is an array of little-endian u32 units. From a node at index p
 * with unit u, the child of label c (a byte, 1..255) sits at
 * p ^ offset(u) ^ c and has label c; a node where a key ends has the
 * has-leaf bit and its value (31 bits) in the unit at p ^ offset(u).
 */
#ifndef TE_DARTS_H
#define TE_DARTS_H

#include <stddef.h>
#include <stdint.h>

#include "tinyembed.h"

typedef struct te_darts {
    const uint8_t *units;   /* n little-endian u32 units (in the mapping, or owned) */
    size_t n;
} te_darts;

/* Walks key[0..len) from the root, calling hit(user, value, length) for
 * every key of the trie that is a prefix of it, shortest first, until hit
 * returns nonzero. Stops at a NUL byte or where the trie ends; a damaged
 * trie cannot make it read outside units[0..n). */
typedef int (*te_darts_hit)(void *user, uint32_t value, size_t length);
void te_darts_prefixes(const te_darts *d, const uint8_t *key, size_t len, te_darts_hit hit, void *user);

/* The value of the shortest key of the trie that prefixes key[0..len), or -1. */
int64_t te_darts_first(const te_darts *d, const uint8_t *key, size_t len);

/* Builds a trie of n keys (none empty, none holding a NUL byte) with
 * values[i] < 2^31; keys must be sorted bytewise and distinct. *out gets a
 * malloc'd array of *n_units little-endian units. */
te_status te_darts_build(const uint8_t *const *keys, const size_t *lens, const uint32_t *values, size_t n,
                         uint8_t **out, size_t *n_units, te_error *err);

#endif
