/*
 * cli.h - what every subcommand shares: option parsing with the same
 * conventions everywhere (options before or after positional arguments,
 * "--opt value" or "--opt=value", "--" ends options, -h/--help), error
 * reporting on stderr, and a progress bar for terminals.
 *
 * Exit codes: 0 success, 1 the operation failed, 2 bad usage.
 */
#ifndef TE_CLI_H
#define TE_CLI_H

#include <stdint.h>
#include <stdio.h>

#include "tinyembed.h"
#include "tinyembed_json.h"

#define CLI_MAX_OPTS 32
#define CLI_MAX_POS 4096

typedef struct cli_opt {
    const char *name;   /* long name without dashes */
    char short_name;    /* 0 for none */
    const char *arg;    /* placeholder for the value; NULL for a flag */
    const char *help;
} cli_opt;

typedef struct cli_cmd {
    const char *name;      /* "convert" */
    const char *args;      /* positional synopsis, e.g. "HF_DIR OUT.temb" */
    const char *summary;   /* one line */
    const char *details;   /* extra help text, may be NULL */
    const cli_opt *opts;   /* terminated by an entry with name NULL */
    int min_pos, max_pos;  /* allowed count of positional arguments */
} cli_cmd;

#define CLI_MAX_REPEAT 64

typedef struct cli_args {
    const char *val[CLI_MAX_OPTS]; /* value per option ("" for a set flag), NULL if absent: the last one given */
    int rep_opt[CLI_MAX_REPEAT];   /* every option value in command-line order (for repeatable options) */
    const char *rep_val[CLI_MAX_REPEAT];
    int n_rep;
    const char *pos[CLI_MAX_POS];
    int n_pos;
} cli_args;

enum { CLI_OK = 0, CLI_FAIL = 1, CLI_USAGE = 2, CLI_HELP = -1 };

/* Parses argv[1..] (argv[0] is the subcommand name). Returns CLI_OK, CLI_HELP
 * (help was printed: exit 0) or CLI_USAGE (an error was printed). */
int cli_parse(const cli_cmd *cmd, int argc, char **argv, cli_args *out);

/* The value of option `name` or NULL. */
const char *cli_get(const cli_cmd *cmd, const cli_args *a, const char *name);
int cli_flag(const cli_cmd *cmd, const cli_args *a, const char *name);
/* Every value given to a repeatable option, in order: fills vals[0..cap) and returns the count. */
int cli_get_each(const cli_cmd *cmd, const cli_args *a, const char *name, const char **vals, int cap);

/* Integer option in [lo, hi]; returns CLI_OK or CLI_USAGE (after printing). */
int cli_get_int(const cli_cmd *cmd, const cli_args *a, const char *name, long lo, long hi, long def, long *out);

/* A byte size option ("16M", "512K", "1G", "4096"); *out 0 when absent. */
int cli_get_size(const cli_cmd *cmd, const cli_args *a, const char *name, size_t *out);

/* "tinyembed CMD: error: ..." on stderr. */
void cli_error(const cli_cmd *cmd, const char *fmt, ...)
#if defined(__GNUC__) || defined(__clang__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
/* Prints a library error and returns CLI_FAIL (or CLI_USAGE for TE_ERR_ARG). */
int cli_lib_error(const cli_cmd *cmd, const te_error *err);

void cli_print_help(const cli_cmd *cmd, FILE *f);

/* The loading strategy of --strategy (default: the TE_STRATEGY environment
 * variable, else lazy). Returns CLI_OK, or CLI_USAGE after printing the error. */
int cli_strategy(const cli_cmd *cmd, const cli_args *a, te_strategy *out);

/* The running executable's path (from /proc/self/exe, else argv[0] as the
 * shell resolved it) into buf; 0 when it cannot be found. */
int cli_self_exe(char *buf, size_t cap);
/* The running executable's path when a model is bundled in it, else NULL. */
const char *cli_self_bundle(char *buf, size_t cap);
/* The same with the reason: TE_OK with the path in buf, TE_ERR_NOT_FOUND
 * (no bundle), or the error of a damaged trailer in err. */
te_status cli_bundled_model(char *buf, size_t cap, te_error *err);
/* The model to open into *out: `given` if not NULL, else --model, else the
 * model bundled in this executable (its path in buf). Returns CLI_OK, or
 * CLI_USAGE (none) / CLI_FAIL (a damaged bundle) after printing the error. */
#define CLI_PATH_MAX 4096
int cli_model_path(const cli_cmd *cmd, const cli_args *a, const char *given, char *buf, size_t cap, const char **out);

/* Opens `path` (NULL: the --model option, else the bundled model) with the loading strategy of
 * --strategy (default: the TE_STRATEGY environment variable, else lazy).
 * Returns CLI_OK, or CLI_USAGE / CLI_FAIL after printing the error. */
int cli_open_model(const cli_cmd *cmd, const cli_args *a, const char *path, te_model **out);

/* A model and a context from the common options the command defines:
 * --model, --strategy, --threads, --batch, --simd (else env TE_SIMD),
 * --max-len (the context's max_seq_length), --max-memory (its scratch bound);
 * for commands with --prefix, the text to put in front of every input. */
