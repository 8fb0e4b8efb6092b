/*
 * model.c - te_open/te_close: maps a .temb file and validates every byte it
 * will later rely on, without touching tensor pages.
 *
 * Order: file checks -> fixed header -> section table -> META (key/values)
 * -> TENSORS (directory) -> VOCAB -> ADDED -> binding of the encoder's
 * weights (what the architecture settings say exists) by name and shape. Every offset read from the file is checked against the
 * file size with overflow-safe arithmetic before it is dereferenced.
 */
#include "model.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bundle.h"
#include "clock.h"
#include "crc32.h"
#include "format_util.h"
#include "internal.h"
#include "loader.h"
#include "model_meta.h"
#include "tok_pipeline.h"

typedef struct section {
    uint32_t kind, crc;
    uint64_t offset, size;
} section;

/* Checks [off, off + size) lies within the file. */
static int in_file(const te_model *m, uint64_t off, uint64_t size) {
    return off <= m->map_size && size <= m->map_size - off;
}

static te_status map_file(te_model *m, const char *path, te_error *err) {
    /* O_NONBLOCK: opening a FIFO by mistake must not hang. */
    m->fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (m->fd < 0) {
        if (errno == ENOENT) return te_fail(err, TE_ERR_NOT_FOUND, "no such file");
        return te_fail(err, TE_ERR_IO, "cannot open: %s", strerror(errno));
    }
    struct stat st;
    if (fstat(m->fd, &st) != 0) return te_fail(err, TE_ERR_IO, "cannot stat: %s", strerror(errno));
    if (S_ISDIR(st.st_mode)) return te_fail(err, TE_ERR_ARG, "is a directory, not a .temb file");
    if (!S_ISREG(st.st_mode)) return te_fail(err, TE_ERR_ARG, "not a regular file");
    if (st.st_size == 0) return te_fail(err, TE_ERR_TRUNCATED, "file is empty (0 bytes)");
    uint64_t offset = 0, bytes = (uint64_t)st.st_size;
    te_bundle_range b;
    int found = te_bundle_read(m->fd, bytes, &b, err);
    if (found < 0) return err ? err->code : TE_ERR_FORMAT;
    if (found) {
        long page = sysconf(_SC_PAGESIZE);
        if (page > 0 && b.offset % (uint64_t)page != 0)
            return te_fail(err, TE_ERR_UNSUPPORTED,
                           "the bundled model starts at byte %llu, not a multiple of this machine's page size (%ld): "
                           "bundle it again with `tinyembed bundle --align %ld`",
                           (unsigned long long)b.offset, page, page);
        offset = b.offset;
        bytes = b.bytes;
        m->bundle_crc = b.crc;
        m->info.file_offset = b.offset;
    }
    if (bytes > SIZE_MAX) return te_fail(err, TE_ERR_UNSUPPORTED, "file too large to map");
    m->map_size = (size_t)bytes;
    m->huge_begin = m->map_size; /* no huge-page advice yet (loader.c) */
    void *p = mmap(NULL, m->map_size, PROT_READ, MAP_SHARED, m->fd, (off_t)offset);
    if (p == MAP_FAILED) return te_fail(err, TE_ERR_IO, "mmap failed: %s", strerror(errno));
    m->map = p;
    /* No read-around: a fault on the last metadata page must not drag in
     * the first tensor pages. te_open asks for exactly the metadata range
     * instead; the loader then sets the advice for the tensors. */
    madvise(p, m->map_size, MADV_RANDOM);
    return TE_OK;
}

/* Says what a file that is not .temb seems to be, for a friendlier error. */
static const char *guess_kind(const uint8_t *p, size_t n) {
    if (n >= 4 && memcmp(p, "GGUF", 4) == 0) return " (this is a GGUF file)";
    if (n >= 8 && memcmp(p, "TEMBIDX1", 8) == 0) return " (this is a search index: query it with `tinyembed search`)";
    if (n >= 4 && memcmp(p, "\x7f" "ELF", 4) == 0) return " (this is an executable with no model bundled in it)";
    if (n >= 9 && te_le64(p) < n && p[8] == '{') return " (this looks like a safetensors file: convert its model directory with `tinyembed convert`)";
    if (n >= 1 && (p[0] == '{' || p[0] == '[')) return " (this looks like a JSON file)";
    if (n >= 2 && p[0] == 0x80 && p[1] <= 5) return " (this looks like a PyTorch pickle)";
    if (n >= 2 && p[0] == 'P' && p[1] == 'K') return " (this looks like a zip / PyTorch .bin file)";
    return "";
}

