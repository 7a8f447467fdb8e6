/* SPDX-License-Identifier: MIT */
/*
 * Soak: a vhost-user-blk backend connects and disconnects a thousand
 * times, and kvmini keeps nothing of it: exactly the fds it had, and
 * resident memory within a small bound.
 *
 * kvmini runs under qtest with the test backend, the test as the guest
 * driver with the device started.  Each cycle the backend drops its
 * connection; kvmini stops the device, the backend comes back (client
 * mode: kvmini re-dials with reconnect-ms=10; server mode: kvmini listens
 * with server=on and the backend dials in again), kvmini sets the device
 * up and restarts its ring, and a 512-byte write goes through and is
 * checked on the backend's disk.  Every 8th cycle the backend is freed
 * and a new one takes its place instead.
 *
 * After a warm-up (the first WARMUP cycles: the allocator's pools, the
 * log and lazily created state reach their steady size) the test reads
 * kvmini's /proc/PID/fd count and VmRSS, runs the cycles, and reads them
 * again.  It asserts the fd count is exactly the same, and that VmRSS
 * grew by less than RSS_BOUND_KIB (see there), and prints both.
 *
 * Default: 1000 cycles in each mode (the figure; ~15 s each);
 * KVMINI_SOAK_CYCLES=N.
 */
#include <string.h>

#include "soak-common.h"
#include "vhost-user-blk-common.h"

#define DEFAULT_CYCLES  1000
#define WARMUP          50
/*
 * The bound on VmRSS growth.  A cycle makes kvmini allocate and free a
 * few KiB (message buffers, the memory table, the vhost_dev's queue
 * state, the chardev's fd queue, the inflight region's mapping); kept
 * instead of freed, each of them costs from ~100 bytes to 4 KiB (a page
 * of a mapping) a cycle.  Without a leak VmRSS did not move at all after
 * the warm-up here (+0 KiB over 1000 cycles, both modes, several runs);
 * with 1 KiB leaked a cycle on purpose it grew by 1020 KiB.  256 KiB
 * leaves room for the heap touching a few new pages and fails a leak of
 * 256 bytes a cycle or more over the default 1000 cycles (less over
 * longer runs: 26 bytes over 10000).  Fds are counted exactly.
 */
#define RSS_BOUND_KIB   256

typedef enum Mode {
    MODE_CLIENT,                /* kvmini dials, reconnect-ms=10 */
    MODE_SERVER,                /* kvmini listens, the backend dials */
} Mode;

typedef struct Sample {
    unsigned fds;
    uint64_t rss_kib;
} Sample;

static Sample sample(Blk *t)
{
    int pid = qtest_pid(t->qts);

    /* A quiet moment: the ring runs and qtest answered. */
    blk_assert_alive(t);
    return (Sample) { soak_proc_fds(pid), soak_proc_rss_kib(pid) };
}

static void backend_options(VubOptions *o, Mode mode)
{
    blk_options(o);
    o->disk_size = 1 * MiB;
    if (mode == MODE_SERVER) {
        o->client = true;
        o->redial = true;
    }
}

static void launch(Blk *t, Mode mode)
{
    VubOptions o;

    backend_options(&o, mode);
    blk_init(t, &o, true);
    if (mode == MODE_CLIENT) {
        blk_launch(t, ",reconnect-ms=10", NULL, NULL);
    } else {
        blk_launch(t, ",server=on,wait=off", NULL, NULL);
    }
    blk_driver_start(t, 1);
}

/* The backend goes away and comes back; the device works again. */
static void cycle(Blk *t, Mode mode, unsigned c)
{
    unsigned conns = vub_connections(t->b) + 1;

    if (c % 8 == 7) {
        VubOptions o;

        backend_options(&o, mode);
        o.path = t->sock;
        vub_free(t->b);
        t->b = vub_new(&o);
        conns = 1;
    } else {
        vub_disconnect(t->b);
    }
    if (!vub_wait_connections(t->b, conns, 3 * TIMEOUT_MS) ||
        !vub_wait_vring_running(t->b, 0, TIMEOUT_MS)) {
        g_error("cycle %u: the device did not come back", c);
    }
    blk_write_check(t, 0, c % 1024, 512, c);
    vub_log_clear(t->b);
}

static void run(Mode mode)
{
    const char *name = mode == MODE_CLIENT ? "client" : "server";
    unsigned cycles = soak_cycles(DEFAULT_CYCLES);
    uint64_t mark, bound = RSS_BOUND_KIB;
    Sample before, after;
    gint64 t0;
    Blk t;

    launch(&t, mode);
    mark = t.alloc.next;
    for (unsigned c = 0; c < WARMUP; c++) {
        cycle(&t, mode, c);
        t.alloc.next = mark;
    }
    before = sample(&t);
    t0 = g_get_monotonic_time();
    for (unsigned c = 0; c < cycles; c++) {
        cycle(&t, mode, WARMUP + c);
        t.alloc.next = mark;
    }
    after = sample(&t);
    soak_log("reconnect/%s: %u connect/disconnect cycles (after %u to warm "
             "up), a verified write after each, in %.1f s (%.1f ms a "
             "cycle); kvmini fds %u -> %u, VmRSS %" G_GUINT64_FORMAT " -> %"
             G_GUINT64_FORMAT " KiB (%+" G_GINT64_FORMAT " KiB, bound %"
             G_GUINT64_FORMAT ")", name, cycles, WARMUP, soak_seconds(t0),
             soak_seconds(t0) * 1000 / cycles, before.fds, after.fds,
             before.rss_kib, after.rss_kib,
             (gint64)(after.rss_kib - before.rss_kib), bound);
    if (after.fds != before.fds) {
        g_autofree char *list = soak_proc_fd_list(qtest_pid(t.qts));
        g_error("kvmini had %u fds, %u after %u cycles:\n%s", before.fds,
                after.fds, cycles, list);
    }
    g_assert_cmpint((gint64)(after.rss_kib - before.rss_kib), <,
                    (gint64)bound);
    blk_free(&t);
}

static void test_client(void)
{
    run(MODE_CLIENT);
}

static void test_server(void)
{
    run(MODE_SERVER);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/soak/reconnect/client", test_client);
    g_test_add_func("/soak/reconnect/server", test_server);
    return g_test_run();
}
