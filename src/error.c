/*
 * error.c - te_error helpers and the names of status codes and enums.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"

te_status te_fail(te_error *err, te_status code, const char *fmt, ...) {
    if (!err) return code;
    err->code = code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    return code;
}

void te_error_prefix(te_error *err, const char *fmt, ...) {
    if (!err) return;
    char prefix[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(prefix, sizeof prefix - 2, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    size_t plen = strlen(prefix);
    memcpy(prefix + plen, ": ", 3);
    plen += 2;
    /* Shift the old message right, dropping its tail if it no longer fits. */
    size_t cap = sizeof err->msg, old = strnlen(err->msg, cap - 1);
    if (plen >= cap) plen = cap - 1;
    if (old > cap - 1 - plen) old = cap - 1 - plen;
    memmove(err->msg + plen, err->msg, old);
    memcpy(err->msg, prefix, plen);
    err->msg[plen + old] = '\0';
}

void te_error_clear(te_error *err) {
    if (!err) return;
    err->code = TE_OK;
    err->msg[0] = '\0';
}

const char *te_status_name(te_status code) {
    switch (code) {
    case TE_OK: return "TE_OK";
    case TE_ERR_ARG: return "TE_ERR_ARG";
    case TE_ERR_IO: return "TE_ERR_IO";
    case TE_ERR_NOT_FOUND: return "TE_ERR_NOT_FOUND";
    case TE_ERR_FORMAT: return "TE_ERR_FORMAT";
    case TE_ERR_TRUNCATED: return "TE_ERR_TRUNCATED";
    case TE_ERR_VERSION: return "TE_ERR_VERSION";
    case TE_ERR_UNSUPPORTED: return "TE_ERR_UNSUPPORTED";
    case TE_ERR_SHAPE: return "TE_ERR_SHAPE";
    case TE_ERR_CHECKSUM: return "TE_ERR_CHECKSUM";
    case TE_ERR_NOMEM: return "TE_ERR_NOMEM";
    case TE_ERR_TIMEOUT: return "TE_ERR_TIMEOUT";
    }
    return "TE_ERR_UNKNOWN";
}

static const char *generic_message(te_status code) {
    switch (code) {
    case TE_OK: return "success";
    case TE_ERR_ARG: return "invalid argument";
    case TE_ERR_IO: return "input/output error";
    case TE_ERR_NOT_FOUND: return "not found";
    case TE_ERR_FORMAT: return "malformed input";
    case TE_ERR_TRUNCATED: return "input is truncated";
    case TE_ERR_VERSION: return "file needs a newer tinyembed";
    case TE_ERR_UNSUPPORTED: return "not supported";
    case TE_ERR_SHAPE: return "tensor has the wrong shape";
    case TE_ERR_CHECKSUM: return "checksum mismatch";
    case TE_ERR_NOMEM: return "out of memory";
    case TE_ERR_TIMEOUT: return "timed out";
    }
    return "unknown error";
}

const char *te_errmsg(const te_error *err) {
    if (!err) return "no error information";
    return err->msg[0] ? err->msg : generic_message(err->code);
}

const char *te_dtype_name(te_dtype d) {
    switch (d) {
    case TE_DTYPE_F32: return "f32";
    case TE_DTYPE_F16: return "f16";
    case TE_DTYPE_I8: return "int8";
    case TE_DTYPE_BF16: return "bf16";
    case TE_DTYPE_U8: return "u8";
    }
    return "unknown";
}

int te_dtype_parse(const char *name, te_dtype *out) {
    for (int d = TE_DTYPE_F32; d <= TE_DTYPE_BF16; d++)
        if (name && strcmp(name, te_dtype_name((te_dtype)d)) == 0) {
            *out = (te_dtype)d;
            return 0;
        }
    return -1;
}

const char *te_pooling_name(te_pooling p) {
    switch (p) {
    case TE_POOL_MEAN: return "mean";
    case TE_POOL_CLS: return "cls";
    case TE_POOL_LAST: return "last";
    }
    return "unknown";
}

const char *te_activation_name(te_activation a) {
    switch (a) {
    case TE_ACT_GELU: return "gelu";
    case TE_ACT_GELU_TANH: return "gelu_tanh";
    case TE_ACT_RELU: return "relu";
    case TE_ACT_SILU: return "silu";
    }
    return "unknown";
}

const char *te_kind_name(te_model_kind k) {
    switch (k) {
    case TE_KIND_EMBEDDING: return "embedding";
    case TE_KIND_CLASSIFIER: return "classifier";
    case TE_KIND_RERANKER: return "reranker";
    }
    return "unknown";
}

const char *te_position_name(te_position p) {
    switch (p) {
    case TE_POS_ABSOLUTE: return "absolute";
    case TE_POS_RELATIVE: return "relative";
    case TE_POS_ROTARY: return "rotary";
    }
    return "unknown";
}

const char *te_score_fn_name(te_score_fn f) {
    switch (f) {
    case TE_SCORE_SOFTMAX: return "softmax";
    case TE_SCORE_SIGMOID: return "sigmoid";
    case TE_SCORE_IDENTITY: return "identity";
    }
    return "unknown";
}

const char *te_strategy_name(te_strategy s) {
    switch (s) {
    case TE_STRATEGY_LAZY: return "lazy";
    case TE_STRATEGY_EAGER: return "eager";
    case TE_STRATEGY_BACKGROUND: return "background";
    case TE_STRATEGY_PROGRESSIVE: return "progressive";
    case TE_STRATEGY_AUTO: return "auto";
    }
    return "unknown";
}

int te_strategy_parse(const char *name, te_strategy *out) {
    for (int s = TE_STRATEGY_LAZY; s <= TE_STRATEGY_AUTO; s++)
        if (name && strcmp(name, te_strategy_name((te_strategy)s)) == 0) {
            *out = (te_strategy)s;
            return 0;
        }
    return -1;
}
