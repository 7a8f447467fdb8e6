/* SPDX-License-Identifier: MIT */
/*
 * VMM-side split-ring processing (virtqueue_pop/push/notify in
 * hw/virtio/virtio.c) without /dev/kvm: a machine with 1 MiB of RAM, one
 * virtio device of one queue whose rings the test writes as a driver
 * would.  Valid chains (direct, indirect, several, index wrap-around),
 * the used ring and interrupt suppression (flags, EVENT_IDX), element
 * copies; then everything a hostile guest can write — bad head and next
 * indices, loops, buffers past RAM or wrapping the address space, empty
 * buffers, wrong order, too many buffers, an avail index far ahead,
 * indirect misuse, rings moved out of RAM, random garbage — must end in
 * virtio_error() (device broken) and never in a crash or a read outside
 * RAM (run it under the sanitizer build).
 */
#include "hw/virtio/virtio.h"

#include <endian.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "qemu/log.h"
#include "sysemu/sysemu.h"

#define RAM_SIZE   (1 * 1024 * 1024)
#define QSIZE      128
#define DESC_ADDR  0x1000
#define AVAIL_ADDR 0x2000
#define USED_ADDR  0x3000
#define IND_ADDR   0x4000       /* indirect tables */
#define BUF_ADDR   0x10000      /* data buffers, 0x100 bytes apart */

typedef struct Fixture {
    MachineState *ms;
    VirtIODevice vdev;
    VirtQueue *vq;
    uint8_t *ram;
    unsigned notifies;
    uint16_t avail_idx;         /* the driver's next avail index */
} Fixture;

static const VirtioDeviceClass test_class = {
    .name = "test-vq",
    .device_id = VIRTIO_ID_NET,
};

static void fake_notify_queue(VirtIODevice *vdev, VirtQueue *vq)
{
    Fixture *f = (Fixture *)((char *)vdev - offsetof(Fixture, vdev));

    f->notifies++;
}

static const VirtioTransportOps fake_transport = {
    .notify_queue = fake_notify_queue,
};

static void fixture_setup(Fixture *f, gconstpointer data)
{
    MachineState *ms = machine_new();
    Error *err = NULL;

    f->ms = ms;
    memory_region_init(&ms->system_memory, "system", UINT64_MAX);
    memory_region_init(&ms->system_io, "io", 0x10000);
    address_space_init(&ms->address_space_memory, &ms->system_memory,
                       "memory");
    address_space_init(&ms->address_space_io, &ms->system_io, "I/O");
    g_assert_true(memory_region_init_ram_memfd(&ms->ram_below_4g, "ram",
                                               RAM_SIZE, &err));
    memory_region_add_subregion(&ms->system_memory, 0, &ms->ram_below_4g);
    f->ram = address_space_ram_ptr(&ms->address_space_memory, 0, RAM_SIZE);
    g_assert_nonnull(f->ram);

    virtio_init(&f->vdev, &test_class, ms, "vq0", 1, QSIZE, 0);
    f->vdev.transport = &fake_transport;
    f->vdev.guest_features = 1ULL << VIRTIO_F_VERSION_1;
    f->vdev.status = VIRTIO_CONFIG_S_DRIVER_OK;
    f->vq = &f->vdev.vq[0];
    f->vq->num = QSIZE;
    f->vq->desc = DESC_ADDR;
    f->vq->avail = AVAIL_ADDR;
    f->vq->used = USED_ADDR;
    g_assert_true(virtio_queue_valid(&f->vdev, 0, NULL));
    f->vq->ready = true;
}

static void fixture_teardown(Fixture *f, gconstpointer data)
{
    f->vdev.transport = NULL;
    virtio_cleanup(&f->vdev);
    machine_free(f->ms);
}

/* --- the driver side --------------------------------------------------- */

static struct vring_desc *desc_at(Fixture *f, hwaddr table, unsigned i)
{
    return (struct vring_desc *)(f->ram + table) + i;
}

