/*
 * serve_multi.c - the outputs beyond one vector per text: bge-m3's
 * /embed_sparse (per input a list of {"index": token id, "value": weight},
 * ids ascending) and /embed_colbert (per input a list of unit vectors, one
 * per token after <s>), and TEI's /embed_all (per input every token's last
 * hidden state, special tokens included). A job runs alone through
 * te_embed_multi on the model's context.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "serve.h"

static void answer_sparse(job *j, const te_multi *o) {
    strbuf *b = &j->body;
    sb_add(b, "[", 1);
    for (size_t i = 0; i < j->n; i++) {
        sb_puts(b, i ? ",[" : "[");
        for (size_t k = 0; k < o[i].n_sparse; k++) {
            sb_printf(b, "%s{\"index\":%d,\"value\":", k ? "," : "", (int)o[i].sparse[k].id);
            sb_float(b, o[i].sparse[k].weight);
            sb_add(b, "}", 1);
        }
        sb_add(b, "]", 1);
    }
    sb_add(b, "]", 1);
}

/* Per input a list of vectors: ColBERT's (tokens 1..n-1) or every token's state. */
static void answer_vectors(job *j, const te_multi *o, int dim) {
    strbuf *b = &j->body;
    sb_add(b, "[", 1);
    for (size_t i = 0; i < j->n; i++) {
        int colbert = j->kind == JOB_COLBERT;
        const float *vecs = colbert ? o[i].colbert : o[i].tokens;
        size_t n = colbert ? o[i].n_colbert : o[i].n_tokens;
        sb_puts(b, i ? ",[" : "[");
        for (size_t v = 0; v < n; v++) {
            sb_puts(b, v ? ",[" : "[");
            for (int d = 0; d < dim; d++) {
                if (d) sb_add(b, ",", 1);
                sb_float(b, vecs[v * (size_t)dim + (size_t)d]);
            }
            sb_add(b, "]", 1);
        }
        sb_add(b, "]", 1);
    }
    sb_add(b, "]", 1);
}

static const char *route_of(job_kind k) {
    return k == JOB_SPARSE ? "/embed_sparse" : k == JOB_COLBERT ? "/embed_colbert" : "/embed_all";
}

/* 1 if the model has the output j asks for, else fails j saying what it has. */
static int has_output(job *j, const te_model_info *in, unsigned want) {
    char msg[400];
    if (in->outputs & want) return 1;
    if (in->kind != TE_KIND_EMBEDDING)
        snprintf(msg, sizeof msg, "%s needs an embedding model; model '%s' is a %s", route_of(j->kind), j->model,
                 te_kind_name(in->kind));
    else
        snprintf(msg, sizeof msg, "%s needs a model with %s output (bge-m3's); model '%s' has none", route_of(j->kind),
                 j->kind == JOB_SPARSE ? "a sparse" : "a ColBERT", j->model);
    fail_job(j, 400, "invalid_request_error", msg);
    return 0;
}

/* The first input cut to fit when the request did not allow it, or n. */
static size_t first_cut(const job *j, const uint8_t *cut) {
    for (size_t i = 0; i < j->n; i++)
        if (cut[i] && !j->truncate) return i;
    return j->n;
}

size_t run_multi(te_ctx *ctx, const te_model *m, job *j) {
    te_model_info in;
    te_model_get_info(m, &in);
    unsigned want = j->kind == JOB_SPARSE ? TE_OUTPUT_SPARSE : j->kind == JOB_COLBERT ? TE_OUTPUT_COLBERT : TE_OUTPUT_TOKENS;
    char msg[400];
    if (!has_output(j, &in, want)) return 0;
    if (!j->texts) {
        snprintf(msg, sizeof msg, "%s takes texts, not token ids", route_of(j->kind));
        fail_job(j, 400, "invalid_request_error", msg);
        return 0;
    }
    if (!job_apply_prompt(j, m)) return 0;
    te_multi *o = calloc(j->n, sizeof *o);
    uint8_t *cut = calloc(j->n, 1);
    te_error err;
    size_t bad;
    if (!o || !cut) {
        fail_job(j, 500, "server_error", "out of memory");
    } else if (te_embed_multi(ctx, j->texts, j->lens, j->n, want, o, cut, &err) != TE_OK) {
        fail_job(j, 400, "invalid_request_error", te_errmsg(&err));
    } else if ((bad = first_cut(j, cut)) < j->n) {
        snprintf(msg, sizeof msg, "input %zu is longer than the model's limit of %d tokens (truncation was not asked "
                 "for: send \"truncate\": true)", bad, in.max_seq_length);
        fail_job(j, 422, "validation", msg);
    } else {
        j->status = 200;
        for (size_t i = 0; i < j->n; i++) j->tokens += o[i].n_tokens;
        if (j->kind == JOB_SPARSE) answer_sparse(j, o);
        else answer_vectors(j, o, j->kind == JOB_COLBERT ? in.colbert_dim : in.hidden_size);
    }
    if (o) te_multi_free(o, j->n);
    free(o);
    free(cut);
    return j->status == 200 ? j->tokens : 0;
}
