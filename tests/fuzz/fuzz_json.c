/*
 * fuzz_json.c - libFuzzer target for the JSON reader (config files, the
 * tokenizer, safetensors headers, server requests): any bytes. Whatever it
 * accepts must be a well-formed tree: positions inside the text, strings
 * NUL-terminated at their length, integers exact, every key findable.
 */
#include <assert.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void walk(const json_value *v, size_t size, int depth) {
    assert(v && v->pos < size && depth < 10000);
    switch (v->type) {
    case JSON_STRING:
        assert(v->str && v->str[v->len] == '\0');
        break;
    case JSON_NUMBER:
        assert(isfinite(v->num) && (!v->is_int || (double)v->i == v->num));
        break;
    case JSON_ARRAY:
        for (size_t i = 0; i < v->len; i++) walk(v->items[i], size, depth + 1);
        break;
    case JSON_OBJECT:
        for (size_t i = 0; i < v->len; i++) {
            const json_member *m = &v->members[i];
            assert(m->key && m->key[m->key_len] == '\0' && m->key_pos < size);
            walk(m->value, size, depth + 1);
            assert(strlen(m->key) < m->key_len || json_get(v, m->key) != NULL);
        }
        break;
    default:
        break;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    te_error err;
    json_doc *d = json_parse((const char *)data, size, &err);
    if (!d) {
        assert(err.code == TE_ERR_FORMAT && err.msg[0]);
        return 0;
    }
    walk(json_root(d), size, 0);
    json_free(d);
    return 0;
}
