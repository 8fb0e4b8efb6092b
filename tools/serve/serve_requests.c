/*
 * serve_requests.c - request bodies into jobs, for every API a client may
 * speak: OpenAI's /v1/embeddings (and /embeddings), TEI's /embed,
 * /embed_all, /embed_sparse, /embed_colbert, /similarity, /predict,
 * /rerank, /tokenize and /decode, Cohere's rerank and v2 embed (whose
 * rerank shape Jina's and llama.cpp's clients send too), and POST / (TEI's
 * and the Hugging Face Inference API's route), dispatched by the kind of
 * the model it reaches. Every option is read or refused here; what needs
 * the model itself (its dimension, prompts, token limit) is checked by the
 * worker that runs the job.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "serve.h"
#include "tinyembed_json.h"

static void refuse(route_result *out, const job *j, int status, const char *msg) {
    route_error(out, j->api, status, j->api == API_OPENAI ? "invalid_request_error" : "validation", msg);
}

static void free_doc(void *doc) { te_json_free(doc); }

/* ---- the model ------------------------------------------------------------------ */

static const char *const need_names[NEED_KINDS] = {"", "embedding", "classifier", "reranker"};

/* The model of a request: the one its URL names (/models/NAME/...), the body's
 * "model", or the server's default for what the route needs. */
static int pick_model(const srv_ctx *s, const te_json_value *root, const char *url_model, need_kind need, job *j,
                      route_result *out) {
    const te_json_value *m = te_json_get(root, "model");
    const char *body_model = m ? te_json_string(m) : NULL;
    char msg[400];
    if (m && !body_model) {
        refuse(out, j, 400, "\"model\" must be a string");
        return 0;
    }
    if (url_model && body_model && strcmp(url_model, body_model) != 0) {
        snprintf(msg, sizeof msg, "the URL names model '%.120s' and the body names '%.120s': send one, or the same",
                 url_model, body_model);
        refuse(out, j, 400, msg);
        return 0;
    }
    const char *name = url_model ? url_model : body_model ? body_model : s->defaults[need];
    if (!name) {
        snprintf(msg, sizeof msg, "this server has no %s model to answer with: name one with \"model\" or "
                 "/models/NAME/ (GET /v1/models lists them)", need_names[need]);
        refuse(out, j, 400, msg);
        return 0;
    }
    if (te_registry_find(s->reg, name) < 0 || strlen(name) >= sizeof j->model) {
        snprintf(msg, sizeof msg, "no model named '%.200s' (GET /v1/models lists them)", name);
        route_error(out, j->api, 404, "not_found_error", msg);
        return 0;
    }
    snprintf(j->model, sizeof j->model, "%s", name);
    return 1;
}

