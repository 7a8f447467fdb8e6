/* SPDX-License-Identifier: MIT */
/*
 * The -sandbox filter (system/seccomp.c), installed in forked children:
 * an allowed call works, anything off the list kills the process with
 * SIGSYS, and each sub-option moves its category of calls in or out of
 * the list (resourcecontrol=deny: EPERM, as QEMU).  Also the option's
 * parsing.  In a sanitizer build the sandbox is refused (see
 * docs/user-guide.md) and the filter tests skip.
 */
#include "sysemu/seccomp.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

/* Runs in the sandboxed child; returns its exit status.  Plain libc
 * only: the filter is on. */
typedef int ChildFn(void);

#define CHILD_SETUP_FAILED 100

/* Set before fork, read by the children (which may not ask the kernel). */
static int nice_before;

static int run_sandboxed(const char *spec, ChildFn *fn)
{
    int status;
    pid_t pid;

    fflush(NULL);
    pid = fork();
    g_assert_cmpint(pid, >=, 0);
    if (pid == 0) {
        SandboxConfig c = { 0 };

        if (!sandbox_parse(&c, spec, NULL) || !sandbox_install(&c, NULL)) {
            _exit(CHILD_SETUP_FAILED);
        }
        _exit(fn());
    }
    g_assert_cmpint(waitpid(pid, &status, 0), ==, pid);
    return status;
}

static void assert_killed(const char *spec, ChildFn *fn)
{
    int status = run_sandboxed(spec, fn);

    if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGSYS) {
        g_error("-sandbox %s: child not killed by SIGSYS (status 0x%x)",
                spec, status);
    }
}

static void assert_runs(const char *spec, ChildFn *fn)
{
    int status = run_sandboxed(spec, fn);

    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        g_error("-sandbox %s: child failed (status 0x%x)", spec, status);
    }
}

static bool need_sandbox(void)
{
    if (!sandbox_supported()) {
        g_test_skip("sanitizer build: -sandbox is not available");
        return false;
    }
    return true;
}

/* --- allowed --------------------------------------------------------- */

static void *thread_fn(void *arg)
{
    return arg;
}

/* What the main loop and its threads do: files, an eventfd-like write,
 * a unix socket pair with a message, a thread. */
static int child_allowed(void)
{
    int fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
    int sv[2];
    char c = 'x';
    pthread_t t;
    void *ret;

    if (fd < 0 || write(fd, &c, 1) != 1 || close(fd) < 0 || getpid() <= 0) {
        return 1;
    }
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0 ||
        send(sv[0], &c, 1, 0) != 1 || recv(sv[1], &c, 1, 0) != 1) {
        return 2;
    }
    if (pthread_create(&t, NULL, thread_fn, &c) != 0 ||
        pthread_join(t, &ret) != 0 || ret != &c) {
        return 3;
    }
    return 0;
}

static void test_allowed(void)
{
    if (need_sandbox()) {
        assert_runs("on", child_allowed);
        /* Threads are no spawn: clone(CLONE_THREAD) stays allowed. */
        assert_runs("on,spawn=deny", child_allowed);
        /* No filter at all. */
        assert_runs("off", child_allowed);
    }
}

/* --- off the list ------------------------------------------------------ */

static int child_getppid(void)
{
    return syscall(SYS_getppid) > 0 ? 0 : 1;
}

static int child_inet_socket(void)
{
    return socket(AF_INET, SOCK_STREAM, 0) >= 0 ? 0 : 1;
}

static int child_other_ioctl(void)
{
    int n;

    return ioctl(0, FIONREAD, &n) == 0 ? 0 : 1;
}

static int child_prctl(void)
{
    return prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) >= 0 ? 0 : 1;
}

static void test_denied(void)
{
    if (!need_sandbox()) {
        return;
    }
    assert_runs("off", child_getppid);
    assert_killed("on", child_getppid);
    /* Calls allowed with some arguments only. */
    assert_runs("off", child_inet_socket);
    assert_killed("on", child_inet_socket);
    assert_killed("on", child_other_ioctl);
    assert_killed("on", child_prctl);
}

/* --- spawn ------------------------------------------------------------ */

static int child_fork(void)
{
    int status;
    pid_t pid = fork();

    if (pid == 0) {
        _exit(0);
    }
    return pid > 0 && waitpid(pid, &status, 0) == pid ? 0 : 1;
}

/* A path that does not exist: execve itself must fail with ENOENT. */
static int child_execve(void)
{
    char *const argv[] = { (char *)"/nonexistent/kvmini-test", NULL };

    execve(argv[0], argv, environ);
    return errno == ENOENT ? 0 : 1;
}

static void test_spawn(void)
{
    if (!need_sandbox()) {
        return;
    }
    assert_runs("on", child_fork);              /* QEMU's default: allow */
    assert_runs("on,spawn=allow", child_execve);
    assert_killed("on,spawn=deny", child_fork);
    assert_killed("on,spawn=deny", child_execve);
}

/* --- elevateprivileges --------------------------------------------- */

/* setresuid(-1, -1, -1) changes nothing, so it is allowed to anyone: only
 * the filter can refuse it. */
