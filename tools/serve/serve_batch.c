/*
 * serve_batch.c - dynamic batching: requests from every connection wait in
 * one queue; a worker takes the oldest job and every other queued job for
 * the same model (up to max_batch_texts texts) and runs them as one
 * te_embed_tokens call, so 64 clients sending one text each share forward
 * passes instead of taking turns. Jobs are taken oldest first, so a big
 * request delays the others by at most one batch and cannot starve them.
 *
 * Each worker keeps, per model name, a registry reference and a context
 * made from it, renewed when the registry says the model was reloaded, so
 * a reload never stalls a batch and old versions close once their last
 * worker moves on.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chunk.h"
#include "serve.h"

#define MAX_WORKER_MODELS 32

struct srv_queue {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    job *head, *tail;
    size_t texts_waiting;
    int stopping;
    pthread_t *threads;
    int n_threads;
    te_registry *reg;
    const srv_config *cfg;
    srv_metrics *metrics;
    srv_cache *cache;         /* NULL: no result cache */
    void (*done)(void *, job *);
    void *user;
};

typedef struct worker_model {
    char name[128];
    te_model_ref ref;
    te_ctx *ctx;
} worker_model;

/* A buffer that only grows: a worker reuses its batch buffers, so a busy
 * server does not churn the allocator (and its RSS stays put). */
typedef struct grow_buf {
    void *p;
    size_t cap;           /* bytes */
} grow_buf;

/* Where a sequence of the batch came from: its text's slot in the answers and, to cache
 * its vector, the text (NULL for token ids) and how it was cut (0: it was not). */
typedef struct seq_src {
    size_t slot;
    const char *text;
    size_t len;
    unsigned flags;
} seq_src;

typedef struct worker {
    srv_queue *q;
    worker_model models[MAX_WORKER_MODELS];
    int n_models;
    grow_buf ids, seq, lens, first, out, vecs, src;
} worker;

/* A batch's buffers (the worker's, grown to its size). */
typedef struct batch_bufs {
    int32_t *ids;             /* [texts][max + 1] */
    const int32_t **seq;      /* [texts]: the sequences to embed */
    size_t *lens, *first;     /* [texts], [jobs]: job k's answers start at slot first[k] */
    float *out;               /* [texts][hidden]: the answers, by slot */
    seq_src *src;             /* [texts] */
} batch_bufs;

static void *grow(grow_buf *b, size_t n, size_t size) {
    if (size && n > ((size_t)-1) / size) return NULL;
    if (n * size <= b->cap && b->p) return b->p;
    size_t cap = n * size > b->cap * 2 ? n * size : b->cap * 2;
    void *p = realloc(b->p, cap ? cap : 1);
    if (!p) return NULL;
    b->p = p;
    b->cap = cap;
    return p;
}

/* The worker's context for `name`, renewed after a reload. */
static worker_model *model_for(worker *w, const char *name, te_error *err) {
    worker_model *wm = NULL;
    for (int i = 0; i < w->n_models && !wm; i++)
        if (strcmp(w->models[i].name, name) == 0) wm = &w->models[i];
    if (!wm) {
        if (w->n_models == MAX_WORKER_MODELS) { /* many models: recycle the first slot */
            te_ctx_free(w->models[0].ctx);
            te_registry_release(w->q->reg, &w->models[0].ref);
            memmove(&w->models[0], &w->models[1], sizeof w->models[0] * (MAX_WORKER_MODELS - 1));
            w->n_models--;
        }
        wm = &w->models[w->n_models++];
        memset(wm, 0, sizeof *wm);
        snprintf(wm->name, sizeof wm->name, "%s", name);
    }
    if (wm->ref.model && te_registry_is_current(w->q->reg, &wm->ref)) return wm;
    te_ctx_free(wm->ctx);
    wm->ctx = NULL;
    te_registry_release(w->q->reg, &wm->ref);
    if (te_registry_get(w->q->reg, name, &wm->ref, err) != TE_OK) return NULL;
    te_ctx_opts o = {.threads = w->q->cfg->threads};
    wm->ctx = te_ctx_new(wm->ref.model, &o, err);
    if (!wm->ctx) {
        te_registry_release(w->q->reg, &wm->ref);
        return NULL;
    }
    return wm;
}

/* Tokens of input i of j into dst (room for max + 1): a text is truncated
 * to max when the job allows, a token-id list must fit. Returns the count,
 * or 0 after failing the job. */
