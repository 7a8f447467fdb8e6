/* SPDX-License-Identifier: MIT */
/*
 * Soak: a vhost-user-blk backend connects and disconnects a thousand
 * times, and kvmini keeps nothing of it: exactly the fds it had, and
 * resident memory within a small bound.
 *
 * kvmini runs under qtest with the test backend, the test as the guest
 * driver with the device started.  Each cycle the backend goes away,
 * at random one of: it hangs up; it is freed and a new one takes its
 * place a moment later (kvmini dials or waits in vain meanwhile); it
 * hangs up and its next connection is cut at a random message of the
 * set-up; it hangs up and its next connection answers one of kvmini's
 * first requests with a reply kvmini must refuse (an fd riding along,
 * wrong flags, size or request).  kvmini stops the device, logs, drops
 * what it must, and when a good connection comes (client mode: kvmini
 * re-dials with reconnect-ms=10; server mode: kvmini listens with
 * server=on and the backend dials in again) sets the device up and
 * restarts its ring; a 512-byte write goes through and is checked on
 * the backend's disk.
 *
 * After a warm-up (the first WARMUP cycles: the allocator's pools, the
 * log and lazily created state reach their steady size) the test reads
 * kvmini's /proc/PID/fd count, VmRSS, RssAnon and RssShmem, runs the
 * cycles, and reads them again.  It asserts the fd count is exactly the
 * same and the memory grew by less than the bounds below, and prints
 * them.
 *
 * Default: 1000 cycles in each mode (the figure; ~20 s each);
 * KVMINI_SOAK_CYCLES=N.
 */
#include <string.h>
#include <linux/virtio_blk.h>

#include "soak-common.h"
#include "vhost-user-blk-common.h"

#define DEFAULT_CYCLES  1000
#define WARMUP          50
/*
 * The bounds on memory growth.  A cycle makes kvmini allocate and free a
 * few KiB (message buffers, the memory table, the vhost_dev's queue
 * state, the chardev's fd queue, the inflight region's mapping); kept
 * instead of freed, each of them costs from ~100 bytes to 4 KiB (a page
 * of a mapping) a cycle, and lands in RssAnon (heap and anonymous
 * mappings) or RssShmem.  VmRSS also counts the pages of kvmini's and
 * the libraries' code and data (RssFile) the first time a path runs:
 * here it stepped once by ~240 KiB in the first 100 cycles after the
 * warm-up (error paths of the bad replies seen for the first time), then
 * stayed flat over 2000 cycles, while RssAnon moved by +12 KiB.  With
 * 1 KiB leaked a cycle on purpose VmRSS and RssAnon grew by 1020 KiB
 * over 1000 cycles.  So: VmRSS must grow by less than 1 MiB (paging in
 * code is not a leak), RssAnon + RssShmem by less than 256 KiB, which
 * fails a leak of 256 bytes a cycle or more over the default 1000 cycles
 * (less over longer runs: 26 bytes over 10000).  Fds are counted
 * exactly.
 */
#define RSS_BOUND_KIB   1024
#define ANON_BOUND_KIB  256

typedef enum Mode {
    MODE_CLIENT,                /* kvmini dials, reconnect-ms=10 */
    MODE_SERVER,                /* kvmini listens, the backend dials */
} Mode;

/* How the backend goes away in a cycle. */
typedef enum Kind {
    K_DROP,                     /* hangs up; back at once */
    K_REPLACE,                  /* freed; a new one a moment later */
    K_DROP_AT,                  /* hangs up; the next connection dies at
                                 * a random message of its set-up */
    K_BAD_REPLY,                /* hangs up; the next connection gets a
                                 * reply kvmini must refuse */
    K_COUNT
} Kind;

static const char *const kind_name[] = {
    "hang-ups", "backends replaced", "set-ups cut at a random message",
    "bad replies",
};

typedef struct Soak {
    Blk t;
    Mode mode;
    GRand *rand;
    unsigned setup_msgs;        /* messages until a restarted ring runs */
    unsigned kinds[K_COUNT];
} Soak;

