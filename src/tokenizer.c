/*
 * tokenizer.c - te_tokenize and friends: one pipeline for every tokenizer
 * (tok.h), as Hugging Face `tokenizers` runs it:
 *
 *   1. added tokens ([CLS], <mask>, ...) are found in the raw text, leftmost
 *      longest, with their lstrip / rstrip / single_word rules; the text
 *      between them is processed piece by piece;
 *   2. each piece goes through the normalizers, then (for added tokens
 *      flagged "normalized") is split again on the normalized text;
 *   3. the pre-tokenizers cut it into words, the model cuts the words into
 *      tokens; every token keeps the span of the original bytes it came from;
 *   4. the post-processor's template frames the ids; truncation cuts them.
 *
 * Invalid UTF-8 becomes U+FFFD per maximal ill-formed subpart before any of
 * it. A long piece is cut, where the pipeline allows (tok_pipeline.c decides),
 * before a space between two ASCII letters or digits: no stage looks across
 * such a point, so the pieces tokenize as the whole would, and tokenizing
 * stops as soon as the ids asked for are there. Ordinary sentences need no
 * allocation: the buffers start on the stack.
 */
#include "tokenizer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "loader.h"
#include "unicode.h"

#define CHUNK 512        /* raw bytes normalized at a time, when the pipeline can be cut */
#define STACK_TEXT 1024  /* bytes of each text buffer kept on the stack */

typedef enum tok_mode { TOK_IDS, TOK_NORMALIZED, TOK_WORDS, TOK_TERMS } tok_mode;

typedef struct tok_run {
    const te_model *m;
    const tok_pipeline *p;
    tok_mode mode;
    int spans;                /* keep original spans (te_tokenize_spans) */
    /* TOK_IDS: ids (and spans) out */
    int32_t *ids;
    te_span *span;
    size_t n_ids, cap_ids, n_total;
    int count_all, full;
    /* test modes: text out, or terms to a callback */
    char *text;
    size_t text_len, text_cap;
    te_term_fn on_term;
    void *term_user;
    /* buffers: t[0], t[1] for the normalizers, t[2], t[3] for the pre-tokenizers */
    tok_text t[4];
    tok_words w[2];
    tm_scratch scratch;
    char stack[4][STACK_TEXT];
    int failed;
} tok_run;

static void put_text(tok_run *r, const char *s, size_t n) {
    if (n > r->text_cap - r->text_len) n = r->text_cap - r->text_len;
    memcpy(r->text + r->text_len, s, n);
    r->text_len += n;
}

/* One id out (with its span); returns nonzero when no more are wanted. */
static int emit_id(tok_run *r, int32_t id, uint32_t lo, uint32_t hi) {
    if (r->mode == TOK_WORDS) {
        char buf[24];
        int n = snprintf(buf, sizeof buf, "<%d>\n", (int)id);
        put_text(r, buf, (size_t)n);
        return 0;
    }
    if (r->mode != TOK_IDS) return 0; /* added tokens are not normalizer output */
    r->n_total++;
    if (r->n_ids < r->cap_ids) {
        if (r->span) r->span[r->n_ids] = (te_span){lo, hi};
        r->ids[r->n_ids++] = id;
        return 0;
    }
    if (!r->count_all) r->full = 1;
    return r->full;
}

typedef struct piece_sink {
    tok_run *r;
    const tok_text *t;        /* the text the word's bytes are in */
} piece_sink;

static int on_piece(void *user, const tok_piece *p) {
    piece_sink *ps = user;
    uint32_t lo = 0, hi = 0;
    if (p->end > p->start) tt_span(ps->t, p->start, p->end, &lo, &hi);
    return emit_id(ps->r, p->id, lo, hi);
}