static void set_desc(Fixture *f, hwaddr table, unsigned i, uint64_t addr,
                     uint32_t len, uint16_t flags, uint16_t next)
{
    struct vring_desc *d = desc_at(f, table, i);

    d->addr = htole64(addr);
    d->len = htole32(len);
    d->flags = htole16(flags);
    d->next = htole16(next);
}

static uint16_t *avail_ring(Fixture *f)
{
    return (uint16_t *)(f->ram + AVAIL_ADDR + 4);
}

static void avail_flags(Fixture *f, uint16_t flags)
{
    *(uint16_t *)(f->ram + AVAIL_ADDR) = htole16(flags);
}

static void set_used_event(Fixture *f, uint16_t v)
{
    avail_ring(f)[QSIZE] = htole16(v);
}

/* Make the chain starting at head available. */
static void make_avail(Fixture *f, uint16_t head)
{
    avail_ring(f)[f->avail_idx % QSIZE] = htole16(head);
    f->avail_idx++;
    *(uint16_t *)(f->ram + AVAIL_ADDR + 2) = htole16(f->avail_idx);
}

static uint16_t used_idx(Fixture *f)
{
    return le16toh(*(uint16_t *)(f->ram + USED_ADDR + 2));
}

static struct vring_used_elem used_elem(Fixture *f, unsigned i)
{
    struct vring_used_elem *e =
        (struct vring_used_elem *)(f->ram + USED_ADDR + 4) + i % QSIZE;

    return (struct vring_used_elem){ le32toh(e->id), le32toh(e->len) };
}

static uint16_t avail_event(Fixture *f)
{
    return le16toh(*(uint16_t *)(f->ram + USED_ADDR + 4 +
                                 QSIZE * sizeof(struct vring_used_elem)));
}

static hwaddr buf(unsigned n)
{
    return BUF_ADDR + 0x100 * n;
}

/* virtio_error() reports under -d guest_errors: stderr into a memfd. */
static int log_begin(void)
{
    int fd = memfd_create("log", MFD_CLOEXEC);
    int saved = fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 3);

    fflush(stderr);
    g_assert_cmpint(fd, >=, 0);
    g_assert_cmpint(saved, >=, 0);
    g_assert_cmpint(dup2(fd, STDERR_FILENO), ==, STDERR_FILENO);
    close(fd);
    return saved;
}

static char *log_end(int saved)
{
    char buf[4096];
    ssize_t n;

    fflush(stderr);
    n = pread(STDERR_FILENO, buf, sizeof(buf) - 1, 0);
    g_assert_cmpint(dup2(saved, STDERR_FILENO), ==, STDERR_FILENO);
    close(saved);
    g_assert_cmpint(n, >=, 0);
    buf[n] = 0;
    return g_strdup(buf);
}

/* A bad chain must break the device, for the reason expected, and pop
 * nothing, now and later. */
static void assert_pop_breaks(Fixture *f, const char *reason)
{
    uint16_t last = f->vq->last_avail_idx;
    g_autofree char *log = NULL;
    int saved;

    g_assert_false(f->vdev.broken);
    saved = log_begin();
    g_assert_null(virtqueue_pop(f->vq));
    log = log_end(saved);
    if (!strstr(log, reason)) {
        g_error("expected \"%s\" in the log, got: %s", reason, log);
    }
    g_assert_true(f->vdev.broken);
    g_assert_true(f->vdev.status & VIRTIO_CONFIG_S_NEEDS_RESET);
    g_assert_cmpuint(f->vq->last_avail_idx, ==, last);
    g_assert_null(virtqueue_pop(f->vq));
    g_assert_true(virtqueue_empty(f->vq));
}

/* --- valid chains ------------------------------------------------------ */

static void test_empty(Fixture *f, gconstpointer data)
{
    g_assert_true(virtqueue_empty(f->vq));
    g_assert_null(virtqueue_pop(f->vq));
    g_assert_false(f->vdev.broken);
    f->vq->ready = false;
    set_desc(f, DESC_ADDR, 0, buf(0), 16, 0, 0);
    make_avail(f, 0);
    g_assert_null(virtqueue_pop(f->vq));    /* not ready: not ours */
    g_assert_false(f->vdev.broken);
}

