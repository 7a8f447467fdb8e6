/* SPDX-License-Identifier: MIT */
/*
 * VhostDevice: the life cycle every virtio device model shares whose data
 * path runs in a vhost backend — whichever backend its VhostConn reaches
 * (include/hw/virtio/vhost-conn.h).  It owns the virtio-mmio slot, the
 * device's struct vhost_devs (one for all queues of a block device, one
 * per queue pair of a net device) and runs
 *
 *   realize  -> plug, wait for the backend, connect, watch the connection
 *   connect  -> vhost_dev_init of every vhost_dev on the connection
 *               (features; the first negotiates), ops->check_backend,
 *               ops->fetch_config, ops->connected(true)
 *   DRIVER_OK-> start (unless migration stopped the VM: vm_stopped) the
 *               vhost_devs ops->devs_to_start says (all by default):
 *               guest notifiers (irqfd), ops->pre_start, then per
 *               vhost_dev host notifiers (ioeventfd) and vhost_dev_start;
 *               rings enabled inside vhost_dev_start, or afterwards by
 *               ops->ring_enabled when the model decides per vhost_dev
 *   status 0 -> stop, last vhost_dev first: vhost_dev_stop saves each
 *               ring's avail index
 *   down     -> stop without the backend, vhost_dev_cleanup, close,
 *               ops->connected(false); the guest keeps its rings and waits
 *   up       -> connect again and, if the driver is running, start from
 *               the saved ring state.
 *
 * A device model embeds it as its FIRST member, fills a VirtioDeviceClass
 * whose set_status is vhost_device_set_status (and whose reset calls
 * vhost_device_stop) and adds its own features and config.  The device
 * is listed for x-query-vhost and memory hotplug (ms->vhost_devices,
 * ms->vhost_devs) from plug to unrealize, and announces its connection
 * with the events <TYPE>_CONNECTED / <TYPE>_DISCONNECTED, TYPE being the
 * backend type in upper case with '_' for '-' (VHOST_USER_CONNECTED),
 * data {"device": ID, "backend": TYPE, "backend-name": NAME}.
 *
 * Threading: everything runs with the machine lock held.
 */
#ifndef HW_VIRTIO_VHOST_DEVICE_H
#define HW_VIRTIO_VHOST_DEVICE_H

#include "hw/qdev.h"
#include "hw/virtio/vhost-conn.h"
#include "hw/virtio/vhost.h"
#include "hw/virtio/virtio-mmio.h"
#include "qemu/compiler.h"

typedef struct VhostDevice VhostDevice;

/* The device model's part of the life cycle; every hook may be NULL. */
typedef struct VhostDeviceOps {
    /* Every vhost_dev is initialised (dev.features known).  False
     * refuses the backend with errp set. */
    bool (*check_backend)(VhostDevice *d, Error **errp);
    /* Read the device config from the backend: on every connect, after
     * check_backend, and when the backend says its config changed (a
     * failure then is logged).  The model raises the config interrupt
     * with virtio_notify_config() if it sees a change. */
    bool (*fetch_config)(VhostDevice *d, Error **errp);
    /* The connection came up (after fetch_config) or went down (after
     * the vhost_devs were cleaned up; not at teardown). */
    void (*connected)(VhostDevice *d, bool up);
    /* How many vhost_devs (from the first) start now; NULL: all. */
    unsigned (*devs_to_start)(VhostDevice *d);
    /* What the backend is told the driver accepted; NULL: every feature
     * the driver accepted. */
    uint64_t (*acked_features)(VhostDevice *d);
    /* Before the first vhost_dev_start, acked features known (inflight
     * region, MTU, ...). */
    bool (*pre_start)(VhostDevice *d, Error **errp);
    /* Non-NULL: rings are not enabled by vhost_dev_start; once every
     * vhost_dev runs, vhost_dev i is enabled or disabled as this says
     * (vhost_device_enable_rings does it again on demand). */
    bool (*ring_enabled)(VhostDevice *d, unsigned i);
} VhostDeviceOps;

struct VhostDevice {
    VirtIODevice vdev;              /* first: class hooks get &vdev */
    VirtIOMMIOProxy proxy;
    MachineState *ms;
    char *id;
    char *label;                    /* "MODEL 'ID'" for messages */
    const VhostDeviceOps *ops;

    /* The backend connection, and whether the device frees it (a
     * netdev's connection is the netdev's). */
    VhostConn *conn;
    bool owns_conn;

