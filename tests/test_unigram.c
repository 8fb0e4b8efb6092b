/*
 * test_unigram.c - the tokenizer pipeline beyond BERT: SentencePiece Unigram
 * tokenizers (XLM-R in its three serialisations, Pegasus, an NFKC Japanese
 * model) against the real Hugging Face `tokenizers` goldens, single texts and
 * pairs; token spans; and the pieces under them: the double-array trie, the
 * regex engine, grapheme clusters (Unicode's GraphemeBreakTest.txt) and the
 * normalization forms (NormalizationTest.txt).
 */
#include <stdio.h>

#include "darts.h"
#include "harness.h"
#include "json.h"
#include "model.h"
#include "regex.h"
#include "tok.h"
#include "tok_golden.h"
#include "unicode.h"

static const char *const tokenizers[] = {"unigram-xlmr", "unigram-xlmr-legacy", "unigram-xlmr-v5", "unigram-pegasus",
                                         "unigram-nfkc-ja", "unigram-bytefallback", "unigram-albert",
                                         "unigram-nfkc-roberta"};
enum { N_TOK = sizeof tokenizers / sizeof *tokenizers };
static te_model *models[N_TOK];

/* The carrier model (a tiny BERT) converted around tokenizer i. */
static te_model *carrier(const char *tok) {
    for (int i = 0; i < N_TOK; i++)
        if (!strcmp(tokenizers[i], tok)) return models[i];
    return NULL;
}

/* A golden tok-unigram-NAME.jsonl through its carrier: the public ones, or
 * with own set, ours (tests/data/unigram). */
static int check_golden(const char *file, int own, int *lines) {
    char rel[256], path[1024], tok[64];
    snprintf(rel, sizeof rel, "tokenizers/golden/%s", file);
    if (own) snprintf(path, sizeof path, "tests/data/unigram/%s", file);
    else th_path(path, sizeof path, "TE_REF", rel);
    /* "tok-unigram-<tok>[-pairs]-<set>-<max>.jsonl" */
    const char *dash = strrchr(file, '-');
    int max = atoi(dash + 1), pairs = strstr(file, "-pairs-") != NULL;
    const char *end = pairs ? strstr(file, "-pairs-") : strrchr(file, '-');
    if (!pairs) while (end > file && *--end != '-') {}
    snprintf(tok, sizeof tok, "%.*s", (int)(end - (file + 4)), file + 4);
    return tok_check_golden(carrier(tok), path, max, pairs, lines);
}

TEST(unigram_goldens) {
    static const char *const files[] = {
        "tok-unigram-xlmr-cases-128.jsonl", "tok-unigram-xlmr-cases-512.jsonl", "tok-unigram-xlmr-po-128.jsonl",
        "tok-unigram-xlmr-po-512.jsonl", "tok-unigram-xlmr-stress-512.jsonl",
        "tok-unigram-xlmr-legacy-cases-128.jsonl", "tok-unigram-xlmr-legacy-cases-512.jsonl",
        "tok-unigram-xlmr-legacy-po-128.jsonl", "tok-unigram-xlmr-legacy-po-512.jsonl",
        "tok-unigram-xlmr-legacy-stress-512.jsonl", "tok-unigram-xlmr-v5-cases-512.jsonl",
        "tok-unigram-xlmr-v5-po-512.jsonl", "tok-unigram-xlmr-v5-stress-512.jsonl", "tok-unigram-pegasus-cases-512.jsonl",
        "tok-unigram-pegasus-po-128.jsonl", "tok-unigram-pegasus-po-512.jsonl", "tok-unigram-pegasus-stress-512.jsonl",
        "tok-unigram-nfkc-ja-cases-512.jsonl", "tok-unigram-nfkc-ja-po-512.jsonl", "tok-unigram-nfkc-ja-stress-512.jsonl",
    };
    int total = 0;
    for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
        int lines;
        CHECK_MSG(check_golden(files[i], 0, &lines), "%s", files[i]);
        total += lines;
    }
    printf("  %d texts in %zu files, ids identical\n", total, sizeof files / sizeof *files);
    CHECK(total > 17000);
}

