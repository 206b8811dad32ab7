/* The multiport virtio-console on the legacy virtio-PCI transport, driven
 * end to end by the fake guest's Linux-like driver
 * (harness/guest/virtio_console_driver.h) through the VM bus: PCI
 * configuration cycles, BARs the guest placed, guest RAM rings, INTx or
 * MSI-X. Host events (ports plugged and unplugged, resizes, backends ready)
 * come from the test, as a device model's host would send them. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "guest/virtio_console_driver.h"
#include "harness/pci_device.h"
#include "harness/script_backend.h"
#include "harness/vm.h"
#include "vcon/console.h"
#include "vcon/virtio_pci.h"

#define RAM_SIZE (8u << 20)
#define PCI_DEV 3u
#define INTX_LINE 11u
#define MAX_ROUNDS 20000u
#define SETTLE_ROUNDS 256u

/* ---- helpers ------------------------------------------------------------- */

/* Fails printing the first differing byte and both lengths. */
static void assert_bytes_equal(const uint8_t *got, size_t got_len, const uint8_t *want,
                               size_t want_len)
{
    const size_t n = got_len < want_len ? got_len : want_len;
    for (size_t i = 0; i < n; i++) {
        if (got[i] != want[i]) {
            print_error("byte %zu is 0x%02x, expected 0x%02x (lengths %zu and %zu)\n", i,
                        got[i], want[i], got_len, want_len);
            fail();
        }
    }
    if (got_len != want_len) {
        print_error("got %zu bytes, expected %zu (the first %zu agree)\n", got_len, want_len, n);
        fail();
    }
}

/* Bytes that are not periodic in anything a ring or buffer could hide. */
static void fill_pattern(uint8_t *buf, size_t len, unsigned seed)
{
    uint32_t x = 2463534242u ^ (seed * 2654435761u);
    for (size_t i = 0; i < len; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        buf[i] = (uint8_t)x;
    }
}

/* ---- the rig: VM, console, PCI slot, guest driver ---------------------------- */

struct rig_config {
    const char *name;
    unsigned max_ports;      /* device */
    unsigned present;        /* ports 0 .. present-1 exist at creation */
    int console_port;        /* '@' port, or -1 */
    bool no_multiport;       /* device does not offer MULTIPORT */
    uint16_t queue_size;
    /* guest */
    bool guest_no_multiport; /* guest does not ask for it */
    enum vcon_guest_console_irq irq;
    bool event_idx, indirect;
    unsigned tx_segs, rx_segs;
    unsigned rx_buf_size; /* 0: the driver's default */
    uint64_t chunk_seed;
};

struct rig {
    struct rig_config cfg;
    struct vcon_vm *vm;
    struct vcon_vm_binding *binding;
    struct vcon_console *console;
    struct vcon_pci_device *slot;
    struct vcon_guest_console *guest;
};

static struct vcon_script_backend *backend(struct rig *r, unsigned port)
{
    struct vcon_script_backend *b = vcon_vm_backend(r->binding, port);
    assert_non_null(b);
    return b;
}

static const struct vcon_guest_console_port *gport(struct rig *r, unsigned port)
{
    const struct vcon_guest_console_port *p = vcon_guest_console_port(r->guest, port);
    assert_non_null(p);
    return p;
}

static void make_guest(struct rig *r)
{
    struct vcon_guest_console_options o;
    vcon_guest_console_default_options(&o);
    o.intx_line = INTX_LINE;
    o.multiport = !r->cfg.guest_no_multiport;
    o.irq = r->cfg.irq;
    o.event_idx = r->cfg.event_idx;
    o.indirect = r->cfg.indirect;
    o.tx_segs = r->cfg.tx_segs ? r->cfg.tx_segs : 1;
    o.rx_segs = r->cfg.rx_segs ? r->cfg.rx_segs : 1;
    if (r->cfg.rx_buf_size)
        o.rx_buf_size = r->cfg.rx_buf_size;
    o.chunk_seed = r->cfg.chunk_seed;
    assert_int_equal(vcon_guest_console_create(r->vm, &o, &r->guest), 0);
}

static int setup_rig(void **state)
{
    const struct rig_config *cfg = *state;
    struct rig *r = test_calloc(1, sizeof(*r));
    assert_non_null(r);
    r->cfg = *cfg;
    assert_int_equal(vcon_vm_create(RAM_SIZE, &r->vm), 0);
    struct vcon_host host;
    assert_int_equal(vcon_vm_bind_device(r->vm, VCON_CONSOLE_MAX_PORTS, &host, &r->binding), 0);
    struct vcon_console_config cc;
    memset(&cc, 0, sizeof(cc));
    cc.max_ports = cfg->max_ports;
    cc.queue_size = cfg->queue_size;
    cc.cols = 80;
    cc.rows = 25;
    cc.no_multiport = cfg->no_multiport;
    cc.intx_line = INTX_LINE;
    for (unsigned p = 0; p < cfg->present; p++) {
        cc.port[p].present = true;
        cc.port[p].is_console = (int)p == cfg->console_port;
        snprintf(cc.port[p].name, sizeof(cc.port[p].name), "port%u", p);
    }
    assert_int_equal(vcon_console_create(&cc, &host, &r->console), 0);
    assert_int_equal(vcon_pci_device_attach(r->vm, vcon_console_transport(r->console), 0, PCI_DEV,
                                            0, &r->slot),
                     0);
    make_guest(r);
    *state = r;
    return 0;
}

static int teardown_rig(void **state)
{
    struct rig *r = *state;
    vcon_guest_console_destroy(r->guest);
    vcon_pci_device_detach(r->slot);
    vcon_console_destroy(r->console);
    vcon_vm_destroy(r->vm);
    test_free(r);
    return 0;
}

/* Take interrupts until none is pending. */
static void settle(struct rig *r)
{
    for (unsigned i = 0; i < SETTLE_ROUNDS; i++) {
        const int runs = vcon_guest_console_service(r->guest);
        assert_true(runs >= 0);
        if (runs == 0)
            return;
    }
    fail_msg("interrupts still pending after %u service calls", SETTLE_ROUNDS);
}

static void host_ready_all(struct rig *r)
{
    for (unsigned p = 0; p < r->cfg.max_ports; p++)
        vcon_console_backend_ready(r->console, p);
}

