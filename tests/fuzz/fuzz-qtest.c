/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target for the qtest protocol server (accel/qtest/qtest-server.c)
 * as kvmini runs it: a machine built in-process from a command line
 * under -accel qtest (kvmini_parse_args, machine_build: RAM, a pc-dimm
 * in the hotplug area, the serial port and the exit ports), the qtest
 * accelerator started on a unix socket in a private directory, and the
 * harness on the other end as a test program would be: it writes lines,
 * a thread of its own reads the replies (the server writes them with a
 * blocking write, as a real client reads them concurrently), and the main
 * loop runs in between.  A virtio-mmio device in slot 0 gives MMIO
 * registers to hit and raises its interrupt when kicked, so that
 * "IRQ raise/lower" lines interleave with the replies once interception
 * is on.
 *
 * Checks (fuzz-qtest-oracle.c): every line gets exactly one reply, "OK"
 * or "FAIL reason", in order; what each command's OK looks like (widths,
 * hex and base64 lengths, the clock only moving forward); a model of
 * guest RAM (only qtest writes it) that every read must match, all-ones
 * where nothing is mapped; interrupt lines only after interception, each
 * a change of level.  After the input: a partial line is ended, the
 * server must answer known-good commands, the machine is freed and no
 * fd or main-loop source is left behind.
 *
 * Two builds, as fuzz-virtio.c: with KVMINI_LIBFUZZER this file and the
 * oracle are a libFuzzer target; otherwise they are linked with
 * fuzz-qtest-seeds.c into a standalone campaign (see fuzz-common.h).
 */
#include "fuzz-qtest.h"
#include "fuzz-process.h"
#include "hw/mem/memory-device.h"
#include "hw/virtio/virtio-mmio.h"

#include <errno.h>
#include <sys/socket.h>
#include <sys/un.h>

#define FQ_REPLY_WAIT_US    (30 * G_USEC_PER_SEC)

FqStats fq_stats;

const char *const fq_names[] = {
    "readb", "readw", "readl", "readq", "writeb", "writew", "writel",
    "writeq", "inb", "inw", "inl", "outb", "outw", "outl", "read", "write",
    "b64read", "b64write", "memset", "irq_intercept_in",
    "irq_intercept_out", "clock_step", "clock_set", "endianness",
    /* what the server does not know */
    "READB", "readx", "irq_intercept", "", "outq", "clock",
};
const unsigned fq_n_names = G_N_ELEMENTS(fq_names);

/* --- the virtio-mmio device ----------------------------------------------- */

typedef struct FqEcho {
    VirtIODevice vdev;
    VirtIOMMIOProxy proxy;
    unsigned kicks;
} FqEcho;

/* A kick raises the queue's interrupt (it never writes guest RAM, so
 * the model of RAM holds). */
static void fq_echo_kick(VirtIODevice *vdev, VirtQueue *vq)
{
    container_of(vdev, FqEcho, vdev)->kicks++;
    virtqueue_notify(vq);
}

static uint64_t fq_echo_features(VirtIODevice *vdev)
{
    return (1ULL << VIRTIO_F_VERSION_1) | (1ULL << VIRTIO_RING_F_EVENT_IDX);
}

/* A config write is a config change: its interrupt too. */
static void fq_echo_set_config(VirtIODevice *vdev, uint32_t offset,
                               uint32_t size)
{
    virtio_notify_config(vdev);
}

static const VirtioDeviceClass fq_echo_class = {
    .name = "fuzz-echo",
    .device_id = VIRTIO_ID_RNG,
    .get_features = fq_echo_features,
    .set_config = fq_echo_set_config,
};

/* --- the machine and the socket ------------------------------------------- */

