/* SPDX-License-Identifier: MIT */
/*
 * The accelerators kvmini has (AccelOps in hw/boards.h): KVM
 * (accel/kvm) and qtest (accel/qtest).  Only the composition root picks
 * one (system/vl.c by the -accel name, machine_new()'s default); the rest
 * of kvmini asks the AccelOps a machine holds for what it can do
 * (has_vcpus, save_state, ...) instead of comparing with these.
 */
#ifndef SYSEMU_ACCEL_H
#define SYSEMU_ACCEL_H

#include "hw/boards.h"

extern const AccelOps kvm_accel_ops;
extern const AccelOps qtest_accel_ops;

/* KVM runs the machine's guest (QMP query-kvm "enabled"). */
static inline bool kvm_enabled(const MachineState *ms)
{
    return ms->accel == &kvm_accel_ops;
}

#endif
