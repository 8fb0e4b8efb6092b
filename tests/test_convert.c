/*
 * test_convert.c - te_convert: every stored value traced back to the
 * checkpoint (panel layout, Q/K/V stacking), half-precision and prefixed
 * checkpoints, overrides, and one specific error per kind of broken input,
 * each leaving no output file behind.
 */
#include <sys/stat.h>
#include <unistd.h>

#include "half.h"
#include "harness.h"
#include "internal.h"
#include "model.h"
#include "safetensors.h"
#include "tinyembed.h"

static char hf_tiny[1024], tmpdir[] = "/tmp/te_convert_XXXXXX", out_path[1200];

static float st_value(const st_tensor *t, size_t i) {
    if (strcmp(t->dtype, "F32") == 0) return te_bits_to_f32(te_le32(t->data + 4 * i));
    if (strcmp(t->dtype, "F16") == 0) return te_f16_to_f32(te_le16(t->data + 2 * i));
    return te_bf16_to_f32(te_le16(t->data + 2 * i));
}

/* Equal up to a relative tolerance; the absolute term covers half-precision subnormals. */
static int close_to(float got, float want, double tol) { return fabs(got - want) <= tol * (fabs(want) + 1e-4); }

static int file_exists(const char *p) {
    struct stat st;
    return stat(p, &st) == 0;
}

/* No output and no leftover temporary file. */
static int nothing_left(void) {
    char part[1300];
    snprintf(part, sizeof part, "%s.part", out_path);
    return !file_exists(out_path) && !file_exists(part);
}

static te_status convert(const char *dir, te_error *err) {
    unlink(out_path);
    return te_convert(dir, out_path, NULL, err);
}

/* Compares a panel-stored linear weight with its source rows (stacked). */
static int check_panels(const te_tensor *t, const st_tensor *const *parts, int n_parts, double rel_tol) {
    size_t K = (size_t)t->dims[1], n = 0;
    const float *w = t->data;
    for (int p = 0; p < n_parts; p++) {
        for (size_t r = 0; r < (size_t)parts[p]->dims[0]; r++, n++) {
            for (size_t k = 0; k < K; k++) {
                float got = w[(n / 16) * K * 16 + k * 16 + n % 16], want = st_value(parts[p], r * K + k);
                if (!close_to(got, want, rel_tol)) {
                    printf("  %s[%zu][%zu]: %g != %g\n", t->name, n, k, got, want);
                    return 0;
                }
            }
        }
    }
    return 1;
}

/* Checks every tensor of `temb` against the checkpoint in `hf_dir`. */
static void check_against_checkpoint(const char *temb, const char *hf_dir, const char *prefix, double tol, int *ok) {
    *ok = 0;
    te_error err;
    te_model *m = te_open(temb, NULL, &err);
    if (!m) { printf("  open: %s\n", err.msg); return; }
    char path[1200];
    snprintf(path, sizeof path, "%s/model.safetensors", hf_dir);
    st_file st;
    if (st_open(&st, path, &err) != TE_OK) { printf("  %s\n", err.msg); te_close(m); return; }
    char n[3][256];
    const st_tensor *parts[3];
    int good = 1;
    for (int l = 0; l < m->info.num_layers && good; l++) {
        snprintf(n[0], 256, "%sencoder.layer.%d.attention.self.query.weight", prefix, l);
        snprintf(n[1], 256, "%sencoder.layer.%d.attention.self.key.weight", prefix, l);
        snprintf(n[2], 256, "%sencoder.layer.%d.attention.self.value.weight", prefix, l);
        for (int i = 0; i < 3; i++) parts[i] = st_find(&st, n[i]);
        char tn[64];
        snprintf(tn, sizeof tn, "layer.%d.attn.qkv.weight", l);
        good = parts[0] && parts[1] && parts[2] && check_panels(te_model_find_tensor(m, tn), parts, 3, tol);
        snprintf(n[0], 256, "%sencoder.layer.%d.output.dense.weight", prefix, l);
        snprintf(tn, sizeof tn, "layer.%d.ffn.down.weight", l);
        parts[0] = st_find(&st, n[0]);
        good = good && parts[0] && check_panels(te_model_find_tensor(m, tn), parts, 1, tol);
        snprintf(n[0], 256, "%sencoder.layer.%d.attention.self.value.bias", prefix, l);
        snprintf(tn, sizeof tn, "layer.%d.attn.qkv.bias", l);
        const st_tensor *vb = st_find(&st, n[0]);
        const float *qkv_b = te_model_find_tensor(m, tn)->data;
        for (size_t i = 0; good && vb && i < (size_t)vb->dims[0]; i++)
            good = close_to(qkv_b[2 * vb->dims[0] + i], st_value(vb, i), tol);
    }
    snprintf(n[0], 256, "%sembeddings.word_embeddings.weight", prefix);
    const st_tensor *we = st_find(&st, n[0]);
    for (size_t i = 0; good && we && i < we->bytes / we->elem_size; i += 7)
        good = close_to(((const float *)m->word_emb)[i], st_value(we, i), tol);
    *ok = good && we;
    st_close(&st);
    te_close(m);
}

