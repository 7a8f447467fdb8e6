/* SPDX-License-Identifier: MIT */
/*
 * Live migration of virtio-mmio devices: the section of one device
 * (transport registers, virtio core state, the model's own part) and the
 * hooks that stop, restart and start its vhost backends around the
 * switch-over (see include/hw/virtio/virtio-migration.h for the order;
 * the backends' dirty log is the vhost core's memory listener's).
 *
 * Section layout, version 2, big-endian (migration/stream.h; version 1
 * was little-endian):
 *   u32 version, u16 device id, u32 nvqs, u32 config_len
 *   transport: u32 host_features_sel, guest_features_sel, queue_sel,
 *              shm_sel; u64 the driver features being written
 *   core:      u8 status, u8 isr, u64 guest_features, u32 generation,
 *              config_len bytes of config
 *   per queue: u16 num, u8 ready, u64 desc, avail, used,
 *              u16 last_avail_idx, u16 used_idx
 *   model:     u32 length, then that many bytes (VirtioMigrationOps.save)
 * The destination parses and checks everything before it changes a thing:
 * a stream from a different device (type, queue count, config size) or
 * one whose guest uses features the destination's backend does not offer
 * is refused with the reason.
 */
#include "hw/virtio/virtio-migration.h"

#include <inttypes.h>
#include <string.h>

#include "migration/register.h"

#define VIRTIO_MIG_VERSION 2

/* --- helpers ------------------------------------------------------------ */

static VirtIODevice *mig_vdev(void *opaque)
{
    return ((VirtIOMMIOProxy *)opaque)->vdev;
}

static const VirtioMigrationOps *mig_ops(VirtIODevice *vdev)
{
    return vdev->cls->migration;
}

static bool mig_state_change(VirtIODevice *vdev, Error **errp)
{
    const VirtioMigrationOps *ops = mig_ops(vdev);

    return !ops || !ops->vm_state_change || ops->vm_state_change(vdev, errp);
}

/* --- outgoing ------------------------------------------------------------ */

/* The vhost dirty log is not switched here: the vhost core's memory
 * listener does it when migration starts logging, before this hook runs;
 * the model's setup says whether that worked (see
 * include/hw/virtio/virtio-migration.h). */
bool virtio_migration_setup(void *opaque, Error **errp)
{
    VirtIODevice *vdev = mig_vdev(opaque);
    const VirtioMigrationOps *ops = mig_ops(vdev);

    if (!ops) {
        error_setg(errp, "%s '%s': the device does not support migration",
                   vdev->cls->name, vdev->id);
        return false;
    }
    if (ops->setup && !ops->setup(vdev, errp)) {
        return false;
    }
    ((VirtIOMMIOProxy *)opaque)->mig_outgoing = true;
    return true;
}

void virtio_migration_stop(void *opaque)
{
    VirtIODevice *vdev = mig_vdev(opaque);
    Error *err = NULL;

    if (vdev->vm_stopped) {
        return;
    }
    vdev->vm_stopped = true;
    if (!mig_state_change(vdev, &err)) {
        error_prepend(&err, "%s: stopping for migration: ", vdev->id);
        error_report_err(err);
    }
}

static void mig_save_transport(VirtIOMMIOProxy *proxy, GByteArray *out)
{
    mig_put_be32(out, proxy->host_features_sel);
    mig_put_be32(out, proxy->guest_features_sel);
    mig_put_be32(out, proxy->queue_sel);
    mig_put_be32(out, proxy->shm_sel);
    mig_put_be64(out, proxy->guest_features);
}

static void mig_save_core(VirtIODevice *vdev, GByteArray *out)
{
    mig_put_u8(out, vdev->status);
    mig_put_u8(out, vdev->isr);
    mig_put_be64(out, vdev->guest_features);
    mig_put_be32(out, vdev->generation);
    mig_put_bytes(out, vdev->config, vdev->config_len);
    for (unsigned i = 0; i < vdev->nvqs; i++) {
        const VirtQueue *vq = &vdev->vq[i];

        mig_put_be16(out, vq->num);
        mig_put_u8(out, vq->ready);
        mig_put_be64(out, vq->desc);
        mig_put_be64(out, vq->avail);
        mig_put_be64(out, vq->used);
        mig_put_be16(out, vq->last_avail_idx);
        mig_put_be16(out, vq->used_idx);
    }
}

/* The model's bytes, behind their length. */
static void mig_save_model(VirtIODevice *vdev, GByteArray *out)
{
    const VirtioMigrationOps *ops = mig_ops(vdev);
    g_autoptr(GByteArray) model = g_byte_array_new();

    if (ops && ops->save) {
        ops->save(vdev, model);
    }
    mig_put_be32(out, model->len);
    mig_put_bytes(out, model->data, model->len);
}

