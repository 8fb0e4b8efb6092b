/*
 * cmd_calibrate.c - `tinyembed calibrate IN.temb [OUT.temb] [--texts FILE]`:
 * an embedding model rewritten with its int8 / uint8 output range calibrated
 * on the built-in sample or on the user's own texts (see te_calibrate).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const cli_opt opts[] = {
    {"texts", 0, "FILE", "calibrate on these texts, one per line (empty lines skipped); default: the built-in sample"},
    {NULL, 0, NULL, NULL},
};

static const cli_cmd cmd = {
    "calibrate", "IN.temb [OUT.temb]",
    "Rewrite an embedding model with its int8 / uint8 output range calibrated on texts (OUT defaults to IN).",
    "The range is each dimension's min and max over the model's embeddings of the texts; int8 and uint8\n"
    "outputs map it onto 256 steps (values outside saturate), the same for a text whatever its batch.\n"
    "convert and quantize calibrate on a built-in sample of ~80 short texts in many languages; a few\n"
    "hundred texts like the ones the model will embed give a range that fits them better.\n"
    "Weights and everything else are copied as they are; the file is replaced atomically.",
    opts, 1, 2,
};

typedef struct text_list {
    char **v;
    size_t n, cap;
} text_list;

static void texts_free(text_list *t) {
    for (size_t i = 0; i < t->n; i++) free(t->v[i]);
    free(t->v);
}

/* The non-empty lines of `path` (without their '\n'). Returns 0, or -1 after printing why not. */
static int read_texts(const char *path, text_list *t) {
    FILE *f = fopen(path, "r");
    if (!f) {
        cli_error(&cmd, "%s: %s", path, strerror(errno));
        return -1;
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    int rc = 0;
    while (rc == 0 && (len = getline(&line, &cap, f)) >= 0) {
        if (len > 0 && line[len - 1] == '\n') line[--len] = '\0';
        if (len == 0) continue;
        if (t->n == t->cap) {
            size_t nc = t->cap ? 2 * t->cap : 256;
            char **nv = realloc(t->v, nc * sizeof *nv);
            if (!nv) { rc = -1; break; }
            t->v = nv;
            t->cap = nc;
        }
        if (!(t->v[t->n] = strdup(line))) rc = -1;
        else t->n++;
    }
    if (rc != 0) cli_error(&cmd, "out of memory reading %s", path);
    else if (ferror(f)) rc = -1, cli_error(&cmd, "%s: read error", path);
    else if (t->n == 0) rc = -1, cli_error(&cmd, "%s has no texts (no non-empty lines)", path);
    free(line);
    fclose(f);
    return rc;
}

int cmd_calibrate(int argc, char **argv) {
    cli_args a;
    int rc = cli_parse(&cmd, argc, argv, &a);
    if (rc != CLI_OK) return rc == CLI_HELP ? 0 : rc;
    const char *in = a.pos[0], *out = a.n_pos > 1 ? a.pos[1] : a.pos[0], *file = cli_get(&cmd, &a, "texts");
    text_list t = {0};
    if (file && read_texts(file, &t) != 0) {
        texts_free(&t);
        return CLI_FAIL;
    }
    te_error err;
    te_status st = te_calibrate(in, out, file ? (const char *const *)t.v : NULL, t.n, &err);
    texts_free(&t);
    if (st != TE_OK) return cli_lib_error(&cmd, &err);
    te_model *m = te_open(out, NULL, &err);
    if (!m) return cli_lib_error(&cmd, &err);
    te_model_info info;
    te_model_get_info(m, &info);
    fprintf(stderr, "wrote %s: output range calibrated on %d texts\n", out, info.output_range_texts);
    te_close(m);
    return 0;
}
