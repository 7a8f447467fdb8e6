/* SPDX-License-Identifier: MIT */
/*
 * test=blk-loop: continuous verified disk I/O through the first
 * virtio-blk device, for migration tests (the guest keeps writing while
 * it moves).  Iteration K writes a pattern that depends on K over
 * sectors [blk_start, blk_start + blk_sectors), in 4 KiB requests all in
 * flight at once (at most blk_depth at a time, if given), reads the range
 * back into poisoned buffers and checks every word.  It runs for
 * iterations= (default 1000000) iterations or until blk_loop_ms=
 * milliseconds (TSC) have passed, whichever comes first, and prints a
 * progress line every blk_loop_report= (default 10) iterations.  With blk_stop_sector=S (outside the range) it also reads
 * sector S after every iteration and ends when the host has written
 * "kvm-stop" (8 bytes) at its start: a test that restarts the backend
 * while the guest runs ends the loop when it is done, at a known
 * iteration.
 *
 * Parameters: blk_start (default 0), blk_sectors (default 32, at most
 * 128), blk_timeout_ms per wait (default 30000), iterations, blk_loop_ms
 * (default 0: no time limit), blk_loop_report, blk_stop_sector (default
 * 0: none), blk_depth (default 16: the whole range).
 *
 * Pattern of sector S in iteration K: 64 little-endian 64-bit words,
 *   w[0] = 0x706f6f6c2d6d766b ("kvm-loop"), w[1] = K, w[2] = S,
 *   w[i] = (K * 0x9e3779b97f4a7c15) ^ (S << 20) ^ i  for i >= 3,
 * so after the run the host finds iteration (iterations - 1) on disk.
 *
 * Output:
 *   virtio-blk: ... (see test-blk.c)
 *   blk-loop: sectors <start>+<count>, <n> iterations
 *   blk-loop: iteration <K> ok          (every blk_loop_report)
 *   blk-loop: stopped by the host       (blk_stop_sector)
 *   blk-loop: done <n> iterations, last <K>
 *   test blk-loop: PASS
 * Failure exit codes as test-blk.c: 3 no device, 4 init failed, 5 bad
 * parameters, 6 request status not OK, 7 timeout, 8 data mismatch.
 */
#include "guest.h"
#include "io.h"
#include "tsc.h"
#include "virtio-blk.h"

#define LOOP_FAIL_NODEV    3
#define LOOP_FAIL_INIT     4
#define LOOP_FAIL_PARAM    5
#define LOOP_FAIL_IO       6
#define LOOP_FAIL_TIMEOUT  7
#define LOOP_FAIL_VERIFY   8

#define LOOP_REQ_SECTORS   8                /* 4 KiB requests */
#define LOOP_REQ_BYTES     (LOOP_REQ_SECTORS * VIRTIO_BLK_SECTOR_SIZE)
#define LOOP_MAX_REQS      16
#define LOOP_MAX_SECTORS   (LOOP_MAX_REQS * LOOP_REQ_SECTORS)
#define LOOP_WORDS         (VIRTIO_BLK_SECTOR_SIZE / 8)
#define LOOP_TAG           0x706f6f6c2d6d766bull    /* "kvm-loop" */
#define LOOP_STOP_TAG      0x706f74732d6d766bull    /* "kvm-stop" */

static uint8_t loop_buf[LOOP_MAX_REQS][LOOP_REQ_BYTES]
    __attribute__((aligned(4096))) GUEST_NOINIT;
static struct virtio_blk_req loop_req[LOOP_MAX_REQS];
static struct virtio_blk blk;

struct loop_run {
    uint64_t start, sectors;
    uint64_t timeout_us;
    uint64_t iter;
    uint64_t stop_sector;       /* 0: none */
    uint64_t depth;             /* requests in flight at most */
    uint64_t report;            /* progress line every report iterations */
    uint64_t t0, limit;         /* TSC at the start; ticks allowed (0: no
                                 * limit) */
};

static void loop_fill(uint64_t iter, uint64_t sector, uint64_t *w)
{
    uint64_t base = (iter * 0x9e3779b97f4a7c15ull) ^ (sector << 20);
    unsigned i;

    w[0] = LOOP_TAG;
    w[1] = iter;
    w[2] = sector;
    for (i = 3; i < LOOP_WORDS; i++) {
        w[i] = base ^ i;
    }
}

