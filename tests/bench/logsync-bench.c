/* SPDX-License-Identifier: MIT */
/*
 * vhost dirty-log walk benchmark: vhost_log_sync_range() over a log that
 * covers 64 GiB of guest RAM (1 bit per 4 KiB page: 16777216 pages,
 * 262144 64-bit chunks, 2 MiB of log), in two cases:
 *
 *   clean   the log all zero (the common case of a sync pass)
 *   1%      1% of the pages dirty (random distinct pages, fixed seed); the
 *           bits are set before each timed walk (untimed), the walk
 *           clears them
 *
 * The mark callback does what migration minimally has to: count the page
 * and set its bit in a destination bitmap.  Each case is timed REPS
 * times; best and median are printed as "GiB of guest RAM scanned per
 * second" (64 GiB / walk time).  For scale, the bandwidth of a plain
 * memcpy of a log-sized buffer (2 MiB, cache-resident like the log) and
 * of 1 GiB (DRAM) is measured in the same run, and the walk's rate of
 * log bytes read is given as a ratio of both.
 *
 * Correctness is checked on every run (pages found = pages marked =
 * bits set, destination bitmap = the bits set, log all zero afterwards);
 * exit status 1 if anything is wrong.
 *
 *   build/tests/bench/logsync-bench
 */
#include "hw/virtio/vhost.h"
#include "qemu/error.h"

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define GUEST_RAM     (64ULL << 30)
#define NPAGES        (GUEST_RAM / VHOST_LOG_PAGE)          /* 16777216 */
#define NCHUNKS       (NPAGES / VHOST_LOG_BITS)             /* 262144 */
#define LOG_BYTES     (NCHUNKS * sizeof(uint64_t))          /* 2 MiB */
#define NDIRTY        (NPAGES / 100)                        /* 1% */
#define BIG_BYTES     (1ULL << 30)
#define REPS          20
#define SEED          0x6b766d696e69ULL                     /* "kvmini" */

struct marker {
    uint64_t count;
    uint64_t *dest;     /* NCHUNKS chunks, as migration's dirty bitmap */
};

static void mark(uint64_t gpa, void *opaque)
{
    struct marker *m = opaque;
    uint64_t page = gpa / VHOST_LOG_PAGE;

    m->dest[page / 64] |= 1ULL << (page % 64);
    m->count++;
}

static int failures;

static void check(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "logsync-bench: FAIL: %s\n", what);
        failures++;
    }
}

static double now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

/* Sorts t; returns the median, *best gets the minimum. */
static double median(double *t, int n, double *best)
{
    qsort(t, n, sizeof(*t), cmp_double);
    *best = t[0];
    return n % 2 ? t[n / 2] : (t[n / 2 - 1] + t[n / 2]) / 2;
}

static uint64_t xorshift64(uint64_t *s)
{
    uint64_t x = *s;

    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *s = x;
}

static int all_zero(const uint64_t *p, uint64_t n)
{
    uint64_t acc = 0;

    for (uint64_t i = 0; i < n; i++) {
        acc |= p[i];
    }
    return acc == 0;
}

/* Time one walk over the whole log; check the result against expect
 * (NULL: nothing expected) and n pages. */
static double timed_walk(struct vhost_log *log, struct marker *m,
                         const uint64_t *expect, uint64_t n)
{
    uint64_t found;
    double t0, t1;

    memset(m->dest, 0, LOG_BYTES);
    m->count = 0;
    t0 = now();
    found = vhost_log_sync_range(log, 0, NPAGES, mark, m);
    t1 = now();
    check(found == n, "pages found != bits set");
    check(m->count == n, "pages marked != bits set");
    check(all_zero(log->log, NCHUNKS), "log not all zero after the walk");
    check(expect ? !memcmp(m->dest, expect, LOG_BYTES)
                 : all_zero(m->dest, NCHUNKS),
          "destination bitmap != bits set");
    return t1 - t0;
}

/* Median memcpy time of bytes (best in *best); buffers pre-faulted. */
static double time_memcpy(size_t bytes, double *best)
{
    char *src = malloc(bytes), *dst = malloc(bytes);
    double t[REPS], t0;

    if (!src || !dst) {
        fprintf(stderr, "logsync-bench: out of memory\n");
        exit(1);
    }
    memset(src, 0x5a, bytes);
    memset(dst, 0xa5, bytes);
    memcpy(dst, src, bytes);                      /* warm up */
    for (int i = 0; i < REPS; i++) {
        t0 = now();
        memcpy(dst, src, bytes);
        __asm__ volatile("" : : "r"(dst), "r"(src) : "memory");
        t[i] = now() - t0;
    }
    check(dst[bytes - 1] == 0x5a, "memcpy");
    free(src);
    free(dst);
    return median(t, REPS, best);
}

/* Medians and bests (seconds) of each case. */
struct results {
    double clean_med, clean_best;
    double dirty_med, dirty_best;
    double small_med, small_best;       /* memcpy of LOG_BYTES */
    double big_med, big_best;           /* memcpy of BIG_BYTES */
};

/* NDIRTY distinct random pages: their bits in expect, their numbers in
 * dirty. */
static void pick_dirty_pages(uint64_t *expect, uint32_t *dirty)
{
    uint64_t seed = SEED, n = 0;

    while (n < NDIRTY) {
        uint64_t p = xorshift64(&seed) % NPAGES;

        if (!(expect[p / 64] & (1ULL << (p % 64)))) {
            expect[p / 64] |= 1ULL << (p % 64);
            dirty[n++] = p;
        }
    }
}

