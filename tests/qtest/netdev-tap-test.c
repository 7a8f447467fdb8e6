/* SPDX-License-Identifier: MIT */
/*
 * -netdev tap: what kvmini refuses, one line "kvmini: -netdev ...: WHY"
 * and exit status 1 each — vhost=off, helper scripts, vnet_hdr=off, fd
 * numbers that are not open or not a tap, a missing /dev/net/tun or
 * /dev/vhost-net (hidden from kvmini in a mount namespace of its own
 * with a fresh /dev, so the case holds on a host that has them).
 *
 * The test moves itself into a network namespace first: the taps kvmini
 * creates on the way to an error live and die there, never in the
 * machine's own.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "libqtest.h"

#define QTEST_NOWHERE   "-accel qtest -qtest unix:/nonexistent/kvmini.sock"
#define NIC             "-device virtio-net-device,netdev=n0"

/* What the child sees of /dev. */
typedef enum DevView {
    DEV_HOST,           /* the host's /dev */
    DEV_NO_TUN,         /* a fresh /dev with only null */
    DEV_NO_VHOST,       /* null and net/tun, no vhost-net */
} DevView;

static void die_in_child(const char *what)
{
    g_printerr("child setup: %s: %s\n", what, g_strerror(errno));
    _exit(99);
}

/* In the child, before exec: a mount namespace whose /dev is a tmpfs
 * with only the nodes view asks for. */
static void hide_dev(gpointer data)
{
    DevView view = GPOINTER_TO_INT(data);

    if (view == DEV_HOST) {
        return;
    }
    if (unshare(CLONE_NEWNS) < 0) {
        die_in_child("unshare(CLONE_NEWNS)");
    }
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
        mount("tmpfs", "/dev", "tmpfs", 0, "mode=0755") < 0) {
        die_in_child("mount /dev");
    }
    if (mknod("/dev/null", S_IFCHR | 0666, makedev(1, 3)) < 0) {
        die_in_child("mknod /dev/null");
    }
    if (view == DEV_NO_VHOST &&
        (mkdir("/dev/net", 0755) < 0 ||
         mknod("/dev/net/tun", S_IFCHR | 0666, makedev(10, 200)) < 0)) {
        die_in_child("mknod /dev/net/tun");
    }
}

/* kvmini ARGS with /dev as view: exit 1, nothing on stdout, one line on
 * stderr that names the netdev option and contains needle. */
static void check_tap_error(DevView view, const char *netdev,
                            const char *needle)
{
    g_autofree char *args = g_strdup_printf("%s -netdev %s %s",
                                            QTEST_NOWHERE, netdev, NIC);
    g_autofree char *out = NULL, *err = NULL;
    g_auto(GStrv) argv = NULL;
    g_autoptr(GError) error = NULL;
    g_autofree char *cmd = g_strdup_printf("'%s' %s", qtest_kvmini_binary(),
                                           args);
    int wstatus;

    g_assert_true(g_shell_parse_argv(cmd, NULL, &argv, &error));
    if (!g_spawn_sync(NULL, argv, NULL, G_SPAWN_DEFAULT, hide_dev,
                      GINT_TO_POINTER(view), &out, &err, &wstatus, &error)) {
        g_error("cannot run kvmini: %s", error->message);
    }
    g_test_message("kvmini %s -> %d: %s", args, wstatus, err);
    g_assert_true(WIFEXITED(wstatus));
    g_assert_cmpint(WEXITSTATUS(wstatus), ==, 1);
    g_assert_cmpstr(out, ==, "");
    g_assert_true(g_str_has_prefix(err, "kvmini: -netdev "));
    g_assert_true(strchr(err, '\n') == err + strlen(err) - 1);
    if (!strstr(err, netdev) || !strstr(err, needle)) {
        g_error("'%s' does not name '%s' with '%s'", err, netdev, needle);
    }
}

static void test_vhost_off(void)
{
    check_tap_error(DEV_HOST, "tap,id=n0,vhost=off",
                    "kvmini keeps device data out of the VMM");
}

static void test_scripts(void)
{
    check_tap_error(DEV_HOST, "tap,id=n0,script=/etc/qemu-ifup",
                    "kvmini does not run helper scripts");
    check_tap_error(DEV_HOST, "tap,id=n0,script=no,downscript=/bin/true",
                    "downscript=/bin/true: kvmini does not run helper "
                    "scripts");
}

static void test_vnet_hdr_off(void)
{
    check_tap_error(DEV_HOST, "tap,id=n0,vnet_hdr=off", "vnet_hdr=on");
}

static void test_bad_fds(void)
{
    check_tap_error(DEV_HOST, "tap,id=n0,fd=977", "fd=977: Bad file "
                    "descriptor");
    check_tap_error(DEV_HOST, "tap,id=n0,fd=x", "fd=x: not a file "
                    "descriptor number");
    check_tap_error(DEV_HOST, "tap,id=n0,fd=0", "fd 0 is not a tap");
    check_tap_error(DEV_HOST, "tap,id=n0,fd=0,ifname=t0",
                    "ifname= cannot be used with fd=");
    check_tap_error(DEV_NO_VHOST, "tap,id=n0,vhostfd=977",
                    "vhostfd=977: Bad file descriptor");
    check_tap_error(DEV_NO_VHOST, "tap,id=n0,queues=2,vhostfds=0",
                    "1 vhost fd(s) for 2 tap queue(s)");
}

static void test_missing_nodes(void)
{
    check_tap_error(DEV_NO_TUN, "tap,id=n0,ifname=kvt0",
                    "could not open /dev/net/tun: No such file or "
                    "directory");
    check_tap_error(DEV_NO_VHOST, "tap,id=n0,ifname=kvt0",
                    "vhost=on: could not open /dev/vhost-net: No such file "
                    "or directory");
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    if (!qtest_enter_netns()) {
        return 77;
    }
    g_test_add_func("/netdev-tap/vhost-off", test_vhost_off);
    g_test_add_func("/netdev-tap/scripts", test_scripts);
    g_test_add_func("/netdev-tap/vnet-hdr-off", test_vnet_hdr_off);
    g_test_add_func("/netdev-tap/bad-fds", test_bad_fds);
    g_test_add_func("/netdev-tap/missing-nodes", test_missing_nodes);
    return g_test_run();
}
