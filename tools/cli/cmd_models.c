/*
 * cmd_models.c - `tinyembed models --config FILE`: loads a registry config
 * as the server would (start-up models in parallel, warmed up, fallbacks)
 * and prints the registry: a table, or one JSON object (--json) with the
 * keys the systems tinyembed replaces report (all_ready, loaded_models,
 * failed_models, models). Exit status 1 when a start-up model cannot serve.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "registry_json.h"

static const cli_opt models_opts[] = {
    {"config", 'c', "FILE", "the registry config (JSON; see README \"Many models\")"},
    {"json", 0, NULL, "print one JSON object instead of the table"},
    {"timeout", 0, "MS", "wait at most MS milliseconds for the start-up loads (default: until they end)"},
    {"all", 0, NULL, "also load the first-use models, as their first call would"},
    {NULL, 0, NULL, NULL},
};

static const cli_cmd models_cmd = {
    "models", "",
    "Load the models of a registry config as the server would and print their state.",
    "Start-up models load in parallel (and are warmed up unless \"warmup\": false); a model\n"
    "that fails is served by its fallback if it has one. Exits 1 if a start-up model\n"
    "(or, with --all, any model) can serve neither itself nor through a fallback, or\n"
    "if --timeout ran out first.",
    models_opts, 0, 0,
};

static void print_json(te_registry *r) {
    strbuf o = {0};
    registry_json(r, &o);
    if (!o.failed) fwrite(o.p, 1, o.n, stdout);
    sb_free(&o);
}

static void print_table(te_registry *r) {
    size_t n, ready = 0, failed = 0;
    te_reg_status *st = registry_statuses(r, &n);
    if (!st) {
        cli_error(&models_cmd, "out of memory");
        return;
    }
    int w = 5;
    for (size_t i = 0; i < n; i++) {
        int len = (int)strlen(st[i].name);
        if (len > w) w = len;
    }
    printf("%-*s  %-8s  %-9s  %-11s  %-5s  %4s  %9s  %9s  %-21s  %-8s  %s\n", w, "MODEL", "STATE", "LOAD", "STRATEGY",
           "DTYPE", "DIM", "LOAD ms", "WARMUP ms", "RESIDENT / FILE (MB)", "VERSION", "NOTE");
    for (size_t i = 0; i < n; i++) {
        const te_reg_status s = st[i];
        ready += s.state == TE_REG_READY;
        failed += s.state == TE_REG_FAILED;
        char dtype[8] = "-", dim[16] = "-", load[16] = "-", warm[16] = "-", bytes[32] = "-", ver[16] = "-";
        if (s.generation > 0) {
            snprintf(dtype, sizeof dtype, "%s", te_dtype_name(s.dtype));
            snprintf(dim, sizeof dim, "%d", s.hidden_size);
            snprintf(bytes, sizeof bytes, "%.1f / %.1f", (double)s.resident_bytes / 1e6, (double)s.file_bytes / 1e6);
            snprintf(ver, sizeof ver, "%08x", s.fingerprint);
        }
        if (s.loaded_at > 0) snprintf(load, sizeof load, "%.1f", s.load_ms);
        if (s.warmed_up) snprintf(warm, sizeof warm, "%.1f", s.warmup_ms);
        printf("%-*s  %-8s  %-9s  %-11s  %-5s  %4s  %9s  %9s  %-21s  %-8s  ", w, s.name, te_reg_state_name(s.state),
               s.first_use ? "first-use" : "startup", te_strategy_name(s.strategy), dtype, dim, load, warm, bytes, ver);
        if (s.served_by) printf("served by %s; ", s.served_by);
        else if (s.state == TE_REG_FAILED && s.fallback) printf("fallback %s cannot serve either; ", s.fallback);
        if (s.error.code != TE_OK) printf("%s", s.error.msg);
        else if (s.state == TE_REG_DECLARED) printf("loads on first use");
        printf("\n");
    }
    free(st);
    printf("\n%zu of %zu models ready, %zu failed; %s\n", ready, n, failed,
           te_registry_all_ready(r) ? "every start-up model serves" : "NOT every start-up model serves");
}

int cmd_models(int argc, char **argv) {
    cli_args a;
    int rc = cli_parse(&models_cmd, argc, argv, &a);
    if (rc != CLI_OK) return rc == CLI_HELP ? 0 : rc;
    const char *config = cli_get(&models_cmd, &a, "config");
    if (!config) {
        cli_error(&models_cmd, "--config FILE is required");
        return CLI_USAGE;
    }
    long timeout;
    if (cli_get_int(&models_cmd, &a, "timeout", 0, 86400000L, -1, &timeout) != CLI_OK) return CLI_USAGE;
    te_error err;
    te_registry *r = te_registry_from_config(config, &err);
    if (!r) return cli_lib_error(&models_cmd, &err);
    te_status st = te_registry_start(r, &err);
    if (st == TE_OK) st = te_registry_wait(r, (int)timeout, &err);
    te_error first_use_err = {TE_OK, ""};
    if (st != TE_ERR_TIMEOUT && cli_flag(&models_cmd, &a, "all")) {
        for (size_t i = 0; i < te_registry_count(r); i++) {
            te_reg_status s;
            te_model_ref ref;
            te_error e;
            te_registry_status(r, i, &s);
            if (!s.first_use) continue;
            if (te_registry_get(r, s.name, &ref, &e) == TE_OK) te_registry_release(r, &ref);
            else if (first_use_err.code == TE_OK) first_use_err = e;
        }
    }
    if (cli_flag(&models_cmd, &a, "json")) print_json(r);
    else print_table(r);
    fflush(stdout);
    if (st == TE_ERR_TIMEOUT) {
        /* A load still running cannot be cut short; the process exit ends it. */
        cli_error(&models_cmd, "timed out after %ld ms: %s", timeout, te_errmsg(&err));
        return CLI_FAIL;
    }
    if (st == TE_OK && first_use_err.code != TE_OK) {
        st = first_use_err.code;
        err = first_use_err;
    }
    te_registry_free(r);
    if (st != TE_OK) {
        cli_error(&models_cmd, "%s", te_errmsg(&err));
        return CLI_FAIL;
    }
    return 0;
}
