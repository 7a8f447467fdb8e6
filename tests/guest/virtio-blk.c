/* SPDX-License-Identifier: MIT */
/*
 * virtio-blk driver for the test guest (see virtio-blk.h).  A request is
 * a chain of the 16-byte header (device-readable), the data buffer
 * (device-readable for OUT, device-writable for IN and GET_ID, absent for
 * FLUSH) and the 1-byte status (device-writable).
 */
#include "virtio-blk.h"

int virtio_blk_init(struct virtio_blk *b, unsigned nth, unsigned want_queues)
{
    uint64_t wanted = VIRTIO_BIT(VIRTIO_BLK_F_FLUSH) |
                      VIRTIO_BIT(VIRTIO_BLK_F_RO);
    unsigned q;

    memset(b, 0, sizeof(*b));
    if (!virtio_find(VIRTIO_ID_BLOCK, nth, &b->dev)) {
        return -1;
    }
    if (want_queues == 0) {
        want_queues = 1;
    }
    if (want_queues > 1) {
        wanted |= VIRTIO_BIT(VIRTIO_BLK_F_MQ);
    }
    if (virtio_start(&b->dev, wanted) < 0) {
        return -2;
    }
    printf("virtio-blk: 0x%llx irq %u, features 0x%llx of 0x%llx\n",
           (unsigned long long)b->dev.base, b->dev.irq,
           (unsigned long long)b->dev.features,
           (unsigned long long)b->dev.device_features);

    b->capacity = virtio_config_read64(&b->dev, VIRTIO_BLK_CFG_CAPACITY);
    b->num_queues = 1;
    if (virtio_has_feature(&b->dev, VIRTIO_BLK_F_MQ)) {
        b->num_queues = virtio_config_read16(&b->dev,
                                             VIRTIO_BLK_CFG_NUM_QUEUES);
        if (b->num_queues == 0) {
            b->num_queues = 1;
        }
    }
    b->nqueues = want_queues;
    if (b->nqueues > b->num_queues) {
        b->nqueues = b->num_queues;
    }
    if (b->nqueues > VIRTIO_BLK_MAX_QUEUES) {
        b->nqueues = VIRTIO_BLK_MAX_QUEUES;
    }
    for (q = 0; q < b->nqueues; q++) {
        if (virtq_setup(&b->dev, &b->vq[q], q, 0) < 0) {
            virtio_fail(&b->dev);
            return -2;
        }
    }
    if (virtio_driver_ok(&b->dev) < 0) {
        return -2;
    }
    printf("virtio-blk: capacity %llu sectors\n",
           (unsigned long long)b->capacity);
    return 0;
}

int virtio_blk_submit(struct virtio_blk *b, struct virtio_blk_req *r,
                      unsigned q, uint32_t type, uint64_t sector,
                      void *data, uint32_t len)
{
    struct virtq_buf bufs[3];
    unsigned n = 0, n_out;

    if (q >= b->nqueues) {
        return -1;
    }
    r->hdr.type = type;
    r->hdr.reserved = 0;
    r->hdr.sector = sector;
    r->status = VIRTIO_BLK_S_NONE;
    r->queue = q;
    r->used_len = 0;

    bufs[n++] = (struct virtq_buf){ &r->hdr, sizeof(r->hdr) };
    if (type == VIRTIO_BLK_T_OUT) {
        bufs[n++] = (struct virtq_buf){ data, len };
    }
    n_out = n;
    if (type != VIRTIO_BLK_T_OUT && type != VIRTIO_BLK_T_FLUSH) {
        bufs[n++] = (struct virtq_buf){ data, len };
    }
    bufs[n++] = (struct virtq_buf){ (const void *)&r->status, 1 };
    if (virtq_add(&b->vq[q], bufs, n_out, n - n_out, r) < 0) {
        return -1;
    }
    b->inflight++;
    return 0;
}

void virtio_blk_kick(struct virtio_blk *b)
{
    unsigned q;

    for (q = 0; q < b->nqueues; q++) {
        if (b->kicked_idx[q] != b->vq[q].avail_idx) {
            b->kicked_idx[q] = b->vq[q].avail_idx;
            virtq_kick(&b->vq[q]);
        }
    }
}

static bool virtio_blk_any_used(void *arg)
{
    struct virtio_blk *b = arg;
    unsigned q;

    for (q = 0; q < b->nqueues; q++) {
        if (virtq_has_used(&b->vq[q])) {
            return true;
        }
    }
    return false;
}

int virtio_blk_wait(struct virtio_blk *b)
{
    if (b->nqueues == 1) {
        return virtq_wait(&b->vq[0]);
    }
    return virtio_wait(virtio_blk_any_used, b);
}

int virtio_blk_reap(struct virtio_blk *b, struct virtio_blk_req **r)
{
    unsigned q;

    for (q = 0; q < b->nqueues; q++) {
        void *cookie;
        uint32_t len;
        int rc = virtq_get_used(&b->vq[q], &cookie, &len);

        if (rc < 0) {
            return -1;
        }
        if (rc > 0) {
            *r = cookie;
            (*r)->used_len = len;
            b->inflight--;
            return 1;
        }
    }
    return 0;
}

int virtio_blk_request_sync(struct virtio_blk *b, unsigned q, uint32_t type,
                            uint64_t sector, void *data, uint32_t len,
                            uint64_t timeout_us)
{
    struct virtio_blk_req req, *done;
    int rc;

    if (b->inflight || virtio_blk_submit(b, &req, q, type, sector,
                                         data, len) < 0) {
        return -2;
    }
    virtio_blk_kick(b);
    if (virtq_wait_timeout(&b->vq[q], timeout_us) < 0) {
        virtio_reset(&b->dev);          /* req is on our stack */
        return -1;
    }
    rc = virtio_blk_reap(b, &done);
    if (rc <= 0 || done != &req) {
        return -2;
    }
    return req.status;
}
