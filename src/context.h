/*
 * context.h - te_ctx: everything one caller needs to run the model: the
 * thread pool, the kernel set, and all scratch memory, sized once at
 * creation from the batch capacity and reused by every call. A model can be
 * shared by many contexts; a context serves one call at a time.
 */
#ifndef TE_CONTEXT_H
#define TE_CONTEXT_H

#include <stddef.h>
#include <stdint.h>

#include "gemm.h"
#include "model.h"
#include "threadpool.h"

/* One forward pass: sequences laid end to end, no padding. */
typedef struct te_batch {
    size_t n_seq;
    size_t n_tokens;
    const int32_t *ids;   /* [n_tokens] */
    const size_t *start;  /* [n_seq] first token of each sequence */
    const size_t *len;    /* [n_seq] */
    const uint8_t *types; /* [n_tokens] token type ids, or NULL for all 0 */
} te_batch;

/* Query rows per attention block: the scores take TE_ATT_BLOCK x S floats. */
#define TE_ATT_BLOCK 64

struct te_ctx {
    const te_model *m;
    te_pool *pool;
    const te_kernels *k;
    te_exec ex;
    int threads;
    size_t max_texts;       /* sequences per batch */
    size_t max_tokens;      /* tokens per batch */
    size_t max_seq;         /* longest sequence: the model's max_seq_length */
    size_t ffn_rows;        /* rows per feed-forward chunk */
    size_t ffn_width;       /* floats per intermediate row: I, or 2I when gated (value | gate) */
    size_t scratch_bytes;

    /* Activations of one batch. */
    float *x;               /* [max_tokens, H] hidden states */
    float *qkv;             /* [max_tokens, 3H] Q | K | V; the attention output overwrites Q */
    float *ffn;             /* [threads * ffn_rows, ffn_width] feed-forward intermediate */
    int32_t *pos;           /* [max_tokens] position id of each token of the batch */
    const float *zero;      /* [H] zeros: what an absent position or token-type table adds */
    float *rope_cos, *rope_sin; /* rotary: [max_seq, rotary_dims / 2] */
    float *relb;            /* relative bias: [heads, 2 max_seq - 1], by key - query distance */
    /* Per thread. */
    te_gemm_scratch *scratch; /* [threads] packed A blocks and widened f16 weights (gemm.h) */
    float **att;            /* [threads] attention: key panels, value panels, one block's scores */
    /* The batch being built. */
    int32_t *ids;           /* [max_tokens] */
    uint8_t *types;         /* [max_tokens] */
    int32_t *one;           /* [max_seq] one tokenized text (or pair) */
    uint8_t *one_types;     /* [max_seq] its token types */
    int32_t *pair_tmp;      /* [max_seq] the second text of a pair while it is cut to fit */
    float *head;            /* classifiers: [H] the head's dense output */
    size_t *start, *len;    /* [max_texts] */
};

/* Runs the encoder on b; the final hidden states are in c->x. */
void te_forward(te_ctx *c, const te_batch *b);

#endif
