/* SPDX-License-Identifier: MIT */
/*
 * virtio-mmio version 2 transport and split virtqueues for the test guest
 * (see virtio.h for the API).  Initialisation follows virtio 1.x §3.1.1
 * and §4.2.3: reset, ACKNOWLEDGE, DRIVER, feature negotiation,
 * FEATURES_OK (re-read), queue setup, DRIVER_OK.
 */
#include "virtio.h"
#include "io.h"

/* Bounded polls of the status register after a reset. */
#define VIRTIO_RESET_POLLS  1000

static uint8_t virtq_pool[VIRTQ_POOL][VIRTQ_PAGE_SIZE]
    __attribute__((aligned(VIRTQ_PAGE_SIZE))) GUEST_NOINIT;
static unsigned virtq_pool_used;

bool virtio_find(uint32_t device_id, unsigned nth, struct virtio_dev *d)
{
    unsigned i;

    for (i = 0; i < virtio_mmio_count(); i++) {
        const struct virtio_mmio_desc *m = virtio_mmio_get(i);
        uint32_t magic, version, id;

        magic = mmio_read32(m->base + VIRTIO_MMIO_MAGIC_VALUE);
        if (magic != VIRTIO_MMIO_MAGIC) {
            printf("virtio-mmio: 0x%llx: bad magic 0x%x\n",
                   (unsigned long long)m->base, magic);
            continue;
        }
        id = mmio_read32(m->base + VIRTIO_MMIO_DEVICE_ID);
        if (id == 0 || id != device_id) {
            continue;
        }
        version = mmio_read32(m->base + VIRTIO_MMIO_VERSION);
        if (version != VIRTIO_MMIO_VERSION_MODERN) {
            printf("virtio-mmio: 0x%llx: version %u not supported\n",
                   (unsigned long long)m->base, version);
            continue;
        }
        if (nth--) {
            continue;
        }
        memset(d, 0, sizeof(*d));
        d->base = m->base;
        d->irq = m->irq;
        d->device_id = id;
        d->vendor_id = mmio_read32(m->base + VIRTIO_MMIO_VENDOR_ID);
        return true;
    }
    return false;
}

static void virtio_irq(void *opaque)
{
    struct virtio_dev *d = opaque;
    uint32_t isr = virtio_read32(d, VIRTIO_MMIO_INTERRUPT_STATUS);

    if (isr) {
        virtio_write32(d, VIRTIO_MMIO_INTERRUPT_ACK, isr);
    } else {
        d->irq_empty++;
    }
    if (isr & VIRTIO_MMIO_INT_VRING) {
        d->irq_vring++;
    }
    if (isr & VIRTIO_MMIO_INT_CONFIG) {
        d->irq_config++;
    }
    d->irq_count++;
}

static uint32_t virtio_status(const struct virtio_dev *d)
{
    return virtio_read32(d, VIRTIO_MMIO_STATUS);
}

static void virtio_set_status(struct virtio_dev *d, uint32_t bits)
{
    virtio_write32(d, VIRTIO_MMIO_STATUS, virtio_status(d) | bits);
}

void virtio_fail(struct virtio_dev *d)
{
    virtio_set_status(d, VIRTIO_STATUS_FAILED);
}

static bool virtio_do_reset(struct virtio_dev *d)
{
    unsigned i;

    virtio_write32(d, VIRTIO_MMIO_STATUS, 0);
    for (i = 0; i < VIRTIO_RESET_POLLS; i++) {
        if (virtio_status(d) == 0) {
            return true;
        }
    }
    return false;
}

void virtio_reset(struct virtio_dev *d)
{
    (void)virtio_do_reset(d);
    if (d->irq_registered) {
        irq_unregister(d->irq);
        d->irq_registered = false;
    }
}

