/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for the generic vhost core (hw/virtio/vhost*.c), driven through
 * the recording fake VhostOps of vhost-fake.c: every call lands in a string
 * ("op args;") that the tests compare exactly, so the order on the wire is
 * pinned down.  Guest memory is a real AddressSpace built with the memory
 * API (memfd RAM, aliases, an fd-less RAM region the fake refuses, an MMIO
 * region), the device a VirtIODevice from virtio_init with a fake transport.
 * Covers init, start/stop (exact sequence, rollback, saved ring state),
 * host notifiers, features, config, inflight and the dirty log; the memory
 * table is in test-vhost-mem.c.
 */
#include "vhost-fake.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* --- init failures and notifiers --------------------------------------- */

static void test_init_failure(void)
{
    const char *ops[] = { "backend_init", "set_owner", "get_features" };

    for (unsigned i = 0; i < G_N_ELEMENTS(ops); i++) {
        Fix f;
        g_autoptr(Error) err = NULL;

        fix_init(&f);
        f.fake.fail_op = ops[i];
        g_assert_false(vhost_dev_init(&f.dev, &f.fake, &fake_ops, &f.as,
                                      &err));
        g_assert_nonnull(strstr(error_get_pretty(err), ops[i]));
        g_assert_nonnull(strstr(error_get_pretty(err), "dev0"));
        g_assert_null(f.dev.vqs);
        g_assert_cmpuint(f.as.listeners->len, ==, 0);
        fix_cleanup(&f);
        g_assert_cmpuint(f.fake.cleanups, ==, 1);
    }
}

static void test_notifiers(void)
{
    Fix f;
    g_autoptr(Error) err = NULL;

    fix_init(&f);
    fix_dev_init(&f);
    g_assert_true(vhost_dev_enable_notifiers(&f.dev, &f.vdev, &err));
    g_assert_cmpstr(f.ft.log->str, ==, "hn 0 1;hn 1 1;");
    g_string_truncate(f.ft.log, 0);
    vhost_dev_disable_notifiers(&f.dev, &f.vdev);
    g_assert_cmpstr(f.ft.log->str, ==, "hn 1 0;hn 0 0;");
    g_string_truncate(f.ft.log, 0);
    f.ft.fail_queue = 1;
    g_assert_false(vhost_dev_enable_notifiers(&f.dev, &f.vdev, &err));
    g_assert_cmpstr(f.ft.log->str, ==, "hn 0 1;hn 1 1;hn 0 0;");
    g_assert_nonnull(strstr(error_get_pretty(err), "queue 1"));
    g_assert_nonnull(strstr(error_get_pretty(err), "no ioeventfd"));
    fix_cleanup(&f);
}

/* --- start / stop ------------------------------------------------------ */

#define Q0_START "set_vring_num 0 256;set_vring_base 0 5;" \
    "set_vring_addr 0 " Q0 " flags=0x0 log=0x12000;" \
    "set_vring_kick 0 kick0;set_vring_call 0 guest0;"
#define Q1_START "set_vring_num 1 128;set_vring_base 1 7;" \
    "set_vring_addr 1 " Q1 " flags=0x0 log=0x10002000;" \
    "set_vring_kick 1 kick1;set_vring_call 1 guest1;"

static void test_start_sequence(void)
{
    static const int bits[] = { 0, 2, 5, VHOST_INVALID_FEATURE_BIT };
    Fix f;
    g_autoptr(Error) err = NULL;

    fix_init(&f);
    fix_dev_init(&f);
    vhost_ack_features(&f.dev, bits, 0x25);
    f.dev.backend_features = 1ULL << 40;
    g_assert_true(vhost_dev_enable_notifiers(&f.dev, &f.vdev, &err));
    g_string_truncate(f.fake.log, 0);
    g_assert_true(vhost_dev_start(&f.dev, &f.vdev, true, &err));
    assert_log(&f, "set_features 0x10000000025;" TABLE2 ";" Q0_START Q1_START
               "set_vring_enable 1;dev_start 1;");
    g_assert_true(f.dev.started);
    g_assert_true(f.dev.vdev == &f.vdev);
    g_assert_true(f.dev.vqs[0].started && f.dev.vqs[1].started);
    g_assert_true(f.dev.vqs[0].desc ==
                  (uint8_t *)f.ram.ram_ptr + 0x10000);
    g_assert_true(f.dev.vqs[1].used == (uint8_t *)f.ram2.ram_ptr + 0x2000);
    g_assert_cmpint(f.dev.vqs[1].call_fd, ==, f.vdev.vq[1].guest_notifier.fd);
    g_assert_false(vhost_dev_start(&f.dev, &f.vdev, true, &err));
    fix_cleanup(&f);
}

