/* SPDX-License-Identifier: MIT */
/*
 * KVM dirty logging, per memory slot, with a real guest: logging is
 * switched on for guest RAM before the test guest runs; afterwards the
 * pages the guest wrote (its stack and data, just above 1 MiB) are
 * reported dirty, pages only kvmini wrote (boot information at 0x6000) or
 * nobody touched (16 MiB) are clean, and a second fetch finds nothing
 * because the first one cleared the log.
 */
#include "functional-common.h"
#include "sysemu/kvm.h"
#include "sysemu/sysemu.h"

#include <string.h>

#define PAGE 4096ULL
#define SPAN (32ULL << 20)      /* check the first 32 MiB */

static bool page_dirty(const unsigned long *bm, uint64_t gpa)
{
    uint64_t p = gpa / PAGE;

    return bm[p / 64] & (1UL << (p % 64));
}

static MachineState *build_guest(void)
{
    g_autofree char *cmd = g_strdup_printf(
        "kvmini -m 64M -kernel %s -append test=hello -serial null",
        guest_elf());
    g_auto(GStrv) argv = NULL;
    int argc, status;
    bool exit_now;
    Error *err = NULL;
    MachineState *ms;

    g_assert_true(g_shell_parse_argv(cmd, &argc, &argv, NULL));
    ms = kvmini_parse_args(argc, argv, &exit_now, &status, &err);
    g_assert_no_error((GError *)NULL);
    g_assert_nonnull(ms);
    if (!machine_build(ms, &err)) {
        g_error("machine_build: %s", error_get_pretty(err));
    }
    return ms;
}

static void test_dirty_log(void)
{
    g_autofree unsigned long *bm = g_new0(unsigned long, SPAN / PAGE / 64);
    MachineState *ms;
    uint64_t found;

    if (!require_kvm()) {
        return;
    }
    ms = build_guest();
    memory_region_set_log(&ms->ram_backend->mr, true, DIRTY_MEMORY_MIGRATION);
    g_assert_cmpint(machine_run(ms), ==, 0);

    found = kvm_dirty_log_take(ms, 0, SPAN, bm);
    test_log("%" PRIu64 " dirty pages in the first 32 MiB", found);
    g_assert_cmpuint(found, >, 0);
    bool guest_wrote = false;
    for (uint64_t a = 1ULL << 20; a < 2ULL << 20; a += PAGE) {
        guest_wrote |= page_dirty(bm, a);
    }
    g_assert_true(guest_wrote);
    g_assert_false(page_dirty(bm, 0x6000));        /* written by kvmini */
    g_assert_false(page_dirty(bm, 16ULL << 20));   /* untouched */

    memset(bm, 0, SPAN / PAGE / 8);
    g_assert_cmpuint(kvm_dirty_log_take(ms, 0, SPAN, bm), ==, 0);

    memory_region_set_log(&ms->ram_backend->mr, false,
                          DIRTY_MEMORY_MIGRATION);
    machine_free(ms);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/kvm/dirty-log", test_dirty_log);
    return g_test_run();
}
