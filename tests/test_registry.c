/*
 * test_registry.c - the model registry: parallel start-up loads with
 * failures and fallbacks, first-use loads under concurrent gets, reloads
 * under load (every vector must be one file's reference, never a mix),
 * failed reloads, unload, flat memory over reloads, and the config file.
 *
 * Where a test needs loads to overlap, the registry's load hook holds them
 * at a gate the test opens, so nothing depends on this machine's speed.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "registry.h"
#include "tinyembed.h"

static char work[256];     /* a fresh directory per run */
static char buf[1024];

static const char *wpath(const char *name) {
    static char paths[8][512];
    static int k;
    char *p = paths[k++ % 8];
    snprintf(p, sizeof paths[0], "%s/%s", work, name);
    return p;
}

static const char *data(const char *name) { return th_path(buf, sizeof buf, "TE_TESTDATA", name); }

static int copy_file(const char *src, const char *dst, long max_bytes) {
    size_t n;
    char *d = th_read_file(src, &n);
    if (!d) return -1;
    if (max_bytes >= 0 && (size_t)max_bytes < n) n = (size_t)max_bytes;
    int rc = th_write_file(dst, d, n);
    free(d);
    return rc;
}

/* Puts `src` at `dst` the way convert/quantize do: a new file renamed over the old. */
static int rename_into_place(const char *src, const char *dst) {
    const char *tmp = wpath("next.temb");
    unlink(tmp);
    return link(src, tmp) == 0 && rename(tmp, dst) == 0 ? 0 : -1;
}

static const char *texts[] = {"Hello world", "The quick brown fox jumps over the lazy dog.",
                              "Registries keep several models in one process.", "Größenwahn und Straße.",
                              "中文 and 한국어 mixed in.", "a", "Reload me while I run!", "The last one."};
#define N_TEXTS 8
#define MAX_DIM 384

/* Reference vectors of every text, straight from the file (no registry),
 * one text per call as the tests embed them (with make BLAS=openblas a
 * batch's size decides which code multiplies, so only equal calls are
 * equal bit for bit). */
static int reference(const char *path, float *out, uint32_t *fingerprint) {
    te_error err;
    te_model *m = te_open(path, NULL, &err);
    if (!m) return -1;
    te_model_info in;
    te_model_get_info(m, &in);
    if (fingerprint) *fingerprint = in.fingerprint;
    te_ctx_opts o = {.threads = 1};
    te_ctx *c = te_ctx_new(m, &o, &err);
    int rc = c ? in.hidden_size : -1;
    for (int t = 0; t < N_TEXTS && rc > 0; t++)
        if (te_embed(c, &texts[t], NULL, 1, out + (size_t)t * (size_t)in.hidden_size, &err) != TE_OK) rc = -1;
    te_ctx_free(c);
    te_close(m);
    return rc;
}

static int embed_one(const te_model *m, int text, float *out) {
    te_error err;
    te_ctx_opts o = {.threads = 1};
    te_ctx *c = te_ctx_new(m, &o, &err);
    int ok = c && te_embed(c, &texts[text], NULL, 1, out, &err) == TE_OK;
    te_ctx_free(c);
    return ok;
}

static te_reg_status status_of(te_registry *r, const char *name) {
    te_reg_status s;
    int i = te_registry_find(r, name);
    if (i < 0 || te_registry_status(r, (size_t)i, &s) != TE_OK) memset(&s, 0, sizeof s);
    return s;
}

/* ---- a gate that holds loads in the load hook --------------------------- */

typedef struct gate {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int open, inside, entered;
} gate;

static gate g_gate = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0, 0};

static void gate_reset(void) {
    pthread_mutex_lock(&g_gate.mu);
    g_gate.open = g_gate.inside = g_gate.entered = 0;
    pthread_mutex_unlock(&g_gate.mu);
}

static void gate_hook(void *user, const char *name) {
    (void)user;
    (void)name;
    pthread_mutex_lock(&g_gate.mu);
    g_gate.inside++;
    g_gate.entered++;
    pthread_cond_broadcast(&g_gate.cv);
    while (!g_gate.open) pthread_cond_wait(&g_gate.cv, &g_gate.mu);
    g_gate.inside--;
    pthread_mutex_unlock(&g_gate.mu);
}

/* Waits (up to 20 s, so a broken registry fails instead of hanging) until n loads are held at the gate. */
static int gate_wait_inside(int n) {
    struct timespec d;
    clock_gettime(CLOCK_REALTIME, &d);
    d.tv_sec += 20;
    pthread_mutex_lock(&g_gate.mu);
    int rc = 0;
    while (g_gate.inside < n && rc != ETIMEDOUT) rc = pthread_cond_timedwait(&g_gate.cv, &g_gate.mu, &d);
    int ok = g_gate.inside >= n;
    pthread_mutex_unlock(&g_gate.mu);
    return ok;
}

