/*
 * temb_writer.c - writes .temb files (see temb_writer.h and docs/FORMAT.md).
 *
 * The layout (every offset) is computed before anything is written; tensor
 * data goes out first, one tensor buffer at a time, then the directory with
 * the CRCs, then the header. The file is created unnamed (O_TMPFILE) where
 * the filesystem allows, so a killed conversion leaves nothing behind; else
 * under "<path>.part", removed on any error.
 */
#include "temb_writer.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crc32.h"
#include "format.h"
#include "format_util.h"
#include "internal.h"
#include "model_meta.h"
#include "out_file.h"

typedef struct buf {
    uint8_t *p;
    size_t n, cap;
} buf;

typedef struct pending_tensor {
    char name[TEMB_TENSOR_NAME];
    te_dtype dtype;
    te_layout layout;
    int n_dims;
    uint64_t dims[TEMB_MAX_DIMS];
    int new_block;
    temb_fill_fn fill;
    temb_late_fn late; /* instead of fill: runs over the written file (temb_add_late_tensor) */
    void *user;
    uint64_t offset, bytes;
    uint32_t crc;
} pending_tensor;

struct temb_writer {
    te_error err; /* sticky: first error wins */
    buf meta;
    uint32_t n_kv;
    buf added;
    uint32_t n_added;
    buf hot;
    const char *const *vocab;
    const uint32_t *vocab_lens;
    uint32_t n_vocab;
    pending_tensor *tensors;
    size_t n_tensors, cap_tensors;
};

static int ok(const temb_writer *w) { return w->err.code == TE_OK; }

static void buf_free(buf *b) { free(b->p); }

static int buf_reserve(temb_writer *w, buf *b, size_t extra) {
    if (!ok(w)) return 0;
    size_t need;
    if (!te_add_size(b->n, extra, &need)) { te_fail(&w->err, TE_ERR_NOMEM, "metadata too large"); return 0; }
    if (need <= b->cap) return 1;
    size_t cap = b->cap ? b->cap : 1024;
    while (cap < need) cap *= 2;
    uint8_t *p = realloc(b->p, cap);
    if (!p) { te_fail(&w->err, TE_ERR_NOMEM, "out of memory building the file header"); return 0; }
    b->p = p;
    b->cap = cap;
    return 1;
}

static void buf_put(temb_writer *w, buf *b, const void *data, size_t n) {
    if (!buf_reserve(w, b, n)) return;
    memcpy(b->p + b->n, data, n);
    b->n += n;
}

static void buf_u32(temb_writer *w, buf *b, uint32_t v) {
    uint8_t x[4];
    te_put32(x, v);
    buf_put(w, b, x, 4);
}

static void buf_pad4(temb_writer *w, buf *b) {
    static const uint8_t zero[4] = {0};
    buf_put(w, b, zero, (4 - b->n % 4) % 4);
}

temb_writer *temb_writer_new(void) { return calloc(1, sizeof(temb_writer)); }

void temb_writer_free(temb_writer *w) {
    if (!w) return;
    buf_free(&w->meta);
    buf_free(&w->added);
    buf_free(&w->hot);
    free(w->tensors);
    free(w);
}

static void kv_key(temb_writer *w, const char *key, uint8_t type) {
    size_t n = strlen(key);
    if (n == 0 || n > TEMB_MAX_KEY) { te_fail(&w->err, TE_ERR_ARG, "bad metadata key '%s'", key); return; }
    uint8_t h[4];
    te_put16(h, (uint16_t)n);
    h[2] = type;
    h[3] = 0;
    buf_put(w, &w->meta, h, 4);
    buf_put(w, &w->meta, key, n);
    buf_pad4(w, &w->meta);
    w->n_kv++;
}

void temb_kv_u32(temb_writer *w, const char *key, uint32_t v) {
    kv_key(w, key, TEMB_KV_U32);
    buf_u32(w, &w->meta, v);
}

void temb_kv_f32(temb_writer *w, const char *key, float v) {
    uint32_t bits;
    memcpy(&bits, &v, 4);
    kv_key(w, key, TEMB_KV_F32);
    buf_u32(w, &w->meta, bits);
}