static te_status parse_header(te_model *m, section *secs, uint32_t *n_secs, te_error *err) {
    const uint8_t *p = m->map;
    if (m->map_size < 4 && memcmp(p, TEMB_MAGIC, m->map_size) == 0)
        return te_fail(err, TE_ERR_TRUNCATED, "file is truncated: %zu bytes, shorter than the %d-byte header",
                       m->map_size, TEMB_FIXED_HEADER);
    /* A search index's magic ("TEMBIDX1") starts with the model's: told apart before the version. */
    if (m->map_size < 4 || memcmp(p, TEMB_MAGIC, 4) != 0 || (m->map_size >= 8 && memcmp(p, "TEMBIDX1", 8) == 0))
        return te_fail(err, TE_ERR_FORMAT, "not a .temb file (bad magic)%s", guess_kind(p, m->map_size));
    if (m->map_size < TEMB_FIXED_HEADER)
        return te_fail(err, TE_ERR_TRUNCATED, "file is truncated: %zu bytes, shorter than the %d-byte header",
                       m->map_size, TEMB_FIXED_HEADER);
    unsigned major = te_le16(p + 4), minor = te_le16(p + 6);
    m->info.format_major = (int)major;
    m->info.format_minor = (int)minor;
    if (major > TEMB_VERSION_MAJOR)
        return te_fail(err, TE_ERR_VERSION,
                       "file format version %u.%u is newer than this tinyembed reads (%d.x); upgrade tinyembed",
                       major, minor, TEMB_VERSION_MAJOR);
    if (major < 1) return te_fail(err, TE_ERR_VERSION, "file format version %u.%u is not supported", major, minor);
    uint32_t header_size = te_le32(p + 8), n = te_le32(p + 12);
    uint64_t file_size = te_le64(p + 16);
    if (file_size > m->map_size)
        return te_fail(err, TE_ERR_TRUNCATED, "file is truncated: the header declares %llu bytes, the file has %zu",
                       (unsigned long long)file_size, m->map_size);
    if (file_size < m->map_size)
        return te_fail(err, TE_ERR_FORMAT, "file has %zu bytes, more than the %llu its header declares",
                       m->map_size, (unsigned long long)file_size);
    if (n == 0 || n > TEMB_MAX_SECTIONS || header_size != TEMB_FIXED_HEADER + n * TEMB_SECTION_ENTRY ||
        !in_file(m, 0, header_size))
        return te_fail(err, TE_ERR_FORMAT, "bad header: %u sections, header size %u", n, header_size);
    /* CRC over the header with its own crc field zeroed. */
    uint32_t want = te_le32(p + 28);
    static const uint8_t zero4[4] = {0};
    uint32_t crc = te_crc32_update(0, p, 28);
    crc = te_crc32_update(crc, zero4, 4);
    crc = te_crc32_update(crc, p + TEMB_FIXED_HEADER, header_size - TEMB_FIXED_HEADER);
    if (te_crc32_differs(crc, want)) return te_fail(err, TE_ERR_CHECKSUM, "header checksum mismatch: the header is damaged");
    m->info.fingerprint = want;
    for (uint32_t i = 0; i < n; i++) {
        const uint8_t *e = p + TEMB_FIXED_HEADER + (size_t)i * TEMB_SECTION_ENTRY;
        secs[i] = (section){te_le32(e), te_le32(e + 4), te_le64(e + 8), te_le64(e + 16)};
        if (!in_file(m, secs[i].offset, secs[i].size))
            return te_fail(err, TE_ERR_FORMAT, "section %u (kind %u) lies outside the file (offset %llu, size %llu)",
                           i, secs[i].kind, (unsigned long long)secs[i].offset, (unsigned long long)secs[i].size);
        if (secs[i].offset < header_size)
            return te_fail(err, TE_ERR_FORMAT, "section %u overlaps the header", i);
        for (uint32_t j = 0; j < i; j++)
            if (secs[j].kind == secs[i].kind)
                return te_fail(err, TE_ERR_FORMAT, "section kind %u appears twice", secs[i].kind);
    }
    *n_secs = n;
    return TE_OK;
}

static const section *find_section(const section *secs, uint32_t n, uint32_t kind) {
    for (uint32_t i = 0; i < n; i++)
        if (secs[i].kind == kind) return &secs[i];
    return NULL;
}

static te_status check_section_crc(const te_model *m, const section *s, const char *what, te_error *err) {
    if (te_crc32_differs(te_crc32_update(0, m->map + s->offset, (size_t)s->size), s->crc))
        return te_fail(err, TE_ERR_CHECKSUM, "%s section checksum mismatch: the file is damaged", what);
    return TE_OK;
}