static size_t input_ids(job *j, size_t i, const te_model *m, size_t max, int32_t vocab, int32_t sep, int32_t *dst,
                        int *cut) {
    size_t n = 0;
    te_error err;
    if (j->ids) {
        n = j->n_ids[i];
        for (size_t k = 0; k < n; k++)
            if (j->ids[i][k] < 0 || j->ids[i][k] >= vocab) {
                char msg[160];
                snprintf(msg, sizeof msg, "input %zu: token id %ld is outside the model's vocabulary (0 to %ld)", i,
                         (long)j->ids[i][k], (long)vocab - 1);
                fail_job(j, 400, "invalid_request_error", msg);
                return 0;
            }
        if (n > max) { /* the caller tokenized: too many ids is its error, not text to cut */
            char msg[160];
            snprintf(msg, sizeof msg, "input %zu has %zu token ids, more than the model's limit of %zu", i, n, max);
            fail_job(j, 400, "invalid_request_error", msg);
            return 0;
        }
        memcpy(dst, j->ids[i], n * sizeof *dst);
    } else {
        if (te_tokenize(m, j->texts[i], j->lens[i], dst, max + 1, &n, &err) != TE_OK) {
            fail_job(j, 400, "invalid_request_error", te_errmsg(&err));
            return 0;
        }
        /* One id too many tells the text is too long. te_tokenize truncates by
         * keeping a prefix of the pieces and closing with [SEP], so the cut
         * to max is that prefix one piece shorter: no second tokenization.
         * Keeping the end instead takes a whole tokenization. */
        *cut = n > max;
        if (n > max && j->truncate && j->truncate_left) {
            if (tok_keep_end(m, j->texts[i], j->lens[i], dst, max, &n, &err) != TE_OK) {
                fail_job(j, err.code == TE_ERR_NOMEM ? 500 : 400, "invalid_request_error", te_errmsg(&err));
                return 0;
            }
        } else if (n > max && j->truncate) {
            n = max;
            dst[max - 1] = sep;
        }
    }
    if (n > max) {
        char msg[160];
        snprintf(msg, sizeof msg, "input %zu is longer than the model's limit of %zu tokens (truncation was not asked for)",
                 i, max);
        fail_job(j, 422, "validation", msg);
        return 0;
    }
    return n;
}

/* A job that is not a batch of embeddings: scores, chunked texts, bge-m3's outputs, token states, the tokenizer. */
static void run_alone(worker *w, worker_model *wm, job *j) {
    size_t tokens = 0;
    if (j->kind == JOB_TOKENIZE || j->kind == JOB_DECODE || j->kind == JOB_INFO) run_tokens(wm->ctx, wm->ref.model, w->q->cfg, j);
    else if (j->kind == JOB_PREDICT || j->kind == JOB_RERANK) tokens = run_scoring(wm->ctx, wm->ref.model, j);
    else if (j->kind == JOB_CHUNKS) tokens = run_chunks(wm->ctx, wm->ref.model, j);
    else tokens = run_multi(wm->ctx, wm->ref.model, j);
    if (tokens) metrics_batch(w->q->metrics, j->n, tokens);
}

/* Refuses what a job asks of this model that it cannot give, puts the prompt in front of
 * the texts of the others; returns the batch's texts. */
static size_t check_jobs(job **batch, size_t n_jobs, const te_model *m, const te_model_info *in) {
    size_t total = 0;
    for (size_t k = 0; k < n_jobs; k++) {
        total += batch[k]->n;
        if (batch[k]->api == API_TEI && !batch[k]->normalize && in->normalize)
            fail_job(batch[k], 422, "validation",
                     "this model L2-normalizes its output (a Normalize module in its sentence-transformers config); "
                     "\"normalize\": false is not available for it");
        else if (job_check_output(batch[k], m, in))
            job_apply_prompt(batch[k], m);
    }
    return total;
}

/* The cache key's flags of a job's texts: how the job cuts those too long. */
static unsigned cache_flags(const job *j) {
    return (j->truncate ? CACHE_TRUNCATE : 0) | (j->truncate_left ? CACHE_KEEP_END : 0);
}

/* Every text of the batch's live jobs gets slot first[k] + i of out: from the
 * cache when it holds it, else as a sequence to embed (seq, lens, src).
 * Returns the sequences. */
