/* SPDX-License-Identifier: MIT */
/*
 * Live migration with a vhost-user-blk device: two kvmini processes under
 * qtest (source and destination, -incoming unix:), each with its own test
 * vhost-user backend (vhost-user-test-backend.h) and a QMP monitor; the
 * test is the guest driver of the device (virtio-mmio-driver.h) and moves
 * over to the destination after the switch-over.
 *
 * Covered: pages the backend writes while RAM is being copied (disk reads
 * into guest buffers, logged in the vhost dirty log) reach the
 * destination: after completion every page of the two guests is equal;
 * the destination's backend starts its ring from the index the source's
 * backend stopped at (SET_VRING_BASE) and a request submitted after the
 * switch-over completes there; a backend without LOG_SHMFD blocks
 * migration with an error naming the device and the feature;
 * migrate_cancel clears LOG_ALL and the source's device works on; a
 * destination killed mid-migration fails the migration and the source's
 * device works on; a destination whose backend is absent exits with a
 * clear error and the source runs on.
 */
#include <signal.h>
#include <string.h>
#include <glib/gstdio.h>
#include <linux/virtio_blk.h>
#include <linux/virtio_ids.h>

#include "libqmp.h"
#include "vhost-user-test-backend.h"
#include "virtio-mmio-driver.h"

#define MiB         (1024ULL * 1024)
#define GUEST_RAM   (64 * MiB)
#define TIMEOUT_MS  10000
#define MIG_TIMEOUT_MS 60000
#define RAM_LOW     (1 * MiB)       /* driver allocations */
#define RAM_HIGH    (16 * MiB)
#define FILL_START  (16 * MiB)      /* non-zero pages: a slower copy */
#define FILL_SIZE   (40 * MiB)
#define SLOW_BW     (8 * MiB)       /* bytes/s while the test acts */
#define LOG_ALL_BIT (1ULL << VHOST_USER_F_LOG_ALL)
#define BLK_WANTED  ((1ULL << VIRTIO_BLK_F_SEG_MAX) | \
                     (1ULL << VIRTIO_BLK_F_BLK_SIZE) | \
                     (1ULL << VIRTIO_BLK_F_FLUSH))

typedef struct Side {
    const char *name;           /* "src" / "dst" */
    char *sock;                 /* the backend's socket */
    char *qmp;
    Vub *b;
    QTestState *qts;
    QmpClient *c;
} Side;

typedef struct Mig {
    const char *mem;            /* -m argument of both sides */
    char *dir;
    char *uri;                  /* unix:DIR/mig.sock */
    Side src, dst;
    QVirtioDevice dev;          /* the driver, on src, then on dst */
    QGuestAlloc alloc;
    QVirtQueue *vq;
} Mig;

/* --- fixture ---------------------------------------------------------------- */

static void side_init(Mig *m, Side *s, const char *name,
                      const VubOptions *o)
{
    VubOptions opts;

    s->name = name;
    s->sock = g_strdup_printf("%s/%s-vub.sock", m->dir, name);
    s->qmp = g_strdup_printf("%s/%s-qmp.sock", m->dir, name);
    if (o) {
        opts = *o;
    } else {
        vub_options_init(&opts, s->sock);
    }
    opts.path = s->sock;
    s->b = vub_new(&opts);
}

/* chr: more -chardev options (",reconnect-ms=50"), NULL for none. */
static void side_launch(Side *s, const char *mem, const char *chr,
                        const char *extra)
{
    s->qts = qtest_initf("-m %s -chardev socket,id=c0,path=%s%s "
                         "-device vhost-user-blk,chardev=c0,id=disk0 "
                         "-qmp unix:%s,server=on,wait=off %s", mem, s->sock,
                         chr ? chr : "", s->qmp, extra ? extra : "");
    s->c = qmp_connect(s->qmp);
    qmp_negotiate(s->c);
}

static void side_free(Side *s, bool quit)
{
    if (s->c) {
        qmp_close(s->c);
    }
    if (s->qts && quit) {
        qtest_quit(s->qts);
    } else if (s->qts) {
        kill(qtest_pid(s->qts), SIGKILL);
        qtest_quit_status(s->qts);
    }
    vub_free(s->b);
    g_free(s->sock);
    g_free(s->qmp);
    memset(s, 0, sizeof(*s));
}

