/* SPDX-License-Identifier: MIT */
/*
 * -daemonize, -pidfile, -run-with user= and the process name
 * (include/sysemu/os-posix.h).
 */
#include "sysemu/os-posix.h"
#include "qemu/option.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#define DAEMON_READY 'R'

void os_state_init(OsState *os)
{
    os->daemon_fd = -1;
    os->pidfile_fd = -1;
}

/* --- -daemonize ------------------------------------------------------- */

/* The parent: wait for the child's word, exit with it. */
_Noreturn static void daemon_parent(pid_t child, int fd)
{
    char c = 0;
    ssize_t n;

    do {
        n = read(fd, &c, 1);
    } while (n < 0 && errno == EINTR);
    if (n == 1 && c == DAEMON_READY) {
        _exit(0);
    }
    /* The child failed (and said why on stderr); reap it if it is gone. */
    waitpid(child, NULL, WNOHANG);
    _exit(1);
}

bool os_daemonize_start(OsState *os, Error **errp)
{
    int fds[2];
    pid_t pid;

    if (!os->daemonize) {
        return true;
    }
    if (pipe2(fds, O_CLOEXEC) < 0) {
        error_setg_errno(errp, errno, "-daemonize: pipe");
        return false;
    }
    fflush(NULL);
    pid = fork();
    if (pid < 0) {
        error_setg_errno(errp, errno, "-daemonize: fork");
        close(fds[0]);
        close(fds[1]);
        return false;
    }
    if (pid > 0) {
        close(fds[1]);
        daemon_parent(pid, fds[0]);
    }
    close(fds[0]);
    os->daemon_fd = fds[1];
    setsid();
    return true;
}

void os_daemonize_finish(OsState *os)
{
    char c = DAEMON_READY;
    int null;

    if (os->daemon_fd < 0) {
        return;
    }
    null = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (null >= 0) {
        dup2(null, STDIN_FILENO);
        dup2(null, STDOUT_FILENO);
        if (isatty(STDERR_FILENO)) {
            dup2(null, STDERR_FILENO);
        }
        close(null);
    }
    if (write(os->daemon_fd, &c, 1) != 1) {
        /* The parent is gone: nobody waits for the word. */
    }
    close(os->daemon_fd);
    os->daemon_fd = -1;
}

/* --- -pidfile -------------------------------------------------------- */

bool os_pidfile_create(OsState *os, Error **errp)
{
    struct flock lock = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
    g_autofree char *text = NULL;
    int fd;

    if (!os->pidfile) {
        return true;
    }
    fd = open(os->pidfile, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
        error_setg_errno(errp, errno, "-pidfile %s: cannot open",
                         os->pidfile);
        return false;
    }
    if (fcntl(fd, F_SETLK, &lock) < 0) {
        struct flock held = { .l_type = F_WRLCK, .l_whence = SEEK_SET };

        if (fcntl(fd, F_GETLK, &held) == 0 && held.l_type != F_UNLCK) {
            error_setg(errp, "-pidfile %s: in use by process %d",
                       os->pidfile, (int)held.l_pid);
        } else {
            error_setg_errno(errp, errno, "-pidfile %s: cannot lock",
                             os->pidfile);
        }
        close(fd);
        return false;
    }
    text = g_strdup_printf("%d\n", (int)getpid());
    if (ftruncate(fd, 0) < 0 ||
        pwrite(fd, text, strlen(text), 0) != (ssize_t)strlen(text)) {
        error_setg_errno(errp, errno, "-pidfile %s: cannot write",
                         os->pidfile);
        close(fd);
        return false;
    }
    os->pidfile_fd = fd;
    return true;
}

void os_pidfile_remove(OsState *os)
{
    if (os->pidfile_fd < 0) {
        return;
    }
    unlink(os->pidfile);
    close(os->pidfile_fd);          /* drops the lock */
    os->pidfile_fd = -1;
}

/* --- -run-with user= ---------------------------------------------------- */

/* "UID:GID", QEMU's form for a user without a passwd entry. */
static bool parse_uid_gid(const char *user, uid_t *uid, gid_t *gid)
{
    g_auto(GStrv) ids = g_strsplit(user, ":", -1);
    uint64_t u, g;

    if (g_strv_length(ids) != 2 || qemu_strtou64(ids[0], &u) < 0 ||
        qemu_strtou64(ids[1], &g) < 0 || u >= (uid_t)-1 ||
        g >= (gid_t)-1) {
        return false;
    }
    *uid = u;
    *gid = g;
    return true;
}

/* The user's supplementary groups from the group database (NSS), read
 * now: later the sandbox may forbid what NSS modules do. */
static bool lookup_groups(OsState *os, const char *name, Error **errp)
{
    int n = 16;

    for (int tries = 0; tries < 4; tries++) {
        int want = n;

        os->groups = g_renew(gid_t, os->groups, n);
        if (getgrouplist(name, os->gid, os->groups, &want) >= 0) {
            os->ngroups = want;
            return true;
        }
        n = MAX(want, n * 2);
    }
    error_setg(errp, "cannot list the groups of user \"%s\"", name);
    return false;
}

bool os_set_user(OsState *os, const char *user, Error **errp)
{
    struct passwd *pw;

    g_clear_pointer(&os->user, g_free);
    g_clear_pointer(&os->groups, g_free);
    os->ngroups = 0;
    errno = 0;
    pw = getpwnam(user);
    if (pw) {
        os->uid = pw->pw_uid;
        os->gid = pw->pw_gid;
        if (!lookup_groups(os, pw->pw_name, errp)) {
            return false;
        }
    } else if (parse_uid_gid(user, &os->uid, &os->gid)) {
        os->groups = g_new(gid_t, 1);
        os->groups[0] = os->gid;
        os->ngroups = 1;
    } else {
        error_setg(errp, "user \"%s\" does not exist", user);
        return false;
    }
    os->user = g_strdup(user);
    return true;
}

/* Root gives up groups, then group, then user (after setuid it could no
 * longer change the others); glibc applies each to every thread. */
bool os_change_user(const OsState *os, Error **errp)
{
    uid_t r, e, s;
    gid_t rg, eg, sg;

    if (!os->user) {
        return true;
    }
    if (setgroups(os->ngroups, os->groups) < 0 || setgid(os->gid) < 0 ||
        setuid(os->uid) < 0) {
        error_setg_errno(errp, errno, "-run-with user=%s: cannot become "
                         "the user", os->user);
        return false;
    }
    if (getresuid(&r, &e, &s) < 0 || getresgid(&rg, &eg, &sg) < 0 ||
        r != os->uid || e != os->uid || s != os->uid || rg != os->gid ||
        eg != os->gid || sg != os->gid ||
        (os->uid != 0 && setuid(0) == 0)) {
        error_setg(errp, "-run-with user=%s: dropping privileges failed",
                   os->user);
        return false;
    }
    return true;
}

/* --- process name --------------------------------------------------------- */

void os_set_process_name(const OsState *os)
{
    if (os->process_name) {
        prctl(PR_SET_NAME, os->process_name, 0, 0, 0);
    }
}

int os_shutdown_signalfd(Error **errp)
{
    sigset_t set;
    int fd;

    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGHUP);
    if (pthread_sigmask(SIG_BLOCK, &set, NULL)) {
        error_setg(errp, "cannot block the shutdown signals");
        return -1;
    }
    fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
    if (fd < 0) {
        error_setg_errno(errp, errno, "signalfd");
    }
    return fd;
}
