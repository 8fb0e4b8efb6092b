/*
 * test_serve_api.c - routing decisions of `serve`: admin routes refused to
 * a client that is not on loopback (without --api-key) and allowed with the
 * key from anywhere; which model a request reaches (the body's, a
 * /models/NAME/ prefix's, the default of the kind the route needs,
 * --default-model's); methods and unknown paths.
 */
#include <stdio.h>
#include <string.h>

#include "harness.h"
#include "serve.h"

static http_request request(const char *text, size_t *len) {
    static const http_limits lim = {4096, 32, 4096};
    http_request r;
    int st;
    const char *why;
    *len = strlen(text);
    http_parse(text, *len, &lim, &r, &st, &why);
    return r;
}

TEST(admin_routes_answer_loopback_only_without_a_key) {
    char path[1024];
    te_error err;
    te_registry *reg = te_registry_new(&err);
    te_reg_decl d = {.name = "m", .path = th_path(path, sizeof path, "TE_TESTDATA", "tiny-mean.temb"), .first_use = 1};
    CHECK(reg && te_registry_declare(reg, &d, &err) == TE_OK);
    srv_config cfg = {.max_batch = 32, .max_body = 4096, .max_queue = 64};
    srv_metrics *m = metrics_new();
    srv_ctx s = {&cfg, reg, m, NULL, NULL, {"m", "m", "m", "m"}, NULL};
    size_t n;
    http_request req = request("POST /admin/reload HTTP/1.1\r\nHost: x\r\n\r\n", &n);
    route_result rr;
    route_request(&s, &req, 0, &rr);
    CHECK_EQ_INT(rr.status, 403);
    CHECK_HAS(rr.body.p, "loopback");
    sb_free(&rr.body);
    route_request(&s, &req, 1, &rr);
    CHECK_EQ_INT(rr.kind, ROUTE_RELOAD);
    sb_free(&rr.body);
    cfg.api_key = "k";
    req = request("POST /admin/reload HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer k\r\n\r\n", &n);
    route_request(&s, &req, 0, &rr);
    CHECK_EQ_INT(rr.kind, ROUTE_RELOAD);
    sb_free(&rr.body);
    req = request("GET /health HTTP/1.1\r\nHost: x\r\n\r\n", &n);
    route_request(&s, &req, 0, &rr); /* /health needs no key, from anywhere */
    CHECK(rr.kind == ROUTE_ANSWER && rr.status == 200); /* no start-up model to wait for */
    sb_free(&rr.body);
    metrics_free(m);
    te_registry_free(reg);
}

/* Routes `text` (a whole request) and returns the status (0 for a job, whose model goes to model). */
static int route(const srv_ctx *s, const char *text, char *model, size_t cap) {
    size_t n;
    http_request req = request(text, &n);
    route_result rr;
    route_request(s, &req, 1, &rr);
    int status = rr.kind == ROUTE_JOB ? 0 : rr.status;
    snprintf(model, cap, "%s", rr.kind == ROUTE_JOB ? rr.job->model : rr.body.p ? rr.body.p : "");
    if (rr.kind == ROUTE_JOB) job_free(rr.job);
    sb_free(&rr.body);
    return status;
}

static char *post(char *buf, size_t cap, const char *path, const char *body) {
    snprintf(buf, cap, "POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
             path, strlen(body), body);
    return buf;
}

