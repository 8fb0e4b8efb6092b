/*
 * cmd_audit.c - `tinyembed audit`: retrieval quality and latency on queries
 * whose right documents are known, for vector, BM25 and hybrid search side
 * by side; `--save DIR` keeps the run as DIR/retrieval_audits/audit_*.json
 * (schema in docs/RESULTS.md) and `--compare A.json B.json` shows what
 * changed between two saved runs (e.g. f32 against int8).
 *
 * Metrics over the top k of each query (binary relevance, targets T):
 *   MRR@k      mean of 1 / rank of the first target found (0 if none)
 *   recall@1   mean of |T in top 1| / |T|;  recall@k likewise in the top k
 *   nDCG@k     DCG = sum over found targets of 1 / log2(rank + 1),
 *              over the ideal DCG with min(|T|, k) targets ranked first
 * Latency per query: vector and hybrid include embedding the query (also
 * reported alone); "search" figures exclude it.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "results.h"
#include "search_session.h"

static const cli_opt opts[] = {
    {"index", 'i', "FILE", "the search index (made by `tinyembed index` with the same model)"},
    {"model", 'm', "MODEL", "the model that made the index's vectors (default: the bundled one)"},
    {"queries", 'q', "FILE", "queries, one JSON object per line: {\"query\": ..., \"target\": id or [ids]}"},
    {"k", 'k', "N", "results per query (default 10)"},
    {"alpha", 0, "A", "hybrid: weighted score fusion with this vector weight instead of rank fusion"},
    {"weights", 0, "D,S,C", "m3: the weights of the dense, sparse and ColBERT scores (default 0.4,0.2,0.4)"},
    {"max-len", 0, "N", "cut queries at N tokens for embedding (default and upper bound: the model's)"},
    {"prefix", 'p', "STR", "prepend STR to every query before embedding"},
    {"prompt-name", 0, "NAME", "put the model's prompt NAME in front (config_sentence_transformers.json; `info` lists them)"},
    {"save", 0, "DIR", "also write DIR/retrieval_audits/audit_YYYYMMDD_HHMMSS.json"},
    {"compare", 0, NULL, "compare two saved audits given as arguments: A.json B.json"},
    {"top", 0, "N", "--compare: list the N queries whose rank changed most per mode (default 10)"},
    {"threads", 't', "N", "threads for embedding and the vector scan (default: one per core)"},
    {"simd", 0, "LEVEL", "force a kernel set: avx512bf16, avx512vnni, avx512, avxvnni, avx2, neon, scalar (default: best; env TE_SIMD)"},
    {"strategy", 0, "S", "loading: lazy, eager, background, progressive, auto (default: env TE_STRATEGY, else lazy)"},
    {NULL, 0, NULL, NULL},
};

static const cli_cmd cmd = {
    "audit", "[A.json B.json]",
    "Measure retrieval quality (MRR@k, recall@1, recall@k, nDCG@k) and latency per query of vector,\n"
    "BM25 and hybrid search (and sparse and m3, on an index with lexical weights) on queries whose\n"
    "right documents are known.",
    "  tinyembed audit -i corpus.tidx -m model.temb -q queries.jsonl [--save results]\n"
    "  tinyembed audit --compare results/retrieval_audits/A.json results/retrieval_audits/B.json\n"
    "The index is checked in full (every checksum) first. Latency of vector and hybrid includes\n"
    "embedding the query, which is also reported alone (one forward pass gives what every mode needs).\n"
    "The saved file's schema: docs/RESULTS.md.",
    opts, 0, 2,
};

#define N_MODES N_SEARCH_MODES

typedef struct query {
    te_json *doc;
    const char *text;
    uint32_t *targets;
    size_t n_targets;
    double embed_ms;
    double ms[N_MODES];       /* search alone */
    int rank[N_MODES];        /* of the first target found, 0: none in the top k */
    double rr[N_MODES], r1[N_MODES], rk[N_MODES], ndcg[N_MODES];
} query;

/* Document ids to numbers: open addressing over the index's ids. */
typedef struct id_map {
    uint32_t *slots;  /* doc + 1, 0 empty */
    size_t mask;
} id_map;