/* Probe, take the announcements, open every non-console port. */
static void boot(struct rig *r)
{
    assert_int_equal(vcon_guest_console_probe(r->guest), 0);
    settle(r);
    const unsigned nr = vcon_guest_console_nr_ports(r->guest);
    for (unsigned p = 0; p < nr; p++)
        if (gport(r, p)->present && !gport(r, p)->guest_open)
            assert_int_equal(vcon_guest_console_open(r->guest, p), 0);
    settle(r);
}

/* Nothing the driver or the device counts as the other side's mistake. */
static void assert_clean(struct rig *r)
{
    const struct vcon_guest_console_counters *n = vcon_guest_console_counters(r->guest);
    assert_int_equal(n->used_len_overflow, 0);
    assert_int_equal(n->stuck, 0);
    assert_int_equal(n->isr_line_mismatch, 0);
    assert_int_equal(n->intx_in_msix, 0);
    assert_int_equal(n->spurious, 0);
    assert_int_equal(n->ctrl_bad, 0);
    assert_int_equal(n->ctrl_tx_full, 0);
    assert_int_equal(n->rx_unexpected, 0);
    assert_int_equal(n->alloc_failures, 0);
    assert_int_equal(n->setup_failures, 0);
    assert_int_equal(n->bad_config, 0);
    for (unsigned q = 0; q < vcon_guest_console_nr_queues(r->guest); q++) {
        const struct vcon_guest_vring *vr = vcon_guest_console_vring(r->guest, q);
        if (vr != NULL)
            assert_int_equal(vr->bad_used, 0);
    }
    struct vcon_console_stats s;
    vcon_console_get_stats(r->console, &s);
    assert_int_equal(s.ctrl_malformed, 0);
    assert_int_equal(s.ctrl_dropped_full, 0);
    assert_int_equal(s.ctrl_bad_buffers, 0);
    assert_int_equal(s.data_malformed, 0);
    assert_int_equal(s.rx_lost_bytes, 0);
    assert_int_equal(s.tx_dropped_bytes, 0);
    struct vcon_virtio_pci_stats ts;
    vcon_virtio_pci_get_stats(vcon_console_transport(r->console), &ts);
    assert_int_equal(ts.bad_accesses, 0);
    assert_int_equal(ts.bad_queue_selects, 0);
    assert_int_equal(ts.bad_notifies, 0);
    assert_int_equal(ts.decode_off, 0);
}

/* ---- traffic -------------------------------------------------------------------- */

struct stream {
    uint8_t *out;  /* guest -> backend */
    size_t out_len, out_done;
    uint8_t *in;   /* backend -> guest */
    size_t in_len;
    uint8_t *got;
    size_t got_len;
};

static void stream_init(struct stream *s, unsigned port, size_t out_len, size_t in_len)
{
    s->out = test_malloc(out_len);
    s->in = test_malloc(in_len);
    s->got = test_malloc(in_len + 1);
    fill_pattern(s->out, out_len, 1000u + port);
    fill_pattern(s->in, in_len, 2000u + port);
    s->out_len = out_len;
    s->in_len = in_len;
    s->out_done = 0;
    s->got_len = 0;
}

static void stream_free(struct stream *s)
{
    test_free(s->out);
    test_free(s->in);
    test_free(s->got);
}

static void read_port(struct rig *r, unsigned port, struct stream *s)
{
    const size_t room = s->in_len + 1 - s->got_len;
    s->got_len += vcon_guest_console_read(r->guest, port, s->got + s->got_len, room);
    assert_true(s->got_len <= s->in_len);
}

/* Both directions on `ports` at once. The backends take `budget` bytes per
 * round (0: no limit), so transmit chains wait for the backend, and all
 * the input is queued up front, more than the posted receive buffers hold. */
static void run_traffic(struct rig *r, const unsigned *ports, unsigned nr, struct stream *s,
                        size_t budget)
{
    for (unsigned i = 0; i < nr; i++) {
        struct vcon_script_backend *b = backend(r, ports[i]);
        vcon_script_set_write_budget(b, budget ? 0 : SIZE_MAX);
        /* In pieces of odd sizes: each piece is one arrival at the backend,
         * so receive buffers are filled in part as well as whole. */
        for (size_t at = 0, piece = 0; at < s[i].in_len; at += piece) {
            piece = 333u + 211u * ((at / 100u + i) % 5u);
            if (piece > s[i].in_len - at)
                piece = s[i].in_len - at;
            assert_int_equal(vcon_script_input(b, s[i].in + at, piece), 0);
        }
        vcon_console_backend_ready(r->console, ports[i]);
    }
    for (unsigned round = 0; round < MAX_ROUNDS; round++) {
        bool done = true;
        for (unsigned i = 0; i < nr; i++) {
            struct stream *st = &s[i];
            if (st->out_done < st->out_len) {
                const int n = vcon_guest_console_write(r->guest, ports[i], st->out + st->out_done,
                                                       st->out_len - st->out_done);
                assert_true(n >= 0);
                st->out_done += (size_t)n;
            }
            if (budget) {
                vcon_script_set_write_budget(backend(r, ports[i]), budget + (round + i) % 7u);
                vcon_console_backend_ready(r->console, ports[i]);
            }
        }
        settle(r);
        for (unsigned i = 0; i < nr; i++) {
            size_t out_len = 0;
            (void)vcon_script_output(backend(r, ports[i]), &out_len);
            read_port(r, ports[i], &s[i]);
            if (out_len < s[i].out_len || s[i].got_len < s[i].in_len)
                done = false;
        }
        if (done)
            break;
    }
    for (unsigned i = 0; i < nr; i++) {
        size_t out_len = 0;
        const uint8_t *out = vcon_script_output(backend(r, ports[i]), &out_len);
        assert_bytes_equal(out, out_len, s[i].out, s[i].out_len);
        assert_bytes_equal(s[i].got, s[i].got_len, s[i].in, s[i].in_len);
        const struct vcon_guest_console_port *p = gport(r, ports[i]);
        assert_int_equal(p->tx_inflight, 0);
        assert_int_equal(p->tx_completed + p->tx_abandoned, p->tx_accepted);
    }
}

static void run_all_ports(struct rig *r, size_t out_len, size_t in_len, size_t budget)
{
    const unsigned nr = vcon_guest_console_nr_ports(r->guest);
    unsigned ports[VCON_CONSOLE_MAX_PORTS];
    struct stream s[VCON_CONSOLE_MAX_PORTS];
    unsigned count = 0;
    for (unsigned p = 0; p < nr; p++)
        if (gport(r, p)->present)
            ports[count++] = p;
    for (unsigned i = 0; i < count; i++)
        stream_init(&s[i], ports[i], out_len + 37u * i, in_len + 53u * i);
    run_traffic(r, ports, count, s, budget);
    for (unsigned i = 0; i < count; i++)
        stream_free(&s[i]);
}

