/*
 * test_faults.c - allocation failure at every point: the allocator fails on
 * the Nth call (the test is linked with ld --wrap=malloc,...), for every N
 * that te_open, te_convert, te_quantize and the search index reach. Each run must fail with TE_ERR_NOMEM,
 * leak nothing (LeakSanitizer in `make sanitize`) and leave no output file.
 * The same counting allocator shows that tokenizing and embedding allocate
 * nothing per call. The counter is atomic: the registry allocates in its
 * loading threads too.
 */
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"
#include "tinyembed.h"

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t n);
char *__real_strdup(const char *s);
void *__real_aligned_alloc(size_t align, size_t n);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_realloc(void *p, size_t n);
char *__wrap_strdup(const char *s);
void *__wrap_aligned_alloc(size_t align, size_t n);

static atomic_long n_allocs, fail_at = -1;

static int should_fail(void) { return atomic_fetch_add(&n_allocs, 1) + 1 == atomic_load(&fail_at); }
void *__wrap_malloc(size_t n) { return should_fail() ? NULL : __real_malloc(n); }
void *__wrap_calloc(size_t n, size_t size) { return should_fail() ? NULL : __real_calloc(n, size); }
void *__wrap_realloc(void *p, size_t n) { return should_fail() ? NULL : __real_realloc(p, n); }
char *__wrap_strdup(const char *s) { return should_fail() ? NULL : __real_strdup(s); }
void *__wrap_aligned_alloc(size_t align, size_t n) { return should_fail() ? NULL : __real_aligned_alloc(align, n); }

/* convert and quantize run once per allocation point: on the micro model
 * (hidden 8, 100 tokens) the same code paths take milliseconds, not seconds. */
static char model[1024], micro[1024], hf[1024], out[] = "/tmp/te_faults_XXXXXX";

/* Every allocation point by default; every Nth with TE_FAULT_STRIDE=N (make valgrind,
 * where each point costs a second: `make sanitize` covers them all). */
static long stride(void) {
    const char *s = getenv("TE_FAULT_STRIDE");
    long n = s ? atol(s) : 1;
    return n > 0 ? n : 1;
}

/* An error of the test's own (not TE_ERR_NOMEM, so the harness reports it). */
static te_status test_error(te_error *err, const char *msg) {
    err->code = TE_ERR_ARG;
    snprintf(err->msg, sizeof err->msg, "%s", msg);
    return TE_ERR_ARG;
}

TEST(open_survives_every_allocation_failure) {
    long total;
    te_error err;
    n_allocs = 0;
    fail_at = -1;
    te_model *m = te_open(model, NULL, &err);
    CHECK(m);
    te_close(m);
    total = n_allocs;
    CHECK(total >= 3);
    for (long k = 1; k <= total; k += stride()) {
        n_allocs = 0;
        fail_at = k;
        m = te_open(model, NULL, &err);
        fail_at = -1;
        CHECK_MSG(!m, "allocation %ld of %ld failed but te_open succeeded", k, total);
        CHECK_MSG(err.code == TE_ERR_NOMEM, "allocation %ld: %s", k, err.msg);
    }
}

/* Runs op once to count its allocations, then once failing each of them:
 * every run must report TE_ERR_NOMEM and leave no output file. */
static int op_survives_every_allocation_failure(const char *what, te_status (*op)(te_error *)) {
    te_error err;
    n_allocs = 0;
    fail_at = -1;
    if (op(&err) != TE_OK) {
        printf("  %s without failures: %s\n", what, err.msg);
        return 0;
    }
    long total = n_allocs;
    unlink(out);
    for (long k = 1; k <= total; k += stride()) {
        n_allocs = 0;
        fail_at = k;
        te_status st = op(&err);
        fail_at = -1;
        struct stat sb;
        if (st != TE_ERR_NOMEM || stat(out, &sb) == 0) {
            printf("  %s: allocation %ld of %ld: %s (%s)%s\n", what, k, total, te_status_name(st), err.msg,
                   stat(out, &sb) == 0 ? ", output left behind" : "");
            return 0;
        }
    }
    printf("  %s: %ld allocation points\n", what, total);
    return total >= 10;
}

static te_status convert_f32(te_error *err) { return te_convert(hf, out, NULL, err); }

static te_status convert_int8(te_error *err) {
    te_convert_opts o;
    te_convert_opts_default(&o);
    o.dtype = TE_DTYPE_I8;
    return te_convert(hf, out, &o, err);
}

static te_status quantize_int8(te_error *err) { return te_quantize(micro, out, TE_DTYPE_I8, NULL, NULL, err); }

TEST(convert_survives_every_allocation_failure) {
    CHECK(op_survives_every_allocation_failure("convert", convert_f32));
    CHECK(op_survives_every_allocation_failure("convert --dtype int8", convert_int8));
}

