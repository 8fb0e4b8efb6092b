/*
 * tinyembed_registry.h - the registry: many models by name, loaded in the
 * background, reloaded, unloaded and replaced by fallbacks. Part of the
 * public API (tinyembed.h includes it).
 */
#ifndef TINYEMBED_REGISTRY_H
#define TINYEMBED_REGISTRY_H

#include "tinyembed.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------------------
 * Many models: the registry
 * ---------------------------------------------------------------------------
 *
 * A registry keeps several named models for a long-lived process (a server,
 * a daemon): it loads the start-up ones in parallel in the background, loads
 * the others on first use, serves a declared fallback when a model cannot be
 * loaded, reloads a model from its file while calls run on the old one, and
 * reports all of it. Example:
 *
 *     te_registry *r = te_registry_from_config("models.json", &err);
 *     if (!r || te_registry_start(r, &err) != TE_OK) { ...te_errmsg(&err)... }
 *     te_registry_wait(r, 30000, &err);          // optional: until start-up loads end
 *
 *     // per worker thread: a reference and a context, renewed after a reload
 *     te_model_ref ref = {0};
 *     te_ctx *ctx = NULL;
 *     for (each request) {
 *         if (!ref.model || !te_registry_is_current(r, &ref)) {
 *             te_ctx_free(ctx);
 *             te_registry_release(r, &ref);
 *             if (te_registry_get(r, "minilm", &ref, &err) != TE_OK) { ...error... }
 *             ctx = te_ctx_new(ref.model, &ctx_opts, &err);
 *         }
 *         te_embed(ctx, texts, NULL, n, out, &err);   // ref.fallback says who served
 *     }
 *     te_ctx_free(ctx);
 *     te_registry_release(r, &ref);
 *
 *     te_registry_reload(r, "minilm", &err);   // after `tinyembed convert` rewrote the file
 *     te_registry_free(r);                      // unloads everything
 *
 * The config file (paths relative to its folder; `strategy` defaults to
 * lazy, `load` to "startup", `warmup` to true, `verify` to false):
 *
 *     {"models": [
 *       {"name": "minilm", "path": "minilm.temb", "strategy": "progressive", "load": "startup", "warmup": true},
 *       {"name": "minilm-int8", "path": "minilm-int8.temb", "load": "first-use"},
 *       {"name": "big", "path": "big.temb", "fallback": "minilm-int8"}
 *     ]}
 *
 * Lifetimes: a reference keeps its model version open; a reload or unload
 * only stops new gets from seeing it, and the mapping is closed when the
 * last reference is released. A context made from ref.model is valid while
 * the reference is held. Every function here is thread-safe: any number of
 * threads may get, release and embed while others reload.
 */
typedef struct te_registry te_registry;

typedef enum te_reg_state {
    TE_REG_DECLARED = 0, /* not loaded yet (first-use, or before te_registry_start) */
    TE_REG_LOADING,      /* its file is being opened, read or warmed up */
    TE_REG_READY,        /* serving (a failed reload keeps it ready on the old file) */
    TE_REG_FAILED,       /* could not be loaded; the error says why */
    TE_REG_UNLOADED      /* unloaded on request; te_registry_reload brings it back */
} te_reg_state;

const char *te_reg_state_name(te_reg_state s); /* "declared", "loading", "ready", "failed", "unloaded" */

/* One model to declare. Zero-initialized fields give the defaults. */
typedef struct te_reg_decl {
    const char *name;      /* unique, 1..127 bytes */
    const char *path;      /* the .temb file, re-read from here by every reload */
    te_strategy strategy;  /* loading strategy (default lazy) */
    int first_use;         /* 0: loaded by te_registry_start; 1: by the first te_registry_get */
    int no_warmup;         /* 0: te_warmup once loaded and before a reload is swapped in */
    int verify_checksums;  /* check every CRC32 on each (re)load */
    const char *fallback;  /* NULL, or a model declared earlier: served while this one has failed.
                            * It must have the same kind and dimension: when both files can be read
                            * at declaration a mismatch is an error then, otherwise at load time. */
} te_reg_decl;

/* An empty registry, or NULL (out of memory). */
te_registry *te_registry_new(te_error *err);

/* Declares a model; loads nothing (it only reads the header of a model and
 * its fallback to compare them). If the registry is already started and
 * the model loads at start-up, its load begins now. */
te_status te_registry_declare(te_registry *r, const te_reg_decl *d, te_error *err);

/* A registry with the models of a JSON config file (shape above; unknown
 * keys are errors). On any error returns NULL, having loaded nothing; an
 * error in the file's content reads "FILE: line L, column C: ...". */
te_registry *te_registry_from_config(const char *path, te_error *err);

/* Starts loading every start-up model, each in its own thread, and returns
 * at once. Calling it again does nothing. */
te_status te_registry_start(te_registry *r, te_error *err);

/* Waits until every start-up load has ended (ready or failed; warmup
 * included). TE_OK when every start-up model serves (itself, or through a
 * ready fallback); TE_ERR_TIMEOUT when timeout_ms passed first (negative:
 * no limit); otherwise the error of the first start-up model that cannot
 * serve, naming it. */
te_status te_registry_wait(te_registry *r, int timeout_ms, te_error *err);

