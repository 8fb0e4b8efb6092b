/*
 * cmd_classify.c - `tinyembed classify -m MODEL [TEXT ...]` and
 * `tinyembed rerank -m MODEL QUERY [TEXT ...]`: label scores of each text
 * (like the Hugging Face text-classification pipeline with top_k=None) and
 * the relevance of each text to a query from a cross-encoder (like
 * sentence-transformers' CrossEncoder.rank). Texts come from the arguments
 * (after `--` when they may start with a dash) or from the lines of stdin.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const cli_opt classify_opts[] = {
    {"model", 'm', "MODEL", "the .temb classifier (required)"},
    {"raw", 0, NULL, "print the logits instead of the scores (softmax, or sigmoid for one label)"},
    {"top-k", 'k', "N", "print only the N best labels of each text (default: all)"},
    {"threads", 't', "N", "worker threads (default: one per core)"},
    {"batch", 'b', "N", "texts per forward pass (default 32)"},
    {"max-len", 0, "N", "cut texts at N tokens, special tokens included (default and upper bound: the model's)"},
    {"simd", 0, "LEVEL", "force a kernel set: avx512vnni, avx512, avx2, neon, scalar (default: best; env TE_SIMD)"},
    {"strategy", 0, "S", "loading: lazy, eager, background, progressive, auto (default: env TE_STRATEGY, else lazy)"},
    {NULL, 0, NULL, NULL},
};

static const cli_cmd classify_cmd = {
    "classify", "[TEXT ...]",
    "Print, per TEXT (or line of stdin), one JSON array of {\"label\", \"score\"}, best first.",
    "Scores are what the model's config says: softmax over the labels (sigmoid for one label or a\n"
    "multi-label problem), as the Hugging Face text-classification pipeline with top_k=None gives.\n"
    "Texts longer than the limit are cut; stderr then says how many.",
    classify_opts, 0, CLI_MAX_POS,
};

static const cli_opt rerank_opts[] = {
    {"model", 'm', "MODEL", "the .temb cross-encoder (required)"},
    {"raw", 0, NULL, "print the logit instead of the score (sigmoid of the logit by default)"},
    {"top-k", 'k', "N", "print only the N best texts (default: all)"},
    {"threads", 't', "N", "worker threads (default: one per core)"},
    {"batch", 'b', "N", "pairs per forward pass (default 32)"},
    {"max-len", 0, "N", "cut each pair at N tokens, special tokens included (default and upper bound: the model's)"},
    {"simd", 0, "LEVEL", "force a kernel set: avx512vnni, avx512, avx2, neon, scalar (default: best; env TE_SIMD)"},
    {"strategy", 0, "S", "loading: lazy, eager, background, progressive, auto (default: env TE_STRATEGY, else lazy)"},
    {NULL, 0, NULL, NULL},
};

static const cli_cmd rerank_cmd = {
    "rerank", "QUERY [TEXT ...]",
    "Score each TEXT (or line of stdin) against QUERY; print {\"index\", \"score\"} lines, best first.",
    "Each pair is [CLS] QUERY [SEP] TEXT [SEP] with token types 0 then 1; a pair too long is cut as\n"
    "Hugging Face's truncation=True does (the longer side loses tokens first). The score is the\n"
    "sigmoid of the logit, as sentence-transformers' CrossEncoder, unless the model's config names\n"
    "another activation. index is the text's position among the texts (0-based).\n"
    "Use -- before texts that may start with a dash.",
    rerank_opts, 1, CLI_MAX_POS,
};

/* All texts: the arguments, or every line of stdin (kept: scores are sorted). */
typedef struct text_list {
    const char **texts;
    size_t *lens;
    size_t n;
    char **lines; /* stdin: cap getline buffers (NULL or allocated), owned */
    size_t *caps;
    size_t cap;
} text_list;

static int read_texts(const cli_cmd *cmd, const char *const *args, size_t n_args, text_list *t) {
    memset(t, 0, sizeof *t);
    if (n_args > 0) {
        t->texts = malloc(n_args * sizeof *t->texts);
        t->lens = malloc(n_args * sizeof *t->lens);
        if (!t->texts || !t->lens) goto nomem;
        for (size_t i = 0; i < n_args; i++) t->texts[i] = args[i], t->lens[i] = strlen(args[i]);
        t->n = n_args;
        return CLI_OK;
    }
    size_t bytes = 0;
    for (;;) {
        if (t->n + CLI_CHUNK_LINES > t->cap) {
            size_t cap = t->cap, nc = cap ? cap * 2 : CLI_CHUNK_LINES;
            char **l = realloc(t->lines, nc * sizeof *l);
            if (l) t->lines = l;
            size_t *c = l ? realloc(t->caps, nc * sizeof *c) : NULL;
            if (c) t->caps = c;
            size_t *n = c ? realloc(t->lens, nc * sizeof *n) : NULL;
            if (!n) goto nomem;
            t->lens = n;
            memset(t->lines + cap, 0, (nc - cap) * sizeof *l);
            memset(t->caps + cap, 0, (nc - cap) * sizeof *c);
            t->cap = nc;
        }
        size_t got = cli_read_lines(t->lines + t->n, t->caps + t->n, t->lens + t->n, CLI_CHUNK_LINES, &bytes);
        t->n += got;
        if (got < CLI_CHUNK_LINES) break;
    }
    t->texts = (const char **)t->lines;
    return CLI_OK;
nomem:
    cli_error(cmd, "out of memory");
    return CLI_FAIL;
}

