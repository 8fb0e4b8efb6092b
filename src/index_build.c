/*
 * index_build.c - te_index_builder: collects documents (ids, vectors, BM25
 * postings) in memory and writes a .tidx file (index_format.h) atomically.
 *
 * Words and ids are interned in hash tables; each word keeps a growing list
 * of (document, count) pairs. Documents arrive in order, so a word's list is
 * sorted by document by construction and the count of the current document
 * is always its last entry. Terms are sorted only when writing. Learned
 * sparse weights are postings too, one list per token id (weights as f32
 * bits in place of counts); ColBERT vectors are kept as f16, end to end.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crc32.h"
#include "format_util.h"
#include "half.h"
#include "index.h"
#include "internal.h"
#include "out_file.h"
#include "tokenizer.h"

#define MAX_ID_BYTES 1024
#define MAX_DIM 65536 /* int8 dot products stay exact in int32 */

/* Strings interned once each: string i is blob[offs[i], offs[i+1]). */
typedef struct strtab {
    char *blob;
    size_t blob_len, blob_cap;
    uint64_t *offs;     /* n + 1 entries */
    size_t n, cap;
    uint32_t *slots;    /* open addressing: string index + 1, 0 empty */
    size_t n_slots;     /* a power of two, kept at least twice n */
} strtab;

typedef struct postings {
    uint32_t *p;        /* pairs (document, count) */
    size_t n;           /* pairs */
    size_t cap;         /* uint32_t entries allocated */
} postings;

struct te_index_builder {
    te_index_build_opts o;
    char model_name[TIDX_NAME];
    strtab ids, terms;
    postings *post;     /* per term */
    size_t cap_post;
    uint32_t *doc_words;
    float *vec_f32;     /* n * dim, normalized */
    int8_t *vec_i8;
    float *scales;
    size_t cap_docs;
    uint64_t n_postings, total_words, n_truncated;
    postings *sp;       /* [n_sp] per token id: (document, weight bits) */
    size_t n_sp, cap_sp;
    uint64_t n_sp_postings;
    uint16_t *cb;       /* ColBERT vectors, f16, colbert_dim each */
    size_t n_cb, cap_cb; /* vectors */
    uint64_t *cb_end;   /* [n docs] vectors up to and including each document's */
    uint32_t cur_doc;   /* the document being added (for word callbacks) */
    uint32_t cur_words;
    int oom;            /* a word callback could not allocate */
};

static int grow(void **p, size_t *cap, size_t need, size_t elem) {
    if (need <= *cap) return 1;
    size_t n = *cap ? *cap : 16, bytes;
    while (n < need) n *= 2;
    if (!te_mul_size(n, elem, &bytes)) return 0;
    void *q = realloc(*p, bytes);
    if (!q) return 0;
    *p = q;
    *cap = n;
    return 1;
}

static void strtab_free(strtab *t) {
    free(t->blob);
    free(t->offs);
    free(t->slots);
}

static int strtab_rehash(strtab *t, size_t n_slots) {
    uint32_t *s = calloc(n_slots, sizeof *s);
    if (!s) return 0;
    for (size_t i = 0; i < t->n; i++) {
        size_t len = (size_t)(t->offs[i + 1] - t->offs[i]);
        size_t h = te_fnv1a(TEMB_FNV_OFFSET, t->blob + t->offs[i], len) & (n_slots - 1);
        while (s[h]) h = (h + 1) & (n_slots - 1);
        s[h] = (uint32_t)i + 1;
    }
    free(t->slots);
    t->slots = s;
    t->n_slots = n_slots;
    return 1;
}

/* The index of string (p, n) in t: *added says whether it is new. Returns 0
 * when out of memory. */
