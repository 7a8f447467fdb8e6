/* SPDX-License-Identifier: MIT */
/*
 * Private interface between the files of migration/: the state machine
 * (migration.c), its QMP commands (migration-qmp.c), channels and URIs
 * (channel.c), RAM precopy (ram.c), the stream format and the calls of
 * the registered sections' hooks (savevm.c) and the destination
 * (incoming.c).
 *
 * Threads.  An outgoing migration runs in a migration thread that writes
 * the stream with blocking I/O; the main loop keeps running.  The thread
 * takes the machine lock only to sync the dirty log.  Everything that
 * touches devices or the run state (setup, the final stop with the device
 * save hooks, cleanup, status changes and events) runs on the main
 * thread; the thread asks for the final stop and for the finish with idle
 * callbacks and waits on `cond`.  Cancelling shuts the socket down, so a
 * blocked write returns at once.  The destination reads the stream in a
 * thread too, writing RAM directly, and hands the device and vCPU state
 * to the main loop at the end.
 */
#ifndef MIGRATION_INTERNAL_H
#define MIGRATION_INTERNAL_H

#include <sys/uio.h>

#include "exec/memory.h"
#include "migration/migration.h"
#include "migration/register.h"
#include "migration/stream.h"

/* --- stream format (docs/migration.md) ---------------------------------- */

#define MIG_MAGIC           "KVMINIMG"
#define MIG_MAGIC_LEN       8
#define MIG_VERSION         1
/* Section types: one byte, then the section. */
#define MIG_SEC_CONFIG      1   /* be32 length, bytes */
#define MIG_SEC_RAM         2   /* page entries until one with EOS */
#define MIG_SEC_ACCEL       3   /* be32 length, bytes (vCPUs, irqchip, ...) */
#define MIG_SEC_DEVICE      4   /* string name, be32 length, bytes */
#define MIG_SEC_END         5   /* u8 flags */
#define MIG_SEC_MEMDEV      6   /* be32 length, a memory device plugged
                                 * during the migration (before its RAM) */
#define MIG_END_RUNNING     0x1 /* the guest ran when it was stopped */
#define MIG_END_ACK         0x2 /* the source waits for MIG_ACK_LOADED */
/* On a socket the destination answers the end marker with this byte once
 * the vCPU and device state loaded, before its guest runs; the source
 * completes only then (it resumes its guest if the connection closes
 * instead). */
#define MIG_ACK_LOADED      0x4b
/* A RAM entry: be64 gpa | flags (gpa page aligned), then 4096 bytes for
 * a data page. */
#define MIG_PAGE_SIZE       4096u
#define MIG_RAM_ZERO        0x1ULL      /* the page is all zero */
#define MIG_RAM_PAGE        0x2ULL      /* 4096 bytes follow */
#define MIG_RAM_EOS         0x4ULL      /* end of this RAM section */
#define MIG_RAM_FLAGS       0xfffULL
/* The largest config / accel / device section a destination accepts. */
#define MIG_SECTION_MAX     (64u << 20)

typedef enum MigrationStatus {
    MIGRATION_STATUS_NONE,
    MIGRATION_STATUS_SETUP,
    MIGRATION_STATUS_ACTIVE,
    MIGRATION_STATUS_PRE_SWITCHOVER,    /* vCPUs stopped; waiting for
                                         * migrate-continue */
    MIGRATION_STATUS_DEVICE,        /* vCPUs and devices stopped */
    MIGRATION_STATUS_COMPLETED,
    MIGRATION_STATUS_FAILED,
    MIGRATION_STATUS_CANCELLING,
    MIGRATION_STATUS_CANCELLED,
} MigrationStatus;

/* --- channels (channel.c) ----------------------------------------------- */

/* A stream over a file descriptor, buffered, with blocking I/O. */
typedef struct MigChannel {
    int fd;
    bool is_socket;
    uint8_t *buf;
    size_t cap;
    size_t len;                     /* write: used; read: valid bytes */
    size_t pos;                     /* read: next byte */
    struct iovec *iov;              /* write: what the next flush sends */
    unsigned niov;
    size_t queued;                  /* write: bytes in iov */
    uint64_t transferred;           /* bytes written to / read from fd */
} MigChannel;

/* Takes ownership of fd. */
MigChannel *mig_channel_new(int fd);
/* Closes the fd; NULL-safe. */
void mig_channel_free(MigChannel *ch);
/* Make blocked I/O on a socket return (any thread); NULL-safe. */
void mig_channel_shutdown(MigChannel *ch);
bool mig_channel_write(MigChannel *ch, const void *p, size_t n,
                       Error **errp);