TEST(quantize_survives_every_allocation_failure) {
    CHECK(op_survives_every_allocation_failure("quantize", quantize_int8));
}

/* Builds an index of 40 documents (int8 vectors), writes, opens (verified)
 * and searches it every way; the file is removed in every case, so what
 * counts is that no failure is missed or crashes (and nothing leaks). */
static te_status index_round_trip(te_error *err) {
    te_index_build_opts o = {.dim = 8, .dtype = TE_DTYPE_I8, .fingerprint = 7, .model_name = "faults"};
    te_index_builder *b = te_index_builder_new(&o, err);
    te_status st = b ? TE_OK : err->code;
    for (int i = 0; st == TE_OK && i < 40; i++) {
        char id[16], text[64];
        float v[8];
        snprintf(id, sizeof id, "doc%d", i);
        snprintf(text, sizeof text, "word%d common w%d w%d", i, i % 3, i % 7);
        for (int j = 0; j < 8; j++) v[j] = (float)((i * 7 + j * 3) % 11) - 5.0f;
        te_index_doc d = {.id = id, .id_len = strlen(id), .text = text, .text_len = strlen(text), .vector = v};
        st = te_index_builder_add(b, &d, err);
    }
    if (st == TE_OK) st = te_index_builder_write(b, out, err);
    te_index_builder_free(b);
    te_index *ix = st == TE_OK ? te_index_open(out, TE_INDEX_VERIFY, err) : NULL;
    if (st == TE_OK && !ix) st = err->code;
    te_index_ctx *c = ix ? te_index_ctx_new(ix, 2, NULL, err) : NULL;
    if (st == TE_OK && !c) st = err->code;
    te_index_hit h[5];
    size_t n;
    float q[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    if (st == TE_OK) st = te_index_search_vector(c, q, 8, 5, h, &n, err);
    if (st == TE_OK) st = te_index_search_bm25(c, "common w1", 9, 5, h, &n, err);
    if (st == TE_OK) st = te_index_search_hybrid(c, q, 8, "common w1", 9, 5, -1, h, &n, err);
    /* Searching again allocates nothing: the context keeps what the first searches needed. */
    long before = n_allocs;
    if (st == TE_OK) st = te_index_search_vector(c, q, 8, 5, h, &n, err);
    if (st == TE_OK) st = te_index_search_bm25(c, "common w1", 9, 5, h, &n, err);
    if (st == TE_OK) st = te_index_search_hybrid(c, q, 8, "common w1", 9, 5, 0.5f, h, &n, err);
    if (st == TE_OK && n_allocs != before) st = test_error(err, "searching again allocated");
    te_index_ctx_free(c);
    te_index_close(ix);
    unlink(out);
    return st;
}

TEST(index_survives_every_allocation_failure) {
    CHECK(op_survives_every_allocation_failure("index build, open and search", index_round_trip));
}

/* Ordinary sentences tokenize without touching the allocator. */
TEST(tokenize_allocates_nothing) {
    te_error err;
    te_model *m = te_open(model, NULL, &err);
    CHECK(m);
    static const char *const texts[] = {
        "Hello world", "Café déjà vu — naïve coöperation, 中文 and 한국어 [SEP] text.",
        "antidisestablishmentarianism supercalifragilisticexpialidocious", "",
    };
    int32_t ids[128];
    size_t n;
    n_allocs = 0;
    for (size_t i = 0; i < sizeof texts / sizeof *texts; i++)
        CHECK(te_tokenize(m, texts[i], strlen(texts[i]), ids, 128, &n, &err) == TE_OK && n >= 2);
    CHECK_EQ_INT(n_allocs, 0);
    te_close(m);
}

/* Contexts: every allocation of te_ctx_new can fail cleanly; so can each
 * one of the first call's, which grows the scratch, and the context then
 * still works. Once grown, calls no larger allocate nothing, however many. */
TEST(context_allocations) {
    te_error err;
    te_model *m = te_open(model, NULL, &err);
    CHECK(m);
    te_ctx_opts o = {.threads = 2};
    n_allocs = 0;
    te_ctx *c = te_ctx_new(m, &o, &err);
    CHECK(c);
    long total = n_allocs;
    te_ctx_free(c);
    for (long k = 1; k <= total; k += stride()) {
        n_allocs = 0;
        fail_at = k;
        c = te_ctx_new(m, &o, &err);
        fail_at = -1;
        CHECK_MSG(!c, "allocation %ld of %ld failed but te_ctx_new succeeded", k, total);
        CHECK_MSG(err.code == TE_ERR_NOMEM, "allocation %ld: %s", k, err.msg);
    }
    static const char *const texts[] = {"Hello world", "A longer sentence, with punctuation; and more words to embed.",
                                        "中文 and 한국어", ""};
    float want[4 * 64], vecs[4 * 64];
    c = te_ctx_new(m, &o, &err);
    CHECK(c);
    size_t before = te_ctx_scratch_in_use(c);
    n_allocs = 0;
    CHECK(te_embed(c, texts, NULL, 4, want, &err) == TE_OK);
    long grow = n_allocs;
    CHECK(grow >= 7); /* x, qkv, pos, ids, types and one attention buffer per thread */
    CHECK(te_ctx_scratch_in_use(c) > before && te_ctx_scratch_in_use(c) < te_ctx_scratch_bytes(c));
    te_ctx_free(c);
    for (long k = 1; k <= grow; k++) {
        c = te_ctx_new(m, &o, &err);
        CHECK(c);
        n_allocs = 0;
        fail_at = k;
        te_status st = te_embed(c, texts, NULL, 4, vecs, &err);
        fail_at = -1;
        CHECK_MSG(st == TE_ERR_NOMEM, "allocation %ld of the first call's %ld failed: %s", k, grow, err.msg);
        CHECK_HAS(err.msg, "growing the context's scratch");
        CHECK_EQ_INT(te_ctx_scratch_in_use(c), before);
        CHECK(te_embed(c, texts, NULL, 4, vecs, &err) == TE_OK && memcmp(vecs, want, sizeof want) == 0);
        te_ctx_free(c);
    }
    c = te_ctx_new(m, &o, &err);
    CHECK(c && te_embed(c, texts, NULL, 4, vecs, &err) == TE_OK);
    n_allocs = 0;
    for (int i = 0; i < 50; i++) CHECK(te_embed(c, texts + i % 4, NULL, 1 + (i & 1) * (3 - i % 4), vecs, &err) == TE_OK);
    CHECK_EQ_INT(n_allocs, 0);
    te_ctx_free(c);
    te_close(m);
}

/* The registry: a config, parallel loads, a fallback, a get. Whichever
 * allocation fails -- in the caller or in a loading thread -- the round
 * ends in TE_OK (a failure it absorbs, such as a header peek) or
 * TE_ERR_NOMEM, never a crash or a leak. */
static char config[] = "/tmp/te_faults_config_XXXXXX";

static te_status registry_round(te_error *err) {
    te_registry *r = te_registry_from_config(config, err);
    if (!r) return err->code;
    te_status st = te_registry_start(r, err);
    if (st == TE_OK) st = te_registry_wait(r, -1, err);
    te_model_ref ref;
    if (st == TE_OK) st = te_registry_get(r, "gone", &ref, err);
    if (st == TE_OK) te_registry_release(r, &ref);
    te_registry_free(r);
    return st;
}

TEST(registry_survives_every_allocation_failure) {
    char *abs = realpath(model, NULL), json[2048];
    CHECK(abs);
    snprintf(json, sizeof json, "{\"models\": [{\"name\": \"a\", \"path\": \"%s\"},\n"
             "  {\"name\": \"gone\", \"path\": \"missing.temb\", \"fallback\": \"a\"}]}", abs);
    free(abs);
    int fd = mkstemp(config);
    CHECK(fd >= 0);
    close(fd);
    CHECK(th_write_file(config, json, strlen(json)) == 0);
    te_error err;
    n_allocs = 0;
    fail_at = -1;
    CHECK_MSG(registry_round(&err) == TE_OK, "%s", err.msg);
    long total = n_allocs, nomem = 0, tried = 0;
    for (long k = 1; k <= total; k += stride()) {
        n_allocs = 0;
        fail_at = k;
        te_status st = registry_round(&err);
        fail_at = -1;
        CHECK_MSG(st == TE_OK || st == TE_ERR_NOMEM, "allocation %ld of %ld: %s: %s", k, total, te_status_name(st), err.msg);
        nomem += st == TE_ERR_NOMEM;
        tried++;
    }
    printf("  registry: %ld allocation points (%ld failed in turn), %ld reported as out of memory\n", total, tried, nomem);
    CHECK(total >= 20 && nomem * 2 >= tried);
    unlink(config);
}

int main(void) {
    th_path(model, sizeof model, "TE_TESTDATA", "tiny-mean.temb");
    th_path(micro, sizeof micro, "TE_TESTDATA", "micro.temb");
    th_path(hf, sizeof hf, "TE_HF", "micro");
    int fd = mkstemp(out);
    if (fd < 0) return 2;
    close(fd);
    unlink(out);
    RUN(open_survives_every_allocation_failure);
    RUN(convert_survives_every_allocation_failure);
    RUN(quantize_survives_every_allocation_failure);
    RUN(index_survives_every_allocation_failure);
    RUN(tokenize_allocates_nothing);
    RUN(context_allocations);
    RUN(registry_survives_every_allocation_failure);
    unlink(out);
    return th_done();
}
