/*
 * test_index_m3.c - learned-sparse and bge-m3 retrieval in the search index
 * (format 1.1): te_index_search_sparse equals a brute-force ranking by
 * te_sparse_score, te_index_search_m3 equals FlagEmbedding's weighted sum
 * computed here from te_embed_multi's outputs (ColBERT from the f16 vectors
 * the index keeps, through te_colbert_score, the reference the index's SIMD
 * scoring must match), with f32 and int8 dense vectors; refusals; damage in
 * the new sections; a 1.0 file (no sparse, no ColBERT) still opens.
 */
#include <math.h>
#include <unistd.h>

#include "tinyembed.h"
#include "harness.h"
#include "half.h"
#include "index_format.h"
#include "internal.h"

#define N_DOCS 300
#define N_QUERIES 25
#define K 10

static char tmpdir[256];
static te_model *model;
static te_multi docs[N_DOCS];
static char *texts[N_DOCS];
static te_model_info info;

static const char *tmp_path(const char *name) {
    static char buf[2][512];
    static int next;
    char *p = buf[next++ % 2];
    snprintf(p, 512, "%s/%s", tmpdir, name);
    return p;
}

/* The first N_DOCS lines of po_public.txt with all three outputs of bge-m3's test model. */
static int load_docs(void) {
    char path[1024];
    char *text = th_read_file(th_path(path, sizeof path, "TE_REF", "tokenizers/po_public.txt"), NULL);
    model = th_open_model("bgem3");
    if (!text || !model) return 0;
    size_t n = 0;
    for (char *line = strtok(text, "\n"); line && n < N_DOCS; line = strtok(NULL, "\n")) texts[n++] = strdup(line);
    free(text);
    te_model_get_info(model, &info);
    te_ctx *c = te_ctx_new(model, &(te_ctx_opts){.threads = 2}, NULL);
    te_status st = te_embed_multi(c, (const char *const *)texts, NULL, n, TE_OUTPUT_DENSE | TE_OUTPUT_SPARSE | TE_OUTPUT_COLBERT,
                                  docs, NULL, NULL);
    te_ctx_free(c);
    return n == N_DOCS && st == TE_OK;
}

static int build(const char *path, te_dtype dtype, int sparse, int colbert) {
    te_error err;
    te_index_build_opts o = {.dim = info.hidden_size, .dtype = dtype, .fingerprint = info.fingerprint, .model_name = info.name,
                             .sparse = sparse, .colbert_dim = colbert ? info.colbert_dim : 0};
    te_index_builder *b = te_index_builder_new(&o, &err);
    int ok = b != NULL;
    for (size_t i = 0; ok && i < N_DOCS; i++) {
        char id[32];
        snprintf(id, sizeof id, "d%zu", i);
        te_index_doc d = {.id = id, .id_len = strlen(id), .text = texts[i], .text_len = strlen(texts[i]),
                          .vector = docs[i].dense, .sparse = docs[i].sparse, .n_sparse = docs[i].n_sparse,
                          .colbert = docs[i].colbert, .n_colbert = docs[i].n_colbert};
        ok = te_index_builder_add(b, &d, &err) == TE_OK;
    }
    ok = ok && te_index_builder_write(b, path, &err) == TE_OK;
    if (!ok) printf("  %s\n", err.msg);
    te_index_builder_free(b);
    return ok;
}

/* Document d's ColBERT score for query q, from its vectors rounded to f16 as stored. */
static double colbert_ref(const te_multi *q, size_t d) {
    size_t n = docs[d].n_colbert * (size_t)info.colbert_dim;
    float *v = malloc((n ? n : 1) * sizeof *v);
    for (size_t i = 0; i < n; i++) v[i] = te_f16_to_f32(te_f32_to_f16(docs[d].colbert[i]));
    double s = te_colbert_score(q->colbert, q->n_colbert, v, docs[d].n_colbert, info.colbert_dim);
    free(v);
    return s;
}

static double cosine(const float *a, const float *b) {
    double dot = 0, na = 0, nb = 0;
    for (int i = 0; i < info.hidden_size; i++) dot += (double)a[i] * b[i], na += (double)a[i] * a[i], nb += (double)b[i] * b[i];
    return dot / sqrt(na * nb);
}

typedef struct scored {
    size_t doc;
    double s;
} scored;

static int by_score(const void *a, const void *b) {
    const scored *x = a, *y = b;
    return x->s > y->s ? -1 : x->s < y->s ? 1 : (x->doc > y->doc) - (x->doc < y->doc);
}