static uint32_t hash_id(const char *s, size_t n) {
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)s[i]) * 16777619u;
    return h;
}

static int id_map_build(id_map *m, const te_index *ix, size_t n_docs) {
    size_t cap = 16;
    while (cap < 2 * n_docs) cap *= 2;
    m->slots = calloc(cap, sizeof *m->slots);
    m->mask = cap - 1;
    if (!m->slots) return -1;
    for (size_t d = 0; d < n_docs; d++) {
        size_t len;
        const char *id = te_index_doc_id(ix, d, &len);
        size_t h = hash_id(id, len) & m->mask;
        while (m->slots[h]) h = (h + 1) & m->mask;
        m->slots[h] = (uint32_t)d + 1;
    }
    return 0;
}

static long id_map_find(const id_map *m, const te_index *ix, const char *id) {
    size_t n = strlen(id);
    for (size_t h = hash_id(id, n) & m->mask; m->slots[h]; h = (h + 1) & m->mask) {
        size_t len;
        const char *s = te_index_doc_id(ix, m->slots[h] - 1, &len);
        if (len == n && memcmp(s, id, n) == 0) return (long)m->slots[h] - 1;
    }
    return -1;
}

/* Reads the queries file: every target must be a document of the index. */
static int load_queries(const char *path, const te_index *ix, size_t n_docs, query **out, size_t *n_out) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        cli_error(&cmd, "%s: cannot open: %s", path, strerror(errno));
        return CLI_FAIL;
    }
    id_map map = {0};
    query *qs = NULL;
    size_t n = 0, cap = 0, line_no = 0;
    char *line = NULL;
    size_t lcap = 0;
    ssize_t len;
    int rc = id_map_build(&map, ix, n_docs) == 0 ? CLI_OK : (cli_error(&cmd, "out of memory"), CLI_FAIL);
    while (rc == CLI_OK && (len = getline(&line, &lcap, f)) >= 0) {
        line_no++;
        if (strspn(line, " \t\r\n") == (size_t)len) continue;
        if (n == cap) {
            query *q = realloc(qs, (cap = cap ? 2 * cap : 64) * sizeof *q);
            if (!q) { rc = (cli_error(&cmd, "out of memory"), CLI_FAIL); break; }
            qs = q;
        }
        query *q = memset(&qs[n], 0, sizeof *qs);
        te_error err;
        if (!(q->doc = te_json_parse(line, (size_t)len, &err))) {
            rc = (cli_error(&cmd, "%s line %zu: %s", path, line_no, te_errmsg(&err)), CLI_FAIL);
            break;
        }
        n++;
        const te_json_value *root = te_json_root(q->doc), *t = te_json_get(root, "target");
        q->text = te_json_string(te_json_get(root, "query"));
        int is_list = te_json_len(t) > 0 && te_json_at(t, 0) != NULL;
        size_t nt = is_list ? te_json_len(t) : 1;
        if (!q->text || !t || !(q->targets = malloc(nt * sizeof *q->targets))) {
            rc = (cli_error(&cmd, "%s line %zu: expected {\"query\": string, \"target\": id or [ids]}", path, line_no), CLI_FAIL);
            break;
        }
        for (size_t i = 0; i < nt && rc == CLI_OK; i++) {
            char buf[32];
            const char *id = cli_json_id(is_list ? te_json_at(t, i) : t, buf, sizeof buf);
            long d = id ? id_map_find(&map, ix, id) : -1;
            if (d < 0) rc = (cli_error(&cmd, "%s line %zu: target %s%s%s is not a document of the index", path, line_no,
                                       id ? "\"" : "", id ? id : "(not a string or integer)", id ? "\"" : ""), CLI_FAIL);
            int seen = 0; /* a target listed twice counts once */
            for (size_t j = 0; rc == CLI_OK && j < q->n_targets; j++) seen |= q->targets[j] == (uint32_t)d;
            if (rc == CLI_OK && !seen) q->targets[q->n_targets++] = (uint32_t)d;
        }
    }
    free(line);
    free(map.slots);
    fclose(f);
    if (rc == CLI_OK && n == 0) rc = (cli_error(&cmd, "%s: no queries", path), CLI_FAIL);
    *out = qs;
    *n_out = n;
    return rc;
}

