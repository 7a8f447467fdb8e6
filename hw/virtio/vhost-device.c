/* SPDX-License-Identifier: MIT */
/*
 * VhostDevice: connect, start on DRIVER_OK, stop, disconnect and
 * reconnect for any device model whose data path runs in a vhost backend
 * (see the header for the sequence and the hooks a model fills in).  The
 * backend is only ever reached through the device's VhostConn and the
 * vhost core.  Everything runs with the machine lock held.
 */
#include "hw/virtio/vhost-device.h"

#include <assert.h>
#include <json-glib/json-glib.h>
#include <string.h>

void vhost_device_report(VhostDevice *d, Error *err, const char *what)
{
    error_report("%s: %s: %s", d->label, what, error_get_pretty(err));
    error_free(err);
}

/* --- start / stop -------------------------------------------------------- */

static unsigned vhd_devs_to_start(VhostDevice *d)
{
    return d->ops->devs_to_start ? d->ops->devs_to_start(d) : d->ndevs;
}

/* Queues [0, n) belong to the first `started` vhost_devs. */
static unsigned vhd_queues_of(VhostDevice *d, unsigned started)
{
    const struct vhost_dev *last = &d->devs[started - 1];

    return last->vq_index + last->nvqs;
}

static void vhd_stop_devs(VhostDevice *d, unsigned n)
{
    /* Reverse order: the last one carries what is device-wide (vhost-user
     * sends SET_STATUS from it) and stops first, as it started last. */
    while (n-- > 0) {
        vhost_dev_stop(&d->devs[n], &d->vdev, true);
        vhost_dev_disable_notifiers(&d->devs[n], &d->vdev);
    }
}

static bool vhd_start_dev(VhostDevice *d, struct vhost_dev *dev,
                          unsigned nqueues, Error **errp)
{
    /* Where the device's running queues end: the backend sends what is
     * device-wide with the vhost_dev owning the last one. */
    dev->vq_index_end = nqueues;
    if (!vhost_dev_enable_notifiers(dev, &d->vdev, errp)) {
        return false;
    }
    if (!vhost_dev_start(dev, &d->vdev, !d->ops->ring_enabled, errp)) {
        vhost_dev_disable_notifiers(dev, &d->vdev);
        return false;
    }
    return true;
}

static bool vhd_enable_rings(VhostDevice *d, Error **errp)
{
    if (!d->ops->ring_enabled) {
        return true;
    }
    for (unsigned i = 0; i < d->started_devs; i++) {
        if (!vhost_dev_set_vring_enable(&d->devs[i],
                                        d->ops->ring_enabled(d, i), errp)) {
            return false;
        }
    }
    return true;
}

static bool vhd_start_all(VhostDevice *d, unsigned n, Error **errp)
{
    unsigned nqueues = vhd_queues_of(d, n);
    unsigned i;

    for (i = 0; i < n; i++) {
        if (!vhd_start_dev(d, &d->devs[i], nqueues, errp)) {
            vhd_stop_devs(d, i);
            return false;
        }
    }
    d->started_devs = n;
    if (!vhd_enable_rings(d, errp)) {
        d->started_devs = 0;
        vhd_stop_devs(d, n);
        return false;
    }
    return true;
}

static void vhd_set_acked(VhostDevice *d, unsigned n)
{
    uint64_t acked = d->ops->acked_features ? d->ops->acked_features(d)
                                            : d->vdev.guest_features;

    for (unsigned i = 0; i < n; i++) {
        d->devs[i].acked_features = acked;
    }
}

static bool vhd_start(VhostDevice *d, Error **errp)
{
    VirtIODevice *vdev = &d->vdev;
    unsigned n = MIN(vhd_devs_to_start(d), d->ndevs);
    unsigned nqueues;

    if (!n) {
        return true;
    }
    nqueues = vhd_queues_of(d, n);
    if (!vdev->transport->set_guest_notifiers(vdev, nqueues, true, errp)) {
        return false;
    }
    vhd_set_acked(d, n);
    if ((d->ops->pre_start && !d->ops->pre_start(d, errp)) ||
        !vhd_start_all(d, n, errp)) {
        vdev->transport->set_guest_notifiers(vdev, nqueues, false, NULL);
        return false;
    }
    return true;
}

