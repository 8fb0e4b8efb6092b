/*
 * serve_tokens.c - what the server answers from the tokenizer and the
 * model's header alone: TEI's /tokenize (every token with its id, its text,
 * whether the template added it, and its byte span in the input), /decode
 * and /info.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chunk.h"
#include "registry_json.h"
#include "serve.h"

/* One text's tokens as TEI lists them: special tokens have no span. */
static int answer_tokens(job *j, const te_model *m, size_t i, int32_t **ids, te_span **spans) {
    te_error err;
    size_t n = 0;
    te_status st = tok_all(m, j->texts[i], j->lens[i], j->special, ids, spans, &n, &err);
    if (st != TE_OK) {
        fail_job(j, st == TE_ERR_NOMEM ? 500 : 400, "validation", te_errmsg(&err));
        return 0;
    }
    strbuf *b = &j->body;
    sb_puts(b, i ? ",[" : "[");
    for (size_t t = 0; t < n; t++) {
        te_span sp = (*spans)[t];
        int special = sp.start == TE_SPAN_NONE;
        size_t len = 0;
        const char *text = special ? te_token_text(m, (*ids)[t], &len) : j->texts[i] + sp.start;
        if (!special) len = sp.end - sp.start;
        sb_printf(b, "%s{\"id\":%ld,\"text\":", t ? "," : "", (long)(*ids)[t]);
        sb_json_str(b, text ? text : "", text ? len : 0);
        if (special) sb_puts(b, ",\"special\":true,\"start\":null,\"stop\":null}");
        else sb_printf(b, ",\"special\":false,\"start\":%u,\"stop\":%u}", sp.start, sp.end);
    }
    sb_add(b, "]", 1);
    j->tokens += n;
    return 1;
}

static void run_tokenize(job *j, const te_model *m) {
    int32_t *ids = NULL;
    te_span *spans = NULL;
    if (!j->texts) {
        fail_job(j, 400, "validation", "/tokenize takes texts, not token ids");
        return;
    }
    if (!job_apply_prompt(j, m)) return;
    sb_add(&j->body, "[", 1);
    int ok = 1;
    for (size_t i = 0; i < j->n && ok; i++) ok = answer_tokens(j, m, i, &ids, &spans);
    sb_add(&j->body, "]", 1);
    if (ok) j->status = 200;
    free(ids);
    free(spans);
}

static void run_decode(job *j, const te_model *m) {
    te_error err;
    size_t cap = 256, len = 0;
    char *text = malloc(cap);
    sb_add(&j->body, "[", 1);
    for (size_t i = 0; i < j->n && text; i++) {
        te_status st = te_decode(m, j->ids[i], j->n_ids[i], j->special, text, cap, &len, &err);
        if (st == TE_OK && len >= cap) { /* too small: once more with room for all of it */
            char *t2 = realloc(text, len + 1);
            if (!t2) break;
            text = t2;
            cap = len + 1;
            st = te_decode(m, j->ids[i], j->n_ids[i], j->special, text, cap, &len, &err);
        }
        if (st != TE_OK) {
            fail_job(j, 400, "validation", te_errmsg(&err));
            free(text);
            return;
        }
        if (i) sb_add(&j->body, ",", 1);
        sb_json_str(&j->body, text, len);
        j->tokens += j->n_ids[i];
    }
    sb_add(&j->body, "]", 1);
    if (text) j->status = 200;
    else fail_job(j, 500, "server_error", "out of memory");
    free(text);
}

/* {"0": "label", ...} and {"label": 0, ...}: TEI's classifier and reranker model_type. */
static void put_labels(strbuf *b, const te_model_info *in) {
    sb_puts(b, "{\"id2label\":{");
    for (int k = 0; k < in->num_labels; k++) {
        const char *l = in->labels ? in->labels[k] : "";
        sb_printf(b, "%s\"%d\":", k ? "," : "", k);
        sb_json_str(b, l, strlen(l));
    }
    sb_puts(b, "},\"label2id\":{");
    for (int k = 0; k < in->num_labels; k++) {
        const char *l = in->labels ? in->labels[k] : "";
        sb_puts(b, k ? "," : "");
        sb_json_str(b, l, strlen(l));
        sb_printf(b, ":%d", k);
    }
    sb_puts(b, "}}");
}

