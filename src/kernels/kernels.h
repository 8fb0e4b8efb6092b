/*
 * kernels.h - the hot loops, one implementation per instruction set:
 * scalar (the readable reference every SIMD version is tested against),
 * AVX2+FMA, AVX-512 and NEON. cpu.c picks one at run time; the tables are
 * immutable and shared by every context.
 *
 * The GEMM micro-kernel computes a tile of C = A * W^T (+ bias) (+ C) and
 * optionally GELU, where A is packed by gemm.c into [k][mr] order and W is
 * stored in 16-column panels ([k][16] per panel, see docs/FORMAT.md) of
 * f32, IEEE half or bfloat16 values. Half and bfloat16 weights are widened
 * to f32 in registers as they are loaded (exactly: every half and bfloat16
 * is a float), so they cost half the memory traffic and no scratch.
 *
 * The int8 micro-kernel does the same for int8 weights (panel16x4: per
 * panel, groups of 4 k for each of its 16 columns) and activations
 * quantized per row to u8 with a zero point: with integer sums
 *   acc[i][j] = sum_k qa[i][k] * qw[j][k]     (exact in int32)
 * the result is
 *   y = (float)(acc - zero[i] * wsum[j]) * (a_scale[i] * w_scale[j]) (+ bias[j]) (+ C)
 * in exactly that order of float operations in every version, so they all
 * agree bit for bit except for GELU's approximation.
 */
#ifndef TE_KERNELS_H
#define TE_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#define TE_PANEL 16

/* How the weight panels' elements are stored. */
typedef enum te_welem {
    TE_WELEM_F32,
    TE_WELEM_F16,  /* IEEE half */
    TE_WELEM_BF16, /* bfloat16: the top 16 bits of a float */
} te_welem;

