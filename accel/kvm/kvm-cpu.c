/* SPDX-License-Identifier: MIT */
/*
 * KVM vCPUs: creation with CPUID, the boot register state, one thread per
 * vCPU running KVM_RUN and dispatching port and MMIO exits through the
 * machine's address spaces with the machine lock held.
 *
 * Stopping: the main thread sets `stopping`, sets immediate_exit in each
 * kvm_run and sends SIGUSR1; whether the signal lands before or inside
 * KVM_RUN, the vCPU returns with EINTR and sees the flag.
 *
 * Pausing (QMP stop) uses the same kick after setting pause_requested
 * under pause_lock; a kicked vCPU parks on pause_cond until resumed.
 */
#include "kvm-internal.h"
#include "qemu/log.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#define KVM_MAX_CPUID_ENTRIES 256
#define CR0_PE 0x1ULL
#define CR0_ET 0x10ULL
#define CR0_NE 0x20ULL
#define CR0_PG 0x80000000ULL
#define CR4_PAE 0x20ULL
#define EFER_LME 0x100ULL
#define EFER_LMA 0x400ULL

static int vcpu_ioctl(KVMCPU *cpu, unsigned long req, void *arg)
{
    int r;

    do {
        r = ioctl(cpu->fd, req, arg);
    } while (r < 0 && errno == EINTR);
    return r < 0 ? -errno : r;
}

static bool kvm_get_supported_cpuid(KVMState *s, Error **errp)
{
    size_t sz = sizeof(struct kvm_cpuid2) +
                KVM_MAX_CPUID_ENTRIES * sizeof(struct kvm_cpuid_entry2);

    s->cpuid = g_malloc0(sz);
    s->cpuid->nent = KVM_MAX_CPUID_ENTRIES;
    if (ioctl(s->fd, KVM_GET_SUPPORTED_CPUID, s->cpuid) < 0) {
        error_setg_errno(errp, errno, "KVM_GET_SUPPORTED_CPUID");
        return false;
    }
    return true;
}

/* CPUID for vCPU index: the supported set with its APIC ID filled in. */
static bool kvm_cpu_set_cpuid(KVMCPU *cpu, Error **errp)
{
    struct kvm_cpuid2 *src = cpu->kvm->cpuid;
    size_t sz = sizeof(*src) + src->nent * sizeof(src->entries[0]);
    g_autofree struct kvm_cpuid2 *c = g_memdup2(src, sz);
    int r;

    for (unsigned i = 0; i < c->nent; i++) {
        struct kvm_cpuid_entry2 *e = &c->entries[i];

        if (e->function == 1) {
            e->ebx = (e->ebx & 0x00ffffff) | (cpu->index << 24);
            e->ecx |= 1u << 31;     /* hypervisor present */
        } else if (e->function == 0xb || e->function == 0x1f) {
            e->edx = cpu->index;    /* x2APIC ID */
        }
    }
    r = vcpu_ioctl(cpu, KVM_SET_CPUID2, c);
    if (r < 0) {
        error_setg_errno(errp, -r, "KVM_SET_CPUID2 (vCPU %u)", cpu->index);
        return false;
    }
    return true;
}

static bool kvm_cpu_create(KVMState *s, KVMCPU *cpu, unsigned index,
                           Error **errp)
{
    cpu->kvm = s;
    cpu->index = index;
    cpu->fd = ioctl(s->vm_fd, KVM_CREATE_VCPU, (unsigned long)index);
    if (cpu->fd < 0) {
        error_setg_errno(errp, errno, "KVM_CREATE_VCPU %u", index);
        return false;
    }
    /* KVM vCPU fds are created O_CLOEXEC by the kernel (anon inode). */
    cpu->run = mmap(NULL, s->vcpu_mmap_size, PROT_READ | PROT_WRITE,
                    MAP_SHARED, cpu->fd, 0);
    if (cpu->run == MAP_FAILED) {
        cpu->run = NULL;
        error_setg_errno(errp, errno, "mmap of kvm_run (vCPU %u)", index);
        return false;
    }
    cpu->run_size = s->vcpu_mmap_size;
    return kvm_cpu_set_cpuid(cpu, errp);
}

