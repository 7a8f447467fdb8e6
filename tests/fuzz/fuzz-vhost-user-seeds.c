/* SPDX-License-Identifier: MIT */
/*
 * The standalone campaign of fuzz-vhost-user (the harness is in
 * fuzz-vhost-user.c, the backend's side in fuzz-vhost-user-peer.c): its
 * seeds, a mutator that knows the operations, and main() (see
 * fuzz-common.h for the environment and arguments).
 *
 * The seeds are conversations with the well-behaved backend, recorded:
 * a script of actions and backend-channel messages is run against it for
 * every device model and protocol-feature variant, and each answer it
 * gave is written into the seed as an OP_MAIN operation right before the
 * action that asked for it; replayed, the seed says exactly what that
 * backend said, so every seed is accepted, and a mutation of one answer
 * is a backend that got that one wrong.
 */
#include "fuzz-vhost-user.h"
#include "qemu/log.h"

#include <linux/virtio_blk.h>

/* --- scripts ------------------------------------------------------------- */

static void put_le(GByteArray *b, uint64_t v, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        uint8_t c = v >> (8 * i);

        g_byte_array_append(b, &c, 1);
    }
}

static void act(GByteArray *b, uint8_t a)
{
    put_le(b, OP_ACT, 1);
    put_le(b, a, 1);
}

static void act_driver(GByteArray *b, uint8_t queues, uint64_t drop)
{
    act(b, ACT_DRIVER_OK);
    put_le(b, queues, 1);
    put_le(b, drop, 8);
}

static void act_config(GByteArray *b, uint8_t offset, uint8_t value)
{
    act(b, ACT_CONFIG);
    put_le(b, offset, 1);
    put_le(b, value, 1);
}

static void act_log_sync(GByteArray *b, uint8_t pattern)
{
    act(b, ACT_LOG_SYNC);
    put_le(b, pattern, 1);
}

static void chan(GByteArray *b, uint32_t request, bool need_reply,
                 const void *payload, uint32_t size, uint8_t fds)
{
    FvuMsg m = {
        .hdr = { request, VHOST_USER_VERSION |
                          (need_reply ? VHOST_USER_NEED_REPLY : 0), size },
        .len = size,
        .fds = fds,
    };

    if (size) {
        memcpy(m.payload, payload, size);
    }
    fvu_put_msg(b, OP_CHAN, &m);
}

/* What the backend channel carries: a config change, a host-notifier
 * page offered and withdrawn, an IOTLB message and an unknown request
 * (both refused). */
static void script_channel(GByteArray *b)
{
    VhostUserVringArea page = { .u64 = 0, .size = getpagesize() };
    VhostUserVringArea gone = { .u64 = VHOST_USER_VRING_NOFD_MASK };
    VhostUserIotlb iotlb = { .iova = 0x1000, .size = 0x1000, .type = 2 };

    chan(b, VHOST_USER_BACKEND_CONFIG_CHANGE_MSG, true, NULL, 0, 0);
    chan(b, VHOST_USER_BACKEND_VRING_HOST_NOTIFIER_MSG, true, &page,
         sizeof(page), FVU_FDS(FVU_FD_MEMFD, 1));
    chan(b, VHOST_USER_BACKEND_CONFIG_CHANGE_MSG, false, NULL, 0, 0);
    chan(b, VHOST_USER_BACKEND_VRING_HOST_NOTIFIER_MSG, false, &gone,
         sizeof(gone), 0);
    chan(b, VHOST_USER_BACKEND_IOTLB_MSG, true, &iotlb, sizeof(iotlb), 0);
    chan(b, 42, true, NULL, 0, 0);
    act(b, ACT_LOOP);
}

/* A device's life: a driver, the channel, config, a migration that
 * fails after the VM stopped, memory hotplug, announce, reset. */
static GByteArray *script_life(unsigned model)
{
    GByteArray *b = g_byte_array_new();
    uint8_t cfg = model == FVU_DEV ? 3 :
                  offsetof(struct virtio_blk_config, wce);

    act_driver(b, 0, 0);
    script_channel(b);
    act_config(b, cfg, 1);
    act(b, ACT_MIG_SETUP);
    act_log_sync(b, 0x5a);
    act(b, ACT_MEM);
    act_log_sync(b, 0xff);
    act(b, ACT_MIG_STOP);
    act(b, ACT_MIG_CANCEL);
    act(b, ACT_MEM);
    act(b, ACT_ANNOUNCE);
    act(b, ACT_RESET);
    return b;
}

