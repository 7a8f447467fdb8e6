/* SPDX-License-Identifier: MIT */
/*
 * State shared by the files of the KVM accelerator.  Only accel/kvm
 * issues KVM ioctls: the rest of kvmini reaches KVM through the memory
 * API (slots, ioeventfd, dirty log) and the AccelOps in hw/boards.h (irq
 * lines, irqfd, vCPUs), so it has no public header of its own.
 */
#ifndef ACCEL_KVM_INTERNAL_H
#define ACCEL_KVM_INTERNAL_H

#include <pthread.h>
#include <linux/kvm.h>

#include "qemu/compiler.h"
#include "hw/boards.h"

#define KVM_MAX_SLOTS 64

typedef struct KVMSlot {
    bool used;
    uint32_t slot;
    hwaddr gpa;
    uint64_t size;
    void *hva;
    uint32_t flags;
    bool logging;               /* KVM_MEM_LOG_DIRTY_PAGES is on */
    MemoryRegion *mr;           /* RAM region behind it, and the offset */
    hwaddr mr_offset;           /* of gpa in it: the migration bitmap */
} KVMSlot;

typedef struct KVMCPU {
    struct KVMState *kvm;
    unsigned index;
    int fd;
    struct kvm_run *run;
    size_t run_size;
    pthread_t thread;
    bool thread_started;
    bool paused;                /* parked in kvm_cpu_kicked (pause_lock) */
    bool exited;                /* thread function returned (pause_lock) */
} KVMCPU;

typedef struct KVMState {
    MachineState *ms;
    int fd;                     /* /dev/kvm */
    int vm_fd;
    size_t vcpu_mmap_size;
    struct kvm_cpuid2 *cpuid;   /* supported CPUID, adjusted per vCPU */
    struct kvm_msr_list *msr_list;  /* supported MSRs (migration) */
    GByteArray *power_on;       /* vCPU and irqchip state at creation */
    KVMSlot slots[KVM_MAX_SLOTS];
    GMutex slots_lock;          /* slots vs. dirty-log fetch */
    MemoryListener mem_listener;
    MemoryListener io_listener;
    KVMCPU *cpus;
    unsigned ncpus;
    gint stopping;              /* atomic */
    /* QMP stop/cont: vCPUs park on pause_cond while pause_requested. */
    GMutex pause_lock;
    GCond pause_cond;
    bool pause_requested;
    uint64_t exits;             /* atomic: userspace exits */
    uint64_t io_exits;          /* atomic: of which port I/O */
    uint64_t mmio_exits;        /* atomic: of which MMIO */
} KVMState;

/* kvm-cpu.c */
bool kvm_cpus_create(KVMState *s, unsigned n, Error **errp);
bool kvm_cpu_set_boot_state(KVMCPU *cpu, const BootCpuState *boot,
                            Error **errp);
bool kvm_cpus_start(KVMState *s, Error **errp);
void kvm_cpus_stop(KVMState *s);
/* Kick every vCPU out of KVM_RUN and wait until all are parked (or have
 * exited); resume releases them.  Main thread, machine lock not held. */
void kvm_cpus_pause(KVMState *s);
void kvm_cpus_resume(KVMState *s);
void kvm_cpus_destroy(KVMState *s);

/* kvm-state.c: AccelOps save_state / load_state (migration). */
bool kvm_save_state(MachineState *ms, GByteArray *out, Error **errp);
/* system_reset: remember the state of freshly created vCPUs and in-kernel
 * devices (once, before the guest runs), and put it back (vCPUs parked):
 * registers, FPU, MSRs, LAPICs, PICs, IOAPIC, PIT as at power-on,
 * secondary vCPUs waiting for INIT/SIPI again.  The KVM clock runs on. */
bool kvm_power_on_save(KVMState *s, Error **errp);
bool kvm_power_on_restore(MachineState *ms, Error **errp);
bool kvm_load_state(MachineState *ms, const uint8_t *data, size_t len,
                    Error **errp);

#endif
