/* SPDX-License-Identifier: MIT */
/*
 * What the files of the fuzz-vhost-user target share: the harness
 * (fuzz-vhost-user.c: the machine, the device, the actions, the device's
 * checks, the recovery), the backend side (fuzz-vhost-user-peer.c: the
 * sockets, the messages an input makes a backend say, the checks of what
 * the frontend sends, a well-behaved backend), the checks outside the
 * device (fuzz-vhost-user-oracle.c: kvmini's log, fds, the main loop) —
 * all a libFuzzer build needs — and the standalone campaign
 * (fuzz-vhost-user-seeds.c: seeds recorded from that well-behaved
 * backend, a mutator, main()).
 *
 * An input is a configuration byte, then operations whose first byte
 * (modulo OP_COUNT) picks one:
 *   OP_MAIN  a message on the vhost-user socket, as the backend writes it:
 *            the 12-byte header (request, flags, size: any values), a
 *            16-bit count and that many payload bytes (which need not be
 *            what the header says: cut short or too long), an fd byte;
 *   OP_CHAN  the same on the backend channel (SET_BACKEND_REQ_FD), once
 *            the frontend has handed one over;
 *   OP_ACT   an action byte (ACT_*) and its arguments: what the guest
 *            driver, migration, the main loop or the backend does next.
 * The device is created (and the backend's first answers read) right
 * before the first action, or at the end if there is none.
 */
#ifndef TESTS_FUZZ_FUZZ_VHOST_USER_H
#define TESTS_FUZZ_FUZZ_VHOST_USER_H

#include "fuzz-common.h"
#include "fuzz-machine.h"
#include "hw/virtio/vhost-user.h"

enum { OP_MAIN, OP_CHAN, OP_ACT, OP_COUNT };

/* The configuration byte: the device model (bits 0-1), tear the machine
 * down with the backend still attached before the recovery (bit 2), the
 * protocol features of the recovery's well-behaved backend (bits 3-4). */
enum { FVU_BLK, FVU_BLK_MQ, FVU_NET, FVU_DEV, FVU_MODELS };
#define FVU_CFG_MODEL(c)        ((c) & 3)
#define FVU_CFG_TEARDOWN        0x04
#define FVU_CFG_GOOD(c)         (((c) >> 3) & 3)
#define FVU_GOOD_VARIANTS       4

enum {
    ACT_DRIVER_OK,      /* u8 queues (sizes, skipped), u64 features dropped */
    ACT_RESET,          /* the driver writes status 0 */
    ACT_CONFIG,         /* u8 offset, u8 value: a config-space write */
    ACT_MIG_SETUP,      /* migration starts: dirty log on (SET_LOG_BASE) */
    ACT_LOG_SYNC,       /* u8: the backend fills its log so; it is synced */
    ACT_MIG_STOP,       /* the VM stops for the last pass */
    ACT_MIG_CANCEL,     /* the migration failed: log off, VM runs again */
    ACT_MEM,            /* a RAM region is plugged, or unplugged */
    ACT_ANNOUNCE,       /* net: announce after migration (SEND_RARP) */
    ACT_LOOP,           /* the main loop runs until nothing is pending */
    ACT_HANGUP,         /* the backend shuts its side of the socket down */
    ACT_CHAN_HANGUP,    /* ... of the backend channel */
    ACT_NEW_PEER,       /* the backend closes; a new one connects */
    ACT_SECOND_PEER,    /* another backend connects besides it */
    ACT_COUNT
};

/* A message's fd byte: kind in bits 0-2, count in bits 3-7 (0-23 as
 * is, then 32, 40, ... 88: past what the chardev and the protocol take). */
enum {
    FVU_FD_MEMFD,       /* one page */
    FVU_FD_MEMFD_BIG,   /* 16 pages */
    FVU_FD_MEMFD_EMPTY,
    FVU_FD_EVENTFD,
    FVU_FD_PIPE,
    FVU_FD_SOCKET,
    FVU_FD_NULL,        /* /dev/null */
    FVU_FD_DIR,         /* a directory: mmap fails */
};
#define FVU_FDS(kind, count)    ((uint8_t)((count) << 3 | (kind)))

/* Payload bytes one message may carry (more than the protocol allows). */
#define FVU_MAX_PAYLOAD         (VHOST_USER_PAYLOAD_MAX + 32)
#define FVU_MAX_OPS             256
#define FVU_MAX_INPUT           16384

typedef struct FvuMsg {
    VhostUserHeader hdr;
    uint8_t payload[FVU_MAX_PAYLOAD];
    size_t len;                 /* payload bytes written */
    uint8_t fds;                /* FVU_FDS() */
} FvuMsg;

/* What a well-behaved backend offers. */
typedef struct FvuGood {
    uint64_t features;
    uint64_t protocol_features;
} FvuGood;

