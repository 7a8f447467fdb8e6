/* SPDX-License-Identifier: MIT */
/*
 * KVM accelerator: the VM, the in-kernel irqchip and PIT, memory slots
 * that follow the guest address space, ioeventfd and irqfd, dirty logging.
 * vCPUs live in kvm-cpu.c.
 */
#include "kvm-internal.h"
#include "qemu/log.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#define KVM_TSS_ADDR          0xfffbd000ULL  /* 3 pages in the 32-bit hole */
#define KVM_IDENTITY_MAP_ADDR 0xfffbc000ULL
#define PAGE_SHIFT            12

static KVMState *kvm_state(MachineState *ms)
{
    return ms->accel_state;
}

static int kvm_ioctl(int fd, unsigned long req, void *arg)
{
    int r;

    do {
        r = ioctl(fd, req, arg);
    } while (r < 0 && (errno == EINTR || errno == EAGAIN));
    return r < 0 ? -errno : r;
}

/* A failure KVM gives no way to recover from: stop the machine. */
static void kvm_fatal(KVMState *s, const char *what, int err)
{
    error_report("KVM: %s: %s", what, g_strerror(-err));
    machine_request_shutdown(s->ms, 1);
}

/* --- memory slots ------------------------------------------------------ */

static KVMSlot *kvm_slot_find(KVMState *s, hwaddr gpa, uint64_t size)
{
    for (unsigned i = 0; i < KVM_MAX_SLOTS; i++) {
        KVMSlot *slot = &s->slots[i];

        if (slot->used && slot->gpa == gpa && slot->size == size) {
            return slot;
        }
    }
    return NULL;
}

static KVMSlot *kvm_slot_alloc(KVMState *s)
{
    for (unsigned i = 0; i < KVM_MAX_SLOTS; i++) {
        if (!s->slots[i].used) {
            s->slots[i].slot = i;
            return &s->slots[i];
        }
    }
    return NULL;
}

static int kvm_slot_commit(KVMState *s, KVMSlot *slot, uint64_t size)
{
    struct kvm_userspace_memory_region r = {
        .slot = slot->slot,
        .flags = slot->flags,
        .guest_phys_addr = slot->gpa,
        .memory_size = size,
        .userspace_addr = (uintptr_t)slot->hva,
    };

    return kvm_ioctl(s->vm_fd, KVM_SET_USER_MEMORY_REGION, &r);
}

static uint32_t kvm_section_flags(MemoryRegionSection *sec)
{
    uint32_t flags = 0;

    if (sec->readonly || sec->mr->readonly) {
        flags |= KVM_MEM_READONLY;
    }
    if (sec->mr->dirty_log_mask) {
        flags |= KVM_MEM_LOG_DIRTY_PAGES;
    }
    return flags;
}

static size_t dirty_bitmap_longs(uint64_t size)
{
    uint64_t pages = size >> PAGE_SHIFT;

    return (pages + 63) / 64;
}

static void kvm_region_add(MemoryListener *l, MemoryRegionSection *sec)
{
    KVMState *s = container_of(l, KVMState, mem_listener);
    KVMSlot *slot;
    int r;

    if (!memory_region_is_ram(sec->mr)) {
        return;
    }
    g_mutex_lock(&s->slots_lock);
    slot = kvm_slot_alloc(s);
    if (!slot) {
        g_mutex_unlock(&s->slots_lock);
        kvm_fatal(s, "out of memory slots", -ENOSPC);
        return;
    }
    slot->gpa = sec->offset_within_address_space;
    slot->size = sec->size;
    slot->hva = (uint8_t *)memory_region_get_ram_ptr(sec->mr) +
                sec->offset_within_region;
    slot->mr = sec->mr;
    slot->mr_offset = sec->offset_within_region;
    slot->flags = kvm_section_flags(sec);
    slot->logging = slot->flags & KVM_MEM_LOG_DIRTY_PAGES;
    r = kvm_slot_commit(s, slot, slot->size);
    slot->used = r == 0;
    g_mutex_unlock(&s->slots_lock);
    if (r < 0) {
        kvm_fatal(s, "KVM_SET_USER_MEMORY_REGION", r);
    }
}

static void kvm_region_del(MemoryListener *l, MemoryRegionSection *sec)
{
    KVMState *s = container_of(l, KVMState, mem_listener);
    KVMSlot *slot;

    if (!memory_region_is_ram(sec->mr)) {
        return;
    }
    g_mutex_lock(&s->slots_lock);
    slot = kvm_slot_find(s, sec->offset_within_address_space, sec->size);
    if (slot) {
        int r = kvm_slot_commit(s, slot, 0);   /* size 0 deletes the slot */
        memset(slot, 0, sizeof(*slot));
        if (r < 0) {
            kvm_fatal(s, "deleting a memory slot", r);
        }
    }
    g_mutex_unlock(&s->slots_lock);
}

