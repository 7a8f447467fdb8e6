/* SPDX-License-Identifier: MIT */
/*
 * test=blk-bench: latency of the virtio-blk path.  Times count= (default
 * 1000) sequential 4 KiB reads from blk_start= (default 0; wrapping at
 * the end of the device) on queue 0, one request in flight, each
 * completion taken by interrupt (sleep in sti;hlt), with the TSC.
 *
 * The TSC frequency comes from tsc_khz= if given, else CPUID leaf 0x15
 * when it names the crystal clock, else a calibration against the LAPIC
 * timer (tsc.c).
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
#include "tsc.h"
#include "virtio-blk.h"

#define BENCH_FAIL_NODEV    3
#define BENCH_FAIL_INIT     4
#define BENCH_FAIL_PARAM    5
#define BENCH_FAIL_IO       6
#define BENCH_FAIL_TIMEOUT  7
#define BENCH_FAIL_NOIRQ    9

#define BENCH_SECTORS       8               /* 4 KiB reads */
#define BENCH_TIMER_CHUNK   256             /* re-arm the deadline */

static uint8_t bench_buf[BENCH_SECTORS * VIRTIO_BLK_SECTOR_SIZE]
    __attribute__((aligned(4096)));
static struct virtio_blk blk;

/* Set up the device, check count= and blk_start= against it and find
 * the TSC frequency (printed).  0 or a failure code. */
static int bench_open(uint64_t count, uint64_t start, uint64_t *khz)
{
    const char *source;
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
    *khz = tsc_khz(&source);
    printf("blk-bench: tsc %llu kHz (%s)\n", (unsigned long long)*khz,
           source);
    if (*khz == 0) {
        return test_fail(BENCH_FAIL_PARAM, "no TSC frequency");
    }
    return 0;
}

/* Read i: 4 KiB at sector into bench_buf, completion taken by interrupt
 * within the running deadline.  0, or a failure code with the deadline
 * timer stopped. */
static int bench_read(struct virtio_blk_req *req, uint64_t i,
                      uint64_t sector)
{
    struct virtio_blk_req *done;
    int rc;

    if (virtio_blk_submit(&blk, req, 0, VIRTIO_BLK_T_IN, sector,
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
    if (virtio_blk_reap(&blk, &done) <= 0 || done != req) {
        timer_stop();
        virtio_reset(&blk.dev);
        return test_fail(BENCH_FAIL_IO, "bad completion");
    }
    if (req->status != VIRTIO_BLK_S_OK) {
        timer_stop();
        return test_fail(BENCH_FAIL_IO, "read of sector %llu: "
                         "status %u", (unsigned long long)sector,
                         req->status);
    }
    return 0;
}

/* The rate over tsc ticks, the interrupt counts, a reset, the verdict. */
static int bench_report(uint64_t count, uint64_t khz, uint64_t ticks)
{
    uint64_t us = tsc_to_us(ticks, khz);
    uint64_t rate = us ? count * 1000000 / us : 0;

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

int test_blk_bench(void)
{
    uint64_t count = cmdline_get_u64("count", 1000);
    uint64_t start = cmdline_get_u64("blk_start", 0);
    uint64_t timeout_us = cmdline_get_u64("blk_timeout_ms", 10000) * 1000;
    uint64_t khz, i, sector, t0, t1;
    struct virtio_blk_req req;
    int rc;

    rc = bench_open(count, start, &khz);
    if (rc) {
        return rc;
    }
    sector = start;
    t0 = rdtsc();
    for (i = 0; i < count; i++) {
        if (i % BENCH_TIMER_CHUNK == 0) {
            timer_start_us(timeout_us);
        }
        rc = bench_read(&req, i, sector);
        if (rc) {
            return rc;
        }
        sector += BENCH_SECTORS;
        if (sector > blk.capacity - BENCH_SECTORS) {
            sector = start;
        }
    }
    t1 = rdtsc();
    timer_stop();
    return bench_report(count, khz, t1 - t0);
}
