/* SPDX-License-Identifier: MIT */
/*
 * Command-line parsing (QEMU syntax).  Options that create things
 * (-object, -chardev, -device) are queued in order and handled by
 * machine_build(); everything else is checked here so that bad input
 * fails before anything is created.  Every error reads
 * "<option> <arg>: <reason>".
 */
#include "sysemu/sysemu.h"
#include "migration/migration.h"
#include "qemu/log.h"
#include "qemu/option.h"

#include <stdio.h>
#include <string.h>

#define KVMINI_VERSION "0.1.0"

typedef bool OptionFn(MachineState *ms, const char *arg, Error **errp);

typedef struct OptionDef {
    const char *name;
    bool has_arg;
    OptionFn *fn;
    const char *help;
} OptionDef;

static bool memory_parse_size(MachineState *ms, const char *size,
                              Error **errp)
{
    if (qemu_strtosz(size, 'M', &ms->ram_size) < 0 || ms->ram_size == 0) {
        error_setg(errp, "invalid RAM size '%s'", size);
        return false;
    }
    if (ms->ram_size & 0xfff) {
        error_setg(errp, "RAM size must be a multiple of 4 KiB");
        return false;
    }
    return true;
}

/* slots=N,maxmem=MAX (QEMU's memory hotplug keys): both or neither.  The
 * size check is repeated by the machine once the RAM size is final
 * (-machine memory-backend= may set it). */
static bool memory_parse_hotplug(MachineState *ms, GHashTable *opts,
                                 Error **errp)
{
    bool has_slots = qemu_opt_get(opts, "slots");
    bool has_maxmem = qemu_opt_get(opts, "maxmem");
    uint64_t slots;

    if (!qemu_opt_get_number(opts, "slots", 0, &slots, errp) ||
        !qemu_opt_get_size(opts, "maxmem", 0, &ms->maxmem, errp)) {
        return false;
    }
    if (has_slots != has_maxmem) {
        error_setg(errp, "slots and maxmem go together (slots=N,maxmem=SIZE "
                   "enables memory hotplug)");
        return false;
    }
    if (has_slots && (slots < 1 || slots > MACHINE_MAX_RAM_SLOTS)) {
        error_setg(errp, "slots must be between 1 and %d",
                   MACHINE_MAX_RAM_SLOTS);
        return false;
    }
    if (ms->maxmem & 0xfff) {
        error_setg(errp, "maxmem must be a multiple of 4 KiB");
        return false;
    }
    if (has_maxmem && ms->ram_size && ms->maxmem < ms->ram_size) {
        error_setg(errp, "maximum memory size (0x%" PRIx64 ") must be at "
                   "least the initial memory size (0x%" PRIx64 ")",
                   ms->maxmem, ms->ram_size);
        return false;
    }
    ms->ram_slots = slots;
    return true;
}

static bool opt_memory(MachineState *ms, const char *arg, Error **errp)
{
    static const char *const keys[] = { "size", "slots", "maxmem", NULL };
    g_autoptr(GHashTable) opts = qemu_opts_parse(arg, "size", errp);
    const char *size;

    if (!opts || !qemu_opts_check_keys(opts, keys, errp)) {
        return false;
    }
    size = qemu_opt_get(opts, "size");
    if (size && !memory_parse_size(ms, size, errp)) {
        return false;
    }
    if (!size && !qemu_opt_get(opts, "slots") &&
        !qemu_opt_get(opts, "maxmem")) {
        error_setg(errp, "invalid RAM size ''");
        return false;
    }
    return memory_parse_hotplug(ms, opts, errp);
}

static bool opt_smp(MachineState *ms, const char *arg, Error **errp)
{
    static const char *const keys[] = { "cpus", NULL };
    g_autoptr(GHashTable) opts = qemu_opts_parse(arg, "cpus", errp);
    uint64_t n;

    if (!opts || !qemu_opts_check_keys(opts, keys, errp) ||
        !qemu_opt_get_number(opts, "cpus", 1, &n, errp)) {
        return false;
    }
    if (n < 1 || n > 64) {
        error_setg(errp, "number of CPUs must be between 1 and 64");
        return false;
    }
    ms->smp_cpus = n;
    return true;
}

static bool set_string(char **field, const char *arg)
{
    g_free(*field);
    *field = g_strdup(arg);
    return true;
}

static bool opt_kernel(MachineState *ms, const char *arg, Error **errp)
{
    return set_string(&ms->kernel_path, arg);
}