static size_t gather(worker *w, job **batch, size_t n_jobs, const te_model *m, const te_model_info *in,
                     batch_bufs *b) {
    size_t max = (size_t)in->max_seq_length, H = (size_t)in->hidden_size, n_seq = 0, at = 0;
    srv_cache *cache = w->q->cache;
    for (size_t k = 0; k < n_jobs; at += batch[k]->n, k++) {
        job *j = batch[k];
        b->first[k] = at;
        for (size_t i = 0, start = n_seq, t; i < j->n && !j->status; i++) {
            const char *text = j->texts ? j->texts[i] : NULL;
            if (cache && text && cache_get(cache, in->fingerprint, cache_flags(j), text, j->lens[i], b->out + (at + i) * H,
                                           (int)H, &t)) {
                j->tokens += t;
                continue;
            }
            int32_t *dst = b->ids + n_seq * (max + 1);
            int cut = 0;
            size_t n = input_ids(j, i, m, max, in->vocab_size, in->tokenizer.sep_id, dst, &cut);
            if (n == 0) {
                n_seq = start; /* drop this job's sequences */
                break;
            }
            b->seq[n_seq] = dst;
            b->lens[n_seq] = n;
            b->src[n_seq++] = (seq_src){at + i, text, text ? j->lens[i] : 0, cut ? cache_flags(j) : 0};
            j->tokens += n;
        }
    }
    return n_seq;
}

/* Runs a batch of jobs for one model as one forward-pass call. */
static void run_batch(worker *w, job **batch, size_t n_jobs) {
    te_error err;
    worker_model *wm = model_for(w, batch[0]->model, &err);
    if (!wm) {
        for (size_t k = 0; k < n_jobs; k++) fail_job(batch[k], 424, "model_error", te_errmsg(&err));
        return;
    }
    te_model_info in;
    te_model_get_info(wm->ref.model, &in);
    if (batch[0]->kind != JOB_EMBED) { /* other jobs run alone (worker_main does not group them) */
        run_alone(w, wm, batch[0]);
        return;
    }
    if (in.kind != TE_KIND_EMBEDDING) {
        char msg[300];
        snprintf(msg, sizeof msg, "model '%s' is a %s, not an embedding model: use POST %s", batch[0]->model,
                 te_kind_name(in.kind), in.kind == TE_KIND_RERANKER ? "/rerank" : "/predict");
        for (size_t k = 0; k < n_jobs; k++) fail_job(batch[k], 400, "invalid_request_error", msg);
        return;
    }
    size_t total = check_jobs(batch, n_jobs, wm->ref.model, &in);
    size_t max = (size_t)in.max_seq_length, H = (size_t)in.hidden_size;
    int32_t *ids = grow(&w->ids, total * (max + 1), sizeof *ids);
    const int32_t **seq = grow(&w->seq, total, sizeof *seq);
    size_t *lens = grow(&w->lens, total, sizeof *lens), *first = grow(&w->first, n_jobs, sizeof *first);
    float *out = grow(&w->out, total * H, sizeof *out), *vecs = grow(&w->vecs, total * H, sizeof *vecs);
    seq_src *src = grow(&w->src, total, sizeof *src);
    if (!ids || !seq || !lens || !first || !out || !vecs || !src) {
        for (size_t k = 0; k < n_jobs; k++) fail_job(batch[k], 500, "server_error", "out of memory");
        return;
    }
    batch_bufs bb = {ids, seq, lens, first, out, src};
    size_t n_seq = gather(w, batch, n_jobs, wm->ref.model, &in, &bb), tokens = 0;
    if (n_seq && te_embed_tokens(wm->ctx, seq, lens, n_seq, vecs, &err) != TE_OK) {
        for (size_t k = 0; k < n_jobs; k++)
            if (!batch[k]->status) fail_job(batch[k], 400, "invalid_request_error", te_errmsg(&err));
        return;
    }
    for (size_t q = 0; q < n_seq; q++) { /* each vector to its text's place, and into the cache */
        memcpy(out + src[q].slot * H, vecs + q * H, H * sizeof *out);
        if (w->q->cache && src[q].text)
            cache_put(w->q->cache, in.fingerprint, src[q].flags, src[q].text, src[q].len, vecs + q * H, (int)H, lens[q]);
        tokens += lens[q];
    }
    if (n_seq) metrics_batch(w->q->metrics, n_seq, tokens);
    for (size_t k = 0; k < n_jobs; k++)
        if (!batch[k]->status) answer_embeddings(batch[k], out + first[k] * H, (int)H, in.normalize);
}

