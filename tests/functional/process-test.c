/* SPDX-License-Identifier: MIT */
/*
 * kvmini as a process, the way QEMU is launched by management tools:
 * -S (vCPUs wait for QMP cont), -name (QMP query-name, process name),
 * -pidfile (the running process's id, locked, removed at exit) and
 * -daemonize (the command returns once the machine runs; a failure to
 * start is reported by the command's exit status and stderr),
 * -run-with user= (root given up before the guest runs).
 */
#include "functional-common.h"
#include "libqmp.h"

#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#define TIMEOUT 60

static char *dir_path(const char *dir, const char *name)
{
    return g_build_filename(dir, name, NULL);
}

static int read_pid(const char *pidfile)
{
    g_autofree char *text = NULL;

    g_assert_true(g_file_get_contents(pidfile, &text, NULL, NULL));
    return atoi(text);
}

/* Wait up to TIMEOUT s for process pid (not our child) to be gone. */
static void wait_gone(int pid)
{
    for (int i = 0; i < TIMEOUT * 100; i++) {
        if (kill(pid, 0) < 0) {
            return;
        }
        g_usleep(10 * 1000);
    }
    g_error("process %d still runs", pid);
}

static JsonObject *obj(JsonNode *n)
{
    g_assert_true(JSON_NODE_HOLDS_OBJECT(n));
    return json_node_get_object(n);
}

/* -S: nothing of the guest runs until cont; query-status says
 * "prelaunch"; -name shows in query-name and as the process name. */
static void test_start_paused(void)
{
    g_autofree char *dir = NULL, *qmp_path = NULL, *qmp_opt = NULL;
    g_autofree char *comm = NULL, *comm_path = NULL;
    Peer vm = { 0 };
    RunResult r = { 0 };
    QmpClient *qmp;
    JsonNode *st;

    if (!require_kvm()) {
        return;
    }
    dir = tmpdir_new();
    qmp_path = dir_path(dir, "qmp.sock");
    qmp_opt = g_strdup_printf("unix:%s,server=on,wait=off", qmp_path);
    const char *argv[] = {
        kvmini_binary(), "-S", "-name", "guest=vm1,process=kvmini-vm1",
        "-kernel", guest_elf(), "-serial", "stdio", "-qmp", qmp_opt,
        "-append", "test=hello", NULL };

    peer_start(&vm, argv, qmp_path);
    qmp = qmp_connect(qmp_path);
    qmp_negotiate(qmp);
    st = qmp_cmd_ok(qmp, "{\"execute\": \"query-status\"}");
    g_assert_cmpstr(json_object_get_string_member(obj(st), "status"), ==,
                    "prelaunch");
    g_assert_false(json_object_get_boolean_member(obj(st), "running"));
    json_node_unref(st);
    st = qmp_cmd_ok(qmp, "{\"execute\": \"query-name\"}");
    g_assert_cmpstr(json_object_get_string_member(obj(st), "name"), ==,
                    "vm1");
    json_node_unref(st);
    comm_path = g_strdup_printf("/proc/%d/comm", (int)vm.pid);
    g_assert_true(g_file_get_contents(comm_path, &comm, NULL, NULL));
    g_assert_cmpstr(g_strchomp(comm), ==, "kvmini-vm1");
    /* The guest prints its banner at once when it runs: it has not. */
    g_usleep(300 * 1000);
    g_assert_false(peer_wait_output(&vm, "kvmini test guest", 0));

    json_node_unref(qmp_cmd_ok(qmp, "{\"execute\": \"cont\"}"));
    json_node_unref(qmp_wait_event(qmp, "RESUME", QMP_TIMEOUT_MS));
    peer_wait_exit(&vm, TIMEOUT, &r);
    qmp_close(qmp);
    g_assert_nonnull(strstr(r.out, "test hello: PASS"));
    g_assert_cmpint(r.status, ==, 0);
    run_result_clear(&r);
    tmpdir_remove(dir);
}

/* -daemonize: the command returns 0 with the machine running in a new
 * session; the pidfile names it; the serial log fills; when the guest
 * is done the daemon exits and the pidfile is gone. */
