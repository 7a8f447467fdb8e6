/* SPDX-License-Identifier: MIT */
/*
 * -netdev tap: a tap device served by the kernel's vhost-net, with QEMU's
 * syntax:
 *
 *   -netdev tap,id=ID[,ifname=NAME][,fd=N|fds=N:M:..][,script=no]
 *           [,downscript=no][,vhost=on][,vhostfd=N|vhostfds=N:M:..]
 *           [,queues=Q][,vnet_hdr=on]
 *
 * Per queue pair one tap queue (/dev/net/tun, IFF_TAP | IFF_NO_PI |
 * IFF_VNET_HDR, | IFF_MULTI_QUEUE for queues > 1; TUNSETVNETHDRSZ to the
 * VIRTIO 1.x header, 12 bytes) and one vhost-net device
 * (/dev/vhost-net), both opened here or handed over by a management tool
 * (fd=/fds=, vhostfd=/vhostfds=).  The connection is vhost-kernel's
 * (include/hw/virtio/vhost-kernel.h): on start each vhost device's rings
 * are attached to its tap queue (VHOST_NET_SET_BACKEND).  Ring enable on
 * a multiqueue tap attaches or detaches its queue (TUNSETQUEUE).
 *
 * What kvmini refuses, each with one line: vhost=off (device data never
 * passes through kvmini: there is no userspace virtio-net), a script
 * other than "no" (kvmini runs no helper scripts; an omitted script=
 * means none), vnet_hdr=off, a missing /dev/net/tun or /dev/vhost-net,
 * an fd number that is not open, and a tap fd without IFF_VNET_HDR.
 *
 * Offloads are the tap's, not vhost-net's (which passes the virtio-net
 * header through): the checksum and segmentation features the tap
 * accepts (probed with TUNSETOFFLOAD at start-up) are offered to the
 * driver, the kernel never hears them, and what the driver accepted for
 * its receive side becomes TUNSETOFFLOAD before the rings start.
 * announce-self writes a RARP frame (with an empty virtio-net header)
 * into the first tap queue, as QEMU does for a tap.
 */
#include "net/net.h"
#include "hw/virtio/vhost-kernel.h"
#include "qemu/option.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if_ether.h>
#include <linux/if_tun.h>
#include <linux/virtio_net.h>
#include <net/if.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#define TUN_PATH        "/dev/net/tun"
#define TAP_RARP_LEN    60      /* the minimum Ethernet frame, no FCS */

typedef struct TapState {
    int *fds;                   /* one tap queue per queue pair */
    unsigned n;
    bool mq;                    /* IFF_MULTI_QUEUE */
    char ifname[IFNAMSIZ];
    uint64_t offloads;          /* virtio-net bits the tap can do */
} TapState;

#define VNET_BIT(b)     (1ULL << VIRTIO_NET_F_##b)

/* --- options ------------------------------------------------------------- */

/* A script is a program QEMU would run; kvmini runs none. */
static bool tap_check_script(GHashTable *opts, const char *key,
                             Error **errp)
{
    const char *v = qemu_opt_get(opts, key);

    if (v && strcmp(v, "no") && *v) {
        error_setg(errp, "%s=%s: kvmini does not run helper scripts; set "
                   "the tap up beforehand and use %s=no", key, v, key);
        return false;
    }
    return true;
}

static bool tap_check_flags(GHashTable *opts, Error **errp)
{
    bool vhost, vnet_hdr;

    if (!qemu_opt_get_bool(opts, "vhost", true, &vhost, errp) ||
        !qemu_opt_get_bool(opts, "vnet_hdr", true, &vnet_hdr, errp)) {
        return false;
    }
    if (!vhost) {
        error_setg(errp, "vhost=off is not supported: kvmini keeps device "
                   "data out of the VMM (no userspace virtio-net); use "
                   "vhost=on");
        return false;
    }
    if (!vnet_hdr) {
        error_setg(errp, "vnet_hdr=off is not supported: vhost-net needs "
                   "the tap's virtio-net header (vnet_hdr=on)");
        return false;
    }
    return tap_check_script(opts, "script", errp) &&
           tap_check_script(opts, "downscript", errp);
}

/* An fd number the process has open; it is kvmini's from now on and
 * not inherited by children. */
static bool tap_parse_fd(const char *key, const char *str, int *fd,
                         Error **errp)
{
    uint64_t v;
    int flags;

    if (qemu_strtou64(str, &v) < 0 || v > INT32_MAX) {
        error_setg(errp, "%s=%s: not a file descriptor number", key, str);
        return false;
    }
    flags = fcntl((int)v, F_GETFD);
    if (flags < 0 || fcntl((int)v, F_SETFD, flags | FD_CLOEXEC) < 0) {
        error_setg_errno(errp, errno, "%s=%s", key, str);
        return false;
    }
    *fd = (int)v;
    return true;
}

