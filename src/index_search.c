/*
 * index_search.c - the searches over an opened index: exact vector top-k
 * (every vector scored by the kernel set's dot product, blocks of documents
 * spread over the threads, each thread keeping its own top-k heap, merged at
 * the end), Okapi BM25 (term at a time into a score per document), and the
 * fusion of both; learned-sparse scores the way BM25's are, and bge-m3's
 * three-way rescoring of the dense and sparse candidates. A te_index_ctx owns
 * all per-search memory; after the first searches nothing is allocated.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "half.h"
#include "index.h"
#include "internal.h"
#include "kernels/kernels.h"
#include "threadpool.h"
#include "tokenizer.h"

#define BLOCK 1024          /* documents per task of the vector scan */
#define MAX_QUERY_TERMS 256 /* distinct words of a BM25 query that count */

/* The k best hits seen so far: a heap whose root is the worst of them. */
typedef struct topk {
    te_index_hit *h;
    size_t n, cap;
} topk;

/* The ranking order: higher score first, then the lower document. */
static int better(te_index_hit a, te_index_hit b) { return a.score > b.score || (a.score == b.score && a.doc < b.doc); }

static void topk_insert(topk *t, te_index_hit x);

/* Offers x to the heap: the common case, a hit worse than the k kept, is
 * decided inline without a call. */
static inline void topk_push(topk *t, te_index_hit x) {
    if (t->n == t->cap && (t->cap == 0 || !better(x, t->h[0]))) return;
    topk_insert(t, x);
}

static void topk_insert(topk *t, te_index_hit x) {
    if (x.score != x.score) x.score = -INFINITY; /* a NaN (damaged vector) ranks last, never breaks the heap */
    size_t i;
    if (t->n < t->cap) {
        i = t->n++;
        while (i > 0 && better(t->h[(i - 1) / 2], x)) {
            t->h[i] = t->h[(i - 1) / 2];
            i = (i - 1) / 2;
        }
        t->h[i] = x;
        return;
    }
    if (!better(x, t->h[0])) return;
    i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= t->n) break;
        if (c + 1 < t->n && better(t->h[c], t->h[c + 1])) c++; /* the worse child */
        if (!better(x, t->h[c])) break;
        t->h[i] = t->h[c];
        i = c;
    }
    t->h[i] = x;
}

static int hit_cmp(const void *a, const void *b) {
    te_index_hit x = *(const te_index_hit *)a, y = *(const te_index_hit *)b;
    return better(x, y) ? -1 : better(y, x) ? 1 : 0;
}

struct te_index_ctx {
    const te_index *ix;
    const te_kernels *k;
    te_pool *pool;
    int threads;
    size_t dim;
    float *q;             /* [dim] the normalized query */
    int8_t *qi;           /* [dim] quantized, for int8 vectors */
    float q_scale;
    topk *heaps;          /* [threads] */
    size_t heap_cap;      /* entries allocated per heap */
    float *dots;          /* [threads][BLOCK] */
    int32_t *idots;       /* [threads][BLOCK] */
    float *acc;           /* [n_docs] BM25 scores, all 0 between searches */
    float *norm;          /* [n_docs] BM25's length norm k1 * (1 - b + b * words / average) */
    uint32_t *touched;    /* [n_docs] documents with a score */
    te_index_hit *list_a, *list_b, *fused; /* hybrid: each list, and the union */
    size_t cap_lists;
    float *cb;            /* m3: one document's ColBERT vectors widened to f32 */
    size_t cap_cb;
    char words[MAX_QUERY_TERMS][TE_TERM_MAX_CHARS * 4];
    size_t word_len[MAX_QUERY_TERMS];
    size_t n_words;
};

