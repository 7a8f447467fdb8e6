/* SPDX-License-Identifier: MIT */
/*
 * The test vhost-user backend's message handlers: a flat table with one
 * handler and the minimum payload size per request, the replies (where
 * the misbehaviour switches are applied), REPLY_ACK, and the backend
 * channel (SET_BACKEND_REQ_FD) the test may send requests on.
 *
 * A handler returns VUB_ACK_OK / VUB_ACK_FAIL (the dispatcher acks if
 * NEED_REPLY is set), VUB_REPLIED after sending its own reply, or
 * VUB_PROTOCOL_ERROR after vub_set_error(), and the connection is dropped
 * as a real backend would.  Everything runs on the backend thread with
 * b->lock held, except the vub_backend_send() family (test thread); a
 * reply held back (VUB_FAULT_REPLY_DELAY) drops the lock while it waits.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "vhost-user-test-backend-int.h"

#define VUB_MAX_FAULT_SIZE (1024 * 1024)
#define VUB_ROUND_UP(n, a) (((n) + (a) - 1) / (a) * (a))

typedef VubResult VubHandler(Vub *b, VubReq *req);

static const char *req_name(const VubReq *req)
{
    return vhost_user_request_name(req->msg.hdr.request);
}

/* --- replies and faults --------------------------------------------------- */

/* Is a fault of this kind armed for request?  Consumes a "once" fault. */
static bool vub_fault(Vub *b, uint32_t request, VubFaultKind kind,
                      uint64_t *value)
{
    for (unsigned i = 0; i < b->nfaults; i++) {
        VubFault *f = &b->faults[i];

        if (f->kind != kind ||
            (f->request != request && f->request != VUB_ANY_REQUEST)) {
            continue;
        }
        *value = f->value;
        if (f->once) {
            b->faults[i] = b->faults[--b->nfaults];
        }
        return true;
    }
    return false;
}

/*
 * VUB_FAULT_REPLY_DELAY: hold the reply until the frontend's next message
 * is readable (counted: it came while a reply was owed) or max_ms pass.
 * b->lock is dropped meanwhile and b->cond broadcast, so that a test
 * thread waiting for the request sees it while its reply is held.  The
 * connection cannot go away meanwhile: only this thread drops it.
 */
static void vub_hold_reply(Vub *b, uint64_t max_ms)
{
    struct pollfd pfd = { .fd = b->conn_fd, .events = POLLIN };
    char byte;
    int r;

    g_cond_broadcast(&b->cond);
    g_mutex_unlock(&b->lock);
    do {
        r = poll(&pfd, 1, (int)MIN(max_ms, INT_MAX));
    } while (r < 0 && errno == EINTR);
    g_mutex_lock(&b->lock);
    if (r == 1 && recv(b->conn_fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT) == 1) {
        b->interleaved++;
    }
}

unsigned vub_interleaved(Vub *b)
{
    unsigned n;

    g_mutex_lock(&b->lock);
    n = b->interleaved;
    g_mutex_unlock(&b->lock);
    return n;
}

void vub_reply(Vub *b, const VubReq *req, const void *payload,
               uint32_t size, int fd)
{
    VhostUserHeader hdr = {
        .request = req->msg.hdr.request,
        .flags = VHOST_USER_VERSION | VHOST_USER_REPLY_MASK,
        .size = size,
    };
    g_autofree uint8_t *padded = NULL;
    int fds[2], nfds = 0, extra = -1;
    uint64_t v;

    if (vub_fault(b, hdr.request, VUB_FAULT_NO_REPLY, &v)) {
        return;
    }
    if (vub_fault(b, hdr.request, VUB_FAULT_REPLY_DELAY, &v)) {
        vub_hold_reply(b, v);
    }
    if (vub_fault(b, req->msg.hdr.request, VUB_FAULT_REPLY_REQUEST, &v)) {
        hdr.request = v;
    }
    if (vub_fault(b, req->msg.hdr.request, VUB_FAULT_REPLY_FLAGS, &v)) {
        hdr.flags = v;
    }
    if (vub_fault(b, req->msg.hdr.request, VUB_FAULT_REPLY_SIZE, &v)) {
        hdr.size = MIN(v, VUB_MAX_FAULT_SIZE);
        padded = g_malloc0(hdr.size + 1);
        if (size) {
            memcpy(padded, payload, MIN(size, hdr.size));
        }
        payload = padded;
    }
    if (fd >= 0) {
        fds[nfds++] = fd;
    }
    if (vub_fault(b, req->msg.hdr.request, VUB_FAULT_REPLY_FD, &v)) {
        extra = eventfd(0, EFD_CLOEXEC);
        fds[nfds++] = extra;
    }
    if (!vub_send_msg(b->conn_fd, &hdr, payload, hdr.size, fds, nfds)) {
        vub_set_error(b, "reply to %s: %s", req_name(req), g_strerror(errno));
    }
    vub_close_fd(&extra);
}