/* vrings=false: no enable; a queue the driver did not set up is skipped. */
static void test_start_no_vrings(void)
{
    Fix f;
    g_autoptr(Error) err = NULL;

    fix_init(&f);
    f.vdev.vq[1].num = 0;
    fix_dev_init(&f);
    g_string_truncate(f.fake.log, 0);
    g_assert_true(vhost_dev_enable_notifiers(&f.dev, &f.vdev, &err));
    g_assert_true(vhost_dev_start(&f.dev, &f.vdev, false, &err));
    assert_log(&f, "set_features 0x0;" TABLE2 ";" Q0_START "dev_start 1;");
    g_assert_false(f.dev.vqs[1].started);
    f.fake.vring_base[0] = 9;
    vhost_dev_stop(&f.dev, &f.vdev, false);
    assert_log(&f, "dev_start 0;get_vring_base 0;");
    fix_cleanup(&f);
}

/* A failure on queue 1's address stops queue 0 again. */
static void test_start_rollback(void)
{
    Fix f;
    g_autoptr(Error) err = NULL;

    fix_init(&f);
    fix_dev_init(&f);
    g_assert_true(vhost_dev_enable_notifiers(&f.dev, &f.vdev, &err));
    g_string_truncate(f.fake.log, 0);
    f.fake.fail_op = "set_vring_addr";
    f.fake.fail_index = 1;
    f.fake.vring_base[0] = 5;
    g_assert_false(vhost_dev_start(&f.dev, &f.vdev, true, &err));
    g_assert_cmpstr(error_get_pretty(err), ==,
                    "dev0: queue 1: set_vring_addr: injected failure");
    assert_log(&f, "set_features 0x0;" TABLE2 ";" Q0_START
               "set_vring_num 1 128;set_vring_base 1 7;"
               "set_vring_addr 1 " Q1 " flags=0x0 log=0x10002000;FAIL;"
               "get_vring_base 0;");
    g_assert_false(f.dev.started);
    g_assert_false(f.dev.vqs[0].started);
    g_assert_null(f.dev.vdev);
    /* Works once the backend behaves. */
    f.fake.fail_op = NULL;
    g_assert_true(vhost_dev_start(&f.dev, &f.vdev, true, NULL));
    fix_cleanup(&f);
}

/* dev_start failing undoes enable and every ring. */
static void test_start_rollback_late(void)
{
    Fix f;
    g_autoptr(Error) err = NULL;

    fix_init(&f);
    fix_dev_init(&f);
    g_assert_true(vhost_dev_enable_notifiers(&f.dev, &f.vdev, &err));
    g_string_truncate(f.fake.log, 0);
    f.fake.fail_op = "dev_start";
    g_assert_false(vhost_dev_start(&f.dev, &f.vdev, true, &err));
    g_assert_cmpstr(error_get_pretty(err), ==,
                    "dev0: dev_start: injected failure");
    assert_log(&f, "set_features 0x0;" TABLE2 ";" Q0_START Q1_START
               "set_vring_enable 1;dev_start 1;FAIL;set_vring_enable 0;"
               "get_vring_base 1;get_vring_base 0;");
    g_assert_false(f.dev.vqs[0].started || f.dev.vqs[1].started);
    fix_cleanup(&f);
}