typedef struct FqRun {
    MachineState *ms;
    FqEcho echo;
    int fd;                     /* our end: kvmini's qtest chardev */
    /* The reader thread's: what kvmini wrote, until EOF. */
    GThread *reader;
    GMutex lock;
    GCond cond;
    GString *in;
    size_t complete;            /* in[0, complete) are whole lines */
    bool eof;
    /* What we sent: the line being written, the lines not answered. */
    GString *line;
    GQueue pending;             /* GString * */
    unsigned sent_lines;
    EventNotifier irqfd[FQ_IRQFDS];
    FqModel model;
} FqRun;

static const unsigned fq_irqfd_gsi[FQ_IRQFDS] = { 5, 9, 200 };

/* irqfds as a vhost device registers them (a GSI past the server's
 * lines is refused). */
static void fq_irqfds_add(FqRun *r)
{
    const AccelOps *a = r->ms->accel;
    Error *err = NULL;

    for (unsigned i = 0; i < FQ_IRQFDS; i++) {
        g_assert_true(event_notifier_init(&r->irqfd[i], false, &err));
        g_assert_true(a->irqfd_add(r->ms, &r->irqfd[i], fq_irqfd_gsi[i],
                                   &err));
    }
    g_assert_false(a->irqfd_add(r->ms, &r->irqfd[0], QTEST_MAX_GSI, &err));
    error_free(err);
}

static void fq_irqfds_del(FqRun *r)
{
    for (unsigned i = 0; i < FQ_IRQFDS; i++) {
        r->ms->accel->irqfd_del(r->ms, &r->irqfd[i], fq_irqfd_gsi[i]);
        event_notifier_cleanup(&r->irqfd[i]);
    }
}

static const char *const fq_argv[] = {
    "-accel", "qtest", "-qtest", "unix:qtest.sock", "-serial", "null",
    "-m", "1M,slots=2,maxmem=8M",
    "-object", "memory-backend-memfd,id=m1,size=1M",
    "-device", "pc-dimm,id=d1,memdev=m1",
};

static int fq_listen(void)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

    g_assert_cmpint(fd, >=, 0);
    g_strlcpy(sa.sun_path, "qtest.sock", sizeof(sa.sun_path));
    unlink(sa.sun_path);
    g_assert_cmpint(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), ==, 0);
    g_assert_cmpint(listen(fd, 1), ==, 0);
    return fd;
}

static gpointer fq_reader(gpointer opaque)
{
    FqRun *r = opaque;
    char buf[65536];
    ssize_t n;

    do {
        n = recv(r->fd, buf, sizeof(buf), 0);
        g_mutex_lock(&r->lock);
        if (n > 0) {
            /* Only the new bytes are searched: replies can be 32 MiB. */
            char *nl = memrchr(buf, '\n', n);

            g_string_append_len(r->in, buf, n);
            if (nl) {
                r->complete = r->in->len - n + (nl - buf) + 1;
            }
        } else if (n == 0 || errno != EINTR) {
            r->eof = true;
        }
        g_cond_signal(&r->cond);
        g_mutex_unlock(&r->lock);
    } while (n > 0 || (n < 0 && errno == EINTR));
    return NULL;
}

/* Build the machine, plug the device, start the accelerator on our
 * socket and take its connection. */
static void fq_run_init(FqRun *r)
{
    Error *err = NULL;
    int lfd = fq_listen();

    memset(r, 0, sizeof(*r));
    r->ms = fuzz_parse((char **)fq_argv, G_N_ELEMENTS(fq_argv), &err);
    g_assert_null(err);
    if (!machine_build(r->ms, &err)) {
        g_error("fuzz-qtest: %s", error_get_pretty(err));
    }
    virtio_init(&r->echo.vdev, &fq_echo_class, r->ms, "echo0", 2, 64, 8);
    for (unsigned i = 0; i < 2; i++) {
        r->echo.vdev.vq[i].handler = fq_echo_kick;
    }
    g_assert_true(virtio_mmio_plug(&r->echo.proxy, &r->echo.vdev, r->ms,
                                   &err));
    g_assert_true(r->ms->accel->start(r->ms, &err));
    fq_irqfds_add(r);
    r->fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
    g_assert_cmpint(r->fd, >=, 0);
    close(lfd);
    unlink("qtest.sock");
    g_mutex_init(&r->lock);
    g_cond_init(&r->cond);
    r->in = g_string_new(NULL);
    r->line = g_string_new(NULL);
    g_queue_init(&r->pending);
    fq_model_init(&r->model, r->ms->device_memory->base);
    r->reader = g_thread_new("fuzz-qtest-reader", fq_reader, r);
}

