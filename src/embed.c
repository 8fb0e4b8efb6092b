/*
 * embed.c - te_embed and te_embed_tokens: texts in, one vector each out.
 *
 * Texts are taken in input order and packed end to end into batches of at
 * most ctx->max_texts texts and ctx->max_tokens tokens. There is no padding,
 * so sorting by length would save nothing; keeping input order keeps results
 * simple to place. Each batch goes through te_forward, then each sequence is
 * pooled (mean over its tokens, or its [CLS] state) and L2-normalized if the
 * model says so.
 */
#include <math.h>
#include <string.h>

#include "context.h"
#include "internal.h"

/* Where the sequences of one call come from. */
typedef struct source {
    const char *const *texts;   /* te_embed */
    const size_t *lens;
    const int32_t *const *ids;  /* te_embed_tokens */
    const size_t *n_ids;
} source;

/* Sequence i into dst (room for ctx->max_seq ids); returns its length. */
static te_status get_seq(te_ctx *c, const source *src, size_t i, int32_t *dst, size_t *n, te_error *err) {
    if (src->texts) {
        const char *t = src->texts[i];
        if (!t) return te_fail(err, TE_ERR_ARG, "text %zu is NULL", i);
        return te_tokenize(c->m, t, src->lens ? src->lens[i] : strlen(t), dst, c->max_seq, n, err);
    }
    size_t len = src->n_ids[i];
    if (len == 0 || len > c->max_seq)
        return te_fail(err, TE_ERR_ARG, "sequence %zu has %zu tokens (allowed: 1..%zu, the model's max_seq_length)",
                       i, len, c->max_seq);
    for (size_t t = 0; t < len; t++) {
        int32_t id = src->ids[i][t];
        if (id < 0 || id >= c->m->info.vocab_size)
            return te_fail(err, TE_ERR_ARG, "sequence %zu, token %zu: id %d is outside the vocabulary (0..%d)",
                           i, t, (int)id, c->m->info.vocab_size - 1);
        dst[t] = id;
    }
    *n = len;
    return TE_OK;
}

static void pool_seq(const te_ctx *c, const te_batch *b, size_t s, float *out) {
    size_t H = (size_t)c->m->info.hidden_size, len = b->len[s];
    const float *x = c->x + b->start[s] * H;
    if (c->m->info.pooling == TE_POOL_CLS) {
        memcpy(out, x, H * sizeof *out);
    } else {
        for (size_t h = 0; h < H; h++) {
            double sum = 0; /* a few hundred terms: double keeps the mean exact to float precision */
            for (size_t t = 0; t < len; t++) sum += x[t * H + h];
            out[h] = (float)(sum / (double)len);
        }
    }
    if (c->m->info.normalize) {
        double ss = 0;
        for (size_t h = 0; h < H; h++) ss += (double)out[h] * out[h];
        /* as sentence-transformers' Normalize: x / max(||x||, 1e-12) */
        double norm = sqrt(ss);
        float inv = (float)(1.0 / (norm > 1e-12 ? norm : 1e-12));
        for (size_t h = 0; h < H; h++) out[h] *= inv;
    }
}

static te_status run(te_ctx *c, const source *src, size_t n, float *out, te_error *err) {
    te_error_clear(err);
    if (!c || (n && !out)) return te_fail(err, TE_ERR_ARG, "NULL argument");
    size_t H = (size_t)c->m->info.hidden_size, i = 0, len = 0;
    int pending = 0; /* c->one holds sequence i, read but not yet placed */
    while (i < n) {
        te_batch b = {0, 0, c->ids, c->start, c->len};
        size_t first = i;
        while (i < n && b.n_seq < c->max_texts) {
            if (!pending) {
                te_status st = get_seq(c, src, i, c->one, &len, err);
                if (st != TE_OK) return st;
                pending = 1;
            }
            if (b.n_tokens + len > c->max_tokens) break;
            memcpy(c->ids + b.n_tokens, c->one, len * sizeof *c->ids);
            c->start[b.n_seq] = b.n_tokens;
            c->len[b.n_seq] = len;
            b.n_seq++;
            b.n_tokens += len;
            pending = 0;
            i++;
        }
        te_forward(c, &b);
        for (size_t s = 0; s < b.n_seq; s++) pool_seq(c, &b, s, out + (first + s) * H);
    }
    return TE_OK;
}

te_status te_embed(te_ctx *c, const char *const *texts, const size_t *lens, size_t n, float *out, te_error *err) {
    if (n && !texts) return te_fail(err, TE_ERR_ARG, "te_embed: texts is NULL");
    source src = {texts, lens, NULL, NULL};
    return run(c, &src, n, out, err);
}

te_status te_embed_tokens(te_ctx *c, const int32_t *const *ids, const size_t *n_ids, size_t n, float *out,
                          te_error *err) {
    if (n && (!ids || !n_ids)) return te_fail(err, TE_ERR_ARG, "te_embed_tokens: ids is NULL");
    source src = {NULL, NULL, ids, n_ids};
    return run(c, &src, n, out, err);
}
