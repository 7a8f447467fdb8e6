/* SPDX-License-Identifier: MIT */
/*
 * The test vhost-user backend's data path: guest memory (regions mmap()ed
 * from the frontend's fds, addresses translated from guest-physical for
 * descriptors and from frontend-virtual for ring addresses), split rings
 * walked on every kick (the net device, vhost-user-test-backend-net.c,
 * reuses the chain helpers), a virtio-blk device over an in-memory disk, and
 * the dirty log (SET_LOG_BASE) written for every byte put into guest
 * memory while VHOST_F_LOG_ALL is acked (inflight tracking is in
 * vhost-user-test-backend-inflight.c).
 *
 * Guest memory is shared with kvmini (and the test through qtest): the
 * avail index is read with acquire semantics and the used index written
 * with release semantics, as the virtio memory model requires.  Every
 * descriptor field is read once into a local.  Runs on the backend thread
 * with b->lock held, except the public accessors at the end.
 */
#include <errno.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include "vhost-user-test-backend-int.h"

#define VUB_SECTOR      512
#define VUB_PAGE        4096

/* --- memory regions ------------------------------------------------------- */

bool vub_region_add(Vub *b, const VhostUserMemoryRegion *r, int fd)
{
    uint64_t page = sysconf(_SC_PAGESIZE);
    uint64_t aligned = r->mmap_offset & ~(page - 1);
    size_t delta = r->mmap_offset - aligned;
    VubRegion *reg;
    void *map;

    if (b->nregions >= VUB_MAX_REGIONS || r->memory_size == 0) {
        vub_set_error(b, "region gpa 0x%" G_GINT64_MODIFIER "x: %s",
                      r->guest_phys_addr,
                      r->memory_size ? "too many regions" : "empty");
        return false;
    }
    map = mmap(NULL, r->memory_size + delta, PROT_READ | PROT_WRITE,
               MAP_SHARED | MAP_NORESERVE, fd, aligned);
    if (map == MAP_FAILED) {
        vub_set_error(b, "mmap of region gpa 0x%" G_GINT64_MODIFIER "x: %s",
                      r->guest_phys_addr, g_strerror(errno));
        return false;
    }
    reg = &b->regions[b->nregions++];
    reg->r = *r;
    reg->map = map;
    reg->map_len = r->memory_size + delta;
    reg->map_delta = delta;
    return true;
}

static void vub_region_unmap(VubRegion *reg)
{
    munmap(reg->map, reg->map_len);
    memset(reg, 0, sizeof(*reg));
}

bool vub_region_remove(Vub *b, const VhostUserMemoryRegion *r)
{
    for (unsigned i = 0; i < b->nregions; i++) {
        VubRegion *reg = &b->regions[i];

        if (reg->r.guest_phys_addr == r->guest_phys_addr &&
            reg->r.memory_size == r->memory_size &&
            reg->r.userspace_addr == r->userspace_addr) {
            vub_region_unmap(reg);
            b->regions[i] = b->regions[--b->nregions];
            return true;
        }
    }
    return false;
}

void vub_regions_clear(Vub *b)
{
    for (unsigned i = 0; i < b->nregions; i++) {
        vub_region_unmap(&b->regions[i]);
    }
    b->nregions = 0;
}

static void *vub_translate(Vub *b, uint64_t addr, uint64_t len, bool uva)
{
    for (unsigned i = 0; i < b->nregions; i++) {
        const VubRegion *reg = &b->regions[i];
        uint64_t base = uva ? reg->r.userspace_addr : reg->r.guest_phys_addr;
        uint64_t off = addr - base;

        if (addr >= base && off < reg->r.memory_size &&
            len <= reg->r.memory_size - off) {
            return reg->map + reg->map_delta + off;
        }
    }
    return NULL;
}

void *vub_gpa_to_hva(Vub *b, uint64_t gpa, uint64_t len)
{
    return vub_translate(b, gpa, len, false);
}

void *vub_uva_to_hva(Vub *b, uint64_t uva, uint64_t len)
{
    return vub_translate(b, uva, len, true);
}

/* --- the dirty log -------------------------------------------------------- */

