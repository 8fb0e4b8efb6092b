/*
 * convert.c - te_convert: Hugging Face encoder directory -> .temb file.
 *
 * Settings come from hf_config.c and the architecture's row in hf_arch.c;
 * this file maps checkpoint tensors to .temb tensors by the names that row
 * gives, checks their shapes against config.json, reads F32/F16/BF16 as f32
 * rows and stacks Q/K/V (and a gated feed-forward's two up projections)
 * into one matrix; quant.c stores them in the output dtype and in the panel
 * layouts the GEMM reads (docs/FORMAT.md).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "calibrate.h"
#include "format.h"
#include "half.h"
#include "hf_config.h"
#include "internal.h"
#include "quant.h"
#include "safetensors.h"
#include "temb_writer.h"

#define MAX_PARTS 3
#define TENSORS_EMBED 8      /* word, position, token type, norm weight and bias, relative bias; final norm x 2 */
#define TENSORS_PER_LAYER 14 /* 4 linears x (weight, bias) + 2 norms x (weight, bias) + query and key norms */
#define TENSORS_HEAD 6       /* dense, norm and output x (weight, bias); bge-m3: sparse and ColBERT x (weight, bias) */

/* bge-m3's heads, as the Hub ships them beside the body. */
static const char *const m3_files[2] = {"sparse_linear.pt", "colbert_linear.pt"};

/* One output tensor: its source tensors, read as rows of f32. */
typedef struct job {
    const st_tensor *parts[MAX_PARTS]; /* stacked along the first dimension (none: zeros) */
    int n_parts;
    size_t shift;                      /* elements the output starts into its sources, wrapping around */
    te_row_source rows;                /* what quant.c encodes; user = the job */
} job;

typedef struct converter {
    st_file st;             /* the body's checkpoint */
    st_file m3[2];          /* bge-m3's sparse_linear.pt and colbert_linear.pt, when present */
    st_file *from;          /* where source() looks: &st, or one of m3 */
    const char *ckpt;       /* its file name, for messages: model.safetensors, pytorch_model.bin, *.pt */
    const char *prefix;     /* checkpoint name prefix, e.g. "bert." */
    size_t half_shift;      /* the next linear's halves swap (ModernBERT's Wi: gate half first), else 0 */
    const uint64_t *part_rows; /* the next tensor's parts' rows when they differ (Qwen3's q, k, v), else NULL */
    size_t prefix_len;
    job *jobs;
    size_t n_jobs, cap_jobs;
    const te_convert_opts *opts;
    te_error *err;
} converter;

/* Converts n elements of t starting at element `start` to f32. */
static void read_f32(const st_tensor *t, size_t start, size_t n, float *dst) {
    const uint8_t *p = t->data + start * t->elem_size;
    if (strcmp(t->dtype, "F32") == 0) {
        for (size_t i = 0; i < n; i++) dst[i] = te_bits_to_f32(te_le32(p + 4 * i));
    } else if (strcmp(t->dtype, "F16") == 0) {
        for (size_t i = 0; i < n; i++) dst[i] = te_f16_to_f32(te_le16(p + 2 * i));
    } else {
        for (size_t i = 0; i < n; i++) dst[i] = te_bf16_to_f32(te_le16(p + 2 * i));
    }
}

/* n elements from element `at` of the parts stacked end to end. */
static void read_stacked(const job *j, size_t at, size_t left, float *dst) {
    for (int i = 0; i < j->n_parts && left > 0; i++) {
        size_t n = (size_t)(j->parts[i]->bytes / j->parts[i]->elem_size);
        if (at >= n) {
            at -= n;
            continue;
        }
        size_t take = n - at < left ? n - at : left;
        read_f32(j->parts[i], at, take, dst);
        dst += take;
        left -= take;
        at = 0;
    }
}

/* Row r of the output (a 1-D tensor is one row): the sources from `shift` on, wrapping; zeros without any. */
static void job_row(const void *user, size_t r, float *dst) {
    const job *j = user;
    size_t k = j->rows.k, total = j->rows.n * k, at = (r * k + j->shift) % (total ? total : 1);
    if (j->n_parts == 0) {
        memset(dst, 0, k * sizeof *dst);
        return;
    }
    size_t first = total - at < k ? total - at : k;
    read_stacked(j, at, first, dst);
    read_stacked(j, 0, k - first, dst + first);
}

static void shape_str(char *out, size_t cap, int nd, const uint64_t *d) {
    out[0] = '\0';
    for (int i = 0; i < nd; i++)
        snprintf(out + strlen(out), cap - strlen(out), "%s%llu", i ? ", " : "", (unsigned long long)d[i]);
}

