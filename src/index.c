/*
 * index.c - opening a search index (.tidx): maps the file and checks, before
 * anything is searched, every count and offset the searches will rely on.
 *
 * Order: file -> magic and version -> header CRC -> declared size against
 * the real one (a truncated file is named as such) -> the section table
 * (each kind once, aligned, inside the file, of the size the counts imply)
 * -> CRCs of the small sections -> monotonic offset tables. The bulk
 * (vectors, postings) is CRC-checked by te_index_verify; a damaged posting
 * that names a document out of range is still caught while searching.
 */
#include "index.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crc32.h"
#include "internal.h"

static const char *const section_names[TIDX_N_SECTIONS] = {
    "document id offsets", "document ids", "document lengths", "term offsets", "terms",
    "posting offsets", "postings", "vectors", "vector scales", "sparse token ids", "sparse posting offsets",
    "sparse postings", "ColBERT offsets", "ColBERT vectors",
};

static te_status map_index(te_index *ix, const char *path, te_error *err) {
    ix->fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (ix->fd < 0) {
        if (errno == ENOENT) return te_fail(err, TE_ERR_NOT_FOUND, "no such file");
        return te_fail(err, TE_ERR_IO, "cannot open: %s", strerror(errno));
    }
    struct stat st;
    if (fstat(ix->fd, &st) != 0) return te_fail(err, TE_ERR_IO, "cannot stat: %s", strerror(errno));
    if (!S_ISREG(st.st_mode)) return te_fail(err, TE_ERR_ARG, "not a regular file");
    if ((uint64_t)st.st_size < TIDX_FIXED_HEADER)
        return te_fail(err, TE_ERR_TRUNCATED, "file is %lld bytes, shorter than an index header", (long long)st.st_size);
    if ((uint64_t)st.st_size > SIZE_MAX) return te_fail(err, TE_ERR_UNSUPPORTED, "file too large to map");
    ix->map_size = (size_t)st.st_size;
    void *p = mmap(NULL, ix->map_size, PROT_READ, MAP_SHARED, ix->fd, 0);
    if (p == MAP_FAILED) return te_fail(err, TE_ERR_IO, "mmap failed: %s", strerror(errno));
    ix->map = p;
    return TE_OK;
}

/* The bytes section `kind` must have, given the header's counts; 0 with
 * *ok = 0 when that overflows. */
static uint64_t expected_bytes(const te_index *ix, int kind, int *ok) {
    const te_index_info *in = &ix->info;
    uint64_t v = 0, n = in->n_docs, nt = in->n_terms;
    size_t vsize = in->dtype == TE_DTYPE_F32 ? 4 : 1;
    switch (kind) {
    case TIDX_SEC_ID_OFFS: *ok = te_mul_u64(n + 1, 8, &v); break;
    case TIDX_SEC_DOC_WORDS: *ok = te_mul_u64(n, 4, &v); break;
    case TIDX_SEC_TERM_OFFS:
    case TIDX_SEC_POST_OFFS: *ok = te_mul_u64(nt + 1, 8, &v); break;
    case TIDX_SEC_POSTINGS: *ok = te_mul_u64(in->n_postings, 8, &v); break;
    case TIDX_SEC_VECTORS: *ok = te_mul_u64(n, (uint64_t)in->dim * vsize, &v); break;
    case TIDX_SEC_SCALES: *ok = in->dim && in->dtype == TE_DTYPE_I8 ? te_mul_u64(n, 4, &v) : (v = 0, 1); break;
    case TIDX_SEC_COLBERT_OFFS: *ok = in->colbert_dim ? te_mul_u64(n + 1, 8, &v) : (v = 0, 1); break;
    default: *ok = 1; return UINT64_MAX; /* blobs: any size, checked against their offsets */
    }
    return v;
}

