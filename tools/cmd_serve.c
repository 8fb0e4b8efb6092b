/*
 * cmd_serve.c - `tinyembed serve`: an HTTP/1.1 server for the registry's
 * models (routes in serve_api.c, batching in serve_batch.c).
 *
 * One thread runs a poll() loop over the listening socket, every
 * connection and a wake-up pipe; it reads and parses requests, answers the
 * cheap ones at once and queues embedding jobs. Workers post answered jobs
 * back and write a byte to the pipe; the loop writes the answers. A
 * connection handles one request at a time (pipelined ones wait in its
 * buffer, answered in order). Slow clients get 408 when a request takes
 * longer than --request-timeout to arrive; idle keep-alive connections
 * are closed after --idle-timeout. SIGTERM/SIGINT: stop accepting, finish
 * what is in flight, unload, exit 0.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "serve.h"

#define MAX_CONNS 1024
#define MAX_HEADER_BYTES (16 * 1024)
#define MAX_HEADERS 100
#define MAX_MODELS 32

static const cli_opt serve_opts[] = {
    {"model", 'm', "[NAME=]PATH", "serve this .temb file (repeatable); NAME defaults to the file's base name"},
    {"config", 'c', "FILE", "serve the models of a registry config (README \"Many models\")"},
    {"host", 0, "ADDR", "address to listen on (default 127.0.0.1; 0.0.0.0 for every interface)"},
    {"port", 'p', "N", "TCP port (default 8080; 0 picks a free one, printed on stderr)"},
    {"threads", 't', "N", "threads per forward pass (default: one per core)"},
    {"workers", 0, "N", "batch workers, each running its own forward passes (default 1)"},
    {"api-key", 0, "KEY", "require 'Authorization: Bearer KEY' on every route but /health"},
    {"max-batch", 0, "N", "inputs per request (default 32; 413 beyond)"},
    {"max-body", 0, "BYTES", "request body size (default 2097152; 413 beyond)"},
    {"max-queue", 0, "N", "inputs waiting for a worker (default 1024; 429 beyond)"},
    {"request-timeout", 0, "MS", "a request must arrive within this (default 10000; 408 beyond)"},
    {"idle-timeout", 0, "MS", "close keep-alive connections idle this long (default 60000)"},
    {"auto-truncate", 0, NULL, "/embed truncates long inputs unless the request says \"truncate\": false"},
    {"log-format", 0, "FMT", "request log lines: text (default) or json"},
    {"log-all", 0, NULL, "also log /health, /metrics and / (status page) requests"},
    {NULL, 0, NULL, NULL},
};

static const cli_cmd serve_cmd = {
    "serve", "",
    "Serve embeddings over HTTP: OpenAI /v1/embeddings, TEI /embed, /predict, /rerank, /health, /metrics, ...",
    "Routes: POST /v1/embeddings, POST /embed, POST /predict (classifiers), POST /rerank\n"
    "(cross-encoders), GET /health, GET /v1/models, GET /models, POST /admin/reload,\n"
    "GET /metrics, GET / (a status page) (README \"Serving\"). Embedding requests from all connections are\n"
    "batched into shared forward passes. /health is 503 until every start-up model is loaded\n"
    "and warmed up.",
    serve_opts, 0, 0,
};

enum { C_READ, C_BUSY, C_WRITE };

typedef struct conn {
    int fd;
    uint64_t serial;            /* tells a reused slot from the connection a job was for */
    int loopback;
    int state;
    strbuf in, out;
    size_t out_off;
    int close_after;
    int peer_closed;            /* the client sent EOF: no more requests will come */
    int continue_sent;
    double t_first_byte;        /* of the request being read (0: none yet) */
    double t_active;
    double t_complete;          /* the request arrived whole */
    char method[8], path[48];
    const char *label;
    int quiet, head;
    size_t texts;
} conn;

typedef struct server {
    srv_config cfg;
    srv_ctx api;
    int listen_fd, wake[2];
    conn *conns[MAX_CONNS];
    uint64_t serial;
    pthread_mutex_t mu;         /* guards done and inflight */
    job *done;
    int inflight;               /* jobs and reloads not yet posted back */
} server;

static volatile sig_atomic_t g_stop;
static int g_wake_fd = -1;

