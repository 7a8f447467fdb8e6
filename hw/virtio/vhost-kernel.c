/* SPDX-License-Identifier: MIT */
/*
 * vhost-kernel: VhostOps as ioctls on the kernel's vhost files (see
 * include/hw/virtio/vhost-kernel.h), and the connection over them.
 */
#include "hw/virtio/vhost-kernel.h"
#include "qemu/compiler.h"
#include "qemu/error.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <unistd.h>

#define VHOST_KERNEL_MAX_MEM_REGIONS_PATH \
    "/sys/module/vhost/parameters/max_mem_regions"

/* One vhost file per vhost_dev. */
typedef struct VhostKernelFile {
    int fd;
    int backend_fd;             /* attached on start; -1: none */
    bool owned;                 /* SET_OWNER done, RESET_OWNER due */
} VhostKernelFile;

typedef struct VhostKernelConn {
    VhostConn parent;
    VhostKernelFile *files;
    unsigned n;
    unsigned memslots;
    VhostKernelEnableFn *enable;
    void *enable_opaque;
} VhostKernelConn;

static VhostKernelConn *vk_conn(struct vhost_dev *dev)
{
    return dev->opaque;
}

/* Which vhost_dev of the connection dev is. */
static unsigned vk_dev_number(struct vhost_dev *dev)
{
    return dev->nvqs ? dev->vq_index / dev->nvqs : 0;
}

static VhostKernelFile *vk_file(struct vhost_dev *dev)
{
    return &vk_conn(dev)->files[vk_dev_number(dev)];
}

/* ioctl on dev's file; an error names the request and, for a ring
 * request (ring >= 0: the file's ring), the device's queue. */
static bool vk_ioctl(struct vhost_dev *dev, unsigned long req,
                     const char *name, int ring, void *arg, Error **errp)
{
    if (ioctl(vk_file(dev)->fd, req, arg) == 0) {
        return true;
    }
    if (ring >= 0) {
        error_setg_errno(errp, errno, "%s (queue %u)", name,
                         dev->vq_index + (unsigned)ring);
    } else {
        error_setg_errno(errp, errno, "%s", name);
    }
    return false;
}

