/*
 * hf_arch.c - the architectures the converter knows, as data: for each
 * Hugging Face model_type, the config.json keys of its sizes, its position
 * scheme and feed-forward, and the checkpoint names of its tensors; plus the
 * classification head (architectures[0], id2label) and the tokenizer's
 * post_processor template. Adding an encoder that the forward pass can
 * already run means adding a row here, not code elsewhere.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hf_config.h"
#include "internal.h"

static const hf_arch archs[] = {
    {.model_type = "bert", .k_hidden = "hidden_size", .k_layers = "num_hidden_layers", .k_heads = "num_attention_heads",
     .k_inter = "intermediate_size", .k_max_pos = "max_position_embeddings", .k_eps = "layer_norm_eps",
     .k_act = "hidden_act", .has_types = 1, .position = TE_POS_ABSOLUTE,
     .word = "embeddings.word_embeddings", .position_table = "embeddings.position_embeddings",
     .token_type = "embeddings.token_type_embeddings", .emb_norm = "embeddings.LayerNorm",
     .layer = "encoder.layer.%d.", .q = "attention.self.query", .k = "attention.self.key", .v = "attention.self.value",
     .attn_out = "attention.output.dense", .attn_norm = "attention.output.LayerNorm", .up = "intermediate.dense",
     .down = "output.dense", .ffn_norm = "output.LayerNorm",
     .head_dense = "pooler.dense", .head_dense_in_body = 1, .head_act = "tanh", .head_out = "classifier"},
    /* RoBERTa and XLM-RoBERTa: BERT's names, positions from the padding index
     * + 1, and a classification head of its own (dense, tanh, out_proj).
     * Files record the network, "xlm-roberta", for both. */
    {.model_type = "xlm-roberta", .also = "roberta", .k_hidden = "hidden_size", .k_layers = "num_hidden_layers",
     .k_heads = "num_attention_heads", .k_inter = "intermediate_size", .k_max_pos = "max_position_embeddings",
     .k_eps = "layer_norm_eps", .k_act = "hidden_act", .has_types = 1, .position = TE_POS_ABSOLUTE, .pad_positions = 1,
     .word = "embeddings.word_embeddings", .position_table = "embeddings.position_embeddings",
     .token_type = "embeddings.token_type_embeddings", .emb_norm = "embeddings.LayerNorm",
     .layer = "encoder.layer.%d.", .q = "attention.self.query", .k = "attention.self.key", .v = "attention.self.value",
     .attn_out = "attention.output.dense", .attn_norm = "attention.output.LayerNorm", .up = "intermediate.dense",
     .down = "output.dense", .ffn_norm = "output.LayerNorm",
     .head_dense = "classifier.dense", .head_act = "tanh", .head_out = "classifier.out_proj"},
    {.model_type = "distilbert", .k_hidden = "dim", .k_layers = "n_layers", .k_heads = "n_heads", .k_inter = "hidden_dim",
     .k_max_pos = "max_position_embeddings", .k_act = "activation", .position = TE_POS_ABSOLUTE,
     .word = "embeddings.word_embeddings", .position_table = "embeddings.position_embeddings",
     .emb_norm = "embeddings.LayerNorm", .layer = "transformer.layer.%d.", .q = "attention.q_lin",
     .k = "attention.k_lin", .v = "attention.v_lin", .attn_out = "attention.out_lin", .attn_norm = "sa_layer_norm",
     .up = "ffn.lin1", .down = "ffn.lin2", .ffn_norm = "output_layer_norm",
     .head_dense = "pre_classifier", .head_act = "relu", .head_out = "classifier"},
    {.model_type = "mpnet", .k_hidden = "hidden_size", .k_layers = "num_hidden_layers", .k_heads = "num_attention_heads",
     .k_inter = "intermediate_size", .k_max_pos = "max_position_embeddings", .k_eps = "layer_norm_eps",
     .k_act = "hidden_act", .position = TE_POS_RELATIVE, .pad_positions = 1,
     .word = "embeddings.word_embeddings", .position_table = "embeddings.position_embeddings",
     .emb_norm = "embeddings.LayerNorm", .rel_bias = "encoder.relative_attention_bias", .layer = "encoder.layer.%d.",
     .q = "attention.attn.q", .k = "attention.attn.k", .v = "attention.attn.v", .attn_out = "attention.attn.o",
     .attn_norm = "attention.LayerNorm", .up = "intermediate.dense", .down = "output.dense",
     .ffn_norm = "output.LayerNorm"},
    {.model_type = "nomic_bert", .k_hidden = "n_embd", .k_layers = "n_layer", .k_heads = "n_head", .k_inter = "n_inner",
     .k_max_pos = "n_positions", .k_eps = "layer_norm_epsilon", .k_act = "activation_function", .has_types = 1,
     .position = TE_POS_ROTARY, .word = "embeddings.word_embeddings",
     .token_type = "embeddings.token_type_embeddings", .emb_norm = "emb_ln", .layer = "encoder.layers.%d.",
     .qkv = "attn.Wqkv", .attn_out = "attn.out_proj", .attn_norm = "norm1", .up = "mlp.fc1", .up_gated = "mlp.fc11",
     .gate = "mlp.fc12", .down = "mlp.fc2", .ffn_norm = "norm2"},
    /* ModernBERT: pre-norm, GeGLU in one Wi, rotary with local and global layers (read_modernbert). */
    {.model_type = "modernbert", .k_hidden = "hidden_size", .k_layers = "num_hidden_layers",
     .k_heads = "num_attention_heads", .k_inter = "intermediate_size", .k_max_pos = "max_position_embeddings",
     .k_eps = "norm_eps", .k_act = "hidden_activation", .position = TE_POS_ROTARY,
     .word = "embeddings.tok_embeddings", .emb_norm = "embeddings.norm", .layer = "layers.%d.", .qkv = "attn.Wqkv",
     .attn_out = "attn.Wo", .attn_norm = "attn_norm", .up = "mlp.Wi", .up_gate_first = 1, .down = "mlp.Wo",
     .ffn_norm = "mlp_norm", .prenorm = 1, .final_norm = "final_norm",
     .head_dense = "head.dense", .head_act = "gelu", .head_norm = "head.norm", .head_out = "classifier"},
    /* Qwen3 (Qwen3-Embedding): a decoder; read_qwen3 has its attention's shape. */
    {.model_type = "qwen3", .k_hidden = "hidden_size", .k_layers = "num_hidden_layers", .k_heads = "num_attention_heads",
     .k_inter = "intermediate_size", .k_max_pos = "max_position_embeddings", .k_eps = "rms_norm_eps",
     .k_act = "hidden_act", .position = TE_POS_ROTARY, .word = "embed_tokens", .layer = "layers.%d.",
     .q = "self_attn.q_proj", .k = "self_attn.k_proj", .v = "self_attn.v_proj", .attn_out = "self_attn.o_proj",
     .attn_norm = "input_layernorm", .up_gated = "mlp.up_proj", .gate = "mlp.gate_proj", .down = "mlp.down_proj",
     .ffn_norm = "post_attention_layernorm", .prenorm = 1, .final_norm = "norm", .q_norm = "self_attn.q_norm",
     .k_norm = "self_attn.k_norm", .rms_norm = 1, .causal = 1},
};