static te_status parse_header(te_index *ix, te_error *err) {
    const uint8_t *h = ix->map;
    if (memcmp(h, TIDX_MAGIC, 8) != 0) {
        if (memcmp(h, "TEMB", 4) == 0) return te_fail(err, TE_ERR_FORMAT, "this is a model file (.temb), not a search index");
        return te_fail(err, TE_ERR_FORMAT, "not a tinyembed search index (bad magic)");
    }
    unsigned major = te_le16(h + TIDX_OFF_MAJOR), minor = te_le16(h + TIDX_OFF_MINOR);
    if (major != TIDX_VERSION_MAJOR)
        return te_fail(err, TE_ERR_VERSION, "index format version %u.%u; this build reads %d.x", major, minor, TIDX_VERSION_MAJOR);
    uint32_t n_sec = te_le32(h + TIDX_OFF_N_SECTIONS), hsize = te_le32(h + TIDX_OFF_HEADER_SIZE);
    uint32_t want_sec = minor == 0 ? TIDX_N_SECTIONS_1_0 : TIDX_N_SECTIONS; /* later minors add sections at the end */
    if (n_sec != want_sec || hsize != TIDX_FIXED_HEADER + want_sec * TIDX_SECTION_ENTRY)
        return te_fail(err, TE_ERR_FORMAT, "header: %u sections in %u bytes (expected %u in %u)", n_sec, hsize, want_sec,
                       TIDX_FIXED_HEADER + want_sec * TIDX_SECTION_ENTRY);
    if (hsize > ix->map_size) return te_fail(err, TE_ERR_TRUNCATED, "file ends inside its header (%zu bytes)", ix->map_size);
    ix->n_sections = (int)n_sec;
    uint8_t copy[TIDX_FIXED_HEADER + TIDX_N_SECTIONS * TIDX_SECTION_ENTRY];
    memcpy(copy, h, hsize);
    memset(copy + TIDX_OFF_HEADER_CRC, 0, 4);
    if (te_crc32_differs(te_crc32_update(0, copy, hsize), te_le32(h + TIDX_OFF_HEADER_CRC)))
        return te_fail(err, TE_ERR_CHECKSUM, "header checksum mismatch: the header is damaged");
    uint64_t declared = te_le64(h + TIDX_OFF_FILE_SIZE);
    if (declared > ix->map_size)
        return te_fail(err, TE_ERR_TRUNCATED, "file is %zu bytes but its header says %llu: it was truncated", ix->map_size,
                       (unsigned long long)declared);
    if (declared < ix->map_size)
        return te_fail(err, TE_ERR_FORMAT, "file is %zu bytes but its header says %llu: unexpected bytes at the end",
                       ix->map_size, (unsigned long long)declared);

    te_index_info *in = &ix->info;
    in->n_docs = te_le64(h + TIDX_OFF_N_DOCS);
    in->dim = (int)te_le32(h + TIDX_OFF_DIM);
    uint32_t vt = te_le32(h + TIDX_OFF_VEC_DTYPE);
    in->fingerprint = te_le32(h + TIDX_OFF_FINGERPRINT);
    in->n_terms = te_le64(h + TIDX_OFF_N_TERMS);
    in->n_postings = te_le64(h + TIDX_OFF_N_POSTINGS);
    uint64_t total_words = te_le64(h + TIDX_OFF_TOTAL_WORDS);
    in->n_truncated = te_le64(h + TIDX_OFF_N_TRUNCATED);
    memcpy(in->model_name, h + TIDX_OFF_MODEL_NAME, TIDX_NAME - 1);
    in->model_name[TIDX_NAME - 1] = '\0';
    in->file_bytes = declared;
    if (te_le32(h + TIDX_OFF_DIM) > 65536 || (vt == TIDX_VEC_NONE) != (in->dim == 0) || vt > TIDX_VEC_I8)
        return te_fail(err, TE_ERR_FORMAT, "header: vectors of length %u and type %u make no sense", te_le32(h + TIDX_OFF_DIM), vt);
    in->dtype = vt == TIDX_VEC_I8 ? TE_DTYPE_I8 : TE_DTYPE_F32;
    uint32_t cdim = minor == 0 ? 0 : te_le32(h + TIDX_OFF_COLBERT_DIM);
    if (cdim > 65536) return te_fail(err, TE_ERR_FORMAT, "header: ColBERT vectors of length %u make no sense", cdim);
    in->colbert_dim = (int)cdim;
    if (in->n_docs >= UINT32_MAX || in->n_terms >= UINT32_MAX)
        return te_fail(err, TE_ERR_FORMAT, "header: %llu documents and %llu terms are more than an index holds",
                       (unsigned long long)in->n_docs, (unsigned long long)in->n_terms);
    in->avg_doc_words = in->n_docs ? (double)total_words / (double)in->n_docs : 0;

    for (int i = 0; i < ix->n_sections; i++) {
        const uint8_t *e = h + TIDX_FIXED_HEADER + (size_t)i * TIDX_SECTION_ENTRY;
        te_index_section *s = &ix->sec[i];
        s->crc = te_le32(e + 4);
        s->offset = te_le64(e + 8);
        s->bytes = te_le64(e + 16);
        int ok;
        uint64_t want = expected_bytes(ix, i + 1, &ok);
        if (te_le32(e) != (uint32_t)i + 1 || s->offset % TIDX_ALIGN || s->offset < hsize || s->offset > declared ||
            s->bytes > declared - s->offset)
            return te_fail(err, TE_ERR_FORMAT, "section table: the %s section is misplaced", section_names[i]);
        if (!ok || (want != UINT64_MAX && want != s->bytes))
            return te_fail(err, TE_ERR_FORMAT, "the %s section is %llu bytes, the header's counts need %llu", section_names[i],
                           (unsigned long long)s->bytes, (unsigned long long)want);
    }
    return TE_OK;
}

