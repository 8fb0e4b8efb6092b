/*
 * loader.c - the loading strategies (see tinyembed.h, te_strategy).
 *
 * "Loading" a range means getting its pages into the page cache and this
 * process's page tables: MADV_WILLNEED starts the reads, MADV_POPULATE_READ
 * (Linux 5.14+) maps the pages and reports I/O errors instead of raising
 * SIGBUS; older kernels fall back to touching one byte per page. Each chunk
 * first checks that the file still holds it (see te_open on truncation). A loader
 * thread works in 1 MB chunks so te_close can stop it between two.
 */
#include "loader.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "internal.h"
#include "model.h"

#if defined(__linux__) && !defined(MADV_POPULATE_READ)
#define MADV_POPULATE_READ 22
#endif

#define CHUNK ((uint64_t)1 << 20)

uint64_t te_bytes_present(const te_model *m) {
    struct stat st;
    if (fstat(m->fd, &st) != 0 || (uint64_t)st.st_size >= m->info.file_offset + m->map_size) return m->map_size;
    return (uint64_t)st.st_size > m->info.file_offset ? (uint64_t)st.st_size - m->info.file_offset : 0;
}

/* Maps [begin, end) in 1 MB chunks, stopping if te_close cancels. */
static te_status populate(te_model *m, uint64_t begin, uint64_t end, te_loader *L, uint64_t page, te_error *err) {
    for (uint64_t off = begin; off < end; off += CHUNK) {
        if (atomic_load_explicit(&L->cancel, memory_order_relaxed))
            return te_fail(err, TE_ERR_ARG, "loading was cancelled by te_close");
        size_t n = (size_t)(end - off < CHUNK ? end - off : CHUNK);
        /* A file truncated under us: fail here instead of faulting on the lost pages. */
        uint64_t present = te_bytes_present(m);
        if (present < off + n)
            return te_fail(err, TE_ERR_TRUNCATED, "%s: the file was truncated after it was opened (%llu of %zu bytes "
                           "remain)", m->path, (unsigned long long)present, m->map_size);
        void *p = (void *)(m->map + off);
#ifdef MADV_POPULATE_READ
        if (madvise(p, n, MADV_POPULATE_READ) != 0) {
            if (errno != EINVAL)
                return te_fail(err, TE_ERR_IO, "%s: reading bytes %llu..%llu failed: %s", m->path,
                               (unsigned long long)off, (unsigned long long)(off + n), strerror(errno));
#endif
            volatile unsigned char sink = 0;
            for (size_t i = 0; i < n; i += page) sink ^= m->map[off + i];
            (void)sink;
#ifdef MADV_POPULATE_READ
        }
#endif
        if (L->hook) L->hook(L->hook_user, off + n - begin, end - begin);
    }
    return TE_OK;
}

/* Where lazy readahead starts: the huge-page range, or without one the
 * first layer's page. */
static uint64_t random_end(const te_model *m) {
    uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);
    return m->huge_begin < m->map_size ? m->huge_begin : m->layers[0].file_begin & ~(page - 1);
}

/* The page-fault readahead advice for lazy access (see te_loader_start):
 * random from the embedding table to the huge-page range, forward in it. */
static void lazy_advice(te_model *m, uint64_t begin, uint64_t end) {
    const te_tensor *word = m->word;
    uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE), wb = word->offset & ~(page - 1), we = random_end(m);
    uint64_t rb = begin > wb ? begin : wb, re = end < we ? end : we;
    if (rb < re) madvise((void *)(m->map + rb), (size_t)(re - rb), MADV_RANDOM);
    rb = begin > we ? begin : we;
    if (rb < end) madvise((void *)(m->map + rb), (size_t)(end - rb), MADV_SEQUENTIAL);
}

/* Transparent huge pages for the layers (Linux with THP "madvise" or
 * "always"): a fault there reads the file in 2 MB folios and maps each with
 * one page-table entry (ext4 and others with large folios, Linux 6.16+).
 * Later processes map those folios the same way, even without the advice:
 * a first f32 encode took 735 minor faults and 6.7-7.4 ms, then 258 faults
 * and 2.6-3.2 ms (measured, 2-vCPU Zen 4 VM). Not for the embedding table, which
 * is read a row at a time: a 2 MB read per row would read all of it.
 * The range starts at the first 2 MB boundary of the file inside the layers:
 * a 2 MB folio is only made where none of its pages is already cached, and
 * the 2 MB around the layers' start holds embeddings read before them. */
#define HUGE_PAGE ((uint64_t)2 << 20)
static void huge_advice(te_model *m) {
    uint64_t b = (m->layers[0].file_begin + HUGE_PAGE - 1) & ~(HUGE_PAGE - 1);
    m->huge_begin = m->map_size;
#ifdef MADV_HUGEPAGE
    if (b < m->map_size && madvise((void *)(m->map + b), m->map_size - (size_t)b, MADV_HUGEPAGE) == 0) m->huge_begin = b;
#endif
}

