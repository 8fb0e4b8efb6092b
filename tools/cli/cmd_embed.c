/*
 * cmd_embed.c - `tinyembed embed -m MODEL [TEXT ...]`: one embedding per
 * text, from the arguments or from each line of stdin, in input order.
 * Stdin is read and embedded in chunks, so memory stays flat for any input
 * size. Also `tinyembed similarity`: the cosine-similarity matrix of texts.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "precision.h"
#include "chunk.h"
#include "cli.h"

#define CHUNK_LINES CLI_CHUNK_LINES

static const cli_opt embed_opts[] = {
    {"model", 'm', "MODEL", "the .temb model (default: the model bundled in this executable)"},
    {"threads", 't', "N", "worker threads (default: one per core)"},
    {"batch", 'b', "N", "texts per forward pass (default 32)"},
    {"format", 'f', "FMT", "json (default): one array per line; tsv; bin: raw little-endian float32"},
    {"output", 'o', "LIST", "dense (default), sparse, colbert, or several: dense,sparse,colbert (bge-m3's outputs)"},
    {"prefix", 'p', "STR", "prepend STR to every text, e.g. 'search_query: ' for nomic-embed-text"},
    {"prompt-name", 0, "NAME", "put the model's prompt NAME in front (config_sentence_transformers.json; `info` lists them)"},
    {"max-len", 0, "N", "cut texts at N tokens, special tokens included (default and upper bound: the model's)"},
    {"precision", 0, "P", "float (default); int8 / uint8: each dimension's calibrated range (`info`) in 256 steps;\n"
     "binary / ubinary: the bits of v > 0 packed 8 to a byte (binary: minus 128). As integers, or bytes with --format bin"},
    {"chunk", 0, "N", "never cut a text: embed it in chunks of N tokens (special tokens and prompt included)"},
    {"overlap", 0, "M", "with --chunk: consecutive chunks share M tokens (default 0)"},
    {"reduce", 0, "R", "with --chunk: mean (default; one vector per text, their token-weighted mean, unit length)\n"
     "or none (per text a JSON array of {\"embedding\", \"start\", \"stop\"}: each chunk, its bytes)"},
    {"max-memory", 0, "SIZE", "bound the scratch memory (e.g. 16M): fewer tokens per pass, shorter texts if need be"},
    {"simd", 0, "LEVEL", "force a kernel set: avx512bf16, avx512vnni, avx512, avxvnni, avx2, neon, scalar (default: best; env TE_SIMD)"},
    {"strategy", 0, "S", "loading: lazy, eager, background, progressive, auto (default: env TE_STRATEGY, else lazy)"},
    {NULL, 0, NULL, NULL},
};

static const cli_cmd embed_cmd = {
    "embed", "[TEXT ...]",
    "Print the embedding of each TEXT, or of each line of stdin, in input order.",
    "Lines end at '\\n' only. With --format bin the output is n x dim float32 values, little-endian.\n"
    "Texts longer than the limit are cut; stderr then says how many were cut at how many tokens.\n"
    "Task prefixes (nomic-embed-text: 'search_query: ', 'search_document: '; e5: 'query: ') are part\n"
    "of the text; --prefix adds one to every text, --prompt-name one of the model's prompts (without\n"
    "either, its default_prompt_name's, if it has one).\n"
    "--output sparse prints {\"<token id>\": weight, ...} per text (bge-m3's lexical weights), colbert\n"
    "an array of unit vectors (one per token after <s>); several outputs print one object per text\n"
    "keyed dense, sparse, colbert.\n"
    "--chunk N cuts each text on token boundaries into chunks of N tokens, each framed by the\n"
    "model's special tokens with the prompt in front, and embeds them all: nothing is cut.",
    embed_opts, 0, CLI_MAX_POS,
};

static const cli_opt sim_opts[] = {
    {"model", 'm', "MODEL", "the .temb model (default: the model bundled in this executable)"},
    {"threads", 't', "N", "worker threads (default: one per core)"},
    {"strategy", 0, "S", "loading: lazy, eager, background, progressive, auto (default: env TE_STRATEGY, else lazy)"},
    {NULL, 0, NULL, NULL},
};

static const cli_cmd sim_cmd = {
    "similarity", "TEXT TEXT [TEXT ...]",
    "Print the cosine-similarity matrix of the texts (one row per text, tab-separated).",
    NULL, sim_opts, 2, CLI_MAX_POS,
};

typedef enum { FMT_JSON, FMT_TSV, FMT_BIN } out_format;

/* What to print: the --output bits and the format; --chunk's settings (chunk 0: none). */
typedef struct out_spec {
    unsigned outputs;
    out_format fmt;
    size_t chunk, overlap;
    int each;                /* --reduce none */
    precision prec;          /* --precision */
    const te_model *m;       /* int8 / uint8: the model whose range quantizes */
} out_spec;

