/*
 * threadpool.h - a fixed set of worker threads that run "task 0..n-1 of this
 * job" with the caller taking part. Owned by a context; jobs from one
 * context come one at a time.
 */
#ifndef TE_THREADPOOL_H
#define TE_THREADPOOL_H

#include <stddef.h>

#include "tinyembed.h"

typedef struct te_pool te_pool;

/* fn(arg, task, thread): thread is 0 for the caller, 1..n-1 for workers, so
 * it can index per-thread scratch. */
typedef void (*te_task_fn)(void *arg, size_t task, int thread);

/* n_threads counts the caller: 1 starts no thread. */
te_pool *te_pool_new(int n_threads, te_error *err);
void te_pool_free(te_pool *p);
int te_pool_threads(const te_pool *p);

/* Runs fn for every task in 0..n_tasks-1 and returns when all are done.
 * Tasks are handed out in order, each to whichever thread asks first. */
void te_pool_run(te_pool *p, size_t n_tasks, te_task_fn fn, void *arg);

#endif
