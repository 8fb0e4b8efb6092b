/*
 * cmd_info.c - `tinyembed info MODEL` (metadata, as text or one JSON object)
 * and `tinyembed verify MODEL` (every checksum).
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

static const cli_opt info_opts[] = {
    {"json", 0, NULL, "print one JSON object instead of text"},
    {"tensors", 0, NULL, "also list the tensor directory"},
    {"status", 0, NULL, "print the loading status instead: strategy, readiness, bytes resident per section, machine"},
    {"strategy", 0, "S", "with --status: open with this loading strategy (default: env TE_STRATEGY, else lazy)"},
    {"wait", 0, NULL, "with --status: wait until loading is complete first"},
    {"warmup", 0, NULL, "with --status: run te_warmup first"},
    {NULL, 0, NULL, NULL},
};

static const cli_cmd info_cmd = {
    "info", "[MODEL.temb]",
    "Print a model's metadata: architecture, hyper-parameters, pooling, tokenizer settings.",
    "Reads only the header: no weight is paged in. --status shows what is in memory instead\n"
    "(page-cache residency measured with mincore). Without MODEL: the model bundled in this\n"
    "executable (`tinyembed bundle`).",
    info_opts, 0, 1,
};

static const cli_opt verify_opts[] = {{NULL, 0, NULL, NULL}};

static const cli_cmd verify_cmd = {
    "verify", "[MODEL.temb | INDEX.tidx]",
    "Check the CRC32 of every section and tensor; report the first damaged tensor (or index section).",
    "Without a file: the model bundled in this executable (`tinyembed bundle`).", verify_opts, 0, 1,
};

static const char *onoff(int v) { return v ? "yes" : "no"; }

static const char *layout_name(te_layout l) {
    return l == TE_LAYOUT_PANEL16 ? "panel16" : l == TE_LAYOUT_PANEL16X4 ? "panel16x4" : "rows";
}

/* The model's prompts: name "text", the default marked. */
static void print_prompts(const te_model *m, const te_model_info *in) {
    int n = te_model_n_prompts(m);
    if (n == 0) return;
    printf("prompts:           ");
    for (int i = 0; i < n; i++) {
        const char *name, *text;
        te_model_prompt(m, i, &name, &text);
        printf("%s%s ", i ? ", " : "", name);
        cli_json_str(stdout, text);
        if (in->default_prompt_name && !strcmp(name, in->default_prompt_name)) printf(" (default)");
    }
    putchar('\n');
}

/* The model's outputs (te_embed_multi), comma-separated, each between open and close. */
static void print_outputs(const te_model_info *in, const char *open, const char *close) {
    static const struct { unsigned bit; const char *name; } all[] = {
        {TE_OUTPUT_DENSE, "dense"}, {TE_OUTPUT_SPARSE, "sparse"}, {TE_OUTPUT_COLBERT, "colbert"},
        {TE_OUTPUT_TOKENS, "tokens"}};
    int n = 0;
    for (size_t i = 0; i < sizeof all / sizeof *all; i++)
        if (in->outputs & all[i].bit) printf("%s%s%s%s", n++ ? ", " : "", open, all[i].name, close);
}

/* An embedding model's calibrated output range, in a line: how many texts, and the narrowest and widest dimension. */
static void print_range(const te_model_info *in) {
    if (!in->output_range) {
        printf("int8 range:        none: int8 / uint8 outputs need one (`tinyembed calibrate` adds it)\n");
        return;
    }
    int h = in->hidden_size;
    float narrow = INFINITY, wide = 0;
    for (int d = 0; d < h; d++) {
        float w = in->output_range[h + d] - in->output_range[d];
        narrow = w < narrow ? w : narrow;
        wide = w > wide ? w : wide;
    }
    printf("int8 range:        calibrated on %d texts; each dimension's width %.4g to %.4g (/ 255 per step)\n",
           in->output_range_texts, (double)narrow, (double)wide);
}

