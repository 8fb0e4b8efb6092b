/*
 * main.c - the `tinyembed` binary: dispatches to one subcommand per file.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cli.h"

typedef struct command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} command;

static const command commands[] = {
    {"convert", cmd_convert, "convert a Hugging Face model directory to a .temb file"},
    {"quantize", cmd_quantize, "rewrite an f32 .temb file with int8, f16 or bf16 weights"},
    {"calibrate", cmd_calibrate, "rewrite an embedding model with its int8 / uint8 output range calibrated on texts"},
    {"info", cmd_info, "print a model's metadata (--json for one JSON object)"},
    {"verify", cmd_verify, "check every checksum of a model file"},
    {"tokenize", cmd_tokenize, "print the token ids of texts (arguments or stdin lines)"},
    {"embed", cmd_embed, "print embeddings of texts (arguments or stdin lines)"},
    {"similarity", cmd_similarity, "print the cosine-similarity matrix of texts"},
    {"classify", cmd_classify, "print label scores of texts with a classifier (arguments or stdin lines)"},
    {"rerank", cmd_rerank, "rank texts by relevance to a query with a cross-encoder"},
    {"bench", cmd_bench, "measure throughput and latency (W1, W2, --tokenizer)"},
    {"serve", cmd_serve, "serve models over HTTP (OpenAI and TEI routes: embed, predict, rerank; health, metrics)"},
    {"models", cmd_models, "load a registry config (many models) and print each model's state"},
    {"bundle", cmd_bundle, "write one executable with a model appended (then no --model is needed)"},
    {"index", cmd_index, "build a search index (.tidx) of documents: vectors and BM25"},
    {"search", cmd_search, "search an index: vector, BM25 or hybrid; one JSON line per query"},
    {"audit", cmd_audit, "measure retrieval quality and latency (MRR, recall, nDCG) on known queries"},
    {"profile", cmd_profile, "time a fresh process's way to its first embedding, stage by stage"},
};

static void usage(FILE *f) {
    fprintf(f, "tinyembed %s - sentence embeddings, classification and reranking with BERT-family models\n\n", TE_VERSION_STRING);
    fprintf(f, "usage: tinyembed COMMAND [options] [arguments]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
        fprintf(f, "  %-12s %s\n", commands[i].name, commands[i].summary);
    fprintf(f, "\n'tinyembed COMMAND --help' describes a command's options.\n");
}

int main(int argc, char **argv) {
    double start = cli_now_s(); /* for `profile`: spawn to main */
    /* Past a file-size limit (ulimit -f) a write then fails with EFBIG, which the
     * writers report and clean up after, instead of the process being killed
     * mid-file. */
    signal(SIGXFSZ, SIG_IGN);
    if (argc < 2) {
        usage(stderr);
        return CLI_USAGE;
    }
    const char *name = argv[1];
    if (strcmp(name, "-h") == 0 || strcmp(name, "--help") == 0 || strcmp(name, "help") == 0) {
        usage(stdout);
        return 0;
    }
    if (strcmp(name, "--version") == 0 || strcmp(name, "version") == 0) {
        printf("tinyembed %s\n", TE_VERSION_STRING);
        return 0;
    }
    if (strcmp(name, "__profile-child") == 0)
        return cmd_profile_child(argc - 1, argv + 1, start * 1e3);
    for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
        if (strcmp(name, commands[i].name) == 0) return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "tinyembed: error: unknown command '%s' (see 'tinyembed --help')\n", name);
    return CLI_USAGE;
}
