/*
 * test_arch.c - the architectures and heads beyond BERT embeddings against
 * the public goldens of ../shared/ref/arch (a float64 reference): DistilBERT
 * sentiment classifier, BERT cross-encoder on text pairs, MPNet and
 * NomicBERT embeddings, the XLM-RoBERTa family (multilingual-e5, the
 * BERT-bodied paraphrase-multilingual, bge-m3's dense output, an XLM-R
 * reranker). Token ids (and pair type ids) must be identical;
 * f32 outputs within the tolerances on every kernel set; results
 * the same bit for bit across thread counts and batch compositions; int8
 * files within the int8 bars.
 */
#include <unistd.h>

#include "tinyembed.h"
#include "harness.h"
#include "json.h"

#define MAX_ROWS 320

typedef struct golden {
    size_t n;
    size_t n_all;            /* rows in the file; n of them kept under TE_SLICE */
    char *text[MAX_ROWS], *a[MAX_ROWS], *b[MAX_ROWS]; /* b non-NULL: a pair */
    int32_t *ids[MAX_ROWS];
    uint8_t *types[MAX_ROWS];
    size_t n_ids[MAX_ROWS];
    float *want[MAX_ROWS];   /* embedding, or probabilities */
    size_t dim;              /* floats per row of want */
    char *label[MAX_ROWS];
} golden;

static char *dup_str(const json_value *v) {
    char *s = malloc(v->len + 1);
    memcpy(s, v->str, v->len + 1);
    return s;
}

static void golden_free(golden *g) {
    for (size_t i = 0; i < g->n; i++) {
        free(g->text[i]); free(g->a[i]); free(g->b[i]); free(g->ids[i]); free(g->types[i]); free(g->want[i]);
        free(g->label[i]);
    }
}

/* Reads a golden file: rows of {"text" (, "pair"), "ids" (, "type_ids"), "embedding" | "probs" (, "label"),
 * (, "prefix": Qwen3's query instruction, which the ids hold and text here starts with)}. */
static int golden_read(const char *path, golden *g) {
    char *text = th_read_file(path, NULL);
    if (!text) return 0;
    memset(g, 0, sizeof *g);
    for (char *line = text, *end; *line && g->n < MAX_ROWS; line = end + 1) {
        end = strchr(line, '\n');
        if (!end) end = line + strlen(line);
        json_doc *d = json_parse(line, (size_t)(end - line), NULL);
        if (!d) break;
        const json_value *r = json_root(d), *ids = json_get(r, "ids"), *types = json_get(r, "type_ids");
        const json_value *pair = json_get(r, "pair"), *e = json_get(r, "embedding");
        const char *label = NULL;
        if (!e) e = json_get(r, "probs");
        size_t i = g->n++;
        const json_value *t = json_get(r, "text"), *prefix = json_get(r, "prefix");
        g->text[i] = malloc((prefix ? prefix->len : 0) + t->len + 1);
        snprintf(g->text[i], (prefix ? prefix->len : 0) + t->len + 1, "%s%s", prefix ? prefix->str : "", t->str);
        if (pair) {
            g->a[i] = dup_str(pair->items[0]);
            g->b[i] = dup_str(pair->items[1]);
        }
        g->n_ids[i] = ids->len;
        g->ids[i] = malloc(ids->len * sizeof(int32_t));
        g->types[i] = calloc(ids->len, 1);
        for (size_t k = 0; k < ids->len; k++) {
            g->ids[i][k] = (int32_t)ids->items[k]->i;
            if (types) g->types[i][k] = (uint8_t)types->items[k]->i;
        }
        g->dim = e->len;
        g->want[i] = malloc(e->len * sizeof(float));
        for (size_t k = 0; k < e->len; k++) g->want[i][k] = (float)e->items[k]->num;
        if (json_get_str(r, "label", &label) == 1) g->label[i] = strdup(label);
        json_free(d);
        if (!*end) break;
    }
    free(text);
    return g->n > 0;
}

