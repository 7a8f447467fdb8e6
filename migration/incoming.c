/* SPDX-License-Identifier: MIT */
/*
 * The destination.  kvmini started with -incoming builds the machine as
 * usual (RAM mapped, devices created, backends connected) but keeps the
 * vCPUs paused ("inmigrate").  A unix: socket is accepted on the main
 * loop; then a load thread reads the stream: header, configuration
 * (compared with the local one), RAM pages written straight into guest
 * RAM, memory devices the source plugged meanwhile (created by the main
 * loop: incoming_plug), the accelerator and device sections (kept), the
 * end marker.  The
 * main loop then loads the accelerator state and the device sections and
 * calls the post_load hooks with the machine lock held, and resumes the
 * vCPUs.  Any error fails the migration and kvmini exits with status 1,
 * as QEMU does when an incoming migration fails.
 */
#include "migration-internal.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <glib-unix.h>

struct IncomingState {
    int listen_fd;
    guint listen_watch;
    MigChannel *ch;
    GThread *thread;
    RamState *ram;
    GByteArray *config;             /* the local configuration */
    GPtrArray *blobs;               /* MigBlob *, device sections */
    MigBlob *accel;
    Error *err;
    guint finish_idle;
    uint8_t end_flags;              /* MIG_END_* */
    bool done;                      /* completed or failed */
    /* A memory device plugged on the source: the load thread hands the
     * record to the main loop and waits (mig->lock, mig->cond). */
    MigBlob *plug;
    guint plug_idle;
    bool plug_done;
    Error *plug_err;
    bool stopping;                  /* cleanup: stop waiting */
};

bool migration_incoming_pending(MigrationState *mig)
{
    return mig->in && !mig->in->done;
}

/* --- the load thread ----------------------------------------------------- */

static bool incoming_read_config(IncomingState *in, Error **errp)
{
    g_autoptr(GByteArray) src = NULL;
    MigBlob *b;
    uint8_t type;

    if (!mig_channel_read(in->ch, &type, 1, errp)) {
        return false;
    }
    if (type != MIG_SEC_CONFIG) {
        error_setg(errp, "expected the configuration section, got section "
                   "type %u", type);
        return false;
    }
    b = savevm_read_blob(in->ch, type, errp);
    if (!b) {
        return false;
    }
    src = g_steal_pointer(&b->data);
    mig_blob_free(b);
    return savevm_config_check(src, in->config, errp);
}

static bool incoming_read_blob(IncomingState *in, uint8_t type, Error **errp)
{
    MigBlob *b = savevm_read_blob(in->ch, type, errp);

    if (!b) {
        return false;
    }
    if (type == MIG_SEC_DEVICE) {
        g_ptr_array_add(in->blobs, b);
        return true;
    }
    if (in->accel) {
        mig_blob_free(b);
        error_setg(errp, "two vCPU state sections");
        return false;
    }
    in->accel = b;
    return true;
}

/* Main loop: plug the memory device the load thread read. */
static gboolean incoming_plug_main(gpointer opaque)
{
    MigrationState *mig = opaque;
    IncomingState *in = mig->in;
    Error *err = NULL;

    g_mutex_lock(&mig->ms->lock);
    ram_plug_load(mig->ms, in->plug->data->data, in->plug->data->len,
                  &err);
    g_mutex_unlock(&mig->ms->lock);
    g_mutex_lock(&mig->lock);
    in->plug_idle = 0;
    in->plug_err = err;
    in->plug_done = true;
    g_cond_broadcast(&mig->cond);
    g_mutex_unlock(&mig->lock);
    return G_SOURCE_REMOVE;
}

/*
 * Memory the source plugged during the migration: device_add runs on the
 * main loop with the machine lock (as a QMP device_add would), the load
 * thread waits for it, then the new RAM joins the blocks pages go to.
 */
static bool incoming_plug(MigrationState *mig, Error **errp)
{
    IncomingState *in = mig->in;
    MigBlob *b = savevm_read_blob(in->ch, MIG_SEC_MEMDEV, errp);
    Error *err;
    bool done;

    if (!b) {
        return false;
    }
    g_mutex_lock(&mig->lock);
    in->plug = b;
    in->plug_done = false;
    in->plug_idle = g_idle_add(incoming_plug_main, mig);
    while (!in->plug_done && !in->stopping) {
        g_cond_wait(&mig->cond, &mig->lock);
    }
    done = in->plug_done;
    err = g_steal_pointer(&in->plug_err);
    in->plug = NULL;
    g_mutex_unlock(&mig->lock);
    mig_blob_free(b);
    if (err || !done) {
        if (!err) {
            error_setg(&err, "incoming migration stopped");
        }
        error_propagate(errp, err);
        return false;
    }
    g_mutex_lock(&mig->ms->lock);
    ram_state_add_new(mig->ms, in->ram);
    g_mutex_unlock(&mig->ms->lock);
    ram_load_prepare(in->ram);
    return true;
}

