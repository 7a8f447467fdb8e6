/* SPDX-License-Identifier: MIT */
/*
 * The supervisor: receives seccomp notifications from the VMM and answers
 * them.  open("/dev/vhost-net") creates a device and injects one end of a
 * socketpair into the VMM (ADDFD, atomically with the reply); VHOST_*
 * ioctls and writes on that fd are served here; everything else continues
 * in the kernel.  A device lives until the VMM's last reference to its fd
 * is gone (our end sees POLLHUP), as the kernel's release does.
 */
#include "standin.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#define SERVED_PATH "/dev/vhost-net"
/* Newer than Debian 12's headers; the running kernel has them. */
#ifndef SECCOMP_IOCTL_NOTIF_SET_FLAGS
#define SECCOMP_IOCTL_NOTIF_SET_FLAGS SECCOMP_IOW(4, __u64)
#endif
#ifndef SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP
#define SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP (1UL << 0)
#endif
#ifndef PIDFD_THREAD
#define PIDFD_THREAD O_EXCL
#endif

int standin_pidfd_getfd(pid_t tid, int fd)
{
    int pidfd = syscall(SYS_pidfd_open, tid, PIDFD_THREAD);
    int r;

    if (pidfd < 0) {
        return -errno;
    }
    r = syscall(SYS_pidfd_getfd, pidfd, fd, 0);
    r = r < 0 ? -errno : r;
    close(pidfd);
    return r;
}

pid_t standin_tgid_of(pid_t tid)
{
    g_autofree char *path = g_strdup_printf("/proc/%d/status", tid);
    g_autofree char *text = NULL;
    const char *p;

    if (!g_file_get_contents(path, &text, NULL, NULL)) {
        return 0;
    }
    p = strstr(text, "\nTgid:");
    return p ? (pid_t)strtol(p + 6, NULL, 10) : 0;
}

/* Read a NUL-terminated string from the VMM, page by page (a string may
 * end right before an unmapped page). */
static char *read_remote_string(pid_t tid, uint64_t addr)
{
    GString *s = g_string_new(NULL);

    while (s->len < 4096) {
        char buf[256];
        size_t chunk = 256 - (addr % 256);
        struct iovec l = { buf, chunk }, r = { (void *)addr, chunk };
        ssize_t n = process_vm_readv(tid, &l, 1, &r, 1, 0);
        void *nul;

        if (n <= 0) {
            g_string_free(s, TRUE);
            return NULL;
        }
        nul = memchr(buf, 0, n);
        g_string_append_len(s, buf, nul ? (char *)nul - buf : n);
        if (nul) {
            return g_string_free(s, FALSE);
        }
        addr += n;
    }
    g_string_free(s, TRUE);
    return NULL;
}

static char *resolve_path(pid_t tid, int dirfd, const char *path)
{
    g_autofree char *link = NULL;
    g_autofree char *dir = NULL;

    if (path[0] == '/') {
        return g_canonicalize_filename(path, "/");
    }
    link = dirfd == AT_FDCWD ? g_strdup_printf("/proc/%d/cwd", tid)
                             : g_strdup_printf("/proc/%d/fd/%d", tid, dirfd);
    dir = g_file_read_link(link, NULL);
    return dir ? g_canonicalize_filename(path, dir) : NULL;
}

static void respond(Standin *s, uint64_t id, int64_t val, int err,
                    bool cont)
{
    struct seccomp_notif_resp resp = {
        .id = id, .val = val, .error = err,
        .flags = cont ? SECCOMP_USER_NOTIF_FLAG_CONTINUE : 0,
    };

    /* ENOENT: the caller was interrupted or died; nothing to do. */
    ioctl(s->listener, SECCOMP_IOCTL_NOTIF_SEND, &resp);
}

static void respond_continue(Standin *s, uint64_t id)
{
    respond(s, id, 0, 0, true);
}

static void respond_result(Standin *s, uint64_t id, long r)
{
    respond(s, id, r < 0 ? 0 : r, r < 0 ? (int)r : 0, false);
}

/* The lowest fd in the reserved range the VMM does not use. */
static int free_target_fd(pid_t pid)
{
    for (int fd = STANDIN_FD_MIN; fd <= STANDIN_FD_MAX; fd++) {
        g_autofree char *p = g_strdup_printf("/proc/%d/fd/%d", pid, fd);
        struct stat st;

        if (lstat(p, &st) < 0 && errno == ENOENT) {
            return fd;
        }
    }
    return -EMFILE;
}