/* Directory, both backends (src_opts for the source's, NULL: defaults),
 * the source running with the driver started and the destination, if
 * with_dst, waiting for the stream; -m src_mem / dst_mem (NULL: the
 * plain GUEST_RAM); src_chr: more options for the source's chardev. */
static void mig_init_full(Mig *m, const VubOptions *src_opts, bool with_dst,
                          const char *src_mem, const char *dst_mem,
                          const char *src_chr)
{
    g_autoptr(GError) err = NULL;
    g_autofree char *incoming = NULL;
    g_autofree char *plain = g_strdup_printf("%llu",
        (unsigned long long)(GUEST_RAM / MiB));

    memset(m, 0, sizeof(*m));
    m->dir = g_dir_make_tmp("mig-vhost-XXXXXX", &err);
    g_assert_no_error(err);
    m->uri = g_strdup_printf("unix:%s/mig.sock", m->dir);
    side_init(m, &m->src, "src", src_opts);
    side_launch(&m->src, src_mem ? src_mem : plain, src_chr, NULL);
    if (with_dst) {
        side_init(m, &m->dst, "dst", NULL);
        incoming = g_strdup_printf("-incoming %s", m->uri);
        side_launch(&m->dst, dst_mem ? dst_mem : plain, NULL, incoming);
    }
    qguest_alloc_init(&m->alloc, RAM_LOW, RAM_HIGH);
    g_assert_true(qvirtio_mmio_probe(&m->dev, m->src.qts, 0));
    g_assert_cmpuint(m->dev.device_id, ==, VIRTIO_ID_BLOCK);
    qvirtio_reset(&m->dev);
    g_assert_true(qvirtio_negotiate(&m->dev, BLK_WANTED));
    m->vq = qvirtqueue_setup(&m->dev, &m->alloc, 0, 0);
    qvirtio_driver_ok(&m->dev);
    g_assert_true(vub_wait_vring_running(m->src.b, 0, TIMEOUT_MS));
}

static void mig_init_mem(Mig *m, const VubOptions *src_opts, bool with_dst,
                         const char *src_mem, const char *dst_mem)
{
    mig_init_full(m, src_opts, with_dst, src_mem, dst_mem, NULL);
}

static void mig_init(Mig *m, const VubOptions *src_opts, bool with_dst)
{
    mig_init_full(m, src_opts, with_dst, NULL, NULL, NULL);
}

static void mig_free(Mig *m, bool quit_src, bool quit_dst)
{
    qvirtqueue_free(m->vq);
    side_free(&m->src, quit_src);
    side_free(&m->dst, quit_dst);
    g_autofree char *mig_sock = g_strdup_printf("%s/mig.sock", m->dir);
    g_unlink(mig_sock);
    g_rmdir(m->dir);
    g_free(m->dir);
    g_free(m->uri);
}

/* --- the device ---------------------------------------------------------------- */

static void fill(uint8_t *p, size_t len, unsigned seed)
{
    for (size_t i = 0; i < len; i++) {
        p[i] = (i * 31 + seed * 7 + (i >> 9)) & 0xff;
    }
}

/* A write through the device of side s lands on s's disk. */
static void write_check(Mig *m, Side *s, uint64_t sector, unsigned seed)
{
    uint8_t buf[4096], back[4096];

    fill(buf, sizeof(buf), seed);
    g_assert_cmpint(qvirtio_blk_rw(m->vq, &m->alloc, VIRTIO_BLK_T_OUT,
                                   sector, buf, sizeof(buf)), ==,
                    VIRTIO_BLK_S_OK);
    vub_disk_read(s->b, sector * 512, back, sizeof(back));
    g_assert_cmpmem(back, sizeof(back), buf, sizeof(buf));
}

/* --- QMP ---------------------------------------------------------------------- */

static void set_bandwidth(Side *s, uint64_t bytes_per_s)
{
    json_node_unref(qmp_cmd_ok(s->c, "{\"execute\": "
        "\"migrate-set-parameters\", \"arguments\": {\"max-bandwidth\": %"
        G_GUINT64_FORMAT "}}", (guint64)bytes_per_s));
}

/* migrate; NULL if accepted, else the error text (caller frees). */
static char *migrate(Mig *m, const char *uri)
{
    g_autoptr(JsonNode) r = qmp_cmd(m->src.c, "{\"execute\": \"migrate\", "
                                    "\"arguments\": {\"uri\": \"%s\"}}",
                                    uri);
    JsonObject *o = json_node_get_object(r);

    if (json_object_has_member(o, "error")) {
        return g_strdup(qmp_expect_error(r, "GenericError"));
    }
    return NULL;
}

