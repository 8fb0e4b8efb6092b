/*
 * fuzz_safetensors.c - libFuzzer target for the safetensors reader: any
 * bytes as a model.safetensors. What st_open accepts, the converter trusts:
 * every tensor's bytes inside the mapping, its size the product of its shape
 * times its element size, its name findable.
 */
#include <assert.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "fuzz_file.h"
#include "safetensors.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char path[64];
    int fd = fuzz_file(data, size, path);
    if (fd < 0) return 0;
    st_file f;
    te_error err;
    if (st_open(&f, path, &err) != TE_OK) {
        assert(err.code != TE_OK && err.msg[0]);
        close(fd);
        return 0;
    }
    assert(f.size == size);
    for (size_t i = 0; i < f.n; i++) {
        const st_tensor *t = &f.tensors[i];
        assert(t->name && t->dtype && t->n_dims >= 0 && t->n_dims <= ST_MAX_DIMS);
        assert(t->bytes == 0 || (t->data >= f.map && t->bytes <= size && t->data - f.map <= (ptrdiff_t)(size - t->bytes)));
        if (t->elem_size) {
            uint64_t n = 1;
            for (int d = 0; d < t->n_dims; d++) n *= t->dims[d];
            assert(n * t->elem_size == t->bytes);
        }
        assert(st_find(&f, t->name) != NULL);
    }
    st_close(&f);
    close(fd);
    return 0;
}
