/* SPDX-License-Identifier: MIT */
/*
 * The backend-independent half of a vhost backend connection
 * (include/hw/virtio/vhost-conn.h): the device-facing calls, which check
 * what a backend left out and dispatch to its VhostConnClass, and the
 * event delivery backends use, which takes the machine lock so that the
 * device's handlers run as every other device path does.
 */
#include "hw/virtio/vhost-conn.h"

#include <string.h>

void vhost_conn_setup(VhostConn *c, const VhostConnClass *cls,
                      const char *name, void *opaque, GMutex *lock)
{
    g_autofree char *thread = g_strdup_printf("vhost-%s", name);

    c->cls = cls;
    c->name = g_strdup(name);
    c->opaque = opaque;
    c->lock = lock;
    if (lock) {
        c->worker = vhost_worker_new(thread, lock);
    }
}

static void vhost_conn_close_work(void *opaque)
{
    vhost_conn_close(opaque);
}

void vhost_conn_free(VhostConn *c)
{
    if (!c) {
        return;
    }
    vhost_conn_detach(c);
    if (c->opened) {
        vhost_conn_call(c, vhost_conn_close_work, c);
    }
    vhost_worker_free(c->worker);
    g_free(c->name);
    g_free(c->label);
    c->cls->free(c);
}

void vhost_conn_set_label(VhostConn *c, const char *label)
{
    g_free(c->label);
    c->label = g_strdup(label);
}

void vhost_conn_attach(VhostConn *c, const VhostConnClient *client,
                       void *opaque)
{
    c->client = client;
    c->client_opaque = opaque;
    if (c->cls->watch) {
        c->cls->watch(c, true);
    }
}

void vhost_conn_detach(VhostConn *c)
{
    if (!c || !c->client) {
        return;
    }
    if (c->cls->watch) {
        c->cls->watch(c, false);
    }
    c->client = NULL;
    c->client_opaque = NULL;
}

bool vhost_conn_wait(VhostConn *c, Error **errp)
{
    return !c->cls->wait || c->cls->wait(c, errp);
}

bool vhost_conn_init_dev(VhostConn *c, struct vhost_dev *dev,
                         AddressSpace *as, Error **errp)
{
    if (!c->opened) {
        if (c->cls->open && !c->cls->open(c, errp)) {
            return false;
        }
        c->opened = true;
    }
    dev->worker = c->worker;
    return vhost_dev_init(dev, c->opaque, c->cls->ops, as, errp);
}

void vhost_conn_close(VhostConn *c)
{
    if (!c->opened) {
        return;
    }
    c->opened = false;
    if (c->cls->close) {
        c->cls->close(c);
    }
}

void vhost_conn_drop(VhostConn *c)
{
    if (c->cls->drop) {
        c->cls->drop(c);
    }
}

bool vhost_conn_retries(VhostConn *c)
{
    return c->cls->retries && c->cls->retries(c);
}

bool vhost_conn_max_queues(VhostConn *c, uint64_t *queues)
{
    return c->opened && c->cls->max_queues &&
           c->cls->max_queues(c, queues);
}

bool vhost_conn_has_config(VhostConn *c)
{
    return c->opened && c->cls->has_config && c->cls->has_config(c);
}

void vhost_conn_query(VhostConn *c, VhostConnInfo *info)
{
    *info = (VhostConnInfo) { .type = c->cls->type, .name = c->name };
    if (c->cls->query) {
        c->cls->query(c, info);
    }
}

/* --- the worker ---------------------------------------------------------- */

void vhost_conn_call(VhostConn *c, VhostWorkFn *fn, void *opaque)
{
    if (c->worker) {
        vhost_worker_call(c->worker, fn, opaque);
    } else {
        fn(opaque);
    }
}

void vhost_conn_post(VhostConn *c, VhostWorkFn *fn, void *opaque,
                     GDestroyNotify destroy)
{
    if (c->worker) {
        vhost_worker_post(c->worker, fn, opaque, destroy);
        return;
    }
    fn(opaque);
    if (destroy) {
        destroy(opaque);
    }
}

void vhost_conn_flush(VhostConn *c)
{
    if (c->worker) {
        vhost_worker_flush(c->worker);
    }
}

/* --- events -------------------------------------------------------------- */

void vhost_conn_event_up(VhostConn *c)
{
    if (c->client) {
        c->client->up(c->client_opaque);
    }
}

void vhost_conn_event_down(VhostConn *c)
{
    if (c->client) {
        c->client->down(c->client_opaque);
    }
}
