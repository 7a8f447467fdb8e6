/* SPDX-License-Identifier: MIT */
/*
 * The standalone campaign of fuzz-qtest (the harness is in fuzz-qtest.c,
 * the checks in fuzz-qtest-oracle.c): its seeds, test programs written
 * as operations — every command on RAM, the hot-plugged DIMM, MMIO and
 * ports, in every number format, lines ending in \r\n or cut in two;
 * a driver setting up the virtio-mmio device with interrupts
 * intercepted, irqfds signalled; the serial port's transmit interrupt — and main() (see
 * fuzz-common.h for the environment and arguments).  Every line of a
 * seed gets OK; the mutations make the rest.
 */
#include "fuzz-qtest.h"
#include "hw/virtio/virtio-mmio.h"

/* --- writing operations -------------------------------------------------- */

static void put(GByteArray *b, uint64_t v, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        uint8_t c = v >> (8 * i);

        g_byte_array_append(b, &c, 1);
    }
}

static unsigned name_index(const char *name)
{
    for (unsigned i = 0; i < fq_n_names; i++) {
        if (!strcmp(fq_names[i], name)) {
            return i;
        }
    }
    g_assert_not_reached();
}

/* The head of FQ_OP_CMD; the arguments follow, then end(). */
static void cmd(GByteArray *b, const char *name, unsigned argc, uint8_t sep)
{
    put(b, FQ_OP_CMD, 1);
    put(b, name_index(name), 1);
    put(b, argc, 1);
    put(b, sep, 1);
}

static void end(GByteArray *b, uint8_t how)
{
    put(b, how, 1);
}

/* Index i of the harness's address table (fq_addr), format fmt. */
static void a_addr(GByteArray *b, uint8_t i, uint8_t fmt)
{
    put(b, FQ_ARG_ADDR, 1);
    put(b, i, 1);
    put(b, fmt, 1);
}

static void a_port(GByteArray *b, uint8_t i, uint8_t fmt)
{
    put(b, FQ_ARG_PORT, 1);
    put(b, i, 1);
    put(b, fmt, 1);
}

static void a_value(GByteArray *b, uint64_t v, uint8_t fmt)
{
    put(b, FQ_ARG_VALUE, 1);
    put(b, v, 8);
    put(b, fmt, 1);
}

static void a_size(GByteArray *b, uint8_t i)
{
    put(b, FQ_ARG_SIZE, 1);
    put(b, i, 1);
    put(b, 0, 1);
}

static void a_data(GByteArray *b, bool b64, const char *s, uint8_t fmt)
{
    put(b, b64 ? FQ_ARG_B64 : FQ_ARG_HEX, 1);
    put(b, strlen(s), 1);
    g_byte_array_append(b, (const uint8_t *)s, strlen(s));
    put(b, fmt, 1);
}

static void a_raw(GByteArray *b, const char *s)
{
    put(b, FQ_ARG_RAW, 1);
    put(b, strlen(s), 1);
    g_byte_array_append(b, (const uint8_t *)s, strlen(s));
}

static void raw(GByteArray *b, const char *s)
{
    put(b, FQ_OP_RAW, 1);
    put(b, strlen(s), 1);
    g_byte_array_append(b, (const uint8_t *)s, strlen(s));
}

/* Indices into fq_addr's table and fq_size's. */
enum {
    AD_0, AD_8, AD_1000, AD_RAM_LAST, AD_RAM_Q, AD_RAM_END, AD_DIMM,
    AD_DIMM_Q, AD_DIMM_END, AD_DIMM_BELOW, AD_MMIO, AD_STATUS, AD_NOTIFY,
    AD_SEL, AD_NUM, AD_READY, AD_CONFIG, AD_ACK, AD_MMIO_LAST, AD_SLOT1,
    AD_APIC, AD_4G_1, AD_4G,
};
enum { SZ_0, SZ_1, SZ_2, SZ_3, SZ_4, SZ_7, SZ_8, SZ_16, SZ_17, SZ_64 };

static void write_n(GByteArray *b, const char *name, uint8_t addr,
                    uint64_t v, uint8_t fmt)
{
    cmd(b, name, 2, 0);
    a_addr(b, addr, fmt);
    a_value(b, v, fmt);
    end(b, FQ_END_LF);
}

