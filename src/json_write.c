/*
 * json_write.c - a parsed JSON value written back as compact JSON (json.h),
 * for the converter: the parts of tokenizer.json a .temb file keeps.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"

typedef struct out {
    char *p;
    size_t n, cap;
    int failed;
} out;

static void put(out *o, const char *s, size_t n) {
    if (o->failed) return;
    if (n > o->cap - o->n) {
        size_t cap = (o->cap + n) * 2;
        char *p = realloc(o->p, cap);
        if (!p) {
            o->failed = 1;
            return;
        }
        o->p = p;
        o->cap = cap;
    }
    memcpy(o->p + o->n, s, n);
    o->n += n;
}

static void put_str(out *o, const char *s, size_t n) {
    put(o, "\"", 1);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        char esc[8];
        if (c == '"' || c == '\\') esc[0] = '\\', esc[1] = (char)c, put(o, esc, 2);
        else if (c < 0x20) put(o, esc, (size_t)snprintf(esc, sizeof esc, "\\u%04x", c));
        else put(o, (const char *)&c, 1);
    }
    put(o, "\"", 1);
}

static void put_number(out *o, const json_value *v) {
    char buf[40];
    int n = v->is_int ? snprintf(buf, sizeof buf, "%lld", (long long)v->i) : snprintf(buf, sizeof buf, "%.17g", v->num);
    for (int i = 0; i < n; i++)
        if (buf[i] == ',') buf[i] = '.'; /* whatever the locale's decimal point */
    put(o, buf, (size_t)n);
}

static void write_value(out *o, const json_value *v, const char *skip) {
    switch (v->type) {
    case JSON_NULL: put(o, "null", 4); return;
    case JSON_FALSE: put(o, "false", 5); return;
    case JSON_TRUE: put(o, "true", 4); return;
    case JSON_NUMBER: put_number(o, v); return;
    case JSON_STRING: put_str(o, v->str, v->len); return;
    case JSON_ARRAY:
        put(o, "[", 1);
        for (size_t i = 0; i < v->len; i++) {
            if (i) put(o, ",", 1);
            write_value(o, v->items[i], skip);
        }
        put(o, "]", 1);
        return;
    case JSON_OBJECT: {
        put(o, "{", 1);
        int first = 1;
        for (size_t i = 0; i < v->len; i++) {
            const json_member *m = &v->members[i];
            if (skip && strcmp(m->key, skip) == 0) continue;
            if (!first) put(o, ",", 1);
            first = 0;
            put_str(o, m->key, m->key_len);
            put(o, ":", 1);
            write_value(o, m->value, skip);
        }
        put(o, "}", 1);
        return;
    }
    }
}

char *json_write(const json_value *v, const char *skip_key) {
    out o = {0};
    write_value(&o, v, skip_key);
    put(&o, "", 1);
    if (o.failed) {
        free(o.p);
        return NULL;
    }
    return o.p;
}
