/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target for what a guest driver controls on virtio-mmio devices:
 * register reads and writes (status transitions, feature words, queue
 * programming, config space), the descriptor tables and available rings
 * it writes into its RAM, and its kicks.  Two devices without /dev/kvm:
 * the vhost-user net device of fuzz-net.h, whose control queue kvmini
 * serves itself (vu_net_handle_ctrl parses what the guest put in the
 * buffers: RX mode, MAC table, MAC address, MQ pairs, announce), and an
 * "echo" device whose two queues a handler here empties with
 * virtqueue_pop / virtqueue_elem_read / _write / virtqueue_push, so that
 * any chain a guest can build reaches the ring walker.  Guest RAM is
 * 64 KiB at 0 and 8 KiB right after it, both malloc'd, so the sanitizer
 * sees an access past either (a buffer across the two is one range in
 * guest-physical space but two host buffers).
 *
 * An input is a list of operations (the first byte of each picks one):
 * a 32-bit register access, a config access of 1-8 bytes, bytes or a
 * 16-bit value into RAM, QueueNotify, a driver's whole init sequence, a
 * chain from raw descriptors, a well-formed I/O chain (direct or
 * indirect), a control command (header, data, ack; in one or more
 * descriptors, direct or indirect), a reset.  After every operation:
 * NEEDS_RESET is set exactly when the device is broken, DRIVER_OK only
 * with FEATURES_OK, negotiated features were offered, a ready queue's
 * rings lie in RAM, the net device's queue-pair count stays in range,
 * interrupts only go to the devices' GSIs; every element popped lies in
 * RAM.  At the end of every input each device is reset and must work
 * again: a driver sets it up from scratch and a command / a buffer gets
 * its answer.
 *
 * Two builds, as fuzz-loader.c: with KVMINI_LIBFUZZER this file is a
 * libFuzzer target (LLVMFuzzerTestOneInput); otherwise it is linked with
 * fuzz-virtio-seeds.c into a standalone campaign (see fuzz-common.h;
 * default 200000 inputs).
 */
#include "fuzz-virtio.h"

FvStats fv_stats;

typedef struct FuzzEcho {
    VirtIODevice vdev;
    VirtIOMMIOProxy proxy;
} FuzzEcho;

typedef struct FuzzVirtio {
    MachineState *ms;
    FuzzAccel accel;
    uint8_t *ram_a, *ram_b;
    FuzzNet net;
    FuzzEcho echo;
    VirtIODevice *dev[2];           /* 0 net, 1 echo */
} FuzzVirtio;

static FuzzVirtio *fv_current;      /* for the echo handler's checks */

/* --- the echo device -------------------------------------------------------- */

static bool fv_in_ram(const FuzzVirtio *f, const void *p, size_t len)
{
    const uint8_t *b = p;

    return (b >= f->ram_a && len <= FV_RAM_A &&
            b + len <= f->ram_a + FV_RAM_A) ||
           (b >= f->ram_b && len <= FV_RAM_B &&
            b + len <= f->ram_b + FV_RAM_B);
}

/* An element the ring walker produced: its buffers in RAM, as counted. */
static void fv_check_elem(FuzzVirtio *f, const VirtQueueElement *e)
{
    size_t out = 0, in = 0;

    g_assert_cmpuint(e->out_num, <=, VIRTQUEUE_MAX_SG);
    g_assert_cmpuint(e->in_num, <=, VIRTQUEUE_MAX_SG);
    g_assert_cmpuint(e->out_num + e->in_num, >, 0);
    for (unsigned i = 0; i < e->out_num; i++) {
        g_assert(e->out_sg[i].iov_len && fv_in_ram(f, e->out_sg[i].iov_base,
                                                   e->out_sg[i].iov_len));
        out += e->out_sg[i].iov_len;
    }
    for (unsigned i = 0; i < e->in_num; i++) {
        g_assert(e->in_sg[i].iov_len && fv_in_ram(f, e->in_sg[i].iov_base,
                                                  e->in_sg[i].iov_len));
        g_assert(address_space_ram_ptr(&f->ms->address_space_memory,
                                       e->in_gpa[i], e->in_sg[i].iov_len) ==
                 e->in_sg[i].iov_base);
        in += e->in_sg[i].iov_len;
    }
    g_assert_cmpuint(out, ==, e->out_len);
    g_assert_cmpuint(in, ==, e->in_len);
}