/* A public golden file (more than 40 rows); with TE_SLICE=N every Nth row. */
static int golden_load(const char *name, golden *g) {
    char path[1024], rel[128];
    snprintf(rel, sizeof rel, "arch/golden/%s.jsonl", name);
    if (!golden_read(th_path(path, sizeof path, "TE_REF", rel), g)) return 0;
    if (g->n <= 40) {
        golden_free(g);
        return 0;
    }
    size_t keep = 0, k = th_slice();
    g->n_all = g->n;
    for (size_t i = 0; i < g->n; i++) {
        if (i % k != 0) {
            free(g->text[i]); free(g->a[i]); free(g->b[i]); free(g->ids[i]); free(g->types[i]); free(g->want[i]);
            free(g->label[i]);
            continue;
        }
        g->text[keep] = g->text[i], g->a[keep] = g->a[i], g->b[keep] = g->b[i], g->ids[keep] = g->ids[i];
        g->types[keep] = g->types[i], g->n_ids[keep] = g->n_ids[i], g->want[keep] = g->want[i];
        g->label[keep] = g->label[i];
        keep++;
    }
    g->n = keep;
    return 1;
}

/* Runs the model's call on every golden row, from text (pairs: te_rerank one
 * pair at a time) or from the golden token ids (one call, batched). */
static te_status run_rows(te_ctx *c, const golden *g, int from_ids, float *out, te_error *err) {
    te_model_info in;
    te_status st = TE_OK;
    (void)in;
    if (from_ids) {
        const int32_t *ids[MAX_ROWS];
        const uint8_t *types[MAX_ROWS];
        for (size_t i = 0; i < g->n; i++) ids[i] = g->ids[i], types[i] = g->types[i];
        return g->label[0] ? te_classify_tokens(c, ids, types, g->n_ids, g->n, 0, out, err)
                           : te_embed_tokens(c, ids, g->n_ids, g->n, out, err);
    }
    if (g->b[0]) {
        for (size_t i = 0; i < g->n && st == TE_OK; i++)
            st = te_rerank(c, g->a[i], strlen(g->a[i]), (const char *const *)&g->b[i], NULL, 1, 0, out + i, NULL, err);
        return st;
    }
    if (g->label[0]) return te_classify(c, (const char *const *)g->text, NULL, g->n, 0, out, NULL, err);
    return te_embed(c, (const char *const *)g->text, NULL, g->n, out, err);
}

static int argmax(const float *x, size_t n) {
    size_t best = 0;
    for (size_t i = 1; i < n; i++)
        if (x[i] > x[best]) best = i;
    return (int)best;
}

/* Per row: cosine for embeddings, max |diff| for scores. Fills the worst
 * cases and how many rows' top label (or pairwise order) agree. */
typedef struct score {
    double min_cos, mean_cos, max_abs;
    size_t same_top;
    size_t order_flips; /* score pairs ranked the other way (single-score heads) */
} score;

static score compare(const golden *g, const float *out) {
    score s = {1, 0, 0, 0, 0};
    for (size_t i = 0; i < g->n; i++) {
        const float *o = out + i * g->dim, *w = g->want[i];
        double dot = 0, na = 0, nb = 0;
        for (size_t k = 0; k < g->dim; k++) {
            dot += (double)o[k] * w[k];
            na += (double)o[k] * o[k];
            nb += (double)w[k] * w[k];
            if (fabs((double)o[k] - w[k]) > s.max_abs) s.max_abs = fabs((double)o[k] - w[k]);
        }
        double cos = dot / sqrt(na * nb);
        if (cos < s.min_cos) s.min_cos = cos;
        s.mean_cos += cos / (double)g->n;
        s.same_top += argmax(o, g->dim) == argmax(w, g->dim);
        for (size_t j = 0; g->dim == 1 && j < i; j++)
            s.order_flips += (out[i] > out[j]) != (g->want[i][0] > g->want[j][0]);
    }
    return s;
}

