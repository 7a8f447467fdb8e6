/* SPDX-License-Identifier: MIT */
/*
 * vhost-standin: a userspace stand-in for /dev/vhost-net, for tests on
 * hosts whose kernel has no vhost modules.  A supervisor runs the VMM
 * under a seccomp filter with a user-notification listener, serves
 * open("/dev/vhost-net") by injecting one end of a socketpair, answers the
 * VHOST_* ioctls on it as Linux 6.1's drivers/vhost/{vhost,net}.c do, and
 * moves frames between the rings and the tap with one worker thread per
 * device, as the kernel's vhost worker does.
 *
 * Threads: the supervisor thread handles notifications and owns the device
 * list; each device's worker processes its rings.  A device's state is
 * guarded by dev->lock (held by an ioctl for its whole duration and by the
 * worker for a whole processing round, which gives the kernel's "flush"
 * semantics: once an ioctl holds the lock, no round is in flight).
 */
#ifndef VHOST_STANDIN_H
#define VHOST_STANDIN_H

#include <glib.h>
#include <linux/seccomp.h>
#include <linux/vhost.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

/* fd numbers injected into the VMM; the filter notifies read/write/... of
 * these only. */
#define STANDIN_FD_MIN 900
#define STANDIN_FD_MAX 999

#define STANDIN_NVQS 2          /* VHOST_NET_VQ_RX = 0, VHOST_NET_VQ_TX = 1 */
#define STANDIN_VQ_RX 0
#define STANDIN_VQ_TX 1
#define STANDIN_MAX_REGIONS 64  /* vhost's max_mem_regions default */

/* Linux 6.1 vhost-net's VHOST_NET_FEATURES minus ACCESS_PLATFORM (no
 * device IOTLB here; see README.md). */
#define STANDIN_FEATURES                                                   \
    ((1ULL << 24) /* VIRTIO_F_NOTIFY_ON_EMPTY */ |                          \
     (1ULL << 28) /* VIRTIO_RING_F_INDIRECT_DESC */ |                       \
     (1ULL << 29) /* VIRTIO_RING_F_EVENT_IDX */ |                           \
     (1ULL << 26) /* VHOST_F_LOG_ALL */ |                                   \
     (1ULL << 27) /* VIRTIO_F_ANY_LAYOUT == VHOST_NET_F_VIRTIO_NET_HDR */ | \
     (1ULL << 32) /* VIRTIO_F_VERSION_1 */ |                                \
     (1ULL << 15) /* VIRTIO_NET_F_MRG_RXBUF */ |                            \
     (1ULL << 40) /* VIRTIO_F_RING_RESET */)
#define STANDIN_BACKEND_FEATURES (1ULL << 0) /* VHOST_BACKEND_F_IOTLB_MSG_V2 */

#define F_NOTIFY_ON_EMPTY 24
#define F_INDIRECT_DESC 28
#define F_EVENT_IDX 29
#define F_LOG_ALL 26
#define F_VNET_HDR 27
#define F_VERSION_1 32
#define F_MRG_RXBUF 15

typedef struct Standin Standin;
typedef struct StandinDevice StandinDevice;

/* One region of the memory table, plus our own view of it. */
typedef struct StandinRegion {
    uint64_t gpa, size, uaddr;
    uint8_t *local;        /* same pages mapped here (shared RAM), or NULL */
    void *map_base;        /* what to munmap */
    size_t map_len;
} StandinRegion;

typedef struct StandinMem {
    bool set;              /* the kernel's dev->umem != NULL */
    unsigned n;
    StandinRegion r[STANDIN_MAX_REGIONS];
} StandinMem;

/* A piece of a buffer in the VMM's address space. */
typedef struct StandinIov {
    uint64_t uaddr;
    size_t len;
} StandinIov;

/* A dirty-log record: guest-physical address and length written. */
typedef struct StandinLog {
    uint64_t gpa;
    uint64_t len;
} StandinLog;

typedef struct StandinVring {
    unsigned num;
    uint64_t desc, avail, used, log_addr;
    bool log_used;
    uint16_t last_avail_idx, avail_idx, last_used_idx;
    uint16_t used_flags, signalled_used;
    bool signalled_used_valid;
    int kick_fd, call_fd, err_fd;   /* -1: none */
    int backend_fd;                 /* tap (or packet socket); -1: none */
    uint32_t busyloop_timeout;
    uint64_t acked_features;
    size_t vhost_hlen, sock_hlen;
} StandinVring;

typedef struct StandinStats {
    uint64_t tx_frames, rx_frames;
    uint64_t tx_send_errors;        /* the tap refused a frame (e.g. down) */
    uint64_t rx_stalls_no_buffers;  /* a frame waited for RX buffers */
    uint64_t rx_dropped_too_big;    /* discarded: did not fit the buffers */
    uint64_t used_writes, log_bits, kicks, calls, errors;
} StandinStats;

