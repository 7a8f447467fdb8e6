/* SPDX-License-Identifier: MIT */
/*
 * The vhost-user frontend against a scripted fake backend
 * (vhost-user-fake.c), without /dev/kvm: every test checks the exact
 * messages on the wire.  Covered: negotiation with and without protocol
 * features, REPLY_ACK (NEED_REPLY set, a non-zero ack fails), every reply
 * validation failure (error + disconnect, then fail-fast), the memory
 * table through SET_MEM_TABLE and through ADD/REM_MEM_REG, vring
 * requests, config, inflight, the dirty log, the backend channel (config
 * change, host notifiers, refusals, malformed messages) and fd leaks.
 */
#include "vhost-user-fake.h"

#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

/* --- negotiation ----------------------------------------------------------- */

static void test_init_plain(Fixture *f, gconstpointer data)
{
    static const uint8_t mac[6] = { 0x52, 0x54, 0, 0x12, 0x34, 0x56 };
    FbStep st[] = {
        st_none(VHOST_USER_SET_FEATURES),
    };
    uint64_t features = 0;
    Error *err = NULL;

    init_plain(f);
    rec_check(f, 0, VHOST_USER_GET_FEATURES, VHOST_USER_VERSION, 0, 0);
    rec_check(f, 1, VHOST_USER_SET_OWNER, VHOST_USER_VERSION, 0, 0);
    g_assert_true(f->u.negotiated);
    g_assert_cmphex(f->u.protocol_features, ==, 0);
    g_assert_cmphex(f->dev.features, ==, F_VERSION_1);
    g_assert_cmpuint(vhost_user_ops.memslots_limit(&f->dev), ==, 8);
    g_assert_cmpstr(vhost_user_ops.log_blocker(&f->dev), ==,
                    "backend does not support LOG_SHMFD");
    /* Owner once per connection, features cached, rings start enabled:
     * nothing on the wire. */
    g_assert_true(vhost_user_ops.set_owner(&f->dev, &err));
    g_assert_true(vhost_user_ops.get_features(&f->dev, &features, &err));
    g_assert_cmphex(features, ==, F_VERSION_1);
    g_assert_true(vhost_user_ops.set_vring_enable(&f->dev, true, &err));
    g_assert_true(vhost_user_ops.dev_start(&f->dev, true, &err));
    g_assert_false(vhost_user_send_rarp(&f->dev, mac, &err));
    g_assert_cmpstr(error_get_pretty(err), ==,
                    "SEND_RARP: backend does not support RARP");
    g_clear_pointer(&err, error_free);
    fb_assert_quiet(f);

    /* No bit 30 to add, no NEED_REPLY. */
    fb_start(f, st, G_N_ELEMENTS(st));
    g_assert_true(vhost_user_ops.set_features(&f->dev, F_VERSION_1, &err));
    fb_join(f, true);
    rec_check(f, 0, VHOST_USER_SET_FEATURES, VHOST_USER_VERSION, 8, 0);
    g_assert_cmphex(f->rec[0].payload.u64, ==, F_VERSION_1);
}

static void test_init_protocol(Fixture *f, gconstpointer data)
{
    const uint64_t want = PF_ALL & ~(PF(CRYPTO_SESSION) | PF(PAGEFAULT) |
                                     PF(INBAND_NOTIFICATIONS));
    struct stat sb;

    init_proto(f, PF_ALL);
    rec_check(f, 1, VHOST_USER_GET_PROTOCOL_FEATURES, 1, 0, 0);
    rec_check(f, 2, VHOST_USER_SET_PROTOCOL_FEATURES, 1, 8, 0);
    g_assert_cmphex(f->rec[2].payload.u64, ==, want);
    rec_check(f, 3, VHOST_USER_GET_QUEUE_NUM, 1, 0, 0);
    rec_check(f, 4, VHOST_USER_GET_MAX_MEM_SLOTS, 1, 0, 0);
    rec_check(f, 5, VHOST_USER_SET_BACKEND_REQ_FD, FL_NEED, 0, 1);
    g_assert_cmpint(fstat(f->rec[5].fds[0], &sb), ==, 0);
    g_assert_true(S_ISSOCK(sb.st_mode));
    rec_check(f, 6, VHOST_USER_SET_OWNER, FL_NEED, 0, 0);
    g_assert_cmphex(f->u.protocol_features, ==, want);
    for (unsigned bit = 0; bit < 64; bit++) {
        g_assert_cmpint(vhost_user_has_protocol_feature(&f->dev, bit), ==,
                        !!(want & (1ULL << bit)));
    }
    g_assert_cmpuint(f->u.max_queues, ==, 4);
    g_assert_cmpuint(vhost_user_ops.memslots_limit(&f->dev), ==, 16);
    g_assert_null(vhost_user_ops.log_blocker(&f->dev));
    g_assert_true(vhost_user_is_connected(&f->u));
}