/* ---- bring-up ------------------------------------------------------------------- */

static void brings_up_every_present_port(void **state)
{
    struct rig *r = *state;
    boot(r);
    assert_true(vcon_guest_console_up(r->guest));
    assert_true(vcon_guest_console_multiport(r->guest));
    assert_int_equal(vcon_guest_console_nr_ports(r->guest), r->cfg.max_ports);
    assert_int_equal(vcon_guest_console_irq_mode(r->guest), r->cfg.irq);
    assert_int_equal(vcon_virtio_pci_msix_enabled(vcon_console_transport(r->console)),
                     r->cfg.irq != VCON_GUEST_CONSOLE_INTX);
    uint16_t cols = 0, rows = 0;
    uint32_t max = 0;
    vcon_guest_console_config(r->guest, &cols, &rows, &max);
    assert_int_equal(cols, 80);
    assert_int_equal(rows, 25);
    assert_int_equal(max, r->cfg.max_ports);
    for (unsigned p = 0; p < r->cfg.max_ports; p++) {
        const struct vcon_guest_console_port *gp = gport(r, p);
        struct vcon_console_port_state ds;
        assert_int_equal(vcon_console_get_port(r->console, p, &ds), 0);
        const bool present = p < r->cfg.present;
        assert_int_equal(gp->present, present);
        if (!present) {
            assert_false(ds.guest_ready);
            continue;
        }
        char name[16];
        snprintf(name, sizeof(name), "port%u", p);
        assert_true(gp->has_name);
        assert_string_equal(gp->name, name);
        assert_int_equal(gp->is_console, (int)p == r->cfg.console_port);
        assert_true(gp->guest_open);
        assert_true(gp->host_open);
        assert_true(ds.guest_ready);
        assert_true(ds.guest_open);
    }
    assert_int_equal(vcon_console_pending_ctrl(r->console), 0);
    assert_clean(r);
}

/* The slot maps the BARs where the guest put them, and follows the guest
 * when it turns decoding off and moves BAR0. */
static void pci_slot_follows_the_bars_the_guest_programs(void **state)
{
    struct rig *r = *state;
    uint64_t base = 0;
    assert_false(vcon_pci_device_bar_mapped(r->slot, 0, NULL));
    assert_false(vcon_pci_device_bar_mapped(r->slot, 1, NULL));
    boot(r);
    assert_true(vcon_pci_device_bar_mapped(r->slot, 0, &base));
    assert_int_equal(base, vcon_guest_console_io_base(r->guest));
    assert_true(vcon_pci_device_bar_mapped(r->slot, 1, &base));
    assert_int_equal(base, vcon_guest_console_mmio_base(r->guest));

    const uint64_t cmd_addr = VCON_PCI_CONFIG_ADDR(0, PCI_DEV, 0, VCON_PCI_COMMAND);
    const uint32_t cmd = vcon_vm_read(r->vm, VCON_SPACE_PCI_CONFIG, cmd_addr, 2);
    const uint32_t io = vcon_guest_console_io_base(r->guest);
    vcon_vm_write(r->vm, VCON_SPACE_PCI_CONFIG, cmd_addr, 2, cmd & ~VCON_PCI_COMMAND_IO);
    assert_false(vcon_pci_device_bar_mapped(r->slot, 0, NULL));
    assert_true(vcon_pci_device_bar_mapped(r->slot, 1, NULL));
    assert_int_equal(vcon_vm_read(r->vm, VCON_SPACE_PIO, io + VCON_VIRTIO_PCI_STATUS, 1), 0xFF);

    const uint32_t moved = 0xD000;
    vcon_vm_write(r->vm, VCON_SPACE_PCI_CONFIG,
                  VCON_PCI_CONFIG_ADDR(0, PCI_DEV, 0, VCON_PCI_BASE_ADDRESS_0), 4, moved);
    assert_false(vcon_pci_device_bar_mapped(r->slot, 0, NULL));
    vcon_vm_write(r->vm, VCON_SPACE_PCI_CONFIG, cmd_addr, 2, cmd);
    assert_true(vcon_pci_device_bar_mapped(r->slot, 0, &base));
    assert_int_equal(base, moved);
    assert_int_equal(vcon_vm_read(r->vm, VCON_SPACE_PIO, moved + VCON_VIRTIO_PCI_STATUS, 1),
                     VCON_VIRTIO_STATUS_ACKNOWLEDGE | VCON_VIRTIO_STATUS_DRIVER |
                         VCON_VIRTIO_STATUS_DRIVER_OK);
    assert_int_equal(vcon_vm_read(r->vm, VCON_SPACE_PIO, io + VCON_VIRTIO_PCI_STATUS, 1), 0xFF);

    vcon_pci_device_detach(r->slot);
    r->slot = NULL;
    assert_int_equal(vcon_vm_read(r->vm, VCON_SPACE_PIO, moved + VCON_VIRTIO_PCI_STATUS, 1), 0xFF);
    assert_int_equal(vcon_vm_read(r->vm, VCON_SPACE_PCI_CONFIG,
                                  VCON_PCI_CONFIG_ADDR(0, PCI_DEV, 0, 0), 2),
                     0xFFFF);
}

static void probe_finds_no_device_on_an_empty_bus(void **state)
{
    struct rig *r = *state;
    vcon_pci_device_detach(r->slot);
    r->slot = NULL;
    assert_int_equal(vcon_guest_console_probe(r->guest), -ENODEV);
    assert_false(vcon_guest_console_up(r->guest));
}

/* ---- data ---------------------------------------------------------------------- */

static void moves_data_both_ways_on_every_port(void **state)
{
    struct rig *r = *state;
    boot(r);
    run_all_ports(r, 5000, 4000, 0);
    assert_clean(r);
}

/* The backends take a few dozen bytes per round: transmit chains wait in
 * the device, and the receive side waits for reposted buffers. */
