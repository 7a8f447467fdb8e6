/* SPDX-License-Identifier: MIT */
/*
 * The standalone campaign of fuzz-virtio (the harness is in
 * fuzz-virtio.c): its seeds, drivers written as operations (every
 * control command the net device knows in different descriptor layouts,
 * with and without MQ; direct, indirect, long and raw chains on the echo
 * device with EVENT_IDX; a queue set up register by register), and
 * main() (see fuzz-common.h for the environment and arguments).
 */
#include "fuzz-virtio.h"
#include "qemu/log.h"

/* --- seeds: drivers written as operations -------------------------------------------------- */

static void put_le(GByteArray *b, uint64_t v, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        uint8_t c = v >> (8 * i);
        g_byte_array_append(b, &c, 1);
    }
}

/* OP_INIT with every queue of 2^size entries in consecutive slots. */
static void seed_init(GByteArray *b, unsigned d, uint64_t features,
                      unsigned nq, unsigned size, unsigned first_slot)
{
    put_le(b, OP_INIT, 1);
    put_le(b, d, 1);
    put_le(b, features, 8);
    for (unsigned i = 0; i < nq; i++) {
        put_le(b, size, 1);
        put_le(b, first_slot + i, 1);
    }
}

static void seed_ctrl(GByteArray *b, uint8_t class, uint8_t cmd,
                      const void *data, uint8_t len, uint8_t layout,
                      uint8_t slot)
{
    put_le(b, OP_CTRL, 1);
    put_le(b, class, 1);
    put_le(b, cmd, 1);
    put_le(b, len, 1);
    g_byte_array_append(b, data, len);
    put_le(b, layout, 1);
    put_le(b, slot, 1);
}

static void seed_io(GByteArray *b, unsigned q, unsigned nout, unsigned nin,
                    bool indirect, uint8_t head)
{
    put_le(b, OP_IO_CHAIN, 1);
    put_le(b, 1, 1);
    put_le(b, q, 1);
    put_le(b, nout | nin << 3 | (indirect ? 0x40 : 0), 1);
    put_le(b, head, 1);
    for (unsigned i = 0; i < nout + nin; i++) {
        put_le(b, 10 + i, 1);       /* scratch slot */
        put_le(b, 15 + 16 * i, 1);  /* length - 1 */
    }
}

/* Every control command kvmini knows, each in a different layout. */
static GByteArray *seed_net(bool mq)
{
    static const uint8_t mac[6] = { 0x02, 0, 0, 0, 0, 9 };
    static const uint8_t tables[] = {
        1, 0, 0, 0, 0x02, 0, 0, 0, 0, 1,
        1, 0, 0, 0, 0x01, 0, 0x5e, 0, 0, 1,
    };
    GByteArray *b = g_byte_array_new();
    uint16_t pairs = htole16(2);
    uint8_t on = 1, off = 0;
    uint8_t slot = 0;

    seed_init(b, 0, FUZZ_NET_FEATURES & (mq ? ~0ULL :
                                         ~(1ULL << VIRTIO_NET_F_MQ)),
              FUZZ_NET_NVQS, 6, 2);
    for (uint8_t cmd = 0; cmd <= VIRTIO_NET_CTRL_RX_NOBCAST; cmd++) {
        seed_ctrl(b, VIRTIO_NET_CTRL_RX, cmd, cmd & 1 ? &on : &off, 1,
                  1 | (cmd & 6), slot += 3);
    }
    seed_ctrl(b, VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_TABLE_SET, tables,
              sizeof(tables), 1, slot += 3);
    seed_ctrl(b, VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_ADDR_SET, mac,
              sizeof(mac), 1 | 4, slot += 3);
    seed_ctrl(b, VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET, &pairs,
              sizeof(pairs), 1 | 8, slot += 3);
    seed_ctrl(b, VIRTIO_NET_CTRL_ANNOUNCE, VIRTIO_NET_CTRL_ANNOUNCE_ACK,
              NULL, 0, 1, slot += 3);
    seed_ctrl(b, VIRTIO_NET_CTRL_VLAN, 0, &pairs, sizeof(pairs), 1,
              slot += 3);
    put_le(b, OP_READ32, 1);
    put_le(b, 0, 1);
    put_le(b, VIRTIO_MMIO_INTERRUPT_STATUS / 4, 1);
    put_le(b, OP_CFG_READ, 1);
    put_le(b, 0, 1);
    put_le(b, 1 << 6, 1);           /* 2 bytes at 0: the MAC's start */
    return b;
}

static void seed_long(GByteArray *b, unsigned q, uint8_t shape)
{
    put_le(b, OP_IO_CHAIN, 1);
    put_le(b, 1, 1);
    put_le(b, q, 1);
    put_le(b, 0x80 | shape, 1);
    put_le(b, 0, 1);
}

/* A readable and a writable buffer from raw descriptors, linked, kicked. */
static void seed_raw(GByteArray *b, unsigned q, uint8_t at)
{
    put_le(b, OP_RAW_CHAIN, 1);
    put_le(b, 1, 1);
    put_le(b, q, 1);
    put_le(b, 1, 1);                /* two descriptors */
    put_le(b, at, 1);
    put_le(b, FV_SCRATCH + 0x2000, 3);
    put_le(b, 64, 2);
    put_le(b, VRING_DESC_F_NEXT, 1);
    put_le(b, 0, 1);
    put_le(b, at + 1, 1);
    put_le(b, FV_SCRATCH + 0x2100, 3);
    put_le(b, 64, 2);
    put_le(b, VRING_DESC_F_WRITE, 1);
    put_le(b, 0, 1);
    put_le(b, 1, 1);                /* kick */
}