    /* vhost_devs: queues [i * nvqs, (i + 1) * nvqs) each. */
    struct vhost_dev *devs;
    unsigned ndevs;
    unsigned started_devs;          /* running now, 0 = stopped */
    bool connected;                 /* every vhost_dev initialised */
    bool registered;                /* listed on the machine */
    /* Threads inside vhost_device_run (a vCPU waiting for a start, say):
     * unrealize frees nothing before they are all out. */
    unsigned callers;
    GCond callers_done;
};

static inline VhostDevice *vhost_device_of(VirtIODevice *vdev)
{
    return container_of(vdev, VhostDevice, vdev);
}

/*
 * Prepare a zeroed d: id is the -device id (NULL: "MODEL<slot>"), the
 * label "MODEL 'ID'".  Nothing to undo but what unrealize frees.
 */
void vhost_device_init(VhostDevice *d, MachineState *ms, const char *model,
                       const char *id, const VhostDeviceOps *ops);
/* Use conn (owned: freed at unrealize) and label it with the device. */
void vhost_device_set_conn(VhostDevice *d, VhostConn *conn, bool owned);
/* ndevs vhost_devs of nvqs queues each, consecutive from queue 0. */
void vhost_device_alloc_devs(VhostDevice *d, unsigned ndevs, unsigned nvqs);
/*
 * Register dev with the machine (qdev_register: from here on the machine
 * owns it, success or not; cleanup(dev) must call
 * vhost_device_unrealize()), list the vhost_devs, init the virtio device
 * (cls, nvqs queues of queue_size entries, config_len bytes of config)
 * and plug it into a virtio-mmio slot.
 */
bool vhost_device_plug(VhostDevice *d, const VirtioDeviceClass *cls,
                       unsigned nvqs, uint16_t queue_size,
                       uint32_t config_len, void *dev,
                       QdevCleanupFn *cleanup, Error **errp);
/* Wait for the backend, connect and watch the connection (a refusal
 * here fails the device). */
bool vhost_device_connect_first(VhostDevice *d, Error **errp);
/* plug + connect_first, for a model with one queue size. */
bool vhost_device_realize(VhostDevice *d, const VirtioDeviceClass *cls,
                          unsigned nvqs, uint16_t queue_size,
                          uint32_t config_len, void *dev,
                          QdevCleanupFn *cleanup, Error **errp);
/* Detach from the connection, stop, disconnect, unplug and free what the
 * base holds (the connection too when owned).  Safe twice and on a
 * half-built (zeroed) d. */
void vhost_device_unrealize(VhostDevice *d);

/* Run fn(d, arg, errp) where the backend may be talked to: on the
 * connection's worker, waiting for it with the machine lock released (a
 * model's config write, a net announcement).  Lock held. */
typedef bool VhostDeviceFn(VhostDevice *d, void *arg, Error **errp);
bool vhost_device_run(VhostDevice *d, VhostDeviceFn *fn, void *arg,
                      Error **errp);

/* VirtioDeviceClass.set_status: start the backend on DRIVER_OK (if
 * connected), stop it when DRIVER_OK goes. */
void vhost_device_set_status(VirtIODevice *vdev, uint8_t status);
/* Stop the backend if it runs (for the model's reset hook). */
void vhost_device_stop(VhostDevice *d);
/* ops->ring_enabled again on every running vhost_dev; true when nothing
 * runs. */
bool vhost_device_enable_rings(VhostDevice *d, Error **errp);
/* VirtioMigrationOps.vm_state_change: stop the backend while
 * vdev->vm_stopped, start it again when cleared (if it should run). */
bool vhost_device_vm_state_change(VirtIODevice *vdev, Error **errp);
/* VirtioMigrationOps.setup: did every backend start its dirty log (the
 * memory listener queued the switch on the worker)?  The first reason
 * if not. */
bool vhost_device_migration_setup(VirtIODevice *vdev, Error **errp);
/* VirtioMigrationOps.cleanup: return once the worker has run what the
 * memory listener queued (the backend stopped logging). */
void vhost_device_migration_cleanup(VirtIODevice *vdev);
/* Log "LABEL: what: reason" and free err. */
void vhost_device_report(VhostDevice *d, Error *err, const char *what);

/* Every vhost device of the machine, in creation order (x-query-vhost).
 * Machine lock held. */
void vhost_device_foreach(MachineState *ms,
                          void (*fn)(VhostDevice *d, void *opaque),
                          void *opaque);

#endif
