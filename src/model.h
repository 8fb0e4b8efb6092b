/*
 * model.h - the in-memory model: the mapping of a .temb file and typed
 * pointers into it. Read-only after te_open, so one te_model can serve any
 * number of threads. Not part of the public API.
 */
#ifndef TE_MODEL_H
#define TE_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "format.h"
#include "gemm.h"
#include "json.h"
#include "tinyembed.h"
#include "tok.h"
#include "vocab.h"

/* A token matched in the raw text before normalization ([CLS], [SEP], ...). */
typedef struct te_added_token {
    uint32_t id;
    uint32_t flags;     /* TEMB_ADDED_* */
    const char *text;   /* points into the mapping, not NUL-terminated */
    uint32_t len;
} te_added_token;

/* One tensor directory entry, validated, with its data pointer. */
typedef struct te_tensor {
    char name[TEMB_TENSOR_NAME];
    te_dtype dtype;
    te_layout layout;
    int n_dims;
    uint64_t dims[TEMB_MAX_DIMS];
    uint64_t offset, bytes;
    uint32_t crc;
    const void *data;   /* map + offset */
} te_tensor;

/* A linear layer y = x W^T + b with W stored in 16-column panels. */
typedef struct te_linear {
    te_wmat w;          /* [n_out, n_in]: f32/f16 TE_LAYOUT_PANEL16, int8 TE_LAYOUT_PANEL16X4 + scales and sums */
    const float *bias;  /* [n_out], or NULL when the checkpoint has none */
    int n_out, n_in;
} te_linear;

/* The special-token template of tokenizer.json's post_processor: the ids
 * framing one text ("[CLS] $A [SEP]") or a pair ("[CLS] $A [SEP] $B [SEP]"),
 * each item with its token type. */
#define TE_TMPL_MAX 8
enum { TE_TMPL_SPECIAL = 0, TE_TMPL_A = 1, TE_TMPL_B = 2 };
typedef struct te_tmpl_item {
    uint8_t what;   /* TE_TMPL_* */
    uint8_t type;   /* token type id */
    int32_t id;     /* TE_TMPL_SPECIAL: the token */
} te_tmpl_item;

typedef struct te_template {
    te_tmpl_item single[TE_TMPL_MAX], pair[TE_TMPL_MAX];
    int n_single, n_pair;
} te_template;

/* Everything about the architecture the forward pass reads beyond the
 * sizes in te_model_info (.temb 1.2 metadata; BERT's values when absent). */
typedef struct te_arch {
    int position_offset;      /* position id of the first token (MPNet: padding index + 1 = 2) */
    int32_t position_pad_id;  /* tokens with this id sit at position_offset - 1 and are not counted (-1: none) */
    int rel_buckets;          /* relative bias: buckets (MPNet: 32) ... */
    int rel_max_distance;     /* ... and the distance the log-spaced buckets end at (128) */
    int rotary_dims;          /* rotary: leading dims of each head rotated (even) */
    float rotary_base;        /* rotary: frequency base (of the global layers, when some are local) */
    int norm_first;           /* pre-norm: x += block(LayerNorm(x)), a final norm after the last layer (ModernBERT) */
    int local_window;         /* local layers attend to keys at most this far away ... */
    int global_every;         /* ... and layer l is global when l % global_every == 0 (1: all are) */
    float rotary_base_local;  /* the local layers' rotary base */
    int head_dim;             /* floats per attention head (hidden / heads unless the file says: Qwen3) */
    int kv_heads;             /* key/value heads: query head h reads kv head h / (heads / kv_heads) */
    int causal;               /* a token attends to itself and the tokens before it only (decoders) */
    int rms_norm;             /* the norms are RMSNorm: w * x / sqrt(mean(x^2) + eps), no centring, no bias */
    int head_dense_act;       /* classifier head: TE_ACT_RELU (DistilBERT pre_classifier), TE_ACT_GELU (ModernBERT)
                                 or -1 for tanh (BERT pooler) */
    int head_mean;            /* the head reads the mean of the sequence's states (ModernBERT), not the first */
} te_arch;

typedef struct te_bert_layer {
    te_linear qkv;             /* [3*hidden, hidden]: the Q, K and V projections stacked (te_qkv_width rows) */
    te_linear attn_out;        /* [hidden, hidden] ([hidden, te_att_width]) */
    const float *attn_norm_w;  /* [hidden] LayerNorm after attention + residual (pre-norm: before attention;
                                  NULL in layer 0, where ModernBERT has none) */
    const float *attn_norm_b;  /* [hidden] */
    const float *q_norm;       /* [head_dim] RMSNorm of each query head before rotary (Qwen3), or NULL */
    const float *k_norm;       /* [head_dim] the same for each key head */
    te_linear ffn_up;          /* [intermediate, hidden]; gated: [2 * intermediate, hidden], value rows then gate rows */
    te_linear ffn_down;        /* [hidden, intermediate] */
    const float *ffn_norm_w;   /* [hidden] LayerNorm after feed-forward + residual */
    const float *ffn_norm_b;   /* [hidden] */
    uint64_t file_begin;       /* byte range of the layer's block in the file */
    uint64_t file_end;
} te_bert_layer;

