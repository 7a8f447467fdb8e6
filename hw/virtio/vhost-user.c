/* SPDX-License-Identifier: MIT */
/*
 * vhost-user frontend: the connection (init/cleanup), its one negotiation
 * and the VhostOps the vhost core drives — features, owner, status,
 * vrings, config space, inflight region, dirty log — plus the
 * device-specific requests.  Messages go through vu_set()/vu_get()
 * (vhost-user-msg.c); the memory table lives in vhost-user-mem.c, the
 * backend -> frontend channel in vhost-user-backend.c.
 * include/hw/virtio/vhost-user.h describes the behaviour.
 */
#include "vhost-user-internal.h"

#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <sys/mman.h>

#define VU_BIT(b) (1ULL << (b))

/* --- connection ---------------------------------------------------------- */

bool vhost_user_init(VhostUserState *u, Chardev *chr, const char *dev_label,
                     Error **errp)
{
    GMutex *lock = u->lock;

    vhost_user_cleanup(u);
    if (!chr) {
        error_setg(errp, "vhost-user: no chardev");
        return false;
    }
    memset(u, 0, sizeof(*u));
    u->lock = lock;
    u->chr = chr;
    u->dev_label = g_strdup(dev_label ? dev_label : chr->id);
    u->timeout_ms = VHOST_USER_REPLY_TIMEOUT_MS;
    u->memory_slots = VHOST_USER_DEFAULT_MEM_SLOTS;
    u->backend_fd = -1;
    u->devs = g_ptr_array_new();
    u->inited = true;
    return true;
}

void vhost_user_cleanup(VhostUserState *u)
{
    GMutex *lock = u->lock;

    if (!u->inited) {
        return;
    }
    vu_backend_channel_close(u);
    vu_host_notifiers_unmap(u, 0, VIRTIO_QUEUE_MAX);
    vu_mem_cleanup(u);
    if (u->devs) {
        g_ptr_array_free(u->devs, TRUE);
    }
    g_free(u->dev_label);
    memset(u, 0, sizeof(*u));
    u->backend_fd = -1;
    u->lock = lock;
}

static bool vu_set_owner_once(VhostUserState *u, Error **errp)
{
    if (u->owner_set) {
        return true;
    }
    if (!vu_set_empty(u, VHOST_USER_SET_OWNER, errp)) {
        return false;
    }
    u->owner_set = true;
    return true;
}

static bool vu_negotiate_protocol(VhostUserState *u, Error **errp)
{
    uint64_t offered;
    uint64_t pf;

    if (!vu_get_u64(u, VHOST_USER_GET_PROTOCOL_FEATURES, &offered, errp)) {
        return false;
    }
    pf = offered & VHOST_USER_PROTOCOL_FEATURES_SUPPORTED;
    /* Sent before the features are in force: never asks for an ack. */
    if (!vu_set_u64(u, VHOST_USER_SET_PROTOCOL_FEATURES, pf, errp)) {
        return false;
    }
    u->protocol_features = pf;
    if (vu_has(u, VHOST_USER_PROTOCOL_F_MQ) &&
        !vu_get_u64(u, VHOST_USER_GET_QUEUE_NUM, &u->max_queues, errp)) {
        return false;
    }
    if (!vu_mem_negotiate(u, errp)) {
        return false;
    }
    return !vu_has(u, VHOST_USER_PROTOCOL_F_BACKEND_REQ) ||
           vu_backend_channel_open(u, errp);
}

/* The connection's one negotiation, run by the first vhost_dev. */
static bool vu_negotiate(VhostUserState *u, Error **errp)
{
    if (!vu_get_u64(u, VHOST_USER_GET_FEATURES, &u->features, errp)) {
        return false;
    }
    if ((u->features & VU_BIT(VHOST_USER_F_PROTOCOL_FEATURES)) &&
        !vu_negotiate_protocol(u, errp)) {
        return false;
    }
    if (!vu_set_owner_once(u, errp)) {
        return false;
    }
    u->negotiated = true;
    return true;
}

static bool vu_backend_init(struct vhost_dev *dev, void *opaque, Error **errp)
{
    VhostUserState *u = opaque;

    assert(u && u->inited);
    dev->opaque = u;
    if (!u->negotiated && !vu_negotiate(u, errp)) {
        return false;
    }
    if (!g_ptr_array_find(u->devs, dev, NULL)) {
        g_ptr_array_add(u->devs, dev);
    }
    dev->features = u->features;
    return true;
}

