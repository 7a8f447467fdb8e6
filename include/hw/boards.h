/* SPDX-License-Identifier: MIT */
/*
 * The machine object: the one owner of all VM-wide state (address spaces,
 * RAM, devices, chardevs, the accelerator, the main loop).  There is no
 * other mutable global state in kvmini.  This header has the services
 * that code running in the machine calls (interrupts, shutdown requests,
 * virtio-mmio slots, the memory map, pause/resume, memory backends);
 * building and running a machine is the composition root's
 * (sysemu/sysemu.h), booting and system_reset hw/core/boot.h's.
 *
 * Locking: `lock` serialises device emulation.  vCPU threads take it around
 * every MMIO/PIO dispatch; main-loop handlers that touch devices take it
 * too.  Device callbacks therefore always run with the lock held.
 */
#ifndef HW_BOARDS_H
#define HW_BOARDS_H

#include <glib.h>
#include "exec/memory.h"
#include "qapi/event.h"
#include "qemu/wait.h"
#include "sysemu/os-posix.h"
#include "sysemu/seccomp.h"

typedef struct MachineState MachineState;
typedef struct DeviceMemoryState DeviceMemoryState;
typedef struct Chardev Chardev;
typedef struct SerialState SerialState;
typedef struct SaveStateRegistry SaveStateRegistry;

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
#define MACHINE_MAX_RAM_SLOTS      32              /* -m ...,slots=N */
#define MACHINE_DEVICE_MEM_ALIGN   0x40000000ULL   /* hotplug area: 1 GiB */

/* The guest memory map (machine_e820_table), as the loaders and the
 * device tree describe it to the guest. */
#define E820_RAM       1
#define E820_RESERVED  2

typedef struct E820Entry {
    uint64_t addr;
    uint64_t size;
    uint32_t type;
} E820Entry;

typedef enum BootCpuMode {
    BOOT_CPU_PVH32,     /* 32-bit flat protected mode, paging off, ebx=info */
    BOOT_CPU_LINUX64,   /* long mode, identity map, rsi=boot_params */
} BootCpuMode;

/* Initial state of the boot vCPU; the accelerator applies it. */
typedef struct BootCpuState {
    BootCpuMode mode;
    uint64_t rip;
    uint64_t rbx;           /* PVH: hvm_start_info address */
    uint64_t rsi;           /* Linux: boot_params address */
    uint64_t cr3;           /* LINUX64: identity page tables */
    uint64_t gdt_base;      /* LINUX64: GDT written by the loader */
    uint16_t gdt_limit;
} BootCpuState;

/* An accelerator runs the guest: KVM (vCPU threads) or qtest (a test
 * program drives memory and I/O, no vCPU); the instances are declared in
 * sysemu/accel.h, for the code that picks one. */
typedef struct AccelOps {
    const char *name;
    /* Guest code runs (vCPUs), so the machine needs a kernel to boot
     * (-kernel).  false: qtest, where no kernel is loaded. */
    bool has_vcpus;
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
    /* QMP stop/cont: pause returns once every vCPU is out of the guest
     * and parked (KVM: kicked out of KVM_RUN, waiting on a condition
     * variable); resume lets them run again.  Both idempotent.  Main
     * loop, machine lock NOT held (a vCPU may be waiting for it). */
    void (*pause)(MachineState *ms);
    void (*resume)(MachineState *ms);
    /* Migration: append the vCPU and VM state (registers, LAPIC, MSRs,
     * irqchip, PIT, clock) to out / restore it from what save wrote.
     * vCPUs paused; main loop, machine lock held.  NULL: nothing to
     * migrate (qtest). */
    bool (*save_state)(MachineState *ms, GByteArray *out, Error **errp);
    bool (*load_state)(MachineState *ms, const uint8_t *buf, size_t len,
                       Error **errp);
    /* system_reset: every vCPU and the interrupt controllers and timers
     * back to their power-on state (secondary vCPUs wait for INIT/SIPI);
     * the boot vCPU's registers are set afterwards (setup_boot_cpu).
     * vCPUs paused; main loop, machine lock held.  NULL: nothing to do
     * (qtest). */
    bool (*reset)(MachineState *ms, Error **errp);
    /* Free everything; safe on a half-initialised accelerator. */
    void (*cleanup)(MachineState *ms);
} AccelOps;

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

/* A shared memfd backend of size bytes (the machine's implicit RAM),
 * not registered anywhere; NULL with errp set if the memory cannot be
 * had. */
HostMemoryBackend *memory_backend_new_memfd(const char *id, uint64_t size,
                                            Error **errp);