static void gate_open(void) {
    pthread_mutex_lock(&g_gate.mu);
    g_gate.open = 1;
    pthread_cond_broadcast(&g_gate.cv);
    pthread_mutex_unlock(&g_gate.mu);
}

/* ---- tests ----------------------------------------------------------------- */

/* Four start-up models, one file missing and one truncated: start returns
 * at once, all four load at the same time, two become ready, two fail with
 * their reasons, and the one with a fallback is served by it. */
TEST(startup_loads_in_parallel_with_failures_and_fallbacks) {
    CHECK(copy_file(data("tiny-mean.temb"), wpath("a.temb"), -1) == 0);
    CHECK(copy_file(data("tiny-cls.temb"), wpath("b.temb"), -1) == 0);
    CHECK(copy_file(data("tiny-mean.temb"), wpath("cut.temb"), 100000) == 0);
    te_error err;
    te_registry *r = te_registry_new(&err);
    CHECK(r);
    te_registry_set_load_hook(r, gate_hook, NULL);
    gate_reset();
    te_reg_decl d[4] = {{.name = "a", .path = wpath("a.temb")},
                        {.name = "b", .path = wpath("b.temb"), .strategy = TE_STRATEGY_PROGRESSIVE},
                        {.name = "gone", .path = wpath("missing.temb"), .fallback = "a"},
                        {.name = "cut", .path = wpath("cut.temb")}};
    for (int i = 0; i < 4; i++) CHECK_MSG(te_registry_declare(r, &d[i], &err) == TE_OK, "%s", err.msg);
    CHECK_EQ_INT(status_of(r, "a").state, TE_REG_DECLARED);
    CHECK(te_registry_start(r, &err) == TE_OK);
    /* All four are held in their load at once: they run in parallel, and start did not wait. */
    CHECK_MSG(gate_wait_inside(4), "only %d loads ran at the same time", g_gate.inside);
    CHECK_EQ_INT(status_of(r, "b").state, TE_REG_LOADING);
    CHECK_EQ_INT(te_registry_wait(r, 0, &err), TE_ERR_TIMEOUT);
    CHECK(!te_registry_all_ready(r));
    gate_open();
    te_status st = te_registry_wait(r, -1, &err);
    CHECK_EQ_INT(st, TE_ERR_TRUNCATED);
    CHECK_HAS(err.msg, "'cut'");
    CHECK_HAS(err.msg, "truncated");
    CHECK(!te_registry_all_ready(r));

    te_reg_status s = status_of(r, "a");
    CHECK_EQ_INT(s.state, TE_REG_READY);
    CHECK(s.warmed_up && s.warmup && s.load_started_at > 1.6e9 && s.loaded_at >= s.load_started_at);
    CHECK(s.fingerprint != 0 && s.generation == 1 && s.loads == 1 && s.hidden_size == 64);
    CHECK_STR_EQ(s.converter, "tinyembed " TE_VERSION_STRING);
    struct stat sa;
    CHECK(stat(wpath("a.temb"), &sa) == 0);
    CHECK(s.file_bytes == (uint64_t)sa.st_size && s.resident_bytes > 0 && s.resident_bytes <= s.file_bytes);
    s = status_of(r, "b");
    CHECK_EQ_INT(s.state, TE_REG_READY);
    CHECK_EQ_INT(s.strategy, TE_STRATEGY_PROGRESSIVE);
    s = status_of(r, "gone");
    CHECK_EQ_INT(s.state, TE_REG_FAILED);
    CHECK_EQ_INT(s.error.code, TE_ERR_NOT_FOUND);
    CHECK_HAS(s.error.msg, "missing.temb: no such file");
    CHECK(s.served_by && strcmp(s.served_by, "a") == 0);
    s = status_of(r, "cut");
    CHECK_EQ_INT(s.state, TE_REG_FAILED);
    CHECK_HAS(s.error.msg, "truncated");
    CHECK(s.served_by == NULL);

    /* The fallback serves "gone", and says so; its vectors are a's. */
    te_model_ref ref, ra;
    CHECK(te_registry_get(r, "gone", &ref, &err) == TE_OK);
    CHECK(ref.fallback == 1 && strcmp(ref.name, "a") == 0);
    CHECK(te_registry_get(r, "a", &ra, &err) == TE_OK);
    CHECK(ra.fallback == 0 && ra.model == ref.model);
    float v1[MAX_DIM], v2[MAX_DIM];
    CHECK(embed_one(ref.model, 1, v1) && embed_one(ra.model, 1, v2) && memcmp(v1, v2, 64 * sizeof *v1) == 0);
    te_registry_release(r, &ref);
    te_registry_release(r, &ra);
    CHECK(ref.model == NULL);
    CHECK_EQ_INT(status_of(r, "gone").fallback_calls, 1);
    CHECK_EQ_INT(status_of(r, "a").calls, 2);

    /* No fallback: the error names the model and the reason. */
    CHECK_EQ_INT(te_registry_get(r, "cut", &ref, &err), TE_ERR_TRUNCATED);
    CHECK_HAS(err.msg, "model 'cut' is not available");
    CHECK_HAS(err.msg, "cut.temb: file is truncated");
    CHECK_EQ_INT(te_registry_get(r, "nope", &ref, &err), TE_ERR_NOT_FOUND);
    CHECK_HAS(err.msg, "no model named 'nope'");
    te_registry_free(r);
}

