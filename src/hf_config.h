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

/* One architecture (hf_arch.c): config.json keys and checkpoint tensor
 * names, without the body prefix ("bert.", "distilbert."). NULL: absent. */
typedef struct hf_arch {
    const char *model_type;
    const char *also;  /* another model_type with the same network, or NULL */
    const char *k_hidden, *k_layers, *k_heads, *k_inter, *k_max_pos, *k_eps, *k_act;
    int has_types;             /* a token-type table (type_vocab_size, default 2) */
    te_position position;
    int pad_positions;         /* positions count from pad_token_id + 1, a pad token sits at pad_token_id
                                  (transformers' create_position_ids_from_input_ids: RoBERTa, MPNet) */
    const char *word, *position_table, *token_type, *emb_norm, *rel_bias;
    const char *layer;         /* printf format of a layer's prefix, from its index */
    const char *q, *k, *v;     /* separate projections ... */
    const char *qkv;           /* ... or one fused [3H, H] */
    const char *attn_out, *attn_norm;
    const char *up, *up_gated, *gate, *down, *ffn_norm; /* gated: value up_gated, gate `gate` */
    int up_gate_first;         /* `up` is [2I, H], its first half the one activated (ModernBERT's Wi) */
    int prenorm;               /* each norm comes before its block (pre-norm); layer 0's attn_norm may be absent */
    const char *final_norm;    /* pre-norm: the norm after the last layer */
    const char *q_norm, *k_norm; /* per-head RMSNorm of queries and keys (Qwen3), or NULL */
    int rms_norm, causal;      /* decoders: RMSNorm everywhere, causal attention */
    const char *head_dense;    /* sequence classification: dense + head_act ... */
    int head_dense_in_body;    /* ... named under the body prefix (BERT's pooler) or not */
    const char *head_act;      /* "tanh" or "relu" (ModernBERT: its config's classifier_activation) */
    const char *head_norm;     /* ... then a LayerNorm (ModernBERT), or NULL ... */
    const char *head_out;      /* ... then the label logits */
} hf_arch;

typedef struct hf_model {
    /* config.json */
    const hf_arch *arch;
    int hidden, layers, heads, inter, vocab_size, max_pos, type_vocab;
    int max_len;               /* longest sequence the positions allow */
    float eps;
    te_activation act;
    int gated;                 /* gated feed-forward (SwiGLU) */
    te_position position;
    int pos_offset, pos_pad_id, rel_buckets, rel_max_distance, rotary_dims;
    float rotary_base;
    int qkv_bias, out_bias, up_bias, down_bias; /* which linears have biases */
    int norm_bias;             /* LayerNorms have biases (else the converter writes zeros) */
    int local_window, global_every; /* sliding-window attention: local layers see |i - j| <= local_window;
                                       layer l is global when l % global_every == 0 (0: every layer is) */
    float rotary_base_local;   /* the local layers' rotary base */
    int head_dim, kv_heads;    /* attention head width and key/value heads (BERT: hidden / heads, heads) */
    te_model_kind kind;
    int num_labels;
    const char *head_act;      /* the head's activation: the architecture's, or the config's */
    int head_mean, head_bias;  /* the head reads the mean of the tokens (not the first); its dense layer's bias */
    const char **labels;       /* [num_labels] (owned array, strings in docs), entries may be NULL */
    te_score_fn score;
    char tmpl_single[160], tmpl_pair[240]; /* .temb template strings (model_meta.c) */
    /* tokenizer */
    const char **tokens;   /* [n_tokens], by id; point into owned buffers */
    uint32_t *token_lens;
    uint32_t n_tokens;
    int lowercase, strip_accents, chinese_chars, clean_text, max_chars;
    const char *prefix;
    int32_t cls, sep, pad, unk, mask;
    hf_added *added;
    uint32_t n_added;
    /* tokenizers beyond BERT's (format 1.3): owned */
    int unigram;               /* the model is Unigram */
    char *pipeline;            /* tokenizer.pipeline's JSON, or NULL when the tokenizer.* keys say it all */
    uint8_t *charsmap;         /* SentencePiece's precompiled charsmap (raw), or NULL */
    size_t charsmap_len;
    uint8_t *scores;           /* Unigram: f64 little-endian per token */
    double min_score;
    uint8_t *trie;             /* Unigram: the pieces' double-array trie (darts.h) */
    size_t trie_units;
    int bpe;                   /* the model is byte-level BPE: tokens hold bytes (hf_bpe.c) */
    uint8_t *merges;           /* BPE: the tensor tokenizer.merges (tok.h's tm_bpe) */
    size_t merges_len;
    /* sentence-transformers */
    te_pooling pooling;
    int normalize;
    int max_seq;
    char *prompts;             /* config_sentence_transformers.json's prompts as JSON (owned), or NULL */
    const char *default_prompt; /* its default_prompt_name, or NULL */
    /* everything the pointers above point into */
    json_doc *docs[HF_MAX_OWNED];
    char *bufs[HF_MAX_OWNED];
    int n_docs, n_bufs;
} hf_model;

/* `note` (may be NULL) receives remarks for a verbose mode. */
te_status hf_load(hf_model *hf, const char *dir, const te_convert_opts *opts, te_error *err);
void hf_free(hf_model *hf);

/* config.json's architecture, sizes and head (hf_arch.c). */
te_status hf_read_arch(hf_model *hf, const json_value *config, te_error *err);
/* tokenizer.json's post_processor (tj may be NULL) into the template strings;
 * needs hf->cls and hf->sep. */
te_status hf_read_post_processor(hf_model *hf, const json_value *tj, te_error *err);

/* Unigram's piece trie from hf->tokens (a piece spelled twice: its last id). */
te_status hf_build_trie(hf_model *hf, te_error *err);

/* Base64 (RFC 4648, padding optional) into a malloc'd buffer, or NULL. */
uint8_t *te_base64_decode(const char *s, size_t len, size_t *out_len);

/* Reads a whole file into a NUL-terminated malloc'd buffer (at most max bytes). */
te_status hf_read_file(const char *path, size_t max, char **out, size_t *len, te_error *err);

#endif
