/* SPDX-License-Identifier: MIT */
/*
 * The virtio-mmio driver for tests (see virtio-mmio-driver.h): registers
 * and guest memory are accessed with qtest commands sent through
 * qvirtio_cmd(), which reads reply lines itself so that it can count the
 * "IRQ raise <gsi>" lines in front of them.
 *
 * Split virtqueue layout (virtio 1.x, 2.7): descriptor table (16 bytes per
 * entry, 16-byte aligned), avail ring (flags, idx, ring[num], used_event;
 * 2-byte aligned) and used ring (flags, idx, ring[num] of {id, len},
 * avail_event; 4-byte aligned).  Each part gets its own page here.  The
 * descriptor free list is kept on the host side: the driver wrote every
 * descriptor, so it knows each chain without reading it back.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <linux/virtio_blk.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ring.h>

#include "hw/virtio/virtio-mmio.h"
#include "virtio-mmio-driver.h"

#define QVIRTIO_POLL_US 500

/* --- allocator ------------------------------------------------------------ */

void qguest_alloc_init(QGuestAlloc *a, uint64_t start, uint64_t end)
{
    g_assert_cmphex(start, <=, end);
    *a = (QGuestAlloc) { .start = start, .next = start, .end = end };
}

uint64_t qguest_alloc(QGuestAlloc *a, uint64_t size, uint64_t align)
{
    uint64_t addr;

    g_assert(align && (align & (align - 1)) == 0);
    addr = (a->next + align - 1) & ~(align - 1);
    if (addr > a->end || size > a->end - addr) {
        g_error("qguest_alloc: 0x%" PRIx64 " bytes do not fit below 0x%"
                PRIx64, size, a->end);
    }
    a->next = addr + size;
    return addr;
}

/* --- commands that count interrupts --------------------------------------- */

static void qvirtio_note_irq(QVirtioDevice *d, const char *line)
{
    unsigned gsi;
    char c;

    if (sscanf(line, "IRQ raise %u%c", &gsi, &c) == 1 && gsi == d->gsi) {
        d->irqs++;
    }
}

/* Send one command and insist on "OK"; returns the reply (caller frees). */
static char *G_GNUC_PRINTF(2, 3) qvirtio_cmd(QVirtioDevice *d,
                                             const char *fmt, ...)
{
    g_autofree char *cmd = NULL;
    va_list ap;

    va_start(ap, fmt);
    cmd = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    qtest_send_raw(d->qts, cmd, strlen(cmd));
    qtest_send_raw(d->qts, "\n", 1);
    for (;;) {
        char *line = qtest_recv_any_line(d->qts);

        if (!g_str_has_prefix(line, "IRQ ")) {
            if (strcmp(line, "OK") != 0 && !g_str_has_prefix(line, "OK ")) {
                g_error("qvirtio: '%.200s' got '%.200s'", cmd, line);
            }
            return line;
        }
        qvirtio_note_irq(d, line);
        g_free(line);
    }
}

static uint64_t qvirtio_cmd_value(QVirtioDevice *d, const char *op,
                                  uint64_t addr)
{
    g_autofree char *rsp = qvirtio_cmd(d, "%s 0x%" PRIx64, op, addr);

    return g_ascii_strtoull(rsp + 3, NULL, 0);
}

static void qvirtio_cmd_write(QVirtioDevice *d, char w, uint64_t addr,
                              uint64_t v)
{
    g_free(qvirtio_cmd(d, "write%c 0x%" PRIx64 " 0x%" PRIx64, w, addr, v));
}

static uint16_t qvirtio_mem_readw(QVirtioDevice *d, uint64_t gpa)
{
    return qvirtio_cmd_value(d, "readw", gpa);
}

static uint32_t qvirtio_mem_readl(QVirtioDevice *d, uint64_t gpa)
{
    return qvirtio_cmd_value(d, "readl", gpa);
}

void qvirtio_memwrite(QVirtioDevice *d, uint64_t gpa, const void *buf,
                      size_t len)
{
    const uint8_t *p = buf;
    g_autoptr(GString) hex = g_string_sized_new(2 * len + 1);

    if (len == 0) {
        return;
    }
    for (size_t i = 0; i < len; i++) {
        g_string_append_printf(hex, "%02x", p[i]);
    }
    g_free(qvirtio_cmd(d, "write 0x%" PRIx64 " 0x%zx 0x%s", gpa, len,
                       hex->str));
}

