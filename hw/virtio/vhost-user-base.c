/* SPDX-License-Identifier: MIT */
/*
 * vhost-user devices: the life cycle every device model shares
 * (VHostUserBase: connect, start on DRIVER_OK, stop, disconnect and
 * reconnect) and the generic vhost-user-device, which is that life cycle
 * plus whatever the backend says the device is (see the header for the
 * command line and the hooks a model fills in).
 *
 * The generic device offers the guest the backend's features minus the
 * ones kvmini cannot honour (VUDEV_HIDDEN_FEATURES) and mirrors the
 * backend's config space: read at connect and on the backend's
 * config-change message (a change raises the config interrupt), written
 * through with SET_CONFIG and read back, so the guest always sees what
 * the backend holds.  Everything runs with the machine lock held.
 */
#include "hw/virtio/vhost-user-base.h"
#include "hw/virtio/vhost-user-proto.h"
#include "qemu/option.h"

#include <assert.h>
#include <string.h>

/* --- start / stop -------------------------------------------------------- */

static bool vubase_start(VHostUserBase *b, Error **errp)
{
    VirtIODevice *vdev = &b->vdev;

    if (!vhost_dev_enable_notifiers(&b->dev, vdev, errp)) {
        return false;
    }
    if (!vdev->transport->set_guest_notifiers(vdev, b->num_queues, true,
                                              errp)) {
        goto err_host;
    }
    b->dev.acked_features = vdev->guest_features;
    if ((b->ops->pre_start && !b->ops->pre_start(b, errp)) ||
        !vhost_dev_start(&b->dev, vdev, true, errp)) {
        goto err_guest;
    }
    b->started_vu = true;
    return true;

err_guest:
    vdev->transport->set_guest_notifiers(vdev, b->num_queues, false, NULL);
err_host:
    vhost_dev_disable_notifiers(&b->dev, vdev);
    return false;
}

void vhost_user_base_stop(VHostUserBase *b)
{
    VirtIODevice *vdev = &b->vdev;

    if (!b->started_vu) {
        return;
    }
    b->started_vu = false;
    vhost_dev_stop(&b->dev, vdev, true);
    vdev->transport->set_guest_notifiers(vdev, b->num_queues, false, NULL);
    vhost_dev_disable_notifiers(&b->dev, vdev);
}

void vhost_user_base_report(VHostUserBase *b, Error *err, const char *what)
{
    error_report("%s: %s: %s", b->label, what, error_get_pretty(err));
    error_free(err);
}

static bool vubase_should_run(VHostUserBase *b)
{
    return b->connected && (b->vdev.status & VIRTIO_CONFIG_S_DRIVER_OK) &&
           !(b->vdev.status & VIRTIO_CONFIG_S_NEEDS_RESET) &&
           !b->vdev.vm_stopped;
}

static void vubase_update_running(VHostUserBase *b)
{
    Error *err = NULL;

    if (vubase_should_run(b) && !b->started_vu) {
        if (!vubase_start(b, &err)) {
            vhost_user_base_report(b, err, "could not start the backend");
        }
    } else if (!vubase_should_run(b) && b->started_vu) {
        vhost_user_base_stop(b);
    }
}

void vhost_user_base_set_status(VirtIODevice *vdev, uint8_t status)
{
    vubase_update_running(vhost_user_base_of(vdev));
}

bool vhost_user_base_vm_state_change(VirtIODevice *vdev, Error **errp)
{
    VHostUserBase *b = vhost_user_base_of(vdev);

    if (!vubase_should_run(b)) {
        vhost_user_base_stop(b);
        return true;
    }
    return b->started_vu || vubase_start(b, errp);
}

struct vhost_dev *vhost_user_base_mig_vhost_dev(VirtIODevice *vdev,
                                                unsigned n)
{
    return n == 0 ? &vhost_user_base_of(vdev)->dev : NULL;
}

/* --- backend connection -------------------------------------------------- */

static void vubase_config_notifier(struct vhost_dev *dev)
{
    VHostUserBase *b = container_of(dev, VHostUserBase, dev);
    Error *err = NULL;

    if (b->ops->fetch_config && !b->ops->fetch_config(b, &err)) {
        vhost_user_base_report(b, err, "config change");
    }
}

static const VhostDevConfigOps vubase_config_ops = {
    .config_notifier = vubase_config_notifier,
};

