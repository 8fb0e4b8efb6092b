/*
 * strbuf.h - a growable byte buffer for building HTTP responses and JSON.
 * A failed allocation sets `failed` and later appends do nothing, so a
 * caller checks once at the end instead of after every append.
 */
#ifndef TE_STRBUF_H
#define TE_STRBUF_H

#include <stddef.h>

typedef struct strbuf {
    char *p;       /* NUL-terminated when not NULL */
    size_t n, cap;
    int failed;
} strbuf;

void sb_free(strbuf *b);
void sb_add(strbuf *b, const void *s, size_t n);
void sb_puts(strbuf *b, const char *s);
void sb_printf(strbuf *b, const char *fmt, ...)
#if defined(__GNUC__) || defined(__clang__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
/* s[0..n) as a JSON string literal (the bytes are valid UTF-8). */
void sb_json_str(strbuf *b, const char *s, size_t n);
/* A decimal that reads back as the same float (8 or 9 significant digits). */
void sb_float(strbuf *b, float v);
/* Removes the first n bytes. */
void sb_consume(strbuf *b, size_t n);

#endif
