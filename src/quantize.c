/*
 * quantize.c - rewriting a .temb file: te_quantize (an f32 file in, the same
 * model with f16, bf16 or int8 weights out) and te_calibrate (the same model
 * with a new output range).
 *
 * Metadata, vocabulary, added tokens and hot rows are copied entry by entry
 * through the writer. To quantize, each tensor is read back as f32 rows and
 * declared through quant.c, exactly as the converter declares it, so the two
 * paths give identical files; to calibrate, tensors are copied as they are.
 * Either way an embedding model's range is calibrated again, last, on the
 * model written (calibrate.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "calibrate.h"
#include "format_util.h"
#include "internal.h"
#include "model.h"
#include "model_meta.h"
#include "quant.h"
#include "temb_writer.h"

typedef struct source {
    te_row_source rows;
    const te_tensor *t;
} source;

/* Row r of an f32 tensor, in rows or panel16 layout. */
static void tensor_row(const void *user, size_t r, float *dst) {
    const source *s = user;
    const float *f = s->t->data;
    size_t k = s->rows.k;
    if (s->t->layout == TE_LAYOUT_ROWS) {
        memcpy(dst, f + r * k, k * sizeof *dst);
        return;
    }
    const float *panel = f + (r / TEMB_PANEL) * k * TEMB_PANEL + r % TEMB_PANEL;
    for (size_t c = 0; c < k; c++) dst[c] = panel[c * TEMB_PANEL];
}

/* META: every entry as it was, in order, but the weight dtype and the range's (declared again). */
static te_status copy_meta(const te_model *m, temb_writer *w, te_dtype dtype, te_error *err) {
    te_meta_entry *e;
    size_t n;
    te_status st = te_meta_read(m, &e, &n, err);
    if (st != TE_OK) return st;
    for (size_t i = 0; i < n; i++) {
        char key[TEMB_MAX_KEY + 1];
        snprintf(key, sizeof key, "%.*s", (int)e[i].key_len, e[i].key);
        if (strcmp(key, TEMB_RANGE_TEXTS_KEY) == 0) {
            continue;
        } else if (strcmp(key, "weights.dtype") == 0) {
            temb_kv_str(w, key, te_dtype_name(dtype));
        } else if (e[i].type == TEMB_KV_U32) {
            temb_kv_u32(w, key, e[i].u32);
        } else if (e[i].type == TEMB_KV_F32) {
            float f;
            memcpy(&f, &e[i].u32, 4);
            temb_kv_f32(w, key, f);
        } else {
            char *v = malloc((size_t)e[i].str_len + 1);
            if (!v) {
                free(e);
                return te_fail(err, TE_ERR_NOMEM, "out of memory");
            }
            memcpy(v, e[i].str, e[i].str_len);
            v[e[i].str_len] = '\0';
            temb_kv_str(w, key, v);
            free(v);
        }
    }
    free(e);
    return TE_OK;
}

/* What the writer needs until temb_write returns. */
typedef struct job {
    const char **tokens;
    uint32_t *lens;
    uint32_t *hot;
    source *sources;
} job;

static void job_free(job *j) {
    free(j->tokens);
    free(j->lens);
    free(j->hot);
    free(j->sources);
}

static te_status copy_tokenizer(const te_model *m, temb_writer *w, job *j, te_error *err) {
    uint32_t n = m->vocab.n;
    j->tokens = calloc(n ? n : 1, sizeof *j->tokens);
    j->lens = calloc(n ? n : 1, sizeof *j->lens);
    j->hot = calloc(m->n_hot ? m->n_hot : 1, sizeof *j->hot);
    if (!j->tokens || !j->lens || !j->hot) return te_fail(err, TE_ERR_NOMEM, "out of memory");
    for (uint32_t i = 0; i < n; i++) {
        size_t len = 0;
        j->tokens[i] = te_vocab_token(&m->vocab, i, &len);
        if (!j->tokens[i]) return te_fail(err, TE_ERR_FORMAT, "%s: vocabulary entry %u is damaged", m->path, i);
        j->lens[i] = (uint32_t)len;
    }
    temb_set_vocab(w, j->tokens, j->lens, n);
    for (int i = 0; i < m->info.tokenizer.n_added_tokens; i++) {
        char text[TEMB_MAX_ADDED_LEN + 1];
        const te_added_token *a = &m->added[i];
        if (a->len >= sizeof text) return te_fail(err, TE_ERR_FORMAT, "%s: added token %d is too long", m->path, i);
        memcpy(text, a->text, a->len);
        text[a->len] = '\0';
        temb_add_added_token(w, a->id, a->flags, text);
    }
    for (uint32_t i = 0; i < m->n_hot; i++) j->hot[i] = te_le32(m->hot + 4 * (size_t)i);
    if (m->hot) temb_set_hot_rows(w, j->hot, m->n_hot);
    return TE_OK;
}

/* The layer a tensor belongs to ("layer.N."), -1 for the embeddings. */
static long layer_of(const char *name) {
    return strncmp(name, "layer.", 6) == 0 ? strtol(name + 6, NULL, 10) : -1;
}

/* temb_fill_fn: a tensor's bytes as the input file holds them. */
static te_status copy_bytes(void *user, void *dst, size_t bytes, te_error *err) {
    (void)err;
    memcpy(dst, ((const te_tensor *)user)->data, bytes);
    return TE_OK;
}

