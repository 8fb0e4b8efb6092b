/*
 * embed.c - te_embed, te_classify, te_rerank and their _tokens forms:
 * texts (or text pairs) in, one vector or one set of label scores each out.
 *
 * Texts are taken in input order and packed end to end into batches of at
 * most ctx->max_texts texts and ctx->max_tokens tokens. There is no padding,
 * so sorting by length would save nothing; keeping input order keeps results
 * simple to place. Each batch goes through te_forward, then each sequence is
 * pooled (mean over its tokens, or its [CLS] state) and L2-normalized if the
 * model says so, or, for classifiers and rerankers, run through the head.
 */
#include <math.h>
#include <string.h>

#include "embed.h"
#include "internal.h"
#include "tokenizer.h"

/* Sequence i into c->one / c->one_types (room for ctx->max_seq ids). */
static te_status get_seq(te_ctx *c, const te_source *src, size_t i, size_t *n, te_error *err) {
    if (src->texts) {
        const char *t = src->texts[i];
        if (!t) return te_fail(err, TE_ERR_ARG, "text %zu is NULL", i);
        size_t len = src->lens ? src->lens[i] : strlen(t);
        int cut = 0;
        te_status st = src->query ? te_tok_encode(c->m, src->query, src->query_len, t, len, c->one, c->one_types,
                                                  c->pair_tmp, c->max_seq, n, &cut, err)
                                  : te_tok_encode(c->m, t, len, NULL, 0, c->one, c->one_types, NULL, c->max_seq, n,
                                                  &cut, err);
        if (src->truncated) src->truncated[i] = (uint8_t)cut;
        return st;
    }
    size_t len = src->n_ids[i];
    if (len == 0 || len > c->max_seq)
        return te_fail(err, TE_ERR_ARG, "sequence %zu has %zu tokens (allowed: 1..%zu, the model's max_seq_length)",
                       i, len, c->max_seq);
    int types = c->m->info.type_vocab_size;
    for (size_t t = 0; t < len; t++) {
        int32_t id = src->ids[i][t];
        if (id < 0 || id >= c->m->info.vocab_size)
            return te_fail(err, TE_ERR_ARG, "sequence %zu, token %zu: id %d is outside the vocabulary (0..%d)",
                           i, t, (int)id, c->m->info.vocab_size - 1);
        c->one[t] = id;
        c->one_types[t] = src->types && src->types[i] ? src->types[i][t] : 0;
        if (types > 0 && c->one_types[t] >= types) /* a model without a type table ignores them */
            return te_fail(err, TE_ERR_ARG, "sequence %zu, token %zu: type id %d has no row (the model has %d)", i, t,
                           (int)c->one_types[t], types);
    }
    *n = len;
    return TE_OK;
}

