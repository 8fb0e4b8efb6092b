/*
 * loader.h - how a model's weights get from the file into memory (the
 * loading strategies) and the readiness the forward pass waits on.
 *
 * The model itself stays read-only: everything that changes while loading
 * lives in a te_loader the model points to.
 */
#ifndef TE_LOADER_H
#define TE_LOADER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <time.h>

#include "model.h"
#include "tinyembed.h"

/* A byte range of the file loaded as one step, in the order progressive
 * loading reads them: the metadata (the vocabulary: tokenizing comes
 * first), the small embedding tensors, each layer, and last the word
 * embedding table (its rows fault in on demand before that). */
typedef struct te_load_unit {
    uint64_t begin, end;
} te_load_unit;

enum { TE_UNIT_META = 0, TE_UNIT_EMBEDDINGS = 1, TE_UNIT_LAYER0 = 2 };

typedef struct te_loader {
    te_strategy strategy;         /* in effect (auto resolved) */
    char reason[192];             /* why */
    te_load_unit *units;
    int n_units;
    atomic_int units_ready;       /* progressive: units 0..units_ready-1 are in memory */
    atomic_int state;             /* te_load_state */
    atomic_int cancel;            /* te_close came first */
    atomic_int vocab_requested;   /* te_loader_want_vocab ran */
    atomic_int embeddings_requested; /* te_loader_want_embeddings ran */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    pthread_t thread;
    int has_thread;
    double t_open;                /* CLOCK_MONOTONIC seconds at te_open */
    double load_ms;               /* open to fully loaded */
    te_error error;               /* why loading failed */
    te_load_hook hook;
    void *hook_user;
    /* warmup bookkeeping (te_warmup) */
    double warmup_ms;
    int warmup_done, warmup_ok;
} te_loader;

struct te_model;

/* Resolves the strategy and starts loading; called at the end of te_open. */
te_status te_loader_start(struct te_model *m, te_strategy s, te_load_hook hook, void *hook_user, te_error *err);

/* Stops the loader thread (if any) and frees the loader. */
void te_loader_stop(struct te_model *m);

/* Pages in bytes [begin, end) of the file: TE_OK, TE_ERR_IO (read error,
 * e.g. the file shrank), or TE_ERR_ARG when te_close cancelled loading. */
te_status te_page_in(struct te_model *m, uint64_t begin, uint64_t end, te_error *err);

/* Before the first tokenization: reads the vocabulary section and the
 * tokenizer's tensors after it in one request (te_open leaves them on disk,
 * and faults on them would read a page at a time). Later calls cost one
 * atomic load. */
void te_loader_want_vocab(const struct te_model *m);

/* Before the first forward pass: reads what lies between the word table and
 * the layers' huge-page range (the small embeddings, the layers' head) in
 * one request; lazy faults there read a page at a time. Later calls cost
 * one atomic load. */
void te_loader_want_embeddings(const struct te_model *m);

/* Bytes of the mapping the file still holds (fstat now): map_size, unless
 * the file was truncated after te_open. The loader checks it before each
 * read; te_verify and the status report it. */
uint64_t te_bytes_present(const struct te_model *m);

/* Blocks until unit `u` is in memory (progressive) or returns at once. */
void te_loader_wait_unit(const struct te_model *m, int u);

#endif
