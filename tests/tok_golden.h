/*
 * tok_golden.h - checks a token golden file ({"text", "ids"} per line, or
 * {"pair", "ids", "type_ids"} for pairs: what the real Hugging Face
 * tokenizers gave, truncated at max ids) against te_tokenize /
 * te_tokenize_pair: ids and token types identical. Shared by the tokenizer
 * tests (test_unigram.c, test_bpe.c).
 */
#ifndef TE_TOK_GOLDEN_H
#define TE_TOK_GOLDEN_H

#include "harness.h"
#include "json.h"
#include "tinyembed.h"

/* Every line of `path` through m; *lines counts them. Returns 1 when all are identical (the first two that
 * are not are printed). */
static inline int tok_check_golden(te_model *m, const char *path, int max, int pairs, int *lines) {
    size_t len = 0, at = 0;
    char *text = th_read_file(path, &len);
    int bad = 0;
    *lines = 0;
    static int32_t ids[1024];
    static uint8_t types[1024];
    for (char *line = text, *nl; m && text && at < len; line = nl + 1, at = (size_t)(line - text)) {
        nl = strchr(line, '\n');
        if (!nl) nl = line + strlen(line);
        te_error err;
        json_doc *d = json_parse(line, (size_t)(nl - line), &err);
        if (!d) break;
        const json_value *r = json_root(d), *want = json_get(r, "ids"), *wt = json_get(r, "type_ids");
        size_t n = 0;
        if (pairs) {
            const json_value *pr = json_get(r, "pair");
            te_tokenize_pair(m, pr->items[0]->str, pr->items[0]->len, pr->items[1]->str, pr->items[1]->len, ids, types,
                             (size_t)max, &n, NULL, &err);
        } else {
            const json_value *t = json_get(r, "text");
            te_tokenize(m, t->str, t->len, ids, (size_t)max, &n, &err);
        }
        int same = n == want->len;
        for (size_t i = 0; same && i < n; i++) same = ids[i] == want->items[i]->i && (!wt || types[i] == wt->items[i]->i);
        if (!same && bad++ < 2) printf("  %s line %d differs\n", path, *lines + 1);
        (*lines)++;
        json_free(d);
    }
    free(text);
    return m && text && *lines > 0 && bad == 0;
}

/* The carrier model (a one-layer BERT converted around a tokenizer) of each name: TE_TESTDATA/carrier-NAME.temb.
 * Returns 0, or 2 (a test program's "cannot run") after printing why. */
static inline int tok_open_carriers(const char *const *names, int n, te_model **out) {
    for (int i = 0; i < n; i++) {
        char path[1024], rel[128];
        te_error err;
        snprintf(rel, sizeof rel, "carrier-%s.temb", names[i]);
        if (!(out[i] = te_open(th_path(path, sizeof path, "TE_TESTDATA", rel), NULL, &err))) {
            printf("cannot open %s: %s\n", path, err.msg);
            return 2;
        }
    }
    return 0;
}

#endif
