/*
 * test_m3.c - bge-m3's three outputs (te_embed_multi) against the public
 * goldens of ../shared/ref/arch (README-xlmr.md, a float64 reference of
 * FlagEmbedding): sparse lexical weights on all 298 texts (the same ids,
 * where an id of weight <= 1e-4 may be missing on either side; weights
 * within 1e-4), ColBERT vectors on the 95 texts of at most 128 tokens (n-1
 * vectors, each cos >= 0.99999 and abs <= 1e-4), on every kernel set; the
 * same results from the pytorch_model.bin conversion, across batch shapes,
 * and the dense output equal to te_embed's. Plus the scores and refusals.
 */
#include <math.h>

#include "tinyembed.h"
#include "harness.h"
#include "json.h"

#define MAX_ROWS 300

typedef struct row {
    char *text;
    te_sparse_entry *sparse; /* the golden's, ids ascending */
    size_t n_sparse;
    float *colbert;          /* [n_colbert][dim] */
    size_t n_colbert, dim;
} row;

static int by_id(const void *a, const void *b) {
    int32_t x = ((const te_sparse_entry *)a)->id, y = ((const te_sparse_entry *)b)->id;
    return (x > y) - (x < y);
}

static void read_row(const json_value *r, row *w) {
    const json_value *t = json_get(r, "text"), *sp = json_get(r, "sparse"), *cb = json_get(r, "colbert");
    w->text = strndup(t->str, t->len);
    if (sp) {
        w->sparse = malloc((sp->len ? sp->len : 1) * sizeof *w->sparse);
        for (size_t k = 0; k < sp->len; k++)
            w->sparse[k] = (te_sparse_entry){(int32_t)atoi(sp->members[k].key), (float)sp->members[k].value->num};
        w->n_sparse = sp->len;
        qsort(w->sparse, w->n_sparse, sizeof *w->sparse, by_id);
    }
    if (cb) {
        w->n_colbert = cb->len;
        w->dim = cb->len ? cb->items[0]->len : 0;
        w->colbert = malloc((cb->len * w->dim + 1) * sizeof *w->colbert);
        for (size_t i = 0; i < cb->len; i++)
            for (size_t d = 0; d < w->dim; d++) w->colbert[i * w->dim + d] = (float)cb->items[i]->items[d]->num;
    }
}

/* Rows of arch/golden/NAME.jsonl (every TE_SLICE-th); the count. */
static size_t load(const char *name, row *rows) {
    char path[1024], rel[128];
    snprintf(rel, sizeof rel, "arch/golden/%s.jsonl", name);
    char *text = th_read_file(th_path(path, sizeof path, "TE_REF", rel), NULL);
    size_t n = 0, i = 0;
    for (char *line = text, *end; line && *line && n < MAX_ROWS; line = end + 1, i++) {
        end = strchr(line, '\n');
        if (!end) end = line + strlen(line);
        json_doc *d = json_parse(line, (size_t)(end - line), NULL);
        if (d && i % th_slice() == 0) read_row(json_root(d), &rows[n++]);
        json_free(d);
        if (!*end) break;
    }
    free(text);
    return n;
}

static void free_rows(row *rows, size_t n) {
    for (size_t i = 0; i < n; i++) free(rows[i].text), free(rows[i].sparse), free(rows[i].colbert);
    memset(rows, 0, n * sizeof *rows);
}

/* Worst difference of our sparse weights from the golden's; -1 when an id
 * heavier than 1e-4 is on one side only. */
static double sparse_diff(const te_multi *o, const row *r) {
    double worst = 0;
    size_t i = 0, j = 0;
    while (i < o->n_sparse || j < r->n_sparse) {
        int32_t a = i < o->n_sparse ? o->sparse[i].id : INT32_MAX, b = j < r->n_sparse ? r->sparse[j].id : INT32_MAX;
        if (a == b) {
            double d = fabs((double)o->sparse[i++].weight - r->sparse[j++].weight);
            if (d > worst) worst = d;
        } else if (a < b) {
            if (o->sparse[i++].weight > 1e-4) return -1;
        } else if (r->sparse[j++].weight > 1e-4) {
            return -1;
        }
    }
    return worst;
}

/* Lowest cosine of our ColBERT vectors to the golden's (and the worst abs
 * difference in *abs_out); -1 when the counts differ. */