TEST(f32_values_traced_to_checkpoint) {
    char temb[1024];
    int ok;
    check_against_checkpoint(th_path(temb, sizeof temb, "TE_TESTDATA", "tiny-mean.temb"), hf_tiny, "", 0.0, &ok);
    CHECK(ok);
}

TEST(f16_checkpoint_converts_exactly) {
    char dir[1024];
    te_error err;
    CHECK_MSG(convert(th_path(dir, sizeof dir, "TE_HF", "tiny-f16"), &err) == TE_OK, "%s", err.msg);
    int ok;
    check_against_checkpoint(out_path, dir, "", 0.0, &ok); /* f16 -> f32 is exact */
    CHECK(ok);
    /* And the f16 weights are the f32 ones rounded. */
    char f32[1024];
    check_against_checkpoint(out_path, th_path(f32, sizeof f32, "TE_HF", "tiny-mean"), "", 1.0 / 2048, &ok);
    CHECK(ok);
}

TEST(bf16_checkpoint_with_bert_prefix) {
    char dir[1024];
    te_error err;
    CHECK_MSG(convert(th_path(dir, sizeof dir, "TE_HF", "tiny-bf16"), &err) == TE_OK, "%s", err.msg);
    int ok;
    check_against_checkpoint(out_path, dir, "bert.", 0.0, &ok);
    CHECK(ok);
    char f32[1024];
    check_against_checkpoint(out_path, th_path(f32, sizeof f32, "TE_HF", "tiny-mean"), "", 1.0 / 256, &ok);
    CHECK(ok);
}

static void note_count(void *user, const char *msg) {
    if (strstr(msg, "ignored tensor")) ++*(int *)user;
}

TEST(overrides_and_notes) {
    te_convert_opts o;
    te_convert_opts_default(&o);
    o.name = "renamed";
    o.pooling = TE_POOL_CLS;
    o.normalize = 0;
    o.max_seq_length = 64;
    int ignored = 0;
    o.note = note_count;
    o.user = &ignored;
    te_error err;
    CHECK_MSG(te_convert(hf_tiny, out_path, &o, &err) == TE_OK, "%s", err.msg);
    CHECK_EQ_INT(ignored, 3); /* position_ids, pooler weight and bias */
    te_model *m = te_open(out_path, NULL, &err);
    CHECK(m);
    te_model_info in;
    te_model_get_info(m, &in);
    CHECK_STR_EQ(in.name, "renamed");
    CHECK_EQ_INT(in.pooling, TE_POOL_CLS);
    CHECK_EQ_INT(in.normalize, 0);
    CHECK_EQ_INT(in.max_seq_length, 64);
    te_close(m);
    o.max_seq_length = 4096;
    CHECK(te_convert(hf_tiny, out_path, &o, &err) == TE_ERR_ARG);
    CHECK_HAS(err.msg, "exceeds the 128 positions the model has");
}

/* A scratch model directory: symlinks to the tiny model's files, so a test
 * can replace just the file it breaks. */
static void make_dir(char *dir, size_t cap, const char *name) {
    snprintf(dir, cap, "%s/%s", tmpdir, name);
    mkdir(dir, 0755);
    static const char *const files[] = {"config.json", "model.safetensors", "vocab.txt", "tokenizer.json",
                                        "tokenizer_config.json", "special_tokens_map.json", "modules.json",
                                        "sentence_bert_config.json", "1_Pooling", "2_Normalize"};
    for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
        char src[1200], dst[1200];
        snprintf(src, sizeof src, "%s/%s", hf_tiny, files[i]);
        snprintf(dst, sizeof dst, "%s/%s", dir, files[i]);
        unlink(dst);
        if (symlink(src, dst) != 0) perror("symlink");
    }
}

