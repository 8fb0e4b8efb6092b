/*
 * fuzz_tokenizer.c - libFuzzer target for the tokenizer: any bytes as text
 * (invalid UTF-8 included) through the real all-MiniLM-L6-v2 vocabulary of
 * the test model ($TE_TESTDATA/tiny-mean.temb; TE_TESTDATA defaults to
 * build/testdata). Checks what callers rely on: every id is in the
 * vocabulary, [CLS] and [SEP] frame the output at any max_ids, a pair's
 * token types are 0s then 1s, and the search index's words are valid UTF-8
 * of at most TE_TERM_MAX_CHARS characters.
 */
#include <assert.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "tinyembed.h"
#include "tokenizer.h"
#include "unicode.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const te_model *the_model(void) {
    static te_model *m; /* opened once, for the process's lifetime */
    if (!m) {
        const char *dir = getenv("TE_TESTDATA");
        char path[4096];
        snprintf(path, sizeof path, "%s/tiny-mean.temb", dir ? dir : "build/testdata");
        te_error err;
        m = te_open(path, NULL, &err);
        if (!m) {
            fprintf(stderr, "fuzz_tokenizer: %s\n", te_errmsg(&err));
            abort();
        }
    }
    return m;
}

static void valid_utf8(const char *s, size_t n) {
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        i += te_utf8_decode((const unsigned char *)s + i, n - i, &cp);
        assert(cp != 0xFFFD);
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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const te_model *m = the_model();
    te_model_info in;
    te_model_get_info(m, &in);
    const char *text = (const char *)data;
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

    static char norm[65536];
    size_t nn = te_tok_normalize(m, text, size, norm, sizeof norm);
    valid_utf8(norm, nn < sizeof norm ? nn : 0);
    te_tok_terms(text, size, check_term, NULL);
    return 0;
}
