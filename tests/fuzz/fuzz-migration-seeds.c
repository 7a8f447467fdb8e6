/* SPDX-License-Identifier: MIT */
/*
 * The standalone campaign of fuzz-migration (the harness is in
 * fuzz-migration.c): its seeds, made by the product's own encoders on a
 * source machine of the destination's layout (savevm_config_build, the
 * device's save hook after a driver set it up and queued control commands
 * it did not kick yet), RAM sections with data and zero pages in both
 * blocks (one longer than the channel's 1 MiB buffer), blobs of each
 * type; mutations that know the stream's sections and RAM entries; and
 * main() (see fuzz-common.h for the environment and arguments).
 */
#include "fuzz-migration.h"
#include "qemu/log.h"

#include <string.h>
#include <unistd.h>

/* Where the seeds' driver puts the net device's queues and commands. */
#define MF_CTRL_DESC    0x10000
#define MF_CTRL_AVAIL   0x11000
#define MF_CTRL_USED    0x12000
#define MF_CMD_BUF      0x13000
#define MF_DATA_RINGS   0x20000     /* data queue i at + i * 0x4000 */
#define MF_BIG_GPA      0x80000     /* the long seed's 300 pages */
#define MF_BIG_PAGES    300

/* --- seeds: a source machine ---------------------------------------------------------- */

static const FuzzQueue mf_ctrl = {
    FUZZ_NET_CTRL_QSIZE, MF_CTRL_DESC, MF_CTRL_AVAIL, MF_CTRL_USED,
};

/* The driver negotiates everything, sets up all queues, changes the MAC
 * (kicked and answered), then queues four commands without a kick: the
 * destination answers them once it runs (the announce acknowledgement
 * after its post_load asked the guest to announce). */
static void mf_drive_source(MigVM *src)
{
    static const uint8_t mac[6] = { 0x02, 0x11, 0x22, 0x33, 0x44, 0x55 };
    static const uint8_t tables[] = {
        1, 0, 0, 0, 0x02, 0, 0, 0, 0, 1,
        2, 0, 0, 0, 0x01, 0, 0x5e, 0, 0, 1, 0x33, 0x33, 0, 0, 0, 1,
    };
    MachineState *ms = src->ms;
    hwaddr base = src->net.s.parent.proxy.slot->base;
    FuzzQueue q[FUZZ_NET_NVQS] = { 0 };
    uint16_t pairs = htole16(2);
    uint8_t on = 1;
    hwaddr ack;

    for (unsigned i = 0; i < FUZZ_NET_CTRL; i++) {
        hwaddr r = MF_DATA_RINGS + i * 0x4000;
        q[i] = (FuzzQueue){ FUZZ_NET_QSIZE, r, r + 0x1000, r + 0x2000 };
    }
    q[FUZZ_NET_CTRL] = mf_ctrl;
    g_assert_cmphex(fuzz_drv_init(ms, base, FUZZ_NET_FEATURES, q,
                                  FUZZ_NET_NVQS) &
                    VIRTIO_CONFIG_S_NEEDS_RESET, ==, 0);
    ack = fuzz_net_ctrl_cmd(ms, &mf_ctrl, 0, MF_CMD_BUF, VIRTIO_NET_CTRL_MAC,
                            VIRTIO_NET_CTRL_MAC_ADDR_SET, mac, sizeof(mac));
    fuzz_wr(ms, base + VIRTIO_MMIO_QUEUE_NOTIFY, FUZZ_NET_CTRL, 4);
    g_assert_cmpuint(fuzz_rd(ms, ack, 1), ==, VIRTIO_NET_OK);
    fuzz_net_ctrl_cmd(ms, &mf_ctrl, 3, MF_CMD_BUF + 0x100, VIRTIO_NET_CTRL_MQ,
                      VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET, &pairs, sizeof(pairs));
    fuzz_net_ctrl_cmd(ms, &mf_ctrl, 6, MF_CMD_BUF + 0x200, VIRTIO_NET_CTRL_RX,
                      VIRTIO_NET_CTRL_RX_PROMISC, &on, 1);
    fuzz_net_ctrl_cmd(ms, &mf_ctrl, 9, MF_CMD_BUF + 0x300, VIRTIO_NET_CTRL_MAC,
                      VIRTIO_NET_CTRL_MAC_TABLE_SET, tables, sizeof(tables));
    fuzz_net_ctrl_cmd(ms, &mf_ctrl, 12, MF_CMD_BUF + 0x400,
                      VIRTIO_NET_CTRL_ANNOUNCE, VIRTIO_NET_CTRL_ANNOUNCE_ACK,
                      NULL, 0);
}

