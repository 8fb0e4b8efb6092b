/*
 * strbuf.c - growable buffer (see strbuf.h).
 */
#include "strbuf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void sb_free(strbuf *b) {
    free(b->p);
    memset(b, 0, sizeof *b);
}

static int reserve(strbuf *b, size_t extra) {
    if (b->failed) return 0;
    if (extra < b->cap - b->n && b->p) return 1;
    size_t cap = b->cap ? b->cap : 256;
    while (cap - b->n <= extra) {
        if (cap > ((size_t)-1) / 2) { b->failed = 1; return 0; }
        cap *= 2;
    }
    char *p = realloc(b->p, cap);
    if (!p) { b->failed = 1; return 0; }
    b->p = p;
    b->cap = cap;
    return 1;
}

void sb_add(strbuf *b, const void *s, size_t n) {
    if (!reserve(b, n)) return;
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = '\0';
}

void sb_puts(strbuf *b, const char *s) { sb_add(b, s, strlen(s)); }

void sb_printf(strbuf *b, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    char small[256];
    int k = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (k < 0) { b->failed = 1; return; }
    if ((size_t)k < sizeof small) { sb_add(b, small, (size_t)k); return; }
    if (!reserve(b, (size_t)k)) return;
    va_start(ap, fmt);
    vsnprintf(b->p + b->n, (size_t)k + 1, fmt, ap);
    va_end(ap);
    b->n += (size_t)k;
}

void sb_json_str(strbuf *b, const char *s, size_t n) {
    sb_add(b, "\"", 1);
    size_t run = 0; /* bytes copied as they are, flushed before each escape */
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != '"' && c != '\\') { run++; continue; }
        sb_add(b, s + i - run, run);
        run = 0;
        if (c == '"' || c == '\\') { char e[2] = {'\\', (char)c}; sb_add(b, e, 2); }
        else if (c == '\n') sb_add(b, "\\n", 2);
        else if (c == '\t') sb_add(b, "\\t", 2);
        else if (c == '\r') sb_add(b, "\\r", 2);
        else sb_printf(b, "\\u%04x", c);
    }
    sb_add(b, s + n - run, run);
    sb_add(b, "\"", 1);
}

void sb_float(strbuf *b, float v) {
    /* 8 significant digits name most floats exactly; 9 always do. Two
     * tries at most: a server formats hundreds of thousands per second. */
    char t[32];
    snprintf(t, sizeof t, "%.8g", (double)v);
    if (strtof(t, NULL) != v) snprintf(t, sizeof t, "%.9g", (double)v);
    sb_puts(b, t);
}

void sb_consume(strbuf *b, size_t n) {
    if (n >= b->n) { b->n = 0; if (b->p) b->p[0] = '\0'; return; }
    memmove(b->p, b->p + n, b->n - n);
    b->n -= n;
    b->p[b->n] = '\0';
}
