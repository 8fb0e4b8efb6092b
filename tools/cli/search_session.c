/*
 * search_session.c - the index, model and searcher behind `search` and
 * `audit` (see search_session.h).
 */
#include "search_session.h"

#include <stdlib.h>
#include <string.h>

const char *const search_mode_names[N_SEARCH_MODES] = {"vector", "bm25", "hybrid", "sparse", "m3"};

int search_session_open(const cli_cmd *cmd, const cli_args *a, int need_model, int verify, search_session *ss) {
    memset(ss, 0, sizeof *ss);
    const char *path = cli_get(cmd, a, "index");
    if (!path) {
        cli_error(cmd, "--index FILE is required (make one with `tinyembed index`)");
        return CLI_USAGE;
    }
    long threads;
    int rc = cli_get_int(cmd, a, "threads", 1, 256, 0, &threads);
    if (rc != CLI_OK) return rc;
    te_error err;
    ss->ix = te_index_open(path, verify || cli_flag(cmd, a, "verify") ? TE_INDEX_VERIFY : 0, &err);
    if (!ss->ix) return cli_lib_error(cmd, &err);
    te_index_get_info(ss->ix, &ss->info);
    if (need_model == 1 || (need_model == SEARCH_MODEL_IF_VECTORS && ss->info.dim)) {
        if ((rc = cli_session_open(cmd, a, &ss->s)) != CLI_OK) goto fail;
        ss->prefix = ss->s.prefix;
        if (te_index_check_model(ss->ix, ss->s.m, &err) != TE_OK) {
            cli_error(cmd, "%s: %s", path, te_errmsg(&err));
            rc = CLI_FAIL;
            goto fail;
        }
        ss->qvec = malloc((size_t)ss->info.dim * sizeof *ss->qvec);
        if (!ss->qvec) {
            cli_error(cmd, "out of memory");
            rc = CLI_FAIL;
            goto fail;
        }
    }
    const char *simd = cli_get(cmd, a, "simd");
    if (!simd) simd = getenv("TE_SIMD");
    ss->sc = te_index_ctx_new(ss->ix, (int)threads, simd, &err);
    if (!ss->sc) {
        rc = cli_lib_error(cmd, &err);
        goto fail;
    }
    return CLI_OK;
fail:
    search_session_close(ss);
    return rc;
}

void search_session_close(search_session *ss) {
    te_index_ctx_free(ss->sc);
    if (ss->s.m) cli_session_close(&ss->s);
    te_index_close(ss->ix);
    free(ss->qvec);
    te_multi_free(&ss->qm, 1);
    memset(ss, 0, sizeof *ss);
}

int search_mode_available(const search_session *ss, search_mode m) {
    if (m == MODE_BM25) return 1;
    if (m == MODE_SPARSE) return ss->info.sparse;
    return ss->info.dim && (m != MODE_M3 || ss->info.sparse);
}

/* --weights W_DENSE,W_SPARSE,W_COLBERT into ss->weights (FlagEmbedding's example by default). */
static int read_weights(const cli_cmd *cmd, const cli_args *a, search_session *ss) {
    const char *w = cli_get(cmd, a, "weights");
    const float def[3] = TE_M3_WEIGHTS;
    memcpy(ss->weights, def, sizeof def);
    if (!w) return CLI_OK;
    char *end = (char *)w;
    for (int i = 0; i < 3; i++) {
        const char *at = i ? end + 1 : end;
        double v = strtod(at, &end);
        if (end == at || (i < 2 && *end != ',') || (i == 2 && *end) || !(v >= 0 && v <= 1e6)) {
            cli_error(cmd, "--weights takes three numbers >= 0, dense,sparse,colbert (got '%s')", w);
            return CLI_USAGE;
        }
        ss->weights[i] = (float)v;
    }
    return CLI_OK;
}