static te_status parse_tensors(te_model *m, const section *s, const section *data, te_error *err) {
    const uint8_t *p = m->map + s->offset;
    if (s->size < TEMB_TENSORS_HEADER) return te_fail(err, TE_ERR_FORMAT, "tensor directory too small");
    uint32_t n = te_le32(p), esize = te_le32(p + 4);
    if (esize < TEMB_TENSOR_ENTRY || n > (s->size - TEMB_TENSORS_HEADER) / esize)
        return te_fail(err, TE_ERR_FORMAT, "tensor directory: %u entries of %u bytes do not fit its %llu bytes",
                       n, esize, (unsigned long long)s->size);
    m->tensors = calloc(n ? n : 1, sizeof *m->tensors);
    if (!m->tensors) return te_fail(err, TE_ERR_NOMEM, "out of memory");
    m->n_tensors = n;
    m->data_offset = data->offset;
    m->data_size = data->size;
    for (uint32_t i = 0; i < n; i++) {
        const uint8_t *e = p + TEMB_TENSORS_HEADER + (size_t)i * esize;
        te_tensor *t = &m->tensors[i];
        if (!memchr(e, '\0', TEMB_TENSOR_NAME)) return te_fail(err, TE_ERR_FORMAT, "tensor %u: name is not terminated", i);
        memcpy(t->name, e, TEMB_TENSOR_NAME);
        uint32_t dtype = te_le32(e + 64), layout = te_le32(e + 68), nd = te_le32(e + 72);
        t->crc = te_le32(e + 76);
        if (dtype > TE_DTYPE_U8) return te_fail(err, TE_ERR_UNSUPPORTED, "tensor %s: unknown dtype %u", t->name, dtype);
        if (layout > TE_LAYOUT_PANEL16X4) return te_fail(err, TE_ERR_UNSUPPORTED, "tensor %s: unknown layout %u", t->name, layout);
        if (nd < 1 || nd > TEMB_MAX_DIMS) return te_fail(err, TE_ERR_FORMAT, "tensor %s: %u dimensions", t->name, nd);
        t->dtype = (te_dtype)dtype;
        t->layout = (te_layout)layout;
        t->n_dims = (int)nd;
        for (uint32_t d = 0; d < TEMB_MAX_DIMS; d++) t->dims[d] = te_le64(e + 80 + 8 * d);
        for (uint32_t d = 0; d < nd; d++)
            if (t->dims[d] == 0 || t->dims[d] > TEMB_MAX_DIM)
                return te_fail(err, TE_ERR_FORMAT, "tensor %s: dimension %u is %llu (must be 1..2^31)",
                               t->name, d, (unsigned long long)t->dims[d]);
        t->offset = te_le64(e + 112);
        t->bytes = te_le64(e + 120);
        uint64_t want = te_tensor_stored_bytes(t->dtype, t->layout, t->n_dims, t->dims);
        if (want == 0) return te_fail(err, TE_ERR_FORMAT, "tensor %s: shape overflows or does not fit its layout", t->name);
        if (want != t->bytes)
            return te_fail(err, TE_ERR_FORMAT, "tensor %s: stored size %llu does not match its shape (%llu bytes)",
                           t->name, (unsigned long long)t->bytes, (unsigned long long)want);
        if (t->offset % TEMB_TENSOR_ALIGN != 0)
            return te_fail(err, TE_ERR_FORMAT, "tensor %s: offset %llu is not %d-byte aligned",
                           t->name, (unsigned long long)t->offset, TEMB_TENSOR_ALIGN);
        if (t->offset < data->offset || t->bytes > data->size || t->offset - data->offset > data->size - t->bytes)
            return te_fail(err, TE_ERR_FORMAT, "tensor %s: bytes [%llu, +%llu) lie outside the data section (file has %zu bytes)",
                           t->name, (unsigned long long)t->offset, (unsigned long long)t->bytes, m->map_size);
        t->data = m->map + t->offset;
    }
    return TE_OK;
}

static te_status parse_vocab(te_model *m, const section *s, te_error *err) {
    const uint8_t *p = m->map + s->offset;
    if (s->size < TEMB_VOCAB_HEADER) return te_fail(err, TE_ERR_FORMAT, "vocabulary section too small");
    uint32_t n = te_le32(p), bits = te_le32(p + 4), max_len = te_le32(p + 8), blob = te_le32(p + 12);
    if (n == 0 || bits < 1 || bits > TEMB_MAX_HASH_BITS || ((uint64_t)1 << bits) < n)
        return te_fail(err, TE_ERR_FORMAT, "vocabulary: %u tokens with %u hash bits", n, bits);
    uint64_t need = TEMB_VOCAB_HEADER + 4 * ((uint64_t)n + 1) + 4 * ((uint64_t)1 << bits) + blob;
    if (need > s->size)
        return te_fail(err, TE_ERR_FORMAT, "vocabulary: %u tokens need %llu bytes, the section has %llu",
                       n, (unsigned long long)need, (unsigned long long)s->size);
    te_vocab *v = &m->vocab;
    v->n = n;
    v->mask = (uint32_t)(((uint64_t)1 << bits) - 1);
    v->max_len = max_len;
    v->blob_len = blob;
    v->offsets = p + TEMB_VOCAB_HEADER;
    v->slots = v->offsets + 4 * ((size_t)n + 1);
    v->blob = (const char *)(v->slots + 4 * ((size_t)v->mask + 1));
    m->vocab_crc = s->crc;
    m->vocab_offset = s->offset;
    m->vocab_size = s->size;
    return TE_OK;
}

