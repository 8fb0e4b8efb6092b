/*
 * hf_config.h - reads the settings of a Hugging Face / sentence-transformers
 * model directory: config.json, the tokenizer (tokenizer.json or vocab.txt +
 * tokenizer_config.json + special_tokens_map.json) and the
 * sentence-transformers files (modules.json, pooling config,
 * sentence_bert_config.json). Weights are read separately (convert.c).
 */
#ifndef TE_HF_CONFIG_H
#define TE_HF_CONFIG_H

#include <stdint.h>

#include "json.h"
#include "tinyembed.h"

typedef struct hf_added {
    uint32_t id;
    uint32_t flags;        /* TEMB_ADDED_* */
    const char *content;
} hf_added;

#define HF_MAX_OWNED 16

typedef struct hf_model {
    /* config.json */
    int hidden, layers, heads, inter, vocab_size, max_pos, type_vocab;
    float eps;
    te_activation act;
    /* tokenizer */
    const char **tokens;   /* [n_tokens], by id; point into owned buffers */
    uint32_t *token_lens;
    uint32_t n_tokens;
    int lowercase, strip_accents, chinese_chars, clean_text, max_chars;
    const char *prefix;
    int32_t cls, sep, pad, unk, mask;
    hf_added *added;
    uint32_t n_added;
    /* sentence-transformers */
    te_pooling pooling;
    int normalize;
    int max_seq;
    /* everything the pointers above point into */
    json_doc *docs[HF_MAX_OWNED];
    char *bufs[HF_MAX_OWNED];
    int n_docs, n_bufs;
} hf_model;

/* `note` (may be NULL) receives remarks for a verbose mode. */
te_status hf_load(hf_model *hf, const char *dir, const te_convert_opts *opts, te_error *err);
void hf_free(hf_model *hf);

/* Reads a whole file into a NUL-terminated malloc'd buffer (at most max bytes). */
te_status hf_read_file(const char *path, size_t max, char **out, size_t *len, te_error *err);

#endif