static void kvm_log_change(MemoryListener *l, MemoryRegionSection *sec,
                           bool on)
{
    KVMState *s = container_of(l, KVMState, mem_listener);
    KVMSlot *slot;
    int r = 0;

    g_mutex_lock(&s->slots_lock);
    slot = kvm_slot_find(s, sec->offset_within_address_space, sec->size);
    if (slot) {
        slot->flags = kvm_section_flags(sec);
        slot->logging = on;
        r = kvm_slot_commit(s, slot, slot->size);
    }
    g_mutex_unlock(&s->slots_lock);
    if (r < 0) {
        kvm_fatal(s, "changing dirty logging", r);
    }
}

static void kvm_log_start(MemoryListener *l, MemoryRegionSection *sec,
                          int old_mask, int new_mask)
{
    kvm_log_change(l, sec, new_mask != 0);
}

static void kvm_log_stop(MemoryListener *l, MemoryRegionSection *sec,
                         int old_mask, int new_mask)
{
    kvm_log_change(l, sec, new_mask != 0);
}

/* Fetch KVM's log for one slot and OR it into the region's migration
 * bitmap (memory_region_set_dirty_bitmap). */
static int kvm_slot_fetch_dirty(KVMState *s, KVMSlot *slot)
{
    size_t n = dirty_bitmap_longs(slot->size);
    g_autofree unsigned long *bits = g_new0(unsigned long, n);
    struct kvm_dirty_log log = { .slot = slot->slot, .dirty_bitmap = bits };
    int r = kvm_ioctl(s->vm_fd, KVM_GET_DIRTY_LOG, &log);

    if (r < 0) {
        return r;
    }
    memory_region_set_dirty_bitmap(slot->mr, slot->mr_offset, bits,
                                   slot->size >> PAGE_SHIFT);
    return 0;
}

static void kvm_log_sync(MemoryListener *l, MemoryRegionSection *sec)
{
    KVMState *s = container_of(l, KVMState, mem_listener);
    KVMSlot *slot;
    int r = 0;

    g_mutex_lock(&s->slots_lock);
    slot = kvm_slot_find(s, sec->offset_within_address_space, sec->size);
    if (slot && slot->logging) {
        r = kvm_slot_fetch_dirty(s, slot);
    }
    g_mutex_unlock(&s->slots_lock);
    if (r < 0) {
        kvm_fatal(s, "KVM_GET_DIRTY_LOG", r);
    }
}

/* --- ioeventfd ---------------------------------------------------------- */

static void kvm_ioeventfd(KVMState *s, MemoryRegionSection *sec, bool pio,
                          bool match_data, uint64_t data, EventNotifier *e,
                          bool assign)
{
    struct kvm_ioeventfd io = {
        .datamatch = match_data ? data : 0,
        .addr = sec->offset_within_address_space,
        .len = sec->size,
        .fd = event_notifier_get_fd(e),
        .flags = (match_data ? KVM_IOEVENTFD_FLAG_DATAMATCH : 0) |
                 (pio ? KVM_IOEVENTFD_FLAG_PIO : 0) |
                 (assign ? 0 : KVM_IOEVENTFD_FLAG_DEASSIGN),
    };
    int r = kvm_ioctl(s->vm_fd, KVM_IOEVENTFD, &io);

    if (r < 0) {
        kvm_fatal(s, assign ? "KVM_IOEVENTFD" : "KVM_IOEVENTFD (deassign)", r);
    }
}

static void kvm_mem_eventfd_add(MemoryListener *l, MemoryRegionSection *sec,
                                bool match_data, uint64_t data,
                                EventNotifier *e)
{
    kvm_ioeventfd(container_of(l, KVMState, mem_listener), sec, false,
                  match_data, data, e, true);
}

static void kvm_mem_eventfd_del(MemoryListener *l, MemoryRegionSection *sec,
                                bool match_data, uint64_t data,
                                EventNotifier *e)
{
    kvm_ioeventfd(container_of(l, KVMState, mem_listener), sec, false,
                  match_data, data, e, false);
}

static void kvm_io_eventfd_add(MemoryListener *l, MemoryRegionSection *sec,
                               bool match_data, uint64_t data,
                               EventNotifier *e)
{
    kvm_ioeventfd(container_of(l, KVMState, io_listener), sec, true,
                  match_data, data, e, true);
}

static void kvm_io_eventfd_del(MemoryListener *l, MemoryRegionSection *sec,
                               bool match_data, uint64_t data,
                               EventNotifier *e)
{
    kvm_ioeventfd(container_of(l, KVMState, io_listener), sec, true,
                  match_data, data, e, false);
}