static te_status parse_added(te_model *m, const section *s, te_error *err) {
    if (!s) return TE_OK;
    const uint8_t *p = m->map + s->offset, *end = p + s->size;
    if (s->size < 4) return te_fail(err, TE_ERR_FORMAT, "added-token section too small");
    uint32_t n = te_le32(p);
    if (n > s->size / 12) return te_fail(err, TE_ERR_FORMAT, "added-token section: bad count %u", n);
    m->added = calloc(n ? n : 1, sizeof *m->added);
    if (!m->added) return te_fail(err, TE_ERR_NOMEM, "out of memory");
    p += 4;
    for (uint32_t i = 0; i < n; i++) {
        if (end - p < 12) return te_fail(err, TE_ERR_FORMAT, "added token %u: truncated entry", i);
        te_added_token *a = &m->added[i];
        a->id = te_le32(p);
        a->flags = te_le32(p + 4);
        a->len = te_le32(p + 8);
        p += 12;
        if (a->len == 0 || a->len > TEMB_MAX_ADDED_LEN || (uint64_t)(end - p) < te_align_up(a->len, 4))
            return te_fail(err, TE_ERR_FORMAT, "added token %u: bad length %u", i, a->len);
        if (a->id >= (uint32_t)m->info.vocab_size)
            return te_fail(err, TE_ERR_FORMAT, "added token %u: id %u is outside the vocabulary", i, a->id);
        a->text = (const char *)p;
        p += te_align_up(a->len, 4);
        unsigned char first = (unsigned char)a->text[0];
        m->added_first[first >> 3] |= (uint8_t)(1u << (first & 7));
    }
    m->info.tokenizer.n_added_tokens = (int)n;
    return TE_OK;
}

/* HOT (format 1.1, optional): the rows te_warmup pages in. Ids are checked
 * when used, the checksum by te_verify. */
static te_status parse_hot(te_model *m, const section *s, te_error *err) {
    if (!s) return TE_OK;
    if (s->size < 4) return te_fail(err, TE_ERR_FORMAT, "hot-row section too small");
    uint32_t n = te_le32(m->map + s->offset);
    if (n > TEMB_MAX_HOT || 4 + 4 * (uint64_t)n > s->size)
        return te_fail(err, TE_ERR_FORMAT, "hot-row section: %u rows do not fit its %llu bytes", n, (unsigned long long)s->size);
    m->hot = m->map + s->offset + 4;
    m->n_hot = n;
    m->hot_crc = s->crc;
    m->hot_offset = s->offset;
    m->hot_size = s->size;
    return TE_OK;
}

const te_tensor *te_model_find_tensor(const te_model *m, const char *name) {
    for (size_t i = 0; i < m->n_tensors; i++)
        if (strcmp(m->tensors[i].name, name) == 0) return &m->tensors[i];
    return NULL;
}

/* Finds a tensor and checks dtype, layout and shape; `out` gets its data. */
static te_status bind_as(const te_model *m, const char *name, te_dtype dtype, te_layout layout, int nd,
                         uint64_t d0, uint64_t d1, const void **out, te_error *err) {
    const te_tensor *t = te_model_find_tensor(m, name);
    if (!t) return te_fail(err, TE_ERR_FORMAT, "tensor %s is missing", name);
    uint64_t want[2] = {d0, d1};
    int same = t->n_dims == nd;
    for (int i = 0; same && i < nd; i++) same = t->dims[i] == want[i];
    if (!same) {
        char got[96] = "", exp[64];
        for (int i = 0; i < t->n_dims; i++)
            snprintf(got + strlen(got), sizeof got - strlen(got), "%s%llu", i ? ", " : "", (unsigned long long)t->dims[i]);
        if (nd == 1) snprintf(exp, sizeof exp, "%llu", (unsigned long long)d0);
        else snprintf(exp, sizeof exp, "%llu, %llu", (unsigned long long)d0, (unsigned long long)d1);
        return te_fail(err, TE_ERR_SHAPE, "tensor %s has shape [%s], expected [%s]", name, got, exp);
    }
    if (t->dtype != dtype || t->layout != layout)
        return te_fail(err, TE_ERR_UNSUPPORTED, "tensor %s: dtype %s / layout %d not supported here (expected %s / %d)",
                       name, te_dtype_name(t->dtype), (int)t->layout, te_dtype_name(dtype), (int)layout);
    *out = t->data;
    return TE_OK;
}

/* An f32 tensor. */
static te_status bind(const te_model *m, const char *name, te_layout layout, int nd, uint64_t d0, uint64_t d1,
                      const float **out, te_error *err) {
    const void *p = NULL;
    te_status st = bind_as(m, name, TE_DTYPE_F32, layout, nd, d0, d1, &p, err);
    *out = p;
    return st;
}

/* NAME_scale or NAME_sum of an int8 tensor with n rows. */
static te_status bind_per_row(const te_model *m, const char *name, const char *suffix, uint64_t n,
                              const float **out, te_error *err) {
    char full[TEMB_TENSOR_NAME];
    snprintf(full, sizeof full, "%s_%s", name, suffix);
    return bind(m, full, TE_LAYOUT_ROWS, 1, n, 0, out, err);
}

