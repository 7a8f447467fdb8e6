/* SPDX-License-Identifier: MIT */
/*
 * The VHOST_* ioctls of one device, in the order and with the error codes
 * of Linux 6.1's vhost_net_ioctl(): the net and feature ioctls first (no
 * owner check for the feature words), then the device ioctls (owner
 * only), then the vring ioctls (owner only; ioctl-vring.c: the ring index
 * is read and checked before the command is looked at, so an unknown
 * command with an index out of range is ENOBUFS, not ENOTTY).
 * NET_SET_BACKEND is in ioctl-net.c.
 */
#include "ioctl-int.h"

#include <errno.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>



int standin_arg_read(StandinReq *r, void *buf, size_t len)
{
    struct iovec l = { buf, len }, rem = { (void *)r->arg, len };

    return process_vm_readv(r->tid, &l, 1, &rem, 1, 0) == (ssize_t)len
           ? 0 : -EFAULT;
}

int standin_arg_write(StandinReq *r, const void *buf, size_t len)
{
    struct iovec l = { (void *)buf, len }, rem = { (void *)r->arg, len };

    return process_vm_writev(r->tid, &l, 1, &rem, 1, 0) == (ssize_t)len
           ? 0 : -EFAULT;
}

void standin_detail(StandinReq *r, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
void standin_detail(StandinReq *r, const char *fmt, ...)
{
    va_list ap;

    g_string_append_c(r->detail, ' ');
    va_start(ap, fmt);
    g_string_append_vprintf(r->detail, fmt, ap);
    va_end(ap);
}

bool standin_is_owner(StandinReq *r)
{
    return r->dev->owner && r->dev->owner == r->tgid;
}

/* Take the VMM's fd and check it is an eventfd, as eventfd_fget() does:
 * EBADF for no such fd, EINVAL for another kind of file. */
int standin_get_eventfd(StandinReq *r, int fd)
{
    g_autofree char *link = NULL;
    g_autofree char *path = NULL;
    int ours = standin_pidfd_getfd(r->tid, fd);

    if (ours < 0) {
        return ours;            /* -EBADF for a fd that is not open */
    }
    path = g_strdup_printf("/proc/self/fd/%d", ours);
    link = g_file_read_link(path, NULL);
    if (!link || strcmp(link, "anon_inode:[eventfd]") != 0) {
        close(ours);
        return -EINVAL;
    }
    return ours;
}

void standin_replace_fd(int *slot, int fd)
{
    if (*slot >= 0) {
        close(*slot);
    }
    *slot = fd;
}

/* ---- feature and owner ioctls (vhost_net_ioctl) ---- */

static long ioctl_get_features(StandinReq *r)
{
    uint64_t f = STANDIN_FEATURES;

    standin_detail(r, "features=0x%" G_GINT64_MODIFIER "x", f);
    return standin_arg_write(r, &f, sizeof(f));
}

static void set_header_lengths(StandinDevice *d, uint64_t f)
{
    size_t hdr = (f & ((1ULL << F_MRG_RXBUF) | (1ULL << F_VERSION_1)))
                 ? 12 : 10;
    bool vhost_adds = f & (1ULL << F_VNET_HDR);

    for (int i = 0; i < STANDIN_NVQS; i++) {
        d->vq[i].acked_features = f;
        d->vq[i].vhost_hlen = vhost_adds ? hdr : 0;
        d->vq[i].sock_hlen = vhost_adds ? 0 : hdr;
    }
}

/* standin_vq_log_access_ok(): with LOG_ALL the log covers every region of the
 * memory table, and a ring that logs its used ring covers that too. */
bool standin_vq_log_access_ok(StandinDevice *d, StandinVring *vq,
                             uint64_t log_base)
{
    if (!d->mem.set) {
        return false;
    }
    for (unsigned i = 0; standin_vq_has(vq, F_LOG_ALL) && i < d->mem.n; i++) {
        if (!standin_log_access_ok(log_base, d->mem.r[i].gpa,
                                   d->mem.r[i].size)) {
            return false;
        }
    }
    return !vq->log_used ||
           standin_log_access_ok(log_base, vq->log_addr,
                                 standin_vq_used_size(vq));
}

/* vhost_log_access_ok() as SET_FEATURES(LOG_ALL) uses it: only rings with
 * a backend are checked (the others are checked when they get one). */
static bool dev_log_access_ok(StandinDevice *d, uint64_t log_base)
{
    for (int i = 0; i < STANDIN_NVQS; i++) {
        StandinVring tmp = d->vq[i];

        tmp.acked_features |= 1ULL << F_LOG_ALL;
        tmp.log_used = false;
        if (tmp.backend_fd >= 0 &&
            !standin_vq_log_access_ok(d, &tmp, log_base)) {
            return false;
        }
    }
    return true;
}

static long ioctl_set_features(StandinReq *r)
{
    uint64_t f;

    if (standin_arg_read(r, &f, sizeof(f)) < 0) {
        return -EFAULT;
    }
    standin_detail(r, "features=0x%" G_GINT64_MODIFIER "x", f);
    if (f & ~STANDIN_FEATURES) {
        return -EOPNOTSUPP;
    }
    if ((f & (1ULL << F_LOG_ALL)) &&
        !dev_log_access_ok(r->dev, r->dev->log_base)) {
        return -EFAULT;
    }
    set_header_lengths(r->dev, f);
    standin_worker_kick(r->dev);
    return 0;
}

static long ioctl_get_backend_features(StandinReq *r)
{
    uint64_t f = STANDIN_BACKEND_FEATURES;

    standin_detail(r, "features=0x%" G_GINT64_MODIFIER "x", f);
    return standin_arg_write(r, &f, sizeof(f));
}

static long ioctl_set_backend_features(StandinReq *r)
{
    uint64_t f;

    if (standin_arg_read(r, &f, sizeof(f)) < 0) {
        return -EFAULT;
    }
    standin_detail(r, "features=0x%" G_GINT64_MODIFIER "x", f);
    if (f & ~STANDIN_BACKEND_FEATURES) {
        return -EOPNOTSUPP;
    }
    r->dev->backend_features = f;
    return 0;
}

static long ioctl_set_owner(StandinReq *r)
{
    int ret;

    if (r->dev->owner) {
        return -EBUSY;
    }
    r->dev->owner = r->tgid;
    r->dev->mem_pid = r->tgid;
    ret = standin_worker_start(r->dev);
    if (ret < 0) {
        r->dev->owner = 0;
    }
    return ret;
}

static long ioctl_reset_owner(StandinReq *r)
{
    if (!standin_is_owner(r)) {
        return -EPERM;
    }
    /* The worker stops; rings, fds, features and the log go; memory
     * becomes an empty table (not "no table"), as vhost_dev_reset_owner. */
    pthread_mutex_unlock(&r->dev->lock);
    standin_worker_stop(r->dev);
    pthread_mutex_lock(&r->dev->lock);
    standin_device_reset(r->dev);
    r->dev->mem.set = true;
    return 0;
}
/* ---- device ioctls (vhost_dev_ioctl) ---- */

static void detail_regions(StandinReq *r, const struct vhost_memory_region *g,
                           unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        standin_detail(r, "[gpa=0x%llx size=0x%llx uaddr=0x%llx]",
               (unsigned long long)g[i].guest_phys_addr,
               (unsigned long long)g[i].memory_size,
               (unsigned long long)g[i].userspace_addr);
    }
}