/* Queues of other sizes or missing, features dropped; the backend is
 * replaced while the driver runs (the device reconnects and restarts),
 * also during a migration (the new one logs from the start); a second
 * backend is turned away. */
static GByteArray *script_restart(void)
{
    GByteArray *b = g_byte_array_new();

    act_driver(b, 2, 1ULL << VIRTIO_RING_F_EVENT_IDX);
    act(b, ACT_MEM);
    act(b, ACT_NEW_PEER);
    act(b, ACT_LOOP);
    act(b, ACT_RESET);
    act_driver(b, 1 | 8, 1ULL << VIRTIO_F_NOTIFY_ON_EMPTY);
    act(b, ACT_MIG_SETUP);
    act(b, ACT_NEW_PEER);
    act(b, ACT_LOOP);
    act_log_sync(b, 0x81);
    act(b, ACT_SECOND_PEER);
    act(b, ACT_LOOP);
    act(b, ACT_MIG_CANCEL);
    act(b, ACT_RESET);
    return b;
}

static void add_seed(GPtrArray *seeds, uint8_t cfg, unsigned v,
                     GByteArray *script)
{
    g_ptr_array_add(seeds, fvu_record(cfg, v, script->data, script->len));
    g_byte_array_unref(script);
}

static GPtrArray *fvu_make_seeds(void)
{
    GPtrArray *seeds = g_ptr_array_new_with_free_func(
        (GDestroyNotify)g_byte_array_unref);

    for (unsigned m = 0; m < FVU_MODELS; m++) {
        for (unsigned v = 0; v < FVU_GOOD_VARIANTS; v++) {
            uint8_t cfg = m | v << 3 | ((m + v) & 1 ? FVU_CFG_TEARDOWN : 0);

            add_seed(seeds, cfg, v, script_life(m));
        }
        add_seed(seeds, m | 1 << 3, 1, script_restart());
    }
    return seeds;
}

/* --- a mutator that knows the operations --------------------------------- */

/* Bytes of the operation at p (at most left). */
static size_t fvu_op_len(const uint8_t *p, size_t left)
{
    FuzzInput in = { .data = p, .size = left };
    FvuMsg m;

    if (fuzz_in_u8(&in) % OP_COUNT != OP_ACT) {
        fvu_get_msg(&in, &m);
    } else {
        switch (fuzz_in_u8(&in) % ACT_COUNT) {
        case ACT_DRIVER_OK:
            fuzz_in_u8(&in);
            fuzz_in_le(&in, 8);
            break;
        case ACT_LOG_SYNC:
            fuzz_in_u8(&in);
            break;
        case ACT_CONFIG:
            fuzz_in_le(&in, 2);
            break;
        }
    }
    return in.pos;
}

/* Offsets of the operations of ba; returns how many. */
static unsigned fvu_ops(const GByteArray *ba, size_t *offs)
{
    unsigned n = 0;

    for (size_t at = 1; at < ba->len && n < FVU_MAX_OPS; n++) {
        offs[n] = at;
        at += fvu_op_len(ba->data + at, ba->len - at);
    }
    return n;
}

static uint32_t fvu_wild_flags(GRand *r)
{
    static const uint32_t flags[] = {
        0, 1, 2, 3, 4, 5, 6, 8, 9, 0xd, 0x101, 0x80000005,
    };

    return flags[g_rand_int_range(r, 0, G_N_ELEMENTS(flags))];
}

static void fvu_insert(GByteArray *ba, size_t at, const void *data,
                       size_t len)
{
    size_t tail = ba->len - at;

    g_byte_array_set_size(ba, ba->len + len);
    memmove(ba->data + at + len, ba->data + at, tail);
    memcpy(ba->data + at, data, len);
}

/* One header field of the message at p: request, flags or size. */
static void fvu_mutate_header(GRand *r, uint8_t *p)
{
    unsigned field = g_rand_int_range(r, 0, 3);
    uint32_t v = fuzz_load(p + 1 + 4 * field, 4, false);

    if (field == 0) {
        v = g_rand_boolean(r) ? (uint32_t)g_rand_int_range(r, 0, 48)
                              : (uint32_t)fuzz_interesting(r);
    } else if (field == 1) {
        v = fvu_wild_flags(r);
    } else {
        v = g_rand_boolean(r) ? (uint32_t)fuzz_interesting(r)
                              : v + g_rand_int_range(r, -16, 17);
    }
    fuzz_store(p + 1 + 4 * field, v, 4, false);
}

