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

/* Both commands take the same options. */
static const cli_opt score_opts[] = {
    {"model", 'm', "MODEL", "the .temb classifier or cross-encoder (default: the one bundled in this executable)"},
    {"raw", 0, NULL, "print logits instead of scores (the model's softmax or sigmoid of them)"},
    {"top-k", 'k', "N", "print only the N best (labels of each text, or texts) (default: all)"},
    {"threads", 't', "N", "worker threads (default: one per core)"},
    {"batch", 'b', "N", "texts or pairs per forward pass (default 32)"},
    {"max-len", 0, "N", "cut each text or pair at N tokens, special tokens included (default and upper bound: the model's)"},
    {"max-memory", 0, "SIZE", "bound the scratch memory (e.g. 16M): fewer tokens per pass, shorter texts if need be"},
    {"simd", 0, "LEVEL", "force a kernel set: avx512bf16, avx512vnni, avx512, avxvnni, avx2, neon, scalar (default: best; env TE_SIMD)"},
    {"strategy", 0, "S", "loading: lazy, eager, background, progressive, auto (default: env TE_STRATEGY, else lazy)"},
    {NULL, 0, NULL, NULL},
};

static const cli_cmd classify_cmd = {
    "classify", "[TEXT ...]",
    "Print, per TEXT (or line of stdin), one JSON array of {\"label\", \"score\"}, best first.",
    "Scores are what the model's config says: softmax over the labels (sigmoid for one label or a\n"
    "multi-label problem), as the Hugging Face text-classification pipeline with top_k=None gives.\n"
    "Texts longer than the limit are cut; stderr then says how many.",
    score_opts, 0, CLI_MAX_POS,
};

static const cli_cmd rerank_cmd = {
    "rerank", "QUERY [TEXT ...]",
    "Score each TEXT (or line of stdin) against QUERY; print {\"index\", \"score\"} lines, best first.",
    "Each pair is [CLS] QUERY [SEP] TEXT [SEP] with token types 0 then 1; a pair too long is cut as\n"
    "Hugging Face's truncation=True does (the longer side loses tokens first). The score is the\n"
    "sigmoid of the logit, as sentence-transformers' CrossEncoder, unless the model's config names\n"
    "another activation. index is the text's position among the texts (0-based).\n"
    "Use -- before texts that may start with a dash.",
    score_opts, 1, CLI_MAX_POS,
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
        size_t got = cli_read_lines(stdin, t->lines + t->n, t->caps + t->n, t->lens + t->n, CLI_CHUNK_LINES, &bytes);
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

/* What both commands hold while they run. */
typedef struct scoring {
    cli_session s;
    text_list t;
    float *out;       /* [n * per_text] */
    uint8_t *cut;     /* [n] truncated flags */
    cli_ranked *r;    /* [max(n, per_text)] */
    long top_k;
} scoring;

/* Opens the model, reads the texts (arguments from first_text on, or stdin)
 * and allocates the outputs; CLI_OK or an error already printed. */
static int scoring_open(const cli_cmd *cmd, const cli_args *a, int first_text, scoring *x) {
    memset(x, 0, sizeof *x);
    int rc = cli_get_int(cmd, a, "top-k", 1, 1L << 30, 1L << 30, &x->top_k);
    if (rc != CLI_OK || (rc = cli_session_open(cmd, a, &x->s)) != CLI_OK) return rc;
    if ((rc = read_texts(cmd, a->pos + first_text, (size_t)(a->n_pos - first_text), &x->t)) != CLI_OK) {
        cli_session_close(&x->s);
        return rc;
    }
    size_t n = x->t.n ? x->t.n : 1, per = (size_t)(x->s.info.num_labels > 0 ? x->s.info.num_labels : 1);
    x->out = malloc(n * per * sizeof *x->out);
    x->cut = malloc(n);
    x->r = malloc((n > per ? n : per) * sizeof *x->r);
    if (x->out && x->cut && x->r) return CLI_OK;
    cli_error(cmd, "out of memory");
    return CLI_FAIL;
}

/* Says what was cut (when all went well), frees everything, returns rc. */
static int scoring_close(const cli_cmd *cmd, scoring *x, int rc, const char *what) {
    if (rc == CLI_OK) cli_truncation_note(cmd, &x->s, cli_count_truncated(x->cut, x->t.n), x->t.n, what);
    free(x->out);
    free(x->cut);
    free(x->r);
    free_texts(&x->t);
    cli_session_close(&x->s);
    return rc;
}

int cmd_classify(int argc, char **argv) {
    cli_args a;
    scoring x;
    te_error err;
    int rc = cli_parse(&classify_cmd, argc, argv, &a);
    if (rc != CLI_OK) return rc == CLI_HELP ? 0 : rc;
    if ((rc = scoring_open(&classify_cmd, &a, 0, &x)) != CLI_OK) return x.s.m ? scoring_close(&classify_cmd, &x, rc, "") : rc;
    if (te_classify(x.s.ctx, x.t.texts, x.t.lens, x.t.n, cli_flag(&classify_cmd, &a, "raw"), x.out, x.cut, &err) != TE_OK)
        rc = cli_lib_error(&classify_cmd, &err);
    size_t L = (size_t)x.s.info.num_labels;
    for (size_t i = 0; rc == CLI_OK && i < x.t.n; i++) {
        cli_rank(x.out + i * L, L, x.r);
        putchar('[');
        for (size_t k = 0; k < L && k < (size_t)x.top_k; k++) {
            char num[32];
            cli_fmt_float(num, sizeof num, x.r[k].score);
            fputs(k ? ", {\"label\": " : "{\"label\": ", stdout);
            cli_json_str(stdout, x.s.info.labels ? x.s.info.labels[x.r[k].index] : "");
            printf(", \"score\": %s}", num);
        }
        puts("]");
    }
    return scoring_close(&classify_cmd, &x, rc, "texts were");
}

int cmd_rerank(int argc, char **argv) {
    cli_args a;
    scoring x;
    te_error err;
    int rc = cli_parse(&rerank_cmd, argc, argv, &a);
    if (rc != CLI_OK) return rc == CLI_HELP ? 0 : rc;
    if ((rc = scoring_open(&rerank_cmd, &a, 1, &x)) != CLI_OK) return x.s.m ? scoring_close(&rerank_cmd, &x, rc, "") : rc;
    const char *query = a.pos[0];
    if (te_rerank(x.s.ctx, query, strlen(query), x.t.texts, x.t.lens, x.t.n, cli_flag(&rerank_cmd, &a, "raw"), x.out,
                  x.cut, &err) != TE_OK)
        rc = cli_lib_error(&rerank_cmd, &err);
    if (rc == CLI_OK) cli_rank(x.out, x.t.n, x.r);
    for (size_t i = 0; rc == CLI_OK && i < x.t.n && i < (size_t)x.top_k; i++) {
        char num[32];
        cli_fmt_float(num, sizeof num, x.r[i].score);
        printf("{\"index\": %zu, \"score\": %s}\n", x.r[i].index, num);
    }
    return scoring_close(&rerank_cmd, &x, rc, "pairs were");
}