/* query-migrate's status; *error gets error-desc if any (caller frees). */
static char *query_status(Side *s, char **error)
{
    g_autoptr(JsonNode) r = qmp_cmd_ok(s->c, "{\"execute\": "
                                       "\"query-migrate\"}");
    JsonObject *o = json_node_get_object(r);

    if (error) {
        *error = json_object_has_member(o, "error-desc") ?
                 g_strdup(json_object_get_string_member(o, "error-desc")) :
                 NULL;
    }
    return json_object_has_member(o, "status") ?
           g_strdup(json_object_get_string_member(o, "status")) : NULL;
}

/* Poll query-migrate until the status is want (a final status other
 * than want fails the test with the error). */
static void wait_status(Side *s, const char *want)
{
    json_node_unref(qmp_wait_migration_status(s->c, want, MIG_TIMEOUT_MS));
}

/* Wait until at least bytes went out (the first pass is under way);
 * the migration must stay active meanwhile. */
static void wait_transferred(Side *s, uint64_t bytes)
{
    json_node_unref(qmp_wait_migration_ram(s->c, "transferred", bytes,
                                           "active", MIG_TIMEOUT_MS));
}

/* Start a slow migration of a guest with FILL_SIZE bytes of data. */
static void start_slow(Mig *m)
{
    for (uint64_t off = 0; off < FILL_SIZE; off += 8 * MiB) {
        qtest_memset(m->src.qts, FILL_START + off, 0x5a, 8 * MiB);
    }
    set_bandwidth(&m->src, SLOW_BW);
    g_assert_null(migrate(m, m->uri));
    wait_status(&m->src, "active");
}

/* --- checks --------------------------------------------------------------------- */

/* Every page of the two guests is equal. */
static void assert_same_ram(Mig *m)
{
    const size_t chunk = MiB;
    g_autofree uint8_t *a = g_malloc(chunk);
    g_autofree uint8_t *b = g_malloc(chunk);

    for (uint64_t off = 0; off < GUEST_RAM; off += chunk) {
        qtest_bufread(m->src.qts, off, a, chunk);
        qtest_bufread(m->dst.qts, off, b, chunk);
        for (size_t p = 0; p < chunk; p += 4096) {
            if (memcmp(a + p, b + p, 4096)) {
                g_error("guest page 0x%" G_GINT64_MODIFIER "x differs "
                        "between source and destination",
                        (guint64)(off + p));
            }
        }
    }
}

/* The last SET_FEATURES had LOG_ALL off; one before it had it on. */
static void assert_log_all_cleared(Vub *b)
{
    unsigned n = vub_count(b, VHOST_USER_SET_FEATURES);
    bool was_on = false;

    g_assert_cmpuint(n, >=, 2);
    for (unsigned i = 0; i + 1 < n; i++) {
        g_autoptr(VubMsg) msg = vub_find(b, VHOST_USER_SET_FEATURES, i);
        uint64_t f;

        memcpy(&f, msg->payload, sizeof(f));
        was_on |= !!(f & LOG_ALL_BIT);
    }
    g_assert_true(was_on);
    g_autoptr(VubMsg) last = vub_find(b, VHOST_USER_SET_FEATURES, -1);
    uint64_t f;

    memcpy(&f, last->payload, sizeof(f));
    g_assert_cmphex(f & LOG_ALL_BIT, ==, 0);
}

/* num of the last SET_VRING_BASE for ring 0; -1 if none. */
static int last_vring_base(Vub *b)
{
    int found = -1;

    for (int i = 0;; i++) {
        g_autoptr(VubMsg) msg = vub_find(b, VHOST_USER_SET_VRING_BASE, i);
        VhostUserVringState st;

        if (!msg) {
            return found;
        }
        memcpy(&st, msg->payload, sizeof(st));
        if (st.index == 0) {
            found = st.num;
        }
    }
}

/* --- tests ------------------------------------------------------------------------ */

/* Disk reads complete into guest memory while the first pass runs: only
 * the vhost log gets those pages to the destination. */
