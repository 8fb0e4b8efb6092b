/*
 * serve_multi.c - bge-m3's other outputs: TEI's /embed_sparse (per input a
 * list of {"index": token id, "value": weight}, ids ascending) and
 * /embed_colbert (per input a list of unit vectors, one per token after
 * <s>). A job runs alone through te_embed_multi on the model's context.
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

static void answer_colbert(job *j, const te_multi *o, int dim) {
    strbuf *b = &j->body;
    sb_add(b, "[", 1);
    for (size_t i = 0; i < j->n; i++) {
        sb_puts(b, i ? ",[" : "[");
        for (size_t v = 0; v < o[i].n_colbert; v++) {
            sb_puts(b, v ? ",[" : "[");
            for (int d = 0; d < dim; d++) {
                if (d) sb_add(b, ",", 1);
                sb_float(b, o[i].colbert[v * (size_t)dim + (size_t)d]);
            }
            sb_add(b, "]", 1);
        }
        sb_add(b, "]", 1);
    }
    sb_add(b, "]", 1);
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
    unsigned want = j->kind == JOB_SPARSE ? TE_OUTPUT_SPARSE : TE_OUTPUT_COLBERT;
    const char *route = j->kind == JOB_SPARSE ? "/embed_sparse" : "/embed_colbert";
    char msg[400];
    if (!(in.outputs & want)) {
        snprintf(msg, sizeof msg, "%s needs a model with %s output (bge-m3's); model '%s' has none", route,
                 j->kind == JOB_SPARSE ? "a sparse" : "a ColBERT", j->model);
        fail_job(j, 400, "invalid_request_error", msg);
        return 0;
    }
    if (!j->texts) {
        snprintf(msg, sizeof msg, "%s takes texts, not token ids", route);
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
        else answer_colbert(j, o, in.colbert_dim);
    }
    if (o) te_multi_free(o, j->n);
    free(o);
    free(cut);
    return j->status == 200 ? j->tokens : 0;
}
