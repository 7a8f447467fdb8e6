/* SPDX-License-Identifier: MIT */
/* isa-debug-exit and the i8042 reset-as-power-off port (see header). */
#include "hw/core/debug-exit.h"

#define I8042_CMD_RESET 0xfe

static uint64_t debug_exit_read(void *opaque, hwaddr addr, unsigned size)
{
    return 0;
}

static void debug_exit_write(void *opaque, hwaddr addr, uint64_t val,
                             unsigned size)
{
    machine_request_shutdown(opaque, (int)(((val & 0x7f) << 1) | 1));
}

static const MemoryRegionOps debug_exit_ops = {
    .read = debug_exit_read,
    .write = debug_exit_write,
    .impl_min = 1,
    .impl_max = 4,
};

static uint64_t i8042_read(void *opaque, hwaddr addr, unsigned size)
{
    return 0;       /* status: output and input buffers empty */
}

static void i8042_write(void *opaque, hwaddr addr, uint64_t val, unsigned size)
{
    if ((val & 0xff) == I8042_CMD_RESET) {
        machine_request_shutdown(opaque, 0);
    }
}

static const MemoryRegionOps i8042_ops = {
    .read = i8042_read,
    .write = i8042_write,
    .impl_min = 1,
    .impl_max = 1,
};

void debug_exit_init(MachineState *ms)
{
    memory_region_init_io(&ms->debug_exit_io, &debug_exit_ops, ms,
                          "isa-debug-exit", 4);
    memory_region_add_subregion(&ms->system_io, MACHINE_DEBUG_EXIT_PORT,
                                &ms->debug_exit_io);
    memory_region_init_io(&ms->i8042_io, &i8042_ops, ms, "i8042-reset", 1);
    memory_region_add_subregion(&ms->system_io, MACHINE_I8042_PORT,
                                &ms->i8042_io);
}

void debug_exit_cleanup(MachineState *ms)
{
    if (ms->debug_exit_io.container) {
        memory_region_del_subregion(&ms->system_io, &ms->debug_exit_io);
    }
    if (ms->i8042_io.container) {
        memory_region_del_subregion(&ms->system_io, &ms->i8042_io);
    }
    memory_region_finalize(&ms->debug_exit_io);
    memory_region_finalize(&ms->i8042_io);
}