/* How many regions we reach zero-copy (shared mappings). */
static unsigned mapped_regions(const StandinMem *m)
{
    unsigned n = 0;

    for (unsigned i = 0; i < m->n; i++) {
        n += m->r[i].local != NULL;
    }
    return n;
}

static long ioctl_set_mem_table(StandinReq *r)
{
    struct vhost_memory m;
    g_autofree struct vhost_memory_region *g = NULL;
    uint64_t regs = r->arg + sizeof(m);

    if (standin_arg_read(r, &m, sizeof(m)) < 0) {
        return -EFAULT;
    }
    standin_detail(r, "nregions=%u", m.nregions);
    if (m.padding) {
        return -EOPNOTSUPP;
    }
    if (m.nregions > STANDIN_MAX_REGIONS) {
        return -E2BIG;
    }
    g = g_new0(struct vhost_memory_region, m.nregions + 1);
    r->arg = regs;
    if (m.nregions && standin_arg_read(r, g, m.nregions * sizeof(*g)) < 0) {
        return -EFAULT;
    }
    long ret;

    detail_regions(r, g, m.nregions);
    ret = standin_mem_set(r->dev, g, m.nregions);
    if (ret == 0) {
        standin_detail(r, "shared=%u", mapped_regions(&r->dev->mem));
    }
    return ret;
}

