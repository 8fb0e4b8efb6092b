/*
 * serve_api.c - the routes of `tinyembed serve`: OpenAI's /v1/embeddings
 * and /v1/models, TEI's /embed, /predict and /rerank, /health for readiness probes, the registry
 * view, /admin/reload, /metrics and the status page (GET /). Requests are checked here (auth, method,
 * media type, JSON shape, limits) and turned into jobs for the batch
 * workers; every refusal is a 4xx in the shape of the API it came to.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "registry_json.h"
#include "serve.h"
#include "tinyembed_json.h"

/* ---- GET routes ---------------------------------------------------------------- */

/* Each model's registry view, as /models gives it (state, warmed_up,
 * load_ms, warmup_ms, resident_bytes of file_bytes, fallback, error). */
static void health(const srv_ctx *s, const http_request *req, route_result *out) {
    (void)req;
    size_t n;
    te_reg_status *st = registry_statuses(s->reg, &n);
    int ready = te_registry_all_ready(s->reg);
    out->kind = ROUTE_ANSWER;
    out->status = ready ? 200 : 503;
    sb_printf(&out->body, "{\"status\":\"%s\",\"models\":[", ready ? "ok" : "unavailable");
    for (size_t i = 0; st && i < n; i++) {
        sb_puts(&out->body, i ? "," : "");
        registry_model_json(&st[i], &out->body);
    }
    sb_puts(&out->body, "]}");
    if (!st) out->body.failed = 1;
    free(st);
}

static void openai_models(const srv_ctx *s, const http_request *req, route_result *out) {
    (void)req;
    size_t n;
    te_reg_status *st = registry_statuses(s->reg, &n);
    out->kind = ROUTE_ANSWER;
    out->status = 200;
    sb_puts(&out->body, "{\"object\":\"list\",\"data\":[");
    for (size_t i = 0; st && i < n; i++) {
        sb_puts(&out->body, i ? "," : "");
        sb_puts(&out->body, "{\"id\":");
        json_str_or_null(&out->body, st[i].name);
        sb_printf(&out->body, ",\"object\":\"model\",\"created\":%lld,\"owned_by\":\"tinyembed\",\"tinyembed\":",
                  (long long)st[i].loaded_at);
        registry_model_json(&st[i], &out->body);
        sb_puts(&out->body, "}");
    }
    sb_puts(&out->body, "]}");
    if (!st) out->body.failed = 1;
    free(st);
}

static void reload_route(const srv_ctx *s, const http_request *req, route_result *out) {
    out->kind = ROUTE_RELOAD;
    out->reload_model[0] = '\0';
    if (req->body.n == 0) return;
    te_error err;
    te_json *doc = te_json_parse(req->body.p, req->body.n, &err);
    const te_json_value *m = doc ? te_json_get(te_json_root(doc), "model") : NULL;
    const char *name = m ? te_json_string(m) : NULL;
    if (!doc || (m && !name)) route_error(out, API_TEI, 400, "", "the body must be {} or {\"model\": \"name\"}");
    else if (name && te_registry_find(s->reg, name) < 0) route_error(out, API_TEI, 404, "", "no such model");
    else if (name) snprintf(out->reload_model, sizeof out->reload_model, "%s", name);
    te_json_free(doc);
}

void reload_answer(te_registry *r, te_status st, const te_error *err, route_result *out) {
    size_t n = te_registry_count(r), loaded = 0, failed = 0;
    strbuf ok = {0}, bad = {0};
    for (size_t i = 0; i < n; i++) {
        te_reg_status s;
        te_registry_status(r, i, &s);
        strbuf *b = s.state == TE_REG_READY && (s.error.code == TE_OK) ? &ok : &bad;
        if (s.state != TE_REG_READY && s.state != TE_REG_FAILED && s.error.code == TE_OK) continue;
        if (b == &ok) loaded++;
        else failed++;
        sb_puts(b, b->n ? "," : "");
        json_str_or_null(b, s.name);
    }
    out->kind = ROUTE_ANSWER;
    out->status = st == TE_OK ? 200 : 500;
    sb_printf(&out->body, "{\"status\":\"%s\",\"loaded_count\":%zu,\"failed_count\":%zu,\"loaded_models\":[%s],"
              "\"failed_models\":[%s],\"error\":", st == TE_OK ? "reloaded" : "failed", loaded, failed, ok.p ? ok.p : "",
              bad.p ? bad.p : "");
    json_str_or_null(&out->body, st == TE_OK ? NULL : te_errmsg(err));
    sb_puts(&out->body, "}");
    sb_free(&ok);
    sb_free(&bad);
}

