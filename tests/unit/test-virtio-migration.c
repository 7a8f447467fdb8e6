/* SPDX-License-Identifier: MIT */
/*
 * Migration of virtio-mmio devices (hw/virtio/virtio-migration.c) without
 * /dev/kvm and without the migration stream: two machines (source and
 * destination) with 1 MiB of RAM, a fake accelerator and one fake device
 * whose migration ops record what they were asked; its vhost_dev is the
 * recording fake of vhost-fake.c.  The section bytes of the source are
 * loaded into the destination as the framework would hand them over.
 * Covers the round trip of transport, core and model state, the checks
 * a destination makes, the stop / restart / start order and the dirty
 * log switched on and off per vhost_dev by the vhost core's listener in
 * migrate's order (with the refusal message).
 */
#include "hw/virtio/virtio-migration.h"

#include <string.h>

#include "qemu/compiler.h"
#include "sysemu/sysemu.h"
#include "vhost-fake.h"

#define MIG_RAM_SIZE  MiB
#define MIG_NVQS      3
#define MIG_CONFIG    12
#define F_DEV         5         /* a device feature both sides offer */

typedef struct Side {
    MachineState *ms;
    VirtIODevice vdev;
    VirtIOMMIOProxy proxy;
    unsigned irq_pulses;
    GString *calls;             /* "stop;start;save;load;post_load;" */
    bool running;               /* what vm_state_change left behind */
    uint32_t model_value;       /* the model's own state */
    uint64_t features;          /* offered */
} Side;

static Side *side_of(VirtIODevice *vdev)
{
    return container_of(vdev, Side, vdev);
}

/* --- fake accelerator and device ---------------------------------------- */

static void acc_set_irq(MachineState *ms, unsigned gsi, int level)
{
    if (level) {
        ((Side *)ms->accel_state)->irq_pulses++;
    }
}

static void acc_noop(MachineState *ms)
{
}

static const AccelOps acc_ops = {
    .name = "fake",
    .stop = acc_noop,
    .set_irq = acc_set_irq,
    .cleanup = acc_noop,
};

static uint64_t dev_get_features(VirtIODevice *vdev)
{
    return side_of(vdev)->features;
}

static bool dev_vm_state_change(VirtIODevice *vdev, Error **errp)
{
    Side *s = side_of(vdev);
    bool run = !vdev->vm_stopped &&
               (vdev->status & VIRTIO_CONFIG_S_DRIVER_OK);

    if (run != s->running) {
        g_string_append(s->calls, run ? "start;" : "stop;");
        s->running = run;
    }
    return true;
}

static void dev_save(VirtIODevice *vdev, GByteArray *out)
{
    g_string_append(side_of(vdev)->calls, "save;");
    mig_put_be32(out, side_of(vdev)->model_value);
}

static bool dev_load(VirtIODevice *vdev, MigReader *r, Error **errp)
{
    g_string_append(side_of(vdev)->calls, "load;");
    side_of(vdev)->model_value = mig_get_be32(r);
    return true;
}

static bool dev_post_load(VirtIODevice *vdev, Error **errp)
{
    g_string_append(side_of(vdev)->calls, "post_load;");
    return true;
}

static const VirtioMigrationOps dev_mig_ops = {
    .vm_state_change = dev_vm_state_change,
    .save = dev_save,
    .load = dev_load,
    .post_load = dev_post_load,
};

static const VirtioDeviceClass dev_class = {
    .name = "fake-dev",
    .device_id = VIRTIO_ID_BLOCK,
    .get_features = dev_get_features,
    .migration = &dev_mig_ops,
};

static const VirtioDeviceClass dev_class_nomig = {
    .name = "fake-dev",
    .device_id = VIRTIO_ID_BLOCK,
    .get_features = dev_get_features,
};

/* --- fixture -------------------------------------------------------------- */