TEST(declaration_errors) {
    te_error err;
    te_registry *r = te_registry_new(&err);
    CHECK(r);
    char tiny[1024], big[1024];
    snprintf(tiny, sizeof tiny, "%s", data("tiny-mean.temb"));
    snprintf(big, sizeof big, "%s", data("minilm-mean.temb"));
    te_reg_decl small = {.name = "small", .path = tiny};
    CHECK(te_registry_declare(r, &small, &err) == TE_OK);
    CHECK_EQ_INT(te_registry_declare(r, &small, &err), TE_ERR_ARG);
    CHECK_HAS(err.msg, "declared twice");
    te_reg_decl d = {.name = "big", .path = big, .fallback = "small"};
    CHECK_EQ_INT(te_registry_declare(r, &d, &err), TE_ERR_ARG);
    CHECK_HAS(err.msg, "dimension 384");
    CHECK_HAS(err.msg, "dimension 64");
    d.fallback = "later";
    CHECK_EQ_INT(te_registry_declare(r, &d, &err), TE_ERR_ARG);
    CHECK_HAS(err.msg, "'later' is not declared");
    d.fallback = "big";
    CHECK_EQ_INT(te_registry_declare(r, &d, &err), TE_ERR_ARG);
    d = (te_reg_decl){.name = "", .path = tiny};
    CHECK_EQ_INT(te_registry_declare(r, &d, &err), TE_ERR_ARG);
    d = (te_reg_decl){.name = "s", .path = tiny, .strategy = (te_strategy)42};
    CHECK_EQ_INT(te_registry_declare(r, &d, &err), TE_ERR_ARG);
    CHECK_EQ_INT(te_registry_count(r), 1);

    /* A file that cannot be read at declaration is checked when it loads. */
    unlink(wpath("late.temb"));
    d = (te_reg_decl){.name = "late", .path = wpath("late.temb"), .fallback = "small"};
    CHECK(te_registry_declare(r, &d, &err) == TE_OK);
    CHECK(copy_file(big, wpath("late.temb"), -1) == 0);
    CHECK_EQ_INT(te_registry_reload(r, "late", &err), TE_ERR_SHAPE);
    CHECK_HAS(err.msg, "its fallback 'small' gives embedding vectors of dimension 64");
    te_model_ref ref;
    CHECK(te_registry_get(r, "late", &ref, &err) == TE_OK && ref.fallback == 1);
    te_registry_release(r, &ref);
    te_registry_free(r);
}

typedef struct getter {
    te_registry *r;
    te_model_ref ref;
    te_status st;
} getter;

static void *get_main(void *arg) {
    getter *g = arg;
    te_error err;
    g->st = te_registry_get(g->r, "lazy-one", &g->ref, &err);
    return NULL;
}

/* Eight threads ask for a first-use model at once: it is loaded once and
 * all get the same model. */
TEST(first_use_loads_once_under_concurrent_gets) {
    te_error err;
    te_registry *r = te_registry_new(&err);
    CHECK(r);
    te_registry_set_load_hook(r, gate_hook, NULL);
    gate_reset();
    te_reg_decl d = {.name = "lazy-one", .path = data("tiny-mean-int8.temb"), .first_use = 1};
    CHECK(te_registry_declare(r, &d, &err) == TE_OK);
    CHECK(te_registry_start(r, &err) == TE_OK);
    CHECK(te_registry_wait(r, -1, &err) == TE_OK); /* no start-up models: nothing to wait for */
    CHECK_EQ_INT(status_of(r, "lazy-one").state, TE_REG_DECLARED);
    getter g[8];
    pthread_t t[8];
    for (int i = 0; i < 8; i++) {
        g[i] = (getter){.r = r};
        CHECK(pthread_create(&t[i], NULL, get_main, &g[i]) == 0);
    }
    CHECK(gate_wait_inside(1));
    usleep(50000); /* let the other getters reach the wait (the check below holds either way) */
    gate_open();
    for (int i = 0; i < 8; i++) pthread_join(t[i], NULL);
    for (int i = 0; i < 8; i++) CHECK(g[i].st == TE_OK && g[i].ref.model == g[0].ref.model && !g[i].ref.fallback);
    te_reg_status s = status_of(r, "lazy-one");
    CHECK_EQ_INT(g_gate.entered, 1);
    CHECK_EQ_INT(s.loads, 1);
    CHECK_EQ_INT(s.calls, 8);
    CHECK_EQ_INT(s.live_versions, 1);
    for (int i = 0; i < 8; i++) te_registry_release(r, &g[i].ref);
    te_registry_free(r);
}