static int strtab_intern(strtab *t, const char *p, size_t n, uint32_t *index, int *added) {
    if (t->n_slots == 0 && !strtab_rehash(t, 1024)) return 0;
    uint32_t hash = te_fnv1a(TEMB_FNV_OFFSET, p, n);
    size_t h = hash & (t->n_slots - 1);
    for (; t->slots[h]; h = (h + 1) & (t->n_slots - 1)) {
        uint32_t i = t->slots[h] - 1;
        if (t->offs[i + 1] - t->offs[i] == n && memcmp(t->blob + t->offs[i], p, n) == 0) {
            *index = i;
            *added = 0;
            return 1;
        }
    }
    if (t->n >= UINT32_MAX - 1 || !grow((void **)&t->offs, &t->cap, t->n + 2, sizeof *t->offs) ||
        !grow((void **)&t->blob, &t->blob_cap, t->blob_len + n + 1, 1))
        return 0;
    if (t->n == 0) t->offs[0] = 0;
    memcpy(t->blob + t->blob_len, p, n);
    t->blob_len += n;
    t->offs[t->n + 1] = t->blob_len;
    t->slots[h] = (uint32_t)t->n + 1;
    *index = (uint32_t)t->n++;
    *added = 1;
    if (t->n * 2 > t->n_slots && !strtab_rehash(t, t->n_slots * 2)) {
        t->n--; /* keep the table consistent: the string is not there */
        t->blob_len = (size_t)t->offs[t->n];
        t->slots[h] = 0;
        return 0;
    }
    return 1;
}

te_index_builder *te_index_builder_new(const te_index_build_opts *o, te_error *err) {
    if (!o || o->dim < 0 || o->dim > MAX_DIM) {
        te_fail(err, TE_ERR_ARG, "vector length must be 0..%d", MAX_DIM);
        return NULL;
    }
    if (o->colbert_dim < 0 || o->colbert_dim > MAX_DIM) {
        te_fail(err, TE_ERR_ARG, "ColBERT vector length must be 0..%d", MAX_DIM);
        return NULL;
    }
    if (o->dim && o->dtype != TE_DTYPE_F32 && o->dtype != TE_DTYPE_I8) {
        te_fail(err, TE_ERR_ARG, "index vectors must be f32 or int8, not %s", te_dtype_name(o->dtype));
        return NULL;
    }
    te_index_builder *b = calloc(1, sizeof *b);
    if (!b) {
        te_fail(err, TE_ERR_NOMEM, "out of memory");
        return NULL;
    }
    b->o = *o;
    if (o->model_name) snprintf(b->model_name, sizeof b->model_name, "%s", o->model_name);
    b->o.model_name = b->model_name;
    return b;
}

void te_index_builder_free(te_index_builder *b) {
    if (!b) return;
    strtab_free(&b->ids);
    strtab_free(&b->terms);
    for (size_t i = 0; i < b->terms.n; i++) free(b->post[i].p);
    free(b->post);
    free(b->doc_words);
    free(b->vec_f32);
    free(b->vec_i8);
    free(b->scales);
    for (size_t i = 0; i < b->n_sp; i++) free(b->sp[i].p);
    free(b->sp);
    free(b->cb);
    free(b->cb_end);
    free(b);
}

size_t te_index_builder_count(const te_index_builder *b) { return b->ids.n; }

/* Appends (doc, bits) to posting list p; 0 when out of memory. */
static int post_add(postings *p, uint32_t doc, uint32_t bits) {
    if (!grow((void **)&p->p, &p->cap, 2 * (p->n + 1), sizeof *p->p)) return 0;
    p->p[2 * p->n] = doc;
    p->p[2 * p->n + 1] = bits;
    p->n++;
    return 1;
}

