/*
 * forward.c - the encoder, top to bottom, for every architecture tinyembed
 * runs. BERT, DistilBERT, MPNet, NomicBERT and ModernBERT differ only in
 * data read here (te_model_info, te_arch): where positions come from,
 * whether there are token types and biases, the shape of the feed-forward,
 * where the norms sit, and how far a layer's attention sees.
 *
 *   x = LayerNorm(word[id] + position[p] + token_type[t])  (absent tables add nothing)
 *   for each layer:
 *     q, k, v = x W_qkv (+ b_qkv)                         (one GEMM)
 *     rotary models: q and k rotated by the token's position
 *     a = per head: softmax(q k^T / sqrt(d) + bias) v     (bias: MPNet's relative buckets;
 *                                                          local layers: keys within the window)
 *     x = LayerNorm(x + a Wo (+ bo))
 *     x = LayerNorm(x + act(x W1 + b1) W2 + b2)           (gated: ((x Wv) * act(x Wg)) W2)
 *
 * Pre-norm models (ModernBERT) normalize each block's input instead, into a
 * buffer of its own, add the block's output to x as it is, and normalize x
 * once more after the last layer:
 *     x = x + attention(LayerNorm(x)) ;  x = x + FFN(LayerNorm(x))
 *
 * A batch holds its sequences end to end with no padding, so there is no
 * attention mask to apply: a sequence's attention simply never reads
 * another's rows. Each step is split over the context's threads; a split
 * never changes how any single value is computed, so results are the same
 * for every thread count and every batch composition.
 */
#include <math.h>
#include <string.h>

#include "context.h"
#include "loader.h"

static size_t min_sz(size_t a, size_t b) { return a < b ? a : b; }

/* ---- norms ---------------------------------------------------------------- */

/* RMSNorm of n floats in place: w * x / sqrt(mean(x^2) + eps). */
static void rms_norm(float *x, size_t n, const float *w, float eps) {
    double ss = 0;
    for (size_t i = 0; i < n; i++) ss += (double)x[i] * x[i];
    float inv = (float)(1.0 / sqrt(ss / (double)n + (double)eps));
    for (size_t i = 0; i < n; i++) x[i] = x[i] * inv * w[i];
}

/* One hidden state normalized as the model's norms do: LayerNorm, or RMSNorm (decoders). */
static void norm_row(const te_ctx *c, float *x, const float *w, const float *b) {
    const te_model *m = c->m;
    if (m->arch.rms_norm) rms_norm(x, (size_t)m->info.hidden_size, w, m->info.layer_norm_eps);
    else c->k->layernorm(x, (size_t)m->info.hidden_size, w, b, m->info.layer_norm_eps);
}

/* ---- embeddings ---------------------------------------------------------- */

typedef struct embed_job {
    te_ctx *c;
    const te_batch *b;
    size_t rows_per_task;
} embed_job;

/* Row `id` of the word table as f32: in place for f32 files, else
 * converted into dst (bfloat16: its bits are a float's top half). */
static const float *word_row(const te_ctx *c, int32_t id, float *dst) {
    const te_model *m = c->m;
    size_t H = (size_t)m->info.hidden_size, at = (size_t)id * H;
    if (m->word_dtype == TE_DTYPE_F32) return (const float *)m->word_emb + at;
    if (m->word_dtype == TE_DTYPE_F16) {
        c->k->widen_f16(dst, (const uint16_t *)m->word_emb + at, H);
    } else if (m->word_dtype == TE_DTYPE_BF16) {
        c->k->widen_bf16(dst, (const uint16_t *)m->word_emb + at, H);
    } else {
        const int8_t *q = (const int8_t *)m->word_emb + at;
        for (size_t i = 0; i < H; i++) dst[i] = (float)q[i] * m->word_scale[id];
    }
    return dst;
}

static void embed_rows(void *arg, size_t task, int thread) {
    (void)thread;
    const embed_job *j = arg;
    const te_ctx *c = j->c;
    const te_model *m = c->m;
    size_t H = (size_t)m->info.hidden_size;
    size_t t1 = min_sz((task + 1) * j->rows_per_task, j->b->n_tokens);
    for (size_t t = task * j->rows_per_task; t < t1; t++) {
        float *x = c->x + t * H;
        const float *pos = m->pos_emb ? m->pos_emb + (size_t)c->pos[t] * H : c->zero;
        const float *type = m->type_emb ? m->type_emb + (size_t)(j->b->types ? j->b->types[t] : 0) * H : c->zero;
        c->k->add3(x, word_row(c, j->b->ids[t], x), pos, type, H);
        if (m->emb_norm_w) norm_row(c, x, m->emb_norm_w, m->emb_norm_b); /* decoders have none */
    }
}

