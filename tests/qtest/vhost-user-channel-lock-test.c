/* SPDX-License-Identifier: MIT */
/*
 * The vhost-user backend channel and the machine lock, in-process: a
 * qtest machine (no vCPU; the test reaches the address space itself) with
 * a vhost-user-device on the test backend (virtio-blk), a thread standing
 * in for a vCPU that writes the device's config space with the machine
 * lock held (as accel/kvm dispatches an MMIO exit), and the test's main
 * thread running the glib main loop, which serves the backend channel.
 *
 * The backend sends CONFIG_CHANGE_MSG; the main loop hands it to the
 * connection's worker thread, which reads the config again (GET_CONFIG
 * on the main socket).  The backend holds that reply back until the
 * frontend's next message arrives or HOLD_MS pass, and counts a message
 * that arrives while the reply is owed (vub_interleaved).  The "vCPU"
 * writes the config as soon as the backend has the GET_CONFIG.  Were the
 * write sent from the vCPU's own thread, its SET_CONFIG would go out
 * while the GET_CONFIG reply is owed: two threads on one socket, each
 * free to read the other's reply (a protocol error and a disconnect).
 * Every conversation with the backend runs on the worker, in order, so
 * the write waits until the config change is handled, and nothing
 * interleaves — by construction, not by luck: the hold makes any
 * interleaving visible.
 */
#include <glib/gstdio.h>
#include <linux/virtio_blk.h>
#include <stddef.h>
#include <string.h>

#include "hw/virtio/virtio-mmio.h"
#include "inproc-machine.h"
#include "vhost-user-test-backend.h"

#define ROUNDS      4
#define HOLD_MS     250
#define WAIT_MS     5000
#define SECTORS     (64 * 1024 * 1024 / 512)    /* the backend's disk */
#define WCE_OFFSET  offsetof(struct virtio_blk_config, wce)

typedef struct Rig {
    char *dir, *sock;
    Vub *b;
    MachineState *ms;
    hwaddr base;                /* the device's virtio-mmio registers */
    int done;                   /* atomic: the vCPU thread has finished */
    char *vcpu_error;           /* why it stopped early, NULL if it did not */
} Rig;

/* --- the machine ---------------------------------------------------------- */

static void rig_init(Rig *r)
{
    g_autofree char *args = NULL;
    g_autoptr(GError) gerr = NULL;

    memset(r, 0, sizeof(*r));
    r->dir = g_dir_make_tmp("vu-chan-lock-XXXXXX", &gerr);
    g_assert_no_error(gerr);
    r->sock = g_build_filename(r->dir, "vub.sock", NULL);
    r->b = vub_new_server(r->sock);
    args = g_strdup_printf("-m 64M -chardev socket,id=c0,path=%s "
                           "-device vhost-user-device,id=gen0,chardev=c0,"
                           "virtio-id=2,num_vqs=1,config_size=60", r->sock);
    r->ms = inproc_machine_new(r->dir, args);
    g_assert_cmpuint(r->ms->mmio_slots_used, ==, 1);
    r->base = r->ms->mmio_slots[0].base;
}

static void rig_free(Rig *r)
{
    machine_free(r->ms);
    vub_free(r->b);
    g_unlink(r->sock);
    g_rmdir(r->dir);
    g_free(r->sock);
    g_free(r->dir);
    g_free(r->vcpu_error);
}

/* Guest accesses to the device's registers, as a vCPU makes them. */
static void mmio_write(Rig *r, hwaddr off, uint64_t val, unsigned size)
{
    inproc_write(r->ms, r->base + off, val, size);
}

static uint64_t mmio_read(Rig *r, hwaddr off, unsigned size)
{
    return inproc_read(r->ms, r->base + off, size);
}

/* --- the vCPU ------------------------------------------------------------- */

/* One round: the backend changes its capacity and says so; once the
 * frontend has asked for the config (reply held), the guest writes WCE. */
static bool vcpu_round(Rig *r, unsigned i)
{
    unsigned asked = vub_count(r->b, VHOST_USER_GET_CONFIG);

    vub_add_fault(r->b, VUB_FAULT_REPLY_DELAY, VHOST_USER_GET_CONFIG,
                  HOLD_MS, true);
    vub_set_capacity(r->b, SECTORS + i + 1);
    if (!vub_send_config_change(r->b, false, NULL)) {
        r->vcpu_error = g_strdup_printf("round %u: CONFIG_CHANGE_MSG not "
                                        "sent (no backend channel)", i);
        return false;
    }
    if (!vub_wait_for_count(r->b, VHOST_USER_GET_CONFIG, asked + 1,
                            WAIT_MS)) {
        r->vcpu_error = g_strdup_printf("round %u: the frontend did not "
                                        "ask for the changed config", i);
        return false;
    }
    mmio_write(r, VIRTIO_MMIO_CONFIG + WCE_OFFSET, i & 1, 1);
    return true;
}

static gpointer vcpu_thread(gpointer opaque)
{
    Rig *r = opaque;

    for (unsigned i = 0; i < ROUNDS && vcpu_round(r, i); i++) {
    }
    g_atomic_int_set(&r->done, 1);
    g_main_context_wakeup(NULL);
    return NULL;
}

/* --- the test ------------------------------------------------------------- */

/* The main loop runs here, on the main thread, until the vCPU is done. */
static void run_vcpu(Rig *r)
{
    GThread *vcpu = g_thread_new("vcpu", vcpu_thread, r);

    while (!g_atomic_int_get(&r->done)) {
        g_main_context_iteration(NULL, TRUE);
    }
    g_thread_join(vcpu);
    /* Events the rounds left behind (a disconnect, say) are seen now. */
    while (g_main_context_iteration(NULL, FALSE)) {
    }
}

static void test_config_write_vs_change(void)
{
    g_autofree char *backend_error = NULL;
    uint32_t generation;
    Rig r;

    rig_init(&r);
    generation = mmio_read(&r, VIRTIO_MMIO_CONFIG_GENERATION, 4);
    run_vcpu(&r);
    backend_error = vub_last_error(r.b);
    g_test_message("interleaved %u, connections %u, connected %d, vCPU "
                   "error: %s, backend error: %s", vub_interleaved(r.b),
                   vub_connections(r.b), vub_connected(r.b),
                   r.vcpu_error ? r.vcpu_error : "none",
                   backend_error ? backend_error : "none");

    /* Nothing went out on the socket while a reply was owed... */
    g_assert_cmpuint(vub_interleaved(r.b), ==, 0);
    g_assert_null(r.vcpu_error);
    /* ...so every reply reached its requester: no protocol error, no
     * disconnect, every message well-formed. */
    g_assert_null(backend_error);
    g_assert_true(vub_connected(r.b));
    g_assert_cmpuint(vub_connections(r.b), ==, 1);
    g_assert_cmpuint(vub_count(r.b, VHOST_USER_SET_CONFIG), ==, ROUNDS);
    /* The guest sees what the backend holds: its last capacity, its own
     * last write, and one config change per round. */
    g_assert_cmpuint(mmio_read(&r, VIRTIO_MMIO_CONFIG, 8), ==,
                     SECTORS + ROUNDS);
    g_assert_cmpuint(mmio_read(&r, VIRTIO_MMIO_CONFIG + WCE_OFFSET, 1), ==,
                     (ROUNDS - 1) & 1);
    g_assert_cmpuint(mmio_read(&r, VIRTIO_MMIO_CONFIG_GENERATION, 4) -
                     generation, ==, ROUNDS);
    rig_free(&r);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/vhost-user/channel-lock/config-write-vs-change",
                    test_config_write_vs_change);
    return g_test_run();
}