static void vhd_stop(VhostDevice *d)
{
    VirtIODevice *vdev = &d->vdev;
    unsigned n = d->started_devs;

    if (!n) {
        return;
    }
    d->started_devs = 0;
    vhd_stop_devs(d, n);
    vdev->transport->set_guest_notifiers(vdev, vhd_queues_of(d, n), false,
                                         NULL);
}

static bool vhd_should_run(VhostDevice *d)
{
    return d->connected && (d->vdev.status & VIRTIO_CONFIG_S_DRIVER_OK) &&
           !(d->vdev.status & VIRTIO_CONFIG_S_NEEDS_RESET) &&
           !d->vdev.vm_stopped;
}

static void vhd_update_running(VhostDevice *d)
{
    Error *err = NULL;

    if (vhd_should_run(d) && !d->started_devs) {
        if (!vhd_start(d, &err)) {
            vhost_device_report(d, err, "could not start the backend");
        }
    } else if (!vhd_should_run(d) && d->started_devs) {
        vhd_stop(d);
    }
}

/* --- on the connection's worker, for whoever calls ----------------------- */

typedef struct VhdCall {
    VhostDevice *d;
    VhostDeviceFn *fn;
    void *arg;
    Error *err;
    bool ok;
} VhdCall;

static void vhd_call_work(void *opaque)
{
    VhdCall *c = opaque;

    c->ok = c->fn(c->d, c->arg, &c->err);
}

bool vhost_device_run(VhostDevice *d, VhostDeviceFn *fn, void *arg,
                      Error **errp)
{
    VhdCall c = { .d = d, .fn = fn, .arg = arg };

    if (!d->conn) {
        return fn(d, arg, errp);        /* no backend, no worker */
    }
    d->callers++;
    vhost_conn_call(d->conn, vhd_call_work, &c);
    if (--d->callers == 0) {
        g_cond_broadcast(&d->callers_done);
    }
    if (!c.ok) {
        error_propagate(errp, c.err);
    }
    return c.ok;
}

static bool vhd_update_running_fn(VhostDevice *d, void *arg, Error **errp)
{
    vhd_update_running(d);
    return true;
}

static bool vhd_stop_fn(VhostDevice *d, void *arg, Error **errp)
{
    vhd_stop(d);
    return true;
}

static bool vhd_enable_rings_fn(VhostDevice *d, void *arg, Error **errp)
{
    return vhd_enable_rings(d, errp);
}

static bool vhd_vm_state_change_fn(VhostDevice *d, void *arg, Error **errp)
{
    if (!vhd_should_run(d)) {
        vhd_stop(d);
        return true;
    }
    return d->started_devs || vhd_start(d, errp);
}

/* Every dev's reason is taken (none is left for a later migration);
 * the first is the answer. */
static bool vhd_log_check_fn(VhostDevice *d, void *arg, Error **errp)
{
    bool ok = true;

    for (unsigned i = 0; i < d->ndevs; i++) {
        ok &= vhost_dev_log_check(&d->devs[i], ok ? errp : NULL);
    }
    return ok;
}

void vhost_device_set_status(VirtIODevice *vdev, uint8_t status)
{
    vhost_device_run(vhost_device_of(vdev), vhd_update_running_fn, NULL,
                     NULL);
}

void vhost_device_stop(VhostDevice *d)
{
    vhost_device_run(d, vhd_stop_fn, NULL, NULL);
}

bool vhost_device_enable_rings(VhostDevice *d, Error **errp)
{
    return vhost_device_run(d, vhd_enable_rings_fn, NULL, errp);
}

