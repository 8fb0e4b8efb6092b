/*
 * pickle.h - a restricted reader of Python pickles: the subset torch.save
 * writes for a state dict (dicts, lists, tuples, strings, numbers, storages
 * as persistent ids, tensors rebuilt by torch._utils._rebuild_tensor_v2).
 *
 * It builds values and never calls anything: the only globals it accepts
 * are a short list of names it interprets itself (collections.OrderedDict,
 * torch's tensor and parameter rebuilders, torch.*Storage). Any other
 * global, and any opcode outside the subset, is refused by name, so a
 * malicious checkpoint gets an error, not code execution.
 */
#ifndef TE_PICKLE_H
#define TE_PICKLE_H

#include <stddef.h>
#include <stdint.h>

#include "tinyembed.h"

#define PK_MAX_DIMS 8

typedef enum pk_kind {
    PK_NONE, PK_BOOL, PK_INT, PK_FLOAT, PK_STR, PK_TUPLE, PK_LIST, PK_DICT,
    PK_GLOBAL,   /* one of the accepted names, not yet called */
    PK_STORAGE,  /* a persistent id: ('storage', type, key, location, numel) */
    PK_TENSOR,
    PK_MARK      /* internal: the stack mark */
} pk_kind;

/* Storage element types, as torch names them (FloatStorage, ...). */
typedef enum pk_dtype { PK_F64, PK_F32, PK_F16, PK_BF16, PK_I64, PK_I32, PK_I16, PK_I8, PK_U8, PK_BOOL_T } pk_dtype;

typedef struct pk_value pk_value;
struct pk_value {
    pk_kind kind;
    int64_t i;              /* PK_INT, PK_BOOL; PK_GLOBAL: which name; PK_STORAGE: numel */
    double f;               /* PK_FLOAT */
    const char *s;          /* PK_STR (NUL-terminated copy, len bytes); PK_STORAGE: key */
    size_t len;
    pk_value **items;       /* PK_TUPLE, PK_LIST; PK_DICT: key, value, key, value, ... */
    size_t n, cap;
    pk_dtype dtype;         /* PK_STORAGE, PK_TENSOR */
    const pk_value *storage;/* PK_TENSOR */
    int64_t offset;         /* PK_TENSOR: in elements */
    int n_dims;             /* PK_TENSOR */
    int64_t sizes[PK_MAX_DIMS], strides[PK_MAX_DIMS];
};

typedef struct pk_arena pk_arena;

/* Reads the pickle p[0..len). On success *root is its value, valid until
 * pk_free(*arena). On failure (a message naming what was refused, or where
 * the pickle is malformed) nothing is left to free. */
te_status pk_load(const uint8_t *p, size_t len, pk_value **root, pk_arena **arena, te_error *err);
void pk_free(pk_arena *a);

/* The element size of a storage type. */
size_t pk_dtype_size(pk_dtype t);

#endif