static te_status check_crc(const te_index *ix, int kind, te_error *err) {
    const te_index_section *s = &ix->sec[kind - 1];
    if (te_crc32_differs(te_crc32_update(0, ix->map + s->offset, (size_t)s->bytes), s->crc))
        return te_fail(err, TE_ERR_CHECKSUM, "the %s section is damaged (checksum mismatch)", section_names[kind - 1]);
    return TE_OK;
}

/* An offset table: starts at 0, never decreases, ends at `end`. */
static te_status check_offsets(const uint8_t *offs, uint64_t n, uint64_t end, const char *what, te_error *err) {
    uint64_t prev = 0;
    for (uint64_t i = 0; i <= n; i++) {
        uint64_t v = te_le64(offs + 8 * i);
        if ((i == 0 && v != 0) || v < prev || v > end || (i == n && v != end))
            return te_fail(err, TE_ERR_FORMAT, "%s: entry %llu is out of order", what, (unsigned long long)i);
        prev = v;
    }
    return TE_OK;
}

/* Sections 10-14 (1.1): the sparse ids ascending, every offset table in
 * order, the bulk of the size its offsets imply. */
static te_status check_m3_layout(te_index *ix, te_error *err) {
    static const int small[] = {TIDX_SEC_SPARSE_IDS, TIDX_SEC_SPARSE_OFFS, TIDX_SEC_COLBERT_OFFS};
    te_status st = TE_OK;
    for (size_t i = 0; st == TE_OK && i < sizeof small / sizeof *small; i++) st = check_crc(ix, small[i], err);
    if (st != TE_OK) return st;
    te_index_info *in = &ix->info;
    const te_index_section *ids = &ix->sec[TIDX_SEC_SPARSE_IDS - 1], *offs = &ix->sec[TIDX_SEC_SPARSE_OFFS - 1];
    const te_index_section *post = &ix->sec[TIDX_SEC_SPARSE_POSTINGS - 1], *cb = &ix->sec[TIDX_SEC_COLBERT - 1];
    in->n_sparse_ids = ids->bytes / 4;
    ix->sparse_ids = ix->map + ids->offset;
    ix->sparse_offs = ix->map + offs->offset;
    ix->sparse_post = ix->map + post->offset;
    ix->colbert_offs = ix->map + ix->sec[TIDX_SEC_COLBERT_OFFS - 1].offset;
    ix->colbert = ix->map + cb->offset;
    if (ids->bytes % 4 || (offs->bytes ? offs->bytes != 8 * (in->n_sparse_ids + 1) : ids->bytes != 0) || post->bytes % 8)
        return te_fail(err, TE_ERR_FORMAT, "the sparse sections' sizes do not agree");
    in->n_sparse_postings = post->bytes / 8;
    in->sparse = offs->bytes > 0;
    for (uint64_t i = 1; i < in->n_sparse_ids; i++)
        if (te_le32(ix->sparse_ids + 4 * i) <= te_le32(ix->sparse_ids + 4 * (i - 1)))
            return te_fail(err, TE_ERR_FORMAT, "sparse token ids: entry %llu is out of order", (unsigned long long)i);
    if (offs->bytes) st = check_offsets(ix->sparse_offs, in->n_sparse_ids, in->n_sparse_postings, "sparse posting offsets", err);
    if (st != TE_OK || !in->colbert_dim) return st == TE_OK && cb->bytes ? te_fail(err, TE_ERR_FORMAT, "ColBERT vectors without a length") : st;
    in->n_colbert = te_le64(ix->colbert_offs + 8 * in->n_docs);
    uint64_t need;
    if (!te_mul_u64(in->n_colbert, 2 * (uint64_t)in->colbert_dim, &need) || need != cb->bytes)
        return te_fail(err, TE_ERR_FORMAT, "the ColBERT section is %llu bytes, its offsets need more or less",
                       (unsigned long long)cb->bytes);
    return check_offsets(ix->colbert_offs, in->n_docs, in->n_colbert, "ColBERT offsets", err);
}

