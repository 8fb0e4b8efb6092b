/*
 * compare.c - our side of the tokenizer differential: te_tokenize on every
 * input of CASES.bin (4-byte little-endian length + raw bytes, from gen.py)
 * against the reference ids in REF.txt (one line of space-separated ids per
 * input, from ref.js). Prints the first differences with the input escaped,
 * then one line: PASS (no difference) or FAIL with the count.
 *   tokdiff MODEL.temb CASES.bin REF.txt
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "tinyembed.h"

enum { MAX_IDS = 1 << 16, SHOW = 5 };

static void show_input(const uint8_t *s, size_t n) {
    printf("  input (%zu bytes): \"", n);
    for (size_t i = 0; i < n; i++)
        if (s[i] >= 0x20 && s[i] < 0x7f && s[i] != '"' && s[i] != '\\') putchar(s[i]);
        else printf("\\x%02x", s[i]);
    printf("\"\n");
}

static void show_ids(const char *who, const int32_t *ids, size_t n) {
    printf("  %s:", who);
    for (size_t i = 0; i < n; i++) printf(" %d", ids[i]);
    printf("\n");
}

/* Parses one line of ids; returns the count, or (size_t)-1 on a malformed line. */
static size_t parse_ids(char *line, int32_t *ids) {
    size_t n = 0;
    for (char *p = line, *end; *p && *p != '\n'; p = end) {
        long v = strtol(p, &end, 10);
        if (end == p || n == MAX_IDS || v < 0 || v > INT32_MAX) return (size_t)-1;
        ids[n++] = (int32_t)v;
        while (*end == ' ') end++;
    }
    return n;
}

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: tokdiff MODEL.temb CASES.bin REF.txt\n");
        return 2;
    }
    te_error err;
    te_model *m = te_open(argv[1], NULL, &err);
    size_t cases_len;
    uint8_t *cases = (uint8_t *)th_read_file(argv[2], &cases_len);
    FILE *ref = fopen(argv[3], "r");
    if (!m || !cases || !ref) {
        printf("FAIL tokenizer differential: cannot open %s\n", !m ? te_errmsg(&err) : !cases ? argv[2] : argv[3]);
        return 1;
    }
    int32_t *ours = malloc(MAX_IDS * sizeof *ours), *theirs = malloc(MAX_IDS * sizeof *theirs);
    size_t line_cap = 1 << 20;
    char *line = malloc(line_cap);
    size_t n_cases = 0, n_diff = 0;
    for (size_t off = 0; off + 4 <= cases_len;) {
        uint32_t len;
        memcpy(&len, cases + off, 4);
        const uint8_t *text = cases + off + 4;
        if (len > cases_len - off - 4 || !fgets(line, (int)line_cap, ref)) {
            printf("FAIL tokenizer differential: %s ends before %s at input %zu\n", len > cases_len - off - 4 ? argv[2] : argv[3],
                   len > cases_len - off - 4 ? "its declared length" : "the inputs", n_cases + 1);
            return 1;
        }
        off += 4 + (size_t)len;
        size_t n_ours = 0, n_theirs = parse_ids(line, theirs);
        te_status st = te_tokenize(m, (const char *)text, len, ours, MAX_IDS, &n_ours, &err);
        n_cases++;
        if (st == TE_OK && n_ours == n_theirs && memcmp(ours, theirs, n_ours * sizeof *ours) == 0) continue;
        if (++n_diff <= SHOW) {
            printf("difference at input %zu%s%s\n", n_cases, st == TE_OK ? "" : ": ", st == TE_OK ? "" : te_errmsg(&err));
            show_input(text, len);
            show_ids("tinyembed", ours, n_ours);
            show_ids("reference", theirs, n_theirs == (size_t)-1 ? 0 : n_theirs);
        }
    }
    if (fgets(line, (int)line_cap, ref)) {
        printf("FAIL tokenizer differential: %s has more lines than %s has inputs\n", argv[3], argv[2]);
        return 1;
    }
    if (n_cases == 0) {
        printf("FAIL tokenizer differential: no inputs in %s\n", argv[2]);
        return 1;
    }
    if (n_diff) printf("FAIL tokenizer differential: %zu of %zu inputs differ from the reference\n", n_diff, n_cases);
    else printf("PASS tokenizer differential: %zu inputs, ids identical to the reference\n", n_cases);
    fclose(ref);
    free(line);
    free(ours);
    free(theirs);
    free(cases);
    te_close(m);
    return n_diff != 0;
}
