/*
 * bundle.c - one file to ship: an executable with a .temb model appended;
 * this file finds the model in one (bundle_write.c makes them).
 *
 *   executable | zero padding to TE_BUNDLE_ALIGN | model (.temb, unchanged) | trailer
 *
 * The model keeps its own layout, so te_open maps it straight out of the
 * bundle at model_offset (a multiple of the page size) and every offset in
 * it stays relative to its own start: loading strategies, residency and
 * te_verify work as for a separate file. The trailer sits at the very end
 * because that is the one place an executable loader never looks at and a
 * reader finds without scanning.
 */
#include "bundle.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crc32.h"
#include "internal.h"

/* Whether the page holding byte `off` of fd is in the page cache. */
static int page_cached(int fd, uint64_t off, size_t page) {
    uint64_t start = off / page * page;
    void *p = mmap(NULL, page, PROT_READ, MAP_SHARED, fd, (off_t)start);
    if (p == MAP_FAILED) return 1;
    unsigned char v = 1;
    if (mincore(p, page, &v) != 0) v = 1;
    munmap(p, page);
    return v & 1;
}

/* Reads the last bytes of the file, leaving the page cache as it found it:
 * opening a plain .temb lazily must not bring in its last tensor page. */
static int read_tail(int fd, uint64_t file_size, uint8_t *t) {
    long ps = sysconf(_SC_PAGESIZE);
    size_t page = ps > 0 ? (size_t)ps : 4096;
    uint64_t off = file_size - TE_BUNDLE_TRAILER;
    int cached = page_cached(fd, off, page) && page_cached(fd, file_size - 1, page);
    int ok = pread(fd, t, TE_BUNDLE_TRAILER, (off_t)off) == TE_BUNDLE_TRAILER;
    if (!cached) posix_fadvise(fd, (off_t)(off / page * page), 0, POSIX_FADV_DONTNEED);
    return ok;
}

int te_bundle_read(int fd, uint64_t file_size, te_bundle_range *out, te_error *err) {
    uint8_t t[TE_BUNDLE_TRAILER];
    if (file_size < TE_BUNDLE_TRAILER || !read_tail(fd, file_size, t) || memcmp(t, TE_BUNDLE_MAGIC, 8) != 0)
        return 0;
    if (te_crc32_differs(te_crc32_update(0, t, TE_BUNDLE_TRAILER - 4), te_le32(t + 36))) {
        te_fail(err, TE_ERR_CHECKSUM, "the bundle's trailer is damaged (checksum mismatch)");
        return -1;
    }
    *out = (te_bundle_range){te_le64(t + 8), te_le64(t + 16), te_le64(t + 24), te_le32(t + 32)};
    uint64_t room = file_size - TE_BUNDLE_TRAILER;
    if (out->exe_bytes > out->offset || out->offset > room || out->bytes > room - out->offset || out->bytes == 0) {
        te_fail(err, TE_ERR_FORMAT, "the bundle's trailer points outside the file (model at %llu, %llu bytes, file %llu bytes)",
                (unsigned long long)out->offset, (unsigned long long)out->bytes, (unsigned long long)file_size);
        return -1;
    }
    return 1;
}

te_status te_bundle_locate(const char *path, uint64_t *offset, uint64_t *bytes, te_error *err) {
    te_error_clear(err);
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) return te_fail(err, errno == ENOENT ? TE_ERR_NOT_FOUND : TE_ERR_IO, "%s: %s", path, strerror(errno));
    struct stat st;
    te_bundle_range r;
    int found = 0;
    te_status rc = TE_OK;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) rc = te_fail(err, TE_ERR_ARG, "%s: not a regular file", path);
    else if ((found = te_bundle_read(fd, (uint64_t)st.st_size, &r, err)) < 0) rc = err ? err->code : TE_ERR_FORMAT;
    else if (!found) rc = te_fail(err, TE_ERR_NOT_FOUND, "%s: no model is bundled in this file", path);
    close(fd);
    if (rc != TE_OK) {
        if (found < 0) te_error_prefix(err, "%s", path);
        return rc;
    }
    if (offset) *offset = r.offset;
    if (bytes) *bytes = r.bytes;
    return TE_OK;
}
