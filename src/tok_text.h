/*
 * tok_text.h - the text a tokenizer stage hands to the next: UTF-8 bytes
 * and, when the caller wants token offsets, for each byte the span of the
 * original input it came from (as Hugging Face's NormalizedString keeps
 * them). Short texts live in a caller's buffer (no allocation for ordinary
 * sentences); longer ones move to the heap.
 */
#ifndef TE_TOK_TEXT_H
#define TE_TOK_TEXT_H

#include <stddef.h>
#include <stdint.h>

typedef struct tok_text {
    char *s;
    uint32_t *lo, *hi;   /* per byte: original span [lo, hi); NULL when spans are off */
    size_t n, cap;
    char *stack;         /* the caller's buffer (cap bytes), used until the text outgrows it */
    size_t stack_cap;
    int spans;           /* keep lo/hi; without, byte i's span is [origin + i, origin + i + 1) */
    uint32_t origin;
    int failed;          /* out of memory: later puts are dropped */
} tok_text;

/* An empty text over buf[cap] (may be NULL, 0); spans on or off. */
void tt_init(tok_text *t, char *buf, size_t cap, int spans);
void tt_free(tok_text *t);
void tt_clear(tok_text *t);

/* Appends cp (UTF-8) or n bytes, each byte with the original span [lo, hi). */
void tt_put(tok_text *t, uint32_t cp, uint32_t lo, uint32_t hi);
void tt_put_bytes(tok_text *t, const char *p, size_t n, uint32_t lo, uint32_t hi);

/* Appends in[from, to) with its spans. */
void tt_copy(tok_text *t, const tok_text *in, size_t from, size_t to);

/* The original span of bytes [from, to) of t (to > from). */
static inline void tt_span(const tok_text *t, size_t from, size_t to, uint32_t *lo, uint32_t *hi) {
    *lo = t->spans ? t->lo[from] : t->origin + (uint32_t)from;
    *hi = t->spans ? t->hi[to - 1] : t->origin + (uint32_t)to;
}

#endif
