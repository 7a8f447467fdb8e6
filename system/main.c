/* SPDX-License-Identifier: MIT */
/*
 * kvmini entry point: parse, daemonize (after checking that nothing needs
 * stdio), build, drop root and load the syscall filter, run, report.  This is the one place where errors are
 * printed and the process exits.
 */
#include "sysemu/sysemu.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

/* Make sure fds 0-2 exist, so no file we open later lands on them and is
 * mistaken for stdio (CI may start us with stdin closed). */
static void ensure_std_fds(void)
{
    for (int fd = 0; fd <= 2; fd++) {
        if (fcntl(fd, F_GETFD) < 0) {
            int nfd = open("/dev/null", O_RDWR);   /* lands on fd */

            (void)nfd;
        }
    }
}

/* -daemonize: nothing may use stdio, which the daemon gives up. */
static bool daemonize_check(MachineState *ms, Error **errp)
{
    const char *serial = ms->serial_spec ? ms->serial_spec : "stdio";

    if (!strcmp(serial, "stdio")) {
        error_setg(errp, "the serial port is on stdio, which a daemon does "
                   "not have (use -serial none, file:PATH or chardev:ID)");
        return false;
    }
    if (ms->qtest_chardev && !strcmp(ms->qtest_chardev, "stdio")) {
        error_setg(errp, "-qtest stdio cannot be used with -daemonize");
        return false;
    }
    for (guint i = 0; i < ms->options->len; i++) {
        const MachineOption *o = g_ptr_array_index(ms->options, i);

        if ((!strcmp(o->option, "-chardev") &&
             g_str_has_prefix(o->value, "stdio")) ||
            (!strcmp(o->option, "-qmp") && !strcmp(o->value, "stdio"))) {
            error_setg(errp, "%s %s: stdio cannot be used with -daemonize",
                       o->option, o->value);
            return false;
        }
    }
    return true;
}

/* From here on SIGINT, SIGTERM and SIGHUP are shutdown requests, also
 * while the build waits for a backend. */
static bool own_shutdown_signals(MachineState *ms, Error **errp)
{
    int fd = os_shutdown_signalfd(errp);

    if (fd < 0) {
        return false;
    }
    machine_set_signal_fd(ms, fd);
    return true;
}

static bool daemonize_start(MachineState *ms, Error **errp)
{
    if (ms->os.daemonize && !daemonize_check(ms, errp)) {
        error_prepend(errp, "-daemonize: ");
        return false;
    }
    return os_daemonize_start(&ms->os, errp);
}

/* The machine is built: /dev/kvm, sockets and files are open.  Before
 * the guest runs, give up root (-run-with user=), then load the syscall
 * filter (-sandbox on; after the user change, which it may forbid). */
static bool confine(MachineState *ms, Error **errp)
{
    if (!os_change_user(&ms->os, errp)) {
        return false;
    }
    if (!sandbox_install(&ms->sandbox, errp)) {
        error_prepend(errp, "-sandbox: ");
        return false;
    }
    return true;
}

/* Build the machine and confine the process: -1 to go on, else the exit
 * status (errors reported). */
static int build(MachineState *ms)
{
    Error *err = NULL;
    int status;

    if (!machine_build(ms, &err)) {
        /* A signal or a shutdown request ended a wait of the build (a
         * backend still to come): not an error, the documented status. */
        status = machine_take_signals(ms) ? ms->exit_status : 1;
        if (status) {
            error_report_err(err);
        } else {
            error_free(err);
        }
        return status;
    }
    if (!confine(ms, &err)) {
        error_report_err(err);
        return 1;
    }
    return -1;
}

int main(int argc, char **argv)
{
    Error *err = NULL;
    bool exit_now = false;
    int status = 0;
    MachineState *ms;

    ensure_std_fds();
    ms = kvmini_parse_args(argc, argv, &exit_now, &status, &err);

    if (!ms) {
        if (exit_now) {
            return status;
        }
        error_report_err(err);
        return 1;
    }
    /* Before anything is created: a KVM VM belongs to its process. */
    if (!daemonize_start(ms, &err) ||
        !os_pidfile_create(&ms->os, &err)) {
        error_report_err(err);
        machine_free(ms);
        return 1;
    }
    os_set_process_name(&ms->os);
    if (!own_shutdown_signals(ms, &err)) {
        error_report_err(err);
        machine_free(ms);
        return 1;
    }
    status = build(ms);
    if (status >= 0) {
        machine_free(ms);
        return status;
    }
    status = machine_run(ms);
    machine_free(ms);
    return status;
}