static double colbert_min_cos(const te_multi *o, const row *r, int dim, double *abs_out) {
    if (o->n_colbert != r->n_colbert || (size_t)dim != r->dim) return -1;
    double lo = 1;
    for (size_t i = 0; i < o->n_colbert; i++) {
        const float *a = o->colbert + i * r->dim, *b = r->colbert + i * r->dim;
        double dot = 0, na = 0, nb = 0;
        for (size_t d = 0; d < r->dim; d++) {
            dot += (double)a[d] * b[d], na += (double)a[d] * a[d], nb += (double)b[d] * b[d];
            if (fabs((double)a[d] - b[d]) > *abs_out) *abs_out = fabs((double)a[d] - b[d]);
        }
        double c = dot / sqrt(na * nb);
        if (c < lo) lo = c;
    }
    return lo;
}

static te_status run(te_model *m, te_ctx_opts o, const row *rows, size_t n, unsigned outputs, te_multi *out) {
    te_ctx *c = te_ctx_new(m, &o, NULL);
    if (!c) return TE_ERR_ARG;
    const char *texts[MAX_ROWS];
    for (size_t i = 0; i < n; i++) texts[i] = rows[i].text;
    te_error err;
    te_status st = te_embed_multi(c, texts, NULL, n, outputs, out, NULL, &err);
    if (st != TE_OK) printf("  %s\n", err.msg);
    te_ctx_free(c);
    return st;
}

/* The kernel sets that differ for f32 and that this CPU runs, into sets[]; their count. */
static size_t usable_sets(te_model *m, const char **sets) {
    static const char *const all[] = {"avx512bf16", "avx512vnni", "avx512", "avxvnni", "avx2", "neon", "scalar"};
    size_t n = 0;
    for (size_t s = 0; s < sizeof all / sizeof *all; s++) {
        te_ctx *probe = th_set_differs_for(all[s], "f32") ? te_ctx_new(m, &(te_ctx_opts){.simd = all[s]}, NULL) : NULL;
        if (probe) sets[n++] = all[s];
        te_ctx_free(probe);
    }
    return n;
}

/* Row i of the golden against ours: 1 if within the bars; *worst gets the
 * largest abs difference, *lo the lowest ColBERT cosine. */
static int row_ok(unsigned output, const te_multi *o, const row *r, int dim, double *worst, double *lo) {
    if (output == TE_OUTPUT_SPARSE) {
        double d = sparse_diff(o, r);
        if (d > *worst) *worst = d;
        return d >= 0 && d <= 1e-4;
    }
    double c = colbert_min_cos(o, r, dim, worst);
    if (c < *lo) *lo = c;
    return c >= 0.99999 && *worst <= 1e-4;
}

/* One output of the golden file NAME (at least min_rows rows) on every kernel set. */
static int golden_on_every_set(const char *name, size_t min_rows, unsigned output) {
    static row rows[MAX_ROWS];
    size_t n = load(name, rows);
    te_model *m = th_open_model("bgem3");
    te_model_info in;
    if (m) te_model_get_info(m, &in);
    int good = m && n >= min_rows / th_slice() && (output != TE_OUTPUT_COLBERT || in.colbert_dim == in.hidden_size);
    te_multi *out = calloc(n ? n : 1, sizeof *out);
    const char *sets[8];
    size_t n_sets = good ? usable_sets(m, sets) : 0, s = 0;
    for (; s < n_sets && good; s++) {
        good = run(m, (te_ctx_opts){.threads = 2, .simd = sets[s]}, rows, n, output, out) == TE_OK;
        double worst = 0, lo = 1;
        size_t entries = 0;
        for (size_t i = 0; i < n && good; i++) {
            good = row_ok(output, &out[i], &rows[i], in.colbert_dim, &worst, &lo);
            if (!good) printf("  row %zu (%.40s) differs\n", i, rows[i].text);
            entries += output == TE_OUTPUT_SPARSE ? out[i].n_sparse : out[i].n_colbert;
        }
        printf("  %s %-10s %zu texts, %zu %s, max abs %.2e, min cos %.7f\n", name, sets[s], n, entries,
               output == TE_OUTPUT_SPARSE ? "weights" : "vectors", worst, lo);
        te_multi_free(out, n);
    }
    free(out);
    te_close(m);
    free_rows(rows, n);
    return good && s == n_sets && (int)n_sets >= th_kernel_sets(); /* every set ran: the best and scalar at least */
}

TEST(sparse_matches_golden) { CHECK(golden_on_every_set("bgem3", 298, TE_OUTPUT_SPARSE)); }

TEST(colbert_matches_golden) { CHECK(golden_on_every_set("bgem3-colbert", 95, TE_OUTPUT_COLBERT)); }