/* Our goldens from the real library for the stages no public file has:
 * byte fallback, NFKD + StripAccents + Lowercase (ALBERT), NFKC with
 * Prepend and no pre-tokenizer, RobertaProcessing (tests/data/unigram). */
TEST(own_goldens) {
    static const char *const variants[] = {"bytefallback", "albert", "nfkc-roberta"};
    static const char *const sets[] = {"cases-512", "stress-512", "extra-512", "pairs-cases-128"};
    int total = 0;
    for (size_t v = 0; v < sizeof variants / sizeof *variants; v++)
        for (size_t s = 0; s < sizeof sets / sizeof *sets; s++) {
            char file[128];
            int lines;
            snprintf(file, sizeof file, "tok-unigram-%s-%s.jsonl", variants[v], sets[s]);
            CHECK_MSG(check_golden(file, 1, &lines), "%s", file);
            total += lines;
        }
    printf("  %d texts and pairs, ids identical\n", total);
    CHECK(total == 3 * (98 + 200 + 37 + 49));
}

TEST(unigram_pair_goldens) {
    static const char *const files[] = {
        "tok-unigram-xlmr-pairs-cases-128.jsonl", "tok-unigram-xlmr-pairs-cases-512.jsonl",
        "tok-unigram-xlmr-pairs-po-128.jsonl", "tok-unigram-xlmr-legacy-pairs-cases-128.jsonl",
        "tok-unigram-xlmr-legacy-pairs-cases-512.jsonl",
    };
    int total = 0;
    for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
        int lines;
        CHECK_MSG(check_golden(files[i], 0, &lines), "%s", files[i]);
        total += lines;
    }
    printf("  %d pairs, ids and token types identical\n", total);
    CHECK(total > 1000);
}

/* Spans: in order, inside the text, each non-special token covering the
 * bytes its piece came from ("▁" stands for the space before a word). */
TEST(spans_point_into_the_text) {
    te_model *m = carrier("unigram-xlmr");
    CHECK(m);
    const char *s = "Hello  wörld, <mask> ok";
    int32_t ids[64];
    te_span sp[64];
    size_t n;
    te_error err;
    CHECK(te_tokenize_spans(m, s, strlen(s), 1, ids, sp, 64, &n, NULL, &err) == TE_OK);
    CHECK(n >= 6 && ids[0] == 0 && ids[n - 1] == 2);
    CHECK(sp[0].start == TE_SPAN_NONE && sp[n - 1].start == TE_SPAN_NONE);
    uint32_t last = 0;
    int saw_mask = 0;
    for (size_t i = 1; i + 1 < n; i++) {
        CHECK_MSG(sp[i].start >= last && sp[i].end >= sp[i].start && sp[i].end <= strlen(s), "token %zu: [%u, %u)", i,
                  sp[i].start, sp[i].end);
        last = sp[i].start;
        if (ids[i] == m->info.tokenizer.mask_id) {
            saw_mask = 1;
            CHECK(sp[i].end == 21 && sp[i].start == 14); /* lstrip: the space before <mask> is its own */
        }
    }
    CHECK(saw_mask);
    CHECK(sp[1].start == 0 && sp[1].end <= 5);
    /* Without the template: no <s>, </s>. */
    CHECK(te_tokenize_spans(m, s, strlen(s), 0, ids, sp, 64, &n, NULL, &err) == TE_OK);
    CHECK(ids[0] != 0 && sp[0].start == 0);
}

/* BERT's normalizer inserts spaces around CJK ideographs and decomposes
 * Hangul: each token still covers exactly the bytes it came from (a
 * fuzzing find: the inserted spaces once shifted every later span). */
