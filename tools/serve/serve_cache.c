/*
 * serve_cache.c - the result cache (--cache-mb N, off by default): a text's
 * vector by (the model file's fingerprint, how it was cut if it was, the
 * text as embedded, its prompt included), the least recently used out first.
 * The vector is the model's output before any answer option (normalize,
 * dimensions, encoding), so one entry serves every API. A hash table of
 * chains and a recency list under one mutex; an entry is one allocation
 * (itself, its vector, its text) and counts toward the bound whole.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "serve.h"

/* The recency list: a ring through the cache's sentinel. */
typedef struct lru_link {
    struct lru_link *newer, *older;
} lru_link;

typedef struct entry {
    lru_link link;              /* first: a link of the list is its entry */
    struct entry *chain;        /* the next in its bucket */
    uint64_t hash;
    uint32_t fingerprint;
    unsigned flags;
    int dim;
    size_t tokens, len, bytes;
    float *vec;                 /* [dim], inside this allocation */
    char text[];                /* [len] */
} entry;

struct srv_cache {
    pthread_mutex_t mu;
    entry **buckets;
    size_t n_buckets;           /* a power of two */
    lru_link lru;               /* sentinel: lru.older is the newest, lru.newer the oldest */
    size_t bytes, max_bytes, entries;
    uint64_t hits, misses, evictions;
};

srv_cache *cache_new(size_t max_bytes) {
    srv_cache *c = max_bytes ? calloc(1, sizeof *c) : NULL;
    if (!c) return NULL;
    c->n_buckets = 1024;
    while (c->n_buckets < max_bytes / 1024 && c->n_buckets < ((size_t)1 << 24)) c->n_buckets *= 2;
    if (!(c->buckets = calloc(c->n_buckets, sizeof *c->buckets))) {
        free(c);
        return NULL;
    }
    pthread_mutex_init(&c->mu, NULL);
    c->max_bytes = max_bytes;
    c->lru.newer = c->lru.older = &c->lru;
    return c;
}

void cache_free(srv_cache *c) {
    if (!c) return;
    for (lru_link *l = c->lru.older, *next; l != &c->lru; l = next) {
        next = l->older;
        free((entry *)l);
    }
    pthread_mutex_destroy(&c->mu);
    free(c->buckets);
    free(c);
}

/* FNV-1a over the key's parts. */
static uint64_t key_hash(uint32_t fingerprint, unsigned flags, const char *text, size_t len) {
    uint64_t h = 1469598103934665603ull;
    uint8_t head[8] = {(uint8_t)fingerprint, (uint8_t)(fingerprint >> 8), (uint8_t)(fingerprint >> 16),
                       (uint8_t)(fingerprint >> 24), (uint8_t)flags};
    for (size_t i = 0; i < sizeof head; i++) h = (h ^ head[i]) * 1099511628211ull;
    for (size_t i = 0; i < len; i++) h = (h ^ (uint8_t)text[i]) * 1099511628211ull;
    return h;
}

static void unlink_lru(entry *e) {
    e->link.newer->older = e->link.older;
    e->link.older->newer = e->link.newer;
}

static void push_newest(srv_cache *c, entry *e) {
    e->link.older = c->lru.older;
    e->link.newer = &c->lru;
    c->lru.older->newer = &e->link;
    c->lru.older = &e->link;
}

static entry **find(srv_cache *c, uint64_t h, uint32_t fp, unsigned flags, const char *text, size_t len) {
    entry **at = &c->buckets[h & (c->n_buckets - 1)];
    while (*at && !((*at)->hash == h && (*at)->fingerprint == fp && (*at)->flags == flags && (*at)->len == len &&
                    memcmp((*at)->text, text, len) == 0))
        at = &(*at)->chain;
    return at;
}

int cache_get(srv_cache *c, uint32_t fp, unsigned flags, const char *text, size_t len, float *out, int dim,
              size_t *tokens) {
    pthread_mutex_lock(&c->mu);
    /* A text that was not cut serves every request; one that was, those that cut it the same way. */
    entry *e = *find(c, key_hash(fp, 0, text, len), fp, 0, text, len);
    if (!e && flags) e = *find(c, key_hash(fp, flags, text, len), fp, flags, text, len);
    if (e && e->dim == dim) {
        memcpy(out, e->vec, (size_t)dim * sizeof *out);
        *tokens = e->tokens;
        unlink_lru(e);
        push_newest(c, e);
        c->hits++;
    } else {
        c->misses++;
    }
    pthread_mutex_unlock(&c->mu);
    return e && e->dim == dim;
}

/* Drops the oldest entry. */
static void evict_oldest(srv_cache *c) {
    entry *e = (entry *)c->lru.newer;
    entry **at = find(c, e->hash, e->fingerprint, e->flags, e->text, e->len);
    *at = e->chain;
    unlink_lru(e);
    c->bytes -= e->bytes;
    c->entries--;
    c->evictions++;
    free(e);
}

void cache_put(srv_cache *c, uint32_t fp, unsigned flags, const char *text, size_t len, const float *v, int dim,
               size_t tokens) {
    size_t vec_off = (sizeof(entry) + len + sizeof(float) - 1) / sizeof(float) * sizeof(float);
    size_t bytes = vec_off + (size_t)dim * sizeof(float);
    if (bytes > c->max_bytes / 8) return; /* one text may not take a large part of the cache */
    uint64_t h = key_hash(fp, flags, text, len);
    entry *e = malloc(bytes);
    if (!e) return;
    *e = (entry){.hash = h, .fingerprint = fp, .flags = flags, .dim = dim, .tokens = tokens, .len = len, .bytes = bytes};
    e->vec = (float *)((char *)e + vec_off);
    memcpy(e->text, text, len);
    memcpy(e->vec, v, (size_t)dim * sizeof *v);
    pthread_mutex_lock(&c->mu);
    entry **at = find(c, h, fp, flags, text, len);
    if (*at) { /* another worker put it first */
        pthread_mutex_unlock(&c->mu);
        free(e);
        return;
    }
    *at = e;
    push_newest(c, e);
    c->bytes += bytes;
    c->entries++;
    while (c->bytes > c->max_bytes) evict_oldest(c);
    pthread_mutex_unlock(&c->mu);
}

void cache_stats(srv_cache *c, cache_counts *out) {
    memset(out, 0, sizeof *out);
    if (!c) return;
    pthread_mutex_lock(&c->mu);
    *out = (cache_counts){c->hits, c->misses, c->evictions, c->bytes, c->entries, c->max_bytes};
    pthread_mutex_unlock(&c->mu);
}
