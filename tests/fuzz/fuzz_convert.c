/*
 * fuzz_convert.c - libFuzzer target for the converter's inputs: config.json,
 * tokenizer.json, model.safetensors, vocab.txt and the sentence-transformers
 * files, as one fuzz input split at each "\n=====\n" line into the files
 * named in `files` (an empty part: that file is absent). The directory is
 * written to a private temporary folder and converted. A conversion either
 * succeeds with a file te_open and te_verify accept, or fails with a message
 * and leaves nothing behind: no .temb, no temporary file.
 */
#include <assert.h>
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tinyembed.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const files[] = {"config.json",           "tokenizer.json",           "model.safetensors",
                                    "modules.json",          "1_Pooling/config.json",    "sentence_bert_config.json",
                                    "tokenizer_config.json", "vocab.txt"};
enum { N_FILES = sizeof files / sizeof files[0] };
static const char sep[] = "\n=====\n";

static char work[4096]; /* the process's work folder, once made */

static void remove_work_dir(void) {
    char path[4200];
    for (int i = 0; i < N_FILES; i++) {
        snprintf(path, sizeof path, "%s/%s", work, files[i]);
        unlink(path);
    }
    snprintf(path, sizeof path, "%s/out.temb", work);
    unlink(path);
    snprintf(path, sizeof path, "%s/1_Pooling", work);
    rmdir(path);
    rmdir(work);
}

/* Made once per process under $TMPDIR (default /tmp), removed at exit. */
static const char *work_dir(void) {
    if (!work[0]) {
        const char *t = getenv("TMPDIR");
        snprintf(work, sizeof work, "%s/fuzz_convert.XXXXXX", t && t[0] ? t : "/tmp");
        if (!mkdtemp(work)) abort();
        char sub[4200];
        snprintf(sub, sizeof sub, "%s/1_Pooling", work);
        if (mkdir(sub, 0700) != 0) abort();
        atexit(remove_work_dir);
    }
    return work;
}

static void put(const char *dir, const char *name, const uint8_t *p, size_t n) {
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    unlink(path);
    if (!p) return;
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(p, 1, n, f) != n || fclose(f) != 0) abort();
}

/* Entries of dir other than the inputs, 1_Pooling and (if allowed) out.temb. */
static int strays(const char *dir, int allow_out) {
    DIR *d = opendir(dir);
    if (!d) abort();
    int n = 0;
    for (struct dirent *e; (e = readdir(d));) {
        int known = !strcmp(e->d_name, ".") || !strcmp(e->d_name, "..") || !strcmp(e->d_name, "1_Pooling") ||
                    (allow_out && !strcmp(e->d_name, "out.temb"));
        for (int i = 0; i < N_FILES; i++) known |= !strcmp(e->d_name, files[i]);
        n += !known;
    }
    closedir(d);
    return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *dir = work_dir();
    const uint8_t *p = data, *end = data + size;
    for (int i = 0; i < N_FILES; i++) {
        const uint8_t *next = p < end ? memmem(p, (size_t)(end - p), sep, sizeof sep - 1) : NULL;
        const uint8_t *stop = next ? next : end;
        put(dir, files[i], stop > p ? p : NULL, (size_t)(stop - p));
        p = next ? next + sizeof sep - 1 : end;
    }
    char out[4200];
    snprintf(out, sizeof out, "%s/out.temb", dir);
    te_convert_opts o;
    te_convert_opts_default(&o);
    /* One short text for the output range: calibrating on the built-in sample would be most of each run. */
    static const char *const calibration[] = {"a calibration text"};
    o.calibration_texts = calibration;
    o.n_calibration_texts = 1;
    te_error err;
    if (te_convert(dir, out, &o, &err) != TE_OK) {
        assert(err.msg[0]);
        assert(access(out, F_OK) != 0 && strays(dir, 0) == 0);
        return 0;
    }
    assert(strays(dir, 1) == 0);
    te_model *m = te_open(out, NULL, &err);
    if (!m) fprintf(stderr, "converted but refused: %s\n", te_errmsg(&err));
    assert(m && te_verify(m, &err) == TE_OK);
    te_close(m);
    unlink(out);
    return 0;
}
