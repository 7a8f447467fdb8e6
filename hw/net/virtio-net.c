/* SPDX-License-Identifier: MIT */
/*
 * virtio-net (see the header for the command line and the queue layout).
 *
 * The life cycle is VhostDevice's, one vhost_dev per queue pair on the
 * netdev's connection; the net specifics are its hooks:
 *   check_backend  -> VERSION_1, and the pairs the backend serves cover
 *                     queues=
 *   connected      -> link up / down, with a config interrupt
 *   devs_to_start  -> the pairs the driver can use (all with MQ, else one)
 *   acked_features -> only the bits the backend has a say in
 *   pre_start      -> the offloads (tap) and the MTU the driver
 *                     accepted, through the netdev
 *   ring_enabled   -> pairs below curr_pairs carry traffic (VQ_PAIRS_SET)
 * The control queue never goes to the backend: its kicks reach
 * virtio-mmio's QueueNotify handler and vnet_handle_ctrl()
 * (virtio-net-ctrl.c).
 * Everything runs with the machine lock held.
 */
#include "virtio-net-internal.h"
#include "qemu/compiler.h"
#include "qemu/option.h"

#include <endian.h>
#include <inttypes.h>
#include <stddef.h>
#include <string.h>

#define VNET_DEFAULT_QUEUE_SIZE 256
#define VNET_MIN_QUEUE_SIZE     256
#define VNET_MAX_QUEUE_SIZE     1024
#define VNET_CTRL_QUEUE_SIZE    64
#define VNET_MIN_MTU            68
#define VNET_CONFIG_SIZE \
    (offsetof(struct virtio_net_config, mtu) + sizeof(uint16_t))

/* Data-path features passed through when the backend offers them. */
static const int vnet_backend_bits[] = {
    VIRTIO_RING_F_INDIRECT_DESC, VIRTIO_RING_F_EVENT_IDX,
    VIRTIO_F_VERSION_1,
    VIRTIO_NET_F_CSUM, VIRTIO_NET_F_GUEST_CSUM, VIRTIO_NET_F_GSO,
    VIRTIO_NET_F_GUEST_TSO4, VIRTIO_NET_F_GUEST_TSO6,
    VIRTIO_NET_F_GUEST_ECN, VIRTIO_NET_F_GUEST_UFO,
    VIRTIO_NET_F_HOST_TSO4, VIRTIO_NET_F_HOST_TSO6,
    VIRTIO_NET_F_HOST_ECN, VIRTIO_NET_F_HOST_UFO,
    VIRTIO_NET_F_MRG_RXBUF,
    VHOST_INVALID_FEATURE_BIT
};

/* Offered by the device itself (MQ and MTU only when configured). */
#define VNET_DEVICE_FEATURES                                   \
    ((1ULL << VIRTIO_NET_F_MAC) | (1ULL << VIRTIO_NET_F_STATUS) |  \
     (1ULL << VIRTIO_NET_F_CTRL_VQ) | (1ULL << VIRTIO_NET_F_CTRL_RX) | \
     (1ULL << VIRTIO_NET_F_CTRL_RX_EXTRA) |                        \
     (1ULL << VIRTIO_NET_F_CTRL_MAC_ADDR) |                        \
     (1ULL << VIRTIO_NET_F_GUEST_ANNOUNCE))

/* Device features the backend hears about too when it offers them, as
 * QEMU's vhost-user net does (GUEST_ANNOUNCE: no RARP from the backend). */
#define VNET_SHARED_FEATURES                                   \
    ((1ULL << VIRTIO_NET_F_MQ) | (1ULL << VIRTIO_NET_F_MTU) |      \
     (1ULL << VIRTIO_NET_F_GUEST_ANNOUNCE))

/* Pairs the driver can use: all with MQ, else the first. */
static unsigned vnet_devs_to_start(VhostDevice *d)
{
    VirtIONet *s = vnet_of_device(d);

    return vnet_acked(s, VIRTIO_NET_F_MQ) ? s->max_pairs : 1;
}

/* What the backend is told the driver accepted: its own bits only (not
 * the offloads the netdev does itself). */
static uint64_t vnet_backend_acked(VhostDevice *d)
{
    VirtIONet *s = vnet_of_device(d);
    uint64_t mask = VNET_SHARED_FEATURES;

    for (size_t i = 0; vnet_backend_bits[i] != VHOST_INVALID_FEATURE_BIT;
         i++) {
        mask |= 1ULL << vnet_backend_bits[i];
    }
    mask &= ~netdev_offloads(s->netdev);
    return d->vdev.guest_features & mask & d->devs[0].features;
}

/* The netdev's offloads as the driver accepted them; then, as QEMU, the
 * MTU — the backend hears it only if the driver accepted
 * VIRTIO_NET_F_MTU (else the guest does not know it and may send larger
 * frames than the backend was told to expect). */
