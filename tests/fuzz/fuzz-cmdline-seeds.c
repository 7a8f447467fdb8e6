/* SPDX-License-Identifier: MIT */
/*
 * The standalone campaign of fuzz-cmdline (the harness is in
 * fuzz-cmdline.c): its seeds, command lines users write (those of the
 * user guide and the tests: a guest with a kernel and an initrd, memory
 * hotplug with backends and pc-dimms, monitors on sockets and chardevs,
 * a dumped device tree, migration and process options), each of which
 * parses and builds, and main() (see fuzz-common.h for the environment
 * and arguments).
 */
#include "fuzz-cmdline.h"

/* An option with its value: the template of fcl_options that is value. */
static void opt(GByteArray *b, const char *name, const char *value)
{
    for (unsigned i = 0; i < fcl_n_options; i++) {
        const FclOption *o = &fcl_options[i];
        uint8_t c = i;

        if (strcmp(o->name, name)) {
            continue;
        }
        g_byte_array_append(b, &c, 1);
        for (unsigned t = 0; value && t < FCL_TEMPLATES && o->values[t];
             t++) {
            if (!strcmp(o->values[t], value)) {
                uint8_t arg[2] = { FCL_ARG_TEMPLATE, t };

                g_byte_array_append(b, arg, 2);
                return;
            }
        }
        g_assert_null(value);
        return;
    }
    g_assert_not_reached();
}

static GByteArray *seed_guest(void)
{
    GByteArray *b = g_byte_array_new();

    opt(b, "-m", "16M");
    opt(b, "-smp", "2");
    opt(b, "-kernel", "pvh.elf");
    opt(b, "-initrd", "initrd");
    opt(b, "-append", "console=ttyS0");
    opt(b, "-machine", "microvm,accel=qtest,pit=off");
    opt(b, "-name", "guest=vm,process=p,debug-threads=on");
    opt(b, "-d", "guest_errors,unimp");
    opt(b, "-nographic", NULL);
    opt(b, "-display", "none");
    return b;
}

static GByteArray *seed_hotplug(void)
{
    GByteArray *b = g_byte_array_new();

    opt(b, "-m", "16M,slots=2,maxmem=64M");
    opt(b, "-object", "memory-backend-memfd,id=m0,size=1M");
    opt(b, "-object", "memory-backend-file,id=m1,size=1M,mem-path=ram,"
                      "share=on");
    opt(b, "-device", "pc-dimm,id=d0,memdev=m0");
    opt(b, "-kernel", "bz");
    opt(b, "-S", NULL);
    return b;
}

static GByteArray *seed_monitors(void)
{
    GByteArray *b = g_byte_array_new();

    opt(b, "-chardev", "null,id=n1");
    opt(b, "-chardev", "socket,id=c1,path=vu.sock,server=on,wait=off");
    opt(b, "-chardev", "file,id=f0,path=out.txt");
    opt(b, "-mon", "chardev=n1,mode=control");
    opt(b, "-qmp", "unix:qmp.sock,server=on,wait=off");
    opt(b, "-serial", "chardev:f0");
    opt(b, "-accel", "qtest");
    opt(b, "-qtest", "unix:qtest.sock");
    return b;
}

static GByteArray *seed_machine(void)
{
    GByteArray *b = g_byte_array_new();

    opt(b, "-object", "memory-backend-memfd,id=m0,size=2M");
    opt(b, "-machine", "microvm,memory-backend=m0");
    opt(b, "-M", "microvm");
    opt(b, "-machine", "microvm,dumpdtb=dtb.out");
    opt(b, "-incoming", "defer");
    opt(b, "-pidfile", "pid");
    opt(b, "-no-reboot", NULL);
    opt(b, "-nodefaults", NULL);
    return b;
}

static GByteArray *seed_backend(void)
{
    GByteArray *b = g_byte_array_new();

    opt(b, "-chardev", "socket,id=c2,path=vu2.sock,reconnect=1");
    opt(b, "-serial", "file:serial.txt");
    opt(b, "-qmp", "null");
    opt(b, "-m", "size=2M");
    opt(b, "-enable-kvm", NULL);
    return b;
}

static GPtrArray *fcl_make_seeds(void)
{
    GPtrArray *seeds = g_ptr_array_new_with_free_func(
        (GDestroyNotify)g_byte_array_unref);

    g_ptr_array_add(seeds, seed_guest());
    g_ptr_array_add(seeds, seed_hotplug());
    g_ptr_array_add(seeds, seed_monitors());
    g_ptr_array_add(seeds, seed_machine());
    g_ptr_array_add(seeds, seed_backend());
    return seeds;
}

static void fcl_summary(GString *out)
{
    g_string_append_printf(out, "; %u options; %u parsed (%u built, %u "
                           "build errors, %u not built: would wait, %u "
                           "kernels loaded), %u parse errors, %u -help/"
                           "-version", fcl_stats.options, fcl_stats.parsed,
                           fcl_stats.built, fcl_stats.build_errors,
                           fcl_stats.unsafe, fcl_stats.kernels_loaded,
                           fcl_stats.parse_errors, fcl_stats.exits);
}

int main(int argc, char **argv)
{
    static const FuzzTarget target = {
        .name = "fuzz-cmdline",
        .iterations = 20000,
        .max_input = FCL_MAX_INPUT,
        .make_seeds = fcl_make_seeds,
        .run = fcl_fuzz_one,
        .summary = fcl_summary,
        .last_error = fcl_last_error,
    };

    return fuzz_main(&target, argc, argv);
}
