/* SPDX-License-Identifier: MIT */
/*
 * Memory hotplug (-m SIZE,slots=N,maxmem=MAX, pc-dimm) seen from a
 * vhost-user backend: kvmini under qtest with a vhost-user-blk device on
 * the test backend (vhost-user-test-backend.h) whose driver the test runs
 * (vhost-user-blk-common.h).  A pc-dimm maps a memory backend at the start
 * of the hotplug area, 4 GiB here (RAM is below 4 GiB): the backend must
 * get exactly the new region (ADD_MEM_REG with CONFIGURE_MEM_SLOTS, else
 * one SET_MEM_TABLE with the whole table), see what the "guest" writes
 * there through its own mapping, and lose it again on unplug; a plug that
 * would overflow the backend's slot limit is refused with nothing sent
 * and nothing mapped.  Hotplug goes through QMP (object-add, device_add,
 * device_del, query-memory-devices, x-query-vhost; libqmp.h) and through
 * -device pc-dimm on the command line.  Also the command-line checks.
 */
#include <inttypes.h>
#include <string.h>

#include "libqmp.h"
#include "vhost-user-blk-common.h"

#define HOTPLUG_BASE  (4 * GiB)
#define DIMM_SIZE     (128 * MiB)
#define MEM_OPTS      "-m 256M,slots=4,maxmem=2G"
#define QTEST_NOWHERE "-accel qtest -qtest unix:/nonexistent/kvmini.sock"

/* --- helpers ------------------------------------------------------------ */

/* kvmini fails to start with one line on stderr that mentions needle. */
static void check_error(const char *args, const char *needle)
{
    g_autofree char *cmd = g_strdup_printf(QTEST_NOWHERE " %s", args);
    g_autofree char *out = NULL, *err = NULL;
    int status;

    qtest_run_kvmini(cmd, &out, &err, &status);
    g_test_message("kvmini %s -> %d: %s", args, status, err);
    g_assert_cmpint(status, ==, 1);
    g_assert_true(g_str_has_prefix(err, "kvmini: "));
    if (!strstr(err, needle)) {
        g_error("'%s' does not mention '%s'", err, needle);
    }
}

/* The region of the backend's table at gpa (copied to *out), or false. */
static bool backend_region(Vub *b, uint64_t gpa, VhostUserMemoryRegion *out)
{
    VhostUserMemoryRegion r[VHOST_USER_MAX_RAM_SLOTS];
    unsigned n = vub_mem_regions(b, r, G_N_ELEMENTS(r));

    for (unsigned i = 0; i < n; i++) {
        if (r[i].guest_phys_addr == gpa) {
            *out = r[i];
            return true;
        }
    }
    return false;
}

/* The nth logged ADD/REM_MEM_REG: its region, with one fd for ADD and
 * none for REM (the spec). */
static VhostUserMemoryRegion mem_reg_msg(Vub *b, uint32_t request, int nth)
{
    g_autoptr(VubMsg) m = vub_find(b, request, nth);
    VhostUserMemRegMsg reg;

    g_assert_nonnull(m);
    g_assert_cmpuint(m->size, ==, sizeof(reg));
    g_assert_cmpuint(m->nfds, ==, request == VHOST_USER_ADD_MEM_REG);
    memcpy(&reg, m->payload, sizeof(reg));
    return reg.region;
}

/* A pattern written by qtest (the guest's view) into hotplugged RAM is
 * what the backend reads through its mapping, and the other way round. */
static void check_shared(Blk *t, uint64_t gpa)
{
    uint8_t pat[4096], back[4096];

    blk_fill(pat, sizeof(pat), gpa >> 20);
    qtest_bufwrite(t->qts, gpa, pat, sizeof(pat));
    g_assert_true(vub_read_guest(t->b, gpa, back, sizeof(back)));
    g_assert_cmpmem(back, sizeof(back), pat, sizeof(pat));
    blk_fill(pat, 64, 99);
    g_assert_true(vub_write_guest(t->b, gpa + 64, pat, 64));
    qtest_memread(t->qts, gpa + 64, back, 64);
    g_assert_cmpmem(back, 64, pat, 64);
}

