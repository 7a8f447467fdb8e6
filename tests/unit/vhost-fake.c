/* SPDX-License-Identifier: MIT */
/*
 * The recording VhostOps, the fake transport and the fixture of the vhost
 * core unit tests (see vhost-fake.h).
 */
#include "vhost-fake.h"

#include <inttypes.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* --- the recording backend -------------------------------------------- */

Fake *fake_of(struct vhost_dev *dev)
{
    return dev->opaque;
}

static void rec(struct vhost_dev *dev, const char *fmt, ...)
    G_GNUC_PRINTF(2, 3);
static void rec(struct vhost_dev *dev, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    g_string_append_vprintf(fake_of(dev)->log, fmt, ap);
    va_end(ap);
    g_string_append_c(fake_of(dev)->log, ';');
}

/* Injected failure for op (on ring index, or any when -1). */
static bool fails(struct vhost_dev *dev, const char *op, int index,
                  Error **errp)
{
    Fake *f = fake_of(dev);

    if (!f->fail_op || strcmp(f->fail_op, op) ||
        (f->fail_index >= 0 && index >= 0 && index != f->fail_index)) {
        return false;
    }
    g_string_append(f->log, "FAIL;");
    error_setg(errp, "%s: injected failure", op);
    return true;
}

/* Names the fds the core may send, so expectations stay readable. */
static char *fd_name(struct vhost_dev *dev, int fd)
{
    VirtIODevice *vdev = fake_of(dev)->vdev;

    if (fd < 0) {
        return g_strdup("-1");
    }
    for (unsigned i = 0; vdev && i < vdev->nvqs; i++) {
        if (fd == vdev->vq[i].host_notifier.fd) {
            return g_strdup_printf("kick%u", i);
        }
        if (fd == vdev->vq[i].guest_notifier.fd) {
            return g_strdup_printf("guest%u", i);
        }
    }
    return g_strdup("fd?");
}

/* Guest address of a host address through the last table sent. */
static char *hva_name(struct vhost_dev *dev, uint64_t hva)
{
    Fake *f = fake_of(dev);

    for (unsigned i = 0; i < f->n_regions; i++) {
        VhostMemoryRegion *r = &f->regions[i];

        if (hva >= r->userspace_addr &&
            hva - r->userspace_addr < r->memory_size) {
            return g_strdup_printf("0x%" PRIx64, r->guest_phys_addr +
                                   (hva - r->userspace_addr));
        }
    }
    return g_strdup("?");
}

static bool fake_backend_init(struct vhost_dev *dev, void *opaque,
                              Error **errp)
{
    rec(dev, "backend_init");
    return !fails(dev, "backend_init", -1, errp);
}

static void fake_backend_cleanup(struct vhost_dev *dev)
{
    fake_of(dev)->cleanups++;
}

static unsigned fake_memslots_limit(struct vhost_dev *dev)
{
    Fake *f = fake_of(dev);

    return f->memslots ? f->memslots : 16;
}

static bool fake_needs_fd_memory(struct vhost_dev *dev)
{
    return !fake_of(dev)->any_ram;
}

static bool fake_set_mem_table(struct vhost_dev *dev,
                               const VhostMemoryRegion *regions, unsigned n,
                               Error **errp)
{
    Fake *f = fake_of(dev);
    GString *s = g_string_new(NULL);

    g_string_printf(s, "set_mem_table n=%u", n);
    for (unsigned i = 0; i < n; i++) {
        g_string_append_printf(s, " [0x%" PRIx64 "+0x%" PRIx64 " %s]",
                               regions[i].guest_phys_addr,
                               regions[i].memory_size,
                               regions[i].fd >= 0 ? "fd" : "nofd");
    }
    rec(dev, "%s", s->str);
    g_string_free(s, TRUE);
    if (fails(dev, "set_mem_table", -1, errp)) {
        return false;
    }
    g_assert_cmpuint(n, <=, G_N_ELEMENTS(f->regions));
    memcpy(f->regions, regions, n * sizeof(*regions));
    f->n_regions = n;
    return true;
}

static bool fake_vq_get_addr(struct vhost_dev *dev,
                             struct vhost_vring_addr *addr, hwaddr desc,
                             hwaddr avail, hwaddr used, void *desc_hva,
                             void *avail_hva, void *used_hva)
{
    addr->desc_user_addr = (uintptr_t)desc_hva;
    addr->avail_user_addr = (uintptr_t)avail_hva;
    addr->used_user_addr = (uintptr_t)used_hva;
    return true;
}

