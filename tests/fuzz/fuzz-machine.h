/* SPDX-License-Identifier: MIT */
/*
 * A machine for in-process fuzzing without /dev/kvm (as the unit tests
 * build theirs): the memory and I/O address spaces, a fake accelerator
 * that counts interrupt pulses per GSI, RAM added by the target; and what
 * a guest driver does on it: virtio-mmio register accesses through the
 * address space, the init sequence, split-ring descriptors and the
 * available ring written into guest RAM.
 */
#ifndef TESTS_FUZZ_FUZZ_MACHINE_H
#define TESTS_FUZZ_FUZZ_MACHINE_H

#include "hw/virtio/virtio-mmio.h"
#include "sysemu/sysemu.h"

#include <endian.h>

typedef struct FuzzAccel {
    unsigned irqs;                  /* rising edges */
    unsigned irqs_off_slot;         /* on a GSI no virtio-mmio slot has */
} FuzzAccel;

static inline void fuzz_accel_set_irq(MachineState *ms, unsigned gsi,
                                      int level)
{
    FuzzAccel *a = ms->accel_state;

    if (!level) {
        return;
    }
    a->irqs++;
    if (gsi < VIRTIO_MMIO_GSI_BASE ||
        gsi >= VIRTIO_MMIO_GSI_BASE + ms->mmio_slots_used) {
        a->irqs_off_slot++;
    }
}

static inline bool fuzz_accel_irqfd_add(MachineState *ms, EventNotifier *e,
                                        unsigned gsi, Error **errp)
{
    return true;
}

static inline void fuzz_accel_irqfd_del(MachineState *ms, EventNotifier *e,
                                        unsigned gsi)
{
}

static inline void fuzz_accel_noop(MachineState *ms)
{
}

static const AccelOps fuzz_accel_ops = {
    .name = "fuzz",
    .stop = fuzz_accel_noop,
    .set_irq = fuzz_accel_set_irq,
    .irqfd_add = fuzz_accel_irqfd_add,
    .irqfd_del = fuzz_accel_irqfd_del,
    .cleanup = fuzz_accel_noop,
};

/* A machine without RAM: the target maps its own (ram_below_4g and
 * ram_above_4g are finalized by machine_free()). */
static inline MachineState *fuzz_machine_new(FuzzAccel *accel)
{
    MachineState *ms = machine_new();

    *accel = (FuzzAccel){ 0 };
    ms->accel = &fuzz_accel_ops;
    ms->accel_state = accel;
    memory_region_init(&ms->system_memory, "system", UINT64_MAX);
    memory_region_init(&ms->system_io, "io", 0x10000);
    address_space_init(&ms->address_space_memory, &ms->system_memory,
                       "memory");
    address_space_init(&ms->address_space_io, &ms->system_io, "I/O");
    return ms;
}

/* --- the guest driver ----------------------------------------------------- */

static inline void fuzz_wr(MachineState *ms, hwaddr addr, uint64_t v,
                           unsigned size)
{
    uint8_t buf[8];

    for (unsigned i = 0; i < size; i++) {
        buf[i] = v >> (8 * i);
    }
    address_space_write(&ms->address_space_memory, addr, buf, size);
}

static inline uint64_t fuzz_rd(MachineState *ms, hwaddr addr, unsigned size)
{
    uint8_t buf[8] = { 0 };
    uint64_t v = 0;

    address_space_read(&ms->address_space_memory, addr, buf, size);
    for (unsigned i = 0; i < size; i++) {
        v |= (uint64_t)buf[i] << (8 * i);
    }
    return v;
}

typedef struct FuzzQueue {
    uint16_t num;
    hwaddr desc, avail, used;
} FuzzQueue;

static inline void fuzz_drv_features(MachineState *ms, hwaddr base,
                                     uint64_t features)
{
    fuzz_wr(ms, base + VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0, 4);
    fuzz_wr(ms, base + VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)features, 4);
    fuzz_wr(ms, base + VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1, 4);
    fuzz_wr(ms, base + VIRTIO_MMIO_DRIVER_FEATURES, features >> 32, 4);
}

