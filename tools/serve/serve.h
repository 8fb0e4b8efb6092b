/*
 * serve.h - what the parts of `tinyembed serve` share: the settings, the
 * embedding jobs that travel from the event loop to the batch workers and
 * back, and the metrics. The server is built on the public API only: the
 * registry holds the models, each worker keeps its own contexts.
 *
 *   cmd_serve.c      command line, listening socket, signals: the wiring
 *   serve_loop.c     the event loop: connections, their states, timeouts, the drain
 *   serve_job.c      a job's life (new, fail, free) and the APIs' error shapes
 *   serve_api.c      dispatch: routes, /models/NAME/ prefixes, default models, auth; the GET routes
 *   serve_requests.c request bodies of every API (TEI, OpenAI, Cohere/Jina, HF Inference) into jobs
 *   serve_tokens.c   /tokenize, /decode and /info
 *   serve_batch.c    the job queue and the workers that batch jobs into forward passes
 *   serve_answer.c   embeddings into each API's answer
 *   serve_chunks.c   texts cut into chunks ("chunking"), embedded, averaged or listed
 *   serve_score.c    classifier and reranker jobs (TEI's /predict and /rerank)
 *   serve_multi.c    bge-m3's sparse and ColBERT jobs (/embed_sparse, /embed_colbert)
 *   serve_cache.c    the result cache (--cache-mb): vectors by model, text and truncation, LRU
 *   serve_metrics.c  counters and histograms in Prometheus text format
 *   serve_status.c   the status page (GET /): models, load, residency, traffic
 */
#ifndef TE_SERVE_H
#define TE_SERVE_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "chunk.h"
#include "http.h"
#include "precision.h"
#include "strbuf.h"
#include "tinyembed.h"
#include "tinyembed_json.h"

typedef struct srv_config {
    const char *host;
    int port;
    int threads;              /* per context (the engine's thread pool) */
    int workers;              /* batch workers, each with its own contexts */
    const char *api_key;      /* NULL: no key (admin routes then answer loopback clients only) */
    size_t max_batch;         /* texts per request (413 beyond) */
    size_t max_body;          /* request body bytes (413 beyond) */
    size_t max_queue;         /* texts waiting (429 beyond) */
    size_t max_batch_texts;   /* texts per forward pass that a worker gathers from the queue */
    int request_timeout_ms;   /* a request (headers and body) must arrive within this (408) */
    int idle_timeout_ms;      /* keep-alive connections idle longer are closed */
    int auto_truncate;        /* TEI's --auto-truncate: /embed truncates unless told not to */
    int log_json;             /* request log lines as JSON */
    int log_all;              /* also log /health and /metrics */
    size_t cache_bytes;       /* --cache-mb: the result cache's bound; 0: none */
} srv_config;

/* ---- the result cache (serve_cache.c) ---- */

typedef struct srv_cache srv_cache;

/* How a text was cut: part of its key (0: it was not), since a text cut one way is not the text cut another. */
#define CACHE_TRUNCATE 1u
#define CACHE_KEEP_END 2u

/* A cache of at most max_bytes; NULL for 0 (no cache) or without memory. */
srv_cache *cache_new(size_t max_bytes);
void cache_free(srv_cache *c);
/* 1 with the vector in out[dim] and its token count in *tokens, or 0 (a miss): the text as
 * it was stored uncut, or else (flags: how this request may cut it) cut that way. */
int cache_get(srv_cache *c, uint32_t fingerprint, unsigned flags, const char *text, size_t len, float *out, int dim,
              size_t *tokens);
/* Keeps a vector (a text over an eighth of the bound is not kept), dropping the least recently used to fit. */
void cache_put(srv_cache *c, uint32_t fingerprint, unsigned flags, const char *text, size_t len, const float *v, int dim,
               size_t tokens);
typedef struct cache_counts {
    uint64_t hits, misses, evictions;
    size_t bytes, entries, max_bytes;
} cache_counts;
/* The counts so far (all 0 for NULL). */
void cache_stats(srv_cache *c, cache_counts *out);

