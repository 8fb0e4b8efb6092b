/*
 * cmd_convert.c - `tinyembed convert HF_DIR OUT.temb`: a Hugging Face model
 * directory in, one mmap-able .temb file out.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

static const cli_opt opts[] = {
    {"dtype", 0, "TYPE", "weight dtype to write: f32 (default), f16, bf16, int8 (linear weights and word table)"},
    {"name", 0, "NAME", "model name to record (default: the directory name)"},
    {"pooling", 0, "MODE", "override pooling: mean or cls (default: from 1_Pooling/config.json)"},
    {"normalize", 0, NULL, "L2-normalize embeddings (default: if modules.json has Normalize)"},
    {"no-normalize", 0, NULL, "do not L2-normalize embeddings"},
    {"max-seq-length", 0, "N", "default truncation length (default: sentence_bert_config.json)"},
    {"verbose", 'v', NULL, "say which files and settings were used and which tensors were ignored"},
    {NULL, 0, NULL, NULL},
};

static const cli_cmd cmd = {
    "convert", "HF_DIR OUT.temb",
    "Convert a Hugging Face BERT model directory (config.json, model.safetensors,\n"
    "tokenizer files, sentence-transformers files) into a .temb file.",
    "The output is written under a temporary name and renamed when complete, so a\n"
    "failed or interrupted conversion never leaves a partial .temb behind.",
    opts, 2, 2,
};

/* Where the converter writes when the filesystem lacks O_TMPFILE; a signal
 * handler can only reach it through a global. */
static char part_path[4200];

static void on_signal(int sig) {
    if (part_path[0]) unlink(part_path);
    signal(sig, SIG_DFL);
    raise(sig);
}

static void note(void *user, const char *msg) {
    (void)user;
    fprintf(stderr, "  %s\n", msg);
}

static void progress(void *user, uint64_t done, uint64_t total) { cli_progress_update(user, done, total); }

int cmd_convert(int argc, char **argv) {
    cli_args a;
    int rc = cli_parse(&cmd, argc, argv, &a);
    if (rc != CLI_OK) return rc == CLI_HELP ? 0 : rc;
    te_convert_opts o;
    te_convert_opts_default(&o);
    const char *dtype = cli_get(&cmd, &a, "dtype"), *pool = cli_get(&cmd, &a, "pooling");
    if (dtype && te_dtype_parse(dtype, &o.dtype) != 0) {
        cli_error(&cmd, "--dtype must be f32, f16, bf16 or int8 (got '%s')", dtype);
        return CLI_USAGE;
    }
    if (pool) {
        if (strcmp(pool, "mean") == 0) o.pooling = TE_POOL_MEAN;
        else if (strcmp(pool, "cls") == 0) o.pooling = TE_POOL_CLS;
        else { cli_error(&cmd, "--pooling must be mean or cls (got '%s')", pool); return CLI_USAGE; }
    }
    if (cli_flag(&cmd, &a, "normalize") && cli_flag(&cmd, &a, "no-normalize")) {
        cli_error(&cmd, "--normalize and --no-normalize contradict each other");
        return CLI_USAGE;
    }
    if (cli_flag(&cmd, &a, "normalize")) o.normalize = 1;
    if (cli_flag(&cmd, &a, "no-normalize")) o.normalize = 0;
    long seq;
    if ((rc = cli_get_int(&cmd, &a, "max-seq-length", 2, 1 << 20, 0, &seq)) != CLI_OK) return rc;
    o.max_seq_length = (int)seq;
    o.name = cli_get(&cmd, &a, "name");
    cli_progress bar;
    cli_progress_init(&bar, "converting");
    o.progress = progress;
    o.user = &bar;
    if (cli_flag(&cmd, &a, "verbose")) o.note = note;

    snprintf(part_path, sizeof part_path, "%s.part", a.pos[1]);
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    signal(SIGHUP, on_signal);
    te_error err;
    te_status st = te_convert(a.pos[0], a.pos[1], &o, &err);
    cli_progress_done(&bar);
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    signal(SIGHUP, SIG_DFL);
    if (st != TE_OK) return cli_lib_error(&cmd, &err);
    fprintf(stderr, "wrote %s\n", a.pos[1]);
    return 0;
}
