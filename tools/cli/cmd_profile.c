/*
 * cmd_profile.c - `tinyembed profile -m MODEL`: where the time to a first
 * embedding goes, stage by stage, each run in a fresh process so that every
 * start is a real start.
 *
 * The parent spawns this same binary as `tinyembed __profile-child ...`,
 * which times its stages and prints them on one line; the parent evicts the
 * model from the page cache first when asked (--cold) and checks it worked.
 *
 * --json FILE and --save DIR write, after the results folder's common fields
 * (docs/RESULTS.md: timestamp, commit, CPU, kernel set, threads), times in
 * milliseconds and memory in KB:
 *   {"tinyembed_profile": 1, "model": M, "model_info": {"name", "fingerprint",
 *    "dtype", "layers", "hidden"}, "text": T, "runs": N, "threads": N,
 *    "configs": [{"strategy": S, "cache": "cold"|"warm", "warmup": bool,
 *                 "evicted": bool,
 *                 "stages": {STAGE: {"mean", "stdev", "median", "min", "max"}},
 *                 "memory": {METRIC: {...same...}}}]}
 * STAGE is exec (spawn to main), open, tokenizer, warmup, first_encode,
 * encode_mean (of 10 more), total_first (spawn to first vector); METRIC is
 * peak_rss_kb, major_faults, minor_faults, file_resident_kb.
 *
 * --svg FILE draws each configuration's median start (by total_first) as a
 * waterfall of its stages on one time axis, over the page residency of the
 * model's sections at each stage boundary (te_model_get_status, which the
 * child then calls between stages: the stage times do not include it).
 */
#include <errno.h>
#include <math.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "results.h"
#include "svg.h"

extern char **environ;

static const cli_opt opts[] = {
    {"model", 'm', "MODEL", "the .temb model (default: the model bundled in this executable)"},
    {"runs", 'n', "N", "runs per configuration (default 5)"},
    {"strategy", 0, "S", "loading strategy (default: env TE_STRATEGY, else lazy)"},
    {"cold", 0, NULL, "evict the model file from the page cache before each run"},
    {"warmup", 0, NULL, "run te_warmup before the first encode"},
    {"compare", 0, NULL, "every strategy, cold and warm, in one table"},
    {"text", 0, "TEXT", "the text to encode (default: a short sentence)"},
    {"threads", 't', "N", "encoder threads (default: one per core)"},
    {"json", 0, "FILE", "also write the results as JSON (schema in the command's source header)"},
    {"svg", 0, "FILE", "also draw each configuration's median start: stages on one time axis, page residency over it"},
    {"save", 0, "DIR", "also write the results to DIR/profiles/profile_YYYYMMDD_HHMMSS.json (docs/RESULTS.md)"},
    {"baseline", 0, "FILE", "compare stage medians with a --json file from an earlier run"},
    {"threshold", 0, "X", "with --baseline: fail (exit 1) when a stage is slower than X times the baseline (default 1.2)"},
    {NULL, 0, NULL, NULL},
};

static const cli_cmd cmd = {
    "profile", "",
    "Time a fresh process's way to its first embedding, stage by stage, over several runs.",
    "Stages: exec (spawn to main), open, tokenizer (first tokenization), warmup (with --warmup),\n"
    "first_encode (context + first vector), encode_mean (mean of 10 more), total_first (spawn to\n"
    "first vector). Also peak RSS, page faults, and how much of the model file is resident after.\n"
    "--baseline ignores stages under 1 ms in both runs, so timing noise does not fail a build.",
    opts, 0, 0,
};

enum { S_EXEC, S_OPEN, S_TOKENIZER, S_WARMUP, S_FIRST, S_MEAN, S_TOTAL, M_RSS, M_MAJ, M_MIN, M_RES, N_VALUES };
static const char *const value_names[N_VALUES] = {
    "exec", "open", "tokenizer", "warmup", "first_encode", "encode_mean", "total_first",
    "peak_rss_kb", "major_faults", "minor_faults", "file_resident_kb",
};
#define N_STAGES M_RSS /* the values that are times */
#define FLOOR_MS 1.0   /* --baseline ignores stages faster than this in both runs */

