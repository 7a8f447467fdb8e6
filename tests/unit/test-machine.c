/* SPDX-License-Identifier: MIT */
/*
 * The machine without an accelerator: command-line parsing into the
 * machine, the memory map, virtio-mmio slots, the kernel command line and
 * the device models -device finds.
 */
#include "hw/qdev.h"
#include "sysemu/sysemu.h"

#include <string.h>

static MachineState *parse(const char *cmdline, Error **errp)
{
    g_autofree char *full = g_strdup_printf("kvmini %s", cmdline);
    g_auto(GStrv) argv = NULL;
    int argc;
    bool exit_now = false;
    int status = -1;

    g_assert_true(g_shell_parse_argv(full, &argc, &argv, NULL));
    return kvmini_parse_args(argc, argv, &exit_now, &status, errp);
}

static void test_parse_ok(void)
{
    Error *err = NULL;
    MachineState *ms = parse("-m 5G -smp 2 -kernel k -append 'a b' "
                             "-accel qtest -serial none", &err);

    g_assert_null(err);
    g_assert_cmpuint(ms->ram_size, ==, 5ULL << 30);
    g_assert_cmpuint(ms->smp_cpus, ==, 2);
    g_assert_cmpstr(ms->kernel_path, ==, "k");
    g_assert_cmpstr(ms->append, ==, "a b");
    g_assert_true(ms->accel == &qtest_accel_ops);
    machine_free(ms);
}

static void assert_parse_error(const char *cmdline, const char *msg)
{
    Error *err = NULL;

    g_assert_null(parse(cmdline, &err));
    g_assert_nonnull(err);
    g_assert_cmpstr(error_get_pretty(err), ==, msg);
    error_free(err);
}

static void test_parse_errors(void)
{
    assert_parse_error("-m banana", "-m banana: invalid RAM size 'banana'");
    assert_parse_error("-m 0", "-m 0: invalid RAM size '0'");
    assert_parse_error("-frobnicate", "-frobnicate: invalid option");
    assert_parse_error("-accel nope",
                       "-accel nope: invalid accelerator nope (kvm or qtest)");
    assert_parse_error("-smp 0", "-smp 0: number of CPUs must be between 1 "
                                 "and 64");
    assert_parse_error("-kernel", "-kernel: requires an argument");
    assert_parse_error("-machine pc",
                       "-machine pc: unsupported machine type 'pc' (use "
                       "microvm)");
    assert_parse_error("stray", "stray: invalid argument (options start "
                                "with '-')");
}

static void test_e820_split(void)
{
    MachineState *ms = machine_new();
    E820Entry e[4];
    unsigned n;

    ms->below_4g_mem_size = 3ULL << 30;
    ms->above_4g_mem_size = 2ULL << 30;
    n = machine_e820_table(ms, e, G_N_ELEMENTS(e));
    g_assert_cmpuint(n, ==, 2);
    g_assert_cmphex(e[0].addr, ==, 0);
    g_assert_cmphex(e[0].size, ==, 3ULL << 30);
    g_assert_cmphex(e[1].addr, ==, 4ULL << 30);
    g_assert_cmphex(e[1].size, ==, 2ULL << 30);
    g_assert_cmpuint(e[1].type, ==, E820_RAM);
    machine_free(ms);
}

static void test_mmio_slots_cmdline(void)
{
    MachineState *ms = machine_new();
    VirtioMmioSlot *slot = NULL;
    Error *err = NULL;
    g_autofree char *cmd = NULL;

    ms->append = g_strdup("console=ttyS0");
    g_assert_true(machine_alloc_mmio_slot(ms, "blk0", &slot, &err));
    g_assert_cmphex(slot->base, ==, 0xfeb00000);
    g_assert_cmpuint(slot->gsi, ==, 5);
    g_assert_true(machine_alloc_mmio_slot(ms, "net0", &slot, &err));
    g_assert_cmphex(slot->base, ==, 0xfeb00200);
    g_assert_cmpuint(slot->gsi, ==, 6);
    cmd = machine_build_cmdline(ms);
    g_assert_cmpstr(cmd, ==, "console=ttyS0 "
                    "virtio_mmio.device=512@0xfeb00000:5 "
                    "virtio_mmio.device=512@0xfeb00200:6");
    for (unsigned i = 2; i < VIRTIO_MMIO_SLOTS; i++) {
        g_assert_true(machine_alloc_mmio_slot(ms, "x", &slot, &err));
    }
    g_assert_false(machine_alloc_mmio_slot(ms, "y", &slot, &err));
    g_assert_nonnull(strstr(error_get_pretty(err), "no free virtio-mmio"));
    error_free(err);
    machine_free(ms);
}

/* Every device model registers itself (DEVICE_MODEL_REGISTER): all of
 * them must be in the program, whichever build links it. */
static void test_device_models(void)
{
    static const char *const names[] = {
        "vhost-user-blk", "virtio-net-device", "vhost-user-device",
        "pc-dimm",
    };

    for (size_t i = 0; i < G_N_ELEMENTS(names); i++) {
        const DeviceModel *m = qdev_find_model(names[i]);

        g_assert_nonnull(m);
        g_assert_cmpstr(m->name, ==, names[i]);
        g_assert_nonnull(m->create);
    }
    g_assert_null(qdev_find_model("nope"));
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/machine/parse-ok", test_parse_ok);
    g_test_add_func("/machine/parse-errors", test_parse_errors);
    g_test_add_func("/machine/e820-split", test_e820_split);
    g_test_add_func("/machine/mmio-slots-cmdline", test_mmio_slots_cmdline);
    g_test_add_func("/machine/device-models", test_device_models);
    return g_test_run();
}
