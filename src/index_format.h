/*
 * index_format.h - the layout of a search index file (.tidx), shared by the
 * writer (index_build.c) and the reader (index.c). docs/FORMAT.md, "Search
 * index", is the prose version; all integers are little-endian.
 *
 *   header: fixed part (TIDX_FIXED_HEADER bytes), then the section table
 *   sections, each at a TIDX_ALIGN boundary, zero padding between
 */
#ifndef TE_INDEX_FORMAT_H
#define TE_INDEX_FORMAT_H

#define TIDX_MAGIC "TEMBIDX1"  /* 8 bytes */
#define TIDX_VERSION_MAJOR 1   /* a reader refuses another major version */
#define TIDX_VERSION_MINOR 1   /* 1.1 added the learned-sparse and ColBERT sections; 1.0 files (9 sections) still open */
#define TIDX_ALIGN 64          /* every section starts at a multiple of this */
#define TIDX_NAME 64           /* model name field, NUL-padded */

/* Fixed header fields (byte offsets). */
enum {
    TIDX_OFF_MAGIC = 0,        /* 8 bytes */
    TIDX_OFF_MAJOR = 8,        /* u16 */
    TIDX_OFF_MINOR = 10,       /* u16 */
    TIDX_OFF_HEADER_SIZE = 12, /* u32: fixed part + section table */
    TIDX_OFF_FILE_SIZE = 16,   /* u64: the whole file */
    TIDX_OFF_N_DOCS = 24,      /* u64 */
    TIDX_OFF_DIM = 32,         /* u32: vector length, 0 without vectors */
    TIDX_OFF_VEC_DTYPE = 36,   /* u32: TIDX_VEC_* */
    TIDX_OFF_FINGERPRINT = 40, /* u32: te_model_info.fingerprint of the model (0 without vectors) */
    TIDX_OFF_N_SECTIONS = 44,  /* u32 */
    TIDX_OFF_N_TERMS = 48,     /* u64 */
    TIDX_OFF_N_POSTINGS = 56,  /* u64 */
    TIDX_OFF_TOTAL_WORDS = 64, /* u64: sum of the document lengths in words */
    TIDX_OFF_N_TRUNCATED = 72, /* u64: documents embedded truncated (informational) */
    TIDX_OFF_MODEL_NAME = 80,  /* TIDX_NAME bytes */
    TIDX_OFF_HEADER_CRC = 144, /* u32: CRC-32 of the header (fixed part + table) with this field 0 */
    TIDX_OFF_COLBERT_DIM = 148, /* u32: floats per ColBERT vector, 0 without them (1.0: reserved, 0) */
    TIDX_FIXED_HEADER = 152,
    TIDX_SECTION_ENTRY = 24    /* u32 kind, u32 crc, u64 offset, u64 bytes */
};

enum { TIDX_VEC_NONE = 0, TIDX_VEC_F32 = 1, TIDX_VEC_I8 = 2 };

/* Section kinds, in file order; the table lists each exactly once. */
enum {
    TIDX_SEC_ID_OFFS = 1,  /* u64[n_docs + 1]: document i's id is ID_BLOB[offs[i], offs[i+1]) */
    TIDX_SEC_ID_BLOB,      /* the ids' UTF-8 bytes, back to back */
    TIDX_SEC_DOC_WORDS,    /* u32[n_docs]: words per document (BM25's length) */
    TIDX_SEC_TERM_OFFS,    /* u64[n_terms + 1] into TERM_BLOB */
    TIDX_SEC_TERM_BLOB,    /* the terms, sorted bytewise ascending, each unique */
    TIDX_SEC_POST_OFFS,    /* u64[n_terms + 1]: term t's postings are [offs[t], offs[t+1]) */
    TIDX_SEC_POSTINGS,     /* u32 pairs (document, term frequency), documents ascending per term */
    TIDX_SEC_VECTORS,      /* n_docs * dim f32 or int8, L2-normalized before quantization; empty without vectors */
    TIDX_SEC_SCALES,       /* f32[n_docs]: int8 vector i is VECTORS[i] * scales[i]; empty unless int8 */
    TIDX_SEC_SPARSE_IDS,   /* u32 token ids with sparse postings, ascending; empty without sparse weights */
    TIDX_SEC_SPARSE_OFFS,  /* u64[n_ids + 1]: id i's postings are [offs[i], offs[i+1]); empty without */
    TIDX_SEC_SPARSE_POSTINGS, /* (u32 document, f32 weight > 0) pairs, documents ascending per id */
    TIDX_SEC_COLBERT_OFFS, /* u64[n_docs + 1]: document i's ColBERT vectors are [offs[i], offs[i+1]); empty without */
    TIDX_SEC_COLBERT,      /* the vectors, colbert_dim f16 values each */
    TIDX_N_SECTIONS = TIDX_SEC_COLBERT,
    TIDX_N_SECTIONS_1_0 = TIDX_SEC_SCALES
};

#endif
