/*
 * zip.c - reading a zip archive's central directory (see zip.h).
 *
 * The end-of-central-directory record sits in the last 64 KB + 22 bytes;
 * archives past 4 GB or 65,535 entries add a zip64 record (found through
 * its locator just before) and zip64 extra fields per entry. An entry's
 * data follows its local header, whose name and extra lengths can differ
 * from the central directory's, so they are read there.
 */
#include "zip.h"

#include <stdlib.h>
#include <string.h>

#include "crc32.h"
#include "inflate.h"
#include "internal.h"

#define SIG_LOCAL 0x04034b50u
#define SIG_CENTRAL 0x02014b50u
#define SIG_END 0x06054b50u
#define SIG_END64 0x06064b50u
#define SIG_LOCATOR64 0x07064b50u
#define MAX_ENTRIES (1u << 20)

int zip_is_zip(const uint8_t *p, size_t size) { return size >= 4 && te_le32(p) == SIG_LOCAL; }

typedef struct directory {
    uint64_t count, offset, size;
} directory;

/* The end record (and its zip64 record when it says so). */
static te_status find_directory(const uint8_t *p, size_t size, directory *d, te_error *err) {
    if (size < 22) return te_fail(err, TE_ERR_FORMAT, "zip: too short for an archive");
    size_t at = size - 22, stop = size - 22 > 65535 ? size - 22 - 65535 : 0;
    while (te_le32(p + at) != SIG_END) {
        if (at == stop) return te_fail(err, TE_ERR_FORMAT, "zip: no end-of-central-directory record (truncated?)");
        at--;
    }
    d->count = te_le16(p + at + 10);
    d->size = te_le32(p + at + 12);
    d->offset = te_le32(p + at + 16);
    if (d->count != 0xFFFF && d->size != 0xFFFFFFFFu && d->offset != 0xFFFFFFFFu) return TE_OK;
    if (at < 20 || size < 56 || te_le32(p + at - 20) != SIG_LOCATOR64)
        return te_fail(err, TE_ERR_FORMAT, "zip: a zip64 archive without its locator");
    uint64_t e64 = te_le64(p + at - 20 + 8);
    if (e64 > size - 56 || te_le32(p + e64) != SIG_END64) return te_fail(err, TE_ERR_FORMAT, "zip: bad zip64 end record");
    d->count = te_le64(p + e64 + 32);
    d->size = te_le64(p + e64 + 40);
    d->offset = te_le64(p + e64 + 48);
    return TE_OK;
}

/* Sizes and offset saturated at 0xFFFFFFFF are in the zip64 extra field (id 1), in this order. */
static void zip64_extra(const uint8_t *x, size_t n, uint64_t *size, uint64_t *comp, uint64_t *local) {
    for (size_t at = 0; at + 4 <= n;) {
        size_t id = te_le16(x + at), len = te_le16(x + at + 2), k = at + 4;
        if (len > n - at - 4) return;
        if (id == 1) {
            uint64_t *fields[3] = {size, comp, local};
            for (int f = 0; f < 3; f++)
                if (*fields[f] == 0xFFFFFFFFu && k + 8 <= at + 4 + len) *fields[f] = te_le64(x + k), k += 8;
            return;
        }
        at += 4 + len;
    }
}

/* The central entry at *at (the directory ends at end): its name, method,
 * sizes, and data (through the local header). */
