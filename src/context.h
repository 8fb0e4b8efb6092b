/*
 * context.h - te_ctx: everything one caller needs to run the model: the
 * thread pool, the kernel set, and all scratch memory: grown to the
 * largest call so far (never past the batch capacity) and reused. A model can be
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

static inline size_t te_round_panel(size_t n) { return (n + TE_PANEL - 1) / TE_PANEL * TE_PANEL; }

/* Floats of one thread's attention buffer for sequences of up to S tokens
 * and heads of size d: one head's key panels [S16 x d], its value panels
 * [d16 x S16] and one block's scores [TE_ATT_BLOCK x S16] (16 = TE_PANEL). */
static inline size_t te_att_floats(size_t S, size_t d) {
    return te_round_panel(S) * (d + te_round_panel(d) + TE_ATT_BLOCK);
}

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
    size_t scratch_bytes;   /* the most the scratch can grow to (the formula in tinyembed.h) */
    size_t fixed_bytes;     /* of it, the buffers allocated by te_ctx_new */
    size_t cap_tokens;      /* tokens the batch buffers (x, qkv, pos, ids, types) hold now: <= max_tokens */
    size_t cap_seq;         /* tokens per sequence the attention buffers hold now: <= max_seq */

    /* Activations of one batch: grown by te_ctx_reserve. */
    float *x;               /* [cap_tokens, H] hidden states */
    float *qkv;             /* [cap_tokens, 3H] Q | K | V; the attention output overwrites Q */
    float *xn;              /* pre-norm models: [cap_tokens, H] a block's normalized input (in qkv's allocation) */
    int32_t *pos;           /* [cap_tokens] position id of each token of the batch */
    float *ffn;             /* [threads * ffn_rows, ffn_width] feed-forward intermediate */
    const float *zero;      /* [H] zeros: what an absent position or token-type table adds */
    float *rope_cos, *rope_sin; /* rotary: [max_seq, rotary_dims / 2] */
    float *rope_cos_local, *rope_sin_local; /* the local layers' (their own base), or the same as above */
    float *relb;            /* relative bias: [heads, 2 max_seq - 1], by key - query distance */
    /* Per thread. */
    te_gemm_scratch *scratch; /* [threads] packed A blocks and widened f16 weights (gemm.h) */
    float **att;            /* [threads][te_att_floats(cap_seq, d)]: grown by te_ctx_reserve */
    /* The batch being built. */
    int32_t *ids;           /* [cap_tokens] */
    uint8_t *types;         /* [cap_tokens] */
    int32_t *one;           /* [max_seq] one tokenized text (or pair) */
    uint8_t *one_types;     /* [max_seq] its token types */
    int32_t *pair_tmp;      /* [max_seq] the second text of a pair while it is cut to fit */
    float *head;            /* classifiers: [2H] the head's dense output, then its input when it is a mean */
    size_t *start, *len;    /* [max_texts] */
};

/* Makes room for a batch of `tokens` tokens whose longest sequence has `seq`
 * (at most max_tokens and max_seq): grows the batch and attention buffers if
 * they are smaller, keeping the ids and types already placed. On failure
 * (TE_ERR_NOMEM) the grown buffers are dropped: the context is still usable,
 * and its next call grows them again. */
te_status te_ctx_reserve(te_ctx *c, size_t tokens, size_t seq, te_error *err);

/* Runs the encoder on b (room reserved); the final hidden states are in c->x. */
void te_forward(te_ctx *c, const te_batch *b);

#endif