static te_status bad(te_error *err, const char *key, const char *what) {
    return te_fail(err, TE_ERR_FORMAT, "config.json: '%s' %s", key, what);
}

/* An integer in [lo, hi]; def < 0 means required. */
static te_status cfg_int(const json_value *c, const char *key, int64_t def, int64_t lo, int64_t hi, int *out, te_error *err) {
    int64_t v;
    int r = json_get_int(c, key, &v);
    if (r < 0) return bad(err, key, "must be an integer");
    if (r == 0) {
        if (def < 0) return bad(err, key, "is missing");
        v = def;
    }
    if (v < lo || v > hi)
        return te_fail(err, TE_ERR_FORMAT, "config.json: '%s' = %lld is out of range [%lld, %lld]", key, (long long)v,
                       (long long)lo, (long long)hi);
    *out = (int)v;
    return TE_OK;
}

/* A boolean, def when absent or null. */
static te_status hf_cfg_bool(const json_value *c, const char *key, int def, int *out, te_error *err) {
    *out = def;
    const json_value *v = json_get(c, key);
    if (v && v->type != JSON_NULL && json_get_bool(c, key, out) != 1) return bad(err, key, "must be true or false");
    return TE_OK;
}

/* A boolean that must have the value this version runs (unsupported otherwise). */
static te_status cfg_require_bool(const json_value *c, const char *key, int want, te_error *err) {
    int v = want;
    if (json_get_bool(c, key, &v) < 0 && json_get(c, key)->type != JSON_NULL) return bad(err, key, "must be true or false");
    if (v != want)
        return te_fail(err, TE_ERR_UNSUPPORTED, "config.json: %s = %s is not supported by this tinyembed", key,
                       v ? "true" : "false");
    return TE_OK;
}