/* One row of the output range as a JSON array. */
static void print_floats(const float *v, int n) {
    putchar('[');
    for (int i = 0; i < n; i++) {
        char f[32];
        cli_fmt_float(f, sizeof f, v[i]);
        printf("%s%s", i ? ", " : "", f);
    }
    putchar(']');
}

/* The JSON members for te_embed_multi's outputs, the prompts and the output range. */
static void print_json_extras(const te_model *m, const te_model_info *in) {
    printf("  \"outputs\": [");
    print_outputs(in, "\"", "\"");
    printf("],\n  \"colbert_dim\": %d,\n  \"prompts\": {", in->colbert_dim);
    for (int i = 0; i < te_model_n_prompts(m); i++) {
        const char *name, *text;
        te_model_prompt(m, i, &name, &text);
        printf("%s", i ? ", " : "");
        cli_json_str(stdout, name);
        printf(": ");
        cli_json_str(stdout, text);
    }
    printf("},\n  \"default_prompt_name\": ");
    if (in->default_prompt_name) cli_json_str(stdout, in->default_prompt_name);
    else printf("null");
    printf(",\n  \"output_range\": ");
    if (!in->output_range) {
        printf("null,\n");
        return;
    }
    printf("{\"texts\": %d, \"min\": ", in->output_range_texts);
    print_floats(in->output_range, in->hidden_size);
    printf(", \"max\": ");
    print_floats(in->output_range + in->hidden_size, in->hidden_size);
    printf("},\n");
}

static void print_text(const te_model *m, const te_model_info *in, int tensors) {
    char eps[32];
    cli_fmt_float(eps, sizeof eps, in->layer_norm_eps);
    const te_tokenizer_info *t = &in->tokenizer;
    printf("name:              %s\n", in->name);
    printf("source:            %s\n", in->source);
    printf("converter:         %s (format %d.%d)\n", in->converter, in->format_major, in->format_minor);
    printf("architecture:      %s (%s positions%s)\n", in->arch, te_position_name(in->position),
           in->gated_ffn ? ", gated feed-forward" : "");
    printf("kind:              %s\n", te_kind_name(in->kind));
    if (in->num_labels > 0) {
        printf("labels:            %d (scores: %s):", in->num_labels, te_score_fn_name(in->score_fn));
        for (int i = 0; i < in->num_labels && i < 32; i++) printf(" %s", in->labels[i]);
        printf("%s\n", in->num_labels > 32 ? " ..." : "");
    }
    printf("hidden size:       %d\n", in->hidden_size);
    printf("layers:            %d\n", in->num_layers);
    printf("attention heads:   %d (head size %d)\n", in->num_heads, in->hidden_size / in->num_heads);
    printf("intermediate size: %d\n", in->intermediate_size);
    printf("activation:        %s\n", te_activation_name(in->activation));
    printf("layer norm eps:    %s\n", eps);
    printf("vocabulary:        %d rows, %d tokens\n", in->vocab_size, in->vocab_tokens);
    printf("max position:      %d\n", in->max_position);
    printf("token types:       %d\n", in->type_vocab_size);
    printf("max seq length:    %d\n", in->max_seq_length);
    if (in->kind == TE_KIND_EMBEDDING)
    {
        printf("pooling:           %s%s\n", te_pooling_name(in->pooling), in->normalize ? ", L2-normalized" : "");
        print_range(in);
    } else
        printf("head:              on the first token's final state\n");
    if (in->outputs & (TE_OUTPUT_SPARSE | TE_OUTPUT_COLBERT)) {
        printf("outputs:           ");
        print_outputs(in, "", "");
        if (in->colbert_dim) printf(" (ColBERT vectors of %d)", in->colbert_dim);
        putchar('\n');
    }
    print_prompts(m, in);
    printf("weights:           %s\n", te_dtype_name(in->dtype));
    printf("file size:         %llu bytes (fingerprint %08x)\n", (unsigned long long)in->file_bytes, (unsigned)in->fingerprint);
    if (in->file_offset) printf("bundled:           yes, appended to an executable at byte %llu\n", (unsigned long long)in->file_offset);
    te_model_status sb; /* its byte counts; the residency it also measures is not shown here */
    te_model_get_status(m, &sb);
    printf("sections:          metadata %.2f MB, word table %.2f MB, other embeddings %.2f MB, layers %.2f MB (%d x %.2f MB)\n",
           (double)sb.meta_bytes / 1e6, (double)sb.word_emb_bytes / 1e6, (double)sb.other_emb_bytes / 1e6,
           (double)sb.layers_bytes / 1e6, in->num_layers, (double)sb.layers_bytes / 1e6 / in->num_layers);
    if (t->pipeline) /* what tokenizer.json said, as the file keeps it */
        printf("tokenizer:         %s, pipeline %s\n", t->model, t->pipeline);
    else
        printf("tokenizer:         WordPiece, lowercase %s, strip accents %s, CJK split %s, prefix \"%s\", max %d chars/word\n",
               onoff(t->lowercase), onoff(t->strip_accents), onoff(t->chinese_chars), t->subword_prefix,
               t->max_chars_per_word);
    printf("special tokens:    [CLS] %d, [SEP] %d, [PAD] %d, [UNK] %d, [MASK] %d; %d matched in raw text\n",
           (int)t->cls_id, (int)t->sep_id, (int)t->pad_id, (int)t->unk_id, (int)t->mask_id, t->n_added_tokens);
    if (!tensors) return;
    printf("tensors:\n");
    for (size_t i = 0; i < te_model_n_tensors(m); i++) {
        te_tensor_info ti;
        te_model_tensor(m, i, &ti);
        char shape[96] = "";
        for (int d = 0; d < ti.n_dims; d++)
            snprintf(shape + strlen(shape), sizeof shape - strlen(shape), "%s%llu", d ? ", " : "", (unsigned long long)ti.dims[d]);
        printf("  %-34s %-5s [%s]%s%s at %llu, %llu bytes, crc32 %08x\n", ti.name, te_dtype_name(ti.dtype), shape,
               ti.layout == TE_LAYOUT_ROWS ? "" : " ", ti.layout == TE_LAYOUT_ROWS ? "" : layout_name(ti.layout),
               (unsigned long long)ti.offset,
               (unsigned long long)ti.bytes, ti.crc32);
    }
}