static double mono_ms(void) { return 1e3 * cli_now_s(); }

/* ---- the child ----------------------------------------------------------- */

/* Residency of each section now, at t_ms from the spawn. */
static void sample_residency(const te_model *m, double t_ms, svg_sample *out) {
    te_model_status st;
    memset(out, 0, sizeof *out);
    out->t_ms = t_ms;
    if (te_model_get_status(m, &st) != TE_OK) return;
    const uint64_t res[SVG_N_SECTIONS] = {st.meta_resident, st.word_emb_resident, st.other_emb_resident,
                                          st.layers_resident};
    const uint64_t all[SVG_N_SECTIONS] = {st.meta_bytes, st.word_emb_bytes, st.other_emb_bytes, st.layers_bytes};
    for (int k = 0; k < SVG_N_SECTIONS; k++) out->resident[k] = all[k] ? (double)res[k] / (double)all[k] : 0;
}

/* The child's timeline: residency samples are taken between stages, so no
 * stage time includes them, and the time they took (mincore over the whole
 * file) is taken out of the later sample times and of total_first. */
typedef struct child {
    const te_model *m;
    double spawn, sampling_ms;
    int sample;
    svg_sample samples[SVG_MAX_SAMPLES];
    int n_samples;
} child;

static void take_sample(child *ch) {
    if (!ch->sample || ch->n_samples == SVG_MAX_SAMPLES) return;
    double s0 = mono_ms();
    sample_residency(ch->m, s0 - ch->spawn - ch->sampling_ms, &ch->samples[ch->n_samples++]);
    ch->sampling_ms += mono_ms() - s0;
}

/* One line of values, then (when sampling) one of samples: "N t meta word other layers ...". */
static void print_child(const te_model *m, double *v, const child *ch) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    v[M_RSS] = (double)ru.ru_maxrss;
    v[M_MAJ] = (double)ru.ru_majflt;
    v[M_MIN] = (double)ru.ru_minflt;
    te_model_status st;
    te_model_get_status(m, &st);
    v[M_RES] = (double)st.file_resident / 1024.0;
    for (int i = 0; i < N_VALUES; i++) printf("%s%.6f", i ? " " : "", v[i]);
    printf("\n");
    if (!ch->sample) return;
    printf("%d", ch->n_samples);
    for (int i = 0; i < ch->n_samples; i++) {
        printf(" %.6f", ch->samples[i].t_ms);
        for (int k = 0; k < SVG_N_SECTIONS; k++) printf(" %.6f", ch->samples[i].resident[k]);
    }
    printf("\n");
}

/* The stages after open, timed into v: tokenizer, warmup, first vector, ten more. */
static int run_stages(te_model *m, const char *text, int warmup, const te_ctx_opts *co, child *ch, double *v) {
    te_error err;
    double t = mono_ms();
    int32_t ids[64];
    size_t n;
    te_tokenize(m, text, strlen(text), ids, 64, &n, &err);
    v[S_TOKENIZER] = mono_ms() - t;
    take_sample(ch);
    t = mono_ms();
    te_ctx *c = te_ctx_new(m, co, &err);
    int ok = c != NULL;
    if (ok && warmup) {
        ok = te_warmup(c, &err) == TE_OK;
        v[S_WARMUP] = mono_ms() - t;
        take_sample(ch);
        t = mono_ms();
    }
    te_model_info in;
    te_model_get_info(m, &in);
    float *out = malloc(cli_out_floats(&in) * sizeof *out);
    if (ok && out && cli_infer(c, &in, &text, 1, out, &err) == TE_OK) {
        v[S_FIRST] = mono_ms() - t;
        v[S_TOTAL] = mono_ms() - ch->spawn - ch->sampling_ms;
        take_sample(ch);
        t = mono_ms();
        for (int i = 0; i < 10; i++) cli_infer(c, &in, &text, 1, out, &err);
        v[S_MEAN] = (mono_ms() - t) / 10;
        take_sample(ch);
    } else {
        fprintf(stderr, "%s\n", out ? te_errmsg(&err) : "out of memory");
        ok = 0;
    }
    free(out);
    te_ctx_free(c);
    return ok ? 0 : CLI_FAIL;
}