static void add_word(void *user, const char *w, size_t n) {
    te_index_builder *b = user;
    uint32_t t;
    int added;
    if (b->oom) return;
    /* Room for a new word's postings first, so that every interned word has them. */
    if (!grow((void **)&b->post, &b->cap_post, b->terms.n + 1, sizeof *b->post) ||
        !strtab_intern(&b->terms, w, n, &t, &added)) {
        b->oom = 1;
        return;
    }
    postings *p = &b->post[t];
    if (added) memset(p, 0, sizeof *p);
    b->cur_words++;
    if (p->n && p->p[2 * (p->n - 1)] == b->cur_doc) {
        if (p->p[2 * (p->n - 1) + 1] < UINT32_MAX) p->p[2 * (p->n - 1) + 1]++;
        return;
    }
    if (!post_add(p, b->cur_doc, 1)) {
        b->oom = 1;
        return;
    }
    b->n_postings++;
}

/* Stores the document's vector normalized; int8 vectors as round(x * 127 /
 * max|x|) with the scale 1 / |q|, so that scores are the cosine of the
 * int8 vectors themselves. (Scaling by max|x| / 127 instead would leave
 * each vector's rounding error along the query in the score: enough to
 * swap near-duplicate documents. Dividing by the rounded vector's own
 * length cancels most of it, and a document's own query scores 1.) */
static void store_vector(te_index_builder *b, size_t doc, const float *v) {
    size_t dim = (size_t)b->o.dim;
    if (b->o.dtype == TE_DTYPE_I8) {
        b->scales[doc] = te_index_quantize(v, dim, b->vec_i8 + doc * dim);
        return;
    }
    double ss = 0;
    for (size_t i = 0; i < dim; i++) ss += (double)v[i] * v[i];
    float inv = ss > 0 ? (float)(1.0 / sqrt(ss)) : 0.0f, *out = b->vec_f32 + doc * dim;
    for (size_t i = 0; i < dim; i++) out[i] = v[i] * inv;
}

/* Room for `need` documents in every per-document array. */
static int reserve_docs(te_index_builder *b, size_t need) {
    if (need <= b->cap_docs) return 1;
    size_t cap = b->cap_docs ? b->cap_docs * 2 : 1024, dim = (size_t)b->o.dim, n, words;
    while (cap < need) cap *= 2;
    void *p;
    if (!te_mul_size(cap, dim, &n) || !te_mul_size(cap, sizeof *b->doc_words, &words) ||
        !(p = realloc(b->doc_words, words)))
        return 0;
    b->doc_words = p;
    if (b->o.colbert_dim) {
        size_t ends;
        if (!te_mul_size(cap, sizeof *b->cb_end, &ends) || !(p = realloc(b->cb_end, ends))) return 0;
        b->cb_end = p;
    }
    if (dim && b->o.dtype == TE_DTYPE_F32) {
        if (!te_mul_size(n, sizeof(float), &n) || !(p = realloc(b->vec_f32, n))) return 0;
        b->vec_f32 = p;
    } else if (dim) {
        if (!(p = realloc(b->vec_i8, n))) return 0;
        b->vec_i8 = p;
        if (!(p = realloc(b->scales, words))) return 0; /* a scale is 4 bytes, as a length is */
        b->scales = p;
    }
    b->cap_docs = cap;
    return 1;
}

/* A document's lexical weights and ColBERT vectors, checked before anything
 * is added (a refused document leaves the builder as it was). */
static te_status check_m3(const te_index_builder *b, const te_index_doc *d, te_error *err) {
    for (size_t i = 0; b->o.sparse && i < d->n_sparse; i++)
        if (d->sparse[i].id < 0 || (i && d->sparse[i].id <= d->sparse[i - 1].id) || !(d->sparse[i].weight > 0) ||
            !isfinite(d->sparse[i].weight))
            return te_fail(err, TE_ERR_ARG, "document \"%.*s\": lexical weight %zu is not an id above the last with a "
                           "finite weight > 0", (int)d->id_len, d->id, i);
    size_t n = d->n_colbert * (size_t)b->o.colbert_dim;
    if (b->o.colbert_dim && d->n_colbert && !d->colbert)
        return te_fail(err, TE_ERR_ARG, "document \"%.*s\" has no ColBERT vectors", (int)d->id_len, d->id);
    for (size_t i = 0; b->o.colbert_dim && i < n; i++)
        if (!isfinite(d->colbert[i]) || fabsf(d->colbert[i]) > 65504.0f)
            return te_fail(err, TE_ERR_ARG, "document \"%.*s\": a ColBERT value is not finite in f16", (int)d->id_len, d->id);
    return TE_OK;
}