static void test_device_requests(Fixture *f, gconstpointer data)
{
    static const uint8_t mac[6] = { 0x52, 0x54, 0, 0x12, 0x34, 0x56 };
    FbStep st[] = {
        st_u64(VHOST_USER_SET_FEATURES, 0),
        st_u64(VHOST_USER_NET_SET_MTU, 0),
        st_u64(VHOST_USER_SEND_RARP, 0),
        st_u64(VHOST_USER_SET_STATUS, 0),
    };
    Error *err = NULL;

    init_proto(f, PF_ALL);
    fb_start(f, st, G_N_ELEMENTS(st));
    g_assert_true(vhost_user_ops.set_features(&f->dev, F_VERSION_1, &err));
    g_assert_true(vhost_user_net_set_mtu(&f->dev, 1500, &err));
    g_assert_true(vhost_user_send_rarp(&f->dev, mac, &err));
    g_assert_true(vhost_user_ops.dev_start(&f->dev, true, &err));
    g_assert_null(err);
    fb_join(f, true);
    /* Bit 30 acked so that the protocol features stay enabled. */
    rec_check(f, 0, VHOST_USER_SET_FEATURES, FL_NEED, 8, 0);
    g_assert_cmphex(f->rec[0].payload.u64, ==, F_VERSION_1 | F_PROTOCOL);
    rec_check(f, 1, VHOST_USER_NET_SET_MTU, FL_NEED, 8, 0);
    g_assert_cmpuint(f->rec[1].payload.u64, ==, 1500);
    rec_check(f, 2, VHOST_USER_SEND_RARP, FL_NEED, 8, 0);
    g_assert_cmpmem(&f->rec[2].payload.u64, 6, mac, 6);
    rec_check(f, 3, VHOST_USER_SET_STATUS, FL_NEED, 8, 0);
    g_assert_cmphex(f->rec[3].payload.u64, ==, 0xf);
}

static void test_reply_ack_failure(Fixture *f, gconstpointer data)
{
    FbStep st[] = { st_u64(VHOST_USER_SET_VRING_NUM, 1) };
    struct vhost_vring_state s = { .index = 1, .num = 256 };
    Error *err = NULL;

    init_proto(f, PF(REPLY_ACK));
    fb_start(f, st, 1);
    g_assert_false(vhost_user_ops.set_vring_num(&f->dev, &s, &err));
    fb_join(f, true);
    g_assert_cmpstr(error_get_pretty(err), ==,
                    "backend rejected SET_VRING_NUM (queue 1) (status 1)");
    error_free(err);
    /* A refusal is not a protocol error. */
    g_assert_true(vhost_user_is_connected(&f->u));
    g_assert_cmpuint(f->u.protocol_errors, ==, 0);
}

/* --- reply validation ------------------------------------------------------ */

typedef struct BadReply {
    const char *name;
    uint32_t request, flags, size;
    int send_len;
    bool with_fd, hangup, silent;
    const char *error;
} BadReply;

static const BadReply bad_replies[] = {
    { "flags", VHOST_USER_GET_FEATURES, VHOST_USER_VERSION, 8, -1,
      .error = "GET_FEATURES: reply flags 0x1, expected 0x5" },
    { "need-reply-flag", VHOST_USER_GET_FEATURES, FL_REPLY | FL_NEED, 8, -1,
      .error = "GET_FEATURES: reply flags 0xd, expected 0x5" },
    { "request", VHOST_USER_GET_PROTOCOL_FEATURES, FL_REPLY, 8, -1,
      .error = "GET_FEATURES: reply is for request 15 "
               "(GET_PROTOCOL_FEATURES)" },
    { "size", VHOST_USER_GET_FEATURES, FL_REPLY, 4, -1,
      .error = "GET_FEATURES: reply size 4, expected 8" },
    { "oversized", VHOST_USER_GET_FEATURES, FL_REPLY,
      VHOST_USER_PAYLOAD_MAX + 1, 0,
      .error = "exceeds the maximum" },
    { "fd", VHOST_USER_GET_FEATURES, FL_REPLY, 8, -1, .with_fd = true,
      .error = "GET_FEATURES: reply carries 1 fd(s), expected at most 0" },
    { "eof", VHOST_USER_GET_FEATURES, FL_REPLY, 8, 4, .hangup = true,
      .error = "GET_FEATURES: backend closed the connection" },
    { "timeout", VHOST_USER_GET_FEATURES, FL_REPLY, 8, -1, .silent = true,
      .error = "GET_FEATURES: no reply within 100 ms" },
};

static void test_bad_reply(Fixture *f, gconstpointer data)
{
    const BadReply *c = data;
    FbStep st = st_u64(VHOST_USER_GET_FEATURES, F_VERSION_1);
    struct vhost_vring_state s = { .index = 0, .num = 64 };
    Error *err = NULL;

    st.hdr = (VhostUserHeader) { c->request, c->flags, c->size };
    st.send_len = c->send_len;
    st.hangup = c->hangup;
    st.reply = !c->silent;
    st.fd = c->with_fd ? memfd_page("bad-reply") : -1;
    f->u.timeout_ms = 100;
    fb_start(f, &st, 1);
    g_assert_false(vhost_user_ops.backend_init(&f->dev, &f->u, &err));
    fb_join(f, false);
    g_assert_nonnull(strstr(error_get_pretty(err), c->error));
    g_clear_pointer(&err, error_free);
    /* Dropped at once; CLOSED arrives from the main loop. */
    g_assert_false(qemu_chr_is_connected(f->chr));
    g_assert_false(vhost_user_is_connected(&f->u));
    g_assert_cmpuint(f->u.protocol_errors, ==, 1);
    WAIT_FOR(f->closed_events == 1);
    /* From now on requests fail fast. */
    g_assert_false(vhost_user_ops.set_vring_num(&f->dev, &s, &err));
    g_assert_cmpstr(error_get_pretty(err), ==,
                    "SET_VRING_NUM (queue 0): backend not connected");
    error_free(err);
    if (st.fd >= 0) {
        close(st.fd);
    }
}