/* argv: __profile-child MODEL STRATEGY WARMUP THREADS SPAWN_MS TEXT SAMPLE
 * Prints the values on one line and, when SAMPLE is 1, the residency
 * samples on a second: "N t meta word other layers ..." */
int cmd_profile_child(int argc, char **argv, double t_main) {
    if (argc != 8) return CLI_USAGE;
    te_open_opts o = {0};
    if (te_strategy_parse(argv[2], &o.strategy) != 0) return CLI_USAGE;
    te_ctx_opts co = {.threads = atoi(argv[4])};
    child ch = {.spawn = strtod(argv[5], NULL), .sample = atoi(argv[7])};
    double v[N_VALUES] = {0};
    v[S_EXEC] = t_main - ch.spawn;
    te_error err;
    double t = mono_ms();
    te_model *m = te_open(argv[1], &o, &err);
    v[S_OPEN] = mono_ms() - t;
    if (!m) {
        fprintf(stderr, "%s\n", te_errmsg(&err));
        return CLI_FAIL;
    }
    ch.m = m;
    take_sample(&ch);
    int rc = run_stages(m, argv[6], atoi(argv[3]), &co, &ch, v);
    if (rc == 0) print_child(m, v, &ch);
    te_close(m);
    return rc;
}

/* ---- the parent ---------------------------------------------------------- */

typedef struct config {
    te_strategy strategy;
    int cold, warmup, evicted;
    double *values; /* runs x N_VALUES */
    int runs;
    svg_start *starts; /* runs, with --svg: each run's stages and residency samples */
} config;

typedef struct summary {
    double mean, stdev, median, min, max;
} summary;

static summary summarize(const config *c, int value) {
    double xs[1024];
    summary s = {0, 0, 0, INFINITY, -INFINITY};
    for (int r = 0; r < c->runs; r++) {
        xs[r] = c->values[r * N_VALUES + value];
        s.mean += xs[r] / c->runs;
        if (xs[r] < s.min) s.min = xs[r];
        if (xs[r] > s.max) s.max = xs[r];
    }
    for (int r = 0; r < c->runs; r++) s.stdev += (xs[r] - s.mean) * (xs[r] - s.mean);
    s.stdev = c->runs > 1 ? sqrt(s.stdev / (c->runs - 1)) : 0;
    qsort(xs, (size_t)c->runs, sizeof *xs, cli_cmp_double);
    s.median = c->runs % 2 ? xs[c->runs / 2] : (xs[c->runs / 2 - 1] + xs[c->runs / 2]) / 2;
    return s;
}

/* Reads the child's residency line into s (the stages come from its values). */
static int read_samples(const char *line, svg_start *s) {
    char *p;
    long n = strtol(line, &p, 10);
    if (n < 1 || n > SVG_MAX_SAMPLES) return -1;
    s->n_samples = (int)n;
    for (int i = 0; i < s->n_samples; i++) {
        s->samples[i].t_ms = strtod(p, &p);
        for (int k = 0; k < SVG_N_SECTIONS; k++) s->samples[i].resident[k] = strtod(p, &p);
    }
    return 0;
}