static void side_init(Side *s, const VirtioDeviceClass *cls, unsigned nvqs)
{
    MachineState *ms = machine_new();

    memset(s, 0, sizeof(*s));
    s->ms = ms;
    s->calls = g_string_new("");
    s->features = 1ULL << F_DEV | 1ULL << VIRTIO_F_VERSION_1;
    ms->accel = &acc_ops;
    ms->accel_state = s;
    memory_region_init(&ms->system_memory, "system", UINT64_MAX);
    address_space_init(&ms->address_space_memory, &ms->system_memory,
                       "memory");
    g_assert_true(memory_region_init_ram_memfd(&ms->ram_below_4g, "ram",
                                               MIG_RAM_SIZE, NULL));
    memory_region_add_subregion(&ms->system_memory, 0, &ms->ram_below_4g);
    virtio_init(&s->vdev, cls, ms, "disk0", nvqs, 256, MIG_CONFIG);
    g_assert_true(virtio_mmio_plug(&s->proxy, &s->vdev, ms, NULL));
}

static void side_free(Side *s)
{
    virtio_mmio_unplug(&s->proxy);
    virtio_cleanup(&s->vdev);
    machine_free(s->ms);
    g_string_free(s->calls, TRUE);
}

static void assert_calls(Side *s, const char *want)
{
    g_assert_cmpstr(s->calls->str, ==, want);
    g_string_truncate(s->calls, 0);
}

/* A driver that got as far as DRIVER_OK, with two queues set up and the
 * rings moved on. */
static void side_drive(Side *s)
{
    VirtIODevice *vdev = &s->vdev;

    vdev->guest_features = s->features;
    vdev->status = VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER |
                   VIRTIO_CONFIG_S_FEATURES_OK | VIRTIO_CONFIG_S_DRIVER_OK;
    vdev->isr = 1;
    vdev->generation = 3;
    for (unsigned i = 0; i < MIG_CONFIG; i++) {
        vdev->config[i] = 0xa0 + i;
    }
    for (unsigned i = 0; i < 2; i++) {
        VirtQueue *vq = &vdev->vq[i];

        vq->num = 128 >> i;
        vq->ready = true;
        vq->desc = 0x10000 + i * 0x4000;
        vq->avail = vq->desc + 0x1000;
        vq->used = vq->desc + 0x2000;
        vq->last_avail_idx = 1000 + i;
        vq->used_idx = 990 + i;
    }
    s->proxy.queue_sel = 1;
    s->proxy.host_features_sel = 1;
    s->proxy.guest_features = s->features;
    s->model_value = 0x12345678;
    dev_vm_state_change(vdev, NULL);
    assert_calls(s, "start;");
}

static GByteArray *side_save(Side *s)
{
    GByteArray *out = g_byte_array_new();
    g_autoptr(Error) err = NULL;

    g_assert_true(virtio_migration_save(&s->proxy, out, &err));
    g_assert_null(err);
    return out;
}

/* --- round trip ------------------------------------------------------------ */

static void test_section_name(void)
{
    Side s;
    g_autofree char *name = NULL;

    side_init(&s, &dev_class, MIG_NVQS);
    name = virtio_migration_section_name(&s.proxy);
    g_assert_cmpstr(name, ==, "virtio-mmio@feb00000");
    side_free(&s);
}

