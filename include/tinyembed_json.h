/*
 * tinyembed_json.h - the JSON reader the library uses, offered to tools
 * built on it (the command line and the server read profiles and requests
 * with it). Include it where needed; tinyembed.h does not.
 */
#ifndef TINYEMBED_JSON_H
#define TINYEMBED_JSON_H

#include "tinyembed.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------------------
 * JSON reading (for tools built on this library: profiles, requests)
 * ------------------------------------------------------------------------- */

/* A strict RFC 8259 reader: locale-independent numbers, UTF-8 strings,
 * "line L, column C: ..." errors, nesting limited. Values live until
 * te_json_free. */
typedef struct te_json te_json;
typedef struct te_json_value te_json_value;

te_json *te_json_parse(const char *text, size_t len, te_error *err);
void te_json_free(te_json *doc);
const te_json_value *te_json_root(const te_json *doc);
/* Member of an object (the last one if repeated), element of an array, or NULL. */
const te_json_value *te_json_get(const te_json_value *obj, const char *key);
const te_json_value *te_json_at(const te_json_value *arr, size_t i);
size_t te_json_len(const te_json_value *v);           /* array or object size; 0 otherwise */
const char *te_json_key_at(const te_json_value *obj, size_t i);
/* 1 and the value when v is a number, else 0. */
int te_json_number(const te_json_value *v, double *out);
const char *te_json_string(const te_json_value *v);  /* NULL unless a string */
int te_json_bool(const te_json_value *v, int *out);

#ifdef __cplusplus
}
#endif

#endif /* TINYEMBED_JSON_H */
