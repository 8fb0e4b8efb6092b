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

static void error(route_result *out, job_api api, int status, const char *type, const char *msg) {
    out->kind = ROUTE_ANSWER;
    out->status = status;
    api_error(api, status, type, msg, &out->body);
}

static int is_json(http_str ct) {
    static const char want[] = "application/json";
    size_t n = sizeof want - 1;
    if (ct.n < n) return 0;
    if (!http_eq((http_str){ct.p, n}, want)) return 0;
    return ct.n == n || ct.p[n] == ';' || ct.p[n] == ' ';
}

/* ---- GET routes ---------------------------------------------------------------- */

/* Each model's registry view, as /models gives it (state, warmed_up,
 * load_ms, warmup_ms, resident_bytes of file_bytes, fallback, error). */
static void health(const srv_ctx *s, route_result *out) {
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

static void openai_models(const srv_ctx *s, route_result *out) {
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

/* ---- embedding requests ------------------------------------------------------------ */

static void free_doc(void *doc) { te_json_free(doc); }

/* The declared model a request names (or the only one served). */
static int pick_model(const srv_ctx *s, const te_json_value *root, job *j, route_result *out) {
    const te_json_value *m = te_json_get(root, "model");
    const char *name = m ? te_json_string(m) : NULL;
    if (m && !name) {
        error(out, j->api, 400, "invalid_request_error", "\"model\" must be a string");
        return 0;
    }
    if (!name) name = s->default_model;
    if (!name) {
        error(out, j->api, 400, "invalid_request_error", "\"model\" is required: this server serves several models");
        return 0;
    }
    if (te_registry_find(s->reg, name) < 0 || strlen(name) >= sizeof j->model) {
        char msg[300];
        snprintf(msg, sizeof msg, "no model named '%.200s' (GET /v1/models lists them)", name);
        error(out, j->api, 404, "not_found_error", msg);
        return 0;
    }
    snprintf(j->model, sizeof j->model, "%s", name);
    return 1;
}

/* Token ids: one list (flat) or n lists, in one block owned by the job. */
static int read_token_lists(const te_json_value *in, int flat, size_t n, job *j, route_result *out) {
    char msg[200];
    j->ids = calloc(n, sizeof *j->ids);
    j->n_ids = calloc(n, sizeof *j->n_ids);
    size_t total = 0;
    for (size_t i = 0; i < n; i++) total += te_json_len(flat ? in : te_json_at(in, i));
    int32_t *all = malloc((total ? total : 1) * sizeof *all);
    if (!j->ids || !j->n_ids || !all) {
        free(all);
        error(out, j->api, 500, "server_error", "out of memory");
        return 0;
    }
    j->id_store = all;
    size_t at = 0;
    for (size_t i = 0; i < n; i++) {
        const te_json_value *list = flat ? in : te_json_at(in, i);
        size_t k = te_json_len(list);
        if (k == 0) {
            snprintf(msg, sizeof msg, "input %zu: a token list must hold at least one id", i);
            error(out, j->api, 400, "invalid_request_error", msg);
            return 0;
        }
        j->ids[i] = all + at;
        j->n_ids[i] = k;
        for (size_t t = 0; t < k; t++) {
            double v;
            if (!te_json_number(te_json_at(list, t), &v) || v != (double)(int64_t)v || v < -2147483648.0 || v > 2147483647.0) {
                snprintf(msg, sizeof msg, "input %zu: token ids must be integers (item %zu is not)", i, t);
                error(out, j->api, 400, "invalid_request_error", msg);
                return 0;
            }
            all[at++] = (int32_t)v;
        }
    }
    return 1;
}

/* Texts: `in` itself when one, else its n items; each a string (non-empty for OpenAI). */
static int read_texts(const te_json_value *in, int one, size_t n, job *j, route_result *out) {
    char msg[200];
    j->texts = calloc(n, sizeof *j->texts);
    j->lens = calloc(n, sizeof *j->lens);
    if (!j->texts || !j->lens) {
        error(out, j->api, 500, "server_error", "out of memory");
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        const te_json_value *v = one ? in : te_json_at(in, i);
        const char *t = te_json_string(v);
        if (!t) {
            snprintf(msg, sizeof msg, "input %zu must be a string", i);
            error(out, j->api, 400, "invalid_request_error", msg);
            return 0;
        }
        j->texts[i] = t;
        j->lens[i] = strlen(t);
        if (j->lens[i] == 0 && j->api == API_OPENAI) {
            snprintf(msg, sizeof msg, "input %zu is empty", i);
            error(out, j->api, 400, "invalid_request_error", msg);
            return 0;
        }
    }
    return 1;
}

/* "input"/"inputs": a string, a list of strings, or (OpenAI) a list of token
 * ids or a list of such lists. */
static int read_inputs(const srv_ctx *s, const te_json_value *in, job *j, route_result *out) {
    const char *what = j->api == API_OPENAI ? "\"input\"" : "\"inputs\"";
    char msg[200];
    if (!in) {
        snprintf(msg, sizeof msg, "%s is required", what);
        error(out, j->api, 400, "invalid_request_error", msg);
        return 0;
    }
    const char *one = te_json_string(in);
    size_t n = one ? 1 : te_json_len(in);
    int is_array = !one && te_json_at(in, 0) != NULL;
    if (!one && !is_array) {
        snprintf(msg, sizeof msg, "%s must be a string or a non-empty list", what);
        error(out, j->api, 400, "invalid_request_error", msg);
        return 0;
    }
    double num;
    const te_json_value *first = one ? in : te_json_at(in, 0);
    int flat_ids = j->api == API_OPENAI && !one && te_json_number(first, &num); /* [int]: one list of ids */
    int token_lists = flat_ids || (j->api == API_OPENAI && !one && te_json_at(first, 0)); /* or [[int]] */
    if (flat_ids) n = 1;
    if (n > s->cfg->max_batch) {
        snprintf(msg, sizeof msg, "batch of %zu inputs is larger than the limit of %zu (--max-batch)", n, s->cfg->max_batch);
        error(out, j->api, 413, "invalid_request_error", msg);
        return 0;
    }
    j->n = n;
    return token_lists ? read_token_lists(in, flat_ids, n, j, out) : read_texts(in, one != NULL, n, j, out);
}

static int read_bool(const te_json_value *root, const char *key, int def, job *j, route_result *out) {
    const te_json_value *v = te_json_get(root, key);
    int b;
    if (!v) return def;
    if (te_json_bool(v, &b)) return b;
    char msg[100];
    snprintf(msg, sizeof msg, "\"%s\" must be true or false", key);
    error(out, j->api, 400, "invalid_request_error", msg);
    return -1;
}

/* TEI's "prompt_name": one of the model's prompts (checked by the worker, which has the model). */
static int read_prompt_name(const te_json_value *root, job *j, route_result *out) {
    const te_json_value *v = te_json_get(root, "prompt_name");
    if (!v || te_json_string(v)) {
        j->prompt_name = v ? te_json_string(v) : NULL;
        return 1;
    }
    error(out, j->api, 400, "invalid_request_error", "\"prompt_name\" must be a string");
    return 0;
}

/* A job for a JSON request body naming (or defaulting) its model; NULL
 * after filling `out` with the refusal. *root gets the parsed body. */
static job *new_job(const srv_ctx *s, const http_request *req, job_api api, job_kind kind, route_result *out,
                    const te_json_value **root) {
    job *j = job_new(api, kind);
    if (!j) {
        error(out, api, 500, "server_error", "out of memory");
        return NULL;
    }
    te_error err;
    te_json *doc = te_json_parse(req->body.p, req->body.n, &err);
    if (!doc) {
        char msg[600];
        snprintf(msg, sizeof msg, "the body is not valid JSON: %s", te_errmsg(&err));
        error(out, api, 400, "invalid_request_error", msg);
        job_free(j);
        return NULL;
    }
    j->owned = doc;
    j->free_owned = free_doc;
    *root = te_json_root(doc);
    if (!pick_model(s, *root, j, out)) {
        job_free(j);
        return NULL;
    }
    return j;
}

/* Parses an embedding request into a job; on a refusal fills `out`. */
static job *embedding_job(const srv_ctx *s, const http_request *req, job_api api, route_result *out) {
    const te_json_value *root;
    job *j = new_job(s, req, api, JOB_EMBED, out, &root);
    if (!j) return NULL;
    if (api == API_OPENAI) {
        if (!read_inputs(s, te_json_get(root, "input"), j, out)) goto refuse;
        j->truncate = 1; /* as sentence-transformers does; usage counts the tokens used */
        const te_json_value *fmt = te_json_get(root, "encoding_format");
        const char *f = fmt ? te_json_string(fmt) : "float";
        if (!f || (strcmp(f, "float") != 0 && strcmp(f, "base64") != 0)) {
            error(out, api, 400, "invalid_request_error", "\"encoding_format\" must be \"float\" or \"base64\"");
            goto refuse;
        }
        j->base64 = strcmp(f, "base64") == 0;
        const te_json_value *dim = te_json_get(root, "dimensions");
        double d;
        if (dim) { /* its upper bound, the model's dimension, is checked by the worker that runs it */
            if (!te_json_number(dim, &d) || d != (double)(int)d || d < 1) {
                error(out, api, 400, "invalid_request_error", "\"dimensions\" must be a positive integer");
                goto refuse;
            }
            j->dimensions = (int)d;
        }
    } else {
        if (!read_inputs(s, te_json_get(root, "inputs"), j, out)) goto refuse;
        if (!read_prompt_name(root, j, out)) goto refuse;
        if ((j->normalize = read_bool(root, "normalize", 1, j, out)) < 0) goto refuse;
        if ((j->truncate = read_bool(root, "truncate", s->cfg->auto_truncate, j, out)) < 0) goto refuse;
    }
    return j;
refuse:
    job_free(j);
    return NULL;
}

/* A string, or (pair) a list of exactly two strings. */
static int read_sequence(const te_json_value *v, const char **a, const char **b) {
    *a = te_json_string(v);
    *b = NULL;
    if (*a) return 1;
    if (te_json_len(v) != 2) return 0;
    *a = te_json_string(te_json_at(v, 0));
    *b = te_json_string(te_json_at(v, 1));
    return *a && *b;
}

/* TEI's /predict: "inputs" is one sequence (a text, or a pair as a list of
 * two texts) or a list of sequences, as TEI reads it: ["a", "b"] is one pair. */
static job *predict_job(const srv_ctx *s, const http_request *req, route_result *out) {
    const te_json_value *root;
    job *j = new_job(s, req, API_TEI, JOB_PREDICT, out, &root);
    if (!j) return NULL;
    const te_json_value *in = te_json_get(root, "inputs");
    const char *a, *b;
    char msg[200];
    j->single_input = in && read_sequence(in, &a, &b);
    size_t n = j->single_input ? 1 : in ? te_json_len(in) : 0;
    if (n == 0) {
        error(out, API_TEI, 400, "invalid_request_error",
              "\"inputs\" must be a text, a pair [text, text], or a non-empty list of those");
        goto refuse;
    }
    if (n > s->cfg->max_batch) {
        snprintf(msg, sizeof msg, "batch of %zu inputs is larger than the limit of %zu (--max-batch)", n, s->cfg->max_batch);
        error(out, API_TEI, 413, "invalid_request_error", msg);
        goto refuse;
    }
    j->n = n;
    j->texts = calloc(n, sizeof *j->texts);
    j->lens = calloc(n, sizeof *j->lens);
    j->pair_texts = calloc(n, sizeof *j->pair_texts);
    j->pair_lens = calloc(n, sizeof *j->pair_lens);
    if (!j->texts || !j->lens || !j->pair_texts || !j->pair_lens) {
        error(out, API_TEI, 500, "server_error", "out of memory");
        goto refuse;
    }
    for (size_t i = 0; i < n; i++) {
        if (!read_sequence(j->single_input ? in : te_json_at(in, i), &a, &b)) {
            snprintf(msg, sizeof msg, "input %zu must be a text or a pair [text, text]", i);
            error(out, API_TEI, 400, "invalid_request_error", msg);
            goto refuse;
        }
        j->texts[i] = a;
        j->lens[i] = strlen(a);
        j->pair_texts[i] = b;
        j->pair_lens[i] = b ? strlen(b) : 0;
    }
    if ((j->raw_scores = read_bool(root, "raw_scores", 0, j, out)) < 0) goto refuse;
    if ((j->truncate = read_bool(root, "truncate", s->cfg->auto_truncate, j, out)) < 0) goto refuse;
    return j;
refuse:
    job_free(j);
    return NULL;
}

/* TEI's /rerank: {"query", "texts": [...], "raw_scores", "return_text", "truncate"}. */
static job *rerank_job(const srv_ctx *s, const http_request *req, route_result *out) {
    const te_json_value *root;
    job *j = new_job(s, req, API_TEI, JOB_RERANK, out, &root);
    if (!j) return NULL;
    const te_json_value *q = te_json_get(root, "query");
    j->query = q ? te_json_string(q) : NULL;
    if (!j->query) {
        error(out, API_TEI, 400, "invalid_request_error", "\"query\" must be a string");
        goto refuse;
    }
    j->query_len = strlen(j->query);
    const te_json_value *texts = te_json_get(root, "texts");
    if (!texts || te_json_string(texts)) {
        error(out, API_TEI, 400, "invalid_request_error", "\"texts\" must be a non-empty list of strings");
        goto refuse;
    }
    if (!read_inputs(s, texts, j, out)) goto refuse; /* TEI inputs: strings only */
    if ((j->raw_scores = read_bool(root, "raw_scores", 0, j, out)) < 0) goto refuse;
    if ((j->return_text = read_bool(root, "return_text", 0, j, out)) < 0) goto refuse;
    if ((j->truncate = read_bool(root, "truncate", s->cfg->auto_truncate, j, out)) < 0) goto refuse;
    return j;
refuse:
    job_free(j);
    return NULL;
}

/* /embed_sparse and /embed_colbert: {"inputs", "truncate"}, as TEI's /embed_sparse. */
static job *multi_job(const srv_ctx *s, const http_request *req, job_kind kind, route_result *out) {
    const te_json_value *root;
    job *j = new_job(s, req, API_TEI, kind, out, &root);
    if (!j) return NULL;
    if (read_inputs(s, te_json_get(root, "inputs"), j, out) && read_prompt_name(root, j, out) &&
        (j->truncate = read_bool(root, "truncate", s->cfg->auto_truncate, j, out)) >= 0)
        return j;
    job_free(j);
    return NULL;
}

static void job_route(const srv_ctx *s, const http_request *req, const char *path, job_api api, route_result *out) {
    if (!is_json(req->content_type)) {
        error(out, api, 415, "invalid_request_error", "send the body as Content-Type: application/json");
        return;
    }
    job *j = !strcmp(path, "/predict") ? predict_job(s, req, out)
             : !strcmp(path, "/rerank") ? rerank_job(s, req, out)
             : !strcmp(path, "/embed_sparse") ? multi_job(s, req, JOB_SPARSE, out)
             : !strcmp(path, "/embed_colbert") ? multi_job(s, req, JOB_COLBERT, out)
                                        : embedding_job(s, req, api, out);
    if (!j) return;
    out->kind = ROUTE_JOB;
    out->job = j;
}

static void reload_route(const srv_ctx *s, const http_request *req, route_result *out) {
    out->kind = ROUTE_RELOAD;
    out->reload_model[0] = '\0';
    if (req->body.n == 0) return;
    te_error err;
    te_json *doc = te_json_parse(req->body.p, req->body.n, &err);
    const te_json_value *m = doc ? te_json_get(te_json_root(doc), "model") : NULL;
    const char *name = m ? te_json_string(m) : NULL;
    if (!doc || (m && !name)) error(out, API_TEI, 400, "", "the body must be {} or {\"model\": \"name\"}");
    else if (name && te_registry_find(s->reg, name) < 0) error(out, API_TEI, 404, "", "no such model");
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

/* ---- dispatch ------------------------------------------------------------------------ */

typedef struct route {
    const char *path, *method, *label;
    job_api api;
    int admin, quiet, needs_key;
} route;

static const route routes[] = {
    {"/v1/embeddings", "POST", "/v1/embeddings", API_OPENAI, 0, 0, 1},
    {"/embed", "POST", "/embed", API_TEI, 0, 0, 1},
    {"/predict", "POST", "/predict", API_TEI, 0, 0, 1},
    {"/rerank", "POST", "/rerank", API_TEI, 0, 0, 1},
    {"/embed_sparse", "POST", "/embed_sparse", API_TEI, 0, 0, 1},
    {"/embed_colbert", "POST", "/embed_colbert", API_TEI, 0, 0, 1},
    {"/health", "GET", "/health", API_TEI, 0, 1, 0},
    {"/v1/models", "GET", "/v1/models", API_OPENAI, 0, 0, 1},
    {"/models", "GET", "/models", API_TEI, 0, 0, 1},
    {"/admin/reload", "POST", "/admin/reload", API_TEI, 1, 0, 1},
    {"/metrics", "GET", "/metrics", API_TEI, 0, 1, 1},
    {"/", "GET", "/", API_TEI, 0, 1, 1},
};

static int key_ok(const srv_ctx *s, const http_request *req) {
    const char *key = s->cfg->api_key;
    http_str a = req->authorization;
    size_t k = strlen(key);
    return a.n == 7 + k && http_eq((http_str){a.p, 7}, "bearer ") && memcmp(a.p + 7, key, k) == 0;
}

void route_request(const srv_ctx *s, const http_request *req, int loopback_peer, route_result *out) {
    memset(out, 0, sizeof *out);
    out->content_type = "application/json";
    out->label = "other";
    const route *r = NULL;
    for (size_t i = 0; i < sizeof routes / sizeof *routes && !r; i++)
        if (http_eq(req->path, routes[i].path)) r = &routes[i];
    if (!r) {
        error(out, API_TEI, 404, "not_found_error", "no such route");
        return;
    }
    out->label = r->label;
    out->quiet = r->quiet;
    if (!http_eq(req->method, r->method) && !(http_eq(req->method, "HEAD") && strcmp(r->method, "GET") == 0)) {
        char msg[80];
        snprintf(msg, sizeof msg, "%s takes %s", r->path, r->method);
        error(out, r->api, 405, "invalid_request_error", msg);
        return;
    }
    if (r->needs_key && s->cfg->api_key && !key_ok(s, req)) {
        error(out, r->api, 401, "authentication_error", "missing or wrong API key (Authorization: Bearer KEY)");
        return;
    }
    if (r->admin && !s->cfg->api_key && !loopback_peer) {
        error(out, r->api, 403, "permission_error", "admin routes answer loopback clients only (or start with --api-key)");
        return;
    }
    if (r->method[0] == 'P' && !r->admin) /* every POST route but /admin/reload runs a job */
        job_route(s, req, r->path, r->api, out);
    else if (strcmp(r->path, "/health") == 0) health(s, out);
    else if (strcmp(r->path, "/v1/models") == 0) openai_models(s, out);
    else if (strcmp(r->path, "/models") == 0) {
        out->kind = ROUTE_ANSWER;
        out->status = 200;
        registry_json(s->reg, &out->body);
    } else if (strcmp(r->path, "/admin/reload") == 0) reload_route(s, req, out);
    else if (strcmp(r->path, "/") == 0) {
        out->kind = ROUTE_ANSWER;
        out->status = 200;
        out->content_type = "text/html; charset=utf-8";
        status_page(s, &out->body);
    } else {
        out->kind = ROUTE_ANSWER;
        out->status = 200;
        out->content_type = "text/plain; version=0.0.4";
        metrics_render(s->metrics, s->reg, &out->body);
    }
}
