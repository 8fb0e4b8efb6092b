/*
 * model_meta.c - reads the META section (typed key/values) into te_model_info
 * and checks the hyper-parameters are consistent before anything sizes
 * buffers from them.
 */
#include "model_meta.h"

#include <stddef.h>
#include <stdio.h>
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

/* Architecture settings added in format 1.2: absent means BERT's value. */
typedef struct opt_field {
    const char *key;
    size_t offset;       /* of an int in te_model */
    uint32_t max;
    int def;
} opt_field;

#define ARCH_INT(key, field, max, def) {key, offsetof(te_model, field), max, def}
static const opt_field opt_fields[] = {
    ARCH_INT("model.position_offset", arch.position_offset, 1u << 16, 0),
    ARCH_INT("model.position_pad_id", arch.position_pad_id, 1u << 24, -1),
    ARCH_INT("model.relative_buckets", arch.rel_buckets, 1u << 12, 32),
    ARCH_INT("model.relative_max_distance", arch.rel_max_distance, 1u << 20, 128),
    ARCH_INT("model.rotary_dims", arch.rotary_dims, 1u << 16, 0),
    ARCH_INT("model.gated_ffn", info.gated_ffn, 1, 0),
    ARCH_INT("head.num_labels", info.num_labels, 1u << 16, 0),
    ARCH_INT("output.range_texts", info.output_range_texts, 1u << 30, 0), /* calibrate.h */
    ARCH_INT("model.norm_first", arch.norm_first, 1, 0),
    ARCH_INT("model.local_window", arch.local_window, 1u << 20, 0),
    ARCH_INT("model.global_every", arch.global_every, 1024, 1),
    ARCH_INT("model.head_dim", arch.head_dim, 1u << 16, 0),
    ARCH_INT("model.kv_heads", arch.kv_heads, 1024, 0),
    ARCH_INT("model.causal", arch.causal, 1, 0),
    ARCH_INT("model.rms_norm", arch.rms_norm, 1, 0),
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
    "model.kind", "model.position", "head.labels", "head.score", "head.dense_activation",
    "tokenizer.template_single", "tokenizer.template_pair", "tokenizer.pipeline",
    "prompts", "prompts.default", "head.pooling",
};
enum { S_ARCH, S_NAME, S_SOURCE, S_CONVERTER, S_PREFIX, S_ACT, S_POOL, S_DTYPE,
       S_KIND, S_POS, S_LABELS, S_SCORE, S_HEAD_ACT, S_TMPL1, S_TMPL2, S_PIPELINE,
       S_PROMPTS, S_PROMPT_DEFAULT, S_HEAD_POOL, N_STR };

static const char *const archs[] = {"bert", "distilbert", "mpnet", "nomic_bert", "xlm-roberta", "modernbert", "qwen3"};
static const char *const kinds[] = {"embedding", "classifier", "reranker"};
static const char *const positions[] = {"absolute", "relative", "rotary"};
static const char *const activations[] = {"gelu", "gelu_tanh", "relu", "silu"};
static const char *const poolings[] = {"mean", "cls", "head", "last"}; /* "head": a classifier's (old readers refuse it) */
static const char *const dtypes[] = {"f32", "f16", "int8", "bf16"}; /* by te_dtype value */
static const char *const scores[] = {"softmax", "sigmoid", "identity"};
static const char *const head_acts[] = {"tanh", "relu", "gelu"};
static const char *const head_pools[] = {"cls", "mean"};

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

/* *out = index of the string value in names; def (>= 0) when the key is absent. */
static te_status pick(const kv *e, const char *value, const char *key, const char *const *names, size_t n,
                      int def, const char *what, int *out, te_error *err) {
    if (!e) {
        if (def < 0) return te_fail(err, TE_ERR_FORMAT, "metadata key '%s' is missing", key);
        *out = def;
        return TE_OK;
    }
    for (size_t i = 0; i < n; i++)
        if (str_is(e, names[i])) { *out = (int)i; return TE_OK; }
    char list[160] = "";
    for (size_t i = 0; i < n; i++) snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", i ? ", " : "", names[i]);
    return te_fail(err, TE_ERR_UNSUPPORTED, "%s '%s' is not supported by this tinyembed (supported: %s)", what, value, list);
}

