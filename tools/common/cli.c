/*
 * cli.c - option parsing, errors and progress for the subcommands (cli.h).
 */
#include "cli.h"
#include "strbuf.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int n_opts(const cli_cmd *cmd) {
    int n = 0;
    while (cmd->opts && cmd->opts[n].name) n++;
    return n;
}

void cli_error(const cli_cmd *cmd, const char *fmt, ...) {
    fprintf(stderr, "tinyembed %s: error: ", cmd->name);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

int cli_lib_error(const cli_cmd *cmd, const te_error *err) {
    cli_error(cmd, "%s", te_errmsg(err));
    return err->code == TE_ERR_ARG ? CLI_USAGE : CLI_FAIL;
}

void cli_print_help(const cli_cmd *cmd, FILE *f) {
    fprintf(f, "usage: tinyembed %s [options] %s\n\n%s\n", cmd->name, cmd->args, cmd->summary);
    if (cmd->details) fprintf(f, "\n%s\n", cmd->details);
    fprintf(f, "\noptions:\n");
    for (int i = 0; i < n_opts(cmd); i++) {
        const cli_opt *o = &cmd->opts[i];
        char left[64];
        if (o->short_name)
            snprintf(left, sizeof left, "-%c, --%s%s%s", o->short_name, o->name, o->arg ? " " : "", o->arg ? o->arg : "");
        else
            snprintf(left, sizeof left, "    --%s%s%s", o->name, o->arg ? " " : "", o->arg ? o->arg : "");
        fprintf(f, "  %-26s %s\n", left, o->help);
    }
    fprintf(f, "  %-26s %s\n", "-h, --help", "show this help");
}

static int find_long(const cli_cmd *cmd, const char *name, size_t len) {
    for (int i = 0; i < n_opts(cmd); i++)
        if (strlen(cmd->opts[i].name) == len && strncmp(cmd->opts[i].name, name, len) == 0) return i;
    return -1;
}

static int find_short(const cli_cmd *cmd, char c) {
    for (int i = 0; i < n_opts(cmd); i++)
        if (cmd->opts[i].short_name == c) return i;
    return -1;
}

int cli_parse(const cli_cmd *cmd, int argc, char **argv, cli_args *out) {
    memset(out, 0, sizeof *out);
    int only_pos = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (only_pos || a[0] != '-' || a[1] == '\0') {
            if (out->n_pos == CLI_MAX_POS) { cli_error(cmd, "too many arguments"); return CLI_USAGE; }
            out->pos[out->n_pos++] = a;
            continue;
        }
        if (strcmp(a, "--") == 0) { only_pos = 1; continue; }
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) { cli_print_help(cmd, stdout); return CLI_HELP; }
        int idx;
        const char *inline_val = NULL;
        if (a[1] == '-') {
            const char *eq = strchr(a + 2, '=');
            size_t len = eq ? (size_t)(eq - (a + 2)) : strlen(a + 2);
            idx = find_long(cmd, a + 2, len);
            if (eq) inline_val = eq + 1;
        } else {
            idx = a[2] == '\0' ? find_short(cmd, a[1]) : -1;
        }
        if (idx < 0) {
            cli_error(cmd, "unknown option '%s' (see 'tinyembed %s --help')", a, cmd->name);
            return CLI_USAGE;
        }
        const cli_opt *o = &cmd->opts[idx];
        if (!o->arg) {
            if (inline_val) { cli_error(cmd, "option --%s takes no value", o->name); return CLI_USAGE; }
            out->val[idx] = "";
            continue;
        }
        if (inline_val) {
            out->val[idx] = inline_val;
        } else {
            if (i + 1 >= argc) { cli_error(cmd, "option --%s needs a value (%s)", o->name, o->arg); return CLI_USAGE; }
            out->val[idx] = argv[++i];
        }
        if (out->n_rep == CLI_MAX_REPEAT) { cli_error(cmd, "too many options"); return CLI_USAGE; }
        out->rep_opt[out->n_rep] = idx;
        out->rep_val[out->n_rep++] = out->val[idx];
    }
    if (out->n_pos < cmd->min_pos || out->n_pos > cmd->max_pos) {
        if (out->n_pos < cmd->min_pos) cli_error(cmd, "missing argument (usage: tinyembed %s [options] %s)", cmd->name, cmd->args);
        else cli_error(cmd, "unexpected argument '%s' (usage: tinyembed %s [options] %s)", out->pos[cmd->max_pos], cmd->name, cmd->args);
        return CLI_USAGE;
    }
    return CLI_OK;
}

int cli_get_each(const cli_cmd *cmd, const cli_args *a, const char *name, const char **vals, int cap) {
    int i = find_long(cmd, name, strlen(name)), n = 0;
    for (int k = 0; k < a->n_rep && i >= 0; k++)
        if (a->rep_opt[k] == i && n < cap) vals[n++] = a->rep_val[k];
    return n;
}