static void *worker_main(void *arg) {
    worker *w = arg;
    srv_queue *q = w->q;
    size_t cap = q->cfg->max_batch_texts > q->cfg->max_batch ? q->cfg->max_batch_texts : q->cfg->max_batch;
    job **batch = malloc(cap * sizeof *batch);
    for (;;) {
        pthread_mutex_lock(&q->mu);
        while (!q->head && !q->stopping) pthread_cond_wait(&q->cv, &q->mu);
        if (!q->head) {
            pthread_mutex_unlock(&q->mu);
            break;
        }
        /* The oldest job, then every queued job for the same model that fits. */
        job *j0 = q->head, **link = &q->head;
        q->head = j0->next;
        size_t n_jobs = 0, texts = j0->n;
        if (batch) batch[n_jobs++] = j0;
        job *last = NULL;
        for (job *j = q->head; j && batch;) {
            job *next = j->next;
            if (n_jobs < cap && j0->kind == JOB_EMBED && j->kind == JOB_EMBED && strcmp(j->model, j0->model) == 0 &&
                texts + j->n <= cap) {
                *link = next;
                batch[n_jobs++] = j;
                texts += j->n;
            } else {
                link = &j->next;
                last = j;
            }
            j = next;
        }
        q->tail = last;
        q->texts_waiting -= texts;
        pthread_mutex_unlock(&q->mu);
        metrics_queue_depth(q->metrics, -(long)texts);
        if (!batch) {
            fail_job(j0, 500, "server_error", "out of memory");
            q->done(q->user, j0);
            continue;
        }
        run_batch(w, batch, n_jobs);
        for (size_t k = 0; k < n_jobs; k++) q->done(q->user, batch[k]);
    }
    free(batch);
    free(w->ids.p);
    free(w->seq.p);
    free(w->lens.p);
    free(w->first.p);
    free(w->out.p);
    free(w->vecs.p);
    free(w->src.p);
    for (int i = 0; i < w->n_models; i++) {
        te_ctx_free(w->models[i].ctx);
        te_registry_release(q->reg, &w->models[i].ref);
    }
    free(w);
    return NULL;
}

srv_queue *queue_new(te_registry *r, const srv_config *cfg, srv_metrics *m, srv_cache *cache,
                     void (*done)(void *, job *), void *user) {
    srv_queue *q = calloc(1, sizeof *q);
    if (!q || !(q->threads = calloc((size_t)cfg->workers, sizeof *q->threads))) {
        free(q);
        return NULL;
    }
    pthread_mutex_init(&q->mu, NULL);
    pthread_cond_init(&q->cv, NULL);
    q->reg = r;
    q->cfg = cfg;
    q->metrics = m;
    q->cache = cache;
    q->done = done;
    q->user = user;
    for (int i = 0; i < cfg->workers; i++) {
        worker *w = calloc(1, sizeof *w);
        if (w) w->q = q;
        if (!w || pthread_create(&q->threads[i], NULL, worker_main, w) != 0) {
            free(w);
            queue_free(q);
            return NULL;
        }
        q->n_threads++;
    }
    return q;
}

int queue_push(srv_queue *q, job *j) {
    pthread_mutex_lock(&q->mu);
    if (q->texts_waiting + j->n > q->cfg->max_queue) {
        pthread_mutex_unlock(&q->mu);
        return -1;
    }
    j->next = NULL;
    if (q->tail) q->tail->next = j;
    else q->head = j;
    q->tail = j;
    q->texts_waiting += j->n;
    pthread_cond_signal(&q->cv);
    pthread_mutex_unlock(&q->mu);
    metrics_queue_depth(q->metrics, (long)j->n);
    return 0;
}

void queue_free(srv_queue *q) {
    if (!q) return;
    pthread_mutex_lock(&q->mu);
    q->stopping = 1;
    pthread_cond_broadcast(&q->cv);
    pthread_mutex_unlock(&q->mu);
    for (int i = 0; i < q->n_threads; i++) pthread_join(q->threads[i], NULL);
    pthread_cond_destroy(&q->cv);
    pthread_mutex_destroy(&q->mu);
    free(q->threads);
    free(q);
}
