/*
 * fuzz_temb.c - libFuzzer target for the .temb loader: any bytes as a model
 * file, opened with te_open as most callers do (tensor checksums unchecked;
 * a fuzz build accepts every CRC, see crc32.h), then the tensor directory,
 * one short embedding (or classification, or reranking) and te_verify. A
 * file te_open accepts must be safe to run: every tensor inside the file,
 * the forward pass within its bounds, whatever the weights hold.
 */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include "fuzz_file.h"
#include "tinyembed.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void run_one(te_model *m) {
    te_model_info in;
    te_model_get_info(m, &in);
    te_error err;
    for (size_t i = 0; i < te_model_n_tensors(m); i++) {
        te_tensor_info t;
        assert(te_model_tensor(m, i, &t) == 0);
        assert(t.offset <= in.file_bytes && t.bytes <= in.file_bytes - t.offset);
    }
    /* TE_FUZZ_SIMD (make fuzz-slice: scalar) runs the same code on every CPU. */
    te_ctx_opts co = {.threads = 1, .max_batch_tokens = 64, .simd = getenv("TE_FUZZ_SIMD")};
    te_ctx *c = te_ctx_new(m, &co, &err);
    if (!c) {
        assert(err.code != TE_OK);
        return;
    }
    size_t n_out = in.kind == TE_KIND_EMBEDDING ? (size_t)in.hidden_size : (size_t)in.num_labels;
    float *out = malloc((n_out ? n_out : 1) * sizeof *out);
    const char *texts[2] = {"hello world, the cat", "caf\xc3\xa9 [SEP] x"};
    size_t lens[2] = {20, 14};
    te_status st = in.kind == TE_KIND_EMBEDDING    ? te_embed(c, texts, lens, 1, out, &err)
                   : in.kind == TE_KIND_CLASSIFIER ? te_classify(c, texts, lens, 1, 0, out, NULL, &err)
                                                   : te_rerank(c, texts[0], lens[0], texts + 1, lens + 1, 1, 0, out, NULL, &err);
    assert(st == TE_OK || err.msg[0]);
    free(out);
    te_ctx_free(c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char path[64];
    int fd = fuzz_file(data, size, path);
    if (fd < 0) return 0;
    te_error err;
    te_model *m = te_open(path, NULL, &err);
    if (!m) {
        assert(err.code != TE_OK && err.msg[0]);
    } else {
        run_one(m);
        assert(te_verify(m, &err) == TE_OK || err.msg[0]);
        te_close(m);
    }
    close(fd);
    return 0;
}