/* Outputs of two batch shapes or thread counts: the same bits with our
 * kernels; within 1e-6 with BLAS=openblas, where a product's size picks the
 * code that computes it (README, "How it computes"). */
/* Bit for bit; with BLAS=openblas (where a product's size picks the code
 * computing it) to 1e-5: scores and probabilities up to 1 moved by 1.6e-6
 * on OpenBLAS's Sapphire Rapids kernels. */
static int same_outputs(const float *a, const float *b, size_t n) {
#ifdef TE_BLAS
    for (size_t i = 0; i < n; i++)
        if (fabs((double)a[i] - b[i]) > 1e-5) return 0;
    return 1;
#else
    return memcmp(a, b, n * sizeof *a) == 0;
#endif
}

typedef struct arch_case {
    const char *golden, *model;
    int max_len;  /* the golden's truncation; 0: the model's max_seq_length */
    int cut;      /* the golden holds texts cut to that length */
} arch_case;

static const arch_case cases[] = {
    {"distilbert-sst2", "distilbert-sst2", 0, 1},
    {"ce-minilm-pairs", "ce-minilm", 0, 1},
    {"mpnet-mean", "mpnet-mean", 0, 1},
    {"nomic-mean", "nomic-mean", 0, 1},
    {"xlmr-e5", "xlmr-e5", 0, 1},
    {"xlmr-minilm", "xlmr-minilm", 0, 1},
    {"bgem3", "bgem3", 0, 0},          /* 8192 tokens: nothing is cut */
    {"bgem3", "bgem3-bin", 0, 0},      /* the same weights from pytorch_model.bin */
    {"rerank-m3-pairs", "rerank-m3", 512, 1}, /* the model allows 8192; rerankers are run at 512 */
    {"modernbert-cls", "modernbert-cls", 0, 0},   /* 8192 tokens: nothing is cut */
    {"modernbert-mean", "modernbert-mean", 0, 0},
    {"modernbert-rerank-pairs", "modernbert-rerank", 0, 0}, /* at its 8192 tokens: no pair is cut */
    {"qwen3-embed", "qwen3-embed", 0, 0},        /* 32768 tokens: nothing is cut */
    {"qwen3-embed-query", "qwen3-embed", 0, 0},  /* the instruction in front of each query */
};

/* A context at the case's length. */
static te_ctx *case_ctx(const te_model *m, const arch_case *c, te_ctx_opts o) {
    o.max_seq_length = c->max_len;
    return te_ctx_new(m, &o, NULL);
}

/* Token ids (and pair type ids) from our tokenizer equal the goldens'. */
TEST(tokenizer_matches_goldens) {
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        golden g;
        CHECK_MSG(golden_load(cases[c].golden, &g), "cannot read golden %s", cases[c].golden);
        te_model *m = th_open_model(cases[c].model);
        CHECK(m);
        te_model_info in;
        te_model_get_info(m, &in);
        size_t bad = g.n, cut = 0, max = (size_t)(cases[c].max_len ? cases[c].max_len : in.max_seq_length);
        int32_t *ids = malloc(max * sizeof *ids);
        uint8_t *types = malloc(max);
        for (size_t i = 0; i < g.n && bad == g.n; i++) {
            size_t n = 0;
            te_error err;
            te_status st = g.b[i] ? te_tokenize_pair(m, g.a[i], strlen(g.a[i]), g.b[i], strlen(g.b[i]), ids, types,
                                                     max, &n, NULL, &err)
                                  : te_tokenize(m, g.text[i], strlen(g.text[i]), ids, max, &n, &err);
            if (st != TE_OK || n != g.n_ids[i] || memcmp(ids, g.ids[i], n * sizeof *ids) != 0 ||
                (g.b[i] && memcmp(types, g.types[i], n) != 0))
                bad = i;
            cut += n == max;
        }
        free(ids);
        free(types);
        if (bad < g.n) printf("  %s: row %zu (%.60s) differs\n", cases[c].golden, bad, g.text[bad]);
        printf("  %s: %zu rows identical (%zu at the %zu-token limit)\n", cases[c].golden, g.n, cut, max);
        te_close(m);
        golden_free(&g);
        CHECK(bad == g.n);
        /* The goldens hold cut texts (pairs: LongestFirst); a slice (TE_SLICE) may keep none of them. */
        CHECK(cases[c].cut ? cut >= 1 || th_slice() > 1 : cut == 0);
    }
}