static void vub_reply_u64(Vub *b, const VubReq *req, uint64_t value)
{
    vub_reply(b, req, &value, sizeof(value), -1);
}

static void vub_ack(Vub *b, const VubReq *req, uint64_t status)
{
    uint64_t v;

    if (vub_fault(b, req->msg.hdr.request, VUB_FAULT_ACK_STATUS, &v)) {
        status = v;
    }
    vub_reply_u64(b, req, status);
}

/* --- helpers for handlers ------------------------------------------------- */

static VubVring *vub_req_vring(Vub *b, const VubReq *req, uint32_t index)
{
    if (index >= vub_nrings(b)) {
        vub_set_error(b, "%s: ring %u out of range (%u queues)",
                      req_name(req), index, vub_nrings(b));
        return NULL;
    }
    return &b->vq[index];
}

/* The fd of a vring-file message, or -1 with NOFD; false if missing. */
static bool vub_req_vring_fd(Vub *b, VubReq *req, int *fd)
{
    *fd = -1;
    if (req->msg.payload.u64 & VHOST_USER_VRING_NOFD_MASK) {
        return true;
    }
    if (req->nfds < 1) {
        vub_set_error(b, "%s: no fd and no NOFD bit", req_name(req));
        return false;
    }
    *fd = req->fds[0];
    req->fds[0] = -1;
    return true;
}

/* --- features and ownership ----------------------------------------------- */

static VubResult h_get_features(Vub *b, VubReq *req)
{
    vub_reply_u64(b, req, b->features);
    return VUB_REPLIED;
}

static VubResult h_set_features(Vub *b, VubReq *req)
{
    uint64_t f = req->msg.payload.u64;

    b->acked_features = f;
    if (f & ~b->features) {
        vub_set_error(b, "SET_FEATURES: 0x%" G_GINT64_MODIFIER "x not offered",
                      f & ~b->features);
        return VUB_ACK_FAIL;
    }
    return VUB_ACK_OK;
}

static VubResult h_get_protocol_features(Vub *b, VubReq *req)
{
    vub_reply_u64(b, req, b->protocol_features);
    return VUB_REPLIED;
}

static VubResult h_set_protocol_features(Vub *b, VubReq *req)
{
    b->acked_protocol_features = req->msg.payload.u64;
    return VUB_ACK_OK;
}

static VubResult h_nop(Vub *b, VubReq *req)
{
    return VUB_ACK_OK;
}

static VubResult h_reset(Vub *b, VubReq *req)
{
    vub_vrings_reset(b);
    b->status = 0;
    return VUB_ACK_OK;
}

static VubResult h_get_queue_num(Vub *b, VubReq *req)
{
    vub_reply_u64(b, req, b->opts.num_queues);
    return VUB_REPLIED;
}

static VubResult h_set_status(Vub *b, VubReq *req)
{
    b->status = req->msg.payload.u64;
    return VUB_ACK_OK;
}

static VubResult h_get_status(Vub *b, VubReq *req)
{
    vub_reply_u64(b, req, b->status);
    return VUB_REPLIED;
}

/* --- memory --------------------------------------------------------------- */

static VubResult h_set_mem_table(Vub *b, VubReq *req)
{
    const VhostUserMemory *m = &req->msg.payload.memory;
    uint32_t need = offsetof(VhostUserMemory, regions) +
                    m->nregions * sizeof(VhostUserMemoryRegion);

    if (m->nregions > VHOST_USER_MAX_RAM_SLOTS ||
        req->msg.hdr.size < need || req->nfds != m->nregions) {
        vub_set_error(b, "SET_MEM_TABLE: %u regions, %u bytes, %u fds",
                      m->nregions, req->msg.hdr.size, req->nfds);
        return VUB_PROTOCOL_ERROR;
    }
    vub_regions_clear(b);
    for (uint32_t i = 0; i < m->nregions; i++) {
        if (!vub_region_add(b, &m->regions[i], req->fds[i])) {
            return VUB_ACK_FAIL;
        }
    }
    return VUB_ACK_OK;
}