/* head.labels: one name per line, in label id order. Points into m->strings. */
static te_status split_labels(te_model *m, char *text, te_error *err) {
    int n = m->info.num_labels;
    if (!text || n == 0) return TE_OK;
    if (!(m->labels = calloc((size_t)n, sizeof *m->labels))) return te_fail(err, TE_ERR_NOMEM, "out of memory");
    int i = 0;
    for (char *p = text; i < n; i++) {
        m->labels[i] = p;
        char *nl = strchr(p, '\n');
        if (!nl) { i++; break; }
        *nl = '\0';
        p = nl + 1;
    }
    if (i != n) return te_fail(err, TE_ERR_FORMAT, "metadata head.labels has %d names for %d labels", i, n);
    m->info.labels = m->labels;
    return TE_OK;
}

/* "#101:0 $A:0 #102:0 [$B:1 #102:1]": special ids and sequences with their
 * token types. NULL text leaves n = 0 (te_check_meta fills BERT's). */
static te_status parse_template(const char *text, int pair, te_tmpl_item *items, int *n, te_error *err) {
    *n = 0;
    if (!text) return TE_OK;
    int seen_a = 0, seen_b = 0;
    for (const char *p = text; *p;) {
        if (*p == ' ') { p++; continue; }
        if (*n == TE_TMPL_MAX) return te_fail(err, TE_ERR_FORMAT, "metadata template '%s' has more than %d items", text, TE_TMPL_MAX);
        te_tmpl_item *it = &items[(*n)++];
        char *end;
        if (p[0] == '#') {
            long id = strtol(p + 1, &end, 10);
            if (end == p + 1 || id < 0 || id >= (1L << 24)) break;
            it->what = TE_TMPL_SPECIAL;
            it->id = (int32_t)id;
            p = end;
        } else if (p[0] == '$' && (p[1] == 'A' || (pair && p[1] == 'B'))) {
            it->what = p[1] == 'A' ? TE_TMPL_A : TE_TMPL_B;
            seen_a += p[1] == 'A';
            seen_b += p[1] == 'B';
            p += 2;
        } else {
            break;
        }
        if (*p != ':' || p[1] < '0' || p[1] > '9') break;
        it->type = (uint8_t)(p[1] - '0');
        p += 2;
        if (*p && *p != ' ') break;
        if (!*p) return seen_a == 1 && seen_b == pair ? TE_OK
                                                       : te_fail(err, TE_ERR_FORMAT, "metadata template '%s' must hold $A%s once", text, pair ? " and $B" : "");
    }
    return te_fail(err, TE_ERR_FORMAT, "metadata template '%s' is malformed", text);
}

/* Integers (required, special ids, architecture options with defaults) and floats. */
static te_status parse_numbers(te_model *m, const kv *kvs, size_t n, te_error *err) {
    te_model_info *in = &m->info;
    te_status st = TE_OK;
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
    for (size_t i = 0; st == TE_OK && i < sizeof opt_fields / sizeof *opt_fields; i++) {
        const opt_field *f = &opt_fields[i];
        const kv *e = find(kvs, n, f->key);
        int v = f->def;
        if (e && e->type == TEMB_KV_U32 && e->u32 != NO_ID) {
            if (e->u32 > f->max) st = te_fail(err, TE_ERR_FORMAT, "metadata %s = %u is out of range (max %u)", f->key, e->u32, f->max);
            v = (int)e->u32;
        }
        *(int *)((char *)m + f->offset) = v;
    }
    const kv *eps = find(kvs, n, "model.layer_norm_eps");
    if (st == TE_OK) st = require(eps, "model.layer_norm_eps", TEMB_KV_F32, err);
    if (st == TE_OK) {
        memcpy(&in->layer_norm_eps, &eps->u32, 4);
        if (!(in->layer_norm_eps > 0 && in->layer_norm_eps < 1))
            st = te_fail(err, TE_ERR_FORMAT, "metadata model.layer_norm_eps = %g is out of range", (double)in->layer_norm_eps);
    }
    const kv *base = find(kvs, n, "model.rotary_base"), *local = find(kvs, n, "model.rotary_base_local");
    m->arch.rotary_base = 10000.0f;
    if (base && base->type == TEMB_KV_F32) memcpy(&m->arch.rotary_base, &base->u32, 4);
    m->arch.rotary_base_local = m->arch.rotary_base;
    if (local && local->type == TEMB_KV_F32) memcpy(&m->arch.rotary_base_local, &local->u32, 4);
    if (st == TE_OK && !(m->arch.rotary_base > 1.0f && m->arch.rotary_base < 1e30f))
        st = te_fail(err, TE_ERR_FORMAT, "metadata model.rotary_base = %g is out of range", (double)m->arch.rotary_base);
    if (st == TE_OK && !(m->arch.rotary_base_local > 1.0f && m->arch.rotary_base_local < 1e30f))
        st = te_fail(err, TE_ERR_FORMAT, "metadata model.rotary_base_local = %g is out of range",
                     (double)m->arch.rotary_base_local);
    return st;
}

