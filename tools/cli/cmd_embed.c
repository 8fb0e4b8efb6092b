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

#include "cli.h"

#define CHUNK_LINES CLI_CHUNK_LINES

static const cli_opt embed_opts[] = {
    {"model", 'm', "MODEL", "the .temb model (default: the model bundled in this executable)"},
    {"threads", 't', "N", "worker threads (default: one per core)"},
    {"batch", 'b', "N", "texts per forward pass (default 32)"},
    {"format", 'f', "FMT", "json (default): one array per line; tsv; bin: raw little-endian float32"},
    {"prefix", 'p', "STR", "prepend STR to every text, e.g. 'search_query: ' for nomic-embed-text"},
    {"max-len", 0, "N", "cut texts at N tokens, special tokens included (default and upper bound: the model's)"},
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
    "of the text; --prefix adds one to every text.",
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

static void write_vectors(const float *v, size_t n, int dim, out_format fmt) {
    if (fmt == FMT_BIN) {
        /* little-endian on every host */
        for (size_t i = 0; i < n * (size_t)dim; i++) {
            uint32_t u;
            memcpy(&u, &v[i], 4);
            unsigned char b[4] = {(unsigned char)u, (unsigned char)(u >> 8), (unsigned char)(u >> 16), (unsigned char)(u >> 24)};
            fwrite(b, 1, 4, stdout);
        }
        return;
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
}

/* Embeds n texts (with the prefix) and writes them; counts the texts cut. */
static int embed_texts(cli_session *s, cli_prefixed *pre, const char *prefix, const char *const *texts,
                       const size_t *lens, size_t n, out_format fmt, size_t *cut) {
    float *out = malloc((n ? n : 1) * (size_t)s->info.hidden_size * sizeof *out);
    uint8_t *trunc = malloc(n ? n : 1);
    te_error err;
    int rc = CLI_OK;
    if (!out || !trunc || cli_prefix(pre, prefix, texts, lens, n) != 0) {
        cli_error(&embed_cmd, "out of memory");
        rc = CLI_FAIL;
    } else if (te_embed_ex(s->ctx, pre->texts, pre->lens, n, out, trunc, &err) != TE_OK) {
        rc = cli_lib_error(&embed_cmd, &err);
    } else {
        write_vectors(out, n, s->info.hidden_size, fmt);
        *cut += cli_count_truncated(trunc, n);
    }
    free(out);
    free(trunc);
    return rc;
}

static int embed_stdin(cli_session *s, const char *prefix, out_format fmt, size_t *cut, size_t *texts) {
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
        rc = embed_texts(s, &pre, prefix, (const char *const *)lines, lens, n, fmt, cut);
        *texts += n;
        if (total) cli_progress_update(&bar, bytes, total);
        else cli_progress_count(&bar, *texts, "texts");
    }
    cli_progress_done(&bar);
    for (size_t i = 0; i < CHUNK_LINES; i++) free(lines[i]);
    cli_prefixed_free(&pre);
    return rc;
}

int cmd_embed(int argc, char **argv) {
    cli_args a;
    int rc = cli_parse(&embed_cmd, argc, argv, &a);
    if (rc != CLI_OK) return rc == CLI_HELP ? 0 : rc;
    out_format fmt = FMT_JSON;
    const char *f = cli_get(&embed_cmd, &a, "format");
    if (f && strcmp(f, "json") && strcmp(f, "tsv") && strcmp(f, "bin")) {
        cli_error(&embed_cmd, "--format must be json, tsv or bin (got '%s')", f);
        return CLI_USAGE;
    }
    if (f && !strcmp(f, "tsv")) fmt = FMT_TSV;
    if (f && !strcmp(f, "bin")) fmt = FMT_BIN;
    cli_session s;
    if ((rc = cli_session_open(&embed_cmd, &a, &s)) != CLI_OK) return rc;
    const char *prefix = cli_get(&embed_cmd, &a, "prefix");
    size_t cut = 0, texts = 0;
    if (a.n_pos > 0) {
        cli_prefixed pre = {0};
        rc = embed_texts(&s, &pre, prefix, a.pos, NULL, (size_t)a.n_pos, fmt, &cut);
        texts = (size_t)a.n_pos;
        cli_prefixed_free(&pre);
    } else {
        rc = embed_stdin(&s, prefix, fmt, &cut, &texts);
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
