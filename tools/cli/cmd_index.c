/*
 * cmd_index.c - `tinyembed index -m MODEL -o CORPUS.tidx [DOCS.jsonl]`:
 * reads documents ({"id", "text"} per line, from the file or stdin), embeds
 * them in chunks exactly as `embed` does, and writes a search index with the
 * vectors and a BM25 word index (te_index_builder); with a model that has
 * bge-m3's outputs, each document's lexical weights too, and its ColBERT
 * vectors with --colbert. Nothing is written unless every line is good: a
 * bad line stops the run with its number.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

static const cli_opt opts[] = {
    {"model", 'm', "MODEL", "the .temb model (default: the model bundled in this executable)"},
    {"output", 'o', "FILE", "the index to write (required), e.g. corpus.tidx"},
    {"dtype", 0, "T", "stored vectors: f32 (default) or int8 (a quarter of the size, per-vector scales)"},
    {"no-vectors", 0, NULL, "a BM25-only index: no model, no vectors"},
    {"colbert", 0, NULL, "keep every document's ColBERT vectors too (a model with that output: bge-m3), for --mode m3"},
    {"prefix", 'p', "STR", "prepend STR to every document before embedding, e.g. 'search_document: '"},
    {"prompt-name", 0, "NAME", "put the model's prompt NAME in front (config_sentence_transformers.json; `info` lists them)"},
    {"threads", 't', "N", "worker threads (default: one per core)"},
    {"batch", 'b', "N", "texts per forward pass (default 32)"},
    {"max-len", 0, "N", "cut documents at N tokens for embedding (default and upper bound: the model's)"},
    {"max-memory", 0, "SIZE", "bound the scratch memory (e.g. 16M)"},
    {"simd", 0, "LEVEL", "force a kernel set: avx512bf16, avx512vnni, avx512, avxvnni, avx2, neon, scalar (default: best; env TE_SIMD)"},
    {"strategy", 0, "S", "loading: lazy, eager, background, progressive, auto (default: env TE_STRATEGY, else lazy)"},
    {NULL, 0, NULL, NULL},
};

static const cli_cmd cmd = {
    "index", "[DOCS.jsonl]",
    "Build a search index (.tidx) from documents: one JSON object {\"id\": ..., \"text\": ...} per line.",
    "Reads stdin when no file is given. Ids are strings or integers and must be unique; blank lines\n"
    "are skipped. Every document's whole text goes into the BM25 index; documents longer than the\n"
    "model's limit are embedded from their start, and the summary says how many. The file is written\n"
    "atomically: a failed run leaves no index behind. Search it with `tinyembed search`. A model with a\n"
    "sparse output (bge-m3) also stores each document's lexical weights (search --mode sparse, m3).",
    opts, 0, 1,
};

typedef struct chunk {
    char *lines[CLI_CHUNK_LINES];
    size_t caps[CLI_CHUNK_LINES], lens[CLI_CHUNK_LINES];
    te_json *docs[CLI_CHUNK_LINES];
    const char *ids[CLI_CHUNK_LINES], *texts[CLI_CHUNK_LINES];
    size_t text_lens[CLI_CHUNK_LINES];
    size_t line_of[CLI_CHUNK_LINES];  /* input line number of each document */
    char id_bufs[CLI_CHUNK_LINES][32];
    size_t n;
} chunk;