static te_status check_layout(te_index *ix, te_error *err) {
    static const int small[] = {TIDX_SEC_ID_OFFS, TIDX_SEC_ID_BLOB, TIDX_SEC_DOC_WORDS, TIDX_SEC_TERM_OFFS,
                                TIDX_SEC_TERM_BLOB, TIDX_SEC_POST_OFFS, TIDX_SEC_SCALES};
    te_status st = TE_OK;
    for (size_t i = 0; st == TE_OK && i < sizeof small / sizeof *small; i++) st = check_crc(ix, small[i], err);
    if (st != TE_OK) return st;
#define AT(kind) (ix->map + ix->sec[(kind) - 1].offset)
    ix->id_offs = AT(TIDX_SEC_ID_OFFS);
    ix->id_blob = (const char *)AT(TIDX_SEC_ID_BLOB);
    ix->doc_words = AT(TIDX_SEC_DOC_WORDS);
    ix->term_offs = AT(TIDX_SEC_TERM_OFFS);
    ix->term_blob = (const char *)AT(TIDX_SEC_TERM_BLOB);
    ix->post_offs = AT(TIDX_SEC_POST_OFFS);
    ix->postings = AT(TIDX_SEC_POSTINGS);
    ix->vectors = AT(TIDX_SEC_VECTORS);
    ix->scales = AT(TIDX_SEC_SCALES);
#undef AT
    const te_index_info *in = &ix->info;
    st = check_offsets(ix->id_offs, in->n_docs, ix->sec[TIDX_SEC_ID_BLOB - 1].bytes, "document id offsets", err);
    if (st == TE_OK) st = check_offsets(ix->term_offs, in->n_terms, ix->sec[TIDX_SEC_TERM_BLOB - 1].bytes, "term offsets", err);
    if (st == TE_OK) st = check_offsets(ix->post_offs, in->n_terms, in->n_postings, "posting offsets", err);
    if (st == TE_OK && ix->n_sections > TIDX_N_SECTIONS_1_0) st = check_m3_layout(ix, err);
    for (uint64_t i = 0; st == TE_OK && in->dtype == TE_DTYPE_I8 && i < in->n_docs; i++) {
        uint32_t u = te_le32(ix->scales + 4 * i);
        float f;
        memcpy(&f, &u, 4);
        if (!isfinite(f) || f < 0) st = te_fail(err, TE_ERR_FORMAT, "vector scale %llu is not a finite non-negative number", (unsigned long long)i);
    }
    return st;
}