/* Finds prefix + name (trying LayerNorm's old gamma/beta spelling) and checks it. */
static te_status source(converter *c, const char *name, int nd, uint64_t d0, uint64_t d1, const st_tensor **out) {
    char full[512];
    snprintf(full, sizeof full, "%s%s", c->prefix, name);
    st_tensor *t = st_find(c->from, full);
    if (!t) {
        char alt[512];
        size_t n = strlen(full);
        if (n > 7 && strcmp(full + n - 7, ".weight") == 0) snprintf(alt, sizeof alt, "%.*s.gamma", (int)(n - 7), full);
        else if (n > 5 && strcmp(full + n - 5, ".bias") == 0) snprintf(alt, sizeof alt, "%.*s.beta", (int)(n - 5), full);
        else alt[0] = '\0';
        if (strstr(full, "LayerNorm") && alt[0]) t = st_find(c->from, alt);
    }
    if (!t) return te_fail(c->err, TE_ERR_FORMAT, "%s: tensor %s is missing", c->ckpt, full);
    uint64_t want[2] = {d0, d1};
    int same = t->n_dims == nd;
    for (int i = 0; same && i < nd; i++) same = t->dims[i] == want[i];
    if (!same) {
        char got[128], exp[128];
        shape_str(got, sizeof got, t->n_dims, t->dims);
        shape_str(exp, sizeof exp, nd, want);
        return te_fail(c->err, TE_ERR_SHAPE, "%s: tensor %s has shape [%s], expected [%s] (from config.json)",
                       c->ckpt, t->name, got, exp);
    }
    if (strcmp(t->dtype, "F32") && strcmp(t->dtype, "F16") && strcmp(t->dtype, "BF16"))
        return te_fail(c->err, TE_ERR_UNSUPPORTED, "%s: tensor %s has dtype %s (supported: F32, F16, BF16)",
                       c->ckpt, t->name, t->dtype);
    t->used = 1;
    *out = t;
    return TE_OK;
}

/* Jobs are handed to the writer by address, so the array never moves:
 * add_tensors sizes it for every tensor up front. */
static job *new_job(converter *c) {
    if (c->n_jobs == c->cap_jobs) return NULL;
    job *j = &c->jobs[c->n_jobs++];
    memset(j, 0, sizeof *j);
    return j;
}

/* Adds output tensor `out_name` [d0(, d1)] made of the listed sources: a
 * linear weight (in the output dtype), or rows (the word table in the output
 * dtype, everything else f32). */
typedef enum { AS_ROWS, AS_TABLE, AS_LINEAR } emit_kind;

static te_status emit(converter *c, temb_writer *w, const char *out_name, emit_kind kind, int new_block,
                      int nd, uint64_t d0, uint64_t d1, const char *const *srcs, int n_srcs) {
    job *j = new_job(c);
    if (!j) return te_fail(c->err, TE_ERR_ARG, "internal error: more tensors than planned");
    uint64_t part_rows = n_srcs ? d0 / (uint64_t)n_srcs : d0;
    for (int i = 0; i < n_srcs; i++) {
        te_status st = source(c, srcs[i], nd, c->part_rows ? c->part_rows[i] : part_rows, d1, &j->parts[i]);
        if (st != TE_OK) return st;
    }
    j->n_parts = n_srcs;
    j->rows = (te_row_source){nd == 1 ? 1 : (size_t)d0, nd == 1 ? (size_t)d0 : (size_t)d1, job_row, j};
    j->shift = (size_t)c->half_shift * (nd == 1 ? 1 : (size_t)d1);
    if (kind == AS_LINEAR) te_quant_add_linear(w, out_name, c->opts->dtype, &j->rows, new_block);
    else te_quant_add_rows(w, out_name, kind == AS_TABLE ? c->opts->dtype : TE_DTYPE_F32, nd, &j->rows, new_block);
    return TE_OK;
}

/* A linear layer: weight as panels (parts stacked), bias (if the
 * architecture has one here) as one row. */