static void vu_backend_cleanup(struct vhost_dev *dev)
{
    VhostUserState *u = vu_state(dev);

    if (!u || !u->inited) {
        return;
    }
    if (g_ptr_array_remove(u->devs, dev)) {
        vu_host_notifiers_unmap(u, dev->vq_index, dev->nvqs);
    }
}

/* --- features, owner, status --------------------------------------------- */

/* Features cannot change during a connection: the value read at init. */
static bool vu_get_features(struct vhost_dev *dev, uint64_t *features,
                            Error **errp)
{
    VhostUserState *u = vu_state(dev);

    if (!u->negotiated &&
        !vu_get_u64(u, VHOST_USER_GET_FEATURES, &u->features, errp)) {
        return false;
    }
    *features = u->features;
    return true;
}

static bool vu_set_features(struct vhost_dev *dev, uint64_t features,
                            Error **errp)
{
    VhostUserState *u = vu_state(dev);
    /* The spec: protocol features are enabled only if bit 30 is acked. */
    uint64_t pf_bit = u->features & VU_BIT(VHOST_USER_F_PROTOCOL_FEATURES);

    return vu_set_u64(u, VHOST_USER_SET_FEATURES, features | pf_bit, errp);
}

static bool vu_set_owner(struct vhost_dev *dev, Error **errp)
{
    return vu_set_owner_once(vu_state(dev), errp);
}

/* SET_STATUS once per device: by its last vhost_dev, as QEMU does. */
static bool vu_dev_start(struct vhost_dev *dev, bool started, Error **errp)
{
    VhostUserState *u = vu_state(dev);
    uint64_t status = VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER |
                      VIRTIO_CONFIG_S_FEATURES_OK | VIRTIO_CONFIG_S_DRIVER_OK;

    if (!vu_has(u, VHOST_USER_PROTOCOL_F_STATUS)) {
        return true;
    }
    if (dev->vq_index_end && dev->vq_index + dev->nvqs != dev->vq_index_end) {
        return true;
    }
    return vu_set_u64(u, VHOST_USER_SET_STATUS, started ? status : 0, errp);
}

/* --- vrings -------------------------------------------------------------- */

static bool vu_vring_state(struct vhost_dev *dev, uint32_t request,
                           const struct vhost_vring_state *s, Error **errp)
{
    VhostUserMsg msg = {
        .hdr.request = request,
        .hdr.size = sizeof(VhostUserVringState),
        .payload.state = { .index = s->index, .num = s->num },
    };

    return vu_set(vu_state(dev), &msg, (int)s->index, NULL, 0, errp);
}

static bool vu_set_vring_num(struct vhost_dev *dev,
                             struct vhost_vring_state *s, Error **errp)
{
    return vu_vring_state(dev, VHOST_USER_SET_VRING_NUM, s, errp);
}

static bool vu_set_vring_base(struct vhost_dev *dev,
                              struct vhost_vring_state *s, Error **errp)
{
    return vu_vring_state(dev, VHOST_USER_SET_VRING_BASE, s, errp);
}

static bool vu_get_vring_base(struct vhost_dev *dev,
                              struct vhost_vring_state *s, Error **errp)
{
    static const VuExpect exp = { .size = sizeof(VhostUserVringState) };
    VhostUserState *u = vu_state(dev);
    VhostUserMsg msg = {
        .hdr.request = VHOST_USER_GET_VRING_BASE,
        .hdr.size = sizeof(VhostUserVringState),
        .payload.state = { .index = s->index },
    };
    VhostUserMsg reply;

    if (!vu_get(u, &msg, (int)s->index, &exp, &reply, NULL, errp)) {
        return false;
    }
    if (reply.payload.state.index != s->index) {
        return vu_protocol_error(u, errp, "GET_VRING_BASE (queue %u): reply "
                                 "is for queue %u", s->index,
                                 reply.payload.state.index);
    }
    s->num = reply.payload.state.num;
    return true;
}

static bool vu_set_vring_addr(struct vhost_dev *dev,
                              struct vhost_vring_addr *a, Error **errp)
{
    VhostUserMsg msg = {
        .hdr.request = VHOST_USER_SET_VRING_ADDR,
        .hdr.size = sizeof(VhostUserVringAddr),
        .payload.addr = {
            .index = a->index,
            .flags = a->flags,
            .desc_user_addr = a->desc_user_addr,
            .used_user_addr = a->used_user_addr,
            .avail_user_addr = a->avail_user_addr,
            .log_guest_addr = a->log_guest_addr,
        },
    };

