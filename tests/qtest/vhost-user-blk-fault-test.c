/* SPDX-License-Identifier: MIT */
/*
 * vhost-user-blk under qtest with backends that misbehave: broken
 * replies, failed acks, hang-ups, late arrival, requests on the backend
 * channel, a crash with requests in flight.  kvmini must drop such a
 * backend with a reason on stderr, keep answering qtest, come back when
 * the backend does (ring position handed back in SET_VRING_BASE, the
 * inflight region in SET_INFLIGHT_FD) and keep exactly the fds it had.
 */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>
#include <glib/gstdio.h>
#include <linux/virtio_blk.h>
#include <linux/virtio_ring.h>

#include "hw/virtio/virtio-mmio.h"
#include "vhost-user-blk-common.h"

/* --- misbehaving backends ------------------------------------------------- */

typedef struct BadReply {
    VubFaultKind kind;
    uint64_t value;
    const char *why;            /* in kvmini's stderr */
} BadReply;

static const BadReply bad_flags = { VUB_FAULT_REPLY_FLAGS,
                                    VHOST_USER_VERSION, "flags" };
static const BadReply bad_size = { VUB_FAULT_REPLY_SIZE, 4096, "size" };
static const BadReply bad_request = { VUB_FAULT_REPLY_REQUEST,
                                      VHOST_USER_GET_FEATURES, "request" };
static const BadReply bad_fd = { VUB_FAULT_REPLY_FD, 0, "fd" };
/* kvmini waits VHOST_USER_REPLY_TIMEOUT_MS (10 s) for it. */
static const BadReply bad_none = { VUB_FAULT_NO_REPLY, 0, "no reply" };

/* GET_VRING_BASE (at the driver's reset) gets a broken reply: the
 * backend is dropped, kvmini keeps running and says why. */
static void test_bad_reply(gconstpointer data)
{
    const BadReply *bad = data;
    Blk t;

    blk_init(&t, NULL, true);
    vub_add_fault(t.b, bad->kind, VHOST_USER_GET_VRING_BASE, bad->value,
                  true);
    blk_launch(&t, NULL, NULL, NULL);
    blk_driver_start(&t, 1);
    blk_write_check(&t, 0, 1, 512, 1);
    qvirtio_set_status(&t.dev, 0);
    g_assert_true(vub_wait_disconnected(t.b, TIMEOUT_MS));
    blk_assert_alive(&t);
    blk_expect_stderr(&t, "GET_VRING_BASE", "disconnecting backend",
                      bad->why, NULL);
    blk_free(&t);
}

/* A REPLY_ACK with a non-zero status fails the start, with the request
 * named; the connection itself is fine. */
static void test_reply_ack_error(void)
{
    Blk t;

    blk_init(&t, NULL, true);
    vub_add_fault(t.b, VUB_FAULT_ACK_STATUS, VHOST_USER_SET_VRING_ADDR, 1,
                  false);
    blk_launch(&t, NULL, NULL, NULL);
    g_assert_true(qvirtio_mmio_probe(&t.dev, t.qts, 0));
    g_assert_true(qvirtio_negotiate(&t.dev, BLK_WANTED));
    t.vq[0] = qvirtqueue_setup(&t.dev, &t.alloc, 0, 0);
    t.nvqs = 1;
    qvirtio_driver_ok(&t.dev);
    blk_expect_stderr(&t, "SET_VRING_ADDR", "status 1", NULL);
    g_assert_true(vub_connected(t.b));
    g_assert_false(vub_vring_info(t.b, 0).started);
    blk_assert_alive(&t);
    blk_free(&t);
}

/* --- reconnection and ring state ------------------------------------------ */

/* How the first backend fails at start-up. */
typedef enum FirstFailure {
    FIRST_BAD_REPLY,            /* GET_FEATURES reply with wrong flags */
    FIRST_REJECTED,             /* REPLY_ACK status 1 for SET_OWNER */
    FIRST_HANGUP,               /* hangs up at its first message */
} FirstFailure;