TEST(bert_spans_through_inserted_spaces) {
    char path[1024];
    te_error err;
    te_model *m = te_open(th_path(path, sizeof path, "TE_TESTDATA", "tiny-mean.temb"), NULL, &err);
    CHECK(m);
    const char *s = "\xed\x95\x9c\xea\xb5\xad\xec\x96\xb4 \xe4\xb8\xad\xe6\x96\x87 ab"; /* 한국어 中文 ab */
    static const uint32_t want[][2] = {{0, 3}, {0, 3}, {0, 3}, {3, 6}, {3, 6}, {3, 6}, {6, 9}, {6, 9}, {10, 13}, {13, 16}, {17, 19}};
    int32_t ids[32];
    te_span sp[32];
    size_t n;
    CHECK(te_tokenize_spans(m, s, strlen(s), 0, ids, sp, 32, &n, NULL, &err) == TE_OK);
    CHECK(n == sizeof want / sizeof *want);
    for (size_t i = 0; i < n; i++) CHECK_MSG(sp[i].start == want[i][0] && sp[i].end == want[i][1], "token %zu: [%u, %u)", i, sp[i].start, sp[i].end);
    te_close(m);
}

/* The trie: every key found with its value, prefixes shortest first. */
typedef struct hits {
    uint32_t v[8];
    size_t len[8];
    int n;
} hits;

static int hit(void *user, uint32_t value, size_t length) {
    hits *h = user;
    if (h->n < 8) h->v[h->n] = value, h->len[h->n++] = length;
    return 0;
}

TEST(darts_build_and_walk) {
    static const char *const keys[] = {"a", "ab", "abc", "abd", "b", "ba", "zz", "\xe2\x96\x81", "\xe2\x96\x81x"};
    enum { N = sizeof keys / sizeof *keys };
    const uint8_t *k[N];
    size_t lens[N];
    uint32_t vals[N];
    for (int i = 0; i < N; i++) k[i] = (const uint8_t *)keys[i], lens[i] = strlen(keys[i]), vals[i] = (uint32_t)(100 + i);
    uint8_t *units;
    size_t n_units;
    te_error err;
    CHECK(te_darts_build(k, lens, vals, N, &units, &n_units, &err) == TE_OK);
    te_darts d = {units, n_units};
    for (int i = 0; i < N; i++) {
        hits h = {{0}, {0}, 0};
        te_darts_prefixes(&d, k[i], lens[i], hit, &h);
        CHECK_MSG(h.n >= 1 && h.v[h.n - 1] == vals[i] && h.len[h.n - 1] == lens[i], "key %s", keys[i]);
    }
    hits h = {{0}, {0}, 0};
    te_darts_prefixes(&d, (const uint8_t *)"abcx", 4, hit, &h);
    CHECK(h.n == 3 && h.v[0] == 100 && h.v[1] == 101 && h.v[2] == 102);
    CHECK(te_darts_first(&d, (const uint8_t *)"q", 1) == -1);
    CHECK(te_darts_first(&d, (const uint8_t *)"bz", 2) == 104);
    const uint8_t *unsorted[2] = {(const uint8_t *)"b", (const uint8_t *)"a"};
    size_t ul[2] = {1, 1};
    CHECK(te_darts_build(unsorted, ul, vals, 2, &units, &n_units, &err) == TE_ERR_ARG);
    free((void *)d.units);
}

static int regex_finds(const char *pattern, const char *text, const char *want) {
    te_error err;
    te_regex *re = te_regex_compile(pattern, strlen(pattern), &err);
    if (!re) {
        printf("  %s: %s\n", pattern, err.msg);
        return 0;
    }
    char got[512] = "";
    size_t at = 0, s, e, n = strlen(text);
    while (at <= n && te_regex_search(re, text, n, at, &s, &e)) {
        snprintf(got + strlen(got), sizeof got - strlen(got), "[%.*s]", (int)(e - s), text + s);
        at = e > s ? e : s + 1;
    }
    te_regex_free(re);
    if (!strcmp(got, want)) return 1;
    printf("  /%s/ on \"%s\": %s, want %s\n", pattern, text, got, want);
    return 0;
}