static bool opt_initrd(MachineState *ms, const char *arg, Error **errp)
{
    return set_string(&ms->initrd_path, arg);
}

static bool opt_append(MachineState *ms, const char *arg, Error **errp)
{
    return set_string(&ms->append, arg);
}

static bool set_accel(MachineState *ms, const char *name, Error **errp)
{
    if (!strcmp(name, "kvm")) {
        ms->accel = &kvm_accel_ops;
    } else if (!strcmp(name, "qtest")) {
        ms->accel = &qtest_accel_ops;
    } else {
        error_setg(errp, "invalid accelerator %s (kvm or qtest)", name);
        return false;
    }
    return true;
}

static bool opt_accel(MachineState *ms, const char *arg, Error **errp)
{
    static const char *const keys[] = { "accel", NULL };
    g_autoptr(GHashTable) opts = qemu_opts_parse(arg, "accel", errp);

    if (!opts || !qemu_opts_check_keys(opts, keys, errp)) {
        return false;
    }
    return set_accel(ms, qemu_opt_get(opts, "accel") ?: "", errp);
}

static bool opt_enable_kvm(MachineState *ms, const char *arg, Error **errp)
{
    ms->accel = &kvm_accel_ops;
    return true;
}

/* pit=on|off|auto as QEMU microvm; auto means on. */
static bool machine_opt_pit(MachineState *ms, GHashTable *opts, Error **errp)
{
    const char *v = qemu_opt_get(opts, "pit");

    if (v && !strcmp(v, "auto")) {
        ms->pit = true;
        return true;
    }
    return qemu_opt_get_bool(opts, "pit", ms->pit, &ms->pit, errp);
}

static bool opt_machine(MachineState *ms, const char *arg, Error **errp)
{
    static const char *const keys[] = { "type", "memory-backend", "dumpdtb",
                                        "accel", "pit", NULL };
    g_autoptr(GHashTable) opts = qemu_opts_parse(arg, "type", errp);
    const char *type, *v;

    if (!opts || !qemu_opts_check_keys(opts, keys, errp) ||
        !machine_opt_pit(ms, opts, errp)) {
        return false;
    }
    type = qemu_opt_get(opts, "type");
    if (type && strcmp(type, "microvm") && strcmp(type, "kvmini")) {
        error_setg(errp, "unsupported machine type '%s' (use microvm)", type);
        return false;
    }
    if ((v = qemu_opt_get(opts, "memory-backend"))) {
        set_string(&ms->memory_backend_id, v);
    }
    if ((v = qemu_opt_get(opts, "dumpdtb"))) {
        set_string(&ms->dumpdtb_path, v);
    }
    if ((v = qemu_opt_get(opts, "accel"))) {
        return set_accel(ms, v, errp);
    }
    return true;
}

static bool opt_serial(MachineState *ms, const char *arg, Error **errp)
{
    return set_string(&ms->serial_spec, arg);
}

static bool opt_qtest(MachineState *ms, const char *arg, Error **errp)
{
    return set_string(&ms->qtest_chardev, arg);
}

static bool opt_qtest_log(MachineState *ms, const char *arg, Error **errp)
{
    return set_string(&ms->qtest_log, arg);
}

static bool opt_incoming(MachineState *ms, const char *arg, Error **errp)
{
    return migration_uri_check(arg, true, errp) &&
           set_string(&ms->incoming, arg);
}

static bool opt_log(MachineState *ms, const char *arg, Error **errp)
{
    if (!strcmp(arg, "help")) {
        fputs(qemu_log_help(), stdout);
        error_setg(errp, "help");   /* handled as exit_now by the caller */
        return false;
    }
    return qemu_log_set_categories(arg, errp);
}

static bool opt_start_paused(MachineState *ms, const char *arg,
                             Error **errp)
{
    ms->start_paused = true;
    return true;
}

static bool opt_daemonize(MachineState *ms, const char *arg, Error **errp)
{
    ms->os.daemonize = true;
    return true;
}

static bool opt_pidfile(MachineState *ms, const char *arg, Error **errp)
{
    return set_string(&ms->os.pidfile, arg);
}

static bool opt_sandbox(MachineState *ms, const char *arg, Error **errp)
{
    return sandbox_parse(&ms->sandbox, arg, errp);
}

/* -run-with user=USER (QEMU 9).  QEMU's chroot= and async-teardown= are
 * not implemented: refused, never ignored. */
