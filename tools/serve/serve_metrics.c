/*
 * serve_metrics.c - the server's Prometheus metrics: requests by route and
 * status, request latency, batch sizes in texts and tokens, queue depth,
 * texts and tokens embedded, reloads, and per-model load, warmup and
 * residency read from the registry when scraped; and the last minutes'
 * requests and latency second by second, for the status page. One mutex;
 * every update is a few additions.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "registry_json.h"
#include "serve.h"

#define MAX_SERIES 96

static const double latency_bounds[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
static const double batch_bounds[] = {1, 2, 4, 8, 16, 32, 64, 128, 256};
static const double token_bounds[] = {16, 64, 256, 512, 1024, 2048, 4096, 8192, 16384};
#define N_LAT (sizeof latency_bounds / sizeof *latency_bounds)
#define N_BATCH (sizeof batch_bounds / sizeof *batch_bounds)
#define N_TOK (sizeof token_bounds / sizeof *token_bounds)

typedef struct histogram {
    const double *bounds;
    size_t n_bounds;
    uint64_t counts[16];    /* per bucket (not cumulative); the last is +Inf */
    double sum;
    uint64_t count;
} histogram;

typedef struct series {
    const char *route;      /* a static label */
    int code;
    uint64_t count;
} series;

/* Requests answered in one second of the monotonic clock. */
typedef struct second {
    long t;
    uint64_t count;
    double latency_sum;
} second;

struct srv_metrics {
    pthread_mutex_t mu;
    second recent[METRICS_HISTORY]; /* ring: second t at t % METRICS_HISTORY */
    series requests[MAX_SERIES];
    size_t n_requests;
    histogram latency, batch_texts, batch_tokens;
    long queue_depth;
    uint64_t texts, tokens, reloads_ok, reloads_failed;
};

srv_metrics *metrics_new(void) {
    srv_metrics *m = calloc(1, sizeof *m);
    if (!m) return NULL;
    pthread_mutex_init(&m->mu, NULL);
    m->latency = (histogram){.bounds = latency_bounds, .n_bounds = N_LAT};
    m->batch_texts = (histogram){.bounds = batch_bounds, .n_bounds = N_BATCH};
    m->batch_tokens = (histogram){.bounds = token_bounds, .n_bounds = N_TOK};
    return m;
}

void metrics_free(srv_metrics *m) {
    if (!m) return;
    pthread_mutex_destroy(&m->mu);
    free(m);
}

static void observe(histogram *h, double v) {
    size_t b = 0;
    while (b < h->n_bounds && v > h->bounds[b]) b++;
    h->counts[b]++;
    h->sum += v;
    h->count++;
}

static long now_s(void) { return (long)cli_now_s(); } /* the second metrics are counted in */

void metrics_request(srv_metrics *m, const char *route, int status, double seconds) {
    long t = now_s();
    pthread_mutex_lock(&m->mu);
    second *sec = &m->recent[t % METRICS_HISTORY];
    if (sec->t != t) *sec = (second){t, 0, 0};
    sec->count++;
    sec->latency_sum += seconds;
    size_t i = 0;
    while (i < m->n_requests && !(m->requests[i].route == route && m->requests[i].code == status)) i++;
    if (i == m->n_requests && i < MAX_SERIES) m->requests[m->n_requests++] = (series){route, status, 0};
    if (i < MAX_SERIES) m->requests[i].count++;
    observe(&m->latency, seconds);
    pthread_mutex_unlock(&m->mu);
}

void metrics_batch(srv_metrics *m, size_t texts, size_t tokens) {
    pthread_mutex_lock(&m->mu);
    observe(&m->batch_texts, (double)texts);
    observe(&m->batch_tokens, (double)tokens);
    m->texts += texts;
    m->tokens += tokens;
    pthread_mutex_unlock(&m->mu);
}

