/*
 * forward.c - the BERT encoder, top to bottom.
 *
 *   x = LayerNorm(word[id] + position[p] + token_type[0])
 *   for each layer:
 *     q, k, v = x Wq + bq, x Wk + bk, x Wv + bv          (one GEMM: W_qkv)
 *     a = per head: softmax(q k^T / sqrt(d)) v           (each sequence attends to itself only)
 *     x = LayerNorm(x + a Wo + bo)
 *     x = LayerNorm(x + GELU(x W1 + b1) W2 + b2)
 *
 * A batch holds its sequences end to end with no padding, so there is no
 * attention mask to apply: a sequence's attention simply never reads
 * another's rows. Each step is split over the context's threads; a split
 * never changes how any single value is computed, so results are the same
 * for every thread count and every batch composition.
 */
#include <math.h>

#include "context.h"
#include "loader.h"

static size_t min_sz(size_t a, size_t b) { return a < b ? a : b; }

/* ---- embeddings ---------------------------------------------------------- */

typedef struct embed_job {
    te_ctx *c;
    const te_batch *b;
    size_t rows_per_task;
} embed_job;

/* Row `id` of the word table as f32: in place for f32 files, else
 * converted into dst. */
static const float *word_row(const te_ctx *c, int32_t id, float *dst) {
    const te_model *m = c->m;
    size_t H = (size_t)m->info.hidden_size, at = (size_t)id * H;
    if (m->word_dtype == TE_DTYPE_F32) return (const float *)m->word_emb + at;
    if (m->word_dtype == TE_DTYPE_F16) {
        c->k->widen_f16(dst, (const uint16_t *)m->word_emb + at, H);
    } else {
        const int8_t *q = (const int8_t *)m->word_emb + at;
        for (size_t i = 0; i < H; i++) dst[i] = (float)q[i] * m->word_scale[id];
    }
    return dst;
}

static void embed_rows(void *arg, size_t task, int thread) {
    (void)thread;
    const embed_job *j = arg;
    const te_model *m = j->c->m;
    size_t H = (size_t)m->info.hidden_size;
    for (size_t s = 0; s < j->b->n_seq; s++) {
        size_t lo = j->b->start[s], hi = lo + j->b->len[s];
        size_t t0 = task * j->rows_per_task, t1 = t0 + j->rows_per_task;
        for (size_t t = (lo > t0 ? lo : t0); t < hi && t < t1; t++) {
            float *x = j->c->x + t * H;
            j->c->k->add3(x, word_row(j->c, j->b->ids[t], x), m->pos_emb + (t - lo) * H, m->type_emb, H);
            j->c->k->layernorm(x, H, m->emb_norm_w, m->emb_norm_b, m->info.layer_norm_eps);
        }
    }
}

/* ---- LayerNorm over rows ------------------------------------------------- */

typedef struct norm_job {
    te_ctx *c;
    float *x;
    size_t rows, rows_per_task;
    const float *w, *b;
} norm_job;

static void norm_rows(void *arg, size_t task, int thread) {
    (void)thread;
    const norm_job *j = arg;
    size_t H = (size_t)j->c->m->info.hidden_size;
    for (size_t r = task * j->rows_per_task; r < min_sz(j->rows, (task + 1) * j->rows_per_task); r++)
        j->c->k->layernorm(j->x + r * H, H, j->w, j->b, j->c->m->info.layer_norm_eps);
}

static size_t tasks_for(size_t rows, size_t threads, size_t *per) {
    *per = (rows + 4 * threads - 1) / (4 * threads);
    if (*per == 0) *per = 1;
    return (rows + *per - 1) / *per;
}

static void layernorm_rows(te_ctx *c, float *x, size_t rows, const float *w, const float *b) {
    norm_job j = {c, x, rows, 0, w, b};
    te_pool_run(c->pool, tasks_for(rows, (size_t)c->threads, &j.rows_per_task), norm_rows, &j);
}

/* ---- attention ------------------------------------------------------------ */

typedef struct attn_job {
    te_ctx *c;
    const te_batch *b;
} attn_job;

/* One head of one sequence. The keys become the "weights" of a GEMM that
 * gives the scores; the values, of a second GEMM that gives the output,
 * which overwrites this head's queries (no longer needed). */
static void attend(void *arg, size_t task, int thread) {
    const attn_job *j = arg;
    te_ctx *c = j->c;
    const te_model *m = c->m;
    size_t heads = (size_t)m->info.num_heads, H = (size_t)m->info.hidden_size, d = H / heads;
    size_t s = task / heads, h = task % heads;
    size_t S = j->b->len[s], ld = 3 * H, S_pad = (c->max_seq + TE_PANEL - 1) / TE_PANEL * TE_PANEL;
    float *q = c->qkv + j->b->start[s] * ld + h * d, *k = q + H, *v = q + 2 * H;
    float *k_panels = c->att[thread];
    float *v_panels = k_panels + S_pad * d;
    float *scores = v_panels + (d + TE_PANEL - 1) / TE_PANEL * TE_PANEL * S_pad;

    te_pack_panels(k, ld, S, d, k_panels);
    te_gemm qk = {.a = q, .lda = ld, .w = {.data = k_panels}, .c = scores, .ldc = S_pad, .m = S, .n = S, .k = d};
    te_gemm_tile(c->k, &qk, 0, S, 0, (S + TE_PANEL - 1) / TE_PANEL, &c->scratch[thread]);
    float scale = 1.0f / sqrtf((float)d);
    for (size_t i = 0; i < S; i++) c->k->softmax(scores + i * S_pad, S, scale);

    te_pack_panels_t(v, ld, S, d, v_panels);
    te_gemm pv = {.a = scores, .lda = S_pad, .w = {.data = v_panels}, .c = q, .ldc = ld, .m = S, .n = d, .k = S};
    te_gemm_tile(c->k, &pv, 0, S, 0, (d + TE_PANEL - 1) / TE_PANEL, &c->scratch[thread]);
}

