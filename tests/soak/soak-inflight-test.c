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
#include <stddef.h>
#include <string.h>
#include <linux/virtio_blk.h>
#include <linux/virtio_ring.h>

#include "soak-common.h"
#include "vhost-user-blk-common.h"

#define DISK_SIZE       (4 * MiB)
#define REQ_LEN         4096
#define SLOT_SECTORS    (REQ_LEN / 512)
#define SLOTS           (DISK_SIZE / REQ_LEN)
#define SECTORS         (DISK_SIZE / 512)
#define MAX_BATCH       24
#define DEFAULT_CYCLES  100

typedef struct SoakReq {
    QVirtioBlkReq r;
    unsigned slot;
    uint32_t stamp;             /* written, or expected by a read */
    bool done;
} SoakReq;

typedef struct Soak {
    Blk t;
    VubOptions o;
    GRand *rand;
    uint8_t *disk;              /* shared by every backend */
    uint32_t *served;           /* the backends' counts per sector */
    uint32_t *want_served;      /* what they must be */
    uint32_t *stamp;            /* per slot: the last write (0: none) */
    uint32_t next_stamp;
    unsigned crashes;
    /* figures */
    uint64_t reads, writes, before, resubmitted, torn;
} Soak;

/* --- the data ------------------------------------------------------------ */

/* The 4 KiB a write with this stamp puts in slot; stamp 0 is the zeroes
 * of a new disk. */
static void pattern(uint8_t *buf, unsigned slot, uint32_t stamp)
{
    uint64_t *w = (uint64_t *)buf;

    for (unsigned i = 0; i < REQ_LEN / 8; i++) {
        w[i] = stamp ? ((uint64_t)stamp << 32) ^ ((uint64_t)slot << 12) ^ i
                     : 0;
    }
}

static void soak_init(Soak *s)
{
    memset(s, 0, sizeof(*s));
    s->rand = soak_rand();
    s->disk = g_malloc0(DISK_SIZE);
    s->served = g_new0(uint32_t, SECTORS);
    s->want_served = g_new0(uint32_t, SECTORS);
    s->stamp = g_new0(uint32_t, SLOTS);
    s->next_stamp = 1;
    blk_options(&s->o);
    s->o.disk_size = DISK_SIZE;
    s->o.inflight = true;
    s->o.disk = s->disk;
    s->o.served = s->served;
    blk_init(&s->t, &s->o, true);
    s->o.path = s->t.sock;      /* for the backends that replace it */
    blk_launch(&s->t, ",reconnect-ms=10", NULL, NULL);
    blk_driver_start(&s->t, 1);
}

static void soak_free(Soak *s)
{
    blk_free(&s->t);
    g_rand_free(s->rand);
    g_free(s->disk);
    g_free(s->served);
    g_free(s->want_served);
    g_free(s->stamp);
}

/* --- one batch ----------------------------------------------------------- */

/* n requests to distinct random slots, half writes, not kicked yet. */
static void submit_batch(Soak *s, SoakReq *req, unsigned n)
{
    g_autofree bool *used = g_new0(bool, SLOTS);
    uint8_t buf[REQ_LEN];

    for (unsigned i = 0; i < n; i++) {
        SoakReq *r = &req[i];
        bool write = g_rand_boolean(s->rand);

        do {
            r->slot = g_rand_int_range(s->rand, 0, SLOTS);
        } while (used[r->slot]);
        used[r->slot] = true;
        r->done = false;
        r->stamp = write ? s->next_stamp++ : s->stamp[r->slot];
        pattern(buf, r->slot, r->stamp);
        r->r = qvirtio_blk_submit(s->t.vq[0], &s->t.alloc,
                                  write ? VIRTIO_BLK_T_OUT : VIRTIO_BLK_T_IN,
                                  (uint64_t)r->slot * SLOT_SECTORS,
                                  write ? buf : NULL, REQ_LEN, 1);
        s->want_served[r->slot * SLOT_SECTORS]++;
        *(write ? &s->writes : &s->reads) += 1;
    }
}

static SoakReq *find_head(SoakReq *req, unsigned n, uint32_t head)
{
    for (unsigned i = 0; i < n; i++) {
        if (req[i].r.head == head) {
            return &req[i];
        }
    }
    g_error("used entry with head %u, which no request of the batch has",
            head);
}

/* Head of the next used entry, once there is one (not consumed yet, so
 * that a head coming twice is reported as such, not as a driver error). */
static bool next_used_head(QVirtQueue *vq, uint32_t *head)
{
    gint64 end = g_get_monotonic_time() + TIMEOUT_MS * 1000LL;
    struct vring_used_elem e;

    while (qvirtqueue_used_idx(vq) == vq->last_used) {
        if (g_get_monotonic_time() > end) {
            return false;
        }
        g_usleep(200);
    }
    qvirtio_memread(vq->dev, vq->used + offsetof(struct vring_used, ring) +
                    (vq->last_used % vq->num) * sizeof(e), &e, sizeof(e));
    *head = e.id;
    return true;
}

/* Request r came back: status OK and, for a read, the slot's data. */
static void check_done(Soak *s, SoakReq *r)
{
    uint8_t want[REQ_LEN], got[REQ_LEN];
    uint8_t status;

    qvirtio_memread(&s->t.dev, r->r.status_gpa, &status, 1);
    g_assert_cmpuint(status, ==, VIRTIO_BLK_S_OK);
    if (r->r.type == VIRTIO_BLK_T_IN) {
        qvirtio_memread(&s->t.dev, r->r.data_gpa, got, REQ_LEN);
        pattern(want, r->slot, r->stamp);
        g_assert_cmpmem(got, REQ_LEN, want, REQ_LEN);
    } else {
        s->stamp[r->slot] = r->stamp;
    }
}

