/* SPDX-License-Identifier: MIT */
/*
 * -sandbox (include/sysemu/seccomp.h): the allow-list of system calls
 * kvmini makes once the machine is built, loaded with libseccomp.
 *
 * The list was taken from strace -f of the functional and qtest suites
 * (every call after the point where main() installs the filter) and a
 * review of the code paths the tests do not reach: each group below
 * says who makes its calls.  Where glibc versions implement one library
 * function with different calls (fstat: fstat or newfstatat; sleeping:
 * nanosleep or clock_nanosleep; poll: poll or ppoll), both are listed.
 * Everything else kills the process with SIGSYS: a call missing here
 * shows up as a failed test, never as a silently failing feature.  How to
 * find the call that killed kvmini: docs/user-guide.md ("Sandbox").
 */
#include "sysemu/seccomp.h"
#include "qemu/option.h"

#include <errno.h>
#include <linux/kvm.h>
#include <sched.h>
#include <seccomp.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <linux/if_tun.h>
#include <linux/vhost.h>
#include <sys/ioctl.h>

/* The categories QEMU's sub-options switch; BASE is always allowed. */
typedef enum SandboxSet {
    SET_BASE,
    SET_OBSOLETE,       /* obsolete=allow */
    SET_PRIVILEGED,     /* elevateprivileges=allow */
    SET_SPAWN,          /* spawn=allow (clone is handled apart) */
    SET_RESOURCECTL,    /* resourcecontrol=allow; deny: EPERM */
} SandboxSet;

typedef struct SandboxCall {
    int nr;
    SandboxSet set;
} SandboxCall;