void temb_kv_str(temb_writer *w, const char *key, const char *v) {
    size_t n = strlen(v);
    if (n > UINT32_MAX) { te_fail(&w->err, TE_ERR_ARG, "metadata value too long"); return; }
    kv_key(w, key, TEMB_KV_STR);
    buf_u32(w, &w->meta, (uint32_t)n);
    buf_put(w, &w->meta, v, n);
    buf_pad4(w, &w->meta);
}

void temb_set_vocab(temb_writer *w, const char *const *tokens, const uint32_t *lens, uint32_t n) {
    w->vocab = tokens;
    w->vocab_lens = lens;
    w->n_vocab = n;
}

void temb_add_added_token(temb_writer *w, uint32_t id, uint32_t flags, const char *content) {
    size_t n = strlen(content);
    if (n == 0 || n > TEMB_MAX_ADDED_LEN) {
        te_fail(&w->err, TE_ERR_UNSUPPORTED, "added token '%.40s' is empty or longer than %d bytes", content, TEMB_MAX_ADDED_LEN);
        return;
    }
    buf_u32(w, &w->added, id);
    buf_u32(w, &w->added, flags);
    buf_u32(w, &w->added, (uint32_t)n);
    buf_put(w, &w->added, content, n);
    buf_pad4(w, &w->added);
    w->n_added++;
}

void temb_fail(temb_writer *w, te_status code, const char *msg) {
    if (ok(w)) te_fail(&w->err, code, "%s", msg);
}

void temb_set_hot_rows(temb_writer *w, const uint32_t *ids, uint32_t n) {
    if (n > TEMB_MAX_HOT) { te_fail(&w->err, TE_ERR_ARG, "too many hot rows (%u)", n); return; }
    w->hot.n = 0;
    buf_u32(w, &w->hot, n);
    for (uint32_t i = 0; i < n; i++) buf_u32(w, &w->hot, ids[i]);
}

void temb_add_tensor(temb_writer *w, const char *name, te_dtype dtype, te_layout layout,
                     int n_dims, const uint64_t *dims, int new_block,
                     temb_fill_fn fill, void *user) {
    if (!ok(w)) return;
    if (strlen(name) >= TEMB_TENSOR_NAME) { te_fail(&w->err, TE_ERR_ARG, "tensor name too long: %s", name); return; }
    if (n_dims < 1 || n_dims > TEMB_MAX_DIMS || te_tensor_stored_bytes(dtype, layout, n_dims, dims) == 0) {
        te_fail(&w->err, TE_ERR_SHAPE, "tensor %s: invalid shape", name);
        return;
    }
    if (w->n_tensors == w->cap_tensors) {
        size_t cap = w->cap_tensors ? w->cap_tensors * 2 : 64;
        pending_tensor *t = realloc(w->tensors, cap * sizeof *t);
        if (!t) { te_fail(&w->err, TE_ERR_NOMEM, "out of memory"); return; }
        w->tensors = t;
        w->cap_tensors = cap;
    }
    pending_tensor *t = &w->tensors[w->n_tensors++];
    memset(t, 0, sizeof *t);
    memcpy(t->name, name, strlen(name));
    t->dtype = dtype;
    t->layout = layout;
    t->n_dims = n_dims;
    memcpy(t->dims, dims, (size_t)n_dims * sizeof *dims);
    t->new_block = new_block;
    t->fill = fill;
    t->user = user;
    t->bytes = te_tensor_stored_bytes(dtype, layout, n_dims, dims);
}

void temb_add_late_tensor(temb_writer *w, const char *name, int n_dims, const uint64_t *dims, temb_late_fn fill,
                          void *user) {
    size_t before = w->n_tensors;
    temb_add_tensor(w, name, TE_DTYPE_F32, TE_LAYOUT_ROWS, n_dims, dims, 0, NULL, user);
    if (w->n_tensors > before) w->tensors[before].late = fill;
}