/* The model on each word of t. */
static void run_model(tok_run *r, const tok_text *t, const tok_words *w) {
    const te_model *m = r->m;
    const te_tokenizer_info *ti = &m->info.tokenizer;
    piece_sink ps = {r, t};
    for (size_t k = 0; k < w->n && !r->full; k++) {
        const char *word = t->s + w->w[k][0];
        size_t len = w->w[k][1] - w->w[k][0];
        if (r->mode == TOK_WORDS) {
            put_text(r, word, len);
            put_text(r, "\n", 1);
        } else if (r->mode == TOK_TERMS) {
            uint32_t cp;
            size_t n = te_utf8_decode((const unsigned char *)word, len, &cp);
            if (n != len || !(te_uc_flags(cp) & TE_UC_PUNCT)) r->on_term(r->term_user, word, len);
        } else if (r->p->model == TM_UNIGRAM) {
            tm_unigram_run(&r->p->unigram, &m->vocab, word, len, w->w[k][0], &r->scratch, on_piece, &ps);
        } else if (r->p->model == TM_BPE) {
            r->failed |= tm_bpe_run(&r->p->bpe, &m->vocab, word, len, w->w[k][0], &r->scratch, on_piece, &ps) < 0;
        } else {
            tm_wordpiece(&m->vocab, ti->subword_prefix, strlen(ti->subword_prefix), ti->unk_id,
                         (size_t)ti->max_chars_per_word, word, len, w->w[k][0], on_piece, &ps);
        }
    }
}

/* Pre-tokenizers then the model, on bytes [from, to) of the normalized text. */
static void run_words(tok_run *r, const tok_text *norm, size_t from, size_t to, int first) {
    tok_words *in = &r->w[0], *out = &r->w[1];
    const tok_text *t = norm;
    in->n = 0;
    if (to > from) tw_add(in, from, to);
    for (int i = 0; i < r->p->n_pre; i++) {
        tok_text *next = &r->t[2 + i % 2];
        tp_apply(&r->p->pre[i], t, in, next, out, first);
        t = next;
        tok_words *x = in;
        in = out;
        out = x;
    }
    for (int i = 0; i < 4; i++) r->failed |= r->t[i].failed;
    r->failed |= in->failed | out->failed;
    run_model(r, t, in);
}

/* The longest added token at s[at..n) whose "normalized" flag is `normalized`. */
static const te_added_token *added_at(const te_model *m, const char *s, size_t at, size_t n, int normalized) {
    const te_added_token *best = NULL;
    for (int i = 0; i < m->info.tokenizer.n_added_tokens; i++) {
        const te_added_token *a = &m->added[i];
        if (((a->flags & TEMB_ADDED_NORMALIZED) != 0) == normalized && a->len <= n - at &&
            (!best || a->len > best->len) && memcmp(s + at, a->text, a->len) == 0)
            best = a;
    }
    return best;
}

static int is_word_char(const char *s, size_t at, size_t n, int before) {
    if (before ? at == 0 : at >= n) return 0;
    size_t i = at;
    if (before) {
        i--;
        while (i > 0 && at - i < 4 && ((unsigned char)s[i] & 0xC0) == 0x80) i--;
    }
    uint32_t cp;
    te_utf8_decode((const unsigned char *)s + i, (before ? at : n) - i, &cp);
    return (te_uc_flags(cp) & TE_UC_WORD) != 0;
}

static size_t space_len(const char *s, size_t at, size_t n) {
    uint32_t cp;
    size_t len = te_utf8_decode((const unsigned char *)s + at, n - at, &cp);
    return te_uc_flags(cp) & TE_UC_SPACE ? len : 0;
}

/* The next added token in s[from, n): its match [*ms, *me), lstrip and
 * rstrip whitespace included (not before `floor`), or NULL. A single_word
 * token inside a word is skipped, its bytes left to the text. */
