/*
 * bench_search.h - `bench --index`: search latency of an index (bench_search.c).
 */
#ifndef TE_BENCH_SEARCH_H
#define TE_BENCH_SEARCH_H

#include "cli.h"

/* Uses the command's --index, --queries, --model, -k, --runs, --threads,
 * --simd and --save options; returns the exit code. */
int bench_search(const cli_cmd *cmd, const cli_args *a);

#endif