    return vu_set(vu_state(dev), &msg, (int)a->index, NULL, 0, errp);
}

/* KICK/CALL/ERR: index in bits 0-7, NOFD (bit 8) when there is no fd. */
static bool vu_vring_file(struct vhost_dev *dev, uint32_t request,
                          const struct vhost_vring_file *f, Error **errp)
{
    VhostUserMsg msg = {
        .hdr.request = request,
        .hdr.size = sizeof(uint64_t),
    };

    if (f->index > VHOST_USER_VRING_IDX_MASK) {
        error_setg(errp, "%s: queue index %u does not fit the message",
                   vhost_user_request_name(request), f->index);
        return false;
    }
    msg.payload.u64 = f->index | (f->fd < 0 ? VHOST_USER_VRING_NOFD_MASK : 0);
    return vu_set(vu_state(dev), &msg, (int)f->index,
                  f->fd >= 0 ? &f->fd : NULL, f->fd >= 0 ? 1 : 0, errp);
}

static bool vu_set_vring_kick(struct vhost_dev *dev,
                              struct vhost_vring_file *f, Error **errp)
{
    return vu_vring_file(dev, VHOST_USER_SET_VRING_KICK, f, errp);
}

static bool vu_set_vring_call(struct vhost_dev *dev,
                              struct vhost_vring_file *f, Error **errp)
{
    return vu_vring_file(dev, VHOST_USER_SET_VRING_CALL, f, errp);
}

static bool vu_set_vring_err(struct vhost_dev *dev,
                             struct vhost_vring_file *f, Error **errp)
{
    return vu_vring_file(dev, VHOST_USER_SET_VRING_ERR, f, errp);
}

static bool vu_set_vring_enable(struct vhost_dev *dev, bool enable,
                                Error **errp)
{
    VhostUserState *u = vu_state(dev);

    /* Without protocol features rings start enabled and the request does
     * not exist. */
    if (!(u->features & VU_BIT(VHOST_USER_F_PROTOCOL_FEATURES))) {
        return true;
    }
    for (unsigned i = 0; i < dev->nvqs; i++) {
        struct vhost_vring_state s = {
            .index = dev->vq_index + i,
            .num = enable,
        };
        if (!vu_vring_state(dev, VHOST_USER_SET_VRING_ENABLE, &s, errp)) {
            return false;
        }
    }
    return true;
}

/* The device-global index is what the backend knows the queue by. */
static int vu_get_vq_index(struct vhost_dev *dev, int idx)
{
    return idx;
}

/* The spec: ring addresses are the frontend's own virtual addresses. */
static bool vu_vq_get_addr(struct vhost_dev *dev, struct vhost_vring_addr *a,
                           hwaddr desc, hwaddr avail, hwaddr used,
                           void *desc_hva, void *avail_hva, void *used_hva)
{
    a->desc_user_addr = (uintptr_t)desc_hva;
    a->avail_user_addr = (uintptr_t)avail_hva;
    a->used_user_addr = (uintptr_t)used_hva;
    a->log_guest_addr = used;
    return true;
}

/* --- config space -------------------------------------------------------- */

static bool vu_get_config(struct vhost_dev *dev, uint8_t *config,
                          uint32_t len, Error **errp)
{
    VhostUserState *u = vu_state(dev);
    /* The spec: a backend answers an error with an empty payload. */
    const VuExpect exp = {
        .size = VHOST_USER_CONFIG_HDR_SIZE + len,
        .or_empty = true,
    };
    VhostUserMsg msg = {
        .hdr.request = VHOST_USER_GET_CONFIG,
        .payload.config = { .offset = 0, .size = len },
    };
    VhostUserMsg reply;

    if (!vu_require(u, VHOST_USER_PROTOCOL_F_CONFIG, VHOST_USER_GET_CONFIG,
                    "CONFIG", errp)) {
        return false;
    }
    if (len > VHOST_USER_MAX_CONFIG_SIZE) {
        error_setg(errp, "GET_CONFIG: %u bytes exceed the maximum of %u", len,
                   VHOST_USER_MAX_CONFIG_SIZE);
        return false;
    }
    msg.hdr.size = exp.size;
    if (!vu_get(u, &msg, -1, &exp, &reply, NULL, errp)) {
        return false;
    }
    if (reply.hdr.size == 0) {
        error_setg(errp, "GET_CONFIG: backend reported an error");
        return false;
    }
    if (reply.payload.config.size != len) {
        return vu_protocol_error(u, errp, "GET_CONFIG: reply config size %u, "
                                 "expected %u", reply.payload.config.size,
                                 len);
    }
    memcpy(config, reply.payload.config.region, len);
    return true;
}