/* Parses the chunk's lines into ids and texts (blank lines dropped). */
static int parse_chunk(chunk *c, size_t n_lines, size_t first_line) {
    c->n = 0;
    for (size_t i = 0; i < n_lines; i++) {
        const char *l = c->lines[i];
        size_t len = c->lens[i];
        if (strspn(l, " \t\r") == len) continue;
        te_error err;
        te_json *doc = te_json_parse(l, len, &err);
        if (!doc) {
            cli_error(&cmd, "line %zu: %s", first_line + i, te_errmsg(&err));
            return CLI_FAIL;
        }
        c->docs[c->n] = doc;
        const te_json_value *root = te_json_root(doc);
        const char *id = cli_json_id(te_json_get(root, "id"), c->id_bufs[c->n], sizeof c->id_bufs[c->n]);
        const char *text = te_json_string(te_json_get(root, "text"));
        c->n++;
        if (!id || !text) {
            cli_error(&cmd, "line %zu: expected {\"id\": string or integer, \"text\": string}", first_line + i);
            return CLI_FAIL;
        }
        c->line_of[c->n - 1] = first_line + i;
        c->ids[c->n - 1] = id;
        c->texts[c->n - 1] = text;
        c->text_lens[c->n - 1] = strlen(text);
    }
    return CLI_OK;
}

static void chunk_clear(chunk *c) {
    for (size_t i = 0; i < c->n; i++) te_json_free(c->docs[i]);
    c->n = 0;
}

/* --output, --dtype and --no-vectors, checked against each other. */
static int read_options(const cli_args *a, const char **out, te_dtype *dtype, int *vectors) {
    const char *dt = cli_get(&cmd, a, "dtype");
    *out = cli_get(&cmd, a, "output");
    *vectors = !cli_flag(&cmd, a, "no-vectors");
    *dtype = TE_DTYPE_F32;
    if (!*out) {
        cli_error(&cmd, "--output FILE is required");
        return CLI_USAGE;
    }
    if (dt && (te_dtype_parse(dt, dtype) != 0 || *dtype == TE_DTYPE_F16 || *dtype == TE_DTYPE_BF16)) {
        cli_error(&cmd, "--dtype must be f32 or int8 (got '%s')", dt);
        return CLI_USAGE;
    }
    if (!*vectors && (dt || cli_get(&cmd, a, "model"))) {
        cli_error(&cmd, "--no-vectors builds a BM25-only index: it takes no --model or --dtype");
        return CLI_USAGE;
    }
    return CLI_OK;
}

/* One indexing run: the documents read from `in` go to `b`, embedded by the
 * session's context when dim > 0. */
typedef struct run {
    FILE *in;
    te_index_builder *b;
    cli_session *s;
    size_t dim;
    const char *prefix;
    size_t cut;           /* documents cut to the model's limit */
    unsigned outputs;     /* te_embed_multi's outputs to keep: TE_OUTPUT_DENSE alone, or with SPARSE / COLBERT */
    te_multi *multi;      /* [CLI_CHUNK_LINES] when outputs is more than dense */
} run;

/* Embeds the chunk's texts (prefixed) into vecs, or r->multi with bge-m3's outputs. */
static int embed_chunk(run *r, const cli_prefixed *pre, size_t n, float *vecs, uint8_t *trunc) {
    te_error err;
    te_status st = r->outputs == TE_OUTPUT_DENSE
                       ? te_embed_ex(r->s->ctx, pre->texts, pre->lens, n, vecs, trunc, &err)
                       : te_embed_multi(r->s->ctx, pre->texts, pre->lens, n, r->outputs, r->multi, trunc, &err);
    return st == TE_OK ? CLI_OK : cli_lib_error(&cmd, &err);
}

/* Document i of the chunk as the builder takes it. */
static te_index_doc chunk_doc(const run *r, const chunk *c, size_t i, const float *vecs, const uint8_t *trunc) {
    te_index_doc d = {.id = c->ids[i], .id_len = strlen(c->ids[i]), .text = c->texts[i], .text_len = c->text_lens[i]};
    if (!r->dim) return d;
    d.truncated = trunc[i];
    if (r->outputs == TE_OUTPUT_DENSE) {
        d.vector = vecs + i * r->dim;
        return d;
    }
    const te_multi *o = &r->multi[i];
    d.vector = o->dense;
    d.sparse = o->sparse, d.n_sparse = o->n_sparse;
    d.colbert = o->colbert, d.n_colbert = o->n_colbert;
    return d;
}