/* The string entries (s[i]: of str_keys[i], or NULL), copied into one owned
 * block so info can hand out C strings; copy[i] is each one's copy. */
static te_status copy_strings(te_model *m, const kv *kvs, size_t n, const kv **s, const char **copy, te_error *err) {
    size_t total = 0;
    for (int i = 0; i < N_STR; i++) {
        s[i] = find(kvs, n, str_keys[i]);
        if (s[i] && s[i]->type != TEMB_KV_STR) s[i] = NULL;
        total += (s[i] ? s[i]->str_len : 0) + 1;
    }
    if (!s[S_ARCH]) return te_fail(err, TE_ERR_FORMAT, "metadata key 'model.arch' is missing");
    /* WordPiece's prefix: required of files that describe no other pipeline (readers before 1.3 require it of
     * every file, so they refuse a Unigram one instead of tokenizing it wrongly). */
    if (!s[S_PREFIX] && !s[S_PIPELINE]) return te_fail(err, TE_ERR_FORMAT, "metadata key 'tokenizer.subword_prefix' is missing");
    if (!(m->strings = malloc(total))) return te_fail(err, TE_ERR_NOMEM, "out of memory");
    char *q = m->strings;
    for (int i = 0; i < N_STR; i++) {
        copy[i] = q;
        if (s[i]) {
            /* An embedded NUL would silently cut names short; refuse it. */
            if (memchr(s[i]->str, '\0', s[i]->str_len))
                return te_fail(err, TE_ERR_FORMAT, "metadata %s holds a NUL byte", str_keys[i]);
            memcpy(q, s[i]->str, s[i]->str_len);
            q += s[i]->str_len;
        }
        *q++ = '\0';
    }
    te_model_info *in = &m->info;
    in->arch = copy[S_ARCH];
    in->name = copy[S_NAME];
    in->source = copy[S_SOURCE];
    in->converter = copy[S_CONVERTER];
    in->tokenizer.subword_prefix = copy[S_PREFIX];
    in->tokenizer.pipeline = s[S_PIPELINE] ? copy[S_PIPELINE] : NULL;
    return TE_OK;
}

/* The settings named by strings: each must be one of its list. */
static te_status pick_settings(te_model *m, const kv *const *s, const char *const *copy, te_error *err) {
    te_model_info *in = &m->info;
    te_status st = TE_OK;
    int v = 0;
#define PICK(idx, names, def, what)                                                       \
    (st == TE_OK ? (st = pick(s[idx], copy[idx], str_keys[idx], names, sizeof names / sizeof *names, def, \
                              what, &v, err)) == TE_OK : 0)
    if (PICK(S_ARCH, archs, -1, "architecture")) (void)v;
    if (PICK(S_ACT, activations, -1, "activation")) in->activation = (te_activation)v;
    if (PICK(S_POOL, poolings, -1, "pooling")) in->pooling = v == 2 ? TE_POOL_CLS : v == 3 ? TE_POOL_LAST : (te_pooling)v;
    if (PICK(S_DTYPE, dtypes, -1, "weight dtype")) in->dtype = (te_dtype)v;
    if (PICK(S_KIND, kinds, 0, "model kind")) in->kind = (te_model_kind)v;
    if (PICK(S_POS, positions, 0, "position scheme")) in->position = (te_position)v;
    if (PICK(S_SCORE, scores, in->num_labels == 1 ? 1 : 0, "head score")) in->score_fn = (te_score_fn)v;
    if (PICK(S_HEAD_ACT, head_acts, 0, "head activation")) m->arch.head_dense_act = v == 1 ? TE_ACT_RELU : v == 2 ? TE_ACT_GELU : -1;
    if (PICK(S_HEAD_POOL, head_pools, 0, "head pooling")) m->arch.head_mean = v == 1;
#undef PICK
    return st;
}