/* ---- inputs ----------------------------------------------------------------------- */

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
        route_error(out, j->api, 500, "server_error", "out of memory");
        return 0;
    }
    j->id_store = all;
    size_t at = 0;
    for (size_t i = 0; i < n; i++) {
        const te_json_value *list = flat ? in : te_json_at(in, i);
        size_t k = te_json_len(list);
        if (k == 0) {
            snprintf(msg, sizeof msg, "input %zu: a token list must hold at least one id", i);
            refuse(out, j, 400, msg);
            return 0;
        }
        j->ids[i] = all + at;
        j->n_ids[i] = k;
        for (size_t t = 0; t < k; t++) {
            double v;
            if (!te_json_number(te_json_at(list, t), &v) || v != (double)(int64_t)v || v < -2147483648.0 || v > 2147483647.0) {
                snprintf(msg, sizeof msg, "input %zu: token ids must be integers (item %zu is not)", i, t);
                refuse(out, j, 400, msg);
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
        route_error(out, j->api, 500, "server_error", "out of memory");
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        const te_json_value *v = one ? in : te_json_at(in, i);
        const te_json_value *text = j->api == API_COHERE && te_json_get(v, "text") ? te_json_get(v, "text") : v;
        const char *t = te_json_string(text);
        if (!t) {
            snprintf(msg, sizeof msg, "input %zu must be a string%s", i, j->api == API_COHERE ? " or {\"text\": string}" : "");
            refuse(out, j, 400, msg);
            return 0;
        }
        if (j->api == API_OPENAI && !t[0]) {
            snprintf(msg, sizeof msg, "input %zu is empty", i);
            refuse(out, j, 400, msg);
            return 0;
        }
        j->texts[i] = t;
        j->lens[i] = strlen(t);
    }
    return 1;
}

/* The inputs under `what`: a string, a list of strings, or (OpenAI) token ids. */
static int read_inputs(const srv_ctx *s, const te_json_value *in, const char *what, job *j, route_result *out) {
    char msg[200];
    if (!in) {
        snprintf(msg, sizeof msg, "\"%s\" is required", what);
        refuse(out, j, 400, msg);
        return 0;
    }
    const char *one = te_json_string(in);
    size_t n = one ? 1 : te_json_len(in);
    int is_array = !one && te_json_at(in, 0) != NULL;
    if (!one && !is_array) {
        snprintf(msg, sizeof msg, "\"%s\" must be a string or a non-empty list", what);
        refuse(out, j, 400, msg);
        return 0;
    }
    double num;
    const te_json_value *first = one ? in : te_json_at(in, 0);
    int flat_ids = j->api == API_OPENAI && !one && te_json_number(first, &num); /* [int]: one list of ids */
    int token_lists = flat_ids || (j->api == API_OPENAI && !one && te_json_at(first, 0)); /* or [[int]] */
    if (flat_ids) n = 1;
    if (n > s->cfg->max_batch) {
        snprintf(msg, sizeof msg, "batch of %zu inputs is larger than the limit of %zu (--max-batch)", n, s->cfg->max_batch);
        refuse(out, j, 413, msg);
        return 0;
    }
    j->n = n;
    return token_lists ? read_token_lists(in, flat_ids, n, j, out) : read_texts(in, one != NULL, n, j, out);
}

/* ---- options ---------------------------------------------------------------------- */

static int read_bool(const te_json_value *root, const char *key, int def, job *j, route_result *out) {
    const te_json_value *v = te_json_get(root, key);
    int b;
    if (!v) return def;
    if (te_json_bool(v, &b)) return b;
    char msg[100];
    snprintf(msg, sizeof msg, "\"%s\" must be true or false", key);
    refuse(out, j, 400, msg);
    return -1;
}

/* One of `choices` (|-separated, compared without case), its index; -1 after refusing. */
static int read_choice(const te_json_value *root, const char *key, const char *choices, int def, job *j,
                       route_result *out) {
    const te_json_value *v = te_json_get(root, key);
    const char *got = v ? te_json_string(v) : NULL;
    if (!v) return def;
    int k = 0;
    for (const char *c = choices; got && *c; k++) {
        size_t n = strcspn(c, "|");
        if (strlen(got) == n && strncasecmp(got, c, n) == 0) return k;
        c += n + (c[n] == '|');
    }
    char msg[200];
    snprintf(msg, sizeof msg, "\"%s\" must be one of %s", key, choices);
    refuse(out, j, 400, msg);
    return -1;
}

/* TEI's "prompt_name": one of the model's prompts (checked by the worker, which has the model). */
static int read_prompt_name(const te_json_value *root, job *j, route_result *out) {
    const te_json_value *v = te_json_get(root, "prompt_name");
    if (!v || te_json_string(v)) {
        j->prompt_name = v ? te_json_string(v) : NULL;
        return 1;
    }
    refuse(out, j, 400, "\"prompt_name\" must be a string");
    return 0;
}

/* TEI's truncate, truncation_direction (Right keeps the start, Left the end) and prompt_name. */
static int read_tei_options(const srv_ctx *s, const te_json_value *root, job *j, route_result *out) {
    int dir;
    if ((j->truncate = read_bool(root, "truncate", s->cfg->auto_truncate, j, out)) < 0) return 0;
    if ((dir = read_choice(root, "truncation_direction", "Right|Left", 0, j, out)) < 0) return 0;
    j->truncate_left = dir == 1;
    if (j->truncate_left && j->kind != JOB_EMBED) {
        refuse(out, j, 400, "\"truncation_direction\": \"Left\" is available on /embed and /similarity; this route "
               "cuts texts at their end");
        return 0;
    }
    return read_prompt_name(root, j, out);
}

/* An integer from min (0 or 1) up; absent: *val as it is. */
static int read_count(const te_json_value *root, const char *key, double min, size_t *val, job *j, route_result *out) {
    const te_json_value *v = te_json_get(root, key);
    double d;
    if (!v) return 1;
    if (te_json_number(v, &d) && d == (double)(long)d && d >= min && d <= 1e9) {
        *val = (size_t)d;
        return 1;
    }
    char msg[100];
    snprintf(msg, sizeof msg, "\"%s\" must be %s", key, min > 0 ? "a positive integer" : "an integer from 0");
    refuse(out, j, 400, msg);
    return 0;
}

/* ---- embeddings --------------------------------------------------------------------- */

/* "precision": float (the default), int8, uint8, binary or ubinary (precision.h). */
static int read_precision(const te_json_value *root, job *j, route_result *out) {
    int p = read_choice(root, "precision", PRECISION_NAMES, 0, j, out);
    j->precision = p >= 0 ? (precision)p : PREC_FLOAT;
    return p >= 0;
}

/* "chunking": {"max_tokens", "overlap": 0, "reduce": "mean" | "none"}: the job becomes JOB_CHUNKS. */
static int read_chunking(const te_json_value *root, job *j, route_result *out) {
    const te_json_value *c = te_json_get(root, "chunking");
    if (!c) return 1;
    if (!te_json_get(c, "max_tokens")) {
        refuse(out, j, 400, "\"chunking\" must be {\"max_tokens\": N, \"overlap\": M, \"reduce\": \"mean\" | \"none\"}");
        return 0;
    }
    if (!j->texts) {
        refuse(out, j, 400, "\"chunking\" cuts texts, not token ids");
        return 0;
    }
    if (j->truncate_left) {
        refuse(out, j, 400, "\"chunking\" embeds the whole text: \"truncation_direction\" does not apply");
        return 0;
    }
    if (!read_count(c, "max_tokens", 1, &j->chunk_max, j, out) || !read_count(c, "overlap", 0, &j->chunk_overlap, j, out))
        return 0;
    int reduce = read_choice(c, "reduce", "mean|none", 0, j, out);
    if (reduce < 0) return 0;
    j->chunk_each = reduce == 1;
    j->kind = JOB_CHUNKS;
    return 1;
}

static int read_openai_embed(const srv_ctx *s, const te_json_value *root, job *j, route_result *out) {
    if (!read_inputs(s, te_json_get(root, "input"), "input", j, out)) return 0;
    j->truncate = 1; /* as sentence-transformers does; usage counts the tokens used */
    int fmt = read_choice(root, "encoding_format", "float|base64", 0, j, out);
    if (fmt < 0) return 0;
    j->base64 = fmt == 1;
    size_t d = 0; /* its upper bound, the model's dimension, is checked by the worker that runs it */
    if (!read_count(root, "dimensions", 1, &d, j, out)) return 0;
    j->dimensions = (int)d;
    return read_precision(root, j, out) && read_chunking(root, j, out);
}

static int read_tei_embed(const srv_ctx *s, const te_json_value *root, job *j, route_result *out) {
    if (!read_inputs(s, te_json_get(root, "inputs"), "inputs", j, out) || !read_tei_options(s, root, j, out)) return 0;
    return (j->normalize = read_bool(root, "normalize", 1, j, out)) >= 0 && read_precision(root, j, out) &&
           read_chunking(root, j, out);
}

/* {"inputs": {"source_sentence", "sentences"}}: embeds both, answers the cosines. */
static int read_similarity(const srv_ctx *s, const te_json_value *root, job *j, route_result *out) {
    const te_json_value *in = te_json_get(root, "inputs");
    const te_json_value *src = te_json_get(in, "source_sentence"), *list = te_json_get(in, "sentences");
    size_t n = te_json_len(list);
    if (!te_json_string(src) || !n || te_json_string(list)) {
        refuse(out, j, 400, "\"inputs\" must be {\"source_sentence\": text, \"sentences\": [text, ...]}");
        return 0;
    }
    if (n + 1 > s->cfg->max_batch) {
        refuse(out, j, 413, "more sentences than the server takes at once (--max-batch)");
        return 0;
    }
    j->n = n + 1;
    j->texts = calloc(n + 1, sizeof *j->texts);
    j->lens = calloc(n + 1, sizeof *j->lens);
    if (!j->texts || !j->lens) {
        route_error(out, j->api, 500, "server_error", "out of memory");
        return 0;
    }
    for (size_t i = 0; i <= n; i++) {
        j->texts[i] = te_json_string(i ? te_json_at(list, i - 1) : src);
        if (!j->texts[i]) {
            refuse(out, j, 400, "\"sentences\" must hold texts only");
            return 0;
        }
        j->lens[i] = strlen(j->texts[i]);
    }
    j->similarity = 1;
    j->normalize = 1;
    return read_tei_options(s, root, j, out);
}

/* /embed_sparse, /embed_colbert and /embed_all: {"inputs", "truncate", "prompt_name"}. */
static int read_multi(const srv_ctx *s, const te_json_value *root, job *j, route_result *out) {
    return read_inputs(s, te_json_get(root, "inputs"), "inputs", j, out) && read_tei_options(s, root, j, out);
}

/* Cohere's embedding_types: float (the default), binary, ubinary. */
static int read_embedding_types(const te_json_value *root, job *j, route_result *out) {
    const te_json_value *types = te_json_get(root, "embedding_types");
    j->cohere_types = types ? 0 : 1u << PREC_FLOAT;
    for (size_t i = 0; types && i < te_json_len(types); i++) {
        int p = precision_parse(te_json_string(te_json_at(types, i)));
        if (p < 0) {
            refuse(out, j, 400, "\"embedding_types\" must hold float, int8, uint8, binary or ubinary");
            return 0;
        }
        j->cohere_types |= 1u << p;
    }
    if (!j->cohere_types) {
        refuse(out, j, 400, "\"embedding_types\" must name at least one type");
        return 0;
    }
    return 1;
}

/* Cohere's v2 embed: {"texts", "input_type", "embedding_types", "truncate"}. */
static int read_cohere_embed(const srv_ctx *s, const te_json_value *root, job *j, route_result *out) {
    static const char *const input_types[] = {"search_query", "search_document", "classification", "clustering"};
    if (!read_inputs(s, te_json_get(root, "texts"), "texts", j, out)) return 0;
    int k = read_choice(root, "input_type", "search_query|search_document|classification|clustering", -2, j, out);
    if (k == -1) return 0;
    j->input_type = k >= 0 ? input_types[k] : NULL;
    if (!read_embedding_types(root, j, out)) return 0;
    int trunc = read_choice(root, "truncate", "END|START|NONE", 0, j, out);
    if (trunc < 0) return 0;
    j->truncate = trunc != 2;
    j->truncate_left = trunc == 1;
    j->normalize = 1;
    return 1;
}

/* ---- scores ------------------------------------------------------------------------- */

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
static int read_predict(const srv_ctx *s, const te_json_value *root, job *j, route_result *out) {
    const te_json_value *in = te_json_get(root, "inputs");
    const char *a, *b;
    char msg[200];
    j->single_input = in && read_sequence(in, &a, &b);
    size_t n = j->single_input ? 1 : in ? te_json_len(in) : 0;
    if (n == 0) {
        refuse(out, j, 400, "\"inputs\" must be a text, a pair [text, text], or a non-empty list of those");
        return 0;
    }
    if (n > s->cfg->max_batch) {
        snprintf(msg, sizeof msg, "batch of %zu inputs is larger than the limit of %zu (--max-batch)", n, s->cfg->max_batch);
        refuse(out, j, 413, msg);
        return 0;
    }
    j->n = n;
    j->texts = calloc(n, sizeof *j->texts);
    j->lens = calloc(n, sizeof *j->lens);
    j->pair_texts = calloc(n, sizeof *j->pair_texts);
    j->pair_lens = calloc(n, sizeof *j->pair_lens);
    if (!j->texts || !j->lens || !j->pair_texts || !j->pair_lens) {
        route_error(out, j->api, 500, "server_error", "out of memory");
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        if (!read_sequence(j->single_input ? in : te_json_at(in, i), &a, &b)) {
            snprintf(msg, sizeof msg, "input %zu must be a text or a pair [text, text]", i);
            refuse(out, j, 400, msg);
            return 0;
        }
        j->texts[i] = a;
        j->lens[i] = strlen(a);
        j->pair_texts[i] = b;
        j->pair_lens[i] = b ? strlen(b) : 0;
    }
    if ((j->raw_scores = read_bool(root, "raw_scores", 0, j, out)) < 0) return 0;
    return read_tei_options(s, root, j, out);
}

static int read_query(const te_json_value *root, job *j, route_result *out) {
    const te_json_value *q = te_json_get(root, "query");
    j->query = q ? te_json_string(q) : NULL;
    if (!j->query) {
        refuse(out, j, 400, "\"query\" must be a string");
        return 0;
    }
    j->query_len = strlen(j->query);
    return 1;
}

/* Cohere's, Jina's and llama.cpp's rerank: {"query", "documents": [text | {"text"}], "top_n",
 * "return_documents" (true unless Cohere's v2, as each API defaults), "max_tokens_per_doc"}. */
static int read_cohere_rerank(const srv_ctx *s, const te_json_value *root, job *j, route_result *out, int v2) {
    j->api = API_COHERE;
    const te_json_value *docs = te_json_get(root, "documents");
    if (!read_query(root, j, out)) return 0;
    if (!docs || te_json_string(docs)) {
        refuse(out, j, 400, "\"documents\" must be a non-empty list of texts or {\"text\": ...} objects");
        return 0;
    }
    static const char *const unsupported[] = {"rank_fields", "max_chunks_per_doc"};
    for (size_t i = 0; i < sizeof unsupported / sizeof *unsupported; i++)
        if (te_json_get(root, unsupported[i])) {
            char msg[120];
            snprintf(msg, sizeof msg, "\"%s\" is not available on this server", unsupported[i]);
            refuse(out, j, 400, msg);
            return 0;
        }
    if (!read_inputs(s, docs, "documents", j, out) || !read_count(root, "top_n", 1, &j->top_n, j, out) ||
        !read_count(root, "max_tokens_per_doc", 1, &j->doc_max_tokens, j, out))
        return 0;
    if ((j->return_text = read_bool(root, "return_documents", !v2, j, out)) < 0) return 0;
    j->truncate = 1; /* as Cohere: a long document is cut, not refused */
    return 1;
}

/* TEI's /rerank {"query", "texts", ...}, or with "documents" the Cohere/Jina/llama.cpp form. */
static int read_rerank(const srv_ctx *s, const te_json_value *root, job *j, route_result *out) {
    if (te_json_get(root, "documents") && !te_json_get(root, "texts")) return read_cohere_rerank(s, root, j, out, 0);
    const te_json_value *texts = te_json_get(root, "texts");
    if (!read_query(root, j, out)) return 0;
    if (!texts || te_json_string(texts)) {
        refuse(out, j, 400, "\"texts\" must be a non-empty list of strings");
        return 0;
    }
    if (!read_inputs(s, texts, "texts", j, out)) return 0; /* TEI inputs: strings only */
    if ((j->raw_scores = read_bool(root, "raw_scores", 0, j, out)) < 0) return 0;
    if ((j->return_text = read_bool(root, "return_text", 0, j, out)) < 0) return 0;
    return read_tei_options(s, root, j, out);
}

static int read_rerank_v1(const srv_ctx *s, const te_json_value *root, job *j, route_result *out) {
    return read_cohere_rerank(s, root, j, out, 0);
}

static int read_rerank_v2(const srv_ctx *s, const te_json_value *root, job *j, route_result *out) {
    return read_cohere_rerank(s, root, j, out, 1);
}

/* ---- tokens ------------------------------------------------------------------------- */

static int read_tokenize(const srv_ctx *s, const te_json_value *root, job *j, route_result *out) {
    if (!read_inputs(s, te_json_get(root, "inputs"), "inputs", j, out) || !read_prompt_name(root, j, out)) return 0;
    return (j->special = read_bool(root, "add_special_tokens", 1, j, out)) >= 0;
}

static int read_decode(const srv_ctx *s, const te_json_value *root, job *j, route_result *out) {
    const te_json_value *ids = te_json_get(root, "ids");
    double num;
    int flat = te_json_number(te_json_at(ids, 0), &num);
    if (!ids || !te_json_at(ids, 0) || (!flat && !te_json_at(te_json_at(ids, 0), 0))) {
        refuse(out, j, 400, "\"ids\" must be a non-empty list of token ids, or a list of such lists");
        return 0;
    }
    size_t n = flat ? 1 : te_json_len(ids);
    if (n > s->cfg->max_batch) {
        refuse(out, j, 413, "more id lists than the server takes at once (--max-batch)");
        return 0;
    }
    j->n = n;
    if (!read_token_lists(ids, flat, n, j, out)) return 0;
    return (j->special = read_bool(root, "skip_special_tokens", 1, j, out)) >= 0;
}

static int read_nothing(const srv_ctx *s, const te_json_value *root, job *j, route_result *out) {
    (void)s, (void)root, (void)j, (void)out;
    return 1;
}

/* ---- POST /: by the model's kind ---------------------------------------------------------- */

/* TEI's and the Hugging Face Inference API's route: embeddings for an
 * embedding model ({"inputs": {"source_sentence", ...}}: similarity), label
 * scores for a classifier (a list per input, as the Inference API answers),
 * and for a reranker TEI's /rerank when there is a query, else /predict. */
static int read_by_kind(const srv_ctx *s, const te_json_value *root, job *j, route_result *out) {
    int i = te_registry_find(s->reg, j->model);
    te_model_kind kind = i >= 0 && s->kinds ? (te_model_kind)s->kinds[i] : TE_KIND_EMBEDDING;
    const te_json_value *in = te_json_get(root, "inputs");
    if (te_json_get(in, "source_sentence")) return read_similarity(s, root, j, out);
    if (kind == TE_KIND_EMBEDDING) return read_tei_embed(s, root, j, out);
    if (kind == TE_KIND_RERANKER && te_json_get(root, "query")) {
        j->kind = JOB_RERANK;
        return read_rerank(s, root, j, out);
    }
    j->kind = JOB_PREDICT;
    if (!read_predict(s, root, j, out)) return 0;
    j->single_input = 0; /* the Inference API's shape: a list of labels per input, even for one */
    return 1;
}

/* ---- the table ------------------------------------------------------------------------ */

static const job_route job_routes[] = {
    {"/v1/embeddings", "POST", API_OPENAI, JOB_EMBED, NEED_EMBEDDING, read_openai_embed},
    {"/embeddings", "POST", API_OPENAI, JOB_EMBED, NEED_EMBEDDING, read_openai_embed},
    {"/embed", "POST", API_TEI, JOB_EMBED, NEED_EMBEDDING, read_tei_embed},
    {"/embed_all", "POST", API_TEI, JOB_TOKENS, NEED_EMBEDDING, read_multi},
    {"/embed_sparse", "POST", API_TEI, JOB_SPARSE, NEED_EMBEDDING, read_multi},
    {"/embed_colbert", "POST", API_TEI, JOB_COLBERT, NEED_EMBEDDING, read_multi},
    {"/similarity", "POST", API_TEI, JOB_EMBED, NEED_EMBEDDING, read_similarity},
    {"/v2/embed", "POST", API_COHERE, JOB_EMBED, NEED_EMBEDDING, read_cohere_embed},
    {"/predict", "POST", API_TEI, JOB_PREDICT, NEED_CLASSIFIER, read_predict},
    {"/rerank", "POST", API_TEI, JOB_RERANK, NEED_RERANKER, read_rerank},
    {"/v1/rerank", "POST", API_COHERE, JOB_RERANK, NEED_RERANKER, read_rerank_v1},
    {"/v2/rerank", "POST", API_COHERE, JOB_RERANK, NEED_RERANKER, read_rerank_v2},
    {"/tokenize", "POST", API_TEI, JOB_TOKENIZE, NEED_ANY, read_tokenize},
    {"/decode", "POST", API_TEI, JOB_DECODE, NEED_ANY, read_decode},
    {"/", "POST", API_TEI, JOB_EMBED, NEED_ANY, read_by_kind},
    {"/invocations", "POST", API_TEI, JOB_EMBED, NEED_ANY, read_by_kind},
    {"/info", "GET", API_TEI, JOB_INFO, NEED_ANY, read_nothing},
};

const job_route *job_route_find(http_str path) {
    for (size_t i = 0; i < sizeof job_routes / sizeof *job_routes; i++)
        if (http_eq(path, job_routes[i].path)) return &job_routes[i];
    return NULL;
}

static int is_json(http_str ct) {
    static const char want[] = "application/json";
    size_t n = sizeof want - 1;
    if (ct.n < n) return 0;
    if (!http_eq((http_str){ct.p, n}, want)) return 0;
    return ct.n == n || ct.p[n] == ';' || ct.p[n] == ' ';
}

job *request_job(const srv_ctx *s, const http_request *req, const job_route *r, const char *url_model,
                 route_result *out) {
    job *j = job_new(r->api, r->kind);
    if (!j) {
        route_error(out, r->api, 500, "server_error", "out of memory");
        return NULL;
    }
    int has_body = r->kind != JOB_INFO;
    if (has_body && !is_json(req->content_type)) {
        route_error(out, r->api, 415, "invalid_request_error", "send the body as Content-Type: application/json");
        job_free(j);
        return NULL;
    }
    te_error err;
    te_json *doc = te_json_parse(has_body ? req->body.p : "{}", has_body ? req->body.n : 2, &err);
    if (!doc) {
        char msg[600];
        snprintf(msg, sizeof msg, "the body is not valid JSON: %s", te_errmsg(&err));
        refuse(out, j, 400, msg);
        job_free(j);
        return NULL;
    }
    j->owned = doc;
    j->free_owned = free_doc;
    const te_json_value *root = te_json_root(doc);
    if (!pick_model(s, root, url_model, r->need, j, out) || !r->read(s, root, j, out)) {
        snprintf(out->model, sizeof out->model, "%s", j->model);
        job_free(j);
        return NULL;
    }
    return j;
}
