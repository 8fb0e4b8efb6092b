/*
 * registry.c - te_registry: named models in one long-lived process. Loads
 * start-up models in parallel threads, first-use models on their first get,
 * serves fallbacks, swaps reloaded files in beside the old ones, unloads,
 * and reports every model's state.
 *
 * Each loaded file is a version: a te_model with a reference count. The
 * registry holds one reference on each entry's current version; every
 * te_model_ref holds one more. A reload or unload only replaces or clears
 * `current`, so calls holding the old version finish on it, and the version
 * is closed by whoever drops its last reference. One mutex guards all of
 * it (gets are a few pointer updates; the slow parts -- opening, reading,
 * warming up, closing -- run outside it), and one condition variable is
 * broadcast on every change anyone may wait for.
 */
#include <assert.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "internal.h"
#include "registry.h"

#define MAX_NAME 127

typedef struct reg_version {
    te_model *model;
    struct reg_entry *entry;
    int refs;             /* the registry's (while current) + one per te_model_ref */
    uint64_t generation;
    uint32_t fingerprint; /* of model's file */
} reg_version;

typedef struct reg_entry {
    te_registry *r;
    char *name, *path;    /* immutable after declaration */
    int fallback;         /* index of the fallback entry, or -1 */
    te_strategy strategy;
    int first_use, warmup, verify;
    te_reg_state state;
    int busy;             /* a load or reload runs (one at a time) */
    int reloading;        /* ... and the old version serves meanwhile */
    reg_version *current; /* what gets are given; NULL when nothing serves */
    int live;             /* versions not yet closed */
    int shape_known;      /* kind and dim are known (from a header peek or a load) */
    te_model_kind kind;
    int dim;
    double load_started_at, loaded_at, load_ms;
    uint64_t generation, loads, reloads, calls, fallback_calls;
    te_error error;
    pthread_t job;        /* the start-up or first-use load thread (at most one, ever) */
    int has_job;
} reg_entry;

struct te_registry {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    reg_entry **e;
    size_t n, cap;
    int started;
    atomic_uint_least64_t epoch; /* bumped whenever a get might answer differently */
#ifndef NDEBUG
    pthread_t owner;             /* reg_lock's caller, while held */
    int held;
#endif
    te_reg_load_hook hook;
    void *hook_user;
};

/* The lock, and who holds it: each *_locked function asserts that its
 * caller does (as SQLite's sqlite3_mutex_held), unless NDEBUG. Only the
 * holder writes or reads `owner`. */
static void reg_lock(te_registry *r) {
    pthread_mutex_lock(&r->mu);
#ifndef NDEBUG
    r->owner = pthread_self();
    r->held = 1;
#endif
}

static void reg_unlock(te_registry *r) {
#ifndef NDEBUG
    r->held = 0;
#endif
    pthread_mutex_unlock(&r->mu);
}

/* Waits on the condition (until deadline, if not NULL); ETIMEDOUT or 0. */
static int reg_wait(te_registry *r, const struct timespec *deadline) {
#ifndef NDEBUG
    r->held = 0;
#endif
    int rc = deadline ? pthread_cond_timedwait(&r->cv, &r->mu, deadline) : pthread_cond_wait(&r->cv, &r->mu);
#ifndef NDEBUG
    r->owner = pthread_self();
    r->held = 1;
#endif
    return rc;
}

#define ASSERT_LOCKED(r) assert((r)->held && pthread_equal((r)->owner, pthread_self()))

/* Wakes every waiter and invalidates the fast path of te_registry_is_current. */
static void changed_locked(te_registry *r) {
    ASSERT_LOCKED(r);
    atomic_fetch_add(&r->epoch, 1);
    pthread_cond_broadcast(&r->cv);
}

const char *te_reg_state_name(te_reg_state s) {
    switch (s) {
    case TE_REG_DECLARED: return "declared";
    case TE_REG_LOADING: return "loading";
    case TE_REG_READY: return "ready";
    case TE_REG_FAILED: return "failed";
    case TE_REG_UNLOADED: return "unloaded";
    }
    return "unknown";
}