/* Position ids, per sequence from position_offset. A padding token (MPNet)
 * sits at offset - 1 and does not advance the count, as HF's
 * create_position_ids_from_input_ids. Rotary models index their tables by
 * the plain token index. */
static void set_positions(te_ctx *c, const te_batch *b) {
    const te_arch *a = &c->m->arch;
    int absolute = c->m->info.position != TE_POS_ROTARY;
    for (size_t s = 0; s < b->n_seq; s++) {
        int32_t p = absolute ? a->position_offset : 0;
        for (size_t t = b->start[s]; t < b->start[s] + b->len[s]; t++)
            c->pos[t] = absolute && b->ids[t] == a->position_pad_id ? a->position_offset - 1 : p++;
    }
}

/* ---- LayerNorm over rows ------------------------------------------------- */

typedef struct norm_job {
    te_ctx *c;
    float *x;
    const float *src;         /* the rows to normalize: x itself, or copied into x first */
    size_t rows, rows_per_task;
    const float *w, *b;
} norm_job;

static void norm_rows(void *arg, size_t task, int thread) {
    (void)thread;
    const norm_job *j = arg;
    size_t H = (size_t)j->c->m->info.hidden_size;
    for (size_t r = task * j->rows_per_task; r < min_sz(j->rows, (task + 1) * j->rows_per_task); r++) {
        if (j->src != j->x) memcpy(j->x + r * H, j->src + r * H, H * sizeof *j->x);
        norm_row(j->c, j->x + r * H, j->w, j->b);
    }
}

static size_t tasks_for(size_t rows, size_t threads, size_t *per) {
    *per = (rows + 4 * threads - 1) / (4 * threads);
    if (*per == 0) *per = 1;
    return (rows + *per - 1) / *per;
}

/* x = LayerNorm(src) row by row (src may be x). */
static void layernorm_rows(te_ctx *c, float *x, const float *src, size_t rows, const float *w, const float *b) {
    norm_job j = {c, x, src, rows, 0, w, b};
    te_pool_run(c->pool, tasks_for(rows, (size_t)c->threads, &j.rows_per_task), norm_rows, &j);
}

/* ---- attention ------------------------------------------------------------ */

typedef struct attn_job {
    te_ctx *c;
    const te_batch *b;
    const te_bert_layer *L;   /* its query and key norms (Qwen3), if any */
    size_t window;            /* keys at most this far from the query (a local layer), or 0: all */
    const float *cos, *sin;   /* rotary: the layer's tables */
    size_t rows_per_task;     /* prepare_rows: tokens per task */
} attn_job;

/* Rotates one head's query or key (rotary_dims leading values) by
 * position t: pairs (i, i + r/2), GPT-NeoX style, as NomicBERT does. */
static void rotate(const attn_job *j, float *x, size_t t) {
    size_t half = (size_t)j->c->m->arch.rotary_dims / 2;
    const float *cs = j->cos + t * half, *sn = j->sin + t * half;
    for (size_t i = 0; i < half; i++) {
        float x1 = x[i], x2 = x[i + half];
        x[i] = x1 * cs[i] - x2 * sn[i];
        x[i + half] = x2 * cs[i] + x1 * sn[i];
    }
}

/* Once per token before attention: each query head and each key head
 * normalized (Qwen3's q_norm, k_norm) and rotated by the token's position.
 * Keys are done here, once, not by each query head: with grouped-query
 * attention several query heads read one key head. */
