/* make-seed-corpus: writes the fuzz targets' seed corpora, corpus/TARGET/,
 * deterministically (docs/fuzzing.md, "Corpus").
 *
 *   make-seed-corpus DIR           write DIR/TARGET/ and DIR/TARGET.dict for every target
 *   make-seed-corpus --check DIR   compare instead; exit 1 on a difference
 *   make-seed-corpus --determinism generate twice, compare; exit 1 on a difference
 *
 * Most seeds come from the fake guest drivers: a Linux-like 8250 driver or
 * virtio-console driver drives a rig built like the target's, and every
 * input that crosses into the rig (bus accesses, the guest's RAM writes,
 * clock advances, host events, and the bytes the device takes from its
 * backends) is turned into the target's op stream, so that running the seed
 * replays the session. The rest are written by hand here: edge cases for
 * each format (malformed rings, refused option texts, damaged traces).
 * Trace seeds are recorded with the recorder and written again with a
 * fixed build id, so that they do not change with every commit. */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz_console_common.h"
#include "fuzz_ops.h"
#include "guest/uart_driver.h"
#include "guest/virtio_console_driver.h"
#include "guest/vring.h"
#include "harness/rig.h"
#include "vcon/recorded_sessions.h"
#include "vcon/recorder.h"
#include "vcon/trace.h"

#define SEED_BUILD_ID "vcon-seed-corpus"

_Noreturn static void die(const char *what)
{
    fprintf(stderr, "make-seed-corpus: %s\n", what);
    exit(2);
}

/* ---- growable byte buffers ----------------------------------------------- */

struct buf {
    uint8_t *p;
    size_t len, cap;
};

static void reserve(struct buf *b, size_t more)
{
    if (b->len + more <= b->cap)
        return;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + more)
        cap *= 2;
    b->p = realloc(b->p, cap);
    if (b->p == NULL)
        die("out of memory");
    b->cap = cap;
}

static void put_bytes(struct buf *b, const void *bytes, size_t n)
{
    reserve(b, n);
    if (n > 0)
        memcpy(b->p + b->len, bytes, n);
    b->len += n;
}

static void put8(struct buf *b, unsigned v)
{
    const uint8_t x = (uint8_t)v;
    put_bytes(b, &x, 1);
}

static void put16(struct buf *b, unsigned v)
{
    put8(b, v);
    put8(b, v >> 8);
}

static void put32(struct buf *b, uint32_t v)
{
    put16(b, v & 0xFFFFu);
    put16(b, v >> 16);
}

static void put64(struct buf *b, uint64_t v)
{
    put32(b, (uint32_t)v);
    put32(b, (uint32_t)(v >> 32));
}

static void put_str(struct buf *b, const char *s)
{
    put_bytes(b, s, strlen(s));
}

/* Insert `n` bytes at `at`. */
static void insert_bytes(struct buf *b, size_t at, const void *bytes, size_t n)
{
    reserve(b, n);
    memmove(b->p + at + n, b->p + at, b->len - at);
    memcpy(b->p + at, bytes, n);
    b->len += n;
}

/* ---- the seeds ------------------------------------------------------------ */

struct seed {
    char target[32];
    char name[96];
    struct buf data;
};

static struct seed *seeds;
static size_t nr_seeds, cap_seeds;

static struct buf *seed(const char *target, const char *name)
{
    if (nr_seeds == cap_seeds) {
        cap_seeds = cap_seeds ? cap_seeds * 2 : 64;
        seeds = realloc(seeds, cap_seeds * sizeof(*seeds));
        if (seeds == NULL)
            die("out of memory");
    }
    struct seed *s = &seeds[nr_seeds++];
    memset(s, 0, sizeof(*s));
    snprintf(s->target, sizeof(s->target), "%s", target);
    snprintf(s->name, sizeof(s->name), "%s", name);
    for (size_t i = 0; i + 1 < nr_seeds; i++)
        if (strcmp(seeds[i].target, target) == 0 && strcmp(seeds[i].name, name) == 0)
            die("two seeds with one name");
    return &s->data;
}

/* ---- capturing a session into an op stream ----------------------------- */

enum cap_format {
    CAP_UART,
    CAP_CONSOLE,
    CAP_CTRL, /* console_ctrl: control messages, buffers and host events only */
};

struct capture {
    enum cap_format format;
    struct buf *out;
    bool on;
    size_t insert_at; /* where the bytes the current op took go, as INPUT ops */
    struct vcon_rig *rig;
    struct vcon_vm *vm;
    struct vcon_virtio_pci *t; /* console */
    struct vcon_rig_device_info info;
    uint16_t seen_avail[4];    /* CAP_CTRL: avail idx of queues 2 and 3 seen */
    struct vcon_host inner;
};

static struct capture cap;

static void begin_op(void)
{
    cap.insert_at = cap.out->len;
}

static const unsigned size_sel[5] = {0, 0, 1, 2, 3}; /* by size: 1->0, 2->1, 3->2, 4->3 */

static const char *const hot_names[] = {
    "p2", "p1", "console", "", "org.example.port.3",
    "a123456789b123456789c123456789d123456789e123456789f123456789abc", "p0", "x",
};

static unsigned name_index(const char *name)
{
    for (unsigned i = 0; i < sizeof(hot_names) / sizeof(hot_names[0]); i++)
        if (name != NULL && strcmp(hot_names[i], name) == 0)
            return i;
    return 0;
}

static bool in_bar(unsigned bar, uint64_t addr, uint64_t *offset)
{
    const uint64_t base = vcon_virtio_pci_bar_base(cap.t, bar);
    if (base == 0 || addr < base || addr - base >= vcon_virtio_pci_bar_size(cap.t, bar))
        return false;
    *offset = addr - base;
    return true;
}

/* The guest's new control messages on queue 3, as CTRL ops. */
static void ctrl_messages(void)
{
    const struct vcon_virtq *vq = vcon_virtio_pci_queue(cap.t, VCON_CONSOLE_CTRL_TX_QUEUE);
    uint8_t b[16];
    if (vq == NULL || !vcon_virtq_ready(vq) || vcon_vm_guest_read(cap.vm, vq->avail_gpa + 2, b, 2))
        return;
    const uint16_t idx = (uint16_t)(b[0] | b[1] << 8);
    /* A driver that reset the device starts its ring again from 0. */
    if ((uint16_t)(idx - cap.seen_avail[3]) > vq->size)
        cap.seen_avail[3] = idx > vq->size ? (uint16_t)(idx - vq->size) : 0;
    for (uint16_t i = cap.seen_avail[3]; i != idx; i++) {
        if (vcon_vm_guest_read(cap.vm, vq->avail_gpa + 4 + 2u * (i & (vq->size - 1u)), b, 2))
            break;
        const uint16_t head = (uint16_t)(b[0] | b[1] << 8) & (vq->size - 1u);
        if (vcon_vm_guest_read(cap.vm, vq->desc_gpa + 16u * head, b, 16))
            break;
        uint64_t addr = 0;
        for (unsigned k = 0; k < 8; k++)
            addr |= (uint64_t)b[k] << (8 * k);
        if (b[12] & VCON_VIRTQ_DESC_F_INDIRECT) { /* the first entry of the table */
            if (vcon_vm_guest_read(cap.vm, addr, b, 16))
                break;
            addr = 0;
            for (unsigned k = 0; k < 8; k++)
                addr |= (uint64_t)b[k] << (8 * k);
        }
        uint8_t msg[8];
        if (vcon_vm_guest_read(cap.vm, addr, msg, 8))
            break;
        const uint32_t id = (uint32_t)msg[0] | (uint32_t)msg[1] << 8 | (uint32_t)msg[2] << 16 |
                            (uint32_t)msg[3] << 24;
        put8(cap.out, fzc_ctrl_opcode(FZC_CTRL));
        put8(cap.out, id == VCON_CONSOLE_BAD_ID ? 0xFFu : id);
        put8(cap.out, msg[4]);
        put16(cap.out, (unsigned)(msg[6] | msg[7] << 8));
        put8(cap.out, 0);
    }
    cap.seen_avail[3] = idx;
}

/* The guest's new control receive buffers on queue 2, as POST ops. */
static void ctrl_buffers(void)
{
    const struct vcon_virtq *vq = vcon_virtio_pci_queue(cap.t, VCON_CONSOLE_CTRL_RX_QUEUE);
    uint8_t b[2];
    if (vq == NULL || !vcon_virtq_ready(vq) || vcon_vm_guest_read(cap.vm, vq->avail_gpa + 2, b, 2))
        return;
    const uint16_t idx = (uint16_t)(b[0] | b[1] << 8);
    if ((uint16_t)(idx - cap.seen_avail[2]) > vq->size)
        cap.seen_avail[2] = idx > vq->size ? (uint16_t)(idx - vq->size) : 0;
    for (uint16_t i = cap.seen_avail[2]; i != idx; i++) {
        put8(cap.out, fzc_ctrl_opcode(FZC_POST));
        put8(cap.out, 0); /* queue operand 0: queue 2 */
        put8(cap.out, 0x03); /* writable, no kick */
        put16(cap.out, 127);
    }
    cap.seen_avail[2] = idx;
    put8(cap.out, fzc_ctrl_opcode(FZC_KICK));
    put8(cap.out, 0);
}

static void on_access(void *arg, enum vcon_space space, uint64_t addr, unsigned size,
                      bool is_write, uint32_t value)
{
    uint64_t off;
    (void)arg;
    if (!cap.on || size < 1 || size > 4)
        return;
    if (cap.format == CAP_UART) {
        if (space != VCON_SPACE_PIO || addr < cap.info.io_base || addr >= cap.info.io_base + 10u)
            return;
        begin_op();
        put8(cap.out, is_write ? FZU_WRITE : FZU_READ);
        put8(cap.out, (unsigned)(addr - cap.info.io_base) | size_sel[size] << 4);
        if (is_write)
            put16(cap.out, value & 0xFFFFu);
        return;
    }
    if (cap.format == CAP_CTRL) {
        if (space == VCON_SPACE_PIO && is_write && in_bar(0, addr, &off) &&
            off == VCON_VIRTIO_PCI_QUEUE_NOTIFY) {
            begin_op();
            if (value == VCON_CONSOLE_CTRL_TX_QUEUE)
                ctrl_messages();
            else if (value == VCON_CONSOLE_CTRL_RX_QUEUE)
                ctrl_buffers();
        }
        return;
    }
    if (space == VCON_SPACE_PCI_CONFIG) {
        const struct vcon_rig_device_info *i = &cap.info;
        if ((addr >> 12) != VCON_PCI_BDF(i->pci_bus, i->pci_slot, i->pci_func))
            return;
        begin_op();
        put8(cap.out, is_write ? FZC_CFG_WRITE : FZC_CFG_READ);
        put16(cap.out, (unsigned)(addr & 0xFFFu));
        put8(cap.out, size_sel[size]);
    } else if (space == VCON_SPACE_PIO && in_bar(0, addr, &off)) {
        begin_op();
        put8(cap.out, is_write ? FZC_BAR0_WRITE : FZC_BAR0_READ);
        put8(cap.out, (unsigned)off);
        put8(cap.out, size_sel[size]);
    } else if (space == VCON_SPACE_MMIO && in_bar(1, addr, &off)) {
        begin_op();
        put8(cap.out, is_write ? FZC_BAR1_WRITE : FZC_BAR1_READ);
        put16(cap.out, (unsigned)off);
        put8(cap.out, size_sel[size]);
    } else {
        return;
    }
    if (is_write)
        put32(cap.out, value);
}

static void on_guest_write(void *arg, uint64_t gpa, const void *buf, size_t len)
{
    const uint8_t *bytes = buf;
    (void)arg;
    if (!cap.on || cap.format != CAP_CONSOLE || len == 0)
        return;
    /* Writing what is there already changes nothing: leave it out (rings
     * are zeroed over zeroed RAM). */
    uint8_t *now = malloc(len);
    if (now == NULL)
        die("out of memory");
    const bool same = vcon_vm_guest_read(cap.vm, gpa, now, len) == 0 && memcmp(now, buf, len) == 0;
    free(now);
    if (same)
        return;
    bool uniform = len >= 8;
    for (size_t i = 1; i < len && uniform; i++)
        uniform = bytes[i] == bytes[0];
    for (size_t done = 0; done < len;) {
        begin_op();
        if (uniform) {
            const size_t n = len - done < 0xFFFFu ? len - done : 0xFFFFu;
            put8(cap.out, FZC_FILL);
            put32(cap.out, (uint32_t)(gpa + done));
            put16(cap.out, (unsigned)n);
            put8(cap.out, bytes[0]);
            done += n;
        } else {
            const size_t n = len - done < 255u ? len - done : 255u;
            put8(cap.out, FZC_MEM);
            put32(cap.out, (uint32_t)(gpa + done));
            put8(cap.out, (unsigned)n);
            put_bytes(cap.out, bytes + done, n);
            done += n;
        }
    }
}

static void on_advance(void *arg, uint64_t ns)
{
    (void)arg;
    if (!cap.on || cap.format == CAP_CTRL)
        return;
    while (ns > 0) {
        const uint32_t step = ns > 0xFFFFFFFFu ? 0xFFFFFFFFu : (uint32_t)ns;
        begin_op();
        put8(cap.out, cap.format == CAP_UART ? FZU_TIME_NS : FZC_TIME);
        put32(cap.out, step);
        ns -= step;
    }
}

