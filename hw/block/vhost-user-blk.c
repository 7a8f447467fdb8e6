/* SPDX-License-Identifier: MIT */
/*
 * vhost-user-blk device model (see the header for the command line).
 *
 * The life cycle (connect, start on DRIVER_OK, stop, disconnect and
 * reconnect) is VhostDevice's, with one vhost_dev for all queues; the blk
 * specifics are its hooks:
 *   check_backend -> the backend has the queues num-queues asks for
 *   fetch_config  -> GET_CONFIG (as much as the features define), with
 *                    num_queues and wce patched
 *   pre_start     -> the inflight region
 * Everything runs with the machine lock held.
 */
#include "hw/virtio/vhost-user-blk.h"
#include "hw/virtio/vhost-user.h"
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

static VHostUserBlk *vub_of_base(VhostDevice *b)
{
    return container_of(b, VHostUserBlk, parent);
}

static VHostUserBlk *vub_of(VirtIODevice *vdev)
{
    return vub_of_base(vhost_device_of(vdev));
}

/* --- start ------------------------------------------------------------- */

/* A backend that tracks inflight I/O gets its region (a no-op for one
 * that does not). */
static bool vub_pre_start(VhostDevice *b, Error **errp)
{
    VHostUserBlk *s = vub_of_base(b);

    /* Fetched once: it is what lets a restarted backend resubmit. */
    if (!s->inflight.addr &&
        !vhost_dev_get_inflight(&b->devs[0], s->queue_size, &s->inflight,
                                errp)) {
        return false;
    }
    return vhost_dev_set_inflight(&b->devs[0], &s->inflight, errp);
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
    return vhost_get_features(&s->parent.devs[0], vub_feature_bits, f);
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

#define VUB_WCE_OFFSET offsetof(struct virtio_blk_config, wce)

/* On the connection's worker: the guest's write-cache choice. */
static bool vub_write_wce(VhostDevice *b, void *arg, Error **errp)
{
    VHostUserBlk *s = vub_of_base(b);
    uint8_t wce = b->vdev.config[VUB_WCE_OFFSET];

    if (!b->connected || wce == s->blkcfg.wce) {
        return true;
    }
    if (!vhost_dev_set_config(&b->devs[0], &wce, VUB_WCE_OFFSET, 1,
                              VHOST_SET_CONFIG_TYPE_FRONTEND, errp)) {
        return false;
    }
    s->blkcfg.wce = wce;
    return true;
}

static void vub_set_config(VirtIODevice *vdev, uint32_t offset, uint32_t size)
{
    VHostUserBlk *s = vub_of(vdev);
    Error *err = NULL;

    /* Only the write-cache toggle is writable. */
    if (offset > VUB_WCE_OFFSET || offset + size <= VUB_WCE_OFFSET) {
        return;
    }
    if (!vhost_device_run(&s->parent, vub_write_wce, NULL, &err)) {
        vhost_device_report(&s->parent, err, "SET_CONFIG (writeback)");
    }
}

static void vub_reset(VirtIODevice *vdev)
{
    VHostUserBlk *s = vub_of(vdev);

    vhost_device_stop(&s->parent);
    /* A reset device starts its rings from zero. */
    vhost_dev_free_inflight(&s->inflight);
}

/* --- migration (hw/virtio/virtio-migration.h) --------------------------- */

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
    .setup = vhost_device_migration_setup,
    .cleanup = vhost_device_migration_cleanup,
    .vm_state_change = vhost_device_vm_state_change,
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
    .set_status = vhost_device_set_status,
    .reset = vub_reset,
    .migration = &vub_migration_ops,
};

/* --- backend connection -------------------------------------------------- */

static bool vub_fetch_config(VhostDevice *b, Error **errp)
{
    VHostUserBlk *s = vub_of_base(b);
    struct virtio_blk_config cfg = { 0 };

    if (!vhost_dev_get_config(&b->devs[0], (uint8_t *)&cfg,
                              vub_config_size(b->devs[0].features), errp)) {
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
        virtio_notify_config(&b->vdev);
    }
    return true;
}

/* A backend that does not say how many queues it has gets the benefit of
 * the doubt. */
static bool vub_check_queues(VhostDevice *b, Error **errp)
{
    VHostUserBlk *s = vub_of_base(b);
    uint64_t max;

    if (s->num_queues > 1 && vhost_conn_max_queues(b->conn, &max) && max &&
        max < s->num_queues) {
        error_setg(errp, "num-queues=%u but the backend supports only %"
                   PRIu64, s->num_queues, max);
        return false;
    }
    return true;
}

static const VhostDeviceOps vub_ops = {
    .check_backend = vub_check_queues,
    .fetch_config = vub_fetch_config,
    .pre_start = vub_pre_start,
};

/* --- creation ---------------------------------------------------------- */

static bool vub_parse(VHostUserBlk *s, GHashTable *opts, Chardev **chr,
                      Error **errp)
{
    static const char *const keys[] = { "driver", "id", "chardev",
                                        "num-queues", "queue-size",
                                        "config-wce", NULL };
    uint64_t nq, qs;

    if (!qemu_opts_check_keys(opts, keys, errp) ||
        !qemu_opt_get_number(opts, "num-queues", 1, &nq, errp) ||
        !qemu_opt_get_number(opts, "queue-size", VUB_DEFAULT_QUEUE_SIZE,
                             &qs, errp) ||
        !qemu_opt_get_bool(opts, "config-wce", true, &s->config_wce, errp) ||
        !vhost_user_chardev_opt(s->parent.ms, opts, chr, errp)) {
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

static void vhost_user_blk_free(VHostUserBlk *s)
{
    if (!s) {
        return;
    }
    vhost_device_unrealize(&s->parent);
    vhost_dev_free_inflight(&s->inflight);
    g_free(s);
}

static void vub_cleanup(void *dev)
{
    vhost_user_blk_free(dev);
}

static bool vub_create(MachineState *ms, GHashTable *opts, Error **errp)
{
    VHostUserBlk *s = g_new0(VHostUserBlk, 1);
    VhostConn *conn;
    Chardev *chr;

    s->inflight.fd = -1;
    vhost_device_init(&s->parent, ms, "vhost-user-blk",
                      qemu_opt_get(opts, "id"), &vub_ops);
    if (!vub_parse(s, opts, &chr, errp) ||
        !(conn = vhost_user_conn_new(chr, s->parent.id, &ms->lock, errp))) {
        vhost_user_blk_free(s);
        return false;
    }
    vhost_device_set_conn(&s->parent, conn, true);
    vhost_device_alloc_devs(&s->parent, 1, s->num_queues);
    /* As QEMU's realize: the backend describes the disk, wait for it. */
    return vhost_device_realize(&s->parent, &vhost_user_blk_class,
                                s->num_queues, s->queue_size,
                                VUB_CONFIG_MAX_SIZE, s, vub_cleanup, errp);
}

/* system_reset (QMP): as a driver reset. */
static void vub_qdev_reset(void *dev)
{
    virtio_reset(&((VHostUserBlk *)dev)->parent.vdev);
}

static const DeviceModel vhost_user_blk_model = {
    .name = "vhost-user-blk",
    .help = "chardev=ID[,id=ID][,num-queues=N][,queue-size=N]"
            "[,config-wce=on|off]",
    .create = vub_create,
    .reset = vub_qdev_reset,
};
DEVICE_MODEL_REGISTER(vhost_user_blk_model);