bool virtio_migration_save(void *opaque, GByteArray *out, Error **errp)
{
    VirtIOMMIOProxy *proxy = opaque;
    VirtIODevice *vdev = proxy->vdev;

    if (!mig_ops(vdev)) {
        error_setg(errp, "%s '%s': the device does not support migration",
                   vdev->cls->name, vdev->id);
        return false;
    }
    /* The rings' indices are only final once the backend stopped. */
    virtio_migration_stop(opaque);
    mig_put_be32(out, VIRTIO_MIG_VERSION);
    mig_put_be16(out, vdev->cls->device_id);
    mig_put_be32(out, vdev->nvqs);
    mig_put_be32(out, vdev->config_len);
    mig_save_transport(proxy, out);
    mig_save_core(vdev, out);
    mig_save_model(vdev, out);
    return true;
}

void virtio_migration_cleanup(void *opaque, bool completed)
{
    VirtIOMMIOProxy *proxy = opaque;
    VirtIODevice *vdev = proxy->vdev;
    const VirtioMigrationOps *ops = mig_ops(vdev);
    Error *err = NULL;

    if (!proxy->mig_outgoing) {
        return;     /* a failed destination never runs the device */
    }
    proxy->mig_outgoing = false;
    if (ops && ops->cleanup) {
        ops->cleanup(vdev);
    }
    if (completed || !vdev->vm_stopped) {
        return;     /* completed: the source stays stopped */
    }
    vdev->vm_stopped = false;
    if (!mig_state_change(vdev, &err)) {
        error_prepend(&err, "%s: restarting after the failed migration: ",
                      vdev->id);
        error_report_err(err);
    }
}

/* --- incoming ------------------------------------------------------------ */

typedef struct VirtioMigQueue {
    uint16_t num;
    bool ready;
    hwaddr desc, avail, used;
    uint16_t last_avail_idx, used_idx;
} VirtioMigQueue;

/* A parsed section, applied only once all of it checked out. */
typedef struct VirtioMigImage {
    uint32_t host_features_sel, guest_features_sel, queue_sel, shm_sel;
    uint64_t driver_features;
    uint8_t status, isr;
    uint64_t guest_features;
    uint32_t generation;
    uint8_t *config;
    VirtioMigQueue vq[VIRTIO_QUEUE_MAX];
    MigReader model;
} VirtioMigImage;

static bool mig_check_header(VirtIODevice *vdev, MigReader *r,
                             Error **errp)
{
    uint32_t version = mig_get_be32(r);
    uint16_t device_id = mig_get_be16(r);
    uint32_t nvqs = mig_get_be32(r);
    uint32_t config_len = mig_get_be32(r);

    if (!mig_reader_check_short(r, errp)) {
        return false;
    }
    if (version != VIRTIO_MIG_VERSION) {
        error_setg(errp, "section version %u, this kvmini reads %u",
                   version, VIRTIO_MIG_VERSION);
        return false;
    }
    if (device_id != vdev->cls->device_id || nvqs != vdev->nvqs ||
        config_len != vdev->config_len) {
        error_setg(errp, "the source's device differs (device id %u, %u "
                   "queues, %u config bytes; here %u, %u, %u)", device_id,
                   nvqs, config_len, vdev->cls->device_id, vdev->nvqs,
                   vdev->config_len);
        return false;
    }
    return true;
}

static void mig_parse_queues(VirtIODevice *vdev, MigReader *r,
                             VirtioMigImage *img)
{
    for (unsigned i = 0; i < vdev->nvqs; i++) {
        VirtioMigQueue *q = &img->vq[i];

        q->num = mig_get_be16(r);
        q->ready = mig_get_u8(r);
        q->desc = mig_get_be64(r);
        q->avail = mig_get_be64(r);
        q->used = mig_get_be64(r);
        q->last_avail_idx = mig_get_be16(r);
        q->used_idx = mig_get_be16(r);
    }
}