/* Builds the VOCAB section: offsets, hash slots, blob. */
static void build_vocab(temb_writer *w, buf *out) {
    uint32_t n = w->n_vocab, bits = 4, max_len = 0;
    while (bits < TEMB_MAX_HASH_BITS && ((uint64_t)1 << bits) < (uint64_t)n * 2) bits++;
    uint64_t blob = 0;
    for (uint32_t i = 0; i < n; i++) {
        blob += w->vocab_lens[i];
        if (w->vocab_lens[i] > max_len) max_len = w->vocab_lens[i];
    }
    if (blob > UINT32_MAX) { te_fail(&w->err, TE_ERR_UNSUPPORTED, "vocabulary too large"); return; }
    buf_u32(w, out, n);
    buf_u32(w, out, bits);
    buf_u32(w, out, max_len);
    buf_u32(w, out, (uint32_t)blob);
    uint32_t off = 0;
    for (uint32_t i = 0; i <= n; i++) {
        buf_u32(w, out, off);
        if (i < n) off += w->vocab_lens[i];
    }
    size_t nslots = (size_t)1 << bits, slots_at = out->n;
    if (!buf_reserve(w, out, nslots * 4)) return;
    memset(out->p + slots_at, 0, nslots * 4);
    out->n += nslots * 4;
    /* Empty tokens can never match and are left out of the table; a repeated
     * token resolves to its last id, as the reference's vocab loader does. */
    for (uint32_t i = 0; i < n; i++) {
        if (w->vocab_lens[i] == 0) continue;
        size_t s = te_fnv1a(TEMB_FNV_OFFSET, w->vocab[i], w->vocab_lens[i]) & (nslots - 1);
        for (;;) {
            uint8_t *slot = out->p + slots_at + s * 4;
            uint32_t v = te_le32(slot);
            if (v == 0 || (w->vocab_lens[v - 1] == w->vocab_lens[i] &&
                           memcmp(w->vocab[v - 1], w->vocab[i], w->vocab_lens[i]) == 0)) {
                te_put32(slot, i + 1);
                break;
            }
            s = (s + 1) & (nslots - 1);
        }
    }
    for (uint32_t i = 0; i < n; i++) buf_put(w, out, w->vocab[i], w->vocab_lens[i]);
    buf_pad4(w, out);
}

static void build_tensor_dir(temb_writer *w, buf *out) {
    buf_u32(w, out, (uint32_t)w->n_tensors);
    buf_u32(w, out, TEMB_TENSOR_ENTRY);
    buf_u32(w, out, 0);
    buf_u32(w, out, 0);
    for (size_t i = 0; i < w->n_tensors; i++) {
        const pending_tensor *t = &w->tensors[i];
        uint8_t e[TEMB_TENSOR_ENTRY] = {0};
        memcpy(e, t->name, TEMB_TENSOR_NAME);
        te_put32(e + 64, (uint32_t)t->dtype);
        te_put32(e + 68, (uint32_t)t->layout);
        te_put32(e + 72, (uint32_t)t->n_dims);
        te_put32(e + 76, t->crc);
        for (int d = 0; d < TEMB_MAX_DIMS; d++) te_put64(e + 80 + 8 * d, d < t->n_dims ? t->dims[d] : 0);
        te_put64(e + 112, t->offset);
        te_put64(e + 120, t->bytes);
        buf_put(w, out, e, sizeof e);
    }
}

static void put_section(uint8_t *entry, uint32_t kind, uint32_t crc, uint64_t off, uint64_t size) {
    te_put32(entry, kind);
    te_put32(entry + 4, crc);
    te_put64(entry + 8, off);
    te_put64(entry + 16, size);
}

/* Where everything goes: header, META, ADDED, TENSORS, HOT, VOCAB, then DATA
 * on a block boundary, each tensor at its own alignment. */
enum { N_SECTIONS = 6 };
typedef struct layout {
    buf meta, added, vocab, dir;
    uint64_t meta_off, added_off, dir_off, hot_off, vocab_off, data_off;
    uint64_t file_size, tensor_bytes;
} layout;

