/*
 * json.c - strict JSON parser into an arena (see json.h).
 *
 * Recursive descent, one pass. Children of an open array or object are
 * collected on a growable stack and copied into the arena when it closes, so
 * every node lives in the arena and json_free is the single free path.
 */
#include "json.h"

#include <locale.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "unicode.h"

#define JSON_MAX_DEPTH 200
#define ARENA_CHUNK (64 * 1024)

typedef struct arena_chunk {
    struct arena_chunk *next;
    size_t used, cap;
    _Alignas(16) unsigned char data[];
} arena_chunk;

struct json_doc {
    arena_chunk *chunks;
    json_value *root;
};

typedef struct parser {
    const char *start, *p, *end;
    json_doc *doc;
    te_error *err;
    int failed;
    int depth;
    json_value **items;   /* pending array elements of all open arrays */
    size_t n_items, cap_items;
    json_member *members; /* pending members of all open objects */
    size_t n_members, cap_members;
} parser;

static void *arena_alloc(json_doc *d, size_t n) {
    n = (size_t)te_align_up(n ? n : 1, 16);
    arena_chunk *c = d->chunks;
    if (!c || c->cap - c->used < n) {
        size_t cap = n > ARENA_CHUNK ? n : ARENA_CHUNK;
        c = malloc(sizeof *c + cap);
        if (!c) return NULL;
        c->next = d->chunks;
        c->used = 0;
        c->cap = cap;
        d->chunks = c;
    }
    void *p = c->data + c->used;
    c->used += n;
    return p;
}

void json_line_col(const char *text, size_t len, size_t pos, size_t *line, size_t *col) {
    *line = 1;
    *col = 1;
    for (size_t i = 0; i < pos && i < len; i++) {
        if (text[i] == '\n') { ++*line; *col = 1; }
        else if (((unsigned char)text[i] & 0xC0) != 0x80) ++*col;
    }
}

TE_PRINTF(2, 3)
static void fail(parser *ps, const char *fmt, ...) {
    if (ps->failed) return;
    ps->failed = 1;
    size_t line, col;
    json_line_col(ps->start, (size_t)(ps->end - ps->start), (size_t)(ps->p - ps->start), &line, &col);
    char what[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    te_fail(ps->err, TE_ERR_FORMAT, "line %zu, column %zu: %s", line, col, what);
}

static void nomem(parser *ps) {
    if (ps->failed) return;
    ps->failed = 1;
    te_fail(ps->err, TE_ERR_NOMEM, "out of memory while parsing JSON");
}

static void skip_ws(parser *ps) {
    while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r'))
        ps->p++;
}

/* Reports "expected X but found Y", naming what is actually at the cursor. */
static void fail_expected(parser *ps, const char *expected) {
    if (ps->p >= ps->end) { fail(ps, "expected %s but found end of input", expected); return; }
    unsigned char c = (unsigned char)*ps->p;
    if (c >= 0x20 && c < 0x7f) fail(ps, "expected %s but found '%c'", expected, c);
    else fail(ps, "expected %s but found byte 0x%02X", expected, c);
}

static json_value *new_value(parser *ps, json_type t) {
    json_value *v = arena_alloc(ps->doc, sizeof *v);
    if (!v) { nomem(ps); return NULL; }
    memset(v, 0, sizeof *v);
    v->type = t;
    return v;
}

/* Length of the valid UTF-8 sequence at s, or 0 if it is ill-formed. */
static size_t utf8_valid_len(const char *s, const char *end) {
    uint32_t cp;
    size_t k = te_utf8_decode((const unsigned char *)s, (size_t)(end - s), &cp);
    if (cp == TE_UC_REPLACEMENT && !(k == 3 && memcmp(s, "\xEF\xBF\xBD", 3) == 0)) return 0;
    return k;
}

static int hex4(parser *ps, unsigned *out) {
    if (ps->end - ps->p < 4) { fail(ps, "truncated \\u escape"); return 0; }
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        char c = ps->p[i];
        v <<= 4;
        if (c >= '0' && c <= '9') v |= (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f') v |= (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F') v |= (unsigned)(c - 'A' + 10);
        else { fail(ps, "invalid hex digit in \\u escape"); return 0; }
    }
    ps->p += 4;
    *out = v;
    return 1;
}

