/* SPDX-License-Identifier: MIT */
/*
 * A minimal vhost-user frontend, for testing the test backend without
 * kvmini (vhost-user-backend-selftest.c and -selftest-io.c).  It owns a
 * 16 MiB memfd that plays guest RAM at guest-physical 0, announced with a
 * made-up frontend virtual address FE_UVA (a backend only uses it for
 * translation), and builds split rings of FE_NUM entries in it: ring idx
 * at 64 KiB + idx * 16 KiB (desc, avail, used a page apart), request slot
 * s of ring idx at 2 MiB + idx MiB + s * 64 KiB (header, status at +0x20,
 * data at +0x1000), five slots used round-robin.
 *
 * Every helper fails the test on an unexpected answer.  The backend is
 * created by fe_init() in server mode (or as the options say) and the
 * frontend connects to it.
 */
#ifndef TESTS_QTEST_VHOST_USER_MINI_FRONTEND_H
#define TESTS_QTEST_VHOST_USER_MINI_FRONTEND_H

#include <linux/virtio_ring.h>

#include "vhost-user-test-backend.h"

#define MiB         (1024 * 1024)
#define FE_MEM_SIZE (16 * MiB)
#define FE_UVA      0x7f1200000000ULL   /* "frontend virtual" of gpa 0 */
#define FE_NUM      16
#define FE_TIMEOUT  5000

typedef struct FeReply {
    VhostUserMsg msg;
    int fds[VHOST_USER_MAX_FDS];
    unsigned nfds;
} FeReply;

typedef struct FeRing {
    unsigned idx;
    uint64_t desc, avail, used;     /* gpa */
    uint16_t avail_idx;
    int kick, call;                 /* eventfds, -1 until the ring starts */
} FeRing;

typedef struct Fe {
    char *dir;                      /* temporary, holds the socket */
    char *path;
    Vub *b;
    int fd;                         /* the connection, -1 if none */
    int mem_fd;
    uint8_t *mem;                   /* guest RAM, FE_MEM_SIZE bytes */
    FeRing ring[4];
} Fe;

/* --- set-up --------------------------------------------------------------- */

/* Make the backend (opts may be NULL: defaults; its path is replaced)
 * and guest RAM; connect if asked. */
void fe_init(Fe *fe, const VubOptions *opts, bool connect);
/* Connect to the backend and wait until it accepted. */
void fe_connect(Fe *fe);
/* Free the backend, then close everything fe holds. */
void fe_cleanup(Fe *fe);

/* GET_FEATURES (must be the defaults), SET_OWNER, GET/SET_PROTOCOL_
 * FEATURES, SET_FEATURES. */
void fe_negotiate(Fe *fe, uint64_t features, uint64_t protocol);
/* SET_MEM_TABLE with the one memfd region, acked. */
void fe_set_mem_table(Fe *fe);
/* Lay ring idx out, set its indices to base in memory, then send it. */
void fe_ring_start(Fe *fe, unsigned idx, unsigned base);
/* NUM, BASE (base), ADDR, KICK, CALL, ENABLE for ring idx, each acked;
 * the ring memory is left alone. */
void fe_ring_send(Fe *fe, unsigned idx, unsigned base);
/* fe_negotiate (defaults), fe_set_mem_table, nq rings from 0. */
void fe_start(Fe *fe, unsigned nq);

/* --- messages ------------------------------------------------------------- */

void fe_send_fds(Fe *fe, uint32_t req, uint32_t flags, const void *payload,
                 uint32_t size, const int *fds, unsigned nfds);
void fe_send(Fe *fe, uint32_t req, uint32_t flags, const void *payload,
             uint32_t size);
/* Receive one message on fd (the connection or a backend channel) with
 * its fds; false on timeout or EOF. */
bool fe_recv_on(int fd, FeReply *r, int timeout_ms);
void fe_reply_close_fds(FeReply *r);
/* Receive a well-formed reply (flags, request) to req. */
void fe_expect_reply(Fe *fe, uint32_t req, FeReply *r);
/* A GET_* request answered with a u64. */
uint64_t fe_get_u64(Fe *fe, uint32_t req);
/* Send with NEED_REPLY and return the ack status. */
uint64_t fe_acked(Fe *fe, uint32_t req, const void *payload, uint32_t size,
                  const int *fds, unsigned nfds);
/* A u64 / vring-state request that must be acked with 0. */
void fe_set_u64(Fe *fe, uint32_t req, uint64_t v);
void fe_set_state(Fe *fe, uint32_t req, unsigned idx, unsigned num);
/* Nothing arrives on the connection for ms. */
bool fe_nothing_arrives(Fe *fe, int ms);

/* --- requests ------------------------------------------------------------- */

uint64_t fe_slot_base(const FeRing *r, unsigned slot);
/* Write descriptor i of ring r (next = i + 1). */
void fe_desc(Fe *fe, FeRing *r, uint16_t i, uint64_t gpa, uint32_t len,
             uint16_t flags);
/* Queue a virtio-blk request of three descriptors in ring idx (data len
 * bytes, from out for VIRTIO_BLK_T_OUT); returns its slot. */
unsigned fe_blk(Fe *fe, unsigned idx, uint32_t type, uint64_t sector,
                const void *out, uint32_t len);
/* fe_blk, kick, wait for the call, check the status; returns the slot. */
unsigned fe_blk_sync(Fe *fe, unsigned idx, uint32_t type, uint64_t sector,
                     const void *out, uint32_t len, uint8_t want_status);
uint8_t fe_status(Fe *fe, unsigned idx, unsigned slot);
uint8_t *fe_data(Fe *fe, unsigned idx, unsigned slot);
void fe_kick(Fe *fe, unsigned idx);
/* Wait for (and consume) a call on ring idx. */
bool fe_wait_call(Fe *fe, unsigned idx);
struct vring_used *fe_used(Fe *fe, unsigned idx);
void fe_fill(uint8_t *p, size_t len, unsigned seed);

#endif