static const SandboxCall sandbox_calls[] = {
    /* Memory: glibc's malloc and thread stacks; guest RAM, memory
     * hotplug backends (object-add: memfd or mem-path file), the regions
     * vhost-user backends send (mmap of received fds), the vhost dirty
     * log and inflight region (memfd).  mprotect also serves dlopen of a
     * gconv module, which g_strerror() may do in a non-UTF-8 locale. */
    { SCMP_SYS(brk), SET_BASE },
    { SCMP_SYS(mmap), SET_BASE },
    { SCMP_SYS(munmap), SET_BASE },
    { SCMP_SYS(mremap), SET_BASE },
    { SCMP_SYS(mprotect), SET_BASE },
    { SCMP_SYS(madvise), SET_BASE },
    { SCMP_SYS(memfd_create), SET_BASE },
    { SCMP_SYS(ftruncate), SET_BASE },
    { SCMP_SYS(sysinfo), SET_BASE },    /* glibc qsort() of > 1 KiB */
    /* I/O on chardevs, sockets, eventfds, migration streams and files. */
    { SCMP_SYS(read), SET_BASE },
    { SCMP_SYS(write), SET_BASE },
    { SCMP_SYS(readv), SET_BASE },
    { SCMP_SYS(writev), SET_BASE },
    { SCMP_SYS(pread64), SET_BASE },
    { SCMP_SYS(pwrite64), SET_BASE },
    { SCMP_SYS(preadv), SET_BASE },
    { SCMP_SYS(pwritev), SET_BASE },
    { SCMP_SYS(lseek), SET_BASE },      /* also SEEK_DATA of file: RAM */
    { SCMP_SYS(close), SET_BASE },
    { SCMP_SYS(fcntl), SET_BASE },
    { SCMP_SYS(dup2), SET_BASE },       /* -daemonize: stdio to /dev/null */
    /* Files opened or removed after start-up: mem-path of object-add,
     * migrate/-incoming file:, /dev/null of -daemonize, gconv modules;
     * unlink of a stale migration socket, of server sockets and the
     * pidfile at exit; access() of /dev/kvm for query-kvm. */
    { SCMP_SYS(openat), SET_BASE },
    { SCMP_SYS(fstat), SET_BASE },
    { SCMP_SYS(newfstatat), SET_BASE },
    { SCMP_SYS(unlink), SET_BASE },
    { SCMP_SYS(access), SET_BASE },
    /* Sockets (socket/socketpair: AF_UNIX only, below): chardev dials,
     * reconnects (non-blocking connect: SO_ERROR) and accepts, QMP,
     * vhost-user with SCM_RIGHTS, the backend channel, migration. */
    { SCMP_SYS(connect), SET_BASE },
    { SCMP_SYS(accept4), SET_BASE },
    { SCMP_SYS(bind), SET_BASE },
    { SCMP_SYS(listen), SET_BASE },
    { SCMP_SYS(getsockopt), SET_BASE },
    { SCMP_SYS(sendmsg), SET_BASE },
    { SCMP_SYS(recvmsg), SET_BASE },
    { SCMP_SYS(sendto), SET_BASE },
    { SCMP_SYS(recvfrom), SET_BASE },
    { SCMP_SYS(shutdown), SET_BASE },
    /* The glib main loop and bounded waits; event notifiers. */
    { SCMP_SYS(poll), SET_BASE },
    { SCMP_SYS(ppoll), SET_BASE },
    { SCMP_SYS(eventfd2), SET_BASE },
    /* Clocks (normally the vDSO; the kernel's when the clock source has
     * no vDSO support), g_usleep of reconnect dials. */
    { SCMP_SYS(clock_gettime), SET_BASE },
    { SCMP_SYS(gettimeofday), SET_BASE },
    { SCMP_SYS(nanosleep), SET_BASE },
    { SCMP_SYS(clock_nanosleep), SET_BASE },
    /* Threads (clone: below): vCPUs, migration, glib's worker; locks;
     * vCPU kicks (pthread_kill: getpid + tgkill SIGUSR1). */
    { SCMP_SYS(futex), SET_BASE },
    { SCMP_SYS(set_robust_list), SET_BASE },
    { SCMP_SYS(rseq), SET_BASE },
    { SCMP_SYS(exit), SET_BASE },
    { SCMP_SYS(exit_group), SET_BASE },
    { SCMP_SYS(getpid), SET_BASE },
    { SCMP_SYS(tgkill), SET_BASE },
    /* Signals: SIGINT/SIGTERM/SIGHUP through glib, SIGUSR1 kicks,
     * SIGPIPE blocked by the migration thread; restart_syscall resumes
     * a wait interrupted by SIGSTOP/SIGCONT. */
    { SCMP_SYS(rt_sigaction), SET_BASE },
    { SCMP_SYS(rt_sigprocmask), SET_BASE },
    { SCMP_SYS(rt_sigreturn), SET_BASE },
    { SCMP_SYS(restart_syscall), SET_BASE },

    /* QEMU's "obsolete" set. */
    { SCMP_SYS(readdir), SET_OBSOLETE },
    { SCMP_SYS(_sysctl), SET_OBSOLETE },
    { SCMP_SYS(bdflush), SET_OBSOLETE },
    { SCMP_SYS(create_module), SET_OBSOLETE },
    { SCMP_SYS(get_kernel_syms), SET_OBSOLETE },
    { SCMP_SYS(query_module), SET_OBSOLETE },
    { SCMP_SYS(sgetmask), SET_OBSOLETE },
    { SCMP_SYS(ssetmask), SET_OBSOLETE },
    { SCMP_SYS(sysfs), SET_OBSOLETE },
    { SCMP_SYS(uselib), SET_OBSOLETE },
    { SCMP_SYS(ustat), SET_OBSOLETE },
    /* QEMU's "privileged" set, and setgroups with it. */
    { SCMP_SYS(setuid), SET_PRIVILEGED },
    { SCMP_SYS(setgid), SET_PRIVILEGED },
    { SCMP_SYS(setpgid), SET_PRIVILEGED },
    { SCMP_SYS(setsid), SET_PRIVILEGED },
    { SCMP_SYS(setreuid), SET_PRIVILEGED },
    { SCMP_SYS(setregid), SET_PRIVILEGED },
    { SCMP_SYS(setresuid), SET_PRIVILEGED },
    { SCMP_SYS(setresgid), SET_PRIVILEGED },
    { SCMP_SYS(setfsuid), SET_PRIVILEGED },
    { SCMP_SYS(setfsgid), SET_PRIVILEGED },
    { SCMP_SYS(setgroups), SET_PRIVILEGED },
    /* Processes: QEMU's "spawn" set (but never setns/unshare), and
     * reaping the children. */
    { SCMP_SYS(fork), SET_SPAWN },
    { SCMP_SYS(vfork), SET_SPAWN },
    { SCMP_SYS(execve), SET_SPAWN },
    { SCMP_SYS(execveat), SET_SPAWN },
    { SCMP_SYS(wait4), SET_SPAWN },
    { SCMP_SYS(waitid), SET_SPAWN },
    /* QEMU's "resource control" set, and sched_setattr with it. */
    { SCMP_SYS(setpriority), SET_RESOURCECTL },
    { SCMP_SYS(sched_setparam), SET_RESOURCECTL },
    { SCMP_SYS(sched_setscheduler), SET_RESOURCECTL },
    { SCMP_SYS(sched_setaffinity), SET_RESOURCECTL },
    { SCMP_SYS(sched_setattr), SET_RESOURCECTL },
};