static te_status read_activation(hf_model *hf, const json_value *c, const char *key, te_error *err) {
    const char *act = "gelu";
    if (json_get_str(c, key, &act) < 0) return bad(err, key, "must be a string");
    hf->gated = 0;
    if (!strcmp(act, "gelu")) hf->act = TE_ACT_GELU;
    else if (!strcmp(act, "gelu_new") || !strcmp(act, "gelu_pytorch_tanh") || !strcmp(act, "gelu_fast")) hf->act = TE_ACT_GELU_TANH;
    else if (!strcmp(act, "relu")) hf->act = TE_ACT_RELU;
    else if (!strcmp(act, "silu") && hf->arch->up_gated) hf->act = TE_ACT_SILU, hf->gated = 1; /* Qwen3's MLP */
    else if (!strcmp(act, "swiglu") && hf->arch->up_gated) hf->act = TE_ACT_SILU, hf->gated = 1;
    else if (!strcmp(act, "geglu") && hf->arch->up_gated) hf->act = TE_ACT_GELU, hf->gated = 1;
    else
        return te_fail(err, TE_ERR_UNSUPPORTED, "config.json: %s '%s' is not supported (gelu, gelu_new, gelu_pytorch_tanh, relu%s)",
                       key, act, hf->arch->up_gated ? ", swiglu, geglu" : "");
    return TE_OK;
}

/* NomicBERT's switches: what this version runs, and its biases and rotary. */
static te_status read_nomic(hf_model *hf, const json_value *c, te_error *err) {
    static const struct { const char *key; int want; } fixed[] = {
        {"prenorm", 0}, {"parallel_block", 0}, {"causal", 0}, {"use_rms_norm", 0}, {"rotary_emb_interleaved", 0},
    };
    te_status st = TE_OK;
    for (size_t i = 0; st == TE_OK && i < sizeof fixed / sizeof *fixed; i++) st = cfg_require_bool(c, fixed[i].key, fixed[i].want, err);
    if (st != TE_OK) return st;
    const json_value *v = json_get(c, "rotary_scaling_factor");
    if (v && v->type != JSON_NULL)
        return te_fail(err, TE_ERR_UNSUPPORTED, "config.json: rotary_scaling_factor (dynamic NTK scaling) is not supported");
    v = json_get(c, "rotary_emb_scale_base");
    if (v && v->type != JSON_NULL)
        return te_fail(err, TE_ERR_UNSUPPORTED, "config.json: rotary_emb_scale_base (xPos) is not supported");
    double frac = 0, base = 10000;
    if (json_get_num(c, "rotary_emb_fraction", &frac) < 0 || json_get_num(c, "rotary_emb_base", &base) < 0)
        return bad(err, "rotary_emb_fraction", "and 'rotary_emb_base' must be numbers");
    int d = hf->hidden / hf->heads;
    hf->rotary_dims = (int)(d * frac);
    if (hf->rotary_dims <= 0 || hf->rotary_dims % 2 || hf->rotary_dims > d)
        return te_fail(err, TE_ERR_UNSUPPORTED, "config.json: rotary_emb_fraction %g gives %d rotary dims of %d "
                       "(need an even number > 0: learned positions are not supported for nomic_bert)", frac, hf->rotary_dims, d);
    if (!(base > 1 && base < 1e30)) return bad(err, "rotary_emb_base", "is out of range");
    hf->rotary_base = (float)base;
    int qkv = 1, fc1 = 1, fc2 = 1;
    json_get_bool(c, "qkv_proj_bias", &qkv);
    json_get_bool(c, "mlp_fc1_bias", &fc1);
    json_get_bool(c, "mlp_fc2_bias", &fc2);
    hf->qkv_bias = hf->out_bias = qkv;
    hf->up_bias = fc1;
    hf->down_bias = fc2;
    /* NomciBertGatedMLP rounds its width up to a multiple of 256. */
    if (hf->gated) hf->inter = (hf->inter + 255) / 256 * 256;
    return TE_OK;
}