TEST(regex_engine) {
    const char *gpt2 = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";
    CHECK(regex_finds(gpt2, "Hello world's 42!!  x", "[Hello][ world]['s][ 42][!!][ ][ x]"));
    CHECK(regex_finds(" {2,}", "a  b   c d", "[  ][   ]"));
    CHECK(regex_finds("(?i:'s|'t)", "IT'S it'T", "['S]['T]"));
    CHECK(regex_finds("[^\\r\\n\\p{L}\\p{N}]?\\p{L}+", "caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac", "[caf\xc3\xa9][ \xe6\x97\xa5\xe6\x9c\xac]"));
    CHECK(regex_finds("\\p{N}{1,3}", "12345", "[123][45]"));
    CHECK(regex_finds("a+?b", "aaab", "[aaab]"));
    CHECK(regex_finds("^x|y$", "xay", "[x][y]"));
    te_error err;
    CHECK(!te_regex_compile("\\p{Greek}", 9, &err) && strstr(err.msg, "\\p{Greek}"));
    CHECK(!te_regex_compile("(?<=a)b", 7, &err) && strstr(err.msg, "not supported"));
    CHECK(!te_regex_compile("(ab", 3, &err));
}

/* Unicode's own grapheme cluster test: "÷ 0020 × 0308 ÷ ..." per line. */
TEST(grapheme_clusters) {
    char path[1024];
    size_t len;
    const char *ucd = getenv("TE_UCD") ? getenv("TE_UCD") : "/usr/share/unicode";
    snprintf(path, sizeof path, "%s/auxiliary/GraphemeBreakTest.txt", ucd);
    char *text = th_read_file(path, &len);
    CHECK_MSG(text, "cannot read %s (make deps installs unicode-data)", path);
    int cases = 0, bad = 0;
    for (char *line = text, *nl; *line; line = nl + 1) {
        nl = strchr(line, '\n');
        if (!nl) break;
        *nl = '\0';
        if ((unsigned char)*line != 0xC3) continue; /* test lines start with "÷" (C3 B7) */
        char buf[128];
        size_t n = 0, breaks[32], nb = 0;
        for (char *p = line; *p && *p != '#';) {
            if (!strncmp(p, "\xc3\xb7", 2)) breaks[nb++] = n, p += 2;       /* ÷ */
            else if (!strncmp(p, "\xc3\x97", 2)) p += 2;                      /* × */
            else if (*p == ' ' || *p == '\t') p++;
            else n += te_utf8_encode((uint32_t)strtoul(p, &p, 16), buf + n);
        }
        int ok = 1;
        for (size_t b = 0; b + 1 < nb && ok; b++) ok = te_uc_grapheme((const unsigned char *)buf + breaks[b], n - breaks[b]) ==
                                                        breaks[b + 1] - breaks[b];
        bad += !ok;
        cases++;
    }
    free(text);
    printf("  %d cases of GraphemeBreakTest.txt, %d differ\n", cases, bad);
    CHECK(cases > 500 && bad == 0);
}

/* tokenizer.json's normalizers NFC, NFD, NFKC and NFKD on Unicode's
 * NormalizationTest.txt (columns: source; NFC; NFD; NFKC; NFKD): the lines
 * of Unicode 9.0's code points, as the reference's tables are 9.0; a line
 * with a later one must be left alone (its code points have no
 * normalization data here). */
static void nf(tn_kind kind, const char *in, size_t len, char *out, size_t *n) {
    tn_step step = {.kind = kind};
    tok_text a, b;
    tt_init(&a, NULL, 0, 0);
    a.s = (char *)in;
    a.n = len;
    tt_init(&b, NULL, 0, 0);
    tn_apply(&step, NULL, &a, &b, 1, 1);
    memcpy(out, b.s, b.n);
    *n = b.n;
    tt_free(&b);
}

/* The code points of a column as UTF-8; *newer set when one is unknown to
 * Unicode 9.0 (known9), the reference's normalization tables. */
