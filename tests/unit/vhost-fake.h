/* SPDX-License-Identifier: MIT */
/*
 * Test doubles for the vhost core unit tests: a recording VhostOps whose
 * every call lands in a string ("op args;") so tests can compare the
 * sequence on the wire exactly, with injectable failures, a slot limit
 * and the fd-memory capability (on by default, as vhost-user); a
 * transport that records set_host_notifier; and a fixture with real guest
 * memory (memfd RAM, fd-less RAM, MMIO) and a two-queue VirtIODevice.
 */
#ifndef TESTS_UNIT_VHOST_FAKE_H
#define TESTS_UNIT_VHOST_FAKE_H

#include "hw/virtio/vhost.h"

#define MiB (1024 * 1024ULL)
#define RAM2_GPA 0x10000000ULL
#define ANON_GPA 0x20000000ULL
#define MMIO_GPA 0xfeb00000ULL
#define NVQS 2

/* The recording backend; dev->opaque points at it. */
typedef struct Fake {
    GString *log;
    const char *fail_op;        /* this op fails ... */
    int fail_index;             /* ... for this ring only (-1: any call) */
    unsigned memslots;          /* 0: no memslots_limit answer (none) */
    bool any_ram;               /* needs_fd_memory false (vhost-kernel) */
    bool shm_log;
    const char *blocker;
    int index_base;             /* get_vq_index: idx - index_base */
    uint64_t features;
    uint16_t vring_base[VIRTIO_QUEUE_MAX];
    VhostMemoryRegion regions[16];  /* last table sent */
    unsigned n_regions;
    struct vhost_log *log_base;
    VirtIODevice *vdev;
    uint8_t config[8];
    unsigned cleanups;
    unsigned config_changes;
} Fake;

typedef struct FakeTransport {
    GString *log;
    int fail_queue;             /* set_host_notifier(assign) fails, or -1 */
} FakeTransport;

/*
 * Guest memory:  [0, 1M) lo and [1M, 2M) hi: two RAM regions over the two
 * halves of one 2 MiB memfd mapping, back to back (one vhost region);
 * [RAM2_GPA, +1M) a second memfd; [ANON_GPA, +1M) RAM without fd
 * (filtered); MMIO at MMIO_GPA (not RAM).  Queue 0 rings at
 * 0x10000/0x11000/0x12000 (256 entries, last avail 5), queue 1 at
 * RAM2_GPA + 0x0/0x1000/0x2000 (128 entries, last avail 7).
 */
typedef struct Fix {
    unsigned fds_before;
    MemoryRegion root, ram, ram2, lo, hi, anon, mmio, extra;
    void *anon_mem;
    AddressSpace as;
    Fake fake;
    FakeTransport ft;
    struct vhost_dev dev;
    VirtIODevice vdev;
} Fix;

extern const VhostOps fake_ops;

Fake *fake_of(struct vhost_dev *dev);
/* Memory, device and fake; dev not initialised yet (nvqs, id set). */
void fix_init(Fix *f);
/* vhost_dev_init on the fixture; must succeed. */
void fix_dev_init(Fix *f);
/* init, host notifiers, start; the log is cleared afterwards. */
void fix_start(Fix *f);
/* Tear everything down (vhost cleanup twice); fails on leaked fds. */
void fix_cleanup(Fix *f);

#define assert_log(f, expected) do {                            \
        g_assert_cmpstr((f)->fake.log->str, ==, (expected));    \
        g_string_truncate((f)->fake.log, 0);                    \
    } while (0)

#define TABLE2 "set_mem_table n=2 [0x0+0x200000 fd] [0x10000000+0x100000 fd]"
#define Q0 "desc=0x10000 avail=0x11000 used=0x12000"
#define Q1 "desc=0x10000000 avail=0x10001000 used=0x10002000"

#endif