static void free_queries(query *qs, size_t n) {
    for (size_t i = 0; i < n; i++) {
        te_json_free(qs[i].doc);
        free(qs[i].targets);
    }
    free(qs);
}

/* The metrics of one ranked list against the query's targets. */
static void score(query *q, int mode, const te_index_hit *hits, size_t n, size_t k) {
    double dcg = 0, idcg = 0;
    size_t found = 0, found1 = 0;
    q->rank[mode] = 0;
    for (size_t i = 0; i < n; i++)
        for (size_t t = 0; t < q->n_targets; t++)
            if (hits[i].doc == q->targets[t]) {
                if (!q->rank[mode]) q->rank[mode] = (int)i + 1;
                found++;
                found1 += i == 0;
                dcg += 1.0 / log2((double)i + 2.0);
                break;
            }
    for (size_t i = 0; i < q->n_targets && i < k; i++) idcg += 1.0 / log2((double)i + 2.0);
    q->rr[mode] = q->rank[mode] ? 1.0 / q->rank[mode] : 0;
    q->r1[mode] = (double)found1 / (double)q->n_targets;
    q->rk[mode] = (double)found / (double)q->n_targets;
    q->ndcg[mode] = idcg > 0 ? dcg / idcg : 0;
}

typedef struct stat2 {
    double mean, p95;
} stat2;

/* Mean and 95th percentile (nearest rank) of v[0..n), which it sorts. */
static stat2 stats(double *v, size_t n) {
    stat2 s = {0, 0};
    if (!n) return s;
    for (size_t i = 0; i < n; i++) s.mean += v[i];
    s.mean /= (double)n;
    qsort(v, n, sizeof *v, cli_cmp_double);
    size_t r = (size_t)ceil(0.95 * (double)n);
    s.p95 = v[r ? r - 1 : 0];
    return s;
}

typedef struct summary {
    double mrr, r1, rk, ndcg;
    stat2 latency, search;
} summary;

static void summarize(const query *qs, size_t n, int mode, double *tmp, summary *s) {
    memset(s, 0, sizeof *s);
    for (size_t i = 0; i < n; i++) {
        s->mrr += qs[i].rr[mode] / (double)n;
        s->r1 += qs[i].r1[mode] / (double)n;
        s->rk += qs[i].rk[mode] / (double)n;
        s->ndcg += qs[i].ndcg[mode] / (double)n;
    }
    for (size_t i = 0; i < n; i++) tmp[i] = qs[i].ms[mode];
    s->search = stats(tmp, n);
    for (size_t i = 0; i < n; i++) tmp[i] = qs[i].ms[mode] + (mode == MODE_BM25 ? 0 : qs[i].embed_ms);
    s->latency = stats(tmp, n);
}

static void write_stat(FILE *f, const char *name, stat2 s) { fprintf(f, "\"%s\":{\"mean\":%.4f,\"p95\":%.4f}", name, s.mean, s.p95); }