te_status te_page_in(te_model *m, uint64_t begin, uint64_t end, te_error *err) {
    te_loader *L = m->loader;
    uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);
    begin &= ~(page - 1);
    if (end > m->map_size) end = m->map_size;
    if (begin >= end) return TE_OK;
    /* Populating a range advised RANDOM reads it page by page (measured 25x
     * slower): read it as a sequential range, then put the advice back.
     * WILLNEED's readahead fills the page cache with small folios, so the
     * huge-page range is left to the faults of POPULATE, which read 2 MB
     * folios there. */
    uint64_t small_end = end < m->huge_begin ? end : (begin > m->huge_begin ? begin : m->huge_begin);
    madvise((void *)(m->map + begin), (size_t)(end - begin), MADV_SEQUENTIAL);
    if (begin < small_end) madvise((void *)(m->map + begin), (size_t)(small_end - begin), MADV_WILLNEED);
    te_status st = populate(m, begin, end, L, page, err);
    lazy_advice(m, begin, end);
    return st;
}

static void finish(te_loader *L, te_load_state state) {
    pthread_mutex_lock(&L->mu);
    L->load_ms = (te_now() - L->t_open) * 1e3;
    atomic_store(&L->state, (int)state);
    pthread_cond_broadcast(&L->cv);
    pthread_mutex_unlock(&L->mu);
}

static void *load_thread(void *arg) {
    te_model *m = arg;
    te_loader *L = m->loader;
    for (int u = 0; u < L->n_units; u++) {
        te_error err;
        te_status st = te_page_in(m, L->units[u].begin, L->units[u].end, &err);
        if (atomic_load(&L->cancel)) return NULL;
        if (st != TE_OK) {
            L->error = err;
            finish(L, TE_LOAD_FAILED);
            return NULL;
        }
        pthread_mutex_lock(&L->mu);
        atomic_store(&L->units_ready, u + 1);
        pthread_cond_broadcast(&L->cv);
        pthread_mutex_unlock(&L->mu);
    }
    finish(L, TE_LOAD_READY);
    return NULL;
}

/* Byte ranges in the order progressive loading reads them. */
static te_status plan_units(te_model *m, te_error *err) {
    te_loader *L = m->loader;
    int layers = m->info.num_layers;
    L->units = calloc((size_t)layers + 3, sizeof *L->units);
    if (!L->units) return te_fail(err, TE_ERR_NOMEM, "out of memory");
    const te_tensor *word = m->word;
    uint64_t word_end = word->offset + word->bytes, small_end = m->layers[0].file_begin;
    L->units[TE_UNIT_META] = (te_load_unit){0, m->data_offset};
    L->units[TE_UNIT_EMBEDDINGS] = (te_load_unit){word_end, small_end};
    for (int l = 0; l < layers; l++)
        L->units[TE_UNIT_LAYER0 + l] = (te_load_unit){m->layers[l].file_begin, m->layers[l].file_end};
    L->units[TE_UNIT_LAYER0 + layers] = (te_load_unit){word->offset, word_end};
    L->n_units = TE_UNIT_LAYER0 + layers + 1;
    return TE_OK;
}

/* AUTO: the choice and a sentence saying why. */
static te_strategy choose(te_model *m, char *why, size_t cap) {
    te_sysinfo si;
    te_error err;
    uint64_t resident = 0, total = m->map_size;
    te_sysinfo_get(m->path, &si, &err);
    te_page_cache_resident(m->path, &resident, &total, &err);
    double mb = (double)m->map_size / 1e6;
    if (resident * 10 >= total * 9) {
        snprintf(why, cap, "the file is already in the page cache (%.0f%%): lazy maps pages on first use without I/O",
                 100.0 * (double)resident / (double)(total ? total : 1));
        return TE_STRATEGY_LAZY;
    }
    if (si.mem_available && m->map_size > si.mem_available / 4 * 3) {
        snprintf(why, cap, "the file (%.0f MB) is more than 3/4 of available memory (%.0f MB): lazy lets the kernel page on demand",
                 mb, (double)si.mem_available / 1e6);
        return TE_STRATEGY_LAZY;
    }
    if (si.online_cores < 2) {
        snprintf(why, cap, "one core: read the %.0f MB file up front in one sequential pass (eager)", mb);
        return TE_STRATEGY_EAGER;
    }
    snprintf(why, cap, "%d cores, the %.0f MB file fits in memory and is not cached%s: progressive reads layer by layer "
             "in forward order while encoding", si.online_cores, mb,
             si.rotational == 1 ? " and sits on a rotational disk (reads stay sequential)" : "");
    return TE_STRATEGY_PROGRESSIVE;
}