static void emit_console_event(const struct vcon_rig_event *ev, bool ctrl)
{
#define OPCODE(op) (ctrl ? fzc_ctrl_opcode(op) : (unsigned)(op))
    switch (ev->kind) {
    case VCON_RIG_EV_BACKEND_READY:
        put8(cap.out, OPCODE(FZC_BACKEND_READY));
        put8(cap.out, ev->port);
        break;
    case VCON_RIG_EV_BACKEND_OPEN:
        put8(cap.out, OPCODE(FZC_BACKEND_OPEN));
        put8(cap.out, ev->port);
        put8(cap.out, ev->flag ? 1 : 0);
        break;
    case VCON_RIG_EV_HOTPLUG:
        put8(cap.out, OPCODE(FZC_HOTPLUG));
        put8(cap.out, ev->port);
        put8(cap.out, (ev->flag ? 1u : 0u) | (ev->is_console ? 2u : 0u));
        put8(cap.out, name_index(ev->name));
        break;
    case VCON_RIG_EV_RESIZE:
        put8(cap.out, OPCODE(FZC_RESIZE));
        put8(cap.out, ev->port);
        put16(cap.out, ev->cols);
        put16(cap.out, ev->rows);
        break;
    default:
        break;
    }
#undef OPCODE
}

static void on_rig_event(void *arg, const struct vcon_rig_event *ev)
{
    (void)arg;
    if (!cap.on)
        return;
    begin_op();
    if (cap.format != CAP_UART) {
        emit_console_event(ev, cap.format == CAP_CTRL);
        return;
    }
    switch (ev->kind) {
    case VCON_RIG_EV_BACKEND_READY:
        put8(cap.out, FZU_BACKEND_READY);
        break;
    case VCON_RIG_EV_RESET:
        put8(cap.out, FZU_RESET);
        break;
    case VCON_RIG_EV_LINE_ERROR:
        put8(cap.out, FZU_LINE_ERROR);
        put8(cap.out, ev->value);
        put8(cap.out, ev->flag);
        break;
    case VCON_RIG_EV_MODEM_LINES:
        put8(cap.out, FZU_MODEM_LINES);
        put8(cap.out, ev->value);
        break;
    default:
        break;
    }
}

/* The bytes a device takes from its backend: queued by an INPUT op just
 * before the op during which it took them, one op per read, so the seed's
 * backend hands them over in the same pieces. */
static int cap_backend_read(void *ctx, unsigned port, void *buf, size_t len)
{
    (void)ctx;
    const int rc = cap.inner.backend_read(cap.inner.ctx, port, buf, len);
    if (!cap.on || rc <= 0 || cap.format == CAP_CTRL)
        return rc;
    const uint8_t *bytes = buf;
    for (int done = 0; done < rc;) {
        const int n = rc - done < 255 ? rc - done : 255;
        struct buf op = {0};
        if (cap.format == CAP_UART) {
            put8(&op, FZU_INPUT);
        } else {
            put8(&op, FZC_INPUT);
            put8(&op, port);
        }
        put8(&op, (unsigned)n);
        put_bytes(&op, bytes + done, (size_t)n);
        insert_bytes(cap.out, cap.insert_at, op.p, op.len);
        cap.insert_at += op.len;
        free(op.p);
        done += n;
    }
    return rc;
}

static void cap_wrap_host(void *arg, unsigned index, const struct vcon_host *inner,
                          struct vcon_host *out)
{
    (void)arg;
    *out = *inner;
    if (index != 0)
        return;
    cap.inner = *inner;
    out->backend_read = cap_backend_read;
}

/* A rig built like the target's, with the capture hooks. */
static struct vcon_rig *cap_rig(const char *config, size_t ram, enum cap_format format,
                                struct buf *out)
{
    static const struct vcon_rig_hooks hooks = {.wrap_host = cap_wrap_host};
    struct vcon_rig *rig;
    char err[256];
    memset(&cap, 0, sizeof(cap));
    if (vcon_rig_create(config, ram, &hooks, &rig, err, sizeof(err)) != 0) {
        fprintf(stderr, "make-seed-corpus: rig '%s': %s\n", config, err);
        exit(2);
    }
    cap.format = format;
    cap.out = out;
    cap.rig = rig;
    cap.vm = vcon_rig_vm(rig);
    (void)vcon_rig_device_info(rig, 0, &cap.info);
    if (vcon_rig_console(rig, 0) != NULL)
        cap.t = vcon_console_transport(vcon_rig_console(rig, 0));
    const struct vcon_vm_observer obs = {.access = on_access,
                                         .guest_write = on_guest_write,
                                         .advance = on_advance};
    vcon_vm_set_observer(cap.vm, &obs);
    vcon_rig_set_event_observer(rig, on_rig_event, NULL);
    return rig;
}

static void cap_done(struct vcon_rig *rig)
{
    cap.on = false;
    vcon_rig_destroy(rig);
}

/* ---- UART seeds --------------------------------------------------------- */

static const char *const uart_combo[8] = {
    "dm-16550a-level", "hv-16550a-level", "dm-acrn-level", "hv-acrn-level",
    "dm-16550a-edge",  "hv-16550a-edge",  "dm-acrn-edge",  "hv-acrn-edge",
};

static const char *uart_config(unsigned combo)
{
    static char text[160];
    snprintf(text, sizeof(text),
             "-s 1:0,lpc --uart-flavour %s --uart-profile %s --uart-irq %s -l com1,stdio",
             combo & 1 ? "hv" : "dm", combo & 2 ? "acrn-dm" : "16550a", combo & 4 ? "edge" : "level");
    return text;
}

/* The recorded-sessions UART session (Linux's probe and open, data both
 * ways with the character timeout, a break and a parity error, modem
 * lines), captured. */
static void uart_sessions(void)
{
    for (unsigned combo = 0; combo < 8; combo++) {
        char name[96];
        snprintf(name, sizeof(name), "session-%s", uart_combo[combo]);
        struct buf *out = seed("uart", name);
        put8(out, combo);
        struct vcon_rig *rig = cap_rig(uart_config(combo), 4096, CAP_UART, out);
        const struct vcon_session_options o = {.out_len = 24 + combo, .in_len = 40 + 3 * combo,
                                               .seed = combo + 1};
        struct vcon_session_result res;
        cap.on = true;
        if (vcon_session_uart(rig, &o, &res) != 0)
            die("UART session failed");
        cap_done(rig);
    }
}

/* A guest that writes and reads at another speed and FIFO setting. */
static void uart_driver_variants(void)
{
    static const unsigned bauds[] = {9600, 115200, 1200};
    for (unsigned v = 0; v < 3; v++) {
        const unsigned combo = v == 2 ? 1u : v * 2u;
        char name[96];
        snprintf(name, sizeof(name), "driver-%ubaud-%s", bauds[v], uart_combo[combo]);
        struct buf *out = seed("uart", name);
        put8(out, combo);
        struct vcon_rig *rig = cap_rig(uart_config(combo), 4096, CAP_UART, out);
        struct vcon_guest_uart *u = calloc(1, sizeof(*u));
        if (u == NULL)
            die("out of memory");
        cap.on = true;
        if (vcon_guest_uart_probe(u, cap.vm, cap.info.io_base, cap.info.irq_line) != 0 ||
            vcon_guest_uart_set_baud(u, bauds[v]) != 0)
            die("UART probe failed");
        static const char text[] = "login: root\r\nPassword: \r\n";
        (void)vcon_guest_uart_write(u, text, sizeof(text) - 1);
        for (unsigned i = 0; i < 64 && vcon_guest_uart_tx_pending(u) > 0; i++)
            (void)vcon_guest_uart_service(u);
        (void)vcon_rig_feed(rig, 0, 0, "ls -l /dev\n", 11);
        (void)vcon_guest_uart_service(u);
        vcon_guest_uart_advance(u, 40000000u);
        uint8_t sink[64];
        (void)vcon_guest_uart_read(u, sink, sizeof(sink));
        free(u);
        cap_done(rig);
    }
}

/* Hand-written UART edge cases. */
static void u_write(struct buf *b, unsigned off, unsigned size, unsigned value)
{
    put8(b, FZU_WRITE);
    put8(b, off | size_sel[size] << 4);
    put16(b, value);
}

static void u_read(struct buf *b, unsigned off, unsigned size)
{
    put8(b, FZU_READ);
    put8(b, off | size_sel[size] << 4);
}

static void u_input(struct buf *b, const char *bytes, size_t n, bool ready)
{
    put8(b, ready ? FZU_INPUT_READY : FZU_INPUT);
    put8(b, (unsigned)n);
    put_bytes(b, bytes, n);
}

static void uart_edge_cases(void)
{
    struct buf *b;
    static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

    /* FIFO overrun: more input than the 16-byte FIFO, with line errors
     * mixed in, read back with LSR between. */
    b = seed("uart", "edge-overrun-16550a");
    put8(b, 0);
    put8(b, FZU_SETUP); put8(b, 7);
    u_input(b, alphabet, 40, true);
    put8(b, FZU_LINE_ERROR); put8(b, 'x'); put8(b, VCON_UART_LSR_PE);
    put8(b, FZU_LINE_ERROR); put8(b, 0); put8(b, VCON_UART_LSR_BI | VCON_UART_LSR_FE);
    u_read(b, VCON_UART_LSR, 1);
    put8(b, FZU_READ_RBR); put8(b, 20);
    u_read(b, VCON_UART_IIR_FCR, 1);
    put8(b, FZU_BACKEND_READY);
    put8(b, FZU_READ_RBR); put8(b, 40);

    /* Character timeout: data below the trigger level, time just before
     * and at the deadline, then reads. */
    b = seed("uart", "edge-char-timeout");
    put8(b, 0);
    put8(b, FZU_SETUP); put8(b, 1);
    put8(b, FZU_SETUP); put8(b, 0xC2); /* FIFO on, trigger 14 */
    put8(b, FZU_SETUP); put8(b, 4);
    u_input(b, "abc", 3, true);
    put8(b, FZU_TIME_CHARS); put8(b, 15); put8(b, 0);
    u_read(b, VCON_UART_IIR_FCR, 1);
    put8(b, FZU_TIME_TIMER); put8(b, 0);
    u_read(b, VCON_UART_IIR_FCR, 1);
    put8(b, FZU_TIME_TIMER); put8(b, 1);
    u_read(b, VCON_UART_IIR_FCR, 1);
    put8(b, FZU_READ_RBR); put8(b, 2);
    put8(b, FZU_TIME_CHARS); put8(b, 16); put8(b, 1);
    u_read(b, VCON_UART_IIR_FCR, 2);
    put8(b, FZU_READ_RBR); put8(b, 2);

    /* Loopback: THR to RBR, a break, modem lines from MCR; input arriving
     * meanwhile (acrn-dm discards it). */
    for (unsigned combo = 0; combo < 4; combo += 2) {
        b = seed("uart", combo ? "edge-loopback-acrn" : "edge-loopback-16550a");
        put8(b, combo);
        put8(b, FZU_SETUP); put8(b, 7);
        u_write(b, VCON_UART_IER, 1, 0x0F);
        put8(b, FZU_SETUP); put8(b, 6);
        put8(b, FZU_WRITE_THR); put8(b, 5); put_str(b, "hello");
        u_input(b, "lost?", 5, true);
        u_write(b, VCON_UART_LCR, 1, 0x43);
        u_write(b, VCON_UART_LCR, 1, 0x03);
        u_write(b, VCON_UART_MCR, 1, 0x1F);
        u_read(b, VCON_UART_MSR, 1);
        u_read(b, VCON_UART_IIR_FCR, 1);
        put8(b, FZU_READ_RBR); put8(b, 8);
        put8(b, FZU_SETUP); put8(b, 5);
        put8(b, FZU_BACKEND_READY);
        put8(b, FZU_READ_RBR); put8(b, 8);
    }

    /* A host whose backend claims one byte more than it moved, in both
     * flavours: receive (through the FIFO or the input buffer), transmit,
     * and the discard of a FIFO reset. */
    for (unsigned combo = 0; combo < 2; combo++) {
        b = seed("uart", combo ? "edge-host-overclaims-hv" : "edge-host-overclaims-dm");
        put8(b, combo);
        put8(b, FZU_SETUP); put8(b, 7);
        put8(b, FZU_OVERCLAIM); put8(b, 1);
        /* More than one 64-byte read's worth, so that reads come back full. */
        u_input(b, alphabet, 60, false);
        u_input(b, alphabet, 60, true);
        put8(b, FZU_READ_RBR); put8(b, 20);
        put8(b, FZU_WRITE_THR); put8(b, 10); put_bytes(b, alphabet, 10);
        put8(b, FZU_BACKEND_READY);
        u_input(b, alphabet, 24, false);
        put8(b, FZU_SETUP); put8(b, 3);
        put8(b, FZU_BACKEND_READY);
        put8(b, FZU_READ_RBR); put8(b, 20);
        put8(b, FZU_OVERCLAIM); put8(b, 0);
    }

    /* Transmit against a backend that blocks, closes and comes back. */
    b = seed("uart", "edge-backend-blocked-closed-hv");
    put8(b, 1);
    put8(b, FZU_SETUP); put8(b, 7);
    put8(b, FZU_WRITE_BUDGET); put16(b, 3);
    u_write(b, VCON_UART_IER, 1, 0x02);
    put8(b, FZU_WRITE_THR); put8(b, 20); put_bytes(b, alphabet, 20);
    u_read(b, VCON_UART_LSR, 1);
    put8(b, FZU_WRITE_BUDGET); put16(b, 0xFFFF);
    put8(b, FZU_BACKEND_READY);
    u_read(b, VCON_UART_IIR_FCR, 1);
    put8(b, FZU_DISCONNECT);
    put8(b, FZU_WRITE_THR); put8(b, 4); put_str(b, "gone");
    put8(b, FZU_CONNECT);
    u_input(b, "back", 4, false);
    put8(b, FZU_PAUSE);
    u_input(b, "after", 5, false);
    put8(b, FZU_EOF);
    u_input(b, "x", 1, true);
    put8(b, FZU_READ_RBR); put8(b, 12);
    put8(b, FZU_CONNECT);
    put8(b, FZU_BACKEND_READY);
    put8(b, FZU_READ_RBR); put8(b, 12);

    /* Registers: DLAB, sizes 2 and 4, offsets past the last register, FCR
     * bits without bit 0, FIFO toggles with data in flight, reset. */
    for (unsigned combo = 0; combo < 8; combo += 3) {
        char name[64];
        snprintf(name, sizeof(name), "edge-registers-%s", uart_combo[combo]);
        b = seed("uart", name);
        put8(b, combo);
        u_write(b, VCON_UART_LCR, 1, 0x80);
        u_write(b, VCON_UART_DLL, 2, 0x0180);
        u_read(b, VCON_UART_DLL, 2);
        u_write(b, VCON_UART_LCR, 1, 0x1B);
        u_write(b, VCON_UART_IER, 1, 0xFF);
        u_read(b, VCON_UART_IER, 1);
        u_write(b, VCON_UART_IIR_FCR, 1, 0xC6);
        u_read(b, VCON_UART_IIR_FCR, 1);
        u_write(b, VCON_UART_IIR_FCR, 1, 0x41);
        u_input(b, alphabet, 30, true);
        u_write(b, VCON_UART_IIR_FCR, 1, 0x00);
        u_write(b, VCON_UART_IIR_FCR, 1, 0x07);
        u_write(b, 8, 1, 0x55);
        u_read(b, 9, 1);
        u_read(b, 7, 2);
        u_write(b, 2, 4, 0xFFFFu);
        u_read(b, 0, 4);
        u_read(b, 3, 3);
        u_write(b, VCON_UART_SCR, 1, 0x5A);
        u_read(b, VCON_UART_SCR, 1);
        put8(b, FZU_MODEM_LINES); put8(b, 0xF0);
        put8(b, FZU_MODEM_LINES); put8(b, 0x00);
        u_read(b, VCON_UART_MSR, 1);
        put8(b, FZU_RESET);
        u_read(b, VCON_UART_LSR, 1);
        put8(b, FZU_READ_RBR); put8(b, 3);
    }
}