/* Stores the checked sparse weights and ColBERT vectors of document `doc`; 0 when out of memory. */
static int add_m3(te_index_builder *b, uint32_t doc, const te_index_doc *d) {
    for (size_t i = 0; b->o.sparse && i < d->n_sparse; i++) {
        size_t id = (size_t)d->sparse[i].id;
        if (id >= b->n_sp) {
            if (!grow((void **)&b->sp, &b->cap_sp, id + 1, sizeof *b->sp)) return 0;
            memset(b->sp + b->n_sp, 0, (id + 1 - b->n_sp) * sizeof *b->sp);
            b->n_sp = id + 1;
        }
        uint32_t bits;
        memcpy(&bits, &d->sparse[i].weight, 4);
        if (!post_add(&b->sp[id], doc, bits)) return 0;
        b->n_sp_postings++;
    }
    if (!b->o.colbert_dim) return 1;
    size_t dim = (size_t)b->o.colbert_dim, n;
    if (!te_mul_size(b->n_cb + d->n_colbert, dim, &n) || !grow((void **)&b->cb, &b->cap_cb, n, sizeof *b->cb)) return 0;
    for (size_t i = 0; i < d->n_colbert * dim; i++) b->cb[b->n_cb * dim + i] = te_f32_to_f16(d->colbert[i]);
    b->n_cb += d->n_colbert;
    b->cb_end[doc] = b->n_cb;
    return 1;
}

te_status te_index_builder_add(te_index_builder *b, const te_index_doc *d, te_error *err) {
    if (b->oom) return te_fail(err, TE_ERR_NOMEM, "the index builder ran out of memory earlier");
    if (!d->id || d->id_len == 0 || d->id_len > MAX_ID_BYTES)
        return te_fail(err, TE_ERR_ARG, "document %zu: the id must be 1..%d bytes", b->ids.n + 1, MAX_ID_BYTES);
    size_t dim = (size_t)b->o.dim;
    if (dim) {
        if (!d->vector) return te_fail(err, TE_ERR_ARG, "document \"%.*s\" has no vector", (int)d->id_len, d->id);
        for (size_t i = 0; i < dim; i++)
            if (!isfinite(d->vector[i]))
                return te_fail(err, TE_ERR_ARG, "document \"%.*s\": its vector has a non-finite value", (int)d->id_len, d->id);
    }
    te_status st = check_m3(b, d, err);
    if (st != TE_OK) return st;
    if (b->ids.n >= UINT32_MAX - 1) return te_fail(err, TE_ERR_ARG, "too many documents for one index");
    uint32_t doc;
    int added;
    /* After an allocation failure the builder is only good for freeing:
     * a half-added document cannot be taken back out of the postings. */
    if (!reserve_docs(b, b->ids.n + 1) || !strtab_intern(&b->ids, d->id, d->id_len, &doc, &added)) {
        b->oom = 1;
        return te_fail(err, TE_ERR_NOMEM, "out of memory at document %zu", b->ids.n + 1);
    }
    if (!added)
        return te_fail(err, TE_ERR_ARG, "document id \"%.*s\" appears twice (documents %u and %zu)", (int)d->id_len, d->id,
                       doc + 1, b->ids.n + 1);
    b->cur_doc = doc;
    b->cur_words = 0;
    te_tok_terms(d->text ? d->text : "", d->text ? d->text_len : 0, add_word, b);
    if (b->oom) return te_fail(err, TE_ERR_NOMEM, "out of memory indexing document \"%.*s\"", (int)d->id_len, d->id);
    b->doc_words[doc] = b->cur_words;
    b->total_words += b->cur_words;
    if (dim) store_vector(b, doc, d->vector);
    if (!add_m3(b, doc, d)) {
        b->oom = 1;
        return te_fail(err, TE_ERR_NOMEM, "out of memory storing document \"%.*s\"'s lexical weights or ColBERT vectors",
                       (int)d->id_len, d->id);
    }
    if (d->truncated) b->n_truncated++;
    return TE_OK;
}

