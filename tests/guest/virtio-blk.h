/* SPDX-License-Identifier: MIT */
/*
 * virtio-blk driver of the test guest (virtio 1.x §5.2) on top of
 * virtio.c.  Requests are asynchronous: submit any number (each takes 3
 * descriptors, 2 for a flush), kick, then wait and reap completions from
 * all queues; virtio_blk_request_sync() does one request end to end.
 */
#ifndef GUEST_VIRTIO_BLK_H
#define GUEST_VIRTIO_BLK_H

#include "virtio.h"

/* Feature bits (§5.2.3). */
#define VIRTIO_BLK_F_SIZE_MAX   1
#define VIRTIO_BLK_F_SEG_MAX    2
#define VIRTIO_BLK_F_GEOMETRY   4
#define VIRTIO_BLK_F_RO         5
#define VIRTIO_BLK_F_BLK_SIZE   6
#define VIRTIO_BLK_F_FLUSH      9
#define VIRTIO_BLK_F_TOPOLOGY   10
#define VIRTIO_BLK_F_CONFIG_WCE 11
#define VIRTIO_BLK_F_MQ         12

/* Configuration space offsets (§5.2.4). */
#define VIRTIO_BLK_CFG_CAPACITY   0     /* le64, 512-byte sectors */
#define VIRTIO_BLK_CFG_NUM_QUEUES 34    /* le16, with VIRTIO_BLK_F_MQ */

/* Request types and status values (§5.2.6). */
#define VIRTIO_BLK_T_IN         0
#define VIRTIO_BLK_T_OUT        1
#define VIRTIO_BLK_T_FLUSH      4
#define VIRTIO_BLK_T_GET_ID     8
#define VIRTIO_BLK_S_OK         0
#define VIRTIO_BLK_S_IOERR      1
#define VIRTIO_BLK_S_UNSUPP     2
#define VIRTIO_BLK_S_NONE       0xff    /* set before submit: never written */

#define VIRTIO_BLK_SECTOR_SIZE  512
#define VIRTIO_BLK_ID_BYTES     20
#define VIRTIO_BLK_MAX_QUEUES   4

struct virtio_blk_req {
    struct {                    /* device-readable header */
        uint32_t type;
        uint32_t reserved;
        uint64_t sector;
    } hdr;
    volatile uint8_t status;    /* device-writable */
    /* Driver bookkeeping. */
    unsigned queue;
    uint32_t used_len;          /* bytes the device reported written */
    void *opaque;               /* for the caller */
};

struct virtio_blk {
    struct virtio_dev dev;
    uint64_t capacity;          /* sectors */
    unsigned nqueues;           /* queues in use */
    unsigned num_queues;        /* offered in config (1 without MQ) */
    struct virtq vq[VIRTIO_BLK_MAX_QUEUES];
    uint16_t kicked_idx[VIRTIO_BLK_MAX_QUEUES];
    unsigned inflight;
};

/*
 * Find the nth virtio-blk device, negotiate VERSION_1 | FLUSH | RO (and
 * MQ when want_queues > 1), read the capacity, set up
 * min(want_queues, num_queues, VIRTIO_BLK_MAX_QUEUES) queues and set
 * DRIVER_OK.  Prints "virtio-blk: ..." lines including
 * "virtio-blk: capacity <n> sectors".  Returns 0, -1 if there is no such
 * device, -2 if initialisation failed.
 */
int virtio_blk_init(struct virtio_blk *b, unsigned nth, unsigned want_queues);

/*
 * Queue a request on queue q (not yet notified: virtio_blk_kick()).
 * type IN/GET_ID: len bytes at data are written by the device; OUT: read;
 * FLUSH: data is ignored.  Returns 0, or -1 if the queue is full.
 */
int virtio_blk_submit(struct virtio_blk *b, struct virtio_blk_req *r,
                      unsigned q, uint32_t type, uint64_t sector,
                      void *data, uint32_t len);

/* Notify every queue that has requests the device was not told about. */
void virtio_blk_kick(struct virtio_blk *b);

/* Sleep until any queue has a completion; the caller arms the timer.
 * Returns 0, or -1/-2 as virtio_wait(). */
int virtio_blk_wait(struct virtio_blk *b);

/* Take one completion from any queue: 1 (*r set), 0 none, -1 the device
 * returned an invalid descriptor id. */
int virtio_blk_reap(struct virtio_blk *b, struct virtio_blk_req **r);

/* Submit, kick and wait (own timer of timeout_us) for one request, with
 * no other request in flight.  Returns its status (VIRTIO_BLK_S_*), -1 on
 * timeout or a completion seen only after it (the device is reset then),
 * -2 on a queue or ring error. */
int virtio_blk_request_sync(struct virtio_blk *b, unsigned q, uint32_t type,
                            uint64_t sector, void *data, uint32_t len,
                            uint64_t timeout_us);

#endif
