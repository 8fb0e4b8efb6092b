/*
 * gemm.h - C = A W^T (+ bias) (+ C) (GELU), with W in 16-column panels:
 * the packing and blocking around the per-ISA micro-kernels (kernels.h),
 * serial for one tile and parallel over a thread pool. W is f32, f16 or
 * bf16 (widened to f32: in the micro-kernels' registers for a few rows, a
 * micro-panel at a time into scratch for many) or int8 (gemm_q8.c).
 */
#ifndef TE_GEMM_H
#define TE_GEMM_H

#include <stddef.h>

#include "kernels/kernels.h"
#include "tinyembed.h"
#include "threadpool.h"

#define TE_GEMM_KC 256 /* k per packed block: the weight micro-panel stays in L1 */
#define TE_GEMM_MC 96  /* rows per packed block: a multiple of every kernel's mr */

/* A weight matrix W [n][k] in one of the stored dtypes (docs/FORMAT.md). */
typedef struct te_wmat {
    te_dtype dtype;     /* TE_DTYPE_F32 (0) for activations used as weights */
    const void *data;   /* f32 / f16 / bf16: ceil(n/16) panels of [k][16]; int8: panels of ceil(k/4) x [16][4] */
    const float *scale; /* int8: [n] scale of each row of W */
    const float *sum;   /* int8: [n] sum of each row's int8 values */
} te_wmat;

typedef struct te_gemm {
    const float *a;    /* A [m][k], row stride lda */
    size_t lda;
    te_wmat w;
    const float *bias; /* [n] or NULL */
    float *c;          /* C [m][n], row stride ldc */
    size_t ldc;
    size_t m, n, k;
    int accumulate;    /* C += A W^T (+ bias), instead of C = ... */
    int gelu;          /* GELU(erf) on the result */
} te_gemm;

/* One thread's scratch for te_gemm_tile. */
typedef struct te_gemm_scratch {
    float *pack;        /* TE_GEMM_PACK_FLOATS, 64-byte aligned: packed or quantized A */
    float *wide;        /* TE_GEMM_WIDE_FLOATS: half-precision weights widened to f32, or NULL (f32 models) */
} te_gemm_scratch;

#define TE_GEMM_PACK_FLOATS ((size_t)TE_GEMM_MC * TE_GEMM_KC)
#define TE_GEMM_WIDE_FLOATS ((size_t)2 * TE_PANEL * TE_GEMM_KC)

/* What a parallel step needs: the pool, the kernels, scratch. */
typedef struct te_exec {
    te_pool *pool;
    const te_kernels *k;
    const te_gemm_scratch *scratch; /* per thread */
    float *shared;      /* TE_GEMM_MC * max_k floats: A packed (or quantized) once when threads split the weights */
    size_t max_k;
} te_exec;

/* Rows [m0, m1) and panels [p0, p1) of g, on the calling thread. */
void te_gemm_tile(const te_kernels *kn, const te_gemm *g, size_t m0, size_t m1, size_t p0, size_t p1,
                  const te_gemm_scratch *s);

/* All of g, split over the pool's threads. The split depends only on the
 * shape and the thread count, and every element is computed the same way
 * whatever the split, so results do not depend on the thread count. */
void te_gemm_run(const te_exec *ex, const te_gemm *g);

/* Packs `rows` x `cols` of a matrix (row stride ld) into 16-wide panels with
 * `k` = cols: out[(r/16)*cols*16 + c*16 + r%16] (rows padded with zeros to a
 * multiple of 16). Used to treat activations (attention keys and values) as
 * a GEMM's W. */
void te_pack_panels(const float *src, size_t ld, size_t rows, size_t cols, float *out);

/* The same for a matrix given transposed: W = src^T where src is [k][n]
 * (row stride ld): out[(j/16)*k*16 + i*16 + j%16] = src[i][j]. Used for
 * attention values, whose rows are the GEMM's k. */
void te_pack_panels_t(const float *src, size_t ld, size_t k, size_t n, float *out);

/* The int8 path (gemm_q8.c), called by te_gemm_tile and te_gemm_run for int8 weights. */
void te_gemm_q8_tile(const te_kernels *kn, const te_gemm *g, size_t m0, size_t m1, size_t p0, size_t p1,
                     void *buf, size_t buf_bytes);
void te_gemm_q8_run(const te_exec *ex, const te_gemm *g);

#endif
