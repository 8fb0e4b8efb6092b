/*
 * cmd_bench.c - `tinyembed bench`: throughput figures measured on this
 * machine.
 *   W1: 512 texts of about 128 tokens (truncated at 128), embedded in batches
 *       of 32: texts/s, tokens/s and achieved GFLOP/s.
 *   W2: single texts of about 12 tokens, one call each: median and p99 latency.
 * Texts come from --w1 / --w2 files (one per line; ../shared/peers/w1.txt and
 * w2.txt compare with ONNX Runtime) or are made from the model's vocabulary.
 * Tokenization is part of the measured time. --tokenizer times the tokenizer
 * alone on one thread over a text file (untruncated).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_search.h"
#include "cli.h"
#include "results.h"

static const cli_opt opts[] = {
    {"model", 'm', "MODEL", "the .temb model (default: the model bundled in this executable)"},
    {"threads", 't', "N", "worker threads (default: one per core)"},
    {"batch", 'b', "N", "W1 texts per forward pass (default 32)"},
    {"workload", 'w', "W", "w1, w2 or all (default)"},
    {"w1", 0, "FILE", "W1 texts, one per line (default: 512 made from the vocabulary)"},
    {"w2", 0, "FILE", "W2 texts, one per line (default: 200 made from the vocabulary)"},
    {"simd", 0, "LEVEL", "force a kernel set: avx512bf16, avx512vnni, avx512, avxvnni, avx2, neon, scalar (default: best; env TE_SIMD)"},
    {"strategy", 0, "S", "loading: lazy, eager, background, progressive, auto (default: env TE_STRATEGY, else lazy)"},
    {"tokenizer", 0, NULL, "benchmark the tokenizer alone (needs --file)"},
    {"file", 0, "FILE", "--tokenizer input text, one text per line"},
    {"runs", 0, "N", "--tokenizer: timed passes, the median is reported (default 5); W2: passes over the texts (default 3)"},
    {"index", 'i', "FILE", "measure search latency on this index instead (needs --queries; --model if it has vectors)"},
    {"queries", 'q', "FILE", "--index: query texts, one per line"},
    {"k", 'k', "N", "--index: results per query (default 10)"},
    {"json", 0, "FILE", "also write the figures to FILE as JSON (the --save object: timestamp, commit, CPU, kernels, threads, model fingerprint)"},
    {"save", 0, "DIR", "also write the figures to DIR/benchmarks/benchmark_YYYYMMDD_HHMMSS.json (docs/RESULTS.md)"},
    {NULL, 0, NULL, NULL},
};

static const cli_cmd cmd = {
    "bench", "",
    "Measure throughput and latency on this machine.",
    "  tinyembed bench -m MODEL [--w1 FILE] [--w2 FILE]   W1 throughput, W2 latency, GFLOP/s\n"
    "  tinyembed bench -m MODEL --tokenizer --file TEXT   tokenizer MB/s and tokens/s on one thread\n"
    "  tinyembed bench -i CORPUS.tidx -q QUERIES [-m MODEL]   search latency per mode (embedding excluded)",
    opts, 0, 0,
};

#define W1_TEXTS 512
#define W1_TOKENS 128
#define W2_TEXTS 200
#define W2_TOKENS 12

/* What a run measured, for --save (a field stays 0 when its part did not run). */
typedef struct bench_result {
    int w1, w2, tok;
    size_t w1_texts, w1_tokens;
    double w1_texts_s, w1_tokens_s, w1_gflops, w1_peak, w1_seconds;
    size_t w2_texts;
    long w2_runs;
    double w2_tokens_per_text, w2_median, w2_p99, w2_mean, w2_min;
    double tok_mb, tok_mb_s, tok_tokens_s, tok_lines_s;
} bench_result;