/* One fresh process; its values go to `v` and, when s is not NULL, its residency samples to s. */
static int run_child(const char *model, const config *c, int threads, const char *text, double *v, svg_start *s) {
    int fd[2];
    if (pipe(fd) != 0) return -1;
    char strat[32], warm[4], thr[16], spawn_ms[64], sample[2] = {s ? '1' : '0', 0};
    snprintf(strat, sizeof strat, "%s", te_strategy_name(c->strategy));
    snprintf(warm, sizeof warm, "%d", c->warmup);
    snprintf(thr, sizeof thr, "%d", threads);
    char *argv[] = {"tinyembed", "__profile-child", (char *)model, strat, warm, thr, spawn_ms, (char *)text, sample, NULL};
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, fd[1], STDOUT_FILENO);
    posix_spawn_file_actions_addclose(&fa, fd[0]);
    pid_t pid;
    snprintf(spawn_ms, sizeof spawn_ms, "%.6f", mono_ms());
    int rc = posix_spawn(&pid, "/proc/self/exe", &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(fd[1]);
    if (rc != 0) {
        close(fd[0]);
        errno = rc;
        return -1;
    }
    char line[2048], res[2048];
    FILE *f = fdopen(fd[0], "r");
    int got = f && fgets(line, sizeof line, f) != NULL && (!s || fgets(res, sizeof res, f) != NULL);
    if (f) fclose(f);
    else close(fd[0]);
    int status;
    waitpid(pid, &status, 0);
    if (!got || !WIFEXITED(status) || WEXITSTATUS(status) != 0) return -1;
    char *p = line;
    for (int i = 0; i < N_VALUES; i++) v[i] = strtod(p, &p);
    return s ? read_samples(res, s) : 0;
}

/* Reads the file through the page cache. Plain reads, not a mapping: a
 * spawned child's peak RSS starts from its parent's (Linux carries the
 * high-water mark across vfork + exec), so the parent stays small. */
static void warm_file(const char *path) {
    FILE *f = fopen(path, "rb");
    static char buf[1 << 16];
    while (f && fread(buf, 1, sizeof buf, f) == sizeof buf) continue;
    if (f) fclose(f);
}

static int run_config(const char *model, config *c, int threads, const char *text) {
    for (int r = 0; r < c->runs; r++) {
        te_error err;
        if (c->cold && te_page_cache_evict(model, &err) != TE_OK) {
            if (c->evicted) fprintf(stderr, "tinyembed profile: warning: %s\n", te_errmsg(&err));
            c->evicted = 0; /* said once, and shown as "not evicted" in the table */
        }
        if (!c->cold) warm_file(model); /* warm: the whole file in the page cache */
        if (run_child(model, c, threads, text, c->values + r * N_VALUES, c->starts ? &c->starts[r] : NULL) != 0) {
            cli_error(&cmd, "run %d (%s, %s) failed", r + 1, te_strategy_name(c->strategy), c->cold ? "cold" : "warm");
            return CLI_FAIL;
        }
    }
    return 0;
}

static void print_table(const config *cs, int n, int compare) {
    if (compare) {
        printf("%-12s %-5s %9s %9s %9s %9s %9s %9s %9s %9s %9s\n", "strategy", "cache", "exec", "open", "tokenizer",
               "warmup", "first", "encode", "total", "rss MB", "resid MB");
        for (int i = 0; i < n; i++) {
            const config *c = &cs[i];
            printf("%-12s %-5s", te_strategy_name(c->strategy), c->cold ? (c->evicted ? "cold" : "cold?") : "warm");
            for (int v = 0; v < N_STAGES; v++) printf(" %9.3f", summarize(c, v).median);
            printf(" %9.1f %9.1f\n", summarize(c, M_RSS).median / 1024, summarize(c, M_RES).median / 1024);
        }
        printf("(medians over %d runs, times in ms; first = context + first encode, total = spawn to first vector)\n",
               cs[0].runs);
        return;
    }
    const config *c = &cs[0];
    printf("%s, %s page cache%s, %d runs%s\n", te_strategy_name(c->strategy), c->cold ? "cold" : "warm",
           c->cold && !c->evicted ? " (eviction FAILED: runs were not cold)" : "", c->runs, c->warmup ? ", warmup" : "");
    printf("%-17s %20s %10s %10s %10s\n", "stage", "mean +- stdev", "median", "min", "max");
    for (int v = 0; v < N_VALUES; v++) {
        if (v == S_WARMUP && !c->warmup) continue;
        summary s = summarize(c, v);
        const char *unit = v < N_STAGES ? "ms" : "";
        printf("%-17s %11.3f +- %-6.3f %10.3f %10.3f %10.3f %s\n", value_names[v], s.mean, s.stdev, s.median, s.min,
               s.max, unit);
    }
}