/* Our hits' scores against the reference ranking: the same scores rank by
 * rank (within tol), and the same documents wherever the reference's scores
 * are apart by more than tol. */
static int same_ranking(const te_index_hit *h, size_t nh, scored *ref, size_t n_ref, double tol) {
    qsort(ref, n_ref, sizeof *ref, by_score);
    size_t want = n_ref < K ? n_ref : K;
    if (nh != want) return printf("  %zu hits, expected %zu\n", nh, want), 0;
    for (size_t r = 0; r < nh; r++) {
        int clear = (r == 0 || ref[r - 1].s - ref[r].s > tol) && (r + 1 >= n_ref || ref[r].s - ref[r + 1].s > tol);
        if (fabs(h[r].score - ref[r].s) > tol || (clear && h[r].doc != ref[r].doc))
            return printf("  rank %zu: doc %llu score %.7f, expected doc %zu score %.7f\n", r, (unsigned long long)h[r].doc,
                          (double)h[r].score, ref[r].doc, ref[r].s), 0;
    }
    return 1;
}

/* Sparse search: every document sharing an id with the query, by te_sparse_score. */
TEST(sparse_equals_brute_force) {
    const char *path = tmp_path("m3.tidx");
    CHECK(build(path, TE_DTYPE_F32, 1, 0));
    te_error err;
    te_index *ix = te_index_open(path, TE_INDEX_VERIFY, &err);
    CHECK_MSG(ix, "%s", err.msg);
    te_index_info in;
    te_index_get_info(ix, &in);
    size_t weights = 0;
    for (size_t d = 0; d < N_DOCS; d++) weights += docs[d].n_sparse;
    CHECK(in.sparse && in.n_sparse_postings == weights && in.colbert_dim == 0);
    te_index_ctx *c = te_index_ctx_new(ix, 2, NULL, &err);
    int good = 1;
    for (size_t q = 0; q < N_QUERIES && good; q++) {
        scored ref[N_DOCS];
        size_t n = 0, nh;
        for (size_t d = 0; d < N_DOCS; d++) {
            double s = te_sparse_score(docs[q * 11].sparse, docs[q * 11].n_sparse, docs[d].sparse, docs[d].n_sparse);
            if (s > 0) ref[n++] = (scored){d, s};
        }
        te_index_hit h[K];
        good = te_index_search_sparse(c, docs[q * 11].sparse, docs[q * 11].n_sparse, K, h, &nh, &err) == TE_OK &&
               same_ranking(h, nh, ref, n, 1e-5);
    }
    te_index_ctx_free(c);
    te_index_close(ix);
    CHECK(good);
}

/* m3: the candidates (best 100 dense and best 100 sparse) re-scored as
 * (0.4 dense + 0.2 sparse + 0.4 ColBERT) / 1.0; with int8 vectors the dense
 * part is the int8 cosine, so only f32 is held to 1e-5 here and int8 to 2e-2. */
TEST(m3_equals_flagembedding_formula) {
    static const te_dtype dts[2] = {TE_DTYPE_F32, TE_DTYPE_I8};
    const float w[3] = TE_M3_WEIGHTS;
    for (int t = 0; t < 2; t++) {
        const char *path = tmp_path("m3c.tidx");
        CHECK(build(path, dts[t], 1, 1));
        te_error err;
        te_index *ix = te_index_open(path, TE_INDEX_VERIFY, &err);
        CHECK_MSG(ix, "%s", err.msg);
        te_index_ctx *c = te_index_ctx_new(ix, 2, NULL, &err);
        int good = 1;
        te_status st;
        for (size_t q = 0; q < N_QUERIES && good; q++) {
            const te_multi *Q = &docs[q * 11];
            scored dense[N_DOCS], sparse[N_DOCS], ref[2 * TE_HYBRID_DEPTH];
            size_t ns = 0, n = 0, nh;
            for (size_t d = 0; d < N_DOCS; d++) {
                dense[d] = (scored){d, cosine(Q->dense, docs[d].dense)};
                double s = te_sparse_score(Q->sparse, Q->n_sparse, docs[d].sparse, docs[d].n_sparse);
                if (s > 0) sparse[ns++] = (scored){d, s};
            }
            qsort(dense, N_DOCS, sizeof *dense, by_score);
            qsort(sparse, ns, sizeof *sparse, by_score);
            char is_cand[N_DOCS] = {0};
            for (size_t i = 0; i < TE_HYBRID_DEPTH; i++) is_cand[dense[i].doc] = 1;
            for (size_t i = 0; i < ns && i < TE_HYBRID_DEPTH; i++) is_cand[sparse[i].doc] = 1;
            for (size_t d = 0; d < N_DOCS; d++)
                if (is_cand[d])
                    ref[n++] = (scored){d, (w[0] * cosine(Q->dense, docs[d].dense) +
                                            w[1] * te_sparse_score(Q->sparse, Q->n_sparse, docs[d].sparse, docs[d].n_sparse) +
                                            w[2] * colbert_ref(Q, d)) / (w[0] + w[1] + w[2])};
            te_m3_query mq = {Q->dense, (size_t)info.hidden_size, Q->sparse, Q->n_sparse, Q->colbert, Q->n_colbert};
            te_index_hit h[K];
            st = te_index_search_m3(c, &mq, w, K, h, &nh, &err);
            if (st != TE_OK) printf("  %s\n", err.msg);
            good = st == TE_OK && same_ranking(h, nh, ref, n, t ? 2e-2 : 1e-5);
        }
        te_index_ctx_free(c);
        te_index_close(ix);
        CHECK_MSG(good, "%s vectors", te_dtype_name(dts[t]));
    }
}