int search_mode_opts(const cli_cmd *cmd, const cli_args *a, search_session *ss, search_mode *mode, float *alpha) {
    const char *m = cli_get(cmd, a, "mode"), *al = cli_get(cmd, a, "alpha");
    *mode = ss->info.dim ? MODE_HYBRID : MODE_BM25;
    for (int i = 0; m && i < N_SEARCH_MODES; i++)
        if (strcmp(m, search_mode_names[i]) == 0) *mode = (search_mode)i;
    if (m && strcmp(m, search_mode_names[*mode]) != 0) {
        cli_error(cmd, "--mode must be vector, bm25, hybrid, sparse or m3 (got '%s')", m);
        return CLI_USAGE;
    }
    if (!search_mode_available(ss, *mode)) {
        cli_error(cmd, "--mode %s: the index has no %s", m, ss->info.dim ? "lexical weights (index with a model that has a "
                  "sparse output, such as bge-m3)" : "vectors");
        return CLI_USAGE;
    }
    *alpha = -1;
    if (al) {
        char *end;
        double v = strtod(al, &end);
        if (end == al || *end || !(v >= 0 && v <= 1)) {
            cli_error(cmd, "--alpha must be a number from 0 to 1 (got '%s')", al);
            return CLI_USAGE;
        }
        *alpha = (float)v;
    }
    return read_weights(cmd, a, ss);
}

int search_embed(const cli_cmd *cmd, search_session *ss, const char *q, size_t len) {
    cli_prefixed pre = {0};
    te_error err;
    int rc = CLI_OK;
    /* With lexical weights in the index, the query's come from the same forward pass (ColBERT's too when stored). */
    unsigned outputs = TE_OUTPUT_DENSE | (ss->info.sparse ? TE_OUTPUT_SPARSE : 0) | (ss->info.colbert_dim ? TE_OUTPUT_COLBERT : 0);
    te_multi_free(&ss->qm, 1);
    if (cli_prefix(&pre, ss->prefix, &q, &len, 1) != 0) rc = (cli_error(cmd, "out of memory"), CLI_FAIL);
    else if (outputs == TE_OUTPUT_DENSE && te_embed(ss->s.ctx, pre.texts, pre.lens, 1, ss->qvec, &err) != TE_OK)
        rc = cli_lib_error(cmd, &err);
    else if (outputs != TE_OUTPUT_DENSE && te_embed_multi(ss->s.ctx, pre.texts, pre.lens, 1, outputs, &ss->qm, NULL, &err) != TE_OK)
        rc = cli_lib_error(cmd, &err);
    else if (outputs != TE_OUTPUT_DENSE)
        memcpy(ss->qvec, ss->qm.dense, (size_t)ss->info.dim * sizeof *ss->qvec);
    cli_prefixed_free(&pre);
    return rc;
}

int search_run(const cli_cmd *cmd, search_session *ss, search_mode mode, const char *q, size_t len, size_t k, float alpha,
               te_index_hit *hits, size_t *n_hits) {
    te_error err;
    size_t dim = (size_t)ss->info.dim;
    te_m3_query m3 = {ss->qvec, dim, ss->qm.sparse, ss->qm.n_sparse, ss->qm.colbert, ss->qm.n_colbert};
    te_status st = mode == MODE_BM25     ? te_index_search_bm25(ss->sc, q, len, k, hits, n_hits, &err)
                   : mode == MODE_VECTOR ? te_index_search_vector(ss->sc, ss->qvec, dim, k, hits, n_hits, &err)
                   : mode == MODE_HYBRID ? te_index_search_hybrid(ss->sc, ss->qvec, dim, q, len, k, alpha, hits, n_hits, &err)
                   : mode == MODE_SPARSE ? te_index_search_sparse(ss->sc, m3.sparse, m3.n_sparse, k, hits, n_hits, &err)
                                         : te_index_search_m3(ss->sc, &m3, ss->weights, k, hits, n_hits, &err);
    return st == TE_OK ? CLI_OK : cli_lib_error(cmd, &err);
}