/* Parses a string starting after the opening quote. The decoded text is never
 * longer than the raw text, so one arena block of the raw length suffices. */
static int parse_string(parser *ps, const char **out, size_t *out_len) {
    const char *q = ps->p;
    while (q < ps->end && *q != '"') q += (*q == '\\' && q + 1 < ps->end) ? 2 : 1;
    if (q >= ps->end) { fail(ps, "unterminated string"); return 0; }
    char *buf = arena_alloc(ps->doc, (size_t)(q - ps->p) + 1);
    if (!buf) { nomem(ps); return 0; }
    size_t n = 0;
    while (*ps->p != '"') {
        unsigned char c = (unsigned char)*ps->p;
        if (c < 0x20) { fail(ps, "control character U+%04X in string (must be escaped)", c); return 0; }
        if (c != '\\') {
            size_t k = utf8_valid_len(ps->p, ps->end);
            if (!k) { fail(ps, "invalid UTF-8 in string"); return 0; }
            memcpy(buf + n, ps->p, k);
            n += k;
            ps->p += k;
            continue;
        }
        ps->p++;
        char e = *ps->p++;
        switch (e) {
        case '"': buf[n++] = '"'; break;
        case '\\': buf[n++] = '\\'; break;
        case '/': buf[n++] = '/'; break;
        case 'b': buf[n++] = '\b'; break;
        case 'f': buf[n++] = '\f'; break;
        case 'n': buf[n++] = '\n'; break;
        case 'r': buf[n++] = '\r'; break;
        case 't': buf[n++] = '\t'; break;
        case 'u': {
            unsigned cp;
            if (!hex4(ps, &cp)) return 0;
            if (cp >= 0xDC00 && cp <= 0xDFFF) { fail(ps, "unpaired low surrogate \\u%04X", cp); return 0; }
            if (cp >= 0xD800 && cp <= 0xDBFF) {
                unsigned lo;
                if (ps->end - ps->p < 2 || ps->p[0] != '\\' || ps->p[1] != 'u') {
                    fail(ps, "unpaired high surrogate \\u%04X", cp);
                    return 0;
                }
                ps->p += 2;
                if (!hex4(ps, &lo)) return 0;
                if (lo < 0xDC00 || lo > 0xDFFF) { fail(ps, "unpaired high surrogate \\u%04X", cp); return 0; }
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            }
            n += te_utf8_encode(cp, buf + n);
            break;
        }
        default:
            ps->p--;
            fail(ps, "invalid escape '\\%c'", (e >= 0x20 && e < 0x7f) ? e : '?');
            return 0;
        }
    }
    ps->p++; /* closing quote */
    buf[n] = '\0';
    *out = buf;
    *out_len = n;
    return 1;
}

/* value = mantissa * 10^exp10, computed in long double so the result is
 * within an ulp of the exact value; independent of the C locale. */
static locale_t c_locale; /* "C", for strtod; (locale_t)0 if it could not be made */
static void make_c_locale(void) { c_locale = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0); }

/* The correctly rounded double of the n characters at s (a JSON number without
 * its sign), read by strtod in the C locale whatever the process's locale is
 * (uselocale changes this thread's only). Returns 0 when out of memory. */
static int parse_double_c(const char *s, size_t n, double *out) {
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    char stack[64], *buf = n < sizeof stack ? stack : malloc(n + 1);
    if (!buf) return 0;
    memcpy(buf, s, n);
    buf[n] = '\0';
    pthread_once(&once, make_c_locale);
    locale_t old = c_locale ? uselocale(c_locale) : (locale_t)0;
    *out = strtod(buf, NULL);
    if (old) uselocale(old);
    if (buf != stack) free(buf);
    return 1;
}

