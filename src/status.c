/*
 * status.c - te_model_get_status (loading state and page-cache residency of
 * each part of the file) and te_warmup (page in the hot part of the model,
 * then run one encode).
 */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "clock.h"
#include "context.h"
#include "internal.h"
#include "loader.h"

/* Bytes of [begin, end) of the mapping that are in the page cache. */
static uint64_t resident(const te_model *m, uint64_t begin, uint64_t end, unsigned char *vec, size_t page) {
    if (end > m->map_size) end = m->map_size;
    if (begin >= end) return 0;
    uint64_t first = begin / page, last = (end - 1) / page, n = 0;
    for (uint64_t p = first; p <= last; p++)
        if (vec[p] & 1) {
            uint64_t lo = p * page > begin ? p * page : begin, hi = (p + 1) * page < end ? (p + 1) * page : end;
            n += hi - lo;
        }
    return n;
}

te_status te_model_get_status(const te_model *m, te_model_status *out) {
    memset(out, 0, sizeof *out);
    te_loader *L = m->loader;
    pthread_mutex_lock(&L->mu);
    out->state = (te_load_state)atomic_load(&L->state);
    out->strategy = L->strategy;
    memcpy(out->strategy_reason, L->reason, sizeof out->strategy_reason);
    out->load_ms = out->state == TE_LOAD_LOADING ? (te_now() - L->t_open) * 1e3 : L->load_ms;
    out->warmup_ms = L->warmup_ms;
    out->warmed_up = L->warmup_done;
    out->warmup_ok = L->warmup_ok;
    out->last_error = L->error;
    int units = atomic_load(&L->units_ready);
    pthread_mutex_unlock(&L->mu);
    int layers = m->info.num_layers;
    out->layers_total = layers;
    int done = units - TE_UNIT_LAYER0; /* see te_load_unit */
    out->layers_ready = out->state == TE_LOAD_READY ? layers : done < 0 ? 0 : done > layers ? layers : done;
    out->hot_rows = m->n_hot;

    size_t page = (size_t)sysconf(_SC_PAGESIZE), n = (m->map_size + page - 1) / page;
    unsigned char *vec = malloc(n);
    if (!vec) return te_fail(&out->last_error, TE_ERR_NOMEM, "out of memory");
    if (mincore((void *)m->map, m->map_size, vec) != 0) memset(vec, 0, n);
    const te_tensor *word = m->word;
    uint64_t word_end = word->offset + word->bytes, layers_begin = m->layers[0].file_begin;
    out->file_bytes = m->map_size;
    out->file_bytes_present = te_bytes_present(m);
    out->file_resident = resident(m, 0, m->map_size, vec, page);
    out->meta_bytes = m->data_offset;
    out->meta_resident = resident(m, 0, m->data_offset, vec, page);
    out->word_emb_bytes = word->bytes;
    out->word_emb_resident = resident(m, word->offset, word_end, vec, page);
    out->other_emb_bytes = layers_begin - word_end;
    out->other_emb_resident = resident(m, word_end, layers_begin, vec, page);
    out->layers_bytes = m->map_size - layers_begin;
    out->layers_resident = resident(m, layers_begin, m->map_size, vec, page);
    for (int l = 0; l < layers && l < TE_STATUS_MAX_LAYERS; l++)
        out->layer_resident[l] = resident(m, m->layers[l].file_begin, m->layers[l].file_end, vec, page);
    free(vec);
    return TE_OK;
}

/* The hot rows as merged byte ranges of the word table, paged in. Files
 * without a HOT section (format 1.0) use the first rows, which is what the
 * converter stores by default. */
static te_status page_in_hot_rows(te_model *m, te_error *err) {
    const te_tensor *word = m->word;
    uint64_t rows = (uint64_t)m->info.vocab_size, row = word->bytes / rows; /* any dtype */
    if (!m->hot) return te_page_in(m, word->offset, word->offset + (rows < TEMB_HOT_ROWS ? rows : TEMB_HOT_ROWS) * row, err);
    uint64_t run_begin = 0, run_end = 0;
    int active = 0;
    for (uint32_t i = 0; i < m->n_hot; i++) {
        uint64_t id = te_le32(m->hot + 4 * (size_t)i);
        if (id >= rows) continue; /* a damaged list cannot reach outside the table */
        uint64_t b = id * row, e = b + row;
        if (active && b >= run_begin && b <= run_end + 4096) { /* close enough: one read */
            if (e > run_end) run_end = e;
            continue;
        }
        if (active) {
            te_status st = te_page_in(m, word->offset + run_begin, word->offset + run_end, err);
            if (st != TE_OK) return st;
        }
        run_begin = b;
        run_end = e;
        active = 1;
    }
    return active ? te_page_in(m, word->offset + run_begin, word->offset + run_end, err) : TE_OK;
}

te_status te_warmup(te_ctx *c, te_error *err) {
    te_error_clear(err);
    if (!c) return te_fail(err, TE_ERR_ARG, "te_warmup: context is NULL");
    te_model *m = (te_model *)c->m; /* pages are brought in; nothing in the model changes */
    double t0 = te_now();
    const te_tensor *word = m->word;
    te_error e;
    te_status st = te_page_in(m, word->offset + word->bytes, m->map_size, &e); /* every dense weight */
    if (st == TE_OK) st = page_in_hot_rows(m, &e);
    if (st == TE_OK) {
        static const char *const text[] = {"The quick brown fox jumps over the lazy dog."};
        /* room for a vector, or a classifier's label scores */
        size_t n = (size_t)(m->info.num_labels > m->info.hidden_size ? m->info.num_labels : m->info.hidden_size);
        float *out = malloc(n * sizeof *out);
        if (!out) st = te_fail(&e, TE_ERR_NOMEM, "out of memory");
        else if (m->info.kind == TE_KIND_EMBEDDING) st = te_embed(c, text, NULL, 1, out, &e);
        else st = te_classify(c, text, NULL, 1, 0, out, NULL, &e);
        free(out);
    }
    te_loader *L = m->loader;
    pthread_mutex_lock(&L->mu);
    L->warmup_ms = (te_now() - t0) * 1e3;
    L->warmup_done = 1;
    L->warmup_ok = st == TE_OK;
    if (st != TE_OK) L->error = e;
    pthread_mutex_unlock(&L->mu);
    if (st != TE_OK && err) *err = e;
    return st;
}
