/*
 * results.h - the results folder (docs/RESULTS.md): runs of `audit`,
 * `bench` and `profile` saved as timestamped JSON files, one folder per
 * kind, so runs from different days and machines can be compared:
 *
 *   DIR/retrieval_audits/audit_YYYYMMDD_HHMMSS.json
 *   DIR/benchmarks/benchmark_YYYYMMDD_HHMMSS.json
 *   DIR/profiles/profile_YYYYMMDD_HHMMSS.json
 *
 * Times in names and "timestamp" fields are UTC. A file appears complete
 * or not at all (written under a temporary name, then linked into place),
 * and never replaces another run's: a second run within the same second
 * gets "_2", "_3", ... after the time. `bench --json FILE` and `profile
 * --json FILE` write the same object to a file the user names (replacing
 * it, but again whole or not at all).
 */
#ifndef TE_RESULTS_H
#define TE_RESULTS_H

#include <stdio.h>

typedef struct results_file {
    FILE *f;             /* write the JSON object here */
    char tmp[4200];
    char path[4200];     /* the final name, known after results_commit */
    int named;           /* opened by results_open_path: commit renames tmp over path */
    char timestamp[32];  /* ISO 8601 UTC, e.g. "2026-11-27T18:48:51Z" */
    char stamp[20];      /* for the name: "20261127_184851" */
} results_file;

/* Creates DIR/KIND (and any folder missing above it) and opens a temporary file there.
 * Returns 0, or -1 after printing why (prefixed by `who`). */
int results_open(results_file *r, const char *who, const char *dir, const char *kind);
/* Opens a temporary file beside `path` for results_commit to rename into place. */
int results_open_path(results_file *r, const char *who, const char *path);
/* Closes the file and gives it its name: PREFIX_STAMP.json, or the path
 * given to results_open_path (prefix unused); returns 0 or -1 (printed). */
int results_commit(results_file *r, const char *who, const char *prefix);
void results_abort(results_file *r);

/* The fields every results file starts with, after the opening brace:
 * "schema", "timestamp", "tinyembed_version", "tinyembed_commit" (of the
 * build, null outside git) and "machine" (CPU model, cores, memory, kernel
 * set and threads in use, OS). */
void results_header(results_file *r, const char *schema, const char *simd, int threads);

/* The same facts on one line, for a picture's caption: "CPU, kernel set,
 * N threads, tinyembed VERSION (commit), TIMESTAMP". */
void results_caption(char *out, size_t cap, const char *simd, int threads);

/* `audit --compare`: prints the overall metrics of two saved audits side
 * by side and, per mode, the `top` queries whose rank changed most.
 * Returns a CLI exit code (errors printed, prefixed by `who`). */
int results_compare_audits(const char *who, const char *a_path, const char *b_path, long top);

#endif
