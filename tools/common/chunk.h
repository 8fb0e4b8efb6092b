/*
 * chunk.h - long texts for the tools, on the public API: every token of a
 * text with its byte span, truncation that keeps a text's end, and a text
 * cut into overlapping windows of tokens, each framed by the model's special
 * tokens as te_tokenize frames a whole text, whose vectors are averaged back
 * into one (the server's "chunking", `embed --chunk`).
 */
#ifndef TE_CHUNK_H
#define TE_CHUNK_H

#include <stddef.h>
#include <stdint.h>

#include "tinyembed.h"

/* Every id and span of a text, however many: *ids and *spans (NULL or
 * earlier results; the caller frees them) grow until nothing is cut. */
te_status tok_all(const te_model *m, const char *text, size_t len, int add_special, int32_t **ids, te_span **spans,
                  size_t *n, te_error *err);

/* The ids of a text cut to max (special tokens included) by dropping the
 * start of its content, not its end (TEI's truncation_direction "Left");
 * ids has room for max. */
te_status tok_keep_end(const te_model *m, const char *text, size_t len, int32_t *ids, size_t max, size_t *n,
                       te_error *err);

/* A text's chunks: chunk k is ids[start[k] .. start[k] + len[k]) and covers
 * bytes span[k] of the text (its first to its last token's). */
typedef struct chunks {
    int32_t *ids;
    size_t *start, *len;
    te_span *span;
    size_t n;
} chunks;

/* Cuts text into chunks of at most max_tokens ids each: the template's
 * special tokens, then `prefix` (a prompt's ids, or NULL), then a window of
 * the text's tokens; consecutive windows share `overlap` tokens, and the last
 * one ends with the text. A text with no tokens is one chunk. TE_ERR_ARG
 * when max_tokens leaves no room for a token of text or overlap is not
 * below the window. Free with chunks_free. */
te_status chunk_text(const te_model *m, const char *text, size_t len, const int32_t *prefix, size_t n_prefix,
                     size_t max_tokens, size_t overlap, chunks *out, te_error *err);
void chunks_free(chunks *c);

/* out[dim] = the mean of v[n][dim] weighted by w[n] (each chunk's token
 * count), scaled to unit length. */
void chunk_mean(const float *v, const size_t *w, size_t n, int dim, float *out);

#endif