static void prepare_rows(void *arg, size_t task, int thread) {
    (void)thread;
    const attn_job *j = arg;
    const te_ctx *c = j->c;
    const te_arch *a = &c->m->arch;
    size_t heads = (size_t)c->m->info.num_heads, d = (size_t)a->head_dim, ld = te_qkv_width(a, (int)heads);
    int rotary = c->m->info.position == TE_POS_ROTARY;
    float eps = c->m->info.layer_norm_eps;
    for (size_t t = task * j->rows_per_task; t < min_sz(j->b->n_tokens, (task + 1) * j->rows_per_task); t++) {
        float *row = c->qkv + t * ld;
        for (size_t h = 0; h < heads + (size_t)a->kv_heads; h++) { /* the query heads, then the key heads */
            const float *w = h < heads ? j->L->q_norm : j->L->k_norm;
            if (w) rms_norm(row + h * d, d, w, eps);
            if (rotary) rotate(j, row + h * d, (size_t)c->pos[t]);
        }
    }
}

/* One head of one sequence. The keys become the "weights" of a GEMM that
 * gives the scores; the values, of a second GEMM that gives the output,
 * which overwrites this head's queries. Queries go in blocks of
 * TE_ATT_BLOCK rows so the scores take TE_ATT_BLOCK x S floats, not S x S:
 * scratch stays linear in the sequence length. A block's output overwrites
 * only queries already used. A block whose queries see only some keys (a
 * local layer's window, a decoder's past) packs and multiplies just those:
 * a local layer costs O(S x window), not O(S^2). */
static void attend(void *arg, size_t task, int thread) {
    const attn_job *j = arg;
    te_ctx *c = j->c;
    const te_model *m = c->m;
    size_t heads = (size_t)m->info.num_heads, d = (size_t)m->arch.head_dim, kv = (size_t)m->arch.kv_heads;
    size_t s = task / heads, h = task % heads, g = h / (heads / kv); /* g: the key/value head it reads */
    size_t S = j->b->len[s], ld = te_qkv_width(&m->arch, (int)heads), S_pad = te_round_panel(S), w = j->window;
    float *row0 = c->qkv + j->b->start[s] * ld;
    float *q = row0 + h * d, *k = row0 + (heads + g) * d, *v = row0 + (heads + kv + g) * d;
    /* The layout te_att_floats sizes: key panels, value panels, one block's scores. */
    float *k_panels = c->att[thread];
    float *v_panels = k_panels + S_pad * d;
    float *scores = v_panels + te_round_panel(d) * S_pad;
    int causal = m->arch.causal, ranged = w || causal;

    if (!ranged) {
        te_pack_panels(k, ld, S, d, k_panels);
        te_pack_panels_t(v, ld, S, d, v_panels);
    }
    float scale = 1.0f / sqrtf((float)d);
    /* relb[dist + max_seq - 1]: this head's bias for key - query = dist. */
    const float *relb = c->relb ? c->relb + h * (2 * c->max_seq - 1) + c->max_seq - 1 : NULL;
    for (size_t q0 = 0; q0 < S; q0 += TE_ATT_BLOCK) {
        size_t rows = min_sz(TE_ATT_BLOCK, S - q0);
        size_t klo = w && q0 > w ? q0 - w : 0, khi = causal ? q0 + rows : w ? min_sz(S, q0 + rows + w) : S, nk = khi - klo;
        if (ranged) { /* the keys and values this block's queries can see */
            te_pack_panels(k + klo * ld, ld, nk, d, k_panels);
            te_pack_panels_t(v + klo * ld, ld, nk, d, v_panels);
        }
        te_gemm qk = {.a = q + q0 * ld, .lda = ld, .w = {.data = k_panels}, .c = scores, .ldc = S_pad,
                      .m = rows, .n = nk, .k = d};
        te_gemm_tile(c->k, &qk, 0, rows, 0, (nk + TE_PANEL - 1) / TE_PANEL, &c->scratch[thread]);
        for (size_t i = 0; i < rows; i++) {
            float *row = scores + i * S_pad;
            size_t at = q0 + i;
            if (ranged) { /* within the block's keys, this query's own: [lo, hi) from klo */
                size_t lo = (w && at > w ? at - w : klo) - klo, hi = (causal ? at + 1 : min_sz(S, at + w + 1)) - klo;
                memset(row, 0, lo * sizeof *row);
                memset(row + hi, 0, (nk - hi) * sizeof *row);
                c->k->softmax(row + lo, hi - lo, scale);
            } else if (relb) {
                const float *bias = relb - at;
                for (size_t t = 0; t < S; t++) row[t] = row[t] * scale + bias[t];
                c->k->softmax(row, S, 1.0f);
            } else {
                c->k->softmax(row, S, scale);
            }
        }
        te_gemm pv = {.a = scores, .lda = S_pad, .w = {.data = v_panels}, .c = q + q0 * ld, .ldc = ld,
                      .m = rows, .n = d, .k = nk};
        te_gemm_tile(c->k, &pv, 0, rows, 0, (d + TE_PANEL - 1) / TE_PANEL, &c->scratch[thread]);
    }
}

