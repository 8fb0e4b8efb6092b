/*
 * svg.c - waterfalls, residency charts, bars and sparklines as SVG text
 * (see svg.h). Coordinates are in pixels of a fixed-size drawing; text uses
 * the viewer's sans-serif font, so nothing is fetched.
 */
#include "svg.h"

#include <math.h>
#include <string.h>

const char *const svg_stage_names[SVG_N_STAGES] = {"exec", "open", "tokenizer", "warmup", "first encode"};
const char *const svg_section_names[SVG_N_SECTIONS] = {"metadata", "word table", "other embeddings", "layers"};
static const char *const stage_color[SVG_N_STAGES] = {"#9e9e9e", "#4e79a7", "#f28e2b", "#e15759", "#59a14f"};
static const char *const section_color[SVG_N_SECTIONS] = {"#9467bd", "#ff7f0e", "#2ca02c", "#1f77b4"};

#define LABEL_W 170 /* left column: row labels */
#define TOTAL_W 90  /* right of the bars: the total */
#define BAR_H 18
#define CHART_H 56
#define ROW_H (BAR_H + CHART_H + 34)
#define TOP 96

void svg_text(strbuf *b, const char *s) {
    for (; *s; s++) {
        switch (*s) {
        case '&': sb_puts(b, "&amp;"); break;
        case '<': sb_puts(b, "&lt;"); break;
        case '>': sb_puts(b, "&gt;"); break;
        case '"': sb_puts(b, "&quot;"); break;
        case '\'': sb_puts(b, "&#39;"); break;
        default: sb_add(b, s, 1);
        }
    }
}

static double total_ms(const svg_start *s) {
    double t = 0;
    for (int k = 0; k < SVG_N_STAGES; k++) t += s->stage_ms[k];
    return t;
}

/* A round tick step giving about five ticks up to t_max. */
static double tick_step(double t_max) {
    double raw = t_max / 5, p = pow(10, floor(log10(raw > 0 ? raw : 1)));
    return raw <= p ? p : raw <= 2 * p ? 2 * p : raw <= 5 * p ? 5 * p : 10 * p;
}

static void label_ms(strbuf *b, double ms) {
    if (ms >= 100) sb_printf(b, "%.0f ms", ms);
    else if (ms >= 10) sb_printf(b, "%.1f ms", ms);
    else sb_printf(b, "%.2f ms", ms);
}

/* One start's stage segments from x0 (t = 0) at `scale` px per ms, with each
 * segment's name and time in its tooltip and the total after the bar. */
static void bar(strbuf *b, const svg_start *s, double x0, double y, double scale) {
    double t = 0;
    for (int k = 0; k < SVG_N_STAGES; k++) {
        if (s->stage_ms[k] <= 0) continue;
        double w = s->stage_ms[k] * scale;
        sb_printf(b, "<rect x=\"%.2f\" y=\"%.1f\" width=\"%.2f\" height=\"%d\" fill=\"%s\"><title>%s: ", x0 + t * scale, y,
                  w < 0.5 ? 0.5 : w, BAR_H, stage_color[k], svg_stage_names[k]);
        label_ms(b, s->stage_ms[k]);
        sb_puts(b, "</title></rect>");
        if (w >= 46) { /* the time inside the segment when it fits */
            sb_printf(b, "<text x=\"%.2f\" y=\"%.1f\" font-size=\"10\" fill=\"#fff\" text-anchor=\"middle\">",
                      x0 + (t + s->stage_ms[k] / 2) * scale, y + 13);
            label_ms(b, s->stage_ms[k]);
            sb_puts(b, "</text>");
        }
        t += s->stage_ms[k];
    }
    sb_printf(b, "<text x=\"%.2f\" y=\"%.1f\" font-size=\"11\">", x0 + t * scale + 5, y + 13);
    label_ms(b, t);
    sb_puts(b, "</text>");
}

/* Resident fraction of each section over time: a line per section through
 * the samples, in a frame of height CHART_H from y. Lines are drawn widest
 * first, so sections at the same fraction show as nested stripes. */
