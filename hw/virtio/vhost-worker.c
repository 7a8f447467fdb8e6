/* SPDX-License-Identifier: MIT */
/*
 * VhostWorker (include/hw/virtio/vhost-worker.h): a thread, a queue of
 * work items and two condition variables on the machine lock — one that
 * wakes the worker, one that tells callers an item is done.  Waiting on
 * either releases the machine lock, which is what lets everyone else run
 * while a backend thinks.
 */
#include "hw/virtio/vhost-worker.h"

typedef struct VhostWorkItem {
    VhostWorkFn *fn;
    void *opaque;
    GDestroyNotify destroy;
    bool sync;                  /* a caller waits for done */
    bool done;
} VhostWorkItem;

struct VhostWorker {
    GMutex *lock;
    GCond wake;                 /* an item was queued, or stop */
    GCond finished;             /* an item is done, or the thread exited */
    GQueue queue;
    GThread *thread;
    bool stop;
    bool exited;
};

static void vhost_work_finish(VhostWorker *w, VhostWorkItem *item)
{
    if (item->sync) {
        item->done = true;
        g_cond_broadcast(&w->finished);
        return;
    }
    if (item->destroy) {
        item->destroy(item->opaque);
    }
    g_free(item);
}

static gpointer vhost_worker_run(gpointer opaque)
{
    VhostWorker *w = opaque;

    g_mutex_lock(w->lock);
    for (;;) {
        VhostWorkItem *item = g_queue_pop_head(&w->queue);

        if (item) {
            item->fn(item->opaque);
            vhost_work_finish(w, item);
        } else if (w->stop) {
            break;
        } else {
            g_cond_wait(&w->wake, w->lock);
        }
    }
    w->exited = true;
    g_cond_broadcast(&w->finished);
    g_mutex_unlock(w->lock);
    return NULL;
}

VhostWorker *vhost_worker_new(const char *name, GMutex *lock)
{
    VhostWorker *w = g_new0(VhostWorker, 1);

    w->lock = lock;
    g_cond_init(&w->wake);
    g_cond_init(&w->finished);
    g_queue_init(&w->queue);
    /* The thread takes the lock first thing: it cannot run an item
     * before w->thread is set (the caller holds the lock). */
    w->thread = g_thread_new(name, vhost_worker_run, w);
    return w;
}

void vhost_worker_free(VhostWorker *w)
{
    if (!w) {
        return;
    }
    g_assert(!vhost_worker_is_current(w));
    w->stop = true;
    g_cond_signal(&w->wake);
    while (!w->exited) {
        g_cond_wait(&w->finished, w->lock);
    }
    g_thread_join(w->thread);
    g_cond_clear(&w->wake);
    g_cond_clear(&w->finished);
    g_free(w);
}

void vhost_worker_post(VhostWorker *w, VhostWorkFn *fn, void *opaque,
                       GDestroyNotify destroy)
{
    VhostWorkItem *item;

    if (w->stop) {
        if (destroy) {
            destroy(opaque);
        }
        return;
    }
    item = g_new0(VhostWorkItem, 1);
    item->fn = fn;
    item->opaque = opaque;
    item->destroy = destroy;
    g_queue_push_tail(&w->queue, item);
    g_cond_signal(&w->wake);
}

void vhost_worker_call(VhostWorker *w, VhostWorkFn *fn, void *opaque)
{
    VhostWorkItem item = { .fn = fn, .opaque = opaque, .sync = true };

    if (vhost_worker_is_current(w)) {
        fn(opaque);
        return;
    }
    g_queue_push_tail(&w->queue, &item);
    g_cond_signal(&w->wake);
    while (!item.done) {
        g_cond_wait(&w->finished, w->lock);
    }
}

void vhost_worker_cancel(VhostWorker *w, void *opaque)
{
    GList *l = w->queue.head;

    while (l) {
        GList *next = l->next;
        VhostWorkItem *item = l->data;

        if (item->opaque == opaque && !item->sync) {
            g_queue_delete_link(&w->queue, l);
            vhost_work_finish(w, item);     /* destroy, not fn */
        }
        l = next;
    }
}

static void vhost_work_nothing(void *opaque)
{
}

void vhost_worker_flush(VhostWorker *w)
{
    vhost_worker_call(w, vhost_work_nothing, NULL);
}

bool vhost_worker_is_current(const VhostWorker *w)
{
    return w->thread == g_thread_self();
}
