/* SPDX-License-Identifier: MIT */
/*
 * The syscall sandbox (-sandbox on, system/seccomp.c): a seccomp filter
 * built with libseccomp that lists exactly what kvmini does once the
 * machine is built — the main loop, the vCPU threads' KVM ioctls,
 * chardev sockets, vhost-user, QMP (hotplug, getfd), migration, signals,
 * timers — and kills the whole process (SIGSYS) on any other call, so a
 * missing entry is loud.  QEMU's filter is a deny-list; kvmini's is an
 * allow-list, so QEMU's sub-options name the categories of calls that
 * are added to it (allow) or left out (deny), with QEMU's defaults:
 *
 *   obsolete=deny            calls old C libraries made (sysfs, ustat, ...)
 *   elevateprivileges=allow  set*uid/set*gid/setgroups/setsid/setpgid;
 *                            children: also sets no_new_privs (which the
 *                            filter always sets, as QEMU's does)
 *   spawn=allow              fork, vfork, execve, clone without
 *                            CLONE_THREAD; deny keeps threads only
 *   resourcecontrol=allow    scheduler priority and affinity; deny fails
 *                            them with EPERM, as QEMU
 *
 * main() installs it after machine_build() and after -run-with has
 * dropped root, before machine_run() starts the guest; the filter then
 * covers every thread (TSYNC).  It cannot be removed.
 */
#ifndef SYSEMU_SECCOMP_H
#define SYSEMU_SECCOMP_H

#include <stdbool.h>

#include "qemu/error.h"

typedef enum SandboxElevate {
    SANDBOX_ELEVATE_ALLOW,      /* QEMU's default */
    SANDBOX_ELEVATE_DENY,
    SANDBOX_ELEVATE_CHILDREN,
} SandboxElevate;

/* All-zero is QEMU's default for every sub-option, sandbox off. */
typedef struct SandboxConfig {
    bool on;                    /* -sandbox on */
    bool allow_obsolete;        /* obsolete=allow */
    SandboxElevate elevate;     /* elevateprivileges= */
    bool deny_spawn;            /* spawn=deny */
    bool deny_resourcecontrol;  /* resourcecontrol=deny */
} SandboxConfig;

/* Parse "-sandbox on|off[,obsolete=...][,elevateprivileges=...]
 * [,spawn=...][,resourcecontrol=...]" into *c.  Sub-options are checked
 * with the sandbox off too (QEMU ignores them then; kvmini ignores no
 * input).  Errors name the key and its accepted values. */
bool sandbox_parse(SandboxConfig *c, const char *arg, Error **errp);

/* Build and load the filter for every thread of the process; no-op when
 * c->on is false.  Fails (nothing loaded) if the kernel or libseccomp
 * refuses it, or in a sanitizer build (see docs/user-guide.md). */
bool sandbox_install(const SandboxConfig *c, Error **errp);

/* false in a sanitizer build: the sanitizers' own runtime (the leak
 * checker's ptrace and fork at exit) is not on the allow-list. */
bool sandbox_supported(void);

#endif
