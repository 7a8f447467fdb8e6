/* SPDX-License-Identifier: MIT */
/*
 * The composition root (include/sysemu/sysemu.h): a new machine with its
 * defaults, building it from the queued options (backends, chardevs,
 * netdevs, monitors, devices, in passes), RAM, the serial port and the
 * exit ports, the device tree, the kernel, then running it (signals,
 * incoming migration, the main loop, the SHUTDOWN event) and tearing it
 * all down.  This is the one place that knows every subsystem; the
 * services devices call live in system/machine.c.
 */
#include "sysemu/sysemu.h"
#include "chardev/char.h"
#include "hw/char/serial.h"
#include "hw/core/boot.h"
#include "hw/core/debug-exit.h"
#include "hw/core/fdt.h"
#include "hw/mem/memory-device.h"
#include "hw/qdev.h"
#include "migration/migration.h"
#include "migration/register.h"
#include "monitor/monitor.h"
#include "net/net.h"

#include <json-glib/json-glib.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>
#include <glib-unix.h>

#define DEFAULT_RAM_SIZE (128ULL << 20)

static void option_free(gpointer p)
{
    MachineOption *o = p;

    g_free(o->option);
    g_free(o->value);
    g_free(o);
}

MachineState *machine_new(void)
{
    MachineState *ms = g_new0(MachineState, 1);

    g_mutex_init(&ms->lock);
    event_bus_init(&ms->events);
    machine_shutdown_init(ms);
    ms->smp_cpus = 1;
    ms->pit = true;
    os_state_init(&ms->os);
    ms->accel = &kvm_accel_ops;
    ms->options = g_ptr_array_new_with_free_func(option_free);
    ms->objects = g_hash_table_new_full(g_str_hash, g_str_equal, NULL,
                                        memory_backend_free);
    ms->chardevs = g_hash_table_new_full(g_str_hash, g_str_equal, NULL,
                                         (GDestroyNotify)qemu_chr_free);
    return ms;
}

/* --- options ----------------------------------------------------------- */

static bool chardev_add(MachineState *ms, const char *optstr, Error **errp)
{
    Chardev *chr = qemu_chr_new_from_opts(optstr, &ms->wait_cancel, errp);

    if (!chr) {
        return false;
    }
    if (g_hash_table_contains(ms->chardevs, chr->id)) {
        error_setg(errp, "Duplicate chardev ID '%s'", chr->id);
        qemu_chr_free(chr);
        return false;
    }
    g_hash_table_insert(ms->chardevs, chr->id, chr);
    return true;
}

/* Options are created in passes, each in command-line order: backends
 * first, then what refers to them, devices last. */
static const struct {
    const char *option;
    unsigned pass;
} option_passes[] = {
    { "-object", 0 }, { "-chardev", 0 },
    { "-netdev", 1 }, { "-qmp", 1 }, { "-mon", 1 },
    { "-device", 2 },
};

static int option_pass(const char *option)
{
    for (size_t i = 0; i < G_N_ELEMENTS(option_passes); i++) {
        if (!strcmp(option_passes[i].option, option)) {
            return option_passes[i].pass;
        }
    }
    g_assert_not_reached();
}

static bool create_one(MachineState *ms, const MachineOption *o, Error **errp)
{
    if (!strcmp(o->option, "-object")) {
        return machine_object_add(ms, o->value, errp);
    } else if (!strcmp(o->option, "-chardev")) {
        return chardev_add(ms, o->value, errp);
    } else if (!strcmp(o->option, "-netdev")) {
        return netdev_add(ms, o->value, errp);
    } else if (!strcmp(o->option, "-device")) {
        return qdev_device_add(ms, o->value, errp);
    }
    return monitor_add(ms, o->option, o->value, errp);
}

static bool create_queued(MachineState *ms, unsigned pass, Error **errp)
{
    for (guint i = 0; i < ms->options->len; i++) {
        MachineOption *o = g_ptr_array_index(ms->options, i);

        if (option_pass(o->option) != (int)pass) {
            continue;
        }
        if (!create_one(ms, o, errp)) {
            error_prepend(errp, "%s %s: ", o->option, o->value);
            return false;
        }
    }
    return true;
}

/* --- RAM ----------------------------------------------------------------- */

