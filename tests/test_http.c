/*
 * test_http.c - the HTTP/1.1 request parser of `serve`: complete, partial
 * and pipelined requests, keep-alive rules, and every malformed input it
 * must refuse with the right status (smuggling shapes included).
 */
#include "harness.h"
#include "http.h"

static const http_limits lim = {.max_header_bytes = 1024, .max_headers = 8, .max_body = 100};

static http_result parse(const char *s, http_request *req, int *status) {
    const char *reason;
    return http_parse(s, strlen(s), &lim, req, status, &reason);
}

static int eq(http_str s, const char *lit) { return s.n == strlen(lit) && memcmp(s.p, lit, s.n) == 0; }

TEST(complete_post_with_body) {
    const char *s = "POST /v1/embeddings?x=1 HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\n"
                    "Authorization: Bearer k\r\nContent-Length: 5\r\n\r\nhello";
    http_request r;
    int st;
    CHECK_EQ_INT(parse(s, &r, &st), HTTP_DONE);
    CHECK(eq(r.method, "POST") && eq(r.path, "/v1/embeddings") && eq(r.query, "x=1"));
    CHECK(eq(r.content_type, "application/json") && eq(r.authorization, "Bearer k"));
    CHECK(eq(r.body, "hello") && r.consumed == strlen(s) && r.keep_alive && r.minor == 1);
}

/* Every prefix of a request is "need more" (or headers-done), never an error. */
TEST(every_prefix_needs_more) {
    const char *s = "POST /embed HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\n0123456789";
    size_t n = strlen(s), head = strstr(s, "\r\n\r\n") + 4 - s;
    for (size_t k = 0; k < n; k++) {
        http_request r;
        int st;
        const char *why;
        http_result res = http_parse(s, k, &lim, &r, &st, &why);
        CHECK_MSG(res == (k < head ? HTTP_NEED_MORE : HTTP_HEADERS_DONE), "prefix %zu: %d (%s)", k, (int)res, why);
        if (res == HTTP_HEADERS_DONE) CHECK(r.body.n == 10 && r.header_bytes == head);
    }
}

TEST(pipelined_requests_split_at_consumed) {
    const char *s = "GET /health HTTP/1.1\r\nHost: a\r\n\r\nGET /metrics HTTP/1.1\nHost: a\n\n";
    http_request r;
    int st;
    CHECK_EQ_INT(parse(s, &r, &st), HTTP_DONE);
    CHECK(eq(r.path, "/health") && r.body.n == 0);
    CHECK_EQ_INT(parse(s + r.consumed, &r, &st), HTTP_DONE); /* bare LF line ends are accepted */
    CHECK(eq(r.path, "/metrics"));
}

TEST(keep_alive_rules) {
    http_request r;
    int st;
    CHECK(parse("GET / HTTP/1.0\r\n\r\n", &r, &st) == HTTP_DONE && !r.keep_alive);
    CHECK(parse("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", &r, &st) == HTTP_DONE && r.keep_alive);
    CHECK(parse("GET / HTTP/1.1\r\nHost: a\r\nConnection: Keep-Alive, close\r\n\r\n", &r, &st) == HTTP_DONE && !r.keep_alive);
    CHECK(parse("\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", &r, &st) == HTTP_DONE && r.keep_alive);
    CHECK(parse("POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n", &r, &st) ==
          HTTP_HEADERS_DONE && r.expect_continue);
}

TEST(malformed_requests_get_their_status) {
    static const struct { const char *req; int status; } cases[] = {
        {"GET\r\n\r\n", 400},
        {"GET /x\r\n\r\n", 400},
        {"GET x HTTP/1.1\r\nHost: a\r\n\r\n", 400},
        {"GET /a b HTTP/1.1\r\nHost: a\r\n\r\n", 400},
        {"GET /\x01 HTTP/1.1\r\nHost: a\r\n\r\n", 400},
        {"G(T / HTTP/1.1\r\nHost: a\r\n\r\n", 400},
        {"GET / HTTP/2.0\r\n\r\n", 505},
        {"GET / HTTP/1.2\r\n\r\n", 505},
        {"GET / FTP/1.1\r\n\r\n", 400},
        {"GET / HTTP/1.1\r\n\r\n", 400},                              /* no Host */
        {"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400},
        {"GET / HTTP/1.1\r\nHost: a\r\nX : y\r\n\r\n", 400},        /* space before the colon */
        {"GET / HTTP/1.1\r\nHost: a\r\nX: y\r\n  folded\r\n\r\n", 400},
        {"GET / HTTP/1.1\r\nHost: a\r\nnocolon\r\n\r\n", 400},
        {"GET / HTTP/1.1\r\nHost: a\r\nX: a\x01b\r\n\r\n", 400},
        {"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1x\r\n\r\n", 400},
        {"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n", 400},
        {"POST / HTTP/1.1\r\nHost: a\r\nContent-Length:\r\n\r\n", 400},
        {"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n", 400},
        {"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 101\r\n\r\n", 413},
        {"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999999999999999\r\n\r\n", 413},
        {"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n", 501},
        {"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n", 400},
        {"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n", 400},
        {"POST / HTTP/1.1\r\nHost: a\r\nExpect: something\r\n\r\n", 417},
        {"GET / HTTP/1.1\r\nHost: a\r\nA: 1\r\nB: 1\r\nC: 1\r\nD: 1\r\nE: 1\r\nF: 1\r\nG: 1\r\nH: 1\r\n\r\n", 431},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        http_request r;
        int st;
        http_result res = parse(cases[i].req, &r, &st);
        CHECK_MSG(res == HTTP_ERROR && st == cases[i].status, "case %zu: result %d status %d, expected %d", i, (int)res,
                  st, cases[i].status);
    }
    /* Repeated identical Content-Length values are one value. */
    http_request r;
    int st;
    CHECK(parse("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nok", &r, &st) == HTTP_DONE);
}

/* Headers that never end are refused once they pass the limit, also when
 * the bytes are only blank lines or one endless line. */
TEST(header_limit) {
    static char big[4096];
    http_request r;
    int st;
    const char *why;
    memset(big, 'a', sizeof big);
    memcpy(big, "GET /", 5);
    CHECK(http_parse(big, 1023, &lim, &r, &st, &why) == HTTP_NEED_MORE);
    CHECK(http_parse(big, 1024, &lim, &r, &st, &why) == HTTP_ERROR && st == 431);
    memset(big, '\n', sizeof big);
    CHECK(http_parse(big, sizeof big, &lim, &r, &st, &why) == HTTP_ERROR && st == 431);
    snprintf(big, sizeof big, "GET / HTTP/1.1\r\nHost: a\r\nX: %01000d\r\n\r\n", 0);
    CHECK(http_parse(big, strlen(big), &lim, &r, &st, &why) == HTTP_ERROR && st == 431);
}

TEST(names) {
    CHECK_STR_EQ(http_status_text(404), "Not Found");
    CHECK_STR_EQ(http_status_text(431), "Request Header Fields Too Large");
    CHECK(http_eq((http_str){"Content-TYPE", 12}, "content-type"));
    CHECK(!http_eq((http_str){"Content-TYP", 11}, "content-type"));
}

int main(void) {
    RUN(complete_post_with_body);
    RUN(every_prefix_needs_more);
    RUN(pipelined_requests_split_at_consumed);
    RUN(keep_alive_rules);
    RUN(malformed_requests_get_their_status);
    RUN(header_limit);
    RUN(names);
    return th_done();
}
