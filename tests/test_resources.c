/*
 * test_resources.c - running out of disk, failing reads and a model file
 * truncated while open. Writers (te_convert, te_quantize, the index builder,
 * te_bundle_write) run in a child process under RLIMIT_FSIZE at limits that
 * stop them at every stage, from the first byte to the last; each must fail
 * with TE_ERR_IO naming the cause, leave no file and no temporary file, and
 * leave an older file of the same name untouched. A read error (EIO
 * for config.json) is reported as such. A model truncated after
 * te_open is refused by te_verify and the loader, and reported by
 * te_model_get_status, without a single lost page being read.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "model.h"
#include "tinyembed.h"

static char dir[] = "/tmp/te_resources_XXXXXX";
static char model[1024], hf[1024];

/* Entries of dir other than keep (NULL: none). */
static int entries_except(const char *keep) {
    DIR *d = opendir(dir);
    int n = 0;
    for (struct dirent *e; d && (e = readdir(d));)
        n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..") && (!keep || strcmp(e->d_name, keep));
    if (d) closedir(d);
    return n;
}

typedef enum { W_CONVERT, W_QUANTIZE, W_INDEX, W_BUNDLE } writer;
static const char *const writer_names[] = {"te_convert", "te_quantize", "te_index_builder_write", "te_bundle_write"};

static te_status index_write(const char *out, te_error *err) {
    te_index_build_opts o = {.dim = 4, .dtype = TE_DTYPE_F32, .model_name = "test"};
    te_index_builder *b = te_index_builder_new(&o, err);
    if (!b) return err->code;
    te_status st = TE_OK;
    for (int i = 0; i < 2000 && st == TE_OK; i++) {
        char id[32], text[96];
        snprintf(id, sizeof id, "doc%d", i);
        snprintf(text, sizeof text, "document %d talks about cats %d and dogs %d", i, i % 7, i % 13);
        float v[4] = {1.0f, (float)(i % 5), (float)(i % 3), 0.5f};
        te_index_doc d = {.id = id, .id_len = strlen(id), .text = text, .text_len = strlen(text), .vector = v};
        st = te_index_builder_add(b, &d, err);
    }
    if (st == TE_OK) st = te_index_builder_write(b, out, err);
    te_index_builder_free(b);
    return st;
}

static te_status run_writer(writer w, const char *out, te_error *err) {
    switch (w) {
    case W_CONVERT: return te_convert(hf, out, NULL, err);
    case W_QUANTIZE: return te_quantize(model, out, TE_DTYPE_I8, NULL, NULL, err);
    case W_INDEX: return index_write(out, err);
    default: {
        char exe[1200];
        snprintf(exe, sizeof exe, "%s/../tinyembed", getenv("TE_TESTDATA"));
        return te_bundle_write(exe, model, out, 0, err);
    }
    }
}

/* Runs writer w into dir/out.bin in a child limited to `limit` bytes per file;
 * returns its status and message through a pipe. */
static te_status limited_run(writer w, rlim_t limit, te_error *err) {
    int fds[2];
    if (pipe(fds) != 0) return TE_ERR_IO;
    pid_t pid = fork();
    if (pid == 0) {
        close(fds[0]);
        signal(SIGXFSZ, SIG_IGN); /* as the CLI does: the write fails with EFBIG instead */
        struct rlimit r = {limit, limit};
        te_error e = {0};
        if (setrlimit(RLIMIT_FSIZE, &r) != 0) _exit(3);
        char out[1200];
        snprintf(out, sizeof out, "%s/out.bin", dir);
        e.code = run_writer(w, out, &e);
        ssize_t n = write(fds[1], &e, sizeof e);
        _exit(n == (ssize_t)sizeof e ? 0 : 4);
    }
    close(fds[1]);
    memset(err, 0, sizeof *err);
    ssize_t n = read(fds[0], err, sizeof *err);
    close(fds[0]);
    int status;
    waitpid(pid, &status, 0);
    if (n != (ssize_t)sizeof *err || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        snprintf(err->msg, sizeof err->msg, "the child did not report (status %d)", status);
        return TE_ERR_ARG;
    }
    return err->code;
}