te_registry *te_registry_new(te_error *err) {
    te_error_clear(err);
    te_registry *r = calloc(1, sizeof *r);
    if (!r) { te_fail(err, TE_ERR_NOMEM, "out of memory"); return NULL; }
    te_sync_init(&r->mu, &r->cv);
    atomic_init(&r->epoch, 1);
    return r;
}

void te_registry_set_load_hook(te_registry *r, te_reg_load_hook hook, void *user) {
    reg_lock(r);
    r->hook = hook;
    r->hook_user = user;
    reg_unlock(r);
}

static reg_entry *find_locked(const te_registry *r, const char *name) {
    ASSERT_LOCKED(r);
    for (size_t i = 0; i < r->n; i++)
        if (strcmp(r->e[i]->name, name) == 0) return r->e[i];
    return NULL;
}

static int index_of(const te_registry *r, const reg_entry *e) {
    for (size_t i = 0; i < r->n; i++)
        if (r->e[i] == e) return (int)i;
    return -1;
}

/* ---- versions ------------------------------------------------------------ */

/* Drops one reference; returns the version when it must now be closed
 * (close_version, outside the lock). */
static reg_version *unref_locked(reg_version *v) {
    ASSERT_LOCKED(v->entry->r);
    return --v->refs == 0 ? v : NULL;
}

static void close_version(te_registry *r, reg_version *v) {
    if (!v) return;
    reg_entry *e = v->entry;
    te_close(v->model);
    free(v);
    reg_lock(r);
    e->live--;
    changed_locked(r);
    reg_unlock(r);
}

/* Makes v the version gets see; returns the old one if it must be closed. */
static reg_version *publish_locked(reg_entry *e, reg_version *v) {
    ASSERT_LOCKED(e->r);
    reg_version *old = e->current;
    v->generation = ++e->generation;
    e->current = v;
    changed_locked(e->r);
    return old ? unref_locked(old) : NULL;
}

static reg_version *unpublish_locked(reg_entry *e) {
    ASSERT_LOCKED(e->r);
    reg_version *old = e->current;
    e->current = NULL;
    changed_locked(e->r);
    return old ? unref_locked(old) : NULL;
}

/* ---- kind and dimension of fallback pairs --------------------------------- */

/* A model and its fallback must be interchangeable for the caller: same kind
 * of output, same dimension. kind and dim are those of the file about to
 * become e's current version; on success they become e's known shape. */
static te_status check_shape_locked(te_registry *r, reg_entry *e, te_model_kind kind, int dim, te_error *err) {
    ASSERT_LOCKED(r);
    int self = index_of(r, e);
    for (size_t i = 0; i < r->n; i++) {
        reg_entry *f = r->e[i];
        int related = (int)i == e->fallback || f->fallback == self;
        if (!related || !f->shape_known || (f->kind == kind && f->dim == dim)) continue;
        char who[160];
        if ((int)i == e->fallback) snprintf(who, sizeof who, "its fallback '%s'", f->name);
        else snprintf(who, sizeof who, "model '%s', which falls back to it,", f->name);
        return te_fail(err, TE_ERR_SHAPE, "%s: a %s model of dimension %d, but %s gives %s vectors of dimension %d",
                       e->path, te_kind_name(kind), dim, who, te_kind_name(f->kind), f->dim);
    }
    e->shape_known = 1;
    e->kind = kind;
    e->dim = dim;
    return TE_OK;
}

/* ---- loading ---------------------------------------------------------------- */

static te_status warm(te_model *m, te_error *err) {
    /* The smallest context that runs one text: warmup is about pages. */
    te_ctx_opts o = {.threads = 1, .batch = 1, .max_batch_tokens = 1};
    te_ctx *c = te_ctx_new(m, &o, err);
    if (!c) return err->code;
    te_status st = te_warmup(c, err);
    te_ctx_free(c);
    return st;
}

static void start_job_locked(te_registry *r, reg_entry *e);