static void assert_same_state(Side *src, Side *dst)
{
    VirtIODevice *a = &src->vdev, *b = &dst->vdev;

    g_assert_cmphex(b->status, ==, a->status);
    g_assert_cmphex(b->guest_features, ==, a->guest_features);
    g_assert_cmphex(b->isr, ==, a->isr);
    g_assert_cmpuint(b->generation, ==, a->generation);
    g_assert_cmpmem(b->config, MIG_CONFIG, a->config, MIG_CONFIG);
    for (unsigned i = 0; i < MIG_NVQS; i++) {
        g_assert_cmpuint(b->vq[i].num, ==, a->vq[i].num);
        g_assert_cmpint(b->vq[i].ready, ==, a->vq[i].ready);
        g_assert_cmphex(b->vq[i].desc, ==, a->vq[i].desc);
        g_assert_cmphex(b->vq[i].avail, ==, a->vq[i].avail);
        g_assert_cmphex(b->vq[i].used, ==, a->vq[i].used);
        g_assert_cmpuint(b->vq[i].last_avail_idx, ==,
                         a->vq[i].last_avail_idx);
        g_assert_cmpuint(b->vq[i].used_idx, ==, a->vq[i].used_idx);
    }
    g_assert_cmpuint(dst->proxy.queue_sel, ==, src->proxy.queue_sel);
    g_assert_cmpuint(dst->proxy.host_features_sel, ==,
                     src->proxy.host_features_sel);
    g_assert_cmphex(dst->proxy.guest_features, ==,
                    src->proxy.guest_features);
    g_assert_cmphex(dst->model_value, ==, src->model_value);
}

static void test_round_trip(void)
{
    Side src, dst;
    g_autoptr(GByteArray) bytes = NULL;
    g_autoptr(Error) err = NULL;

    side_init(&src, &dev_class, MIG_NVQS);
    side_init(&dst, &dev_class, MIG_NVQS);
    side_drive(&src);
    /* save without the stop step: it stops the backend first. */
    bytes = side_save(&src);
    assert_calls(&src, "stop;save;");
    g_assert_true(src.vdev.vm_stopped);

    g_assert_true(virtio_migration_load(&dst.proxy, bytes->data, bytes->len,
                                        &err));
    g_assert_null(err);
    assert_calls(&dst, "load;");
    g_assert_true(dst.vdev.vm_stopped);     /* nothing runs before RAM */
    assert_same_state(&src, &dst);
    g_assert_false(dst.vdev.broken);

    g_assert_true(virtio_migration_post_load(&dst.proxy, &err));
    assert_calls(&dst, "start;post_load;");
    g_assert_false(dst.vdev.vm_stopped);
    g_assert_cmpuint(dst.irq_pulses, ==, 1);    /* one interrupt */
    side_free(&src);
    side_free(&dst);
}

/* A device the driver never set up moves too, and nothing starts. */
static void test_round_trip_idle(void)
{
    Side src, dst;
    g_autoptr(GByteArray) bytes = NULL;

    side_init(&src, &dev_class, MIG_NVQS);
    side_init(&dst, &dev_class, MIG_NVQS);
    bytes = side_save(&src);
    g_assert_true(virtio_migration_load(&dst.proxy, bytes->data, bytes->len,
                                        NULL));
    g_assert_true(virtio_migration_post_load(&dst.proxy, NULL));
    assert_calls(&dst, "load;post_load;");
    g_assert_cmpuint(dst.irq_pulses, ==, 0);
    g_assert_cmphex(dst.vdev.status, ==, 0);
    side_free(&src);
    side_free(&dst);
}

/* --- what the destination refuses ------------------------------------------ */

static void expect_load_error(Side *dst, const GByteArray *b, size_t len,
                              const char *want)
{
    g_autoptr(Error) err = NULL;

    g_assert_false(virtio_migration_load(&dst->proxy, b->data, len, &err));
    g_assert_nonnull(err);
    if (!strstr(error_get_pretty(err), want)) {
        g_error("'%s' does not contain '%s'", error_get_pretty(err), want);
    }
    g_assert_true(g_str_has_prefix(error_get_pretty(err),
                                   "fake-dev 'disk0': "));
}