/* The ioctls made after start-up: the vCPU threads' KVM_RUN and state
 * (save for migration, load on the destination, system_reset), the VM's
 * memory slots, dirty log, ioeventfds, irqfds and irqchip/PIT/clock
 * state; isatty() (TCGETS) when a daemon detaches; the vhost-kernel
 * requests of a device that starts, stops, is hot-plugged or migrates,
 * a multiqueue tap's queue switch and the tap's offloads.  The calls
 * that create the VM and its vCPUs, and open taps and vhost devices, are
 * made before the filter and stay out. */
static const unsigned long sandbox_ioctls[] = {
    KVM_RUN,
    KVM_GET_REGS, KVM_SET_REGS, KVM_GET_SREGS, KVM_SET_SREGS,
    KVM_GET_MSRS, KVM_SET_MSRS, KVM_GET_XSAVE, KVM_SET_XSAVE,
    KVM_GET_XCRS, KVM_SET_XCRS, KVM_GET_MP_STATE, KVM_SET_MP_STATE,
    KVM_GET_LAPIC, KVM_SET_LAPIC, KVM_GET_VCPU_EVENTS, KVM_SET_VCPU_EVENTS,
    KVM_GET_DEBUGREGS, KVM_SET_DEBUGREGS,
    KVM_SET_USER_MEMORY_REGION, KVM_GET_DIRTY_LOG,
    KVM_IOEVENTFD, KVM_IRQFD, KVM_IRQ_LINE,
    KVM_GET_IRQCHIP, KVM_SET_IRQCHIP, KVM_GET_PIT2, KVM_SET_PIT2,
    KVM_GET_CLOCK, KVM_SET_CLOCK,
    TCGETS,
    VHOST_SET_OWNER, VHOST_RESET_OWNER, VHOST_GET_FEATURES,
    VHOST_SET_FEATURES, VHOST_SET_MEM_TABLE, VHOST_SET_LOG_BASE,
    VHOST_SET_VRING_NUM, VHOST_SET_VRING_BASE, VHOST_GET_VRING_BASE,
    VHOST_SET_VRING_ADDR, VHOST_SET_VRING_KICK, VHOST_SET_VRING_CALL,
    VHOST_SET_VRING_ERR, VHOST_NET_SET_BACKEND,
    TUNSETQUEUE, TUNSETOFFLOAD,
};

/* --- parsing ------------------------------------------------------------ */

/* key=one of names[] (NULL-terminated); *out = its index. */
static bool parse_choice(GHashTable *opts, const char *key,
                         const char *const *names, int *out, Error **errp)
{
    const char *v = qemu_opt_get(opts, key);
    g_autofree char *list = NULL;

    if (!v) {
        return true;
    }
    for (int i = 0; names[i]; i++) {
        if (!strcmp(v, names[i])) {
            *out = i;
            return true;
        }
    }
    list = g_strjoinv(" or ", (char **)names);
    error_setg(errp, "invalid argument '%s' for %s (%s)", v, key, list);
    return false;
}

