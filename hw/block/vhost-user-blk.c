/* SPDX-License-Identifier: MIT */
/*
 * vhost-user-blk device model (see the header for the command line).
 *
 * Life cycle:
 *   create   -> wait for the backend (reconnect=/server), connect
 *   connect  -> vhost_user_init + vhost_dev_init (features, protocol
 *               features, owner), GET_CONFIG
 *   DRIVER_OK-> start: host notifiers (ioeventfd), guest notifiers (irqfd),
 *               inflight region, vhost_dev_start
 *   status 0 -> stop: vhost_dev_stop saves each ring's avail index
 *   CLOSED   -> stop without the backend, vhost_dev_cleanup; the guest
 *               keeps its rings and waits
 *   OPENED   -> connect again and, if the driver is running, start from
 *               the saved ring state
 * Everything runs with the machine lock held.
 */
#include "hw/virtio/vhost-user-blk.h"
#include "hw/virtio/vhost-user-proto.h"
#include "hw/virtio/virtio-migration.h"
#include "qemu/compiler.h"
#include "qemu/option.h"

#include <endian.h>
#include <inttypes.h>
#include <stddef.h>
#include <string.h>

#define VUB_DEFAULT_QUEUE_SIZE 128
#define VUB_MAX_QUEUE_SIZE     1024

/* Feature bits the device passes from the backend to the guest. */
static const int vub_feature_bits[] = {
    VIRTIO_BLK_F_SIZE_MAX, VIRTIO_BLK_F_SEG_MAX, VIRTIO_BLK_F_GEOMETRY,
    VIRTIO_BLK_F_BLK_SIZE, VIRTIO_BLK_F_TOPOLOGY, VIRTIO_BLK_F_MQ,
    VIRTIO_BLK_F_RO, VIRTIO_BLK_F_FLUSH, VIRTIO_BLK_F_CONFIG_WCE,
    VIRTIO_BLK_F_DISCARD, VIRTIO_BLK_F_WRITE_ZEROES,
    VIRTIO_F_VERSION_1, VIRTIO_RING_F_INDIRECT_DESC,
    VIRTIO_RING_F_EVENT_IDX, VIRTIO_F_NOTIFY_ON_EMPTY,
    VHOST_INVALID_FEATURE_BIT
};

/* Config fields exist only up to the last feature that defines one
 * (virtio spec 5.2.4); backends refuse GET_CONFIG beyond what they know. */
static const struct {
    int bit;
    uint32_t end;
} vub_config_ends[] = {
    { VIRTIO_BLK_F_DISCARD,
      offsetof(struct virtio_blk_config, max_discard_sectors) + 12 },
    { VIRTIO_BLK_F_WRITE_ZEROES,
      offsetof(struct virtio_blk_config, unused1) + 3 },
};

/* Through num_queues, always present for a modern device. */
#define VUB_CONFIG_MIN_SIZE \
    (offsetof(struct virtio_blk_config, num_queues) + 2)
#define VUB_CONFIG_MAX_SIZE (offsetof(struct virtio_blk_config, unused1) + 3)

static uint32_t vub_config_size(uint64_t features)
{
    uint32_t size = VUB_CONFIG_MIN_SIZE;

    for (size_t i = 0; i < G_N_ELEMENTS(vub_config_ends); i++) {
        if (virtio_has_feature(features, vub_config_ends[i].bit)) {
            size = MAX(size, vub_config_ends[i].end);
        }
    }
    return size;
}

static VHostUserBlk *vub_of(VirtIODevice *vdev)
{
    return container_of(vdev, VHostUserBlk, vdev);
}

static void vub_report(VHostUserBlk *s, Error *err, const char *what)
{
    error_report("%s: %s: %s", s->label, what, error_get_pretty(err));
    error_free(err);
}

/* --- start / stop -------------------------------------------------------- */

static bool vub_setup_inflight(VHostUserBlk *s, Error **errp)
{
    if (!virtio_has_feature(s->dev.protocol_features,
                            VHOST_USER_PROTOCOL_F_INFLIGHT_SHMFD)) {
        return true;
    }
    /* Fetched once: it is what lets a restarted backend resubmit. */
    if (!s->inflight.addr &&
        !vhost_dev_get_inflight(&s->dev, s->queue_size, &s->inflight, errp)) {
        return false;
    }
    return vhost_dev_set_inflight(&s->dev, &s->inflight, errp);
}