static void kv_str(const char *key, const char *v, int last) {
    printf("  \"%s\": ", key);
    cli_json_str(stdout, v);
    printf("%s\n", last ? "" : ",");
}

static void print_json(const te_model *m, const te_model_info *in, int tensors) {
    char eps[32];
    cli_fmt_float(eps, sizeof eps, in->layer_norm_eps);
    const te_tokenizer_info *t = &in->tokenizer;
    printf("{\n");
    kv_str("arch", in->arch, 0);
    kv_str("kind", te_kind_name(in->kind), 0);
    kv_str("position", te_position_name(in->position), 0);
    printf("  \"gated_ffn\": %s,\n", in->gated_ffn ? "true" : "false");
    if (in->num_labels > 0) {
        kv_str("score", te_score_fn_name(in->score_fn), 0);
        printf("  \"labels\": [");
        for (int i = 0; i < in->num_labels; i++) {
            if (i) printf(", ");
            cli_json_str(stdout, in->labels[i]);
        }
        printf("],\n");
    }
    kv_str("name", in->name, 0);
    kv_str("source", in->source, 0);
    kv_str("converter", in->converter, 0);
    printf("  \"format_version\": \"%d.%d\",\n", in->format_major, in->format_minor);
    printf("  \"hidden_size\": %d,\n  \"num_layers\": %d,\n  \"num_heads\": %d,\n", in->hidden_size, in->num_layers, in->num_heads);
    printf("  \"intermediate_size\": %d,\n  \"vocab_size\": %d,\n  \"vocab_tokens\": %d,\n", in->intermediate_size,
           in->vocab_size, in->vocab_tokens);
    printf("  \"max_position\": %d,\n  \"type_vocab_size\": %d,\n  \"max_seq_length\": %d,\n", in->max_position,
           in->type_vocab_size, in->max_seq_length);
    printf("  \"layer_norm_eps\": %s,\n", eps);
    kv_str("activation", te_activation_name(in->activation), 0);
    kv_str("pooling", te_pooling_name(in->pooling), 0);
    printf("  \"normalize\": %s,\n", in->normalize ? "true" : "false");
    print_json_extras(m, in);
    kv_str("dtype", te_dtype_name(in->dtype), 0);
    printf("  \"file_bytes\": %llu,\n", (unsigned long long)in->file_bytes);
    printf("  \"bundle_offset\": %llu,\n", (unsigned long long)in->file_offset);
    printf("  \"fingerprint\": \"%08x\",\n", (unsigned)in->fingerprint);
    te_model_status sb;
    te_model_get_status(m, &sb);
    printf("  \"section_bytes\": {\"metadata\": %llu, \"word_embeddings\": %llu, \"other_embeddings\": %llu, "
           "\"layers\": %llu},\n", (unsigned long long)sb.meta_bytes, (unsigned long long)sb.word_emb_bytes,
           (unsigned long long)sb.other_emb_bytes, (unsigned long long)sb.layers_bytes);
    printf("  \"n_tensors\": %zu,\n", te_model_n_tensors(m));
    printf("  \"tokenizer\": {\"lowercase\": %s, \"strip_accents\": %s, \"chinese_chars\": %s, \"clean_text\": %s, ",
           t->lowercase ? "true" : "false", t->strip_accents ? "true" : "false", t->chinese_chars ? "true" : "false",
           t->clean_text ? "true" : "false");
    printf("\"cls_id\": %d, \"sep_id\": %d, \"pad_id\": %d, \"unk_id\": %d, \"mask_id\": %d, \"subword_prefix\": ",
           (int)t->cls_id, (int)t->sep_id, (int)t->pad_id, (int)t->unk_id, (int)t->mask_id);
    cli_json_str(stdout, t->subword_prefix);
    printf(", \"max_chars_per_word\": %d, \"added_tokens\": %d, \"model\": \"%s\", \"pipeline\": %s}%s\n",
           t->max_chars_per_word, t->n_added_tokens, t->model, t->pipeline ? t->pipeline : "null", tensors ? "," : "");
    if (tensors) {
        printf("  \"tensors\": [\n");
        size_t n = te_model_n_tensors(m);
        for (size_t i = 0; i < n; i++) {
            te_tensor_info ti;
            te_model_tensor(m, i, &ti);
            printf("    {\"name\": ");
            cli_json_str(stdout, ti.name);
            printf(", \"dtype\": \"%s\", \"layout\": \"%s\", \"shape\": [", te_dtype_name(ti.dtype),
                   layout_name(ti.layout));
            for (int d = 0; d < ti.n_dims; d++) printf("%s%llu", d ? ", " : "", (unsigned long long)ti.dims[d]);
            printf("], \"offset\": %llu, \"bytes\": %llu, \"crc32\": \"%08x\"}%s\n", (unsigned long long)ti.offset,
                   (unsigned long long)ti.bytes, ti.crc32, i + 1 < n ? "," : "");
        }
        printf("  ]\n");
    }
    printf("}\n");
}