static const te_added_token *next_added(const te_model *m, const char *s, size_t from, size_t n, size_t floor,
                                        int normalized, size_t *ms, size_t *me) {
    for (size_t i = from; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (!(m->added_first[c >> 3] & (1u << (c & 7)))) continue;
        const te_added_token *a = added_at(m, s, i, n, normalized);
        if (!a) continue;
        if ((a->flags & TEMB_ADDED_SINGLE_WORD) && (is_word_char(s, i, n, 1) || is_word_char(s, i + a->len, n, 0))) {
            i += a->len - 1;
            continue;
        }
        *ms = i;
        *me = i + a->len;
        if (a->flags & TEMB_ADDED_LSTRIP)
            while (*ms > floor) {
                size_t k = *ms - 1;
                while (k > floor && ((unsigned char)s[k] & 0xC0) == 0x80) k--;
                if (!space_len(s, k, *ms)) break;
                *ms = k;
            }
        if (a->flags & TEMB_ADDED_RSTRIP)
            for (size_t l; *me < n && (l = space_len(s, *me, n)) > 0;) *me += l;
        return a;
    }
    return NULL;
}

/* A normalized text: split on normalized added tokens, then words. */
static void run_normalized(tok_run *r, const tok_text *t, int first) {
    if (r->mode == TOK_NORMALIZED) {
        put_text(r, t->s, t->n);
        return;
    }
    size_t at = 0, ms, me;
    for (const te_added_token *a; !r->full && (a = next_added(r->m, t->s, at, t->n, at, 1, &ms, &me));) {
        run_words(r, t, at, ms, first && at == 0);
        uint32_t lo, hi;
        tt_span(t, ms, me, &lo, &hi);
        if (!r->full) emit_id(r, (int32_t)a->id, lo, hi);
        at = me;
    }
    if (!r->full) run_words(r, t, at, t->n, first && at == 0);
}

static int ascii_alnum(char c) {
    unsigned u = (unsigned char)c;
    return (u | 0x20) - 'a' < 26u || u - '0' < 10u;
}

/* Where to cut s[from, to) before `limit`: a space between two ASCII letters
 * or digits, the last one before the limit; `to` when there is none. */
static size_t cut_point(const char *s, size_t from, size_t to, size_t limit) {
    for (size_t i = limit; i > from + 1; i--)
        if (i + 1 < to && s[i] == ' ' && ascii_alnum(s[i - 1]) && ascii_alnum(s[i + 1])) return i;
    return to;
}

/* Raw text between added tokens, [from, to) of the input (`in`, whose
 * spans are the original's). */
static void run_segment(tok_run *r, const tok_text *in, size_t from, size_t to, int first_of_input) {
    size_t at = from;
    while (at < to && !r->full) {
        size_t end = to;
        if (r->p->chunkable && to - at > CHUNK) end = cut_point(in->s, at, to, at + CHUNK);
        tok_text view = *in;
        view.s += at;
        view.n = end - at;
        if (view.spans) view.lo += at, view.hi += at;
        else view.origin += (uint32_t)at;
        const tok_text *src = &view;
        for (int i = 0; i < r->p->n_norm; i++) {
            tn_apply(&r->p->norm[i], &r->p->charsmap, src, &r->t[i % 2], at == from, end == to);
            src = &r->t[i % 2];
        }
        run_normalized(r, src, first_of_input && at == from);
        at = end;
    }
}

/* The input as valid UTF-8: itself, or a copy in `fixed` with U+FFFD for
 * each ill-formed subpart, spans pointing at the original bytes. */
static const tok_text *valid_input(tok_run *r, const char *text, size_t len, tok_text *view, tok_text *fixed) {
    tt_init(view, NULL, 0, 0);
    view->s = (char *)text;
    view->n = len;
    size_t i = 0;
    while (i < len) {
        uint32_t cp;
        size_t n = te_utf8_decode((const unsigned char *)text + i, len - i, &cp);
        if (cp == TE_UC_REPLACEMENT && !(n == 3 && memcmp(text + i, "\xef\xbf\xbd", 3) == 0)) break;
        i += n;
    }
    if (i == len) return view;
    for (i = 0; i < len;) {
        uint32_t cp;
        size_t n = te_utf8_decode((const unsigned char *)text + i, len - i, &cp);
        if (cp == TE_UC_REPLACEMENT) tt_put(fixed, cp, (uint32_t)i, (uint32_t)(i + n));
        else tt_put_bytes(fixed, text + i, n, (uint32_t)i, (uint32_t)(i + n));
        i += n;
    }
    r->failed |= fixed->failed;
    return fixed;
}