/* The two rotary bases: global_rope_theta / local_rope_theta, or transformers 5's rope_parameters. */
static te_status modernbert_thetas(hf_model *hf, const json_value *c, te_error *err) {
    double global = 160000, local = 10000;
    const json_value *rp = json_get(c, "rope_parameters");
    if (rp && rp->type == JSON_OBJECT) {
        json_get_num(json_get(rp, "full_attention"), "rope_theta", &global);
        json_get_num(json_get(rp, "sliding_attention"), "rope_theta", &local);
    } else if (json_get_num(c, "global_rope_theta", &global) < 0 || json_get_num(c, "local_rope_theta", &local) < 0) {
        return bad(err, "global_rope_theta", "and 'local_rope_theta' must be numbers");
    }
    if (!(global > 1 && global < 1e30 && local > 1 && local < 1e30)) return bad(err, "global_rope_theta", "is out of range");
    hf->rotary_base = (float)global;
    hf->rotary_base_local = (float)local;
    return TE_OK;
}

/* ModernBERT's switches: GeGLU always, biases by three flags, every n-th layer global, the others
 * attending local_attention / 2 tokens either side. */
static te_status read_modernbert(hf_model *hf, const json_value *c, te_error *err) {
    int attn = 0, mlp = 0, norm = 0, window = 128;
    te_status st = hf_cfg_bool(c, "attention_bias", 0, &attn, err);
    if (st == TE_OK) st = hf_cfg_bool(c, "mlp_bias", 0, &mlp, err);
    if (st == TE_OK) st = hf_cfg_bool(c, "norm_bias", 0, &norm, err);
    if (st == TE_OK) st = cfg_int(c, "global_attn_every_n_layers", 3, 1, 1024, &hf->global_every, err);
    if (st == TE_OK) st = cfg_int(c, "local_attention", 128, 2, 1 << 20, &window, err);
    if (st == TE_OK) st = modernbert_thetas(hf, c, err);
    if (st != TE_OK) return st;
    hf->gated = 1; /* Wi holds the activated half and the gate */
    hf->qkv_bias = hf->out_bias = attn;
    hf->up_bias = hf->down_bias = mlp;
    hf->norm_bias = norm;
    hf->local_window = window / 2;
    hf->rotary_dims = hf->hidden / hf->heads;
    /* ModernBertForSequenceClassification: pooling, activation and bias of its head. */
    const char *pool = "cls", *act = "gelu";
    json_get_str(c, "classifier_pooling", &pool);
    json_get_str(c, "classifier_activation", &act);
    if (strcmp(pool, "cls") && strcmp(pool, "mean"))
        return te_fail(err, TE_ERR_UNSUPPORTED, "config.json: classifier_pooling '%s' is not supported (cls, mean)", pool);
    if (strcmp(act, "gelu") && strcmp(act, "tanh") && strcmp(act, "relu"))
        return te_fail(err, TE_ERR_UNSUPPORTED, "config.json: classifier_activation '%s' is not supported (gelu, tanh, relu)",
                       act);
    hf->head_mean = pool[0] == 'm';
    hf->head_act = act;
    return hf_cfg_bool(c, "classifier_bias", 0, &hf->head_bias, err);
}