static void write_floats(const float *v, size_t n) {
    putchar('[');
    for (size_t j = 0; j < n; j++) printf("%s%.9g", j ? "," : "", (double)v[j]);
    putchar(']');
}

/* One text's outputs as FlagEmbedding returns them: one output alone, or an object keyed by name. */
static void write_multi(const te_multi *o, unsigned outputs, const te_model_info *in) {
    int several = (outputs & (outputs - 1)) != 0, n = 0;
    if (several) putchar('{');
    if (outputs & TE_OUTPUT_DENSE) {
        if (several) printf("\"dense\":");
        write_floats(o->dense, (size_t)in->hidden_size);
        n++;
    }
    if (outputs & TE_OUTPUT_SPARSE) {
        if (several) printf("%s\"sparse\":", n ? "," : "");
        putchar('{');
        for (size_t i = 0; i < o->n_sparse; i++)
            printf("%s\"%d\":%.9g", i ? "," : "", (int)o->sparse[i].id, (double)o->sparse[i].weight);
        putchar('}');
        n++;
    }
    if (outputs & TE_OUTPUT_COLBERT) {
        if (several) printf("%s\"colbert\":", n ? "," : "");
        putchar('[');
        for (size_t i = 0; i < o->n_colbert; i++) {
            if (i) putchar(',');
            write_floats(o->colbert + i * (size_t)in->colbert_dim, (size_t)in->colbert_dim);
        }
        putchar(']');
    }
    puts(several ? "}" : "");
}

/* --output: a comma-separated list of dense, sparse, colbert -> bits; 0 when wrong. */
static unsigned parse_outputs(const char *list) {
    unsigned bits = 0;
    for (const char *p = list; *p;) {
        size_t n = strcspn(p, ",");
        if (n == 5 && !strncmp(p, "dense", 5)) bits |= TE_OUTPUT_DENSE;
        else if (n == 6 && !strncmp(p, "sparse", 6)) bits |= TE_OUTPUT_SPARSE;
        else if (n == 7 && !strncmp(p, "colbert", 7)) bits |= TE_OUTPUT_COLBERT;
        else return 0;
        p += n + (p[n] == ',');
    }
    return bits;
}

/* --precision other than float (precision.h): one line of integers per text, or the bytes. */
static int write_bytes(const float *v, size_t n, int dim, const out_spec *spec) {
    size_t nb = precision_bytes(spec->prec, (size_t)dim);
    uint8_t *bytes = malloc(nb);
    te_error err;
    int rc = bytes ? CLI_OK : CLI_FAIL;
    if (!bytes) cli_error(&embed_cmd, "out of memory");
    for (size_t i = 0; rc == CLI_OK && i < n; i++) {
        if (precision_encode(spec->m, spec->prec, v + i * (size_t)dim, (size_t)dim, bytes, &err) != TE_OK) {
            rc = cli_lib_error(&embed_cmd, &err);
            break;
        }
        if (spec->fmt == FMT_BIN) {
            fwrite(bytes, 1, nb, stdout);
            continue;
        }
        if (spec->fmt == FMT_JSON) putchar('[');
        for (size_t k = 0; k < nb; k++)
            printf("%s%d", k ? (spec->fmt == FMT_JSON ? "," : "\t") : "", precision_value(spec->prec, bytes[k]));
        fputs(spec->fmt == FMT_JSON ? "]\n" : "\n", stdout);
    }
    free(bytes);
    return rc;
}

/* n vectors in the format and precision asked for; returns CLI_OK or CLI_FAIL (after printing why). */
static int write_vectors(const float *v, size_t n, int dim, const out_spec *spec) {
    out_format fmt = spec->fmt;
    if (spec->prec != PREC_FLOAT) return write_bytes(v, n, dim, spec);
    if (fmt == FMT_BIN) {
        /* little-endian on every host */
        for (size_t i = 0; i < n * (size_t)dim; i++) {
            uint32_t u;
            memcpy(&u, &v[i], 4);
            unsigned char b[4] = {(unsigned char)u, (unsigned char)(u >> 8), (unsigned char)(u >> 16), (unsigned char)(u >> 24)};
            fwrite(b, 1, 4, stdout);
        }
        return CLI_OK;
    }
    for (size_t i = 0; i < n; i++) {
        const float *e = v + i * (size_t)dim;
        if (fmt == FMT_JSON) putchar('[');
        for (int j = 0; j < dim; j++) {
            if (j) putchar(fmt == FMT_JSON ? ',' : '\t');
            printf("%.9g", (double)e[j]);
        }
        fputs(fmt == FMT_JSON ? "]\n" : "\n", stdout);
    }
    return CLI_OK;
}