static void moves_data_under_backend_back_pressure(void **state)
{
    struct rig *r = *state;
    boot(r);
    run_all_ports(r, 6000, 5000, 61);
    assert_clean(r);
    for (unsigned p = 0; p < r->cfg.present; p++) {
        struct vcon_console_port_state ds;
        assert_int_equal(vcon_console_get_port(r->console, p, &ds), 0);
        assert_false(ds.tx_held);
        assert_int_equal(ds.from_guest_bytes, 6000u + 37u * p);
        assert_int_equal(ds.to_guest_bytes, 5000u + 53u * p);
    }
}

/* A guest that does not read: the receive side stops at the driver's
 * buffer (used buffers held), the device stops reading the backend, and
 * nothing is lost when the guest reads again. */
static void receive_waits_for_a_guest_that_does_not_read(void **state)
{
    struct rig *r = *state;
    boot(r);
    const size_t len = VCON_GUEST_CONSOLE_RX_BUFFER + 8000u;
    uint8_t *in = test_malloc(len);
    uint8_t *got = test_malloc(len);
    fill_pattern(in, len, 77);
    assert_int_equal(vcon_script_input(backend(r, 0), in, len), 0);
    vcon_console_backend_ready(r->console, 0);
    settle(r);
    const struct vcon_guest_console_port *p = gport(r, 0);
    assert_true(p->rx_buffered >= VCON_GUEST_CONSOLE_RX_BUFFER);
    assert_true(vcon_script_pending_input(backend(r, 0)) > 0);
    assert_int_equal(p->rx_received + vcon_script_pending_input(backend(r, 0)), len);
    size_t got_len = 0;
    for (unsigned round = 0; round < MAX_ROUNDS && got_len < len; round++) {
        got_len += vcon_guest_console_read(r->guest, 0, got + got_len, 1000);
        settle(r);
    }
    assert_bytes_equal(got, got_len, in, len);
    assert_int_equal(p->rx_discarded, 0);
    test_free(in);
    test_free(got);
    assert_clean(r);
}

/* ---- hot-plug ------------------------------------------------------------------- */

static void hot_plugged_port_becomes_ready_and_carries_data(void **state)
{
    struct rig *r = *state;
    boot(r);
    const unsigned port = r->cfg.max_ports - 1u;
    assert_false(gport(r, port)->present);
    assert_int_equal(vcon_console_port_add(r->console, port, "hotplug", false), 0);
    settle(r);
    const struct vcon_guest_console_port *gp = gport(r, port);
    assert_true(gp->present);
    assert_int_equal(gp->adds, 1);
    assert_true(gp->has_name);
    assert_string_equal(gp->name, "hotplug");
    assert_false(gp->guest_open);
    struct vcon_console_port_state ds;
    assert_int_equal(vcon_console_get_port(r->console, port, &ds), 0);
    assert_true(ds.guest_ready);
    assert_int_equal(vcon_guest_console_open(r->guest, port), 0);
    settle(r);
    assert_int_equal(vcon_console_get_port(r->console, port, &ds), 0);
    assert_true(ds.guest_open);

    struct stream s;
    stream_init(&s, port, 3000, 2500);
    run_traffic(r, &port, 1, &s, 100);
    stream_free(&s);
    assert_clean(r);
}

static void hot_unplug_leaves_other_ports_untouched(void **state)
{
    struct rig *r = *state;
    boot(r);
    const unsigned victim = 2;
    assert_true(gport(r, victim)->present);
    /* Something in flight on the victim: a transmit chain the backend will
     * not take, and received data nobody read. */
    vcon_script_set_write_budget(backend(r, victim), 0);
    uint8_t junk[700];
    fill_pattern(junk, sizeof(junk), 5);
    assert_int_equal(vcon_guest_console_write(r->guest, victim, junk, sizeof(junk)),
                     (int)sizeof(junk));
    assert_int_equal(vcon_script_input(backend(r, victim), junk, 300), 0);
    vcon_console_backend_ready(r->console, victim);
    settle(r);
    assert_int_equal(gport(r, victim)->rx_buffered, 300);

    assert_int_equal(vcon_console_port_remove(r->console, victim), 0);
    settle(r);
    const struct vcon_guest_console_port *gp = gport(r, victim);
    assert_false(gp->present);
    assert_int_equal(gp->removes, 1);
    assert_int_equal(gp->rx_discarded, 300);
    assert_int_equal(gp->rx_buffered, 0);
    assert_int_equal(vcon_guest_console_write(r->guest, victim, junk, 1), -ENODEV);

    unsigned ports[VCON_CONSOLE_MAX_PORTS];
    struct stream s[VCON_CONSOLE_MAX_PORTS];
    unsigned count = 0;
    for (unsigned p = 0; p < r->cfg.present; p++)
        if (p != victim)
            ports[count++] = p;
    for (unsigned i = 0; i < count; i++)
        stream_init(&s[i], ports[i], 4000, 3000);
    run_traffic(r, ports, count, s, 200);
    for (unsigned i = 0; i < count; i++)
        stream_free(&s[i]);
    const struct vcon_guest_console_counters *n = vcon_guest_console_counters(r->guest);
    assert_int_equal(n->rx_unexpected, 0);
    assert_int_equal(n->ctrl_bad, 0);
}

/* The same port number again after an unplug: a new port, a new name. */
static void unplugged_port_can_be_plugged_again(void **state)
{
    struct rig *r = *state;
    boot(r);
    assert_int_equal(vcon_console_port_remove(r->console, 1), 0);
    settle(r);
    assert_false(gport(r, 1)->present);
    assert_int_equal(vcon_console_port_add(r->console, 1, "again", false), 0);
    settle(r);
    assert_true(gport(r, 1)->present);
    assert_string_equal(gport(r, 1)->name, "again");
    assert_int_equal(gport(r, 1)->adds, 2);
    assert_int_equal(vcon_guest_console_open(r->guest, 1), 0);
    settle(r);
    const unsigned port = 1;
    struct stream s;
    stream_init(&s, port, 2000, 2000);
    run_traffic(r, &port, 1, &s, 0);
    stream_free(&s);
    assert_clean(r);
}

/* ---- resize, emergency write --------------------------------------------------- */

