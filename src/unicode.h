/*
 * unicode.h - the Unicode properties the tokenizers need, from tables
 * generated out of the Unicode 15.0 Character Database (unicode_tables.c,
 * made by tools/gen_unicode.py): BERT's character classes, case mapping,
 * decompositions and compositions (unicode_norm.c runs the normalization
 * forms), grapheme clusters; plus a forgiving UTF-8 decoder.
 */
#ifndef TE_UNICODE_H
#define TE_UNICODE_H

#include <stddef.h>
#include <stdint.h>

/* Flag bits per code point. */
enum {
    /* The first, third and fourth follow the reference's Unicode 8.0 category
     * tables: code points assigned later (or never) have none of them. */
    TE_UC_OTHER = 1,       /* general category Cc, Cf, Cs or Co */
    TE_UC_SPACE = 2,       /* White_Space property */
    TE_UC_PUNCT = 4,       /* category P*, or ASCII punctuation ($ + < = > ^ ` | ~ ...) */
    TE_UC_MN = 8,          /* category Mn: dropped when stripping accents */
    TE_UC_NONSTARTER = 16, /* canonical combining class != 0 */
    TE_UC_LOWER = 32,      /* has a lowercase mapping other than itself */
    TE_UC_DECOMP = 64,     /* has a canonical decomposition (incl. Hangul syllables) */
    TE_UC_WORD = 128       /* regex \w: Alphabetic, M*, Nd, Pc, Join_Control */
};

/* Grapheme_Cluster_Break values (UAX #29) and the other property bits of te_uc_props. */
enum {
    TE_GCB_OTHER, TE_GCB_CR, TE_GCB_LF, TE_GCB_CONTROL, TE_GCB_EXTEND, TE_GCB_ZWJ, TE_GCB_RI, TE_GCB_PREPEND,
    TE_GCB_SPACINGMARK, TE_GCB_L, TE_GCB_V, TE_GCB_T, TE_GCB_LV, TE_GCB_LVT
};
#define TE_UC_GCB_MASK 15
#define TE_UC_EXT_PICT 16   /* Extended_Pictographic */
#define TE_UC_LETTER 32     /* general category L*: regex \p{L} */
#define TE_UC_NUMBER 64     /* general category N*: regex \p{N} */
#define TE_UC_MARK 128      /* general category M* (of Unicode 9.0): the StripAccents normalizer drops it */

#define TE_UC_BLOCK_SHIFT 7
#define TE_UC_MAX_DECOMP 4   /* longest full canonical decomposition */
#define TE_UC_MAX_LOWER 3    /* longest full lowercase mapping */
#define TE_UC_MAX_KDECOMP 18 /* longest full compatibility decomposition (U+FDFA) */
#define TE_UC_REPLACEMENT 0xFFFDu

typedef struct te_uc_map {
    uint32_t cp;
    uint16_t at;   /* index into te_uc_pool */
    uint8_t len;
} te_uc_map;

typedef struct te_uc_class {
    uint32_t cp;
    uint8_t ccc;
} te_uc_class;

typedef struct te_uc_pair {
    uint32_t first, second, composite;
} te_uc_pair;

extern const uint16_t te_uc_stage1[0x110000 >> TE_UC_BLOCK_SHIFT], te_uc_props_stage1[0x110000 >> TE_UC_BLOCK_SHIFT];
extern const uint8_t te_uc_stage2[][1 << TE_UC_BLOCK_SHIFT], te_uc_props_stage2[][1 << TE_UC_BLOCK_SHIFT];
extern const uint32_t te_uc_pool[];
extern const te_uc_map te_uc_lower[], te_uc_decomp[], te_uc_kdecomp[];
extern const te_uc_class te_uc_ccc[];
extern const te_uc_pair te_uc_compositions[];
extern const size_t te_uc_n_lower, te_uc_n_decomp, te_uc_n_kdecomp, te_uc_n_ccc, te_uc_n_compositions;

static inline unsigned te_uc_flags(uint32_t cp) {
    if (cp >= 0x110000) return TE_UC_OTHER;
    return te_uc_stage2[te_uc_stage1[cp >> TE_UC_BLOCK_SHIFT]][cp & ((1u << TE_UC_BLOCK_SHIFT) - 1)];
}

/* Grapheme_Cluster_Break (TE_UC_GCB_MASK) and the TE_UC_EXT_PICT, LETTER, NUMBER, MARK bits. */
static inline unsigned te_uc_props(uint32_t cp) {
    if (cp >= 0x110000) return TE_GCB_CONTROL;
    return te_uc_props_stage2[te_uc_props_stage1[cp >> TE_UC_BLOCK_SHIFT]][cp & ((1u << TE_UC_BLOCK_SHIFT) - 1)];
}

/* Full lowercase mapping of cp into out (up to TE_UC_MAX_LOWER); returns the count. */
int te_uc_lowercase(uint32_t cp, uint32_t *out);

/* Full canonical decomposition (NFD, without reordering) into out (up to
 * TE_UC_MAX_DECOMP); returns the count (1 and cp itself if none). */
int te_uc_decompose(uint32_t cp, uint32_t *out);

/* Canonical combining class (0 for starters). */
int te_uc_ccc_of(uint32_t cp);

/* Full compatibility decomposition (NFKD, without reordering) into out (up
 * to TE_UC_MAX_KDECOMP); returns the count (1 and cp itself if none). */
int te_uc_kdecompose(uint32_t cp, uint32_t *out);

/* The canonical composition of a + b (Hangul included), or 0 if none. */
uint32_t te_uc_compose(uint32_t a, uint32_t b);

/* Bytes of the extended grapheme cluster (UAX #29, Unicode 15.0) that starts
 * s[0..n), n >= 1; invalid UTF-8 counts as U+FFFD, a control. */
size_t te_uc_grapheme(const unsigned char *s, size_t n);

/* Decodes one code point from s[0..n), n >= 1. Invalid or truncated UTF-8
 * gives U+FFFD for each maximal ill-formed subpart (the Unicode and WHATWG
 * recommendation, also what Python's errors="replace" does). Returns the
 * bytes consumed (>= 1). */
size_t te_utf8_decode(const unsigned char *s, size_t n, uint32_t *cp);

/* Encodes cp (a valid scalar value) as UTF-8 into out[4]; returns the length. */
size_t te_utf8_encode(uint32_t cp, char *out);

#endif