static te_status emit_linear(converter *c, temb_writer *w, const char *out, int new_block, int bias,
                             uint64_t n_out, uint64_t n_in, const char *const *parts, int n_parts) {
    char wn[TEMB_TENSOR_NAME], bn[TEMB_TENSOR_NAME], ws[MAX_PARTS][256], bs[MAX_PARTS][256];
    const char *wsrc[MAX_PARTS], *bsrc[MAX_PARTS];
    for (int i = 0; i < n_parts; i++) {
        snprintf(ws[i], sizeof ws[i], "%s.weight", parts[i]);
        snprintf(bs[i], sizeof bs[i], "%s.bias", parts[i]);
        wsrc[i] = ws[i];
        bsrc[i] = bs[i];
    }
    snprintf(wn, sizeof wn, "%s.weight", out);
    snprintf(bn, sizeof bn, "%s.bias", out);
    te_status st = emit(c, w, wn, AS_LINEAR, new_block, 2, n_out, n_in, wsrc, n_parts);
    if (st == TE_OK && bias) st = emit(c, w, bn, AS_ROWS, 0, 1, n_out, 0, bsrc, n_parts);
    return st;
}

/* A LayerNorm: weight and bias, or zeros for the bias the config says it has not (ModernBERT). */
static te_status emit_norm(converter *c, temb_writer *w, const char *out, const char *src, uint64_t h, int bias) {
    char on[TEMB_TENSOR_NAME], sn[256];
    const char *s = sn;
    snprintf(on, sizeof on, "%s.weight", out);
    snprintf(sn, sizeof sn, "%s.weight", src);
    te_status st = emit(c, w, on, AS_ROWS, 0, 1, h, 0, &s, 1);
    snprintf(on, sizeof on, "%s.bias", out);
    snprintf(sn, sizeof sn, "%s.bias", src);
    if (st == TE_OK) st = emit(c, w, on, AS_ROWS, 0, 1, h, 0, &s, bias);
    return st;
}

/* The weights: model.safetensors, else pytorch_model.bin (a PyTorch zip
 * checkpoint, read without running its pickle). */
static te_status open_checkpoint(converter *c, const char *hf_dir) {
    char path[4096];
    c->ckpt = "model.safetensors";
    snprintf(path, sizeof path, "%s/%s", hf_dir, c->ckpt);
    te_status st = st_open(&c->st, path, c->err);
    if (st != TE_ERR_NOT_FOUND) return st;
    c->ckpt = "pytorch_model.bin";
    snprintf(path, sizeof path, "%s/%s", hf_dir, c->ckpt);
    st = pt_open(&c->st, path, c->err);
    if (st == TE_ERR_NOT_FOUND)
        st = te_fail(c->err, TE_ERR_NOT_FOUND, "%s: no model.safetensors or pytorch_model.bin (sharded checkpoints, "
                     "*.index.json, are not read)", hf_dir);
    return st;
}

/* bge-m3's heads beside the body, if the directory has them. */
static te_status open_m3_heads(converter *c, const char *hf_dir) {
    for (int i = 0; i < 2; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", hf_dir, m3_files[i]);
        te_status st = pt_open(&c->m3[i], path, c->err);
        if (st != TE_OK && st != TE_ERR_NOT_FOUND) return st;
        if (st == TE_OK && c->opts->note) {
            char msg[256];
            snprintf(msg, sizeof msg, "bge-m3 head: %s (%s output)", m3_files[i], i ? "ColBERT" : "sparse");
            c->opts->note(c->opts->user, msg);
        }
    }
    te_error_clear(c->err);
    return TE_OK;
}

static void note_checkpoint(const converter *c) {
    char msg[256];
    snprintf(msg, sizeof msg, "weights: %s (%s, %zu tensors)", c->ckpt,
             c->st.free_owned ? "a PyTorch checkpoint, its pickle read without running it" : "safetensors", c->st.n);
    c->opts->note(c->opts->user, msg);
}

/* The checkpoint's name prefix ("", "bert.", "model." ...), found from the word embeddings. */
static te_status find_prefix(converter *c, const hf_model *hf) {
    char key[160];
    snprintf(key, sizeof key, "%s.weight", hf->arch->word);
    size_t klen = strlen(key);
    int found = 0;
    for (size_t i = 0; i < c->st.n; i++) {
        const char *name = c->st.tensors[i].name;
        size_t n = strlen(name);
        if (n >= klen && strcmp(name + n - klen, key) == 0 && (n == klen || name[n - klen - 1] == '.')) {
            if (found++) return te_fail(c->err, TE_ERR_FORMAT, "%s holds more than one set of word embeddings", c->ckpt);
            c->prefix = name;
            c->prefix_len = n - klen;
        }
    }
    if (!found)
        return te_fail(c->err, TE_ERR_FORMAT, "%s: tensor %s is missing (with or without a prefix such as 'bert.')",
                       c->ckpt, key);
    return TE_OK;
}

