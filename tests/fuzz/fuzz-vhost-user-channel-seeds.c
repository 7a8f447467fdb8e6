/* SPDX-License-Identifier: MIT */
/*
 * The standalone campaign of fuzz-vhost-user-channel (the harness is in
 * fuzz-vhost-user-channel.c): its seeds — backends that use the channel
 * as the spec allows (config changes with and without NEED_REPLY,
 * host-notifier pages offered for every queue of one or two vhost_devs
 * and withdrawn, requests kvmini refuses: pages of the wrong size, at an
 * unaligned offset, of an fd that cannot be mapped, for a queue it does
 * not have, IOTLB, unknown requests; a message in two writes; a hang-up)
 * with and without the features that make them valid — and main() (see
 * fuzz-common.h for the environment and arguments).  No seed drops the
 * backend; the mutations do.
 */
#include "fuzz-vhost-user-channel.h"
#include "qemu/log.h"

static void put(GByteArray *b, uint64_t v, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        uint8_t c = v >> (8 * i);

        g_byte_array_append(b, &c, 1);
    }
}

/* Indices of op_notifier's tables. */
enum { SZ_PAGE, SZ_0, SZ_1, SZ_PAGE_1, SZ_PAGE1, SZ_2PAGES };
enum { OFF_0, OFF_PAGE, OFF_16PAGES, OFF_1 };

static void notifier(GByteArray *b, uint8_t flags, uint8_t q, uint8_t size,
                     uint8_t off, uint8_t fds)
{
    put(b, FVC_OP_NOTIFIER, 1);
    put(b, flags, 1);
    put(b, q, 1);
    put(b, size, 1);
    put(b, off, 1);
    put(b, fds, 1);
}

static void config(GByteArray *b, uint8_t flags, uint8_t len)
{
    put(b, FVC_OP_CONFIG, 1);
    put(b, flags, 1);
    put(b, len, 1);
    put(b, 0, 1);
}

static void raw(GByteArray *b, uint32_t request, uint32_t flags,
                const void *payload, uint32_t size)
{
    FvuMsg m = {
        .hdr = { request, flags, size },
        .len = size,
    };

    if (size) {
        memcpy(m.payload, payload, size);
    }
    fvu_put_msg(b, FVC_OP_RAW, &m);
}

static void loop(GByteArray *b)
{
    put(b, FVC_OP_LOOP, 1);
}

#define NEED    FVC_F_NEED_REPLY
#define V1      VHOST_USER_VERSION
#define V1_NEED (VHOST_USER_VERSION | VHOST_USER_NEED_REPLY)

/* Everything valid, on two vhost_devs (queues 0-3). */
static GByteArray *seed_full(void)
{
    GByteArray *b = g_byte_array_new();
    VhostUserIotlb iotlb = { .iova = 0x1000, .size = 0x1000, .type = 2 };

    put(b, FVC_CFG_TWO_DEVS | FVC_CFG_CONFIG | FVC_CFG_HOST_NOTIFIER |
           FVC_CFG_REPLY_ACK | FVC_CFG_MQ, 1);
    config(b, NEED, 0);
    config(b, 0, 4);
    loop(b);
    for (uint8_t q = 0; q < 4; q++) {
        notifier(b, NEED, q, SZ_PAGE, q ? OFF_PAGE : OFF_0,
                 FVU_FDS(q == 3 ? FVU_FD_MEMFD_EMPTY : FVU_FD_MEMFD, 1));
    }
    notifier(b, NEED | FVC_F_NOFD, 1, SZ_0, OFF_0, 0);
    notifier(b, NEED, 5, SZ_PAGE, OFF_0, FVU_FDS(FVU_FD_MEMFD, 1));
    notifier(b, NEED, 0, SZ_2PAGES, OFF_0, FVU_FDS(FVU_FD_MEMFD, 1));
    notifier(b, NEED, 0, SZ_PAGE, OFF_1, FVU_FDS(FVU_FD_MEMFD_BIG, 1));
    notifier(b, NEED, 2, SZ_PAGE, OFF_0, FVU_FDS(FVU_FD_EVENTFD, 1));
    notifier(b, 0, 2, SZ_PAGE, OFF_0, 0);
    loop(b);
    raw(b, VHOST_USER_BACKEND_IOTLB_MSG, V1_NEED, &iotlb, sizeof(iotlb));
    raw(b, 42, V1_NEED, NULL, 0);
    raw(b, VHOST_USER_BACKEND_NONE, V1, NULL, 0);
    loop(b);
    /* A config change in two writes. */
    put(b, FVC_OP_SPLIT, 1);
    put(b, 5, 1);
    put(b, VHOST_USER_BACKEND_CONFIG_CHANGE_MSG, 4);
    put(b, V1_NEED, 4);
    put(b, 0, 4);
    put(b, 0, 2);
    put(b, 0, 1);
    loop(b);
    put(b, FVC_OP_HANGUP, 1);
    loop(b);
    return b;
}