static void mf_put_page(GByteArray *b, uint64_t gpa, const uint8_t *page)
{
    mig_put_be64(b, gpa | (page ? MIG_RAM_PAGE : MIG_RAM_ZERO));
    if (page) {
        mig_put_bytes(b, page, MF_PAGE);
    }
}

/* A first pass: every page of the source's memfd that holds data, zero
 * markers for a few holes, data and zero pages in the high block; with
 * big, MF_BIG_PAGES consecutive data pages too (over 1 MiB of stream). */
static GByteArray *mf_ram_first(MigVM *src, bool big)
{
    GByteArray *b = g_byte_array_new();
    uint8_t page[MIG_PAGE_SIZE];
    off_t off = 0, hole;

    while ((off = lseek(src->low_fd, off, SEEK_DATA)) >= 0) {
        hole = lseek(src->low_fd, off, SEEK_HOLE);
        for (; off < hole; off += MF_PAGE) {
            mf_put_page(b, off, src->low + off);
        }
    }
    for (uint64_t p = 0x40; p < 0x44; p++) {
        mf_put_page(b, p * MF_PAGE, NULL);
    }
    for (unsigned i = 0; big && i < MF_BIG_PAGES; i++) {
        memset(page, i + 1, sizeof(page));
        mf_put_page(b, MF_BIG_GPA + i * MF_PAGE, page);
    }
    memset(page, 0x3c, sizeof(page));
    mf_put_page(b, MF_HIGH_GPA, page);
    mf_put_page(b, MF_HIGH_GPA + MF_PAGE, NULL);
    mf_put_page(b, MF_HIGH_GPA + MF_HIGH_SIZE - MF_PAGE, page);
    mig_put_be64(b, MIG_RAM_EOS);
    return b;
}

/* A later round: pages rewritten, pages zeroed (some that held data). */
static GByteArray *mf_ram_round(void)
{
    GByteArray *b = g_byte_array_new();
    uint8_t page[MIG_PAGE_SIZE];

    memset(page, 0x77, sizeof(page));
    mf_put_page(b, 0x50 * MF_PAGE, page);
    mf_put_page(b, 0x51 * MF_PAGE, page);
    mf_put_page(b, 0x50 * MF_PAGE + MF_PAGE * 2, NULL);
    mf_put_page(b, MF_HIGH_GPA, NULL);
    mf_put_page(b, MF_HIGH_GPA + 2 * MF_PAGE, page);
    mig_put_be64(b, MIG_RAM_EOS);
    return b;
}

static GByteArray *mf_device_section(MigVM *src)
{
    GByteArray *b = g_byte_array_new();
    Error *err = NULL;

    if (!virtio_migration_save(&src->net.s.parent.proxy, b, &err)) {
        g_error("fuzz-migration: %s", error_get_pretty(err));
    }
    return b;
}

/* The parts the seeds are made of. */
typedef struct MfParts {
    GByteArray *config, *ram_first, *ram_big, *ram_round, *device, *idle;
    GByteArray *accel, *memdev;
} MfParts;

static void mf_parts_init(MfParts *p)
{
    MigVM src, idle;

    mvm_init(&idle);
    p->idle = mf_device_section(&idle);
    mvm_free(&idle);
    mvm_init(&src);
    mf_drive_source(&src);
    p->config = g_byte_array_ref(src.config);
    p->ram_first = mf_ram_first(&src, false);
    p->ram_big = mf_ram_first(&src, true);
    p->ram_round = mf_ram_round();
    p->device = mf_device_section(&src);
    mvm_free(&src);
    p->accel = g_byte_array_new();
    mig_put_be32(p->accel, 1);          /* opaque to this destination */
    mig_put_be64(p->accel, 0x0123456789abcdefULL);
    p->memdev = g_byte_array_new();
    mig_put_str(p->memdev, "pc-dimm");
    mig_put_str(p->memdev, "dimm0");
    mig_put_be64(p->memdev, 0x40000000);
}