static long ioctl_set_log_base(StandinReq *r)
{
    uint64_t base;
    StandinDevice *d = r->dev;

    if (standin_arg_read(r, &base, sizeof(base)) < 0) {
        return -EFAULT;
    }
    standin_detail(r, "base=0x%" G_GINT64_MODIFIER "x", base);
    /* Rings with a backend are checked now, the others when enabled. */
    for (int i = 0; i < STANDIN_NVQS; i++) {
        if (d->vq[i].backend_fd >= 0 &&
            !standin_vq_log_access_ok(d, &d->vq[i], base)) {
            return -EFAULT;
        }
    }
    d->log_base = base;
    return 0;
}

static long ioctl_set_log_fd(StandinReq *r)
{
    int fd, ours = -1;

    if (standin_arg_read(r, &fd, sizeof(fd)) < 0) {
        return -EFAULT;
    }
    standin_detail(r, "fd=%d", fd);
    if (fd != VHOST_FILE_UNBIND) {
        ours = standin_get_eventfd(r, fd);
        if (ours < 0) {
            return ours;
        }
    }
    standin_replace_fd(&r->dev->log_fd, ours);
    return 0;
}
static long dev_ioctl(StandinReq *r)
{
    if (!standin_is_owner(r)) {
        return -EPERM;
    }
    switch (r->cmd) {
    case VHOST_SET_MEM_TABLE:
        return ioctl_set_mem_table(r);
    case VHOST_SET_LOG_BASE:
        return ioctl_set_log_base(r);
    case VHOST_SET_LOG_FD:
        return ioctl_set_log_fd(r);
    default:
        return standin_vring_ioctl(r);
    }
}

static long dispatch(StandinReq *r)
{
    switch (r->cmd) {
    case VHOST_NET_SET_BACKEND:
        return standin_ioctl_net_set_backend(r);
    case VHOST_GET_FEATURES:
        return ioctl_get_features(r);
    case VHOST_SET_FEATURES:
        return ioctl_set_features(r);
    case VHOST_GET_BACKEND_FEATURES:
        return ioctl_get_backend_features(r);
    case VHOST_SET_BACKEND_FEATURES:
        return ioctl_set_backend_features(r);
    case VHOST_RESET_OWNER:
        return ioctl_reset_owner(r);
    case VHOST_SET_OWNER:
        return ioctl_set_owner(r);
    default:
        return dev_ioctl(r);
    }
}