/* Nothing is mapped at gpa: reads are all-ones. */
static void check_unmapped(Blk *t, uint64_t gpa)
{
    g_assert_cmphex(qtest_readq(t->qts, gpa), ==, UINT64_MAX);
}

static void launch_with_dimm(Blk *t, const VubOptions *o, const char *extra)
{
    g_autofree char *line = g_strdup_printf(
        MEM_OPTS " -object memory-backend-memfd,id=mem1,size=128M "
        "-device pc-dimm,id=dimm1,memdev=mem1 %s", extra ? extra : "");

    blk_init(t, o, true);
    blk_launch(t, NULL, NULL, line);
    blk_driver_start(t, 1);
}

/* --- cold plug (-device pc-dimm) --------------------------------------- */

/* CONFIGURE_MEM_SLOTS: one ADD_MEM_REG per region, the dimm's with its
 * own fd at offset 0. */
static void test_coldplug_add_mem_reg(void)
{
    VhostUserMemoryRegion r = { 0 };
    Blk t;

    launch_with_dimm(&t, NULL, NULL);
    g_assert_cmpuint(vub_mem_regions(t.b, NULL, 0), ==, 2);
    g_assert_cmpuint(vub_count(t.b, VHOST_USER_ADD_MEM_REG), ==, 2);
    g_assert_cmpuint(vub_count(t.b, VHOST_USER_SET_MEM_TABLE), ==, 0);
    r = mem_reg_msg(t.b, VHOST_USER_ADD_MEM_REG, 1);
    g_assert_cmphex(r.guest_phys_addr, ==, HOTPLUG_BASE);
    g_assert_cmphex(r.memory_size, ==, DIMM_SIZE);
    g_assert_cmphex(r.mmap_offset, ==, 0);
    check_shared(&t, HOTPLUG_BASE + MiB);
    check_shared(&t, HOTPLUG_BASE + DIMM_SIZE - 4096 * 2);
    check_unmapped(&t, HOTPLUG_BASE + DIMM_SIZE);
    blk_write_check(&t, 0, 8, 4096, 3);
    blk_free(&t);
}

/* Without CONFIGURE_MEM_SLOTS: one SET_MEM_TABLE with both regions. */
static void test_coldplug_set_mem_table(void)
{
    VubOptions o;
    VhostUserMemoryRegion r = { 0 };
    Blk t;

    blk_options(&o);
    o.protocol_features &=
        ~VUB_BIT(VHOST_USER_PROTOCOL_F_CONFIGURE_MEM_SLOTS);
    launch_with_dimm(&t, &o, NULL);
    g_assert_cmpuint(vub_count(t.b, VHOST_USER_SET_MEM_TABLE), ==, 1);
    g_assert_cmpuint(vub_count(t.b, VHOST_USER_ADD_MEM_REG), ==, 0);
    g_assert_cmpuint(vub_mem_regions(t.b, NULL, 0), ==, 2);
    g_assert_true(backend_region(t.b, HOTPLUG_BASE, &r));
    g_assert_cmphex(r.memory_size, ==, DIMM_SIZE);
    g_assert_cmphex(r.mmap_offset, ==, 0);
    check_shared(&t, HOTPLUG_BASE + 3 * MiB);
    blk_free(&t);
}