static bool mig_parse(VirtIODevice *vdev, MigReader *r,
                      VirtioMigImage *img, Error **errp)
{
    uint32_t model_len;

    img->host_features_sel = mig_get_be32(r);
    img->guest_features_sel = mig_get_be32(r);
    img->queue_sel = mig_get_be32(r);
    img->shm_sel = mig_get_be32(r);
    img->driver_features = mig_get_be64(r);
    img->status = mig_get_u8(r);
    img->isr = mig_get_u8(r);
    img->guest_features = mig_get_be64(r);
    img->generation = mig_get_be32(r);
    img->config = g_malloc0(vdev->config_len);
    mig_get_copy(r, img->config, vdev->config_len);
    mig_parse_queues(vdev, r, img);
    model_len = mig_get_be32(r);
    mig_reader_init(&img->model, mig_get_bytes(r, model_len), model_len);
    if (!mig_reader_check_short(r, errp)) {
        return false;
    }
    if (r->pos != r->len) {
        error_setg(errp, "%zu bytes too many", r->len - r->pos);
        return false;
    }
    return true;
}

static bool mig_check_queues(VirtIODevice *vdev, const VirtioMigImage *img,
                             Error **errp)
{
    for (unsigned i = 0; i < vdev->nvqs; i++) {
        const VirtioMigQueue *q = &img->vq[i];

        if (q->num > vdev->vq[i].num_max || (q->num & (q->num - 1)) ||
            (q->ready && !q->num)) {
            error_setg(errp, "queue %u: size %u invalid here (at most %u)",
                       i, q->num, vdev->vq[i].num_max);
            return false;
        }
    }
    return true;
}

/* A status a driver can reach: known bits, each step after the ones it
 * needs (DRIVER after ACKNOWLEDGE, FEATURES_OK after DRIVER, DRIVER_OK
 * after FEATURES_OK).  Anything else would run a device whose features
 * were never negotiated. */
static bool mig_check_status(uint8_t status, Error **errp)
{
    static const struct { uint8_t bit, needs; } steps[] = {
        { VIRTIO_CONFIG_S_DRIVER, VIRTIO_CONFIG_S_ACKNOWLEDGE },
        { VIRTIO_CONFIG_S_FEATURES_OK, VIRTIO_CONFIG_S_DRIVER },
        { VIRTIO_CONFIG_S_DRIVER_OK, VIRTIO_CONFIG_S_FEATURES_OK },
    };
    const uint8_t known = VIRTIO_CONFIG_S_ACKNOWLEDGE |
        VIRTIO_CONFIG_S_DRIVER | VIRTIO_CONFIG_S_FEATURES_OK |
        VIRTIO_CONFIG_S_DRIVER_OK | VIRTIO_CONFIG_S_NEEDS_RESET |
        VIRTIO_CONFIG_S_FAILED;
    bool bad = status & ~known;

    for (size_t i = 0; i < G_N_ELEMENTS(steps); i++) {
        bad |= (status & steps[i].bit) && !(status & steps[i].needs);
    }
    if (bad) {
        error_setg(errp, "device status 0x%02x is not one a driver can set",
                   status);
        return false;
    }
    return true;
}

/* The guest keeps the features it negotiated: the destination's device
 * (its backend) must offer all of them. */
static bool mig_check_features(VirtIODevice *vdev, const VirtioMigImage *img,
                               Error **errp)
{
    uint64_t offered = virtio_host_features(vdev);
    uint64_t missing = img->guest_features & ~offered;

    if (missing) {
        error_setg(errp, "the guest uses features 0x%" PRIx64 " that this "
                   "device does not offer (offered 0x%" PRIx64 ")", missing,
                   offered);
        return false;
    }
    return true;
}

static bool mig_apply_features(VirtIODevice *vdev, const VirtioMigImage *img,
                               Error **errp)
{
    if (!(img->status & VIRTIO_CONFIG_S_FEATURES_OK)) {
        vdev->guest_features = img->guest_features;
        return true;
    }
    if (!virtio_set_features(vdev, img->guest_features, errp)) {
        error_prepend(errp, "the guest's features do not fit here: ");
        return false;
    }
    return true;
}

static void mig_apply(VirtIOMMIOProxy *proxy, const VirtioMigImage *img)
{
    VirtIODevice *vdev = proxy->vdev;

    proxy->host_features_sel = img->host_features_sel;
    proxy->guest_features_sel = img->guest_features_sel;
    proxy->queue_sel = img->queue_sel;
    proxy->shm_sel = img->shm_sel;
    proxy->guest_features = img->driver_features;
    vdev->status = img->status;
    vdev->broken = img->status & VIRTIO_CONFIG_S_NEEDS_RESET;
    vdev->isr = img->isr;
    vdev->generation = img->generation;
    memcpy(vdev->config, img->config, vdev->config_len);
    for (unsigned i = 0; i < vdev->nvqs; i++) {
        const VirtioMigQueue *q = &img->vq[i];
        VirtQueue *vq = &vdev->vq[i];

        vq->num = q->num;
        vq->ready = q->ready;
        vq->desc = q->desc;
        vq->avail = q->avail;
        vq->used = q->used;
        vq->last_avail_idx = q->last_avail_idx;
        vq->used_idx = q->used_idx;
    }
}

