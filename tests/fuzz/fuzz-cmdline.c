/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target for the command line: kvmini_parse_args (system/vl.c) on
 * argument vectors made of kvmini's options (and some it does not have)
 * with values users write, raw bytes, extra keys and changed bytes; and,
 * for a vector that parses, the machine built from it as main() would
 * (machine_build: backends, chardevs, netdevs, monitors, devices, RAM,
 * the kernel) but always under the qtest accelerator (never /dev/kvm,
 * never started), then freed.  The process runs in a private directory
 * that holds a PVH kernel, a bzImage, an initrd and a file of garbage
 * for -kernel / -initrd, and every '/' of an argument is replaced, so
 * that each path an input names is in that directory; "stdio" is
 * replaced too (the harness's stdin and stdout are not the guest's).
 * A vector whose build would wait (a server socket with wait=on, a
 * vhost-user device or netdev next to a socket chardev: its backend
 * would have to answer) is only parsed.
 *
 * Checks: no crash, no sanitizer report; a vector that does not parse
 * fails with an Error whose message starts with the option that failed,
 * as given ("-m banana: ...", "-frobnicate: ...", "stray: ..."); -help,
 * -version and -d help end the parse without an error; a vector that
 * parses has no error; a build that fails says which option failed
 * ("-device ...: ", "-chardev ...: ", "-kernel ...: ", ...); after the
 * machine is freed no fd and no main-loop source is left, and the debug
 * log categories are reset.
 *
 * Two builds, as fuzz-virtio.c: with KVMINI_LIBFUZZER this file is a
 * libFuzzer target; otherwise it is linked with fuzz-cmdline-seeds.c into
 * a standalone campaign (see fuzz-common.h).
 */
#include "fuzz-cmdline.h"
#include "fuzz-process.h"
#include "qemu/log.h"
#include "qemu/option.h"
#include "../unit/kernel-images.h"

#include <fcntl.h>

FclStats fcl_stats;