/* addr= places the dimm; a second one goes to the first free place. */
static void test_coldplug_placement(void)
{
    VhostUserMemoryRegion r = { 0 };
    Blk t;

    launch_with_dimm(&t, NULL, "-object memory-backend-memfd,id=mem2,"
                     "size=64M -device pc-dimm,id=dimm2,memdev=mem2,"
                     "addr=0x140000000 -object memory-backend-memfd,"
                     "id=mem3,size=2M -device pc-dimm,memdev=mem3");
    g_assert_cmpuint(vub_mem_regions(t.b, NULL, 0), ==, 4);
    g_assert_true(backend_region(t.b, 0x140000000, &r));
    g_assert_cmphex(r.memory_size, ==, 64 * MiB);
    g_assert_true(backend_region(t.b, HOTPLUG_BASE + DIMM_SIZE, &r));
    g_assert_cmphex(r.memory_size, ==, 2 * MiB);
    check_shared(&t, 0x140000000 + 5 * MiB);
    check_shared(&t, HOTPLUG_BASE + DIMM_SIZE);
    blk_free(&t);
}

/* --- command line -------------------------------------------------------- */

static void test_cmdline_errors(void)
{
    static const char dimm[] = " -object memory-backend-memfd,id=m1,"
                               "size=128M -device pc-dimm,memdev=m1";

    check_error("-m 256M,slots=4", "slots and maxmem go together");
    check_error("-m 256M,maxmem=1G", "slots and maxmem go together");
    check_error("-m 256M,slots=33,maxmem=1G", "between 1 and 32");
    check_error("-m 256M,slots=0,maxmem=1G", "between 1 and 32");
    check_error("-m 512M,slots=2,maxmem=256M", "at least the initial");
    check_error("-m 256M,slots=2,maxmem=1G,foo=1", "foo");
    check_error("-m 256M -object memory-backend-memfd,id=m1,size=128M "
                "-device pc-dimm,memdev=m1", "not enabled");
    check_error("-m 256M,slots=2,maxmem=1G -device pc-dimm,memdev=nope",
                "'nope' not found");
    check_error("-m 256M,slots=2,maxmem=1G -device pc-dimm", "memdev");
    g_autofree char *nospace = g_strdup_printf("-m 256M,slots=1,maxmem=300M%s",
                                               dimm);
    check_error(nospace, "not enough space");
    g_autofree char *busy = g_strdup_printf("-m 256M,slots=2,maxmem=1G%s "
                                            "-device pc-dimm,memdev=m1",
                                            dimm);
    check_error(busy, "already busy memdev: m1");
    check_error("-m 256M,slots=2,maxmem=1G -object memory-backend-memfd,"
                "id=m1,size=128M -object memory-backend-memfd,id=m2,"
                "size=128M -device pc-dimm,memdev=m1,slot=1 -device "
                "pc-dimm,memdev=m2,slot=1", "slot 1 is busy");
    g_autofree char *full = g_strdup_printf("-m 256M,slots=1,maxmem=1G%s "
                                            "-object memory-backend-memfd,"
                                            "id=m2,size=2M -device "
                                            "pc-dimm,memdev=m2", dimm);
    check_error(full, "all memory slots (1) are in use");
    g_autofree char *unaligned = g_strdup_printf(
        "-m 256M,slots=2,maxmem=1G%s,addr=0x100100000", dimm);
    check_error(unaligned, "aligned");
    g_autofree char *outside = g_strdup_printf(
        "-m 256M,slots=2,maxmem=1G%s,addr=0x200000000", dimm);
    check_error(outside, "usable range");
}

/* Hotplug needs a place: without it the area is not even mapped, with it
 * the area is empty until a device is plugged. */
static void test_empty_area(void)
{
    QTestState *qts = qtest_init("-m 256M,slots=2,maxmem=1G");

    g_assert_cmphex(qtest_readq(qts, HOTPLUG_BASE), ==, UINT64_MAX);
    qtest_writeq(qts, 0x1000, 0x55);
    g_assert_cmphex(qtest_readq(qts, 0x1000), ==, 0x55);
    qtest_quit(qts);
}

/* --- hotplug through QMP ------------------------------------------------ */

typedef struct HFixture {
    Blk t;
    char *qmp_sock;
    QmpClient *c;
} HFixture;