void metrics_queue_depth(srv_metrics *m, long delta) {
    pthread_mutex_lock(&m->mu);
    m->queue_depth += delta;
    pthread_mutex_unlock(&m->mu);
}

void metrics_reload(srv_metrics *m, int ok) {
    pthread_mutex_lock(&m->mu);
    if (ok) m->reloads_ok++;
    else m->reloads_failed++;
    pthread_mutex_unlock(&m->mu);
}

/* The bound of the bucket holding quantile q (0 when empty; the last finite bound for +Inf). */
static double quantile(const histogram *h, double q) {
    if (!h->count) return 0;
    uint64_t want = (uint64_t)(q * (double)h->count), cum = 0;
    for (size_t b = 0; b < h->n_bounds; b++)
        if ((cum += h->counts[b]) > want) return h->bounds[b];
    return h->bounds[h->n_bounds - 1];
}

void metrics_view(srv_metrics *m, metrics_snapshot *out) {
    long t = now_s();
    memset(out, 0, sizeof *out);
    pthread_mutex_lock(&m->mu);
    for (int i = 0; i < METRICS_HISTORY; i++) { /* oldest first; the current second is still filling */
        long s = t - METRICS_HISTORY + i;
        const second *sec = &m->recent[((s % METRICS_HISTORY) + METRICS_HISTORY) % METRICS_HISTORY];
        if (s < 0 || sec->t != s) continue;
        out->per_second[i] = (double)sec->count;
        out->latency_ms[i] = sec->count ? 1e3 * sec->latency_sum / (double)sec->count : 0;
    }
    out->requests = m->latency.count;
    out->mean_ms = m->latency.count ? 1e3 * m->latency.sum / (double)m->latency.count : 0;
    out->p50_ms = 1e3 * quantile(&m->latency, 0.5);
    out->p99_ms = 1e3 * quantile(&m->latency, 0.99);
    out->texts = m->texts;
    out->tokens = m->tokens;
    out->queue_depth = m->queue_depth;
    pthread_mutex_unlock(&m->mu);
}

static void render_histogram(strbuf *o, const char *name, const char *help, const histogram *h) {
    sb_printf(o, "# HELP %s %s\n# TYPE %s histogram\n", name, help, name);
    uint64_t cum = 0;
    for (size_t b = 0; b < h->n_bounds; b++) {
        cum += h->counts[b];
        sb_printf(o, "%s_bucket{le=\"%g\"} %llu\n", name, h->bounds[b], (unsigned long long)cum);
    }
    cum += h->counts[h->n_bounds];
    sb_printf(o, "%s_bucket{le=\"+Inf\"} %llu\n%s_sum %.9g\n%s_count %llu\n", name, (unsigned long long)cum, name, h->sum,
              name, (unsigned long long)h->count);
}

static void counter(strbuf *o, const char *name, const char *help, uint64_t v) {
    sb_printf(o, "# HELP %s %s\n# TYPE %s counter\n%s %llu\n", name, help, name, name, (unsigned long long)v);
}

/* Model names are label values: escape backslash, quote and newline. */
static void label(strbuf *o, const char *v) {
    for (; *v; v++) {
        if (*v == '\\' || *v == '"') sb_printf(o, "\\%c", *v);
        else if (*v == '\n') sb_puts(o, "\\n");
        else sb_add(o, v, 1);
    }
}

typedef struct model_gauge {
    const char *name, *help, *type;
} model_gauge;

/* The result cache's counts, when there is one. */
static void render_cache(strbuf *o, srv_cache *cache) {
    cache_counts c;
    if (!cache) return;
    cache_stats(cache, &c);
    counter(o, "tinyembed_cache_hits_total", "Texts answered from the result cache.", c.hits);
    counter(o, "tinyembed_cache_misses_total", "Texts the result cache did not hold.", c.misses);
    counter(o, "tinyembed_cache_evictions_total", "Entries dropped to make room (least recently used).", c.evictions);
    sb_printf(o, "# HELP tinyembed_cache_bytes Bytes the result cache holds, of --cache-mb.\n"
                 "# TYPE tinyembed_cache_bytes gauge\ntinyembed_cache_bytes %zu\n"
                 "# HELP tinyembed_cache_entries Texts the result cache holds.\n"
                 "# TYPE tinyembed_cache_entries gauge\ntinyembed_cache_entries %zu\n", c.bytes, c.entries);
}