/* Queue n bytes at p without copying them: p must stay valid until the
 * next flush (guest RAM does; what is sent is what p holds then). */
bool mig_channel_write_ref(MigChannel *ch, const void *p, size_t n,
                           Error **errp);
/* n bytes of buffer space to fill in place (flushing first if needed);
 * n <= the buffer size. */
uint8_t *mig_channel_reserve(MigChannel *ch, size_t n, Error **errp);
bool mig_channel_flush(MigChannel *ch, Error **errp);
/* Bytes written so far, queued ones included. */
uint64_t mig_channel_bytes(const MigChannel *ch);
/* Exactly n bytes; fails on EOF ("unexpected end of stream"). */
bool mig_channel_read(MigChannel *ch, void *p, size_t n, Error **errp);
/* The next n bytes, contiguous in the buffer (n <= its size), without
 * consuming them; mig_channel_consume() then moves past them. */
const uint8_t *mig_channel_peek(MigChannel *ch, size_t n, Error **errp);
void mig_channel_consume(MigChannel *ch, size_t n);
/* Read bytes buffered and not yet consumed (pointers into the buffer
 * stay valid until the next read needs more than this). */
size_t mig_channel_available(const MigChannel *ch);

typedef struct MigrationState MigrationState;

/* Outgoing: a connected / opened fd for uri (fd:NAME takes the named
 * fd out of the table). */
int mig_uri_connect(MigrationState *mig, const char *uri, Error **errp);
/* Incoming: for unix: a listening socket (*listening = true), else the fd
 * to read (file:, fd:). */
int mig_uri_listen(MigrationState *mig, const char *uri, bool *listening,
                   Error **errp);
/* The named fds from getfd (name -> fd). */
bool mig_fd_add(MigrationState *mig, const char *name, int fd,
                Error **errp);
bool mig_fd_close(MigrationState *mig, const char *name, Error **errp);

/* --- RAM (ram.c) --------------------------------------------------------- */

/* A RAM section of the memory address space, as migration sees it. */
typedef struct RamBlock {
    MemoryRegion *mr;               /* terminal RAM region */
    hwaddr mr_offset;
    hwaddr gpa;
    uint64_t size;
    uint8_t *host;
    int fd;                         /* shared backing: holes are zero */
    uint64_t fd_offset;             /* of gpa in fd */
    DirtyBitmapSnapshot *pending;   /* source: dirty, not yet sent */
    bool send_all;                  /* source: plugged during the
                                     * migration, not sent yet */
    GByteArray *plug;               /* source: its memory device record,
                                     * not sent yet */
    unsigned long *maybe_data;      /* destination: page may be non-zero */
    bool no_pwrite;                 /* destination: fd refuses pwrite */
} RamBlock;

typedef struct RamState {
    RamBlock *blocks;
    unsigned nr;
    uint64_t total;                 /* bytes */
} RamState;

/* The RAM sections of ms's memory address space now.  Lock held. */
RamState *ram_state_new(MachineState *ms);
/* Append the RAM sections rs does not have yet (memory plugged since);
 * returns the index of the first one added (rs->nr: none).  Lock held. */
unsigned ram_state_add_new(MachineState *ms, RamState *rs);
void ram_state_free(RamState *rs);
/* Start / stop dirty logging on every block's region and the address
 * space (listeners' log_global_start).  Lock held. */
bool ram_log_start(MachineState *ms, RamState *rs, Error **errp);
void ram_log_stop(MachineState *ms, RamState *rs);
/* Migration thread: every page once (zero pages as markers). */
bool ram_save_first_pass(MigrationState *mig, Error **errp);
/* Migration thread: pick up memory plugged since the last round (logging
 * on, sent whole next), sync the dirty log (every listener's log_sync,
 * with the machine lock taken), move the dirty bits into the pending
 * sets; *pending gets the pages to send. */
bool ram_sync(MigrationState *mig, uint64_t *pending, Error **errp);
/* Migration thread: the records of newly plugged memory, then the
 * pending pages (rate limited unless final). */
bool ram_save_pending(MigrationState *mig, bool final, Error **errp);
/* Destination: note which pages may hold data (not holes of the backing
 * file), so zero markers for untouched RAM cost nothing; blocks added
 * since the last call only. */
void ram_load_prepare(RamState *rs);
/* Destination: one RAM section (after its type byte). */
bool ram_load_section(RamState *rs, MigChannel *ch, Error **errp);

/* --- sections (savevm.c; the registry is migration/register.c) ----------- */

/* A device (or accel) section held between the stop and the sending, or
 * between reading and loading. */