static void test_chain(Fixture *f, gconstpointer data)
{
    g_autofree VirtQueueElement *e = NULL;
    uint8_t out[24], in[8] = { 0 };

    memcpy(f->ram + buf(0), "0123456789", 10);
    memcpy(f->ram + buf(1), "abcdefghijklmn", 14);
    set_desc(f, DESC_ADDR, 5, buf(0), 10, VRING_DESC_F_NEXT, 9);
    set_desc(f, DESC_ADDR, 9, buf(1), 14, VRING_DESC_F_NEXT, 2);
    set_desc(f, DESC_ADDR, 2, buf(2), 4,
             VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 3);
    set_desc(f, DESC_ADDR, 3, buf(3), 4, VRING_DESC_F_WRITE, 0);
    make_avail(f, 5);
    g_assert_false(virtqueue_empty(f->vq));

    e = virtqueue_pop(f->vq);
    g_assert_nonnull(e);
    g_assert_cmpuint(e->index, ==, 5);
    g_assert_cmpuint(e->out_num, ==, 2);
    g_assert_cmpuint(e->in_num, ==, 2);
    g_assert_cmpuint(e->out_len, ==, 24);
    g_assert_cmpuint(e->in_len, ==, 8);
    g_assert_cmpuint(f->vq->last_avail_idx, ==, 1);
    g_assert_true(virtqueue_empty(f->vq));

    /* Copies cross buffer boundaries and stop at the end. */
    g_assert_cmpuint(virtqueue_elem_read(e, 0, out, sizeof(out)), ==, 24);
    g_assert_cmpmem(out, 24, "0123456789abcdefghijklmn", 24);
    g_assert_cmpuint(virtqueue_elem_read(e, 8, out, 4), ==, 4);
    g_assert_cmpmem(out, 4, "89ab", 4);
    g_assert_cmpuint(virtqueue_elem_read(e, 20, out, 10), ==, 4);
    g_assert_cmpuint(virtqueue_elem_read(e, 30, out, 10), ==, 0);
    memcpy(in, "ABCDEFGH", 8);
    g_assert_cmpuint(virtqueue_elem_write(e, 2, in, 8), ==, 6);
    g_assert_cmpmem(f->ram + buf(2) + 2, 2, "AB", 2);
    g_assert_cmpmem(f->ram + buf(3), 4, "CDEF", 4);

    /* The used ring: id, len (clamped to the writable size), index. */
    g_assert_true(virtqueue_push(f->vq, e, 100));
    g_assert_cmpuint(used_idx(f), ==, 1);
    g_assert_cmpuint(used_elem(f, 0).id, ==, 5);
    g_assert_cmpuint(used_elem(f, 0).len, ==, 8);
    virtqueue_notify(f->vq);
    g_assert_cmpuint(f->notifies, ==, 1);
    g_assert_false(f->vdev.broken);
}

/* Index arithmetic is modulo 2^16: the ring keeps working across it. */
static void test_wrap(Fixture *f, gconstpointer data)
{
    f->avail_idx = f->vq->last_avail_idx = 65534;
    f->vq->used_idx = 65534;
    for (unsigned i = 0; i < 4; i++) {
        VirtQueueElement *e;

        set_desc(f, DESC_ADDR, i, buf(i), 8, VRING_DESC_F_WRITE, 0);
        make_avail(f, i);
        e = virtqueue_pop(f->vq);
        g_assert_nonnull(e);
        g_assert_cmpuint(e->index, ==, i);
        virtqueue_push(f->vq, e, 8);
        g_free(e);
    }
    g_assert_cmpuint(f->vq->last_avail_idx, ==, 2);
    g_assert_cmpuint(used_idx(f), ==, 2);
    g_assert_cmpuint(used_elem(f, 65535).id, ==, 1);
    g_assert_false(f->vdev.broken);
}