static int same_multi(const te_multi *a, const te_multi *b, size_t n, int H, int D) {
    for (size_t i = 0; i < n; i++) {
        if (a[i].n_sparse != b[i].n_sparse || a[i].n_colbert != b[i].n_colbert) return 0;
        if (memcmp(a[i].dense, b[i].dense, (size_t)H * sizeof(float)) ||
            memcmp(a[i].sparse, b[i].sparse, a[i].n_sparse * sizeof *a[i].sparse) ||
            memcmp(a[i].colbert, b[i].colbert, a[i].n_colbert * (size_t)D * sizeof(float)))
            return 0;
    }
    return 1;
}

/* All three outputs at once equal each alone and te_embed's vector, bit for
 * bit, for every batch shape, and from the pytorch_model.bin conversion. */
TEST(one_pass_same_everywhere) {
    static row rows[MAX_ROWS];
    size_t n = load("bgem3-colbert", rows);
    te_model *m = th_open_model("bgem3"), *bin = th_open_model("bgem3-bin");
    CHECK(m && bin && n > 0);
    te_model_info in;
    te_model_get_info(m, &in);
    const unsigned all = TE_OUTPUT_DENSE | TE_OUTPUT_SPARSE | TE_OUTPUT_COLBERT;
    te_multi *ref = calloc(n, sizeof *ref), *other = calloc(n, sizeof *other);
    CHECK(run(m, (te_ctx_opts){.threads = 1}, rows, n, all, ref) == TE_OK);
    static const te_ctx_opts shapes[] = {{.threads = 2, .batch = 7}, {.threads = 3, .max_batch_tokens = 200},
                                         {.threads = 2, .batch = 1}};
    int good = 1;
    for (size_t k = 0; k < sizeof shapes / sizeof *shapes && good; k++) {
        good = run(m, shapes[k], rows, n, all, other) == TE_OK && same_multi(ref, other, n, in.hidden_size, in.colbert_dim);
        te_multi_free(other, n);
    }
    CHECK(good);
    CHECK(run(bin, (te_ctx_opts){.threads = 1}, rows, n, all, other) == TE_OK);
    CHECK(same_multi(ref, other, n, in.hidden_size, in.colbert_dim));
    te_multi_free(other, n);
    /* Each output alone is the same as in the one pass; dense is te_embed's. */
    CHECK(run(m, (te_ctx_opts){.threads = 1}, rows, n, TE_OUTPUT_SPARSE, other) == TE_OK);
    CHECK(other[0].dense == NULL && other[0].colbert == NULL && other[0].n_sparse == ref[0].n_sparse);
    CHECK(memcmp(other[n - 1].sparse, ref[n - 1].sparse, ref[n - 1].n_sparse * sizeof *ref[0].sparse) == 0);
    te_multi_free(other, n);
    te_ctx *c = te_ctx_new(m, &(te_ctx_opts){.threads = 1}, NULL);
    float *dense = malloc((size_t)in.hidden_size * sizeof *dense);
    CHECK(te_embed(c, (const char *const *)&rows[n - 1].text, NULL, 1, dense, NULL) == TE_OK);
    CHECK(memcmp(dense, ref[n - 1].dense, (size_t)in.hidden_size * sizeof *dense) == 0);
    free(dense);
    te_ctx_free(c);
    te_multi_free(ref, n);
    free(ref);
    free(other);
    te_close(m);
    te_close(bin);
    free_rows(rows, n);
}

/* The lexical score is the sum over shared ids; ColBERT's the mean of the
 * best dot products, 1 for a text against itself. */
TEST(scores) {
    te_sparse_entry a[] = {{3, 0.5f}, {7, 2.0f}, {9, 1.0f}}, b[] = {{1, 4.0f}, {7, 0.25f}, {9, 3.0f}};
    CHECK_NEAR(te_sparse_score(a, 3, b, 3), 2.0 * 0.25 + 1.0 * 3.0, 1e-12);
    CHECK_NEAR(te_sparse_score(a, 3, b, 0), 0, 0);
    float q[] = {1, 0, 0, 1}, d[] = {0.6f, 0.8f, 1, 0, 0, -1};
    CHECK_NEAR(te_colbert_score(q, 2, d, 3, 2), (1.0 + 0.8) / 2, 1e-7);
    te_model *m = th_open_model("bgem3");
    CHECK(m);
    te_ctx *c = te_ctx_new(m, &(te_ctx_opts){.threads = 1}, NULL);
    const char *t[] = {"Hello world, again and again"};
    te_multi o;
    CHECK(te_embed_multi(c, t, NULL, 1, TE_OUTPUT_COLBERT, &o, NULL, NULL) == TE_OK);
    te_model_info in;
    te_model_get_info(m, &in);
    CHECK_NEAR(te_colbert_score(o.colbert, o.n_colbert, o.colbert, o.n_colbert, in.colbert_dim), 1.0, 1e-6);
    te_multi_free(&o, 1);
    te_ctx_free(c);
    te_close(m);
}

