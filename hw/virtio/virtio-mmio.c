/* SPDX-License-Identifier: MIT */
/*
 * virtio-mmio transport, version 2 (virtio 1.x §4.2.2): decodes the
 * guest's register accesses into calls on the virtio core and the device
 * class, and implements the transport half of vhost — QueueNotify as an
 * ioeventfd per queue (datamatch = queue index) and the slot's GSI as an
 * irqfd per queue.  Registers below 0x100 take aligned 32-bit accesses
 * only; the device config from 0x100 takes 1, 2 and 4 bytes.
 *
 * Every handler runs with the machine lock held (vCPU thread or qtest),
 * so none takes it.  Invalid programming marks the device NEEDS_RESET via
 * virtio_error() and is otherwise ignored: it never stops kvmini.
 */
#include "hw/virtio/virtio-mmio.h"
#include "hw/virtio/virtio-migration.h"

#include "qemu/log.h"

#define VIRTIO_MMIO_MODERN_VERSION 2

static void mmio_guest_error(VirtIOMMIOProxy *proxy, const char *what,
                             hwaddr addr)
{
    qemu_log_mask(LOG_GUEST_ERROR, "virtio-mmio %s: %s at 0x%03" HWADDR_PRIx
                  "\n", proxy->vdev->id, what, addr);
}

static VirtQueue *mmio_selected_vq(VirtIOMMIOProxy *proxy)
{
    VirtIODevice *vdev = proxy->vdev;

    return proxy->queue_sel < vdev->nvqs ? &vdev->vq[proxy->queue_sel] : NULL;
}

/* --- interrupts -------------------------------------------------------- */

/* IOAPIC pins 5..20 are programmed edge-triggered by guests: a pulse. */
static void mmio_raise(VirtIOMMIOProxy *proxy, uint8_t bits)
{
    proxy->vdev->isr |= bits;
    machine_set_irq(proxy->ms, proxy->slot->gsi, 1);
    machine_set_irq(proxy->ms, proxy->slot->gsi, 0);
}

static void mmio_notify_queue(VirtIODevice *vdev, VirtQueue *vq)
{
    mmio_raise(vdev->transport_opaque, VIRTIO_MMIO_INT_VRING);
}

static void mmio_notify_config(VirtIODevice *vdev)
{
    mmio_raise(vdev->transport_opaque, VIRTIO_MMIO_INT_CONFIG);
}

static uint32_t mmio_interrupt_status(VirtIOMMIOProxy *proxy)
{
    /* The backend signals the irqfd directly and cannot set the bit. */
    return proxy->vdev->isr |
           (proxy->irqfd_mode ? VIRTIO_MMIO_INT_VRING : 0);
}

/* --- notifiers (the VirtioTransportOps vhost uses) --------------------- */

static void mmio_unbind_host_notifier(VirtIOMMIOProxy *proxy, VirtQueue *vq,
                                      bool run_pending)
{
    memory_region_del_eventfd(&proxy->iomem, VIRTIO_MMIO_QUEUE_NOTIFY, 4,
                              true, vq->index, &vq->host_notifier);
    vq->host_notifier_bound = false;
    /* A kick that landed while the backend was letting go is not lost. */
    if (run_pending && event_notifier_test_and_clear(&vq->host_notifier) &&
        vq->handler && vq->ready && !proxy->vdev->broken) {
        vq->handler(proxy->vdev, vq);
    }
}

static bool mmio_set_host_notifier(VirtIODevice *vdev, unsigned n,
                                   bool assign, Error **errp)
{
    VirtIOMMIOProxy *proxy = vdev->transport_opaque;
    VirtQueue *vq;

    if (n >= vdev->nvqs) {
        error_setg(errp, "%s: host notifier for queue %u of %u", vdev->id,
                   n, vdev->nvqs);
        return false;
    }
    vq = &vdev->vq[n];
    if (!assign) {
        if (vq->host_notifier_bound) {
            mmio_unbind_host_notifier(proxy, vq, true);
        }
        return true;
    }
    if (vq->host_notifier_bound) {
        return true;
    }
    if (event_notifier_get_fd(&vq->host_notifier) < 0 &&
        !event_notifier_init(&vq->host_notifier, false, errp)) {
        error_prepend(errp, "%s: queue %u host notifier: ", vdev->id, n);
        return false;
    }
    memory_region_add_eventfd(&proxy->iomem, VIRTIO_MMIO_QUEUE_NOTIFY, 4,
                              true, n, &vq->host_notifier);
    vq->host_notifier_bound = true;
    return true;
}

