/*
 * serve_job.c - a job's life: made by a route (serve_api.c) or a reload
 * (cmd_serve.c), answered or failed by a worker (serve_batch.c,
 * serve_score.c), freed by the event loop once written; and the error
 * bodies, in the shape of the API a request came to.
 */
#include <stdlib.h>
#include <string.h>

#include "serve.h"

job *job_new(job_api api, job_kind kind) {
    job *j = calloc(1, sizeof *j);
    if (!j) return NULL;
    j->api = api;
    j->kind = kind;
    j->conn = -1;
    return j;
}

void job_free(job *j) {
    if (!j) return;
    if (j->free_owned) j->free_owned(j->owned);
    free(j->texts);
    free(j->lens);
    free(j->ids);
    free(j->n_ids);
    free(j->id_store);
    free(j->pair_texts);
    free(j->pair_lens);
    sb_free(&j->body);
    free(j);
}

void fail_job(job *j, int status, const char *type, const char *msg) {
    sb_free(&j->body);
    j->status = status;
    api_error(j->api, status, type, msg, &j->body);
}

void api_error(job_api api, int status, const char *type, const char *msg, strbuf *out) {
    if (api == API_OPENAI) {
        sb_puts(out, "{\"error\":{\"message\":");
        sb_json_str(out, msg, strlen(msg));
        sb_printf(out, ",\"type\":\"%s\",\"param\":null,\"code\":%d}}", type, status);
    } else {
        /* TEI's error types. */
        const char *t = status == 429 ? "Overloaded" : status == 424 ? "Backend" : status == 503 ? "Unhealthy"
                        : status >= 500 ? "Backend" : "Validation";
        sb_puts(out, "{\"error\":");
        sb_json_str(out, msg, strlen(msg));
        sb_printf(out, ",\"error_type\":\"%s\"}", t);
    }
}