/* f32 on every kernel set from text, then the same outputs (bit for bit)
 * from the golden ids across thread counts and batch shapes. */
TEST(f32_matches_goldens) {
    static const char *const simd[] = {"avx512bf16", "avx512vnni", "avx512", "avxvnni", "avx2", "neon", "scalar"};
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        golden g;
        CHECK(golden_load(cases[c].golden, &g));
        te_model *m = th_open_model(cases[c].model);
        CHECK(m);
        int is_emb = g.label[0] == NULL;
        float *out = calloc(g.n * g.dim, sizeof *out), *again = calloc(g.n * g.dim, sizeof *again);
        int ran = 0, good = 1;
        for (size_t s = 0; s < sizeof simd / sizeof *simd && good; s++) {
            if (!th_set_differs_for(simd[s], "f32")) continue;
            te_ctx *ctx = case_ctx(m, &cases[c], (te_ctx_opts){.threads = 2, .simd = simd[s]});
            if (!ctx) continue;
            te_error err;
            te_status st = run_rows(ctx, &g, 0, out, &err);
            te_ctx_free(ctx);
            if (st != TE_OK) { printf("  %s\n", err.msg); good = 0; break; }
            score sc = compare(&g, out);
            printf("  %s %-10s min cos %.7f max abs %.2e top %zu/%zu order flips %zu\n", cases[c].golden, simd[s],
                   sc.min_cos, sc.max_abs, sc.same_top, g.n, sc.order_flips);
            good = sc.max_abs <= 1e-4 && (is_emb ? sc.min_cos >= 0.99999 : sc.same_top == g.n && sc.order_flips == 0);
            ran++;
        }
        /* The reference from ids with 1 thread, then other shapes must equal it. */
        static const te_ctx_opts shapes[] = {{.threads = 1}, {.threads = 2, .batch = 7}, {.threads = 3, .max_batch_tokens = 200},
                                             {.threads = 2, .batch = 1}};
        for (size_t k = 0; k < sizeof shapes / sizeof *shapes && good; k++) {
            te_ctx *ctx = case_ctx(m, &cases[c], shapes[k]);
            te_error err;
            good = ctx && run_rows(ctx, &g, 1, k ? again : out, &err) == TE_OK;
            te_ctx_free(ctx);
            if (good && k == 0) {
                score sc = compare(&g, out);
                good = sc.max_abs <= 1e-4 && (is_emb ? sc.min_cos >= 0.99999 : sc.same_top == g.n);
            } else if (good && !same_outputs(out, again, g.n * g.dim)) {
                printf("  %s: shape %zu gives different results\n", cases[c].golden, k);
                good = 0;
            }
        }
        free(out);
        free(again);
        te_close(m);
        golden_free(&g);
        CHECK(good);
        CHECK(ran >= th_kernel_sets()); /* the best set and scalar at least */
    }
}

/* int8 files: embeddings cosine >= 0.99 each and >= 0.995 on average;
 * classifiers keep the top label on >= 98% of texts; rerank scores keep
 * their order (at most 2% of score pairs flipped) and stay within 0.05.
 * The shares are of the whole file: under TE_SLICE the rows kept may hold
 * every miss of the file, so they are allowed the file's whole budget of
 * misses (the same bars when nothing is sliced). */