/* e could not be loaded and nothing of its own serves. */
static void fail_locked(te_registry *r, reg_entry *e, const te_error *why) {
    ASSERT_LOCKED(r);
    e->error = *why;
    e->state = TE_REG_FAILED;
    /* Its fallback is needed now, even if it was declared for first use. */
    if (e->fallback >= 0 && r->e[e->fallback]->state == TE_REG_DECLARED) start_job_locked(r, r->e[e->fallback]);
    changed_locked(r);
}

/* Loads e's file as a new version. The caller has set e->busy (and, when
 * `early`, state LOADING). early: publish as soon as the file is open -- a
 * start-up or first-use load, where the model is usable while it is read
 * (progressive); otherwise swap only once read and warmed (a reload). */
static te_status load(te_registry *r, reg_entry *e, int early, te_error *err) {
    reg_lock(r);
    te_reg_load_hook hook = r->hook;
    void *hook_user = r->hook_user;
    e->loads++;
    e->load_started_at = te_unix_now();
    reg_unlock(r);
    if (hook) hook(hook_user, e->name);

    double t0 = te_now();
    te_open_opts o = {.verify_checksums = e->verify, .strategy = e->strategy};
    te_model *m = te_open(e->path, &o, err);
    te_status st = m ? TE_OK : err->code;
    reg_version *v = NULL, *drop = NULL;
    reg_lock(r);
    te_model_info in;
    if (st == TE_OK) {
        te_model_get_info(m, &in);
        st = check_shape_locked(r, e, in.kind, in.hidden_size, err);
    }
    if (st == TE_OK && !(v = calloc(1, sizeof *v))) st = te_fail(err, TE_ERR_NOMEM, "out of memory");
    if (st == TE_OK) {
        *v = (reg_version){m, e, 1, 0, in.fingerprint};
        e->live++;
        m = NULL; /* owned by v */
        if (early) drop = publish_locked(e, v);
    }
    reg_unlock(r);
    te_close(m); /* not NULL only when the shape check or the allocation failed */
    close_version(r, drop);

    if (st == TE_OK) {
        st = te_wait_ready(v->model, -1);
        if (st != TE_OK) {
            te_model_status ms;
            te_model_get_status(v->model, &ms);
            *err = ms.last_error;
        }
    }
    double load_ms = (te_now() - t0) * 1e3;
    if (st == TE_OK && e->warmup) st = warm(v->model, err);

    reg_lock(r);
    drop = NULL;
    reg_version *unused = NULL;
    if (st == TE_OK) {
        if (!early) drop = publish_locked(e, v);
        e->state = TE_REG_READY;
        e->loaded_at = te_unix_now();
        e->load_ms = load_ms;
        te_error_clear(&e->error);
    } else {
        if (v && early) drop = unpublish_locked(e);
        else if (v) unused = unref_locked(v);
        if (e->current) { /* a failed reload: the old version keeps serving */
            e->error = *err;
            te_error_prefix(&e->error, "reload failed");
        } else {
            fail_locked(r, e, err);
        }
        te_error_prefix(err, "model '%s'", e->name);
    }
    e->busy = 0;
    e->reloading = 0;
    changed_locked(r);
    reg_unlock(r);
    close_version(r, drop);
    close_version(r, unused);
    return st;
}

static void *job_main(void *arg) {
    reg_entry *e = arg;
    te_error err;
    load(e->r, e, 1, &err);
    return NULL;
}

/* Starts the one load thread of a DECLARED entry. */
static void start_job_locked(te_registry *r, reg_entry *e) {
    ASSERT_LOCKED(r);
    e->busy = 1;
    e->state = TE_REG_LOADING;
    int rc = pthread_create(&e->job, NULL, job_main, e);
    if (rc == 0) {
        e->has_job = 1;
        changed_locked(r);
        return;
    }
    e->busy = 0;
    te_error why;
    te_fail(&why, TE_ERR_IO, "cannot start a loading thread: %s", strerror(rc));
    fail_locked(r, e, &why);
}

