/*
 * serve_chunks.c - "chunking": {"max_tokens", "overlap", "reduce"} on /embed
 * and /v1/embeddings, so that a long text is embedded whole instead of cut
 * or refused. Each text is cut on token boundaries into windows that share
 * `overlap` tokens, each framed by the model's special tokens with the
 * prompt's tokens in front (chunk.c); every chunk of the job goes through
 * one te_embed_tokens call, and each text gets their token-weighted mean,
 * scaled to unit length ("mean"), or every chunk with its byte span
 * ("none").
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "serve.h"

/* The prompt's ids (no special tokens), or n 0 without one; 0 after failing j. */
static int prompt_ids(job *j, const te_model *m, int32_t **ids, size_t *n) {
    const char *prompt;
    te_error err;
    te_span *spans = NULL;
    *n = 0;
    if (te_model_prompt_text(m, j->prompt_name, &prompt, &err) != TE_OK) {
        fail_job(j, 400, "invalid_request_error", te_errmsg(&err));
        return 0;
    }
    te_status st = prompt[0] ? tok_all(m, prompt, strlen(prompt), 0, ids, &spans, n, &err) : TE_OK;
    free(spans);
    if (st != TE_OK) fail_job(j, 500, "server_error", te_errmsg(&err));
    return st == TE_OK;
}

/* Cuts every text of j into c[j->n]; the total number of chunks, or 0 after failing j. */
static size_t cut_all(job *j, const te_model *m, const int32_t *prefix, size_t n_prefix, chunks *c) {
    size_t total = 0;
    te_error err;
    for (size_t i = 0; i < j->n; i++) {
        te_status st = chunk_text(m, j->texts[i], j->lens[i], prefix, n_prefix, j->chunk_max, j->chunk_overlap, &c[i], &err);
        if (st != TE_OK) {
            char msg[400];
            snprintf(msg, sizeof msg, "input %zu: %s", i, te_errmsg(&err));
            fail_job(j, st == TE_ERR_NOMEM ? 500 : 400, "invalid_request_error", msg);
            return 0;
        }
        total += c[i].n;
    }
    return total;
}

/* Embeds every chunk (total of them) into out[total * H]; the tokens, or 0 after failing j. */
static size_t embed_all(te_ctx *ctx, job *j, const chunks *c, size_t total, float *out) {
    const int32_t **seq = malloc(total * sizeof *seq);
    size_t *lens = malloc(total * sizeof *lens), s = 0, tokens = 0;
    te_error err;
    if (!seq || !lens) fail_job(j, 500, "server_error", "out of memory");
    for (size_t i = 0; seq && lens && i < j->n; i++)
        for (size_t k = 0; k < c[i].n; k++, s++) {
            seq[s] = c[i].ids + c[i].start[k];
            lens[s] = c[i].len[k];
            tokens += lens[s];
        }
    if (seq && lens && te_embed_tokens(ctx, seq, lens, total, out, &err) != TE_OK) {
        fail_job(j, 400, "invalid_request_error", te_errmsg(&err));
        tokens = 0;
    }
    free(seq);
    free(lens);
    return j->status ? 0 : tokens;
}

size_t run_chunks(te_ctx *ctx, const te_model *m, job *j) {
    te_model_info in;
    te_model_get_info(m, &in);
    size_t H = (size_t)in.hidden_size, n_prefix = 0, total = 0;
    int32_t *prefix = NULL;
    chunks *c = calloc(j->n, sizeof *c);
    float *out = NULL, *mean = NULL;
    char msg[300];
    if (in.kind != TE_KIND_EMBEDDING) {
        snprintf(msg, sizeof msg, "model '%s' is a %s, not an embedding model: chunking embeds texts", j->model,
                 te_kind_name(in.kind));
        fail_job(j, 400, "invalid_request_error", msg);
    } else if (j->chunk_max > (size_t)in.max_seq_length) {
        snprintf(msg, sizeof msg, "\"max_tokens\" must be at most the model's limit of %d tokens", in.max_seq_length);
        fail_job(j, 400, "invalid_request_error", msg);
    } else if (job_check_output(j, m, &in) && !c) {
        fail_job(j, 500, "server_error", "out of memory");
    }
    if (!j->status && prompt_ids(j, m, &prefix, &n_prefix) && (total = cut_all(j, m, prefix, n_prefix, c)) &&
        !(out = malloc(total * H * sizeof *out)))
        fail_job(j, 500, "server_error", "out of memory");
    if (out && (j->tokens = embed_all(ctx, j, c, total, out))) {
        if (j->chunk_each) {
            answer_chunks(j, out, c, (int)H, in.normalize);
        } else if ((mean = malloc(j->n * H * sizeof *mean))) {
            for (size_t i = 0, at = 0; i < j->n; at += c[i].n, i++)
                chunk_mean(out + at * H, c[i].len, c[i].n, (int)H, mean + i * H);
            answer_embeddings(j, mean, (int)H, 1);
        } else {
            fail_job(j, 500, "server_error", "out of memory");
        }
    }
    for (size_t i = 0; c && i < j->n; i++) chunks_free(&c[i]);
    free(c);
    free(prefix);
    free(out);
    free(mean);
    return j->status == 200 ? j->tokens : 0;
}
