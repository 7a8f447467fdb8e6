/* SPDX-License-Identifier: MIT */
/*
 * vhost-user messages: writing a request with its fds, reading and
 * strictly validating its reply, REPLY_ACK, and what a protocol error
 * does (log, disconnect, fail the call).  The rest of the frontend
 * (vhost-user.c, vhost-user-mem.c, vhost-user-backend.c) sends every
 * request through vu_set() or vu_get().
 *
 * A request either has a reply of its own (GET_*, SET_LOG_BASE with
 * LOG_SHMFD) and never carries NEED_REPLY — some backends copy the
 * request's flags into the reply, which would then fail the flags check —
 * or has none and carries NEED_REPLY when REPLY_ACK is in force.  Replies
 * are read with qemu_chr_read_all_timeout: no nested main loop.
 */
#include "vhost-user-internal.h"

#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <unistd.h>

#define VU_NAME_MAX 64

/* "SET_VRING_ADDR (queue 1)" */
static void vu_name(char *buf, uint32_t request, int queue)
{
    if (queue >= 0) {
        snprintf(buf, VU_NAME_MAX, "%s (queue %d)",
                 vhost_user_request_name(request), queue);
    } else {
        snprintf(buf, VU_NAME_MAX, "%s", vhost_user_request_name(request));
    }
}

/* --- messages ------------------------------------------------------------ */

bool vhost_user_is_connected(const VhostUserState *u)
{
    return u->inited && u->chr && qemu_chr_is_connected(u->chr);
}

bool vu_protocol_error(VhostUserState *u, Error **errp, const char *fmt, ...)
{
    g_autofree char *msg = NULL;
    va_list ap;

    va_start(ap, fmt);
    msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    u->protocol_errors++;
    error_report("%s: disconnecting backend: %s", u->dev_label, msg);
    if (u->chr) {
        /* CLOSED reaches the device later, from the main loop. */
        qemu_chr_fe_disconnect(u->chr);
    }
    error_setg(errp, "%s", msg);
    return false;
}

void vu_fds_close(VuFds *fds)
{
    for (unsigned i = 0; i < fds->n; i++) {
        close(fds->fd[i]);
    }
    fds->n = 0;
}

static bool vu_write(VhostUserState *u, const char *name,
                     const VhostUserMsg *msg, const int *fds, size_t nfds,
                     Error **errp)
{
    ssize_t r;

    if (!vhost_user_is_connected(u)) {
        error_setg(errp, "%s: backend not connected", name);
        return false;
    }
    assert(msg->hdr.size <= VHOST_USER_PAYLOAD_MAX);
    assert(nfds <= VHOST_USER_MAX_FDS);
    /* An fd left over from an earlier message must not pass for one that
     * comes with this request's reply. */
    qemu_chr_drop_msgfds(u->chr);
    r = qemu_chr_write_all_timeout(u->chr, (const uint8_t *)msg,
                                   VHOST_USER_HDR_SIZE + msg->hdr.size, fds,
                                   nfds, u->timeout_ms);
    if (r == -ECANCELED) {
        qemu_chr_fe_disconnect(u->chr);     /* as for a reply, vu_read */
        error_setg(errp, "%s: interrupted (kvmini is shutting down)", name);
        return false;
    }
    if (r == -ETIMEDOUT) {
        return vu_protocol_error(u, errp, "%s: the backend reads nothing "
                                 "(no room to write within %d ms)", name,
                                 u->timeout_ms);
    }
    if (r < 0) {
        return vu_protocol_error(u, errp, "%s: write failed: %s", name,
                                 g_strerror((int)-r));
    }
    u->requests_sent++;
    return true;
}

static bool vu_read(VhostUserState *u, const char *name, void *buf,
                    size_t len, Error **errp)
{
    ssize_t r = qemu_chr_read_all_timeout(u->chr, buf, len, u->timeout_ms);

    if (r == (ssize_t)len) {
        return true;
    }
    if (r == -ECANCELED) {
        /* kvmini is shutting down.  The reply may still come, so the
         * stream is out of step: drop it, but this is nobody's fault. */
        qemu_chr_fe_disconnect(u->chr);
        error_setg(errp, "%s: interrupted (kvmini is shutting down)", name);
        return false;
    }
    if (r == 0) {
        return vu_protocol_error(u, errp, "%s: backend closed the connection",
                                 name);
    }
    if (r == -ETIMEDOUT) {
        return vu_protocol_error(u, errp, "%s: no reply within %d ms", name,
                                 u->timeout_ms);
    }
    return vu_protocol_error(u, errp, "%s: read failed: %s", name,
                             g_strerror(r < 0 ? (int)-r : EIO));
}

static bool vu_check_header(VhostUserState *u, const char *name,
                            uint32_t request, const VuExpect *exp,
                            const VhostUserHeader *h, Error **errp)
{
    const uint32_t flags = VHOST_USER_VERSION | VHOST_USER_REPLY_MASK;

    if (h->flags != flags) {
        return vu_protocol_error(u, errp, "%s: reply flags 0x%x, expected "
                                 "0x%x", name, h->flags, flags);
    }
    if (h->request != request) {
        return vu_protocol_error(u, errp, "%s: reply is for request %u (%s)",
                                 name, h->request,
                                 vhost_user_request_name(h->request));
    }
    if (h->size > VHOST_USER_PAYLOAD_MAX) {
        return vu_protocol_error(u, errp, "%s: reply size %u exceeds the "
                                 "maximum %zu", name, h->size,
                                 VHOST_USER_PAYLOAD_MAX);
    }
    if (h->size != exp->size && !(exp->or_empty && h->size == 0)) {
        return vu_protocol_error(u, errp, "%s: reply size %u, expected %u",
                                 name, h->size, exp->size);
    }
    return true;
}