/* --- vrings ---------------------------------------------------------------- */

static void test_vring_base(Fixture *f, gconstpointer data)
{
    VhostUserVringState good = { .index = 1, .num = 42 };
    VhostUserVringState wrong = { .index = 0, .num = 42 };
    FbStep st[] = { st_reply(VHOST_USER_GET_VRING_BASE, 8, &good) };
    struct vhost_vring_state s = { .index = 1 };
    Error *err = NULL;

    init_plain(f);
    fb_start(f, st, 1);
    g_assert_true(vhost_user_ops.get_vring_base(&f->dev, &s, &err));
    fb_join(f, true);
    g_assert_cmpuint(s.num, ==, 42);
    rec_check(f, 0, VHOST_USER_GET_VRING_BASE, 1, 8, 0);
    g_assert_cmpuint(f->rec[0].payload.state.index, ==, 1);

    st[0] = st_reply(VHOST_USER_GET_VRING_BASE, 8, &wrong);
    fb_start(f, st, 1);
    g_assert_false(vhost_user_ops.get_vring_base(&f->dev, &s, &err));
    fb_join(f, true);
    g_assert_cmpstr(error_get_pretty(err), ==,
                    "GET_VRING_BASE (queue 1): reply is for queue 0");
    error_free(err);
    g_assert_false(qemu_chr_is_connected(f->chr));
}

/* Ring addresses are kvmini's own virtual addresses; indices global. */
static void check_vq_addr(Fixture *f, struct vhost_vring_addr *a,
                          uint8_t ring[3])
{
    g_assert_true(vhost_user_ops.vq_get_addr(&f->dev, a, 0x1000, 0x2000,
                                             0x3000, &ring[0], &ring[1],
                                             &ring[2]));
    g_assert_cmphex(a->desc_user_addr, ==, (uintptr_t)&ring[0]);
    g_assert_cmphex(a->avail_user_addr, ==, (uintptr_t)&ring[1]);
    g_assert_cmphex(a->used_user_addr, ==, (uintptr_t)&ring[2]);
    g_assert_cmpint(vhost_user_ops.get_vq_index(&f->dev, 5), ==, 5);
}

static void test_vring_setup(Fixture *f, gconstpointer data)
{
    FbStep st[] = {
        st_u64(VHOST_USER_SET_VRING_NUM, 0),
        st_u64(VHOST_USER_SET_VRING_BASE, 0),
        st_u64(VHOST_USER_SET_VRING_ADDR, 0),
        st_u64(VHOST_USER_SET_VRING_KICK, 0),
        st_u64(VHOST_USER_SET_VRING_CALL, 0),
        st_u64(VHOST_USER_SET_VRING_ENABLE, 0),
        st_u64(VHOST_USER_SET_VRING_ENABLE, 0),
    };
    struct vhost_vring_state num = { 1, 256 }, base = { 1, 7 };
    struct vhost_vring_addr a = { .index = 1, .flags = 1 };
    struct vhost_vring_file kick = { 1, memfd_page("kick") };
    struct vhost_vring_file call = { 1, -1 };
    uint8_t ring[3];
    Error *err = NULL;

    init_proto(f, PF(REPLY_ACK));
    check_vq_addr(f, &a, ring);
    fb_start(f, st, G_N_ELEMENTS(st));
    g_assert_true(vhost_user_ops.set_vring_num(&f->dev, &num, &err));
    g_assert_true(vhost_user_ops.set_vring_base(&f->dev, &base, &err));
    g_assert_true(vhost_user_ops.set_vring_addr(&f->dev, &a, &err));
    g_assert_true(vhost_user_ops.set_vring_kick(&f->dev, &kick, &err));
    g_assert_true(vhost_user_ops.set_vring_call(&f->dev, &call, &err));
    g_assert_true(vhost_user_ops.set_vring_enable(&f->dev, true, &err));
    fb_join(f, true);
    rec_check(f, 0, VHOST_USER_SET_VRING_NUM, FL_NEED, 8, 0);
    g_assert_cmpuint(f->rec[0].payload.state.num, ==, 256);
    rec_check(f, 1, VHOST_USER_SET_VRING_BASE, FL_NEED, 8, 0);
    g_assert_cmpuint(f->rec[1].payload.state.num, ==, 7);
    rec_check(f, 2, VHOST_USER_SET_VRING_ADDR, FL_NEED,
              sizeof(VhostUserVringAddr), 0);
    g_assert_cmphex(f->rec[2].payload.addr.used_user_addr, ==,
                    (uintptr_t)&ring[2]);
    g_assert_cmphex(f->rec[2].payload.addr.log_guest_addr, ==, 0x3000);
    g_assert_cmpuint(f->rec[2].payload.addr.flags, ==, 1);
    rec_check(f, 3, VHOST_USER_SET_VRING_KICK, FL_NEED, 8, 1);
    g_assert_cmphex(f->rec[3].payload.u64, ==, 1);
    g_assert_true(same_file(f->rec[3].fds[0], kick.fd));
    rec_check(f, 4, VHOST_USER_SET_VRING_CALL, FL_NEED, 8, 0);
    g_assert_cmphex(f->rec[4].payload.u64, ==, 1 | VHOST_USER_VRING_NOFD_MASK);
    for (unsigned i = 0; i < 2; i++) {
        rec_check(f, 5 + i, VHOST_USER_SET_VRING_ENABLE, FL_NEED, 8, 0);
        g_assert_cmpuint(f->rec[5 + i].payload.state.index, ==, i);
        g_assert_cmpuint(f->rec[5 + i].payload.state.num, ==, 1);
    }
    close(kick.fd);
}

