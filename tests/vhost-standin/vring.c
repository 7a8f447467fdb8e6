/* SPDX-License-Identifier: MIT */
/*
 * Split virtqueues as drivers/vhost/vhost.c walks them: the ring fields at
 * the VMM's virtual addresses, descriptor buffers through the memory
 * table, indirect tables read in order (the kernel reads an indirect
 * table sequentially and only uses `next` to see whether a chain goes on),
 * used-ring writes logged at log_addr when the ring logs, EVENT_IDX and
 * NOTIFY_ON_EMPTY for the call decision.  Little-endian only (VERSION_1 or
 * a little-endian legacy guest on this x86-64 host).
 */
#include "standin.h"

#include <errno.h>
#include <linux/virtio_ring.h>
#include <stddef.h>
#include <string.h>
#include <unistd.h>

bool standin_vq_has(const StandinVring *vq, unsigned bit)
{
    return vq->acked_features & (1ULL << bit);
}

size_t standin_vq_used_size(const StandinVring *vq)
{
    size_t event = standin_vq_has(vq, F_EVENT_IDX) ? 2 : 0;

    return 4 + sizeof(struct vring_used_elem) * vq->num + event;
}

static uint64_t used_event_addr(const StandinVring *vq)
{
    return vq->avail + 4 + 2ULL * vq->num;
}

static uint64_t avail_event_offset(const StandinVring *vq)
{
    return 4 + sizeof(struct vring_used_elem) * vq->num;
}

/* vq_err(): tell the VMM through the error eventfd. */
void standin_vq_error(StandinDevice *d, StandinVring *vq, const char *why)
{
    uint64_t one = 1;

    __atomic_add_fetch(&d->stats.errors, 1, __ATOMIC_RELAXED);
    standin_trace(d->sup, "dev%u vq_err index=%d reason=\"%s\"", d->id,
                  (int)(vq - d->vq), why);
    if (vq->err_fd >= 0 && write(vq->err_fd, &one, 8) < 0) {
        /* nothing more to tell */
    }
}

/* log_used(); signal says whether the kernel pokes the log eventfd after
 * this write (it does after flags, avail_event and idx, not entries). */
static int log_used(StandinDevice *d, StandinVring *vq, uint64_t off,
                    uint64_t len, bool signal)
{
    uint64_t one = 1;
    int r;

    if (!vq->log_used) {
        return 0;
    }
    r = standin_log_write(d, vq->log_addr + off, len);
    if (r == 0 && signal && d->log_fd >= 0 && write(d->log_fd, &one, 8) < 0) {
        r = -EFAULT;
    }
    return r;
}

static int update_used_flags(StandinDevice *d, StandinVring *vq)
{
    uint16_t f = vq->used_flags;

    if (standin_write(d, vq->used, &f, 2) < 0) {
        return -EFAULT;
    }
    return log_used(d, vq, 0, 2, true);
}

static int update_avail_event(StandinDevice *d, StandinVring *vq)
{
    uint16_t e = vq->avail_idx;

    if (standin_write(d, vq->used + avail_event_offset(vq), &e, 2) < 0) {
        return -EFAULT;
    }
    return log_used(d, vq, avail_event_offset(vq), 2, true);
}

static int read_avail_idx(StandinDevice *d, StandinVring *vq, uint16_t *idx)
{
    return standin_read(d, vq->avail + 2, idx, 2);
}

/* vhost_vq_init_access(), run when a backend is attached. */
int standin_vq_init_access(StandinDevice *d, StandinVring *vq)
{
    uint16_t used_idx;

    if (update_used_flags(d, vq) < 0) {
        return -EFAULT;
    }
    vq->signalled_used_valid = false;
    if (standin_read(d, vq->used + 2, &used_idx, 2) < 0) {
        standin_vq_error(d, vq, "can't access used idx");
        return -EFAULT;
    }
    vq->last_used_idx = used_idx;
    return 0;
}

bool standin_vq_enable_notify(StandinDevice *d, StandinVring *vq)
{
    uint16_t idx;
    int r;

    if (!(vq->used_flags & VRING_USED_F_NO_NOTIFY)) {
        return false;
    }
    vq->used_flags &= ~VRING_USED_F_NO_NOTIFY;
    r = standin_vq_has(vq, F_EVENT_IDX) ? update_avail_event(d, vq)
                                        : update_used_flags(d, vq);
    if (r < 0) {
        standin_vq_error(d, vq, "failed to enable notification");
        return false;
    }
    /* They could have slipped one in meanwhile: check again. */
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    if (read_avail_idx(d, vq, &idx) < 0) {
        standin_vq_error(d, vq, "failed to check avail idx");
        return false;
    }
    return idx != vq->avail_idx;
}