static void read_n(GByteArray *b, const char *name, uint8_t addr,
                   uint8_t fmt)
{
    cmd(b, name, 1, 0);
    a_addr(b, addr, fmt);
    end(b, FQ_END_LF);
}

/* --- seeds ---------------------------------------------------------------- */

/* Every access to RAM and the DIMM, in every number format. */
static GByteArray *seed_memory(void)
{
    static const char *const widths[] = { "b", "w", "l", "q" };
    static const uint64_t values[] = {
        0x88, 0x7788, 0x55667788, 0x1122334455667788ULL,
    };
    GByteArray *b = g_byte_array_new();

    for (unsigned w = 0; w < 4; w++) {
        g_autofree char *wr = g_strconcat("write", widths[w], NULL);
        g_autofree char *rd = g_strconcat("read", widths[w], NULL);

        write_n(b, wr, AD_1000, values[w], w);
        read_n(b, rd, AD_1000, w + 1);
        write_n(b, wr, AD_DIMM_Q, 0xa5, 2);
        read_n(b, rd, AD_DIMM_Q, 3);
        read_n(b, rd, AD_RAM_Q, 4);
    }
    cmd(b, "write", 3, 1);
    a_addr(b, AD_RAM_LAST, 0);
    a_size(b, SZ_1);
    a_data(b, false, "\x7f", 0);
    end(b, FQ_END_CRLF);
    cmd(b, "b64write", 3, 2);
    a_addr(b, AD_DIMM, 0);
    a_size(b, SZ_17);
    a_data(b, true, "hello, dimm", 0);
    end(b, FQ_END_SPACES);
    cmd(b, "memset", 3, 0);
    a_addr(b, AD_8, 2);
    a_size(b, SZ_64);
    a_value(b, 0x5a, 0);
    end(b, FQ_END_LF);
    cmd(b, "read", 2, 0);
    a_addr(b, AD_0, 0);
    a_size(b, SZ_64);
    end(b, FQ_END_LF);
    cmd(b, "b64read", 2, 0);
    a_addr(b, AD_DIMM, 0);
    a_size(b, SZ_16);
    end(b, FQ_END_LF);
    return b;
}

/* Reads and writes where nothing is mapped (all-ones, dropped). */
static GByteArray *seed_unassigned(void)
{
    GByteArray *b = g_byte_array_new();

    read_n(b, "readq", AD_RAM_END, 0);
    read_n(b, "readl", AD_DIMM_BELOW, 0);
    read_n(b, "readw", AD_SLOT1, 1);
    read_n(b, "readq", AD_4G, 2);
    write_n(b, "writel", AD_APIC, 0xdeadbeef, 0);
    read_n(b, "readl", AD_APIC, 0);
    cmd(b, "read", 2, 0);
    a_addr(b, AD_DIMM_END, 0);
    a_size(b, SZ_8);
    end(b, FQ_END_LF);
    cmd(b, "inl", 1, 0);
    a_port(b, 12, 0);               /* 0xfffc */
    end(b, FQ_END_LF);
    cmd(b, "outw", 2, 0);
    a_port(b, 10, 0);               /* 0x60 */
    a_value(b, 0x1234, 0);
    end(b, FQ_END_LF);
    return b;
}

/* A driver programs the virtio-mmio device with interrupts intercepted:
 * a kick raises GSI 5, the acknowledgement lowers it. */
static GByteArray *seed_virtio(void)
{
    static const struct { uint8_t addr; uint64_t v; } regs[] = {
        { AD_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE },
        { AD_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER },
        { AD_SEL, 0 }, { AD_NUM, 16 }, { AD_READY, 1 },
        { AD_STATUS, 0xf }, { AD_NOTIFY, 0 }, { AD_ACK, 1 },
        { AD_CONFIG, 0x42 }, { AD_ACK, 2 }, { AD_STATUS, 0 },
    };
    GByteArray *b = g_byte_array_new();

    cmd(b, "irq_intercept_in", 1, 0);
    a_raw(b, "ioapic");
    end(b, FQ_END_LF);
    read_n(b, "readl", AD_MMIO, 0);
    read_n(b, "readl", AD_MMIO_LAST, 0);
    for (size_t i = 0; i < G_N_ELEMENTS(regs); i++) {
        write_n(b, "writel", regs[i].addr, regs[i].v, i);
        read_n(b, "readl", AD_STATUS, 0);
    }
    for (uint8_t i = 0; i < FQ_IRQFDS; i++) {
        put(b, FQ_OP_IRQFD, 1);     /* a pulse on GSI 5, 9, 200 */
        put(b, i, 1);
        put(b, FQ_OP_SYNC, 1);
    }
    return b;
}