/* Read every readable byte, answer with up to 4 KiB of them reversed. */
static void fv_echo_handle(VirtIODevice *vdev, VirtQueue *vq)
{
    uint8_t buf[4096], rev[4096];
    bool notify = false;
    unsigned n = 0;
    VirtQueueElement *e;

    while ((e = virtqueue_pop(vq))) {
        size_t len = virtqueue_elem_read(e, 0, buf, sizeof(buf));

        fv_check_elem(fv_current, e);
        g_assert_cmpuint(len, ==, MIN(e->out_len, sizeof(buf)));
        for (size_t i = 0; i < len; i++) {
            rev[i] = buf[len - 1 - i];
        }
        len = virtqueue_elem_write(e, 0, rev, MIN(len, e->in_len));
        notify |= virtqueue_push(vq, e, len);
        g_free(e);
        fv_stats.popped++;
        /* One kick sees at most a ring's worth. */
        g_assert_cmpuint(++n, <=, vq->num);
    }
    if (notify) {
        virtqueue_notify(vq);
    }
}

static uint64_t fv_echo_features(VirtIODevice *vdev)
{
    return FV_ECHO_FEATURES;
}

static const VirtioDeviceClass fv_echo_class = {
    .name = "fuzz-echo",
    .device_id = VIRTIO_ID_RNG,
    .get_features = fv_echo_features,
};

/* --- the machine ----------------------------------------------------------------- */

static void fv_init(FuzzVirtio *f)
{
    MachineState *ms = fuzz_machine_new(&f->accel);
    Error *err = NULL;

    f->ms = ms;
    f->ram_a = g_malloc0(FV_RAM_A);
    f->ram_b = g_malloc0(FV_RAM_B);
    memory_region_init_ram_ptr(&ms->ram_below_4g, "ram-a", FV_RAM_A,
                               f->ram_a, -1, 0);
    memory_region_init_ram_ptr(&ms->ram_above_4g, "ram-b", FV_RAM_B,
                               f->ram_b, -1, 0);
    memory_region_add_subregion(&ms->system_memory, 0, &ms->ram_below_4g);
    memory_region_add_subregion(&ms->system_memory, FV_RAM_A,
                                &ms->ram_above_4g);
    fuzz_net_init(&f->net, ms, true);
    virtio_init(&f->echo.vdev, &fv_echo_class, ms, "echo0", FV_ECHO_NVQS,
                FV_ECHO_QSIZE, 8);
    for (unsigned i = 0; i < FV_ECHO_NVQS; i++) {
        f->echo.vdev.vq[i].handler = fv_echo_handle;
    }
    if (!virtio_mmio_plug(&f->echo.proxy, &f->echo.vdev, ms, &err)) {
        g_error("fuzz-virtio: %s", error_get_pretty(err));
    }
    f->dev[0] = &f->net.s.parent.vdev;
    f->dev[1] = &f->echo.vdev;
    fv_current = f;
}

static void fv_free(FuzzVirtio *f)
{
    virtio_mmio_unplug(&f->echo.proxy);
    virtio_cleanup(&f->echo.vdev);
    fuzz_net_cleanup(&f->net);
    machine_free(f->ms);
    g_free(f->ram_a);
    g_free(f->ram_b);
    fv_current = NULL;
}

static hwaddr fv_base(FuzzVirtio *f, unsigned d)
{
    return VIRTIO_MMIO_BASE + d * VIRTIO_MMIO_SLOT_SIZE;
}