static bool incoming_read_sections(MigrationState *mig, Error **errp)
{
    IncomingState *in = mig->in;

    for (;;) {
        uint8_t type;

        if (!mig_channel_read(in->ch, &type, 1, errp)) {
            return false;
        }
        switch (type) {
        case MIG_SEC_RAM:
            if (!ram_load_section(in->ram, in->ch, errp)) {
                return false;
            }
            break;
        case MIG_SEC_ACCEL:
        case MIG_SEC_DEVICE:
            if (!incoming_read_blob(in, type, errp)) {
                return false;
            }
            break;
        case MIG_SEC_MEMDEV:
            if (!incoming_plug(mig, errp)) {
                return false;
            }
            break;
        case MIG_SEC_END:
            return mig_channel_read(in->ch, &in->end_flags, 1, errp);
        default:
            error_setg(errp, "unknown section type %u", type);
            return false;
        }
    }
}

static gboolean incoming_finish(gpointer opaque);

static gpointer incoming_thread(gpointer opaque)
{
    MigrationState *mig = opaque;
    IncomingState *in = mig->in;
    Error *err = NULL;

    if (savevm_read_header(in->ch, &err) &&
        incoming_read_config(in, &err)) {
        incoming_read_sections(mig, &err);
    }
    g_mutex_lock(&mig->lock);
    in->err = err;
    in->finish_idle = g_idle_add(incoming_finish, mig);
    g_mutex_unlock(&mig->lock);
    return NULL;
}

/* --- main loop ----------------------------------------------------------- */

static void incoming_start_thread(MigrationState *mig, int fd)
{
    mig->in->ch = mig_channel_new(fd);
    migration_set_status(mig, MIGRATION_STATUS_ACTIVE);
    mig->in->thread = g_thread_new("migration-incoming", incoming_thread,
                                   mig);
}

static gboolean incoming_accept(gint fd, GIOCondition cond, gpointer opaque)
{
    MigrationState *mig = opaque;
    IncomingState *in = mig->in;
    int conn = accept4(fd, NULL, NULL, SOCK_CLOEXEC);

    if (conn < 0 && (errno == EINTR || errno == EAGAIN)) {
        return G_SOURCE_CONTINUE;
    }
    in->listen_watch = 0;
    close(in->listen_fd);
    in->listen_fd = -1;
    if (conn < 0) {
        g_mutex_lock(&mig->lock);
        error_setg_errno(&in->err, errno, "accepting the migration "
                         "connection");
        g_mutex_unlock(&mig->lock);
        incoming_finish(mig);
        return G_SOURCE_REMOVE;
    }
    incoming_start_thread(mig, conn);
    return G_SOURCE_REMOVE;
}

/* The accelerator, then the devices, then their post_load.  Lock held. */
static bool incoming_load_state(MigrationState *mig, Error **errp)
{
    MachineState *ms = mig->ms;
    IncomingState *in = mig->in;

    if (ms->accel->load_state) {
        if (!in->accel) {
            error_setg(errp, "the stream has no vCPU state section");
            return false;
        }
        if (!ms->accel->load_state(ms, in->accel->data->data,
                                   in->accel->data->len, errp)) {
            error_prepend(errp, "vCPU state: ");
            return false;
        }
    }
    return savevm_load(mig, in->blobs, errp) && savevm_post_load(mig, errp);
}

static void incoming_fail(MigrationState *mig, Error *err)
{
    MachineState *ms = mig->ms;

    error_report("load of migration failed: %s", error_get_pretty(err));
    g_mutex_lock(&mig->lock);
    g_free(mig->error_desc);
    mig->error_desc = g_strdup(error_get_pretty(err));
    g_mutex_unlock(&mig->lock);
    error_free(err);
    g_mutex_lock(&ms->lock);
    savevm_cleanup(mig, false);
    g_mutex_unlock(&ms->lock);
    migration_set_status(mig, MIGRATION_STATUS_FAILED);
    machine_request_shutdown_reason(ms, 1, "host-error");
}

/* Tell the source everything loaded (MIG_END_ACK), before the guest
 * runs here: if this fails, the guest must not run on both sides. */
static bool incoming_confirm(IncomingState *in, Error **errp)
{
    uint8_t ack = MIG_ACK_LOADED;
    ssize_t n;

    do {
        n = send(in->ch->fd, &ack, 1, MSG_NOSIGNAL);
    } while (n < 0 && errno == EINTR);
    if (n != 1) {
        error_setg_errno(errp, n < 0 ? errno : EIO, "confirming the "
                         "migration to the source");
        return false;
    }
    return true;
}

