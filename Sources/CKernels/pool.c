#include "ckernels.h"
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
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

// A job's arguments. Two slots, alternating by generation: a worker that is late for job g may
// still read slot g & 1 while job g + 1 fills the other one.
typedef struct {
    _Atomic(sf_task_fn) fn;
    _Atomic(void *) ctx;
    _Atomic size_t n;
} job_slot;

struct sf_pool {
    int threads;  // including the caller
    pthread_t *workers;
    pthread_mutex_t mutex;
    pthread_cond_t wake;
    _Atomic int sleepers;
    _Atomic int stop;
    job_slot slots[2];
    // (generation << 32) | next task index. A task is claimed by a compare-and-swap that also
    // checks the generation, so a worker that wakes up late can never run a task of a job it did
    // not read the arguments of. The caller claims tasks the same way, which is what lets it
    // finish a job alone when a worker is descheduled (another process holds its core) instead
    // of waiting for it.
    _Atomic uint64_t claim;
    _Atomic size_t done;
};

// Which of the pool's threads is running: 0 for the caller, 1… for the workers. Tasks use it to
// pick their own scratch memory.
static _Thread_local int current_thread = 0;

int sf_pool_current_thread(void) { return current_thread; }

static inline uint32_t generation_of(uint64_t claim) { return (uint32_t)(claim >> 32); }

// Runs tasks of job `gen` until none is left to claim.
static void run_tasks(sf_pool *p, uint32_t gen) {
    job_slot *slot = &p->slots[gen & 1];
    sf_task_fn fn = atomic_load_explicit(&slot->fn, memory_order_relaxed);
    void *ctx = atomic_load_explicit(&slot->ctx, memory_order_relaxed);
    size_t n = atomic_load_explicit(&slot->n, memory_order_relaxed);
    uint64_t c = atomic_load_explicit(&p->claim, memory_order_acquire);
    for (;;) {
        if (generation_of(c) != gen || (c & 0xffffffffu) >= n) return;
        if (atomic_compare_exchange_weak_explicit(&p->claim, &c, c + 1, memory_order_acq_rel,
                                                  memory_order_acquire)) {
            // The claim succeeded while job `gen` was open, so the arguments read above are its own.
            fn(ctx, (size_t)(c & 0xffffffffu));
            atomic_fetch_add_explicit(&p->done, 1, memory_order_release);
            c = atomic_load_explicit(&p->claim, memory_order_acquire);
        }
    }
}

typedef struct {
    sf_pool *pool;
    int index;
} worker_start;

static void *worker_main(void *arg) {
    worker_start start = *(worker_start *)arg;
    free(arg);
    sf_pool *p = start.pool;
    current_thread = start.index;
    uint32_t seen = 0;
    for (;;) {
        int spins = 0;
        uint32_t g;
        while ((g = generation_of(atomic_load_explicit(&p->claim, memory_order_acquire))) == seen) {
            if (atomic_load_explicit(&p->stop, memory_order_relaxed)) return NULL;
            if (++spins < SPIN_ROUNDS) {
                // When the machine is oversubscribed, the caller may need this core.
                if ((spins & 1023) == 0) sched_yield();
                CPU_RELAX();
                continue;
            }
            pthread_mutex_lock(&p->mutex);
            atomic_fetch_add(&p->sleepers, 1);
            while (generation_of(atomic_load(&p->claim)) == seen && !atomic_load(&p->stop))
                pthread_cond_wait(&p->wake, &p->mutex);
            atomic_fetch_sub(&p->sleepers, 1);
            pthread_mutex_unlock(&p->mutex);
            spins = 0;
        }
        if (atomic_load(&p->stop)) return NULL;
        seen = g;
        run_tasks(p, g);
    }
}

sf_pool *sf_pool_create(int threads) {
    if (threads < 1) threads = 1;
    sf_pool *p = calloc(1, sizeof(sf_pool));
    if (!p) return NULL;
    pthread_mutex_init(&p->mutex, NULL);
    pthread_cond_init(&p->wake, NULL);
    p->workers = calloc((size_t)threads, sizeof(pthread_t));
    int started = 1;
    for (int i = 1; i < threads && p->workers; i++) {
        worker_start *start = malloc(sizeof(worker_start));
        if (!start) break;
        start->pool = p;
        start->index = i;
        if (pthread_create(&p->workers[i], NULL, worker_main, start) != 0) {
            free(start);
            break;
        }
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
    if (!p || p->threads == 1 || n == 1 || n > 0xffffffffu) {
        for (size_t i = 0; i < n; i++) fn(ctx, i);
        return;
    }
    uint32_t gen = generation_of(atomic_load_explicit(&p->claim, memory_order_relaxed)) + 1;
    job_slot *slot = &p->slots[gen & 1];
    atomic_store_explicit(&slot->fn, fn, memory_order_relaxed);
    atomic_store_explicit(&slot->ctx, ctx, memory_order_relaxed);
    atomic_store_explicit(&slot->n, n, memory_order_relaxed);
    atomic_store_explicit(&p->done, 0, memory_order_relaxed);
    // seq_cst: publishes the slot and pairs with the sleepers check below.
    atomic_store(&p->claim, (uint64_t)gen << 32);
    if (atomic_load(&p->sleepers) > 0) {
        pthread_mutex_lock(&p->mutex);
        pthread_cond_broadcast(&p->wake);
        pthread_mutex_unlock(&p->mutex);
    }
    run_tasks(p, gen);
    // Every task is claimed; wait for those a worker is still running.
    unsigned spins = 0;
    while (atomic_load_explicit(&p->done, memory_order_acquire) < n) {
        if ((++spins & 1023) == 0) sched_yield();
        CPU_RELAX();
    }
}
