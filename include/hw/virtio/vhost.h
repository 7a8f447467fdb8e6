/* SPDX-License-Identifier: MIT */
/*
 * The generic vhost core: one struct vhost_dev per backend connection
 * (a multiqueue net device has one per queue pair).  It follows guest
 * memory through a MemoryListener, starts and stops vrings, forwards
 * config access, tracks inflight I/O and owns the dirty log — all through
 * dev->vhost_ops, never knowing which backend it drives.
 *
 * Memory listener: `begin` starts a fresh region list; `region_add` and
 * `region_nop` keep the writable RAM sections the backend can use (only
 * fd-backed ones if ops->needs_fd_memory) and merge a section into the
 * previous region when both are contiguous in guest-physical and
 * host-virtual space (and, for a backend that needs fd memory, are one
 * mapping of one fd: same fd, contiguous offsets); `commit` compares the
 * list with the table in force (vhost_region_equal) and only if it
 * changed, and only while the device is started, checks it against
 * memslots_limit, sends it (set_mem_table) and re-verifies that every
 * started ring still lies inside one region (a ring that moved host-side
 * gets its address re-sent; one that left is reported and marked
 * `unmapped`).  These rules are decided here only: a backend answers the
 * capability questions of VhostOps and receives tables that obey them.
 * Implemented in hw/virtio/vhost-mem.c; the dirty log in
 * hw/virtio/vhost-log.c.
 *
 * Dirty log and migration — one switch, one question.  The memory
 * listener's log_global_start/stop is the only thing that turns a
 * vhost_dev's log on and off for migration.  migration/ram.c starts
 * global logging on the guest's address space before it calls the savevm
 * setup hooks, and stops it before the cleanup hooks, so the log is on
 * before any device hook runs and off before a device restarts after a
 * failed migration; a listener registered while logging is on (a backend
 * that connects during migration) is started by the memory API on
 * registration.  With a worker (dev->worker) the listener queues the
 * switch there (it must not wait inside the memory API) and the device's
 * migration setup hook, run on the same worker after it, asks
 * vhost_dev_log_check how it went.  Whether the backend can log at all
 * (ops->log_blocker) is asked in one function (vhost-log.c) each time
 * logging is enabled; for migration a refusal fails `migrate` with "ID:
 * REASON; migration is not possible" (for a backend that connects during
 * migration it is only a warning).  While the log is on, the listener's
 * log_sync moves its bits into the RAM regions' dirty bitmaps
 * (memory_region_set_dirty).
 *
 * Memory table: the listener collects the table on every commit; on a
 * started device (or one with a worker, where a start may be under way)
 * the send is queued on the worker, which sends the table in force when
 * it runs (a copy: a later commit may replace dev->regions while the
 * backend is asked).
 *
 * Life cycle (device side):
 *   vhost_dev_init → [connected] → vhost_dev_enable_notifiers →
 *   transport guest notifiers → vhost_dev_start → ... → vhost_dev_stop →
 *   vhost_dev_disable_notifiers → vhost_dev_cleanup.
 * All calls run with the machine lock held; with a worker, every call
 * that talks to the backend runs on it (include/hw/virtio/vhost-worker.h),
 * vhost_dev_cleanup included.
 */
#ifndef HW_VIRTIO_VHOST_H
#define HW_VIRTIO_VHOST_H

#include "hw/virtio/vhost-backend.h"
#include "hw/virtio/vhost-worker.h"
#include "hw/virtio/virtio.h"

#define VHOST_LOG_PAGE   4096ULL
#define VHOST_LOG_BITS   64          /* bits per log chunk */
#define VHOST_LOG_CHUNK  (VHOST_LOG_PAGE * VHOST_LOG_BITS)

/* Terminates the feature-bit lists of vhost_get_features and
 * vhost_ack_features. */
#ifndef VHOST_INVALID_FEATURE_BIT
#define VHOST_INVALID_FEATURE_BIT 0xff
#endif

/* Listener priority: after KVM (10), so KVM slots exist before a backend
 * is told about the memory. */
#define VHOST_LISTENER_PRIORITY 20

/* The dirty log: one bit per 4 KiB guest-physical page, in 64-bit chunks,
 * in shared memory when the backend requires it.  Bit b of chunk c is the
 * page at (c * 64 + b) * 4 KiB; backends set bits with atomic OR. */
struct vhost_log {
    uint64_t size;              /* number of 64-bit chunks */
    uint64_t *log;
    int fd;                     /* memfd, -1 for private memory */
};

