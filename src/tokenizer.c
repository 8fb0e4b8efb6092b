/*
 * tokenizer.c - BERT WordPiece tokenization identical to Hugging Face
 * `tokenizers` (added-token split + BertNormalizer + BertPreTokenizer +
 * WordPiece + the [CLS] ... [SEP] template with truncation).
 *
 * One streaming pass, one word at a time, with no allocation for ordinary
 * models: every normalization step of the reference is a per-character map
 * (clean text, CJK spacing, NFD + drop Mn, lowercase), so characters flow
 * through the stages as they are decoded and only the current word is
 * buffered. The one cross-character step, NFD's canonical reordering, is
 * done on a small buffer of pending combining marks. Tokenization stops as
 * soon as the truncation length is reached.
 *
 * Input is bytes: invalid UTF-8 decodes to U+FFFD per maximal ill-formed
 * subpart, which clean-text then drops (as for U+FFFD in valid text).
 */
#include "tokenizer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "loader.h"
#include "unicode.h"

#define TOK_MAX_PENDING 32   /* kept combining marks awaiting reordering */
#define TOK_STACK_CHARS 256  /* models with longer max words allocate their word buffer */

typedef enum tok_mode { TOK_IDS, TOK_NORMALIZED, TOK_WORDS, TOK_TERMS } tok_mode;

typedef struct tok_run {
    const te_model *m;
    tok_mode mode;
    int lowercase, strip_accents, chinese, clean;
    size_t max_chars;
    const char *prefix;
    size_t prefix_len;
    /* Canonical reordering: kept non-starters since the last starter. */
    uint32_t pend[TOK_MAX_PENDING];
    uint8_t pend_ccc[TOK_MAX_PENDING];
    int n_pend;
    /* The current word (normalized, UTF-8): at most max_chars characters are
     * stored; word_chars counts all of them. */
    char *word;
    size_t word_len, word_chars;
    int32_t *pieces;  /* one word's ids, max_chars entries */
    /* Output: ids (TOK_IDS) or text (the test modes). */
    int32_t *ids;
    size_t n_ids, cap_ids;
    size_t n_total;   /* ids produced, stored or not */
    int count_all;    /* keep counting past cap_ids (pairs need both full lengths) */
    char *text;
    size_t text_len, text_cap;
    int full;         /* an id did not fit: stop reading (unless count_all) */
    te_term_fn on_term; /* TOK_TERMS: gets each word that is not punctuation */
    void *term_user;
} tok_run;

/* The reference's CJK ranges (BertNormalizer::is_chinese_char). */
static int is_cjk(uint32_t c) {
    return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) || (c >= 0x20000 && c <= 0x2A6DF) ||
           (c >= 0x2A700 && c <= 0x2B73F) || (c >= 0x2B740 && c <= 0x2B81F) || (c >= 0x2B920 && c <= 0x2CEAF) ||
           (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x2F800 && c <= 0x2FA1F);
}

static void put_text(tok_run *r, const char *s, size_t n) {
    if (n > r->text_cap - r->text_len) n = r->text_cap - r->text_len;
    memcpy(r->text + r->text_len, s, n);
    r->text_len += n;
}

static void emit_id(tok_run *r, int32_t id) {
    switch (r->mode) {
    case TOK_NORMALIZED:
    case TOK_TERMS:
        return; /* added tokens are not normalizer output */
    case TOK_WORDS: {
        char buf[24];
        int n = snprintf(buf, sizeof buf, "<%d>\n", (int)id);
        put_text(r, buf, (size_t)n);
        return;
    }
    case TOK_IDS:
        r->n_total++;
        if (r->n_ids < r->cap_ids) r->ids[r->n_ids++] = id;
        else if (!r->count_all) r->full = 1;
        return;
    }
}

/* Greedy longest-match-first WordPiece over the current word. A word with an
 * unmatched piece, or longer than max_chars, is one [UNK]. */
static void wordpiece(tok_run *r) {
    const te_vocab *v = &r->m->vocab;
    int32_t unk = r->m->info.tokenizer.unk_id;
    if (r->word_chars > r->max_chars) {
        emit_id(r, unk);
        return;
    }
    const char *w = r->word;
    size_t len = r->word_len, start = 0, np = 0;
    while (start < len) {
        size_t plen = start ? r->prefix_len : 0, end = len;
        /* Nothing longer than the longest token can match. */
        if (end - start + plen > v->max_len) {
            end = v->max_len > plen ? start + v->max_len - plen : start;
            while (end > start && ((unsigned char)w[end] & 0xC0) == 0x80) end--;
        }
        int32_t id = -1;
        while (end > start) {
            id = te_vocab_find(v, r->prefix, plen, w + start, end - start);
            if (id >= 0) break;
            do end--; while (end > start && ((unsigned char)w[end] & 0xC0) == 0x80);
        }
        if (id < 0) {
            emit_id(r, unk);
            return;
        }
        r->pieces[np++] = id;
        start = end;
    }
    for (size_t i = 0; i < np && !r->full; i++) emit_id(r, r->pieces[i]);
}

