/*
 * tok_text.c - growing UTF-8 buffers with original spans (tok_text.h).
 */
#include "tok_text.h"

#include <stdlib.h>
#include <string.h>

#include "unicode.h"

void tt_init(tok_text *t, char *buf, size_t cap, int spans) {
    memset(t, 0, sizeof *t);
    t->spans = spans;
    t->stack = buf;
    t->stack_cap = spans ? 0 : cap; /* spans need the heap: three arrays grow together */
    t->s = t->stack_cap ? buf : NULL;
    t->cap = t->stack_cap;
}

void tt_free(tok_text *t) {
    if (t->s != t->stack) free(t->s);
    free(t->lo);
    free(t->hi);
    t->s = NULL;
    t->lo = t->hi = NULL;
    t->n = t->cap = 0;
}

void tt_clear(tok_text *t) {
    t->n = 0;
    t->failed = 0;
}

/* Room for `more` bytes; 0 (and failed) when memory runs out. */
static int reserve(tok_text *t, size_t more) {
    if (t->failed) return 0;
    if (more <= t->cap - t->n) return 1;
    size_t cap = t->cap * 2 > t->n + more ? t->cap * 2 : t->n + more + 64;
    char *s = malloc(cap);
    uint32_t *lo = t->spans ? realloc(t->lo, cap * sizeof *lo) : NULL;
    if (lo) t->lo = lo;
    uint32_t *hi = t->spans && lo ? realloc(t->hi, cap * sizeof *hi) : NULL;
    if (hi) t->hi = hi;
    if (!s || (t->spans && (!lo || !hi))) {
        free(s);
        t->failed = 1;
        return 0;
    }
    if (t->n) memcpy(s, t->s, t->n);
    if (t->s != t->stack) free(t->s);
    t->s = s;
    t->cap = cap;
    return 1;
}

void tt_put_bytes(tok_text *t, const char *p, size_t n, uint32_t lo, uint32_t hi) {
    if (n == 0 || !reserve(t, n)) return; /* nothing to add: t->s may not exist yet */
    memcpy(t->s + t->n, p, n);
    if (t->spans)
        for (size_t i = 0; i < n; i++) t->lo[t->n + i] = lo, t->hi[t->n + i] = hi;
    t->n += n;
}

void tt_put(tok_text *t, uint32_t cp, uint32_t lo, uint32_t hi) {
    char buf[4];
    if (cp < 0x80 && t->n < t->cap && !t->spans) {
        t->s[t->n++] = (char)cp; /* the common case, inline */
        return;
    }
    tt_put_bytes(t, buf, te_utf8_encode(cp, buf), lo, hi);
}

void tt_copy(tok_text *t, const tok_text *in, size_t from, size_t to) {
    if (to <= from || !reserve(t, to - from)) return;
    memcpy(t->s + t->n, in->s + from, to - from);
    if (t->spans && in->spans) {
        memcpy(t->lo + t->n, in->lo + from, (to - from) * sizeof *t->lo);
        memcpy(t->hi + t->n, in->hi + from, (to - from) * sizeof *t->hi);
    } else if (t->spans) {
        for (size_t i = from; i < to; i++) t->lo[t->n + i - from] = in->origin + (uint32_t)i, t->hi[t->n + i - from] = in->origin + (uint32_t)i + 1;
    }
    t->n += to - from;
}