te_status te_parse_meta(te_model *m, const uint8_t *p, uint64_t size, te_error *err) {
    kv *kvs = calloc(MAX_KV, sizeof *kvs);
    if (!kvs) return te_fail(err, TE_ERR_NOMEM, "out of memory");
    size_t n = 0;
    const kv *s[N_STR];
    const char *copy[N_STR] = {0};
    te_status st = parse_entries(p, size, kvs, &n, err);
    if (st == TE_OK) st = parse_numbers(m, kvs, n, err);
    if (st == TE_OK) st = copy_strings(m, kvs, n, s, copy, err);
    if (st == TE_OK) st = pick_settings(m, s, copy, err);
    if (st == TE_OK) st = split_labels(m, s[S_LABELS] ? (char *)copy[S_LABELS] : NULL, err);
    if (st == TE_OK) st = parse_template(s[S_TMPL1] ? copy[S_TMPL1] : NULL, 0, m->tmpl.single, &m->tmpl.n_single, err);
    if (st == TE_OK) st = parse_template(s[S_TMPL2] ? copy[S_TMPL2] : NULL, 1, m->tmpl.pair, &m->tmpl.n_pair, err);
    if (st == TE_OK)
        st = te_prompts_open(m, s[S_PROMPTS] ? copy[S_PROMPTS] : NULL, s[S_PROMPT_DEFAULT] ? copy[S_PROMPT_DEFAULT] : NULL,
                             err);
    free(kvs);
    return st;
}

/* The first inconsistency among the hyper-parameters, as "KEY: what is
 * wrong" naming the metadata key at fault; NULL when they agree. */
static const char *bad_hyper(const te_model *m, char *buf, size_t cap) {
    const te_model_info *in = &m->info;
    if (in->hidden_size < 1) return "model.hidden_size: must be positive";
    if (in->num_layers < 1) return "model.num_layers: must be positive";
    if (in->num_heads < 1 || (m->arch.head_dim == 0 && in->hidden_size % in->num_heads != 0))
        return "model.num_heads: must divide model.hidden_size (or model.head_dim be given)";
    if (m->arch.kv_heads != 0 && in->num_heads % m->arch.kv_heads != 0) return "model.kv_heads: must divide model.num_heads";
    if (in->intermediate_size < 1) return "model.intermediate_size: must be positive";
    if (in->vocab_size < 1) return "model.vocab_size: must be positive";
    if (in->max_seq_length < 2 || in->max_seq_length + (in->position == TE_POS_ROTARY ? 0 : m->arch.position_offset) > in->max_position)
        return "model.max_seq_length: must be 2..model.max_position (less model.position_offset)";
    int head = m->arch.head_dim ? m->arch.head_dim : in->hidden_size / in->num_heads;
    if (in->position == TE_POS_ROTARY && (m->arch.rotary_dims < 2 || m->arch.rotary_dims % 2 || m->arch.rotary_dims > head))
        return "model.rotary_dims: must be even and 2..head size";
    if (m->arch.global_every < 1) return "model.global_every: must be at least 1";
    if (m->arch.global_every > 1 && (m->arch.local_window < 1 || in->position != TE_POS_ROTARY))
        return "model.local_window: local layers need a window of at least 1 and rotary positions";
    if (m->arch.position_pad_id >= 0 && (in->position == TE_POS_ROTARY || m->arch.position_offset < 1))
        return "model.position_pad_id: needs absolute positions and a model.position_offset of at least 1";
    if (in->position == TE_POS_RELATIVE && (m->arch.rel_buckets < 4 || m->arch.rel_max_distance < m->arch.rel_buckets))
        return "model.relative_buckets: must be at least 4 and model.relative_max_distance at least that";
    if ((in->kind == TE_KIND_EMBEDDING) != (in->num_labels == 0)) return "head.num_labels: must be given exactly for classifiers and rerankers";
    if (in->kind == TE_KIND_RERANKER && in->num_labels != 1) return "head.num_labels: a reranker has exactly one label";
    if (in->tokenizer.max_chars_per_word < 1) return "tokenizer.max_chars_per_word: must be positive";
    /* The int8 kernel's int32 sums hold 255 * 127 * k: exact for k <= 66000 inputs. */
    if (in->dtype == TE_DTYPE_I8 && in->intermediate_size > 65536) {
        snprintf(buf, cap, "weights.dtype: int8 linear layers take at most 65536 inputs (model.intermediate_size is %d)",
                 in->intermediate_size);
        return buf;
    }
    if ((uint64_t)m->vocab.n > (uint64_t)in->vocab_size) {
        snprintf(buf, cap, "model.vocab_size: %d rows, fewer than the vocabulary's %u tokens", in->vocab_size, (unsigned)m->vocab.n);
        return buf;
    }
    if (m->tmpl.n_single == 0 && (in->tokenizer.cls_id < 0 || in->tokenizer.sep_id < 0))
        return "tokenizer.cls_id: without a template, the [CLS] and [SEP] ids are required";
    return NULL;
}