/* ---- metrics (serve_metrics.c) ---- */

typedef struct srv_metrics srv_metrics;

srv_metrics *metrics_new(void);
void metrics_free(srv_metrics *m);
void metrics_request(srv_metrics *m, const char *route, int status, double seconds);
void metrics_batch(srv_metrics *m, size_t texts, size_t tokens);
void metrics_queue_depth(srv_metrics *m, long delta);
void metrics_reload(srv_metrics *m, int ok);
/* The whole exposition (text format 0.0.4), with per-model gauges from r and the cache's counts. */
void metrics_render(srv_metrics *m, te_registry *r, srv_cache *cache, strbuf *out);

#define METRICS_HISTORY 120 /* seconds of per-second history */

/* What the status page shows of the traffic. */
typedef struct metrics_snapshot {
    double per_second[METRICS_HISTORY]; /* requests answered in each of the last seconds, oldest first */
    double latency_ms[METRICS_HISTORY]; /* their mean latency (0: none) */
    uint64_t requests, texts, tokens;
    double mean_ms, p50_ms, p99_ms;     /* since start; quantiles as histogram bucket bounds */
    long queue_depth;
} metrics_snapshot;

void metrics_view(srv_metrics *m, metrics_snapshot *out);


/* ---- embedding jobs (serve_batch.c) ---- */

/* The API a request came to: the shape of its errors and of its answer. */
typedef enum job_api { API_OPENAI, API_TEI, API_COHERE } job_api;

/* Embeddings (batched across jobs), label scores of texts or text pairs, bge-m3's other outputs, every
 * token's state (/embed_all), or what the tokenizer and the model's header answer. */
typedef enum job_kind {
    JOB_EMBED = 0, JOB_PREDICT, JOB_RERANK, JOB_SPARSE, JOB_COLBERT, JOB_TOKENS, JOB_TOKENIZE, JOB_DECODE, JOB_INFO,
    JOB_CHUNKS                /* embeddings of texts cut into chunks ("chunking"), run alone */
} job_kind;

typedef struct job {
    struct job *next;
    /* What to compute (filled by serve_api.c). */
    job_api api;
    job_kind kind;
    char model[128];          /* declared model name */
    size_t n;                 /* inputs */
    const char **texts;       /* [n] UTF-8, or NULL when ids are given */
    size_t *lens;             /* [n] */
    const int32_t **ids;      /* [n] token ids ([CLS]/[SEP] included), or NULL */
    size_t *n_ids;            /* [n] */
    int32_t *id_store;        /* the ids of all inputs, which ids[] point into */
    int truncate;             /* cut long inputs to the model's limit (else 422) */
    int normalize;            /* TEI: L2-normalize (the default) */
    int dimensions;           /* OpenAI: keep the first d and re-normalize; 0: all */
    int base64;               /* OpenAI encoding_format "base64" */
    precision precision;      /* "precision" (precision.h) */
    unsigned cohere_types;    /* Cohere's embedding_types: bits 1 << precision */
    const te_model *range_model; /* int8 / uint8: the model whose calibrated range quantizes (job_check_output) */
    int similarity;           /* JOB_EMBED: answer the cosine of text 0 with each other text (/similarity) */
    int truncate_left;        /* cut a long text's start, keeping its end (TEI's truncation_direction Left) */
    int special;              /* JOB_TOKENIZE: add_special_tokens; JOB_DECODE: skip_special_tokens */
    const char *input_type;   /* Cohere's: the model's prompt of that purpose, when it has one */
    size_t top_n;             /* Cohere/Jina rerank: answer the best top_n (0: all) */
    size_t doc_max_tokens;    /* JOB_RERANK: Cohere's max_tokens_per_doc: each document cut after its first N tokens
                                 (0: only the model's limit cuts the pair) */
    size_t chunk_max, chunk_overlap; /* JOB_CHUNKS: tokens per chunk (special tokens included), shared */
    int chunk_each;           /* JOB_CHUNKS: answer every chunk with its span ("reduce": "none"), not their mean */
    const char **pair_texts;  /* JOB_PREDICT: [n] the second text of a pair, or NULL entries (or array) */
    size_t *pair_lens;
    const char *query;        /* JOB_RERANK: the first text of every pair; texts are the passages */
    size_t query_len;
    int raw_scores;           /* logits instead of scores */
    int return_text;          /* JOB_RERANK: echo each passage (Cohere's return_documents) */
    int single_input;         /* JOB_PREDICT: "inputs" was one sequence: answer one list, not a list of lists */
    const char *prompt_name;  /* TEI's prompt_name, or NULL: the model's default prompt */
    char *prompted;           /* the texts with the prompt in front (job_apply_prompt), or NULL */
    size_t prompt_len;        /* bytes of that prompt: texts[i] + prompt_len is the text as sent */
    void *owned;              /* freed with the job (the parsed request) */
    void (*free_owned)(void *);
    /* The answer (filled by the worker). */
    int status;
    char message[160];        /* the error's message, for the request log */
    strbuf body;
    size_t tokens;            /* tokens embedded (after truncation) */
    /* Where the answer goes (cmd_serve.c). */
    int conn;
    uint64_t conn_serial;
} job;