/* A head tensor pair (weight [n, k] and bias [n], zeros without one) stored as f32 rows in
 * every dtype: the head runs once per text, so it is tiny next to the encoder. */
static te_status emit_head_linear(converter *c, temb_writer *w, const char *out, const char *src, int in_body,
                                  int new_block, uint64_t n, uint64_t k, int bias) {
    char on[TEMB_TENSOR_NAME], sn[256];
    const char *s = sn;
    const char *saved = c->prefix;
    if (!in_body) c->prefix = "";
    snprintf(on, sizeof on, "%s.weight", out);
    snprintf(sn, sizeof sn, "%s.weight", src);
    te_status st = emit(c, w, on, AS_ROWS, new_block, 2, n, k, &s, 1);
    snprintf(on, sizeof on, "%s.bias", out);
    snprintf(sn, sizeof sn, "%s.bias", src);
    if (st == TE_OK) st = emit(c, w, on, AS_ROWS, 0, 1, n, 0, &s, bias);
    c->prefix = saved;
    return st;
}

/* bge-m3's sparse and ColBERT heads (FlagEmbedding saves each Linear's
 * {"weight", "bias"} with torch.save): a block after the layers, as
 * quantize lays it out. The sparse head's one row stays f32; ColBERT's
 * [dim, hidden] is a linear in the output dtype, run as a GEMM. */
static te_status add_m3_heads(converter *c, temb_writer *w, uint64_t H) {
    const char *saved_prefix = c->prefix, *saved_ckpt = c->ckpt;
    te_status st = TE_OK;
    int first = 1;
    c->prefix = "";
    for (int i = 0; i < 2 && st == TE_OK; i++) {
        if (!c->m3[i].map) continue;
        c->from = &c->m3[i];
        c->ckpt = m3_files[i];
        const st_tensor *wt = st_find(c->from, "weight");
        uint64_t n = i == 1 && wt && wt->n_dims == 2 ? wt->dims[0] : 1;
        const char *wsrc = "weight", *bsrc = "bias";
        char wn[TEMB_TENSOR_NAME], bn[TEMB_TENSOR_NAME];
        snprintf(wn, sizeof wn, "m3.%s.weight", i == 0 ? "sparse" : "colbert");
        snprintf(bn, sizeof bn, "m3.%s.bias", i == 0 ? "sparse" : "colbert");
        st = emit(c, w, wn, i == 0 ? AS_ROWS : AS_LINEAR, first, 2, n, H, &wsrc, 1);
        if (st == TE_OK) st = emit(c, w, bn, AS_ROWS, 0, 1, n, 0, &bsrc, 1);
        first = 0;
    }
    c->from = &c->st;
    c->prefix = saved_prefix;
    c->ckpt = saved_ckpt;
    return st;
}

/* Whether the checkpoint holds prefix + name + suffix. */
static int has_tensor(const converter *c, const char *name, const char *suffix) {
    char full[512];
    snprintf(full, sizeof full, "%s%s%s", c->prefix, name, suffix);
    return st_find(c->from, full) != NULL;
}

