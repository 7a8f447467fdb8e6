/* SPDX-License-Identifier: MIT */
/*
 * Machine life cycle, called by main(): parse the command line into a
 * MachineState (system/vl.c), build it, run the main loop, tear it down
 * (system/machine-build.c).  This is the composition root: the one layer
 * that knows every subsystem (devices, netdevs, monitors, migration).
 */
#ifndef SYSEMU_SYSEMU_H
#define SYSEMU_SYSEMU_H

#include "hw/boards.h"
#include "sysemu/accel.h"

/* Parse argv into a new machine (not yet built).  Returns NULL with errp
 * set to "<option>: <reason>" on bad input; *exit_now is set (with
 * *exit_status) for -help/-version. */
MachineState *kvmini_parse_args(int argc, char **argv, bool *exit_now,
                                int *exit_status, Error **errp);

/* A machine with defaults (128 MiB, 1 vCPU, KVM, serial on stdio). */
MachineState *machine_new(void);
/* Create objects, chardevs, RAM, accelerator, devices; load the kernel. */
bool machine_build(MachineState *ms, Error **errp);
/* Start the accelerator and run the main loop until shutdown; returns
 * the exit status. */
int machine_run(MachineState *ms);
/* Free everything; safe on a half-built machine. */
void machine_free(MachineState *ms);

/* Pending options in the order given (for machine_build). */
typedef struct MachineOption {
    char *option;       /* "-object", "-chardev", "-device" */
    char *value;
} MachineOption;

#endif