/* The model's outputs for n texts, printed. */
static int embed_multi(cli_session *s, const char *const *texts, const size_t *lens, size_t n, unsigned outputs,
                       uint8_t *trunc) {
    te_multi *o = calloc(n ? n : 1, sizeof *o);
    te_error err;
    int rc = CLI_OK;
    if (!o) {
        cli_error(&embed_cmd, "out of memory");
        rc = CLI_FAIL;
    } else if (te_embed_multi(s->ctx, texts, lens, n, outputs, o, trunc, &err) != TE_OK) {
        rc = cli_lib_error(&embed_cmd, &err);
    } else {
        for (size_t i = 0; i < n; i++) write_multi(&o[i], outputs, &s->info);
    }
    te_multi_free(o, n);
    free(o);
    return rc;
}

/* One text in chunks: their token-weighted mean, or each chunk with its byte span (JSON). */
static int embed_chunked(cli_session *s, const int32_t *prefix, size_t n_prefix, const char *text, size_t len,
                         const out_spec *spec) {
    chunks c;
    te_error err;
    size_t H = (size_t)s->info.hidden_size;
    if (chunk_text(s->m, text, len, prefix, n_prefix, spec->chunk, spec->overlap, &c, &err) != TE_OK)
        return cli_lib_error(&embed_cmd, &err);
    const int32_t **seq = malloc(c.n * sizeof *seq);
    float *out = malloc((c.n + 1) * H * sizeof *out), *mean = out ? out + c.n * H : NULL;
    int rc = CLI_OK;
    for (size_t k = 0; seq && k < c.n; k++) seq[k] = c.ids + c.start[k];
    if (!seq || !out) {
        cli_error(&embed_cmd, "out of memory");
        rc = CLI_FAIL;
    } else if (te_embed_tokens(s->ctx, seq, c.len, c.n, out, &err) != TE_OK) {
        rc = cli_lib_error(&embed_cmd, &err);
    } else if (!spec->each) {
        chunk_mean(out, c.len, c.n, (int)H, mean);
        rc = write_vectors(mean, 1, (int)H, spec);
    } else {
        putchar('[');
        for (size_t k = 0; k < c.n; k++) {
            printf("%s{\"embedding\":", k ? "," : "");
            write_floats(out + k * H, H);
            printf(",\"start\":%u,\"stop\":%u}", c.span[k].start, c.span[k].end);
        }
        puts("]");
    }
    free(seq);
    free(out);
    chunks_free(&c);
    return rc;
}

/* --chunk: each of n texts in chunks, the prefix (the prompt) in front of each chunk. */
static int embed_texts_chunked(cli_session *s, const char *const *texts, const size_t *lens, size_t n,
                               const out_spec *spec) {
    int32_t *prefix = NULL;
    te_span *spans = NULL;
    size_t n_prefix = 0;
    te_error err;
    int rc = CLI_OK;
    if (spec->chunk > (size_t)te_ctx_max_seq_length(s->ctx)) {
        cli_error(&embed_cmd, "--chunk %zu is more than the %d tokens the model (or --max-len) takes", spec->chunk,
                  te_ctx_max_seq_length(s->ctx));
        return CLI_USAGE;
    }
    if (s->prefix && s->prefix[0] && tok_all(s->m, s->prefix, strlen(s->prefix), 0, &prefix, &spans, &n_prefix, &err) != TE_OK)
        rc = cli_lib_error(&embed_cmd, &err);
    for (size_t i = 0; rc == CLI_OK && i < n; i++)
        rc = embed_chunked(s, prefix, n_prefix, texts[i], lens ? lens[i] : strlen(texts[i]), spec);
    free(prefix);
    free(spans);
    return rc;
}

