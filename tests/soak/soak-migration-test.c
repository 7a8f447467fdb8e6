/* SPDX-License-Identifier: MIT */
/*
 * Soak: live migrations back and forth while a vhost-user-blk backend
 * restarts during them.
 *
 * Two kvmini under qtest, "a" and "b", each with its own test backend
 * (one disk and one set of served counters shared by all backends, as
 * one image file would be; chardev reconnect-ms=10) and a QMP monitor;
 * the test is the guest driver and moves with the guest.  Each migration
 * goes from the running side to a fresh kvmini started with -incoming on
 * the other, while the driver keeps random 4 KiB reads and writes in
 * flight (soak-blk-io.h), and a backend restarts at one of these points,
 * in turn:
 *   - before setup: the source's backend is gone when migrate is issued
 *     (I/O submitted meanwhile waits) and comes back a moment later;
 *   - during the RAM rounds: the source's backend is freed and replaced,
 *     or its connection dropped, while RAM is copied at a slow rate; I/O
 *     goes through the new one (its writes into guest memory must reach
 *     the destination through the dirty log);
 *   - at switch-over: the source's backend holds the requests it takes
 *     and dies at the device stop (the next message after setup);
 *   - the destination's backend restarts during the RAM rounds;
 *   - the destination's backend dies at the destination's device start.
 * A migration must either complete — then every request submitted on
 * the source completes exactly once on the destination, reads with the
 * right data, and the backends served each exactly once — or fail with a
 * reason while the source keeps running, its requests complete there,
 * and the next migration (without a restart) completes.
 *
 * Default: 50 migrations (each point ten times; ~10 s here);
 * KVMINI_SOAK_CYCLES=N.
 */
#include <signal.h>
#include <glib/gstdio.h>
#include <string.h>
#include <linux/virtio_blk.h>
#include <linux/virtio_ids.h>

#include "libqmp.h"
#include "soak-blk-io.h"
#include "soak-common.h"

#define MiB             (1024ULL * 1024)
#define GUEST_MIB       64
#define RAM_LOW         (1 * MiB)       /* driver allocations */
#define RAM_HIGH        (16 * MiB)
#define FILL_START      (16 * MiB)      /* non-zero pages: a slower copy */
#define FILL_SIZE       (16 * MiB)
#define SLOW_BW         (16 * MiB)      /* bytes/s while the test acts */
#define TIMEOUT_MS      10000
#define MIG_TIMEOUT_MS  60000
#define DEFAULT_CYCLES  50
#define BLK_WANTED      ((1ULL << VIRTIO_BLK_F_SEG_MAX) | \
                         (1ULL << VIRTIO_BLK_F_BLK_SIZE) | \
                         (1ULL << VIRTIO_BLK_F_FLUSH))

typedef enum Point {
    PT_BEFORE_SETUP,
    PT_RAM_ROUNDS,
    PT_SWITCH_OVER,
    PT_DST_RAM_ROUNDS,
    PT_DST_START,
    PT_COUNT,
    PT_NONE = PT_COUNT,         /* the retry after a failed migration */
} Point;

static const char *const point_name[] = {
    "source backend before setup", "source backend during the RAM rounds",
    "source backend at switch-over",
    "destination backend during the RAM rounds",
    "destination backend at its device start", "no restart",
};

typedef struct Side {
    const char *name;
    char *sock, *qmp;
    Vub *b;
    QTestState *qts;
    QmpClient *c;
} Side;

typedef struct MigSoak {
    char *dir;
    GRand *rand;
    SoakIo io;
    Side side[2];
    unsigned src;               /* the side the guest runs on */
    unsigned n;                 /* migrations so far */
    QVirtioDevice dev;
    QGuestAlloc alloc;
    QVirtQueue *vq;
    unsigned restarts;
    unsigned done[PT_COUNT + 1], failed[PT_COUNT + 1];
    GString *reasons;
} MigSoak;

/* --- the two sides -------------------------------------------------------- */

static char *mig_uri(MigSoak *m, unsigned n)
{
    return g_strdup_printf("unix:%s/mig-%u.sock", m->dir, n);
}

static Vub *backend_new(MigSoak *m, Side *s)
{
    VubOptions o;

    soak_io_options(&m->io, &o);
    o.path = s->sock;
    return vub_new(&o);
}

