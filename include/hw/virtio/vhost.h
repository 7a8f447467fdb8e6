/* SPDX-License-Identifier: MIT */
/*
 * The generic vhost core: one struct vhost_dev per backend connection
 * (a multiqueue net device has one per queue pair).  It follows guest
 * memory through a MemoryListener, starts and stops vrings, masks guest
 * notifiers, forwards config access, tracks inflight I/O and owns the
 * dirty log — all through dev->vhost_ops, never knowing which backend it
 * drives.
 *
 * Memory listener: `begin` starts a fresh region list; `region_add` and
 * `region_nop` keep the RAM sections the backend accepts
 * (mem_section_filter) and merge a section into the previous region when
 * both are contiguous in guest-physical and host-virtual space and
 * can_merge agrees; `commit` compares the list with the table in force and
 * only if it changed checks it against memslots_limit, sends it
 * (set_mem_table) and re-verifies that every started ring still lies
 * inside one region.
 *
 * Life cycle (device side):
 *   vhost_dev_init → [connected] → vhost_dev_enable_notifiers →
 *   transport guest notifiers → vhost_dev_start → ... → vhost_dev_stop →
 *   vhost_dev_disable_notifiers → vhost_dev_cleanup.
 * All calls run with the machine lock held.
 */
#ifndef HW_VIRTIO_VHOST_H
#define HW_VIRTIO_VHOST_H

#include "hw/virtio/vhost-backend.h"
#include "hw/virtio/virtio.h"

#define VHOST_LOG_PAGE   4096ULL
#define VHOST_LOG_BITS   64          /* bits per log chunk */
#define VHOST_LOG_CHUNK  (VHOST_LOG_PAGE * VHOST_LOG_BITS)

/* The dirty log: one bit per 4 KiB guest-physical page, in 64-bit chunks,
 * in shared memory when the backend requires it. */
struct vhost_log {
    uint64_t size;              /* number of 64-bit chunks */
    uint64_t *log;
    int fd;                     /* memfd, -1 for private memory */
    unsigned refcnt;
};

struct vhost_virtqueue {
    struct vhost_dev *dev;
    unsigned index;             /* device-global queue index */
    uint16_t num;
    hwaddr desc_phys, avail_phys, used_phys;
    void *desc, *avail, *used;  /* host mappings, checked against regions */
    hwaddr desc_size, avail_size, used_size;
    int kick_fd;                /* last fd sent, -1 if none */
    int call_fd;
    /* Guest-notifier masking: while masked, the backend signals this
     * private notifier instead of the irqfd; unmasking re-checks it. */
    EventNotifier masked_notifier;
    bool masked;
    bool started;
};

/* The device's hook for backend-initiated config changes. */
typedef struct VhostDevConfigOps {
    void (*config_notifier)(struct vhost_dev *dev);
} VhostDevConfigOps;

struct vhost_dev {
    VirtIODevice *vdev;
    const char *id;             /* for messages: the device id */
    MemoryListener memory_listener;
    bool listener_registered;

    /* Regions being collected between begin and commit, and in force. */
    VhostMemoryRegion *tmp_regions;
    unsigned n_tmp_regions;
    VhostMemoryRegion *regions;
    unsigned n_regions;
    bool mem_changed;           /* table sent at least once since start */
    uint64_t mem_table_sends;   /* counter: how many tables were sent */

    struct vhost_virtqueue *vqs;
    unsigned nvqs;
    unsigned vq_index;          /* first device queue this dev owns */
    unsigned vq_index_end;      /* one past the last queue of the device */

    uint64_t features;          /* offered by the backend */
    uint64_t acked_features;    /* negotiated with the guest */
    uint64_t backend_features;  /* extra bits the frontend adds */
    uint64_t protocol_features; /* vhost-user protocol features */
    uint64_t max_queues;

    bool started;
    bool log_enabled;
    struct vhost_log *log;
    uint64_t log_size;          /* chunks needed for current memory */

    VhostInflight inflight;

    const VhostOps *vhost_ops;
    void *opaque;               /* backend state */
    const VhostDevConfigOps *config_ops;
};

/* Connect dev to a backend and negotiate features; registers the memory
 * listener on as (the guest's memory).  nvqs/vq_index set by the caller
 * beforehand. */
bool vhost_dev_init(struct vhost_dev *dev, void *opaque,
                    const VhostOps *ops, AddressSpace *as, Error **errp);
/* Undo init; safe twice and after a failed init. */
void vhost_dev_cleanup(struct vhost_dev *dev);

/* Kick path: bind each queue's host notifier as ioeventfd. */
bool vhost_dev_enable_notifiers(struct vhost_dev *dev, VirtIODevice *vdev,
                                Error **errp);
void vhost_dev_disable_notifiers(struct vhost_dev *dev, VirtIODevice *vdev);

/* features, mem table, each vring (num, base, addr, kick, call), enable,
 * status.  On failure everything started is stopped again. */
bool vhost_dev_start(struct vhost_dev *dev, VirtIODevice *vdev, bool vrings,
                     Error **errp);
/* GET_VRING_BASE per ring (saved into the VirtQueue), drop notifiers. */
void vhost_dev_stop(struct vhost_dev *dev, VirtIODevice *vdev, bool vrings);

/* Features: keep only the bits of `bits` the backend offers. */
uint64_t vhost_get_features(struct vhost_dev *dev, const int *bits,
                            uint64_t features);
/* Record the bits of `bits` the guest acked. */
void vhost_ack_features(struct vhost_dev *dev, const int *bits,
                        uint64_t features);

/* Mask/unmask a queue's guest notifier; pending is true if the backend
 * signalled while masked. */
void vhost_virtqueue_mask(struct vhost_dev *dev, VirtIODevice *vdev,
                          unsigned n, bool mask);
bool vhost_virtqueue_pending(struct vhost_dev *dev, unsigned n);

/* Config space. */
bool vhost_dev_get_config(struct vhost_dev *dev, uint8_t *config,
                          uint32_t len, Error **errp);
bool vhost_dev_set_config(struct vhost_dev *dev, const uint8_t *data,
                          uint32_t offset, uint32_t size, uint32_t flags,
                          Error **errp);

/* Backends call this when the device config changed on their side. */
void vhost_dev_config_changed(struct vhost_dev *dev);

/* Inflight region: fetch from the backend (once) and hand back on start. */
bool vhost_dev_get_inflight(struct vhost_dev *dev, uint16_t queue_size,
                            VhostInflight *inflight, Error **errp);
bool vhost_dev_set_inflight(struct vhost_dev *dev,
                            const VhostInflight *inflight, Error **errp);
void vhost_dev_free_inflight(VhostInflight *inflight);

/* --- dirty log (allocated and synced for real by migration) --- */

/* Chunks needed to cover every region of the table. */
uint64_t vhost_get_log_size(const struct vhost_dev *dev);
/* A log of size chunks, shared (memfd) if share. */
struct vhost_log *vhost_log_alloc(uint64_t size, bool share, Error **errp);
void vhost_log_free(struct vhost_log *log);
/* Walk [start_chunk, end_chunk) of log: zero chunks are skipped with a
 * plain read, non-zero ones fetched-and-cleared atomically; for every set
 * bit mark(page_address, opaque) is called.  Returns pages found. */
uint64_t vhost_log_sync_range(struct vhost_log *log, uint64_t first_page,
                              uint64_t npages,
                              void (*mark)(uint64_t gpa, void *opaque),
                              void *opaque);
/* Start/stop logging on a started device (LOG_ALL + vring log flag). */
bool vhost_dev_set_log(struct vhost_dev *dev, bool enable, Error **errp);

#endif
