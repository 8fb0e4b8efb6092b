/*
 * sysinfo.c - what the machine offers (cores, memory, disk type) and the
 * page-cache helpers used to measure cold and warm starts honestly.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include "bundle.h"
#include "internal.h"
#include "kernels/kernels.h"

static uint64_t meminfo_kb(const char *key) {
    FILE *f = fopen("/proc/meminfo", "r");
    if (!f) return 0;
    char line[256];
    uint64_t v = 0;
    size_t klen = strlen(key);
    while (fgets(line, sizeof line, f))
        if (strncmp(line, key, klen) == 0 && line[klen] == ':') {
            v = strtoull(line + klen + 1, NULL, 10);
            break;
        }
    fclose(f);
    return v;
}

/* /sys/dev/block/MAJ:MIN/queue/rotational, or its parent disk's for a partition. */
static int rotational(const char *path) {
    struct stat st;
    if (!path || stat(path, &st) != 0 || major(st.st_dev) == 0) return -1;
    char dev[64], real[PATH_MAX], q[PATH_MAX + 32];
    snprintf(dev, sizeof dev, "/sys/dev/block/%u:%u", major(st.st_dev), minor(st.st_dev));
    if (!realpath(dev, real)) return -1;
    for (int up = 0; up < 2; up++) {
        snprintf(q, sizeof q, "%s/queue/rotational", real);
        FILE *f = fopen(q, "r");
        if (f) {
            int c = fgetc(f);
            fclose(f);
            return c == '1' ? 1 : c == '0' ? 0 : -1;
        }
        char *slash = strrchr(real, '/');
        if (!slash) break;
        *slash = '\0';
    }
    return -1;
}

te_status te_sysinfo_get(const char *path, te_sysinfo *out, te_error *err) {
    if (!out) return te_fail(err, TE_ERR_ARG, "te_sysinfo_get: out is NULL");
    memset(out, 0, sizeof *out);
    long cores = sysconf(_SC_NPROCESSORS_ONLN), page = sysconf(_SC_PAGESIZE), pages = sysconf(_SC_PHYS_PAGES);
    out->online_cores = cores > 0 ? (int)cores : 1;
    out->page_size = page > 0 ? page : 4096;
    out->mem_total = pages > 0 ? (uint64_t)pages * (uint64_t)out->page_size : 0;
    out->mem_available = meminfo_kb("MemAvailable") * 1024;
    if (!out->mem_available) {
        long avail = sysconf(_SC_AVPHYS_PAGES);
        out->mem_available = avail > 0 ? (uint64_t)avail * (uint64_t)out->page_size : 0;
    }
    const te_kernels *k = te_kernels_select(NULL);
    out->simd = k->name;
    out->rotational = rotational(path);
    return TE_OK;
}

/* Resident pages of [offset, offset + size) of an open file (offset page-aligned), via a
 * mapping made only for mincore: PROT_NONE, so that nothing, not even a tool such as
 * valgrind that reads the head of every readable file mapping, pages anything in. */
static te_status resident_fd(int fd, const char *path, uint64_t offset, uint64_t size, uint64_t *resident, te_error *err) {
    *resident = 0;
    if (size == 0) return TE_OK;
    void *p = mmap(NULL, (size_t)size, PROT_NONE, MAP_SHARED, fd, (off_t)offset);
    if (p == MAP_FAILED) return te_fail(err, TE_ERR_IO, "%s: mmap failed: %s", path, strerror(errno));
    size_t page = (size_t)sysconf(_SC_PAGESIZE), n = ((size_t)size + page - 1) / page;
    unsigned char *vec = malloc(n);
    te_status st = TE_OK;
    if (!vec) st = te_fail(err, TE_ERR_NOMEM, "out of memory");
    else if (mincore(p, (size_t)size, vec) != 0) st = te_fail(err, TE_ERR_IO, "%s: mincore failed: %s", path, strerror(errno));
    else
        for (size_t i = 0; i < n; i++)
            if (vec[i] & 1) *resident += (i + 1 == n) ? (uint64_t)size - (uint64_t)i * page : page;
    free(vec);
    munmap(p, (size_t)size);
    return st;
}

/* Opens `path` and finds the bytes that hold the model: the whole file, or
 * the appended model of a bundle. Returns the fd or -1 with err set. */
static int open_model_range(const char *path, uint64_t *offset, uint64_t *size, te_error *err) {
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) {
        te_fail(err, errno == ENOENT ? TE_ERR_NOT_FOUND : TE_ERR_IO, "%s: %s", path, strerror(errno));
        return -1;
    }
    struct stat st;
    te_bundle_range b;
    int found = 0;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) te_fail(err, TE_ERR_ARG, "%s: not a regular file", path);
    else if ((found = te_bundle_read(fd, (uint64_t)st.st_size, &b, err)) < 0) te_error_prefix(err, "%s", path);
    else {
        *offset = found ? b.offset : 0;
        *size = found ? b.bytes : (uint64_t)st.st_size;
        return fd;
    }
    close(fd);
    return -1;
}

te_status te_page_cache_resident(const char *path, uint64_t *resident, uint64_t *total, te_error *err) {
    uint64_t offset, size;
    int fd = open_model_range(path, &offset, &size, err);
    if (fd < 0) return err ? err->code : TE_ERR_IO;
    te_status st = resident_fd(fd, path, offset, size, resident, err);
    close(fd);
    if (total) *total = size;
    return st;
}

te_status te_page_cache_evict(const char *path, te_error *err) {
    uint64_t offset, size, resident = 0;
    int fd = open_model_range(path, &offset, &size, err);
    if (fd < 0) return err ? err->code : TE_ERR_IO;
    /* Dirty pages cannot be dropped: write them back first. */
    fdatasync(fd);
    /* Length 0: to the end of the file, so the model's last partial page goes
     * too (a bundle's trailer shares it). Pages still being read (readahead
     * a process that has just exited started) are skipped: try again a few
     * times, 20 ms apart. */
    int rc = 0;
    te_status st = TE_OK;
    for (int attempt = 0; attempt < 5; attempt++) {
        if (attempt) nanosleep(&(struct timespec){0, 20000000L}, NULL);
        rc = posix_fadvise(fd, (off_t)offset, 0, POSIX_FADV_DONTNEED);
        st = rc != 0 ? te_fail(err, TE_ERR_IO, "%s: posix_fadvise failed: %s", path, strerror(rc))
                     : resident_fd(fd, path, offset, size, &resident, err);
        if (st != TE_OK || resident == 0) break;
    }
    close(fd);
    if (st == TE_OK && resident > 0)
        st = te_fail(err, TE_ERR_UNSUPPORTED,
                     "%s: %llu of %llu bytes stay in the page cache after POSIX_FADV_DONTNEED (mapped by another "
                     "process, or a filesystem such as tmpfs that keeps files in memory)",
                     path, (unsigned long long)resident, (unsigned long long)size);
    return st;
}