/* Reads, embeds and adds every document, a chunk of lines at a time. */
static int add_documents(run *r, chunk *c, float *vecs) {
    int rc = CLI_OK;
    te_error err;
    uint8_t trunc[CLI_CHUNK_LINES];
    struct stat st;
    uint64_t total = (fstat(fileno(r->in), &st) == 0 && S_ISREG(st.st_mode)) ? (uint64_t)st.st_size : 0;
    cli_progress bar;
    cli_progress_init(&bar, "indexing");
    if ((total > 0 && total < (1u << 20)) || isatty(fileno(r->in))) bar.enabled = 0;
    cli_prefixed pre = {0};
    size_t n_lines, bytes = 0, line_no = 1;
    while (rc == CLI_OK && (n_lines = cli_read_lines(r->in, c->lines, c->caps, c->lens, CLI_CHUNK_LINES, &bytes)) > 0) {
        rc = parse_chunk(c, n_lines, line_no);
        line_no += n_lines;
        if (rc == CLI_OK && r->dim) {
            if (cli_prefix(&pre, r->prefix, c->texts, c->text_lens, c->n) != 0) rc = (cli_error(&cmd, "out of memory"), CLI_FAIL);
            else rc = embed_chunk(r, &pre, c->n, vecs, trunc);
        }
        for (size_t i = 0; rc == CLI_OK && i < c->n; i++) {
            te_index_doc d = chunk_doc(r, c, i, vecs, trunc);
            if (te_index_builder_add(r->b, &d, &err) != TE_OK) {
                cli_error(&cmd, "line %zu: %s", c->line_of[i], te_errmsg(&err));
                rc = CLI_FAIL;
            }
            r->cut += (size_t)d.truncated;
        }
        chunk_clear(c);
        if (r->multi) te_multi_free(r->multi, CLI_CHUNK_LINES);
        if (total) cli_progress_update(&bar, bytes, total);
        else cli_progress_count(&bar, te_index_builder_count(r->b), "documents");
    }
    cli_progress_done(&bar);
    cli_prefixed_free(&pre);
    for (size_t i = 0; i < CLI_CHUNK_LINES; i++) free(c->lines[i]);
    if (rc == CLI_OK && ferror(r->in)) rc = (cli_error(&cmd, "cannot read the documents: %s", strerror(errno)), CLI_FAIL);
    return rc;
}

/* The summary line on stderr, from the index as written. */
static void report(const run *r, const char *out, te_dtype dtype, double t0, double t_embed) {
    te_error err;
    te_index *ix = te_index_open(out, 0, &err);
    te_index_info info;
    if (ix) te_index_get_info(ix, &info);
    double secs = cli_now_s() - t0;
    size_t n = te_index_builder_count(r->b);
    fprintf(stderr, "indexed %zu documents in %.2f s (%.1f documents/s): %s, %.1f MB", n, secs,
            secs > 0 ? (double)n / secs : 0.0, out, ix ? (double)info.file_bytes / 1e6 : 0.0);
    if (ix) fprintf(stderr, ", %llu distinct words, %.1f words per document", (unsigned long long)info.n_terms, info.avg_doc_words);
    if (ix && info.sparse) fprintf(stderr, ", %llu lexical weights", (unsigned long long)info.n_sparse_postings);
    if (ix && info.colbert_dim) fprintf(stderr, ", %llu ColBERT vectors", (unsigned long long)info.n_colbert);
    if (r->dim) fprintf(stderr, ", %s vectors of %zu from %s", te_dtype_name(dtype), r->dim, r->s->info.name);
    fprintf(stderr, " (embedding and reading %.2f s)\n", t_embed);
    if (r->cut) cli_truncation_note(&cmd, r->s, r->cut, n, "documents were");
    te_index_close(ix);
}

