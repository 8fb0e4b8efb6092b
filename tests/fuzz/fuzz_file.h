/*
 * fuzz_file.h - the fuzz input as a file the library can open by path: an
 * anonymous in-memory file (memfd, nothing touches the disk) named through
 * /proc/self/fd. The library maps it exactly as it maps a model on disk.
 */
#ifndef TE_FUZZ_FILE_H
#define TE_FUZZ_FILE_H

#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

/* Returns the descriptor (close it when done) and fills path, or -1. */
static int fuzz_file(const uint8_t *data, size_t size, char path[64]) {
    int fd = memfd_create("fuzz-input", 0);
    if (fd < 0) return -1;
    size_t off = 0;
    while (off < size) {
        ssize_t n = write(fd, data + off, size - off);
        if (n <= 0) {
            close(fd);
            return -1;
        }
        off += (size_t)n;
    }
    snprintf(path, 64, "/proc/self/fd/%d", fd);
    return fd;
}

#endif