/* ---- virtio-console seeds ------------------------------------------------- */

static void console_prologue(struct vcon_rig *rig)
{
    /* As fzc_begin: the console told its size, before anything else. */
    const struct vcon_rig_event size = {.kind = VCON_RIG_EV_RESIZE, .port = 0, .cols = 80,
                                        .rows = 25};
    (void)vcon_rig_apply(rig, &size);
}

/* The recorded-sessions console session (bring-up, data both ways on two
 * ports, resize, hot-plug and unplug), captured. */
static void console_session(void)
{
    struct buf *out = seed("console", "session-linux-multiport");
    put8(out, 0);
    struct vcon_rig *rig = cap_rig(FZC_CONFIG, FZC_RAM_SIZE, CAP_CONSOLE, out);
    console_prologue(rig);
    const struct vcon_session_options o = {.out_len = 40, .in_len = 56, .seed = 7};
    struct vcon_session_result res;
    cap.on = true;
    if (vcon_session_console(rig, &o, &res) != 0)
        die("console session failed");
    cap_done(rig);
}

static int settle(struct vcon_guest_console *g)
{
    for (unsigned i = 0; i < 64; i++) {
        const int runs = vcon_guest_console_service(g);
        if (runs <= 0)
            return runs;
    }
    return 0;
}

struct console_variant {
    const char *name;
    bool multiport, event_idx, indirect;
    enum vcon_guest_console_irq irq;
    unsigned rx_segs, tx_segs;
    bool restart, emerg, close;
};

/* The fake driver with other options: interrupt modes, ring features,
 * single port, segmented buffers, a restart, emergency writes. */
static void console_driver_variant(const struct console_variant *v, enum cap_format format,
                                   const char *target)
{
    struct buf *out = seed(target, v->name);
    if (format == CAP_CTRL)
        put8(out, (v->event_idx ? FZC_UP_EVENT_IDX : 0u) | (v->indirect ? FZC_UP_INDIRECT : 0u) |
                      FZC_UP_ALL_QUEUES);
    else
        put8(out, 0);
    struct vcon_rig *rig = cap_rig(FZC_CONFIG, FZC_RAM_SIZE, format, out);
    console_prologue(rig);
    struct vcon_guest_console_options go;
    vcon_guest_console_default_options(&go);
    go.bus = cap.info.pci_bus;
    go.io_base = cap.info.io_base;
    go.mmio_base = cap.info.mmio_base;
    go.intx_line = cap.info.irq_line;
    go.multiport = v->multiport;
    go.event_idx = v->event_idx;
    go.indirect = v->indirect;
    go.irq = v->irq;
    go.rx_bufs = 4;
    go.rx_buf_size = 64;
    go.rx_segs = v->rx_segs;
    go.tx_chunk = 48;
    go.tx_segs = v->tx_segs;
    go.chunk_seed = v->tx_segs > 1 ? 5 : 0;
    struct vcon_guest_console *g;
    if (vcon_guest_console_create(cap.vm, &go, &g) != 0)
        die("console driver");
    /* The control target brings the device up itself. */
    cap.on = format == CAP_CONSOLE;
    if (vcon_guest_console_probe(g) != 0)
        die("console probe failed");
    (void)settle(g);
    if (format == CAP_CTRL) {
        /* The bring-up's own messages and buffers are the target's to
         * make: start with what comes after them. */
        for (unsigned q = 2; q < 4; q++) {
            const struct vcon_virtq *vq = vcon_virtio_pci_queue(cap.t, q);
            uint8_t b[2];
            cap.seen_avail[q] = 0;
            if (vq != NULL && vcon_virtq_ready(vq) &&
                vcon_vm_guest_read(cap.vm, vq->avail_gpa + 2, b, 2) == 0)
                cap.seen_avail[q] = (uint16_t)(b[0] | b[1] << 8);
        }
        cap.on = true;
    }
    for (unsigned p = 0; p < vcon_guest_console_nr_ports(g); p++) {
        const struct vcon_guest_console_port *port = vcon_guest_console_port(g, p);
        if (port != NULL && port->present && !port->guest_open)
            (void)vcon_guest_console_open(g, p);
    }
    (void)settle(g);
    static const char hello[] = "console says hello, port by port\n";
    for (unsigned p = 0; p < 2; p++) {
        (void)vcon_guest_console_write(g, p, hello, sizeof(hello) - 1);
        (void)vcon_rig_feed(rig, 0, p, "typed on the host\n", 18);
        (void)settle(g);
    }
    if (v->emerg)
        for (const char *c = "EMERG"; *c; c++)
            (void)vcon_guest_console_emerg_write(g, (uint8_t)*c);
    const struct vcon_rig_event plug = {.kind = VCON_RIG_EV_HOTPLUG, .port = 3, .flag = 1,
                                        .is_console = 1, .name = "console"};
    const struct vcon_rig_event size = {.kind = VCON_RIG_EV_RESIZE, .port = 3, .cols = 100, .rows = 30};
    const struct vcon_rig_event closed = {.kind = VCON_RIG_EV_BACKEND_OPEN, .port = 1, .flag = 0};
    const struct vcon_rig_event opened = {.kind = VCON_RIG_EV_BACKEND_OPEN, .port = 1, .flag = 1};
    const struct vcon_rig_event unplug = {.kind = VCON_RIG_EV_HOTPLUG, .port = 3, .flag = 0};
    (void)vcon_rig_apply(rig, &plug);
    (void)settle(g);
    (void)vcon_rig_apply(rig, &size);
    (void)settle(g);
    (void)vcon_rig_apply(rig, &closed);
    (void)settle(g);
    (void)vcon_rig_apply(rig, &opened);
    (void)settle(g);
    if (v->close)
        (void)vcon_guest_console_close(g, 1);
    (void)vcon_rig_apply(rig, &unplug);
    (void)settle(g);
    if (v->restart) {
        (void)vcon_guest_console_restart(g);
        (void)settle(g);
        (void)vcon_guest_console_write(g, 0, hello, 8);
        (void)settle(g);
    }
    vcon_guest_console_destroy(g);
    cap_done(rig);
}

static const struct console_variant console_variants[] = {
    {"driver-msix-eventidx", true, true, false, VCON_GUEST_CONSOLE_MSIX, 1, 1, false, true, false},
    {"driver-msix-shared-indirect", true, false, true, VCON_GUEST_CONSOLE_MSIX_SHARED, 3, 4, false, false, true},
    {"driver-single-port", false, false, false, VCON_GUEST_CONSOLE_INTX, 1, 1, false, true, false},
    {"driver-restart", true, true, true, VCON_GUEST_CONSOLE_INTX, 2, 2, true, false, true},
};

/* Hand-written console ops. */
static void c_cfg(struct buf *b, bool write, unsigned off, unsigned size, uint32_t value)
{
    put8(b, write ? FZC_CFG_WRITE : FZC_CFG_READ);
    put16(b, off);
    put8(b, size_sel[size]);
    if (write)
        put32(b, value);
}

static void c_bar(struct buf *b, unsigned bar, bool write, unsigned off, unsigned size,
                  uint32_t value)
{
    put8(b, bar == 0 ? (write ? FZC_BAR0_WRITE : FZC_BAR0_READ)
                     : (write ? FZC_BAR1_WRITE : FZC_BAR1_READ));
    if (bar == 0)
        put8(b, off);
    else
        put16(b, off);
    put8(b, size_sel[size]);
    if (write)
        put32(b, value);
}

/* An op without operands (guest_step): its opcode alone. */
static void c_op0(struct buf *b, enum fzc_op op)
{
    put8(b, op);
}

static void c_op1(struct buf *b, enum fzc_op op, unsigned a)
{
    put8(b, op);
    put8(b, a);
}

static void c_post(struct buf *b, unsigned q, unsigned shape, unsigned len)
{
    put8(b, FZC_POST);
    put8(b, q);
    put8(b, shape);
    put16(b, len);
}

static void c_ctrl(struct buf *b, unsigned id, unsigned event, unsigned value, unsigned shape)
{
    put8(b, FZC_CTRL);
    put8(b, id);
    put8(b, event);
    put16(b, value);
    put8(b, shape);
}

static void c_desc(struct buf *b, unsigned q, unsigned index, uint32_t addr, unsigned len,
                   unsigned flags, unsigned next)
{
    put8(b, FZC_DESC);
    put8(b, q);
    put8(b, index);
    put32(b, addr);
    put16(b, len);
    put8(b, flags);
    put8(b, next);
}

static void c_input(struct buf *b, unsigned port, const char *text, bool ready)
{
    put8(b, ready ? FZC_INPUT_READY : FZC_INPUT);
    put8(b, port);
    put8(b, (unsigned)strlen(text));
    put_str(b, text);
}

