/* SPDX-License-Identifier: MIT */
/*
 * test=blk: data integrity through the first virtio-blk device, with
 * interrupt-driven completions.  Writes a pattern over sectors
 * [blk_start, blk_start + blk_sectors) in requests of up to 4 KiB, up to
 * blk_depth requests in flight, spread round-robin over blk_queues
 * queues; reads them back into other buffers and compares; sends a FLUSH
 * if the device offers VIRTIO_BLK_F_FLUSH; asks for the device ID
 * (GET_ID; "unsupported" is fine).
 *
 * Parameters (command line):
 *   blk_sectors=N     sectors to test (default 64)
 *   blk_start=S       first sector (default 0)
 *   blk_seed=X        pattern seed (default 1)
 *   blk_readonly=1    only read and verify (the host wrote the pattern)
 *   blk_queues=N      queues to use if the device offers MQ (default 1)
 *   blk_depth=N       requests in flight, 1..16 (default 16)
 *   blk_timeout_ms=T  per wait for a completion (default 5000)
 *   blk_irq_masked=1  leave the device's IOAPIC pin masked: the test must
 *                     fail (code 7): a self-check that it cannot pass
 *                     without interrupts
 *
 * Pattern of sector S (512 bytes): bytes 0-15 are the ASCII text
 * "kvmini-blk-DDDDD", DDDDD = S mod 100000 in 5 decimal digits; bytes
 * 16-511 are 62 little-endian 64-bit words w[0..61] of xorshift64:
 *     x = (seed << 32) ^ S ^ 0x9e3779b97f4a7c15   (mod 2^64; 1 if 0)
 *     for each word: x ^= x << 13; x ^= x >> 7; x ^= x << 17; w = x
 *
 * Output:
 *   virtio-blk: 0x<base> irq <n>, features 0x<negotiated> of 0x<offered>
 *   virtio-blk: capacity <sectors> sectors
 *   blk: queues <n>
 *   blk: wrote <n> sectors, read <n> sectors, <n> mismatches, flush <ok|unsupported>
 *   blk: id "<text>"      or   blk: id unsupported
 *   blk: queue <q>: <n> requests          (one per queue, if more than 1)
 *   blk: <n> interrupts
 *   blk: <n> interrupts had InterruptStatus 0     (only if any: harmless
 *        after a race with an earlier handler, a VMM bug if frequent)
 *   test blk: PASS
 * <n> mismatches counts sectors.  Failure exit codes:
 *   3  no virtio-blk device
 *   4  device initialisation failed
 *   5  range or parameters invalid
 *   6  a request's status was not OK (or a ring error)
 *   7  timeout, or a completion noticed only when the timeout expired
 *      ("completed without interrupt")
 *   8  data mismatch
 *   9  no interrupt arrived at all
 *   10 device is read-only (use blk_readonly=1)
 */
#include "guest.h"
#include "io.h"
#include "virtio-blk.h"

#define BLK_FAIL_NODEV     3
#define BLK_FAIL_INIT      4
#define BLK_FAIL_PARAM     5
#define BLK_FAIL_IO        6
#define BLK_FAIL_TIMEOUT   7
#define BLK_FAIL_VERIFY    8
#define BLK_FAIL_NOIRQ     9
#define BLK_FAIL_RO        10

#define BLK_REQ_SECTORS    8                /* 4 KiB requests */
#define BLK_REQ_BYTES      (BLK_REQ_SECTORS * VIRTIO_BLK_SECTOR_SIZE)
#define BLK_DEPTH_MAX      16
#define BLK_WORDS          (VIRTIO_BLK_SECTOR_SIZE / 8)
#define BLK_MISMATCH_SHOW  4

static uint8_t wbuf[BLK_DEPTH_MAX][BLK_REQ_BYTES]
    __attribute__((aligned(4096))) GUEST_NOINIT;
static uint8_t rbuf[BLK_DEPTH_MAX][BLK_REQ_BYTES]
    __attribute__((aligned(4096))) GUEST_NOINIT;
static struct virtio_blk blk;

struct blk_slot {
    struct virtio_blk_req req;
    uint64_t sector;
    unsigned count;
    uint8_t *buf;
};

struct blk_run {
    uint64_t seed;
    uint64_t timeout_us;
    unsigned depth;
    unsigned mismatches;
    unsigned bad_status;
    uint64_t sectors_done;
};

static uint64_t pattern_start(uint64_t seed, uint64_t sector)
{
    uint64_t x = (seed << 32) ^ sector ^ 0x9e3779b97f4a7c15ull;

    return x ? x : 1;
}