/* Joins e's load thread once it has finished (busy is clear). */
static void join_job(te_registry *r, reg_entry *e) {
    reg_lock(r);
    int has = e->has_job;
    pthread_t t = e->job;
    e->has_job = 0;
    reg_unlock(r);
    if (has) pthread_join(t, NULL);
}

/* ---- declaring -------------------------------------------------------------- */

/* Kind and dimension from the file's header (te_open reads no weights).
 * Returns 0 when the file cannot be opened: it is checked again at load. */
static int peek_shape(const char *path, te_model_kind *kind, int *dim) {
    te_model *m = te_open(path, NULL, NULL);
    if (!m) return 0;
    te_model_info in;
    te_model_get_info(m, &in);
    *kind = in.kind;
    *dim = in.hidden_size;
    te_close(m);
    return 1;
}

/* Checks the declaration, fills e and reads the headers of e and its
 * fallback (outside the lock: file I/O). */
static te_status prepare(te_registry *r, const te_reg_decl *d, reg_entry *e, te_error *err) {
    size_t nlen = strlen(d->name);
    if (nlen == 0 || nlen > MAX_NAME) return te_fail(err, TE_ERR_ARG, "model name must be 1 to %d bytes", MAX_NAME);
    if (!d->path[0]) return te_fail(err, TE_ERR_ARG, "model '%s': the path is empty", d->name);
    if (d->strategy < TE_STRATEGY_LAZY || d->strategy > TE_STRATEGY_AUTO)
        return te_fail(err, TE_ERR_ARG, "model '%s': unknown loading strategy %d", d->name, (int)d->strategy);
    if (!(e->name = strdup(d->name)) || !(e->path = strdup(d->path))) return te_fail(err, TE_ERR_NOMEM, "out of memory");
    e->r = r;
    e->fallback = -1;
    e->strategy = d->strategy;
    e->first_use = d->first_use != 0;
    e->warmup = !d->no_warmup;
    e->verify = d->verify_checksums != 0;
    e->state = TE_REG_DECLARED;
    if (!d->fallback) return TE_OK;
    if (strcmp(d->fallback, d->name) == 0) return te_fail(err, TE_ERR_ARG, "model '%s' cannot be its own fallback", d->name);
    reg_lock(r);
    const reg_entry *f = find_locked(r, d->fallback);
    reg_unlock(r);
    if (!f) return te_fail(err, TE_ERR_ARG, "model '%s': its fallback '%s' is not declared (declare it first)", d->name, d->fallback);
    /* f->path never changes and entries are never freed before the registry. */
    e->shape_known = peek_shape(e->path, &e->kind, &e->dim);
    return TE_OK;
}

/* Adds a prepared entry: the name is free, the fallback pair matches. */
static te_status insert_locked(te_registry *r, reg_entry *e, const te_reg_decl *d, int fknown, te_model_kind fkind,
                               int fdim, te_error *err) {
    ASSERT_LOCKED(r);
    if (find_locked(r, d->name)) return te_fail(err, TE_ERR_ARG, "model '%s' is declared twice", d->name);
    if (d->fallback) {
        reg_entry *f = find_locked(r, d->fallback);
        e->fallback = index_of(r, f);
        if (fknown && !f->shape_known) {
            f->shape_known = 1;
            f->kind = fkind;
            f->dim = fdim;
        }
        if (e->shape_known && f->shape_known && (e->kind != f->kind || e->dim != f->dim))
            return te_fail(err, TE_ERR_ARG, "model '%s' (%s, dimension %d) cannot fall back to '%s' (%s, dimension %d): "
                           "a fallback must give vectors of the same kind and dimension",
                           d->name, te_kind_name(e->kind), e->dim, f->name, te_kind_name(f->kind), f->dim);
    }
    if (r->n == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 8;
        reg_entry **ne = realloc(r->e, cap * sizeof *ne);
        if (!ne) return te_fail(err, TE_ERR_NOMEM, "out of memory");
        r->e = ne;
        r->cap = cap;
    }
    r->e[r->n++] = e;
    if (r->started && !e->first_use) start_job_locked(r, e);
    changed_locked(r);
    return TE_OK;
}