void te_pool_seq(const te_ctx *c, const te_batch *b, size_t s, float *out) {
    size_t H = (size_t)c->m->info.hidden_size, len = b->len[s];
    const float *x = c->x + b->start[s] * H;
    if (c->m->info.pooling == TE_POOL_CLS) {
        memcpy(out, x, H * sizeof *out);
    } else if (c->m->info.pooling == TE_POOL_LAST) {
        memcpy(out, x + (len - 1) * H, H * sizeof *out);
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

/* The head's activation of z: tanh (BERT's pooler), ReLU (DistilBERT's pre_classifier) or GELU (ModernBERT's). */
static double head_act(int act, double z) {
    if (act == TE_ACT_RELU) return z > 0 ? z : 0;
    if (act == TE_ACT_GELU) return 0.5 * z * (1.0 + erf(z / sqrt(2.0)));
    return tanh(z);
}

/* The classification head on the sequence's first token (or the mean of
 * its tokens): a dense layer and its activation (and a LayerNorm, for
 * ModernBERT), then the label logits, then the model's score function
 * unless raw. */
static void head_seq(const te_ctx *c, const te_batch *b, size_t s, int raw, float *out) {
    const te_model *m = c->m;
    size_t H = (size_t)m->info.hidden_size, L = (size_t)m->info.num_labels;
    const float *x = c->x + b->start[s] * H;
    float *mean = c->head + H; /* the head buffer's second half */
    if (m->arch.head_mean) {
        for (size_t h = 0; h < H; h++) {
            double sum = 0;
            for (size_t t = 0; t < b->len[s]; t++) sum += x[t * H + h];
            mean[h] = (float)(sum / (double)b->len[s]);
        }
        x = mean;
    }
    for (size_t o = 0; o < H; o++) {
        const float *w = m->head_dense_w + o * H;
        double z = m->head_dense_b[o];
        for (size_t k = 0; k < H; k++) z += (double)w[k] * x[k];
        c->head[o] = (float)head_act(m->arch.head_dense_act, z);
    }
    if (m->head_norm_w) c->k->layernorm(c->head, H, m->head_norm_w, m->head_norm_b, m->info.layer_norm_eps);
    double mx = -INFINITY, sum = 0;
    for (size_t l = 0; l < L; l++) {
        const float *w = m->head_out_w + l * H;
        double z = m->head_out_b[l];
        for (size_t k = 0; k < H; k++) z += (double)w[k] * c->head[k];
        out[l] = (float)z;
        if (out[l] > mx) mx = out[l];
    }
    if (raw || m->info.score_fn == TE_SCORE_IDENTITY) return;
    if (m->info.score_fn == TE_SCORE_SIGMOID) {
        for (size_t l = 0; l < L; l++) out[l] = (float)(1.0 / (1.0 + exp(-(double)out[l])));
        return;
    }
    for (size_t l = 0; l < L; l++) sum += exp((double)out[l] - mx);
    for (size_t l = 0; l < L; l++) out[l] = (float)(exp((double)out[l] - mx) / sum);
}

/* What each call produces and for which kinds of model. */
typedef enum call_kind { CALL_EMBED, CALL_CLASSIFY, CALL_RERANK } call_kind;

static te_status check_kind(const te_ctx *c, call_kind k, te_error *err) {
    te_model_kind mk = c->m->info.kind;
    const char *name = c->m->info.name;
    if (k == CALL_EMBED && mk != TE_KIND_EMBEDDING)
        return te_fail(err, TE_ERR_ARG, "model '%s' is a %s, not an embedding model: use te_%s (tinyembed %s)", name,
                       te_kind_name(mk), mk == TE_KIND_RERANKER ? "rerank" : "classify",
                       mk == TE_KIND_RERANKER ? "rerank" : "classify");
    if (k == CALL_CLASSIFY && mk == TE_KIND_EMBEDDING)
        return te_fail(err, TE_ERR_ARG, "model '%s' is an embedding model, not a classifier: use te_embed (tinyembed embed)", name);
    if (k == CALL_RERANK && mk != TE_KIND_RERANKER)
        return te_fail(err, TE_ERR_ARG, "model '%s' is %s, not a reranker (a cross-encoder with one label)", name,
                       mk == TE_KIND_EMBEDDING ? "an embedding model" : "a classifier");
    return TE_OK;
}

te_status te_run_batches(te_ctx *c, const te_source *src, size_t n, te_batch_fn fn, void *user, te_error *err) {
    size_t i = 0, len = 0;
    int pending = 0; /* c->one holds sequence i, read but not yet placed */
    te_status st = TE_OK;
    while (i < n) {
        te_batch b = {.start = c->start, .len = c->len};
        size_t first = i;
        while (i < n && b.n_seq < c->max_texts) {
            if (!pending) {
                if ((st = get_seq(c, src, i, &len, err)) != TE_OK) return st;
                pending = 1;
            }
            if (b.n_tokens + len > c->max_tokens) break;
            if ((st = te_ctx_reserve(c, b.n_tokens + len, len, err)) != TE_OK) return st;
            memcpy(c->ids + b.n_tokens, c->one, len * sizeof *c->ids);
            memcpy(c->types + b.n_tokens, c->one_types, len);
            c->start[b.n_seq] = b.n_tokens;
            c->len[b.n_seq] = len;
            b.n_seq++;
            b.n_tokens += len;
            pending = 0;
            i++;
        }
        b.ids = c->ids, b.types = c->types; /* reserving may have moved them */
        te_forward(c, &b);
        if ((st = fn(c, &b, first, user, err)) != TE_OK) return st;
    }
    return TE_OK;
}

/* What run() places: pooled vectors or head scores, `stride` floats a sequence. */
typedef struct placing {
    call_kind kind;
    int raw;
    float *out;
    size_t stride;
} placing;

static te_status place(te_ctx *c, const te_batch *b, size_t first, void *user, te_error *err) {
    (void)err;
    const placing *p = user;
    for (size_t s = 0; s < b->n_seq; s++) {
        if (p->kind == CALL_EMBED) te_pool_seq(c, b, s, p->out + (first + s) * p->stride);
        else head_seq(c, b, s, p->raw, p->out + (first + s) * p->stride);
    }
    return TE_OK;
}

static te_status run(te_ctx *c, call_kind kind, const te_source *src, size_t n, int raw, float *out, te_error *err) {
    te_error_clear(err);
    if (!c || (n && !out)) return te_fail(err, TE_ERR_ARG, "NULL argument");
    te_status st = check_kind(c, kind, err);
    if (st != TE_OK) return st;
    placing p = {kind, raw, out, kind == CALL_EMBED ? (size_t)c->m->info.hidden_size : (size_t)c->m->info.num_labels};
    return te_run_batches(c, src, n, place, &p, err);
}

te_status te_embed_ex(te_ctx *c, const char *const *texts, const size_t *lens, size_t n, float *out,
                      uint8_t *truncated, te_error *err) {
    if (n && !texts) return te_fail(err, TE_ERR_ARG, "te_embed: texts is NULL");
    te_source src = {.texts = texts, .lens = lens, .truncated = truncated};
    return run(c, CALL_EMBED, &src, n, 0, out, err);
}

te_status te_embed(te_ctx *c, const char *const *texts, const size_t *lens, size_t n, float *out, te_error *err) {
    return te_embed_ex(c, texts, lens, n, out, NULL, err);
}

te_status te_embed_tokens(te_ctx *c, const int32_t *const *ids, const size_t *n_ids, size_t n, float *out,
                          te_error *err) {
    if (n && (!ids || !n_ids)) return te_fail(err, TE_ERR_ARG, "te_embed_tokens: ids is NULL");
    te_source src = {.ids = ids, .n_ids = n_ids};
    return run(c, CALL_EMBED, &src, n, 0, out, err);
}

te_status te_classify(te_ctx *c, const char *const *texts, const size_t *lens, size_t n, int raw, float *out,
                      uint8_t *truncated, te_error *err) {
    if (n && !texts) return te_fail(err, TE_ERR_ARG, "te_classify: texts is NULL");
    te_source src = {.texts = texts, .lens = lens, .truncated = truncated};
    return run(c, CALL_CLASSIFY, &src, n, raw, out, err);
}

te_status te_classify_tokens(te_ctx *c, const int32_t *const *ids, const uint8_t *const *type_ids,
                             const size_t *n_ids, size_t n, int raw, float *out, te_error *err) {
    if (n && (!ids || !n_ids)) return te_fail(err, TE_ERR_ARG, "te_classify_tokens: ids is NULL");
    te_source src = {.ids = ids, .types = type_ids, .n_ids = n_ids};
    return run(c, CALL_CLASSIFY, &src, n, raw, out, err);
}

te_status te_rerank(te_ctx *c, const char *query, size_t query_len, const char *const *texts, const size_t *lens,
                    size_t n, int raw, float *out, uint8_t *truncated, te_error *err) {
    if (!query || (n && !texts)) return te_fail(err, TE_ERR_ARG, "te_rerank: query or texts is NULL");
    te_source src = {.texts = texts, .lens = lens, .query = query, .query_len = query_len, .truncated = truncated};
    return run(c, CALL_RERANK, &src, n, raw, out, err);
}
