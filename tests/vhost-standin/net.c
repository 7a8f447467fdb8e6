/* SPDX-License-Identifier: MIT */
/*
 * The per-device worker, as vhost-net's handle_tx/handle_rx: TX chains go
 * to the tap as frames (the guest's virtio-net header included unless
 * VHOST_NET_F_VIRTIO_NET_HDR was acked, then we strip it), RX frames are
 * read from the tap only when the ring has a buffer for them, spread over
 * mergeable buffers with num_buffers, the pages written logged when
 * LOG_ALL was acked.
 *
 * Kick eventfds and the tap are watched edge-triggered and the kick
 * counters are never read, as vhost's wait-queue callbacks never read
 * them: every write to a kick fd wakes us once.
 */
#include "standin.h"

#include <errno.h>
#include <linux/virtio_net.h>
#include <poll.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#define NET_BATCH 64            /* VHOST_NET_BATCH */
#define NET_PKT_WEIGHT 256      /* VHOST_NET_PKT_WEIGHT */
#define NET_BYTE_WEIGHT 0x80000 /* VHOST_NET_WEIGHT */
#define FRAME_MAX (65536 + 64)

enum { TAG_WAKE, TAG_KICK_RX, TAG_KICK_TX, TAG_TAP_RX };

typedef struct Worker {
    StandinDevice *d;
    int ep;
    StandinChain *chain;
    StandinIov *iov;            /* RX: all heads of one frame */
    StandinLog *log;
    struct vring_used_elem heads[STANDIN_MAX_IOV + NET_BATCH + 1];
    unsigned done;
    uint8_t *frame;
} Worker;

/* ---- TX ---- */

/* vhost_add_used_and_signal_n() for the heads gathered so far. */
static void flush_used(Worker *w, StandinVring *vq)
{
    if (w->done && standin_vq_add_used(w->d, vq, w->heads, w->done) == 0) {
        standin_vq_signal(w->d, vq);
    }
    w->done = 0;
}

static size_t chain_out_len(const StandinChain *c)
{
    size_t len = 0;

    for (int i = 0; i < c->out; i++) {
        len += c->iov[i].len;
    }
    return len;
}

/* Send one chain; false when the ring must wait for the next kick. */
static bool tx_one(Worker *w, StandinVring *vq, size_t *bytes)
{
    StandinDevice *d = w->d;
    StandinChain *c = w->chain;
    size_t total = chain_out_len(c), len;
    ssize_t n;

    if (c->in) {
        standin_vq_error(d, vq, "unexpected descriptor format for TX");
        return false;
    }
    len = total > vq->vhost_hlen ? total - vq->vhost_hlen : 0;
    if (!len || len > FRAME_MAX) {
        standin_vq_error(d, vq, "unexpected header len for TX");
        return false;
    }
    if (standin_iov_read(d, c->iov, c->out, vq->vhost_hlen, w->frame,
                         len) < 0) {
        standin_vq_error(d, vq, "failed to read TX buffer");
        return false;
    }
    n = write(vq->backend_fd, w->frame, len);
    if (n < 0 && (errno == EAGAIN || errno == ENOMEM || errno == ENOBUFS)) {
        vq->last_avail_idx--;       /* vhost_discard_vq_desc(vq, 1) */
        return false;
    }
    __atomic_add_fetch(n >= 0 ? &d->stats.tx_frames
                              : &d->stats.tx_send_errors, 1,
                       __ATOMIC_RELAXED);
    w->heads[w->done++] = (struct vring_used_elem){ c->head, 0 };
    *bytes += len;
    return true;
}

