/*
 * test_bpe.c - byte-level BPE tokenizers (GPT-2, ModernBERT's GPT-NeoX one,
 * the real Qwen3-Embedding one) against the real Hugging Face `tokenizers`
 * goldens, single texts and pairs; byte spans; decoding back to the text
 * (and U+FFFD for half a character); the merge order on a word built to
 * test it; and the tokenizer's speed in MB/s (printed, not asserted).
 */
#include <time.h>

#include "harness.h"
#include "json.h"
#include "tinyembed.h"
#include "tok_golden.h"

static const char *const tokenizers[] = {"bpe-gpt2", "bpe-modernbert", "bpe-qwen3-embedding"};
enum { N_TOK = sizeof tokenizers / sizeof *tokenizers };
static te_model *models[N_TOK];

TEST(bpe_goldens) {
    static const char *const sets[] = {"cases-128", "cases-512", "po-public-128", "po-public-512", "unicode-stress-public"};
    int total = 0;
    for (int t = 0; t < N_TOK; t++)
        for (size_t s = 0; s < sizeof sets / sizeof *sets; s++) {
            char rel[256], path[1024];
            int lines;
            snprintf(rel, sizeof rel, "tokenizers/golden/%s-%s.jsonl", tokenizers[t], sets[s]);
            const char *dash = strrchr(sets[s], '-');
            int max = strstr(sets[s], "stress") ? 1024 : atoi(dash + 1);
            CHECK_MSG(tok_check_golden(models[t], th_path(path, sizeof path, "TE_REF", rel), max, 0, &lines), "%s", rel);
            total += lines;
        }
    printf("  %d texts in %d files, ids identical\n", total, N_TOK * (int)(sizeof sets / sizeof *sets));
    CHECK(total == N_TOK * (98 * 2 + 2000 * 2 + 200));
}

TEST(bpe_pair_goldens) {
    char path[1024];
    int lines;
    CHECK(tok_check_golden(models[1], th_path(path, sizeof path, "TE_REF", "tokenizers/golden/bpe-modernbert-pairs-128.jsonl"),
                           128, 1, &lines));
    printf("  %d ModernBERT pairs, ids and token types identical\n", lines);
    CHECK_EQ_INT(lines, 49);
}

/* Every token but the template's covers bytes of the text, in order; together they cover all of it. Two
 * tokens that split one character of a normalized text (NFC) both cover that character, as the reference's
 * offsets do. */
TEST(spans_cover_the_bytes) {
    const char *s = "naïve café — 東京 déjà  vu\n\tend";
    for (int t = 0; t < N_TOK; t++) {
        int32_t ids[128];
        te_span sp[128];
        size_t n = 0, covered = 0;
        te_error err;
        CHECK(te_tokenize_spans(models[t], s, strlen(s), 1, ids, sp, 128, &n, NULL, &err) == TE_OK);
        uint32_t start = 0, to = 0;
        for (size_t i = 0; i < n; i++) {
            if (sp[i].start == TE_SPAN_NONE) continue;
            CHECK_MSG(sp[i].start >= start && sp[i].end > sp[i].start && sp[i].end <= strlen(s), "%s token %zu", tokenizers[t], i);
            covered += sp[i].end > to ? sp[i].end - (sp[i].start > to ? sp[i].start : to) : 0;
            start = sp[i].start;
            to = sp[i].end > to ? sp[i].end : to;
        }
        CHECK_MSG(covered == strlen(s), "%s: %zu of %zu bytes covered", tokenizers[t], covered, strlen(s));
    }
}

/* Decoding gives the text back (GPT-2 has no normalizer); half a character decodes to U+FFFD. */
TEST(decode_round_trip) {
    const char *s = "Hello, wörld! 東京 😀 x  y";
    int32_t ids[128];
    size_t n = 0, len = 0;
    char out[256];
    te_error err;
    CHECK(te_tokenize(models[0], s, strlen(s), ids, 128, &n, &err) == TE_OK);
    CHECK(te_decode(models[0], ids, n, 1, out, sizeof out, &len, &err) == TE_OK);
    CHECK_STR_EQ(out, s);
    /* "😀" is 4 bytes; GPT-2 spells it in more than one token: the first alone is not a character. */
    CHECK(te_tokenize(models[0], "😀", 4, ids, 128, &n, &err) == TE_OK);
    CHECK(n >= 2);
    CHECK(te_decode(models[0], ids, 1, 1, out, sizeof out, &len, &err) == TE_OK);
    CHECK_STR_EQ(out, "\xef\xbf\xbd");
}

/* MB/s over the public multilingual sample (2,000 strings), each tokenizer (printed, not asserted);
 * every string tokenizes, into at least one token. */
TEST(speed) {
    char path[1024];
    size_t len;
    char *text = th_read_file(th_path(path, sizeof path, "TE_REF", "tokenizers/po_public.txt"), &len);
    CHECK(text);
    static int32_t ids[8192];
    size_t failed = 0;
    for (int t = 0; t < N_TOK; t++) {
        struct timespec a, b;
        size_t bytes = 0, tokens = 0;
        clock_gettime(CLOCK_MONOTONIC, &a);
        for (int round = 0; round < 3; round++)
            for (char *line = text, *nl; *line; line = nl + 1) {
                nl = strchr(line, '\n');
                if (!nl) nl = line + strlen(line);
                size_t n = 0;
                te_error err;
                failed += te_tokenize(models[t], line, (size_t)(nl - line), ids, 8192, &n, &err) != TE_OK ||
                          (nl > line && n == 0);
                bytes += (size_t)(nl - line);
                tokens += n;
                if (!*nl) break;
            }
        clock_gettime(CLOCK_MONOTONIC, &b);
        double sec = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) * 1e-9;
        printf("  %-20s %.1f MB/s, %.2f M tokens/s (%zu bytes x 3)\n", tokenizers[t], (double)bytes / sec / 1e6,
               (double)tokens / sec / 1e6, bytes / 3);
    }
    free(text);
    CHECK_EQ_INT(failed, 0);
}

int main(void) {
    if (tok_open_carriers(tokenizers, N_TOK, models) != 0) return 2;
    RUN(bpe_goldens);
    RUN(bpe_pair_goldens);
    RUN(spans_cover_the_bytes);
    RUN(decode_round_trip);
    RUN(speed);
    for (int i = 0; i < N_TOK; i++) te_close(models[i]);
    return th_done();
}