static void word_end(tok_run *r) {
    if (r->word_chars == 0) return;
    if (r->mode == TOK_WORDS) {
        put_text(r, r->word, r->word_len);
        if (r->word_chars > r->max_chars) put_text(r, "...", 3);
        put_text(r, "\n", 1);
    } else if (r->mode == TOK_TERMS) {
        uint32_t cp;
        size_t n = te_utf8_decode((const unsigned char *)r->word, r->word_len, &cp);
        if (n != r->word_len || !(te_uc_flags(cp) & TE_UC_PUNCT)) r->on_term(r->term_user, r->word, r->word_len);
    } else {
        wordpiece(r);
    }
    r->word_len = 0;
    r->word_chars = 0;
}

static void word_add(tok_run *r, uint32_t cp) {
    if (r->word_chars++ >= r->max_chars) return;
    if (cp < 0x80) r->word[r->word_len++] = (char)cp;
    else r->word_len += te_utf8_encode(cp, r->word + r->word_len);
}

/* BertPreTokenizer: split on whitespace (dropped) and punctuation (kept alone). */
static void pretokenize(tok_run *r, uint32_t cp) {
    if (r->mode == TOK_NORMALIZED) {
        char buf[4];
        put_text(r, buf, te_utf8_encode(cp, buf));
        return;
    }
    unsigned f = te_uc_flags(cp);
    if (f & TE_UC_SPACE) {
        word_end(r);
    } else if (f & TE_UC_PUNCT) {
        word_end(r);
        word_add(r, cp);
        word_end(r);
    } else {
        word_add(r, cp);
    }
}

static void lowercase(tok_run *r, uint32_t cp) {
    if (!r->lowercase) {
        pretokenize(r, cp);
        return;
    }
    uint32_t out[TE_UC_MAX_LOWER];
    int n = te_uc_lowercase(cp, out);
    for (int i = 0; i < n; i++) pretokenize(r, out[i]);
}

/* Emits the pending non-starters in canonical order (stable by class). */
static void flush_pending(tok_run *r) {
    for (int i = 1; i < r->n_pend; i++) {
        uint32_t c = r->pend[i];
        uint8_t k = r->pend_ccc[i];
        int j = i;
        for (; j > 0 && r->pend_ccc[j - 1] > k; j--) {
            r->pend[j] = r->pend[j - 1];
            r->pend_ccc[j] = r->pend_ccc[j - 1];
        }
        r->pend[j] = c;
        r->pend_ccc[j] = k;
    }
    int n = r->n_pend;
    r->n_pend = 0;
    for (int i = 0; i < n; i++) lowercase(r, r->pend[i]);
}

/* Strip accents: NFD, then drop nonspacing marks (Mn). Reordering only
 * matters for the non-starters that survive, so only those are buffered. */
static void strip_accents(tok_run *r, uint32_t cp) {
    if (!r->strip_accents) {
        lowercase(r, cp);
        return;
    }
    uint32_t d[TE_UC_MAX_DECOMP];
    int n = te_uc_decompose(cp, d);
    for (int i = 0; i < n; i++) {
        unsigned f = te_uc_flags(d[i]);
        if (!(f & TE_UC_NONSTARTER)) {
            flush_pending(r);
            if (!(f & TE_UC_MN)) lowercase(r, d[i]);
        } else if (!(f & TE_UC_MN)) {
            if (r->n_pend == TOK_MAX_PENDING) flush_pending(r);
            r->pend[r->n_pend] = d[i];
            r->pend_ccc[r->n_pend++] = (uint8_t)te_uc_ccc_kept(d[i]);
        }
    }
}

/* BertNormalizer, in the reference's order: clean text, CJK spacing, strip
 * accents, lowercase. */
static void normalize(tok_run *r, uint32_t cp) {
    if (r->clean) {
        unsigned f = te_uc_flags(cp);
        if (cp == 0 || cp == TE_UC_REPLACEMENT || ((f & TE_UC_OTHER) && cp != '\t' && cp != '\n' && cp != '\r'))
            return;
        if (f & TE_UC_SPACE) cp = ' ';
    }
    if (r->chinese && is_cjk(cp)) {
        strip_accents(r, ' ');
        strip_accents(r, cp);
        strip_accents(r, ' ');
        return;
    }
    strip_accents(r, cp);
}

/* The same pipeline for an ASCII byte: always a starter, never decomposed,
 * lowercased by arithmetic. Most English text takes only this path. */