static void test_load_checks(void)
{
    Side src, dst, other;
    g_autoptr(GByteArray) bytes = NULL;

    side_init(&src, &dev_class, MIG_NVQS);
    side_init(&dst, &dev_class, MIG_NVQS);
    side_init(&other, &dev_class, MIG_NVQS - 1);
    side_drive(&src);
    bytes = side_save(&src);

    expect_load_error(&dst, bytes, 7, "truncated");
    expect_load_error(&dst, bytes, bytes->len - 1, "truncated");
    expect_load_error(&other, bytes, bytes->len, "the source's device "
                      "differs (device id 2, 3 queues, 12 config bytes; "
                      "here 2, 2, 12)");
    /* Nothing was applied by the failed attempts. */
    g_assert_cmphex(dst.vdev.status, ==, 0);
    g_assert_false(dst.vdev.vm_stopped);

    /* The destination's backend lacks a feature the guest uses. */
    dst.features &= ~(1ULL << F_DEV);
    expect_load_error(&dst, bytes, bytes->len, "the guest uses features "
                      "0x20 that this device does not offer (offered "
                      "0x100000000)");
    g_assert_false(dst.vdev.vm_stopped);
    dst.features |= 1ULL << F_DEV;

    /* Trailing garbage, another version, a queue too big. */
    g_byte_array_append(bytes, (const guint8 *)"x", 1);
    expect_load_error(&dst, bytes, bytes->len, "1 bytes too many");
    g_byte_array_set_size(bytes, bytes->len - 1);
    bytes->data[3] = 9;     /* the version is the first be32 */
    expect_load_error(&dst, bytes, bytes->len, "section version 9, this "
                      "kvmini reads 2");
    bytes->data[3] = 2;
    dst.vdev.vq[0].num_max = 64;
    expect_load_error(&dst, bytes, bytes->len, "queue 0: size 128 invalid "
                      "here (at most 64)");
    dst.vdev.vq[0].num_max = 256;
    g_assert_true(virtio_migration_load(&dst.proxy, bytes->data, bytes->len,
                                        NULL));
    side_free(&src);
    side_free(&dst);
    side_free(&other);
}

/* --- the outgoing order ---------------------------------------------------- */

/* stop, then a failure: the source's device starts again. */
static void test_failed_migration_restarts(void)
{
    Side src;
    g_autoptr(GByteArray) bytes = NULL;

    side_init(&src, &dev_class, MIG_NVQS);
    side_drive(&src);
    g_assert_true(virtio_migration_setup(&src.proxy, NULL));
    virtio_migration_stop(&src.proxy);
    virtio_migration_stop(&src.proxy);      /* once only */
    assert_calls(&src, "stop;");
    bytes = side_save(&src);
    assert_calls(&src, "save;");            /* already stopped */
    virtio_migration_cleanup(&src.proxy, false);
    assert_calls(&src, "start;");
    g_assert_false(src.vdev.vm_stopped);
    /* A second cleanup (or one without setup) does nothing. */
    virtio_migration_cleanup(&src.proxy, false);
    assert_calls(&src, "");
    side_free(&src);
}

/* Completed: the source stays stopped. */
static void test_completed_stays_stopped(void)
{
    Side src;

    side_init(&src, &dev_class, MIG_NVQS);
    side_drive(&src);
    g_assert_true(virtio_migration_setup(&src.proxy, NULL));
    virtio_migration_stop(&src.proxy);
    virtio_migration_cleanup(&src.proxy, true);
    assert_calls(&src, "stop;");
    g_assert_true(src.vdev.vm_stopped);
    side_free(&src);
}

/* Cancelled before the stop step: nothing to restart. */
static void test_cancel_before_stop(void)
{
    Side src;

    side_init(&src, &dev_class, MIG_NVQS);
    side_drive(&src);
    g_assert_true(virtio_migration_setup(&src.proxy, NULL));
    virtio_migration_cleanup(&src.proxy, false);
    assert_calls(&src, "");
    g_assert_false(src.vdev.vm_stopped);
    side_free(&src);
}