static VubResult h_get_max_mem_slots(Vub *b, VubReq *req)
{
    vub_reply_u64(b, req, b->opts.max_mem_slots);
    return VUB_REPLIED;
}

static VubResult h_add_mem_reg(Vub *b, VubReq *req)
{
    if (req->nfds != 1) {
        vub_set_error(b, "ADD_MEM_REG with %u fds", req->nfds);
        return VUB_PROTOCOL_ERROR;
    }
    if (b->nregions >= b->opts.max_mem_slots) {
        vub_set_error(b, "ADD_MEM_REG: all %" G_GUINT64_FORMAT " slots used",
                      b->opts.max_mem_slots);
        return VUB_ACK_FAIL;
    }
    return vub_region_add(b, &req->msg.payload.mem_reg.region, req->fds[0]) ?
           VUB_ACK_OK : VUB_ACK_FAIL;
}

static VubResult h_rem_mem_reg(Vub *b, VubReq *req)
{
    /* An fd may come along (older frontends); it is closed unused. */
    if (!vub_region_remove(b, &req->msg.payload.mem_reg.region)) {
        vub_set_error(b, "REM_MEM_REG: no such region");
        return VUB_ACK_FAIL;
    }
    return VUB_ACK_OK;
}

static VubResult h_set_log_base(Vub *b, VubReq *req)
{
    const VhostUserLog *l = &req->msg.payload.log;
    bool ok = req->nfds == 1 &&
              vub_dirty_log_set(b, req->fds[0], l->mmap_size, l->mmap_offset);

    /* With LOG_SHMFD the frontend waits for a reply (as QEMU does). */
    if (b->acked_protocol_features &
        VUB_BIT(VHOST_USER_PROTOCOL_F_LOG_SHMFD)) {
        vub_reply_u64(b, req, ok ? 0 : 1);
        return VUB_REPLIED;
    }
    return ok ? VUB_ACK_OK : VUB_ACK_FAIL;
}

/* --- rings ---------------------------------------------------------------- */

static VubResult h_set_vring_num(Vub *b, VubReq *req)
{
    const VhostUserVringState *s = &req->msg.payload.state;
    VubVring *vq = vub_req_vring(b, req, s->index);

    if (!vq) {
        return VUB_PROTOCOL_ERROR;
    }
    if (s->num == 0 || s->num > 32768 || (s->num & (s->num - 1))) {
        vub_set_error(b, "SET_VRING_NUM: bad size %u", s->num);
        return VUB_ACK_FAIL;
    }
    vq->num = s->num;
    return VUB_ACK_OK;
}

static VubResult h_set_vring_addr(Vub *b, VubReq *req)
{
    const VhostUserVringAddr *a = &req->msg.payload.addr;
    VubVring *vq = vub_req_vring(b, req, a->index);

    if (!vq) {
        return VUB_PROTOCOL_ERROR;
    }
    vq->addr_flags = a->flags;
    vq->desc_uaddr = a->desc_user_addr;
    vq->avail_uaddr = a->avail_user_addr;
    vq->used_uaddr = a->used_user_addr;
    vq->log_guest_addr = a->log_guest_addr;
    vq->addr_set = true;
    vub_vring_sync_used(vq);
    return VUB_ACK_OK;
}

static VubResult h_set_vring_base(Vub *b, VubReq *req)
{
    const VhostUserVringState *s = &req->msg.payload.state;
    VubVring *vq = vub_req_vring(b, req, s->index);

    if (!vq) {
        return VUB_PROTOCOL_ERROR;
    }
    vq->last_avail = s->num;
    vq->used_idx = s->num;
    return VUB_ACK_OK;
}

static VubResult h_get_vring_base(Vub *b, VubReq *req)
{
    VhostUserVringState s = req->msg.payload.state;
    VubVring *vq = vub_req_vring(b, req, s.index);

    if (!vq) {
        return VUB_PROTOCOL_ERROR;
    }
    vub_vring_stop(vq);
    s.num = vq->last_avail;
    vub_reply(b, req, &s, sizeof(s), -1);
    return VUB_REPLIED;
}

