/*
 * internal.h - helpers shared by the library's source files: error reporting
 * and overflow-checked size arithmetic. Not part of the public API.
 */
#ifndef TE_INTERNAL_H
#define TE_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "tinyembed.h"

#if defined(__GNUC__) || defined(__clang__)
#define TE_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define TE_PRINTF(f, a)
#endif

/* Sets err->code and a formatted message; returns `code` so callers can write
 * `return te_fail(err, TE_ERR_FORMAT, "...")`. `err` may be NULL. */
te_status te_fail(te_error *err, te_status code, const char *fmt, ...) TE_PRINTF(3, 4);

/* Prepends "prefix: " to an error message already in err (for adding context,
 * such as a file name, on the way up). */
void te_error_prefix(te_error *err, const char *fmt, ...) TE_PRINTF(2, 3);

/* Clears err to TE_OK with an empty message. */
void te_error_clear(te_error *err);

/* a * b and a + b for sizes; return 0 and leave *out untouched on overflow. */
static inline int te_mul_size(size_t a, size_t b, size_t *out) {
    if (a != 0 && b > SIZE_MAX / a) return 0;
    *out = a * b;
    return 1;
}
static inline int te_add_size(size_t a, size_t b, size_t *out) {
    if (b > SIZE_MAX - a) return 0;
    *out = a + b;
    return 1;
}
static inline int te_mul_u64(uint64_t a, uint64_t b, uint64_t *out) {
    if (a != 0 && b > UINT64_MAX / a) return 0;
    *out = a * b;
    return 1;
}

/* Round x up to a multiple of the power of two `align`. */
static inline uint64_t te_align_up(uint64_t x, uint64_t align) {
    return (x + align - 1) & ~(align - 1);
}

/* Little-endian loads and stores; the file format is little-endian on every host. */
static inline uint16_t te_le16(const uint8_t *p) { return (uint16_t)(p[0] | (p[1] << 8)); }
static inline uint32_t te_le32(const uint8_t *p) {
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}
static inline uint64_t te_le64(const uint8_t *p) {
    return (uint64_t)te_le32(p) | ((uint64_t)te_le32(p + 4) << 32);
}
static inline void te_put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static inline void te_put32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); p[2] = (uint8_t)(v >> 16); p[3] = (uint8_t)(v >> 24);
}
static inline void te_put64(uint8_t *p, uint64_t v) {
    te_put32(p, (uint32_t)v);
    te_put32(p + 4, (uint32_t)(v >> 32));
}

#endif