TEST(int8_within_bars) {
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        golden g;
        CHECK(golden_load(cases[c].golden, &g));
        char name[64];
        snprintf(name, sizeof name, "%s-int8", cases[c].model);
        te_model *m = th_open_model(name);
        CHECK(m);
        te_ctx *ctx = case_ctx(m, &cases[c], (te_ctx_opts){.threads = 2});
        float *out = calloc(g.n * g.dim, sizeof *out);
        te_error err;
        te_status st = run_rows(ctx, &g, 0, out, &err);
        score sc = compare(&g, out);
        size_t pairs = g.n * (g.n - 1) / 2;
        printf("  %s int8: min cos %.5f mean %.5f max abs %.3f top %zu/%zu order flips %zu/%zu\n", cases[c].golden,
               sc.min_cos, sc.mean_cos, sc.max_abs, sc.same_top, g.n, sc.order_flips, pairs);
        te_ctx_free(ctx);
        te_close(m);
        free(out);
        int is_emb = g.label[0] == NULL, is_rerank = g.dim == 1;
        double n = (double)g.n, all = (double)g.n_all;
        golden_free(&g);
        CHECK(st == TE_OK);
        if (is_emb) CHECK(sc.min_cos >= 0.99 && (1 - sc.mean_cos) * n <= 0.005 * all);
        else if (is_rerank) CHECK(sc.order_flips * 50 <= all * (all - 1) / 2 && sc.max_abs <= 0.05);
        else CHECK((n - (double)sc.same_top) * 100 <= all * 2);
    }
}

/* A classifier refuses te_embed and an embedding model te_classify, each
 * naming what to call instead; info describes each architecture. */
TEST(kinds_and_info) {
    te_model *cls = th_open_model("distilbert-sst2"), *ce = th_open_model("ce-minilm"), *emb = th_open_model("nomic-mean"),
             *mp = th_open_model("mpnet-mean");
    CHECK(cls && ce && emb && mp);
    te_model_info in;
    te_model_get_info(cls, &in);
    CHECK_STR_EQ(in.arch, "distilbert");
    CHECK_EQ_INT(in.kind, TE_KIND_CLASSIFIER);
    CHECK_EQ_INT(in.num_labels, 2);
    CHECK_STR_EQ(in.labels[0], "NEGATIVE");
    CHECK_STR_EQ(in.labels[1], "POSITIVE");
    CHECK_EQ_INT(in.score_fn, TE_SCORE_SOFTMAX);
    CHECK_EQ_INT(in.type_vocab_size, 0);
    te_model_get_info(ce, &in);
    CHECK_EQ_INT(in.kind, TE_KIND_RERANKER);
    CHECK_EQ_INT(in.score_fn, TE_SCORE_SIGMOID);
    te_model_get_info(emb, &in);
    CHECK_STR_EQ(in.arch, "nomic_bert");
    CHECK_EQ_INT(in.position, TE_POS_ROTARY);
    CHECK_EQ_INT(in.gated_ffn, 1);
    te_model_get_info(mp, &in);
    CHECK_EQ_INT(in.position, TE_POS_RELATIVE);
    te_ctx *c1 = te_ctx_new(cls, NULL, NULL), *c2 = te_ctx_new(emb, NULL, NULL), *c3 = te_ctx_new(ce, NULL, NULL);
    const char *t = "hello";
    float v[1024];
    te_error err;
    CHECK_EQ_INT(te_embed(c1, &t, NULL, 1, v, &err), TE_ERR_ARG);
    CHECK_HAS(err.msg, "te_classify");
    CHECK_EQ_INT(te_classify(c2, &t, NULL, 1, 0, v, NULL, &err), TE_ERR_ARG);
    CHECK_HAS(err.msg, "te_embed");
    CHECK_EQ_INT(te_rerank(c1, "q", 1, &t, NULL, 1, 0, v, NULL, &err), TE_ERR_ARG);
    CHECK_HAS(err.msg, "not a reranker");
    /* raw: the logit; else its sigmoid */
    float raw, prob;
    CHECK_EQ_INT(te_rerank(c3, "q", 1, &t, NULL, 1, 1, &raw, NULL, &err), TE_OK);
    CHECK_EQ_INT(te_rerank(c3, "q", 1, &t, NULL, 1, 0, &prob, NULL, &err), TE_OK);
    CHECK_NEAR(prob, 1.0 / (1.0 + exp(-(double)raw)), 1e-6);
    te_ctx_free(c1);
    te_ctx_free(c2);
    te_ctx_free(c3);
    te_close(cls);
    te_close(ce);
    te_close(emb);
    te_close(mp);
}