/* The echo device: direct and indirect chains on both queues, a long
 * one, one from raw descriptors, EVENT_IDX with a used_event written by
 * hand. */
static GByteArray *seed_echo(void)
{
    GByteArray *b = g_byte_array_new();

    seed_init(b, 1, FV_ECHO_FEATURES, FV_ECHO_NVQS, 5, 9);
    seed_io(b, 0, 2, 2, false, 0);
    seed_io(b, 0, 1, 3, true, 7);
    seed_io(b, 1, 3, 0, false, 30);
    seed_io(b, 1, 0, 1, true, 31);
    put_le(b, OP_RAM_WRITE16, 1);
    put_le(b, FV_RING_SLOT(9) + 0x800 + 4 + 2 * 32, 3);     /* used_event */
    put_le(b, 5, 2);
    seed_io(b, 0, 4, 4, false, 12);
    seed_long(b, 1, 3 | 0x40);      /* 63 readable, 1 writable, indirect */
    seed_raw(b, 0, 20);
    put_le(b, OP_WRITE32, 1);
    put_le(b, 1, 1);
    put_le(b, VIRTIO_MMIO_INTERRUPT_ACK / 4, 1);
    put_le(b, 1, 4);
    return b;
}

/* A driver probing: features read, a queue set up register by register,
 * config read and written, status read back. */
static GByteArray *seed_registers(void)
{
    static const struct { uint8_t reg; uint32_t val; } w[] = {
        { VIRTIO_MMIO_STATUS / 4, VIRTIO_CONFIG_S_ACKNOWLEDGE },
        { VIRTIO_MMIO_STATUS / 4, 3 },
        { VIRTIO_MMIO_DEVICE_FEATURES_SEL / 4, 1 },
        { VIRTIO_MMIO_DRIVER_FEATURES_SEL / 4, 1 },
        { VIRTIO_MMIO_DRIVER_FEATURES / 4, 1 },
        { VIRTIO_MMIO_STATUS / 4, 0xb },
        { VIRTIO_MMIO_QUEUE_SEL / 4, 1 },
        { VIRTIO_MMIO_QUEUE_NUM / 4, 8 },
        { VIRTIO_MMIO_QUEUE_DESC_LOW / 4, FV_RING_SLOT(5) },
        { VIRTIO_MMIO_QUEUE_AVAIL_LOW / 4, FV_RING_SLOT(5) + 0x800 },
        { VIRTIO_MMIO_QUEUE_USED_LOW / 4, FV_RING_SLOT(5) + 0xa00 },
        { VIRTIO_MMIO_QUEUE_READY / 4, 1 },
        { VIRTIO_MMIO_STATUS / 4, 0xf },
    };
    GByteArray *b = g_byte_array_new();

    for (size_t i = 0; i < G_N_ELEMENTS(w); i++) {
        put_le(b, OP_READ32, 1);
        put_le(b, 1, 1);
        put_le(b, i, 1);
        put_le(b, OP_WRITE32, 1);
        put_le(b, 1, 1);
        put_le(b, w[i].reg, 1);
        put_le(b, w[i].val, 4);
    }
    put_le(b, OP_CFG_WRITE, 1);
    put_le(b, 1, 1);
    put_le(b, 2 << 6 | 4, 1);       /* 4 bytes at 4 */
    put_le(b, 0x11223344, 4);
    seed_io(b, 1, 1, 1, false, 2);
    return b;
}

static GPtrArray *fv_make_seeds(void)
{
    GPtrArray *seeds = g_ptr_array_new_with_free_func(
        (GDestroyNotify)g_byte_array_unref);
    GByteArray *both = seed_net(true);
    g_autoptr(GByteArray) echo = seed_echo();

    g_byte_array_append(both, echo->data, echo->len);
    g_ptr_array_add(seeds, seed_net(true));
    g_ptr_array_add(seeds, seed_net(false));
    g_ptr_array_add(seeds, seed_echo());
    g_ptr_array_add(seeds, seed_registers());
    g_ptr_array_add(seeds, both);
    return seeds;
}

static void fv_summary(GString *out)
{
    g_string_append_printf(out, "; %u operations, %u buffers popped, "
                           "%u inputs left a device needing reset, "
                           "%u recovered after reset", fv_stats.ops,
                           fv_stats.popped, fv_stats.broken,
                           fv_stats.recovered);
}

int main(int argc, char **argv)
{
    static const FuzzTarget target = {
        .name = "fuzz-virtio",
        .iterations = 200000,
        .max_input = FV_MAX_INPUT,
        .make_seeds = fv_make_seeds,
        .run = fv_fuzz_one,
        .summary = fv_summary,
    };

    /* FUZZ_VERBOSE=1: what the guest did wrong, as -d would log it. */
    if (getenv("FUZZ_VERBOSE")) {
        qemu_log_set_categories("guest_errors,unimp", NULL);
    }
    return fuzz_main(&target, argc, argv);
}
