/* SPDX-License-Identifier: MIT */
/*
 * -daemonize, -pidfile and the process name (include/sysemu/os-posix.h).
 */
#include "sysemu/os-posix.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <fcntl.h>
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
