/* SPDX-License-Identifier: MIT */
/*
 * The virtio core and the virtio-mmio transport without /dev/kvm: a
 * machine with 1 MiB of RAM and a recording fake accelerator, one fake
 * device (id 2, two queues of 256, 16 bytes of config) plugged into a
 * slot, driven through the address space as a guest driver would.
 * Covers ids, feature negotiation, queue setup, every kind of invalid
 * programming (NEEDS_RESET, a log line, usable after reset), config and
 * generation, host/guest notifiers (ioeventfd, irqfd), interrupts, unplug.
 */
#include "hw/virtio/virtio-mmio.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "qemu/log.h"
#include "sysemu/sysemu.h"

#define RAM_SIZE   (1 * 1024 * 1024)
#define QUEUE_SIZE 256
#define CONFIG_LEN 16
#define DESC_ADDR  0x10000
#define AVAIL_ADDR 0x11000
#define USED_ADDR  0x12000
#define F_TEST_LO  9            /* a device feature in the low word */
#define F_TEST_HI  33           /* and one in the high word */
#define S_ACK_DRIVER (VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER)

typedef struct IrqCall {
    unsigned gsi;
    int level;
} IrqCall;

typedef struct IrqfdCall {
    EventNotifier *e;
    unsigned gsi;
    bool add;
} IrqfdCall;

typedef struct Fixture {
    MachineState *ms;
    VirtIODevice vdev;
    VirtIOMMIOProxy proxy;
    hwaddr base;

    /* What the fake accelerator saw. */
    GArray *irqs;               /* IrqCall */
    GArray *irqfds;             /* IrqfdCall */
    int irqfd_fail_at;          /* fail the n-th irqfd_add (1-based), 0 never */
    unsigned irqfd_adds;

    /* What the fake device saw. */
    bool refuse_features;
    uint64_t set_features_arg;
    unsigned set_features_calls;
    GArray *statuses;           /* uint8_t per set_status call */
    unsigned resets;
    unsigned get_config_calls;
    uint32_t set_config_off, set_config_size;
    unsigned handler_calls;
} Fixture;

static Fixture *fixture_of(VirtIODevice *vdev)
{
    return (Fixture *)((char *)vdev - offsetof(Fixture, vdev));
}

/* --- fake accelerator -------------------------------------------------- */

static void fake_set_irq(MachineState *ms, unsigned gsi, int level)
{
    IrqCall c = { gsi, level };

    g_array_append_val(((Fixture *)ms->accel_state)->irqs, c);
}

static bool fake_irqfd_add(MachineState *ms, EventNotifier *e, unsigned gsi,
                           Error **errp)
{
    Fixture *f = ms->accel_state;
    IrqfdCall c = { e, gsi, true };

    if (++f->irqfd_adds == (unsigned)f->irqfd_fail_at) {
        error_setg(errp, "fake irqfd failure");
        return false;
    }
    g_array_append_val(f->irqfds, c);
    return true;
}

static void fake_irqfd_del(MachineState *ms, EventNotifier *e, unsigned gsi)
{
    IrqfdCall c = { e, gsi, false };

    g_array_append_val(((Fixture *)ms->accel_state)->irqfds, c);
}

static void fake_noop(MachineState *ms)
{
}

static const AccelOps fake_accel_ops = {
    .name = "fake",
    .stop = fake_noop,
    .set_irq = fake_set_irq,
    .irqfd_add = fake_irqfd_add,
    .irqfd_del = fake_irqfd_del,
    .cleanup = fake_noop,
};

/* --- fake device ------------------------------------------------------- */

static uint64_t fake_get_features(VirtIODevice *vdev)
{
    return (1ULL << F_TEST_LO) | (1ULL << F_TEST_HI);
}

static bool fake_set_features(VirtIODevice *vdev, uint64_t features)
{
    Fixture *f = fixture_of(vdev);

    f->set_features_calls++;
    f->set_features_arg = features;
    return !f->refuse_features;
}

static void fake_get_config(VirtIODevice *vdev)
{
    fixture_of(vdev)->get_config_calls++;
}

static void fake_set_config(VirtIODevice *vdev, uint32_t offset,
                            uint32_t size)
{
    Fixture *f = fixture_of(vdev);

    f->set_config_off = offset;
    f->set_config_size = size;
}

static void fake_set_status(VirtIODevice *vdev, uint8_t status)
{
    g_array_append_val(fixture_of(vdev)->statuses, status);
}

static void fake_reset(VirtIODevice *vdev)
{
    fixture_of(vdev)->resets++;
}

static void fake_handler(VirtIODevice *vdev, VirtQueue *vq)
{
    fixture_of(vdev)->handler_calls++;
}

static const VirtioDeviceClass fake_class = {
    .name = "fake-blk",
    .device_id = VIRTIO_ID_BLOCK,
    .get_features = fake_get_features,
    .set_features = fake_set_features,
    .get_config = fake_get_config,
    .set_config = fake_set_config,
    .set_status = fake_set_status,
    .reset = fake_reset,
};