/* kvmini on side s, waiting for migration n if incoming. */
static void side_launch(MigSoak *m, Side *s, bool incoming)
{
    g_autofree char *uri = mig_uri(m, m->n);

    s->qts = qtest_initf("-m %d -chardev socket,id=c0,path=%s,"
                         "reconnect-ms=10 -device vhost-user-blk,chardev=c0,"
                         "id=disk0 -qmp unix:%s,server=on,wait=off%s%s",
                         GUEST_MIB, s->sock, s->qmp,
                         incoming ? " -incoming " : "", incoming ? uri : "");
    s->c = qmp_connect(s->qmp);
    qmp_negotiate(s->c);
}

/* Close QMP and end kvmini: quit (exit status 0 asserted) or SIGKILL. */
static void side_stop(Side *s, bool quit)
{
    qmp_close(s->c);
    s->c = NULL;
    if (!quit) {
        kill(qtest_pid(s->qts), SIGKILL);
        qtest_quit_status(s->qts);
    } else {
        qtest_quit(s->qts);
    }
    s->qts = NULL;
    /* Its backend is free for the next kvmini on this side. */
    g_assert_true(vub_wait_disconnected(s->b, TIMEOUT_MS));
}

static void side_init(MigSoak *m, Side *s, const char *name)
{
    s->name = name;
    s->sock = g_strdup_printf("%s/%s-vub.sock", m->dir, name);
    s->qmp = g_strdup_printf("%s/%s-qmp.sock", m->dir, name);
    s->b = backend_new(m, s);
}

static void side_free(Side *s)
{
    if (s->qts) {
        side_stop(s, true);
    }
    vub_free(s->b);
    g_free(s->sock);
    g_free(s->qmp);
}

/* The driver runs on side s from now on. */
static void driver_follow(MigSoak *m, Side *s)
{
    m->dev.qts = s->qts;
    qtest_irq_intercept_in(s->qts, "ioapic");
}

static void soak_init(MigSoak *m)
{
    g_autoptr(GError) err = NULL;

    memset(m, 0, sizeof(*m));
    m->rand = soak_rand();
    soak_io_init(&m->io, m->rand);
    m->reasons = g_string_new(NULL);
    m->dir = g_dir_make_tmp("soak-mig-XXXXXX", &err);
    g_assert_no_error(err);
    side_init(m, &m->side[0], "a");
    side_init(m, &m->side[1], "b");
    side_launch(m, &m->side[0], false);
    side_launch(m, &m->side[1], true);
    qguest_alloc_init(&m->alloc, RAM_LOW, RAM_HIGH);
    g_assert_true(qvirtio_mmio_probe(&m->dev, m->side[0].qts, 0));
    g_assert_cmpuint(m->dev.device_id, ==, VIRTIO_ID_BLOCK);
    qvirtio_reset(&m->dev);
    g_assert_true(qvirtio_negotiate(&m->dev, BLK_WANTED));
    m->vq = qvirtqueue_setup(&m->dev, &m->alloc, 0, 0);
    qvirtio_driver_ok(&m->dev);
    g_assert_true(vub_wait_vring_running(m->side[0].b, 0, TIMEOUT_MS));
    /* Moves with the guest from now on. */
    for (uint64_t off = 0; off < FILL_SIZE; off += 8 * MiB) {
        qtest_memset(m->side[0].qts, FILL_START + off, 0x5a, 8 * MiB);
    }
}

static void soak_free(MigSoak *m)
{
    g_autofree char *uri = mig_uri(m, m->n);

    qvirtqueue_free(m->vq);
    side_free(&m->side[0]);
    side_free(&m->side[1]);
    g_remove(uri + strlen("unix:"));
    g_rmdir(m->dir);
    g_free(m->dir);
    soak_io_free(&m->io);
    g_rand_free(m->rand);
    g_string_free(m->reasons, TRUE);
}

/* --- I/O and QMP ---------------------------------------------------------- */

/* A few more requests in flight (or waiting for the backend). */
static void io_more(MigSoak *m)
{
    soak_io_submit(&m->io, m->vq, &m->alloc,
                   g_rand_int_range(m->rand, 1, 9));
    qvirtqueue_kick(m->vq);
}

static void set_bandwidth(Side *s, uint64_t bytes_per_s)
{
    json_node_unref(qmp_cmd_ok(s->c, "{\"execute\": "
        "\"migrate-set-parameters\", \"arguments\": {\"max-bandwidth\": %"
        G_GUINT64_FORMAT "}}", (guint64)bytes_per_s));
}

