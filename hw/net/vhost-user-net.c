/* SPDX-License-Identifier: MIT */
/*
 * virtio-net over vhost-user (see the header for the command line and the
 * queue layout).
 *
 * Life cycle:
 *   create   -> claim the netdev, plug, wait for the backend, connect
 *   connect  -> vhost_user_init once, vhost_dev_init per queue pair (the
 *               first negotiates for the connection), GET_QUEUE_NUM
 *               checked against queues=, link up
 *   DRIVER_OK-> start the pairs the driver can use (all with MQ, else
 *               one): host notifiers (ioeventfd), guest notifiers (irqfd),
 *               NET_SET_MTU (if F_MTU was accepted), vhost_dev_start
 *               per pair, then SET_VRING_ENABLE on (pair < curr_pairs)
 *               or off
 *   status 0 -> stop: vhost_dev_stop per pair saves each ring's index
 *   CLOSED   -> stop without the backend, vhost_dev_cleanup, link down
 *   OPENED   -> connect again, link up and, if the driver is running,
 *               start from the saved ring state
 * The control queue never goes to the backend: its kicks reach
 * virtio-mmio's QueueNotify handler and vu_net_handle_ctrl()
 * (vhost-user-net-ctrl.c).
 * Everything runs with the machine lock held.
 */
#include "vhost-user-net-internal.h"
#include "qemu/compiler.h"
#include "qemu/log.h"
#include "qemu/option.h"

#include <endian.h>
#include <stddef.h>
#include <string.h>

#define VU_NET_DEFAULT_QUEUE_SIZE 256
#define VU_NET_MIN_QUEUE_SIZE     256
#define VU_NET_MAX_QUEUE_SIZE     1024
#define VU_NET_CTRL_QUEUE_SIZE    64
#define VU_NET_MIN_MTU            68
#define VU_NET_CONFIG_SIZE \
    (offsetof(struct virtio_net_config, mtu) + sizeof(uint16_t))