static void test_indirect(Fixture *f, gconstpointer data)
{
    g_autofree VirtQueueElement *e = NULL;

    f->vdev.guest_features |= 1ULL << VIRTIO_RING_F_INDIRECT_DESC;
    set_desc(f, IND_ADDR, 0, buf(0), 2, VRING_DESC_F_NEXT, 2);
    set_desc(f, IND_ADDR, 2, buf(1), 6, VRING_DESC_F_NEXT, 1);
    set_desc(f, IND_ADDR, 1, buf(2), 1, VRING_DESC_F_WRITE, 0);
    set_desc(f, DESC_ADDR, 7, IND_ADDR, 3 * sizeof(struct vring_desc),
             VRING_DESC_F_INDIRECT, 0);
    make_avail(f, 7);
    e = virtqueue_pop(f->vq);
    g_assert_nonnull(e);
    g_assert_cmpuint(e->index, ==, 7);
    g_assert_cmpuint(e->out_num, ==, 2);
    g_assert_cmpuint(e->in_num, ==, 1);
    g_assert_cmpuint(e->out_len, ==, 8);
    g_assert_false(f->vdev.broken);
}

/* Interrupt suppression: NO_INTERRUPT without EVENT_IDX, used_event with
 * it; the avail event follows the avail index with EVENT_IDX. */
static void test_notify(Fixture *f, gconstpointer data)
{
    VirtQueueElement *e;

    set_desc(f, DESC_ADDR, 0, buf(0), 8, VRING_DESC_F_WRITE, 0);
    avail_flags(f, VRING_AVAIL_F_NO_INTERRUPT);
    make_avail(f, 0);
    e = virtqueue_pop(f->vq);
    g_assert_false(virtqueue_push(f->vq, e, 0));
    g_free(e);
    g_assert_cmpuint(avail_event(f), ==, 0);   /* not written */

    f->vdev.guest_features |= 1ULL << VIRTIO_RING_F_EVENT_IDX;
    set_used_event(f, 2);       /* "interrupt me when used passes 2" */
    for (unsigned i = 1; i <= 3; i++) {
        make_avail(f, 0);
        e = virtqueue_pop(f->vq);
        g_assert_nonnull(e);
        g_assert_cmpuint(avail_event(f), ==, i + 1);
        /* Flags are ignored with EVENT_IDX; only idx 2 -> 3 notifies. */
        g_assert_cmpint(virtqueue_push(f->vq, e, 0), ==, i == 2);
        g_free(e);
    }
    f->vdev.broken = true;
    virtqueue_notify(f->vq);
    g_assert_cmpuint(f->notifies, ==, 0);
}

/* --- hostile guests ---------------------------------------------------- */

static void test_bad_head(Fixture *f, gconstpointer data)
{
    make_avail(f, QSIZE);
    assert_pop_breaks(f, "descriptor index 128 out of range (queue of 128)");
}

static void test_bad_next(Fixture *f, gconstpointer data)
{
    set_desc(f, DESC_ADDR, 0, buf(0), 8, VRING_DESC_F_NEXT, 0xffff);
    make_avail(f, 0);
    assert_pop_breaks(f, "descriptor index 65535 out of range");
}

/* A loop longer than VIRTQUEUE_MAX_SG buffers hits that limit first: a
 * queue of 16 shows the loop itself. */
static void test_loop(Fixture *f, gconstpointer data)
{
    f->vq->num = 16;
    set_desc(f, DESC_ADDR, 0, buf(0), 8, VRING_DESC_F_NEXT, 1);
    set_desc(f, DESC_ADDR, 1, buf(1), 8, VRING_DESC_F_NEXT, 0);
    make_avail(f, 0);
    assert_pop_breaks(f, "descriptor chain loops (queue of 16)");
}

static void test_self_loop(Fixture *f, gconstpointer data)
{
    f->vq->num = 16;
    set_desc(f, DESC_ADDR, 3, buf(0), 8,
             VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, 3);
    make_avail(f, 3);
    assert_pop_breaks(f, "descriptor chain loops");
}

