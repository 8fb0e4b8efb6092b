/*
 * serve_loop.c - the event loop of `tinyembed serve` (cmd_serve.c wires it).
 *
 * One thread runs a poll() loop over the listening socket, every
 * connection and a wake-up pipe; it reads and parses requests, answers the
 * cheap ones at once and queues embedding jobs. Workers post answered jobs
 * back and write a byte to the pipe; the loop writes the answers. A
 * connection handles one request at a time (pipelined ones wait in its
 * buffer, answered in order). Slow clients get 408 when a request takes
 * longer than --request-timeout to arrive; idle keep-alive connections
 * are closed after --idle-timeout. loop_stop (SIGTERM, SIGINT): stop
 * accepting, finish what is in flight, return.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cli.h"
#include "registry_json.h"
#include "serve.h"

#define MAX_CONNS 1024
#define MAX_HEADER_BYTES (16 * 1024)
#define MAX_HEADERS 100

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
    char model[128], message[160]; /* for the log: the model reached, an error's message */
    const char *label;
    int quiet, head;
    size_t texts;
} conn;

struct srv_loop {
    const srv_config *cfg;
    const srv_ctx *api;
    int listen_fd, wake[2];
    conn *conns[MAX_CONNS];
    uint64_t serial;
    pthread_mutex_t mu;         /* guards done and inflight */
    job *done;
    int inflight;               /* jobs and reloads not yet posted back */
};

static volatile sig_atomic_t g_stop;
static int g_wake_fd = -1;

void loop_stop(void) {
    g_stop = 1;
    if (g_wake_fd >= 0) {
        ssize_t k = write(g_wake_fd, "s", 1);
        (void)k;
    }
}

/* ---- answers coming back from workers and reload threads ---- */

static void post(srv_loop *s, job *j) {
    pthread_mutex_lock(&s->mu);
    j->next = s->done;
    s->done = j;
    s->inflight--;
    pthread_mutex_unlock(&s->mu);
    ssize_t k = write(s->wake[1], "j", 1);
    (void)k;
}

void loop_post(void *loop, job *j) { post(loop, j); }

typedef struct reload_task {
    srv_loop *s;
    job *j;                     /* carries the answer back */
    char model[128];
} reload_task;

static void *reload_main(void *arg) {
    reload_task *t = arg;
    te_error err;
    te_status st = te_registry_reload(t->s->api->reg, t->model[0] ? t->model : NULL, &err);
    metrics_reload(t->s->api->metrics, st == TE_OK);
    route_result rr;
    memset(&rr, 0, sizeof rr);
    reload_answer(t->s->api->reg, st, &err, &rr);
    t->j->status = rr.status;
    t->j->body = rr.body;
    post(t->s, t->j);
    free(t);
    return NULL;
}

/* ---- connections ---- */

static void conn_close(srv_loop *s, int i) {
    conn *c = s->conns[i];
    close(c->fd);
    sb_free(&c->in);
    sb_free(&c->out);
    free(c);
    s->conns[i] = NULL;
}

/* One line per request: method, path, status, time, texts, tokens, the
 * model it reached and, on an error, its message. */
static void log_request(const srv_loop *s, const conn *c, int status, double ms, size_t tokens) {
    if (c->quiet && !s->cfg->log_all) return;
    const char *msg = status >= 400 ? c->message : "";
    if (s->cfg->log_json) {
        strbuf b = {0};
        sb_printf(&b, "{\"method\":\"%s\",\"path\":\"%s\",\"status\":%d,\"ms\":%.3f,\"texts\":%zu,\"tokens\":%zu,"
                  "\"model\":", c->method, c->path, status, ms, c->texts, tokens);
        json_str_or_null(&b, c->model[0] ? c->model : NULL);
        sb_puts(&b, ",\"error\":");
        json_str_or_null(&b, msg[0] ? msg : NULL);
        sb_puts(&b, "}\n");
        if (!b.failed) fputs(b.p, stderr);
        sb_free(&b);
    } else {
        fprintf(stderr, "%s %s %d %.2f ms %zu texts %zu tokens%s%s%s%s%s\n", c->method, c->path, status, ms, c->texts,
                tokens, c->model[0] ? " model=" : "", c->model, msg[0] ? " error=\"" : "", msg, msg[0] ? "\"" : "");
    }
}

/* Queues the response for writing and logs the request. */
static void respond(srv_loop *s, conn *c, int status, const char *ctype, const strbuf *body, size_t tokens) {
    if (body->failed) status = 500;
    size_t n = body->failed ? 0 : body->n;
    sb_printf(&c->out, "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\nConnection: %s\r\n\r\n", status,
              http_status_text(status), ctype, n, c->close_after ? "close" : "keep-alive");
    if (!c->head && n) sb_add(&c->out, body->p, n);
    c->state = C_WRITE;
    double secs = cli_now_s() - c->t_complete;
    metrics_request(s->api->metrics, c->label ? c->label : "other", status, secs);
    log_request(s, c, status, secs * 1e3, tokens);
}

static void copy_field(char *dst, size_t cap, http_str v) {
    size_t n = v.n < cap - 1 ? v.n : cap - 1;
    for (size_t i = 0; i < n; i++) dst[i] = v.p[i] >= 0x20 && v.p[i] < 0x7f && v.p[i] != '"' ? v.p[i] : '?';
    dst[n] = '\0';
}