/* Qwen3: grouped-query attention with a head width of its own, rope_theta, biases by attention_bias. */
static te_status read_qwen3(hf_model *hf, const json_value *c, te_error *err) {
    int attn = 0, sliding = 0;
    double theta = 10000;
    te_status st = cfg_int(c, "head_dim", hf->hidden / hf->heads, 2, 1 << 12, &hf->head_dim, err);
    if (st == TE_OK) st = cfg_int(c, "num_key_value_heads", hf->heads, 1, hf->heads, &hf->kv_heads, err);
    if (st == TE_OK) st = hf_cfg_bool(c, "attention_bias", 0, &attn, err);
    if (st == TE_OK) st = hf_cfg_bool(c, "use_sliding_window", 0, &sliding, err);
    if (st != TE_OK) return st;
    if (hf->heads % hf->kv_heads) return bad(err, "num_key_value_heads", "must divide num_attention_heads");
    if (sliding) return te_fail(err, TE_ERR_UNSUPPORTED, "config.json: use_sliding_window true is not supported for qwen3");
    const json_value *rs = json_get(c, "rope_scaling");
    if (rs && rs->type != JSON_NULL) return te_fail(err, TE_ERR_UNSUPPORTED, "config.json: rope_scaling is not supported");
    if (json_get_num(c, "rope_theta", &theta) < 0 || !(theta > 1 && theta < 1e30)) return bad(err, "rope_theta", "is out of range");
    hf->rotary_base = (float)theta;
    hf->rotary_dims = hf->head_dim;
    hf->qkv_bias = hf->out_bias = attn;
    hf->up_bias = hf->down_bias = hf->norm_bias = 0;
    return TE_OK;
}

/* architectures[0]: the body alone, or a sequence-classification head. */
static te_status read_head(hf_model *hf, const json_value *c, te_error *err) {
    const json_value *a = json_get(c, "architectures");
    const char *cls = NULL;
    if (a && a->type == JSON_ARRAY && a->len > 0 && a->items[0]->type == JSON_STRING) cls = a->items[0]->str;
    hf->kind = TE_KIND_EMBEDDING;
    if (!cls) return TE_OK;
    const char *tail = strstr(cls, "For");
    if (!tail || !strcmp(tail, "ForMaskedLM") || !strcmp(tail, "ForPreTraining") || !strcmp(tail, "ForCausalLM"))
        return TE_OK; /* the body is the encoder (a decoder's language-model head is not used) */
    if (strcmp(tail, "ForSequenceClassification") != 0 || !hf->arch->head_out)
        return te_fail(err, TE_ERR_UNSUPPORTED, "config.json: architecture %s is not supported (an encoder, or %s "
                       "ForSequenceClassification)", cls, hf->arch->head_out ? "its" : "no");
    const json_value *labels = json_get(c, "id2label");
    int n = 2;
    if (labels && labels->type == JSON_OBJECT) n = (int)labels->len;
    else {
        te_status st = cfg_int(c, "num_labels", 2, 1, 1 << 16, &n, err);
        if (st != TE_OK) return st;
    }
    if (n < 1 || n > (1 << 16)) return bad(err, "id2label", "must have 1 to 65536 labels");
    hf->num_labels = n;
    hf->kind = n == 1 ? TE_KIND_RERANKER : TE_KIND_CLASSIFIER;
    if (!(hf->labels = calloc((size_t)n, sizeof *hf->labels))) return te_fail(err, TE_ERR_NOMEM, "out of memory");
    for (int i = 0; i < n; i++) {
        char key[16];
        snprintf(key, sizeof key, "%d", i);
        const char *name = NULL;
        if (labels && labels->type == JSON_OBJECT && json_get_str(labels, key, &name) != 1)
            return te_fail(err, TE_ERR_FORMAT, "config.json: id2label has no string for label %d", i);
        if (name && (strchr(name, '\n') || !*name))
            return te_fail(err, TE_ERR_FORMAT, "config.json: id2label[%d] is empty or holds a newline", i);
        hf->labels[i] = name;
    }
    /* Scores: softmax over several labels (sigmoid for a multi-label problem),
     * sigmoid for one -- sentence-transformers' CrossEncoder default, unless
     * config.json names another (sentence_transformers.activation_fn, or the
     * older sbert_ce_default_activation_function). */
    const char *pt = NULL, *fn = NULL;
    hf->score = n == 1 ? TE_SCORE_SIGMOID : TE_SCORE_SOFTMAX;
    if (json_get_str(c, "problem_type", &pt) == 1 && !strcmp(pt, "multi_label_classification")) hf->score = TE_SCORE_SIGMOID;
    const json_value *st = json_get(c, "sentence_transformers"); /* sentence-transformers >= 4 */
    if ((st && json_get_str(st, "activation_fn", &fn) == 1) ||
        json_get_str(c, "sbert_ce_default_activation_function", &fn) == 1) {
        const char *dot = strrchr(fn, '.');
        const char *name = dot ? dot + 1 : fn;
        if (!strcmp(name, "Sigmoid")) hf->score = TE_SCORE_SIGMOID;
        else if (!strcmp(name, "Identity")) hf->score = TE_SCORE_IDENTITY;
        else if (!strcmp(name, "Softmax")) hf->score = TE_SCORE_SOFTMAX;
        else
            return te_fail(err, TE_ERR_UNSUPPORTED, "config.json: sbert_ce_default_activation_function '%s' is not "
                           "supported (Sigmoid, Identity, Softmax)", fn);
    }
    return TE_OK;
}

