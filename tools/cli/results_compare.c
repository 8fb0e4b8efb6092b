/*
 * results_compare.c - `audit --compare A.json B.json`: what changed between
 * two saved retrieval audits (see docs/RESULTS.md for their schema).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "results.h"

static const char *const modes[] = {"vector", "bm25", "hybrid", "sparse", "m3"}; /* each compared when both audits ran it */
#define N_MODES (sizeof modes / sizeof *modes)

static te_json *load(const char *who, const char *path) {
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    size_t len = 0, cap = 0;
    if (f) {
        for (;;) {
            if (len == cap) {
                char *p = realloc(buf, cap = cap ? 2 * cap : 65536);
                if (!p) break;
                buf = p;
            }
            size_t got = fread(buf + len, 1, cap - len, f);
            if (got == 0) break;
            len += got;
        }
    }
    te_error err = {0};
    te_json *doc = f && !ferror(f) && buf ? te_json_parse(buf, len, &err) : NULL;
    const char *schema = doc ? te_json_string(te_json_get(te_json_root(doc), "schema")) : NULL;
    if (!f) fprintf(stderr, "tinyembed %s: error: %s: cannot open\n", who, path);
    else if (!doc) fprintf(stderr, "tinyembed %s: error: %s: %s\n", who, path, err.code ? te_errmsg(&err) : "cannot read");
    else if (!schema || strcmp(schema, "tinyembed.audit/1") != 0) {
        fprintf(stderr, "tinyembed %s: error: %s: not a saved audit (schema \"%s\", expected \"tinyembed.audit/1\")\n", who, path,
                schema ? schema : "missing");
        te_json_free(doc);
        doc = NULL;
    }
    if (f) fclose(f);
    free(buf);
    return doc;
}

static double num(const te_json_value *v) {
    double d = 0;
    te_json_number(v, &d);
    return d;
}

static const te_json_value *path2(const te_json_value *v, const char *a, const char *b) {
    return te_json_get(te_json_get(v, a), b);
}

static void describe(const char *tag, const char *path, const te_json_value *r) {
    printf("%s: %s\n   %s, model %s (%s weights), %s vectors, %s, %g threads\n", tag, path,
           te_json_string(te_json_get(r, "timestamp")), te_json_string(path2(r, "model", "name")),
           te_json_string(path2(r, "model", "dtype")), te_json_string(path2(r, "index", "vectors")),
           te_json_string(path2(r, "machine", "kernel_set")), num(path2(r, "machine", "threads")));
}

/* A query's rank in one mode, k + 1 when not found. */
static double rank_of(const te_json_value *q, const char *mode, double k) {
    double r;
    return te_json_number(path2(q, mode, "rank"), &r) ? r : k + 1;
}

typedef struct change {
    size_t q;
    double a, b;
} change;

static int by_change(const void *x, const void *y) {
    const change *p = x, *q = y;
    double dp = p->b > p->a ? p->b - p->a : p->a - p->b, dq = q->b > q->a ? q->b - q->a : q->a - q->b;
    if (dp != dq) return dp < dq ? 1 : -1;
    return (p->q > q->q) - (p->q < q->q);
}

static void print_rank(double r, double k) {
    if (r > k) printf("%6s", "-");
    else printf("%6.0f", r);
}

int results_compare_audits(const char *who, const char *a_path, const char *b_path, long top) {
    te_json *da = load(who, a_path), *db = da ? load(who, b_path) : NULL;
    if (!da || !db) {
        te_json_free(da);
        return CLI_FAIL;
    }
    const te_json_value *ra = te_json_root(da), *rb = te_json_root(db);
    describe("A", a_path, ra);
    describe("B", b_path, rb);
    static const char *const metrics[] = {"mrr", "recall_at_1", "recall_at_k", "ndcg"};
    static const char *const labels[] = {"MRR@k", "R@1", "R@k", "nDCG@k"};
    printf("\n%-8s %-8s %9s %9s %9s\n", "mode", "metric", "A", "B", "B - A");
    for (size_t m = 0; m < N_MODES; m++) {
        const te_json_value *ma = path2(ra, "modes", modes[m]), *mb = path2(rb, "modes", modes[m]);
        if (!ma || !mb) continue;
        for (int i = 0; i < 4; i++) {
            double x = num(te_json_get(ma, metrics[i])), y = num(te_json_get(mb, metrics[i]));
            printf("%-8s %-8s %9.4f %9.4f %+9.4f\n", i ? "" : modes[m], labels[i], x, y, y - x);
        }
        double x = num(path2(ma, "latency_ms", "mean")), y = num(path2(mb, "latency_ms", "mean"));
        printf("%-8s %-8s %9.3f %9.3f %+9.3f\n", "", "ms mean", x, y, y - x);
        x = num(path2(ma, "latency_ms", "p95")), y = num(path2(mb, "latency_ms", "p95"));
        printf("%-8s %-8s %9.3f %9.3f %+9.3f\n", "", "ms p95", x, y, y - x);
    }
    const te_json_value *qa = te_json_get(ra, "per_query"), *qb = te_json_get(rb, "per_query");
    size_t n = te_json_len(qa);
    int same = n == te_json_len(qb);
    for (size_t i = 0; same && i < n; i++) {
        const char *x = te_json_string(te_json_get(te_json_at(qa, i), "query")), *y = te_json_string(te_json_get(te_json_at(qb, i), "query"));
        same = x && y && strcmp(x, y) == 0;
    }
    if (!same) {
        printf("\nThe two audits ran different queries: no per-query comparison.\n");
    } else if (top > 0) {
        double ka = num(te_json_get(ra, "k")), kb = num(te_json_get(rb, "k")), k = ka > kb ? ka : kb;
        change *c = malloc((n ? n : 1) * sizeof *c);
        for (size_t m = 0; c && m < N_MODES; m++) {
            size_t nc = 0;
            if (!path2(ra, "modes", modes[m]) || !path2(rb, "modes", modes[m])) continue;
            for (size_t i = 0; i < n; i++) {
                double x = rank_of(te_json_at(qa, i), modes[m], ka), y = rank_of(te_json_at(qb, i), modes[m], kb);
                if (x != y) c[nc++] = (change){i, x, y};
            }
            qsort(c, nc, sizeof *c, by_change);
            printf("\n%s: %zu of %zu queries changed rank", modes[m], nc, n);
            printf(nc ? "; the most (rank of the first target in A -> B, - = not in the top k):\n" : "\n");
            for (size_t i = 0; i < nc && i < (size_t)top; i++) {
                print_rank(c[i].a, k);
                printf(" ->");
                print_rank(c[i].b, k);
                printf("  ");
                cli_json_str(stdout, te_json_string(te_json_get(te_json_at(qa, c[i].q), "query")));
                putchar('\n');
            }
        }
        free(c);
    }
    te_json_free(da);
    te_json_free(db);
    return CLI_OK;
}