/* A weight matrix in the file's dtype (quant.h says what each stores). */
static te_status bind_wmat(const te_model *m, const char *name, te_layout f_layout, uint64_t n, uint64_t k,
                           te_dtype dtype, te_wmat *w, const float **scale, te_error *err) {
    w->dtype = dtype;
    int q8 = dtype == TE_DTYPE_I8, panels = f_layout == TE_LAYOUT_PANEL16;
    te_layout layout = q8 && panels ? TE_LAYOUT_PANEL16X4 : f_layout;
    te_status st = bind_as(m, name, dtype, layout, 2, n, k, &w->data, err);
    if (st == TE_OK && q8) st = bind_per_row(m, name, "scale", n, scale, err);
    if (st == TE_OK && q8 && panels) st = bind_per_row(m, name, "sum", n, &w->sum, err);
    return st; /* k fits the int8 kernel's exact sums: te_check_meta bounds it */
}

static te_status bind_linear(const te_model *m, const char *prefix, int n_out, int n_in, te_linear *l, te_error *err) {
    char wn[TEMB_TENSOR_NAME], bn[TEMB_TENSOR_NAME];
    snprintf(wn, sizeof wn, "%s.weight", prefix);
    snprintf(bn, sizeof bn, "%s.bias", prefix);
    l->n_out = n_out;
    l->n_in = n_in;
    te_status st = bind_wmat(m, wn, TE_LAYOUT_PANEL16, (uint64_t)n_out, (uint64_t)n_in, m->info.dtype, &l->w,
                             &l->w.scale, err);
    /* Some checkpoints have no biases (NomicBERT): then the file has none. */
    l->bias = NULL;
    if (st == TE_OK && te_model_find_tensor(m, bn)) st = bind(m, bn, TE_LAYOUT_ROWS, 1, (uint64_t)n_out, 0, &l->bias, err);
    return st;
}

static te_status bind_norm(const te_model *m, const char *prefix, const float **w, const float **b, te_error *err) {
    char wn[TEMB_TENSOR_NAME], bn[TEMB_TENSOR_NAME];
    snprintf(wn, sizeof wn, "%s.weight", prefix);
    snprintf(bn, sizeof bn, "%s.bias", prefix);
    uint64_t h = (uint64_t)m->info.hidden_size;
    te_status st = bind(m, wn, TE_LAYOUT_ROWS, 1, h, 0, w, err);
    if (st == TE_OK) st = bind(m, bn, TE_LAYOUT_ROWS, 1, h, 0, b, err);
    return st;
}

/* The byte range a layer's tensors occupy, for per-layer paging. */
static void layer_range(const te_model *m, int l, te_bert_layer *L) {
    char pre[32];
    int n = snprintf(pre, sizeof pre, "layer.%d.", l);
    L->file_begin = UINT64_MAX;
    L->file_end = 0;
    for (size_t i = 0; i < m->n_tensors; i++) {
        const te_tensor *t = &m->tensors[i];
        if (strncmp(t->name, pre, (size_t)n) != 0) continue;
        if (t->offset < L->file_begin) L->file_begin = t->offset;
        if (t->offset + t->bytes > L->file_end) L->file_end = t->offset + t->bytes;
    }
}

/* A raw-bytes tensor of the tokenizer's, if the file has it. */
static void bytes_of(const te_model *m, const char *name, const uint8_t **p, size_t *len) {
    const te_tensor *t = te_model_find_tensor(m, name);
    if (!t || t->dtype != TE_DTYPE_U8 || t->layout != TE_LAYOUT_ROWS || t->n_dims != 1) return;
    *p = t->data;
    *len = (size_t)t->bytes;
}

/* The tokenizer's pipeline: from tokenizer.pipeline and its tensors, or
 * BERT's for files without one. */
static te_status bind_tokenizer(te_model *m, te_error *err) {
    te_tokenizer_info *ti = &m->info.tokenizer;
    te_status st = TE_OK;
    if (!ti->pipeline) {
        tok_pipeline_bert(&m->tok, ti);
    } else {
        tok_blobs b = {0};
        bytes_of(m, "tokenizer.charsmap", &b.charsmap, &b.charsmap_len);
        bytes_of(m, "tokenizer.trie", &b.trie, &b.trie_len);
        bytes_of(m, "tokenizer.scores", &b.scores, &b.scores_len);
        bytes_of(m, "tokenizer.merges", &b.merges, &b.merges_len);
        st = tok_pipeline_open(&m->tok, ti->pipeline, strlen(ti->pipeline), &b, m->vocab.n, err);
    }
    ti->model = m->tok.model == TM_UNIGRAM ? "unigram" : m->tok.model == TM_BPE ? "bpe" : "wordpiece";
    if (st == TE_OK && m->tok.model == TM_WORDPIECE && ti->unk_id < 0) /* byte-level BPE and Unigram need none */
        st = te_fail(err, TE_ERR_FORMAT, "metadata tokenizer.unk_id: WordPiece needs the unknown token's id");
    /* A long text is cut before spaces (tokenizer.c): not when a token matched after normalizing holds one. */
    for (int i = 0; i < ti->n_added_tokens; i++)
        if ((m->added[i].flags & TEMB_ADDED_NORMALIZED) && memchr(m->added[i].text, ' ', m->added[i].len)) m->tok.chunkable = 0;
    return st;
}