static void backend_writes_during_copy(Mig *m)
{
    uint8_t data[16384];

    for (unsigned i = 0; i < 8; i++) {
        fill(data, sizeof(data), 100 + i);
        vub_disk_write(m->src.b, (uint64_t)i * 64 * 512, data, sizeof(data));
    }
    wait_transferred(&m->src, 8 * MiB);     /* low RAM is copied */
    for (unsigned i = 0; i < 8; i++) {
        uint8_t back[16384];

        g_assert_cmpint(qvirtio_blk_rw(m->vq, &m->alloc, VIRTIO_BLK_T_IN,
                                       (uint64_t)i * 64, back, sizeof(back)),
                        ==, VIRTIO_BLK_S_OK);
        fill(data, sizeof(data), 100 + i);
        g_assert_cmpmem(back, sizeof(back), data, sizeof(data));
    }
}

/* The driver moves to the destination with the guest. */
static void driver_follow(Mig *m)
{
    m->dev.qts = m->dst.qts;
    qtest_irq_intercept_in(m->dst.qts, "ioapic");
}

static void test_migrate(void)
{
    Mig m;
    VubVringInfo src_ring;

    mig_init(&m, NULL, true);
    write_check(&m, &m.src, 1000, 1);
    start_slow(&m);
    backend_writes_during_copy(&m);
    set_bandwidth(&m.src, 0);               /* unlimited: finish */
    wait_status(&m.src, "completed");
    wait_status(&m.dst, "completed");
    assert_same_ram(&m);

    /* The source's backend stopped (GET_VRING_BASE) with every request
     * the driver made; the destination's starts from that index. */
    g_assert_cmpuint(vub_count(m.src.b, VHOST_USER_GET_VRING_BASE), >=, 1);
    src_ring = vub_vring_info(m.src.b, 0);
    g_assert_false(src_ring.started);
    g_assert_cmpuint(src_ring.last_avail, ==, m.vq->avail_idx);
    g_assert_true(vub_wait_vring_running(m.dst.b, 0, TIMEOUT_MS));
    g_assert_cmpint(last_vring_base(m.dst.b), ==, src_ring.last_avail);
    g_assert_cmpuint(vub_acked_features(m.dst.b) & LOG_ALL_BIT, ==, 0);

    driver_follow(&m);
    write_check(&m, &m.dst, 2000, 2);
    g_assert_cmpuint(vub_blk_stats(m.src.b).writes, ==, 1);
    mig_free(&m, true, true);
}

static void test_no_log_shmfd(void)
{
    Mig m;
    VubOptions o;
    g_autofree char *err = NULL;

    vub_options_init(&o, "set-below");
    o.protocol_features &= ~VUB_BIT(VHOST_USER_PROTOCOL_F_LOG_SHMFD);
    mig_init(&m, &o, true);
    err = migrate(&m, m.uri);
    if (!err) {
        wait_status(&m.src, "failed");
        g_free(query_status(&m.src, &err));
    }
    g_assert_nonnull(err);
    if (!strstr(err, "vhost-user-blk 'disk0': backend does not support "
                "LOG_SHMFD; migration is not possible")) {
        g_error("unexpected error: %s", err);
    }
    g_assert_cmpuint(vub_count(m.src.b, VHOST_USER_SET_LOG_BASE), ==, 0);
    write_check(&m, &m.src, 10, 3);
    mig_free(&m, true, false);
}

static void test_cancel(void)
{
    Mig m;

    mig_init(&m, NULL, true);
    start_slow(&m);
    g_assert_true(vub_wait_for_request(m.src.b, VHOST_USER_SET_LOG_BASE,
                                       TIMEOUT_MS));
    json_node_unref(qmp_cmd_ok(m.src.c,
                                       "{\"execute\": \"migrate_cancel\"}"));
    wait_status(&m.src, "cancelled");
    assert_log_all_cleared(m.src.b);
    g_assert_cmpuint(vub_acked_features(m.src.b) & LOG_ALL_BIT, ==, 0);
    write_check(&m, &m.src, 20, 4);
    mig_free(&m, true, false);
}

/* Index in b's log of the first request on connection conn; -1 if none. */
static int first_on_conn(Vub *b, unsigned conn, uint32_t request)
{
    for (unsigned i = 0; i < vub_log_len(b); i++) {
        g_autoptr(VubMsg) msg = vub_log_get(b, i);

        if (msg->conn == conn && msg->request == request) {
            return (int)i;
        }
    }
    return -1;
}