/* Builds the index from r->in into `out`. */
static int build(run *r, const char *out, te_dtype dtype) {
    te_error err;
    chunk *c = calloc(1, sizeof *c);
    float *vecs = malloc(CLI_CHUNK_LINES * (r->dim ? r->dim : 1) * sizeof *vecs);
    if (r->outputs != TE_OUTPUT_DENSE) r->multi = calloc(CLI_CHUNK_LINES, sizeof *r->multi);
    int rc = c && vecs && (r->multi || r->outputs == TE_OUTPUT_DENSE) ? CLI_OK : (cli_error(&cmd, "out of memory"), CLI_FAIL);
    double t0 = cli_now_s();
    if (rc == CLI_OK) rc = add_documents(r, c, vecs);
    double t_embed = cli_now_s() - t0;
    if (rc == CLI_OK && te_index_builder_write(r->b, out, &err) != TE_OK) rc = cli_lib_error(&cmd, &err);
    if (rc == CLI_OK) report(r, out, dtype, t0, t_embed);
    free(vecs);
    free(r->multi);
    free(c);
    return rc;
}

/* bge-m3's outputs to keep: the sparse weights whenever the model has them, ColBERT with --colbert. */
static int m3_options(const cli_args *a, const te_model_info *in, te_index_build_opts *bo, unsigned *outputs) {
    int colbert = cli_flag(&cmd, a, "colbert");
    if (colbert && !(in->outputs & TE_OUTPUT_COLBERT)) {
        cli_error(&cmd, "--colbert: model '%s' has no ColBERT output (bge-m3's comes from colbert_linear.pt)", in->name);
        return CLI_USAGE;
    }
    bo->sparse = (in->outputs & TE_OUTPUT_SPARSE) != 0;
    bo->colbert_dim = colbert ? in->colbert_dim : 0;
    *outputs = TE_OUTPUT_DENSE | (bo->sparse ? TE_OUTPUT_SPARSE : 0) | (colbert ? TE_OUTPUT_COLBERT : 0);
    return CLI_OK;
}

int cmd_index(int argc, char **argv) {
    cli_args a;
    int rc = cli_parse(&cmd, argc, argv, &a);
    if (rc != CLI_OK) return rc == CLI_HELP ? 0 : rc;
    const char *out;
    te_dtype dtype;
    int vectors;
    if ((rc = read_options(&a, &out, &dtype, &vectors)) != CLI_OK) return rc;
    cli_session s = {0};
    run r = {stdin, NULL, &s, 0, NULL, 0, TE_OUTPUT_DENSE, NULL};
    if (a.n_pos == 1 && !(r.in = fopen(a.pos[0], "rb"))) {
        cli_error(&cmd, "%s: cannot open: %s", a.pos[0], strerror(errno));
        return CLI_FAIL;
    }
    te_index_build_opts bo = {0};
    if (vectors && (rc = cli_session_open(&cmd, &a, &s)) == CLI_OK) {
        if (s.info.kind != TE_KIND_EMBEDDING) {
            cli_error(&cmd, "%s is a %s, not an embedding model", s.info.name, te_kind_name(s.info.kind));
            rc = CLI_USAGE;
        }
        bo = (te_index_build_opts){.dim = s.info.hidden_size, .dtype = dtype, .fingerprint = s.info.fingerprint,
                                   .model_name = s.info.name};
        r.prefix = s.prefix;
        if (rc == CLI_OK) rc = m3_options(&a, &s.info, &bo, &r.outputs);
    }
    te_error err;
    if (rc == CLI_OK && !(r.b = te_index_builder_new(&bo, &err))) rc = cli_lib_error(&cmd, &err);
    r.dim = (size_t)bo.dim;
    if (rc == CLI_OK) rc = build(&r, out, dtype);
    te_index_builder_free(r.b);
    if (vectors) cli_session_close(&s);
    if (r.in != stdin) fclose(r.in);
    return rc;
}
