/* SPDX-License-Identifier: MIT */
/*
 * The memory hotplug area (see include/hw/mem/memory-device.h): its place
 * in the guest-physical map, first-fit placement of memory devices inside
 * it with the slot and maxmem limits, and the question every connected
 * vhost backend is asked before a device is mapped.
 */
#include "hw/mem/memory-device.h"
#include "hw/mem/pc-dimm.h"
#include "hw/virtio/vhost.h"
#include "migration/stream.h"

#include <inttypes.h>
#include <string.h>

#define ROUND_UP_POW2(x, a) (((x) + (a) - 1) & ~((uint64_t)(a) - 1))

static hwaddr device_memory_base(const MachineState *ms)
{
    return ROUND_UP_POW2(MACHINE_RAM_ABOVE_4G_BASE + ms->above_4g_mem_size,
                         MACHINE_DEVICE_MEM_ALIGN);
}

bool device_memory_init(MachineState *ms, Error **errp)
{
    DeviceMemoryState *dms;
    uint64_t size;

    if (!ms->ram_slots) {
        return true;
    }
    if (ms->maxmem < ms->ram_size) {
        error_setg(errp, "-m: maximum memory size (0x%" PRIx64 ") must be "
                   "at least the initial memory size (0x%" PRIx64 ")",
                   ms->maxmem, ms->ram_size);
        return false;
    }
    /* Slack so that aligning every device never eats into maxmem. */
    size = ms->maxmem - ms->ram_size +
           (uint64_t)ms->ram_slots * DEVICE_MEM_MIN_ALIGN;
    size = ROUND_UP_POW2(size, MACHINE_DEVICE_MEM_ALIGN);
    dms = g_new0(DeviceMemoryState, 1);
    dms->base = device_memory_base(ms);
    dms->dimms = g_ptr_array_new();
    memory_region_init(&dms->mr, "device-memory", size);
    memory_region_add_subregion(&ms->system_memory, dms->base, &dms->mr);
    ms->device_memory = dms;
    return true;
}

void device_memory_cleanup(MachineState *ms)
{
    DeviceMemoryState *dms = ms->device_memory;

    if (!dms) {
        return;
    }
    g_assert(dms->dimms->len == 0);
    memory_region_del_subregion(&ms->system_memory, &dms->mr);
    memory_region_finalize(&dms->mr);
    g_ptr_array_free(dms->dimms, TRUE);
    g_free(dms);
    ms->device_memory = NULL;
}

uint64_t device_memory_plugged_size(const MachineState *ms)
{
    const DeviceMemoryState *dms = ms->device_memory;
    uint64_t sum = 0;

    for (guint i = 0; dms && i < dms->dimms->len; i++) {
        const PCDIMMDevice *d = g_ptr_array_index(dms->dimms, i);

        sum += pc_dimm_size(d);
    }
    return sum;
}

/* --- placement ---------------------------------------------------------- */

/* The plugged device overlapping [addr, addr + size), or NULL. */
static const PCDIMMDevice *device_memory_overlap(const DeviceMemoryState *dms,
                                                 hwaddr addr, uint64_t size)
{
    for (guint i = 0; i < dms->dimms->len; i++) {
        const PCDIMMDevice *d = g_ptr_array_index(dms->dimms, i);

        if (addr < d->addr + pc_dimm_size(d) && d->addr < addr + size) {
            return d;
        }
    }
    return NULL;
}

/* First fit: try the area's start, then the end of every device. */
static bool device_memory_first_fit(const DeviceMemoryState *dms,
                                    uint64_t size, uint64_t align,
                                    hwaddr *addr)
{
    hwaddr end = dms->base + memory_region_size(&dms->mr);
    hwaddr best = end;

    for (guint i = 0; i <= dms->dimms->len; i++) {
        const PCDIMMDevice *d = i ? g_ptr_array_index(dms->dimms, i - 1)
                                  : NULL;
        hwaddr cand = d ? d->addr + pc_dimm_size(d) : dms->base;

        cand = ROUND_UP_POW2(cand, align);
        if (cand < best && cand + size <= end &&
            !device_memory_overlap(dms, cand, size)) {
            best = cand;
        }
    }
    if (best == end) {
        return false;
    }
    *addr = best;
    return true;
}