static size_t cps(char *s, char *out, const uint8_t *known9, int *newer) {
    size_t n = 0;
    for (char *p = s; *p;) {
        while (*p == ' ') p++;
        if (!*p) break;
        uint32_t cp = (uint32_t)strtoul(p, &p, 16);
        if (cp < 0x110000 && !(known9[cp >> 3] >> (cp & 7) & 1)) *newer = 1;
        n += te_utf8_encode(cp, out + n);
    }
    return n;
}

/* DerivedAge.txt: a bit per code point assigned by Unicode 9.0. */
static uint8_t *assigned_by_9(const char *ucd) {
    char path[1024], line[256];
    snprintf(path, sizeof path, "%s/DerivedAge.txt", ucd);
    FILE *f = fopen(path, "r");
    uint8_t *bits = calloc(0x110000 / 8, 1);
    while (f && fgets(line, sizeof line, f)) {
        unsigned lo, hi, major, minor;
        char *semi = strchr(line, ';');
        if (line[0] == '#' || !semi || sscanf(semi + 1, " %u.%u", &major, &minor) != 2) continue;
        if (sscanf(line, "%x..%x", &lo, &hi) != 2) hi = lo;
        if (major > 9 || hi >= 0x110000) continue;
        for (unsigned c = lo; c <= hi; c++) bits[c >> 3] |= (uint8_t)(1u << (c & 7));
    }
    if (f) fclose(f);
    return bits;
}

TEST(normalization_forms) {
    char path[1024], cmd[1400];
    const char *ucd = getenv("TE_UCD") ? getenv("TE_UCD") : "/usr/share/unicode";
    snprintf(path, sizeof path, "%s/NormalizationTest.txt.bz2", ucd);
    snprintf(cmd, sizeof cmd, "python3 -c 'import bz2,sys; sys.stdout.buffer.write(bz2.open(sys.argv[1]).read())' %s", path);
    FILE *f = popen(cmd, "r");
    CHECK_MSG(f, "cannot read %s", path);
    static const tn_kind forms[] = {TN_NFC, TN_NFD, TN_NFKC, TN_NFKD};
    uint8_t *known9 = assigned_by_9(ucd);
    char line[2048];
    int cases = 0, bad = 0, later = 0;
    while (fgets(line, sizeof line, f)) {
        if (line[0] == '#' || line[0] == '@' || line[0] == '\n') continue;
        char *col[6], *p = line;
        int nc = 0;
        while (nc < 6 && (col[nc] = strsep(&p, ";")) != NULL) nc++;
        if (nc < 5) continue;
        char src[256], want[256], got[1024];
        int newer = 0;
        size_t ns = cps(col[0], src, known9, &newer), nw, ng;
        for (int k = 0; k < 4; k++) {
            nw = cps(col[k + 1], want, known9, &newer);
            nf(forms[k], src, ns, got, &ng);
            int same = ng == nw && !memcmp(got, want, nw);
            if (newer ? !same && nw == ns && !memcmp(src, want, ns) : !same) /* a later one's change is not made */
                if (bad++ < 3) printf("  line %d form %d: %s\n", cases + later + 1, k, col[0]);
        }
        cases += !newer;
        later += newer;
    }
    free(known9);
    CHECK(pclose(f) == 0);
    printf("  %d lines x 4 forms of NormalizationTest.txt (%d more with code points after 9.0 left alone), %d differ\n",
           cases, later, bad);
    CHECK(cases > 15000 && later > 500 && bad == 0);
}

int main(void) {
    if (tok_open_carriers(tokenizers, N_TOK, models) != 0) return 2;
    RUN(unigram_goldens);
    RUN(unigram_pair_goldens);
    RUN(own_goldens);
    RUN(spans_point_into_the_text);
    RUN(bert_spans_through_inserted_spaces);
    RUN(darts_build_and_walk);
    RUN(regex_engine);
    RUN(grapheme_clusters);
    RUN(normalization_forms);
    for (int i = 0; i < N_TOK; i++) te_close(models[i]);
    return th_done();
}