static bool vubase_connect(VHostUserBase *b, Error **errp)
{
    if (b->connected) {
        return true;
    }
    b->dev.nvqs = b->num_queues;
    b->dev.vq_index = 0;
    b->dev.vq_index_end = b->num_queues;
    b->dev.id = b->label;
    b->dev.config_ops = &vubase_config_ops;
    if (!vhost_user_init(&b->vhost_user, b->chr, b->label, errp) ||
        !vhost_dev_init(&b->dev, &b->vhost_user, &vhost_user_ops,
                        &b->ms->address_space_memory, errp) ||
        (b->ops->check_backend && !b->ops->check_backend(b, errp)) ||
        (b->ops->fetch_config && !b->ops->fetch_config(b, errp))) {
        vhost_dev_cleanup(&b->dev);
        vhost_user_cleanup(&b->vhost_user);
        return false;
    }
    b->connected = true;
    qdev_vhost_set_connected(b->ms, &b->dev, b->id, b->chr, true);
    vubase_update_running(b);
    return true;
}

static void vubase_disconnect(VHostUserBase *b)
{
    if (!b->connected) {
        return;
    }
    b->connected = false;
    vhost_user_base_stop(b);
    vhost_dev_cleanup(&b->dev);
    vhost_user_cleanup(&b->vhost_user);
    qdev_vhost_set_connected(b->ms, &b->dev, b->id, b->chr, false);
}

static void vubase_chr_event(void *opaque, ChrEvent event)
{
    VHostUserBase *b = opaque;
    Error *err = NULL;

    g_mutex_lock(&b->ms->lock);
    if (event == CHR_EVENT_OPENED) {
        if (!vubase_connect(b, &err)) {
            vhost_user_base_report(b, err, "backend connection failed");
            qemu_chr_fe_disconnect(b->chr);
        }
    } else {
        error_report("%s: backend disconnected", b->label);
        vubase_disconnect(b);
    }
    g_mutex_unlock(&b->ms->lock);
}

/* --- creation ------------------------------------------------------------ */

void vhost_user_base_init(VHostUserBase *b, MachineState *ms,
                          const char *model, const char *id,
                          const VHostUserBaseOps *ops)
{
    assert(ops);
    b->ms = ms;
    b->ops = ops;
    b->id = id ? g_strdup(id) : g_strdup_printf("%s%u", model,
                                                ms->mmio_slots_used);
    b->label = g_strdup_printf("%s '%s'", model, b->id);
}

bool vhost_user_base_find_chardev(VHostUserBase *b, GHashTable *opts,
                                  Error **errp)
{
    const char *chardev = qemu_opt_get(opts, "chardev");

    if (!chardev) {
        error_setg(errp, "chardev is required (chardev=ID of a -chardev "
                   "socket)");
        return false;
    }
    b->chr = g_hash_table_lookup(b->ms->chardevs, chardev);
    if (!b->chr) {
        error_setg(errp, "chardev '%s' not found", chardev);
        return false;
    }
    return true;
}

bool vhost_user_base_realize(VHostUserBase *b, const VirtioDeviceClass *cls,
                             uint32_t config_len, void *dev,
                             QdevCleanupFn *cleanup, Error **errp)
{
    qdev_register(b->ms, dev, cleanup);
    qdev_register_vhost(b->ms, &b->dev);
    if (!qemu_chr_fe_claim(b->chr, b->id, errp)) {
        b->chr = NULL;          /* another device's: leave it alone */
        return false;
    }
    virtio_init(&b->vdev, cls, b->ms, b->id, b->num_queues, b->queue_size,
                config_len);
    if (!virtio_mmio_plug(&b->proxy, &b->vdev, b->ms, errp)) {
        return false;
    }
    /* As QEMU's realize: the backend describes the device, wait for it. */
    if (!qemu_chr_wait_connected(b->chr, errp) || !vubase_connect(b, errp)) {
        return false;
    }
    qemu_chr_fe_set_handlers(b->chr, NULL, vubase_chr_event, b);
    return true;
}

/* Give back the chardev realize claimed (qemu_chr_fe_claim with the
 * device id as owner), so that a device_add that failed, or a later one
 * after this device is gone, can use it again.  A chardev that another
 * frontend holds (the claim failed) or that was never claimed (the
 * options did not parse) is left alone. */
static void vubase_release_chardev(VHostUserBase *b)
{
    if (b->chr && b->chr->fe_owner && b->id &&
        !strcmp(b->chr->fe_owner, b->id)) {
        g_clear_pointer(&b->chr->fe_owner, g_free);
    }
}