/* ---- a job's life (serve_job.c) ---- */

/* A new job (conn -1 until the event loop assigns it); NULL without memory. */
job *job_new(job_api api, job_kind kind);
void job_free(job *j);
/* Refuses (fails j, returns 0) an output the model cannot give: "dimensions" past its width; int8 / uint8
 * without a calibrated range in its file, or of anything but its own vectors (fewer dimensions, or normalized
 * when the model does not normalize). */
int job_check_output(job *j, const te_model *m, const te_model_info *in);
/* Puts the model's prompt (j->prompt_name's, else its default, if any) in
 * front of each text of j; 0 after failing j (an unknown prompt name). */
int job_apply_prompt(job *j, const te_model *m);
/* An id for an answer that carries one (Cohere's): unique within the process and across restarts. */
void job_response_id(const job *j, char *out, size_t cap);
/* Fails j with status and the message in its API's error shape. */
void fail_job(job *j, int status, const char *type, const char *msg);
/* Error bodies in the route's API shape. */
void api_error(job_api api, int status, const char *type, const char *msg, strbuf *out);

typedef struct srv_queue srv_queue;

/* done(user, j) is called from a worker thread when j is answered. NULL
 * when memory or threads run out. */
srv_queue *queue_new(te_registry *r, const srv_config *cfg, srv_metrics *m, srv_cache *cache,
                     void (*done)(void *, job *), void *user);
/* 0, or -1 when the queue already holds max_queue texts (429). */
int queue_push(srv_queue *q, job *j);
/* Finishes every queued job, then stops the workers and frees. */
void queue_free(srv_queue *q);

/* Runs a JOB_PREDICT or JOB_RERANK job on ctx (a context of m) and fills
 * its answer; returns the tokens scored (0 if the job failed). */
size_t run_scoring(te_ctx *ctx, const te_model *m, job *j);

/* Runs a JOB_SPARSE, JOB_COLBERT or JOB_TOKENS job (serve_multi.c) the same way. */
size_t run_multi(te_ctx *ctx, const te_model *m, job *j);

/* Runs a JOB_CHUNKS job (serve_chunks.c): every text's chunks in one call, then their
 * mean or each of them; returns the tokens embedded (0 if the job failed). */
size_t run_chunks(te_ctx *ctx, const te_model *m, job *j);

/* The answer of an embedding job whose vectors are out[n * dim] (serve_answer.c), in
 * the shape of its API; model_normalizes: the vectors are unit length already. */
void answer_embeddings(job *j, float *out, int dim, int model_normalizes);
/* The answer of a chunked job: per text c[i].n vectors of out, in order, with their spans. */
void answer_chunks(job *j, float *out, const chunks *c, int dim, int model_normalizes);

/* Answers a JOB_TOKENIZE, JOB_DECODE or JOB_INFO job (serve_tokens.c). */
void run_tokens(const te_ctx *ctx, const te_model *m, const srv_config *cfg, job *j);