te_status te_registry_declare(te_registry *r, const te_reg_decl *d, te_error *err) {
    te_error_clear(err);
    if (!r || !d || !d->name || !d->path) return te_fail(err, TE_ERR_ARG, "te_registry_declare: registry, name and path are required");
    reg_entry *e = calloc(1, sizeof *e);
    te_status st = e ? prepare(r, d, e, err) : te_fail(err, TE_ERR_NOMEM, "out of memory");
    te_model_kind fkind = TE_KIND_EMBEDDING;
    int fdim = 0, fknown = 0;
    if (st == TE_OK && d->fallback) {
        reg_lock(r);
        const char *fpath = find_locked(r, d->fallback)->path;
        reg_unlock(r);
        fknown = peek_shape(fpath, &fkind, &fdim);
    }
    if (st == TE_OK) {
        reg_lock(r);
        st = insert_locked(r, e, d, fknown, fkind, fdim, err);
        reg_unlock(r);
    }
    if (st != TE_OK && e) {
        free(e->name);
        free(e->path);
        free(e);
    }
    return st;
}

te_status te_registry_start(te_registry *r, te_error *err) {
    te_error_clear(err);
    if (!r) return te_fail(err, TE_ERR_ARG, "te_registry_start: registry is NULL");
    reg_lock(r);
    if (!r->started) {
        r->started = 1;
        for (size_t i = 0; i < r->n; i++)
            if (!r->e[i]->first_use && r->e[i]->state == TE_REG_DECLARED) start_job_locked(r, r->e[i]);
    }
    reg_unlock(r);
    return TE_OK;
}

/* ---- serving ---------------------------------------------------------------- */

/* The entry that answers for e: e, or, when e failed with nothing of its
 * own to serve, the first entry down its fallback chain that did not (the
 * one walk of the chain: gets, readiness and waits all go through it). */
static reg_entry *answering_locked(const te_registry *r, const reg_entry *e) {
    ASSERT_LOCKED(r);
    while (e->state == TE_REG_FAILED && e->fallback >= 0) e = r->e[e->fallback];
    return (reg_entry *)e;
}

/* The version a get of e gives. With `wait`, starts a first-use load and
 * waits for loads in progress; without, answers from what is there now. */
static reg_version *resolve_locked(te_registry *r, reg_entry *e, int wait, int *fallback, te_error *err) {
    ASSERT_LOCKED(r);
    for (;;) {
        reg_entry *cur = answering_locked(r, e);
        *fallback = cur != e;
        if (cur->current) return cur->current;
        if (wait && cur->state == TE_REG_DECLARED) {
            start_job_locked(r, cur);
            continue;
        }
        if (wait && cur->state == TE_REG_LOADING) {
            reg_wait(r, NULL);
            continue;
        }
        if (!wait) return NULL;
        const char *why = cur->state == TE_REG_UNLOADED ? "it is unloaded" : te_errmsg(&cur->error);
        te_status code = cur->state == TE_REG_UNLOADED ? TE_ERR_NOT_FOUND : cur->error.code;
        if (cur == e) te_fail(err, code, "model '%s' is not available: %s", e->name, why);
        else te_fail(err, code, "model '%s' is not available: %s; nor is its fallback '%s': %s", e->name,
                     te_errmsg(&e->error), cur->name, why);
        return NULL;
    }
}