te_index_ctx *te_index_ctx_new(const te_index *ix, int n_threads, const char *simd, te_error *err) {
    const te_kernels *k = te_kernels_select(simd);
    if (!k) {
        te_fail(err, TE_ERR_ARG, "kernel set \"%s\" is not available on this CPU", simd);
        return NULL;
    }
    if (n_threads <= 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        n_threads = n > 0 ? (int)(n > 256 ? 256 : n) : 1;
    }
    te_index_ctx *c = calloc(1, sizeof *c);
    if (!c) {
        te_fail(err, TE_ERR_NOMEM, "out of memory");
        return NULL;
    }
    c->ix = ix;
    c->k = k;
    c->threads = n_threads;
    c->dim = (size_t)ix->info.dim;
    size_t dim = c->dim ? c->dim : 1, nd = ix->info.n_docs ? (size_t)ix->info.n_docs : 1;
    c->q = malloc(dim * sizeof *c->q);
    c->qi = malloc(dim);
    c->heaps = calloc((size_t)n_threads, sizeof *c->heaps);
    c->dots = malloc((size_t)n_threads * BLOCK * sizeof *c->dots);
    c->idots = malloc((size_t)n_threads * BLOCK * sizeof *c->idots);
    c->acc = calloc(nd, sizeof *c->acc);
    c->touched = malloc(nd * sizeof *c->touched);
    c->norm = malloc(nd * sizeof *c->norm);
    if (!c->q || !c->qi || !c->heaps || !c->dots || !c->idots || !c->acc || !c->touched || !c->norm) {
        te_index_ctx_free(c);
        te_fail(err, TE_ERR_NOMEM, "out of memory");
        return NULL;
    }
    const double avgdl = ix->info.avg_doc_words > 0 ? ix->info.avg_doc_words : 1;
    for (uint64_t d = 0; d < ix->info.n_docs; d++)
        c->norm[d] = (float)(TE_BM25_K1 * (1.0 - TE_BM25_B + TE_BM25_B * te_le32(ix->doc_words + 4 * d) / avgdl));
    c->pool = te_pool_new(n_threads, err);
    if (!c->pool) {
        te_index_ctx_free(c);
        return NULL;
    }
    return c;
}

void te_index_ctx_free(te_index_ctx *c) {
    if (!c) return;
    te_pool_free(c->pool);
    for (int t = 0; c->heaps && t < c->threads; t++) free(c->heaps[t].h);
    free(c->heaps);
    free(c->q);
    free(c->qi);
    free(c->dots);
    free(c->idots);
    free(c->acc);
    free(c->touched);
    free(c->norm);
    free(c->list_a);
    free(c->list_b);
    free(c->fused);
    free(c->cb);
    free(c);
}

const char *te_index_ctx_simd(const te_index_ctx *c) { return c->k->name; }

int te_index_ctx_threads(const te_index_ctx *c) { return c->threads; }

/* Empty heaps of capacity k for every thread. */
static te_status heaps_reset(te_index_ctx *c, size_t k, te_error *err) {
    for (int t = 0; t < c->threads; t++) {
        if (k > c->heap_cap) {
            te_index_hit *h = realloc(c->heaps[t].h, k * sizeof *h);
            if (!h) return te_fail(err, TE_ERR_NOMEM, "out of memory for %zu results", k);
            c->heaps[t].h = h;
        }
        c->heaps[t].n = 0;
        c->heaps[t].cap = k;
    }
    if (k > c->heap_cap) c->heap_cap = k;
    return TE_OK;
}

/* Merges the threads' heaps into hits[0..*n), best first. */
static void heaps_merge(te_index_ctx *c, size_t k, te_index_hit *hits, size_t *n_hits) {
    topk *all = &c->heaps[0];
    for (int t = 1; t < c->threads; t++)
        for (size_t i = 0; i < c->heaps[t].n; i++) topk_push(all, c->heaps[t].h[i]);
    qsort(all->h, all->n, sizeof *all->h, hit_cmp);
    *n_hits = all->n < k ? all->n : k;
    memcpy(hits, all->h, *n_hits * sizeof *hits);
}

static void scan_block(void *arg, size_t task, int thread) {
    te_index_ctx *c = arg;
    const te_index *ix = c->ix;
    size_t first = task * BLOCK, n = (size_t)ix->info.n_docs - first;
    if (n > BLOCK) n = BLOCK;
    topk *heap = &c->heaps[thread];
    if (ix->info.dtype == TE_DTYPE_F32) {
        float *d = c->dots + (size_t)thread * BLOCK;
        c->k->dot_f32(c->q, (const float *)ix->vectors + first * c->dim, c->dim, n, d);
        for (size_t i = 0; i < n; i++) topk_push(heap, (te_index_hit){first + i, d[i]});
    } else {
        int32_t *d = c->idots + (size_t)thread * BLOCK;
        c->k->dot_i8(c->qi, (const int8_t *)ix->vectors + first * c->dim, c->dim, n, d);
        for (size_t i = 0; i < n; i++) {
            float s;
            memcpy(&s, ix->scales + 4 * (first + i), 4);
            topk_push(heap, (te_index_hit){first + i, (float)d[i] * c->q_scale * s});
        }
    }
}

