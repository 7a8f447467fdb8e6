/* SPDX-License-Identifier: MIT */
/*
 * What the ioctl files (ioctl.c, ioctl-net.c, ioctl-vring.c) share: the
 * argument copies, the trace details, fd intake.  All run in the
 * supervisor thread with the device's lock held.
 */
#ifndef VHOST_STANDIN_IOCTL_INT_H
#define VHOST_STANDIN_IOCTL_INT_H

#include "standin.h"

#define ENOIOCTLCMD 515         /* kernel-internal; becomes ENOTTY */

/* Copy the ioctl's argument from / to the caller: 0 or -EFAULT. */
int standin_arg_read(StandinReq *r, void *buf, size_t len);
int standin_arg_write(StandinReq *r, const void *buf, size_t len);
/* Append " key=value..." to the request's trace line. */
void standin_detail(StandinReq *r, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
/* The caller is the device's owner (the kernel compares the mm). */
bool standin_is_owner(StandinReq *r);
/* Our copy of the caller's eventfd fd: -EBADF, -EINVAL (not an eventfd). */
int standin_get_eventfd(StandinReq *r, int fd);
/* Close what *slot holds (if anything) and store fd there. */
void standin_replace_fd(int *slot, int fd);
/* vq_log_access_ok(): the log at log_base covers what this ring logs. */
bool standin_vq_log_access_ok(StandinDevice *d, StandinVring *vq,
                              uint64_t log_base);

long standin_ioctl_net_set_backend(StandinReq *r);
long standin_vring_ioctl(StandinReq *r);

#endif