/* reconnect=1: a backend that fails its first connection is dropped,
 * logged and the next one awaited; kvmini starts and the device works on
 * the second connection, exactly as with a late backend.  (Without
 * reconnect= the same failure is fatal: cmdline tests.) */
static void test_reconnect_bad_first(gconstpointer data)
{
    FirstFailure how = GPOINTER_TO_INT(data);
    Blk t;

    blk_init(&t, NULL, true);
    if (how == FIRST_BAD_REPLY) {
        vub_add_fault(t.b, VUB_FAULT_REPLY_FLAGS, VHOST_USER_GET_FEATURES,
                      VHOST_USER_VERSION, true);
    } else if (how == FIRST_REJECTED) {
        vub_add_fault(t.b, VUB_FAULT_ACK_STATUS, VHOST_USER_SET_OWNER, 1,
                      true);
    } else {
        vub_drop_at(t.b, 1);
    }
    blk_launch(&t, ",reconnect=1", NULL, NULL);
    g_assert_cmpuint(vub_connections(t.b), ==, 2);
    blk_expect_stderr(&t, "backend connection failed",
                      "waiting for the next one", NULL);
    blk_driver_start(&t, 1);
    blk_write_check(&t, 0, 3, 2048, 4);
    blk_free(&t);
}

static gpointer late_backend(gpointer path)
{
    g_usleep(1500 * 1000);
    return vub_new_server(path);
}

/* reconnect=1 and no backend yet: kvmini waits (as QEMU's realize does)
 * and connects once it appears. */
static void test_reconnect_late_backend(void)
{
    gint64 t0 = g_get_monotonic_time();
    GThread *th;
    Blk t;

    blk_init(&t, NULL, false);
    th = g_thread_new("late-backend", late_backend, t.sock);
    blk_launch(&t, ",reconnect=1", NULL, NULL);
    t.b = g_thread_join(th);
    g_assert_cmpint(g_get_monotonic_time() - t0, >=, 1500 * 1000);
    g_assert_cmpuint(vub_connections(t.b), ==, 1);
    g_assert_cmpuint(vub_count(t.b, VHOST_USER_GET_FEATURES), ==, 1);
    blk_driver_start(&t, 1);
    blk_write_check(&t, 0, 9, 1024, 2);
    blk_free(&t);
}

/* The backend drops out while the driver runs: kvmini re-dials, redoes
 * the whole start and hands the ring position back in SET_VRING_BASE;
 * nothing is served twice. */
static void test_reconnect_resume(void)
{
    g_autoptr(VubMsg) m = NULL;
    Blk t;

    blk_init(&t, NULL, true);
    blk_launch(&t, ",reconnect=1", NULL, NULL);
    blk_driver_start(&t, 1);
    for (unsigned i = 0; i < 3; i++) {
        blk_write_check(&t, 0, 20 + i, 512, i);
    }
    vub_disconnect(t.b);
    g_assert_true(vub_wait_connections(t.b, 2, TIMEOUT_MS));
    g_assert_true(vub_wait_vring_running(t.b, 0, TIMEOUT_MS));
    blk_expect_stderr(&t, "backend disconnected", NULL);
    m = vub_find(t.b, VHOST_USER_SET_VRING_BASE, -1);
    g_assert_cmpuint(m->conn, ==, 2);
    g_assert_cmpint(last_vring_base(&t, 0), ==, 3);
    blk_write_check(&t, 0, 30, 512, 9);
    g_assert_cmpuint(vub_vring_info(t.b, 0).used_idx, ==, 4);
    g_assert_cmpuint(vub_blk_stats(t.b).writes, ==, 4);
    blk_free(&t);
}

/* --- requests in flight when the backend crashes -------------------------- */

#define REQ_LEN 4096

/* The requests in flight when the backend dies.  The first backend
 * completes r2 and r5 and holds the rest; r1 reads what r0 writes and
 * r4 what r3 writes. */
typedef struct InflightReq {
    uint32_t type;
    uint64_t sector;
    unsigned seed;              /* of the pattern written or expected */
    bool done_before;           /* by the first backend, out of order */
} InflightReq;

