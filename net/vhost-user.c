/* SPDX-License-Identifier: MIT */
/*
 * -netdev vhost-user,id=ID,chardev=ID[,queues=Q]: a vhost-user backend
 * connection (DPDK testpmd, OVS-DPDK, ...) on a socket chardev, claimed
 * for the netdev at creation so that no other frontend (a vhost-user-blk,
 * a monitor) can take the same socket.  The net requests become the
 * protocol's own: NET_SET_MTU (only with the NET_MTU protocol feature;
 * without it the MTU is not sent, as QEMU) and SEND_RARP (RARP protocol
 * feature required).
 */
#include "net/net.h"
#include "hw/virtio/vhost-user.h"
#include "qemu/log.h"
#include "qemu/option.h"

static bool netdev_vhost_user_init(Netdev *nd, MachineState *ms,
                                   GHashTable *opts, Error **errp)
{
    static const char *const keys[] = { "type", "id", "chardev", "queues",
                                        NULL };
    const char *id = qemu_opt_get(opts, "chardev");
    g_autofree char *owner = NULL;
    uint64_t queues;
    Chardev *chr;

    if (!qemu_opts_check_keys(opts, keys, errp) ||
        !qemu_opt_get_number(opts, "queues", 1, &queues, errp)) {
        return false;
    }
    if (!id) {
        error_setg(errp, "Parameter 'chardev' is missing");
        return false;
    }
    chr = g_hash_table_lookup(ms->chardevs, id);
    if (!chr) {
        error_setg(errp, "chardev \"%s\" not found", id);
        return false;
    }
    if (!netdev_check_queues(queues, errp)) {
        return false;
    }
    nd->queues = queues;
    owner = g_strdup_printf("netdev '%s'", nd->id);
    nd->conn = vhost_user_conn_new(chr, owner, &ms->lock, errp);
    return nd->conn != NULL;
}

static bool netdev_vhost_user_set_mtu(Netdev *nd, struct vhost_dev *dev,
                                      uint16_t mtu, Error **errp)
{
    if (!vhost_user_has_protocol_feature(dev,
                                         VHOST_USER_PROTOCOL_F_NET_MTU)) {
        qemu_log_mask(LOG_VHOST, "%s: backend lacks NET_MTU, mtu=%u not "
                      "sent\n", nd->conn->label, mtu);
        return true;
    }
    return vhost_user_net_set_mtu(dev, mtu, errp);
}

static bool netdev_vhost_user_announce(Netdev *nd, struct vhost_dev *dev,
                                       const uint8_t mac[6], Error **errp)
{
    return vhost_user_send_rarp(dev, mac, errp);
}

const NetdevClass netdev_vhost_user_class = {
    .type = "vhost-user",
    .init = netdev_vhost_user_init,
    .set_mtu = netdev_vhost_user_set_mtu,
    .announce = netdev_vhost_user_announce,
};
