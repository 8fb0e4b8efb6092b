/*
 * tinyembed_index.h - the search index (.tidx): documents, their vectors
 * and a BM25 word index in one mapped file. Part of the public API
 * (tinyembed.h includes it).
 */
#ifndef TINYEMBED_INDEX_H
#define TINYEMBED_INDEX_H

#include "tinyembed.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------------------
 * Search index (.tidx): exact vector search, BM25 and their fusion
 *
 *     te_index_build_opts o = {.dim = info.hidden_size, .dtype = TE_DTYPE_F32,
 *                              .fingerprint = info.fingerprint, .model_name = info.name};
 *     te_index_builder *b = te_index_builder_new(&o, &err);
 *     for (each document) {
 *         te_embed(ctx, &text, &len, 1, vec, &err);
 *         te_index_doc d = {.id = id, .id_len = strlen(id), .text = text, .text_len = len, .vector = vec};
 *         te_index_builder_add(b, &d, &err);
 *     }
 *     te_index_builder_write(b, "corpus.tidx", &err);   (atomic: all or nothing)
 *     te_index_builder_free(b);
 *
 *     te_index *ix = te_index_open("corpus.tidx", 0, &err);
 *     te_index_check_model(ix, model, &err);      (vectors of another model are refused)
 *     te_index_ctx *c = te_index_ctx_new(ix, 0, NULL, &err);
 *     te_index_hit hits[10]; size_t n, len;
 *     te_index_search_vector(c, query_vec, dim, 10, hits, &n, &err);
 *     te_index_search_bm25(c, "query words", 11, 10, hits, &n, &err);
 *     const char *id = te_index_doc_id(ix, hits[0].doc, &len);   (not NUL-terminated)
 *     printf("%.*s %g\n", (int)len, id, hits[0].score);
 *
 * Learned sparse and ColBERT (bge-m3): a builder made with .sparse and
 * .colbert_dim keeps each document's te_embed_multi outputs too;
 * te_index_search_sparse ranks by the lexical score, te_index_search_m3 by
 * bge-m3's weighted sum of the three scores.
 *
 * The index is read-only once open and may be shared by threads; a
 * te_index_ctx holds one searcher's scratch and threads (one per thread,
 * like te_ctx).
 * ------------------------------------------------------------------------- */

typedef struct te_index te_index;
typedef struct te_index_builder te_index_builder;
typedef struct te_index_ctx te_index_ctx;

typedef struct te_index_build_opts {
    int dim;                /* vector length (1..65536); 0: a BM25-only index, no vectors */
    te_dtype dtype;         /* stored vectors: TE_DTYPE_F32, or TE_DTYPE_I8 (a scale per vector) */
    uint32_t fingerprint;   /* te_model_info.fingerprint of the model the vectors come from */
    const char *model_name; /* shown by tools; may be NULL */
    int sparse;             /* nonzero: keep each document's lexical weights (te_index_doc.sparse) */
    int colbert_dim;        /* > 0: keep each document's ColBERT vectors of this length (te_index_doc.colbert) */
} te_index_build_opts;

typedef struct te_index_doc {
    const char *id;         /* unique, non-empty, at most 1024 bytes */
    size_t id_len;
    const char *text;       /* what BM25 indexes (all of it, whatever the model's limit) */
    size_t text_len;
    const float *vector;    /* [dim] (normalized to unit length when stored); NULL for BM25-only */
    int truncated;          /* the vector saw only the start of the text (counted in the file) */
    const te_sparse_entry *sparse; /* with opts.sparse: [n_sparse] ids ascending, weights > 0 (te_multi.sparse) */
    size_t n_sparse;
    const float *colbert;   /* with opts.colbert_dim: [n_colbert][colbert_dim] (te_multi.colbert; stored as f16) */
    size_t n_colbert;
} te_index_doc;

te_index_builder *te_index_builder_new(const te_index_build_opts *o, te_error *err);
/* Adds one document (copied). A repeated id, a missing or non-finite vector
 * is TE_ERR_ARG and the builder stays usable; after TE_ERR_NOMEM it can only
 * be freed (a half-added document cannot be taken out again). */
te_status te_index_builder_add(te_index_builder *b, const te_index_doc *d, te_error *err);
size_t te_index_builder_count(const te_index_builder *b);
/* Writes the index to `path` atomically (a temporary file renamed into place). */
te_status te_index_builder_write(te_index_builder *b, const char *path, te_error *err);
void te_index_builder_free(te_index_builder *b);

typedef struct te_index_info {
    uint64_t n_docs;
    uint64_t n_terms;        /* distinct BM25 words */
    uint64_t n_postings;     /* (word, document) pairs */
    uint64_t n_truncated;    /* documents whose vector saw only the start of the text */
    double avg_doc_words;    /* BM25's average document length */
    int dim;                 /* 0: no vectors */
    te_dtype dtype;          /* of the vectors */
    uint32_t fingerprint;    /* of the model the vectors come from (0: none) */
    char model_name[64];
    uint64_t file_bytes;
    int sparse;                 /* built with lexical weights (te_index_search_sparse, _m3) */
    uint64_t n_sparse_ids;      /* token ids with lexical weights in some document */
    uint64_t n_sparse_postings; /* (id, document) weights */
    int colbert_dim;            /* 0: no ColBERT vectors */
    uint64_t n_colbert;         /* ColBERT vectors of all documents */
} te_index_info;