static void test_past_ram(Fixture *f, gconstpointer data)
{
    set_desc(f, DESC_ADDR, 0, RAM_SIZE - 8, 16, 0, 0);
    make_avail(f, 0);
    assert_pop_breaks(f, "is not inside guest RAM");
}

static void test_outside_ram(Fixture *f, gconstpointer data)
{
    set_desc(f, DESC_ADDR, 0, 0xfeb00000, 4, 0, 0);    /* MMIO, not RAM */
    make_avail(f, 0);
    assert_pop_breaks(f, "buffer [0xfeb00000, +0x4) is not inside guest RAM");
}

static void test_addr_wraps(Fixture *f, gconstpointer data)
{
    set_desc(f, DESC_ADDR, 0, UINT64_MAX - 0xf, 0x100, 0, 0);
    make_avail(f, 0);
    assert_pop_breaks(f, "is not inside guest RAM");
}

static void test_huge_len(Fixture *f, gconstpointer data)
{
    set_desc(f, DESC_ADDR, 0, buf(0), UINT32_MAX, VRING_DESC_F_WRITE, 0);
    make_avail(f, 0);
    assert_pop_breaks(f, "+0xffffffff) is not inside guest RAM");
}

static void test_zero_len(Fixture *f, gconstpointer data)
{
    set_desc(f, DESC_ADDR, 0, buf(0), 0, 0, 0);
    make_avail(f, 0);
    assert_pop_breaks(f, "+0x0) is empty");
}

static void test_order(Fixture *f, gconstpointer data)
{
    set_desc(f, DESC_ADDR, 0, buf(0), 8,
             VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 1);
    set_desc(f, DESC_ADDR, 1, buf(1), 8, 0, 0);
    make_avail(f, 0);
    assert_pop_breaks(f, "device-readable buffer after a device-writable one");
}

static void test_too_many(Fixture *f, gconstpointer data)
{
    for (unsigned i = 0; i <= VIRTQUEUE_MAX_SG; i++) {
        set_desc(f, DESC_ADDR, i, buf(0), 8, VRING_DESC_F_NEXT, i + 1);
    }
    set_desc(f, DESC_ADDR, VIRTQUEUE_MAX_SG, buf(0), 8, 0, 0);
    make_avail(f, 0);
    assert_pop_breaks(f, "more than 64 device-readable buffers");
}

static void test_avail_jump(Fixture *f, gconstpointer data)
{
    set_desc(f, DESC_ADDR, 0, buf(0), 8, 0, 0);
    f->avail_idx = QSIZE;       /* QSIZE + 1 buffers "available" */
    make_avail(f, 0);
    assert_pop_breaks(f, "available index 129 is 129 ahead of 0");
}

static void test_ring_moved(Fixture *f, gconstpointer data)
{
    set_desc(f, DESC_ADDR, 0, buf(0), 8, 0, 0);
    make_avail(f, 0);
    f->vq->used = RAM_SIZE - 8;     /* as if RAM shrank under the ring */
    assert_pop_breaks(f, "rings are no longer inside guest RAM");
}

static void test_indirect_not_negotiated(Fixture *f, gconstpointer data)
{
    set_desc(f, IND_ADDR, 0, buf(0), 8, 0, 0);
    set_desc(f, DESC_ADDR, 0, IND_ADDR, sizeof(struct vring_desc),
             VRING_DESC_F_INDIRECT, 0);
    make_avail(f, 0);
    assert_pop_breaks(f, "VIRTIO_RING_F_INDIRECT_DESC was not negotiated");
}

/* One indirect misuse per test path: set up by data. */
typedef enum IndirectCase {
    IND_NESTED, IND_WITH_NEXT, IND_BAD_LEN, IND_EMPTY, IND_PAST_RAM,
    IND_LOOP, IND_BAD_NEXT, IND_NOT_HEAD,
} IndirectCase;

