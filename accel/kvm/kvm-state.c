/* SPDX-License-Identifier: MIT */
/*
 * KVM state for migration (AccelOps save_state / load_state): the VM's
 * in-kernel devices (PIT, both PICs, IOAPIC, clock) and, per vCPU,
 * general and segment registers, FPU/XSAVE and XCRs, the MSRs a small
 * guest uses, multiprocessing state, LAPIC, pending events, debug
 * registers.
 *
 * Format: a sequence of records (be32 tag, be32 vCPU index, be32 length,
 * then the kernel structure as KVM returned it).  Both sides run the same
 * KVM ABI, so a structure is copied as is and its length checked.
 * Records are written in the order they must be loaded (QEMU's order:
 * registers before sregs and MSRs, the LAPIC after mp_state, the
 * TSC-deadline MSR after the LAPIC, events last, the clock at the end).
 * The vCPUs are parked outside KVM_RUN whenever these run; a parked vCPU
 * has no userspace I/O half done (KVM completes it before honouring the
 * kick), so its state is consistent.
 */
#include "kvm-internal.h"
#include "migration/stream.h"

#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <sys/ioctl.h>

enum {
    REC_PIT = 1, REC_PIC_MASTER, REC_PIC_SLAVE, REC_IOAPIC,
    REC_REGS = 10, REC_XSAVE, REC_XCRS, REC_SREGS, REC_MSRS, REC_MP_STATE,
    REC_LAPIC, REC_MSRS_LATE, REC_EVENTS, REC_DEBUGREGS,
    REC_CLOCK = 30,
};

#define MSR_IA32_TSC            0x10
#define MSR_IA32_TSC_ADJUST     0x3b
#define MSR_IA32_SYSENTER_CS    0x174
#define MSR_IA32_SYSENTER_ESP   0x175
#define MSR_IA32_SYSENTER_EIP   0x176
#define MSR_IA32_MISC_ENABLE    0x1a0
#define MSR_IA32_CR_PAT         0x277
#define MSR_IA32_TSC_DEADLINE   0x6e0
#define MSR_STAR                0xc0000081
#define MSR_LSTAR               0xc0000082
#define MSR_CSTAR               0xc0000083
#define MSR_FMASK               0xc0000084
#define MSR_KERNEL_GS_BASE      0xc0000102
#define MSR_TSC_AUX             0xc0000103
#define MAX_MSRS                16

static const uint32_t msrs_early[] = {
    MSR_IA32_SYSENTER_CS, MSR_IA32_SYSENTER_ESP, MSR_IA32_SYSENTER_EIP,
    MSR_IA32_MISC_ENABLE, MSR_IA32_CR_PAT, MSR_STAR, MSR_LSTAR, MSR_CSTAR,
    MSR_FMASK, MSR_KERNEL_GS_BASE, MSR_TSC_AUX, MSR_IA32_TSC,
    MSR_IA32_TSC_ADJUST,
};
static const uint32_t msrs_late[] = { MSR_IA32_TSC_DEADLINE };

/* struct kvm_msrs ends in a flexible array: room for MAX_MSRS entries
 * behind it, without a struct member after one (a GNU extension). */
typedef union MsrBuf {
    struct kvm_msrs hdr;
    uint8_t room[sizeof(struct kvm_msrs) +
                 MAX_MSRS * sizeof(struct kvm_msr_entry)];
} MsrBuf;

static int do_ioctl(int fd, unsigned long req, void *arg)
{
    int r;

    do {
        r = ioctl(fd, req, arg);
    } while (r < 0 && errno == EINTR);
    return r < 0 ? -errno : r;
}

static void put_rec(GByteArray *out, uint32_t tag, uint32_t index,
                    const void *p, size_t len)
{
    mig_put_be32(out, tag);
    mig_put_be32(out, index);
    mig_put_be32(out, len);
    mig_put_bytes(out, p, len);
}

/* ioctl(fd, get, buf) and a record of len bytes of buf. */
static bool save_one(GByteArray *out, int fd, unsigned long get,
                     uint32_t tag, uint32_t index, void *buf, size_t len,
                     const char *name, Error **errp)
{
    int r = do_ioctl(fd, get, buf);

    if (r < 0) {
        error_setg_errno(errp, -r, "%s (vCPU %u)", name, index);
        return false;
    }
    put_rec(out, tag, index, buf, len);
    return true;
}

