/* SPDX-License-Identifier: MIT */
/*
 * The memory API: a tree of MemoryRegions (RAM, MMIO/PIO, alias, container)
 * flattened into a FlatView per AddressSpace, and MemoryListeners told what
 * changed between two views.
 *
 * Model (as QEMU's): a container holds subregions at offsets with
 * priorities; where subregions overlap the higher priority wins, equal
 * priorities let the later-added one win.  An alias shows a window
 * [alias_offset, alias_offset + size) of another region.  The address space
 * renders its root into a sorted list of non-overlapping sections (a
 * FlatView), each pointing at a terminal region (RAM or I/O) and an offset
 * inside it.
 *
 * Updates: every mutator re-renders the address spaces that can see the
 * region (through containers and aliases), unless a transaction is open on
 * that address space, in which case the update happens once at the outermost
 * commit.  Listeners then get begin, region_del for sections that vanished,
 * region_add for new ones, region_nop for unchanged ones, eventfd_del/add
 * for ioeventfd changes, log_start/log_stop for dirty-log flag changes, and
 * commit.  Sections are compared by (mr, offset_within_region,
 * offset_within_address_space, size, readonly); a resize shows as del+add.
 *
 * Threading: all functions are called from the main thread, or from vCPU
 * threads holding the machine lock (address_space_rw dispatch).  No global
 * state: everything hangs off the regions and address spaces.
 */
#ifndef EXEC_MEMORY_H
#define EXEC_MEMORY_H

#include <stdbool.h>
#include <inttypes.h>
#include <stdint.h>
#include <glib.h>

#include "qemu/error.h"
#include "qemu/event_notifier.h"

typedef uint64_t hwaddr;
#define HWADDR_PRIx PRIx64

typedef struct MemoryRegion MemoryRegion;
typedef struct MemoryRegionOps MemoryRegionOps;
typedef struct AddressSpace AddressSpace;
typedef struct FlatView FlatView;
typedef struct MemoryListener MemoryListener;

typedef enum MemTxResult {
    MEMTX_OK = 0,
    MEMTX_ERROR = 1,         /* device returned an error */
    MEMTX_DECODE_ERROR = 2,  /* nothing mapped there */
} MemTxResult;

/* Callbacks of an MMIO or port-I/O region.  addr is relative to the region.
 * Accesses are split into pieces of a size the device accepts
 * (impl_min..impl_max, default 1..4); values are little-endian. */
struct MemoryRegionOps {
    uint64_t (*read)(void *opaque, hwaddr addr, unsigned size);
    void (*write)(void *opaque, hwaddr addr, uint64_t data, unsigned size);
    unsigned impl_min;       /* 0 means 1 */
    unsigned impl_max;       /* 0 means 4 */
};

typedef enum MemoryRegionKind {
    MR_CONTAINER,
    MR_RAM,
    MR_IO,
    MR_ALIAS,
} MemoryRegionKind;

/* Dirty-log clients (bits of dirty_log_mask). */
#define DIRTY_MEMORY_MIGRATION 0

typedef struct MemoryRegionIoeventfd {
    hwaddr addr;             /* relative to the region */
    unsigned size;           /* 0 = any size */
    bool match_data;
    uint64_t data;
    EventNotifier *e;
} MemoryRegionIoeventfd;

struct MemoryRegion {
    /* Read-only for users; owned by the memory API. */
    char *name;
    MemoryRegionKind kind;
    uint64_t size;
    bool enabled;
    bool readonly;             /* RAM that is ROM for the guest */

    /* MR_RAM */
    void *ram_ptr;             /* host mapping, MAP_SHARED when fd >= 0 */
    int ram_fd;                /* -1 for anonymous RAM */
    uint64_t ram_fd_offset;    /* offset of ram_ptr inside ram_fd */
    bool ram_owned;            /* munmap ram_ptr at finalize (not the fd) */
    uint64_t ram_mapped_size;  /* length of the mapping (munmap, resize cap) */
    /* Separate from ram_owned: from_fd with own_fd=false maps (and so
     * unmaps) but never closes the caller's fd. */
    bool ram_fd_owned;         /* close ram_fd at finalize */

