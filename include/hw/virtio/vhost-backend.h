/* SPDX-License-Identifier: MIT */
/*
 * VhostOps: the only way the vhost core (hw/virtio/vhost*.c) talks to a
 * backend: vhost-user (hw/virtio/vhost-user*.c), vhost-kernel
 * (hw/virtio/vhost-kernel.c); vhost-vdpa is to come.  The core never asks which one
 * it has: a backend states capabilities (fd-backed RAM needed, slot
 * limit, shared-memory log, why it cannot log) through these hooks, and
 * the core makes every decision from them (which RAM, which regions
 * merge, whether a table fits, whether migration may log).
 *
 * The table covers queue and memory life cycle only; device-specific
 * requests (NET_SET_MTU, SEND_RARP, GET_QUEUE_NUM) are functions of the
 * backend file that the device calls directly.
 *
 * Every op returns true on success, or false with errp set to a message
 * that names the request ("SET_VRING_ADDR (queue 1): ...").  Optional ops
 * may be NULL; the core then skips the step.  All run with the machine
 * lock held, on the thread that triggered them.
 */
#ifndef HW_VIRTIO_VHOST_BACKEND_H
#define HW_VIRTIO_VHOST_BACKEND_H

#include <stdbool.h>
#include <stdint.h>
#include <linux/vhost.h>

#include "exec/memory.h"

struct vhost_dev;
struct vhost_log;

/* One region of the memory table the core hands a backend.  fd and
 * mmap_offset describe the whole region only for a backend that needs fd
 * memory; for one that takes any RAM a region may span several fds (it
 * was merged on addresses alone) and they are the first piece's. */
typedef struct VhostMemoryRegion {
    uint64_t guest_phys_addr;
    uint64_t memory_size;
    uint64_t userspace_addr;    /* kvmini's host virtual address */
    uint64_t mmap_offset;       /* offset of userspace_addr inside fd */
    int fd;                     /* -1 if not fd-backed */
} VhostMemoryRegion;

/* Inflight I/O tracking region (GET/SET_INFLIGHT_FD). */
typedef struct VhostInflight {
    int fd;                     /* -1 when none */
    void *addr;                 /* mapping of [offset, offset+size) */
    uint64_t size;
    uint64_t offset;
    uint16_t queue_size;
} VhostInflight;

typedef struct VhostOps {
    const char *name;                   /* "vhost-user", for reports */

    /* Connect state to dev (opaque: the backend's own object). */
    bool (*backend_init)(struct vhost_dev *dev, void *opaque, Error **errp);
    /* Release what backend_init made; safe twice. */
    void (*backend_cleanup)(struct vhost_dev *dev);

    /* --- memory --- */
    /* How many regions the backend accepts in its table (NULL: no
     * limit).  The core never hands set_mem_table more. */
    unsigned (*memslots_limit)(struct vhost_dev *dev);
    /* Does the backend map guest memory from fds (vhost-user)?  Then the
     * core gives it only fd-backed RAM, and merges two neighbours only
     * when they are one mapping of one fd (same fd, contiguous offsets).
     * NULL or false (vhost-kernel, vDPA): any writable RAM, merged on
     * guest-physical and host-virtual contiguity alone. */
    bool (*needs_fd_memory)(struct vhost_dev *dev);
    /* Send the whole table (the backend may send only the difference,
     * e.g. ADD/REM_MEM_REG with CONFIGURE_MEM_SLOTS).  The core made it:
     * at most memslots_limit regions, each with an fd when
     * needs_fd_memory says so. */
    bool (*set_mem_table)(struct vhost_dev *dev,
                          const VhostMemoryRegion *regions, unsigned n,
                          Error **errp);
    /* Ring addresses as the backend understands them: host virtual for
     * vhost-user and vhost-kernel, guest physical for vDPA. */
    bool (*vq_get_addr)(struct vhost_dev *dev, struct vhost_vring_addr *addr,
                        hwaddr desc, hwaddr avail, hwaddr used,
                        void *desc_hva, void *avail_hva, void *used_hva);

    /* --- features and ownership --- */
    bool (*get_features)(struct vhost_dev *dev, uint64_t *features,
                         Error **errp);
    bool (*set_features)(struct vhost_dev *dev, uint64_t features,
                         Error **errp);
    bool (*set_owner)(struct vhost_dev *dev, Error **errp);

    /* --- vrings; index is the device-global queue index --- */
    bool (*set_vring_num)(struct vhost_dev *dev, struct vhost_vring_state *s,
                          Error **errp);
    bool (*set_vring_base)(struct vhost_dev *dev, struct vhost_vring_state *s,
                           Error **errp);
    /* The next avail index the ring would process.  vhost-user stops the
     * ring here; the kernel only reports (dev_start(false), which comes
     * first, stopped it). */
    bool (*get_vring_base)(struct vhost_dev *dev, struct vhost_vring_state *s,
                           Error **errp);
    bool (*set_vring_addr)(struct vhost_dev *dev, struct vhost_vring_addr *a,
                           Error **errp);
    bool (*set_vring_kick)(struct vhost_dev *dev, struct vhost_vring_file *f,
                           Error **errp);
    bool (*set_vring_call)(struct vhost_dev *dev, struct vhost_vring_file *f,
                           Error **errp);
    bool (*set_vring_err)(struct vhost_dev *dev, struct vhost_vring_file *f,
                          Error **errp);
    /* Enable/disable every ring of dev. */
    bool (*set_vring_enable)(struct vhost_dev *dev, bool enable,
                             Error **errp);
    /* Map the device's queue index to the backend's. */
    int (*get_vq_index)(struct vhost_dev *dev, int idx);
    /* The backend starts / stops processing, after every ring is set up
     * and before any GET_VRING_BASE: SET_STATUS(DRIVER_OK / 0) for
     * vhost-user, NET_SET_BACKEND(tap / -1) for vhost-kernel. */
    bool (*dev_start)(struct vhost_dev *dev, bool started, Error **errp);

    /* --- config space --- */
    bool (*get_config)(struct vhost_dev *dev, uint8_t *config,
                       uint32_t len, Error **errp);
    bool (*set_config)(struct vhost_dev *dev, const uint8_t *data,
                       uint32_t offset, uint32_t size, uint32_t flags,
                       Error **errp);

    /* --- inflight tracking --- */
    bool (*get_inflight_fd)(struct vhost_dev *dev, uint16_t queue_size,
                            VhostInflight *inflight, Error **errp);
    bool (*set_inflight_fd)(struct vhost_dev *dev,
                            const VhostInflight *inflight, Error **errp);

    /* --- dirty log --- */
    /* Does the log have to be shared memory (an fd sent to the backend)? */
    bool (*requires_shm_log)(struct vhost_dev *dev);
    /* Why migration cannot log with this backend, or NULL if it can. */
    const char *(*log_blocker)(struct vhost_dev *dev);
    bool (*set_log_base)(struct vhost_dev *dev, struct vhost_log *log,
                         Error **errp);
} VhostOps;

#endif