static inline uint64_t xorshift64(uint64_t x)
{
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return x;
}

static void pattern_header(uint64_t sector, uint8_t *h)
{
    static const char prefix[] = "kvmini-blk-";
    uint64_t s = sector % 100000;
    int i;

    memcpy(h, prefix, 11);
    for (i = 15; i >= 11; i--) {
        h[i] = (uint8_t)('0' + s % 10);
        s /= 10;
    }
}

static void pattern_fill(uint64_t seed, uint64_t sector, uint8_t *p)
{
    uint64_t *w = (uint64_t *)p;
    uint64_t x = pattern_start(seed, sector);
    unsigned i;

    pattern_header(sector, p);
    for (i = 2; i < BLK_WORDS; i++) {
        x = xorshift64(x);
        w[i] = x;
    }
}

/* Returns true if the sector at p holds its pattern; prints the first
 * difference of the first few bad sectors. */
static bool pattern_check(struct blk_run *run, uint64_t sector,
                          const uint8_t *p)
{
    const uint64_t *w = (const uint64_t *)p;
    uint64_t want[2], x;
    unsigned i;

    pattern_header(sector, (uint8_t *)want);
    x = pattern_start(run->seed, sector);
    for (i = 0; i < BLK_WORDS; i++) {
        uint64_t expect;

        if (i < 2) {
            expect = want[i];
        } else {
            x = xorshift64(x);
            expect = x;
        }
        if (w[i] != expect) {
            if (run->mismatches < BLK_MISMATCH_SHOW) {
                printf("blk: sector %llu differs at byte %u: "
                       "got 0x%016llx want 0x%016llx\n",
                       (unsigned long long)sector, i * 8,
                       (unsigned long long)w[i],
                       (unsigned long long)expect);
            }
            run->mismatches++;
            return false;
        }
    }
    return true;
}

static void poison(uint8_t *p, unsigned bytes)
{
    uint64_t *w = (uint64_t *)p;
    unsigned i;

    for (i = 0; i < bytes / 8; i++) {
        w[i] = 0xdeadbeefdeadbeefull;
    }
}

static bool blk_complete(struct blk_run *run, struct virtio_blk_req *r)
{
    struct blk_slot *s = r->opaque;
    unsigned i;

    if (r->status != VIRTIO_BLK_S_OK) {
        if (run->bad_status++ == 0) {
            printf("blk: %s of sector %llu: status %u\n",
                   r->hdr.type == VIRTIO_BLK_T_OUT ? "write" : "read",
                   (unsigned long long)s->sector, r->status);
        }
        return false;
    }
    if (r->hdr.type == VIRTIO_BLK_T_IN) {
        for (i = 0; i < s->count; i++) {
            pattern_check(run, s->sector + i,
                          s->buf + i * VIRTIO_BLK_SECTOR_SIZE);
        }
    }
    run->sectors_done += s->count;
    return true;
}

/* One pass in progress: sectors [next, end) still to submit, the slots
 * not in flight. */
struct blk_pass_state {
    uint32_t type;                      /* VIRTIO_BLK_T_OUT or _IN */
    uint64_t next, end;
    struct blk_slot *slots;
    unsigned free_slots[BLK_DEPTH_MAX], nfree, reqno;
};

/* Fill the free slots (pattern to write, or poison to read over) and
 * submit them round-robin over the queues, until the range is done, no
 * slot is free or a queue is full. */
static void blk_submit_more(struct blk_run *run, struct blk_pass_state *ps)
{
    while (ps->next < ps->end && ps->nfree) {
        struct blk_slot *s = &ps->slots[ps->free_slots[ps->nfree - 1]];
        uint64_t n = ps->end - ps->next;
        unsigned b;

        s->count = n < BLK_REQ_SECTORS ? (unsigned)n : BLK_REQ_SECTORS;
        s->sector = ps->next;
        if (ps->type == VIRTIO_BLK_T_OUT) {
            for (b = 0; b < s->count; b++) {
                pattern_fill(run->seed, ps->next + b,
                             s->buf + b * VIRTIO_BLK_SECTOR_SIZE);
            }
        } else {
            poison(s->buf, s->count * VIRTIO_BLK_SECTOR_SIZE);
        }
        if (virtio_blk_submit(&blk, &s->req, ps->reqno % blk.nqueues,
                              ps->type, ps->next, s->buf,
                              s->count * VIRTIO_BLK_SECTOR_SIZE) < 0) {
            break;                      /* queue full: reap first */
        }
        s->req.opaque = s;
        ps->nfree--;
        ps->reqno++;
        ps->next += s->count;
    }
}