/* What holds whatever the guest did. */
static void fv_check(FuzzVirtio *f)
{
    for (unsigned d = 0; d < 2; d++) {
        VirtIODevice *vdev = f->dev[d];
        uint8_t s = vdev->status;

        g_assert(vdev->broken == !!(s & VIRTIO_CONFIG_S_NEEDS_RESET));
        g_assert(!(s & VIRTIO_CONFIG_S_DRIVER_OK) ||
                 (s & VIRTIO_CONFIG_S_FEATURES_OK));
        if (s & VIRTIO_CONFIG_S_FEATURES_OK) {
            g_assert_cmphex(vdev->guest_features &
                            ~virtio_host_features(vdev), ==, 0);
            g_assert(virtio_has_feature(vdev->guest_features,
                                        VIRTIO_F_VERSION_1));
        }
        for (unsigned i = 0; i < vdev->nvqs; i++) {
            g_assert(!vdev->vq[i].ready || virtio_queue_valid(vdev, i, NULL));
        }
    }
    g_assert(fuzz_net_sane(&f->net));
    g_assert_cmpuint(f->accel.irqs_off_slot, ==, 0);
}

/* --- what the guest writes into its RAM ------------------------------------------------- */

typedef struct FvDesc {
    uint64_t addr;
    uint32_t len;
    uint16_t flags;
} FvDesc;

/* The queue as the driver programmed it, if it has a size. */
static bool fv_queue(FuzzVirtio *f, unsigned d, unsigned q, FuzzQueue *fq)
{
    VirtIODevice *vdev = f->dev[d];
    VirtQueue *vq;

    if (q >= vdev->nvqs || !vdev->vq[q].num) {
        return false;
    }
    vq = &vdev->vq[q];
    *fq = (FuzzQueue){ vq->num, vq->desc, vq->avail, vq->used };
    return true;
}

/* Chain ds[0..n) from head on in the queue's table, or in the indirect
 * table at table with an INDIRECT head, then made available. */
static void fv_post(FuzzVirtio *f, const FuzzQueue *fq, uint16_t head,
                    const FvDesc *ds, unsigned n, bool indirect, hwaddr table)
{
    hwaddr t = indirect ? table : fq->desc;
    unsigned first = indirect ? 0 : head;
    unsigned size = indirect ? n : fq->num;

    head %= fq->num;
    for (unsigned i = 0; i < n; i++) {
        unsigned at = (first + i) % size, next = (first + i + 1) % size;
        uint16_t flags = ds[i].flags | (i + 1 < n ? VRING_DESC_F_NEXT : 0);

        fuzz_ring_desc(f->ms, t, at, ds[i].addr, ds[i].len, flags, next);
    }
    if (indirect) {
        fuzz_ring_desc(f->ms, fq->desc, head, table,
                       n * sizeof(struct vring_desc),
                       VRING_DESC_F_INDIRECT, 0);
    }
    fuzz_ring_avail(f->ms, fq, head);
}

/* --- operations -------------------------------------------------------------------------- */

static hwaddr fv_addr(FuzzInput *in)
{
    return fuzz_in_le(in, 3) % (FV_RAM_END + 0x100);
}

static void op_register(FuzzVirtio *f, FuzzInput *in, bool write)
{
    hwaddr addr = fv_base(f, fuzz_in_u8(in) & 1);

    addr += (fuzz_in_u8(in) % 64) * 4;

    if (write) {
        fuzz_wr(f->ms, addr, fuzz_in_le(in, 4), 4);
    } else {
        fuzz_rd(f->ms, addr, 4);
    }
}

static void op_config(FuzzVirtio *f, FuzzInput *in, bool write)
{
    hwaddr addr = fv_base(f, fuzz_in_u8(in) & 1) + VIRTIO_MMIO_CONFIG;
    uint8_t b = fuzz_in_u8(in);
    unsigned size = 1u << (b >> 6);

    addr += b & 0x3f;
    if (write) {
        fuzz_wr(f->ms, addr, fuzz_in_le(in, size), size);
    } else {
        fuzz_rd(f->ms, addr, size);
    }
}

static void op_ram(FuzzVirtio *f, FuzzInput *in, bool word)
{
    hwaddr addr = fv_addr(in);
    const uint8_t *p;
    size_t len;

    if (word) {
        fuzz_wr(f->ms, addr, fuzz_in_le(in, 2), 2);
        return;
    }
    p = fuzz_in_bytes(in, fuzz_in_u8(in), &len);
    address_space_write(&f->ms->address_space_memory, addr, p, len);
}