bool sandbox_parse(SandboxConfig *c, const char *arg, Error **errp)
{
    static const char *const keys[] = { "enable", "obsolete",
        "elevateprivileges", "spawn", "resourcecontrol", NULL };
    static const char *const allow_deny[] = { "allow", "deny", NULL };
    static const char *const elevate[] = { "allow", "deny", "children",
                                           NULL };
    g_autoptr(GHashTable) opts = qemu_opts_parse(arg, "enable", errp);
    SandboxConfig n = { 0 };
    int obsolete = 1, elev = 0, spawn = 0, resctl = 0;

    if (!opts || !qemu_opts_check_keys(opts, keys, errp) ||
        !qemu_opt_get_bool(opts, "enable", false, &n.on, errp) ||
        !parse_choice(opts, "obsolete", allow_deny, &obsolete, errp) ||
        !parse_choice(opts, "elevateprivileges", elevate, &elev, errp) ||
        !parse_choice(opts, "spawn", allow_deny, &spawn, errp) ||
        !parse_choice(opts, "resourcecontrol", allow_deny, &resctl, errp)) {
        return false;
    }
    if (n.on && !sandbox_supported()) {
        error_setg(errp, "not available in a sanitizer build (the "
                   "sanitizer runtime's calls are not on the allow-list)");
        return false;
    }
    n.allow_obsolete = obsolete == 0;
    n.elevate = (SandboxElevate)elev;
    n.deny_spawn = spawn == 1;
    n.deny_resourcecontrol = resctl == 1;
    *c = n;
    return true;
}

/* gcc says so with __SANITIZE_*__, clang with __has_feature. */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define SANITIZER_BUILD 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define SANITIZER_BUILD 1
#endif
#endif

bool sandbox_supported(void)
{
#ifdef SANITIZER_BUILD
    return false;
#else
    return true;
#endif
}

/* --- the filter ---------------------------------------------------------- */

static bool set_allowed(const SandboxConfig *c, SandboxSet set)
{
    switch (set) {
    case SET_BASE:
        return true;
    case SET_OBSOLETE:
        return c->allow_obsolete;
    case SET_PRIVILEGED:
        return c->elevate == SANDBOX_ELEVATE_ALLOW;
    case SET_SPAWN:
        return !c->deny_spawn;
    case SET_RESOURCECTL:
        return !c->deny_resourcecontrol;
    }
    return false;
}

/* libseccomp returns a negative errno; a call this architecture does not
 * have (several obsolete ones) is skipped by libseccomp, not an error. */
static bool rule_ok(int rc, const char *what, Error **errp)
{
    if (rc < 0) {
        error_setg_errno(errp, -rc, "seccomp rule for %s", what);
        return false;
    }
    return true;
}

static bool add_table(scmp_filter_ctx ctx, const SandboxConfig *c,
                      Error **errp)
{
    for (size_t i = 0; i < G_N_ELEMENTS(sandbox_calls); i++) {
        const SandboxCall *call = &sandbox_calls[i];

        /* Left out: the default action kills (resource control: EPERM,
         * add_resourcectl_denied()). */
        if (set_allowed(c, call->set) &&
            !rule_ok(seccomp_rule_add(ctx, SCMP_ACT_ALLOW, call->nr, 0),
                     "a system call", errp)) {
            return false;
        }
    }
    return true;
}

/* resourcecontrol=deny: fail with EPERM as QEMU does (a library that
 * tries to renice may go on without it); lowering a thread to SCHED_IDLE
 * stays allowed, as in QEMU. */
static bool add_resourcectl_denied(scmp_filter_ctx ctx, Error **errp)
{
    const uint32_t eperm = SCMP_ACT_ERRNO(EPERM);

    return rule_ok(seccomp_rule_add(ctx, eperm, SCMP_SYS(setpriority), 0),
                   "setpriority", errp) &&
           rule_ok(seccomp_rule_add(ctx, eperm, SCMP_SYS(sched_setparam),
                                    0), "sched_setparam", errp) &&
           rule_ok(seccomp_rule_add(ctx, eperm,
                                    SCMP_SYS(sched_setaffinity), 0),
                   "sched_setaffinity", errp) &&
           rule_ok(seccomp_rule_add(ctx, eperm, SCMP_SYS(sched_setattr),
                                    0), "sched_setattr", errp) &&
           rule_ok(seccomp_rule_add(ctx, eperm,
                                    SCMP_SYS(sched_setscheduler), 1,
                                    SCMP_A1(SCMP_CMP_NE, SCHED_IDLE)),
                   "sched_setscheduler", errp) &&
           rule_ok(seccomp_rule_add(ctx, SCMP_ACT_ALLOW,
                                    SCMP_SYS(sched_setscheduler), 1,
                                    SCMP_A1(SCMP_CMP_EQ, SCHED_IDLE)),
                   "sched_setscheduler", errp);
}

