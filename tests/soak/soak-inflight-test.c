/* SPDX-License-Identifier: MIT */
/*
 * Soak: the vhost-user-blk backend crashes with I/O in flight, again and
 * again, and every request completes exactly once.
 *
 * kvmini runs under qtest with the test backend (inflight tracking on,
 * reconnect-ms=10) and the test is the guest driver.  Each cycle submits
 * a random batch of 4 KiB reads and writes to distinct slots of the disk;
 * the backend takes them all and holds them; it completes a random subset
 * in a random order (sometimes the last one torn: used entry published,
 * inflight entry not cleared), and then dies with the rest: freed and
 * replaced by a new backend on the same socket (a restart), or its
 * connection dropped (a crash of the session).  kvmini notices, re-dials,
 * hands the inflight region back and restarts the ring; the new backend
 * resubmits what was left.
 *
 * What a user would check, per cycle: every request comes back once (its
 * head in the used ring exactly once, nothing missing after the restart),
 * with status OK, and a read returns what the last write of its slot put
 * there; the backends count what they served per sector (one disk and
 * one set of counters shared by every backend, as one image file would
 * be): exactly one per request, so nothing was served twice.  At the end
 * the disk holds every slot's last write, and kvmini has exactly the fds
 * it had after the first cycle.
 *
 * Default: 100 cycles (the figure); KVMINI_SOAK_CYCLES=N.
 */
#include "soak-blk-io.h"
#include "soak-common.h"
#include "vhost-user-blk-common.h"

#define MAX_BATCH       24
#define DEFAULT_CYCLES  100

typedef struct Soak {
    Blk t;
    VubOptions o;
    GRand *rand;
    SoakIo io;
    unsigned crashes;
    uint64_t before, resubmitted, torn;     /* figures */
} Soak;

static void soak_init(Soak *s)
{
    memset(s, 0, sizeof(*s));
    s->rand = soak_rand();
    soak_io_init(&s->io, s->rand);
    soak_io_options(&s->io, &s->o);
    s->o.inflight = true;
    blk_init(&s->t, &s->o, true);
    s->o.path = s->t.sock;      /* for the backends that replace it */
    blk_launch(&s->t, ",reconnect-ms=10", NULL, NULL);
    blk_driver_start(&s->t, 1);
}

static void soak_free(Soak *s)
{
    blk_free(&s->t);
    soak_io_free(&s->io);
    g_rand_free(s->rand);
}

/* The held backend completes k random requests of the batch in a random
 * order, the last one torn now and then; returns k. */
static unsigned complete_some(Soak *s, const char *when)
{
    unsigned n = s->io.npending;
    unsigned k = g_rand_int_range(s->rand, 0, n);
    bool torn = k && g_rand_int_range(s->rand, 0, 4) == 0;
    SoakReq req[SOAK_IO_MAX_PENDING];

    memcpy(req, s->io.pending, n * sizeof(req[0]));
    for (unsigned i = 0; i < k; i++) {
        unsigned j = g_rand_int_range(s->rand, i, n);
        SoakReq tmp = req[i];

        req[i] = req[j];
        req[j] = tmp;
        g_assert_true(vub_complete_held(s->t.b, 0, req[i].r.head,
                                        torn && i == k - 1));
    }
    soak_io_reap(&s->io, s->t.vq[0], n - k, TIMEOUT_MS, when);
    s->before += k;
    s->torn += torn;
    return k;
}

/* The backend dies with what it holds: odd cycles drop the connection,
 * even ones free the backend and start a new one on the socket. */
static void crash(Soak *s, unsigned cycle)
{
    unsigned conns;

    if (cycle % 2) {
        conns = vub_connections(s->t.b) + 1;
        vub_set_hold(s->t.b, false);
        vub_disconnect(s->t.b);
    } else {
        vub_free(s->t.b);
        s->t.b = vub_new(&s->o);
        conns = 1;
    }
    s->crashes++;
    g_assert_true(vub_wait_connections(s->t.b, conns, 3 * TIMEOUT_MS));
    g_assert_true(vub_wait_vring_running(s->t.b, 0, TIMEOUT_MS));
}