/* fd=N or fds=N:M:.. (list: the plural key) into a new array. */
static bool tap_parse_fds(GHashTable *opts, const char *one,
                          const char *list, int **fds, unsigned *n,
                          Error **errp)
{
    const char *v1 = qemu_opt_get(opts, one), *vn = qemu_opt_get(opts, list);
    g_auto(GStrv) parts = NULL;

    *fds = NULL;
    *n = 0;
    if (v1 && vn) {
        error_setg(errp, "%s= and %s= cannot be used together", one, list);
        return false;
    }
    if (!v1 && !vn) {
        return true;
    }
    parts = g_strsplit(v1 ? v1 : vn, ":", -1);
    if (v1 && g_strv_length(parts) != 1) {
        error_setg(errp, "%s=%s: one number (use %s= for several)", one, v1,
                   list);
        return false;
    }
    *n = g_strv_length(parts);
    *fds = g_new(int, *n);
    for (unsigned i = 0; i < *n; i++) {
        if (!tap_parse_fd(v1 ? one : list, parts[i], &(*fds)[i], errp)) {
            g_clear_pointer(fds, g_free);
            return false;
        }
    }
    return true;
}

/* --- the tap ------------------------------------------------------------- */

/* Every queue: the VIRTIO 1.x header, no offloads, never blocks kvmini. */
static bool tap_setup_queue(int fd, Error **errp)
{
    int hdr = sizeof(struct virtio_net_hdr_mrg_rxbuf);
    int fl = fcntl(fd, F_GETFL);

    if (ioctl(fd, TUNSETVNETHDRSZ, &hdr) < 0) {
        error_setg_errno(errp, errno, "TUNSETVNETHDRSZ %d", hdr);
        return false;
    }
    if (ioctl(fd, TUNSETOFFLOAD, 0UL) < 0) {
        error_setg_errno(errp, errno, "TUNSETOFFLOAD");
        return false;
    }
    if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) {
        error_setg_errno(errp, errno, "tap: O_NONBLOCK");
        return false;
    }
    return true;
}

/* Open one queue of ifname ("" the first time: the kernel names it). */
static int tap_open_queue(TapState *t, Error **errp)
{
    struct ifreq ifr = { 0 };
    int fd = open(TUN_PATH, O_RDWR | O_CLOEXEC);

    if (fd < 0) {
        error_setg_errno(errp, errno, "could not open %s", TUN_PATH);
        return -1;
    }
    ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR |
                    (t->mq ? IFF_MULTI_QUEUE : 0);
    g_strlcpy(ifr.ifr_name, t->ifname, sizeof(ifr.ifr_name));
    if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
        error_setg_errno(errp, errno, "could not create tap%s%s",
                         *t->ifname ? " " : "", t->ifname);
        close(fd);
        return -1;
    }
    g_strlcpy(t->ifname, ifr.ifr_name, sizeof(t->ifname));
    return fd;
}

/* A handed-over fd must be a tap with the virtio-net header. */
static bool tap_check_given(TapState *t, int fd, Error **errp)
{
    struct ifreq ifr = { 0 };

    if (ioctl(fd, TUNGETIFF, &ifr) < 0) {
        error_setg_errno(errp, errno, "fd %d is not a tap", fd);
        return false;
    }
    if (!(ifr.ifr_flags & IFF_TAP) || !(ifr.ifr_flags & IFF_VNET_HDR)) {
        error_setg(errp, "fd %d: the tap %s was not opened with IFF_TAP | "
                   "IFF_VNET_HDR", fd, ifr.ifr_name);
        return false;
    }
    t->mq = ifr.ifr_flags & IFF_MULTI_QUEUE;
    g_strlcpy(t->ifname, ifr.ifr_name, sizeof(t->ifname));
    return true;
}

static bool tap_open_all(TapState *t, const char *ifname, Error **errp)
{
    g_strlcpy(t->ifname, ifname ? ifname : "", sizeof(t->ifname));
    if (ifname && strlen(ifname) >= IFNAMSIZ) {
        error_setg(errp, "ifname=%s: longer than %d characters", ifname,
                   IFNAMSIZ - 1);
        return false;
    }
    t->mq = t->n > 1;
    for (unsigned i = 0; i < t->n; i++) {
        t->fds[i] = tap_open_queue(t, errp);
        if (t->fds[i] < 0) {
            return false;
        }
    }
    return true;
}