struct StandinDevice {
    Standin *sup;
    unsigned id;                  /* devN in the trace */
    int sock;                     /* our end of the socketpair */
    ino_t vmm_ino;                /* inode of the VMM's end */
    pthread_mutex_t lock;
    pid_t owner;                  /* tgid of the owner (the kernel's mm); 0 */
    pid_t mem_pid;                /* whose memory we access (the owner) */
    StandinVring vq[STANDIN_NVQS];
    StandinMem mem;
    uint64_t log_base;
    int log_fd;
    uint64_t backend_features;
    /* worker */
    pthread_t worker;
    bool worker_running, worker_stop, poll_dirty;
    int wake_fd;
    uint8_t *rx_frame;            /* read from the tap, not yet placed */
    size_t rx_frame_len;
    char rx_frame_src[64];        /* the RX queue it came from */
    StandinStats stats;
};

/* An ioctl-failure rule from --fail NAME[@N]=ERRNO. */
typedef struct StandinFail {
    char *name;
    unsigned nth;                 /* 0: every call */
    int err;
} StandinFail;

/* The one supervisor context. */
struct Standin {
    int listener;
    pid_t child;
    int sigfd;
    FILE *trace;
    char *stats_path;
    pthread_mutex_t trace_lock;
    pthread_mutex_t log_lock;     /* serialises dirty-log read-modify-write */
    GPtrArray *devices;           /* live devices */
    GPtrArray *history;           /* every device ever (owns them) */
    unsigned next_dev_id;
    GArray *fails;                /* StandinFail */
    GHashTable *ioctl_counts;     /* name -> count (GUINT_TO_POINTER) */
    struct seccomp_notif_sizes *sizes;
};

/* A notified ioctl in progress. */
typedef struct StandinReq {
    Standin *sup;
    StandinDevice *dev;
    pid_t tid, tgid;
    unsigned long cmd;
    uint64_t arg;
    GString *detail;              /* " key=value" pieces for the trace */
} StandinReq;

/* seccomp.c: fork, filter, exec argv; returns the listener fd. */
int standin_launch(const char *const *argv, pid_t *child, GError **err);

/* supervisor.c */
int standin_run(Standin *s, const char *const *argv);
int standin_pidfd_getfd(pid_t tid, int fd);
pid_t standin_tgid_of(pid_t tid);

/* ioctl.c */
long standin_ioctl(StandinReq *r);
const char *standin_ioctl_name(unsigned long cmd);
void standin_device_reset(StandinDevice *d);
void standin_device_init(StandinDevice *d);

/* chr-write.c: write() of vhost IOTLB messages to the device fd */
long standin_chr_write(StandinDevice *d, const uint8_t *buf, size_t len);

/* mem.c */
int standin_read(StandinDevice *d, uint64_t uaddr, void *buf, size_t len);
int standin_write(StandinDevice *d, uint64_t uaddr, const void *buf,
                  size_t len);
int standin_translate(StandinDevice *d, uint64_t gpa, uint64_t len,
                      StandinIov *iov, int iov_max);
int standin_mem_set(StandinDevice *d, const struct vhost_memory_region *regs,
                    unsigned n);
void standin_mem_clear(StandinMem *m);
int standin_log_write(StandinDevice *d, uint64_t gpa, uint64_t len);
bool standin_log_access_ok(uint64_t log_base, uint64_t addr, uint64_t size);
bool standin_user_range_ok(uint64_t addr, uint64_t size);
int standin_iov_read(StandinDevice *d, const StandinIov *iov, int n,
                     size_t skip, void *buf, size_t len);
int standin_iov_write(StandinDevice *d, const StandinIov *iov, int n,
                      size_t skip, const void *buf, size_t len);

/* vring.c */
#define STANDIN_MAX_IOV 1024      /* UIO_MAXIOV */
typedef struct StandinChain {
    unsigned head;
    int out, in;                  /* counts in iov[] (out first) */
    StandinIov iov[STANDIN_MAX_IOV];
    int nlog;
    StandinLog log[STANDIN_MAX_IOV];
} StandinChain;
int standin_vq_pop(StandinDevice *d, StandinVring *vq, StandinChain *c,
                   bool want_log);
int standin_vq_add_used(StandinDevice *d, StandinVring *vq,
                        const struct vring_used_elem *heads, unsigned n);
void standin_vq_signal(StandinDevice *d, StandinVring *vq);
bool standin_vq_enable_notify(StandinDevice *d, StandinVring *vq);
void standin_vq_disable_notify(StandinDevice *d, StandinVring *vq);
int standin_vq_init_access(StandinDevice *d, StandinVring *vq);
void standin_vq_error(StandinDevice *d, StandinVring *vq, const char *why);
bool standin_vq_has(const StandinVring *vq, unsigned bit);
size_t standin_vq_used_size(const StandinVring *vq);

/* net.c */
int standin_worker_start(StandinDevice *d);
void standin_worker_stop(StandinDevice *d);
void standin_worker_kick(StandinDevice *d);

/* trace.c */
void standin_trace(Standin *s, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
const char *standin_errno_name(int err);
int standin_errno_parse(const char *name);
bool standin_fail_parse(Standin *s, const char *spec);
int standin_fail_check(Standin *s, const char *name, unsigned count);
unsigned standin_count_ioctl(Standin *s, const char *name);
void standin_stats_write(Standin *s);

#endif
