/* SPDX-License-Identifier: MIT */
/*
 * x-query-vhost: what kvmini's side of each vhost device holds, for
 * people debugging a backend: the connection, the feature words, the
 * memory table in force and every vring (size, base index, started).
 * One entry per device id, in registration order; a device with several
 * vhost_devs (one per queue pair) lists the vrings of all of them.
 * Read from struct vhost_dev and the device's VirtQueues under the
 * machine lock.
 */
#include "qmp-internal.h"
#include "hw/qdev.h"
#include "hw/virtio/vhost.h"

#include <string.h>

typedef struct VhostQuery {
    JsonArray *list;
    GHashTable *by_id;          /* device id -> JsonObject * in list */
} VhostQuery;

static const char *vhost_device_id(const QdevVhostInfo *info)
{
    const struct vhost_dev *dev = info->dev;

    if (info->dev_id) {
        return info->dev_id;
    }
    if (dev->vdev && dev->vdev->id) {
        return dev->vdev->id;
    }
    return dev->id ? dev->id : "";
}

static bool vhost_connected(const QdevVhostInfo *info)
{
    /* Without set_connected calls the ops tell: NULL once cleaned up. */
    return info->dev_id ? info->connected : info->dev->vhost_ops != NULL;
}

static void set_hex(JsonObject *o, const char *name, uint64_t v)
{
    g_autofree char *hex = qmp_hex64(v);

    json_object_set_string_member(o, name, hex);
}

static JsonArray *vhost_regions(const struct vhost_dev *dev)
{
    JsonArray *a = json_array_new();

    for (unsigned i = 0; i < dev->n_regions; i++) {
        const VhostMemoryRegion *r = &dev->regions[i];
        JsonObject *o = json_object_new();

        json_object_set_int_member(o, "guest-phys-addr", r->guest_phys_addr);
        json_object_set_int_member(o, "size", r->memory_size);
        json_object_set_int_member(o, "userspace-addr", r->userspace_addr);
        json_object_set_int_member(o, "mmap-offset", r->mmap_offset);
        json_array_add_object_element(a, o);
    }
    return a;
}

/* The state of the connection: features and memory of its first
 * connected vhost_dev. */
static void vhost_fill_connection(JsonObject *o, const struct vhost_dev *dev)
{
    json_object_set_boolean_member(o, "connected", true);
    set_hex(o, "features", dev->features);
    set_hex(o, "acked-features", dev->acked_features);
    set_hex(o, "protocol-features", dev->protocol_features);
    json_object_set_array_member(o, "memory-regions", vhost_regions(dev));
}

static JsonObject *vhost_new_entry(const QdevVhostInfo *info)
{
    JsonObject *o = json_object_new();
    const struct vhost_dev *dev = info->dev;
    const char *backend = info->backend ? info->backend :
                          dev->vhost_ops ? dev->vhost_ops->name : "vhost";

    json_object_set_string_member(o, "device", vhost_device_id(info));
    json_object_set_string_member(o, "backend", backend);
    if (info->socket_path) {
        json_object_set_string_member(o, "socket", info->socket_path);
    }
    json_object_set_boolean_member(o, "connected", false);
    json_object_set_string_member(o, "features", "0x0000000000000000");
    json_object_set_string_member(o, "acked-features", "0x0000000000000000");
    json_object_set_string_member(o, "protocol-features",
                                  "0x0000000000000000");
    json_object_set_array_member(o, "memory-regions", json_array_new());
    json_object_set_array_member(o, "vrings", json_array_new());
    return o;
}

/* The rings this vhost_dev owns.  base is the avail index the ring
 * (re)started from, kept in the device's VirtQueue while started. */
static void vhost_add_vrings(JsonArray *a, const struct vhost_dev *dev)
{
    for (unsigned i = 0; dev->vqs && i < dev->nvqs; i++) {
        const struct vhost_virtqueue *vq = &dev->vqs[i];
        unsigned index = dev->vq_index + i;
        JsonObject *o = json_object_new();
        unsigned base = 0;

        if (dev->vdev && index < dev->vdev->nvqs) {
            base = dev->vdev->vq[index].last_avail_idx;
        }
        json_object_set_int_member(o, "index", index);
        json_object_set_int_member(o, "num", vq->num);
        json_object_set_int_member(o, "base", base);
        json_object_set_boolean_member(o, "enabled", vq->started);
        json_array_add_object_element(a, o);
    }
}

static void vhost_query_one(const QdevVhostInfo *info, void *opaque)
{
    VhostQuery *q = opaque;
    const char *id = vhost_device_id(info);
    JsonObject *o = g_hash_table_lookup(q->by_id, id);

    if (!o) {
        o = vhost_new_entry(info);
        json_array_add_object_element(q->list, o);
        g_hash_table_insert(q->by_id, g_strdup(id), o);
    }
    if (!vhost_connected(info)) {
        return;
    }
    if (!json_object_get_boolean_member(o, "connected")) {
        vhost_fill_connection(o, info->dev);
    }
    vhost_add_vrings(json_object_get_array_member(o, "vrings"), info->dev);
}

static bool qmp_x_query_vhost(QmpRequest *req, Error **errp)
{
    VhostQuery q = {
        .list = json_array_new(),
        .by_id = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
                                       NULL),
    };

    g_mutex_lock(&req->ms->lock);
    qdev_foreach_vhost(req->ms, vhost_query_one, &q);
    g_mutex_unlock(&req->ms->lock);
    g_hash_table_destroy(q.by_id);
    req->ret = json_node_init_array(json_node_alloc(), q.list);
    json_array_unref(q.list);
    return true;
}

const QmpCommand qmp_vhost_commands[] = {
    { "x-query-vhost", qmp_x_query_vhost },
    { NULL }
};
QMP_COMMANDS_REGISTER(qmp_vhost_commands);