/* A request the parser refused: answer and close (the stream is not trusted after it). */
static void refuse(srv_loop *s, conn *c, int status, const char *reason) {
    strbuf b = {0};
    api_error(API_TEI, status, "", reason, &b);
    c->close_after = 1;
    c->label = "other";
    c->model[0] = '\0';
    snprintf(c->message, sizeof c->message, "%s", reason);
    c->t_complete = cli_now_s();
    respond(s, c, status, "application/json", &b, 0);
    sb_free(&b);
}

static void start_reload(srv_loop *s, int i, const char *model) {
    conn *c = s->conns[i];
    reload_task *t = calloc(1, sizeof *t);
    job *j = job_new(API_TEI, JOB_EMBED); /* carries the reload's answer */
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
static void process(srv_loop *s, int i) {
    conn *c = s->conns[i];
    while (c->state == C_READ && c->in.n > 0) {
        http_limits lim = {MAX_HEADER_BYTES, MAX_HEADERS, s->cfg->max_body};
        http_request req;
        int status;
        const char *reason;
        if (!c->t_first_byte) c->t_first_byte = cli_now_s();
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
        c->t_complete = cli_now_s();
        c->close_after = !req.keep_alive || g_stop || c->peer_closed;
        c->head = http_eq(req.method, "HEAD");
        copy_field(c->method, sizeof c->method, req.method);
        copy_field(c->path, sizeof c->path, req.path);
        route_result rr;
        route_request(s->api, &req, c->loopback, &rr);
        c->label = rr.label;
        c->quiet = rr.quiet;
        snprintf(c->model, sizeof c->model, "%s", rr.model);
        snprintf(c->message, sizeof c->message, "%s", rr.message);
        c->texts = rr.job ? rr.job->n : 0;
        sb_consume(&c->in, req.consumed); /* jobs point into their own parsed copy */
        c->t_first_byte = c->in.n ? cli_now_s() : 0;
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
            if (queue_push(s->api->queue, rr.job) == 0) {
                c->state = C_BUSY;
            } else {
                pthread_mutex_lock(&s->mu);
                s->inflight--;
                pthread_mutex_unlock(&s->mu);
                strbuf b = {0};
                snprintf(c->message, sizeof c->message, "the server is overloaded: too many inputs are queued");
                api_error(rr.job->api, 429, "rate_limit_error", c->message, &b);
                respond(s, c, 429, "application/json", &b, 0);
                sb_free(&b);
                job_free(rr.job);
            }
        }
        sb_free(&rr.body);
    }
}

static void on_readable(srv_loop *s, int i) {
    conn *c = s->conns[i];
    char buf[65536];
    for (;;) {
        ssize_t k = recv(c->fd, buf, sizeof buf, 0);
        if (k > 0) {
            sb_add(&c->in, buf, (size_t)k);
            c->t_active = cli_now_s();
            if (c->in.failed || c->in.n > MAX_HEADER_BYTES + s->cfg->max_body + 65536) {
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

static void on_writable(srv_loop *s, int i) {
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
    c->t_active = cli_now_s();
    if (c->close_after) {
        conn_close(s, i);
        return;
    }
    c->state = C_READ;
    process(s, i); /* a pipelined request may be waiting */
    if (s->conns[i] && s->conns[i]->state == C_WRITE) on_writable(s, i);
}

static void take_answers(srv_loop *s) {
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
            snprintf(c->message, sizeof c->message, "%s", j->message);
            respond(s, c, j->status, "application/json", &j->body, j->tokens);
            on_writable(s, j->conn);
        }
        job_free(j);
        j = next;
    }
}

static void on_accept(srv_loop *s) {
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
        c->t_active = cli_now_s();
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
static void check_timeouts(srv_loop *s, double t) {
    for (int i = 0; i < MAX_CONNS; i++) {
        conn *c = s->conns[i];
        if (!c || c->state != C_READ) continue;
        if (c->t_first_byte && (t - c->t_first_byte) * 1e3 > s->cfg->request_timeout_ms) refuse(s, c, 408, "the request did not arrive in time");
        else if (!c->in.n && (g_stop || (t - c->t_active) * 1e3 > s->cfg->idle_timeout_ms)) conn_close(s, i);
        if (s->conns[i] && s->conns[i]->state == C_WRITE) on_writable(s, i);
    }
}

void loop_run(srv_loop *s) {
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
        check_timeouts(s, cli_now_s());
    }
}

srv_loop *loop_new(int listen_fd, const srv_ctx *api) {
    srv_loop *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    if (pipe2(s->wake, O_NONBLOCK | O_CLOEXEC) != 0) {
        free(s);
        return NULL;
    }
    s->cfg = api->cfg;
    s->api = api;
    s->listen_fd = listen_fd;
    pthread_mutex_init(&s->mu, NULL);
    g_wake_fd = s->wake[1];
    return s;
}

void loop_close_conns(srv_loop *s) {
    for (int i = 0; i < MAX_CONNS; i++)
        if (s->conns[i]) conn_close(s, i);
}

void loop_free(srv_loop *s) {
    if (!s) return;
    loop_close_conns(s);
    take_answers(s); /* frees answers nobody is waiting for any more */
    if (s->listen_fd >= 0) close(s->listen_fd);
    g_wake_fd = -1;
    close(s->wake[0]);
    close(s->wake[1]);
    pthread_mutex_destroy(&s->mu);
    free(s);
}
