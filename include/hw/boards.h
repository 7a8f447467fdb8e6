/* SPDX-License-Identifier: MIT */
/*
 * The machine object: the one owner of all VM-wide state (address spaces,
 * RAM, devices, chardevs, the accelerator, the main loop).  There is no
 * other mutable global state in kvmini.
 *
 * Locking: `lock` serialises device emulation.  vCPU threads take it around
 * every MMIO/PIO dispatch; main-loop handlers that touch devices take it
 * too.  Device callbacks therefore always run with the lock held.
 */
#ifndef HW_BOARDS_H
#define HW_BOARDS_H

#include <glib.h>
#include "exec/memory.h"
#include "hw/core/loader.h"

typedef struct MachineState MachineState;
typedef struct Chardev Chardev;
typedef struct SerialState SerialState;

/* x86 microvm-like layout (see docs/architecture.md). */
#define MACHINE_RAM_BELOW_4G_MAX   0xC0000000ULL   /* 32-bit hole from 3 GiB */
#define MACHINE_RAM_ABOVE_4G_BASE  0x100000000ULL
#define MACHINE_SERIAL_PORT        0x3f8
#define MACHINE_SERIAL_IRQ         4
#define MACHINE_DEBUG_EXIT_PORT    0xf4
#define MACHINE_I8042_PORT         0x64            /* write 0xfe: power off */
#define VIRTIO_MMIO_BASE           0xfeb00000ULL
#define VIRTIO_MMIO_SLOT_SIZE      0x200
#define VIRTIO_MMIO_SLOTS          16
#define VIRTIO_MMIO_GSI_BASE       5               /* slot n -> GSI 5 + n */

/* An accelerator runs the guest: KVM (vCPU threads) or qtest (a test
 * program drives memory and I/O, no vCPU). */
typedef struct AccelOps {
    const char *name;
    /* Create the VM and register memory listeners; called before RAM is
     * mapped into the address space. */
    bool (*init)(MachineState *ms, Error **errp);
    /* Set the boot vCPU's registers (no-op without vCPUs). */
    bool (*setup_boot_cpu)(MachineState *ms, const BootCpuState *cpu,
                           Error **errp);
    /* Start running (vCPU threads / protocol server). */
    bool (*start)(MachineState *ms, Error **errp);
    /* Stop running and join threads; safe to call twice. */
    void (*stop)(MachineState *ms);
    /* Drive an interrupt line of the interrupt controller (lock held). */
    void (*set_irq)(MachineState *ms, unsigned gsi, int level);
    /* Bind e to gsi so that signalling e raises an edge on it without
     * going through kvmini's userspace when the accelerator can. */
    bool (*irqfd_add)(MachineState *ms, EventNotifier *e, unsigned gsi,
                      Error **errp);
    void (*irqfd_del)(MachineState *ms, EventNotifier *e, unsigned gsi);
    /* Free everything; safe on a half-initialised accelerator. */
    void (*cleanup)(MachineState *ms);
} AccelOps;

extern const AccelOps kvm_accel_ops;
extern const AccelOps qtest_accel_ops;

/* A RAM backend object (-object memory-backend-memfd|file,...). */
typedef struct HostMemoryBackend {
    char *id;
    char *type;               /* "memory-backend-memfd" / "-file" */
    uint64_t size;
    char *mem_path;           /* file backend */
    bool share;
    MemoryRegion mr;
    bool used;                /* attached to the machine */
} HostMemoryBackend;

/* One virtio-mmio slot in use (device models fill it). */
typedef struct VirtioMmioSlot {
    unsigned index;
    hwaddr base;
    unsigned gsi;
    const char *device_id;
} VirtioMmioSlot;

struct MachineState {
    GMutex lock;
    GMainLoop *main_loop;

    /* Memory */
    MemoryRegion system_memory;     /* root of address_space_memory */
    MemoryRegion system_io;         /* root of address_space_io (64 KiB) */
    AddressSpace address_space_memory;
    AddressSpace address_space_io;
    HostMemoryBackend *ram_backend; /* RAM, either -object or implicit */
    MemoryRegion ram_below_4g;      /* aliases into ram_backend->mr */
    MemoryRegion ram_above_4g;
    uint64_t ram_size;
    uint64_t below_4g_mem_size;
    uint64_t above_4g_mem_size;

    /* Configuration */
    unsigned smp_cpus;
    bool pit;                       /* in-kernel i8254 (-machine pit=) */
    char *kernel_path;
    char *initrd_path;
    char *append;
    char *dumpdtb_path;
    char *memory_backend_id;        /* -machine memory-backend= */

    /* Accelerator */
    const AccelOps *accel;
    void *accel_state;              /* owned by the accelerator */
    char *qtest_chardev;            /* -qtest ARG */
    char *qtest_log;                /* -qtest-log FILE */

    /* Objects and devices */
    GPtrArray *options;             /* MachineOption *, command-line order */
    GPtrArray *devices;             /* QdevEntry *, creation order */
    GHashTable *objects;            /* id -> HostMemoryBackend * */
    GHashTable *chardevs;           /* id -> Chardev * */
    char *serial_spec;              /* -serial ARG (default "stdio") */
    SerialState *serial;
    MemoryRegion debug_exit_io;
    MemoryRegion i8042_io;
    VirtioMmioSlot mmio_slots[VIRTIO_MMIO_SLOTS];
    unsigned mmio_slots_used;

    /* Life cycle */
    int exit_status;
    gint shutdown_requested;        /* atomic: first request wins */
};

/* Raise/lower an interrupt line (lock held). */
void machine_set_irq(MachineState *ms, unsigned gsi, int level);
/* Ask the main loop to exit with status; callable from any thread. */
void machine_request_shutdown(MachineState *ms, int status);

/* Reserve the next virtio-mmio slot for a device; false when all are in
 * use.  The slot is announced on the kernel command line and in the FDT. */
bool machine_alloc_mmio_slot(MachineState *ms, const char *device_id,
                             VirtioMmioSlot **slot, Error **errp);

/* The guest memory map (RAM below/above 4 GiB), for loaders and FDT. */
unsigned machine_e820_table(const MachineState *ms, E820Entry *out,
                            unsigned max);

/* Kernel command line = -append plus one "virtio_mmio.device=512@0xBASE:GSI"
 * per slot in use.  Returns a newly allocated string. */
char *machine_build_cmdline(const MachineState *ms);

#endif