/* Ready queues hold rings the guest could have set with QueueReady:
 * aligned and inside guest RAM (what virtqueue_pop and the backend will
 * read).  A stream that says otherwise fails the load. */
static bool mig_check_rings(VirtIODevice *vdev, Error **errp)
{
    for (unsigned i = 0; i < vdev->nvqs; i++) {
        if (vdev->vq[i].ready && !virtio_queue_valid(vdev, i, errp)) {
            return false;
        }
    }
    return true;
}

static bool mig_load_model(VirtIODevice *vdev, MigReader *r,
                           Error **errp)
{
    const VirtioMigrationOps *ops = mig_ops(vdev);

    if (ops->load && !ops->load(vdev, r, errp)) {
        return false;
    }
    if (!mig_reader_check_short(r, errp)) {
        error_prepend(errp, "device state: ");
        return false;
    }
    if (r->pos != r->len) {
        error_setg(errp, "device state: %zu bytes too many", r->len - r->pos);
        return false;
    }
    return true;
}

static bool mig_load(VirtIOMMIOProxy *proxy, MigReader *r,
                     Error **errp)
{
    VirtIODevice *vdev = proxy->vdev;
    g_autofree uint8_t *config = NULL;
    VirtioMigImage img = { 0 };
    bool ok;

    if (!mig_ops(vdev)) {
        error_setg(errp, "the device does not support migration");
        return false;
    }
    ok = mig_check_header(vdev, r, errp) && mig_parse(vdev, r, &img, errp);
    config = img.config;
    if (!ok || !mig_check_status(img.status, errp) ||
        !mig_check_queues(vdev, &img, errp) ||
        !mig_check_features(vdev, &img, errp)) {
        return false;
    }
    /* A device the destination's driver never touched: nothing runs. */
    if (vdev->status) {
        virtio_reset(vdev);
    }
    vdev->vm_stopped = true;
    if (!mig_apply_features(vdev, &img, errp)) {
        return false;
    }
    mig_apply(proxy, &img);
    return mig_check_rings(vdev, errp) &&
           mig_load_model(vdev, &img.model, errp);
}

bool virtio_migration_load(void *opaque, const uint8_t *buf, size_t len,
                           Error **errp)
{
    VirtIOMMIOProxy *proxy = opaque;
    MigReader r;

    mig_reader_init(&r, buf, len);

    if (!mig_load(proxy, &r, errp)) {
        error_prepend(errp, "%s '%s': ", proxy->vdev->cls->name,
                      proxy->vdev->id);
        return false;
    }
    return true;
}

/* A completion the source's backend signalled while the vCPUs were
 * already stopped may not have reached the guest: one more interrupt
 * costs the driver a look at its used rings. */
static void mig_notify_guest(VirtIODevice *vdev)
{
    if ((vdev->status & VIRTIO_CONFIG_S_DRIVER_OK) && !vdev->broken &&
        vdev->nvqs && vdev->transport) {
        vdev->transport->notify_queue(vdev, &vdev->vq[0]);
    }
}

bool virtio_migration_post_load(void *opaque, Error **errp)
{
    VirtIODevice *vdev = mig_vdev(opaque);
    const VirtioMigrationOps *ops = mig_ops(vdev);

    vdev->vm_stopped = false;
    if (!mig_state_change(vdev, errp)) {
        error_prepend(errp, "%s '%s': starting after migration: ",
                      vdev->cls->name, vdev->id);
        return false;
    }
    mig_notify_guest(vdev);
    return !ops || !ops->post_load || ops->post_load(vdev, errp);
}

/* --- registration -------------------------------------------------------- */

static const SaveStateHandlers virtio_migration_handlers = {
    .setup = virtio_migration_setup,
    .save = virtio_migration_save,
    .load = virtio_migration_load,
    .post_load = virtio_migration_post_load,
    .cleanup = virtio_migration_cleanup,
};

char *virtio_migration_section_name(const VirtIOMMIOProxy *proxy)
{
    return g_strdup_printf("virtio-mmio@%" PRIx64, (uint64_t)proxy->slot->base);
}

void virtio_migration_register(VirtIOMMIOProxy *proxy)
{
    g_autofree char *name = virtio_migration_section_name(proxy);

    register_savevm(proxy->ms, name, &virtio_migration_handlers, proxy);
}

void virtio_migration_unregister(VirtIOMMIOProxy *proxy)
{
    unregister_savevm(proxy->ms, proxy);
}