/* Free a backend (GDestroyNotify for ms->objects). */
void memory_backend_free(gpointer b);

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
    /* Memory hotplug (-m SIZE,slots=N,maxmem=MAX; hw/mem/memory-device.h):
     * ram_slots 0 = disabled; device_memory is the hotplug area, NULL
     * when disabled. */
    unsigned ram_slots;
    uint64_t maxmem;
    DeviceMemoryState *device_memory;

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
    GPtrArray *netdevs;             /* Netdev *, creation order (net/) */
    GPtrArray *nics;                /* Netdev * claimed, claim order */
    /* Devices with a vhost backend (VhostDevice *, hw/virtio/
     * vhost-device.h) and their struct vhost_dev *s (memory hotplug asks
     * each about its backend's slot limit). */
    GPtrArray *vhost_devices;
    GPtrArray *vhost_devs;
    EventBus events;                /* QMP events (qapi/event.h) */
    void *monitors;                 /* monitor/ state, NULL if none */
    SaveStateRegistry *savevm;      /* migration/register.h */
    void *migration;                /* migration/ state, NULL until used */
    char *incoming;                 /* -incoming URI|defer */
    char *serial_spec;              /* -serial ARG (default "stdio") */
    SerialState *serial;
    MemoryRegion debug_exit_io;
    MemoryRegion i8042_io;
    VirtioMmioSlot mmio_slots[VIRTIO_MMIO_SLOTS];
    unsigned mmio_slots_used;

    /* Process (-daemonize, -pidfile, -name, -run-with) and start */
    OsState os;
    SandboxConfig sandbox;          /* -sandbox */
    char *name;                     /* -name: QMP query-name */
    bool start_paused;              /* -S: vCPUs wait for QMP cont */

    /* Life cycle */
    bool ready;                     /* built: devices added now hotplug */
    int exit_status;
    gint shutdown_requested;        /* atomic: first request wins */
    const char *shutdown_reason;    /* QMP SHUTDOWN "reason" (static) */
    /* Set by the first shutdown request; with the signalfd (SIGINT,
     * SIGTERM, SIGHUP, blocked in every thread: -1 when kvmini does not
     * own them) it ends every blocking wait on a peer at once
     * (wait_cancel, handed to chardevs and vhost backends). */
    EventNotifier shutdown_notifier;
    int signal_fd;
    WaitCancel wait_cancel;
    bool paused;                    /* vCPUs paused (QMP stop) */
    /* query-status while paused for a reason: "prelaunch" (-S),
     * "inmigrate", "finish-migrate", "postmigrate" (static); NULL:
     * "paused". */
    const char *paused_state;
};

/* Raise/lower an interrupt line (lock held). */
void machine_set_irq(MachineState *ms, unsigned gsi, int level);
/* Ask the main loop to exit with status; callable from any thread. */
void machine_request_shutdown(MachineState *ms, int status);
/* The same with the QMP SHUTDOWN event's reason ("host-qmp-quit",
 * "host-signal", "guest-shutdown", ...; a static string; "guest" in the
 * event is true for "guest-*").  machine_request_shutdown() says
 * "guest-shutdown".  The event is sent by machine_run() from the main
 * loop once the loop has stopped. */
void machine_request_shutdown_reason(MachineState *ms, int status,
                                     const char *reason);
/* Prepare the shutdown notifier and wait_cancel (machine_new). */
void machine_shutdown_init(MachineState *ms);
void machine_shutdown_cleanup(MachineState *ms);
/* Use signal_fd (a signalfd for SIGINT, SIGTERM, SIGHUP, owned from now
 * on) for shutdown requests and to end waits. */
void machine_set_signal_fd(MachineState *ms, int signal_fd);
/* Consume the signals pending on the signalfd: each one requests
 * shutdown with status 0, reason "host-signal".  True if a shutdown has
 * been requested (by a signal or before).  Any thread. */
bool machine_take_signals(MachineState *ms);

/* QMP stop/cont: pause or resume the vCPUs (AccelOps pause/resume) and
 * emit STOP / RESUME; a no-op when already in that state.  Main loop,
 * machine lock not held. */
void machine_pause(MachineState *ms);
void machine_resume(MachineState *ms);
/* object-add/object-del: a -object memory-backend-* option string
 * ("qom-type=memory-backend-memfd,id=m1,size=1G"), created and registered
 * as on the command line.  del refuses a backend in use ("object 'ID' is
 * in use, can not be deleted").  Main loop, machine lock held. */
bool machine_object_add(MachineState *ms, const char *optstr, Error **errp);
/* The same from parsed options (keys as in the option string). */
bool machine_object_add_opts(MachineState *ms, GHashTable *opts,
                             Error **errp);
bool machine_object_del(MachineState *ms, const char *id, Error **errp);

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
