/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target for the backend -> frontend channel of vhost-user
 * (hw/virtio/vhost-user-backend.c) on its own: a connection as the unit
 * tests set one up (tests/unit/test-vhost-user.c: a socket chardev, a
 * VhostUserState, one or two struct vhost_dev on it, no device), its
 * negotiation answered by fuzz-vhost-user's well-behaved peer, and then
 * the backend's side of the channel (SET_BACKEND_REQ_FD) writes what the
 * input says: well-formed and malformed requests, header fields of any
 * value, payloads cut short or too long, fds of any kind and number,
 * NEED_REPLY or not, CONFIG_CHANGE_MSG, VRING_HOST_NOTIFIER_MSG with odd
 * queues, sizes, offsets and fds, IOTLB and unknown requests, messages
 * in two pieces, hang-ups.  The config notifier of the first vhost_dev
 * reads the config again (GET_CONFIG on the main socket), as a device
 * does.
 *
 * The oracle is a model of the protocol: it frames the bytes written as
 * the spec says (a header, then exactly its size of payload; the fds of
 * a sendmsg arrive with its first byte) and decides for each message:
 * handled (reply 0 if asked), refused (reply 1 if asked, one warning
 * logged), or malformed (bad flags, too large, cut short, fds where
 * none belong or more than 8: the channel closed, the backend dropped
 * with one "disconnecting backend: backend channel: ..." line); a hang-up
 * between messages closes the channel quietly.  After every FVC_OP_LOOP
 * the replies on the channel, the config changes seen, which queues have
 * a host-notifier page, whether the channel and the connection are up
 * must be what the model says.  After the input the backend goes, a new
 * well-behaved one connects and its channel must work (a config change
 * answered, a page mapped); every page mapped is unmapped at cleanup, no
 * fd and no main-loop source is left.
 *
 * Two builds, as fuzz-vhost-user.c: with KVMINI_LIBFUZZER this file, the
 * peer and the oracle helpers are a libFuzzer target; otherwise they are
 * linked with fuzz-vhost-user-channel-seeds.c into a standalone campaign
 * (see fuzz-common.h).
 */
#include "fuzz-vhost-user-channel.h"
#include "fuzz-process.h"
#include "qemu/compiler.h"

#include <sys/socket.h>

FvcStats fvc_stats;

#define PF(b)   (1ULL << VHOST_USER_PROTOCOL_F_##b)

/* --- the model ----------------------------------------------------------------- */

typedef struct FvcSkb {
    size_t start;               /* offset in the stream */
    unsigned nfds;
    uint8_t kind;               /* FVU_FD_* */
} FvcSkb;

typedef struct FvcReply {
    uint32_t request;
    uint64_t value;
} FvcReply;

typedef struct FvcModel {
    uint64_t pf;                /* protocol features in force */
    unsigned queues;            /* of the vhost_devs on the connection */
    GByteArray *stream;         /* written, not yet handled */
    GArray *skbs;               /* FvcSkb: each sendmsg */
    bool eof;                   /* our write side is shut */
    bool closed;                /* our end is closed: no reply can go */
    bool open;                  /* the frontend's end is open */
    bool dropped;               /* the connection was dropped */
    bool mapped[VIRTIO_QUEUE_MAX];
    unsigned config_changes, refused, handled;
    GArray *replies;            /* FvcReply, in order */
} FvcModel;

typedef enum { RES_OK, RES_REFUSED, RES_MALFORMED } FvcResult;

static void fvc_model_init(FvcModel *m, uint64_t pf, unsigned queues)
{
    memset(m, 0, sizeof(*m));
    m->pf = pf;
    m->queues = queues;
    m->stream = g_byte_array_new();
    m->skbs = g_array_new(FALSE, FALSE, sizeof(FvcSkb));
    m->replies = g_array_new(FALSE, FALSE, sizeof(FvcReply));
    m->open = true;
}

