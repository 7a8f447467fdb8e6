/* SPDX-License-Identifier: MIT */
/*
 * The vring ioctls as vhost_vring_ioctl(): the index is read and checked
 * first (EFAULT, ENOBUFS), then the command; an unknown one (including
 * SET/GET_VRING_ENDIAN on a little-endian build without
 * CROSS_ENDIAN_LEGACY) is ENOIOCTLCMD, which becomes ENOTTY.
 */
#include "ioctl-int.h"

#include <errno.h>

static long vring_set_num(StandinReq *r, StandinVring *vq)
{
    struct vhost_vring_state s;

    if (vq->backend_fd >= 0) {
        return -EBUSY;
    }
    if (standin_arg_read(r, &s, sizeof(s)) < 0) {
        return -EFAULT;
    }
    standin_detail(r, "num=%u", s.num);
    if (!s.num || s.num > 0xffff || (s.num & (s.num - 1))) {
        return -EINVAL;
    }
    vq->num = s.num;
    return 0;
}

static long vring_set_addr(StandinReq *r, StandinVring *vq)
{
    struct vhost_vring_addr a;

    if (standin_arg_read(r, &a, sizeof(a)) < 0) {
        return -EFAULT;
    }
    standin_detail(r, "flags=0x%x desc=0x%llx avail=0x%llx used=0x%llx "
                   "log=0x%llx",
           a.flags, (unsigned long long)a.desc_user_addr,
           (unsigned long long)a.avail_user_addr,
           (unsigned long long)a.used_user_addr,
           (unsigned long long)a.log_guest_addr);
    if (a.flags & ~(1u << VHOST_VRING_F_LOG)) {
        return -EOPNOTSUPP;
    }
    if ((a.avail_user_addr & 1) || (a.used_user_addr & 3) ||
        (a.log_guest_addr & 3)) {
        return -EINVAL;
    }
    if (vq->backend_fd >= 0) {
        StandinVring tmp = *vq;

        tmp.desc = a.desc_user_addr;
        tmp.avail = a.avail_user_addr;
        tmp.used = a.used_user_addr;
        if (!standin_user_range_ok(tmp.desc, 16ULL * tmp.num) ||
            !standin_user_range_ok(tmp.avail, 6 + 2ULL * tmp.num) ||
            !standin_user_range_ok(tmp.used, standin_vq_used_size(&tmp)) ||
            ((a.flags & (1u << VHOST_VRING_F_LOG)) &&
             !standin_log_access_ok(r->dev->log_base, a.log_guest_addr,
                                    standin_vq_used_size(&tmp)))) {
            return -EINVAL;
        }
    }
    vq->log_used = a.flags & (1u << VHOST_VRING_F_LOG);
    vq->desc = a.desc_user_addr;
    vq->avail = a.avail_user_addr;
    vq->used = a.used_user_addr;
    vq->log_addr = a.log_guest_addr;
    return 0;
}

static long vring_set_base(StandinReq *r, StandinVring *vq)
{
    struct vhost_vring_state s;

    if (vq->backend_fd >= 0) {
        return -EBUSY;
    }
    if (standin_arg_read(r, &s, sizeof(s)) < 0) {
        return -EFAULT;
    }
    standin_detail(r, "num=%u", s.num);
    if (s.num > 0xffff) {
        return -EINVAL;
    }
    vq->last_avail_idx = vq->avail_idx = s.num;
    return 0;
}

static long vring_get_base(StandinReq *r, StandinVring *vq, unsigned idx)
{
    struct vhost_vring_state s = { .index = idx, .num = vq->last_avail_idx };

    standin_detail(r, "num=%u", s.num);
    return standin_arg_write(r, &s, sizeof(s));
}

/* SET_VRING_KICK / CALL / ERR: an eventfd or -1 (unbind). */
static long vring_set_file(StandinReq *r, int *slot)
{
    struct vhost_vring_file f;
    int ours = -1;

    if (standin_arg_read(r, &f, sizeof(f)) < 0) {
        return -EFAULT;
    }
    standin_detail(r, "fd=%d", f.fd);
    if (f.fd != VHOST_FILE_UNBIND) {
        ours = standin_get_eventfd(r, f.fd);
        if (ours < 0) {
            return ours;
        }
    }
    standin_detail(r, "(%s)", ours >= 0 ? "eventfd" : "unbind");
    standin_replace_fd(slot, ours);
    standin_worker_kick(r->dev);
    return 0;
}

static long vring_busyloop(StandinReq *r, StandinVring *vq, unsigned idx,
                           bool set)
{
    struct vhost_vring_state s = { .index = idx };

    if (!set) {
        s.num = vq->busyloop_timeout;
        return standin_arg_write(r, &s, sizeof(s));
    }
    if (standin_arg_read(r, &s, sizeof(s)) < 0) {
        return -EFAULT;
    }
    vq->busyloop_timeout = s.num;
    return 0;
}

long standin_vring_ioctl(StandinReq *r)
{
    uint32_t idx;
    StandinVring *vq;

    if (standin_arg_read(r, &idx, sizeof(idx)) < 0) {
        return -EFAULT;
    }
    standin_detail(r, "index=%u", idx);
    if (idx >= STANDIN_NVQS) {
        return -ENOBUFS;
    }
    vq = &r->dev->vq[idx];
    switch (r->cmd) {
    case VHOST_SET_VRING_NUM:
        return vring_set_num(r, vq);
    case VHOST_SET_VRING_ADDR:
        return vring_set_addr(r, vq);
    case VHOST_SET_VRING_BASE:
        return vring_set_base(r, vq);
    case VHOST_GET_VRING_BASE:
        return vring_get_base(r, vq, idx);
    case VHOST_SET_VRING_KICK:
        return vring_set_file(r, &vq->kick_fd);
    case VHOST_SET_VRING_CALL:
        return vring_set_file(r, &vq->call_fd);
    case VHOST_SET_VRING_ERR:
        return vring_set_file(r, &vq->err_fd);
    case VHOST_SET_VRING_BUSYLOOP_TIMEOUT:
        return vring_busyloop(r, vq, idx, true);
    case VHOST_GET_VRING_BUSYLOOP_TIMEOUT:
        return vring_busyloop(r, vq, idx, false);
    default:
        /* Includes SET/GET_VRING_ENDIAN: a little-endian build without
         * CONFIG_VHOST_CROSS_ENDIAN_LEGACY answers ENOIOCTLCMD. */
        return -ENOIOCTLCMD;
    }
}