/* kvmini with hotplug enabled, the disk on the backend (made from o, or
 * the defaults) and a QMP monitor; the driver is started if asked. */
static void hfix_start(HFixture *f, const VubOptions *o, bool driver)
{
    g_autofree char *extra = NULL;

    blk_init(&f->t, o, true);
    f->qmp_sock = g_build_filename(f->t.dir, "qmp.sock", NULL);
    extra = g_strdup_printf(MEM_OPTS " -qmp unix:%s,server=on,wait=off",
                            f->qmp_sock);
    blk_launch(&f->t, NULL, ",id=disk0", extra);
    f->c = qmp_connect(f->qmp_sock);
    qmp_negotiate(f->c);
    if (driver) {
        blk_driver_start(&f->t, 1);
    }
    vub_log_clear(f->t.b);
}

static void hfix_free(HFixture *f)
{
    qmp_close(f->c);
    blk_free(&f->t);
    g_free(f->qmp_sock);
}

static void object_add(HFixture *f, const char *id, uint64_t size)
{
    json_node_unref(qmp_cmd_ok(
        f->c, "{\"execute\": \"object-add\", \"arguments\": {\"qom-type\": "
        "\"memory-backend-memfd\", \"id\": \"%s\", \"size\": %" PRIu64 "}}",
        id, size));
}

/* device_add pc-dimm; the reply (caller unrefs). */
static JsonNode *dimm_add(HFixture *f, const char *id, const char *memdev)
{
    return qmp_cmd(f->c, "{\"execute\": \"device_add\", \"arguments\": "
                   "{\"driver\": \"pc-dimm\", \"id\": \"%s\", \"memdev\": "
                   "\"%s\"}}", id, memdev);
}

static void dimm_add_ok(HFixture *f, const char *id, const char *memdev)
{
    g_autoptr(JsonNode) r = dimm_add(f, id, memdev);

    qmp_return(r);
}

/* device_del; DEVICE_DELETED follows. */
static void dimm_del(HFixture *f, const char *id)
{
    json_node_unref(qmp_cmd_ok(
        f->c, "{\"execute\": \"device_del\", \"arguments\": {\"id\": "
        "\"%s\"}}", id));
    g_autoptr(JsonNode) ev = qmp_wait_event(f->c, "DEVICE_DELETED",
                                            QMP_TIMEOUT_MS);
    JsonObject *data;

    g_assert_nonnull(ev);
    data = json_object_get_object_member(json_node_get_object(ev), "data");
    g_assert_cmpstr(json_object_get_string_member(data, "device"), ==, id);
}

/* The backend got exactly these requests since the log was cleared. */
static void check_log(HFixture *f, const char *want)
{
    g_autofree char *log = vub_log_string(f->t.b, 0);

    g_assert_cmpstr(log, ==, want);
}

/* query-memory-devices: n dimms; the first one's data (borrowed from
 * *list, which the caller unrefs) or NULL. */
static JsonObject *query_dimms(HFixture *f, unsigned n, JsonNode **list)
{
    JsonArray *a;
    JsonObject *o;

    *list = qmp_cmd_ok(f->c, "{\"execute\": \"query-memory-devices\"}");
    a = json_node_get_array(*list);
    g_assert_cmpuint(json_array_get_length(a), ==, n);
    if (!n) {
        return NULL;
    }
    o = json_array_get_object_element(a, 0);
    g_assert_cmpstr(json_object_get_string_member(o, "type"), ==, "dimm");
    return json_object_get_object_member(o, "data");
}

/* x-query-vhost shows the table the backend holds: n regions, one of
 * them at gpa when gpa is not 0. */
