/*
 * soak.c - memory over a long run: N short texts of mixed lengths (1 to 40
 * words, a different text every call) embedded one by one through one
 * context, RSS sampled every 10,000 calls. After the first 10,000, RSS must
 * stay within 1 MB (max - min). Prints one "calls rss_kb" line per sample,
 * then PASS or FAIL with the min and max. By hand: tests/soak.sh.
 *   soak MODEL.temb [N]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tinyembed.h"

enum { SAMPLE = 10000 };

static long rss_kb(void) {
    long pages_total, pages_resident;
    FILE *f = fopen("/proc/self/statm", "r");
    if (!f) return -1;
    int ok = fscanf(f, "%ld %ld", &pages_total, &pages_resident) == 2;
    fclose(f);
    return ok ? pages_resident * (sysconf(_SC_PAGESIZE) / 1024) : -1;
}

int main(int argc, char **argv) {
    static const char *const words[] = {"the", "quick", "brown", "fox", "jumps", "over", "lazy", "dog", "embedding",
                                        "vectors", "search", "café", "naïve", "日本語", "테스트", "unbelievable",
                                        "tokenization", "42", "3.14", "e-mail", "don't", "[SEP]", "ÅNGSTRÖM", "!"};
    const size_t n_words = sizeof words / sizeof words[0];
    if (argc < 2) {
        fprintf(stderr, "usage: soak MODEL.temb [N]\n");
        return 2;
    }
    long n = argc > 2 ? atol(argv[2]) : 1000000;
    te_error err;
    te_model *m = te_open(argv[1], NULL, &err);
    te_ctx *c = m ? te_ctx_new(m, NULL, &err) : NULL;
    if (!c) {
        printf("FAIL soak: %s\n", te_errmsg(&err));
        return 1;
    }
    te_model_info in;
    te_model_get_info(m, &in);
    float *out = malloc((size_t)in.hidden_size * sizeof *out);
    char text[1024];
    unsigned long long rng = 88172645463325252ull;
    long lo = -1, hi = -1;
    for (long i = 1; i <= n; i++) {
        size_t len = 0;
        rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
        for (unsigned k = 0, nw = 1 + (unsigned)(rng % 40); k < nw; k++) {
            rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
            len += (size_t)snprintf(text + len, sizeof text - len, "%s%s", k ? " " : "", words[rng % n_words]);
        }
        const char *t = text;
        if (te_embed(c, &t, &len, 1, out, &err) != TE_OK) {
            printf("FAIL soak: call %ld: %s\n", i, te_errmsg(&err));
            return 1;
        }
        if (i % SAMPLE == 0) {
            long r = rss_kb();
            printf("%ld %ld\n", i, r);
            fflush(stdout);
            if (i > SAMPLE) {
                lo = lo < 0 || r < lo ? r : lo;
                hi = r > hi ? r : hi;
            }
        }
    }
    int ok = hi - lo <= 1024;
    printf("%s soak: %ld texts, RSS after the first %d: min %ld kB, max %ld kB (spread %ld kB, limit 1024)\n",
           ok ? "PASS" : "FAIL", n, SAMPLE, lo, hi, hi - lo);
    free(out);
    te_ctx_free(c);
    te_close(m);
    return !ok;
}