/* --- setup ------------------------------------------------------------- */

static void fixture_setup(Fixture *f, gconstpointer data)
{
    MachineState *ms = machine_new();
    Error *err = NULL;

    f->ms = ms;
    f->irqs = g_array_new(FALSE, TRUE, sizeof(IrqCall));
    f->irqfds = g_array_new(FALSE, TRUE, sizeof(IrqfdCall));
    f->statuses = g_array_new(FALSE, TRUE, sizeof(uint8_t));
    ms->accel = &fake_accel_ops;
    ms->accel_state = f;
    memory_region_init(&ms->system_memory, "system", UINT64_MAX);
    memory_region_init(&ms->system_io, "io", 0x10000);
    address_space_init(&ms->address_space_memory, &ms->system_memory,
                       "memory");
    address_space_init(&ms->address_space_io, &ms->system_io, "I/O");
    g_assert_true(memory_region_init_ram_memfd(&ms->ram_below_4g, "ram",
                                               RAM_SIZE, &err));
    memory_region_add_subregion(&ms->system_memory, 0, &ms->ram_below_4g);

    virtio_init(&f->vdev, &fake_class, ms, "vdev0", 2, QUEUE_SIZE,
                CONFIG_LEN);
    for (unsigned i = 0; i < CONFIG_LEN; i++) {
        f->vdev.config[i] = 0x10 + i;
    }
    f->vdev.vq[0].handler = fake_handler;
    g_assert_true(virtio_mmio_plug(&f->proxy, &f->vdev, ms, &err));
    g_assert_null(err);
    f->base = f->proxy.slot->base;
}

static void fixture_teardown(Fixture *f, gconstpointer data)
{
    virtio_mmio_unplug(&f->proxy);
    virtio_cleanup(&f->vdev);
    machine_free(f->ms);
    g_array_free(f->irqs, TRUE);
    g_array_free(f->irqfds, TRUE);
    g_array_free(f->statuses, TRUE);
}

static uint32_t rd(Fixture *f, hwaddr off)
{
    uint32_t v = 0;

    g_assert_cmpint(address_space_read(&f->ms->address_space_memory,
                                       f->base + off, &v, 4), ==, MEMTX_OK);
    return v;
}

static void wr(Fixture *f, hwaddr off, uint32_t v)
{
    g_assert_cmpint(address_space_write(&f->ms->address_space_memory,
                                        f->base + off, &v, 4), ==, MEMTX_OK);
}

static uint64_t rd_n(Fixture *f, hwaddr off, unsigned n)
{
    uint64_t v = 0;

    address_space_read(&f->ms->address_space_memory, f->base + off, &v, n);
    return v;
}

static void wr_n(Fixture *f, hwaddr off, uint64_t v, unsigned n)
{
    address_space_write(&f->ms->address_space_memory, f->base + off, &v, n);
}

/* --- guest-error log capture (stderr into a memfd) --------------------- */

typedef struct LogCapture {
    int saved;
    int fd;
} LogCapture;

static void log_begin(LogCapture *c)
{
    fflush(stderr);
    c->fd = memfd_create("log", MFD_CLOEXEC);
    c->saved = fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 3);
    g_assert_cmpint(c->fd, >=, 0);
    g_assert_cmpint(c->saved, >=, 0);
    g_assert_cmpint(dup2(c->fd, STDERR_FILENO), ==, STDERR_FILENO);
}

static char *log_end(LogCapture *c)
{
    char buf[4096];
    ssize_t n;

    fflush(stderr);
    g_assert_cmpint(dup2(c->saved, STDERR_FILENO), ==, STDERR_FILENO);
    close(c->saved);
    n = pread(c->fd, buf, sizeof(buf) - 1, 0);
    close(c->fd);
    g_assert_cmpint(n, >=, 0);
    buf[n] = 0;
    return g_strdup(buf);
}

/* --- driver steps ------------------------------------------------------ */

