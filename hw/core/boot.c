/* SPDX-License-Identifier: MIT */
/*
 * Kernel boot and system_reset (include/hw/core/boot.h): what the
 * machine needs from the loaders, the accelerator and the device
 * registry to start the guest, at build time and again on reset.
 */
#include "hw/core/boot.h"
#include "hw/core/loader.h"
#include "hw/qdev.h"

bool machine_load_kernel(MachineState *ms, Error **errp)
{
    E820Entry e820[4];
    g_autofree char *cmdline = machine_build_cmdline(ms);
    BootInfo info = {
        .kernel_path = ms->kernel_path,
        .cmdline = cmdline,
        .initrd_path = ms->initrd_path,
        .e820 = e820,
        .e820_nr = machine_e820_table(ms, e820, G_N_ELEMENTS(e820)),
    };
    BootCpuState cpu;

    if (!ms->kernel_path) {
        if (!ms->accel->has_vcpus) {
            return true;    /* qtest drives the machine without a guest */
        }
        error_setg(errp, "-kernel: no kernel given (kvmini boots a PVH ELF "
                   "or bzImage given with -kernel FILE)");
        return false;
    }
    if (!load_kernel(&ms->address_space_memory, &info, &cpu, errp)) {
        error_prepend(errp, "-kernel %s: ", ms->kernel_path);
        return false;
    }
    return ms->accel->setup_boot_cpu(ms, &cpu, errp);
}

bool machine_reset(MachineState *ms, Error **errp)
{
    bool was_running = !ms->paused;
    bool ok;

    /* vCPUs must be out of the guest before registers change. */
    if (was_running && ms->accel->pause) {
        ms->accel->pause(ms);
    }
    g_mutex_lock(&ms->lock);
    ok = !ms->accel->reset || ms->accel->reset(ms, errp);
    if (ok) {
        qdev_reset_all(ms);
        ok = machine_load_kernel(ms, errp);
    }
    g_mutex_unlock(&ms->lock);
    if (was_running && ms->accel->resume) {
        ms->accel->resume(ms);
    }
    return ok;
}
