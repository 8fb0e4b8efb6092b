/*
 * fuzz_tokenizer.c - libFuzzer target for the tokenizers: any bytes as text
 * (invalid UTF-8 included) through each pipeline of the test models
 * ($TE_TESTDATA, default build/testdata): BERT WordPiece (the real
 * all-MiniLM-L6-v2 vocabulary of tiny-mean.temb), and SentencePiece Unigram
 * with the XLM-R charsmap, with byte fallback, with ALBERT's NFKD +
 * StripAccents, and with NFKC and no pre-tokenizer (the carrier models).
 * Checks what callers rely on: every id is in the vocabulary, the special
 * tokens frame the output at any max_ids, a pair's token types never go
 * down, spans lie inside the text and do not go back, decoding works, and
 * the search index's words are valid UTF-8 of at most TE_TERM_MAX_CHARS
 * characters.
 */
#include <assert.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tinyembed.h"
#include "tokenizer.h"
#include "unicode.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const model_files[] = {"tiny-mean.temb", "carrier-unigram-xlmr.temb", "carrier-unigram-bytefallback.temb",
                                          "carrier-unigram-albert.temb", "carrier-unigram-nfkc-roberta.temb"};
enum { N_MODELS = sizeof model_files / sizeof *model_files };

/* The models, opened once for the process's lifetime. */
static const te_model *the_model(size_t i) {
    static te_model *m[N_MODELS];
    if (!m[i]) {
        const char *dir = getenv("TE_TESTDATA");
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir ? dir : "build/testdata", model_files[i]);
        te_error err;
        m[i] = te_open(path, NULL, &err);
        if (!m[i]) {
            fprintf(stderr, "fuzz_tokenizer: %s\n", te_errmsg(&err));
            abort();
        }
    }
    return m[i];
}

/* Well-formed UTF-8 (U+FFFD only as itself, EF BF BD: what the tokenizer put for bad input). */
static void valid_utf8(const char *s, size_t n) {
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        size_t len = te_utf8_decode((const unsigned char *)s + i, n - i, &cp);
        assert(cp != 0xFFFD || (len == 3 && !memcmp(s + i, "\xEF\xBF\xBD", 3)));
        i += len;
    }
}

static void check_term(void *user, const char *w, size_t len) {
    (void)user;
    assert(len > 0 && len <= 4 * TE_TERM_MAX_CHARS);
    valid_utf8(w, len);
    size_t chars = 0;
    for (size_t i = 0; i < len; i++) chars += ((unsigned char)w[i] & 0xC0) != 0x80;
    assert(chars <= TE_TERM_MAX_CHARS);
}

static void check_framed(const te_model_info *in, const int32_t *ids, size_t n, size_t max_ids) {
    assert(n >= 2 && n <= max_ids);
    assert(ids[0] == in->tokenizer.cls_id && ids[n - 1] == in->tokenizer.sep_id);
    for (size_t i = 0; i < n; i++) assert(ids[i] >= 0 && ids[i] < in->vocab_tokens);
}

static void check_spans(const te_model *m, const char *text, size_t size) {
    static int32_t ids[512];
    static te_span spans[512];
    size_t n;
    te_error err;
    assert(te_tokenize_spans(m, text, size, 0, ids, spans, 512, &n, NULL, &err) == TE_OK);
    uint32_t last = 0;
    for (size_t i = 0; i < n; i++) {
        if (spans[i].start == TE_SPAN_NONE) continue;
        assert(spans[i].start <= spans[i].end && spans[i].end <= size && spans[i].start >= last);
        last = spans[i].start;
    }
    static char out[8192];
    size_t len;
    assert(te_decode(m, ids, n, 1, out, sizeof out, &len, &err) == TE_OK);
}

static void check_model(const te_model *m, const char *text, size_t size) {
    te_model_info in;
    te_model_get_info(m, &in);
    static int32_t ids[512];
    static uint8_t types[512];
    size_t n;
    te_error err;
    static const size_t caps[] = {512, 3, 2};
    for (size_t c = 0; c < sizeof caps / sizeof caps[0]; c++) {
        assert(te_tokenize(m, text, size, ids, caps[c], &n, &err) == TE_OK);
        check_framed(&in, ids, n, caps[c]);
    }
    int truncated;
    assert(te_tokenize_pair(m, text, size / 2, text + size / 2, size - size / 2, ids, types, 24, &n, &truncated,
                            &err) == TE_OK);
    check_framed(&in, ids, n, 24);
    for (size_t i = 1; i < n; i++) assert(types[i] >= types[i - 1] && types[i] <= 1);
    check_spans(m, text, size);
    static char norm[65536];
    size_t nn = te_tok_normalize(m, text, size, norm, sizeof norm);
    valid_utf8(norm, nn < sizeof norm ? nn : 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *text = (const char *)data;
    for (size_t i = 0; i < N_MODELS; i++) check_model(the_model(i), text, size);
    te_tok_terms(text, size, check_term, NULL);
    return 0;
}