bool vub_dirty_log_set(Vub *b, int fd, uint64_t size, uint64_t offset)
{
    uint64_t page = sysconf(_SC_PAGESIZE);
    uint64_t aligned = offset & ~(page - 1);
    void *map;

    vub_dirty_log_clear(b);
    if (size == 0) {
        return true;
    }
    map = mmap(NULL, size + (offset - aligned), PROT_READ | PROT_WRITE,
               MAP_SHARED, fd, aligned);
    if (map == MAP_FAILED) {
        vub_set_error(b, "SET_LOG_BASE: mmap: %s", g_strerror(errno));
        return false;
    }
    b->dirty_map = map;
    b->dirty_map_len = size + (offset - aligned);
    b->dirty_log = b->dirty_map + (offset - aligned);
    b->dirty_log_size = size;
    return true;
}

void vub_dirty_log_clear(Vub *b)
{
    if (b->dirty_map) {
        munmap(b->dirty_map, b->dirty_map_len);
    }
    b->dirty_map = b->dirty_log = NULL;
    b->dirty_map_len = b->dirty_log_size = 0;
}

void vub_log_write(Vub *b, uint64_t gpa, uint64_t len)
{
    if (!b->dirty_log || !len ||
        !(b->acked_features & VUB_BIT(VHOST_USER_F_LOG_ALL))) {
        return;
    }
    for (uint64_t pg = gpa / VUB_PAGE; pg <= (gpa + len - 1) / VUB_PAGE;
         pg++) {
        if (pg / 8 >= b->dirty_log_size) {
            break;
        }
        __atomic_fetch_or(&b->dirty_log[pg / 8], 1u << (pg % 8),
                          __ATOMIC_RELAXED);
    }
}

/* --- rings ---------------------------------------------------------------- */

bool vub_ring_map(VubVring *vq, VubRing *ring)
{
    Vub *b = vq->b;
    uint64_t n = vq->num;

    if (!vq->addr_set || !n) {
        return false;
    }
    ring->desc = vub_uva_to_hva(b, vq->desc_uaddr,
                                n * sizeof(struct vring_desc));
    ring->avail = vub_uva_to_hva(b, vq->avail_uaddr,
                                 sizeof(struct vring_avail) + n * 2 + 2);
    ring->used = vub_uva_to_hva(b, vq->used_uaddr,
                                sizeof(struct vring_used) +
                                n * sizeof(struct vring_used_elem) + 2);
    return ring->desc && ring->avail && ring->used;
}

void vub_vrings_init(Vub *b)
{
    for (unsigned i = 0; i < VUB_MAX_QUEUES; i++) {
        b->vq[i] = (VubVring) { .b = b, .index = i,
                                .kick_fd = -1, .call_fd = -1, .err_fd = -1 };
    }
}

void vub_vring_stop(VubVring *vq)
{
    vub_unwatch(&vq->kick_src);
    vub_close_fd(&vq->kick_fd);
    vub_close_fd(&vq->call_fd);
    vub_close_fd(&vq->err_fd);
    g_clear_pointer(&vq->resubmit, g_free);
    vq->nresubmit = vq->resubmit_pos = 0;
    vq->started = false;
}

void vub_vrings_reset(Vub *b)
{
    for (unsigned i = 0; i < VUB_MAX_QUEUES; i++) {
        vub_vring_stop(&b->vq[i]);
    }
    vub_vrings_init(b);
}

bool vub_vring_enabled(const VubVring *vq)
{
    /* Without PROTOCOL_FEATURES a ring is enabled as soon as it starts;
     * with it, SET_VRING_ENABLE decides. */
    if (vq->enable_set) {
        return vq->enable;
    }
    return !(vq->b->acked_features &
             VUB_BIT(VHOST_USER_F_PROTOCOL_FEATURES));
}

void vub_vring_sync_used(VubVring *vq)
{
    VubRing ring;

    if (vub_ring_map(vq, &ring)) {
        vq->used_idx = __atomic_load_n(&ring.used->idx, __ATOMIC_ACQUIRE);
    }
}

static gboolean vub_kick_cb(int fd, GIOCondition cond, gpointer opaque)
{
    VubVring *vq = opaque;
    Vub *b = vq->b;
    eventfd_t v;

    g_mutex_lock(&b->lock);
    if (eventfd_read(fd, &v) == 0) {
        vq->kicks++;
    }
    vub_vring_process(vq);
    g_cond_broadcast(&b->cond);
    g_mutex_unlock(&b->lock);
    return G_SOURCE_CONTINUE;
}