/* Index of the first wrong word of the sector at w, or -1. */
static int loop_check(uint64_t iter, uint64_t sector, const uint64_t *w)
{
    uint64_t base = (iter * 0x9e3779b97f4a7c15ull) ^ (sector << 20);
    unsigned i;

    if (w[0] != LOOP_TAG || w[1] != iter || w[2] != sector) {
        return w[0] != LOOP_TAG ? 0 : w[1] != iter ? 1 : 2;
    }
    for (i = 3; i < LOOP_WORDS; i++) {
        if (w[i] != (base ^ i)) {
            return (int)i;
        }
    }
    return -1;
}

static void loop_prepare(const struct loop_run *run, uint32_t type,
                         unsigned n, uint64_t sector, unsigned count)
{
    uint64_t *w = (uint64_t *)loop_buf[n];
    unsigned s, i;

    for (s = 0; s < count; s++, w += LOOP_WORDS) {
        if (type == VIRTIO_BLK_T_OUT) {
            loop_fill(run->iter, sector + s, w);
            continue;
        }
        for (i = 0; i < LOOP_WORDS; i++) {
            w[i] = 0xdeadbeefdeadbeefull;
        }
    }
}

/* Wait until nothing is in flight; 0 or a failure exit code. */
static int loop_reap_all(const struct loop_run *run, const char *what)
{
    struct virtio_blk_req *r;
    int rc;

    while (blk.inflight) {
        timer_start_us(run->timeout_us);
        rc = virtio_blk_wait(&blk);
        timer_stop();
        if (rc < 0) {
            return test_fail(LOOP_FAIL_TIMEOUT, "iteration %llu: %s %s, "
                             "%u in flight", (unsigned long long)run->iter,
                             what, rc == -1 ? "timed out" :
                             "completed without interrupt", blk.inflight);
        }
        while ((rc = virtio_blk_reap(&blk, &r)) > 0) {
            if (r->status != VIRTIO_BLK_S_OK) {
                return test_fail(LOOP_FAIL_IO, "iteration %llu: %s of "
                                 "sector %llu: status %u",
                                 (unsigned long long)run->iter, what,
                                 (unsigned long long)r->hdr.sector,
                                 r->status);
            }
        }
        if (rc < 0) {
            return test_fail(LOOP_FAIL_IO, "bad descriptor id");
        }
    }
    return 0;
}

/* One pass over the range, run->depth requests in flight at a time. */
static int loop_pass(const struct loop_run *run, uint32_t type)
{
    uint64_t sector = run->start, end = run->start + run->sectors;
    const char *what = type == VIRTIO_BLK_T_OUT ? "write" : "read";
    unsigned n;
    int rc;

    for (n = 0; sector < end; n++, sector += LOOP_REQ_SECTORS) {
        unsigned count = end - sector < LOOP_REQ_SECTORS ?
                         (unsigned)(end - sector) : LOOP_REQ_SECTORS;

        loop_prepare(run, type, n, sector, count);
        if (virtio_blk_submit(&blk, &loop_req[n], 0, type, sector,
                              loop_buf[n],
                              count * VIRTIO_BLK_SECTOR_SIZE) < 0) {
            return test_fail(LOOP_FAIL_IO, "cannot queue a request");
        }
        if (blk.inflight >= run->depth) {
            virtio_blk_kick(&blk);
            if ((rc = loop_reap_all(run, what))) {
                return rc;
            }
        }
    }
    virtio_blk_kick(&blk);
    return loop_reap_all(run, what);
}

static int loop_verify(const struct loop_run *run)
{
    uint64_t s;

    for (s = 0; s < run->sectors; s++) {
        const uint64_t *w = (const uint64_t *)
            (loop_buf[s / LOOP_REQ_SECTORS] +
             (s % LOOP_REQ_SECTORS) * VIRTIO_BLK_SECTOR_SIZE);
        int bad = loop_check(run->iter, run->start + s, w);

        if (bad >= 0) {
            return test_fail(LOOP_FAIL_VERIFY, "iteration %llu: sector "
                             "%llu word %d is 0x%016llx",
                             (unsigned long long)run->iter,
                             (unsigned long long)(run->start + s), bad,
                             (unsigned long long)w[bad]);
        }
    }
    return 0;
}

static int loop_iteration(const struct loop_run *run)
{
    int rc = loop_pass(run, VIRTIO_BLK_T_OUT);

    if (!rc) {
        rc = loop_pass(run, VIRTIO_BLK_T_IN);
    }
    return rc ? rc : loop_verify(run);
}