    /* MR_IO */
    const MemoryRegionOps *ops;
    void *opaque;

    /* MR_ALIAS */
    MemoryRegion *alias;
    hwaddr alias_offset;

    /* Position in the tree. */
    MemoryRegion *container;
    hwaddr addr;               /* offset inside container */
    int priority;
    bool may_overlap;
    GPtrArray *subregions;     /* MemoryRegion *, MR_CONTAINER only */
    GPtrArray *alias_users;    /* aliases pointing at this region */
    GPtrArray *address_spaces; /* AddressSpace * whose root is this region */

    GArray *ioeventfds;        /* MemoryRegionIoeventfd */
    uint8_t dirty_log_mask;    /* bits DIRTY_MEMORY_* */
    /* MR_RAM: one bit per DIRTY_PAGE_SIZE page of the mapping, allocated
     * (and cleared) when DIRTY_MEMORY_MIGRATION logging is switched on,
     * freed at finalize; see "dirty tracking" below. */
    unsigned long *dirty_bitmap;
};

/* A piece of the flat view: [offset_within_address_space, +size) of the
 * address space maps [offset_within_region, +size) of terminal region mr. */
typedef struct MemoryRegionSection {
    MemoryRegion *mr;
    AddressSpace *as;
    hwaddr offset_within_region;
    hwaddr offset_within_address_space;
    uint64_t size;
    bool readonly;
} MemoryRegionSection;

struct FlatView {
    MemoryRegionSection *sections;   /* sorted by address, no overlap */
    unsigned nr;
};

struct AddressSpace {
    char *name;
    MemoryRegion *root;
    FlatView *current_map;
    GPtrArray *listeners;      /* MemoryListener *, sorted by priority */
    unsigned transaction_depth;
    bool update_pending;
    unsigned log_global_depth; /* log_global_start nesting */
};

struct MemoryListener {
    void (*begin)(MemoryListener *l);
    void (*commit)(MemoryListener *l);
    void (*region_add)(MemoryListener *l, MemoryRegionSection *s);
    void (*region_del)(MemoryListener *l, MemoryRegionSection *s);
    void (*region_nop)(MemoryListener *l, MemoryRegionSection *s);
    /* Dirty logging of one section changes from old to new mask. */
    void (*log_start)(MemoryListener *l, MemoryRegionSection *s,
                      int old_mask, int new_mask);
    void (*log_stop)(MemoryListener *l, MemoryRegionSection *s,
                     int old_mask, int new_mask);
    /* Fetch this listener's dirty bits for s into the region's bitmap. */
    void (*log_sync)(MemoryListener *l, MemoryRegionSection *s);
    /* Whole-address-space logging (migration); may refuse. */
    bool (*log_global_start)(MemoryListener *l, Error **errp);
    void (*log_global_stop)(MemoryListener *l);
    void (*eventfd_add)(MemoryListener *l, MemoryRegionSection *s,
                        bool match_data, uint64_t data, EventNotifier *e);
    void (*eventfd_del)(MemoryListener *l, MemoryRegionSection *s,
                        bool match_data, uint64_t data, EventNotifier *e);
    /* Lower runs first on add, last on del (reverse order). */
    int priority;
    const char *name;
    AddressSpace *address_space;    /* set by memory_listener_register */
};

/* --- regions ----------------------------------------------------------- */

/* Container: no content of its own, holds subregions. */
void memory_region_init(MemoryRegion *mr, const char *name, uint64_t size);
void memory_region_init_io(MemoryRegion *mr, const MemoryRegionOps *ops,
                           void *opaque, const char *name, uint64_t size);
/* RAM mapped MAP_SHARED from fd at offset; the region takes ownership of fd
 * (closed at finalize) only if own_fd is true. */
