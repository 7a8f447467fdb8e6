/* SPDX-License-Identifier: MIT */
/*
 * x-query-vhost: what kvmini's side of each vhost device holds, for
 * people debugging a backend: the backend (type, name, socket), whether
 * it is connected, the feature words, the memory table in force and
 * every vring (size, base index, started).  One entry per device, in
 * creation order; a device with several vhost_devs (one per queue pair)
 * lists the vrings of all of them.
 * Read from struct vhost_dev and the device's VirtQueues under the
 * machine lock.
 */
#include "qmp-internal.h"
#include "hw/virtio/vhost-device.h"

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
 * vhost_dev. */
static void vhost_fill_connection(JsonObject *o, const VhostDevice *d,
                                  const VhostConnInfo *info)
{
    const struct vhost_dev *dev = &d->devs[0];

    json_object_set_boolean_member(o, "connected", true);
    set_hex(o, "features", dev->features);
    set_hex(o, "acked-features", dev->acked_features);
    set_hex(o, "protocol-features", info->protocol_features);
    json_object_set_array_member(o, "memory-regions", vhost_regions(dev));
}

static JsonObject *vhost_new_entry(const VhostDevice *d,
                                   const VhostConnInfo *info)
{
    JsonObject *o = json_object_new();

    json_object_set_string_member(o, "device", d->id);
    json_object_set_string_member(o, "backend", info->type);
    json_object_set_string_member(o, "backend-name", info->name);
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

/* The rings a vhost_dev owns.  base is the avail index the ring
 * (re)started from, kept in the device's VirtQueue while started. */
static void vhost_add_vrings(JsonArray *a, const struct vhost_dev *dev,
                             const VirtIODevice *vdev)
{
    for (unsigned i = 0; dev->vqs && i < dev->nvqs; i++) {
        const struct vhost_virtqueue *vq = &dev->vqs[i];
        unsigned index = dev->vq_index + i;
        JsonObject *o = json_object_new();
        unsigned base = index < vdev->nvqs ? vdev->vq[index].last_avail_idx
                                           : 0;

        json_object_set_int_member(o, "index", index);
        json_object_set_int_member(o, "num", vq->num);
        json_object_set_int_member(o, "base", base);
        json_object_set_boolean_member(o, "enabled", vq->started);
        json_array_add_object_element(a, o);
    }
}

static void vhost_query_one(VhostDevice *d, void *opaque)
{
    JsonArray *list = opaque;
    VhostConnInfo info;
    JsonObject *o;

    vhost_conn_query(d->conn, &info);
    o = vhost_new_entry(d, &info);
    if (d->connected) {
        vhost_fill_connection(o, d, &info);
        for (unsigned i = 0; i < d->ndevs; i++) {
            vhost_add_vrings(json_object_get_array_member(o, "vrings"),
                             &d->devs[i], &d->vdev);
        }
    }
    json_array_add_object_element(list, o);
    g_free(info.socket_path);
}

static bool qmp_x_query_vhost(QmpRequest *req, Error **errp)
{
    JsonArray *list = json_array_new();

    g_mutex_lock(&req->ms->lock);
    vhost_device_foreach(req->ms, vhost_query_one, list);
    g_mutex_unlock(&req->ms->lock);
    req->ret = json_node_init_array(json_node_alloc(), list);
    json_array_unref(list);
    return true;
}

const QmpCommand qmp_vhost_commands[] = {
    { "x-query-vhost", qmp_x_query_vhost },
    { NULL }
};
QMP_COMMANDS_REGISTER(qmp_vhost_commands);
