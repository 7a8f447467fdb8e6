/* SPDX-License-Identifier: MIT */
/*
 * The migration state machine and the outgoing side (QEMU's model):
 *
 *   none -> setup -> active -> device -> completed
 *                        \         \--> failed | cancelling -> cancelled
 *
 * `migrate` (main thread) opens the channel, starts dirty logging and
 * calls the setup hooks; a refusal fails the command and nothing else
 * happens.  Then the migration thread writes the header and the machine
 * configuration, sends all RAM, and repeats rounds (sync the dirty log,
 * send the dirty pages, measure the bandwidth) while the vCPUs run, until
 * the dirty pages left would take no longer than downtime-limit at the
 * measured bandwidth (capped by max-bandwidth).  It then asks the main
 * loop for the stop: vCPUs paused, device save hooks (vhost devices stop
 * there), vCPU/VM state from the accelerator.  The thread does the final
 * sync and sends the rest, the accelerator and device sections and the
 * end marker.  The main loop finishes: logging off, cleanup hooks; on
 * success the source stays paused ("postmigrate"), on failure or cancel
 * the devices restart and the vCPUs resume.
 *
 * Status changes and MIGRATION events happen on the main thread only;
 * the thread publishes counters under mig->lock.
 */
#include "migration-internal.h"

#include <json-glib/json-glib.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#define RATE_WINDOW_US          100000      /* max-bandwidth per 100 ms */
#define DEFAULT_DOWNTIME_LIMIT  300         /* ms, as QEMU */
#define DEFAULT_MAX_BANDWIDTH   (1ULL << 62)

static const char *const status_names[] = {
    [MIGRATION_STATUS_NONE] = "none",
    [MIGRATION_STATUS_SETUP] = "setup",
    [MIGRATION_STATUS_ACTIVE] = "active",
    [MIGRATION_STATUS_PRE_SWITCHOVER] = "pre-switchover",
    [MIGRATION_STATUS_DEVICE] = "device",
    [MIGRATION_STATUS_COMPLETED] = "completed",
    [MIGRATION_STATUS_FAILED] = "failed",
    [MIGRATION_STATUS_CANCELLING] = "cancelling",
    [MIGRATION_STATUS_CANCELLED] = "cancelled",
};

const char *migration_status_name(MigrationStatus s)
{
    return status_names[s];
}

static void fd_close(gpointer p)
{
    close(GPOINTER_TO_INT(p));
}

MigrationState *migration_get(MachineState *ms)
{
    MigrationState *mig = ms->migration;

    if (!mig) {
        mig = g_new0(MigrationState, 1);
        mig->ms = ms;
        mig->fds = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
                                         fd_close);
        g_mutex_init(&mig->lock);
        g_cond_init(&mig->cond);
        mig->downtime_limit = DEFAULT_DOWNTIME_LIMIT;
        mig->max_bandwidth = DEFAULT_MAX_BANDWIDTH;
        mig->cap_events = true;
        ms->migration = mig;
    }
    return mig;
}

void migration_set_status(MigrationState *mig, MigrationStatus s)
{
    JsonObject *o = json_object_new();
    JsonNode *data = json_node_alloc();

    g_mutex_lock(&mig->lock);
    mig->status = s;
    g_mutex_unlock(&mig->lock);
    json_object_set_string_member(o, "status", migration_status_name(s));
    json_node_init_object(data, o);
    json_object_unref(o);
    if (mig->cap_events) {
        event_bus_emit(&mig->ms->events, "MIGRATION", data);
    } else {
        json_node_unref(data);
    }
}

static bool status_running(MigrationStatus s)
{
    return s == MIGRATION_STATUS_SETUP || s == MIGRATION_STATUS_ACTIVE ||
           s == MIGRATION_STATUS_PRE_SWITCHOVER ||
           s == MIGRATION_STATUS_DEVICE || s == MIGRATION_STATUS_CANCELLING;
}

bool migration_is_running(MachineState *ms)
{
    MigrationState *mig = ms->migration;
    bool running;

    if (!mig) {
        return false;
    }
    g_mutex_lock(&mig->lock);
    running = status_running(mig->status) || mig->thread;
    g_mutex_unlock(&mig->lock);
    return running || migration_incoming_pending(mig);
}