static int child_setresuid(void)
{
    return syscall(SYS_setresuid, -1, -1, -1) == 0 ? 0 : 1;
}

static void test_elevateprivileges(void)
{
    if (!need_sandbox()) {
        return;
    }
    assert_runs("on", child_setresuid);         /* QEMU's default: allow */
    assert_runs("on,elevateprivileges=allow", child_setresuid);
    assert_killed("on,elevateprivileges=deny", child_setresuid);
    assert_killed("on,elevateprivileges=children", child_setresuid);
}

/* --- resourcecontrol ------------------------------------------------ */

/* Setting the nice value it already has needs no privilege. */
static int child_setpriority(void)
{
    return setpriority(PRIO_PROCESS, 0, nice_before) == 0 ? 0 : 1;
}

static int child_setpriority_eperm(void)
{
    return setpriority(PRIO_PROCESS, 0, nice_before) < 0 && errno == EPERM
           ? 0 : 1;
}

static int child_setaffinity_eperm(void)
{
    cpu_set_t set;

    CPU_ZERO(&set);
    CPU_SET(0, &set);
    return sched_setaffinity(0, sizeof(set), &set) < 0 && errno == EPERM
           ? 0 : 1;
}

/* Lowering itself to SCHED_IDLE stays allowed, as in QEMU. */
static int child_sched_idle(void)
{
    struct sched_param p = { 0 };

    return sched_setscheduler(0, SCHED_IDLE, &p) == 0 ? 0 : 1;
}

static void test_resourcecontrol(void)
{
    if (!need_sandbox()) {
        return;
    }
    errno = 0;
    nice_before = getpriority(PRIO_PROCESS, 0);
    g_assert_cmpint(errno, ==, 0);
    assert_runs("on", child_setpriority);       /* QEMU's default: allow */
    assert_runs("on,resourcecontrol=allow", child_setpriority);
    assert_runs("on,resourcecontrol=deny", child_setpriority_eperm);
    assert_runs("on,resourcecontrol=deny", child_setaffinity_eperm);
    assert_runs("on,resourcecontrol=deny", child_sched_idle);
}

/* --- obsolete ----------------------------------------------------------- */

/* sysfs(2) (filesystem type count): its result does not matter, only
 * whether the process survives it. */
static int child_sysfs(void)
{
    syscall(SYS_sysfs, 3);
    return 0;
}

static void test_obsolete(void)
{
    if (!need_sandbox()) {
        return;
    }
    assert_killed("on", child_sysfs);           /* QEMU's default: deny */
    assert_killed("on,obsolete=deny", child_sysfs);
    assert_runs("on,obsolete=allow", child_sysfs);
}

/* --- parsing --------------------------------------------------------- */

static void check_parse_error(const char *spec, const char *needle)
{
    SandboxConfig c = { 0 };
    g_autoptr(Error) err = NULL;

    g_assert_false(sandbox_parse(&c, spec, &err));
    g_assert_nonnull(err);
    if (!strstr(error_get_pretty(err), needle)) {
        g_error("-sandbox %s: '%s' does not mention '%s'", spec,
                error_get_pretty(err), needle);
    }
}

static void test_parse(void)
{
    SandboxConfig c = { 0 };

    /* Sub-options are checked with the sandbox off, too. */
    g_assert_true(sandbox_parse(&c, "off,obsolete=allow,spawn=deny", NULL));
    g_assert_false(c.on);
    g_assert_true(c.allow_obsolete);
    g_assert_true(c.deny_spawn);
    if (sandbox_supported()) {
        g_assert_true(sandbox_parse(&c, "on", NULL));
        g_assert_true(c.on);
        g_assert_false(c.allow_obsolete);
        g_assert_cmpint(c.elevate, ==, SANDBOX_ELEVATE_ALLOW);
        g_assert_false(c.deny_spawn);
        g_assert_false(c.deny_resourcecontrol);
        g_assert_true(sandbox_parse(&c, "on,elevateprivileges=children,"
                                    "resourcecontrol=deny", NULL));
        g_assert_cmpint(c.elevate, ==, SANDBOX_ELEVATE_CHILDREN);
        g_assert_true(c.deny_resourcecontrol);
    } else {
        check_parse_error("on", "sanitizer");
    }
    check_parse_error("maybe", "'enable' expects 'on' or 'off'");
    check_parse_error("on,spawn=never", "spawn (allow or deny)");
    check_parse_error("on,elevateprivileges=yes",
                      "elevateprivileges (allow or deny or children)");
    check_parse_error("on,obsolete=", "obsolete");
    check_parse_error("on,nosuchkey=allow", "nosuchkey");
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/sandbox/parse", test_parse);
    g_test_add_func("/sandbox/allowed", test_allowed);
    g_test_add_func("/sandbox/denied", test_denied);
    g_test_add_func("/sandbox/spawn", test_spawn);
    g_test_add_func("/sandbox/elevateprivileges", test_elevateprivileges);
    g_test_add_func("/sandbox/resourcecontrol", test_resourcecontrol);
    g_test_add_func("/sandbox/obsolete", test_obsolete);
    return g_test_run();
}
