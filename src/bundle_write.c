/*
 * bundle_write.c - te_bundle_write: an executable and a checked .temb model
 * into one file (the layout is in bundle.c), written beside the target and
 * renamed over it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bundle.h"
#include "crc32.h"
#include "internal.h"

/* The bytes of an open file to copy: the whole file, or what a bundle
 * trailer says (the model of a bundle, or the executable of one). */
typedef struct source {
    int fd;
    uint64_t offset, bytes;
} source;

static te_status open_source(const char *path, int want_model, source *s, te_error *err) {
    s->fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (s->fd < 0) return te_fail(err, errno == ENOENT ? TE_ERR_NOT_FOUND : TE_ERR_IO, "%s: %s", path, strerror(errno));
    struct stat st;
    if (fstat(s->fd, &st) != 0 || !S_ISREG(st.st_mode)) return te_fail(err, TE_ERR_ARG, "%s: not a regular file", path);
    te_bundle_range r;
    int found = te_bundle_read(s->fd, (uint64_t)st.st_size, &r, err);
    if (found < 0) {
        te_error_prefix(err, "%s", path);
        return err ? err->code : TE_ERR_FORMAT;
    }
    s->offset = found && want_model ? r.offset : 0;
    s->bytes = !found ? (uint64_t)st.st_size : want_model ? r.bytes : r.exe_bytes;
    return TE_OK;
}

static te_status write_all(int fd, const void *p, size_t n, te_error *err) {
    const uint8_t *b = p;
    while (n) {
        ssize_t k = write(fd, b, n);
        if (k < 0 && errno == EINTR) continue;
        if (k < 0) return te_fail(err, TE_ERR_IO, "cannot write the bundle: %s", strerror(errno));
        b += k;
        n -= (size_t)k;
    }
    return TE_OK;
}

/* Copies [s->offset, + s->bytes) to fd; adds it to *crc when crc is not NULL. */
static te_status copy_range(const source *s, int fd, const char *what, uint32_t *crc, te_error *err) {
    enum { CHUNK = 1 << 20 };
    uint8_t *buf = malloc(CHUNK);
    if (!buf) return te_fail(err, TE_ERR_NOMEM, "out of memory");
    te_status st = TE_OK;
    for (uint64_t done = 0; st == TE_OK && done < s->bytes;) {
        size_t want = s->bytes - done < CHUNK ? (size_t)(s->bytes - done) : CHUNK;
        ssize_t n = pread(s->fd, buf, want, (off_t)(s->offset + done));
        if (n <= 0) {
            st = te_fail(err, TE_ERR_IO, "%s: %s", what, n < 0 ? strerror(errno) : "the file got shorter while being read");
            break;
        }
        if (crc) *crc = te_crc32_update(*crc, buf, (size_t)n);
        st = write_all(fd, buf, (size_t)n, err);
        done += (uint64_t)n;
    }
    free(buf);
    return st;
}

static te_status check_model(const char *path, te_error *err) {
    te_open_opts o = {.verify_checksums = 1};
    te_model *m = te_open(path, &o, err);
    if (!m) return err ? err->code : TE_ERR_FORMAT;
    te_close(m);
    return TE_OK;
}

static te_status check_exe(const source *exe, const char *path, te_error *err) {
    uint8_t magic[4];
    if (pread(exe->fd, magic, 4, 0) != 4 || memcmp(magic, "\x7f" "ELF", 4) != 0)
        return te_fail(err, TE_ERR_ARG, "%s: not an executable (ELF) file", path);
    return TE_OK;
}

te_status te_bundle_write(const char *exe_path, const char *model_path, const char *out_path, size_t align,
                          te_error *err) {
    te_error_clear(err);
    if (!exe_path || !model_path || !out_path) return te_fail(err, TE_ERR_ARG, "te_bundle_write: a path is NULL");
    if (align == 0) align = TE_BUNDLE_ALIGN;
    if (align < 4096 || (align & (align - 1)) || align > (1u << 24))
        return te_fail(err, TE_ERR_ARG, "bundle alignment must be a power of two from 4096 to 16M (got %zu)", align);
    te_status st = check_model(model_path, err);
    if (st != TE_OK) return st;
    /* Written beside the target and renamed over it: readers of OUT see the old file or the whole new one. */
    size_t len = strlen(out_path) + 16;
    char *tmp = malloc(len);
    if (!tmp) return te_fail(err, TE_ERR_NOMEM, "out of memory");
    snprintf(tmp, len, "%s.tmp.XXXXXX", out_path);
    source exe = {-1, 0, 0}, model = {-1, 0, 0};
    int fd = -1;
    st = open_source(exe_path, 0, &exe, err);
    if (st == TE_OK) st = check_exe(&exe, exe_path, err);
    if (st == TE_OK) st = open_source(model_path, 1, &model, err);
    if (st == TE_OK && (fd = mkstemp(tmp)) < 0)
        st = te_fail(err, TE_ERR_IO, "%s: cannot create: %s", out_path, strerror(errno));
    uint64_t model_offset = te_align_up(exe.bytes, align);
    uint32_t crc = 0;
    if (st == TE_OK) st = copy_range(&exe, fd, exe_path, NULL, err);
    if (st == TE_OK && ftruncate(fd, (off_t)model_offset) != 0)
        st = te_fail(err, TE_ERR_IO, "cannot write the bundle: %s", strerror(errno));
    if (st == TE_OK && lseek(fd, (off_t)model_offset, SEEK_SET) < 0)
        st = te_fail(err, TE_ERR_IO, "cannot write the bundle: %s", strerror(errno));
    if (st == TE_OK) st = copy_range(&model, fd, model_path, &crc, err);
    if (st == TE_OK) {
        uint8_t t[TE_BUNDLE_TRAILER];
        memcpy(t, TE_BUNDLE_MAGIC, 8);
        te_put64(t + 8, exe.bytes);
        te_put64(t + 16, model_offset);
        te_put64(t + 24, model.bytes);
        te_put32(t + 32, crc);
        te_put32(t + 36, te_crc32_update(0, t, TE_BUNDLE_TRAILER - 4));
        st = write_all(fd, t, sizeof t, err);
    }
    if (st == TE_OK && fchmod(fd, 0755) != 0) st = te_fail(err, TE_ERR_IO, "%s: chmod: %s", out_path, strerror(errno));
    if (st == TE_OK && fsync(fd) != 0) st = te_fail(err, TE_ERR_IO, "cannot write the bundle: %s", strerror(errno));
    if (fd >= 0 && close(fd) != 0 && st == TE_OK) st = te_fail(err, TE_ERR_IO, "cannot write the bundle: %s", strerror(errno));
    if (st == TE_OK && rename(tmp, out_path) != 0) st = te_fail(err, TE_ERR_IO, "%s: cannot rename into place: %s", out_path, strerror(errno));
    if (st != TE_OK && fd >= 0) unlink(tmp);
    free(tmp);
    if (exe.fd >= 0) close(exe.fd);
    if (model.fd >= 0) close(model.fd);
    return st;
}
