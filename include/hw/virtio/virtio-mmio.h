/* SPDX-License-Identifier: MIT */
/*
 * virtio-mmio transport, version 2 ("modern") register layout from the
 * virtio 1.x specification, section 4.2.  One 0x200-byte slot per device
 * (see machine_alloc_mmio_slot()); QueueNotify is an ioeventfd with the
 * queue index as datamatch, so kicks reach the backend without kvmini;
 * interrupts are irqfds on the slot's GSI.
 *
 * InterruptStatus with irqfd: the backend signals the irqfd directly and
 * cannot set the "used buffer" bit, so while guest notifiers are bound to
 * irqfds the bit reads as set (as Firecracker does for vhost-user); a
 * driver then checks every queue, which is always correct.
 */
#ifndef HW_VIRTIO_VIRTIO_MMIO_H
#define HW_VIRTIO_VIRTIO_MMIO_H

#include "hw/virtio/virtio.h"

#define VIRTIO_MMIO_MAGIC_VALUE      0x000
#define VIRTIO_MMIO_VERSION          0x004
#define VIRTIO_MMIO_DEVICE_ID        0x008
#define VIRTIO_MMIO_VENDOR_ID        0x00c
#define VIRTIO_MMIO_DEVICE_FEATURES  0x010
#define VIRTIO_MMIO_DEVICE_FEATURES_SEL 0x014
#define VIRTIO_MMIO_DRIVER_FEATURES  0x020
#define VIRTIO_MMIO_DRIVER_FEATURES_SEL 0x024
#define VIRTIO_MMIO_QUEUE_SEL        0x030
#define VIRTIO_MMIO_QUEUE_NUM_MAX    0x034
#define VIRTIO_MMIO_QUEUE_NUM        0x038
#define VIRTIO_MMIO_QUEUE_READY      0x044
#define VIRTIO_MMIO_QUEUE_NOTIFY     0x050
#define VIRTIO_MMIO_INTERRUPT_STATUS 0x060
#define VIRTIO_MMIO_INTERRUPT_ACK    0x064
#define VIRTIO_MMIO_STATUS           0x070
#define VIRTIO_MMIO_QUEUE_DESC_LOW   0x080
#define VIRTIO_MMIO_QUEUE_DESC_HIGH  0x084
#define VIRTIO_MMIO_QUEUE_AVAIL_LOW  0x090
#define VIRTIO_MMIO_QUEUE_AVAIL_HIGH 0x094
#define VIRTIO_MMIO_QUEUE_USED_LOW   0x0a0
#define VIRTIO_MMIO_QUEUE_USED_HIGH  0x0a4
#define VIRTIO_MMIO_SHM_SEL          0x0ac
#define VIRTIO_MMIO_SHM_LEN_LOW      0x0b0
#define VIRTIO_MMIO_SHM_LEN_HIGH     0x0b4
#define VIRTIO_MMIO_SHM_BASE_LOW     0x0b8
#define VIRTIO_MMIO_SHM_BASE_HIGH    0x0bc
#define VIRTIO_MMIO_CONFIG_GENERATION 0x0fc
#define VIRTIO_MMIO_CONFIG           0x100

#define VIRTIO_MMIO_MAGIC   0x74726976      /* "virt" */
#define VIRTIO_MMIO_VENDOR  0x554d4551      /* "QEMU", as QEMU reports */

#define VIRTIO_MMIO_INT_VRING  (1u << 0)
#define VIRTIO_MMIO_INT_CONFIG (1u << 1)

typedef struct VirtIOMMIOProxy {
    VirtIODevice *vdev;
    MachineState *ms;
    VirtioMmioSlot *slot;
    MemoryRegion iomem;
    uint32_t host_features_sel;
    uint32_t guest_features_sel;
    uint32_t queue_sel;
    uint32_t shm_sel;               /* SHMSel (no regions: reads say none) */
    uint64_t guest_features;        /* being written, applied on FEATURES_OK */
    bool irqfd_mode;                /* guest notifiers bound as irqfds */
    int irq_level;                  /* unused: interrupts are edge pulses */
    bool mig_outgoing;              /* virtio-migration.c: setup ran here */
} VirtIOMMIOProxy;

/* Take a free slot and map the device's registers there. */
bool virtio_mmio_plug(VirtIOMMIOProxy *proxy, VirtIODevice *vdev,
                      MachineState *ms, Error **errp);
/* Unmap and release notifiers; safe on a half-plugged proxy. */
void virtio_mmio_unplug(VirtIOMMIOProxy *proxy);

#endif
