/*
 * half.h - scalar conversions between float and IEEE half / bfloat16.
 * Exact for every input (subnormals, infinities, NaN); rounding to half and
 * bfloat16 is round-to-nearest-even, as numpy and PyTorch do.
 */
#ifndef TE_HALF_H
#define TE_HALF_H

#include <stdint.h>
#include <string.h>

static inline float te_bits_to_f32(uint32_t u) {
    float f;
    memcpy(&f, &u, 4);
    return f;
}

static inline uint32_t te_f32_to_bits(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}

static inline float te_f16_to_f32(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000) << 16, exp = (h >> 10) & 0x1F, mant = h & 0x3FF;
    /* inf, or NaN made quiet as F16C's VCVTPH2PS does */
    if (exp == 0x1F) return te_bits_to_f32(sign | 0x7F800000u | (mant << 13) | (mant ? 0x400000u : 0));
    if (exp == 0) {
        /* zero or subnormal: mant * 2^-24, exact in float */
        float f = (float)mant * (1.0f / 16777216.0f);
        return sign ? -f : f;
    }
    return te_bits_to_f32(sign | ((exp + 112) << 23) | (mant << 13));
}

static inline uint16_t te_f32_to_f16(float f) {
    uint32_t u = te_f32_to_bits(f);
    uint32_t sign = (u >> 16) & 0x8000, exp = (u >> 23) & 0xFF, mant = u & 0x7FFFFF;
    if (exp == 0xFF) return (uint16_t)(sign | 0x7C00 | (mant ? 0x200 : 0));
    int e = (int)exp - 127 + 15;
    if (e >= 0x1F) return (uint16_t)(sign | 0x7C00); /* overflow -> inf */
    if (e <= 0) {
        if (e < -10) return (uint16_t)sign; /* underflow -> signed zero */
        mant |= 0x800000;
        uint32_t shift = (uint32_t)(14 - e);
        uint32_t half = mant >> shift, rem = mant & ((1u << shift) - 1), mid = 1u << (shift - 1);
        if (rem > mid || (rem == mid && (half & 1))) half++;
        return (uint16_t)(sign | half);
    }
    uint32_t half = ((uint32_t)e << 10) | (mant >> 13), rem = mant & 0x1FFF;
    if (rem > 0x1000 || (rem == 0x1000 && (half & 1))) half++; /* may carry into the exponent: still right */
    return (uint16_t)(sign | half);
}

static inline float te_bf16_to_f32(uint16_t b) { return te_bits_to_f32((uint32_t)b << 16); }

/* Round to nearest even, as PyTorch does; a carry into the exponent gives
 * the next binade or infinity, which is right; NaN stays a (quiet) NaN. */
static inline uint16_t te_f32_to_bf16(float f) {
    uint32_t u = te_f32_to_bits(f);
    if ((u & 0x7FFFFFFFu) > 0x7F800000u) return (uint16_t)((u >> 16) | 0x40);
    u += 0x7FFFu + ((u >> 16) & 1);
    return (uint16_t)(u >> 16);
}

#endif