const char *cli_get(const cli_cmd *cmd, const cli_args *a, const char *name) {
    int i = find_long(cmd, name, strlen(name));
    return i < 0 ? NULL : a->val[i];
}

int cli_flag(const cli_cmd *cmd, const cli_args *a, const char *name) { return cli_get(cmd, a, name) != NULL; }

int cli_get_int(const cli_cmd *cmd, const cli_args *a, const char *name, long lo, long hi, long def, long *out) {
    const char *s = cli_get(cmd, a, name);
    if (!s) { *out = def; return CLI_OK; }
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end != '\0' || v < lo || v > hi) {
        cli_error(cmd, "--%s must be an integer from %ld to %ld (got '%s')", name, lo, hi, s);
        return CLI_USAGE;
    }
    *out = v;
    return CLI_OK;
}

int cli_strategy(const cli_cmd *cmd, const cli_args *a, te_strategy *out) {
    *out = TE_STRATEGY_LAZY;
    const char *s = cli_get(cmd, a, "strategy"), *from = "--strategy";
    if (!s && (s = getenv("TE_STRATEGY")) && *s) from = "TE_STRATEGY";
    if (s && *s && te_strategy_parse(s, out) != 0) {
        cli_error(cmd, "%s must be lazy, eager, background, progressive or auto (got '%s')", from, s);
        return CLI_USAGE;
    }
    return CLI_OK;
}

int cli_open_model(const cli_cmd *cmd, const cli_args *a, const char *path, te_model **out) {
    *out = NULL;
    char self[CLI_PATH_MAX];
    int rc = cli_model_path(cmd, a, path, self, sizeof self, &path);
    if (rc != CLI_OK) return rc;
    te_open_opts o = {0};
    rc = cli_strategy(cmd, a, &o.strategy);
    if (rc != CLI_OK) return rc;
    te_error err;
    *out = te_open(path, &o, &err);
    return *out ? CLI_OK : cli_lib_error(cmd, &err);
}

int cli_get_size(const cli_cmd *cmd, const cli_args *a, const char *name, size_t *out) {
    const char *v = cli_get(cmd, a, name);
    *out = 0;
    if (!v) return CLI_OK;
    char *end;
    errno = 0;
    double n = strtod(v, &end);
    double unit = 1;
    if (*end == 'K' || *end == 'k') unit = 1024.0, end++;
    else if (*end == 'M' || *end == 'm') unit = 1024.0 * 1024, end++;
    else if (*end == 'G' || *end == 'g') unit = 1024.0 * 1024 * 1024, end++;
    if (*end == 'B' || *end == 'b') end++;
    if (errno || end == v || *end || !(n * unit >= 1) || n * unit > 1e18) {
        cli_error(cmd, "--%s must be a size such as 16M, 512K or 1G (got '%s')", name, v);
        return CLI_USAGE;
    }
    *out = (size_t)(n * unit);
    return CLI_OK;
}

/* --prefix is literal, as sentence-transformers' `prompt`; --prompt-name
 * picks one of the model's prompts; with neither, its default_prompt_name's. */
static int session_prefix(const cli_cmd *cmd, const cli_args *a, cli_session *s) {
    const char *lit = cli_get(cmd, a, "prefix"), *name = cli_get(cmd, a, "prompt-name"), *text = NULL;
    if (find_long(cmd, "prefix", 6) < 0) return CLI_OK;
    if (lit && name) {
        cli_error(cmd, "give --prefix (a literal text) or --prompt-name (one of the model's prompts), not both");
        return CLI_USAGE;
    }
    te_error err;
    if (lit) text = lit;
    else if (te_model_prompt_text(s->m, name, &text, &err) != TE_OK) return cli_lib_error(cmd, &err);
    s->prefix = text && *text ? text : NULL;
    return CLI_OK;
}

int cli_session_open(const cli_cmd *cmd, const cli_args *a, cli_session *s) {
    memset(s, 0, sizeof *s);
    long threads, batch, max_len;
    int rc;
    if ((rc = cli_get_int(cmd, a, "threads", 1, 256, 0, &threads)) != CLI_OK) return rc;
    if ((rc = cli_get_int(cmd, a, "batch", 1, 65536, 0, &batch)) != CLI_OK) return rc;
    if ((rc = cli_get_int(cmd, a, "max-len", 2, 1 << 20, 0, &max_len)) != CLI_OK) return rc;
    size_t max_memory = 0;
    if ((rc = cli_get_size(cmd, a, "max-memory", &max_memory)) != CLI_OK) return rc;
    const char *simd = cli_get(cmd, a, "simd");
    if (!simd) simd = getenv("TE_SIMD");
    if ((rc = cli_open_model(cmd, a, NULL, &s->m)) != CLI_OK) return rc;
    te_model_get_info(s->m, &s->info);
    if ((rc = session_prefix(cmd, a, s)) != CLI_OK) {
        cli_session_close(s);
        return rc;
    }
    te_error err;
    te_ctx_opts o = {.threads = (int)threads, .batch = (int)batch, .simd = simd, .max_seq_length = (int)max_len,
                     .max_memory = max_memory};
    s->ctx = te_ctx_new(s->m, &o, &err);
    if (!s->ctx) {
        te_close(s->m);
        s->m = NULL;
        return cli_lib_error(cmd, &err);
    }
    s->max_len = te_ctx_max_seq_length(s->ctx); /* after --max-len and --max-memory */
    return CLI_OK;
}

