/*
 * tok_norm.c - the normalizers of tokenizer.json, each from one tok_text
 * into another with every character's original span (tok.h).
 *
 * The Unicode normalization forms stream: a starter and the non-starters
 * after it are held (at most NF_MAX_MARKS; more are flushed early, as
 * sentencepiece and the BERT tokenizer do), put in canonical order, then
 * composed for NFC and NFKC. BertNormalizer's accent stripping is NFD with
 * the nonspacing marks dropped on the way out.
 */
#include <string.h>

#include "tok.h"
#include "unicode.h"

#define NF_MAX_MARKS 32

typedef struct nf_char {
    uint32_t cp, lo, hi;
    uint8_t ccc;
} nf_char;

/* What leaves a normalization form: the form's own output, or BERT's
 * nonspacing marks dropped and its lowercasing. */
typedef struct nf_state {
    tok_text *out;
    int compose, compat, drop_mn, lower;
    nf_char starter;
    int has_starter, n_marks;
    nf_char marks[NF_MAX_MARKS];
} nf_state;

static void put_lower(tok_text *out, uint32_t cp, uint32_t lo, uint32_t hi, int lower) {
    if (!lower) {
        tt_put(out, cp, lo, hi);
        return;
    }
    uint32_t l[TE_UC_MAX_LOWER];
    int n = te_uc_lowercase(cp, l);
    for (int i = 0; i < n; i++) tt_put(out, l[i], lo, hi);
}

static void nf_emit(nf_state *st, const nf_char *c) {
    if (st->drop_mn && (te_uc_flags(c->cp) & TE_UC_MN)) return;
    put_lower(st->out, c->cp, c->lo, c->hi, st->lower);
}

/* The held marks in canonical order (stable by class) and, for NFC and
 * NFKC, composed into the starter where not blocked (a mark is blocked by
 * a kept one of the same or a higher class). */
static void nf_settle(nf_state *st) {
    for (int i = 1; i < st->n_marks; i++) {
        nf_char c = st->marks[i];
        int j = i;
        for (; j > 0 && st->marks[j - 1].ccc > c.ccc; j--) st->marks[j] = st->marks[j - 1];
        st->marks[j] = c;
    }
    if (!st->compose || !st->has_starter) return;
    int kept = 0, last = 0;
    for (int i = 0; i < st->n_marks; i++) {
        nf_char *m = &st->marks[i];
        uint32_t comp = kept == 0 || last < m->ccc ? te_uc_compose(st->starter.cp, m->cp) : 0;
        if (comp) {
            st->starter.cp = comp;
            st->starter.hi = m->hi > st->starter.hi ? m->hi : st->starter.hi;
        } else {
            st->marks[kept++] = *m;
            last = m->ccc;
        }
    }
    st->n_marks = kept;
}

static void nf_flush(nf_state *st) {
    nf_settle(st);
    if (st->has_starter) nf_emit(st, &st->starter);
    for (int i = 0; i < st->n_marks; i++) nf_emit(st, &st->marks[i]);
    st->has_starter = 0;
    st->n_marks = 0;
}

/* One character after decomposition. */
static void nf_take(nf_state *st, uint32_t cp, uint32_t lo, uint32_t hi) {
    nf_char c = {cp, lo, hi, (uint8_t)te_uc_ccc_of(cp)};
    if (c.ccc == 0) {
        if (st->compose && st->has_starter) { /* a starter composes with one before it when nothing is between */
            nf_settle(st);
            uint32_t comp = st->n_marks == 0 ? te_uc_compose(st->starter.cp, cp) : 0;
            if (comp) {
                st->starter.cp = comp;
                st->starter.hi = hi;
                return;
            }
        }
        nf_flush(st);
        st->starter = c;
        st->has_starter = 1;
        return;
    }
    if (st->n_marks == NF_MAX_MARKS) nf_flush(st);
    st->marks[st->n_marks++] = c;
}

/* NFC, NFD, NFKC or NFKD of in (BERT: NFD, then drop Mn and lowercase). */
static void nf_run(const tok_text *in, tok_text *out, int compose, int compat, int drop_mn, int lower) {
    nf_state st = {out, compose, compat, drop_mn, lower, {0, 0, 0, 0}, 0, 0, {{0, 0, 0, 0}}};
    const unsigned char *s = (const unsigned char *)in->s;
    for (size_t i = 0; i < in->n;) {
        uint32_t cp, lo, hi, d[TE_UC_MAX_KDECOMP];
        size_t len = te_utf8_decode(s + i, in->n - i, &cp);
        tt_span(in, i, i + len, &lo, &hi);
        int n = compat ? te_uc_kdecompose(cp, d) : te_uc_decompose(cp, d);
        for (int k = 0; k < n; k++) nf_take(&st, d[k], lo, hi);
        i += len;
    }
    nf_flush(&st);
}