/* Floats per token of the Q|K|V buffer, and of the attention output (the Q part). */
static inline size_t te_qkv_width(const te_arch *a, int heads) { return (size_t)(heads + 2 * a->kv_heads) * (size_t)a->head_dim; }
static inline size_t te_att_width(const te_arch *a, int heads) { return (size_t)heads * (size_t)a->head_dim; }

struct te_model {
    char *path;
    int fd;
    const uint8_t *map;        /* the model's bytes (inside a bundle: the appended model's) */
    size_t map_size;
    uint64_t huge_begin;       /* from here to map_size the mapping asks for huge pages (loader.c); map_size: it does not */
    uint32_t bundle_crc;       /* bundle trailer's CRC32 of map (when info.file_offset != 0) */
    te_model_info info;
    char *strings;             /* owns the strings info points to */
    te_vocab vocab;
    te_added_token *added;     /* [info.tokenizer.n_added_tokens] */
    uint8_t added_first[32];   /* bit set of the first bytes of added tokens */
    te_tensor *tensors;        /* [n_tensors], in file order */
    size_t n_tensors;
    uint64_t data_offset;      /* DATA section: every tensor lies inside */
    uint64_t data_size;
    uint64_t meta_offset, meta_size; /* META section */
    uint32_t vocab_crc;        /* checked by te_verify (too big to check at open) */
    uint64_t vocab_offset, vocab_size;
    const uint8_t *hot;        /* HOT section: n_hot little-endian u32 row ids (NULL in 1.0 files) */
    uint32_t n_hot;
    uint32_t hot_crc;
    uint64_t hot_offset, hot_size;
    double t_open;             /* te_now() when te_open started */
    struct te_loader *loader;  /* loading state (loader.h); the model itself stays read-only */

    /* BERT weights: pointers into the mapping. */
    const te_tensor *word;     /* directory entry of embeddings.word: where the table lies in the file */
    te_dtype word_dtype;       /* f32, f16 or int8 */
    const void *word_emb;      /* [vocab_size, hidden] rows of word_dtype */
    const float *word_scale;   /* int8: [vocab_size] scale of each row; else NULL */
    const float *pos_emb;      /* [max_position, hidden], NULL for rotary models */
    const float *type_emb;     /* [type_vocab_size, hidden], NULL when type_vocab_size is 0 */
    const float *emb_norm_w;   /* [hidden] */
    const float *emb_norm_b;   /* [hidden] */
    const float *head_norm_w;  /* [hidden] classifier head: LayerNorm after the dense layer (ModernBERT), or NULL */
    const float *head_norm_b;
    const float *final_norm_w; /* [hidden] pre-norm models: after the last layer (else NULL) */
    const float *final_norm_b; /* [hidden] */
    const float *rel_bias;     /* relative position: [rel_buckets, num_heads], else NULL */
    te_bert_layer *layers;     /* [num_layers] */
    /* Classifier / reranker head on the first token's final state: */
    const float *head_dense_w; /* [hidden, hidden] rows */
    const float *head_dense_b; /* [hidden] */
    const float *head_out_w;   /* [num_labels, hidden] rows */
    const float *head_out_b;   /* [num_labels] */
    const char **labels;       /* [num_labels] into strings */
    /* bge-m3's other outputs, on every token's final state (NULL / n_out 0 when absent): */
    const float *sparse_w;     /* [hidden]: a token's lexical weight is relu(x . sparse_w + sparse_b) */
    const float *sparse_b;     /* [1] */
    te_linear colbert;         /* [colbert_dim, hidden]: a token's ColBERT vector, before normalizing */
    te_arch arch;
    te_template tmpl;
    tok_pipeline tok;          /* the tokenizer's stages (tokenizer.pipeline, or BERT's) */
    json_doc *prompts;         /* metadata "prompts": {name: text}, or NULL (prompts.c) */
};

/* te_open with a hook the loader thread calls after each chunk it pages in
 * (tests use it to pace loading). */
typedef void (*te_load_hook)(void *user, uint64_t done, uint64_t total);
te_model *te_open_internal(const char *path, const te_open_opts *opts, te_load_hook hook, void *hook_user,
                           te_error *err);

/* Reads metadata "prompts" (JSON text, or NULL) and "prompts.default" (a
 * name, or NULL) into m->prompts and info.default_prompt_name (prompts.c). */
te_status te_prompts_open(te_model *m, const char *text, const char *def, te_error *err);

/* Looks up a tensor by name; NULL if absent. */
const te_tensor *te_model_find_tensor(const te_model *m, const char *name);

#endif
