/*
 * threadpool.c - the worker pool (see threadpool.h).
 *
 * A forward pass is a few dozen short parallel steps per layer, so waking
 * sleeping threads for each (tens of microseconds) would dominate short
 * inputs. Workers therefore spin for a short while after a job, watching
 * for the next one, and only then block on a condition variable: they sleep
 * whenever the caller is not running jobs. The caller waits for stragglers
 * the same way.
 *
 * Spinning only pays when the threads run on different CPUs. A new process's
 * worker often starts on its creator's CPU; a thread spinning then holds off
 * the very thread it waits for, 100 us per step (a first vector took 13 ms
 * instead of 4). So a waiter that finds the other side on its own CPU sleeps
 * at once. The two then take turns on that CPU, and the scheduler does not
 * part them: one is always asleep, so no CPU ever looks overloaded (measured:
 * first and second encodes at single-thread speed, 7-8 ms and 4-5 ms
 * instead of 3.5-4 and 1.8). So a worker that starts a job on the caller's
 * CPU also moves itself to another one it may run on (move_off_cpu), each
 * time: wakeups can pull the two together again at any step, and a limit of
 * one move per 100 ms left whole processes co-located (measured, int8 first
 * vector under `profile`: 3.3-4.3 ms median with the limit, 2.3-3.1 without).
 */
#include "threadpool.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "internal.h"

#define SPIN_NS 100000 /* how long a thread watches for work before sleeping */
#define WORKER_STACK ((size_t)256 << 10) /* bytes; documented in tinyembed.h (te_ctx_opts) */

struct te_pool {
    int n;                     /* threads, caller included */
    pthread_t *workers;        /* n - 1 */
    int n_started;
    pthread_mutex_t mu;
    pthread_cond_t wake;       /* a job was posted, or stop */
    pthread_cond_t idle;       /* the last worker finished a job */
    int stop;
    /* The current job: written before `gen` is bumped, read after. */
    te_task_fn fn;
    void *arg;
    size_t n_tasks;
    atomic_size_t next;        /* next task to hand out */
    atomic_int busy;           /* workers still on the current job */
    atomic_uint gen;           /* job counter */
    atomic_int caller_cpu;     /* the CPU the caller posted the current job from */
    atomic_int *worker_cpu;    /* [n - 1]: the CPU each worker last ran a job on (-1: none yet) */
};

static void cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

static void run_tasks(te_pool *p, int thread) {
    for (;;) {
        size_t t = atomic_fetch_add_explicit(&p->next, 1, memory_order_relaxed);
        if (t >= p->n_tasks) return;
        p->fn(p->arg, t, thread);
    }
}

typedef struct worker_arg {
    te_pool *p;
    int id;
} worker_arg;

static int job_posted(te_pool *p, unsigned seen) {
    return atomic_load_explicit(&p->gen, memory_order_acquire) != seen;
}

static int job_done(te_pool *p, unsigned unused) {
    (void)unused;
    return atomic_load_explicit(&p->busy, memory_order_acquire) == 0;
}

/* Whether the thread a waiter waits for runs on the waiter's CPU: a worker
 * waiting for the caller's next job, the caller waiting for busy workers.
 * The CPUs are the last ones seen, so a stale one can only cost a sleep
 * where a spin would have done. */
static int caller_shares_cpu(te_pool *p) {
    return sched_getcpu() == atomic_load_explicit(&p->caller_cpu, memory_order_relaxed);
}

static int worker_shares_cpu(te_pool *p) {
    int cpu = sched_getcpu();
    for (int i = 0; i < p->n - 1; i++)
        if (atomic_load_explicit(&p->worker_cpu[i], memory_order_relaxed) == cpu) return 1;
    return 0;
}

/* Spins until cond(p, x) holds, SPIN_NS pass or the awaited thread turns out
 * to share this CPU; returns whether cond held. */
static int spin_until(int (*cond)(te_pool *, unsigned), int (*shares_cpu)(te_pool *), te_pool *p, unsigned x) {
    long long until = te_now_ns() + SPIN_NS;
    for (unsigned i = 0;; i++) {
        if (cond(p, x)) return 1;
        cpu_relax();
        if ((i & 63) == 63 && (te_now_ns() > until || shares_cpu(p))) return 0;
    }
}

/* Moves the calling worker off `cpu`: its affinity without that CPU (the
 * kernel migrates it at once), then back to what it was, so the user's
 * affinity still holds and the scheduler stays free to move it later.
 * Nothing when it may run nowhere else, or when the pool has more threads
 * than CPUs to spread them over (some must share). */
static void move_off_cpu(const te_pool *p, int cpu) {
    cpu_set_t was, other;
    if (sched_getaffinity(0, sizeof was, &was) != 0 || !CPU_ISSET(cpu, &was) || CPU_COUNT(&was) < p->n) return;
    other = was;
    CPU_CLR(cpu, &other);
    if (sched_setaffinity(0, sizeof other, &other) == 0) sched_setaffinity(0, sizeof was, &was);
}

