/*
 * test_index.c - the search index: BM25 against a hand-computed example,
 * exact top-k against a brute-force reference on every kernel set and
 * thread count, rank fusion by hand, self-retrieval with a real model (f32
 * and int8), and files that must be refused: truncated, damaged anywhere,
 * another kind of file, vectors from another model.
 */
#include <unistd.h>

#include "tinyembed.h"
#include "harness.h"
#include "index_format.h"
#include "internal.h"

static char tmpdir[256];

static const char *tmp_path(const char *name) {
    static char buf[4][512];
    static int next;
    char *p = buf[next++ % 4];
    snprintf(p, 512, "%s/%s", tmpdir, name);
    return p;
}

/* Builds an index of texts (ids "d0", "d1", ...) with optional vectors. */
static int build(const char *path, const char *const *texts, size_t n, const float *vecs, int dim, te_dtype dt,
                 uint32_t fingerprint) {
    te_error err;
    te_index_build_opts o = {.dim = dim, .dtype = dt, .fingerprint = fingerprint, .model_name = "test-model"};
    te_index_builder *b = te_index_builder_new(&o, &err);
    if (!b) return 0;
    int ok = 1;
    for (size_t i = 0; ok && i < n; i++) {
        char id[32];
        snprintf(id, sizeof id, "d%zu", i);
        te_index_doc d = {.id = id, .id_len = strlen(id), .text = texts ? texts[i] : "",
                          .text_len = texts ? strlen(texts[i]) : 0, .vector = vecs ? vecs + i * (size_t)dim : NULL};
        ok = te_index_builder_add(b, &d, &err) == TE_OK;
    }
    ok = ok && te_index_builder_write(b, path, &err) == TE_OK;
    if (!ok) printf("  %s\n", err.msg);
    te_index_builder_free(b);
    return ok;
}

static const char *const fruit[] = {"apple banana apple", "banana cherry", "Cherry, cherry CHERRY durian!"};

/* N = 3 documents of 3, 2 and 4 words (avgdl = 3); k1 = 1.2, b = 0.75.
 *   apple:  df 1, idf = ln(1 + 2.5 / 1.5) = 0.980829
 *     d0: tf 2, dl 3: 2 * 2.2 / (2 + 1.2 * (0.25 + 0.75 * 3/3)) = 1.375    -> 1.348640
 *   cherry: df 2, idf = ln(1 + 1.5 / 2.5) = 0.470004
 *     d1: tf 1, dl 2: 1 * 2.2 / (1 + 1.2 * (0.25 + 0.75 * 2/3)) = 1.157895 -> 0.544215
 *     d2: tf 3, dl 4: 3 * 2.2 / (3 + 1.2 * (0.25 + 0.75 * 4/3)) = 1.466667 -> 0.689339 */
TEST(bm25_hand_computed) {
    const char *path = tmp_path("fruit.tidx");
    CHECK(build(path, fruit, 3, NULL, 0, TE_DTYPE_F32, 0));
    te_error err;
    te_index *ix = te_index_open(path, TE_INDEX_VERIFY, &err);
    CHECK_MSG(ix, "%s", err.msg);
    te_index_info in;
    te_index_get_info(ix, &in);
    CHECK(in.n_docs == 3 && in.n_terms == 4 && in.dim == 0 && fabs(in.avg_doc_words - 3.0) < 1e-12);
    te_index_ctx *c = te_index_ctx_new(ix, 1, NULL, &err);
    CHECK(c);
    te_index_hit h[5];
    size_t n;
    /* Case, accents and punctuation do not matter; a repeated query word counts once. */
    static const char *const queries[] = {"apple cherry", "APPLE, Chérry cherry", "ápple? CHERRY"};
    for (int q = 0; q < 3; q++) {
        CHECK(te_index_search_bm25(c, queries[q], strlen(queries[q]), 5, h, &n, &err) == TE_OK);
        CHECK_EQ_INT(n, 3);
        CHECK(h[0].doc == 0 && h[1].doc == 2 && h[2].doc == 1);
        CHECK_MSG(fabs(h[0].score - 1.348640) < 2e-6 && fabs(h[1].score - 0.689339) < 2e-6 && fabs(h[2].score - 0.544215) < 2e-6,
                  "%s: %.6f %.6f %.6f", queries[q], h[0].score, h[1].score, h[2].score);
    }
    CHECK(te_index_search_bm25(c, "durian", 6, 1, h, &n, &err) == TE_OK && n == 1 && h[0].doc == 2);
    CHECK(te_index_search_bm25(c, "kiwi", 4, 5, h, &n, &err) == TE_OK && n == 0);
    CHECK(te_index_search_bm25(c, "", 0, 5, h, &n, &err) == TE_OK && n == 0);
    /* Without vectors, vector search is refused by name. */
    float q[4] = {1, 0, 0, 0};
    CHECK(te_index_search_vector(c, q, 4, 5, h, &n, &err) == TE_ERR_ARG && strstr(err.msg, "no vectors"));
    size_t len;
    CHECK(memcmp(te_index_doc_id(ix, 2, &len), "d2", 2) == 0 && len == 2 && te_index_doc_id(ix, 3, &len) == NULL);
    te_index_ctx_free(c);
    te_index_close(ix);
}