static const char *const indirect_reasons[] = {
    [IND_NESTED] = "indirect descriptor inside an indirect table",
    [IND_WITH_NEXT] = "indirect descriptor with NEXT set",
    [IND_BAD_LEN] = "indirect table of 20 bytes is not a non-zero multiple",
    [IND_EMPTY] = "indirect table of 0 bytes",
    [IND_PAST_RAM] = "indirect table [0xffff0, +0x20) is not inside guest RAM",
    [IND_LOOP] = "descriptor chain loops (indirect table of 2)",
    [IND_BAD_NEXT] = "descriptor index 2 out of range (indirect table of 2)",
    [IND_NOT_HEAD] = "indirect descriptor not at the chain's head",
};

static void test_indirect_bad(Fixture *f, gconstpointer data)
{
    IndirectCase c = GPOINTER_TO_INT(data);
    uint32_t len = 2 * sizeof(struct vring_desc);
    uint16_t flags = VRING_DESC_F_INDIRECT;
    hwaddr table = IND_ADDR;

    f->vdev.guest_features |= 1ULL << VIRTIO_RING_F_INDIRECT_DESC;
    set_desc(f, IND_ADDR, 0, buf(0), 8, VRING_DESC_F_NEXT, 1);
    set_desc(f, IND_ADDR, 1, buf(1), 8, VRING_DESC_F_WRITE, 0);
    switch (c) {
    case IND_NESTED:
        set_desc(f, IND_ADDR, 1, IND_ADDR, len, VRING_DESC_F_INDIRECT, 0);
        break;
    case IND_WITH_NEXT:
        flags |= VRING_DESC_F_NEXT;
        break;
    case IND_BAD_LEN:
        len = 20;
        break;
    case IND_EMPTY:
        len = 0;
        break;
    case IND_PAST_RAM:
        table = RAM_SIZE - sizeof(struct vring_desc);
        break;
    case IND_LOOP:
        set_desc(f, IND_ADDR, 1, buf(1), 8, VRING_DESC_F_NEXT, 0);
        break;
    case IND_BAD_NEXT:
        set_desc(f, IND_ADDR, 0, buf(0), 8, VRING_DESC_F_NEXT, 2);
        break;
    case IND_NOT_HEAD:
        set_desc(f, DESC_ADDR, 0, buf(2), 8, VRING_DESC_F_NEXT, 1);
        set_desc(f, DESC_ADDR, 1, IND_ADDR, len, VRING_DESC_F_INDIRECT, 0);
        make_avail(f, 0);
        assert_pop_breaks(f, indirect_reasons[c]);
        return;
    }
    set_desc(f, DESC_ADDR, 0, table, len, flags, 1);
    make_avail(f, 0);
    assert_pop_breaks(f, indirect_reasons[c]);
}

/* Eight random descriptors in the ring (or none, one time in QSIZE + 1)
 * and in the indirect table. */
static void random_descs(Fixture *f, GRand *rand)
{
    for (unsigned i = 0; i < 8; i++) {
        unsigned d = g_rand_int_range(rand, 0, QSIZE + 1);
        uint32_t len = g_rand_boolean(rand) ?
                       (uint32_t)g_rand_int_range(rand, 0, 64) :
                       g_rand_int(rand);
        uint64_t addr = g_rand_boolean(rand) ?
                        (uint64_t)g_rand_int_range(rand, 0, RAM_SIZE) :
                        ((uint64_t)g_rand_int(rand) << 32 |
                         g_rand_int(rand));

        if (d < QSIZE) {
            set_desc(f, DESC_ADDR, d, addr, len,
                     g_rand_int_range(rand, 0, 8),
                     g_rand_int_range(rand, 0, QSIZE + 2));
        }
        set_desc(f, IND_ADDR, i, addr, len, g_rand_int_range(rand, 0, 8),
                 g_rand_int_range(rand, 0, 10));
    }
}

/* Pop until empty: every in buffer lies inside RAM (and is written
 * over); returns how many were popped. */