typedef struct MigBlob {
    char *name;
    GByteArray *data;
} MigBlob;

void mig_blob_free(gpointer p);

/* The machine configuration the destination must match.  Lock held. */
GByteArray *savevm_config_build(MigrationState *mig, RamState *rs);
/* Compare a source configuration with the local one: false with errp
 * "configuration mismatch: ..." naming the difference. */
bool savevm_config_check(const GByteArray *source, const GByteArray *local,
                         Error **errp);
/* Hooks, main thread with the lock held, registration order. */
bool savevm_setup(MigrationState *mig, Error **errp);
void savevm_cleanup(MigrationState *mig, bool completed);
bool savevm_save(MigrationState *mig, GPtrArray *blobs, Error **errp);
bool savevm_load(MigrationState *mig, GPtrArray *blobs, Error **errp);
bool savevm_post_load(MigrationState *mig, Error **errp);
/* Stream framing. */
bool savevm_write_header(MigChannel *ch, Error **errp);
bool savevm_read_header(MigChannel *ch, Error **errp);
bool savevm_write_blob(MigChannel *ch, uint8_t type, const char *name,
                       const GByteArray *data, Error **errp);
/* After the type byte: name (MIG_SEC_DEVICE only) and data. */
MigBlob *savevm_read_blob(MigChannel *ch, uint8_t type, Error **errp);

/* --- the state machine (migration.c) ------------------------------------- */

typedef struct MigrationStats {
    uint64_t transferred;           /* bytes written */
    uint64_t duplicate;             /* zero pages */
    uint64_t normal;                /* data pages */
    uint64_t remaining;             /* bytes of dirty pages to send */
    uint64_t total;                 /* RAM bytes */
    uint64_t dirty_sync_count;
    uint64_t bandwidth;             /* bytes/s, measured */
    uint64_t pages_per_second;
    int64_t start_us;               /* g_get_monotonic_time() */
    int64_t setup_ms;
    int64_t total_ms;               /* set at the end */
    int64_t downtime_ms;
    int64_t expected_downtime_ms;
} MigrationStats;

typedef struct IncomingState IncomingState;

struct MigrationState {
    MachineState *ms;
    GHashTable *fds;                /* getfd: name -> fd */

    GMutex lock;                    /* the fields below */
    GCond cond;
    MigrationStatus status;
    char *error_desc;
    uint64_t downtime_limit;        /* ms */
    uint64_t max_bandwidth;         /* bytes/s */
    /* Capabilities (migrate-set-capabilities). */
    bool cap_events;                /* MIGRATION events (default on) */
    bool cap_pause_before_switchover;
    MigrationStats stats;

    /* Outgoing. */
    gint cancel;                    /* atomic: stop as soon as possible */
    GThread *thread;
    MigChannel *out;
    RamState *ram;
    GByteArray *config;
    bool logging;                   /* ram_log_start done */
    bool vm_was_running;
    bool vm_paused;                 /* the final phase paused the vCPUs */
    int64_t stop_us;
    bool stop_done;                 /* final-phase hand-off */
    Error *stop_err;
    GPtrArray *dev_blobs;           /* MigBlob *, saved at the stop */
    GByteArray *accel_blob;
    Error *thread_err;
    guint stop_idle;
    guint finish_idle;
    int64_t window_us;              /* rate limit window start */
    uint64_t window_bytes;

    IncomingState *in;
};

/* ms->migration, created if needed. */
MigrationState *migration_get(MachineState *ms);
const char *migration_status_name(MigrationStatus s);
/* Set the status and emit MIGRATION {"status": ...}.  Main thread. */
void migration_set_status(MigrationState *mig, MigrationStatus s);
bool migration_cancelled(MigrationState *mig);
/* Sleeps while over max-bandwidth (flushing what is queued first);
 * false with errp if the migration was cancelled or the flush failed.
 * Migration thread. */
bool migration_rate_limit(MigrationState *mig, Error **errp);
/* Publish page counters (migration thread). */
void migration_account_pages(MigrationState *mig, uint64_t zero,
                             uint64_t normal);

/* pause-before-switchover: the final phase continues (migrate-continue
 * in status pre-switchover); false with errp otherwise.  Main thread. */
bool migration_continue(MigrationState *mig, Error **errp);

/* QMP side (migration.c / incoming.c). */
bool migration_start(MigrationState *mig, const char *uri, Error **errp);
void migration_cancel(MigrationState *mig);
bool migration_incoming_start(MigrationState *mig, const char *uri,
                              Error **errp);
bool migration_incoming_pending(MigrationState *mig);
void migration_incoming_cleanup(MigrationState *mig);

#endif
