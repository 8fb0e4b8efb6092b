/*
 * cmd_search.c - `tinyembed search -i CORPUS.tidx [-m MODEL] QUERY ...`:
 * the best k documents per query (the arguments, or each line of stdin),
 * one JSON line per query: {"query": ..., "results": [{"id", "score"}, ...]}.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "search_session.h"

static const cli_opt opts[] = {
    {"index", 'i', "FILE", "the search index (required; made by `tinyembed index`)"},
    {"model", 'm', "MODEL", "the model that made the index's vectors (default: the bundled one); not needed for bm25"},
    {"mode", 0, "M", "vector, bm25, hybrid, sparse or m3 (default: hybrid, or bm25 for an index without vectors)"},
    {"k", 'k', "N", "results per query (default 10)"},
    {"alpha", 0, "A", "hybrid: alpha * vector + (1 - alpha) * BM25 on min-max scaled scores, instead of rank fusion"},
    {"weights", 0, "D,S,C", "m3: the weights of the dense, sparse and ColBERT scores (default 0.4,0.2,0.4)"},
    {"max-len", 0, "N", "cut queries at N tokens for embedding (default and upper bound: the model's)"},
    {"prefix", 'p', "STR", "prepend STR to every query before embedding, e.g. 'search_query: '"},
    {"prompt-name", 0, "NAME", "put the model's prompt NAME in front (config_sentence_transformers.json; `info` lists them)"},
    {"threads", 't', "N", "threads for embedding and the vector scan (default: one per core)"},
    {"simd", 0, "LEVEL", "force a kernel set: avx512bf16, avx512vnni, avx512, avxvnni, avx2, neon, scalar (default: best; env TE_SIMD)"},
    {"strategy", 0, "S", "loading: lazy, eager, background, progressive, auto (default: env TE_STRATEGY, else lazy)"},
    {"verify", 0, NULL, "check every checksum of the index first (reads the whole file)"},
    {NULL, 0, NULL, NULL},
};

static const cli_cmd cmd = {
    "search", "[QUERY ...]",
    "Search an index: the best k documents for each QUERY, or each line of stdin, one JSON line each.",
    "Modes:\n"
    "  vector  exact cosine over every stored vector (the query embedded with the index's model)\n"
    "  bm25    Okapi BM25 (k1 = 1.2, b = 0.75) over the query's words: lowercased, accents\n"
    "          stripped, punctuation dropped (the BERT normalizer)\n"
    "  hybrid  reciprocal-rank fusion (RRF, k = 60) of the two, over each one's best max(k, 100);\n"
    "          with --alpha A, A * vector + (1 - A) * BM25 with each list's scores min-max scaled\n"
    "  sparse  learned-sparse retrieval: the sum over shared token ids of the query's and the\n"
    "          document's lexical weights (an index made with bge-m3)\n"
    "  m3      bge-m3's: the best max(k, 100) by dense and by sparse, re-scored as\n"
    "          (D * cosine + S * lexical + C * ColBERT) / (D + S + C) with --weights D,S,C;\n"
    "          ColBERT only when the index keeps its vectors (index --colbert)\n"
    "Scores: cosine (vector), BM25 (bm25), the fused score (hybrid), lexical (sparse), weighted\n"
    "(m3); higher is better, ties go to\n"
    "the document indexed first.",
    opts, 0, CLI_MAX_POS,
};

static void print_hits(const search_session *ss, const char *q, size_t len, const te_index_hit *hits, size_t n) {
    fputs("{\"query\":", stdout);
    cli_json_strn(stdout, q, len);
    fputs(",\"results\":[", stdout);
    for (size_t i = 0; i < n; i++) {
        size_t id_len;
        const char *id = te_index_doc_id(ss->ix, hits[i].doc, &id_len);
        char score[32];
        cli_fmt_float(score, sizeof score, hits[i].score);
        fputs(i ? ",{\"id\":" : "{\"id\":", stdout);
        cli_json_strn(stdout, id, id_len);
        printf(",\"score\":%s}", score);
    }
    fputs("]}\n", stdout);
}

static int search_one(search_session *ss, search_mode mode, const char *q, size_t len, size_t k, float alpha,
                      te_index_hit *hits) {
    size_t n;
    int rc = mode == MODE_BM25 ? CLI_OK : search_embed(&cmd, ss, q, len);
    if (rc == CLI_OK) rc = search_run(&cmd, ss, mode, q, len, k, alpha, hits, &n);
    if (rc == CLI_OK) print_hits(ss, q, len, hits, n);
    return rc;
}

int cmd_search(int argc, char **argv) {
    cli_args a;
    int rc = cli_parse(&cmd, argc, argv, &a);
    if (rc != CLI_OK) return rc == CLI_HELP ? 0 : rc;
    long k;
    if ((rc = cli_get_int(&cmd, &a, "k", 1, 100000, 10, &k)) != CLI_OK) return rc;
    /* A model embeds the queries unless the search is BM25 only. */
    const char *m = cli_get(&cmd, &a, "mode");
    search_session ss;
    if ((rc = search_session_open(&cmd, &a, m ? strcmp(m, "bm25") != 0 : SEARCH_MODEL_IF_VECTORS, 0, &ss)) != CLI_OK)
        return rc;
    search_mode mode;
    float alpha;
    te_index_hit *hits = malloc((size_t)k * sizeof *hits);
    if ((rc = search_mode_opts(&cmd, &a, &ss, &mode, &alpha)) != CLI_OK) goto done;
    if (!hits) {
        cli_error(&cmd, "out of memory");
        rc = CLI_FAIL;
        goto done;
    }
    if (a.n_pos > 0) {
        for (int i = 0; rc == CLI_OK && i < a.n_pos; i++) rc = search_one(&ss, mode, a.pos[i], strlen(a.pos[i]), (size_t)k, alpha, hits);
    } else {
        char *line = NULL;
        size_t cap = 0;
        ssize_t len;
        while (rc == CLI_OK && (len = getline(&line, &cap, stdin)) >= 0) {
            if (len > 0 && line[len - 1] == '\n') len--;
            rc = search_one(&ss, mode, line, (size_t)len, (size_t)k, alpha, hits);
        }
        free(line);
    }
    if (rc == CLI_OK && fflush(stdout) != 0) {
        cli_error(&cmd, "cannot write the output");
        rc = CLI_FAIL;
    }
done:
    free(hits);
    search_session_close(&ss);
    return rc;
}
