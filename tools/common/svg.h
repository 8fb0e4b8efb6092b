/*
 * svg.h - the pictures of loading, drawn as SVG text by our own code (no
 * dependency, no script): a waterfall of start-up stages on one time axis,
 * the page residency of a model's sections over that time, and residency
 * bars. `profile --svg` and the server's status page (GET /) draw with it.
 */
#ifndef TE_SVG_H
#define TE_SVG_H

#include "strbuf.h"

/* The stages of a start, in order: each bar segment is one. */
enum { SVG_EXEC, SVG_OPEN, SVG_TOKENIZER, SVG_WARMUP, SVG_FIRST, SVG_N_STAGES };
/* A model file's sections, as te_model_status splits it. */
enum { SVG_META, SVG_WORD, SVG_OTHER, SVG_LAYERS, SVG_N_SECTIONS };
#define SVG_MAX_SAMPLES 8

extern const char *const svg_stage_names[SVG_N_STAGES];
extern const char *const svg_section_names[SVG_N_SECTIONS];

/* How much of each section was resident at t_ms (from the process's start). */
typedef struct svg_sample {
    double t_ms;
    double resident[SVG_N_SECTIONS]; /* fractions 0..1 */
} svg_sample;

/* One start: its stage durations (ms, 0 for a stage that did not run) and
 * the residency samples taken at the stage boundaries. */
typedef struct svg_start {
    char label[64];
    double stage_ms[SVG_N_STAGES];
    svg_sample samples[SVG_MAX_SAMPLES];
    int n_samples;
} svg_start;

/* A whole document: a title line, a subtitle (machine, build), and one row
 * per start: the waterfall bar above its residency chart, all on one time axis. */
void svg_profile(strbuf *b, const char *title, const char *subtitle, const svg_start *starts, int n);

/* Inline pieces for an HTML page (each a complete <svg> element). */
void svg_waterfall_row(strbuf *b, const svg_start *s, double t_max, int width);
void svg_residency_bars(strbuf *b, const double resident[SVG_N_SECTIONS], const double bytes[SVG_N_SECTIONS],
                        int width);
/* A sparkline of values (oldest first) with its maximum marked. */
void svg_sparkline(strbuf *b, const double *v, int n, int width, int height, const char *unit);

/* Text for SVG / HTML: & < > " ' escaped. */
void svg_text(strbuf *b, const char *s);

#endif