/* "output_range": the int8 / uint8 range (te_embedding_quantize), or null. */
static void put_range(strbuf *b, const te_model_info *in) {
    sb_puts(b, ",\"output_range\":");
    if (!in->output_range) {
        sb_puts(b, "null");
        return;
    }
    sb_printf(b, "{\"texts\":%d", in->output_range_texts);
    for (int row = 0; row < 2; row++) {
        sb_puts(b, row ? "],\"max\":[" : ",\"min\":[");
        for (int d = 0; d < in->hidden_size; d++) {
            if (d) sb_add(b, ",", 1);
            sb_float(b, in->output_range[row * in->hidden_size + d]);
        }
    }
    sb_puts(b, "]}");
}

/* TEI's /info, and what only tinyembed has under "tinyembed". */
static void run_info(job *j, const te_ctx *ctx, const te_model *m, const srv_config *cfg) {
    te_model_info in;
    te_model_get_info(m, &in);
    strbuf *b = &j->body;
    sb_puts(b, "{\"model_id\":");
    sb_json_str(b, j->model, strlen(j->model));
    sb_printf(b, ",\"model_sha\":null,\"model_dtype\":\"%s\",\"model_type\":{",
              in.dtype == TE_DTYPE_F16 ? "float16" : in.dtype == TE_DTYPE_BF16 ? "bfloat16"
              : in.dtype == TE_DTYPE_I8 ? "int8" : "float32");
    if (in.kind == TE_KIND_EMBEDDING) sb_printf(b, "\"embedding\":{\"pooling\":\"%s\"}}", te_pooling_name(in.pooling));
    else {
        sb_printf(b, "\"%s\":", in.kind == TE_KIND_RERANKER ? "reranker" : "classifier");
        put_labels(b, &in);
        sb_puts(b, "}");
    }
    sb_printf(b, ",\"max_concurrent_requests\":%zu,\"max_input_length\":%d,\"max_batch_tokens\":%zu,"
              "\"max_batch_requests\":null,\"max_client_batch_size\":%zu,\"auto_truncate\":%s,"
              "\"tokenization_workers\":%d,\"version\":\"tinyembed %s\",\"sha\":null,\"docker_label\":null",
              cfg->max_queue, in.max_seq_length, (size_t)te_ctx_max_batch_tokens(ctx), cfg->max_batch,
              cfg->auto_truncate ? "true" : "false", cfg->workers, TE_VERSION_STRING);
    sb_printf(b, ",\"tinyembed\":{\"kind\":\"%s\",\"dimension\":%d,\"normalize\":%s,\"fingerprint\":\"%08x\","
              "\"default_prompt_name\":", te_kind_name(in.kind), in.hidden_size, in.normalize ? "true" : "false",
              (unsigned)in.fingerprint);
    json_str_or_null(b, in.default_prompt_name);
    sb_puts(b, ",\"prompts\":{");
    for (int p = 0; p < te_model_n_prompts(m); p++) {
        const char *name = "", *text = "";
        te_model_prompt(m, p, &name, &text);
        sb_puts(b, p ? "," : "");
        sb_json_str(b, name, strlen(name));
        sb_add(b, ":", 1);
        sb_json_str(b, text, strlen(text));
    }
    sb_puts(b, "}");
    put_range(b, &in);
    sb_puts(b, "}}");
    j->status = 200;
}

void run_tokens(const te_ctx *ctx, const te_model *m, const srv_config *cfg, job *j) {
    if (j->kind == JOB_TOKENIZE) run_tokenize(j, m);
    else if (j->kind == JOB_DECODE) run_decode(j, m);
    else run_info(j, ctx, m, cfg);
}