bool migration_allows_plug(MachineState *ms)
{
    MigrationState *mig = ms->migration;
    bool copying;

    if (!migration_is_running(ms)) {
        return true;
    }
    if (migration_incoming_pending(mig)) {
        return false;
    }
    g_mutex_lock(&mig->lock);
    copying = mig->status == MIGRATION_STATUS_SETUP ||
              mig->status == MIGRATION_STATUS_ACTIVE;
    g_mutex_unlock(&mig->lock);
    return copying && !migration_cancelled(mig);
}

bool migration_cancelled(MigrationState *mig)
{
    return g_atomic_int_get(&mig->cancel);
}

/* --- counters and rate limit (migration thread) -------------------------- */

void migration_account_pages(MigrationState *mig, uint64_t zero,
                             uint64_t normal)
{
    uint64_t sent = (zero + normal) * MIG_PAGE_SIZE;

    g_mutex_lock(&mig->lock);
    mig->stats.duplicate += zero;
    mig->stats.normal += normal;
    mig->stats.remaining -= MIN(mig->stats.remaining, sent);
    mig->stats.transferred = mig_channel_bytes(mig->out);
    g_mutex_unlock(&mig->lock);
}

/* max-bandwidth in bytes/s; 0 means no limit, as in QEMU 8.1 and later. */
static uint64_t bandwidth_cap(MigrationState *mig)
{
    uint64_t max = __atomic_load_n(&mig->max_bandwidth, __ATOMIC_RELAXED);

    return max ? max : UINT64_MAX;
}

/* When the window that sent `used` bytes may end: after RATE_WINDOW_US,
 * or after as long as those bytes take at the cap if that is longer.
 * Callers check every few hundred pages, which can be several windows'
 * budget: ending at RATE_WINDOW_US regardless let a 1 MiB/s cap send
 * 9 MiB/s.  The cap is read anew, so raising it shortens a wait. */
static int64_t window_end(MigrationState *mig, uint64_t used)
{
    uint64_t cap = bandwidth_cap(mig);
    uint64_t us = cap == UINT64_MAX ? 0 : used * G_USEC_PER_SEC / cap;

    return mig->window_us + (int64_t)MAX(us, RATE_WINDOW_US);
}

/* Sleep until the window ends (re-reading the cap at least every
 * window) or the migration is cancelled. */
static void wait_window_end(MigrationState *mig, uint64_t used)
{
    int64_t now, end;

    g_mutex_lock(&mig->lock);
    while (!migration_cancelled(mig) &&
           (now = g_get_monotonic_time()) < (end = window_end(mig, used))) {
        g_cond_wait_until(&mig->cond, &mig->lock,
                          MIN(end, now + RATE_WINDOW_US));
    }
    g_mutex_unlock(&mig->lock);
}

bool migration_rate_limit(MigrationState *mig, Error **errp)
{
    uint64_t limit = bandwidth_cap(mig) / (G_USEC_PER_SEC / RATE_WINDOW_US);
    uint64_t bytes = mig_channel_bytes(mig->out);
    uint64_t used = bytes - mig->window_bytes;
    int64_t now = g_get_monotonic_time();

    if (used >= limit && now < window_end(mig, used)) {
        /* Over budget for this window: let the bytes go, then wait. */
        if (!mig_channel_flush(mig->out, errp)) {
            return false;
        }
        wait_window_end(mig, used);
        now = g_get_monotonic_time();
    }
    if (now >= mig->window_us + RATE_WINDOW_US) {
        mig->window_us = now;
        mig->window_bytes = bytes;
    }
    if (migration_cancelled(mig)) {
        error_setg(errp, "migration cancelled");
        return false;
    }
    return true;
}

/* Bandwidth and page rate of what was sent since t0 / b0 / p0. */
static void migration_measure(MigrationState *mig, int64_t t0, uint64_t b0,
                              uint64_t p0)
{
    /* At least 1 ms: a tiny round must not look infinitely fast. */
    int64_t us = MAX(g_get_monotonic_time() - t0, 1000);
    uint64_t bytes, pages;

    g_mutex_lock(&mig->lock);
    bytes = mig->stats.transferred - b0;
    pages = mig->stats.duplicate + mig->stats.normal - p0;
    mig->stats.bandwidth = MIN(bytes * G_USEC_PER_SEC / us,
                               bandwidth_cap(mig));
    mig->stats.pages_per_second = pages * G_USEC_PER_SEC / us;
    g_mutex_unlock(&mig->lock);
}