struct vhost_virtqueue {
    unsigned index;             /* device-global queue index */
    uint16_t num;
    hwaddr desc_phys, avail_phys, used_phys;
    void *desc, *avail, *used;  /* host mappings, checked against regions */
    hwaddr desc_size, avail_size, used_size;
    int kick_fd;                /* last fd sent, -1 if none */
    int call_fd;
    bool started;
    /* A memory change moved a started ring out of the table: an error
     * was reported and the backend keeps the old addresses until a later
     * change brings the ring back (its address is re-sent then) or the
     * device is restarted (start re-verifies). */
    bool unmapped;
};

/* The device's hook for backend-initiated config changes. */
/* Called once a config change has been taken in. */
typedef void VhostConfigDoneFn(struct vhost_dev *dev, void *opaque);

typedef struct VhostDevConfigOps {
    /* The backend says the config changed: re-read it (where the backend
     * may be talked to: the device's worker), then call done(dev,
     * opaque) if done is not NULL. */
    void (*config_notifier)(struct vhost_dev *dev, VhostConfigDoneFn *done,
                            void *opaque);
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
    uint64_t mem_table_sends;   /* counter: how many tables were sent */
    /* Tables are collected on every commit but sent only while started
     * (and once by vhost_dev_start), and only when they changed. */

    struct vhost_virtqueue *vqs;
    unsigned nvqs;
    unsigned vq_index;          /* first device queue this dev owns */
    unsigned vq_index_end;      /* one past the last queue of the device */

    uint64_t features;          /* offered by the backend */
    uint64_t acked_features;    /* negotiated with the guest */
    uint64_t backend_features;  /* extra bits the frontend adds */

    bool started;
    bool log_enabled;
    struct vhost_log *log;
    /* Why the dirty log could not be enabled for migration (the switch
     * runs on the worker; vhost_dev_log_check hands it on), or NULL. */
    Error *log_error;

    VhostInflight inflight;

    const VhostOps *vhost_ops;
    void *opaque;               /* backend state */
    const VhostDevConfigOps *config_ops;
    void *config_opaque;        /* for config_ops: the device */
    /* The thread that talks to the backend (set by the connection; NULL
     * in tests that drive the core directly).  The memory listener
     * posts what needs the backend to it instead of talking itself. */
    VhostWorker *worker;
};

/* Do a and b describe the same region (every field, the fd included)?
 * The one equality the core's table comparison and a backend's
 * incremental update (vhost-user CONFIGURE_MEM_SLOTS) both use. */
bool vhost_region_equal(const VhostMemoryRegion *a,
                        const VhostMemoryRegion *b);

/* Memory hotplug asks before it maps anything: would dev's memory table
 * still fit the backend's slot limit (memslots_limit) if section s (a
 * terminal RAM region at its future guest address) were mapped too?  A
 * dry run of the listener on the table collected last (dev->regions,
 * kept up to date whether or not dev is started): s is put in address
 * order and merged with its neighbours exactly where the listener would
 * merge it, so a plug that merges keeps the count.  Nothing is sent or
 * changed.  True for a dev without a backend (not connected) and for a
 * section the backend would not take (filtered); false with errp
 * "ID: guest memory would need N regions, the backend accepts at most M".
 * Machine lock held. */
bool vhost_dev_can_add_region(struct vhost_dev *dev,
                              const MemoryRegionSection *s, Error **errp);

/* Connect dev to a backend (backend_init, set_owner, get_features into
 * dev->features) and register the memory listener on as (the guest's
 * memory; NULL: none).  nvqs/vq_index set by the caller beforehand.
 * Fails if the current memory needs more regions than memslots_limit.
 * On failure dev is cleaned up already; errp names dev->id. */
bool vhost_dev_init(struct vhost_dev *dev, void *opaque,
                    const VhostOps *ops, AddressSpace *as, Error **errp);
/* Undo init; safe twice and after a failed init.  Keeps the fields the
 * caller set (nvqs, vq_index, vq_index_end, id, config_ops, acked and
 * backend features) so init can run again.  Sends nothing to the
 * backend, even if dev is still started (stop it first). */
void vhost_dev_cleanup(struct vhost_dev *dev);

/* Kick path: bind the host notifier of queues [vq_index, vq_index+nvqs)
 * through vdev->transport, in one memory transaction on vdev->dma_as;
 * on failure the ones bound are unbound again.  disable: the reverse. */
bool vhost_dev_enable_notifiers(struct vhost_dev *dev, VirtIODevice *vdev,
                                Error **errp);
void vhost_dev_disable_notifiers(struct vhost_dev *dev, VirtIODevice *vdev);

/* features (acked | backend, + LOG_ALL when logging), mem table, log base
 * (when logging), each vring (num, base = VirtQueue.last_avail_idx, addr,
 * kick, call: the guest notifier), enable (if vrings), status
 * (dev_start).  Queues the driver did not set up (num or desc 0) are
 * skipped; rings must lie inside the table.  On failure everything
 * started is stopped again and errp says "ID: queue N: ..." where it
 * applies. */
