/*
 * clock.h - the library's one clock and its timed waits: CLOCK_MONOTONIC
 * for durations and deadlines (immune to the wall clock being set), the
 * wall clock only for the dates the registry reports.
 */
#ifndef TE_CLOCK_H
#define TE_CLOCK_H

#include <pthread.h>
#include <time.h>

/* Seconds on CLOCK_MONOTONIC. */
double te_now(void);

/* Nanoseconds on CLOCK_MONOTONIC (for spin limits). */
long long te_now_ns(void);

/* Seconds since the Unix epoch (CLOCK_REALTIME). */
double te_unix_now(void);

/* A CLOCK_MONOTONIC deadline timeout_ms from now (now if <= 0), for
 * pthread_cond_timedwait on a condition from te_sync_init. */
void te_deadline(struct timespec *ts, int timeout_ms);

/* A mutex and a condition variable whose timed waits use CLOCK_MONOTONIC. */
void te_sync_init(pthread_mutex_t *mu, pthread_cond_t *cv);

#endif