/* --- memory table ---------------------------------------------------------- */

static void test_mem_table(Fixture *f, gconstpointer data)
{
    int fd1 = memfd_page("ram1"), fd2 = memfd_page("ram2");
    FbStep st[] = { st_u64(VHOST_USER_SET_MEM_TABLE, 0) };
    VhostMemoryRegion r[2];
    Error *err = NULL;

    init_proto(f, PF(REPLY_ACK));
    make_regions(r, 2, fd1);
    r[1].fd = fd2;
    fb_start(f, st, 1);
    g_assert_true(vhost_user_ops.set_mem_table(&f->dev, r, 2, &err));
    fb_join(f, true);
    /* nregions + padding + two regions, one fd per region, in order. */
    rec_check(f, 0, VHOST_USER_SET_MEM_TABLE, FL_NEED, 8 + 2 * 32, 2);
    g_assert_cmpuint(f->rec[0].payload.memory.nregions, ==, 2);
    for (unsigned i = 0; i < 2; i++) {
        VhostUserMemoryRegion *w = &f->rec[0].payload.memory.regions[i];
        g_assert_cmphex(w->guest_phys_addr, ==, r[i].guest_phys_addr);
        g_assert_cmphex(w->memory_size, ==, r[i].memory_size);
        g_assert_cmphex(w->userspace_addr, ==, r[i].userspace_addr);
        g_assert_cmphex(w->mmap_offset, ==, r[i].mmap_offset);
    }
    g_assert_true(same_file(f->rec[0].fds[0], fd1));
    g_assert_true(same_file(f->rec[0].fds[1], fd2));

    /* The core refuses a bigger table (test-vhost.c memslots-*): the
     * limit it checks is what one SET_MEM_TABLE carries. */
    g_assert_cmpuint(vhost_user_ops.memslots_limit(&f->dev), ==,
                     VHOST_USER_MAX_RAM_SLOTS);
    fb_assert_quiet(f);
    close(fd1);
    close(fd2);
}

/* vhost-user maps every region from its fd: the core gives it only
 * fd-backed RAM and merges only one mapping of one fd (the rule itself
 * is tested in test-vhost.c: merge-fds, merge-fd-hole, merge-neighbours),
 * and its dirty log must be shared memory. */
static void test_mem_merge_filter(Fixture *f, gconstpointer data)
{
    g_assert_true(vhost_user_ops.needs_fd_memory(&f->dev));
    g_assert_true(vhost_user_ops.requires_shm_log(&f->dev));
}

static void check_mem_reg(Fixture *f, unsigned i, uint32_t req,
                          const VhostMemoryRegion *r)
{
    bool add = req == VHOST_USER_ADD_MEM_REG;

    rec_check(f, i, req, FL_NEED, sizeof(VhostUserMemRegMsg), add ? 1 : 0);
    g_assert_cmphex(f->rec[i].payload.mem_reg.region.guest_phys_addr, ==,
                    r->guest_phys_addr);
    g_assert_cmphex(f->rec[i].payload.mem_reg.region.memory_size, ==,
                    r->memory_size);
    if (add) {
        g_assert_true(same_file(f->rec[i].fds[0], r->fd));
    }
}

/* A refused ADD leaves the shadow alone; the slot limit the core
 * enforces is what GET_MAX_MEM_SLOTS said. */
static void check_mem_slots_errors(Fixture *f, int fd)
{
    FbStep refused[] = { st_u64(VHOST_USER_ADD_MEM_REG, 1) };
    VhostMemoryRegion many[1];
    Error *err = NULL;

    make_regions(many, 1, fd);
    fb_start(f, refused, 1);
    g_assert_false(vhost_user_ops.set_mem_table(&f->dev, many, 1, &err));
    fb_join(f, true);
    g_assert_nonnull(strstr(error_get_pretty(err), "backend rejected "
                            "ADD_MEM_REG"));
    error_free(err);
    g_assert_cmpuint(f->u.n_shadow, ==, 0);  /* the backend has nothing */
    g_assert_cmpuint(vhost_user_ops.memslots_limit(&f->dev), ==, 16);
    fb_assert_quiet(f);
}

