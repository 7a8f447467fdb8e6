/* SPDX-License-Identifier: MIT */
/*
 * The generic vhost-user device (QEMU's vhost-user-device): the
 * VhostDevice life cycle plus whatever the backend says the device is —
 * see include/hw/virtio/vhost-user-device.h for the command line.
 *
 * The device offers the guest the backend's features minus the ones
 * kvmini cannot honour (VUDEV_HIDDEN_FEATURES) and mirrors the backend's
 * config space: read at connect and on the backend's config-change
 * message (a change raises the config interrupt), written through with
 * SET_CONFIG and read back, so the guest always sees what the backend
 * holds.  Everything runs with the machine lock held.
 */
#include "hw/virtio/vhost-user-device.h"
#include "hw/virtio/vhost-user.h"
#include "qemu/option.h"

#include <string.h>

/* --- the generic device: features ---------------------------------------- */

#ifndef VIRTIO_F_NOTIFICATION_DATA
#define VIRTIO_F_NOTIFICATION_DATA 38
#endif
#ifndef VIRTIO_F_NOTIF_CONFIG_DATA
#define VIRTIO_F_NOTIF_CONFIG_DATA 39
#endif
#ifndef VIRTIO_F_RING_RESET
#define VIRTIO_F_RING_RESET 40
#endif
#ifndef VIRTIO_F_ADMIN_VQ
#define VIRTIO_F_ADMIN_VQ 41
#endif

/*
 * Backend features the guest never sees.  Between kvmini and the backend
 * only: LOG_ALL (kvmini sets it while migrating) and PROTOCOL_FEATURES.
 * Transport features kvmini's virtio-mmio and vhost core do not provide:
 * ACCESS_PLATFORM (no vIOMMU: the backend would expect IOTLB traffic),
 * RING_PACKED (rings are set up as split rings), SR_IOV and ADMIN_VQ
 * (PCI), NOTIFICATION_DATA and NOTIF_CONFIG_DATA (QueueNotify is an
 * ioeventfd matching the bare queue index), RING_RESET (no QueueReset).
 */
#define VUDEV_HIDDEN_FEATURES                    \
    ((1ULL << VHOST_USER_F_LOG_ALL) |            \
     (1ULL << VHOST_USER_F_PROTOCOL_FEATURES) |  \
     (1ULL << VIRTIO_F_ACCESS_PLATFORM) |        \
     (1ULL << VIRTIO_F_RING_PACKED) |            \
     (1ULL << VIRTIO_F_SR_IOV) |                 \
     (1ULL << VIRTIO_F_NOTIFICATION_DATA) |      \
     (1ULL << VIRTIO_F_NOTIF_CONFIG_DATA) |      \
     (1ULL << VIRTIO_F_RING_RESET) |             \
     (1ULL << VIRTIO_F_ADMIN_VQ))

#define VUDEV_MAX_VIRTIO_ID 63

static VHostUserDevice *vudev_of_base(VhostDevice *b)
{
    return container_of(b, VHostUserDevice, parent);
}

static VHostUserDevice *vudev_of(VirtIODevice *vdev)
{
    return vudev_of_base(vhost_device_of(vdev));
}

static uint64_t vudev_get_features(VirtIODevice *vdev)
{
    return vudev_of(vdev)->backend_features & ~VUDEV_HIDDEN_FEATURES;
}

/* --- the generic device: config space ------------------------------------ */

/* Read the backend's config into the cache; with notify, a change raises
 * the config interrupt (not for the guest's own writes). */
static bool vudev_read_config(VHostUserDevice *d, bool notify, Error **errp)
{
    uint8_t cfg[VHOST_USER_MAX_CONFIG_SIZE] = { 0 };
    bool changed;

    if (!d->config_size) {
        return true;
    }
    if (!vhost_dev_get_config(&d->parent.devs[0], cfg, d->config_size, errp)) {
        return false;
    }
    changed = d->have_config && memcmp(cfg, d->config, d->config_size);
    memcpy(d->config, cfg, d->config_size);
    d->have_config = true;
    if (changed && notify) {
        virtio_notify_config(&d->parent.vdev);
    }
    return true;
}

static bool vudev_fetch_config(VhostDevice *b, Error **errp)
{
    return vudev_read_config(vudev_of_base(b), true, errp);
}

static void vudev_get_config(VirtIODevice *vdev)
{
    VHostUserDevice *d = vudev_of(vdev);

    memcpy(vdev->config, d->config, MIN(vdev->config_len, d->config_size));
}

/* The written range goes to the backend as is; reading it back shows the
 * guest what the backend made of it (it may ignore read-only fields). */
typedef struct VudevWrite {
    uint32_t offset, size;
} VudevWrite;

/* On the connection's worker.  Without a backend the write is lost; the
 * guest's next read shows the config the backend last reported. */
static bool vudev_write_config(VhostDevice *b, void *arg, Error **errp)
{
    VHostUserDevice *d = vudev_of_base(b);
    const VudevWrite *w = arg;

    if (!b->connected) {
        return true;
    }
    return vhost_dev_set_config(&b->devs[0], &b->vdev.config[w->offset],
                                w->offset, w->size,
                                VHOST_SET_CONFIG_TYPE_FRONTEND, errp) &&
           vudev_read_config(d, false, errp);
}

static void vudev_set_config(VirtIODevice *vdev, uint32_t offset,
                             uint32_t size)
{
    VudevWrite w = { offset, size };
    Error *err = NULL;

    if (!vhost_device_run(vhost_device_of(vdev), vudev_write_config, &w,
                          &err)) {
        vhost_device_report(vhost_device_of(vdev), err, "config write");
    }
}

