/*
 * serve_answer.c - embeddings into the answer of the API a request came
 * to: TEI's list of vectors, OpenAI's list object (float or base64 bytes,
 * "dimensions"), Cohere's embeddings by type, /similarity's cosines, and the
 * chunks of chunked texts with their byte spans; each vector as float32 or
 * in a precision of precision.h ("precision": int8, uint8, binary, ubinary).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "serve.h"

static void put_vector(strbuf *b, const float *v, int d) {
    sb_add(b, "[", 1);
    for (int k = 0; k < d; k++) {
        if (k) sb_add(b, ",", 1);
        sb_float(b, v[k]);
    }
    sb_add(b, "]", 1);
}

/* Base64, a byte at a time. */
typedef struct b64 {
    uint32_t acc;
    int have;
} b64;

static const char b64_tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static void b64_put(strbuf *b, b64 *st, unsigned char byte) {
    st->acc = (st->acc << 8) | byte;
    if (++st->have < 3) return;
    uint32_t a = st->acc;
    char out[4] = {b64_tab[(a >> 18) & 63], b64_tab[(a >> 12) & 63], b64_tab[(a >> 6) & 63], b64_tab[a & 63]};
    sb_add(b, out, 4);
    *st = (b64){0, 0};
}

static void b64_end(strbuf *b, b64 *st) {
    if (!st->have) return;
    uint32_t a = st->acc << (8 * (3 - st->have));
    char out[4] = {b64_tab[(a >> 18) & 63], b64_tab[(a >> 12) & 63], st->have == 2 ? b64_tab[(a >> 6) & 63] : '=', '='};
    sb_add(b, out, 4);
}

/* Little-endian float32 bytes, as OpenAI's base64 embeddings are. */
static void put_base64(strbuf *b, const float *v, int d) {
    b64 st = {0, 0};
    sb_add(b, "\"", 1);
    for (int i = 0; i < d; i++) {
        uint32_t u;
        memcpy(&u, &v[i], 4);
        for (int k = 0; k < 4; k++) b64_put(b, &st, (unsigned char)(u >> (8 * k)));
    }
    b64_end(b, &st);
    sb_add(b, "\"", 1);
}

/* int8, uint8, binary or ubinary: as integers, or their bytes in base64. Returns 0 after failing the job. */
static int put_bytes(strbuf *b, job *j, precision p, const float *v, int d) {
    size_t n = precision_bytes(p, (size_t)d);
    uint8_t *bytes = malloc(n);
    te_error err;
    if (!bytes || precision_encode(j->range_model, p, v, (size_t)d, bytes, &err) != TE_OK) {
        fail_job(j, 500, "server_error", bytes ? te_errmsg(&err) : "out of memory");
        free(bytes);
        return 0;
    }
    b64 st = {0, 0};
    sb_add(b, j->base64 ? "\"" : "[", 1);
    for (size_t i = 0; i < n; i++) {
        if (j->base64) b64_put(b, &st, bytes[i]);
        else sb_printf(b, "%s%d", i ? "," : "", precision_value(p, bytes[i]));
    }
    if (j->base64) b64_end(b, &st);
    sb_add(b, j->base64 ? "\"" : "]", 1);
    free(bytes);
    return 1;
}

/* A vector in the precision and encoding the request asked for. Returns 0 after failing the job. */
static int put_embedding(strbuf *b, job *j, precision p, const float *v, int d) {
    if (p != PREC_FLOAT) return put_bytes(b, j, p, v, d);
    if (j->base64) put_base64(b, v, d);
    else put_vector(b, v, d);
    return 1;
}

static void l2_normalize(float *v, int d) {
    double ss = 0;
    for (int k = 0; k < d; k++) ss += (double)v[k] * v[k];
    if (ss <= 0) return;
    float inv = (float)(1.0 / sqrt(ss));
    for (int k = 0; k < d; k++) v[k] *= inv;
}

/* /similarity: the cosine of text 0 with each other text. */
static void answer_similarity(job *j, const float *out, int dim) {
    strbuf *b = &j->body;
    double n0 = 0;
    for (int k = 0; k < dim; k++) n0 += (double)out[k] * out[k];
    sb_add(b, "[", 1);
    for (size_t i = 1; i < j->n; i++) {
        const float *v = out + i * (size_t)dim;
        double dot = 0, ni = 0;
        for (int k = 0; k < dim; k++) {
            dot += (double)out[k] * v[k];
            ni += (double)v[k] * v[k];
        }
        if (i > 1) sb_add(b, ",", 1);
        sb_float(b, n0 > 0 && ni > 0 ? (float)(dot / sqrt(n0 * ni)) : 0.0f);
    }
    sb_add(b, "]", 1);
}