/* Sleep until a completion (bounded by run->timeout_us), then reap
 * every completed request and free its slot.  0 or a failure code. */
static int blk_wait_reap(struct blk_run *run, struct blk_pass_state *ps)
{
    struct virtio_blk_req *r;
    int rc;

    timer_start_us(run->timeout_us);
    rc = virtio_blk_wait(&blk);
    timer_stop();
    if (rc < 0) {
        virtio_reset(&blk.dev);
        return test_fail(BLK_FAIL_TIMEOUT, "%s %s: %u requests in "
                         "flight, %u interrupts",
                         ps->type == VIRTIO_BLK_T_OUT ? "write" : "read",
                         rc == -1 ? "timed out" :
                         "completed without interrupt",
                         blk.inflight, blk.dev.irq_count);
    }
    while ((rc = virtio_blk_reap(&blk, &r)) > 0) {
        struct blk_slot *s = r->opaque;

        blk_complete(run, r);
        ps->free_slots[ps->nfree++] = (unsigned)(s - ps->slots);
    }
    if (rc < 0) {
        virtio_reset(&blk.dev);
        return test_fail(BLK_FAIL_IO, "device returned a bad "
                         "descriptor id");
    }
    return 0;
}

/*
 * Run one pass (write or read) over [start, start + count).  Returns 0 or
 * a failure exit code (after printing the reason).
 */
static int blk_pass(struct blk_run *run, uint32_t type, uint64_t start,
                    uint64_t count)
{
    static struct blk_slot slots[BLK_DEPTH_MAX];
    struct blk_pass_state ps = {
        .type = type, .next = start, .end = start + count, .slots = slots,
    };
    unsigned i;
    int rc;

    for (i = 0; i < run->depth; i++) {
        slots[i].buf = type == VIRTIO_BLK_T_OUT ? wbuf[i] : rbuf[i];
        slots[i].req.opaque = &slots[i];
        ps.free_slots[ps.nfree++] = i;
    }
    while (ps.next < ps.end || blk.inflight) {
        blk_submit_more(run, &ps);
        if (!blk.inflight) {
            return test_fail(BLK_FAIL_IO, "cannot queue a request");
        }
        virtio_blk_kick(&blk);
        rc = blk_wait_reap(run, &ps);
        if (rc) {
            return rc;
        }
    }
    return 0;
}

static void print_id(const uint8_t *id)
{
    unsigned i;

    printf("blk: id \"");
    for (i = 0; i < VIRTIO_BLK_ID_BYTES && id[i]; i++) {
        printf("%c", id[i] >= 0x20 && id[i] < 0x7f ? id[i] : '?');
    }
    printf("\"\n");
}

/* Check blk_depth, set up the device (blk_queues, blk_irq_masked) and
 * check the range and, unless readonly, that it is writable. */
static int blk_open(struct blk_run *run, uint64_t start, uint64_t count,
                    bool readonly)
{
    bool irq_masked = cmdline_get_u64("blk_irq_masked", 0) != 0;
    unsigned queues = (unsigned)cmdline_get_u64("blk_queues", 1);
    int rc;

    if (run->depth == 0 || run->depth > BLK_DEPTH_MAX) {
        return test_fail(BLK_FAIL_PARAM, "blk_depth must be 1..%u",
                         BLK_DEPTH_MAX);
    }
    rc = virtio_blk_init(&blk, 0, queues);
    if (rc == -1) {
        return test_fail(BLK_FAIL_NODEV, "no virtio-blk device");
    } else if (rc < 0) {
        return test_fail(BLK_FAIL_INIT, "virtio-blk initialisation failed");
    }
    printf("blk: queues %u\n", blk.nqueues);
    if (irq_masked) {
        irq_mask(blk.dev.irq);
    }
    if (count == 0 || start >= blk.capacity ||
        count > blk.capacity - start) {
        return test_fail(BLK_FAIL_PARAM, "sectors %llu+%llu beyond "
                         "capacity %llu", (unsigned long long)start,
                         (unsigned long long)count,
                         (unsigned long long)blk.capacity);
    }
    if (!readonly && virtio_has_feature(&blk.dev, VIRTIO_BLK_F_RO)) {
        return test_fail(BLK_FAIL_RO, "device is read-only");
    }
    return 0;
}

