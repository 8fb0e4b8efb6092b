/*
 * test_tokenizer.c - the tokenizer against the reference goldens, each stage
 * on hand-picked cases (normalizer, pre-tokenizer, WordPiece, truncation),
 * invalid UTF-8, and random input (bytes and valid UTF-8) checked for
 * invariants under the sanitizers.
 */
#include "harness.h"
#include "json.h"
#include "model.h"
#include "tokenizer.h"
#include "unicode.h"

static te_model *model;      /* tiny-mean: the real all-MiniLM-L6-v2 tokenizer, max 128 */
static te_model *model_256;  /* minilm-mean: same tokenizer, max 256 */

static int normalized_is(const te_model *m, const char *in, const char *want) {
    char out[1024];
    size_t n = te_tok_normalize(m, in, strlen(in), out, sizeof out);
    out[n] = '\0';
    if (strcmp(out, want) == 0) return 1;
    printf("  normalize(\"%s\") = \"%s\", want \"%s\"\n", in, out, want);
    return 0;
}

static int words_are(const te_model *m, const char *in, const char *want) {
    char out[1024];
    size_t n = te_tok_words(m, in, strlen(in), out, sizeof out);
    out[n] = '\0';
    if (strcmp(out, want) == 0) return 1;
    printf("  words(\"%s\") = \"%s\", want \"%s\"\n", in, out, want);
    return 0;
}

static size_t tokenize(const te_model *m, const char *s, size_t len, int32_t *ids, size_t max) {
    size_t n = 0;
    te_error err;
    if (te_tokenize(m, s, len, ids, max, &n, &err) != TE_OK) printf("  te_tokenize: %s\n", err.msg);
    return n;
}

/* Compares te_tokenize with every line of a golden JSONL file. */
static void check_golden(const te_model *m, const char *golden, size_t max_ids, int *ok) {
    char path[1024];
    size_t len;
    char *text = th_read_file(th_path(path, sizeof path, "TE_REF", golden), &len);
    *ok = 0;
    if (!text) { printf("  cannot read %s\n", path); return; }
    int lines = 0, good = 0;
    int32_t ids[1024];
    for (char *line = text, *end; *line; line = end + 1) {
        end = strchr(line, '\n');
        if (!end) end = line + strlen(line);
        te_error err;
        json_doc *d = json_parse(line, (size_t)(end - line), &err);
        if (!d) { printf("  %s: %s\n", golden, err.msg); break; }
        const json_value *r = json_root(d), *t = json_get(r, "text"), *g = json_get(r, "ids");
        size_t n = tokenize(m, t->str, t->len, ids, max_ids);
        int same = n == g->len;
        for (size_t i = 0; same && i < n; i++) same = ids[i] == g->items[i]->i;
        if (!same) printf("  %s line %d differs: \"%.60s\"\n", golden, lines + 1, t->str);
        good += same;
        lines++;
        json_free(d);
        if (!*end) break;
    }
    free(text);
    *ok = lines == 98 && good == lines;
}

TEST(goldens_512) {
    int ok;
    check_golden(model, "golden/tokens.jsonl", 512, &ok);
    CHECK(ok);
}

TEST(goldens_at_model_length) {
    int ok;
    check_golden(model, "golden/tiny-mean.jsonl", (size_t)model->info.max_seq_length, &ok);
    CHECK(ok);
    check_golden(model, "golden/tiny-cls.jsonl", (size_t)model->info.max_seq_length, &ok);
    CHECK(ok);
    check_golden(model_256, "golden/minilm-mean.jsonl", (size_t)model_256->info.max_seq_length, &ok);
    CHECK(ok);
}

TEST(normalizer_clean_text) {
    CHECK(normalized_is(model, "a\x01" "b\x7f" "c", "abc"));                  /* controls dropped */
    CHECK(normalized_is(model, "a\tb\nc\rd", "a b c d"));                      /* \t \n \r are whitespace */
    CHECK(normalized_is(model, "a\xc2\x85" "b\x0b" "c\x0c" "d", "abcd"));      /* NEL, VT, FF: controls, dropped */
    CHECK(normalized_is(model, "a\xe2\x80\xa8" "b\xc2\xa0" "c\xe3\x80\x80" "d", "a b c d")); /* U+2028, NBSP, U+3000 */
    CHECK(normalized_is(model, "a\xe2\x80\x8b" "b\xef\xbb\xbf" "c\xc2\xad" "d", "abcd"));   /* ZWSP, BOM, soft hyphen (Cf) */
    CHECK(normalized_is(model, "a\xef\xbf\xbd" "b\xee\x80\x80" "c", "abc"));                 /* U+FFFD, private use */
    /* Unassigned, or assigned after Unicode 8.0 (the reference's category
     * tables): kept, like any letter. U+0378 unassigned, U+0890 Cf (14.0). */
    CHECK(normalized_is(model, "a\xcd\xb8" "b\xe0\xa2\x90" "c", "a\xcd\xb8" "b\xe0\xa2\x90" "c"));
    CHECK(normalized_is(model, "a\x00" "b", "a"));                              /* strlen stops at NUL here */
    char nul[] = {'a', 0, 'b'};
    char out[16];
    CHECK_EQ_INT(te_tok_normalize(model, nul, 3, out, sizeof out), 2);       /* U+0000 dropped */
}