te_index *te_index_open(const char *path, int flags, te_error *err) {
    te_index *ix = calloc(1, sizeof *ix);
    if (!ix) {
        te_fail(err, TE_ERR_NOMEM, "out of memory");
        return NULL;
    }
    ix->fd = -1;
    te_status st = map_index(ix, path, err);
    if (st == TE_OK) st = parse_header(ix, err);
    if (st == TE_OK) st = check_layout(ix, err);
    if (st == TE_OK && (flags & TE_INDEX_VERIFY)) st = te_index_verify(ix, err);
    if (st != TE_OK) {
        te_error_prefix(err, "%s", path);
        te_index_close(ix);
        return NULL;
    }
    return ix;
}

void te_index_close(te_index *ix) {
    if (!ix) return;
    if (ix->map) munmap((void *)ix->map, ix->map_size);
    if (ix->fd >= 0) close(ix->fd);
    free(ix);
}

void te_index_get_info(const te_index *ix, te_index_info *out) { *out = ix->info; }

te_status te_index_verify(const te_index *ix, te_error *err) {
    for (int k = 1; k <= ix->n_sections; k++) {
        te_status st = check_crc(ix, k, err);
        if (st != TE_OK) return st;
    }
    return TE_OK;
}

const char *te_index_doc_id(const te_index *ix, uint64_t doc, size_t *len) {
    if (doc >= ix->info.n_docs) return NULL;
    uint64_t a = te_le64(ix->id_offs + 8 * doc), b = te_le64(ix->id_offs + 8 * (doc + 1));
    if (len) *len = (size_t)(b - a);
    return ix->id_blob + a;
}

te_status te_index_check_model(const te_index *ix, const te_model *m, te_error *err) {
    te_model_info mi;
    te_model_get_info(m, &mi);
    if (!ix->info.dim) return te_fail(err, TE_ERR_ARG, "the index has no vectors (it was built with --no-vectors)");
    if (mi.fingerprint != ix->info.fingerprint)
        return te_fail(err, TE_ERR_ARG,
                       "the index's vectors come from model \"%s\" (fingerprint %08x), not from \"%s\" (fingerprint %08x): "
                       "query it with the model it was built with, or build it again",
                       ix->info.model_name, (unsigned)ix->info.fingerprint, mi.name, (unsigned)mi.fingerprint);
    if (mi.hidden_size != ix->info.dim)
        return te_fail(err, TE_ERR_ARG, "the index's vectors have %d values, the model's %d", ix->info.dim, mi.hidden_size);
    return TE_OK;
}

float te_index_quantize(const float *v, size_t dim, int8_t *q) {
    float amax = 0;
    for (size_t i = 0; i < dim; i++) amax = fmaxf(amax, fabsf(v[i]));
    float r = amax > 0 ? 127.0f / amax : 0.0f;
    int64_t ss = 0;
    for (size_t i = 0; i < dim; i++) {
        float x = nearbyintf(v[i] * r);
        q[i] = (int8_t)(x > 127.0f ? 127.0f : x < -127.0f ? -127.0f : x);
        ss += (int64_t)q[i] * q[i];
    }
    return ss > 0 ? (float)(1.0 / sqrt((double)ss)) : 0.0f;
}

int64_t te_index_find_term(const te_index *ix, const char *word, size_t len) {
    uint64_t lo = 0, hi = ix->info.n_terms;
    while (lo < hi) {
        uint64_t mid = lo + (hi - lo) / 2;
        uint64_t a = te_le64(ix->term_offs + 8 * mid), b = te_le64(ix->term_offs + 8 * (mid + 1));
        size_t tl = (size_t)(b - a);
        int c = memcmp(ix->term_blob + a, word, tl < len ? tl : len);
        if (c == 0) c = (tl > len) - (tl < len);
        if (c == 0) return (int64_t)mid;
        if (c < 0) lo = mid + 1;
        else hi = mid;
    }
    return -1;
}