static te_status add_layer(converter *c, temb_writer *w, const hf_model *hf, int l) {
    const hf_arch *a = hf->arch;
    uint64_t H = (uint64_t)hf->hidden, I = (uint64_t)hf->inter;
    char out[64], pre[64], s[MAX_PARTS][128];
    const char *parts[MAX_PARTS] = {s[0], s[1], s[2]};
    snprintf(pre, sizeof pre, a->layer, l);
#define SRC(i, name) snprintf(s[i], sizeof s[i], "%s%s", pre, name)
#define OUT(name) snprintf(out, sizeof out, "layer.%d.%s", l, name)
    /* In forward order; the layer's block starts on a page boundary. */
    OUT("attn.qkv");
    int n_qkv = a->qkv ? 1 : 3;
    if (a->qkv) SRC(0, a->qkv);
    else SRC(0, a->q), SRC(1, a->k), SRC(2, a->v);
    uint64_t d = (uint64_t)hf->head_dim, q_rows = (uint64_t)hf->heads * d, kv_rows = (uint64_t)hf->kv_heads * d;
    const uint64_t rows[3] = {q_rows, kv_rows, kv_rows}; /* grouped-query attention: fewer key/value rows */
    c->part_rows = n_qkv == 3 ? rows : NULL;
    te_status st = emit_linear(c, w, out, 1, hf->qkv_bias, q_rows + 2 * kv_rows, H, parts, n_qkv);
    c->part_rows = NULL;
    OUT("attn.out"), SRC(0, a->attn_out);
    if (st == TE_OK) st = emit_linear(c, w, out, 0, hf->out_bias, H, q_rows, parts, 1);
    for (int qk = 0; qk < 2 && a->q_norm && st == TE_OK; qk++) { /* Qwen3's RMSNorm of each head */
        const char *src_name = s[0];
        OUT(qk ? "attn.k_norm.weight" : "attn.q_norm.weight"), SRC(0, qk ? a->k_norm : a->q_norm);
        strcat(s[0], ".weight");
        st = emit(c, w, out, AS_ROWS, 0, 1, d, 0, &src_name, 1);
    }
    OUT("attn.norm"), SRC(0, a->attn_norm);
    if (st == TE_OK && !(a->prenorm && l == 0 && !has_tensor(c, s[0], ".weight"))) /* ModernBERT's layer 0 has none */
        st = emit_norm(c, w, out, s[0], H, hf->norm_bias);
    OUT("ffn.up");
    int up_parts = hf->gated && !a->up_gate_first ? 2 : 1;
    if (up_parts == 2) SRC(0, a->up_gated), SRC(1, a->gate);
    else SRC(0, a->up);
    c->half_shift = a->up_gate_first ? (size_t)I : 0; /* [value; gate], as the forward pass reads it */
    if (st == TE_OK) st = emit_linear(c, w, out, 0, hf->up_bias, hf->gated ? 2 * I : I, H, parts, up_parts);
    c->half_shift = 0;
    OUT("ffn.down"), SRC(0, a->down);
    if (st == TE_OK) st = emit_linear(c, w, out, 0, hf->down_bias, H, I, parts, 1);
    OUT("ffn.norm"), SRC(0, a->ffn_norm);
    if (st == TE_OK) st = emit_norm(c, w, out, s[0], H, hf->norm_bias);
#undef SRC
#undef OUT
    return st;
}

static te_status add_tensors(converter *c, temb_writer *w, const hf_model *hf) {
    const hf_arch *a = hf->arch;
    char pre[512];
    snprintf(pre, sizeof pre, "%.*s", (int)c->prefix_len, c->prefix);
    c->prefix = pre;
    uint64_t H = (uint64_t)hf->hidden;
    c->cap_jobs = TENSORS_EMBED + TENSORS_PER_LAYER * (size_t)hf->layers + TENSORS_HEAD;
    if (!(c->jobs = calloc(c->cap_jobs, sizeof *c->jobs))) return te_fail(c->err, TE_ERR_NOMEM, "out of memory");
    char word[128], pos[128], type[128], rel[128], norm[128];
    /* The tokenizer's blobs first: tokenizing comes before anything else reads the file. */
    if (hf->charsmap) te_quant_add_bytes(w, "tokenizer.charsmap", hf->charsmap, hf->charsmap_len, 0);
    if (hf->trie) te_quant_add_bytes(w, "tokenizer.trie", hf->trie, hf->trie_units * 4, 0);
    if (hf->scores) te_quant_add_bytes(w, "tokenizer.scores", hf->scores, (size_t)hf->n_tokens * 8, 0);
    if (hf->merges) te_quant_add_bytes(w, "tokenizer.merges", hf->merges, hf->merges_len, 0);
    snprintf(word, sizeof word, "%s.weight", a->word);
    const char *src = word;
    te_status st = emit(c, w, "embeddings.word", AS_TABLE, 1, 2, (uint64_t)hf->vocab_size, H, &src, 1);
    if (st == TE_OK && a->position_table) {
        snprintf(pos, sizeof pos, "%s.weight", a->position_table);
        src = pos;
        st = emit(c, w, "embeddings.position", AS_ROWS, 0, 2, (uint64_t)hf->max_pos, H, &src, 1);
    }
    if (st == TE_OK && a->token_type && hf->type_vocab > 0) {
        snprintf(type, sizeof type, "%s.weight", a->token_type);
        src = type;
        st = emit(c, w, "embeddings.token_type", AS_ROWS, 0, 2, (uint64_t)hf->type_vocab, H, &src, 1);
    }
    if (st == TE_OK && a->emb_norm) { /* decoders have none */
        snprintf(norm, sizeof norm, "%s", a->emb_norm);
        st = emit_norm(c, w, "embeddings.norm", norm, H, hf->norm_bias);
    }
    if (st == TE_OK && a->rel_bias) {
        snprintf(rel, sizeof rel, "%s.weight", a->rel_bias);
        src = rel;
        st = emit(c, w, "embeddings.relative_bias", AS_ROWS, 0, 2, (uint64_t)hf->rel_buckets, (uint64_t)hf->heads, &src, 1);
    }
    for (int l = 0; l < hf->layers && st == TE_OK; l++) st = add_layer(c, w, hf, l);
    if (st == TE_OK && a->final_norm) st = emit_norm(c, w, "final.norm", a->final_norm, H, hf->norm_bias);
    if (st == TE_OK && hf->kind == TE_KIND_EMBEDDING) st = add_m3_heads(c, w, H);
    if (st == TE_OK && hf->kind != TE_KIND_EMBEDDING) {
        /* The head is a block of its own, after the layers (as quantize lays it out). */
        st = emit_head_linear(c, w, "head.dense", a->head_dense, a->head_dense_in_body, 1, H, H, hf->head_bias);
        if (st == TE_OK && a->head_norm) { /* ModernBERT's, not under the body's prefix */
            const char *saved = c->prefix;
            c->prefix = "";
            st = emit_norm(c, w, "head.norm", a->head_norm, H, hf->norm_bias);
            c->prefix = saved;
        }
        if (st == TE_OK) st = emit_head_linear(c, w, "head.out", a->head_out, 0, 0, (uint64_t)hf->num_labels, H, 1);
    }
    return st;
}