/* kvmini's options, then some it has not. */
const FclOption fcl_options[] = {
    { "-m", true, { "16M", "16M,slots=2,maxmem=64M", "size=2M", "0",
                    "banana", "4097", "1M,slots=33,maxmem=1G",
                    "1M,maxmem=8M" } },
    { "-smp", true, { "1", "2", "cpus=4", "0", "65", "x", "cpus=2,y=1" } },
    { "-kernel", true, { "pvh.elf", "bz", "garbage", "missing", "" } },
    { "-initrd", true, { "initrd", "missing", "garbage" } },
    { "-append", true, { "console=ttyS0", "", "a b c",
                         "virtio_mmio.device=512@0xfeb00000:5" } },
    { "-machine", true, { "microvm", "microvm,accel=qtest,pit=off", "pc",
                          "microvm,memory-backend=m0", "kvmini,pit=auto",
                          "microvm,dumpdtb=dtb.out", "type=microvm,x=1",
                          "microvm,pit=maybe" } },
    { "-M", true, { "microvm", "q35", "microvm,accel=kvm" } },
    { "-accel", true, { "qtest", "kvm", "tcg", "accel=qtest", "" } },
    { "-enable-kvm", false },
    { "-object", true, { "memory-backend-memfd,id=m0,size=1M",
                         "memory-backend-file,id=m1,size=1M,mem-path=ram,"
                         "share=on", "memory-backend-memfd,id=m0,size=2M",
                         "memory-backend-memfd,id=m2,size=0",
                         "memory-backend-memfd,id=m3,share=off,size=1M",
                         "memory-backend-file,id=m4,size=1M",
                         "memory-backend-ram,id=m5,size=1M",
                         "memory-backend-memfd,size=1M" } },
    { "-chardev", true, { "socket,id=c0,path=vu.sock",
                          "socket,id=c1,path=vu.sock,server=on,wait=off",
                          "file,id=f0,path=out.txt", "null,id=n1",
                          "socket,id=c2,path=vu2.sock,reconnect=1",
                          "stdio,id=s0", "socket,id=c3",
                          "socket,id=c1,path=x.sock,server=on,reconnect=1" } },
    { "-serial", true, { "none", "null", "file:serial.txt", "chardev:f0",
                         "unix:ser.sock,server=on,wait=off", "stdio",
                         "chardev:nope", "tcp:1" } },
    { "-device", true, { "pc-dimm,id=d0,memdev=m0",
                         "vhost-user-blk,chardev=c0,id=blk0",
                         "virtio-net-device,netdev=n0,id=nic0",
                         "vhost-user-device,chardev=c1,virtio-id=26",
                         "nope", "pc-dimm,memdev=m9", "driver=pc-dimm",
                         "pc-dimm,id=d1,memdev=m0,addr=0x1000" } },
    { "-netdev", true, { "vhost-user,id=n0,chardev=c0,queues=2",
                         "user,id=n1", "vhost-user,id=n0",
                         "vhost-user,chardev=c1" } },
    { "-qmp", true, { "unix:qmp.sock,server=on,wait=off", "unix:qmp.sock",
                      "stdio", "null", "unix:qmp.sock,server=on",
                      "tcp:localhost:4444", "file:qmp.out" } },
    { "-mon", true, { "chardev=n1,mode=control",
                      "chardev=c1,mode=control,pretty=on",
                      "chardev=n1,mode=readline", "chardev=nope",
                      "mode=control" } },
    { "-qtest", true, { "unix:qtest.sock", "stdio", "null" } },
    { "-qtest-log", true, { "qtest.log", "" } },
    { "-incoming", true, { "defer", "unix:mig.sock", "fd:3", "file:mig.bin",
                           "tcp:0:4444", "unix:", "fd:" } },
    { "-S", false },
    { "-name", true, { "vm", "guest=vm,process=p,debug-threads=on",
                       "process=p", "guest=a,,b", "debug-threads=maybe" } },
    { "-pidfile", true, { "pid", "" } },
    { "-daemonize", false },
    { "-d", true, { "guest_errors,unimp", "vhost,kvm", "help", "nope", "" } },
    { "-display", true, { "none", "gtk" } },
    { "-nographic", false },
    { "-nodefaults", false },
    { "-no-reboot", false },
    { "-help", false },
    { "-version", false },
    /* not kvmini's */
    { "--m", true, { "64M" } },
    { "-frobnicate", false },
    { "-", false },
    { "stray", false },
    { "-vnc", true, { ":0" } },
    { "-h", false },
};
const unsigned fcl_n_options = G_N_ELEMENTS(fcl_options);

static const char *const fcl_keys[] = {
    "id", "size", "path", "server", "wait", "reconnect", "chardev", "memdev",
    "slots", "maxmem", "share", "mem-path", "accel", "pit", "mode", "pretty",
    "driver", "queues", "num-queues", "addr", "slot", "process",
    "debug-threads", "dumpdtb", "memory-backend", "cpus", "type", "x", "",
};

static const char *const fcl_names[] = {
    "on", "off", "0", "1", "2", "1M", "c0", "c1", "m0", "n0", "x", "",
    "auto", "control", "16", "4096", "-1", "0x1000", "18446744073709551616",
    "yes", "4G",
};

/* --- the command line ------------------------------------------------------- */

static const char *fcl_template(const FclOption *o, uint8_t i)
{
    unsigned n = 0;

    while (n < FCL_TEMPLATES && o->values[n]) {
        n++;
    }
    return n ? o->values[i % n] : "";
}

