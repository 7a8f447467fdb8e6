/* SPDX-License-Identifier: MIT */
/*
 * Network backends (-netdev).  A netdev is a named vhost backend
 * connection for a virtio-net device, created from the command line
 * before the devices and later claimed by exactly one
 *   -device virtio-net-device,netdev=ID
 * Types (net/<type>.c each):
 *   -netdev vhost-user,id=ID,chardev=ID[,queues=Q]       (net/vhost-user.c)
 *   -netdev tap,id=ID[,ifname=..|fd=..|fds=..][,vhost=on][,vhostfd=..]
 *         [,queues=Q]                                    (net/tap.c)
 * Besides the connection (VhostConn, which the device drives through the
 * vhost core), a netdev answers the two net requests that depend on the
 * backend: the MTU the driver accepted, and announcing the guest's MAC
 * after migration.  announce-self reaches the devices through the netdevs
 * they claimed (net_announce).
 *
 * Threading: created and freed on the main thread while the machine is
 * built; the rest runs with the machine lock held.
 */
#ifndef NET_NET_H
#define NET_NET_H

#include "hw/boards.h"
#include "hw/virtio/vhost-conn.h"

typedef struct Netdev Netdev;

/* announce-self for the device that claimed a netdev. */
typedef bool NetdevAnnounceFn(void *opaque, Error **errp);

typedef struct NetdevClass {
    const char *type;               /* -netdev TYPE */
    /* Parse the type's options (opts also holds "type" and "id"), fill
     * nd->queues and create nd->conn. */
    bool (*init)(Netdev *nd, MachineState *ms, GHashTable *opts,
                 Error **errp);
    /* The MTU the driver accepted, before the rings start (dev: the
     * first queue pair).  A backend that cannot hear it is skipped with
     * a -d vhost line (true).  NULL: skipped. */
    bool (*set_mtu)(Netdev *nd, struct vhost_dev *dev, uint16_t mtu,
                    Error **errp);
    /* Make the network learn mac (vhost-user: SEND_RARP).  NULL: the
     * backend cannot. */
    bool (*announce)(Netdev *nd, struct vhost_dev *dev,
                     const uint8_t mac[6], Error **errp);
    /* virtio-net feature bits the netdev implements itself rather than
     * the vhost backend (tap: checksum and segmentation offloads, done
     * by the tap on the virtio-net header).  NULL: none. */
    uint64_t (*offloads)(Netdev *nd);
    /* The driver accepted guest_features (before the rings start): turn
     * on what it can receive (tap: TUNSETOFFLOAD).  NULL: nothing to do. */
    bool (*set_offloads)(Netdev *nd, uint64_t guest_features,
                         Error **errp);
    /* Free nd->state, after the connection (NULL: nothing to free). */
    void (*free)(Netdev *nd);
} NetdevClass;

struct Netdev {
    char *id;
    const NetdevClass *cls;
    VhostConn *conn;                /* owned */
    void *state;                    /* the type's own (tap fds, ...) */
    unsigned queues;                /* queue pairs asked for (queues=) */
    char *claimed_by;               /* device id, NULL while free */
    NetdevAnnounceFn *announce_fn;  /* the claiming device's */
    void *announce_opaque;
};

/* -netdev OPTSTR: parse, create the connection, register in ms->netdevs.
 * Errors as QEMU's ("Parameter 'type' is missing", ...). */
bool netdev_add(MachineState *ms, const char *optstr, Error **errp);
/* Look up netdev id and claim it for device owner, which answers
 * announce-self with fn(opaque).  "netdev 'ID' not found" / "netdev 'ID'
 * is already in use by OWNER". */
Netdev *netdev_claim(MachineState *ms, const char *id, const char *owner,
                     NetdevAnnounceFn *fn, void *opaque, Error **errp);
/* The device is going: the netdev is free again.  NULL-safe. */
void netdev_release(Netdev *nd);

/* The backend requests of a claimed netdev (NetdevClass). */
bool netdev_set_mtu(Netdev *nd, struct vhost_dev *dev, uint16_t mtu,
                    Error **errp);
bool netdev_announce(Netdev *nd, struct vhost_dev *dev, const uint8_t mac[6],
                     Error **errp);
/* NetdevClass.offloads / set_offloads (0 / true without them). */
uint64_t netdev_offloads(Netdev *nd);
bool netdev_set_offloads(Netdev *nd, uint64_t guest_features, Error **errp);

/* announce-self: every claimed netdev's device whose id is in ids (NULL:
 * all), in the order the devices claimed them; every one is tried, the
 * first failure is the error.  Machine lock held. */
bool net_announce(MachineState *ms, const char *const *ids, Error **errp);

/* Free every netdev (devices are gone by then). */
void net_cleanup(MachineState *ms);

/* For the types: queues= within 1 .. (VIRTIO_QUEUE_MAX - 1) / 2, else
 * "queues must be between 1 and N". */
bool netdev_check_queues(uint64_t queues, Error **errp);

/* The types (net/<type>.c). */
extern const NetdevClass netdev_vhost_user_class;
extern const NetdevClass netdev_tap_class;

#endif
