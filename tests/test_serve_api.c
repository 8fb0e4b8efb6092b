/*
 * test_serve_api.c - routing decisions of `serve` that a loopback test
 * cannot reach: admin routes refused to a client that is not on loopback
 * (without --api-key), and allowed with the key from anywhere.
 */
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
    srv_ctx s = {&cfg, reg, m, NULL, "m"};
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

int main(void) {
    RUN(admin_routes_answer_loopback_only_without_a_key);
    return th_done();
}