/* --- the generic device: model ------------------------------------------- */

static void vudev_reset(VirtIODevice *vdev)
{
    vhost_device_stop(vhost_device_of(vdev));
}

static bool vudev_check_backend(VhostDevice *b, Error **errp)
{
    VHostUserDevice *d = vudev_of_base(b);

    if (!virtio_has_feature(b->devs[0].features, VIRTIO_F_VERSION_1)) {
        error_setg(errp, "the backend does not offer VIRTIO_F_VERSION_1 "
                   "(features 0x%" PRIx64 "); kvmini drives virtio 1.x "
                   "devices only", b->devs[0].features);
        return false;
    }
    if (d->config_size && !vhost_conn_has_config(b->conn)) {
        error_setg(errp, "config_size=%u but the backend has no config "
                   "space (no CONFIG protocol feature)", d->config_size);
        return false;
    }
    d->backend_features = b->devs[0].features;
    return true;
}

static const VhostDeviceOps vudev_ops = {
    .check_backend = vudev_check_backend,
    .fetch_config = vudev_fetch_config,
};

static const VirtioDeviceClass vudev_class = {
    .name = "vhost-user-device",
    .get_features = vudev_get_features,
    .get_config = vudev_get_config,
    .set_config = vudev_set_config,
    .set_status = vhost_device_set_status,
    .reset = vudev_reset,
};

/* A property the device cannot do without. */
static bool vudev_get_required(GHashTable *opts, const char *key,
                               const char *what, uint64_t *out, Error **errp)
{
    if (!qemu_opt_get(opts, key)) {
        error_setg(errp, "%s is required (%s)", key, what);
        return false;
    }
    return qemu_opt_get_number(opts, key, 0, out, errp);
}

static bool vudev_check_sizes(uint64_t vq_size, uint64_t config_size,
                              Error **errp)
{
    if (!vq_size || vq_size > VHOST_USER_DEVICE_MAX_VQ_SIZE ||
        (vq_size & (vq_size - 1))) {
        error_setg(errp, "vq_size must be a power of 2 between 1 and %d",
                   VHOST_USER_DEVICE_MAX_VQ_SIZE);
        return false;
    }
    if (config_size > VHOST_USER_MAX_CONFIG_SIZE) {
        error_setg(errp, "config_size must be at most %d bytes",
                   VHOST_USER_MAX_CONFIG_SIZE);
        return false;
    }
    return true;
}

static bool vudev_parse(VHostUserDevice *d, GHashTable *opts, Chardev **chr,
                        Error **errp)
{
    static const char *const keys[] = { "driver", "id", "chardev",
                                        "virtio-id", "num_vqs", "vq_size",
                                        "config_size", NULL };
    uint64_t virtio_id, nvqs, vq_size, config_size;

    if (!qemu_opts_check_keys(opts, keys, errp) ||
        !vhost_user_chardev_opt(d->parent.ms, opts, chr, errp) ||
        !vudev_get_required(opts, "virtio-id", "the device type, e.g. 2 "
                            "for a block device", &virtio_id, errp) ||
        !vudev_get_required(opts, "num_vqs", "the number of virtqueues",
                            &nvqs, errp) ||
        !qemu_opt_get_number(opts, "vq_size",
                             VHOST_USER_DEVICE_DEFAULT_VQ_SIZE, &vq_size,
                             errp) ||
        !qemu_opt_get_number(opts, "config_size", 0, &config_size, errp)) {
        return false;
    }
    if (virtio_id < 1 || virtio_id > VUDEV_MAX_VIRTIO_ID) {
        error_setg(errp, "virtio-id must be between 1 and %d",
                   VUDEV_MAX_VIRTIO_ID);
        return false;
    }
    if (nvqs < 1 || nvqs > VIRTIO_QUEUE_MAX) {
        error_setg(errp, "num_vqs must be between 1 and %d",
                   VIRTIO_QUEUE_MAX);
        return false;
    }
    if (!vudev_check_sizes(vq_size, config_size, errp)) {
        return false;
    }
    d->cls = vudev_class;
    d->cls.device_id = virtio_id;
    d->nvqs = nvqs;
    d->vq_size = vq_size;
    d->config_size = config_size;
    return true;
}

static void vhost_user_device_free(VHostUserDevice *d)
{
    if (!d) {
        return;
    }
    vhost_device_unrealize(&d->parent);
    g_free(d);
}

static void vudev_cleanup(void *dev)
{
    vhost_user_device_free(dev);
}

static bool vudev_create(MachineState *ms, GHashTable *opts, Error **errp)
{
    VHostUserDevice *d = g_new0(VHostUserDevice, 1);
    VhostConn *conn;
    Chardev *chr;

    vhost_device_init(&d->parent, ms, "vhost-user-device",
                      qemu_opt_get(opts, "id"), &vudev_ops);
    if (!vudev_parse(d, opts, &chr, errp) ||
        !(conn = vhost_user_conn_new(chr, d->parent.id, &ms->lock, errp))) {
        vhost_user_device_free(d);
        return false;
    }
    vhost_device_set_conn(&d->parent, conn, true);
    vhost_device_alloc_devs(&d->parent, 1, d->nvqs);
    return vhost_device_realize(&d->parent, &d->cls, d->nvqs, d->vq_size,
                                d->config_size, d, vudev_cleanup, errp);
}

static const DeviceModel vhost_user_device_model = {
    .name = "vhost-user-device",
    .help = "chardev=ID,virtio-id=N,num_vqs=N[,vq_size=N][,config_size=N]"
            "[,id=ID]",
    .create = vudev_create,
};
DEVICE_MODEL_REGISTER(vhost_user_device_model);