static const InflightReq inflight_reqs[] = {
    { VIRTIO_BLK_T_OUT, 0, 1, false },
    { VIRTIO_BLK_T_IN, 0, 1, false },
    { VIRTIO_BLK_T_OUT, 8, 2, true },
    { VIRTIO_BLK_T_OUT, 16, 3, false },
    { VIRTIO_BLK_T_IN, 16, 3, false },
    { VIRTIO_BLK_T_IN, 8, 2, true },
};
#define NREQS G_N_ELEMENTS(inflight_reqs)

/* kvmini with reconnect=1 on a test backend with (or without) inflight
 * tracking, the driver running queue 0. */
static void inflight_start(Blk *t, VubOptions *o, bool inflight)
{
    blk_options(o);
    if (inflight) {
        o->inflight = true;
    } else {
        o->protocol_features &=
            ~VUB_BIT(VHOST_USER_PROTOCOL_F_INFLIGHT_SHMFD);
    }
    blk_init(t, o, true);
    blk_launch(t, ",reconnect=1", NULL, NULL);
    blk_driver_start(t, 1);
}

static QVirtioBlkReq submit(Blk *t, uint32_t type, uint64_t sector,
                            unsigned seed)
{
    uint8_t buf[REQ_LEN];

    blk_fill(buf, sizeof(buf), seed);
    return qvirtio_blk_submit(t->vq[0], &t->alloc, type, sector,
                              type == VIRTIO_BLK_T_OUT ? buf : NULL,
                              sizeof(buf), 1);
}

static void wait_used_idx(Blk *t, uint16_t idx)
{
    gint64 end = g_get_monotonic_time() + TIMEOUT_MS * 1000LL;

    while ((int16_t)(qvirtqueue_used_idx(t->vq[0]) - idx) < 0) {
        if (g_get_monotonic_time() > end) {
            g_error("used index %u, want %u", qvirtqueue_used_idx(t->vq[0]),
                    idx);
        }
        g_usleep(1000);
    }
}

/* Head of used entry i, read without consuming it. */
static uint32_t used_head(Blk *t, uint16_t i)
{
    QVirtQueue *vq = t->vq[0];
    struct vring_used_elem e;

    qvirtio_memread(vq->dev, vq->used + offsetof(struct vring_used, ring) +
                    (i % vq->num) * sizeof(e), &e, sizeof(e));
    return e.id;
}

/* Wait for req (the next used entry) and check its status and, for a
 * read, the data. */
static void complete_ok(Blk *t, const QVirtioBlkReq *req, unsigned seed)
{
    QVirtQueue *vq = t->vq[0];
    uint8_t want[REQ_LEN], got[REQ_LEN];

    /* Which request came back, before the driver takes it. */
    wait_used_idx(t, vq->last_used + 1);
    g_assert_cmpuint(used_head(t, vq->last_used), ==, req->head);
    g_assert_cmpint(qvirtio_blk_complete(vq, req, got, TIMEOUT_MS), ==,
                    VIRTIO_BLK_S_OK);
    if (req->type == VIRTIO_BLK_T_IN) {
        blk_fill(want, sizeof(want), seed);
        g_assert_cmpmem(got, sizeof(got), want, sizeof(want));
    }
}

/* Two requests outstanding at once, then completed: the driver's free
 * list comes back reordered, so heads are no longer handed out in
 * submission order. */
static void shuffle_heads(Blk *t)
{
    QVirtioBlkReq a = submit(t, VIRTIO_BLK_T_OUT, 100, 40);
    QVirtioBlkReq b = submit(t, VIRTIO_BLK_T_OUT, 108, 41);

    qvirtqueue_kick(t->vq[0]);
    complete_ok(t, &a, 40);
    complete_ok(t, &b, 41);
}

/* Index of the first logged message with this request; -1 if none. */
static int log_index(Vub *b, uint32_t request)
{
    for (unsigned i = 0; i < vub_log_len(b); i++) {
        g_autoptr(VubMsg) m = vub_log_get(b, i);

        if (m->request == request) {
            return i;
        }
    }
    return -1;
}

