/*
 * harness.h - the tiny test harness every test program includes.
 *
 *   TEST(name) { CHECK(x == 1); CHECK_EQ_INT(a, b); ... }
 *   int main(void) { RUN(name); return th_done(); }
 *
 * Each test prints "PASS name" or "FAIL name: file:line: what"; a failing
 * CHECK returns from the test. tests/run.sh counts the lines. The test data
 * paths come from the environment (set by run.sh): TE_TESTDATA (converted
 * .temb files), TE_HF (generated model directories), TE_REF (../shared/ref),
 * TE_BIN (the tinyembed binary). TH_ONLY=name,name runs only those tests
 * (tests/arm.sh: the golden tests, under emulation that is ~50x slower).
 */
#ifndef TE_HARNESS_H
#define TE_HARNESS_H

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int th_failed_now, th_n_pass, th_n_fail;

static inline void th_fail(const char *file, int line, const char *fmt, ...) {
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (!th_failed_now) printf("  %s:%d: %s\n", file, line, msg);
    th_failed_now = 1;
}

#define TEST(name) static void name(void)
#define RUN(name) th_run(#name, name)

/* Whether TH_ONLY (a comma-separated list of test names) selects `name`. */
static inline int th_selected(const char *name) {
    const char *only = getenv("TH_ONLY");
    if (!only || !*only) return 1;
    size_t n = strlen(name);
    for (const char *p = only; (p = strstr(p, name)) != NULL; p += n)
        if ((p == only || p[-1] == ',') && (p[n] == ',' || p[n] == '\0')) return 1;
    return 0;
}

static inline void th_run(const char *name, void (*fn)(void)) {
    if (!th_selected(name)) return;
    th_failed_now = 0;
    fflush(stdout);
    fn();
    if (th_failed_now) { printf("FAIL %s\n", name); th_n_fail++; }
    else { printf("PASS %s\n", name); th_n_pass++; }
    fflush(stdout);
}

static inline int th_done(void) { return th_n_fail ? 1 : 0; }

#define CHECK(cond) do { if (!(cond)) { th_fail(__FILE__, __LINE__, "CHECK(%s)", #cond); return; } } while (0)
#define CHECK_MSG(cond, ...) do { if (!(cond)) { th_fail(__FILE__, __LINE__, __VA_ARGS__); return; } } while (0)
#define CHECK_EQ_INT(a, b) do { long long th_a = (long long)(a), th_b = (long long)(b); \
    if (th_a != th_b) { th_fail(__FILE__, __LINE__, "%s == %s: %lld != %lld", #a, #b, th_a, th_b); return; } } while (0)
#define CHECK_STR_EQ(a, b) do { const char *th_a = (a), *th_b = (b); \
    if (strcmp(th_a, th_b) != 0) { th_fail(__FILE__, __LINE__, "%s == %s: \"%s\" != \"%s\"", #a, #b, th_a, th_b); return; } } while (0)
#define CHECK_HAS(hay, needle) do { const char *th_h = (hay), *th_n = (needle); \
    if (!strstr(th_h, th_n)) { th_fail(__FILE__, __LINE__, "\"%s\" does not contain \"%s\"", th_h, th_n); return; } } while (0)
#define CHECK_NEAR(a, b, tol) do { double th_a = (a), th_b = (b); \
    if (!(fabs(th_a - th_b) <= (tol))) { th_fail(__FILE__, __LINE__, "%s ~ %s: %.9g vs %.9g (tol %g)", #a, #b, th_a, th_b, (double)(tol)); return; } } while (0)

/* Every how many inputs a test over many takes: TE_SLICE=N (make valgrind,
 * where each costs a hundred times more); 1, all of them, otherwise. */
static inline size_t th_slice(void) {
    const char *s = getenv("TE_SLICE");
    long n = s ? atol(s) : 1;
    return n > 1 ? (size_t)n : 1;
}

/* A path under an environment-given directory: th_path(buf, "TE_TESTDATA", "tiny-mean.temb"). */
static inline const char *th_path(char *buf, size_t cap, const char *env, const char *rel) {
    const char *dir = getenv(env);
    if (!dir) { fprintf(stderr, "harness: %s is not set (run through tests/run.sh)\n", env); exit(2); }
    snprintf(buf, cap, "%s/%s", dir, rel);
    return buf;
}

#ifdef TINYEMBED_H
/* Kernel sets a test over every set must have run: this CPU's best and
 * scalar, or one where scalar is the best (ARMv7). */
static inline int th_kernel_sets(void) {
    te_sysinfo si;
    te_error err;
    return te_sysinfo_get(NULL, &si, &err) == TE_OK && strcmp(si.simd, "scalar") == 0 ? 1 : 2;
}

/* Whether the golden tests run kernel set `simd` for weights of `dtype`:
 * avxvnni differs from avx2 only in its int8 kernel, and avx512bf16 from
 * avx512vnni only in its half-precision (bf16 dot) one, so each runs for
 * those dtypes alone (their other kernels are the same functions, which the
 * other sets run). */
static inline int th_set_differs_for(const char *simd, const char *dtype) {
    if (strcmp(simd, "avxvnni") == 0) return strcmp(dtype, "int8") == 0;
    if (strcmp(simd, "avx512bf16") == 0) return strcmp(dtype, "bf16") == 0 || strcmp(dtype, "f16") == 0;
    return 1;
}

/* Opens TE_TESTDATA/NAME.temb (printing the error when it fails). */
static inline te_model *th_open_model(const char *name) {
    char path[1300], rel[256];
    snprintf(rel, sizeof rel, "%.200s.temb", name);
    te_error err;
    te_model *m = te_open(th_path(path, sizeof path, "TE_TESTDATA", rel), NULL, &err);
    if (!m) printf("  %s\n", err.msg);
    return m;
}
#endif

/* Reads a whole file; NULL on failure. Caller frees. */
static inline char *th_read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) { free(buf); buf = NULL; }
    fclose(f);
    if (buf) { buf[n] = '\0'; if (len) *len = (size_t)n; }
    return buf;
}

static inline int th_write_file(const char *path, const void *data, size_t len) {
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    size_t k = fwrite(data, 1, len, f);
    return (fclose(f) == 0 && k == len) ? 0 : -1;
}

/* Copies TE_TESTDATA/REL to TE_TESTDATA/REL.PID.copy (path in buf), in
 * 1 MB steps; NULL on failure. For tests that evict a model from the page
 * cache: no other process (a test program run beside, a server) maps the
 * copy, so nothing keeps its pages resident. The caller removes it. */
static inline const char *th_private_copy(char *buf, size_t cap, const char *rel) {
    char src[1024], name[512];
    snprintf(name, sizeof name, "%.400s.%ld.copy", rel, (long)getpid());
    th_path(src, sizeof src, "TE_TESTDATA", rel);
    th_path(buf, cap, "TE_TESTDATA", name);
    FILE *in = fopen(src, "rb"), *out = in ? fopen(buf, "wb") : NULL;
    static char chunk[1 << 20];
    size_t n;
    int ok = out != NULL;
    while (ok && (n = fread(chunk, 1, sizeof chunk, in)) > 0) ok = fwrite(chunk, 1, n, out) == n;
    ok = ok && !ferror(in);
    if (in) fclose(in);
    if (out && fclose(out) != 0) ok = 0;
    if (!ok) remove(buf);
    return ok ? buf : NULL;
}

#endif