static int bench_tokenizer(const te_model *m, const char *path, long runs, bench_result *res) {
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
        double t0 = cli_now_s();
        for (const char *p = text, *end = text + len; p < end;) {
            const char *nl = memchr(p, '\n', (size_t)(end - p));
            const char *stop = nl ? nl : end;
            size_t n;
            te_tokenize(m, p, (size_t)(stop - p), ids, max_ids, &n, &err);
            tokens += n - 2; /* without [CLS] and [SEP] */
            lines++;
            p = stop + 1;
        }
        secs[r] = cli_now_s() - t0;
    }
    qsort(secs, (size_t)runs, sizeof *secs, cli_cmp_double);
    double med = secs[runs / 2];
    printf("tokenizer: %s, %.2f MB, %zu lines, %zu tokens, 1 thread, median of %ld runs\n", path, len / 1e6, lines,
           tokens, runs);
    printf("  %.1f MB/s   %.2f M tokens/s   %.0f lines/s   (%.1f ms per pass; best %.1f ms)\n", len / med / 1e6,
           tokens / med / 1e6, lines / med, med * 1e3, secs[0] * 1e3);
    *res = (bench_result){.tok = 1, .tok_mb = len / 1e6, .tok_mb_s = len / med / 1e6, .tok_tokens_s = tokens / med,
                        .tok_lines_s = lines / med};
    free(text);
    free(ids);
    free(secs);
    return 0;
}

/* Deterministic texts of about `tokens` tokens from whole-word vocabulary entries. */
static int texts_make(const te_model *m, size_t n, size_t tokens, cli_texts *x) {
    te_model_info in;
    te_model_get_info(m, &in);
    x->v = calloc(n, sizeof *x->v);
    x->n = n;
    uint64_t rng = 0x9E3779B97F4A7C15u;
    int32_t ids[1024];
    for (size_t i = 0; x->v && i < n; i++) {
        char buf[8192] = "";
        size_t len = 0, count = 0;
        while (count < tokens && len + 64 < sizeof buf) {
            rng = rng * 6364136223846793005u + 1442695040888963407u;
            int32_t id = (int32_t)((rng >> 33) % (uint64_t)in.vocab_tokens);
            size_t tl;
            const char *t = te_token_text(m, id, &tl);
            if (!t || tl < 2 || tl > 40 || t[0] < 'a' || t[0] > 'z') continue;
            len += (size_t)snprintf(buf + len, sizeof buf - len, "%s%.*s", len ? " " : "", (int)tl, t);
            te_error err;
            te_tokenize(m, buf, len, ids, 1024, &count, &err);
            count -= 2;
        }
        x->v[i] = strdup(buf);
    }
    return x->v ? 0 : CLI_FAIL;
}

/* Forward-pass floating-point operations for one sequence of S tokens. */
static double flops(const te_model_info *in, size_t S) {
    double H = in->hidden_size, I = in->intermediate_size, s = (double)S;
    double ffn = in->gated_ffn ? 3.0 : 2.0; /* gated: two up projections */
    return in->num_layers * (2.0 * s * (4.0 * H * H + ffn * H * I) + 4.0 * s * s * H);
}

static int bench_w1(te_ctx *ctx, const te_model *m, const cli_texts *x, int batch, double peak, bench_result *r) {
    te_model_info in;
    te_model_get_info(m, &in);
    size_t tokens = 0, dim = cli_out_floats(&in);
    double work = 0;
    int32_t ids[W1_TOKENS];
    te_error err;
    for (size_t i = 0; i < x->n; i++) {
        size_t n;
        te_tokenize(m, x->v[i], strlen(x->v[i]), ids, W1_TOKENS, &n, &err);
        tokens += n;
        work += flops(&in, n);
    }
    float *out = malloc(x->n * dim * sizeof *out);
    if (!out) return CLI_FAIL;
    size_t warm = x->n < (size_t)batch ? x->n : (size_t)batch;
    if (cli_infer(ctx, &in, (const char *const *)x->v, warm, out, &err) != TE_OK) {
        free(out);
        return cli_lib_error(&cmd, &err);
    }
    double t0 = cli_now_s();
    te_status st = cli_infer(ctx, &in, (const char *const *)x->v, x->n, out, &err);
    double sec = cli_now_s() - t0;
    free(out);
    if (st != TE_OK) return cli_lib_error(&cmd, &err);
    printf("W1: %zu texts, %zu tokens (%.1f per text, truncated at %d), batch %d\n", x->n, tokens,
           (double)tokens / (double)x->n, W1_TOKENS, batch);
    printf("    %.1f texts/s   %.0f tokens/s   %.1f GFLOP/s = %.0f%% of the %.0f GFLOP/s FMA peak measured   (%.2f s)\n",
           (double)x->n / sec, (double)tokens / sec, work / sec / 1e9, 100.0 * work / sec / 1e9 / peak, peak, sec);
    r->w1 = 1;
    r->w1_texts = x->n;
    r->w1_tokens = tokens;
    r->w1_texts_s = (double)x->n / sec;
    r->w1_tokens_s = (double)tokens / sec;
    r->w1_gflops = work / sec / 1e9;
    r->w1_peak = peak;
    r->w1_seconds = sec;
    return 0;
}