te_status te_index_search_vector(te_index_ctx *c, const float *query, size_t dim, size_t k, te_index_hit *hits,
                                 size_t *n_hits, te_error *err) {
    *n_hits = 0;
    if (!c->dim) return te_fail(err, TE_ERR_ARG, "the index has no vectors (it was built with --no-vectors)");
    if (dim != c->dim) return te_fail(err, TE_ERR_ARG, "the query has %zu values, the index's vectors %zu", dim, c->dim);
    double ss = 0;
    for (size_t i = 0; i < dim; i++) ss += (double)query[i] * query[i];
    if (!isfinite(ss)) return te_fail(err, TE_ERR_ARG, "the query vector has a non-finite value");
    float inv = ss > 0 ? (float)(1.0 / sqrt(ss)) : 0.0f;
    for (size_t i = 0; i < dim; i++) c->q[i] = query[i] * inv;
    if (c->ix->info.dtype == TE_DTYPE_I8) c->q_scale = te_index_quantize(query, dim, c->qi);
    size_t n = (size_t)c->ix->info.n_docs;
    te_status st = heaps_reset(c, k < n ? k : n, err);
    if (st != TE_OK) return st;
    te_pool_run(c->pool, (n + BLOCK - 1) / BLOCK, scan_block, c);
    heaps_merge(c, k, hits, n_hits);
    return TE_OK;
}

/* Collects the distinct words of a query (the first MAX_QUERY_TERMS). */
static void add_query_word(void *user, const char *w, size_t n) {
    te_index_ctx *c = user;
    for (size_t i = 0; i < c->n_words; i++)
        if (c->word_len[i] == n && memcmp(c->words[i], w, n) == 0) return;
    if (c->n_words == MAX_QUERY_TERMS) return;
    memcpy(c->words[c->n_words], w, n);
    c->word_len[c->n_words++] = n;
}

/* The best k of the n_touched documents scored in c->acc, best first. */
static te_status top_touched(te_index_ctx *c, size_t n_touched, size_t k, te_index_hit *hits, size_t *n_hits,
                             te_error *err) {
    te_status st = heaps_reset(c, k < c->ix->info.n_docs ? k : (size_t)c->ix->info.n_docs, err);
    if (st != TE_OK) return st;
    for (size_t i = 0; i < n_touched; i++) topk_push(&c->heaps[0], (te_index_hit){c->touched[i], c->acc[c->touched[i]]});
    qsort(c->heaps[0].h, c->heaps[0].n, sizeof *c->heaps[0].h, hit_cmp);
    *n_hits = c->heaps[0].n;
    memcpy(hits, c->heaps[0].h, *n_hits * sizeof *hits);
    return TE_OK;
}

/* top_touched when st is TE_OK; then c->acc is all 0 again. */
static te_status collect(te_index_ctx *c, te_status st, size_t n_touched, size_t k, te_index_hit *hits, size_t *n_hits,
                         te_error *err) {
    if (st == TE_OK) st = top_touched(c, n_touched, k, hits, n_hits, err);
    for (size_t i = 0; i < n_touched; i++) c->acc[c->touched[i]] = 0.0f;
    return st;
}