/* --- interrupts ---------------------------------------------------------- */

static void kvm_set_irq(MachineState *ms, unsigned gsi, int level)
{
    struct kvm_irq_level irq = { .irq = gsi, .level = level };
    int r = kvm_ioctl(kvm_state(ms)->vm_fd, KVM_IRQ_LINE, &irq);

    if (r < 0) {
        error_report("KVM_IRQ_LINE gsi %u: %s", gsi, g_strerror(-r));
    }
}

static bool kvm_irqfd(MachineState *ms, EventNotifier *e, unsigned gsi,
                      bool assign, Error **errp)
{
    struct kvm_irqfd irqfd = {
        .fd = event_notifier_get_fd(e),
        .gsi = gsi,
        .flags = assign ? 0 : KVM_IRQFD_FLAG_DEASSIGN,
    };
    int r = kvm_ioctl(kvm_state(ms)->vm_fd, KVM_IRQFD, &irqfd);

    if (r < 0) {
        error_setg_errno(errp, -r, "KVM_IRQFD gsi %u", gsi);
        return false;
    }
    return true;
}

static bool kvm_irqfd_add(MachineState *ms, EventNotifier *e, unsigned gsi,
                          Error **errp)
{
    return kvm_irqfd(ms, e, gsi, true, errp);
}

static void kvm_irqfd_del(MachineState *ms, EventNotifier *e, unsigned gsi)
{
    Error *err = NULL;

    if (!kvm_irqfd(ms, e, gsi, false, &err)) {
        error_report_err(err);
    }
}

/* --- VM life cycle ------------------------------------------------------- */

static bool kvm_vm_ioctl_checked(KVMState *s, unsigned long req,
                                 unsigned long arg, const char *name,
                                 Error **errp)
{
    int r = kvm_ioctl(s->vm_fd, req, (void *)arg);

    if (r < 0) {
        error_setg_errno(errp, -r, "%s", name);
        return false;
    }
    return true;
}

static bool kvm_open(KVMState *s, Error **errp)
{
    int r;

    s->fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    if (s->fd < 0) {
        error_setg_errno(errp, errno, "Could not access KVM kernel module "
                         "(/dev/kvm)");
        return false;
    }
    r = kvm_ioctl(s->fd, KVM_GET_API_VERSION, NULL);
    if (r != KVM_API_VERSION) {
        error_setg(errp, "KVM API version %d, expected %d", r, KVM_API_VERSION);
        return false;
    }
    s->vm_fd = kvm_ioctl(s->fd, KVM_CREATE_VM, 0);
    if (s->vm_fd < 0) {
        error_setg_errno(errp, -s->vm_fd, "KVM_CREATE_VM");
        return false;
    }
    r = kvm_ioctl(s->fd, KVM_GET_VCPU_MMAP_SIZE, NULL);
    if (r <= 0) {
        error_setg_errno(errp, -r, "KVM_GET_VCPU_MMAP_SIZE");
        return false;
    }
    s->vcpu_mmap_size = r;
    return true;
}

static bool kvm_check_caps(KVMState *s, Error **errp)
{
    static const struct { int cap; const char *name; } needed[] = {
        { KVM_CAP_IRQCHIP, "KVM_CAP_IRQCHIP" },
        { KVM_CAP_IRQFD, "KVM_CAP_IRQFD" },
        { KVM_CAP_IOEVENTFD, "KVM_CAP_IOEVENTFD" },
        { KVM_CAP_USER_MEMORY, "KVM_CAP_USER_MEMORY" },
        { KVM_CAP_PIT2, "KVM_CAP_PIT2" },
        { KVM_CAP_IMMEDIATE_EXIT, "KVM_CAP_IMMEDIATE_EXIT" },
    };

    for (size_t i = 0; i < G_N_ELEMENTS(needed); i++) {
        if (kvm_ioctl(s->fd, KVM_CHECK_EXTENSION,
                      (void *)(long)needed[i].cap) <= 0) {
            error_setg(errp, "KVM lacks %s", needed[i].name);
            return false;
        }
    }
    return true;
}

static bool kvm_setup_platform(KVMState *s, Error **errp)
{
    uint64_t identity = KVM_IDENTITY_MAP_ADDR;
    struct kvm_pit_config pit = { .flags = 0 };

    if (!kvm_vm_ioctl_checked(s, KVM_SET_IDENTITY_MAP_ADDR,
                              (unsigned long)&identity,
                              "KVM_SET_IDENTITY_MAP_ADDR", errp) ||
        !kvm_vm_ioctl_checked(s, KVM_SET_TSS_ADDR, KVM_TSS_ADDR,
                              "KVM_SET_TSS_ADDR", errp) ||
        !kvm_vm_ioctl_checked(s, KVM_CREATE_IRQCHIP, 0,
                              "KVM_CREATE_IRQCHIP", errp)) {
        return false;
    }
    /* The i8254 costs a kernel thread and a grace period at exit. */
    return !s->ms->pit ||
           kvm_vm_ioctl_checked(s, KVM_CREATE_PIT2, (unsigned long)&pit,
                                "KVM_CREATE_PIT2", errp);
}

