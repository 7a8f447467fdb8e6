/* SPDX-License-Identifier: MIT */
/*
 * kvmini boots the test guest under KVM: the banner, the command line and
 * the RAM ranges the guest was given, interrupts from the in-kernel
 * irqchip, several vCPUs, the device tree, bad input on the command line,
 * and the same ELF under QEMU microvm.
 */
#include "functional-common.h"

#include <string.h>
#include <unistd.h>

#define BOOT_TIMEOUT 60

static void assert_hello(const RunResult *r)
{
    g_assert_false(r->timed_out);
    g_assert_nonnull(strstr(r->out, "kvmini test guest\n"));
    g_assert_nonnull(strstr(r->out, "test hello: PASS"));
}

static void test_hello(void)
{
    RunResult r = { 0 };

    if (!require_kvm()) {
        return;
    }
    run_kvmini_guest("-append 'test=hello extra=word'", BOOT_TIMEOUT, &r);
    assert_hello(&r);
    g_assert_cmpint(r.status, ==, 0);
    g_assert_nonnull(strstr(r.out, "cmdline: test=hello extra=word\n"));
    g_assert_cmpuint(count_lines_with_prefix(r.out, "ram: "), ==, 1);
    g_assert_nonnull(strstr(r.out,
                            "ram: 0x0000000000000000-0x0000000007ffffff"));
    g_assert_cmpstr(r.err, ==, "");
    run_result_clear(&r);
}

static void test_ram_above_4g(void)
{
    RunResult r = { 0 };

    if (!require_kvm()) {
        return;
    }
    run_kvmini_guest("-m 5G -append test=hello", BOOT_TIMEOUT, &r);
    assert_hello(&r);
    g_assert_cmpint(r.status, ==, 0);
    g_assert_cmpuint(count_lines_with_prefix(r.out, "ram: "), ==, 2);
    g_assert_nonnull(strstr(r.out,
                            "ram: 0x0000000000000000-0x00000000bfffffff"));
    g_assert_nonnull(strstr(r.out,
                            "ram: 0x0000000100000000-0x000000017fffffff"));
    run_result_clear(&r);
}

static void test_memory_backend_file(void)
{
    RunResult r = { 0 };
    g_autofree char *dir = g_dir_make_tmp("kvmini-ram-XXXXXX", NULL);
    g_autofree char *path = g_build_filename(dir, "ram", NULL);
    g_autofree char *args = g_strdup_printf(
        "-object memory-backend-file,id=mem,size=64M,mem-path=%s,share=on "
        "-machine microvm,memory-backend=mem -append test=hello", path);

    if (!require_kvm()) {
        return;
    }
    run_kvmini_guest(args, BOOT_TIMEOUT, &r);
    assert_hello(&r);
    g_assert_cmpint(r.status, ==, 0);
    g_assert_nonnull(strstr(r.out,
                            "ram: 0x0000000000000000-0x0000000003ffffff"));
    /* The guest's memory really lives in the file: the command line the
     * loader wrote is in it. */
    g_autofree char *contents = NULL;
    gsize len;
    g_assert_true(g_file_get_contents(path, &contents, &len, NULL));
    g_assert_cmpuint(len, ==, 64 << 20);
    g_assert_nonnull(memmem(contents, len, "test=hello", 10));
    unlink(path);
    rmdir(dir);
    run_result_clear(&r);
}

static void test_irq(void)
{
    RunResult r = { 0 };

    if (!require_kvm()) {
        return;
    }
    run_kvmini_guest("-append test=irq", BOOT_TIMEOUT, &r);
    g_assert_false(r.timed_out);
    g_assert_nonnull(strstr(r.out, "test irq: PASS"));
    g_assert_cmpint(r.status, ==, 0);
    run_result_clear(&r);
}

static void test_smp(void)
{
    RunResult r = { 0 };

    if (!require_kvm()) {
        return;
    }
    run_kvmini_guest("-smp 2 -append test=hello", BOOT_TIMEOUT, &r);
    assert_hello(&r);
    g_assert_cmpint(r.status, ==, 0);
    run_result_clear(&r);
}

static void test_unknown_test_fails(void)
{
    RunResult r = { 0 };

    if (!require_kvm()) {
        return;
    }
    /* The guest reports failure 2 through isa-debug-exit: (2 << 1) | 1. */
    run_kvmini_guest("-append test=no-such-test", BOOT_TIMEOUT, &r);
    g_assert_false(r.timed_out);
    g_assert_cmpint(r.status, ==, 5);
    run_result_clear(&r);
}

static void test_unassigned_logged(void)
{
    RunResult r = { 0 };

    if (!require_kvm()) {
        return;
    }
    run_kvmini_guest("-d guest_errors -append test=unassigned", BOOT_TIMEOUT,
                     &r);
    g_assert_cmpint(r.status, ==, 0);
    g_assert_nonnull(strstr(r.out, "unassigned: mmio 0xffffffff port 0xff"));
    g_assert_nonnull(strstr(r.out, "test unassigned: PASS"));
    g_assert_nonnull(strstr(r.err, "guest_errors: memory: unassigned write "
                                   "of 4 byte(s) at 0xfe000000"));
    g_assert_nonnull(strstr(r.err, "guest_errors: I/O: unassigned read of "
                                   "1 byte(s) at 0x2f8"));
    run_result_clear(&r);

    /* Without -d nothing is logged, and the guest still passes. */
    run_kvmini_guest("-append test=unassigned", BOOT_TIMEOUT, &r);
    g_assert_cmpint(r.status, ==, 0);
    g_assert_cmpstr(r.err, ==, "");
    run_result_clear(&r);
}