/* --- the migration thread ------------------------------------------------ */

static void round_start(MigrationState *mig, int64_t *t0, uint64_t *b0,
                        uint64_t *p0)
{
    g_mutex_lock(&mig->lock);
    *t0 = g_get_monotonic_time();
    *b0 = mig->stats.transferred;
    *p0 = mig->stats.duplicate + mig->stats.normal;
    g_mutex_unlock(&mig->lock);
}

static bool migration_first_pass(MigrationState *mig, Error **errp)
{
    int64_t t0;
    uint64_t b0, p0;

    if (!savevm_write_header(mig->out, errp) ||
        !savevm_write_blob(mig->out, MIG_SEC_CONFIG, NULL, mig->config,
                           errp)) {
        return false;
    }
    round_start(mig, &t0, &b0, &p0);
    if (!ram_save_first_pass(mig, errp)) {
        return false;
    }
    migration_measure(mig, t0, b0, p0);
    return true;
}

/* After a sync: publish the dirty set; true if it fits the downtime. */
static bool migration_converged(MigrationState *mig, uint64_t pending)
{
    uint64_t bytes = pending * MIG_PAGE_SIZE;
    bool done;

    g_mutex_lock(&mig->lock);
    mig->stats.total = mig->ram->total;     /* memory plugged meanwhile */
    mig->stats.dirty_sync_count++;
    mig->stats.remaining = bytes;
    mig->stats.expected_downtime_ms = mig->stats.bandwidth ?
        bytes * 1000 / mig->stats.bandwidth : 0;
    /* In double: bandwidth x limit may not fit 64 bits. */
    done = bytes == 0 ||
           (mig->stats.bandwidth &&
            bytes * 1000.0 / mig->stats.bandwidth <= mig->downtime_limit);
    g_mutex_unlock(&mig->lock);
    return done;
}

static bool migration_iterate(MigrationState *mig, Error **errp)
{
    for (;;) {
        int64_t t0;
        uint64_t b0, p0;

        uint64_t pending;

        round_start(mig, &t0, &b0, &p0);
        if (!ram_sync(mig, &pending, errp)) {
            return false;
        }
        if (migration_converged(mig, pending)) {
            return true;
        }
        if (!ram_save_pending(mig, false, errp)) {
            return false;
        }
        migration_measure(mig, t0, b0, p0);
    }
}

/* Main loop: stop and save the devices and the vCPUs (paused already),
 * hand the result to the migration thread. */
static void migration_save_devices(MigrationState *mig)
{
    MachineState *ms = mig->ms;
    GPtrArray *blobs = g_ptr_array_new_with_free_func(mig_blob_free);
    GByteArray *accel = g_byte_array_new();
    Error *err = NULL;

    if (!migration_cancelled(mig)) {
        migration_set_status(mig, MIGRATION_STATUS_DEVICE);
        g_mutex_lock(&ms->lock);
        if (savevm_save(mig, blobs, &err) && ms->accel->save_state) {
            ms->accel->save_state(ms, accel, &err);
        }
        g_mutex_unlock(&ms->lock);
    }
    g_mutex_lock(&mig->lock);
    mig->dev_blobs = blobs;
    mig->accel_blob = accel;
    mig->stop_err = err;
    mig->stop_done = true;
    g_cond_broadcast(&mig->cond);
    g_mutex_unlock(&mig->lock);
}

/* Main loop: pause the vCPUs; with pause-before-switchover wait there
 * for migrate-continue, else save the devices at once. */
static gboolean migration_stop_phase(gpointer opaque)
{
    MigrationState *mig = opaque;
    MachineState *ms = mig->ms;

    g_mutex_lock(&mig->lock);
    mig->stop_idle = 0;
    g_mutex_unlock(&mig->lock);
    if (!migration_cancelled(mig)) {
        mig->stop_us = g_get_monotonic_time();
        mig->vm_was_running = !ms->paused;
        machine_pause(ms);
        mig->vm_paused = mig->vm_was_running;
        ms->paused_state = "finish-migrate";
        if (mig->cap_pause_before_switchover) {
            migration_set_status(mig, MIGRATION_STATUS_PRE_SWITCHOVER);
            return G_SOURCE_REMOVE;
        }
    }
    migration_save_devices(mig);
    return G_SOURCE_REMOVE;
}