static void resize_of_port_0_changes_config_and_sends_resize(void **state)
{
    struct rig *r = *state;
    boot(r);
    const uint64_t changes = vcon_guest_console_counters(r->guest)->config_changes;
    assert_int_equal(vcon_console_resize(r->console, 0, 132, 43), 0);
    settle(r);
    uint16_t cols = 0, rows = 0;
    vcon_guest_console_config(r->guest, &cols, &rows, NULL);
    assert_int_equal(cols, 132);
    assert_int_equal(rows, 43);
    assert_int_equal(vcon_guest_console_counters(r->guest)->config_changes, changes + 1);
    const struct vcon_guest_console_port *gp = gport(r, 0);
    assert_true(gp->is_console);
    assert_int_equal(gp->resizes, 1);
    assert_int_equal(gp->cols, 132);
    assert_int_equal(gp->rows, 43);
    assert_clean(r);
}

/* A console port other than 0: a RESIZE message, the configuration space
 * (port 0's size) stays. */
static void resize_of_another_console_port_sends_only_resize(void **state)
{
    struct rig *r = *state;
    boot(r);
    const unsigned port = (unsigned)r->cfg.console_port;
    const uint64_t changes = vcon_guest_console_counters(r->guest)->config_changes;
    assert_int_equal(vcon_console_resize(r->console, port, 100, 30), 0);
    settle(r);
    const struct vcon_guest_console_port *gp = gport(r, port);
    assert_true(gp->is_console);
    assert_int_equal(gp->resizes, 1);
    assert_int_equal(gp->cols, 100);
    assert_int_equal(gp->rows, 30);
    assert_int_equal(vcon_guest_console_counters(r->guest)->config_changes, changes);
    uint16_t cols = 0, rows = 0;
    vcon_guest_console_config(r->guest, &cols, &rows, NULL);
    assert_int_equal(cols, 80);
    assert_int_equal(rows, 25);
    assert_clean(r);
}

static void emergency_write_reaches_port_0_backend(void **state)
{
    struct rig *r = *state;
    boot(r);
    assert_int_equal(vcon_guest_console_emerg_write(r->guest, '!'), 0);
    assert_int_equal(vcon_guest_console_emerg_write(r->guest, 'x'), 0);
    size_t len = 0;
    const uint8_t *out = vcon_script_output(backend(r, 0), &len);
    assert_bytes_equal(out, len, (const uint8_t *)"!x", 2);
    for (unsigned p = 1; p < r->cfg.present; p++) {
        (void)vcon_script_output(backend(r, p), &len);
        assert_int_equal(len, 0);
    }
    struct vcon_console_stats s;
    vcon_console_get_stats(r->console, &s);
    assert_int_equal(s.emerg_bytes, 2);
    assert_clean(r);
}

/* ---- reset ---------------------------------------------------------------------- */

/* The guest resets the device with chains in flight both ways, brings it up
 * again, and traffic after that is exact. */
static void reset_in_the_middle_of_traffic_then_new_traffic_is_exact(void **state)
{
    struct rig *r = *state;
    boot(r);
    const unsigned nr = r->cfg.present;
    uint8_t old[3000];
    for (unsigned p = 0; p < nr; p++) {
        fill_pattern(old, sizeof(old), 300 + p);
        vcon_script_set_write_budget(backend(r, p), 500);
        assert_true(vcon_guest_console_write(r->guest, p, old, sizeof(old)) > 0);
        assert_int_equal(vcon_script_input(backend(r, p), old, sizeof(old)), 0);
        vcon_console_backend_ready(r->console, p);
    }
    settle(r);
    for (unsigned p = 0; p < nr; p++) {
        struct vcon_console_port_state ds;
        assert_int_equal(vcon_console_get_port(r->console, p, &ds), 0);
        assert_true(ds.tx_held);
        assert_true(gport(r, p)->tx_inflight > 0);
    }

    assert_int_equal(vcon_guest_console_restart(r->guest), 0);
    assert_int_equal(vcon_guest_console_counters(r->guest)->resets, 1);
    settle(r);
    for (unsigned p = 0; p < nr; p++) {
        const struct vcon_guest_console_port *gp = gport(r, p);
        assert_true(gp->present);
        assert_true(gp->guest_open);
        assert_int_equal(gp->tx_inflight, 0);
        assert_int_equal(gp->adds, 2);
        struct vcon_console_port_state ds;
        assert_int_equal(vcon_console_get_port(r->console, p, &ds), 0);
        assert_false(ds.tx_held);
        assert_true(ds.guest_open);
    }

    /* What was read before the reset or is still queued in the backend: the
     * old stream, with a hole where the reset dropped held data. */
    for (unsigned p = 0; p < nr; p++) {
        uint8_t sink[4096];
        while (vcon_guest_console_read(r->guest, p, sink, sizeof(sink)) > 0)
            ;
        vcon_script_set_write_budget(backend(r, p), SIZE_MAX);
        vcon_script_clear_output(backend(r, p));
    }
    /* Old input still waiting in the backends is delivered first: drain it. */
    for (unsigned round = 0; round < MAX_ROUNDS; round++) {
        bool pending = false;
        host_ready_all(r);
        settle(r);
        for (unsigned p = 0; p < nr; p++) {
            uint8_t sink[4096];
            while (vcon_guest_console_read(r->guest, p, sink, sizeof(sink)) > 0)
                ;
            pending |= vcon_script_pending_input(backend(r, p)) > 0;
        }
        if (!pending)
            break;
    }
    for (unsigned p = 0; p < nr; p++) {
        const struct vcon_guest_console_port *gp = gport(r, p);
        assert_int_equal(gp->rx_received, sizeof(old));
        assert_int_equal(gp->rx_read + gp->rx_discarded, sizeof(old));
        assert_int_equal(gp->tx_completed + gp->tx_abandoned, gp->tx_accepted);
    }
    run_all_ports(r, 3000, 3000, 0);
    assert_clean(r);
}

/* ---- single port, features -------------------------------------------------------- */

static void single_port_without_multiport_moves_data_on_port_0(void **state)
{
    struct rig *r = *state;
    boot(r);
    assert_false(vcon_guest_console_multiport(r->guest));
    assert_int_equal(vcon_guest_console_nr_ports(r->guest), 1);
    assert_int_equal(vcon_guest_console_nr_queues(r->guest), 2);
    assert_true(gport(r, 0)->present);
    assert_true(gport(r, 0)->is_console);
    run_all_ports(r, 5000, 5000, 77);
    const struct vcon_guest_console_counters *n = vcon_guest_console_counters(r->guest);
    assert_int_equal(n->ctrl_in, 0);
    assert_int_equal(n->ctrl_out, 0);
    struct vcon_console_stats s;
    vcon_console_get_stats(r->console, &s);
    assert_int_equal(s.ctrl_in, 0);
    assert_int_equal(s.ctrl_out, 0);
    /* Only port 0 exists for the guest; other backends saw nothing. */
    for (unsigned p = 1; p < r->cfg.present; p++) {
        size_t len = 0;
        (void)vcon_script_output(backend(r, p), &len);
        assert_int_equal(len, 0);
    }
    assert_clean(r);
}