static void test_mem_slots(Fixture *f, gconstpointer data)
{
    int fd = memfd_page("slots");
    FbStep add2[] = { st_u64(VHOST_USER_ADD_MEM_REG, 0),
                      st_u64(VHOST_USER_ADD_MEM_REG, 0) };
    FbStep rem_add[] = { st_u64(VHOST_USER_REM_MEM_REG, 0),
                         st_u64(VHOST_USER_ADD_MEM_REG, 0) };
    FbStep rem2[] = { st_u64(VHOST_USER_REM_MEM_REG, 0),
                      st_u64(VHOST_USER_REM_MEM_REG, 0) };
    VhostMemoryRegion a[2], b[2];
    Error *err = NULL;

    init_proto(f, PF(REPLY_ACK) | PF(CONFIGURE_MEM_SLOTS));
    make_regions(a, 2, fd);
    memcpy(b, a, sizeof(a));
    b[1].memory_size *= 2;                  /* region 1 grows */

    fb_start(f, add2, 2);
    g_assert_true(vhost_user_ops.set_mem_table(&f->dev, a, 2, &err));
    fb_join(f, true);
    check_mem_reg(f, 0, VHOST_USER_ADD_MEM_REG, &a[0]);
    check_mem_reg(f, 1, VHOST_USER_ADD_MEM_REG, &a[1]);
    g_assert_cmpuint(f->u.n_shadow, ==, 2);

    /* Exactly one REM for the old region 1, then one ADD for the new. */
    fb_start(f, rem_add, 2);
    g_assert_true(vhost_user_ops.set_mem_table(&f->dev, b, 2, &err));
    fb_join(f, true);
    check_mem_reg(f, 0, VHOST_USER_REM_MEM_REG, &a[1]);
    check_mem_reg(f, 1, VHOST_USER_ADD_MEM_REG, &b[1]);

    g_assert_true(vhost_user_ops.set_mem_table(&f->dev, b, 2, &err));
    fb_assert_quiet(f);                     /* unchanged: nothing sent */

    fb_start(f, rem2, 2);
    g_assert_true(vhost_user_ops.set_mem_table(&f->dev, NULL, 0, &err));
    fb_join(f, true);
    g_assert_cmpuint(f->u.n_shadow, ==, 0);

    check_mem_slots_errors(f, fd);
    close(fd);
}

/* --- config, inflight, log ------------------------------------------------- */

static void test_config(Fixture *f, gconstpointer data)
{
    VhostUserConfig cfg = { .offset = 0, .size = 8 };
    FbStep st[] = {
        st_reply(VHOST_USER_GET_CONFIG, VHOST_USER_CONFIG_HDR_SIZE + 8, &cfg),
        st_reply(VHOST_USER_GET_CONFIG, 0, NULL),
        st_u64(VHOST_USER_SET_CONFIG, 0),
    };
    uint8_t buf[8];
    Error *err = NULL;

    memcpy(cfg.region, "abcdefgh", 8);
    st[0] = st_reply(VHOST_USER_GET_CONFIG, VHOST_USER_CONFIG_HDR_SIZE + 8,
                     &cfg);
    init_proto(f, PF(REPLY_ACK) | PF(CONFIG));
    fb_start(f, st, G_N_ELEMENTS(st));
    g_assert_true(vhost_user_ops.get_config(&f->dev, buf, 8, &err));
    g_assert_cmpmem(buf, 8, "abcdefgh", 8);
    /* The spec's error answer: an empty payload, not a protocol error. */
    g_assert_false(vhost_user_ops.get_config(&f->dev, buf, 8, &err));
    g_assert_cmpstr(error_get_pretty(err), ==,
                    "GET_CONFIG: backend reported an error");
    g_clear_pointer(&err, error_free);
    g_assert_true(vhost_user_ops.set_config(&f->dev, (const uint8_t *)"wxyz",
                                            4, 4, 0, &err));
    fb_join(f, true);
    rec_check(f, 0, VHOST_USER_GET_CONFIG, 1, VHOST_USER_CONFIG_HDR_SIZE + 8,
              0);
    g_assert_cmpuint(f->rec[0].payload.config.size, ==, 8);
    rec_check(f, 2, VHOST_USER_SET_CONFIG, FL_NEED,
              VHOST_USER_CONFIG_HDR_SIZE + 4, 0);
    g_assert_cmpuint(f->rec[2].payload.config.offset, ==, 4);
    g_assert_cmpmem(f->rec[2].payload.config.region, 4, "wxyz", 4);

    /* The reply must echo the size asked for. */
    cfg.size = 4;
    st[0] = st_reply(VHOST_USER_GET_CONFIG, VHOST_USER_CONFIG_HDR_SIZE + 8,
                     &cfg);
    fb_start(f, st, 1);
    g_assert_false(vhost_user_ops.get_config(&f->dev, buf, 8, &err));
    fb_join(f, true);
    g_assert_cmpstr(error_get_pretty(err), ==,
                    "GET_CONFIG: reply config size 4, expected 8");
    error_free(err);
    g_assert_false(qemu_chr_is_connected(f->chr));
}