static void console_edge_cases(void)
{
    struct buf *b;

    /* PCI: sizing, odd sizes and offsets, the extended space, BARs moved
     * and decoding off and on, INTx disabled. */
    b = seed("console", "edge-pci-config");
    put8(b, 0);
    c_cfg(b, false, 0, 4, 0);
    c_cfg(b, false, 0x3D, 1, 0);
    c_cfg(b, false, 0x40, 4, 0);
    c_cfg(b, true, 0x10, 4, 0xFFFFFFFFu);
    c_cfg(b, false, 0x10, 4, 0);
    c_cfg(b, true, 0x14, 4, 0xFFFFFFFFu);
    c_cfg(b, false, 0x14, 4, 0);
    c_cfg(b, true, 0x10, 4, 0xD000);
    c_cfg(b, true, 0x14, 4, 0xFE100000u);
    c_cfg(b, false, 0x06, 2, 0);
    c_cfg(b, true, 0x04, 2, 0x0407);
    c_cfg(b, false, 0x03, 2, 0);
    c_cfg(b, false, 0x800, 4, 0);
    c_cfg(b, true, 0xFFF, 1, 0x12);
    c_cfg(b, false, 0x42, 2, 0);
    c_cfg(b, false, 0x11, 3, 0);
    c_bar(b, 0, false, 0, 4, 0);
    c_cfg(b, true, 0x04, 2, 0x0000);
    c_bar(b, 0, false, 0, 4, 0);
    c_bar(b, 1, false, 0, 4, 0);
    c_cfg(b, true, 0x04, 2, 0x0003);
    c_bar(b, 0, false, 0x13, 1, 0);

    /* Legacy registers at every offset and size, before and after
     * DRIVER_OK; features after DRIVER_OK; queue numbers out of range. */
    b = seed("console", "edge-bar0-registers");
    put8(b, 0);
    for (unsigned off = 0; off < 0x20; off += 1)
        c_bar(b, 0, false, off, off % 3 == 0 ? 4 : off % 3 == 1 ? 2 : 1, 0);
    c_bar(b, 0, true, 0x0E, 2, 40);
    c_bar(b, 0, false, 0x0C, 2, 0);
    c_bar(b, 0, true, 0x08, 4, 0x20);
    c_bar(b, 0, true, 0x10, 2, 40);
    c_bar(b, 0, true, 0x00, 4, 0xFFFFFFFFu);
    c_bar(b, 0, true, 0x13, 1, 0xFF);
    c_bar(b, 0, true, 0x12, 2, 0x0F);
    c_op1(b, FZC_BRINGUP, FZC_UP_EVENT_IDX | FZC_UP_INDIRECT);
    c_bar(b, 0, true, 0x04, 4, 0xFFFFFFFFu);
    c_bar(b, 0, true, 0x1C, 4, 0x41);
    c_bar(b, 0, true, 0x20, 1, 0x21);
    c_bar(b, 0, false, 0x14, 4, 0);
    c_bar(b, 0, true, 0x14, 2, 0);
    c_bar(b, 0, true, 0x0E, 2, 0xFFFF);
    c_bar(b, 0, true, 0x08, 4, 0x1);
    c_op1(b, FZC_STATUS, 0);

    /* Malformed rings: loops, bad next, writable tx buffers, readable rx
     * buffers, buffers outside RAM, avail jumps, heads out of range. */
    b = seed("console", "edge-malformed-rings");
    put8(b, 0);
    c_op1(b, FZC_BRINGUP, 0);
    c_desc(b, 1, 0, 0x70000, 16, VCON_VIRTQ_DESC_F_NEXT, 1);
    c_desc(b, 1, 1, 0x70100, 16, VCON_VIRTQ_DESC_F_NEXT, 0);
    put8(b, FZC_AVAIL); put8(b, 1); put8(b, 0);
    c_op1(b, FZC_KICK, 1);
    c_post(b, 1, 0x01, 32);
    c_post(b, 0, 0x00, 32);
    c_desc(b, 0, 5, 0xFFFFFF00u, 512, VCON_VIRTQ_DESC_F_WRITE, 0);
    put8(b, FZC_AVAIL); put8(b, 0); put8(b, 5);
    c_input(b, 0, "data for a buffer outside RAM", true);
    c_desc(b, 5, 2, 0x71000, 64, VCON_VIRTQ_DESC_F_NEXT, 99);
    put8(b, FZC_AVAIL); put8(b, 5); put8(b, 2);
    c_op1(b, FZC_KICK, 5);
    put8(b, FZC_AVAIL); put8(b, 4); put8(b, 200);
    c_op1(b, FZC_KICK, 4);
    put8(b, FZC_FILL); put32(b, (16u + 2u * 3u) * 4096u + 16u * 16u + 2u); put16(b, 2); put8(b, 0x80);
    c_op1(b, FZC_KICK, 3);
    c_input(b, 1, "more", true);
    c_op0(b, FZC_GUEST_STEP);

    /* Buffers across the rig's RAM hole (FZC_CONFIG): first and last bytes
     * in RAM, the middle not (8 bytes before the hole: a control message
     * header fits, a name does not), on a port's receive and transmit
     * queues and on both control queues; then traffic for each. */
    b = seed("console", "edge-ram-hole");
    put8(b, 0);
    c_op1(b, FZC_BRINGUP, 0);
    c_op0(b, FZC_GUEST_STEP);
    c_op0(b, FZC_GUEST_STEP);
    for (unsigned q = 0; q < 4; q++) {
        const bool writable = q == 0 || q == 2;
        c_desc(b, q, 15, 0x800F8, 0x100, writable ? VCON_VIRTQ_DESC_F_WRITE : 0, 0);
        put8(b, FZC_AVAIL); put8(b, q); put8(b, 15);
    }
    /* The control message the transmit buffer starts with: an unknown port
     * (all zero would be DEVICE_READY 0, "setup failed", and no port
     * could be hot-plugged after it). */
    put8(b, FZC_FILL); put32(b, 0x800F8); put16(b, 8); put8(b, 0x01);
    c_op1(b, FZC_KICK, 3);
    c_op1(b, FZC_KICK, 2);
    c_op1(b, FZC_KICK, 1);
    c_op1(b, FZC_KICK, 0);
    /* Enough to fill the receive and control buffers posted before them. */
    for (unsigned i = 0; i < 4; i++)
        c_input(b, 0,
                "bytes for the buffers ahead of the one with a hole in it, and then for that "
                "one: the receive buffers a guest step posts hold 255 bytes each, two of them",
                true);
    put8(b, FZC_RESIZE); put8(b, 0); put16(b, 132); put16(b, 43);
    for (unsigned port = 3; port < 9; port++) {
        put8(b, FZC_HOTPLUG); put8(b, port); put8(b, 1); put8(b, port);
    }
    c_op0(b, FZC_GUEST_STEP);

    /* A control message across the rig's RAM hole: its header fits before
     * the hole, a port's name does not. The four control buffers of the
     * bring-up go to DEVICE_ADD for ports 0, 1, 9 and 10 (no guest step
     * posts more); the guest then makes port 9 ready, so its name waits,
     * and the only control buffer it gets is the one across the hole. */
    b = seed("console", "edge-ram-hole-ctrl");
    put8(b, 0);
    c_op1(b, FZC_BRINGUP, 0);
    put8(b, FZC_HOTPLUG); put8(b, 9); put8(b, 1); put8(b, 5);
    put8(b, FZC_HOTPLUG); put8(b, 10); put8(b, 1); put8(b, 7);
    c_ctrl(b, 9, VCON_CONSOLE_PORT_READY, 1, 0);
    for (unsigned i = 0; i < 3; i++) {
        c_desc(b, 2, 15, 0x800F8, 0x100, VCON_VIRTQ_DESC_F_WRITE, 0);
        put8(b, FZC_AVAIL); put8(b, 2); put8(b, 15);
        c_op1(b, FZC_KICK, 2);
    }
    c_op0(b, FZC_GUEST_STEP);

    /* Data both ways with segmented and indirect buffers, a backend that
     * blocks, closes and comes back, and the emergency register. */
    b = seed("console", "edge-data-paths");
    put8(b, 0);
    c_op1(b, FZC_BRINGUP, FZC_UP_INDIRECT);
    c_op0(b, FZC_GUEST_STEP);
    c_op0(b, FZC_GUEST_STEP);
    c_ctrl(b, 1, VCON_CONSOLE_PORT_OPEN, 1, 0);
    c_post(b, 4, 0x01 | 0x04 | 0x18, 300);
    put8(b, FZC_WRITE_BUDGET); put8(b, 1); put16(b, 7);
    c_post(b, 5, 0x00 | 0x08, 100);
    c_post(b, 5, 0x04 | 0x10, 64);
    put8(b, FZC_WRITE_BUDGET); put8(b, 1); put16(b, 0xFFFF);
    c_op1(b, FZC_BACKEND_READY, 1);
    c_input(b, 1, "from the host to port one", true);
    put8(b, FZC_SCRIPT); put8(b, 1); put8(b, 2);
    c_post(b, 5, 0x00, 20);
    c_op1(b, FZC_BACKEND_READY, 1);
    put8(b, FZC_SCRIPT); put8(b, 1); put8(b, 3);
    put8(b, FZC_BACKEND_OPEN); put8(b, 1); put8(b, 1);
    c_bar(b, 0, true, 0x1C, 1, 'E');
    c_bar(b, 0, true, 0x1C, 4, 'M');
    c_op0(b, FZC_GUEST_STEP);

    /* A host whose backends claim one byte more than they moved, both
     * ways, on the console port and a second port. */
    b = seed("console", "edge-host-overclaims");
    put8(b, 0);
    c_op1(b, FZC_BRINGUP, 0);
    c_op0(b, FZC_GUEST_STEP);
    c_op0(b, FZC_GUEST_STEP);
    put8(b, FZC_SCRIPT); put8(b, 0); put8(b, 0xC0);
    c_input(b, 0, "more than it says", true);
    c_input(b, 1, "port one", true);
    c_post(b, 1, 0x00, 40);
    c_post(b, 5, 0x04, 24);
    c_op0(b, FZC_GUEST_STEP);
    put8(b, FZC_SCRIPT); put8(b, 0); put8(b, 0x80);
    c_input(b, 0, "honest again", true);

    /* MSI-X: vectors, masking, pending bits, the PBA, disable with the
     * ISR set, then INTx again. */
    b = seed("console", "edge-msix");
    put8(b, 0);
    c_op1(b, FZC_MSIX, 0x02);
    c_op1(b, FZC_BRINGUP, 0);
    c_bar(b, 1, false, 0x800, 4, 0);
    c_cfg(b, true, 0x42, 2, 0x8000);
    c_bar(b, 1, false, 0x800, 8 - 4, 0);
    c_bar(b, 1, true, 0x0C, 4, 1);
    c_input(b, 0, "interrupt me", true);
    c_bar(b, 1, true, 0x0C, 4, 0);
    c_bar(b, 1, true, 0x900, 4, 1);
    c_bar(b, 1, false, 0x234, 2, 0);
    c_cfg(b, true, 0x42, 2, 0);
    c_bar(b, 0, false, 0x13, 1, 0);
    c_op1(b, FZC_MSIX, 0x01);
    c_op0(b, FZC_GUEST_STEP);

    /* Host events on every kind of port: absent, out of range, port 0. */
    b = seed("console", "edge-host-events");
    put8(b, 0x3F); /* destroy the device at the end */
    c_op1(b, FZC_BRINGUP, FZC_UP_ALL_QUEUES);
    c_op0(b, FZC_GUEST_STEP);
    for (unsigned port = 0; port < 20; port += 3) {
        put8(b, FZC_HOTPLUG); put8(b, port); put8(b, 3); put8(b, port % 8);
        put8(b, FZC_RESIZE); put8(b, port); put16(b, 200 + port); put16(b, 50);
        put8(b, FZC_BACKEND_OPEN); put8(b, port); put8(b, port & 1);
        c_op0(b, FZC_GUEST_STEP);
    }
    put8(b, FZC_HOTPLUG); put8(b, 0); put8(b, 0); put8(b, 0);
    put8(b, FZC_HOTPLUG); put8(b, 6); put8(b, 0); put8(b, 0);
    put8(b, FZC_HOTPLUG); put8(b, 31); put8(b, 1); put8(b, 2);
    c_op1(b, FZC_STATUS, 0);
    put8(b, FZC_HOTPLUG); put8(b, 9); put8(b, 0); put8(b, 0);
}

/* ---- console_ctrl seeds --------------------------------------------------- */

static void k_op(struct buf *b, enum fzc_op op)
{
    put8(b, fzc_ctrl_opcode(op));
}

static void k_ctrl(struct buf *b, unsigned id, unsigned event, unsigned value, unsigned shape)
{
    k_op(b, FZC_CTRL);
    put8(b, id);
    put8(b, event);
    put16(b, value);
    put8(b, shape);
}

static void ctrl_edge_cases(void)
{
    struct buf *b;

    /* Linux's answers, step by step, with hot-plug, names and resize. */
    b = seed("console_ctrl", "edge-guest-steps");
    put8(b, FZC_UP_ALL_QUEUES);
    for (unsigned i = 0; i < 4; i++)
        k_op(b, FZC_GUEST_STEP);
    k_op(b, FZC_HOTPLUG); put8(b, 2); put8(b, 1); put8(b, 0);
    k_op(b, FZC_HOTPLUG); put8(b, 7); put8(b, 3); put8(b, 5);
    k_op(b, FZC_GUEST_STEP);
    k_op(b, FZC_GUEST_STEP);
    k_op(b, FZC_RESIZE); put8(b, 7); put16(b, 132); put16(b, 43);
    k_op(b, FZC_RESIZE); put8(b, 0); put16(b, 100); put16(b, 40);
    k_op(b, FZC_BACKEND_OPEN); put8(b, 2); put8(b, 0);
    k_op(b, FZC_GUEST_STEP);
    k_op(b, FZC_HOTPLUG); put8(b, 2); put8(b, 0); put8(b, 0);
    k_op(b, FZC_GUEST_STEP);

    /* Every event from the guest, valid and not, and ids out of range. */
    b = seed("console_ctrl", "edge-every-event");
    put8(b, 0);
    k_op(b, FZC_GUEST_STEP);
    for (unsigned event = 0; event < 10; event++) {
        k_ctrl(b, event % 3 == 0 ? 0xFF : event % 3 == 1 ? 1 : 40, event, event & 1, 0);
        k_ctrl(b, 0, event, 1, 0);
    }
    k_ctrl(b, 1, VCON_CONSOLE_PORT_READY, 0, 0);
    k_ctrl(b, 0xFF, VCON_CONSOLE_DEVICE_READY, 0, 0);
    k_ctrl(b, 0xFF, VCON_CONSOLE_DEVICE_READY, 1, 0);
    k_op(b, FZC_GUEST_STEP);

    /* Message shapes: short, with payload, split, device-writable. */
    b = seed("console_ctrl", "edge-message-shapes");
    put8(b, FZC_UP_INDIRECT);
    k_op(b, FZC_GUEST_STEP);
    for (unsigned shape = 0; shape < 8; shape++)
        k_ctrl(b, 1, VCON_CONSOLE_PORT_OPEN, 1, shape);
    k_op(b, FZC_KICK); put8(b, 1);
    k_op(b, FZC_GUEST_STEP);

    /* Receive buffers too small for a name, readable, in pieces. */
    b = seed("console_ctrl", "edge-small-buffers");
    put8(b, FZC_UP_NO_CTRL_BUFS);
    k_op(b, FZC_POST); put8(b, 0); put8(b, 0x03); put16(b, 3);
    k_op(b, FZC_POST); put8(b, 0); put8(b, 0x02); put16(b, 64);
    k_op(b, FZC_POST); put8(b, 0); put8(b, 0x03); put16(b, 9);
    k_op(b, FZC_POST); put8(b, 0); put8(b, 0x1B); put16(b, 40);
    k_op(b, FZC_POST); put8(b, 0); put8(b, 0x23); put16(b, 0);
    k_op(b, FZC_KICK); put8(b, 0);
    k_ctrl(b, 0xFF, VCON_CONSOLE_DEVICE_READY, 1, 0);
    k_ctrl(b, 1, VCON_CONSOLE_PORT_READY, 1, 0);
    k_ctrl(b, 0, VCON_CONSOLE_PORT_READY, 1, 0);
    k_op(b, FZC_HOTPLUG); put8(b, 5); put8(b, 1); put8(b, 5);
    k_op(b, FZC_POST); put8(b, 0); put8(b, 0x01); put16(b, 20);
    k_ctrl(b, 5, VCON_CONSOLE_PORT_READY, 1, 0);
    k_op(b, FZC_GUEST_STEP);

    /* No buffers at all while the host keeps sending: the pending bound. */
    b = seed("console_ctrl", "edge-pending-full");
    put8(b, FZC_UP_NO_CTRL_BUFS | FZC_UP_ALL_QUEUES);
    k_ctrl(b, 0xFF, VCON_CONSOLE_DEVICE_READY, 1, 0);
    for (unsigned i = 0; i < 40; i++) {
        k_op(b, FZC_BACKEND_OPEN); put8(b, i % 2); put8(b, i & 2 ? 1 : 0);
        k_op(b, FZC_RESIZE); put8(b, 0); put16(b, 80 + i); put16(b, 25);
        k_op(b, FZC_HOTPLUG); put8(b, 2 + i % 14); put8(b, (i / 14) % 2 == 0 ? 1 : 0); put8(b, i % 8);
    }
    k_op(b, FZC_GUEST_STEP);

    /* Reset in the middle of the conversation. */
    b = seed("console_ctrl", "edge-reset-midway");
    put8(b, 0);
    k_op(b, FZC_GUEST_STEP);
    k_op(b, FZC_STATUS); put8(b, 0);
    k_ctrl(b, 1, VCON_CONSOLE_PORT_READY, 1, 0);
    k_op(b, FZC_STATUS); put8(b, 7);
    k_op(b, FZC_GUEST_STEP);
}