static void normalize_ascii(tok_run *r, uint32_t c) {
    if (r->clean) {
        unsigned f = te_uc_flags(c);
        if (c == 0 || ((f & TE_UC_OTHER) && c != '\t' && c != '\n' && c != '\r')) return;
        if (f & TE_UC_SPACE) c = ' ';
    }
    if (r->n_pend) flush_pending(r);
    if (r->lowercase && c - 'A' < 26u) c += 'a' - 'A';
    pretokenize(r, c);
}

/* Ends a stretch of text between added tokens: the reference normalizes and
 * splits each stretch on its own. */
static void segment_end(tok_run *r) {
    flush_pending(r);
    word_end(r);
}

static int is_word_char_before(const unsigned char *s, size_t at) {
    if (at == 0) return 0;
    size_t i = at - 1;
    while (i > 0 && at - i < 4 && (s[i] & 0xC0) == 0x80) i--;
    uint32_t cp;
    te_utf8_decode(s + i, at - i, &cp);
    return (te_uc_flags(cp) & TE_UC_WORD) != 0;
}

static int is_word_char_at(const unsigned char *s, size_t at, size_t n) {
    if (at >= n) return 0;
    uint32_t cp;
    te_utf8_decode(s + at, n - at, &cp);
    return (te_uc_flags(cp) & TE_UC_WORD) != 0;
}

/* The longest added token starting at s[at] (leftmost-longest, as the
 * reference's Aho-Corasick matcher), or NULL. */
static const te_added_token *match_added(const te_model *m, const unsigned char *s, size_t at, size_t n) {
    const te_added_token *best = NULL;
    for (int i = 0; i < m->info.tokenizer.n_added_tokens; i++) {
        const te_added_token *a = &m->added[i];
        if (a->len <= n - at && (!best || a->len > best->len) && memcmp(s + at, a->text, a->len) == 0) best = a;
    }
    return best;
}

static void run_text(tok_run *r, const char *text, size_t len) {
    const unsigned char *s = (const unsigned char *)text;
    const te_model *m = r->m;
    size_t i = 0, plain_until = 0; /* bytes of a discarded single_word match are plain text */
    while (i < len && !r->full) {
        if (m && i >= plain_until && (m->added_first[s[i] >> 3] & (1u << (s[i] & 7)))) {
            const te_added_token *a = match_added(m, s, i, len);
            if (a && (a->flags & TEMB_ADDED_SINGLE_WORD) &&
                (is_word_char_before(s, i) || is_word_char_at(s, i + a->len, len))) {
                plain_until = i + a->len;
                a = NULL;
            }
            /* lstrip/rstrip only absorb whitespace, which BERT's pre-tokenizer drops anyway. */
            if (a) {
                segment_end(r);
                if (!r->full) emit_id(r, (int32_t)a->id);
                i += a->len;
                continue;
            }
        }
        if (s[i] < 0x80) {
            normalize_ascii(r, s[i++]);
            continue;
        }
        uint32_t cp;
        i += te_utf8_decode(s + i, len - i, &cp);
        normalize(r, cp);
    }
    if (!r->full) segment_end(r);
}

/* Sets up a run; the word buffers live in `stack` unless the model allows
 * words longer than TOK_STACK_CHARS. Returns 0 if allocation failed. */
typedef struct tok_scratch {
    char word[TOK_STACK_CHARS * 4];
    int32_t pieces[TOK_STACK_CHARS];
} tok_scratch;

static int run_init(tok_run *r, const te_model *m, tok_mode mode, tok_scratch *stack) {
    const te_tokenizer_info *t = &m->info.tokenizer;
    te_loader_want_vocab(m);
    memset(r, 0, sizeof *r);
    r->m = m;
    r->mode = mode;
    r->lowercase = t->lowercase;
    r->strip_accents = t->strip_accents;
    r->chinese = t->chinese_chars;
    r->clean = t->clean_text;
    r->max_chars = (size_t)t->max_chars_per_word;
    r->prefix = t->subword_prefix;
    r->prefix_len = strlen(t->subword_prefix);
    if (r->max_chars <= TOK_STACK_CHARS) {
        r->word = stack->word;
        r->pieces = stack->pieces;
        return 1;
    }
    r->word = malloc(r->max_chars * 4);
    r->pieces = malloc(r->max_chars * sizeof *r->pieces);
    return r->word && r->pieces;
}

static void run_free(tok_run *r, tok_scratch *stack) {
    if (r->word != stack->word) {
        free(r->word);
        free(r->pieces);
    }
}

/* The WordPiece ids of one text, no special tokens: at most cap into ids;
 * *total gets how many the whole text has (count_all) or cap + 1 when it has
 * more than cap (tokenizing stops there). */