/* A failed destination never starts its device. */
static void test_failed_destination_stays_stopped(void)
{
    Side src, dst;
    g_autoptr(GByteArray) bytes = NULL;

    side_init(&src, &dev_class, MIG_NVQS);
    side_init(&dst, &dev_class, MIG_NVQS);
    side_drive(&src);
    bytes = side_save(&src);
    g_assert_true(virtio_migration_load(&dst.proxy, bytes->data, bytes->len,
                                        NULL));
    virtio_migration_cleanup(&dst.proxy, false);
    assert_calls(&dst, "load;");
    g_assert_true(dst.vdev.vm_stopped);
    side_free(&src);
    side_free(&dst);
}

static void test_no_migration_ops(void)
{
    Side s;
    g_autoptr(Error) err = NULL;
    g_autoptr(GByteArray) out = g_byte_array_new();

    side_init(&s, &dev_class_nomig, MIG_NVQS);
    g_assert_false(virtio_migration_setup(&s.proxy, &err));
    g_assert_cmpstr(error_get_pretty(err), ==, "fake-dev 'disk0': the "
                    "device does not support migration");
    g_clear_pointer(&err, error_free);
    g_assert_false(virtio_migration_save(&s.proxy, out, &err));
    g_assert_nonnull(err);
    side_free(&s);
}

/* --- the dirty log of the device's vhost_dev ------------------------------- */

/* In migrate's order: global logging starts (the vhost core's listener
 * switches the device's log on), then the setup hook, which leaves the
 * log alone; at the end logging stops, then the cleanup hook. */
static void test_setup_starts_log(void)
{
    Side s;
    Fix f;
    g_autoptr(Error) err = NULL;

    fix_init(&f);
    f.fake.shm_log = true;
    fix_start(&f);
    side_init(&s, &dev_class, MIG_NVQS);
    g_assert_true(address_space_log_global_start(&f.as, &err));
    g_assert_null(err);
    assert_log(&f, "set_log_base shm 1028;set_features 0x4000000;"
               "set_vring_addr 0 " Q0 " flags=0x1 log=0x12000;"
               "set_vring_addr 1 " Q1 " flags=0x1 log=0x10002000;");
    g_assert_true(f.dev.log_enabled);
    g_assert_true(virtio_migration_setup(&s.proxy, &err));
    g_assert_null(err);
    assert_log(&f, "");
    /* Cancel: LOG_ALL cleared, the log freed; cleanup adds nothing. */
    address_space_log_global_stop(&f.as);
    assert_log(&f, "set_features 0x0;"
               "set_vring_addr 0 " Q0 " flags=0x0 log=0x12000;"
               "set_vring_addr 1 " Q1 " flags=0x0 log=0x10002000;");
    g_assert_false(f.dev.log_enabled);
    g_assert_null(f.dev.log);
    virtio_migration_cleanup(&s.proxy, false);
    assert_log(&f, "");
    side_free(&s);
    fix_cleanup(&f);
}

/* A backend that cannot log refuses when logging starts, before any
 * setup hook: migrate fails with the reason. */
static void test_setup_refused_without_log(void)
{
    Side s;
    Fix f;
    g_autoptr(Error) err = NULL;

    fix_init(&f);
    f.dev.id = "vhost-user-blk 'disk0'";
    f.fake.blocker = "backend does not support LOG_SHMFD";
    fix_start(&f);
    side_init(&s, &dev_class, MIG_NVQS);
    g_assert_false(address_space_log_global_start(&f.as, &err));
    g_assert_cmpstr(error_get_pretty(err), ==, "vhost: vhost-user-blk "
                    "'disk0': backend does not support LOG_SHMFD; "
                    "migration is not possible");
    assert_log(&f, "");
    g_assert_false(f.dev.log_enabled);
    side_free(&s);
    fix_cleanup(&f);
}

/* A vhost_dev without a backend has nothing to log. */
static void test_setup_disconnected(void)
{
    Side s;
    Fix f;

    fix_init(&f);
    side_init(&s, &dev_class, MIG_NVQS);
    g_assert_true(address_space_log_global_start(&f.as, NULL));
    g_assert_true(virtio_migration_setup(&s.proxy, NULL));
    g_assert_false(f.dev.log_enabled);
    address_space_log_global_stop(&f.as);
    virtio_migration_cleanup(&s.proxy, true);
    side_free(&s);
    fix_cleanup(&f);
}