/* The full output's size, then runs under limits from 0 to size - 1. */
static void check_disk_full(writer w) {
    te_error err;
    char out[1200];
    snprintf(out, sizeof out, "%s/out.bin", dir);
    CHECK_MSG(limited_run(w, RLIM_INFINITY, &err) == TE_OK, "%s without a limit: %s", writer_names[w], err.msg);
    struct stat st;
    CHECK(stat(out, &st) == 0 && st.st_size > 4096);
    rlim_t size = (rlim_t)st.st_size;
    /* The old file stays in place through every failure, byte for byte. */
    size_t old_len;
    char *old = th_read_file(out, &old_len);
    CHECK(old);
    const rlim_t limits[] = {0, 1, 100, 4096, 65536, size / 4, size / 2, size - 4096, size - 1};
    for (size_t i = 0; i < sizeof limits / sizeof limits[0]; i++) {
        if (limits[i] >= size) continue;
        te_status s = limited_run(w, limits[i], &err);
        CHECK_MSG(s == TE_ERR_IO, "%s at a %llu-byte limit (of %llu): status %d: %s", writer_names[w],
                  (unsigned long long)limits[i], (unsigned long long)size, s, err.msg);
        CHECK_MSG(strstr(err.msg, strerror(EFBIG)) != NULL, "%s: the message does not name the cause: %s",
                  writer_names[w], err.msg);
        CHECK_MSG(entries_except("out.bin") == 0, "%s at a %llu-byte limit left a temporary file", writer_names[w],
                  (unsigned long long)limits[i]);
        size_t now_len;
        char *now = th_read_file(out, &now_len);
        int same = now && now_len == old_len && memcmp(now, old, old_len) == 0;
        free(now);
        CHECK_MSG(same, "%s at a %llu-byte limit changed the existing file", writer_names[w], (unsigned long long)limits[i]);
    }
    free(old);
    unlink(out);
    /* No old file: a failure leaves nothing at all. */
    CHECK(limited_run(w, size / 2, &err) == TE_ERR_IO);
    CHECK_EQ_INT(entries_except(NULL), 0);
}

TEST(convert_on_a_full_disk_leaves_nothing) { check_disk_full(W_CONVERT); }
TEST(quantize_on_a_full_disk_leaves_nothing) { check_disk_full(W_QUANTIZE); }
TEST(index_on_a_full_disk_leaves_nothing) { check_disk_full(W_INDEX); }
TEST(bundle_on_a_full_disk_leaves_nothing) { check_disk_full(W_BUNDLE); }

/* A copy of the HF directory (symlinks) with config.json pointing at
 * /proc/self/mem: a regular file that opens, whose first read fails with EIO
 * (address 0 is not mapped) -- a disk's read error without a failing disk. */
TEST(convert_reports_a_read_error) {
    char src[1400], copy[1200], out[1400];
    snprintf(copy, sizeof copy, "%s/hf", dir);
    CHECK(mkdir(copy, 0700) == 0);
    static const char *const files[] = {"model.safetensors", "tokenizer.json", "vocab.txt", "tokenizer_config.json",
                                        "special_tokens_map.json", "modules.json", "sentence_bert_config.json",
                                        "1_Pooling"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        snprintf(src, sizeof src, "%s/%s", hf, files[i]);
        snprintf(out, sizeof out, "%s/%s", copy, files[i]);
        CHECK(symlink(src, out) == 0);
    }
    snprintf(out, sizeof out, "%s/config.json", copy);
    CHECK(symlink("/proc/self/mem", out) == 0);
    te_error err;
    snprintf(out, sizeof out, "%s/out.temb", dir);
    te_status st = te_convert(copy, out, NULL, &err);
    CHECK_MSG(st == TE_ERR_IO, "status %d: %s", st, err.msg);
    CHECK_HAS(err.msg, "config.json");
    CHECK_HAS(err.msg, strerror(EIO));
    CHECK(access(out, F_OK) != 0);
    CHECK(system("rm -rf /tmp/te_resources_*/hf") == 0);
}

