/* SPDX-License-Identifier: MIT */
/*
 * Test harness for the vhost-user frontend (tests/unit/test-vhost-user.c):
 * a fixture that connects kvmini's socket chardev to a unix socket the
 * test listens on, and a scripted fake backend on the accepted end.
 *
 * The fake backend runs in a thread: for each step of its script it reads
 * one message (recording header, payload and fds), then answers with the
 * step's reply exactly as written — wrong flags, sizes, fds, a cut-short
 * payload or a hang-up included — so the tests control every byte the
 * frontend reads and check every byte it wrote.  The wire structs come
 * from hw/virtio/vhost-user-proto.h, never a copy.
 */
#ifndef TESTS_UNIT_VHOST_USER_FAKE_H
#define TESTS_UNIT_VHOST_USER_FAKE_H

#include "hw/virtio/vhost-user.h"

#define F_VERSION_1   (1ULL << 32)
#define F_PROTOCOL    (1ULL << VHOST_USER_F_PROTOCOL_FEATURES)
#define PF(b)         (1ULL << VHOST_USER_PROTOCOL_F_##b)
#define PF_ALL        0x1ffffULL          /* bits 0-16 offered */
#define FL_REPLY      (VHOST_USER_VERSION | VHOST_USER_REPLY_MASK)
#define FL_NEED       (VHOST_USER_VERSION | VHOST_USER_NEED_REPLY)
#define MAX_STEPS     16
#define MAX_RECS      32

/* One step of the fake backend's script. */
typedef struct FbStep {
    uint32_t expect;            /* request the frontend must send */
    bool reply;                 /* answer at all */
    VhostUserHeader hdr;        /* the answer's header, as sent */
    VhostUserPayload payload;
    int send_len;               /* payload bytes written, -1: hdr.size */
    int fd;                     /* attached to the answer, -1: none */
    bool hangup;                /* shut the socket down afterwards */
} FbStep;

/* A message the fake backend received; its fds are the test's. */
typedef struct FbRecord {
    VhostUserHeader hdr;
    VhostUserPayload payload;
    int fds[VHOST_USER_MAX_FDS];
    unsigned nfds;
} FbRecord;

typedef struct Fixture {
    char *dir, *path;
    int listen_fd, be_fd, chan_fd;
    Chardev *chr;
    VhostUserState u;
    struct vhost_dev dev;
    unsigned closed_events, config_changes;
    FbStep steps[MAX_STEPS];
    unsigned n_steps;
    FbRecord rec[MAX_RECS];
    unsigned n_rec;
    bool script_broken;
    GThread *thread;
} Fixture;

/* Run the main loop until cond holds (at most 5 s, then fail). */
#define WAIT_FOR(cond)                                                      \
    do {                                                                    \
        gint64 end_ = g_get_monotonic_time() + 5 * G_USEC_PER_SEC;          \
        while (!(cond) && g_get_monotonic_time() < end_) {                  \
            if (!g_main_context_iteration(NULL, FALSE)) {                   \
                g_usleep(1000);                                             \
            }                                                               \
        }                                                                   \
        g_assert_true(cond);                                                \
    } while (0)

/* --- script steps --- */

/* Answer req with a well-formed reply carrying size bytes of payload. */
FbStep st_reply(uint32_t req, uint32_t size, const void *payload);
/* Answer req with a u64. */
FbStep st_u64(uint32_t req, uint64_t v);
/* Take req without answering. */
FbStep st_none(uint32_t req);
/* A "set" request: acked with 0 when ack (REPLY_ACK in force), else none. */
FbStep st_set(uint32_t req, bool ack);

/* --- the fake backend --- */

/* Write st's reply (header, send_len payload bytes, its fd) to fd. */
void fb_send(int fd, const FbStep *st);
/* Start the backend thread on steps (copied); earlier records are
 * dropped and their fds closed. */
void fb_start(Fixture *f, const FbStep *steps, unsigned n);
/* Wait for the thread; with ok, every step must have run as scripted. */
void fb_join(Fixture *f, bool ok);
/* Drop the records and close their fds. */
void fb_clear(Fixture *f);
/* Assert that the frontend sent nothing more. */
void fb_assert_quiet(Fixture *f);
/* Assert record i's header fields and fd count. */
void rec_check(Fixture *f, unsigned i, uint32_t req, uint32_t flags,
               uint32_t size, unsigned nfds);

/* --- fixture --- */

/* Socket, chardev (handlers: CLOSED counted), vhost_user_init, and a
 * vhost_dev of 2 queues whose config notifier counts calls. */
void fixture_setup(Fixture *f, gconstpointer data);
void fixture_teardown(Fixture *f, gconstpointer data);
/* backend_init against a backend without protocol features. */
void init_plain(Fixture *f);
/* backend_init against a backend offering protocol features pf (MQ: 4
 * queues, CONFIGURE_MEM_SLOTS: 16 slots); keeps the backend channel's
 * fd in f->chan_fd. */
void init_proto(Fixture *f, uint64_t pf);
/* A page-sized memfd. */
int memfd_page(const char *name);
/* Do the two fds refer to the same file? */
bool same_file(int a, int b);
/* n regions of 1 MiB, 16 MiB apart in guest and host space, all in fd. */
void make_regions(VhostMemoryRegion *r, unsigned n, int fd);
/* Open fds of this process. */
unsigned count_fds(void);

/* --- the backend channel (f->chan_fd, the backend's end) --- */

/* Send a backend request: header, send_len payload bytes (-1: all), fd. */
void chan_send_raw(Fixture *f, uint32_t req, uint32_t flags,
                   const void *payload, uint32_t size, int send_len, int fd);
void chan_send(Fixture *f, uint32_t req, uint32_t flags,
               const void *payload, uint32_t size, int fd);
/* Has the frontend written something? */
bool chan_readable(Fixture *f);
/* Run the main loop until the frontend answers req; return its u64. */
uint64_t chan_reply(Fixture *f, uint32_t req);
/* VRING_HOST_NOTIFIER_MSG with NEED_REPLY; returns the answer. */
uint64_t host_notifier(Fixture *f, uint64_t u64, uint64_t size,
                       uint64_t offset, int fd);

#endif