static bool fake_get_features(struct vhost_dev *dev, uint64_t *features,
                              Error **errp)
{
    rec(dev, "get_features");
    *features = fake_of(dev)->features;
    return !fails(dev, "get_features", -1, errp);
}

static bool fake_set_features(struct vhost_dev *dev, uint64_t features,
                              Error **errp)
{
    rec(dev, "set_features 0x%" PRIx64, features);
    return !fails(dev, "set_features", -1, errp);
}

static bool fake_set_owner(struct vhost_dev *dev, Error **errp)
{
    rec(dev, "set_owner");
    return !fails(dev, "set_owner", -1, errp);
}

static bool fake_set_vring_num(struct vhost_dev *dev,
                               struct vhost_vring_state *s, Error **errp)
{
    rec(dev, "set_vring_num %u %u", s->index, s->num);
    return !fails(dev, "set_vring_num", s->index, errp);
}

static bool fake_set_vring_base(struct vhost_dev *dev,
                                struct vhost_vring_state *s, Error **errp)
{
    rec(dev, "set_vring_base %u %u", s->index, s->num);
    return !fails(dev, "set_vring_base", s->index, errp);
}

static bool fake_get_vring_base(struct vhost_dev *dev,
                                struct vhost_vring_state *s, Error **errp)
{
    rec(dev, "get_vring_base %u", s->index);
    s->num = fake_of(dev)->vring_base[s->index];
    return !fails(dev, "get_vring_base", s->index, errp);
}

static bool fake_set_vring_addr(struct vhost_dev *dev,
                                struct vhost_vring_addr *a, Error **errp)
{
    g_autofree char *desc = hva_name(dev, a->desc_user_addr);
    g_autofree char *avail = hva_name(dev, a->avail_user_addr);
    g_autofree char *used = hva_name(dev, a->used_user_addr);

    rec(dev, "set_vring_addr %u desc=%s avail=%s used=%s flags=0x%x "
        "log=0x%" PRIx64, a->index, desc, avail, used, a->flags,
        (uint64_t)a->log_guest_addr);
    return !fails(dev, "set_vring_addr", a->index, errp);
}

static bool fake_set_vring_kick(struct vhost_dev *dev,
                                struct vhost_vring_file *f, Error **errp)
{
    g_autofree char *name = fd_name(dev, f->fd);

    rec(dev, "set_vring_kick %u %s", f->index, name);
    return !fails(dev, "set_vring_kick", f->index, errp);
}

static bool fake_set_vring_call(struct vhost_dev *dev,
                                struct vhost_vring_file *f, Error **errp)
{
    g_autofree char *name = fd_name(dev, f->fd);

    rec(dev, "set_vring_call %u %s", f->index, name);
    return !fails(dev, "set_vring_call", f->index, errp);
}

static bool fake_set_vring_enable(struct vhost_dev *dev, bool enable,
                                  Error **errp)
{
    rec(dev, "set_vring_enable %d", enable);
    return !fails(dev, "set_vring_enable", -1, errp);
}

static int fake_get_vq_index(struct vhost_dev *dev, int idx)
{
    return idx - fake_of(dev)->index_base;
}

static bool fake_dev_start(struct vhost_dev *dev, bool started, Error **errp)
{
    rec(dev, "dev_start %d", started);
    return !fails(dev, "dev_start", -1, errp);
}

static bool fake_get_config(struct vhost_dev *dev, uint8_t *config,
                            uint32_t len, Error **errp)
{
    rec(dev, "get_config %u", len);
    memcpy(config, fake_of(dev)->config, MIN(len, 8));
    return !fails(dev, "get_config", -1, errp);
}

static bool fake_set_config(struct vhost_dev *dev, const uint8_t *data,
                            uint32_t offset, uint32_t size, uint32_t flags,
                            Error **errp)
{
    GString *hex = g_string_new(NULL);

    for (uint32_t i = 0; i < size; i++) {
        g_string_append_printf(hex, "%02x", data[i]);
    }
    rec(dev, "set_config %u %u 0x%x %s", offset, size, flags, hex->str);
    g_string_free(hex, TRUE);
    return !fails(dev, "set_config", -1, errp);
}

