/* SPDX-License-Identifier: MIT */
/*
 * vhost-user as a backend connection (include/hw/virtio/vhost-conn.h):
 * a socket chardev and the VhostUserState of the connection on it.
 *
 *   wait     -> qemu_chr_wait_connected (reconnect= dials, a server
 *               accepts): the backend must be there to describe the device
 *   open     -> vhost_user_init; the first vhost_dev_init negotiates
 *   close    -> vhost_user_cleanup
 *   drop     -> qemu_chr_fe_disconnect (reconnect= dials again, a server
 *               accepts the next peer); with reconnect= a backend that
 *               fails at start-up is dropped and the next one awaited
 *   watch    -> the chardev's OPENED / CLOSED become up / down
 *   capabilities from the negotiated protocol features: the queue count
 *   only with MQ (GET_QUEUE_NUM), config space only with CONFIG.
 *
 * The chardev is claimed for the connection's owner at creation (one
 * frontend per socket) and given back when the connection is freed.
 */
#include "hw/virtio/vhost-user.h"
#include "qemu/compiler.h"
#include "qemu/option.h"

#include <string.h>

typedef struct VhostUserConn {
    VhostConn parent;
    Chardev *chr;
    char *owner;                /* what the chardev is claimed for */
    VhostUserState state;
} VhostUserConn;

static VhostUserConn *vu_conn(VhostConn *c)
{
    return container_of(c, VhostUserConn, parent);
}

static bool vu_conn_wait(VhostConn *c, Error **errp)
{
    return qemu_chr_wait_connected(vu_conn(c)->chr, errp);
}

static bool vu_conn_open(VhostConn *c, Error **errp)
{
    VhostUserConn *u = vu_conn(c);

    return vhost_user_init(&u->state, u->chr, c->label, errp);
}

static void vu_conn_close(VhostConn *c)
{
    vhost_user_cleanup(&vu_conn(c)->state);
}

static void vu_conn_drop(VhostConn *c)
{
    qemu_chr_fe_disconnect(vu_conn(c)->chr);
}

/* A client with reconnect= dials again after a drop. */
static bool vu_conn_retries(VhostConn *c)
{
    return qemu_chr_reconnects(vu_conn(c)->chr);
}

static void vu_conn_chr_event(void *opaque, ChrEvent event)
{
    VhostConn *c = opaque;

    if (event == CHR_EVENT_OPENED) {
        vhost_conn_event_up(c);
    } else {
        vhost_conn_event_down(c);
    }
}

static void vu_conn_watch(VhostConn *c, bool on)
{
    Chardev *chr = vu_conn(c)->chr;

    if (on) {
        qemu_chr_fe_set_handlers(chr, NULL, vu_conn_chr_event, c);
    } else if (chr->fe_event == vu_conn_chr_event && chr->fe_opaque == c) {
        qemu_chr_fe_set_handlers(chr, NULL, NULL, NULL);
    }
}

static bool vu_conn_max_queues(VhostConn *c, uint64_t *queues)
{
    VhostUserState *u = &vu_conn(c)->state;

    if (!(u->protocol_features & (1ULL << VHOST_USER_PROTOCOL_F_MQ))) {
        return false;
    }
    *queues = u->max_queues;
    return true;
}

static bool vu_conn_has_config(VhostConn *c)
{
    VhostUserState *u = &vu_conn(c)->state;

    return u->protocol_features & (1ULL << VHOST_USER_PROTOCOL_F_CONFIG);
}

static void vu_conn_query(VhostConn *c, VhostConnInfo *info)
{
    VhostUserConn *u = vu_conn(c);

    info->socket_path = qemu_chr_socket_path(u->chr);
    info->protocol_features = u->state.protocol_features;
}

/* Give the chardev back, unless another frontend holds it. */
static void vu_conn_free(VhostConn *c)
{
    VhostUserConn *u = vu_conn(c);

    if (u->chr->fe_owner && !strcmp(u->chr->fe_owner, u->owner)) {
        g_clear_pointer(&u->chr->fe_owner, g_free);
        qemu_chr_fe_set_lock(u->chr, NULL);
    }
    g_free(u->owner);
    g_free(u);
}

static const VhostConnClass vhost_user_conn_class = {
    .type = "vhost-user",
    .ops = &vhost_user_ops,
    .wait = vu_conn_wait,
    .open = vu_conn_open,
    .close = vu_conn_close,
    .drop = vu_conn_drop,
    .retries = vu_conn_retries,
    .watch = vu_conn_watch,
    .max_queues = vu_conn_max_queues,
    .has_config = vu_conn_has_config,
    .query = vu_conn_query,
    .free = vu_conn_free,
};

VhostConn *vhost_user_conn_new(Chardev *chr, const char *owner, GMutex *lock,
                               Error **errp)
{
    VhostUserConn *u;

    if (!qemu_chr_fe_claim(chr, owner, errp)) {
        return NULL;
    }
    u = g_new0(VhostUserConn, 1);
    u->chr = chr;
    u->owner = g_strdup(owner);
    u->state.backend_fd = -1;
    u->state.lock = lock;       /* the backend channel serves under it */
    /* The chardev calls us, and changes the connection, under the lock;
     * its synchronous reads (the worker's) release it while waiting. */
    qemu_chr_fe_set_lock(chr, lock);
    vhost_conn_setup(&u->parent, &vhost_user_conn_class, chr->id, &u->state,
                     lock);
    return &u->parent;
}

bool vhost_user_chardev_opt(MachineState *ms, GHashTable *opts,
                            Chardev **chr, Error **errp)
{
    const char *id = qemu_opt_get(opts, "chardev");

    if (!id) {
        error_setg(errp, "chardev is required (chardev=ID of a -chardev "
                   "socket)");
        return false;
    }
    *chr = g_hash_table_lookup(ms->chardevs, id);
    if (!*chr) {
        error_setg(errp, "chardev '%s' not found", id);
        return false;
    }
    return true;
}