/* ---- reload under load ------------------------------------------------------ */

typedef struct stress {
    te_registry *r;
    const float *ref_a, *ref_b;
    uint32_t fp_a, fp_b;
    int dim;
    atomic_int reloader_done;
    atomic_int started;
} stress;

typedef struct worker {
    stress *s;
    long embeds, bad, renewals;
    uint64_t first_gen, last_gen;
    char error[600];
} worker;

/* Embeds through a context tied to the reference it holds, renewing both
 * when the registry says the model changed; checks every vector exactly
 * against the reference of the file its version came from. */
static int worker_embed(worker *w, te_model_ref *ref, te_ctx **ctx, long i) {
    stress *s = w->s;
    te_error err;
    if (!ref->model || !te_registry_is_current(s->r, ref)) {
        te_ctx_free(*ctx);
        te_registry_release(s->r, ref);
        *ctx = NULL;
        if (te_registry_get(s->r, "m", ref, &err) != TE_OK) {
            snprintf(w->error, sizeof w->error, "get: %s", err.msg);
            return 0;
        }
        te_ctx_opts o = {.threads = 1, .batch = 2};
        if (!(*ctx = te_ctx_new(ref->model, &o, &err))) {
            snprintf(w->error, sizeof w->error, "ctx: %s", err.msg);
            return 0;
        }
        w->renewals++;
    }
    int t = (int)(i % N_TEXTS);
    float v[MAX_DIM];
    if (te_embed(*ctx, &texts[t], NULL, 1, v, &err) != TE_OK) {
        snprintf(w->error, sizeof w->error, "embed: %s", err.msg);
        return 0;
    }
    const float *want = ref->fingerprint == s->fp_a ? s->ref_a : ref->fingerprint == s->fp_b ? s->ref_b : NULL;
    if (!want || memcmp(v, want + (size_t)t * (size_t)s->dim, (size_t)s->dim * sizeof *v) != 0) w->bad++;
    if (!w->first_gen) w->first_gen = ref->generation;
    w->last_gen = ref->generation;
    w->embeds++;
    return 1;
}

static void *worker_main(void *arg) {
    worker *w = arg;
    te_model_ref ref = {0};
    te_ctx *ctx = NULL;
    long i = 0;
    int ok = worker_embed(w, &ref, &ctx, i++);
    atomic_fetch_add(&w->s->started, 1);
    /* TE_STRESS_YIELD=1 (for valgrind, whose one-thread-at-a-time scheduler otherwise starves the
     * reloader's many system calls): pause between texts. The checks are the same. */
    int yield = getenv("TE_STRESS_YIELD") != NULL;
    while (ok && (w->embeds < 2500 || !atomic_load(&w->s->reloader_done))) {
        ok = worker_embed(w, &ref, &ctx, i++);
        if (yield) usleep(500);
    }
    if (ok) worker_embed(w, &ref, &ctx, i++); /* one more, on the last version */
    te_ctx_free(ctx);
    te_registry_release(w->s->r, &ref);
    return NULL;
}

typedef struct reloader {
    stress *s;
    int reloads, failures;
    char error[600];
} reloader;

static void *reloader_main(void *arg) {
    reloader *rl = arg;
    while (atomic_load(&rl->s->started) < 4) usleep(1000);
    for (int i = 0; i < 50; i++) {
        te_error err;
        if (rename_into_place(wpath(i % 2 ? "A.temb" : "B.temb"), wpath("m.temb")) != 0 ||
            te_registry_reload(rl->s->r, "m", &err) != TE_OK) {
            rl->failures++;
            snprintf(rl->error, sizeof rl->error, "%s", err.msg);
        } else {
            rl->reloads++;
        }
    }
    atomic_store(&rl->s->reloader_done, 1);
    return NULL;
}

/* Four threads embed 10,000+ texts while another reloads 50 times,
 * alternating two files of the same shape renamed into place: every vector
 * is exactly one file's reference, each thread sees the model change, and
 * every old version is closed at the end. */