static void migrate_start(MigSoak *m, Side *src, uint64_t bandwidth)
{
    g_autofree char *uri = mig_uri(m, m->n);

    set_bandwidth(src, bandwidth);
    json_node_unref(qmp_cmd_ok(src->c, "{\"execute\": \"migrate\", "
                               "\"arguments\": {\"uri\": \"%s\"}}", uri));
}

/* Wait until 4 MiB went out, if the migration is still running then. */
static void wait_copying(Side *src)
{
    json_node_unref(qmp_wait_migration_ram(src->c, "transferred", 4 * MiB,
                                           NULL, MIG_TIMEOUT_MS));
}

static const char *run_status(Side *s)
{
    static char status[32];
    g_autoptr(JsonNode) r = qmp_cmd_ok(s->c, "{\"execute\": "
                                       "\"query-status\"}");

    g_strlcpy(status, json_object_get_string_member(
                  json_node_get_object(r), "status"), sizeof(status));
    return status;
}

/* --- the restarts --------------------------------------------------------- */

/* Side s's backend restarts: freed and replaced, or its connection
 * dropped (chosen at random); returns the connection count to wait for. */
static unsigned restart(MigSoak *m, Side *s)
{
    m->restarts++;
    if (g_rand_boolean(m->rand)) {
        vub_disconnect(s->b);
        return vub_connections(s->b) + 1;
    }
    vub_free(s->b);
    s->b = backend_new(m, s);
    return 1;
}

static void wait_back(Side *s, unsigned conns, bool running)
{
    if (!vub_wait_connections(s->b, conns, 3 * TIMEOUT_MS) ||
        (running && !vub_wait_vring_running(s->b, 0, TIMEOUT_MS))) {
        g_error("side %s: the backend did not come back", s->name);
    }
}

/* Gone when migrate is issued, back a random moment later. */
static void act_before_setup(MigSoak *m, Side *src)
{
    m->restarts++;
    vub_free(src->b);
    src->b = NULL;
    io_more(m);                         /* waits for a backend */
    migrate_start(m, src, SLOW_BW);
    g_usleep(g_rand_int_range(m->rand, 0, 50000));
    src->b = backend_new(m, src);
    set_bandwidth(src, 0);
}

static void act_ram_rounds(MigSoak *m, Side *src, Side *dst, bool on_src)
{
    Side *s = on_src ? src : dst;

    migrate_start(m, src, SLOW_BW);
    wait_copying(src);
    /* The source's device runs again on the new backend (logging). */
    wait_back(s, restart(m, s), on_src);
    io_more(m);
    set_bandwidth(src, 0);
}

/* The source's backend holds what it takes, then dies at the next
 * message: the device stop of the switch-over. */
static void act_switch_over(MigSoak *m, Side *src)
{
    unsigned logs = vub_count(src->b, VHOST_USER_SET_LOG_BASE);
    unsigned held = m->io.npending;

    migrate_start(m, src, SLOW_BW);
    g_assert_true(vub_wait_for_count(src->b, VHOST_USER_SET_LOG_BASE,
                                     logs + 1, TIMEOUT_MS));
    vub_set_hold(src->b, true);
    io_more(m);
    held = m->io.npending - held;
    g_assert_true(vub_wait_held(src->b, 0, held, TIMEOUT_MS));
    m->restarts++;
    vub_drop_at_next(src->b);
    set_bandwidth(src, 0);
}

/* The destination's backend dies at the next message: when the
 * destination starts the device. */
static void act_dst_start(MigSoak *m, Side *src, Side *dst)
{
    migrate_start(m, src, SLOW_BW);
    wait_copying(src);
    io_more(m);
    m->restarts++;
    vub_drop_at_next(dst->b);
    set_bandwidth(src, 0);
}

static void act(MigSoak *m, Point pt, Side *src, Side *dst)
{
    switch (pt) {
    case PT_BEFORE_SETUP:
        act_before_setup(m, src);
        break;
    case PT_RAM_ROUNDS:
    case PT_DST_RAM_ROUNDS:
        act_ram_rounds(m, src, dst, pt == PT_RAM_ROUNDS);
        break;
    case PT_SWITCH_OVER:
        act_switch_over(m, src);
        break;
    case PT_DST_START:
        act_dst_start(m, src, dst);
        break;
    default:
        migrate_start(m, src, 0);
    }
}