/* Opening maps the file and checks its header, its layout and the checksums
 * of everything but the bulk (vectors, postings); a damaged or truncated file
 * is refused with the reason. TE_INDEX_VERIFY checks the bulk too. */
enum { TE_INDEX_VERIFY = 1 };
te_index *te_index_open(const char *path, int flags, te_error *err);
void te_index_close(te_index *ix);
void te_index_get_info(const te_index *ix, te_index_info *out);
/* Every section's CRC-32 (reads the whole file). */
te_status te_index_verify(const te_index *ix, te_error *err);
/* Document `doc`'s id (not NUL-terminated: *len bytes), NULL if out of range. */
const char *te_index_doc_id(const te_index *ix, uint64_t doc, size_t *len);
/* TE_OK if the index's vectors were made by `m` (same fingerprint), else
 * TE_ERR_ARG naming both models; TE_ERR_ARG too for an index without vectors. */
te_status te_index_check_model(const te_index *ix, const te_model *m, te_error *err);

/* A searcher: n_threads <= 0 uses every online CPU; simd NULL picks the
 * best kernel set (else "scalar", "avx2", ... as te_ctx_opts.simd). */
te_index_ctx *te_index_ctx_new(const te_index *ix, int n_threads, const char *simd, te_error *err);
void te_index_ctx_free(te_index_ctx *c);
const char *te_index_ctx_simd(const te_index_ctx *c);
int te_index_ctx_threads(const te_index_ctx *c);

typedef struct te_index_hit {
    uint64_t doc;            /* document number (te_index_doc_id) */
    float score;             /* higher is better; ties rank the lower document first */
} te_index_hit;

/* The k best documents by cosine to `query` ([dim], any length: it is
 * normalized), exact (every vector is scored): *n_hits = min(k, n_docs). */
te_status te_index_search_vector(te_index_ctx *c, const float *query, size_t dim, size_t k, te_index_hit *hits,
                                 size_t *n_hits, te_error *err);
/* Okapi BM25 (k1 = 1.2, b = 0.75; idf = ln(1 + (N - n + 0.5) / (n + 0.5)))
 * over the distinct words of `text`; only documents holding one of them. */
#define TE_BM25_K1 1.2
#define TE_BM25_B 0.75
te_status te_index_search_bm25(te_index_ctx *c, const char *text, size_t len, size_t k, te_index_hit *hits,
                               size_t *n_hits, te_error *err);
/* Both, fused over each one's best max(k, TE_HYBRID_DEPTH): alpha < 0 is
 * reciprocal-rank fusion, sum of 1 / (TE_RRF_K + rank) (rank from 1);
 * alpha in [0, 1] is alpha * vector + (1 - alpha) * BM25 with each list's
 * scores min-max scaled to [0, 1] (a list that lacks a document gives 0). */
#define TE_RRF_K 60
#define TE_HYBRID_DEPTH 100
te_status te_index_search_hybrid(te_index_ctx *c, const float *query, size_t dim, const char *text, size_t len,
                                 size_t k, float alpha, te_index_hit *hits, size_t *n_hits, te_error *err);

/* Learned-sparse retrieval: the documents holding one of the query's token
 * ids, by the sum over shared ids of w_query * w_doc (te_sparse_score), for
 * an index built with lexical weights. */
te_status te_index_search_sparse(te_index_ctx *c, const te_sparse_entry *q, size_t n_q, size_t k, te_index_hit *hits,
                                 size_t *n_hits, te_error *err);

/* A query's three outputs (te_embed_multi); colbert may be NULL. */
typedef struct te_m3_query {
    const float *dense;
    size_t dim;
    const te_sparse_entry *sparse;
    size_t n_sparse;
    const float *colbert;   /* [n_colbert][the index's colbert_dim] */
    size_t n_colbert;
} te_m3_query;

/* bge-m3's retrieval: the best max(k, TE_HYBRID_DEPTH) documents by dense
 * and by sparse score are the candidates, each scored as FlagEmbedding's
 * compute_score does, (w[0] dense cosine + w[1] lexical + w[2] ColBERT) /
 * (w[0] + w[1] + w[2]); without ColBERT vectors (in the index or the query)
 * the ColBERT term and its weight are left out. Needs vectors and sparse
 * weights; weights are >= 0 and not all 0. */
#define TE_M3_WEIGHTS {0.4f, 0.2f, 0.4f} /* FlagEmbedding's README example */
te_status te_index_search_m3(te_index_ctx *c, const te_m3_query *q, const float w[3], size_t k, te_index_hit *hits,
                             size_t *n_hits, te_error *err);

#ifdef __cplusplus
}
#endif

#endif /* TINYEMBED_INDEX_H */
