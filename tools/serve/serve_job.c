/*
 * serve_job.c - a job's life: made by a route (serve_api.c) or a reload
 * (cmd_serve.c), answered or failed by a worker (serve_batch.c,
 * serve_score.c), freed by the event loop once written; and the error
 * bodies, in the shape of the API a request came to, for jobs and routes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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

/* Cohere's input_type names a purpose; the model's prompt for it, if it has one. */
static const char *prompt_for_input_type(const te_model *m, const char *input_type) {
    static const char *const names[][3] = {{"search_query", "query", NULL},
                                           {"search_document", "document", "passage"},
                                           {"classification", "classification", NULL},
                                           {"clustering", "clustering", NULL}};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        if (strcmp(input_type, names[i][0]) != 0) continue;
        for (int k = 1; k < 3 && names[i][k]; k++)
            for (int p = 0; p < te_model_n_prompts(m); p++) {
                const char *name;
                if (te_model_prompt(m, p, &name, NULL) && strcmp(name, names[i][k]) == 0) return name;
            }
    }
    return "";
}

int job_apply_prompt(job *j, const te_model *m) {
    const char *prompt;
    te_error err;
    if (!j->texts) return 1; /* token ids are taken as given */
    if (j->input_type) {
        const char *name = prompt_for_input_type(m, j->input_type);
        j->prompt_name = name[0] ? name : NULL;
        if (!name[0]) return 1; /* no prompt of that purpose: the texts as they are */
    }
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
    j->prompt_len = plen;
    return 1;
}

void job_response_id(const job *j, char *out, size_t cap) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    snprintf(out, cap, "%08llx-%04x-%04llx-%012llx", (unsigned long long)ts.tv_sec & 0xffffffffull,
             (unsigned)(ts.tv_nsec >> 14) & 0xffff, (unsigned long long)j->conn_serial & 0xffff,
             ((unsigned long long)(uintptr_t)j ^ (unsigned long long)ts.tv_nsec) & 0xffffffffffffull);
}

/* The answer holds int8 or uint8 vectors. */
static int wants_range(const job *j) {
    unsigned bytes = (1u << PREC_INT8) | (1u << PREC_UINT8);
    return j->api == API_COHERE ? (j->cohere_types & bytes) != 0 : j->precision == PREC_INT8 || j->precision == PREC_UINT8;
}

int job_check_output(job *j, const te_model *m, const te_model_info *in) {
    char msg[400];
    int normalized = (j->api == API_TEI && j->normalize) || (j->kind == JOB_CHUNKS && !j->chunk_each);
    const char *why = wants_range(j) ? precision_range_refusal(in, j->dimensions, normalized) : NULL;
    if (j->dimensions > in->hidden_size)
        snprintf(msg, sizeof msg, "\"dimensions\" must be an integer from 1 to the model's %d", in->hidden_size);
    else if (why)
        snprintf(msg, sizeof msg, "model '%s' %s", j->model, why);
    else {
        j->range_model = m;
        return 1;
    }
    fail_job(j, 400, "invalid_request_error", msg);
    return 0;
}

void fail_job(job *j, int status, const char *type, const char *msg) {
    sb_free(&j->body);
    j->status = status;
    size_t n = strlen(msg); /* the log's copy may be cut short; the answer has it whole */
    n = n < sizeof j->message ? n : sizeof j->message - 1;
    memcpy(j->message, msg, n);
    j->message[n] = '\0';
    api_error(j->api, status, type, msg, &j->body);
}

void api_error(job_api api, int status, const char *type, const char *msg, strbuf *out) {
    if (api == API_OPENAI) {
        sb_puts(out, "{\"error\":{\"message\":");
        sb_json_str(out, msg, strlen(msg));
        sb_printf(out, ",\"type\":\"%s\",\"param\":null,\"code\":%d}}", type, status);
    } else if (api == API_COHERE) { /* Cohere's (and Jina's clients read it too) */
        sb_puts(out, "{\"message\":");
        sb_json_str(out, msg, strlen(msg));
        sb_puts(out, "}");
    } else {
        /* TEI's error types. */
        const char *t = status == 429 ? "Overloaded" : status == 424 ? "Backend" : status == 503 ? "Unhealthy"
                        : status >= 500 ? "Backend" : "Validation";
        sb_puts(out, "{\"error\":");
        sb_json_str(out, msg, strlen(msg));
        sb_printf(out, ",\"error_type\":\"%s\"}", t);
    }
}

void route_error(route_result *out, job_api api, int status, const char *type, const char *msg) {
    out->kind = ROUTE_ANSWER;
    out->status = status;
    snprintf(out->message, sizeof out->message, "%s", msg);
    api_error(api, status, type, msg, &out->body);
}