/* What te_registry_wait(r, 0, NULL) == TE_OK says, without waiting: 1 when
 * every start-up model is loaded, warmed up and serving (or its fallback is). */
int te_registry_all_ready(te_registry *r);

/* A counted reference to the model serving a name. The fields are read-only. */
typedef struct te_model_ref {
    const te_model *model;   /* valid until te_registry_release */
    const char *name;        /* the declared model serving: the one asked for, or its fallback */
    int fallback;            /* 1 when the one asked for has failed and a fallback serves */
    uint64_t generation;     /* of the serving model: 1 for its first load, +1 per successful reload */
    uint32_t fingerprint;    /* te_model_info.fingerprint of the file behind `model` */
    void *priv_[2];          /* the registry's */
    uint64_t epoch_;         /* the registry's */
} te_model_ref;

/* Fills *ref with the model serving `name`. A start-up model still opening
 * is waited for; a first-use model is loaded now (concurrent first gets
 * load it once); a failed model with a fallback gives the fallback's model
 * (ref->fallback = 1). Fails naming the model and the reason when nothing
 * can serve. Release every successful get exactly once. */
te_status te_registry_get(te_registry *r, const char *name, te_model_ref *ref, te_error *err);

/* 1 when a te_registry_get of the same name would now give the same model
 * version (cheap: one atomic load when nothing changed). */
int te_registry_is_current(te_registry *r, const te_model_ref *ref);

/* Drops the reference (closing the model if it was the last one of a version
 * reloaded or unloaded since) and zeroes *ref. A zeroed ref is a no-op. */
void te_registry_release(te_registry *r, te_model_ref *ref);

/* Re-reads a model from its path beside the old one: opened, fully read,
 * warmed up (unless declared no_warmup), and only then swapped in, so new
 * gets see the new version at once and calls holding the old one finish on
 * it. On failure the old version keeps serving and the error is returned
 * (and kept in the status). A failed, unloaded or never-loaded model is
 * loaded. name NULL: every model; the result is then the first failure, its
 * message listing every model that failed. Blocks until done. */
te_status te_registry_reload(te_registry *r, const char *name, te_error *err);

/* Stops serving a model (name NULL: all) and waits up to timeout_ms
 * (negative: no limit) for its references to be released; TE_ERR_TIMEOUT if
 * some are still held (their versions close on their last release). Gets of
 * an unloaded model fail until it is reloaded. */
te_status te_registry_unload(te_registry *r, const char *name, int timeout_ms, te_error *err);

/* Unloads everything, waiting for all references, and frees. NULL is a no-op. */
void te_registry_free(te_registry *r);

/* One model as te_registry_status sees it. Strings are valid until
 * te_registry_free (name, path, fallback) or are copies. */
typedef struct te_reg_status {
    const char *name, *path;
    const char *fallback;          /* declared fallback, or NULL */
    const char *served_by;         /* failed and a fallback serves: that model's name; else NULL */
    te_reg_state state;
    int first_use, warmup;         /* as declared */
    int reloading;                 /* a reload is in progress (the old version serves) */
    te_model_kind kind;
    te_strategy strategy;          /* in effect for the current version (auto resolved), else as declared */
    double load_started_at;        /* Unix time (s) the last load or reload began; 0 if never */
    double loaded_at;              /* Unix time (s) the current version became ready; 0 if none */
    double load_ms;                /* open to fully read, for the current version */
    int warmed_up;                 /* the current version finished te_warmup */
    double warmup_ms;
    /* Version of the current file (empty / 0 when none is loaded). */
    char converter[64];            /* "tinyembed X.Y.Z" that wrote it */
    char model_name[128];          /* the name recorded at conversion */
    uint32_t fingerprint;          /* te_model_info.fingerprint */
    uint64_t generation;           /* 1 + successful reloads since the first load */
    te_dtype dtype;
    int hidden_size;               /* output dimension */
    uint64_t file_bytes, resident_bytes; /* of the current file; resident: in the page cache */
    /* ... and of its sections, as te_model_status splits them */
    uint64_t meta_bytes, meta_resident, word_emb_bytes, word_emb_resident;
    uint64_t other_emb_bytes, other_emb_resident, layers_bytes, layers_resident;
    uint64_t file_bytes_present;   /* of file_bytes, how many the file still holds (less: truncated in place
                                      since it was opened; see te_open) */
    uint64_t loads;                /* load and reload attempts, failed ones included */
    uint64_t reloads;              /* successful reloads */
    uint64_t calls;                /* gets this model served (as itself or as a fallback) */
    uint64_t fallback_calls;       /* gets of this name that its fallback served */
    int live_versions;             /* versions still open (the current one plus any still referenced) */
    te_error error;                /* the last failure (code TE_OK if none since the last good load) */
} te_reg_status;

size_t te_registry_count(te_registry *r);
/* Index of `name`, or -1. Indices follow declaration order. */
int te_registry_find(te_registry *r, const char *name);
/* Status of model i (0 <= i < count): TE_OK, or TE_ERR_ARG for a bad index. */
te_status te_registry_status(te_registry *r, size_t i, te_reg_status *out);

#ifdef __cplusplus
}
#endif

#endif /* TINYEMBED_REGISTRY_H */
