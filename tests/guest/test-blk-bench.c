/* SPDX-License-Identifier: MIT */
/*
 * test=blk-bench: latency of the virtio-blk path.  Times count= (default
 * 1000) sequential 4 KiB reads from blk_start= (default 0; wrapping at
 * the end of the device) on queue 0, one request in flight, each
 * completion taken by interrupt (sleep in sti;hlt), with the TSC.
 *
 * The TSC frequency comes from tsc_khz= if given, else CPUID leaf 0x15
 * when it names the crystal clock, else a calibration against the LAPIC
 * timer (KVM's 1 GHz APIC bus clock, as irq.c assumes): the difference
 * between a 10 ms and a 60 ms sleep, which cancels the wake-up latency.  CPUID
 * 0x16 is not used: it reports the nominal core frequency, which is not
 * guaranteed to be the TSC rate, and VMMs differ in whether they pass it
 * through, which would skew side-by-side comparisons.
 *
 *   virtio-blk: ... (see test-blk.c)
 *   blk-bench: tsc <kHz> kHz (<cmdline|cpuid 0x15|lapic>)
 *   blk-bench: <N> reads in <us> us, <reqs/s> req/s
 *   blk-bench: <n> interrupts
 *   blk-bench: <n> interrupts had InterruptStatus 0     (only if any)
 *   test blk-bench: PASS
 *
 * Failure exit codes as test-blk.c: 3 no device, 4 init failed, 5 bad
 * parameters, 6 request status not OK, 7 timeout (blk_timeout_ms=,
 * default 10000, per 256 requests), 9 no interrupt.
 */
#include "guest.h"
#include "io.h"
#include "virtio-blk.h"

#define BENCH_FAIL_NODEV    3
#define BENCH_FAIL_INIT     4
#define BENCH_FAIL_PARAM    5
#define BENCH_FAIL_IO       6
#define BENCH_FAIL_TIMEOUT  7
#define BENCH_FAIL_NOIRQ    9

#define BENCH_SECTORS       8               /* 4 KiB reads */
#define BENCH_TIMER_CHUNK   256             /* re-arm the deadline */
#define CALIBRATE_SHORT_US  10000
#define CALIBRATE_US        50000           /* measured difference */

static uint8_t bench_buf[BENCH_SECTORS * VIRTIO_BLK_SECTOR_SIZE]
    __attribute__((aligned(4096)));
static struct virtio_blk blk;

static inline uint64_t rdtsc(void)
{
    uint32_t lo, hi;

    __asm__ volatile("lfence; rdtsc" : "=a"(lo), "=d"(hi) : : "memory");
    return ((uint64_t)hi << 32) | lo;
}

static void cpuid(uint32_t leaf, uint32_t *a, uint32_t *b, uint32_t *c,
                  uint32_t *d)
{
    __asm__ volatile("cpuid"
                     : "=a"(*a), "=b"(*b), "=c"(*c), "=d"(*d)
                     : "a"(leaf), "c"(0));
}

/* TSC ticks of one LAPIC-timer sleep of us microseconds. */
static uint64_t tsc_sleep(uint64_t us)
{
    uint64_t t0;

    timer_start_us(us);
    t0 = rdtsc();
    while (!timer_expired()) {
        wait_for_interrupt();
    }
    t0 = rdtsc() - t0;
    timer_stop();
    return t0;
}

static uint64_t tsc_khz(const char **source)
{
    uint32_t a, b, c, d;
    uint64_t khz = cmdline_get_u64("tsc_khz", 0), t0, t1;

    if (khz) {
        *source = "cmdline";
        return khz;
    }
    cpuid(0, &a, &b, &c, &d);
    if (a >= 0x15) {
        cpuid(0x15, &a, &b, &c, &d);    /* TSC = crystal (ecx) * b / a */
        if (a && b && c) {
            *source = "cpuid 0x15";
            return (uint64_t)c * b / a / 1000;
        }
    }
    /* Two timed sleeps; their difference cancels the fixed cost of
     * arming the timer and of waking up. */
    *source = "lapic";
    t0 = tsc_sleep(CALIBRATE_SHORT_US);
    t1 = tsc_sleep(CALIBRATE_SHORT_US + CALIBRATE_US);
    if (t1 <= t0) {
        return 0;
    }
    return (t1 - t0) / (CALIBRATE_US / 1000);
}