/* handle_tx(): returns true when the weight ran out with work left. */
static bool handle_tx(Worker *w)
{
    StandinDevice *d = w->d;
    StandinVring *vq = &d->vq[STANDIN_VQ_TX];
    size_t bytes = 0;
    unsigned sent = 0;
    bool more = false;

    if (vq->backend_fd < 0) {
        return false;
    }
    standin_vq_disable_notify(d, vq);
    for (;;) {
        int r;

        if (w->done == NET_BATCH) {
            flush_used(w, vq);
        }
        r = standin_vq_pop(d, vq, w->chain, false);
        if (r < 0) {
            break;
        }
        if (r == 0) {
            if (standin_vq_enable_notify(d, vq)) {
                standin_vq_disable_notify(d, vq);
                continue;
            }
            break;
        }
        if (!tx_one(w, vq, &bytes)) {
            break;
        }
        if (++sent >= NET_PKT_WEIGHT || bytes >= NET_BYTE_WEIGHT) {
            more = true;
            break;
        }
    }
    flush_used(w, vq);
    return more;
}

/* ---- RX ---- */

static bool tap_readable(int fd)
{
    struct pollfd p = { .fd = fd, .events = POLLIN };

    return poll(&p, 1, 0) == 1 && (p.revents & POLLIN);
}

/* get_rx_bufs(): heads for datalen bytes.  Returns the head count, 0 if
 * the ring ran out (the heads taken are given back), NET too big as
 * STANDIN_MAX_IOV + 1, <0 on a ring error. */
static int rx_get_bufs(Worker *w, StandinVring *vq, int64_t datalen,
                       unsigned quota, int *niov, int *nlog, bool want_log)
{
    StandinChain *c = w->chain;
    int heads = 0, r = 0;
    size_t len = 0;

    *niov = *nlog = 0;
    while (datalen > 0 && (unsigned)heads < quota) {
        r = standin_vq_pop(w->d, vq, c, want_log);
        if (r <= 0) {
            goto err;
        }
        if (c->out || c->in <= 0 || *niov + c->in > STANDIN_MAX_IOV) {
            standin_vq_error(w->d, vq, "unexpected descriptor format for RX");
            r = -EINVAL;
            goto err;
        }
        memcpy(w->iov + *niov, c->iov, c->in * sizeof(StandinIov));
        memcpy(w->log + *nlog, c->log, c->nlog * sizeof(StandinLog));
        *niov += c->in;
        *nlog += c->nlog;
        len = 0;
        for (int i = 0; i < c->in; i++) {
            len += c->iov[i].len;
        }
        w->heads[w->done + heads] = (struct vring_used_elem){ c->head, len };
        datalen -= len;
        heads++;
    }
    w->heads[w->done + heads - 1].len = len + datalen;
    if (datalen > 0) {
        r = STANDIN_MAX_IOV + 1;
        goto err;
    }
    return heads;
err:
    vq->last_avail_idx -= heads;    /* vhost_discard_vq_desc() */
    return r;
}

static int rx_log(Worker *w, int nlog, uint64_t len)
{
    StandinDevice *d = w->d;
    uint64_t one = 1;

    for (int i = 0; i < nlog && len; i++) {
        uint64_t l = MIN(w->log[i].len, len);
        int r = standin_log_write(d, w->log[i].gpa, l);

        if (r < 0) {
            return r;
        }
        len -= l;
    }
    if (d->log_fd >= 0 && write(d->log_fd, &one, 8) < 0) {
        return -EFAULT;
    }
    return 0;
}

/* Copy the pending frame into the buffers: header first when we provide
 * it, num_buffers with MRG_RXBUF (at byte 10, after struct
 * virtio_net_hdr, whether the header came from us or from the tap). */
static int rx_fill(Worker *w, StandinVring *vq, int niov, int heads)
{
    StandinDevice *d = w->d;
    struct virtio_net_hdr hdr = { .gso_type = VIRTIO_NET_HDR_GSO_NONE };
    uint16_t nbuf = heads;

    if (standin_iov_write(d, w->iov, niov, vq->vhost_hlen, d->rx_frame,
                          d->rx_frame_len) < 0 ||
        (vq->vhost_hlen &&
         standin_iov_write(d, w->iov, niov, 0, &hdr, sizeof(hdr)) < 0) ||
        (standin_vq_has(vq, F_MRG_RXBUF) &&
         standin_iov_write(d, w->iov, niov, sizeof(hdr), &nbuf, 2) < 0)) {
        standin_vq_error(d, vq, "failed to write RX buffer");
        return -EFAULT;
    }
    return 0;
}