void standin_vq_disable_notify(StandinDevice *d, StandinVring *vq)
{
    if (vq->used_flags & VRING_USED_F_NO_NOTIFY) {
        return;
    }
    vq->used_flags |= VRING_USED_F_NO_NOTIFY;
    if (!standin_vq_has(vq, F_EVENT_IDX) && update_used_flags(d, vq) < 0) {
        standin_vq_error(d, vq, "failed to disable notification");
    }
}

/* One direct descriptor's buffer into the chain (out before in). */
static int chain_add(StandinDevice *d, StandinVring *vq, StandinChain *c,
                     const struct vring_desc *desc, bool want_log)
{
    bool in = desc->flags & VRING_DESC_F_WRITE;
    int n = standin_translate(d, desc->addr, desc->len,
                              c->iov + c->out + c->in,
                              STANDIN_MAX_IOV - c->out - c->in);

    if (n < 0) {
        standin_vq_error(d, vq, "translation failure");
        return n;
    }
    if (!in) {
        if (c->in) {
            standin_vq_error(d, vq, "descriptor has out after in");
            return -EINVAL;
        }
        c->out += n;
        return 0;
    }
    c->in += n;
    if (want_log && n) {
        c->log[c->nlog++] = (StandinLog){ desc->addr, desc->len };
    }
    return 0;
}

static int chain_add_indirect(StandinDevice *d, StandinVring *vq,
                              StandinChain *c, const struct vring_desc *ind,
                              bool want_log)
{
    StandinIov tbl[64];
    unsigned count = ind->len / sizeof(struct vring_desc);
    int nt;

    if (ind->len % sizeof(struct vring_desc)) {
        standin_vq_error(d, vq, "invalid length in indirect descriptor");
        return -EINVAL;
    }
    if (count > 65536) {
        return -E2BIG;
    }
    nt = standin_translate(d, ind->addr, ind->len, tbl, G_N_ELEMENTS(tbl));
    if (nt < 0) {
        standin_vq_error(d, vq, "translation failure in indirect");
        return nt;
    }
    for (unsigned i = 0, found = 0;; i++) {
        struct vring_desc desc;
        int r;

        if (++found > count) {
            standin_vq_error(d, vq, "loop detected in indirect");
            return -EINVAL;
        }
        if (standin_iov_read(d, tbl, nt, i * sizeof(desc), &desc,
                             sizeof(desc)) < 0) {
            standin_vq_error(d, vq, "failed indirect descriptor");
            return -EINVAL;
        }
        if (desc.flags & VRING_DESC_F_INDIRECT) {
            standin_vq_error(d, vq, "nested indirect descriptor");
            return -EINVAL;
        }
        r = chain_add(d, vq, c, &desc, want_log);
        if (r < 0) {
            return r;
        }
        if (!(desc.flags & VRING_DESC_F_NEXT)) {
            return 0;
        }
    }
}

/* Fetch the avail index when we have consumed all we knew of.  Returns 1
 * if a buffer is available, 0 if not, <0 on error. */
static int avail_pending(StandinDevice *d, StandinVring *vq)
{
    uint16_t idx;

    if (vq->avail_idx != vq->last_avail_idx) {
        return 1;
    }
    if (read_avail_idx(d, vq, &idx) < 0) {
        standin_vq_error(d, vq, "failed to access avail idx");
        return -EFAULT;
    }
    if ((uint16_t)(idx - vq->last_avail_idx) > vq->num) {
        standin_vq_error(d, vq, "guest moved avail index");
        return -EFAULT;
    }
    vq->avail_idx = idx;
    __atomic_thread_fence(__ATOMIC_ACQUIRE);
    return idx != vq->last_avail_idx;
}

static int walk_chain(StandinDevice *d, StandinVring *vq, StandinChain *c,
                      unsigned head, bool want_log)
{
    unsigned i = head, found = 0;

    for (;;) {
        struct vring_desc desc;
        int r;

        if (i >= vq->num || ++found > vq->num) {
            standin_vq_error(d, vq, "bad descriptor index or loop");
            return -EINVAL;
        }
        if (standin_read(d, vq->desc + 16ULL * i, &desc, sizeof(desc)) < 0) {
            standin_vq_error(d, vq, "failed to get descriptor");
            return -EFAULT;
        }
        r = (desc.flags & VRING_DESC_F_INDIRECT)
            ? chain_add_indirect(d, vq, c, &desc, want_log)
            : chain_add(d, vq, c, &desc, want_log);
        if (r < 0) {
            return r;
        }
        if (!(desc.flags & VRING_DESC_F_NEXT)) {
            return 0;
        }
        i = desc.next;
    }
}

