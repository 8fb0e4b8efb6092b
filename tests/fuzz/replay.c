/*
 * replay.c - runs a fuzz target's entry point over its committed inputs
 * without libFuzzer, so that the normal test suite (any compiler, ASan,
 * TSan) checks every seed and every input that once crashed:
 * tests/fuzz/corpus/NAME and tests/fuzz/regress/NAME, from the repository
 * root. FUZZ_NAME is set by the Makefile.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int by_name(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Runs every file of dir in name order; returns how many, or -1 on an I/O error. */
static int replay_dir(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) return 0;
    char *names[4096];
    int n = 0;
    for (struct dirent *e; (e = readdir(d)) && n < 4096;)
        if (e->d_name[0] != '.') names[n++] = strdup(e->d_name);
    closedir(d);
    qsort(names, (size_t)n, sizeof names[0], by_name);
    int done = 0;
    for (int i = 0; i < n; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        FILE *f = fopen(path, "rb");
        uint8_t *buf = NULL;
        long size = -1;
        if (f && fseek(f, 0, SEEK_END) == 0 && (size = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0) {
            buf = malloc(size ? (size_t)size : 1);
            if (buf && fread(buf, 1, (size_t)size, f) != (size_t)size) size = -1;
        }
        if (f) fclose(f);
        if (!buf || size < 0) {
            printf("FAIL fuzz_%s: cannot read %s\n", FUZZ_NAME, path);
            done = -1;
        } else {
            /* A copy of exactly `size` bytes, so ASan sees reads past the input. */
            LLVMFuzzerTestOneInput(buf, (size_t)size);
            if (done >= 0) done++;
        }
        free(buf);
        free(names[i]);
    }
    return done;
}

int main(void) {
    /* Twice: with this CPU's kernels and with the scalar ones, which ARM runs
     * for int8 and which make fuzz-slice fuzzes (TE_FUZZ_SIMD). */
    int seeds = 0, crashes = 0;
    for (int pass = 0; pass < 2 && seeds >= 0 && crashes >= 0; pass++) {
        if (pass == 1 && setenv("TE_FUZZ_SIMD", "scalar", 1) != 0) return 1;
        seeds = replay_dir("tests/fuzz/corpus/" FUZZ_NAME);
        crashes = replay_dir("tests/fuzz/regress/" FUZZ_NAME);
    }
    if (seeds < 0 || crashes < 0) return 1;
    if (seeds == 0) {
        printf("FAIL fuzz_%s: no seed inputs in tests/fuzz/corpus/%s (run from the repository root)\n", FUZZ_NAME,
               FUZZ_NAME);
        return 1;
    }
    printf("PASS fuzz_%s replays %d seed and %d regression inputs\n", FUZZ_NAME, seeds, crashes);
    return 0;
}