/* Shuffle the heads, submit inflight_reqs with the backend holding them,
 * let it complete the done_before ones out of order and check those.
 * Returns the used index then. */
static uint16_t crash_setup(Blk *t, QVirtioBlkReq *req)
{
    uint16_t used;

    shuffle_heads(t);
    vub_set_hold(t->b, true);
    for (unsigned i = 0; i < NREQS; i++) {
        const InflightReq *r = &inflight_reqs[i];

        req[i] = submit(t, r->type, r->sector, r->seed);
    }
    qvirtqueue_kick(t->vq[0]);
    g_assert_true(vub_wait_held(t->b, 0, NREQS, TIMEOUT_MS));
    /* Served by head, r1 would read before r0 writes. */
    g_assert_cmpuint(req[1].head, <, req[0].head);
    for (unsigned i = 0; i < NREQS; i++) {
        if (inflight_reqs[i].done_before) {
            g_assert_true(vub_complete_held(t->b, 0, req[i].head, false));
            complete_ok(t, &req[i], inflight_reqs[i].seed);
        }
    }
    used = qvirtqueue_used_idx(t->vq[0]);
    g_assert_cmpuint(used, ==, 4);     /* 2 to shuffle, r2 and r5 */
    g_assert_cmpuint(vub_vring_info(t->b, 0).held, ==, NREQS - 2);
    return used;
}

/* The backend dies with what it holds; a new one with the same options
 * listens on the same socket, and kvmini (reconnect=1) starts the ring on
 * it.  Its disk is new too: what it serves is checked there. */
static void restart_backend(Blk *t, const VubOptions *o)
{
    VubOptions copy = *o;

    copy.path = t->sock;
    vub_free(t->b);
    t->b = vub_new(&copy);
    g_assert_true(vub_wait_connections(t->b, 1, 3 * TIMEOUT_MS));
    g_assert_true(vub_wait_vring_running(t->b, 0, TIMEOUT_MS));
}

/* Wait until the new backend served n requests and found nothing more. */
static void wait_backend_done(Blk *t, uint64_t n, uint16_t used)
{
    g_assert_true(vub_wait_completed(t->b, 0, n, TIMEOUT_MS));
    g_assert_true(vub_wait_avail_seen(t->b, 0, used, TIMEOUT_MS));
    wait_used_idx(t, used);
    g_assert_cmpuint(qvirtqueue_used_idx(t->vq[0]), ==, used);
    g_assert_cmpuint(vub_vring_info(t->b, 0).completed, ==, n);
}

static void check_disk(Vub *b, uint64_t sector, unsigned seed)
{
    uint8_t want[REQ_LEN], got[REQ_LEN];

    if (seed) {
        blk_fill(want, sizeof(want), seed);
    } else {
        memset(want, 0, sizeof(want));
    }
    vub_disk_read(b, sector * 512, got, sizeof(got));
    g_assert_cmpmem(got, sizeof(got), want, sizeof(want));
}

/*
 * What the inflight region is for: the backend dies with requests taken
 * from the ring but not completed, some overtaken by later ones it did
 * complete.  The ring cannot tell the next backend which are left: kvmini
 * hands back the used index (a dead backend answers no GET_VRING_BASE)
 * and the avail entries after it are a mix of done and not done.  The
 * region can, if kvmini hands the one it fetched on the first connection
 * back on the second with SET_INFLIGHT_FD before the ring starts.  The
 * new backend then serves exactly the four requests left, in the order
 * they were taken (r1 reads what r0 wrote although its head is lower),
 * and takes the ring up after them: every request completes exactly once
 * with the right status and data.  Fails if kvmini does not send
 * SET_INFLIGHT_FD on reconnect (see inflight/not-offered for what the
 * backend does then).
 */