/* ---- virtq seeds ------------------------------------------------------------ */

static void v_desc(struct buf *b, unsigned index, unsigned addr, unsigned len, unsigned flags,
                   unsigned next)
{
    put8(b, FZV_DESC);
    put8(b, index);
    put16(b, addr);
    put16(b, len);
    put8(b, flags);
    put8(b, next);
}

static void v_table(struct buf *b, unsigned table, unsigned entry, unsigned addr, unsigned len,
                    unsigned flags, unsigned next)
{
    put8(b, FZV_TABLE);
    put16(b, table);
    put8(b, entry);
    put16(b, addr);
    put16(b, len);
    put8(b, flags);
    put8(b, next);
}

static void v_avail(struct buf *b, unsigned head)
{
    put8(b, FZV_AVAIL);
    put16(b, head);
}

static void v_op(struct buf *b, enum fzv_op op)
{
    put8(b, op);
}

static void v_rw(struct buf *b, bool write, unsigned slot, unsigned off, unsigned len)
{
    put8(b, write ? FZV_WRITE : FZV_READ);
    put8(b, slot);
    put16(b, off);
    put16(b, len);
    if (write)
        put8(b, 0x30);
}

static void v_push(struct buf *b, unsigned slot, uint32_t len)
{
    put8(b, FZV_PUSH);
    put8(b, slot);
    put32(b, len);
}

/* The header: flags and the page of the ring (page = 1 + byte % 15). */
static struct buf *v_seed(const char *name, bool event_idx, bool indirect, unsigned log2size,
                          unsigned page)
{
    struct buf *b = seed("virtq", name);
    put8(b, (event_idx ? 1u : 0u) | (indirect ? 2u : 0u) | log2size << 2);
    put8(b, page - 1);
    return b;
}

/* Chains written by the guest-side ring of harness/guest/vring.h, captured
 * as MEM ops: what a Linux-like driver puts in guest memory. */
static void virtq_from_guest_ring(bool event_idx, bool indirect, const char *name)
{
    struct vcon_vm *vm;
    struct vcon_guest_vring *r = calloc(1, sizeof(*r));
    if (r == NULL || vcon_vm_create(64u * 1024u, &vm) != 0)
        die("virtq seed");
    struct buf *b = v_seed(name, event_idx, indirect, 3, 2);
    (void)vcon_guest_vring_init(r, vm, 8, 2u * 4096u, event_idx);
    const struct vcon_guest_buf out[2] = {{0x8000, 40}, {0x8100, 24}};
    const struct vcon_guest_buf in[2] = {{0x9000, 64}, {0x9200, 16}};
    uint8_t data[64];
    for (unsigned i = 0; i < sizeof(data); i++)
        data[i] = (uint8_t)(i * 7 + 1);
    (void)vcon_vm_guest_write(vm, 0x8000, data, 40);
    (void)vcon_vm_guest_write(vm, 0x8100, data, 24);
    (void)vcon_guest_vring_add(r, out, 2, in, 1, 1);
    (void)vcon_guest_vring_add(r, NULL, 0, in + 1, 1, 2);
    if (indirect)
        (void)vcon_guest_vring_add_indirect(r, out, 2, in, 2, 3, 0xA000);
    vcon_guest_vring_want_interrupts(r, true);
    /* Every byte the guest wrote, as MEM ops. */
    for (uint64_t gpa = 0x2000; gpa < 0xB000; gpa += 255) {
        uint8_t chunk[255];
        const size_t n = 0xB000 - gpa < 255 ? (size_t)(0xB000 - gpa) : 255;
        (void)vcon_vm_guest_read(vm, gpa, chunk, n);
        bool zero = true;
        for (size_t i = 0; i < n && zero; i++)
            zero = chunk[i] == 0;
        if (zero)
            continue;
        put8(b, FZV_MEM);
        put16(b, (unsigned)gpa);
        put8(b, (unsigned)n);
        put_bytes(b, chunk, n);
    }
    v_op(b, FZV_HAS_WORK);
    v_op(b, FZV_POP_ALL);
    v_rw(b, false, 0, 0, 100);
    v_rw(b, false, 0, 30, 100);
    v_rw(b, true, 0, 0, 100);
    v_rw(b, true, 1, 8, 4);
    v_push(b, 0, 64);
    v_push(b, 0, 1000);
    v_op(b, FZV_SHOULD_NOTIFY);
    v_push(b, 0, 0);
    v_op(b, FZV_SHOULD_NOTIFY);
    put8(b, FZV_SET_KICKS); put8(b, 1);
    v_op(b, FZV_HAS_WORK);
    vcon_vm_destroy(vm);
    free(r);
}

static void virtq_edge_cases(void)
{
    struct buf *b;
    const unsigned W = VCON_VIRTQ_DESC_F_WRITE, N = VCON_VIRTQ_DESC_F_NEXT,
                   I = VCON_VIRTQ_DESC_F_INDIRECT;

    b = v_seed("edge-chain-errors", false, true, 3, 3);
    v_desc(b, 0, 0x8000, 16, N, 1); v_desc(b, 1, 0x8100, 16, N, 0); v_avail(b, 0); /* loop */
    v_desc(b, 2, 0x8000, 16, N, 9); v_avail(b, 2);                                /* next range */
    v_desc(b, 3, 0x8000, 16, W | N, 4); v_desc(b, 4, 0x8100, 16, 0, 0); v_avail(b, 3); /* direction */
    v_desc(b, 5, 0xFFF0, 0x20, 0, 0); v_avail(b, 5);                              /* outside RAM */
    v_desc(b, 6, 0x8000, 0, W, 0); v_avail(b, 6);                                 /* zero length */
    put8(b, FZV_DESC_RAW); put16(b, 7); put64(b, UINT64_MAX - 3); put32(b, 16); put16(b, 0); put16(b, 0);
    v_avail(b, 7);                                                                /* wraps */
    v_op(b, FZV_POP_ALL);
    put8(b, FZV_DESC_RAW); put16(b, 0); put64(b, 0x8000); put32(b, 0xFFFFFFFFu); put16(b, W | N); put16(b, 1);
    put8(b, FZV_DESC_RAW); put16(b, 1); put64(b, 0x8000); put32(b, 0xFFFFFFFFu); put16(b, W); put16(b, 0);
    v_avail(b, 0);                                                                /* length overflow */
    v_op(b, FZV_POP_ALL);
    v_op(b, FZV_SHOULD_NOTIFY);

    b = v_seed("edge-indirect", true, true, 2, 4);
    v_table(b, 0xA000, 0, 0x8000, 32, N, 1);
    v_table(b, 0xA000, 1, 0x8100, 48, W, 0);
    v_desc(b, 0, 0xA000, 32, I, 0); v_avail(b, 0);                   /* good */
    v_desc(b, 1, 0xA000, 32, I | N, 2); v_avail(b, 1);               /* indirect with NEXT */
    v_desc(b, 2, 0xA000, 24, I, 0); v_avail(b, 2);                   /* length not x16 */
    v_table(b, 0xA100, 0, 0xA000, 32, I, 0);
    v_desc(b, 3, 0xA100, 16, I, 0); v_avail(b, 3);                   /* nested */
    v_table(b, 0xA200, 0, 0x8000, 8, N, 0);
    v_desc(b, 0, 0xA200, 16, I, 0); v_avail(b, 0);                   /* loop in a table */
    v_op(b, FZV_POP_ALL);
    v_rw(b, false, 0, 0, 200);
    v_rw(b, true, 0, 40, 200);
    v_push(b, 0, 48);
    v_op(b, FZV_SHOULD_NOTIFY);

    b = v_seed("edge-indirect-not-negotiated", false, false, 2, 5);
    v_table(b, 0xA000, 0, 0x8000, 32, 0, 0);
    v_desc(b, 0, 0xA000, 16, I, 0); v_avail(b, 0);
    v_op(b, FZV_POP);

    b = v_seed("edge-queue-broken", false, false, 2, 6);
    v_avail(b, 9);                                                   /* head out of range */
    v_op(b, FZV_POP);
    v_op(b, FZV_POP);
    v_push(b, 0, 1);
    put8(b, FZV_SETUP); put8(b, 2 << 2); put8(b, 6);
    put8(b, FZV_AVAIL_IDX); put16(b, 9);                             /* avail jump */
    v_op(b, FZV_HAS_WORK);
    v_op(b, FZV_POP);
    put8(b, FZV_SETUP); put8(b, 7 << 2); put8(b, 15);                /* used ring outside RAM */
    put8(b, FZV_CHAIN); put8(b, 0); put8(b, 1); put8(b, 1); put8(b, 31);
    v_op(b, FZV_POP);
    v_push(b, 0, 4);
    put8(b, FZV_SETUP); put8(b, 0); put8(b, 17);                     /* ring outside RAM */
    v_op(b, FZV_HAS_WORK);
    v_op(b, FZV_RESET);
    v_op(b, FZV_POP);

    b = v_seed("edge-head-in-use-unpop", false, false, 3, 7);
    put8(b, FZV_CHAIN); put8(b, 2); put8(b, 2); put8(b, 1); put8(b, 63);
    v_avail(b, 2);                                                   /* the same head again */
    v_op(b, FZV_POP);
    v_op(b, FZV_UNPOP);
    v_op(b, FZV_UNPOP);
    v_op(b, FZV_POP);
    v_op(b, FZV_POP);
    v_push(b, 0, 64);
    put8(b, FZV_PUSH_RAW); put16(b, 2); put32(b, 1);
    put8(b, FZV_PUSH_RAW); put16(b, 300); put32(b, 1);
    v_op(b, FZV_UNPOP);

    b = v_seed("edge-notify-event-idx", true, false, 2, 8);
    for (unsigned i = 0; i < 4; i++) {
        put8(b, FZV_CHAIN); put8(b, i); put8(b, 0); put8(b, 1); put8(b, 15);
    }
    put8(b, FZV_USED_EVENT); put16(b, 2);
    for (unsigned i = 0; i < 4; i++) {
        v_op(b, FZV_POP);
        v_push(b, 0, 8);
        v_op(b, FZV_SHOULD_NOTIFY);
    }
    put8(b, FZV_SET_KICKS); put8(b, 1);
    put8(b, FZV_SET_KICKS); put8(b, 0);
    put8(b, FZV_USED_EVENT); put16(b, 0xFFFF);
    v_op(b, FZV_SHOULD_NOTIFY);

    b = v_seed("edge-notify-flags", false, false, 1, 9);
    put8(b, FZV_AVAIL_FLAGS); put16(b, VCON_VIRTQ_AVAIL_F_NO_INTERRUPT);
    put8(b, FZV_CHAIN); put8(b, 0); put8(b, 0); put8(b, 0); put8(b, 7);
    v_op(b, FZV_POP);
    v_push(b, 0, 0);
    v_op(b, FZV_SHOULD_NOTIFY);
    v_op(b, FZV_SHOULD_NOTIFY);
    put8(b, FZV_AVAIL_FLAGS); put16(b, 0);
    put8(b, FZV_CHAIN); put8(b, 1); put8(b, 0); put8(b, 1); put8(b, 7);
    v_op(b, FZV_POP_ALL);
    v_push(b, 0, 3);
    v_op(b, FZV_SHOULD_NOTIFY);
    put8(b, FZV_SET_KICKS); put8(b, 0);
    put8(b, FZV_SET_KICKS); put8(b, 1);

    /* The largest queue, full, with long chains. */
    b = v_seed("edge-full-queue", false, true, 7, 1);
    for (unsigned i = 0; i < 128; i += 8) {
        put8(b, FZV_CHAIN); put8(b, i); put8(b, 7); put8(b, 3); put8(b, 255);
    }
    v_op(b, FZV_POP_ALL);
    for (unsigned i = 0; i < 16; i++) {
        v_rw(b, true, i, 100, 2000);
        v_push(b, 0, 0xFFFFFFFFu);
    }
    v_op(b, FZV_SHOULD_NOTIFY);
}