static void kvm_sigusr1(int sig)
{
    /* Only there to make KVM_RUN return with EINTR. */
}

bool kvm_cpus_create(KVMState *s, unsigned n, Error **errp)
{
    struct sigaction sa = { .sa_handler = kvm_sigusr1 };

    sigaction(SIGUSR1, &sa, NULL);
    if (!kvm_get_supported_cpuid(s, errp)) {
        return false;
    }
    s->cpus = g_new0(KVMCPU, n);
    for (unsigned i = 0; i < n; i++) {
        s->cpus[i].fd = -1;
    }
    s->ncpus = n;
    for (unsigned i = 0; i < n; i++) {
        if (!kvm_cpu_create(s, &s->cpus[i], i, errp)) {
            return false;
        }
    }
    return true;
}

static void set_segment(struct kvm_segment *seg, uint16_t sel, uint8_t type,
                        bool code64)
{
    *seg = (struct kvm_segment){
        .base = 0, .limit = 0xffffffff, .selector = sel, .type = type,
        .present = 1, .dpl = 0, .db = code64 ? 0 : 1, .s = 1,
        .l = code64 ? 1 : 0, .g = 1,
    };
}

static void boot_sregs(struct kvm_sregs *sr, const BootCpuState *boot)
{
    bool lm = boot->mode == BOOT_CPU_LINUX64;
    struct kvm_segment data;

    set_segment(&sr->cs, lm ? 0x10 : 0x08, 0xb, lm);
    set_segment(&data, lm ? 0x18 : 0x10, 0x3, false);
    sr->ds = sr->es = sr->fs = sr->gs = sr->ss = data;
    sr->cr0 = CR0_PE | CR0_ET | (lm ? CR0_PG | CR0_NE : 0);
    sr->cr4 = lm ? CR4_PAE : 0;
    sr->cr3 = lm ? boot->cr3 : 0;
    sr->efer = lm ? EFER_LME | EFER_LMA : 0;
    if (lm) {
        sr->gdt.base = boot->gdt_base;
        sr->gdt.limit = boot->gdt_limit;
    }
}

/* A vCPU set to its boot state again (system_reset) may have been
 * halted or had an event in flight: make it runnable, drop the event. */
static int kvm_cpu_reset_events(KVMCPU *cpu)
{
    struct kvm_mp_state mp = { .mp_state = KVM_MP_STATE_RUNNABLE };
    struct kvm_vcpu_events ev;
    int r = vcpu_ioctl(cpu, KVM_SET_MP_STATE, &mp);

    memset(&ev, 0, sizeof(ev));
    return r ? r : vcpu_ioctl(cpu, KVM_SET_VCPU_EVENTS, &ev);
}

bool kvm_cpu_set_boot_state(KVMCPU *cpu, const BootCpuState *boot,
                            Error **errp)
{
    struct kvm_sregs sr;
    struct kvm_regs regs = { .rflags = 0x2, .rip = boot->rip,
                             .rbx = boot->rbx, .rsi = boot->rsi };
    int r = kvm_cpu_reset_events(cpu);

    if (r == 0) {
        r = vcpu_ioctl(cpu, KVM_GET_SREGS, &sr);
    }
    if (r == 0) {
        boot_sregs(&sr, boot);
        r = vcpu_ioctl(cpu, KVM_SET_SREGS, &sr);
    }
    if (r == 0) {
        r = vcpu_ioctl(cpu, KVM_SET_REGS, &regs);
    }
    if (r < 0) {
        error_setg_errno(errp, -r, "setting boot registers of vCPU %u",
                         cpu->index);
        return false;
    }
    return true;
}

/* --- exits ------------------------------------------------------------- */