/* Read the next frame from the tap into the pending slot.  false: none. */
static bool rx_take_frame(StandinDevice *d, StandinVring *vq)
{
    ssize_t n;

    if (d->rx_frame) {
        return true;
    }
    if (!tap_readable(vq->backend_fd)) {
        return false;
    }
    d->rx_frame = g_malloc(FRAME_MAX);
    n = read(vq->backend_fd, d->rx_frame, FRAME_MAX);
    if (n <= 0) {
        g_clear_pointer(&d->rx_frame, g_free);
        return false;
    }
    d->rx_frame_len = n;
    return true;
}

/* Place the pending frame.  1: placed or dropped, 0: wait for buffers,
 * <0: ring error. */
static int rx_one(Worker *w, StandinVring *vq, size_t *bytes)
{
    StandinDevice *d = w->d;
    bool want_log = standin_vq_has(vq, F_LOG_ALL);
    uint64_t vhost_len = d->rx_frame_len + vq->vhost_hlen;
    unsigned quota = standin_vq_has(vq, F_MRG_RXBUF) ? STANDIN_MAX_IOV : 1;
    int niov, nlog;
    int heads = rx_get_bufs(w, vq, vhost_len, quota, &niov, &nlog, want_log);

    if (heads <= 0) {
        return heads;
    }
    if (heads > STANDIN_MAX_IOV) {
        __atomic_add_fetch(&d->stats.rx_dropped_too_big, 1,
                           __ATOMIC_RELAXED);
        g_clear_pointer(&d->rx_frame, g_free);
        return 1;
    }
    if (rx_fill(w, vq, niov, heads) < 0) {
        vq->last_avail_idx -= heads;
        return -EFAULT;
    }
    if (want_log && rx_log(w, nlog, vhost_len) < 0) {
        return -EFAULT;
    }
    w->done += heads;
    *bytes += vhost_len;
    g_clear_pointer(&d->rx_frame, g_free);
    __atomic_add_fetch(&d->stats.rx_frames, 1, __ATOMIC_RELAXED);
    return 1;
}

/* handle_rx(): returns true when the weight ran out with work left. */
static bool handle_rx(Worker *w)
{
    StandinDevice *d = w->d;
    StandinVring *vq = &d->vq[STANDIN_VQ_RX];
    size_t bytes = 0;
    unsigned recv = 0;
    bool more = false;

    if (vq->backend_fd < 0) {
        return false;
    }
    standin_vq_disable_notify(d, vq);
    while (rx_take_frame(d, vq)) {
        int r = rx_one(w, vq, &bytes);

        if (r < 0) {
            break;
        }
        if (r == 0) {
            __atomic_add_fetch(&d->stats.rx_stalls_no_buffers, 1,
                               __ATOMIC_RELAXED);
            if (standin_vq_enable_notify(d, vq)) {
                standin_vq_disable_notify(d, vq);
                continue;
            }
            break;
        }
        if (w->done > NET_BATCH) {
            flush_used(w, vq);
        }
        if (++recv >= NET_PKT_WEIGHT || bytes >= NET_BYTE_WEIGHT) {
            more = true;
            break;
        }
    }
    flush_used(w, vq);
    return more;
}

/* ---- the thread ---- */

static void watch(int ep, int fd, uint32_t events, uint64_t tag)
{
    struct epoll_event ev = { .events = events, .data.u64 = tag };

    if (fd >= 0) {
        epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
    }
}