static te_status tok_plain(const te_model *m, const char *text, size_t len, int32_t *ids, size_t cap, int count_all,
                           size_t *n, size_t *total, te_error *err) {
    tok_run r;
    tok_scratch stack;
    te_status st = TE_OK;
    if (!run_init(&r, m, TOK_IDS, &stack)) {
        st = te_fail(err, TE_ERR_NOMEM, "out of memory");
    } else {
        r.ids = ids;
        r.cap_ids = cap;
        r.count_all = count_all;
        if (len) run_text(&r, text, len);
        *n = r.n_ids;
        *total = r.n_total;
    }
    run_free(&r, &stack);
    return st;
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

te_status te_tok_encode(const te_model *m, const char *a, size_t alen, const char *b, size_t blen, int32_t *ids,
                        uint8_t *types, int32_t *tmp, size_t max_ids, size_t *n_ids, int *truncated, te_error *err) {
    const te_template *t = &m->tmpl;
    const te_tmpl_item *items = b ? t->pair : t->single;
    int n_items = b ? t->n_pair : t->n_single;
    size_t specials = 0;
    for (int i = 0; i < n_items; i++) specials += items[i].what == TE_TMPL_SPECIAL;
    if (max_ids < specials)
        return te_fail(err, TE_ERR_ARG, "max_ids must be at least %zu (for the special tokens, e.g. [CLS] and [SEP])", specials);
    size_t room = max_ids - specials, na = 0, la = 0, nb = 0, lb = 0;
    int32_t *ia = ids + max_ids - room; /* A is read into the tail, then moved into place */
    te_status st = tok_plain(m, a, alen, ia, room, b != NULL, &na, &la, err);
    if (st == TE_OK && b) st = tok_plain(m, b, blen, tmp, room, 1, &nb, &lb, err);
    if (st != TE_OK) return st;
    size_t ka = na, kb = nb;
    if (b) longest_first(la, lb, room, &ka, &kb);
    *truncated = b ? (ka < la || kb < lb) : la > na;
    /* Lay out the template; A's ids move left from the tail (never overlapping
     * what is still to be read, since A's slot starts at or before ia). */
    size_t n = 0;
    for (int i = 0; i < n_items; i++) {
        const te_tmpl_item *it = &items[i];
        size_t k = it->what == TE_TMPL_A ? ka : it->what == TE_TMPL_B ? kb : 1;
        if (it->what == TE_TMPL_A) memmove(ids + n, ia, ka * sizeof *ids);
        else if (it->what == TE_TMPL_B) memcpy(ids + n, tmp, kb * sizeof *ids);
        else ids[n] = it->id;
        if (types) memset(types + n, it->type, k);
        n += k;
    }
    *n_ids = n;
    return TE_OK;
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

static size_t run_stage(const te_model *m, tok_mode mode, const char *text, size_t len, char *out, size_t cap) {
    tok_run r;
    tok_scratch stack;
    size_t n = 0;
    if (run_init(&r, m, mode, &stack)) {
        r.text = out;
        r.text_cap = cap;
        run_text(&r, text, len);
        n = r.text_len;
    }
    run_free(&r, &stack);
    return n;
}

size_t te_tok_normalize(const te_model *m, const char *text, size_t len, char *out, size_t cap) {
    return run_stage(m, TOK_NORMALIZED, text, len, out, cap);
}

size_t te_tok_words(const te_model *m, const char *text, size_t len, char *out, size_t cap) {
    return run_stage(m, TOK_WORDS, text, len, out, cap);
}

void te_tok_terms(const char *text, size_t len, te_term_fn fn, void *user) {
    tok_run r;
    tok_scratch stack;
    memset(&r, 0, sizeof r);
    r.mode = TOK_TERMS;
    r.lowercase = r.strip_accents = r.chinese = r.clean = 1;
    r.max_chars = TE_TERM_MAX_CHARS;
    r.word = stack.word;
    r.pieces = stack.pieces;
    r.on_term = fn;
    r.term_user = user;
    run_text(&r, text, len);
}

size_t te_tok_wordpiece(const te_model *m, const char *word, size_t len, int32_t *ids, size_t cap) {
    tok_run r;
    tok_scratch stack;
    size_t n = 0;
    if (run_init(&r, m, TOK_IDS, &stack)) {
        r.ids = ids;
        r.cap_ids = cap;
        /* Count characters as the pre-tokenizer would have. */
        for (size_t i = 0; i < len;) {
            uint32_t cp;
            i += te_utf8_decode((const unsigned char *)word + i, len - i, &cp);
            word_add(&r, cp);
        }
        if (cap) word_end(&r);
        n = r.n_ids;
    }
    run_free(&r, &stack);
    return n;
}

const char *te_token_text(const te_model *m, int32_t id, size_t *len) {
    if (id < 0) return NULL;
    return te_vocab_token(&m->vocab, (uint32_t)id, len);
}