const char *standin_ioctl_name(unsigned long cmd)
{
    static const struct { unsigned long cmd; const char *name; } t[] = {
        { VHOST_GET_FEATURES, "GET_FEATURES" },
        { VHOST_SET_FEATURES, "SET_FEATURES" },
        { VHOST_SET_OWNER, "SET_OWNER" },
        { VHOST_RESET_OWNER, "RESET_OWNER" },
        { VHOST_SET_MEM_TABLE, "SET_MEM_TABLE" },
        { VHOST_SET_LOG_BASE, "SET_LOG_BASE" },
        { VHOST_SET_LOG_FD, "SET_LOG_FD" },
        { VHOST_SET_VRING_NUM, "SET_VRING_NUM" },
        { VHOST_SET_VRING_ADDR, "SET_VRING_ADDR" },
        { VHOST_SET_VRING_BASE, "SET_VRING_BASE" },
        { VHOST_GET_VRING_BASE, "GET_VRING_BASE" },
        { VHOST_SET_VRING_ENDIAN, "SET_VRING_ENDIAN" },
        { VHOST_GET_VRING_ENDIAN, "GET_VRING_ENDIAN" },
        { VHOST_SET_VRING_KICK, "SET_VRING_KICK" },
        { VHOST_SET_VRING_CALL, "SET_VRING_CALL" },
        { VHOST_SET_VRING_ERR, "SET_VRING_ERR" },
        { VHOST_SET_VRING_BUSYLOOP_TIMEOUT, "SET_VRING_BUSYLOOP_TIMEOUT" },
        { VHOST_GET_VRING_BUSYLOOP_TIMEOUT, "GET_VRING_BUSYLOOP_TIMEOUT" },
        { VHOST_SET_BACKEND_FEATURES, "SET_BACKEND_FEATURES" },
        { VHOST_GET_BACKEND_FEATURES, "GET_BACKEND_FEATURES" },
        { VHOST_NET_SET_BACKEND, "NET_SET_BACKEND" },
    };

    for (size_t i = 0; i < G_N_ELEMENTS(t); i++) {
        if (t[i].cmd == cmd) {
            return t[i].name;
        }
    }
    return NULL;
}

long standin_ioctl(StandinReq *r)
{
    const char *name = standin_ioctl_name(r->cmd);
    g_autofree char *unknown = NULL;
    unsigned nth;
    int injected;
    long ret;

    if (!name) {
        name = unknown = g_strdup_printf("IOCTL_0x%lx", r->cmd);
    }
    nth = standin_count_ioctl(r->sup, name);
    injected = standin_fail_check(r->sup, name, nth);
    ret = injected ? -injected : dispatch(r);
    if (ret == -ENOIOCTLCMD) {
        ret = -ENOTTY;
    }
    if (ret < 0) {
        standin_trace(r->sup, "dev%u %s%s -> -%s%s", r->dev->id, name,
                      r->detail->str, standin_errno_name(-ret),
                      injected ? " (injected)" : "");
    } else {
        standin_trace(r->sup, "dev%u %s%s -> %ld", r->dev->id, name,
                      r->detail->str, ret);
    }
    return ret;
}

static void standin_vring_init(StandinVring *vq)
{
    memset(vq, 0, sizeof(*vq));
    vq->num = 1;
    vq->log_addr = ~0ULL;
    vq->kick_fd = vq->call_fd = vq->err_fd = vq->backend_fd = -1;
}

void standin_device_init(StandinDevice *d)
{
    pthread_mutex_init(&d->lock, NULL);
    d->log_fd = -1;
    d->wake_fd = -1;
    for (int i = 0; i < STANDIN_NVQS; i++) {
        standin_vring_init(&d->vq[i]);
    }
}

/* Back to the state of a fresh open (vhost_dev_cleanup + vq reset). The
 * worker must be stopped. */
void standin_device_reset(StandinDevice *d)
{
    for (int i = 0; i < STANDIN_NVQS; i++) {
        StandinVring *vq = &d->vq[i];

        standin_replace_fd(&vq->kick_fd, -1);
        standin_replace_fd(&vq->call_fd, -1);
        standin_replace_fd(&vq->err_fd, -1);
        standin_replace_fd(&vq->backend_fd, -1);
        standin_vring_init(vq);
    }
    standin_replace_fd(&d->log_fd, -1);
    standin_mem_clear(&d->mem);
    g_clear_pointer(&d->rx_frame, g_free);
    d->log_base = 0;
    d->backend_features = 0;
    d->owner = 0;
}