/* Each TUNSETOFFLOAD level the tap accepts makes virtio-net features
 * possible (as QEMU offers them for a tap with a virtio-net header):
 * checksums, then TCP segmentation, then UDP fragmentation. */
static uint64_t tap_probe_offloads(int fd)
{
    static const struct {
        unsigned flags;
        uint64_t features;
    } levels[] = {
        { TUN_F_CSUM, VNET_BIT(CSUM) | VNET_BIT(GUEST_CSUM) },
        { TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_TSO_ECN,
          VNET_BIT(HOST_TSO4) | VNET_BIT(HOST_TSO6) | VNET_BIT(HOST_ECN) |
          VNET_BIT(GUEST_TSO4) | VNET_BIT(GUEST_TSO6) |
          VNET_BIT(GUEST_ECN) },
        { TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_TSO_ECN | TUN_F_UFO,
          VNET_BIT(HOST_UFO) | VNET_BIT(GUEST_UFO) },
    };
    uint64_t features = 0;

    for (size_t i = 0; i < G_N_ELEMENTS(levels); i++) {
        if (ioctl(fd, TUNSETOFFLOAD, (unsigned long)levels[i].flags) < 0) {
            break;
        }
        features |= levels[i].features;
    }
    ioctl(fd, TUNSETOFFLOAD, 0UL);  /* none until the driver says */
    return features;
}

static bool tap_setup(TapState *t, Error **errp)
{
    t->offloads = tap_probe_offloads(t->fds[0]);
    for (unsigned i = 0; i < t->n; i++) {
        if (!tap_setup_queue(t->fds[i], errp)) {
            error_prepend(errp, "tap %s: ", t->ifname);
            return false;
        }
    }
    return true;
}

/* TUNSETQUEUE: a multiqueue tap's queue i carries frames or not. */
static bool tap_enable_queue(void *opaque, unsigned i, bool on, Error **errp)
{
    TapState *t = opaque;
    struct ifreq ifr = {
        .ifr_flags = on ? IFF_ATTACH_QUEUE : IFF_DETACH_QUEUE,
    };

    if (!t->mq || i >= t->n) {
        return true;
    }
    if (ioctl(t->fds[i], TUNSETQUEUE, &ifr) < 0 && !(on && errno == EINVAL)) {
        error_setg_errno(errp, errno, "TUNSETQUEUE %s (tap %s queue %u)",
                         on ? "attach" : "detach", t->ifname, i);
        return false;
    }
    return true;    /* attaching an attached queue is EINVAL: fine */
}

/* --- vhost-net ----------------------------------------------------------- */

/* vhostfd=/vhostfds= as given, else one /dev/vhost-net per queue. */
static bool tap_vhost_fds(GHashTable *opts, unsigned n, int **vfds,
                          Error **errp)
{
    unsigned given;

    if (!tap_parse_fds(opts, "vhostfd", "vhostfds", vfds, &given, errp)) {
        return false;
    }
    if (*vfds && given != n) {
        error_setg(errp, "%u vhost fd(s) for %u tap queue(s)", given, n);
        g_clear_pointer(vfds, g_free);
        return false;
    }
    if (*vfds) {
        return true;
    }
    *vfds = g_new(int, n);
    for (unsigned i = 0; i < n; i++) {
        (*vfds)[i] = vhost_kernel_open(VHOST_NET_PATH, errp);
        if ((*vfds)[i] < 0) {
            while (i-- > 0) {
                close((*vfds)[i]);
            }
            error_prepend(errp, "vhost=on: ");
            g_clear_pointer(vfds, g_free);
            return false;
        }
    }
    return true;
}

/* --- the netdev type ----------------------------------------------------- */

static bool tap_check_fd_opts(GHashTable *opts, const int *fds, Error **errp)
{
    if (fds && qemu_opt_get(opts, "ifname")) {
        error_setg(errp, "ifname= cannot be used with fd=/fds= (the tap "
                   "is already made)");
        return false;
    }
    if (fds && qemu_opt_get(opts, "queues")) {
        error_setg(errp, "queues= cannot be used with fd=/fds= (one queue "
                   "per fd)");
        return false;
    }
    return true;
}

/* The taps, given or opened: t->fds, t->n. */
static bool tap_get_taps(TapState *t, GHashTable *opts, Error **errp)
{
    uint64_t queues;

    if (!tap_parse_fds(opts, "fd", "fds", &t->fds, &t->n, errp) ||
        !tap_check_fd_opts(opts, t->fds, errp)) {
        return false;
    }
    if (t->fds) {
        for (unsigned i = 0; i < t->n; i++) {
            if (!tap_check_given(t, t->fds[i], errp)) {
                return false;
            }
        }
        return netdev_check_queues(t->n, errp);
    }
    if (!qemu_opt_get_number(opts, "queues", 1, &queues, errp) ||
        !netdev_check_queues(queues, errp)) {
        return false;
    }
    t->n = (unsigned)queues;
    t->fds = g_new(int, t->n);
    memset(t->fds, -1, t->n * sizeof(int));
    return tap_open_all(t, qemu_opt_get(opts, "ifname"), errp);
}

