/*
 * fuzz_requests.c - libFuzzer target for what `serve` makes of a request:
 * any bytes, parsed as one HTTP request and routed on a server with an
 * embedder, a classifier and a cross-encoder (declared, never loaded: a
 * route only reads their headers' kinds). Besides the sanitizers' checks it
 * asserts what the event loop relies on: a request becomes a job for a
 * served model with at least one input and no more than --max-batch, or an
 * answer with a status, and every refusal is a 4xx with a message.
 */
#include <assert.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "serve.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static srv_config cfg = {.max_batch = 8, .max_body = 4096, .max_queue = 64, .max_batch_texts = 16, .workers = 1};
static srv_ctx server;
static int kinds[3];

/* The server, once: three models from TE_TESTDATA (make fuzz and the slice set it). */
static void setup(void) {
    static const char *const names[] = {"emb", "cls", "ce"};
    static const char *const files[] = {"tiny-mean.temb", "distilbert-sst2.temb", "ce-minilm.temb"};
    const char *dir = getenv("TE_TESTDATA");
    te_error err;
    server.cfg = &cfg;
    server.reg = te_registry_new(&err);
    server.metrics = metrics_new();
    for (int i = 0; i < 3 && server.reg; i++) {
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", dir ? dir : "build/testdata", files[i]);
        te_reg_decl d = {.name = names[i], .path = path, .first_use = 1};
        if (te_registry_declare(server.reg, &d, &err) != TE_OK) abort();
    }
    if (!server.reg || !server.metrics || !serve_defaults(&server, kinds, NULL, 0) || kinds[0] < 0) {
        fprintf(stderr, "fuzz_requests: cannot open the test models under TE_TESTDATA\n");
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static const http_limits lim = {.max_header_bytes = 2048, .max_headers = 16, .max_body = 4096};
    if (!server.reg) setup();
    http_request req;
    int status;
    const char *reason;
    if (http_parse((const char *)data, size, &lim, &req, &status, &reason) != HTTP_DONE) return 0;
    route_result rr;
    route_request(&server, &req, 1, &rr);
    if (rr.kind == ROUTE_JOB) {
        job *j = rr.job;
        assert(j && te_registry_find(server.reg, j->model) >= 0 && strcmp(rr.model, j->model) == 0);
        assert(j->kind == JOB_INFO || (j->n >= 1 && j->n <= cfg.max_batch));
        for (size_t i = 0; j->texts && i < j->n; i++) assert(j->texts[i] && strlen(j->texts[i]) == j->lens[i]);
        for (size_t i = 0; j->ids && i < j->n; i++) assert(j->n_ids[i] >= 1);
        job_free(j);
    } else if (rr.kind == ROUTE_ANSWER) {
        assert(rr.status >= 200 && rr.status < 600 && !rr.body.failed);
        assert(rr.status < 400 || rr.message[0]);
    }
    sb_free(&rr.body);
    return 0;
}