void vhost_user_base_unrealize(VHostUserBase *b)
{
    if (b->chr && b->chr->fe_event == vubase_chr_event &&
        b->chr->fe_opaque == b) {
        qemu_chr_fe_set_handlers(b->chr, NULL, NULL, NULL);
    }
    vubase_disconnect(b);
    vubase_release_chardev(b);
    if (b->ms) {
        qdev_unregister_vhost(b->ms, &b->dev);
    }
    virtio_mmio_unplug(&b->proxy);
    virtio_cleanup(&b->vdev);
    g_clear_pointer(&b->id, g_free);
    g_clear_pointer(&b->label, g_free);
}

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

static VHostUserDevice *vudev_of_base(VHostUserBase *b)
{
    return container_of(b, VHostUserDevice, parent);
}

static VHostUserDevice *vudev_of(VirtIODevice *vdev)
{
    return vudev_of_base(vhost_user_base_of(vdev));
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
    if (!vhost_dev_get_config(&d->parent.dev, cfg, d->config_size, errp)) {
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

static bool vudev_fetch_config(VHostUserBase *b, Error **errp)
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
static void vudev_set_config(VirtIODevice *vdev, uint32_t offset,
                             uint32_t size)
{
    VHostUserDevice *d = vudev_of(vdev);
    Error *err = NULL;

    /* Without a backend the write is lost; the guest's next read shows
     * the config the backend last reported. */
    if (!d->parent.connected) {
        return;
    }
    if (!vhost_dev_set_config(&d->parent.dev, &vdev->config[offset], offset,
                              size, VHOST_SET_CONFIG_TYPE_FRONTEND, &err) ||
        !vudev_read_config(d, false, &err)) {
        vhost_user_base_report(&d->parent, err, "config write");
    }
}

/* --- the generic device: model ------------------------------------------- */

static void vudev_reset(VirtIODevice *vdev)
{
    vhost_user_base_stop(vhost_user_base_of(vdev));
}

static bool vudev_check_backend(VHostUserBase *b, Error **errp)
{
    VHostUserDevice *d = vudev_of_base(b);

    if (!virtio_has_feature(b->dev.features, VIRTIO_F_VERSION_1)) {
        error_setg(errp, "the backend does not offer VIRTIO_F_VERSION_1 "
                   "(features 0x%" PRIx64 "); kvmini drives virtio 1.x "
                   "devices only", b->dev.features);
        return false;
    }
    if (d->config_size &&
        !virtio_has_feature(b->dev.protocol_features,
                            VHOST_USER_PROTOCOL_F_CONFIG)) {
        error_setg(errp, "config_size=%u but the backend has no config "
                   "space (no CONFIG protocol feature)", d->config_size);
        return false;
    }
    d->backend_features = b->dev.features;
    return true;
}

static const VHostUserBaseOps vudev_ops = {
    .check_backend = vudev_check_backend,
    .fetch_config = vudev_fetch_config,
};

static const VirtioDeviceClass vudev_class = {
    .name = "vhost-user-device",
    .get_features = vudev_get_features,
    .get_config = vudev_get_config,
    .set_config = vudev_set_config,
    .set_status = vhost_user_base_set_status,
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

static bool vudev_parse(VHostUserDevice *d, GHashTable *opts, Error **errp)
{
    static const char *const keys[] = { "driver", "id", "chardev",
                                        "virtio-id", "num_vqs", "vq_size",
                                        "config_size", NULL };
    uint64_t virtio_id, nvqs, vq_size, config_size;

    if (!qemu_opts_check_keys(opts, keys, errp) ||
        !vhost_user_base_find_chardev(&d->parent, opts, errp) ||
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
    d->parent.num_queues = nvqs;
    d->parent.queue_size = vq_size;
    d->config_size = config_size;
    return true;
}

static void vudev_cleanup(void *dev)
{
    vhost_user_device_free(dev);
}

static bool vudev_create(MachineState *ms, GHashTable *opts, Error **errp)
{
    VHostUserDevice *d = g_new0(VHostUserDevice, 1);

    vhost_user_base_init(&d->parent, ms, "vhost-user-device",
                         qemu_opt_get(opts, "id"), &vudev_ops);
    if (!vudev_parse(d, opts, errp)) {
        vhost_user_device_free(d);
        return false;
    }
    return vhost_user_base_realize(&d->parent, &d->cls, d->config_size, d,
                                   vudev_cleanup, errp);
}

void vhost_user_device_free(VHostUserDevice *d)
{
    if (!d) {
        return;
    }
    vhost_user_base_unrealize(&d->parent);
    g_free(d);
}

const DeviceModel vhost_user_device_model = {
    .name = "vhost-user-device",
    .help = "chardev=ID,virtio-id=N,num_vqs=N[,vq_size=N][,config_size=N]"
            "[,id=ID]",
    .create = vudev_create,
};
DEVICE_MODEL_REGISTER(vhost_user_device_model);
