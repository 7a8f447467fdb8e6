/* SPDX-License-Identifier: MIT */
/*
 * Private glue between the parts of the generic vhost core:
 * hw/virtio/vhost.c (init, notifiers, vring life cycle, features, config,
 * inflight), hw/virtio/vhost-mem.c (memory listener and table) and
 * hw/virtio/vhost-log.c (the dirty log).  Nothing else includes it.
 */
#ifndef HW_VIRTIO_VHOST_INTERNAL_H
#define HW_VIRTIO_VHOST_INTERNAL_H

#include "hw/virtio/vhost.h"

/* The name used in messages: the device id, else the backend name. */
const char *vhost_dev_name(const struct vhost_dev *dev);

/* Run fn(dev) on dev's worker, after what is queued there (the memory
 * listener, which must not wait); right here without a worker.
 * vhost_dev_cleanup drops what was not run yet. */
void vhost_dev_defer(struct vhost_dev *dev, VhostWorkFn *fn);

/* --- vhost-mem.c --- */

/* Register dev's memory listener on as (collects dev->regions). */
void vhost_listener_register(struct vhost_dev *dev, AddressSpace *as);
/* Free the table being collected between begin and commit. */
void vhost_tmp_reset(struct vhost_dev *dev);
/* false (errp set) if dev->regions exceeds the backend's slot limit. */
bool vhost_dev_check_memslots(struct vhost_dev *dev, Error **errp);
/* Check the limit, then set_mem_table(dev->regions); counts the send. */
bool vhost_dev_send_mem_table(struct vhost_dev *dev, Error **errp);
/* Host addresses of vq's three rings (recorded GPAs and sizes) through
 * dev->regions; false if one is not wholly inside a single region. */
bool vhost_virtqueue_translate(const struct vhost_dev *dev,
                               const struct vhost_virtqueue *vq,
                               void **desc, void **avail, void **used);

/* --- vhost.c --- */

/* SET_FEATURES with acked_features | backend_features, plus
 * VHOST_F_LOG_ALL when log is true. */
bool vhost_dev_set_features(struct vhost_dev *dev, bool log, Error **errp);

/* SET_VRING_ADDR for a started ring from its recorded guest-physical and
 * host addresses; the VHOST_VRING_F_LOG flag and log_guest_addr (the used
 * ring's GPA) are set when log is true. */
bool vhost_virtqueue_set_addr(struct vhost_dev *dev,
                              struct vhost_virtqueue *vq, bool log,
                              Error **errp);

/* --- vhost-log.c --- */

/* Make dev->log cover the current memory table: a log that is missing or
 * too small is replaced (the new one is sent with set_log_base, the old
 * one's bits are carried over, then it is freed); when resend is true an
 * adequate log is sent again (a (re)started backend has forgotten it). */
bool vhost_dev_log_prepare(struct vhost_dev *dev, bool resend, Error **errp);

/* Drop dev->log (logging disabled or device cleaned up). */
void vhost_dev_log_drop(struct vhost_dev *dev);

/* The memory listener's log_global_start/stop for dev: the one switch of
 * the dirty log for migration (see include/hw/virtio/vhost.h, "Dirty log
 * and migration").  enable: a backend that cannot log (ops->log_blocker)
 * refuses with errp "ID: REASON; migration is not possible"; else as
 * vhost_dev_set_log.  A disconnected dev (vhost_ops NULL) has nothing to
 * do: true.  disable: LOG_ALL cleared on a started device, the log freed.
 * Idempotent. */
bool vhost_dev_migration_log(struct vhost_dev *dev, bool enable,
                             Error **errp);

/* The same as work items for the worker (opaque = dev): a failure to
 * enable is kept in dev->log_error (see vhost_dev_log_check). */
void vhost_dev_migration_log_on(void *opaque);
void vhost_dev_migration_log_off(void *opaque);

/* The memory listener's log_sync for dev: the log's bits for section s
 * (a RAM section) become dirty pages of s->mr (memory_region_set_dirty);
 * nothing while dev has no log. */
void vhost_dev_log_sync_section(struct vhost_dev *dev,
                                const MemoryRegionSection *s);

#endif