bool vhost_device_migration_setup(VirtIODevice *vdev, Error **errp)
{
    return vhost_device_run(vhost_device_of(vdev), vhd_log_check_fn, NULL,
                            errp);
}

/* Runs after whatever the worker had queued: the log switch-off. */
static bool vhd_nothing_fn(VhostDevice *d, void *arg, Error **errp)
{
    return true;
}

void vhost_device_migration_cleanup(VirtIODevice *vdev)
{
    vhost_device_run(vhost_device_of(vdev), vhd_nothing_fn, NULL, NULL);
}

bool vhost_device_vm_state_change(VirtIODevice *vdev, Error **errp)
{
    return vhost_device_run(vhost_device_of(vdev), vhd_vm_state_change_fn,
                            NULL, errp);
}

/* --- connection events --------------------------------------------------- */

static void vhd_emit_connected(VhostDevice *d, bool up)
{
    g_autofree char *type = g_ascii_strup(d->conn->cls->type, -1);
    g_autofree char *name = NULL;
    JsonObject *data;

    if (g_atomic_int_get(&d->ms->shutdown_requested)) {
        return;     /* teardown disconnects every device: not news */
    }
    g_strdelimit(type, "-", '_');
    name = g_strdup_printf("%s_%s", type,
                           up ? "CONNECTED" : "DISCONNECTED");
    data = json_object_new();
    json_object_set_string_member(data, "device", d->id);
    json_object_set_string_member(data, "backend", d->conn->cls->type);
    json_object_set_string_member(data, "backend-name", d->conn->name);
    event_bus_emit(&d->ms->events, name,
                   json_node_init_object(json_node_alloc(), data));
    json_object_unref(data);
}

typedef struct VhdConfigChange {
    struct vhost_dev *dev;
    VhostConfigDoneFn *done;
    void *opaque;
} VhdConfigChange;

static void vhd_fetch_config_work(void *opaque)
{
    VhdConfigChange *c = opaque;
    VhostDevice *d = c->dev->config_opaque;
    Error *err = NULL;

    if (d->connected && d->ops->fetch_config &&
        !d->ops->fetch_config(d, &err)) {
        vhost_device_report(d, err, "config change");
    }
}

/* done runs whether or not the fetch did (a worker that stops drops what
 * is queued): whoever waits for it is always answered. */
static void vhd_config_change_free(void *opaque)
{
    VhdConfigChange *c = opaque;

    if (c->done) {
        c->done(c->dev, c->opaque);
    }
    g_free(c);
}

/* The backend channel (main loop) says the config changed: fetch it on
 * the worker, then let the channel answer. */
static void vhd_config_notifier(struct vhost_dev *dev, VhostConfigDoneFn *done,
                                void *opaque)
{
    VhostDevice *d = dev->config_opaque;
    VhdConfigChange *c = g_new(VhdConfigChange, 1);

    *c = (VhdConfigChange) { dev, done, opaque };
    vhost_conn_post(d->conn, vhd_fetch_config_work, c,
                    vhd_config_change_free);
}

static const VhostDevConfigOps vhd_config_ops = {
    .config_notifier = vhd_config_notifier,
};

static void vhd_cleanup_devs(VhostDevice *d)
{
    for (unsigned i = d->ndevs; i-- > 0;) {
        vhost_dev_cleanup(&d->devs[i]);
    }
    vhost_conn_close(d->conn);
}

static bool vhd_init_devs(VhostDevice *d, Error **errp)
{
    for (unsigned i = 0; i < d->ndevs; i++) {
        struct vhost_dev *dev = &d->devs[i];

        dev->id = d->label;
        dev->config_ops = &vhd_config_ops;
        dev->config_opaque = d;
        if (!vhost_conn_init_dev(d->conn, dev, &d->ms->address_space_memory,
                                 errp)) {
            return false;
        }
        /* Before the others: they would only repeat the refusal. */
        if (i == 0 && d->ops->check_backend &&
            !d->ops->check_backend(d, errp)) {
            return false;
        }
    }
    return true;
}