static void mmio_unbind_guest_notifiers(VirtIOMMIOProxy *proxy, unsigned nvqs)
{
    VirtIODevice *vdev = proxy->vdev;
    bool any = false;

    for (unsigned i = 0; i < vdev->nvqs; i++) {
        VirtQueue *vq = &vdev->vq[i];

        if (i < nvqs && vq->guest_notifier_bound) {
            proxy->ms->accel->irqfd_del(proxy->ms, &vq->guest_notifier,
                                        proxy->slot->gsi);
            vq->guest_notifier_bound = false;
        }
        any |= vq->guest_notifier_bound;
    }
    proxy->irqfd_mode = any;
}

static bool mmio_bind_guest_notifier(VirtIOMMIOProxy *proxy, VirtQueue *vq,
                                     Error **errp)
{
    MachineState *ms = proxy->ms;

    if (event_notifier_get_fd(&vq->guest_notifier) < 0 &&
        !event_notifier_init(&vq->guest_notifier, false, errp)) {
        return false;
    }
    if (!ms->accel->irqfd_add) {
        error_setg(errp, "accelerator %s has no irqfd", ms->accel->name);
        return false;
    }
    if (!ms->accel->irqfd_add(ms, &vq->guest_notifier, proxy->slot->gsi,
                              errp)) {
        return false;
    }
    vq->guest_notifier_bound = true;
    return true;
}

static void mmio_guest_notifiers_unwind(VirtIOMMIOProxy *proxy,
                                        uint64_t bound_now)
{
    VirtIODevice *vdev = proxy->vdev;

    for (unsigned i = 0; i < vdev->nvqs; i++) {
        if (bound_now & (1ULL << i)) {
            proxy->ms->accel->irqfd_del(proxy->ms, &vdev->vq[i].guest_notifier,
                                        proxy->slot->gsi);
            vdev->vq[i].guest_notifier_bound = false;
        }
    }
}

static bool mmio_set_guest_notifiers(VirtIODevice *vdev, unsigned nvqs,
                                     bool assign, Error **errp)
{
    VirtIOMMIOProxy *proxy = vdev->transport_opaque;
    uint64_t bound_now = 0;     /* queues this call bound, for the unwind */

    nvqs = MIN(nvqs, vdev->nvqs);
    if (!assign) {
        mmio_unbind_guest_notifiers(proxy, nvqs);
        return true;
    }
    for (unsigned i = 0; i < nvqs; i++) {
        VirtQueue *vq = &vdev->vq[i];

        if (vq->guest_notifier_bound) {
            continue;
        }
        if (!mmio_bind_guest_notifier(proxy, vq, errp)) {
            error_prepend(errp, "%s: queue %u guest notifier: ", vdev->id, i);
            mmio_guest_notifiers_unwind(proxy, bound_now);
            return false;
        }
        bound_now |= 1ULL << i;
    }
    proxy->irqfd_mode = nvqs > 0 || proxy->irqfd_mode;
    return true;
}

static const VirtioTransportOps mmio_transport_ops = {
    .set_host_notifier = mmio_set_host_notifier,
    .set_guest_notifiers = mmio_set_guest_notifiers,
    .notify_queue = mmio_notify_queue,
    .notify_config = mmio_notify_config,
};

/* --- features and status ----------------------------------------------- */

static uint32_t mmio_device_features(VirtIOMMIOProxy *proxy)
{
    uint64_t f = virtio_host_features(proxy->vdev);

    switch (proxy->host_features_sel) {
    case 0:
        return (uint32_t)f;
    case 1:
        return f >> 32;
    default:
        return 0;
    }
}

static void mmio_write_driver_features(VirtIOMMIOProxy *proxy, uint32_t val)
{
    uint64_t *f = &proxy->guest_features;

    if (proxy->vdev->status & VIRTIO_CONFIG_S_FEATURES_OK) {
        mmio_guest_error(proxy, "DriverFeatures written after FEATURES_OK, "
                         "ignored", VIRTIO_MMIO_DRIVER_FEATURES);
        return;
    }
    switch (proxy->guest_features_sel) {
    case 0:
        *f = (*f & 0xffffffff00000000ULL) | val;
        break;
    case 1:
        *f = (*f & 0xffffffffULL) | ((uint64_t)val << 32);
        break;
    default:
        if (val) {
            mmio_guest_error(proxy, "DriverFeatures word beyond 1 with "
                             "bits set, ignored",
                             VIRTIO_MMIO_DRIVER_FEATURES);
        }
        break;
    }
}