static void soak_cycle(Soak *s, unsigned cycle)
{
    unsigned n = g_rand_int_range(s->rand, 2, MAX_BATCH + 1);
    uint64_t mark = s->t.alloc.next;
    g_autofree char *when = g_strdup_printf("cycle %u", cycle);
    unsigned k;

    vub_set_hold(s->t.b, true);
    soak_io_submit(&s->io, s->t.vq[0], &s->t.alloc, n);
    qvirtqueue_kick(s->t.vq[0]);
    g_assert_true(vub_wait_held(s->t.b, 0, n, TIMEOUT_MS));
    k = complete_some(s, when);
    crash(s, cycle);
    soak_io_reap(&s->io, s->t.vq[0], 0, TIMEOUT_MS, when);
    g_assert_cmpuint(vub_vring_info(s->t.b, 0).resubmitted, >=, n - k);
    s->resubmitted += n - k;
    soak_io_check_served(&s->io, when);
    s->t.alloc.next = mark;     /* every buffer of the batch is back */
}

/* The disk holds every slot's last write; 16 more requests go through. */
static void check_disk(Soak *s)
{
    soak_io_check_disk(&s->io);
    for (unsigned i = 0; i < 16; i++) {
        uint64_t mark = s->t.alloc.next;

        soak_io_submit(&s->io, s->t.vq[0], &s->t.alloc, 1);
        qvirtqueue_kick(s->t.vq[0]);
        soak_io_reap(&s->io, s->t.vq[0], 0, TIMEOUT_MS, "at the end");
        s->t.alloc.next = mark;
    }
    soak_io_check_served(&s->io, "at the end");
}

static void test_inflight_restarts(void)
{
    unsigned cycles = soak_cycles(DEFAULT_CYCLES);
    gint64 t0 = g_get_monotonic_time();
    g_autofree char *err = NULL;
    unsigned fds0, fds1, pid;
    uint64_t rss0, rss1;
    Soak s;

    soak_init(&s);
    pid = qtest_pid(s.t.qts);
    soak_cycle(&s, 0);
    fds0 = soak_proc_fds_settled(pid);
    rss0 = soak_proc_rss_kib(pid);
    for (unsigned c = 1; c < cycles; c++) {
        soak_cycle(&s, c);
    }
    check_disk(&s);
    fds1 = soak_proc_fds_settled(pid);
    rss1 = soak_proc_rss_kib(pid);
    err = blk_stderr(&s.t);
    g_assert_cmpuint(soak_count(err, "backend disconnected"), ==,
                     s.crashes);
    soak_log("inflight: %u backend crashes (%u restarts, %u dropped "
             "connections), %" G_GUINT64_FORMAT " requests (%"
             G_GUINT64_FORMAT " writes, %" G_GUINT64_FORMAT " reads): %"
             G_GUINT64_FORMAT " completed before the crash (%"
             G_GUINT64_FORMAT " torn), %" G_GUINT64_FORMAT " resubmitted "
             "after it, each exactly once; kvmini fds %u -> %u, VmRSS %"
             G_GUINT64_FORMAT " -> %" G_GUINT64_FORMAT " KiB; %.1f s",
             s.crashes, (s.crashes + 1) / 2, s.crashes / 2,
             s.io.reads + s.io.writes, s.io.writes, s.io.reads, s.before,
             s.torn, s.resubmitted, fds0, fds1, rss0, rss1,
             soak_seconds(t0));
    if (fds1 != fds0) {
        g_autofree char *list = soak_proc_fd_list(pid);
        g_error("kvmini had %u fds after the first cycle, %u now:\n%s",
                fds0, fds1, list);
    }
    soak_free(&s);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/soak/inflight/backend-restarts",
                    test_inflight_restarts);
    return g_test_run();
}