/* The MSRs of list that KVM knows, with their values. */
static bool save_msrs(KVMState *s, KVMCPU *cpu, GByteArray *out, uint32_t tag,
                      const uint32_t *list, size_t n, Error **errp)
{
    MsrBuf b = { 0 };
    int r;

    for (size_t i = 0; i < n; i++) {
        for (uint32_t j = 0; j < s->msr_list->nmsrs; j++) {
            if (s->msr_list->indices[j] == list[i]) {
                b.hdr.entries[b.hdr.nmsrs++].index = list[i];
                break;
            }
        }
    }
    r = do_ioctl(cpu->fd, KVM_GET_MSRS, &b);
    if (r < 0 || (uint32_t)r != b.hdr.nmsrs) {
        error_setg_errno(errp, r < 0 ? -r : EIO, "KVM_GET_MSRS (vCPU %u)",
                         cpu->index);
        return false;
    }
    put_rec(out, tag, cpu->index, &b,
            sizeof(b.hdr) + b.hdr.nmsrs * sizeof(b.hdr.entries[0]));
    return true;
}

static bool save_cpu(KVMState *s, KVMCPU *cpu, GByteArray *out, Error **errp)
{
    struct kvm_regs regs;
    struct kvm_xsave xsave;
    struct kvm_xcrs xcrs;
    struct kvm_sregs sregs;
    struct kvm_mp_state mp;
    struct kvm_lapic_state lapic;
    struct kvm_vcpu_events ev;
    struct kvm_debugregs dbg;
    int fd = cpu->fd;
    unsigned i = cpu->index;

    return save_one(out, fd, KVM_GET_REGS, REC_REGS, i, &regs, sizeof(regs),
                    "KVM_GET_REGS", errp) &&
           save_one(out, fd, KVM_GET_XSAVE, REC_XSAVE, i, &xsave,
                    sizeof(xsave), "KVM_GET_XSAVE", errp) &&
           save_one(out, fd, KVM_GET_XCRS, REC_XCRS, i, &xcrs, sizeof(xcrs),
                    "KVM_GET_XCRS", errp) &&
           save_one(out, fd, KVM_GET_SREGS, REC_SREGS, i, &sregs,
                    sizeof(sregs), "KVM_GET_SREGS", errp) &&
           save_msrs(s, cpu, out, REC_MSRS, msrs_early,
                     G_N_ELEMENTS(msrs_early), errp) &&
           save_one(out, fd, KVM_GET_MP_STATE, REC_MP_STATE, i, &mp,
                    sizeof(mp), "KVM_GET_MP_STATE", errp) &&
           save_one(out, fd, KVM_GET_LAPIC, REC_LAPIC, i, &lapic,
                    sizeof(lapic), "KVM_GET_LAPIC", errp) &&
           save_msrs(s, cpu, out, REC_MSRS_LATE, msrs_late,
                     G_N_ELEMENTS(msrs_late), errp) &&
           save_one(out, fd, KVM_GET_VCPU_EVENTS, REC_EVENTS, i, &ev,
                    sizeof(ev), "KVM_GET_VCPU_EVENTS", errp) &&
           save_one(out, fd, KVM_GET_DEBUGREGS, REC_DEBUGREGS, i, &dbg,
                    sizeof(dbg), "KVM_GET_DEBUGREGS", errp);
}

static bool save_irqchip(KVMState *s, GByteArray *out, uint32_t tag,
                         uint32_t chip, Error **errp)
{
    struct kvm_irqchip c = { .chip_id = chip };

    return save_one(out, s->vm_fd, KVM_GET_IRQCHIP, tag, 0, &c, sizeof(c),
                    "KVM_GET_IRQCHIP", errp);
}

static bool save_vm(KVMState *s, GByteArray *out, Error **errp)
{
    struct kvm_pit_state2 pit;

    if (s->ms->pit &&
        !save_one(out, s->vm_fd, KVM_GET_PIT2, REC_PIT, 0, &pit, sizeof(pit),
                  "KVM_GET_PIT2", errp)) {
        return false;
    }
    return save_irqchip(s, out, REC_PIC_MASTER, KVM_IRQCHIP_PIC_MASTER,
                        errp) &&
           save_irqchip(s, out, REC_PIC_SLAVE, KVM_IRQCHIP_PIC_SLAVE, errp) &&
           save_irqchip(s, out, REC_IOAPIC, KVM_IRQCHIP_IOAPIC, errp);
}