static bool vnet_pre_start(VhostDevice *d, Error **errp)
{
    VirtIONet *s = vnet_of_device(d);

    if (!netdev_set_offloads(s->netdev, d->vdev.guest_features, errp)) {
        return false;
    }
    if (!s->mtu || !vnet_acked(s, VIRTIO_NET_F_MTU)) {
        return true;
    }
    return netdev_set_mtu(s->netdev, &d->devs[0], s->mtu, errp);
}

/* SET_VRING_ENABLE: pairs below curr_pairs on, the others off. */
static bool vnet_ring_enabled(VhostDevice *d, unsigned pair)
{
    return pair < vnet_of_device(d)->curr_pairs;
}

/* --- virtio hooks -------------------------------------------------------- */

static uint64_t vnet_get_features(VirtIODevice *vdev)
{
    VirtIONet *s = vnet_of(vdev);
    uint64_t f = VNET_DEVICE_FEATURES;

    for (size_t i = 0; vnet_backend_bits[i] != VHOST_INVALID_FEATURE_BIT;
         i++) {
        f |= 1ULL << vnet_backend_bits[i];
    }
    if (s->mq) {
        f |= 1ULL << VIRTIO_NET_F_MQ;
    }
    if (s->mtu) {
        f |= 1ULL << VIRTIO_NET_F_MTU;
    }
    /* The data-path bits only if the backend offers them (the features of
     * the last connection while it is away), or the netdev does them. */
    return vhost_get_features(&s->parent.devs[0], vnet_backend_bits, f) |
           (f & netdev_offloads(s->netdev));
}

/* The control queue's index depends on MQ (virtio 1.x §5.1.2). */
static bool vnet_set_features(VirtIODevice *vdev, uint64_t features)
{
    VirtIONet *s = vnet_of(vdev);
    unsigned ctrl;

    for (unsigned i = 0; i < vdev->nvqs; i++) {
        vdev->vq[i].handler = NULL;
    }
    if (virtio_has_feature(features, VIRTIO_NET_F_CTRL_VQ)) {
        ctrl = virtio_has_feature(features, VIRTIO_NET_F_MQ) ?
               2 * s->max_pairs : 2;
        vdev->vq[ctrl].handler = vnet_handle_ctrl;
    }
    return true;    /* the backend hears at start (acked_features) */
}

static void vnet_get_config(VirtIODevice *vdev)
{
    VirtIONet *s = vnet_of(vdev);
    struct virtio_net_config cfg = {
        .status = htole16(s->status),
        .max_virtqueue_pairs = htole16(s->max_pairs),
        .mtu = htole16(s->mtu),
    };

    memcpy(cfg.mac, s->mac, sizeof(cfg.mac));
    memcpy(vdev->config, &cfg, MIN(vdev->config_len, VNET_CONFIG_SIZE));
}

void vnet_reset_state(VirtIONet *s)
{
    VirtIODevice *vdev = &s->parent.vdev;

    for (unsigned i = 0; i < vdev->nvqs; i++) {
        vdev->vq[i].handler = NULL;
    }
    s->curr_pairs = 1;
    memcpy(s->mac, s->perm_mac, sizeof(s->mac));
    s->status &= ~VIRTIO_NET_S_ANNOUNCE;
    s->rx = (VirtIONetRxFilter){ 0 };
}

static void vnet_reset(VirtIODevice *vdev)
{
    VirtIONet *s = vnet_of(vdev);

    vhost_device_stop(&s->parent);
    vnet_reset_state(s);
}

static const VirtioDeviceClass vnet_class = {
    .name = "virtio-net-device",
    .device_id = VIRTIO_ID_NET,
    .get_features = vnet_get_features,
    .set_features = vnet_set_features,
    .get_config = vnet_get_config,
    .set_status = vhost_device_set_status,
    .reset = vnet_reset,
    .migration = &vnet_migration_ops,
};

/* --- backend connection -------------------------------------------------- */

static void vnet_set_link(VirtIONet *s, bool up)
{
    uint16_t status = up ? s->status | VIRTIO_NET_S_LINK_UP
                         : s->status & ~VIRTIO_NET_S_LINK_UP;

    if (status != s->status) {
        s->status = status;
        virtio_notify_config(&s->parent.vdev);
    }
}

static void vnet_connected(VhostDevice *d, bool up)
{
    vnet_set_link(vnet_of_device(d), up);
}

/* The backend's queue count (vhost-user: GET_QUEUE_NUM) counts queue
 * pairs for net, as in QEMU; a backend that does not say has one. */
