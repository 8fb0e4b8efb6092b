/*
 * torch_ckpt.c - PyTorch checkpoints (torch.save since 1.6: a zip archive
 * of ARCHIVE/data.pkl, the pickled state dict, and ARCHIVE/data/KEY, each
 * storage's raw bytes) as an st_file of tensors.
 *
 * The pickle goes through the restricted reader (pickle.c), which runs
 * nothing. Tensors of the state dict (and of dicts inside it, named
 * "outer.inner") become st_tensors: a contiguous one points into its
 * storage; a strided view is copied out. Storages are stored or deflated
 * entries, each read (and CRC-checked) once however many tensors share it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "pickle.h"
#include "safetensors.h"
#include "zip.h"

#define MAX_NESTING 8

typedef struct owned {
    zip_archive zip;
    pk_arena *arena;
    const uint8_t **bytes;   /* per zip entry: its data once read, or NULL */
    uint8_t **decoded;       /* per zip entry: its inflated copy, or NULL */
    uint8_t **copies;        /* strided tensors copied out */
    size_t n_copies;
    char **names;
    size_t n_names;
} owned;

static void free_owned(void *p) {
    owned *o = p;
    if (!o) return;
    for (size_t i = 0; i < o->zip.n && o->decoded; i++) free(o->decoded[i]);
    for (size_t i = 0; i < o->n_copies; i++) free(o->copies[i]);
    for (size_t i = 0; i < o->n_names; i++) free(o->names[i]);
    free(o->bytes), free(o->decoded), free(o->copies), free(o->names);
    zip_close(&o->zip);
    pk_free(o->arena);
    free(o);
}

typedef struct reader {
    st_file *f;
    owned *o;
    const char *archive;  /* "ARCHIVE/" */
    size_t cap;           /* tensors allocated */
    te_error *err;
} reader;

/* An entry's bytes, read once. */
static te_status entry_bytes(reader *r, const zip_entry *e, const uint8_t **out) {
    size_t i = (size_t)(e - r->o->zip.entries);
    if (!r->o->bytes[i]) {
        te_status st = zip_read(e, &r->o->bytes[i], &r->o->decoded[i], r->err);
        if (st != TE_OK) return st;
    }
    *out = r->o->bytes[i];
    return TE_OK;
}

static const char *const dtype_names[] = {"F64", "F32", "F16", "BF16", "I64", "I32", "I16", "I8", "U8", "BOOL"};

/* The tensor's elements, contiguous: in place, or gathered by its strides. */
static te_status view(reader *r, const pk_value *t, const uint8_t *base, size_t esize, uint64_t count, st_tensor *out) {
    int contiguous = 1;
    int64_t expect = 1;
    for (int d = t->n_dims - 1; d >= 0; d--) {
        if (t->sizes[d] != 1 && t->strides[d] != expect) contiguous = 0;
        expect *= t->sizes[d];
    }
    if (contiguous || count == 0) {
        out->data = base + (size_t)t->offset * esize;
        return TE_OK;
    }
    uint8_t *copy = malloc((size_t)count * esize), **list = realloc(r->o->copies, (r->o->n_copies + 1) * sizeof *list);
    if (list) r->o->copies = list;
    if (!copy || !list) {
        free(copy);
        return te_fail(r->err, TE_ERR_NOMEM, "out of memory");
    }
    r->o->copies[r->o->n_copies++] = copy;
    int64_t idx[PK_MAX_DIMS] = {0};
    for (uint64_t k = 0; k < count; k++) {
        int64_t at = t->offset;
        for (int d = 0; d < t->n_dims; d++) at += idx[d] * t->strides[d];
        memcpy(copy + k * esize, base + (size_t)at * esize, esize);
        for (int d = t->n_dims - 1; d >= 0 && ++idx[d] == t->sizes[d]; d--) idx[d] = 0;
    }
    out->data = copy;
    return TE_OK;
}

