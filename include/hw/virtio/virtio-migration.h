/* SPDX-License-Identifier: MIT */
/*
 * Live migration of virtio-mmio devices (hw/virtio/virtio-migration.c).
 *
 * Every plugged virtio-mmio device owns one migration section named
 * "virtio-mmio@<base in hex>" (include/migration/register.h).  It carries
 * the transport registers, the virtio core state (status, features,
 * config bytes, per queue its size, addresses and ring indices) and the
 * device model's own part.
 *
 * Dirty logging of the vhost backends is not switched by these hooks: the
 * vhost core's memory listener does it (log_global_start/stop, see
 * include/hw/virtio/vhost.h), because migration starts global logging
 * (migration/ram.c) before it calls the setup hooks and stops it before
 * the cleanup hooks, and because the listener also covers a backend that
 * connects while migration runs.  The listener queues the switch on the
 * backend's worker; the model's setup hook (vhost devices: on that
 * worker, so after the switch) fails `migrate` with "LABEL: REASON;
 * migration is not possible" when a backend could not start logging
 * (vhost-user without LOG_SHMFD).
 *
 * The hooks:
 *
 *   setup      a device class without migration ops refuses; else the
 *              model's setup (the backend logs).
 *   save       vCPUs are paused, the final dirty sync comes next: first
 *              vdev->vm_stopped is set and the model stops its backend
 *              (GET_VRING_BASE puts each ring's last avail index into
 *              VirtQueue), so nothing writes guest memory after that
 *              sync; then the section's bytes.
 *   cleanup    (dirty logging is already off) the model's cleanup
 *              waits until the backend heard it; unless the migration
 *              completed, vm_stopped is cleared and the backend restarted
 *              without the log (the source runs on).
 *   load       destination: everything restored, vm_stopped set (the
 *              backend must not start before RAM is complete).
 *   post_load  vm_stopped cleared, the backend started from the loaded
 *              ring indices (SET_VRING_BASE), one interrupt per device
 *              (a completion signalled on the source during the switch
 *              is not lost), then the model's post_load (net: announce).
 *
 * The section format is versioned by the first u32; it is written and
 * read with migration/stream.h (integers big-endian).  Everything runs
 * on the main thread with the machine lock held.
 */
#ifndef HW_VIRTIO_VIRTIO_MIGRATION_H
#define HW_VIRTIO_VIRTIO_MIGRATION_H

#include "hw/virtio/virtio-mmio.h"
#include "migration/stream.h"

/* --- what a device model provides --------------------------------------- */

typedef struct VirtioMigrationOps {
    /* Source, after dirty logging started: can the device go (its
     * backend logs)?  May be NULL. */
    bool (*setup)(VirtIODevice *vdev, Error **errp);
    /* vdev->vm_stopped changed: stop the backend (saving ring indices
     * into VirtQueue) or, when cleared, start it if the driver runs and
     * the backend is connected.  Models also keep the backend stopped
     * while vm_stopped is set (no start on reconnect or status write). */
    bool (*vm_state_change)(VirtIODevice *vdev, Error **errp);
    /* Device-specific state after the core's; may be NULL. */
    void (*save)(VirtIODevice *vdev, GByteArray *out);
    bool (*load)(VirtIODevice *vdev, MigReader *r, Error **errp);
    /* Destination, after the backend started; may be NULL. */
    bool (*post_load)(VirtIODevice *vdev, Error **errp);
    /* Source, migration over (dirty logging switched off, the switch
     * perhaps only queued on the backend's worker): return once the
     * backend heard, so that a migration reported ended no longer has a
     * backend writing the log.  May be NULL. */
    void (*cleanup)(VirtIODevice *vdev);
} VirtioMigrationOps;

/* --- the transport's part ---------------------------------------------- */

/* Register / unregister proxy's section (virtio_mmio_plug / unplug). */
void virtio_migration_register(VirtIOMMIOProxy *proxy);
void virtio_migration_unregister(VirtIOMMIOProxy *proxy);

/* The section's name for proxy: "virtio-mmio@feb00000".  Caller frees. */
char *virtio_migration_section_name(const VirtIOMMIOProxy *proxy);

/* The hooks, for the registration and for tests (opaque = proxy). */
bool virtio_migration_setup(void *opaque, Error **errp);
/* The first half of save: stop the backend (idempotent). */
void virtio_migration_stop(void *opaque);
bool virtio_migration_save(void *opaque, GByteArray *out, Error **errp);
bool virtio_migration_load(void *opaque, const uint8_t *buf, size_t len,
                           Error **errp);
bool virtio_migration_post_load(void *opaque, Error **errp);
void virtio_migration_cleanup(void *opaque, bool completed);

#endif