static void fq_free_line(gpointer p)
{
    g_string_free(p, TRUE);
}

/* Our side goes (the reader sees EOF), then the machine. */
static void fq_run_free(FqRun *r)
{
    shutdown(r->fd, SHUT_RDWR);
    g_thread_join(r->reader);
    fq_irqfds_del(r);
    virtio_mmio_unplug(&r->echo.proxy);
    virtio_cleanup(&r->echo.vdev);
    machine_free(r->ms);
    close(r->fd);
    g_queue_clear_full(&r->pending, fq_free_line);
    g_string_free(r->line, TRUE);
    g_string_free(r->in, TRUE);
    g_cond_clear(&r->cond);
    g_mutex_clear(&r->lock);
    fq_model_free(&r->model);
}

/* --- replies -------------------------------------------------------------- */

/* Check every complete line kvmini wrote so far; true if any. */
static bool fq_take_replies(FqRun *r)
{
    g_autoptr(GString) got = g_string_new(NULL);
    char *p, *nl;

    g_mutex_lock(&r->lock);
    if (r->complete) {
        g_string_append_len(got, r->in->str, r->complete);
        g_string_erase(r->in, 0, r->complete);
        r->complete = 0;
    }
    g_mutex_unlock(&r->lock);
    for (p = got->str; (nl = strchr(p, '\n')); p = nl + 1) {
        *nl = '\0';
        if (g_str_has_prefix(p, "IRQ ")) {
            fq_check_irq_line(&r->model, p, g_queue_peek_head(&r->pending));
            fq_stats.irq_lines++;
            continue;
        }
        if (g_queue_is_empty(&r->pending)) {
            g_error("fuzz-qtest: a reply to no line: '%.80s'", p);
        }
        GString *line = g_queue_pop_head(&r->pending);

        fq_check_reply(&r->model, line, p);
        g_string_free(line, TRUE);
    }
    return got->len > 0;
}

/* Run the main loop until every line sent has its reply. */
static void fq_sync(FqRun *r)
{
    gint64 end = g_get_monotonic_time() + FQ_REPLY_WAIT_US;

    while (!g_queue_is_empty(&r->pending)) {
        bool busy = g_main_context_iteration(NULL, FALSE);

        busy |= fq_take_replies(r);
        if (busy) {
            end = g_get_monotonic_time() + FQ_REPLY_WAIT_US;
            continue;
        }
        g_mutex_lock(&r->lock);
        if (r->eof) {
            g_error("fuzz-qtest: kvmini closed the connection with %u "
                    "line(s) unanswered", g_queue_get_length(&r->pending));
        }
        /* Unless a line came in since we looked. */
        if (!r->complete) {
            g_cond_wait_until(&r->cond, &r->lock,
                              g_get_monotonic_time() + 1000);
        }
        g_mutex_unlock(&r->lock);
        if (g_get_monotonic_time() > end) {
            g_error("fuzz-qtest: no reply to '%.80s' (%u line(s) waiting)",
                    ((GString *)g_queue_peek_head(&r->pending))->str,
                    g_queue_get_length(&r->pending));
        }
    }
}

/* --- sending -------------------------------------------------------------- */

/* What the server will take as lines: each "\n" ends one. */
static void fq_note_sent(FqRun *r, const char *buf, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (buf[i] != '\n') {
            g_string_append_c(r->line, buf[i]);
            continue;
        }
        g_queue_push_tail(&r->pending, r->line);
        r->line = g_string_new(NULL);
        r->sent_lines++;
        fq_stats.lines++;
    }
}