static void run_text(tok_run *r, const char *text, size_t len) {
    tok_text view, fixed;
    tt_init(&fixed, NULL, 0, 1);
    const tok_text *in = valid_input(r, text, len, &view, &fixed);
    size_t at = 0, ms, me;
    for (const te_added_token *a; !r->full && (a = next_added(r->m, in->s, at, in->n, at, 0, &ms, &me));) {
        run_segment(r, in, at, ms, at == 0);
        uint32_t lo, hi;
        tt_span(in, ms, me, &lo, &hi);
        if (!r->full) emit_id(r, (int32_t)a->id, lo, hi);
        at = me;
    }
    if (!r->full) run_segment(r, in, at, in->n, at == 0);
    tt_free(&fixed);
}

static void run_init(tok_run *r, const te_model *m, const tok_pipeline *p, tok_mode mode, int spans) {
    if (m) te_loader_want_vocab(m);
    memset(r, 0, sizeof *r);
    r->m = m;
    r->p = p;
    r->mode = mode;
    r->spans = spans;
    for (int i = 0; i < 4; i++) tt_init(&r->t[i], r->stack[i], STACK_TEXT, spans);
    for (int i = 0; i < 2; i++) tw_init(&r->w[i]);
}

static te_status run_free(tok_run *r, te_error *err) {
    for (int i = 0; i < 4; i++) tt_free(&r->t[i]);
    for (int i = 0; i < 2; i++) tw_free(&r->w[i]);
    free(r->scratch.p);
    return r->failed ? te_fail(err, TE_ERR_NOMEM, "out of memory tokenizing") : TE_OK;
}

/* The ids of one text, no special tokens: at most cap into ids (and spans);
 * *total gets how many the whole text has (count_all) or cap + 1 when it
 * has more than cap (tokenizing stops there). */
static te_status tok_plain(const te_model *m, const char *text, size_t len, int32_t *ids, te_span *spans, size_t cap,
                           int count_all, size_t *n, size_t *total, te_error *err) {
    tok_run r;
    run_init(&r, m, &m->tok, TOK_IDS, spans != NULL);
    r.ids = ids;
    r.span = spans;
    r.cap_ids = cap;
    r.count_all = count_all;
    if (len) run_text(&r, text, len);
    *n = r.n_ids;
    *total = r.n_total;
    return run_free(&r, err);
}

/* HF tokenizers' LongestFirst for a pair of la + lb ids into room m: the
 * shorter side is kept whole if the longer can take the rest; otherwise
 * the shorter gets m / 2 and the longer the remainder. */
static void longest_first(size_t la, size_t lb, size_t m, size_t *ka, size_t *kb) {
    if (la + lb <= m) {
        *ka = la;
        *kb = lb;
        return;
    }
    int swap = la > lb;
    size_t n1 = swap ? lb : la, n2;
    n2 = n1 > m ? n1 : (n1 > m - n1 ? n1 : m - n1);
    if (n1 + n2 > m) {
        n1 = m / 2;
        n2 = n1 + m % 2;
    }
    *ka = swap ? n2 : n1;
    *kb = swap ? n1 : n2;
    if (*ka > la) *ka = la;
    if (*kb > lb) *kb = lb;
}

/* The template's items laid out around A's ka ids (at ia, which may sit
 * inside ids further right) and B's kb (in tmp). */
static size_t lay_out(const te_tmpl_item *items, int n_items, int32_t *ids, uint8_t *types, te_span *spans,
                      const int32_t *ia, const te_span *sa, size_t ka, const int32_t *ib, const te_span *sb, size_t kb) {
    size_t n = 0;
    for (int i = 0; i < n_items; i++) {
        const te_tmpl_item *it = &items[i];
        size_t k = it->what == TE_TMPL_A ? ka : it->what == TE_TMPL_B ? kb : 1;
        if (it->what == TE_TMPL_A) {
            memmove(ids + n, ia, ka * sizeof *ids);
            if (spans) memmove(spans + n, sa, ka * sizeof *spans);
        } else if (it->what == TE_TMPL_B) {
            memcpy(ids + n, ib, kb * sizeof *ids);
            if (spans) memcpy(spans + n, sb, kb * sizeof *spans);
        } else {
            ids[n] = it->id;
            if (spans) spans[n] = (te_span){TE_SPAN_NONE, TE_SPAN_NONE};
        }
        if (types) memset(types + n, it->type, k);
        n += k;
    }
    return n;
}