static void check_vhost_regions(HFixture *f, unsigned n, uint64_t gpa)
{
    g_autoptr(JsonNode) list = qmp_cmd_ok(f->c,
                                          "{\"execute\": \"x-query-vhost\"}");
    JsonObject *o = json_array_get_object_element(json_node_get_array(list),
                                                  0);
    JsonArray *regions = json_object_get_array_member(o, "memory-regions");
    bool found = !gpa;

    g_assert_cmpuint(json_array_get_length(regions), ==, n);
    g_assert_cmpuint(vub_mem_regions(f->t.b, NULL, 0), ==, n);
    for (unsigned i = 0; i < n; i++) {
        JsonObject *r = json_array_get_object_element(regions, i);

        found |= (uint64_t)json_object_get_int_member(r, "guest-phys-addr") ==
                 gpa;
    }
    g_assert_true(found);
}

/* CONFIGURE_MEM_SLOTS: plug = one ADD_MEM_REG with the dimm's fd, the RAM
 * is shared both ways; unplug = one REM_MEM_REG, the RAM is gone. */
static void test_hotplug_add_mem_reg(void)
{
    g_autoptr(JsonNode) list = NULL;
    g_autoptr(JsonNode) busy = NULL;
    VhostUserMemoryRegion r = { 0 };
    HFixture f = { 0 };
    JsonObject *d;

    hfix_start(&f, NULL, true);
    object_add(&f, "mem1", DIMM_SIZE);
    dimm_add_ok(&f, "dimm1", "mem1");
    g_assert_true(vub_wait_for_count(f.t.b, VHOST_USER_ADD_MEM_REG, 1,
                                     TIMEOUT_MS));
    check_log(&f, "ADD_MEM_REG");
    r = mem_reg_msg(f.t.b, VHOST_USER_ADD_MEM_REG, 0);
    g_assert_cmphex(r.guest_phys_addr, ==, HOTPLUG_BASE);
    g_assert_cmphex(r.memory_size, ==, DIMM_SIZE);
    g_assert_cmphex(r.mmap_offset, ==, 0);
    check_shared(&f.t, HOTPLUG_BASE + 7 * MiB);
    check_vhost_regions(&f, 2, HOTPLUG_BASE);
    d = query_dimms(&f, 1, &list);
    g_assert_cmpstr(json_object_get_string_member(d, "id"), ==, "dimm1");
    g_assert_cmphex(json_object_get_int_member(d, "addr"), ==, HOTPLUG_BASE);
    g_assert_cmphex(json_object_get_int_member(d, "size"), ==, DIMM_SIZE);
    g_assert_cmpint(json_object_get_int_member(d, "slot"), ==, 0);
    g_assert_cmpstr(json_object_get_string_member(d, "memdev"), ==,
                    "/objects/mem1");
    g_assert_true(json_object_get_boolean_member(d, "hotplugged"));
    g_assert_true(json_object_get_boolean_member(d, "hotpluggable"));
    blk_write_check(&f.t, 0, 8, 4096, 5);
    /* The backend is busy while plugged. */
    busy = qmp_cmd(f.c, "{\"execute\": \"object-del\", \"arguments\": "
                   "{\"id\": \"mem1\"}}");
    qmp_expect_error(busy, "GenericError");

    vub_log_clear(f.t.b);
    dimm_del(&f, "dimm1");
    check_log(&f, "REM_MEM_REG");
    r = mem_reg_msg(f.t.b, VHOST_USER_REM_MEM_REG, 0);
    g_assert_cmphex(r.guest_phys_addr, ==, HOTPLUG_BASE);
    g_assert_cmphex(r.memory_size, ==, DIMM_SIZE);
    check_unmapped(&f.t, HOTPLUG_BASE);
    check_vhost_regions(&f, 1, 0);
    json_node_unref(list);
    query_dimms(&f, 0, &list);
    /* The backend is free again. */
    json_node_unref(qmp_cmd_ok(f.c, "{\"execute\": \"object-del\", "
                               "\"arguments\": {\"id\": \"mem1\"}}"));
    blk_write_check(&f.t, 0, 16, 4096, 6);
    hfix_free(&f);
}

