/*
 * test_loader.c - te_open on good and damaged files: every kind of damage
 * gets its own error code and a message naming the problem, never a crash.
 * Damaged copies keep their checksums valid where the test wants the damage
 * to reach a deeper check (the CRCs would otherwise catch it first).
 */
#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crc32.h"
#include "format.h"
#include "harness.h"
#include "internal.h"
#include "tinyembed.h"

static char model_path[1024], tmpdir[] = "/tmp/te_loader_XXXXXX", tmpfile_path[1100];
static uint8_t *orig;
static size_t orig_len;

/* Writes `len` bytes of `data` to the scratch file and opens it. */
static te_model *open_bytes(const uint8_t *data, size_t len, te_error *err) {
    if (th_write_file(tmpfile_path, data, len) != 0) {
        fprintf(stderr, "cannot write %s\n", tmpfile_path);
        exit(2);
    }
    return te_open(tmpfile_path, NULL, err);
}

static uint8_t *copy(void) {
    uint8_t *c = malloc(orig_len);
    memcpy(c, orig, orig_len);
    return c;
}

static uint8_t *section_entry(uint8_t *f, uint32_t kind) {
    uint32_t n = te_le32(f + 12);
    for (uint32_t i = 0; i < n; i++) {
        uint8_t *e = f + TEMB_FIXED_HEADER + i * TEMB_SECTION_ENTRY;
        if (te_le32(e) == kind) return e;
    }
    return NULL;
}

/* Recomputes every section CRC (except DATA) and the header CRC, skipping
 * whatever (after damage) no longer lies inside the file. A section whose
 * place and bytes are as in the original keeps the original's CRC (quicker). */
static void fix_crcs(uint8_t *f) {
    uint32_t n = te_le32(f + 12), hsize = te_le32(f + 8);
    if (n > TEMB_MAX_SECTIONS || hsize > 4096) return;
    for (uint32_t i = 0; i < n; i++) {
        uint8_t *e = f + TEMB_FIXED_HEADER + i * TEMB_SECTION_ENTRY;
        const uint8_t *o = orig + TEMB_FIXED_HEADER + i * TEMB_SECTION_ENTRY;
        uint64_t off = te_le64(e + 8), size = te_le64(e + 16);
        if (te_le32(e) == TEMB_SEC_DATA || off > orig_len || size > orig_len - off) continue;
        if (i < te_le32(orig + 12) && off == te_le64(o + 8) && size == te_le64(o + 16) &&
            memcmp(f + off, orig + off, (size_t)size) == 0)
            te_put32(e + 4, te_le32(o + 4));
        else
            te_put32(e + 4, te_crc32_update(0, f + off, (size_t)size));
    }
    te_put32(f + 28, 0);
    te_put32(f + 28, te_crc32_update(0, f, hsize));
}

static uint8_t *tensor_entry(uint8_t *f, const char *name) {
    uint8_t *s = section_entry(f, TEMB_SEC_TENSORS);
    uint8_t *dir = f + te_le64(s + 8);
    uint32_t n = te_le32(dir);
    for (uint32_t i = 0; i < n; i++) {
        uint8_t *e = dir + TEMB_TENSORS_HEADER + i * TEMB_TENSOR_ENTRY;
        if (strcmp((const char *)e, name) == 0) return e;
    }
    return NULL;
}