/* The argument of o, as the input says. */
static char *fcl_value(const FclOption *o, FuzzInput *in)
{
    uint8_t kind = fuzz_in_u8(in) % FCL_ARG_COUNT, i = fuzz_in_u8(in);
    GString *s = g_string_new(NULL);
    const uint8_t *p;
    size_t n;

    switch (kind) {
    case FCL_ARG_TEMPLATE:
        g_string_append(s, fcl_template(o, i));
        break;
    case FCL_ARG_RAW:
        p = fuzz_in_bytes(in, i % 64, &n);
        g_string_append_len(s, (const char *)p, n);
        break;
    case FCL_ARG_EXTRA:
        g_string_append_printf(s, "%s,%s=", fcl_template(o, i),
                               fcl_keys[fuzz_in_u8(in) %
                                        G_N_ELEMENTS(fcl_keys)]);
        g_string_append(s, fcl_names[fuzz_in_u8(in) %
                                     G_N_ELEMENTS(fcl_names)]);
        break;
    default:
        g_string_append(s, fcl_template(o, i));
        if (s->len) {
            uint8_t at = fuzz_in_u8(in);

            s->str[at % s->len] = fuzz_in_u8(in);
        }
        break;
    }
    return g_string_free(s, FALSE);
}

/* No path may leave the directory, nothing may use the harness's stdio:
 * '/' becomes '_', "stdio" "sdtio"; a NUL ends the argument. */
static void fcl_sanitize(char *s)
{
    char *p;

    g_strdelimit(s, "/", '_');
    while ((p = strstr(s, "stdio"))) {
        p[1] = 'd';
        p[2] = 't';
    }
}

static GPtrArray *fcl_argv(const uint8_t *data, size_t size)
{
    GPtrArray *argv = g_ptr_array_new_with_free_func(g_free);
    FuzzInput in = { .data = data, .size = size };

    /* The default serial port is on stdio: away with it first. */
    g_ptr_array_add(argv, g_strdup("-serial"));
    g_ptr_array_add(argv, g_strdup("none"));
    for (unsigned n = 0; fuzz_in_left(&in) && n < FCL_MAX_OPTS; n++) {
        const FclOption *o = &fcl_options[fuzz_in_u8(&in) % fcl_n_options];

        g_ptr_array_add(argv, g_strdup(o->name));
        if (o->has_arg && fuzz_in_left(&in)) {
            g_ptr_array_add(argv, fcl_value(o, &in));
        }
        fcl_stats.options++;
    }
    for (guint i = 0; i < argv->len; i++) {
        fcl_sanitize(g_ptr_array_index(argv, i));
    }
    return argv;
}

/* --- the private directory --------------------------------------------------- */

static const char *const fcl_fixture_names[] = {
    "pvh.elf", "bz", "initrd", "garbage", NULL,
};

static GByteArray *fcl_fixture(unsigned i)
{
    static const TestElfSpec elf = {
        .is64 = true, .paddr = 0x100000, .filesz = 0x300, .memsz = 0x2000,
        .entry = 0x100000, .note_descsz = 4,
    };
    static const TestBzSpec bz = {
        .version = 0x020f, .setup_sects = 4, .xloadflags = 1,
        .cmdline_size = 2047, .initrd_addr_max = 0x7fffffff,
        .init_size = 0x4000, .kernel_size = 0x400,
    };
    static const char *const text[] = { "initrd contents",
                                        "\x7f" "ELF garbage" };
    GByteArray *b;

    if (i == 0) {
        return test_build_pvh_elf(&elf);
    }
    if (i == 1) {
        return test_build_bzimage(&bz);
    }
    b = g_byte_array_new();
    g_byte_array_append(b, (const uint8_t *)text[i - 2],
                        strlen(text[i - 2]));
    return b;
}

/* What -kernel and -initrd may name, as they must be before each input
 * (an input may have overwritten one: a chardev's file, a dumped tree);
 * everything else the last input left is removed. */
static void fcl_fixtures(void)
{
    fuzz_workdir_clean(fcl_fixture_names);
    for (unsigned i = 0; fcl_fixture_names[i]; i++) {
        g_autoptr(GByteArray) want = fcl_fixture(i);
        g_autofree char *have = NULL;
        gsize len;

        if (!g_file_get_contents(fcl_fixture_names[i], &have, &len, NULL) ||
            len != want->len || memcmp(have, want->data, len)) {
            g_assert_true(g_file_set_contents(fcl_fixture_names[i],
                                              (char *)want->data, want->len,
                                              NULL));
        }
    }
}