/* The rows te_warmup pages in. WordPiece vocabularies (BERT's and those
 * trained like it) list whole words by decreasing corpus frequency, so the
 * lowest ids are the most used: the first TEMB_HOT_ROWS ids cover 82-88% of the
 * tokens of real English text (measured on the GPL and the test sentences)
 * with a quarter of all-MiniLM-L6-v2's table. [unusedN] placeholders, which
 * no text produces, are left out. */
static void set_hot_rows(temb_writer *w, const hf_model *hf) {
    uint32_t *ids = malloc(TEMB_HOT_ROWS * sizeof *ids), n = 0;
    if (!ids) {
        temb_fail(w, TE_ERR_NOMEM, "out of memory");
        return;
    }
    for (uint32_t i = 0; i < hf->n_tokens && n < TEMB_HOT_ROWS; i++)
        if (!(hf->token_lens[i] > 7 && memcmp(hf->tokens[i], "[unused", 7) == 0)) ids[n++] = i;
    temb_set_hot_rows(w, ids, n);
    free(ids);
}

static void add_head_metadata(temb_writer *w, const hf_model *hf) {
    temb_kv_u32(w, "head.num_labels", (uint32_t)hf->num_labels);
    temb_kv_str(w, "head.score", te_score_fn_name(hf->score));
    temb_kv_str(w, "head.dense_activation", hf->head_act);
    if (hf->head_mean) temb_kv_str(w, "head.pooling", "mean");
    /* Names one per line; a label id2label leaves out is called LABEL_i, as transformers does. */
    size_t len = 1;
    for (int i = 0; i < hf->num_labels; i++) len += (hf->labels[i] ? strlen(hf->labels[i]) : 16) + 1;
    char *names = malloc(len), *p = names;
    if (!names) {
        temb_fail(w, TE_ERR_NOMEM, "out of memory");
        return;
    }
    for (int i = 0; i < hf->num_labels; i++) {
        if (hf->labels[i]) p += sprintf(p, "%s%s", hf->labels[i], i + 1 < hf->num_labels ? "\n" : "");
        else p += sprintf(p, "LABEL_%d%s", i, i + 1 < hf->num_labels ? "\n" : "");
    }
    *p = '\0';
    temb_kv_str(w, "head.labels", names);
    free(names);
}