TEST(requests_reach_the_model_they_name_or_the_default_of_their_kind) {
    char path[1024], req[1024], model[512];
    te_error err;
    te_registry *reg = te_registry_new(&err);
    static const char *const names[] = {"cls", "emb", "ce", "emb2"};
    static const char *const files[] = {"distilbert-sst2.temb", "tiny-mean.temb", "ce-minilm.temb", "tiny-cls.temb"};
    for (int i = 0; i < 4; i++) {
        te_reg_decl d = {.name = names[i], .path = th_path(path, sizeof path, "TE_TESTDATA", files[i]), .first_use = 1};
        CHECK(reg && te_registry_declare(reg, &d, &err) == TE_OK);
    }
    srv_config cfg = {.max_batch = 32, .max_body = 4096, .max_queue = 64};
    srv_ctx s = {&cfg, reg, NULL, NULL, NULL, {NULL}, NULL};
    int kinds[4];
    CHECK(serve_defaults(&s, kinds, NULL, 0));
    CHECK_EQ_INT(kinds[0], TE_KIND_CLASSIFIER);
    CHECK_EQ_INT(kinds[2], TE_KIND_RERANKER);
    CHECK_EQ_INT(route(&s, post(req, sizeof req, "/embed", "{\"inputs\": \"a\"}"), model, sizeof model), 0);
    CHECK_STR_EQ(model, "emb"); /* the first embedding model, not the first model */
    CHECK_EQ_INT(route(&s, post(req, sizeof req, "/predict", "{\"inputs\": \"a\"}"), model, sizeof model), 0);
    CHECK_STR_EQ(model, "cls");
    CHECK_EQ_INT(route(&s, post(req, sizeof req, "/v2/rerank", "{\"query\": \"q\", \"documents\": [\"a\"]}"), model, sizeof model), 0);
    CHECK_STR_EQ(model, "ce");
    CHECK_EQ_INT(route(&s, post(req, sizeof req, "/", "{\"inputs\": \"a\"}"), model, sizeof model), 0);
    CHECK_STR_EQ(model, "cls"); /* POST / reaches the first model, whatever its kind */
    CHECK_EQ_INT(route(&s, post(req, sizeof req, "/v1/embeddings", "{\"input\": \"a\", \"model\": \"emb2\"}"), model, sizeof model), 0);
    CHECK_STR_EQ(model, "emb2");
    CHECK_EQ_INT(route(&s, post(req, sizeof req, "/models/emb2/v1/embeddings", "{\"input\": \"a\"}"), model, sizeof model), 0);
    CHECK_STR_EQ(model, "emb2");
    CHECK_EQ_INT(route(&s, post(req, sizeof req, "/models/ce", "{\"query\": \"q\", \"texts\": [\"a\"]}"), model, sizeof model), 0);
    CHECK_STR_EQ(model, "ce");
    CHECK_EQ_INT(route(&s, post(req, sizeof req, "/models/emb2/embed", "{\"inputs\": \"a\", \"model\": \"emb\"}"), model, sizeof model), 400);
    CHECK_EQ_INT(route(&s, post(req, sizeof req, "/models/nosuch/embed", "{\"inputs\": \"a\"}"), model, sizeof model), 404);
    CHECK_EQ_INT(route(&s, post(req, sizeof req, "/models//embed", "{\"inputs\": \"a\"}"), model, sizeof model), 404);
    CHECK_EQ_INT(route(&s, post(req, sizeof req, "/models/emb/health", "{}"), model, sizeof model), 404);
    CHECK_EQ_INT(route(&s, post(req, sizeof req, "/nothing", "{}"), model, sizeof model), 404);
    CHECK_EQ_INT(route(&s, "GET /embed HTTP/1.1\r\nHost: x\r\n\r\n", model, sizeof model), 405);
    CHECK_HAS(model, "/embed takes POST");
    CHECK_EQ_INT(route(&s, "PUT / HTTP/1.1\r\nHost: x\r\n\r\n", model, sizeof model), 405);
    CHECK_EQ_INT(route(&s, post(req, sizeof req, "/v1/nothing", "{}"), model, sizeof model), 404);
    CHECK_HAS(model, "\"error\":{\"message\""); /* OpenAI's shape under /v1/ */
    /* --default-model: the first named wins POST /, each its own kind. */
    static const char *const named[] = {"emb2", "emb"};
    memset(s.defaults, 0, sizeof s.defaults);
    CHECK(serve_defaults(&s, kinds, named, 2));
    CHECK_EQ_INT(route(&s, post(req, sizeof req, "/embed", "{\"inputs\": \"a\"}"), model, sizeof model), 0);
    CHECK_STR_EQ(model, "emb2");
    CHECK_EQ_INT(route(&s, post(req, sizeof req, "/", "{\"inputs\": \"a\"}"), model, sizeof model), 0);
    CHECK_STR_EQ(model, "emb2");
    static const char *const unknown[] = {"nosuch"};
    CHECK(!serve_defaults(&s, kinds, unknown, 1));
    te_registry_free(reg);
}

int main(void) {
    RUN(admin_routes_answer_loopback_only_without_a_key);
    RUN(requests_reach_the_model_they_name_or_the_default_of_their_kind);
    return th_done();
}