static void free_texts(text_list *t) {
    if (t->lines) {
        for (size_t i = 0; i < t->cap; i++) free(t->lines[i]);
        free(t->lines);
        free(t->caps);
    } else {
        free(t->texts);
    }
    free(t->lens);
}

/* Sorting (score, index) best first; ties keep input order. */
typedef struct ranked {
    float score;
    size_t index;
} ranked;

static int by_score(const void *a, const void *b) {
    const ranked *x = a, *y = b;
    if (x->score != y->score) return x->score < y->score ? 1 : -1;
    return x->index < y->index ? -1 : x->index > y->index;
}

static void sort_scores(const float *scores, size_t n, ranked *r) {
    for (size_t i = 0; i < n; i++) r[i] = (ranked){scores[i], i};
    qsort(r, n, sizeof *r, by_score);
}

int cmd_classify(int argc, char **argv) {
    cli_args a;
    int rc = cli_parse(&classify_cmd, argc, argv, &a);
    if (rc != CLI_OK) return rc == CLI_HELP ? 0 : rc;
    long top_k;
    if ((rc = cli_get_int(&classify_cmd, &a, "top-k", 1, 1 << 16, 1 << 16, &top_k)) != CLI_OK) return rc;
    cli_session s;
    if ((rc = cli_session_open(&classify_cmd, &a, &s)) != CLI_OK) return rc;
    text_list t;
    if ((rc = read_texts(&classify_cmd, a.pos, (size_t)a.n_pos, &t)) != CLI_OK) {
        cli_session_close(&s);
        return rc;
    }
    size_t L = (size_t)(s.info.num_labels > 0 ? s.info.num_labels : 1);
    float *out = malloc((t.n ? t.n : 1) * L * sizeof *out);
    uint8_t *cut = malloc(t.n ? t.n : 1);
    ranked *r = malloc(L * sizeof *r);
    te_error err;
    if (!out || !cut || !r) {
        cli_error(&classify_cmd, "out of memory");
        rc = CLI_FAIL;
    } else if (te_classify(s.ctx, t.texts, t.lens, t.n, cli_flag(&classify_cmd, &a, "raw"), out, cut, &err) != TE_OK) {
        rc = cli_lib_error(&classify_cmd, &err);
    }
    for (size_t i = 0; rc == CLI_OK && i < t.n; i++) {
        sort_scores(out + i * L, L, r);
        putchar('[');
        for (size_t k = 0; k < L && k < (size_t)top_k; k++) {
            char num[32];
            cli_fmt_float(num, sizeof num, r[k].score);
            fputs(k ? ", {\"label\": " : "{\"label\": ", stdout);
            cli_json_str(stdout, s.info.labels ? s.info.labels[r[k].index] : "");
            printf(", \"score\": %s}", num);
        }
        puts("]");
    }
    if (rc == CLI_OK) cli_truncation_note(&classify_cmd, &s, cli_count_truncated(cut, t.n), t.n, "texts were");
    free(out);
    free(cut);
    free(r);
    free_texts(&t);
    cli_session_close(&s);
    return rc;
}

int cmd_rerank(int argc, char **argv) {
    cli_args a;
    int rc = cli_parse(&rerank_cmd, argc, argv, &a);
    if (rc != CLI_OK) return rc == CLI_HELP ? 0 : rc;
    long top_k;
    if ((rc = cli_get_int(&rerank_cmd, &a, "top-k", 1, 1L << 30, 1L << 30, &top_k)) != CLI_OK) return rc;
    cli_session s;
    if ((rc = cli_session_open(&rerank_cmd, &a, &s)) != CLI_OK) return rc;
    text_list t;
    if ((rc = read_texts(&rerank_cmd, a.pos + 1, (size_t)a.n_pos - 1, &t)) != CLI_OK) {
        cli_session_close(&s);
        return rc;
    }
    float *out = malloc((t.n ? t.n : 1) * sizeof *out);
    uint8_t *cut = malloc(t.n ? t.n : 1);
    ranked *r = malloc((t.n ? t.n : 1) * sizeof *r);
    te_error err;
    const char *query = a.pos[0];
    if (!out || !cut || !r) {
        cli_error(&rerank_cmd, "out of memory");
        rc = CLI_FAIL;
    } else if (te_rerank(s.ctx, query, strlen(query), t.texts, t.lens, t.n, cli_flag(&rerank_cmd, &a, "raw"), out, cut,
                         &err) != TE_OK) {
        rc = cli_lib_error(&rerank_cmd, &err);
    }
    if (rc == CLI_OK) sort_scores(out, t.n, r);
    for (size_t i = 0; rc == CLI_OK && i < t.n && i < (size_t)top_k; i++) {
        char num[32];
        cli_fmt_float(num, sizeof num, r[i].score);
        printf("{\"index\": %zu, \"score\": %s}\n", r[i].index, num);
    }
    if (rc == CLI_OK) cli_truncation_note(&rerank_cmd, &s, cli_count_truncated(cut, t.n), t.n, "pairs were");
    free(out);
    free(cut);
    free(r);
    free_texts(&t);
    cli_session_close(&s);
    return rc;
}