static void fvc_model_free(FvcModel *m)
{
    g_byte_array_unref(m->stream);
    g_array_unref(m->skbs);
    g_array_unref(m->replies);
}

static void fvc_model_sent(FvcModel *m, const void *data, size_t len,
                           uint8_t fds)
{
    FvcSkb skb = { m->stream->len, fvu_fds_count(fds), fds & 7 };

    g_byte_array_append(m->stream, data, len);
    g_array_append_val(m->skbs, skb);
}

/* The fds that arrive with bytes [from, to) of the stream: those of each
 * sendmsg whose first byte is there; false if the frontend cannot take
 * them (more than 8 in one sendmsg, or in one message). */
static bool fvc_fds(FvcModel *m, size_t from, size_t to, unsigned *n,
                    uint8_t *kind)
{
    for (guint i = 0; i < m->skbs->len; i++) {
        FvcSkb *s = &g_array_index(m->skbs, FvcSkb, i);

        if (s->start >= from && s->start < to && s->nfds) {
            if (s->nfds > VHOST_USER_MAX_FDS) {
                return false;
            }
            *n += s->nfds;
            *kind = s->kind;
        }
    }
    return *n <= VHOST_USER_MAX_FDS;
}

static bool fvc_known_queue(FvcModel *m, unsigned idx)
{
    return idx < m->queues;
}

/* VRING_HOST_NOTIFIER_MSG, framed: what the frontend must do. */
static FvcResult fvc_notifier(FvcModel *m, const VhostUserMsg *msg,
                              unsigned nfds, uint8_t kind)
{
    const VhostUserVringArea *a = &msg->payload.area;
    unsigned idx = a->u64 & VHOST_USER_VRING_IDX_MASK;
    uint64_t page = getpagesize();
    bool memfd = kind == FVU_FD_MEMFD || kind == FVU_FD_MEMFD_BIG ||
                 kind == FVU_FD_MEMFD_EMPTY;

    if (msg->hdr.size != sizeof(*a) || nfds > 1) {
        return RES_MALFORMED;
    }
    if (!(m->pf & PF(HOST_NOTIFIER)) || !fvc_known_queue(m, idx)) {
        return RES_REFUSED;
    }
    if (a->u64 & VHOST_USER_VRING_NOFD_MASK) {
        if (nfds) {
            return RES_REFUSED;
        }
        m->mapped[idx] = false;
        return RES_OK;
    }
    /* One page of a memfd at a page-aligned offset maps (past the end
     * of the file too); nothing else does. */
    if (nfds != 1 || a->size != page || a->offset % page || !memfd ||
        a->offset > (uint64_t)INT64_MAX - page) {
        return RES_REFUSED;
    }
    m->mapped[idx] = true;
    return RES_OK;
}

static FvcResult fvc_dispatch(FvcModel *m, const VhostUserMsg *msg,
                              unsigned nfds, uint8_t kind)
{
    switch (msg->hdr.request) {
    case VHOST_USER_BACKEND_CONFIG_CHANGE_MSG:
        if (nfds) {
            return RES_MALFORMED;
        }
        if (!(m->pf & PF(CONFIG))) {
            return RES_REFUSED;
        }
        m->config_changes++;
        return RES_OK;
    case VHOST_USER_BACKEND_VRING_HOST_NOTIFIER_MSG:
        return fvc_notifier(m, msg, nfds, kind);
    default:                    /* IOTLB_MSG, unknown ones */
        return RES_REFUSED;
    }
}

static void fvc_model_drop(FvcModel *m)
{
    m->open = false;
    m->dropped = true;
    memset(m->mapped, 0, sizeof(m->mapped));
}

/* One message at the head of the stream; false when the frontend reads
 * no further. */