/* A backend that reconnects while RAM is copied logs from its first
 * ring on: the log is on before a ring starts (what the backend writes
 * as soon as it runs must reach the destination). */
static void test_reconnect_while_logging(void)
{
    Mig m;
    int log_base, kick;

    mig_init_full(&m, NULL, true, NULL, NULL, ",reconnect-ms=20");
    start_slow(&m);
    vub_disconnect(m.src.b);
    g_assert_true(vub_wait_connections(m.src.b, 2, TIMEOUT_MS));
    g_assert_true(vub_wait_vring_running(m.src.b, 0, TIMEOUT_MS));
    log_base = first_on_conn(m.src.b, 2, VHOST_USER_SET_LOG_BASE);
    kick = first_on_conn(m.src.b, 2, VHOST_USER_SET_VRING_KICK);
    g_assert_cmpint(log_base, >=, 0);
    g_assert_cmpint(kick, >, log_base);
    g_assert_cmpuint(vub_acked_features(m.src.b) & LOG_ALL_BIT, ==,
                     LOG_ALL_BIT);
    write_check(&m, &m.src, 40, 6);
    set_bandwidth(&m.src, 0);
    wait_status(&m.src, "completed");
    wait_status(&m.dst, "completed");
    assert_same_ram(&m);
    mig_free(&m, true, true);
}

static void test_destination_killed(void)
{
    Mig m;

    mig_init(&m, NULL, true);
    start_slow(&m);
    wait_transferred(&m.src, 4 * MiB);
    kill(qtest_pid(m.dst.qts), SIGKILL);
    wait_status(&m.src, "failed");
    assert_log_all_cleared(m.src.b);
    g_assert_true(vub_wait_vring_running(m.src.b, 0, TIMEOUT_MS));
    write_check(&m, &m.src, 30, 5);
    mig_free(&m, true, false);
}

/* The destination cannot start without its backend: it exits with the
 * reason, nothing listens, the source's migrate fails and it runs on. */
static void test_destination_without_backend(void)
{
    Mig m;
    g_autofree char *args = NULL, *out = NULL, *err = NULL;
    g_autofree char *mig_err = NULL;
    int status;

    mig_init(&m, NULL, false);
    args = g_strdup_printf("-accel qtest -m %llu -chardev socket,id=c0,"
                           "path=%s/absent.sock -device vhost-user-blk,"
                           "chardev=c0,id=disk0 -incoming %s",
                           (unsigned long long)(GUEST_RAM / MiB), m.dir,
                           m.uri);
    qtest_run_kvmini(args, &out, &err, &status);
    g_assert_cmpint(status, !=, 0);
    g_assert_nonnull(strstr(err, "absent.sock"));
    mig_err = migrate(&m, m.uri);
    if (!mig_err) {
        wait_status(&m.src, "failed");
    }
    write_check(&m, &m.src, 40, 6);
    g_assert_cmpuint(vub_count(m.src.b, VHOST_USER_GET_VRING_BASE), ==, 0);
    mig_free(&m, true, false);
}

/* The destination fails after the whole stream arrived (its backend
 * refuses the ring state when the device restarts): it never confirms,
 * so the source does not complete but fails and runs on — the guest is
 * not lost between the two. */
static void test_destination_load_fails(void)
{
    Mig m;
    g_autofree char *err = NULL, *st = NULL;
    g_autoptr(JsonNode) status = NULL;

    mig_init(&m, NULL, true);
    vub_add_fault(m.dst.b, VUB_FAULT_ACK_STATUS, VHOST_USER_SET_VRING_BASE,
                  1, false);
    write_check(&m, &m.src, 70, 8);
    g_assert_null(migrate(&m, m.uri));
    wait_status(&m.src, "failed");
    st = query_status(&m.src, &err);
    g_assert_nonnull(err);
    if (!strstr(err, "without confirming")) {
        g_error("unexpected error: %s", err);
    }
    g_assert_cmpint(qtest_wait_exit(m.dst.qts), ==, 1);
    qtest_quit_status(m.dst.qts);
    m.dst.qts = NULL;
    status = qmp_cmd_ok(m.src.c, "{\"execute\": \"query-status\"}");
    g_assert_cmpstr(json_object_get_string_member(json_node_get_object(status),
                                                  "status"), ==, "running");
    g_assert_true(vub_wait_vring_running(m.src.b, 0, TIMEOUT_MS));
    write_check(&m, &m.src, 80, 9);
    mig_free(&m, true, false);
}