static void drv_features(Fixture *f, uint64_t features)
{
    wr(f, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
    wr(f, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)features);
    wr(f, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
    wr(f, VIRTIO_MMIO_DRIVER_FEATURES, features >> 32);
}

/* ACK, DRIVER, features, FEATURES_OK; returns the status read back. */
static uint32_t drv_negotiate(Fixture *f, uint64_t features)
{
    wr(f, VIRTIO_MMIO_STATUS, 0);
    wr(f, VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE);
    wr(f, VIRTIO_MMIO_STATUS, S_ACK_DRIVER);
    drv_features(f, features);
    wr(f, VIRTIO_MMIO_STATUS, S_ACK_DRIVER | VIRTIO_CONFIG_S_FEATURES_OK);
    return rd(f, VIRTIO_MMIO_STATUS);
}

static void drv_queue(Fixture *f, unsigned n, uint32_t num, hwaddr desc,
                      hwaddr avail, hwaddr used)
{
    wr(f, VIRTIO_MMIO_QUEUE_SEL, n);
    wr(f, VIRTIO_MMIO_QUEUE_NUM, num);
    wr(f, VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)desc);
    wr(f, VIRTIO_MMIO_QUEUE_DESC_HIGH, desc >> 32);
    wr(f, VIRTIO_MMIO_QUEUE_AVAIL_LOW, (uint32_t)avail);
    wr(f, VIRTIO_MMIO_QUEUE_AVAIL_HIGH, avail >> 32);
    wr(f, VIRTIO_MMIO_QUEUE_USED_LOW, (uint32_t)used);
    wr(f, VIRTIO_MMIO_QUEUE_USED_HIGH, used >> 32);
    wr(f, VIRTIO_MMIO_QUEUE_READY, 1);
}

static const uint64_t good_features = (1ULL << VIRTIO_F_VERSION_1) |
                                      (1ULL << F_TEST_LO);

/* The whole init sequence with queue 0 set up; asserts it worked. */
static void drv_full_init(Fixture *f)
{
    g_assert_cmphex(drv_negotiate(f, good_features), ==,
                    S_ACK_DRIVER | VIRTIO_CONFIG_S_FEATURES_OK);
    drv_queue(f, 0, QUEUE_SIZE, DESC_ADDR, AVAIL_ADDR, USED_ADDR);
    g_assert_cmpuint(rd(f, VIRTIO_MMIO_QUEUE_READY), ==, 1);
    wr(f, VIRTIO_MMIO_STATUS, S_ACK_DRIVER | VIRTIO_CONFIG_S_FEATURES_OK |
       VIRTIO_CONFIG_S_DRIVER_OK);
    g_assert_cmphex(rd(f, VIRTIO_MMIO_STATUS), ==,
                    S_ACK_DRIVER | VIRTIO_CONFIG_S_FEATURES_OK |
                    VIRTIO_CONFIG_S_DRIVER_OK);
    g_assert_true(virtio_device_started(&f->vdev));
}

/* --- tests ------------------------------------------------------------- */

static void test_ids(Fixture *f, gconstpointer data)
{
    g_autofree char *cmdline = machine_build_cmdline(f->ms);

    g_assert_cmphex(rd(f, VIRTIO_MMIO_MAGIC_VALUE), ==, 0x74726976);
    g_assert_cmpuint(rd(f, VIRTIO_MMIO_VERSION), ==, 2);
    g_assert_cmpuint(rd(f, VIRTIO_MMIO_DEVICE_ID), ==, 2);
    g_assert_cmphex(rd(f, VIRTIO_MMIO_VENDOR_ID), ==, VIRTIO_MMIO_VENDOR);
    g_assert_cmphex(rd(f, VIRTIO_MMIO_SHM_LEN_LOW), ==, 0xffffffff);
    g_assert_cmphex(rd(f, VIRTIO_MMIO_SHM_LEN_HIGH), ==, 0xffffffff);
    g_assert_cmphex(f->base, ==, VIRTIO_MMIO_BASE);
    g_assert_cmpuint(f->proxy.slot->gsi, ==, VIRTIO_MMIO_GSI_BASE);
    g_assert_nonnull(strstr(cmdline, "virtio_mmio.device=512@0xfeb00000:5"));
    g_assert_cmpuint(rd(f, VIRTIO_MMIO_QUEUE_NUM_MAX), ==, QUEUE_SIZE);
    /* Probing a queue that does not exist is legal: QueueNumMax 0. */
    wr(f, VIRTIO_MMIO_QUEUE_SEL, 7);
    g_assert_cmpuint(rd(f, VIRTIO_MMIO_QUEUE_NUM_MAX), ==, 0);
    g_assert_cmpuint(rd(f, VIRTIO_MMIO_QUEUE_READY), ==, 0);
    /* Registers take 32-bit accesses only; a byte read reads 0. */
    g_assert_cmphex(rd_n(f, VIRTIO_MMIO_MAGIC_VALUE, 1), ==, 0);
}