/* BERT's templates when the file has none (format 1.0, 1.1). */
static void default_templates(te_model *m) {
    te_template *t = &m->tmpl;
    const te_tokenizer_info *tk = &m->info.tokenizer;
    if (t->n_single == 0) {
        t->single[0] = (te_tmpl_item){TE_TMPL_SPECIAL, 0, tk->cls_id};
        t->single[1] = (te_tmpl_item){TE_TMPL_A, 0, 0};
        t->single[2] = (te_tmpl_item){TE_TMPL_SPECIAL, 0, tk->sep_id};
        t->n_single = 3;
    }
    if (t->n_pair == 0) {
        memcpy(t->pair, t->single, 3 * sizeof *t->pair);
        t->pair[3] = (te_tmpl_item){TE_TMPL_B, 1, 0};
        t->pair[4] = (te_tmpl_item){TE_TMPL_SPECIAL, 1, tk->sep_id};
        t->n_pair = 5;
    }
}

te_status te_check_meta(te_model *m, te_error *err) {
    te_model_info *in = &m->info;
    char buf[160];
    const char *bad = bad_hyper(m, buf, sizeof buf);
    if (bad) return te_fail(err, TE_ERR_FORMAT, "metadata %s", bad);
    if (!m->arch.head_dim) m->arch.head_dim = in->hidden_size / in->num_heads; /* BERT's, unless the file says */
    if (!m->arch.kv_heads) m->arch.kv_heads = in->num_heads;
    static const char *const id_keys[] = {"cls_id", "sep_id", "pad_id", "unk_id", "mask_id"};
    const int32_t ids[] = {in->tokenizer.cls_id, in->tokenizer.sep_id, in->tokenizer.pad_id,
                           in->tokenizer.unk_id, in->tokenizer.mask_id};
    for (size_t i = 0; i < sizeof ids / sizeof *ids; i++)
        if (ids[i] >= in->vocab_size)
            return te_fail(err, TE_ERR_FORMAT, "metadata tokenizer.%s: token id %d is outside the vocabulary (model.vocab_size = %d)",
                           id_keys[i], (int)ids[i], in->vocab_size);
    default_templates(m);
    const te_template *t = &m->tmpl;
    for (int i = 0; i < t->n_single + t->n_pair; i++) {
        const te_tmpl_item *it = i < t->n_single ? &t->single[i] : &t->pair[i - t->n_single];
        const char *key = i < t->n_single ? "tokenizer.template_single" : "tokenizer.template_pair";
        if (it->what == TE_TMPL_SPECIAL && it->id >= in->vocab_size)
            return te_fail(err, TE_ERR_FORMAT, "metadata %s: token id %d is outside the vocabulary (model.vocab_size = %d)",
                           key, (int)it->id, in->vocab_size);
        if (in->type_vocab_size > 0 && it->type >= in->type_vocab_size) /* no table: types are unused */
            return te_fail(err, TE_ERR_FORMAT, "metadata %s: token type %d has no row in the token-type table "
                           "(model.type_vocab_size = %d)", key, it->type, in->type_vocab_size);
    }
    in->vocab_tokens = (int)m->vocab.n;
    return TE_OK;
}

te_status te_meta_validate(const uint8_t *meta, size_t size, uint32_t n_tokens, te_error *err) {
    te_model *m = calloc(1, sizeof *m);
    if (!m) return te_fail(err, TE_ERR_NOMEM, "out of memory");
    m->vocab.n = n_tokens;
    te_status st = te_parse_meta(m, meta, size, err);
    if (st == TE_OK) st = te_check_meta(m, err);
    free(m->labels);
    free(m->strings);
    json_free(m->prompts);
    free(m);
    return st;
}