bool migration_continue(MigrationState *mig, Error **errp)
{
    MigrationStatus s;

    g_mutex_lock(&mig->lock);
    s = mig->status;
    g_mutex_unlock(&mig->lock);
    if (s != MIGRATION_STATUS_PRE_SWITCHOVER) {
        error_setg(errp, "Migration not in expected state: %s",
                   migration_status_name(s));
        return false;
    }
    migration_save_devices(mig);
    return true;
}

static bool migration_request_stop(MigrationState *mig, Error **errp)
{
    Error *err;

    g_mutex_lock(&mig->lock);
    mig->stop_done = false;
    mig->stop_idle = g_idle_add(migration_stop_phase, mig);
    while (!mig->stop_done && !migration_cancelled(mig)) {
        g_cond_wait(&mig->cond, &mig->lock);
    }
    err = g_steal_pointer(&mig->stop_err);
    g_mutex_unlock(&mig->lock);
    if (err) {
        error_propagate(errp, err);
        return false;
    }
    if (migration_cancelled(mig)) {
        error_setg(errp, "migration cancelled");
        return false;
    }
    return true;
}

static bool migration_send_state(MigrationState *mig, Error **errp)
{
    /* The run state travels with the end marker (QEMU's global state):
     * a guest paused before the migration stays paused. */
    uint8_t end[2] = { MIG_SEC_END,
                       (mig->vm_was_running ? MIG_END_RUNNING : 0) |
                       (mig->out->is_socket ? MIG_END_ACK : 0) };

    if (!savevm_write_blob(mig->out, MIG_SEC_ACCEL, NULL, mig->accel_blob,
                           errp)) {
        return false;
    }
    for (guint i = 0; i < mig->dev_blobs->len; i++) {
        MigBlob *b = g_ptr_array_index(mig->dev_blobs, i);

        if (!savevm_write_blob(mig->out, MIG_SEC_DEVICE, b->name, b->data,
                               errp)) {
            return false;
        }
    }
    if (migration_cancelled(mig)) {
        error_setg(errp, "migration cancelled");
        return false;
    }
    return mig_channel_write(mig->out, end, sizeof(end), errp) &&
           mig_channel_flush(mig->out, errp);
}

/* The destination's word that it loaded everything (MIG_END_ACK): until
 * then the guest runs nowhere, and if the destination fails instead the
 * source must run on.  migrate_cancel shuts the socket down. */
static bool migration_wait_loaded(MigrationState *mig, Error **errp)
{
    uint8_t ack;
    ssize_t n;

    do {
        n = read(mig->out->fd, &ack, 1);
    } while (n < 0 && errno == EINTR);
    if (migration_cancelled(mig)) {
        error_setg(errp, "migration cancelled");
        return false;
    }
    if (n < 0) {
        error_setg_errno(errp, errno, "waiting for the destination to load "
                         "the migration");
        return false;
    }
    if (n == 0) {
        error_setg(errp, "the destination closed the connection without "
                   "confirming that it loaded the migration (see its log)");
        return false;
    }
    if (ack != MIG_ACK_LOADED) {
        error_setg(errp, "the destination answered 0x%02x instead of "
                   "confirming the migration", ack);
        return false;
    }
    return true;
}

static bool migration_complete(MigrationState *mig, Error **errp)
{
    uint64_t pending;

    if (!migration_request_stop(mig, errp)) {
        return false;
    }
    if (!ram_sync(mig, &pending, errp)) {
        return false;
    }
    /* Lock order: the machine lock (taken by ram_sync) before mig->lock. */
    g_mutex_lock(&mig->lock);
    mig->stats.total = mig->ram->total;
    mig->stats.remaining = pending * MIG_PAGE_SIZE;
    g_mutex_unlock(&mig->lock);
    if (!ram_save_pending(mig, true, errp) ||
        !migration_send_state(mig, errp) ||
        (mig->out->is_socket && !migration_wait_loaded(mig, errp))) {
        return false;
    }
    g_mutex_lock(&mig->lock);
    mig->stats.transferred = mig_channel_bytes(mig->out);
    mig->stats.downtime_ms = (g_get_monotonic_time() - mig->stop_us) / 1000;
    g_mutex_unlock(&mig->lock);
    return true;
}