/* ---- BertNormalizer ---------------------------------------------------------- */

/* The reference's CJK ranges (BertNormalizer::is_chinese_char). */
static int is_cjk(uint32_t c) {
    return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) || (c >= 0x20000 && c <= 0x2A6DF) ||
           (c >= 0x2A700 && c <= 0x2B73F) || (c >= 0x2B740 && c <= 0x2B81F) || (c >= 0x2B920 && c <= 0x2CEAF) ||
           (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x2F800 && c <= 0x2FA1F);
}

/* Clean text (controls and U+FFFD dropped, whitespace to ' ') and CJK
 * spacing, then accents and case. ASCII text takes a one-pass shortcut. */
static void bert(const tn_step *b, const tok_text *in, tok_text *out) {
    const unsigned char *s = (const unsigned char *)in->s;
    size_t i = 0;
    while (i < in->n && s[i] < 0x80) i++;
    int ascii = i == in->n;
    tok_text mid;
    char buf[512];
    tt_init(&mid, buf, sizeof buf, out->spans); /* what the caller wants, whatever the input keeps */
    tok_text *first = ascii || !(b->strip_accents || b->lowercase) ? out : &mid;
    for (i = 0; i < in->n;) {
        uint32_t cp, lo, hi;
        size_t len = te_utf8_decode(s + i, in->n - i, &cp);
        tt_span(in, i, i + len, &lo, &hi);
        i += len;
        unsigned f = te_uc_flags(cp);
        if (b->clean && (cp == 0 || cp == TE_UC_REPLACEMENT || ((f & TE_UC_OTHER) && cp != '\t' && cp != '\n' && cp != '\r')))
            continue;
        if (b->clean && (f & TE_UC_SPACE)) cp = ' ';
        if (ascii && b->lowercase && cp - 'A' < 26u) cp += 'a' - 'A';
        if (b->chinese && is_cjk(cp)) {
            tt_put(first, ' ', lo, hi);
            tt_put(first, cp, lo, hi);
            tt_put(first, ' ', lo, hi);
        } else {
            tt_put(first, cp, lo, hi);
        }
    }
    if (first == &mid) {
        if (b->strip_accents) nf_run(&mid, out, 0, 0, 1, b->lowercase);
        else
            for (size_t k = 0; k < mid.n;) {
                uint32_t cp, lo, hi;
                size_t len = te_utf8_decode((const unsigned char *)mid.s + k, mid.n - k, &cp);
                tt_span(&mid, k, k + len, &lo, &hi);
                put_lower(out, cp, lo, hi, 1);
                k += len;
            }
        if (mid.failed) out->failed = 1;
    }
    tt_free(&mid);
}

/* ---- SentencePiece's Precompiled -------------------------------------------- */

/* The replacement of the shortest charsmap key prefixing s[0..n), or NULL. */
static const char *charsmap_lookup(const tn_charsmap *cm, const unsigned char *s, size_t n, size_t *len) {
    int64_t v = te_darts_first(&cm->trie, s, n);
    if (v < 0 || (size_t)v >= cm->repl_len) return NULL;
    const char *r = cm->repl + v;
    const char *nul = memchr(r, '\0', cm->repl_len - (size_t)v);
    *len = nul ? (size_t)(nul - r) : cm->repl_len - (size_t)v;
    return r;
}

/* As the reference (spm_precompiled): a grapheme cluster of fewer than 6
 * bytes that a key prefixes is replaced whole; otherwise each character is
 * looked up alone. The replacement takes the span of what it replaces. */
static void precompiled(const tn_charsmap *cm, const tok_text *in, tok_text *out) {
    const unsigned char *s = (const unsigned char *)in->s;
    for (size_t i = 0; i < in->n;) {
        size_t g = te_uc_grapheme(s + i, in->n - i), rlen;
        uint32_t lo, hi;
        const char *r = g < 6 ? charsmap_lookup(cm, s + i, g, &rlen) : NULL;
        if (r) {
            tt_span(in, i, i + g, &lo, &hi);
            tt_put_bytes(out, r, rlen, lo, hi);
            i += g;
            continue;
        }
        for (size_t end = i + g; i < end;) {
            uint32_t cp;
            size_t len = te_utf8_decode(s + i, end - i, &cp);
            tt_span(in, i, i + len, &lo, &hi);
            r = charsmap_lookup(cm, s + i, len, &rlen);
            if (r) tt_put_bytes(out, r, rlen, lo, hi);
            else tt_copy(out, in, i, i + len);
            i += len;
        }
    }
}

