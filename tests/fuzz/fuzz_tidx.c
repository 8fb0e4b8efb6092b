/*
 * fuzz_tidx.c - libFuzzer target for the search index reader: any bytes as
 * a .tidx, opened without TE_INDEX_VERIFY as `search` does (the bulk
 * sections unchecked; a fuzz build accepts every CRC, see crc32.h, so the
 * layout checks are what stands between the bytes and the searches), then
 * every document id, vector, BM25, hybrid, sparse and m3 searches, and
 * te_index_verify.
 * Hits must name real documents, best first, at most k of them.
 */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include "fuzz_file.h"
#include "tinyembed.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_hits(const te_index_info *in, const te_index_hit *hits, size_t n, size_t k) {
    assert(n <= k);
    for (size_t i = 0; i < n; i++) {
        assert(hits[i].doc < in->n_docs);
        assert(i == 0 || hits[i].score <= hits[i - 1].score);
    }
}

static void search(const te_index *ix, const te_index_info *in) {
    te_error err;
    te_index_ctx *c = te_index_ctx_new(ix, 1, getenv("TE_FUZZ_SIMD"), &err); /* fuzz-slice: scalar, as fuzz_temb */
    if (!c) return;
    enum { K = 5 };
    te_index_hit hits[K];
    size_t n;
    static const char query[] = "the cat sat on the mat, caf\xc3\xa9";
    if (te_index_search_bm25(c, query, sizeof query - 1, K, hits, &n, &err) == TE_OK) check_hits(in, hits, n, K);
    float q[4096];
    size_t dim = in->dim > 0 && in->dim <= 4096 ? (size_t)in->dim : 8;
    for (size_t i = 0; i < dim; i++) q[i] = (float)(i % 7) - 3.0f;
    if (te_index_search_vector(c, q, dim, K, hits, &n, &err) == TE_OK) check_hits(in, hits, n, K);
    if (te_index_search_hybrid(c, q, dim, query, sizeof query - 1, K, -1.0f, hits, &n, &err) == TE_OK)
        check_hits(in, hits, n, K);
    if (te_index_search_hybrid(c, q, dim, query, sizeof query - 1, K, 0.5f, hits, &n, &err) == TE_OK)
        check_hits(in, hits, n, K);
    static const te_sparse_entry sq[] = {{0, 0.5f}, {3, 1.0f}, {7, 2.0f}, {40, 0.25f}, {99, 1.5f}, {250001, 1.0f}};
    size_t nsq = sizeof sq / sizeof *sq;
    if (te_index_search_sparse(c, sq, nsq, K, hits, &n, &err) == TE_OK) check_hits(in, hits, n, K);
    static float cq[3 * 4096];
    size_t cdim = in->colbert_dim > 0 && in->colbert_dim <= 4096 ? (size_t)in->colbert_dim : 8;
    for (size_t i = 0; i < 3 * cdim; i++) cq[i] = (float)(i % 5) - 2.0f;
    te_m3_query mq = {q, dim, sq, nsq, cq, 3};
    const float w[3] = TE_M3_WEIGHTS;
    if (te_index_search_m3(c, &mq, w, K, hits, &n, &err) == TE_OK) check_hits(in, hits, n, K);
    te_index_ctx_free(c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char path[64];
    int fd = fuzz_file(data, size, path);
    if (fd < 0) return 0;
    te_error err;
    te_index *ix = te_index_open(path, 0, &err);
    if (!ix) {
        assert(err.code != TE_OK && err.msg[0]);
    } else {
        te_index_info in;
        te_index_get_info(ix, &in);
        assert(in.file_bytes <= size);
        for (uint64_t d = 0; d < in.n_docs; d++) {
            size_t len;
            const char *id = te_index_doc_id(ix, d, &len);
            assert(id && len <= size && (const uint8_t *)id != NULL);
        }
        assert(te_index_doc_id(ix, in.n_docs, &(size_t){0}) == NULL);
        search(ix, &in);
        assert(te_index_verify(ix, &err) == TE_OK || err.msg[0]);
        te_index_close(ix);
    }
    close(fd);
    return 0;
}
