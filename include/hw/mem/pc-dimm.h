/* SPDX-License-Identifier: MIT */
/*
 * pc-dimm: a memory device that maps a memory backend into the hotplug
 * area (include/hw/mem/memory-device.h), on the command line or at run
 * time through QMP, as QEMU's:
 *
 *   -m 1G,slots=4,maxmem=8G
 *   -object memory-backend-memfd,id=mem1,size=1G
 *   -device pc-dimm,id=dimm1,memdev=mem1[,addr=GPA][,slot=N]
 *
 *   { "execute": "object-add", "arguments": { "qom-type":
 *     "memory-backend-memfd", "id": "mem1", "size": 1073741824 } }
 *   { "execute": "device_add", "arguments": { "driver": "pc-dimm",
 *     "id": "dimm1", "memdev": "mem1" } }
 *   { "execute": "device_del", "arguments": { "id": "dimm1" } }
 *
 * Plugging checks everything before it changes anything: hotplug enabled,
 * backend found and not in use, a free slot, room under maxmem, a free
 * aligned address (first fit, 2 MiB alignment, or addr=), and that every
 * connected vhost backend can take one more region.  Then, in one memory
 * transaction, an alias of the backend's RAM is mapped into the area: the
 * KVM listener adds a memory slot and every vhost device's listener sees
 * the new section (ADD_MEM_REG with CONFIGURE_MEM_SLOTS, else a full
 * SET_MEM_TABLE, sent while the device is started; a stopped device gets
 * the whole table at its next start).  Unplug is the reverse (REM_MEM_REG
 * / SET_MEM_TABLE, slot removed) and takes effect at once: there is no
 * guest-side eject handshake.  The backend is marked used while plugged.
 *
 * A DIMM plugged while an outgoing migration copies RAM travels in the
 * stream (its MemoryDeviceClass, hw/mem/memory-device.h): the record
 * holds the backend's id and size and the device's id, addr and slot;
 * the destination creates the backend as a memfd of that size (never the
 * source's mem-path, which on the same host is the source's own file),
 * unless one of that id exists there already (object-add before the
 * stream arrives, to choose the backing), free and of the same size, then
 * the device.  On failure nothing is left behind and the error names the
 * DIMM.
 *
 * Machine lock held for everything (device_add/device_del run under it).
 */
#ifndef HW_MEM_PC_DIMM_H
#define HW_MEM_PC_DIMM_H

#include <json-glib/json-glib.h>

#include "hw/mem/memory-device.h"
#include "hw/qdev.h"

typedef struct PCDIMMDevice {
    MemoryDeviceState md;       /* what the hotplug area sees, once mapped */
    MachineState *ms;
    char *id;                   /* NULL if none was given */
    HostMemoryBackend *backend;
    hwaddr addr;                /* guest-physical */
    unsigned slot;
    bool hotplugged;            /* added after the machine was built */
    MemoryRegion alias;         /* the backend's RAM, in device-memory */
    bool mapped;
} PCDIMMDevice;

extern const DeviceModel pc_dimm_model;

/* query-memory-devices: a new JSON array (caller owns it), in plug order,
 * of {"type": "dimm", "data": {"id", "addr", "size", "slot", "node",
 * "memdev": "/objects/ID", "hotplugged", "hotpluggable"}} as QEMU returns;
 * "id" only when the device has one.  Empty without hotplug. */
JsonNode *pc_dimm_query_all(MachineState *ms);

#endif