/* Write everything; while the socket is full, kvmini's main loop runs
 * (it reads, answers, and the reader thread takes the answers). */
static void fq_send(FqRun *r, const char *buf, size_t len)
{
    fq_note_sent(r, buf, len);
    while (len) {
        ssize_t n = send(r->fd, buf, len, MSG_DONTWAIT | MSG_NOSIGNAL);

        if (n > 0) {
            buf += n;
            len -= n;
            continue;
        }
        g_assert(n < 0 && (errno == EAGAIN || errno == EINTR));
        if (!g_main_context_iteration(NULL, FALSE)) {
            g_usleep(100);
        }
        fq_take_replies(r);
    }
}

static void fq_send_str(FqRun *r, const char *s)
{
    fq_send(r, s, strlen(s));
}

/* --- arguments ------------------------------------------------------------ */

static void fq_put_number(GString *s, uint64_t v, uint8_t fmt)
{
    switch (fmt % 6) {
    case 0:
        g_string_append_printf(s, "0x%" PRIx64, v);
        break;
    case 1:
        g_string_append_printf(s, "0X%" PRIX64, v);
        break;
    case 2:
        g_string_append_printf(s, "%" PRIu64, v);
        break;
    case 3:
        g_string_append_printf(s, "0%" PRIo64, v);
        break;
    case 4:
        g_string_append_printf(s, "0x%020" PRIx64, v);
        break;
    default:                    /* a step next to it */
        g_string_append_printf(s, "0x%" PRIx64, v + (int8_t)fmt / 8);
        break;
    }
}

static uint64_t fq_addr(FqRun *r, uint8_t i)
{
    const uint64_t dimm = r->model.dimm, mmio = VIRTIO_MMIO_BASE;
    const uint64_t table[] = {
        0, 8, 0x1000, FQ_RAM_SIZE - 1, FQ_RAM_SIZE - 8, FQ_RAM_SIZE,
        dimm, dimm + FQ_DIMM_SIZE - 8, dimm + FQ_DIMM_SIZE, dimm - 4,
        mmio, mmio + VIRTIO_MMIO_STATUS, mmio + VIRTIO_MMIO_QUEUE_NOTIFY,
        mmio + VIRTIO_MMIO_QUEUE_SEL, mmio + VIRTIO_MMIO_QUEUE_NUM,
        mmio + VIRTIO_MMIO_QUEUE_READY, mmio + VIRTIO_MMIO_CONFIG,
        mmio + VIRTIO_MMIO_INTERRUPT_ACK, mmio + 0x1fc, mmio + 0x200,
        0xfee00000, 0xffffffff, 1ULL << 32, UINT64_MAX, UINT64_MAX - 7,
        UINT64_MAX - QTEST_MAX_XFER + 1,
    };

    return table[i % G_N_ELEMENTS(table)];
}

static uint64_t fq_port(uint8_t i)
{
    static const uint64_t ports[] = {
        0x3f8, 0x3f9, 0x3fa, 0x3fb, 0x3fc, 0x3fd, 0x3fe, 0x3ff,
        MACHINE_DEBUG_EXIT_PORT, MACHINE_I8042_PORT, 0x60, 0, 0xfffc,
        0xfffe, 0xffff, 0x10000,
    };

    return ports[i % G_N_ELEMENTS(ports)];
}

static uint64_t fq_size(uint8_t i)
{
    static const uint64_t small[] = {
        0, 1, 2, 3, 4, 7, 8, 16, 17, 64, 256, 4096, 4097, 65536,
    };
    /* A whole QTEST_MAX_XFER moves 16 MiB (32 MiB of hex back): not
     * for libFuzzer either. */
    static const uint64_t big[] = {
#ifdef KVMINI_LIBFUZZER
        QTEST_MAX_XFER - 4096,
#else
        QTEST_MAX_XFER,
#endif
        QTEST_MAX_XFER + 1, 1ULL << 32, UINT64_MAX,
    };

    if (i >= FQ_SIZE_BIG_FROM) {
        return big[i % G_N_ELEMENTS(big)];
    }
    return small[i % G_N_ELEMENTS(small)];
}

