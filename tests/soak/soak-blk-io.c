/* SPDX-License-Identifier: MIT */
/* Verified random disk I/O through the test driver (soak-blk-io.h). */
#include "soak-blk-io.h"

#include <stddef.h>
#include <string.h>
#include <linux/virtio_blk.h>
#include <linux/virtio_ring.h>

#define SLOT_SECTORS (SOAK_IO_REQ_LEN / 512)

/* The 4 KiB a write with this stamp puts in slot; stamp 0 is the zeroes
 * of a new disk. */
static void pattern(uint8_t *buf, unsigned slot, uint32_t stamp)
{
    uint64_t *w = (uint64_t *)buf;

    for (unsigned i = 0; i < SOAK_IO_REQ_LEN / 8; i++) {
        w[i] = stamp ? ((uint64_t)stamp << 32) ^ ((uint64_t)slot << 12) ^ i
                     : 0;
    }
}

void soak_io_init(SoakIo *io, GRand *rand)
{
    memset(io, 0, sizeof(*io));
    io->rand = rand;
    io->disk = g_malloc0(SOAK_IO_DISK_SIZE);
    io->served = g_new0(uint32_t, SOAK_IO_SECTORS);
    io->want_served = g_new0(uint32_t, SOAK_IO_SECTORS);
    io->stamp = g_new0(uint32_t, SOAK_IO_SLOTS);
    io->busy = g_new0(bool, SOAK_IO_SLOTS);
    io->next_stamp = 1;
}

void soak_io_free(SoakIo *io)
{
    g_free(io->disk);
    g_free(io->served);
    g_free(io->want_served);
    g_free(io->stamp);
    g_free(io->busy);
}

void soak_io_options(SoakIo *io, VubOptions *o)
{
    vub_options_init(o, "set-by-the-caller");
    o->disk_size = SOAK_IO_DISK_SIZE;
    o->disk = io->disk;
    o->served = io->served;
}

void soak_io_submit(SoakIo *io, QVirtQueue *vq, QGuestAlloc *a, unsigned n)
{
    uint8_t buf[SOAK_IO_REQ_LEN];

    n = MIN(n, SOAK_IO_MAX_PENDING - io->npending);
    for (unsigned i = 0; i < n; i++) {
        SoakReq *r = &io->pending[io->npending++];
        bool write = g_rand_boolean(io->rand);

        do {
            r->slot = g_rand_int_range(io->rand, 0, SOAK_IO_SLOTS);
        } while (io->busy[r->slot]);
        io->busy[r->slot] = true;
        r->stamp = write ? io->next_stamp++ : io->stamp[r->slot];
        pattern(buf, r->slot, r->stamp);
        r->r = qvirtio_blk_submit(vq, a,
                                  write ? VIRTIO_BLK_T_OUT : VIRTIO_BLK_T_IN,
                                  (uint64_t)r->slot * SLOT_SECTORS,
                                  write ? buf : NULL, SOAK_IO_REQ_LEN, 1);
        io->want_served[r->slot * SLOT_SECTORS]++;
        *(write ? &io->writes : &io->reads) += 1;
    }
}

/* Head of the next used entry, once there is one (not consumed yet, so
 * that a head coming twice is reported as such, not as a driver error). */
static bool next_used_head(QVirtQueue *vq, uint32_t *head, gint64 end)
{
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
static void check_done(SoakIo *io, QVirtQueue *vq, const SoakReq *r)
{
    uint8_t want[SOAK_IO_REQ_LEN], got[SOAK_IO_REQ_LEN];
    uint8_t status;

    qvirtio_memread(vq->dev, r->r.status_gpa, &status, 1);
    g_assert_cmpuint(status, ==, VIRTIO_BLK_S_OK);
    if (r->r.type == VIRTIO_BLK_T_IN) {
        qvirtio_memread(vq->dev, r->r.data_gpa, got, SOAK_IO_REQ_LEN);
        pattern(want, r->slot, r->stamp);
        g_assert_cmpmem(got, SOAK_IO_REQ_LEN, want, SOAK_IO_REQ_LEN);
    } else {
        io->stamp[r->slot] = r->stamp;
    }
    io->busy[r->slot] = false;
}

static int find_pending(SoakIo *io, uint32_t head)
{
    for (unsigned i = 0; i < io->npending; i++) {
        if (io->pending[i].r.head == head) {
            return i;
        }
    }
    return -1;
}

void soak_io_reap(SoakIo *io, QVirtQueue *vq, unsigned left,
                  int timeout_ms, const char *when)
{
    gint64 end = g_get_monotonic_time() + timeout_ms * 1000LL;
    uint32_t head;

    while (io->npending > left) {
        int i;

        if (!next_used_head(vq, &head, end)) {
            g_error("%s: %u requests pending, none completed within %d ms: "
                    "lost", when, io->npending, timeout_ms);
        }
        i = find_pending(io, head);
        if (i < 0) {
            g_error("%s: used entry with head %u, which no pending request "
                    "has: a request completed twice", when, head);
        }
        g_assert_true(qvirtqueue_get_used(vq, NULL, NULL));
        check_done(io, vq, &io->pending[i]);
        io->pending[i] = io->pending[--io->npending];
    }
}

void soak_io_check_served(SoakIo *io, const char *when)
{
    for (unsigned i = 0; i < SOAK_IO_SECTORS; i++) {
        uint32_t got = __atomic_load_n(&io->served[i], __ATOMIC_RELAXED);

        if (got != io->want_served[i]) {
            g_error("%s: sector %u served %u times, %u requests for it",
                    when, i, got, io->want_served[i]);
        }
    }
}

void soak_io_check_disk(SoakIo *io)
{
    uint8_t want[SOAK_IO_REQ_LEN];

    g_assert_cmpuint(io->npending, ==, 0);
    for (unsigned slot = 0; slot < SOAK_IO_SLOTS; slot++) {
        pattern(want, slot, io->stamp[slot]);
        g_assert_cmpmem(io->disk + (size_t)slot * SOAK_IO_REQ_LEN,
                        SOAK_IO_REQ_LEN, want, SOAK_IO_REQ_LEN);
    }
}
