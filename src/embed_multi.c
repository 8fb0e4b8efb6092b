/*
 * embed_multi.c - te_embed_multi: bge-m3's three outputs from one forward
 * pass, as FlagEmbedding's BGEM3 computes them from the last hidden state h
 * of a text's n tokens:
 *
 *   dense    h[0] (or the model's pooling), L2-normalized as the model says
 *   sparse   w_t = relu(h[t] . sparse_w + sparse_b) for every token t whose
 *            id is not <s>, </s>, <pad> or <unk>; per id the largest w_t;
 *            ids with w = 0 left out
 *   colbert  colbert(h[t]) for t = 1 .. n-1 (the <s> position dropped, the
 *            final </s> kept), each scaled to unit length
 *   tokens   h[t] for every t, as it is (TEI's /embed_all)
 *
 * The ColBERT head is one GEMM over the whole batch, written where the
 * forward pass kept Q|K|V (free once the pass is done: the model refuses a
 * head wider than 3 x hidden).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "embed.h"
#include "internal.h"

typedef struct multi_call {
    unsigned outputs;
    te_multi *out;
} multi_call;

static int is_unused(const te_tokenizer_info *ti, int32_t id) {
    return id == ti->cls_id || id == ti->sep_id || id == ti->pad_id || id == ti->unk_id;
}

static int by_id(const void *a, const void *b) {
    int32_t x = ((const te_sparse_entry *)a)->id, y = ((const te_sparse_entry *)b)->id;
    return (x > y) - (x < y);
}

/* The lexical weights of sequence s: one entry per id, its largest weight. */
static te_status sparse_seq(const te_ctx *c, const te_batch *b, size_t s, te_multi *o, te_error *err) {
    const te_model *m = c->m;
    size_t H = (size_t)m->info.hidden_size, len = b->len[s], n = 0;
    te_sparse_entry *e = malloc((len ? len : 1) * sizeof *e);
    if (!e) return te_fail(err, TE_ERR_NOMEM, "out of memory");
    for (size_t t = 0; t < len; t++) {
        int32_t id = b->ids[b->start[s] + t];
        if (is_unused(&m->info.tokenizer, id)) continue;
        const float *x = c->x + (b->start[s] + t) * H;
        double z = m->sparse_b[0];
        for (size_t h = 0; h < H; h++) z += (double)x[h] * m->sparse_w[h];
        if (z > 0) e[n++] = (te_sparse_entry){id, (float)z};
    }
    qsort(e, n, sizeof *e, by_id);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (k > 0 && e[k - 1].id == e[i].id) {
            if (e[i].weight > e[k - 1].weight) e[k - 1].weight = e[i].weight;
        } else {
            e[k++] = e[i];
        }
    }
    o->sparse = e;
    o->n_sparse = k;
    return TE_OK;
}

/* ColBERT vectors of sequence s from the head's output rows (cv, D a row). */
static te_status colbert_seq(const te_ctx *c, const te_batch *b, size_t s, const float *cv, te_multi *o,
                             te_error *err) {
    size_t D = (size_t)c->m->info.colbert_dim, n = b->len[s] > 0 ? b->len[s] - 1 : 0;
    float *v = malloc((n ? n : 1) * D * sizeof *v);
    if (!v) return te_fail(err, TE_ERR_NOMEM, "out of memory");
    for (size_t t = 0; t < n; t++) {
        const float *r = cv + (b->start[s] + 1 + t) * D;
        double ss = 0;
        for (size_t d = 0; d < D; d++) ss += (double)r[d] * r[d];
        double norm = sqrt(ss); /* torch's F.normalize: x / max(||x||, 1e-12) */
        float inv = (float)(1.0 / (norm > 1e-12 ? norm : 1e-12));
        for (size_t d = 0; d < D; d++) v[t * D + d] = r[d] * inv;
    }
    o->colbert = v;
    o->n_colbert = n;
    return TE_OK;
}