static int loop_init(struct loop_run *run)
{
    int rc = virtio_blk_init(&blk, 0, 1);

    if (rc == -1) {
        return test_fail(LOOP_FAIL_NODEV, "no virtio-blk device");
    } else if (rc < 0) {
        return test_fail(LOOP_FAIL_INIT, "virtio-blk initialisation failed");
    }
    if (run->sectors == 0 || run->sectors > LOOP_MAX_SECTORS ||
        run->start >= blk.capacity ||
        run->sectors > blk.capacity - run->start) {
        return test_fail(LOOP_FAIL_PARAM, "sectors %llu+%llu (at most %u) "
                         "beyond capacity %llu",
                         (unsigned long long)run->start,
                         (unsigned long long)run->sectors, LOOP_MAX_SECTORS,
                         (unsigned long long)blk.capacity);
    }
    if (run->depth == 0) {
        return test_fail(LOOP_FAIL_PARAM, "blk_depth must be at least 1");
    }
    if (run->stop_sector && (run->stop_sector >= blk.capacity ||
        (run->stop_sector >= run->start &&
         run->stop_sector < run->start + run->sectors))) {
        return test_fail(LOOP_FAIL_PARAM, "stop sector %llu inside the "
                         "range or beyond capacity",
                         (unsigned long long)run->stop_sector);
    }
    return 0;
}

/* Has the host written "kvm-stop" into the stop sector?  0 (*stop set)
 * or a failure exit code.  Nothing else is in flight. */
static int loop_check_stop(const struct loop_run *run, int *stop)
{
    uint64_t *w = (uint64_t *)loop_buf[0];
    int rc = virtio_blk_request_sync(&blk, 0, VIRTIO_BLK_T_IN,
                                     run->stop_sector, w,
                                     VIRTIO_BLK_SECTOR_SIZE,
                                     run->timeout_us);

    if (rc != VIRTIO_BLK_S_OK) {
        return test_fail(rc == -1 ? LOOP_FAIL_TIMEOUT : LOOP_FAIL_IO,
                         "iteration %llu: read of the stop sector: %d",
                         (unsigned long long)run->iter, rc);
    }
    *stop = w[0] == LOOP_STOP_TAG;
    return 0;
}

/* TSC ticks for ms, or 0 (no limit) without a limit or a frequency. */
static uint64_t loop_deadline_ticks(uint64_t ms)
{
    const char *source;
    uint64_t khz = ms ? tsc_khz(&source) : 0;

    return khz * ms;
}

/* One iteration and the checks after it: 0, with *end set when the loop
 * is over, or a failure exit code. */
static int loop_step(const struct loop_run *run, int *end)
{
    int rc = loop_iteration(run);

    if (rc) {
        return rc;
    }
    if (run->report && (run->iter + 1) % run->report == 0) {
        printf("blk-loop: iteration %llu ok\n", (unsigned long long)run->iter);
    }
    if (run->limit && rdtsc() - run->t0 >= run->limit) {
        *end = 1;
    } else if (run->stop_sector) {
        rc = loop_check_stop(run, end);
        if (!rc && *end) {
            printf("blk-loop: stopped by the host\n");
        }
    }
    return rc;
}

int test_blk_loop(void)
{
    struct loop_run run = {
        .start = cmdline_get_u64("blk_start", 0),
        .sectors = cmdline_get_u64("blk_sectors", 32),
        .timeout_us = cmdline_get_u64("blk_timeout_ms", 30000) * 1000,
        .stop_sector = cmdline_get_u64("blk_stop_sector", 0),
        .depth = cmdline_get_u64("blk_depth", LOOP_MAX_REQS),
        .report = cmdline_get_u64("blk_loop_report", 10),
        .limit = loop_deadline_ticks(cmdline_get_u64("blk_loop_ms", 0)),
        .t0 = rdtsc(),
    };
    uint64_t iterations = cmdline_get_u64("iterations", 1000000);
    int rc = loop_init(&run), end = 0;

    if (rc) {
        return rc;
    }
    printf("blk-loop: sectors %llu+%llu, %llu iterations\n",
           (unsigned long long)run.start, (unsigned long long)run.sectors,
           (unsigned long long)iterations);
    for (run.iter = 0; run.iter < iterations && !end; run.iter++) {
        rc = loop_step(&run, &end);
        if (rc) {
            virtio_reset(&blk.dev);
            return rc;
        }
    }
    printf("blk-loop: done %llu iterations, last %llu\n",
           (unsigned long long)run.iter,
           (unsigned long long)(run.iter ? run.iter - 1 : 0));
    virtio_reset(&blk.dev);
    return 0;
}