static bool vub_start(VHostUserBlk *s, Error **errp)
{
    VirtIODevice *vdev = &s->vdev;

    if (!vhost_dev_enable_notifiers(&s->dev, vdev, errp)) {
        return false;
    }
    if (!vdev->transport->set_guest_notifiers(vdev, s->num_queues, true,
                                              errp)) {
        goto err_host;
    }
    s->dev.acked_features = vdev->guest_features;
    if (!vub_setup_inflight(s, errp) ||
        !vhost_dev_start(&s->dev, vdev, true, errp)) {
        goto err_guest;
    }
    s->started_vu = true;
    return true;

err_guest:
    vdev->transport->set_guest_notifiers(vdev, s->num_queues, false, NULL);
err_host:
    vhost_dev_disable_notifiers(&s->dev, vdev);
    return false;
}

static void vub_stop(VHostUserBlk *s)
{
    VirtIODevice *vdev = &s->vdev;

    if (!s->started_vu) {
        return;
    }
    s->started_vu = false;
    vhost_dev_stop(&s->dev, vdev, true);
    vdev->transport->set_guest_notifiers(vdev, s->num_queues, false, NULL);
    vhost_dev_disable_notifiers(&s->dev, vdev);
}

static bool vub_should_run(VHostUserBlk *s)
{
    return s->connected && (s->vdev.status & VIRTIO_CONFIG_S_DRIVER_OK) &&
           !(s->vdev.status & VIRTIO_CONFIG_S_NEEDS_RESET) &&
           !s->vdev.vm_stopped;
}

static void vub_update_running(VHostUserBlk *s)
{
    Error *err = NULL;

    if (vub_should_run(s) && !s->started_vu) {
        if (!vub_start(s, &err)) {
            vub_report(s, err, "could not start the backend");
        }
    } else if (!vub_should_run(s) && s->started_vu) {
        vub_stop(s);
    }
}

/* --- virtio hooks ------------------------------------------------------ */

static uint64_t vub_get_features(VirtIODevice *vdev)
{
    VHostUserBlk *s = vub_of(vdev);
    uint64_t f = 0;

    /* Everything the device model can pass through ... */
    for (size_t i = 0; vub_feature_bits[i] != VHOST_INVALID_FEATURE_BIT; i++) {
        f |= 1ULL << vub_feature_bits[i];
    }
    if (s->num_queues == 1) {
        f &= ~(1ULL << VIRTIO_BLK_F_MQ);
    }
    if (!s->config_wce) {
        f &= ~(1ULL << VIRTIO_BLK_F_CONFIG_WCE);
    }
    /* ... that the backend offers too. */
    return vhost_get_features(&s->dev, vub_feature_bits, f);
}

static bool vub_set_features(VirtIODevice *vdev, uint64_t features)
{
    return true;    /* sent to the backend at start (acked_features) */
}

static void vub_get_config(VirtIODevice *vdev)
{
    VHostUserBlk *s = vub_of(vdev);

    memcpy(vdev->config, &s->blkcfg,
           MIN(vdev->config_len, sizeof(s->blkcfg)));
}

static void vub_set_config(VirtIODevice *vdev, uint32_t offset, uint32_t size)
{
    VHostUserBlk *s = vub_of(vdev);
    const uint32_t wce = offsetof(struct virtio_blk_config, wce);
    Error *err = NULL;

    /* Only the write-cache toggle is writable. */
    if (offset > wce || offset + size <= wce || !s->connected ||
        vdev->config[wce] == s->blkcfg.wce) {
        return;
    }
    if (!vhost_dev_set_config(&s->dev, &vdev->config[wce], wce, 1,
                              VHOST_SET_CONFIG_TYPE_FRONTEND, &err)) {
        vub_report(s, err, "SET_CONFIG (writeback)");
        return;
    }
    s->blkcfg.wce = vdev->config[wce];
}

static void vub_set_status(VirtIODevice *vdev, uint8_t status)
{
    vub_update_running(vub_of(vdev));
}

static void vub_reset(VirtIODevice *vdev)
{
    VHostUserBlk *s = vub_of(vdev);

    vub_stop(s);
    /* A reset device starts its rings from zero. */
    vhost_dev_free_inflight(&s->inflight);
}

/* --- migration (hw/virtio/virtio-migration.h) --------------------------- */

#define VUB_WCE_OFFSET offsetof(struct virtio_blk_config, wce)

static struct vhost_dev *vub_mig_vhost_dev(VirtIODevice *vdev, unsigned n)
{
    return n == 0 ? &vub_of(vdev)->dev : NULL;
}

static bool vub_vm_state_change(VirtIODevice *vdev, Error **errp)
{
    VHostUserBlk *s = vub_of(vdev);

    if (!vub_should_run(s)) {
        vub_stop(s);
        return true;
    }
    return s->started_vu || vub_start(s, errp);
}

/* The disk must be the same; the guest's write-cache choice moves. */
static void vub_mig_save(VirtIODevice *vdev, GByteArray *out)
{
    VHostUserBlk *s = vub_of(vdev);

    mig_put_be64(out, le64toh(s->blkcfg.capacity));
    mig_put_u8(out, s->blkcfg.wce);
}

