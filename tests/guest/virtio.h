/* SPDX-License-Identifier: MIT */
/*
 * A small virtio-mmio (version 2, "modern", virtio 1.x §4.2) driver core
 * with split virtqueues (§2.7), shared by the device drivers of the test
 * guest (virtio-blk.c, virtio-net.c).
 *
 * Typical use:
 *
 *   struct virtio_dev dev;
 *   struct virtq vq;
 *
 *   virtio_find(VIRTIO_ID_BLOCK, 0, &dev);    device from virtio_mmio.device=
 *   virtio_start(&dev, wanted_features);       reset, ACK|DRIVER, features,
 *                                              FEATURES_OK, IRQ handler
 *   virtq_setup(&dev, &vq, 0, 0);              queue 0, QueueReady = 1
 *   virtio_driver_ok(&dev);
 *   virtq_add(&vq, bufs, n_out, n_in, cookie); descriptor chain + avail ring
 *   virtq_kick(&vq);                           QueueNotify
 *   virtq_wait_timeout(&vq, us);               sleep until used->idx moves
 *   virtq_get_used(&vq, &cookie, &len);        take the completion
 *
 * Everything runs with interrupts disabled except inside the waits, which
 * check the used ring first and then sleep in wait_for_interrupt(), so a
 * completion cannot be missed.  The interrupt handler only reads
 * InterruptStatus, writes InterruptACK and counts.  Guest memory is
 * identity-mapped, so buffer addresses are virtual = physical.
 */
#ifndef GUEST_VIRTIO_H
#define GUEST_VIRTIO_H

#include "guest.h"

/* virtio-mmio registers (§4.2.2), offsets from the device base. */
#define VIRTIO_MMIO_MAGIC_VALUE         0x000
#define VIRTIO_MMIO_VERSION             0x004
#define VIRTIO_MMIO_DEVICE_ID           0x008
#define VIRTIO_MMIO_VENDOR_ID           0x00c
#define VIRTIO_MMIO_DEVICE_FEATURES     0x010
#define VIRTIO_MMIO_DEVICE_FEATURES_SEL 0x014
#define VIRTIO_MMIO_DRIVER_FEATURES     0x020
#define VIRTIO_MMIO_DRIVER_FEATURES_SEL 0x024
#define VIRTIO_MMIO_QUEUE_SEL           0x030
#define VIRTIO_MMIO_QUEUE_NUM_MAX       0x034
#define VIRTIO_MMIO_QUEUE_NUM           0x038
#define VIRTIO_MMIO_QUEUE_READY         0x044
#define VIRTIO_MMIO_QUEUE_NOTIFY        0x050
#define VIRTIO_MMIO_INTERRUPT_STATUS    0x060
#define VIRTIO_MMIO_INTERRUPT_ACK       0x064
#define VIRTIO_MMIO_STATUS              0x070
#define VIRTIO_MMIO_QUEUE_DESC_LOW      0x080
#define VIRTIO_MMIO_QUEUE_DESC_HIGH     0x084
#define VIRTIO_MMIO_QUEUE_DRIVER_LOW    0x090
#define VIRTIO_MMIO_QUEUE_DRIVER_HIGH   0x094
#define VIRTIO_MMIO_QUEUE_DEVICE_LOW    0x0a0
#define VIRTIO_MMIO_QUEUE_DEVICE_HIGH   0x0a4
#define VIRTIO_MMIO_CONFIG_GENERATION   0x0fc
#define VIRTIO_MMIO_CONFIG              0x100

#define VIRTIO_MMIO_MAGIC               0x74726976u   /* "virt" */
#define VIRTIO_MMIO_VERSION_MODERN      2

#define VIRTIO_MMIO_INT_VRING           0x1    /* used buffer notification */
#define VIRTIO_MMIO_INT_CONFIG          0x2    /* configuration change */

/* Device status bits (§2.1). */
#define VIRTIO_STATUS_ACKNOWLEDGE       0x01
#define VIRTIO_STATUS_DRIVER            0x02
#define VIRTIO_STATUS_DRIVER_OK         0x04
#define VIRTIO_STATUS_FEATURES_OK       0x08
#define VIRTIO_STATUS_NEEDS_RESET       0x40
#define VIRTIO_STATUS_FAILED            0x80

/* Device-independent feature bits (§6). */
#define VIRTIO_F_VERSION_1              32