static unsigned pop_all_checked(Fixture *f, GRand *rand)
{
    VirtQueueElement *e;
    unsigned popped = 0;

    while ((e = virtqueue_pop(f->vq))) {
        for (unsigned i = 0; i < e->in_num; i++) {
            g_assert_true((uint8_t *)e->in_sg[i].iov_base >= f->ram);
            g_assert_true((uint8_t *)e->in_sg[i].iov_base +
                          e->in_sg[i].iov_len <= f->ram + RAM_SIZE);
            memset(e->in_sg[i].iov_base, 0x5a, e->in_sg[i].iov_len);
        }
        virtqueue_push(f->vq, e, g_rand_int(rand));
        g_free(e);
        popped++;
    }
    return popped;
}

/* Random descriptors, avail entries and indices, with and without the
 * ring features: whatever pop returns must lie inside RAM; broken
 * devices are reset and the game goes on.  No crash, no sanitizer
 * report. */
static void test_random(Fixture *f, gconstpointer data)
{
    g_autoptr(GRand) rand = g_rand_new_with_seed(0x6b766d69);
    unsigned popped = 0, broken = 0;
    int saved = log_begin();    /* thousands of guest errors */

    for (unsigned round = 0; round < 2000; round++) {
        random_descs(f, rand);
        f->vdev.guest_features = (1ULL << VIRTIO_F_VERSION_1) |
            ((uint64_t)g_rand_int_range(rand, 0, 2) <<
             VIRTIO_RING_F_INDIRECT_DESC) |
            ((uint64_t)g_rand_int_range(rand, 0, 2) <<
             VIRTIO_RING_F_EVENT_IDX);
        make_avail(f, g_rand_int_range(rand, 0, QSIZE + 4));
        if (g_rand_int_range(rand, 0, 50) == 0) {
            f->avail_idx += g_rand_int(rand);
        }
        popped += pop_all_checked(f, rand);
        if (f->vdev.broken) {
            broken++;
            f->vdev.broken = false;
            f->vdev.status = VIRTIO_CONFIG_S_DRIVER_OK;
            f->avail_idx = f->vq->last_avail_idx;
        }
        /* Buffers may have covered the rings: rewrite the avail index. */
        *(uint16_t *)(f->ram + AVAIL_ADDR + 2) = htole16(f->avail_idx);
    }
    g_free(log_end(saved));
    g_assert_cmpuint(popped, >, 0);
    g_assert_cmpuint(broken, >, 0);
}

#define ADD(path, fn) \
    g_test_add("/virtqueue/" path, Fixture, NULL, fixture_setup, fn, \
               fixture_teardown)
#define ADD_IND(path, c) \
    g_test_add("/virtqueue/bad/indirect/" path, Fixture, \
               GINT_TO_POINTER(c), fixture_setup, test_indirect_bad, \
               fixture_teardown)

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_assert_true(qemu_log_set_categories("guest_errors", NULL));
    ADD("empty", test_empty);
    ADD("chain", test_chain);
    ADD("wrap", test_wrap);
    ADD("indirect", test_indirect);
    ADD("notify", test_notify);
    ADD("bad/head", test_bad_head);
    ADD("bad/next", test_bad_next);
    ADD("bad/loop", test_loop);
    ADD("bad/self-loop", test_self_loop);
    ADD("bad/past-ram", test_past_ram);
    ADD("bad/outside-ram", test_outside_ram);
    ADD("bad/addr-wraps", test_addr_wraps);
    ADD("bad/huge-len", test_huge_len);
    ADD("bad/zero-len", test_zero_len);
    ADD("bad/order", test_order);
    ADD("bad/too-many", test_too_many);
    ADD("bad/avail-jump", test_avail_jump);
    ADD("bad/ring-moved", test_ring_moved);
    ADD("bad/indirect/not-negotiated", test_indirect_not_negotiated);
    ADD_IND("nested", IND_NESTED);
    ADD_IND("with-next", IND_WITH_NEXT);
    ADD_IND("bad-len", IND_BAD_LEN);
    ADD_IND("empty", IND_EMPTY);
    ADD_IND("past-ram", IND_PAST_RAM);
    ADD_IND("loop", IND_LOOP);
    ADD_IND("bad-next", IND_BAD_NEXT);
    ADD_IND("not-head", IND_NOT_HEAD);
    ADD("random", test_random);
    return g_test_run();
}
