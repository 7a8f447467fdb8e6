/* SPDX-License-Identifier: MIT */
/*
 * Booting the machine's guest: the kernel given with -kernel loaded into
 * guest RAM with the machine's command line and memory map, the boot
 * vCPU set up to enter it; and system_reset, which puts the vCPUs and
 * every device back to their power-on state and boots again.
 */
#ifndef HW_CORE_BOOT_H
#define HW_CORE_BOOT_H

#include "hw/boards.h"

/* Load ms->kernel_path (PVH ELF or bzImage, with -initrd and the
 * command line of machine_build_cmdline()) and set the boot vCPU's
 * registers (AccelOps.setup_boot_cpu).  Without -kernel: nothing to do
 * for an accelerator without vCPUs (qtest), else an error.  Errors name
 * the kernel ("-kernel FILE: ..."). */
bool machine_load_kernel(MachineState *ms, Error **errp);

/* system_reset: the vCPUs and interrupt controllers to their power-on
 * state (AccelOps.reset), every device reset (qdev reset hooks), the
 * kernel loaded again and the boot vCPU's registers set (RAM is not
 * cleared, as on QEMU).  Pauses running vCPUs around it.  Main loop,
 * machine lock not held. */
bool machine_reset(MachineState *ms, Error **errp);

#endif