static void on_signal(int sig) {
    (void)sig;
    g_stop = 1;
    if (g_wake_fd >= 0) {
        ssize_t k = write(g_wake_fd, "s", 1);
        (void)k;
    }
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* ---- answers coming back from workers and reload threads ---- */

static void post(server *s, job *j) {
    pthread_mutex_lock(&s->mu);
    j->next = s->done;
    s->done = j;
    s->inflight--;
    pthread_mutex_unlock(&s->mu);
    ssize_t k = write(s->wake[1], "j", 1);
    (void)k;
}

static void job_done(void *user, job *j) { post(user, j); }

typedef struct reload_task {
    server *s;
    job *j;                     /* carries the answer back */
    char model[128];
} reload_task;

static void *reload_main(void *arg) {
    reload_task *t = arg;
    te_error err;
    te_status st = te_registry_reload(t->s->api.reg, t->model[0] ? t->model : NULL, &err);
    metrics_reload(t->s->api.metrics, st == TE_OK);
    route_result rr;
    memset(&rr, 0, sizeof rr);
    reload_answer(t->s->api.reg, st, &err, &rr);
    t->j->status = rr.status;
    t->j->body = rr.body;
    post(t->s, t->j);
    free(t);
    return NULL;
}

/* ---- connections ---- */

static void conn_close(server *s, int i) {
    conn *c = s->conns[i];
    close(c->fd);
    sb_free(&c->in);
    sb_free(&c->out);
    free(c);
    s->conns[i] = NULL;
}

static void log_request(const server *s, const conn *c, int status, double ms, size_t tokens) {
    if (c->quiet && !s->cfg.log_all) return;
    if (s->cfg.log_json)
        fprintf(stderr, "{\"method\":\"%s\",\"path\":\"%s\",\"status\":%d,\"ms\":%.3f,\"texts\":%zu,\"tokens\":%zu}\n",
                c->method, c->path, status, ms, c->texts, tokens);
    else
        fprintf(stderr, "%s %s %d %.2f ms %zu texts %zu tokens\n", c->method, c->path, status, ms, c->texts, tokens);
}

/* Queues the response for writing and logs the request. */
static void respond(server *s, conn *c, int status, const char *ctype, const strbuf *body, size_t tokens) {
    if (body->failed) status = 500;
    size_t n = body->failed ? 0 : body->n;
    sb_printf(&c->out, "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\nConnection: %s\r\n\r\n", status,
              http_status_text(status), ctype, n, c->close_after ? "close" : "keep-alive");
    if (!c->head && n) sb_add(&c->out, body->p, n);
    c->state = C_WRITE;
    double secs = now_s() - c->t_complete;
    metrics_request(s->api.metrics, c->label ? c->label : "other", status, secs);
    log_request(s, c, status, secs * 1e3, tokens);
}

static void copy_field(char *dst, size_t cap, http_str v) {
    size_t n = v.n < cap - 1 ? v.n : cap - 1;
    for (size_t i = 0; i < n; i++) dst[i] = v.p[i] >= 0x20 && v.p[i] < 0x7f && v.p[i] != '"' ? v.p[i] : '?';
    dst[n] = '\0';
}

/* A request the parser refused: answer and close (the stream is not trusted after it). */
static void refuse(server *s, conn *c, int status, const char *reason) {
    strbuf b = {0};
    api_error(API_TEI, status, "", reason, &b);
    c->close_after = 1;
    c->label = "other";
    c->t_complete = now_s();
    respond(s, c, status, "application/json", &b, 0);
    sb_free(&b);
}

static void start_reload(server *s, int i, const char *model) {
    conn *c = s->conns[i];
    reload_task *t = calloc(1, sizeof *t);
    job *j = calloc(1, sizeof *j);
    pthread_t th;
    if (t && j) {
        *t = (reload_task){s, j, ""};
        snprintf(t->model, sizeof t->model, "%s", model);
        j->conn = i;
        j->conn_serial = c->serial;
        pthread_mutex_lock(&s->mu);
        s->inflight++;
        pthread_mutex_unlock(&s->mu);
        if (pthread_create(&th, NULL, reload_main, t) == 0) {
            pthread_detach(th);
            c->state = C_BUSY;
            return;
        }
        pthread_mutex_lock(&s->mu);
        s->inflight--;
        pthread_mutex_unlock(&s->mu);
    }
    free(t);
    free(j);
    strbuf b = {0};
    api_error(API_TEI, 503, "", "cannot start a reload thread", &b);
    respond(s, c, 503, "application/json", &b, 0);
    sb_free(&b);
}

/* Parses and dispatches what is buffered, while the connection is free. */
static void process(server *s, int i) {
    conn *c = s->conns[i];
    while (c->state == C_READ && c->in.n > 0) {
        http_limits lim = {MAX_HEADER_BYTES, MAX_HEADERS, s->cfg.max_body};
        http_request req;
        int status;
        const char *reason;
        if (!c->t_first_byte) c->t_first_byte = now_s();
        http_result r = http_parse(c->in.p, c->in.n, &lim, &req, &status, &reason);
        if (r == HTTP_NEED_MORE) return;
        if (r == HTTP_ERROR) {
            refuse(s, c, status, reason);
            return;
        }
        if (r == HTTP_HEADERS_DONE) {
            if (req.expect_continue && !c->continue_sent) {
                static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
                ssize_t k = send(c->fd, cont, sizeof cont - 1, MSG_NOSIGNAL);
                (void)k;
                c->continue_sent = 1;
            }
            return;
        }
        c->t_complete = now_s();
        c->close_after = !req.keep_alive || g_stop || c->peer_closed;
        c->head = http_eq(req.method, "HEAD");
        copy_field(c->method, sizeof c->method, req.method);
        copy_field(c->path, sizeof c->path, req.path);
        route_result rr;
        route_request(&s->api, &req, c->loopback, &rr);
        c->label = rr.label;
        c->quiet = rr.quiet;
        c->texts = rr.job ? rr.job->n : 0;
        sb_consume(&c->in, req.consumed); /* jobs point into their own parsed copy */
        c->t_first_byte = c->in.n ? now_s() : 0;
        c->continue_sent = 0;
        if (rr.kind == ROUTE_ANSWER) {
            respond(s, c, rr.status, rr.content_type, &rr.body, 0);
        } else if (rr.kind == ROUTE_RELOAD) {
            start_reload(s, i, rr.reload_model);
        } else {
            rr.job->conn = i;
            rr.job->conn_serial = c->serial;
            pthread_mutex_lock(&s->mu);
            s->inflight++;
            pthread_mutex_unlock(&s->mu);
            if (queue_push(s->api.queue, rr.job) == 0) {
                c->state = C_BUSY;
            } else {
                pthread_mutex_lock(&s->mu);
                s->inflight--;
                pthread_mutex_unlock(&s->mu);
                strbuf b = {0};
                api_error(rr.job->api, 429, "rate_limit_error", "the server is overloaded: too many inputs are queued", &b);
                respond(s, c, 429, "application/json", &b, 0);
                sb_free(&b);
                job_free(rr.job);
            }
        }
        sb_free(&rr.body);
    }
}

static void on_readable(server *s, int i) {
    conn *c = s->conns[i];
    char buf[65536];
    for (;;) {
        ssize_t k = recv(c->fd, buf, sizeof buf, 0);
        if (k > 0) {
            sb_add(&c->in, buf, (size_t)k);
            c->t_active = now_s();
            if (c->in.failed || c->in.n > MAX_HEADER_BYTES + s->cfg.max_body + 65536) {
                conn_close(s, i); /* the parser refuses long before this; a guard against growth */
                return;
            }
            if ((size_t)k < sizeof buf) break;
            continue;
        }
        if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
        if (k < 0 && errno == EINTR) continue;
        /* EOF or error: answer what arrived whole, then close. */
        c->peer_closed = 1;
        break;
    }
    process(s, i);
    c = s->conns[i];
    if (!c || !c->peer_closed) return;
    if (c->state == C_READ) conn_close(s, i);
    else c->close_after = 1;
}

static void on_writable(server *s, int i) {
    conn *c = s->conns[i];
    while (c->out_off < c->out.n) {
        ssize_t k = send(c->fd, c->out.p + c->out_off, c->out.n - c->out_off, MSG_NOSIGNAL);
        if (k > 0) { c->out_off += (size_t)k; continue; }
        if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
        if (k < 0 && errno == EINTR) continue;
        conn_close(s, i);
        return;
    }
    c->out.n = 0;
    c->out_off = 0;
    c->t_active = now_s();
    if (c->close_after) {
        conn_close(s, i);
        return;
    }
    c->state = C_READ;
    process(s, i); /* a pipelined request may be waiting */
    if (s->conns[i] && s->conns[i]->state == C_WRITE) on_writable(s, i);
}

static void take_answers(server *s) {
    char buf[256];
    while (read(s->wake[0], buf, sizeof buf) > 0) continue;
    pthread_mutex_lock(&s->mu);
    job *j = s->done;
    s->done = NULL;
    pthread_mutex_unlock(&s->mu);
    while (j) {
        job *next = j->next;
        conn *c = j->conn >= 0 && j->conn < MAX_CONNS ? s->conns[j->conn] : NULL;
        if (c && c->serial == j->conn_serial && c->state == C_BUSY) {
            respond(s, c, j->status, "application/json", &j->body, j->tokens);
            on_writable(s, j->conn);
        }
        job_free(j);
        j = next;
    }
}

static void on_accept(server *s) {
    for (;;) {
        struct sockaddr_storage addr;
        socklen_t len = sizeof addr;
        int fd = accept4(s->listen_fd, (struct sockaddr *)&addr, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) return;
        int i = 0;
        while (i < MAX_CONNS && s->conns[i]) i++;
        conn *c = i < MAX_CONNS ? calloc(1, sizeof *c) : NULL;
        if (!c) { /* full: refuse at once rather than hold the client */
            static const char busy[] = "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
            ssize_t k = send(fd, busy, sizeof busy - 1, MSG_NOSIGNAL);
            (void)k;
            close(fd);
            continue;
        }
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        c->fd = fd;
        c->serial = ++s->serial;
        c->t_active = now_s();
        if (addr.ss_family == AF_INET)
            c->loopback = (ntohl(((struct sockaddr_in *)&addr)->sin_addr.s_addr) >> 24) == 127;
        else if (addr.ss_family == AF_INET6) {
            const struct in6_addr *a = &((struct sockaddr_in6 *)&addr)->sin6_addr;
            c->loopback = IN6_IS_ADDR_LOOPBACK(a) || (IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127);
        }
        s->conns[i] = c;
    }
}

/* Slow requests get 408; idle keep-alive connections are closed. */
static void check_timeouts(server *s, double t) {
    for (int i = 0; i < MAX_CONNS; i++) {
        conn *c = s->conns[i];
        if (!c || c->state != C_READ) continue;
        if (c->t_first_byte && (t - c->t_first_byte) * 1e3 > s->cfg.request_timeout_ms) refuse(s, c, 408, "the request did not arrive in time");
        else if (!c->in.n && (g_stop || (t - c->t_active) * 1e3 > s->cfg.idle_timeout_ms)) conn_close(s, i);
        if (s->conns[i] && s->conns[i]->state == C_WRITE) on_writable(s, i);
    }
}

static void run_loop(server *s) {
    static struct pollfd pfd[MAX_CONNS + 2];
    int idx[MAX_CONNS + 2];
    for (;;) {
        if (g_stop && s->listen_fd >= 0) {
            close(s->listen_fd);
            s->listen_fd = -1;
        }
        int n = 0, busy = 0;
        pfd[n++] = (struct pollfd){.fd = s->wake[0], .events = POLLIN};
        if (s->listen_fd >= 0) pfd[n++] = (struct pollfd){.fd = s->listen_fd, .events = POLLIN};
        for (int i = 0; i < MAX_CONNS; i++) {
            conn *c = s->conns[i];
            if (!c) continue;
            busy += c->state != C_READ || c->in.n > 0;
            idx[n] = i;
            /* A connection waiting for its answer is not polled: a hang-up would wake poll at once, again and
             * again; it is seen when the answer is written. */
            int fd = c->state == C_BUSY || (c->state == C_READ && c->peer_closed) ? -1 : c->fd;
            pfd[n++] = (struct pollfd){.fd = fd, .events = c->state == C_WRITE ? POLLOUT : POLLIN};
        }
        pthread_mutex_lock(&s->mu);
        int inflight = s->inflight;
        pthread_mutex_unlock(&s->mu);
        if (g_stop && !busy && !inflight) return;
        int k = poll(pfd, (nfds_t)n, 250); /* wakes often enough for timeouts, idles otherwise */
        if (k < 0 && errno != EINTR) return;
        if (k > 0) {
            if (pfd[0].revents) take_answers(s);
            int first = 1;
            if (s->listen_fd >= 0 && pfd[1].fd == s->listen_fd) {
                first = 2;
                if (pfd[1].revents & POLLIN) on_accept(s);
            }
            for (int p = first; p < n; p++) {
                int i = idx[p];
                if (pfd[p].fd < 0 || !s->conns[i] || s->conns[i]->fd != pfd[p].fd || !pfd[p].revents) continue;
                if (pfd[p].revents & POLLOUT) on_writable(s, i);
                else if (pfd[p].revents & (POLLIN | POLLHUP | POLLERR)) on_readable(s, i);
            }
        }
        check_timeouts(s, now_s());
    }
}

/* ---- setup ---- */

static int listen_on(const char *host, int port, int *bound_port) {
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE}, *res;
    char ps[16];
    snprintf(ps, sizeof ps, "%d", port);
    int rc = getaddrinfo(host, ps, &hints, &res);
    if (rc != 0) {
        cli_error(&serve_cmd, "cannot resolve --host %s: %s", host, gai_strerror(rc));
        return -1;
    }
    int fd = -1;
    for (struct addrinfo *a = res; a && fd < 0; a = a->ai_next) {
        fd = socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        int one = 1;
        if (fd >= 0) setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (fd >= 0 && (bind(fd, a->ai_addr, a->ai_addrlen) != 0 || listen(fd, 512) != 0)) {
            cli_error(&serve_cmd, "cannot listen on %s:%d: %s", host, port, strerror(errno));
            close(fd);
            fd = -1;
        }
    }
    freeaddrinfo(res);
    if (fd < 0) return -1;
    struct sockaddr_storage sa;
    socklen_t len = sizeof sa;
    getsockname(fd, (struct sockaddr *)&sa, &len);
    *bound_port = ntohs(sa.ss_family == AF_INET ? ((struct sockaddr_in *)&sa)->sin_port : ((struct sockaddr_in6 *)&sa)->sin6_port);
    return fd;
}