void qvirtio_memread(QVirtioDevice *d, uint64_t gpa, void *buf, size_t len)
{
    g_autofree char *rsp = NULL;
    uint8_t *p = buf;

    if (len == 0) {
        return;
    }
    rsp = qvirtio_cmd(d, "read 0x%" PRIx64 " 0x%zx", gpa, len);
    g_assert(g_str_has_prefix(rsp, "OK 0x"));
    g_assert_cmpuint(strlen(rsp), ==, 5 + 2 * len);
    for (size_t i = 0; i < len; i++) {
        p[i] = g_ascii_xdigit_value(rsp[5 + 2 * i]) << 4 |
               g_ascii_xdigit_value(rsp[6 + 2 * i]);
    }
}

/* --- registers ------------------------------------------------------------ */

uint64_t qvirtio_mmio_slot_base(unsigned slot)
{
    return QVIRTIO_MMIO_BASE + (uint64_t)QVIRTIO_MMIO_SLOT_SIZE * slot;
}

unsigned qvirtio_mmio_slot_gsi(unsigned slot)
{
    return QVIRTIO_MMIO_GSI_BASE + slot;
}

uint32_t qvirtio_readl(QVirtioDevice *d, uint32_t offset)
{
    return qvirtio_cmd_value(d, "readl", d->base + offset);
}

void qvirtio_writel(QVirtioDevice *d, uint32_t offset, uint32_t value)
{
    qvirtio_cmd_write(d, 'l', d->base + offset, value);
}

uint8_t qvirtio_config_readb(QVirtioDevice *d, uint32_t offset)
{
    return qvirtio_cmd_value(d, "readb", d->base + VIRTIO_MMIO_CONFIG +
                             offset);
}

uint16_t qvirtio_config_readw(QVirtioDevice *d, uint32_t offset)
{
    return qvirtio_cmd_value(d, "readw", d->base + VIRTIO_MMIO_CONFIG +
                             offset);
}

uint32_t qvirtio_config_readl(QVirtioDevice *d, uint32_t offset)
{
    return qvirtio_cmd_value(d, "readl", d->base + VIRTIO_MMIO_CONFIG +
                             offset);
}

uint64_t qvirtio_config_readq(QVirtioDevice *d, uint32_t offset)
{
    /* Two 32-bit reads, as drivers do on virtio-mmio. */
    uint64_t lo = qvirtio_config_readl(d, offset);

    return lo | (uint64_t)qvirtio_config_readl(d, offset + 4) << 32;
}

void qvirtio_config_writeb(QVirtioDevice *d, uint32_t offset, uint8_t v)
{
    qvirtio_cmd_write(d, 'b', d->base + VIRTIO_MMIO_CONFIG + offset, v);
}

bool qvirtio_mmio_probe(QVirtioDevice *d, QTestState *qts, unsigned slot)
{
    *d = (QVirtioDevice) {
        .qts = qts, .slot = slot,
        .base = qvirtio_mmio_slot_base(slot),
        .gsi = qvirtio_mmio_slot_gsi(slot),
    };
    g_free(qvirtio_cmd(d, "irq_intercept_in ioapic"));
    if (qvirtio_readl(d, VIRTIO_MMIO_MAGIC_VALUE) != VIRTIO_MMIO_MAGIC ||
        qvirtio_readl(d, VIRTIO_MMIO_VERSION) != 2) {
        return false;
    }
    d->device_id = qvirtio_readl(d, VIRTIO_MMIO_DEVICE_ID);
    return d->device_id != 0;
}

uint8_t qvirtio_get_status(QVirtioDevice *d)
{
    return qvirtio_readl(d, VIRTIO_MMIO_STATUS);
}

void qvirtio_set_status(QVirtioDevice *d, uint8_t status)
{
    qvirtio_writel(d, VIRTIO_MMIO_STATUS, status);
}

void qvirtio_reset(QVirtioDevice *d)
{
    qvirtio_set_status(d, 0);
    g_assert_cmphex(qvirtio_get_status(d), ==, 0);
}

