/* SPDX-License-Identifier: MIT */
/*
 * Memory hotplug with a real vhost-user backend: qemu-storage-daemon
 * serves a scratch image to the test guest while a pc-dimm is plugged
 * into the hotplug area; the guest's disk I/O must stay correct and the
 * image must hold what it wrote.  The daemon speaks CONFIGURE_MEM_SLOTS,
 * so it receives the dimm as one ADD_MEM_REG on top of the boot RAM.
 * Dimms come from the command line, or through QMP (libqmp.h) while the
 * guest's I/O runs: the guest cannot wait for QMP, so it is given enough
 * sectors to still be busy when the test plugs and unplugs.
 */
#include "functional-common.h"
#include "libqmp.h"

#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#define DISK_SIZE (64 << 20)
#define TIMEOUT 120
#define MEM_OPTS "-m 256M,slots=4,maxmem=2G"

typedef struct HotplugFixture {
    char *dir;
    char *image;
    char *sock;
    Peer qsd;
} HotplugFixture;

static bool hp_setup(HotplugFixture *f)
{
    if (!require_kvm() || !require_program("qemu-storage-daemon")) {
        return false;
    }
    f->dir = tmpdir_new();
    f->image = g_build_filename(f->dir, "disk.img", NULL);
    f->sock = g_build_filename(f->dir, "vub.sock", NULL);
    int fd = open(f->image, O_CREAT | O_RDWR | O_CLOEXEC, 0600);
    g_assert_cmpint(fd, >=, 0);
    g_assert_cmpint(ftruncate(fd, DISK_SIZE), ==, 0);
    close(fd);
    qsd_start(&f->qsd, f->image, f->sock, 1);
    return true;
}

static void hp_teardown(HotplugFixture *f)
{
    peer_stop(&f->qsd);
    tmpdir_remove(f->dir);
    g_free(f->dir);
    g_free(f->image);
    g_free(f->sock);
}

/* The first 16 bytes of sector n on the host image. */
static char *image_sector_tag(const char *image, unsigned n)
{
    char buf[17] = { 0 };
    int fd = open(image, O_RDONLY | O_CLOEXEC);

    g_assert_cmpint(fd, >=, 0);
    g_assert_cmpint(pread(fd, buf, 16, (off_t)n * 512), ==, 16);
    close(fd);
    return g_strdup(buf);
}

/* Stop the daemon (it flushes and closes the image), then find the
 * guest's tags in sectors 0 and last. */
static void check_image(HotplugFixture *f, unsigned last)
{
    g_autofree char *want = g_strdup_printf("kvmini-blk-%05u", last);
    g_autofree char *first = NULL, *end = NULL;

    peer_stop(&f->qsd);
    first = image_sector_tag(f->image, 0);
    end = image_sector_tag(f->image, last);
    g_assert_cmpstr(first, ==, "kvmini-blk-00000");
    g_assert_cmpstr(end, ==, want);
}

/* Two dimms on the command line (one before, one after the disk): the
 * daemon maps three regions, the guest's I/O is correct. */
static void test_coldplug(void)
{
    HotplugFixture f = { 0 };
    RunResult r = { 0 };

    if (!hp_setup(&f)) {
        return;
    }
    g_autofree char *args = g_strdup_printf(
        MEM_OPTS " -object memory-backend-memfd,id=mem1,size=128M "
        "-object memory-backend-memfd,id=mem2,size=64M "
        "-device pc-dimm,id=dimm1,memdev=mem1 "
        "-chardev socket,id=c0,path=%s "
        "-device vhost-user-blk,chardev=c0,id=disk0 "
        "-device pc-dimm,id=dimm2,memdev=mem2 "
        "-append 'test=blk blk_sectors=512'", f.sock);

    run_kvmini_guest(args, TIMEOUT, &r);
    test_log("%s%s", r.out, r.err);
    g_assert_nonnull(strstr(r.out, "blk: wrote 512 sectors, read 512 "
                                   "sectors, 0 mismatches, flush ok"));
    g_assert_nonnull(strstr(r.out, "test blk: PASS"));
    g_assert_cmpint(r.status, ==, 0);
    run_result_clear(&r);
    check_image(&f, 511);
    hp_teardown(&f);
}

/* --- while the guest runs ------------------------------------------------ */

static bool peer_output_has(Peer *p, const char *text)
{
    g_autofree char *log = NULL;

    return g_file_get_contents(p->log_path, &log, NULL, NULL) &&
           strstr(log, text);
}