/* A ring in RAM the backend cannot see (no fd) is refused at start. */
static void test_start_ring_outside(void)
{
    Fix f;
    g_autoptr(Error) err = NULL;

    fix_init(&f);
    f.vdev.vq[1].used = ANON_GPA;
    fix_dev_init(&f);
    g_assert_true(vhost_dev_enable_notifiers(&f.dev, &f.vdev, &err));
    g_string_truncate(f.fake.log, 0);
    g_assert_false(vhost_dev_start(&f.dev, &f.vdev, true, &err));
    g_assert_nonnull(strstr(error_get_pretty(err), "dev0: queue 1: rings"));
    g_assert_nonnull(strstr(error_get_pretty(err), "not inside"));
    assert_log(&f, "set_features 0x0;" TABLE2 ";" Q0_START
               "set_vring_num 1 128;set_vring_base 1 7;get_vring_base 0;");
    /* Straddling the end of a region is refused too. */
    f.vdev.vq[1].used = RAM2_GPA + MiB - 8;
    g_assert_false(vhost_dev_start(&f.dev, &f.vdev, true, NULL));
    fix_cleanup(&f);
}

static void test_stop_saves_base(void)
{
    Fix f;

    fix_init(&f);
    fix_start(&f);
    f.fake.vring_base[0] = 42;
    f.fake.vring_base[1] = 4242;
    vhost_dev_stop(&f.dev, &f.vdev, true);
    assert_log(&f, "dev_start 0;set_vring_enable 0;get_vring_base 1;"
               "get_vring_base 0;");
    g_assert_cmpuint(f.vdev.vq[0].last_avail_idx, ==, 42);
    g_assert_cmpuint(f.vdev.vq[0].used_idx, ==, 42);
    g_assert_cmpuint(f.vdev.vq[1].last_avail_idx, ==, 4242);
    g_assert_false(f.dev.started);
    g_assert_null(f.dev.vdev);
    vhost_dev_stop(&f.dev, &f.vdev, true);      /* no-op */
    assert_log(&f, "");
    /* Restart sends the saved base. */
    g_assert_true(vhost_dev_start(&f.dev, &f.vdev, true, NULL));
    g_assert_nonnull(strstr(f.fake.log->str, "set_vring_base 0 42;"));
    fix_cleanup(&f);
}

/* Backend gone: every step fails, stop completes and falls back to the
 * used index in guest memory. */
static void test_stop_backend_gone(void)
{
    Fix f;
    uint16_t used_idx = htole16(17);

    fix_init(&f);
    fix_start(&f);
    g_assert_cmpint(address_space_write(&f.as, 0x12000 + 2, &used_idx, 2),
                    ==, MEMTX_OK);
    f.fake.fail_op = "get_vring_base";
    vhost_dev_stop(&f.dev, &f.vdev, true);
    g_assert_cmpuint(f.vdev.vq[0].last_avail_idx, ==, 17);
    g_assert_cmpuint(f.vdev.vq[0].used_idx, ==, 17);
    g_assert_cmpuint(f.vdev.vq[1].last_avail_idx, ==, 0);
    g_assert_false(f.dev.started);
    fix_cleanup(&f);
}

/* Device queues 2..3 map to backend rings 0..1. */
static void test_vq_index_mapping(void)
{
    Fix f;
    g_autoptr(Error) err = NULL;

    fix_init(&f);
    f.vdev.nvqs = 4;
    f.vdev.vq[2] = f.vdev.vq[0];
    f.vdev.vq[2].index = 2;
    memset(&f.vdev.vq[0], 0, sizeof(VirtQueue));
    event_notifier_init_fd(&f.vdev.vq[0].host_notifier, -1);
    event_notifier_init_fd(&f.vdev.vq[0].guest_notifier, -1);
    f.dev.vq_index = 2;
    f.dev.nvqs = 1;
    f.fake.index_base = 2;
    fix_dev_init(&f);
    g_assert_true(vhost_dev_enable_notifiers(&f.dev, &f.vdev, &err));
    g_assert_cmpstr(f.ft.log->str, ==, "hn 2 1;");
    g_string_truncate(f.fake.log, 0);
    g_assert_true(vhost_dev_start(&f.dev, &f.vdev, true, &err));
    assert_log(&f, "set_features 0x0;" TABLE2 ";set_vring_num 0 256;"
               "set_vring_base 0 5;set_vring_addr 0 " Q0 " flags=0x0 "
               "log=0x12000;set_vring_kick 0 kick2;set_vring_call 0 guest2;"
               "set_vring_enable 1;dev_start 1;");
    fix_cleanup(&f);
}

/* Cleanup of a started device (backend gone, caller gave up) talks to
 * nobody: unregistering the listener must not send an empty table. */