static bool vub_mig_load(VirtIODevice *vdev, MigReader *r,
                         Error **errp)
{
    VHostUserBlk *s = vub_of(vdev);
    uint64_t capacity = mig_get_be64(r);
    uint8_t wce = mig_get_u8(r);

    if (!mig_reader_check_short(r, errp)) {
        return false;
    }
    if (capacity != le64toh(s->blkcfg.capacity)) {
        error_setg(errp, "disk capacity differs: %" PRIu64 " sectors on "
                   "the source, %" PRIu64 " here", capacity,
                   (uint64_t)le64toh(s->blkcfg.capacity));
        return false;
    }
    vdev->config[VUB_WCE_OFFSET] = wce;
    return true;
}

/* The destination's backend hears the write-cache mode the guest set. */
static bool vub_mig_post_load(VirtIODevice *vdev, Error **errp)
{
    if (vdev->config[VUB_WCE_OFFSET] != vub_of(vdev)->blkcfg.wce) {
        vub_set_config(vdev, VUB_WCE_OFFSET, 1);
    }
    return true;
}

static const VirtioMigrationOps vub_migration_ops = {
    .vhost_dev = vub_mig_vhost_dev,
    .vm_state_change = vub_vm_state_change,
    .save = vub_mig_save,
    .load = vub_mig_load,
    .post_load = vub_mig_post_load,
};

static const VirtioDeviceClass vhost_user_blk_class = {
    .name = "vhost-user-blk",
    .device_id = VIRTIO_ID_BLOCK,
    .get_features = vub_get_features,
    .set_features = vub_set_features,
    .get_config = vub_get_config,
    .set_config = vub_set_config,
    .set_status = vub_set_status,
    .reset = vub_reset,
    .migration = &vub_migration_ops,
};

/* --- backend connection -------------------------------------------------- */

static bool vub_fetch_config(VHostUserBlk *s, Error **errp)
{
    struct virtio_blk_config cfg = { 0 };

    if (!vhost_dev_get_config(&s->dev, (uint8_t *)&cfg,
                              vub_config_size(s->dev.features), errp)) {
        return false;
    }
    cfg.num_queues = s->num_queues;     /* what the guest may use */
    if (!s->config_wce) {
        cfg.wce = 0;
    }
    bool changed = s->have_config && memcmp(&cfg, &s->blkcfg, sizeof(cfg));
    s->blkcfg = cfg;
    s->have_config = true;
    if (changed) {
        virtio_notify_config(&s->vdev);
    }
    return true;
}

static void vub_config_notifier(struct vhost_dev *dev)
{
    VHostUserBlk *s = container_of(dev, VHostUserBlk, dev);
    Error *err = NULL;

    if (!vub_fetch_config(s, &err)) {
        vub_report(s, err, "config change");
    }
}

static const VhostDevConfigOps vub_config_ops = {
    .config_notifier = vub_config_notifier,
};

static bool vub_check_queues(VHostUserBlk *s, Error **errp)
{
    if (s->num_queues > 1 && s->dev.max_queues &&
        s->dev.max_queues < s->num_queues) {
        error_setg(errp, "num-queues=%u but the backend supports only %"
                   PRIu64, s->num_queues, s->dev.max_queues);
        return false;
    }
    return true;
}

static bool vub_connect(VHostUserBlk *s, Error **errp)
{
    if (s->connected) {
        return true;
    }
    s->dev.nvqs = s->num_queues;
    s->dev.vq_index = 0;
    s->dev.vq_index_end = s->num_queues;
    s->dev.id = s->label;
    s->dev.config_ops = &vub_config_ops;
    if (!vhost_user_init(&s->vhost_user, s->chr, s->label, errp) ||
        !vhost_dev_init(&s->dev, &s->vhost_user, &vhost_user_ops,
                        &s->ms->address_space_memory, errp)) {
        goto fail;
    }
    if (!vub_check_queues(s, errp) || !vub_fetch_config(s, errp)) {
        goto fail;
    }
    s->connected = true;
    qdev_vhost_set_connected(s->ms, &s->dev, s->id, s->chr, true);
    vub_update_running(s);
    return true;

fail:
    vhost_dev_cleanup(&s->dev);
    vhost_user_cleanup(&s->vhost_user);
    return false;
}

static void vub_disconnect(VHostUserBlk *s)
{
    if (!s->connected) {
        return;
    }
    s->connected = false;
    vub_stop(s);
    vhost_dev_cleanup(&s->dev);
    vhost_user_cleanup(&s->vhost_user);
    qdev_vhost_set_connected(s->ms, &s->dev, s->id, s->chr, false);
}