TEST(reload_under_load_never_mixes_versions) {
    static float ref_a[N_TEXTS * MAX_DIM], ref_b[N_TEXTS * MAX_DIM];
    stress s = {.ref_a = ref_a, .ref_b = ref_b};
    CHECK(copy_file(data("tiny-mean.temb"), wpath("A.temb"), -1) == 0);
    CHECK(copy_file(data("tiny-cls.temb"), wpath("B.temb"), -1) == 0);
    s.dim = reference(wpath("A.temb"), ref_a, &s.fp_a);
    CHECK(s.dim == 64 && reference(wpath("B.temb"), ref_b, &s.fp_b) == 64 && s.fp_a != s.fp_b);
    CHECK(memcmp(ref_a, ref_b, sizeof ref_a) != 0);
    unlink(wpath("m.temb"));
    CHECK(link(wpath("A.temb"), wpath("m.temb")) == 0);
    te_error err;
    s.r = te_registry_new(&err);
    CHECK(s.r);
    te_reg_decl d = {.name = "m", .path = wpath("m.temb"), .strategy = TE_STRATEGY_PROGRESSIVE};
    CHECK(te_registry_declare(s.r, &d, &err) == TE_OK);
    CHECK(te_registry_start(s.r, &err) == TE_OK);
    atomic_init(&s.reloader_done, 0);
    atomic_init(&s.started, 0);
    worker w[4];
    reloader rl = {.s = &s};
    pthread_t t[5];
    for (int i = 0; i < 4; i++) {
        w[i] = (worker){.s = &s};
        CHECK(pthread_create(&t[i], NULL, worker_main, &w[i]) == 0);
    }
    CHECK(pthread_create(&t[4], NULL, reloader_main, &rl) == 0);
    for (int i = 0; i < 5; i++) pthread_join(t[i], NULL);
    long total = 0, renewals = 0;
    for (int i = 0; i < 4; i++) {
        CHECK_MSG(!w[i].error[0], "worker %d: %s", i, w[i].error);
        CHECK_MSG(w[i].bad == 0, "worker %d: %ld of %ld vectors match neither file", i, w[i].bad, w[i].embeds);
        CHECK_MSG(w[i].first_gen == 1 && w[i].last_gen == 51, "worker %d saw generations %llu..%llu", i,
                  (unsigned long long)w[i].first_gen, (unsigned long long)w[i].last_gen);
        total += w[i].embeds;
        renewals += w[i].renewals;
    }
    CHECK_MSG(rl.failures == 0, "%d reloads failed: %s", rl.failures, rl.error);
    CHECK_EQ_INT(rl.reloads, 50);
    CHECK(total >= 10000);
    printf("  %ld texts embedded by 4 threads across 50 reloads; %ld context renewals\n", total, renewals);
    te_reg_status st = status_of(s.r, "m");
    CHECK_EQ_INT(st.reloads, 50);
    CHECK_EQ_INT(st.generation, 51);
    CHECK_EQ_INT(st.live_versions, 1); /* every reloaded-away version was closed */
    CHECK_EQ_INT(st.fingerprint, s.fp_a);
    te_registry_free(s.r);
}

/* A reload to a damaged or missing file reports the failure and leaves the
 * old version serving; a good file afterwards is picked up. */