/* Embeds n texts (with the prefix) and writes them; counts the texts cut. */
static int embed_texts(cli_session *s, cli_prefixed *pre, const char *prefix, const char *const *texts,
                       const size_t *lens, size_t n, const out_spec *spec, size_t *cut) {
    if (spec->chunk) return embed_texts_chunked(s, texts, lens, n, spec);
    int dense = spec->outputs == TE_OUTPUT_DENSE; /* te_embed_multi allocates its own outputs */
    float *out = dense ? malloc((n ? n : 1) * (size_t)s->info.hidden_size * sizeof *out) : NULL;
    uint8_t *trunc = malloc(n ? n : 1);
    te_error err;
    int rc = CLI_OK;
    if ((dense && !out) || !trunc || cli_prefix(pre, prefix, texts, lens, n) != 0) {
        cli_error(&embed_cmd, "out of memory");
        rc = CLI_FAIL;
    } else if (!dense) {
        rc = embed_multi(s, pre->texts, pre->lens, n, spec->outputs, trunc);
    } else if (te_embed_ex(s->ctx, pre->texts, pre->lens, n, out, trunc, &err) != TE_OK) {
        rc = cli_lib_error(&embed_cmd, &err);
    } else {
        rc = write_vectors(out, n, s->info.hidden_size, spec);
    }
    if (rc == CLI_OK) *cut += cli_count_truncated(trunc, n);
    free(out);
    free(trunc);
    return rc;
}

static int embed_stdin(cli_session *s, const char *prefix, const out_spec *spec, size_t *cut, size_t *texts) {
    char *lines[CHUNK_LINES] = {0};
    size_t caps[CHUNK_LINES] = {0}, lens[CHUNK_LINES];
    cli_prefixed pre = {0};
    struct stat st;
    uint64_t total = (fstat(STDIN_FILENO, &st) == 0 && S_ISREG(st.st_mode)) ? (uint64_t)st.st_size : 0;
    /* Progress on a terminal, for big inputs: a bar for a file, a count for a
     * pipe (size unknown); nothing when stdin is typed at a terminal. */
    cli_progress bar;
    cli_progress_init(&bar, "embedding");
    if ((total > 0 && total < (1u << 20)) || isatty(STDIN_FILENO)) bar.enabled = 0;
    size_t n, bytes = 0;
    int rc = 0;
    while (rc == 0 && (n = cli_read_lines(stdin, lines, caps, lens, CHUNK_LINES, &bytes)) > 0) {
        rc = embed_texts(s, &pre, prefix, (const char *const *)lines, lens, n, spec, cut);
        *texts += n;
        if (total) cli_progress_update(&bar, bytes, total);
        else cli_progress_count(&bar, *texts, "texts");
    }
    cli_progress_done(&bar);
    for (size_t i = 0; i < CHUNK_LINES; i++) free(lines[i]);
    cli_prefixed_free(&pre);
    return rc;
}

/* --precision into spec (precision.h). */
static int parse_precision(const cli_args *a, out_spec *spec) {
    const char *p = cli_get(&embed_cmd, a, "precision");
    int prec = p ? precision_parse(p) : PREC_FLOAT;
    if (prec < 0) {
        cli_error(&embed_cmd, "--precision must be float, int8, uint8, binary or ubinary (got '%s')", p);
        return CLI_USAGE;
    }
    spec->prec = (precision)prec;
    if (spec->prec != PREC_FLOAT && spec->outputs != TE_OUTPUT_DENSE) {
        cli_error(&embed_cmd, "--precision %s applies to dense vectors: not with --output", p);
        return CLI_USAGE;
    }
    return CLI_OK;
}

/* int8 / uint8 quantize the model's own vectors by its calibrated range (precision_range_refusal): the file
 * must have one (exit 1), and the mean of --chunk is unit length (usage). */
static int check_range(const cli_session *s, out_spec *spec) {
    spec->m = s->m;
    if (spec->prec != PREC_INT8 && spec->prec != PREC_UINT8) return CLI_OK;
    const char *why = precision_range_refusal(&s->info, 0, spec->chunk && !spec->each);
    if (!why) return CLI_OK;
    cli_error(&embed_cmd, "--precision %s: this model %s", precision_name(spec->prec), why);
    return s->info.output_range ? CLI_USAGE : CLI_FAIL;
}

/* --chunk, --overlap and --reduce into spec. */
static int parse_chunking(const cli_args *a, out_spec *spec) {
    long n, m;
    const char *r = cli_get(&embed_cmd, a, "reduce");
    if (cli_get_int(&embed_cmd, a, "chunk", 1, 1L << 20, 0, &n) != CLI_OK) return CLI_USAGE;
    if (cli_get_int(&embed_cmd, a, "overlap", 0, 1L << 20, 0, &m) != CLI_OK) return CLI_USAGE;
    spec->chunk = (size_t)n;
    spec->overlap = (size_t)m;
    spec->each = r && !strcmp(r, "none");
    if (!n && (cli_get(&embed_cmd, a, "overlap") || r)) {
        cli_error(&embed_cmd, "--overlap and --reduce go with --chunk N");
        return CLI_USAGE;
    }
    if (r && strcmp(r, "mean") && strcmp(r, "none")) {
        cli_error(&embed_cmd, "--reduce must be mean or none (got '%s')", r);
        return CLI_USAGE;
    }
    if (n && (spec->outputs != TE_OUTPUT_DENSE || (spec->each && (spec->fmt != FMT_JSON || spec->prec != PREC_FLOAT)))) {
        cli_error(&embed_cmd, "--chunk gives dense vectors; --reduce none gives float vectors as JSON");
        return CLI_USAGE;
    }
    return CLI_OK;
}

