/* SPDX-License-Identifier: MIT */
/*
 * Under KVM, a backend that stops answering the guest's device start
 * stalls the vCPU that started it, and nothing else: the test guest
 * (test=blk) sets DRIVER_OK on a vhost-user-blk device whose backend (the
 * test backend, vhost-user-test-backend.h, in this process) never
 * acknowledges the memory table of that start.  The vCPU waits for the
 * reply (up to the reply timeout); meanwhile QMP must answer within
 * 100 ms every time (query-status, and queries that take the machine
 * lock), and SIGTERM must end kvmini within 1 s with
 * status 0.
 */
#include "functional-common.h"
#include "libqmp.h"
#include "vhost-user-test-backend.h"

#include <signal.h>

#define TIMEOUT_S       60
#define QMP_BOUND_MS    100
#define QMP_ROUNDS      10
#define EXIT_BOUND_MS   1000

/* What a management tool asks while the guest runs: the run state, and
 * two queries that take the machine lock (one about the very device
 * whose backend stalls). */
static const char *const queries[] = {
    "query-status", "query-memory-devices", "x-query-vhost",
};

static gint64 timed_query(QmpClient *c, const char *cmd)
{
    gint64 t0 = g_get_monotonic_time();
    g_autoptr(JsonNode) r = qmp_cmd_ok(c, "{\"execute\": \"%s\"}", cmd);

    return (g_get_monotonic_time() - t0) / 1000;
}

/* SIGTERM; kvmini must be gone within the bound, with status 0. */
static void check_sigterm_exit(Peer *vm)
{
    gint64 t0 = g_get_monotonic_time(), ms;
    RunResult r = { 0 };

    g_assert_cmpint(kill(vm->pid, SIGTERM), ==, 0);
    peer_wait_exit(vm, 10, &r);
    ms = (g_get_monotonic_time() - t0) / 1000;
    test_log("exit %" G_GINT64_FORMAT " ms after SIGTERM", ms);
    g_assert_false(r.timed_out);
    g_assert_cmpint(r.status, ==, 0);
    g_assert_cmpint(ms, <, EXIT_BOUND_MS);
    run_result_clear(&r);
}

static void test_vcpu_start_stall(void)
{
    g_autofree char *dir = NULL, *sock = NULL, *qmp_sock = NULL;
    g_autofree char *qmp = NULL, *chardev = NULL;
    g_autoptr(VubMsg) last = NULL;
    gint64 worst = 0;
    Peer vm = { 0 };
    QmpClient *c;
    Vub *b;

    if (!require_kvm()) {
        return;
    }
    dir = tmpdir_new();
    sock = g_build_filename(dir, "vub.sock", NULL);
    qmp_sock = g_build_filename(dir, "qmp.sock", NULL);
    qmp = g_strdup_printf("unix:%s,server=on,wait=off", qmp_sock);
    chardev = g_strdup_printf("socket,id=c0,path=%s", sock);
    b = vub_new_server(sock);
    vub_add_fault(b, VUB_FAULT_NO_REPLY, VHOST_USER_ADD_MEM_REG, 0, true);
    const char *argv[] = {
        kvmini_binary(), "-m", "128M", "-kernel", guest_elf(),
        "-serial", "stdio", "-qmp", qmp, "-chardev", chardev,
        "-device", "vhost-user-blk,chardev=c0,id=disk0",
        "-append", "test=blk", NULL };

    peer_start(&vm, argv, qmp_sock);
    c = qmp_connect(qmp_sock);
    qmp_negotiate(c);
    /* The guest's DRIVER_OK: kvmini's vCPU sends the table and waits. */
    g_assert_true(vub_wait_for_request(b, VHOST_USER_ADD_MEM_REG,
                                       TIMEOUT_S * 1000));
    for (unsigned i = 0; i < QMP_ROUNDS; i++) {
        gint64 ms = timed_query(c, queries[i % G_N_ELEMENTS(queries)]);

        worst = MAX(worst, ms);
        g_usleep(20 * 1000);
    }
    test_log("QMP: slowest answer %" G_GINT64_FORMAT " ms while the vCPU "
             "waits", worst);
    g_assert_cmpint(worst, <, QMP_BOUND_MS);
    /* Still waiting: nothing came after the table. */
    last = vub_log_get(b, vub_log_len(b) - 1);
    g_assert_cmpuint(last->request, ==, VHOST_USER_ADD_MEM_REG);
    check_sigterm_exit(&vm);
    qmp_close(c);
    vub_free(b);
    tmpdir_remove(dir);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/stall/vcpu-start", test_vcpu_start_stall);
    return g_test_run();
}