static bool machine_pick_ram(MachineState *ms, Error **errp)
{
    HostMemoryBackend *b;

    if (!ms->memory_backend_id) {
        b = memory_backend_new_memfd("ram", ms->ram_size ? ms->ram_size
                                                         : DEFAULT_RAM_SIZE,
                                     errp);
        if (!b) {
            /* The size -m asked for (e.g. more than the host can map). */
            error_prepend(errp, "-m: ");
            return false;
        }
        g_hash_table_insert(ms->objects, b->id, b);
    } else {
        b = g_hash_table_lookup(ms->objects, ms->memory_backend_id);
        if (!b) {
            error_setg(errp, "-machine memory-backend=%s: no such object",
                       ms->memory_backend_id);
            return false;
        }
        if (ms->ram_size && ms->ram_size != b->size) {
            error_setg(errp, "-m: size does not match the size of "
                       "memory-backend '%s'", b->id);
            return false;
        }
    }
    b->used = true;
    ms->ram_backend = b;
    ms->ram_size = b->size;
    return true;
}

static void machine_map_ram(MachineState *ms)
{
    MemoryRegion *ram = &ms->ram_backend->mr;

    ms->below_4g_mem_size = MIN(ms->ram_size, MACHINE_RAM_BELOW_4G_MAX);
    ms->above_4g_mem_size = ms->ram_size - ms->below_4g_mem_size;
    memory_region_init_alias(&ms->ram_below_4g, "ram-below-4g", ram, 0,
                             ms->below_4g_mem_size);
    memory_region_add_subregion(&ms->system_memory, 0, &ms->ram_below_4g);
    if (ms->above_4g_mem_size) {
        memory_region_init_alias(&ms->ram_above_4g, "ram-above-4g", ram,
                                 ms->below_4g_mem_size,
                                 ms->above_4g_mem_size);
        memory_region_add_subregion(&ms->system_memory,
                                    MACHINE_RAM_ABOVE_4G_BASE,
                                    &ms->ram_above_4g);
    }
}

/* --- serial ----------------------------------------------------------- */

static void machine_serial_irq(void *opaque, int level)
{
    machine_set_irq(opaque, MACHINE_SERIAL_IRQ, level);
}

static bool machine_create_serial(MachineState *ms, Error **errp)
{
    const char *spec = ms->serial_spec ? ms->serial_spec : "stdio";
    Chardev *chr;

    if (!strcmp(spec, "none")) {
        return true;
    }
    if (g_str_has_prefix(spec, "chardev:")) {
        chr = g_hash_table_lookup(ms->chardevs, spec + 8);
        if (!chr) {
            error_setg(errp, "-serial %s: chardev '%s' not found", spec,
                       spec + 8);
            return false;
        }
        if (!qemu_chr_fe_claim(chr, "serial0", errp)) {
            error_prepend(errp, "-serial %s: ", spec);
            return false;
        }
    } else {
        chr = qemu_chr_new_simple("serial0", spec, &ms->wait_cancel, errp);
        if (!chr) {
            error_prepend(errp, "-serial %s: ", spec);
            return false;
        }
        g_hash_table_insert(ms->chardevs, chr->id, chr);
    }
    ms->serial = serial_new(chr, machine_serial_irq, ms, &ms->lock);
    memory_region_add_subregion(&ms->system_io, MACHINE_SERIAL_PORT,
                                serial_io_region(ms->serial));
    return true;
}

/* --- device tree ------------------------------------------------------ */

static void *machine_build_fdt(MachineState *ms, size_t *size, Error **errp)
{
    E820Entry ram[4];
    FdtMmioDevice mmio[VIRTIO_MMIO_SLOTS];
    g_autofree char *cmdline = machine_build_cmdline(ms);
    FdtMachineDesc d = {
        .ram = ram,
        .ram_nr = machine_e820_table(ms, ram, G_N_ELEMENTS(ram)),
        .ncpus = ms->smp_cpus,
        .cmdline = cmdline,
        .has_serial = ms->serial != NULL,
        .serial_port = MACHINE_SERIAL_PORT,
        .serial_irq = MACHINE_SERIAL_IRQ,
        .mmio = mmio,
        .mmio_nr = VIRTIO_MMIO_SLOTS,
    };

    for (unsigned i = 0; i < VIRTIO_MMIO_SLOTS; i++) {
        mmio[i] = (FdtMmioDevice){
            VIRTIO_MMIO_BASE + (hwaddr)i * VIRTIO_MMIO_SLOT_SIZE,
            VIRTIO_MMIO_SLOT_SIZE, VIRTIO_MMIO_GSI_BASE + i };
    }
    return fdt_build_machine(&d, size, errp);
}

