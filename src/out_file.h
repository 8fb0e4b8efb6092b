/*
 * out_file.h - writing a file atomically: it is built unnamed (O_TMPFILE)
 * where the filesystem allows, else under "<path>.part", and appears under
 * its name only when complete. A failed or killed write leaves no file and
 * never a half-written one in place of the old.
 */
#ifndef TE_OUT_FILE_H
#define TE_OUT_FILE_H

#include <stddef.h>
#include <stdint.h>

#include "tinyembed.h"

typedef struct te_out_file {
    int fd;
    int anonymous;         /* O_TMPFILE: nothing to clean up */
    char part[4096 + 16];  /* "<path>.part" when not anonymous */
} te_out_file;

te_status te_out_open(te_out_file *o, const char *path, te_error *err);
/* pwrite of all n bytes at `off` (retrying short writes and EINTR). */
te_status te_out_pwrite(te_out_file *o, const void *data, size_t n, uint64_t off, const char *path, te_error *err);
/* fsync, then makes the file visible under `path` (replacing any old one) and closes it. */
te_status te_out_commit(te_out_file *o, const char *path, te_error *err);
/* Closes and removes whatever was written (after an error). */
void te_out_abort(te_out_file *o);

#endif
