/*
 * model_meta.c - reads the META section (typed key/values) into te_model_info
 * and checks the hyper-parameters are consistent before anything sizes
 * buffers from them.
 */
#include "model_meta.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define MAX_KV 256
#define NO_ID 0xFFFFFFFFu

typedef te_meta_entry kv;

/* Integer fields: key -> offset of an int in te_model_info. */
typedef struct int_field {
    const char *key;
    size_t offset;
    uint32_t max;        /* larger values are refused: keeps all size math in range */
} int_field;

#define INFO_INT(key, field, max) {key, offsetof(te_model_info, field), max}
static const int_field int_fields[] = {
    INFO_INT("model.hidden_size", hidden_size, 1u << 16),
    INFO_INT("model.num_layers", num_layers, 1024),
    INFO_INT("model.num_heads", num_heads, 1024),
    INFO_INT("model.intermediate_size", intermediate_size, 1u << 18),
    INFO_INT("model.vocab_size", vocab_size, 1u << 24),
    INFO_INT("model.max_position", max_position, 1u << 20),
    INFO_INT("model.type_vocab_size", type_vocab_size, 1u << 16),
    INFO_INT("model.max_seq_length", max_seq_length, 1u << 20),
    INFO_INT("pooling.normalize", normalize, 1),
    INFO_INT("tokenizer.lowercase", tokenizer.lowercase, 1),
    INFO_INT("tokenizer.strip_accents", tokenizer.strip_accents, 1),
    INFO_INT("tokenizer.chinese_chars", tokenizer.chinese_chars, 1),
    INFO_INT("tokenizer.clean_text", tokenizer.clean_text, 1),
    INFO_INT("tokenizer.max_chars_per_word", tokenizer.max_chars_per_word, 1u << 16),
};

/* Special token ids: absent in the file or NO_ID means -1. */
static const int_field id_fields[] = {
    INFO_INT("tokenizer.cls_id", tokenizer.cls_id, 1u << 24),
    INFO_INT("tokenizer.sep_id", tokenizer.sep_id, 1u << 24),
    INFO_INT("tokenizer.pad_id", tokenizer.pad_id, 1u << 24),
    INFO_INT("tokenizer.unk_id", tokenizer.unk_id, 1u << 24),
    INFO_INT("tokenizer.mask_id", tokenizer.mask_id, 1u << 24),
};

static const char *const str_keys[] = {
    "model.arch", "general.name", "general.source", "general.converter",
    "tokenizer.subword_prefix", "model.activation", "pooling.mode", "weights.dtype",
};
enum { S_ARCH, S_NAME, S_SOURCE, S_CONVERTER, S_PREFIX, S_ACT, S_POOL, S_DTYPE, N_STR };

static const kv *find(const kv *kvs, size_t n, const char *key) {
    size_t len = strlen(key);
    for (size_t i = n; i-- > 0;)
        if (kvs[i].key_len == len && memcmp(kvs[i].key, key, len) == 0) return &kvs[i];
    return NULL;
}

static te_status parse_entries(const uint8_t *p, uint64_t size, kv *kvs, size_t *n_out, te_error *err) {
    const uint8_t *end = p + size;
    if (size < 4) return te_fail(err, TE_ERR_FORMAT, "metadata section too small");
    uint32_t n = te_le32(p);
    if (n > MAX_KV) return te_fail(err, TE_ERR_FORMAT, "metadata: %u entries (at most %d)", n, MAX_KV);
    p += 4;
    for (uint32_t i = 0; i < n; i++) {
        if (end - p < 4) return te_fail(err, TE_ERR_FORMAT, "metadata entry %u is truncated", i);
        kv *e = &kvs[i];
        e->key_len = te_le16(p);
        e->type = p[2];
        p += 4;
        size_t padded = (size_t)te_align_up(e->key_len, 4);
        if (e->key_len == 0 || e->key_len > TEMB_MAX_KEY || (size_t)(end - p) < padded + 4)
            return te_fail(err, TE_ERR_FORMAT, "metadata entry %u has a bad key", i);
        e->key = (const char *)p;
        p += padded;
        e->u32 = te_le32(p);
        p += 4;
        if (e->type == TEMB_KV_STR) {
            e->str_len = e->u32;
            if ((uint64_t)(end - p) < te_align_up(e->str_len, 4))
                return te_fail(err, TE_ERR_FORMAT, "metadata value of '%.*s' runs past the section", (int)e->key_len, e->key);
            e->str = (const char *)p;
            p += te_align_up(e->str_len, 4);
        } else if (e->type != TEMB_KV_U32 && e->type != TEMB_KV_F32) {
            /* Unknown types cannot be skipped safely: their size is unknown. */
            return te_fail(err, TE_ERR_FORMAT, "metadata entry '%.*s' has unknown type %u", (int)e->key_len, e->key, e->type);
        }
    }
    *n_out = n;
    return TE_OK;
}