TEST(normalizer_cjk_spacing) {
    CHECK(normalized_is(model, "\xe4\xb8\xad\xe6\x96\x87", " \xe4\xb8\xad  \xe6\x96\x87 "));         /* 中文 */
    CHECK(normalized_is(model, "\xe3\x81\xb2\xe3\x82\x89", "\xe3\x81\xb2\xe3\x82\x89"));             /* hiragana: not CJK */
    CHECK(normalized_is(model, "x\xf0\xa0\x80\x80y", "x \xf0\xa0\x80\x80 y"));                      /* U+20000 */
    CHECK(normalized_is(model, "\xea\xb0\x80", "\xe1\x84\x80\xe1\x85\xa1"));                        /* 가: Hangul -> jamo */
}

TEST(normalizer_lowercase_and_accents) {
    CHECK(normalized_is(model, "\xc3\x80\xc3\x89\xc3\x8e\xc3\x96", "aeio"));                        /* ÀÉÎÖ */
    CHECK(normalized_is(model, "e\xcc\x81", "e"));                                                 /* e + U+0301 */
    CHECK(normalized_is(model, "\xc4\xb0stanbul", "istanbul"));                                     /* İ */
    CHECK(normalized_is(model, "\xce\x91\xce\xa3", "\xce\xb1\xcf\x83"));                           /* ΑΣ -> ασ: no final sigma */
    CHECK(normalized_is(model, "\xe1\xba\x9e", "\xc3\x9f"));                                       /* ẞ -> ß */
    CHECK(normalized_is(model, "\xe2\x84\xab", "a"));                                              /* Angstrom sign */
    CHECK(normalized_is(model, "\xef\xac\x81\xe2\x91\xa0", "\xef\xac\x81\xe2\x91\xa0"));             /* ﬁ ①: NFD keeps compatibility forms */
    CHECK(normalized_is(model, "\xe1\xb2\x90", "\xe1\x83\x90"));                                   /* Georgian Mtavruli (Unicode 11) */
    CHECK(normalized_is(model, "\xce\x8f", "\xcf\x89"));                                           /* Ώ -> ω */
}

/* Kept non-starters (Mc with a combining class) are put in canonical order;
 * dropped marks do not separate them, a starter does. */
TEST(normalizer_canonical_reordering) {
    CHECK(normalized_is(model, "a\xe3\x80\xae\xe1\xaf\xb2", "a\xe1\xaf\xb2\xe3\x80\xae"));              /* U+302E(224) U+1BF2(9) */
    CHECK(normalized_is(model, "a\xe3\x80\xae\xcc\x81\xe1\xaf\xb2", "a\xe1\xaf\xb2\xe3\x80\xae"));      /* Mn between */
    CHECK(normalized_is(model, "a\xe3\x80\xae\xcd\x8f\xe1\xaf\xb2", "a\xe3\x80\xae\xe1\xaf\xb2"));      /* CGJ (ccc 0) blocks */
}

TEST(normalizer_settings_off) {
    te_model cased = *model; /* same vocabulary, a cased tokenizer: its BertNormalizer step changed */
    tn_step *bert = &cased.tok.norm[0];
    CHECK(cased.tok.n_norm == 1 && bert->kind == TN_BERT);
    bert->lowercase = 0;
    bert->strip_accents = 0;
    bert->chinese = 0;
    CHECK(normalized_is(&cased, "\xc3\x89t\xc3\xa9 \xe4\xb8\xad", "\xc3\x89t\xc3\xa9 \xe4\xb8\xad"));
    bert->lowercase = 1;
    CHECK(normalized_is(&cased, "\xc3\x89t\xc3\xa9", "\xc3\xa9t\xc3\xa9"));       /* lowercase without stripping */
    CHECK(normalized_is(&cased, "\xc4\xb0", "i\xcc\x87"));                        /* İ -> i + U+0307 */
    bert->clean = 0;
    CHECK(normalized_is(&cased, "a\x01" "b", "a\x01" "b"));
}