static void test_inflight_resubmit(void)
{
    g_autoptr(VubMsg) set = NULL;
    QVirtioBlkReq req[NREQS];
    VhostUserInflight in;
    uint16_t used;
    VubOptions o;
    Blk t;

    inflight_start(&t, &o, true);
    used = crash_setup(&t, req);
    g_assert_cmpuint(vub_vring_info(t.b, 0).inflight, ==, 4);
    g_assert_cmpuint(vub_count(t.b, VHOST_USER_GET_INFLIGHT_FD), ==, 1);
    restart_backend(&t, &o);

    /* On the wire: no second GET, the region back before the ring. */
    g_assert_cmpuint(vub_count(t.b, VHOST_USER_GET_INFLIGHT_FD), ==, 0);
    g_assert_cmpuint(vub_count(t.b, VHOST_USER_SET_INFLIGHT_FD), ==, 1);
    g_assert_cmpint(log_index(t.b, VHOST_USER_SET_INFLIGHT_FD), <,
                    log_index(t.b, VHOST_USER_SET_VRING_KICK));
    g_assert_cmpint(log_index(t.b, VHOST_USER_SET_INFLIGHT_FD), <,
                    log_index(t.b, VHOST_USER_SET_VRING_ENABLE));
    set = vub_find(t.b, VHOST_USER_SET_INFLIGHT_FD, 0);
    g_assert_cmpuint(set->nfds, ==, 1);
    memcpy(&in, set->payload, sizeof(in));
    g_assert_cmpuint(in.num_queues, ==, 1);
    g_assert_cmpuint(in.queue_size, ==, t.vq[0]->num);
    g_assert_cmpint(last_vring_base(&t, 0), ==, used);

    /* Oldest first, and nothing the first backend completed. */
    for (unsigned i = 0; i < NREQS; i++) {
        if (!inflight_reqs[i].done_before) {
            complete_ok(&t, &req[i], inflight_reqs[i].seed);
        }
    }
    wait_backend_done(&t, 4, used + 4);
    g_assert_cmpuint(vub_vring_info(t.b, 0).resubmitted, ==, 4);
    g_assert_cmpuint(vub_vring_info(t.b, 0).inflight, ==, 0);
    g_assert_cmpuint(vub_blk_stats(t.b).writes, ==, 2);
    g_assert_cmpuint(vub_blk_stats(t.b).reads, ==, 2);
    check_disk(t.b, 0, 1);
    check_disk(t.b, 8, 0);      /* r2 was not written again */
    check_disk(t.b, 16, 3);
    blk_write_check(&t, 0, 40, 512, 7);
    blk_free(&t);
}

/*
 * The same crash with a backend that does not offer INFLIGHT_SHMFD, as
 * before the region existed: kvmini sends neither message, and the new
 * backend can only resume at the used index kvmini hands back.  So r2
 * and r5, completed out of order, are served a second time, and r0 and
 * r1, held behind them, never complete.  This is the loss the region
 * prevents, and what resubmit sees if SET_INFLIGHT_FD is missing.
 */
static void test_inflight_not_offered(void)
{
    QVirtioBlkReq req[NREQS];
    uint16_t used;
    VubOptions o;
    Blk t;

    inflight_start(&t, &o, false);
    used = crash_setup(&t, req);
    g_assert_cmpuint(vub_count(t.b, VHOST_USER_GET_INFLIGHT_FD), ==, 0);
    restart_backend(&t, &o);
    g_assert_cmpuint(vub_count(t.b, VHOST_USER_SET_INFLIGHT_FD), ==, 0);
    g_assert_cmpint(last_vring_base(&t, 0), ==, used);

    wait_backend_done(&t, 4, used + 4);
    for (unsigned i = 0; i < 4; i++) {
        g_assert_cmpuint(used_head(&t, used + i), ==, req[2 + i].head);
    }
    for (uint16_t i = used - 2; i < used + 4; i++) {
        g_assert_cmpuint(used_head(&t, i), !=, req[0].head);
        g_assert_cmpuint(used_head(&t, i), !=, req[1].head);
    }
    check_disk(t.b, 0, 0);
    check_disk(t.b, 8, 2);      /* r2 again */
    blk_free(&t);
}