static void fq_put_data(GString *s, FuzzInput *in, bool b64, uint8_t fmt)
{
    const uint8_t *p;
    size_t n;

    p = fuzz_in_bytes(in, fuzz_in_u8(in), &n);
    if (b64) {
        g_autofree char *enc = g_base64_encode(p, n);

        g_string_append(s, enc);
        if (fmt & 1) {          /* padding cut or added */
            g_string_append_c(s, '=');
        }
        return;
    }
    g_string_append(s, fmt & 2 ? "0X" : "0x");
    for (size_t i = 0; i < n; i++) {
        g_string_append_printf(s, fmt & 4 ? "%02X" : "%02x", p[i]);
    }
    if ((fmt & 1) && s->len) {  /* an odd number of digits */
        g_string_truncate(s, s->len - 1);
    }
}

static void fq_put_arg(FqRun *r, GString *s, FuzzInput *in)
{
    static const char *const odd[] = {
        "-1", "+5", "0x", "0b101", "1e3", "18446744073709551616",
        "0x1ffffffffffffffff", "08", "0x10 ", "1,2", "0x-1", "\t", "\r",
        "\x01", "\xff", "ab", "0x1g",
    };
    uint8_t kind = fuzz_in_u8(in) % FQ_ARG_COUNT, i;
    const uint8_t *p;
    size_t n;

    switch (kind) {
    case FQ_ARG_ADDR:
        i = fuzz_in_u8(in);
        fq_put_number(s, fq_addr(r, i), fuzz_in_u8(in));
        break;
    case FQ_ARG_PORT:
        i = fuzz_in_u8(in);
        fq_put_number(s, fq_port(i), fuzz_in_u8(in));
        break;
    case FQ_ARG_VALUE: {
        uint64_t v = fuzz_in_le(in, 8);

        fq_put_number(s, v, fuzz_in_u8(in));
        break;
    }
    case FQ_ARG_SIZE:
        i = fuzz_in_u8(in);
        fq_put_number(s, fq_size(i), fuzz_in_u8(in));
        break;
    case FQ_ARG_HEX:
    case FQ_ARG_B64: {
        FuzzInput data = *in;

        /* The format byte comes after the data. */
        fuzz_in_bytes(in, fuzz_in_u8(in), &n);
        fq_put_data(s, &data, kind == FQ_ARG_B64, fuzz_in_u8(in));
        break;
    }
    case FQ_ARG_RAW:
        p = fuzz_in_bytes(in, fuzz_in_u8(in), &n);
        g_string_append_len(s, (const char *)p, n);
        break;
    default:
        g_string_append(s, odd[fuzz_in_u8(in) % G_N_ELEMENTS(odd)]);
        break;
    }
}

/* --- operations ----------------------------------------------------------- */

/* A command line: name, arguments, separators, end. */
static void op_cmd(FqRun *r, FuzzInput *in)
{
    g_autoptr(GString) s = g_string_new(fq_names[fuzz_in_u8(in) %
                                                 fq_n_names]);
    uint8_t argc = fuzz_in_u8(in) % 6, sep = fuzz_in_u8(in);

    for (unsigned i = 0; i < argc; i++) {
        g_string_append(s, sep & 1 ? "\t" : sep & 2 ? "  " : " ");
        fq_put_arg(r, s, in);
    }
    switch (fuzz_in_u8(in) % FQ_END_COUNT) {
    case FQ_END_LF:
        g_string_append_c(s, '\n');
        break;
    case FQ_END_CRLF:
        g_string_append(s, "\r\n");
        break;
    case FQ_END_SPACES:
        g_string_append(s, " \t \n");
        break;
    default:
        fq_stats.partial_ends++;
        break;
    }
    fq_send(r, s->str, s->len);
}