static gboolean migration_finish(gpointer opaque);

static gpointer migration_thread(gpointer opaque)
{
    MigrationState *mig = opaque;
    Error *err = NULL;
    sigset_t pipe;

    /* A pipe (fd:) whose reader went away: EPIPE, not a dead kvmini. */
    sigemptyset(&pipe);
    sigaddset(&pipe, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe, NULL);

    if (migration_first_pass(mig, &err) && migration_iterate(mig, &err)) {
        migration_complete(mig, &err);
    }
    g_mutex_lock(&mig->lock);
    mig->thread_err = err;
    mig->finish_idle = g_idle_add(migration_finish, mig);
    g_mutex_unlock(&mig->lock);
    return NULL;
}

/* --- main loop: start, finish, cancel ------------------------------------ */

/* Dirty logging, setup hooks, configuration.  Lock held. */
static bool migration_prepare(MigrationState *mig, Error **errp)
{
    MachineState *ms = mig->ms;

    mig->ram = ram_state_new(ms);
    if (!ram_log_start(ms, mig->ram, errp)) {
        goto fail;
    }
    if (!savevm_setup(mig, errp)) {
        ram_log_stop(ms, mig->ram);
        savevm_cleanup(mig, false);
        goto fail;
    }
    mig->logging = true;
    mig->config = savevm_config_build(mig, mig->ram);
    return true;
fail:
    g_clear_pointer(&mig->ram, ram_state_free);
    return false;
}

static void migration_reset_stats(MigrationState *mig, int64_t start)
{
    g_mutex_lock(&mig->lock);
    memset(&mig->stats, 0, sizeof(mig->stats));
    mig->stats.start_us = start;
    mig->stats.total = mig->ram->total;
    mig->stats.remaining = mig->ram->total;
    mig->stats.setup_ms = (g_get_monotonic_time() - start) / 1000;
    g_free(mig->error_desc);
    mig->error_desc = NULL;
    g_mutex_unlock(&mig->lock);
}

bool migration_start(MigrationState *mig, const char *uri, Error **errp)
{
    MachineState *ms = mig->ms;
    int64_t start = g_get_monotonic_time();
    bool ok;
    int fd;

    if (migration_is_running(ms)) {
        error_setg(errp, "There's a migration process in progress");
        return false;
    }
    if (migration_incoming_pending(mig) ||
        (ms->paused_state && !strcmp(ms->paused_state, "inmigrate"))) {
        error_setg(errp, "Guest is waiting for an incoming migration");
        return false;
    }
    fd = mig_uri_connect(mig, uri, errp);
    if (fd < 0) {
        return false;
    }
    g_mutex_lock(&ms->lock);
    ok = migration_prepare(mig, errp);
    g_mutex_unlock(&ms->lock);
    if (!ok) {
        close(fd);
        return false;
    }
    mig->out = mig_channel_new(fd);
    g_atomic_int_set(&mig->cancel, 0);
    /* The first rate-limit window starts now, at the new channel's 0
     * bytes (not at a previous migration's count). */
    mig->window_us = g_get_monotonic_time();
    mig->window_bytes = 0;
    migration_reset_stats(mig, start);
    migration_set_status(mig, MIGRATION_STATUS_SETUP);
    migration_set_status(mig, MIGRATION_STATUS_ACTIVE);
    mig->thread = g_thread_new("migration", migration_thread, mig);
    return true;
}

/* Logging off, hooks told, resources freed.  Lock not held.  Logging
 * stops before the cleanup hooks: a device that restarts after a failed
 * migration does so without the dirty log (the vhost log is switched by
 * the vhost core's memory listener, include/hw/virtio/vhost.h). */