static VubResult h_set_vring_kick(Vub *b, VubReq *req)
{
    VubVring *vq = vub_req_vring(b, req, req->msg.payload.u64 &
                                 VHOST_USER_VRING_IDX_MASK);
    int fd;

    if (!vq || !vub_req_vring_fd(b, req, &fd)) {
        return VUB_PROTOCOL_ERROR;
    }
    vub_vring_set_kick(vq, fd);
    return VUB_ACK_OK;
}

static VubResult h_set_vring_call(Vub *b, VubReq *req)
{
    VubVring *vq = vub_req_vring(b, req, req->msg.payload.u64 &
                                 VHOST_USER_VRING_IDX_MASK);
    int fd;

    if (!vq || !vub_req_vring_fd(b, req, &fd)) {
        return VUB_PROTOCOL_ERROR;
    }
    vub_close_fd(&vq->call_fd);
    vq->call_fd = fd;
    return VUB_ACK_OK;
}

static VubResult h_set_vring_err(Vub *b, VubReq *req)
{
    VubVring *vq = vub_req_vring(b, req, req->msg.payload.u64 &
                                 VHOST_USER_VRING_IDX_MASK);
    int fd;

    if (!vq || !vub_req_vring_fd(b, req, &fd)) {
        return VUB_PROTOCOL_ERROR;
    }
    vub_close_fd(&vq->err_fd);
    vq->err_fd = fd;
    return VUB_ACK_OK;
}

static VubResult h_set_vring_enable(Vub *b, VubReq *req)
{
    const VhostUserVringState *s = &req->msg.payload.state;
    VubVring *vq = vub_req_vring(b, req, s->index);

    if (!vq) {
        return VUB_PROTOCOL_ERROR;
    }
    vq->enable_set = true;
    vq->enable = s->num != 0;
    vub_vring_process(vq);
    return VUB_ACK_OK;
}

/* --- config, inflight, backend channel ------------------------------------ */

static bool vub_config_range_ok(Vub *b, const VhostUserConfig *c,
                                uint32_t msg_size)
{
    return c->size <= VHOST_USER_MAX_CONFIG_SIZE &&
           c->offset <= sizeof(b->config) &&
           c->size <= sizeof(b->config) - c->offset &&
           msg_size >= VHOST_USER_CONFIG_HDR_SIZE + c->size;
}

static VubResult h_get_config(Vub *b, VubReq *req)
{
    VhostUserConfig c = req->msg.payload.config;

    /* The spec's error answer is an empty payload. */
    if (!vub_config_range_ok(b, &c, req->msg.hdr.size)) {
        vub_set_error(b, "GET_CONFIG: bad range %u+%u", c.offset, c.size);
        vub_reply(b, req, NULL, 0, -1);
        return VUB_REPLIED;
    }
    memcpy(c.region, (uint8_t *)&b->config + c.offset, c.size);
    vub_reply(b, req, &c, VHOST_USER_CONFIG_HDR_SIZE + c.size, -1);
    return VUB_REPLIED;
}

static VubResult h_set_config(Vub *b, VubReq *req)
{
    const VhostUserConfig *c = &req->msg.payload.config;

    if (!vub_config_range_ok(b, c, req->msg.hdr.size)) {
        vub_set_error(b, "SET_CONFIG: bad range %u+%u", c->offset, c->size);
        return VUB_ACK_FAIL;
    }
    memcpy((uint8_t *)&b->config + c->offset, c->region, c->size);
    return VUB_ACK_OK;
}

uint64_t vub_inflight_size(uint16_t num_queues, uint16_t queue_size)
{
    /* Split-ring layout: a header, then one entry per descriptor, each
     * queue's part rounded up to 64 bytes. */
    return (uint64_t)num_queues *
           VUB_ROUND_UP(sizeof(VubInflightQueue) +
                        sizeof(VubInflightDesc) * queue_size, 64);
}

static VubResult h_get_inflight_fd(Vub *b, VubReq *req)
{
    VhostUserInflight in = req->msg.payload.inflight;
    int fd = memfd_create("vub-inflight", MFD_CLOEXEC);

    in.mmap_size = vub_inflight_size(in.num_queues, in.queue_size);
    in.mmap_offset = 0;
    if (fd < 0 || ftruncate(fd, in.mmap_size) < 0) {
        vub_set_error(b, "GET_INFLIGHT_FD: %s", g_strerror(errno));
        vub_close_fd(&fd);
        return VUB_PROTOCOL_ERROR;
    }
    vub_reply(b, req, &in, sizeof(in), fd);
    close(fd);
    return VUB_REPLIED;
}