te_status te_index_search_bm25(te_index_ctx *c, const char *text, size_t len, size_t k, te_index_hit *hits,
                               size_t *n_hits, te_error *err) {
    const te_index *ix = c->ix;
    const double N = (double)ix->info.n_docs;
    *n_hits = 0;
    c->n_words = 0;
    te_tok_terms(text, len, add_query_word, c);
    size_t n_touched = 0;
    te_status st = TE_OK;
    /* Locals, so the stores into acc and touched need not reload them. */
    float *acc = c->acc;
    const float *norm = c->norm;
    uint32_t *touched = c->touched;
    for (size_t w = 0; w < c->n_words && st == TE_OK; w++) {
        int64_t t = te_index_find_term(ix, c->words[w], c->word_len[w]);
        if (t < 0) continue;
        uint64_t p0 = te_le64(ix->post_offs + 8 * (uint64_t)t), p1 = te_le64(ix->post_offs + 8 * ((uint64_t)t + 1));
        double df = (double)(p1 - p0);
        /* Positive for any df <= N; the floor keeps a damaged count from making a score 0 or less
         * (a score of 0 means "not yet touched"). */
        float idf = fmaxf((float)log(1.0 + (N - df + 0.5) / (df + 0.5)), 1e-6f);
        float weight = idf * (float)(TE_BM25_K1 + 1.0);
        for (uint64_t j = p0; j < p1; j++) {
            uint32_t doc = te_le32(ix->postings + 8 * j), tf = te_le32(ix->postings + 8 * j + 4);
            if (doc >= ix->info.n_docs || tf == 0) {
                st = te_fail(err, TE_ERR_FORMAT, "the postings section is damaged (entry %llu)", (unsigned long long)j);
                break;
            }
            float a = acc[doc];
            if (a == 0.0f) touched[n_touched++] = doc;
            acc[doc] = a + weight * (float)tf / ((float)tf + norm[doc]);
        }
    }
    return collect(c, st, n_touched, k, hits, n_hits, err);
}

static int doc_cmp(const void *a, const void *b) {
    uint64_t x = ((const te_index_hit *)a)->doc, y = ((const te_index_hit *)b)->doc;
    return (x > y) - (x < y);
}

/* Adds list[0..n)'s contribution to the union `out` (appended; summed later). */
static size_t fuse_list(const te_index_hit *list, size_t n, float alpha, float weight, te_index_hit *out) {
    /* Min-max over the finite scores, in double so that no difference overflows; a
     * damaged index's -Inf (from NaN) or +Inf scores take the ends of the range. */
    double lo = INFINITY, hi = -INFINITY;
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(list[i].score)) continue;
        lo = list[i].score < lo ? list[i].score : lo;
        hi = list[i].score > hi ? list[i].score : hi;
    }
    for (size_t i = 0; i < n; i++) {
        double x = list[i].score, scaled = !isfinite(x) ? (x > 0) : hi > lo ? (x - lo) / (hi - lo) : 1.0;
        float s = alpha < 0 ? 1.0f / (float)(TE_RRF_K + i + 1) : weight * (float)scaled;
        out[i] = (te_index_hit){list[i].doc, s};
    }
    return n;
}

/* Room for two candidate lists of `depth` hits and their union. */
static te_status reserve_lists(te_index_ctx *c, size_t depth, te_error *err) {
    if (depth <= c->cap_lists) return TE_OK;
    te_index_hit *a = realloc(c->list_a, depth * sizeof *a), *b = a ? realloc(c->list_b, depth * sizeof *b) : NULL;
    te_index_hit *f = b ? realloc(c->fused, 2 * depth * sizeof *f) : NULL;
    if (a) c->list_a = a;
    if (b) c->list_b = b;
    if (f) c->fused = f;
    if (!f) return te_fail(err, TE_ERR_NOMEM, "out of memory for %zu results", depth);
    c->cap_lists = depth;
    return TE_OK;
}

/* Sorts h[0..n) by document and sums the scores of repeated documents; the count left. */
static size_t merge_by_doc(te_index_hit *h, size_t n) {
    qsort(h, n, sizeof *h, doc_cmp);
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        if (m && h[m - 1].doc == h[i].doc) h[m - 1].score += h[i].score;
        else h[m++] = h[i];
    }
    return m;
}

te_status te_index_search_hybrid(te_index_ctx *c, const float *query, size_t dim, const char *text, size_t len,
                                 size_t k, float alpha, te_index_hit *hits, size_t *n_hits, te_error *err) {
    *n_hits = 0;
    if (alpha > 1 || alpha != alpha) return te_fail(err, TE_ERR_ARG, "alpha must be in [0, 1], or negative for rank fusion");
    size_t depth = k > TE_HYBRID_DEPTH ? k : TE_HYBRID_DEPTH, na, nb;
    if (reserve_lists(c, depth, err) != TE_OK) return TE_ERR_NOMEM;
    te_status st = te_index_search_vector(c, query, dim, depth, c->list_a, &na, err);
    if (st == TE_OK) st = te_index_search_bm25(c, text, len, depth, c->list_b, &nb, err);
    if (st != TE_OK) return st;
    size_t n = fuse_list(c->list_a, na, alpha, alpha, c->fused);
    n += fuse_list(c->list_b, nb, alpha, 1 - alpha, c->fused + n);
    size_t m = merge_by_doc(c->fused, n);
    qsort(c->fused, m, sizeof *c->fused, hit_cmp);
    *n_hits = m < k ? m : k;
    memcpy(hits, c->fused, *n_hits * sizeof *hits);
    return TE_OK;
}