static void test_daemonize(void)
{
    g_autofree char *dir = NULL, *pidfile = NULL, *log = NULL;
    g_autofree char *serial = NULL, *text = NULL;
    RunResult r = { 0 };
    int pid;

    if (!require_kvm()) {
        return;
    }
    dir = tmpdir_new();
    pidfile = dir_path(dir, "kvmini.pid");
    log = dir_path(dir, "serial.log");
    serial = g_strdup_printf("file:%s", log);
    const char *argv[] = {
        kvmini_binary(), "-daemonize", "-pidfile", pidfile, "-serial",
        serial, "-kernel", guest_elf(), "-append",
        "test=dirty dirty_iters=40", NULL };

    run_command(argv, TIMEOUT, &r);
    g_assert_cmpint(r.status, ==, 0);
    g_assert_cmpstr(r.err, ==, "");
    run_result_clear(&r);
    pid = read_pid(pidfile);
    g_assert_cmpint(pid, >, 0);
    g_assert_cmpint(getsid(pid), ==, pid);
    wait_gone(pid);
    g_assert_false(g_file_test(pidfile, G_FILE_TEST_EXISTS));
    g_assert_true(g_file_get_contents(log, &text, NULL, NULL));
    g_assert_nonnull(strstr(text, "test dirty: PASS"));
    tmpdir_remove(dir);
}

/* A daemon that cannot start: the command fails with the reason. */
static void test_daemonize_failure(void)
{
    g_autofree char *dir = NULL, *pidfile = NULL, *chardev = NULL;
    RunResult r = { 0 };

    if (!require_kvm()) {
        return;
    }
    dir = tmpdir_new();
    pidfile = dir_path(dir, "kvmini.pid");
    chardev = g_strdup_printf("socket,id=c0,path=%s/absent.sock", dir);
    const char *argv[] = {
        kvmini_binary(), "-daemonize", "-pidfile", pidfile, "-serial", "none",
        "-chardev", chardev, "-device", "vhost-user-blk,chardev=c0",
        "-kernel", guest_elf(), NULL };
    const char *stdio_argv[] = {
        kvmini_binary(), "-daemonize", "-kernel", guest_elf(), NULL };

    run_command(argv, TIMEOUT, &r);
    g_assert_cmpint(r.status, ==, 1);
    g_assert_nonnull(strstr(r.err, "absent.sock"));
    g_assert_false(g_file_test(pidfile, G_FILE_TEST_EXISTS));
    run_result_clear(&r);

    run_command(stdio_argv, TIMEOUT, &r);
    g_assert_cmpint(r.status, ==, 1);
    g_assert_nonnull(strstr(r.err, "kvmini: -daemonize: the serial port is "
                                   "on stdio"));
    run_result_clear(&r);
    tmpdir_remove(dir);
}

/* One pidfile, one kvmini: the second is refused with the holder's pid. */
static void test_pidfile_locked(void)
{
    g_autofree char *dir = NULL, *pidfile = NULL, *qmp_path = NULL;
    g_autofree char *qmp_opt = NULL, *expect = NULL;
    Peer vm = { 0 };
    RunResult r = { 0 };
    QmpClient *qmp;

    if (!require_kvm()) {
        return;
    }
    dir = tmpdir_new();
    pidfile = dir_path(dir, "kvmini.pid");
    qmp_path = dir_path(dir, "qmp.sock");
    qmp_opt = g_strdup_printf("unix:%s,server=on,wait=off", qmp_path);
    const char *first[] = {
        kvmini_binary(), "-S", "-pidfile", pidfile, "-serial", "none",
        "-qmp", qmp_opt, "-kernel", guest_elf(), NULL };
    const char *second[] = {
        kvmini_binary(), "-pidfile", pidfile, "-serial", "none",
        "-kernel", guest_elf(), NULL };

    peer_start(&vm, first, qmp_path);
    qmp = qmp_connect(qmp_path);
    g_assert_cmpint(read_pid(pidfile), ==, (int)vm.pid);
    run_command(second, TIMEOUT, &r);
    g_assert_cmpint(r.status, ==, 1);
    expect = g_strdup_printf("kvmini: -pidfile %s: in use by process %d",
                             pidfile, (int)vm.pid);
    g_assert_nonnull(strstr(r.err, expect));
    run_result_clear(&r);
    g_assert_cmpint(read_pid(pidfile), ==, (int)vm.pid);
    qmp_negotiate(qmp);
    json_node_unref(qmp_cmd_ok(qmp, "{\"execute\": \"quit\"}"));
    qmp_close(qmp);
    peer_wait_exit(&vm, TIMEOUT, &r);
    g_assert_cmpint(r.status, ==, 0);
    run_result_clear(&r);
    g_assert_false(g_file_test(pidfile, G_FILE_TEST_EXISTS));
    tmpdir_remove(dir);
}