static void vub_chr_event(void *opaque, ChrEvent event)
{
    VHostUserBlk *s = opaque;
    Error *err = NULL;

    g_mutex_lock(&s->ms->lock);
    if (event == CHR_EVENT_OPENED) {
        if (!vub_connect(s, &err)) {
            vub_report(s, err, "backend connection failed");
            qemu_chr_fe_disconnect(s->chr);
        }
    } else {
        error_report("%s: backend disconnected", s->label);
        vub_disconnect(s);
    }
    g_mutex_unlock(&s->ms->lock);
}

/* --- creation ---------------------------------------------------------- */

static bool vub_parse(VHostUserBlk *s, MachineState *ms, GHashTable *opts,
                      Error **errp)
{
    static const char *const keys[] = { "driver", "id", "chardev",
                                        "num-queues", "queue-size",
                                        "config-wce", NULL };
    const char *chardev = qemu_opt_get(opts, "chardev");
    uint64_t nq, qs;

    if (!qemu_opts_check_keys(opts, keys, errp) ||
        !qemu_opt_get_number(opts, "num-queues", 1, &nq, errp) ||
        !qemu_opt_get_number(opts, "queue-size", VUB_DEFAULT_QUEUE_SIZE,
                             &qs, errp) ||
        !qemu_opt_get_bool(opts, "config-wce", true, &s->config_wce, errp)) {
        return false;
    }
    if (!chardev) {
        error_setg(errp, "chardev is required (chardev=ID of a -chardev "
                   "socket)");
        return false;
    }
    s->chr = g_hash_table_lookup(ms->chardevs, chardev);
    if (!s->chr) {
        error_setg(errp, "chardev '%s' not found", chardev);
        return false;
    }
    if (nq < 1 || nq > VIRTIO_QUEUE_MAX) {
        error_setg(errp, "num-queues must be between 1 and %d",
                   VIRTIO_QUEUE_MAX);
        return false;
    }
    if (qs < 2 || qs > VUB_MAX_QUEUE_SIZE || (qs & (qs - 1))) {
        error_setg(errp, "queue-size must be a power of 2 between 2 and %d",
                   VUB_MAX_QUEUE_SIZE);
        return false;
    }
    s->num_queues = nq;
    s->queue_size = qs;
    return true;
}

static bool vub_create(MachineState *ms, GHashTable *opts, Error **errp)
{
    VHostUserBlk *s = g_new0(VHostUserBlk, 1);
    const char *id = qemu_opt_get(opts, "id");

    s->ms = ms;
    s->inflight.fd = -1;
    s->id = id ? g_strdup(id) : g_strdup_printf("vhost-user-blk%u",
                                                ms->mmio_slots_used);
    s->label = g_strdup_printf("vhost-user-blk '%s'", s->id);
    if (!vub_parse(s, ms, opts, errp) || !qdev_claim_chardev(ms, s->chr,
                                                            s->id, errp)) {
        goto fail;
    }
    virtio_init(&s->vdev, &vhost_user_blk_class, ms, s->id, s->num_queues,
                s->queue_size, VUB_CONFIG_MAX_SIZE);
    if (!virtio_mmio_plug(&s->proxy, &s->vdev, ms, errp)) {
        goto fail;
    }
    qdev_register(ms, s, (QdevCleanupFn *)vhost_user_blk_free);
    qdev_register_vhost(ms, &s->dev);
    /* As QEMU's realize: the backend describes the disk, wait for it. */
    if (!qemu_chr_wait_connected(s->chr, errp) || !vub_connect(s, errp)) {
        return false;       /* freed by qdev_cleanup */
    }
    qemu_chr_fe_set_handlers(s->chr, NULL, vub_chr_event, s);
    return true;

fail:
    vhost_user_blk_free(s);
    return false;
}

void vhost_user_blk_free(VHostUserBlk *s)
{
    if (!s) {
        return;
    }
    if (s->chr && s->chr->fe_event == vub_chr_event) {
        qemu_chr_fe_set_handlers(s->chr, NULL, NULL, NULL);
    }
    vub_disconnect(s);
    qdev_unregister_vhost(s->ms, &s->dev);
    vhost_dev_free_inflight(&s->inflight);
    virtio_mmio_unplug(&s->proxy);
    virtio_cleanup(&s->vdev);
    g_free(s->id);
    g_free(s->label);
    g_free(s);
}

/* system_reset (QMP): as a driver reset. */
static void vub_qdev_reset(void *dev)
{
    virtio_reset(&((VHostUserBlk *)dev)->vdev);
}

const DeviceModel vhost_user_blk_model = {
    .name = "vhost-user-blk",
    .help = "chardev=ID[,id=ID][,num-queues=N][,queue-size=N]"
            "[,config-wce=on|off]",
    .create = vub_create,
    .reset = vub_qdev_reset,
};