/* What cannot be searched or stored says why. */
TEST(refusals) {
    const char *path = tmp_path("plain.tidx");
    CHECK(build(path, TE_DTYPE_F32, 0, 0));
    te_error err;
    te_index *ix = te_index_open(path, 0, &err);
    te_index_ctx *c = te_index_ctx_new(ix, 1, NULL, &err);
    te_index_hit h[K];
    size_t nh;
    CHECK_EQ_INT(te_index_search_sparse(c, docs[0].sparse, docs[0].n_sparse, K, h, &nh, &err), TE_ERR_ARG);
    CHECK_HAS(err.msg, "no lexical weights");
    te_m3_query q = {docs[0].dense, (size_t)info.hidden_size, docs[0].sparse, docs[0].n_sparse, NULL, 0};
    const float w[3] = TE_M3_WEIGHTS, bad[3] = {-1, 1, 1}, zero[3] = {0, 0, 1};
    CHECK_EQ_INT(te_index_search_m3(c, &q, w, K, h, &nh, &err), TE_ERR_ARG);
    te_index_ctx_free(c);
    te_index_close(ix);
    path = tmp_path("m3.tidx");
    CHECK(build(path, TE_DTYPE_F32, 1, 0));
    ix = te_index_open(path, 0, &err);
    c = te_index_ctx_new(ix, 1, NULL, &err);
    CHECK_EQ_INT(te_index_search_m3(c, &q, bad, K, h, &nh, &err), TE_ERR_ARG);
    CHECK_EQ_INT(te_index_search_m3(c, &q, zero, K, h, &nh, &err), TE_ERR_ARG); /* ColBERT's weight alone, no ColBERT here */
    CHECK_HAS(err.msg, "all 0");
    CHECK_EQ_INT(te_index_search_m3(c, &q, w, K, h, &nh, &err), TE_OK);
    te_index_ctx_free(c);
    te_index_close(ix);
    /* The builder checks a document before taking any of it. */
    te_index_build_opts o = {.dim = info.hidden_size, .dtype = TE_DTYPE_F32, .fingerprint = info.fingerprint, .sparse = 1,
                             .colbert_dim = info.colbert_dim};
    te_index_builder *b = te_index_builder_new(&o, &err);
    te_sparse_entry unsorted[2] = {{9, 1.0f}, {3, 1.0f}}, negative[1] = {{3, -1.0f}};
    float nan_vec[64];
    for (int i = 0; i < 64; i++) nan_vec[i] = i == 5 ? NAN : 0.1f;
    te_index_doc d = {.id = "a", .id_len = 1, .text = "x", .text_len = 1, .vector = docs[0].dense, .sparse = unsorted, .n_sparse = 2};
    CHECK_EQ_INT(te_index_builder_add(b, &d, &err), TE_ERR_ARG);
    d.sparse = negative, d.n_sparse = 1;
    CHECK_EQ_INT(te_index_builder_add(b, &d, &err), TE_ERR_ARG);
    d.sparse = NULL, d.n_sparse = 0, d.colbert = nan_vec, d.n_colbert = 1;
    CHECK_EQ_INT(te_index_builder_add(b, &d, &err), TE_ERR_ARG);
    CHECK_HAS(err.msg, "ColBERT");
    d.colbert = docs[0].colbert, d.n_colbert = docs[0].n_colbert;
    CHECK_EQ_INT(te_index_builder_add(b, &d, &err), TE_OK); /* "a" was never half-added */
    CHECK_EQ_INT(te_index_builder_count(b), 1);
    te_index_builder_free(b);
}

