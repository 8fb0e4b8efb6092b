/*
 * cmd_serve.c - `tinyembed serve`: an HTTP/1.1 server for the registry's
 * models. This file is the wiring: options, the listening socket, the
 * registry, signals; the event loop is serve_loop.c, the routes
 * serve_api.c, batching serve_batch.c. SIGTERM/SIGINT: stop accepting,
 * finish what is in flight, unload, exit 0.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cli.h"
#include "serve.h"

#define MAX_MODELS 32

static const cli_opt serve_opts[] = {
    {"model", 'm', "[NAME=]PATH", "serve this .temb file (repeatable); NAME defaults to the file's base name"},
    {"config", 'c', "FILE", "serve the models of a registry config (README \"Many models\")"},
    {"default-model", 0, "NAME", "answer requests that name no model of NAME's kind with NAME (repeatable; "
     "default: the first model of each kind)"},
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
    {"cache-mb", 0, "N", "keep the vectors of up to N MB of texts and answer repeats from them (default 0: off)"},
    {"log-format", 0, "FMT", "request log lines: text (default) or json"},
    {"log-all", 0, NULL, "also log /health, /metrics and / (status page) requests"},
    {NULL, 0, NULL, NULL},
};

static const cli_cmd serve_cmd = {
    "serve", "",
    "Serve embeddings over HTTP: OpenAI /v1/embeddings, TEI /embed, /predict, /rerank, /health, /metrics, ...",
    "Routes (README \"Serving\"): OpenAI's POST /v1/embeddings (and /embeddings); TEI's POST /embed,\n"
    "/embed_all, /embed_sparse, /embed_colbert, /similarity, /predict (classifiers), /rerank\n"
    "(cross-encoders), /tokenize, /decode, GET /info, and POST / or /invocations, answered by the\n"
    "model's kind; Cohere's and Jina's POST /v1/rerank, /v2/rerank and /v2/embed; GET /health,\n"
    "/v1/models, /models, /metrics, GET / (a status page), POST /admin/reload. Every model route\n"
    "also answers under /models/NAME/ (a client that cannot send a model name uses\n"
    "http://HOST/models/NAME as its base URL); a request that names no model reaches the first\n"
    "model of the kind it needs, or --default-model's. Embedding requests from all connections\n"
    "are batched into shared forward passes. /health is 503 until every start-up model is\n"
    "loaded and warmed up.",
    serve_opts, 0, 0,
};

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
static te_registry *registry_from_models(const char *const *vals, int n, te_error *err) {
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
    if (cli_get_int(&serve_cmd, a, "cache-mb", 0, 1L << 20, 0, &v) != CLI_OK) return CLI_USAGE;
    cfg->cache_bytes = (size_t)v << 20;
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

static void on_signal(int sig) {
    (void)sig;
    loop_stop();
}

/* Serves until SIGTERM/SIGINT: the queue's workers answer jobs, the loop
 * everything else; at the end the queue finishes what it holds. */
static int run(srv_config *cfg, te_registry *reg, const char *const *named, int n_named) {
    int port = 0, rc = CLI_OK;
    srv_ctx api = {cfg, reg, NULL, NULL, NULL, {NULL}, NULL};
    int *kinds = calloc(te_registry_count(reg) + 1, sizeof *kinds);
    if (!kinds || !serve_defaults(&api, kinds, named, n_named)) {
        free(kinds);
        return kinds ? CLI_USAGE : CLI_FAIL;
    }
    int fd = listen_on(cfg->host, cfg->port, &port);
    if (fd < 0) {
        free(kinds);
        return CLI_FAIL;
    }
    api.metrics = metrics_new();
    srv_loop *loop = api.metrics ? loop_new(fd, &api) : NULL;
    api.cache = cache_new(cfg->cache_bytes);
    int cache_ok = !cfg->cache_bytes || api.cache;
    api.queue = loop && cache_ok ? queue_new(reg, cfg, api.metrics, api.cache, loop_post, loop) : NULL;
    te_error err;
    if (!api.queue || te_registry_start(reg, &err) != TE_OK) {
        cli_error(&serve_cmd, "cannot start: %s", api.queue ? te_errmsg(&err) : "out of memory or threads");
        rc = CLI_FAIL;
    } else {
        struct sigaction sa = {.sa_handler = on_signal};
        sigemptyset(&sa.sa_mask);
        sigaction(SIGTERM, &sa, NULL);
        sigaction(SIGINT, &sa, NULL);
        signal(SIGPIPE, SIG_IGN);
        fprintf(stderr, "tinyembed serve: listening on http://%s:%d (%zu model%s%s)\n", cfg->host, port,
                te_registry_count(reg), te_registry_count(reg) == 1 ? "" : "s", cfg->api_key ? ", API key required" : "");
        fflush(stderr);
        loop_run(loop);
        fprintf(stderr, "tinyembed serve: shutting down\n");
    }
    if (loop) loop_close_conns(loop);
    queue_free(api.queue);
    if (loop) loop_free(loop); /* closes fd */
    else close(fd);
    metrics_free(api.metrics);
    cache_free(api.cache);
    free(kinds);
    return rc;
}

int cmd_serve(int argc, char **argv) {
    cli_args a;
    int rc = cli_parse(&serve_cmd, argc, argv, &a);
    if (rc != CLI_OK) return rc == CLI_HELP ? 0 : rc;
    srv_config cfg;
    memset(&cfg, 0, sizeof cfg);
    if ((rc = read_options(&a, &cfg)) != CLI_OK) return rc;
    const char *config = cli_get(&serve_cmd, &a, "config"), *vals[MAX_MODELS];
    int n_models = cli_get_each(&serve_cmd, &a, "model", vals, MAX_MODELS);
    char self[CLI_PATH_MAX];
    if (!config && !n_models && (vals[0] = cli_self_bundle(self, sizeof self))) n_models = 1; /* a bundle serves its model */
    if (!config == !n_models) {
        cli_error(&serve_cmd, "give --model [NAME=]PATH (one or more) or --config FILE");
        return CLI_USAGE;
    }
    const char *named[MAX_MODELS];
    int n_named = cli_get_each(&serve_cmd, &a, "default-model", named, MAX_MODELS);
    te_error err;
    te_registry *reg = config ? te_registry_from_config(config, &err) : registry_from_models(vals, n_models, &err);
    if (!reg) return cli_lib_error(&serve_cmd, &err);
    rc = run(&cfg, reg, named, n_named);
    te_registry_free(reg);
    return rc;
}