/* The backend's end of the connection (fuzz-vhost-user-peer.c). */
typedef struct FvuPeer {
    int fd;                     /* main socket, -1 if none */
    int chan_fd;                /* backend channel, -1 until handed over */
    int log_fd;                 /* SET_LOG_BASE's, -1 until handed over */
    uint64_t log_end;           /* its mmap_offset + mmap_size */
    int extra_fd;               /* ACT_SECOND_PEER's socket, -1 if none */
    /* Answer every request as a well-behaved backend would; NULL: say
     * only what the input says. */
    const FvuGood *good;
    /* If set, each answer is appended as an OP_MAIN operation. */
    GByteArray *record;
    /* What the frontend said on this connection. */
    uint64_t acked_pf;          /* SET_PROTOCOL_FEATURES */
    uint64_t status;            /* SET_STATUS */
    uint16_t base[256];         /* SET_VRING_BASE per index */
    unsigned requests, kicks, bases;
} FvuPeer;

/* --- fuzz-vhost-user-peer.c --- */

/* The chardev's socket: one path for the whole run, in a directory of
 * its own (removed at exit). */
const char *fvu_peer_path(void);
void fvu_peer_init(FvuPeer *p);
/* Connect to the chardev's socket (it accepts from the main loop, or at
 * once when a device waits for its backend).  False if it cannot. */
bool fvu_peer_connect(FvuPeer *p, const char *path);
/* Another connection besides p->fd (the chardev must refuse it). */
void fvu_peer_connect_extra(FvuPeer *p, const char *path);
/* Close every fd the peer holds. */
void fvu_peer_close(FvuPeer *p);
/* Write pattern all over the dirty log kvmini handed over, if any. */
void fvu_peer_dirty_log(FvuPeer *p, uint8_t pattern);
/* Write m to fd without blocking; false if the socket did not take it. */
bool fvu_peer_send(int fd, const FvuMsg *m);
/* The same for len bytes of data with the fds of FVU_FDS spec fds. */
bool fvu_peer_send_bytes(int fd, const void *data, size_t len, uint8_t fds);
/* How many fds FVU_FDS spec fds attaches (kind in bits 0-2). */
unsigned fvu_fds_count(uint8_t fds);
/* Read and check everything the frontend wrote on both sockets (and
 * answer it if p->good). */
void fvu_peer_drain(FvuPeer *p);
/* The frontend's chardev (if not NULL) reads without waiting; its reads
 * serve p first (if p->good; NULL: no peer). */
void fvu_chr_hook(Chardev *chr, FvuPeer *p);
/* Encode / decode a message operation (op OP_MAIN or OP_CHAN). */
void fvu_put_msg(GByteArray *b, uint8_t op, const FvuMsg *m);
void fvu_get_msg(FuzzInput *in, FvuMsg *m);

/* --- fuzz-vhost-user-oracle.c --- */

/* glib's messages (failed checks) to fd 2, after kvmini's log. */
void fvu_log_setup(void);
/* Capture kvmini's stderr from now on, until fvu_log_end(). */
void fvu_log_begin(void);
size_t fvu_log_size(void);
/* What was logged from offset on (valid until the next log call). */
const char *fvu_log_since(size_t offset);
void fvu_log_end(void);
/* The first line of text that kvmini logged as an error (not a warning,
 * nor a device noticing that its backend went away: the backend's
 * choice), newly allocated; NULL if none. */
char *fvu_log_first_error(const char *text);
unsigned fvu_log_count(const char *text, const char *what);
/* FUZZ_VHOST_USER_LAST=FILE: write each input there before it runs. */
void fvu_save_input(const uint8_t *data, size_t size);
/* Open fds of this process; the check lists them and fails if the count
 * is not before. */
unsigned fvu_count_fds(void);
void fvu_check_fds(unsigned before);
/* Fail if a main-loop source is still ready. */
void fvu_check_settled(void);

/* --- fuzz-vhost-user.c --- */

typedef struct FvuStats {
    unsigned ops, messages, dropped, chan_messages, actions;
    unsigned realize_failed, protocol_errors, disconnects, started;
    unsigned recovered, torn_down_attached;
} FvuStats;

extern FvuStats fvu_stats;

/* A device model (fuzz-vhost-user-models.c). */
typedef struct FvuModel {
    const char *netdev;         /* -netdev, or NULL */
    const char *device;         /* -device */
    const char *id;
    const char *label;          /* what its log lines start with */
    bool net;                   /* a VirtIONet, else blk or generic */
    uint64_t features;          /* the well-behaved backend's */
    uint64_t required_pf;       /* the model refuses a backend without */
} FvuModel;

extern const FvuModel fvu_models[FVU_MODELS];

/* The well-behaved backend for a model, in protocol-feature variant v. */
FvuGood fvu_good(unsigned model, unsigned v);
/* Run one input; true if the frontend accepted everything the backend
 * said (nothing was logged as an error before the recovery). */
bool fvu_fuzz_one(const uint8_t *data, size_t size);
/* Why the last input was not accepted: kvmini's first error. */
const char *fvu_last_error(void);
/* Run cfg's device through actions (OP_ACT operations, without the
 * answers) and channel messages against the well-behaved backend in
 * variant v, and return the input that replays the conversation. */
GByteArray *fvu_record(uint8_t cfg, unsigned v, const uint8_t *script,
                       size_t len);

#endif