bool vhost_dev_start(struct vhost_dev *dev, VirtIODevice *vdev, bool vrings,
                     Error **errp);
/* dev_start(false), disable (if vrings), GET_VRING_BASE per ring, saved
 * into VirtQueue.last_avail_idx and used_idx.  Never fails: errors are
 * reported, and a ring whose base cannot be read continues from the used
 * index in guest memory (the backend is gone; in-flight requests are
 * resubmitted).  No-op if not started. */
void vhost_dev_stop(struct vhost_dev *dev, VirtIODevice *vdev, bool vrings);

/* Enable or disable every ring of a started dev (the device decides
 * which of its vhost_devs carry traffic, e.g. net queue pairs the driver
 * turned off with VQ_PAIRS_SET).  True without a set_vring_enable op. */
bool vhost_dev_set_vring_enable(struct vhost_dev *dev, bool enable,
                                Error **errp);

/* Features: keep only the bits of `bits` the backend offers. */
uint64_t vhost_get_features(struct vhost_dev *dev, const int *bits,
                            uint64_t features);
/* Record the bits of `bits` the guest acked. */
void vhost_ack_features(struct vhost_dev *dev, const int *bits,
                        uint64_t features);

/* Config space: forwarded to the backend; an error if it has no config
 * ops. */
bool vhost_dev_get_config(struct vhost_dev *dev, uint8_t *config,
                          uint32_t len, Error **errp);
bool vhost_dev_set_config(struct vhost_dev *dev, const uint8_t *data,
                          uint32_t offset, uint32_t size, uint32_t flags,
                          Error **errp);

/* Backends call this when the device config changed on their side;
 * done(dev, opaque) (may be NULL) follows once the device took the change
 * in — later, from the device's worker, or at once without a notifier. */
void vhost_dev_config_changed(struct vhost_dev *dev, VhostConfigDoneFn *done,
                              void *opaque);

/* Inflight region: fetch from the backend (once: a no-op if inflight is
 * mapped already, or if the backend has no get_inflight_fd) and hand back
 * on start (a no-op when nothing is mapped).  free: munmap and close;
 * safe twice, needs fd = -1 when nothing was fetched.  The caller owns
 * *inflight. */
bool vhost_dev_get_inflight(struct vhost_dev *dev, uint16_t queue_size,
                            VhostInflight *inflight, Error **errp);
bool vhost_dev_set_inflight(struct vhost_dev *dev,
                            const VhostInflight *inflight, Error **errp);
void vhost_dev_free_inflight(VhostInflight *inflight);

/* --- dirty log (allocated and synced for real by migration) --- */

/* Chunks needed to cover every region of the table. */
uint64_t vhost_get_log_size(const struct vhost_dev *dev);
/* A zeroed log of size chunks (at least one), shared (memfd with
 * MFD_CLOEXEC, mapped MAP_SHARED) if share, else private memory; the
 * caller owns it.  free unmaps, closes and frees it (NULL-safe). */
struct vhost_log *vhost_log_alloc(uint64_t size, bool share, Error **errp);
void vhost_log_free(struct vhost_log *log);
/* Walk pages [first_page, first_page + npages) of log (clipped to its
 * size): zero chunks are skipped with a plain read, non-zero ones
 * fetched-and-cleared atomically (at the range edges only the bits inside
 * the range); for every set bit mark(page * 4 KiB, opaque) is called.
 * Returns pages found.  log may be NULL. */
uint64_t vhost_log_sync_range(struct vhost_log *log, uint64_t first_page,
                              uint64_t npages,
                              void (*mark)(uint64_t gpa, void *opaque),
                              void *opaque);
/* Start/stop dev's dirty log by hand (tests).  Migration does not call
 * this: the memory listener switches the log (see "Dirty log and
 * migration" above), through the same code.  On a started device: enable
 * allocates a log of vhost_get_log_size() chunks (shared if
 * ops->requires_shm_log), sends it (set_log_base), sets LOG_ALL and
 * re-sends each started ring's address with VHOST_VRING_F_LOG and
 * log_guest_addr = the used ring; disable re-sends without them and frees
 * the log.  On a stopped device only log_enabled changes (start sets the
 * log up).  Enabling fails with errp "ID: cannot log dirty memory: REASON"
 * if ops->log_blocker gives one.  Idempotent.  The log is kept across
 * stop while enabled and grows with memory (new log sent, old bits
 * carried over). */
bool vhost_dev_set_log(struct vhost_dev *dev, bool enable, Error **errp);

/* Migration setup, on the worker (so after the listener's switch, which
 * was queued before): false with the reason if the dirty log could not
 * be enabled ("ID: REASON; migration is not possible", ...).  The reason
 * is handed on once. */
bool vhost_dev_log_check(struct vhost_dev *dev, Error **errp);

#endif