/* --model [NAME=]PATH, as many as given (vals[0..n)). */
static te_registry *registry_from_models(const char *const *vals, int n, const char **single, te_error *err) {
    te_registry *r = te_registry_new(err);
    for (int i = 0; r && i < n; i++) {
        char name[128];
        const char *v = vals[i], *eq = strchr(v, '='), *path = eq ? eq + 1 : v;
        if (eq) snprintf(name, sizeof name, "%.*s", (int)(eq - v), v);
        else {
            const char *base = strrchr(v, '/') ? strrchr(v, '/') + 1 : v;
            size_t len = strlen(base);
            if (len > 5 && strcmp(base + len - 5, ".temb") == 0) len -= 5;
            snprintf(name, sizeof name, "%.*s", (int)len, base);
        }
        te_reg_decl d = {.name = name, .path = path};
        if (te_registry_declare(r, &d, err) != TE_OK) {
            te_registry_free(r);
            return NULL;
        }
    }
    *single = NULL;
    if (r && n == 1) {
        te_reg_status st;
        te_registry_status(r, 0, &st);
        *single = st.name;
    }
    return r;
}

static int read_options(const cli_args *a, srv_config *cfg) {
    long v;
    cfg->host = cli_get(&serve_cmd, a, "host") ? cli_get(&serve_cmd, a, "host") : "127.0.0.1";
    cfg->api_key = cli_get(&serve_cmd, a, "api-key");
    if (cli_get_int(&serve_cmd, a, "port", 0, 65535, 8080, &v) != CLI_OK) return CLI_USAGE;
    cfg->port = (int)v;
    if (cli_get_int(&serve_cmd, a, "threads", 0, 256, 0, &v) != CLI_OK) return CLI_USAGE;
    cfg->threads = (int)v;
    if (cli_get_int(&serve_cmd, a, "workers", 1, 64, 1, &v) != CLI_OK) return CLI_USAGE;
    cfg->workers = (int)v;
    if (cli_get_int(&serve_cmd, a, "max-batch", 1, 100000, 32, &v) != CLI_OK) return CLI_USAGE;
    cfg->max_batch = (size_t)v;
    if (cli_get_int(&serve_cmd, a, "max-body", 1024, 1L << 30, 2L << 20, &v) != CLI_OK) return CLI_USAGE;
    cfg->max_body = (size_t)v;
    if (cli_get_int(&serve_cmd, a, "max-queue", 1, 10000000, 1024, &v) != CLI_OK) return CLI_USAGE;
    cfg->max_queue = (size_t)v;
    if (cli_get_int(&serve_cmd, a, "request-timeout", 10, 3600000, 10000, &v) != CLI_OK) return CLI_USAGE;
    cfg->request_timeout_ms = (int)v;
    if (cli_get_int(&serve_cmd, a, "idle-timeout", 10, 3600000, 60000, &v) != CLI_OK) return CLI_USAGE;
    cfg->idle_timeout_ms = (int)v;
    cfg->auto_truncate = cli_flag(&serve_cmd, a, "auto-truncate");
    cfg->log_all = cli_flag(&serve_cmd, a, "log-all");
    const char *fmt = cli_get(&serve_cmd, a, "log-format");
    if (fmt && strcmp(fmt, "json") != 0 && strcmp(fmt, "text") != 0) {
        cli_error(&serve_cmd, "--log-format must be text or json");
        return CLI_USAGE;
    }
    cfg->log_json = fmt && strcmp(fmt, "json") == 0;
    if (cfg->max_queue < cfg->max_batch) cfg->max_queue = cfg->max_batch; /* one full request always fits */
    cfg->max_batch_texts = 256;
    if (cfg->api_key && !cfg->api_key[0]) {
        cli_error(&serve_cmd, "--api-key must not be empty");
        return CLI_USAGE;
    }
    return CLI_OK;
}

