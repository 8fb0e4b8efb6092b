/*
 * cmd_tokenize.c - `tinyembed tokenize -m MODEL [TEXT ...]`: one JSON array
 * of token ids per text ([CLS] and [SEP] included), from the arguments or
 * from stdin, one text per line. Lines end at '\n' only: U+2028, U+0085,
 * vertical tab and form feed are part of the text.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const cli_opt opts[] = {
    {"model", 'm', "MODEL", "the .temb model (default: the model bundled in this executable)"},
    {"max-len", 0, "N", "truncate to N tokens, [CLS] and [SEP] included (default: the model's max sequence length)"},
    {"tokens", 0, NULL, "print the token strings instead of the ids"},
    {NULL, 0, NULL, NULL},
};

static const cli_cmd cmd = {
    "tokenize", "[TEXT ...]",
    "Print the token ids of each TEXT, or of each line of stdin, as one JSON array per line.",
    NULL, opts, 0, CLI_MAX_POS,
};

/* A byte-level BPE token's bytes as Hugging Face spells them: each byte by GPT-2's printable stand-in
 * (U+0120 for a space, ...), which is what convert_ids_to_tokens shows. Writes UTF-8 into out[cap]. */
static void byte_level_spelling(const char *t, size_t len, char *out, size_t cap) {
    size_t n = 0;
    for (size_t i = 0; i < len && n + 3 <= cap; i++) {
        unsigned b = (unsigned char)t[i]; /* printable: itself; the others, in byte order, U+0100 on */
        unsigned cp = b <= 32 ? 256 + b : b >= 127 && b <= 160 ? 289 + (b - 127) : b == 173 ? 323 : b;
        if (cp < 0x80) out[n++] = (char)cp;
        else out[n++] = (char)(0xC0 | (cp >> 6)), out[n++] = (char)(0x80 | (cp & 0x3F));
    }
    out[n] = '\0';
}

static void print_ids(const te_model *m, const int32_t *ids, size_t n, int as_text) {
    te_model_info in;
    te_model_get_info(m, &in);
    int byte_level = !strcmp(in.tokenizer.model, "bpe");
    putchar('[');
    for (size_t i = 0; i < n; i++) {
        if (i) putchar(',');
        if (!as_text) {
            printf("%d", (int)ids[i]);
            continue;
        }
        size_t len;
        const char *t = te_token_text(m, ids[i], &len);
        char buf[512];
        if (byte_level && t) byte_level_spelling(t, len, buf, sizeof buf);
        else snprintf(buf, sizeof buf, "%.*s", t ? (int)len : 0, t ? t : "");
        cli_json_str(stdout, buf);
    }
    fputs("]\n", stdout);
}

int cmd_tokenize(int argc, char **argv) {
    cli_args a;
    int rc = cli_parse(&cmd, argc, argv, &a);
    if (rc != CLI_OK) return rc == CLI_HELP ? 0 : rc;
    char self[CLI_PATH_MAX];
    const char *path;
    if ((rc = cli_model_path(&cmd, &a, NULL, self, sizeof self, &path)) != CLI_OK) return rc;
    long max_len;
    if ((rc = cli_get_int(&cmd, &a, "max-len", 2, 1 << 20, 0, &max_len)) != CLI_OK) return rc;
    te_error err;
    te_model *m = te_open(path, NULL, &err);
    if (!m) return cli_lib_error(&cmd, &err);
    te_model_info in;
    te_model_get_info(m, &in);
    size_t cap = max_len ? (size_t)max_len : (size_t)in.max_seq_length;
    int as_text = cli_flag(&cmd, &a, "tokens");
    int32_t *ids = malloc(cap * sizeof *ids);
    if (!ids) {
        te_close(m);
        cli_error(&cmd, "out of memory");
        return CLI_FAIL;
    }
    size_t n;
    rc = 0;
    if (a.n_pos > 0) {
        for (int i = 0; i < a.n_pos && rc == 0; i++) {
            if (te_tokenize(m, a.pos[i], strlen(a.pos[i]), ids, cap, &n, &err) != TE_OK) rc = cli_lib_error(&cmd, &err);
            else print_ids(m, ids, n, as_text);
        }
    } else {
        char *line = NULL;
        size_t line_cap = 0;
        ssize_t len;
        while (rc == 0 && (len = getline(&line, &line_cap, stdin)) >= 0) {
            if (len > 0 && line[len - 1] == '\n') len--;
            if (te_tokenize(m, line, (size_t)len, ids, cap, &n, &err) != TE_OK) rc = cli_lib_error(&cmd, &err);
            else print_ids(m, ids, n, as_text);
        }
        free(line);
    }
    free(ids);
    te_close(m);
    if (rc == 0 && fflush(stdout) != 0) {
        cli_error(&cmd, "cannot write the output");
        rc = CLI_FAIL;
    }
    return rc;
}