/* The --json / --save object, starting with the results folder's common fields. */
static void write_profile(results_file *r, const char *model, const te_model_info *in, const char *text,
                          const config *cs, int n, int threads) {
    FILE *f = r->f;
    te_sysinfo si;
    te_error err;
    fputc('{', f);
    results_header(r, "tinyembed.profile/1", te_sysinfo_get(NULL, &si, &err) == TE_OK ? si.simd : NULL, threads);
    fprintf(f, ",\n  \"tinyembed_profile\": 1,\n  \"model\": ");
    cli_json_str(f, model);
    fprintf(f, ",\n  \"model_info\": ");
    cli_json_model_info(f, in);
    fprintf(f, ",\n  \"text\": ");
    cli_json_str(f, text);
    fprintf(f, ",\n  \"runs\": %d,\n  \"threads\": %d,\n  \"configs\": [\n", cs[0].runs, threads);
    for (int i = 0; i < n; i++) {
        const config *c = &cs[i];
        fprintf(f, "    {\"strategy\": \"%s\", \"cache\": \"%s\", \"warmup\": %s, \"evicted\": %s,\n",
                te_strategy_name(c->strategy), c->cold ? "cold" : "warm", c->warmup ? "true" : "false",
                c->cold && c->evicted ? "true" : "false");
        for (int part = 0; part < 2; part++) {
            fprintf(f, "     \"%s\": {", part ? "memory" : "stages");
            int first = 1;
            for (int v = part ? N_STAGES : 0; v < (part ? N_VALUES : N_STAGES); v++) {
                summary s = summarize(c, v);
                fprintf(f, "%s\n       \"%s\": {\"mean\": %.6f, \"stdev\": %.6f, \"median\": %.6f, \"min\": %.6f, \"max\": %.6f}",
                        first ? "" : ",", value_names[v], s.mean, s.stdev, s.median, s.min, s.max);
                first = 0;
            }
            fprintf(f, "}%s\n", part ? "" : ",");
        }
        fprintf(f, "    }%s\n", i + 1 < n ? "," : "");
    }
    fprintf(f, "  ]\n}\n");
}

/* --svg: each configuration's run with the median total_first, drawn. */
static int write_svg(const char *path, const te_model_info *in, const config *cs, int n, int threads) {
    svg_start starts[8];
    for (int i = 0; i < n; i++) {
        const config *c = &cs[i];
        double median = summarize(c, S_TOTAL).median, best = INFINITY;
        int pick = 0;
        for (int r = 0; r < c->runs; r++) {
            double d = fabs(c->values[r * N_VALUES + S_TOTAL] - median);
            if (d < best) best = d, pick = r;
        }
        starts[i] = c->starts[pick];
        const double *v = c->values + pick * N_VALUES;
        const int from[SVG_N_STAGES] = {S_EXEC, S_OPEN, S_TOKENIZER, S_WARMUP, S_FIRST};
        for (int k = 0; k < SVG_N_STAGES; k++) starts[i].stage_ms[k] = v[from[k]];
        snprintf(starts[i].label, sizeof starts[i].label, "%s, %s%s", te_strategy_name(c->strategy),
                 c->cold ? (c->evicted ? "cold" : "cold (not evicted)") : "warm", c->warmup ? ", warmup" : "");
    }
    char title[512], caption[600], sub[900];
    snprintf(title, sizeof title, "tinyembed: fresh process to first vector, %s (%s, %d layers, fingerprint %08x)",
             in->name, te_dtype_name(in->dtype), in->num_layers, (unsigned)in->fingerprint);
    results_caption(caption, sizeof caption, NULL, threads);
    snprintf(sub, sizeof sub, "%s; the median of %d runs per row", caption, cs[0].runs);
    strbuf b = {0};
    svg_profile(&b, title, sub, starts, n);
    results_file r;
    int rc = b.failed ? -1 : results_open_path(&r, cmd.name, path);
    if (rc == 0) {
        fwrite(b.p, 1, b.n, r.f);
        rc = results_commit(&r, cmd.name, NULL);
    }
    sb_free(&b);
    if (rc == 0) fprintf(stderr, "wrote %s\n", path);
    return rc == 0 ? 0 : CLI_FAIL;
}