/* Device IDs (§5). */
#define VIRTIO_ID_NET                   1
#define VIRTIO_ID_BLOCK                 2

#define VIRTIO_BIT(n)                   (1ull << (n))

/* Split virtqueue layout (§2.7). */
#define VIRTQ_DESC_F_NEXT               1
#define VIRTQ_DESC_F_WRITE              2      /* device writes the buffer */
#define VIRTQ_USED_F_NO_NOTIFY          1
#define VIRTQ_AVAIL_F_NO_INTERRUPT      1      /* driver: no used-buffer IRQ */

struct virtq_desc {
    uint64_t addr;
    uint32_t len;
    uint16_t flags;
    uint16_t next;
};

struct virtq_avail {
    uint16_t flags;
    uint16_t idx;
    uint16_t ring[];        /* then used_event (EVENT_IDX only; unused) */
};

struct virtq_used_elem {
    uint32_t id;            /* head of the completed chain */
    uint32_t len;           /* bytes the device wrote */
};

struct virtq_used {
    uint16_t flags;
    uint16_t idx;
    struct virtq_used_elem ring[];
};

/*
 * Every queue lives in one static, zeroed, page-aligned 4 KiB page:
 * descriptors at 0 (16 bytes each), the available ring at 2048, the used
 * ring at 2560.  That bounds the queue size at 128 entries; VIRTQ_POOL
 * queues exist in total (all devices together).
 */
#define VIRTQ_MAX_SIZE    128
#define VIRTQ_POOL        16
#define VIRTQ_PAGE_SIZE   4096
#define VIRTQ_AVAIL_OFF   2048
#define VIRTQ_USED_OFF    2560

struct virtio_dev {
    uint64_t base;               /* MMIO base (identity-mapped) */
    uint32_t irq;                /* IOAPIC pin from virtio_mmio.device= */
    uint32_t device_id;
    uint32_t vendor_id;
    uint64_t device_features;    /* offered */
    uint64_t features;           /* negotiated (offered & wanted) */
    bool irq_registered;
    /* Written by the interrupt handler. */
    volatile unsigned irq_count;        /* handler invocations */
    volatile unsigned irq_vring;        /* ... with INT_VRING set */
    volatile unsigned irq_config;       /* ... with INT_CONFIG set */
    volatile unsigned irq_empty;        /* ... with InterruptStatus 0 */
};

struct virtq {
    struct virtio_dev *dev;
    unsigned index;              /* queue number on the device */
    uint16_t num;                /* entries (power of two) */
    uint16_t num_free;           /* free descriptors */
    uint16_t free_head;          /* first free descriptor */
    uint16_t avail_idx;          /* next avail->idx value to publish */
    uint16_t last_used;          /* used->idx consumed so far */
    struct virtq_desc *desc;
    struct virtq_avail *avail;
    volatile struct virtq_used *used;
    void *cookie[VIRTQ_MAX_SIZE];    /* per chain head, for virtq_get_used */
    unsigned kicks;              /* QueueNotify writes */
    unsigned bad_used;           /* used elements with an invalid id */
};

/* One buffer of a descriptor chain. */
struct virtq_buf {
    const void *addr;
    uint32_t len;
};

/* Register access (the device is little-endian, like x86). */
static inline uint32_t virtio_read32(const struct virtio_dev *d, unsigned reg)
{
    return *(volatile uint32_t *)(d->base + reg);
}

static inline void virtio_write32(const struct virtio_dev *d, unsigned reg,
                                  uint32_t v)
{
    *(volatile uint32_t *)(d->base + reg) = v;
}

static inline bool virtio_has_feature(const struct virtio_dev *d, unsigned bit)
{
    return (d->features & VIRTIO_BIT(bit)) != 0;
}

/*
 * Fill *d for the nth (0-based) virtio-mmio device with the given device
 * ID among the virtio_mmio.device= entries, checking magic and version 2.
 * Entries with device ID 0 (placeholders) are skipped; a legacy (version
 * 1) device is reported and skipped.  Returns false if there is none.
 */
bool virtio_find(uint32_t device_id, unsigned nth, struct virtio_dev *d);

/*
 * Reset the device, set ACKNOWLEDGE|DRIVER, negotiate features (the
 * device's offer & wanted; VIRTIO_F_VERSION_1 is always wanted and must
 * be offered), set FEATURES_OK and check that it stuck, and register the
 * edge-triggered interrupt handler on d->irq.  Returns 0, or -1 after
 * printing the reason (the device is then marked FAILED).
 */