/* Every tensor but the range, quantized to `dtype` (f32 input) or, when it is the file's own dtype, copied. */
static te_status add_tensors(const te_model *m, temb_writer *w, te_dtype dtype, job *j, te_error *err) {
    j->sources = calloc(m->n_tensors, sizeof *j->sources);
    if (!j->sources) return te_fail(err, TE_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < m->n_tensors; i++) {
        const te_tensor *t = &m->tensors[i];
        source *s = &j->sources[i];
        if (strcmp(t->name, TEMB_RANGE_TENSOR) == 0) continue;
        int nd = t->n_dims;
        s->t = t;
        s->rows = (te_row_source){nd == 1 ? 1 : (size_t)t->dims[0], nd == 1 ? (size_t)t->dims[0] : (size_t)t->dims[1],
                                  tensor_row, s};
        /* Same blocks as the converter: the tokenizer's blobs, the embeddings, one per layer, the heads. */
        int new_block = i == 0 || layer_of(t->name) != layer_of(m->tensors[i - 1].name) ||
                        (m->tensors[i - 1].dtype == TE_DTYPE_U8 && t->dtype != TE_DTYPE_U8);
        if (dtype == m->info.dtype) temb_add_tensor(w, t->name, t->dtype, t->layout, nd, t->dims, new_block, copy_bytes,
                                                    (void *)t);
        else if (t->dtype == TE_DTYPE_U8) te_quant_add_bytes(w, t->name, t->data, (size_t)t->bytes, 0); /* the tokenizer's */
        else if (t->layout == TE_LAYOUT_PANEL16) te_quant_add_linear(w, t->name, dtype, &s->rows, new_block);
        else if (strcmp(t->name, "embeddings.word") == 0) te_quant_add_rows(w, t->name, dtype, nd, &s->rows, new_block);
        else te_quant_add_rows(w, t->name, TE_DTYPE_F32, nd, &s->rows, new_block);
    }
    return TE_OK;
}

/* in_path rewritten with its weights in `dtype` (quantize) or as they are (calibrate), and an embedding model's
 * range calibrated on texts (NULL: the built-in sample). */
static te_status rewrite(const char *in_path, const char *out_path, int quantize, te_dtype dtype,
                         const char *const *texts, size_t n, void (*progress)(void *, uint64_t, uint64_t), void *user,
                         te_error *err) {
    te_open_opts o = {.verify_checksums = 1}; /* rewriting damaged weights would hide the damage */
    te_model *m = te_open(in_path, &o, err);
    if (!m) return err ? err->code : TE_ERR_IO;
    te_status st = TE_OK;
    if (quantize && m->info.dtype != TE_DTYPE_F32)
        st = te_fail(err, TE_ERR_UNSUPPORTED, "%s holds %s weights; te_quantize reads f32 files (convert from the "
                     "Hugging Face model with --dtype instead)", in_path, te_dtype_name(m->info.dtype));
    if (!quantize && m->info.kind != TE_KIND_EMBEDDING)
        st = te_fail(err, TE_ERR_ARG, "%s is a %s: only embedding models have an output range to calibrate", in_path,
                     te_kind_name(m->info.kind));
    if (!quantize) dtype = m->info.dtype;
    temb_writer *w = NULL;
    job j = {0};
    te_calib_plan calib;
    if (st == TE_OK && !(w = temb_writer_new())) st = te_fail(err, TE_ERR_NOMEM, "out of memory");
    if (st == TE_OK) st = copy_meta(m, w, dtype, err);
    if (st == TE_OK) st = copy_tokenizer(m, w, &j, err);
    if (st == TE_OK) st = add_tensors(m, w, dtype, &j, err);
    if (st == TE_OK && m->info.kind == TE_KIND_EMBEDDING)
        te_calib_declare(w, &calib, texts, n, (uint64_t)m->info.hidden_size);
    if (st == TE_OK) st = temb_write(w, out_path, progress, user, err);
    temb_writer_free(w);
    job_free(&j);
    te_close(m);
    return st;
}

te_status te_quantize(const char *in_path, const char *out_path, te_dtype dtype,
                      void (*progress)(void *user, uint64_t done, uint64_t total), void *user, te_error *err) {
    te_error_clear(err);
    if (!in_path || !out_path) return te_fail(err, TE_ERR_ARG, "te_quantize: input and output paths are required");
    if (dtype != TE_DTYPE_F16 && dtype != TE_DTYPE_BF16 && dtype != TE_DTYPE_I8)
        return te_fail(err, TE_ERR_ARG, "te_quantize: the output dtype must be f16, bf16 or int8 (got %s)",
                       te_dtype_name(dtype));
    return rewrite(in_path, out_path, 1, dtype, NULL, 0, progress, user, err);
}

te_status te_calibrate(const char *in_path, const char *out_path, const char *const *texts, size_t n,
                       te_error *err) {
    te_error_clear(err);
    if (!in_path || !out_path) return te_fail(err, TE_ERR_ARG, "te_calibrate: input and output paths are required");
    if (texts && n == 0) return te_fail(err, TE_ERR_ARG, "te_calibrate: no texts to calibrate on");
    return rewrite(in_path, out_path, 0, TE_DTYPE_F32, texts, n, NULL, NULL, err);
}