static int bench_w2(te_ctx *ctx, const te_model *m, const cli_texts *x, long runs, bench_result *r) {
    te_model_info in;
    te_model_get_info(m, &in);
    float *out = malloc(cli_out_floats(&in) * sizeof *out);
    size_t n = x->n * (size_t)runs, tokens = 0;
    double *ms = malloc(n * sizeof *ms), sum = 0;
    int32_t ids[1024];
    te_error err;
    if (!out || !ms) { free(out); free(ms); return CLI_FAIL; }
    for (size_t i = 0; i < x->n; i++) {
        size_t k;
        te_tokenize(m, x->v[i], strlen(x->v[i]), ids, 1024, &k, &err);
        tokens += k;
    }
    for (size_t i = 0; i < 10 && i < x->n; i++) cli_infer(ctx, &in, (const char *const *)&x->v[i], 1, out, &err);
    for (size_t i = 0; i < n; i++) {
        double t0 = cli_now_s();
        if (cli_infer(ctx, &in, (const char *const *)&x->v[i % x->n], 1, out, &err) != TE_OK) {
            free(out); free(ms);
            return cli_lib_error(&cmd, &err);
        }
        ms[i] = (cli_now_s() - t0) * 1e3;
        sum += ms[i];
    }
    qsort(ms, n, sizeof *ms, cli_cmp_double);
    printf("W2: %zu single texts x %ld passes, %.1f tokens per text\n", x->n, runs, (double)tokens / (double)x->n);
    printf("    median %.3f ms   p99 %.3f ms   mean %.3f ms   min %.3f ms\n", ms[n / 2], ms[(size_t)(n * 0.99)],
           sum / (double)n, ms[0]);
    r->w2 = 1;
    r->w2_texts = x->n;
    r->w2_runs = runs;
    r->w2_tokens_per_text = (double)tokens / (double)x->n;
    r->w2_median = ms[n / 2];
    r->w2_p99 = ms[(size_t)(n * 0.99)];
    r->w2_mean = sum / (double)n;
    r->w2_min = ms[0];
    free(out);
    free(ms);
    return 0;
}

/* Writes the figures to DIR/benchmarks/... (--save) or to FILE (--json, dir NULL). */
static int save(const char *dir, const char *file, const te_model_info *in, const char *simd, int threads,
                const bench_result *r) {
    results_file f;
    if ((dir ? results_open(&f, cmd.name, dir, "benchmarks") : results_open_path(&f, cmd.name, file)) != 0)
        return CLI_FAIL;
    FILE *o = f.f;
    fputc('{', o);
    results_header(&f, "tinyembed.benchmark/1", simd, threads);
    fputs(",\"model\":", o);
    cli_json_model_info(o, in);
    if (r->w1)
        fprintf(o, ",\"w1\":{\"texts\":%zu,\"tokens\":%zu,\"texts_per_s\":%.3f,\"tokens_per_s\":%.1f,\"gflops\":%.3f,"
                   "\"fma_peak_gflops\":%.3f,\"seconds\":%.4f}",
                r->w1_texts, r->w1_tokens, r->w1_texts_s, r->w1_tokens_s, r->w1_gflops, r->w1_peak, r->w1_seconds);
    if (r->w2)
        fprintf(o, ",\"w2\":{\"texts\":%zu,\"passes\":%ld,\"tokens_per_text\":%.2f,\"median_ms\":%.4f,\"p99_ms\":%.4f,"
                   "\"mean_ms\":%.4f,\"min_ms\":%.4f}",
                r->w2_texts, r->w2_runs, r->w2_tokens_per_text, r->w2_median, r->w2_p99, r->w2_mean, r->w2_min);
    if (r->tok)
        fprintf(o, ",\"tokenizer\":{\"mb\":%.3f,\"mb_per_s\":%.2f,\"tokens_per_s\":%.0f,\"lines_per_s\":%.0f}", r->tok_mb,
                r->tok_mb_s, r->tok_tokens_s, r->tok_lines_s);
    fputs("}\n", o);
    if (results_commit(&f, cmd.name, "benchmark") != 0) return CLI_FAIL;
    if (dir) fprintf(stderr, "saved %s\n", f.path);
    return CLI_OK;
}

