/* SPDX-License-Identifier: MIT */
/*
 * Network backends (-netdev): the generic part — option checks, the
 * registry on the machine (ms->netdevs, creation order), claiming by a
 * device, the two net requests dispatched to the type, announce-self
 * over the devices that claimed a netdev.  Each type lives in its own
 * file (net/vhost-user.c, net/tap.c).
 */
#include "net/net.h"
#include "qemu/option.h"

#include <string.h>

/* 2 * queues + 1 (the control queue) must fit VIRTIO_QUEUE_MAX. */
#define NETDEV_MAX_QUEUES ((VIRTIO_QUEUE_MAX - 1) / 2)

static const NetdevClass *const netdev_classes[] = {
    &netdev_vhost_user_class,
    &netdev_tap_class,
};

bool netdev_check_queues(uint64_t queues, Error **errp)
{
    if (queues < 1 || queues > NETDEV_MAX_QUEUES) {
        error_setg(errp, "queues must be between 1 and %d",
                   NETDEV_MAX_QUEUES);
        return false;
    }
    return true;
}

static void netdev_free(gpointer p)
{
    Netdev *nd = p;

    vhost_conn_free(nd->conn);
    if (nd->cls && nd->cls->free) {
        nd->cls->free(nd);
    }
    g_free(nd->id);
    g_free(nd->claimed_by);
    g_free(nd);
}

static Netdev *netdev_find(MachineState *ms, const char *id)
{
    for (guint i = 0; ms->netdevs && i < ms->netdevs->len; i++) {
        Netdev *nd = g_ptr_array_index(ms->netdevs, i);

        if (!strcmp(nd->id, id)) {
            return nd;
        }
    }
    return NULL;
}

static const NetdevClass *netdev_check_type(GHashTable *opts, Error **errp)
{
    const char *type = qemu_opt_get(opts, "type");
    const char *id = qemu_opt_get(opts, "id");
    const NetdevClass *cls = NULL;

    if (!type || !*type) {
        error_setg(errp, "Parameter 'type' is missing");
        return NULL;
    }
    for (size_t i = 0; i < G_N_ELEMENTS(netdev_classes) && !cls; i++) {
        if (!strcmp(netdev_classes[i]->type, type)) {
            cls = netdev_classes[i];
        }
    }
    if (!cls) {
        error_setg(errp, "Parameter 'type' does not accept value '%s' "
                   "(kvmini supports vhost-user and tap)", type);
        return NULL;
    }
    if (!id || !*id) {
        error_setg(errp, "Parameter 'id' is missing");
        return NULL;
    }
    return cls;
}

bool netdev_add(MachineState *ms, const char *optstr, Error **errp)
{
    g_autoptr(GHashTable) opts = qemu_opts_parse(optstr, "type", errp);
    const NetdevClass *cls;
    Netdev *nd;

    if (!opts || !(cls = netdev_check_type(opts, errp))) {
        return false;
    }
    if (netdev_find(ms, qemu_opt_get(opts, "id"))) {
        error_setg(errp, "Duplicate ID '%s' for netdev",
                   qemu_opt_get(opts, "id"));
        return false;
    }
    nd = g_new0(Netdev, 1);
    nd->id = g_strdup(qemu_opt_get(opts, "id"));
    nd->cls = cls;
    if (!cls->init(nd, ms, opts, errp)) {
        netdev_free(nd);
        return false;
    }
    if (!ms->netdevs) {
        ms->netdevs = g_ptr_array_new_with_free_func(netdev_free);
        ms->nics = g_ptr_array_new();
    }
    g_ptr_array_add(ms->netdevs, nd);
    return true;
}

Netdev *netdev_claim(MachineState *ms, const char *id, const char *owner,
                     NetdevAnnounceFn *fn, void *opaque, Error **errp)
{
    Netdev *nd = id ? netdev_find(ms, id) : NULL;

    if (!nd) {
        error_setg(errp, "netdev '%s' not found", id ? id : "");
        return NULL;
    }
    if (nd->claimed_by) {
        error_setg(errp, "netdev '%s' is already in use by %s", id,
                   nd->claimed_by);
        return NULL;
    }
    nd->claimed_by = g_strdup(owner);
    nd->announce_fn = fn;
    nd->announce_opaque = opaque;
    g_ptr_array_remove(ms->nics, nd);   /* claimed before, then released */
    g_ptr_array_add(ms->nics, nd);
    return nd;
}

void netdev_release(Netdev *nd)
{
    if (!nd) {
        return;
    }
    g_clear_pointer(&nd->claimed_by, g_free);
    nd->announce_fn = NULL;
    nd->announce_opaque = NULL;
}

bool netdev_set_mtu(Netdev *nd, struct vhost_dev *dev, uint16_t mtu,
                    Error **errp)
{
    return !nd->cls->set_mtu || nd->cls->set_mtu(nd, dev, mtu, errp);
}

bool netdev_announce(Netdev *nd, struct vhost_dev *dev, const uint8_t mac[6],
                     Error **errp)
{
    if (!nd->cls->announce) {
        error_setg(errp, "netdev '%s' (%s) cannot announce", nd->id,
                   nd->cls->type);
        return false;
    }
    return nd->cls->announce(nd, dev, mac, errp);
}

uint64_t netdev_offloads(Netdev *nd)
{
    return nd->cls->offloads ? nd->cls->offloads(nd) : 0;
}

bool netdev_set_offloads(Netdev *nd, uint64_t guest_features, Error **errp)
{
    return !nd->cls->set_offloads ||
           nd->cls->set_offloads(nd, guest_features, errp);
}

/* --- announce-self ------------------------------------------------------- */

static bool net_announce_wanted(const Netdev *nd, const char *const *ids)
{
    return !ids || g_strv_contains(ids, nd->claimed_by);
}

bool net_announce(MachineState *ms, const char *const *ids, Error **errp)
{
    Error *first = NULL;

    for (guint i = 0; ms->nics && i < ms->nics->len; i++) {
        Netdev *nd = g_ptr_array_index(ms->nics, i);
        Error *err = NULL;

        if (!nd->claimed_by || !nd->announce_fn ||
            !net_announce_wanted(nd, ids) ||
            nd->announce_fn(nd->announce_opaque, &err)) {
            continue;
        }
        if (first) {
            error_free(err);
        } else {
            first = err;
        }
    }
    if (first) {
        error_propagate(errp, first);
        return false;
    }
    return true;
}

void net_cleanup(MachineState *ms)
{
    g_clear_pointer(&ms->nics, g_ptr_array_unref);
    g_clear_pointer(&ms->netdevs, g_ptr_array_unref);
}