static int parse_number(parser *ps, json_value *v) {
    const char *s = ps->p;
    int neg = 0;
    if (s < ps->end && *s == '-') { neg = 1; s++; }
    if (s >= ps->end || *s < '0' || *s > '9') { fail(ps, "invalid number"); return 0; }
    uint64_t mant = 0;
    int digits = 0, exp10 = 0, is_int = 1, int_overflow = 0;
    uint64_t ival = 0;
    if (*s == '0') {
        s++;
        if (s < ps->end && *s >= '0' && *s <= '9') { fail(ps, "leading zero in number"); return 0; }
    } else {
        while (s < ps->end && *s >= '0' && *s <= '9') {
            unsigned d = (unsigned)(*s - '0');
            if (digits < 19) { mant = mant * 10 + d; if (mant) digits++; }
            else exp10++;
            if (ival > (UINT64_MAX - d) / 10) int_overflow = 1;
            else ival = ival * 10 + d;
            s++;
        }
    }
    if (s < ps->end && *s == '.') {
        is_int = 0;
        s++;
        if (s >= ps->end || *s < '0' || *s > '9') { ps->p = s; fail(ps, "digit expected after '.'"); return 0; }
        while (s < ps->end && *s >= '0' && *s <= '9') {
            if (digits < 19) { mant = mant * 10 + (unsigned)(*s - '0'); exp10--; if (mant) digits++; }
            s++;
        }
    }
    if (s < ps->end && (*s == 'e' || *s == 'E')) {
        is_int = 0;
        s++;
        int eneg = 0;
        if (s < ps->end && (*s == '+' || *s == '-')) { eneg = *s == '-'; s++; }
        if (s >= ps->end || *s < '0' || *s > '9') { ps->p = s; fail(ps, "digit expected in exponent"); return 0; }
        int e = 0;
        while (s < ps->end && *s >= '0' && *s <= '9') {
            if (e < 100000) e = e * 10 + (*s - '0');
            s++;
        }
        exp10 += eneg ? -e : e;
    }
    double d;
    if (mant < (1ull << 53) && exp10 >= -22 && exp10 <= 22) {
        /* Exact mantissa (so no digit was dropped) and power of ten: one correctly
         * rounded operation (Clinger's fast path). Else strtod, which rounds
         * correctly too; long double is not wider than double everywhere (ARMv7,
         * valgrind), so it cannot be trusted with the slow path. */
        static const double pow10[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
                                       1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
        d = exp10 >= 0 ? (double)mant * pow10[exp10] : (double)mant / pow10[-exp10];
    } else if (!parse_double_c(ps->p + neg, (size_t)(s - ps->p) - (size_t)neg, &d)) {
        fail(ps, "out of memory");
        return 0;
    }
    if (isinf(d)) { fail(ps, "number out of range"); return 0; }
    v->num = neg ? -d : d;
    if (is_int && !int_overflow && ival <= (uint64_t)INT64_MAX + (uint64_t)neg) {
        v->is_int = 1;
        v->i = neg ? (int64_t)(0 - ival) : (int64_t)ival;
    }
    ps->p = s;
    return 1;
}

static json_value *parse_value(parser *ps);

static int push_item(parser *ps, json_value *v) {
    if (ps->n_items == ps->cap_items) {
        size_t cap = ps->cap_items ? ps->cap_items * 2 : 64;
        json_value **n = realloc(ps->items, cap * sizeof *n);
        if (!n) { nomem(ps); return 0; }
        ps->items = n;
        ps->cap_items = cap;
    }
    ps->items[ps->n_items++] = v;
    return 1;
}

static int push_member(parser *ps, const char *key, size_t key_len, size_t key_pos, json_value *v) {
    if (ps->n_members == ps->cap_members) {
        size_t cap = ps->cap_members ? ps->cap_members * 2 : 64;
        json_member *n = realloc(ps->members, cap * sizeof *n);
        if (!n) { nomem(ps); return 0; }
        ps->members = n;
        ps->cap_members = cap;
    }
    ps->members[ps->n_members++] = (json_member){key, key_len, v, key_pos};
    return 1;
}

static json_value *parse_array(parser *ps) {
    json_value *v = new_value(ps, JSON_ARRAY);
    if (!v) return NULL;
    size_t base = ps->n_items;
    skip_ws(ps);
    if (ps->p < ps->end && *ps->p == ']') { ps->p++; return v; }
    for (;;) {
        json_value *item = parse_value(ps);
        if (!item || !push_item(ps, item)) return NULL;
        skip_ws(ps);
        if (ps->p < ps->end && *ps->p == ',') { ps->p++; continue; }
        if (ps->p < ps->end && *ps->p == ']') { ps->p++; break; }
        fail_expected(ps, "',' or ']'");
        return NULL;
    }
    size_t n = ps->n_items - base;
    v->items = arena_alloc(ps->doc, n * sizeof *v->items);
    if (!v->items) { nomem(ps); return NULL; }
    memcpy(v->items, ps->items + base, n * sizeof *v->items);
    v->len = n;
    ps->n_items = base;
    return v;
}

static json_value *parse_object(parser *ps) {
    json_value *v = new_value(ps, JSON_OBJECT);
    if (!v) return NULL;
    size_t base = ps->n_members;
    skip_ws(ps);
    if (ps->p < ps->end && *ps->p == '}') { ps->p++; return v; }
    for (;;) {
        skip_ws(ps);
        if (ps->p >= ps->end || *ps->p != '"') {
            fail_expected(ps, "a string key");
            return NULL;
        }
        size_t key_pos = (size_t)(ps->p - ps->start);
        ps->p++;
        const char *key;
        size_t key_len;
        if (!parse_string(ps, &key, &key_len)) return NULL;
        skip_ws(ps);
        if (ps->p >= ps->end || *ps->p != ':') {
            fail(ps, "expected ':' after key \"%.60s\"", key);
            return NULL;
        }
        ps->p++;
        json_value *item = parse_value(ps);
        if (!item || !push_member(ps, key, key_len, key_pos, item)) return NULL;
        skip_ws(ps);
        if (ps->p < ps->end && *ps->p == ',') { ps->p++; continue; }
        if (ps->p < ps->end && *ps->p == '}') { ps->p++; break; }
        fail_expected(ps, "',' or '}'");
        return NULL;
    }
    size_t n = ps->n_members - base;
    v->members = arena_alloc(ps->doc, n * sizeof *v->members);
    if (!v->members) { nomem(ps); return NULL; }
    memcpy(v->members, ps->members + base, n * sizeof *v->members);
    v->len = n;
    ps->n_members = base;
    return v;
}

static int match_word(parser *ps, const char *w) {
    size_t n = strlen(w);
    if ((size_t)(ps->end - ps->p) < n || memcmp(ps->p, w, n) != 0) {
        fail(ps, "invalid literal (expected '%s')", w);
        return 0;
    }
    ps->p += n;
    return 1;
}

static json_value *parse_value(parser *ps) {
    skip_ws(ps);
    if (ps->p >= ps->end) { fail(ps, "unexpected end of input"); return NULL; }
    if (++ps->depth > JSON_MAX_DEPTH) { fail(ps, "nesting deeper than %d", JSON_MAX_DEPTH); return NULL; }
    json_value *v = NULL;
    const char *at = ps->p;
    char c = *ps->p;
    if (c == '{') { ps->p++; v = parse_object(ps); }
    else if (c == '[') { ps->p++; v = parse_array(ps); }
    else if (c == '"') {
        ps->p++;
        v = new_value(ps, JSON_STRING);
        if (v && !parse_string(ps, &v->str, &v->len)) v = NULL;
    } else if (c == 't') { v = match_word(ps, "true") ? new_value(ps, JSON_TRUE) : NULL; }
    else if (c == 'f') { v = match_word(ps, "false") ? new_value(ps, JSON_FALSE) : NULL; }
    else if (c == 'n') { v = match_word(ps, "null") ? new_value(ps, JSON_NULL) : NULL; }
    else if (c == '-' || (c >= '0' && c <= '9')) {
        v = new_value(ps, JSON_NUMBER);
        if (v && !parse_number(ps, v)) v = NULL;
    } else {
        fail_expected(ps, "a JSON value");
    }
    if (v) v->pos = (size_t)(at - ps->start);
    ps->depth--;
    return v;
}

void json_free(json_doc *d) {
    if (!d) return;
    arena_chunk *c = d->chunks;
    while (c) {
        arena_chunk *next = c->next;
        free(c);
        c = next;
    }
    free(d);
}

json_doc *json_parse(const char *text, size_t len, te_error *err) {
    json_doc *d = calloc(1, sizeof *d);
    if (!d) { te_fail(err, TE_ERR_NOMEM, "out of memory while parsing JSON"); return NULL; }
    parser ps = {.start = text, .p = text, .end = text + len, .doc = d, .err = err};
    /* A UTF-8 byte-order mark is tolerated, as Python's json does not but many editors write it. */
    if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0) ps.p += 3;
    d->root = parse_value(&ps);
    if (d->root) {
        skip_ws(&ps);
        if (ps.p != ps.end) { fail(&ps, "unexpected data after the JSON value"); d->root = NULL; }
    }
    free(ps.items);
    free(ps.members);
    if (!d->root) {
        json_free(d);
        return NULL;
    }
    return d;
}

