/*
 * serve_answer.c - embeddings into the answer of the API a request came
 * to: TEI's list of vectors, OpenAI's list object (float or base64 bytes,
 * "dimensions"), Cohere's embeddings by type, /similarity's cosines, and the
 * chunks of chunked texts with their byte spans.
 */
#include <math.h>
#include <stdio.h>
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

static void put_base64(strbuf *b, const float *v, int d) {
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const size_t n = (size_t)d * 4;
    unsigned char bytes[4];
    uint32_t acc = 0;
    int have = 0;
    sb_add(b, "\"", 1);
    for (size_t i = 0; i < n; i++) {
        if (i % 4 == 0) { /* little-endian float32, as OpenAI's base64 embeddings are */
            uint32_t u;
            memcpy(&u, &v[i / 4], 4);
            for (int k = 0; k < 4; k++) bytes[k] = (unsigned char)(u >> (8 * k));
        }
        acc = (acc << 8) | bytes[i % 4];
        if (++have == 3) {
            char out[4] = {tab[(acc >> 18) & 63], tab[(acc >> 12) & 63], tab[(acc >> 6) & 63], tab[acc & 63]};
            sb_add(b, out, 4);
            acc = 0;
            have = 0;
        }
    }
    if (have) {
        acc <<= 8 * (3 - have);
        char out[4] = {tab[(acc >> 18) & 63], tab[(acc >> 12) & 63], have == 2 ? tab[(acc >> 6) & 63] : '=', '='};
        sb_add(b, out, 4);
    }
    sb_add(b, "\"", 1);
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
    sb_printf(b, "{\"id\":\"%s\",\"embeddings\":{\"float\":[", id);
    for (size_t i = 0; i < j->n; i++) {
        if (i) sb_add(b, ",", 1);
        put_vector(b, out + i * (size_t)dim, dim);
    }
    sb_puts(b, "]},\"texts\":[");
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
            put_vector(b, v, dim);
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
        if (j->base64) put_base64(b, v, d);
        else put_vector(b, v, d);
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
            if (j->base64) put_base64(b, out, d);
            else put_vector(b, out, d);
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