static void op_notify(FuzzVirtio *f, FuzzInput *in)
{
    unsigned d = fuzz_in_u8(in) & 1;

    fuzz_wr(f->ms, fv_base(f, d) + VIRTIO_MMIO_QUEUE_NOTIFY,
            fuzz_in_u8(in), 4);
}

/* The whole init: features as given; per queue a size 2^0..2^7 and a
 * ring slot, or no queue (slot byte 0xff). */
static void op_init(FuzzVirtio *f, FuzzInput *in)
{
    unsigned d = fuzz_in_u8(in) & 1;
    uint64_t features = fuzz_in_le(in, 8);
    FuzzQueue q[VIRTIO_QUEUE_MAX] = { 0 };
    unsigned nq = f->dev[d]->nvqs;

    for (unsigned i = 0; i < nq; i++) {
        uint8_t size = fuzz_in_u8(in), slot = fuzz_in_u8(in);
        hwaddr r = FV_RING_SLOT(slot % FV_RING_SLOTS);

        if (slot != 0xff) {
            q[i] = (FuzzQueue){ 1u << (size % 8), r, r + 0x800, r + 0xa00 };
        }
    }
    fuzz_drv_init(f->ms, fv_base(f, d), features, q, nq);
}

/*
 * Descriptors as given: index, address, length, flags, next.  A flags
 * byte without bit 7 links the descriptor to the next one given (the
 * last to the first: a loop unless its NEXT is clear); with bit 7 the
 * next byte is taken as it is.  The first one is made available and, if
 * the last byte says so, the queue kicked.
 */
static void op_raw_chain(FuzzVirtio *f, FuzzInput *in)
{
    unsigned d = fuzz_in_u8(in) & 1, q = fuzz_in_u8(in) % 8;
    unsigned n = fuzz_in_u8(in) % 8 + 1;
    struct { uint8_t at, flags, next; hwaddr addr; uint32_t len; } r[8];
    FuzzQueue fq = { 0 };

    for (unsigned i = 0; i < n; i++) {
        r[i].at = fuzz_in_u8(in);
        r[i].addr = fv_addr(in);
        r[i].len = fuzz_in_le(in, 2);
        r[i].flags = fuzz_in_u8(in);
        r[i].next = fuzz_in_u8(in);
    }
    if (!fv_queue(f, d, q, &fq)) {
        return;
    }
    for (unsigned i = 0; i < n; i++) {
        uint16_t next = r[i].flags & 0x80 ? r[i].next : r[(i + 1) % n].at;

        fuzz_ring_desc(f->ms, fq.desc, r[i].at % fq.num, r[i].addr,
                       r[i].len, r[i].flags & 0x7f, next % fq.num);
    }
    fuzz_ring_avail(f->ms, &fq, r[0].at);
    if (fuzz_in_u8(in) & 1) {
        fuzz_wr(f->ms, fv_base(f, d) + VIRTIO_MMIO_QUEUE_NOTIFY, q, 4);
    }
}

#define FV_LONG_MAX 68

/*
 * A well-formed chain of scratch buffers, readable ones first, direct or
 * indirect (shape bit 6), then a kick.  Shape bits 0-2 / 3-5 count the
 * readable / writable ones, each with its slot and length from the
 * input; with bit 7 the chain is long instead: 60-67 readable and one
 * writable, or the other way round (bit 3), around the limit of 64.
 */
static void op_io_chain(FuzzVirtio *f, FuzzInput *in)
{
    unsigned d = fuzz_in_u8(in) & 1, q = fuzz_in_u8(in) % 8;
    uint8_t shape = fuzz_in_u8(in), head = fuzz_in_u8(in);
    bool lng = shape & 0x80;
    unsigned nout = lng ? (shape & 8 ? 1 : 60 + (shape & 7)) : shape & 7;
    unsigned nin = lng ? (shape & 8 ? 60 + (shape & 7) : 1)
                       : (shape >> 3) & 7;
    FvDesc ds[FV_LONG_MAX];
    FuzzQueue fq = { 0 };

    for (unsigned i = 0; i < nout + nin; i++) {
        unsigned slot = lng ? i : fuzz_in_u8(in);
        uint32_t len = lng ? 1 + i % 16 : fuzz_in_u8(in) + 1u;

        ds[i] = (FvDesc){
            .addr = FV_SCRATCH + (hwaddr)(slot % FV_SCRATCH_SLOTS) * 0x100,
            .len = len,
            .flags = i < nout ? 0 : VRING_DESC_F_WRITE,
        };
    }
    if (!fv_queue(f, d, q, &fq) || !(nout + nin)) {
        return;
    }
    fv_post(f, &fq, head, ds, nout + nin, shape & 0x40,
            lng ? FV_INDIRECT : FV_INDIRECT + (head % 16) * 0x100);
    fuzz_wr(f->ms, fv_base(f, d) + VIRTIO_MMIO_QUEUE_NOTIFY, q, 4);
}