static uint64_t rng = 88172645463325252ull;
static float frand(void) {
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (float)((rng >> 40) & 0xFFFFFF) / 16777216.0f * 2.0f - 1.0f;
}

/* The documented int8 quantization: q = round(v * 127 / max|v|), scale 1 / |q|. */
static void quantize_ref(const float *v, int dim, int8_t *q, float *scale) {
    float amax = 0;
    for (int i = 0; i < dim; i++) amax = fmaxf(amax, fabsf(v[i]));
    float r = 127.0f / amax;
    double ss = 0;
    for (int i = 0; i < dim; i++) {
        q[i] = (int8_t)nearbyintf(v[i] * r);
        ss += q[i] * q[i];
    }
    *scale = (float)(1.0 / sqrt(ss));
}

typedef struct ref_hit {
    double score;
    size_t doc;
} ref_hit;

static int ref_cmp(const void *a, const void *b) {
    const ref_hit *x = a, *y = b;
    if (x->score != y->score) return x->score < y->score ? 1 : -1;
    return (x->doc > y->doc) - (x->doc < y->doc);
}

/* Every kernel set, 1 and 3 threads, f32 and int8, k from 1 to more than
 * the documents: the hits are the brute-force top k. int8 scores are fully
 * determined (integer dots), so hits must be identical; f32 ones may differ
 * in the last bits, so ranks are compared by score. Some documents are
 * exact copies, so ties must go to the lower document. */