static bool machine_dump_dtb(MachineState *ms, Error **errp)
{
    size_t size;
    g_autofree void *fdt = machine_build_fdt(ms, &size, errp);
    GError *gerr = NULL;

    if (!fdt) {
        return false;
    }
    if (!g_file_set_contents(ms->dumpdtb_path, fdt, size, &gerr)) {
        error_setg(errp, "-machine dumpdtb=%s: %s", ms->dumpdtb_path,
                   gerr->message);
        g_error_free(gerr);
        return false;
    }
    return true;
}

/* --- build ----------------------------------------------------------- */

static void machine_init_address_spaces(MachineState *ms)
{
    memory_region_init(&ms->system_memory, "system", UINT64_MAX);
    memory_region_init(&ms->system_io, "io", 0x10000);
    address_space_init(&ms->address_space_memory, &ms->system_memory,
                       "memory");
    address_space_init(&ms->address_space_io, &ms->system_io, "I/O");
}

bool machine_build(MachineState *ms, Error **errp)
{
    ms->main_loop = g_main_loop_new(NULL, FALSE);
    if (!create_queued(ms, 0, errp) || !machine_pick_ram(ms, errp)) {
        return false;
    }
    machine_init_address_spaces(ms);
    if (!ms->accel->init(ms, errp)) {
        error_prepend(errp, "-accel %s: ", ms->accel->name);
        return false;
    }
    /* Devices are created and freed with the machine lock held, as when
     * they are added later: their backends' workers run under it. */
    g_mutex_lock(&ms->lock);
    address_space_transaction_begin(&ms->address_space_memory);
    machine_map_ram(ms);
    debug_exit_init(ms);
    bool ok = machine_create_serial(ms, errp) &&
              device_memory_init(ms, errp) &&
              create_queued(ms, 1, errp) && create_queued(ms, 2, errp);
    address_space_transaction_commit(&ms->address_space_memory);
    g_mutex_unlock(&ms->lock);
    if (!ok) {
        return false;
    }
    ms->ready = true;
    if (ms->dumpdtb_path) {
        return machine_dump_dtb(ms, errp);
    }
    return machine_load_kernel(ms, errp);
}

/* --- run ------------------------------------------------------------- */

/* SIGINT, SIGTERM, SIGHUP arrive on the signalfd (blocked everywhere):
 * shutdown with status 0.  A wait that was blocking the main loop saw
 * the same fd readable and ended. */
static gboolean machine_signal_ready(gint fd, GIOCondition cond,
                                     gpointer data)
{
    machine_take_signals(data);
    return G_SOURCE_CONTINUE;
}

/* Sent once the main loop has stopped, whichever thread asked. */
static void machine_emit_shutdown(MachineState *ms)
{
    const char *reason = ms->shutdown_reason ? ms->shutdown_reason
                                             : "guest-shutdown";
    JsonObject *data = json_object_new();
    JsonNode *node = json_node_alloc();

    json_object_set_boolean_member(data, "guest",
                                   g_str_has_prefix(reason, "guest-"));
    json_object_set_string_member(data, "reason", reason);
    json_node_init_object(node, data);
    json_object_unref(data);
    event_bus_emit(&ms->events, "SHUTDOWN", node);
}

/* -S: the vCPU threads start parked until QMP cont ("prelaunch"); no
 * STOP event, as QEMU. */
static bool machine_start_paused(MachineState *ms, Error **errp)
{
    if (ms->accel->pause) {
        ms->accel->pause(ms);
    }
    ms->paused = true;
    ms->paused_state = "prelaunch";
    return ms->accel->start(ms, errp);
}

