/* SPDX-License-Identifier: MIT */
/*
 * A backend that stops answering stalls only the vCPU that asked it.
 *
 * In-process, as vhost-user-channel-lock-test: a qtest machine (no vCPU
 * of its own) with two vhost-user-blk devices, each on its own test
 * backend; two threads stand in for vCPUs and reach the devices' virtio-
 * mmio registers with the machine lock held, as accel/kvm dispatches an
 * MMIO exit; the test's main thread runs the glib main loop.
 *
 * vCPU 0 drives device A into a request its backend never answers: the
 * memory table of the start that DRIVER_OK triggers, or GET_VRING_BASE of
 * the stop that a reset triggers.  While vCPU 0 waits, vCPU 1 reads A's
 * registers and brings device B up from reset to DRIVER_OK: B's backend
 * must see its ring started, and vCPU 1 must finish, while vCPU 0 still
 * waits.  (Were the reply awaited with the machine lock held, vCPU 1 could
 * not take it: no access, no start, for the whole reply timeout.)  Then
 * A's backend hangs up, which ends vCPU 0's wait at once.  And a
 * device_add (QMP, machine lock held) that waits for a backend not there
 * yet does not keep vCPU 1 from bringing B up either.
 */
#include <glib/gstdio.h>
#include <linux/virtio_config.h>
#include <string.h>

#include "hw/qdev.h"
#include "hw/virtio/virtio-mmio.h"
#include "inproc-machine.h"
#include "vhost-user-test-backend.h"

#define WAIT_MS     5000
#define QUEUE_NUM   16
#define RING_A      0x100000
#define RING_B      0x200000

typedef struct Rig {
    char *dir, *sock_a, *sock_b, *sock_c;
    Vub *a, *b, *c;             /* c: none until the test makes it */
    bool added;                 /* device_add of blkc succeeded */
    MachineState *ms;
    hwaddr base_a, base_b;      /* the devices' virtio-mmio registers */
} Rig;

/* A vCPU's work: a function and whether it has returned (atomic). */
typedef struct Vcpu {
    Rig *r;
    void (*fn)(Rig *r);
    int done;
    GThread *thread;
} Vcpu;

/* --- the machine ---------------------------------------------------------- */

static void rig_init(Rig *r)
{
    g_autofree char *args = NULL;
    g_autoptr(GError) gerr = NULL;

    memset(r, 0, sizeof(*r));
    r->dir = g_dir_make_tmp("vcpu-isolation-XXXXXX", &gerr);
    g_assert_no_error(gerr);
    r->sock_a = g_build_filename(r->dir, "a.sock", NULL);
    r->sock_b = g_build_filename(r->dir, "b.sock", NULL);
    r->sock_c = g_build_filename(r->dir, "c.sock", NULL);
    r->a = vub_new_server(r->sock_a);
    r->b = vub_new_server(r->sock_b);
    args = g_strdup_printf("-m 64M "
                           "-chardev socket,id=ca,path=%s "
                           "-device vhost-user-blk,id=blka,chardev=ca "
                           "-chardev socket,id=cb,path=%s "
                           "-device vhost-user-blk,id=blkb,chardev=cb "
                           "-chardev socket,id=cc,path=%s,reconnect=1",
                           r->sock_a, r->sock_b, r->sock_c);
    r->ms = inproc_machine_new(r->dir, args);
    g_assert_cmpuint(r->ms->mmio_slots_used, ==, 2);
    r->base_a = r->ms->mmio_slots[0].base;
    r->base_b = r->ms->mmio_slots[1].base;
}

static void rig_free(Rig *r)
{
    machine_free(r->ms);
    vub_free(r->a);
    vub_free(r->b);
    vub_free(r->c);
    g_unlink(r->sock_a);
    g_unlink(r->sock_b);
    g_unlink(r->sock_c);
    g_rmdir(r->dir);
    g_free(r->sock_a);
    g_free(r->sock_b);
    g_free(r->sock_c);
    g_free(r->dir);
}