void vub_vring_set_kick(VubVring *vq, int fd)
{
    vub_unwatch(&vq->kick_src);
    vub_close_fd(&vq->kick_fd);
    vq->kick_fd = fd;
    if (fd >= 0) {
        vq->kick_src = vub_watch(vq->b, fd, G_IO_IN, vub_kick_cb, vq);
    }
    vq->started = true;
    vub_vring_sync_used(vq);
    /* Held requests are forgotten; with a region they come back below. */
    vq->nheld = 0;
    vub_inflight_start(vq);
    /* Entries made available before the ring started are served now. */
    vub_vring_process(vq);
}

/* --- request chains ------------------------------------------------------- */

size_t vub_iov_size(const VubIov *iov, unsigned n)
{
    size_t s = 0;

    for (unsigned i = 0; i < n; i++) {
        s += iov[i].len;
    }
    return s;
}

size_t vub_iov_copy(VubIov *iov, unsigned n, size_t off, void *buf,
                    size_t len, bool to_iov)
{
    uint8_t *p = buf;
    size_t done = 0;

    for (unsigned i = 0; i < n && done < len; i++) {
        size_t chunk;

        if (off >= iov[i].len) {
            off -= iov[i].len;
            continue;
        }
        chunk = MIN(iov[i].len - off, len - done);
        if (to_iov) {
            memcpy(iov[i].base + off, p + done, chunk);
        } else {
            memcpy(p + done, iov[i].base + off, chunk);
        }
        done += chunk;
        off = 0;
    }
    return done;
}

bool vub_chain_collect(VubVring *vq, const VubRing *ring, uint16_t head,
                       VubChain *c)
{
    uint16_t i = head;

    for (unsigned count = 0; count < MIN(vq->num, VUB_MAX_CHAIN); count++) {
        struct vring_desc d;
        VubIov *iov;

        if (i >= vq->num) {
            return false;
        }
        memcpy(&d, &ring->desc[i], sizeof(d));
        if (d.flags & VRING_DESC_F_INDIRECT) {
            return false;
        }
        if (d.flags & VRING_DESC_F_WRITE) {
            iov = &c->in[c->nin++];
        } else if (c->nin == 0) {
            iov = &c->out[c->nout++];
        } else {
            return false;   /* readable after writable */
        }
        iov->base = vub_gpa_to_hva(vq->b, d.addr, d.len);
        iov->len = d.len;
        iov->gpa = d.addr;
        if (!iov->base) {
            return false;
        }
        if (!(d.flags & VRING_DESC_F_NEXT)) {
            return true;
        }
        i = d.next;
    }
    return false;   /* too long or a loop */
}

/* --- virtio-blk ----------------------------------------------------------- */

static bool vub_blk_range_ok(Vub *b, uint64_t sector, size_t len)
{
    uint64_t size = b->opts.disk_size;

    return len % VUB_SECTOR == 0 && sector <= size / VUB_SECTOR &&
           len <= size - sector * VUB_SECTOR;
}

/* A read or write served: one more at its first sector (opts.served). */
static void vub_blk_count(Vub *b, uint64_t sector)
{
    if (b->opts.served) {
        __atomic_fetch_add(&b->opts.served[sector], 1, __ATOMIC_RELAXED);
    }
}

static uint8_t vub_blk_read(Vub *b, VubChain *c, uint64_t sector,
                            size_t len, uint32_t *written)
{
    if (!vub_blk_range_ok(b, sector, len)) {
        b->stats.ioerr++;
        return VIRTIO_BLK_S_IOERR;
    }
    vub_blk_count(b, sector);
    vub_iov_copy(c->in, c->nin, 0, b->disk + sector * VUB_SECTOR, len, true);
    *written = len;
    b->stats.reads++;
    b->stats.bytes_read += len;
    return VIRTIO_BLK_S_OK;
}