static StandinDevice *device_new(Standin *s, int sock, ino_t vmm_ino)
{
    StandinDevice *d = g_new0(StandinDevice, 1);

    d->sup = s;
    d->id = ++s->next_dev_id;
    d->sock = sock;
    d->vmm_ino = vmm_ino;
    standin_device_init(d);
    g_ptr_array_add(s->devices, d);
    g_ptr_array_add(s->history, d);
    return d;
}

static void device_release(Standin *s, StandinDevice *d)
{
    standin_worker_stop(d);
    pthread_mutex_lock(&d->lock);
    standin_device_reset(d);
    pthread_mutex_unlock(&d->lock);
    standin_trace(s, "dev%u release", d->id);
    close(d->sock);
    close(d->wake_fd);
    d->wake_fd = -1;
    /* d stays in s->history for the statistics. */
    g_ptr_array_remove(s->devices, d);
}

/* Serve an open of /dev/vhost-net: a new device, its fd injected. */
/* Inject our socket end at fd (or, if the VMM cannot have it there, e.g.
 * above its RLIMIT_NOFILE, at the lowest free fd: ioctls still reach us,
 * read/write/close of it do not).  The reply goes with it. */
static int inject_fd(Standin *s, struct seccomp_notif *n, int src, int fd,
                     uint64_t flags)
{
    struct seccomp_notif_addfd add = {
        .id = n->id, .srcfd = src, .newfd = fd,
        .flags = SECCOMP_ADDFD_FLAG_SETFD | SECCOMP_ADDFD_FLAG_SEND,
        .newfd_flags = (flags & O_CLOEXEC) ? O_CLOEXEC : 0,
    };
    int r = fd >= 0 ? ioctl(s->listener, SECCOMP_IOCTL_NOTIF_ADDFD, &add)
                    : -1;

    if (r < 0 && (fd < 0 || errno == EBADF || errno == EMFILE)) {
        add.flags = SECCOMP_ADDFD_FLAG_SEND;
        add.newfd = 0;
        r = ioctl(s->listener, SECCOMP_IOCTL_NOTIF_ADDFD, &add);
    }
    return r < 0 ? -errno : r;
}

/* Serve an open of /dev/vhost-net: a new device, its fd injected. */
static void serve_open(Standin *s, struct seccomp_notif *n, uint64_t flags)
{
    int sv[2], fd;
    struct stat st;
    StandinDevice *d;

    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
        standin_trace(s, "open %s -> -ENFILE", SERVED_PATH);
        respond_result(s, n->id, -ENFILE);
        return;
    }
    fstat(sv[1], &st);
    if (flags & O_NONBLOCK) {
        fcntl(sv[1], F_SETFL, O_NONBLOCK);
    }
    d = device_new(s, sv[0], st.st_ino);
    fd = inject_fd(s, n, sv[1], free_target_fd(n->pid), flags);
    close(sv[1]);
    if (fd < 0) {
        standin_trace(s, "dev%u open %s -> -%s", d->id, SERVED_PATH,
                      standin_errno_name(-fd));
        /* No reply went out: send one (ENOENT: the caller is gone). */
        respond_result(s, n->id, fd);
        device_release(s, d);
        return;
    }
    standin_trace(s, "dev%u open %s -> fd %d", d->id, SERVED_PATH, fd);
}

static void handle_open(Standin *s, struct seccomp_notif *n)
{
    int dirfd = AT_FDCWD;
    uint64_t path_addr = n->data.args[0], flags = n->data.args[1];
    g_autofree char *path = NULL;
    g_autofree char *full = NULL;

    if (n->data.nr != __NR_open) {
        dirfd = (int)n->data.args[0];
        path_addr = n->data.args[1];
        flags = n->data.args[2];
    }
    if (n->data.nr == __NR_openat2) {
        struct open_how how = { 0 };
        struct iovec l = { &how, sizeof(how) };
        struct iovec r = { (void *)n->data.args[2], sizeof(how) };

        flags = process_vm_readv(n->pid, &l, 1, &r, 1, 0) == sizeof(how)
                ? how.flags : 0;
    }
    path = read_remote_string(n->pid, path_addr);
    full = path ? resolve_path(n->pid, dirfd, path) : NULL;
    /* The path was read from memory the caller may change: only act on
     * a notification that is still live. */
    if (!full || strcmp(full, SERVED_PATH) != 0 ||
        ioctl(s->listener, SECCOMP_IOCTL_NOTIF_ID_VALID, &n->id) < 0) {
        respond_continue(s, n->id);
        return;
    }
    serve_open(s, n, flags);
}