/* Truncation is reported per text: a long text is flagged, a short one not,
 * and a lower context max_seq_length cuts earlier. */
TEST(truncation_reported) {
    te_model *m = th_open_model("nomic-mean");
    CHECK(m);
    char long_text[4000] = "";
    for (int i = 0; i < 300; i++) strcat(long_text, "word ");
    const char *texts[2] = {"short text", long_text};
    uint8_t cut[2] = {9, 9};
    float v[2 * 64];
    te_ctx_opts o = {.threads = 1, .max_seq_length = 16};
    te_ctx *c = te_ctx_new(m, &o, NULL);
    te_error err;
    CHECK_EQ_INT(te_embed_ex(c, texts, NULL, 2, v, cut, &err), TE_OK);
    CHECK_EQ_INT(cut[0], 0);
    CHECK_EQ_INT(cut[1], 1);
    const char *exact = "a b c d e f g h i j k l m n"; /* 14 words + 2 specials = 16: fits exactly */
    CHECK_EQ_INT(te_embed_ex(c, &exact, NULL, 1, v, cut, &err), TE_OK);
    CHECK_EQ_INT(cut[0], 0);
    te_ctx_free(c);
    te_close(m);
}

/* Long texts: ours (tests/data/make_arch_long.sh, the same float64
 * reference): MPNet past its last relative bucket and with a literal <pad>
 * (which sits at the padding position), NomicBERT's rotary up to 700+
 * positions; and the public ModernBERT and Qwen3 ones of 2,000-2,700
 * tokens, across ModernBERT's local layers' sliding window and Qwen3's
 * causal attention. Every text spans many 64-query attention blocks. */
TEST(long_contexts_match_reference) {
    static const struct { const char *model, *file; size_t rows, longer_than; } longs[] = {
        {"mpnet-long", "tests/data/arch_long_mpnet-long.jsonl", 5, 600},
        {"nomic-long", "tests/data/arch_long_nomic-long.jsonl", 5, 600},
        {"modernbert-cls", "arch/golden/modernbert-cls-long.jsonl", 3, 2000},
        {"modernbert-mean", "arch/golden/modernbert-mean-long.jsonl", 3, 2000},
        {"qwen3-embed", "arch/golden/qwen3-embed-long.jsonl", 3, 2000},
    };
    for (size_t c = 0; c < sizeof longs / sizeof *longs; c++) {
        char path[1024];
        if (!strncmp(longs[c].file, "tests/", 6)) snprintf(path, sizeof path, "%s", longs[c].file);
        else th_path(path, sizeof path, "TE_REF", longs[c].file);
        golden g;
        CHECK_MSG(golden_read(path, &g) && g.n == longs[c].rows, "cannot read %s (run from the repository root)", path);
        te_model *m = th_open_model(longs[c].model);
        CHECK(m);
        float *out = calloc(g.n * g.dim, sizeof *out), *again = calloc(g.n * g.dim, sizeof *again);
        te_ctx_opts o1 = {.threads = 2}, o2 = {.threads = 1, .max_batch_tokens = 64};
        te_ctx *c1 = te_ctx_new(m, &o1, NULL), *c2 = te_ctx_new(m, &o2, NULL);
        te_error err;
        int ok = c1 && c2 && te_embed(c1, (const char *const *)g.text, NULL, g.n, out, &err) == TE_OK;
        ok = ok && run_rows(c2, &g, 1, again, &err) == TE_OK;
        score sc = compare(&g, out);
        size_t longest = 0;
        for (size_t i = 0; i < g.n; i++) longest = g.n_ids[i] > longest ? g.n_ids[i] : longest;
        printf("  %s: %zu texts up to %zu tokens: min cos %.7f max abs %.2e\n", longs[c].model, g.n, longest, sc.min_cos,
               sc.max_abs);
        ok = ok && sc.min_cos >= 0.99999 && sc.max_abs <= 1e-4 && longest > longs[c].longer_than;
        ok = ok && same_outputs(out, again, g.n * g.dim); /* from ids, one thread: the same */
        te_ctx_free(c1);
        te_ctx_free(c2);
        te_close(m);
        free(out);
        free(again);
        golden_free(&g);
        CHECK(ok);
    }
}