static bool fake_get_inflight_fd(struct vhost_dev *dev, uint16_t queue_size,
                                 VhostInflight *inflight, Error **errp)
{
    int fd;

    rec(dev, "get_inflight_fd %u", queue_size);
    if (fails(dev, "get_inflight_fd", -1, errp)) {
        return false;
    }
    fd = memfd_create("inflight", MFD_CLOEXEC);
    g_assert_cmpint(fd, >=, 0);
    g_assert_cmpint(ftruncate(fd, 4096), ==, 0);
    inflight->addr = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED,
                          fd, 0);
    g_assert_true(inflight->addr != MAP_FAILED);
    inflight->fd = fd;
    inflight->size = 4096;
    inflight->offset = 0;
    inflight->queue_size = queue_size;
    return true;
}

static bool fake_set_inflight_fd(struct vhost_dev *dev,
                                 const VhostInflight *inflight, Error **errp)
{
    rec(dev, "set_inflight_fd %" PRIu64 " %u", inflight->size,
        inflight->queue_size);
    return !fails(dev, "set_inflight_fd", -1, errp);
}

static bool fake_requires_shm_log(struct vhost_dev *dev)
{
    return fake_of(dev)->shm_log;
}

static const char *fake_log_blocker(struct vhost_dev *dev)
{
    return fake_of(dev)->blocker;
}

static bool fake_set_log_base(struct vhost_dev *dev, struct vhost_log *log,
                              Error **errp)
{
    rec(dev, "set_log_base %s %" PRIu64, log->fd >= 0 ? "shm" : "private",
        log->size);
    if (fails(dev, "set_log_base", -1, errp)) {
        return false;
    }
    fake_of(dev)->log_base = log;
    return true;
}

const VhostOps fake_ops = {
    .name = "fake",
    .backend_init = fake_backend_init,
    .backend_cleanup = fake_backend_cleanup,
    .memslots_limit = fake_memslots_limit,
    .needs_fd_memory = fake_needs_fd_memory,
    .set_mem_table = fake_set_mem_table,
    .vq_get_addr = fake_vq_get_addr,
    .get_features = fake_get_features,
    .set_features = fake_set_features,
    .set_owner = fake_set_owner,
    .set_vring_num = fake_set_vring_num,
    .set_vring_base = fake_set_vring_base,
    .get_vring_base = fake_get_vring_base,
    .set_vring_addr = fake_set_vring_addr,
    .set_vring_kick = fake_set_vring_kick,
    .set_vring_call = fake_set_vring_call,
    .set_vring_enable = fake_set_vring_enable,
    .get_vq_index = fake_get_vq_index,
    .dev_start = fake_dev_start,
    .get_config = fake_get_config,
    .set_config = fake_set_config,
    .get_inflight_fd = fake_get_inflight_fd,
    .set_inflight_fd = fake_set_inflight_fd,
    .requires_shm_log = fake_requires_shm_log,
    .log_blocker = fake_log_blocker,
    .set_log_base = fake_set_log_base,
};

/* --- the fake transport ------------------------------------------------ */


static bool ft_set_host_notifier(VirtIODevice *vdev, unsigned n, bool assign,
                                 Error **errp)
{
    FakeTransport *t = vdev->transport_opaque;
    VirtQueue *q = &vdev->vq[n];

    g_string_append_printf(t->log, "hn %u %d;", n, assign);
    if (assign && (int)n == t->fail_queue) {
        error_setg(errp, "no ioeventfd for you");
        return false;
    }
    if (assign && q->host_notifier.fd < 0) {
        g_assert_true(event_notifier_init(&q->host_notifier, false, NULL));
    }
    q->host_notifier_bound = assign;
    return true;
}

static const VirtioTransportOps fake_transport = {
    .set_host_notifier = ft_set_host_notifier,
};

static const VirtioDeviceClass fake_class = {
    .name = "test-vhost",
    .device_id = VIRTIO_ID_BLOCK,
};

/* --- fixture ----------------------------------------------------------- */

/* Open fds of the process: fix_cleanup checks nothing leaked. */
static unsigned count_fds(void)
{
    g_autoptr(GDir) dir = g_dir_open("/proc/self/fd", 0, NULL);
    unsigned n = 0;

    g_assert_nonnull(dir);
    while (g_dir_read_name(dir)) {
        n++;
    }
    return n;
}

static uint64_t mmio_read(void *opaque, hwaddr addr, unsigned size)
{
    return 0;
}

static void mmio_write(void *opaque, hwaddr addr, uint64_t v, unsigned size)
{
}

static const MemoryRegionOps mmio_ops = {
    .read = mmio_read,
    .write = mmio_write,
};