static double pct(uint64_t part, uint64_t whole) { return whole ? 100.0 * (double)part / (double)whole : 0.0; }

static void print_status(const te_model_status *st, const te_sysinfo *si, int json) {
    static const char *const states[] = {"loading", "ready", "failed"};
    struct { const char *name; uint64_t bytes, res; } parts[] = {
        {"metadata", st->meta_bytes, st->meta_resident},
        {"word_embeddings", st->word_emb_bytes, st->word_emb_resident},
        {"other_embeddings", st->other_emb_bytes, st->other_emb_resident},
        {"layers", st->layers_bytes, st->layers_resident},
        {"file", st->file_bytes, st->file_resident},
    };
    size_t np = sizeof parts / sizeof *parts;
    if (json) {
        printf("{\n  \"state\": \"%s\",\n  \"strategy\": \"%s\",\n  \"strategy_reason\": ", states[st->state],
               te_strategy_name(st->strategy));
        cli_json_str(stdout, st->strategy_reason);
        printf(",\n  \"layers_ready\": %d,\n  \"layers_total\": %d,\n  \"load_ms\": %.3f,\n", st->layers_ready,
               st->layers_total, st->load_ms);
        printf("  \"warmed_up\": %s,\n  \"warmup_ok\": %s,\n  \"warmup_ms\": %.3f,\n  \"hot_rows\": %llu,\n",
               st->warmed_up ? "true" : "false", st->warmup_ok ? "true" : "false", st->warmup_ms,
               (unsigned long long)st->hot_rows);
        printf("  \"file_bytes_present\": %llu,\n", (unsigned long long)st->file_bytes_present);
        printf("  \"last_error\": ");
        cli_json_str(stdout, st->last_error.code ? st->last_error.msg : "");
        printf(",\n  \"resident\": {");
        for (size_t i = 0; i < np; i++)
            printf("%s\"%s\": {\"bytes\": %llu, \"resident\": %llu}", i ? ", " : "", parts[i].name,
                   (unsigned long long)parts[i].bytes, (unsigned long long)parts[i].res);
        printf("},\n  \"layer_resident\": [");
        for (int l = 0; l < st->layers_total && l < TE_STATUS_MAX_LAYERS; l++)
            printf("%s%llu", l ? ", " : "", (unsigned long long)st->layer_resident[l]);
        printf("],\n  \"machine\": {\"online_cores\": %d, \"mem_total\": %llu, \"mem_available\": %llu, "
               "\"page_size\": %ld, \"simd\": \"%s\", \"rotational\": %d}\n}\n",
               si->online_cores, (unsigned long long)si->mem_total, (unsigned long long)si->mem_available,
               si->page_size, si->simd, si->rotational);
        return;
    }
    printf("state:        %s (%d of %d layers ready), %.1f ms since open\n", states[st->state], st->layers_ready,
           st->layers_total, st->load_ms);
    printf("strategy:     %s (%s)\n", te_strategy_name(st->strategy), st->strategy_reason);
    if (st->warmed_up) printf("warmup:       %s in %.1f ms\n", st->warmup_ok ? "done" : "FAILED", st->warmup_ms);
    else printf("warmup:       not run (%llu hot rows listed)\n", (unsigned long long)st->hot_rows);
    if (st->last_error.code) printf("last error:   %s\n", st->last_error.msg);
    if (st->file_bytes_present < st->file_bytes)
        printf("TRUNCATED:    the file holds %llu of its %llu bytes (it was cut while open)\n",
               (unsigned long long)st->file_bytes_present, (unsigned long long)st->file_bytes);
    printf("resident in the page cache:\n");
    for (size_t i = 0; i < np; i++)
        printf("  %-17s %10.1f of %10.1f KB  %5.1f%%\n", parts[i].name, parts[i].res / 1024.0, parts[i].bytes / 1024.0,
               pct(parts[i].res, parts[i].bytes));
    printf("machine:      %d cores, %.1f of %.1f GB memory available, %ld-byte pages, %s kernels, disk %s\n",
           si->online_cores, si->mem_available / 1e9, si->mem_total / 1e9, si->page_size, si->simd,
           si->rotational < 0 ? "type unknown" : si->rotational ? "rotational" : "not rotational");
}