static void test_inflight(Fixture *f, gconstpointer data)
{
    int mfd = memfd_page("inflight");
    VhostUserInflight in = { .mmap_size = getpagesize(), .num_queues = 2,
                             .queue_size = 128 };
    FbStep st[] = {
        st_reply(VHOST_USER_GET_INFLIGHT_FD, sizeof(in), &in),
        st_u64(VHOST_USER_SET_INFLIGHT_FD, 0),
    };
    VhostInflight inflight = { .fd = -1 };
    Error *err = NULL;

    g_assert_cmpint(pwrite(mfd, "INFL", 4, 0), ==, 4);
    st[0].fd = mfd;
    init_proto(f, PF(REPLY_ACK) | PF(INFLIGHT_SHMFD));
    fb_start(f, st, 2);
    g_assert_true(vhost_user_ops.get_inflight_fd(&f->dev, 128, &inflight,
                                                 &err));
    g_assert_nonnull(inflight.addr);
    g_assert_cmpmem(inflight.addr, 4, "INFL", 4);
    g_assert_cmpuint(inflight.size, ==, getpagesize());
    g_assert_cmpuint(inflight.queue_size, ==, 128);
    g_assert_true(vhost_user_ops.set_inflight_fd(&f->dev, &inflight, &err));
    fb_join(f, true);
    rec_check(f, 0, VHOST_USER_GET_INFLIGHT_FD, 1, sizeof(in), 0);
    g_assert_cmpuint(f->rec[0].payload.inflight.mmap_size, ==, 0);
    g_assert_cmpuint(f->rec[0].payload.inflight.num_queues, ==, 2);
    g_assert_cmpuint(f->rec[0].payload.inflight.queue_size, ==, 128);
    rec_check(f, 1, VHOST_USER_SET_INFLIGHT_FD, FL_NEED, sizeof(in), 1);
    g_assert_true(same_file(f->rec[1].fds[0], mfd));
    g_assert_cmpuint(f->rec[1].payload.inflight.mmap_size, ==,
                     getpagesize());
    vhost_dev_free_inflight(&inflight);

    st[0].fd = -1;                          /* a region without its fd */
    fb_start(f, st, 1);
    g_assert_false(vhost_user_ops.get_inflight_fd(&f->dev, 128, &inflight,
                                                  &err));
    fb_join(f, true);
    g_assert_nonnull(strstr(error_get_pretty(err), "carries no fd"));
    error_free(err);
    g_assert_null(inflight.addr);
    g_assert_false(qemu_chr_is_connected(f->chr));
    close(mfd);
}

static void test_log_base(Fixture *f, gconstpointer data)
{
    struct vhost_log log = { .size = 16, .fd = memfd_page("log") };
    struct vhost_dev second = { .vq_index = 2, .nvqs = 2, .opaque = &f->u };
    FbStep st[] = {
        st_reply(VHOST_USER_SET_LOG_BASE, 0, NULL),     /* DPDK */
        st_u64(VHOST_USER_SET_LOG_BASE, 128),           /* libvhost-user */
    };
    Error *err = NULL;

    init_proto(f, PF(REPLY_ACK) | PF(LOG_SHMFD));
    fb_start(f, st, 2);
    g_assert_true(vhost_user_ops.set_log_base(&f->dev, &log, &err));
    g_assert_true(vhost_user_ops.set_log_base(&f->dev, &log, &err));
    fb_join(f, true);
    /* Its reply is the ack: no NEED_REPLY even with REPLY_ACK. */
    rec_check(f, 0, VHOST_USER_SET_LOG_BASE, 1, sizeof(VhostUserLog), 1);
    g_assert_cmpuint(f->rec[0].payload.log.mmap_size, ==, 16 * 8);
    g_assert_cmpuint(f->rec[0].payload.log.mmap_offset, ==, 0);
    g_assert_true(same_file(f->rec[0].fds[0], log.fd));
    /* Device-wide: only the vhost_dev of queue 0 sends it. */
    g_assert_true(vhost_user_ops.set_log_base(&second, &log, &err));
    fb_assert_quiet(f);
    close(log.fd);
}

/* --- the backend channel --------------------------------------------------- */

#define PF_CHANNEL (PF(REPLY_ACK) | PF(BACKEND_REQ) | PF(CONFIG) | \
                    PF(HOST_NOTIFIER))

static void test_channel_config_change(Fixture *f, gconstpointer data)
{
    init_proto(f, PF_CHANNEL);
    chan_send(f, VHOST_USER_BACKEND_CONFIG_CHANGE_MSG, FL_NEED, NULL, 0, -1);
    g_assert_cmpuint(chan_reply(f, VHOST_USER_BACKEND_CONFIG_CHANGE_MSG), ==,
                     0);
    g_assert_cmpuint(f->config_changes, ==, 1);
    /* Without NEED_REPLY: handled, not answered. */
    chan_send(f, VHOST_USER_BACKEND_CONFIG_CHANGE_MSG, VHOST_USER_VERSION,
              NULL, 0, -1);
    WAIT_FOR(f->u.backend_requests == 2);
    g_assert_cmpuint(f->config_changes, ==, 2);
    g_assert_false(chan_readable(f));
    g_assert_true(vhost_user_is_connected(&f->u));
}