static void replace_file(const char *dir, const char *name, const char *text, size_t len) {
    char p[1200];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    unlink(p);
    th_write_file(p, text, len);
}

/* Rewrites model.safetensors with one tensor renamed, reshaped or retyped. */
static void rewrite_safetensors(const char *dir, const char *victim, const char *new_name, const char *new_shape,
                                const char *new_dtype) {
    char src[1200], hdr[1 << 16];
    snprintf(src, sizeof src, "%s/model.safetensors", hf_tiny);
    st_file st;
    te_error err;
    if (st_open(&st, src, &err) != TE_OK) { printf("%s\n", err.msg); exit(2); }
    size_t n = 0, off = 0;
    n += (size_t)snprintf(hdr + n, sizeof hdr - n, "{");
    for (size_t i = 0; i < st.n; i++) {
        const st_tensor *t = &st.tensors[i];
        int is_victim = strcmp(t->name, victim) == 0;
        char shape[128] = "";
        for (int d = 0; d < t->n_dims; d++)
            snprintf(shape + strlen(shape), sizeof shape - strlen(shape), "%s%llu", d ? "," : "", (unsigned long long)t->dims[d]);
        n += (size_t)snprintf(hdr + n, sizeof hdr - n, "%s\"%s\":{\"dtype\":\"%s\",\"shape\":[%s],\"data_offsets\":[%zu,%zu]}",
                              i ? "," : "", is_victim && new_name ? new_name : t->name,
                              is_victim && new_dtype ? new_dtype : t->dtype,
                              is_victim && new_shape ? new_shape : shape, off, off + (size_t)t->bytes);
        off += (size_t)t->bytes;
    }
    n += (size_t)snprintf(hdr + n, sizeof hdr - n, "}");
    char dst[1200];
    snprintf(dst, sizeof dst, "%s/model.safetensors", dir);
    unlink(dst);
    FILE *f = fopen(dst, "wb");
    uint8_t len8[8];
    te_put64(len8, n);
    fwrite(len8, 1, 8, f);
    fwrite(hdr, 1, n, f);
    for (size_t i = 0; i < st.n; i++) fwrite(st.tensors[i].data, 1, (size_t)st.tensors[i].bytes, f);
    fclose(f);
    st_close(&st);
}

#define EXPECT_CONVERT_FAILS(dir, want_code, text) do {                      \
    te_error e_;                                                              \
    te_status s_ = convert((dir), &e_);                                       \
    CHECK_MSG(s_ == (want_code), "got %s, expected %s: %s",                   \
              te_status_name(s_), #want_code, e_.msg);                        \
    CHECK_HAS(e_.msg, text);                                                  \
    CHECK_MSG(nothing_left(), "a failed conversion left a file behind");      \
} while (0)

TEST(missing_inputs) {
    char dir[1200];
    EXPECT_CONVERT_FAILS("/nonexistent/model", TE_ERR_NOT_FOUND, "/nonexistent/model");
    snprintf(dir, sizeof dir, "%s/config.json", hf_tiny);
    EXPECT_CONVERT_FAILS(dir, TE_ERR_ARG, "not a directory");
    make_dir(dir, sizeof dir, "noconfig");
    replace_file(dir, "config.json", "", 0);
    char p[1300];
    snprintf(p, sizeof p, "%s/config.json", dir);
    unlink(p);
    EXPECT_CONVERT_FAILS(dir, TE_ERR_NOT_FOUND, "config.json: no such file");
    make_dir(dir, sizeof dir, "notok");
    snprintf(p, sizeof p, "%s/tokenizer.json", dir);
    unlink(p);
    snprintf(p, sizeof p, "%s/vocab.txt", dir);
    unlink(p);
    EXPECT_CONVERT_FAILS(dir, TE_ERR_NOT_FOUND, "neither tokenizer.json nor vocab.txt");
    make_dir(dir, sizeof dir, "nosafetensors");
    snprintf(p, sizeof p, "%s/model.safetensors", dir);
    unlink(p);
    EXPECT_CONVERT_FAILS(dir, TE_ERR_NOT_FOUND, "model.safetensors");
    replace_file(dir, "pytorch_model.bin", "PK", 2); /* read instead, when there is no model.safetensors */
    EXPECT_CONVERT_FAILS(dir, TE_ERR_TRUNCATED, "pytorch_model.bin: file is truncated");
}