const json_value *json_root(const json_doc *d) { return d->root; }

const json_value *json_get(const json_value *obj, const char *key) {
    if (!obj || obj->type != JSON_OBJECT) return NULL;
    size_t klen = strlen(key);
    for (size_t i = obj->len; i-- > 0;) {
        const json_member *m = &obj->members[i];
        if (m->key_len == klen && memcmp(m->key, key, klen) == 0) return m->value;
    }
    return NULL;
}

int json_get_int(const json_value *obj, const char *key, int64_t *out) {
    const json_value *v = json_get(obj, key);
    if (!v || v->type == JSON_NULL) return 0;
    if (v->type != JSON_NUMBER || !v->is_int) return -1;
    *out = v->i;
    return 1;
}

int json_get_num(const json_value *obj, const char *key, double *out) {
    const json_value *v = json_get(obj, key);
    if (!v || v->type == JSON_NULL) return 0;
    if (v->type != JSON_NUMBER) return -1;
    *out = v->num;
    return 1;
}

int json_get_bool(const json_value *obj, const char *key, int *out) {
    const json_value *v = json_get(obj, key);
    if (!v || v->type == JSON_NULL) return 0;
    if (v->type != JSON_TRUE && v->type != JSON_FALSE) return -1;
    *out = v->type == JSON_TRUE;
    return 1;
}

