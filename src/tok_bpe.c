/*
 * tok_bpe.c - byte-level BPE on one word (tok.h): the word starts as its
 * single bytes' tokens; the adjacent pair with the lowest merge rank is
 * merged, the leftmost first among equal ranks, until no adjacent pair has a
 * merge, as Hugging Face's tokenizers does. A min-heap of candidate pairs
 * keeps a long word at O(n log n): a popped pair whose two symbols have
 * changed since it was pushed is stale and skipped.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "tok.h"

#define NO_TOKEN 0xFFFFFFFFu /* a byte no token spells (0xC0 in GPT-NeoX's vocabulary: never in UTF-8) */

/* One symbol of the word: a token over bytes [start, end), linked to its neighbours. */
typedef struct sym {
    int32_t id;
    uint32_t start, end;
    int32_t prev, next;       /* -1 at the ends; end == start marks a symbol merged into its left neighbour */
} sym;

/* A candidate merge of symbol `left` with the symbol after it. */
typedef struct cand {
    uint32_t rank, left, right_end; /* right_end: where the right symbol ended when pushed */
    int32_t merged;
} cand;

static int32_t lookup(const tm_bpe *b, int32_t l, int32_t r, uint32_t *rank) {
    uint32_t h = tm_bpe_hash((uint32_t)l, (uint32_t)r);
    for (uint32_t i = 0; i < b->n_slots; i++) {
        const uint8_t *s = b->slots + 16 * (size_t)((h + i) & (b->n_slots - 1));
        uint32_t sl = te_le32(s);
        if (sl == 0xFFFFFFFFu) return -1;
        if (sl == (uint32_t)l && te_le32(s + 4) == (uint32_t)r) {
            uint32_t merged = te_le32(s + 12);
            *rank = te_le32(s + 8);
            return merged < b->n_vocab ? (int32_t)merged : -1;
        }
    }
    return -1;
}

/* Heap order: lower rank first, then the leftmost. */
static int before(const cand *a, const cand *b) { return a->rank != b->rank ? a->rank < b->rank : a->left < b->left; }

static void heap_push(cand *h, size_t *n, cand c) {
    size_t i = (*n)++;
    for (; i > 0 && before(&c, &h[(i - 1) / 2]); i = (i - 1) / 2) h[i] = h[(i - 1) / 2];
    h[i] = c;
}

static cand heap_pop(cand *h, size_t *n) {
    cand top = h[0], last = h[--*n];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= *n) break;
        if (c + 1 < *n && before(&h[c + 1], &h[c])) c++;
        if (!before(&h[c], &last)) break;
        h[i] = h[c];
        i = c;
    }
    h[i] = last;
    return top;
}

/* Pushes the merge of symbol i with its right neighbour, if there is one. */
static void consider(const tm_bpe *b, const sym *s, int32_t i, cand *h, size_t *n) {
    int32_t j = s[i].next;
    uint32_t rank;
    if (j < 0) return;
    int32_t merged = lookup(b, s[i].id, s[j].id, &rank);
    if (merged >= 0) heap_push(h, n, (cand){rank, (uint32_t)i, s[j].end, merged});
}

/* Scratch for n bytes: the symbols and the heap, which holds the first n - 1 pairs and two more per merge. */
static void *scratch_for(tm_scratch *sc, size_t n) {
    size_t need = n * (sizeof(sym) + 3 * sizeof(cand));
    if (need <= sizeof sc->stack) return sc->stack;
    if (need > sc->cap) {
        void *p = realloc(sc->p, need);
        if (!p) return NULL;
        sc->p = p;
        sc->cap = need;
    }
    return sc->p;
}

int tm_bpe_run(const tm_bpe *b, const te_vocab *v, const char *word, size_t len, uint32_t base, tm_scratch *scratch,
               tok_emit emit, void *user) {
    int32_t whole = b->ignore_merges ? te_vocab_find(v, "", 0, word, len) : -1;
    if (whole >= 0) return emit(user, &(tok_piece){whole, base, base + (uint32_t)len});
    void *mem = scratch_for(scratch, len);
    if (!mem) return -1;
    sym *s = mem;
    cand *h = (cand *)(s + len);
    size_t nh = 0;
    int32_t first = -1, prev = -1;
    for (size_t i = 0; i < len; i++) { /* a byte without a token is left out, as the reference does without unk */
        uint32_t id = te_le32(b->byte_ids + 4 * (unsigned char)word[i]);
        s[i] = (sym){(int32_t)id, (uint32_t)i, (uint32_t)i + (id != NO_TOKEN), prev, -1};
        if (id == NO_TOKEN) continue;
        if (prev >= 0) s[prev].next = (int32_t)i;
        else first = (int32_t)i;
        prev = (int32_t)i;
    }
    for (int32_t i = first; i >= 0; i = s[i].next) consider(b, s, i, h, &nh);
    while (nh > 0) {
        cand c = heap_pop(h, &nh);
        sym *l = &s[c.left];
        int32_t j = l->next;
        if (l->end == l->start || j < 0 || s[j].end != c.right_end) continue; /* stale: a side changed */
        l->id = c.merged;
        l->end = s[j].end;
        s[j].end = s[j].start; /* merged away */
        l->next = s[j].next;
        if (l->next >= 0) s[l->next].prev = (int32_t)c.left;
        if (l->prev >= 0) consider(b, s, l->prev, h, &nh);
        consider(b, s, (int32_t)c.left, h, &nh);
    }
    for (int32_t i = first; i >= 0; i = s[i].next) {
        tok_piece p = {s[i].id, base + s[i].start, base + s[i].end};
        if (emit(user, &p)) return 1;
    }
    return 0;
}