/*
 * A control command for the net device: class, command, 0-255 bytes of
 * data, then a layout byte: bit 0 kick, bit 1 header and data in one
 * descriptor, bit 2 indirect, bit 3 a 2-byte ack buffer, bit 4 the ack
 * device-readable (a driver bug).
 */
static void op_ctrl(FuzzVirtio *f, FuzzInput *in)
{
    VirtIODevice *vdev = f->dev[0];
    uint8_t class = fuzz_in_u8(in), cmd = fuzz_in_u8(in);
    const uint8_t *data;
    size_t len;
    uint8_t layout, slot;
    unsigned n = 0, q;
    hwaddr buf;
    FvDesc ds[3];
    FuzzQueue fq = { 0 };

    data = fuzz_in_bytes(in, fuzz_in_u8(in), &len);
    layout = fuzz_in_u8(in);
    slot = fuzz_in_u8(in);
    q = virtio_has_feature(vdev->guest_features, VIRTIO_NET_F_MQ) ?
        FUZZ_NET_CTRL : 2;
    if (!fv_queue(f, 0, q, &fq)) {
        return;
    }
    buf = FV_SCRATCH + (hwaddr)(slot % FV_SCRATCH_SLOTS) * 0x100;
    fuzz_wr(f->ms, buf, class | cmd << 8, 2);
    address_space_write(&f->ms->address_space_memory, buf + 2, data, len);
    fuzz_wr(f->ms, buf + 2 + len, 0xff, 1);
    if (layout & 2) {
        ds[n++] = (FvDesc){ buf, 2 + len, 0 };
    } else {
        ds[n++] = (FvDesc){ buf, 2, 0 };
        if (len) {
            ds[n++] = (FvDesc){ buf + 2, len, 0 };
        }
    }
    ds[n++] = (FvDesc){ buf + 2 + len, layout & 8 ? 2 : 1,
                        layout & 0x10 ? 0 : VRING_DESC_F_WRITE };
    fv_post(f, &fq, slot, ds, n, layout & 4,
            FV_INDIRECT + (slot % 16) * 0x100 + 0x80);
    if (layout & 1) {
        fuzz_wr(f->ms, fv_base(f, 0) + VIRTIO_MMIO_QUEUE_NOTIFY, q, 4);
    }
}

static void fv_op(FuzzVirtio *f, FuzzInput *in)
{
    uint8_t op = fuzz_in_u8(in) % OP_COUNT;

    switch (op) {
    case OP_WRITE32:
    case OP_READ32:
        op_register(f, in, op == OP_WRITE32);
        break;
    case OP_CFG_WRITE:
    case OP_CFG_READ:
        op_config(f, in, op == OP_CFG_WRITE);
        break;
    case OP_RAM_WRITE:
    case OP_RAM_WRITE16:
        op_ram(f, in, op == OP_RAM_WRITE16);
        break;
    case OP_NOTIFY:
        op_notify(f, in);
        break;
    case OP_INIT:
        op_init(f, in);
        break;
    case OP_RAW_CHAIN:
        op_raw_chain(f, in);
        break;
    case OP_IO_CHAIN:
        op_io_chain(f, in);
        break;
    case OP_CTRL:
        op_ctrl(f, in);
        break;
    default:
        fuzz_wr(f->ms, fv_base(f, fuzz_in_u8(in) & 1) + VIRTIO_MMIO_STATUS,
                0, 4);
        break;
    }
}

