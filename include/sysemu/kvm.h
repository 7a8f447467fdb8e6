/* SPDX-License-Identifier: MIT */
/*
 * The KVM accelerator.  Only accel/kvm issues KVM ioctls: the rest of
 * kvmini reaches KVM through the memory API (slots, ioeventfd, dirty log)
 * and the AccelOps in hw/boards.h (irq lines, irqfd, vCPUs).
 */
#ifndef SYSEMU_KVM_H
#define SYSEMU_KVM_H

#include "hw/boards.h"

/* The accelerator (picked by name in system/vl.c; sysemu/accel.h). */
extern const AccelOps kvm_accel_ops;

#endif
