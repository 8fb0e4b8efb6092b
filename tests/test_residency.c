/*
 * test_residency.c - te_open reads metadata only. With the model file evicted
 * from the page cache, opening it and reading its info must leave every
 * tensor page non-resident (checked with mincore).
 */
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"
#include "tinyembed.h"

/* Pages of [from, to) of the file resident in the page cache, or -1. The
 * mapping is PROT_NONE: valgrind reads the head of every readable file
 * mapping, which would page in what this counts. */
static long resident_pages(const char *path, size_t from, size_t to) {
    int fd = open(path, O_RDONLY);
    if (fd < 0) return -1;
    struct stat st;
    fstat(fd, &st);
    void *p = mmap(NULL, (size_t)st.st_size, PROT_NONE, MAP_SHARED, fd, 0);
    close(fd);
    if (p == MAP_FAILED) return -1;
    size_t page = (size_t)sysconf(_SC_PAGESIZE), n = ((size_t)st.st_size + page - 1) / page;
    unsigned char *vec = malloc(n);
    long count = -1;
    if (vec && mincore(p, (size_t)st.st_size, vec) == 0) {
        count = 0;
        for (size_t i = from / page; i < n && i * page < to; i++) count += vec[i] & 1;
    }
    free(vec);
    munmap(p, (size_t)st.st_size);
    return count;
}

static int evict(const char *path) {
    int fd = open(path, O_RDONLY);
    if (fd < 0) return -1;
    fdatasync(fd);
    int rc = posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
    close(fd);
    return rc;
}

static char path[1024];

TEST(open_and_info_touch_no_tensor_page) {
    te_error err;
    te_model *m = te_open(path, NULL, &err);
    CHECK_MSG(m, "%s", err.msg);
    te_tensor_info first;
    te_model_tensor(m, 0, &first);
    size_t data_start = (size_t)first.offset, size;
    te_model_info in;
    te_model_get_info(m, &in);
    size = (size_t)in.file_bytes;
    te_close(m);

    CHECK_EQ_INT(evict(path), 0);
    long before = resident_pages(path, 0, size);
    CHECK_MSG(before == 0, "could not evict %s from the page cache (%ld pages stay resident): "
              "this filesystem ignores POSIX_FADV_DONTNEED", path, before);

    m = te_open(path, NULL, &err);
    CHECK_MSG(m, "%s", err.msg);
    te_model_get_info(m, &in);
    for (size_t i = 0; i < te_model_n_tensors(m); i++) {
        te_tensor_info t;
        te_model_tensor(m, i, &t);
    }
    long meta = resident_pages(path, 0, data_start), tensors = resident_pages(path, data_start, size);
    te_close(m);
    printf("  after open+info: %ld metadata pages resident, %ld of %zu tensor pages resident\n", meta, tensors,
           (size - data_start) / 4096);
    CHECK(meta > 0);
    CHECK_EQ_INT(tensors, 0);
}

int main(void) {
    /* A private copy: no other process (a test program run beside) maps it, so it can be evicted. */
    if (!th_private_copy(path, sizeof path, "minilm-mean.temb")) {
        printf("FAIL cannot copy minilm-mean.temb\n");
        return 1;
    }
    RUN(open_and_info_touch_no_tensor_page);
    remove(path);
    return th_done();
}