static bool opt_run_with(MachineState *ms, const char *arg, Error **errp)
{
    static const char *const keys[] = { "user", NULL };
    g_autoptr(GHashTable) opts = qemu_opts_parse(arg, NULL, errp);
    const char *user;

    if (!opts || !qemu_opts_check_keys(opts, keys, errp)) {
        return false;
    }
    user = qemu_opt_get(opts, "user");
    if (!user || !*user) {
        error_setg(errp, "user=NAME is required");
        return false;
    }
    return os_set_user(&ms->os, user, errp);
}

/* -runas USER: QEMU's older spelling of -run-with user=USER. */
static bool opt_runas(MachineState *ms, const char *arg, Error **errp)
{
    return os_set_user(&ms->os, arg, errp);
}

/* -name [guest=]NAME[,process=NAME][,debug-threads=on|off] */
static bool opt_name(MachineState *ms, const char *arg, Error **errp)
{
    static const char *const keys[] = { "guest", "process", "debug-threads",
                                        NULL };
    g_autoptr(GHashTable) opts = qemu_opts_parse(arg, "guest", errp);
    bool threads;

    if (!opts || !qemu_opts_check_keys(opts, keys, errp) ||
        !qemu_opt_get_bool(opts, "debug-threads", false, &threads, errp)) {
        return false;
    }
    g_free(ms->name);
    ms->name = g_strdup(qemu_opt_get(opts, "guest"));
    g_free(ms->os.process_name);
    ms->os.process_name = g_strdup(qemu_opt_get(opts, "process"));
    return true;
}

static bool opt_ignored(MachineState *ms, const char *arg, Error **errp)
{
    return true;    /* QEMU habits with nothing to do here */
}

static bool opt_display(MachineState *ms, const char *arg, Error **errp)
{
    if (strcmp(arg, "none")) {
        error_setg(errp, "only '-display none' is supported");
        return false;
    }
    return true;
}

/* -object, -chardev, -device: created later, in order. */
static bool opt_queue(MachineState *ms, const char *option, const char *arg)
{
    MachineOption *o = g_new0(MachineOption, 1);

    o->option = g_strdup(option);
    o->value = g_strdup(arg);
    g_ptr_array_add(ms->options, o);
    return true;
}

static bool opt_object(MachineState *ms, const char *arg, Error **errp)
{
    return opt_queue(ms, "-object", arg);
}

static bool opt_chardev(MachineState *ms, const char *arg, Error **errp)
{
    return opt_queue(ms, "-chardev", arg);
}

static bool opt_device(MachineState *ms, const char *arg, Error **errp)
{
    return opt_queue(ms, "-device", arg);
}

static bool opt_netdev(MachineState *ms, const char *arg, Error **errp)
{
    return opt_queue(ms, "-netdev", arg);
}

static bool opt_qmp(MachineState *ms, const char *arg, Error **errp)
{
    return opt_queue(ms, "-qmp", arg);
}

static bool opt_mon(MachineState *ms, const char *arg, Error **errp)
{
    return opt_queue(ms, "-mon", arg);
}

