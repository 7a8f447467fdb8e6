/* SPDX-License-Identifier: MIT */
/*
 * system_reset under KVM: the test guest's test=reset records what the
 * LAPIC, IOAPIC, PICs and some MSRs hold at boot, changes all of it and
 * halts; the test sends QMP system_reset; the second boot finds every
 * one of them back at its boot value (kvmini restores the state KVM
 * created the vCPUs and interrupt controllers in) and passes.  With one
 * vCPU and with two (the second one must go back to waiting for SIPI,
 * which the kernel checks when the state is set).
 */
#include "functional-common.h"
#include "libqmp.h"

#include <string.h>

#define TIMEOUT 60

static void reset_once(const char *smp)
{
    g_autofree char *dir = NULL;
    g_autofree char *qmp_path = NULL;
    g_autofree char *qmp_opt = NULL;
    Peer vm = { 0 };
    RunResult r = { 0 };
    QmpClient *qmp;

    if (!require_kvm()) {
        return;
    }
    dir = tmpdir_new();
    qmp_path = g_build_filename(dir, "qmp.sock", NULL);
    qmp_opt = g_strdup_printf("unix:%s,server=on,wait=off", qmp_path);
    const char *argv[] = {
        kvmini_binary(), "-m", "128M", "-smp", smp, "-kernel", guest_elf(),
        "-serial", "stdio", "-qmp", qmp_opt, "-append", "test=reset", NULL };

    peer_start(&vm, argv, qmp_path);
    qmp = qmp_connect(qmp_path);
    qmp_negotiate(qmp);
    g_assert_true(peer_wait_output(&vm, "test reset: armed", TIMEOUT));
    json_node_unref(qmp_cmd_ok(qmp, "{\"execute\": \"system_reset\"}"));
    json_node_unref(qmp_wait_event(qmp, "RESET", QMP_TIMEOUT_MS));
    peer_wait_exit(&vm, TIMEOUT, &r);
    qmp_close(qmp);
    test_log("%s", r.out);
    g_assert_nonnull(strstr(r.out, "reset: second boot"));
    g_assert_nonnull(strstr(r.out, "test reset: PASS"));
    g_assert_cmpint(r.status, ==, 0);
    run_result_clear(&r);
    tmpdir_remove(dir);
}

static void test_reset_one_vcpu(void)
{
    reset_once("1");
}

static void test_reset_two_vcpus(void)
{
    reset_once("2");
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/reset/one-vcpu", test_reset_one_vcpu);
    g_test_add_func("/reset/two-vcpus", test_reset_two_vcpus);
    return g_test_run();
}