static bool vu_set_config(struct vhost_dev *dev, const uint8_t *data,
                          uint32_t offset, uint32_t size, uint32_t flags,
                          Error **errp)
{
    VhostUserState *u = vu_state(dev);
    VhostUserMsg msg = {
        .hdr.request = VHOST_USER_SET_CONFIG,
        .hdr.size = VHOST_USER_CONFIG_HDR_SIZE + size,
        .payload.config = { .offset = offset, .size = size, .flags = flags },
    };

    if (!vu_require(u, VHOST_USER_PROTOCOL_F_CONFIG, VHOST_USER_SET_CONFIG,
                    "CONFIG", errp)) {
        return false;
    }
    if (size > VHOST_USER_MAX_CONFIG_SIZE) {
        error_setg(errp, "SET_CONFIG: %u bytes exceed the maximum of %u",
                   size, VHOST_USER_MAX_CONFIG_SIZE);
        return false;
    }
    if (size) {
        memcpy(msg.payload.config.region, data, size);
    }
    return vu_set(u, &msg, -1, NULL, 0, errp);
}

/* --- inflight tracking --------------------------------------------------- */

static bool vu_map_inflight(VhostUserState *u, const VhostUserInflight *in,
                            VuFds *fds, uint16_t queue_size,
                            VhostInflight *inflight, Error **errp)
{
    void *addr;

    if (fds->n != 1) {
        return vu_protocol_error(u, errp, "GET_INFLIGHT_FD: reply for %"
                                 PRIu64 " bytes carries no fd",
                                 in->mmap_size);
    }
    addr = mmap(NULL, in->mmap_size, PROT_READ | PROT_WRITE, MAP_SHARED,
                fds->fd[0], in->mmap_offset);
    if (addr == MAP_FAILED) {
        error_setg_errno(errp, errno, "GET_INFLIGHT_FD: cannot map %" PRIu64
                         " bytes at offset %" PRIu64, in->mmap_size,
                         in->mmap_offset);
        vu_fds_close(fds);
        return false;
    }
    inflight->fd = fds->fd[0];
    inflight->addr = addr;
    inflight->size = in->mmap_size;
    inflight->offset = in->mmap_offset;
    inflight->queue_size = queue_size;
    return true;
}

/* Without INFLIGHT_SHMFD (or an empty region) inflight is left alone. */
static bool vu_get_inflight_fd(struct vhost_dev *dev, uint16_t queue_size,
                               VhostInflight *inflight, Error **errp)
{
    static const VuExpect exp = {
        .size = sizeof(VhostUserInflight),
        .max_fds = 1,
    };
    VhostUserState *u = vu_state(dev);
    VhostUserMsg msg = {
        .hdr.request = VHOST_USER_GET_INFLIGHT_FD,
        .hdr.size = sizeof(VhostUserInflight),
        .payload.inflight = {
            .num_queues = dev->nvqs,
            .queue_size = queue_size,
        },
    };
    VhostUserMsg reply;
    VuFds fds;

    if (!vu_has(u, VHOST_USER_PROTOCOL_F_INFLIGHT_SHMFD)) {
        return true;
    }
    if (!vu_get(u, &msg, -1, &exp, &reply, &fds, errp)) {
        return false;
    }
    if (reply.payload.inflight.mmap_size == 0) {
        if (fds.n) {
            vu_fds_close(&fds);
            return vu_protocol_error(u, errp, "GET_INFLIGHT_FD: fd sent for "
                                     "an empty region");
        }
        return true;
    }
    return vu_map_inflight(u, &reply.payload.inflight, &fds, queue_size,
                           inflight, errp);
}

static bool vu_set_inflight_fd(struct vhost_dev *dev,
                               const VhostInflight *inflight, Error **errp)
{
    VhostUserState *u = vu_state(dev);
    VhostUserMsg msg = {
        .hdr.request = VHOST_USER_SET_INFLIGHT_FD,
        .hdr.size = sizeof(VhostUserInflight),
        .payload.inflight = {
            .mmap_size = inflight->size,
            .mmap_offset = inflight->offset,
            .num_queues = dev->nvqs,
            .queue_size = inflight->queue_size,
        },
    };

    if (!vu_has(u, VHOST_USER_PROTOCOL_F_INFLIGHT_SHMFD) || inflight->fd < 0) {
        return true;
    }
    return vu_set(u, &msg, -1, &inflight->fd, 1, errp);
}