/* The nregions of the nth SET_MEM_TABLE, which carries one fd each. */
static unsigned mem_table_regions(Vub *b, int nth)
{
    g_autoptr(VubMsg) m = vub_find(b, VHOST_USER_SET_MEM_TABLE, nth);
    VhostUserMemory mem = { 0 };

    g_assert_nonnull(m);
    memcpy(&mem, m->payload, MIN(m->size, sizeof(mem)));
    g_assert_cmpuint(m->nfds, ==, mem.nregions);
    return mem.nregions;
}

/* Without CONFIGURE_MEM_SLOTS every change is one whole SET_MEM_TABLE. */
static void test_hotplug_set_mem_table(void)
{
    VhostUserMemoryRegion r = { 0 };
    HFixture f = { 0 };
    VubOptions o;

    blk_options(&o);
    o.protocol_features &=
        ~VUB_BIT(VHOST_USER_PROTOCOL_F_CONFIGURE_MEM_SLOTS);
    hfix_start(&f, &o, true);
    object_add(&f, "mem1", DIMM_SIZE);
    dimm_add_ok(&f, "dimm1", "mem1");
    g_assert_true(vub_wait_for_count(f.t.b, VHOST_USER_SET_MEM_TABLE, 1,
                                     TIMEOUT_MS));
    check_log(&f, "SET_MEM_TABLE");
    g_assert_cmpuint(mem_table_regions(f.t.b, 0), ==, 2);
    g_assert_true(backend_region(f.t.b, HOTPLUG_BASE, &r));
    g_assert_cmphex(r.memory_size, ==, DIMM_SIZE);
    check_shared(&f.t, HOTPLUG_BASE);
    vub_log_clear(f.t.b);
    dimm_del(&f, "dimm1");
    check_log(&f, "SET_MEM_TABLE");
    g_assert_cmpuint(mem_table_regions(f.t.b, 0), ==, 1);
    check_unmapped(&f.t, HOTPLUG_BASE);
    blk_write_check(&f.t, 0, 8, 4096, 7);
    hfix_free(&f);
}

/* The backend takes 2 regions: RAM + one dimm fit, a second dimm is
 * refused before anything happens; once the first is gone it fits. */
static void test_hotplug_refused(void)
{
    g_autoptr(JsonNode) list = NULL;
    g_autoptr(JsonNode) reply = NULL;
    HFixture f = { 0 };
    VubOptions o;

    blk_options(&o);
    o.max_mem_slots = 2;
    hfix_start(&f, &o, true);
    object_add(&f, "mem1", DIMM_SIZE);
    object_add(&f, "mem2", 64 * MiB);
    dimm_add_ok(&f, "dimm1", "mem1");
    g_assert_true(vub_wait_for_count(f.t.b, VHOST_USER_ADD_MEM_REG, 1,
                                     TIMEOUT_MS));
    vub_log_clear(f.t.b);
    reply = dimm_add(&f, "dimm2", "mem2");
    g_assert_cmpstr(qmp_expect_error(reply, "GenericError"), ==,
                    "memory hotplug refused: vhost-user-blk 'disk0': guest "
                    "memory would need 3 regions, the backend accepts at "
                    "most 2");
    check_unmapped(&f.t, HOTPLUG_BASE + DIMM_SIZE);
    query_dimms(&f, 1, &list);
    check_vhost_regions(&f, 2, HOTPLUG_BASE);
    check_log(&f, "");
    blk_write_check(&f.t, 0, 8, 4096, 8);   /* the disk still works */

    /* Nothing was taken: the slot, the id and mem2 are free. */
    dimm_del(&f, "dimm1");
    vub_log_clear(f.t.b);
    dimm_add_ok(&f, "dimm2", "mem2");
    g_assert_true(vub_wait_for_count(f.t.b, VHOST_USER_ADD_MEM_REG, 1,
                                     TIMEOUT_MS));
    check_log(&f, "ADD_MEM_REG");
    check_shared(&f.t, HOTPLUG_BASE);
    hfix_free(&f);
}