/* Compares medians with a baseline file; returns 1 if a stage regressed. */
static int compare_baseline(const char *path, const config *cs, int n, double threshold) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        cli_error(&cmd, "%s: cannot open the baseline", path);
        return CLI_FAIL;
    }
    char *buf = NULL;
    size_t len = 0, cap = 0, k;
    char chunk[65536];
    while ((k = fread(chunk, 1, sizeof chunk, f)) > 0) {
        if (len + k > cap) {
            char *nb = realloc(buf, cap = (len + k) * 2);
            if (!nb) break;
            buf = nb;
        }
        memcpy(buf + len, chunk, k);
        len += k;
    }
    fclose(f);
    te_error err;
    te_json *doc = buf ? te_json_parse(buf, len, &err) : NULL;
    free(buf);
    const te_json_value *configs = doc ? te_json_get(te_json_root(doc), "configs") : NULL;
    if (!configs) {
        cli_error(&cmd, "%s: not a profile --json file (%s)", path, doc ? "no \"configs\"" : te_errmsg(&err));
        te_json_free(doc);
        return CLI_FAIL;
    }
    int regressed = 0, compared = 0;
    printf("\ncompared with %s (threshold %.2fx; stages under %.1f ms in both runs ignored):\n", path, threshold, FLOOR_MS);
    for (int i = 0; i < n; i++) {
        const config *c = &cs[i];
        for (size_t j = 0; j < te_json_len(configs); j++) {
            const te_json_value *b = te_json_at(configs, j);
            const char *bs = te_json_string(te_json_get(b, "strategy")), *bc = te_json_string(te_json_get(b, "cache"));
            int bw = 0;
            te_json_bool(te_json_get(b, "warmup"), &bw);
            if (!bs || !bc || strcmp(bs, te_strategy_name(c->strategy)) || strcmp(bc, c->cold ? "cold" : "warm") ||
                bw != c->warmup)
                continue;
            for (int v = 0; v < N_STAGES; v++) {
                double base;
                if (!te_json_number(te_json_get(te_json_get(te_json_get(b, "stages"), value_names[v]), "median"), &base))
                    continue;
                double now = summarize(c, v).median, ratio = base > 0 ? now / base : (now > 0 ? INFINITY : 1);
                int ignored = now < FLOOR_MS && base < FLOOR_MS, slow = !ignored && ratio > threshold;
                compared++;
                regressed |= slow;
                printf("  %-12s %-5s %-13s %9.3f ms vs %9.3f ms  %6.2fx %s\n", bs, bc, value_names[v], now, base, ratio,
                       ignored ? "(below floor)" : slow ? "SLOWER" : "ok");
            }
        }
    }
    te_json_free(doc);
    if (!compared) {
        cli_error(&cmd, "%s has no configuration matching this run", path);
        return CLI_FAIL;
    }
    printf("%s\n", regressed ? "regression: some stage is slower than the threshold" : "no regression");
    return regressed ? 1 : 0;
}

