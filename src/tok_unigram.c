/*
 * tok_unigram.c - the Unigram model (tok.h), as Hugging Face `tokenizers`
 * runs it (its encode_optimized, after sentencepiece): the best-scoring
 * segmentation of a word by dynamic programming over its bytes, scores
 * summed in f64, ties kept by the first path found (start positions
 * ascending, pieces shortest first, strictly greater replaces). A
 * character no piece starts with is an unknown piece scored lowest score -
 * 10; runs of unknowns fuse into one token: its id if the vocabulary has
 * the fused string, else its bytes as <0xNN> pieces (byte_fallback), else
 * the unknown id. The trie maps a piece spelled twice to its last id, as
 * the reference's lookup does.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "tok.h"

typedef struct best {
    double score;
    int32_t id;               /* of the piece ending here on the best path */
    int32_t start;            /* where that piece starts; -1: not reached yet */
} best;

typedef struct lattice {
    const tm_unigram *u;
    best *b;
    size_t at;                /* the start position being extended */
    size_t char_len;          /* bytes of the character at `at` */
    int single;               /* a piece covers exactly that character */
} lattice;

static double score_of(const tm_unigram *u, uint32_t id) {
    if (id >= u->n_scores) return u->unk_score; /* a damaged file: the value is bounded, not trusted */
    uint64_t bits = te_le64(u->scores + 8 * (size_t)id);
    double d;
    memcpy(&d, &bits, sizeof d);
    return d;
}

static void relax(best *to, double score, int32_t id, size_t start) {
    if (to->start < 0 || score > to->score) {
        to->score = score;
        to->id = id;
        to->start = (int32_t)start;
    }
}

static int on_piece(void *user, uint32_t value, size_t length) {
    lattice *l = user;
    relax(&l->b[l->at + length], l->b[l->at].score + score_of(l->u, value), (int32_t)value, l->at);
    if (length == l->char_len) l->single = 1;
    return 0;
}

/* Fused unknown bytes: the vocabulary's id for them, their <0xNN> pieces, or unk. */
static int emit_unknown(const tm_unigram *u, const te_vocab *v, const char *w, size_t from, size_t to, uint32_t base,
                        tok_emit emit, void *user) {
    tok_piece p = {te_vocab_find(v, "", 0, w + from, to - from), base + (uint32_t)from, base + (uint32_t)to};
    if (p.id >= 0) return emit(user, &p);
    int all = u->byte_fallback;
    for (size_t i = from; all && i < to; i++) {
        char name[8];
        snprintf(name, sizeof name, "<0x%02X>", (unsigned char)w[i]);
        all = te_vocab_find(v, "", 0, name, 6) >= 0;
    }
    for (size_t i = from; all && i < to; i++) {
        char name[8];
        snprintf(name, sizeof name, "<0x%02X>", (unsigned char)w[i]);
        p.id = te_vocab_find(v, "", 0, name, 6);
        if (emit(user, &p)) return 1;
    }
    if (all) return 0;
    p.id = u->unk_id;
    return emit(user, &p);
}

/* The path back from the end, then forward, fusing runs of unknowns. */
static int emit_path(const tm_unigram *u, const te_vocab *v, const best *b, uint32_t *ends, const char *w, size_t len,
                     uint32_t base, tok_emit emit, void *user) {
    size_t n = 0;
    for (size_t e = len; e > 0; e = (size_t)b[e].start) ends[n++] = (uint32_t)e;
    for (size_t k = n; k-- > 0;) {
        size_t end = ends[k], start = (size_t)b[end].start;
        if (b[end].id == u->unk_id) {
            while (k > 0 && b[ends[k - 1]].id == u->unk_id) end = ends[--k];
            if (emit_unknown(u, v, w, start, end, base, emit, user)) return 1;
            continue;
        }
        tok_piece p = {b[end].id, base + (uint32_t)start, base + (uint32_t)end};
        if (emit(user, &p)) return 1;
    }
    return 0;
}

int tm_unigram_run(const tm_unigram *u, const te_vocab *v, const char *word, size_t len, uint32_t base,
                   tm_scratch *scratch, tok_emit emit, void *user) {
    size_t need = (len + 1) * (sizeof(best) + sizeof(uint32_t));
    void *mem = need <= sizeof scratch->stack ? (void *)scratch->stack : scratch->p;
    if (need > sizeof scratch->stack && need > scratch->cap) {
        void *p = realloc(scratch->p, need);
        if (!p) {
            tok_piece whole = {u->unk_id, base, base + (uint32_t)len};
            return emit(user, &whole); /* no memory: the word as one unknown, rather than nothing */
        }
        scratch->p = mem = p;
        scratch->cap = need;
    }
    best *b = mem;
    for (size_t i = 0; i <= len; i++) b[i] = (best){0.0, -1, -1};
    b[0].start = 0;
    lattice l = {u, b, 0, 0, 0};
    while (l.at < len) {
        l.char_len = 1;
        while (l.at + l.char_len < len && ((unsigned char)word[l.at + l.char_len] & 0xC0) == 0x80) l.char_len++;
        l.single = 0;
        te_darts_prefixes(&u->trie, (const uint8_t *)word + l.at, len - l.at, on_piece, &l);
        if (!l.single) relax(&b[l.at + l.char_len], b[l.at].score + u->unk_score, u->unk_id, l.at);
        l.at += l.char_len;
    }
    return emit_path(u, v, b, (uint32_t *)(b + len + 1), word, len, base, emit, user);
}