static VubResult h_expect_fd(Vub *b, VubReq *req)
{
    if (req->nfds != 1) {
        vub_set_error(b, "%s with %u fds", req_name(req), req->nfds);
        return VUB_PROTOCOL_ERROR;
    }
    return VUB_ACK_OK;
}

void vub_inflight_unmap(Vub *b)
{
    if (b->inflight_map) {
        munmap(b->inflight_map, b->inflight_map_len);
    }
    b->inflight_map = b->inflight_base = NULL;
    b->inflight_map_len = 0;
    b->inflight_queues = b->inflight_qsize = 0;
    for (unsigned i = 0; i < VUB_MAX_QUEUES; i++) {
        b->vq[i].inflight = NULL;
    }
}

static bool vub_inflight_map(Vub *b, int fd, const VhostUserInflight *in)
{
    uint64_t page = sysconf(_SC_PAGESIZE);
    uint64_t aligned = in->mmap_offset & ~(page - 1);
    size_t delta = in->mmap_offset - aligned;
    void *map;

    vub_inflight_unmap(b);
    if (!in->num_queues || !in->queue_size ||
        in->mmap_size < vub_inflight_size(in->num_queues, in->queue_size)) {
        vub_set_error(b, "SET_INFLIGHT_FD: %" G_GUINT64_FORMAT " bytes for "
                      "%u queues of %u", in->mmap_size, in->num_queues,
                      in->queue_size);
        return false;
    }
    map = mmap(NULL, in->mmap_size + delta, PROT_READ | PROT_WRITE,
               MAP_SHARED, fd, aligned);
    if (map == MAP_FAILED) {
        vub_set_error(b, "SET_INFLIGHT_FD: mmap: %s", g_strerror(errno));
        return false;
    }
    b->inflight_map = map;
    b->inflight_map_len = in->mmap_size + delta;
    b->inflight_base = b->inflight_map + delta;
    b->inflight_queues = in->num_queues;
    b->inflight_qsize = in->queue_size;
    return true;
}

/* Without opts.inflight the region is not used: the fd is only checked. */
static VubResult h_set_inflight_fd(Vub *b, VubReq *req)
{
    if (h_expect_fd(b, req) != VUB_ACK_OK) {
        return VUB_PROTOCOL_ERROR;
    }
    if (!b->opts.inflight) {
        return VUB_ACK_OK;
    }
    return vub_inflight_map(b, req->fds[0], &req->msg.payload.inflight) ?
           VUB_ACK_OK : VUB_ACK_FAIL;
}

static VubResult h_set_backend_req_fd(Vub *b, VubReq *req)
{
    if (h_expect_fd(b, req) != VUB_ACK_OK) {
        return VUB_PROTOCOL_ERROR;
    }
    vub_close_fd(&b->backend_fd);
    b->backend_fd = req->fds[0];
    req->fds[0] = -1;
    return VUB_ACK_OK;
}

/* --- dispatch ------------------------------------------------------------- */

typedef struct VubHandlerInfo {
    VubHandler *fn;
    uint32_t min_size;
} VubHandlerInfo;

#define U64 sizeof(uint64_t)
#define STATE sizeof(VhostUserVringState)

