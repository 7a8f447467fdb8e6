/* SPDX-License-Identifier: MIT */
/*
 * VhostWorker: the one thread that talks to a vhost backend.
 *
 * Every conversation with a backend — connecting, starting and stopping
 * rings, config space, the memory table, the dirty log — runs as a work
 * item on its connection's worker, in the order the items were queued.
 * So two threads never interleave on a backend's socket, and nobody but
 * the worker ever waits for a backend: the worker holds the machine lock
 * while it runs an item and releases it only while it waits (for work,
 * or on the backend's socket: the chardev's frontend lock), so vCPUs,
 * the main loop and QMP go on meanwhile.
 *
 * Who queues what:
 *   - the main loop posts (vhost_worker_post) what it must not wait for:
 *     a backend that connected or went away, a config change;
 *   - a vCPU, QMP or migration that needs the result calls
 *     (vhost_worker_call): the caller waits with the machine lock
 *     released, so it stalls only itself, and only up to the backend's
 *     reply timeout;
 *   - the memory listener posts table updates (it must not release the
 *     lock inside a memory transaction); vhost_worker_flush waits until
 *     what was queued so far is done.
 *
 * Every function is called with the machine lock held.  The worker runs
 * items with it held too.
 */
#ifndef HW_VIRTIO_VHOST_WORKER_H
#define HW_VIRTIO_VHOST_WORKER_H

#include <stdbool.h>
#include <glib.h>

typedef struct VhostWorker VhostWorker;
typedef void VhostWorkFn(void *opaque);

/* Start a worker thread named name ("vhost-c0") running its items with
 * lock (the machine lock) held. */
VhostWorker *vhost_worker_new(const char *name, GMutex *lock);
/* Let the items queued so far run, then stop and join the thread; items
 * queued later are dropped (their destroy runs).  NULL-safe.  Not on the
 * worker itself. */
void vhost_worker_free(VhostWorker *w);

/* Queue fn(opaque) and return; destroy(opaque) (may be NULL) runs after
 * it, or instead of it if the worker stops first. */
void vhost_worker_post(VhostWorker *w, VhostWorkFn *fn, void *opaque,
                       GDestroyNotify destroy);
/* Run fn(opaque) on the worker after what is queued, and wait for it
 * with the lock released.  On the worker itself (an item calling), fn
 * runs at once. */
void vhost_worker_call(VhostWorker *w, VhostWorkFn *fn, void *opaque);
/* Drop the posted items not yet started whose opaque is opaque (their
 * destroy runs): what is about to be freed must not be run on. */
void vhost_worker_cancel(VhostWorker *w, void *opaque);
/* Wait until every item queued so far has run. */
void vhost_worker_flush(VhostWorker *w);
/* Is the calling thread w's thread? */
bool vhost_worker_is_current(const VhostWorker *w);

#endif
