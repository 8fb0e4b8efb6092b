/*
 * http.c - the HTTP/1.1 request parser (see http.h). One pass over the
 * header section each call; the server calls again as bytes arrive, which
 * is cheap because the header section is small and bounded.
 */
#include "http.h"

#include <string.h>

static int lower(int c) { return c >= 'A' && c <= 'Z' ? c + 32 : c; }

int http_eq(http_str s, const char *lit) {
    size_t n = strlen(lit);
    if (s.n != n) return 0;
    for (size_t i = 0; i < n; i++)
        if (lower((unsigned char)s.p[i]) != lower((unsigned char)lit[i])) return 0;
    return 1;
}

/* RFC 9110 token characters (methods, header names). */
static int is_tchar(int c) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return 1;
    return c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* The line starting at *pos: its end (before CR LF or a bare LF) and the
 * start of the next line. Returns 0 if the line is not complete yet. */
static int next_line(const char *buf, size_t len, size_t pos, size_t *end, size_t *next) {
    const char *nl = memchr(buf + pos, '\n', len - pos);
    if (!nl) return 0;
    size_t e = (size_t)(nl - buf);
    *next = e + 1;
    *end = e > pos && buf[e - 1] == '\r' ? e - 1 : e;
    return 1;
}

static http_result fail(int *status, const char **reason, int code, const char *why) {
    *status = code;
    *reason = why;
    return HTTP_ERROR;
}

/* Does the comma-separated header value contain `token` (any case)? */
static int has_token(http_str v, const char *token) {
    size_t i = 0;
    while (i < v.n) {
        while (i < v.n && (v.p[i] == ' ' || v.p[i] == '\t' || v.p[i] == ',')) i++;
        size_t b = i;
        while (i < v.n && v.p[i] != ',') i++;
        size_t e = i;
        while (e > b && (v.p[e - 1] == ' ' || v.p[e - 1] == '\t')) e--;
        if (http_eq((http_str){v.p + b, e - b}, token)) return 1;
    }
    return 0;
}

static http_result parse_request_line(const char *p, size_t n, http_request *req, int *status, const char **reason) {
    size_t i = 0;
    while (i < n && is_tchar((unsigned char)p[i])) i++;
    if (i == 0 || i >= n || p[i] != ' ') return fail(status, reason, 400, "malformed request line");
    req->method = (http_str){p, i};
    size_t t = ++i;
    while (i < n && p[i] != ' ') {
        unsigned char c = (unsigned char)p[i];
        if (c <= 0x20 || c == 0x7f) return fail(status, reason, 400, "control character in the request target");
        i++;
    }
    if (i == t || i >= n) return fail(status, reason, 400, "malformed request line");
    http_str target = {p + t, i - t};
    if (target.p[0] != '/' && !(target.n == 1 && target.p[0] == '*'))
        return fail(status, reason, 400, "the request target must be a path");
    const char *q = memchr(target.p, '?', target.n);
    req->path = (http_str){target.p, q ? (size_t)(q - target.p) : target.n};
    req->query = q ? (http_str){q + 1, target.n - req->path.n - 1} : (http_str){"", 0};
    i++;
    if (n - i != 8 || memcmp(p + i, "HTTP/1.", 7) != 0) {
        if (n - i >= 5 && memcmp(p + i, "HTTP/", 5) == 0) return fail(status, reason, 505, "only HTTP/1.0 and HTTP/1.1 are served");
        return fail(status, reason, 400, "malformed request line");
    }
    char v = p[i + 7];
    if (v != '0' && v != '1') return fail(status, reason, 505, "only HTTP/1.0 and HTTP/1.1 are served");
    req->minor = v - '0';
    return HTTP_DONE;
}

/* Content-Length: digits only; a repeated header must repeat the value. */
static http_result content_length(http_str v, const http_limits *lim, http_request *req, int *status, const char **reason) {
    if (v.n == 0) return fail(status, reason, 400, "empty Content-Length");
    size_t len = 0;
    for (size_t i = 0; i < v.n; i++) {
        if (v.p[i] < '0' || v.p[i] > '9') return fail(status, reason, 400, "Content-Length is not a number");
        len = len * 10 + (size_t)(v.p[i] - '0'); /* len <= max_body before: no overflow */
        if (len > lim->max_body) return fail(status, reason, 413, "request body too large");
    }
    if (req->has_content_length && req->body.n != len) return fail(status, reason, 400, "conflicting Content-Length headers");
    req->has_content_length = 1;
    req->body.n = len;
    return HTTP_DONE;
}