/* One tensor of the state dict: its storage entry, bounds, and data. */
static te_status add_tensor(reader *r, const char *name, const pk_value *t) {
    const pk_value *s = t->storage;
    char entry[512];
    snprintf(entry, sizeof entry, "%sdata/%s", r->archive, s->s);
    const zip_entry *e = zip_find(&r->o->zip, entry);
    if (!e) return te_fail(r->err, TE_ERR_FORMAT, "tensor %s: its storage %s is not in the archive", name, entry);
    size_t esize = pk_dtype_size(s->dtype);
    uint64_t count = 1, last = (uint64_t)t->offset, bytes;
    int empty = 0;
    for (int d = 0; d < t->n_dims; d++) {
        if (t->sizes[d] < 0 || t->strides[d] < 0 || t->sizes[d] > ((int64_t)1 << 40) || t->strides[d] > ((int64_t)1 << 40))
            return te_fail(r->err, TE_ERR_FORMAT, "tensor %s: a negative or huge size or stride", name);
        uint64_t reach;
        empty |= t->sizes[d] == 0;
        if (!te_mul_u64(count, (uint64_t)t->sizes[d], &count) ||
            !te_mul_u64(t->sizes[d] ? (uint64_t)(t->sizes[d] - 1) : 0, (uint64_t)t->strides[d], &reach) || reach > UINT64_MAX - last)
            return te_fail(r->err, TE_ERR_FORMAT, "tensor %s: its shape overflows", name);
        last += reach;
    }
    if (t->offset < 0 || (uint64_t)s->i > e->size / esize || (!empty && last >= (uint64_t)s->i) ||
        !te_mul_u64(count, esize, &bytes))
        return te_fail(r->err, TE_ERR_FORMAT, "tensor %s: reaches past its storage (%llu elements, %llu bytes stored)", name,
                       (unsigned long long)s->i, (unsigned long long)e->size);
    st_tensor *out = &r->f->tensors[r->f->n];
    const uint8_t *base;
    te_status st = entry_bytes(r, e, &base);
    if (st == TE_OK) st = view(r, t, base, esize, count, out);
    if (st != TE_OK) return st;
    out->name = name;
    out->dtype = dtype_names[s->dtype];
    out->elem_size = esize;
    out->n_dims = t->n_dims;
    for (int d = 0; d < t->n_dims; d++) out->dims[d] = (uint64_t)t->sizes[d];
    out->bytes = bytes;
    r->f->n++;
    return TE_OK;
}

/* Room for one more tensor, and name kept (freed with the rest). */
static te_status grow(reader *r, char *name) {
    char **names = realloc(r->o->names, (r->o->n_names + 1) * sizeof *names);
    if (names) r->o->names = names, names[r->o->n_names++] = name;
    if (!names || !name) {
        if (names) r->o->n_names--;
        free(name);
        return te_fail(r->err, TE_ERR_NOMEM, "out of memory");
    }
    if (r->f->n < r->cap) return TE_OK;
    size_t cap = r->cap ? 2 * r->cap : 64;
    st_tensor *t = realloc(r->f->tensors, cap * sizeof *t);
    if (!t) return te_fail(r->err, TE_ERR_NOMEM, "out of memory");
    r->f->tensors = t;
    memset(t + r->cap, 0, (cap - r->cap) * sizeof *t);
    r->cap = cap;
    return TE_OK;
}

/* The tensors of a dict, keys joined with '.' into nested dicts; other values are not weights. */
static te_status walk(reader *r, const pk_value *d, const char *prefix, int depth) {
    if (depth > MAX_NESTING) return te_fail(r->err, TE_ERR_FORMAT, "dicts nested more than %d deep", MAX_NESTING);
    for (size_t i = 0; i + 1 < d->n; i += 2) {
        const pk_value *k = d->items[i], *v = d->items[i + 1];
        if (k->kind != PK_STR || (v->kind != PK_TENSOR && v->kind != PK_DICT)) continue;
        size_t n = strlen(prefix) + k->len + 2;
        char *name = malloc(n);
        te_status st = grow(r, name);
        if (st != TE_OK) return st;
        snprintf(name, n, "%s%s", prefix, k->s);
        if (v->kind == PK_TENSOR) st = add_tensor(r, name, v);
        else if (strlen(name) < 400) st = walk(r, v, strcat(name, "."), depth + 1); /* name has room for the dot */
        if (st != TE_OK) return st;
    }
    return TE_OK;
}