/* Data-path features passed through when the backend offers them. */
static const int vu_net_backend_bits[] = {
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
#define VU_NET_DEVICE_FEATURES                                   \
    ((1ULL << VIRTIO_NET_F_MAC) | (1ULL << VIRTIO_NET_F_STATUS) |  \
     (1ULL << VIRTIO_NET_F_CTRL_VQ) | (1ULL << VIRTIO_NET_F_CTRL_RX) | \
     (1ULL << VIRTIO_NET_F_CTRL_RX_EXTRA) |                        \
     (1ULL << VIRTIO_NET_F_CTRL_MAC_ADDR) |                        \
     (1ULL << VIRTIO_NET_F_GUEST_ANNOUNCE))

/* Device features the backend hears about too when it offers them, as
 * QEMU's vhost-user net does (GUEST_ANNOUNCE: no RARP from the backend). */
#define VU_NET_SHARED_FEATURES                                   \
    ((1ULL << VIRTIO_NET_F_MQ) | (1ULL << VIRTIO_NET_F_MTU) |      \
     (1ULL << VIRTIO_NET_F_GUEST_ANNOUNCE))

void vu_net_report(VHostUserNet *s, Error *err, const char *what)
{
    error_report("%s: %s: %s", s->label, what, error_get_pretty(err));
    error_free(err);
}

/* Pairs the driver can use: all with MQ, else the first. */
static unsigned vu_net_usable_pairs(const VHostUserNet *s)
{
    return vu_net_acked(s, VIRTIO_NET_F_MQ) ? s->max_pairs : 1;
}

/* --- start / stop -------------------------------------------------------- */

/* What the backend is told the driver accepted: its own bits only. */
static uint64_t vu_net_backend_acked(const VHostUserNet *s)
{
    uint64_t mask = VU_NET_SHARED_FEATURES;

    for (size_t i = 0; vu_net_backend_bits[i] != VHOST_INVALID_FEATURE_BIT;
         i++) {
        mask |= 1ULL << vu_net_backend_bits[i];
    }
    return s->vdev.guest_features & mask & s->pairs[0].features;
}

/* As QEMU: the backend hears the MTU only if the driver accepted
 * VIRTIO_NET_F_MTU (else the guest does not know it and may send larger
 * frames than the backend was told to expect). */
static bool vu_net_set_mtu(VHostUserNet *s, Error **errp)
{
    if (!s->mtu || !vu_net_acked(s, VIRTIO_NET_F_MTU)) {
        return true;
    }
    if (!virtio_has_feature(s->pairs[0].protocol_features,
                            VHOST_USER_PROTOCOL_F_NET_MTU)) {
        qemu_log_mask(LOG_VHOST, "%s: backend lacks NET_MTU, mtu=%u not "
                      "sent\n", s->label, s->mtu);
        return true;
    }
    return vhost_user_net_set_mtu(&s->pairs[0], s->mtu, errp);
}

static bool vu_net_start_pair(VHostUserNet *s, unsigned p, unsigned npairs,
                              Error **errp)
{
    struct vhost_dev *dev = &s->pairs[p];

    /* SET_STATUS goes with the last pair started (vu_dev_start). */
    dev->vq_index_end = 2 * npairs;
    dev->acked_features = vu_net_backend_acked(s);
    if (!vhost_dev_enable_notifiers(dev, &s->vdev, errp)) {
        return false;
    }
    if (!vhost_dev_start(dev, &s->vdev, false, errp)) {
        vhost_dev_disable_notifiers(dev, &s->vdev);
        return false;
    }
    return true;
}

/* The last pair (which sends SET_STATUS 0) goes first. */
static void vu_net_stop_pairs(VHostUserNet *s, unsigned n)
{
    while (n-- > 0) {
        vhost_dev_stop(&s->pairs[n], &s->vdev, true);
        vhost_dev_disable_notifiers(&s->pairs[n], &s->vdev);
    }
}

/* SET_VRING_ENABLE: pairs below curr_pairs on, the others off. */
bool vu_net_enable_pairs(VHostUserNet *s, Error **errp)
{
    for (unsigned p = 0; p < s->started_pairs; p++) {
        struct vhost_dev *dev = &s->pairs[p];

        if (!dev->vhost_ops->set_vring_enable(dev, p < s->curr_pairs,
                                              errp)) {
            error_prepend(errp, "queue pair %u: ", p);
            return false;
        }
    }
    return true;
}

static bool vu_net_start(VHostUserNet *s, Error **errp)
{
    VirtIODevice *vdev = &s->vdev;
    unsigned npairs = vu_net_usable_pairs(s);
    unsigned p;

    if (!vdev->transport->set_guest_notifiers(vdev, 2 * npairs, true,
                                              errp)) {
        return false;
    }
    if (!vu_net_set_mtu(s, errp)) {
        goto err_guest;
    }
    for (p = 0; p < npairs; p++) {
        if (!vu_net_start_pair(s, p, npairs, errp)) {
            goto err_pairs;
        }
    }
    s->started_pairs = npairs;
    if (!vu_net_enable_pairs(s, errp)) {
        goto err_pairs;
    }
    return true;

err_pairs:
    s->started_pairs = 0;
    vu_net_stop_pairs(s, p);
err_guest:
    vdev->transport->set_guest_notifiers(vdev, 2 * npairs, false, NULL);
    return false;
}

static void vu_net_stop(VHostUserNet *s)
{
    unsigned n = s->started_pairs;

    if (!n) {
        return;
    }
    s->started_pairs = 0;
    vu_net_stop_pairs(s, n);
    s->vdev.transport->set_guest_notifiers(&s->vdev, 2 * n, false, NULL);
}

static bool vu_net_should_run(VHostUserNet *s)
{
    return s->connected && (s->vdev.status & VIRTIO_CONFIG_S_DRIVER_OK) &&
           !(s->vdev.status & VIRTIO_CONFIG_S_NEEDS_RESET) &&
           !s->vdev.vm_stopped;
}

bool vu_net_vm_state_change(VirtIODevice *vdev, Error **errp)
{
    VHostUserNet *s = vu_net_of(vdev);

    if (!vu_net_should_run(s)) {
        vu_net_stop(s);
        return true;
    }
    return s->started_pairs || vu_net_start(s, errp);
}

static void vu_net_update_running(VHostUserNet *s)
{
    Error *err = NULL;

    if (vu_net_should_run(s) && !s->started_pairs) {
        if (!vu_net_start(s, &err)) {
            vu_net_report(s, err, "could not start the backend");
        }
    } else if (!vu_net_should_run(s) && s->started_pairs) {
        vu_net_stop(s);
    }
}

/* --- virtio hooks -------------------------------------------------------- */

static uint64_t vu_net_get_features(VirtIODevice *vdev)
{
    VHostUserNet *s = vu_net_of(vdev);
    uint64_t f = VU_NET_DEVICE_FEATURES;

    for (size_t i = 0; vu_net_backend_bits[i] != VHOST_INVALID_FEATURE_BIT;
         i++) {
        f |= 1ULL << vu_net_backend_bits[i];
    }
    if (s->mq) {
        f |= 1ULL << VIRTIO_NET_F_MQ;
    }
    if (s->mtu) {
        f |= 1ULL << VIRTIO_NET_F_MTU;
    }
    /* The data-path bits only if the backend offers them (the features of
     * the last connection while it is away). */
    return vhost_get_features(&s->pairs[0], vu_net_backend_bits, f);
}

/* The control queue's index depends on MQ (virtio 1.x §5.1.2). */
static bool vu_net_set_features(VirtIODevice *vdev, uint64_t features)
{
    VHostUserNet *s = vu_net_of(vdev);
    unsigned ctrl;

    for (unsigned i = 0; i < vdev->nvqs; i++) {
        vdev->vq[i].handler = NULL;
    }
    if (virtio_has_feature(features, VIRTIO_NET_F_CTRL_VQ)) {
        ctrl = virtio_has_feature(features, VIRTIO_NET_F_MQ) ?
               2 * s->max_pairs : 2;
        vdev->vq[ctrl].handler = vu_net_handle_ctrl;
    }
    return true;    /* the backend hears at start (acked_features) */
}

static void vu_net_get_config(VirtIODevice *vdev)
{
    VHostUserNet *s = vu_net_of(vdev);
    struct virtio_net_config cfg = {
        .status = htole16(s->status),
        .max_virtqueue_pairs = htole16(s->max_pairs),
        .mtu = htole16(s->mtu),
    };

    memcpy(cfg.mac, s->mac, sizeof(cfg.mac));
    memcpy(vdev->config, &cfg, MIN(vdev->config_len, VU_NET_CONFIG_SIZE));
}

static void vu_net_set_status(VirtIODevice *vdev, uint8_t status)
{
    vu_net_update_running(vu_net_of(vdev));
}

void vu_net_reset_state(VHostUserNet *s)
{
    VirtIODevice *vdev = &s->vdev;

    for (unsigned i = 0; i < vdev->nvqs; i++) {
        vdev->vq[i].handler = NULL;
    }
    s->curr_pairs = 1;
    memcpy(s->mac, s->perm_mac, sizeof(s->mac));
    s->status &= ~VIRTIO_NET_S_ANNOUNCE;
    s->rx = (VhostUserNetRxFilter){ 0 };
}

static void vu_net_reset(VirtIODevice *vdev)
{
    VHostUserNet *s = vu_net_of(vdev);

    vu_net_stop(s);
    vu_net_reset_state(s);
}

static const VirtioDeviceClass vu_net_class = {
    .name = "virtio-net-device",
    .device_id = VIRTIO_ID_NET,
    .get_features = vu_net_get_features,
    .set_features = vu_net_set_features,
    .get_config = vu_net_get_config,
    .set_status = vu_net_set_status,
    .reset = vu_net_reset,
    .migration = &vu_net_migration_ops,
};

/* --- backend connection -------------------------------------------------- */

static void vu_net_set_link(VHostUserNet *s, bool up)
{
    uint16_t status = up ? s->status | VIRTIO_NET_S_LINK_UP
                         : s->status & ~VIRTIO_NET_S_LINK_UP;

    if (status != s->status) {
        s->status = status;
        virtio_notify_config(&s->vdev);
    }
}

/* GET_QUEUE_NUM (read at negotiation) counts queue pairs for net, as in
 * QEMU; without the MQ protocol feature the backend has one. */
static bool vu_net_check_backend(VHostUserNet *s, Error **errp)
{
    struct vhost_dev *dev = &s->pairs[0];
    uint64_t max = virtio_has_feature(dev->protocol_features,
                                      VHOST_USER_PROTOCOL_F_MQ) ?
                   dev->max_queues : 1;

    if (!virtio_has_feature(dev->features, VIRTIO_F_VERSION_1)) {
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

static bool vu_net_init_pairs(VHostUserNet *s, Error **errp)
{
    for (unsigned p = 0; p < s->max_pairs; p++) {
        struct vhost_dev *dev = &s->pairs[p];

        dev->nvqs = 2;
        dev->vq_index = 2 * p;
        dev->vq_index_end = 2 * s->max_pairs;
        dev->id = s->label;
        if (!vhost_dev_init(dev, &s->vhost_user, &vhost_user_ops,
                            &s->ms->address_space_memory, errp)) {
            return false;
        }
        /* Before the other pairs: they would only repeat the refusal. */
        if (p == 0 && !vu_net_check_backend(s, errp)) {
            return false;
        }
    }
    return true;
}

static void vu_net_cleanup_pairs(VHostUserNet *s)
{
    for (unsigned p = s->max_pairs; p-- > 0;) {
        vhost_dev_cleanup(&s->pairs[p]);
    }
    vhost_user_cleanup(&s->vhost_user);
}

/* For x-query-vhost and the VHOST_USER_(DIS)CONNECTED events. */
static void vu_net_report_connected(VHostUserNet *s, bool connected)
{
    for (unsigned p = 0; p < s->max_pairs; p++) {
        qdev_vhost_set_connected(s->ms, &s->pairs[p], s->id, s->chr,
                                 connected);
    }
}

static bool vu_net_connect(VHostUserNet *s, Error **errp)
{
    if (s->connected) {
        return true;
    }
    if (!vhost_user_init(&s->vhost_user, s->chr, s->label, errp) ||
        !vu_net_init_pairs(s, errp)) {
        vu_net_cleanup_pairs(s);
        return false;
    }
    s->connected = true;
    vu_net_report_connected(s, true);
    vu_net_set_link(s, true);
    vu_net_update_running(s);
    return true;
}

/* The link goes down in vu_net_chr_event(), not here: at teardown no
 * config interrupt is wanted. */
static void vu_net_disconnect(VHostUserNet *s)
{
    if (!s->connected) {
        return;
    }
    s->connected = false;
    vu_net_stop(s);
    vu_net_cleanup_pairs(s);
    vu_net_report_connected(s, false);
}

static void vu_net_chr_event(void *opaque, ChrEvent event)
{
    VHostUserNet *s = opaque;
    Error *err = NULL;

    g_mutex_lock(&s->ms->lock);
    if (event == CHR_EVENT_OPENED) {
        if (!vu_net_connect(s, &err)) {
            vu_net_report(s, err, "backend connection failed");
            qemu_chr_fe_disconnect(s->chr);
        }
    } else if (s->connected) {
        error_report("%s: backend disconnected", s->label);
        vu_net_disconnect(s);
        vu_net_set_link(s, false);
    }
    g_mutex_unlock(&s->ms->lock);
}

bool vhost_user_net_announce(VHostUserNet *s, Error **errp)
{
    if (vu_net_acked(s, VIRTIO_NET_F_GUEST_ANNOUNCE) &&
        vu_net_acked(s, VIRTIO_NET_F_CTRL_VQ)) {
        s->status |= VIRTIO_NET_S_ANNOUNCE;
        virtio_notify_config(&s->vdev);
        return true;
    }
    if (!s->connected) {
        error_setg(errp, "%s: cannot announce: backend not connected",
                   s->label);
        return false;
    }
    if (!vhost_user_send_rarp(&s->pairs[0], s->mac, errp)) {
        error_prepend(errp, "%s: cannot announce: ", s->label);
        return false;
    }
    return true;
}

/* --- creation ------------------------------------------------------------ */

/* "52:54:00:12:34:56" (or with '-'), exactly two hex digits each. */
static bool vu_net_parse_mac(const char *str, uint8_t mac[6])
{
    for (unsigned i = 0; i < VHOST_USER_NET_ETH_ALEN; i++) {
        const char *p = str + 3 * i;
        int hi = g_ascii_xdigit_value(p[0]);
        int lo = hi < 0 ? -1 : g_ascii_xdigit_value(p[1]);
        bool last = i == VHOST_USER_NET_ETH_ALEN - 1;

        /* p[2] exists (at worst the NUL): p[1] was a digit. */
        if (lo < 0 || (last ? p[2] != '\0' : p[2] != ':' && p[2] != '-')) {
            return false;
        }
        mac[i] = hi << 4 | lo;
    }
    return true;
}

static bool vu_net_parse_mac_opt(VHostUserNet *s, GHashTable *opts,
                                 Error **errp)
{
    const char *str = qemu_opt_get(opts, "mac");

    if (!str) {
        return true;
    }
    if (!vu_net_parse_mac(str, s->perm_mac)) {
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

static bool vu_net_queue_size(GHashTable *opts, const char *key,
                              uint16_t *out, Error **errp)
{
    uint64_t v;

    if (!qemu_opt_get_number(opts, key, VU_NET_DEFAULT_QUEUE_SIZE, &v,
                             errp)) {
        return false;
    }
    if (v < VU_NET_MIN_QUEUE_SIZE || v > VU_NET_MAX_QUEUE_SIZE ||
        (v & (v - 1))) {
        error_setg(errp, "Invalid %s (= %" PRIu64 "), must be a power of 2 "
                   "between %d and %d.", key, v, VU_NET_MIN_QUEUE_SIZE,
                   VU_NET_MAX_QUEUE_SIZE);
        return false;
    }
    *out = v;
    return true;
}

/* mtu= (and QEMU's name for it, host_mtu=). */
static bool vu_net_parse_mtu(VHostUserNet *s, GHashTable *opts,
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
    if (mtu && (mtu < VU_NET_MIN_MTU || mtu > UINT16_MAX)) {
        error_setg(errp, "%s must be between %d and %d", key,
                   VU_NET_MIN_MTU, UINT16_MAX);
        return false;
    }
    s->mtu = mtu;
    return true;
}

static bool vu_net_parse(VHostUserNet *s, GHashTable *opts, Error **errp)
{
    static const char *const keys[] = { "driver", "id", "netdev", "mac",
                                        "mq", "mtu", "host_mtu",
                                        "rx_queue_size", "tx_queue_size",
                                        NULL };
    const char *netdev = qemu_opt_get(opts, "netdev");

    if (!qemu_opts_check_keys(opts, keys, errp) ||
        !vu_net_parse_mac_opt(s, opts, errp) ||
        !qemu_opt_get_bool(opts, "mq", false, &s->mq, errp) ||
        !vu_net_parse_mtu(s, opts, errp) ||
        !vu_net_queue_size(opts, "rx_queue_size", &s->rx_queue_size, errp) ||
        !vu_net_queue_size(opts, "tx_queue_size", &s->tx_queue_size, errp)) {
        return false;
    }
    if (!netdev) {
        error_setg(errp, "netdev is required (netdev=ID of a -netdev "
                   "vhost-user)");
        return false;
    }
    s->netdev = netdev_claim(s->ms, netdev, s->id, errp);
    if (!s->netdev) {
        return false;
    }
    s->chr = s->netdev->chr;
    s->max_pairs = s->netdev->queues;
    if (s->max_pairs > 1 && !s->mq) {
        warn_report("%s: netdev '%s' has queues=%u; the guest can use them "
                    "only with mq=on", s->label, netdev, s->max_pairs);
    }
    return true;
}

/* receiveq 2p, transmitq 2p+1, the control queue last. */
static void vu_net_init_virtio(VHostUserNet *s)
{
    unsigned nvqs = 2 * s->max_pairs + 1;

    virtio_init(&s->vdev, &vu_net_class, s->ms, s->id, nvqs,
                s->rx_queue_size, VU_NET_CONFIG_SIZE);
    for (unsigned i = 1; i < nvqs - 1; i += 2) {
        s->vdev.vq[i].num_max = s->tx_queue_size;
    }
    s->vdev.vq[nvqs - 1].num_max = VU_NET_CTRL_QUEUE_SIZE;
}

/* 52:54:00:12:34:56 plus the slot index, as QEMU numbers its NICs. */
static void vu_net_default_mac(VHostUserNet *s)
{
    static const uint8_t base[VHOST_USER_NET_ETH_ALEN] = {
        0x52, 0x54, 0x00, 0x12, 0x34, 0x56
    };

    if (!s->mac_set) {
        memcpy(s->perm_mac, base, sizeof(base));
        s->perm_mac[5] += s->proxy.slot->index;
    }
    memcpy(s->mac, s->perm_mac, sizeof(s->mac));
}

static bool vu_net_create(MachineState *ms, GHashTable *opts, Error **errp)
{
    VHostUserNet *s = g_new0(VHostUserNet, 1);
    const char *id = qemu_opt_get(opts, "id");

    s->ms = ms;
    s->curr_pairs = 1;
    s->id = id ? g_strdup(id) : g_strdup_printf("virtio-net-device%u",
                                                ms->mmio_slots_used);
    s->label = g_strdup_printf("virtio-net-device '%s'", s->id);
    if (!vu_net_parse(s, opts, errp)) {
        vhost_user_net_free(s);
        return false;
    }
    vu_net_init_virtio(s);
    if (!virtio_mmio_plug(&s->proxy, &s->vdev, ms, errp)) {
        vhost_user_net_free(s);
        return false;
    }
    vu_net_default_mac(s);
    s->pairs = g_new0(struct vhost_dev, s->max_pairs);
    for (unsigned p = 0; p < s->max_pairs; p++) {
        qdev_register_vhost(ms, &s->pairs[p]);
    }
    qdev_register(ms, s, (QdevCleanupFn *)vhost_user_net_free);
    /* As QEMU's vhost-user netdev: wait for the backend at start-up. */
    if (!qemu_chr_wait_connected(s->chr, errp) || !vu_net_connect(s, errp)) {
        return false;       /* freed by qdev_cleanup */
    }
    qemu_chr_fe_set_handlers(s->chr, NULL, vu_net_chr_event, s);
    return true;
}

void vhost_user_net_free(VHostUserNet *s)
{
    if (!s) {
        return;
    }
    if (s->chr && s->chr->fe_event == vu_net_chr_event) {
        qemu_chr_fe_set_handlers(s->chr, NULL, NULL, NULL);
    }
    vu_net_disconnect(s);
    for (unsigned p = 0; s->pairs && p < s->max_pairs; p++) {
        qdev_unregister_vhost(s->ms, &s->pairs[p]);
    }
    virtio_mmio_unplug(&s->proxy);
    virtio_cleanup(&s->vdev);
    if (s->netdev) {
        g_clear_pointer(&s->netdev->claimed_by, g_free);
    }
    g_free(s->pairs);
    g_free(s->id);
    g_free(s->label);
    g_free(s);
}

/* system_reset (QMP): as a driver reset. */
static void vu_net_qdev_reset(void *dev)
{
    virtio_reset(&((VHostUserNet *)dev)->vdev);
}

const DeviceModel virtio_net_device_model = {
    .name = "virtio-net-device",
    .help = "netdev=ID[,id=ID][,mac=52:54:00:12:34:56][,mq=on|off]"
            "[,mtu=M][,rx_queue_size=N][,tx_queue_size=N]",
    .create = vu_net_create,
    .reset = vu_net_qdev_reset,
};
DEVICE_MODEL_REGISTER(virtio_net_device_model);
