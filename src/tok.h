/*
 * tok.h - a tokenizer as data: the stages of Hugging Face's tokenizer.json
 * (normalizer -> pre-tokenizer -> model -> post-processor, and the decoder
 * back), as tok_pipeline.c reads them from a .temb file's
 * tokenizer.pipeline (or BERT's from the keys of older files). Each stage
 * is its own unit: tok_norm.c, tok_pretok.c, tok_wordpiece.c,
 * tok_unigram.c; tokenizer.c runs them.
 */
#ifndef TE_TOK_H
#define TE_TOK_H

#include <stddef.h>
#include <stdint.h>

#include "darts.h"
#include "regex.h"
#include "tok_text.h"
#include "vocab.h"

/* ---- normalizers (tok_norm.c) ---- */

typedef enum tn_kind {
    TN_BERT, TN_PRECOMPILED, TN_REPLACE, TN_STRIP, TN_NFC, TN_NFD, TN_NFKC, TN_NFKD, TN_LOWERCASE, TN_STRIP_ACCENTS, TN_PREPEND
} tn_kind;

typedef struct tn_step {
    tn_kind kind;
    int clean, chinese, strip_accents, lowercase; /* TN_BERT */
    int left, right;                              /* TN_STRIP */
    te_regex *re;                                 /* TN_REPLACE: a regex pattern, or NULL ... */
    int re_spaces;                                /* ... that matches runs of spaces only */
    const char *literal;                          /* ... a literal one */
    size_t literal_len;
    const char *content;                          /* TN_REPLACE: the replacement; TN_PREPEND: what is prepended */
    size_t content_len;
} tn_step;

/* SentencePiece's precompiled charsmap: a trie of source strings, and
 * NUL-terminated replacements at the values it holds. */
typedef struct tn_charsmap {
    te_darts trie;
    const char *repl;
    size_t repl_len;
} tn_charsmap;

/* Runs step on in, into out (cleared first). first/last: `in` starts or
 * ends the text it was cut from (Strip applies there only). */
void tn_apply(const tn_step *step, const tn_charsmap *cm, const tok_text *in, tok_text *out, int first, int last);

/* ---- pre-tokenizers (tok_pretok.c) ---- */

typedef enum tp_kind { TP_BERT, TP_WHITESPACE_SPLIT, TP_METASPACE, TP_SPLIT } tp_kind;
enum { TP_PREPEND_NEVER, TP_PREPEND_FIRST, TP_PREPEND_ALWAYS };

typedef struct tp_step {
    tp_kind kind;
    char replacement[8];      /* TP_METASPACE: UTF-8 of the replacement character */
    size_t replacement_len;
    int prepend_scheme, split;
    te_regex *re;             /* TP_SPLIT: the pattern (Split's, or ByteLevel's GPT-2 one) */
    int remove;               /* TP_SPLIT: matches are dropped ("Removed"), else words of their own ("Isolated") */
} tp_step;

/* Words: [start, end) byte ranges of a text, in order. */
typedef struct tok_words {
    uint32_t (*w)[2];
    size_t n, cap;
    uint32_t stack[64][2];
    int failed;
} tok_words;

void tw_init(tok_words *w);
void tw_free(tok_words *w);
void tw_add(tok_words *w, size_t start, size_t end);

/* Runs step on the words of `in` (each of in_words), into `out` and
 * out_words. first: this text starts the input (Metaspace's "first"). */
void tp_apply(const tp_step *step, const tok_text *in, const tok_words *in_words, tok_text *out,
              tok_words *out_words, int first);

/* ---- models ---- */

typedef enum tm_kind { TM_WORDPIECE, TM_UNIGRAM, TM_BPE } tm_kind;

typedef struct tm_unigram {
    te_darts trie;            /* piece -> id */
    const uint8_t *scores;    /* f64 little-endian per id */
    size_t n_scores;
    int32_t unk_id;
    int byte_fallback;
    double unk_score;         /* the lowest score - 10, as the reference */
} tm_unigram;

