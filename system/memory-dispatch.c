/* SPDX-License-Identifier: MIT */
/*
 * Guest-access dispatch: look an address up in an AddressSpace's current
 * FlatView and copy to or from RAM, call a device's MemoryRegionOps (split
 * or widened to the sizes it implements), kick a matching ioeventfd
 * instead when no accelerator does that in the kernel, or log and fill an
 * access nothing decodes (unassigned).  Also the lookups that hand out a
 * section or a host pointer for a guest address.
 */
#include "exec/memory.h"

#include <inttypes.h>
#include <string.h>

#include "qemu/log.h"

#include "memory-internal.h"

/* Section containing addr; if none, *next is where the next one starts
 * (0 when there is none after addr). */
static const MemoryRegionSection *flat_lookup(FlatView *fv, hwaddr addr,
                                              hwaddr *next)
{
    unsigned i;

    *next = 0;
    if (!fv) {
        return NULL;
    }
    i = flat_lower_bound(fv->sections, fv->nr, addr);
    if (i == fv->nr) {
        return NULL;
    }
    if (fv->sections[i].offset_within_address_space <= addr) {
        return &fv->sections[i];
    }
    *next = fv->sections[i].offset_within_address_space;
    return NULL;
}

bool address_space_find_section(AddressSpace *as, hwaddr addr,
                                MemoryRegionSection *out)
{
    hwaddr next;
    const MemoryRegionSection *s = flat_lookup(as->current_map, addr, &next);

    if (s) {
        *out = *s;
    }
    return s != NULL;
}

void *address_space_ram_ptr(AddressSpace *as, hwaddr addr, hwaddr len)
{
    hwaddr next;
    const MemoryRegionSection *s = flat_lookup(as->current_map, addr, &next);
    hwaddr in;

    if (!s || s->mr->kind != MR_RAM || !s->mr->ram_ptr) {
        return NULL;
    }
    in = addr - s->offset_within_address_space;
    if (len > s->size - in) {
        return NULL;
    }
    return (uint8_t *)s->mr->ram_ptr + s->offset_within_region + in;
}

static uint64_t ld_le(const uint8_t *p, unsigned n)
{
    uint64_t v = 0;

    for (unsigned i = 0; i < n; i++) {
        v |= (uint64_t)p[i] << (8 * i);
    }
    return v;
}

static void st_le(uint8_t *p, unsigned n, uint64_t v)
{
    for (unsigned i = 0; i < n; i++) {
        p[i] = v >> (8 * i);
    }
}

static MemTxResult unassigned_access(const char *space, hwaddr addr,
                                     uint8_t *buf, hwaddr len, bool is_write)
{
    qemu_log_mask(LOG_GUEST_ERROR, "guest_errors: %s: unassigned %s of %"
                  PRIu64 " byte(s) at 0x%" PRIx64 "\n", space,
                  is_write ? "write" : "read", len, addr);
    if (!is_write) {
        memset(buf, 0xff, len);
    }
    return MEMTX_DECODE_ERROR;
}

/* An access narrower than the device's minimum becomes one aligned
 * minimum-size access: reads keep the bytes asked for, writes put the data
 * in place with the other bytes zero.  Returns bytes consumed. */
static hwaddr io_widened(MemoryRegion *mr, hwaddr off, uint8_t *buf,
                         hwaddr len, unsigned min, bool is_write)
{
    const MemoryRegionOps *ops = mr->ops;
    hwaddr base = off & ~(hwaddr)(min - 1);
    unsigned shift = off - base;
    hwaddr n = MIN(len, (hwaddr)(min - shift));
    uint8_t tmp[8] = { 0 };

    if (is_write) {
        memcpy(tmp + shift, buf, n);
        if (ops->write) {
            ops->write(mr->opaque, base, ld_le(tmp, min), min);
        }
    } else {
        st_le(tmp, min, ops->read ? ops->read(mr->opaque, base, min) : 0);
        memcpy(buf, tmp + shift, n);
    }
    return n;
}