TEST(failed_reload_keeps_the_old_version) {
    static float ref_a[N_TEXTS * MAX_DIM], ref_b[N_TEXTS * MAX_DIM];
    uint32_t fp_a, fp_b;
    CHECK(copy_file(data("tiny-mean.temb"), wpath("A.temb"), -1) == 0);
    CHECK(copy_file(data("tiny-cls.temb"), wpath("B.temb"), -1) == 0);
    CHECK(copy_file(data("tiny-cls.temb"), wpath("B-cut.temb"), 300000) == 0);
    CHECK(reference(wpath("A.temb"), ref_a, &fp_a) == 64 && reference(wpath("B.temb"), ref_b, &fp_b) == 64);
    CHECK(rename_into_place(wpath("A.temb"), wpath("m.temb")) == 0);
    te_error err;
    te_registry *r = te_registry_new(&err);
    CHECK(r);
    te_reg_decl d = {.name = "m", .path = wpath("m.temb"), .verify_checksums = 1};
    CHECK(te_registry_declare(r, &d, &err) == TE_OK && te_registry_start(r, &err) == TE_OK);
    CHECK(te_registry_wait(r, -1, &err) == TE_OK && te_registry_all_ready(r));

    CHECK(rename_into_place(wpath("B-cut.temb"), wpath("m.temb")) == 0);
    CHECK_EQ_INT(te_registry_reload(r, "m", &err), TE_ERR_TRUNCATED);
    CHECK_HAS(err.msg, "model 'm'");
    CHECK_HAS(err.msg, "truncated");
    te_reg_status s = status_of(r, "m");
    CHECK_EQ_INT(s.state, TE_REG_READY);
    CHECK_EQ_INT(s.fingerprint, fp_a);
    CHECK_HAS(s.error.msg, "reload failed");
    CHECK(s.loads == 2 && s.reloads == 0 && s.generation == 1 && te_registry_all_ready(r));
    te_model_ref ref;
    float v[MAX_DIM];
    CHECK(te_registry_get(r, "m", &ref, &err) == TE_OK && ref.fingerprint == fp_a);
    CHECK(embed_one(ref.model, 2, v) && memcmp(v, ref_a + 2 * 64, 64 * sizeof *v) == 0);
    te_registry_release(r, &ref);

    /* Bad CRC in a full-size file: only verification at reload catches it. */
    size_t n;
    char *bytes = th_read_file(wpath("B.temb"), &n);
    CHECK(bytes);
    bytes[n - 100] ^= 0x55;
    CHECK(th_write_file(wpath("B-crc.temb"), bytes, n) == 0);
    free(bytes);
    CHECK(rename_into_place(wpath("B-crc.temb"), wpath("m.temb")) == 0);
    CHECK_EQ_INT(te_registry_reload(r, "m", &err), TE_ERR_CHECKSUM);
    /* A file from a newer, incompatible tinyembed (format major 9). */
    bytes = th_read_file(wpath("B.temb"), &n);
    CHECK(bytes);
    bytes[4] = 9;
    CHECK(th_write_file(wpath("B-new.temb"), bytes, n) == 0);
    free(bytes);
    CHECK(rename_into_place(wpath("B-new.temb"), wpath("m.temb")) == 0);
    CHECK_EQ_INT(te_registry_reload(r, "m", &err), TE_ERR_VERSION);
    CHECK_HAS(err.msg, "upgrade tinyembed");
    unlink(wpath("m.temb"));
    CHECK_EQ_INT(te_registry_reload(r, "m", &err), TE_ERR_NOT_FOUND);
    CHECK_EQ_INT(status_of(r, "m").state, TE_REG_READY);

    CHECK(rename_into_place(wpath("B.temb"), wpath("m.temb")) == 0);
    CHECK(te_registry_reload(r, NULL, &err) == TE_OK);
    s = status_of(r, "m");
    CHECK(s.fingerprint == fp_b && s.reloads == 1 && s.generation == 2 && s.error.code == TE_OK);
    CHECK(te_registry_get(r, "m", &ref, &err) == TE_OK && ref.fingerprint == fp_b);
    CHECK(embed_one(ref.model, 2, v) && memcmp(v, ref_b + 2 * 64, 64 * sizeof *v) == 0);
    te_registry_release(r, &ref);
    te_registry_free(r);
}

/* Unload waits for references; a held reference keeps working; gets fail
 * until a reload brings the model back. */
TEST(unload_waits_for_references) {
    te_error err;
    te_registry *r = te_registry_new(&err);
    CHECK(r);
    te_reg_decl d = {.name = "u", .path = data("tiny-mean.temb"), .no_warmup = 1};
    CHECK(te_registry_declare(r, &d, &err) == TE_OK && te_registry_start(r, &err) == TE_OK);
    te_model_ref ref;
    CHECK(te_registry_get(r, "u", &ref, &err) == TE_OK);
    CHECK(!status_of(r, "u").warmed_up);
    CHECK(te_registry_is_current(r, &ref));
    CHECK_EQ_INT(te_registry_unload(r, "u", 50, &err), TE_ERR_TIMEOUT);
    CHECK_HAS(err.msg, "still referenced");
    CHECK(!te_registry_is_current(r, &ref));
    te_reg_status s = status_of(r, "u");
    CHECK(s.state == TE_REG_UNLOADED && s.live_versions == 1);
    float v[MAX_DIM];
    CHECK(embed_one(ref.model, 0, v)); /* still mapped */
    te_model_ref r2;
    CHECK_EQ_INT(te_registry_get(r, "u", &r2, &err), TE_ERR_NOT_FOUND);
    CHECK_HAS(err.msg, "unloaded");
    te_registry_release(r, &ref);
    CHECK_EQ_INT(status_of(r, "u").live_versions, 0);
    CHECK(te_registry_unload(r, "u", 0, &err) == TE_OK);
    CHECK(te_registry_reload(r, "u", &err) == TE_OK);
    CHECK(te_registry_get(r, "u", &r2, &err) == TE_OK);
    te_registry_release(r, &r2);
    te_registry_release(r, &r2); /* a zeroed ref is a no-op */
    te_registry_free(r);
}

/* ---- memory over reloads ----------------------------------------------------- */

static long proc_status_kb(const char *key) {
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long v = -1;
    size_t n = strlen(key);
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, key, n) == 0 && line[n] == ':') v = atol(line + n + 1);
    if (f) fclose(f);
    return v;
}

static int mappings_of(const char *path) {
    FILE *f = fopen("/proc/self/maps", "r");
    char line[1024];
    int n = 0;
    while (f && fgets(line, sizeof line, f)) n += strstr(line, path) != NULL;
    if (f) fclose(f);
    return n;
}

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define SANITIZED 1
#endif
#endif
#ifndef SANITIZED
#define SANITIZED 0
#endif