static void mf_parts_free(MfParts *p)
{
    GByteArray **all[] = { &p->config, &p->ram_first, &p->ram_big,
                           &p->ram_round, &p->device, &p->idle, &p->accel,
                           &p->memdev };

    for (size_t i = 0; i < G_N_ELEMENTS(all); i++) {
        g_clear_pointer(all[i], g_byte_array_unref);
    }
}

static void mf_put_blob(GByteArray *b, uint8_t type, const char *name,
                        const GByteArray *data)
{
    mig_put_u8(b, type);
    if (name) {
        mig_put_str(b, name);
    }
    mig_put_be32(b, data->len);
    mig_put_bytes(b, data->data, data->len);
}

static void mf_put_ram(GByteArray *b, const GByteArray *section)
{
    mig_put_u8(b, MIG_SEC_RAM);
    mig_put_bytes(b, section->data, section->len);
}

static GByteArray *mf_stream_seed(const MfParts *p, bool big)
{
    GByteArray *b = g_byte_array_new();

    mig_put_u8(b, MF_STREAM);
    mig_put_bytes(b, MIG_MAGIC, MIG_MAGIC_LEN);
    mig_put_be32(b, MIG_VERSION);
    mf_put_blob(b, MIG_SEC_CONFIG, NULL, p->config);
    mf_put_ram(b, big ? p->ram_big : p->ram_first);
    if (!big) {
        mf_put_blob(b, MIG_SEC_ACCEL, NULL, p->accel);
        mf_put_ram(b, p->ram_round);
    }
    if (!big) {
        /* The same device twice: the second load finds it set up. */
        mf_put_blob(b, MIG_SEC_DEVICE, "virtio-mmio@feb00000", p->device);
    }
    mf_put_blob(b, MIG_SEC_DEVICE, "virtio-mmio@feb00000", p->device);
    mig_put_u8(b, MIG_SEC_END);
    mig_put_u8(b, big ? 0 : MIG_END_RUNNING | MIG_END_ACK);
    return b;
}

static GByteArray *mf_seed(unsigned mode, const GByteArray *a,
                           const GByteArray *b)
{
    GByteArray *s = g_byte_array_new();

    mig_put_u8(s, mode);
    mig_put_bytes(s, a->data, a->len);
    if (b) {
        mig_put_bytes(s, b->data, b->len);
    }
    return s;
}

static GPtrArray *mf_make_seeds(void)
{
    GPtrArray *seeds = g_ptr_array_new_with_free_func(
        (GDestroyNotify)g_byte_array_unref);
    g_autoptr(GByteArray) blobs = g_byte_array_new();
    MfParts p;

    mf_parts_init(&p);
    g_ptr_array_add(seeds, mf_stream_seed(&p, false));
    g_ptr_array_add(seeds, mf_stream_seed(&p, true));
    g_ptr_array_add(seeds, mf_seed(MF_CONFIG, p.config, NULL));
    g_ptr_array_add(seeds, mf_seed(MF_RAM, p.ram_first, p.ram_round));
    g_ptr_array_add(seeds, mf_seed(MF_RAM, p.ram_big, NULL));
    mf_put_blob(blobs, MIG_SEC_DEVICE, "virtio-mmio@feb00000", p.device);
    mf_put_blob(blobs, MIG_SEC_ACCEL, NULL, p.accel);
    mf_put_blob(blobs, MIG_SEC_MEMDEV, NULL, p.memdev);
    mf_put_blob(blobs, MIG_SEC_CONFIG, NULL, p.config);
    g_ptr_array_add(seeds, mf_seed(MF_BLOB, blobs, NULL));
    g_ptr_array_add(seeds, mf_seed(MF_DEVICE, p.device, NULL));
    g_ptr_array_add(seeds, mf_seed(MF_DEVICE, p.idle, NULL));
    mf_parts_free(&p);
    return seeds;
}

