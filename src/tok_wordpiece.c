/*
 * tok_wordpiece.c - WordPiece (tok.h): greedy longest-match-first over one
 * word, pieces after the first spelled with the continuation prefix ("##").
 * A word with a piece that matches nothing, or longer than max_chars
 * characters, is one unknown token.
 */
#include "tok.h"

#define WP_HELD 256 /* pieces of one word held before they are known to succeed */

static size_t count_chars(const char *w, size_t len, size_t stop) {
    size_t n = 0;
    for (size_t i = 0; i < len && n <= stop; i++) n += ((unsigned char)w[i] & 0xC0) != 0x80;
    return n;
}

/* The longest piece at word[start..): its id and *end, or -1. */
static int32_t longest(const te_vocab *v, const char *prefix, size_t plen, const char *word, size_t len, size_t start,
                       size_t *end) {
    size_t e = len;
    if (e - start + plen > v->max_len) { /* nothing longer than the longest token can match */
        e = v->max_len > plen ? start + v->max_len - plen : start;
        while (e > start && ((unsigned char)word[e] & 0xC0) == 0x80) e--;
    }
    for (; e > start;) {
        int32_t id = te_vocab_find(v, prefix, plen, word + start, e - start);
        if (id >= 0) {
            *end = e;
            return id;
        }
        do e--; while (e > start && ((unsigned char)word[e] & 0xC0) == 0x80);
    }
    return -1;
}

int tm_wordpiece(const te_vocab *v, const char *prefix, size_t prefix_len, int32_t unk, size_t max_chars,
                 const char *word, size_t len, uint32_t base, tok_emit emit, void *user) {
    tok_piece whole = {unk, base, base + (uint32_t)len}, held[WP_HELD];
    if (count_chars(word, len, max_chars) > max_chars) return emit(user, &whole);
    size_t n = 0, end = 0;
    for (size_t start = 0; start < len; start = end, n++) {
        int32_t id = longest(v, prefix, start ? prefix_len : 0, word, len, start, &end);
        if (id < 0) return emit(user, &whole);
        if (n < WP_HELD) held[n] = (tok_piece){id, base + (uint32_t)start, base + (uint32_t)end};
    }
    for (size_t i = 0; i < n && i < WP_HELD; i++)
        if (emit(user, &held[i])) return 1;
    /* More pieces than were held: the word is known to split, so find them again. */
    for (size_t i = 0, start = 0; start < len; start = end, i++) {
        int32_t id = longest(v, prefix, start ? prefix_len : 0, word, len, start, &end);
        tok_piece p = {id, base + (uint32_t)start, base + (uint32_t)end};
        if (i >= WP_HELD && emit(user, &p)) return 1;
    }
    return 0;
}