te_status te_loader_start(te_model *m, te_strategy s, te_load_hook hook, void *hook_user, te_error *err) {
    te_loader *L = calloc(1, sizeof *L);
    if (!L) return te_fail(err, TE_ERR_NOMEM, "out of memory");
    m->loader = L;
    L->t_open = m->t_open;
    L->hook = hook;
    L->hook_user = hook_user;
    atomic_init(&L->units_ready, 0);
    atomic_init(&L->state, TE_LOAD_LOADING);
    atomic_init(&L->cancel, 0);
    atomic_init(&L->vocab_requested, 0);
    atomic_init(&L->embeddings_requested, 0);
    te_sync_init(&L->mu, &L->cv);
    if (s > TE_STRATEGY_AUTO) return te_fail(err, TE_ERR_ARG, "unknown loading strategy %d", (int)s);
    if (s == TE_STRATEGY_AUTO) s = choose(m, L->reason, sizeof L->reason);
    else snprintf(L->reason, sizeof L->reason, "requested");
    L->strategy = s;

    /* Page-fault readahead, for whatever is not loaded explicitly: the
     * embeddings and the layers' head before the huge-page range are read
     * at random (no read-around: a fault on one row of the table must not
     * pull in its neighbours, and one on a position row must not read ahead
     * into the layers in small folios -- readahead can be megabytes, and
     * would leave the layers' first 2 MB pages mapped 4 KB at a time); the
     * huge-page range is read in forward order. te_loader_want_embeddings reads
     * what lies between the table and that range in one request. Explicit
     * loading (WILLNEED, POPULATE) ignores both. */
    huge_advice(m);
    lazy_advice(m, m->data_offset, m->map_size);

    te_status st = plan_units(m, err);
    if (st != TE_OK) return st;
    switch (s) {
    case TE_STRATEGY_LAZY:
    case TE_STRATEGY_AUTO:
        atomic_store(&L->units_ready, L->n_units);
        finish(L, TE_LOAD_READY);
        return TE_OK;
    case TE_STRATEGY_EAGER:
        st = te_page_in(m, 0, m->map_size, err);
        if (st != TE_OK) return st;
        atomic_store(&L->units_ready, L->n_units);
        finish(L, TE_LOAD_READY);
        return TE_OK;
    case TE_STRATEGY_BACKGROUND:
        L->units[0] = (te_load_unit){0, m->map_size};
        L->n_units = 1;
        break;
    case TE_STRATEGY_PROGRESSIVE:
        break;
    }
    if (pthread_create(&L->thread, NULL, load_thread, m) != 0)
        return te_fail(err, TE_ERR_IO, "cannot start the loader thread");
    L->has_thread = 1;
    return TE_OK;
}

void te_loader_stop(te_model *m) {
    te_loader *L = m->loader;
    if (!L) return;
    if (L->has_thread) {
        atomic_store(&L->cancel, 1);
        pthread_join(L->thread, NULL);
    }
    pthread_cond_destroy(&L->cv);
    pthread_mutex_destroy(&L->mu);
    free(L->units);
    free(L);
    m->loader = NULL;
}

/* Whether this is the first call for `flag`: later ones cost one atomic load. */
static int first_time(atomic_int *flag) {
    return !atomic_load_explicit(flag, memory_order_relaxed) && !atomic_exchange(flag, 1);
}

/* One read request for [begin, end) of the model. */
static void will_need(const te_model *m, uint64_t begin, uint64_t end) {
    uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE), b = begin & ~(page - 1);
    if (b < end) madvise((void *)(m->map + b), (size_t)(end - b), MADV_WILLNEED);
}

void te_loader_want_vocab(const te_model *m) {
    /* The vocabulary, and the tokenizer's tensors that sit between it and the word table (tokenizer.*). */
    uint64_t end = m->vocab_offset + m->vocab_size;
    if (m->word && m->word->offset > end) end = m->word->offset;
    if (first_time(&m->loader->vocab_requested)) will_need(m, m->vocab_offset, end);
}

void te_loader_want_embeddings(const te_model *m) {
    if (first_time(&m->loader->embeddings_requested))
        will_need(m, m->word->offset + m->word->bytes, random_end(m));
}

void te_loader_wait_unit(const te_model *m, int u) {
    te_loader *L = m->loader;
    if (L->strategy != TE_STRATEGY_PROGRESSIVE || atomic_load_explicit(&L->units_ready, memory_order_acquire) > u) return;
    pthread_mutex_lock(&L->mu);
    while (atomic_load(&L->units_ready) <= u && atomic_load(&L->state) == TE_LOAD_LOADING)
        pthread_cond_wait(&L->cv, &L->mu);
    pthread_mutex_unlock(&L->mu);
}

te_status te_wait_ready(const te_model *m, int timeout_ms) {
    te_loader *L = m->loader;
    struct timespec deadline;
    te_deadline(&deadline, timeout_ms);
    pthread_mutex_lock(&L->mu);
    int timed_out = 0;
    while (atomic_load(&L->state) == TE_LOAD_LOADING && !timed_out) {
        if (timeout_ms < 0) pthread_cond_wait(&L->cv, &L->mu);
        else if (timeout_ms == 0 || pthread_cond_timedwait(&L->cv, &L->mu, &deadline) == ETIMEDOUT) timed_out = 1;
    }
    int state = atomic_load(&L->state);
    pthread_mutex_unlock(&L->mu);
    if (state == TE_LOAD_READY) return TE_OK;
    if (state == TE_LOAD_FAILED) return L->error.code;
    return TE_ERR_TIMEOUT;
}