static void mmio_reset(VirtIOMMIOProxy *proxy)
{
    virtio_reset(proxy->vdev);
    proxy->host_features_sel = 0;
    proxy->guest_features_sel = 0;
    proxy->queue_sel = 0;
    proxy->shm_sel = 0;
    proxy->guest_features = 0;
}

/* FEATURES_OK is kept only if negotiation succeeds; otherwise the driver
 * reads it back clear (virtio 1.x §3.1.1 step 6). */
static uint8_t mmio_negotiate(VirtIOMMIOProxy *proxy, uint8_t status)
{
    VirtIODevice *vdev = proxy->vdev;
    Error *err = NULL;

    if (!(status & VIRTIO_CONFIG_S_FEATURES_OK) ||
        (vdev->status & VIRTIO_CONFIG_S_FEATURES_OK)) {
        return status;
    }
    if (!virtio_set_features(vdev, proxy->guest_features, &err)) {
        qemu_log_mask(LOG_GUEST_ERROR, "virtio-mmio %s: FEATURES_OK "
                      "refused: %s\n", vdev->id, error_get_pretty(err));
        error_free(err);
        status &= ~VIRTIO_CONFIG_S_FEATURES_OK;
    }
    return status;
}

static void mmio_write_status(VirtIOMMIOProxy *proxy, uint32_t val)
{
    VirtIODevice *vdev = proxy->vdev;
    uint8_t status = val & 0xff;

    if (!status) {
        mmio_reset(proxy);
        return;
    }
    if (vdev->broken) {
        mmio_guest_error(proxy, "status write while the device needs "
                         "reset, ignored", VIRTIO_MMIO_STATUS);
        return;
    }
    status = mmio_negotiate(proxy, status);
    if ((status & VIRTIO_CONFIG_S_DRIVER_OK) &&
        !(status & VIRTIO_CONFIG_S_FEATURES_OK)) {
        virtio_error(vdev, "DRIVER_OK set without FEATURES_OK "
                     "(status 0x%02x)", status);
        return;
    }
    virtio_set_status(vdev, status);
}

/* --- queues ------------------------------------------------------------ */

static uint32_t mmio_queue_read(VirtIOMMIOProxy *proxy, hwaddr addr)
{
    VirtQueue *vq = mmio_selected_vq(proxy);

    /* virtio 1.x §4.2.2: a queue that does not exist reads QueueNumMax 0,
     * which is how drivers probe; its other registers read 0 too. */
    if (!vq) {
        return 0;
    }
    switch (addr) {
    case VIRTIO_MMIO_QUEUE_NUM_MAX:    return vq->num_max;
    case VIRTIO_MMIO_QUEUE_NUM:        return vq->num;
    case VIRTIO_MMIO_QUEUE_READY:      return vq->ready;
    case VIRTIO_MMIO_QUEUE_DESC_LOW:   return (uint32_t)vq->desc;
    case VIRTIO_MMIO_QUEUE_DESC_HIGH:  return vq->desc >> 32;
    case VIRTIO_MMIO_QUEUE_AVAIL_LOW:  return (uint32_t)vq->avail;
    case VIRTIO_MMIO_QUEUE_AVAIL_HIGH: return vq->avail >> 32;
    case VIRTIO_MMIO_QUEUE_USED_LOW:   return (uint32_t)vq->used;
    case VIRTIO_MMIO_QUEUE_USED_HIGH:  return vq->used >> 32;
    default:                           return 0;
    }
}

static void mmio_queue_set_ready(VirtIOMMIOProxy *proxy, VirtQueue *vq,
                                 uint32_t val)
{
    Error *err = NULL;

    if (!val) {
        vq->ready = false;
        return;
    }
    if (vq->ready) {
        return;
    }
    if (!virtio_queue_valid(proxy->vdev, vq->index, &err)) {
        virtio_error(proxy->vdev, "QueueReady: %s", error_get_pretty(err));
        error_free(err);
        return;
    }
    vq->ready = true;
}

static void set_half(hwaddr *reg, bool high, uint32_t val)
{
    if (high) {
        *reg = (*reg & 0xffffffffULL) | ((hwaddr)val << 32);
    } else {
        *reg = (*reg & 0xffffffff00000000ULL) | val;
    }
}