/* Without MULTIPORT the console size lives in the configuration space: a
 * configuration interrupt resizes port 0. */
static void single_port_resize_comes_through_config_space(void **state)
{
    struct rig *r = *state;
    boot(r);
    assert_int_equal(vcon_console_resize(r->console, 0, 120, 50), 0);
    settle(r);
    const struct vcon_guest_console_port *gp = gport(r, 0);
    assert_int_equal(gp->resizes, 1);
    assert_int_equal(gp->cols, 120);
    assert_int_equal(gp->rows, 50);
    assert_clean(r);
}

static void negotiates_the_ring_features_it_asks_for(void **state)
{
    struct rig *r = *state;
    boot(r);
    const uint32_t f = vcon_guest_console_features(r->guest);
    assert_int_equal(!!(f & (1u << VCON_VIRTIO_F_RING_EVENT_IDX)), r->cfg.event_idx);
    assert_int_equal(!!(f & (1u << VCON_VIRTIO_F_RING_INDIRECT_DESC)), r->cfg.indirect);
    assert_int_equal(vcon_virtio_pci_features(vcon_console_transport(r->console)), f);
    run_all_ports(r, 4000, 4000, 50);
    assert_clean(r);
}

/* ---- a hostile device ------------------------------------------------------------- */

/* Just enough of a legacy virtio-console function for the driver to bring
 * it up (single port, INTx, queues of 4), which then misbehaves: an
 * interrupt line that never drops, or used entries the guest never posted
 * and lengths beyond the buffers. */
enum fake_mode { FAKE_STUCK_LINE, FAKE_BAD_USED, FAKE_USED_JUMP };

#define FAKE_IO_SIZE 64u
#define FAKE_MMIO_SIZE 4096u
#define FAKE_QUEUE_NUM 4u

struct fake {
    struct vcon_vm *vm;
    enum fake_mode mode;
    uint32_t bar[2];
    uint16_t command;
    bool io_mapped;
    uint64_t io_base;
    uint8_t status, isr;
    uint16_t sel;
    uint32_t pfn[2];
    unsigned notifies;
};

static uint32_t fake_config_dword(const struct fake *f, unsigned reg)
{
    switch (reg) {
    case 0x00:
        return VCON_VIRTIO_PCI_VENDOR | (VCON_CONSOLE_PCI_DEVICE_ID << 16);
    case 0x04:
        return f->command;
    case 0x08:
        return 0x07800000u; /* revision 0, simple communications */
    case 0x10:
        return (f->bar[0] & ~(FAKE_IO_SIZE - 1u)) | 1u;
    case 0x14:
        return f->bar[1] & ~(FAKE_MMIO_SIZE - 1u);
    case 0x2C:
        return VCON_VIRTIO_PCI_VENDOR | (VCON_CONSOLE_VIRTIO_ID << 16);
    default:
        return 0;
    }
}

static int fake_io_read(void *device, uint64_t offset, unsigned size, uint32_t *value);
static int fake_io_write(void *device, uint64_t offset, unsigned size, uint32_t value);
static const struct vcon_bus_ops fake_io_ops = {.read = fake_io_read, .write = fake_io_write};

static int fake_config_read(void *device, uint64_t offset, unsigned size, uint32_t *value)
{
    const struct fake *f = device;
    (void)size;
    const uint32_t dword = fake_config_dword(f, (unsigned)offset & ~3u);
    *value = dword >> (8u * (offset & 3u));
    return 0;
}

static int fake_config_write(void *device, uint64_t offset, unsigned size, uint32_t value)
{
    struct fake *f = device;
    (void)size;
    if (offset == 0x04)
        f->command = (uint16_t)value;
    else if (offset == 0x10)
        f->bar[0] = value;
    else if (offset == 0x14)
        f->bar[1] = value;
    if (!f->io_mapped && (f->command & VCON_PCI_COMMAND_IO) && f->bar[0] > 1u &&
        f->bar[0] != 0xFFFFFFFFu) {
        f->io_base = f->bar[0] & ~(FAKE_IO_SIZE - 1u);
        assert_int_equal(vcon_vm_map(f->vm, VCON_SPACE_PIO, f->io_base, FAKE_IO_SIZE, &fake_io_ops, f),
                         0);
        f->io_mapped = true;
    }
    return 0;
}

static const struct vcon_bus_ops fake_config_ops = {.read = fake_config_read,
                                                    .write = fake_config_write};

