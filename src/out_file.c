/*
 * out_file.c - atomic file output (see out_file.h), shared by the .temb
 * writer and the search index writer.
 */
#include "out_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

te_status te_out_pwrite(te_out_file *o, const void *data, size_t n, uint64_t off, const char *path, te_error *err) {
    const uint8_t *p = data;
    while (n > 0) {
        ssize_t k = pwrite(o->fd, p, n, (off_t)off);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) return te_fail(err, TE_ERR_IO, "%s: write failed: %s", path, k < 0 ? strerror(errno) : "no progress");
        p += k;
        n -= (size_t)k;
        off += (uint64_t)k;
    }
    return TE_OK;
}

te_status te_out_open(te_out_file *o, const char *path, te_error *err) {
    o->anonymous = 0;
    o->part[0] = '\0';
#ifdef O_TMPFILE
    char dir[4096];
    const char *slash = strrchr(path, '/');
    if (!slash) snprintf(dir, sizeof dir, ".");
    else if (slash == path) snprintf(dir, sizeof dir, "/");
    else snprintf(dir, sizeof dir, "%.*s", (int)(slash - path), path);
    o->fd = open(dir, O_TMPFILE | O_WRONLY | O_CLOEXEC, 0644);
    if (o->fd >= 0) { o->anonymous = 1; return TE_OK; }
#endif
    if ((size_t)snprintf(o->part, sizeof o->part, "%s.part", path) >= sizeof o->part)
        return te_fail(err, TE_ERR_ARG, "output path too long");
    o->fd = open(o->part, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (o->fd < 0) return te_fail(err, errno == ENOENT ? TE_ERR_NOT_FOUND : TE_ERR_IO, "%s: cannot create: %s", o->part, strerror(errno));
    return TE_OK;
}

te_status te_out_commit(te_out_file *o, const char *path, te_error *err) {
    if (fsync(o->fd) != 0) return te_fail(err, TE_ERR_IO, "%s: fsync failed: %s", path, strerror(errno));
    if (o->anonymous) {
        /* linkat cannot replace an existing file: link under a unique name, then rename. */
        char proc[64], tmp[4096 + 32];
        snprintf(proc, sizeof proc, "/proc/self/fd/%d", o->fd);
        for (int attempt = 0;; attempt++) {
            snprintf(tmp, sizeof tmp, "%s.%ld.%d.part", path, (long)getpid(), attempt);
            if (linkat(AT_FDCWD, proc, AT_FDCWD, tmp, AT_SYMLINK_FOLLOW) == 0) break;
            if (errno != EEXIST || attempt > 100)
                return te_fail(err, TE_ERR_IO, "%s: cannot link the finished file: %s", path, strerror(errno));
        }
        if (rename(tmp, path) != 0) {
            int e = errno;
            unlink(tmp);
            return te_fail(err, TE_ERR_IO, "%s: rename failed: %s", path, strerror(e));
        }
    } else {
        if (rename(o->part, path) != 0) return te_fail(err, TE_ERR_IO, "%s: rename failed: %s", path, strerror(errno));
        o->part[0] = '\0';
    }
    close(o->fd);
    o->fd = -1;
    return TE_OK;
}

void te_out_abort(te_out_file *o) {
    if (o->fd >= 0) close(o->fd);
    if (!o->anonymous && o->part[0]) unlink(o->part);
    o->fd = -1;
}