http_result http_parse(const char *buf, size_t len, const http_limits *lim, http_request *req, int *status,
                       const char **reason) {
    memset(req, 0, sizeof *req);
    *status = 0;
    *reason = "";
    size_t pos = 0, end, next;
    /* RFC 9112 2.2: ignore empty lines before the request line (they count
     * against the header limit, so endless ones cannot grow the buffer). */
    while (pos < len && (buf[pos] == '\r' || buf[pos] == '\n')) pos++;
    size_t scan = len < lim->max_header_bytes ? len : lim->max_header_bytes;
    if (pos >= scan || !next_line(buf, scan, pos, &end, &next))
        return len >= lim->max_header_bytes ? fail(status, reason, 431, "request headers too large") : HTTP_NEED_MORE;
    http_result r = parse_request_line(buf + pos, end - pos, req, status, reason);
    if (r == HTTP_ERROR) return r;
    int has_host = 0, chunked = 0, has_te = 0, close = 0, keep_alive = 0;
    size_t n_headers = 0;
    for (;;) {
        pos = next;
        if (!next_line(buf, scan, pos, &end, &next))
            return len >= lim->max_header_bytes ? fail(status, reason, 431, "request headers too large") : HTTP_NEED_MORE;
        if (end == pos) break; /* the blank line */
        if (++n_headers > lim->max_headers) return fail(status, reason, 431, "too many request headers");
        const char *p = buf + pos;
        size_t n = end - pos, i = 0;
        if (p[0] == ' ' || p[0] == '\t') return fail(status, reason, 400, "obsolete header line folding");
        while (i < n && is_tchar((unsigned char)p[i])) i++;
        if (i == 0 || i >= n || p[i] != ':') return fail(status, reason, 400, "malformed header field");
        http_str name = {p, i};
        size_t b = i + 1, e = n;
        while (b < e && (p[b] == ' ' || p[b] == '\t')) b++;
        while (e > b && (p[e - 1] == ' ' || p[e - 1] == '\t')) e--;
        for (size_t k = b; k < e; k++) {
            unsigned char c = (unsigned char)p[k];
            if ((c < 0x20 && c != '\t') || c == 0x7f) return fail(status, reason, 400, "control character in a header value");
        }
        http_str value = {p + b, e - b};
        if (http_eq(name, "content-length")) {
            if (content_length(value, lim, req, status, reason) == HTTP_ERROR) return HTTP_ERROR;
        } else if (http_eq(name, "transfer-encoding")) {
            has_te = 1;
            chunked |= has_token(value, "chunked");
        } else if (http_eq(name, "host")) {
            if (has_host++) return fail(status, reason, 400, "more than one Host header");
        } else if (http_eq(name, "connection")) {
            close |= has_token(value, "close");
            keep_alive |= has_token(value, "keep-alive");
        } else if (http_eq(name, "content-type")) {
            req->content_type = value;
        } else if (http_eq(name, "authorization")) {
            req->authorization = value;
        } else if (http_eq(name, "expect")) {
            if (!http_eq(value, "100-continue")) return fail(status, reason, 417, "unsupported Expect header");
            req->expect_continue = 1;
        }
    }
    req->header_bytes = next;
    if (req->minor == 1 && !has_host) return fail(status, reason, 400, "HTTP/1.1 request without a Host header");
    if (has_te && req->has_content_length)
        return fail(status, reason, 400, "both Transfer-Encoding and Content-Length");
    if (has_te) return fail(status, reason, chunked ? 501 : 400, chunked ? "chunked request bodies are not supported: send Content-Length"
                                                                      : "unsupported Transfer-Encoding");
    req->keep_alive = req->minor == 1 ? !close : keep_alive && !close;
    req->body.p = buf + next;
    if (len - next < req->body.n) return HTTP_HEADERS_DONE;
    req->consumed = next + req->body.n;
    return HTTP_DONE;
}

const char *http_status_text(int status) {
    switch (status) {
    case 100: return "Continue";
    case 200: return "OK";
    case 204: return "No Content";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 411: return "Length Required";
    case 413: return "Payload Too Large";
    case 415: return "Unsupported Media Type";
    case 417: return "Expectation Failed";
    case 422: return "Unprocessable Entity";
    case 424: return "Failed Dependency";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 503: return "Service Unavailable";
    case 505: return "HTTP Version Not Supported";
    }
    return "Unknown";
}