static void test_cleanup_started(void)
{
    Fix f;

    fix_init(&f);
    fix_start(&f);
    vhost_dev_cleanup(&f.dev);
    assert_log(&f, "");
    g_assert_false(f.dev.started);
    g_assert_null(f.dev.vqs);
    g_assert_cmpuint(f.fake.cleanups, ==, 1);
    fix_cleanup(&f);
}

/* --- features, config, inflight ---------------------------------------- */

static void test_features(void)
{
    static const int bits[] = { 1, 3, 5, 40, VHOST_INVALID_FEATURE_BIT };
    Fix f;

    fix_init(&f);
    f.fake.features = 1ULL << 1 | 1ULL << 5 | 1ULL << 7;
    fix_dev_init(&f);
    /* Listed bits the backend lacks go; unlisted bits stay. */
    g_assert_cmphex(vhost_get_features(&f.dev, bits, 0xff | 1ULL << 40),
                    ==, 0xf7);
    vhost_ack_features(&f.dev, bits, 0xff | 1ULL << 40);
    g_assert_cmphex(f.dev.acked_features, ==, 0x2a | 1ULL << 40);
    vhost_ack_features(&f.dev, bits, 0);   /* only ever adds */
    g_assert_cmphex(f.dev.acked_features, ==, 0x2a | 1ULL << 40);
    fix_cleanup(&f);
}

static void config_notifier(struct vhost_dev *dev, VhostConfigDoneFn *done,
                            void *opaque)
{
    fake_of(dev)->config_changes++;
    if (done) {
        done(dev, opaque);
    }
}

static const VhostDevConfigOps config_ops = {
    .config_notifier = config_notifier,
};

static void test_config(void)
{
    Fix f;
    uint8_t buf[8] = { 0 };
    const uint8_t data[2] = { 0xab, 0xcd };
    g_autoptr(Error) err = NULL;

    fix_init(&f);
    memcpy(f.fake.config, "\x01\x02\x03\x04\x05\x06\x07\x08", 8);
    fix_dev_init(&f);
    g_string_truncate(f.fake.log, 0);
    g_assert_true(vhost_dev_get_config(&f.dev, buf, 8, &err));
    g_assert_cmpmem(buf, 8, f.fake.config, 8);
    g_assert_true(vhost_dev_set_config(&f.dev, data, 2, 2, 0, &err));
    assert_log(&f, "get_config 8;set_config 2 2 0x0 abcd;");
    f.fake.fail_op = "get_config";
    g_assert_false(vhost_dev_get_config(&f.dev, buf, 8, &err));
    g_assert_nonnull(err);
    vhost_dev_config_changed(&f.dev, NULL, NULL);  /* no config_ops */
    f.dev.config_ops = &config_ops;
    vhost_dev_config_changed(&f.dev, NULL, NULL);
    g_assert_cmpuint(f.fake.config_changes, ==, 1);
    fix_cleanup(&f);
}

/* No config ops in the backend: a clear error, no crash. */
static void test_config_unsupported(void)
{
    static const VhostOps bare = { .name = "bare" };
    struct vhost_dev dev = { .nvqs = 1 };
    uint8_t buf[4];
    g_autoptr(Error) err = NULL;
    g_autoptr(Error) err2 = NULL;

    g_assert_true(vhost_dev_init(&dev, NULL, &bare, NULL, &err));
    g_assert_false(vhost_dev_get_config(&dev, buf, 4, &err));
    g_assert_cmpstr(error_get_pretty(err), ==,
                    "bare: backend has no config space access");
    g_assert_false(vhost_dev_set_config(&dev, buf, 0, 4, 0, &err2));
    vhost_dev_cleanup(&dev);
    vhost_dev_cleanup(&dev);
}

