/* The virtio-console targets' shared machinery (fuzz_console_common.h).
 *
 * Everything reaches the device through the rig: PCI configuration and BAR
 * accesses through the VM bus, guest memory through vcon_vm_guest_write,
 * host events through vcon_rig_apply, backend data through the scripted
 * backends. So a recorded run replays.
 *
 * After every primitive (one bus access, one guest-memory write, one host
 * event) the checks run:
 *   - INTx: the line is up exactly while the ISR is not 0, INTx is not
 *     disabled in COMMAND and MSI-X is off (the ISR read without side
 *     effects through PCI STATUS); the transport's own idea of the line
 *     agrees; MSI messages seen by the VM equal the transport's count;
 *   - conservation: every byte read from a backend was written to the
 *     guest or counted lost (rx_bytes + rx_lost_bytes), every byte a backend
 *     took is counted (tx_bytes + emerg_bytes), backends gave exactly what
 *     was queued; every control message taken from the guest is counted
 *     once (ctrl_in + ctrl_malformed), every control buffer used once
 *     (ctrl_out + ctrl_bad_buffers);
 *   - queues: no chain stays outstanding except a port's held transmit
 *     chain, and a held chain is outstanding; new used elements name a head
 *     of the queue and fit the chain's writable bytes;
 *   - ports: an absent port is neither ready, open nor holding a chain; the
 *     pending control messages stay under their bound;
 * and at the seam, as each happens:
 *   - the device writes guest memory only in used rings and in buffers the
 *     guest made device-writable;
 *   - the bytes it writes after a backend read are exactly those bytes, in
 *     order, before it reads the backend again;
 *   - the bytes it offers a backend are exactly the bytes it just read from
 *     the guest's buffer (or the emergency-write byte). */
#define _POSIX_C_SOURCE 200809L
#include "fuzz_console_common.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "harness/invariants.h"
#include "harness/console_model.h"
#include "harness/console_rings.h"
#include "harness/rig.h"
#include "vcon/virtio_pci.h"
#include "vcon/virtq.h"

#define CONSOLE_DEVICE 0u
#define NR_PORTS VCON_CONSOLE_MAX_PORTS
#define PAGE 4096u
#define RING_FIRST_PAGE 16u   /* queue q's ring at page 16 + 2q */
#define BUF_BASE 0x60000u     /* POST buffers: 512 bytes per (queue, descriptor) */
#define BUF_SIZE 512u
#define BUF_SLOTS 544u
#define TABLE_BASE 0xB0000u   /* POST indirect tables: 64 bytes per (queue, descriptor) */
#define CTRL_BUF_BASE 0xC0000u /* CTRL messages: 64 bytes per descriptor of queue 3 */
#define DESC_BYTES 16u

const char *const fzc_op_names[FZC_OP_COUNT] = {
    "cfg_read", "cfg_write", "bar0_read", "bar0_write", "bar1_read", "bar1_write", "mem",
    "fill", "kick", "queue_setup", "desc", "avail", "post", "ctrl", "guest_step", "input",
    "input_ready", "backend_ready", "backend_open", "script", "write_budget", "hotplug",
    "resize", "time", "status", "bringup", "msix",
};

/* The ports FZC_CONFIG plugs at creation. */
static const struct {
    bool present, is_console;
    const char *name;
} initial_port[NR_PORTS] = {{true, true, "p0"}, {true, false, "p1"}};

/* Names for hot-plugged ports, the longest one at the limit. */
static const char *const hot_names[] = {
    "p2", "p1", "console", "", "org.example.port.3",
    "a123456789b123456789c123456789d123456789e123456789f123456789abc", "p0", "x",
};


struct fzc {
    struct vcon_fuzz_rig fr;
    struct vcon_rig *rig;
    struct vcon_vm *vm;
    struct vcon_console *con;
    struct vcon_virtio_pci *t;
    struct vcon_rig_device_info info;
    unsigned nr_queues;
    /* The transport's queues, ready or not (they live as long as the rig):
     * the checks after every primitive look at each of them, and a call
     * per queue per check was a tenth of the target's time. */
    struct vcon_virtq *vq[FZC_NR_QUEUES];
    bool destroy_at_end;

    /* What this input did that the next reset has to undo. */
    bool bar1_written;
    bool port_touched[NR_PORTS];

    /* The fake guest. */
    uint64_t fed[NR_PORTS];
    uint16_t guest_next[FZC_NR_QUEUES]; /* POST: next descriptor index */
    uint16_t guest_used[FZC_NR_QUEUES]; /* GUEST_STEP: next used entry */
    uint16_t ctrl_next;                 /* CTRL: next descriptor index */

    /* Checks. */
    bool checking;
    /* Where the device may write (harness/console_rings.h, shared with
     * vcon-replay --check); a step is one primitive. */
    struct vcon_console_rings rings;
    /* The bytes' conservation and the counters (harness/console_model.h,
     * shared with vcon-replay --check). */
    struct vcon_console_model model;

    /* Per port, backend bytes taken and fed when the port's backend was
     * last checked: only those two change what it holds. */
    uint64_t checked_taken[NR_PORTS], checked_fed[NR_PORTS];
    uint16_t seen_used[FZC_NR_QUEUES];
    bool seen_valid[FZC_NR_QUEUES];

    /* Values at the start of the input (observable results). */
    struct vcon_console_stats stats0;
    uint64_t raises0;
};

static struct fzc Z;

/* ---- small helpers ----------------------------------------------------- */