/* --- the vhost memory listener during migration ---------------------------- */

#define PAGE VHOST_LOG_PAGE

static void fix_log_ram(Fix *f, bool on)
{
    memory_region_set_log(&f->lo, on, DIRTY_MEMORY_MIGRATION);
    memory_region_set_log(&f->hi, on, DIRTY_MEMORY_MIGRATION);
    memory_region_set_log(&f->ram2, on, DIRTY_MEMORY_MIGRATION);
}

/* What the backend does: atomic OR of the page's bit. */
static void backend_marks(struct vhost_dev *dev, hwaddr gpa)
{
    uint64_t page = gpa / PAGE;

    __atomic_fetch_or(&dev->log->log[page / 64], 1ULL << (page % 64),
                      __ATOMIC_SEQ_CST);
}

static void test_listener_log_sync(void)
{
    Fix f;
    g_autoptr(Error) err = NULL;

    fix_init(&f);
    f.fake.shm_log = true;
    fix_start(&f);
    fix_log_ram(&f, true);
    g_assert_true(address_space_log_global_start(&f.as, &err));
    g_assert_true(g_str_has_prefix(f.fake.log->str, "set_log_base shm 1028;"
                                   "set_features 0x4000000;"));
    g_string_truncate(f.fake.log, 0);
    backend_marks(&f.dev, 3 * PAGE);                /* lo */
    backend_marks(&f.dev, MiB + 5 * PAGE);          /* hi */
    backend_marks(&f.dev, RAM2_GPA + 2 * PAGE);     /* ram2 */
    address_space_log_sync(&f.as);
    g_assert_true(memory_region_get_dirty(&f.lo, 3 * PAGE, PAGE));
    g_assert_false(memory_region_get_dirty(&f.lo, 4 * PAGE, PAGE));
    g_assert_false(memory_region_get_dirty(&f.lo, 5 * PAGE, PAGE));
    g_assert_true(memory_region_get_dirty(&f.hi, 5 * PAGE, PAGE));
    g_assert_false(memory_region_get_dirty(&f.hi, 3 * PAGE, PAGE));
    g_assert_true(memory_region_get_dirty(&f.ram2, 2 * PAGE, PAGE));
    /* Fetched and cleared: a second sync finds nothing new. */
    for (uint64_t i = 0; i < f.dev.log->size; i++) {
        g_assert_cmphex(f.dev.log->log[i], ==, 0);
    }
    g_assert_true(memory_region_test_and_clear_dirty(&f.lo, 0, 2 * MiB));
    address_space_log_sync(&f.as);
    g_assert_false(memory_region_get_dirty(&f.lo, 0, MiB));
    /* Stop: LOG_ALL cleared, the log freed. */
    address_space_log_global_stop(&f.as);
    g_assert_true(g_str_has_prefix(f.fake.log->str, "set_features 0x0;"));
    g_assert_null(f.dev.log);
    fix_log_ram(&f, false);
    fix_cleanup(&f);
}

static void test_listener_refuses(void)
{
    Fix f;
    g_autoptr(Error) err = NULL;

    fix_init(&f);
    f.fake.blocker = "backend does not support LOG_SHMFD";
    fix_start(&f);
    g_assert_false(address_space_log_global_start(&f.as, &err));
    g_assert_nonnull(strstr(error_get_pretty(err), "dev0: backend does not "
                            "support LOG_SHMFD; migration is not possible"));
    assert_log(&f, "");
    fix_cleanup(&f);
}

/* Memory plugged while logging: the log grows (bits kept) and the new
 * region's pages are found by the next sync. */