static bool vnet_check_backend(VhostDevice *d, Error **errp)
{
    VirtIONet *s = vnet_of_device(d);
    uint64_t max;

    if (!vhost_conn_max_queues(d->conn, &max)) {
        max = 1;
    }
    if (!virtio_has_feature(d->devs[0].features, VIRTIO_F_VERSION_1)) {
        error_setg(errp, "the backend does not offer VIRTIO_F_VERSION_1");
        return false;
    }
    if (s->max_pairs > max) {
        error_setg(errp, "netdev '%s' has queues=%u but the backend "
                   "supports only %" PRIu64 " queue pair(s)",
                   s->netdev->id, s->max_pairs, max);
        return false;
    }
    return true;
}

const VhostDeviceOps vnet_device_ops = {
    .check_backend = vnet_check_backend,
    .connected = vnet_connected,
    .devs_to_start = vnet_devs_to_start,
    .acked_features = vnet_backend_acked,
    .pre_start = vnet_pre_start,
    .ring_enabled = vnet_ring_enabled,
};

/* On the connection's worker: the backend tells the network. */
static bool vnet_backend_announce(VhostDevice *d, void *arg, Error **errp)
{
    VirtIONet *s = vnet_of_device(d);

    if (!d->connected) {
        error_setg(errp, "backend not connected");
        return false;
    }
    return netdev_announce(s->netdev, &d->devs[0], s->mac, errp);
}

bool virtio_net_announce(VirtIONet *s, Error **errp)
{
    if (vnet_acked(s, VIRTIO_NET_F_GUEST_ANNOUNCE) &&
        vnet_acked(s, VIRTIO_NET_F_CTRL_VQ)) {
        s->status |= VIRTIO_NET_S_ANNOUNCE;
        virtio_notify_config(&s->parent.vdev);
        return true;
    }
    if (!vhost_device_run(&s->parent, vnet_backend_announce, NULL, errp)) {
        error_prepend(errp, "%s: cannot announce: ", s->parent.label);
        return false;
    }
    return true;
}

/* announce-self, through net/. */
static bool vnet_announce_self(void *opaque, Error **errp)
{
    return virtio_net_announce(opaque, errp);
}

/* --- creation ------------------------------------------------------------ */

/* "52:54:00:12:34:56" (or with '-'), exactly two hex digits each. */
static bool vnet_parse_mac(const char *str, uint8_t mac[6])
{
    for (unsigned i = 0; i < VIRTIO_NET_ETH_ALEN; i++) {
        const char *p = str + 3 * i;
        int hi = g_ascii_xdigit_value(p[0]);
        int lo = hi < 0 ? -1 : g_ascii_xdigit_value(p[1]);
        bool last = i == VIRTIO_NET_ETH_ALEN - 1;

        /* p[2] exists (at worst the NUL): p[1] was a digit. */
        if (lo < 0 || (last ? p[2] != '\0' : p[2] != ':' && p[2] != '-')) {
            return false;
        }
        mac[i] = hi << 4 | lo;
    }
    return true;
}

static bool vnet_parse_mac_opt(VirtIONet *s, GHashTable *opts,
                                 Error **errp)
{
    const char *str = qemu_opt_get(opts, "mac");

    if (!str) {
        return true;
    }
    if (!vnet_parse_mac(str, s->perm_mac)) {
        error_setg(errp, "Property 'virtio-net-device.mac' doesn't take "
                   "value '%s' (expected six hex pairs, e.g. "
                   "52:54:00:12:34:56)", str);
        return false;
    }
    if (s->perm_mac[0] & 1) {
        error_setg(errp, "mac %s is a multicast address", str);
        return false;
    }
    s->mac_set = true;
    return true;
}

static bool vnet_queue_size(GHashTable *opts, const char *key,
                              uint16_t *out, Error **errp)
{
    uint64_t v;

    if (!qemu_opt_get_number(opts, key, VNET_DEFAULT_QUEUE_SIZE, &v,
                             errp)) {
        return false;
    }
    if (v < VNET_MIN_QUEUE_SIZE || v > VNET_MAX_QUEUE_SIZE ||
        (v & (v - 1))) {
        error_setg(errp, "Invalid %s (= %" PRIu64 "), must be a power of 2 "
                   "between %d and %d.", key, v, VNET_MIN_QUEUE_SIZE,
                   VNET_MAX_QUEUE_SIZE);
        return false;
    }
    *out = v;
    return true;
}

/* mtu= (and QEMU's name for it, host_mtu=). */
static bool vnet_parse_mtu(VirtIONet *s, GHashTable *opts,
                             Error **errp)
{
    const char *key = qemu_opt_get(opts, "host_mtu") ? "host_mtu" : "mtu";
    uint64_t mtu;

    if (qemu_opt_get(opts, "host_mtu") && qemu_opt_get(opts, "mtu")) {
        error_setg(errp, "give either mtu or host_mtu, not both");
        return false;
    }
    if (!qemu_opt_get_number(opts, key, 0, &mtu, errp)) {
        return false;
    }
    if (mtu && (mtu < VNET_MIN_MTU || mtu > UINT16_MAX)) {
        error_setg(errp, "%s must be between %d and %d", key,
                   VNET_MIN_MTU, UINT16_MAX);
        return false;
    }
    s->mtu = mtu;
    return true;
}

