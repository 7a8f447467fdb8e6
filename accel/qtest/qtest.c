/* SPDX-License-Identifier: MIT */
/*
 * The qtest accelerator: no vCPU.  The guest is a test program that talks
 * the qtest protocol (accel/qtest/qtest-server.c) over the chardev given
 * with -qtest (kvmini is the socket client; the test listens).  Interrupt
 * lines are reported to the test instead of a CPU, and irqfds are emulated
 * in the main loop: a signalled eventfd pulses its GSI (raise, then lower),
 * as KVM's irqfd does for an IOAPIC pin.
 *
 * All state hangs off ms->accel_state.  When the test closes the channel
 * kvmini shuts down with status 0.
 */
#include <glib-unix.h>

#include "chardev/char.h"
#include "hw/boards.h"
#include "sysemu/qtest.h"

typedef struct QtestAccel QtestAccel;

/* An irqfd emulated by watching the eventfd in the main loop. */
typedef struct QtestIrqfd {
    QtestAccel *qa;
    EventNotifier *e;
    unsigned gsi;
    guint watch;
} QtestIrqfd;

struct QtestAccel {
    MachineState *ms;
    QTestServer *server;
    Chardev *chr;
    GPtrArray *irqfds;          /* QtestIrqfd * */
};

static QtestAccel *qtest_accel(MachineState *ms)
{
    return ms->accel_state;
}

/* --- the protocol channel ------------------------------------------------ */

static void qtest_accel_reply(void *opaque, const char *buf, size_t len)
{
    QtestAccel *qa = opaque;

    /* A failed write means the peer is gone; CHR_EVENT_CLOSED follows. */
    if (qa->chr) {
        qemu_chr_write_all(qa->chr, (const uint8_t *)buf, len);
    }
}

static void qtest_accel_receive(void *opaque, const uint8_t *buf, size_t len)
{
    QtestAccel *qa = opaque;

    qtest_server_feed(qa->server, buf, len);
}

static void qtest_accel_event(void *opaque, ChrEvent event)
{
    QtestAccel *qa = opaque;

    if (event == CHR_EVENT_CLOSED) {
        qtest_server_reset_input(qa->server);
        machine_request_shutdown(qa->ms, 0);
    }
}

/* --- irqfd emulation ----------------------------------------------------- */

static void qtest_pulse_irq(QtestAccel *qa, unsigned gsi)
{
    g_mutex_lock(&qa->ms->lock);
    qtest_server_set_irq(qa->server, gsi, 1);
    qtest_server_set_irq(qa->server, gsi, 0);
    g_mutex_unlock(&qa->ms->lock);
}

static gboolean qtest_irqfd_ready(gint fd, GIOCondition cond, gpointer opaque)
{
    QtestIrqfd *irqfd = opaque;

    if (event_notifier_test_and_clear(irqfd->e)) {
        qtest_pulse_irq(irqfd->qa, irqfd->gsi);
    }
    return G_SOURCE_CONTINUE;
}

static void qtest_irqfd_free(gpointer p)
{
    QtestIrqfd *irqfd = p;

    if (irqfd->watch) {
        g_source_remove(irqfd->watch);
    }
    g_free(irqfd);
}

static QtestIrqfd *qtest_irqfd_find(QtestAccel *qa, EventNotifier *e,
                                    guint *index)
{
    for (guint i = 0; i < qa->irqfds->len; i++) {
        QtestIrqfd *irqfd = g_ptr_array_index(qa->irqfds, i);

        if (irqfd->e == e) {
            *index = i;
            return irqfd;
        }
    }
    return NULL;
}