static const OptionDef options[] = {
    { "m", true, opt_memory,
      "[size=]SIZE[,slots=N,maxmem=MAX] (RAM, e.g. 256M; hotplug)" },
    { "smp", true, opt_smp, "number of vCPUs" },
    { "kernel", true, opt_kernel, "PVH ELF or bzImage to boot" },
    { "initrd", true, opt_initrd, "initial ram disk / PVH module" },
    { "append", true, opt_append, "kernel command line" },
    { "machine", true, opt_machine,
      "microvm[,memory-backend=ID][,dumpdtb=FILE][,accel=kvm|qtest]"
      "[,pit=on|off]" },
    { "M", true, opt_machine, "same as -machine" },
    { "accel", true, opt_accel, "kvm (default) or qtest" },
    { "enable-kvm", false, opt_enable_kvm, "same as -accel kvm" },
    { "object", true, opt_object,
      "memory-backend-memfd|memory-backend-file,id=ID,size=SIZE"
      "[,share=on|off][,mem-path=PATH]" },
    { "chardev", true, opt_chardev,
      "stdio|file|socket|null,id=ID[,path=PATH][,server=on|off]"
      "[,wait=on|off][,reconnect=SECONDS|reconnect-ms=MS]" },
    { "serial", true, opt_serial, "stdio|file:PATH|chardev:ID|null|none" },
    { "device", true, opt_device, "add a device (see docs/user-guide.md)" },
    { "netdev", true, opt_netdev,
      "vhost-user,id=ID,chardev=ID[,queues=N] | tap,id=ID[,ifname=NAME]"
      "[,vhost=on][,queues=N]" },
    { "qmp", true, opt_qmp, "QMP monitor: unix:PATH[,server=on][,wait=off]" },
    { "mon", true, opt_mon, "chardev=ID,mode=control (QMP on a chardev)" },
    { "qtest", true, opt_qtest, "qtest protocol on stdio or unix:PATH" },
    { "qtest-log", true, opt_qtest_log, "log qtest traffic to FILE" },
    { "incoming", true, opt_incoming,
      "unix:PATH|fd:N|file:PATH|defer (wait for a migration stream)" },
    { "S", false, opt_start_paused,
      "start with the vCPUs paused (QMP cont starts them)" },
    { "name", true, opt_name,
      "[guest=]NAME[,process=NAME] (QMP query-name; process name)" },
    { "pidfile", true, opt_pidfile,
      "FILE (the process id, locked while running, removed at exit)" },
    { "daemonize", false, opt_daemonize,
      "detach once the machine runs (parent exits 0, or 1 on failure)" },
    { "sandbox", true, opt_sandbox,
      "on|off[,obsolete=allow|deny][,elevateprivileges=allow|deny|children]"
      "[,spawn=allow|deny][,resourcecontrol=allow|deny] (syscall filter)" },
    { "run-with", true, opt_run_with,
      "user=USER (drop root once the machine is built)" },
    { "runas", true, opt_runas, "USER (same as -run-with user=USER)" },
    { "d", true, opt_log, "debug log categories (-d help)" },
    { "display", true, opt_display, "none" },
    { "nographic", false, opt_ignored, "accepted for QEMU compatibility" },
    { "nodefaults", false, opt_ignored, "accepted for QEMU compatibility" },
    { "no-reboot", false, opt_ignored, "accepted (kvmini never reboots)" },
};

static void print_help(void)
{
    printf("usage: kvmini [options]\n\n");
    for (size_t i = 0; i < G_N_ELEMENTS(options); i++) {
        printf("  -%-12s %s %s\n", options[i].name,
               options[i].has_arg ? "ARG" : "   ", options[i].help);
    }
    printf("  -%-12s     %s\n  -%-12s     %s\n", "help", "this text",
           "version", "print the version");
}

static const OptionDef *find_option(const char *name)
{
    for (size_t i = 0; i < G_N_ELEMENTS(options); i++) {
        if (!strcmp(options[i].name, name)) {
            return &options[i];
        }
    }
    return NULL;
}

/* Returns 1 if argv[*i] is -help/-version (handled), 0 if ok, -1 error. */
static int parse_one(MachineState *ms, int argc, char **argv, int *i,
                     Error **errp)
{
    const char *arg0 = argv[*i];
    const char *name = arg0 + (arg0[0] == '-') + (arg0[1] == '-');
    const OptionDef *def;
    Error *local_err = NULL;

    if (arg0[0] != '-') {
        error_setg(errp, "%s: invalid argument (options start with '-')", arg0);
        return -1;
    }
    if (!strcmp(name, "help") || !strcmp(name, "h")) {
        print_help();
        return 1;
    }
    if (!strcmp(name, "version")) {
        printf("kvmini version " KVMINI_VERSION "\n");
        return 1;
    }
    def = find_option(name);
    if (!def) {
        error_setg(errp, "%s: invalid option", arg0);
        return -1;
    }
    if (def->has_arg && *i + 1 >= argc) {
        error_setg(errp, "%s: requires an argument", arg0);
        return -1;
    }
    const char *arg = def->has_arg ? argv[++*i] : NULL;
    if (!def->fn(ms, arg, &local_err)) {
        if (def->fn == opt_log && !strcmp(error_get_pretty(local_err), "help")) {
            error_free(local_err);
            return 1;
        }
        error_propagate(errp, local_err);
        error_prepend(errp, "%s %s: ", arg0, arg ? arg : "");
        return -1;
    }
    return 0;
}

MachineState *kvmini_parse_args(int argc, char **argv, bool *exit_now,
                                int *exit_status, Error **errp)
{
    MachineState *ms = machine_new();

    for (int i = 1; i < argc; i++) {
        int r = parse_one(ms, argc, argv, &i, errp);

        if (r != 0) {
            machine_free(ms);
            *exit_now = r > 0;
            *exit_status = 0;
            return NULL;
        }
    }
    return ms;
}