static bool vnet_parse(VirtIONet *s, GHashTable *opts, Error **errp)
{
    static const char *const keys[] = { "driver", "id", "netdev", "mac",
                                        "mq", "mtu", "host_mtu",
                                        "rx_queue_size", "tx_queue_size",
                                        NULL };
    const char *netdev = qemu_opt_get(opts, "netdev");

    if (!qemu_opts_check_keys(opts, keys, errp) ||
        !vnet_parse_mac_opt(s, opts, errp) ||
        !qemu_opt_get_bool(opts, "mq", false, &s->mq, errp) ||
        !vnet_parse_mtu(s, opts, errp) ||
        !vnet_queue_size(opts, "rx_queue_size", &s->rx_queue_size, errp) ||
        !vnet_queue_size(opts, "tx_queue_size", &s->tx_queue_size, errp)) {
        return false;
    }
    if (!netdev) {
        error_setg(errp, "netdev is required (netdev=ID of a -netdev "
                   "vhost-user)");
        return false;
    }
    s->netdev = netdev_claim(s->parent.ms, netdev, s->parent.id,
                             vnet_announce_self, s, errp);
    if (!s->netdev) {
        return false;
    }
    s->max_pairs = s->netdev->queues;
    if (s->max_pairs > 1 && !s->mq) {
        warn_report("%s: netdev '%s' has queues=%u; the guest can use them "
                    "only with mq=on", s->parent.label, netdev,
                    s->max_pairs);
    }
    return true;
}

/* receiveq 2p, transmitq 2p+1, the control queue last. */
static void vnet_queue_sizes(VirtIONet *s)
{
    VirtIODevice *vdev = &s->parent.vdev;
    unsigned nvqs = 2 * s->max_pairs + 1;

    for (unsigned i = 1; i < nvqs - 1; i += 2) {
        vdev->vq[i].num_max = s->tx_queue_size;
    }
    vdev->vq[nvqs - 1].num_max = VNET_CTRL_QUEUE_SIZE;
}

/* 52:54:00:12:34:56 plus the slot index, as QEMU numbers its NICs. */
static void vnet_default_mac(VirtIONet *s)
{
    static const uint8_t base[VIRTIO_NET_ETH_ALEN] = {
        0x52, 0x54, 0x00, 0x12, 0x34, 0x56
    };

    if (!s->mac_set) {
        memcpy(s->perm_mac, base, sizeof(base));
        s->perm_mac[5] += s->parent.proxy.slot->index;
    }
    memcpy(s->mac, s->perm_mac, sizeof(s->mac));
}

static void virtio_net_free(VirtIONet *s)
{
    if (!s) {
        return;
    }
    vhost_device_unrealize(&s->parent);
    netdev_release(s->netdev);
    g_free(s);
}

static void vnet_cleanup(void *dev)
{
    virtio_net_free(dev);
}

static bool vnet_create(MachineState *ms, GHashTable *opts, Error **errp)
{
    VirtIONet *s = g_new0(VirtIONet, 1);
    VhostDevice *d = &s->parent;

    s->curr_pairs = 1;
    vhost_device_init(d, ms, "virtio-net-device", qemu_opt_get(opts, "id"),
                      &vnet_device_ops);
    if (!vnet_parse(s, opts, errp)) {
        virtio_net_free(s);
        return false;
    }
    vhost_device_set_conn(d, s->netdev->conn, false);
    vhost_device_alloc_devs(d, s->max_pairs, 2);
    /* From here on qdev_cleanup frees it, success or not. */
    if (!vhost_device_plug(d, &vnet_class, 2 * s->max_pairs + 1,
                           s->rx_queue_size, VNET_CONFIG_SIZE, s,
                           vnet_cleanup, errp)) {
        return false;
    }
    vnet_queue_sizes(s);
    vnet_default_mac(s);
    /* As QEMU's vhost-user netdev: wait for the backend at start-up. */
    return vhost_device_connect_first(d, errp);
}

/* system_reset (QMP): as a driver reset. */
static void vnet_qdev_reset(void *dev)
{
    virtio_reset(&((VirtIONet *)dev)->parent.vdev);
}

static const DeviceModel virtio_net_device_model = {
    .name = "virtio-net-device",
    .help = "netdev=ID[,id=ID][,mac=52:54:00:12:34:56][,mq=on|off]"
            "[,mtu=M][,rx_queue_size=N][,tx_queue_size=N]",
    .create = vnet_create,
    .reset = vnet_qdev_reset,
};
DEVICE_MODEL_REGISTER(virtio_net_device_model);
