/* SPDX-License-Identifier: MIT */
/*
 * test=unassigned: the guest writes to and reads from guest-physical
 * addresses and I/O ports where nothing is mapped.  kvmini must drop the
 * writes, return all-ones for the reads (as real buses do), log each
 * access under -d guest_errors, and keep running.
 *
 *   unassigned: mmio 0x<value> port 0x<value>
 *   test unassigned: PASS
 */
#include "guest.h"
#include "io.h"

#define UNASSIGNED_MMIO 0xfe000000ULL   /* between RAM and virtio-mmio */
#define UNASSIGNED_PORT 0x2f8           /* COM2: not emulated */

int test_unassigned(void)
{
    uint32_t mmio;
    uint8_t port;

    mmio_write32(UNASSIGNED_MMIO, 0x12345678);
    mmio = mmio_read32(UNASSIGNED_MMIO);
    outb(UNASSIGNED_PORT, 0x5a);
    port = inb(UNASSIGNED_PORT);
    printf("unassigned: mmio 0x%x port 0x%x\n", mmio, port);
    if (mmio != 0xffffffffu || port != 0xff) {
        return test_fail(3, "expected all-ones from unassigned accesses");
    }
    return 0;
}