/* The serial port's THR-empty interrupt, intercepted; the exit port
 * asks for a shutdown (the server keeps answering). */
static GByteArray *seed_serial(void)
{
    GByteArray *b = g_byte_array_new();

    cmd(b, "irq_intercept_out", 1, 0);
    a_raw(b, "x");
    end(b, FQ_END_LF);
    cmd(b, "outb", 2, 0);
    a_port(b, 1, 0);                /* IER */
    a_value(b, 2, 0);
    end(b, FQ_END_LF);
    cmd(b, "inb", 1, 0);
    a_port(b, 2, 2);                /* IIR */
    end(b, FQ_END_LF);
    cmd(b, "outb", 2, 0);
    a_port(b, 0, 3);                /* THR */
    a_value(b, 'k', 0);
    end(b, FQ_END_CRLF);
    cmd(b, "inw", 1, 0);
    a_port(b, 4, 0);
    end(b, FQ_END_LF);
    cmd(b, "outl", 2, 0);
    a_port(b, 8, 0);                /* the exit port */
    a_value(b, 0, 0);
    end(b, FQ_END_LF);
    return b;
}

/* A line already high when interception starts: announced before the
 * OK of irq_intercept_in. */
static GByteArray *seed_high_first(void)
{
    GByteArray *b = g_byte_array_new();

    cmd(b, "outb", 2, 0);
    a_port(b, 1, 0);                /* IER: THR empty interrupt */
    a_value(b, 2, 0);
    end(b, FQ_END_LF);
    cmd(b, "irq_intercept_in", 1, 0);
    a_raw(b, "ioapic");
    end(b, FQ_END_LF);
    cmd(b, "inb", 1, 0);
    a_port(b, 2, 0);                /* IIR: the interrupt goes */
    end(b, FQ_END_LF);
    return b;
}

/* The clock, endianness, a line cut in two, one of 64 KiB. */
static GByteArray *seed_misc(void)
{
    GByteArray *b = g_byte_array_new();

    cmd(b, "clock_step", 0, 0);
    end(b, FQ_END_LF);
    cmd(b, "clock_step", 1, 0);
    a_value(b, 1000, 2);
    end(b, FQ_END_LF);
    cmd(b, "clock_set", 1, 0);
    a_value(b, 500, 2);
    end(b, FQ_END_LF);
    cmd(b, "clock_set", 1, 0);
    a_value(b, 1ULL << 40, 0);
    end(b, FQ_END_LF);
    cmd(b, "endianness", 0, 0);
    end(b, FQ_END_NONE);
    raw(b, "\r\nreadb 0x10");
    raw(b, "00\n");
    put(b, FQ_OP_SYNC, 1);
    cmd(b, "endianness", 0, 0);
    end(b, FQ_END_LF);
    return b;
}

static GPtrArray *fq_make_seeds(void)
{
    GPtrArray *seeds = g_ptr_array_new_with_free_func(
        (GDestroyNotify)g_byte_array_unref);

    g_ptr_array_add(seeds, seed_memory());
    g_ptr_array_add(seeds, seed_unassigned());
    g_ptr_array_add(seeds, seed_virtio());
    g_ptr_array_add(seeds, seed_serial());
    g_ptr_array_add(seeds, seed_high_first());
    g_ptr_array_add(seeds, seed_misc());
    return seeds;
}

/* --- main ----------------------------------------------------------------- */

static void fq_summary(GString *out)
{
    g_string_append_printf(out, "; %u lines (%u OK, %u FAIL), %u IRQ "
                           "lines, %u long lines, %u lines left open, "
                           "%u RAM bytes checked", fq_stats.lines,
                           fq_stats.ok, fq_stats.fail, fq_stats.irq_lines,
                           fq_stats.long_lines, fq_stats.partial_ends,
                           fq_stats.ram_bytes_checked);
}

int main(int argc, char **argv)
{
    static const FuzzTarget target = {
        .name = "fuzz-qtest",
        .iterations = 3000,
        .max_input = FQ_MAX_INPUT,
        .make_seeds = fq_make_seeds,
        .run = fq_fuzz_one,
        .summary = fq_summary,
    };

    return fuzz_main(&target, argc, argv);
}