static void chart(strbuf *b, const svg_start *s, double x0, double y, double width, double scale) {
    sb_printf(b, "<rect x=\"%.2f\" y=\"%.1f\" width=\"%.2f\" height=\"%d\" fill=\"#fafafa\" stroke=\"#ddd\"/>", x0, y, width,
              CHART_H);
    sb_printf(b, "<text x=\"%.2f\" y=\"%.1f\" font-size=\"9\" fill=\"#888\" text-anchor=\"end\">100%%</text>", x0 - 4, y + 8);
    sb_printf(b, "<text x=\"%.2f\" y=\"%.1f\" font-size=\"9\" fill=\"#888\" text-anchor=\"end\">0%%</text>", x0 - 4,
              y + CHART_H);
    for (int sec = SVG_N_SECTIONS - 1; sec >= 0 && s->n_samples > 0; sec--) {
        sb_printf(b, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"%.1f\" points=\"", section_color[sec],
                  1.5 + 2.0 * sec);
        for (int i = 0; i < s->n_samples; i++) {
            double f = s->samples[i].resident[sec];
            f = f < 0 ? 0 : f > 1 ? 1 : f;
            sb_printf(b, "%s%.2f,%.2f", i ? " " : "", x0 + s->samples[i].t_ms * scale, y + (1 - f) * (CHART_H - 2) + 1);
        }
        sb_puts(b, "\"/>");
        const svg_sample *last = &s->samples[s->n_samples - 1];
        sb_printf(b, "<circle cx=\"%.2f\" cy=\"%.2f\" r=\"2.2\" fill=\"%s\"><title>%s: %.0f%% resident at ", x0 + last->t_ms * scale,
                  y + (1 - last->resident[sec]) * (CHART_H - 2) + 1, section_color[sec], svg_section_names[sec],
                  100 * last->resident[sec]);
        label_ms(b, last->t_ms);
        sb_puts(b, "</title></circle>");
    }
}

/* Room for a legend entry: the swatch and about 6.5 px per character. */
static double entry_w(const char *name) { return 34 + 6.5 * (double)strlen(name); }

static void legend(strbuf *b, double x, double y) {
    for (int k = 0; k < SVG_N_STAGES; k++) {
        sb_printf(b, "<rect x=\"%.1f\" y=\"%.1f\" width=\"12\" height=\"12\" fill=\"%s\"/>", x, y - 10, stage_color[k]);
        sb_printf(b, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"11\">%s</text>", x + 16, y, svg_stage_names[k]);
        x += entry_w(svg_stage_names[k]);
    }
    x += 20;
    for (int k = 0; k < SVG_N_SECTIONS; x += entry_w(svg_section_names[k]), k++) {
        sb_printf(b, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" stroke-width=\"2\"/>", x, y - 4,
                  x + 14, y - 4, section_color[k]);
        sb_printf(b, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"11\">%s</text>", x + 18, y, svg_section_names[k]);
    }
}

void svg_profile(strbuf *b, const char *title, const char *subtitle, const svg_start *starts, int n) {
    const int width = 1100, plot_w = width - LABEL_W - TOTAL_W, height = TOP + n * ROW_H + 40;
    double t_max = 0;
    for (int i = 0; i < n; i++) {
        double t = total_ms(&starts[i]);
        for (int k = 0; k < starts[i].n_samples; k++) t = fmax(t, starts[i].samples[k].t_ms);
        t_max = fmax(t_max, t);
    }
    if (t_max <= 0) t_max = 1;
    double step = tick_step(t_max), t_end = ceil(t_max / step) * step, scale = plot_w / t_end, x0 = LABEL_W;
    sb_printf(b, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
                 "font-family=\"sans-serif\">",
              width, height, width, height);
    sb_printf(b, "<rect width=\"%d\" height=\"%d\" fill=\"#fff\"/>", width, height);
    sb_puts(b, "<text x=\"16\" y=\"26\" font-size=\"16\" font-weight=\"bold\">");
    svg_text(b, title);
    sb_puts(b, "</text><text x=\"16\" y=\"46\" font-size=\"11\" fill=\"#555\">");
    svg_text(b, subtitle);
    sb_puts(b, "</text>");
    legend(b, 16, 72);
    double axis_y = TOP + n * ROW_H;
    for (double t = 0; t <= t_end + step * 0.001; t += step) { /* grid and axis labels */
        double x = x0 + t * scale;
        sb_printf(b, "<line x1=\"%.2f\" y1=\"%d\" x2=\"%.2f\" y2=\"%.1f\" stroke=\"#eee\"/>", x, TOP - 8, x, axis_y);
        sb_printf(b, "<text x=\"%.2f\" y=\"%.1f\" font-size=\"10\" text-anchor=\"middle\">", x, axis_y + 14);
        sb_printf(b, "%g</text>", t);
    }
    sb_printf(b, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"11\" text-anchor=\"middle\">ms from process start</text>",
              x0 + plot_w / 2.0, axis_y + 30);
    for (int i = 0; i < n; i++) {
        double y = TOP + i * ROW_H;
        sb_printf(b, "<text x=\"16\" y=\"%.1f\" font-size=\"12\" font-weight=\"bold\">", y + 13);
        svg_text(b, starts[i].label);
        sb_printf(b, "</text><text x=\"16\" y=\"%.1f\" font-size=\"10\" fill=\"#777\">page residency</text>",
                  y + BAR_H + 20);
        bar(b, &starts[i], x0, y, scale);
        chart(b, &starts[i], x0, y + BAR_H + 8, plot_w, scale);
    }
    sb_puts(b, "</svg>\n");
}