/* --json FILE and --save DIR, each when given. */
static int save_all(const cli_args *a, const te_model_info *in, const char *simd, int threads, const bench_result *r) {
    const char *json = cli_get(&cmd, a, "json"), *dir = cli_get(&cmd, a, "save");
    int rc = json ? save(NULL, json, in, simd, threads, r) : CLI_OK;
    if (rc == CLI_OK && dir) rc = save(dir, NULL, in, simd, threads, r);
    return rc;
}

int cmd_bench(int argc, char **argv) {
    cli_args a;
    int rc = cli_parse(&cmd, argc, argv, &a);
    if (rc != CLI_OK) return rc == CLI_HELP ? 0 : rc;
    const char *file = cli_get(&cmd, &a, "file");
    const char *wl = cli_get(&cmd, &a, "workload"), *simd = cli_get(&cmd, &a, "simd");
    long runs, threads, batch;
    int tok = cli_flag(&cmd, &a, "tokenizer");
    if ((rc = cli_get_int(&cmd, &a, "runs", 1, 1000, tok ? 5 : 3, &runs)) != CLI_OK) return rc;
    if ((rc = cli_get_int(&cmd, &a, "threads", 1, 256, 0, &threads)) != CLI_OK) return rc;
    if ((rc = cli_get_int(&cmd, &a, "batch", 1, 4096, 32, &batch)) != CLI_OK) return rc;
    if (wl && strcmp(wl, "w1") && strcmp(wl, "w2") && strcmp(wl, "all")) {
        cli_error(&cmd, "--workload must be w1, w2 or all (got '%s')", wl);
        return CLI_USAGE;
    }
    if (tok && !file) {
        cli_error(&cmd, "--tokenizer needs --file TEXT (a few MB of text, one text per line)");
        return CLI_USAGE;
    }
    if (cli_get(&cmd, &a, "index")) return bench_search(&cmd, &a);
    if (!simd) simd = getenv("TE_SIMD");
    te_error err;
    te_model *m;
    if ((rc = cli_open_model(&cmd, &a, NULL, &m)) != CLI_OK) return rc;
    te_model_info in;
    te_model_get_info(m, &in);
    bench_result res = {0};
    if (tok) {
        rc = bench_tokenizer(m, file, runs, &res);
        if (rc == 0) rc = save_all(&a, &in, NULL, 1, &res);
        te_close(m);
        return rc;
    }
    int do_w1 = !wl || strcmp(wl, "w2") != 0, do_w2 = !wl || strcmp(wl, "w1") != 0;
    te_ctx_opts o1 = {.threads = (int)threads, .batch = (int)batch, .simd = simd, .max_seq_length = W1_TOKENS};
    te_ctx_opts o2 = {.threads = (int)threads, .batch = 1, .simd = simd};
    te_ctx *c1 = do_w1 ? te_ctx_new(m, &o1, &err) : NULL, *c2 = NULL;
    if (do_w1 && !c1) {
        te_close(m);
        return cli_lib_error(&cmd, &err);
    }
    if (do_w2 && !(c2 = te_ctx_new(m, &o2, &err))) {
        te_ctx_free(c1);
        te_close(m);
        return cli_lib_error(&cmd, &err);
    }
    te_ctx *any = c1 ? c1 : c2;
    printf("model %s: %d layers, hidden %d, %s weights; kernels %s, %d threads\n", in.name, in.num_layers,
           in.hidden_size, te_dtype_name(in.dtype), te_ctx_simd(any), te_ctx_threads(any));
    cli_texts x1 = {0}, x2 = {0};
    const char *f1 = cli_get(&cmd, &a, "w1"), *f2 = cli_get(&cmd, &a, "w2");
    if (do_w1) rc = f1 ? cli_texts_read(&cmd, f1, &x1) : texts_make(m, W1_TEXTS, W1_TOKENS, &x1);
    if (rc == 0 && do_w2) rc = f2 ? cli_texts_read(&cmd, f2, &x2) : texts_make(m, W2_TEXTS, W2_TOKENS, &x2);
    if (rc == 0 && do_w1) rc = bench_w1(c1, m, &x1, (int)batch, te_ctx_peak_gflops(c1), &res);
    if (rc == 0 && do_w2) rc = bench_w2(c2, m, &x2, runs, &res);
    if (rc == 0) rc = save_all(&a, &in, te_ctx_simd(any), te_ctx_threads(any), &res);
    cli_texts_free(&x1);
    cli_texts_free(&x2);
    te_ctx_free(c1);
    te_ctx_free(c2);
    te_close(m);
    return rc;
}