static int info_status(const cli_args *a, const char *path) {
    te_model *m;
    int rc = cli_open_model(&info_cmd, a, path, &m);
    if (rc != CLI_OK) return rc;
    te_error err;
    if (cli_flag(&info_cmd, a, "wait") && te_wait_ready(m, -1) != TE_OK) {
        te_model_status st;
        te_model_get_status(m, &st);
        cli_error(&info_cmd, "loading failed: %s", st.last_error.msg);
        rc = CLI_FAIL;
    }
    if (rc == 0 && cli_flag(&info_cmd, a, "warmup")) {
        te_ctx *c = te_ctx_new(m, NULL, &err);
        if (!c || te_warmup(c, &err) != TE_OK) rc = cli_lib_error(&info_cmd, &err);
        te_ctx_free(c);
    }
    te_model_status st;
    te_sysinfo si;
    if (rc == 0) {
        te_model_get_status(m, &st);
        te_sysinfo_get(path, &si, &err);
        print_status(&st, &si, cli_flag(&info_cmd, a, "json"));
    }
    te_close(m);
    return rc;
}

int cmd_info(int argc, char **argv) {
    cli_args a;
    int rc = cli_parse(&info_cmd, argc, argv, &a);
    if (rc != CLI_OK) return rc == CLI_HELP ? 0 : rc;
    char self[CLI_PATH_MAX];
    const char *path;
    if ((rc = cli_model_path(&info_cmd, &a, a.n_pos ? a.pos[0] : NULL, self, sizeof self, &path)) != CLI_OK) return rc;
    if (cli_flag(&info_cmd, &a, "status")) return info_status(&a, path);
    if (cli_get(&info_cmd, &a, "strategy") || cli_flag(&info_cmd, &a, "wait") || cli_flag(&info_cmd, &a, "warmup")) {
        cli_error(&info_cmd, "--strategy, --wait and --warmup go with --status");
        return CLI_USAGE;
    }
    te_error err;
    te_model *m = te_open(path, NULL, &err);
    if (!m) return cli_lib_error(&info_cmd, &err);
    te_model_info in;
    te_model_get_info(m, &in);
    int tensors = cli_flag(&info_cmd, &a, "tensors");
    if (cli_flag(&info_cmd, &a, "json")) print_json(m, &in, tensors);
    else print_text(m, &in, tensors);
    te_close(m);
    return 0;
}

