/* SPDX-License-Identifier: MIT */
/*
 * The launcher: fork, install a seccomp filter with a user-notification
 * listener in the child, hand the listener to the parent over SCM_RIGHTS,
 * exec the VMM.  The filter survives execve and covers every thread the
 * VMM creates later.
 */
#include "standin.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <stddef.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#define ARG_LO(n) (offsetof(struct seccomp_data, args) + (n) * 8)
#define STMT(code, k) ((struct sock_filter)BPF_STMT(code, k))
#define JUMP(code, k, jt, jf) ((struct sock_filter)BPF_JUMP(code, k, jt, jf))
#define RET_NOTIFY STMT(BPF_RET | BPF_K, SECCOMP_RET_USER_NOTIF)
#define RET_ALLOW STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW)

/* Append "if nr == NR: notify". */
static void filter_notify_nr(GArray *f, int nr)
{
    struct sock_filter insn[] = {
        JUMP(BPF_JMP | BPF_JEQ | BPF_K, nr, 0, 1),
        RET_NOTIFY,
    };
    g_array_append_vals(f, insn, G_N_ELEMENTS(insn));
}

/* Append "if nr == NR: notify when args[arg] is in the reserved fd range,
 * else allow".  Forward jumps only; the block ends in returns. */
static void filter_notify_fd_in_range(GArray *f, int nr, unsigned arg)
{
    struct sock_filter insn[] = {
        JUMP(BPF_JMP | BPF_JEQ | BPF_K, nr, 0, 5),
        STMT(BPF_LD | BPF_W | BPF_ABS, ARG_LO(arg)),
        JUMP(BPF_JMP | BPF_JGE | BPF_K, STANDIN_FD_MIN, 0, 2),
        JUMP(BPF_JMP | BPF_JGT | BPF_K, STANDIN_FD_MAX, 1, 0),
        RET_NOTIFY,
        RET_ALLOW,
    };
    g_array_append_vals(f, insn, G_N_ELEMENTS(insn));
}

/* Append "if nr == ioctl: notify when _IOC_TYPE(cmd) == VHOST_VIRTIO". */
static void filter_notify_vhost_ioctl(GArray *f)
{
    struct sock_filter insn[] = {
        JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_ioctl, 0, 5),
        STMT(BPF_LD | BPF_W | BPF_ABS, ARG_LO(1)),
        STMT(BPF_ALU | BPF_AND | BPF_K, 0xff00),
        JUMP(BPF_JMP | BPF_JEQ | BPF_K, VHOST_VIRTIO << 8, 0, 1),
        RET_NOTIFY,
        RET_ALLOW,
    };
    g_array_append_vals(f, insn, G_N_ELEMENTS(insn));
}

static GArray *filter_build(void)
{
    GArray *f = g_array_new(FALSE, FALSE, sizeof(struct sock_filter));
    struct sock_filter head[] = {
        STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
        JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
        RET_ALLOW,
        STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
    };
    static const int fd0_calls[] = {
        __NR_read, __NR_write, __NR_readv, __NR_writev, __NR_close,
    };

    g_array_append_vals(f, head, G_N_ELEMENTS(head));
    filter_notify_nr(f, __NR_open);
    filter_notify_nr(f, __NR_openat);
    filter_notify_nr(f, __NR_openat2);
    filter_notify_vhost_ioctl(f);
    for (size_t i = 0; i < G_N_ELEMENTS(fd0_calls); i++) {
        filter_notify_fd_in_range(f, fd0_calls[i], 0);
    }
    filter_notify_fd_in_range(f, __NR_epoll_ctl, 2);
    g_array_append_val(f, (struct sock_filter)RET_ALLOW);
    return f;
}

static int send_fd(int sock, int fd)
{
    char data = 'L';
    struct iovec iov = { .iov_base = &data, .iov_len = 1 };
    union {
        char buf[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } u;
    struct msghdr msg = {
        .msg_iov = &iov, .msg_iovlen = 1,
        .msg_control = u.buf, .msg_controllen = sizeof(u.buf),
    };
    struct cmsghdr *c = CMSG_FIRSTHDR(&msg);

    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(c), &fd, sizeof(int));
    return sendmsg(sock, &msg, 0) == 1 ? 0 : -errno;
}

static int recv_fd(int sock)
{
    char data;
    struct iovec iov = { .iov_base = &data, .iov_len = 1 };
    union {
        char buf[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } u;
    struct msghdr msg = {
        .msg_iov = &iov, .msg_iovlen = 1,
        .msg_control = u.buf, .msg_controllen = sizeof(u.buf),
    };
    struct cmsghdr *c;
    int fd;

    if (recvmsg(sock, &msg, MSG_CMSG_CLOEXEC) != 1) {
        return -1;
    }
    c = CMSG_FIRSTHDR(&msg);
    if (!c || c->cmsg_type != SCM_RIGHTS) {
        return -1;
    }
    memcpy(&fd, CMSG_DATA(c), sizeof(int));
    return fd;
}

/* In the child: filter, send the listener, exec.  Never returns. */
static void child_exec(int sock, const char *const *argv)
{
    g_autoptr(GArray) f = filter_build();
    struct sock_fprog prog = {
        .len = f->len, .filter = (struct sock_filter *)f->data,
    };
    sigset_t none;
    int listener;

    /* The supervisor blocks the signals it reads from a signalfd; the
     * program must start with the mask it would have had. */
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    /* Without a supervisor every notified call would fail with ENOSYS. */
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
        _exit(126);
    }
    /* WAIT_KILLABLE_RECV: a signal must not restart a request that has
     * already had its side effect. */
    listener = syscall(__NR_seccomp, SECCOMP_SET_MODE_FILTER,
                       SECCOMP_FILTER_FLAG_NEW_LISTENER |
                       SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV, &prog);
    if (listener < 0 || send_fd(sock, listener) < 0) {
        dprintf(2, "vhost-standin: seccomp filter: %s\n", strerror(errno));
        _exit(126);
    }
    close(listener);
    close(sock);
    execvp(argv[0], (char *const *)argv);
    dprintf(2, "vhost-standin: exec %s: %s\n", argv[0], strerror(errno));
    _exit(127);
}

int standin_launch(const char *const *argv, pid_t *child, GError **err)
{
    int sv[2];
    int listener;
    pid_t pid;

    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
        g_set_error(err, G_FILE_ERROR, G_FILE_ERROR_FAILED,
                    "socketpair: %s", strerror(errno));
        return -1;
    }
    pid = fork();
    if (pid < 0) {
        g_set_error(err, G_FILE_ERROR, G_FILE_ERROR_FAILED, "fork: %s",
                    strerror(errno));
        close(sv[0]);
        close(sv[1]);
        return -1;
    }
    if (pid == 0) {
        close(sv[0]);
        child_exec(sv[1], argv);
    }
    close(sv[1]);
    listener = recv_fd(sv[0]);
    close(sv[0]);
    if (listener < 0) {
        g_set_error(err, G_FILE_ERROR, G_FILE_ERROR_FAILED,
                    "no seccomp listener from the child");
        return -1;
    }
    *child = pid;
    return listener;
}
