/*
 * fuzz_http.c - libFuzzer target for the HTTP request parser of `serve`:
 * any bytes, parsed as a pipeline of requests. Besides the sanitizers'
 * checks it asserts what the server relies on: every field lies inside the
 * input, a complete request consumes at least one byte and no more than it
 * was given, and an error always carries a 4xx/5xx status.
 */
#include <assert.h>
#include <stddef.h>
#include <stdint.h>

#include "http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void inside(http_str s, const char *buf, size_t len) {
    assert(s.n == 0 || (s.p >= buf && s.p + s.n <= buf + len));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static const http_limits lim = {.max_header_bytes = 2048, .max_headers = 16, .max_body = 4096};
    const char *buf = (const char *)data;
    size_t off = 0;
    while (off < size) {
        http_request r;
        int status;
        const char *reason;
        http_result res = http_parse(buf + off, size - off, &lim, &r, &status, &reason);
        if (res == HTTP_ERROR) {
            assert(status >= 400 && status < 600 && reason && reason[0]);
            break;
        }
        if (res == HTTP_NEED_MORE) break;
        inside(r.method, buf + off, size - off);
        inside(r.path, buf + off, size - off);
        inside(r.query, buf + off, size - off);
        inside(r.content_type, buf + off, size - off);
        inside(r.authorization, buf + off, size - off);
        assert(r.header_bytes > 0 && r.header_bytes <= size - off && r.body.n <= lim.max_body);
        if (res == HTTP_HEADERS_DONE) {
            assert(r.header_bytes + r.body.n > size - off);
            break;
        }
        inside(r.body, buf + off, size - off);
        assert(r.consumed > 0 && r.consumed <= size - off && r.consumed == r.header_bytes + r.body.n);
        off += r.consumed;
    }
    return 0;
}