/* --- parse --------------------------------------------------------------------- */

static char *fcl_why;

const char *fcl_last_error(void)
{
    return fcl_why;
}

/* -help, -version and -d help print to stdout: not the harness's. */
static MachineState *fcl_parse(GPtrArray *args, bool *exit_now, Error **errp)
{
    g_autofree char **argv = g_new0(char *, args->len + 2);
    int saved, null, status = 0;
    MachineState *ms;

    argv[0] = (char *)"kvmini";
    memcpy(argv + 1, args->pdata, args->len * sizeof(char *));
    fflush(stdout);
    saved = fcntl(1, F_DUPFD_CLOEXEC, 3);
    null = open("/dev/null", O_WRONLY | O_CLOEXEC);
    dup2(null, 1);
    close(null);
    ms = kvmini_parse_args(args->len + 1, argv, exit_now, &status, errp);
    fflush(stdout);
    dup2(saved, 1);
    close(saved);
    return ms;
}

/* The message of a parse error starts with the option that failed, as
 * given: "OPT: ..." or "OPT ARG: ...". */
static void fcl_check_parse_error(GPtrArray *argv, const char *msg)
{
    for (guint i = 0; i < argv->len; i++) {
        const char *a = g_ptr_array_index(argv, i);
        g_autofree char *alone = g_strdup_printf("%s: ", a);
        g_autofree char *with = i + 1 < argv->len ?
            g_strdup_printf("%s %s: ", a,
                            (char *)g_ptr_array_index(argv, i + 1)) : NULL;

        if ((g_str_has_prefix(msg, alone) && msg[strlen(alone)]) ||
            (with && g_str_has_prefix(msg, with) && msg[strlen(with)])) {
            return;
        }
    }
    g_error("fuzz-cmdline: the parse error '%s' does not start with the "
            "option that failed", msg);
}

/* --- is a build safe? ------------------------------------------------------------ */

/* A server socket that waits for its first peer (wait=on, the default). */
static bool fcl_socket_waits(GHashTable *opts)
{
    bool server = false, wait = true;

    return opts && !g_strcmp0(qemu_opt_get(opts, "backend"), "socket") &&
           qemu_opt_get_bool(opts, "server", false, &server, NULL) &&
           qemu_opt_get_bool(opts, "wait", true, &wait, NULL) &&
           server && wait;
}

/* The short forms of -qmp and -serial ("unix:PATH,..."). */
static bool fcl_spec_waits(const char *spec)
{
    g_autofree char *optstr = NULL;
    g_autoptr(GHashTable) opts = NULL;

    if (!spec || !g_str_has_prefix(spec, "unix:")) {
        return false;
    }
    optstr = g_strdup_printf("socket,path=%s", spec + 5);
    opts = qemu_opts_parse(optstr, "backend", NULL);
    return fcl_socket_waits(opts);
}

static bool fcl_is_vhost(const MachineOption *o)
{
    static const char *const models[] = {
        "vhost-user-blk", "vhost-user-device", "virtio-net-device", NULL,
    };
    g_autoptr(GHashTable) opts = NULL;

    if (!strcmp(o->option, "-netdev")) {
        return true;
    }
    if (strcmp(o->option, "-device")) {
        return false;
    }
    opts = qemu_opts_parse(o->value, "driver", NULL);
    return opts && qemu_opt_get(opts, "driver") &&
           g_strv_contains(models, qemu_opt_get(opts, "driver"));
}

/* Nothing in the build may wait: no server socket waiting for a peer, no
 * vhost-user device or netdev where a socket chardev exists (it would
 * wait for its backend, or for its reply). */