/* Without CONFIG and HOST_NOTIFIER: refused, answered 1; then the
 * backend closes the channel. */
static GByteArray *seed_refused(void)
{
    GByteArray *b = g_byte_array_new();

    put(b, FVC_CFG_REPLY_ACK, 1);
    config(b, NEED, 0);
    notifier(b, NEED, 0, SZ_PAGE, OFF_0, FVU_FDS(FVU_FD_MEMFD, 1));
    notifier(b, NEED | FVC_F_NOFD, 1, SZ_0, OFF_0, 0);
    loop(b);
    put(b, FVC_OP_CLOSE, 1);
    loop(b);
    return b;
}

/* One vhost_dev; pages replaced and withdrawn without replies. */
static GByteArray *seed_one_dev(void)
{
    GByteArray *b = g_byte_array_new();

    put(b, FVC_CFG_HOST_NOTIFIER | FVC_CFG_CONFIG, 1);
    notifier(b, 0, 0, SZ_PAGE, OFF_16PAGES, FVU_FDS(FVU_FD_MEMFD_BIG, 1));
    notifier(b, 0, 0, SZ_PAGE, OFF_0, FVU_FDS(FVU_FD_MEMFD, 1));
    notifier(b, NEED, 1, SZ_PAGE, OFF_0, FVU_FDS(FVU_FD_DIR, 1));
    notifier(b, NEED, 2, SZ_PAGE, OFF_0, FVU_FDS(FVU_FD_MEMFD, 1));
    config(b, 0, 0);
    loop(b);
    notifier(b, FVC_F_NOFD, 0, SZ_PAGE, OFF_0, 0);
    config(b, NEED, 15);
    loop(b);
    return b;
}

static GPtrArray *fvc_make_seeds(void)
{
    GPtrArray *seeds = g_ptr_array_new_with_free_func(
        (GDestroyNotify)g_byte_array_unref);

    g_ptr_array_add(seeds, seed_full());
    g_ptr_array_add(seeds, seed_refused());
    g_ptr_array_add(seeds, seed_one_dev());
    return seeds;
}

static void fvc_summary(GString *out)
{
    g_string_append_printf(out, "; %u messages written, %u handled (%u "
                           "refused), %u inputs dropped the backend, %u "
                           "quiet hang-ups, %u replies, %u recoveries",
                           fvc_stats.messages, fvc_stats.handled,
                           fvc_stats.refused, fvc_stats.malformed,
                           fvc_stats.quiet_closes, fvc_stats.replies,
                           fvc_stats.recovered);
}

int main(int argc, char **argv)
{
    static const FuzzTarget target = {
        .name = "fuzz-vhost-user-channel",
        .iterations = 10000,
        .max_input = FVC_MAX_INPUT,
        .make_seeds = fvc_make_seeds,
        .run = fvc_fuzz_one,
        .summary = fvc_summary,
        .last_error = fvc_last_error,
    };

    /* FUZZ_VERBOSE=1: the details kvmini keeps for -d vhost. */
    if (getenv("FUZZ_VERBOSE")) {
        qemu_log_set_categories("vhost", NULL);
    }
    return fuzz_main(&target, argc, argv);
}