static void test_dumpdtb(void)
{
    g_autofree char *dir = g_dir_make_tmp("kvmini-dtb-XXXXXX", NULL);
    g_autofree char *dtb = g_build_filename(dir, "m.dtb", NULL);
    g_autofree char *mopt = g_strdup_printf("microvm,dumpdtb=%s", dtb);
    const char *argv[] = { kvmini_binary(), "-m", "5G", "-machine", mopt,
                           "-kernel", guest_elf(), "-append", "console=x",
                           NULL };
    RunResult r = { 0 };

    if (!require_kvm() || !require_program("dtc")) {
        return;
    }
    run_command(argv, 30, &r);
    g_assert_cmpint(r.status, ==, 0);
    run_result_clear(&r);

    const char *dtc[] = { "dtc", "-I", "dtb", "-O", "dts", dtb, NULL };
    run_command(dtc, 30, &r);
    test_log("%s", r.out);
    g_assert_cmpint(r.status, ==, 0);
    g_assert_nonnull(strstr(r.out, "memory@0 {"));
    g_assert_nonnull(strstr(r.out, "memory@100000000 {"));
    g_assert_nonnull(strstr(r.out, "ns16550"));
    g_assert_nonnull(strstr(r.out, "virtio_mmio@feb00000 {"));
    g_assert_nonnull(strstr(r.out, "bootargs = \"console=x\""));
    unlink(dtb);
    rmdir(dir);
    run_result_clear(&r);
}

/* Bad input: one line "kvmini: <option> ...: <reason>", status 1. */
static void assert_one_line_error(const char *args, const char *expect)
{
    g_autofree char *cmd = g_strdup_printf("%s %s", kvmini_binary(), args);
    g_auto(GStrv) argv = NULL;
    RunResult r = { 0 };

    g_assert_true(g_shell_parse_argv(cmd, NULL, &argv, NULL));
    run_command((const char *const *)argv, 30, &r);
    test_log("$ %s\n%s", cmd, r.err);
    g_assert_cmpint(r.status, ==, 1);
    g_assert_true(g_str_has_prefix(r.err, "kvmini: "));
    g_assert_nonnull(strstr(r.err, expect));
    g_assert_cmpuint(count_lines_with_prefix(r.err, ""), ==, 2); /* line + "" */
    g_assert_cmpstr(r.out, ==, "");
    run_result_clear(&r);
}

static void test_bad_input(void)
{
    g_autofree char *kernel = g_strdup_printf("-kernel %s", guest_elf());
    g_autofree char *a = NULL;

    assert_one_line_error("-bogus", "kvmini: -bogus: invalid option");
    assert_one_line_error("-m banana", "kvmini: -m banana: invalid RAM size");
    assert_one_line_error("-kernel /nonexistent/k",
                          "kvmini: -kernel /nonexistent/k: ");
    assert_one_line_error("-kernel /etc/hostname",
                          "is not an ELF or bzImage kernel");
    a = g_strdup_printf("-accel nope %s", kernel);
    assert_one_line_error(a, "kvmini: -accel nope: invalid accelerator");
    g_free(a);
    a = g_strdup_printf("-device nosuchdev %s", kernel);
    assert_one_line_error(a, "kvmini: -device nosuchdev: 'nosuchdev' is not "
                             "a valid device model name");
    g_free(a);
    a = g_strdup_printf("-serial chardev:nope %s", kernel);
    assert_one_line_error(a, "chardev 'nope' not found");
}

static void test_qemu_microvm_same_banner(void)
{
    RunResult r = { 0 };
    const char *argv[] = {
        "qemu-system-x86_64", "-M", "microvm", "-accel", "kvm", "-m", "256M",
        "-nodefaults", "-nographic", "-serial", "stdio",
        "-device", "isa-debug-exit,iobase=0xf4,iosize=4",
        "-kernel", guest_elf(), "-append", "test=hello", NULL };

    if (!require_kvm() || !require_program("qemu-system-x86_64")) {
        return;
    }
    run_command(argv, 120, &r);
    test_log("QEMU stdout:\n%s\nstderr:\n%s", r.out, r.err);
    assert_hello(&r);
    /* QEMU has no i8042 on microvm: the guest falls back to debug-exit 0. */
    g_assert_cmpint(r.status, ==, 1);
    run_result_clear(&r);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/boot/hello", test_hello);
    g_test_add_func("/boot/ram-above-4g", test_ram_above_4g);
    g_test_add_func("/boot/memory-backend-file", test_memory_backend_file);
    g_test_add_func("/boot/irq", test_irq);
    g_test_add_func("/boot/smp", test_smp);
    g_test_add_func("/boot/unknown-test-fails", test_unknown_test_fails);
    g_test_add_func("/boot/unassigned-logged", test_unassigned_logged);
    g_test_add_func("/boot/dumpdtb", test_dumpdtb);
    g_test_add_func("/boot/bad-input", test_bad_input);
    g_test_add_func("/boot/qemu-microvm", test_qemu_microvm_same_banner);
    return g_test_run();
}