static void test_channel_host_notifier(Fixture *f, gconstpointer data)
{
    const uint64_t page = getpagesize();
    const uint64_t nofd = VHOST_USER_VRING_NOFD_MASK;
    int mfd = memfd_page("doorbell");

    g_assert_cmpint(pwrite(mfd, "DOORBELL", 8, 0), ==, 8);
    init_proto(f, PF_CHANNEL);
    g_assert_cmpuint(host_notifier(f, 1, page, 0, mfd), ==, 0);
    g_assert_nonnull(f->u.notifiers[1].addr);
    g_assert_cmpmem(f->u.notifiers[1].addr, 8, "DOORBELL", 8);
    /* Refused: not one page, not page-aligned, no such queue, no fd. */
    g_assert_cmpuint(host_notifier(f, 0, 2 * page, 0, mfd), ==, 1);
    g_assert_cmpuint(host_notifier(f, 0, page, 100, mfd), ==, 1);
    g_assert_cmpuint(host_notifier(f, 5, page, 0, mfd), ==, 1);
    g_assert_cmpuint(host_notifier(f, 0, page, 0, -1), ==, 1);
    g_assert_null(f->u.notifiers[0].addr);
    g_assert_nonnull(f->u.notifiers[1].addr);
    /* NOFD withdraws the page. */
    g_assert_cmpuint(host_notifier(f, 1 | nofd, 0, 0, -1), ==, 0);
    g_assert_null(f->u.notifiers[1].addr);
    g_assert_true(vhost_user_is_connected(&f->u));
    close(mfd);
}

static void test_channel_refused(Fixture *f, gconstpointer data)
{
    VhostUserIotlb iotlb = { .iova = 0x1000, .size = 0x1000, .type = 1 };

    init_proto(f, PF_CHANNEL);
    chan_send(f, VHOST_USER_BACKEND_IOTLB_MSG, FL_NEED, &iotlb, sizeof(iotlb),
              -1);
    g_assert_cmpuint(chan_reply(f, VHOST_USER_BACKEND_IOTLB_MSG), ==, 1);
    chan_send(f, 42, FL_NEED, NULL, 0, -1);
    g_assert_cmpuint(chan_reply(f, 42), ==, 1);
    g_assert_true(vhost_user_is_connected(&f->u));
    g_assert_cmpuint(f->config_changes, ==, 0);
}

/* A second vhost_dev on the connection (queue pair 2-3) reuses the
 * negotiation; its queues exist for the backend channel until cleanup. */
static void test_shared_connection(Fixture *f, gconstpointer data)
{
    struct vhost_dev second = { .vq_index = 2, .nvqs = 2, .vq_index_end = 4,
                                .vhost_ops = &vhost_user_ops };
    int mfd = memfd_page("doorbell3");
    Error *err = NULL;

    init_proto(f, PF_CHANNEL | PF(MQ));
    g_assert_cmpuint(host_notifier(f, 3, getpagesize(), 0, mfd), ==, 1);
    g_assert_true(vhost_user_ops.backend_init(&second, &f->u, &err));
    g_assert_true(vhost_user_ops.set_owner(&second, &err));
    fb_assert_quiet(f);
    g_assert_cmphex(second.features, ==, f->dev.features);
    g_assert_true(second.opaque == &f->u);
    g_assert_true(vhost_user_has_protocol_feature(&second,
                                                  VHOST_USER_PROTOCOL_F_MQ));
    g_assert_cmpuint(host_notifier(f, 3, getpagesize(), 0, mfd), ==, 0);
    g_assert_nonnull(f->u.notifiers[3].addr);
    /* Config changes go to the first vhost_dev. */
    chan_send(f, VHOST_USER_BACKEND_CONFIG_CHANGE_MSG, FL_NEED, NULL, 0, -1);
    g_assert_cmpuint(chan_reply(f, VHOST_USER_BACKEND_CONFIG_CHANGE_MSG), ==,
                     0);
    g_assert_cmpuint(f->config_changes, ==, 1);
    vhost_user_ops.backend_cleanup(&second);
    g_assert_null(f->u.notifiers[3].addr);
    g_assert_cmpuint(f->u.devs->len, ==, 1);
    close(mfd);
}

typedef struct BadBackendMsg {
    const char *name;
    uint32_t flags, size;
    bool with_fd, cut_short;
} BadBackendMsg;

static const BadBackendMsg bad_backend_msgs[] = {
    { "reply-flag", FL_REPLY, 0 },
    { "version", 2, 0 },
    { "oversized", VHOST_USER_VERSION, VHOST_USER_PAYLOAD_MAX + 1 },
    { "fd", VHOST_USER_VERSION, 0, .with_fd = true },
    { "cut-short", VHOST_USER_VERSION, 8, .cut_short = true },
};