/* --- after the input: reset, and the devices must work ------------------------------------ */

static void fv_recover_net(FuzzVirtio *f)
{
    static const FuzzQueue ctrl = { 64, FV_RING_SLOT(0), FV_RING_SLOT(0) +
                                    0x800, FV_RING_SLOT(0) + 0xa00 };
    uint64_t features = (1ULL << VIRTIO_F_VERSION_1) |
                        (1ULL << VIRTIO_NET_F_CTRL_VQ) |
                        (1ULL << VIRTIO_NET_F_CTRL_RX) |
                        (1ULL << VIRTIO_NET_F_MQ);
    FuzzQueue q[FUZZ_NET_NVQS] = { [FUZZ_NET_CTRL] = ctrl };
    hwaddr base = fv_base(f, 0);
    uint8_t on = 1;
    hwaddr ack;

    g_assert_cmphex(fuzz_drv_init(f->ms, base, features, q, FUZZ_NET_NVQS),
                    ==, VIRTIO_CONFIG_S_ACKNOWLEDGE |
                    VIRTIO_CONFIG_S_DRIVER | VIRTIO_CONFIG_S_FEATURES_OK |
                    VIRTIO_CONFIG_S_DRIVER_OK);
    ack = fuzz_net_ctrl_cmd(f->ms, &ctrl, 0, FV_SCRATCH, VIRTIO_NET_CTRL_RX,
                            VIRTIO_NET_CTRL_RX_PROMISC, &on, 1);
    fuzz_wr(f->ms, base + VIRTIO_MMIO_QUEUE_NOTIFY, FUZZ_NET_CTRL, 4);
    g_assert_cmpuint(fuzz_rd(f->ms, ack, 1), ==, VIRTIO_NET_OK);
    g_assert_cmpuint(fuzz_ring_used_idx(f->ms, &ctrl), ==, 1);
    g_assert_true(f->net.s.rx.promisc);
}

static void fv_recover_echo(FuzzVirtio *f)
{
    static const FuzzQueue q0 = { 16, FV_RING_SLOT(1), FV_RING_SLOT(1) +
                                  0x800, FV_RING_SLOT(1) + 0xa00 };
    static const FvDesc ds[2] = {
        { FV_SCRATCH, 4, 0 },
        { FV_SCRATCH + 0x100, 4, VRING_DESC_F_WRITE },
    };
    FuzzQueue q[FV_ECHO_NVQS] = { q0 };
    hwaddr base = fv_base(f, 1);

    g_assert_cmphex(fuzz_drv_init(f->ms, base, 1ULL << VIRTIO_F_VERSION_1,
                                  q, FV_ECHO_NVQS) &
                    VIRTIO_CONFIG_S_NEEDS_RESET, ==, 0);
    fuzz_wr(f->ms, FV_SCRATCH, 0x04030201, 4);
    fv_post(f, &q0, 3, ds, 2, false, 0);
    fuzz_wr(f->ms, base + VIRTIO_MMIO_QUEUE_NOTIFY, 0, 4);
    g_assert_cmpuint(fuzz_ring_used_idx(f->ms, &q0), ==, 1);
    g_assert_cmphex(fuzz_rd(f->ms, FV_SCRATCH + 0x100, 4), ==, 0x01020304);
}

/* Returns whether the input left both devices working (not broken). */
bool fv_fuzz_one(const uint8_t *data, size_t size)
{
    FuzzInput in = { .data = data, .size = size };
    FuzzVirtio f;
    unsigned ops = 0;
    bool ok;

    fv_init(&f);
    while (fuzz_in_left(&in) && ops++ < FV_MAX_OPS) {
        fv_op(&f, &in);
        fv_check(&f);
    }
    fv_stats.ops += ops;
    ok = !f.dev[0]->broken && !f.dev[1]->broken;
    fv_stats.broken += !ok;
    fv_recover_net(&f);
    fv_recover_echo(&f);
    fv_check(&f);
    fv_stats.recovered++;
    fv_free(&f);
    return ok;
}

#ifdef KVMINI_LIBFUZZER
FUZZ_LIBFUZZER_ENTRY(fv_fuzz_one)
#endif