/* Split into the largest power-of-two pieces within impl_min..impl_max. */
static MemTxResult io_access(MemoryRegion *mr, hwaddr off, uint8_t *buf,
                             hwaddr len, bool is_write)
{
    const MemoryRegionOps *ops = mr->ops;
    unsigned max = ops && ops->impl_max ? MIN(ops->impl_max, 8) : 4;
    unsigned min = ops && ops->impl_min ? MIN(ops->impl_min, max) : 1;

    if (!ops) {
        return unassigned_access(mr->name, off, buf, len, is_write);
    }
    while (len) {
        unsigned n = 1;
        hwaddr done;

        while (n * 2 <= max && n * 2 <= len) {
            n *= 2;
        }
        if (n < min) {
            done = io_widened(mr, off, buf, len, min, is_write);
        } else if (is_write) {
            if (ops->write) {
                ops->write(mr->opaque, off, ld_le(buf, n), n);
            }
            done = n;
        } else {
            st_le(buf, n, ops->read ? ops->read(mr->opaque, off, n) : 0);
            done = n;
        }
        off += done;
        buf += done;
        len -= done;
    }
    return MEMTX_OK;
}

/* Without an accelerator doing the match in the kernel (qtest), a write
 * that hits a visible ioeventfd must still kick its notifier, and must not
 * reach the device: with KVM it never would. */
static bool ioeventfd_dispatch(FlatView *fv, hwaddr addr, const uint8_t *buf,
                               hwaddr len)
{
    FlatViewPriv *p = flatview_priv(fv);
    uint64_t data = len <= 8 ? ld_le(buf, len) : 0;

    for (unsigned i = 0; i < p->nr_fds; i++) {
        FlatIoeventfd *f = &p->fds[i];

        if (f->addr == addr && (!f->size || f->size == len) &&
            (!f->match_data || (len <= 8 && f->data == data))) {
            event_notifier_set(f->e);
            return true;
        }
    }
    return false;
}

static MemTxResult ram_access(const MemoryRegionSection *s, hwaddr in,
                              uint8_t *buf, hwaddr len, bool is_write)
{
    uint8_t *p = (uint8_t *)s->mr->ram_ptr + s->offset_within_region + in;

    if (!is_write) {
        memcpy(buf, p, len);
        return MEMTX_OK;
    }
    if (s->readonly) {
        qemu_log_mask(LOG_GUEST_ERROR, "memory: write of 0x%" PRIx64
                      " bytes to read-only '%s' at 0x%" PRIx64 " dropped\n",
                      len, s->mr->name ?: "",
                      s->offset_within_address_space + in);
        return MEMTX_ERROR;
    }
    memcpy(p, buf, len);
    if (s->mr->dirty_log_mask) {
        memory_region_set_dirty(s->mr, s->offset_within_region + in, len);
    }
    return MEMTX_OK;
}

/* One piece that lies inside section s, starting at s-relative offset in. */
static MemTxResult section_access(FlatView *fv, const MemoryRegionSection *s,
                                  hwaddr in, uint8_t *buf, hwaddr len,
                                  bool is_write)
{
    if (s->mr->kind == MR_RAM) {
        return ram_access(s, in, buf, len, is_write);
    }
    if (is_write &&
        ioeventfd_dispatch(fv, s->offset_within_address_space + in, buf,
                           len)) {
        return MEMTX_OK;
    }
    return io_access(s->mr, s->offset_within_region + in, buf, len,
                     is_write);
}

MemTxResult address_space_rw(AddressSpace *as, hwaddr addr, void *buf,
                             hwaddr len, bool is_write)
{
    uint8_t *p = buf;
    MemTxResult res = MEMTX_OK;

    while (len) {
        hwaddr next, n, in;
        const MemoryRegionSection *s = flat_lookup(as->current_map, addr,
                                                   &next);
        MemTxResult r;

        if (!s) {
            n = next > addr ? MIN(len, next - addr) : len;
            r = unassigned_access(as->name, addr, p, n, is_write);
        } else {
            in = addr - s->offset_within_address_space;
            n = MIN(len, s->size - in);
            r = section_access(as->current_map, s, in, p, n, is_write);
        }
        res = MAX(res, r);     /* DECODE_ERROR > ERROR > OK */
        addr += n;
        p += n;
        len -= n;
    }
    return res;
}

MemTxResult address_space_read(AddressSpace *as, hwaddr addr, void *buf,
                               hwaddr len)
{
    return address_space_rw(as, addr, buf, len, false);
}

MemTxResult address_space_write(AddressSpace *as, hwaddr addr,
                                const void *buf, hwaddr len)
{
    /* rw never writes into buf when is_write: dropping const is safe. */
    return address_space_rw(as, addr, (void *)(uintptr_t)buf, len, true);
}