static bool fvc_model_message(FvcModel *m, size_t *pos)
{
    const uint32_t known = VHOST_USER_VERSION_MASK | VHOST_USER_NEED_REPLY;
    size_t avail = m->stream->len - *pos, hdr = VHOST_USER_HDR_SIZE;
    VhostUserMsg msg = { { 0 } };
    unsigned nfds = 0;
    uint8_t kind = 0;
    FvcResult res;

    if (!avail) {
        m->open = !m->eof;      /* a hang-up between messages: quiet */
        fvc_stats.quiet_closes += m->eof;
        return false;
    }
    memcpy(&msg, m->stream->data + *pos, MIN(avail, sizeof(msg)));
    if (avail < hdr || !fvc_fds(m, *pos, *pos + hdr, &nfds, &kind) ||
        (msg.hdr.flags & VHOST_USER_VERSION_MASK) != VHOST_USER_VERSION ||
        (msg.hdr.flags & ~known) || msg.hdr.size > VHOST_USER_PAYLOAD_MAX ||
        avail - hdr < msg.hdr.size ||
        !fvc_fds(m, *pos + hdr, *pos + hdr + msg.hdr.size, &nfds, &kind)) {
        fvc_model_drop(m);
        return false;
    }
    *pos += hdr + msg.hdr.size;
    m->handled++;
    res = fvc_dispatch(m, &msg, nfds, kind);
    if (res == RES_MALFORMED ||
        ((msg.hdr.flags & VHOST_USER_NEED_REPLY) && m->closed)) {
        fvc_model_drop(m);      /* or the reply cannot be sent */
        return false;
    }
    m->refused += res == RES_REFUSED;
    if (msg.hdr.flags & VHOST_USER_NEED_REPLY) {
        FvcReply r = { msg.hdr.request, res == RES_REFUSED };

        g_array_append_val(m->replies, r);
    }
    return true;
}

/* Everything written so far, as the frontend handles it. */
static void fvc_model_run(FvcModel *m)
{
    size_t pos = 0;

    while (m->open && fvc_model_message(m, &pos)) {
        ;
    }
    g_byte_array_set_size(m->stream, 0);
    g_array_set_size(m->skbs, 0);
}

/* --- the connection -------------------------------------------------------------- */

typedef struct FvcRun {
    Chardev *chr;
    FvuPeer peer;               /* the main socket's well-behaved backend */
    FvuGood good;
    int chan;                   /* the backend's end of the channel */
    VhostUserState u;
    struct vhost_dev devs[2];
    unsigned ndevs;
    unsigned config_changes;    /* the config notifier's calls */
    unsigned closed;            /* CHR_EVENT_CLOSED seen */
    FvcModel model;
} FvcRun;

static void fvc_config_notifier(struct vhost_dev *dev,
                                VhostConfigDoneFn *done, void *opaque)
{
    FvcRun *r = container_of(dev, FvcRun, devs[0]);
    uint8_t config[16];
    Error *err = NULL;

    r->config_changes++;
    /* As a device does: the config again, on the main socket. */
    if (!vhost_user_ops.get_config(dev, config, sizeof(config), &err)) {
        g_error("fuzz-vhost-user-channel: GET_CONFIG after a config "
                "change: %s", error_get_pretty(err));
    }
    if (done) {
        done(dev, opaque);
    }
}

static const VhostDevConfigOps fvc_config_ops = {
    .config_notifier = fvc_config_notifier,
};

/* The connection went down: what a device does on CLOSED. */
static void fvc_down(FvcRun *r)
{
    for (unsigned i = 0; i < r->ndevs; i++) {
        vhost_user_ops.backend_cleanup(&r->devs[i]);
    }
    vhost_user_cleanup(&r->u);
}

static void fvc_chr_event(void *opaque, ChrEvent event)
{
    FvcRun *r = opaque;

    if (event == CHR_EVENT_CLOSED) {
        r->closed++;
        fvc_down(r);
    }
}

/* A backend connects and negotiates (its answers come from the hook, at
 * once): one or two vhost_devs, the channel handed over. */