/* ---- option seeds ----------------------------------------------------------- */

static void opt(const char *name, unsigned mode, const char *text)
{
    struct buf *b = seed("options", name);
    put8(b, mode);
    put_str(b, text);
}

/* fuzz_api (fuzzers/fuzz_api.c): the creation calls and host-facing API
 * with binary arguments. */
static void api_seeds(void)
{
    const unsigned every_callback = 0x7F, timers_half_set = 0x80 | 0x3F;
    struct buf *b = seed("api", "uart");
    put8(b, every_callback);
    put8(b, 0); put8(b, 0); put8(b, 1); put8(b, 0); put16(b, 0); put16(b, 64);
    put8(b, 0); put8(b, 1); put8(b, 1); put8(b, 2); put16(b, 9000); put16(b, 0);
    b = seed("api", "uart-half-timers");
    put8(b, timers_half_set);
    put8(b, 0); put8(b, 1); put8(b, 0); put8(b, 0); put16(b, 16); put16(b, 0);

    /* Two ports, then port calls: add, remove, resize, get, past the end. */
    b = seed("api", "console");
    put8(b, every_callback);
    put8(b, 1); put8(b, 2); put16(b, 6); put16(b, 3); put8(b, 0);
    put8(b, 8);
    put8(b, 0); put8(b, 1); put8(b, 2); put8(b, 1); put8(b, 3); put8(b, 0); put8(b, 4); put8(b, 5);
    put8(b, 1); put8(b, 0); put8(b, 8); put8(b, 1); put8(b, 0); put8(b, 9); put8(b, 12); put8(b, 0);
    put8(b, 1); put8(b, 17); put16(b, 7); put16(b, 1); put8(b, 4); put8(b, 0);
    put8(b, 1); put8(b, 4); put16(b, 5); put16(b, 5); put8(b, 2); put8(b, 0);

    b = seed("api", "virtio-pci");
    put8(b, every_callback);
    put8(b, 2); put8(b, 3); put16(b, 6); put16(b, 8); put8(b, 0);
    put8(b, 6);
    put8(b, 0); put16(b, 0); put8(b, 4); put16(b, 0); put8(b, 1); put16(b, 30);
    put8(b, 0x80); put16(b, 0); put8(b, 0x18); put16(b, 25); put8(b, 0x19); put16(b, 30);
    put8(b, 2); put8(b, 3); put16(b, 6); put16(b, 4); put8(b, 2);
    put8(b, 2); put8(b, 0x18); put16(b, 24); put8(b, 0x19); put16(b, 26);
    put8(b, 2); put8(b, 1); put16(b, 6); put16(b, 400); put8(b, 0); put8(b, 0);
    put8(b, 2); put8(b, 1); put16(b, 6); put16(b, 0); put8(b, 1); put8(b, 0);

    b = seed("api", "virtq");
    put8(b, every_callback);
    put8(b, 3); put16(b, 64); put32(b, 1); put8(b, 0);
    put8(b, 5);
    put8(b, 0x23); put8(b, 0x55); put8(b, 0x9A); put8(b, 0x40); put8(b, 0x1F);
    b = seed("api", "virtq-bad");
    put8(b, 0x04);
    put8(b, 3); put16(b, 48); put32(b, 2); put8(b, 1); put8(b, 0);
    put8(b, 3); put16(b, 2048); put32(b, 0); put8(b, 0); put8(b, 0);

    /* Each allocation of a valid creation failing in turn (the selector
     * carries which: (selector / 5) % 8). */
    b = seed("api", "out-of-memory");
    put8(b, every_callback);
    for (unsigned nth = 1; nth <= 5; nth++) {
        put8(b, 0 + 5 * nth); put8(b, 1); put8(b, 0); put8(b, 0); put16(b, 0); put16(b, 0);
        put8(b, 1 + 5 * nth); put8(b, 2); put16(b, 6); put16(b, 3); put8(b, 0); put8(b, 0);
        put8(b, 2 + 5 * nth); put8(b, 2); put16(b, 6); put16(b, 8); put8(b, 0); put8(b, 0);
    }

    b = seed("api", "parsers");
    put8(b, 0);
    put8(b, 4);
}

static void option_seeds(void)
{
    opt("cmdline-lpc-com1-console", FZO_COMMAND_LINE,
        "s1:0,lpc\nmcom1,stdio\nmcom2,/dev/pts/3\ns5,virtio-console,@stdio:stdio_port,@pty:pty_port");
    opt("cmdline-all-com-tcp", FZO_COMMAND_LINE,
        "s0:31:7,lpc\nmCOM1,tcp:4444\nmcom2,tcp:localhost:1\nmcom3,tcp:10.0.0.1:65535\n"
        "mcom4,/dev/ttyS0\nmcom5,stdio");
    opt("cmdline-errors", FZO_COMMAND_LINE | FZO_ERR_17,
        "s\ns3\ns0:1:2:3,lpc\ns:1:0,lpc\ns0x1f,lpc\ns256:1:0,lpc\ns32,lpc\ns1:8,lpc\ns3,\n"
        "s3,virtio-net,tap0\ns1,lpc,x\ns1:1:0,lpc\ns4,virtio-console\ns1,lpc\ns2,lpc\ns1,lpc\n"
        "mcom9,stdio\nmcom1\nmcom1,stdio\nmCOM1,stdio\nm,stdio\nmcom6,stdio");
    opt("cmdline-com-without-lpc", FZO_COMMAND_LINE, "mcom3,stdio");
    opt("cmdline-duplicate-address", FZO_COMMAND_LINE | FZO_ERR_1,
        "s3,virtio-console,@stdio:a\ns3,virtio-console,pty:b\ns0:3:0,lpc");
    opt("backend-forms", FZO_UART_BACKEND, "tcp:127.0.0.1:8080");
    opt("backend-path", FZO_UART_BACKEND, "/dev/pts/12");
    opt("backend-bad-address", FZO_UART_BACKEND | FZO_ERR_NONE, "tcp:01.2.3.4:80");
    opt("backend-port-range", FZO_UART_BACKEND, "tcp:99999999999999999999");
    opt("backend-junk", FZO_UART_BACKEND, "tcp:1.2.3.4:80:90");
    opt("backend-blank-in-path", FZO_UART_BACKEND, "/dev/tty S0");
    opt("console-all-kinds", FZO_CONSOLE_OPTIONS,
        "@stdio:con0,tty:t1=/dev/ttyS1,PTY:p2,file:f3=/var/log/vcon=a:b,socket:s4=/run/s.sock:client,"
        "socket:s5=rel/path");
    opt("console-errors", FZO_CONSOLE_OPTIONS | FZO_ERR_17, "stdio:a,,pty:b");
    opt("console-bad-name", FZO_CONSOLE_OPTIONS, "pty:bad name");
    opt("console-duplicate", FZO_CONSOLE_OPTIONS, "pty:a,pty:a");
    opt("console-stdio-twice", FZO_CONSOLE_OPTIONS, "stdio:a,stdio:b");
    opt("console-socket-type", FZO_CONSOLE_OPTIONS, "socket:s=/x:tcp");
    opt("console-17-ports", FZO_CONSOLE_OPTIONS,
        "pty:a,pty:b,pty:c,pty:d,pty:e,pty:f,pty:g,pty:h,pty:i,pty:j,pty:k,pty:l,pty:m,pty:n,"
        "pty:o,pty:p,pty:q");
    opt("console-control-byte", FZO_CONSOLE_OPTIONS, "file:f=/tmp/\x01x");
    opt("rig-two-uarts", FZO_RIG,
        "-s 1:0,lpc --uart-profile acrn-dm -l com1,stdio --uart-flavour hv --uart-irq edge -l com2,stdio");
    opt("rig-console", FZO_RIG, "--console-queue-size 8 -s 3,virtio-console,@stdio:p0,pty:p1");
    opt("rig-no-multiport", FZO_RIG, "--console-no-multiport -s 4,virtio-console,pty:only");
    opt("rig-errors", FZO_RIG | FZO_ERR_17, "-s 1:0,lpc --uart-profile 16550b -l com1,stdio");
    opt("rig-queue-size", FZO_RIG, "--console-queue-size 1000 -s 3,virtio-console,pty:x");
    opt("all-parsers", FZO_ALL, "com1,stdio");
}

/* ---- trace seeds -------------------------------------------------------------- */

static uint8_t *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        die("cannot read a temporary trace");
    struct buf b = {0};
    uint8_t chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        put_bytes(&b, chunk, n);
    fclose(f);
    *len = b.len;
    return b.p;
}

static char tmp_dir[256];

static void tmp_path(char *out, size_t len, const char *name)
{
    snprintf(out, len, "%s/%s", tmp_dir, name);
}

/* Record `session` on a rig of `config` into a plain trace, then write it
 * again with the fixed build id (plain, or zstd when `compressed`), and
 * return its bytes. */
typedef void session_fn(struct vcon_rig *rig);

static uint8_t *record(const char *config, size_t ram, session_fn *session, bool compressed,
                       size_t *len)
{
    char raw[300], out[300], err[256];
    tmp_path(raw, sizeof(raw), "raw.pcap");
    tmp_path(out, sizeof(out), compressed ? "seed.pcap.zst" : "seed.pcap");
    const struct vcon_trace_writer_options plain = {.plain = 1};
    const struct vcon_recorder_options ro = {.path = raw, .seed = 1, .writer = &plain,
                                             .no_crash_flush = 1};
    struct vcon_recorder *rec;
    struct vcon_rig *rig;
    if (vcon_recorder_create(&ro, &rec) != 0 ||
        vcon_rig_create(config, ram, vcon_recorder_hooks(rec), &rig, err, sizeof(err)) != 0 ||
        vcon_recorder_start(rec, rig) != 0)
        die("recording a trace seed");
    session(rig);
    if (vcon_recorder_finish(rec) != 0)
        die("recording a trace seed");
    vcon_rig_destroy(rig);
    vcon_recorder_destroy(rec);

    /* Again, with the fixed build id. */
    struct vcon_trace_reader *r;
    struct vcon_trace_event ev;
    uint64_t t;
    if (vcon_trace_reader_open(raw, &r) != 0 || vcon_trace_reader_next(r, &t, &ev) != 1)
        die("reading a recorded trace");
    struct vcon_trace_meta meta = ev.meta;
    meta.build_id = SEED_BUILD_ID;
    meta.build_id_len = (uint16_t)strlen(SEED_BUILD_ID);
    const struct vcon_trace_writer_options wo = {.plain = compressed ? 0 : 1, .level = 3};
    struct vcon_trace_writer *w;
    if (vcon_trace_writer_open(out, &meta, &wo, &w) != 0)
        die("writing a trace seed");
    int rc;
    while ((rc = vcon_trace_reader_next(r, &t, &ev)) == 1)
        if (vcon_trace_writer_append(w, t, &ev) != 0)
            die("writing a trace seed");
    if (rc != 0 || vcon_trace_writer_close(w) != 0)
        die("copying a trace seed");
    vcon_trace_reader_close(r);
    uint8_t *bytes = slurp(out, len);
    unlink(raw);
    unlink(out);
    return bytes;
}

static void small_uart_session(struct vcon_rig *rig)
{
    const struct vcon_session_options o = {.out_len = 6, .in_len = 9, .seed = 3};
    struct vcon_session_result res;
    if (vcon_session_uart(rig, &o, &res) != 0)
        die("UART session for a trace");
}

/* A short console run: a minimal bring-up and one byte each way, by hand
 * (the Linux-like driver sets up every queue of 16 ports, too much for a
 * small seed). */
static void small_console_session(struct vcon_rig *rig)
{
    struct vcon_vm *vm = vcon_rig_vm(rig);
    struct vcon_rig_device_info info;
    (void)vcon_rig_device_info(rig, 0, &info);
    const uint16_t io = info.io_base;
    vcon_vm_write(vm, VCON_SPACE_PIO, io + VCON_VIRTIO_PCI_STATUS, 1, 3);
    (void)vcon_vm_read(vm, VCON_SPACE_PIO, io + VCON_VIRTIO_PCI_HOST_FEATURES, 4);
    vcon_vm_write(vm, VCON_SPACE_PIO, io + VCON_VIRTIO_PCI_GUEST_FEATURES, 4,
                  1u << VCON_CONSOLE_F_EMERG_WRITE);
    for (unsigned q = 0; q < 2; q++) {
        vcon_vm_write(vm, VCON_SPACE_PIO, io + VCON_VIRTIO_PCI_QUEUE_SEL, 2, q);
        vcon_vm_write(vm, VCON_SPACE_PIO, io + VCON_VIRTIO_PCI_QUEUE_PFN, 4, 2 + 2 * q);
    }
    vcon_vm_write(vm, VCON_SPACE_PIO, io + VCON_VIRTIO_PCI_STATUS, 1, 7);
    /* An rx buffer on queue 0 and a tx buffer on queue 1 (size 8 rings). */
    uint8_t d[16] = {0};
    d[1] = 0x80; /* addr 0x8000 */
    d[8] = 16;
    d[12] = VCON_VIRTQ_DESC_F_WRITE;
    (void)vcon_vm_guest_write(vm, 2u * 4096u, d, 16);
    const uint8_t avail0[4] = {0, 0, 1, 0}, ring0[2] = {0, 0};
    (void)vcon_vm_guest_write(vm, 2u * 4096u + 8u * 16u + 4u, ring0, 2);
    (void)vcon_vm_guest_write(vm, 2u * 4096u + 8u * 16u, avail0, 4);
    d[1] = 0x90;
    d[8] = 5;
    d[12] = 0;
    (void)vcon_vm_guest_write(vm, 4u * 4096u, d, 16);
    (void)vcon_vm_guest_write(vm, 0x9000, "howdy", 5);
    (void)vcon_vm_guest_write(vm, 4u * 4096u + 8u * 16u + 4u, ring0, 2);
    (void)vcon_vm_guest_write(vm, 4u * 4096u + 8u * 16u, avail0, 4);
    vcon_vm_write(vm, VCON_SPACE_PIO, io + VCON_VIRTIO_PCI_QUEUE_NOTIFY, 2, 1);
    (void)vcon_rig_feed(rig, 0, 0, "hi", 2);
    (void)vcon_vm_read(vm, VCON_SPACE_PIO, io + VCON_VIRTIO_PCI_ISR, 1);
    vcon_vm_write(vm, VCON_SPACE_PIO, io + VCON_VIRTIO_PCI_CONFIG_NO_MSIX + VCON_CONSOLE_CFG_EMERG_WR,
                  1, '!');
}

