/*
 * tok_pipeline.h - building a tokenizer pipeline (tok.h) from its
 * description, for the converter (a tokenizer.json) and te_open (the
 * tokenizer.pipeline key, with the tensors it refers to).
 */
#ifndef TE_TOK_PIPELINE_H
#define TE_TOK_PIPELINE_H

#include "json.h"
#include "tok.h"

/* The stages and model settings of `root` (an object with normalizer,
 * pre_tokenizer and model members, as tokenizer.json has them). The steps
 * point into root's document. */
te_status tok_pipeline_parse(tok_pipeline *p, const json_value *root, te_error *err);

/* BERT's pipeline (BertNormalizer, BertPreTokenizer, WordPiece) from the
 * settings of files without a tokenizer.pipeline key. */
void tok_pipeline_bert(tok_pipeline *p, const te_tokenizer_info *t);

/* The bytes a pipeline reads from the file (each NULL, 0 when absent). */
typedef struct tok_blobs {
    const uint8_t *charsmap, *trie, *scores, *merges;
    size_t charsmap_len, trie_len, scores_len, merges_len;
} tok_blobs;

/* From a .temb file's tokenizer.pipeline (JSON) and its tensors; n_vocab
 * tokens. The blobs are checked only as far as their sizes go: every read
 * of them is bounds-checked. */
te_status tok_pipeline_open(tok_pipeline *p, const char *json, size_t len, const tok_blobs *b, uint32_t n_vocab,
                            te_error *err);

/* text through p's normalizers alone (the converter's normalized added
 * tokens): the bytes written to out[cap]. */
size_t tok_pipeline_normalize(const tok_pipeline *p, const char *text, size_t len, char *out, size_t cap);

void tok_pipeline_free(tok_pipeline *p);

#endif