static bool device_memory_check_addr(const DeviceMemoryState *dms,
                                     uint64_t size, uint64_t align,
                                     hwaddr addr, Error **errp)
{
    hwaddr end = dms->base + memory_region_size(&dms->mr);
    const PCDIMMDevice *d;

    if (addr & (align - 1)) {
        error_setg(errp, "address 0x%" PRIx64 " must be aligned to 0x%"
                   PRIx64 " bytes", addr, align);
        return false;
    }
    if (addr < dms->base || addr > end || size > end - addr) {
        error_setg(errp, "can't add memory device [0x%" PRIx64 ":0x%" PRIx64
                   "], usable range for memory devices [0x%" PRIx64 ":0x%"
                   PRIx64 "]", addr, size, dms->base, end - 1);
        return false;
    }
    d = device_memory_overlap(dms, addr, size);
    if (d) {
        error_setg(errp, "address range [0x%" PRIx64 ":0x%" PRIx64 "] "
                   "conflicts with memory device '%s'", addr, size,
                   d->id ? d->id : "");
        return false;
    }
    return true;
}

bool device_memory_has_free_slot(MachineState *ms, Error **errp)
{
    if (!ms->device_memory) {
        error_setg(errp, "memory devices (e.g. for memory hotplug) are not "
                   "enabled, please specify the maxmem option (-m SIZE,"
                   "slots=N,maxmem=MAX)");
        return false;
    }
    if (ms->device_memory->dimms->len >= ms->ram_slots) {
        error_setg(errp, "all memory slots (%u) are in use", ms->ram_slots);
        return false;
    }
    return true;
}

bool device_memory_find_range(MachineState *ms, uint64_t size,
                              uint64_t align, bool want, hwaddr *addr,
                              Error **errp)
{
    DeviceMemoryState *dms = ms->device_memory;
    uint64_t used = device_memory_plugged_size(ms);

    if (!device_memory_has_free_slot(ms, errp)) {
        return false;
    }
    if (size > ms->maxmem - ms->ram_size - used) {
        error_setg(errp, "not enough space, currently 0x%" PRIx64 " in use "
                   "of total space for memory devices 0x%" PRIx64, used,
                   ms->maxmem - ms->ram_size);
        return false;
    }
    if (want) {
        return device_memory_check_addr(dms, size, align, *addr, errp);
    }
    if (!device_memory_first_fit(dms, size, align, addr)) {
        error_setg(errp, "could not find position in guest address space "
                   "for memory device - memory fragmented due to "
                   "alignments");
        return false;
    }
    return true;
}

/* --- vhost -------------------------------------------------------------- */

bool device_memory_vhost_check(MachineState *ms, MemoryRegion *mr,
                               hwaddr addr, Error **errp)
{
    MemoryRegionSection s = {
        .mr = mr,
        .as = &ms->address_space_memory,
        .offset_within_region = 0,
        .offset_within_address_space = addr,
        .size = memory_region_size(mr),
        .readonly = mr->readonly,
    };

    for (guint i = 0; ms->vhost_devs && i < ms->vhost_devs->len; i++) {
        struct vhost_dev *dev = g_ptr_array_index(ms->vhost_devs, i);

        if (!vhost_dev_can_add_region(dev, &s, errp)) {
            error_prepend(errp, "memory hotplug refused: ");
            return false;
        }
    }
    return true;
}

/* --- plugged while migrating ---------------------------------------------- */

bool memory_device_save_plug(MachineState *ms, const MemoryRegion *ram,
                             GByteArray *out)
{
    guint len = out->len;

    mig_put_str(out, pc_dimm_model.name);
    if (!pc_dimm_save_plug(ms, ram, out)) {
        g_byte_array_set_size(out, len);
        return false;
    }
    return true;
}

bool memory_device_load_plug(MachineState *ms, const uint8_t *buf, size_t len,
                             Error **errp)
{
    MigReader r;
    g_autofree char *model = NULL;

    mig_reader_init(&r, buf, len);
    model = mig_get_str(&r);
    if (!mig_reader_check_short(&r, errp)) {
        error_prepend(errp, "memory device record: ");
        return false;
    }
    if (strcmp(model, pc_dimm_model.name)) {
        error_setg(errp, "memory device record: unknown model '%s'", model);
        return false;
    }
    return pc_dimm_load_plug(ms, buf + r.pos, len - r.pos, errp);
}