uint64_t qvirtio_get_features(QVirtioDevice *d)
{
    uint64_t f;

    qvirtio_writel(d, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
    f = qvirtio_readl(d, VIRTIO_MMIO_DEVICE_FEATURES);
    qvirtio_writel(d, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
    return f | (uint64_t)qvirtio_readl(d, VIRTIO_MMIO_DEVICE_FEATURES) << 32;
}

bool qvirtio_negotiate(QVirtioDevice *d, uint64_t wanted)
{
    uint8_t s = VIRTIO_CONFIG_S_ACKNOWLEDGE;

    qvirtio_set_status(d, s);
    s |= VIRTIO_CONFIG_S_DRIVER;
    qvirtio_set_status(d, s);
    d->host_features = qvirtio_get_features(d);
    d->features = (d->host_features & wanted) |
                  (1ULL << VIRTIO_F_VERSION_1);
    qvirtio_writel(d, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
    qvirtio_writel(d, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)d->features);
    qvirtio_writel(d, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
    qvirtio_writel(d, VIRTIO_MMIO_DRIVER_FEATURES, d->features >> 32);
    s |= VIRTIO_CONFIG_S_FEATURES_OK;
    qvirtio_set_status(d, s);
    return qvirtio_get_status(d) & VIRTIO_CONFIG_S_FEATURES_OK;
}

void qvirtio_driver_ok(QVirtioDevice *d)
{
    qvirtio_set_status(d, qvirtio_get_status(d) | VIRTIO_CONFIG_S_DRIVER_OK);
}

/* --- interrupts ----------------------------------------------------------- */

uint32_t qvirtio_isr(QVirtioDevice *d)
{
    return qvirtio_readl(d, VIRTIO_MMIO_INTERRUPT_STATUS);
}

void qvirtio_isr_ack(QVirtioDevice *d, uint32_t bits)
{
    qvirtio_writel(d, VIRTIO_MMIO_INTERRUPT_ACK, bits);
}

unsigned qvirtio_poll_irqs(QVirtioDevice *d)
{
    /* Any reply comes after the IRQ lines sent before it. */
    g_free(qvirtio_cmd(d, "endianness"));
    return d->irqs;
}

bool qvirtio_wait_irq(QVirtioDevice *d, int timeout_ms)
{
    gint64 end = g_get_monotonic_time() +
                 (gint64)timeout_ms * G_TIME_SPAN_MILLISECOND;

    while (qvirtio_poll_irqs(d) == d->irqs_taken) {
        if (g_get_monotonic_time() > end) {
            return false;
        }
        g_usleep(QVIRTIO_POLL_US);
    }
    d->irqs_taken = d->irqs;
    return true;
}

/* --- virtqueues ----------------------------------------------------------- */

static void qvirtio_write_addr(QVirtioDevice *d, uint32_t lo, uint64_t gpa)
{
    qvirtio_writel(d, lo, (uint32_t)gpa);
    qvirtio_writel(d, lo + 4, gpa >> 32);
}

static void qvirtqueue_alloc_rings(QVirtQueue *vq, QGuestAlloc *a)
{
    QVirtioDevice *d = vq->dev;
    uint64_t n = vq->num;
    uint64_t desc_size = 16 * n;
    uint64_t avail_size = 6 + 2 * n;
    uint64_t used_size = 6 + 8 * n;

    vq->desc = qguest_alloc(a, desc_size, 4096);
    vq->avail = qguest_alloc(a, avail_size, 4096);
    vq->used = qguest_alloc(a, used_size, 4096);
    g_free(qvirtio_cmd(d, "memset 0x%" PRIx64 " 0x%" PRIx64 " 0", vq->desc,
                       desc_size));
    g_free(qvirtio_cmd(d, "memset 0x%" PRIx64 " 0x%" PRIx64 " 0", vq->avail,
                       avail_size));
    g_free(qvirtio_cmd(d, "memset 0x%" PRIx64 " 0x%" PRIx64 " 0", vq->used,
                       used_size));
}

QVirtQueue *qvirtqueue_setup(QVirtioDevice *d, QGuestAlloc *a,
                             unsigned index, uint16_t num)
{
    QVirtQueue *vq = g_new0(QVirtQueue, 1);
    uint32_t max;

    qvirtio_writel(d, VIRTIO_MMIO_QUEUE_SEL, index);
    g_assert_cmpuint(qvirtio_readl(d, VIRTIO_MMIO_QUEUE_READY), ==, 0);
    max = qvirtio_readl(d, VIRTIO_MMIO_QUEUE_NUM_MAX);
    g_assert_cmpuint(max, >, 0);
    vq->dev = d;
    vq->index = index;
    vq->num = num ? MIN(num, max) : max;
    vq->num_free = vq->num;
    vq->next = g_new(uint16_t, vq->num);
    vq->chain_len = g_new0(uint16_t, vq->num);
    for (uint16_t i = 0; i < vq->num; i++) {
        vq->next[i] = i + 1;
    }
    qvirtqueue_alloc_rings(vq, a);
    qvirtio_writel(d, VIRTIO_MMIO_QUEUE_NUM, vq->num);
    qvirtio_write_addr(d, VIRTIO_MMIO_QUEUE_DESC_LOW, vq->desc);
    qvirtio_write_addr(d, VIRTIO_MMIO_QUEUE_AVAIL_LOW, vq->avail);
    qvirtio_write_addr(d, VIRTIO_MMIO_QUEUE_USED_LOW, vq->used);
    qvirtio_writel(d, VIRTIO_MMIO_QUEUE_READY, 1);
    return vq;
}

void qvirtqueue_free(QVirtQueue *vq)
{
    if (vq) {
        g_free(vq->next);
        g_free(vq->chain_len);
        g_free(vq);
    }
}

static void qvirtqueue_write_desc(QVirtQueue *vq, uint16_t i,
                                  const QVirtqBuf *buf, bool has_next)
{
    struct vring_desc desc = {
        .addr = buf->gpa,
        .len = buf->len,
        .flags = (buf->write ? VRING_DESC_F_WRITE : 0) |
                 (has_next ? VRING_DESC_F_NEXT : 0),
        .next = has_next ? vq->next[i] : 0,
    };

    qvirtio_memwrite(vq->dev, vq->desc + 16ULL * i, &desc, sizeof(desc));
}

uint16_t qvirtqueue_add(QVirtQueue *vq, const QVirtqBuf *bufs, unsigned n)
{
    uint16_t head = vq->free_head, i = head;
    uint64_t slot;

    g_assert(n > 0);
    if (n > vq->num_free) {
        g_error("qvirtqueue %u: %u descriptors wanted, %u free", vq->index,
                n, vq->num_free);
    }
    for (unsigned k = 0; k < n; k++) {
        qvirtqueue_write_desc(vq, i, &bufs[k], k + 1 < n);
        if (k + 1 < n) {
            i = vq->next[i];
        }
    }
    vq->free_head = vq->next[i];
    vq->num_free -= n;
    vq->chain_len[head] = n;
    slot = vq->avail + 4 + 2ULL * (vq->avail_idx % vq->num);
    qvirtio_cmd_write(vq->dev, 'w', slot, head);
    vq->avail_idx++;
    /* The index last: the device may look at the ring at any time. */
    qvirtio_cmd_write(vq->dev, 'w', vq->avail + 2, vq->avail_idx);
    return head;
}

void qvirtqueue_kick(QVirtQueue *vq)
{
    qvirtio_writel(vq->dev, VIRTIO_MMIO_QUEUE_NOTIFY, vq->index);
}

uint16_t qvirtqueue_used_idx(QVirtQueue *vq)
{
    return qvirtio_mem_readw(vq->dev, vq->used + 2);
}

/* Return the chain at head to the free list. */
static void qvirtqueue_detach(QVirtQueue *vq, uint16_t head)
{
    uint16_t i = head, n = vq->chain_len[head];

    g_assert_cmpuint(n, >, 0);
    for (uint16_t k = 1; k < n; k++) {
        i = vq->next[i];
    }
    vq->next[i] = vq->free_head;
    vq->free_head = head;
    vq->num_free += n;
    vq->chain_len[head] = 0;
}

bool qvirtqueue_get_used(QVirtQueue *vq, uint32_t *head, uint32_t *len)
{
    uint64_t elem;
    uint32_t id;

    if (qvirtqueue_used_idx(vq) == vq->last_used) {
        return false;
    }
    elem = vq->used + 4 + 8ULL * (vq->last_used % vq->num);
    id = qvirtio_mem_readl(vq->dev, elem);
    g_assert_cmpuint(id, <, vq->num);
    if (head) {
        *head = id;
    }
    if (len) {
        *len = qvirtio_mem_readl(vq->dev, elem + 4);
    }
    vq->last_used++;
    qvirtqueue_detach(vq, id);
    return true;
}

bool qvirtqueue_wait_used(QVirtQueue *vq, uint32_t *head, uint32_t *len,
                          int timeout_ms)
{
    gint64 end = g_get_monotonic_time() +
                 (gint64)timeout_ms * G_TIME_SPAN_MILLISECOND;

    while (!qvirtqueue_get_used(vq, head, len)) {
        if (g_get_monotonic_time() > end) {
            return false;
        }
        g_usleep(QVIRTIO_POLL_US);
    }
    return true;
}

/* --- virtio-blk ----------------------------------------------------------- */

/* Data descriptors for req: len split over nsegs (the last takes the
 * remainder).  Returns how many were added to bufs. */
static unsigned qvirtio_blk_data_bufs(const QVirtioBlkReq *req,
                                      unsigned nsegs, QVirtqBuf *bufs)
{
    bool write = req->type != VIRTIO_BLK_T_OUT;
    size_t seg, off = 0;

    if (req->len == 0) {
        return 0;
    }
    nsegs = MAX(1, MIN(nsegs, req->len));
    seg = req->len / nsegs;
    for (unsigned i = 0; i < nsegs; i++) {
        size_t l = i + 1 < nsegs ? seg : req->len - off;

        bufs[i] = (QVirtqBuf) { req->data_gpa + off, l, write };
        off += l;
    }
    return nsegs;
}

QVirtioBlkReq qvirtio_blk_submit(QVirtQueue *vq, QGuestAlloc *a,
                                 uint32_t type, uint64_t sector,
                                 const void *out, size_t len,
                                 unsigned nsegs)
{
    struct virtio_blk_outhdr hdr = { .type = type, .sector = sector };
    QVirtioBlkReq req = { .type = type, .len = len };
    g_autofree QVirtqBuf *bufs = g_new(QVirtqBuf, MAX(nsegs, 1) + 2);
    unsigned n = 0;
    uint8_t poison = 0xff;

    req.hdr_gpa = qguest_alloc(a, sizeof(hdr), 16);
    req.data_gpa = len ? qguest_alloc(a, len, 16) : 0;
    req.status_gpa = qguest_alloc(a, 1, 1);
    qvirtio_memwrite(vq->dev, req.hdr_gpa, &hdr, sizeof(hdr));
    if (type == VIRTIO_BLK_T_OUT && out) {
        qvirtio_memwrite(vq->dev, req.data_gpa, out, len);
    }
    qvirtio_memwrite(vq->dev, req.status_gpa, &poison, 1);
    bufs[n++] = (QVirtqBuf) { req.hdr_gpa, sizeof(hdr), false };
    n += qvirtio_blk_data_bufs(&req, nsegs, &bufs[n]);
    bufs[n++] = (QVirtqBuf) { req.status_gpa, 1, true };
    req.head = qvirtqueue_add(vq, bufs, n);
    return req;
}

int qvirtio_blk_complete(QVirtQueue *vq, const QVirtioBlkReq *req,
                         void *in, int timeout_ms)
{
    uint32_t head, len;
    uint8_t status;

    if (!qvirtqueue_wait_used(vq, &head, &len, timeout_ms)) {
        return -1;
    }
    g_assert_cmpuint(head, ==, req->head);
    qvirtio_memread(vq->dev, req->status_gpa, &status, 1);
    if (in && req->type != VIRTIO_BLK_T_OUT) {
        qvirtio_memread(vq->dev, req->data_gpa, in, req->len);
    }
    return status;
}

int qvirtio_blk_rw(QVirtQueue *vq, QGuestAlloc *a, uint32_t type,
                   uint64_t sector, void *buf, size_t len)
{
    QVirtioBlkReq req = qvirtio_blk_submit(vq, a, type, sector, buf, len, 1);

    qvirtqueue_kick(vq);
    return qvirtio_blk_complete(vq, &req, buf, QVIRTIO_TIMEOUT_MS);
}