/* --- memory plugged during the migration --------------------------------- */

#define HOTPLUG_MEM     "64M,slots=2,maxmem=1G"
#define DIMM_BASE       0x100000000ULL  /* the hotplug area of a 64M guest */
#define DIMM_SIZE       (128 * MiB)
#define DRIP_OFF        (16 * MiB)      /* backend-written DIMM pages */
#define DRIP_PAGES      256

static void plug_dimm(Side *s)
{
    json_node_unref(qmp_cmd_ok(s->c, "{\"execute\": \"object-add\", "
        "\"arguments\": {\"qom-type\": \"memory-backend-memfd\", \"id\": "
        "\"mem1\", \"size\": %llu}}", (unsigned long long)DIMM_SIZE));
    json_node_unref(qmp_cmd_ok(s->c, "{\"execute\": \"device_add\", "
        "\"arguments\": {\"driver\": \"pc-dimm\", \"id\": \"dimm1\", "
        "\"memdev\": \"mem1\"}}"));
}

/* query-memory-devices lists dimm1 at DIMM_BASE with mem1 behind it. */
static void assert_dimm(Side *s)
{
    g_autoptr(JsonNode) r = qmp_cmd_ok(s->c, "{\"execute\": "
                                       "\"query-memory-devices\"}");
    JsonArray *a = json_node_get_array(r);
    JsonObject *d;

    g_assert_cmpuint(json_array_get_length(a), ==, 1);
    d = json_object_get_object_member(json_array_get_object_element(a, 0),
                                      "data");
    g_assert_cmpstr(json_object_get_string_member(d, "id"), ==, "dimm1");
    g_assert_cmpstr(json_object_get_string_member(d, "memdev"), ==,
                    "/objects/mem1");
    g_assert_cmpuint(json_object_get_int_member(d, "addr"), ==, DIMM_BASE);
    g_assert_cmpuint(json_object_get_int_member(d, "size"), ==, DIMM_SIZE);
    g_assert_true(json_object_get_boolean_member(d, "hotplugged"));
}

static uint64_t ram_stat(Side *s, const char *name)
{
    g_autoptr(JsonNode) r = qmp_cmd_ok(s->c, "{\"execute\": "
                                       "\"query-migrate\"}");
    JsonObject *o = json_node_get_object(r);

    g_assert_cmpstr(json_object_get_string_member(o, "status"), ==,
                    "active");
    return json_object_get_int_member(
        json_object_get_object_member(o, "ram"), name);
}

/* Poll the source until ram.name reaches at least want; the migration
 * must stay active meanwhile. */
static void wait_ram_stat(Side *s, const char *name, uint64_t want)
{
    json_node_unref(qmp_wait_migration_ram(s->c, name, want, "active",
                                           MIG_TIMEOUT_MS));
}

/* The source backend keeps rewriting DRIP_PAGES pages of the DIMM,
 * logging each write, until told to stop: only the vhost log, resized
 * for the DIMM, brings the last values to the destination, and the dirt
 * keeps the migration from converging meanwhile. */
typedef struct Drip {
    Vub *b;
    gint stop;
    uint64_t rounds;
    GThread *thread;
} Drip;

static gpointer drip_thread(gpointer opaque)
{
    Drip *d = opaque;
    uint8_t page[4096];

    while (!g_atomic_int_get(&d->stop)) {
        d->rounds++;
        for (unsigned i = 0; i < DRIP_PAGES; i++) {
            memset(page, (int)(d->rounds + i), sizeof(page));
            memcpy(page, &d->rounds, sizeof(d->rounds));
            g_assert_true(vub_write_guest_logged(d->b, DIMM_BASE + DRIP_OFF +
                                                 i * 4096ULL, page,
                                                 sizeof(page)));
        }
        g_usleep(2000);
    }
    return NULL;
}

/* The last SET_LOG_BASE maps a log covering guest address end. */
static void assert_log_covers(Vub *b, uint64_t end)
{
    g_autoptr(VubMsg) last = vub_find(b, VHOST_USER_SET_LOG_BASE, -1);
    VhostUserLog log;

    g_assert_nonnull(last);
    memcpy(&log, last->payload, sizeof(log));
    g_assert_cmpuint(log.mmap_size * 8 * 4096, >=, end);
}