static void mmio_queue_set_reg(VirtQueue *vq, hwaddr addr, uint32_t val)
{
    switch (addr) {
    case VIRTIO_MMIO_QUEUE_NUM:
        /* Range, power of two and QueueNumMax are checked at QueueReady;
         * QueueNum is 16 bits wide, a larger value cannot be valid. */
        if (val > UINT16_MAX) {
            virtio_error(vq->vdev, "queue %u: QueueNum %u above "
                         "QueueNumMax %u", vq->index, val, vq->num_max);
            return;
        }
        vq->num = val;
        break;
    case VIRTIO_MMIO_QUEUE_DESC_LOW:
    case VIRTIO_MMIO_QUEUE_DESC_HIGH:
        set_half(&vq->desc, addr == VIRTIO_MMIO_QUEUE_DESC_HIGH, val);
        break;
    case VIRTIO_MMIO_QUEUE_AVAIL_LOW:
    case VIRTIO_MMIO_QUEUE_AVAIL_HIGH:
        set_half(&vq->avail, addr == VIRTIO_MMIO_QUEUE_AVAIL_HIGH, val);
        break;
    case VIRTIO_MMIO_QUEUE_USED_LOW:
    case VIRTIO_MMIO_QUEUE_USED_HIGH:
        set_half(&vq->used, addr == VIRTIO_MMIO_QUEUE_USED_HIGH, val);
        break;
    }
}

static void mmio_queue_write(VirtIOMMIOProxy *proxy, hwaddr addr,
                             uint32_t val)
{
    VirtIODevice *vdev = proxy->vdev;
    VirtQueue *vq = mmio_selected_vq(proxy);

    if (vdev->broken) {
        mmio_guest_error(proxy, "queue write while the device needs reset, "
                         "ignored", addr);
        return;
    }
    if (!vq) {
        virtio_error(vdev, "write to queue register 0x%03" HWADDR_PRIx
                     " with QueueSel %u out of range (%u queues)", addr,
                     proxy->queue_sel, vdev->nvqs);
        return;
    }
    if (addr == VIRTIO_MMIO_QUEUE_READY) {
        mmio_queue_set_ready(proxy, vq, val);
        return;
    }
    if (vq->ready) {
        virtio_error(vdev, "queue %u: write to register 0x%03" HWADDR_PRIx
                     " while QueueReady is set", vq->index, addr);
        return;
    }
    mmio_queue_set_reg(vq, addr, val);
}

/* Reached only when no ioeventfd matched: the queue's host notifier is not
 * bound (VMM-side queue), or the accelerator let the write through. */
static void mmio_queue_notify(VirtIOMMIOProxy *proxy, uint32_t val)
{
    VirtIODevice *vdev = proxy->vdev;
    VirtQueue *vq;

    if (val >= vdev->nvqs) {
        mmio_guest_error(proxy, "QueueNotify for a queue that does not "
                         "exist, ignored", VIRTIO_MMIO_QUEUE_NOTIFY);
        return;
    }
    vq = &vdev->vq[val];
    if (vq->host_notifier_bound) {
        event_notifier_set(&vq->host_notifier);
    } else if (vq->handler && vq->ready && !vdev->broken) {
        vq->handler(vdev, vq);
    }
}

/* --- config space ------------------------------------------------------ */

static bool mmio_config_check(VirtIOMMIOProxy *proxy, hwaddr off,
                              unsigned size, bool is_write)
{
    VirtIODevice *vdev = proxy->vdev;

    if (off + size <= vdev->config_len) {
        return true;
    }
    virtio_error(vdev, "config %s of %u byte(s) at offset 0x%" HWADDR_PRIx
                 " beyond config length %u", is_write ? "write" : "read",
                 size, off, vdev->config_len);
    return false;
}

static uint64_t mmio_config_read(VirtIOMMIOProxy *proxy, hwaddr off,
                                 unsigned size)
{
    VirtIODevice *vdev = proxy->vdev;
    uint64_t val = 0;

    if (!mmio_config_check(proxy, off, size, false)) {
        return 0;
    }
    if (vdev->cls->get_config) {
        vdev->cls->get_config(vdev);
    }
    for (unsigned i = 0; i < size; i++) {
        val |= (uint64_t)vdev->config[off + i] << (8 * i);
    }
    return val;
}

