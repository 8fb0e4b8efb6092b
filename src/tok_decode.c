/*
 * tok_decode.c - te_decode: ids back to text, as Hugging Face's decode: the
 * tokens' strings (special tokens left out on request), through the
 * tokenizer.json decoders in order (tok.h), joined. Each decoder maps a
 * list of strings to another, as the reference's decode_chain does.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "loader.h"
#include "model.h"
#include "unicode.h"

typedef struct tlist {
    char *buf;
    size_t len, cap;
    size_t *end;              /* token i is buf[i ? end[i - 1] : 0, end[i]) */
    size_t n, cap_n;
    int failed;
} tlist;

static void tl_free(tlist *l) {
    free(l->buf);
    free(l->end);
    memset(l, 0, sizeof *l);
}

/* Appends bytes to the last token (a new one when `start`). */
static void tl_put(tlist *l, const char *s, size_t n, int start) {
    if (l->failed) return;
    if (n > l->cap - l->len) {
        size_t cap = (l->cap + n) * 2 + 64;
        char *b = realloc(l->buf, cap);
        if (!b) {
            l->failed = 1;
            return;
        }
        l->buf = b;
        l->cap = cap;
    }
    if (start || l->n == 0) {
        if (l->n == l->cap_n) {
            size_t cap = l->cap_n * 2 + 16;
            size_t *e = realloc(l->end, cap * sizeof *e);
            if (!e) {
                l->failed = 1;
                return;
            }
            l->end = e;
            l->cap_n = cap;
        }
        l->end[l->n++] = l->len;
    }
    if (n) memcpy(l->buf + l->len, s, n); /* n 0 with nothing allocated yet: buf may be NULL */
    l->len += n;
    l->end[l->n - 1] = l->len;
}

static const char *tl_at(const tlist *l, size_t i, size_t *n) {
    size_t from = i ? l->end[i - 1] : 0;
    *n = l->end[i] - from;
    return l->buf ? l->buf + from : ""; /* only empty tokens so far: nothing allocated */
}

/* Appends s with every occurrence of pat replaced by rep. */
static void put_replaced(tlist *out, const char *s, size_t n, const char *pat, const char *rep, int start) {
    size_t pl = strlen(pat), at = 0;
    tl_put(out, "", 0, start);
    for (size_t i = 0; pl && i + pl <= n;) {
        if (memcmp(s + i, pat, pl) == 0) {
            tl_put(out, s + at, i - at, 0);
            tl_put(out, rep, strlen(rep), 0);
            i += pl;
            at = i;
        } else {
            i++;
        }
    }
    tl_put(out, s + at, n - at, 0);
}

/* WordPiece: continuation pieces lose their prefix, other tokens get a
 * space before them; cleanup undoes the spaces BERT put around punctuation. */
static void wordpiece(const td_step *d, const char *model_prefix, size_t i, const char *t, size_t n, tlist *out) {
    const char *prefix = d->prefix ? d->prefix : model_prefix;
    size_t pl = strlen(prefix);
    tlist tmp = {0};
    if (i > 0 && pl && n >= pl && memcmp(t, prefix, pl) == 0) t += pl, n -= pl;
    else if (i > 0) tl_put(&tmp, " ", 1, 1);
    tl_put(&tmp, t, n, tmp.n == 0);
    static const char *const fix[][2] = {{" .", "."}, {" ?", "?"}, {" !", "!"}, {" ,", ","}, {" ' ", "'"}, {" n't", "n't"},
                                         {" 'm", "'m"}, {" do not", " don't"}, {" 's", "'s"}, {" 've", "'ve"}, {" 're", "'re"}};
    size_t len = tmp.len;
    const char *s = tmp.buf ? tmp.buf : "";
    if (!d->cleanup) {
        tl_put(out, s, len, 1);
    } else { /* each replacement over the whole string in turn, as the reference */
        tlist a = {0}, b = {0};
        tl_put(&a, s, len, 1);
        for (size_t k = 0; k < sizeof fix / sizeof *fix; k++) {
            size_t m;
            const char *cur = a.n ? tl_at(&a, 0, &m) : (m = 0, "");
            put_replaced(&b, cur, m, fix[k][0], fix[k][1], 1);
            tl_free(&a);
            a = b;
            memset(&b, 0, sizeof b);
        }
        size_t m;
        const char *cur = a.n ? tl_at(&a, 0, &m) : (m = 0, "");
        tl_put(out, cur, m, 1);
        out->failed |= a.failed;
        tl_free(&a);
    }
    out->failed |= tmp.failed;
    tl_free(&tmp);
}

/* Runs of <0xNN> tokens become their bytes when those are valid UTF-8,
 * else one U+FFFD per byte. */
static void byte_fallback(const tlist *in, tlist *out) {
    char bytes[256];
    size_t nb = 0;
    for (size_t i = 0; i <= in->n; i++) {
        size_t n = 0;
        const char *t = i < in->n ? tl_at(in, i, &n) : NULL;
        char *endp;
        long v = t && n == 6 && !memcmp(t, "<0x", 3) && t[5] == '>' ? strtol(t + 3, &endp, 16) : -1;
        if (v >= 0 && endp == t + 5 && nb < sizeof bytes) {
            bytes[nb++] = (char)v;
            continue;
        }
        if (nb) {
            size_t at = 0;
            int valid = 1;
            while (at < nb && valid) {
                uint32_t cp;
                size_t k = te_utf8_decode((const unsigned char *)bytes + at, nb - at, &cp);
                valid = !(cp == TE_UC_REPLACEMENT && !(k == 3 && !memcmp(bytes + at, "\xef\xbf\xbd", 3)));
                at += k;
            }
            if (valid) tl_put(out, bytes, nb, 1);
            else
                for (size_t k = 0; k < nb; k++) tl_put(out, "\xef\xbf\xbd", 3, 1);
            nb = 0;
        }
        if (t) tl_put(out, t, n, 1);
    }
}