te_status te_registry_get(te_registry *r, const char *name, te_model_ref *ref, te_error *err) {
    te_error_clear(err);
    if (ref) memset(ref, 0, sizeof *ref);
    if (!r || !name || !ref) return te_fail(err, TE_ERR_ARG, "te_registry_get: registry, name and ref are required");
    te_error e2;
    reg_lock(r);
    reg_entry *e = find_locked(r, name);
    int fb = 0;
    reg_version *v = NULL;
    if (!e) te_fail(&e2, TE_ERR_NOT_FOUND, "no model named '%s' in the registry", name);
    else v = resolve_locked(r, e, 1, &fb, &e2);
    if (v) {
        v->refs++;
        v->entry->calls++;
        if (fb) e->fallback_calls++;
        *ref = (te_model_ref){.model = v->model, .name = v->entry->name, .fallback = fb, .generation = v->generation,
                              .fingerprint = v->fingerprint, .priv_ = {v, e}, .epoch_ = atomic_load(&r->epoch)};
    }
    reg_unlock(r);
    if (v) return TE_OK;
    if (err) *err = e2;
    return e2.code;
}

int te_registry_is_current(te_registry *r, const te_model_ref *ref) {
    if (!r || !ref || !ref->priv_[0]) return 0;
    if (atomic_load(&r->epoch) == ref->epoch_) return 1;
    int fb;
    reg_lock(r);
    reg_version *now = resolve_locked(r, ref->priv_[1], 0, &fb, NULL);
    reg_unlock(r);
    return now == ref->priv_[0];
}

void te_registry_release(te_registry *r, te_model_ref *ref) {
    if (!r || !ref || !ref->priv_[0]) return;
    reg_lock(r);
    reg_version *drop = unref_locked(ref->priv_[0]);
    reg_unlock(r);
    close_version(r, drop);
    memset(ref, 0, sizeof *ref);
}

/* ---- reload and unload -------------------------------------------------------- */

static te_status reload_one(te_registry *r, reg_entry *e, te_error *err) {
    reg_lock(r);
    while (e->busy) reg_wait(r, NULL);
    e->busy = 1;
    int early = e->current == NULL;
    if (early) e->state = TE_REG_LOADING;
    else e->reloading = 1;
    changed_locked(r);
    reg_unlock(r);
    te_status st = load(r, e, early, err);
    if (st == TE_OK) {
        reg_lock(r);
        e->reloads++;
        reg_unlock(r);
    }
    return st;
}

/* Appends s to the string in buf[cap], cutting it short if it does not fit. */
static void append(char *buf, size_t cap, const char *s) {
    size_t used = strlen(buf), n = strlen(s);
    if (n > cap - 1 - used) n = cap - 1 - used;
    memcpy(buf + used, s, n);
    buf[used + n] = '\0';
}

/* Runs `one` on the model named `name`, or on every model (name NULL),
 * collecting the failures into one message. */
static te_status for_models(te_registry *r, const char *name, const char *what,
                            te_status (*one)(te_registry *, reg_entry *, void *, te_error *), void *arg, te_error *err) {
    te_error_clear(err);
    if (!r) return te_fail(err, TE_ERR_ARG, "te_registry_%s: registry is NULL", what);
    reg_lock(r);
    size_t n = r->n;
    reg_entry *only = name ? find_locked(r, name) : NULL;
    reg_unlock(r);
    if (name && !only) return te_fail(err, TE_ERR_NOT_FOUND, "no model named '%s' in the registry", name);
    if (only) return one(r, only, arg, err);
    te_status first = TE_OK;
    char msg[sizeof err->msg] = "";
    size_t n_failed = 0;
    for (size_t i = 0; i < n; i++) {
        reg_lock(r);
        reg_entry *e = r->e[i];
        reg_unlock(r);
        te_error e1;
        te_status st = one(r, e, arg, &e1);
        if (st == TE_OK) continue;
        if (first == TE_OK) first = st;
        n_failed++;
        append(msg, sizeof msg, msg[0] ? "; " : "");
        append(msg, sizeof msg, e1.msg);
    }
    if (first != TE_OK) te_fail(err, first, "%zu of %zu models failed to %s: %s", n_failed, n, what, msg);
    return first;
}

static te_status reload_cb(te_registry *r, reg_entry *e, void *arg, te_error *err) {
    (void)arg;
    return reload_one(r, e, err);
}