/* The MSR indices KVM supports, fetched once. */
static bool kvm_msr_list(KVMState *s, Error **errp)
{
    struct kvm_msr_list probe = { .nmsrs = 0 };
    int r;

    if (s->msr_list) {
        return true;
    }
    do_ioctl(s->fd, KVM_GET_MSR_INDEX_LIST, &probe);   /* E2BIG, sets n */
    s->msr_list = g_malloc0(sizeof(*s->msr_list) +
                            probe.nmsrs * sizeof(uint32_t));
    s->msr_list->nmsrs = probe.nmsrs;
    r = do_ioctl(s->fd, KVM_GET_MSR_INDEX_LIST, s->msr_list);
    if (r < 0) {
        error_setg_errno(errp, -r, "KVM_GET_MSR_INDEX_LIST");
        g_clear_pointer(&s->msr_list, g_free);
        return false;
    }
    return true;
}

/* Everything, the clock (a running guest's time) only if with_clock. */
static bool save_all(KVMState *s, GByteArray *out, bool with_clock,
                     Error **errp)
{
    struct kvm_clock_data clock = { 0 };

    if (!kvm_msr_list(s, errp) || !save_vm(s, out, errp)) {
        return false;
    }
    for (unsigned i = 0; i < s->ncpus; i++) {
        if (!save_cpu(s, &s->cpus[i], out, errp)) {
            return false;
        }
    }
    return !with_clock ||
           save_one(out, s->vm_fd, KVM_GET_CLOCK, REC_CLOCK, 0, &clock,
                    sizeof(clock), "KVM_GET_CLOCK", errp);
}

bool kvm_save_state(MachineState *ms, GByteArray *out, Error **errp)
{
    return save_all(ms->accel_state, out, true, errp);
}

bool kvm_power_on_save(KVMState *s, Error **errp)
{
    s->power_on = g_byte_array_new();
    if (!save_all(s, s->power_on, false, errp)) {
        error_prepend(errp, "recording the power-on state: ");
        return false;
    }
    return true;
}

/* --- load ---------------------------------------------------------------- */

typedef struct LoadOp {
    uint32_t tag;
    bool vcpu;                  /* ioctl on the vCPU, else on the VM */
    unsigned long set;
    size_t size;                /* 0: variable (MSRs) */
    const char *name;
} LoadOp;

static const LoadOp load_ops[] = {
    { REC_PIT, false, KVM_SET_PIT2, sizeof(struct kvm_pit_state2),
      "KVM_SET_PIT2" },
    { REC_PIC_MASTER, false, KVM_SET_IRQCHIP, sizeof(struct kvm_irqchip),
      "KVM_SET_IRQCHIP (PIC master)" },
    { REC_PIC_SLAVE, false, KVM_SET_IRQCHIP, sizeof(struct kvm_irqchip),
      "KVM_SET_IRQCHIP (PIC slave)" },
    { REC_IOAPIC, false, KVM_SET_IRQCHIP, sizeof(struct kvm_irqchip),
      "KVM_SET_IRQCHIP (IOAPIC)" },
    { REC_REGS, true, KVM_SET_REGS, sizeof(struct kvm_regs),
      "KVM_SET_REGS" },
    { REC_XSAVE, true, KVM_SET_XSAVE, sizeof(struct kvm_xsave),
      "KVM_SET_XSAVE" },
    { REC_XCRS, true, KVM_SET_XCRS, sizeof(struct kvm_xcrs),
      "KVM_SET_XCRS" },
    { REC_SREGS, true, KVM_SET_SREGS, sizeof(struct kvm_sregs),
      "KVM_SET_SREGS" },
    { REC_MSRS, true, KVM_SET_MSRS, 0, "KVM_SET_MSRS" },
    { REC_MP_STATE, true, KVM_SET_MP_STATE, sizeof(struct kvm_mp_state),
      "KVM_SET_MP_STATE" },
    { REC_LAPIC, true, KVM_SET_LAPIC, sizeof(struct kvm_lapic_state),
      "KVM_SET_LAPIC" },
    { REC_MSRS_LATE, true, KVM_SET_MSRS, 0, "KVM_SET_MSRS" },
    { REC_EVENTS, true, KVM_SET_VCPU_EVENTS, sizeof(struct kvm_vcpu_events),
      "KVM_SET_VCPU_EVENTS" },
    { REC_DEBUGREGS, true, KVM_SET_DEBUGREGS, sizeof(struct kvm_debugregs),
      "KVM_SET_DEBUGREGS" },
    { REC_CLOCK, false, KVM_SET_CLOCK, sizeof(struct kvm_clock_data),
      "KVM_SET_CLOCK" },
};

