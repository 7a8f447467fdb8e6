/* SPDX-License-Identifier: MIT */
/*
 * KVM dirty logging, per memory slot, with a real guest, read the way
 * migration reads it: logging is switched on for guest RAM before the
 * test guest runs; afterwards a log sync (KVM_GET_DIRTY_LOG into the RAM
 * region's migration bitmap) reports the pages the guest wrote (its stack
 * and data, just above 1 MiB) dirty, pages only kvmini wrote before
 * logging started (boot information at 0x6000) or nobody touched (16 MiB)
 * clean, and a second sync and fetch finds nothing because the first
 * fetch cleared the bits.
 */
#include "functional-common.h"
#include "exec/memory.h"
#include "sysemu/sysemu.h"

#define PAGE 4096ULL
#define SPAN (32ULL << 20)      /* check the first 32 MiB */

/* Sync every listener's log (KVM's) into the region bitmaps, then
 * fetch-and-clear the RAM region's bits for [0, SPAN) as migration does;
 * g_free the snapshot.  *count gets the number of dirty pages. */
static DirtyBitmapSnapshot *take_dirty(MachineState *ms, uint64_t *count)
{
    MemoryRegion *ram = &ms->ram_backend->mr;
    DirtyBitmapSnapshot *snap;

    address_space_log_sync(&ms->address_space_memory);
    snap = memory_region_snapshot_and_clear_dirty(ram, 0, SPAN);
    *count = 0;
    for (uint64_t a = 0; a < SPAN; a += PAGE) {
        *count += memory_region_snapshot_get_dirty(ram, snap, a, PAGE);
    }
    return snap;
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
    g_autofree DirtyBitmapSnapshot *snap = NULL;
    g_autofree DirtyBitmapSnapshot *again = NULL;
    MachineState *ms;
    MemoryRegion *ram;
    uint64_t found;

    if (!require_kvm()) {
        return;
    }
    ms = build_guest();
    ram = &ms->ram_backend->mr;
    memory_region_set_log(ram, true, DIRTY_MEMORY_MIGRATION);
    g_assert_cmpint(machine_run(ms), ==, 0);

    snap = take_dirty(ms, &found);
    test_log("%" PRIu64 " dirty pages in the first 32 MiB", found);
    g_assert_cmpuint(found, >, 0);
    g_assert_true(memory_region_snapshot_get_dirty(ram, snap, 1ULL << 20,
                                                   1ULL << 20));
    /* written by kvmini before logging started */
    g_assert_false(memory_region_snapshot_get_dirty(ram, snap, 0x6000, PAGE));
    g_assert_false(memory_region_snapshot_get_dirty(ram, snap, 16ULL << 20,
                                                    PAGE));     /* untouched */

    again = take_dirty(ms, &found);
    g_assert_cmpuint(found, ==, 0);

    memory_region_set_log(ram, false, DIRTY_MEMORY_MIGRATION);
    machine_free(ms);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/kvm/dirty-log", test_dirty_log);
    return g_test_run();
}