void cli_session_close(cli_session *s) {
    te_ctx_free(s->ctx);
    te_close(s->m);
    memset(s, 0, sizeof *s);
}

te_status cli_infer(te_ctx *c, const te_model_info *in, const char *const *texts, size_t n, float *out, te_error *err) {
    if (in->kind == TE_KIND_EMBEDDING) return te_embed(c, texts, NULL, n, out, err);
    return te_classify(c, texts, NULL, n, 0, out, NULL, err);
}

size_t cli_out_floats(const te_model_info *in) {
    return (size_t)(in->num_labels > in->hidden_size ? in->num_labels : in->hidden_size);
}

int cli_prefix(cli_prefixed *p, const char *prefix, const char *const *texts, const size_t *lens, size_t n) {
    size_t plen = prefix ? strlen(prefix) : 0, need = 0;
    for (size_t i = 0; i < n; i++) need += plen + (lens ? lens[i] : strlen(texts[i])) + 1;
    if (n > p->cap_texts) {
        const char **t = realloc(p->texts, n * sizeof *t);
        size_t *l = t ? realloc(p->lens, n * sizeof *l) : NULL;
        if (t) p->texts = t;
        if (!l) return -1;
        p->lens = l;
        p->cap_texts = n;
    }
    if (need > p->cap_buf) {
        char *b = realloc(p->buf, need);
        if (!b) return -1;
        p->buf = b;
        p->cap_buf = need;
    }
    char *at = p->buf;
    for (size_t i = 0; i < n; i++) {
        size_t len = lens ? lens[i] : strlen(texts[i]);
        memcpy(at, prefix ? prefix : "", plen);
        memcpy(at + plen, texts[i], len);
        at[plen + len] = '\0';
        p->texts[i] = at;
        p->lens[i] = plen + len;
        at += plen + len + 1;
    }
    return 0;
}

void cli_prefixed_free(cli_prefixed *p) {
    free(p->texts);
    free(p->lens);
    free(p->buf);
    memset(p, 0, sizeof *p);
}

size_t cli_count_truncated(const uint8_t *truncated, size_t n) {
    size_t cut = 0;
    for (size_t i = 0; i < n; i++) cut += truncated[i];
    return cut;
}

void cli_truncation_note(const cli_cmd *cmd, const cli_session *s, size_t cut, size_t total, const char *what) {
    if (cut == 0) return;
    int lowered = s->max_len < s->info.max_seq_length;
    fprintf(stderr, "tinyembed %s: note: %zu of %zu %s cut at %d tokens (%s)\n", cmd->name, cut, total, what,
            s->max_len, lowered ? "--max-len" : "the model's limit");
}

static int best_first(const void *a, const void *b) {
    const cli_ranked *x = a, *y = b;
    if (x->score != y->score) return x->score < y->score ? 1 : -1;
    return x->index < y->index ? -1 : x->index > y->index;
}

void cli_rank(const float *scores, size_t n, cli_ranked *out) {
    for (size_t i = 0; i < n; i++) out[i] = (cli_ranked){scores[i], i};
    qsort(out, n, sizeof *out, best_first);
}

size_t cli_read_lines(FILE *in, char **lines, size_t *caps, size_t *lens, size_t max, size_t *bytes) {
    size_t n = 0;
    while (n < max) {
        ssize_t len = getline(&lines[n], &caps[n], in);
        if (len < 0) break;
        *bytes += (size_t)len;
        if (len > 0 && lines[n][len - 1] == '\n') len--;
        lens[n++] = (size_t)len;
    }
    return n;
}

void cli_texts_free(cli_texts *t) {
    for (size_t i = 0; i < t->n; i++) free(t->v[i]);
    free(t->v);
    *t = (cli_texts){0};
}

