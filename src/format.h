/*
 * format.h - constants of the .temb file format, shared by the writer
 * (temb_writer.c) and the reader (model.c). docs/FORMAT.md is the prose
 * version; keep the two in step.
 *
 * File = fixed header | section table | sections ... | DATA (4096-aligned).
 * Everything is little-endian. Readers refuse a newer major version and
 * ignore section kinds and metadata keys they do not know, so a minor
 * version can add both without breaking older readers.
 */
#ifndef TE_FORMAT_H
#define TE_FORMAT_H

#define TEMB_MAGIC "TEMB"
#define TEMB_VERSION_MAJOR 1
#define TEMB_VERSION_MINOR 3 /* 1.1 added the HOT section; 1.2 architecture, head and template metadata;
                               1.3 the tokenizer pipeline and u8 tensors */

/* Fixed header: magic[4] u16 major u16 minor u32 header_size u32 n_sections
 * u64 file_size u32 flags u32 header_crc. header_size covers the fixed header
 * and the section table; header_crc is the CRC-32 of those bytes with the
 * header_crc field itself set to zero. */
#define TEMB_FIXED_HEADER 32
#define TEMB_SECTION_ENTRY 24 /* u32 kind, u32 crc32, u64 offset, u64 size */
#define TEMB_MAX_SECTIONS 64

enum temb_section_kind {
    TEMB_SEC_META = 1,    /* key/value metadata (hyper-parameters, tokenizer settings, names) */
    TEMB_SEC_VOCAB = 2,   /* tokenizer vocabulary with its lookup hash table */
    TEMB_SEC_ADDED = 3,   /* added/special tokens matched in raw text */
    TEMB_SEC_TENSORS = 4, /* tensor directory */
    TEMB_SEC_DATA = 5,    /* tensor bytes; covered by per-tensor CRCs, its own crc is 0 */
    TEMB_SEC_HOT = 6      /* embedding rows te_warmup pages in (since 1.1; optional) */
};

/* An embedding model's calibrated output range (calibrate.h; optional, since 1.3): an f32 tensor
 * [2, hidden], each dimension's min then each one's max, and the count of texts it came from. */
#define TEMB_RANGE_TENSOR "output.range"
#define TEMB_RANGE_TEXTS_KEY "output.range_texts"

/* HOT: u32 count, u32 ids[count], ascending: the word-embedding rows real
 * text uses most. */
#define TEMB_MAX_HOT 65536
#define TEMB_HOT_ROWS 8192 /* how many the converter lists (see convert.c) */

/* META: u32 count, then entries: u16 key_len, u8 type, u8 0, key bytes,
 * zero padding to 4; then the value: U32 or F32 (4 bytes) or STR (u32 len,
 * bytes, zero padding to 4). */
enum temb_kv_type { TEMB_KV_U32 = 1, TEMB_KV_F32 = 2, TEMB_KV_STR = 3 };
#define TEMB_MAX_KEY 128

/* VOCAB: u32 n_tokens, u32 hash_bits, u32 max_token_bytes, u32 blob_bytes,
 * u32 offsets[n_tokens + 1] (token i is blob[offsets[i] .. offsets[i+1])),
 * u32 slots[1 << hash_bits] (0 = empty, else token id + 1; slot index =
 * FNV-1a-32(token bytes) & mask, linear probing), then the blob. */
#define TEMB_VOCAB_HEADER 16
#define TEMB_MAX_HASH_BITS 26

/* ADDED: u32 count, then entries: u32 id, u32 flags, u32 len, bytes, zero
 * padding to 4. */
enum temb_added_flags {
    TEMB_ADDED_SPECIAL = 1,
    TEMB_ADDED_SINGLE_WORD = 2,
    TEMB_ADDED_LSTRIP = 4,
    TEMB_ADDED_RSTRIP = 8,
    TEMB_ADDED_NORMALIZED = 16
};
#define TEMB_MAX_ADDED_LEN 256

/* TENSORS: u32 count, u32 entry_size (128), 8 zero bytes, then entries:
 * name[64] (NUL-padded), u32 dtype, u32 layout, u32 n_dims, u32 crc32,
 * u64 dims[4], u64 offset, u64 size. */
#define TEMB_TENSORS_HEADER 16
#define TEMB_TENSOR_ENTRY 128
#define TEMB_TENSOR_NAME 64
#define TEMB_MAX_DIMS 4
#define TEMB_MAX_DIM ((uint64_t)1 << 31)

/* Every tensor starts on a 64-byte boundary; the embedding block and each
 * transformer layer's block start on a 4096-byte boundary. */
#define TEMB_TENSOR_ALIGN 64
#define TEMB_BLOCK_ALIGN 4096

/* Weight panels: a linear weight W[N][K] is stored as ceil(N/16) panels, each
 * K rows of 16 output columns: panel p, row k, lane j = W[16p + j][k] (zero
 * where 16p + j >= N). The GEMM streams these without repacking. */
#define TEMB_PANEL 16

/* FNV-1a, 32 bit: the vocabulary hash. Streaming, so "##" + piece can be
 * hashed without building the string. */
#define TEMB_FNV_OFFSET 2166136261u
#define TEMB_FNV_PRIME 16777619u

#endif