/* Memcheck keeps freed blocks in its own quarantine and grows shadow memory with
 * every block it tracks; it always preloads its vgpreload libraries. */
static int under_valgrind(void) {
    const char *p = getenv("LD_PRELOAD");
    return p && strstr(p, "vgpreload") != NULL;
}

/* 50 reloads of the MiniLM-shaped model, each warmed up (its weights paged
 * in and mapped): the old mappings are released, so RSS stays put. */
TEST(rss_is_flat_over_reloads) {
    CHECK(copy_file(data("minilm-mean.temb"), wpath("big.temb"), -1) == 0);
    te_error err;
    te_registry *r = te_registry_new(&err);
    CHECK(r);
    te_reg_decl d = {.name = "big", .path = wpath("big.temb")};
    CHECK(te_registry_declare(r, &d, &err) == TE_OK && te_registry_start(r, &err) == TE_OK);
    CHECK(te_registry_wait(r, -1, &err) == TE_OK);
    CHECK(te_registry_reload(r, "big", &err) == TE_OK);
    long rss0 = proc_status_kb("VmRSS"), file0 = proc_status_kb("RssFile");
    int maps0 = mappings_of(wpath("big.temb")); /* madvise may split one mapping into several lines */
    for (int i = 0; i < 50; i++) CHECK_MSG(te_registry_reload(r, "big", &err) == TE_OK, "%s", err.msg);
    long rss1 = proc_status_kb("VmRSS"), file1 = proc_status_kb("RssFile");
    int heap_kept = SANITIZED || under_valgrind();
    printf("  after the first reload: RSS %ld kB (file-backed %ld kB); after 50 more: %ld kB (%ld kB)%s\n", rss0, file0,
           rss1, file1, heap_kept ? " [sanitizer or valgrind: heap quarantine, total RSS not compared]" : "");
    CHECK(maps0 >= 1);
    CHECK_EQ_INT(mappings_of(wpath("big.temb")), maps0);
    CHECK(rss0 > 0 && file0 > 40000); /* the warmed-up weights are mapped and resident */
    CHECK_MSG(labs(file1 - file0) <= 2048, "file-backed RSS moved by %ld kB", file1 - file0);
    /* Sanitizers and memcheck keep freed heap in quarantine by design; the file-backed figure above still applies. */
    if (!heap_kept) CHECK_MSG(labs(rss1 - rss0) <= 2048, "RSS moved by %ld kB", rss1 - rss0);
    CHECK_EQ_INT(status_of(r, "big").generation, 52);
    te_registry_free(r);
}

/* ---- the config file ------------------------------------------------------------ */

static te_registry *config_of(const char *json, te_error *err) {
    FILE *f = fopen(wpath("models.json"), "w");
    if (!f) return NULL;
    fputs(json, f);
    fclose(f);
    return te_registry_from_config(wpath("models.json"), err);
}

TEST(config_declares_models_with_relative_paths) {
    CHECK(copy_file(data("tiny-mean.temb"), wpath("a.temb"), -1) == 0);
    CHECK(copy_file(data("tiny-mean-int8.temb"), wpath("a-int8.temb"), -1) == 0);
    te_error err;
    te_registry *r = config_of("{\"models\": [\n"
                               "  {\"name\": \"big\", \"path\": \"nothere.temb\", \"fallback\": \"small\"},\n"
                               "  {\"name\": \"main\", \"path\": \"a.temb\", \"strategy\": \"progressive\", \"load\": \"startup\", \"warmup\": true},\n"
                               "  {\"name\": \"small\", \"path\": \"a-int8.temb\", \"load\": \"first-use\", \"warmup\": false, \"verify\": true}\n"
                               "]}\n", &err);
    CHECK_MSG(r, "%s", err.msg);
    CHECK_EQ_INT(te_registry_count(r), 3);
    te_reg_status s = status_of(r, "main");
    CHECK(s.strategy == TE_STRATEGY_PROGRESSIVE && !s.first_use && s.warmup);
    CHECK_STR_EQ(s.path, wpath("a.temb"));
    s = status_of(r, "small");
    CHECK(s.first_use && !s.warmup && s.hidden_size == 64);
    CHECK_STR_EQ(status_of(r, "big").fallback, "small");
    CHECK(te_registry_start(r, &err) == TE_OK);
    /* big fails; its first-use fallback is loaded for it, so everything serves. */
    CHECK_MSG(te_registry_wait(r, -1, &err) == TE_OK, "%s", err.msg);
    CHECK(te_registry_all_ready(r));
    s = status_of(r, "big");
    CHECK(s.state == TE_REG_FAILED && s.served_by && strcmp(s.served_by, "small") == 0);
    CHECK_EQ_INT(status_of(r, "small").state, TE_REG_READY);
    CHECK_EQ_INT(status_of(r, "small").dtype, TE_DTYPE_I8);
    te_registry_free(r);
}