/* ---- Replace, Strip, Lowercase, Prepend -------------------------------------- */

static int find_literal(const tn_step *r, const tok_text *in, size_t from, size_t *ms, size_t *me) {
    if (r->literal_len == 0) return 0;
    for (size_t i = from; i + r->literal_len <= in->n; i++)
        if (memcmp(in->s + i, r->literal, r->literal_len) == 0) {
            *ms = i;
            *me = i + r->literal_len;
            return 1;
        }
    return 0;
}

/* Every non-overlapping match, left to right, replaced by content; the
 * replacement takes the span of the match. */
static void replace(const tn_step *r, const tok_text *in, tok_text *out) {
    size_t at = 0, ms, me;
    while (at <= in->n && (r->re ? te_regex_search(r->re, in->s, in->n, at, &ms, &me) : find_literal(r, in, at, &ms, &me))) {
        tt_copy(out, in, at, ms);
        uint32_t lo = 0, hi = 0;
        if (me > ms) tt_span(in, ms, me, &lo, &hi);
        else if (ms > 0) tt_span(in, ms - 1, ms, &lo, &hi), lo = hi;
        tt_put_bytes(out, r->content, r->content_len, lo, hi);
        if (me == ms) { /* an empty match: keep the next character and move on */
            size_t next = ms;
            if (next < in->n) do next++; while (next < in->n && ((unsigned char)in->s[next] & 0xC0) == 0x80);
            tt_copy(out, in, ms, next);
            me = next;
        }
        at = me;
        if (at == in->n) break;
    }
    if (at < in->n) tt_copy(out, in, at, in->n);
}

static int is_space_at(const tok_text *t, size_t i, size_t *len) {
    uint32_t cp;
    *len = te_utf8_decode((const unsigned char *)t->s + i, t->n - i, &cp);
    return (te_uc_flags(cp) & TE_UC_SPACE) != 0;
}

static void strip(const tn_step *st, const tok_text *in, tok_text *out, int first, int last) {
    size_t from = 0, to = in->n, len;
    if (st->left && first)
        while (from < to && is_space_at(in, from, &len)) from += len;
    if (st->right && last) {
        size_t end = from;
        for (size_t i = from; i < to; i += len)
            if (!is_space_at(in, i, &len)) end = i + len;
        to = end;
    }
    tt_copy(out, in, from, to);
}

void tn_apply(const tn_step *step, const tn_charsmap *cm, const tok_text *in, tok_text *out, int first, int last) {
    tt_clear(out);
    switch (step->kind) {
    case TN_BERT: bert(step, in, out); return;
    case TN_PRECOMPILED: precompiled(cm, in, out); return;
    case TN_REPLACE: replace(step, in, out); return;
    case TN_STRIP: strip(step, in, out, first, last); return;
    case TN_NFC: nf_run(in, out, 1, 0, 0, 0); return;
    case TN_NFD: nf_run(in, out, 0, 0, 0, 0); return;
    case TN_NFKC: nf_run(in, out, 1, 1, 0, 0); return;
    case TN_NFKD: nf_run(in, out, 0, 1, 0, 0); return;
    case TN_LOWERCASE:
    case TN_STRIP_ACCENTS: /* HF's StripAccents drops every mark (M*), not only Mn, and decomposes nothing */
        for (size_t i = 0; i < in->n;) {
            uint32_t cp, lo, hi;
            size_t len = te_utf8_decode((const unsigned char *)in->s + i, in->n - i, &cp);
            tt_span(in, i, i + len, &lo, &hi);
            if (step->kind == TN_LOWERCASE) put_lower(out, cp, lo, hi, 1);
            else if (!(te_uc_props(cp) & TE_UC_MARK)) tt_put(out, cp, lo, hi);
            i += len;
        }
        return;
    case TN_PREPEND:
        if (first && in->n) { /* the added text covers where it goes: the chunk's start, empty */
            uint32_t lo = 0, hi = 0;
            tt_span(in, 0, 1, &lo, &hi);
            tt_put_bytes(out, step->content, step->content_len, lo, lo);
        }
        tt_copy(out, in, 0, in->n);
        return;
    }
}