static te_status read_entry(const uint8_t *p, size_t size, size_t end, size_t *at, zip_entry *e, te_error *err) {
    const uint8_t *c = p + *at;
    if (end - *at < 46 || te_le32(c) != SIG_CENTRAL) return te_fail(err, TE_ERR_FORMAT, "zip: bad central directory entry");
    size_t name_len = te_le16(c + 28), extra_len = te_le16(c + 30), comment_len = te_le16(c + 32);
    if (name_len + extra_len + comment_len > end - *at - 46) return te_fail(err, TE_ERR_FORMAT, "zip: central directory entry runs past the end");
    uint64_t local = te_le32(c + 42);
    e->method = te_le16(c + 10);
    e->crc32 = te_le32(c + 16);
    e->comp_size = te_le32(c + 20);
    e->size = te_le32(c + 24);
    zip64_extra(c + 46 + name_len, extra_len, &e->size, &e->comp_size, &local);
    if (!(e->name = malloc(name_len + 1))) return te_fail(err, TE_ERR_NOMEM, "out of memory");
    memcpy(e->name, c + 46, name_len);
    e->name[name_len] = 0;
    *at += 46 + name_len + extra_len + comment_len;
    if (local > size - 30 || te_le32(p + local) != SIG_LOCAL)
        return te_fail(err, TE_ERR_FORMAT, "zip: entry %s: bad local header", e->name);
    uint64_t data = local + 30 + te_le16(p + local + 26) + te_le16(p + local + 28);
    if (data > size || e->comp_size > size - data)
        return te_fail(err, TE_ERR_TRUNCATED, "zip: entry %s: data runs past the end of the file (truncated?)", e->name);
    e->data = p + data;
    return TE_OK;
}

te_status zip_open(zip_archive *z, const uint8_t *p, size_t size, te_error *err) {
    memset(z, 0, sizeof *z);
    directory d = {0, 0, 0};
    te_status st = find_directory(p, size, &d, err);
    if (st != TE_OK) return st;
    if (d.offset > size || d.size > size - d.offset) return te_fail(err, TE_ERR_FORMAT, "zip: central directory outside the file");
    if (d.count > MAX_ENTRIES || d.count > d.size / 46) return te_fail(err, TE_ERR_FORMAT, "zip: implausible entry count");
    if (!(z->entries = calloc(d.count ? d.count : 1, sizeof *z->entries))) return te_fail(err, TE_ERR_NOMEM, "out of memory");
    size_t at = (size_t)d.offset;
    for (; z->n < d.count && st == TE_OK; z->n++) st = read_entry(p, size, (size_t)(d.offset + d.size), &at, &z->entries[z->n], err);
    if (st != TE_OK) zip_close(z);
    return st;
}

void zip_close(zip_archive *z) {
    for (size_t i = 0; i < z->n; i++) free(z->entries[i].name);
    free(z->entries);
    memset(z, 0, sizeof *z);
}

const zip_entry *zip_find(const zip_archive *z, const char *name) {
    for (size_t i = 0; i < z->n; i++)
        if (strcmp(z->entries[i].name, name) == 0) return &z->entries[i];
    return NULL;
}

te_status zip_read(const zip_entry *e, const uint8_t **bytes, uint8_t **owned, te_error *err) {
    *bytes = NULL, *owned = NULL;
    if (e->method == 0) {
        if (e->size != e->comp_size) return te_fail(err, TE_ERR_FORMAT, "zip: entry %s: stored with two sizes", e->name);
        *bytes = e->data;
    } else if (e->method == 8) {
        if (e->comp_size > (UINT64_MAX - 64) / 1032 || e->size > e->comp_size * 1032 + 64) /* deflate's largest ratio */
            return te_fail(err, TE_ERR_FORMAT, "zip: entry %s: %llu bytes cannot inflate to the %llu it claims", e->name,
                           (unsigned long long)e->comp_size, (unsigned long long)e->size);
        if (e->size > SIZE_MAX - 1 || !(*owned = malloc(e->size ? (size_t)e->size : 1)))
            return te_fail(err, TE_ERR_NOMEM, "zip: entry %s: no memory for %llu bytes", e->name, (unsigned long long)e->size);
        te_status st = te_inflate(e->data, (size_t)e->comp_size, *owned, (size_t)e->size, err);
        if (st != TE_OK) {
            te_error_prefix(err, "zip: entry %s", e->name);
            free(*owned);
            *owned = NULL;
            return st;
        }
        *bytes = *owned;
    } else {
        return te_fail(err, TE_ERR_UNSUPPORTED, "zip: entry %s: compression method %d (stored and deflated are read)",
                       e->name, e->method);
    }
    if (te_crc32_differs(te_crc32_update(0, *bytes, (size_t)e->size), e->crc32)) {
        free(*owned);
        *owned = NULL, *bytes = NULL;
        return te_fail(err, TE_ERR_CHECKSUM, "zip: entry %s: CRC-32 mismatch (the file is damaged)", e->name);
    }
    return TE_OK;
}