void svg_waterfall_row(strbuf *b, const svg_start *s, double t_max, int width) {
    const int pad = 70;
    double t = fmax(total_ms(s), t_max);
    double scale = (width - pad) / (t > 0 ? t : 1);
    sb_printf(b, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" font-family=\"sans-serif\">", width,
              BAR_H + 4);
    bar(b, s, 0, 2, scale);
    sb_puts(b, "</svg>");
}

void svg_residency_bars(strbuf *b, const double resident[SVG_N_SECTIONS], const double bytes[SVG_N_SECTIONS],
                        int width) {
    const int label_w = 120, h = 16, gap = 6, bar_w = width - label_w - 150;
    sb_printf(b, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" font-family=\"sans-serif\">", width,
              SVG_N_SECTIONS * (h + gap));
    for (int k = 0; k < SVG_N_SECTIONS; k++) {
        double f = bytes[k] > 0 ? resident[k] / bytes[k] : 0, y = k * (h + gap);
        f = f < 0 ? 0 : f > 1 ? 1 : f;
        sb_printf(b, "<text x=\"0\" y=\"%.1f\" font-size=\"11\">%s</text>", y + 12, svg_section_names[k]);
        sb_printf(b, "<rect x=\"%d\" y=\"%.1f\" width=\"%d\" height=\"%d\" fill=\"#eee\"/>", label_w, y, bar_w, h);
        sb_printf(b, "<rect x=\"%d\" y=\"%.1f\" width=\"%.1f\" height=\"%d\" fill=\"%s\"/>", label_w, y, f * bar_w, h,
                  section_color[k]);
        sb_printf(b, "<text x=\"%d\" y=\"%.1f\" font-size=\"11\">%.0f%% of %.1f MB</text>", label_w + bar_w + 6, y + 12,
                  100 * f, bytes[k] / 1048576.0);
    }
    sb_puts(b, "</svg>");
}

void svg_sparkline(strbuf *b, const double *v, int n, int width, int height, const char *unit) {
    double max = 0;
    for (int i = 0; i < n; i++) max = fmax(max, v[i]);
    sb_printf(b, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" font-family=\"sans-serif\">", width,
              height);
    sb_printf(b, "<rect width=\"%d\" height=\"%d\" fill=\"#fafafa\" stroke=\"#ddd\"/>", width, height);
    if (n > 1) {
        sb_puts(b, "<polyline fill=\"none\" stroke=\"#4e79a7\" stroke-width=\"1.5\" points=\"");
        for (int i = 0; i < n; i++)
            sb_printf(b, "%s%.1f,%.1f", i ? " " : "", (double)i * (width - 2) / (n - 1) + 1,
                      height - 2 - (max > 0 ? v[i] / max : 0) * (height - 14));
        sb_puts(b, "\"/>");
    }
    sb_printf(b, "<text x=\"4\" y=\"11\" font-size=\"10\" fill=\"#555\">max %.3g %s</text></svg>", max, unit);
}