static const VubHandlerInfo vub_handlers[VHOST_USER_MAX] = {
    [VHOST_USER_GET_FEATURES] = { h_get_features, 0 },
    [VHOST_USER_SET_FEATURES] = { h_set_features, U64 },
    [VHOST_USER_SET_OWNER] = { h_nop, 0 },
    [VHOST_USER_RESET_OWNER] = { h_reset, 0 },
    [VHOST_USER_SET_MEM_TABLE] = { h_set_mem_table,
                                   offsetof(VhostUserMemory, regions) },
    [VHOST_USER_SET_LOG_BASE] = { h_set_log_base, sizeof(VhostUserLog) },
    [VHOST_USER_SET_LOG_FD] = { h_expect_fd, 0 },
    [VHOST_USER_SET_VRING_NUM] = { h_set_vring_num, STATE },
    [VHOST_USER_SET_VRING_ADDR] = { h_set_vring_addr,
                                    sizeof(VhostUserVringAddr) },
    [VHOST_USER_SET_VRING_BASE] = { h_set_vring_base, STATE },
    [VHOST_USER_GET_VRING_BASE] = { h_get_vring_base, STATE },
    [VHOST_USER_SET_VRING_KICK] = { h_set_vring_kick, U64 },
    [VHOST_USER_SET_VRING_CALL] = { h_set_vring_call, U64 },
    [VHOST_USER_SET_VRING_ERR] = { h_set_vring_err, U64 },
    [VHOST_USER_GET_PROTOCOL_FEATURES] = { h_get_protocol_features, 0 },
    [VHOST_USER_SET_PROTOCOL_FEATURES] = { h_set_protocol_features, U64 },
    [VHOST_USER_GET_QUEUE_NUM] = { h_get_queue_num, 0 },
    [VHOST_USER_SET_VRING_ENABLE] = { h_set_vring_enable, STATE },
    [VHOST_USER_SEND_RARP] = { vub_net_send_rarp, U64 },
    [VHOST_USER_NET_SET_MTU] = { vub_net_set_mtu, U64 },
    [VHOST_USER_SET_BACKEND_REQ_FD] = { h_set_backend_req_fd, 0 },
    [VHOST_USER_IOTLB_MSG] = { h_nop, sizeof(VhostUserIotlb) },
    [VHOST_USER_GET_CONFIG] = { h_get_config, VHOST_USER_CONFIG_HDR_SIZE },
    [VHOST_USER_SET_CONFIG] = { h_set_config, VHOST_USER_CONFIG_HDR_SIZE },
    [VHOST_USER_GET_INFLIGHT_FD] = { h_get_inflight_fd,
                                     sizeof(VhostUserInflight) },
    [VHOST_USER_SET_INFLIGHT_FD] = { h_set_inflight_fd,
                                     sizeof(VhostUserInflight) },
    [VHOST_USER_RESET_DEVICE] = { h_reset, 0 },
    [VHOST_USER_GET_MAX_MEM_SLOTS] = { h_get_max_mem_slots, 0 },
    [VHOST_USER_ADD_MEM_REG] = { h_add_mem_reg, sizeof(VhostUserMemRegMsg) },
    [VHOST_USER_REM_MEM_REG] = { h_rem_mem_reg, sizeof(VhostUserMemRegMsg) },
    [VHOST_USER_SET_STATUS] = { h_set_status, U64 },
    [VHOST_USER_GET_STATUS] = { h_get_status, 0 },
};

static VubResult vub_run_handler(Vub *b, VubReq *req)
{
    const VhostUserHeader *h = &req->msg.hdr;
    const VubHandlerInfo *hi = h->request < VHOST_USER_MAX ?
                               &vub_handlers[h->request] : NULL;

    if ((h->flags & VHOST_USER_VERSION_MASK) != VHOST_USER_VERSION ||
        (h->flags & VHOST_USER_REPLY_MASK)) {
        vub_set_error(b, "%s: bad flags 0x%x", req_name(req), h->flags);
        return VUB_PROTOCOL_ERROR;
    }
    if (!hi || !hi->fn) {
        vub_set_error(b, "request %u not supported", h->request);
        return VUB_ACK_FAIL;
    }
    if (h->size < hi->min_size) {
        vub_set_error(b, "%s: payload of %u bytes, want at least %u",
                      req_name(req), h->size, hi->min_size);
        return VUB_PROTOCOL_ERROR;
    }
    return hi->fn(b, req);
}

void vub_dispatch(Vub *b, VubReq *req)
{
    VubResult r = vub_run_handler(b, req);
    g_autofree char *why = NULL;

    switch (r) {
    case VUB_PROTOCOL_ERROR:
        why = g_strdup(b->last_error);
        vub_drop_connection(b, "%s", why);
        break;
    case VUB_ACK_OK:
    case VUB_ACK_FAIL:
        if (req->msg.hdr.flags & VHOST_USER_NEED_REPLY) {
            vub_ack(b, req, r == VUB_ACK_FAIL);
        }
        break;
    case VUB_REPLIED:
        break;
    }
}

void vub_session_reset(Vub *b)
{
    b->acked_features = 0;
    b->acked_protocol_features = 0;
    b->status = 0;
    vub_vrings_reset(b);
}

/* --- the backend channel (test thread) ------------------------------------ */

