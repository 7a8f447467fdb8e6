/* SPDX-License-Identifier: MIT */
/*
 * vhost-user memory table.  The vhost core hands over the whole table it
 * wants the backend to have; this file either sends it in one
 * SET_MEM_TABLE (at most 8 regions, one fd per region) or, with
 * CONFIGURE_MEM_SLOTS, compares it with a shadow copy of what the backend
 * already has and sends exactly one REM_MEM_REG per region that went away
 * and one ADD_MEM_REG per region that is new — removals first, so that a
 * region that moved or changed size never overlaps its old self in the
 * backend.  The shadow is updated after each acknowledged message, so a
 * failure half-way leaves it telling the truth.
 *
 * The decisions about the table are the vhost core's
 * (hw/virtio/vhost-mem.c): vhost-user answers needs_fd_memory (only
 * fd-backed RAM, one mapping of one fd per region) and memslots_limit
 * (8 for one SET_MEM_TABLE, else what GET_MAX_MEM_SLOTS said), and every
 * table that reaches vu_set_mem_table obeys both.
 */
#include "vhost-user-internal.h"

#include <inttypes.h>
#include <string.h>

/* Without CONFIGURE_MEM_SLOTS the whole table travels in one
 * SET_MEM_TABLE, so the limit is what that message carries.  The core
 * never sends a table over this limit, which is what keeps
 * vu_send_mem_table inside its arrays: no second check here. */
unsigned vu_memslots_limit(struct vhost_dev *dev)
{
    VhostUserState *u = vu_state(dev);

    return vu_has(u, VHOST_USER_PROTOCOL_F_CONFIGURE_MEM_SLOTS) ?
           u->memory_slots : VHOST_USER_MAX_RAM_SLOTS;
}

/* The backend mmaps every region from the fd sent with it. */
bool vu_needs_fd_memory(struct vhost_dev *dev)
{
    return true;
}

bool vu_mem_negotiate(VhostUserState *u, Error **errp)
{
    static const VuExpect exp = { .size = sizeof(uint64_t) };
    VhostUserMsg msg = { .hdr.request = VHOST_USER_GET_MAX_MEM_SLOTS };
    VhostUserMsg reply;
    uint64_t slots;

    u->memory_slots = VHOST_USER_DEFAULT_MEM_SLOTS;
    if (!vu_has(u, VHOST_USER_PROTOCOL_F_CONFIGURE_MEM_SLOTS)) {
        return true;
    }
    if (!vu_get(u, &msg, -1, &exp, &reply, NULL, errp)) {
        return false;
    }
    slots = reply.payload.u64;
    if (slots == 0) {
        return vu_protocol_error(u, errp, "GET_MAX_MEM_SLOTS: backend "
                                 "reports 0 memory slots");
    }
    u->memory_slots = MIN(slots, VHOST_USER_MEM_SLOTS_CAP);
    return true;
}

void vu_mem_cleanup(VhostUserState *u)
{
    g_clear_pointer(&u->shadow, g_free);
    u->n_shadow = 0;
}

static void vu_region_to_wire(VhostUserMemoryRegion *w,
                              const VhostMemoryRegion *r)
{
    w->guest_phys_addr = r->guest_phys_addr;
    w->memory_size = r->memory_size;
    w->userspace_addr = r->userspace_addr;
    w->mmap_offset = r->mmap_offset;
}

static bool vu_region_in(const VhostMemoryRegion *r,
                         const VhostMemoryRegion *set, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        if (vhost_region_equal(r, &set[i])) {
            return true;
        }
    }
    return false;
}

/* --- SET_MEM_TABLE ------------------------------------------------------- */

static bool vu_send_mem_table(VhostUserState *u,
                              const VhostMemoryRegion *regions, unsigned n,
                              Error **errp)
{
    VhostUserMsg msg = { .hdr.request = VHOST_USER_SET_MEM_TABLE };
    int fds[VHOST_USER_MAX_RAM_SLOTS];

    /* n <= VHOST_USER_MAX_RAM_SLOTS: vu_memslots_limit, checked by the
     * core. */
    msg.payload.memory.nregions = n;
    for (unsigned i = 0; i < n; i++) {
        vu_region_to_wire(&msg.payload.memory.regions[i], &regions[i]);
        fds[i] = regions[i].fd;
    }
    /* nregions + padding, then only the regions in use. */
    msg.hdr.size = offsetof(VhostUserMemory, regions) +
                   n * sizeof(VhostUserMemoryRegion);
    return vu_set(u, &msg, -1, fds, n, errp);
}

/* --- ADD_MEM_REG / REM_MEM_REG ------------------------------------------- */

static bool vu_mem_reg(VhostUserState *u, uint32_t request,
                       const VhostMemoryRegion *r, Error **errp)
{
    VhostUserMsg msg = {
        .hdr.request = request,
        .hdr.size = sizeof(VhostUserMemRegMsg),
    };
    bool add = request == VHOST_USER_ADD_MEM_REG;

    vu_region_to_wire(&msg.payload.mem_reg.region, r);
    /* The spec: exactly one fd with ADD, none with REM. */
    if (!vu_set(u, &msg, -1, add ? &r->fd : NULL, add ? 1 : 0, errp)) {
        error_prepend(errp, "region 0x%" PRIx64 "+0x%" PRIx64 ": ",
                      r->guest_phys_addr, r->memory_size);
        return false;
    }
    return true;
}

static bool vu_mem_remove_stale(VhostUserState *u,
                                const VhostMemoryRegion *regions, unsigned n,
                                Error **errp)
{
    unsigned i = u->n_shadow;

    while (i-- > 0) {
        if (vu_region_in(&u->shadow[i], regions, n)) {
            continue;
        }
        if (!vu_mem_reg(u, VHOST_USER_REM_MEM_REG, &u->shadow[i], errp)) {
            return false;
        }
        memmove(&u->shadow[i], &u->shadow[i + 1],
                (u->n_shadow - i - 1) * sizeof(*u->shadow));
        u->n_shadow--;
    }
    return true;
}

static bool vu_mem_add_new(VhostUserState *u,
                           const VhostMemoryRegion *regions, unsigned n,
                           Error **errp)
{
    for (unsigned i = 0; i < n; i++) {
        if (vu_region_in(&regions[i], u->shadow, u->n_shadow)) {
            continue;
        }
        if (!vu_mem_reg(u, VHOST_USER_ADD_MEM_REG, &regions[i], errp)) {
            return false;
        }
        u->shadow = g_renew(VhostMemoryRegion, u->shadow, u->n_shadow + 1);
        u->shadow[u->n_shadow++] = regions[i];
    }
    return true;
}

/* --- the op -------------------------------------------------------------- */

/* The core made the table: at most vu_memslots_limit regions, each one
 * mapping of one fd (needs_fd_memory). */
bool vu_set_mem_table(struct vhost_dev *dev, const VhostMemoryRegion *regions,
                      unsigned n, Error **errp)
{
    VhostUserState *u = vu_state(dev);

    if (!vu_has(u, VHOST_USER_PROTOCOL_F_CONFIGURE_MEM_SLOTS)) {
        return vu_send_mem_table(u, regions, n, errp);
    }
    return vu_mem_remove_stale(u, regions, n, errp) &&
           vu_mem_add_new(u, regions, n, errp);
}