/* One micro-tile: rows x (n_panels * 16) of C over kc steps of k. */
typedef struct te_ukr_args {
    const float *a;        /* packed A: kc groups of `rows` values ([k][rows]); for ukernel_bf16_dot,
                              ceil(kc/2) groups of `rows` bfloat16 pairs (k even in the low half, 0 past kc) */
    const void *b;         /* first panel, already offset to the tile's first k: float or uint16_t by b_type */
    te_welem b_type;
    size_t b_stride;       /* elements between consecutive panels (K * 16) */
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

/* One int8 micro-tile: rows x cols of C. */
typedef struct te_q8_args {
    const uint8_t *a;      /* quantized rows, row stride lda bytes, k4 * 4 bytes each */
    size_t lda;
    const float *a_scale;  /* [rows] */
    const int32_t *a_zero; /* [rows] zero points, 0..255 */
    const int8_t *b;       /* first weight panel at its first k group */
    size_t b_stride;       /* bytes between consecutive panels (k4 * 64) */
    size_t k4;             /* groups of 4 k; at most 2^31 / (255 * 127 * 4) so int32 never overflows */
    const float *w_scale;  /* [cols] weight scale per column (output row of W) */
    const float *w_sum;    /* [cols] sum of each column's int8 weights (exact integers) */
    const float *bias;     /* [cols] or NULL */
    float *c;
    size_t ldc;
    int rows;              /* 1..q8_max_mr */
    int cols;              /* 1..q8_np * 16 */
    int load_c;            /* add C's previous value */
    int gelu;
} te_q8_args;

typedef struct te_kernels {
    const char *name;      /* "scalar", "avx2", "avx512", "neon" */
    int mr;                /* preferred rows per micro-tile */
    int max_mr;            /* the most rows a micro-tile can take (for the last, merged group) */
    int np;                /* 16-column panels per micro-tile */
    void (*ukernel)(const te_ukr_args *u);
    /* bf16 weights (or f16 ones, rounded to bf16 as loaded) times A rounded
     * to bf16, two k per instruction (AVX512-BF16 VDPBF16PS, products summed
     * in f32): twice the FMA rate, for A packed as bf16 pairs. NULL where
     * the CPU has no such instruction. */
    void (*ukernel_bf16_dot)(const te_ukr_args *u);
    /* A for it, one row: dst[p * stride] = bf16(src[2p + 1]) << 16 |
     * bf16(src[2p]) for the ceil(n/2) pairs (src[n] = 0 for odd n), rounded
     * to nearest even; set with ukernel_bf16_dot. */
    void (*pack_bf16_pairs)(uint32_t *dst, size_t stride, const float *src, size_t n);
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
    int q8_mr;             /* int8 micro-tile: preferred rows */
    int q8_max_mr;         /*   the most rows it can take */
    int q8_np;             /*   16-column panels per tile */
    void (*q8_ukernel)(const te_q8_args *u);
    /* One row of activations to u8 with a zero point: q = round(x / scale) +
     * zero, covering [min(x, 0), max(x, 0)] in 255 steps; q[k..k4) = zero.
     * Every version gives the scalar one's bytes exactly. */
    void (*quant_u8)(const float *x, size_t k, size_t k4, uint8_t *q, float *scale, int32_t *zero);
    /* dst[0..n) = the IEEE half values src[0..n) as floats */
    void (*widen_f16)(float *dst, const uint16_t *src, size_t n);
    /* dst[0..n) = the bfloat16 values src[0..n) as floats (exact: a shift) */
    void (*widen_bf16)(float *dst, const uint16_t *src, size_t n);
    /* Search: out[i] = dot(q, rows + i * dim) for i in 0..n (f32: summation
     * order differs between sets; int8: exact in int32 for dim < 2^17). */
    void (*dot_f32)(const float *q, const float *rows, size_t dim, size_t n, float *out);
    void (*dot_i8)(const int8_t *q, const int8_t *rows, size_t dim, size_t n, int32_t *out);
} te_kernels;

/* The int8 micro-kernels, shared between sets (AVX-512 without VNNI uses
 * AVX2's): the tile shape of each is given with its set. */
void te_q8_ukernel_scalar(const te_q8_args *u);
void te_quant_u8_scalar(const float *x, size_t k, size_t k4, uint8_t *q, float *scale, int32_t *zero);
/* The scale and zero point for a row whose values span [lo, hi] (lo <= 0 <= hi),
 * and the quantization of one value: shared by every version, so they agree. */
void te_quant_u8_params(float lo, float hi, float *scale, float *inv, float *zero);
static inline uint8_t te_quant_u8_one(float x, float inv, float zero) {
    float v = __builtin_nearbyintf(x * inv) + zero;
    return (uint8_t)(v > 0.0f ? (v < 255.0f ? v : 255.0f) : 0.0f); /* NaN: 0 */
}
void te_pack_bf16_pairs_scalar(uint32_t *dst, size_t stride, const float *src, size_t n);
void te_widen_f16_scalar(float *dst, const uint16_t *src, size_t n);
void te_widen_bf16_scalar(float *dst, const uint16_t *src, size_t n);
void te_dot_f32_scalar(const float *q, const float *rows, size_t dim, size_t n, float *out);
void te_dot_i8_scalar(const int8_t *q, const int8_t *rows, size_t dim, size_t n, int32_t *out);
#if defined(__x86_64__) || defined(_M_X64)
void te_q8_ukernel_avx2(const te_q8_args *u);
void te_q8_ukernel_vnni(const te_q8_args *u);
#define TE_Q8_AVX2_MR 2
#define TE_Q8_VNNI256_MR 6
#define TE_Q8_VNNI_MR 12
#define TE_Q8_VNNI_MAX_MR 14
#endif

/* For sets whose tile is tile(u, mr, t) for 1..6 rows (AVX2, NEON): a
 * function per height and weight type, and `ukernel` picking one. */
#define TE_UKERNEL_(tile, name, t, mr) \
    static void name##_##mr(const te_ukr_args *u) { tile(u, mr, t); }
#define TE_UKERNELS_TYPE_(tile, name, t) \
    TE_UKERNEL_(tile, name, t, 1) TE_UKERNEL_(tile, name, t, 2) TE_UKERNEL_(tile, name, t, 3) \
    TE_UKERNEL_(tile, name, t, 4) TE_UKERNEL_(tile, name, t, 5) TE_UKERNEL_(tile, name, t, 6) \
    static void (*const name[7])(const te_ukr_args *) = {NULL, name##_1, name##_2, name##_3, name##_4, name##_5, name##_6};
#define TE_UKERNELS_6(tile) \
    TE_UKERNELS_TYPE_(tile, ukernels_f32, TE_WELEM_F32) \
    TE_UKERNELS_TYPE_(tile, ukernels_f16, TE_WELEM_F16) \
    TE_UKERNELS_TYPE_(tile, ukernels_bf16, TE_WELEM_BF16) \
    static void ukernel(const te_ukr_args *u) { \
        switch (u->b_type) { \
        case TE_WELEM_F16: ukernels_f16[u->rows](u); break; \
        case TE_WELEM_BF16: ukernels_bf16[u->rows](u); break; \
        default: ukernels_f32[u->rows](u); break; \
        } \
    }

extern const te_kernels te_kernels_scalar;
#if defined(__x86_64__) || defined(_M_X64)
extern const te_kernels te_kernels_avx2;
extern const te_kernels te_kernels_avxvnni;      /* avx2 with a 256-bit VNNI int8 kernel (AVX-VNNI, VEX) */
extern const te_kernels te_kernels_avxvnni_evex; /* the same, encoded for AVX512-VNNI + VL CPUs without AVX-VNNI */
extern const te_kernels te_kernels_avx512;
extern const te_kernels te_kernels_avx512vnni; /* avx512 with the VNNI int8 kernel */
extern const te_kernels te_kernels_avx512bf16; /* avx512vnni with the VDPBF16PS kernel for bf16 weights */
#endif
#if defined(__aarch64__)
extern const te_kernels te_kernels_neon;
#endif

/* The best kernel set this CPU runs, or the one named by `want` ("scalar",
 * "avx2", "avxvnni", "avx512", "avx512vnni", "avx512bf16", "neon") if the CPU supports it; NULL if it does not.
 * want == NULL or "" means the best. */
const te_kernels *te_kernels_select(const char *want);

/* Every kernel set this CPU can run, best first; returns the count. */
int te_kernels_available(const te_kernels **out, int cap);

#endif
