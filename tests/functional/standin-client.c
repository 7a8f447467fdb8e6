/* SPDX-License-Identifier: MIT */
/*
 * Clients of /dev/vhost-net for standin-test (standin-client.h): the error
 * codes of Linux 6.1's vhost-net, and the data path driven from rings of
 * our own.
 */
#include "standin-client.h"
#include "standin-datapath.h"

#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <linux/vhost.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <unistd.h>

int client_failures;

void client_expect(const char *what, int ret, int want)
{
    int got = ret < 0 ? errno : 0;

    if (got != want) {
        printf("FAIL %s: got %s, want %s\n", what, strerror(got),
               strerror(want));
        client_failures++;
    } else {
        printf("ok %s: %s\n", what, want ? strerror(want) : "success");
    }
}

void client_check(const char *what, bool ok)
{
    printf("%s %s\n", ok ? "ok" : "FAIL", what);
    client_failures += !ok;
}

#define VHOST_UNKNOWN _IOW(VHOST_VIRTIO, 0x7f, struct vhost_vring_state)

static void client_before_owner(int fd)
{
    struct vhost_vring_state s = { .index = 0, .num = 256 };
    uint64_t f;

    client_expect("GET_FEATURES before SET_OWNER",
                  ioctl(fd, VHOST_GET_FEATURES, &f),
                  0);
    client_expect("SET_VRING_NUM before SET_OWNER",
                  ioctl(fd, VHOST_SET_VRING_NUM, &s), EPERM);
    client_expect("unknown cmd before SET_OWNER", ioctl(fd, VHOST_UNKNOWN, &s),
                  EPERM);
    client_expect("SET_OWNER", ioctl(fd, VHOST_SET_OWNER), 0);
    client_expect("second SET_OWNER", ioctl(fd, VHOST_SET_OWNER), EBUSY);
}

static void client_vring_errors(int fd)
{
    struct vhost_vring_state s = { .index = 5, .num = 256 };
    struct vhost_vring_file kick = { .index = 0, .fd = 777 };
    int p[2];

    client_expect("SET_VRING_NUM index 5", ioctl(fd, VHOST_SET_VRING_NUM, &s),
                  ENOBUFS);
    s = (struct vhost_vring_state){ .index = 0, .num = 100 };
    client_expect("SET_VRING_NUM num 100", ioctl(fd, VHOST_SET_VRING_NUM, &s),
                  EINVAL);
    client_expect("GET_FEATURES bad pointer",
                  ioctl(fd, VHOST_GET_FEATURES, (void *)8), EFAULT);
    client_expect("SET_VRING_NUM bad pointer",
                  ioctl(fd, VHOST_SET_VRING_NUM, (void *)8), EFAULT);
    s.index = 0;
    client_expect("unknown cmd", ioctl(fd, VHOST_UNKNOWN, &s), ENOTTY);
    s.index = 2;
    client_expect("unknown cmd index 2", ioctl(fd, VHOST_UNKNOWN, &s), ENOBUFS);
    s.index = 0;
    client_expect("SET_VRING_ENDIAN",
                  ioctl(fd, VHOST_SET_VRING_ENDIAN, &s), ENOTTY);
    client_expect("SET_VRING_KICK bad fd",
                  ioctl(fd, VHOST_SET_VRING_KICK, &kick),
                  EBADF);
    g_assert_cmpint(pipe2(p, O_CLOEXEC), ==, 0);
    kick.fd = p[0];
    client_expect("SET_VRING_KICK pipe", ioctl(fd, VHOST_SET_VRING_KICK, &kick),
                  EINVAL);
    client_expect("NET_SET_BACKEND before SET_MEM_TABLE",
                  ioctl(fd, VHOST_NET_SET_BACKEND, &kick), EFAULT);
    close(p[0]);
    close(p[1]);
}