static gboolean incoming_finish(gpointer opaque)
{
    MigrationState *mig = opaque;
    MachineState *ms = mig->ms;
    IncomingState *in = mig->in;
    Error *err;
    bool ok;

    if (in->thread) {
        g_thread_join(in->thread);
        in->thread = NULL;
    }
    g_mutex_lock(&mig->lock);
    in->finish_idle = 0;
    err = g_steal_pointer(&in->err);
    g_mutex_unlock(&mig->lock);
    in->done = true;
    if (!err) {
        g_mutex_lock(&ms->lock);
        ok = incoming_load_state(mig, &err);
        g_mutex_unlock(&ms->lock);
        if (ok && (in->end_flags & MIG_END_ACK)) {
            incoming_confirm(in, &err);
        }
    }
    /* Without the confirmation the source sees the connection close and
     * runs on. */
    g_clear_pointer(&in->ch, mig_channel_free);
    if (err) {
        incoming_fail(mig, err);
        return G_SOURCE_REMOVE;
    }
    migration_set_status(mig, MIGRATION_STATUS_COMPLETED);
    ms->paused_state = NULL;
    /* -S on the destination keeps the guest paused, as QEMU. */
    if ((in->end_flags & MIG_END_RUNNING) && !ms->start_paused) {
        machine_resume(ms);
    }
    return G_SOURCE_REMOVE;
}

static IncomingState *incoming_new(MigrationState *mig)
{
    MachineState *ms = mig->ms;
    IncomingState *in = g_new0(IncomingState, 1);

    in->listen_fd = -1;
    in->blobs = g_ptr_array_new_with_free_func(mig_blob_free);
    g_mutex_lock(&ms->lock);
    in->ram = ram_state_new(ms);
    in->config = savevm_config_build(mig, in->ram);
    g_mutex_unlock(&ms->lock);
    ram_load_prepare(in->ram);
    return in;
}

bool migration_incoming_start(MigrationState *mig, const char *uri,
                              Error **errp)
{
    MachineState *ms = mig->ms;
    bool listening;
    int fd;

    if (!ms->paused_state || strcmp(ms->paused_state, "inmigrate")) {
        error_setg(errp, "'-incoming' was not specified on the command line");
        return false;
    }
    if (mig->in) {
        error_setg(errp, "The incoming migration has already been started");
        return false;
    }
    fd = mig_uri_listen(mig, uri, &listening, errp);
    if (fd < 0) {
        return false;
    }
    mig->in = incoming_new(mig);
    migration_set_status(mig, MIGRATION_STATUS_SETUP);
    if (listening) {
        mig->in->listen_fd = fd;
        mig->in->listen_watch = g_unix_fd_add(fd, G_IO_IN, incoming_accept,
                                              mig);
    } else {
        incoming_start_thread(mig, fd);
    }
    return true;
}

bool migration_incoming_init(MachineState *ms, Error **errp)
{
    MigrationState *mig = migration_get(ms);

    /* The vCPU threads start parked; no STOP event, as QEMU. */
    if (ms->accel->pause) {
        ms->accel->pause(ms);
    }
    ms->paused = true;
    ms->paused_state = "inmigrate";
    if (!strcmp(ms->incoming, "defer")) {
        return true;
    }
    if (!migration_incoming_start(mig, ms->incoming, errp)) {
        error_prepend(errp, "-incoming %s: ", ms->incoming);
        return false;
    }
    return true;
}

void migration_incoming_cleanup(MigrationState *mig)
{
    IncomingState *in = mig->in;

    if (!in) {
        return;
    }
    if (in->listen_watch) {
        g_source_remove(in->listen_watch);
    }
    if (in->listen_fd >= 0) {
        close(in->listen_fd);
    }
    if (in->thread) {
        g_mutex_lock(&mig->lock);
        in->stopping = true;
        g_cond_broadcast(&mig->cond);
        g_mutex_unlock(&mig->lock);
        mig_channel_shutdown(in->ch);
        g_thread_join(in->thread);
    }
    if (in->plug_idle) {
        g_source_remove(in->plug_idle);
    }
    if (in->finish_idle) {
        g_source_remove(in->finish_idle);
    }
    error_free(in->plug_err);
    error_free(in->err);
    mig_channel_free(in->ch);
    ram_state_free(in->ram);
    g_byte_array_unref(in->config);
    g_ptr_array_unref(in->blobs);
    mig_blob_free(in->accel);
    g_free(in);
    mig->in = NULL;
}