te_status te_meta_read(const te_model *m, te_meta_entry **out, size_t *n, te_error *err) {
    *out = calloc(MAX_KV, sizeof **out);
    if (!*out) return te_fail(err, TE_ERR_NOMEM, "out of memory");
    te_status st = parse_entries(m->map + m->meta_offset, m->meta_size, *out, n, err);
    if (st != TE_OK) {
        free(*out);
        *out = NULL;
    }
    return st;
}

static te_status require(const kv *e, const char *key, uint8_t type, te_error *err) {
    if (!e) return te_fail(err, TE_ERR_FORMAT, "metadata key '%s' is missing", key);
    if (e->type != type) return te_fail(err, TE_ERR_FORMAT, "metadata key '%s' has the wrong type", key);
    return TE_OK;
}

static int str_is(const kv *e, const char *s) {
    return e->str_len == strlen(s) && memcmp(e->str, s, e->str_len) == 0;
}

te_status te_parse_meta(te_model *m, const uint8_t *p, uint64_t size, te_error *err) {
    kv *kvs = calloc(MAX_KV, sizeof *kvs);
    if (!kvs) return te_fail(err, TE_ERR_NOMEM, "out of memory");
    size_t n = 0;
    te_status st = parse_entries(p, size, kvs, &n, err);
    te_model_info *in = &m->info;
    for (size_t i = 0; st == TE_OK && i < sizeof int_fields / sizeof *int_fields; i++) {
        const int_field *f = &int_fields[i];
        const kv *e = find(kvs, n, f->key);
        st = require(e, f->key, TEMB_KV_U32, err);
        if (st == TE_OK && e->u32 > f->max)
            st = te_fail(err, TE_ERR_FORMAT, "metadata %s = %u is out of range (max %u)", f->key, e->u32, f->max);
        if (st == TE_OK) *(int *)((char *)in + f->offset) = (int)e->u32;
    }
    for (size_t i = 0; st == TE_OK && i < sizeof id_fields / sizeof *id_fields; i++) {
        const int_field *f = &id_fields[i];
        const kv *e = find(kvs, n, f->key);
        int v = -1;
        if (e && e->type == TEMB_KV_U32 && e->u32 != NO_ID) {
            if (e->u32 > f->max) st = te_fail(err, TE_ERR_FORMAT, "metadata %s = %u is out of range", f->key, e->u32);
            v = (int)e->u32;
        }
        *(int *)((char *)in + f->offset) = v;
    }
    const kv *eps = find(kvs, n, "model.layer_norm_eps");
    if (st == TE_OK) st = require(eps, "model.layer_norm_eps", TEMB_KV_F32, err);
    if (st == TE_OK) {
        memcpy(&in->layer_norm_eps, &eps->u32, 4);
        if (!(in->layer_norm_eps > 0 && in->layer_norm_eps < 1))
            st = te_fail(err, TE_ERR_FORMAT, "metadata model.layer_norm_eps = %g is out of range", (double)in->layer_norm_eps);
    }

    /* Strings: copied into one owned block so info can hand out C strings. */
    const kv *s[N_STR];
    size_t total = 0;
    for (int i = 0; i < N_STR; i++) {
        s[i] = find(kvs, n, str_keys[i]);
        if (s[i] && s[i]->type != TEMB_KV_STR) s[i] = NULL;
        total += (s[i] ? s[i]->str_len : 0) + 1;
    }
    if (st == TE_OK && !s[S_ARCH]) st = te_fail(err, TE_ERR_FORMAT, "metadata key 'model.arch' is missing");
    if (st == TE_OK && !s[S_PREFIX]) st = te_fail(err, TE_ERR_FORMAT, "metadata key 'tokenizer.subword_prefix' is missing");
    if (st == TE_OK && !(m->strings = malloc(total))) st = te_fail(err, TE_ERR_NOMEM, "out of memory");
    const char *copy[N_STR] = {0};
    char *q = m->strings;
    for (int i = 0; st == TE_OK && i < N_STR; i++) {
        copy[i] = q;
        if (s[i]) {
            /* An embedded NUL would silently cut names short; refuse it. */
            if (memchr(s[i]->str, '\0', s[i]->str_len)) { st = te_fail(err, TE_ERR_FORMAT, "metadata %s holds a NUL byte", str_keys[i]); break; }
            memcpy(q, s[i]->str, s[i]->str_len);
            q += s[i]->str_len;
        }
        *q++ = '\0';
    }
    if (st == TE_OK) {
        in->arch = copy[S_ARCH];
        in->name = copy[S_NAME];
        in->source = copy[S_SOURCE];
        in->converter = copy[S_CONVERTER];
        in->tokenizer.subword_prefix = copy[S_PREFIX];
        if (strcmp(in->arch, "bert") != 0)
            st = te_fail(err, TE_ERR_UNSUPPORTED, "architecture '%s' is not supported by this tinyembed (supported: bert)", in->arch);
    }
    if (st == TE_OK) {
        if (!s[S_ACT]) st = te_fail(err, TE_ERR_FORMAT, "metadata key 'model.activation' is missing");
        else if (str_is(s[S_ACT], "gelu")) in->activation = TE_ACT_GELU;
        else if (str_is(s[S_ACT], "gelu_tanh")) in->activation = TE_ACT_GELU_TANH;
        else st = te_fail(err, TE_ERR_UNSUPPORTED, "activation '%s' is not supported", copy[S_ACT]);
    }
    if (st == TE_OK) {
        if (!s[S_POOL]) st = te_fail(err, TE_ERR_FORMAT, "metadata key 'pooling.mode' is missing");
        else if (str_is(s[S_POOL], "mean")) in->pooling = TE_POOL_MEAN;
        else if (str_is(s[S_POOL], "cls")) in->pooling = TE_POOL_CLS;
        else st = te_fail(err, TE_ERR_UNSUPPORTED, "pooling '%s' is not supported", copy[S_POOL]);
    }
    if (st == TE_OK) {
        if (!s[S_DTYPE]) st = te_fail(err, TE_ERR_FORMAT, "metadata key 'weights.dtype' is missing");
        else if (str_is(s[S_DTYPE], "f32")) in->dtype = TE_DTYPE_F32;
        else if (str_is(s[S_DTYPE], "f16")) in->dtype = TE_DTYPE_F16;
        else if (str_is(s[S_DTYPE], "int8")) in->dtype = TE_DTYPE_I8;
        else st = te_fail(err, TE_ERR_UNSUPPORTED, "weight dtype '%s' is not supported", copy[S_DTYPE]);
    }
    free(kvs);
    return st;
}