static int save(const char *dir, const search_session *ss, const char *index_path, const char *queries_path,
                const query *qs, size_t n, size_t k, float alpha, double warmup_ms, stat2 embed, const summary *sum) {
    results_file r;
    if (results_open(&r, cmd.name, dir, "retrieval_audits") != 0) return CLI_FAIL;
    FILE *f = r.f;
    fputc('{', f);
    results_header(&r, "tinyembed.audit/1", te_index_ctx_simd(ss->sc), te_ctx_threads(ss->s.ctx));
    fputs(",\"index\":{\"path\":", f);
    cli_json_str(f, index_path);
    fprintf(f, ",\"documents\":%llu,\"vectors\":\"%s\",\"dim\":%d,\"fingerprint\":\"%08x\"}", (unsigned long long)ss->info.n_docs,
            te_dtype_name(ss->info.dtype), ss->info.dim, (unsigned)ss->info.fingerprint);
    fputs(",\"model\":{\"name\":", f);
    cli_json_str(f, ss->s.info.name);
    fprintf(f, ",\"fingerprint\":\"%08x\",\"dtype\":\"%s\"}", (unsigned)ss->s.info.fingerprint, te_dtype_name(ss->s.info.dtype));
    fputs(",\"queries_file\":", f);
    cli_json_str(f, queries_path);
    fprintf(f, ",\"queries\":%zu,\"k\":%zu,", n, k);
    if (alpha < 0) fputs("\"fusion\":\"rrf\",\"alpha\":null", f);
    else fprintf(f, "\"fusion\":\"weighted\",\"alpha\":%g", (double)alpha);
    fprintf(f, ",\"warmup_ms\":%.4f,", warmup_ms);
    write_stat(f, "query_embedding_ms", embed);
    fputs(",\"modes\":{", f);
    for (int m = 0; m < N_MODES; m++) {
        const summary *s = &sum[m];
        if (!search_mode_available(ss, (search_mode)m)) continue;
        fprintf(f, "%s\"%s\":{\"mrr\":%.6f,\"recall_at_1\":%.6f,\"recall_at_k\":%.6f,\"ndcg\":%.6f,", m ? "," : "",
                search_mode_names[m], s->mrr, s->r1, s->rk, s->ndcg);
        write_stat(f, "latency_ms", s->latency);
        fputc(',', f);
        write_stat(f, "search_ms", s->search);
        fputc('}', f);
    }
    fputs("},\"per_query\":[", f);
    for (size_t i = 0; i < n; i++) {
        const query *q = &qs[i];
        fputs(i ? ",{\"query\":" : "{\"query\":", f);
        cli_json_str(f, q->text);
        fputs(",\"targets\":[", f);
        for (size_t t = 0; t < q->n_targets; t++) {
            size_t len;
            const char *id = te_index_doc_id(ss->ix, q->targets[t], &len);
            if (t) fputc(',', f);
            cli_json_strn(f, id, len);
        }
        fprintf(f, "],\"embed_ms\":%.4f", q->embed_ms);
        for (int m = 0; m < N_MODES; m++) {
            if (!search_mode_available(ss, (search_mode)m)) continue;
            fprintf(f, ",\"%s\":{\"rank\":", search_mode_names[m]);
            if (q->rank[m]) fprintf(f, "%d", q->rank[m]);
            else fputs("null", f);
            fprintf(f, ",\"search_ms\":%.4f}", q->ms[m]);
        }
        fputc('}', f);
    }
    fputs("]}\n", f);
    if (results_commit(&r, cmd.name, "audit") != 0) return CLI_FAIL;
    fprintf(stderr, "saved %s\n", r.path);
    return CLI_OK;
}