static bool vhd_connect(VhostDevice *d, Error **errp)
{
    if (d->connected) {
        return true;
    }
    if (!vhd_init_devs(d, errp) ||
        (d->ops->fetch_config && !d->ops->fetch_config(d, errp))) {
        vhd_cleanup_devs(d);
        return false;
    }
    d->connected = true;
    vhd_emit_connected(d, true);
    if (d->ops->connected) {
        d->ops->connected(d, true);
    }
    vhd_update_running(d);
    return true;
}

static void vhd_disconnect(VhostDevice *d)
{
    if (!d->connected) {
        return;
    }
    d->connected = false;
    vhd_stop(d);
    vhd_cleanup_devs(d);
    vhd_emit_connected(d, false);
}

/* A backend (re)connected: set the device up on the worker. */
static void vhd_up_work(void *opaque)
{
    VhostDevice *d = opaque;
    Error *err = NULL;

    if (!vhd_connect(d, &err)) {
        error_report("%s: backend connection failed: %s", d->label,
                     error_get_pretty(err));
        error_free(err);
        vhost_conn_drop(d->conn);
    }
}

static void vhd_down_work(void *opaque)
{
    VhostDevice *d = opaque;

    if (!d->connected) {
        return;
    }
    error_report("%s: backend disconnected", d->label);
    vhd_disconnect(d);
    if (d->ops->connected) {
        d->ops->connected(d, false);
    }
}

static void vhd_conn_up(void *opaque)
{
    VhostDevice *d = opaque;

    vhost_conn_post(d->conn, vhd_up_work, d, NULL);
}

static void vhd_conn_down(void *opaque)
{
    VhostDevice *d = opaque;

    vhost_conn_post(d->conn, vhd_down_work, d, NULL);
}

static const VhostConnClient vhd_conn_client = {
    .up = vhd_conn_up,
    .down = vhd_conn_down,
};

/* --- creation ------------------------------------------------------------ */

void vhost_device_init(VhostDevice *d, MachineState *ms, const char *model,
                       const char *id, const VhostDeviceOps *ops)
{
    static const VhostDeviceOps no_ops;

    d->ms = ms;
    d->ops = ops ? ops : &no_ops;
    g_cond_init(&d->callers_done);
    d->id = id ? g_strdup(id) : g_strdup_printf("%s%u", model,
                                                ms->mmio_slots_used);
    d->label = g_strdup_printf("%s '%s'", model, d->id);
}

void vhost_device_set_conn(VhostDevice *d, VhostConn *conn, bool owned)
{
    d->conn = conn;
    d->owns_conn = owned;
    vhost_conn_set_label(conn, d->label);
}

void vhost_device_alloc_devs(VhostDevice *d, unsigned ndevs, unsigned nvqs)
{
    d->devs = g_new0(struct vhost_dev, ndevs);
    d->ndevs = ndevs;
    for (unsigned i = 0; i < ndevs; i++) {
        d->devs[i].nvqs = nvqs;
        d->devs[i].vq_index = i * nvqs;
        d->devs[i].vq_index_end = ndevs * nvqs;
    }
}

/* ms->vhost_devices lists the devices (x-query-vhost); ms->vhost_devs
 * their vhost_devs (memory hotplug asks each about its slot limit). */
static void vhd_register(VhostDevice *d, bool on)
{
    MachineState *ms = d->ms;

    if (on == d->registered) {
        return;
    }
    if (on && !ms->vhost_devices) {
        ms->vhost_devices = g_ptr_array_new();
        ms->vhost_devs = g_ptr_array_new();
    }
    for (unsigned i = 0; i < d->ndevs; i++) {
        if (on) {
            g_ptr_array_add(ms->vhost_devs, &d->devs[i]);
        } else {
            g_ptr_array_remove(ms->vhost_devs, &d->devs[i]);
        }
    }
    if (on) {
        g_ptr_array_add(ms->vhost_devices, d);
    } else {
        g_ptr_array_remove(ms->vhost_devices, d);
    }
    d->registered = on;
}