TEST(config_errors_have_line_and_column) {
    static const struct {
        const char *json, *want;
    } cases[] = {
        {"{\"models\": [\n  {\"name\": \"a\", \"path\": \"a.temb\",, }\n]}", "line 2, column 34: expected a string key but found ','"},
        {"{\"models\": [\n  {\"name\": \"a\", \"path\": \"a.temb\",\n   \"fallbak\": \"b\"}\n]}", "line 3, column 4: unknown key \"fallbak\""},
        {"{\"models\": [\n  {\"name\": 7, \"path\": \"a.temb\"}]}", "line 2, column 12: \"name\" must be a string, not number"},
        {"{\"models\": [\n  {\"name\": \"a\"}]}", "line 2, column 3: model \"a\" has no \"path\""},
        {"{\"models\": [{\"name\": \"a\", \"path\": \"a.temb\", \"strategy\": \"fast\"}]}", "line 1, column 57: unknown strategy \"fast\""},
        {"{\"models\": [{\"name\": \"a\", \"path\": \"a.temb\", \"load\": \"later\"}]}", "column 53: \"load\" must be \"startup\" or \"first-use\""},
        {"{\"models\": [{\"name\": \"a\", \"path\": \"a.temb\", \"warmup\": \"yes\"}]}", "\"warmup\" must be true or false, not string"},
        {"{\"models\": [{\"name\": \"a\", \"path\": \"a.temb\", \"fallback\": \"zz\"}]}", "column 57: model \"a\" falls back to \"zz\", which is not in the file"},
        {"{\"models\": [{\"name\": \"a\", \"path\": \"a.temb\", \"fallback\": \"b\"},\n"
         "             {\"name\": \"b\", \"path\": \"a.temb\", \"fallback\": \"a\"}]}", "has a cycle"},
        {"{\"models\": [{\"name\": \"a\", \"path\": \"a.temb\"}, {\"name\": \"a\", \"path\": \"b.temb\"}]}", "column 46: a second model named \"a\""},
        {"{\"models\": []}", "line 1, column 12: \"models\" must be a non-empty list"},
        {"{\"model\": []}", "line 1, column 2: unknown key \"model\""},
        {"[1]", "the config must be an object"},
    };
    CHECK(copy_file(data("tiny-mean.temb"), wpath("a.temb"), -1) == 0);
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        te_error err;
        te_registry *r = config_of(cases[i].json, &err);
        CHECK_MSG(!r, "case %zu was accepted", i);
        CHECK_MSG(strstr(err.msg, "models.json: ") && strstr(err.msg, cases[i].want), "case %zu: got \"%s\"", i, err.msg);
    }
    /* A fallback of another dimension: the error points at the "fallback" value. */
    char json[2048], *big = realpath(data("minilm-mean.temb"), NULL); /* absolute: kept as is */
    CHECK(big);
    snprintf(json, sizeof json, "{\"models\": [{\"name\": \"b\", \"path\": \"a.temb\"},\n"
             "  {\"name\": \"a\", \"fallback\": \"b\", \"path\": \"%s\"}]}", big);
    free(big);
    te_error err;
    te_registry *r = config_of(json, &err);
    te_registry_free(r);
    CHECK(!r);
    CHECK_HAS(err.msg, "line 2, column 29: model 'a' (embedding, dimension 384) cannot fall back to 'b' (embedding, dimension 64)");
    CHECK(!te_registry_from_config(wpath("none.json"), &err) && err.code == TE_ERR_NOT_FOUND);
    CHECK_HAS(err.msg, "none.json");
}

static void remove_work(void) {
    static const char *const files[] = {"a.temb", "b.temb", "cut.temb", "late.temb", "A.temb", "B.temb", "B-cut.temb",
                                        "B-crc.temb", "B-new.temb", "m.temb", "next.temb", "big.temb", "a-int8.temb", "models.json"};
    for (size_t i = 0; i < sizeof files / sizeof *files; i++) unlink(wpath(files[i]));
    rmdir(work);
}

int main(void) {
    snprintf(work, sizeof work, "%s/registry-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (!mkdtemp(work)) {
        perror("mkdtemp");
        return 2;
    }
    RUN(startup_loads_in_parallel_with_failures_and_fallbacks);
    RUN(declaration_errors);
    RUN(first_use_loads_once_under_concurrent_gets);
    RUN(reload_under_load_never_mixes_versions);
    RUN(failed_reload_keeps_the_old_version);
    RUN(unload_waits_for_references);
    RUN(rss_is_flat_over_reloads);
    RUN(config_declares_models_with_relative_paths);
    RUN(config_errors_have_line_and_column);
    remove_work();
    return th_done();
}