/* ---- routes (serve_api.c) ---- */

/* What a route needs of a model that a request does not name. */
typedef enum need_kind { NEED_ANY = 0, NEED_EMBEDDING, NEED_CLASSIFIER, NEED_RERANKER, NEED_KINDS } need_kind;

typedef struct srv_ctx {
    const srv_config *cfg;
    te_registry *reg;
    srv_metrics *metrics;
    srv_queue *queue;
    srv_cache *cache;         /* NULL without --cache-mb */
    /* The model a request that names none reaches, per need_kind: the first model of the
     * kind (classifiers: else the first reranker), or --default-model's; NULL: none served. */
    const char *defaults[NEED_KINDS];
    const int *kinds;         /* per registry index, its te_model_kind as the header said at start-up; -1: unknown */
} srv_ctx;

/* Fills kinds[registry count] from the models' headers and s->defaults (and
 * s->kinds = kinds): `named` (--default-model, repeatable) wins for its kind,
 * the first named for NEED_ANY. 0 after printing why not. */
int serve_defaults(srv_ctx *s, int *kinds, const char *const *named, int n_named);

/* What the event loop does with a request: an answer now, a job queued
 * (the answer comes through the queue), or a reload to run in a thread. */
typedef enum route_kind { ROUTE_ANSWER, ROUTE_JOB, ROUTE_RELOAD } route_kind;

typedef struct route_result {
    route_kind kind;
    int status;
    strbuf body;              /* ROUTE_ANSWER: the JSON or text body */
    const char *content_type;
    job *job;                 /* ROUTE_JOB */
    char reload_model[128];   /* ROUTE_RELOAD: "" for all */
    const char *label;        /* metrics route label */
    int quiet;                /* not logged unless --log-all */
    char model[128];          /* for the request log: the model it reached, or "" */
    char message[160];        /* ROUTE_ANSWER errors: the message, for the log */
} route_result;

/* A route answered by a job (serve_requests.c): its body reader fills the job. */
typedef struct job_route {
    const char *path, *method;
    job_api api;
    job_kind kind;
    need_kind need;           /* which default model a request naming none reaches */
    int (*read)(const srv_ctx *s, const te_json_value *root, job *j, route_result *out);
} job_route;

/* The job route at path (any /models/NAME prefix taken off), or NULL. */
const job_route *job_route_find(http_str path);
/* The job for a request to r; url_model is the model a /models/NAME/ prefix
 * named, or NULL. NULL after filling `out` with the refusal. */
job *request_job(const srv_ctx *s, const http_request *req, const job_route *r, const char *url_model,
                 route_result *out);
/* out gets an error answer in api's shape and its message, for the log (serve_job.c). */
void route_error(route_result *out, job_api api, int status, const char *type, const char *msg);

void route_request(const srv_ctx *s, const http_request *req, int loopback_peer, route_result *out);

/* The answer to a reload: {"status": "reloaded", ...}. */
void reload_answer(te_registry *r, te_status st, const te_error *err, route_result *out);

/* ---- the event loop (serve_loop.c) ---- */

typedef struct srv_loop srv_loop;

/* A loop over listen_fd (listening, non-blocking; the loop closes it) with
 * api's routes; NULL without memory or a pipe. One per process: loop_stop
 * reaches it from a signal handler. */
srv_loop *loop_new(int listen_fd, const srv_ctx *api);
/* Hands an answered job back to the loop (the queue's `done`; any thread). */
void loop_post(void *loop, job *j);
/* Answers requests until loop_stop, then stops accepting, finishes what is
 * in flight and returns. */
void loop_run(srv_loop *l);
/* Async-signal-safe: asks the running loop to drain and return. */
void loop_stop(void);
/* Closes every connection (answers still to come are dropped). */
void loop_close_conns(srv_loop *l);
/* Closes what is left and frees the answers nobody waits for. */
void loop_free(srv_loop *l);

/* ---- the status page (serve_status.c) ---- */

/* The HTML status page: inline SVG, no script, no external asset. */
void status_page(const srv_ctx *s, strbuf *out);

#endif