static void test_inflight(void)
{
    Fix f;
    VhostInflight inflight = { .fd = -1 };
    int fd;

    fix_init(&f);
    fix_dev_init(&f);
    g_string_truncate(f.fake.log, 0);
    g_assert_true(vhost_dev_set_inflight(&f.dev, &inflight, NULL));
    g_assert_true(vhost_dev_get_inflight(&f.dev, 256, &inflight, NULL));
    g_assert_true(vhost_dev_get_inflight(&f.dev, 256, &inflight, NULL));
    g_assert_nonnull(inflight.addr);
    memset(inflight.addr, 0x5a, inflight.size);
    g_assert_true(vhost_dev_set_inflight(&f.dev, &inflight, NULL));
    assert_log(&f, "get_inflight_fd 256;set_inflight_fd 4096 256;");
    fd = inflight.fd;
    vhost_dev_free_inflight(&inflight);
    g_assert_null(inflight.addr);
    g_assert_cmpint(inflight.fd, ==, -1);
    g_assert_cmpint(fcntl(fd, F_GETFD), ==, -1);
    g_assert_cmpint(errno, ==, EBADF);
    vhost_dev_free_inflight(&inflight);
    fix_cleanup(&f);
}

/* --- dirty log --------------------------------------------------------- */

#define LOG_ALL_HEX "0x4000000"
/* [0, 0x10100000): last page 0x100ff -> chunk 0x403. */
#define LOG_CHUNKS 0x404

static void test_log_enable_disable(void)
{
    Fix f;
    g_autoptr(Error) err = NULL;

    fix_init(&f);
    f.fake.shm_log = true;
    fix_start(&f);
    g_assert_cmpuint(vhost_get_log_size(&f.dev), ==, LOG_CHUNKS);
    g_assert_true(vhost_dev_set_log(&f.dev, true, &err));
    assert_log(&f, "set_log_base shm 1028;set_features " LOG_ALL_HEX ";"
               "set_vring_addr 0 " Q0 " flags=0x1 log=0x12000;"
               "set_vring_addr 1 " Q1 " flags=0x1 log=0x10002000;");
    g_assert_true(f.dev.log_enabled);
    g_assert_true(f.fake.log_base == f.dev.log);
    g_assert_cmpuint(f.dev.log->size, ==, LOG_CHUNKS);
    g_assert_cmpint(f.dev.log->fd, >=, 0);
    g_assert_true(vhost_dev_set_log(&f.dev, true, &err));   /* no-op */
    assert_log(&f, "");
    g_assert_true(vhost_dev_set_log(&f.dev, false, &err));
    assert_log(&f, "set_features 0x0;"
               "set_vring_addr 0 " Q0 " flags=0x0 log=0x12000;"
               "set_vring_addr 1 " Q1 " flags=0x0 log=0x10002000;");
    g_assert_false(f.dev.log_enabled);
    g_assert_null(f.dev.log);
    fix_cleanup(&f);
}

/* A backend that maps nothing gets private memory. */
static void test_log_private(void)
{
    Fix f;

    fix_init(&f);
    fix_start(&f);
    g_assert_true(vhost_dev_set_log(&f.dev, true, NULL));
    g_assert_cmpint(f.dev.log->fd, ==, -1);
    g_assert_nonnull(strstr(f.fake.log->str, "set_log_base private 1028;"));
    fix_cleanup(&f);    /* frees the log while enabled */
}

static void test_log_blocker(void)
{
    Fix f;
    g_autoptr(Error) err = NULL;

    fix_init(&f);
    f.fake.blocker = "backend lacks LOG_SHMFD";
    fix_start(&f);
    g_assert_false(vhost_dev_set_log(&f.dev, true, &err));
    g_assert_cmpstr(error_get_pretty(err), ==, "dev0: cannot log dirty "
                    "memory: backend lacks LOG_SHMFD");
    assert_log(&f, "");
    g_assert_false(f.dev.log_enabled);
    g_assert_null(f.dev.log);
    fix_cleanup(&f);
}

/* A failing ring address undoes LOG_ALL and frees the log. */
static void test_log_enable_failure(void)
{
    Fix f;
    g_autoptr(Error) err = NULL;

    fix_init(&f);
    fix_start(&f);
    f.fake.fail_op = "set_vring_addr";
    f.fake.fail_index = 1;
    g_assert_false(vhost_dev_set_log(&f.dev, true, &err));
    g_assert_cmpstr(error_get_pretty(err), ==, "dev0: enabling the dirty "
                    "log: queue 1: set_vring_addr: injected failure");
    g_assert_false(f.dev.log_enabled);
    g_assert_null(f.dev.log);
    g_assert_nonnull(strstr(f.fake.log->str, "FAIL;set_features 0x0;"));
    fix_cleanup(&f);
}