static void plan(temb_writer *w, layout *l) {
    buf_u32(w, &l->meta, w->n_kv);
    buf_put(w, &l->meta, w->meta.p, w->meta.n);
    buf_u32(w, &l->added, w->n_added);
    buf_put(w, &l->added, w->added.p, w->added.n);
    build_vocab(w, &l->vocab);
    if (w->hot.n == 0) buf_u32(w, &w->hot, 0);
    uint64_t header_size = TEMB_FIXED_HEADER + N_SECTIONS * TEMB_SECTION_ENTRY;
    uint64_t dir_size = TEMB_TENSORS_HEADER + (uint64_t)w->n_tensors * TEMB_TENSOR_ENTRY;
    l->meta_off = te_align_up(header_size, 64);
    l->added_off = te_align_up(l->meta_off + l->meta.n, 64);
    l->dir_off = te_align_up(l->added_off + l->added.n, 64);
    l->hot_off = te_align_up(l->dir_off + dir_size, 64);
    l->vocab_off = te_align_up(l->hot_off + w->hot.n, 64);
    l->data_off = te_align_up(l->vocab_off + l->vocab.n, TEMB_BLOCK_ALIGN);
    uint64_t pos = l->data_off;
    for (size_t i = 0; i < w->n_tensors; i++) {
        pending_tensor *t = &w->tensors[i];
        pos = te_align_up(pos, t->new_block ? TEMB_BLOCK_ALIGN : TEMB_TENSOR_ALIGN);
        t->offset = pos;
        pos += t->bytes;
        l->tensor_bytes += t->bytes;
    }
    l->file_size = pos;
}

/* Each tensor's bytes from its fill, one buffer at a time, with its CRC. */
static te_status write_tensors(temb_writer *w, te_out_file *o, const char *path, uint64_t total,
                               void (*progress)(void *, uint64_t, uint64_t), void *user, te_error *err) {
    te_status st = TE_OK;
    void *tbuf = NULL;
    uint64_t done = 0;
    for (size_t i = 0; st == TE_OK && i < w->n_tensors; i++) {
        pending_tensor *t = &w->tensors[i];
        if (t->bytes > SIZE_MAX) { st = te_fail(err, TE_ERR_NOMEM, "tensor %s too large", t->name); break; }
        free(tbuf);
        tbuf = malloc((size_t)t->bytes);
        if (!tbuf) { st = te_fail(err, TE_ERR_NOMEM, "out of memory for tensor %s (%llu bytes)", t->name, (unsigned long long)t->bytes); break; }
        if (t->late) memset(tbuf, 0, (size_t)t->bytes); /* a valid file to read; patched by finish_late */
        else st = t->fill(t->user, tbuf, (size_t)t->bytes, err);
        if (st != TE_OK) break;
        t->crc = te_crc32_update(0, tbuf, (size_t)t->bytes);
        st = te_out_pwrite(o, tbuf, (size_t)t->bytes, t->offset, path, err);
        done += t->bytes;
        if (progress) progress(user, done, total);
    }
    free(tbuf);
    return st;
}

/* The header and the sections before DATA (gaps zero-filled, so the file
 * has no holes of undefined content), once the tensors' CRCs are known. */
static te_status write_head(temb_writer *w, layout *l, te_out_file *o, const char *path, te_error *err) {
    l->dir.n = 0;
    build_tensor_dir(w, &l->dir);
    if (!ok(w)) return err ? (*err = w->err).code : w->err.code;
    uint8_t hdr[TEMB_FIXED_HEADER + N_SECTIONS * TEMB_SECTION_ENTRY] = {0};
    memcpy(hdr, TEMB_MAGIC, 4);
    te_put16(hdr + 4, TEMB_VERSION_MAJOR);
    te_put16(hdr + 6, TEMB_VERSION_MINOR);
    te_put32(hdr + 8, (uint32_t)sizeof hdr);
    te_put32(hdr + 12, N_SECTIONS);
    te_put64(hdr + 16, l->file_size);
    uint8_t *s = hdr + TEMB_FIXED_HEADER;
    put_section(s + 0 * TEMB_SECTION_ENTRY, TEMB_SEC_META, te_crc32_update(0, l->meta.p, l->meta.n), l->meta_off, l->meta.n);
    put_section(s + 1 * TEMB_SECTION_ENTRY, TEMB_SEC_ADDED, te_crc32_update(0, l->added.p, l->added.n), l->added_off, l->added.n);
    put_section(s + 2 * TEMB_SECTION_ENTRY, TEMB_SEC_TENSORS, te_crc32_update(0, l->dir.p, l->dir.n), l->dir_off, l->dir.n);
    put_section(s + 3 * TEMB_SECTION_ENTRY, TEMB_SEC_VOCAB, te_crc32_update(0, l->vocab.p, l->vocab.n), l->vocab_off, l->vocab.n);
    put_section(s + 4 * TEMB_SECTION_ENTRY, TEMB_SEC_DATA, 0, l->data_off, l->file_size - l->data_off);
    put_section(s + 5 * TEMB_SECTION_ENTRY, TEMB_SEC_HOT, te_crc32_update(0, w->hot.p, w->hot.n), l->hot_off, w->hot.n);
    te_put32(hdr + 28, te_crc32_update(0, hdr, sizeof hdr));
    uint8_t *head = calloc(1, (size_t)l->data_off);
    if (!head) return te_fail(err, TE_ERR_NOMEM, "out of memory");
    memcpy(head, hdr, sizeof hdr);
    memcpy(head + l->meta_off, l->meta.p, l->meta.n);
    memcpy(head + l->added_off, l->added.p, l->added.n);
    memcpy(head + l->dir_off, l->dir.p, l->dir.n);
    memcpy(head + l->vocab_off, l->vocab.p, l->vocab.n);
    memcpy(head + l->hot_off, w->hot.p, w->hot.n);
    te_status st = te_out_pwrite(o, head, (size_t)l->data_off, 0, path, err);
    free(head);
    return st;
}

