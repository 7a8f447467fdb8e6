/* SPDX-License-Identifier: MIT */
/*
 * Network backends (-netdev).  A netdev is only a named reference to a
 * vhost-user connection — the chardev and how many queue pairs to use —
 * created before the devices (machine.c's pass 1) and then claimed by
 * exactly one virtio-net device, which does all the protocol work.  The
 * chardev is claimed here, at creation, so that no other frontend (a
 * vhost-user-blk, a monitor) can take the same socket.
 */
#include "net/net.h"
#include "hw/qdev.h"
#include "hw/virtio/virtio.h"
#include "qemu/option.h"

#include <string.h>

/* 2 * queues + 1 (the control queue) must fit VIRTIO_QUEUE_MAX. */
#define NETDEV_MAX_QUEUES ((VIRTIO_QUEUE_MAX - 1) / 2)

static void netdev_free(gpointer p)
{
    NetdevVhostUser *nd = p;

    g_free(nd->id);
    g_free(nd->claimed_by);
    g_free(nd);
}

static bool netdev_parse(NetdevVhostUser *nd, MachineState *ms,
                         GHashTable *opts, Error **errp)
{
    static const char *const keys[] = { "type", "id", "chardev", "queues",
                                        NULL };
    const char *chardev = qemu_opt_get(opts, "chardev");
    uint64_t queues;

    if (!qemu_opts_check_keys(opts, keys, errp) ||
        !qemu_opt_get_number(opts, "queues", 1, &queues, errp)) {
        return false;
    }
    if (!chardev) {
        error_setg(errp, "Parameter 'chardev' is missing");
        return false;
    }
    nd->chr = g_hash_table_lookup(ms->chardevs, chardev);
    if (!nd->chr) {
        error_setg(errp, "chardev \"%s\" not found", chardev);
        return false;
    }
    if (queues < 1 || queues > NETDEV_MAX_QUEUES) {
        error_setg(errp, "queues must be between 1 and %d",
                   NETDEV_MAX_QUEUES);
        return false;
    }
    nd->queues = queues;
    return true;
}

static bool netdev_check_type(GHashTable *opts, Error **errp)
{
    const char *type = qemu_opt_get(opts, "type");
    const char *id = qemu_opt_get(opts, "id");

    if (!type || !*type) {
        error_setg(errp, "Parameter 'type' is missing");
        return false;
    }
    if (strcmp(type, "vhost-user")) {
        error_setg(errp, "Parameter 'type' does not accept value '%s' "
                   "(kvmini supports vhost-user only)", type);
        return false;
    }
    if (!id || !*id) {
        error_setg(errp, "Parameter 'id' is missing");
        return false;
    }
    return true;
}

bool netdev_add(MachineState *ms, const char *optstr, Error **errp)
{
    g_autoptr(GHashTable) opts = qemu_opts_parse(optstr, "type", errp);
    g_autofree char *owner = NULL;
    NetdevVhostUser *nd;

    if (!opts || !netdev_check_type(opts, errp)) {
        return false;
    }
    if (!ms->netdevs) {
        ms->netdevs = g_hash_table_new_full(g_str_hash, g_str_equal, NULL,
                                            netdev_free);
    }
    if (g_hash_table_contains(ms->netdevs, qemu_opt_get(opts, "id"))) {
        error_setg(errp, "Duplicate ID '%s' for netdev",
                   qemu_opt_get(opts, "id"));
        return false;
    }
    nd = g_new0(NetdevVhostUser, 1);
    nd->id = g_strdup(qemu_opt_get(opts, "id"));
    owner = g_strdup_printf("netdev '%s'", nd->id);
    if (!netdev_parse(nd, ms, opts, errp) ||
        !qemu_chr_fe_claim(nd->chr, owner, errp)) {
        netdev_free(nd);
        return false;
    }
    g_hash_table_insert(ms->netdevs, nd->id, nd);
    return true;
}

NetdevVhostUser *netdev_claim(MachineState *ms, const char *id,
                              const char *owner, Error **errp)
{
    NetdevVhostUser *nd = ms->netdevs && id ?
                          g_hash_table_lookup(ms->netdevs, id) : NULL;

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
    return nd;
}

void net_cleanup(MachineState *ms)
{
    if (ms->netdevs) {
        g_hash_table_destroy(ms->netdevs);
        ms->netdevs = NULL;
    }
}
