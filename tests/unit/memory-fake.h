/* SPDX-License-Identifier: MIT */
/*
 * Test doubles for the memory API unit tests (test-memory.c,
 * test-memory-dispatch.c): the flat view of an address space as text, a
 * listener that records every call it gets as text ("op args;"), an I/O
 * device with 64 byte-wide registers that logs each access, RAM over one
 * static buffer, and a fixture with an address space, a RAM region, an
 * I/O region and a recording listener (not registered).
 */
#ifndef TESTS_UNIT_MEMORY_FAKE_H
#define TESTS_UNIT_MEMORY_FAKE_H

#include "exec/memory.h"

/* The flat view as "name@addr+size[/offset][ ro]" separated by spaces. */
char *flat_str(AddressSpace *as);

#define assert_flat(as, expected) do {              \
        g_autofree char *got_ = flat_str(as);       \
        g_assert_cmpstr(got_, ==, expected);        \
    } while (0)

/* A listener that records every call as "op args;" into log. */
typedef struct Rec {
    MemoryListener l;
    GString *log;
    const char *tag;         /* prefix "tag:" when several share a log */
    bool refuse_global;      /* log_global_start fails */
} Rec;

void rec_init(Rec *r, GString *log, const char *tag, int priority);

/* The log without the trailing ';', then cleared. */
char *take(GString *log);

#define assert_log(log, expected) do {              \
        g_autofree char *got_ = take(log);          \
        g_assert_cmpstr(got_, ==, expected);        \
    } while (0)

/* An I/O device with 64 byte-wide registers that logs each access. */
typedef struct Dev {
    GString *log;
    uint8_t regs[64];
} Dev;

/* Any access size; byte accesses only; 4-byte accesses only. */
extern const MemoryRegionOps dev_ops, dev_ops_1, dev_ops_4;

/* The RAM behind every ram_init() region (offset 0 of each). */
extern uint8_t backing[0x20000];

void ram_init(MemoryRegion *mr, const char *name, uint64_t size);

/* root (UINT64_MAX) as "as"; ram (0x4000) and io (0x40, dev) not mapped;
 * rec logging into log, not registered. */
typedef struct Fixture {
    MemoryRegion root, ram, io;
    AddressSpace as;
    GString *log;
    Rec rec;
    Dev dev;
} Fixture;

void fixture_init(Fixture *f);
void fixture_cleanup(Fixture *f);

#endif