int virtio_start(struct virtio_dev *d, uint64_t wanted);

/*
 * Set up queue `index` with min(QueueNumMax, max_size or VIRTQ_MAX_SIZE)
 * entries rounded down to a power of two, in a page of the static pool,
 * and set QueueReady.  Call between virtio_start() and virtio_driver_ok().
 * Returns 0, or -1 after printing the reason.
 */
int virtq_setup(struct virtio_dev *d, struct virtq *vq, unsigned index,
                unsigned max_size);

/* Set DRIVER_OK; returns -1 (and prints) if the device set NEEDS_RESET. */
int virtio_driver_ok(struct virtio_dev *d);

/* Write FAILED to the status (after a fatal driver error). */
void virtio_fail(struct virtio_dev *d);

/* Reset the device (status 0, wait for it to read back 0) and unregister
 * its interrupt handler.  Queue pages are not returned to the pool. */
void virtio_reset(struct virtio_dev *d);

/* Device configuration space, read with ConfigGeneration retries for the
 * 64-bit case (two 32-bit accesses, as §4.2.2.2 requires). */
uint8_t virtio_config_read8(const struct virtio_dev *d, unsigned off);
uint16_t virtio_config_read16(const struct virtio_dev *d, unsigned off);
uint32_t virtio_config_read32(const struct virtio_dev *d, unsigned off);
uint64_t virtio_config_read64(const struct virtio_dev *d, unsigned off);

/*
 * Add a chain of n_out device-readable buffers followed by n_in
 * device-writable ones and publish its head in the available ring (no
 * notification: call virtq_kick()).  cookie (not NULL) is handed back by
 * virtq_get_used().  Returns 0, or -1 if there are not enough free
 * descriptors.
 */
int virtq_add(struct virtq *vq, const struct virtq_buf *bufs,
              unsigned n_out, unsigned n_in, void *cookie);

/* Notify the device (QueueNotify = index) unless it set NO_NOTIFY. */
void virtq_kick(struct virtq *vq);

/*
 * Ask the device not to interrupt for this queue's used buffers (a hint:
 * VIRTQ_AVAIL_F_NO_INTERRUPT, §2.7.7), or to interrupt again.  After
 * enabling, check virtq_has_used() before sleeping: a buffer used while
 * they were off raises no interrupt.
 */
static inline void virtq_irq_disable(struct virtq *vq)
{
    *(volatile uint16_t *)&vq->avail->flags = VIRTQ_AVAIL_F_NO_INTERRUPT;
}

static inline void virtq_irq_enable(struct virtq *vq)
{
    *(volatile uint16_t *)&vq->avail->flags = 0;
    __asm__ volatile("mfence" : : : "memory");  /* flags before used->idx */
}

/* True if the device has returned a chain not yet taken. */
static inline bool virtq_has_used(const struct virtq *vq)
{
    return vq->used->idx != vq->last_used;
}

/*
 * Take one completed chain: returns 1 with *cookie and *len (bytes written
 * by the device) set and its descriptors freed, 0 if there is none, -1 if
 * the device returned an invalid head (counted in vq->bad_used; the entry
 * is skipped).
 */
int virtq_get_used(struct virtq *vq, void **cookie, uint32_t *len);

/*
 * Sleep until done(arg) is true, checking it with interrupts disabled
 * before each wait_for_interrupt().  The caller arms the deadline with
 * timer_start_us() (and stops it after).  Returns 0; -1 if the timer
 * expired with done(arg) still false; -2 if done(arg) became true but
 * the deadline had passed (typically: the device completed and its
 * interrupt never arrived, so only the timer woke us).
 */
int virtio_wait(bool (*done)(void *arg), void *arg);

/* virtio_wait() for one queue's used ring; the caller arms the timer.
 * Same return values. */
int virtq_wait(struct virtq *vq);

/* virtq_wait() with its own timer of timeout_us (not armed at all when a
 * completion is already there). */
int virtq_wait_timeout(struct virtq *vq, uint64_t timeout_us);

/*
 * Wait up to timeout_us for d's first interrupt (irq_count > 0).  A guest
 * that found every completion in the used ring before it slept never
 * opened an interrupt window: its interrupts are still pending, and this
 * lets them in.  0 once one arrived, -1 if none did.
 */
int virtio_wait_first_irq(struct virtio_dev *d, uint64_t timeout_us);

#endif