static bool fcl_build_safe(MachineState *ms)
{
    bool sockets = false, vhost = false;

    if (fcl_spec_waits(ms->serial_spec)) {
        return false;
    }
    for (guint i = 0; i < ms->options->len; i++) {
        const MachineOption *o = g_ptr_array_index(ms->options, i);

        if (!strcmp(o->option, "-chardev")) {
            g_autoptr(GHashTable) opts = qemu_opts_parse(o->value, "backend",
                                                         NULL);

            if (fcl_socket_waits(opts)) {
                return false;
            }
            sockets |= opts && !g_strcmp0(qemu_opt_get(opts, "backend"),
                                          "socket");
        } else if (!strcmp(o->option, "-qmp") && fcl_spec_waits(o->value)) {
            return false;
        }
        vhost |= fcl_is_vhost(o);
    }
    return !(sockets && vhost);
}

/* --- build ------------------------------------------------------------------------- */

/* A failed build names the option: "-device ...: ", "-m: ", ... */
static void fcl_check_build_error(const char *msg)
{
    static const char *const opts[] = {
        "-object", "-chardev", "-netdev", "-qmp", "-mon", "-device",
        "-serial", "-accel", "-machine", "-m", "-kernel", "-initrd",
        "-qtest",
    };

    for (size_t i = 0; i < G_N_ELEMENTS(opts); i++) {
        size_t n = strlen(opts[i]);

        if (!strncmp(msg, opts[i], n) && (msg[n] == ' ' || msg[n] == ':')) {
            return;
        }
    }
    g_error("fuzz-cmdline: the build error '%s' does not say which option "
            "failed", msg);
}

/* Under qtest, never started: its chardev is only a name. */
static bool fcl_build(MachineState *ms)
{
    Error *err = NULL;

    ms->accel = &qtest_accel_ops;
    if (!ms->qtest_chardev) {
        ms->qtest_chardev = g_strdup("unix:qtest.sock");
    }
    if (!machine_build(ms, &err)) {
        fcl_check_build_error(error_get_pretty(err));
        g_free(fcl_why);
        fcl_why = g_strdup(error_get_pretty(err));
        error_free(err);
        fcl_stats.build_errors++;
        return false;
    }
    fcl_stats.built++;
    fcl_stats.kernels_loaded += ms->kernel_path != NULL;
    return true;
}

/* --- one input --------------------------------------------------------------------- */

static bool fcl_run(GPtrArray *argv)
{
    Error *err = NULL;
    bool exit_now = false, built = false;
    MachineState *ms = fcl_parse(argv, &exit_now, &err);

    if (!ms) {
        g_free(fcl_why);
        fcl_why = err ? g_strdup(error_get_pretty(err)) : NULL;
        if (exit_now) {
            g_assert_null(err);
            fcl_stats.exits++;
            return false;
        }
        g_assert_nonnull(err);
        fcl_check_parse_error(argv, error_get_pretty(err));
        error_free(err);
        fcl_stats.parse_errors++;
        return false;
    }
    g_assert_null(err);
    fcl_stats.parsed++;
    if (fcl_build_safe(ms)) {
        built = fcl_build(ms);
    } else {
        g_free(fcl_why);
        fcl_why = g_strdup("not built: it would wait");
        fcl_stats.unsafe++;
    }
    machine_free(ms);
    return built;
}

bool fcl_fuzz_one(const uint8_t *data, size_t size)
{
    g_autoptr(GPtrArray) argv = fcl_argv(data, size);
    unsigned fds;
    guint mark;
    FuzzQuiet q;
    bool built;

    fuzz_warm_up("fuzz-cmdline");
    fuzz_workdir_enter();
    fcl_fixtures();
    /* Before the count: it opens /dev/null once, for the whole run. */
    fuzz_quiet_begin(&q);
    fds = fuzz_count_fds();
    mark = fuzz_source_mark();
    built = fcl_run(argv);
    fuzz_quiet_end(&q);
    qemu_log_set_categories("", NULL);
    fuzz_check_sources("fuzz-cmdline", mark);
    fuzz_check_fds("fuzz-cmdline", fds);
    fuzz_workdir_leave();
    return built;
}

#ifdef KVMINI_LIBFUZZER
FUZZ_LIBFUZZER_ENTRY(fcl_fuzz_one)
#endif