/* The device behind fd in thread tid, or NULL if that fd is not ours. */
static StandinDevice *device_of_fd(Standin *s, pid_t tid, int fd)
{
    g_autofree char *p = g_strdup_printf("/proc/%d/fd/%d", tid, fd);
    struct stat st;

    if (fd < 0 || stat(p, &st) < 0 || !S_ISSOCK(st.st_mode)) {
        return NULL;
    }
    for (guint i = 0; i < s->devices->len; i++) {
        StandinDevice *d = g_ptr_array_index(s->devices, i);

        if (d->vmm_ino == st.st_ino) {
            return d;
        }
    }
    return NULL;
}

static void handle_ioctl(Standin *s, struct seccomp_notif *n)
{
    StandinDevice *d = device_of_fd(s, n->pid, (int)n->data.args[0]);
    g_autoptr(GString) detail = g_string_new(NULL);
    StandinReq r = {
        .sup = s, .dev = d, .tid = n->pid, .cmd = (unsigned)n->data.args[1],
        .arg = n->data.args[2], .detail = detail,
    };
    long ret;

    if (!d) {
        respond_continue(s, n->id);
        return;
    }
    r.tgid = standin_tgid_of(n->pid);
    pthread_mutex_lock(&d->lock);
    ret = standin_ioctl(&r);
    pthread_mutex_unlock(&d->lock);
    respond_result(s, n->id, ret);
}

/* Gather what the VMM writes (write or writev) into one buffer. */
static GByteArray *read_write_args(struct seccomp_notif *n)
{
    GByteArray *b = g_byte_array_new();
    struct iovec one = { (void *)n->data.args[1], n->data.args[2] };
    struct iovec rv[64];
    size_t cnt = 1;

    if (n->data.nr == __NR_writev) {
        struct iovec l = { rv, sizeof(rv) };
        struct iovec r = { (void *)n->data.args[1],
                           MIN(n->data.args[2], 64) * sizeof(struct iovec) };

        cnt = MIN(n->data.args[2], 64);
        if (process_vm_readv(n->pid, &l, 1, &r, 1, 0) != (ssize_t)r.iov_len) {
            return g_byte_array_free(b, TRUE), NULL;
        }
    } else {
        rv[0] = one;
    }
    for (size_t i = 0; i < cnt && b->len < 4096; i++) {
        size_t len = MIN(rv[i].iov_len, 4096);
        guint old = b->len;
        struct iovec l;

        g_byte_array_set_size(b, old + len);
        l = (struct iovec){ b->data + old, len };
        rv[i].iov_len = len;
        if (len && process_vm_readv(n->pid, &l, 1, &rv[i], 1, 0) !=
            (ssize_t)len) {
            return g_byte_array_free(b, TRUE), NULL;
        }
    }
    return b;
}

static void handle_write(Standin *s, struct seccomp_notif *n)
{
    StandinDevice *d = device_of_fd(s, n->pid, (int)n->data.args[0]);
    g_autoptr(GByteArray) b = NULL;
    long ret;

    if (!d) {
        respond_continue(s, n->id);
        return;
    }
    b = read_write_args(n);
    pthread_mutex_lock(&d->lock);
    ret = b ? standin_chr_write(d, b->data, b->len) : -EFAULT;
    pthread_mutex_unlock(&d->lock);
    if (ret < 0) {
        standin_trace(s, "dev%u write len=%u -> -%s", d->id,
                      b ? b->len : 0, standin_errno_name(-ret));
    } else {
        standin_trace(s, "dev%u write len=%u -> %ld", d->id, b->len, ret);
    }
    respond_result(s, n->id, ret);
}

