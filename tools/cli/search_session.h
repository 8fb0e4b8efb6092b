/*
 * search_session.h - what `search` and `audit` share: an opened index, the
 * model that embeds queries (checked to be the index's), a searcher, and
 * one search in a given mode. Uses the commands' --index, --model, --prefix,
 * --threads, --simd, --strategy, --verify, --mode, --alpha and --weights options.
 */
#ifndef TE_SEARCH_SESSION_H
#define TE_SEARCH_SESSION_H

#include "cli.h"

/* sparse and m3 need an index with lexical weights (a bge-m3-style model's). */
typedef enum search_mode { MODE_VECTOR, MODE_BM25, MODE_HYBRID, MODE_SPARSE, MODE_M3, N_SEARCH_MODES } search_mode;

extern const char *const search_mode_names[N_SEARCH_MODES]; /* "vector", "bm25", "hybrid", "sparse", "m3" */

typedef struct search_session {
    te_index *ix;
    te_index_info info;
    te_index_ctx *sc;
    cli_session s;         /* s.m is NULL without a model (BM25 only) */
    float *qvec;           /* [info.dim] the last embedded query */
    te_multi qm;           /* its sparse weights and ColBERT vectors, when the index has them */
    const char *prefix;    /* --prefix for queries, or NULL */
    float weights[3];      /* m3: dense, sparse, ColBERT (--weights) */
} search_session;

/* Opens --index (fully verified with --verify, or when verify is set) and,
 * when need_model (1, or SEARCH_MODEL_IF_VECTORS and the index has them), the model (--model or the bundled one) after checking it
 * made the index's vectors. Returns CLI_OK or the exit code (printed). */
#define SEARCH_MODEL_IF_VECTORS 2
int search_session_open(const cli_cmd *cmd, const cli_args *a, int need_model, int verify, search_session *ss);
void search_session_close(search_session *ss);

/* --mode (default: hybrid when the index has vectors, else bm25), --alpha
 * (default -1: rank fusion) and --weights (into ss->weights). */
int search_mode_opts(const cli_cmd *cmd, const cli_args *a, search_session *ss, search_mode *mode, float *alpha);
/* Whether the index can be searched in mode m. */
int search_mode_available(const search_session *ss, search_mode m);

/* Embeds the query (with --prefix) into ss->qvec, and ss->qm when the index has lexical weights. */
int search_embed(const cli_cmd *cmd, search_session *ss, const char *q, size_t len);
/* One search; vector and hybrid use the query embedded last. */
int search_run(const cli_cmd *cmd, search_session *ss, search_mode mode, const char *q, size_t len, size_t k, float alpha,
               te_index_hit *hits, size_t *n_hits);

#endif
