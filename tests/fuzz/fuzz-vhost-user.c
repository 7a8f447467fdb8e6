/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target for the frontend's side of vhost-user, the backend being
 * hostile.  A machine without /dev/kvm (fuzz-machine.h) with memfd RAM,
 * a socket chardev in server mode and one vhost-user device on it
 * (vhost-user-blk with one or two queues, virtio-net-device with two
 * queue pairs on one connection, or the generic vhost-user-device); the
 * backend is the peer of fuzz-vhost-user-peer.c, which says what the
 * input says: the answers to the frontend's requests during realize
 * (GET_FEATURES, GET_PROTOCOL_FEATURES, GET_QUEUE_NUM, GET_MAX_MEM_SLOTS,
 * GET_CONFIG, the REPLY_ACK acks), at start (GET_INFLIGHT_FD with and
 * without fds), when migration starts logging (SET_LOG_BASE), at stop
 * (GET_VRING_BASE) — any request code, flags, size, payload, cut short
 * or too long, with fds of any kind and number — and the requests it
 * sends on the backend channel (CONFIG_CHANGE_MSG, which makes the device
 * read its config again, VRING_HOST_NOTIFIER_MSG, unknown ones), with or
 * without NEED_REPLY.  Between messages the input acts: the guest driver
 * starts or resets the device or writes its config, migration starts,
 * stops the VM or fails, RAM is plugged or unplugged, the main loop runs,
 * the backend hangs up or is replaced (see fuzz-vhost-user.h).
 *
 * Checks: no crash, no sanitizer report; every request kvmini writes is
 * well-formed (the peer checks them); the device's state stays
 * consistent after every action (started only while connected, the
 * connection state matching the device's, the backend channel and its
 * watch together, host-notifier pages only for the device's queues); a
 * backend that loses its connection, or a device that loses its backend,
 * is told so in the log with the device's name; the main loop settles.
 * After the input, the hostile backend goes away and a well-behaved one
 * connects: the same device must come back (or, if realize failed, a
 * device_add on the same machine must work), start all its queues for
 * a driver and stop them again; with FVU_CFG_TEARDOWN the machine is
 * first torn down with the hostile backend still attached, and a fresh
 * one must work.  Finally no fd is left open and no main-loop source is
 * left behind.
 *
 * Two builds, as fuzz-virtio.c: with KVMINI_LIBFUZZER this file, the
 * peer and the oracle are a libFuzzer target; otherwise they are linked
 * with fuzz-vhost-user-seeds.c into a standalone campaign (see
 * fuzz-common.h; default 15000 inputs).  FUZZ_VHOST_USER_LAST=FILE keeps
 * the input running, to replay the one that failed.
 */
#include "fuzz-vhost-user.h"
#include "hw/qdev.h"
#include "hw/virtio/vhost-user-blk.h"
#include "hw/virtio/virtio-net.h"
#include "hw/virtio/virtio-migration.h"
#include "net/net.h"

#include <linux/virtio_net.h>
#include <sys/socket.h>

#define FVU_RAM_SIZE    (128 * FUZZ_KiB)
#define FVU_RING(q)     ((hwaddr)((q) + 1) * 0x1000)    /* avail +0x800,
                                                         * used +0xa00 */
#define FVU_EXTRA_GPA   0x100000
#define FVU_EXTRA_SIZE  (64 * FUZZ_KiB)
#define FVU_LOOP_MAX    4096

FvuStats fvu_stats;

/* --- the machine --------------------------------------------------------- */

typedef struct FvuRun {
    const FvuModel *model;
    FuzzAccel accel;
    MachineState *ms;
    Chardev *chr;
    MemoryRegion extra;         /* ACT_MEM's region, once created */
    bool extra_plugged;
    void *dev;                  /* from qdev_find_by_id, NULL if none */
    bool tried;                 /* device_add was called */
    bool started;               /* the device ran its backend once */
    bool migrating;             /* ACT_MIG_SETUP, until ACT_MIG_CANCEL */
    FvuPeer peer;
    GByteArray *record;         /* fvu_record(): the input so far */
} FvuRun;

static void fvu_lock(FvuRun *r);
static void fvu_unlock(FvuRun *r);

/* Machine, RAM, the chardev (kvmini listens) and the backend's peer. */
static void fvu_run_init(FvuRun *r, unsigned model)
{
    g_autofree char *opts = g_strdup_printf("socket,id=vu0,path=%s,"
                                            "server=on,wait=off",
                                            fvu_peer_path());
    Error *err = NULL;

    memset(r, 0, sizeof(*r));
    r->model = &fvu_models[model % FVU_MODELS];
    r->ms = fuzz_machine_new(&r->accel);
    g_assert_true(memory_region_init_ram_memfd(&r->ms->ram_below_4g, "ram",
                                               FVU_RAM_SIZE, &err));
    memory_region_add_subregion(&r->ms->system_memory, 0,
                                &r->ms->ram_below_4g);
    r->chr = qemu_chr_new_from_opts(opts, NULL, &err);
    g_assert_nonnull(r->chr);
    g_hash_table_insert(r->ms->chardevs, r->chr->id, r->chr);
    fvu_peer_init(&r->peer);
    fvu_chr_hook(r->chr, &r->peer);
    g_assert_true(fvu_peer_connect(&r->peer, fvu_peer_path()));
    if (r->model->netdev) {
        fvu_lock(r);
        g_assert_true(netdev_add(r->ms, r->model->netdev, &err));
        fvu_unlock(r);
    }
}

/* --- the device, whatever its model -------------------------------------- */

/* Every model starts with a VhostDevice. */
static VhostDevice *fvu_base(FvuRun *r)
{
    return r->dev;
}

static VirtIONet *fvu_net(FvuRun *r)
{
    return r->dev && r->model->net ? r->dev : NULL;
}

static VirtIODevice *fvu_vdev(FvuRun *r)
{
    return fvu_base(r) ? &fvu_base(r)->vdev : NULL;
}

/* The connection's protocol state (the vhost-user VhostConn's). */
static VhostUserState *fvu_state(FvuRun *r)
{
    return fvu_base(r) ? fvu_base(r)->conn->opaque : NULL;
}

static bool fvu_connected(FvuRun *r)
{
    return fvu_base(r) && fvu_base(r)->connected;
}

static bool fvu_started(FvuRun *r)
{
    return fvu_base(r) && fvu_base(r)->started_devs;
}

/* Queues the backend runs once a driver set them all up. */
static unsigned fvu_backend_queues(FvuRun *r)
{
    return fvu_net(r) ? 2 * fvu_net(r)->max_pairs
                      : fvu_base(r)->devs[0].nvqs;
}

static VirtIOMMIOProxy *fvu_proxy(FvuRun *r)
{
    return fvu_vdev(r)->transport_opaque;
}

/* The backend channel is read with the connection's timeout: 0, since
 * all the peer says is written before the main loop runs.  (The init of
 * a connection sets the default again.) */
static void fvu_no_waits(FvuRun *r)
{
    VhostUserState *u = fvu_state(r);

    if (u && u->inited) {
        u->timeout_ms = 0;
    }
}

/* --- the machine lock ---------------------------------------------------
 * kvmini's threads touch a device with the machine lock held (a vCPU on
 * MMIO, QMP, migration); the main loop's callbacks take it themselves.
 * The harness does as they do.  And before it lets go, it waits until
 * the device's worker has run what the step queued, so that the next
 * step sees the effect: the worker never runs while the harness reads
 * state or plays the peer, and a run stays deterministic. */

static void fvu_lock(FvuRun *r)
{
    g_mutex_lock(&r->ms->lock);
}

static void fvu_unlock(FvuRun *r)
{
    if (fvu_base(r)) {
        vhost_conn_flush(fvu_base(r)->conn);
    }
    g_mutex_unlock(&r->ms->lock);
}

/* device_add, as QMP would; kvmini fails with a reason or has it. */
static void fvu_create(FvuRun *r)
{
    Error *err = NULL;
    bool ok;

    r->tried = true;
    fvu_lock(r);
    ok = qdev_device_add(r->ms, r->model->device, &err);
    if (ok) {
        r->dev = qdev_find_by_id(r->ms, r->model->id);
        fvu_no_waits(r);
    }
    fvu_unlock(r);
    if (!ok) {
        g_assert_nonnull(err);
        g_assert_cmpstr(error_get_pretty(err), !=, "");
        error_report("device_add: %s", error_get_pretty(err));
        error_free(err);
        fvu_stats.realize_failed++;
        return;
    }
    g_assert_nonnull(r->dev);
}

static void fvu_ensure_device(FvuRun *r)
{
    if (!r->tried) {
        fvu_create(r);
        fvu_peer_drain(&r->peer);
    }
}

/* Run every source that is ready, until none is. */
static void fvu_loop(FvuRun *r)
{
    unsigned n = 0;

    while (g_main_context_iteration(NULL, FALSE)) {
        if (++n > FVU_LOOP_MAX) {
            g_error("fuzz-vhost-user: the main loop never settles");
        }
        fvu_lock(r);
        fvu_no_waits(r);
        fvu_unlock(r);
    }
}

/* --- what the guest driver does ------------------------------------------ */

static hwaddr fvu_mmio(FvuRun *r)
{
    return fvu_proxy(r)->slot->base;
}

/* The whole init with the features offered minus drop; queue i gets 16-128
 * entries (bits 0-1), none with bit 2 + i. */
static void fvu_driver_ok(FvuRun *r, uint8_t queues, uint64_t drop)
{
    VirtIODevice *vdev = fvu_vdev(r);
    FuzzQueue q[VIRTIO_QUEUE_MAX] = { { 0 } };
    unsigned num = 16u << (queues & 3);

    for (unsigned i = 0; i < vdev->nvqs; i++) {
        hwaddr ring = FVU_RING(i);

        if (i < 6 && (queues & (4u << i))) {
            continue;
        }
        q[i] = (FuzzQueue){ MIN(num, vdev->vq[i].num_max), ring,
                            ring + 0x800, ring + 0xa00 };
    }
    fuzz_drv_init(r->ms, fvu_mmio(r), virtio_host_features(vdev) & ~drop, q,
                  vdev->nvqs);
}

static void fvu_config_write(FvuRun *r, uint8_t offset, uint8_t value)
{
    VirtIODevice *vdev = fvu_vdev(r);

    if (vdev->config_len) {
        fuzz_wr(r->ms, fvu_mmio(r) + VIRTIO_MMIO_CONFIG +
                offset % vdev->config_len, value, 1);
    }
}

/* --- what migration does ------------------------------------------------- */

static void fvu_ram_log(FvuRun *r, bool on)
{
    AddressSpace *as = &r->ms->address_space_memory;

    address_space_transaction_begin(as);
    memory_region_set_log(&r->ms->ram_below_4g, on, DIRTY_MEMORY_MIGRATION);
    address_space_transaction_commit(as);
}

/* As migration starts: RAM logs, every listener logs (the vhost core
 * sends SET_LOG_BASE), the device's migration setup. */
static void fvu_mig_setup(FvuRun *r)
{
    Error *err = NULL;

    if (r->migrating) {
        return;
    }
    fvu_ram_log(r, true);
    if (!address_space_log_global_start(&r->ms->address_space_memory,
                                        &err)) {
        warn_report("migration: %s", error_get_pretty(err));
        error_free(err);
        fvu_ram_log(r, false);
        return;
    }
    r->migrating = true;
    if (r->dev && !virtio_migration_setup(fvu_proxy(r), &err)) {
        warn_report("migration: %s", error_get_pretty(err));
        error_free(err);
    }
}

/* A pass: what the backend marked in its log becomes dirty RAM. */
static void fvu_log_sync(FvuRun *r, uint8_t pattern)
{
    fvu_peer_dirty_log(&r->peer, pattern);
    address_space_log_sync(&r->ms->address_space_memory);
}

/* Only a migration that started stops the VM. */
static void fvu_mig_stop(FvuRun *r)
{
    if (r->dev && fvu_proxy(r)->mig_outgoing) {
        virtio_migration_stop(fvu_proxy(r));
    }
}

/* The migration fails: logging off, the VM runs again (in the order of
 * migration/migration.c: logging stops before the cleanup hooks). */
static void fvu_mig_cancel(FvuRun *r)
{
    if (!r->migrating) {
        return;
    }
    address_space_log_global_stop(&r->ms->address_space_memory);
    fvu_ram_log(r, false);
    if (r->dev) {
        virtio_migration_cleanup(fvu_proxy(r), false);
    }
    r->migrating = false;
}

static void fvu_announce(FvuRun *r)
{
    Error *err = NULL;

    if (fvu_net(r) && !virtio_net_announce(fvu_net(r), &err)) {
        warn_report("%s", error_get_pretty(err));
        error_free(err);
    }
}

/* Memory hotplug of a second memfd region (and its unplug). */
static void fvu_toggle_mem(FvuRun *r)
{
    if (r->extra_plugged) {
        memory_region_del_subregion(&r->ms->system_memory, &r->extra);
        memory_region_finalize(&r->extra);
    } else {
        g_assert_true(memory_region_init_ram_memfd(&r->extra, "fvu-extra",
                                                   FVU_EXTRA_SIZE, NULL));
        memory_region_add_subregion(&r->ms->system_memory, FVU_EXTRA_GPA,
                                    &r->extra);
    }
    r->extra_plugged = !r->extra_plugged;
}

/* A migration ends first, then the devices go (they may still talk to
 * the backend), then the region only this harness owns, then the rest
 * of the machine. */
static void fvu_run_free(FvuRun *r)
{
    fvu_lock(r);
    fvu_mig_cancel(r);
    fvu_unlock(r);
    g_mutex_lock(&r->ms->lock);     /* no device left to flush after */
    qdev_cleanup(r->ms);
    if (r->extra_plugged) {
        memory_region_del_subregion(&r->ms->system_memory, &r->extra);
    }
    memory_region_finalize(&r->extra);
    g_mutex_unlock(&r->ms->lock);
    machine_free(r->ms);
    fvu_chr_hook(NULL, NULL);
    fvu_peer_close(&r->peer);
    r->dev = NULL;
    r->ms = NULL;
}

/* --- the backend's own actions ------------------------------------------- */

static void fvu_shut(int fd)
{
    if (fd >= 0) {
        shutdown(fd, SHUT_WR);
    }
}

/* The backend process goes; another connects (kvmini accepts it from
 * the main loop). */
static void fvu_new_peer(FvuRun *r)
{
    fvu_peer_close(&r->peer);
    fvu_peer_connect(&r->peer, fvu_peer_path());
}

/* Once per process: what lives for the whole run is created here, so
 * that the fd count of the first input is not off. */
static void fvu_warm_up(void)
{
    static bool done;

    if (done) {
        return;
    }
    done = true;
    fvu_log_setup();
    fvu_peer_path();
    g_main_context_iteration(NULL, FALSE);
}

/* --- checks -------------------------------------------------------------- */

typedef struct FvuSnap {
    bool chr;                   /* the chardev had a connection */
    bool dev;                   /* the device had its backend */
    size_t log;
} FvuSnap;

static FvuSnap fvu_snap(FvuRun *r)
{
    return (FvuSnap){ r->chr->connected, fvu_connected(r), fvu_log_size() };
}

/* A device that lost its backend, or whose connection dropped, says so
 * with its name. */
static void fvu_check_reported(FvuRun *r, const FvuSnap *s)
{
    bool lost = s->dev && (!fvu_connected(r) || (s->chr &&
                                                 !r->chr->connected));

    if (lost && !strstr(fvu_log_since(s->log), r->model->label)) {
        g_error("fuzz-vhost-user: %s lost its backend without a word",
                r->model->label);
    }
    fvu_stats.disconnects += s->dev && !fvu_connected(r);
}

static void fvu_check_channel(FvuRun *r, const VhostUserState *u)
{
    g_assert_cmpint(u->backend_fd >= 0, ==, u->backend_watch != 0);
    for (unsigned i = 0; i < VIRTIO_QUEUE_MAX; i++) {
        g_assert(!u->notifiers[i].addr || i < fvu_backend_queues(r));
    }
}

/* Whatever the backend said, the device's state hangs together. */
static void fvu_check_state(FvuRun *r)
{
    VhostUserState *u = fvu_state(r);
    VhostDevice *d = fvu_base(r);
    VirtIONet *n = fvu_net(r);

    if (!r->dev) {
        return;
    }
    g_assert_cmpint(fvu_connected(r), ==, u->inited);
    g_assert(!fvu_started(r) || fvu_connected(r));
    if (u->inited) {
        fvu_check_channel(r, u);
    }
    if (!n) {
        g_assert(!d->started_devs || d->devs[0].started);
    }
    for (unsigned p = 0; n && p < d->started_devs; p++) {
        g_assert_cmpuint(d->started_devs, <=, n->max_pairs);
        g_assert_true(d->devs[p].started);
    }
    r->started |= fvu_started(r);
}

/* --- operations ---------------------------------------------------------- */

typedef struct FvuAct {
    uint8_t act, a, b;
    uint64_t drop;
} FvuAct;

static FvuAct fvu_get_act(FuzzInput *in)
{
    FvuAct a = { .act = fuzz_in_u8(in) % ACT_COUNT };

    if (a.act == ACT_DRIVER_OK) {
        a.a = fuzz_in_u8(in);
        a.drop = fuzz_in_le(in, 8);
    } else if (a.act == ACT_LOG_SYNC) {
        a.a = fuzz_in_u8(in);
    } else if (a.act == ACT_CONFIG) {
        a.a = fuzz_in_u8(in);
        a.b = fuzz_in_u8(in);
    }
    return a;
}

/* What needs no device: memory, the main loop, the backend itself. */
static bool fvu_do_machine(FvuRun *r, const FvuAct *a)
{
    switch (a->act) {
    case ACT_MEM:
        fvu_toggle_mem(r);
        return true;
    case ACT_HANGUP:
        fvu_shut(r->peer.fd);
        return true;
    case ACT_CHAN_HANGUP:
        fvu_shut(r->peer.chan_fd);
        return true;
    case ACT_NEW_PEER:
        fvu_new_peer(r);
        return true;
    case ACT_SECOND_PEER:
        fvu_peer_connect_extra(&r->peer, fvu_peer_path());
        return true;
    case ACT_MIG_SETUP:
        fvu_mig_setup(r);
        return true;
    case ACT_LOG_SYNC:
        fvu_log_sync(r, a->a);
        return true;
    case ACT_MIG_STOP:
        fvu_mig_stop(r);
        return true;
    case ACT_MIG_CANCEL:
        fvu_mig_cancel(r);
        return true;
    default:
        return false;
    }
}

static void fvu_do_device(FvuRun *r, const FvuAct *a)
{
    switch (a->act) {
    case ACT_DRIVER_OK:
        fvu_driver_ok(r, a->a, a->drop);
        break;
    case ACT_RESET:
        fuzz_wr(r->ms, fvu_mmio(r) + VIRTIO_MMIO_STATUS, 0, 4);
        break;
    case ACT_CONFIG:
        fvu_config_write(r, a->a, a->b);
        break;
    default:
        fvu_announce(r);
        break;
    }
}

static void fvu_act(FvuRun *r, FuzzInput *in)
{
    FvuAct a = fvu_get_act(in);
    FvuSnap s;

    fvu_ensure_device(r);
    fvu_lock(r);
    fvu_no_waits(r);
    s = fvu_snap(r);
    if (a.act == ACT_LOOP) {
        /* The main loop's callbacks take the lock themselves. */
        fvu_unlock(r);
        fvu_loop(r);
    } else {
        if (!fvu_do_machine(r, &a) && r->dev) {
            fvu_do_device(r, &a);
        }
        fvu_unlock(r);
    }
    fvu_peer_drain(&r->peer);
    fvu_check_reported(r, &s);
    fvu_check_state(r);
    fvu_stats.actions++;
}

static void fvu_message(FvuRun *r, uint8_t op, FuzzInput *in)
{
    FvuMsg m;

    fvu_get_msg(in, &m);
    if (op == OP_CHAN) {
        fvu_stats.chan_messages++;
    } else {
        fvu_stats.messages++;
    }
    if (!fvu_peer_send(op == OP_MAIN ? r->peer.fd : r->peer.chan_fd, &m)) {
        fvu_stats.dropped++;
    }
}

static void fvu_op(FvuRun *r, FuzzInput *in)
{
    size_t start = in->pos;
    uint8_t op = fuzz_in_u8(in) % OP_COUNT;

    if (op == OP_ACT) {
        fvu_act(r, in);
    } else {
        fvu_message(r, op, in);
    }
    /* Recording: the answers to the action went in first. */
    if (r->record) {
        g_byte_array_append(r->record, in->data + start, in->pos - start);
    }
    fvu_stats.ops++;
}

/* Everything the input says, then the device if no action created it. */
static void fvu_hostile(FvuRun *r, FuzzInput *in)
{
    unsigned ops = 0;

    while (fuzz_in_left(in) && ops++ < FVU_MAX_OPS) {
        fvu_op(r, in);
    }
    fvu_ensure_device(r);
    fvu_peer_drain(&r->peer);
    fvu_check_state(r);
}

/* --- recovery ------------------------------------------------------------ */

/* The hostile backend goes away; kvmini notices it from the main loop. */
static void fvu_hostile_gone(FvuRun *r)
{
    FvuSnap s = fvu_snap(r);

    fvu_peer_close(&r->peer);
    fvu_peer_init(&r->peer);
    fvu_loop(r);
    fvu_check_reported(r, &s);
    g_assert_false(fvu_connected(r));
    fvu_check_state(r);
}

/* A connection for the well-behaved backend (the chardev may have to
 * accept the dead ones queued before it first). */
static void fvu_connect_good(FvuRun *r)
{
    for (unsigned i = 0; r->peer.fd < 0; i++) {
        g_assert_cmpuint(i, <, 4);
        if (!fvu_peer_connect(&r->peer, fvu_peer_path())) {
            fvu_loop(r);
        }
    }
}

/* A driver starts every queue, then resets the device. */
static void fvu_check_works(FvuRun *r)
{
    unsigned queues = fvu_backend_queues(r);

    fvu_peer_drain(&r->peer);
    r->peer.kicks = 0;
    fvu_lock(r);
    fvu_driver_ok(r, 0, 0);
    fvu_unlock(r);
    fvu_peer_drain(&r->peer);
    g_assert_true(fvu_started(r));
    g_assert_cmpuint(r->peer.kicks, ==, queues);
    r->peer.bases = 0;
    fvu_lock(r);
    fuzz_wr(r->ms, fvu_mmio(r) + VIRTIO_MMIO_STATUS, 0, 4);
    fvu_unlock(r);
    fvu_peer_drain(&r->peer);
    g_assert_false(fvu_started(r));
    g_assert_cmpuint(r->peer.bases, ==, queues);
}

/* A well-behaved backend (protocol-feature variant v) makes the device
 * work: the same one reconnected, or a new one from device_add. */
static void fvu_recover(FvuRun *r, unsigned v)
{
    FvuGood good = fvu_good(r->model - fvu_models, v);

    r->peer.good = &good;
    /* A migration that never ended fails: the VM runs again. */
    fvu_lock(r);
    fvu_mig_cancel(r);
    fvu_unlock(r);
    fvu_connect_good(r);
    if (r->dev) {
        fvu_loop(r);
    } else {
        fvu_create(r);
    }
    g_assert_nonnull(r->dev);
    g_assert_true(fvu_connected(r));
    fvu_check_state(r);
    fvu_check_works(r);
    r->peer.good = NULL;
    fvu_stats.recovered++;
}

/* --- one input ----------------------------------------------------------- */

static char *fvu_why;

const char *fvu_last_error(void)
{
    return fvu_why;
}

bool fvu_fuzz_one(const uint8_t *data, size_t size)
{
    FuzzInput in = { .data = data, .size = size };
    uint8_t cfg = fuzz_in_u8(&in);
    unsigned model = FVU_CFG_MODEL(cfg), fds;
    const char *said;
    bool accepted;
    FvuRun r;

    fvu_save_input(data, size);
    fvu_warm_up();
    fds = fvu_count_fds();
    fvu_log_begin();
    fvu_run_init(&r, model);
    fvu_hostile(&r, &in);
    said = fvu_log_since(0);
    g_free(fvu_why);
    fvu_why = fvu_log_first_error(said);
    accepted = r.dev && !fvu_why;
    fvu_stats.protocol_errors += fvu_log_count(said, "disconnecting backend");
    if (cfg & FVU_CFG_TEARDOWN) {
        fvu_run_free(&r);
        fvu_check_settled();
        fvu_stats.torn_down_attached++;
        fvu_run_init(&r, model);
    } else {
        fvu_hostile_gone(&r);
    }
    fvu_recover(&r, FVU_CFG_GOOD(cfg));
    fvu_run_free(&r);
    fvu_check_settled();
    fvu_check_fds(fds);
    fvu_log_end();
    fvu_stats.started += r.started;
    return accepted;
}

GByteArray *fvu_record(uint8_t cfg, unsigned v, const uint8_t *script,
                       size_t len)
{
    FuzzInput in = { .data = script, .size = len };
    GByteArray *rec = g_byte_array_new();
    FvuGood good = fvu_good(FVU_CFG_MODEL(cfg), v);
    FvuRun r;

    fvu_warm_up();
    g_byte_array_append(rec, &cfg, 1);
    fvu_log_begin();
    fvu_run_init(&r, FVU_CFG_MODEL(cfg));
    r.peer.good = &good;
    r.peer.record = r.record = rec;
    fvu_hostile(&r, &in);
    r.peer.record = r.record = NULL;
    fvu_run_free(&r);
    fvu_check_settled();
    fvu_log_end();
    return rec;
}

#ifdef KVMINI_LIBFUZZER
FUZZ_LIBFUZZER_ENTRY(fvu_fuzz_one)
#endif