static void op_raw(FqRun *r, FuzzInput *in)
{
    size_t n;
    const uint8_t *p = fuzz_in_bytes(in, fuzz_in_u8(in), &n);

    fq_send(r, (const char *)p, n);
}

/* A long line: (code + 1) * 256 bytes, or with code 255 one byte past
 * what the server takes (it must drop it with one FAIL); not for
 * libFuzzer, which would spend its time on 32 MiB lines. */
static void op_long(FqRun *r, FuzzInput *in)
{
    uint8_t code = fuzz_in_u8(in);
#ifdef KVMINI_LIBFUZZER
    size_t len = (code + 1u) * 256;
#else
    size_t len = code == 255 ? QTEST_MAX_LINE + 1 : (code + 1u) * 256;
#endif
    g_autofree char *buf = g_malloc(65536);

    memset(buf, 'a', 65536);
    for (size_t done = 0; done < len; done += MIN(len - done, 65536)) {
        fq_send(r, buf, MIN(len - done, 65536));
    }
    fq_send_str(r, "\n");
    fq_stats.long_lines++;
}

static void fq_op(FqRun *r, FuzzInput *in)
{
    switch (fuzz_in_u8(in) % FQ_OP_COUNT) {
    case FQ_OP_CMD:
        op_cmd(r, in);
        break;
    case FQ_OP_RAW:
        op_raw(r, in);
        break;
    case FQ_OP_LONG:
        op_long(r, in);
        break;
    case FQ_OP_IRQFD:
        event_notifier_set(&r->irqfd[fuzz_in_u8(in) % FQ_IRQFDS]);
        break;
    default:
        fq_sync(r);
        break;
    }
}

/* --- after the input: the server still works ------------------------------ */

static void fq_final_check(FqRun *r)
{
    g_autofree char *probe = g_strdup_printf(
        "\n"                    /* ends whatever line was left open */
        "endianness\n"
        "write 0x1000 4 0x01020304\n"
        "readl 0x1000\n"
        "b64write 0x%" PRIx64 " 3 YWJj\n"
        "read 0x%" PRIx64 " 3\n"
        "b64read 0x1000 4\n"
        "clock_step 10\n", r->model.dimm, r->model.dimm);
    unsigned lines = r->sent_lines, oks = r->model.oks;

    fq_send_str(r, probe);
    fq_sync(r);
    g_assert_cmpuint(r->sent_lines, ==, lines + 8);
    /* The first line of the probe ends whatever the input left open:
     * that one may fail; the known-good ones may not. */
    if (r->model.oks - oks < 7) {
        g_error("fuzz-qtest: the server refused a known-good command "
                "after the input");
    }
}

bool fq_fuzz_one(const uint8_t *data, size_t size)
{
    FuzzInput in = { .data = data, .size = size };
    unsigned fds, ops = 0;
    guint mark;
    bool all_ok;
    FqRun r;

    fuzz_warm_up("fuzz-qtest");
    fuzz_workdir_enter();
    fds = fuzz_count_fds();
    mark = fuzz_source_mark();
    fq_run_init(&r);
    r.model.all_ok = true;
    while (fuzz_in_left(&in) && ops++ < FQ_MAX_OPS) {
        fq_op(&r, &in);
    }
    fq_sync(&r);
    all_ok = r.model.all_ok;
    fq_final_check(&r);
    fq_run_free(&r);
    fuzz_check_sources("fuzz-qtest", mark);
    fuzz_check_fds("fuzz-qtest", fds);
    fuzz_workdir_empty();
    fuzz_workdir_leave();
    return all_ok;
}

#ifdef KVMINI_LIBFUZZER
FUZZ_LIBFUZZER_ENTRY(fq_fuzz_one)
#endif
