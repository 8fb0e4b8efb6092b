/*
 * fuzz_checkpoint.h - what the checkpoint readers' fuzz targets share
 * (fuzz_safetensors.c: st_open, fuzz_torch.c: pt_open): the input opened by
 * the reader, then every promise the converter relies on checked. A tensor
 * it accepts has its bytes inside the mapping (or, for a PyTorch checkpoint,
 * a buffer of its own: every byte is read, so ASan checks it), its size the
 * product of its shape times its element size, and its name findable.
 */
#ifndef TE_FUZZ_CHECKPOINT_H
#define TE_FUZZ_CHECKPOINT_H

#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <unistd.h>

#include "fuzz_file.h"
#include "safetensors.h"

typedef te_status (*fuzz_opener)(st_file *f, const char *path, te_error *err);

/* owned_data: tensors may live outside the mapping (decoded entries). */
static int fuzz_checkpoint(fuzz_opener open_fn, int owned_data, const uint8_t *data, size_t size) {
    char path[64];
    int fd = fuzz_file(data, size, path);
    if (fd < 0) return 0;
    st_file f;
    te_error err;
    if (open_fn(&f, path, &err) != TE_OK) {
        assert(err.code != TE_OK && err.msg[0]);
        close(fd);
        return 0;
    }
    assert(f.size == size);
    for (size_t i = 0; i < f.n; i++) {
        const st_tensor *t = &f.tensors[i];
        assert(t->name && t->dtype && t->n_dims >= 0 && t->n_dims <= ST_MAX_DIMS);
        assert(owned_data || t->bytes == 0 ||
               (t->data >= f.map && t->bytes <= size && t->data - f.map <= (ptrdiff_t)(size - t->bytes)));
        assert(!owned_data || t->elem_size);
        if (t->elem_size) {
            uint64_t n = 1;
            for (int d = 0; d < t->n_dims; d++) n *= t->dims[d];
            assert(n * t->elem_size == t->bytes);
        }
        volatile uint8_t sum = 0;
        for (uint64_t b = 0; owned_data && b < t->bytes; b++) sum ^= t->data[b];
        (void)sum;
        assert(st_find(&f, t->name) != NULL);
    }
    st_close(&f);
    close(fd);
    return 0;
}

#endif