static void fvc_up(FvcRun *r, uint64_t pf, unsigned ndevs)
{
    Error *err = NULL;

    fvu_peer_init(&r->peer);
    r->good = (FvuGood){
        .features = (1ULL << VIRTIO_F_VERSION_1) |
                    (1ULL << VHOST_USER_F_PROTOCOL_FEATURES),
        .protocol_features = pf,
    };
    r->peer.good = &r->good;
    g_assert_true(fvu_peer_connect(&r->peer, fvu_peer_path()));
    g_assert_true(qemu_chr_wait_connected(r->chr, &err));
    g_assert_true(vhost_user_init(&r->u, r->chr, "vhost-user-fuzz 'ch0'",
                                  &err));
    r->ndevs = ndevs;
    for (unsigned i = 0; i < ndevs; i++) {
        r->devs[i] = (struct vhost_dev){
            .id = "ch0", .nvqs = 2, .vq_index = 2 * i,
            .vq_index_end = 2 * ndevs, .vhost_ops = &vhost_user_ops,
            .opaque = &r->u, .config_ops = i ? NULL : &fvc_config_ops,
        };
        if (!vhost_user_ops.backend_init(&r->devs[i], &r->u, &err)) {
            g_error("fuzz-vhost-user-channel: negotiation: %s",
                    error_get_pretty(err));
        }
    }
    /* What needed no reply (SET_BACKEND_REQ_FD without REPLY_ACK) is
     * read now.  The channel is ours, not the peer's (it would drop the
     * replies); a message cut short must not hold the main loop. */
    fvu_peer_drain(&r->peer);
    r->chan = r->peer.chan_fd;
    r->peer.chan_fd = -1;
    g_assert_cmpint(r->chan, >=, 0);
    r->u.timeout_ms = 0;
    fvc_model_init(&r->model, r->u.protocol_features, 2 * ndevs);
}

static void fvc_close_chan(FvcRun *r)
{
    if (r->chan >= 0) {
        close(r->chan);
        r->chan = -1;
    }
}

/* Run every source that is ready, until none is. */
static void fvc_loop(void)
{
    for (unsigned n = 0; g_main_context_iteration(NULL, FALSE); n++) {
        if (n > 100000) {
            g_error("fuzz-vhost-user-channel: the main loop never settles");
        }
    }
}

/* --- the checks ------------------------------------------------------------------ */

/* Every reply on the channel is one the model expects, in order. */
static void fvc_check_replies(FvcRun *r)
{
    VhostUserMsg m;
    unsigned i = 0;
    ssize_t n;

    while (r->chan >= 0 && !r->model.closed &&
           (n = recv(r->chan, &m, VHOST_USER_HDR_SIZE + sizeof(uint64_t),
                     MSG_DONTWAIT)) > 0) {
        const FvcReply *want = i < r->model.replies->len ?
            &g_array_index(r->model.replies, FvcReply, i) : NULL;

        g_assert_cmpint(n, ==, VHOST_USER_HDR_SIZE + sizeof(uint64_t));
        g_assert_cmphex(m.hdr.flags, ==,
                        VHOST_USER_VERSION | VHOST_USER_REPLY_MASK);
        g_assert_cmpuint(m.hdr.size, ==, sizeof(uint64_t));
        if (!want || want->request != m.hdr.request ||
            want->value != m.payload.u64) {
            g_error("fuzz-vhost-user-channel: reply %u: request %u value "
                    "%" PRIu64 ", expected %s %u %" PRIu64, i,
                    m.hdr.request, m.payload.u64, want ? "" : "none",
                    want ? want->request : 0, want ? want->value : 0);
        }
        i++;
        fvc_stats.replies++;
    }
    if (!r->model.closed && i != r->model.replies->len) {
        g_error("fuzz-vhost-user-channel: %u replies, expected %u", i,
                r->model.replies->len);
    }
    g_array_set_size(r->model.replies, 0);
}

