/*
 * embed.h - what te_embed and its siblings (embed.c) share with the calls
 * built on the same batching (embed_multi.c): where a call's sequences
 * come from, the loop that packs them into forward passes, and pooling.
 */
#ifndef TE_EMBED_H
#define TE_EMBED_H

#include "context.h"

/* Where the sequences of one call come from. */
typedef struct te_source {
    const char *const *texts;   /* te_embed, te_classify, te_rerank (the passages) */
    const size_t *lens;
    const char *query;          /* te_rerank: the first text of every pair */
    size_t query_len;
    const int32_t *const *ids;  /* *_tokens */
    const uint8_t *const *types;
    const size_t *n_ids;
    uint8_t *truncated;         /* [n] or NULL: set per text */
} te_source;

/* Called after each forward pass: the batch's final states are in c->x;
 * its sequences are the call's first .. first + b->n_seq - 1. */
typedef te_status (*te_batch_fn)(te_ctx *c, const te_batch *b, size_t first, void *user, te_error *err);

/* Tokenizes the n sequences in input order, packs them end to end into
 * batches of at most c->max_texts texts and c->max_tokens tokens, runs
 * each batch and hands it to fn. Stops at the first error. */
te_status te_run_batches(te_ctx *c, const te_source *src, size_t n, te_batch_fn fn, void *user, te_error *err);

/* Sequence s of b pooled as the model says (mean or CLS, normalized or not) into out[H]. */
void te_pool_seq(const te_ctx *c, const te_batch *b, size_t s, float *out);

#endif