#define SMALL_CONSOLE "--console-queue-size 8 -s 3,virtio-console,@stdio:p0"

/* A copy of a trace with `len` bytes. */
static void add_trace(const char *target, const char *name, const uint8_t *bytes, size_t len)
{
    struct buf *b = seed(target, name);
    put_bytes(b, bytes, len);
}

/* The offset of pcap packet `n` (0: META) in a plain trace, or 0. */
static size_t packet_offset(const uint8_t *t, size_t len, unsigned n)
{
    size_t off = 24;
    for (unsigned i = 0; i < n && off + 16 <= len; i++)
        off += 16 + ((size_t)t[off + 8] | (size_t)t[off + 9] << 8 | (size_t)t[off + 10] << 16 |
                     (size_t)t[off + 11] << 24);
    return off + 16 <= len ? off : 0;
}

static void trace_seeds(void)
{
    size_t ulen, clen, zlen;
    uint8_t *uart = record("-s 1:0,lpc -l com1,stdio", 4096, small_uart_session, false, &ulen);
    uint8_t *console = record(SMALL_CONSOLE, 64u * 1024u, small_console_session, false, &clen);
    uint8_t *zst = record(SMALL_CONSOLE, 64u * 1024u, small_console_session, true, &zlen);

    for (unsigned i = 0; i < 2; i++) {
        const char *target = i ? "replay" : "trace_reader";
        add_trace(target, "uart-session.pcap", uart, ulen);
        add_trace(target, "console-session.pcap", console, clen);
        add_trace(target, "console-session.pcap.zst", zst, zlen);
        /* Cut short: in the middle of an event, and after META only. */
        add_trace(target, "uart-truncated.pcap", uart, ulen * 2 / 3);
        const size_t first = packet_offset(uart, ulen, 1);
        if (first)
            add_trace(target, "uart-meta-only.pcap", uart, first);
        add_trace(target, "console-truncated.pcap.zst", zst, zlen - 7);
        /* An output changed: a divergence (the last READ_RESULT's value). */
        uint8_t *edit = malloc(ulen);
        memcpy(edit, uart, ulen);
        for (unsigned n = 200; n > 0; n--) {
            const size_t off = packet_offset(edit, ulen, n);
            if (off != 0 && edit[off + 16 + 8] == VCON_TRACE_READ_RESULT) {
                edit[off + 16 + 12] ^= 0x5A;
                break;
            }
        }
        add_trace(target, "uart-diverged.pcap", edit, ulen);
        free(edit);
    }
    /* The reader's own edge cases: headers only, wrong magic, a packet
     * longer than the snap length, a future major version in META. */
    struct buf *b = seed("trace_reader", "header-only.pcap");
    put_bytes(b, uart, 24);
    b = seed("trace_reader", "bad-magic.pcap");
    put_bytes(b, uart, 24);
    b->p[0] ^= 0xFF;
    b = seed("trace_reader", "huge-packet.pcap");
    put_bytes(b, uart, 24 + 16 + 8);
    b->p[24 + 8] = 0xFF;
    b->p[24 + 9] = 0xFF;
    b->p[24 + 10] = 0xFF;
    b->p[24 + 11] = 0x7F;
    const size_t meta_end = packet_offset(uart, ulen, 1);
    b = seed("trace_reader", "future-version.pcap");
    put_bytes(b, uart, meta_end ? meta_end : ulen);
    if (meta_end)
        b->p[24 + 16 + VCON_TRACE_HEADER_SIZE] = 9; /* version_major */
    free(uart);
    free(console);
    free(zst);
}


/* ---- dictionaries ------------------------------------------------------------ */

/* corpus/TARGET.dict: whole ops with the values that matter (register
 * offsets, feature bits, status values, control events), in libFuzzer's
 * and AFL++'s dictionary syntax. Written from the same op numbers as the
 * seeds, so they never disagree. */
static struct buf *dict_buf;

static void dict_entry(const char *name, const struct buf *op)
{
    char line[64];
    put_str(dict_buf, name);
    put_str(dict_buf, "=\"");
    for (size_t i = 0; i < op->len; i++) {
        snprintf(line, sizeof(line), "\\x%02X", op->p[i]);
        put_str(dict_buf, line);
    }
    put_str(dict_buf, "\"\n");
}

static struct buf *dict_begin(const char *target, const char *about)
{
    char name[64];
    snprintf(name, sizeof(name), "%s.dict", target);
    dict_buf = seed("", name);
    put_str(dict_buf, "# ");
    put_str(dict_buf, about);
    put_str(dict_buf, "\n# Written by make-seed-corpus; do not edit (docs/fuzzing.md).\n");
    return dict_buf;
}

static void dict_text(const char *name, const char *text)
{
    struct buf b = {0};
    put_str(&b, text);
    dict_entry(name, &b);
    free(b.p);
}

static void uart_dict(void)
{
    static const struct {
        const char *name;
        unsigned off, value;
    } writes[] = {
        {"lcr_dlab", 3, 0x80}, {"lcr_8n1", 3, 0x03}, {"lcr_break", 3, 0x43}, {"lcr_8e2", 3, 0x1F},
        {"dll_1", 0, 0x01}, {"dlm_0", 1, 0x00}, {"ier_all", 1, 0x0F}, {"ier_thri", 1, 0x02},
        {"ier_rdi_rlsi", 1, 0x05}, {"fcr_enable", 2, 0x01}, {"fcr_clear", 2, 0x07},
        {"fcr_trigger14", 2, 0xC7}, {"fcr_off", 2, 0x00}, {"mcr_out2", 4, 0x0B},
        {"mcr_loop", 4, 0x1B}, {"scr", 7, 0x5A}, {"thr", 0, 0x41},
    };
    dict_begin("uart", "fuzz_uart: register writes and reads, host events, time steps");
    for (size_t i = 0; i < sizeof(writes) / sizeof(writes[0]); i++) {
        struct buf b = {0};
        put8(&b, FZU_WRITE);
        put8(&b, writes[i].off);
        put16(&b, writes[i].value);
        dict_entry(writes[i].name, &b);
        free(b.p);
    }
    static const char *const reads[] = {"read_rbr", "read_ier", "read_iir", "read_lcr",
                                        "read_mcr", "read_lsr", "read_msr", "read_scr"};
    for (unsigned off = 0; off < 8; off++) {
        struct buf b = {0};
        put8(&b, FZU_READ);
        put8(&b, off);
        dict_entry(reads[off], &b);
        free(b.p);
    }
    struct buf b = {0};
    put8(&b, FZU_LINE_ERROR); put8(&b, 0); put8(&b, VCON_UART_LSR_BI | VCON_UART_LSR_FE);
    dict_entry("break", &b);
    b.len = 0;
    put8(&b, FZU_LINE_ERROR); put8(&b, 'p'); put8(&b, VCON_UART_LSR_PE);
    dict_entry("parity_error", &b);
    b.len = 0;
    put8(&b, FZU_MODEM_LINES); put8(&b, 0xF0);
    dict_entry("modem_all", &b);
    b.len = 0;
    put8(&b, FZU_TIME_CHARS); put8(&b, 16); put8(&b, 0);
    dict_entry("four_char_times", &b);
    b.len = 0;
    put8(&b, FZU_TIME_TIMER); put8(&b, 1);
    dict_entry("to_timer", &b);
    b.len = 0;
    put8(&b, FZU_SETUP); put8(&b, 7);
    dict_entry("linux_open", &b);
    b.len = 0;
    put8(&b, FZU_INPUT_READY); put8(&b, 4); put_str(&b, "abcd");
    dict_entry("input", &b);
    free(b.p);
}

static void virtq_dict(void)
{
    dict_begin("virtq", "fuzz_virtq: descriptor flags, chains, engine calls");
    struct buf b = {0};
    static const struct {
        const char *name;
        unsigned flags;
    } descs[] = {{"desc_next", VCON_VIRTQ_DESC_F_NEXT}, {"desc_write", VCON_VIRTQ_DESC_F_WRITE},
                 {"desc_write_next", VCON_VIRTQ_DESC_F_WRITE | VCON_VIRTQ_DESC_F_NEXT},
                 {"desc_indirect", VCON_VIRTQ_DESC_F_INDIRECT}};
    for (size_t i = 0; i < sizeof(descs) / sizeof(descs[0]); i++) {
        b.len = 0;
        v_desc(&b, 0, 0x8000, 32, descs[i].flags, 1);
        dict_entry(descs[i].name, &b);
    }
    b.len = 0;
    v_table(&b, 0xA000, 0, 0x8000, 16, VCON_VIRTQ_DESC_F_WRITE, 0);
    dict_entry("table_entry", &b);
    b.len = 0;
    v_avail(&b, 0);
    dict_entry("avail_0", &b);
    b.len = 0;
    put8(&b, FZV_AVAIL_FLAGS); put16(&b, VCON_VIRTQ_AVAIL_F_NO_INTERRUPT);
    dict_entry("no_interrupt", &b);
    b.len = 0;
    put8(&b, FZV_CHAIN); put8(&b, 0); put8(&b, 2); put8(&b, 1); put8(&b, 63);
    dict_entry("chain", &b);
    b.len = 0;
    v_op(&b, FZV_POP_ALL);
    dict_entry("pop_all", &b);
    b.len = 0;
    v_push(&b, 0, 16);
    dict_entry("push", &b);
    b.len = 0;
    put8(&b, FZV_DESC_RAW); put16(&b, 0); put64(&b, UINT64_MAX); put32(&b, 0xFFFFFFFFu);
    put16(&b, VCON_VIRTQ_DESC_F_NEXT); put16(&b, 0xFFFF);
    dict_entry("desc_raw_extremes", &b);
    free(b.p);
}

static void console_dict(const char *target, bool ctrl)
{
    dict_begin(target, ctrl ? "fuzz_console_ctrl: control messages, buffers, host events"
                            : "fuzz_console: PCI, legacy registers, feature bits, status, "
                              "control events, host events");
    struct buf b = {0};
#define OP(op) put8(&b, ctrl ? fzc_ctrl_opcode(op) : (unsigned)(op))
    if (!ctrl) {
        static const struct {
            const char *name;
            unsigned off, size;
            uint32_t value;
        } regs[] = {
            {"status_ack_driver", VCON_VIRTIO_PCI_STATUS, 1, 3},
            {"status_driver_ok", VCON_VIRTIO_PCI_STATUS, 1, 7},
            {"status_reset", VCON_VIRTIO_PCI_STATUS, 1, 0},
            {"status_failed", VCON_VIRTIO_PCI_STATUS, 1, 0x80},
            {"features_multiport", VCON_VIRTIO_PCI_GUEST_FEATURES, 4,
             1u << VCON_CONSOLE_F_MULTIPORT | 1u << VCON_CONSOLE_F_SIZE |
                 1u << VCON_CONSOLE_F_EMERG_WRITE},
            {"features_ring", VCON_VIRTIO_PCI_GUEST_FEATURES, 4,
             1u << VCON_VIRTIO_F_RING_EVENT_IDX | 1u << VCON_VIRTIO_F_RING_INDIRECT_DESC |
                 1u << VCON_CONSOLE_F_MULTIPORT},
            {"queue_sel_3", VCON_VIRTIO_PCI_QUEUE_SEL, 2, 3},
            {"queue_pfn", VCON_VIRTIO_PCI_QUEUE_PFN, 4, 0x20},
            {"notify_3", VCON_VIRTIO_PCI_QUEUE_NOTIFY, 2, 3},
            {"config_vector", VCON_VIRTIO_MSI_CONFIG_VECTOR, 2, 0},
            {"queue_vector", VCON_VIRTIO_MSI_QUEUE_VECTOR, 2, 1},
            {"emerg_wr", VCON_VIRTIO_PCI_CONFIG_NO_MSIX + VCON_CONSOLE_CFG_EMERG_WR, 1, 'A'},
        };
        for (size_t i = 0; i < sizeof(regs) / sizeof(regs[0]); i++) {
            b.len = 0;
            c_bar(&b, 0, true, regs[i].off, regs[i].size, regs[i].value);
            dict_entry(regs[i].name, &b);
        }
        b.len = 0;
        c_bar(&b, 0, false, VCON_VIRTIO_PCI_ISR, 1, 0);
        dict_entry("read_isr", &b);
        b.len = 0;
        c_cfg(&b, true, VCON_PCI_COMMAND, 2, 7);
        dict_entry("command_decode", &b);
        b.len = 0;
        c_cfg(&b, true, VCON_PCI_COMMAND, 2, 0x407);
        dict_entry("command_intx_off", &b);
        b.len = 0;
        c_cfg(&b, true, VCON_VIRTIO_PCI_MSIX_CAP + VCON_PCI_MSIX_FLAGS, 2, VCON_PCI_MSIX_FLAGS_ENABLE);
        dict_entry("msix_enable", &b);
        b.len = 0;
        c_cfg(&b, true, VCON_PCI_BASE_ADDRESS_0, 4, 0xFFFFFFFFu);
        dict_entry("bar_sizing", &b);
        b.len = 0;
        c_bar(&b, 1, true, VCON_PCI_MSIX_ENTRY_VECTOR_CTRL, 4, 0);
        dict_entry("msix_unmask", &b);
        b.len = 0;
        c_op1(&b, FZC_BRINGUP, 0);
        dict_entry("bringup", &b);
        b.len = 0;
        c_op1(&b, FZC_MSIX, 0);
        dict_entry("msix_setup", &b);
    }
    static const struct {
        const char *name;
        unsigned id, event, value;
    } msgs[] = {
        {"device_ready", 0xFF, VCON_CONSOLE_DEVICE_READY, 1},
        {"port_ready_1", 1, VCON_CONSOLE_PORT_READY, 1},
        {"port_ready_0", 0, VCON_CONSOLE_PORT_READY, 1},
        {"port_open_1", 1, VCON_CONSOLE_PORT_OPEN, 1},
        {"port_close_1", 1, VCON_CONSOLE_PORT_OPEN, 0},
        {"guest_sends_resize", 0, VCON_CONSOLE_RESIZE, 0},
        {"guest_sends_name", 1, VCON_CONSOLE_PORT_NAME, 1},
        {"bad_event", 1, 8, 1},
    };
    for (size_t i = 0; i < sizeof(msgs) / sizeof(msgs[0]); i++) {
        b.len = 0;
        OP(FZC_CTRL);
        put8(&b, msgs[i].id);
        put8(&b, msgs[i].event);
        put16(&b, msgs[i].value);
        put8(&b, 0);
        dict_entry(msgs[i].name, &b);
    }
    b.len = 0;
    OP(FZC_GUEST_STEP);
    dict_entry("guest_step", &b);
    b.len = 0;
    OP(FZC_POST); put8(&b, ctrl ? 0 : 2); put8(&b, 0x01); put16(&b, 127);
    dict_entry("post_rx", &b);
    b.len = 0;
    OP(FZC_HOTPLUG); put8(&b, 2); put8(&b, 3); put8(&b, 0);
    dict_entry("hotplug_console", &b);
    b.len = 0;
    OP(FZC_HOTPLUG); put8(&b, 2); put8(&b, 0); put8(&b, 0);
    dict_entry("unplug", &b);
    b.len = 0;
    OP(FZC_RESIZE); put8(&b, 0); put16(&b, 132); put16(&b, 43);
    dict_entry("resize", &b);
    b.len = 0;
    OP(FZC_BACKEND_OPEN); put8(&b, 1); put8(&b, 0);
    dict_entry("backend_closed", &b);
    b.len = 0;
    OP(FZC_INPUT_READY); put8(&b, 1); put8(&b, 4); put_str(&b, "data");
    dict_entry("input", &b);
#undef OP
    free(b.p);
}