TEST(vector_topk_equals_brute_force) {
    enum { N = 2500, DIM = 37, NQ = 6 };
    float *v = malloc(sizeof(float) * N * DIM), q[NQ][DIM];
    for (size_t i = 0; i < (size_t)N * DIM; i++) v[i] = frand();
    for (int i = 0; i < 40; i++) memcpy(v + (size_t)(2000 + i) * DIM, v + (size_t)(17 * i) * DIM, DIM * sizeof(float));
    for (int j = 0; j < NQ; j++)
        for (int i = 0; i < DIM; i++) q[j][i] = j == 0 ? v[17 * 3 * DIM + i] : frand();
    ref_hit *ref = malloc(N * sizeof *ref);
    int8_t *qi = malloc(N * DIM);
    float *scales = malloc(N * sizeof(float));
    for (int i = 0; i < N; i++) quantize_ref(v + (size_t)i * DIM, DIM, qi + (size_t)i * DIM, &scales[i]);
    const char *names[2] = {NULL, "scalar"};
    for (int dt = 0; dt < 2; dt++) {
        te_dtype dtype = dt ? TE_DTYPE_I8 : TE_DTYPE_F32;
        const char *path = tmp_path("vec.tidx");
        CHECK(build(path, NULL, N, v, DIM, dtype, 42));
        te_error err;
        te_index *ix = te_index_open(path, TE_INDEX_VERIFY, &err);
        CHECK_MSG(ix, "%s", err.msg);
        for (int set = 0; set < th_kernel_sets(); set++)
            for (int threads = 1; threads <= 3; threads += 2) {
                te_index_ctx *c = te_index_ctx_new(ix, threads, names[set], &err);
                CHECK(c);
                for (int j = 0; j < NQ; j++) {
                    int8_t qq[DIM];
                    float qs;
                    quantize_ref(q[j], DIM, qq, &qs);
                    double qn = 0;
                    for (int i = 0; i < DIM; i++) qn += (double)q[j][i] * q[j][i];
                    for (size_t d = 0; d < N; d++) {
                        double s = 0, dn = 0;
                        if (dtype == TE_DTYPE_I8) {
                            int32_t dot = 0;
                            for (int i = 0; i < DIM; i++) dot += qq[i] * qi[d * DIM + i];
                            s = (float)dot * qs * scales[d];
                        } else {
                            for (int i = 0; i < DIM; i++) {
                                s += (double)q[j][i] * v[d * DIM + i];
                                dn += (double)v[d * DIM + i] * v[d * DIM + i];
                            }
                            s /= sqrt(qn * dn);
                        }
                        ref[d] = (ref_hit){s, d};
                    }
                    qsort(ref, N, sizeof *ref, ref_cmp);
                    static const size_t ks[] = {1, 10, 100, N + 5};
                    te_index_hit *h = malloc((N + 5) * sizeof *h);
                    for (size_t ki = 0; ki < 4; ki++) {
                        size_t n;
                        CHECK(te_index_search_vector(c, q[j], DIM, ks[ki], h, &n, &err) == TE_OK);
                        CHECK_EQ_INT(n, ks[ki] < N ? ks[ki] : N);
                        for (size_t r = 0; r < n; r++) {
                            if (dtype == TE_DTYPE_I8)
                                CHECK_MSG(h[r].doc == ref[r].doc && h[r].score == (float)ref[r].score,
                                          "int8 %s/%d q%d rank %zu: doc %llu (%g), want %zu (%g)", te_index_ctx_simd(c), threads, j,
                                          r, (unsigned long long)h[r].doc, h[r].score, ref[r].doc, ref[r].score);
                            else
                                CHECK_MSG(fabs(h[r].score - ref[r].score) < 1e-5 &&
                                              (h[r].doc == ref[r].doc || fabs(ref[r].score - ref[r + (r + 1 < N)].score) < 1e-5 ||
                                               (r > 0 && fabs(ref[r].score - ref[r - 1].score) < 1e-5)),
                                          "f32 %s/%d q%d rank %zu: doc %llu (%g), want %zu (%g)", te_index_ctx_simd(c), threads, j, r,
                                          (unsigned long long)h[r].doc, h[r].score, ref[r].doc, ref[r].score);
                            if (r) CHECK(h[r - 1].score > h[r].score || (h[r - 1].score == h[r].score && h[r - 1].doc < h[r].doc));
                        }
                    }
                    /* Query 0 is document 51, which document 2003 copies: both score 1, 51 first. */
                    if (j == 0) {
                        size_t n;
                        CHECK(te_index_search_vector(c, q[0], DIM, 2, h, &n, &err) == TE_OK);
                        CHECK_MSG(h[0].doc == 51 && h[1].doc == 2003 && h[0].score == h[1].score, "%llu %llu",
                                  (unsigned long long)h[0].doc, (unsigned long long)h[1].doc);
                    }
                    free(h);
                }
                te_index_ctx_free(c);
            }
        float bad[DIM + 1] = {0};
        te_index_hit h1[1];
        size_t n;
        te_index_ctx *c = te_index_ctx_new(ix, 1, NULL, &err);
        CHECK(te_index_search_vector(c, bad, DIM + 1, 1, h1, &n, &err) == TE_ERR_ARG && strstr(err.msg, "38 values"));
        bad[3] = NAN;
        CHECK(te_index_search_vector(c, bad, DIM, 1, h1, &n, &err) == TE_ERR_ARG && strstr(err.msg, "non-finite"));
        te_index_ctx_free(c);
        te_index_close(ix);
    }
    free(v); free(ref); free(qi); free(scales);
}

/* Rank fusion by hand: vector ranks d0 > d1 > d2 (query = d0's vector),
 * BM25 ranks d2 > d1 (d0 lacks the word). */