te_status te_check_meta(te_model *m, te_error *err) {
    te_model_info *in = &m->info;
    const char *bad = NULL;
    if (in->hidden_size < 1) bad = "hidden_size must be positive";
    else if (in->num_layers < 1) bad = "num_layers must be positive";
    else if (in->num_heads < 1 || in->hidden_size % in->num_heads != 0) bad = "hidden_size must be a multiple of num_heads";
    else if (in->intermediate_size < 1) bad = "intermediate_size must be positive";
    else if (in->vocab_size < 1) bad = "vocab_size must be positive";
    else if (in->type_vocab_size < 1) bad = "type_vocab_size must be positive";
    else if (in->max_seq_length < 2 || in->max_seq_length > in->max_position) bad = "max_seq_length must be 2..max_position";
    else if (in->tokenizer.max_chars_per_word < 1) bad = "tokenizer.max_chars_per_word must be positive";
    else if ((uint64_t)m->vocab.n > (uint64_t)in->vocab_size) bad = "the vocabulary has more tokens than the embedding table has rows";
    else if (in->tokenizer.unk_id < 0 || in->tokenizer.cls_id < 0 || in->tokenizer.sep_id < 0) bad = "the [UNK], [CLS] and [SEP] ids are required";
    if (bad) return te_fail(err, TE_ERR_FORMAT, "metadata: %s", bad);
    const int32_t ids[] = {in->tokenizer.cls_id, in->tokenizer.sep_id, in->tokenizer.pad_id,
                           in->tokenizer.unk_id, in->tokenizer.mask_id};
    for (size_t i = 0; i < sizeof ids / sizeof *ids; i++)
        if (ids[i] >= in->vocab_size)
            return te_fail(err, TE_ERR_FORMAT, "metadata: special token id %d is outside the vocabulary", (int)ids[i]);
    in->vocab_tokens = (int)m->vocab.n;
    return TE_OK;
}
