/* SPDX-License-Identifier: MIT */
/*
 * What every vhost-user device model shares, and the generic device built
 * on it alone.
 *
 * VHostUserBase is the part of a device model that is the same for any
 * vhost-user device: the virtio-mmio slot, the chardev, one struct
 * vhost_dev owning every queue, and the life cycle
 *   realize  -> wait for the backend (reconnect=/server), connect
 *   connect  -> vhost_user_init + vhost_dev_init (features, protocol
 *               features, owner), ops->check_backend, ops->fetch_config
 *   DRIVER_OK-> start (unless migration stopped the VM: vm_stopped):
 *               host notifiers (ioeventfd), guest notifiers (irqfd),
 *               ops->pre_start, vhost_dev_start
 *   status 0 -> stop: vhost_dev_stop saves each ring's avail index
 *   CLOSED   -> stop without the backend, vhost_dev_cleanup; the guest
 *               keeps its rings and waits
 *   OPENED   -> connect again and, if the driver is running, start from
 *               the saved ring state.
 * A device model embeds it as its FIRST member, fills a VirtioDeviceClass
 * whose set_status is vhost_user_base_set_status (and whose reset calls
 * vhost_user_base_stop) and adds its own features and config.  The
 * vhost_dev is registered with the machine (qdev_register_vhost) from
 * realize to unrealize, and marked connected (query-vhost,
 * VHOST_USER_CONNECTED / VHOST_USER_DISCONNECTED) while the backend is.
 * vhost-user-blk is built on it (hw/block/vhost-user-blk.c): its
 * blk-specific parts are the hooks (check_backend: queue count,
 * fetch_config: blk config, pre_start: inflight region).  A model that
 * migrates uses vhost_user_base_vm_state_change and
 * vhost_user_base_mig_vhost_dev in its VirtioMigrationOps.
 *
 * The generic device, as QEMU's vhost-user-device:
 *
 *   -chardev socket,id=c0,path=/tmp/vu.sock[,reconnect=1]
 *   -device vhost-user-device,chardev=c0,virtio-id=N,num_vqs=N
 *           [,vq_size=N][,config_size=N][,id=ID]
 *
 * Everything about the device comes from the backend: the features it
 * offers (GET_FEATURES, minus the vhost-user bits and the transport bits
 * kvmini cannot provide), the config space (config_size bytes, GET_CONFIG
 * at connect and on the backend's config-change message, SET_CONFIG for
 * each guest write).  kvmini provides the virtio-mmio slot with DeviceID
 * virtio-id, guest memory and the notifiers.
 *
 * Threading: everything runs with the machine lock held.
 */
#ifndef HW_VIRTIO_VHOST_USER_BASE_H
#define HW_VIRTIO_VHOST_USER_BASE_H

#include "hw/qdev.h"
#include "hw/virtio/vhost-user.h"
#include "hw/virtio/vhost.h"
#include "hw/virtio/virtio-mmio.h"
#include "qemu/compiler.h"

typedef struct VHostUserBase VHostUserBase;

/* The device model's part of the life cycle; every hook may be NULL. */
typedef struct VHostUserBaseOps {
    /* The backend is connected (vhost_dev_init done: dev.features and
     * dev.protocol_features known).  False refuses it with errp set. */
    bool (*check_backend)(VHostUserBase *b, Error **errp);
    /* Read the device config from the backend: on every connect, after
     * check_backend, and when the backend says its config changed (a
     * failure then is logged).  The model raises the config interrupt
     * with virtio_notify_config() if it sees a change. */
    bool (*fetch_config)(VHostUserBase *b, Error **errp);
    /* Right before vhost_dev_start, with dev.acked_features set (e.g.
     * hand the inflight region to the backend). */
    bool (*pre_start)(VHostUserBase *b, Error **errp);
} VHostUserBaseOps;

