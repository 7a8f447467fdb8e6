/* SPDX-License-Identifier: MIT */
/*
 * VHOST_NET_SET_BACKEND as vhost_net_set_backend(): owner, index, ring
 * access (no memory table is EFAULT), then the fd (-1 detaches; a tap or
 * a socket, anything else ENOTSOCK); the same file again changes nothing.
 */
#include "ioctl-int.h"

#include <errno.h>
#include <linux/if_tun.h>
#include <linux/kcmp.h>
#include <net/if.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

/* get_socket(): -1 detaches; a tap or a socket is taken; anything else,
 * including a bad fd, is ENOTSOCK. */
static int get_backend(StandinReq *r, int fd, const char **kind)
{
    int ours = standin_pidfd_getfd(r->tid, fd);
    g_autofree char *path = NULL;
    g_autofree char *link = NULL;

    if (ours < 0) {
        return -ENOTSOCK;
    }
    path = g_strdup_printf("/proc/self/fd/%d", ours);
    link = g_file_read_link(path, NULL);
    if (link && g_str_has_prefix(link, "socket:")) {
        *kind = "socket";
        return ours;
    }
    if (link && strcmp(link, "/dev/net/tun") == 0) {
        *kind = "tap";
        return ours;
    }
    close(ours);
    return -ENOTSOCK;
}

static bool vq_access_ok(StandinDevice *d, StandinVring *vq)
{
    if (!standin_vq_log_access_ok(d, vq, d->log_base)) {
        return false;
    }
    return standin_user_range_ok(vq->desc, 16ULL * vq->num) &&
           standin_user_range_ok(vq->avail, 6 + 2ULL * vq->num) &&
           standin_user_range_ok(vq->used, standin_vq_used_size(vq));
}

/* Same open file (the kernel compares the socket)? */
static bool same_file(int a, int b)
{
    pid_t self = getpid();

    return a >= 0 && b >= 0 &&
           syscall(SYS_kcmp, self, self, KCMP_FILE, a, b) == 0;
}

/* A name for the backend's queue: the tap's interface, else the socket's
 * inode. */
static void backend_name(int fd, char *buf, size_t len)
{
    struct ifreq ifr = { 0 };
    g_autofree char *path = g_strdup_printf("/proc/self/fd/%d", fd);
    g_autofree char *link = NULL;

    if (ioctl(fd, TUNGETIFF, &ifr) == 0) {
        g_strlcpy(buf, ifr.ifr_name, len);
        return;
    }
    link = g_file_read_link(path, NULL);
    g_strlcpy(buf, link ? link : "", len);
}

/* A frame read from the tap but not yet placed stays queued while the
 * ring is detached, as the kernel pushes its batch back into the tap's
 * ring; it is dropped if another queue is attached. */
static void rx_pending_on_attach(StandinDevice *d, int fd)
{
    char name[sizeof(d->rx_frame_src)];

    backend_name(fd, name, sizeof(name));
    if (strcmp(name, d->rx_frame_src) != 0) {
        g_clear_pointer(&d->rx_frame, g_free);
    }
}

static long attach(StandinDevice *d, unsigned index, int ours)
{
    StandinVring *vq = &d->vq[index];
    int ret;

    if (same_file(ours, vq->backend_fd)) {
        close(ours);            /* sock == oldsock: nothing changes */
        return 0;
    }
    if (index == STANDIN_VQ_RX && vq->backend_fd >= 0) {
        backend_name(vq->backend_fd, d->rx_frame_src,
                     sizeof(d->rx_frame_src));
    }
    if (index == STANDIN_VQ_RX && ours >= 0) {
        rx_pending_on_attach(d, ours);
    }
    standin_replace_fd(&vq->backend_fd, ours);
    ret = ours >= 0 ? standin_vq_init_access(d, vq) : 0;
    if (ret < 0) {
        standin_replace_fd(&vq->backend_fd, -1);
    }
    standin_worker_kick(d);
    return ret;
}

static long set_backend(StandinReq *r, unsigned index, int fd)
{
    StandinDevice *d = r->dev;
    const char *kind = "none";
    int ours = -1;

    if (!standin_is_owner(r)) {
        return -EPERM;
    }
    if (index >= STANDIN_NVQS) {
        return -ENOBUFS;
    }
    if (!vq_access_ok(d, &d->vq[index])) {
        return -EFAULT;
    }
    if (fd != -1) {
        ours = get_backend(r, fd, &kind);
        if (ours < 0) {
            return ours;
        }
    }
    standin_detail(r, "(%s)", kind);
    return attach(d, index, ours);
}

long standin_ioctl_net_set_backend(StandinReq *r)
{
    struct vhost_vring_file f;

    if (standin_arg_read(r, &f, sizeof(f)) < 0) {
        return -EFAULT;
    }
    standin_detail(r, "index=%u fd=%d", f.index, f.fd);
    return set_backend(r, f.index, f.fd);
}