te_status te_tok_encode_ex(const te_model *m, const char *a, size_t alen, const char *b, size_t blen, int32_t *ids,
                           uint8_t *types, te_span *spans, int32_t *tmp, te_span *tmp_spans, size_t max_ids,
                           size_t *n_ids, int *truncated, int add_special, te_error *err) {
    const te_template *t = &m->tmpl;
    const te_tmpl_item *items = b ? t->pair : t->single;
    int n_items = b ? t->n_pair : t->n_single;
    static const te_tmpl_item bare[] = {{TE_TMPL_A, 0, 0}, {TE_TMPL_B, 1, 0}};
    if (!add_special) items = bare, n_items = b ? 2 : 1;
    size_t specials = 0;
    for (int i = 0; i < n_items; i++) specials += items[i].what == TE_TMPL_SPECIAL;
    if (max_ids < specials)
        return te_fail(err, TE_ERR_ARG, "max_ids must be at least %zu (for the special tokens, e.g. [CLS] and [SEP])", specials);
    size_t room = max_ids - specials, na = 0, la = 0, nb = 0, lb = 0;
    int32_t *ia = ids + max_ids - room; /* A is read into the tail, then moved into place */
    te_span *sa = spans ? spans + max_ids - room : NULL;
    te_status st = tok_plain(m, a, alen, ia, sa, room, b != NULL, &na, &la, err);
    if (st == TE_OK && b) st = tok_plain(m, b, blen, tmp, tmp_spans, room, 1, &nb, &lb, err);
    if (st != TE_OK) return st;
    size_t ka = na, kb = nb;
    if (b) longest_first(la, lb, room, &ka, &kb);
    *truncated = b ? (ka < la || kb < lb) : la > na;
    *n_ids = lay_out(items, n_items, ids, types, spans, ia, sa, ka, tmp, tmp_spans, kb);
    return TE_OK;
}

te_status te_tok_encode(const te_model *m, const char *a, size_t alen, const char *b, size_t blen, int32_t *ids,
                        uint8_t *types, int32_t *tmp, size_t max_ids, size_t *n_ids, int *truncated, te_error *err) {
    return te_tok_encode_ex(m, a, alen, b, blen, ids, types, NULL, tmp, NULL, max_ids, n_ids, truncated, 1, err);
}

te_status te_tokenize(const te_model *m, const char *text, size_t len, int32_t *ids, size_t max_ids,
                      size_t *n_ids, te_error *err) {
    if (!m || !ids || !n_ids || (!text && len)) return te_fail(err, TE_ERR_ARG, "te_tokenize: NULL argument");
    int truncated;
    return te_tok_encode(m, text, len, NULL, 0, ids, NULL, NULL, max_ids, n_ids, &truncated, err);
}

te_status te_tokenize_pair(const te_model *m, const char *a, size_t alen, const char *b, size_t blen, int32_t *ids,
                           uint8_t *type_ids, size_t max_ids, size_t *n_ids, int *truncated, te_error *err) {
    if (!m || !ids || !n_ids || (!a && alen) || (!b && blen)) return te_fail(err, TE_ERR_ARG, "te_tokenize_pair: NULL argument");
    int32_t *tmp = b ? malloc((max_ids ? max_ids : 1) * sizeof *tmp) : NULL;
    if (b && !tmp) return te_fail(err, TE_ERR_NOMEM, "out of memory");
    int cut = 0;
    te_status st = te_tok_encode(m, a ? a : "", alen, b, blen, ids, type_ids, tmp, max_ids, n_ids, &cut, err);
    if (truncated) *truncated = cut;
    free(tmp);
    return st;
}