static void add_metadata(temb_writer *w, const hf_model *hf, const char *dir, const te_convert_opts *o) {
    char name[256];
    if (o->name) {
        snprintf(name, sizeof name, "%s", o->name);
    } else {
        size_t n = strlen(dir);
        while (n > 1 && dir[n - 1] == '/') n--;
        size_t b = n;
        while (b > 0 && dir[b - 1] != '/') b--;
        snprintf(name, sizeof name, "%.*s", (int)(n - b), dir + b);
    }
    temb_kv_str(w, "model.arch", hf->arch->model_type);
    temb_kv_str(w, "model.kind", te_kind_name(hf->kind));
    temb_kv_str(w, "model.position", te_position_name(hf->position));
    temb_kv_str(w, "general.name", name);
    temb_kv_str(w, "general.source", dir);
    temb_kv_str(w, "general.converter", "tinyembed " TE_VERSION_STRING);
    temb_kv_str(w, "weights.dtype", te_dtype_name(o->dtype));
    temb_kv_u32(w, "model.hidden_size", (uint32_t)hf->hidden);
    temb_kv_u32(w, "model.num_layers", (uint32_t)hf->layers);
    temb_kv_u32(w, "model.num_heads", (uint32_t)hf->heads);
    temb_kv_u32(w, "model.intermediate_size", (uint32_t)hf->inter);
    temb_kv_u32(w, "model.vocab_size", (uint32_t)hf->vocab_size);
    temb_kv_u32(w, "model.max_position", (uint32_t)hf->max_pos);
    temb_kv_u32(w, "model.type_vocab_size", (uint32_t)hf->type_vocab);
    temb_kv_u32(w, "model.max_seq_length", (uint32_t)hf->max_seq);
    temb_kv_f32(w, "model.layer_norm_eps", hf->eps);
    temb_kv_str(w, "model.activation", te_activation_name(hf->act));
    /* Classifiers say "head": a reader older than 1.2 refuses the file rather
     * than embedding with a classifier's encoder. */
    temb_kv_str(w, "pooling.mode", hf->kind == TE_KIND_EMBEDDING ? te_pooling_name(hf->pooling) : "head");
    if (hf->position == TE_POS_RELATIVE) {
        temb_kv_u32(w, "model.relative_buckets", (uint32_t)hf->rel_buckets);
        temb_kv_u32(w, "model.relative_max_distance", (uint32_t)hf->rel_max_distance);
    }
    if (hf->pos_offset) temb_kv_u32(w, "model.position_offset", (uint32_t)hf->pos_offset);
    if (hf->pos_pad_id >= 0) temb_kv_u32(w, "model.position_pad_id", (uint32_t)hf->pos_pad_id);
    if (hf->position == TE_POS_ROTARY) {
        temb_kv_u32(w, "model.rotary_dims", (uint32_t)hf->rotary_dims);
        temb_kv_f32(w, "model.rotary_base", hf->rotary_base);
    }
    if (hf->arch->prenorm) temb_kv_u32(w, "model.norm_first", 1);
    if (hf->head_dim * hf->heads != hf->hidden || hf->kv_heads != hf->heads) {
        temb_kv_u32(w, "model.head_dim", (uint32_t)hf->head_dim);
        temb_kv_u32(w, "model.kv_heads", (uint32_t)hf->kv_heads);
    }
    if (hf->arch->causal) temb_kv_u32(w, "model.causal", 1);
    if (hf->arch->rms_norm) temb_kv_u32(w, "model.rms_norm", 1);
    if (hf->global_every > 1) {
        temb_kv_u32(w, "model.local_window", (uint32_t)hf->local_window);
        temb_kv_u32(w, "model.global_every", (uint32_t)hf->global_every);
        temb_kv_f32(w, "model.rotary_base_local", hf->rotary_base_local);
    }
    temb_kv_u32(w, "model.gated_ffn", (uint32_t)hf->gated);
    if (hf->kind != TE_KIND_EMBEDDING) add_head_metadata(w, hf);
    temb_kv_str(w, "tokenizer.template_single", hf->tmpl_single);
    temb_kv_str(w, "tokenizer.template_pair", hf->tmpl_pair);
    temb_kv_u32(w, "pooling.normalize", (uint32_t)hf->normalize);
    temb_kv_u32(w, "tokenizer.lowercase", (uint32_t)hf->lowercase);
    temb_kv_u32(w, "tokenizer.strip_accents", (uint32_t)hf->strip_accents);
    temb_kv_u32(w, "tokenizer.chinese_chars", (uint32_t)hf->chinese_chars);
    temb_kv_u32(w, "tokenizer.clean_text", (uint32_t)hf->clean_text);
    temb_kv_u32(w, "tokenizer.max_chars_per_word", (uint32_t)hf->max_chars);
    /* Readers before 1.3 need it; a Unigram or BPE file they must refuse. */
    if (!hf->unigram && !hf->bpe) temb_kv_str(w, "tokenizer.subword_prefix", hf->prefix);
    if (hf->pipeline) temb_kv_str(w, "tokenizer.pipeline", hf->pipeline);
    if (hf->prompts) temb_kv_str(w, "prompts", hf->prompts);
    if (hf->default_prompt) temb_kv_str(w, "prompts.default", hf->default_prompt);
    const struct { const char *key; int32_t id; } ids[] = {
        {"tokenizer.cls_id", hf->cls}, {"tokenizer.sep_id", hf->sep}, {"tokenizer.pad_id", hf->pad},
        {"tokenizer.unk_id", hf->unk}, {"tokenizer.mask_id", hf->mask},
    };
    for (size_t i = 0; i < sizeof ids / sizeof *ids; i++)
        temb_kv_u32(w, ids[i].key, ids[i].id < 0 ? 0xFFFFFFFFu : (uint32_t)ids[i].id);
    temb_set_vocab(w, hf->tokens, hf->token_lens, hf->n_tokens);
    set_hot_rows(w, hf);
    for (uint32_t i = 0; i < hf->n_added; i++)
        temb_add_added_token(w, hf->added[i].id, hf->added[i].flags, hf->added[i].content);
}

