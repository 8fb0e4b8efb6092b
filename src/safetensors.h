/*
 * safetensors.h - a checkpoint's tensors (st_file), as the converter reads
 * them: from a .safetensors file (8-byte header length, JSON header, raw
 * little-endian data; st_open here) or a PyTorch zip checkpoint (pt_open,
 * torch_ckpt.c), through a read-only mapping, every tensor's byte range
 * checked before it is used.
 */
#ifndef TE_SAFETENSORS_H
#define TE_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

#include "json.h"
#include "tinyembed.h"

#define ST_MAX_DIMS 8

typedef struct st_tensor {
    const char *name;
    const char *dtype;        /* as written: "F32", "F16", "BF16", "I64", ... */
    size_t elem_size;         /* 0 for dtypes this reader does not know */
    int n_dims;
    uint64_t dims[ST_MAX_DIMS];
    const uint8_t *data;
    uint64_t bytes;
    int used;                 /* set by the converter, to report ignored tensors */
} st_tensor;

typedef struct st_file {
    char *path;
    int fd;
    const uint8_t *map;
    size_t size;
    json_doc *header;
    st_tensor *tensors;
    size_t n;
    void *owned;                    /* what the reader keeps for the tensors (names, decoded data) */
    void (*free_owned)(void *owned);
} st_file;

/* On failure f holds nothing (as after st_close), so st_close is optional then. */
te_status st_open(st_file *f, const char *path, te_error *err);
/* The same for a PyTorch checkpoint (pytorch_model.bin, *.pt; torch_ckpt.c). */
te_status pt_open(st_file *f, const char *path, te_error *err);
/* Maps path read-only into f (path, fd, map, size), for either reader. */
te_status st_map_file(st_file *f, const char *path, te_error *err);
/* Releases everything; safe on a closed or failed st_file. */
void st_close(st_file *f);
st_tensor *st_find(st_file *f, const char *name);

#endif
