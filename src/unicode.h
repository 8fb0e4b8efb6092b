/*
 * unicode.h - the Unicode properties the BERT tokenizer needs, from tables
 * generated out of the Unicode 15.0 Character Database (unicode_tables.c,
 * made by tools/gen_unicode.py), plus a forgiving UTF-8 decoder.
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

#define TE_UC_BLOCK_SHIFT 7
#define TE_UC_MAX_DECOMP 4   /* longest full canonical decomposition */
#define TE_UC_MAX_LOWER 3    /* longest full lowercase mapping */
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

extern const uint16_t te_uc_stage1[0x110000 >> TE_UC_BLOCK_SHIFT];
extern const uint8_t te_uc_stage2[][1 << TE_UC_BLOCK_SHIFT];
extern const uint32_t te_uc_pool[];
extern const te_uc_map te_uc_lower[], te_uc_decomp[];
extern const te_uc_class te_uc_ccc[];
extern const size_t te_uc_n_lower, te_uc_n_decomp, te_uc_n_ccc;

static inline unsigned te_uc_flags(uint32_t cp) {
    if (cp >= 0x110000) return TE_UC_OTHER;
    return te_uc_stage2[te_uc_stage1[cp >> TE_UC_BLOCK_SHIFT]][cp & ((1u << TE_UC_BLOCK_SHIFT) - 1)];
}

/* Full lowercase mapping of cp into out (up to TE_UC_MAX_LOWER); returns the count. */
int te_uc_lowercase(uint32_t cp, uint32_t *out);

/* Full canonical decomposition (NFD, without reordering) into out (up to
 * TE_UC_MAX_DECOMP); returns the count (1 and cp itself if none). */
int te_uc_decompose(uint32_t cp, uint32_t *out);

/* Canonical combining class of a non-starter that is not Mn (0 otherwise). */
int te_uc_ccc_kept(uint32_t cp);

/* Decodes one code point from s[0..n), n >= 1. Invalid or truncated UTF-8
 * gives U+FFFD for each maximal ill-formed subpart (the Unicode and WHATWG
 * recommendation, also what Python's errors="replace" does). Returns the
 * bytes consumed (>= 1). */
size_t te_utf8_decode(const unsigned char *s, size_t n, uint32_t *cp);

/* Encodes cp (a valid scalar value) as UTF-8 into out[4]; returns the length. */
size_t te_utf8_encode(uint32_t cp, char *out);

#endif