int test_blk_bench(void)
{
    uint64_t count = cmdline_get_u64("count", 1000);
    uint64_t start = cmdline_get_u64("blk_start", 0);
    uint64_t timeout_us = cmdline_get_u64("blk_timeout_ms", 10000) * 1000;
    uint64_t khz, i, sector, t0, t1, us, rate;
    const char *source;
    struct virtio_blk_req req, *done;
    int rc;

    rc = virtio_blk_init(&blk, 0, 1);
    if (rc == -1) {
        return test_fail(BENCH_FAIL_NODEV, "no virtio-blk device");
    } else if (rc < 0) {
        return test_fail(BENCH_FAIL_INIT, "virtio-blk initialisation failed");
    }
    if (count == 0 || blk.capacity < BENCH_SECTORS ||
        start > blk.capacity - BENCH_SECTORS) {
        return test_fail(BENCH_FAIL_PARAM, "count %llu, start %llu, "
                         "capacity %llu", (unsigned long long)count,
                         (unsigned long long)start,
                         (unsigned long long)blk.capacity);
    }
    khz = tsc_khz(&source);
    printf("blk-bench: tsc %llu kHz (%s)\n", (unsigned long long)khz,
           source);
    if (khz == 0) {
        return test_fail(BENCH_FAIL_PARAM, "no TSC frequency");
    }

    sector = start;
    t0 = rdtsc();
    for (i = 0; i < count; i++) {
        if (i % BENCH_TIMER_CHUNK == 0) {
            timer_start_us(timeout_us);
        }
        if (virtio_blk_submit(&blk, &req, 0, VIRTIO_BLK_T_IN, sector,
                              bench_buf, sizeof(bench_buf)) < 0) {
            timer_stop();
            return test_fail(BENCH_FAIL_IO, "cannot queue a request");
        }
        virtio_blk_kick(&blk);
        rc = virtq_wait(&blk.vq[0]);
        if (rc < 0) {
            timer_stop();
            virtio_reset(&blk.dev);
            return test_fail(BENCH_FAIL_TIMEOUT, "read %llu %s, "
                             "%u interrupts", (unsigned long long)i,
                             rc == -1 ? "timed out" :
                             "completed without interrupt",
                             blk.dev.irq_count);
        }
        if (virtio_blk_reap(&blk, &done) <= 0 || done != &req) {
            timer_stop();
            virtio_reset(&blk.dev);
            return test_fail(BENCH_FAIL_IO, "bad completion");
        }
        if (req.status != VIRTIO_BLK_S_OK) {
            timer_stop();
            return test_fail(BENCH_FAIL_IO, "read of sector %llu: "
                             "status %u", (unsigned long long)sector,
                             req.status);
        }
        sector += BENCH_SECTORS;
        if (sector > blk.capacity - BENCH_SECTORS) {
            sector = start;
        }
    }
    t1 = rdtsc();
    timer_stop();

    us = (t1 - t0) * 1000 / khz;
    rate = us ? count * 1000000 / us : 0;
    printf("blk-bench: %llu reads in %llu us, %llu req/s\n",
           (unsigned long long)count, (unsigned long long)us,
           (unsigned long long)rate);
    printf("blk-bench: %u interrupts\n", blk.dev.irq_count);
    if (blk.dev.irq_empty) {
        printf("blk-bench: %u interrupts had InterruptStatus 0\n",
               blk.dev.irq_empty);
    }
    virtio_reset(&blk.dev);
    if (blk.dev.irq_count == 0) {
        return test_fail(BENCH_FAIL_NOIRQ, "no interrupt");
    }
    return 0;
}