TEST(hybrid_fusion_by_hand) {
    static const char *const texts[] = {"alpha", "beta gamma", "gamma gamma"};
    float v[3 * 2] = {1, 0, 0.8f, 0.6f, 0, 1};
    const char *path = tmp_path("hyb.tidx");
    CHECK(build(path, texts, 3, v, 2, TE_DTYPE_F32, 7));
    te_error err;
    te_index *ix = te_index_open(path, 0, &err);
    te_index_ctx *c = ix ? te_index_ctx_new(ix, 2, NULL, &err) : NULL;
    CHECK(c);
    te_index_hit h[3];
    size_t n;
    float q[2] = {3, 0};
    CHECK(te_index_search_hybrid(c, q, 2, "gamma", 5, 3, -1, h, &n, &err) == TE_OK && n == 3);
    /* d0: 1/61; d1: 1/62 + 1/62; d2: 1/63 + 1/61 */
    CHECK(h[0].doc == 2 && h[1].doc == 1 && h[2].doc == 0);
    CHECK(fabs(h[0].score - (1.0 / 63 + 1.0 / 61)) < 1e-7 && fabs(h[1].score - 2.0 / 62) < 1e-7 && fabs(h[2].score - 1.0 / 61) < 1e-7);
    /* Weighted, alpha 1: the vector order; alpha 0: BM25's, where min-max scaling gives its last
     * hit (d1) 0, as much as d0 that it lacks. */
    CHECK(te_index_search_hybrid(c, q, 2, "gamma", 5, 3, 1.0f, h, &n, &err) == TE_OK && h[0].doc == 0 && h[1].doc == 1 && h[2].doc == 2);
    CHECK(te_index_search_hybrid(c, q, 2, "gamma", 5, 3, 0.0f, h, &n, &err) == TE_OK && h[0].doc == 2 && h[1].doc == 0 &&
          h[0].score == 1.0f && h[1].score == 0.0f && h[2].score == 0.0f);
    CHECK(te_index_search_hybrid(c, q, 2, "gamma", 5, 3, 1.5f, h, &n, &err) == TE_ERR_ARG);
    te_index_ctx_free(c);
    te_index_close(ix);
}

TEST(builder_refuses_bad_documents) {
    te_error err;
    te_index_build_opts o = {.dim = 3, .dtype = TE_DTYPE_F32, .fingerprint = 1, .model_name = "m"};
    te_index_builder *b = te_index_builder_new(&o, &err);
    CHECK(b);
    float v[3] = {1, 2, 3}, nan3[3] = {1, NAN, 3};
    te_index_doc d = {.id = "x", .id_len = 1, .text = "text", .text_len = 4, .vector = v};
    CHECK(te_index_builder_add(b, &d, &err) == TE_OK);
    CHECK(te_index_builder_add(b, &d, &err) == TE_ERR_ARG && strstr(err.msg, "appears twice"));
    d.id = "y";
    d.vector = nan3;
    CHECK(te_index_builder_add(b, &d, &err) == TE_ERR_ARG && strstr(err.msg, "non-finite"));
    d.vector = NULL;
    CHECK(te_index_builder_add(b, &d, &err) == TE_ERR_ARG && strstr(err.msg, "no vector"));
    d.id_len = 0;
    CHECK(te_index_builder_add(b, &d, &err) == TE_ERR_ARG);
    d = (te_index_doc){.id = "y", .id_len = 1, .text = "more text", .text_len = 9, .vector = v};
    CHECK(te_index_builder_add(b, &d, &err) == TE_OK && te_index_builder_count(b) == 2);
    /* A failed write leaves nothing behind; an existing index is replaced whole. */
    CHECK(te_index_builder_write(b, tmp_path("no/such/dir/x.tidx"), &err) != TE_OK);
    const char *path = tmp_path("replace.tidx");
    CHECK(build(path, fruit, 3, NULL, 0, TE_DTYPE_F32, 0));
    CHECK(te_index_builder_write(b, path, &err) == TE_OK);
    te_index_builder_free(b);
    te_index *ix = te_index_open(path, TE_INDEX_VERIFY, &err);
    te_index_info in;
    CHECK(ix);
    te_index_get_info(ix, &in);
    CHECK(in.n_docs == 2 && in.dim == 3);
    te_index_close(ix);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "ls -a %s | grep -c part", tmpdir);
    FILE *p = popen(cmd, "r");
    int parts = -1;
    CHECK(p && fscanf(p, "%d", &parts) == 1);
    pclose(p);
    CHECK_EQ_INT(parts, 0);
    o.dim = 3;
    o.dtype = TE_DTYPE_F16;
    CHECK(te_index_builder_new(&o, &err) == NULL && err.code == TE_ERR_ARG);
}

/* Copies src to dst, then applies one change: cut the file to `size`
 * bytes (if not 0) or flip the byte at `flip` (if >= 0). */