#define VK_IOCTL(dev, req, ring, arg, errp) \
    vk_ioctl(dev, req, #req, ring, arg, errp)

/* --- life cycle ---------------------------------------------------------- */

static bool vk_backend_init(struct vhost_dev *dev, void *opaque,
                            Error **errp)
{
    VhostKernelConn *k = opaque;

    if (vk_dev_number(dev) >= k->n) {
        error_setg(errp, "no vhost device for queues %u-%u (%u opened)",
                   dev->vq_index, dev->vq_index + dev->nvqs - 1, k->n);
        return false;
    }
    return true;
}

/* The file stays open and can be owned again by the next init. */
static void vk_backend_cleanup(struct vhost_dev *dev)
{
    VhostKernelFile *f;
    Error *err = NULL;

    if (!dev->opaque || vk_dev_number(dev) >= vk_conn(dev)->n) {
        return;
    }
    f = vk_file(dev);
    if (f->owned && !VK_IOCTL(dev, VHOST_RESET_OWNER, -1, NULL, &err)) {
        warn_report("%s: %s", dev->id ? dev->id : "vhost-kernel",
                    error_get_pretty(err));
        error_free(err);
    }
    f->owned = false;
}

static bool vk_set_owner(struct vhost_dev *dev, Error **errp)
{
    if (!VK_IOCTL(dev, VHOST_SET_OWNER, -1, NULL, errp)) {
        return false;
    }
    vk_file(dev)->owned = true;
    return true;
}

static bool vk_get_features(struct vhost_dev *dev, uint64_t *features,
                            Error **errp)
{
    return VK_IOCTL(dev, VHOST_GET_FEATURES, -1, features, errp);
}

static bool vk_set_features(struct vhost_dev *dev, uint64_t features,
                            Error **errp)
{
    return VK_IOCTL(dev, VHOST_SET_FEATURES, -1, &features, errp);
}

/* --- memory -------------------------------------------------------------- */

static unsigned vk_memslots_limit(struct vhost_dev *dev)
{
    return vk_conn(dev)->memslots;
}

/* struct vhost_memory: guest-physical ranges at kvmini's own addresses;
 * the kernel reads guest memory through them, so no fds. */
static bool vk_set_mem_table(struct vhost_dev *dev,
                             const VhostMemoryRegion *regions, unsigned n,
                             Error **errp)
{
    g_autofree struct vhost_memory *mem =
        g_malloc0(sizeof(*mem) + n * sizeof(mem->regions[0]));

    mem->nregions = n;
    for (unsigned i = 0; i < n; i++) {
        mem->regions[i] = (struct vhost_memory_region) {
            .guest_phys_addr = regions[i].guest_phys_addr,
            .memory_size = regions[i].memory_size,
            .userspace_addr = regions[i].userspace_addr,
        };
    }
    return VK_IOCTL(dev, VHOST_SET_MEM_TABLE, -1, mem, errp);
}

/* --- rings --------------------------------------------------------------- */

/* The kernel knows a ring by its index within the file. */
static int vk_get_vq_index(struct vhost_dev *dev, int idx)
{
    return idx - (int)dev->vq_index;
}

static bool vk_set_vring_num(struct vhost_dev *dev,
                             struct vhost_vring_state *s, Error **errp)
{
    return VK_IOCTL(dev, VHOST_SET_VRING_NUM, (int)s->index, s, errp);
}

static bool vk_set_vring_base(struct vhost_dev *dev,
                              struct vhost_vring_state *s, Error **errp)
{
    return VK_IOCTL(dev, VHOST_SET_VRING_BASE, (int)s->index, s, errp);
}

/* Only reports the index: dev_start(false) stopped the ring before. */
static bool vk_get_vring_base(struct vhost_dev *dev,
                              struct vhost_vring_state *s, Error **errp)
{
    return VK_IOCTL(dev, VHOST_GET_VRING_BASE, (int)s->index, s, errp);
}

static bool vk_set_vring_addr(struct vhost_dev *dev,
                              struct vhost_vring_addr *a, Error **errp)
{
    return VK_IOCTL(dev, VHOST_SET_VRING_ADDR, (int)a->index, a, errp);
}

static bool vk_set_vring_kick(struct vhost_dev *dev,
                              struct vhost_vring_file *f, Error **errp)
{
    return VK_IOCTL(dev, VHOST_SET_VRING_KICK, (int)f->index, f, errp);
}

static bool vk_set_vring_call(struct vhost_dev *dev,
                              struct vhost_vring_file *f, Error **errp)
{
    return VK_IOCTL(dev, VHOST_SET_VRING_CALL, (int)f->index, f, errp);
}

static bool vk_set_vring_err(struct vhost_dev *dev,
                             struct vhost_vring_file *f, Error **errp)
{
    return VK_IOCTL(dev, VHOST_SET_VRING_ERR, (int)f->index, f, errp);
}

static bool vk_set_vring_enable(struct vhost_dev *dev, bool enable,
                                Error **errp)
{
    VhostKernelConn *k = vk_conn(dev);

    return !k->enable ||
           k->enable(k->enable_opaque, vk_dev_number(dev), enable, errp);
}

/* Attach every ring to the data backend (fd) or detach it (-1). */
static bool vk_set_backend(struct vhost_dev *dev, int fd, Error **errp)
{
    for (unsigned i = 0; i < dev->nvqs; i++) {
        struct vhost_vring_file f = { .index = i, .fd = fd };

        if (!VK_IOCTL(dev, VHOST_NET_SET_BACKEND, (int)i, &f, errp)) {
            return false;
        }
    }
    return true;
}

/* The kernel runs a ring while it has a backend: attaching starts the
 * data path, detaching stops it (before GET_VRING_BASE reads the
 * index). */
static bool vk_dev_start(struct vhost_dev *dev, bool started, Error **errp)
{
    int fd = vk_file(dev)->backend_fd;

    if (fd < 0) {
        return true;
    }
    if (!started) {
        return vk_set_backend(dev, -1, errp);
    }
    if (!vk_set_backend(dev, fd, errp)) {
        vk_set_backend(dev, -1, NULL);
        return false;
    }
    return true;
}

/* --- dirty log ----------------------------------------------------------- */

/* The log is kvmini's own memory: the kernel writes it at this address. */
static bool vk_set_log_base(struct vhost_dev *dev, struct vhost_log *log,
                            Error **errp)
{
    uint64_t base = (uintptr_t)log->log;

    return VK_IOCTL(dev, VHOST_SET_LOG_BASE, -1, &base, errp);
}

const VhostOps vhost_kernel_ops = {
    .name = "vhost-kernel",
    .backend_init = vk_backend_init,
    .backend_cleanup = vk_backend_cleanup,
    .memslots_limit = vk_memslots_limit,
    .set_mem_table = vk_set_mem_table,
    .get_features = vk_get_features,
    .set_features = vk_set_features,
    .set_owner = vk_set_owner,
    .set_vring_num = vk_set_vring_num,
    .set_vring_base = vk_set_vring_base,
    .get_vring_base = vk_get_vring_base,
    .set_vring_addr = vk_set_vring_addr,
    .set_vring_kick = vk_set_vring_kick,
    .set_vring_call = vk_set_vring_call,
    .set_vring_err = vk_set_vring_err,
    .set_vring_enable = vk_set_vring_enable,
    .get_vq_index = vk_get_vq_index,
    .dev_start = vk_dev_start,
    .set_log_base = vk_set_log_base,
};

/* --- the connection ------------------------------------------------------ */

static VhostKernelConn *vk_of(VhostConn *c)
{
    return container_of(c, VhostKernelConn, parent);
}

/* Vhost files serve queue pairs for net, as vhost-user's queue count. */
static bool vk_conn_max_queues(VhostConn *c, uint64_t *queues)
{
    *queues = vk_of(c)->n;
    return true;
}

static bool vk_conn_has_config(VhostConn *c)
{
    return false;
}

static void vk_conn_free(VhostConn *c)
{
    VhostKernelConn *k = vk_of(c);

    for (unsigned i = 0; i < k->n; i++) {
        close(k->files[i].fd);
    }
    g_free(k->files);
    g_free(k);
}

static const VhostConnClass vhost_kernel_conn_class = {
    .type = "vhost-kernel",
    .ops = &vhost_kernel_ops,
    .max_queues = vk_conn_max_queues,
    .has_config = vk_conn_has_config,
    .free = vk_conn_free,
};

VhostConn *vhost_kernel_conn_new(const char *name, const int *vhostfds,
                                 const int *backend_fds, unsigned n,
                                 VhostKernelEnableFn *enable, void *opaque,
                                 GMutex *lock)
{
    VhostKernelConn *k = g_new0(VhostKernelConn, 1);

    k->files = g_new0(VhostKernelFile, n);
    for (unsigned i = 0; i < n; i++) {
        k->files[i] = (VhostKernelFile) {
            .fd = vhostfds[i],
            .backend_fd = backend_fds ? backend_fds[i] : -1,
        };
    }
    k->n = n;
    k->memslots = vhost_kernel_memslots();
    k->enable = enable;
    k->enable_opaque = opaque;
    vhost_conn_setup(&k->parent, &vhost_kernel_conn_class, name, k, lock);
    return &k->parent;
}

int vhost_kernel_open(const char *path, Error **errp)
{
    int fd = open(path, O_RDWR | O_CLOEXEC);

    if (fd < 0) {
        error_setg_errno(errp, errno, "could not open %s", path);
    }
    return fd;
}

unsigned vhost_kernel_memslots(void)
{
    g_autofree char *text = NULL;
    unsigned long v;
    char *end;

    if (!g_file_get_contents(VHOST_KERNEL_MAX_MEM_REGIONS_PATH, &text, NULL,
                             NULL)) {
        return VHOST_KERNEL_MEMSLOTS;
    }
    v = strtoul(text, &end, 10);
    if (end == text || v == 0 || v > 65535) {
        return VHOST_KERNEL_MEMSLOTS;
    }
    return (unsigned)v;
}