static void test_channel_malformed(Fixture *f, gconstpointer data)
{
    const BadBackendMsg *c = data;
    int mfd = c->with_fd ? memfd_page("stray") : -1;
    char byte;

    init_proto(f, PF_CHANNEL);
    f->u.timeout_ms = 100;
    chan_send_raw(f, VHOST_USER_BACKEND_CONFIG_CHANGE_MSG, c->flags, NULL,
                  c->size, c->cut_short ? 0 : -1, mfd);
    WAIT_FOR(f->closed_events == 1);
    g_assert_false(qemu_chr_is_connected(f->chr));
    g_assert_cmpint(f->u.backend_fd, ==, -1);
    g_assert_cmpuint(f->u.protocol_errors, ==, 1);
    g_assert_cmpuint(f->config_changes, ==, 0);
    /* Closed (reset when our unread bytes were still queued). */
    g_assert_cmpint(recv(f->chan_fd, &byte, 1, 0), <=, 0);
    if (mfd >= 0) {
        close(mfd);
    }
}

/* --- fd leaks -------------------------------------------------------------- */

/* Everything that takes or hands out fds, then a protocol error. */
static void leak_scenario(void)
{
    Fixture *f = g_new0(Fixture, 1);
    int mfd = memfd_page("leak");
    VhostUserInflight in = { .mmap_size = getpagesize() };
    VhostUserVringState vs = { 0, 0 };
    FbStep st[] = {
        st_u64(VHOST_USER_ADD_MEM_REG, 0),
        st_reply(VHOST_USER_GET_INFLIGHT_FD, sizeof(in), &in),
        st_reply(VHOST_USER_GET_VRING_BASE, sizeof(vs), &vs),
    };
    struct vhost_vring_state s = { 0 };
    VhostInflight inflight = { .fd = -1 };
    VhostMemoryRegion r;

    fixture_setup(f, NULL);
    init_proto(f, PF_ALL);
    g_assert_cmpuint(host_notifier(f, 0, getpagesize(), 0, mfd), ==, 0);
    make_regions(&r, 1, mfd);
    st[1].fd = st[2].fd = mfd;              /* the last one is unexpected */
    fb_start(f, st, G_N_ELEMENTS(st));
    g_assert_true(vhost_user_ops.set_mem_table(&f->dev, &r, 1, NULL));
    g_assert_true(vhost_user_ops.get_inflight_fd(&f->dev, 64, &inflight,
                                                 NULL));
    g_assert_false(vhost_user_ops.get_vring_base(&f->dev, &s, NULL));
    fb_join(f, true);
    vhost_dev_free_inflight(&inflight);
    WAIT_FOR(f->closed_events == 1);
    fixture_teardown(f, NULL);
    g_free(f);
    close(mfd);
}

static void test_no_fd_leaks(void)
{
    unsigned before;

    leak_scenario();                        /* glib's lazy fds settle */
    before = count_fds();
    leak_scenario();
    g_assert_cmpuint(count_fds(), ==, before);
}

int main(int argc, char **argv)
{
    static const struct {
        const char *path;
        void (*fn)(Fixture *, gconstpointer);
    } tests[] = {
        { "/vhost-user/init/plain", test_init_plain },
        { "/vhost-user/init/protocol", test_init_protocol },
        { "/vhost-user/device-requests", test_device_requests },
        { "/vhost-user/reply-ack/failure", test_reply_ack_failure },
        { "/vhost-user/vring/base", test_vring_base },
        { "/vhost-user/vring/setup", test_vring_setup },
        { "/vhost-user/mem/table", test_mem_table },
        { "/vhost-user/mem/merge-filter", test_mem_merge_filter },
        { "/vhost-user/mem/slots", test_mem_slots },
        { "/vhost-user/config", test_config },
        { "/vhost-user/inflight", test_inflight },
        { "/vhost-user/log-base", test_log_base },
        { "/vhost-user/channel/config-change", test_channel_config_change },
        { "/vhost-user/channel/host-notifier", test_channel_host_notifier },
        { "/vhost-user/channel/refused", test_channel_refused },
        { "/vhost-user/channel/shared", test_shared_connection },
    };

    g_test_init(&argc, &argv, NULL);
    for (size_t i = 0; i < G_N_ELEMENTS(tests); i++) {
        g_test_add(tests[i].path, Fixture, NULL, fixture_setup, tests[i].fn,
                   fixture_teardown);
    }
    for (size_t i = 0; i < G_N_ELEMENTS(bad_replies); i++) {
        g_autofree char *path = g_strdup_printf("/vhost-user/bad-reply/%s",
                                                bad_replies[i].name);
        g_test_add(path, Fixture, &bad_replies[i], fixture_setup,
                   test_bad_reply, fixture_teardown);
    }
    for (size_t i = 0; i < G_N_ELEMENTS(bad_backend_msgs); i++) {
        g_autofree char *path = g_strdup_printf(
            "/vhost-user/channel/malformed/%s", bad_backend_msgs[i].name);
        g_test_add(path, Fixture, &bad_backend_msgs[i], fixture_setup,
                   test_channel_malformed, fixture_teardown);
    }
    g_test_add_func("/vhost-user/no-fd-leaks", test_no_fd_leaks);
    return g_test_run();
}