/* Cohere's v2 embed: {"id", "embeddings": {"float": [...]}, "texts", "meta"}; the vectors
 * as the model gives them, as on /v1/embeddings. */
static void answer_cohere(job *j, const float *out, int dim) {
    strbuf *b = &j->body;
    char id[40];
    job_response_id(j, id, sizeof id);
    sb_printf(b, "{\"id\":\"%s\",\"embeddings\":{", id);
    int any = 0;
    for (precision p = PREC_FLOAT; p <= PREC_UBINARY; p++) {
        if (!(j->cohere_types & (1u << p))) continue;
        sb_printf(b, "%s\"%s\":[", any++ ? "," : "", precision_name(p));
        for (size_t i = 0; i < j->n; i++) {
            if (i) sb_add(b, ",", 1);
            if (!put_embedding(b, j, p, out + i * (size_t)dim, dim)) return;
        }
        sb_add(b, "]", 1);
    }
    sb_puts(b, "},\"texts\":[");
    for (size_t i = 0; i < j->n; i++) {
        if (i) sb_add(b, ",", 1);
        sb_json_str(b, j->texts[i] + j->prompt_len, j->lens[i] - j->prompt_len);
    }
    sb_printf(b, "],\"meta\":{\"api_version\":{\"version\":\"2\"},\"billed_units\":{\"input_tokens\":%zu}},"
              "\"response_type\":\"embeddings_by_type\"}", j->tokens);
}

void answer_embeddings(job *j, float *out, int dim, int model_normalizes) {
    strbuf *b = &j->body;
    j->status = 200;
    if (j->similarity) {
        answer_similarity(j, out, dim);
        return;
    }
    if (j->api == API_COHERE) {
        answer_cohere(j, out, dim);
        return;
    }
    if (j->api == API_TEI) {
        sb_add(b, "[", 1);
        for (size_t i = 0; i < j->n; i++) {
            float *v = out + i * (size_t)dim;
            if (j->normalize && !model_normalizes) l2_normalize(v, dim);
            if (i) sb_add(b, ",", 1);
            if (!put_embedding(b, j, j->precision, v, dim)) return;
        }
        sb_add(b, "]", 1);
        return;
    }
    int d = j->dimensions ? j->dimensions : dim;
    sb_puts(b, "{\"object\":\"list\",\"data\":[");
    for (size_t i = 0; i < j->n; i++) {
        float *v = out + i * (size_t)dim;
        if (d < dim) l2_normalize(v, d);
        sb_printf(b, "%s{\"object\":\"embedding\",\"index\":%zu,\"embedding\":", i ? "," : "", i);
        if (!put_embedding(b, j, j->precision, v, d)) return;
        sb_add(b, "}", 1);
    }
    sb_puts(b, "],\"model\":");
    sb_json_str(b, j->model, strlen(j->model));
    sb_printf(b, ",\"usage\":{\"prompt_tokens\":%zu,\"total_tokens\":%zu}}", j->tokens, j->tokens);
}


/* One chunk list per text: {"embedding", "start", "stop"} each, TEI's vectors or OpenAI's. */
void answer_chunks(job *j, float *out, const chunks *c, int dim, int model_normalizes) {
    strbuf *b = &j->body;
    int openai = j->api == API_OPENAI, d = openai && j->dimensions ? j->dimensions : dim;
    j->status = 200;
    sb_puts(b, openai ? "{\"object\":\"list\",\"data\":[" : "[");
    for (size_t i = 0; i < j->n; i++) {
        if (openai) sb_printf(b, "%s{\"object\":\"embedding\",\"index\":%zu,\"chunks\":[", i ? "," : "", i);
        else sb_puts(b, i ? ",[" : "[");
        for (size_t k = 0; k < c[i].n; k++, out += dim) {
            if (d < dim) l2_normalize(out, d);
            else if (!openai && j->normalize && !model_normalizes) l2_normalize(out, dim);
            sb_puts(b, k ? ",{\"embedding\":" : "{\"embedding\":");
            if (!put_embedding(b, j, j->precision, out, d)) return;
            sb_printf(b, ",\"start\":%u,\"stop\":%u}", c[i].span[k].start, c[i].span[k].end);
        }
        sb_puts(b, openai ? "]}" : "]");
    }
    if (!openai) {
        sb_add(b, "]", 1);
        return;
    }
    sb_puts(b, "],\"model\":");
    sb_json_str(b, j->model, strlen(j->model));
    sb_printf(b, ",\"usage\":{\"prompt_tokens\":%zu,\"total_tokens\":%zu}}", j->tokens, j->tokens);
}