static void *worker_main(void *arg) {
    te_pool *p = ((worker_arg *)arg)->p;
    int id = ((worker_arg *)arg)->id;
    free(arg);
    /* Workers start before any job is posted, when gen is 0; reading gen here
     * instead could miss a job posted before this thread got going. */
    unsigned seen = 0;
    for (;;) {
        if (!spin_until(job_posted, caller_shares_cpu, p, seen)) {
            pthread_mutex_lock(&p->mu);
            while (atomic_load_explicit(&p->gen, memory_order_acquire) == seen && !p->stop)
                pthread_cond_wait(&p->wake, &p->mu);
            int stop = p->stop;
            pthread_mutex_unlock(&p->mu);
            if (stop) return NULL;
        }
        seen = atomic_load_explicit(&p->gen, memory_order_acquire);
        int cpu = sched_getcpu();
        if (cpu == atomic_load_explicit(&p->caller_cpu, memory_order_relaxed)) {
            move_off_cpu(p, cpu);
            cpu = sched_getcpu();
        }
        atomic_store_explicit(&p->worker_cpu[id - 1], cpu, memory_order_relaxed);
        run_tasks(p, id);
        if (atomic_fetch_sub_explicit(&p->busy, 1, memory_order_acq_rel) == 1) {
            pthread_mutex_lock(&p->mu);
            pthread_cond_signal(&p->idle);
            pthread_mutex_unlock(&p->mu);
        }
    }
}

te_pool *te_pool_new(int n_threads, te_error *err) {
    if (n_threads < 1) n_threads = 1;
    te_pool *p = calloc(1, sizeof *p);
    if (!p) { te_fail(err, TE_ERR_NOMEM, "out of memory"); return NULL; }
    p->n = n_threads;
    atomic_init(&p->next, 0);
    atomic_init(&p->busy, 0);
    atomic_init(&p->gen, 0);
    atomic_init(&p->caller_cpu, -1);
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->wake, NULL);
    pthread_cond_init(&p->idle, NULL);
    if (n_threads == 1) return p;
    p->workers = calloc((size_t)n_threads - 1, sizeof *p->workers);
    p->worker_cpu = calloc((size_t)n_threads - 1, sizeof *p->worker_cpu);
    for (int i = 0; p->worker_cpu && i < n_threads - 1; i++) atomic_init(&p->worker_cpu[i], -1);
    if (!p->workers || !p->worker_cpu) {
        te_pool_free(p);
        te_fail(err, TE_ERR_NOMEM, "out of memory");
        return NULL;
    }
    for (int i = 1; i < n_threads; i++) {
        worker_arg *wa = malloc(sizeof *wa);
        if (!wa) {
            te_pool_free(p);
            te_fail(err, TE_ERR_NOMEM, "out of memory");
            return NULL;
        }
        *wa = (worker_arg){p, i};
        /* Workers run kernels with small frames: a small stack keeps the virtual
         * size down on memory-limited devices (ulimit -v counts 8 MB defaults). */
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        pthread_attr_setstacksize(&attr, WORKER_STACK);
        int rc = pthread_create(&p->workers[i - 1], &attr, worker_main, wa);
        pthread_attr_destroy(&attr);
        if (rc != 0) {
            free(wa);
            te_pool_free(p);
            te_fail(err, rc == EAGAIN ? TE_ERR_NOMEM : TE_ERR_IO, "cannot start worker thread %d of %d: %s", i,
                    n_threads - 1, strerror(rc));
            return NULL;
        }
        p->n_started++;
    }
    return p;
}

void te_pool_free(te_pool *p) {
    if (!p) return;
    pthread_mutex_lock(&p->mu);
    p->stop = 1;
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->mu);
    for (int i = 0; i < p->n_started; i++) pthread_join(p->workers[i], NULL);
    pthread_cond_destroy(&p->wake);
    pthread_cond_destroy(&p->idle);
    pthread_mutex_destroy(&p->mu);
    free(p->workers);
    free(p->worker_cpu);
    free(p);
}

int te_pool_threads(const te_pool *p) { return p->n; }

void te_pool_run(te_pool *p, size_t n_tasks, te_task_fn fn, void *arg) {
    if (p->n == 1 || n_tasks <= 1) {
        for (size_t t = 0; t < n_tasks; t++) fn(arg, t, 0);
        return;
    }
    p->fn = fn;
    p->arg = arg;
    p->n_tasks = n_tasks;
    atomic_store_explicit(&p->next, 0, memory_order_relaxed);
    atomic_store_explicit(&p->busy, p->n - 1, memory_order_relaxed);
    atomic_store_explicit(&p->caller_cpu, sched_getcpu(), memory_order_relaxed);
    pthread_mutex_lock(&p->mu);
    atomic_fetch_add_explicit(&p->gen, 1, memory_order_release);
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->mu);
    run_tasks(p, 0);
    if (spin_until(job_done, worker_shares_cpu, p, 0)) return;
    pthread_mutex_lock(&p->mu);
    while (atomic_load_explicit(&p->busy, memory_order_acquire) != 0) pthread_cond_wait(&p->idle, &p->mu);
    pthread_mutex_unlock(&p->mu);
}
