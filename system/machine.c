/* SPDX-License-Identifier: MIT */
/*
 * The services the machine offers the code that runs in it (see
 * include/hw/boards.h): interrupt lines, shutdown requests, virtio-mmio
 * slots, the guest memory map and kernel command line, and the run state
 * (QMP stop/cont).  Building and running the machine is the composition
 * root's (system/machine-build.c).
 */
#include "hw/boards.h"

#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

/* --- memory map ------------------------------------------------------- */

unsigned machine_e820_table(const MachineState *ms, E820Entry *out,
                            unsigned max)
{
    unsigned n = 0;

    if (n < max && ms->below_4g_mem_size) {
        out[n++] = (E820Entry){ 0, ms->below_4g_mem_size, E820_RAM };
    }
    if (n < max && ms->above_4g_mem_size) {
        out[n++] = (E820Entry){ MACHINE_RAM_ABOVE_4G_BASE,
                                ms->above_4g_mem_size, E820_RAM };
    }
    return n;
}

/* --- interrupts, slots, command line ------------------------------------ */

void machine_set_irq(MachineState *ms, unsigned gsi, int level)
{
    ms->accel->set_irq(ms, gsi, level);
}

void machine_request_shutdown(MachineState *ms, int status)
{
    machine_request_shutdown_reason(ms, status, "guest-shutdown");
}

void machine_request_shutdown_reason(MachineState *ms, int status,
                                     const char *reason)
{
    if (g_atomic_int_compare_and_exchange(&ms->shutdown_requested, 0, 1)) {
        ms->exit_status = status;
        ms->shutdown_reason = reason;
        /* Every wait on a peer ends now, in any thread. */
        event_notifier_set(&ms->shutdown_notifier);
        if (ms->main_loop) {
            g_main_loop_quit(ms->main_loop);
        }
    }
}

void machine_shutdown_init(MachineState *ms)
{
    Error *err = NULL;

    ms->signal_fd = -1;
    ms->wait_cancel = (WaitCancel) { .fd = { -1, -1 } };
    if (!event_notifier_init(&ms->shutdown_notifier, false, &err)) {
        /* Out of fds this early: shutdown still works, but a wait on a
         * peer then ends only with its own timeout. */
        warn_report("shutdown notifier: %s", error_get_pretty(err));
        error_free(err);
        return;
    }
    ms->wait_cancel.fd[0] = event_notifier_get_fd(&ms->shutdown_notifier);
}

void machine_shutdown_cleanup(MachineState *ms)
{
    event_notifier_cleanup(&ms->shutdown_notifier);
    if (ms->signal_fd >= 0) {
        close(ms->signal_fd);
    }
    ms->signal_fd = -1;
    ms->wait_cancel = (WaitCancel) { .fd = { -1, -1 } };
}

void machine_set_signal_fd(MachineState *ms, int signal_fd)
{
    ms->signal_fd = signal_fd;
    ms->wait_cancel.fd[1] = signal_fd;
}

bool machine_take_signals(MachineState *ms)
{
    struct signalfd_siginfo si;

    while (ms->signal_fd >= 0 &&
           read(ms->signal_fd, &si, sizeof(si)) == sizeof(si)) {
        machine_request_shutdown_reason(ms, 0, "host-signal");
    }
    return g_atomic_int_get(&ms->shutdown_requested);
}

bool machine_alloc_mmio_slot(MachineState *ms, const char *device_id,
                             VirtioMmioSlot **slot, Error **errp)
{
    unsigned n = ms->mmio_slots_used;

    if (n == VIRTIO_MMIO_SLOTS) {
        error_setg(errp, "no free virtio-mmio slot (%d in use)",
                   VIRTIO_MMIO_SLOTS);
        return false;
    }
    ms->mmio_slots[n] = (VirtioMmioSlot){
        .index = n,
        .base = VIRTIO_MMIO_BASE + (hwaddr)n * VIRTIO_MMIO_SLOT_SIZE,
        .gsi = VIRTIO_MMIO_GSI_BASE + n,
        .device_id = device_id,
    };
    ms->mmio_slots_used++;
    *slot = &ms->mmio_slots[n];
    return true;
}

char *machine_build_cmdline(const MachineState *ms)
{
    GString *s = g_string_new(ms->append ? ms->append : "");

    for (unsigned i = 0; i < ms->mmio_slots_used; i++) {
        const VirtioMmioSlot *slot = &ms->mmio_slots[i];

        g_string_append_printf(s, "%svirtio_mmio.device=%u@0x%" PRIx64 ":%u",
                               s->len ? " " : "", VIRTIO_MMIO_SLOT_SIZE,
                               slot->base, slot->gsi);
    }
    return g_string_free(s, FALSE);
}

/* --- run state (QMP stop/cont) ----------------------------------------- */

void machine_pause(MachineState *ms)
{
    if (ms->paused) {
        return;
    }
    if (ms->accel->pause) {
        ms->accel->pause(ms);
    }
    ms->paused = true;
    event_bus_emit(&ms->events, "STOP", NULL);
}

void machine_resume(MachineState *ms)
{
    /* An incoming migration resumes the vCPUs once the state is loaded. */
    if (!ms->paused || (ms->paused_state &&
                        !strcmp(ms->paused_state, "inmigrate"))) {
        return;
    }
    ms->paused = false;
    ms->paused_state = NULL;
    if (ms->accel->resume) {
        ms->accel->resume(ms);
    }
    event_bus_emit(&ms->events, "RESUME", NULL);
}