/* --- one migration -------------------------------------------------------- */

/* Every request the source had comes back once, on side s; the old
 * source ends, a new destination waits on its side. */
static void all_done_on(MigSoak *m, Side *s, const char *when)
{
    qvirtqueue_kick(m->vq);     /* what a restarted ring may not see */
    soak_io_reap(&m->io, m->vq, 0, TIMEOUT_MS, when);
    soak_io_check_served(&m->io, when);
}

static void completed(MigSoak *m, Side *src, Side *dst, const char *when)
{
    json_node_unref(qmp_wait_migration_status(dst->c, "completed",
                                              MIG_TIMEOUT_MS));
    g_assert_cmpstr(run_status(dst), ==, "running");
    driver_follow(m, dst);
    all_done_on(m, dst, when);
    side_stop(src, true);
    m->n++;
    side_launch(m, src, true);
    m->src = !m->src;
}

static void failed(MigSoak *m, Side *src, Side *dst, const char *status,
                   const char *error, const char *when)
{
    g_assert_cmpstr(status, ==, "failed");
    if (!error || !*error) {
        g_error("%s: the migration failed without a reason", when);
    }
    g_assert_cmpstr(run_status(src), ==, "running");
    g_assert_true(vub_wait_vring_running(src->b, 0, TIMEOUT_MS));
    all_done_on(m, src, when);
    side_stop(dst, false);
    m->n++;
    side_launch(m, dst, true);
}

/* One migration with a restart at pt; true if it completed. */
static bool migrate_once(MigSoak *m, Point pt)
{
    Side *src = &m->side[m->src], *dst = &m->side[!m->src];
    g_autofree char *when = g_strdup_printf("migration %u (%s -> %s, %s)",
                                            m->n, src->name, dst->name,
                                            point_name[pt]);
    g_autofree char *status = NULL, *error = NULL, *dropped = NULL;
    g_autofree char *uri = mig_uri(m, m->n);
    bool ok;

    io_more(m);
    act(m, pt, src, dst);
    status = qmp_wait_migration_end(src->c, MIG_TIMEOUT_MS, &error);
    if (pt == PT_SWITCH_OVER || pt == PT_DST_START) {
        dropped = vub_last_error(pt == PT_SWITCH_OVER ? src->b : dst->b);
    }
    ok = !strcmp(status, "completed");
    g_string_append_printf(m->reasons, "  %s: %s%s%s, %u requests pending"
                           "%s%s\n", when, status, error ? ": " : "",
                           error ? error : "", m->io.npending,
                           dropped ? "; backend: " : "",
                           dropped ? dropped : "");
    if (ok) {
        completed(m, src, dst, when);
    } else {
        failed(m, src, dst, status, error, when);
    }
    g_remove(uri + strlen("unix:"));
    *(ok ? &m->done[pt] : &m->failed[pt]) += 1;
    return ok;
}

static void test_migrations(void)
{
    unsigned cycles = soak_cycles(DEFAULT_CYCLES);
    gint64 t0 = g_get_monotonic_time();
    uint64_t mark;
    MigSoak m;

    soak_init(&m);
    mark = m.alloc.next;
    for (unsigned i = 0; i < cycles; i++) {
        if (!migrate_once(&m, i % PT_COUNT) && !migrate_once(&m, PT_NONE)) {
            g_error("a migration without a restart failed after a failed "
                    "one:\n%s", m.reasons->str);
        }
        m.alloc.next = mark;    /* nothing is pending */
    }
    soak_io_check_disk(&m.io);
    soak_log("migration: %u migrations with a backend restart, %u "
             "restarts, %" G_GUINT64_FORMAT " requests (%" G_GUINT64_FORMAT
             " writes, %" G_GUINT64_FORMAT " reads) each completed exactly "
             "once; %.1f s", cycles, m.restarts,
             m.io.reads + m.io.writes, m.io.writes, m.io.reads,
             soak_seconds(t0));
    for (Point pt = 0; pt <= PT_NONE; pt++) {
        soak_log("  %s: %u completed, %u failed cleanly", point_name[pt],
                 m.done[pt], m.failed[pt]);
    }
    soak_log("each migration:\n%s", m.reasons->str);
    soak_free(&m);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    signal(SIGPIPE, SIG_IGN);
    g_test_add_func("/soak/migration/backend-restarts", test_migrations);
    return g_test_run();
}
