/* SPDX-License-Identifier: MIT */
/*
 * The guest's ways to end the VM:
 *  - isa-debug-exit at port 0xf4 (4 bytes): writing v exits kvmini with
 *    status (v << 1) | 1, as QEMU's isa-debug-exit;
 *  - the i8042 "pulse reset line" command (0xfe written to port 0x64):
 *    kvmini has no firmware to reboot into, so, as Firecracker does, it
 *    powers off and exits with status 0.  Port 0x64 reads 0 (controller
 *    idle) so a guest waiting for the input buffer to drain never spins.
 */
#ifndef HW_CORE_DEBUG_EXIT_H
#define HW_CORE_DEBUG_EXIT_H

#include "hw/boards.h"

void debug_exit_init(MachineState *ms);
void debug_exit_cleanup(MachineState *ms);

#endif
