/*
 * registry_json.c - the registry as JSON (see registry_json.h).
 */
#include "registry_json.h"

#include <stdlib.h>
#include <string.h>

void json_str_or_null(strbuf *o, const char *s) {
    if (s) sb_json_str(o, s, strlen(s));
    else sb_puts(o, "null");
}

te_reg_status *registry_statuses(te_registry *r, size_t *n) {
    *n = te_registry_count(r);
    te_reg_status *st = calloc(*n ? *n : 1, sizeof *st);
    for (size_t i = 0; st && i < *n; i++) te_registry_status(r, i, &st[i]);
    return st;
}

/* A name list of the models whose state is `want`. */
static void name_list(const te_reg_status *st, size_t n, te_reg_state want, strbuf *o) {
    sb_puts(o, "[");
    int first = 1;
    for (size_t i = 0; i < n; i++) {
        if (st[i].state != want) continue;
        if (!first) sb_puts(o, ", ");
        json_str_or_null(o, st[i].name);
        first = 0;
    }
    sb_puts(o, "]");
}

void registry_model_json(const te_reg_status *s, strbuf *o) {
    sb_puts(o, "{\"name\": ");
    json_str_or_null(o, s->name);
    sb_puts(o, ", \"path\": ");
    json_str_or_null(o, s->path);
    sb_printf(o, ", \"kind\": \"%s\", \"load\": \"%s\", \"state\": \"%s\", \"reloading\": %s,\n", te_kind_name(s->kind),
              s->first_use ? "first-use" : "startup", te_reg_state_name(s->state), s->reloading ? "true" : "false");
    sb_printf(o, "     \"strategy\": \"%s\", ", te_strategy_name(s->strategy));
    if (s->load_started_at > 0) sb_printf(o, "\"load_started_at\": %.3f, ", s->load_started_at);
    else sb_puts(o, "\"load_started_at\": null, ");
    if (s->loaded_at > 0) sb_printf(o, "\"loaded_at\": %.3f, \"load_ms\": %.3f,\n", s->loaded_at, s->load_ms);
    else sb_puts(o, "\"loaded_at\": null, \"load_ms\": null,\n");
    sb_printf(o, "     \"warmup\": %s, \"warmed_up\": %s, \"warmup_ms\": ", s->warmup ? "true" : "false",
              s->warmed_up ? "true" : "false");
    if (s->warmed_up) sb_printf(o, "%.3f,\n", s->warmup_ms);
    else sb_puts(o, "null,\n");
    if (s->generation > 0) {
        sb_printf(o, "     \"version\": {\"fingerprint\": \"%08x\", \"generation\": %llu, \"converter\": ", s->fingerprint,
                  (unsigned long long)s->generation);
        json_str_or_null(o, s->converter);
        sb_puts(o, ", \"model_name\": ");
        json_str_or_null(o, s->model_name);
        sb_printf(o, "},\n     \"dtype\": \"%s\", \"hidden_size\": %d, \"file_bytes\": %llu, \"file_bytes_present\": %llu, "
                  "\"resident_bytes\": %llu,\n", te_dtype_name(s->dtype), s->hidden_size, (unsigned long long)s->file_bytes,
                  (unsigned long long)s->file_bytes_present, (unsigned long long)s->resident_bytes);
    } else {
        sb_puts(o, "     \"version\": null, \"dtype\": null, \"hidden_size\": ");
        if (s->hidden_size) sb_printf(o, "%d", s->hidden_size); /* known from the header, though not loaded */
        else sb_puts(o, "null");
        sb_puts(o, ", \"file_bytes\": null, \"file_bytes_present\": null, \"resident_bytes\": null,\n");
    }
    sb_printf(o, "     \"loads\": %llu, \"reloads\": %llu, \"calls\": %llu, \"fallback_calls\": %llu, \"live_versions\": %d,\n",
              (unsigned long long)s->loads, (unsigned long long)s->reloads, (unsigned long long)s->calls,
              (unsigned long long)s->fallback_calls, s->live_versions);
    sb_puts(o, "     \"declared_fallback\": ");
    json_str_or_null(o, s->fallback);
    sb_puts(o, ", \"fallback\": ");
    json_str_or_null(o, s->served_by);
    sb_puts(o, ", \"error\": ");
    json_str_or_null(o, s->error.code != TE_OK ? s->error.msg : NULL);
    sb_puts(o, "}");
}

void registry_json(te_registry *r, strbuf *o) {
    size_t n;
    te_reg_status *st = registry_statuses(r, &n);
    if (!st) {
        o->failed = 1;
        return;
    }
    sb_printf(o, "{\n  \"all_ready\": %s,\n  \"loaded_models\": ", te_registry_all_ready(r) ? "true" : "false");
    name_list(st, n, TE_REG_READY, o);
    sb_puts(o, ",\n  \"failed_models\": ");
    name_list(st, n, TE_REG_FAILED, o);
    sb_puts(o, ",\n  \"models\": [\n");
    for (size_t i = 0; i < n; i++) {
        sb_puts(o, "    ");
        registry_model_json(&st[i], o);
        sb_puts(o, i + 1 == n ? "\n" : ",\n");
    }
    sb_puts(o, "  ]\n}\n");
    free(st);
}