/* A fresh watch set for the fds in force (called with the lock held). */
static void rebuild_watches(Worker *w)
{
    StandinDevice *d = w->d;

    if (w->ep >= 0) {
        close(w->ep);
    }
    w->ep = epoll_create1(EPOLL_CLOEXEC);
    watch(w->ep, d->wake_fd, EPOLLIN, TAG_WAKE);
    watch(w->ep, d->vq[STANDIN_VQ_RX].kick_fd, EPOLLIN | EPOLLET,
          TAG_KICK_RX);
    watch(w->ep, d->vq[STANDIN_VQ_TX].kick_fd, EPOLLIN | EPOLLET,
          TAG_KICK_TX);
    watch(w->ep, d->vq[STANDIN_VQ_RX].backend_fd, EPOLLIN | EPOLLET,
          TAG_TAP_RX);
    d->poll_dirty = false;
}

static void note_events(Worker *w, struct epoll_event *ev, int n,
                        bool *tx, bool *rx)
{
    uint64_t v;

    for (int i = 0; i < n; i++) {
        switch (ev[i].data.u64) {
        case TAG_WAKE:
            if (read(w->d->wake_fd, &v, 8) < 0) {
                /* counter was already zero */
            }
            break;
        case TAG_KICK_TX:
            *tx = true;
            __atomic_add_fetch(&w->d->stats.kicks, 1, __ATOMIC_RELAXED);
            break;
        case TAG_KICK_RX:
            __atomic_add_fetch(&w->d->stats.kicks, 1, __ATOMIC_RELAXED);
            *rx = true;
            break;
        default:
            *rx = true;
        }
    }
}

static void *worker_main(void *opaque)
{
    Worker w = { .d = opaque, .ep = -1 };
    StandinDevice *d = w.d;
    bool more_tx = false, more_rx = false;

    w.chain = g_new0(StandinChain, 1);
    w.iov = g_new0(StandinIov, STANDIN_MAX_IOV);
    w.log = g_new0(StandinLog, STANDIN_MAX_IOV);
    w.frame = g_malloc(FRAME_MAX);
    pthread_mutex_lock(&d->lock);
    while (!d->worker_stop) {
        struct epoll_event ev[8];
        bool tx = more_tx, rx = more_rx;
        int n;

        if (d->poll_dirty || w.ep < 0) {
            rebuild_watches(&w);
        }
        pthread_mutex_unlock(&d->lock);
        n = epoll_wait(w.ep, ev, G_N_ELEMENTS(ev), tx || rx ? 0 : -1);
        pthread_mutex_lock(&d->lock);
        note_events(&w, ev, MAX(n, 0), &tx, &rx);
        /* A rebuild reports what is pending again; go round first. */
        more_tx = tx && !d->worker_stop && !d->poll_dirty && handle_tx(&w);
        more_rx = rx && !d->worker_stop && !d->poll_dirty && handle_rx(&w);
    }
    pthread_mutex_unlock(&d->lock);
    if (w.ep >= 0) {
        close(w.ep);
    }
    g_free(w.chain);
    g_free(w.iov);
    g_free(w.log);
    g_free(w.frame);
    return NULL;
}

int standin_worker_start(StandinDevice *d)
{
    if (d->worker_running) {
        return 0;
    }
    if (d->wake_fd < 0) {
        d->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    }
    d->worker_stop = false;
    d->poll_dirty = true;
    if (pthread_create(&d->worker, NULL, worker_main, d) != 0) {
        return -ENOMEM;
    }
    d->worker_running = true;
    return 0;
}

/* Called without the lock held. */
void standin_worker_stop(StandinDevice *d)
{
    uint64_t one = 1;

    pthread_mutex_lock(&d->lock);
    if (!d->worker_running) {
        pthread_mutex_unlock(&d->lock);
        return;
    }
    d->worker_stop = true;
    if (write(d->wake_fd, &one, 8) < 0) {
        /* the counter is saturated: the worker is awake anyway */
    }
    pthread_mutex_unlock(&d->lock);
    pthread_join(d->worker, NULL);
    d->worker_running = false;
}

/* The fds or the state changed: the worker re-reads them (lock held). */
void standin_worker_kick(StandinDevice *d)
{
    uint64_t one = 1;

    d->poll_dirty = true;
    if (d->wake_fd >= 0 && write(d->wake_fd, &one, 8) < 0) {
        /* already pending */
    }
}