static uint8_t vub_blk_write(Vub *b, VubChain *c, uint64_t sector)
{
    size_t len = vub_iov_size(c->out, c->nout) -
                 sizeof(struct virtio_blk_outhdr);

    if (!vub_blk_range_ok(b, sector, len)) {
        b->stats.ioerr++;
        return VIRTIO_BLK_S_IOERR;
    }
    vub_blk_count(b, sector);
    vub_iov_copy(c->out, c->nout, sizeof(struct virtio_blk_outhdr),
                 b->disk + sector * VUB_SECTOR, len, false);
    b->stats.writes++;
    b->stats.bytes_written += len;
    return VIRTIO_BLK_S_OK;
}

static uint8_t vub_blk_get_id(Vub *b, VubChain *c, size_t len,
                              uint32_t *written)
{
    char id[VIRTIO_BLK_ID_BYTES] = VUB_SERIAL;

    *written = vub_iov_copy(c->in, c->nin, 0, id, MIN(len, sizeof(id)),
                            true);
    b->stats.get_ids++;
    return VIRTIO_BLK_S_OK;
}

static uint8_t vub_blk_execute(Vub *b, VubChain *c,
                               const struct virtio_blk_outhdr *h,
                               size_t in_len, uint32_t *written)
{
    switch (h->type) {
    case VIRTIO_BLK_T_IN:
        return vub_blk_read(b, c, h->sector, in_len, written);
    case VIRTIO_BLK_T_OUT:
        return vub_blk_write(b, c, h->sector);
    case VIRTIO_BLK_T_FLUSH:
        b->stats.flushes++;
        return VIRTIO_BLK_S_OK;
    case VIRTIO_BLK_T_GET_ID:
        return vub_blk_get_id(b, c, in_len, written);
    default:
        b->stats.unsupported++;
        return VIRTIO_BLK_S_UNSUPP;
    }
}

uint32_t vub_blk_request(VubVring *vq, const VubRing *ring,
                                uint16_t head)
{
    Vub *b = vq->b;
    VubChain c = { .nout = 0 };
    struct virtio_blk_outhdr h;
    uint32_t written = 0;
    size_t in_len;
    uint8_t status;

    if (!vub_chain_collect(vq, ring, head, &c) ||
        vub_iov_copy(c.out, c.nout, 0, &h, sizeof(h), false) != sizeof(h) ||
        (in_len = vub_iov_size(c.in, c.nin)) == 0) {
        b->stats.ioerr++;
        return 0;
    }
    in_len--;       /* the status byte is the last writable byte */
    status = vub_blk_execute(b, &c, &h, in_len, &written);
    vub_iov_copy(c.in, c.nin, in_len, &status, 1, true);
    for (unsigned i = 0; i < c.nin; i++) {
        vub_log_write(b, c.in[i].gpa, c.in[i].len);
    }
    return written + 1;
}

void vub_push_used(VubVring *vq, const VubRing *ring, uint16_t head,
                   uint32_t len)
{
    uint16_t slot = vq->used_idx % vq->num;
    struct vring_used_elem *e = &ring->used->ring[slot];

    e->id = head;
    e->len = len;
    vq->used_idx++;
    __atomic_store_n(&ring->used->idx, vq->used_idx, __ATOMIC_RELEASE);
    vq->completed++;
    if (vq->addr_flags & (1u << VHOST_VRING_F_LOG)) {
        uint64_t base = vq->log_guest_addr;

        vub_log_write(vq->b, base + offsetof(struct vring_used, ring) +
                      slot * sizeof(*e), sizeof(*e));
        vub_log_write(vq->b, base + offsetof(struct vring_used, idx), 2);
    }
}

void vub_vring_notify(VubVring *vq, const VubRing *ring)
{
    if (vq->call_fd < 0 ||
        (ring->avail->flags & VRING_AVAIL_F_NO_INTERRUPT)) {
        return;
    }
    if (eventfd_write(vq->call_fd, 1) == 0) {
        vq->calls++;
    }
}

static bool vub_vring_can_take(const VubVring *vq)
{
    return !vq->b->hold || vq->nheld < VUB_MAX_HELD;
}

/* Hold or serve head (marked inflight already); true if served. */
static bool vub_blk_take(VubVring *vq, const VubRing *ring, uint16_t head)
{
    if (vq->b->hold) {
        vq->held[vq->nheld++] = head;
        return false;
    }
    vub_complete(vq, ring, head, vub_blk_request(vq, ring, head), false);
    return true;
}