static void options_dict(void)
{
    static const char *const words[] = {
        "lpc", "virtio-console", "com1", "com5", "stdio", "tcp:", "localhost", "127.0.0.1",
        "65535", "/dev/ttyS0", "@", "pty:", "tty:", "file:", "socket:", ":server", ":client",
        "=", ",", ":", "\n", "-s ", "-l ", "--uart-profile ", "acrn-dm", "16550a",
        "--uart-flavour ", "hv", "dm", "--uart-irq ", "edge", "level", "--console-no-multiport",
        "--console-queue-size ", "1024", "0:31:7",
    };
    dict_begin("options", "fuzz_options: the option syntaxes' words");
    for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
        char name[32];
        snprintf(name, sizeof(name), "w%zu", i);
        dict_text(name, words[i]);
    }
}

static void trace_dict(const char *target)
{
    dict_begin(target, "trace files: pcap and zstd magic numbers, link type, event kinds");
    struct buf b = {0};
    put32(&b, VCON_TRACE_PCAP_MAGIC);
    dict_entry("pcap_magic_ns", &b);
    b.len = 0;
    put32(&b, 0xFD2FB528u);
    dict_entry("zstd_magic", &b);
    b.len = 0;
    put32(&b, VCON_TRACE_LINKTYPE);
    dict_entry("linktype_user0", &b);
    b.len = 0;
    put32(&b, VCON_TRACE_SNAPLEN);
    dict_entry("snaplen", &b);
    for (unsigned k = 0; k < VCON_TRACE_KIND_COUNT; k++) {
        char name[40];
        b.len = 0;
        put16(&b, k);
        snprintf(name, sizeof(name), "kind_%s", vcon_trace_kind_name(k));
        for (char *c = name; *c; c++)
            if (*c >= 'A' && *c <= 'Z')
                *c = (char)(*c - 'A' + 'a');
        dict_entry(name, &b);
    }
    b.len = 0;
    put16(&b, VCON_TRACE_VERSION_MAJOR);
    put16(&b, VCON_TRACE_VERSION_MINOR);
    dict_entry("version", &b);
    free(b.p);
}

/* ---- writing and checking ------------------------------------------------------ */

static const char *const targets[] = {"uart", "virtq", "console_ctrl", "console", "options",
                                      "api", "trace_reader", "replay"};

/* Two traces with the same events (compressed files are compared by
 * content: zstd's bytes may differ between library versions). */
static bool same_trace(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
    struct vcon_trace_reader *ra, *rb;
    struct vcon_trace_event ea, eb;
    uint64_t ta, tb;
    static uint8_t ba[VCON_TRACE_SNAPLEN], bb[VCON_TRACE_SNAPLEN];
    if (vcon_trace_reader_open_memory(a, alen, &ra) != 0 ||
        vcon_trace_reader_open_memory(b, blen, &rb) != 0)
        die("out of memory");
    bool same = true;
    for (;;) {
        const int x = vcon_trace_reader_next(ra, &ta, &ea);
        const int y = vcon_trace_reader_next(rb, &tb, &eb);
        if (x != y) {
            same = false;
            break;
        }
        if (x != 1)
            break;
        const int na = vcon_trace_event_encode(&ea, ba, sizeof(ba), NULL, 0);
        const int nb = vcon_trace_event_encode(&eb, bb, sizeof(bb), NULL, 0);
        if (ta != tb || na != nb || na < 0 || memcmp(ba, bb, (size_t)na) != 0) {
            same = false;
            break;
        }
    }
    vcon_trace_reader_close(ra);
    vcon_trace_reader_close(rb);
    return same;
}

static bool ends_with(const char *s, const char *suffix)
{
    const size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

static int check(const char *dir)
{
    int differences = 0;
    char path[600];
    for (size_t i = 0; i < nr_seeds; i++) {
        const struct seed *s = &seeds[i];
        if (s->target[0])
            snprintf(path, sizeof(path), "%s/%s/%s", dir, s->target, s->name);
        else
            snprintf(path, sizeof(path), "%s/%s", dir, s->name);
        FILE *f = fopen(path, "rb");
        if (f == NULL) {
            fprintf(stderr, "missing: %s\n", path);
            differences++;
            continue;
        }
        fclose(f);
        size_t len;
        uint8_t *have = slurp(path, &len);
        const bool same = ends_with(s->name, ".zst")
                              ? same_trace(have, len, s->data.p, s->data.len)
                              : len == s->data.len && memcmp(have, s->data.p, len) == 0;
        if (!same) {
            fprintf(stderr, "differs: %s\n", path);
            differences++;
        }
        free(have);
    }
    for (size_t t = 0; t < sizeof(targets) / sizeof(targets[0]); t++) {
        snprintf(path, sizeof(path), "%s/%s", dir, targets[t]);
        DIR *d = opendir(path);
        if (d == NULL)
            continue;
        for (struct dirent *e = readdir(d); e != NULL; e = readdir(d)) {
            /* Reproducers of fixed bugs (regress-*) and the overnight
             * runner's finds (found/) are kept by hand, not generated. */
            if (e->d_name[0] == '.' || strncmp(e->d_name, "regress-", 8) == 0 ||
                strcmp(e->d_name, "found") == 0)
                continue;
            bool known = false;
            for (size_t i = 0; i < nr_seeds && !known; i++)
                known = strcmp(seeds[i].target, targets[t]) == 0 &&
                        strcmp(seeds[i].name, e->d_name) == 0;
            if (!known) {
                fprintf(stderr, "not generated: %s/%s\n", path, e->d_name);
                differences++;
            }
        }
        closedir(d);
    }
    if (differences)
        fprintf(stderr, "make-seed-corpus: %d difference(s); run make-seed-corpus %s\n",
                differences, dir);
    else
        fprintf(stderr, "make-seed-corpus: %zu seeds up to date\n", nr_seeds);
    return differences ? 1 : 0;
}

static void write_all(const char *dir)
{
    char path[600];
    if (mkdir(dir, 0777) != 0 && errno != EEXIST)
        die("cannot create the corpus folder");
    for (size_t t = 0; t < sizeof(targets) / sizeof(targets[0]); t++) {
        snprintf(path, sizeof(path), "%s/%s", dir, targets[t]);
        if (mkdir(path, 0777) != 0 && errno != EEXIST)
            die("cannot create a target folder");
        /* Seeds no longer generated go; the committed reproducers of fixed
         * bugs (regress-*) and what the overnight runner found (found/)
         * are not the generator's and stay. */
        DIR *d = opendir(path);
        if (d == NULL)
            die("cannot read a target folder");
        for (struct dirent *e = readdir(d); e != NULL; e = readdir(d)) {
            if (e->d_name[0] == '.' || strncmp(e->d_name, "regress-", 8) == 0 ||
                strcmp(e->d_name, "found") == 0)
                continue;
            char file[900];
            snprintf(file, sizeof(file), "%s/%s", path, e->d_name);
            unlink(file);
        }
        closedir(d);
    }
    for (size_t i = 0; i < nr_seeds; i++) {
        if (seeds[i].target[0])
            snprintf(path, sizeof(path), "%s/%s/%s", dir, seeds[i].target, seeds[i].name);
        else
            snprintf(path, sizeof(path), "%s/%s", dir, seeds[i].name);
        FILE *f = fopen(path, "wb");
        if (f == NULL || fwrite(seeds[i].data.p, 1, seeds[i].data.len, f) != seeds[i].data.len ||
            fclose(f) != 0)
            die("cannot write a seed");
    }
    fprintf(stderr, "make-seed-corpus: wrote %zu seeds and dictionaries under %s\n", nr_seeds, dir);
}

static void generate_all(void)
{
    uart_sessions();
    uart_driver_variants();
    uart_edge_cases();
    console_session();
    for (size_t i = 0; i < sizeof(console_variants) / sizeof(console_variants[0]); i++) {
        console_driver_variant(&console_variants[i], CAP_CONSOLE, "console");
        console_driver_variant(&console_variants[i], CAP_CTRL, "console_ctrl");
    }
    console_edge_cases();
    ctrl_edge_cases();
    virtq_from_guest_ring(false, false, "guest-ring-direct");
    virtq_from_guest_ring(true, true, "guest-ring-indirect-event-idx");
    virtq_edge_cases();
    option_seeds();
    api_seeds();
    trace_seeds();
    uart_dict();
    virtq_dict();
    console_dict("console", false);
    console_dict("console_ctrl", true);
    options_dict();
    trace_dict("trace_reader");
    trace_dict("replay");
}

static void free_seeds(struct seed *list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(list[i].data.p);
    free(list);
}

/* Generate twice in this process and compare every byte. */
static int check_determinism(void)
{
    generate_all();
    struct seed *first = seeds;
    const size_t nr_first = nr_seeds;
    seeds = NULL;
    nr_seeds = cap_seeds = 0;
    generate_all();
    int differences = nr_first == nr_seeds ? 0 : 1;
    for (size_t i = 0; i < nr_first && i < nr_seeds; i++) {
        if (strcmp(first[i].target, seeds[i].target) != 0 ||
            strcmp(first[i].name, seeds[i].name) != 0 || first[i].data.len != seeds[i].data.len ||
            memcmp(first[i].data.p, seeds[i].data.p, first[i].data.len) != 0) {
            fprintf(stderr, "make-seed-corpus: %s/%s differs between two runs\n", first[i].target,
                    first[i].name);
            differences++;
        }
    }
    fprintf(stderr, "make-seed-corpus: %zu seeds, %s\n", nr_seeds,
            differences ? "NOT deterministic" : "the same twice");
    free_seeds(first, nr_first);
    return differences ? 1 : 0;
}

int main(int argc, char **argv)
{
    bool check_only = false, determinism = false;
    const char *dir = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--check") == 0)
            check_only = true;
        else if (strcmp(argv[i], "--determinism") == 0)
            determinism = true;
        else if (strcmp(argv[i], "--help") == 0) {
            printf("usage: %s [--check] CORPUS_DIR | --determinism\n", argv[0]);
            return 0;
        } else
            dir = argv[i];
    }
    if (dir == NULL && !determinism) {
        fprintf(stderr, "usage: %s [--check] CORPUS_DIR | --determinism\n", argv[0]);
        return 2;
    }
    const char *tmp = getenv("TMPDIR");
    snprintf(tmp_dir, sizeof(tmp_dir), "%s/make-seed-corpus.XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (mkdtemp(tmp_dir) == NULL)
        die("cannot create a temporary folder");
    int rc;
    if (determinism) {
        rc = check_determinism();
    } else {
        generate_all();
        rc = check_only ? check(dir) : (write_all(dir), 0);
    }
    rmdir(tmp_dir);
    free_seeds(seeds, nr_seeds);
    return rc;
}