static int mutate(const char *src, const char *dst, long size, long flip) {
    size_t len;
    char *data = th_read_file(src, &len);
    if (!data) return 0;
    if (flip >= 0 && (size_t)flip < len) data[flip] ^= 0x5A;
    FILE *f = fopen(dst, "wb");
    int ok = f && fwrite(data, 1, size ? (size_t)size : len, f) == (size ? (size_t)size : len);
    if (f) fclose(f);
    free(data);
    return ok;
}

TEST(damaged_files_are_refused_with_the_reason) {
    static const char *const texts[] = {"one two", "two three", "three four five"};
    float v[3 * 4] = {1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 1};
    const char *good = tmp_path("good.tidx"), *bad = tmp_path("bad.tidx");
    CHECK(build(good, texts, 3, v, 4, TE_DTYPE_I8, 9));
    te_error err;
    te_index *ix = te_index_open(good, TE_INDEX_VERIFY, &err);
    CHECK(ix);
    te_index_close(ix);
    /* Section offsets from the table, to aim the damage. */
    size_t len = 0;
    char *g = th_read_file(good, &len);
    CHECK(g);
    uint64_t off[TIDX_N_SECTIONS];
    for (int i = 0; i < TIDX_N_SECTIONS; i++) off[i] = te_le64((const uint8_t *)g + TIDX_FIXED_HEADER + i * TIDX_SECTION_ENTRY + 8);
    free(g);
    struct {
        long size, flip;
        int verify;
        te_status want;
        const char *msg;
    } cases[] = {
        {(long)len - 1, -1, 0, TE_ERR_TRUNCATED, "truncated"},
        {200, -1, 0, TE_ERR_TRUNCATED, "ends inside its header"},
        {10, -1, 0, TE_ERR_TRUNCATED, "shorter than an index header"},
        {0, 3, 0, TE_ERR_FORMAT, "bad magic"},
        {0, TIDX_OFF_N_DOCS, 0, TE_ERR_CHECKSUM, "header"},
        {0, (long)off[TIDX_SEC_ID_BLOB - 1], 0, TE_ERR_CHECKSUM, "document ids"},
        {0, (long)off[TIDX_SEC_TERM_BLOB - 1], 0, TE_ERR_CHECKSUM, "terms"},
        {0, (long)off[TIDX_SEC_SCALES - 1], 0, TE_ERR_CHECKSUM, "vector scales"},
        {0, (long)off[TIDX_SEC_VECTORS - 1], 1, TE_ERR_CHECKSUM, "vectors"},
        {0, (long)off[TIDX_SEC_POSTINGS - 1], 1, TE_ERR_CHECKSUM, "postings"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        CHECK(mutate(good, bad, cases[i].size, cases[i].flip));
        ix = te_index_open(bad, cases[i].verify ? TE_INDEX_VERIFY : 0, &err);
        CHECK_MSG(!ix && err.code == cases[i].want && strstr(err.msg, cases[i].msg) && strstr(err.msg, "bad.tidx"),
                  "case %zu: %s: %s", i, te_status_name(err.code), err.msg);
    }
    /* Damaged postings without --verify: opening works, the search names the damage, nothing crashes. */
    CHECK(mutate(good, bad, 0, (long)off[TIDX_SEC_POSTINGS - 1] + 3));
    ix = te_index_open(bad, 0, &err);
    CHECK(ix);
    CHECK(te_index_verify(ix, &err) == TE_ERR_CHECKSUM);
    te_index_ctx *c = te_index_ctx_new(ix, 1, NULL, &err);
    te_index_hit h[3];
    size_t n;
    te_status st = TE_OK;
    for (const char *const *w = (const char *const[]){"one", "two", "three", "four", "five", NULL}; *w && st == TE_OK; w++)
        st = te_index_search_bm25(c, *w, strlen(*w), 3, h, &n, &err);
    CHECK_MSG(st == TE_ERR_FORMAT && strstr(err.msg, "postings"), "%s", err.msg);
    te_index_ctx_free(c);
    te_index_close(ix);
    /* Not an index at all. */
    char model[1024];
    ix = te_index_open(th_path(model, sizeof model, "TE_TESTDATA", "minilm-mean.temb"), 0, &err);
    CHECK(!ix && err.code == TE_ERR_FORMAT && strstr(err.msg, "model file"));
    ix = te_index_open(tmp_path("missing.tidx"), 0, &err);
    CHECK(!ix && err.code == TE_ERR_NOT_FOUND);
}

/* Reads the reference sentences (one per line), skipping any whose tokens
 * equal an earlier one's: such texts have the same vector. */
static size_t load_sentences(te_model *m, char ***out) {
    char path[1024];
    size_t len, n = 0;
    *out = NULL;
    char *text = th_read_file(th_path(path, sizeof path, "TE_REF", "cases.txt"), &len);
    if (!text) return 0;
    char **s = calloc(len + 1, sizeof *s);
    int32_t (*ids)[64] = calloc(len + 1, sizeof *ids);
    size_t *nid = calloc(len + 1, sizeof *nid);
    size_t line_no = 0, k = th_slice(); /* TE_SLICE=N: every Nth line */
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        te_error err;
        if (line_no++ % k != 0) continue;
        if (te_tokenize(m, line, strlen(line), ids[n], 64, &nid[n], &err) != TE_OK) continue;
        int dup = 0;
        for (size_t j = 0; j < n && !dup; j++) dup = nid[j] == nid[n] && memcmp(ids[j], ids[n], nid[n] * 4) == 0;
        if (!dup) s[n++] = strdup(line);
    }
    free(text); free(ids); free(nid);
    *out = s;
    return n;
}