bool vhost_device_plug(VhostDevice *d, const VirtioDeviceClass *cls,
                       unsigned nvqs, uint16_t queue_size,
                       uint32_t config_len, void *dev,
                       QdevCleanupFn *cleanup, Error **errp)
{
    assert(d->conn && d->ndevs);
    qdev_register(d->ms, dev, cleanup);
    vhd_register(d, true);
    virtio_init(&d->vdev, cls, d->ms, d->id, nvqs, queue_size, config_len);
    return virtio_mmio_plug(&d->proxy, &d->vdev, d->ms, errp);
}

static bool vhd_connect_fn(VhostDevice *d, void *arg, Error **errp)
{
    return vhd_connect(d, errp);
}

static bool vhd_disconnect_fn(VhostDevice *d, void *arg, Error **errp)
{
    vhd_disconnect(d);
    return true;
}

/* As QEMU's realize: the backend describes the device, wait for it.  A
 * connection that comes back by itself (vhost-user's reconnect=) does
 * not give up on a backend that fails: it is dropped and the next one
 * awaited, exactly as for a backend that comes late. */
bool vhost_device_connect_first(VhostDevice *d, Error **errp)
{
    Error *err = NULL;

    for (;;) {
        if (!vhost_conn_wait(d->conn, errp)) {
            return false;
        }
        if (vhost_device_run(d, vhd_connect_fn, NULL, &err)) {
            break;
        }
        if (!vhost_conn_retries(d->conn)) {
            error_propagate(errp, err);
            return false;
        }
        error_report("%s: backend connection failed: %s; waiting for the "
                     "next one", d->label, error_get_pretty(err));
        g_clear_pointer(&err, error_free);
        vhost_conn_drop(d->conn);
    }
    vhost_conn_attach(d->conn, &vhd_conn_client, d);
    return true;
}

bool vhost_device_realize(VhostDevice *d, const VirtioDeviceClass *cls,
                          unsigned nvqs, uint16_t queue_size,
                          uint32_t config_len, void *dev,
                          QdevCleanupFn *cleanup, Error **errp)
{
    return vhost_device_plug(d, cls, nvqs, queue_size, config_len, dev,
                             cleanup, errp) &&
           vhost_device_connect_first(d, errp);
}

/* After the disconnect nothing posts work for d any more (detached, no
 * vhost_dev left for the backend channel); what was posted before runs
 * now, while d is whole.  Then the threads still on their way out of
 * vhost_device_run (woken, waiting for the lock) leave. */
static void vhd_quiesce(VhostDevice *d)
{
    vhost_conn_flush(d->conn);
    while (d->callers) {
        g_cond_wait(&d->callers_done, d->conn->lock);
    }
}

void vhost_device_unrealize(VhostDevice *d)
{
    if (d->conn) {
        vhost_conn_detach(d->conn);
        vhost_device_run(d, vhd_disconnect_fn, NULL, NULL);
        if (d->conn->worker) {
            vhd_quiesce(d);
        }
        if (d->owns_conn) {
            vhost_conn_free(d->conn);
        }
        d->conn = NULL;
    }
    if (d->ms) {
        vhd_register(d, false);
        g_cond_clear(&d->callers_done);
    }
    virtio_mmio_unplug(&d->proxy);
    virtio_cleanup(&d->vdev);
    g_clear_pointer(&d->devs, g_free);
    d->ndevs = 0;
    g_clear_pointer(&d->id, g_free);
    g_clear_pointer(&d->label, g_free);
}

void vhost_device_foreach(MachineState *ms,
                          void (*fn)(VhostDevice *d, void *opaque),
                          void *opaque)
{
    for (guint i = 0; ms->vhost_devices && i < ms->vhost_devices->len; i++) {
        fn(g_ptr_array_index(ms->vhost_devices, i), opaque);
    }
}