te_status hf_read_arch(hf_model *hf, const json_value *c, te_error *err) {
    const char *mt = NULL;
    if (json_get_str(c, "model_type", &mt) != 1) return bad(err, "model_type", "is missing");
    for (size_t i = 0; i < sizeof archs / sizeof *archs && !hf->arch; i++)
        if (!strcmp(mt, archs[i].model_type) || (archs[i].also && !strcmp(mt, archs[i].also))) hf->arch = &archs[i];
    if (!hf->arch) {
        char list[128] = "";
        for (size_t i = 0; i < sizeof archs / sizeof *archs; i++)
            snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s%s%s", i ? ", " : "", archs[i].model_type,
                     archs[i].also ? ", " : "", archs[i].also ? archs[i].also : "");
        return te_fail(err, TE_ERR_UNSUPPORTED, "config.json: model_type '%s' is not supported (this version converts: %s)", mt, list);
    }
    const hf_arch *a = hf->arch;
    const char *pet = NULL;
    if (json_get_str(c, "position_embedding_type", &pet) == 1 && strcmp(pet, "absolute") != 0)
        return te_fail(err, TE_ERR_UNSUPPORTED, "config.json: position_embedding_type '%s' is not supported (need absolute)", pet);
    te_status st = cfg_int(c, a->k_hidden, -1, 1, 1 << 16, &hf->hidden, err);
    if (st == TE_OK) st = cfg_int(c, a->k_layers, -1, 1, 1024, &hf->layers, err);
    if (st == TE_OK) st = cfg_int(c, a->k_heads, -1, 1, 1024, &hf->heads, err);
    if (st == TE_OK) st = cfg_int(c, a->k_inter, -1, 1, 1 << 18, &hf->inter, err);
    if (st == TE_OK) st = cfg_int(c, "vocab_size", -1, 1, 1 << 24, &hf->vocab_size, err);
    if (st == TE_OK) st = cfg_int(c, a->k_max_pos, -1, 2, 1 << 20, &hf->max_pos, err);
    hf->type_vocab = 0;
    if (st == TE_OK && a->has_types) st = cfg_int(c, "type_vocab_size", 2, 0, 1 << 16, &hf->type_vocab, err);
    if (st != TE_OK) return st;
    if (hf->hidden % hf->heads != 0 && !json_get(c, "head_dim"))
        return te_fail(err, TE_ERR_FORMAT, "config.json: %s %d is not a multiple of %s %d", a->k_hidden, hf->hidden,
                       a->k_heads, hf->heads);
    double eps = 1e-12; /* DistilBERT's, fixed in its code */
    /* Checked as the float the file stores (what te_open checks): 1e-50 is 0 there. */
    if (a->k_eps && (json_get_num(c, a->k_eps, &eps) < 0 || !((float)eps > 0 && (float)eps < 1)))
        return bad(err, a->k_eps, "must be a number in (0, 1) that a float can hold (at least about 1.4e-45)");
    hf->eps = (float)eps;
    if ((st = read_activation(hf, c, a->k_act, err)) != TE_OK) return st;
    hf->position = a->position;
    hf->qkv_bias = hf->out_bias = hf->up_bias = hf->down_bias = 1;
    hf->pos_pad_id = -1;
    hf->max_len = hf->max_pos;
    if (a->pad_positions) { /* positions count from padding_idx + 1 */
        int pad = 1;
        if ((st = cfg_int(c, "pad_token_id", 1, 0, 1 << 24, &pad, err)) != TE_OK) return st;
        hf->pos_offset = pad + 1;
        hf->pos_pad_id = pad;
        hf->max_len = hf->max_pos - hf->pos_offset;
        if (hf->max_len < 2) return bad(err, a->k_max_pos, "leaves no room for positions after the padding index");
    }
    if (a->position == TE_POS_RELATIVE) { /* transformers' MPNet: 32 buckets up to distance 128, whatever the config says */
        hf->rel_buckets = 32;
        hf->rel_max_distance = 128;
    }
    hf->norm_bias = hf->head_bias = 1;
    hf->head_act = a->head_act;
    hf->head_mean = 0;
    if (!strcmp(a->model_type, "nomic_bert") && (st = read_nomic(hf, c, err)) != TE_OK) return st;
    hf->head_dim = hf->hidden / hf->heads;
    hf->kv_heads = hf->heads;
    if (!strcmp(a->model_type, "modernbert") && (st = read_modernbert(hf, c, err)) != TE_OK) return st;
    if (!strcmp(a->model_type, "qwen3") && (st = read_qwen3(hf, c, err)) != TE_OK) return st;
    return read_head(hf, c, err);
}