static void mmio_config_write(VirtIOMMIOProxy *proxy, hwaddr off,
                              uint64_t val, unsigned size)
{
    VirtIODevice *vdev = proxy->vdev;

    if (!mmio_config_check(proxy, off, size, true)) {
        return;
    }
    for (unsigned i = 0; i < size; i++) {
        vdev->config[off + i] = val >> (8 * i);
    }
    if (vdev->cls->set_config) {
        vdev->cls->set_config(vdev, off, size);
    }
}

/* --- register dispatch ------------------------------------------------- */

static uint32_t mmio_read_reg(VirtIOMMIOProxy *proxy, hwaddr addr)
{
    VirtIODevice *vdev = proxy->vdev;

    switch (addr) {
    case VIRTIO_MMIO_MAGIC_VALUE:       return VIRTIO_MMIO_MAGIC;
    case VIRTIO_MMIO_VERSION:           return VIRTIO_MMIO_MODERN_VERSION;
    case VIRTIO_MMIO_DEVICE_ID:         return vdev->cls->device_id;
    case VIRTIO_MMIO_VENDOR_ID:         return VIRTIO_MMIO_VENDOR;
    case VIRTIO_MMIO_DEVICE_FEATURES:   return mmio_device_features(proxy);
    case VIRTIO_MMIO_DEVICE_FEATURES_SEL: return proxy->host_features_sel;
    case VIRTIO_MMIO_DRIVER_FEATURES_SEL: return proxy->guest_features_sel;
    case VIRTIO_MMIO_QUEUE_SEL:         return proxy->queue_sel;
    case VIRTIO_MMIO_QUEUE_NUM_MAX:
    case VIRTIO_MMIO_QUEUE_NUM:
    case VIRTIO_MMIO_QUEUE_READY:
    case VIRTIO_MMIO_QUEUE_DESC_LOW:
    case VIRTIO_MMIO_QUEUE_DESC_HIGH:
    case VIRTIO_MMIO_QUEUE_AVAIL_LOW:
    case VIRTIO_MMIO_QUEUE_AVAIL_HIGH:
    case VIRTIO_MMIO_QUEUE_USED_LOW:
    case VIRTIO_MMIO_QUEUE_USED_HIGH:
        return mmio_queue_read(proxy, addr);
    case VIRTIO_MMIO_INTERRUPT_STATUS:  return mmio_interrupt_status(proxy);
    case VIRTIO_MMIO_STATUS:            return vdev->status;
    case VIRTIO_MMIO_SHM_SEL:           return proxy->shm_sel;
    /* No shared memory regions: length ~0 says "does not exist". */
    case VIRTIO_MMIO_SHM_LEN_LOW:
    case VIRTIO_MMIO_SHM_LEN_HIGH:      return UINT32_MAX;
    case VIRTIO_MMIO_SHM_BASE_LOW:
    case VIRTIO_MMIO_SHM_BASE_HIGH:     return 0;
    case VIRTIO_MMIO_CONFIG_GENERATION: return vdev->generation;
    default:
        mmio_guest_error(proxy, "read of a write-only or unknown register",
                         addr);
        return 0;
    }
}

static void mmio_write_reg(VirtIOMMIOProxy *proxy, hwaddr addr, uint32_t val)
{
    switch (addr) {
    case VIRTIO_MMIO_DEVICE_FEATURES_SEL:
        proxy->host_features_sel = val;
        break;
    case VIRTIO_MMIO_DRIVER_FEATURES:
        mmio_write_driver_features(proxy, val);
        break;
    case VIRTIO_MMIO_DRIVER_FEATURES_SEL:
        proxy->guest_features_sel = val;
        break;
    case VIRTIO_MMIO_QUEUE_SEL:
        proxy->queue_sel = val;
        break;
    case VIRTIO_MMIO_QUEUE_NUM:
    case VIRTIO_MMIO_QUEUE_READY:
    case VIRTIO_MMIO_QUEUE_DESC_LOW:
    case VIRTIO_MMIO_QUEUE_DESC_HIGH:
    case VIRTIO_MMIO_QUEUE_AVAIL_LOW:
    case VIRTIO_MMIO_QUEUE_AVAIL_HIGH:
    case VIRTIO_MMIO_QUEUE_USED_LOW:
    case VIRTIO_MMIO_QUEUE_USED_HIGH:
        mmio_queue_write(proxy, addr, val);
        break;
    case VIRTIO_MMIO_QUEUE_NOTIFY:
        mmio_queue_notify(proxy, val);
        break;
    case VIRTIO_MMIO_INTERRUPT_ACK:
        proxy->vdev->isr &= ~val;
        break;
    case VIRTIO_MMIO_STATUS:
        mmio_write_status(proxy, val);
        break;
    case VIRTIO_MMIO_SHM_SEL:
        proxy->shm_sel = val;
        break;
    default:
        mmio_guest_error(proxy, "write to a read-only or unknown register, "
                         "ignored", addr);
        break;
    }
}