/* Appends a copy of line; 0, or -1 without memory. */
static int texts_add(cli_texts *t, size_t *cap, const char *line) {
    if (t->n == *cap) {
        size_t nc = *cap ? 2 * *cap : 256;
        char **nv = realloc(t->v, nc * sizeof *nv);
        if (!nv) return -1;
        t->v = nv;
        *cap = nc;
    }
    if (!(t->v[t->n] = strdup(line))) return -1;
    t->n++;
    return 0;
}

int cli_texts_read(const cli_cmd *cmd, const char *path, cli_texts *t) {
    *t = (cli_texts){0};
    FILE *f = fopen(path, "r");
    if (!f) {
        cli_error(cmd, "%s: %s", path, strerror(errno));
        return CLI_FAIL;
    }
    char *line = NULL;
    size_t cap = 0, n_cap = 0;
    ssize_t len;
    int rc = CLI_OK;
    while (rc == CLI_OK && (len = getline(&line, &cap, f)) >= 0) {
        if (len > 0 && line[len - 1] == '\n') line[--len] = '\0';
        if (len > 0 && texts_add(t, &n_cap, line) != 0) rc = CLI_FAIL, cli_error(cmd, "out of memory reading %s", path);
    }
    if (rc == CLI_OK && ferror(f)) rc = CLI_FAIL, cli_error(cmd, "%s: read error", path);
    else if (rc == CLI_OK && t->n == 0) rc = CLI_FAIL, cli_error(cmd, "%s has no texts (no non-empty lines)", path);
    free(line);
    fclose(f);
    if (rc != CLI_OK) cli_texts_free(t);
    return rc;
}

void cli_progress_init(cli_progress *p, const char *label) {
    p->enabled = isatty(STDERR_FILENO);
    p->label = label;
    p->last_permille = -1;
}

void cli_progress_update(cli_progress *p, uint64_t done, uint64_t total) {
    if (!p->enabled || total == 0) return;
    int permille = (int)(done * 1000 / total);
    if (permille == p->last_permille) return;
    p->last_permille = permille;
    enum { WIDTH = 30 };
    char bar[WIDTH + 1];
    int fill = permille * WIDTH / 1000;
    for (int i = 0; i < WIDTH; i++) bar[i] = i < fill ? '#' : '.';
    bar[WIDTH] = '\0';
    fprintf(stderr, "\r%s [%s] %3d%%  %.1f / %.1f MB", p->label, bar, permille / 10, done / 1e6, total / 1e6);
    fflush(stderr);
}

void cli_progress_count(cli_progress *p, uint64_t done, const char *unit) {
    if (!p->enabled) return;
    fprintf(stderr, "\r%s %llu %s", p->label, (unsigned long long)done, unit);
    fflush(stderr);
    p->last_permille = 0;
}

void cli_progress_done(cli_progress *p) {
    if (p->enabled && p->last_permille >= 0) fputc('\n', stderr);
}

int cli_model_path(const cli_cmd *cmd, const cli_args *a, const char *given, char *buf, size_t cap, const char **out) {
    *out = given ? given : cli_get(cmd, a, "model");
    if (*out) return CLI_OK;
    te_error err;
    te_status st = cli_bundled_model(buf, cap, &err);
    if (st == TE_OK) *out = buf;
    else if (st == TE_ERR_CHECKSUM || st == TE_ERR_FORMAT) return cli_lib_error(cmd, &err); /* a bundle, damaged */
    else cli_error(cmd, "--model is required (or run a bundle made by `tinyembed bundle`, which carries its model)");
    return *out ? CLI_OK : CLI_USAGE;
}

double cli_now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int cli_cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

void cli_json_str(FILE *f, const char *s) { cli_json_strn(f, s, strlen(s)); }

void cli_json_strn(FILE *f, const char *s, size_t n) {
    strbuf b = {0};
    sb_json_str(&b, s, n);
    if (!b.failed) fwrite(b.p, 1, b.n, f);
    sb_free(&b);
}

void cli_json_model_info(FILE *f, const te_model_info *in) {
    fputs("{\"name\":", f);
    cli_json_str(f, in->name);
    fprintf(f, ",\"fingerprint\":\"%08x\",\"dtype\":\"%s\",\"layers\":%d,\"hidden\":%d}", (unsigned)in->fingerprint,
            te_dtype_name(in->dtype), in->num_layers, in->hidden_size);
}

const char *cli_json_id(const te_json_value *v, char *buf, size_t cap) {
    const char *s = te_json_string(v);
    if (s) return s;
    double d;
    if (!te_json_number(v, &d) || d != floor(d) || fabs(d) >= 9007199254740992.0) return NULL;
    snprintf(buf, cap, "%.0f", d);
    return buf;
}

void cli_fmt_float(char *out, size_t cap, float v) {
    for (int prec = 1; prec <= 9; prec++) {
        snprintf(out, cap, "%.*g", prec, (double)v);
        if (strtof(out, NULL) == v) return;
    }
}
