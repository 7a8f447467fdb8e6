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

/* Dirty pages that KVM logged for guest-physical [start, start+size)
 * since the last call, one bit per 4 KiB page, OR-ed into bitmap
 * (bit i = page start + i * 4096), and cleared in KVM's accumulated log.
 * Fetches fresh bits from KVM first (KVM_GET_DIRTY_LOG on each slot).
 * Only RAM whose region has dirty logging enabled is tracked.  Returns
 * the number of dirty pages found. */
uint64_t kvm_dirty_log_take(MachineState *ms, hwaddr start, uint64_t size,
                            unsigned long *bitmap);

/* Number of KVM exits handled in userspace so far (all vCPUs); useful to
 * check that notifications bypass kvmini. */
uint64_t kvm_userspace_exit_count(MachineState *ms);

#endif