static void kvm_register_listeners(KVMState *s)
{
    s->mem_listener = (MemoryListener){
        .name = "kvm-memory",
        .priority = 10,
        .region_add = kvm_region_add,
        .region_del = kvm_region_del,
        .log_start = kvm_log_start,
        .log_stop = kvm_log_stop,
        .log_sync = kvm_log_sync,
        .eventfd_add = kvm_mem_eventfd_add,
        .eventfd_del = kvm_mem_eventfd_del,
    };
    s->io_listener = (MemoryListener){
        .name = "kvm-io",
        .priority = 10,
        .eventfd_add = kvm_io_eventfd_add,
        .eventfd_del = kvm_io_eventfd_del,
    };
    memory_listener_register(&s->mem_listener, &s->ms->address_space_memory);
    memory_listener_register(&s->io_listener, &s->ms->address_space_io);
}

static bool kvm_init(MachineState *ms, Error **errp)
{
    KVMState *s = g_new0(KVMState, 1);

    s->ms = ms;
    s->fd = s->vm_fd = -1;
    g_mutex_init(&s->slots_lock);
    g_mutex_init(&s->pause_lock);
    g_cond_init(&s->pause_cond);
    ms->accel_state = s;
    if (!kvm_open(s, errp) || !kvm_check_caps(s, errp) ||
        !kvm_setup_platform(s, errp) ||
        !kvm_cpus_create(s, ms->smp_cpus, errp) ||
        !kvm_power_on_save(s, errp)) {
        return false;
    }
    kvm_register_listeners(s);
    return true;
}

static bool kvm_setup_boot_cpu(MachineState *ms, const BootCpuState *boot,
                               Error **errp)
{
    return kvm_cpu_set_boot_state(&kvm_state(ms)->cpus[0], boot, errp);
}

static bool kvm_start(MachineState *ms, Error **errp)
{
    return kvm_cpus_start(kvm_state(ms), errp);
}

static void kvm_stop(MachineState *ms)
{
    KVMState *s = kvm_state(ms);

    if (!s) {
        return;
    }
    kvm_cpus_stop(s);
    if (s->exits && qemu_loglevel_mask(LOG_KVM)) {
        qemu_log_mask(LOG_KVM, "kvm: %" PRIu64 " exits to userspace (%"
                      PRIu64 " port I/O, %" PRIu64 " MMIO)\n", s->exits,
                      s->io_exits, s->mmio_exits);
        s->exits = 0;   /* report once */
    }
}

static void kvm_pause(MachineState *ms)
{
    if (kvm_state(ms)) {
        kvm_cpus_pause(kvm_state(ms));
    }
}

static void kvm_resume(MachineState *ms)
{
    if (kvm_state(ms)) {
        kvm_cpus_resume(kvm_state(ms));
    }
}

static void kvm_cleanup(MachineState *ms)
{
    KVMState *s = kvm_state(ms);

    if (!s) {
        return;
    }
    kvm_cpus_stop(s);
    if (s->mem_listener.address_space) {
        memory_listener_unregister(&s->mem_listener);
    }
    if (s->io_listener.address_space) {
        memory_listener_unregister(&s->io_listener);
    }
    kvm_cpus_destroy(s);
    g_free(s->cpuid);
    g_free(s->msr_list);
    if (s->power_on) {
        g_byte_array_unref(s->power_on);
    }
    if (s->vm_fd >= 0) {
        close(s->vm_fd);
    }
    if (s->fd >= 0) {
        close(s->fd);
    }
    g_mutex_clear(&s->slots_lock);
    g_mutex_clear(&s->pause_lock);
    g_cond_clear(&s->pause_cond);
    g_free(s);
    ms->accel_state = NULL;
}

const AccelOps kvm_accel_ops = {
    .name = "kvm",
    .has_vcpus = true,
    .init = kvm_init,
    .setup_boot_cpu = kvm_setup_boot_cpu,
    .start = kvm_start,
    .stop = kvm_stop,
    .set_irq = kvm_set_irq,
    .irqfd_add = kvm_irqfd_add,
    .irqfd_del = kvm_irqfd_del,
    .pause = kvm_pause,
    .resume = kvm_resume,
    .save_state = kvm_save_state,
    .load_state = kvm_load_state,
    .reset = kvm_power_on_restore,
    .cleanup = kvm_cleanup,
};