/* The late tensors: the file is complete and valid (their bytes zero), so
 * their fills read it; then their bytes, CRCs and the header are rewritten. */
static te_status finish_late(temb_writer *w, layout *l, te_out_file *o, const char *path, te_error *err) {
    char readable[4096 + 32];
    int any = 0;
    if (o->anonymous) snprintf(readable, sizeof readable, "/proc/self/fd/%d", o->fd); /* reopens the unnamed file */
    else snprintf(readable, sizeof readable, "%s", o->part);
    te_status st = TE_OK;
    for (size_t i = 0; st == TE_OK && i < w->n_tensors; i++) {
        pending_tensor *t = &w->tensors[i];
        if (!t->late) continue;
        void *tbuf = calloc(1, (size_t)t->bytes);
        if (!tbuf) return te_fail(err, TE_ERR_NOMEM, "out of memory for tensor %s", t->name);
        te_error mine;
        st = t->late(t->user, readable, tbuf, (size_t)t->bytes, err ? err : &mine); /* fills may read err->code */
        if (st == TE_OK) st = te_out_pwrite(o, tbuf, (size_t)t->bytes, t->offset, path, err);
        t->crc = te_crc32_update(0, tbuf, (size_t)t->bytes);
        free(tbuf);
        any = 1;
    }
    return st == TE_OK && any ? write_head(w, l, o, path, err) : st;
}

te_status temb_write(temb_writer *w, const char *path,
                     void (*progress)(void *user, uint64_t done, uint64_t total),
                     void *progress_user, te_error *err) {
    if (!ok(w)) { if (err) *err = w->err; return w->err.code; }
    layout l;
    memset(&l, 0, sizeof l);
    plan(w, &l);
    te_out_file o = {.fd = -1};
    te_status st = ok(w) ? TE_OK : (err ? (*err = w->err).code : w->err.code);
    /* Nothing the reader would refuse is written: its own checks, before any tensor is encoded. */
    if (st == TE_OK) st = te_meta_validate(l.meta.p, l.meta.n, w->n_vocab, err);
    if (st == TE_OK) st = te_out_open(&o, path, err);
    if (st == TE_OK) st = write_tensors(w, &o, path, l.tensor_bytes, progress, progress_user, err);
    if (st == TE_OK) st = write_head(w, &l, &o, path, err);
    if (st == TE_OK && ftruncate(o.fd, (off_t)l.file_size) != 0)
        st = te_fail(err, TE_ERR_IO, "%s: cannot set file size: %s", path, strerror(errno));
    if (st == TE_OK) st = finish_late(w, &l, &o, path, err);
    if (st == TE_OK) st = te_out_commit(&o, path, err);
    if (st != TE_OK) te_out_abort(&o);
    buf_free(&l.meta);
    buf_free(&l.vocab);
    buf_free(&l.added);
    buf_free(&l.dir);
    return st;
}
