/*
 * index.h - the opened search index, shared by index.c (opening, checks)
 * and index_search.c (the searches). Every pointer is into the read-only
 * mapping and every count below has been checked against the file.
 */
#ifndef TE_INDEX_H
#define TE_INDEX_H

#include <stddef.h>
#include <stdint.h>

#include "index_format.h"
#include "tinyembed.h"

typedef struct te_index_section {
    uint64_t offset, bytes;
    uint32_t crc;
} te_index_section;

struct te_index {
    int fd;
    const uint8_t *map;
    size_t map_size;
    te_index_info info;
    te_index_section sec[TIDX_N_SECTIONS];  /* by kind - 1 */
    const uint8_t *id_offs;     /* u64[n_docs + 1] (little-endian, read with te_le64) */
    const char *id_blob;
    const uint8_t *doc_words;   /* u32[n_docs] */
    const uint8_t *term_offs;   /* u64[n_terms + 1] */
    const char *term_blob;
    const uint8_t *post_offs;   /* u64[n_terms + 1] */
    const uint8_t *postings;    /* u32 pairs */
    const void *vectors;        /* f32 or int8 [n_docs][dim]; 4-byte values aligned (sections are) */
    const uint8_t *scales;      /* f32[n_docs] for int8 */
    int n_sections;             /* TIDX_N_SECTIONS, or TIDX_N_SECTIONS_1_0 for a 1.0 file (no sparse, no ColBERT) */
    const uint8_t *sparse_ids;  /* u32[info.n_sparse_ids], ascending */
    const uint8_t *sparse_offs; /* u64[n_sparse_ids + 1] */
    const uint8_t *sparse_post; /* (u32 document, f32 weight) pairs */
    const uint8_t *colbert_offs; /* u64[n_docs + 1] when info.colbert_dim */
    const uint8_t *colbert;     /* f16 [info.n_colbert][colbert_dim] */
};

/* v[0..dim) as int8: q = round(v * 127 / max|v|); returns 1 / |q| (0 for a
 * zero vector), the scale that makes q . d * scale_q * scale_d the cosine
 * of the int8 vectors. Used for documents and queries alike. */
float te_index_quantize(const float *v, size_t dim, int8_t *q);

/* Term number of `word` (binary search over the sorted terms), or -1. */
int64_t te_index_find_term(const te_index *ix, const char *word, size_t len);

#endif