/* Every page of the DIMM is equal on both sides. */
static void assert_same_dimm(Mig *m)
{
    g_autofree uint8_t *a = g_malloc(MiB);
    g_autofree uint8_t *b = g_malloc(MiB);

    for (uint64_t off = 0; off < DIMM_SIZE; off += MiB) {
        qtest_bufread(m->src.qts, DIMM_BASE + off, a, MiB);
        qtest_bufread(m->dst.qts, DIMM_BASE + off, b, MiB);
        if (memcmp(a, b, MiB)) {
            g_error("DIMM MiB at +0x%" G_GINT64_MODIFIER "x differs between "
                    "source and destination", (guint64)off);
        }
    }
}

/*
 * A DIMM plugged on the source while RAM is being copied: the vhost log
 * grows to cover it (a second SET_LOG_BASE), the migration sends the
 * DIMM and its pages, the destination plugs the same DIMM, and what the
 * guest (qtest) and the backend wrote into it arrives.
 */
static void test_hotplug_dimm(void)
{
    Mig m;
    Drip drip = { 0 };
    uint64_t syncs, word;
    uint8_t data[4096], back[4096];
    QGuestAlloc dimm_alloc;

    mig_init_mem(&m, NULL, true, HOTPLUG_MEM, HOTPLUG_MEM);
    json_node_unref(qmp_cmd_ok(m.src.c, "{\"execute\": "
        "\"migrate-set-parameters\", \"arguments\": "
        "{\"downtime-limit\": 0}}"));
    start_slow(&m);
    g_assert_true(vub_wait_for_request(m.src.b, VHOST_USER_SET_LOG_BASE,
                                       TIMEOUT_MS));
    plug_dimm(&m.src);
    assert_dimm(&m.src);
    g_assert_cmpuint(vub_count(m.src.b, VHOST_USER_SET_LOG_BASE), >=, 2);
    assert_log_covers(m.src.b, DIMM_BASE + DIMM_SIZE);
    qtest_memset(m.src.qts, DIMM_BASE, 0xa5, MiB);

    drip.b = m.src.b;
    drip.thread = g_thread_new("drip", drip_thread, &drip);
    /* The migration took the DIMM in (its RAM counts), sent it whole and
     * synced the log again twice while the backend kept writing. */
    wait_ram_stat(&m.src, "total", GUEST_RAM + DIMM_SIZE);
    syncs = ram_stat(&m.src, "dirty-sync-count");
    wait_ram_stat(&m.src, "dirty-sync-count", syncs + 2);
    g_atomic_int_set(&drip.stop, 1);
    g_thread_join(drip.thread);
    g_assert_cmpuint(drip.rounds, >=, 2);

    set_bandwidth(&m.src, 0);
    wait_status(&m.src, "completed");
    wait_status(&m.dst, "completed");
    assert_dimm(&m.dst);
    assert_same_ram(&m);
    assert_same_dimm(&m);
    qtest_bufread(m.dst.qts, DIMM_BASE + DRIP_OFF, &word, sizeof(word));
    g_assert_cmpuint(word, ==, drip.rounds);
    g_assert_cmphex(qtest_readb(m.dst.qts, DIMM_BASE + MiB - 1), ==, 0xa5);

    /* The destination's backend maps the DIMM: a disk read lands in it. */
    driver_follow(&m);
    fill(data, sizeof(data), 9);
    vub_disk_write(m.dst.b, 50 * 512, data, sizeof(data));
    qguest_alloc_init(&dimm_alloc, DIMM_BASE + 32 * MiB,
                      DIMM_BASE + 33 * MiB);
    g_assert_cmpint(qvirtio_blk_rw(m.vq, &dimm_alloc, VIRTIO_BLK_T_IN, 50,
                                   back, sizeof(back)), ==, VIRTIO_BLK_S_OK);
    g_assert_cmpmem(back, sizeof(back), data, sizeof(data));
    mig_free(&m, true, true);
}

/* Only memory plugs during a migration; nothing is unplugged, not even
 * the DIMM just plugged.  The destination backs the DIMM with a file it
 * chose beforehand (object-add of the same id): the pages land there. */
