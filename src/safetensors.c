/*
 * safetensors.c - the safetensors reader (see safetensors.h). Errors name
 * the file and the tensor, and say whether the file is truncated or malformed.
 */
#include "safetensors.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"

/* The largest JSON header accepted (the format's own limit is 100 MB). */
#define ST_MAX_HEADER ((uint64_t)100 << 20)

static size_t dtype_size(const char *d) {
    static const struct { const char *name; size_t size; } sizes[] = {
        {"F64", 8}, {"F32", 4}, {"F16", 2}, {"BF16", 2}, {"I64", 8}, {"I32", 4},
        {"I16", 2}, {"I8", 1}, {"U64", 8}, {"U32", 4}, {"U16", 2}, {"U8", 1}, {"BOOL", 1},
    };
    for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++)
        if (strcmp(d, sizes[i].name) == 0) return sizes[i].size;
    return 0;
}

static te_status parse_entry(const uint8_t *data_base, uint64_t data_size, const json_member *mem, st_tensor *t, te_error *err) {
    const json_value *v = mem->value;
    t->name = mem->key;
    if (v->type != JSON_OBJECT) return te_fail(err, TE_ERR_FORMAT, "tensor %s: header entry is not an object", t->name);
    const json_value *shape = json_get(v, "shape"), *offs = json_get(v, "data_offsets");
    if (json_get_str(v, "dtype", &t->dtype) != 1) return te_fail(err, TE_ERR_FORMAT, "tensor %s: missing dtype", t->name);
    if (!shape || shape->type != JSON_ARRAY || shape->len > ST_MAX_DIMS)
        return te_fail(err, TE_ERR_FORMAT, "tensor %s: missing or bad shape", t->name);
    if (!offs || offs->type != JSON_ARRAY || offs->len != 2)
        return te_fail(err, TE_ERR_FORMAT, "tensor %s: missing or bad data_offsets", t->name);
    t->n_dims = (int)shape->len;
    uint64_t count = 1;
    for (size_t i = 0; i < shape->len; i++) {
        const json_value *d = shape->items[i];
        if (d->type != JSON_NUMBER || !d->is_int || d->i < 0)
            return te_fail(err, TE_ERR_FORMAT, "tensor %s: shape has a non-integer or negative dimension", t->name);
        t->dims[i] = (uint64_t)d->i;
        if (!te_mul_u64(count, t->dims[i], &count))
            return te_fail(err, TE_ERR_FORMAT, "tensor %s: shape overflows", t->name);
    }
    uint64_t o[2];
    for (int i = 0; i < 2; i++) {
        const json_value *d = offs->items[i];
        if (d->type != JSON_NUMBER || !d->is_int || d->i < 0)
            return te_fail(err, TE_ERR_FORMAT, "tensor %s: bad data_offsets", t->name);
        o[i] = (uint64_t)d->i;
    }
    if (o[0] > o[1]) return te_fail(err, TE_ERR_FORMAT, "tensor %s: data_offsets are reversed", t->name);
    if (o[1] > data_size)
        return te_fail(err, TE_ERR_TRUNCATED, "file is truncated: tensor %s needs data bytes up to %llu, only %llu are present",
                       t->name, (unsigned long long)o[1], (unsigned long long)data_size);
    t->elem_size = dtype_size(t->dtype);
    t->bytes = o[1] - o[0];
    uint64_t want;
    if (t->elem_size && (!te_mul_u64(count, t->elem_size, &want) || want != t->bytes))
        return te_fail(err, TE_ERR_FORMAT, "tensor %s: %llu data bytes do not match its shape and dtype %s",
                       t->name, (unsigned long long)t->bytes, t->dtype);
    t->data = data_base + o[0];
    return TE_OK;
}

te_status st_map_file(st_file *f, const char *path, te_error *err) {
    memset(f, 0, sizeof *f);
    f->fd = -1;
    f->path = strdup(path);
    if (!f->path) return te_fail(err, TE_ERR_NOMEM, "out of memory");
    f->fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (f->fd < 0)
        return te_fail(err, errno == ENOENT ? TE_ERR_NOT_FOUND : TE_ERR_IO, "%s: %s", path, strerror(errno));
    struct stat sb;
    if (fstat(f->fd, &sb) != 0 || !S_ISREG(sb.st_mode))
        return te_fail(err, TE_ERR_IO, "%s: not a regular file", path);
    if (sb.st_size < 8)
        return te_fail(err, TE_ERR_TRUNCATED, "%s: file is truncated (%lld bytes, no header)", path, (long long)sb.st_size);
    f->size = (size_t)sb.st_size;
    void *p = mmap(NULL, f->size, PROT_READ, MAP_PRIVATE, f->fd, 0);
    if (p == MAP_FAILED) return te_fail(err, TE_ERR_IO, "%s: mmap failed: %s", path, strerror(errno));
    f->map = p;
    return TE_OK;
}

static te_status open_file(st_file *f, const char *path, te_error *err) {
    te_status st = st_map_file(f, path, err);
    if (st != TE_OK) return st;
    uint64_t hlen = te_le64(f->map);
    if (hlen > ST_MAX_HEADER) return te_fail(err, TE_ERR_FORMAT, "%s: header length %llu is not plausible (not a safetensors file?)", path, (unsigned long long)hlen);
    if (hlen > f->size - 8)
        return te_fail(err, TE_ERR_TRUNCATED, "%s: file is truncated: the %llu-byte header does not fit in %zu bytes",
                       path, (unsigned long long)hlen, f->size);
    te_error jerr;
    f->header = json_parse((const char *)f->map + 8, (size_t)hlen, &jerr);
    if (!f->header) return te_fail(err, jerr.code, "%s: bad JSON header: %s", path, jerr.msg);
    const json_value *root = json_root(f->header);
    if (root->type != JSON_OBJECT) return te_fail(err, TE_ERR_FORMAT, "%s: header is not a JSON object", path);
    f->tensors = calloc(root->len ? root->len : 1, sizeof *f->tensors);
    if (!f->tensors) return te_fail(err, TE_ERR_NOMEM, "out of memory");
    uint64_t data_size = f->size - 8 - hlen;
    for (size_t i = 0; i < root->len; i++) {
        if (strcmp(root->members[i].key, "__metadata__") == 0) continue;
        st = parse_entry(f->map + 8 + hlen, data_size, &root->members[i], &f->tensors[f->n], err);
        if (st != TE_OK) {
            te_error_prefix(err, "%s", path);
            return st;
        }
        f->n++;
    }
    return TE_OK;
}

te_status st_open(st_file *f, const char *path, te_error *err) {
    te_status st = open_file(f, path, err);
    if (st != TE_OK) st_close(f);
    return st;
}

void st_close(st_file *f) {
    if (f->free_owned) f->free_owned(f->owned);
    if (f->map) munmap((void *)f->map, f->size);
    if (f->fd >= 0) close(f->fd);
    json_free(f->header);
    free(f->tensors);
    free(f->path);
    memset(f, 0, sizeof *f);
    f->fd = -1;
}

st_tensor *st_find(st_file *f, const char *name) {
    for (size_t i = 0; i < f->n; i++)
        if (strcmp(f->tensors[i].name, name) == 0) return &f->tensors[i];
    return NULL;
}
