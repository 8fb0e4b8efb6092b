/*
 * chunk.c - long texts for the tools: all of a text's tokens, truncation
 * that keeps the end, overlapping windows and their weighted mean. The
 * template's special tokens are the ones te_tokenize_spans gives no span:
 * those at the start and the end of a framed text.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chunk.h"

static te_status fail(te_error *err, te_status code, const char *fmt, size_t a, size_t b) {
    err->code = code;
    snprintf(err->msg, sizeof err->msg, fmt, a, b);
    return code;
}

te_status tok_all(const te_model *m, const char *text, size_t len, int add_special, int32_t **ids, te_span **spans,
                  size_t *n, te_error *err) {
    size_t cap = len + 16;
    for (;;) {
        int32_t *i2 = realloc(*ids, cap * sizeof **ids);
        if (i2) *ids = i2;
        te_span *s2 = i2 ? realloc(*spans, cap * sizeof **spans) : NULL;
        if (s2) *spans = s2;
        if (!i2 || !s2) break;
        int cut = 0;
        te_status st = te_tokenize_spans(m, text, len, add_special, *ids, *spans, cap, n, &cut, err);
        if (st != TE_OK || !cut) return st;
        if (cap > ((size_t)-1) / 4 / sizeof **ids) break;
        cap *= 2;
    }
    return fail(err, TE_ERR_NOMEM, "out of memory (%zu tokens, %zu bytes of text)", cap, len);
}

/* The template's tokens around a framed text of n tokens: lead at the start, tail at the end. */
static void frame(const te_span *spans, size_t n, size_t *lead, size_t *tail) {
    *lead = *tail = 0;
    while (*lead < n && spans[*lead].start == TE_SPAN_NONE) (*lead)++;
    while (*tail < n - *lead && spans[n - 1 - *tail].start == TE_SPAN_NONE) (*tail)++;
}

te_status tok_keep_end(const te_model *m, const char *text, size_t len, int32_t *ids, size_t max, size_t *n,
                       te_error *err) {
    int32_t *all = NULL;
    te_span *spans = NULL;
    size_t k = 0, lead, tail;
    te_status st = tok_all(m, text, len, 1, &all, &spans, &k, err);
    if (st == TE_OK) {
        frame(spans, k, &lead, &tail);
        if (lead + tail > max)
            st = fail(err, TE_ERR_ARG, "a limit of %zu tokens leaves no room for the model's %zu special tokens", max,
                      lead + tail);
    }
    if (st == TE_OK) {
        size_t keep = k <= max ? k - lead - tail : max - lead - tail;
        memcpy(ids, all, lead * sizeof *ids);
        memcpy(ids + lead, all + (k - tail - keep), (keep + tail) * sizeof *ids);
        *n = lead + keep + tail;
    }
    free(all);
    free(spans);
    return st;
}

void chunks_free(chunks *c) {
    free(c->ids);
    free(c->start);
    free(c->len);
    free(c->span);
    memset(c, 0, sizeof *c);
}

/* Chunk k of out: the frame's lead, the prefix, text tokens [a, b), the frame's tail. */
static void put_chunk(chunks *out, const int32_t *all, const te_span *spans, size_t k_all, size_t lead, size_t tail,
                      const int32_t *prefix, size_t n_prefix, size_t a, size_t b) {
    size_t k = out->n++, at = k ? out->start[k - 1] + out->len[k - 1] : 0;
    int32_t *dst = out->ids + at;
    memcpy(dst, all, lead * sizeof *dst);
    if (n_prefix) memcpy(dst + lead, prefix, n_prefix * sizeof *dst);
    memcpy(dst + lead + n_prefix, all + lead + a, (b - a) * sizeof *dst);
    memcpy(dst + lead + n_prefix + (b - a), all + k_all - tail, tail * sizeof *dst);
    out->start[k] = at;
    out->len[k] = lead + n_prefix + (b - a) + tail;
    out->span[k] = b > a ? (te_span){spans[lead + a].start, spans[lead + b - 1].end} : (te_span){0, 0};
}

te_status chunk_text(const te_model *m, const char *text, size_t len, const int32_t *prefix, size_t n_prefix,
                     size_t max_tokens, size_t overlap, chunks *out, te_error *err) {
    int32_t *all = NULL;
    te_span *spans = NULL;
    size_t k = 0, lead, tail;
    memset(out, 0, sizeof *out);
    te_status st = tok_all(m, text, len, 1, &all, &spans, &k, err);
    if (st != TE_OK) goto done;
    frame(spans, k, &lead, &tail);
    size_t body = k - lead - tail, frame_n = lead + tail + n_prefix;
    if (max_tokens <= frame_n) {
        st = fail(err, TE_ERR_ARG, "a chunk of %zu tokens leaves no room for text beside the %zu special and prompt tokens",
                  max_tokens, frame_n);
        goto done;
    }
    size_t window = max_tokens - frame_n;
    if (overlap >= window) {
        st = fail(err, TE_ERR_ARG, "an overlap of %zu tokens must be smaller than the %zu tokens of text a chunk holds",
                  overlap, window);
        goto done;
    }
    size_t step = window - overlap, n = body <= window ? 1 : 1 + (body - window + step - 1) / step;
    out->ids = malloc(n * max_tokens * sizeof *out->ids);
    out->start = malloc(n * sizeof *out->start);
    out->len = malloc(n * sizeof *out->len);
    out->span = malloc(n * sizeof *out->span);
    if (!out->ids || !out->start || !out->len || !out->span) {
        st = fail(err, TE_ERR_NOMEM, "out of memory (%zu chunks of %zu tokens)", n, max_tokens);
        goto done;
    }
    for (size_t a = 0;; a += step) {
        size_t b = a + window < body ? a + window : body;
        put_chunk(out, all, spans, k, lead, tail, prefix, n_prefix, a, b);
        if (b == body) break;
    }
done:
    if (st != TE_OK) chunks_free(out);
    free(all);
    free(spans);
    return st;
}

void chunk_mean(const float *v, const size_t *w, size_t n, int dim, float *out) {
    double total = 0, ss = 0;
    for (size_t k = 0; k < n; k++) total += (double)w[k];
    for (int d = 0; d < dim; d++) {
        double s = 0;
        for (size_t k = 0; k < n; k++) s += (double)w[k] * v[k * (size_t)dim + (size_t)d];
        out[d] = (float)(total > 0 ? s / total : 0);
        ss += (double)out[d] * out[d];
    }
    float inv = ss > 0 ? (float)(1.0 / sqrt(ss)) : 0.0f;
    for (int d = 0; d < dim; d++) out[d] *= inv;
}