/* The payload of the message at at cut short or grown; the header's
 * size stays. */
static void fvu_mutate_payload(GRand *r, GByteArray *ba, size_t at)
{
    size_t len = fuzz_load(ba->data + at + 13, 2, false);
    size_t body = at + 15;
    size_t want = g_rand_int_range(r, 0, MIN(len + 17, FVU_MAX_PAYLOAD + 1));

    if (body + len > ba->len) {
        return;
    }
    if (want < len) {
        g_byte_array_remove_range(ba, body + want, len - want);
    } else {
        for (size_t i = len; i < want; i++) {
            uint8_t c = g_rand_int(r);

            fvu_insert(ba, body + i, &c, 1);
        }
    }
    fuzz_store(ba->data + at + 13, want, 2, false);
}

static void fvu_insert_action(GRand *r, GByteArray *ba, size_t at)
{
    static const uint8_t acts[] = {
        ACT_HANGUP, ACT_CHAN_HANGUP, ACT_NEW_PEER, ACT_SECOND_PEER,
        ACT_LOOP, ACT_RESET, ACT_MIG_SETUP, ACT_MIG_STOP, ACT_MIG_CANCEL,
        ACT_MEM,
    };
    uint8_t op[2] = {
        OP_ACT, acts[g_rand_int_range(r, 0, G_N_ELEMENTS(acts))],
    };

    fvu_insert(ba, at, op, 2);
}

static void fvu_mutate(GRand *r, GByteArray *ba)
{
    size_t offs[FVU_MAX_OPS];
    unsigned n = fvu_ops(ba, offs), i;
    size_t at, len;
    bool msg;

    if (!n) {
        return;
    }
    i = g_rand_int_range(r, 0, n);
    at = offs[i];
    len = i + 1 < n ? offs[i + 1] - at : ba->len - at;
    msg = ba->data[at] % OP_COUNT != OP_ACT && len >= 16;
    switch (g_rand_int_range(r, 0, 6)) {
    case 0:
        if (msg) {
            fvu_mutate_header(r, ba->data + at);
        }
        break;
    case 1:
        if (msg) {
            fvu_mutate_payload(r, ba, at);
        }
        break;
    case 2:
        ba->data[at + len - 1] = g_rand_int(r);     /* fds, or an argument */
        break;
    case 3:
        g_byte_array_remove_range(ba, at, len);
        break;
    case 4: {
        g_autofree uint8_t *copy = g_memdup2(ba->data + at, len);

        fvu_insert(ba, at, copy, len);
        break;
    }
    default:
        fvu_insert_action(r, ba, at);
        break;
    }
    if (ba->len > FVU_MAX_INPUT) {
        g_byte_array_set_size(ba, FVU_MAX_INPUT);
    }
}

/* --- main ---------------------------------------------------------------- */

static void fvu_summary(GString *out)
{
    g_string_append_printf(out, "; %u operations (%u messages, %u on the "
                           "channel, %u dropped, %u actions), %u realize "
                           "failures, %u protocol errors, %u backends lost, "
                           "%u inputs started the device, %u recoveries "
                           "(%u after a teardown with the backend attached)",
                           fvu_stats.ops, fvu_stats.messages,
                           fvu_stats.chan_messages, fvu_stats.dropped,
                           fvu_stats.actions, fvu_stats.realize_failed,
                           fvu_stats.protocol_errors, fvu_stats.disconnects,
                           fvu_stats.started, fvu_stats.recovered,
                           fvu_stats.torn_down_attached);
}

int main(int argc, char **argv)
{
    static const FuzzTarget target = {
        .name = "fuzz-vhost-user",
        .iterations = 15000,
        .max_input = FVU_MAX_INPUT,
        .make_seeds = fvu_make_seeds,
        .run = fvu_fuzz_one,
        .mutate = fvu_mutate,
        .summary = fvu_summary,
        .last_error = fvu_last_error,
    };

    /* FUZZ_VERBOSE=1: the details kvmini keeps for -d vhost. */
    if (getenv("FUZZ_VERBOSE")) {
        qemu_log_set_categories("vhost", NULL);
    }
    return fuzz_main(&target, argc, argv);
}