/* TE_OUTPUT_TOKENS is the encoder's last state of every token: pooled as the
 * model pools (CLS or mean) and normalized, it is the dense vector. */
static int pools_to_dense(const char *name) {
    static row rows[MAX_ROWS];
    size_t n = load("bgem3-colbert", rows);
    te_model *m = th_open_model(name);
    te_model_info in;
    if (!m || n == 0) return 0;
    te_model_get_info(m, &in);
    size_t H = (size_t)in.hidden_size;
    te_multi *o = calloc(n, sizeof *o);
    double *v = malloc(H * sizeof *v);
    int ok = o && v && run(m, (te_ctx_opts){.threads = 2}, rows, n, TE_OUTPUT_DENSE | TE_OUTPUT_TOKENS, o) == TE_OK;
    for (size_t i = 0; ok && i < n; i++) {
        size_t T = in.pooling == TE_POOL_CLS ? 1 : o[i].n_tokens;
        double ss = 0;
        ok = o[i].tokens != NULL && o[i].n_tokens >= 2;
        for (size_t h = 0; ok && h < H; h++) {
            v[h] = 0;
            for (size_t t = 0; t < T; t++) v[h] += o[i].tokens[t * H + h];
            ss += v[h] * v[h];
        }
        for (size_t h = 0; ok && h < H; h++)
            ok = fabs(v[h] / (in.normalize ? sqrt(ss) : (double)T) - o[i].dense[h]) < 1e-5;
        if (!ok) fprintf(stderr, "%s: text %zu: tokens do not pool to the dense vector\n", name, i);
    }
    te_multi_free(o, n);
    free(o);
    free(v);
    te_close(m);
    free_rows(rows, n);
    return ok;
}

TEST(token_states) {
    CHECK(pools_to_dense("bgem3"));   /* CLS pooling */
    CHECK(pools_to_dense("xlmr-e5")); /* mean pooling */
    te_model *cls = th_open_model("rerank-m3");
    te_model_info in;
    te_model_get_info(cls, &in);
    CHECK_EQ_INT(in.outputs, 0); /* a reranker has no token output to give */
    te_close(cls);
}

/* An output the model lacks, a classifier, no outputs: TE_ERR_ARG, saying which. */
TEST(refusals) {
    te_model *e5 = th_open_model("xlmr-e5"), *cls = th_open_model("rerank-m3");
    CHECK(e5 && cls);
    te_model_info in;
    te_model_get_info(e5, &in);
    CHECK_EQ_INT(in.outputs, TE_OUTPUT_DENSE | TE_OUTPUT_TOKENS);
    CHECK_EQ_INT(in.colbert_dim, 0);
    te_ctx *c = te_ctx_new(e5, NULL, NULL), *cc = te_ctx_new(cls, NULL, NULL);
    const char *t[] = {"hello"};
    te_multi o;
    memset(&o, 0xAB, sizeof o); /* garbage in: a refused call still leaves it empty */
    te_error err;
    CHECK_EQ_INT(te_embed_multi(c, t, NULL, 1, TE_OUTPUT_SPARSE, &o, NULL, &err), TE_ERR_ARG);
    CHECK_HAS(err.msg, "no sparse output");
    CHECK(o.dense == NULL && o.sparse == NULL && o.colbert == NULL && o.n_sparse == 0);
    CHECK_EQ_INT(te_embed_multi(c, t, NULL, 1, 0, &o, NULL, &err), TE_ERR_ARG);
    CHECK_EQ_INT(te_embed_multi(cc, t, NULL, 1, TE_OUTPUT_DENSE, &o, NULL, &err), TE_ERR_ARG);
    CHECK_HAS(err.msg, "not an embedding model");
    CHECK_EQ_INT(te_embed_multi(c, t, NULL, 1, TE_OUTPUT_DENSE, &o, NULL, &err), TE_OK);
    CHECK(o.dense && !o.sparse && !o.colbert);
    te_multi_free(&o, 1);
    CHECK(o.dense == NULL);
    te_ctx_free(c);
    te_ctx_free(cc);
    te_close(e5);
    te_close(cls);
}

int main(void) {
    RUN(sparse_matches_golden);
    RUN(colbert_matches_golden);
    RUN(one_pass_same_everywhere);
    RUN(scores);
    RUN(token_states);
    RUN(refusals);
    return th_done();
}