static void client_net_and_features(int fd)
{
    struct vhost_memory mem = { .nregions = 0 };
    struct vhost_vring_file b = { .index = 0 };
    uint64_t f = 1ULL << 33;        /* ACCESS_PLATFORM: not offered */
    int p[2];

    client_expect("SET_MEM_TABLE empty",
                  ioctl(fd, VHOST_SET_MEM_TABLE, &mem), 0);
    g_assert_cmpint(pipe2(p, O_CLOEXEC), ==, 0);
    b.fd = p[0];
    client_expect("NET_SET_BACKEND pipe", ioctl(fd, VHOST_NET_SET_BACKEND, &b),
                  ENOTSOCK);
    b.fd = 777;
    client_expect("NET_SET_BACKEND bad fd",
                  ioctl(fd, VHOST_NET_SET_BACKEND, &b),
                  ENOTSOCK);
    b.index = 2;
    client_expect("NET_SET_BACKEND index 2",
                  ioctl(fd, VHOST_NET_SET_BACKEND, &b),
                  ENOBUFS);
    client_expect("SET_FEATURES unsupported", ioctl(fd, VHOST_SET_FEATURES, &f),
                  EOPNOTSUPP);
    f = 1ULL << 1;
    client_expect("SET_BACKEND_FEATURES unsupported",
                  ioctl(fd, VHOST_SET_BACKEND_FEATURES, &f), EOPNOTSUPP);
    close(p[0]);
    close(p[1]);
}

static void client_not_owner(int fd)
{
    struct vhost_vring_state s = { .index = 0, .num = 256 };
    pid_t pid = fork();
    int status;

    if (pid == 0) {
        /* The child's errno (0: success) as its exit status. */
        _exit(ioctl(fd, VHOST_SET_VRING_NUM, &s) < 0 ? errno : 0);
    }
    g_assert_cmpint(waitpid(pid, &status, 0), ==, pid);
    g_assert_true(WIFEXITED(status));
    errno = WEXITSTATUS(status);
    client_expect("SET_VRING_NUM from a forked child", errno ? -1 : 0, EPERM);
    client_expect("RESET_OWNER", ioctl(fd, VHOST_RESET_OWNER), 0);
    client_expect("SET_VRING_NUM after RESET_OWNER",
                  ioctl(fd, VHOST_SET_VRING_NUM, &s), EPERM);
    client_expect("SET_OWNER after RESET_OWNER", ioctl(fd, VHOST_SET_OWNER), 0);
}

static void client_iotlb_write(int fd)
{
    struct vhost_msg_v2 m = { .type = VHOST_IOTLB_MSG_V2 };

    m.iotlb.type = VHOST_IOTLB_BATCH_BEGIN;
    /* No IOTLB without ACCESS_PLATFORM: the kernel says EFAULT. */
    client_expect("write IOTLB BATCH_BEGIN", write(fd, &m, sizeof(m)), EFAULT);
    client_expect("write short message", write(fd, &m, 4), EINVAL);
}

/* Every open is a device of its own; a dup'd fd is the same device; a
 * VHOST_* ioctl on some other file is that file's business (ENOTTY). */
static void client_fds(int fd)
{
    int other = open("/dev/vhost-net", O_RDWR | O_CLOEXEC);
    int copy = fcntl(fd, F_DUPFD_CLOEXEC, 3);
    int p[2];
    uint64_t f;

    client_check("second open", other >= 0);
    client_expect("SET_OWNER on the second device",
                  ioctl(other, VHOST_SET_OWNER), 0);
    client_expect("SET_OWNER through a dup of the first",
                  ioctl(copy, VHOST_SET_OWNER), EBUSY);
    g_assert_cmpint(pipe2(p, O_CLOEXEC), ==, 0);
    client_expect("GET_FEATURES on a pipe",
                  ioctl(p[0], VHOST_GET_FEATURES, &f), ENOTTY);
    close(p[0]);
    close(p[1]);
    close(copy);
    close(other);
}

int standin_client_main(const char *mode)
{
    int fd = open("/dev/vhost-net", O_RDWR | O_CLOEXEC);
    uint64_t f;

    if (fd < 0) {
        printf("FAIL open /dev/vhost-net: %s\n", strerror(errno));
        return 2;
    }
    if (g_str_has_prefix(mode, "datapath-")) {
        standin_datapath(fd, strcmp(mode, "datapath-shared") == 0,
                         strcmp(mode, "datapath-vhost-hdr") == 0);
    } else if (strcmp(mode, "fail") == 0) {
        /* Run with --fail GET_FEATURES@2=ENOMEM. */
        client_expect("GET_FEATURES 1", ioctl(fd, VHOST_GET_FEATURES, &f), 0);
        client_expect("GET_FEATURES 2",
                      ioctl(fd, VHOST_GET_FEATURES, &f), ENOMEM);
        client_expect("GET_FEATURES 3", ioctl(fd, VHOST_GET_FEATURES, &f), 0);
    } else {
        client_before_owner(fd);
        client_vring_errors(fd);
        client_net_and_features(fd);
        client_not_owner(fd);
        client_iotlb_write(fd);
        client_fds(fd);
    }
    close(fd);
    return client_failures ? 1 : 0;
}