/* --- what a vCPU does: register accesses (inproc-machine.h) --------------- */

static void mmio_write(Rig *r, hwaddr addr, uint32_t val)
{
    inproc_write(r->ms, addr, val, 4);
}

static uint32_t mmio_read(Rig *r, hwaddr addr)
{
    return inproc_read(r->ms, addr, 4);
}

/* Reset, VERSION_1 only, queue 0 at ring (zeroed RAM: nothing
 * available), and every status bit but DRIVER_OK; returns the status. */
static uint32_t driver_prepare(Rig *r, hwaddr base, hwaddr ring)
{
    uint32_t s = VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER;

    mmio_write(r, base + VIRTIO_MMIO_STATUS, 0);
    mmio_write(r, base + VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE);
    mmio_write(r, base + VIRTIO_MMIO_STATUS, s);
    mmio_write(r, base + VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
    mmio_write(r, base + VIRTIO_MMIO_DRIVER_FEATURES, 0);
    mmio_write(r, base + VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
    mmio_write(r, base + VIRTIO_MMIO_DRIVER_FEATURES, 1);    /* bit 32 */
    s |= VIRTIO_CONFIG_S_FEATURES_OK;
    mmio_write(r, base + VIRTIO_MMIO_STATUS, s);
    g_assert_cmphex(mmio_read(r, base + VIRTIO_MMIO_STATUS), ==, s);
    mmio_write(r, base + VIRTIO_MMIO_QUEUE_SEL, 0);
    mmio_write(r, base + VIRTIO_MMIO_QUEUE_NUM, QUEUE_NUM);
    mmio_write(r, base + VIRTIO_MMIO_QUEUE_DESC_LOW, ring);
    mmio_write(r, base + VIRTIO_MMIO_QUEUE_DESC_HIGH, 0);
    mmio_write(r, base + VIRTIO_MMIO_QUEUE_AVAIL_LOW, ring + 0x1000);
    mmio_write(r, base + VIRTIO_MMIO_QUEUE_AVAIL_HIGH, 0);
    mmio_write(r, base + VIRTIO_MMIO_QUEUE_USED_LOW, ring + 0x2000);
    mmio_write(r, base + VIRTIO_MMIO_QUEUE_USED_HIGH, 0);
    mmio_write(r, base + VIRTIO_MMIO_QUEUE_READY, 1);
    return s;
}

static void driver_start(Rig *r, hwaddr base, hwaddr ring)
{
    uint32_t s = driver_prepare(r, base, ring);

    mmio_write(r, base + VIRTIO_MMIO_STATUS, s | VIRTIO_CONFIG_S_DRIVER_OK);
}

static void start_a(Rig *r)
{
    driver_start(r, r->base_a, RING_A);
}

static void reset_a(Rig *r)
{
    mmio_write(r, r->base_a + VIRTIO_MMIO_STATUS, 0);
}

/* QMP's device_add, lock held as the monitor holds it: the device waits
 * for its backend, which does not exist yet. */
static void add_c(Rig *r)
{
    Error *err = NULL;

    g_mutex_lock(&r->ms->lock);
    r->added = qdev_device_add(r->ms, "vhost-user-blk,id=blkc,chardev=cc",
                               &err);
    g_mutex_unlock(&r->ms->lock);
    if (err) {
        g_printerr("device_add: %s\n", error_get_pretty(err));
        error_free(err);
    }
}

/* The other vCPU: A's registers answer, B comes up. */
static void use_a_start_b(Rig *r)
{
    g_assert_cmphex(mmio_read(r, r->base_a + VIRTIO_MMIO_MAGIC_VALUE), ==,
                    0x74726976);
    mmio_read(r, r->base_a + VIRTIO_MMIO_STATUS);
    driver_start(r, r->base_b, RING_B);
}

static gpointer vcpu_thread(gpointer opaque)
{
    Vcpu *v = opaque;

    v->fn(v->r);
    g_atomic_int_set(&v->done, 1);
    g_main_context_wakeup(NULL);
    return NULL;
}

static void vcpu_run(Vcpu *v, Rig *r, const char *name, void (*fn)(Rig *r))
{
    *v = (Vcpu) { .r = r, .fn = fn };
    v->thread = g_thread_new(name, vcpu_thread, v);
}

/* The main loop runs here until v has returned or ms pass; did it? */
static bool vcpu_wait(Vcpu *v, int ms)
{
    gint64 end = g_get_monotonic_time() + ms * 1000;

    while (!g_atomic_int_get(&v->done) && g_get_monotonic_time() < end) {
        g_main_context_iteration(NULL, FALSE);
        g_usleep(1000);
    }
    return g_atomic_int_get(&v->done);
}

static void vcpu_join(Vcpu *v)
{
    g_thread_join(v->thread);
}

/* --- the tests ------------------------------------------------------------ */

typedef struct Case {
    uint32_t request;           /* what A's backend never answers */
    bool a_running;             /* A is started before (the stop case) */
    void (*vcpu0)(Rig *r);
} Case;

static void test_isolation(gconstpointer data)
{
    const Case *c = data;
    gint64 t0;
    Vcpu v0, v1;
    Rig r;

    rig_init(&r);
    if (c->a_running) {
        start_a(&r);
        g_assert_true(vub_wait_vring_started(r.a, 0, WAIT_MS));
    }
    vub_add_fault(r.a, VUB_FAULT_NO_REPLY, c->request, 0, true);
    vcpu_run(&v0, &r, "vcpu0", c->vcpu0);
    g_assert_true(vub_wait_for_request(r.a, c->request, WAIT_MS));

    /* A's backend owes its reply: vCPU 1 goes on regardless. */
    t0 = g_get_monotonic_time();
    vcpu_run(&v1, &r, "vcpu1", use_a_start_b);
    g_assert_true(vcpu_wait(&v1, WAIT_MS));
    vcpu_join(&v1);
    g_test_message("vCPU 1 done in %" G_GINT64_FORMAT " ms while vCPU 0 "
                   "waits", (g_get_monotonic_time() - t0) / 1000);
    g_assert_true(vub_wait_vring_started(r.b, 0, WAIT_MS));
    g_assert_false(g_atomic_int_get(&v0.done));

    /* A's backend goes: vCPU 0's wait ends with it. */
    vub_disconnect(r.a);
    g_assert_true(vcpu_wait(&v0, WAIT_MS));
    vcpu_join(&v0);
    rig_free(&r);
}

/* A device_add waiting for its backend (reconnect=1: it dials until one
 * answers) holds no lock a vCPU needs: B comes up meanwhile; then the
 * backend appears and the device_add completes. */
static void test_device_add_wait(void)
{
    Vcpu adder, v1;
    Rig r;

    rig_init(&r);
    vcpu_run(&adder, &r, "qmp", add_c);
    g_assert_false(vcpu_wait(&adder, 200));
    vcpu_run(&v1, &r, "vcpu1", use_a_start_b);
    g_assert_true(vcpu_wait(&v1, WAIT_MS));
    vcpu_join(&v1);
    g_assert_true(vub_wait_vring_started(r.b, 0, WAIT_MS));
    g_assert_false(g_atomic_int_get(&adder.done));

    r.c = vub_new_server(r.sock_c);
    g_assert_true(vcpu_wait(&adder, WAIT_MS));
    vcpu_join(&adder);
    g_assert_true(r.added);
    g_assert_true(vub_connected(r.c));
    rig_free(&r);
}

static const Case case_start = {
    VHOST_USER_ADD_MEM_REG, false, start_a,
};
static const Case case_stop = {
    VHOST_USER_GET_VRING_BASE, true, reset_a,
};

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_data_func("/vcpu-isolation/start", &case_start,
                         test_isolation);
    g_test_add_data_func("/vcpu-isolation/stop", &case_stop,
                         test_isolation);
    g_test_add_func("/vcpu-isolation/device-add-wait", test_device_add_wait);
    return g_test_run();
}
