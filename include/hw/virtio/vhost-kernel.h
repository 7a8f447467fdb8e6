/* SPDX-License-Identifier: MIT */
/*
 * vhost-kernel: the kernel's vhost devices (/dev/vhost-net) as a vhost
 * backend.  Each struct vhost_dev of a device gets one open vhost file of
 * its own (for net: one per queue pair, rings 0 = RX and 1 = TX), and
 * VhostOps become ioctls on it (linux/vhost.h):
 *
 *   init      SET_OWNER, GET_FEATURES
 *   start     SET_FEATURES, SET_MEM_TABLE (struct vhost_memory: host
 *             virtual addresses, no fds: any RAM, shared or private),
 *             [SET_LOG_BASE], per ring SET_VRING_NUM/BASE/ADDR/KICK/CALL,
 *             then dev_start attaches the data backend (NET_SET_BACKEND
 *             with the tap queue's fd, per ring)
 *   stop      dev_start(false) detaches it first (NET_SET_BACKEND -1: in
 *             the kernel that is what stops a ring), then GET_VRING_BASE,
 *             which only reports where the ring stands
 *   cleanup   RESET_OWNER: the file stays open (a management tool may
 *             have handed it over with vhostfd=) and can be owned again
 *
 * The memory table holds at most the kernel's max_mem_regions
 * (/sys/module/vhost/parameters/max_mem_regions, 64 when unreadable).
 * The dirty log is a user address in kvmini's memory (no memfd), set
 * with SET_LOG_BASE; the kernel sets its bits with atomic ORs.
 * SET_VRING_ENDIAN is never sent: kvmini's devices are VIRTIO 1.x,
 * little-endian, as the host.  Every failure names the ioctl, the queue
 * and errno ("VHOST_SET_VRING_ADDR (queue 1): Bad address") and leaves
 * the VMM running: the device does not start, the guest sees a stalled
 * ring rather than a dead VMM.
 *
 * A connection (include/hw/virtio/vhost-conn.h) is made from already
 * opened fds; it never reconnects (a kernel device does not go away).
 * The kernel's vhost-net has no per-ring enable: the connection's owner
 * does it on the data backend (a multiqueue tap: TUNSETQUEUE).
 */
#ifndef HW_VIRTIO_VHOST_KERNEL_H
#define HW_VIRTIO_VHOST_KERNEL_H

#include "hw/virtio/vhost-conn.h"

/* The default node, and the slot limit when the module does not say. */
#define VHOST_NET_PATH          "/dev/vhost-net"
#define VHOST_KERNEL_MEMSLOTS   64

extern const VhostOps vhost_kernel_ops;

/* Ring enable for vhost_dev i, which the kernel does not have: the data
 * backend does it (a multiqueue tap attaches or detaches queue i). */
typedef bool VhostKernelEnableFn(void *opaque, unsigned i, bool on,
                                 Error **errp);

/*
 * A connection over n vhost files: vhostfds[i] serves vhost_dev i (the
 * one whose queues start at i * nvqs) and is owned by the connection from
 * here on (closed when it is freed); on start its rings are attached to
 * backend_fds[i] (a tap queue; the caller keeps it open longer than the
 * connection).  enable (NULL: rings are always on) with opaque.  name:
 * what x-query-vhost shows (the netdev id).
 */
VhostConn *vhost_kernel_conn_new(const char *name, const int *vhostfds,
                                 const int *backend_fds, unsigned n,
                                 VhostKernelEnableFn *enable, void *opaque,
                                 GMutex *lock);

/* Open path (VHOST_NET_PATH) for a new vhost device, O_CLOEXEC; -1 with
 * "could not open PATH: REASON". */
int vhost_kernel_open(const char *path, Error **errp);

/* The slot limit the kernel module states (or VHOST_KERNEL_MEMSLOTS). */
unsigned vhost_kernel_memslots(void);

#endif
