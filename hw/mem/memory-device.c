/* SPDX-License-Identifier: MIT */
/*
 * The memory hotplug area (see include/hw/mem/memory-device.h): its place
 * in the guest-physical map, first-fit placement of memory devices inside
 * it with the slot and maxmem limits, the question every connected vhost
 * backend is asked before a device is mapped, and the RAM plug hooks
 * through which migration carries devices plugged while it runs.
 */
#include "hw/mem/memory-device.h"
#include "hw/virtio/vhost.h"
#include "migration/register.h"
#include "migration/stream.h"

#include <inttypes.h>
#include <string.h>

#define ROUND_UP_POW2(x, a) (((x) + (a) - 1) & ~((uint64_t)(a) - 1))

static hwaddr device_memory_base(const MachineState *ms)
{
    return ROUND_UP_POW2(MACHINE_RAM_ABOVE_4G_BASE + ms->above_4g_mem_size,
                         MACHINE_DEVICE_MEM_ALIGN);
}

static const RamPlugHandlers memory_device_ram_plug;

bool device_memory_init(MachineState *ms, Error **errp)
{
    DeviceMemoryState *dms;
    uint64_t size;

    /* Also without the area: a destination without slots= then refuses
     * a device the source plugged with the same reason as device_add. */
    register_ram_plug(ms, &memory_device_ram_plug, ms);
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
    dms->devices = g_ptr_array_new();
    memory_region_init(&dms->mr, "device-memory", size);
    memory_region_add_subregion(&ms->system_memory, dms->base, &dms->mr);
    ms->device_memory = dms;
    return true;
}

void device_memory_cleanup(MachineState *ms)
{
    DeviceMemoryState *dms = ms->device_memory;

    unregister_ram_plug(ms, &memory_device_ram_plug, ms);
    if (!dms) {
        return;
    }
    g_assert(dms->devices->len == 0);
    memory_region_del_subregion(&ms->system_memory, &dms->mr);
    memory_region_finalize(&dms->mr);
    g_ptr_array_free(dms->devices, TRUE);
    g_free(dms);
    ms->device_memory = NULL;
}

void memory_device_plug(MachineState *ms, MemoryDeviceState *md)
{
    g_ptr_array_add(ms->device_memory->devices, md);
}

void memory_device_unplug(MachineState *ms, MemoryDeviceState *md)
{
    g_ptr_array_remove(ms->device_memory->devices, md);
}

static uint64_t device_memory_plugged_size(const MachineState *ms)
{
    const DeviceMemoryState *dms = ms->device_memory;
    uint64_t sum = 0;

    for (guint i = 0; dms && i < dms->devices->len; i++) {
        const MemoryDeviceState *md = g_ptr_array_index(dms->devices, i);

        sum += md->size;
    }
    return sum;
}

/* --- placement ---------------------------------------------------------- */

/* The plugged device overlapping [addr, addr + size), or NULL. */
static const MemoryDeviceState *
device_memory_overlap(const DeviceMemoryState *dms, hwaddr addr,
                      uint64_t size)
{
    for (guint i = 0; i < dms->devices->len; i++) {
        const MemoryDeviceState *md = g_ptr_array_index(dms->devices, i);

        if (addr < md->addr + md->size && md->addr < addr + size) {
            return md;
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

    for (guint i = 0; i <= dms->devices->len; i++) {
        const MemoryDeviceState *md =
            i ? g_ptr_array_index(dms->devices, i - 1) : NULL;
        hwaddr cand = md ? md->addr + md->size : dms->base;

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
    const MemoryDeviceState *md;

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
    md = device_memory_overlap(dms, addr, size);
    if (md) {
        error_setg(errp, "address range [0x%" PRIx64 ":0x%" PRIx64 "] "
                   "conflicts with memory device '%s'", addr, size,
                   md->id ? md->id : "");
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
    if (ms->device_memory->devices->len >= ms->ram_slots) {
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

void device_memory_vhost_settle(MachineState *ms)
{
    g_autoptr(GPtrArray) workers = g_ptr_array_new();

    /* Collected first: a flush releases the lock.  Only the thread that
     * plugs memory (lock held) removes devices, so none goes meanwhile. */
    for (guint i = 0; ms->vhost_devs && i < ms->vhost_devs->len; i++) {
        struct vhost_dev *dev = g_ptr_array_index(ms->vhost_devs, i);

        if (dev->worker && !g_ptr_array_find(workers, dev->worker, NULL)) {
            g_ptr_array_add(workers, dev->worker);
        }
    }
    for (guint i = 0; i < workers->len; i++) {
        vhost_worker_flush(g_ptr_array_index(workers, i));
    }
}

/* --- plugged while migrating (RAM plug hooks, migration/register.h) ----- */

/* The record: the model's name, then what its save_plug writes. */
static bool memory_device_save_plug(void *opaque, const MemoryRegion *ram,
                                    GByteArray *out)
{
    MachineState *ms = opaque;
    DeviceMemoryState *dms = ms->device_memory;

    for (guint i = 0; dms && i < dms->devices->len; i++) {
        MemoryDeviceState *md = g_ptr_array_index(dms->devices, i);

        if (md->ram == ram) {
            mig_put_str(out, md->model->name);
            md->model->memory_device->save_plug(md, out);
            return true;
        }
    }
    return false;
}

static bool memory_device_load_plug(void *opaque, const uint8_t *buf,
                                    size_t len, Error **errp)
{
    MachineState *ms = opaque;
    MigReader r;
    g_autofree char *name = NULL;
    const DeviceModel *model;

    mig_reader_init(&r, buf, len);
    name = mig_get_str(&r);
    if (!mig_reader_check_short(&r, errp)) {
        error_prepend(errp, "memory device record: ");
        return false;
    }
    model = qdev_find_model(name);
    if (!model || !model->memory_device) {
        error_setg(errp, "memory device record: unknown model '%s'", name);
        return false;
    }
    return model->memory_device->load_plug(ms, buf + r.pos, len - r.pos,
                                           errp);
}

static const RamPlugHandlers memory_device_ram_plug = {
    .save = memory_device_save_plug,
    .load = memory_device_load_plug,
};