/* --format and --output into spec; the model's outputs are checked by te_embed_multi. */
static int parse_spec(const cli_args *a, out_spec *spec) {
    const char *f = cli_get(&embed_cmd, a, "format"), *o = cli_get(&embed_cmd, a, "output");
    if (f && strcmp(f, "json") && strcmp(f, "tsv") && strcmp(f, "bin")) {
        cli_error(&embed_cmd, "--format must be json, tsv or bin (got '%s')", f);
        return CLI_USAGE;
    }
    spec->fmt = !f || !strcmp(f, "json") ? FMT_JSON : !strcmp(f, "tsv") ? FMT_TSV : FMT_BIN;
    spec->outputs = o ? parse_outputs(o) : TE_OUTPUT_DENSE;
    if (!spec->outputs) {
        cli_error(&embed_cmd, "--output takes dense, sparse and colbert, comma-separated (got '%s')", o);
        return CLI_USAGE;
    }
    if (spec->outputs != TE_OUTPUT_DENSE && spec->fmt != FMT_JSON) {
        cli_error(&embed_cmd, "--format %s holds one dense vector per text: --output %s needs --format json", f, o);
        return CLI_USAGE;
    }
    return parse_precision(a, spec) == CLI_OK ? parse_chunking(a, spec) : CLI_USAGE;
}

int cmd_embed(int argc, char **argv) {
    cli_args a;
    int rc = cli_parse(&embed_cmd, argc, argv, &a);
    if (rc != CLI_OK) return rc == CLI_HELP ? 0 : rc;
    out_spec spec;
    if ((rc = parse_spec(&a, &spec)) != CLI_OK) return rc;
    cli_session s;
    if ((rc = cli_session_open(&embed_cmd, &a, &s)) != CLI_OK) return rc;
    const char *prefix = s.prefix;
    size_t cut = 0, texts = 0;
    rc = check_range(&s, &spec);
    if (rc == CLI_OK && a.n_pos > 0) {
        cli_prefixed pre = {0};
        rc = embed_texts(&s, &pre, prefix, a.pos, NULL, (size_t)a.n_pos, &spec, &cut);
        texts = (size_t)a.n_pos;
        cli_prefixed_free(&pre);
    } else if (rc == CLI_OK) {
        rc = embed_stdin(&s, prefix, &spec, &cut, &texts);
    }
    if (rc == 0) cli_truncation_note(&embed_cmd, &s, cut, texts, "texts were");
    cli_session_close(&s);
    if (rc == 0 && fflush(stdout) != 0) {
        cli_error(&embed_cmd, "cannot write the output");
        rc = CLI_FAIL;
    }
    return rc;
}

int cmd_similarity(int argc, char **argv) {
    cli_args a;
    int rc = cli_parse(&sim_cmd, argc, argv, &a);
    if (rc != CLI_OK) return rc == CLI_HELP ? 0 : rc;
    cli_session s;
    if ((rc = cli_session_open(&sim_cmd, &a, &s)) != CLI_OK) return rc;
    size_t n = (size_t)a.n_pos, dim = (size_t)s.info.hidden_size;
    float *e = malloc(n * dim * sizeof *e);
    te_error err;
    if (!e) { cli_error(&sim_cmd, "out of memory"); rc = CLI_FAIL; }
    else if (te_embed(s.ctx, a.pos, NULL, n, e, &err) != TE_OK) rc = cli_lib_error(&sim_cmd, &err);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        for (size_t j = 0; j < n; j++) {
            double dot = 0, ni = 0, nj = 0;
            for (size_t k = 0; k < dim; k++) {
                dot += (double)e[i * dim + k] * e[j * dim + k];
                ni += (double)e[i * dim + k] * e[i * dim + k];
                nj += (double)e[j * dim + k] * e[j * dim + k];
            }
            printf("%s%.6f", j ? "\t" : "", ni > 0 && nj > 0 ? dot / sqrt(ni * nj) : 0.0);
        }
        putchar('\n');
    }
    free(e);
    cli_session_close(&s);
    return rc;
}