TEST(pretokenizer_splits) {
    CHECK(words_are(model, "Hello, world!", "hello\n,\nworld\n!\n"));
    CHECK(words_are(model, "$100+20%=x^2|y~`z`<a>", "$\n100\n+\n20\n%\n=\nx\n^\n2\n|\ny\n~\n`\nz\n`\n<\na\n>\n"));
    CHECK(words_are(model, "don't snake_case a\xe2\x80\x94" "b \xc2\xbfqu\xc3\xa9?", "don\n'\nt\nsnake\n_\ncase\na\n\xe2\x80\x94\nb\n\xc2\xbf\nque\n?\n"));
    CHECK(words_are(model, "  lots   of\t\tspace  ", "lots\nof\nspace\n"));
    CHECK(words_are(model, "\xe2\x82\xac" "5 \xc2\xa9", "\xe2\x82\xac" "5\n\xc2\xa9\n"));  /* symbols (Sc, So) are not punctuation */
    CHECK(words_are(model, "a\xe2\xb9\x92" "b a\xe2\xb8\xbc" "b", "a\xe2\xb9\x92" "b\na\n\xe2\xb8\xbc\nb\n")); /* U+2E52 (13.0) is not split, U+2E3C (7.0) is */
    CHECK(words_are(model, "x[SEP]y [sep] [SEP", "x\n<102>\ny\n[\nsep\n]\n[\nsep\n"));   /* special tokens: raw and exact only */
    CHECK(words_are(model, "[CLS][MASK]", "<101>\n<103>\n"));
    CHECK(words_are(model, "A\xcc\x81[PAD]\xcc\x81", "a\n<0>\n"));  /* segments normalize separately */
}

TEST(wordpiece_greedy_longest_match) {
    int32_t ids[200];
    CHECK_EQ_INT(te_tok_wordpiece(model, "hello", 5, ids, 200), 1);
    CHECK_EQ_INT(ids[0], 7592);
    CHECK_EQ_INT(te_tok_wordpiece(model, "tokens", 6, ids, 200), 2);
    CHECK(ids[0] == 19204 && ids[1] == 2015);   /* token ##s */
    size_t n = te_tok_wordpiece(model, "unbelievably", 12, ids, 200);
    CHECK(n >= 2);
    size_t len;
    const char *t = te_token_text(model, ids[1], &len);
    CHECK(t && len > 2 && memcmp(t, "##", 2) == 0);
    CHECK_EQ_INT(te_tok_wordpiece(model, "abc\xe2\x98\x83" "def", 9, ids, 200), 1);  /* snowman: no piece */
    CHECK_EQ_INT(ids[0], 100);
    char w[128];
    memset(w, 'y', 100);
    n = te_tok_wordpiece(model, w, 100, ids, 200);                        /* exactly max chars: split */
    CHECK(n > 1 && ids[0] != 100);
    memset(w, 'z', 101);
    CHECK_EQ_INT(te_tok_wordpiece(model, w, 101, ids, 200), 1);          /* one more: [UNK] */
    CHECK_EQ_INT(ids[0], 100);
}

/* Truncating at k keeps the first k-1 ids of the full result, then [SEP]. */
TEST(truncation_is_a_prefix) {
    const char *s = "unbelievably antidisestablishmentarianism [SEP] Größenwahn 中文 e-mail: first.last@example.com";
    int32_t full[512], cut[512];
    size_t n = tokenize(model, s, strlen(s), full, 512);
    CHECK(n > 20);
    CHECK_EQ_INT(full[0], 101);
    CHECK_EQ_INT(full[n - 1], 102);
    for (size_t k = 2; k <= n + 2; k++) {
        size_t m = tokenize(model, s, strlen(s), cut, k);
        size_t want = k < n ? k : n;
        CHECK_EQ_INT(m, want);
        for (size_t i = 0; i + 1 < m; i++) CHECK_EQ_INT(cut[i], full[i]);
        CHECK_EQ_INT(cut[m - 1], 102);
    }
    te_error err;
    size_t m;
    CHECK_EQ_INT(te_tokenize(model, s, strlen(s), cut, 1, &m, &err), TE_ERR_ARG);
    CHECK_EQ_INT(tokenize(model, "", 0, cut, 512), 2);
    CHECK_EQ_INT(te_tokenize(model, NULL, 0, cut, 8, &m, &err), TE_OK);
    CHECK_EQ_INT(m, 2);
}