/* bge-m3's sparse and ColBERT heads, when the file has them (info.outputs). */
static te_status bind_m3(te_model *m, te_error *err) {
    te_model_info *in = &m->info;
    uint64_t h = (uint64_t)in->hidden_size;
    te_status st = TE_OK;
    in->outputs = in->kind == TE_KIND_EMBEDDING ? TE_OUTPUT_DENSE | TE_OUTPUT_TOKENS : 0;
    if (te_model_find_tensor(m, "m3.sparse.weight")) {
        st = bind(m, "m3.sparse.weight", TE_LAYOUT_ROWS, 2, 1, h, &m->sparse_w, err);
        if (st == TE_OK) st = bind(m, "m3.sparse.bias", TE_LAYOUT_ROWS, 1, 1, 0, &m->sparse_b, err);
        in->outputs |= TE_OUTPUT_SPARSE;
    }
    const te_tensor *cw = te_model_find_tensor(m, "m3.colbert.weight");
    if (st == TE_OK && cw) {
        /* Its output takes the Q|K|V buffer's place after the forward pass. */
        if (cw->n_dims != 2 || cw->dims[0] == 0 || cw->dims[0] > 3 * h)
            return te_fail(err, TE_ERR_SHAPE, "tensor m3.colbert.weight: %llu outputs (allowed: 1..%llu, 3 x hidden)",
                           (unsigned long long)cw->dims[0], (unsigned long long)(3 * h));
        st = bind_linear(m, "m3.colbert", (int)cw->dims[0], in->hidden_size, &m->colbert, err);
        if (st == TE_OK && !m->colbert.bias)
            st = te_fail(err, TE_ERR_FORMAT, "tensor m3.colbert.bias is missing");
        in->outputs |= TE_OUTPUT_COLBERT;
        in->colbert_dim = (int)cw->dims[0];
    }
    if (st == TE_OK && (in->outputs & (TE_OUTPUT_SPARSE | TE_OUTPUT_COLBERT)) && in->kind != TE_KIND_EMBEDDING)
        st = te_fail(err, TE_ERR_FORMAT, "a %s with bge-m3 heads (m3.*): only embedding models have them",
                     te_kind_name(in->kind));
    return st;
}

/* An embedding model's calibrated output range (calibrate.h), when the file has one. */
static te_status bind_range(te_model *m, te_error *err) {
    te_model_info *in = &m->info;
    if (in->kind != TE_KIND_EMBEDDING || !te_model_find_tensor(m, TEMB_RANGE_TENSOR)) {
        in->output_range_texts = 0;
        return TE_OK;
    }
    if (in->output_range_texts == 0)
        return te_fail(err, TE_ERR_FORMAT, "tensor " TEMB_RANGE_TENSOR " without metadata " TEMB_RANGE_TEXTS_KEY);
    return bind(m, TEMB_RANGE_TENSOR, TE_LAYOUT_ROWS, 2, 2, (uint64_t)in->hidden_size, &in->output_range, err);
}

/* Qwen3's RMSNorm of each query and key head, when the layer has them (both or neither). */
static te_status bind_head_norms(const te_model *m, int l, te_bert_layer *L, te_error *err) {
    char qn[48], kn[48];
    snprintf(qn, sizeof qn, "layer.%d.attn.q_norm.weight", l);
    snprintf(kn, sizeof kn, "layer.%d.attn.k_norm.weight", l);
    if (!te_model_find_tensor(m, qn) && !te_model_find_tensor(m, kn)) return TE_OK;
    uint64_t d = (uint64_t)m->arch.head_dim;
    te_status st = bind(m, qn, TE_LAYOUT_ROWS, 1, d, 0, &L->q_norm, err);
    return st == TE_OK ? bind(m, kn, TE_LAYOUT_ROWS, 1, d, 0, &L->k_norm, err) : st;
}