/* Enabled while stopped: start sets the log up before the rings. */
static void test_log_at_start(void)
{
    Fix f;

    fix_init(&f);
    fix_dev_init(&f);
    g_assert_true(vhost_dev_set_log(&f.dev, true, NULL));
    g_assert_null(f.dev.log);
    g_string_truncate(f.fake.log, 0);
    g_assert_true(vhost_dev_enable_notifiers(&f.dev, &f.vdev, NULL));
    g_assert_true(vhost_dev_start(&f.dev, &f.vdev, true, NULL));
    g_assert_true(g_str_has_prefix(f.fake.log->str,
                                   "set_features " LOG_ALL_HEX ";" TABLE2
                                   ";set_log_base private 1028;"
                                   "set_vring_num 0 256;"));
    g_assert_nonnull(strstr(f.fake.log->str, "flags=0x1 log=0x12000;"));
    /* Stop keeps the log (bits stay for the next sync). */
    vhost_dev_stop(&f.dev, &f.vdev, true);
    g_assert_nonnull(f.dev.log);
    g_assert_true(vhost_dev_set_log(&f.dev, false, NULL));
    g_assert_null(f.dev.log);
    fix_cleanup(&f);
}

/* Memory grows while logging: a bigger log is sent, old bits carried. */
static void test_log_resize(void)
{
    Fix f;
    struct vhost_log *old;

    fix_init(&f);
    f.fake.shm_log = true;
    fix_start(&f);
    g_assert_true(vhost_dev_set_log(&f.dev, true, NULL));
    old = f.dev.log;
    old->log[3] = 1ULL << 9;
    g_string_truncate(f.fake.log, 0);
    g_assert_true(memory_region_init_ram_memfd(&f.extra, "x", MiB, NULL));
    memory_region_add_subregion(&f.root, 0x40000000, &f.extra);
    g_assert_true(g_str_has_suffix(f.fake.log->str,
                                   "[0x40000000+0x100000 fd];"
                                   "set_log_base shm 4100;"));
    g_assert_true(f.dev.log != old);
    g_assert_cmphex(f.dev.log->log[3], ==, 1ULL << 9);
    /* Shrinking keeps the bigger log. */
    g_string_truncate(f.fake.log, 0);
    memory_region_del_subregion(&f.root, &f.extra);
    assert_log(&f, TABLE2 ";");
    fix_cleanup(&f);
}

typedef struct Marks {
    GArray *pages;
} Marks;

static void mark(uint64_t gpa, void *opaque)
{
    uint64_t page = gpa / VHOST_LOG_PAGE;

    g_assert_cmphex(gpa % VHOST_LOG_PAGE, ==, 0);
    g_array_append_val(((Marks *)opaque)->pages, page);
}

static char *marks_str(Marks *m)
{
    GString *s = g_string_new("");

    for (unsigned i = 0; i < m->pages->len; i++) {
        g_string_append_printf(s, "%s%" PRIu64, i ? " " : "",
                               g_array_index(m->pages, uint64_t, i));
    }
    g_array_set_size(m->pages, 0);
    return g_string_free(s, FALSE);
}

static void test_log_sync(void)
{
    struct vhost_log *log = vhost_log_alloc(4, false, NULL);
    Marks m = { g_array_new(FALSE, FALSE, sizeof(uint64_t)) };
    g_autofree char *s1 = NULL;

    log->log[0] = 1ULL | 1ULL << 63;
    log->log[2] = 1ULL << 5;
    log->log[3] = 1ULL << 63;
    g_assert_cmpuint(vhost_log_sync_range(log, 0, 256, mark, &m), ==, 4);
    s1 = marks_str(&m);
    g_assert_cmpstr(s1, ==, "0 63 133 255");
    for (unsigned i = 0; i < 4; i++) {
        g_assert_cmphex(log->log[i], ==, 0);
    }
    g_assert_cmpuint(vhost_log_sync_range(log, 0, 256, mark, &m), ==, 0);
    vhost_log_free(log);
    g_array_free(m.pages, TRUE);
}

/* Range edges inside a chunk take only their bits; the range is clipped
 * to the log. */
