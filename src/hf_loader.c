/*
 * hf_loader.c - reading the files of a Hugging Face model directory
 * (hf_loader.h): whole files, JSON kept until hf_free, typed fields whose
 * errors name the file and the field.
 */
#include "hf_loader.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

void hf_note(const loader *L, const char *fmt, ...) {
    if (!L->opts || !L->opts->note) return;
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    L->opts->note(L->opts->user, msg);
}

void hf_join(char *out, size_t cap, const char *dir, const char *name) {
    size_t n = strlen(dir);
    snprintf(out, cap, "%s%s%s", dir, (n && dir[n - 1] == '/') ? "" : "/", name);
}

int hf_file_exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

te_status hf_read_file(const char *path, size_t max, char **out, size_t *len, te_error *err) {
    FILE *f = fopen(path, "rb");
    if (!f) return te_fail(err, errno == ENOENT ? TE_ERR_NOT_FOUND : TE_ERR_IO, "%s: %s", path, strerror(errno));
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    te_status st = buf ? TE_OK : te_fail(err, TE_ERR_NOMEM, "out of memory");
    while (st == TE_OK) {
        if (n + 1 >= cap) {
            if (cap > max) { st = te_fail(err, TE_ERR_FORMAT, "%s: larger than %zu bytes", path, max); break; }
            char *nb = realloc(buf, cap * 2);
            if (!nb) { st = te_fail(err, TE_ERR_NOMEM, "out of memory reading %s", path); break; }
            buf = nb;
            cap *= 2;
        }
        size_t k = fread(buf + n, 1, cap - 1 - n, f);
        n += k;
        if (k == 0) {
            if (ferror(f)) st = te_fail(err, TE_ERR_IO, "%s: read error: %s", path, strerror(errno));
            break;
        }
    }
    fclose(f);
    if (st != TE_OK) { free(buf); return st; }
    buf[n] = '\0';
    *out = buf;
    *len = n;
    return TE_OK;
}

te_status hf_own_buf(loader *L, char *b) {
    if (L->hf->n_bufs == HF_MAX_OWNED) { free(b); return te_fail(L->err, TE_ERR_NOMEM, "too many files"); }
    L->hf->bufs[L->hf->n_bufs++] = b;
    return TE_OK;
}

/* Loads DIR/name as JSON. Returns TE_OK with *root NULL when the file is
 * absent and not required. */
te_status hf_load_json(loader *L, const char *name, int required, const json_value **root, const char **keep_text) {
    char path[4096];
    hf_join(path, sizeof path, L->dir, name);
    *root = NULL;
    if (!hf_file_exists(path)) {
        if (required) return te_fail(L->err, TE_ERR_NOT_FOUND, "%s: no such file", path);
        return TE_OK;
    }
    char *text;
    size_t len;
    te_status st = hf_read_file(path, MAX_JSON_BYTES, &text, &len, L->err);
    if (st != TE_OK) return st;
    json_doc *d = json_parse(text, len, L->err);
    if (keep_text && (st = hf_own_buf(L, text)) != TE_OK) {
        json_free(d);
        return st;
    }
    if (keep_text) *keep_text = text;
    else free(text);
    if (!d) {
        te_error_prefix(L->err, "%s: malformed JSON", path);
        return L->err ? L->err->code : TE_ERR_FORMAT;
    }
    if (L->hf->n_docs == HF_MAX_OWNED) { json_free(d); return te_fail(L->err, TE_ERR_NOMEM, "too many files"); }
    L->hf->docs[L->hf->n_docs++] = d;
    *root = json_root(d);
    if ((*root)->type != JSON_OBJECT && (*root)->type != JSON_ARRAY)
        return te_fail(L->err, TE_ERR_FORMAT, "%s: expected a JSON object", path);
    return TE_OK;
}

/* An integer config field in [lo, hi]; `def` < 0 means required. */
te_status hf_get_int(loader *L, const json_value *o, const char *file, const char *key, int64_t def, int64_t lo,
                     int64_t hi, int *out) {
    int64_t v;
    int r = json_get_int(o, key, &v);
    if (r < 0) return te_fail(L->err, TE_ERR_FORMAT, "%s: '%s' must be an integer", file, key);
    if (r == 0) {
        if (def < 0) return te_fail(L->err, TE_ERR_FORMAT, "%s: '%s' is missing", file, key);
        v = def;
    }
    if (v < lo || v > hi)
        return te_fail(L->err, TE_ERR_FORMAT, "%s: '%s' = %lld is out of range [%lld, %lld]", file, key,
                       (long long)v, (long long)lo, (long long)hi);
    *out = (int)v;
    return TE_OK;
}

te_status hf_get_bool(loader *L, const json_value *o, const char *file, const char *key, int def, int *out) {
    int r = json_get_bool(o, key, out);
    if (r < 0) return te_fail(L->err, TE_ERR_FORMAT, "%s: '%s' must be true or false", file, key);
    if (r == 0) *out = def;
    return TE_OK;
}