static te_status bind_bert(te_model *m, te_error *err) {
    const te_model_info *in = &m->info;
    uint64_t h = (uint64_t)in->hidden_size;
    te_wmat word;
    te_status st = bind_wmat(m, "embeddings.word", TE_LAYOUT_ROWS, (uint64_t)in->vocab_size, h, in->dtype, &word,
                             &m->word_scale, err);
    m->word = te_model_find_tensor(m, "embeddings.word");
    m->word_dtype = word.dtype;
    m->word_emb = word.data;
    if (st == TE_OK && in->position != TE_POS_ROTARY)
        st = bind(m, "embeddings.position", TE_LAYOUT_ROWS, 2, (uint64_t)in->max_position, h, &m->pos_emb, err);
    if (st == TE_OK && in->type_vocab_size > 0)
        st = bind(m, "embeddings.token_type", TE_LAYOUT_ROWS, 2, (uint64_t)in->type_vocab_size, h, &m->type_emb, err);
    int no_emb_norm = m->arch.norm_first && !te_model_find_tensor(m, "embeddings.norm.weight"); /* decoders */
    if (st == TE_OK && !no_emb_norm) st = bind_norm(m, "embeddings.norm", &m->emb_norm_w, &m->emb_norm_b, err);
    if (st == TE_OK && in->position == TE_POS_RELATIVE)
        st = bind(m, "embeddings.relative_bias", TE_LAYOUT_ROWS, 2, (uint64_t)m->arch.rel_buckets, (uint64_t)in->num_heads,
                  &m->rel_bias, err);
    if (st == TE_OK && in->kind != TE_KIND_EMBEDDING) {
        uint64_t n = (uint64_t)in->num_labels;
        st = bind(m, "head.dense.weight", TE_LAYOUT_ROWS, 2, h, h, &m->head_dense_w, err);
        if (st == TE_OK) st = bind(m, "head.dense.bias", TE_LAYOUT_ROWS, 1, h, 0, &m->head_dense_b, err);
        if (st == TE_OK) st = bind(m, "head.out.weight", TE_LAYOUT_ROWS, 2, n, h, &m->head_out_w, err);
        if (st == TE_OK) st = bind(m, "head.out.bias", TE_LAYOUT_ROWS, 1, n, 0, &m->head_out_b, err);
        if (st == TE_OK && te_model_find_tensor(m, "head.norm.weight"))
            st = bind_norm(m, "head.norm", &m->head_norm_w, &m->head_norm_b, err);
    }
    if (st == TE_OK) st = bind_m3(m, err);
    if (st == TE_OK) st = bind_range(m, err);
    if (st == TE_OK && m->arch.norm_first) st = bind_norm(m, "final.norm", &m->final_norm_w, &m->final_norm_b, err);
    if (st != TE_OK) return st;
    m->layers = calloc((size_t)in->num_layers, sizeof *m->layers);
    if (!m->layers) return te_fail(err, TE_ERR_NOMEM, "out of memory");
    for (int l = 0; l < in->num_layers && st == TE_OK; l++) {
        te_bert_layer *L = &m->layers[l];
        char p[48];
        int H = in->hidden_size, I = in->intermediate_size;
        snprintf(p, sizeof p, "layer.%d.attn.qkv", l);
        st = bind_linear(m, p, (int)te_qkv_width(&m->arch, in->num_heads), H, &L->qkv, err);
        snprintf(p, sizeof p, "layer.%d.attn.out", l);
        if (st == TE_OK) st = bind_linear(m, p, H, (int)te_att_width(&m->arch, in->num_heads), &L->attn_out, err);
        if (st == TE_OK) st = bind_head_norms(m, l, L, err);
        snprintf(p, sizeof p, "layer.%d.attn.norm", l);
        int no_norm = m->arch.norm_first && l == 0 && !te_model_find_tensor(m, "layer.0.attn.norm.weight");
        if (st == TE_OK && !no_norm) st = bind_norm(m, p, &L->attn_norm_w, &L->attn_norm_b, err);
        snprintf(p, sizeof p, "layer.%d.ffn.up", l);
        if (st == TE_OK) st = bind_linear(m, p, in->gated_ffn ? 2 * I : I, H, &L->ffn_up, err);
        snprintf(p, sizeof p, "layer.%d.ffn.down", l);
        if (st == TE_OK) st = bind_linear(m, p, H, I, &L->ffn_down, err);
        snprintf(p, sizeof p, "layer.%d.ffn.norm", l);
        if (st == TE_OK) st = bind_norm(m, p, &L->ffn_norm_w, &L->ffn_norm_b, err);
        layer_range(m, l, L);
    }
    return st;
}

te_model *te_open(const char *path, const te_open_opts *opts, te_error *err) {
    return te_open_internal(path, opts, NULL, NULL, err);
}