/* Requests an earlier backend left inflight go before any new one. */
static bool vub_vring_resubmit(VubVring *vq, const VubRing *ring)
{
    bool any = false;

    while (vq->resubmit_pos < vq->nresubmit && vub_vring_can_take(vq)) {
        uint16_t head = vq->resubmit[vq->resubmit_pos++].head;

        vq->resubmitted++;
        any |= vub_blk_take(vq, ring, head);
    }
    return any;
}

void vub_vring_process(VubVring *vq)
{
    VubRing ring;
    uint16_t avail_idx;
    bool any;

    if (vq->b->opts.type == VUB_DEVICE_NET) {
        vub_net_process(vq);
        return;
    }
    if (!vq->started || !vub_vring_enabled(vq) || !vub_ring_map(vq, &ring)) {
        return;
    }
    any = vub_vring_resubmit(vq, &ring);
    avail_idx = __atomic_load_n(&ring.avail->idx, __ATOMIC_ACQUIRE);
    vq->avail_seen = avail_idx;
    if ((uint16_t)(avail_idx - vq->last_avail) > vq->num) {
        vub_set_error(vq->b, "ring %u: avail idx %u is %u ahead of %u",
                      vq->index, avail_idx,
                      (uint16_t)(avail_idx - vq->last_avail), vq->last_avail);
        return;
    }
    while (vq->last_avail != avail_idx && vub_vring_can_take(vq)) {
        uint16_t head = ring.avail->ring[vq->last_avail % vq->num];

        vq->last_avail++;
        vub_inflight_begin(vq, head);
        any |= vub_blk_take(vq, &ring, head);
    }
    if (any) {
        vub_vring_notify(vq, &ring);
    }
}

/* --- device set-up -------------------------------------------------------- */

void vub_blk_init(Vub *b)
{
    /* A disk of the caller's outlives this backend (restarts). */
    b->disk = b->opts.disk ? b->opts.disk : g_malloc0(b->opts.disk_size);
    b->config.capacity = b->opts.disk_size / VUB_SECTOR;
    b->config.seg_max = VUB_SEG_MAX;
    b->config.blk_size = VUB_SECTOR;
    b->config.num_queues = b->opts.num_queues;
    b->config.wce = 1;
}

void vub_blk_cleanup(Vub *b)
{
    vub_regions_clear(b);
    vub_dirty_log_clear(b);
    vub_inflight_unmap(b);
    if (b->disk != b->opts.disk) {
        g_free(b->disk);
    }
    b->disk = NULL;
}

/* --- public accessors (any thread) ---------------------------------------- */

unsigned vub_mem_regions(Vub *b, VhostUserMemoryRegion *out, unsigned max)
{
    unsigned n;

    g_mutex_lock(&b->lock);
    n = b->nregions;
    for (unsigned i = 0; out && i < MIN(n, max); i++) {
        out[i] = b->regions[i].r;
    }
    g_mutex_unlock(&b->lock);
    return n;
}

static bool vub_guest_access(Vub *b, uint64_t gpa, void *buf, size_t len,
                             bool write)
{
    uint8_t *p;

    g_mutex_lock(&b->lock);
    p = vub_gpa_to_hva(b, gpa, len);
    if (p && write) {
        memcpy(p, buf, len);
    } else if (p) {
        memcpy(buf, p, len);
    }
    g_mutex_unlock(&b->lock);
    return p != NULL;
}

bool vub_read_guest(Vub *b, uint64_t gpa, void *buf, size_t len)
{
    return vub_guest_access(b, gpa, buf, len, false);
}

bool vub_write_guest(Vub *b, uint64_t gpa, const void *buf, size_t len)
{
    return vub_guest_access(b, gpa, (void *)buf, len, true);
}

bool vub_write_guest_logged(Vub *b, uint64_t gpa, const void *buf,
                            size_t len)
{
    uint8_t *p;

    g_mutex_lock(&b->lock);
    p = vub_gpa_to_hva(b, gpa, len);
    if (p) {
        memcpy(p, buf, len);
        vub_log_write(b, gpa, len);
    }
    g_mutex_unlock(&b->lock);
    return p != NULL;
}