/* --- structure-aware mutation ------------------------------------------------------------ */

/* Addresses on the edges of the blocks and of the address space. */
static uint64_t mf_edge_gpa(GRand *r)
{
    static const uint64_t gpas[] = {
        0, MF_PAGE, MF_LOW_SIZE - MF_PAGE, MF_LOW_SIZE, MF_LOW_SIZE + MF_PAGE,
        MF_HIGH_GPA - MF_PAGE, MF_HIGH_GPA, MF_HIGH_GPA + MF_HIGH_SIZE -
        MF_PAGE, MF_HIGH_GPA + MF_HIGH_SIZE, 0xfffff000, 0x7ffffffffffff000,
        0xffffffffffffe000, 0xfffffffffffff000,
    };

    return gpas[g_rand_int_range(r, 0, G_N_ELEMENTS(gpas))];
}

/* Insert n bytes (a copy of src, which may point into ba) at pos. */
static void mf_insert(GByteArray *ba, size_t pos, const uint8_t *src,
                      size_t n)
{
    g_autofree uint8_t *copy = g_memdup2(src, n);

    g_array_insert_vals((GArray *)ba, pos, copy, n);
}

/* Entry headers (offsets) of RAM entries from pos on, as far as they
 * parse, up to and with the first EOS. */
static GArray *mf_ram_entries(const GByteArray *ba, size_t pos)
{
    GArray *at = g_array_new(FALSE, FALSE, sizeof(size_t));

    while (pos + 8 <= ba->len) {
        uint64_t flags = fuzz_load(ba->data + pos, 8, true) & MIG_RAM_FLAGS;

        g_array_append_val(at, pos);
        if (flags == MIG_RAM_EOS) {
            break;
        }
        pos += 8 + (flags == MIG_RAM_PAGE ? MF_PAGE : 0);
    }
    return at;
}

/* One RAM entry of those from pos on: another address, other flags, the
 * page's bytes dropped, the entry repeated, an early EOS. */
static void mf_mutate_ram(GRand *r, GByteArray *ba, size_t pos)
{
    g_autoptr(GArray) at = mf_ram_entries(ba, pos);
    uint8_t *hdr;
    uint64_t v;

    if (!at->len) {
        return;
    }
    pos = g_array_index(at, size_t, g_rand_int_range(r, 0, at->len));
    hdr = ba->data + pos;
    v = fuzz_load(hdr, 8, true);
    switch (g_rand_int_range(r, 0, 5)) {
    case 0:
        v = mf_edge_gpa(r) | (v & MIG_RAM_FLAGS);
        break;
    case 1:
        v = (v & ~MIG_RAM_FLAGS) | g_rand_int_range(r, 0, 9);
        break;
    case 2:
        g_byte_array_remove_range(ba, pos + 8, MIN(MF_PAGE,
                                                   ba->len - pos - 8));
        return;
    case 3:
        mf_insert(ba, pos, hdr, MIN(8 + MF_PAGE, ba->len - pos));
        return;
    default:
        v = MIG_RAM_EOS;
        break;
    }
    fuzz_store(hdr, v, 8, true);
}

/* End of the section at pos (its type byte) in a stream, 0 if it does
 * not parse. */
static size_t mf_section_end(const GByteArray *ba, size_t pos)
{
    const uint8_t *p = ba->data;
    g_autoptr(GArray) at = NULL;

    switch (p[pos++]) {
    case MIG_SEC_DEVICE:
        if (pos + 2 > ba->len) {
            return 0;
        }
        pos += 2 + fuzz_load(p + pos, 2, true);
        /* fall through */
    case MIG_SEC_CONFIG:
    case MIG_SEC_ACCEL:
    case MIG_SEC_MEMDEV:
        return pos + 4 <= ba->len ? pos + 4 + fuzz_load(p + pos, 4, true) : 0;
    case MIG_SEC_RAM:
        at = mf_ram_entries(ba, pos);
        pos = at->len ? g_array_index(at, size_t, at->len - 1) : 0;
        return pos && (fuzz_load(p + pos, 8, true) & MIG_RAM_FLAGS) ==
                      MIG_RAM_EOS ? pos + 8 : 0;
    case MIG_SEC_END:
        return pos + 1;
    default:
        return 0;
    }
}