bool memory_region_init_ram_from_fd(MemoryRegion *mr, const char *name,
                                    uint64_t size, int fd, uint64_t offset,
                                    bool own_fd, Error **errp);
/* RAM in a new memfd (MFD_CLOEXEC), shared: usable by vhost-user. */
bool memory_region_init_ram_memfd(MemoryRegion *mr, const char *name,
                                  uint64_t size, Error **errp);
/* RAM backed by a file at path (created if missing, grown to size);
 * share=false maps it MAP_PRIVATE (not usable by vhost-user). */
bool memory_region_init_ram_file(MemoryRegion *mr, const char *name,
                                 uint64_t size, const char *path, bool share,
                                 Error **errp);
/* RAM at an existing host pointer (not owned), fd may be -1. */
void memory_region_init_ram_ptr(MemoryRegion *mr, const char *name,
                                uint64_t size, void *ptr, int fd,
                                uint64_t fd_offset);
void memory_region_init_alias(MemoryRegion *mr, const char *name,
                              MemoryRegion *orig, hwaddr offset,
                              uint64_t size);
/* Free what the region owns; it must not be mapped anywhere.  Safe on a
 * zeroed or already finalized region. */
void memory_region_finalize(MemoryRegion *mr);

void memory_region_add_subregion(MemoryRegion *container, hwaddr offset,
                                 MemoryRegion *sub);
void memory_region_add_subregion_overlap(MemoryRegion *container,
                                         hwaddr offset, MemoryRegion *sub,
                                         int priority);
void memory_region_del_subregion(MemoryRegion *container, MemoryRegion *sub);
void memory_region_set_enabled(MemoryRegion *mr, bool enabled);
void memory_region_set_address(MemoryRegion *mr, hwaddr addr);
/* Change the size (containers, aliases, I/O; RAM only to shrink or up to
 * what was mapped). */
void memory_region_set_size(MemoryRegion *mr, uint64_t size);
void memory_region_set_readonly(MemoryRegion *mr, bool readonly);
void memory_region_set_log(MemoryRegion *mr, bool log, unsigned client);

bool memory_region_is_ram(const MemoryRegion *mr);
void *memory_region_get_ram_ptr(MemoryRegion *mr);
int memory_region_get_fd(const MemoryRegion *mr);
uint64_t memory_region_size(const MemoryRegion *mr);

/* ioeventfd: a write of `size` bytes (0 = any) at addr (relative to mr),
 * with data == `data` when match_data, signals e instead of calling the
 * write callback.  Listeners (KVM) get eventfd_add and can do the match in
 * the kernel; without an accelerator listener the memory API does the match
 * itself during dispatch. */
void memory_region_add_eventfd(MemoryRegion *mr, hwaddr addr, unsigned size,
                               bool match_data, uint64_t data,
                               EventNotifier *e);
void memory_region_del_eventfd(MemoryRegion *mr, hwaddr addr, unsigned size,
                               bool match_data, uint64_t data,
                               EventNotifier *e);

/* --- address spaces ---------------------------------------------------- */

void address_space_init(AddressSpace *as, MemoryRegion *root,
                        const char *name);
/* Unregisters from root; listeners must be unregistered first. */
void address_space_destroy(AddressSpace *as);

/* Batch several changes into one listener update (nests). */
void address_space_transaction_begin(AddressSpace *as);
void address_space_transaction_commit(AddressSpace *as);

/* Read/write guest memory or devices.  RAM is copied, I/O is dispatched in
 * pieces the device accepts, unassigned reads return all-ones and writes
 * are dropped (both logged under -d guest_errors).  Returns MEMTX_OK only
 * if every byte hit something. */
MemTxResult address_space_rw(AddressSpace *as, hwaddr addr, void *buf,
                             hwaddr len, bool is_write);
MemTxResult address_space_read(AddressSpace *as, hwaddr addr, void *buf,
                               hwaddr len);
MemTxResult address_space_write(AddressSpace *as, hwaddr addr,
                                const void *buf, hwaddr len);