/* Take every fd that came with the reply; more than max is an error. */
static bool vu_take_fds(VhostUserState *u, const char *name, unsigned max,
                        VuFds *out, Error **errp)
{
    VuFds local = { .n = 0 };
    unsigned total = 0;
    int fd;

    out = out ? out : &local;
    out->n = 0;
    while ((fd = qemu_chr_get_msgfd(u->chr)) >= 0) {
        total++;
        if (out->n < max && out->n < VHOST_USER_MAX_FDS) {
            out->fd[out->n++] = fd;
        } else {
            close(fd);
        }
    }
    if (total > out->n) {
        vu_fds_close(out);
        return vu_protocol_error(u, errp, "%s: reply carries %u fd(s), "
                                 "expected at most %u", name, total, max);
    }
    return true;
}

static bool vu_read_reply(VhostUserState *u, const char *name,
                          uint32_t request, const VuExpect *exp,
                          VhostUserMsg *reply, VuFds *fds, Error **errp)
{
    if (fds) {
        fds->n = 0;
    }
    if (!vu_read(u, name, &reply->hdr, VHOST_USER_HDR_SIZE, errp) ||
        !vu_check_header(u, name, request, exp, &reply->hdr, errp)) {
        qemu_chr_drop_msgfds(u->chr);
        return false;
    }
    if (reply->hdr.size &&
        !vu_read(u, name, &reply->payload, reply->hdr.size, errp)) {
        qemu_chr_drop_msgfds(u->chr);
        return false;
    }
    return vu_take_fds(u, name, exp->max_fds, fds, errp);
}

static bool vu_wait_ack(VhostUserState *u, const char *name,
                        uint32_t request, Error **errp)
{
    static const VuExpect exp = { .size = sizeof(uint64_t) };
    VhostUserMsg reply;

    if (!vu_read_reply(u, name, request, &exp, &reply, NULL, errp)) {
        return false;
    }
    if (reply.payload.u64) {
        error_setg(errp, "backend rejected %s (status %" PRIu64 ")", name,
                   reply.payload.u64);
        return false;
    }
    return true;
}

bool vu_set(VhostUserState *u, VhostUserMsg *msg, int queue,
            const int *fds, size_t nfds, Error **errp)
{
    bool ack = vu_has(u, VHOST_USER_PROTOCOL_F_REPLY_ACK);
    char name[VU_NAME_MAX];

    vu_name(name, msg->hdr.request, queue);
    msg->hdr.flags = VHOST_USER_VERSION | (ack ? VHOST_USER_NEED_REPLY : 0);
    if (!vu_write(u, name, msg, fds, nfds, errp)) {
        return false;
    }
    return !ack || vu_wait_ack(u, name, msg->hdr.request, errp);
}

bool vu_get_fds(VhostUserState *u, VhostUserMsg *msg, int queue,
                const int *fds, size_t nfds, const VuExpect *exp,
                VhostUserMsg *reply, VuFds *rfds, Error **errp)
{
    char name[VU_NAME_MAX];

    vu_name(name, msg->hdr.request, queue);
    msg->hdr.flags = VHOST_USER_VERSION;
    return vu_write(u, name, msg, fds, nfds, errp) &&
           vu_read_reply(u, name, msg->hdr.request, exp, reply, rfds, errp);
}

bool vu_get(VhostUserState *u, VhostUserMsg *msg, int queue,
            const VuExpect *exp, VhostUserMsg *reply, VuFds *rfds,
            Error **errp)
{
    return vu_get_fds(u, msg, queue, NULL, 0, exp, reply, rfds, errp);
}

bool vu_get_u64(VhostUserState *u, uint32_t request, uint64_t *val,
                       Error **errp)
{
    static const VuExpect exp = { .size = sizeof(uint64_t) };
    VhostUserMsg msg = { .hdr.request = request };
    VhostUserMsg reply;

    if (!vu_get(u, &msg, -1, &exp, &reply, NULL, errp)) {
        return false;
    }
    *val = reply.payload.u64;
    return true;
}

bool vu_set_u64(VhostUserState *u, uint32_t request, uint64_t val,
                       Error **errp)
{
    VhostUserMsg msg = {
        .hdr.request = request,
        .hdr.size = sizeof(uint64_t),
        .payload.u64 = val,
    };

    return vu_set(u, &msg, -1, NULL, 0, errp);
}

bool vu_set_empty(VhostUserState *u, uint32_t request, Error **errp)
{
    VhostUserMsg msg = { .hdr.request = request };

    return vu_set(u, &msg, -1, NULL, 0, errp);
}

/* Fail with "<REQ>: backend does not support <what>" unless negotiated. */
bool vu_require(VhostUserState *u, int bit, uint32_t request,
                       const char *what, Error **errp)
{
    if (vu_has(u, bit)) {
        return true;
    }
    error_setg(errp, "%s: backend does not support %s",
               vhost_user_request_name(request), what);
    return false;
}
