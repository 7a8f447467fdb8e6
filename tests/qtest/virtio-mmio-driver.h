/* SPDX-License-Identifier: MIT */
/*
 * A virtio-mmio driver for tests, over libqtest: the test plays the guest
 * driver of a device in one of kvmini's virtio-mmio slots (base
 * 0xfeb00000 + 0x200 * slot, GSI 5 + slot).  It probes, resets and
 * negotiates features (VERSION_1 always), sets up split virtqueues in
 * guest RAM taken from a bump allocator, adds descriptor chains, kicks,
 * waits for used entries and for interrupts, and has helpers for
 * virtio-blk requests.
 *
 * Interrupts: probing turns on qtest interception, and every command this
 * driver sends goes through a path that counts "IRQ raise <gsi>" lines for
 * the device's GSI (under qtest an irqfd is a raise/lower pulse, so the
 * level alone would miss it).  Plain libqtest calls made by the test
 * consume such lines without counting them: between a kick and
 * qvirtio_wait_irq() use only this driver's functions.
 *
 * Functions fail the test (g_assert / g_error) on anything unexpected,
 * except the wait functions, which return false on timeout.  Not
 * thread-safe (one QTestState, one thread).
 */
#ifndef TESTS_QTEST_VIRTIO_MMIO_DRIVER_H
#define TESTS_QTEST_VIRTIO_MMIO_DRIVER_H

#include <stdbool.h>
#include <stdint.h>

#include "libqtest.h"

#define QVIRTIO_MMIO_BASE       0xfeb00000ULL
#define QVIRTIO_MMIO_SLOT_SIZE  0x200
#define QVIRTIO_MMIO_GSI_BASE   5
#define QVIRTIO_TIMEOUT_MS      5000

/* A bump allocator for guest-physical memory; nothing is freed except by
 * rewinding to a mark. */
typedef struct QGuestAlloc {
    uint64_t start, next, end;
} QGuestAlloc;

void qguest_alloc_init(QGuestAlloc *a, uint64_t start, uint64_t end);
/* size bytes aligned to align (a power of two); fails the test if full. */
uint64_t qguest_alloc(QGuestAlloc *a, uint64_t size, uint64_t align);

typedef struct QVirtioDevice {
    QTestState *qts;
    unsigned slot;
    uint64_t base;
    unsigned gsi;
    uint32_t device_id;
    uint64_t host_features;     /* offered (read by qvirtio_negotiate) */
    uint64_t features;          /* accepted */
    unsigned irqs;              /* "IRQ raise <gsi>" lines seen */
    unsigned irqs_taken;        /* consumed by qvirtio_wait_irq() */
} QVirtioDevice;

typedef struct QVirtQueue {
    QVirtioDevice *dev;
    unsigned index;
    uint16_t num;
    uint64_t desc, avail, used;     /* guest-physical */
    uint16_t avail_idx;             /* next avail index to publish */
    uint16_t last_used;             /* next used entry to consume */
    uint16_t free_head;
    uint16_t num_free;
    uint16_t *next;                 /* host copy of each desc's next */
    uint16_t *chain_len;            /* descriptors in the chain at head */
} QVirtQueue;

typedef struct QVirtqBuf {
    uint64_t gpa;
    uint32_t len;
    bool write;                     /* device-writable */
} QVirtqBuf;

/* --- device --------------------------------------------------------------- */

uint64_t qvirtio_mmio_slot_base(unsigned slot);
unsigned qvirtio_mmio_slot_gsi(unsigned slot);
/* Fill d for the device in slot and turn on IRQ interception; false if
 * the slot holds no virtio-mmio v2 device (magic, version, device id). */
bool qvirtio_mmio_probe(QVirtioDevice *d, QTestState *qts, unsigned slot);

uint32_t qvirtio_readl(QVirtioDevice *d, uint32_t offset);
void qvirtio_writel(QVirtioDevice *d, uint32_t offset, uint32_t value);
uint8_t qvirtio_config_readb(QVirtioDevice *d, uint32_t offset);
uint16_t qvirtio_config_readw(QVirtioDevice *d, uint32_t offset);
uint32_t qvirtio_config_readl(QVirtioDevice *d, uint32_t offset);
uint64_t qvirtio_config_readq(QVirtioDevice *d, uint32_t offset);
void qvirtio_config_writeb(QVirtioDevice *d, uint32_t offset, uint8_t v);