/* ---- default models ------------------------------------------------------------------- */

static need_kind need_of(te_model_kind k) {
    return k == TE_KIND_CLASSIFIER ? NEED_CLASSIFIER : k == TE_KIND_RERANKER ? NEED_RERANKER : NEED_EMBEDDING;
}

/* Each model's kind from its header (te_open maps the file and reads no weights). */
static void read_kinds(te_registry *reg, int *kinds) {
    for (size_t i = 0; i < te_registry_count(reg); i++) {
        te_reg_status st;
        te_registry_status(reg, i, &st);
        te_model *m = te_open(st.path, NULL, NULL);
        te_model_info in;
        if (m) te_model_get_info(m, &in);
        kinds[i] = m ? (int)in.kind : -1;
        te_close(m);
    }
}

int serve_defaults(srv_ctx *s, int *kinds, const char *const *named, int n_named) {
    te_reg_status st;
    read_kinds(s->reg, kinds);
    s->kinds = kinds;
    for (size_t i = te_registry_count(s->reg); i-- > 0;) { /* backwards: the first of each kind wins */
        te_registry_status(s->reg, i, &st);
        if (kinds[i] >= 0) s->defaults[need_of((te_model_kind)kinds[i])] = st.name;
        if (kinds[i] == TE_KIND_RERANKER && !s->defaults[NEED_CLASSIFIER]) s->defaults[NEED_CLASSIFIER] = st.name;
        s->defaults[NEED_ANY] = st.name;
    }
    for (int k = n_named - 1; k >= 0; k--) { /* the same: the first named wins NEED_ANY */
        int i = te_registry_find(s->reg, named[k]);
        if (i < 0 || kinds[i] < 0) {
            fprintf(stderr, "tinyembed serve: --default-model %s: %s\n", named[k],
                    i < 0 ? "no model of that name is served" : "its file cannot be opened to tell its kind");
            return 0;
        }
        te_registry_status(s->reg, (size_t)i, &st);
        s->defaults[need_of((te_model_kind)kinds[i])] = s->defaults[NEED_ANY] = st.name;
    }
    for (int n = 1; n < NEED_KINDS; n++) /* no model of a kind: the default one, whose worker says what it is */
        if (!s->defaults[n]) s->defaults[n] = s->defaults[NEED_ANY];
    return 1;
}

/* ---- dispatch ------------------------------------------------------------------------ */

static void models_view(const srv_ctx *s, const http_request *req, route_result *out) {
    (void)req;
    out->kind = ROUTE_ANSWER;
    out->status = 200;
    registry_json(s->reg, &out->body);
}

static void status_route(const srv_ctx *s, const http_request *req, route_result *out) {
    (void)req;
    out->kind = ROUTE_ANSWER;
    out->status = 200;
    out->content_type = "text/html; charset=utf-8";
    status_page(s, &out->body);
}

static void metrics_route(const srv_ctx *s, const http_request *req, route_result *out) {
    (void)req;
    out->kind = ROUTE_ANSWER;
    out->status = 200;
    out->content_type = "text/plain; version=0.0.4";
    metrics_render(s->metrics, s->reg, s->cache, &out->body);
}

/* Routes answered in the event loop; job routes are serve_requests.c's. */
typedef struct route {
    const char *path, *method;
    job_api api;
    int admin, quiet, needs_key;
    void (*answer)(const srv_ctx *s, const http_request *req, route_result *out);
} route;