/* tokenizer.json's post_processor in its three forms frames texts alike:
 * MPNet's TemplateProcessing, the same as RobertaProcessing (pairs
 * <s> a </s></s> b </s>), and BertProcessing on the BERT models. */
TEST(post_processor_forms) {
    char dir[1024], tj[1400], out[1400];
    th_path(dir, sizeof dir, "TE_HF", "mpnet-mean");
    snprintf(tj, sizeof tj, "%s/tokenizer.json", dir);
    char *json = th_read_file(tj, NULL);
    CHECK(json);
    char *pp = strstr(json, "\"post_processor\"");
    char *dec = pp ? strstr(pp, "\"decoder\"") : NULL;
    CHECK(pp && dec);
    /* a copy of the model directory whose tokenizer.json says RobertaProcessing */
    char copy[1100], cmd[4000];
    snprintf(copy, sizeof copy, "%.1000s-roberta", dir);
    snprintf(cmd, sizeof cmd, "rm -rf '%s' && cp -r '%s' '%s'", copy, dir, copy);
    CHECK(system(cmd) == 0);
    snprintf(tj, sizeof tj, "%s/tokenizer.json", copy);
    FILE *f = fopen(tj, "w");
    CHECK(f);
    fprintf(f, "%.*s\"post_processor\": {\"type\": \"RobertaProcessing\", \"sep\": [\"</s>\", 2], \"cls\": [\"<s>\", 0], "
            "\"trim_offsets\": true, \"add_prefix_space\": false},\n  %s", (int)(pp - json), json, dec);
    fclose(f);
    free(json);
    snprintf(out, sizeof out, "%s.temb", copy);
    te_error err;
    CHECK_MSG(te_convert(copy, out, NULL, &err) == TE_OK, "%s", err.msg);
    te_model *a = th_open_model("mpnet-mean"), *b = te_open(out, NULL, &err);
    CHECK(a && b);
    int32_t ia[64], ib[64];
    uint8_t ta[64], tb[64];
    size_t na, nb;
    CHECK_EQ_INT(te_tokenize_pair(a, "a cat", 5, "the dog", 7, ia, ta, 64, &na, NULL, &err), TE_OK);
    CHECK_EQ_INT(te_tokenize_pair(b, "a cat", 5, "the dog", 7, ib, tb, 64, &nb, NULL, &err), TE_OK);
    CHECK_EQ_INT(na, 8);
    CHECK(nb == na && memcmp(ia, ib, na * sizeof *ia) == 0);
    CHECK(ia[0] == 0 && ia[3] == 2 && ia[4] == 2 && ia[7] == 2); /* <s> a cat </s></s> the dog </s> */
    CHECK_EQ_INT(tb[7], 0);                                        /* RoBERTa: all type 0 */
    CHECK_EQ_INT(te_tokenize(b, "a cat", 5, ib, 64, &nb, &err), TE_OK);
    CHECK(nb == 4 && ib[0] == 0 && ib[3] == 2);
    te_close(a);
    te_close(b);
    unlink(out);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", copy);
    CHECK(system(cmd) == 0);
}

int main(void) {
    RUN(tokenizer_matches_goldens);
    RUN(f32_matches_goldens);
    RUN(int8_within_bars);
    RUN(kinds_and_info);
    RUN(truncation_reported);
    RUN(long_contexts_match_reference);
    RUN(post_processor_forms);
    return th_done();
}