int machine_run(MachineState *ms)
{
    Error *err = NULL;
    guint sig = 0;

    if (ms->dumpdtb_path) {
        return 0;
    }
    if (ms->signal_fd >= 0) {
        sig = g_unix_fd_add(ms->signal_fd, G_IO_IN, machine_signal_ready, ms);
    }
    /* A signal during the build. */
    machine_take_signals(ms);
    if (g_atomic_int_get(&ms->shutdown_requested)) {
        /* nothing starts */
    } else if (ms->incoming && !migration_incoming_init(ms, &err)) {
        error_report_err(err);
        machine_request_shutdown_reason(ms, 1, "host-error");
    } else if (ms->start_paused && !machine_start_paused(ms, &err)) {
        error_report_err(err);
        machine_request_shutdown_reason(ms, 1, "host-error");
    } else if (!ms->start_paused && !ms->accel->start(ms, &err)) {
        error_report_err(err);
        machine_request_shutdown_reason(ms, 1, "host-error");
    }
    if (!g_atomic_int_get(&ms->shutdown_requested)) {
        os_daemonize_finish(&ms->os);
    }
    if (!g_atomic_int_get(&ms->shutdown_requested)) {
        g_main_loop_run(ms->main_loop);
    }
    machine_emit_shutdown(ms);
    ms->accel->stop(ms);
    if (sig) {
        g_source_remove(sig);
    }
    return ms->exit_status;
}

static void machine_unmap(MachineState *ms)
{
    if (ms->serial) {
        memory_region_del_subregion(&ms->system_io,
                                    serial_io_region(ms->serial));
        serial_free(ms->serial);
        ms->serial = NULL;
    }
    debug_exit_cleanup(ms);
    device_memory_cleanup(ms);
    if (ms->ram_below_4g.container) {
        memory_region_del_subregion(&ms->system_memory, &ms->ram_below_4g);
    }
    if (ms->ram_above_4g.container) {
        memory_region_del_subregion(&ms->system_memory, &ms->ram_above_4g);
    }
    memory_region_finalize(&ms->ram_below_4g);
    memory_region_finalize(&ms->ram_above_4g);
}

/* The address spaces and their roots (after everything mapped left). */
static void machine_free_address_spaces(MachineState *ms)
{
    if (!ms->system_memory.name) {
        return;
    }
    address_space_destroy(&ms->address_space_memory);
    address_space_destroy(&ms->address_space_io);
    memory_region_finalize(&ms->system_memory);
    memory_region_finalize(&ms->system_io);
}

/* What the command line and the process options left on ms. */
static void machine_free_options(MachineState *ms)
{
    g_ptr_array_free(ms->options, TRUE);
    g_free(ms->kernel_path);
    g_free(ms->initrd_path);
    g_free(ms->append);
    g_free(ms->dumpdtb_path);
    g_free(ms->memory_backend_id);
    g_free(ms->qtest_chardev);
    g_free(ms->qtest_log);
    g_free(ms->serial_spec);
    g_free(ms->incoming);
    g_free(ms->name);
    os_pidfile_remove(&ms->os);
    if (ms->os.daemon_fd >= 0) {
        close(ms->os.daemon_fd);    /* the waiting parent exits 1 */
    }
    g_free(ms->os.pidfile);
    g_free(ms->os.process_name);
    g_free(ms->os.user);
    g_free(ms->os.groups);
}

/* Top down: what runs, then the devices and their backends, then the
 * monitors, then memory and the accelerator. */
void machine_free(MachineState *ms)
{
    if (!ms) {
        return;
    }
    if (ms->accel && ms->system_memory.name) {
        ms->accel->stop(ms);
    }
    migration_cleanup(ms);
    g_mutex_lock(&ms->lock);
    qdev_cleanup(ms);
    net_cleanup(ms);
    g_mutex_unlock(&ms->lock);
    monitor_cleanup(ms);
    if (ms->accel && ms->system_memory.name) {
        machine_unmap(ms);
        ms->accel->cleanup(ms);
    }
    machine_free_address_spaces(ms);
    savevm_registry_free(ms);
    g_hash_table_destroy(ms->chardevs);
    g_hash_table_destroy(ms->objects);
    if (ms->main_loop) {
        g_main_loop_unref(ms->main_loop);
    }
    machine_free_options(ms);
    event_bus_cleanup(&ms->events);
    machine_shutdown_cleanup(ms);
    g_mutex_clear(&ms->lock);
    g_free(ms);
}