/* vhost_get_vq_desc(): the next chain.  Returns 1 with c filled and
 * last_avail_idx advanced, 0 when the ring is empty, <0 on error (the
 * ring then waits for the next kick). */
int standin_vq_pop(StandinDevice *d, StandinVring *vq, StandinChain *c,
                   bool want_log)
{
    uint16_t head;
    int r = avail_pending(d, vq);

    if (r <= 0) {
        return r;
    }
    if (standin_read(d, vq->avail + 4 + 2ULL * (vq->last_avail_idx %
                                                vq->num), &head, 2) < 0) {
        standin_vq_error(d, vq, "failed to read head");
        return -EFAULT;
    }
    if (head >= vq->num) {
        standin_vq_error(d, vq, "guest says index is available");
        return -EINVAL;
    }
    c->head = head;
    c->out = c->in = c->nlog = 0;
    r = walk_chain(d, vq, c, head, want_log);
    if (r < 0) {
        return r;
    }
    vq->last_avail_idx++;
    return 1;
}

static int add_used_part(StandinDevice *d, StandinVring *vq,
                         const struct vring_used_elem *heads, unsigned n)
{
    unsigned start = vq->last_used_idx & (vq->num - 1);
    uint64_t off = 4 + sizeof(*heads) * start;
    uint16_t old, neu;

    if (standin_write(d, vq->used + off, heads, sizeof(*heads) * n) < 0) {
        standin_vq_error(d, vq, "failed to write used");
        return -EFAULT;
    }
    if (log_used(d, vq, off, sizeof(*heads) * n, false) < 0) {
        return -EFAULT;
    }
    old = vq->last_used_idx;
    neu = vq->last_used_idx += n;
    if ((uint16_t)(neu - vq->signalled_used) < (uint16_t)(neu - old)) {
        vq->signalled_used_valid = false;
    }
    __atomic_add_fetch(&d->stats.used_writes, n, __ATOMIC_RELAXED);
    return 0;
}

/* vhost_add_used_n(): entries (split at the ring's end), then the
 * index, each logged when the ring logs. */
int standin_vq_add_used(StandinDevice *d, StandinVring *vq,
                        const struct vring_used_elem *heads, unsigned n)
{
    unsigned start = vq->last_used_idx & (vq->num - 1);
    unsigned first = MIN(n, vq->num - start);
    uint16_t idx;

    if (add_used_part(d, vq, heads, first) < 0 ||
        (n > first && add_used_part(d, vq, heads + first, n - first) < 0)) {
        return -EFAULT;
    }
    __atomic_thread_fence(__ATOMIC_RELEASE);
    idx = vq->last_used_idx;
    if (standin_write(d, vq->used + 2, &idx, 2) < 0) {
        standin_vq_error(d, vq, "failed to increment used idx");
        return -EFAULT;
    }
    return log_used(d, vq, 2, 2, true);
}

/* vhost_notify(): does the driver want an interrupt now? */
static bool vq_should_notify(StandinDevice *d, StandinVring *vq)
{
    uint16_t old, neu, event, flags;
    bool valid;

    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    if (standin_vq_has(vq, F_NOTIFY_ON_EMPTY) &&
        vq->avail_idx == vq->last_avail_idx) {
        return true;
    }
    if (!standin_vq_has(vq, F_EVENT_IDX)) {
        if (standin_read(d, vq->avail, &flags, 2) < 0) {
            standin_vq_error(d, vq, "failed to get flags");
            return true;
        }
        return !(flags & VRING_AVAIL_F_NO_INTERRUPT);
    }
    old = vq->signalled_used;
    valid = vq->signalled_used_valid;
    neu = vq->signalled_used = vq->last_used_idx;
    vq->signalled_used_valid = true;
    if (!valid) {
        return true;
    }
    if (standin_read(d, used_event_addr(vq), &event, 2) < 0) {
        standin_vq_error(d, vq, "failed to get used event idx");
        return true;
    }
    return vring_need_event(event, neu, old);
}

void standin_vq_signal(StandinDevice *d, StandinVring *vq)
{
    uint64_t one = 1;

    if (vq->call_fd >= 0 && vq_should_notify(d, vq)) {
        if (write(vq->call_fd, &one, 8) == 8) {
            __atomic_add_fetch(&d->stats.calls, 1, __ATOMIC_RELAXED);
        }
    }
}