/* Host pointer for [addr, addr+len) if it lies inside one RAM section,
 * else NULL. */
void *address_space_ram_ptr(AddressSpace *as, hwaddr addr, hwaddr len);
/* Section containing addr (copied into *out); false if unassigned. */
bool address_space_find_section(AddressSpace *as, hwaddr addr,
                                MemoryRegionSection *out);

/* --- listeners --------------------------------------------------------- */

/* Register on as: begin, region_add for every current section (and
 * eventfd_add for every ioeventfd, log_start where logging), commit. */
void memory_listener_register(MemoryListener *l, AddressSpace *as);
/* Replays region_del for every section (begin/commit around it). */
void memory_listener_unregister(MemoryListener *l);

/* Dirty logging for migration over the whole address space.  Calls every
 * listener's log_global_start; if one refuses, the ones that started are
 * stopped again and the error is returned. */
bool address_space_log_global_start(AddressSpace *as, Error **errp);
void address_space_log_global_stop(AddressSpace *as);
/* Call every listener's log_sync for every section. */
void address_space_log_sync(AddressSpace *as);

/* --- dirty tracking for migration (system/memory-dirty.c) ------------- */

/*
 * While a RAM region's dirty_log_mask has DIRTY_MEMORY_MIGRATION
 * (memory_region_set_log), it keeps a bitmap with one bit per 4 KiB page.
 * Writers mark pages: KVM's log_sync (pages the vCPUs wrote), the vhost
 * log_sync (pages a backend wrote), address_space_write into RAM (pages
 * kvmini wrote), and any code that writes guest RAM through a host
 * pointer.  Migration fetches-and-clears the bits.  Offsets are relative
 * to mr; an alias is resolved to its RAM region.  Marking is an atomic OR,
 * callable from any thread; with logging off every function is a no-op
 * (get/test report clean).
 */
#define DIRTY_PAGE_SIZE 4096ULL

/* Bits for pages [start, end) of a region (start and end page aligned):
 * bit i of dirty[] is the page at start + i * DIRTY_PAGE_SIZE. */
typedef struct DirtyBitmapSnapshot {
    hwaddr start;
    hwaddr end;
    unsigned long dirty[];
} DirtyBitmapSnapshot;

/* Mark every page that [addr, addr + size) touches. */
void memory_region_set_dirty(MemoryRegion *mr, hwaddr addr, hwaddr size);
/* OR a bitmap in: bit i of bits marks the page at addr + i * 4 KiB
 * (addr page aligned); npages bits are read. */
void memory_region_set_dirty_bitmap(MemoryRegion *mr, hwaddr addr,
                                    const unsigned long *bits,
                                    uint64_t npages);
/* Whether any page of [addr, addr + size) is dirty. */
bool memory_region_get_dirty(MemoryRegion *mr, hwaddr addr, hwaddr size);
/* The same, clearing the pages' bits. */
bool memory_region_test_and_clear_dirty(MemoryRegion *mr, hwaddr addr,
                                        hwaddr size);
/* Fetch-and-clear the bits of [addr, addr + size) (widened to pages)
 * into a new snapshot (g_free it); all clear when not logging. */
DirtyBitmapSnapshot *memory_region_snapshot_and_clear_dirty(MemoryRegion *mr,
                                                            hwaddr addr,
                                                            hwaddr size);
/* Whether snap has any page of [addr, addr + size) dirty (the range must
 * lie inside the snapshot). */
bool memory_region_snapshot_get_dirty(MemoryRegion *mr,
                                      DirtyBitmapSnapshot *snap,
                                      hwaddr addr, hwaddr size);
/* Guest-physical form: mark the RAM behind [addr, addr + len) of as
 * (holes and I/O skipped).  Main thread or machine lock held (it reads
 * the current view), as during log_sync. */
void address_space_set_dirty(AddressSpace *as, hwaddr addr, hwaddr len);

#endif