static void put_le(struct vcon_vm *vm, uint64_t gpa, uint32_t v, unsigned n)
{
    uint8_t b[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
    assert_int_equal(vcon_vm_guest_write(vm, gpa, b, n), 0);
}

/* Push `count` used entries naming `id` with `len` onto queue `q`. */
static void fake_push(struct fake *f, unsigned q, unsigned count, uint32_t id, uint32_t len)
{
    const uint64_t ring = (uint64_t)f->pfn[q] * 4096u;
    const uint64_t used = ring + ((FAKE_QUEUE_NUM * 16u + 6u + 2u * FAKE_QUEUE_NUM + 4095u) & ~4095ull);
    uint8_t b[2];
    assert_int_equal(vcon_vm_guest_read(f->vm, used + 2, b, 2), 0);
    uint16_t idx = (uint16_t)(b[0] | b[1] << 8);
    for (unsigned i = 0; i < count && i < FAKE_QUEUE_NUM; i++) {
        put_le(f->vm, used + 4u + 8u * ((idx + i) % FAKE_QUEUE_NUM), id, 4);
        put_le(f->vm, used + 8u + 8u * ((idx + i) % FAKE_QUEUE_NUM), len, 4);
    }
    put_le(f->vm, used + 2, (uint16_t)(idx + count), 2);
    f->isr |= 1u;
}

static int fake_io_read(void *device, uint64_t offset, unsigned size, uint32_t *value)
{
    struct fake *f = device;
    (void)size;
    switch (offset) {
    case VCON_VIRTIO_PCI_HOST_FEATURES:
        *value = 0;
        return 0;
    case VCON_VIRTIO_PCI_QUEUE_NUM:
        *value = f->sel < 2 ? FAKE_QUEUE_NUM : 0;
        return 0;
    case VCON_VIRTIO_PCI_QUEUE_PFN:
        *value = f->sel < 2 ? f->pfn[f->sel] : 0;
        return 0;
    case VCON_VIRTIO_PCI_STATUS:
        *value = f->status;
        return 0;
    case VCON_VIRTIO_PCI_ISR:
        *value = f->isr;
        if (f->mode != FAKE_STUCK_LINE)
            f->isr = 0;
        return 0;
    default:
        *value = 0;
        return 0;
    }
}

static int fake_io_write(void *device, uint64_t offset, unsigned size, uint32_t value)
{
    struct fake *f = device;
    (void)size;
    switch (offset) {
    case VCON_VIRTIO_PCI_QUEUE_SEL:
        f->sel = (uint16_t)value;
        break;
    case VCON_VIRTIO_PCI_QUEUE_PFN:
        if (f->sel < 2)
            f->pfn[f->sel] = value;
        break;
    case VCON_VIRTIO_PCI_STATUS:
        f->status = (uint8_t)value;
        if (value == 0)
            f->pfn[0] = f->pfn[1] = 0;
        break;
    case VCON_VIRTIO_PCI_QUEUE_NOTIFY:
        f->notifies++;
        if (value == 0 && f->mode == FAKE_BAD_USED && f->notifies == 1) {
            fake_push(f, 0, 1, 999, 16);       /* a head that does not exist */
            fake_push(f, 0, 1, 0, 1u << 20);   /* far more than the buffer */
        }
        if (value == 0 && f->mode == FAKE_USED_JUMP && f->notifies == 1)
            fake_push(f, 0, 60000u, 0, 8);     /* used idx runs far ahead */
        break;
    default:
        break;
    }
    return 0;
}

struct hostile {
    struct vcon_vm *vm;
    struct fake fake;
    struct vcon_guest_console *guest;
};

static void hostile_boot(struct hostile *h, enum fake_mode mode)
{
    memset(h, 0, sizeof(*h));
    assert_int_equal(vcon_vm_create(RAM_SIZE, &h->vm), 0);
    h->fake.vm = h->vm;
    h->fake.mode = mode;
    assert_int_equal(vcon_vm_map(h->vm, VCON_SPACE_PCI_CONFIG, VCON_PCI_CONFIG_ADDR(0, 7, 0, 0),
                                 VCON_PCI_CONFIG_SIZE, &fake_config_ops, &h->fake),
                     0);
    struct vcon_guest_console_options o;
    vcon_guest_console_default_options(&o);
    o.intx_line = INTX_LINE;
    assert_int_equal(vcon_guest_console_create(h->vm, &o, &h->guest), 0);
    assert_int_equal(vcon_guest_console_probe(h->guest), 0);
    assert_false(vcon_guest_console_multiport(h->guest));
}

static void hostile_free(struct hostile *h)
{
    vcon_guest_console_destroy(h->guest);
    vcon_vm_destroy(h->vm);
}

/* A line that never drops, with ISR reading 1 forever: service() stops at
 * its bound and says so. (The line is driven through a host interface of
 * the VM, as a device would.) */
static void service_gives_up_on_a_line_that_never_drops(void **state)
{
    (void)state;
    struct hostile h;
    hostile_boot(&h, FAKE_STUCK_LINE);
    h.fake.isr = 1;
    struct vcon_host host;
    struct vcon_vm_binding *binding = NULL;
    assert_int_equal(vcon_vm_bind_device(h.vm, 0, &host, &binding), 0);
    host.irq_set_level(host.ctx, INTX_LINE, 1);
    assert_int_equal(vcon_guest_console_service(h.guest), VCON_GUEST_CONSOLE_SERVICE_ROUNDS);
    assert_int_equal(vcon_guest_console_counters(h.guest)->stuck, 1);
    assert_int_equal(vcon_guest_console_service(h.guest), VCON_GUEST_CONSOLE_SERVICE_ROUNDS);
    assert_int_equal(vcon_guest_console_counters(h.guest)->stuck, 2);
    /* ISR 1 with the line up is consistent; the line staying up after the
     * read is what gets counted. */
    assert_int_equal(vcon_guest_console_counters(h.guest)->isr_line_mismatch,
                     2u * VCON_GUEST_CONSOLE_SERVICE_ROUNDS);
    hostile_free(&h);
}

static void used_entries_the_guest_never_posted_are_counted_not_trusted(void **state)
{
    (void)state;
    struct hostile h;
    hostile_boot(&h, FAKE_BAD_USED);
    assert_true(h.fake.notifies >= 1);
    assert_int_equal(vcon_guest_console_poll(h.guest), 0);
    const struct vcon_guest_vring *vr = vcon_guest_console_vring(h.guest, 0);
    assert_non_null(vr);
    assert_int_equal(vr->bad_used, 1);
    assert_int_equal(vcon_guest_console_counters(h.guest)->used_len_overflow, 1);
    /* The oversized entry was clamped to the buffer that was posted. */
    const struct vcon_guest_console_port *p = vcon_guest_console_port(h.guest, 0);
    assert_int_equal(p->rx_received, 256);
    hostile_free(&h);
}

static void used_index_running_far_ahead_is_bounded(void **state)
{
    (void)state;
    struct hostile h;
    hostile_boot(&h, FAKE_USED_JUMP);
    for (unsigned i = 0; i < 4; i++)
        assert_int_equal(vcon_guest_console_poll(h.guest), 0);
    const struct vcon_guest_vring *vr = vcon_guest_console_vring(h.guest, 0);
    assert_non_null(vr);
    assert_true(vr->bad_used > 0);
    /* At most one entry per posted buffer was believed. */
    assert_true(vcon_guest_console_port(h.guest, 0)->rx_received <= 8u * FAKE_QUEUE_NUM);
    hostile_free(&h);
}

/* ---- configurations ------------------------------------------------------------ */

#define RIG(n, ...) static const struct rig_config n = {__VA_ARGS__}

RIG(one_intx, .max_ports = 1, .present = 1, .console_port = 0);
RIG(two_intx, .max_ports = 2, .present = 2, .console_port = 0, .rx_buf_size = 77);
RIG(sixteen_intx, .max_ports = 16, .present = 16, .console_port = 0);
RIG(one_msix, .max_ports = 1, .present = 1, .console_port = 0, .irq = VCON_GUEST_CONSOLE_MSIX);
RIG(two_msix, .max_ports = 2, .present = 2, .console_port = 0, .irq = VCON_GUEST_CONSOLE_MSIX);
RIG(sixteen_msix, .max_ports = 16, .present = 16, .console_port = 0,
    .irq = VCON_GUEST_CONSOLE_MSIX, .rx_buf_size = 1000);
RIG(sixteen_shared, .max_ports = 16, .present = 16, .console_port = 0,
    .irq = VCON_GUEST_CONSOLE_MSIX_SHARED);
RIG(four_of_eight_intx, .max_ports = 8, .present = 4, .console_port = 0);
RIG(four_of_eight_msix, .max_ports = 8, .present = 4, .console_port = 0,
    .irq = VCON_GUEST_CONSOLE_MSIX, .event_idx = true);
RIG(four_console_3, .max_ports = 4, .present = 4, .console_port = 3);
RIG(four_console_3_msix, .max_ports = 4, .present = 4, .console_port = 3,
    .irq = VCON_GUEST_CONSOLE_MSIX);
RIG(single_guest, .max_ports = 4, .present = 4, .console_port = 0, .guest_no_multiport = true);
RIG(single_device, .max_ports = 1, .present = 1, .console_port = 0, .no_multiport = true,
    .irq = VCON_GUEST_CONSOLE_MSIX);
RIG(single_device_idx, .max_ports = 1, .present = 1, .console_port = 0, .no_multiport = true,
    .event_idx = true, .indirect = true, .tx_segs = 3, .rx_segs = 2);
RIG(feat_none, .max_ports = 3, .present = 3, .console_port = 0, .tx_segs = 3, .rx_segs = 2);
RIG(feat_event_idx, .max_ports = 3, .present = 3, .console_port = 0, .event_idx = true);
RIG(feat_indirect, .max_ports = 3, .present = 3, .console_port = 0, .indirect = true,
    .tx_segs = 4, .rx_segs = 3, .rx_buf_size = 100);
RIG(feat_both_msix, .max_ports = 3, .present = 3, .console_port = 0, .event_idx = true,
    .indirect = true, .tx_segs = 4, .rx_segs = 2, .irq = VCON_GUEST_CONSOLE_MSIX,
    .chunk_seed = 99);
RIG(feat_both_small_ring, .max_ports = 3, .present = 3, .console_port = 0, .event_idx = true,
    .indirect = true, .tx_segs = 8, .rx_segs = 4, .queue_size = 8, .chunk_seed = 7);
RIG(random_chunks_shared, .max_ports = 16, .present = 16, .console_port = 0, .event_idx = true,
    .irq = VCON_GUEST_CONSOLE_MSIX_SHARED, .tx_segs = 3, .chunk_seed = 12345);

#define T(fn, cfg) {#fn "/" #cfg, fn, setup_rig, teardown_rig, (void *)&cfg}

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(brings_up_every_present_port, one_intx),
        T(brings_up_every_present_port, two_intx),
        T(brings_up_every_present_port, sixteen_intx),
        T(brings_up_every_present_port, one_msix),
        T(brings_up_every_present_port, two_msix),
        T(brings_up_every_present_port, sixteen_msix),
        T(brings_up_every_present_port, sixteen_shared),
        T(brings_up_every_present_port, four_of_eight_intx),
        T(brings_up_every_present_port, four_console_3),
        T(pci_slot_follows_the_bars_the_guest_programs, two_intx),
        T(probe_finds_no_device_on_an_empty_bus, one_intx),
        T(moves_data_both_ways_on_every_port, one_intx),
        T(moves_data_both_ways_on_every_port, two_msix),
        T(moves_data_both_ways_on_every_port, sixteen_intx),
        T(moves_data_both_ways_on_every_port, sixteen_msix),
        T(moves_data_under_backend_back_pressure, one_intx),
        T(moves_data_under_backend_back_pressure, two_intx),
        T(moves_data_under_backend_back_pressure, sixteen_msix),
        T(moves_data_under_backend_back_pressure, sixteen_shared),
        T(moves_data_under_backend_back_pressure, random_chunks_shared),
        T(receive_waits_for_a_guest_that_does_not_read, one_intx),
        T(receive_waits_for_a_guest_that_does_not_read, feat_both_msix),
        T(hot_plugged_port_becomes_ready_and_carries_data, four_of_eight_intx),
        T(hot_plugged_port_becomes_ready_and_carries_data, four_of_eight_msix),
        T(hot_unplug_leaves_other_ports_untouched, four_of_eight_intx),
        T(hot_unplug_leaves_other_ports_untouched, four_of_eight_msix),
        T(unplugged_port_can_be_plugged_again, four_of_eight_intx),
        T(resize_of_port_0_changes_config_and_sends_resize, two_intx),
        T(resize_of_port_0_changes_config_and_sends_resize, two_msix),
        T(resize_of_another_console_port_sends_only_resize, four_console_3),
        T(resize_of_another_console_port_sends_only_resize, four_console_3_msix),
        T(emergency_write_reaches_port_0_backend, two_intx),
        T(emergency_write_reaches_port_0_backend, single_device),
        T(reset_in_the_middle_of_traffic_then_new_traffic_is_exact, two_intx),
        T(reset_in_the_middle_of_traffic_then_new_traffic_is_exact, sixteen_msix),
        T(reset_in_the_middle_of_traffic_then_new_traffic_is_exact, feat_both_msix),
        T(single_port_without_multiport_moves_data_on_port_0, single_guest),
        T(single_port_without_multiport_moves_data_on_port_0, single_device),
        T(single_port_without_multiport_moves_data_on_port_0, single_device_idx),
        T(single_port_resize_comes_through_config_space, single_guest),
        T(single_port_resize_comes_through_config_space, single_device),
        T(negotiates_the_ring_features_it_asks_for, feat_none),
        T(negotiates_the_ring_features_it_asks_for, feat_event_idx),
        T(negotiates_the_ring_features_it_asks_for, feat_indirect),
        T(negotiates_the_ring_features_it_asks_for, feat_both_msix),
        T(negotiates_the_ring_features_it_asks_for, feat_both_small_ring),
        cmocka_unit_test(service_gives_up_on_a_line_that_never_drops),
        cmocka_unit_test(used_entries_the_guest_never_posted_are_counted_not_trusted),
        cmocka_unit_test(used_index_running_far_ahead_is_bounded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