static void test_features(Fixture *f, gconstpointer data)
{
    wr(f, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
    g_assert_cmphex(rd(f, VIRTIO_MMIO_DEVICE_FEATURES), ==, 1u << F_TEST_LO);
    wr(f, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
    g_assert_cmphex(rd(f, VIRTIO_MMIO_DEVICE_FEATURES), ==,
                    (1u << (VIRTIO_F_VERSION_1 - 32)) |
                    (1u << (F_TEST_HI - 32)));
    wr(f, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 2);
    g_assert_cmphex(rd(f, VIRTIO_MMIO_DEVICE_FEATURES), ==, 0);

    /* A subset with VERSION_1: accepted and handed to the device. */
    g_assert_cmphex(drv_negotiate(f, good_features), ==,
                    S_ACK_DRIVER | VIRTIO_CONFIG_S_FEATURES_OK);
    g_assert_cmpuint(f->set_features_calls, ==, 1);
    g_assert_cmphex(f->set_features_arg, ==, good_features);
    g_assert_cmphex(f->vdev.guest_features, ==, good_features);
    /* Features are frozen after FEATURES_OK. */
    drv_features(f, 1ULL << VIRTIO_F_VERSION_1);
    g_assert_cmphex(f->proxy.guest_features, ==, good_features);

    /* A superset: FEATURES_OK reads back clear, device not asked. */
    g_assert_cmphex(drv_negotiate(f, good_features | (1ULL << 5)), ==,
                    S_ACK_DRIVER);
    g_assert_cmpuint(f->set_features_calls, ==, 1);
    g_assert_cmphex(f->vdev.guest_features, ==, 0);

    /* No VERSION_1: refused as well. */
    g_assert_cmphex(drv_negotiate(f, 1ULL << F_TEST_LO), ==, S_ACK_DRIVER);
    g_assert_cmpuint(f->set_features_calls, ==, 1);

    /* The device says no. */
    f->refuse_features = true;
    g_assert_cmphex(drv_negotiate(f, good_features), ==, S_ACK_DRIVER);
    g_assert_cmpuint(f->set_features_calls, ==, 2);
    g_assert_cmphex(f->vdev.guest_features, ==, 0);
    /* None of these is a broken device: a reset and retry works. */
    f->refuse_features = false;
    g_assert_cmphex(drv_negotiate(f, good_features), ==,
                    S_ACK_DRIVER | VIRTIO_CONFIG_S_FEATURES_OK);
}

static void test_queue_setup(Fixture *f, gconstpointer data)
{
    VirtQueue *vq = &f->vdev.vq[1];

    g_assert_cmphex(drv_negotiate(f, good_features), ==,
                    S_ACK_DRIVER | VIRTIO_CONFIG_S_FEATURES_OK);
    drv_queue(f, 1, 64, DESC_ADDR, AVAIL_ADDR, USED_ADDR);
    g_assert_true(vq->ready);
    g_assert_cmpuint(vq->num, ==, 64);
    g_assert_cmphex(vq->desc, ==, DESC_ADDR);
    g_assert_cmphex(vq->avail, ==, AVAIL_ADDR);
    g_assert_cmphex(vq->used, ==, USED_ADDR);
    g_assert_cmpuint(rd(f, VIRTIO_MMIO_QUEUE_READY), ==, 1);
    g_assert_cmpuint(rd(f, VIRTIO_MMIO_QUEUE_NUM), ==, 64);
    g_assert_cmphex(rd(f, VIRTIO_MMIO_QUEUE_AVAIL_LOW), ==, AVAIL_ADDR);
    g_assert_cmphex(rd(f, VIRTIO_MMIO_QUEUE_USED_HIGH), ==, 0);
    g_assert_true(virtio_queue_valid(&f->vdev, 1, NULL));

    /* DRIVER_OK is one edge for the device; a repeated write is not. */
    f->statuses->len = 0;
    wr(f, VIRTIO_MMIO_STATUS, S_ACK_DRIVER | VIRTIO_CONFIG_S_FEATURES_OK |
       VIRTIO_CONFIG_S_DRIVER_OK);
    wr(f, VIRTIO_MMIO_STATUS, S_ACK_DRIVER | VIRTIO_CONFIG_S_FEATURES_OK |
       VIRTIO_CONFIG_S_DRIVER_OK);
    g_assert_cmpuint(f->statuses->len, ==, 1);
    g_assert_true(g_array_index(f->statuses, uint8_t, 0) &
                  VIRTIO_CONFIG_S_DRIVER_OK);
    g_assert_true(virtio_device_started(&f->vdev));

    /* Reset: the device sees status 0 (stop), then reset; queues clear. */
    f->resets = 0;
    wr(f, VIRTIO_MMIO_STATUS, 0);
    g_assert_cmpuint(f->statuses->len, ==, 2);
    g_assert_cmpuint(g_array_index(f->statuses, uint8_t, 1), ==, 0);
    g_assert_cmpuint(f->resets, ==, 1);
    g_assert_false(vq->ready);
    g_assert_cmpuint(vq->num, ==, 0);
    g_assert_cmphex(rd(f, VIRTIO_MMIO_STATUS), ==, 0);
    g_assert_false(virtio_device_started(&f->vdev));
}

/* --- invalid programming ---------------------------------------------- */

/* Either program() or, when it is NULL, queue 0 set up with these. */
typedef struct BadCase {
    const char *name;
    void (*program)(Fixture *f);
    const char *log;            /* expected in the log line */
    uint32_t num;
    hwaddr desc, avail, used;
} BadCase;

static void bad_num_wide(Fixture *f)
{
    wr(f, VIRTIO_MMIO_QUEUE_SEL, 0);
    wr(f, VIRTIO_MMIO_QUEUE_NUM, 0x10100);
}

static void bad_driver_ok(Fixture *f)
{
    wr(f, VIRTIO_MMIO_STATUS, S_ACK_DRIVER | VIRTIO_CONFIG_S_DRIVER_OK);
}

static void bad_write_ready(Fixture *f)
{
    drv_queue(f, 0, QUEUE_SIZE, DESC_ADDR, AVAIL_ADDR, USED_ADDR);
    wr(f, VIRTIO_MMIO_QUEUE_DESC_LOW, 0x20000);
}

static void bad_queue_sel(Fixture *f)
{
    wr(f, VIRTIO_MMIO_QUEUE_SEL, 2);
    wr(f, VIRTIO_MMIO_QUEUE_NUM, 16);
}

static void bad_config_read(Fixture *f)
{
    g_assert_cmphex(rd(f, VIRTIO_MMIO_CONFIG + CONFIG_LEN - 2), ==, 0);
}

static void bad_config_write(Fixture *f)
{
    wr(f, VIRTIO_MMIO_CONFIG + CONFIG_LEN, 0xdeadbeef);
    g_assert_cmpuint(f->set_config_size, ==, 0);
    g_assert_cmphex(f->vdev.config[CONFIG_LEN - 1], ==, 0x10 + CONFIG_LEN - 1);
}

#define Q QUEUE_SIZE
static const BadCase bad_cases[] = {
    { "num-npot", NULL, "QueueNum 100 is not a power of two",
      100, DESC_ADDR, AVAIL_ADDR, USED_ADDR },
    { "num-big", NULL, "QueueNum 512 above QueueNumMax 256",
      512, DESC_ADDR, AVAIL_ADDR, USED_ADDR },
    { "num-zero", NULL, "QueueNum is 0", 0, DESC_ADDR, AVAIL_ADDR, USED_ADDR },
    { "num-wide", bad_num_wide, "QueueNum 65792 above QueueNumMax" },
    { "desc-outside", NULL, "descriptor ring [0x80000000, +0x1000) is not "
      "inside guest RAM", Q, 0x80000000ULL, AVAIL_ADDR, USED_ADDR },
    { "desc-high", NULL, "is not inside guest RAM",
      Q, DESC_ADDR | (1ULL << 32), AVAIL_ADDR, USED_ADDR },
    { "desc-align", NULL, "16-byte aligned",
      Q, DESC_ADDR + 8, AVAIL_ADDR, USED_ADDR },
    { "avail-align", NULL, "2-byte aligned",
      Q, DESC_ADDR, AVAIL_ADDR + 1, USED_ADDR },
    { "used-align", NULL, "4-byte aligned",
      Q, DESC_ADDR, AVAIL_ADDR, USED_ADDR + 2 },
    /* The used ring starts in RAM but runs past its end. */
    { "used-straddle", NULL, "used ring",
      Q, DESC_ADDR, AVAIL_ADDR, RAM_SIZE - 0x100 },
    { "avail-mmio", NULL, "available ring",
      Q, DESC_ADDR, VIRTIO_MMIO_BASE, USED_ADDR },
    { "driver-ok", bad_driver_ok, "DRIVER_OK set without FEATURES_OK" },
    { "write-ready", bad_write_ready, "while QueueReady is set" },
    { "queue-sel", bad_queue_sel, "QueueSel 2 out of range" },
    { "config-read", bad_config_read, "config read of 4 byte(s)" },
    { "config-write", bad_config_write, "config write of 4 byte(s)" },
};
#undef Q

static void check_bad_case(Fixture *f, const BadCase *c)
{
    g_autofree char *log = NULL;
    LogCapture cap;

    if (c->program != bad_driver_ok) {
        g_assert_cmphex(drv_negotiate(f, good_features), ==,
                        S_ACK_DRIVER | VIRTIO_CONFIG_S_FEATURES_OK);
    } else {
        wr(f, VIRTIO_MMIO_STATUS, 0);
        wr(f, VIRTIO_MMIO_STATUS, S_ACK_DRIVER);
    }
    log_begin(&cap);
    if (c->program) {
        c->program(f);
    } else {
        drv_queue(f, 0, c->num, c->desc, c->avail, c->used);
    }
    /* Unusable until reset: DRIVER_OK and queue setup are ignored. */
    wr(f, VIRTIO_MMIO_STATUS, S_ACK_DRIVER | VIRTIO_CONFIG_S_FEATURES_OK |
       VIRTIO_CONFIG_S_DRIVER_OK);
    wr(f, VIRTIO_MMIO_QUEUE_SEL, 1);
    wr(f, VIRTIO_MMIO_QUEUE_READY, 1);
    log = log_end(&cap);
    g_test_message("%s: %s", c->name, log);
    g_assert_true(rd(f, VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_NEEDS_RESET);
    g_assert_true(f->vdev.broken);
    g_assert_false(virtio_device_started(&f->vdev));
    g_assert_false(f->vdev.vq[1].ready);
    g_assert_nonnull(strstr(log, "vdev0"));
    g_assert_nonnull(strstr(log, c->log));
    /* A reset makes it usable again. */
    wr(f, VIRTIO_MMIO_STATUS, 0);
    g_assert_cmphex(rd(f, VIRTIO_MMIO_STATUS), ==, 0);
    g_assert_false(f->vdev.broken);
    drv_full_init(f);
    wr(f, VIRTIO_MMIO_STATUS, 0);
}

static void test_invalid(Fixture *f, gconstpointer data)
{
    for (size_t i = 0; i < G_N_ELEMENTS(bad_cases); i++) {
        check_bad_case(f, &bad_cases[i]);
    }
}

/* Breaking a running device tells the driver with a config interrupt. */
static void test_invalid_running(Fixture *f, gconstpointer data)
{
    LogCapture cap;
    g_autofree char *log = NULL;

    drv_full_init(f);
    f->irqs->len = 0;
    log_begin(&cap);
    wr(f, VIRTIO_MMIO_QUEUE_SEL, 0);
    wr(f, VIRTIO_MMIO_QUEUE_NUM, 128);
    log = log_end(&cap);
    g_assert_nonnull(strstr(log, "while QueueReady is set"));
    g_assert_true(rd(f, VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_NEEDS_RESET);
    g_assert_true(rd(f, VIRTIO_MMIO_INTERRUPT_STATUS) &
                  VIRTIO_MMIO_INT_CONFIG);
    g_assert_cmpuint(f->irqs->len, ==, 2);
    g_assert_cmpuint(f->vdev.vq[0].num, ==, QUEUE_SIZE);
}

static void test_config(Fixture *f, gconstpointer data)
{
    uint32_t gen = rd(f, VIRTIO_MMIO_CONFIG_GENERATION);

    g_assert_cmphex(rd_n(f, VIRTIO_MMIO_CONFIG + 3, 1), ==, 0x13);
    g_assert_cmphex(rd_n(f, VIRTIO_MMIO_CONFIG + 2, 2), ==, 0x1312);
    g_assert_cmphex(rd(f, VIRTIO_MMIO_CONFIG + 12), ==, 0x1f1e1d1c);
    g_assert_cmphex(rd_n(f, VIRTIO_MMIO_CONFIG, 8), ==, 0x1716151413121110);
    g_assert_cmpuint(f->get_config_calls, ==, 5);   /* the 8 are 4 + 4 */

    wr_n(f, VIRTIO_MMIO_CONFIG + 4, 0xbeef, 2);
    g_assert_cmpuint(f->set_config_off, ==, 4);
    g_assert_cmpuint(f->set_config_size, ==, 2);
    g_assert_cmphex(f->vdev.config[4], ==, 0xef);
    g_assert_cmphex(f->vdev.config[5], ==, 0xbe);
    wr_n(f, VIRTIO_MMIO_CONFIG + 15, 0x5a, 1);
    g_assert_cmphex(f->vdev.config[15], ==, 0x5a);
    g_assert_false(f->vdev.broken);

    /* Before DRIVER_OK: the generation moves, no interrupt. */
    virtio_notify_config(&f->vdev);
    g_assert_cmpuint(rd(f, VIRTIO_MMIO_CONFIG_GENERATION), ==, gen + 1);
    g_assert_cmpuint(f->irqs->len, ==, 0);
    g_assert_cmphex(rd(f, VIRTIO_MMIO_INTERRUPT_STATUS), ==, 0);

    drv_full_init(f);
    virtio_notify_config(&f->vdev);
    g_assert_cmpuint(rd(f, VIRTIO_MMIO_CONFIG_GENERATION), ==, gen + 2);
    g_assert_cmphex(rd(f, VIRTIO_MMIO_INTERRUPT_STATUS), ==,
                    VIRTIO_MMIO_INT_CONFIG);
    g_assert_cmpuint(f->irqs->len, ==, 2);
    g_assert_cmpuint(g_array_index(f->irqs, IrqCall, 0).gsi, ==, 5);
    g_assert_cmpint(g_array_index(f->irqs, IrqCall, 0).level, ==, 1);
    g_assert_cmpint(g_array_index(f->irqs, IrqCall, 1).level, ==, 0);
}

static void test_interrupts(Fixture *f, gconstpointer data)
{
    VirtIODevice *vdev = &f->vdev;

    drv_full_init(f);
    virtio_notify(vdev, &vdev->vq[0]);
    g_assert_cmphex(rd(f, VIRTIO_MMIO_INTERRUPT_STATUS), ==,
                    VIRTIO_MMIO_INT_VRING);
    vdev->transport->notify_config(vdev);
    g_assert_cmphex(rd(f, VIRTIO_MMIO_INTERRUPT_STATUS), ==,
                    VIRTIO_MMIO_INT_VRING | VIRTIO_MMIO_INT_CONFIG);
    g_assert_cmpuint(f->irqs->len, ==, 4);
    for (unsigned i = 0; i < 4; i++) {
        IrqCall c = g_array_index(f->irqs, IrqCall, i);

        g_assert_cmpuint(c.gsi, ==, f->proxy.slot->gsi);
        g_assert_cmpint(c.level, ==, !(i & 1));     /* 1, 0, 1, 0 */
    }
    wr(f, VIRTIO_MMIO_INTERRUPT_ACK, VIRTIO_MMIO_INT_VRING);
    g_assert_cmphex(rd(f, VIRTIO_MMIO_INTERRUPT_STATUS), ==,
                    VIRTIO_MMIO_INT_CONFIG);
    wr(f, VIRTIO_MMIO_INTERRUPT_ACK, VIRTIO_MMIO_INT_CONFIG);
    g_assert_cmphex(rd(f, VIRTIO_MMIO_INTERRUPT_STATUS), ==, 0);
    /* A reset clears a pending status too. */
    virtio_notify(vdev, &vdev->vq[0]);
    wr(f, VIRTIO_MMIO_STATUS, 0);
    g_assert_cmphex(rd(f, VIRTIO_MMIO_INTERRUPT_STATUS), ==, 0);
}

static void test_host_notifier(Fixture *f, gconstpointer data)
{
    VirtIODevice *vdev = &f->vdev;
    EventNotifier *e1 = &vdev->vq[1].host_notifier;
    Error *err = NULL;
    int fd;

    drv_full_init(f);
    /* Unbound queue 0 has a VMM-side handler; unbound queue 1 has none. */
    wr(f, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
    g_assert_cmpuint(f->handler_calls, ==, 1);
    wr(f, VIRTIO_MMIO_QUEUE_NOTIFY, 1);

    g_assert_true(vdev->transport->set_host_notifier(vdev, 1, true, &err));
    g_assert_true(vdev->vq[1].host_notifier_bound);
    fd = event_notifier_get_fd(e1);
    g_assert_cmpint(fd, >=, 0);
    g_assert_true(vdev->transport->set_host_notifier(vdev, 1, true, &err));
    g_assert_cmpint(event_notifier_get_fd(e1), ==, fd);

    wr(f, VIRTIO_MMIO_QUEUE_NOTIFY, 1);
    g_assert_true(event_notifier_test_and_clear(e1));
    wr(f, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
    g_assert_false(event_notifier_test_and_clear(e1));
    g_assert_cmpuint(f->handler_calls, ==, 2);
    /* A kick for a queue that does not exist is dropped. */
    wr(f, VIRTIO_MMIO_QUEUE_NOTIFY, 9);
    g_assert_false(event_notifier_test_and_clear(e1));

    g_assert_true(vdev->transport->set_host_notifier(vdev, 1, false, &err));
    g_assert_false(vdev->vq[1].host_notifier_bound);
    g_assert_cmpint(event_notifier_get_fd(e1), ==, fd);    /* kept open */
    wr(f, VIRTIO_MMIO_QUEUE_NOTIFY, 1);
    g_assert_false(event_notifier_test_and_clear(e1));

    g_assert_false(vdev->transport->set_host_notifier(vdev, 2, true, &err));
    g_assert_nonnull(err);
    error_free(err);
}

static void test_guest_notifiers(Fixture *f, gconstpointer data)
{
    VirtIODevice *vdev = &f->vdev;
    Error *err = NULL;

    drv_full_init(f);
    g_assert_cmphex(rd(f, VIRTIO_MMIO_INTERRUPT_STATUS), ==, 0);
    g_assert_true(vdev->transport->set_guest_notifiers(vdev, 2, true, &err));
    g_assert_cmpuint(f->irqfds->len, ==, 2);
    for (unsigned i = 0; i < 2; i++) {
        IrqfdCall c = g_array_index(f->irqfds, IrqfdCall, i);

        g_assert_true(c.add);
        g_assert_cmpuint(c.gsi, ==, f->proxy.slot->gsi);
        g_assert_true(c.e == &vdev->vq[i].guest_notifier);
        g_assert_cmpint(event_notifier_get_fd(c.e), >=, 0);
        g_assert_true(vdev->vq[i].guest_notifier_bound);
    }
    g_assert_true(f->proxy.irqfd_mode);
    g_assert_cmphex(rd(f, VIRTIO_MMIO_INTERRUPT_STATUS), ==,
                    VIRTIO_MMIO_INT_VRING);
    /* Assigning again binds nothing twice. */
    g_assert_true(vdev->transport->set_guest_notifiers(vdev, 2, true, &err));
    g_assert_cmpuint(f->irqfds->len, ==, 2);

    g_assert_true(vdev->transport->set_guest_notifiers(vdev, 2, false,
                                                       &err));
    g_assert_cmpuint(f->irqfds->len, ==, 4);
    g_assert_false(g_array_index(f->irqfds, IrqfdCall, 2).add);
    g_assert_false(f->proxy.irqfd_mode);
    g_assert_cmphex(rd(f, VIRTIO_MMIO_INTERRUPT_STATUS), ==, 0);
}

static void test_guest_notifiers_fail(Fixture *f, gconstpointer data)
{
    VirtIODevice *vdev = &f->vdev;
    Error *err = NULL;

    f->irqfd_fail_at = 2;
    g_assert_false(vdev->transport->set_guest_notifiers(vdev, 2, true,
                                                        &err));
    g_assert_nonnull(err);
    g_assert_nonnull(strstr(error_get_pretty(err), "fake irqfd failure"));
    error_free(err);
    /* Queue 0 was bound, then unbound by the unwind. */
    g_assert_cmpuint(f->irqfds->len, ==, 2);
    g_assert_true(g_array_index(f->irqfds, IrqfdCall, 0).add);
    g_assert_false(g_array_index(f->irqfds, IrqfdCall, 1).add);
    g_assert_false(vdev->vq[0].guest_notifier_bound);
    g_assert_false(vdev->vq[1].guest_notifier_bound);
    g_assert_false(f->proxy.irqfd_mode);
}

static void test_unplug(Fixture *f, gconstpointer data)
{
    VirtIODevice *vdev = &f->vdev;
    VirtIODevice zero_vdev = { 0 };
    VirtIOMMIOProxy zero_proxy = { 0 };
    uint32_t v = 0;

    g_assert_true(vdev->transport->set_host_notifier(vdev, 0, true, NULL));
    g_assert_true(vdev->transport->set_guest_notifiers(vdev, 2, true, NULL));
    virtio_mmio_unplug(&f->proxy);
    g_assert_cmpuint(f->irqfds->len, ==, 4);    /* 2 add + 2 del */
    g_assert_false(vdev->vq[0].host_notifier_bound);
    g_assert_cmpint(event_notifier_get_fd(&vdev->vq[0].host_notifier), ==,
                    -1);
    g_assert_null(vdev->transport);
    g_assert_cmpint(address_space_read(&f->ms->address_space_memory,
                                       f->base, &v, 4), !=, MEMTX_OK);
    virtio_mmio_unplug(&f->proxy);
    virtio_cleanup(vdev);
    virtio_cleanup(vdev);
    virtio_mmio_unplug(&zero_proxy);
    virtio_cleanup(&zero_vdev);
}

/* Cleanup of a still-plugged device unbinds through the transport first. */
static void test_cleanup_plugged(Fixture *f, gconstpointer data)
{
    VirtIODevice *vdev = &f->vdev;

    g_assert_true(vdev->transport->set_host_notifier(vdev, 1, true, NULL));
    g_assert_true(vdev->transport->set_guest_notifiers(vdev, 1, true, NULL));
    virtio_cleanup(vdev);
    g_assert_false(vdev->vq[1].host_notifier_bound);
    g_assert_false(vdev->vq[0].guest_notifier_bound);
    g_assert_cmpuint(f->irqfds->len, ==, 2);
    g_assert_true(!f->proxy.iomem.ioeventfds ||
                  !f->proxy.iomem.ioeventfds->len);
}

int main(int argc, char **argv)
{
    static const struct {
        const char *path;
        void (*fn)(Fixture *f, gconstpointer data);
    } tests[] = {
        { "/virtio-mmio/ids", test_ids },
        { "/virtio-mmio/features", test_features },
        { "/virtio-mmio/queue-setup", test_queue_setup },
        { "/virtio-mmio/invalid", test_invalid },
        { "/virtio-mmio/invalid-running", test_invalid_running },
        { "/virtio-mmio/config", test_config },
        { "/virtio-mmio/interrupts", test_interrupts },
        { "/virtio-mmio/host-notifier", test_host_notifier },
        { "/virtio-mmio/guest-notifiers", test_guest_notifiers },
        { "/virtio-mmio/guest-notifiers-fail", test_guest_notifiers_fail },
        { "/virtio-mmio/unplug", test_unplug },
        { "/virtio-mmio/cleanup-plugged", test_cleanup_plugged },
    };

    g_test_init(&argc, &argv, NULL);
    g_assert_true(qemu_log_set_categories("guest_errors", NULL));
    for (size_t i = 0; i < G_N_ELEMENTS(tests); i++) {
        g_test_add(tests[i].path, Fixture, NULL, fixture_setup, tests[i].fn,
                   fixture_teardown);
    }
    return g_test_run();
}