/* Layer l's attention: global (every key), or local (keys within the window, the local rotary base). */
static void attention(te_ctx *c, const te_batch *b, const te_bert_layer *L, int l) {
    const te_arch *a = &c->m->arch;
    int local = l % a->global_every != 0;
    attn_job j = {c, b, L, local ? (size_t)a->local_window : 0, local ? c->rope_cos_local : c->rope_cos,
                  local ? c->rope_sin_local : c->rope_sin, 0};
    if (c->m->info.position == TE_POS_ROTARY || L->q_norm)
        te_pool_run(c->pool, tasks_for(b->n_tokens, (size_t)c->threads, &j.rows_per_task), prepare_rows, &j);
    te_pool_run(c->pool, b->n_seq * (size_t)c->m->info.num_heads, attend, &j);
}

/* ---- feed-forward --------------------------------------------------------- */

typedef struct ffn_job {
    te_ctx *c;
    const te_bert_layer *L;
    size_t rows;
    const float *in;          /* the FFN's input: x, or its normalized copy (pre-norm) */
} ffn_job;

static void activate(te_activation act, const te_kernels *k, float *x, size_t n) {
    switch (act) {
    case TE_ACT_GELU: k->gelu(x, n); return;
    case TE_ACT_GELU_TANH:
        for (size_t i = 0; i < n; i++)
            x[i] = 0.5f * x[i] * (1.0f + tanhf(0.7978845608f * (x[i] + 0.044715f * x[i] * x[i] * x[i])));
        return;
    case TE_ACT_RELU:
        for (size_t i = 0; i < n; i++) x[i] = x[i] > 0 ? x[i] : 0;
        return;
    case TE_ACT_SILU:
        for (size_t i = 0; i < n; i++) x[i] = x[i] / (1.0f + expf(-x[i]));
        return;
    }
}

/* The up projection's GEMM: plain GELU is fused into it; other activations
 * and the gated product run over its output rows here. */
static te_gemm ffn_up_gemm(const te_ctx *c, const te_bert_layer *L, const float *x, float *mid, size_t n) {
    size_t H = (size_t)c->m->info.hidden_size;
    return (te_gemm){.a = x, .lda = H, .w = L->ffn_up.w, .bias = L->ffn_up.bias, .c = mid, .ldc = c->ffn_width,
                     .m = n, .n = c->ffn_width, .k = H,
                     .gelu = !c->m->info.gated_ffn && c->m->info.activation == TE_ACT_GELU};
}

static void ffn_activate(const te_ctx *c, float *mid, size_t rows) {
    const te_model_info *in = &c->m->info;
    size_t I = (size_t)in->intermediate_size;
    if (!in->gated_ffn && in->activation == TE_ACT_GELU) return; /* fused */
    for (size_t r = 0; r < rows; r++) {
        float *row = mid + r * c->ffn_width;
        if (!in->gated_ffn) {
            activate(in->activation, c->k, row, I);
            continue;
        }
        activate(in->activation, c->k, row + I, I); /* the gate half */
        for (size_t i = 0; i < I; i++) row[i] *= row[I + i];
    }
}

/* x[rows] = LayerNorm(x + FFN(x)) for one chunk of rows (pre-norm: x += FFN(xn)), start to finish on
 * one thread: the intermediate stays in that core's cache. */