TEST(bad_json_and_unsupported_configs) {
    char dir[1200];
    make_dir(dir, sizeof dir, "badjson");
    const char *bad = "{\n  \"model_type\": \"bert\",\n  \"hidden_size\": 64\n  \"x\": 1\n}";
    replace_file(dir, "config.json", bad, strlen(bad));
    EXPECT_CONVERT_FAILS(dir, TE_ERR_FORMAT, "config.json: malformed JSON: line 4, column 3: expected ',' or '}'");
    const char *gpt2 = "{\"model_type\": \"gpt2\", \"hidden_size\": 64}";
    replace_file(dir, "config.json", gpt2, strlen(gpt2));
    EXPECT_CONVERT_FAILS(dir, TE_ERR_UNSUPPORTED,
                         "model_type 'gpt2' is not supported (this version converts: bert, xlm-roberta, roberta, distilbert, mpnet, "
                         "nomic_bert, modernbert, qwen3)");
    const char *noh = "{\"model_type\": \"bert\", \"num_hidden_layers\": 2}";
    replace_file(dir, "config.json", noh, strlen(noh));
    EXPECT_CONVERT_FAILS(dir, TE_ERR_FORMAT, "config.json: 'hidden_size' is missing");
    make_dir(dir, sizeof dir, "maxpool");
    char p[1300];
    snprintf(p, sizeof p, "%s/1_Pooling", dir);
    unlink(p);
    mkdir(p, 0755);
    const char *maxp = "{\"pooling_mode_max_tokens\": true}";
    replace_file(dir, "1_Pooling/config.json", maxp, strlen(maxp));
    EXPECT_CONVERT_FAILS(dir, TE_ERR_UNSUPPORTED, "pooling 'max_tokens' is not supported");
}

TEST(bad_tensors) {
    char dir[1200];
    make_dir(dir, sizeof dir, "tensors");
    rewrite_safetensors(dir, "encoder.layer.1.output.dense.bias", "encoder.layer.1.output.dense.bias_gone", NULL, NULL);
    EXPECT_CONVERT_FAILS(dir, TE_ERR_FORMAT, "tensor encoder.layer.1.output.dense.bias is missing");
    rewrite_safetensors(dir, "encoder.layer.0.intermediate.dense.weight", NULL, "64,256", NULL);
    EXPECT_CONVERT_FAILS(dir, TE_ERR_SHAPE, "encoder.layer.0.intermediate.dense.weight has shape [64, 256], expected [256, 64]");
    rewrite_safetensors(dir, "embeddings.LayerNorm.bias", NULL, NULL, "I32");
    EXPECT_CONVERT_FAILS(dir, TE_ERR_UNSUPPORTED, "embeddings.LayerNorm.bias has dtype I32 (supported: F32, F16, BF16)");
    /* Truncated: the last tensor's bytes are cut off. */
    char src[1200], dst[1300];
    snprintf(src, sizeof src, "%s/model.safetensors", hf_tiny);
    size_t len = 0;
    char *data = th_read_file(src, &len);
    CHECK(data && len > 1000);
    snprintf(dst, sizeof dst, "%s/model.safetensors", dir);
    unlink(dst);
    th_write_file(dst, data, len - 1000);
    EXPECT_CONVERT_FAILS(dir, TE_ERR_TRUNCATED, "is truncated: tensor pooler.dense.weight needs data bytes");
    th_write_file(dst, data, 20);
    EXPECT_CONVERT_FAILS(dir, TE_ERR_TRUNCATED, "is truncated");
    free(data);
}

/* What te_open would refuse is refused by te_convert, naming the input and
 * the key, before anything is written (once, a fuzzer found a template
 * whose token type had no row in the token-type table). */
