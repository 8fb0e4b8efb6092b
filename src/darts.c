/*
 * darts.c - double-array tries in darts-clone's unit format (darts.h).
 *
 * A unit is a non-leaf node (bits 0-7 its label, bit 8 has-leaf, bit 9
 * "offset in units of 256", bits 10-31 the offset to its children's base)
 * or a value (bit 31 set, 31 bits of value). The builder places each node's
 * children at base ^ label for the first free base it finds; bases are
 * unique, so a walk cannot step into another node's children.
 */
#include "darts.h"

#include <stdlib.h>
#include <string.h>

#include "internal.h"

static uint32_t unit_at(const te_darts *d, size_t i) { return te_le32(d->units + 4 * i); }
static int has_leaf(uint32_t u) { return (u >> 8) & 1; }
static uint32_t unit_value(uint32_t u) { return u & 0x7FFFFFFFu; }
static uint32_t unit_label(uint32_t u) { return u & (0x80000000u | 0xFFu); }
static size_t unit_offset(uint32_t u) { return (size_t)(u >> 10) << ((u & (1u << 9)) >> 6); }

void te_darts_prefixes(const te_darts *d, const uint8_t *key, size_t len, te_darts_hit hit, void *user) {
    if (d->n == 0) return;
    size_t pos = unit_offset(unit_at(d, 0));
    for (size_t i = 0; i < len && key[i]; i++) {
        pos ^= key[i];
        if (pos >= d->n) return;
        uint32_t u = unit_at(d, pos);
        if (unit_label(u) != key[i]) return;
        pos ^= unit_offset(u);
        if (has_leaf(u)) {
            if (pos >= d->n) return;
            if (hit(user, unit_value(unit_at(d, pos)), i + 1)) return;
        }
    }
}

static int first_hit(void *user, uint32_t value, size_t length) {
    (void)length;
    *(int64_t *)user = value;
    return 1;
}

int64_t te_darts_first(const te_darts *d, const uint8_t *key, size_t len) {
    int64_t v = -1;
    te_darts_prefixes(d, key, len, first_hit, &v);
    return v;
}

/* ---- building ---------------------------------------------------------- */

#define BLOCK 256
#define OPEN_BLOCKS 16   /* blocks still searched for free units (as darts-clone): older holes stay empty */

typedef struct builder {
    uint32_t *units;
    uint8_t *used, *base_used;   /* a unit taken; a base given to a node */
    int32_t *next, *prev;        /* circular list of the free units of the open blocks (-1: none) */
    int32_t head;
    size_t n_blocks, first_open; /* blocks allocated; the first still searched */
    const uint8_t *const *keys;
    const size_t *lens;
    const uint32_t *values;
    te_error *err;
} builder;

static void unlink_unit(builder *b, size_t i) {
    int32_t nx = b->next[i], pv = b->prev[i];
    if (nx == (int32_t)i) b->head = -1;
    else {
        b->next[pv] = nx;
        b->prev[nx] = pv;
        if (b->head == (int32_t)i) b->head = nx;
    }
}

static void take(builder *b, size_t i) {
    b->used[i] = 1;
    unlink_unit(b, i);
}

/* One more block of free units; the oldest open block closes beyond OPEN_BLOCKS. */
static int add_block(builder *b) {
    size_t cap = (b->n_blocks + 1) * BLOCK, old = b->n_blocks * BLOCK;
    uint32_t *u = realloc(b->units, cap * sizeof *u);
    if (u) b->units = u;
    uint8_t *us = u ? realloc(b->used, cap) : NULL;
    if (us) b->used = us;
    uint8_t *bu = us ? realloc(b->base_used, cap) : NULL;
    if (bu) b->base_used = bu;
    int32_t *nx = bu ? realloc(b->next, cap * sizeof *nx) : NULL;
    if (nx) b->next = nx;
    int32_t *pv = nx ? realloc(b->prev, cap * sizeof *pv) : NULL;
    if (!pv) return 0;
    b->prev = pv;
    memset(b->units + old, 0, BLOCK * sizeof *u);
    memset(b->used + old, 0, BLOCK);
    memset(b->base_used + old, 0, BLOCK);
    for (size_t i = old; i < cap; i++) { /* append the block's units to the list */
        if (b->head < 0) {
            b->head = (int32_t)i;
            b->next[i] = b->prev[i] = (int32_t)i;
            continue;
        }
        int32_t tail = b->prev[b->head];
        b->next[tail] = (int32_t)i;
        b->prev[i] = tail;
        b->next[i] = b->head;
        b->prev[b->head] = (int32_t)i;
    }
    b->n_blocks++;
    if (b->n_blocks - b->first_open > OPEN_BLOCKS) { /* close the oldest: its free units are searched no more */
        for (size_t i = b->first_open * BLOCK; i < (b->first_open + 1) * BLOCK; i++)
            if (!b->used[i]) unlink_unit(b, i), b->used[i] = 1;
        b->first_open++;
    }
    return 1;
}