static void fix_memory(Fix *f)
{
    memory_region_init(&f->root, "root", UINT64_MAX);
    address_space_init(&f->as, &f->root, "as");
    g_assert_true(memory_region_init_ram_memfd(&f->ram, "ram", 2 * MiB,
                                               NULL));
    g_assert_true(memory_region_init_ram_memfd(&f->ram2, "ram2", MiB, NULL));
    f->anon_mem = g_malloc0(MiB);
    memory_region_init_ram_ptr(&f->anon, "anon", MiB, f->anon_mem, -1, 0);
    memory_region_init_io(&f->mmio, &mmio_ops, NULL, "mmio", 0x200);
    /* Two regions, so that the flat view keeps two sections for the
     * vhost core to merge (it merges one region's neighbours itself). */
    memory_region_init_ram_ptr(&f->lo, "lo", MiB, f->ram.ram_ptr,
                               f->ram.ram_fd, 0);
    memory_region_init_ram_ptr(&f->hi, "hi", MiB,
                               (uint8_t *)f->ram.ram_ptr + MiB,
                               f->ram.ram_fd, MiB);
    address_space_transaction_begin(&f->as);
    memory_region_add_subregion(&f->root, 0, &f->lo);
    memory_region_add_subregion(&f->root, MiB, &f->hi);
    memory_region_add_subregion(&f->root, RAM2_GPA, &f->ram2);
    memory_region_add_subregion(&f->root, ANON_GPA, &f->anon);
    memory_region_add_subregion(&f->root, MMIO_GPA, &f->mmio);
    address_space_transaction_commit(&f->as);
}

static void fix_queue(VirtQueue *q, uint16_t num, hwaddr base,
                      uint16_t last_avail)
{
    q->num = num;
    q->desc = base;
    q->avail = base + 0x1000;
    q->used = base + 0x2000;
    q->ready = true;
    q->last_avail_idx = last_avail;
    g_assert_true(event_notifier_init(&q->guest_notifier, false, NULL));
}

static void fix_vdev(Fix *f)
{
    virtio_init(&f->vdev, &fake_class, NULL, "vdev0", NVQS, 256, 8);
    f->vdev.dma_as = &f->as;
    f->vdev.transport = &fake_transport;
    f->vdev.transport_opaque = &f->ft;
    f->ft.log = g_string_new("");
    f->ft.fail_queue = -1;
    fix_queue(&f->vdev.vq[0], 256, 0x10000, 5);
    fix_queue(&f->vdev.vq[1], 128, RAM2_GPA, 7);
}

void fix_init(Fix *f)
{
    memset(f, 0, sizeof(*f));
    f->fds_before = count_fds();
    f->fake.log = g_string_new("");
    f->fake.fail_index = -1;
    f->fake.features = 0x3f | 1ULL << VHOST_F_LOG_ALL;
    f->fake.vdev = &f->vdev;
    fix_memory(f);
    fix_vdev(f);
    f->dev.nvqs = NVQS;
    f->dev.vq_index = 0;
    f->dev.id = "dev0";
}

void fix_dev_init(Fix *f)
{
    g_autoptr(Error) err = NULL;

    g_assert_true(vhost_dev_init(&f->dev, &f->fake, &fake_ops, &f->as,
                                 &err));
    g_assert_null(err);
}

void fix_start(Fix *f)
{
    g_autoptr(Error) err = NULL;

    fix_dev_init(f);
    g_assert_true(vhost_dev_enable_notifiers(&f->dev, &f->vdev, &err));
    g_assert_true(vhost_dev_start(&f->dev, &f->vdev, true, &err));
    g_assert_null(err);
    g_string_truncate(f->fake.log, 0);
}

void fix_cleanup(Fix *f)
{
    vhost_dev_cleanup(&f->dev);
    vhost_dev_cleanup(&f->dev);     /* twice is fine */
    virtio_cleanup(&f->vdev);
    address_space_destroy(&f->as);
    memory_region_finalize(&f->root);
    MemoryRegion *mrs[] = { &f->lo, &f->hi, &f->ram, &f->ram2, &f->anon,
                            &f->mmio, &f->extra };
    for (unsigned i = 0; i < G_N_ELEMENTS(mrs); i++) {
        memory_region_finalize(mrs[i]);
    }
    g_free(f->anon_mem);
    g_string_free(f->fake.log, TRUE);
    g_string_free(f->ft.log, TRUE);
    g_assert_cmpuint(count_fds(), ==, f->fds_before);
}