/* A device whose driver has not started is told nothing at plug time;
 * its start sends the whole table, dimm included. */
static void test_hotplug_before_start(void)
{
    VhostUserMemoryRegion r = { 0 };
    HFixture f = { 0 };

    hfix_start(&f, NULL, false);
    object_add(&f, "mem1", DIMM_SIZE);
    dimm_add_ok(&f, "dimm1", "mem1");
    check_log(&f, "");
    blk_driver_start(&f.t, 1);
    g_assert_cmpuint(vub_count(f.t.b, VHOST_USER_ADD_MEM_REG), ==, 2);
    g_assert_true(backend_region(f.t.b, HOTPLUG_BASE, &r));
    check_shared(&f.t, HOTPLUG_BASE + MiB);
    blk_write_check(&f.t, 0, 8, 4096, 9);
    hfix_free(&f);
}

static void expect_add_error(HFixture *f, const char *id, const char *memdev,
                             const char *needle)
{
    g_autoptr(JsonNode) r = dimm_add(f, id, memdev);
    const char *desc = qmp_expect_error(r, "GenericError");

    if (!strstr(desc, needle)) {
        g_error("'%s' does not mention '%s'", desc, needle);
    }
}

/* Slots, maxmem and backend checks through QMP; none sends anything. */
static void test_hotplug_limits(void)
{
    g_autoptr(JsonNode) list = NULL;
    HFixture f = { 0 };

    hfix_start(&f, NULL, true);
    expect_add_error(&f, "d0", "nope", "memdev 'nope' not found");
    object_add(&f, "big", 2 * GiB);
    expect_add_error(&f, "d0", "big", "not enough space");
    for (unsigned i = 0; i < 4; i++) {
        g_autofree char *mem = g_strdup_printf("m%u", i);
        g_autofree char *dimm = g_strdup_printf("d%u", i);

        object_add(&f, mem, 2 * MiB);
        dimm_add_ok(&f, dimm, mem);
    }
    expect_add_error(&f, "d4", "m0", "all memory slots (4) are in use");
    dimm_del(&f, "d1");
    expect_add_error(&f, "d4", "m0", "already busy memdev: m0");
    vub_log_clear(f.t.b);
    dimm_add_ok(&f, "d4", "m1");     /* the hole d1 left, slot 1 */
    check_log(&f, "ADD_MEM_REG");
    g_assert_cmphex(mem_reg_msg(f.t.b, VHOST_USER_ADD_MEM_REG, 0)
                    .guest_phys_addr, ==, HOTPLUG_BASE + 2 * MiB);
    query_dimms(&f, 4, &list);
    hfix_free(&f);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/memory-hotplug/cmdline/errors", test_cmdline_errors);
    g_test_add_func("/memory-hotplug/cmdline/empty-area", test_empty_area);
    g_test_add_func("/memory-hotplug/coldplug/add-mem-reg",
                    test_coldplug_add_mem_reg);
    g_test_add_func("/memory-hotplug/coldplug/set-mem-table",
                    test_coldplug_set_mem_table);
    g_test_add_func("/memory-hotplug/coldplug/placement",
                    test_coldplug_placement);
    g_test_add_func("/memory-hotplug/qmp/add-mem-reg",
                    test_hotplug_add_mem_reg);
    g_test_add_func("/memory-hotplug/qmp/set-mem-table",
                    test_hotplug_set_mem_table);
    g_test_add_func("/memory-hotplug/qmp/refused", test_hotplug_refused);
    g_test_add_func("/memory-hotplug/qmp/before-start",
                    test_hotplug_before_start);
    g_test_add_func("/memory-hotplug/qmp/limits", test_hotplug_limits);
    return g_test_run();
}
