/*
 * cmd_calibrate.c - `tinyembed calibrate IN.temb [OUT.temb] [--texts FILE]`:
 * an embedding model rewritten with its int8 / uint8 output range calibrated
 * on the built-in sample or on the user's own texts (see te_calibrate).
 */
#include <stdio.h>

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

int cmd_calibrate(int argc, char **argv) {
    cli_args a;
    int rc = cli_parse(&cmd, argc, argv, &a);
    if (rc != CLI_OK) return rc == CLI_HELP ? 0 : rc;
    const char *in = a.pos[0], *out = a.n_pos > 1 ? a.pos[1] : a.pos[0], *file = cli_get(&cmd, &a, "texts");
    cli_texts t = {0};
    if (file && cli_texts_read(&cmd, file, &t) != CLI_OK) return CLI_FAIL;
    te_error err;
    te_status st = te_calibrate(in, out, file ? (const char *const *)t.v : NULL, t.n, &err);
    cli_texts_free(&t);
    if (st != TE_OK) return cli_lib_error(&cmd, &err);
    te_model *m = te_open(out, NULL, &err);
    if (!m) return cli_lib_error(&cmd, &err);
    te_model_info info;
    te_model_get_info(m, &info);
    fprintf(stderr, "wrote %s: output range calibrated on %d texts\n", out, info.output_range_texts);
    te_close(m);
    return 0;
}
