/* SPDX-License-Identifier: MIT */
/*
 * Verified disk I/O for the soak tests that play the guest driver under
 * qtest (virtio-mmio-driver.h) against test backends
 * (vhost-user-test-backend.h): random 4 KiB reads and writes to distinct
 * slots of a small disk, with a model of what each slot holds, the
 * counts the backends must have served, and the checks a user would
 * make: every request completes exactly once, with status OK, a read
 * returns the slot's last write, nothing is served twice.
 *
 * The disk and the per-sector served counters belong to this object and
 * are handed to every backend through soak_io_options(), so that all the
 * backends of a test (restarted ones, both sides of a migration) serve
 * one disk, as one image file would be.  Requests stay pending until
 * reaped, across backend restarts and migrations; a slot has at most one
 * request in flight.
 */
#ifndef TESTS_SOAK_SOAK_BLK_IO_H
#define TESTS_SOAK_SOAK_BLK_IO_H

#include "vhost-user-test-backend.h"
#include "virtio-mmio-driver.h"

#define SOAK_IO_DISK_SIZE   (4 * 1024 * 1024)
#define SOAK_IO_REQ_LEN     4096
#define SOAK_IO_SLOTS       (SOAK_IO_DISK_SIZE / SOAK_IO_REQ_LEN)
#define SOAK_IO_SECTORS     (SOAK_IO_DISK_SIZE / 512)
#define SOAK_IO_MAX_PENDING 32      /* 3 descriptors each: < 128 */

typedef struct SoakReq {
    QVirtioBlkReq r;
    unsigned slot;
    uint32_t stamp;             /* written, or expected by a read */
} SoakReq;

typedef struct SoakIo {
    GRand *rand;                /* the caller's */
    uint8_t *disk;              /* shared by every backend */
    uint32_t *served;           /* what the backends served, per sector */
    uint32_t *want_served;      /* what they must have served */
    uint32_t *stamp;            /* per slot: the last write done, 0: none */
    bool *busy;                 /* per slot: a request in flight */
    uint32_t next_stamp;
    SoakReq pending[SOAK_IO_MAX_PENDING];
    unsigned npending;
    uint64_t reads, writes;     /* submitted so far */
} SoakIo;

void soak_io_init(SoakIo *io, GRand *rand);
void soak_io_free(SoakIo *io);
/* Backend options serving io's disk and counting into io's counters
 * (blk defaults otherwise; path set by the caller). */
void soak_io_options(SoakIo *io, VubOptions *o);

/* Put n more requests in vq (buffers from a), half of them writes, not
 * kicked; n is cut to what SOAK_IO_MAX_PENDING leaves. */
void soak_io_submit(SoakIo *io, QVirtQueue *vq, QGuestAlloc *a,
                    unsigned n);
/* Take used entries until at most `left` requests are pending; each must
 * be pending (none completes twice) and be right.  Fails the test, with
 * `when` in the message, if that takes more than timeout_ms. */
void soak_io_reap(SoakIo *io, QVirtQueue *vq, unsigned left,
                  int timeout_ms, const char *when);
/* The backends served exactly what was asked (reaped or not). */
void soak_io_check_served(SoakIo *io, const char *when);
/* The disk holds every slot's last write (nothing may be pending). */
void soak_io_check_disk(SoakIo *io);

#endif