static bool qtest_irqfd_add(MachineState *ms, EventNotifier *e, unsigned gsi,
                            Error **errp)
{
    QtestAccel *qa = qtest_accel(ms);
    QtestIrqfd *irqfd;
    guint index;

    if (gsi >= QTEST_MAX_GSI) {
        error_setg(errp, "qtest: irqfd for GSI %u out of range", gsi);
        return false;
    }
    if (qtest_irqfd_find(qa, e, &index)) {
        error_setg(errp, "qtest: eventfd %d is already an irqfd",
                   event_notifier_get_fd(e));
        return false;
    }
    irqfd = g_new0(QtestIrqfd, 1);
    irqfd->qa = qa;
    irqfd->e = e;
    irqfd->gsi = gsi;
    irqfd->watch = g_unix_fd_add(event_notifier_get_fd(e), G_IO_IN,
                                 qtest_irqfd_ready, irqfd);
    g_ptr_array_add(qa->irqfds, irqfd);
    return true;
}

static void qtest_irqfd_del(MachineState *ms, EventNotifier *e, unsigned gsi)
{
    QtestAccel *qa = qtest_accel(ms);
    guint index;

    if (qa && qtest_irqfd_find(qa, e, &index)) {
        g_ptr_array_remove_index(qa->irqfds, index);
    }
}

/* --- AccelOps ------------------------------------------------------------ */

static bool qtest_init(MachineState *ms, Error **errp)
{
    QtestAccel *qa;

    if (!ms->qtest_chardev) {
        error_setg(errp, "needs -qtest CHARDEV (stdio or unix:PATH)");
        return false;
    }
    qa = g_new0(QtestAccel, 1);
    qa->ms = ms;
    qa->irqfds = g_ptr_array_new_with_free_func(qtest_irqfd_free);
    qa->server = qtest_server_new(ms, qtest_accel_reply, qa);
    ms->accel_state = qa;
    return true;
}

static bool qtest_setup_boot_cpu(MachineState *ms, const BootCpuState *cpu,
                                 Error **errp)
{
    return true;
}

static bool qtest_start(MachineState *ms, Error **errp)
{
    QtestAccel *qa = qtest_accel(ms);

    if (ms->qtest_log &&
        !qtest_server_set_log(qa->server, ms->qtest_log, errp)) {
        return false;
    }
    qa->chr = qemu_chr_new_simple("qtest", ms->qtest_chardev,
                                  &ms->wait_cancel, errp);
    if (!qa->chr) {
        error_prepend(errp, "-qtest %s: ", ms->qtest_chardev);
        return false;
    }
    qemu_chr_fe_set_handlers(qa->chr, qtest_accel_receive, qtest_accel_event,
                             qa);
    return true;
}

static void qtest_stop(MachineState *ms)
{
    QtestAccel *qa = qtest_accel(ms);

    if (qa && qa->chr) {
        qemu_chr_fe_set_handlers(qa->chr, NULL, NULL, NULL);
    }
}

static void qtest_set_irq(MachineState *ms, unsigned gsi, int level)
{
    QtestAccel *qa = qtest_accel(ms);

    if (qa) {
        qtest_server_set_irq(qa->server, gsi, level);
    }
}

/* No vCPU: the test program is the guest and is never paused. */
static void qtest_pause(MachineState *ms)
{
}

static void qtest_resume(MachineState *ms)
{
}

static void qtest_cleanup(MachineState *ms)
{
    QtestAccel *qa = qtest_accel(ms);

    if (!qa) {
        return;
    }
    qtest_stop(ms);
    if (qa->chr) {
        qemu_chr_free(qa->chr);
    }
    g_ptr_array_free(qa->irqfds, TRUE);
    qtest_server_free(qa->server);
    g_free(qa);
    ms->accel_state = NULL;
}

const AccelOps qtest_accel_ops = {
    .name = "qtest",
    .has_vcpus = false,
    .init = qtest_init,
    .setup_boot_cpu = qtest_setup_boot_cpu,
    .start = qtest_start,
    .stop = qtest_stop,
    .set_irq = qtest_set_irq,
    .irqfd_add = qtest_irqfd_add,
    .irqfd_del = qtest_irqfd_del,
    .pause = qtest_pause,
    .resume = qtest_resume,
    .cleanup = qtest_cleanup,
};