static uint64_t virtio_device_features(struct virtio_dev *d)
{
    uint64_t f;

    virtio_write32(d, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
    f = (uint64_t)virtio_read32(d, VIRTIO_MMIO_DEVICE_FEATURES) << 32;
    virtio_write32(d, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
    return f | virtio_read32(d, VIRTIO_MMIO_DEVICE_FEATURES);
}

int virtio_start(struct virtio_dev *d, uint64_t wanted)
{
    if (!virtio_do_reset(d)) {
        printf("virtio-mmio: 0x%llx: status stays 0x%x after reset\n",
               (unsigned long long)d->base, virtio_status(d));
        return -1;
    }
    virtio_set_status(d, VIRTIO_STATUS_ACKNOWLEDGE);
    virtio_set_status(d, VIRTIO_STATUS_DRIVER);

    d->device_features = virtio_device_features(d);
    if (!(d->device_features & VIRTIO_BIT(VIRTIO_F_VERSION_1))) {
        printf("virtio-mmio: 0x%llx: VERSION_1 not offered "
               "(features 0x%llx)\n", (unsigned long long)d->base,
               (unsigned long long)d->device_features);
        virtio_fail(d);
        return -1;
    }
    d->features = d->device_features &
                  (wanted | VIRTIO_BIT(VIRTIO_F_VERSION_1));
    virtio_write32(d, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
    virtio_write32(d, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)d->features);
    virtio_write32(d, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
    virtio_write32(d, VIRTIO_MMIO_DRIVER_FEATURES,
                   (uint32_t)(d->features >> 32));
    virtio_set_status(d, VIRTIO_STATUS_FEATURES_OK);
    if (!(virtio_status(d) & VIRTIO_STATUS_FEATURES_OK)) {
        printf("virtio-mmio: 0x%llx: FEATURES_OK refused "
               "(features 0x%llx)\n", (unsigned long long)d->base,
               (unsigned long long)d->features);
        virtio_fail(d);
        return -1;
    }

    if (irq_register(d->irq, virtio_irq, d, IRQ_EDGE) < 0) {
        printf("virtio-mmio: 0x%llx: no IOAPIC pin %u\n",
               (unsigned long long)d->base, d->irq);
        virtio_fail(d);
        return -1;
    }
    d->irq_registered = true;
    return 0;
}

int virtio_driver_ok(struct virtio_dev *d)
{
    virtio_set_status(d, VIRTIO_STATUS_DRIVER_OK);
    if (virtio_status(d) & VIRTIO_STATUS_NEEDS_RESET) {
        printf("virtio-mmio: 0x%llx: device needs reset after DRIVER_OK\n",
               (unsigned long long)d->base);
        return -1;
    }
    return 0;
}

static void virtio_write_addr(struct virtio_dev *d, unsigned lo_reg,
                              const void *p)
{
    uint64_t a = (uint64_t)(uintptr_t)p;

    virtio_write32(d, lo_reg, (uint32_t)a);
    virtio_write32(d, lo_reg + 4, (uint32_t)(a >> 32));
}

int virtq_setup(struct virtio_dev *d, struct virtq *vq, unsigned index,
                unsigned max_size)
{
    uint32_t qmax;
    unsigned num, i;
    uint8_t *page;

    if (!max_size || max_size > VIRTQ_MAX_SIZE) {
        max_size = VIRTQ_MAX_SIZE;
    }
    virtio_write32(d, VIRTIO_MMIO_QUEUE_SEL, index);
    if (virtio_read32(d, VIRTIO_MMIO_QUEUE_READY)) {
        printf("virtio-mmio: 0x%llx: queue %u already ready\n",
               (unsigned long long)d->base, index);
        return -1;
    }
    qmax = virtio_read32(d, VIRTIO_MMIO_QUEUE_NUM_MAX);
    if (qmax == 0) {
        printf("virtio-mmio: 0x%llx: queue %u not available\n",
               (unsigned long long)d->base, index);
        return -1;
    }
    if (virtq_pool_used == VIRTQ_POOL) {
        printf("virtio: out of queue pages (%u)\n", VIRTQ_POOL);
        return -1;
    }
    num = qmax < max_size ? qmax : max_size;
    while (num & (num - 1)) {
        num &= num - 1;                 /* round down to a power of two */
    }
    page = virtq_pool[virtq_pool_used++];
    memset(page, 0, VIRTQ_PAGE_SIZE);       /* GUEST_NOINIT */

    memset(vq, 0, sizeof(*vq));
    vq->dev = d;
    vq->index = index;
    vq->num = (uint16_t)num;
    vq->num_free = (uint16_t)num;
    vq->desc = (struct virtq_desc *)page;
    vq->avail = (struct virtq_avail *)(page + VIRTQ_AVAIL_OFF);
    vq->used = (volatile struct virtq_used *)(page + VIRTQ_USED_OFF);
    for (i = 0; i + 1 < num; i++) {
        vq->desc[i].next = (uint16_t)(i + 1);
    }

    virtio_write32(d, VIRTIO_MMIO_QUEUE_NUM, num);
    virtio_write_addr(d, VIRTIO_MMIO_QUEUE_DESC_LOW, vq->desc);
    virtio_write_addr(d, VIRTIO_MMIO_QUEUE_DRIVER_LOW, vq->avail);
    virtio_write_addr(d, VIRTIO_MMIO_QUEUE_DEVICE_LOW,
                      (const void *)vq->used);
    virtio_write32(d, VIRTIO_MMIO_QUEUE_READY, 1);
    if (virtio_read32(d, VIRTIO_MMIO_QUEUE_READY) != 1) {
        printf("virtio-mmio: 0x%llx: queue %u did not become ready\n",
               (unsigned long long)d->base, index);
        return -1;
    }
    return 0;
}

uint8_t virtio_config_read8(const struct virtio_dev *d, unsigned off)
{
    return mmio_read8(d->base + VIRTIO_MMIO_CONFIG + off);
}

uint16_t virtio_config_read16(const struct virtio_dev *d, unsigned off)
{
    return mmio_read16(d->base + VIRTIO_MMIO_CONFIG + off);
}

uint32_t virtio_config_read32(const struct virtio_dev *d, unsigned off)
{
    return mmio_read32(d->base + VIRTIO_MMIO_CONFIG + off);
}

uint64_t virtio_config_read64(const struct virtio_dev *d, unsigned off)
{
    uint32_t gen, lo, hi;

    do {
        gen = virtio_read32(d, VIRTIO_MMIO_CONFIG_GENERATION);
        lo = virtio_config_read32(d, off);
        hi = virtio_config_read32(d, off + 4);
    } while (gen != virtio_read32(d, VIRTIO_MMIO_CONFIG_GENERATION));
    return ((uint64_t)hi << 32) | lo;
}

int virtq_add(struct virtq *vq, const struct virtq_buf *bufs,
              unsigned n_out, unsigned n_in, void *cookie)
{
    unsigned n = n_out + n_in, i;
    uint16_t head = vq->free_head, d = head;

    if (n == 0 || n > vq->num_free || !cookie) {
        return -1;
    }
    for (i = 0; i < n; i++) {
        struct virtq_desc *desc = &vq->desc[d];

        desc->addr = (uint64_t)(uintptr_t)bufs[i].addr;
        desc->len = bufs[i].len;
        desc->flags = (uint16_t)((i >= n_out ? VIRTQ_DESC_F_WRITE : 0) |
                                 (i + 1 < n ? VIRTQ_DESC_F_NEXT : 0));
        d = desc->next;
    }
    vq->free_head = d;
    vq->num_free = (uint16_t)(vq->num_free - n);
    vq->cookie[head] = cookie;

    vq->avail->ring[vq->avail_idx & (vq->num - 1)] = head;
    barrier();                          /* ring entry before idx (x86 TSO) */
    vq->avail_idx++;
    *(volatile uint16_t *)&vq->avail->idx = vq->avail_idx;
    return 0;
}

void virtq_kick(struct virtq *vq)
{
    mb();                               /* avail->idx before used->flags */
    if (!(vq->used->flags & VIRTQ_USED_F_NO_NOTIFY)) {
        virtio_write32(vq->dev, VIRTIO_MMIO_QUEUE_NOTIFY, vq->index);
        vq->kicks++;
    }
}

int virtq_get_used(struct virtq *vq, void **cookie, uint32_t *len)
{
    uint16_t slot, id, d;
    unsigned n = 1;

    if (!virtq_has_used(vq)) {
        return 0;
    }
    barrier();                          /* used->idx before the entry */
    slot = vq->last_used & (vq->num - 1);
    vq->last_used++;
    id = (uint16_t)vq->used->ring[slot].id;
    if (vq->used->ring[slot].id >= vq->num || !vq->cookie[id]) {
        vq->bad_used++;
        return -1;
    }
    *len = vq->used->ring[slot].len;
    *cookie = vq->cookie[id];
    vq->cookie[id] = NULL;

    /* Return the chain to the free list. */
    for (d = id; vq->desc[d].flags & VIRTQ_DESC_F_NEXT; d = vq->desc[d].next) {
        n++;
    }
    vq->desc[d].next = vq->free_head;
    vq->free_head = id;
    vq->num_free = (uint16_t)(vq->num_free + n);
    return 1;
}

int virtio_wait(bool (*done)(void *arg), void *arg)
{
    while (!done(arg)) {
        if (timer_expired()) {
            return -1;
        }
        wait_for_interrupt();
    }
    /* Done, but only noticed after the deadline: the completion's
     * interrupt never came (or came far too late). */
    return timer_expired() ? -2 : 0;
}

static bool virtio_irq_seen(void *arg)
{
    const struct virtio_dev *d = arg;

    return d->irq_count != 0;
}

int virtio_wait_first_irq(struct virtio_dev *d, uint64_t timeout_us)
{
    int rc;

    if (d->irq_count) {
        return 0;
    }
    timer_start_us(timeout_us);
    rc = virtio_wait(virtio_irq_seen, d);
    timer_stop();
    return rc == -1 ? -1 : 0;
}

static bool virtq_done(void *arg)
{
    return virtq_has_used(arg);
}

int virtq_wait(struct virtq *vq)
{
    return virtio_wait(virtq_done, vq);
}

int virtq_wait_timeout(struct virtq *vq, uint64_t timeout_us)
{
    int rc;

    if (virtq_has_used(vq)) {
        return 0;
    }
    timer_start_us(timeout_us);
    rc = virtq_wait(vq);
    timer_stop();
    return rc;
}
