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
    free(j->prompted);
    sb_free(&j->body);
    free(j);
}

int job_apply_prompt(job *j, const te_model *m) {
    const char *prompt;
    te_error err;
    if (!j->texts) return 1; /* token ids are taken as given */
    if (te_model_prompt_text(m, j->prompt_name, &prompt, &err) != TE_OK) {
        fail_job(j, 400, "invalid_request_error", te_errmsg(&err));
        return 0;
    }
    size_t plen = strlen(prompt), total = 0;
    if (plen == 0 || j->prompted) return 1;
    for (size_t i = 0; i < j->n; i++) total += plen + j->lens[i];
    if (!(j->prompted = malloc(total ? total : 1))) {
        fail_job(j, 500, "server_error", "out of memory");
        return 0;
    }
    char *p = j->prompted;
    for (size_t i = 0; i < j->n; i++) {
        memcpy(p, prompt, plen);
        memcpy(p + plen, j->texts[i], j->lens[i]);
        j->texts[i] = p;
        j->lens[i] += plen;
        p += j->lens[i];
    }
    return 1;
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