/* Each reference sentence, as a query, finds itself first: with the f32
 * model and f32 vectors, and with the int8 model and int8 vectors. The
 * int8 model is another model: its index refuses the f32 model. */
TEST(self_retrieval_with_a_model) {
    static const char *const models[2] = {"minilm-mean.temb", "minilm-mean-int8.temb"};
    te_model *m[2];
    te_error err;
    char path[1024];
    for (int i = 0; i < 2; i++) {
        m[i] = te_open(th_path(path, sizeof path, "TE_TESTDATA", models[i]), NULL, &err);
        CHECK_MSG(m[i], "%s", err.msg);
    }
    char **texts;
    size_t n = load_sentences(m[0], &texts);
    CHECK(n > 50 / th_slice());
    for (int i = 0; i < 2; i++) {
        te_model_info mi;
        te_model_get_info(m[i], &mi);
        te_ctx *ctx = te_ctx_new(m[i], NULL, &err);
        float *v = malloc(n * (size_t)mi.hidden_size * sizeof *v);
        CHECK(ctx && v);
        CHECK(te_embed(ctx, (const char *const *)texts, NULL, n, v, &err) == TE_OK);
        const char *ipath = tmp_path("self.tidx");
        CHECK(build(ipath, (const char *const *)texts, n, v, mi.hidden_size, i ? TE_DTYPE_I8 : TE_DTYPE_F32, mi.fingerprint));
        te_index *ix = te_index_open(ipath, TE_INDEX_VERIFY, &err);
        CHECK(ix);
        CHECK(te_index_check_model(ix, m[i], &err) == TE_OK);
        CHECK(te_index_check_model(ix, m[1 - i], &err) == TE_ERR_ARG && strstr(err.msg, "fingerprint"));
        te_index_ctx *c = te_index_ctx_new(ix, 0, NULL, &err);
        for (size_t d = 0; d < n; d++) {
            te_index_hit h[2];
            size_t nh;
            float q[1024];
            CHECK(te_embed(ctx, (const char *const *)&texts[d], NULL, 1, q, &err) == TE_OK);
            CHECK(te_index_search_vector(c, q, (size_t)mi.hidden_size, 2, h, &nh, &err) == TE_OK);
            CHECK_MSG(h[0].doc == d, "%s: \"%s\" found document %llu first (%g vs %g)", models[i], texts[d],
                      (unsigned long long)h[0].doc, h[0].score, h[1].score);
        }
        te_index_ctx_free(c);
        te_index_close(ix);
        te_ctx_free(ctx);
        free(v);
    }
    for (size_t i = 0; i < n; i++) free(texts[i]);
    free(texts);
    te_close(m[0]);
    te_close(m[1]);
}

int main(void) {
    snprintf(tmpdir, sizeof tmpdir, "/tmp/te_index_test.%ld", (long)getpid());
    char cmd[600];
    snprintf(cmd, sizeof cmd, "mkdir -p %s", tmpdir);
    if (system(cmd) != 0) return 1;
    RUN(bm25_hand_computed);
    RUN(vector_topk_equals_brute_force);
    RUN(hybrid_fusion_by_hand);
    RUN(builder_refuses_bad_documents);
    RUN(damaged_files_are_refused_with_the_reason);
    RUN(self_retrieval_with_a_model);
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
    if (system(cmd) != 0) return 1;
    return th_done();
}