static void test_log_sync_partial(void)
{
    struct vhost_log *log = vhost_log_alloc(3, false, NULL);
    Marks m = { g_array_new(FALSE, FALSE, sizeof(uint64_t)) };
    g_autofree char *s1 = NULL, *s2 = NULL;

    log->log[1] = UINT64_MAX;
    log->log[2] = 1ULL << 63;
    g_assert_cmpuint(vhost_log_sync_range(log, 64 + 10, 4, mark, &m), ==, 4);
    s1 = marks_str(&m);
    g_assert_cmpstr(s1, ==, "74 75 76 77");
    g_assert_cmphex(log->log[1], ==, ~(0xfULL << 10));
    g_assert_cmpuint(vhost_log_sync_range(log, 127, 1000, mark, &m), ==, 2);
    s2 = marks_str(&m);
    g_assert_cmpstr(s2, ==, "127 191");
    g_assert_cmphex(log->log[1], ==, ~(0xfULL << 10) & ~(1ULL << 63));
    g_assert_cmpuint(vhost_log_sync_range(log, 500, 10, mark, &m), ==, 0);
    /* Chunk 1 still has 64 - 4 - 1 bits. */
    g_assert_cmpuint(vhost_log_sync_range(log, 5, UINT64_MAX, mark, &m), ==,
                     59);
    g_assert_cmpuint(vhost_log_sync_range(NULL, 0, 10, mark, &m), ==, 0);
    vhost_log_free(log);
    g_array_free(m.pages, TRUE);
}

/* A shared log is one memory with its fd. */
static void test_log_shared(void)
{
    g_autoptr(Error) err = NULL;
    struct vhost_log *log = vhost_log_alloc(2, true, &err);
    uint64_t v = 0;

    g_assert_nonnull(log);
    g_assert_cmpint(log->fd, >=, 0);
    g_assert_cmpint(fcntl(log->fd, F_GETFD) & FD_CLOEXEC, ==, FD_CLOEXEC);
    g_assert_cmpint(lseek(log->fd, 0, SEEK_END), ==, 16);
    log->log[1] = 0x1234;
    g_assert_cmpint(pread(log->fd, &v, 8, 8), ==, 8);
    g_assert_cmphex(v, ==, 0x1234);
    vhost_log_free(log);
    log = vhost_log_alloc(0, false, &err);
    g_assert_cmpuint(log->size, ==, 1);
    vhost_log_free(log);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/vhost/init/failure", test_init_failure);
    g_test_add_func("/vhost/notifiers", test_notifiers);
    g_test_add_func("/vhost/start/sequence", test_start_sequence);
    g_test_add_func("/vhost/start/no-vrings", test_start_no_vrings);
    g_test_add_func("/vhost/start/rollback", test_start_rollback);
    g_test_add_func("/vhost/start/rollback-late", test_start_rollback_late);
    g_test_add_func("/vhost/start/ring-outside", test_start_ring_outside);
    g_test_add_func("/vhost/start/vq-index", test_vq_index_mapping);
    g_test_add_func("/vhost/stop/saves-base", test_stop_saves_base);
    g_test_add_func("/vhost/stop/backend-gone", test_stop_backend_gone);
    g_test_add_func("/vhost/stop/cleanup-started", test_cleanup_started);
    g_test_add_func("/vhost/features", test_features);
    g_test_add_func("/vhost/config", test_config);
    g_test_add_func("/vhost/config/unsupported", test_config_unsupported);
    g_test_add_func("/vhost/inflight", test_inflight);
    g_test_add_func("/vhost/log/enable-disable", test_log_enable_disable);
    g_test_add_func("/vhost/log/private", test_log_private);
    g_test_add_func("/vhost/log/blocker", test_log_blocker);
    g_test_add_func("/vhost/log/enable-failure", test_log_enable_failure);
    g_test_add_func("/vhost/log/at-start", test_log_at_start);
    g_test_add_func("/vhost/log/resize", test_log_resize);
    g_test_add_func("/vhost/log/sync", test_log_sync);
    g_test_add_func("/vhost/log/sync-partial", test_log_sync_partial);
    g_test_add_func("/vhost/log/shared", test_log_shared);
    return g_test_run();
}