/* Writes sections one after another through a buffer, each at a
 * TIDX_ALIGN boundary with zeros between, keeping each one's CRC. The
 * first error sticks. */
typedef struct sec_writer {
    te_out_file *o;
    const char *path;
    te_error *err;
    te_status st;
    uint8_t *buf;
    size_t n;
    uint64_t off;        /* file offset of buf[0] */
    uint32_t crc;
} sec_writer;

#define SW_BUF (1u << 20)

static void sw_flush(sec_writer *w) {
    if (w->st == TE_OK && w->n) w->st = te_out_pwrite(w->o, w->buf, w->n, w->off, w->path, w->err);
    w->off += w->n;
    w->n = 0;
}

static void sw_raw(sec_writer *w, const void *data, size_t n) {
    const uint8_t *p = data;
    while (n > 0) {
        size_t k = SW_BUF - w->n < n ? SW_BUF - w->n : n;
        memcpy(w->buf + w->n, p, k);
        w->n += k;
        p += k;
        n -= k;
        if (w->n == SW_BUF) sw_flush(w);
    }
}

static void sw_put(sec_writer *w, const void *data, size_t n) {
    w->crc = te_crc32_update(w->crc, data, n);
    sw_raw(w, data, n);
}

static void sw_u64(sec_writer *w, uint64_t v) {
    uint8_t b[8];
    te_put64(b, v);
    sw_put(w, b, 8);
}

/* Pads to the next boundary and starts a section; returns its offset. */
static uint64_t sw_begin(sec_writer *w) {
    static const uint8_t zero[TIDX_ALIGN];
    uint64_t pos = w->off + w->n;
    sw_raw(w, zero, (size_t)(te_align_up(pos, TIDX_ALIGN) - pos));
    w->crc = 0;
    return w->off + w->n;
}

typedef struct term_ref {
    const char *p;
    uint32_t len, t;
} term_ref;

static int term_cmp(const void *a, const void *b) {
    const term_ref *x = a, *y = b;
    int c = memcmp(x->p, y->p, x->len < y->len ? x->len : y->len);
    return c ? c : (x->len > y->len) - (x->len < y->len);
}

/* Ends the section begun at `start`: its table entry {offset, bytes, crc}. */
static void sw_end(sec_writer *w, uint64_t start, uint64_t entry[3]) {
    entry[0] = start;
    entry[1] = w->off + w->n - start;
    entry[2] = w->crc;
}

/* Arrays of 4-byte values (u32 or f32) as little-endian: as they are in
 * memory on a little-endian host, else one at a time. */
static void sw_words(sec_writer *w, const void *v, size_t n) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    sw_put(w, v, n * 4);
#else
    for (size_t i = 0; i < n; i++) {
        uint32_t u;
        uint8_t le[4];
        memcpy(&u, (const char *)v + 4 * i, 4);
        te_put32(le, u);
        sw_put(w, le, 4);
    }
#endif
}