typedef struct Sample {
    unsigned fds;
    uint64_t rss_kib;
    uint64_t anon_kib;          /* RssAnon + RssShmem */
} Sample;

static Sample sample(Blk *t)
{
    int pid = qtest_pid(t->qts);

    /* A quiet moment: the ring runs and qtest answered. */
    blk_assert_alive(t);
    return (Sample) { soak_proc_fds_settled(pid), soak_proc_rss_kib(pid),
                      soak_proc_status_kib(pid, "RssAnon") +
                      soak_proc_status_kib(pid, "RssShmem") };
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

static void launch(Soak *s, Mode mode)
{
    VubOptions o;

    memset(s, 0, sizeof(*s));
    s->mode = mode;
    s->rand = soak_rand();
    backend_options(&o, mode);
    blk_init(&s->t, &o, true);
    if (mode == MODE_CLIENT) {
        blk_launch(&s->t, ",reconnect-ms=10", NULL, NULL);
    } else {
        blk_launch(&s->t, ",server=on,wait=off", NULL, NULL);
    }
    blk_driver_start(&s->t, 1);
    vub_log_clear(s->t.b);
}

/* A reply kvmini must refuse, to one of the first requests it sends. */
static void bad_reply(Soak *s)
{
    static const struct {
        VubFaultKind kind;
        uint32_t request;
        uint64_t value;
    } bad[] = {
        { VUB_FAULT_REPLY_FD, VHOST_USER_GET_FEATURES, 0 },
        { VUB_FAULT_REPLY_FLAGS, VHOST_USER_GET_PROTOCOL_FEATURES,
          VHOST_USER_VERSION },
        { VUB_FAULT_REPLY_SIZE, VHOST_USER_GET_CONFIG, 4096 },
        { VUB_FAULT_REPLY_REQUEST, VHOST_USER_GET_QUEUE_NUM,
          VHOST_USER_GET_FEATURES },
    };
    unsigned i = g_rand_int_range(s->rand, 0, G_N_ELEMENTS(bad));

    vub_add_fault(s->t.b, bad[i].kind, bad[i].request, bad[i].value, true);
}

/* The backend goes away as kind says; returns the connections to wait
 * for until the device is back. */
static unsigned go_away(Soak *s, Kind kind)
{
    unsigned conns = vub_connections(s->t.b) + 1;
    VubOptions o;

    switch (kind) {
    case K_REPLACE:
        backend_options(&o, s->mode);
        o.path = s->t.sock;
        vub_free(s->t.b);
        /* kvmini may dial (or wait) in vain meanwhile */
        g_usleep(g_rand_int_range(s->rand, 0, 30000));
        s->t.b = vub_new(&o);
        return 1;
    case K_DROP_AT:
        g_assert_cmpuint(s->setup_msgs, >, 0);
        vub_drop_at(s->t.b, g_rand_int_range(s->rand, 1,
                                             s->setup_msgs + 1));
        conns++;
        break;
    case K_BAD_REPLY:
        bad_reply(s);
        conns++;
        break;
    default:
        break;
    }
    vub_disconnect(s->t.b);
    return conns;
}

/* A verified write; if it never completes, say where the ring stands on
 * both sides (what a CI log needs to tell a lost kick from a slow
 * machine). */
static void write_after(Soak *s, unsigned c, Kind kind)
{
    g_autofree uint8_t *buf = g_malloc(512);
    g_autofree uint8_t *back = g_malloc(512);
    int r;

    blk_fill(buf, 512, c);
    r = qvirtio_blk_rw(s->t.vq[0], &s->t.alloc, VIRTIO_BLK_T_OUT, c % 1024,
                       buf, 512);
    if (r != VIRTIO_BLK_S_OK) {
        VubVringInfo vi = vub_vring_info(s->t.b, 0);
        g_autofree char *err = blk_stderr(&s->t);

        g_error("cycle %u (%s): write status %d (-1: not completed in %d "
                "ms); connections %u; backend ring started %d enabled %d "
                "last_avail %u; driver avail %u used %u; kvmini:\n%s", c,
                kind_name[kind], r, QVIRTIO_TIMEOUT_MS,
                vub_connections(s->t.b), vi.started, vi.enabled,
                vi.last_avail, s->t.vq[0]->avail_idx,
                qvirtqueue_used_idx(s->t.vq[0]), err);
    }
    vub_disk_read(s->t.b, (c % 1024) * 512, back, 512);
    g_assert_cmpmem(back, 512, buf, 512);
}

/* The backend goes away and comes back; the device works again. */
static void cycle(Soak *s, unsigned c)
{
    Kind kind = c < WARMUP / 2 ? K_DROP : g_rand_int_range(s->rand, 0,
                                                          K_COUNT);
    unsigned conns = go_away(s, kind);

    if (!vub_wait_connections(s->t.b, conns, 3 * TIMEOUT_MS) ||
        !vub_wait_vring_running(s->t.b, 0, TIMEOUT_MS)) {
        g_autofree char *why = vub_last_error(s->t.b);
        g_error("cycle %u (%s): the device did not come back (%s)", c,
                kind_name[kind], why ? why : "");
    }
    write_after(s, c, kind);
    if (kind == K_DROP && !s->setup_msgs) {
        /* What a restart of the running device sends. */
        s->setup_msgs = vub_log_len(s->t.b);
    }
    vub_log_clear(s->t.b);
    s->kinds[kind]++;
}

static void report(Soak *s, const char *name, unsigned cycles,
                   double secs, Sample before, Sample after)
{
    soak_log("reconnect/%s: %u connect/disconnect cycles (after %u to warm "
             "up), a verified write after each, in %.1f s (%.1f ms a "
             "cycle); kvmini fds %u -> %u, VmRSS %" G_GUINT64_FORMAT " -> %"
             G_GUINT64_FORMAT " KiB (%+" G_GINT64_FORMAT " KiB, bound %d), "
             "RssAnon+RssShmem %" G_GUINT64_FORMAT " -> %" G_GUINT64_FORMAT
             " KiB (%+" G_GINT64_FORMAT " KiB, bound %d)", name, cycles,
             WARMUP, secs, secs * 1000 / cycles, before.fds, after.fds,
             before.rss_kib, after.rss_kib,
             (gint64)(after.rss_kib - before.rss_kib), RSS_BOUND_KIB,
             before.anon_kib, after.anon_kib,
             (gint64)(after.anon_kib - before.anon_kib), ANON_BOUND_KIB);
    for (Kind k = 0; k < K_COUNT; k++) {
        soak_log("  %u %s", s->kinds[k], kind_name[k]);
    }
    soak_log("  (a restarted device's set-up: %u messages)", s->setup_msgs);
}

static void run(Mode mode)
{
    const char *name = mode == MODE_CLIENT ? "client" : "server";
    unsigned cycles = soak_cycles(DEFAULT_CYCLES);
    uint64_t mark;
    Sample before, after;
    gint64 t0;
    Soak s;

    launch(&s, mode);
    mark = s.t.alloc.next;
    for (unsigned c = 0; c < WARMUP; c++) {
        cycle(&s, c);
        s.t.alloc.next = mark;
    }
    before = sample(&s.t);
    memset(s.kinds, 0, sizeof(s.kinds));
    t0 = g_get_monotonic_time();
    for (unsigned c = 0; c < cycles; c++) {
        cycle(&s, WARMUP + c);
        s.t.alloc.next = mark;
    }
    after = sample(&s.t);
    report(&s, name, cycles, soak_seconds(t0), before, after);
    if (after.fds != before.fds) {
        g_autofree char *list = soak_proc_fd_list(qtest_pid(s.t.qts));
        g_error("kvmini had %u fds, %u after %u cycles:\n%s", before.fds,
                after.fds, cycles, list);
    }
    g_assert_cmpint((gint64)(after.rss_kib - before.rss_kib), <,
                    RSS_BOUND_KIB);
    g_assert_cmpint((gint64)(after.anon_kib - before.anon_kib), <,
                    ANON_BOUND_KIB);
    blk_free(&s.t);
    g_rand_free(s.rand);
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