static const LoadOp *load_op(uint32_t tag)
{
    for (size_t i = 0; i < G_N_ELEMENTS(load_ops); i++) {
        if (load_ops[i].tag == tag) {
            return &load_ops[i];
        }
    }
    return NULL;
}

static bool check_len(const LoadOp *op, const uint8_t *p, uint32_t len,
                      Error **errp)
{
    uint32_t nmsrs = 0;

    /* The record sits unaligned in the stream: copy the count out. */
    if (!op->size && len >= sizeof(struct kvm_msrs)) {
        memcpy(&nmsrs, p + offsetof(struct kvm_msrs, nmsrs), sizeof(nmsrs));
    }
    if (op->size ? len == op->size
                 : len >= sizeof(struct kvm_msrs) && nmsrs <= MAX_MSRS &&
                   len == sizeof(struct kvm_msrs) +
                          nmsrs * sizeof(struct kvm_msr_entry)) {
        return true;
    }
    error_setg(errp, "%s: record of %u bytes does not match this KVM",
               op->name, len);
    return false;
}

/* A copy of the record adjusted for the SET ioctl. */
static void fixup(uint32_t tag, uint8_t *buf)
{
    if (tag == REC_EVENTS) {
        struct kvm_vcpu_events *ev = (void *)buf;

        ev->flags |= KVM_VCPUEVENT_VALID_NMI_PENDING |
                     KVM_VCPUEVENT_VALID_SIPI_VECTOR;
    } else if (tag == REC_CLOCK) {
        struct kvm_clock_data *c = (void *)buf;

        c->flags = 0;       /* only the clock value is set */
    }
}

static bool load_rec(KVMState *s, uint32_t tag, uint32_t index,
                     const uint8_t *p, uint32_t len, Error **errp)
{
    const LoadOp *op = load_op(tag);
    g_autofree uint8_t *buf = NULL;
    int fd, r;

    if (!op) {
        error_setg(errp, "unknown KVM state record %u", tag);
        return false;
    }
    if (op->vcpu && index >= s->ncpus) {
        error_setg(errp, "%s: no vCPU %u here", op->name, index);
        return false;
    }
    if (tag == REC_PIT && !s->ms->pit) {
        error_setg(errp, "the source has an i8254 PIT, this machine has "
                   "none (-machine pit=on)");
        return false;
    }
    if (!check_len(op, p, len, errp)) {
        return false;
    }
    buf = g_memdup2(p, len);
    fixup(tag, buf);
    fd = op->vcpu ? s->cpus[index].fd : s->vm_fd;
    r = do_ioctl(fd, op->set, buf);
    if (r < 0 || (op->set == KVM_SET_MSRS &&
                  (uint32_t)r != ((struct kvm_msrs *)buf)->nmsrs)) {
        error_setg_errno(errp, r < 0 ? -r : EINVAL, "%s (vCPU %u)",
                         op->name, index);
        return false;
    }
    return true;
}

bool kvm_load_state(MachineState *ms, const uint8_t *data, size_t len,
                    Error **errp)
{
    KVMState *s = ms->accel_state;
    MigReader r;

    mig_reader_init(&r, data, len);
    while (r.pos < r.len && !r.error) {
        uint32_t tag = mig_get_be32(&r);
        uint32_t index = mig_get_be32(&r);
        uint32_t n = mig_get_be32(&r);
        const uint8_t *p = mig_get_bytes(&r, n);

        if (p && !load_rec(s, tag, index, p, n, errp)) {
            return false;
        }
    }
    return mig_reader_check(&r, "KVM state", errp);
}

bool kvm_power_on_restore(MachineState *ms, Error **errp)
{
    KVMState *s = ms->accel_state;

    if (!kvm_load_state(ms, s->power_on->data, s->power_on->len, errp)) {
        error_prepend(errp, "restoring the power-on state: ");
        return false;
    }
    return true;
}