static void qmp_plug(QmpClient *c, const char *dimm, const char *mem,
                     guint64 size)
{
    json_node_unref(qmp_cmd_ok(c, "{\"execute\": \"object-add\", "
                               "\"arguments\": {\"qom-type\": "
                               "\"memory-backend-memfd\", \"id\": \"%s\", "
                               "\"size\": %" G_GUINT64_FORMAT "}}", mem,
                               size));
    json_node_unref(qmp_cmd_ok(c, "{\"execute\": \"device_add\", "
                               "\"arguments\": {\"driver\": \"pc-dimm\", "
                               "\"id\": \"%s\", \"memdev\": \"%s\"}}", dimm,
                               mem));
}

static void qmp_unplug(QmpClient *c, const char *dimm)
{
    g_autoptr(JsonNode) ev = NULL;

    json_node_unref(qmp_cmd_ok(c, "{\"execute\": \"device_del\", "
                               "\"arguments\": {\"id\": \"%s\"}}", dimm));
    ev = qmp_wait_event(c, "DEVICE_DELETED", QMP_TIMEOUT_MS);
    g_assert_nonnull(ev);
}

/* n dimms are plugged, the first at 4 GiB (RAM is below 4 GiB), and the
 * daemon's table holds the RAM and each of them. */
static void qmp_check_dimms(QmpClient *c, unsigned n)
{
    g_autoptr(JsonNode) list = qmp_cmd_ok(
        c, "{\"execute\": \"query-memory-devices\"}");
    g_autoptr(JsonNode) vhost = qmp_cmd_ok(
        c, "{\"execute\": \"x-query-vhost\"}");
    JsonArray *a = json_node_get_array(list);
    JsonObject *v = json_array_get_object_element(
        json_node_get_array(vhost), 0);
    JsonObject *d;

    g_assert_cmpuint(json_array_get_length(json_object_get_array_member(
        v, "memory-regions")), ==, n + 1);
    g_assert_cmpuint(json_array_get_length(a), ==, n);
    if (n) {
        d = json_object_get_object_member(
            json_array_get_object_element(a, 0), "data");
        g_assert_cmphex(json_object_get_int_member(d, "addr"), ==,
                        0x100000000ULL);
    }
}

/* Plug two dimms and unplug one through QMP while the guest writes and
 * reads 6000 sectors through the daemon; every sector verifies. */
static void test_hotplug_during_io(void)
{
    HotplugFixture f = { 0 };
    RunResult r = { 0 };
    Peer vm = { 0 };
    QmpClient *c;

    if (!hp_setup(&f)) {
        return;
    }
    g_autofree char *qmp_sock = g_build_filename(f.dir, "qmp.sock", NULL);
    g_autofree char *qmp = g_strdup_printf("unix:%s,server=on,wait=off",
                                           qmp_sock);
    g_autofree char *chardev = g_strdup_printf("socket,id=c0,path=%s",
                                               f.sock);
    const char *argv[] = {
        kvmini_binary(), "-m", "256M,slots=4,maxmem=2G", "-kernel",
        guest_elf(), "-serial", "stdio", "-qmp", qmp, "-chardev", chardev,
        "-device", "vhost-user-blk,chardev=c0,id=disk0", "-append",
        "test=blk blk_sectors=6000 blk_timeout_ms=30000", NULL };

    peer_start(&vm, argv, qmp_sock);
    c = qmp_connect(qmp_sock);
    qmp_negotiate(c);
    g_assert_true(peer_wait_output(&vm, "blk: queues 1", 30));
    qmp_plug(c, "dimm1", "mem1", 128 << 20);
    qmp_plug(c, "dimm2", "mem2", 64 << 20);
    qmp_check_dimms(c, 2);
    qmp_unplug(c, "dimm2");
    qmp_check_dimms(c, 1);
    /* Still busy: the plugging happened in the middle of the I/O. */
    g_assert_false(peer_output_has(&vm, "test blk:"));
    qmp_close(c);
    peer_wait_exit(&vm, TIMEOUT, &r);
    test_log("%s", r.out);
    g_assert_nonnull(strstr(r.out, "blk: wrote 6000 sectors, read 6000 "
                                   "sectors, 0 mismatches"));
    g_assert_nonnull(strstr(r.out, "test blk: PASS"));
    g_assert_cmpint(r.status, ==, 0);
    run_result_clear(&r);
    check_image(&f, 5999);
    hp_teardown(&f);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/memory-hotplug/qsd/coldplug", test_coldplug);
    g_test_add_func("/memory-hotplug/qsd/during-io", test_hotplug_during_io);
    return g_test_run();
}