static void migration_release(MigrationState *mig, bool completed)
{
    MachineState *ms = mig->ms;

    g_mutex_lock(&ms->lock);
    if (mig->logging) {
        ram_log_stop(ms, mig->ram);
        savevm_cleanup(mig, completed);
        mig->logging = false;
    }
    g_mutex_unlock(&ms->lock);
    g_clear_pointer(&mig->ram, ram_state_free);
    g_clear_pointer(&mig->config, g_byte_array_unref);
    g_clear_pointer(&mig->accel_blob, g_byte_array_unref);
    g_clear_pointer(&mig->dev_blobs, g_ptr_array_unref);
    g_clear_pointer(&mig->out, mig_channel_free);
}

static void migration_end(MigrationState *mig, Error *err)
{
    MachineState *ms = mig->ms;
    MigrationStatus st = !err ? MIGRATION_STATUS_COMPLETED
                       : migration_cancelled(mig) ? MIGRATION_STATUS_CANCELLED
                       : MIGRATION_STATUS_FAILED;

    migration_release(mig, st == MIGRATION_STATUS_COMPLETED);
    g_mutex_lock(&mig->lock);
    mig->stats.total_ms = (g_get_monotonic_time() - mig->stats.start_us) /
                          1000;
    if (err && st == MIGRATION_STATUS_FAILED) {
        mig->error_desc = g_strdup(error_get_pretty(err));
    }
    g_mutex_unlock(&mig->lock);
    if (st == MIGRATION_STATUS_COMPLETED) {
        ms->paused_state = "postmigrate";
    } else {
        ms->paused_state = NULL;
        if (mig->vm_paused) {
            machine_resume(ms);
        }
    }
    mig->vm_paused = false;
    if (err && st == MIGRATION_STATUS_FAILED) {
        error_report("migration failed: %s", error_get_pretty(err));
    }
    error_free(err);
    migration_set_status(mig, st);
}

static gboolean migration_finish(gpointer opaque)
{
    MigrationState *mig = opaque;
    Error *err;

    g_thread_join(mig->thread);
    g_mutex_lock(&mig->lock);
    mig->thread = NULL;
    mig->finish_idle = 0;
    err = g_steal_pointer(&mig->thread_err);
    g_mutex_unlock(&mig->lock);
    /* Cancelled before the stop ran: it must not run afterwards. */
    if (mig->stop_idle) {
        g_source_remove(mig->stop_idle);
        mig->stop_idle = 0;
    }
    migration_end(mig, err);
    return G_SOURCE_REMOVE;
}

void migration_cancel(MigrationState *mig)
{
    MigrationStatus s;

    g_mutex_lock(&mig->lock);
    s = mig->status;
    g_mutex_unlock(&mig->lock);
    if (!mig->thread || s == MIGRATION_STATUS_CANCELLING) {
        return;
    }
    g_atomic_int_set(&mig->cancel, 1);
    migration_set_status(mig, MIGRATION_STATUS_CANCELLING);
    mig_channel_shutdown(mig->out);
    g_mutex_lock(&mig->lock);
    g_cond_broadcast(&mig->cond);
    g_mutex_unlock(&mig->lock);
}

/* Teardown with the main loop gone: stop the thread, drop the idles. */
static void migration_abort(MigrationState *mig)
{
    if (!mig->thread) {
        return;
    }
    g_atomic_int_set(&mig->cancel, 1);
    mig_channel_shutdown(mig->out);
    g_mutex_lock(&mig->lock);
    g_cond_broadcast(&mig->cond);
    g_mutex_unlock(&mig->lock);
    g_thread_join(mig->thread);
    mig->thread = NULL;
    if (mig->stop_idle) {
        g_source_remove(mig->stop_idle);
    }
    if (mig->finish_idle) {
        g_source_remove(mig->finish_idle);
    }
    error_free(g_steal_pointer(&mig->thread_err));
    error_free(g_steal_pointer(&mig->stop_err));
    migration_release(mig, false);
}

void migration_cleanup(MachineState *ms)
{
    MigrationState *mig = ms->migration;

    if (!mig) {
        return;
    }
    migration_abort(mig);
    migration_incoming_cleanup(mig);
    g_hash_table_destroy(mig->fds);
    g_free(mig->error_desc);
    g_mutex_clear(&mig->lock);
    g_cond_clear(&mig->cond);
    g_free(mig);
    ms->migration = NULL;
}
