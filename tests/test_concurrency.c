/*
 * test_concurrency.c - eight threads, each with its own context (half of them
 * with their own two-thread pools), on one shared model, embedding batches of
 * mixed lengths (the reference sentences, up to 4,281 bytes, cut at the
 * model's limit) for TE_STRESS_SECONDS (default 2; `make tsan` runs 60 under
 * ThreadSanitizer). Every vector must be bit-identical to the one a single
 * one-thread context computed first: the model is read-only and shared, all
 * per-call state lives in the context. Runs on the f32 and the int8 model.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>

#include "tinyembed.h"
#include "harness.h"

enum { N_THREADS = 8, MAX_TEXTS = 128, MAX_BATCH = 8 };

static const char *texts[MAX_TEXTS];
static size_t lens[MAX_TEXTS], n_texts;
static float *expected; /* [n_texts][hidden] from one one-thread context */
static int hidden;
static double deadline;
static atomic_long calls, mismatches, failures;

static double now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + t.tv_nsec * 1e-9;
}

typedef struct worker {
    const te_model *m;
    int id;
    char error[600];
} worker;

static void *run_worker(void *arg) {
    worker *w = arg;
    te_ctx_opts o = {.threads = 1 + w->id % 2, .batch = 1 + w->id % 4};
    te_error err;
    te_ctx *c = te_ctx_new(w->m, &o, &err);
    if (!c) {
        snprintf(w->error, sizeof w->error, "te_ctx_new: %s", err.msg);
        atomic_fetch_add(&failures, 1);
        return NULL;
    }
    float *out = malloc(MAX_BATCH * (size_t)hidden * sizeof *out);
    unsigned seed = 12345u + (unsigned)w->id * 7919u;
    while (out && now_s() < deadline) {
        const char *batch[MAX_BATCH];
        size_t blens[MAX_BATCH], which[MAX_BATCH], n = 1 + rand_r(&seed) % MAX_BATCH;
        for (size_t i = 0; i < n; i++) {
            which[i] = (size_t)rand_r(&seed) % n_texts;
            batch[i] = texts[which[i]];
            blens[i] = lens[which[i]];
        }
        if (te_embed(c, batch, blens, n, out, &err) != TE_OK) {
            snprintf(w->error, sizeof w->error, "te_embed: %s", err.msg);
            atomic_fetch_add(&failures, 1);
            break;
        }
        for (size_t i = 0; i < n; i++)
            if (memcmp(out + i * (size_t)hidden, expected + which[i] * (size_t)hidden, (size_t)hidden * sizeof *out))
                atomic_fetch_add(&mismatches, 1);
        atomic_fetch_add(&calls, 1);
    }
    free(out);
    te_ctx_free(c);
    return NULL;
}

static void hammer(const char *name) {
    te_model *m = th_open_model(name);
    CHECK(m);
    te_model_info in;
    te_model_get_info(m, &in);
    hidden = in.hidden_size;
    expected = malloc(n_texts * (size_t)hidden * sizeof *expected);
    te_ctx_opts one = {.threads = 1};
    te_error err;
    te_ctx *c = te_ctx_new(m, &one, &err);
    CHECK_MSG(c && expected, "%s", err.msg);
    for (size_t i = 0; i < n_texts; i++)
        CHECK_MSG(te_embed(c, &texts[i], &lens[i], 1, expected + i * (size_t)hidden, &err) == TE_OK, "%s", err.msg);
    te_ctx_free(c);

    const char *env = getenv("TE_STRESS_SECONDS");
    double seconds = env ? atof(env) : 2.0;
    deadline = now_s() + seconds;
    calls = mismatches = failures = 0;
    pthread_t th[N_THREADS];
    worker w[N_THREADS];
    for (int i = 0; i < N_THREADS; i++) {
        w[i] = (worker){m, i, ""};
        CHECK(pthread_create(&th[i], NULL, run_worker, &w[i]) == 0);
    }
    for (int i = 0; i < N_THREADS; i++) pthread_join(th[i], NULL);
    for (int i = 0; i < N_THREADS; i++) CHECK_MSG(!w[i].error[0], "thread %d: %s", i, w[i].error);
    printf("  %s: %ld calls in %.0f s on %d threads\n", name, (long)calls, seconds, N_THREADS);
    CHECK_MSG(failures == 0 && mismatches == 0, "%ld vectors differ from the one-thread reference", (long)mismatches);
    CHECK(calls >= N_THREADS);
    free(expected);
    te_close(m);
}

TEST(eight_contexts_share_an_f32_model) { hammer("tiny-mean"); }
TEST(eight_contexts_share_an_int8_model) { hammer("tiny-mean-int8"); }

int main(void) {
    char path[1200];
    size_t len;
    char *all = th_read_file(th_path(path, sizeof path, "TE_REF", "cases.txt"), &len);
    if (!all) {
        printf("FAIL cannot read %s\n", path);
        return 1;
    }
    for (char *p = all, *nl; p < all + len && n_texts < MAX_TEXTS; p = nl + 1) {
        nl = memchr(p, '\n', (size_t)(all + len - p));
        if (!nl) nl = all + len;
        texts[n_texts] = p;
        lens[n_texts++] = (size_t)(nl - p);
    }
    RUN(eight_contexts_share_an_f32_model);
    RUN(eight_contexts_share_an_int8_model);
    free(all);
    return th_done();
}