typedef struct cli_session {
    te_model *m;
    te_ctx *ctx;
    te_model_info info;
    int max_len;         /* tokens per text (or pair) after --max-len */
    const char *prefix;  /* --prefix; else the model's prompt --prompt-name names, else its default prompt; or NULL */
} cli_session;
int cli_session_open(const cli_cmd *cmd, const cli_args *a, cli_session *s);
void cli_session_close(cli_session *s);

/* What a timing command runs on n texts: te_embed, or te_classify for a
 * classifier or reranker (out: per text max(hidden_size, num_labels) floats
 * at most, see cli_out_floats). */
te_status cli_infer(te_ctx *c, const te_model_info *in, const char *const *texts, size_t n, float *out, te_error *err);
size_t cli_out_floats(const te_model_info *in);

/* Texts with --prefix prepended (the prefix NULL: the texts themselves).
 * Reuses its buffer; the result is valid until the next call or free. */
typedef struct cli_prefixed {
    const char **texts;
    size_t *lens;
    char *buf;
    size_t cap_texts, cap_buf;
} cli_prefixed;
int cli_prefix(cli_prefixed *p, const char *prefix, const char *const *texts, const size_t *lens, size_t n);
void cli_prefixed_free(cli_prefixed *p);

/* Truncation is never silent: counts the texts cut to fit, then tells on
 * stderr how many of all were cut at how many tokens (nothing when none). */
size_t cli_count_truncated(const uint8_t *truncated, size_t n);
void cli_truncation_note(const cli_cmd *cmd, const cli_session *s, size_t cut, size_t total, const char *what);

/* Reads up to max lines of `in` (each without its '\n') into getline
 * buffers; adds the bytes read to *bytes. Returns the count (0 at the end). */
#define CLI_CHUNK_LINES 1024
size_t cli_read_lines(FILE *in, char **lines, size_t *caps, size_t *lens, size_t max, size_t *bytes);

/* The non-empty lines of a file, without their '\n' (calibration and benchmark texts). */
typedef struct cli_texts {
    char **v;
    size_t n;
} cli_texts;
/* Returns CLI_OK, or CLI_FAIL after printing why (a file that cannot be read or holds no text). */
int cli_texts_read(const cli_cmd *cmd, const char *path, cli_texts *t);
void cli_texts_free(cli_texts *t);

/* Progress bar on stderr, drawn only when stderr is a terminal. */
typedef struct cli_progress {
    int enabled;
    const char *label;
    int last_permille;
} cli_progress;
void cli_progress_init(cli_progress *p, const char *label);
void cli_progress_update(cli_progress *p, uint64_t done, uint64_t total);
/* When the total is unknown (a pipe): a running count, e.g. "12000 texts". */
void cli_progress_count(cli_progress *p, uint64_t done, const char *unit);
void cli_progress_done(cli_progress *p);

/* Scores ranked best first (ties keep input order): out[k] = the k-th best. */
typedef struct cli_ranked {
    float score;
    size_t index;
} cli_ranked;
void cli_rank(const float *scores, size_t n, cli_ranked *out);

/* Seconds on the monotonic clock (for timing). */
double cli_now_s(void); /* the programs' one clock: seconds on CLOCK_MONOTONIC */
/* qsort comparator for doubles, ascending. */
int cli_cmp_double(const void *a, const void *b);

/* Writes s (or its first n bytes) as a JSON string literal. */
void cli_json_str(FILE *f, const char *s);
void cli_json_strn(FILE *f, const char *s, size_t n);
/* {"name", "fingerprint" (8 hex digits), "dtype", "layers", "hidden"}: which model a result is of. */
void cli_json_model_info(FILE *f, const te_model_info *in);
/* A document id given in JSON: a string as it is, an integer number as its
 * decimal text (in buf); NULL for anything else. */
const char *cli_json_id(const te_json_value *v, char *buf, size_t cap);
/* Shortest decimal text that reads back as the same float. */
void cli_fmt_float(char *out, size_t cap, float v);

/* Subcommand entry points (argv[0] is the subcommand name). */
int cmd_convert(int argc, char **argv);
int cmd_quantize(int argc, char **argv);
int cmd_calibrate(int argc, char **argv);
int cmd_info(int argc, char **argv);
int cmd_verify(int argc, char **argv);
int cmd_tokenize(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_embed(int argc, char **argv);
int cmd_similarity(int argc, char **argv);
int cmd_classify(int argc, char **argv);
int cmd_rerank(int argc, char **argv);
int cmd_profile(int argc, char **argv);
int cmd_models(int argc, char **argv);
int cmd_serve(int argc, char **argv);
int cmd_bundle(int argc, char **argv);
int cmd_index(int argc, char **argv);
int cmd_search(int argc, char **argv);
int cmd_audit(int argc, char **argv);
/* The process `profile` spawns per run; t_main is when main() began (ms, CLOCK_MONOTONIC). */
int cmd_profile_child(int argc, char **argv, double t_main);

#endif