static uint64_t mmio_read(void *opaque, hwaddr addr, unsigned size)
{
    VirtIOMMIOProxy *proxy = opaque;

    if (addr >= VIRTIO_MMIO_CONFIG) {
        return mmio_config_read(proxy, addr - VIRTIO_MMIO_CONFIG, size);
    }
    if (size != 4 || (addr & 3)) {
        mmio_guest_error(proxy, "register read not 32-bit aligned", addr);
        return 0;
    }
    return mmio_read_reg(proxy, addr);
}

static void mmio_write(void *opaque, hwaddr addr, uint64_t val,
                       unsigned size)
{
    VirtIOMMIOProxy *proxy = opaque;

    if (addr >= VIRTIO_MMIO_CONFIG) {
        mmio_config_write(proxy, addr - VIRTIO_MMIO_CONFIG, val, size);
        return;
    }
    if (size != 4 || (addr & 3)) {
        mmio_guest_error(proxy, "register write not 32-bit aligned, ignored",
                         addr);
        return;
    }
    mmio_write_reg(proxy, addr, val);
}

static const MemoryRegionOps mmio_ops = {
    .read = mmio_read,
    .write = mmio_write,
    .impl_min = 1,
    .impl_max = 4,
};

/* --- plug / unplug ----------------------------------------------------- */

bool virtio_mmio_plug(VirtIOMMIOProxy *proxy, VirtIODevice *vdev,
                      MachineState *ms, Error **errp)
{
    g_autofree char *name = g_strdup_printf("virtio-mmio-%s", vdev->id);

    *proxy = (VirtIOMMIOProxy){ .vdev = vdev, .ms = ms };
    if (!machine_alloc_mmio_slot(ms, vdev->id, &proxy->slot, errp)) {
        error_prepend(errp, "%s: ", vdev->id);
        return false;
    }
    memory_region_init_io(&proxy->iomem, &mmio_ops, proxy, name,
                          VIRTIO_MMIO_SLOT_SIZE);
    vdev->ms = ms;
    vdev->dma_as = &ms->address_space_memory;
    vdev->transport = &mmio_transport_ops;
    vdev->transport_opaque = proxy;
    memory_region_add_subregion(&ms->system_memory, proxy->slot->base,
                                &proxy->iomem);
    virtio_migration_register(proxy);
    return true;
}

void virtio_mmio_unplug(VirtIOMMIOProxy *proxy)
{
    VirtIODevice *vdev = proxy->vdev;

    if (!vdev || vdev->transport_opaque != proxy) {
        *proxy = (VirtIOMMIOProxy){ 0 };
        return;
    }
    virtio_migration_unregister(proxy);
    /* One listener update for all the ioeventfds and the unmap; the fds
     * are closed only after it, so KVM still knows them at deassign. */
    address_space_transaction_begin(&proxy->ms->address_space_memory);
    for (unsigned i = 0; i < vdev->nvqs; i++) {
        if (vdev->vq[i].host_notifier_bound) {
            mmio_unbind_host_notifier(proxy, &vdev->vq[i], false);
        }
    }
    mmio_unbind_guest_notifiers(proxy, vdev->nvqs);
    if (proxy->iomem.container) {
        memory_region_del_subregion(proxy->iomem.container, &proxy->iomem);
    }
    address_space_transaction_commit(&proxy->ms->address_space_memory);
    memory_region_finalize(&proxy->iomem);
    for (unsigned i = 0; i < vdev->nvqs; i++) {
        event_notifier_cleanup(&vdev->vq[i].host_notifier);
        event_notifier_cleanup(&vdev->vq[i].guest_notifier);
    }
    vdev->transport = NULL;
    vdev->transport_opaque = NULL;
    *proxy = (VirtIOMMIOProxy){ 0 };
}