#define EXPECT_OPEN_FAILS(data, len, want_code, text) do {                   \
    te_error e_;                                                              \
    te_model *m_ = open_bytes((data), (len), &e_);                            \
    if (m_) te_close(m_);                                                     \
    CHECK_MSG(!m_, "opened a damaged file (expected %s)", #want_code);        \
    CHECK_MSG(e_.code == (want_code), "code %s, expected %s: %s",             \
              te_status_name(e_.code), #want_code, e_.msg);                   \
    CHECK_HAS(e_.msg, text);                                                  \
} while (0)

TEST(good_file_opens_and_reports_config) {
    te_error err;
    te_model *m = te_open(model_path, NULL, &err);
    CHECK_MSG(m, "%s", err.msg);
    te_model_info in;
    te_model_get_info(m, &in);
    CHECK_STR_EQ(in.arch, "bert");
    CHECK_EQ_INT(in.hidden_size, 64);
    CHECK_EQ_INT(in.num_layers, 2);
    CHECK_EQ_INT(in.num_heads, 4);
    CHECK_EQ_INT(in.intermediate_size, 256);
    CHECK_EQ_INT(in.vocab_size, 30522);
    CHECK_EQ_INT(in.max_position, 128);
    CHECK_EQ_INT(in.max_seq_length, 128);
    CHECK(in.layer_norm_eps == 1e-12f);
    CHECK_EQ_INT(in.pooling, TE_POOL_MEAN);
    CHECK_EQ_INT(in.normalize, 1);
    CHECK_EQ_INT(in.tokenizer.cls_id, 101);
    CHECK_EQ_INT(in.tokenizer.n_added_tokens, 5);
    CHECK_EQ_INT(in.file_bytes, orig_len);
    /* Layer blocks start on page boundaries, tensors on 64 bytes, in forward order. */
    uint64_t prev_end = 0;
    for (size_t i = 0; i < te_model_n_tensors(m); i++) {
        te_tensor_info t;
        CHECK(te_model_tensor(m, i, &t) == 0);
        CHECK_EQ_INT(t.offset % 64, 0);
        CHECK(t.offset >= prev_end);
        prev_end = t.offset + t.bytes;
        if (strstr(t.name, ".attn.qkv.weight")) CHECK_EQ_INT(t.offset % 4096, 0);
    }
    te_tensor_info first;
    te_model_tensor(m, 0, &first);
    CHECK_STR_EQ(first.name, "embeddings.word");
    CHECK_EQ_INT(first.offset % 4096, 0);
    CHECK(te_model_tensor(m, te_model_n_tensors(m), &first) == -1);
    CHECK_EQ_INT(te_verify(m, &err), TE_OK);
    te_close(m);
}

TEST(missing_empty_and_directory) {
    te_error err;
    CHECK(!te_open("/nonexistent/model.temb", NULL, &err));
    CHECK_EQ_INT(err.code, TE_ERR_NOT_FOUND);
    CHECK_HAS(err.msg, "/nonexistent/model.temb: no such file");
    EXPECT_OPEN_FAILS(orig, 0, TE_ERR_TRUNCATED, "file is empty");
    CHECK(!te_open(tmpdir, NULL, &err));
    CHECK_EQ_INT(err.code, TE_ERR_ARG);
    CHECK_HAS(err.msg, "is a directory");
    CHECK(!te_open(NULL, NULL, &err));
    CHECK_EQ_INT(err.code, TE_ERR_ARG);
}

TEST(truncated_anywhere) {
    size_t cuts[] = {2, 10, 31, 33, 100, 1000, 5000, 70000, orig_len / 2, orig_len - 4096, orig_len - 1};
    for (size_t i = 0; i < sizeof cuts / sizeof *cuts; i++)
        EXPECT_OPEN_FAILS(orig, cuts[i], TE_ERR_TRUNCATED, "truncated");
}

TEST(bad_magic_and_other_formats) {
    uint8_t *f = copy();
    memcpy(f, "XEMB", 4);
    EXPECT_OPEN_FAILS(f, orig_len, TE_ERR_FORMAT, "not a .temb file (bad magic)");
    memcpy(f, "GGUF", 4);
    EXPECT_OPEN_FAILS(f, orig_len, TE_ERR_FORMAT, "GGUF");
    free(f);
    char path[1024];
    size_t n;
    char *st = th_read_file(th_path(path, sizeof path, "TE_HF", "tiny-mean/model.safetensors"), &n);
    CHECK(st);
    EXPECT_OPEN_FAILS((uint8_t *)st, n, TE_ERR_FORMAT, "safetensors");
    free(st);
}

TEST(newer_major_version_refused) {
    uint8_t *f = copy();
    te_put16(f + 4, TEMB_VERSION_MAJOR + 1);
    EXPECT_OPEN_FAILS(f, orig_len, TE_ERR_VERSION, "is newer than this tinyembed reads");
    /* A newer minor version of the same major is fine. */
    te_put16(f + 4, TEMB_VERSION_MAJOR);
    te_put16(f + 6, TEMB_VERSION_MINOR + 3);
    fix_crcs(f);
    te_error err;
    te_model *m = open_bytes(f, orig_len, &err);
    CHECK_MSG(m, "minor version bump refused: %s", err.msg);
    te_close(m);
    free(f);
}

TEST(checksums_catch_header_and_metadata_damage) {
    uint8_t *f = copy();
    f[20] ^= 1; /* file_size field */
    EXPECT_OPEN_FAILS(f, orig_len, TE_ERR_TRUNCATED, "declares");
    free(f);
    f = copy();
    f[TEMB_FIXED_HEADER + 2] ^= 0x40; /* a section kind, CRC not fixed */
    EXPECT_OPEN_FAILS(f, orig_len, TE_ERR_CHECKSUM, "header checksum");
    free(f);
    f = copy();
    uint8_t *meta = section_entry(f, TEMB_SEC_META);
    f[te_le64(meta + 8) + 40] ^= 1;
    EXPECT_OPEN_FAILS(f, orig_len, TE_ERR_CHECKSUM, "metadata section checksum");
    free(f);
}

TEST(tensor_offset_past_end) {
    uint8_t *f = copy();
    uint8_t *e = tensor_entry(f, "layer.1.ffn.down.weight");
    CHECK(e);
    te_put64(e + 112, te_align_up(orig_len, 64));
    fix_crcs(f);
    EXPECT_OPEN_FAILS(f, orig_len, TE_ERR_FORMAT, "tensor layer.1.ffn.down.weight: bytes");
    te_put64(e + 112, UINT64_MAX - 63); /* offset + size would wrap around */
    fix_crcs(f);
    EXPECT_OPEN_FAILS(f, orig_len, TE_ERR_FORMAT, "outside the data section");
    free(f);
}

TEST(overflowing_dimensions) {
    uint8_t *f = copy();
    uint8_t *e = tensor_entry(f, "embeddings.word");
    te_put32(e + 72, 4);
    for (int d = 0; d < 4; d++) te_put64(e + 80 + 8 * d, (uint64_t)1 << 31);
    fix_crcs(f);
    EXPECT_OPEN_FAILS(f, orig_len, TE_ERR_FORMAT, "shape overflows");
    te_put64(e + 80, UINT64_MAX);
    fix_crcs(f);
    EXPECT_OPEN_FAILS(f, orig_len, TE_ERR_FORMAT, "dimension 0 is");
    free(f);
}

TEST(shape_disagreeing_with_hyperparameters) {
    uint8_t *f = copy();
    uint8_t *e = tensor_entry(f, "layer.1.ffn.up.weight");
    te_put64(e + 80, 250); /* 256 -> 250 rows: same padded size, wrong shape */
    fix_crcs(f);
    EXPECT_OPEN_FAILS(f, orig_len, TE_ERR_SHAPE, "tensor layer.1.ffn.up.weight has shape [250, 64], expected [256, 64]");
    free(f);
    f = copy();
    e = tensor_entry(f, "layer.0.attn.norm.bias");
    memcpy(e, "layer.0.attn.norm.bian", 22);
    fix_crcs(f);
    EXPECT_OPEN_FAILS(f, orig_len, TE_ERR_FORMAT, "tensor layer.0.attn.norm.bias is missing");
    free(f);
}

TEST(section_outside_file) {
    uint8_t *f = copy();
    uint8_t *v = section_entry(f, TEMB_SEC_VOCAB);
    te_put64(v + 16, orig_len);
    fix_crcs(f);
    EXPECT_OPEN_FAILS(f, orig_len, TE_ERR_FORMAT, "lies outside the file");
    free(f);
}

TEST(verify_names_the_damaged_tensor) {
    uint8_t *f = copy();
    uint8_t *e = tensor_entry(f, "layer.1.attn.out.weight");
    f[te_le64(e + 112) + 100] ^= 0x10;
    te_error err;
    te_model *m = open_bytes(f, orig_len, &err);
    CHECK_MSG(m, "open must not read tensor data: %s", err.msg);
    CHECK_EQ_INT(te_verify(m, &err), TE_ERR_CHECKSUM);
    CHECK_HAS(err.msg, "tensor layer.1.attn.out.weight is damaged");
    te_close(m);
    te_open_opts o = {.verify_checksums = 1};
    CHECK(!te_open(tmpfile_path, &o, &err));
    CHECK_EQ_INT(err.code, TE_ERR_CHECKSUM);
    free(f);
}

/* Random byte flips anywhere in the metadata, checksums repaired so the
 * mutation reaches the parsers: te_open must fail cleanly or succeed, never
 * read out of bounds (the sanitizer build runs this too). */
/* Random bit flips in the sections before the tensor data, with their
 * CRCs fixed up so the damage reaches the parsers. Only that prefix is
 * rewritten each time (the data does not change), which keeps the test
 * quick under the sanitizers. */
TEST(mutated_metadata_never_crashes) {
    uint8_t *data_sec = section_entry(orig, TEMB_SEC_DATA);
    size_t meta_end = (size_t)te_le64(data_sec + 8);
    CHECK(th_write_file(tmpfile_path, orig, orig_len) == 0);
    FILE *file = fopen(tmpfile_path, "r+b");
    CHECK(file != NULL);
    uint8_t *f = malloc(orig_len);
    memcpy(f, orig, orig_len);
    uint64_t rng = 0x9E3779B97F4A7C15u;
    int opened = 0, refused = 0;
    for (int iter = 0; iter < 3000; iter++) {
        memcpy(f, orig, meta_end);
        int flips = 1 + iter % 4;
        for (int k = 0; k < flips; k++) {
            rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17;
            /* Half the flips land in the small sections before the vocabulary. */
            size_t span = (iter & 1) ? meta_end : 12000;
            f[rng % span] ^= (uint8_t)(1u << ((rng >> 40) % 8));
        }
        fix_crcs(f);
        CHECK(fseek(file, 0, SEEK_SET) == 0 && fwrite(f, 1, meta_end, file) == meta_end && fflush(file) == 0);
        te_error err;
        te_model *m = te_open(tmpfile_path, NULL, &err);
        if (m) {
            /* Verifying reads every tensor (a CRC of the whole file): on a sample. */
            if (opened++ % 64 == 0) te_verify(m, &err);
            te_close(m);
        } else {
            refused++;
            CHECK(err.code != TE_OK && err.msg[0]);
        }
    }
    free(f);
    fclose(file);
    CHECK(refused > 100);
    printf("  mutations: %d opened, %d refused\n", opened, refused);
}

int main(void) {
    th_path(model_path, sizeof model_path, "TE_TESTDATA", "tiny-mean.temb");
    orig = (uint8_t *)th_read_file(model_path, &orig_len);
    if (!orig || !mkdtemp(tmpdir)) {
        fprintf(stderr, "cannot read %s or make a temp dir\n", model_path);
        return 2;
    }
    snprintf(tmpfile_path, sizeof tmpfile_path, "%s/damaged.temb", tmpdir);
    RUN(good_file_opens_and_reports_config);
    RUN(missing_empty_and_directory);
    RUN(truncated_anywhere);
    RUN(bad_magic_and_other_formats);
    RUN(newer_major_version_refused);
    RUN(checksums_catch_header_and_metadata_damage);
    RUN(tensor_offset_past_end);
    RUN(overflowing_dimensions);
    RUN(shape_disagreeing_with_hyperparameters);
    RUN(section_outside_file);
    RUN(verify_names_the_damaged_tensor);
    RUN(mutated_metadata_never_crashes);
    unlink(tmpfile_path);
    rmdir(tmpdir);
    free(orig);
    return th_done();
}
