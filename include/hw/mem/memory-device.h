/* SPDX-License-Identifier: MIT */
/*
 * The hotplug area for memory devices (QEMU's "device memory"), enabled by
 * -m SIZE,slots=N,maxmem=MAX.  It is one empty container, "device-memory",
 * mapped at the first 1 GiB boundary above the RAM above 4 GiB (at 4 GiB
 * when all RAM is below the hole, as QEMU's pc machines do: the area never
 * meets the 32-bit hole or the RAM), and sized maxmem - SIZE plus 2 MiB
 * of alignment slack per slot, rounded up to 1 GiB.  Memory devices
 * (pc-dimm) are aliases of a memory backend mapped inside it; each takes
 * one of the N slots, and RAM plus all of them stays within MAX.
 *
 * The area knows its devices only as MemoryDeviceState (where, how big,
 * which RAM) and their models' MemoryDeviceClass (DeviceModel
 * .memory_device): a memory device model embeds the state and plugs it
 * with memory_device_plug(), as QEMU's memory-device interface.
 *
 * The guest learns nothing from the firmware tables about the area (the
 * e820 map lists the boot RAM only): hotplugged RAM is for vhost backends
 * and guests that are told where it is.
 *
 * Everything runs with the machine lock held (or before the machine runs).
 */
#ifndef HW_MEM_MEMORY_DEVICE_H
#define HW_MEM_MEMORY_DEVICE_H

#include "hw/boards.h"
#include "hw/qdev.h"

#define DEVICE_MEM_MIN_ALIGN  0x200000ULL   /* 2 MiB: device placement */

typedef struct MemoryDeviceState MemoryDeviceState;

/*
 * What the area asks of a memory device model (DeviceModel.memory_device).
 * Memory plugged while an outgoing migration copies RAM travels in the
 * stream (migration/ram.c sends its record before its pages): save_plug
 * appends what the destination needs to plug the same device there;
 * load_plug plugs it on the destination from those bytes (len bytes at
 * buf), leaving nothing behind on failure.  Machine lock held.
 */
typedef struct MemoryDeviceClass {
    void (*save_plug)(MemoryDeviceState *md, GByteArray *out);
    bool (*load_plug)(MachineState *ms, const uint8_t *buf, size_t len,
                      Error **errp);
} MemoryDeviceClass;

/* A memory device as the area sees it, embedded in the device. */
struct MemoryDeviceState {
    const DeviceModel *model;   /* model->memory_device is its class */
    const char *id;             /* -device id, NULL if none */
    hwaddr addr;                /* guest-physical, inside the area */
    uint64_t size;
    const MemoryRegion *ram;    /* the RAM it maps (its backend's) */
};

struct DeviceMemoryState {
    hwaddr base;                /* guest-physical start of the area */
    MemoryRegion mr;            /* container "device-memory" */
    GPtrArray *devices;         /* MemoryDeviceState *, plug order */
};

/* Check slots/maxmem against the final RAM size and map the empty area
 * into system memory (inside the caller's memory transaction); register
 * the RAM plug hooks (migration/register.h) that carry devices plugged
 * during a migration.  The area is not created without slots=; false with
 * errp if maxmem is below the RAM size. */
bool device_memory_init(MachineState *ms, Error **errp);
/* Unmap and free the area (every memory device must be gone already) and
 * unregister the hooks.  Safe twice and when the area was never
 * created. */
void device_memory_cleanup(MachineState *ms);

/* A memory device mapped its RAM at md->addr (inside the area): count it
 * (slots, maxmem, placement), in plug order.  unplug: it is unmapped. */
void memory_device_plug(MachineState *ms, MemoryDeviceState *md);
void memory_device_unplug(MachineState *ms, MemoryDeviceState *md);

/* Hotplug is enabled and one of the slots is free; else errp says
 * which. */
bool device_memory_has_free_slot(MachineState *ms, Error **errp);

/* Where a device of `size` bytes can go: *addr is the first free
 * guest-physical address of the area aligned to `align` (a power of two),
 * or, when want is true, *addr itself if it is aligned, inside the area
 * and free.  Also checks that a slot is free and that maxmem leaves room
 * (RAM plus every device, this one included, at most maxmem).
 * Nothing is reserved: the caller maps the device right after. */
bool device_memory_find_range(MachineState *ms, uint64_t size,
                              uint64_t align, bool want, hwaddr *addr,
                              Error **errp);

/* Ask every connected vhost device of the machine whether RAM region mr
 * mapped at guest address addr (its whole size) still fits its backend's
 * slot limit (vhost_dev_can_add_region); false with the first refusal. */
/* After a memory device was mapped or unmapped: wait until every vhost
 * backend was sent the new memory table (the vhost core queues it on
 * each connection's worker), so that device_add and device_del return
 * once the backends know, as in QEMU.  Lock held (released while a
 * backend answers). */
void device_memory_vhost_settle(MachineState *ms);

bool device_memory_vhost_check(MachineState *ms, MemoryRegion *mr,
                               hwaddr addr, Error **errp);

#endif
