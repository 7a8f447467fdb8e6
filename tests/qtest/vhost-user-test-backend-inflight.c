/* SPDX-License-Identifier: MIT */
/*
 * The test vhost-user backend's inflight tracking (with opts.inflight),
 * as the vhost-user spec's "Inflight I/O tracking" describes it for split
 * rings: a blk request's head is marked inflight with a counter when it
 * is taken and cleared after its used entry is published; a ring that
 * starts on a region an earlier backend used reconciles a torn last
 * batch and resubmits what is left, oldest first; and the requests a
 * test holds back (vub_set_hold) to model a crash with I/O in flight.
 * Runs on the backend thread with b->lock held, except the public
 * accessors at the end.
 */
#include <stdlib.h>
#include <string.h>

#include "vhost-user-test-backend-int.h"

/* Ring vq's part of the inflight region, or NULL if it has none (net
 * rings never do: only blk requests are tracked). */
static VubInflightQueue *vub_inflight_queue(VubVring *vq)
{
    Vub *b = vq->b;

    if (!b->inflight_base || b->opts.type != VUB_DEVICE_BLK ||
        vq->index >= b->inflight_queues) {
        return NULL;
    }
    if (vq->num > b->inflight_qsize) {
        vub_set_error(b, "ring %u: %u entries, inflight region has %u",
                      vq->index, vq->num, b->inflight_qsize);
        return NULL;
    }
    return (VubInflightQueue *)(b->inflight_base + vq->index *
                                vub_inflight_size(1, b->inflight_qsize));
}

/* The spec's "when receiving available buffers". */
void vub_inflight_begin(VubVring *vq, uint16_t head)
{
    VubInflightQueue *q = vq->inflight;

    if (q && head < vq->num) {
        q->desc[head].counter = vq->counter++;
        q->desc[head].inflight = 1;
    }
}

/* Put head in the used ring; with a region, in the order of the spec's
 * "when supplying used buffers" (batches of one).  torn stops where a
 * backend that crashes after publishing would. */
void vub_complete(VubVring *vq, const VubRing *ring, uint16_t head,
                         uint32_t len, bool torn)
{
    VubInflightQueue *q = head < vq->num ? vq->inflight : NULL;

    if (q) {
        q->desc[head].next = q->last_batch_head;
        q->last_batch_head = head;
    }
    vub_push_used(vq, ring, head, len);
    if (q && !torn) {
        q->desc[head].inflight = 0;
        q->used_idx = vq->used_idx;
    }
}

/* "When reconnecting", step 1: used_idx behind the used ring means the
 * last backend died after publishing its last batch but before clearing
 * it; that batch is done. */
static void vub_inflight_reconcile(VubVring *vq, VubInflightQueue *q)
{
    uint16_t batch = vq->used_idx - q->used_idx;
    uint16_t i = q->last_batch_head;

    for (; batch > 0 && i < vq->num; batch--) {
        q->desc[i].inflight = 0;
        i = q->desc[i].next;
    }
    q->used_idx = vq->used_idx;
}

static int vub_resubmit_cmp(const void *a, const void *b)
{
    const VubResubmit *x = a, *y = b;

    return x->counter < y->counter ? -1 : x->counter > y->counter;
}

/* Step 2: what is still inflight is resubmitted in counter order.  Every
 * head taken is either in the used ring or inflight, so the avail ring
 * resumes after both, whatever SET_VRING_BASE said. */
static void vub_inflight_collect(VubVring *vq, VubInflightQueue *q)
{
    unsigned n = 0;

    vq->resubmit = g_new(VubResubmit, vq->num);
    vq->counter = 1;
    for (uint16_t i = 0; i < vq->num; i++) {
        if (q->desc[i].inflight) {
            vq->resubmit[n++] = (VubResubmit) { i, q->desc[i].counter };
            vq->counter = MAX(vq->counter, q->desc[i].counter + 1);
        }
    }
    qsort(vq->resubmit, n, sizeof(*vq->resubmit), vub_resubmit_cmp);
    vq->nresubmit = n;
    vq->resubmit_pos = 0;
    vq->last_avail = vq->used_idx + n;
}

/* A ring starts (used index just read from the ring). */
void vub_inflight_start(VubVring *vq)
{
    VubInflightQueue *q = vub_inflight_queue(vq);

    g_clear_pointer(&vq->resubmit, g_free);
    vq->nresubmit = vq->resubmit_pos = 0;
    vq->inflight = q;
    vq->counter = 1;
    if (!q) {
        return;
    }
    if (q->version == 0) {
        /* A new (zero-filled) region: nothing was ever taken. */
        q->version = 1;
        q->desc_num = vq->b->inflight_qsize;
        q->used_idx = vq->used_idx;
        return;
    }
    if (q->used_idx != vq->used_idx) {
        vub_inflight_reconcile(vq, q);
    }
    vub_inflight_collect(vq, q);
}

unsigned vub_inflight_count(const VubVring *vq)
{
    unsigned n = 0;

    for (uint16_t i = 0; vq->inflight && i < vq->num; i++) {
        n += vq->inflight->desc[i].inflight != 0;
    }
    return n;
}

/* --- holding requests (public accessors, any thread) -------------------- */

void vub_set_hold(Vub *b, bool hold)
{
    g_mutex_lock(&b->lock);
    b->hold = hold;
    g_mutex_unlock(&b->lock);
}

typedef struct VubHeldArg {
    unsigned idx;
    unsigned n;
} VubHeldArg;

static bool vub_pred_held(Vub *b, const void *opaque)
{
    const VubHeldArg *a = opaque;

    return b->vq[a->idx].nheld >= a->n;
}

bool vub_wait_held(Vub *b, unsigned idx, unsigned n, int timeout_ms)
{
    VubHeldArg a = { idx, n };

    g_assert(idx < VUB_MAX_QUEUES);
    return vub_wait_until(b, vub_pred_held, &a, timeout_ms);
}

/* Remove head from vq's held requests; false if it is not there. */
static bool vub_unhold(VubVring *vq, uint16_t head)
{
    for (unsigned i = 0; i < vq->nheld; i++) {
        if (vq->held[i] == head) {
            memmove(&vq->held[i], &vq->held[i + 1],
                    (vq->nheld - i - 1) * sizeof(vq->held[0]));
            vq->nheld--;
            return true;
        }
    }
    return false;
}

/* On the caller's thread with b->lock held, as a kick would be. */
bool vub_complete_held(Vub *b, unsigned idx, uint16_t head, bool torn)
{
    VubVring *vq;
    VubRing ring;
    bool ok;

    g_assert(idx < VUB_MAX_QUEUES);
    g_mutex_lock(&b->lock);
    vq = &b->vq[idx];
    ok = vq->started && vub_ring_map(vq, &ring) && vub_unhold(vq, head);
    if (ok) {
        vub_complete(vq, &ring, head, vub_blk_request(vq, &ring, head),
                     torn);
        vub_vring_notify(vq, &ring);
        g_cond_broadcast(&b->cond);
    }
    g_mutex_unlock(&b->lock);
    return ok;
}