/* The sparse postings by token id and the ColBERT vectors (sections 10-14). */
static void write_m3_sections(const te_index_builder *b, sec_writer *w, uint64_t sec[][3]) {
    uint64_t start = sw_begin(w), at = 0;
    for (size_t id = 0; id < b->n_sp; id++) {
        uint32_t v = (uint32_t)id;
        if (b->sp[id].n) sw_words(w, &v, 1);
    }
    sw_end(w, start, sec[TIDX_SEC_SPARSE_IDS - 1]);
    start = sw_begin(w);
    if (b->o.sparse) sw_u64(w, 0);
    for (size_t id = 0; b->o.sparse && id < b->n_sp; id++)
        if (b->sp[id].n) sw_u64(w, at += b->sp[id].n);
    sw_end(w, start, sec[TIDX_SEC_SPARSE_OFFS - 1]);
    start = sw_begin(w);
    for (size_t id = 0; id < b->n_sp; id++) sw_words(w, b->sp[id].p, 2 * b->sp[id].n);
    sw_end(w, start, sec[TIDX_SEC_SPARSE_POSTINGS - 1]);
    start = sw_begin(w);
    if (b->o.colbert_dim) sw_u64(w, 0);
    for (size_t d = 0; b->o.colbert_dim && d < b->ids.n; d++) sw_u64(w, b->cb_end[d]);
    sw_end(w, start, sec[TIDX_SEC_COLBERT_OFFS - 1]);
    start = sw_begin(w);
    for (size_t i = 0; i < b->n_cb * (size_t)b->o.colbert_dim; i++) {
        uint8_t le[2] = {(uint8_t)b->cb[i], (uint8_t)(b->cb[i] >> 8)};
        sw_put(w, le, 2);
    }
    sw_end(w, start, sec[TIDX_SEC_COLBERT - 1]);
}

/* Everything but the header, in section order (index_format.h); fills the
 * section table entries sec[kind - 1]. */
static void write_sections(te_index_builder *b, sec_writer *w, const term_ref *sorted, uint64_t sec[][3]) {
    size_t n = b->ids.n, nt = b->terms.n, dim = (size_t)b->o.dim;
    uint64_t start = sw_begin(w), at;
    for (size_t i = 0; i <= n; i++) sw_u64(w, n ? b->ids.offs[i] : 0);
    sw_end(w, start, sec[TIDX_SEC_ID_OFFS - 1]);

    start = sw_begin(w);
    sw_put(w, b->ids.blob, b->ids.blob_len);
    sw_end(w, start, sec[TIDX_SEC_ID_BLOB - 1]);

    start = sw_begin(w);
    sw_words(w, b->doc_words, n);
    sw_end(w, start, sec[TIDX_SEC_DOC_WORDS - 1]);

    start = sw_begin(w);
    sw_u64(w, at = 0);
    for (size_t i = 0; i < nt; i++) sw_u64(w, at += sorted[i].len);
    sw_end(w, start, sec[TIDX_SEC_TERM_OFFS - 1]);

    start = sw_begin(w);
    for (size_t i = 0; i < nt; i++) sw_put(w, sorted[i].p, sorted[i].len);
    sw_end(w, start, sec[TIDX_SEC_TERM_BLOB - 1]);

    start = sw_begin(w);
    sw_u64(w, at = 0);
    for (size_t i = 0; i < nt; i++) sw_u64(w, at += b->post[sorted[i].t].n);
    sw_end(w, start, sec[TIDX_SEC_POST_OFFS - 1]);

    start = sw_begin(w);
    for (size_t i = 0; i < nt; i++) {
        const postings *p = &b->post[sorted[i].t];
        sw_words(w, p->p, 2 * (size_t)p->n);
    }
    sw_end(w, start, sec[TIDX_SEC_POSTINGS - 1]);

    start = sw_begin(w);
    if (dim && b->o.dtype == TE_DTYPE_F32) sw_words(w, b->vec_f32, n * dim);
    else if (dim) sw_put(w, b->vec_i8, n * dim);
    sw_end(w, start, sec[TIDX_SEC_VECTORS - 1]);

    start = sw_begin(w);
    if (dim && b->o.dtype == TE_DTYPE_I8) sw_words(w, b->scales, n);
    sw_end(w, start, sec[TIDX_SEC_SCALES - 1]);
    write_m3_sections(b, w, sec);
}