static void ffn_chunk(void *arg, size_t task, int thread) {
    const ffn_job *j = arg;
    te_ctx *c = j->c;
    size_t H = (size_t)c->m->info.hidden_size, I = (size_t)c->m->info.intermediate_size;
    size_t r0 = task * c->ffn_rows, n = min_sz(c->ffn_rows, j->rows - r0);
    float *x = c->x + r0 * H, *mid = c->ffn + (size_t)thread * c->ffn_rows * c->ffn_width;
    te_gemm up = ffn_up_gemm(c, j->L, j->in + r0 * H, mid, n);
    te_gemm down = {.a = mid, .lda = c->ffn_width, .w = j->L->ffn_down.w, .bias = j->L->ffn_down.bias, .c = x,
                    .ldc = H, .m = n, .n = H, .k = I, .accumulate = 1};
    te_gemm_tile(c->k, &up, 0, n, 0, (c->ffn_width + TE_PANEL - 1) / TE_PANEL, &c->scratch[thread]);
    ffn_activate(c, mid, n);
    te_gemm_tile(c->k, &down, 0, n, 0, (H + TE_PANEL - 1) / TE_PANEL, &c->scratch[thread]);
    for (size_t r = 0; r < n && !c->m->arch.norm_first; r++)
        norm_row(c, x + r * H, j->L->ffn_norm_w, j->L->ffn_norm_b);
}

static void feed_forward(te_ctx *c, const te_bert_layer *L, size_t rows) {
    size_t H = (size_t)c->m->info.hidden_size, I = (size_t)c->m->info.intermediate_size;
    size_t chunks = (rows + c->ffn_rows - 1) / c->ffn_rows;
    const float *in = c->x;
    if (c->m->arch.norm_first) {
        layernorm_rows(c, c->xn, c->x, rows, L->ffn_norm_w, L->ffn_norm_b);
        in = c->xn;
    }
    if (chunks >= (size_t)c->threads) {
        ffn_job j = {c, L, rows, in};
        te_pool_run(c->pool, chunks, ffn_chunk, &j);
        return;
    }
    /* Few rows (one short text): split each GEMM over the weights instead,
     * with the intermediate for all rows in the shared buffer. */
    te_gemm up = ffn_up_gemm(c, L, in, c->ffn, rows);
    te_gemm down = {.a = c->ffn, .lda = c->ffn_width, .w = L->ffn_down.w, .bias = L->ffn_down.bias, .c = c->x,
                    .ldc = H, .m = rows, .n = H, .k = I, .accumulate = 1};
    te_gemm_run(&c->ex, &up);
    ffn_activate(c, c->ffn, rows);
    te_gemm_run(&c->ex, &down);
    if (!c->m->arch.norm_first) layernorm_rows(c, c->x, c->x, rows, L->ffn_norm_w, L->ffn_norm_b);
}

/* ---- the encoder ---------------------------------------------------------- */

void te_forward(te_ctx *c, const te_batch *b) {
    const te_model *m = c->m;
    size_t H = (size_t)m->info.hidden_size, T = b->n_tokens;
    te_loader_want_embeddings(m);
    /* Progressive loading: wait for each part just before it is needed. */
    te_loader_wait_unit(m, TE_UNIT_EMBEDDINGS);
    set_positions(c, b);
    embed_job e = {c, b, 0};
    te_pool_run(c->pool, tasks_for(T, (size_t)c->threads, &e.rows_per_task), embed_rows, &e);
    int pre = m->arch.norm_first;
    size_t width = te_qkv_width(&m->arch, m->info.num_heads);
    for (int l = 0; l < m->info.num_layers; l++) {
        const te_bert_layer *L = &m->layers[l];
        te_loader_wait_unit(m, TE_UNIT_LAYER0 + l);
        const float *in = c->x;
        if (pre && L->attn_norm_w) { /* pre-norm (ModernBERT's layer 0 has none) */
            layernorm_rows(c, c->xn, c->x, T, L->attn_norm_w, L->attn_norm_b);
            in = c->xn;
        }
        te_gemm qkv = {.a = in, .lda = H, .w = L->qkv.w, .bias = L->qkv.bias, .c = c->qkv, .ldc = width,
                       .m = T, .n = width, .k = H};
        te_gemm_run(&c->ex, &qkv);
        attention(c, b, L, l);
        te_gemm out = {.a = c->qkv, .lda = width, .w = L->attn_out.w, .bias = L->attn_out.bias, .c = c->x, .ldc = H,
                       .m = T, .n = H, .k = te_att_width(&m->arch, m->info.num_heads), .accumulate = 1};
        te_gemm_run(&c->ex, &out);
        if (!pre) layernorm_rows(c, c->x, c->x, T, L->attn_norm_w, L->attn_norm_b);
        feed_forward(c, L, T);
    }
    if (m->final_norm_w) layernorm_rows(c, c->x, c->x, T, m->final_norm_w, m->final_norm_b);
}