/* The clean log: REPS walks after one to warm up. */
static void bench_clean(struct vhost_log *log, struct marker *m,
                        struct results *r)
{
    double tc[REPS];

    timed_walk(log, m, NULL, 0);                  /* warm up */
    for (int i = 0; i < REPS; i++) {
        tc[i] = timed_walk(log, m, NULL, 0);
    }
    r->clean_med = median(tc, REPS, &r->clean_best);
}

/* 1% dirty: bits set like a backend would (atomic OR), untimed. */
static void bench_dirty(struct vhost_log *log, struct marker *m,
                        const uint64_t *expect, const uint32_t *dirty,
                        struct results *r)
{
    double td[REPS];

    for (int i = -1; i < REPS; i++) {             /* -1: warm up */
        double t;

        for (uint64_t j = 0; j < NDIRTY; j++) {
            __atomic_fetch_or(&log->log[dirty[j] / 64],
                              1ULL << (dirty[j] % 64), __ATOMIC_RELAXED);
        }
        t = timed_walk(log, m, expect, NDIRTY);
        if (i >= 0) {
            td[i] = t;
        }
    }
    r->dirty_med = median(td, REPS, &r->dirty_best);
}

static void print_walks(const struct results *r)
{
    printf("vhost dirty-log walk: 64 GiB of guest RAM, %" PRIu64
           " pages, %" PRIu64 " chunks, %zu KiB of log; %d runs each\n",
           (uint64_t)NPAGES, (uint64_t)NCHUNKS, (size_t)(LOG_BYTES >> 10),
           REPS);
    printf("%-34s %12s %12s %16s %16s\n", "", "median", "best",
           "GiB RAM/s (med)", "GiB RAM/s (best)");
    printf("%-34s %9.1f us %9.1f us %16.0f %16.0f\n", "clean log",
           r->clean_med * 1e6, r->clean_best * 1e6, 64 / r->clean_med,
           64 / r->clean_best);
    printf("%-34s %9.1f us %9.1f us %16.0f %16.0f\n",
           "1% dirty (167772 pages)", r->dirty_med * 1e6,
           r->dirty_best * 1e6, 64 / r->dirty_med, 64 / r->dirty_best);
    printf("  1%% dirty: %.1f ns per dirty page (median)\n",
           r->dirty_med * 1e9 / NDIRTY);
}

static void print_memcpy_and_ratios(const struct results *r)
{
    double gib = 1024.0 * 1024 * 1024;

    printf("\n%-34s %12s %12s %16s %16s\n", "memcpy", "median", "best",
           "GiB/s (med)", "GiB/s (best)");
    printf("%-34s %9.1f us %9.1f us %16.1f %16.1f\n", "2 MiB (log-sized)",
           r->small_med * 1e6, r->small_best * 1e6,
           LOG_BYTES / gib / r->small_med, LOG_BYTES / gib / r->small_best);
    printf("%-34s %9.1f ms %9.1f ms %16.1f %16.1f\n", "1 GiB",
           r->big_med * 1e3, r->big_best * 1e3, BIG_BYTES / gib / r->big_med,
           BIG_BYTES / gib / r->big_best);
    printf("\nratio, medians (walk: 2 MiB of log read per walk):\n");
    printf("  clean:    log read at %.1f GiB/s = %.2f x memcpy 2 MiB, "
           "%.2f x memcpy 1 GiB; walk takes %.1f x a 2 MiB memcpy\n",
           LOG_BYTES / gib / r->clean_med, r->small_med / r->clean_med,
           (r->big_med / 512) / r->clean_med, r->clean_med / r->small_med);
    printf("  1%% dirty: log read at %.1f GiB/s = %.2f x memcpy 2 MiB, "
           "%.2f x memcpy 1 GiB; walk takes %.1f x a 2 MiB memcpy\n",
           LOG_BYTES / gib / r->dirty_med, r->small_med / r->dirty_med,
           (r->big_med / 512) / r->dirty_med, r->dirty_med / r->small_med);
}

int main(void)
{
    Error *err = NULL;
    struct vhost_log *log = vhost_log_alloc(NCHUNKS, false, &err);
    struct marker m = { .dest = calloc(NCHUNKS, sizeof(uint64_t)) };
    uint64_t *expect = calloc(NCHUNKS, sizeof(uint64_t));
    uint32_t *dirty = malloc(NDIRTY * sizeof(*dirty));
    struct results r;

    if (!log) {
        error_report_err(err);
        return 1;
    }
    if (!m.dest || !expect || !dirty) {
        fprintf(stderr, "logsync-bench: out of memory\n");
        return 1;
    }
    check(log->size == NCHUNKS, "log size");
    pick_dirty_pages(expect, dirty);
    bench_clean(log, &m, &r);
    bench_dirty(log, &m, expect, dirty, &r);
    r.small_med = time_memcpy(LOG_BYTES, &r.small_best);
    r.big_med = time_memcpy(BIG_BYTES, &r.big_best);
    print_walks(&r);
    print_memcpy_and_ratios(&r);

    vhost_log_free(log);
    free(m.dest);
    free(expect);
    free(dirty);
    if (failures) {
        fprintf(stderr, "logsync-bench: %d check(s) failed\n", failures);
        return 1;
    }
    printf("\ncorrectness: OK (pages found = marked = set; log zero after "
           "every walk)\n");
    return 0;
}