/* ---- the post_processor: special tokens around one text or a pair -------- */

typedef struct tmpl_out {
    char *buf;
    size_t cap, len;
} tmpl_out;

static void tmpl_put(tmpl_out *o, const char *item, long id, int type) {
    int n = item ? snprintf(o->buf + o->len, o->cap - o->len, "%s%s:%d", o->len ? " " : "", item, type)
                 : snprintf(o->buf + o->len, o->cap - o->len, "%s#%ld:%d", o->len ? " " : "", id, type);
    if (n > 0 && (size_t)n < o->cap - o->len) o->len += (size_t)n;
    else o->len = o->cap; /* marks overflow */
}

/* TemplateProcessing's list: {"SpecialToken": {"id", "type_id"}} / {"Sequence": {"id": "A"|"B", "type_id"}}. */
static te_status template_list(const json_value *list, const json_value *specials, tmpl_out *o, te_error *err) {
    if (!list || list->type != JSON_ARRAY) return te_fail(err, TE_ERR_FORMAT, "tokenizer.json: post_processor template is not a list");
    for (size_t i = 0; i < list->len; i++) {
        const json_value *sp = json_get(list->items[i], "SpecialToken"), *sq = json_get(list->items[i], "Sequence");
        const char *id = NULL;
        int64_t type = 0;
        const json_value *it = sp ? sp : sq;
        if (!it || json_get_str(it, "id", &id) != 1 || json_get_int(it, "type_id", &type) < 0 || type < 0 || type > 9)
            return te_fail(err, TE_ERR_FORMAT, "tokenizer.json: post_processor template item %zu is malformed", i);
        if (sq) {
            if (strcmp(id, "A") && strcmp(id, "B")) return te_fail(err, TE_ERR_FORMAT, "tokenizer.json: template sequence '%s'", id);
            tmpl_put(o, !strcmp(id, "A") ? "$A" : "$B", 0, (int)type);
            continue;
        }
        const json_value *tok = json_get(specials, id), *ids = tok ? json_get(tok, "ids") : NULL;
        if (!ids || ids->type != JSON_ARRAY || ids->len == 0)
            return te_fail(err, TE_ERR_FORMAT, "tokenizer.json: template special token '%s' has no ids", id);
        for (size_t k = 0; k < ids->len; k++) {
            if (ids->items[k]->type != JSON_NUMBER || !ids->items[k]->is_int || ids->items[k]->i < 0)
                return te_fail(err, TE_ERR_FORMAT, "tokenizer.json: template special token '%s' has a bad id", id);
            tmpl_put(o, NULL, (long)ids->items[k]->i, (int)type);
        }
    }
    return TE_OK;
}