/*
 * The backend dies half-way through completing r1: the used entry is
 * published, the region still marks it.  The new backend finds the
 * region's used_idx behind the ring (the spec's "when reconnecting",
 * step 1), takes that last batch as done and resubmits only r0.
 */
static void test_inflight_torn(void)
{
    QVirtioBlkReq r0, r1;
    VubOptions o;
    Blk t;

    inflight_start(&t, &o, true);
    vub_set_hold(t.b, true);
    r0 = submit(&t, VIRTIO_BLK_T_OUT, 0, 1);
    r1 = submit(&t, VIRTIO_BLK_T_OUT, 8, 2);
    qvirtqueue_kick(t.vq[0]);
    g_assert_true(vub_wait_held(t.b, 0, 2, TIMEOUT_MS));
    g_assert_true(vub_complete_held(t.b, 0, r1.head, true));
    complete_ok(&t, &r1, 2);
    g_assert_cmpuint(vub_vring_info(t.b, 0).inflight, ==, 2);
    restart_backend(&t, &o);

    complete_ok(&t, &r0, 1);
    wait_backend_done(&t, 1, 2);
    g_assert_cmpuint(vub_vring_info(t.b, 0).resubmitted, ==, 1);
    g_assert_cmpuint(vub_vring_info(t.b, 0).inflight, ==, 0);
    check_disk(t.b, 0, 1);
    check_disk(t.b, 8, 0);
    blk_free(&t);
}

/* --- the backend channel ------------------------------------------------- */

/* Requests on the backend channel: a host-notifier page is taken or
 * withdrawn, an unknown queue and IOTLB (no vIOMMU) are refused with a
 * reason, and a malformed message drops the backend. */
static void test_backend_requests(void)
{
    VhostUserIotlb io = { .size = 4096, .perm = 3, .type = 2 };
    uint64_t st = 99;
    VubOptions o;
    Blk t;
    int fd;

    blk_options(&o);
    o.protocol_features |= VUB_BIT(VHOST_USER_PROTOCOL_F_HOST_NOTIFIER);
    blk_init(&t, &o, true);
    blk_launch(&t, NULL, NULL, NULL);
    blk_driver_start(&t, 1);
    g_assert_true(vub_send_host_notifier(t.b, 0, true, true, &st));
    g_assert_cmpuint(st, ==, 0);
    g_assert_true(vub_send_host_notifier(t.b, 0, false, true, &st));
    g_assert_cmpuint(st, ==, 0);
    g_assert_true(vub_send_host_notifier(t.b, 5, true, true, &st));
    g_assert_cmpuint(st, !=, 0);
    g_assert_true(vub_send_iotlb(t.b, &io, true, &st));
    g_assert_cmpuint(st, !=, 0);
    blk_expect_stderr(&t, "no queue 5", "vIOMMU", NULL);
    blk_write_check(&t, 0, 3, 512, 5);

    fd = eventfd(0, EFD_CLOEXEC);
    g_assert_true(vub_backend_send(t.b, VHOST_USER_BACKEND_CONFIG_CHANGE_MSG,
                                   NULL, 0, fd, false, NULL, 0));
    close(fd);
    g_assert_true(vub_wait_disconnected(t.b, TIMEOUT_MS));
    blk_expect_stderr(&t, "backend channel", "malformed", NULL);
    blk_assert_alive(&t);
    blk_free(&t);
}

/* --- fd hygiene ----------------------------------------------------------- */

static unsigned count_fds(int pid)
{
    g_autofree char *path = g_strdup_printf("/proc/%d/fd", pid);
    g_autoptr(GDir) d = g_dir_open(path, 0, NULL);
    unsigned n = 0;

    g_assert_nonnull(d);
    while (g_dir_read_name(d)) {
        n++;
    }
    return n;
}

typedef enum Misbehave {
    MB_DROP,                    /* hang up */
    MB_FD_AT_INIT,              /* next GET_FEATURES reply carries an fd */
    MB_CONFIG_SIZE,             /* next GET_CONFIG reply is oversized */
    MB_DROP_IN_INIT,            /* next connection dies at message 4 */
    MB_COUNT
} Misbehave;