/* ---- learned sparse and bge-m3 ------------------------------------------- */

/* Position of token id `id` among the index's sparse ids, or -1. */
static int64_t find_sparse_id(const te_index *ix, int32_t id) {
    uint64_t lo = 0, hi = ix->info.n_sparse_ids;
    while (lo < hi) {
        uint64_t mid = lo + (hi - lo) / 2;
        int64_t v = (int64_t)te_le32(ix->sparse_ids + 4 * mid);
        if (v == id) return (int64_t)mid;
        if (v < id) lo = mid + 1;
        else hi = mid;
    }
    return -1;
}

/* Adds the query's lexical score to c->acc of every document sharing an id
 * with it (query weights <= 0 count for nothing, so a touched document's
 * score stays > 0); *n_touched gets how many. */
static te_status sparse_scores(te_index_ctx *c, const te_sparse_entry *q, size_t n_q, size_t *n_touched, te_error *err) {
    const te_index *ix = c->ix;
    *n_touched = 0;
    if (!ix->info.sparse)
        return te_fail(err, TE_ERR_ARG, "the index has no lexical weights (build it with a model that has a sparse "
                       "output, such as bge-m3)");
    if (n_q && !q) return te_fail(err, TE_ERR_ARG, "the sparse query is NULL");
    for (size_t i = 0; i < n_q; i++) {
        int64_t t = q[i].weight > 0 && isfinite(q[i].weight) ? find_sparse_id(ix, q[i].id) : -1;
        if (t < 0) continue;
        uint64_t p0 = te_le64(ix->sparse_offs + 8 * (uint64_t)t), p1 = te_le64(ix->sparse_offs + 8 * ((uint64_t)t + 1));
        for (uint64_t j = p0; j < p1; j++) {
            uint32_t doc = te_le32(ix->sparse_post + 8 * j), bits = te_le32(ix->sparse_post + 8 * j + 4);
            float w;
            memcpy(&w, &bits, 4);
            if (doc >= ix->info.n_docs || !(w > 0) || !isfinite(w))
                return te_fail(err, TE_ERR_FORMAT, "the sparse postings are damaged (entry %llu)", (unsigned long long)j);
            float a = c->acc[doc];
            if (a == 0.0f) c->touched[(*n_touched)++] = doc;
            c->acc[doc] = a + q[i].weight * w;
        }
    }
    return TE_OK;
}

te_status te_index_search_sparse(te_index_ctx *c, const te_sparse_entry *q, size_t n_q, size_t k, te_index_hit *hits,
                                 size_t *n_hits, te_error *err) {
    size_t n_touched;
    *n_hits = 0;
    te_status st = sparse_scores(c, q, n_q, &n_touched, err);
    return collect(c, st, n_touched, k, hits, n_hits, err);
}

/* The cosine of document `doc` to the query te_index_search_vector last prepared. */
static float doc_cosine(const te_index_ctx *c, uint64_t doc) {
    const te_index *ix = c->ix;
    if (ix->info.dtype == TE_DTYPE_F32) {
        float d;
        c->k->dot_f32(c->q, (const float *)ix->vectors + doc * c->dim, c->dim, 1, &d);
        return d;
    }
    int32_t d;
    float s;
    c->k->dot_i8(c->qi, (const int8_t *)ix->vectors + doc * c->dim, c->dim, 1, &d);
    memcpy(&s, ix->scales + 4 * doc, 4);
    return (float)d * c->q_scale * s;
}

/* The ColBERT score of document `doc`: its vectors widened into c->cb, each
 * query vector's best dot product by the kernel set's dot (te_colbert_score
 * is the reference it is tested against). */