/* --- dirty log ----------------------------------------------------------- */

static bool vu_requires_shm_log(struct vhost_dev *dev)
{
    return true;
}

static const char *vu_log_blocker(struct vhost_dev *dev)
{
    VhostUserState *u = vu_state(dev);

    return vu_has(u, VHOST_USER_PROTOCOL_F_LOG_SHMFD) ?
           NULL : "backend does not support LOG_SHMFD";
}

/*
 * The log is device-wide: sent once, by the vhost_dev of queue 0.  The
 * reply is the acknowledgement whatever REPLY_ACK says; DPDK sends it
 * with an empty payload, libvhost-user with 8 bytes (not necessarily
 * zero), so both sizes pass and the value is ignored.  The core only
 * logs after vu_log_blocker said yes (LOG_SHMFD negotiated) and puts the
 * log in a memfd because vu_requires_shm_log says so: nothing to check
 * again here.
 */
static bool vu_set_log_base(struct vhost_dev *dev, struct vhost_log *log,
                            Error **errp)
{
    static const VuExpect exp = {
        .size = sizeof(uint64_t),
        .or_empty = true,
    };
    VhostUserState *u = vu_state(dev);
    VhostUserMsg msg = {
        .hdr.request = VHOST_USER_SET_LOG_BASE,
        .hdr.size = sizeof(VhostUserLog),
    };
    VhostUserMsg reply;

    if (dev->vq_index != 0) {
        return true;
    }
    msg.payload.log.mmap_size = log->size * sizeof(uint64_t);
    msg.payload.log.mmap_offset = 0;
    return vu_get_fds(u, &msg, -1, &log->fd, 1, &exp, &reply, NULL, errp);
}

/* --- device-specific requests -------------------------------------------- */

bool vhost_user_has_protocol_feature(struct vhost_dev *dev, unsigned bit)
{
    VhostUserState *u = vu_state(dev);

    return u && vu_has(u, bit);
}

bool vhost_user_net_set_mtu(struct vhost_dev *dev, uint16_t mtu,
                            Error **errp)
{
    VhostUserState *u = vu_state(dev);

    return vu_require(u, VHOST_USER_PROTOCOL_F_NET_MTU,
                      VHOST_USER_NET_SET_MTU, "NET_MTU", errp) &&
           vu_set_u64(u, VHOST_USER_NET_SET_MTU, mtu, errp);
}

bool vhost_user_send_rarp(struct vhost_dev *dev, const uint8_t mac[6],
                          Error **errp)
{
    VhostUserState *u = vu_state(dev);
    VhostUserMsg msg = {
        .hdr.request = VHOST_USER_SEND_RARP,
        .hdr.size = sizeof(uint64_t),
    };

    if (!vu_require(u, VHOST_USER_PROTOCOL_F_RARP, VHOST_USER_SEND_RARP,
                    "RARP", errp)) {
        return false;
    }
    /* The MAC in the first 6 bytes of the u64. */
    memcpy(&msg.payload.u64, mac, 6);
    return vu_set(u, &msg, -1, NULL, 0, errp);
}

/* --- the ops table ------------------------------------------------------- */

const VhostOps vhost_user_ops = {
    .name = "vhost-user",
    .backend_init = vu_backend_init,
    .backend_cleanup = vu_backend_cleanup,
    .memslots_limit = vu_memslots_limit,
    .needs_fd_memory = vu_needs_fd_memory,
    .set_mem_table = vu_set_mem_table,
    .vq_get_addr = vu_vq_get_addr,
    .get_features = vu_get_features,
    .set_features = vu_set_features,
    .set_owner = vu_set_owner,
    .set_vring_num = vu_set_vring_num,
    .set_vring_base = vu_set_vring_base,
    .get_vring_base = vu_get_vring_base,
    .set_vring_addr = vu_set_vring_addr,
    .set_vring_kick = vu_set_vring_kick,
    .set_vring_call = vu_set_vring_call,
    .set_vring_err = vu_set_vring_err,
    .set_vring_enable = vu_set_vring_enable,
    .get_vq_index = vu_get_vq_index,
    .dev_start = vu_dev_start,
    .get_config = vu_get_config,
    .set_config = vu_set_config,
    .get_inflight_fd = vu_get_inflight_fd,
    .set_inflight_fd = vu_set_inflight_fd,
    .requires_shm_log = vu_requires_shm_log,
    .log_blocker = vu_log_blocker,
    .set_log_base = vu_set_log_base,
};