static void test_hotplug_refusals(void)
{
    Mig m;
    g_autoptr(JsonNode) del = NULL;
    g_autoptr(JsonNode) add = NULL;
    g_autofree char *file = NULL;
    g_autofree char *contents = NULL;
    gsize len;
    const char *e;

    mig_init_mem(&m, NULL, true, HOTPLUG_MEM, HOTPLUG_MEM);
    file = g_strdup_printf("%s/dst-dimm.img", m.dir);
    json_node_unref(qmp_cmd_ok(m.dst.c, "{\"execute\": \"object-add\", "
        "\"arguments\": {\"qom-type\": \"memory-backend-file\", \"id\": "
        "\"mem1\", \"size\": %llu, \"mem-path\": \"%s\", \"share\": true}}",
        (unsigned long long)DIMM_SIZE, file));
    start_slow(&m);
    plug_dimm(&m.src);
    qtest_memset(m.src.qts, DIMM_BASE + 4096, 0x5c, 4096);
    del = qmp_cmd(m.src.c, "{\"execute\": \"device_del\", \"arguments\": "
                  "{\"id\": \"dimm1\"}}");
    e = qmp_expect_error(del, "GenericError");
    g_assert_cmpstr(e, ==, "device_del is not allowed while a migration is "
                    "running");
    add = qmp_cmd(m.src.c, "{\"execute\": \"device_add\", \"arguments\": "
                  "{\"driver\": \"vhost-user-blk\", \"chardev\": \"c9\"}}");
    e = qmp_expect_error(add, "GenericError");
    g_assert_cmpstr(e, ==, "device_add is not allowed while a migration is "
                    "running (only pc-dimm can be plugged during one)");
    set_bandwidth(&m.src, 0);
    wait_status(&m.src, "completed");
    wait_status(&m.dst, "completed");
    assert_dimm(&m.dst);
    g_assert_true(g_file_get_contents(file, &contents, &len, NULL));
    g_assert_cmpuint(len, ==, DIMM_SIZE);
    g_assert_cmphex((uint8_t)contents[4096], ==, 0x5c);
    g_assert_cmphex((uint8_t)contents[8191], ==, 0x5c);
    g_assert_cmphex((uint8_t)contents[8192], ==, 0);
    g_unlink(file);
    mig_free(&m, true, true);
}

/* A destination without memory hotplug cannot take the DIMM: it fails
 * with the reason, the source's migration fails and it runs on with the
 * DIMM and its device. */
static void test_hotplug_destination_refuses(void)
{
    Mig m;
    g_autofree char *err = NULL, *st = NULL;

    mig_init_mem(&m, NULL, true, HOTPLUG_MEM, NULL);
    start_slow(&m);
    plug_dimm(&m.src);
    set_bandwidth(&m.src, 0);
    wait_status(&m.src, "failed");
    g_assert_cmpint(qtest_wait_exit(m.dst.qts), ==, 1);
    qtest_quit_status(m.dst.qts);
    m.dst.qts = NULL;
    assert_dimm(&m.src);
    st = query_status(&m.src, &err);
    g_assert_nonnull(err);
    g_autoptr(JsonNode) status = qmp_cmd_ok(m.src.c, "{\"execute\": "
                                            "\"query-status\"}");
    g_assert_cmpstr(json_object_get_string_member(json_node_get_object(status),
                                                  "status"), ==, "running");
    write_check(&m, &m.src, 60, 7);
    qtest_memset(m.src.qts, DIMM_BASE, 0x3c, 4096);
    g_assert_cmphex(qtest_readb(m.src.qts, DIMM_BASE + 4095), ==, 0x3c);
    mig_free(&m, true, false);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    signal(SIGPIPE, SIG_IGN);
    g_test_add_func("/migration-vhost/migrate", test_migrate);
    g_test_add_func("/migration-vhost/no-log-shmfd", test_no_log_shmfd);
    g_test_add_func("/migration-vhost/cancel", test_cancel);
    g_test_add_func("/migration-vhost/reconnect-while-logging",
                    test_reconnect_while_logging);
    g_test_add_func("/migration-vhost/destination-killed",
                    test_destination_killed);
    g_test_add_func("/migration-vhost/destination-without-backend",
                    test_destination_without_backend);
    g_test_add_func("/migration-vhost/destination-load-fails",
                    test_destination_load_fails);
    g_test_add_func("/migration-vhost/hotplug-dimm", test_hotplug_dimm);
    g_test_add_func("/migration-vhost/hotplug-refusals",
                    test_hotplug_refusals);
    g_test_add_func("/migration-vhost/hotplug-destination-refuses",
                    test_hotplug_destination_refuses);
    return g_test_run();
}