te_status te_index_builder_write(te_index_builder *b, const char *path, te_error *err) {
    if (b->oom) return te_fail(err, TE_ERR_NOMEM, "the index builder ran out of memory earlier");
    size_t nt = b->terms.n;
    term_ref *sorted = malloc((nt ? nt : 1) * sizeof *sorted);
    uint8_t *buf = malloc(SW_BUF);
    if (!sorted || !buf) {
        free(sorted);
        free(buf);
        return te_fail(err, TE_ERR_NOMEM, "out of memory");
    }
    for (size_t i = 0; i < nt; i++)
        sorted[i] = (term_ref){b->terms.blob + b->terms.offs[i], (uint32_t)(b->terms.offs[i + 1] - b->terms.offs[i]), (uint32_t)i};
    qsort(sorted, nt, sizeof *sorted, term_cmp);

    te_out_file o = {.fd = -1};
    te_status st = te_out_open(&o, path, err);
    uint8_t hdr[TIDX_FIXED_HEADER + TIDX_N_SECTIONS * TIDX_SECTION_ENTRY] = {0};
    sec_writer w = {&o, path, err, st, buf, 0, sizeof hdr, 0};
    uint64_t sec[TIDX_N_SECTIONS][3];
    if (st == TE_OK) {
        write_sections(b, &w, sorted, sec);
        sw_flush(&w);
        st = w.st;
    }
    if (st == TE_OK) {
        memcpy(hdr + TIDX_OFF_MAGIC, TIDX_MAGIC, 8);
        te_put16(hdr + TIDX_OFF_MAJOR, TIDX_VERSION_MAJOR);
        te_put16(hdr + TIDX_OFF_MINOR, TIDX_VERSION_MINOR);
        te_put32(hdr + TIDX_OFF_HEADER_SIZE, (uint32_t)sizeof hdr);
        te_put64(hdr + TIDX_OFF_FILE_SIZE, w.off);
        te_put64(hdr + TIDX_OFF_N_DOCS, b->ids.n);
        te_put32(hdr + TIDX_OFF_DIM, (uint32_t)b->o.dim);
        te_put32(hdr + TIDX_OFF_VEC_DTYPE, !b->o.dim ? TIDX_VEC_NONE : b->o.dtype == TE_DTYPE_F32 ? TIDX_VEC_F32 : TIDX_VEC_I8);
        te_put32(hdr + TIDX_OFF_FINGERPRINT, b->o.dim ? b->o.fingerprint : 0);
        te_put32(hdr + TIDX_OFF_N_SECTIONS, TIDX_N_SECTIONS);
        te_put64(hdr + TIDX_OFF_N_TERMS, nt);
        te_put64(hdr + TIDX_OFF_N_POSTINGS, b->n_postings);
        te_put64(hdr + TIDX_OFF_TOTAL_WORDS, b->total_words);
        te_put64(hdr + TIDX_OFF_N_TRUNCATED, b->n_truncated);
        memcpy(hdr + TIDX_OFF_MODEL_NAME, b->model_name, strnlen(b->model_name, TIDX_NAME - 1));
        te_put32(hdr + TIDX_OFF_COLBERT_DIM, (uint32_t)b->o.colbert_dim);
        for (int i = 0; i < TIDX_N_SECTIONS; i++) {
            uint8_t *e = hdr + TIDX_FIXED_HEADER + (size_t)i * TIDX_SECTION_ENTRY;
            te_put32(e, (uint32_t)i + 1);
            te_put32(e + 4, (uint32_t)sec[i][2]);
            te_put64(e + 8, sec[i][0]);
            te_put64(e + 16, sec[i][1]);
        }
        te_put32(hdr + TIDX_OFF_HEADER_CRC, te_crc32_update(0, hdr, sizeof hdr));
        st = te_out_pwrite(&o, hdr, sizeof hdr, 0, path, err);
    }
    if (st == TE_OK) st = te_out_commit(&o, path, err);
    if (st != TE_OK) te_out_abort(&o);
    free(sorted);
    free(buf);
    return st;
}