static void kvm_handle_io(KVMCPU *cpu)
{
    struct kvm_run *run = cpu->run;
    uint8_t *data = (uint8_t *)run + run->io.data_offset;
    MachineState *ms = cpu->kvm->ms;

    g_mutex_lock(&ms->lock);
    for (uint32_t i = 0; i < run->io.count; i++) {
        address_space_rw(&ms->address_space_io, run->io.port, data,
                         run->io.size, run->io.direction == KVM_EXIT_IO_OUT);
        data += run->io.size;
    }
    g_mutex_unlock(&ms->lock);
}

static void kvm_handle_mmio(KVMCPU *cpu)
{
    struct kvm_run *run = cpu->run;
    MachineState *ms = cpu->kvm->ms;

    g_mutex_lock(&ms->lock);
    address_space_rw(&ms->address_space_memory, run->mmio.phys_addr,
                     run->mmio.data, run->mmio.len, run->mmio.is_write);
    g_mutex_unlock(&ms->lock);
}

/* Returns false when the vCPU must stop. */
static bool kvm_handle_exit(KVMCPU *cpu)
{
    struct kvm_run *run = cpu->run;
    MachineState *ms = cpu->kvm->ms;

    __atomic_add_fetch(&cpu->kvm->exits, 1, __ATOMIC_RELAXED);
    switch (run->exit_reason) {
    case KVM_EXIT_IO:
        __atomic_add_fetch(&cpu->kvm->io_exits, 1, __ATOMIC_RELAXED);
        kvm_handle_io(cpu);
        return true;
    case KVM_EXIT_MMIO:
        __atomic_add_fetch(&cpu->kvm->mmio_exits, 1, __ATOMIC_RELAXED);
        kvm_handle_mmio(cpu);
        return true;
    case KVM_EXIT_INTR:
        return true;
    case KVM_EXIT_SHUTDOWN:
        error_report("vCPU %u: guest triple fault (shutdown); stopping",
                     cpu->index);
        machine_request_shutdown(ms, 1);
        return false;
    case KVM_EXIT_FAIL_ENTRY:
        error_report("vCPU %u: KVM entry failed, hardware reason 0x%llx",
                     cpu->index, (unsigned long long)
                     run->fail_entry.hardware_entry_failure_reason);
        machine_request_shutdown(ms, 1);
        return false;
    case KVM_EXIT_INTERNAL_ERROR:
        error_report("vCPU %u: KVM internal error, suberror %u", cpu->index,
                     run->internal.suberror);
        machine_request_shutdown(ms, 1);
        return false;
    default:
        error_report("vCPU %u: unhandled KVM exit reason %u", cpu->index,
                     run->exit_reason);
        machine_request_shutdown(ms, 1);
        return false;
    }
}

/* KVM_RUN was interrupted (a kick): park while a pause is requested,
 * then clear immediate_exit.  Clearing it under pause_lock, before the
 * caller re-checks `stopping`, cannot lose a kick: pause sets
 * pause_requested under the lock before it sets immediate_exit, and stop
 * sets `stopping` before immediate_exit. */
static void kvm_cpu_kicked(KVMCPU *cpu)
{
    KVMState *s = cpu->kvm;

    g_mutex_lock(&s->pause_lock);
    while (s->pause_requested && !g_atomic_int_get(&s->stopping)) {
        if (!cpu->paused) {
            cpu->paused = true;
            g_cond_broadcast(&s->pause_cond);
        }
        g_cond_wait(&s->pause_cond, &s->pause_lock);
    }
    cpu->paused = false;
    if (!g_atomic_int_get(&s->stopping)) {
        __atomic_store_n(&cpu->run->immediate_exit, 0, __ATOMIC_SEQ_CST);
    }
    g_mutex_unlock(&s->pause_lock);
}