void metrics_render(srv_metrics *m, te_registry *r, srv_cache *cache, strbuf *o) {
    render_cache(o, cache);
    pthread_mutex_lock(&m->mu);
    sb_puts(o, "# HELP tinyembed_http_requests_total HTTP requests answered, by route and status code.\n"
               "# TYPE tinyembed_http_requests_total counter\n");
    for (size_t i = 0; i < m->n_requests; i++)
        sb_printf(o, "tinyembed_http_requests_total{route=\"%s\",code=\"%d\"} %llu\n", m->requests[i].route,
                  m->requests[i].code, (unsigned long long)m->requests[i].count);
    render_histogram(o, "tinyembed_http_request_duration_seconds", "Time from a complete request to its answer.", &m->latency);
    render_histogram(o, "tinyembed_batch_size", "Texts per forward pass.", &m->batch_texts);
    render_histogram(o, "tinyembed_batch_tokens", "Tokens per forward pass.", &m->batch_tokens);
    sb_printf(o, "# HELP tinyembed_queue_depth Texts waiting for a worker.\n# TYPE tinyembed_queue_depth gauge\n"
                 "tinyembed_queue_depth %ld\n", m->queue_depth);
    counter(o, "tinyembed_texts_embedded_total", "Texts embedded.", m->texts);
    counter(o, "tinyembed_tokens_embedded_total", "Tokens embedded (after truncation).", m->tokens);
    sb_puts(o, "# HELP tinyembed_reloads_total Reloads requested through /admin/reload, per model, by result.\n"
               "# TYPE tinyembed_reloads_total counter\n");
    sb_printf(o, "tinyembed_reloads_total{result=\"ok\"} %llu\ntinyembed_reloads_total{result=\"failed\"} %llu\n",
              (unsigned long long)m->reloads_ok, (unsigned long long)m->reloads_failed);
    pthread_mutex_unlock(&m->mu);

    static const model_gauge g[] = {
        {"tinyembed_model_ready", "1 when the model serves (loaded and warmed up as configured).", "gauge"},
        {"tinyembed_model_load_seconds", "Opening to fully read, for the current version.", "gauge"},
        {"tinyembed_model_warmup_seconds", "Warmup of the current version.", "gauge"},
        {"tinyembed_model_resident_bytes", "Bytes of the model file in the page cache.", "gauge"},
        {"tinyembed_model_file_bytes", "Bytes of the model file.", "gauge"},
        {"tinyembed_model_reloads_total", "Successful reloads.", "counter"},
        {"tinyembed_model_calls_total", "Requests the model served (for itself or as a fallback).", "counter"},
    };
    size_t n;
    te_reg_status *st = registry_statuses(r, &n);
    if (!st) { o->failed = 1; return; }
    for (size_t k = 0; k < sizeof g / sizeof *g; k++) {
        sb_printf(o, "# HELP %s %s\n# TYPE %s %s\n", g[k].name, g[k].help, g[k].name, g[k].type);
        for (size_t i = 0; i < n; i++) {
            const te_reg_status *s = &st[i];
            double v[] = {s->state == TE_REG_READY, s->load_ms / 1e3, s->warmup_ms / 1e3, (double)s->resident_bytes,
                          (double)s->file_bytes, (double)s->reloads, (double)s->calls};
            sb_printf(o, "%s{model=\"", g[k].name);
            label(o, s->name);
            sb_printf(o, "\"} %.9g\n", v[k]);
        }
    }
    free(st);
}
