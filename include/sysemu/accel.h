/* SPDX-License-Identifier: MIT */
/*
 * The accelerators kvmini has (AccelOps in hw/boards.h): KVM
 * (accel/kvm, kvm_accel_ops in sysemu/kvm.h) and qtest (accel/qtest,
 * qtest_accel_ops in sysemu/qtest.h), gathered for the code that picks
 * one: only the composition root does (system/vl.c by the -accel name,
 * machine_new()'s default).  The rest of kvmini asks the AccelOps a
 * machine holds for what it can do (has_vcpus, save_state, ...) instead
 * of comparing with these.
 */
#ifndef SYSEMU_ACCEL_H
#define SYSEMU_ACCEL_H

#include "hw/boards.h"
#include "sysemu/kvm.h"         /* kvm_accel_ops */
#include "sysemu/qtest.h"       /* qtest_accel_ops */

/* KVM runs the machine's guest (QMP query-kvm "enabled"). */
static inline bool kvm_enabled(const MachineState *ms)
{
    return ms->accel == &kvm_accel_ops;
}

#endif
