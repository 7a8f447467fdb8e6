/* SPDX-License-Identifier: MIT */
/*
 * What the functional migration tests with real backends share: a kvmini
 * per side ("src", "dst") in a test directory, each with its QMP socket
 * DIR/SIDE-qmp.sock, and the migration of the source to the destination.
 */
#ifndef TESTS_FUNCTIONAL_MIGRATION_COMMON_H
#define TESTS_FUNCTIONAL_MIGRATION_COMMON_H

#include "functional-common.h"

/* DIR/SIDE-NAME; g_free it. */
char *mig_side_path(const char *dir, const char *side, const char *name);
/* kvmini -m 64M -kernel GUEST -serial stdio -qmp DIR/SIDE-qmp.sock
 * ARGS... [-incoming URI] (args NULL-terminated); waits for the QMP
 * socket. */
void mig_kvmini_start(Peer *p, const char *dir, const char *side,
                      const char *const *args, const char *incoming);
/* That command line (g_strfreev), for a caller that wraps it (the vhost
 * stand-in, say) before peer_start(p, argv, DIR/SIDE-qmp.sock). */
char **mig_kvmini_argv(const char *dir, const char *side,
                       const char *const *args, const char *incoming);
/* Over the source's QMP: migrate to uri, wait until it completed (fails
 * the test otherwise), then quit the source (it stays paused: its guest
 * does not finish there). */
void mig_migrate_source(const char *dir, const char *uri,
                        unsigned timeout_s);

/* What query-migrate said once the migration completed (ms). */
typedef struct MigTimes {
    int64_t total_ms;
    int64_t downtime_ms;
    int64_t transferred;        /* bytes, ram.transferred */
} MigTimes;

/* As mig_migrate_source, also reading the times (times may be NULL). */
void mig_migrate_source_timed(const char *dir, const char *uri,
                              unsigned timeout_s, MigTimes *times);

#endif