static inline void fuzz_drv_queue(MachineState *ms, hwaddr base, unsigned n,
                                  const FuzzQueue *q)
{
    fuzz_wr(ms, base + VIRTIO_MMIO_QUEUE_SEL, n, 4);
    fuzz_wr(ms, base + VIRTIO_MMIO_QUEUE_NUM, q->num, 4);
    fuzz_wr(ms, base + VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)q->desc, 4);
    fuzz_wr(ms, base + VIRTIO_MMIO_QUEUE_DESC_HIGH, q->desc >> 32, 4);
    fuzz_wr(ms, base + VIRTIO_MMIO_QUEUE_AVAIL_LOW, (uint32_t)q->avail, 4);
    fuzz_wr(ms, base + VIRTIO_MMIO_QUEUE_AVAIL_HIGH, q->avail >> 32, 4);
    fuzz_wr(ms, base + VIRTIO_MMIO_QUEUE_USED_LOW, (uint32_t)q->used, 4);
    fuzz_wr(ms, base + VIRTIO_MMIO_QUEUE_USED_HIGH, q->used >> 32, 4);
    fuzz_wr(ms, base + VIRTIO_MMIO_QUEUE_READY, 1, 4);
}

/* Reset, ACKNOWLEDGE, DRIVER, features, FEATURES_OK, the queues whose num
 * is not 0 (their rings zeroed first), DRIVER_OK.  Returns the status read
 * back. */
static inline uint32_t fuzz_drv_init(MachineState *ms, hwaddr base,
                                     uint64_t features, const FuzzQueue *q,
                                     unsigned nq)
{
    static const uint8_t zero[4096];
    uint32_t s = VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER;
    AddressSpace *as = &ms->address_space_memory;

    fuzz_wr(ms, base + VIRTIO_MMIO_STATUS, 0, 4);
    fuzz_wr(ms, base + VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE, 4);
    fuzz_wr(ms, base + VIRTIO_MMIO_STATUS, s, 4);
    fuzz_drv_features(ms, base, features);
    s |= VIRTIO_CONFIG_S_FEATURES_OK;
    fuzz_wr(ms, base + VIRTIO_MMIO_STATUS, s, 4);
    for (unsigned i = 0; i < nq; i++) {
        if (!q[i].num) {
            continue;
        }
        address_space_write(as, q[i].avail, zero,
                            MIN(sizeof(zero), 6 + 2u * q[i].num));
        address_space_write(as, q[i].used, zero,
                            MIN(sizeof(zero), 6 + 8u * q[i].num));
        fuzz_drv_queue(ms, base, i, &q[i]);
    }
    fuzz_wr(ms, base + VIRTIO_MMIO_STATUS, s | VIRTIO_CONFIG_S_DRIVER_OK, 4);
    return fuzz_rd(ms, base + VIRTIO_MMIO_STATUS, 4);
}

/* Descriptor i of the table at gpa table. */
static inline void fuzz_ring_desc(MachineState *ms, hwaddr table, unsigned i,
                                  uint64_t addr, uint32_t len, uint16_t flags,
                                  uint16_t next)
{
    struct vring_desc d = {
        .addr = htole64(addr), .len = htole32(len),
        .flags = htole16(flags), .next = htole16(next),
    };

    address_space_write(&ms->address_space_memory, table + i * sizeof(d), &d,
                        sizeof(d));
}

/* Make head available: ring[idx % num] = head, then idx + 1. */
static inline void fuzz_ring_avail(MachineState *ms, const FuzzQueue *q,
                                   uint16_t head)
{
    uint16_t idx = fuzz_rd(ms, q->avail + 2, 2);

    fuzz_wr(ms, q->avail + 4 + 2 * (idx % q->num), head, 2);
    fuzz_wr(ms, q->avail + 2, (uint16_t)(idx + 1), 2);
}

static inline uint16_t fuzz_ring_used_idx(MachineState *ms,
                                          const FuzzQueue *q)
{
    return fuzz_rd(ms, q->used + 2, 2);
}

#endif