int json_get_str(const json_value *obj, const char *key, const char **out) {
    const json_value *v = json_get(obj, key);
    if (!v || v->type == JSON_NULL) return 0;
    if (v->type != JSON_STRING) return -1;
    *out = v->str;
    return 1;
}

const char *json_type_name(json_type t) {
    switch (t) {
    case JSON_NULL: return "null";
    case JSON_FALSE: case JSON_TRUE: return "boolean";
    case JSON_NUMBER: return "number";
    case JSON_STRING: return "string";
    case JSON_ARRAY: return "array";
    case JSON_OBJECT: return "object";
    }
    return "unknown";
}

/* The public wrappers (tinyembed.h). */
struct te_json {
    json_doc *doc;
};

te_json *te_json_parse(const char *text, size_t len, te_error *err) {
    te_json *j = malloc(sizeof *j);
    if (!j) { te_fail(err, TE_ERR_NOMEM, "out of memory"); return NULL; }
    if (!(j->doc = json_parse(text, len, err))) { free(j); return NULL; }
    return j;
}

void te_json_free(te_json *doc) {
    if (!doc) return;
    json_free(doc->doc);
    free(doc);
}

const te_json_value *te_json_root(const te_json *doc) { return json_root(doc->doc); }
const te_json_value *te_json_get(const te_json_value *obj, const char *key) { return json_get(obj, key); }

const te_json_value *te_json_at(const te_json_value *arr, size_t i) {
    return (arr && arr->type == JSON_ARRAY && i < arr->len) ? arr->items[i] : NULL;
}

size_t te_json_len(const te_json_value *v) {
    return (v && (v->type == JSON_ARRAY || v->type == JSON_OBJECT)) ? v->len : 0;
}

const char *te_json_key_at(const te_json_value *obj, size_t i) {
    return (obj && obj->type == JSON_OBJECT && i < obj->len) ? obj->members[i].key : NULL;
}

int te_json_number(const te_json_value *v, double *out) {
    if (!v || v->type != JSON_NUMBER) return 0;
    *out = v->num;
    return 1;
}

const char *te_json_string(const te_json_value *v) { return (v && v->type == JSON_STRING) ? v->str : NULL; }

int te_json_bool(const te_json_value *v, int *out) {
    if (!v || (v->type != JSON_TRUE && v->type != JSON_FALSE)) return 0;
    *out = v->type == JSON_TRUE;
    return 1;
}
