/*
 * cmd_quantize.c - `tinyembed quantize IN.temb OUT.temb --dtype int8`: an
 * existing f32 model file rewritten with int8 (or f16 / bf16) weights.
 */
#include <stdio.h>

#include "cli.h"

static const cli_opt opts[] = {
    {"dtype", 0, "TYPE", "int8 (default), f16 or bf16"},
    {NULL, 0, NULL, NULL},
};

static const cli_cmd cmd = {
    "quantize", "IN.temb OUT.temb",
    "Rewrite an f32 .temb file with int8 (or f16 / bf16) linear weights and word table.",
    "int8: one scale per output row (symmetric); LayerNorm parameters and biases stay f32.\n"
    "The result is the same file `convert --dtype` makes from the Hugging Face model.",
    opts, 2, 2,
};

static void progress(void *user, uint64_t done, uint64_t total) { cli_progress_update(user, done, total); }

int cmd_quantize(int argc, char **argv) {
    cli_args a;
    int rc = cli_parse(&cmd, argc, argv, &a);
    if (rc != CLI_OK) return rc == CLI_HELP ? 0 : rc;
    const char *name = cli_get(&cmd, &a, "dtype");
    te_dtype dtype = TE_DTYPE_I8;
    if (name && (te_dtype_parse(name, &dtype) != 0 || dtype == TE_DTYPE_F32)) {
        cli_error(&cmd, "--dtype must be int8, f16 or bf16 (got '%s')", name);
        return CLI_USAGE;
    }
    cli_progress bar;
    cli_progress_init(&bar, "quantizing");
    te_error err;
    te_status st = te_quantize(a.pos[0], a.pos[1], dtype, progress, &bar, &err);
    cli_progress_done(&bar);
    if (st != TE_OK) return cli_lib_error(&cmd, &err);
    fprintf(stderr, "wrote %s\n", a.pos[1]);
    return 0;
}