static int run_audit(const cli_args *a) {
    const char *qpath = cli_get(&cmd, a, "queries"), *dir = cli_get(&cmd, a, "save");
    long k;
    int rc = cli_get_int(&cmd, a, "k", 1, 100000, 10, &k);
    if (rc != CLI_OK) return rc;
    if (!qpath) {
        cli_error(&cmd, "--queries FILE is required");
        return CLI_USAGE;
    }
    search_session ss;
    if ((rc = search_session_open(&cmd, a, 1, 1, &ss)) != CLI_OK) return rc;
    search_mode unused;
    float alpha;
    query *qs = NULL;
    size_t n = 0;
    te_index_hit *hits = malloc((size_t)k * sizeof *hits);
    double *tmp = NULL;
    if ((rc = search_mode_opts(&cmd, a, &ss, &unused, &alpha)) != CLI_OK) goto done;
    if ((rc = load_queries(qpath, ss.ix, (size_t)ss.info.n_docs, &qs, &n)) != CLI_OK) goto done;
    tmp = malloc(n * sizeof *tmp);
    if (!hits || !tmp) {
        rc = (cli_error(&cmd, "out of memory"), CLI_FAIL);
        goto done;
    }
    te_error err;
    double t0 = 1e3 * cli_now_s();
    if (te_warmup(ss.s.ctx, &err) != TE_OK) {
        rc = cli_lib_error(&cmd, &err);
        goto done;
    }
    double warmup_ms = 1e3 * cli_now_s() - t0;
    for (size_t i = 0; i < n && rc == CLI_OK; i++) {
        query *q = &qs[i];
        size_t len = strlen(q->text), nh;
        t0 = 1e3 * cli_now_s();
        rc = search_embed(&cmd, &ss, q->text, len);
        q->embed_ms = 1e3 * cli_now_s() - t0;
        for (int m = 0; m < N_MODES && rc == CLI_OK; m++) {
            if (!search_mode_available(&ss, (search_mode)m)) continue;
            t0 = 1e3 * cli_now_s();
            rc = search_run(&cmd, &ss, (search_mode)m, q->text, len, (size_t)k, alpha, hits, &nh);
            q->ms[m] = 1e3 * cli_now_s() - t0;
            score(q, m, hits, nh, (size_t)k);
        }
    }
    if (rc != CLI_OK) goto done;
    summary sum[N_MODES];
    for (int m = 0; m < N_MODES; m++) summarize(qs, n, m, tmp, &sum[m]);
    for (size_t i = 0; i < n; i++) tmp[i] = qs[i].embed_ms;
    stat2 embed = stats(tmp, n);
    printf("audit: %zu queries, %llu documents, k = %ld; model %s, %s vectors; kernels %s, %d threads; warmup %.1f ms\n", n,
           (unsigned long long)ss.info.n_docs, k, ss.s.info.name, te_dtype_name(ss.info.dtype), te_index_ctx_simd(ss.sc),
           te_ctx_threads(ss.s.ctx), warmup_ms);
    printf("%-8s %8s %8s %8s %8s   %-22s %s\n", "mode", "MRR@k", "R@1", "R@k", "nDCG@k", "latency ms mean / p95",
           "search alone ms mean / p95");
    for (int m = 0; m < N_MODES; m++)
        if (search_mode_available(&ss, (search_mode)m))
            printf("%-8s %8.4f %8.4f %8.4f %8.4f   %8.3f / %-11.3f %8.3f / %.3f\n", search_mode_names[m], sum[m].mrr,
                   sum[m].r1, sum[m].rk, sum[m].ndcg, sum[m].latency.mean, sum[m].latency.p95, sum[m].search.mean,
                   sum[m].search.p95);
    printf("query embedding: mean %.3f ms, p95 %.3f ms (in every latency but bm25's)%s\n", embed.mean, embed.p95,
           alpha < 0 ? "; hybrid = rank fusion (RRF, k = 60)" : "");
    if (ss.info.sparse)
        printf("m3 = (%g dense + %g sparse + %g ColBERT) / their sum%s\n", (double)ss.weights[0], (double)ss.weights[1],
               (double)ss.weights[2], ss.info.colbert_dim ? "" : " without ColBERT (the index keeps no ColBERT vectors)");
    if (dir) rc = save(dir, &ss, cli_get(&cmd, a, "index"), qpath, qs, n, (size_t)k, alpha, warmup_ms, embed, sum);
done:
    free(hits);
    free(tmp);
    free_queries(qs, n);
    search_session_close(&ss);
    return rc;
}

int cmd_audit(int argc, char **argv) {
    cli_args a;
    int rc = cli_parse(&cmd, argc, argv, &a);
    if (rc != CLI_OK) return rc == CLI_HELP ? 0 : rc;
    if (cli_flag(&cmd, &a, "compare")) {
        long top;
        if ((rc = cli_get_int(&cmd, &a, "top", 0, 100000, 10, &top)) != CLI_OK) return rc;
        if (a.n_pos != 2) {
            cli_error(&cmd, "--compare takes two saved audits: A.json B.json");
            return CLI_USAGE;
        }
        return results_compare_audits(cmd.name, a.pos[0], a.pos[1], top);
    }
    if (a.n_pos) {
        cli_error(&cmd, "unexpected argument '%s' (the saved audits to compare need --compare)", a.pos[0]);
        return CLI_USAGE;
    }
    return run_audit(&a);
}
