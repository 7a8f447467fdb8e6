/* SPDX-License-Identifier: MIT */
/*
 * kvmini test guest: C entry point, boot information and exit protocol.
 *
 * Exit protocol (identical results on kvmini and QEMU microvm):
 *
 *   SUCCESS  the test prints "test NAME: PASS", then the guest writes 0xfe
 *            to port 0x64 (i8042 "pulse reset line": kvmini, like
 *            Firecracker, powers off and exits with status 0).  If it is
 *            still running (QEMU microvm has no i8042, the write is
 *            ignored) it writes 0 to the isa-debug-exit port 0xf4: QEMU
 *            exits with status 1.  Then cli; hlt forever.
 *   FAILURE  code n >= 1: print the reason, write n to port 0xf4; both
 *            VMMs exit with status (n << 1) | 1.
 *              1     generic failure
 *              2     unknown test name (test=NAME)
 *              3...  test-specific (see the test's file)
 *              0x7e  bad boot information (start_info magic)
 *              0x7f  unexpected CPU exception ("exception N at RIP 0x...")
 *
 * All output goes to the 16550 at 0x3f8; lines end in "\n" only.
 */
#include "guest.h"
#include "io.h"
#include "start_info.h"

#define I8042_CMD_PORT   0x64
#define I8042_CMD_RESET  0xfe
#define DEBUG_EXIT_PORT  0xf4

struct boot_info boot_info;

_Noreturn static void halt_forever(void)
{
    for (;;) {
        __asm__ volatile("cli; hlt" : : : "memory");
    }
}

_Noreturn void guest_exit_success(void)
{
    outb(I8042_CMD_PORT, I8042_CMD_RESET);
    outb(DEBUG_EXIT_PORT, 0);
    halt_forever();
}

_Noreturn void guest_exit_failure(unsigned code)
{
    if (code == 0) {
        code = EXIT_FAIL_GENERIC;
    }
    outb(DEBUG_EXIT_PORT, (uint8_t)code);
    halt_forever();
}

_Noreturn void guest_fail(unsigned code, const char *fmt, ...)
{
    va_list ap;

    printf("guest: FAIL ");
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
    guest_exit_failure(code);
}

/*
 * Copy what we need out of start_info before anything else writes guest
 * memory; the VMM may have put it anywhere outside our image.
 * Returns false if the magic is wrong (nothing is copied then).
 */
static bool copy_start_info(uint32_t paddr, uint32_t *magic)
{
    const struct hvm_start_info *si =
        (const struct hvm_start_info *)(uintptr_t)paddr;
    const struct hvm_memmap_entry *mm;
    unsigned i, n;

    *magic = si->magic;
    if (si->magic != HVM_START_MAGIC) {
        cmdline_init("");
        return false;
    }
    boot_info.version = si->version;
    boot_info.rsdp_paddr = si->rsdp_paddr;
    cmdline_init(si->cmdline_paddr ?
                 (const char *)(uintptr_t)si->cmdline_paddr : "");
    if (si->version >= 1 && si->memmap_paddr) {
        mm = (const struct hvm_memmap_entry *)(uintptr_t)si->memmap_paddr;
        n = si->memmap_entries;
        if (n > BOOT_MEMMAP_MAX) {
            n = BOOT_MEMMAP_MAX;
        }
        for (i = 0; i < n; i++) {
            boot_info.memmap[i].addr = mm[i].addr;
            boot_info.memmap[i].size = mm[i].size;
            boot_info.memmap[i].type = mm[i].type;
        }
        boot_info.memmap_nr = n;
    }
    return true;
}

void guest_main(uint32_t start_info_paddr);

void guest_main(uint32_t start_info_paddr)
{
    const struct guest_test *t;
    const char *name;
    uint32_t magic;
    bool ok;
    int rc;

    reset_capture();
    ok = copy_start_info(start_info_paddr, &magic);
    serial_init();
    irq_init();
    if (!ok) {
        guest_fail(EXIT_FAIL_BOOT, "bad start_info magic 0x%x at 0x%x",
                   magic, start_info_paddr);
    }
    printf("kvmini test guest\n");
    cmdline_parse();

    name = cmdline_get("test");
    if (!name || !*name) {
        name = "hello";
    }
    test_set_current(name);
    t = test_find(name);
    if (!t) {
        printf("test %s: FAIL unknown test\n", name);
        guest_exit_failure(EXIT_FAIL_NO_TEST);
    }
    rc = t->fn();
    if (rc != 0) {
        guest_exit_failure((unsigned)rc);
    }
    printf("test %s: PASS\n", name);
    guest_exit_success();
}