te_status te_registry_reload(te_registry *r, const char *name, te_error *err) {
    return for_models(r, name, "reload", reload_cb, NULL, err);
}

static te_status unload_cb(te_registry *r, reg_entry *e, void *arg, te_error *err) {
    const struct timespec *deadline = arg; /* NULL: no limit */
    reg_lock(r);
    while (e->busy) reg_wait(r, NULL);
    reg_version *drop = unpublish_locked(e);
    e->state = TE_REG_UNLOADED;
    reg_unlock(r);
    close_version(r, drop);
    join_job(r, e);
    reg_lock(r);
    int timed_out = 0;
    while (e->live > 0 && !timed_out) {
        if (!deadline) reg_wait(r, NULL);
        else if (reg_wait(r, deadline) == ETIMEDOUT) timed_out = 1;
    }
    int live = e->live;
    reg_unlock(r);
    if (live > 0)
        return te_fail(err, TE_ERR_TIMEOUT, "model '%s': %d version%s still referenced when the time ran out", e->name,
                       live, live == 1 ? " is" : "s are");
    return TE_OK;
}

te_status te_registry_unload(te_registry *r, const char *name, int timeout_ms, te_error *err) {
    struct timespec deadline;
    te_deadline(&deadline, timeout_ms);
    return for_models(r, name, "unload", unload_cb, timeout_ms < 0 ? NULL : &deadline, err);
}

void te_registry_free(te_registry *r) {
    if (!r) return;
    te_registry_unload(r, NULL, -1, NULL);
    for (size_t i = 0; i < r->n; i++) {
        free(r->e[i]->name);
        free(r->e[i]->path);
        free(r->e[i]);
    }
    free(r->e);
    pthread_cond_destroy(&r->cv);
    pthread_mutex_destroy(&r->mu);
    free(r);
}

/* ---- status ------------------------------------------------------------------- */

/* The start-up load of e (and, if it failed, of its fallbacks) has ended. */
static int settled_locked(const te_registry *r, const reg_entry *e) {
    te_reg_state s = answering_locked(r, e)->state;
    return s != TE_REG_LOADING && s != TE_REG_DECLARED;
}

/* e, or the fallback serving for it, is ready. */
static int serving_locked(const te_registry *r, const reg_entry *e) {
    return answering_locked(r, e)->state == TE_REG_READY;
}

int te_registry_all_ready(te_registry *r) {
    if (!r) return 0;
    reg_lock(r);
    int ok = 1;
    for (size_t i = 0; i < r->n && ok; i++)
        if (!r->e[i]->first_use && !serving_locked(r, r->e[i])) ok = 0;
    reg_unlock(r);
    return ok;
}

te_status te_registry_wait(te_registry *r, int timeout_ms, te_error *err) {
    te_error_clear(err);
    if (!r) return te_fail(err, TE_ERR_ARG, "te_registry_wait: registry is NULL");
    struct timespec deadline;
    te_deadline(&deadline, timeout_ms);
    reg_lock(r);
    if (!r->started) {
        reg_unlock(r);
        return te_fail(err, TE_ERR_ARG, "te_registry_wait: te_registry_start was not called");
    }
    te_status st = TE_OK;
    for (size_t i = 0; i < r->n && st == TE_OK; i++) {
        const reg_entry *e = r->e[i];
        while (!e->first_use && !settled_locked(r, e) && st == TE_OK) {
            if (timeout_ms == 0 || (timeout_ms > 0 && reg_wait(r, &deadline) == ETIMEDOUT))
                st = te_fail(err, TE_ERR_TIMEOUT, "model '%s' is still loading", e->name);
            else if (timeout_ms < 0)
                reg_wait(r, NULL);
        }
    }
    for (size_t i = 0; i < r->n && st == TE_OK; i++) {
        const reg_entry *e = r->e[i];
        if (e->first_use || serving_locked(r, e)) continue;
        const reg_entry *last = answering_locked(r, e);
        if (e->state == TE_REG_UNLOADED) st = te_fail(err, TE_ERR_NOT_FOUND, "model '%s' is unloaded", e->name);
        else if (last == e) st = te_fail(err, e->error.code, "model '%s' failed to load: %s", e->name, te_errmsg(&e->error));
        else st = te_fail(err, e->error.code, "model '%s' failed to load: %s; its fallback '%s' cannot serve either: %s",
                          e->name, te_errmsg(&e->error), last->name,
                          last->state == TE_REG_UNLOADED ? "it is unloaded" : te_errmsg(&last->error));
    }
    reg_unlock(r);
    return st;
}

