/*
 * serve_score.c - classifier and reranker jobs: TEI's /predict (label
 * scores of texts or text pairs) and /rerank (a query against passages),
 * and Cohere's rerank (the same scores, best first, top_n of them).
 * Each input is framed by the model's template (pairs cut as LongestFirst),
 * the whole job is one te_classify_tokens call, and the answer has TEI's
 * shapes: /predict a list of {"label", "score"} best first (a list of such
 * lists for a batch), /rerank a list of {"index", "score"[, "text"]} best
 * first.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "serve.h"

static void answer_predict(job *j, const te_model_info *in, const float *out, cli_ranked *order) {
    size_t L = (size_t)in->num_labels;
    strbuf *b = &j->body;
    if (!j->single_input) sb_add(b, "[", 1);
    for (size_t i = 0; i < j->n; i++) {
        cli_rank(out + i * L, L, order);
        sb_puts(b, i ? ",[" : "[");
        for (size_t k = 0; k < L; k++) {
            const char *label = in->labels ? in->labels[order[k].index] : "";
            sb_puts(b, k ? ",{\"label\":" : "{\"label\":");
            sb_json_str(b, label, strlen(label));
            sb_puts(b, ",\"score\":");
            sb_float(b, order[k].score);
            sb_add(b, "}", 1);
        }
        sb_add(b, "]", 1);
    }
    if (!j->single_input) sb_add(b, "]", 1);
}

/* Best first: TEI's [{"index", "score"(, "text")}], or Cohere's {"id", "results": [{"index",
 * "relevance_score"(, "document": {"text"})}], "meta"} (with "model" and "usage", which Jina's
 * and llama.cpp's clients read) for the best top_n. */
static void answer_rerank(job *j, const float *out, cli_ranked *order) {
    strbuf *b = &j->body;
    int cohere = j->api == API_COHERE;
    size_t n = cohere && j->top_n && j->top_n < j->n ? j->top_n : j->n;
    cli_rank(out, j->n, order);
    if (cohere) {
        char id[40];
        job_response_id(j, id, sizeof id);
        sb_printf(b, "{\"id\":\"%s\",\"results\":", id);
    }
    sb_add(b, "[", 1);
    for (size_t k = 0; k < n; k++) {
        size_t i = order[k].index;
        sb_printf(b, "%s{\"index\":%zu,\"%s\":", k ? "," : "", i, cohere ? "relevance_score" : "score");
        sb_float(b, order[k].score);
        if (j->return_text) {
            sb_puts(b, cohere ? ",\"document\":{\"text\":" : ",\"text\":");
            sb_json_str(b, j->texts[i], j->lens[i]);
            if (cohere) sb_add(b, "}", 1);
        }
        sb_add(b, "}", 1);
    }
    sb_add(b, "]", 1);
    if (!cohere) return;
    sb_puts(b, ",\"meta\":{\"api_version\":{\"version\":\"2\"},\"billed_units\":{\"search_units\":1}},\"model\":");
    sb_json_str(b, j->model, strlen(j->model));
    sb_printf(b, ",\"usage\":{\"total_tokens\":%zu}}", j->tokens);
}

/* Refuses a job sent to a model of the wrong kind; 1 if it may run. */
static int kind_ok(job *j, const te_model_info *in) {
    const char *want = NULL;
    if (j->kind == JOB_RERANK && in->kind != TE_KIND_RERANKER) want = "/rerank needs a reranker (a cross-encoder with one label)";
    if (j->kind == JOB_PREDICT && in->kind == TE_KIND_EMBEDDING) want = "/predict needs a classifier";
    if (!want) return 1;
    char msg[300];
    snprintf(msg, sizeof msg, "%s; model '%s' is %s %s%s", want, j->model,
             in->kind == TE_KIND_CLASSIFIER ? "a" : "an", te_kind_name(in->kind),
             in->kind == TE_KIND_EMBEDDING ? " model: use POST /embed or /v1/embeddings" : "");
    fail_job(j, 400, "invalid_request_error", msg);
    return 0;
}

/* max_tokens_per_doc: *len becomes the bytes of the document's first n tokens (special tokens not
 * counted), so the pair is framed from the cut text; the query is not touched. */
static te_status cut_document(const te_model *m, const char *text, size_t *len, size_t n, te_error *err) {
    int32_t *ids = NULL;
    te_span *spans = NULL;
    size_t count = 0;
    te_status st = tok_all(m, text, *len, 0, &ids, &spans, &count, err);
    if (st == TE_OK && count > n) *len = spans[n - 1].end;
    free(ids);
    free(spans);
    return st;
}

size_t run_scoring(te_ctx *ctx, const te_model *m, job *j) {
    te_model_info in;
    te_model_get_info(m, &in);
    if (!kind_ok(j, &in)) return 0;
    size_t max = (size_t)in.max_seq_length, L = (size_t)in.num_labels, tokens = 0;
    int32_t *ids = malloc(j->n * max * sizeof *ids);
    uint8_t *types = malloc(j->n * max);
    const int32_t **seq = malloc(j->n * sizeof *seq);
    const uint8_t **seq_types = malloc(j->n * sizeof *seq_types);
    size_t *lens = malloc(j->n * sizeof *lens);
    float *out = malloc(j->n * L * sizeof *out);
    cli_ranked *order = malloc((j->n > L ? j->n : L) * sizeof *order);
    te_error err;
    if (!ids || !types || !seq || !seq_types || !lens || !out || !order) {
        fail_job(j, 500, "server_error", "out of memory");
        goto done;
    }
    for (size_t i = 0; i < j->n; i++) {
        const char *a = j->kind == JOB_RERANK ? j->query : j->texts[i];
        size_t alen = j->kind == JOB_RERANK ? j->query_len : j->lens[i];
        const char *b = j->kind == JOB_RERANK ? j->texts[i] : j->pair_texts ? j->pair_texts[i] : NULL;
        size_t blen = j->kind == JOB_RERANK ? j->lens[i] : j->pair_texts ? j->pair_lens[i] : 0;
        int cut = 0;
        seq[i] = ids + i * max;
        seq_types[i] = types + i * max;
        if ((j->doc_max_tokens && cut_document(m, b, &blen, j->doc_max_tokens, &err) != TE_OK) ||
            te_tokenize_pair(m, a, alen, b, blen, ids + i * max, types + i * max, max, &lens[i], &cut, &err) != TE_OK) {
            fail_job(j, 400, "invalid_request_error", te_errmsg(&err));
            goto done;
        }
        if (cut && !j->truncate) {
            char msg[200];
            snprintf(msg, sizeof msg, "input %zu is longer than the model's limit of %zu tokens (truncation was not asked "
                     "for: send \"truncate\": true)", i, max);
            fail_job(j, 422, "validation", msg);
            goto done;
        }
        tokens += lens[i];
    }
    if (te_classify_tokens(ctx, seq, seq_types, lens, j->n, j->raw_scores, out, &err) != TE_OK) {
        fail_job(j, 400, "invalid_request_error", te_errmsg(&err));
        goto done;
    }
    j->status = 200;
    j->tokens = tokens;
    if (j->kind == JOB_PREDICT) answer_predict(j, &in, out, order);
    else answer_rerank(j, out, order);
done:
    free(ids);
    free(types);
    free(seq);
    free(seq_types);
    free(lens);
    free(out);
    free(order);
    return j->status == 200 ? tokens : 0;
}
