#include "ckernels.h"
#include <pthread.h>
#include <stdatomic.h>
#include <sched.h>
#include <stdlib.h>

#if defined(__x86_64__)
#include <immintrin.h>
#define CPU_RELAX() _mm_pause()
#elif defined(__aarch64__)
#define CPU_RELAX() __asm__ __volatile__("yield")
#else
#define CPU_RELAX() ((void)0)
#endif

// Between two jobs of one forward pass the gap is a few microseconds, far less than a futex
// wake-up costs; so workers spin for a while first and only then sleep on the condition.
#define SPIN_ROUNDS (1 << 17)

struct sf_pool {
    int threads;  // including the caller
    pthread_t *workers;
    pthread_mutex_t mutex;
    pthread_cond_t wake;
    _Atomic uint64_t generation;
    _Atomic int sleepers;
    _Atomic int stop;
    sf_task_fn fn;
    void *ctx;
    size_t n;
    _Atomic size_t next;
    // Workers that have left the current job; the caller returns only when all have, so no
    // worker can still be reading the job's arguments when the next job replaces them.
    _Atomic int checked_out;
};

static void run_tasks(sf_pool *p) {
    size_t n = p->n;
    for (;;) {
        size_t i = atomic_fetch_add_explicit(&p->next, 1, memory_order_relaxed);
        if (i >= n) break;
        p->fn(p->ctx, i);
    }
}

static void *worker_main(void *arg) {
    sf_pool *p = arg;
    uint64_t seen = 0;
    for (;;) {
        int spins = 0;
        uint64_t g;
        while ((g = atomic_load_explicit(&p->generation, memory_order_acquire)) == seen) {
            if (atomic_load_explicit(&p->stop, memory_order_relaxed)) return NULL;
            if (++spins < SPIN_ROUNDS) {
                // When the machine is oversubscribed the thread we wait for may need this core.
                if ((spins & 1023) == 0) sched_yield();
                CPU_RELAX();
                continue;
            }
            pthread_mutex_lock(&p->mutex);
            atomic_fetch_add(&p->sleepers, 1);
            while (atomic_load(&p->generation) == seen && !atomic_load(&p->stop))
                pthread_cond_wait(&p->wake, &p->mutex);
            atomic_fetch_sub(&p->sleepers, 1);
            pthread_mutex_unlock(&p->mutex);
            spins = 0;
        }
        if (atomic_load(&p->stop)) return NULL;
        seen = g;
        run_tasks(p);
        atomic_fetch_add_explicit(&p->checked_out, 1, memory_order_release);
    }
}

sf_pool *sf_pool_create(int threads) {
    if (threads < 1) threads = 1;
    sf_pool *p = calloc(1, sizeof(sf_pool));
    if (!p) return NULL;
    p->threads = threads;
    pthread_mutex_init(&p->mutex, NULL);
    pthread_cond_init(&p->wake, NULL);
    p->workers = calloc((size_t)threads, sizeof(pthread_t));
    int started = 1;
    for (int i = 1; i < threads; i++) {
        if (pthread_create(&p->workers[i], NULL, worker_main, p) != 0) break;
        started++;
    }
    p->threads = started;
    return p;
}

void sf_pool_destroy(sf_pool *p) {
    if (!p) return;
    pthread_mutex_lock(&p->mutex);
    atomic_store(&p->stop, 1);
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->mutex);
    for (int i = 1; i < p->threads; i++) pthread_join(p->workers[i], NULL);
    pthread_mutex_destroy(&p->mutex);
    pthread_cond_destroy(&p->wake);
    free(p->workers);
    free(p);
}

int sf_pool_threads(const sf_pool *p) { return p ? p->threads : 1; }

void sf_pool_run(sf_pool *p, sf_task_fn fn, void *ctx, size_t n) {
    if (n == 0) return;
    if (!p || p->threads == 1 || n == 1) {
        for (size_t i = 0; i < n; i++) fn(ctx, i);
        return;
    }
    p->fn = fn;
    p->ctx = ctx;
    p->n = n;
    atomic_store_explicit(&p->next, 0, memory_order_relaxed);
    atomic_store_explicit(&p->checked_out, 0, memory_order_relaxed);
    atomic_fetch_add(&p->generation, 1);  // seq_cst: pairs with the sleepers check below
    if (atomic_load(&p->sleepers) > 0) {
        pthread_mutex_lock(&p->mutex);
        pthread_cond_broadcast(&p->wake);
        pthread_mutex_unlock(&p->mutex);
    }
    run_tasks(p);
    int others = p->threads - 1;
    unsigned spins = 0;
    while (atomic_load_explicit(&p->checked_out, memory_order_acquire) < others) {
        if ((++spins & 1023) == 0) sched_yield();  // a descheduled worker needs the core to finish
        CPU_RELAX();
    }
}