/* The writer refuses metadata the reader would ("metadata KEY: ..."); say
 * which of the inputs the key came from. */
static void name_source(te_error *err) {
    static const struct { const char *key, *input; } from[] = {
        {"tokenizer.template_", "tokenizer.json (post_processor)"},
        {"tokenizer.", "the tokenizer files"},
        {"pooling.", "the sentence-transformers files"},
        {"prompts", "config_sentence_transformers.json"},
        {"weights.dtype", "the output dtype"},
        {"model.max_seq_length", "the maximum sequence length (sentence_bert_config.json or --max-seq-length)"},
        {"", "config.json"},
    };
    if (!err || strncmp(err->msg, "metadata ", 9) != 0) return;
    for (size_t i = 0; i < sizeof from / sizeof *from; i++)
        if (strncmp(err->msg + 9, from[i].key, strlen(from[i].key)) == 0) {
            te_error_prefix(err, "%s", from[i].input);
            return;
        }
}

void te_convert_opts_default(te_convert_opts *o) {
    memset(o, 0, sizeof *o);
    o->dtype = TE_DTYPE_F32;
    o->pooling = -1;
    o->normalize = -1;
}

te_status te_convert(const char *hf_dir, const char *out_path, const te_convert_opts *opts, te_error *err) {
    te_error_clear(err);
    te_convert_opts defaults;
    if (!opts) {
        te_convert_opts_default(&defaults);
        opts = &defaults;
    }
    if (!hf_dir || !out_path) return te_fail(err, TE_ERR_ARG, "te_convert: directory and output path are required");
    if (opts->dtype != TE_DTYPE_F32 && opts->dtype != TE_DTYPE_F16 && opts->dtype != TE_DTYPE_I8 &&
        opts->dtype != TE_DTYPE_BF16)
        return te_fail(err, TE_ERR_ARG, "unknown output dtype %d", (int)opts->dtype);
    hf_model hf;
    converter c = {.opts = opts, .err = err};
    c.st.fd = c.m3[0].fd = c.m3[1].fd = -1;
    c.from = &c.st;
    temb_writer *w = NULL;
    te_calib_plan calib;
    te_status st = hf_load(&hf, hf_dir, opts, err);
    if (st == TE_OK) st = open_checkpoint(&c, hf_dir);
    if (st == TE_OK && opts->note) note_checkpoint(&c);
    if (st == TE_OK && hf.kind == TE_KIND_EMBEDDING) st = open_m3_heads(&c, hf_dir);
    if (st == TE_OK) st = find_prefix(&c, &hf);
    if (st == TE_OK && !(w = temb_writer_new())) st = te_fail(err, TE_ERR_NOMEM, "out of memory");
    if (st == TE_OK) {
        add_metadata(w, &hf, hf_dir, opts);
        st = add_tensors(&c, w, &hf);
        /* Last, as te_quantize and te_calibrate declare it: the same file from every path. */
        if (hf.kind == TE_KIND_EMBEDDING)
            te_calib_declare(w, &calib, opts->calibration_texts, opts->n_calibration_texts, (uint64_t)hf.hidden);
    }
    if (st == TE_OK && opts->note) {
        for (size_t i = 0; i < c.st.n; i++) {
            if (c.st.tensors[i].used) continue;
            char msg[512], shape[128];
            shape_str(shape, sizeof shape, c.st.tensors[i].n_dims, c.st.tensors[i].dims);
            snprintf(msg, sizeof msg, "ignored tensor %s [%s] (not used by the encoder)", c.st.tensors[i].name, shape);
            opts->note(opts->user, msg);
        }
    }
    if (st == TE_OK && (st = temb_write(w, out_path, opts->progress, opts->user, err)) == TE_ERR_FORMAT) name_source(err);
    temb_writer_free(w);
    free(c.jobs);
    st_close(&c.st);
    st_close(&c.m3[0]);
    st_close(&c.m3[1]);
    hf_free(&hf);
    return st;
}
