/*
 * bench_search.c - `tinyembed bench --index CORPUS.tidx --queries Q.txt`:
 * search latency per query, for each mode the index supports, with the
 * queries embedded beforehand (embedding is `bench`'s W2; this measures the
 * search alone): median, p95 and mean over every query of every pass.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_search.h"
#include "results.h"
#include "search_session.h"

typedef struct mode_stats {
    int ran;
    double median, p95, mean;
} mode_stats;

static int read_lines(const cli_cmd *cmd, const char *path, char ***out, size_t *n) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        cli_error(cmd, "%s: cannot open", path);
        return CLI_FAIL;
    }
    char **lines = NULL, *line = NULL;
    size_t cap = 0, lcap = 0;
    ssize_t len;
    *n = 0;
    while ((len = getline(&line, &lcap, f)) >= 0) {
        if (len > 0 && line[len - 1] == '\n') line[--len] = '\0';
        if (len == 0) continue;
        if (*n == cap) {
            char **l = realloc(lines, (cap = cap ? 2 * cap : 256) * sizeof *l);
            if (!l) break;
            lines = l;
        }
        lines[(*n)++] = strdup(line);
    }
    free(line);
    fclose(f);
    *out = lines;
    if (*n == 0) {
        cli_error(cmd, "%s: no queries", path);
        free(lines);
        return CLI_FAIL;
    }
    return CLI_OK;
}

/* Writes the figures to DIR/benchmarks/... (--save) or to FILE (--json, dir NULL). */
static int save(const cli_cmd *cmd, const char *dir, const char *file, const search_session *ss, size_t nq, long runs,
                long k, const mode_stats *st) {
    results_file r;
    if ((dir ? results_open(&r, cmd->name, dir, "benchmarks") : results_open_path(&r, cmd->name, file)) != 0)
        return CLI_FAIL;
    FILE *f = r.f;
    fputc('{', f);
    results_header(&r, "tinyembed.benchmark/1", te_index_ctx_simd(ss->sc), te_index_ctx_threads(ss->sc));
    if (ss->s.m) {
        fputs(",\"model\":", f);
        cli_json_model_info(f, &ss->s.info);
    }
    fprintf(f, ",\"search\":{\"documents\":%llu,\"dim\":%d,\"vectors\":", (unsigned long long)ss->info.n_docs, ss->info.dim);
    if (ss->info.dim) fprintf(f, "\"%s\"", te_dtype_name(ss->info.dtype));
    else fputs("null", f);
    fprintf(f, ",\"queries\":%zu,\"passes\":%ld,\"k\":%ld", nq, runs, k);
    for (int m = 0; m < 3; m++)
        if (st[m].ran)
            fprintf(f, ",\"%s\":{\"median_ms\":%.5f,\"p95_ms\":%.5f,\"mean_ms\":%.5f}", search_mode_names[m], st[m].median,
                    st[m].p95, st[m].mean);
    fputs("}}\n", f);
    if (results_commit(&r, cmd->name, "benchmark") != 0) return CLI_FAIL;
    if (dir) fprintf(stderr, "saved %s\n", r.path);
    return CLI_OK;
}

int bench_search(const cli_cmd *cmd, const cli_args *a) {
    const char *qpath = cli_get(cmd, a, "queries");
    long runs, k;
    int rc;
    if ((rc = cli_get_int(cmd, a, "runs", 1, 1000, 3, &runs)) != CLI_OK) return rc;
    if ((rc = cli_get_int(cmd, a, "k", 1, 100000, 10, &k)) != CLI_OK) return rc;
    if (!qpath) {
        cli_error(cmd, "--index needs --queries FILE (query texts, one per line)");
        return CLI_USAGE;
    }
    char **qs = NULL;
    size_t nq = 0;
    if ((rc = read_lines(cmd, qpath, &qs, &nq)) != CLI_OK) return rc;
    search_session ss;
    if ((rc = search_session_open(cmd, a, SEARCH_MODEL_IF_VECTORS, 0, &ss)) != CLI_OK) goto done_q;
    size_t dim = (size_t)ss.info.dim;
    float *vecs = malloc(nq * (dim ? dim : 1) * sizeof *vecs);
    double *ms = malloc(nq * (size_t)runs * sizeof *ms);
    te_index_hit *hits = malloc((size_t)k * sizeof *hits);
    mode_stats st[3] = {{0}};
    if (!vecs || !ms || !hits) rc = (cli_error(cmd, "out of memory"), CLI_FAIL);
    for (size_t i = 0; rc == CLI_OK && dim && i < nq; i++) {
        rc = search_embed(cmd, &ss, qs[i], strlen(qs[i]));
        memcpy(vecs + i * dim, ss.qvec, dim * sizeof *vecs);
    }
    for (int m = 0; rc == CLI_OK && m < 3; m++) {
        if (m != MODE_BM25 && !dim) continue;
        size_t n = 0, nh;
        double sum = 0;
        for (long r = -1; r < runs && rc == CLI_OK; r++) /* pass -1 warms caches, untimed */
            for (size_t i = 0; i < nq && rc == CLI_OK; i++) {
                if (dim) memcpy(ss.qvec, vecs + i * dim, dim * sizeof *vecs);
                double t0 = 1e3 * cli_now_s();
                rc = search_run(cmd, &ss, (search_mode)m, qs[i], strlen(qs[i]), (size_t)k, -1, hits, &nh);
                double t = 1e3 * cli_now_s() - t0;
                if (r >= 0) sum += ms[n++] = t;
            }
        qsort(ms, n, sizeof *ms, cli_cmp_double);
        st[m] = (mode_stats){1, ms[n / 2], ms[(size_t)(0.95 * (double)(n - 1))], sum / (double)n};
    }
    if (rc == CLI_OK) {
        printf("search: %llu documents, ", (unsigned long long)ss.info.n_docs);
        if (dim) printf("%zu-value %s vectors, ", dim, te_dtype_name(ss.info.dtype));
        printf("%.0f words per document; %zu queries x %ld passes, k = %ld; kernels %s\n", ss.info.avg_doc_words, nq, runs,
               k, te_index_ctx_simd(ss.sc));
        printf("  (%d threads for the vector scan)\n", te_index_ctx_threads(ss.sc));
        for (int m = 0; m < 3; m++)
            if (st[m].ran)
                printf("  %-7s median %.3f ms   p95 %.3f ms   mean %.3f ms%s\n", search_mode_names[m], st[m].median,
                       st[m].p95, st[m].mean, m == MODE_BM25 ? "" : "   (query embedding excluded)");
        const char *dir = cli_get(cmd, a, "save"), *json = cli_get(cmd, a, "json");
        if (json) rc = save(cmd, NULL, json, &ss, nq, runs, k, st);
        if (rc == CLI_OK && dir) rc = save(cmd, dir, NULL, &ss, nq, runs, k, st);
    }
    free(vecs);
    free(ms);
    free(hits);
    search_session_close(&ss);
done_q:
    for (size_t i = 0; i < nq; i++) free(qs[i]);
    free(qs);
    return rc;
}