TEST(invalid_utf8_is_dropped) {
    static const char *const pairs[][2] = {
        {"ab\xff" "cd", "abcd"},
        {"abc\xe4\xb8", "abc"},            /* truncated 3-byte sequence at the end */
        {"a\xc0\xaf" "b", "ab"},           /* overlong '/' */
        {"a\xed\xa0\x80" "b", "ab"},       /* UTF-16 surrogate */
        {"a\xf4\x90\x80\x80" "b", "ab"},   /* above U+10FFFF */
        {"a\x80\x80" "b", "ab"},           /* stray continuation bytes */
        {"a\xe4\xb8" "b", "ab"},           /* a cut sequence swallows no valid byte */
    };
    for (size_t i = 0; i < sizeof pairs / sizeof *pairs; i++) {
        int32_t a[64], b[64];
        size_t na = tokenize(model, pairs[i][0], strlen(pairs[i][0]), a, 64);
        size_t nb = tokenize(model, pairs[i][1], strlen(pairs[i][1]), b, 64);
        CHECK_MSG(na == nb && memcmp(a, b, na * sizeof *a) == 0, "case %zu differs", i);
    }
}

TEST(utf8_decoder_maximal_subparts) {
    uint32_t cp;
    CHECK_EQ_INT(te_utf8_decode((const unsigned char *)"\xe4\xb8\xad", 3, &cp), 3);
    CHECK_EQ_INT(cp, 0x4E2D);
    CHECK_EQ_INT(te_utf8_decode((const unsigned char *)"\xe4\xb8x", 3, &cp), 2);
    CHECK_EQ_INT(cp, 0xFFFD);
    CHECK_EQ_INT(te_utf8_decode((const unsigned char *)"\xe0\x80", 2, &cp), 1); /* E0 80: overlong, one byte */
    CHECK_EQ_INT(te_utf8_decode((const unsigned char *)"\xf0\x9f\x98\x80", 4, &cp), 4);
    CHECK_EQ_INT(cp, 0x1F600);
    CHECK_EQ_INT(te_utf8_decode((const unsigned char *)"\xf0\x9f\x98", 3, &cp), 3);
    CHECK_EQ_INT(cp, 0xFFFD);
}

/* tests/data/tokenizer_ref.jsonl: random texts tokenized by the reference
 * (Hugging Face tokenizers) under six normalizer settings. */
TEST(reference_on_random_text) {
    static const struct { const char *name; int lower, strip, cjk, clean; } variants[] = {
        {"default", 1, 1, 1, 1}, {"cased", 0, 0, 1, 1}, {"lower_nostrip", 1, 0, 1, 1},
        {"strip_only", 0, 1, 1, 1}, {"nocjk", 1, 1, 0, 1}, {"noclean", 1, 1, 1, 0},
    };
    size_t len;
    char *text = th_read_file("tests/data/tokenizer_ref.jsonl", &len);
    CHECK_MSG(text, "cannot read tests/data/tokenizer_ref.jsonl (run from the repository root)");
    int cases = 0, bad = 0;
    static int32_t ids[8192];
    for (char *line = text, *end; *line; line = end + 1) {
        end = strchr(line, '\n');
        if (!end) end = line + strlen(line);
        te_error err;
        json_doc *d = json_parse(line, (size_t)(end - line), &err);
        CHECK_MSG(d, "tokenizer_ref.jsonl line %d: %s", cases + 1, err.msg);
        const json_value *r = json_root(d), *t = json_get(r, "text"), *all = json_get(r, "ids");
        for (size_t v = 0; v < sizeof variants / sizeof *variants; v++) {
            te_model m = *model;
            m.tok.norm[0].lowercase = variants[v].lower;
            m.tok.norm[0].strip_accents = variants[v].strip;
            m.tok.norm[0].chinese = variants[v].cjk;
            m.tok.norm[0].clean = variants[v].clean;
            const json_value *want = json_get(all, variants[v].name);
            size_t n = tokenize(&m, t->str, t->len, ids, 8192);
            int same = want && n == want->len;
            for (size_t i = 0; same && i < n; i++) same = ids[i] == want->items[i]->i;
            if (!same && bad++ < 3) printf("  line %d (%s) differs\n", cases + 1, variants[v].name);
        }
        cases++;
        json_free(d);
        if (!*end) break;
    }
    free(text);
    printf("  %d texts x 6 settings, %d differ\n", cases, bad);
    CHECK(cases >= 700);
    CHECK_EQ_INT(bad, 0);
}