static uint16_t le16(const uint8_t *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, uint32_t v)
{
    for (unsigned i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/* The harness reads guest RAM in place, not through a copy: under ASan
 * every copy of a variable length is a memcpy call that checks both of its
 * ranges (a tenth of console_ctrl's seeds, perf), and these ranges are RAM
 * and the harness's own buffers. NULL where [gpa, gpa + len) is not RAM. */
static const uint8_t *guest_bytes(uint64_t gpa, size_t len)
{
    return vcon_vm_guest_view(Z.vm, gpa, len);
}

static bool guest_read16(uint64_t gpa, uint16_t *v)
{
    const uint8_t *b = guest_bytes(gpa, 2);
    if (b == NULL)
        return false;
    *v = le16(b);
    return true;
}

static struct vcon_virtq *queue(unsigned q)
{
    return q < Z.nr_queues && vcon_virtq_ready(Z.vq[q]) ? Z.vq[q] : NULL;
}

static bool port_ok(unsigned port)
{
    return port < NR_PORTS;
}

/* ---- the seam ------------------------------------------------------------ */

static void seam_hook(void *arg, unsigned device, enum vcon_fuzz_seam_event ev, uint64_t where,
                      const void *buf, size_t len)
{
    const uint8_t *bytes = buf;
    (void)arg;
    (void)device;
    if (!Z.checking)
        return;
    struct vcon_invariant_failure why;
    bool held = true;
    switch (ev) {
    case VCON_FUZZ_MEM_READ:
        vcon_console_model_mem_read(&Z.model, bytes, len);
        break;
    case VCON_FUZZ_MEM_WRITE:
        held = vcon_console_model_mem_write(&Z.model, bytes, len, &why) &&
               vcon_console_rings_device_write(&Z.rings, where, bytes, len, &why);
        break;
    case VCON_FUZZ_MEM_WRITE_FAILED:
        vcon_console_model_mem_write_failed(&Z.model);
        break;
    case VCON_FUZZ_BACKEND_READ:
        held = vcon_console_model_backend_read(&Z.model, bytes, len, &why);
        break;
    case VCON_FUZZ_BACKEND_WRITE:
        held = vcon_console_model_backend_write(&Z.model, (unsigned)where, bytes, len, &why);
        break;
    }
    if (!held)
        vcon_fuzz_fail_invariant(&why);
}

/* ---- checks after every primitive --------------------------------------- */

/* New used elements are part of the run's results. Whether each names a
 * head and fits its chain was checked as the device wrote it
 * (harness/console_rings.c): by now the guest may have written over it
 * (its rings are where it put them; another queue's descriptor table can
 * lie on this used ring), so what is read here is not judged. */
static void observe_used_rings(void)
{
    for (unsigned q = 0; q < Z.nr_queues; q++) {
        const struct vcon_virtq *vq = Z.vq[q];
        /* Not set up (size 0), or nothing published since the last look:
         * the common cases, read from the queue's fields directly. */
        if (vq->size == 0) {
            Z.seen_valid[q] = false;
            continue;
        }
        if (Z.seen_valid[q] && vq->used_idx == Z.seen_used[q])
            continue;
        uint16_t from = Z.seen_valid[q] ? Z.seen_used[q] : 0;
        if ((uint16_t)(vq->used_idx - from) > vq->size)
            from = vq->used_idx >= vq->size ? (uint16_t)(vq->used_idx - vq->size) : 0;
        for (uint16_t i = from; i != vq->used_idx && !Z.rings.selfmod; i++) {
            const uint64_t gpa = vq->used_gpa + 4u + 8u * (uint64_t)(i & (vq->size - 1u));
            const uint8_t *elem = guest_bytes(gpa, 8);
            if (elem == NULL)
                break;
            const uint32_t id = le32(elem), len = le32(elem + 4);
            vcon_fuzz_observe_u64((uint64_t)q << 48 | (uint64_t)id << 32 | len);
        }
        Z.seen_used[q] = vq->used_idx;
        Z.seen_valid[q] = true;
    }
}

static void check_after(void)
{
    struct vcon_invariant_failure why;
    const struct vcon_fuzz_seam *seam = &Z.fr.seam[CONSOLE_DEVICE];

    /* INTx against ISR, COMMAND and MSI-X; chains outstanding; absent
     * ports; the control backlog (harness/invariants.h). */
    if (!vcon_check_console(Z.con, Z.vm, Z.info.irq_line, &why))
        vcon_fuzz_fail_invariant(&why);

    uint64_t taken = 0, written = 0;
    for (unsigned p = 0; p < NR_PORTS; p++) {
        taken += seam->backend_taken[p];
        written += seam->backend_written[p];
        if (seam->backend_taken[p] == Z.checked_taken[p] && Z.fed[p] == Z.checked_fed[p])
            continue;
        VCON_FUZZ_CHECK(seam->backend_taken[p] +
                                vcon_script_pending_input(vcon_rig_backend(Z.rig, CONSOLE_DEVICE, p)) ==
                            Z.fed[p],
                        "console backend: bytes taken plus bytes pending equal bytes queued");
        Z.checked_taken[p] = seam->backend_taken[p];
        Z.checked_fed[p] = Z.fed[p];
    }
    /* Bytes received, lost, sent; MSIs; control chains. */
    /* (The rig has one device: every MSI the VM got is the console's.) */
    if (!vcon_console_model_after(&Z.model, Z.con, vcon_vm_msi_count(Z.vm), taken, written, &why))
        vcon_fuzz_fail_invariant(&why);
    observe_used_rings();
}

/* Every primitive is bracketed by these. Inside a macro (a bring-up, a
 * posted buffer, a guest step) the checks after each primitive wait for
 * the macro's end: the identities they check are sums, so they hold over
 * the macro as a whole, and the seam checks still run at every access. */
static unsigned macro_depth;

static void prim_begin(void)
{
    vcon_console_rings_step(&Z.rings);
}

static void prim_end(void)
{
    if (Z.checking && macro_depth == 0)
        check_after();
}

static void macro_begin(void)
{
    macro_depth++;
}

static void macro_end(void)
{
    if (--macro_depth == 0 && Z.checking)
        check_after();
}

/* ---- primitives: bus accesses, guest memory, host events ------------------ */

static const unsigned access_sizes[4] = {1, 2, 3, 4}; /* as fuzz_uart: 3 never reaches a device */

static uint64_t cfg_addr(unsigned offset)
{
    return VCON_PCI_CONFIG_ADDR(Z.info.pci_bus, Z.info.pci_slot, Z.info.pci_func, offset & 0xFFFu);
}

static uint32_t cfg_read(unsigned offset, unsigned size)
{
    prim_begin();
    const uint32_t v = vcon_vm_read(Z.vm, VCON_SPACE_PCI_CONFIG, cfg_addr(offset), size);
    vcon_fuzz_observe_u64(v);
    prim_end();
    return v;
}

static void cfg_write(unsigned offset, unsigned size, uint32_t value)
{
    prim_begin();
    vcon_vm_write(Z.vm, VCON_SPACE_PCI_CONFIG, cfg_addr(offset), size, value);
    prim_end();
}

static uint64_t bar_addr(unsigned bar, uint64_t offset)
{
    uint64_t base = vcon_virtio_pci_bar_base(Z.t, bar);
    if (base == 0)
        base = bar == 0 ? Z.info.io_base : Z.info.mmio_base;
    return base + offset;
}

static uint32_t bar_read(unsigned bar, unsigned offset, unsigned size)
{
    prim_begin();
    const uint32_t v = vcon_vm_read(Z.vm, bar == 0 ? VCON_SPACE_PIO : VCON_SPACE_MMIO,
                                    bar_addr(bar, offset), size);
    vcon_fuzz_observe_u64(v);
    prim_end();
    return v;
}

static void bar_write(unsigned bar, unsigned offset, unsigned size, uint32_t value)
{
    prim_begin();
    if (bar == 0) {
        const unsigned regs = vcon_virtio_pci_msix_enabled(Z.t) ? VCON_VIRTIO_PCI_CONFIG_MSIX
                                                                 : VCON_VIRTIO_PCI_CONFIG_NO_MSIX;
        Z.model.emerg = offset == regs + VCON_CONSOLE_CFG_EMERG_WR;
        Z.model.emerg_value = (uint8_t)value;
    } else {
        Z.bar1_written = true;
    }
    vcon_vm_write(Z.vm, bar == 0 ? VCON_SPACE_PIO : VCON_SPACE_MMIO, bar_addr(bar, offset), size,
                  value);
    Z.model.emerg = false;
    prim_end();
}

/* The guest's own memory writes do not reach the device: nothing to check
 * after them. */
static void mem_write(uint64_t gpa, const void *bytes, size_t len)
{
    (void)vcon_vm_guest_write(Z.vm, gpa, bytes, len);
}

static int host_event(const struct vcon_rig_event *ev)
{
    prim_begin();
    const int rc = vcon_rig_apply(Z.rig, ev);
    vcon_fuzz_observe_u64((uint64_t)(int64_t)rc);
    prim_end();
    return rc;
}

static void advance(uint64_t ns)
{
    prim_begin();
    vcon_vm_advance(Z.vm, ns);
    prim_end();
}

/* ---- the fake guest ------------------------------------------------------ */

static void write16(uint64_t gpa, uint16_t v)
{
    uint8_t b[2];
    put16(b, v);
    mem_write(gpa, b, 2);
}

static void write_desc(uint64_t gpa, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next)
{
    uint8_t b[DESC_BYTES];
    put32(b, (uint32_t)addr);
    put32(b + 4, (uint32_t)(addr >> 32));
    put32(b + 8, len);
    put16(b + 12, flags);
    put16(b + 14, next);
    mem_write(gpa, b, sizeof(b));
}

static void kick(unsigned q)
{
    bar_write(0, VCON_VIRTIO_PCI_QUEUE_NOTIFY, 2, q);
}

/* Append `head` to the avail ring of `vq` and publish it. */
static void avail_add(const struct vcon_virtq *vq, uint16_t head)
{
    uint16_t idx = 0;
    (void)guest_read16(vq->avail_gpa + 2u, &idx);
    write16(vq->avail_gpa + 4u + 2u * (uint64_t)(idx & (vq->size - 1u)), head);
    write16(vq->avail_gpa + 2u, (uint16_t)(idx + 1u));
}

static uint64_t buffer_gpa(unsigned q, unsigned d)
{
    return BUF_BASE + (uint64_t)((q * FZC_QUEUE_SIZE + d) % BUF_SLOTS) * BUF_SIZE;
}

/* A buffer posted the way a driver does. shape: bit 0 device-writable,
 * bit 1 no kick, bit 2 through an indirect table, bits 3-4 segments - 1,
 * bit 5 zero length. */
static void post_buffer(unsigned q, uint8_t shape, uint16_t len_in);

static void post(unsigned q, uint8_t shape, uint16_t len_in)
{
    macro_begin();
    post_buffer(q, shape, len_in);
    macro_end();
}

static void post_buffer(unsigned q, uint8_t shape, uint16_t len_in)
{
    struct vcon_virtq *vq = queue(q);
    if (vq == NULL)
        return;
    const bool writable = shape & 1u, indirect = (shape & 4u) != 0;
    const unsigned segs = 1u + ((shape >> 3) & 3u);
    const uint32_t len = (shape & 0x20u) ? 0u : 1u + len_in % BUF_SIZE;
    const uint16_t head = (uint16_t)(Z.guest_next[q] % vq->size);
    const uint64_t buf = buffer_gpa(q, head);
    const uint16_t wflag = writable ? VCON_VIRTQ_DESC_F_WRITE : 0u;

    if (!writable && len > 0) {
        uint8_t data[BUF_SIZE];
        for (uint32_t i = 0; i < len; i++)
            data[i] = (uint8_t)(q * 31u + head * 7u + i + Z.guest_next[q]);
        mem_write(buf, data, len);
    }
    if (indirect) {
        const uint64_t table = TABLE_BASE + (uint64_t)(q * FZC_QUEUE_SIZE + head) * 64u;
        uint32_t off = 0;
        for (unsigned s = 0; s < segs; s++) {
            const uint32_t piece = s + 1 < segs ? len / segs : len - off;
            write_desc(table + DESC_BYTES * s, buf + off, piece,
                       (uint16_t)(wflag | (s + 1 < segs ? VCON_VIRTQ_DESC_F_NEXT : 0u)),
                       (uint16_t)(s + 1));
            off += piece;
        }
        write_desc(vq->desc_gpa + DESC_BYTES * (uint64_t)head, table, DESC_BYTES * segs,
                   VCON_VIRTQ_DESC_F_INDIRECT, 0);
        Z.guest_next[q]++;
    } else {
        uint32_t off = 0;
        for (unsigned s = 0; s < segs; s++) {
            const uint16_t d = (uint16_t)((head + s) % vq->size);
            const uint32_t piece = s + 1 < segs ? len / segs : len - off;
            write_desc(vq->desc_gpa + DESC_BYTES * (uint64_t)d, buf + off, piece,
                       (uint16_t)(wflag | (s + 1 < segs ? VCON_VIRTQ_DESC_F_NEXT : 0u)),
                       (uint16_t)((d + 1u) % vq->size));
            off += piece;
        }
        Z.guest_next[q] = (uint16_t)(Z.guest_next[q] + segs);
    }
    avail_add(vq, head);
    if (!(shape & 2u))
        kick(q);
}

/* A control message on queue 3. shape: bits 0-1: 8 bytes, 4 bytes (short),
 * 8 bytes + 8 of payload, 8 bytes in two 4-byte segments; bit 2 the buffer
 * is device-writable (wrong direction); bit 3 no kick. */
static void send_ctrl_message(uint32_t id, uint16_t event, uint16_t value, uint8_t shape);

static void send_ctrl(uint32_t id, uint16_t event, uint16_t value, uint8_t shape)
{
    macro_begin();
    send_ctrl_message(id, event, value, shape);
    macro_end();
}

static void send_ctrl_message(uint32_t id, uint16_t event, uint16_t value, uint8_t shape)
{
    struct vcon_virtq *vq = queue(VCON_CONSOLE_CTRL_TX_QUEUE);
    if (vq == NULL)
        return;
    uint8_t msg[16] = {0};
    put32(msg, id);
    put16(msg + 4, event);
    put16(msg + 6, value);
    const uint16_t head = (uint16_t)(Z.ctrl_next % vq->size);
    const uint64_t buf = CTRL_BUF_BASE + (uint64_t)head * 64u;
    const uint16_t wflag = (shape & 4u) ? VCON_VIRTQ_DESC_F_WRITE : 0u;
    const unsigned kind = shape & 3u;
    const uint32_t len = kind == 1 ? 4u : kind == 2 ? 16u : 8u;
    mem_write(buf, msg, len);
    if (kind == 3) {
        const uint16_t second = (uint16_t)((head + 1u) % vq->size);
        write_desc(vq->desc_gpa + DESC_BYTES * (uint64_t)head, buf, 4,
                   (uint16_t)(wflag | VCON_VIRTQ_DESC_F_NEXT), second);
        write_desc(vq->desc_gpa + DESC_BYTES * (uint64_t)second, buf + 4, 4, wflag, 0);
        Z.ctrl_next = (uint16_t)(Z.ctrl_next + 2u);
    } else {
        write_desc(vq->desc_gpa + DESC_BYTES * (uint64_t)head, buf, len, wflag, 0);
        Z.ctrl_next++;
    }
    avail_add(vq, head);
    if (!(shape & 8u))
        kick(VCON_CONSOLE_CTRL_TX_QUEUE);
}

/* Zero a queue's ring as a legacy driver does before giving its PFN, where
 * it is not zero already: a page nothing wrote since the run began is zero
 * (the rig clears what the last run wrote), and the bring-up of every run
 * meets only such pages; writing or even comparing 8 KiB per queue was a
 * tenth of console_ctrl's time. */
static void zero_ring(uint32_t pfn)
{
    static const uint8_t zero[PAGE];
    for (unsigned i = 0; i < 2; i++) {
        const uint64_t gpa = ((uint64_t)pfn + i) * PAGE;
        const uint8_t *page = vcon_vm_page_dirty(Z.vm, gpa) ? guest_bytes(gpa, PAGE) : NULL;
        if (page != NULL && memcmp(page, zero, PAGE) != 0)
            mem_write(gpa, zero, PAGE);
    }
}

static void setup_queue(unsigned q, uint32_t pfn)
{
    macro_begin();
    bar_write(0, VCON_VIRTIO_PCI_QUEUE_SEL, 2, q);
    (void)bar_read(0, VCON_VIRTIO_PCI_QUEUE_NUM, 2);
    if (pfn != 0)
        zero_ring(pfn);
    bar_write(0, VCON_VIRTIO_PCI_QUEUE_PFN, 4, pfn);
    if (q < FZC_NR_QUEUES) {
        Z.guest_next[q] = 0;
        Z.guest_used[q] = 0;
    }
    if (q == VCON_CONSOLE_CTRL_TX_QUEUE)
        Z.ctrl_next = 0;
    macro_end();
}

void fzc_bringup(uint8_t options)
{
    const bool multiport = !(options & FZC_UP_NO_MULTIPORT);
    macro_begin();
    /* Reset first, as Linux does (not needed on a device still at 0). */
    if (vcon_virtio_pci_status(Z.t) != 0)
        bar_write(0, VCON_VIRTIO_PCI_STATUS, 1, 0);
    bar_write(0, VCON_VIRTIO_PCI_STATUS, 1, VCON_VIRTIO_STATUS_ACKNOWLEDGE);
    bar_write(0, VCON_VIRTIO_PCI_STATUS, 1,
              VCON_VIRTIO_STATUS_ACKNOWLEDGE | VCON_VIRTIO_STATUS_DRIVER);
    const uint32_t host = bar_read(0, VCON_VIRTIO_PCI_HOST_FEATURES, 4);
    uint32_t guest = 1u << VCON_CONSOLE_F_SIZE | 1u << VCON_CONSOLE_F_EMERG_WRITE;
    if (multiport)
        guest |= 1u << VCON_CONSOLE_F_MULTIPORT;
    if (options & FZC_UP_EVENT_IDX)
        guest |= 1u << VCON_VIRTIO_F_RING_EVENT_IDX;
    if (options & FZC_UP_INDIRECT)
        guest |= 1u << VCON_VIRTIO_F_RING_INDIRECT_DESC;
    bar_write(0, VCON_VIRTIO_PCI_GUEST_FEATURES, 4, guest & host);
    const unsigned nr = !multiport ? 2u : (options & FZC_UP_ALL_QUEUES) ? Z.nr_queues : 6u;
    for (unsigned q = 0; q < nr && q < Z.nr_queues; q++)
        setup_queue(q, RING_FIRST_PAGE + 2u * q);
    bar_write(0, VCON_VIRTIO_PCI_STATUS, 1,
              VCON_VIRTIO_STATUS_ACKNOWLEDGE | VCON_VIRTIO_STATUS_DRIVER |
                  VCON_VIRTIO_STATUS_DRIVER_OK);
    if (multiport && !(options & FZC_UP_NO_CTRL_BUFS)) {
        for (unsigned i = 0; i < 4; i++)
            post(VCON_CONSOLE_CTRL_RX_QUEUE, 0x03 /* writable, no kick */, 127);
        kick(VCON_CONSOLE_CTRL_RX_QUEUE);
        send_ctrl(VCON_CONSOLE_BAD_ID, VCON_CONSOLE_DEVICE_READY, 1, 0);
    }
    macro_end();
}

/* MSI-X as Linux sets it up: enable in the capability, program and unmask
 * the table, then a configuration vector and one vector per queue (bit 0:
 * one shared vector; bit 1: leave the function masked). */
static void msix_setup(uint8_t options)
{
    const unsigned vectors = Z.nr_queues + 1u;
    macro_begin();
    cfg_write(VCON_VIRTIO_PCI_MSIX_CAP + VCON_PCI_MSIX_FLAGS, 2,
              VCON_PCI_MSIX_FLAGS_ENABLE | ((options & 2u) ? VCON_PCI_MSIX_FLAGS_MASKALL : 0u));
    for (unsigned v = 0; v < vectors; v++) {
        const unsigned e = v * VCON_PCI_MSIX_ENTRY_SIZE;
        bar_write(1, e + VCON_PCI_MSIX_ENTRY_LOWER_ADDR, 4, 0xFEE00000u);
        bar_write(1, e + VCON_PCI_MSIX_ENTRY_UPPER_ADDR, 4, 0);
        bar_write(1, e + VCON_PCI_MSIX_ENTRY_DATA, 4, 0x40u + v);
        bar_write(1, e + VCON_PCI_MSIX_ENTRY_VECTOR_CTRL, 4, 0);
    }
    bar_write(0, VCON_VIRTIO_MSI_CONFIG_VECTOR, 2, 0);
    for (unsigned q = 0; q < Z.nr_queues; q++) {
        bar_write(0, VCON_VIRTIO_PCI_QUEUE_SEL, 2, q);
        bar_write(0, VCON_VIRTIO_MSI_QUEUE_VECTOR, 2, (options & 1u) ? 1u : q + 1u);
    }
    macro_end();
}

/* What Linux's driver does with what the device returned: control
 * messages answered (DEVICE_ADD: receive buffers and PORT_READY;
 * CONSOLE_PORT: PORT_OPEN) and their buffers posted again, receive buffers
 * posted again, transmit buffers taken back. */
static void guest_step(void)
{
    macro_begin();
    for (unsigned q = 0; q < Z.nr_queues; q++) {
        struct vcon_virtq *vq = queue(q);
        uint16_t used_idx;
        bool repost = false;
        if (vq == NULL || !guest_read16(vq->used_gpa + 2u, &used_idx))
            continue;
        unsigned port;
        const enum vcon_console_queue_role role = vcon_console_queue_role(q, &port);
        for (unsigned n = 0; Z.guest_used[q] != used_idx && n < vq->size; n++) {
            const uint64_t gpa = vq->used_gpa + 4u + 8u * (uint64_t)(Z.guest_used[q] & (vq->size - 1u));
            Z.guest_used[q]++;
            const uint8_t *elem = guest_bytes(gpa, 8);
            if (elem == NULL)
                break;
            const uint32_t id = le32(elem), len = le32(elem + 4);
            if (id >= vq->size)
                continue;
            if (role == VCON_CONSOLE_QUEUE_TX || role == VCON_CONSOLE_QUEUE_CTRL_TX)
                continue; /* a transmit buffer back: nothing to do */
            if (role == VCON_CONSOLE_QUEUE_CTRL_RX && len >= VCON_CONSOLE_CTRL_HEADER) {
                struct vcon_console_desc d;
                const uint8_t *msg = NULL;
                if (vcon_console_rings_read_desc(Z.vm, vq->desc_gpa + DESC_BYTES * (uint64_t)id, &d))
                    msg = guest_bytes(d.addr, 8);
                if (msg != NULL) {
                    const uint32_t mid = le32(msg);
                    const uint16_t event = le16(msg + 4);
                    if (event == VCON_CONSOLE_DEVICE_ADD && mid < NR_PORTS) {
                        const unsigned rxq = vcon_console_rx_queue(mid);
                        for (unsigned i = 0; i < 2; i++)
                            post(rxq, 0x03, 255);
                        kick(rxq);
                        send_ctrl(mid, VCON_CONSOLE_PORT_READY, 1, 0);
                    } else if (event == VCON_CONSOLE_CONSOLE_PORT && mid < NR_PORTS) {
                        send_ctrl(mid, VCON_CONSOLE_PORT_OPEN, 1, 0);
                    }
                }
            }
            avail_add(vq, (uint16_t)id);
            repost = true;
        }
        if (repost)
            kick(q);
    }
    macro_end();
}

/* ---- reset between inputs ---------------------------------------------- */

static void reset_devices(void)
{
    /* What the rig's firmware did, then a virtio reset. */
    cfg_write(VCON_PCI_BASE_ADDRESS_0, 4, Z.info.io_base);
    cfg_write(VCON_PCI_BASE_ADDRESS_0 + 4u, 4, Z.info.mmio_base);
    cfg_write(VCON_PCI_COMMAND, 2,
              VCON_PCI_COMMAND_IO | VCON_PCI_COMMAND_MEMORY | VCON_PCI_COMMAND_MASTER);
    cfg_write(VCON_PCI_INTERRUPT_LINE, 1, 0);
    cfg_write(VCON_VIRTIO_PCI_MSIX_CAP + VCON_PCI_MSIX_FLAGS, 2, 0);
    bar_write(0, VCON_VIRTIO_PCI_STATUS, 1, 0);
    if (Z.bar1_written) {
        for (unsigned v = 0; v < Z.nr_queues + 1u; v++) {
            const unsigned e = v * VCON_PCI_MSIX_ENTRY_SIZE;
            bar_write(1, e + VCON_PCI_MSIX_ENTRY_LOWER_ADDR, 4, 0);
            bar_write(1, e + VCON_PCI_MSIX_ENTRY_UPPER_ADDR, 4, 0);
            bar_write(1, e + VCON_PCI_MSIX_ENTRY_DATA, 4, 0);
            bar_write(1, e + VCON_PCI_MSIX_ENTRY_VECTOR_CTRL, 4, VCON_PCI_MSIX_ENTRY_CTRL_MASKBIT);
        }
    }
    /* Ports as FZC_CONFIG plugs them: first every port the input plugged,
     * unplugged or changed goes (names must be free before they are given
     * again), then the configured ones come back. Port 0 cannot be
     * removed: the prologue gives it its size back. */
    bool readd[NR_PORTS] = {false};
    for (unsigned p = 1; p < NR_PORTS; p++) {
        struct vcon_console_port_state ps;
        (void)vcon_console_get_port(Z.con, p, &ps);
        if (!Z.port_touched[p] && ps.present == initial_port[p].present)
            continue;
        if (ps.present) {
            const struct vcon_rig_event rm = {.kind = VCON_RIG_EV_HOTPLUG, .device = CONSOLE_DEVICE,
                                              .port = p, .flag = 0};
            (void)host_event(&rm);
        }
        readd[p] = initial_port[p].present;
    }
    for (unsigned p = 0; p < NR_PORTS; p++) {
        struct vcon_console_port_state ps;
        if (readd[p]) {
            const struct vcon_rig_event add = {
                .kind = VCON_RIG_EV_HOTPLUG, .device = CONSOLE_DEVICE, .port = p, .flag = 1,
                .is_console = initial_port[p].is_console, .name = initial_port[p].name};
            (void)host_event(&add);
        }
        (void)vcon_console_get_port(Z.con, p, &ps);
        if (ps.present && !ps.host_open) {
            const struct vcon_rig_event open = {.kind = VCON_RIG_EV_BACKEND_OPEN,
                                                .device = CONSOLE_DEVICE, .port = p, .flag = 1};
            (void)host_event(&open);
        }
    }
}

void fzc_begin(const char *target, const uint8_t *data, size_t size, bool destroy_at_end)
{
    vcon_fuzz_set_target(target);
    Z.fr.config = FZC_CONFIG;
    Z.fr.ram_size = FZC_RAM_SIZE;
    Z.fr.hook = seam_hook;
    Z.fr.hook_arg = &Z;
    Z.checking = false;
    vcon_fuzz_rig_begin(&Z.fr, data, size);
    Z.rig = Z.fr.rig;
    Z.vm = Z.fr.vm;
    Z.con = vcon_rig_console(Z.rig, CONSOLE_DEVICE);
    VCON_FUZZ_CHECK(Z.con != NULL, "harness: the rig has a console");
    Z.t = vcon_console_transport(Z.con);
    VCON_FUZZ_CHECK(vcon_rig_device_info(Z.rig, CONSOLE_DEVICE, &Z.info) == 0, "harness: device info");
    Z.nr_queues = 0;
    while (Z.nr_queues < FZC_NR_QUEUES &&
           (Z.vq[Z.nr_queues] = vcon_virtio_pci_queue(Z.t, Z.nr_queues)) != NULL)
        Z.nr_queues++;
    vcon_console_rings_init(&Z.rings, Z.vm, Z.t);
    if (!Z.fr.fresh) {
        reset_devices();
        vcon_fuzz_rig_reset_common(&Z.fr);
    }
    /* The prologue, on a new rig and a reset one alike (and recorded): the
     * host tells the console its size, 80x25, as a device model does when
     * it starts. A size the host gave stays given (a port cannot be told it
     * has none), so this is the one state every input can start from. */
    const struct vcon_rig_event prologue = {.kind = VCON_RIG_EV_RESIZE, .device = CONSOLE_DEVICE,
                                        .port = 0, .cols = 80, .rows = 25};
    (void)host_event(&prologue);
    /* What the reset did is no result of this input, and no coverage of it. */
    vcon_fuzz_begin();
    vcon_fuzz_discard_coverage();
    Z.destroy_at_end = destroy_at_end;
    Z.bar1_written = false;
    memset(Z.port_touched, 0, sizeof(Z.port_touched));
    memset(Z.fed, 0, sizeof(Z.fed));
    memset(Z.checked_fed, 0, sizeof(Z.checked_fed));
    memset(Z.checked_taken, 0, sizeof(Z.checked_taken));
    memset(Z.guest_next, 0, sizeof(Z.guest_next));
    memset(Z.guest_used, 0, sizeof(Z.guest_used));
    memset(Z.seen_valid, 0, sizeof(Z.seen_valid));
    Z.ctrl_next = 0;

    /* The initial state, whatever the last input did. */
    struct vcon_console_port_state ps;
    VCON_FUZZ_CHECK(vcon_virtio_pci_status(Z.t) == 0, "reset: device status 0");
    VCON_FUZZ_CHECK(vcon_vm_irq_level(Z.vm, Z.info.irq_line) == 0, "reset: INTx low");
    VCON_FUZZ_CHECK(vcon_console_pending_ctrl(Z.con) == 0, "reset: no control message pending");
    VCON_FUZZ_CHECK(!vcon_virtio_pci_msix_enabled(Z.t), "reset: MSI-X off");
    for (unsigned p = 0; p < NR_PORTS; p++) {
        (void)vcon_console_get_port(Z.con, p, &ps);
        VCON_FUZZ_CHECK(ps.present == initial_port[p].present, "reset: ports present as configured");
        VCON_FUZZ_CHECK(!ps.present || ps.host_open, "reset: every port's host side open");
        VCON_FUZZ_CHECK(!ps.guest_ready && !ps.guest_open && !ps.tx_held,
                        "reset: no port ready, open or holding a chain");
    }

    /* Baselines for the deltas (the seam's backend counts start at 0). */
    vcon_console_model_start(&Z.model, Z.con, vcon_vm_msi_count(Z.vm), 0, 0);
    Z.stats0 = Z.model.at.stats;
    Z.raises0 = vcon_vm_irq_raises(Z.vm, Z.info.irq_line);
    Z.checking = true;
}

void fzc_end(void)
{
    struct vcon_console_stats st;
    struct vcon_invariant_failure why;
    vcon_fuzz_set_op(0, "(end)");
    if (!vcon_check_console(Z.con, Z.vm, Z.info.irq_line, &why))
        vcon_fuzz_fail_invariant(&why);
    vcon_console_get_stats(Z.con, &st);
    for (unsigned p = 0; p < NR_PORTS; p++) {
        size_t len;
        const uint8_t *out = vcon_script_output(vcon_rig_backend(Z.rig, CONSOLE_DEVICE, p), &len);
        vcon_fuzz_observe_u64(len);
        vcon_fuzz_observe(out, len);
    }
    const uint64_t *now = (const uint64_t *)&st, *then = (const uint64_t *)&Z.stats0;
    for (size_t i = 0; i < sizeof(st) / sizeof(uint64_t); i++)
        vcon_fuzz_observe_u64(now[i] - then[i]);
    vcon_fuzz_observe_u64(vcon_vm_irq_raises(Z.vm, Z.info.irq_line) - Z.raises0);
    vcon_fuzz_observe_u64(vcon_vm_msi_count(Z.vm));
    vcon_fuzz_observe_u64(vcon_console_pending_ctrl(Z.con));
    vcon_fuzz_observe_u64(vcon_virtio_pci_status(Z.t));
    if (vcon_fuzz_verbose()) {
        size_t out0, out1;
        (void)vcon_script_output(vcon_rig_backend(Z.rig, CONSOLE_DEVICE, 0), &out0);
        (void)vcon_script_output(vcon_rig_backend(Z.rig, CONSOLE_DEVICE, 1), &out1);
        fprintf(stderr,
                "console: status %#x, rx %llu tx %llu bytes (backend out %zu, %zu), ctrl in %llu "
                "out %llu malformed %llu, data malformed %llu, raises %llu, msi %zu\n",
                vcon_virtio_pci_status(Z.t), (unsigned long long)(st.rx_bytes - Z.stats0.rx_bytes),
                (unsigned long long)(st.tx_bytes - Z.stats0.tx_bytes), out0, out1,
                (unsigned long long)(st.ctrl_in - Z.stats0.ctrl_in),
                (unsigned long long)(st.ctrl_out - Z.stats0.ctrl_out),
                (unsigned long long)(st.ctrl_malformed - Z.stats0.ctrl_malformed),
                (unsigned long long)(st.data_malformed - Z.stats0.data_malformed),
                (unsigned long long)(vcon_vm_irq_raises(Z.vm, Z.info.irq_line) - Z.raises0),
                vcon_vm_msi_count(Z.vm));
    }
    Z.checking = false;
    vcon_fuzz_rig_end(&Z.fr, Z.destroy_at_end);
}

/* ---- ops ------------------------------------------------------------------ */

/* Queue operands: any queue, or one of the filter's. */
static const unsigned *queue_filter;
static unsigned queue_filter_len;

void fzc_set_queue_filter(const unsigned *queues, unsigned n)
{
    queue_filter = queues;
    queue_filter_len = n;
}

static unsigned queue_of(uint8_t b, unsigned range)
{
    if (queue_filter_len > 0)
        return queue_filter[b % queue_filter_len];
    return b % range;
}

static unsigned port_of(uint8_t b)
{
    return b & 0x1Fu; /* 16..31: ports the device does not have */
}

bool fzc_run_op(struct vcon_fuzz_in *in, enum fzc_op op)
{
    uint8_t a, b, c, d;
    uint16_t w0, w1;
    uint32_t v32;
    const uint8_t *bytes;

    switch (op) {
    case FZC_CFG_READ:
        if (!vcon_fuzz_u16(in, &w0) || !vcon_fuzz_u8(in, &a))
            return false;
        (void)cfg_read(w0, access_sizes[a & 3u]);
        return true;
    case FZC_CFG_WRITE:
        if (!vcon_fuzz_u16(in, &w0) || !vcon_fuzz_u8(in, &a) || !vcon_fuzz_u32(in, &v32))
            return false;
        cfg_write(w0, access_sizes[a & 3u], v32);
        return true;
    case FZC_BAR0_READ:
        if (!vcon_fuzz_u8(in, &a) || !vcon_fuzz_u8(in, &b))
            return false;
        (void)bar_read(0, a, access_sizes[b & 3u]);
        return true;
    case FZC_BAR0_WRITE:
        if (!vcon_fuzz_u8(in, &a) || !vcon_fuzz_u8(in, &b) || !vcon_fuzz_u32(in, &v32))
            return false;
        bar_write(0, a, access_sizes[b & 3u], v32);
        return true;
    case FZC_BAR1_READ:
        if (!vcon_fuzz_u16(in, &w0) || !vcon_fuzz_u8(in, &a))
            return false;
        (void)bar_read(1, w0 & 0x1FFFu, access_sizes[a & 3u]);
        return true;
    case FZC_BAR1_WRITE:
        if (!vcon_fuzz_u16(in, &w0) || !vcon_fuzz_u8(in, &a) || !vcon_fuzz_u32(in, &v32))
            return false;
        bar_write(1, w0 & 0x1FFFu, access_sizes[a & 3u], v32);
        return true;
    case FZC_MEM: {
        if (!vcon_fuzz_u32(in, &v32) || !vcon_fuzz_u8(in, &a))
            return false;
        const size_t n = vcon_fuzz_bytes(in, a, &bytes);
        mem_write(v32 % FZC_RAM_SIZE, bytes, n);
        return n == a;
    }
    case FZC_FILL: {
        static uint8_t fill[65536];
        if (!vcon_fuzz_u32(in, &v32) || !vcon_fuzz_u16(in, &w0) || !vcon_fuzz_u8(in, &a))
            return false;
        memset(fill, a, w0);
        mem_write(v32 % FZC_RAM_SIZE, fill, w0);
        return true;
    }
    case FZC_KICK:
        if (!vcon_fuzz_u8(in, &a))
            return false;
        kick(queue_filter_len > 0 ? queue_of(a, 0) : a);
        return true;
    case FZC_QUEUE_SETUP:
        if (!vcon_fuzz_u8(in, &a) || !vcon_fuzz_u8(in, &b))
            return false;
        setup_queue(a % (Z.nr_queues + 2u), b);
        return true;
    case FZC_DESC: {
        if (!vcon_fuzz_u8(in, &a) || !vcon_fuzz_u8(in, &b) || !vcon_fuzz_u32(in, &v32) ||
            !vcon_fuzz_u16(in, &w0) || !vcon_fuzz_u8(in, &c) || !vcon_fuzz_u8(in, &d))
            return false;
        const struct vcon_virtq *vq = queue(queue_of(a, Z.nr_queues));
        if (vq != NULL)
            write_desc(vq->desc_gpa + DESC_BYTES * (uint64_t)(b % vq->size), v32, w0, c, d);
        return true;
    }
    case FZC_AVAIL: {
        if (!vcon_fuzz_u8(in, &a) || !vcon_fuzz_u8(in, &b))
            return false;
        const struct vcon_virtq *vq = queue(queue_of(a, Z.nr_queues));
        if (vq != NULL)
            avail_add(vq, b);
        return true;
    }
    case FZC_POST:
        if (!vcon_fuzz_u8(in, &a) || !vcon_fuzz_u8(in, &b) || !vcon_fuzz_u16(in, &w0))
            return false;
        post(queue_of(a, Z.nr_queues), b, w0);
        return true;
    case FZC_CTRL:
        if (!vcon_fuzz_u8(in, &a) || !vcon_fuzz_u8(in, &b) || !vcon_fuzz_u16(in, &w0) ||
            !vcon_fuzz_u8(in, &c))
            return false;
        send_ctrl(a == 0xFF ? VCON_CONSOLE_BAD_ID : a, b, w0, c);
        return true;
    case FZC_GUEST_STEP:
        guest_step();
        return true;
    case FZC_INPUT:
    case FZC_INPUT_READY: {
        if (!vcon_fuzz_u8(in, &a) || !vcon_fuzz_u8(in, &b))
            return false;
        const unsigned port = a % NR_PORTS;
        const size_t n = vcon_fuzz_bytes(in, b, &bytes);
        if (n > 0) {
            VCON_FUZZ_CHECK(vcon_script_input(vcon_rig_backend(Z.rig, CONSOLE_DEVICE, port), bytes, n) == 0,
                            "harness: backend input queued");
            Z.fed[port] += n;
        }
        if (op == FZC_INPUT_READY) {
            const struct vcon_rig_event ev = {.kind = VCON_RIG_EV_BACKEND_READY,
                                              .device = CONSOLE_DEVICE, .port = port};
            (void)host_event(&ev);
        }
        return n == b;
    }
    case FZC_BACKEND_READY: {
        if (!vcon_fuzz_u8(in, &a))
            return false;
        const struct vcon_rig_event ev = {.kind = VCON_RIG_EV_BACKEND_READY,
                                          .device = CONSOLE_DEVICE, .port = port_of(a)};
        (void)host_event(&ev);
        return true;
    }
    case FZC_BACKEND_OPEN: {
        if (!vcon_fuzz_u8(in, &a) || !vcon_fuzz_u8(in, &b))
            return false;
        const struct vcon_rig_event ev = {.kind = VCON_RIG_EV_BACKEND_OPEN,
                                          .device = CONSOLE_DEVICE, .port = port_of(a), .flag = b & 1u};
        (void)host_event(&ev);
        return true;
    }
    case FZC_SCRIPT: {
        if (!vcon_fuzz_u8(in, &a) || !vcon_fuzz_u8(in, &b))
            return false;
        struct vcon_script_backend *be = vcon_rig_backend(Z.rig, CONSOLE_DEVICE, a % NR_PORTS);
        if (b & 0x80u) { /* a host that claims one byte more than it moved */
            Z.fr.overclaim = (b & 0x40u) != 0;
            return true;
        }
        switch (b & 3u) {
        case 0:
            (void)vcon_script_input_pause(be);
            break;
        case 1:
            (void)vcon_script_input_eof(be);
            break;
        case 2:
            vcon_script_disconnect(be);
            break;
        default:
            vcon_script_connect(be);
            break;
        }
        return true;
    }
    case FZC_WRITE_BUDGET:
        if (!vcon_fuzz_u8(in, &a) || !vcon_fuzz_u16(in, &w0))
            return false;
        vcon_script_set_write_budget(vcon_rig_backend(Z.rig, CONSOLE_DEVICE, a % NR_PORTS),
                                     w0 == 0xFFFF ? SIZE_MAX : w0);
        return true;
    case FZC_HOTPLUG: {
        if (!vcon_fuzz_u8(in, &a) || !vcon_fuzz_u8(in, &b) || !vcon_fuzz_u8(in, &c))
            return false;
        const unsigned port = port_of(a);
        const struct vcon_rig_event ev = {
            .kind = VCON_RIG_EV_HOTPLUG, .device = CONSOLE_DEVICE, .port = port, .flag = b & 1u,
            .is_console = (b >> 1) & 1u, .name = hot_names[c % (sizeof(hot_names) / sizeof(hot_names[0]))]};
        if (port_ok(port))
            Z.port_touched[port] = true;
        (void)host_event(&ev);
        return true;
    }
    case FZC_RESIZE: {
        if (!vcon_fuzz_u8(in, &a) || !vcon_fuzz_u16(in, &w0) || !vcon_fuzz_u16(in, &w1))
            return false;
        const unsigned port = port_of(a);
        const struct vcon_rig_event ev = {.kind = VCON_RIG_EV_RESIZE, .device = CONSOLE_DEVICE,
                                          .port = port, .cols = w0, .rows = w1};
        if (port_ok(port))
            Z.port_touched[port] = true;
        (void)host_event(&ev);
        return true;
    }
    case FZC_TIME:
        if (!vcon_fuzz_u32(in, &v32))
            return false;
        advance(v32);
        return true;
    case FZC_STATUS:
        if (!vcon_fuzz_u8(in, &a))
            return false;
        bar_write(0, VCON_VIRTIO_PCI_STATUS, 1, a);
        return true;
    case FZC_BRINGUP:
        if (!vcon_fuzz_u8(in, &a))
            return false;
        fzc_bringup(a);
        return true;
    case FZC_MSIX:
        if (!vcon_fuzz_u8(in, &a))
            return false;
        msix_setup(a);
        return true;
    default:
        return false;
    }
}