te_model *te_open_internal(const char *path, const te_open_opts *opts, te_load_hook hook, void *hook_user,
                           te_error *err) {
    te_error_clear(err);
    if (!path) { te_fail(err, TE_ERR_ARG, "te_open: path is NULL"); return NULL; }
    te_model *m = calloc(1, sizeof *m);
    if (!m || !(m->path = strdup(path))) {
        free(m);
        te_fail(err, TE_ERR_NOMEM, "out of memory");
        return NULL;
    }
    m->fd = -1;
    m->t_open = te_now();
    section secs[TEMB_MAX_SECTIONS];
    uint32_t n_secs = 0;
    const section *meta = NULL, *dir = NULL, *vocab = NULL, *data = NULL, *added = NULL, *hot = NULL;
    te_status st = map_file(m, path, err);
    if (st == TE_OK) st = parse_header(m, secs, &n_secs, err);
    if (st == TE_OK) {
        /* Read the small sections te_open needs in one go. The vocabulary is
         * requested on first use (te_loader_want_vocab) and the mapping
         * stays MADV_RANDOM, so no fault on metadata reads around into
         * tensor pages. */
        uint64_t meta_end = m->map_size;
        for (uint32_t i = 0; i < n_secs; i++)
            if ((secs[i].kind == TEMB_SEC_DATA || secs[i].kind == TEMB_SEC_VOCAB) && secs[i].offset < meta_end)
                meta_end = secs[i].offset;
        madvise((void *)m->map, (size_t)meta_end, MADV_WILLNEED);
        meta = find_section(secs, n_secs, TEMB_SEC_META);
        dir = find_section(secs, n_secs, TEMB_SEC_TENSORS);
        vocab = find_section(secs, n_secs, TEMB_SEC_VOCAB);
        data = find_section(secs, n_secs, TEMB_SEC_DATA);
        added = find_section(secs, n_secs, TEMB_SEC_ADDED);
        hot = find_section(secs, n_secs, TEMB_SEC_HOT);
        if (!meta || !dir || !vocab || !data)
            st = te_fail(err, TE_ERR_FORMAT, "a required section (metadata, tensors, vocabulary or data) is missing");
    }
    /* The small sections are checksummed at open; vocabulary and tensors by te_verify. */
    if (st == TE_OK) st = check_section_crc(m, meta, "metadata", err);
    if (st == TE_OK) st = check_section_crc(m, dir, "tensor directory", err);
    if (st == TE_OK && added) st = check_section_crc(m, added, "added-token", err);
    if (st == TE_OK) {
        m->meta_offset = meta->offset;
        m->meta_size = meta->size;
        st = te_parse_meta(m, m->map + meta->offset, meta->size, err);
    }
    if (st == TE_OK) st = parse_tensors(m, dir, data, err);
    if (st == TE_OK) st = parse_vocab(m, vocab, err);
    if (st == TE_OK) st = te_check_meta(m, err);
    if (st == TE_OK) st = parse_added(m, added, err);
    if (st == TE_OK) st = parse_hot(m, hot, err);
    if (st == TE_OK) st = bind_tokenizer(m, err);
    if (st == TE_OK) st = bind_bert(m, err);
    if (st == TE_OK) {
        m->info.file_bytes = m->map_size;
    }
    if (st == TE_OK && opts && opts->verify_checksums) st = te_verify(m, err);
    if (st == TE_OK) st = te_loader_start(m, opts ? opts->strategy : TE_STRATEGY_LAZY, hook, hook_user, err);
    if (st != TE_OK) {
        te_error_prefix(err, "%s", path);
        te_close(m);
        return NULL;
    }
    return m;
}

void te_close(te_model *m) {
    if (!m) return;
    te_loader_stop(m);
    if (m->map) munmap((void *)m->map, m->map_size);
    if (m->fd >= 0) close(m->fd);
    free(m->layers);
    free(m->labels);
    free(m->added);
    tok_pipeline_free(&m->tok);
    json_free(m->prompts);
    free(m->tensors);
    free(m->strings);
    free(m->path);
    free(m);
}

void te_model_get_info(const te_model *m, te_model_info *out) { *out = m->info; }

size_t te_model_n_tensors(const te_model *m) { return m->n_tensors; }

int te_model_tensor(const te_model *m, size_t i, te_tensor_info *out) {
    if (i >= m->n_tensors) return -1;
    const te_tensor *t = &m->tensors[i];
    out->name = t->name;
    out->dtype = t->dtype;
    out->layout = t->layout;
    out->n_dims = t->n_dims;
    memcpy(out->dims, t->dims, sizeof out->dims);
    out->offset = t->offset;
    out->bytes = t->bytes;
    out->crc32 = t->crc;
    return 0;
}

te_status te_verify(const te_model *m, te_error *err) {
    uint64_t present = te_bytes_present(m);
    if (present < m->map_size)
        return te_fail(err, TE_ERR_TRUNCATED, "%s: the file was truncated after it was opened: %llu of its %zu bytes "
                       "remain, and reading past them would crash the process (SIGBUS); open it again once it is whole",
                       m->path, (unsigned long long)present, m->map_size);
    if (te_crc32_differs(te_crc32_update(0, m->map + m->vocab_offset, (size_t)m->vocab_size), m->vocab_crc))
        return te_fail(err, TE_ERR_CHECKSUM, "%s: the vocabulary section is damaged (checksum mismatch)", m->path);
    if (m->hot && te_crc32_differs(te_crc32_update(0, m->map + m->hot_offset, (size_t)m->hot_size), m->hot_crc))
        return te_fail(err, TE_ERR_CHECKSUM, "%s: the hot-row section is damaged (checksum mismatch)", m->path);
    for (size_t i = 0; i < m->n_tensors; i++) {
        const te_tensor *t = &m->tensors[i];
        uint32_t crc = te_crc32_update(0, t->data, (size_t)t->bytes);
        if (te_crc32_differs(crc, t->crc))
            return te_fail(err, TE_ERR_CHECKSUM, "%s: tensor %s is damaged (CRC32 %08x, expected %08x)",
                           m->path, t->name, crc, t->crc);
    }
    /* Last, so that damage inside a tensor is named; this catches the bytes between them. */
    if (m->info.file_offset && te_crc32_differs(te_crc32_update(0, m->map, m->map_size), m->bundle_crc))
        return te_fail(err, TE_ERR_CHECKSUM, "%s: the bundled model is damaged (its CRC32 does not match the bundle's trailer)", m->path);
    return TE_OK;
}
