/*
 * json.h - a strict RFC 8259 JSON reader for the converter's inputs
 * (config.json, tokenizer.json, safetensors headers).
 *
 * The whole document is parsed into an arena owned by json_doc; one
 * json_free releases everything. Numbers are parsed without the C locale,
 * strings are decoded to UTF-8 (invalid UTF-8 is rejected), nesting is
 * limited so hostile input cannot exhaust the stack.
 */
#ifndef TE_JSON_H
#define TE_JSON_H

#include <stddef.h>
#include <stdint.h>

#include "tinyembed.h"
#include "tinyembed_json.h"

typedef enum json_type {
    JSON_NULL, JSON_FALSE, JSON_TRUE, JSON_NUMBER, JSON_STRING, JSON_ARRAY, JSON_OBJECT
} json_type;

typedef struct te_json_value json_value;

typedef struct json_member {
    const char *key;  /* NUL-terminated UTF-8 */
    size_t key_len;
    json_value *value;
    size_t key_pos;   /* byte offset of the key's opening quote in the text */
} json_member;

struct te_json_value {
    json_type type;
    int is_int;        /* JSON_NUMBER written as an integer that fits int64 */
    int64_t i;         /* its value when is_int */
    double num;        /* every JSON_NUMBER */
    const char *str;   /* JSON_STRING: NUL-terminated UTF-8 (may hold \0 from \u0000) */
    size_t len;        /* JSON_STRING: bytes; JSON_ARRAY/OBJECT: elements */
    json_value **items;      /* JSON_ARRAY */
    json_member *members;    /* JSON_OBJECT, in document order */
    size_t pos;              /* byte offset of the value's first character in the text */
};

typedef struct json_doc json_doc;

/* Parses `len` bytes. On error returns NULL with a message such as
 * "line 3, column 14: expected ',' or '}'" (code TE_ERR_FORMAT). */
json_doc *json_parse(const char *text, size_t len, te_error *err);
const json_value *json_root(const json_doc *d);
void json_free(json_doc *d);

/* Member `key` of an object (the last one if repeated), or NULL. */
const json_value *json_get(const json_value *obj, const char *key);

/* Typed lookups for config files. Each returns 1 and stores the value when
 * `key` is present with the right type, 0 when absent or null, and -1 when
 * present with another type. */
int json_get_int(const json_value *obj, const char *key, int64_t *out);
int json_get_num(const json_value *obj, const char *key, double *out);
int json_get_bool(const json_value *obj, const char *key, int *out);
int json_get_str(const json_value *obj, const char *key, const char **out);

/* 1-based line and column (in characters) of byte offset `pos` of `text`,
 * as parse errors count them: for "line L, column C: ..." messages about
 * values that parsed but mean nothing (config files). */
void json_line_col(const char *text, size_t len, size_t pos, size_t *line, size_t *col);

/* v as compact JSON (NUL-terminated, malloc'd; NULL without memory), object
 * members named skip_key (at any depth; may be NULL) left out (json_write.c). */
char *json_write(const json_value *v, const char *skip_key);

/* Human name of a type, for messages ("string", "object", ...). */
const char *json_type_name(json_type t);

#endif