static bool vub_read_backend_reply(int fd, uint32_t request,
                                   uint64_t *status, int timeout_ms)
{
    struct pollfd pfd = { .fd = fd, .events = POLLIN };
    VhostUserHeader hdr;
    uint64_t value = 0;
    ssize_t n;

    if (poll(&pfd, 1, timeout_ms) != 1) {
        return false;
    }
    n = recv(fd, &hdr, sizeof(hdr), MSG_WAITALL);
    if (n != sizeof(hdr) || hdr.request != request ||
        hdr.flags != (VHOST_USER_VERSION | VHOST_USER_REPLY_MASK) ||
        hdr.size != sizeof(value)) {
        return false;
    }
    if (recv(fd, &value, sizeof(value), MSG_WAITALL) != sizeof(value)) {
        return false;
    }
    if (status) {
        *status = value;
    }
    return true;
}

bool vub_backend_send(Vub *b, uint32_t request, const void *payload,
                      uint32_t size, int fd, bool need_reply,
                      uint64_t *status, int timeout_ms)
{
    VhostUserHeader hdr = {
        .request = request,
        .flags = VHOST_USER_VERSION | (need_reply ? VHOST_USER_NEED_REPLY : 0),
        .size = size,
    };
    int chan;
    bool ok;

    /* Work on a duplicate so that a disconnect on the backend thread
     * (which closes backend_fd) cannot pull the fd from under us, and do
     * not hold b->lock while waiting: the frontend may send requests
     * (GET_CONFIG after CONFIG_CHANGE_MSG) before it answers. */
    g_mutex_lock(&b->backend_lock);
    g_mutex_lock(&b->lock);
    chan = b->backend_fd >= 0 ?
           fcntl(b->backend_fd, F_DUPFD_CLOEXEC, 0) : -1;
    g_mutex_unlock(&b->lock);
    ok = chan >= 0 &&
         vub_send_msg(chan, &hdr, payload, size, &fd, fd >= 0 ? 1 : 0);
    if (ok && need_reply) {
        ok = vub_read_backend_reply(chan, request, status, timeout_ms);
    }
    vub_close_fd(&chan);
    g_mutex_unlock(&b->backend_lock);
    return ok;
}

bool vub_backend_send_raw(Vub *b, const void *buf, size_t len)
{
    bool ok = false;

    g_mutex_lock(&b->backend_lock);
    g_mutex_lock(&b->lock);
    if (b->backend_fd >= 0) {
        ok = send(b->backend_fd, buf, len, MSG_NOSIGNAL) == (ssize_t)len;
    }
    g_mutex_unlock(&b->lock);
    g_mutex_unlock(&b->backend_lock);
    return ok;
}

bool vub_send_config_change(Vub *b, bool need_reply, uint64_t *status)
{
    return vub_backend_send(b, VHOST_USER_BACKEND_CONFIG_CHANGE_MSG, NULL, 0,
                            -1, need_reply, status, VUB_RECV_TIMEOUT_MS);
}

bool vub_send_host_notifier(Vub *b, unsigned idx, bool with_fd,
                            bool need_reply, uint64_t *status)
{
    VhostUserVringArea area = { .u64 = idx & VHOST_USER_VRING_IDX_MASK };
    int fd = -1;
    bool ok;

    if (with_fd) {
        fd = memfd_create("vub-notifier", MFD_CLOEXEC);
        g_assert(fd >= 0 && ftruncate(fd, 4096) == 0);
        area.size = 4096;
    } else {
        area.u64 |= VHOST_USER_VRING_NOFD_MASK;
    }
    ok = vub_backend_send(b, VHOST_USER_BACKEND_VRING_HOST_NOTIFIER_MSG,
                          &area, sizeof(area), fd, need_reply, status,
                          VUB_RECV_TIMEOUT_MS);
    vub_close_fd(&fd);
    return ok;
}

bool vub_send_iotlb(Vub *b, const VhostUserIotlb *msg, bool need_reply,
                    uint64_t *status)
{
    return vub_backend_send(b, VHOST_USER_BACKEND_IOTLB_MSG, msg,
                            sizeof(*msg), -1, need_reply, status,
                            VUB_RECV_TIMEOUT_MS);
}

bool vub_has_backend_channel(Vub *b)
{
    bool has;

    g_mutex_lock(&b->lock);
    has = b->backend_fd >= 0;
    g_mutex_unlock(&b->lock);
    return has;
}