static void fvc_check_log(FvcRun *r, size_t since, unsigned refused,
                          bool dropped)
{
    const char *log = fvu_log_since(since);
    unsigned drops = fvu_log_count(log, "disconnecting backend: backend "
                                        "channel: ");

    if (fvu_log_count(log, "backend request refused") != refused ||
        drops != dropped) {
        g_error("fuzz-vhost-user-channel: the log says %u refused and %u "
                "drops, expected %u and %u:\n%s",
                fvu_log_count(log, "backend request refused"), drops,
                refused, dropped, log);
    }
}

/* The main loop runs (the frontend handles the channel); then what the
 * model says must be so. */
static void fvc_step(FvcRun *r)
{
    FvcModel *m = &r->model;
    size_t since = fvu_log_size();
    unsigned refused = m->refused, handled = m->handled;
    bool was_dropped = m->dropped;

    fvc_loop();
    fvc_model_run(m);
    fvc_check_log(r, since, m->refused - refused,
                  m->dropped && !was_dropped);
    fvc_check_replies(r);
    g_assert_cmpuint(r->config_changes, ==, m->config_changes);
    g_assert_cmpint(r->u.inited, ==, !m->dropped);
    g_assert_cmpuint(r->closed, ==, m->dropped);
    if (r->u.inited) {
        g_assert_cmpint(r->u.backend_fd >= 0, ==, m->open);
        g_assert_cmpint(r->u.backend_watch != 0, ==, m->open);
        for (unsigned i = 0; i < VIRTIO_QUEUE_MAX; i++) {
            g_assert_cmpint(r->u.notifiers[i].addr != NULL, ==,
                            m->mapped[i]);
        }
    }
    fvc_stats.handled += m->handled - handled;
    fvc_stats.refused += m->refused - refused;
    fvc_stats.malformed += m->dropped && !was_dropped;
}

/* --- operations ------------------------------------------------------------------ */

/* Write to the channel what the model is told; once the frontend's end
 * is closed (or ours), nothing goes. */
static void fvc_write(FvcRun *r, const void *data, size_t len, uint8_t fds)
{
    FvcModel *m = &r->model;

    if (!m->open || m->eof || r->chan < 0) {
        return;
    }
    if (!fvu_peer_send_bytes(r->chan, data, len, fds)) {
        g_error("fuzz-vhost-user-channel: the channel took no message "
                "while open");
    }
    fvc_model_sent(m, data, len, fds);
    fvc_stats.messages++;
}

static void fvc_write_msg(FvcRun *r, const FvuMsg *m)
{
    uint8_t buf[VHOST_USER_HDR_SIZE + FVU_MAX_PAYLOAD];

    memcpy(buf, &m->hdr, VHOST_USER_HDR_SIZE);
    memcpy(buf + VHOST_USER_HDR_SIZE, m->payload, m->len);
    fvc_write(r, buf, VHOST_USER_HDR_SIZE + m->len, m->fds);
}

static uint32_t fvc_flags(uint8_t f)
{
    return VHOST_USER_VERSION | (f & FVC_F_NEED_REPLY ?
                                 VHOST_USER_NEED_REPLY : 0);
}

static void op_notifier(FvcRun *r, FuzzInput *in)
{
    const uint64_t page = getpagesize();
    const uint64_t sizes[] = { page, 0, 1, page - 1, page + 1, 2 * page,
                               UINT64_MAX, 1ULL << 32 };
    const uint64_t offsets[] = { 0, page, 16 * page, 1, page / 2,
                                 (uint64_t)INT64_MAX - page + 1,
                                 (uint64_t)INT64_MAX + 1, UINT64_MAX -
                                 page + 1, (uint64_t)INT64_MAX -
                                 2 * page + 1 };
    uint8_t f = fuzz_in_u8(in), q = fuzz_in_u8(in);
    VhostUserVringArea a = {
        .u64 = q | (f & FVC_F_NOFD ? VHOST_USER_VRING_NOFD_MASK : 0) |
               (uint64_t)(f >> 4) << 9,
        .size = sizes[fuzz_in_u8(in) % G_N_ELEMENTS(sizes)],
        .offset = offsets[fuzz_in_u8(in) % G_N_ELEMENTS(offsets)],
    };
    FvuMsg m = {
        .hdr = { VHOST_USER_BACKEND_VRING_HOST_NOTIFIER_MSG, fvc_flags(f),
                 sizeof(a) },
        .len = sizeof(a),
        .fds = fuzz_in_u8(in),
    };

    memcpy(m.payload, &a, sizeof(a));
    fvc_write_msg(r, &m);
}

