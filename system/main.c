/* SPDX-License-Identifier: MIT */
/*
 * kvmini entry point: parse, build, run, report.  This is the one place
 * where errors are printed and the process exits.
 */
#include "sysemu/sysemu.h"

#include <fcntl.h>
#include <stdlib.h>

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
    if (!os_daemonize_start(ms, &err) ||
        !os_pidfile_create(&ms->os, &err)) {
        error_report_err(err);
        machine_free(ms);
        return 1;
    }
    os_set_process_name(&ms->os);
    if (!machine_build(ms, &err)) {
        error_report_err(err);
        machine_free(ms);
        return 1;
    }
    status = machine_run(ms);
    machine_free(ms);
    return status;
}
