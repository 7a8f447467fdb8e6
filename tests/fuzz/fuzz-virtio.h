/* SPDX-License-Identifier: MIT */
/*
 * What the two files of the fuzz-virtio target share: the harness
 * (fuzz-virtio.c: the machine, the devices, the operations an input is
 * decoded into, the checks; all a libFuzzer build needs) and the
 * standalone campaign (fuzz-virtio-seeds.c: seeds written as operations,
 * main()).
 */
#ifndef TESTS_FUZZ_FUZZ_VIRTIO_H
#define TESTS_FUZZ_FUZZ_VIRTIO_H

#include "fuzz-common.h"
#include "fuzz-machine.h"
#include "fuzz-net.h"

/* Guest RAM and where the operations put rings, tables and buffers. */
#define FV_RAM_A        (64 * FUZZ_KiB)     /* at 0 */
#define FV_RAM_B        (8 * FUZZ_KiB)      /* at FV_RAM_A */
#define FV_RAM_END      (FV_RAM_A + FV_RAM_B)
#define FV_RING_SLOT(n) ((hwaddr)(n) * 0x1000)  /* desc, avail +0x800,
                                                 * used +0xa00 */
#define FV_RING_SLOTS   13
#define FV_INDIRECT     0xc000              /* 64-byte tables */
#define FV_SCRATCH      0xd000              /* 256-byte buffers */
#define FV_SCRATCH_SLOTS 80
#define FV_ECHO_NVQS    2
#define FV_ECHO_QSIZE   128
#define FV_ECHO_FEATURES                                                \
    ((1ULL << VIRTIO_F_VERSION_1) | (1ULL << VIRTIO_RING_F_INDIRECT_DESC) | \
     (1ULL << VIRTIO_RING_F_EVENT_IDX) | 1ULL)
#define FV_MAX_OPS      512
#define FV_MAX_INPUT    8192

/* The first byte of an operation (modulo OP_COUNT); see fv_op(). */
enum {
    OP_WRITE32, OP_READ32, OP_CFG_WRITE, OP_CFG_READ, OP_RAM_WRITE,
    OP_RAM_WRITE16, OP_NOTIFY, OP_INIT, OP_RAW_CHAIN, OP_IO_CHAIN, OP_CTRL,
    OP_RESET, OP_COUNT
};

typedef struct FvStats {
    unsigned ops, popped, broken, recovered;
} FvStats;

extern FvStats fv_stats;

/* Run one input; true if it left both devices working (not broken). */
bool fv_fuzz_one(const uint8_t *data, size_t size);

#endif