/* Where the sections of a stream-mode input start, as far as they
 * parse. */
static GArray *mf_stream_sections(const GByteArray *ba)
{
    GArray *at = g_array_new(FALSE, FALSE, sizeof(size_t));
    size_t pos = 1 + MIG_MAGIC_LEN + 4, end;

    while (pos < ba->len && (end = mf_section_end(ba, pos)) &&
           end <= ba->len) {
        g_array_append_val(at, pos);
        pos = end;
    }
    return at;
}

/*
 * One section of a stream-mode input: dropped, repeated, moved before
 * another, given another type or a boundary length, a byte of its head
 * changed, or (RAM) one of its entries mutated.
 */
static void mf_mutate_stream(GRand *r, GByteArray *ba)
{
    g_autoptr(GArray) at = mf_stream_sections(ba);
    size_t pos, end, other;

    if (!at->len) {
        return;
    }
    pos = g_array_index(at, size_t, g_rand_int_range(r, 0, at->len));
    end = mf_section_end(ba, pos);
    other = g_array_index(at, size_t, g_rand_int_range(r, 0, at->len));
    switch (g_rand_int_range(r, 0, 7)) {
    case 0:
        g_byte_array_remove_range(ba, pos, end - pos);
        break;
    case 1:
        mf_insert(ba, end, ba->data + pos, end - pos);
        break;
    case 2:
        if (other < pos) {
            g_autofree uint8_t *sec = g_memdup2(ba->data + pos, end - pos);

            g_byte_array_remove_range(ba, pos, end - pos);
            g_array_insert_vals((GArray *)ba, other, sec, end - pos);
        }
        break;
    case 3:
        ba->data[pos] = g_rand_int_range(r, 0, 8);
        break;
    case 4:
        if (ba->data[pos] == MIG_SEC_RAM) {
            mf_mutate_ram(r, ba, pos + 1);
        } else if (ba->data[pos] != MIG_SEC_END) {
            /* The be32 length, after the name of a device section. */
            size_t field = pos + 1 + (ba->data[pos] == MIG_SEC_DEVICE ?
                                      2 + fuzz_load(ba->data + pos + 1, 2,
                                                    true) : 0);

            fuzz_store(ba->data + field, fuzz_interesting(r), 4, true);
        }
        break;
    default:
        pos += g_rand_int_range(r, 0, MIN(32, end - pos));
        ba->data[pos] ^= 1u << g_rand_int_range(r, 0, 8);
        break;
    }
}

static void mf_mutate(GRand *r, GByteArray *ba)
{
    if (ba->len < 9) {
        return;
    }
    if (ba->data[0] % MF_MODES == MF_RAM) {
        mf_mutate_ram(r, ba, 1);
    } else if (ba->data[0] % MF_MODES == MF_STREAM) {
        mf_mutate_stream(r, ba);
    }
}

static void mf_summary(GString *out)
{
    for (unsigned m = 0; m < MF_MODES; m++) {
        g_string_append_printf(out, "%s %s %u/%u", m ? "," : ";",
                               mf_mode_names[m], mf_stats.ok[m],
                               mf_stats.runs[m]);
    }
    g_string_append_printf(out, "; %u device loads (%u control commands "
                           "answered after them)", mf_stats.loads,
                           mf_stats.answered);
}

int main(int argc, char **argv)
{
    static const FuzzTarget target = {
        .name = "fuzz-migration",
        .iterations = 20000,
        .max_input = MF_MAX_INPUT,
        .hot_len = 64,
        .make_seeds = mf_make_seeds,
        .run = mf_fuzz_one,
        .mutate = mf_mutate,
        .summary = mf_summary,
        .last_error = mf_last_error_get,
    };

    /* FUZZ_VERBOSE=1: what the guest did wrong, as -d would log it. */
    if (getenv("FUZZ_VERBOSE")) {
        qemu_log_set_categories("guest_errors,unimp", NULL);
    }
    return fuzz_main(&target, argc, argv);
}