static bool netdev_tap_init(Netdev *nd, MachineState *ms, GHashTable *opts,
                            Error **errp)
{
    static const char *const keys[] = {
        "type", "id", "ifname", "fd", "fds", "script", "downscript",
        "vhost", "vhostfd", "vhostfds", "queues", "vnet_hdr", NULL
    };
    TapState *t = g_new0(TapState, 1);
    g_autofree int *vfds = NULL;

    nd->state = t;
    if (!qemu_opts_check_keys(opts, keys, errp) ||
        !tap_check_flags(opts, errp) || !tap_get_taps(t, opts, errp) ||
        !tap_setup(t, errp) || !tap_vhost_fds(opts, t->n, &vfds, errp)) {
        return false;
    }
    nd->queues = t->n;
    nd->conn = vhost_kernel_conn_new(nd->id, vfds, t->fds, t->n,
                                     tap_enable_queue, t, &ms->lock);
    return true;
}

/* RARP (reverse request, as QEMU's announce) for mac, broadcast. */
static bool netdev_tap_announce(Netdev *nd, struct vhost_dev *dev,
                                const uint8_t mac[6], Error **errp)
{
    TapState *t = nd->state;
    uint8_t buf[sizeof(struct virtio_net_hdr_mrg_rxbuf) + TAP_RARP_LEN] = {
        0
    };
    uint8_t *f = buf + sizeof(struct virtio_net_hdr_mrg_rxbuf);
    static const uint8_t arp_head[8] = {
        0x00, 0x01, 0x08, 0x00, 6, 4, 0x00, 0x03  /* Ethernet, IPv4, op 3 */
    };

    memset(f, 0xff, ETH_ALEN);
    memcpy(f + ETH_ALEN, mac, ETH_ALEN);
    f[12] = ETH_P_RARP >> 8;
    f[13] = ETH_P_RARP & 0xff;
    memcpy(f + 14, arp_head, sizeof(arp_head));
    memcpy(f + 22, mac, ETH_ALEN);          /* sender hardware address */
    memcpy(f + 32, mac, ETH_ALEN);          /* target hardware address */
    if (write(t->fds[0], buf, sizeof(buf)) != (ssize_t)sizeof(buf)) {
        error_setg_errno(errp, errno, "tap %s: announce", t->ifname);
        return false;
    }
    return true;
}

static uint64_t netdev_tap_offloads(Netdev *nd)
{
    return ((TapState *)nd->state)->offloads;
}

/* What the driver can receive: the tap may hand it frames with partial
 * checksums and GSO frames of these kinds. */
static bool netdev_tap_set_offloads(Netdev *nd, uint64_t guest_features,
                                    Error **errp)
{
    TapState *t = nd->state;
    unsigned long flags = 0;

    if (guest_features & VNET_BIT(GUEST_CSUM)) {
        flags |= TUN_F_CSUM;
    }
    if (guest_features & VNET_BIT(GUEST_TSO4)) {
        flags |= TUN_F_TSO4;
    }
    if (guest_features & VNET_BIT(GUEST_TSO6)) {
        flags |= TUN_F_TSO6;
    }
    if (guest_features & VNET_BIT(GUEST_ECN)) {
        flags |= TUN_F_TSO_ECN;
    }
    if (guest_features & VNET_BIT(GUEST_UFO)) {
        flags |= TUN_F_UFO;
    }
    for (unsigned i = 0; i < t->n; i++) {
        if (ioctl(t->fds[i], TUNSETOFFLOAD, flags) < 0) {
            error_setg_errno(errp, errno, "tap %s: TUNSETOFFLOAD 0x%lx",
                             t->ifname, flags);
            return false;
        }
    }
    return true;
}

static void netdev_tap_free(Netdev *nd)
{
    TapState *t = nd->state;

    for (unsigned i = 0; t && t->fds && i < t->n; i++) {
        if (t->fds[i] >= 0) {
            close(t->fds[i]);
        }
    }
    if (t) {
        g_free(t->fds);
        g_free(t);
    }
}

const NetdevClass netdev_tap_class = {
    .type = "tap",
    .init = netdev_tap_init,
    .announce = netdev_tap_announce,
    .offloads = netdev_tap_offloads,
    .set_offloads = netdev_tap_set_offloads,
    .free = netdev_tap_free,
};