/* ARCHIVE/data.pkl: the one entry named so (torch names the folder after the file, or "archive"). */
static const zip_entry *find_pickle(const zip_archive *z, char *archive, size_t cap) {
    for (size_t i = 0; i < z->n; i++) {
        const char *n = z->entries[i].name, *slash = strchr(n, '/');
        if (slash && !strcmp(slash, "/data.pkl") && (size_t)(slash - n) + 2 <= cap) {
            snprintf(archive, cap, "%.*s/", (int)(slash - n), n);
            return &z->entries[i];
        }
    }
    return NULL;
}

static te_status read_archive(reader *r) {
    owned *o = r->o;
    te_status st = zip_open(&o->zip, r->f->map, r->f->size, r->err);
    if (st != TE_OK) return st;
    char archive[256];
    const zip_entry *pkl = find_pickle(&o->zip, archive, sizeof archive);
    if (!pkl) return te_fail(r->err, TE_ERR_FORMAT, "a zip without ARCHIVE/data.pkl: not a PyTorch checkpoint");
    char order[300];
    snprintf(order, sizeof order, "%sbyteorder", archive);
    const zip_entry *bo = zip_find(&o->zip, order);
    if (bo && !(bo->size == 6 && bo->method == 0 && !memcmp(bo->data, "little", 6)))
        return te_fail(r->err, TE_ERR_UNSUPPORTED, "a checkpoint saved big-endian (byteorder is not \"little\")");
    o->bytes = calloc(o->zip.n, sizeof *o->bytes);
    o->decoded = calloc(o->zip.n, sizeof *o->decoded);
    if (!o->bytes || !o->decoded) return te_fail(r->err, TE_ERR_NOMEM, "out of memory");
    const uint8_t *p;
    pk_value *root;
    if ((st = entry_bytes(r, pkl, &p)) != TE_OK || (st = pk_load(p, (size_t)pkl->size, &root, &o->arena, r->err)) != TE_OK) {
        te_error_prefix(r->err, "%s", pkl->name);
        return st;
    }
    if (root->kind != PK_DICT) return te_fail(r->err, TE_ERR_FORMAT, "%s holds no state dict", pkl->name);
    r->archive = archive;
    return walk(r, root, "", 0);
}

/* The pre-1.6 format: a pickle (protocol 2) of the magic number 0x1950a86a20f9469cfc6c first. */
static int is_legacy(const uint8_t *p, size_t n) {
    static const uint8_t magic[] = {0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19};
    return n >= sizeof magic && !memcmp(p, magic, sizeof magic);
}

te_status pt_open(st_file *f, const char *path, te_error *err) {
    te_status st = st_map_file(f, path, err);
    if (st != TE_OK) {
        st_close(f);
        return st;
    }
    if (!zip_is_zip(f->map, f->size)) {
        st = is_legacy(f->map, f->size)
                 ? te_fail(err, TE_ERR_UNSUPPORTED, "%s: the legacy PyTorch format (torch.save before 1.6, not a zip) is "
                           "not read: re-save it with a current torch, or as safetensors", path)
                 : te_fail(err, TE_ERR_FORMAT, "%s: not a PyTorch checkpoint (no zip archive)", path);
        st_close(f);
        return st;
    }
    reader r = {.f = f, .err = err};
    if (!(r.o = calloc(1, sizeof *r.o))) st = te_fail(err, TE_ERR_NOMEM, "out of memory");
    f->owned = r.o, f->free_owned = free_owned;
    if (st == TE_OK && (st = read_archive(&r)) != TE_OK) te_error_prefix(err, "%s", path);
    if (st != TE_OK) st_close(f);
    return st;
}
