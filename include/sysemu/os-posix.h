/* SPDX-License-Identifier: MIT */
/*
 * The process around the machine, as QEMU's -daemonize, -pidfile and
 * -name process= set it up (system/os-posix.c).  State lives in
 * MachineState.os.
 *
 * -daemonize: kvmini forks before it creates anything (a KVM VM belongs
 * to the process that created it); the parent waits until the child has
 * started the machine, then exits 0 — or 1 if the child failed, after
 * the child printed why on the shared stderr.  The child is a new session
 * leader; once started it puts /dev/null on stdin and stdout, and on
 * stderr too if stderr is a terminal (a supervisor that captures stderr
 * keeps the log).  The working directory does not change.
 *
 * -pidfile FILE: created (0600, O_CLOEXEC) with the process id (the
 * daemon's with -daemonize) and write-locked while kvmini runs: a second
 * kvmini with the same file fails.  Removed at exit (if the user kvmini
 * then runs as may remove it).
 *
 * -run-with user=NAME (QEMU 9; also QEMU's older -runas NAME): the user
 * (or "UID:GID") is looked up when the option is parsed; once the machine
 * is built — /dev/kvm, sockets and files open — kvmini takes the user's
 * supplementary groups, group and user id, in that order, and checks that
 * root cannot be regained.  What it opens afterwards (reconnect dials,
 * migration sockets and files, hotplugged mem-path files) it opens as
 * that user.
 */
#ifndef SYSEMU_OS_POSIX_H
#define SYSEMU_OS_POSIX_H

#include <stdbool.h>
#include <sys/types.h>

#include "qemu/error.h"

typedef struct OsState {
    bool daemonize;             /* -daemonize */
    int daemon_fd;              /* child: the pipe to the waiting parent */
    char *pidfile;              /* -pidfile */
    int pidfile_fd;             /* holds the lock */
    char *process_name;         /* -name ...,process= */
    char *user;                 /* -run-with user=, NULL: stay who we are */
    uid_t uid;                  /* ... its ids, looked up at parse time */
    gid_t gid;
    gid_t *groups;              /* its supplementary groups */
    int ngroups;
} OsState;

void os_state_init(OsState *os);
/* Fork (the caller checked that the options allow it: no stdio
 * chardevs); only the child returns (true), the parent exits with the
 * child's verdict.  No-op without -daemonize. */
bool os_daemonize_start(OsState *os, Error **errp);
/* The child has started the machine: let the parent exit 0, detach from
 * the terminal.  No-op without -daemonize. */
void os_daemonize_finish(OsState *os);
bool os_pidfile_create(OsState *os, Error **errp);
void os_pidfile_remove(OsState *os);
/* -run-with user=USER: look USER (a name, or UID:GID) up now, so that
 * an unknown user fails before anything is created. */
bool os_set_user(OsState *os, const char *user, Error **errp);
/* Become that user (no-op without -run-with user=); false if a step
 * fails or root could be regained: the caller must then exit. */
bool os_change_user(const OsState *os, Error **errp);
/* -name process=: the name ps and top show. */
void os_set_process_name(const OsState *os);
/* Block SIGINT, SIGTERM and SIGHUP in the calling thread (every thread
 * created later inherits it) and return a signalfd (non-blocking,
 * close-on-exec) that receives them instead: a shutdown request kvmini
 * reads from the main loop and that every wait on a peer watches.  Call
 * before any thread exists.  -1 with errp set on failure. */
int os_shutdown_signalfd(Error **errp);

#endif
