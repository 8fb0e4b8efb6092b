/*
 * regex.h - a small backtracking regular-expression engine for the
 * patterns real tokenizer.json files hold (Replace, Split, ByteLevel's
 * GPT-2 pattern): literals, '.', classes with ranges and negation, \s \S
 * \w \W \d \D, \p{L} \p{N} and their \P negations, groups (?:...) and
 * (?i:...), alternation, the quantifiers * + ? {n} {n,} {n,m} (greedy or
 * lazy with '?'), lookahead (?=...) (?!...), ^ and $. Matching is
 * Perl's and Oniguruma's: leftmost, first alternative first, greedy
 * quantifiers backtracking. Anything else is refused at compile time,
 * naming what it is.
 */
#ifndef TE_REGEX_H
#define TE_REGEX_H

#include <stddef.h>

#include "tinyembed.h"

typedef struct te_regex te_regex;

te_regex *te_regex_compile(const char *pattern, size_t len, te_error *err);
void te_regex_free(te_regex *re);

/* The leftmost match starting at or after `from` in s[0..n): 1 with the
 * match in [*start, *end), or 0. Empty matches are reported. */
int te_regex_search(const te_regex *re, const char *s, size_t n, size_t from, size_t *start, size_t *end);

#endif