/* Guest memory through the IRQ-counting path. */
void qvirtio_memwrite(QVirtioDevice *d, uint64_t gpa, const void *buf,
                      size_t len);
void qvirtio_memread(QVirtioDevice *d, uint64_t gpa, void *buf, size_t len);

uint8_t qvirtio_get_status(QVirtioDevice *d);
void qvirtio_set_status(QVirtioDevice *d, uint8_t status);
/* Write status 0 and check it reads back 0. */
void qvirtio_reset(QVirtioDevice *d);
/* Both feature words the device offers. */
uint64_t qvirtio_get_features(QVirtioDevice *d);
/* ACKNOWLEDGE | DRIVER, accept (offered & wanted) | VERSION_1, then
 * FEATURES_OK; true if the device kept FEATURES_OK.  Sets d->features. */
bool qvirtio_negotiate(QVirtioDevice *d, uint64_t wanted);
/* Set DRIVER_OK. */
void qvirtio_driver_ok(QVirtioDevice *d);

/* InterruptStatus / InterruptACK. */
uint32_t qvirtio_isr(QVirtioDevice *d);
void qvirtio_isr_ack(QVirtioDevice *d, uint32_t bits);
/* Drain pending IRQ lines; returns d->irqs. */
unsigned qvirtio_poll_irqs(QVirtioDevice *d);
/* Wait for an interrupt not yet taken; takes all that arrived. */
bool qvirtio_wait_irq(QVirtioDevice *d, int timeout_ms);

/* --- virtqueues ----------------------------------------------------------- */

/* Set up queue index with num entries (0: QueueNumMax) in memory from a,
 * zeroed, and mark it ready.  Free with qvirtqueue_free(). */
QVirtQueue *qvirtqueue_setup(QVirtioDevice *d, QGuestAlloc *a,
                             unsigned index, uint16_t num);
void qvirtqueue_free(QVirtQueue *vq);
/* Write a chain of n descriptors (readable ones first) and publish it in
 * the avail ring; returns its head.  Fails the test if the ring is full. */
uint16_t qvirtqueue_add(QVirtQueue *vq, const QVirtqBuf *bufs, unsigned n);
/* QueueNotify for this queue. */
void qvirtqueue_kick(QVirtQueue *vq);
/* Take the next used entry if there is one. */
bool qvirtqueue_get_used(QVirtQueue *vq, uint32_t *head, uint32_t *len);
/* Poll for the next used entry up to timeout_ms. */
bool qvirtqueue_wait_used(QVirtQueue *vq, uint32_t *head, uint32_t *len,
                          int timeout_ms);
/* The used index as the device last wrote it. */
uint16_t qvirtqueue_used_idx(QVirtQueue *vq);

/* --- virtio-blk ----------------------------------------------------------- */

typedef struct QVirtioBlkReq {
    uint16_t head;
    uint32_t type;
    uint64_t hdr_gpa, data_gpa, status_gpa;
    size_t len;
} QVirtioBlkReq;

/* Put a request in vq (buffers from a): header, data in nsegs equal
 * descriptors (0 = one; ignored when len is 0), status.  For
 * VIRTIO_BLK_T_OUT, out is written to the data buffer first.  Does not
 * kick. */
QVirtioBlkReq qvirtio_blk_submit(QVirtQueue *vq, QGuestAlloc *a,
                                 uint32_t type, uint64_t sector,
                                 const void *out, size_t len,
                                 unsigned nsegs);
/* Wait for req (the next used entry must be it), copy the data to in
 * (may be NULL) for reads and return the status byte; -1 on timeout. */
int qvirtio_blk_complete(QVirtQueue *vq, const QVirtioBlkReq *req,
                         void *in, int timeout_ms);
/* submit + kick + complete, with one data descriptor. */
int qvirtio_blk_rw(QVirtQueue *vq, QGuestAlloc *a, uint32_t type,
                   uint64_t sector, void *buf, size_t len);

#endif