struct VHostUserBase {
    VirtIODevice vdev;              /* first: cls hooks get &vdev */
    VirtIOMMIOProxy proxy;
    MachineState *ms;
    char *id;
    char *label;                    /* "MODEL 'ID'" for messages */
    Chardev *chr;
    const VHostUserBaseOps *ops;

    /* Properties: every queue belongs to the one vhost_dev. */
    uint16_t num_queues;
    uint16_t queue_size;

    /* Backend */
    VhostUserState vhost_user;
    struct vhost_dev dev;
    bool connected;                 /* vhost_dev initialised */
    bool started_vu;                /* vhost running */
};

static inline VHostUserBase *vhost_user_base_of(VirtIODevice *vdev)
{
    return container_of(vdev, VHostUserBase, vdev);
}

/*
 * Prepare a zeroed b: id is the -device id (NULL: "MODEL<slot>"), the
 * label "MODEL 'ID'".  Nothing to undo but what unrealize frees.
 */
void vhost_user_base_init(VHostUserBase *b, MachineState *ms,
                          const char *model, const char *id,
                          const VHostUserBaseOps *ops);
/* Look up the chardev= property: "chardev is required (...)" or
 * "chardev 'ID' not found". */
bool vhost_user_base_find_chardev(VHostUserBase *b, GHashTable *opts,
                                  Error **errp);
/*
 * Claim the chardev, create the virtio device (cls, num_queues of
 * queue_size entries, config_len bytes of config), plug it into a
 * virtio-mmio slot, wait for the backend and connect.  From this call on
 * the machine owns the device, success or not: qdev_cleanup() runs
 * cleanup(dev), which must call vhost_user_base_unrealize().
 */
bool vhost_user_base_realize(VHostUserBase *b, const VirtioDeviceClass *cls,
                             uint32_t config_len, void *dev,
                             QdevCleanupFn *cleanup, Error **errp);
/* Detach from the chardev, stop, disconnect, unplug and free what the
 * base holds.  Safe twice and on a half-built (zeroed) b. */
void vhost_user_base_unrealize(VHostUserBase *b);

/* VirtioDeviceClass.set_status of a vhost-user device: start the backend
 * on DRIVER_OK (if connected), stop it when DRIVER_OK goes. */
void vhost_user_base_set_status(VirtIODevice *vdev, uint8_t status);
/* Stop the backend if it runs (for the model's reset hook). */
void vhost_user_base_stop(VHostUserBase *b);
/* VirtioMigrationOps.vm_state_change: stop the backend while
 * vdev->vm_stopped, start it again when cleared (if it should run). */
bool vhost_user_base_vm_state_change(VirtIODevice *vdev, Error **errp);
/* VirtioMigrationOps.vhost_dev: the one vhost_dev. */
struct vhost_dev *vhost_user_base_mig_vhost_dev(VirtIODevice *vdev,
                                                unsigned n);
/* Log "LABEL: what: reason" and free err. */
void vhost_user_base_report(VHostUserBase *b, Error *err, const char *what);

/* --- the generic device ------------------------------------------------- */

#define VHOST_USER_DEVICE_DEFAULT_VQ_SIZE 256
#define VHOST_USER_DEVICE_MAX_VQ_SIZE     1024

typedef struct VHostUserDevice {
    VHostUserBase parent;
    /* Per device: the DeviceID is the virtio-id= property. */
    VirtioDeviceClass cls;
    uint32_t config_size;           /* 0: no config space */
    /* The backend's features at the last connect (offered to the guest,
     * filtered, also while the backend is away). */
    uint64_t backend_features;
    /* The config as the backend last reported it. */
    uint8_t config[VHOST_USER_MAX_CONFIG_SIZE];
    bool have_config;
} VHostUserDevice;

extern const DeviceModel vhost_user_device_model;

/* Stop, disconnect and free the device; safe on a half-built one. */
void vhost_user_device_free(VHostUserDevice *d);

#endif
