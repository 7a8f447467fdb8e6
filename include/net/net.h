/* SPDX-License-Identifier: MIT */
/*
 * Network backends (-netdev).  kvmini's only backend type is vhost-user:
 *   -netdev vhost-user,id=N,chardev=ID[,queues=Q]
 * A netdev is created before the devices and later claimed by exactly one
 * -device virtio-net-device,netdev=N.
 */
#ifndef NET_NET_H
#define NET_NET_H

#include "chardev/char.h"
#include "hw/boards.h"

typedef struct NetdevVhostUser {
    char *id;
    Chardev *chr;
    unsigned queues;            /* queue pairs asked for (queues=) */
    char *claimed_by;           /* device id, NULL while free */
} NetdevVhostUser;

/* -netdev OPTSTR: parse, check the chardev, register in ms->netdevs. */
bool netdev_add(MachineState *ms, const char *optstr, Error **errp);
/* Look up a netdev by id and claim it for device `owner`. */
NetdevVhostUser *netdev_claim(MachineState *ms, const char *id,
                              const char *owner, Error **errp);
/* Free every netdev (devices are gone by then). */
void net_cleanup(MachineState *ms);

#endif
