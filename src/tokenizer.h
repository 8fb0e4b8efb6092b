/*
 * tokenizer.h - the stages of te_tokenize, exposed to the tests: the
 * normalizer alone, normalizer + pre-tokenizer, and WordPiece on one word.
 * They run the very same code as te_tokenize, stopped at a given stage.
 */
#ifndef TE_TOKENIZER_H
#define TE_TOKENIZER_H

#include <stddef.h>
#include <stdint.h>

#include "model.h"
#include "tok.h"

/* Normalized text (UTF-8) of `text`, added tokens excluded; returns bytes written. */
size_t te_tok_normalize(const te_model *m, const char *text, size_t len, char *out, size_t cap);

/* The pre-tokenized words of `text`, each followed by '\n'; added tokens
 * appear as "<id>" lines. Returns bytes written. */
size_t te_tok_words(const te_model *m, const char *text, size_t len, char *out, size_t cap);

/* The search index's words of `text` (BM25 terms): the BERT normalizer with
 * every option on (clean text, CJK ideographs apart, accents stripped,
 * lowercase) and its pre-tokenizer, punctuation dropped; no model needed.
 * fn gets each word in order (UTF-8, at most TE_TERM_MAX_CHARS characters:
 * longer words are cut there). */
#define TE_TERM_MAX_CHARS 64
typedef void (*te_term_fn)(void *user, const char *word, size_t len);
void te_tok_terms(const char *text, size_t len, te_term_fn fn, void *user);

/* WordPiece ids of one already-normalized word; returns the count. */
size_t te_tok_wordpiece(const te_model *m, const char *word, size_t len, int32_t *ids, size_t cap);

/* One text (b NULL) or a pair framed by the model's template (tokenizer.json's
 * post_processor), into ids[max_ids] with their token types (types may be
 * NULL). A pair too long is cut as HF's LongestFirst does; tmp has room for
 * max_ids ids (pairs only). *truncated: whether anything was cut. */
/* The same with each id's span in the text it came from (spans and
 * tmp_spans may be NULL; tmp_spans has room for max_ids when spans and b are
 * given), and without the template's special tokens when add_special is 0. */
te_status te_tok_encode_ex(const te_model *m, const char *a, size_t alen, const char *b, size_t blen, int32_t *ids,
                           uint8_t *types, te_span *spans, int32_t *tmp, te_span *tmp_spans, size_t max_ids,
                           size_t *n_ids, int *truncated, int add_special, te_error *err);

te_status te_tok_encode(const te_model *m, const char *a, size_t alen, const char *b, size_t blen, int32_t *ids,
                        uint8_t *types, int32_t *tmp, size_t max_ids, size_t *n_ids, int *truncated, te_error *err);

#endif