static void op_config(FvcRun *r, FuzzInput *in)
{
    uint8_t f = fuzz_in_u8(in), len = fuzz_in_u8(in) % 16;
    FvuMsg m = {
        .hdr = { VHOST_USER_BACKEND_CONFIG_CHANGE_MSG, fvc_flags(f), len },
        .len = len,
    };

    m.fds = fuzz_in_u8(in);
    fvc_write_msg(r, &m);
}

/* A raw message in two writes, the fds with one of them. */
static void op_split(FvcRun *r, FuzzInput *in)
{
    uint8_t at = fuzz_in_u8(in);
    uint8_t buf[VHOST_USER_HDR_SIZE + FVU_MAX_PAYLOAD];
    size_t len, cut;
    FvuMsg m;

    fvu_get_msg(in, &m);
    memcpy(buf, &m.hdr, VHOST_USER_HDR_SIZE);
    memcpy(buf + VHOST_USER_HDR_SIZE, m.payload, m.len);
    len = VHOST_USER_HDR_SIZE + m.len;
    cut = 1 + (at & 0x7f) % (len - 1);
    fvc_write(r, buf, cut, at & 0x80 ? 0 : m.fds);
    fvc_write(r, buf + cut, len - cut, at & 0x80 ? m.fds : 0);
}

static void fvc_op(FvcRun *r, FuzzInput *in)
{
    FvuMsg m;

    switch (fuzz_in_u8(in) % FVC_OP_COUNT) {
    case FVC_OP_RAW:
        fvu_get_msg(in, &m);
        fvc_write_msg(r, &m);
        break;
    case FVC_OP_NOTIFIER:
        op_notifier(r, in);
        break;
    case FVC_OP_CONFIG:
        op_config(r, in);
        break;
    case FVC_OP_SPLIT:
        op_split(r, in);
        break;
    case FVC_OP_LOOP:
        fvc_step(r);
        break;
    case FVC_OP_HANGUP:
        if (r->chan >= 0) {
            shutdown(r->chan, SHUT_WR);
        }
        r->model.eof = true;
        break;
    default:
        /* Replies not read yet would make the frontend's read fail with
         * ECONNRESET instead of EOF: take them first. */
        fvc_step(r);
        fvc_close_chan(r);
        r->model.eof = r->model.closed = true;
        break;
    }
}

/* --- after the input ------------------------------------------------------------- */

/* Mappings of the peer's memfds in this process. */
static unsigned fvc_count_maps(void)
{
    g_autofree char *maps = NULL;
    unsigned n = 0;

    g_assert_true(g_file_get_contents("/proc/self/maps", &maps, NULL, NULL));
    for (const char *p = maps; (p = strstr(p, "memfd:fuzz-vhost-user"));
         p++) {
        n++;
    }
    return n;
}

/* The backend goes (the frontend notices from the main loop); a new,
 * well-behaved one must get a working channel. */
