/*
 * kernels.h - the hot loops, one implementation per instruction set:
 * scalar (the readable reference every SIMD version is tested against),
 * AVX2+FMA, AVX-512 and NEON. cpu.c picks one at run time; the tables are
 * immutable and shared by every context.
 *
 * The GEMM micro-kernel computes a tile of C = A * W^T (+ bias) (+ C) and
 * optionally GELU, where A is packed by gemm.c into [k][mr] order and W is
 * stored in 16-column panels ([k][16] per panel, see docs/FORMAT.md).
 */
#ifndef TE_KERNELS_H
#define TE_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#define TE_PANEL 16

/* One micro-tile: rows x (n_panels * 16) of C over kc steps of k. */
typedef struct te_ukr_args {
    const float *a;        /* packed A: kc groups of `rows` values ([k][rows]) */
    const float *b;        /* first panel, already offset to the tile's first k */
    size_t b_stride;       /* floats between consecutive panels (K * 16) */
    size_t kc;             /* k steps */
    float *c;              /* C at the tile's first row and column */
    size_t ldc;
    int rows;              /* rows of the tile, 1..max_mr */
    int cols;              /* valid columns, 1..np*16 */
    int load_c;            /* start from C (accumulate) instead of zero */
    const float *bias;     /* added before anything else when non-NULL, at the tile's first column */
    int gelu;              /* apply GELU(erf) after the sum */
    int prefetch;          /* prefetch the weight panels this many bytes ahead (0: none) */
} te_ukr_args;

typedef struct te_kernels {
    const char *name;      /* "scalar", "avx2", "avx512", "neon" */
    int mr;                /* preferred rows per micro-tile */
    int max_mr;            /* the most rows a micro-tile can take (for the last, merged group) */
    int np;                /* 16-column panels per micro-tile */
    void (*ukernel)(const te_ukr_args *u);
    /* x[0..n) = (x - mean) / sqrt(var + eps) * w + b */
    void (*layernorm)(float *x, size_t n, const float *w, const float *b, float eps);
    /* x[0..n) = softmax(x * scale) */
    void (*softmax)(float *x, size_t n, float scale);
    /* x[0..n) = x * (1 + erf(x / sqrt 2)) / 2 */
    void (*gelu)(float *x, size_t n);
    /* dst[0..n) = a + b + c (the three embeddings of a token) */
    void (*add3)(float *dst, const float *a, const float *b, const float *c, size_t n);
    /* The peak: `iters` rounds of independent FMAs kept in registers;
     * returns the floating-point operations done. */
    double (*fma_peak)(long iters);
} te_kernels;

extern const te_kernels te_kernels_scalar;
#if defined(__x86_64__) || defined(_M_X64)
extern const te_kernels te_kernels_avx2;
extern const te_kernels te_kernels_avx512;
#endif
#if defined(__aarch64__)
extern const te_kernels te_kernels_neon;
#endif

/* The best kernel set this CPU runs, or the one named by `want` ("scalar",
 * "avx2", "avx512", "neon") if the CPU supports it; NULL if it does not.
 * want == NULL or "" means the best. */
const te_kernels *te_kernels_select(const char *want);

/* Every kernel set this CPU can run, best first; returns the count. */
int te_kernels_available(const te_kernels **out, int cap);

#endif