/* Take used entries until `count` requests of the batch are done; each
 * must come once. */
static void reap(Soak *s, SoakReq *req, unsigned n, unsigned count,
                 unsigned cycle)
{
    unsigned done = 0;
    uint32_t head;

    for (unsigned i = 0; i < n; i++) {
        done += req[i].done;
    }
    for (; done < count; done++) {
        if (!next_used_head(s->t.vq[0], &head)) {
            g_error("cycle %u: %u of %u requests completed, the rest are "
                    "lost", cycle, done, n);
        }
        SoakReq *r = find_head(req, n, head);
        if (r->done) {
            g_error("cycle %u: request (slot %u) completed twice", cycle,
                    r->slot);
        }
        g_assert_true(qvirtqueue_get_used(s->t.vq[0], NULL, NULL));
        r->done = true;
        check_done(s, r);
    }
}

/* The held backend completes k random requests in a random order, the
 * last one torn now and then; returns k. */
static unsigned complete_some(Soak *s, SoakReq *req, unsigned n,
                              unsigned cycle)
{
    unsigned k = g_rand_int_range(s->rand, 0, n);
    g_autofree unsigned *order = g_new(unsigned, n);
    bool torn = k && g_rand_int_range(s->rand, 0, 4) == 0;

    for (unsigned i = 0; i < n; i++) {
        order[i] = i;
    }
    for (unsigned i = 0; i < k; i++) {
        unsigned j = g_rand_int_range(s->rand, i, n);
        unsigned tmp = order[i];

        order[i] = order[j];
        order[j] = tmp;
        g_assert_true(vub_complete_held(s->t.b, 0, req[order[i]].r.head,
                                        torn && i == k - 1));
    }
    reap(s, req, n, k, cycle);
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

static void check_served(Soak *s, unsigned cycle)
{
    for (unsigned i = 0; i < SECTORS; i++) {
        uint32_t got = __atomic_load_n(&s->served[i], __ATOMIC_RELAXED);

        if (got != s->want_served[i]) {
            g_error("cycle %u: sector %u served %u times, %u requests for "
                    "it", cycle, i, got, s->want_served[i]);
        }
    }
}

static void soak_cycle(Soak *s, unsigned cycle)
{
    SoakReq req[MAX_BATCH];
    unsigned n = g_rand_int_range(s->rand, 2, MAX_BATCH + 1);
    uint64_t mark = s->t.alloc.next;
    unsigned k;

    vub_set_hold(s->t.b, true);
    submit_batch(s, req, n);
    qvirtqueue_kick(s->t.vq[0]);
    g_assert_true(vub_wait_held(s->t.b, 0, n, TIMEOUT_MS));
    k = complete_some(s, req, n, cycle);
    crash(s, cycle);
    reap(s, req, n, n, cycle);
    g_assert_cmpuint(vub_vring_info(s->t.b, 0).resubmitted, >=, n - k);
    s->resubmitted += n - k;
    check_served(s, cycle);
    s->t.alloc.next = mark;     /* every buffer of the batch is back */
}

/* The disk holds every slot's last write, and the driver reads it. */
static void check_disk(Soak *s)
{
    uint8_t want[REQ_LEN], got[REQ_LEN];

    for (unsigned slot = 0; slot < SLOTS; slot++) {
        pattern(want, slot, s->stamp[slot]);
        vub_disk_read(s->t.b, (uint64_t)slot * REQ_LEN, got, REQ_LEN);
        g_assert_cmpmem(got, REQ_LEN, want, REQ_LEN);
    }
    for (unsigned slot = 0; slot < SLOTS; slot += 61) {
        uint64_t mark = s->t.alloc.next;

        pattern(want, slot, s->stamp[slot]);
        g_assert_cmpint(qvirtio_blk_rw(s->t.vq[0], &s->t.alloc,
                                       VIRTIO_BLK_T_IN,
                                       (uint64_t)slot * SLOT_SECTORS, got,
                                       REQ_LEN), ==, VIRTIO_BLK_S_OK);
        g_assert_cmpmem(got, REQ_LEN, want, REQ_LEN);
        s->t.alloc.next = mark;
    }
}

static void test_inflight_restarts(void)
{
    unsigned cycles = soak_cycles(DEFAULT_CYCLES);
    gint64 t0 = g_get_monotonic_time();
    g_autofree char *err = NULL;
    unsigned fds0, fds1, pid;
    Soak s;

    soak_init(&s);
    pid = qtest_pid(s.t.qts);
    soak_cycle(&s, 0);
    fds0 = soak_proc_fds(pid);
    for (unsigned c = 1; c < cycles; c++) {
        soak_cycle(&s, c);
    }
    check_disk(&s);
    fds1 = soak_proc_fds(pid);
    err = blk_stderr(&s.t);
    g_assert_cmpuint(soak_count(err, "backend disconnected"), ==,
                     s.crashes);
    soak_log("inflight: %u backend crashes (%u restarts, %u dropped "
             "connections), %" G_GUINT64_FORMAT " requests (%"
             G_GUINT64_FORMAT " writes, %" G_GUINT64_FORMAT " reads): %"
             G_GUINT64_FORMAT " completed before the crash (%"
             G_GUINT64_FORMAT " torn), %" G_GUINT64_FORMAT " resubmitted "
             "after it, each exactly once; kvmini fds %u -> %u; %.1f s",
             s.crashes, (s.crashes + 1) / 2, s.crashes / 2,
             s.reads + s.writes, s.writes, s.reads, s.before, s.torn,
             s.resubmitted, fds0, fds1, soak_seconds(t0));
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
