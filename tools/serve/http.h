/*
 * http.h - the HTTP/1.1 request parser of `tinyembed serve`.
 *
 * It reads one request from the start of a connection's input buffer and
 * says whether it is complete, needs more bytes, or is malformed (with the
 * status code to answer). It allocates nothing: every field points into the
 * buffer. It is strict where leniency lets requests be smuggled or a client
 * hold the server (RFC 9112): one Content-Length only, no chunked request
 * bodies (501), no obsolete line folding, no space before a header's colon,
 * limits on header bytes, header count and body size.
 */
#ifndef TE_HTTP_H
#define TE_HTTP_H

#include <stddef.h>

typedef struct http_limits {
    size_t max_header_bytes;  /* request line + headers (431 beyond) */
    size_t max_headers;       /* header fields (431 beyond) */
    size_t max_body;          /* Content-Length (413 beyond) */
} http_limits;

typedef struct http_str {
    const char *p;            /* into the buffer; not NUL-terminated */
    size_t n;
} http_str;

typedef struct http_request {
    http_str method;          /* "GET", "POST", ... */
    http_str path;            /* the request target up to '?' */
    http_str query;           /* after '?', or empty */
    int minor;                /* HTTP/1.minor: 0 or 1 */
    http_str content_type;    /* empty when absent */
    http_str authorization;
    int has_content_length;
    int keep_alive;           /* the connection may serve another request after this one */
    int expect_continue;      /* "Expect: 100-continue" */
    size_t header_bytes;      /* request line and headers, with the blank line */
    http_str body;            /* Content-Length bytes (empty without one) */
    size_t consumed;          /* header_bytes + body.n: where the next request starts */
} http_request;

typedef enum http_result {
    HTTP_NEED_MORE = 0,       /* incomplete: read more and call again */
    HTTP_HEADERS_DONE,        /* headers complete, body still incoming (req->body.n is what is expected) */
    HTTP_DONE,                /* a whole request */
    HTTP_ERROR                /* malformed: answer *status with *reason, then close */
} http_result;

/* Parses the request at the start of buf[0..len). On HTTP_ERROR, *status is
 * 400, 413, 417, 431, 501 or 505 and *reason a short static text. */
http_result http_parse(const char *buf, size_t len, const http_limits *lim, http_request *req, int *status,
                       const char **reason);

/* Case-insensitive comparison of s with the NUL-terminated lit. */
int http_eq(http_str s, const char *lit);

/* The reason phrase of a status code ("Not Found"). */
const char *http_status_text(int status);

#endif
