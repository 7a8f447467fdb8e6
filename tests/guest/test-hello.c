/* SPDX-License-Identifier: MIT */
/*
 * test=hello (also the default): prints the banner, the command line, the
 * RAM ranges of the PVH memory map and the virtio-mmio devices found on
 * the command line.  Tests on the host grep these exact lines:
 *
 *   kvmini test guest
 *   cmdline: <command line>
 *   ram: 0x<start, 16 hex digits>-0x<end inclusive, 16 hex digits>
 *   virtio-mmio: 0x<base> size 0x<size> irq <irq>
 *   test hello: PASS
 */
#include "guest.h"

int test_hello(void)
{
    unsigned i;

    /* main.c has already printed "kvmini test guest". */
    printf("cmdline: %s\n", cmdline());
    for (i = 0; i < boot_info.memmap_nr; i++) {
        const struct memmap_entry *e = &boot_info.memmap[i];

        if (e->type == 1 && e->size) {
            printf("ram: 0x%016llx-0x%016llx\n",
                   (unsigned long long)e->addr,
                   (unsigned long long)(e->addr + e->size - 1));
        }
    }
    for (i = 0; i < virtio_mmio_count(); i++) {
        const struct virtio_mmio_desc *d = virtio_mmio_get(i);

        printf("virtio-mmio: 0x%llx size 0x%x irq %u\n",
               (unsigned long long)d->base, d->size, d->irq);
    }
    return 0;
}