static void kvm_cpu_exited(KVMCPU *cpu)
{
    KVMState *s = cpu->kvm;

    g_mutex_lock(&s->pause_lock);
    cpu->exited = true;
    g_cond_broadcast(&s->pause_cond);
    g_mutex_unlock(&s->pause_lock);
}

static void *kvm_cpu_thread(void *opaque)
{
    KVMCPU *cpu = opaque;
    KVMState *s = cpu->kvm;

    kvm_cpu_kicked(cpu);    /* paused before this thread started */
    while (!g_atomic_int_get(&s->stopping)) {
        int r = ioctl(cpu->fd, KVM_RUN, 0);

        if (r < 0 && (errno == EINTR || errno == EAGAIN)) {
            kvm_cpu_kicked(cpu);
            continue;
        }
        if (r < 0) {
            error_report("vCPU %u: KVM_RUN: %s", cpu->index, g_strerror(errno));
            machine_request_shutdown(s->ms, 1);
            break;
        }
        if (!kvm_handle_exit(cpu)) {
            break;
        }
    }
    kvm_cpu_exited(cpu);
    return NULL;
}

bool kvm_cpus_start(KVMState *s, Error **errp)
{
    for (unsigned i = 0; i < s->ncpus; i++) {
        KVMCPU *cpu = &s->cpus[i];
        int r = pthread_create(&cpu->thread, NULL, kvm_cpu_thread, cpu);

        if (r != 0) {
            error_setg_errno(errp, r, "creating vCPU %u thread", i);
            return false;
        }
        cpu->thread_started = true;
    }
    return true;
}

static void kvm_cpu_kick(KVMCPU *cpu)
{
    __atomic_store_n(&cpu->run->immediate_exit, 1, __ATOMIC_SEQ_CST);
    pthread_kill(cpu->thread, SIGUSR1);
}

static bool kvm_cpus_all_parked(KVMState *s)
{
    for (unsigned i = 0; i < s->ncpus; i++) {
        KVMCPU *cpu = &s->cpus[i];

        if (cpu->thread_started && !cpu->paused && !cpu->exited) {
            return false;
        }
    }
    return true;
}

void kvm_cpus_pause(KVMState *s)
{
    g_mutex_lock(&s->pause_lock);
    s->pause_requested = true;
    for (unsigned i = 0; i < s->ncpus; i++) {
        if (s->cpus[i].thread_started && !s->cpus[i].exited) {
            kvm_cpu_kick(&s->cpus[i]);
        }
    }
    while (!kvm_cpus_all_parked(s)) {
        g_cond_wait(&s->pause_cond, &s->pause_lock);
    }
    g_mutex_unlock(&s->pause_lock);
}

void kvm_cpus_resume(KVMState *s)
{
    g_mutex_lock(&s->pause_lock);
    s->pause_requested = false;
    g_cond_broadcast(&s->pause_cond);
    g_mutex_unlock(&s->pause_lock);
}

void kvm_cpus_stop(KVMState *s)
{
    g_atomic_int_set(&s->stopping, 1);
    /* Wake parked vCPUs: they see `stopping` and leave. */
    g_mutex_lock(&s->pause_lock);
    g_cond_broadcast(&s->pause_cond);
    g_mutex_unlock(&s->pause_lock);
    for (unsigned i = 0; i < s->ncpus; i++) {
        KVMCPU *cpu = &s->cpus[i];

        if (!cpu->thread_started) {
            continue;
        }
        kvm_cpu_kick(cpu);
        pthread_join(cpu->thread, NULL);
        cpu->thread_started = false;
    }
}

void kvm_cpus_destroy(KVMState *s)
{
    for (unsigned i = 0; i < s->ncpus; i++) {
        KVMCPU *cpu = &s->cpus[i];

        if (cpu->run) {
            munmap(cpu->run, cpu->run_size);
        }
        if (cpu->fd >= 0) {
            close(cpu->fd);
        }
    }
    g_free(s->cpus);
    s->cpus = NULL;
    s->ncpus = 0;
}