static uint64_t rng_state = 0x243F6A8885A308D3u;
static uint32_t rnd(void) {
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state >> 16);
}

static int ids_valid(const int32_t *ids, size_t n, size_t max) {
    if (n < 2 || n > max || ids[0] != 101 || ids[n - 1] != 102) return 0;
    for (size_t i = 0; i < n; i++)
        if (ids[i] < 0 || ids[i] >= 30522) return 0;
    return 1;
}

TEST(fuzz_random_bytes) {
    unsigned char buf[600];
    int32_t ids[300], again[300];
    for (int iter = 0; iter < 20000; iter++) {
        size_t len = rnd() % sizeof buf;
        for (size_t i = 0; i < len; i++) buf[i] = (unsigned char)rnd();
        if (iter & 1) /* mostly ASCII with some high bytes and brackets */
            for (size_t i = 0; i < len; i++) buf[i] = (rnd() % 8) ? (unsigned char)(32 + buf[i] % 95) : buf[i];
        size_t max = 2 + rnd() % 298;
        size_t n = tokenize(model, (const char *)buf, len, ids, max);
        CHECK_MSG(ids_valid(ids, n, max), "iteration %d: invalid output", iter);
        size_t m = tokenize(model, (const char *)buf, len, again, max);
        CHECK_MSG(m == n && memcmp(ids, again, n * sizeof *ids) == 0, "iteration %d: not deterministic", iter);
    }
}

/* Random valid UTF-8 drawn from the interesting parts of Unicode. */
TEST(fuzz_random_unicode) {
    static const uint32_t ranges[][2] = {
        {0x20, 0x7E}, {0x00, 0x1F}, {0xA0, 0x24F}, {0x300, 0x36F}, {0x370, 0x3FF}, {0x400, 0x4FF},
        {0x590, 0x6FF}, {0x900, 0x97F}, {0x1100, 0x11FF}, {0x1BF0, 0x1BFF}, {0x2000, 0x206F},
        {0x3000, 0x30FF}, {0x4E00, 0x9FFF}, {0xAC00, 0xD7A3}, {0xF900, 0xFAFF}, {0xFE00, 0xFFFF},
        {0x1D160, 0x1D17F}, {0x1F300, 0x1F6FF}, {0x20000, 0x2A6DF}, {0xE0000, 0x10FFFF},
    };
    char buf[2048];
    int32_t ids[600], full[600];
    for (int iter = 0; iter < 5000; iter++) {
        size_t len = 0, chars = rnd() % 300;
        for (size_t c = 0; c < chars; c++) {
            const uint32_t *r = ranges[rnd() % (sizeof ranges / sizeof *ranges)];
            uint32_t cp = r[0] + rnd() % (r[1] - r[0] + 1);
            if (cp >= 0xD800 && cp <= 0xDFFF) cp = 'x';
            len += te_utf8_encode(cp, buf + len);
            if (rnd() % 5 == 0) buf[len++] = ' ';
        }
        size_t n = tokenize(model, buf, len, full, 600);
        CHECK_MSG(ids_valid(full, n, 600), "iteration %d: invalid output", iter);
        size_t k = 2 + rnd() % 40;
        size_t m = tokenize(model, buf, len, ids, k);
        CHECK_MSG(m == (k < n ? k : n), "iteration %d: truncated length", iter);
        CHECK_MSG(memcmp(ids, full, (m - 1) * sizeof *ids) == 0, "iteration %d: truncation is not a prefix", iter);
    }
}

int main(void) {
    char path[1024];
    te_error err;
    model = te_open(th_path(path, sizeof path, "TE_TESTDATA", "tiny-mean.temb"), NULL, &err);
    model_256 = te_open(th_path(path, sizeof path, "TE_TESTDATA", "minilm-mean.temb"), NULL, &err);
    if (!model || !model_256) {
        printf("cannot open test models: %s\n", err.msg);
        return 2;
    }
    RUN(goldens_512);
    RUN(goldens_at_model_length);
    RUN(reference_on_random_text);
    RUN(normalizer_clean_text);
    RUN(normalizer_cjk_spacing);
    RUN(normalizer_lowercase_and_accents);
    RUN(normalizer_canonical_reordering);
    RUN(normalizer_settings_off);
    RUN(pretokenizer_splits);
    RUN(wordpiece_greedy_longest_match);
    RUN(truncation_is_a_prefix);
    RUN(invalid_utf8_is_dropped);
    RUN(utf8_decoder_maximal_subparts);
    RUN(fuzz_random_bytes);
    RUN(fuzz_random_unicode);
    te_close(model);
    te_close(model_256);
    return th_done();
}
