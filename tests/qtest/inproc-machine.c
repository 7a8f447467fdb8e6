/* SPDX-License-Identifier: MIT */
/* See inproc-machine.h. */
#include "inproc-machine.h"

MachineState *inproc_machine_new(const char *dir, const char *args)
{
    g_autofree char *cmd = g_strdup_printf("kvmini -accel qtest -qtest "
                                           "unix:%s/unused -serial none %s",
                                           dir, args);
    g_auto(GStrv) argv = NULL;
    Error *err = NULL;
    bool exit_now = false;
    int argc, status = -1;
    MachineState *ms;

    g_assert_true(g_shell_parse_argv(cmd, &argc, &argv, NULL));
    ms = kvmini_parse_args(argc, argv, &exit_now, &status, &err);
    g_assert_null(err);
    g_assert_nonnull(ms);
    g_assert_true(machine_build(ms, &err));
    g_assert_null(err);
    return ms;
}

void inproc_write(MachineState *ms, hwaddr addr, uint64_t val,
                  unsigned size)
{
    uint8_t buf[8];

    for (unsigned i = 0; i < size; i++) {
        buf[i] = val >> (8 * i);
    }
    g_mutex_lock(&ms->lock);
    address_space_write(&ms->address_space_memory, addr, buf, size);
    g_mutex_unlock(&ms->lock);
}

uint64_t inproc_read(MachineState *ms, hwaddr addr, unsigned size)
{
    uint8_t buf[8] = { 0 };
    uint64_t val = 0;

    g_mutex_lock(&ms->lock);
    address_space_read(&ms->address_space_memory, addr, buf, size);
    g_mutex_unlock(&ms->lock);
    for (unsigned i = 0; i < size; i++) {
        val |= (uint64_t)buf[i] << (8 * i);
    }
    return val;
}