VubVringInfo vub_vring_info(Vub *b, unsigned idx)
{
    VubVringInfo info = { 0 };
    const VubVring *vq;

    if (idx >= VUB_MAX_QUEUES) {
        return info;
    }
    g_mutex_lock(&b->lock);
    vq = &b->vq[idx];
    info = (VubVringInfo) {
        .num = vq->num, .last_avail = vq->last_avail,
        .used_idx = vq->used_idx, .addr_set = vq->addr_set,
        .started = vq->started, .enabled = vub_vring_enabled(vq),
        .has_kick = vq->kick_fd >= 0, .has_call = vq->call_fd >= 0,
        .enable_msg = vq->enable_set ? vq->enable : -1,
        .avail_seen = vq->avail_seen,
        .kicks = vq->kicks, .completed = vq->completed, .calls = vq->calls,
        .held = vq->nheld, .inflight = vub_inflight_count(vq),
        .resubmitted = vq->resubmitted,
    };
    g_mutex_unlock(&b->lock);
    return info;
}

/* Ring idx and a count to reach. */
typedef struct VubCountArg {
    unsigned idx;
    uint64_t n;
} VubCountArg;

static bool vub_pred_completed(Vub *b, const void *opaque)
{
    const VubCountArg *a = opaque;

    return b->vq[a->idx].completed >= a->n;
}

bool vub_wait_completed(Vub *b, unsigned idx, uint64_t n, int timeout_ms)
{
    VubCountArg a = { idx, n };

    g_assert(idx < VUB_MAX_QUEUES);
    return vub_wait_until(b, vub_pred_completed, &a, timeout_ms);
}

static bool vub_pred_running(Vub *b, const void *opaque)
{
    const VubVring *vq = &b->vq[*(const unsigned *)opaque];

    return vq->started && vub_vring_enabled(vq);
}

bool vub_wait_vring_running(Vub *b, unsigned idx, int timeout_ms)
{
    g_assert(idx < VUB_MAX_QUEUES);
    return vub_wait_until(b, vub_pred_running, &idx, timeout_ms);
}

typedef struct VubAvailArg {
    unsigned idx;
    uint16_t avail;
} VubAvailArg;

static bool vub_pred_avail_seen(Vub *b, const void *opaque)
{
    const VubAvailArg *a = opaque;

    return b->vq[a->idx].avail_seen == a->avail;
}

bool vub_wait_avail_seen(Vub *b, unsigned idx, uint16_t avail,
                         int timeout_ms)
{
    VubAvailArg a = { idx, avail };

    g_assert(idx < VUB_MAX_QUEUES);
    return vub_wait_until(b, vub_pred_avail_seen, &a, timeout_ms);
}

static bool vub_pred_started(Vub *b, const void *opaque)
{
    return b->vq[*(const unsigned *)opaque].started;
}

bool vub_wait_vring_started(Vub *b, unsigned idx, int timeout_ms)
{
    g_assert(idx < VUB_MAX_QUEUES);
    return vub_wait_until(b, vub_pred_started, &idx, timeout_ms);
}

uint64_t vub_disk_size(Vub *b)
{
    return b->opts.disk_size;
}

static void vub_disk_access(Vub *b, uint64_t offset, void *buf, size_t len,
                            bool write)
{
    g_assert(offset <= b->opts.disk_size &&
             len <= b->opts.disk_size - offset);
    g_mutex_lock(&b->lock);
    if (write) {
        memcpy(b->disk + offset, buf, len);
    } else {
        memcpy(buf, b->disk + offset, len);
    }
    g_mutex_unlock(&b->lock);
}

void vub_disk_read(Vub *b, uint64_t offset, void *buf, size_t len)
{
    vub_disk_access(b, offset, buf, len, false);
}

void vub_disk_write(Vub *b, uint64_t offset, const void *buf, size_t len)
{
    vub_disk_access(b, offset, (void *)buf, len, true);
}

VubBlkStats vub_blk_stats(Vub *b)
{
    VubBlkStats s;

    g_mutex_lock(&b->lock);
    s = b->stats;
    g_mutex_unlock(&b->lock);
    return s;
}

void vub_set_capacity(Vub *b, uint64_t sectors)
{
    g_mutex_lock(&b->lock);
    b->config.capacity = sectors;
    g_mutex_unlock(&b->lock);
}