TEST(refuses_what_the_reader_refuses) {
    char dir[1200], src[1200];
    make_dir(dir, sizeof dir, "badtype");
    snprintf(src, sizeof src, "%s/tokenizer.json", hf_tiny);
    size_t len = 0;
    char *tj = th_read_file(src, &len);
    CHECK(tj != NULL);
    /* The single template's [SEP] gets token type 5 (config.json: type_vocab_size 2). */
    char *seq = tj ? strstr(tj, "\"single\"") : NULL;
    char *sep = seq ? strstr(seq, "\"[SEP]\",\"type_id\":0") : NULL;
    CHECK_MSG(sep != NULL, "the tiny model's tokenizer.json has no single template ending in [SEP]");
    if (sep) {
        sep[strlen("\"[SEP]\",\"type_id\":")] = '5';
        replace_file(dir, "tokenizer.json", tj, len);
        EXPECT_CONVERT_FAILS(dir, TE_ERR_FORMAT, "tokenizer.json (post_processor): metadata tokenizer.template_single: "
                                                 "token type 5 has no row in the token-type table (model.type_vocab_size = 2)");
    }
    free(tj);
}

/* Without tokenizer.json the vocabulary comes from vocab.txt and the
 * settings from tokenizer_config.json: the result must be the same model. */
TEST(vocab_txt_gives_the_same_tokenizer) {
    char dir[1200], p[1300], ref[1024];
    make_dir(dir, sizeof dir, "vocabtxt");
    snprintf(p, sizeof p, "%s/tokenizer.json", dir);
    unlink(p);
    te_error err;
    CHECK_MSG(convert(dir, &err) == TE_OK, "%s", err.msg);
    te_model *a = te_open(out_path, NULL, &err), *b = te_open(th_path(ref, sizeof ref, "TE_TESTDATA", "tiny-mean.temb"), NULL, &err);
    CHECK(a && b);
    te_model_info ia, ib;
    te_model_get_info(a, &ia);
    te_model_get_info(b, &ib);
    CHECK_EQ_INT(ia.vocab_tokens, ib.vocab_tokens);
    CHECK_EQ_INT(ia.tokenizer.lowercase, ib.tokenizer.lowercase);
    CHECK_EQ_INT(ia.tokenizer.strip_accents, ib.tokenizer.strip_accents);
    CHECK_EQ_INT(ia.tokenizer.chinese_chars, ib.tokenizer.chinese_chars);
    CHECK_EQ_INT(ia.tokenizer.n_added_tokens, ib.tokenizer.n_added_tokens);
    CHECK_EQ_INT(ia.tokenizer.cls_id, ib.tokenizer.cls_id);
    CHECK_EQ_INT(ia.tokenizer.mask_id, ib.tokenizer.mask_id);
    for (uint32_t i = 0; i < a->vocab.n; i++) {
        size_t la, lb;
        const char *ta = te_vocab_token(&a->vocab, i, &la), *tb = te_vocab_token(&b->vocab, i, &lb);
        CHECK_MSG(la == lb && memcmp(ta, tb, la) == 0, "token %u differs", i);
        CHECK_EQ_INT(te_vocab_find(&a->vocab, "", 0, ta, la), te_vocab_find(&b->vocab, "", 0, tb, lb));
    }
    te_close(a);
    te_close(b);
}

int main(void) {
    char rel[1024], abs_path[4096];
    /* absolute, because the scratch directories symlink to its files */
    if (!realpath(th_path(rel, sizeof rel, "TE_HF", "tiny-mean"), abs_path) || strlen(abs_path) >= sizeof hf_tiny) return 2;
    memcpy(hf_tiny, abs_path, strlen(abs_path) + 1);
    if (!mkdtemp(tmpdir)) return 2;
    snprintf(out_path, sizeof out_path, "%s/out.temb", tmpdir);
    RUN(f32_values_traced_to_checkpoint);
    RUN(f16_checkpoint_converts_exactly);
    RUN(bf16_checkpoint_with_bert_prefix);
    RUN(overrides_and_notes);
    RUN(missing_inputs);
    RUN(bad_json_and_unsupported_configs);
    RUN(bad_tensors);
    RUN(vocab_txt_gives_the_same_tokenizer);
    RUN(refuses_what_the_reader_refuses);
    char cmd[200];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
    return system(cmd) == 0 ? th_done() : 1;
}