static int flip(const char *src, const char *dst, uint64_t at) {
    size_t len;
    char *p = th_read_file(src, &len);
    if (!p || at >= len) return 0;
    p[at] ^= 0x40;
    int ok = th_write_file(dst, p, len) == 0;
    free(p);
    return ok;
}

/* Damage in the sections 1.1 added is named; a 1.0 file opens and searches as before. */
TEST(damage_and_the_older_format) {
    const char *good = tmp_path("m3c.tidx"), *bad = tmp_path("bad.tidx");
    CHECK(build(good, TE_DTYPE_F32, 1, 1));
    size_t len;
    char *g = th_read_file(good, &len);
    uint64_t off[TIDX_N_SECTIONS];
    for (int i = 0; i < TIDX_N_SECTIONS; i++) off[i] = te_le64((const uint8_t *)g + TIDX_FIXED_HEADER + i * TIDX_SECTION_ENTRY + 8);
    free(g);
    te_error err;
    CHECK(flip(good, bad, off[TIDX_SEC_SPARSE_IDS - 1]));
    CHECK(!te_index_open(bad, 0, &err) && err.code == TE_ERR_CHECKSUM && strstr(err.msg, "sparse token ids"));
    CHECK(flip(good, bad, off[TIDX_SEC_COLBERT - 1] + 1));
    CHECK(!te_index_open(bad, TE_INDEX_VERIFY, &err) && err.code == TE_ERR_CHECKSUM && strstr(err.msg, "ColBERT vectors"));
    CHECK(flip(good, bad, off[TIDX_SEC_SPARSE_POSTINGS - 1] + 3)); /* the first posting's document, out of range */
    te_index *ix = te_index_open(bad, 0, &err);
    CHECK(ix);
    te_index_ctx *c = te_index_ctx_new(ix, 1, NULL, &err);
    te_index_hit h[K];
    size_t nh;
    te_status st = TE_OK;
    for (size_t q = 0; q < N_DOCS && st == TE_OK; q += 7) st = te_index_search_sparse(c, docs[q].sparse, docs[q].n_sparse, K, h, &nh, &err);
    CHECK_MSG(st == TE_ERR_FORMAT && strstr(err.msg, "sparse postings"), "%s", err.msg);
    te_index_ctx_free(c);
    te_index_close(ix);
    ix = te_index_open("tests/data/index/pets-1.0.tidx", TE_INDEX_VERIFY, &err);
    CHECK_MSG(ix, "%s", err.msg);
    te_index_info in;
    te_index_get_info(ix, &in);
    CHECK(in.n_docs == 12 && in.dim == 8 && !in.sparse && in.colbert_dim == 0);
    c = te_index_ctx_new(ix, 1, NULL, &err);
    CHECK_EQ_INT(te_index_search_bm25(c, "purr", 4, 3, h, &nh, &err), TE_OK);
    size_t id_len;
    const char *id = nh ? te_index_doc_id(ix, h[0].doc, &id_len) : NULL;
    CHECK(id && id_len == 3 && memcmp(id, "cat", 3) == 0);
    CHECK_EQ_INT(te_index_search_sparse(c, docs[0].sparse, docs[0].n_sparse, K, h, &nh, &err), TE_ERR_ARG);
    te_index_ctx_free(c);
    te_index_close(ix);
}

int main(void) {
    snprintf(tmpdir, sizeof tmpdir, "/tmp/te_index_m3_test.%ld", (long)getpid());
    char cmd[600];
    snprintf(cmd, sizeof cmd, "mkdir -p %s", tmpdir);
    if (system(cmd) != 0 || !load_docs()) return printf("FAIL cannot make the test data\n"), 1;
    RUN(sparse_equals_brute_force);
    RUN(m3_equals_flagembedding_formula);
    RUN(refusals);
    RUN(damage_and_the_older_format);
    te_multi_free(docs, N_DOCS);
    for (size_t i = 0; i < N_DOCS; i++) free(texts[i]);
    te_close(model);
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
    if (system(cmd) != 0) return 1;
    return th_done();
}
