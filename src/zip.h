/*
 * zip.h - the central directory of a zip archive in memory (PKWARE APPNOTE
 * 4.3; zip64 too), as PyTorch writes its checkpoints: entries stored or
 * deflated, their data located and bounds-checked.
 */
#ifndef TE_ZIP_H
#define TE_ZIP_H

#include <stddef.h>
#include <stdint.h>

#include "tinyembed.h"

typedef struct zip_entry {
    char *name;             /* NUL-terminated copy */
    int method;             /* 0 stored, 8 deflated (others are refused when read) */
    uint32_t crc32;
    uint64_t comp_size, size;
    const uint8_t *data;    /* comp_size bytes inside the archive */
} zip_entry;

typedef struct zip_archive {
    zip_entry *entries;
    size_t n;
} zip_archive;

/* Whether the bytes start like a zip archive (a local file header). */
int zip_is_zip(const uint8_t *p, size_t size);

/* Reads the directory of the archive p[0..size). Every entry's data lies
 * inside it. On failure z holds nothing. */
te_status zip_open(zip_archive *z, const uint8_t *p, size_t size, te_error *err);
void zip_close(zip_archive *z);

/* The entry named name, or NULL. */
const zip_entry *zip_find(const zip_archive *z, const char *name);

/* The entry's bytes: its stored data (*owned NULL) or, deflated, a buffer
 * the caller frees (*owned). Checks the CRC-32 in both cases. */
te_status zip_read(const zip_entry *e, const uint8_t **bytes, uint8_t **owned, te_error *err);

#endif