static void handle_notification(Standin *s, struct seccomp_notif *n)
{
    switch (n->data.nr) {
    case __NR_open:
    case __NR_openat:
    case __NR_openat2:
        handle_open(s, n);
        break;
    case __NR_ioctl:
        handle_ioctl(s, n);
        break;
    case __NR_write:
    case __NR_writev:
        handle_write(s, n);
        break;
    case __NR_close: {
        StandinDevice *d = device_of_fd(s, n->pid, (int)n->data.args[0]);

        if (d) {
            standin_trace(s, "dev%u close fd=%d -> continue", d->id,
                          (int)n->data.args[0]);
        }
        respond_continue(s, n->id);
        break;
    }
    default:
        /* read/readv/epoll_ctl: the socket behaves as vhost's fd does
         * when no IOTLB message is queued. */
        respond_continue(s, n->id);
    }
}

static void receive_notification(Standin *s)
{
    g_autofree struct seccomp_notif *n = g_malloc0(s->sizes->seccomp_notif);

    if (ioctl(s->listener, SECCOMP_IOCTL_NOTIF_RECV, n) < 0) {
        return;     /* ENOENT: the caller went away meanwhile */
    }
    handle_notification(s, n);
}

static int setup_signals(void)
{
    sigset_t set;

    sigemptyset(&set);
    sigaddset(&set, SIGCHLD);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGUSR1);
    sigprocmask(SIG_BLOCK, &set, NULL);
    return signalfd(-1, &set, SFD_CLOEXEC);
}

/* Returns true when the child has exited (status in *status). */
static bool handle_signal(Standin *s, int *status)
{
    struct signalfd_siginfo si;
    int ws;

    if (read(s->sigfd, &si, sizeof(si)) != sizeof(si)) {
        return false;
    }
    if (si.ssi_signo == SIGUSR1) {
        standin_stats_write(s);
    } else if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT) {
        kill(s->child, si.ssi_signo);
    }
    if (waitpid(s->child, &ws, WNOHANG) != s->child) {
        return false;
    }
    *status = WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
    return true;
}

/* A device whose socket end hung up: the VMM dropped its last fd. */
static void release_hung_up(Standin *s, struct pollfd *p, guint n)
{
    for (guint i = 0; i < n; i++) {
        if (p[i].revents & (POLLHUP | POLLERR)) {
            for (guint j = 0; j < s->devices->len; j++) {
                StandinDevice *d = g_ptr_array_index(s->devices, j);

                if (d->sock == p[i].fd) {
                    device_release(s, d);
                    break;
                }
            }
        }
    }
}

static int serve(Standin *s)
{
    int status = 0;
    bool listening = true;

    for (;;) {
        guint nd = s->devices->len;
        g_autofree struct pollfd *p = g_new0(struct pollfd, nd + 2);

        p[0] = (struct pollfd){ .fd = s->sigfd, .events = POLLIN };
        p[1] = (struct pollfd){ .fd = listening ? s->listener : -1,
                                .events = POLLIN };
        for (guint i = 0; i < nd; i++) {
            StandinDevice *d = g_ptr_array_index(s->devices, i);

            p[i + 2] = (struct pollfd){ .fd = d->sock, .events = 0 };
        }
        if (poll(p, nd + 2, -1) < 0) {
            continue;
        }
        if ((p[0].revents & POLLIN) && handle_signal(s, &status)) {
            return status;
        }
        if (p[1].revents & POLLIN) {
            receive_notification(s);
        } else if (p[1].revents & (POLLHUP | POLLERR)) {
            listening = false;  /* every filtered task is gone */
        }
        release_hung_up(s, p + 2, nd);
    }
}

int standin_run(Standin *s, const char *const *argv)
{
    g_autoptr(GError) err = NULL;
    int status;

    s->sigfd = setup_signals();
    s->listener = standin_launch(argv, &s->child, &err);
    if (s->listener < 0) {
        fprintf(stderr, "vhost-standin: %s\n", err->message);
        return 125;
    }
    /* The caller sleeps until we answer: wake us on its CPU and it on
     * ours (a cross-CPU wakeup costs ~30 us per request on this VM). */
    if (ioctl(s->listener, SECCOMP_IOCTL_NOTIF_SET_FLAGS,
              SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP) < 0) {
        standin_trace(s, "notify SET_FLAGS SYNC_WAKE_UP -> -%s",
                      standin_errno_name(errno));
    }
    status = serve(s);
    while (s->devices->len) {
        device_release(s, g_ptr_array_index(s->devices, 0));
    }
    standin_stats_write(s);
    close(s->listener);
    return status;
}