static void test_listener_hotplug(void)
{
    Fix f;

    fix_init(&f);
    f.fake.shm_log = true;
    fix_start(&f);
    fix_log_ram(&f, true);
    g_assert_true(address_space_log_global_start(&f.as, NULL));
    backend_marks(&f.dev, 7 * PAGE);
    g_assert_true(memory_region_init_ram_memfd(&f.extra, "x", MiB, NULL));
    memory_region_set_log(&f.extra, true, DIRTY_MEMORY_MIGRATION);
    memory_region_add_subregion(&f.root, 0x40000000, &f.extra);
    g_assert_true(g_str_has_suffix(f.fake.log->str,
                                   "set_log_base shm 4100;"));
    g_assert_cmpuint(f.dev.log->size, ==, 4100);
    backend_marks(&f.dev, 0x40000000 + 9 * PAGE);
    address_space_log_sync(&f.as);
    g_assert_true(memory_region_get_dirty(&f.lo, 7 * PAGE, PAGE));
    g_assert_true(memory_region_get_dirty(&f.extra, 9 * PAGE, PAGE));
    g_assert_false(memory_region_get_dirty(&f.extra, 8 * PAGE, PAGE));
    address_space_log_global_stop(&f.as);
    memory_region_del_subregion(&f.root, &f.extra);
    fix_log_ram(&f, false);
    fix_cleanup(&f);
}

/* A backend that (re)connects while migration runs logs from its start. */
static void test_listener_reconnect(void)
{
    Fix f;

    fix_init(&f);
    f.fake.shm_log = true;
    fix_start(&f);
    g_assert_true(address_space_log_global_start(&f.as, NULL));
    vhost_dev_stop(&f.dev, &f.vdev, true);
    vhost_dev_disable_notifiers(&f.dev, &f.vdev);
    vhost_dev_cleanup(&f.dev);
    g_assert_false(f.dev.log_enabled);
    g_string_truncate(f.fake.log, 0);
    fix_dev_init(&f);
    g_assert_true(f.dev.log_enabled);
    g_assert_true(vhost_dev_enable_notifiers(&f.dev, &f.vdev, NULL));
    g_assert_true(vhost_dev_start(&f.dev, &f.vdev, true, NULL));
    g_assert_nonnull(strstr(f.fake.log->str, "set_features 0x4000000;"));
    g_assert_nonnull(strstr(f.fake.log->str, "set_log_base shm 1028;"));
    address_space_log_global_stop(&f.as);
    g_assert_false(f.dev.log_enabled);
    fix_cleanup(&f);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/virtio-migration/section-name", test_section_name);
    g_test_add_func("/virtio-migration/round-trip", test_round_trip);
    g_test_add_func("/virtio-migration/round-trip-idle",
                    test_round_trip_idle);
    g_test_add_func("/virtio-migration/load-checks", test_load_checks);
    g_test_add_func("/virtio-migration/failed-restarts",
                    test_failed_migration_restarts);
    g_test_add_func("/virtio-migration/completed-stays-stopped",
                    test_completed_stays_stopped);
    g_test_add_func("/virtio-migration/cancel-before-stop",
                    test_cancel_before_stop);
    g_test_add_func("/virtio-migration/failed-destination",
                    test_failed_destination_stays_stopped);
    g_test_add_func("/virtio-migration/no-ops", test_no_migration_ops);
    g_test_add_func("/virtio-migration/setup-starts-log",
                    test_setup_starts_log);
    g_test_add_func("/virtio-migration/setup-refused",
                    test_setup_refused_without_log);
    g_test_add_func("/virtio-migration/setup-disconnected",
                    test_setup_disconnected);
    g_test_add_func("/virtio-migration/listener/log-sync",
                    test_listener_log_sync);
    g_test_add_func("/virtio-migration/listener/refuses",
                    test_listener_refuses);
    g_test_add_func("/virtio-migration/listener/hotplug",
                    test_listener_hotplug);
    g_test_add_func("/virtio-migration/listener/reconnect",
                    test_listener_reconnect);
    return g_test_run();
}