static te_status doc_colbert(te_index_ctx *c, const te_m3_query *q, uint64_t doc, float *out, te_error *err) {
    const te_index *ix = c->ix;
    size_t dim = (size_t)ix->info.colbert_dim;
    uint64_t v0 = te_le64(ix->colbert_offs + 8 * doc), n = te_le64(ix->colbert_offs + 8 * (doc + 1)) - v0;
    size_t need = (size_t)n * (dim + 1); /* the vectors, then one row of dot products */
    *out = 0.0f;
    if (n == 0 || q->n_colbert == 0) return TE_OK; /* a document without vectors matches nothing */
    if (need > c->cap_cb) {
        float *p = realloc(c->cb, need * sizeof *p);
        if (!p) return te_fail(err, TE_ERR_NOMEM, "out of memory for %llu ColBERT vectors", (unsigned long long)n);
        c->cb = p;
        c->cap_cb = need;
    }
    float *dots = c->cb + n * dim;
    for (size_t i = 0; i < n * dim; i++) c->cb[i] = te_f16_to_f32(te_le16(ix->colbert + 2 * (v0 * dim + i)));
    double sum = 0;
    for (size_t i = 0; i < q->n_colbert; i++) {
        c->k->dot_f32(q->colbert + i * dim, c->cb, dim, (size_t)n, dots);
        float best = dots[0];
        for (uint64_t j = 1; j < n; j++) best = dots[j] > best ? dots[j] : best;
        sum += best;
    }
    *out = (float)(sum / (double)q->n_colbert);
    return TE_OK;
}

/* The m3 score of every candidate in c->fused[0..n) (c->acc holds the lexical scores). */
static te_status rescore_m3(te_index_ctx *c, const te_m3_query *q, const float w[3], int colbert, size_t n, te_error *err) {
    double total = (double)w[0] + w[1] + (colbert ? w[2] : 0);
    for (size_t i = 0; i < n; i++) {
        uint64_t doc = c->fused[i].doc;
        float cb = 0;
        te_status st = colbert ? doc_colbert(c, q, doc, &cb, err) : TE_OK;
        if (st != TE_OK) return st;
        float score = (float)((w[0] * (double)doc_cosine(c, doc) + w[1] * (double)c->acc[doc] + w[2] * (double)cb) / total);
        c->fused[i].score = score == score ? score : -INFINITY; /* a NaN (damaged vectors) ranks last, as in topk_insert */
    }
    return TE_OK;
}

te_status te_index_search_m3(te_index_ctx *c, const te_m3_query *q, const float w[3], size_t k, te_index_hit *hits,
                             size_t *n_hits, te_error *err) {
    *n_hits = 0;
    if (!q || !w || !q->dense) return te_fail(err, TE_ERR_ARG, "te_index_search_m3: NULL argument");
    for (int i = 0; i < 3; i++)
        if (!(w[i] >= 0) || !isfinite(w[i])) return te_fail(err, TE_ERR_ARG, "the m3 weights must be finite and >= 0");
    int colbert = w[2] > 0 && q->colbert && q->n_colbert && c->ix->info.colbert_dim;
    if (w[0] + w[1] + (colbert ? w[2] : 0) <= 0) return te_fail(err, TE_ERR_ARG, "the m3 weights in use are all 0");
    size_t depth = k > TE_HYBRID_DEPTH ? k : TE_HYBRID_DEPTH, na, nb = 0, n_touched = 0;
    te_status st = reserve_lists(c, depth, err);
    if (st == TE_OK) st = te_index_search_vector(c, q->dense, q->dim, depth, c->list_a, &na, err);
    if (st == TE_OK) st = sparse_scores(c, q->sparse, q->n_sparse, &n_touched, err);
    if (st == TE_OK) st = top_touched(c, n_touched, depth, c->list_b, &nb, err);
    size_t n = 0;
    if (st == TE_OK) {
        memcpy(c->fused, c->list_a, na * sizeof *c->fused);
        memcpy(c->fused + na, c->list_b, nb * sizeof *c->fused);
        n = merge_by_doc(c->fused, na + nb);
        st = rescore_m3(c, q, w, colbert, n, err);
    }
    for (size_t i = 0; i < n_touched; i++) c->acc[c->touched[i]] = 0.0f;
    if (st != TE_OK) return st;
    qsort(c->fused, n, sizeof *c->fused, hit_cmp);
    *n_hits = n < k ? n : k;
    memcpy(hits, c->fused, *n_hits * sizeof *hits);
    return TE_OK;
}
