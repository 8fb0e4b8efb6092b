/*
 * serve_status.c - GET / on `tinyembed serve`: one HTML page a person can
 * read, with inline SVG and nothing else (no script, no stylesheet or font
 * to fetch): each model's state, version and load (a waterfall of load and
 * warmup), the page residency of its sections, and the traffic of the last
 * two minutes (requests per second and mean latency) with totals.
 * It refreshes itself every 5 s through a meta tag.
 */
#include <stdlib.h>
#include <string.h>

#include "registry_json.h"
#include "results.h"
#include "serve.h"
#include "svg.h"

static const char *const style =
    "body{font-family:sans-serif;margin:24px;color:#222}h1{font-size:20px;margin:0 0 4px}"
    "h2{font-size:16px;margin:22px 0 8px}.sub{color:#666;font-size:12px}"
    "table{border-collapse:collapse}td,th{padding:4px 10px;border-bottom:1px solid #eee;text-align:left;"
    "font-size:13px;vertical-align:top}.ready{color:#2a7d2a;font-weight:bold}.failed{color:#b00;font-weight:bold}"
    ".loading,.declared,.unloaded{color:#a60;font-weight:bold}.err{color:#b00;font-size:12px}";

/* The page residency of each section of a model's current file (none
 * when no version is loaded). Read from its status, not through
 * te_registry_get: looking must not count as a call or load a model. */
static int section_residency(const te_reg_status *st, double resident[SVG_N_SECTIONS], double bytes[SVG_N_SECTIONS]) {
    const uint64_t r[SVG_N_SECTIONS] = {st->meta_resident, st->word_emb_resident, st->other_emb_resident,
                                        st->layers_resident};
    const uint64_t b[SVG_N_SECTIONS] = {st->meta_bytes, st->word_emb_bytes, st->other_emb_bytes, st->layers_bytes};
    for (int k = 0; k < SVG_N_SECTIONS; k++) resident[k] = (double)r[k], bytes[k] = (double)b[k];
    return st->file_bytes > 0;
}

static void model_row(const te_reg_status *st, double t_max, strbuf *o) {
    const char *state = te_reg_state_name(st->state);
    sb_puts(o, "<tr><td><b>");
    svg_text(o, st->name);
    sb_printf(o, "</b><br><span class=\"sub\">%s, %s", te_kind_name(st->kind), te_dtype_name(st->dtype));
    if (st->hidden_size) sb_printf(o, ", %d dims", st->hidden_size);
    sb_printf(o, "</span></td><td class=\"%s\">%s", state, state);
    if (st->reloading) sb_puts(o, " (reloading)");
    if (st->served_by) {
        sb_puts(o, "<br><span class=\"sub\">served by ");
        svg_text(o, st->served_by);
        sb_puts(o, "</span>");
    }
    if (st->error.code != TE_OK) {
        sb_puts(o, "<div class=\"err\">");
        svg_text(o, te_errmsg(&st->error));
        sb_puts(o, "</div>");
    }
    sb_printf(o, "</td><td>%08x<br><span class=\"sub\">generation %llu</span></td><td>", (unsigned)st->fingerprint,
              (unsigned long long)st->generation);
    svg_start w = {.stage_ms = {[SVG_OPEN] = st->load_ms, [SVG_WARMUP] = st->warmup_ms}};
    if (st->load_ms > 0 || st->warmup_ms > 0) svg_waterfall_row(o, &w, t_max, 360);
    else sb_puts(o, "<span class=\"sub\">not loaded</span>");
    sb_puts(o, "</td><td>");
    double resident[SVG_N_SECTIONS], bytes[SVG_N_SECTIONS];
    if (section_residency(st, resident, bytes)) svg_residency_bars(o, resident, bytes, 430);
    else sb_puts(o, "<span class=\"sub\">no file loaded</span>");
    sb_puts(o, "</td></tr>");
}

void status_page(const srv_ctx *s, strbuf *o) {
    size_t n;
    te_reg_status *st = registry_statuses(s->reg, &n);
    if (!st) {
        o->failed = 1;
        return;
    }
    char caption[600];
    results_caption(caption, sizeof caption, NULL, s->cfg->threads);
    sb_printf(o, "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><meta http-equiv=\"refresh\" content=\"5\">"
                 "<title>tinyembed serve</title><style>%s</style></head><body><h1>tinyembed serve</h1><div class=\"sub\">",
              style);
    svg_text(o, caption);
    sb_printf(o, "; %s</div><h2>Models</h2>", te_registry_all_ready(s->reg) ? "all models ready" : "not all models ready");
    double t_max = 0;
    for (size_t i = 0; i < n; i++) t_max = st[i].load_ms + st[i].warmup_ms > t_max ? st[i].load_ms + st[i].warmup_ms : t_max;
    sb_puts(o, "<table><tr><th>model</th><th>state</th><th>fingerprint</th><th>load "
               "<span style=\"color:#4e79a7\">&#9632;</span> open to fully read, "
               "<span style=\"color:#e15759\">&#9632;</span> warmup</th><th>page residency</th></tr>");
    for (size_t i = 0; i < n; i++) model_row(&st[i], t_max, o);
    sb_puts(o, "</table>");
    free(st);

    metrics_snapshot *m = malloc(sizeof *m);
    if (!m) {
        o->failed = 1;
        return;
    }
    metrics_view(s->metrics, m);
    sb_printf(o, "<h2>Traffic</h2><p class=\"sub\">%llu requests since start (mean %.2f ms, p50 &le; %.2f ms, "
                 "p99 &le; %.2f ms), %llu texts and %llu tokens embedded, %ld texts queued</p>",
              (unsigned long long)m->requests, m->mean_ms, m->p50_ms, m->p99_ms, (unsigned long long)m->texts,
              (unsigned long long)m->tokens, m->queue_depth);
    sb_printf(o, "<table><tr><td>requests per second, last %d s</td><td>", METRICS_HISTORY);
    svg_sparkline(o, m->per_second, METRICS_HISTORY, 480, 60, "requests/s");
    sb_puts(o, "</td></tr><tr><td>mean latency per second</td><td>");
    svg_sparkline(o, m->latency_ms, METRICS_HISTORY, 480, 60, "ms");
    sb_puts(o, "</td></tr></table><p class=\"sub\">JSON: <a href=\"/health\">/health</a>, "
               "<a href=\"/v1/models\">/v1/models</a>; Prometheus: <a href=\"/metrics\">/metrics</a></p></body></html>\n");
    free(m);
}