/* Threads are clone(CLONE_THREAD|...).  With spawn=deny nothing else
 * may be cloned; clone3 passes its flags in memory, which a filter
 * cannot read, so it fails with ENOSYS and glibc falls back to clone. */
static bool add_clone(scmp_filter_ctx ctx, const SandboxConfig *c,
                      Error **errp)
{
    if (!c->deny_spawn) {
        return rule_ok(seccomp_rule_add(ctx, SCMP_ACT_ALLOW,
                                        SCMP_SYS(clone), 0), "clone",
                       errp) &&
               rule_ok(seccomp_rule_add(ctx, SCMP_ACT_ALLOW,
                                        SCMP_SYS(clone3), 0), "clone3",
                       errp);
    }
    return rule_ok(seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(clone), 1,
                                    SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_THREAD,
                                            CLONE_THREAD)), "clone", errp) &&
           rule_ok(seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS),
                                    SCMP_SYS(clone3), 0), "clone3", errp);
}

/* Calls allowed with some arguments only. */
static bool add_arg_rules(scmp_filter_ctx ctx, Error **errp)
{
    for (size_t i = 0; i < G_N_ELEMENTS(sandbox_ioctls); i++) {
        /* The kernel reads the request as a 32-bit int. */
        if (!rule_ok(seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl),
                                      1, SCMP_A1(SCMP_CMP_MASKED_EQ,
                                                 0xffffffffu,
                                                 sandbox_ioctls[i])),
                     "ioctl", errp)) {
            return false;
        }
    }
    /* Only unix sockets; thread names (glib names its threads). */
    return rule_ok(seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket),
                                    1, SCMP_A0(SCMP_CMP_EQ, AF_UNIX)),
                   "socket", errp) &&
           rule_ok(seccomp_rule_add(ctx, SCMP_ACT_ALLOW,
                                    SCMP_SYS(socketpair), 1,
                                    SCMP_A0(SCMP_CMP_EQ, AF_UNIX)),
                   "socketpair", errp) &&
           rule_ok(seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(prctl), 1,
                                    SCMP_A0(SCMP_CMP_EQ, PR_SET_NAME)),
                   "prctl", errp);
}

/* Kill the whole process, not just the thread, on anything else (and on
 * another architecture's calls, e.g. int 0x80); load for every thread. */
static bool filter_attrs(scmp_filter_ctx ctx, Error **errp)
{
    int rc = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH,
                              SCMP_ACT_KILL_PROCESS);

    if (rc == 0) {
        rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1);
    }
    if (rc < 0) {
        error_setg_errno(errp, -rc, "seccomp filter attributes");
        return false;
    }
    /* A binary search instead of a linear walk for every KVM_RUN; older
     * libseccomp has no such option and walks. */
    seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2);
    return true;
}

static bool filter_build(scmp_filter_ctx ctx, const SandboxConfig *c,
                         Error **errp)
{
    return filter_attrs(ctx, errp) && add_table(ctx, c, errp) &&
           (!c->deny_resourcecontrol || add_resourcectl_denied(ctx, errp)) &&
           add_clone(ctx, c, errp) && add_arg_rules(ctx, errp);
}

bool sandbox_install(const SandboxConfig *c, Error **errp)
{
    scmp_filter_ctx ctx;
    bool ok;
    int rc;

    if (!c->on) {
        return true;
    }
    if (!sandbox_supported()) {
        error_setg(errp, "not available in a sanitizer build");
        return false;
    }
    /* children: no set*id through exec either.  libseccomp sets
     * no_new_privs for every filter anyway (as for QEMU's). */
    if (c->elevate == SANDBOX_ELEVATE_CHILDREN &&
        prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
        error_setg_errno(errp, errno, "no_new_privs");
        return false;
    }
    ctx = seccomp_init(SCMP_ACT_KILL_PROCESS);
    if (!ctx) {
        error_setg(errp, "cannot create a seccomp filter");
        return false;
    }
    ok = filter_build(ctx, c, errp);
    if (ok && (rc = seccomp_load(ctx)) < 0) {
        error_setg_errno(errp, -rc, "loading the seccomp filter");
        ok = false;
    }
    seccomp_release(ctx);
    return ok;
}