size_t te_registry_count(te_registry *r) {
    if (!r) return 0;
    reg_lock(r);
    size_t n = r->n;
    reg_unlock(r);
    return n;
}

int te_registry_find(te_registry *r, const char *name) {
    if (!r || !name) return -1;
    reg_lock(r);
    const reg_entry *e = find_locked(r, name);
    int i = e ? index_of(r, e) : -1;
    reg_unlock(r);
    return i;
}

static void copy_str(char *dst, size_t cap, const char *src) {
    snprintf(dst, cap, "%s", src ? src : "");
}

te_status te_registry_status(te_registry *r, size_t i, te_reg_status *out) {
    if (!r || !out) return TE_ERR_ARG;
    memset(out, 0, sizeof *out);
    reg_lock(r);
    if (i >= r->n) {
        reg_unlock(r);
        return TE_ERR_ARG;
    }
    const reg_entry *e = r->e[i];
    out->name = e->name;
    out->path = e->path;
    out->fallback = e->fallback >= 0 ? r->e[e->fallback]->name : NULL;
    out->state = e->state;
    out->first_use = e->first_use;
    out->warmup = e->warmup;
    out->reloading = e->reloading;
    out->kind = e->kind;
    out->strategy = e->strategy;
    out->hidden_size = e->shape_known ? e->dim : 0;
    out->load_started_at = e->load_started_at;
    out->loads = e->loads;
    out->reloads = e->reloads;
    out->calls = e->calls;
    out->fallback_calls = e->fallback_calls;
    out->live_versions = e->live;
    out->error = e->error;
    int fb = 0;
    if (e->state == TE_REG_FAILED) {
        const reg_version *s = resolve_locked(r, (reg_entry *)e, 0, &fb, NULL);
        if (s && fb) out->served_by = s->entry->name;
    }
    reg_version *v = e->current;
    if (v) {
        v->refs++; /* keeps the mapping while it is measured outside the lock */
        out->generation = v->generation;
        out->loaded_at = e->state == TE_REG_READY ? e->loaded_at : 0;
        out->load_ms = e->load_ms;
    }
    reg_unlock(r);
    if (!v) return TE_OK;
    te_model_info in;
    te_model_status ms;
    te_model_get_info(v->model, &in);
    te_model_get_status(v->model, &ms);
    copy_str(out->converter, sizeof out->converter, in.converter);
    copy_str(out->model_name, sizeof out->model_name, in.name);
    out->fingerprint = in.fingerprint;
    out->kind = in.kind;
    out->dtype = in.dtype;
    out->hidden_size = in.hidden_size;
    out->file_bytes = ms.file_bytes;
    out->resident_bytes = ms.file_resident;
    out->meta_bytes = ms.meta_bytes, out->meta_resident = ms.meta_resident;
    out->word_emb_bytes = ms.word_emb_bytes, out->word_emb_resident = ms.word_emb_resident;
    out->other_emb_bytes = ms.other_emb_bytes, out->other_emb_resident = ms.other_emb_resident;
    out->layers_bytes = ms.layers_bytes, out->layers_resident = ms.layers_resident;
    out->file_bytes_present = ms.file_bytes_present;
    out->strategy = ms.strategy;
    out->warmed_up = ms.warmed_up && ms.warmup_ok;
    out->warmup_ms = ms.warmup_ms;
    reg_lock(r);
    reg_version *drop = unref_locked(v);
    reg_unlock(r);
    close_version(r, drop);
    return TE_OK;
}
