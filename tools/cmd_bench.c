/*
 * cmd_bench.c - `tinyembed bench`: throughput figures measured on this
 * machine. --tokenizer times the tokenizer alone on one thread over a text
 * file (one text per line, untruncated).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"

static const cli_opt opts[] = {
    {"model", 'm', "MODEL", "the .temb model (required)"},
    {"tokenizer", 0, NULL, "benchmark the tokenizer alone (needs --file)"},
    {"file", 0, "FILE", "input text, one text per line"},
    {"runs", 0, "N", "timed passes over the input; the median is reported (default 5)"},
    {NULL, 0, NULL, NULL},
};

static const cli_cmd cmd = {
    "bench", "",
    "Measure throughput on this machine.",
    "  tinyembed bench -m MODEL --tokenizer --file TEXT   tokenizer MB/s and tokens/s on one thread",
    opts, 0, 0,
};

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static int bench_tokenizer(const te_model *m, const char *path, long runs) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        cli_error(&cmd, "%s: cannot open", path);
        return CLI_FAIL;
    }
    size_t cap = 1 << 20, len = 0, k;
    char *text = malloc(cap);
    while (text && (k = fread(text + len, 1, cap - len, f)) > 0) {
        len += k;
        if (len == cap) {
            char *t = realloc(text, cap *= 2);
            if (!t) { free(text); text = NULL; }
            text = t;
        }
    }
    fclose(f);
    size_t max_ids = 1 << 16;
    int32_t *ids = malloc(max_ids * sizeof *ids);
    double *secs = malloc((size_t)runs * sizeof *secs);
    if (!text || !ids || !secs || len == 0) {
        cli_error(&cmd, "%s: empty file or out of memory", path);
        free(text); free(ids); free(secs);
        return CLI_FAIL;
    }
    size_t tokens = 0, lines = 0;
    te_error err;
    for (long r = 0; r < runs; r++) {
        tokens = lines = 0;
        double t0 = now_s();
        for (const char *p = text, *end = text + len; p < end;) {
            const char *nl = memchr(p, '\n', (size_t)(end - p));
            const char *stop = nl ? nl : end;
            size_t n;
            te_tokenize(m, p, (size_t)(stop - p), ids, max_ids, &n, &err);
            tokens += n - 2; /* without [CLS] and [SEP] */
            lines++;
            p = stop + 1;
        }
        secs[r] = now_s() - t0;
    }
    qsort(secs, (size_t)runs, sizeof *secs, cmp_double);
    double med = secs[runs / 2];
    printf("tokenizer: %s, %.2f MB, %zu lines, %zu tokens, 1 thread, median of %ld runs\n", path, len / 1e6, lines,
           tokens, runs);
    printf("  %.1f MB/s   %.2f M tokens/s   %.0f lines/s   (%.1f ms per pass; best %.1f ms)\n", len / med / 1e6,
           tokens / med / 1e6, lines / med, med * 1e3, secs[0] * 1e3);
    free(text);
    free(ids);
    free(secs);
    return 0;
}

int cmd_bench(int argc, char **argv) {
    cli_args a;
    int rc = cli_parse(&cmd, argc, argv, &a);
    if (rc != CLI_OK) return rc == CLI_HELP ? 0 : rc;
    const char *path = cli_get(&cmd, &a, "model"), *file = cli_get(&cmd, &a, "file");
    long runs;
    if ((rc = cli_get_int(&cmd, &a, "runs", 1, 1000, 5, &runs)) != CLI_OK) return rc;
    if (!path) {
        cli_error(&cmd, "--model is required");
        return CLI_USAGE;
    }
    if (!cli_flag(&cmd, &a, "tokenizer")) {
        cli_error(&cmd, "say what to benchmark: --tokenizer");
        return CLI_USAGE;
    }
    if (!file) {
        cli_error(&cmd, "--tokenizer needs --file TEXT (a few MB of text, one text per line)");
        return CLI_USAGE;
    }
    te_error err;
    te_model *m = te_open(path, NULL, &err);
    if (!m) return cli_lib_error(&cmd, &err);
    rc = bench_tokenizer(m, file, runs);
    te_close(m);
    return rc;
}