static void attention(te_ctx *c, const te_batch *b) {
    attn_job j = {c, b};
    te_pool_run(c->pool, b->n_seq * (size_t)c->m->info.num_heads, attend, &j);
}

/* ---- feed-forward --------------------------------------------------------- */

typedef struct ffn_job {
    te_ctx *c;
    const te_bert_layer *L;
    size_t rows;
} ffn_job;

/* x[rows] = LayerNorm(x + GELU(x W1 + b1) W2 + b2) for one chunk of rows,
 * start to finish on one thread: the intermediate stays in that core's cache. */
static void ffn_chunk(void *arg, size_t task, int thread) {
    const ffn_job *j = arg;
    te_ctx *c = j->c;
    size_t H = (size_t)c->m->info.hidden_size, I = (size_t)c->m->info.intermediate_size;
    size_t r0 = task * c->ffn_rows, n = min_sz(c->ffn_rows, j->rows - r0);
    float *x = c->x + r0 * H, *mid = c->ffn + (size_t)thread * c->ffn_rows * I;
    te_gemm up = {.a = x, .lda = H, .w = j->L->ffn_up.w, .bias = j->L->ffn_up.bias, .c = mid, .ldc = I,
                  .m = n, .n = I, .k = H, .gelu = 1};
    te_gemm down = {.a = mid, .lda = I, .w = j->L->ffn_down.w, .bias = j->L->ffn_down.bias, .c = x, .ldc = H,
                    .m = n, .n = H, .k = I, .accumulate = 1};
    size_t n_panels_up = (I + TE_PANEL - 1) / TE_PANEL, n_panels_down = (H + TE_PANEL - 1) / TE_PANEL;
    te_gemm_tile(c->k, &up, 0, n, 0, n_panels_up, &c->scratch[thread]);
    te_gemm_tile(c->k, &down, 0, n, 0, n_panels_down, &c->scratch[thread]);
    for (size_t r = 0; r < n; r++)
        c->k->layernorm(x + r * H, H, j->L->ffn_norm_w, j->L->ffn_norm_b, c->m->info.layer_norm_eps);
}

static void feed_forward(te_ctx *c, const te_bert_layer *L, size_t rows) {
    size_t H = (size_t)c->m->info.hidden_size, I = (size_t)c->m->info.intermediate_size;
    size_t chunks = (rows + c->ffn_rows - 1) / c->ffn_rows;
    if (chunks >= (size_t)c->threads) {
        ffn_job j = {c, L, rows};
        te_pool_run(c->pool, chunks, ffn_chunk, &j);
        return;
    }
    /* Few rows (one short text): split each GEMM over the weights instead,
     * with the intermediate for all rows in the shared buffer. */
    te_gemm up = {.a = c->x, .lda = H, .w = L->ffn_up.w, .bias = L->ffn_up.bias, .c = c->ffn, .ldc = I,
                  .m = rows, .n = I, .k = H, .gelu = 1};
    te_gemm down = {.a = c->ffn, .lda = I, .w = L->ffn_down.w, .bias = L->ffn_down.bias, .c = c->x, .ldc = H,
                    .m = rows, .n = H, .k = I, .accumulate = 1};
    te_gemm_run(&c->ex, &up);
    te_gemm_run(&c->ex, &down);
    layernorm_rows(c, c->x, rows, L->ffn_norm_w, L->ffn_norm_b);
}

/* ---- the encoder ---------------------------------------------------------- */

void te_forward(te_ctx *c, const te_batch *b) {
    const te_model *m = c->m;
    size_t H = (size_t)m->info.hidden_size, T = b->n_tokens;
    /* Progressive loading: wait for each part just before it is needed. */
    te_loader_wait_unit(m, TE_UNIT_EMBEDDINGS);
    embed_job e = {c, b, 0};
    te_pool_run(c->pool, tasks_for(T, (size_t)c->threads, &e.rows_per_task), embed_rows, &e);
    for (int l = 0; l < m->info.num_layers; l++) {
        const te_bert_layer *L = &m->layers[l];
        te_loader_wait_unit(m, TE_UNIT_LAYER0 + l);
        te_gemm qkv = {.a = c->x, .lda = H, .w = L->qkv.w, .bias = L->qkv.bias, .c = c->qkv, .ldc = 3 * H,
                       .m = T, .n = 3 * H, .k = H};
        te_gemm_run(&c->ex, &qkv);
        attention(c, b);
        te_gemm out = {.a = c->qkv, .lda = 3 * H, .w = L->attn_out.w, .bias = L->attn_out.bias, .c = c->x, .ldc = H,
                       .m = T, .n = H, .k = H, .accumulate = 1};
        te_gemm_run(&c->ex, &out);
        layernorm_rows(c, c->x, T, L->attn_norm_w, L->attn_norm_b);
        feed_forward(c, L, T);
    }
}