/* Misbehave, then hang up; returns the connections kvmini needs until
 * it is back in business. */
static unsigned misbehave(Blk *t, Misbehave k)
{
    switch (k) {
    case MB_DROP:
        break;
    case MB_FD_AT_INIT:
        vub_add_fault(t->b, VUB_FAULT_REPLY_FD, VHOST_USER_GET_FEATURES, 0,
                      true);
        break;
    case MB_CONFIG_SIZE:
        vub_add_fault(t->b, VUB_FAULT_REPLY_SIZE, VHOST_USER_GET_CONFIG,
                      4096, true);
        break;
    case MB_DROP_IN_INIT:
        vub_drop_at(t->b, 4);
        break;
    default:
        g_assert_not_reached();
    }
    vub_disconnect(t->b);
    return k == MB_DROP ? 1 : 2;
}

/* Backends that hang up or send garbage, again and again: kvmini comes
 * back each time with exactly the fds it had. */
static void test_no_fd_leak(void)
{
    unsigned fds, conns = 1;
    Blk t;

    blk_init(&t, NULL, true);
    blk_launch(&t, ",reconnect=1", NULL, NULL);
    blk_driver_start(&t, 1);
    blk_write_check(&t, 0, 0, 512, 0);
    fds = count_fds(qtest_pid(t.qts));
    for (Misbehave k = 0; k < MB_COUNT; k++) {
        conns += misbehave(&t, k);
        g_assert_true(vub_wait_connections(t.b, conns, 3 * TIMEOUT_MS));
        g_assert_true(vub_wait_vring_running(t.b, 0, TIMEOUT_MS));
        blk_write_check(&t, 0, 1 + k, 512, k);
        g_assert_cmpuint(count_fds(qtest_pid(t.qts)), ==, fds);
    }
    blk_expect_stderr(&t, "disconnecting backend", NULL);
    blk_free(&t);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_data_func("/vhost-user-blk/bad-reply/flags", &bad_flags,
                         test_bad_reply);
    g_test_add_data_func("/vhost-user-blk/bad-reply/size", &bad_size,
                         test_bad_reply);
    g_test_add_data_func("/vhost-user-blk/bad-reply/request", &bad_request,
                         test_bad_reply);
    g_test_add_data_func("/vhost-user-blk/bad-reply/fd", &bad_fd,
                         test_bad_reply);
    g_test_add_data_func("/vhost-user-blk/bad-reply/none", &bad_none,
                         test_bad_reply);
    g_test_add_func("/vhost-user-blk/reply-ack-error", test_reply_ack_error);
    g_test_add_func("/vhost-user-blk/reconnect/late-backend",
                    test_reconnect_late_backend);
    g_test_add_data_func("/vhost-user-blk/reconnect/bad-first/reply",
                         GINT_TO_POINTER(FIRST_BAD_REPLY),
                         test_reconnect_bad_first);
    g_test_add_data_func("/vhost-user-blk/reconnect/bad-first/rejected",
                         GINT_TO_POINTER(FIRST_REJECTED),
                         test_reconnect_bad_first);
    g_test_add_data_func("/vhost-user-blk/reconnect/bad-first/hang-up",
                         GINT_TO_POINTER(FIRST_HANGUP),
                         test_reconnect_bad_first);
    g_test_add_func("/vhost-user-blk/reconnect/resume",
                    test_reconnect_resume);
    g_test_add_func("/vhost-user-blk/inflight/resubmit",
                    test_inflight_resubmit);
    g_test_add_func("/vhost-user-blk/inflight/not-offered",
                    test_inflight_not_offered);
    g_test_add_func("/vhost-user-blk/inflight/torn-completion",
                    test_inflight_torn);
    g_test_add_func("/vhost-user-blk/no-fd-leak", test_no_fd_leak);
    g_test_add_func("/vhost-user-blk/backend-channel/requests",
                    test_backend_requests);
    return g_test_run();
}