/* Whether the file starts with the search index magic (docs/FORMAT.md). */
static int is_search_index(const char *path) {
    char magic[8];
    FILE *f = fopen(path, "rb");
    int yes = f && fread(magic, 1, 8, f) == 8 && memcmp(magic, "TEMBIDX1", 8) == 0;
    if (f) fclose(f);
    return yes;
}

int cmd_verify(int argc, char **argv) {
    cli_args a;
    int rc = cli_parse(&verify_cmd, argc, argv, &a);
    if (rc != CLI_OK) return rc == CLI_HELP ? 0 : rc;
    char self[CLI_PATH_MAX];
    const char *path;
    if ((rc = cli_model_path(&verify_cmd, &a, a.n_pos ? a.pos[0] : NULL, self, sizeof self, &path)) != CLI_OK) return rc;
    te_error err;
    if (is_search_index(path)) {
        te_index *ix = te_index_open(path, TE_INDEX_VERIFY, &err);
        if (!ix) return cli_lib_error(&verify_cmd, &err);
        te_index_info in;
        te_index_get_info(ix, &in);
        printf("%s: OK (search index: %llu documents, %llu words, %s, %llu bytes, all checksums match)\n", path,
               (unsigned long long)in.n_docs, (unsigned long long)in.n_terms,
               in.dim ? (in.dtype == TE_DTYPE_I8 ? "int8 vectors" : "f32 vectors") : "no vectors",
               (unsigned long long)in.file_bytes);
        te_index_close(ix);
        return 0;
    }
    te_model *m = te_open(path, NULL, &err);
    if (!m) return cli_lib_error(&verify_cmd, &err);
    te_status st = te_verify(m, &err);
    if (st == TE_OK) {
        te_model_info in;
        te_model_get_info(m, &in);
        printf("%s: OK (%zu tensors, %llu bytes, all checksums match)\n", path, te_model_n_tensors(m),
               (unsigned long long)in.file_bytes);
    }
    te_close(m);
    return st == TE_OK ? 0 : cli_lib_error(&verify_cmd, &err);
}