static te_status place_multi(te_ctx *c, const te_batch *b, size_t first, void *user, te_error *err) {
    const multi_call *mc = user;
    const te_model *m = c->m;
    if (mc->outputs & TE_OUTPUT_COLBERT) {
        te_gemm g = {.a = c->x, .lda = (size_t)m->info.hidden_size, .w = m->colbert.w, .bias = m->colbert.bias,
                     .c = c->qkv, .ldc = (size_t)m->colbert.n_out, .m = b->n_tokens, .n = (size_t)m->colbert.n_out,
                     .k = (size_t)m->colbert.n_in};
        te_gemm_run(&c->ex, &g);
    }
    te_status st = TE_OK;
    for (size_t s = 0; s < b->n_seq && st == TE_OK; s++) {
        te_multi *o = &mc->out[first + s];
        o->n_tokens = b->len[s];
        if (mc->outputs & TE_OUTPUT_DENSE) {
            if (!(o->dense = malloc((size_t)m->info.hidden_size * sizeof *o->dense)))
                return te_fail(err, TE_ERR_NOMEM, "out of memory");
            te_pool_seq(c, b, s, o->dense);
        }
        if (mc->outputs & TE_OUTPUT_TOKENS) {
            size_t bytes = b->len[s] * (size_t)m->info.hidden_size * sizeof *o->tokens;
            if (!(o->tokens = malloc(bytes ? bytes : 1))) return te_fail(err, TE_ERR_NOMEM, "out of memory");
            memcpy(o->tokens, c->x + b->start[s] * (size_t)m->info.hidden_size, bytes);
        }
        if (mc->outputs & TE_OUTPUT_SPARSE) st = sparse_seq(c, b, s, o, err);
        if (st == TE_OK && (mc->outputs & TE_OUTPUT_COLBERT)) st = colbert_seq(c, b, s, c->qkv, o, err);
    }
    return st;
}

static te_status check_outputs(const te_ctx *c, unsigned outputs, te_error *err) {
    const te_model_info *in = &c->m->info;
    static const struct { unsigned bit; const char *name; } names[] = {
        {TE_OUTPUT_DENSE, "dense"}, {TE_OUTPUT_SPARSE, "sparse"}, {TE_OUTPUT_COLBERT, "colbert"}, {TE_OUTPUT_TOKENS, "tokens"}};
    if (in->kind != TE_KIND_EMBEDDING)
        return te_fail(err, TE_ERR_ARG, "model '%s' is a %s, not an embedding model", in->name, te_kind_name(in->kind));
    if (outputs == 0 || (outputs & ~(TE_OUTPUT_DENSE | TE_OUTPUT_SPARSE | TE_OUTPUT_COLBERT | TE_OUTPUT_TOKENS)))
        return te_fail(err, TE_ERR_ARG, "outputs 0x%x: ask for TE_OUTPUT_DENSE, _SPARSE, _COLBERT and/or _TOKENS", outputs);
    for (size_t i = 0; i < sizeof names / sizeof *names; i++)
        if ((outputs & names[i].bit) && !(in->outputs & names[i].bit))
            return te_fail(err, TE_ERR_ARG, "model '%s' has no %s output (bge-m3's come from sparse_linear.pt and "
                           "colbert_linear.pt beside the checkpoint at conversion)", in->name, names[i].name);
    return TE_OK;
}

te_status te_embed_multi(te_ctx *c, const char *const *texts, const size_t *lens, size_t n, unsigned outputs,
                         te_multi *out, uint8_t *truncated, te_error *err) {
    te_error_clear(err);
    if (!c || (n && (!texts || !out))) return te_fail(err, TE_ERR_ARG, "te_embed_multi: NULL argument");
    if (n) memset(out, 0, n * sizeof *out); /* empty whatever happens, so te_multi_free is always safe */
    te_status st = check_outputs(c, outputs, err);
    if (st != TE_OK) return st;
    te_source src = {.texts = texts, .lens = lens, .truncated = truncated};
    multi_call mc = {outputs, out};
    st = te_run_batches(c, &src, n, place_multi, &mc, err);
    if (st != TE_OK) te_multi_free(out, n);
    return st;
}

void te_multi_free(te_multi *out, size_t n) {
    if (!out) return;
    for (size_t i = 0; i < n; i++) {
        free(out[i].dense);
        free(out[i].sparse);
        free(out[i].colbert);
        free(out[i].tokens);
        memset(&out[i], 0, sizeof out[i]);
    }
}

double te_sparse_score(const te_sparse_entry *a, size_t na, const te_sparse_entry *b, size_t nb) {
    double s = 0;
    for (size_t i = 0, j = 0; i < na && j < nb;) {
        if (a[i].id < b[j].id) i++;
        else if (a[i].id > b[j].id) j++;
        else s += (double)a[i++].weight * b[j++].weight;
    }
    return s;
}

double te_colbert_score(const float *q, size_t nq, const float *d, size_t nd, int dim) {
    if (nq == 0 || nd == 0 || dim <= 0) return 0;
    double sum = 0;
    for (size_t i = 0; i < nq; i++) {
        double best = -INFINITY;
        for (size_t j = 0; j < nd; j++) {
            double dot = 0;
            for (int k = 0; k < dim; k++) dot += (double)q[i * (size_t)dim + (size_t)k] * d[j * (size_t)dim + (size_t)k];
            if (dot > best) best = dot;
        }
        sum += best;
    }
    return sum / (double)nq;
}