static int fits(const builder *b, size_t p, size_t base, const uint8_t *labels, int n, int leaf) {
    size_t off = p ^ base;
    if (base == 0 || b->base_used[base] || (off >= (1u << 21) && ((off & 0xFF) || off >= (1u << 29)))) return 0;
    if (leaf && b->used[base]) return 0;
    for (int i = 0; i < n; i++)
        if (b->used[base ^ labels[i]]) return 0;
    return 1;
}

/* A base for children labels[0..n) (and a value at base ^ 0 when leaf) of
 * node p: from the free units of the open blocks, else a new block. */
static size_t find_base(builder *b, size_t p, const uint8_t *labels, int n, int leaf) {
    uint8_t first = leaf ? 0 : labels[0];
    if (b->head >= 0) {
        size_t e = (size_t)b->head;
        do {
            if (fits(b, p, e ^ first, labels, n, leaf)) return e ^ first;
            e = (size_t)b->next[e];
        } while (e != (size_t)b->head);
    }
    for (;;) {
        if (!add_block(b)) return 0;
        size_t base = (b->n_blocks - 1) * BLOCK;
        for (size_t x = 0; x < BLOCK; x++)
            if (fits(b, p, base | x, labels, n, leaf)) return base | x;
    }
}

static void set_offset(builder *b, size_t p, size_t off) {
    b->units[p] |= off < (1u << 21) ? (uint32_t)(off << 10) : (uint32_t)((off << 2) | (1u << 9));
}

/* Places the node at p for keys[lo, hi), which share their first `depth`
 * bytes, then its children, depth first. */
static te_status place(builder *b, size_t p, size_t lo, size_t hi, size_t depth) {
    int leaf = b->lens[lo] == depth; /* sorted: the key that ends here comes first */
    uint8_t labels[256];
    int n = 0;
    for (size_t i = lo + (size_t)leaf; i < hi; i++)
        if (n == 0 || labels[n - 1] != b->keys[i][depth]) labels[n++] = b->keys[i][depth];
    size_t base = find_base(b, p, labels, n, leaf);
    if (!base) return te_fail(b->err, TE_ERR_NOMEM, "out of memory building the vocabulary trie");
    b->base_used[base] = 1;
    set_offset(b, p, p ^ base);
    if (leaf) {
        b->units[p] |= 1u << 8;
        b->units[base] = 0x80000000u | b->values[lo];
        take(b, base);
    }
    for (int i = 0; i < n; i++) {
        b->units[base ^ labels[i]] = labels[i];
        take(b, base ^ labels[i]);
    }
    size_t i = lo + (size_t)leaf;
    for (int c = 0; c < n; c++) {
        size_t j = i;
        while (j < hi && b->keys[j][depth] == labels[c]) j++;
        te_status st = place(b, base ^ labels[c], i, j, depth + 1);
        if (st != TE_OK) return st;
        i = j;
    }
    return TE_OK;
}

static int sorted_distinct(const uint8_t *a, size_t la, const uint8_t *b, size_t lb) {
    int c = memcmp(a, b, la < lb ? la : lb);
    return c < 0 || (c == 0 && la < lb);
}

te_status te_darts_build(const uint8_t *const *keys, const size_t *lens, const uint32_t *values, size_t n,
                         uint8_t **out, size_t *n_units, te_error *err) {
    builder b = {.head = -1, .keys = keys, .lens = lens, .values = values, .err = err};
    te_status st = TE_OK;
    for (size_t i = 0; i < n && st == TE_OK; i++) {
        if (lens[i] == 0 || memchr(keys[i], 0, lens[i]) || values[i] >= 0x80000000u)
            st = te_fail(err, TE_ERR_ARG, "trie key %zu is empty, holds a NUL byte or has too large a value", i);
        else if (i && !sorted_distinct(keys[i - 1], lens[i - 1], keys[i], lens[i]))
            st = te_fail(err, TE_ERR_ARG, "trie keys must be sorted and distinct (key %zu)", i);
    }
    if (st == TE_OK && !add_block(&b)) st = te_fail(err, TE_ERR_NOMEM, "out of memory building the vocabulary trie");
    if (st == TE_OK) {
        take(&b, 0); /* the root */
        if (n) st = place(&b, 0, 0, n, 0);
    }
    size_t units = b.n_blocks * BLOCK;
    while (units > 1 && !b.units[units - 1] && !(b.used[units - 1] && b.base_used[units - 1])) units--;
    uint8_t *bytes = st == TE_OK ? malloc(units * 4) : NULL;
    if (st == TE_OK && !bytes) st = te_fail(err, TE_ERR_NOMEM, "out of memory building the vocabulary trie");
    if (st == TE_OK) {
        for (size_t i = 0; i < units; i++) te_put32(bytes + 4 * i, b.units[i]);
        *out = bytes;
        *n_units = units;
    }
    free(b.units);
    free(b.used);
    free(b.base_used);
    free(b.next);
    free(b.prev);
    return st;
}