te_status te_tokenize_spans(const te_model *m, const char *text, size_t len, int add_special, int32_t *ids,
                            te_span *spans, size_t max_ids, size_t *n_ids, int *truncated, te_error *err) {
    if (!m || !ids || !spans || !n_ids || (!text && len))
        return te_fail(err, TE_ERR_ARG, "te_tokenize_spans: NULL argument");
    int cut = 0;
    te_status st = te_tok_encode_ex(m, text ? text : "", len, NULL, 0, ids, NULL, spans, NULL, NULL, max_ids, n_ids, &cut,
                                    add_special, err);
    if (truncated) *truncated = cut;
    return st;
}

static size_t run_stage(const te_model *m, tok_mode mode, const char *text, size_t len, char *out, size_t cap) {
    tok_run r;
    run_init(&r, m, &m->tok, mode, 0);
    r.text = out;
    r.text_cap = cap;
    run_text(&r, text, len);
    run_free(&r, NULL);
    return r.text_len;
}

size_t te_tok_normalize(const te_model *m, const char *text, size_t len, char *out, size_t cap) {
    return run_stage(m, TOK_NORMALIZED, text, len, out, cap);
}

size_t te_tok_words(const te_model *m, const char *text, size_t len, char *out, size_t cap) {
    return run_stage(m, TOK_WORDS, text, len, out, cap);
}

/* BM25 terms: BERT's normalizer with every option on and its pre-tokenizer. */
static const tok_pipeline terms_pipeline = {
    .norm = {{.kind = TN_BERT, .clean = 1, .chinese = 1, .strip_accents = 1, .lowercase = 1}},
    .n_norm = 1,
    .pre = {{.kind = TP_BERT}},
    .n_pre = 1,
    .chunkable = 1,
};

typedef struct term_cut {
    te_term_fn fn;
    void *user;
} term_cut;

/* A term longer than TE_TERM_MAX_CHARS characters is cut there. */
static void cut_term(void *user, const char *word, size_t len) {
    const term_cut *tc = user;
    size_t chars = 0, i = 0;
    for (; i < len; i++)
        if (((unsigned char)word[i] & 0xC0) != 0x80 && chars++ == TE_TERM_MAX_CHARS) break;
    tc->fn(tc->user, word, i);
}

void te_tok_terms(const char *text, size_t len, te_term_fn fn, void *user) {
    static const te_model no_model; /* no added tokens */
    tok_run r;
    term_cut tc = {fn, user};
    run_init(&r, NULL, &terms_pipeline, TOK_TERMS, 0);
    r.m = &no_model;
    r.on_term = cut_term;
    r.term_user = &tc;
    run_text(&r, text, len);
    run_free(&r, NULL);
}

static int collect(void *user, const tok_piece *p) {
    tok_run *r = user;
    return emit_id(r, p->id, p->start, p->end);
}

size_t te_tok_wordpiece(const te_model *m, const char *word, size_t len, int32_t *ids, size_t cap) {
    tok_run r;
    const te_tokenizer_info *ti = &m->info.tokenizer;
    run_init(&r, m, &m->tok, TOK_IDS, 0);
    r.ids = ids;
    r.cap_ids = cap;
    tm_wordpiece(&m->vocab, ti->subword_prefix, strlen(ti->subword_prefix), ti->unk_id, (size_t)ti->max_chars_per_word,
                 word, len, 0, collect, &r);
    run_free(&r, NULL);
    return r.n_ids;
}

const char *te_token_text(const te_model *m, int32_t id, size_t *len) {
    if (id < 0) return NULL;
    if ((uint32_t)id < m->vocab.n) return te_vocab_token(&m->vocab, (uint32_t)id, len);
    for (int i = 0; i < m->info.tokenizer.n_added_tokens; i++) /* an added token past the vocabulary (Qwen3's) */
        if ((int32_t)m->added[i].id == id) {
            *len = m->added[i].len;
            return m->added[i].text;
        }
    return NULL;
}