int cmd_serve(int argc, char **argv) {
    cli_args a;
    int rc = cli_parse(&serve_cmd, argc, argv, &a);
    if (rc != CLI_OK) return rc == CLI_HELP ? 0 : rc;
    static server s; /* big (connection table); one per process */
    memset(&s, 0, sizeof s);
    if ((rc = read_options(&a, &s.cfg)) != CLI_OK) return rc;
    const char *config = cli_get(&serve_cmd, &a, "config"), *vals[MAX_MODELS];
    int n_models = cli_get_each(&serve_cmd, &a, "model", vals, MAX_MODELS);
    char self[CLI_PATH_MAX];
    if (!config && !n_models && (vals[0] = cli_self_bundle(self, sizeof self))) n_models = 1; /* a bundle serves its model */
    if (!config == !n_models) {
        cli_error(&serve_cmd, "give --model [NAME=]PATH (one or more) or --config FILE");
        return CLI_USAGE;
    }
    te_error err;
    const char *single = NULL;
    te_registry *reg = config ? te_registry_from_config(config, &err) : registry_from_models(vals, n_models, &single, &err);
    if (!reg) return cli_lib_error(&serve_cmd, &err);
    if (config && te_registry_count(reg) == 1) {
        te_reg_status st;
        te_registry_status(reg, 0, &st);
        single = st.name;
    }
    int port = 0;
    s.listen_fd = listen_on(s.cfg.host, s.cfg.port, &port);
    if (s.listen_fd < 0 || pipe2(s.wake, O_NONBLOCK | O_CLOEXEC) != 0) {
        te_registry_free(reg);
        return CLI_FAIL;
    }
    pthread_mutex_init(&s.mu, NULL);
    s.api = (srv_ctx){&s.cfg, reg, metrics_new(), NULL, single};
    s.api.queue = s.api.metrics ? queue_new(reg, &s.cfg, s.api.metrics, job_done, &s) : NULL;
    if (!s.api.queue || te_registry_start(reg, &err) != TE_OK) {
        cli_error(&serve_cmd, "cannot start: %s", s.api.queue ? te_errmsg(&err) : "out of memory or threads");
        rc = CLI_FAIL;
    } else {
        g_wake_fd = s.wake[1];
        struct sigaction sa = {.sa_handler = on_signal};
        sigemptyset(&sa.sa_mask);
        sigaction(SIGTERM, &sa, NULL);
        sigaction(SIGINT, &sa, NULL);
        signal(SIGPIPE, SIG_IGN);
        fprintf(stderr, "tinyembed serve: listening on http://%s:%d (%zu model%s%s)\n", s.cfg.host, port,
                te_registry_count(reg), te_registry_count(reg) == 1 ? "" : "s", s.cfg.api_key ? ", API key required" : "");
        fflush(stderr);
        run_loop(&s);
        fprintf(stderr, "tinyembed serve: shutting down\n");
    }
    for (int i = 0; i < MAX_CONNS; i++)
        if (s.conns[i]) conn_close(&s, i);
    queue_free(s.api.queue);
    take_answers(&s); /* frees answers nobody is waiting for any more */
    if (s.listen_fd >= 0) close(s.listen_fd);
    g_wake_fd = -1;
    close(s.wake[0]);
    close(s.wake[1]);
    te_registry_free(reg);
    metrics_free(s.api.metrics);
    pthread_mutex_destroy(&s.mu);
    return rc;
}