/* A FLUSH if the device offers it: *flush becomes "ok" if it did. */
static int blk_flush(struct blk_run *run, const char **flush)
{
    int rc;

    if (!virtio_has_feature(&blk.dev, VIRTIO_BLK_F_FLUSH)) {
        return 0;
    }
    rc = virtio_blk_request_sync(&blk, 0, VIRTIO_BLK_T_FLUSH, 0, NULL, 0,
                                 run->timeout_us);
    if (rc == -1) {
        return test_fail(BLK_FAIL_TIMEOUT, "flush timed out (%u "
                         "interrupts)", blk.dev.irq_count);
    } else if (rc == VIRTIO_BLK_S_OK) {
        *flush = "ok";
    } else if (rc != VIRTIO_BLK_S_UNSUPP) {
        return test_fail(BLK_FAIL_IO, "flush: status %d", rc);
    }
    return 0;
}

/* GET_ID, printed (or "unsupported"). */
static int blk_get_id(struct blk_run *run)
{
    static uint8_t id[VIRTIO_BLK_ID_BYTES + 1]
        __attribute__((aligned(64)));
    int rc;

    rc = virtio_blk_request_sync(&blk, 0, VIRTIO_BLK_T_GET_ID, 0, id,
                                 VIRTIO_BLK_ID_BYTES, run->timeout_us);
    if (rc == VIRTIO_BLK_S_OK) {
        print_id(id);
    } else if (rc == VIRTIO_BLK_S_UNSUPP) {
        printf("blk: id unsupported\n");
    } else if (rc == -1) {
        return test_fail(BLK_FAIL_TIMEOUT, "GET_ID timed out (%u "
                         "interrupts)", blk.dev.irq_count);
    } else {
        return test_fail(BLK_FAIL_IO, "GET_ID: status %d", rc);
    }
    return 0;
}

/* The interrupt and queue counts, a reset, and the verdict. */
static int blk_finish(struct blk_run *run)
{
    int q;

    /* Fast completions may all have been seen without a sleep. */
    virtio_wait_first_irq(&blk.dev, run->timeout_us);
    for (q = 0; blk.nqueues > 1 && q < (int)blk.nqueues; q++) {
        printf("blk: queue %d: %u requests\n", q, blk.vq[q].avail_idx);
    }
    printf("blk: %u interrupts\n", blk.dev.irq_count);
    if (blk.dev.irq_empty) {
        printf("blk: %u interrupts had InterruptStatus 0\n",
               blk.dev.irq_empty);
    }
    virtio_reset(&blk.dev);
    if (run->bad_status) {
        return test_fail(BLK_FAIL_IO, "%u requests failed", run->bad_status);
    }
    if (run->mismatches) {
        return test_fail(BLK_FAIL_VERIFY, "%u sectors differ",
                         run->mismatches);
    }
    if (blk.dev.irq_count == 0) {
        return test_fail(BLK_FAIL_NOIRQ, "no interrupt");
    }
    return 0;
}

int test_blk(void)
{
    uint64_t start = cmdline_get_u64("blk_start", 0);
    uint64_t count = cmdline_get_u64("blk_sectors", 64);
    bool readonly = cmdline_get_u64("blk_readonly", 0) != 0;
    struct blk_run run = {
        .seed = cmdline_get_u64("blk_seed", 1),
        .timeout_us = cmdline_get_u64("blk_timeout_ms", 5000) * 1000,
        .depth = (unsigned)cmdline_get_u64("blk_depth", BLK_DEPTH_MAX),
    };
    uint64_t written = 0;
    const char *flush = "unsupported";
    int rc;

    rc = blk_open(&run, start, count, readonly);
    if (rc) {
        return rc;
    }
    if (!readonly) {
        rc = blk_pass(&run, VIRTIO_BLK_T_OUT, start, count);
        if (rc) {
            return rc;
        }
        written = run.sectors_done;
        run.sectors_done = 0;
    }
    rc = blk_pass(&run, VIRTIO_BLK_T_IN, start, count);
    if (rc) {
        return rc;
    }
    rc = blk_flush(&run, &flush);
    if (rc) {
        return rc;
    }
    printf("blk: wrote %llu sectors, read %llu sectors, %u mismatches, "
           "flush %s\n", (unsigned long long)written,
           (unsigned long long)run.sectors_done, run.mismatches, flush);
    rc = blk_get_id(&run);
    if (rc) {
        return rc;
    }
    return blk_finish(&run);
}
