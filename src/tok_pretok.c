/*
 * tok_pretok.c - the pre-tokenizers of tokenizer.json: each splits every
 * word of a text into smaller ones, Metaspace also rewriting them (tok.h).
 * ByteLevel is a Split by GPT-2's pattern (or nothing): its byte-to-
 * character mapping is undone in the vocabulary instead (tok_bpe.c).
 */
#include <stdlib.h>
#include <string.h>

#include "tok.h"
#include "unicode.h"

void tw_init(tok_words *w) {
    memset(w, 0, sizeof *w);
    w->w = w->stack;
    w->cap = sizeof w->stack / sizeof w->stack[0];
}

void tw_free(tok_words *w) {
    if (w->w != w->stack) free(w->w);
    tw_init(w);
}

void tw_add(tok_words *w, size_t start, size_t end) {
    if (w->n == w->cap) {
        size_t cap = w->cap * 2;
        uint32_t(*p)[2] = w->w == w->stack ? malloc(cap * sizeof *p) : realloc(w->w, cap * sizeof *p);
        if (!p) {
            w->failed = 1;
            return;
        }
        if (w->w == w->stack) memcpy(p, w->stack, sizeof w->stack);
        w->w = p;
        w->cap = cap;
    }
    w->w[w->n][0] = (uint32_t)start;
    w->w[w->n++][1] = (uint32_t)end;
}

/* BertPreTokenizer: whitespace splits (and goes), punctuation stands alone;
 * WhitespaceSplit: whitespace only. The text itself is unchanged. */
static void split_spaces(const tok_text *in, size_t from, size_t to, int punct, tok_words *out) {
    const unsigned char *s = (const unsigned char *)in->s;
    size_t start = from;
    for (size_t i = from; i < to;) {
        uint32_t cp;
        size_t len = te_utf8_decode(s + i, to - i, &cp);
        unsigned f = te_uc_flags(cp);
        if (f & TE_UC_SPACE) {
            if (i > start) tw_add(out, start, i);
            start = i + len;
        } else if (punct && (f & TE_UC_PUNCT)) {
            if (i > start) tw_add(out, start, i);
            tw_add(out, i, i + len);
            start = i + len;
        }
        i += len;
    }
    if (to > start) tw_add(out, start, to);
}

/* Metaspace: ' ' becomes the replacement, which is prepended to a word not
 * starting with it (every word, or the input's first), and, with split,
 * each replacement starts a new word (merged with what follows it). */
static void metaspace(const tp_step *m, const tok_text *in, size_t from, size_t to, tok_text *out, tok_words *ow,
                      int first) {
    size_t word = out->n;
    int starts_with = to - from >= m->replacement_len && memcmp(in->s + from, m->replacement, m->replacement_len) == 0;
    starts_with |= to > from && in->s[from] == ' ';
    int prepend = m->prepend_scheme == TP_PREPEND_ALWAYS || (m->prepend_scheme == TP_PREPEND_FIRST && first && from == 0);
    if (prepend && !starts_with && to > from) {
        uint32_t lo, hi;
        tt_span(in, from, from + 1, &lo, &hi);
        tt_put_bytes(out, m->replacement, m->replacement_len, lo, lo);
    }
    for (size_t i = from; i < to; i++) {
        int is_rep = in->s[i] == ' ' ||
                     (to - i >= m->replacement_len && memcmp(in->s + i, m->replacement, m->replacement_len) == 0);
        if (is_rep && m->split && out->n > word) {
            tw_add(ow, word, out->n);
            word = out->n;
        }
        if (in->s[i] == ' ') {
            uint32_t lo, hi;
            tt_span(in, i, i + 1, &lo, &hi);
            tt_put_bytes(out, m->replacement, m->replacement_len, lo, hi);
        } else if (is_rep) {
            tt_copy(out, in, i, i + m->replacement_len);
            i += m->replacement_len - 1;
        } else {
            tt_copy(out, in, i, i + 1);
        }
    }
    if (out->n > word) tw_add(ow, word, out->n);
}

/* Split by a pattern (Isolated or Removed): every match is a word of its own, or is dropped; each gap
 * between matches stays a word. Lookarounds see the word's own ends, as the reference's do. */
static void split_regex(const tp_step *st, const tok_text *in, size_t from, size_t to, tok_words *out) {
    const char *s = in->s + from;
    size_t n = to - from, at = 0, pos = 0, ms, me;
    while (pos <= n && te_regex_search(st->re, s, n, pos, &ms, &me)) {
        if (me == ms) { /* an empty match splits nothing */
            uint32_t cp;
            pos = ms + (ms < n ? te_utf8_decode((const unsigned char *)s + ms, n - ms, &cp) : 1);
            continue;
        }
        if (ms > at) tw_add(out, from + at, from + ms);
        if (!st->remove) tw_add(out, from + ms, from + me);
        at = pos = me;
    }
    if (n > at) tw_add(out, from + at, to);
}

void tp_apply(const tp_step *step, const tok_text *in, const tok_words *in_words, tok_text *out,
              tok_words *out_words, int first) {
    tt_clear(out);
    out_words->n = 0;
    if (step->kind != TP_METASPACE) tt_copy(out, in, 0, in->n);
    for (size_t k = 0; k < in_words->n; k++) {
        size_t from = in_words->w[k][0], to = in_words->w[k][1];
        if (step->kind == TP_METASPACE) metaspace(step, in, from, to, out, out_words, first);
        else if (step->kind == TP_SPLIT) split_regex(step, in, from, to, out_words);
        else split_spaces(in, from, to, step->kind == TP_BERT, out_words);
    }
}