int cmd_profile(int argc, char **argv) {
    cli_args a;
    int rc = cli_parse(&cmd, argc, argv, &a);
    if (rc != CLI_OK) return rc == CLI_HELP ? 0 : rc;
    char self[CLI_PATH_MAX];
    const char *model, *text = cli_get(&cmd, &a, "text");
    const char *json = cli_get(&cmd, &a, "json"), *baseline = cli_get(&cmd, &a, "baseline");
    const char *svg = cli_get(&cmd, &a, "svg");
    const char *thr_s = cli_get(&cmd, &a, "threshold");
    long runs, threads;
    if ((rc = cli_get_int(&cmd, &a, "runs", 1, 1000, 5, &runs)) != CLI_OK) return rc;
    if ((rc = cli_get_int(&cmd, &a, "threads", 1, 256, 0, &threads)) != CLI_OK) return rc;
    if ((rc = cli_model_path(&cmd, &a, NULL, self, sizeof self, &model)) != CLI_OK) return rc;
    double threshold = 1.2;
    if (thr_s) {
        char *end;
        threshold = strtod(thr_s, &end);
        if (*end || !(threshold >= 1.0)) {
            cli_error(&cmd, "--threshold must be a number >= 1 (got '%s')", thr_s);
            return CLI_USAGE;
        }
    }
    te_strategy s;
    if ((rc = cli_strategy(&cmd, &a, &s)) != CLI_OK) return rc;
    if (!text) text = "The quick brown fox jumps over the lazy dog.";
    /* Fail early, with the library's message, on a bad model file. */
    te_error err;
    te_model *probe = te_open(model, NULL, &err);
    if (!probe) return cli_lib_error(&cmd, &err);
    te_model_info info;
    te_model_get_info(probe, &info);
    char *name = strdup(info.name); /* the results name the model after it is closed */
    info.name = name;
    te_close(probe);
    if (!name) {
        cli_error(&cmd, "out of memory");
        return CLI_FAIL;
    }

    int compare = cli_flag(&cmd, &a, "compare"), n = compare ? 8 : 1, warmup = cli_flag(&cmd, &a, "warmup");
    config cs[8];
    for (int i = 0; i < n; i++) {
        cs[i] = (config){compare ? (te_strategy)(i / 2) : s, compare ? i % 2 == 0 : cli_flag(&cmd, &a, "cold"), warmup, 1,
                         calloc((size_t)runs * N_VALUES, sizeof(double)), (int)runs, NULL};
        if (svg && !(cs[i].starts = calloc((size_t)runs, sizeof *cs[i].starts))) rc = CLI_FAIL;
        if (!cs[i].values) rc = CLI_FAIL;
    }
    for (int i = 0; rc == 0 && i < n; i++) rc = run_config(model, &cs[i], (int)threads, text);
    if (rc == 0) print_table(cs, n, compare);
    results_file r;
    if (rc == 0 && json) {
        rc = results_open_path(&r, cmd.name, json) == 0 ? 0 : CLI_FAIL;
        if (rc == 0) write_profile(&r, model, &info, text, cs, n, (int)threads);
        if (rc == 0) rc = results_commit(&r, cmd.name, NULL) == 0 ? 0 : CLI_FAIL;
    }
    const char *dir = cli_get(&cmd, &a, "save");
    if (rc == 0 && dir && (rc = results_open(&r, cmd.name, dir, "profiles")) == 0) {
        write_profile(&r, model, &info, text, cs, n, (int)threads);
        rc = results_commit(&r, cmd.name, "profile") == 0 ? 0 : CLI_FAIL;
        if (rc == 0) fprintf(stderr, "saved %s\n", r.path);
    }
    if (rc == 0 && svg) rc = write_svg(svg, &info, cs, n, (int)threads);
    if (rc == 0 && baseline) rc = compare_baseline(baseline, cs, n, threshold);
    for (int i = 0; i < n; i++) {
        free(cs[i].values);
        free(cs[i].starts);
    }
    free(name);
    return rc;
}
