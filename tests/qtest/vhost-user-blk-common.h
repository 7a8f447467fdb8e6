/* SPDX-License-Identifier: MIT */
/*
 * The fixture shared by the vhost-user-blk qtests: a temporary directory
 * with the backend's socket, the test vhost-user backend
 * (vhost-user-test-backend.h) in server mode unless told otherwise,
 * kvmini started with "-chardev socket,id=c0,path=SOCK
 * -device vhost-user-blk,chardev=c0", and the guest-driver steps of
 * virtio-mmio-driver.h for the device in slot 0 with buffers between
 * RAM_LOW and RAM_HIGH.  Helpers fail the test on anything unexpected.
 */
#ifndef TESTS_QTEST_VHOST_USER_BLK_COMMON_H
#define TESTS_QTEST_VHOST_USER_BLK_COMMON_H

#include "libqtest.h"
#include "vhost-user-test-backend.h"
#include "virtio-mmio-driver.h"

#define MiB         (1024ULL * 1024)
#define GiB         (1024 * MiB)
#define TIMEOUT_MS  10000
#define RAM_LOW     0x100000            /* driver allocations from here */
#define RAM_HIGH    (64 * MiB)

/* What the driver asks for: the blk features the backend offers. */
#define BLK_WANTED ((1ULL << VIRTIO_BLK_F_SEG_MAX) | \
                    (1ULL << VIRTIO_BLK_F_BLK_SIZE) | \
                    (1ULL << VIRTIO_BLK_F_FLUSH) | \
                    (1ULL << VIRTIO_BLK_F_MQ))

typedef struct Blk {
    char *dir;
    char *sock;
    Vub *b;                     /* NULL until a backend exists */
    QTestState *qts;
    QVirtioDevice dev;          /* probed by the first driver start */
    QGuestAlloc alloc;
    QVirtQueue *vq[VUB_MAX_QUEUES];
    unsigned nvqs;
} Blk;

/* A deterministic pattern depending on seed. */
void blk_fill(uint8_t *p, size_t len, unsigned seed);

/* Fill o with the backend defaults (the path is set by blk_init). */
void blk_options(VubOptions *o);
/* Directory and socket path; a backend made from o (path replaced), or
 * with the defaults if o is NULL and with_backend. */
void blk_init(Blk *t, const VubOptions *o, bool with_backend);
/* Start kvmini; chr_opts / dev_opts are appended to the -chardev and
 * -device options (",reconnect=1"), extra to the command line; each may
 * be NULL. */
void blk_launch(Blk *t, const char *chr_opts, const char *dev_opts,
                const char *extra);
/* Quit kvmini (exit status 0 required), free the backend and the rest. */
void blk_free(Blk *t);

/* Be the guest driver: reset, negotiate BLK_WANTED, nvqs queues of
 * QueueNumMax entries, DRIVER_OK; then wait until the backend runs every
 * ring.  May be called again (the old queues are forgotten). */
void blk_driver_start(Blk *t, unsigned nvqs);
void blk_free_queues(Blk *t);
/* Write len bytes at sector through queue q; check status and disk. */
void blk_write_check(Blk *t, unsigned q, uint64_t sector, size_t len,
                     unsigned seed);

/* kvmini's stderr so far (caller frees). */
char *blk_stderr(Blk *t);
/* Wait until kvmini's stderr holds every string of the NULL-ended list;
 * fail with its text otherwise. */
void blk_expect_stderr(Blk *t, const char *first, ...) G_GNUC_NULL_TERMINATED;
/* kvmini still answers qtest, RAM and the device registers. */
void blk_assert_alive(Blk *t);

/* The u64 payload of the nth (-1: last) logged message of request. */
uint64_t msg_u64(Vub *b, uint32_t request, int nth);
/* num of the last SET_VRING_BASE for ring idx; -1 if none. */
int last_vring_base(Blk *t, unsigned idx);

#endif