static void fvc_recover(FvcRun *r, unsigned ndevs, unsigned maps)
{
    const uint64_t pf = PF(BACKEND_REQ) | PF(CONFIG) | PF(HOST_NOTIFIER) |
                        PF(REPLY_ACK);
    VhostUserVringArea a = { .u64 = 1, .size = getpagesize() };
    FvuMsg m = {
        .hdr = { VHOST_USER_BACKEND_CONFIG_CHANGE_MSG, fvc_flags(1), 0 },
    };

    fvc_close_chan(r);
    fvu_peer_close(&r->peer);
    fvc_loop();
    g_assert_false(r->u.inited);
    g_assert_cmpuint(fvc_count_maps(), ==, maps);
    fvc_model_free(&r->model);
    r->closed = r->config_changes = 0;
    fvc_up(r, pf, ndevs);
    fvc_write_msg(r, &m);
    m.hdr = (VhostUserHeader){ VHOST_USER_BACKEND_VRING_HOST_NOTIFIER_MSG,
                               fvc_flags(1), sizeof(a) };
    m.len = sizeof(a);
    m.fds = FVU_FDS(FVU_FD_MEMFD, 1);
    memcpy(m.payload, &a, sizeof(a));
    fvc_write_msg(r, &m);
    fvc_step(r);
    g_assert_cmpuint(r->config_changes, ==, 1);
    g_assert_nonnull(r->u.notifiers[1].addr);
    g_assert_true(r->model.open && !r->model.dropped);
    fvc_stats.recovered++;
}

static char *fvc_why;

/* Once per process, before the first fd count: glib's messages after
 * kvmini's log, the socket's directory, the main context's wakeup fd. */
static void fvc_warm_up(void)
{
    static bool done;

    if (!done) {
        done = true;
        fvu_log_setup();
        fvu_peer_path();
        g_main_context_iteration(NULL, FALSE);
    }
}

const char *fvc_last_error(void)
{
    return fvc_why;
}

static uint64_t fvc_pf(uint8_t cfg)
{
    return PF(BACKEND_REQ) | (cfg & FVC_CFG_CONFIG ? PF(CONFIG) : 0) |
           (cfg & FVC_CFG_HOST_NOTIFIER ? PF(HOST_NOTIFIER) : 0) |
           (cfg & FVC_CFG_REPLY_ACK ? PF(REPLY_ACK) : 0) |
           (cfg & FVC_CFG_MQ ? PF(MQ) : 0);
}

bool fvc_fuzz_one(const uint8_t *data, size_t size)
{
    FuzzInput in = { .data = data, .size = size };
    g_autofree char *opts = g_strdup_printf(
        "socket,id=ch0,path=%s,server=on,wait=off", fvu_peer_path());
    uint8_t cfg = fuzz_in_u8(&in);
    unsigned ndevs = cfg & FVC_CFG_TWO_DEVS ? 2 : 1, fds, maps, ops = 0;
    Error *err = NULL;
    bool dropped;
    guint mark;
    FvcRun r = { .chan = -1 };

    fvc_warm_up();
    fds = fuzz_count_fds();
    maps = fvc_count_maps();
    mark = fuzz_source_mark();
    fvu_log_begin();
    r.chr = qemu_chr_new_from_opts(opts, NULL, &err);
    g_assert_nonnull(r.chr);
    fvu_chr_hook(r.chr, &r.peer);
    qemu_chr_fe_set_handlers(r.chr, NULL, fvc_chr_event, &r);
    fvc_up(&r, fvc_pf(cfg), ndevs);
    while (fuzz_in_left(&in) && ops++ < FVC_MAX_OPS) {
        fvc_op(&r, &in);
    }
    fvc_step(&r);
    dropped = r.model.dropped;
    g_free(fvc_why);
    fvc_why = fvu_log_first_error(fvu_log_since(0));
    fvc_recover(&r, ndevs, maps);
    fvc_close_chan(&r);
    fvc_down(&r);
    g_assert_cmpuint(fvc_count_maps(), ==, maps);
    qemu_chr_fe_set_handlers(r.chr, NULL, NULL, NULL);
    qemu_chr_free(r.chr);
    fvu_chr_hook(NULL, NULL);
    fvu_peer_close(&r.peer);
    fvc_model_free(&r.model);
    fvu_log_end();
    fuzz_check_sources("fuzz-vhost-user-channel", mark);
    fuzz_check_fds("fuzz-vhost-user-channel", fds);
    return !dropped;
}

#ifdef KVMINI_LIBFUZZER
FUZZ_LIBFUZZER_ENTRY(fvc_fuzz_one)
#endif