/* ByteLevel: the tokens are bytes already (tok_bpe.c), joined into one
 * string; what is not valid UTF-8 becomes U+FFFD, as from_utf8_lossy. */
static void byte_level(const tlist *in, tlist *out) {
    tl_put(out, "", 0, 1);
    size_t n = in->n ? in->end[in->n - 1] : 0; /* every token, one after another in the buffer */
    const unsigned char *s = (const unsigned char *)(in->buf ? in->buf : "");
    for (size_t at = 0; at < n;) {
        uint32_t cp;
        size_t k = te_utf8_decode(s + at, n - at, &cp);
        int bad = cp == TE_UC_REPLACEMENT && !(k == 3 && !memcmp(s + at, "\xef\xbf\xbd", 3));
        tl_put(out, bad ? "\xef\xbf\xbd" : (const char *)s + at, bad ? 3 : k, 0);
        at += k;
    }
}

static void strip(const td_step *d, const char *t, size_t n, tlist *out) {
    size_t from = 0, to = n;
    for (int k = 0; k < d->start && from < to; k++) {
        uint32_t cp;
        size_t len = te_utf8_decode((const unsigned char *)t + from, to - from, &cp);
        if (cp != d->strip_char) break;
        from += len;
    }
    for (int k = 0; k < d->stop && to > from; k++) {
        size_t at = to - 1;
        while (at > from && ((unsigned char)t[at] & 0xC0) == 0x80) at--;
        uint32_t cp;
        te_utf8_decode((const unsigned char *)t + at, to - at, &cp);
        if (cp != d->strip_char) break;
        to = at;
    }
    tl_put(out, t + from, to - from, 1);
}

static void apply(const td_step *d, const char *model_prefix, const tlist *in, tlist *out) {
    if (d->kind == TD_BYTE_FALLBACK || d->kind == TD_BYTE_LEVEL) {
        (d->kind == TD_BYTE_LEVEL ? byte_level : byte_fallback)(in, out);
        return;
    }
    for (size_t i = 0; i < in->n; i++) {
        size_t n;
        const char *t = tl_at(in, i, &n);
        switch (d->kind) {
        case TD_WORDPIECE: wordpiece(d, model_prefix, i, t, n, out); break;
        case TD_METASPACE: /* the replacement is a space, but in the first token one that was prepended */
            put_replaced(out, t, n, d->replacement, i == 0 && d->prepend ? "" : " ", 1);
            break;
        case TD_FUSE: tl_put(out, t, n, i == 0); break;
        case TD_STRIP: strip(d, t, n, out); break;
        case TD_REPLACE: put_replaced(out, t, n, d->pattern, d->content, 1); break;
        case TD_BYTE_FALLBACK: case TD_BYTE_LEVEL: break;
        }
    }
}

/* The string of id (an added token's own, or the vocabulary's), or NULL. */
static const char *token_of(const te_model *m, int32_t id, size_t *len, int *special) {
    *special = 0;
    for (int i = 0; i < m->info.tokenizer.n_added_tokens; i++)
        if ((int32_t)m->added[i].id == id) {
            *special = (m->added[i].flags & TEMB_ADDED_SPECIAL) != 0;
            *len = m->added[i].len;
            return m->added[i].text;
        }
    return id >= 0 ? te_vocab_token(&m->vocab, (uint32_t)id, len) : NULL;
}

te_status te_decode(const te_model *m, const int32_t *ids, size_t n, int skip_special, char *out, size_t cap, size_t *len,
                    te_error *err) {
    if (!m || (!ids && n) || (!out && cap) || !len) return te_fail(err, TE_ERR_ARG, "te_decode: NULL argument");
    te_loader_want_vocab(m);
    tlist a = {0}, b = {0};
    te_status st = TE_OK;
    for (size_t i = 0; i < n && st == TE_OK; i++) {
        size_t tl;
        int special;
        const char *t = token_of(m, ids[i], &tl, &special);
        if (!t) st = te_fail(err, TE_ERR_ARG, "te_decode: id %d is not in the vocabulary", (int)ids[i]);
        else if (!(skip_special && special)) tl_put(&a, t, tl, 1);
    }
    const tok_pipeline *p = &m->tok;
    for (int k = 0; k < p->n_dec && st == TE_OK; k++) {
        apply(&p->dec[k], m->info.tokenizer.subword_prefix, &a, &b);
        tl_free(&a);
        a = b;
        memset(&b, 0, sizeof b);
    }
    if (st == TE_OK && a.failed) st = te_fail(err, TE_ERR_NOMEM, "out of memory decoding");
    size_t total = 0;
    for (size_t i = 0; st == TE_OK && i < a.n; i++) { /* no decoder: the tokens with spaces between, as the reference */
        size_t tn;
        const char *t = tl_at(&a, i, &tn);
        size_t sep = p->n_dec == 0 && i > 0;
        if (sep && total < cap) out[total] = ' ';
        total += sep;
        if (total < cap) memcpy(out + total, t, tn < cap - total ? tn : cap - total);
        total += tn;
    }
    if (cap) out[total < cap ? total : cap - 1] = '\0';
    *len = total;
    tl_free(&a);
    return st;
}