/* A processor's [token, id] pair (BertProcessing, RobertaProcessing). */
static long processor_id(const json_value *pp, const char *key, long def) {
    const json_value *v = json_get(pp, key);
    if (v && v->type == JSON_ARRAY && v->len == 2 && v->items[1]->type == JSON_NUMBER && v->items[1]->is_int)
        return (long)v->items[1]->i;
    return def;
}

/* A Sequence of processors: the one that frames the texts (ByteLevel's only trims offsets). */
static const json_value *framing_processor(const json_value *pp) {
    const json_value *list = json_get(pp, "processors");
    const char *type = NULL;
    for (size_t i = 0; list && list->type == JSON_ARRAY && i < list->len; i++)
        if (json_get_str(list->items[i], "type", &type) == 1 && strcmp(type, "ByteLevel")) return list->items[i];
    return NULL;
}

te_status hf_read_post_processor(hf_model *hf, const json_value *tj, te_error *err) {
    tmpl_out one = {hf->tmpl_single, sizeof hf->tmpl_single, 0}, two = {hf->tmpl_pair, sizeof hf->tmpl_pair, 0};
    const json_value *pp = tj ? json_get(tj, "post_processor") : NULL;
    const char *type = "BertProcessing";
    if (pp && pp->type != JSON_NULL && json_get_str(pp, "type", &type) != 1)
        return te_fail(err, TE_ERR_FORMAT, "tokenizer.json: post_processor has no type");
    if (!strcmp(type, "Sequence")) {
        pp = framing_processor(pp);
        type = "ByteLevel";
        if (pp) json_get_str(pp, "type", &type);
    }
    te_status st = TE_OK;
    if (!strcmp(type, "BertProcessing") || !strcmp(type, "RobertaProcessing")) {
        long cls = processor_id(pp, "cls", hf->cls), sep = processor_id(pp, "sep", hf->sep);
        int roberta = type[0] == 'R';
        tmpl_put(&one, NULL, cls, 0), tmpl_put(&one, "$A", 0, 0), tmpl_put(&one, NULL, sep, 0);
        tmpl_put(&two, NULL, cls, 0), tmpl_put(&two, "$A", 0, 0), tmpl_put(&two, NULL, sep, 0);
        if (roberta) tmpl_put(&two, NULL, sep, 0);
        tmpl_put(&two, "$B", 0, !roberta), tmpl_put(&two, NULL, sep, !roberta);
    } else if (!strcmp(type, "TemplateProcessing")) {
        const json_value *specials = json_get(pp, "special_tokens");
        st = template_list(json_get(pp, "single"), specials, &one, err);
        if (st == TE_OK) st = template_list(json_get(pp, "pair"), specials, &two, err);
    } else if (!strcmp(type, "ByteLevel")) { /* no special tokens: the texts as they are */
        tmpl_put(&one, "$A", 0, 0);
        tmpl_put(&two, "$A", 0, 0), tmpl_put(&two, "$B", 0, 1);
    } else {
        return te_fail(err, TE_ERR_UNSUPPORTED, "tokenizer.json: post_processor '%s' is not supported "
                       "(BertProcessing, RobertaProcessing, TemplateProcessing, ByteLevel, Sequence)", type);
    }
    if (st == TE_OK && (one.len >= one.cap || two.len >= two.cap))
        st = te_fail(err, TE_ERR_UNSUPPORTED, "tokenizer.json: the post_processor template is too long");
    return st;
}