static const route routes[] = {
    {"/health", "GET", API_TEI, 0, 1, 0, health},
    {"/v1/models", "GET", API_OPENAI, 0, 0, 1, openai_models},
    {"/models", "GET", API_TEI, 0, 0, 1, models_view},
    {"/admin/reload", "POST", API_TEI, 1, 0, 1, reload_route},
    {"/metrics", "GET", API_TEI, 0, 1, 1, metrics_route},
    {"/", "GET", API_TEI, 0, 1, 1, status_route},
};

static int key_ok(const srv_ctx *s, const http_request *req) {
    const char *key = s->cfg->api_key;
    http_str a = req->authorization;
    size_t k = strlen(key);
    return a.n == 7 + k && http_eq((http_str){a.p, 7}, "bearer ") && memcmp(a.p + 7, key, k) == 0;
}

static int method_is(const http_request *req, const char *method) {
    return http_eq(req->method, method) || (http_eq(req->method, "HEAD") && strcmp(method, "GET") == 0);
}

/* Takes a /models/NAME prefix off *path into name ("" when there is none);
 * 0 when the prefix names nothing usable. /models itself is a route. */
static int take_model_prefix(http_str *path, char *name, size_t cap) {
    static const char pre[] = "/models/";
    size_t k = sizeof pre - 1;
    name[0] = '\0';
    if (path->n < k || !http_eq((http_str){path->p, k}, pre)) return 1;
    const char *slash = memchr(path->p + k, '/', path->n - k);
    size_t n = slash ? (size_t)(slash - (path->p + k)) : path->n - k;
    if (n == 0 || n >= cap) return 0;
    memcpy(name, path->p + k, n);
    name[n] = '\0';
    path->p += k + n;
    path->n -= k + n;
    if (path->n == 0) *path = (http_str){"/", 1}; /* the model's base URL is its POST / */
    return 1;
}

void route_request(const srv_ctx *s, const http_request *req, int loopback_peer, route_result *out) {
    memset(out, 0, sizeof *out);
    out->content_type = "application/json";
    out->label = "other";
    http_str path = req->path;
    char url_model[128];
    int prefixed = take_model_prefix(&path, url_model, sizeof url_model);
    job_api api = path.n >= 4 && http_eq((http_str){path.p, 4}, "/v1/") ? API_OPENAI : API_TEI;
    const job_route *jr = prefixed ? job_route_find(path) : NULL;
    const route *r = NULL;
    for (size_t i = 0; i < sizeof routes / sizeof *routes && !r && prefixed && !url_model[0]; i++)
        if (http_eq(path, routes[i].path)) r = &routes[i];
    if (!jr && !r) {
        route_error(out, api, 404, "not_found_error", "no such route");
        return;
    }
    if (jr && r) { /* "/": GET is the status page, POST a job */
        if (method_is(req, jr->method)) r = NULL;
        else jr = NULL;
    }
    if (!(jr ? method_is(req, jr->method) : method_is(req, r->method))) {
        char msg[80];
        snprintf(msg, sizeof msg, "%s takes %s", jr ? jr->path : r->path, jr ? jr->method : r->method);
        route_error(out, jr ? jr->api : r->api, 405, "invalid_request_error", msg);
        return;
    }
    out->label = jr ? jr->path : r->path;
    out->quiet = r ? r->quiet : 0;
    if ((jr || r->needs_key) && s->cfg->api_key && !key_ok(s, req)) {
        route_error(out, jr ? jr->api : r->api, 401, "authentication_error",
                    "missing or wrong API key (Authorization: Bearer KEY)");
        return;
    }
    if (r && r->admin && !s->cfg->api_key && !loopback_peer) {
        route_error(out, r->api, 403, "permission_error", "admin routes answer loopback clients only (or start with --api-key)");
        return;
    }
    if (r) {
        r->answer(s, req, out);
        return;
    }
    job *j = request_job(s, req, jr, url_model[0] ? url_model : NULL, out);
    if (!j) return;
    snprintf(out->model, sizeof out->model, "%s", j->model);
    out->kind = ROUTE_JOB;
    out->job = j;
}