/* The value of "Key:" in /proc/PID/status, g_free it. */
static char *proc_status_field(int pid, const char *key)
{
    g_autofree char *path = g_strdup_printf("/proc/%d/status", pid);
    g_autofree char *text = NULL;
    g_auto(GStrv) lines = NULL;
    size_t len = strlen(key);

    g_assert_true(g_file_get_contents(path, &text, NULL, NULL));
    lines = g_strsplit(text, "\n", -1);
    for (int i = 0; lines[i]; i++) {
        if (!strncmp(lines[i], key, len) && lines[i][len] == ':') {
            return g_strstrip(g_strdup(lines[i] + len + 1));
        }
    }
    g_error("no %s in %s", key, path);
}

/* Groups: only groups of the user (getgrouplist), never root's. */
static void assert_groups_of(int pid, const struct passwd *pw)
{
    g_autofree char *groups = proc_status_field(pid, "Groups");
    g_auto(GStrv) ids = g_strsplit_set(groups, " \t", -1);
    gid_t list[64];
    int n = G_N_ELEMENTS(list);

    g_assert_cmpint(getgrouplist(pw->pw_name, pw->pw_gid, list, &n), >=, 0);
    for (int i = 0; ids[i]; i++) {
        bool found = false;

        if (!*ids[i]) {
            continue;
        }
        for (int j = 0; j < n; j++) {
            found |= (gid_t)atoi(ids[i]) == list[j];
        }
        if (!found) {
            g_error("kvmini kept group %s (Groups: %s)", ids[i], groups);
        }
    }
}

/* -run-with user=nobody: once the machine is built kvmini runs as nobody
 * (real, effective, saved and filesystem ids; nobody's groups only, no
 * capabilities), and the guest still runs. */
static void test_run_with_user(void)
{
    g_autofree char *dir = NULL, *qmp_path = NULL, *qmp_opt = NULL;
    g_autofree char *uids = NULL, *gids = NULL, *caps = NULL;
    g_autofree char *want_uids = NULL, *want_gids = NULL;
    struct passwd *pw = getpwnam("nobody");
    Peer vm = { 0 };
    RunResult r = { 0 };
    QmpClient *qmp;

    if (!require_kvm()) {
        return;
    }
    if (getuid() != 0 || !pw) {
        g_test_skip("needs root and a user 'nobody'");
        return;
    }
    dir = tmpdir_new();
    qmp_path = dir_path(dir, "qmp.sock");
    qmp_opt = g_strdup_printf("unix:%s,server=on,wait=off", qmp_path);
    const char *argv[] = {
        kvmini_binary(), "-S", "-run-with", "user=nobody", "-kernel",
        guest_elf(), "-serial", "stdio", "-qmp", qmp_opt, "-append",
        "test=hello", NULL };

    peer_start(&vm, argv, qmp_path);
    qmp = qmp_connect(qmp_path);
    qmp_negotiate(qmp);     /* the main loop runs: the user was changed */
    uids = proc_status_field(vm.pid, "Uid");
    gids = proc_status_field(vm.pid, "Gid");
    caps = proc_status_field(vm.pid, "CapEff");
    want_uids = g_strdup_printf("%u\t%u\t%u\t%u", pw->pw_uid, pw->pw_uid,
                                pw->pw_uid, pw->pw_uid);
    want_gids = g_strdup_printf("%u\t%u\t%u\t%u", pw->pw_gid, pw->pw_gid,
                                pw->pw_gid, pw->pw_gid);
    g_assert_cmpstr(uids, ==, want_uids);
    g_assert_cmpstr(gids, ==, want_gids);
    g_assert_cmpstr(caps, ==, "0000000000000000");
    assert_groups_of(vm.pid, pw);

    json_node_unref(qmp_cmd_ok(qmp, "{\"execute\": \"cont\"}"));
    peer_wait_exit(&vm, TIMEOUT, &r);
    qmp_close(qmp);
    g_assert_nonnull(strstr(r.out, "test hello: PASS"));
    g_assert_cmpint(r.status, ==, 0);
    run_result_clear(&r);
    tmpdir_remove(dir);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/process/start-paused", test_start_paused);
    g_test_add_func("/process/daemonize", test_daemonize);
    g_test_add_func("/process/daemonize-failure", test_daemonize_failure);
    g_test_add_func("/process/pidfile-locked", test_pidfile_locked);
    g_test_add_func("/process/run-with-user", test_run_with_user);
    return g_test_run();
}