/* Byte-level BPE over a word's bytes: the vocabulary holds each token's
 * bytes (not GPT-2's printable stand-ins), and the tensor tokenizer.merges
 * (docs/FORMAT.md) the id of each single byte and a hash table of merges:
 * (left id, right id) -> (rank, merged id). */
typedef struct tm_bpe {
    const uint8_t *byte_ids;  /* 256 u32: the token of each byte, 0xFFFFFFFF for none */
    const uint8_t *slots;     /* n_slots x {u32 left, right, rank, merged}; left 0xFFFFFFFF: empty */
    uint32_t n_slots;         /* a power of two */
    uint32_t n_vocab;         /* a merged id at or past it (a damaged table) is no merge */
    int ignore_merges;        /* a word that is a token as a whole is that token */
} tm_bpe;

/* The merges table's slot for (left, right) is found from this hash by linear probing. */
static inline uint32_t tm_bpe_hash(uint32_t left, uint32_t right) {
    uint32_t h = (left * 0x9E3779B1u) ^ (right * 0x85EBCA77u);
    return h ^ (h >> 15);
}

/* A token the model made: its id and its bytes in the word's text. */
typedef struct tok_piece {
    int32_t id;
    uint32_t start, end;
} tok_piece;

/* Pieces out: fn gets each in order and returns nonzero to stop. */
typedef int (*tok_emit)(void *user, const tok_piece *p);

/* WordPiece (tok_wordpiece.c): greedy longest-match-first on one word. */
int tm_wordpiece(const te_vocab *v, const char *prefix, size_t prefix_len, int32_t unk, size_t max_chars,
                 const char *word, size_t len, uint32_t base, tok_emit emit, void *user);

/* Unigram (tok_unigram.c): the Viterbi best segmentation of one word, the
 * unknown runs fused; scratch grows in *scratch (freed by the caller). */
typedef struct tm_scratch {
    void *p;
    size_t cap;
    uint8_t stack[4096];
} tm_scratch;
int tm_unigram_run(const tm_unigram *u, const te_vocab *v, const char *word, size_t len, uint32_t base,
                   tm_scratch *scratch, tok_emit emit, void *user);

/* BPE (tok_bpe.c): merges by rank, lowest first (leftmost among equals),
 * from the word's single bytes; scratch as Unigram's. Returns nonzero when
 * emit stopped it, -1 without memory. */
int tm_bpe_run(const tm_bpe *b, const te_vocab *v, const char *word, size_t len, uint32_t base, tm_scratch *scratch,
               tok_emit emit, void *user);

/* ---- decoders (tok_decode.c): ids back to text ---- */

typedef enum td_kind { TD_WORDPIECE, TD_METASPACE, TD_BYTE_FALLBACK, TD_FUSE, TD_STRIP, TD_REPLACE, TD_BYTE_LEVEL } td_kind;

typedef struct td_step {
    td_kind kind;
    const char *prefix;       /* TD_WORDPIECE (NULL: the model's subword prefix) */
    int cleanup;              /* TD_WORDPIECE: " ." -> "." and the like */
    char replacement[8];      /* TD_METASPACE */
    size_t replacement_len;
    int prepend;              /* TD_METASPACE: a replacement at the very start was added, not a space */
    uint32_t strip_char;      /* TD_STRIP: strip_char, up to start times at the start and stop at the end */
    int start, stop;
    const char *pattern, *content; /* TD_REPLACE: a literal pattern */
} td_step;

/* ---- the pipeline (tok_pipeline.c) ---- */

#define TOK_MAX_STEPS 8

typedef struct tok_pipeline {
    tn_step norm[TOK_MAX_STEPS];
    int n_norm;
    tp_step pre[TOK_MAX_STEPS];
    int n_pre;
    tm_kind model;
    tm_unigram unigram;
    tm_bpe bpe;
    tn_charsmap charsmap;
    td_step dec[TOK_MAX_STEPS];
    int n_dec;
    int chunkable;            /* input may be cut before a space between ASCII letters (see tokenizer.c) */
    int byte_level;           /* a ByteLevel pre-tokenizer: the model works on bytes */
    struct json_doc *doc;     /* owns the strings the steps point to (NULL: they point elsewhere) */
} tok_pipeline;

#endif