/* Copies the model to dir/shrink.temb; returns its size. */
static long copy_model(const char *to) {
    size_t len;
    char *data = th_read_file(model, &len);
    int ok = data && th_write_file(to, data, len) == 0;
    free(data);
    return ok ? (long)len : -1;
}

TEST(truncated_while_open_is_refused_not_read) {
    char path[1200];
    snprintf(path, sizeof path, "%s/shrink.temb", dir);
    long size = copy_model(path);
    CHECK(size > 0);
    te_error err;
    te_model *m = te_open(path, NULL, &err);
    CHECK_MSG(m, "%s", err.msg);
    te_model_status s;
    CHECK(te_model_get_status(m, &s) == TE_OK);
    CHECK_EQ_INT(s.file_bytes_present, s.file_bytes);
    CHECK(te_verify(m, &err) == TE_OK);
    /* Another writer truncates the file in place (what te_open's comment forbids). */
    CHECK(truncate(path, size / 2) == 0);
    te_status st = te_verify(m, &err);
    CHECK_MSG(st == TE_ERR_TRUNCATED, "te_verify after truncation: status %d: %s", st, err.msg);
    CHECK_HAS(err.msg, "truncated after it was opened");
    CHECK(te_model_get_status(m, &s) == TE_OK);
    CHECK_EQ_INT(s.file_bytes_present, size / 2);
    CHECK(s.file_bytes == (uint64_t)size);
    te_close(m);
    /* Reopened, the short file is refused outright. */
    CHECK(te_open(path, NULL, &err) == NULL && err.code == TE_ERR_TRUNCATED);
    unlink(path);
}

/* The loader's progress hook: after its first chunk, another writer cuts the file in half. */
static int cut_fd = -1;
static long cut_to;
static void cut_after_first_chunk(void *user, uint64_t done, uint64_t total) {
    (void)user, (void)done, (void)total;
    if (cut_fd >= 0 && ftruncate(cut_fd, cut_to) == 0) {
        close(cut_fd);
        cut_fd = -1;
    }
}

TEST(truncated_while_loading_fails_the_load) {
    char path[1200];
    snprintf(path, sizeof path, "%s/shrink.temb", dir);
    long size = copy_model(path);
    CHECK(size > 0);
    cut_fd = open(path, O_RDWR);
    cut_to = size / 2;
    CHECK(cut_fd >= 0);
    te_error err;
    te_open_opts o = {.strategy = TE_STRATEGY_BACKGROUND};
    te_model *m = te_open_internal(path, &o, cut_after_first_chunk, NULL, &err);
    CHECK_MSG(m, "%s", err.msg);
    te_status st = te_wait_ready(m, -1);
    te_model_status s;
    CHECK(te_model_get_status(m, &s) == TE_OK);
    CHECK_MSG(st == TE_ERR_TRUNCATED && s.state == TE_LOAD_FAILED, "status %d, state %d: %s", st, s.state,
              s.last_error.msg);
    CHECK_HAS(s.last_error.msg, "truncated after it was opened");
    CHECK_EQ_INT(s.file_bytes_present, size / 2);
    te_close(m);
    unlink(path);
}

int main(void) {
    th_path(model, sizeof model, "TE_TESTDATA", "tiny-mean.temb");
    th_path(hf, sizeof hf, "TE_HF", "tiny-mean");
    if (!mkdtemp(dir)) return 2;
    RUN(convert_on_a_full_disk_leaves_nothing);
    RUN(quantize_on_a_full_disk_leaves_nothing);
    RUN(index_on_a_full_disk_leaves_nothing);
    RUN(bundle_on_a_full_disk_leaves_nothing);
    RUN(convert_reports_a_read_error);
    RUN(truncated_while_open_is_refused_not_read);
    RUN(truncated_while_loading_fails_the_load);
    rmdir(dir);
    return th_done();
}
