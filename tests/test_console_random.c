/* Seeded random operation sequences against the virtio-console, driven by
 * the fake guest's Linux-like driver through the VM bus, with invariants
 * checked after every operation and byte conservation checked at quiescent
 * points.
 *
 * Operations: guest writes and reads on random ports, backend input,
 * backend write budgets and readiness, ports opened and closed, hot-plug
 * and unplug, resizes, emergency writes, backend disconnects, interrupt
 * servicing (and direct ISR reads), and now and then a reset of the device
 * by the guest followed by a new bring-up.
 *
 * After every operation: no used entry names a chain the guest did not
 * post (vring bad_used), no used length exceeds the posted buffer, the
 * driver's byte counters add up, every byte a reader got is the next one
 * of what the backend was fed (after what the driver reports discarded),
 * every byte a backend got is the next one the guest wrote (emergency
 * bytes aside), and with INTx the line equals the PCI interrupt status
 * (ISR != 0). At quiescent points (budgets lifted, interrupts taken, data
 * read): bytes fed == bytes received by the guest + bytes still in the
 * backend; bytes written == bytes out + bytes still in flight, exactly for
 * every port no reset or unplug has touched since the last point where it
 * had nothing in flight. Each seed is deterministic: one run twice must
 * give the same digest. */
#include <errno.h>
#include <inttypes.h>
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
#define PCI_DEV 5u
#define INTX_LINE 9u
#define SETTLE_ROUNDS 256u
#define DRAIN_ROUNDS 2000u
#define HISTORY 12u
#define MAX_EMERG 4096u

/* ---- PRNG ------------------------------------------------------------------- */

struct rng {
    uint64_t s;
};

static uint64_t rng_next(struct rng *r)
{
    uint64_t x = r->s;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    r->s = x;
    return x;
}

static unsigned rng_below(struct rng *r, unsigned n)
{
    return (unsigned)(rng_next(r) % n);
}

static unsigned rng_range(struct rng *r, unsigned lo, unsigned hi)
{
    return lo + rng_below(r, hi - lo + 1u);
}

/* ---- byte streams ------------------------------------------------------------ */

struct bytes {
    uint8_t *data;
    size_t len, cap;
};

static void bytes_append(struct bytes *b, const uint8_t *src, size_t len)
{
    if (b->len + len > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + len)
            cap *= 2;
        uint8_t *grown = realloc(b->data, cap);
        assert_non_null(grown);
        b->data = grown;
        b->cap = cap;
    }
    memcpy(b->data + b->len, src, len);
    b->len += len;
}

/* ---- a run ------------------------------------------------------------------------ */

struct run {
    const char *name;
    uint64_t seed;
    unsigned ops;
    unsigned max_ports;
    uint16_t queue_size;
    enum vcon_guest_console_irq irq;
    bool event_idx, indirect;
    unsigned tx_chunk, tx_segs, rx_segs, rx_bufs;
};

struct port_model {
    struct bytes written; /* everything the guest's write() took */
    struct bytes fed;     /* everything queued into the backend */
    size_t out_checked;   /* backend output bytes checked so far */
    size_t written_matched; /* written bytes matched against them */
    bool dirty;           /* a reset or unplug may have dropped written bytes */
    uint64_t read_total;  /* bytes the test read */
    size_t emerg[MAX_EMERG]; /* port 0: output indices of emergency bytes */
    unsigned nr_emerg, emerg_checked;
    bool resize_valid;
    uint16_t cols, rows;
    unsigned adds;        /* names stay unique */
};

struct ctx {
    const struct run *run;
    struct rng rng;
    unsigned op;
    char history[HISTORY][96];
    struct vcon_vm *vm;
    struct vcon_vm_binding *binding;
    struct vcon_console *console;
    struct vcon_pci_device *slot;
    struct vcon_guest_console *guest;
    struct port_model port[VCON_CONSOLE_MAX_PORTS];
    uint64_t digest;
    unsigned quiescent_checks, restarts, plugs, unplugs;
};

static void note(struct ctx *x, const char *fmt, ...) CMOCKA_PRINTF_ATTRIBUTE(2, 3);

static void note(struct ctx *x, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(x->history[x->op % HISTORY], sizeof(x->history[0]), fmt, ap);
    va_end(ap);
}

/* On failure: the run, the seed, the operation and the last few ones. */
static void dump(const struct ctx *x)
{
    print_error("run %s seed 0x%" PRIx64 " failed at op %u; last operations:\n", x->run->name,
                x->run->seed, x->op);
    const unsigned first = x->op + 1u > HISTORY ? x->op + 1u - HISTORY : 0;
    for (unsigned i = first; i <= x->op; i++)
        print_error("  %5u %s\n", i, x->history[i % HISTORY]);
}

#define CHECK(x, cond, ...)                                                                 \
    do {                                                                                     \
        if (!(cond)) {                                                                       \
            dump(x);                                                                         \
            print_error(__VA_ARGS__);                                                        \
            print_error("\n");                                                               \
            fail_msg("invariant: %s", #cond);                                               \
        }                                                                                    \
    } while (0)

static struct vcon_script_backend *backend(struct ctx *x, unsigned port)
{
    return vcon_vm_backend(x->binding, port);
}

static const struct vcon_guest_console_port *gport(struct ctx *x, unsigned port)
{
    return vcon_guest_console_port(x->guest, port);
}

static void mix(struct ctx *x, uint64_t v)
{
    x->digest = (x->digest ^ v) * 0x100000001B3ull;
}

/* ---- invariants ----------------------------------------------------------------- */

/* New backend output of `port` against what the guest wrote. */
static void check_output(struct ctx *x, unsigned port)
{
    struct port_model *m = &x->port[port];
    size_t len = 0;
    const uint8_t *out = vcon_script_output(backend(x, port), &len);
    for (; m->out_checked < len; m->out_checked++) {
        if (m->emerg_checked < m->nr_emerg && m->emerg[m->emerg_checked] == m->out_checked) {
            m->emerg_checked++;
            continue;
        }
        CHECK(x, m->written_matched < m->written.len,
              "port %u: backend got byte %zu but the guest wrote only %zu", port, m->out_checked,
              m->written.len);
        if (!m->dirty)
            CHECK(x, out[m->out_checked] == m->written.data[m->written_matched],
                  "port %u: output byte %zu is 0x%02x, the guest wrote 0x%02x there", port,
                  m->out_checked, out[m->out_checked], m->written.data[m->written_matched]);
        m->written_matched++;
    }
}

static void check_driver(struct ctx *x)
{
    const struct vcon_guest_console_counters *n = vcon_guest_console_counters(x->guest);
    CHECK(x, n->used_len_overflow == 0, "used length above a posted buffer (%" PRIu64 ")",
          n->used_len_overflow);
    CHECK(x, n->stuck == 0, "interrupt handling hit its bound %" PRIu64 " times", n->stuck);
    CHECK(x, n->isr_line_mismatch == 0, "INTx line disagreed with ISR %" PRIu64 " times",
          n->isr_line_mismatch);
    CHECK(x, n->intx_in_msix == 0, "INTx raised with MSI-X on");
    CHECK(x, n->spurious == 0, "%" PRIu64 " spurious interrupts", n->spurious);
    CHECK(x, n->ctrl_bad == 0, "%" PRIu64 " bad control messages", n->ctrl_bad);
    CHECK(x, n->rx_unexpected == 0, "%" PRIu64 " receive buffers used for absent ports",
          n->rx_unexpected);
    CHECK(x, n->alloc_failures == 0, "guest heap exhausted");
    CHECK(x, n->setup_failures == 0 && n->bad_config == 0, "bring-up refused");
    for (unsigned q = 0; q < vcon_guest_console_nr_queues(x->guest); q++) {
        const struct vcon_guest_vring *vr = vcon_guest_console_vring(x->guest, q);
        if (vr == NULL)
            continue;
        CHECK(x, vr->bad_used == 0, "queue %u: %" PRIu64 " used entries for chains not posted",
              q, vr->bad_used);
        CHECK(x, vcon_guest_vring_outstanding(vr) <= vr->size, "queue %u overcommitted", q);
        /* The used index runs ahead of the guest by completed chains only:
         * never by more than the chains the guest has out. */
        uint8_t idx[2];
        assert_int_equal(vcon_vm_guest_read(x->vm, vr->used_gpa + 2u, idx, 2), 0);
        const uint16_t ahead = (uint16_t)((idx[0] | idx[1] << 8) - vr->last_used);
        CHECK(x, ahead <= vcon_guest_vring_outstanding(vr),
              "queue %u: used index %u chains ahead, %u outstanding", q, ahead,
              vcon_guest_vring_outstanding(vr));
    }
    for (unsigned p = 0; p < x->run->max_ports; p++) {
        const struct vcon_guest_console_port *gp = gport(x, p);
        CHECK(x, gp->rx_received == gp->rx_read + gp->rx_discarded + gp->rx_buffered,
              "port %u: received %" PRIu64 " != read %" PRIu64 " + discarded %" PRIu64
              " + buffered %" PRIu64,
              p, gp->rx_received, gp->rx_read, gp->rx_discarded, gp->rx_buffered);
        CHECK(x, gp->tx_accepted == gp->tx_inflight + gp->tx_completed + gp->tx_abandoned,
              "port %u: tx counters do not add up", p);
        CHECK(x, gp->rx_read == x->port[p].read_total, "port %u: driver read count", p);
        CHECK(x, gp->tx_accepted == x->port[p].written.len, "port %u: driver write count", p);
        /* The device never hands out more than it was fed. */
        CHECK(x, gp->rx_received <= x->port[p].fed.len,
              "port %u: guest received %" PRIu64 " bytes, backend was fed %zu", p,
              gp->rx_received, x->port[p].fed.len);
        check_output(x, p);
    }
    if (vcon_guest_console_up(x->guest) &&
        vcon_guest_console_irq_mode(x->guest) == VCON_GUEST_CONSOLE_INTX) {
        const int status = vcon_guest_console_intx_status(x->guest);
        CHECK(x, status == vcon_vm_irq_level(x->vm, INTX_LINE),
              "INTx line %d but PCI interrupt status (ISR != 0) %d",
              vcon_vm_irq_level(x->vm, INTX_LINE), status);
    } else if (vcon_guest_console_up(x->guest)) {
        CHECK(x, vcon_vm_irq_level(x->vm, INTX_LINE) == 0, "INTx line up with MSI-X on");
    }
}

/* Read everything a port has, checking it is the fed stream in order. */
static void read_port(struct ctx *x, unsigned port, size_t max)
{
    struct port_model *m = &x->port[port];
    uint8_t buf[2048];
    while (max > 0) {
        const size_t want = max < sizeof(buf) ? max : sizeof(buf);
        const uint64_t pos = gport(x, port)->rx_read + gport(x, port)->rx_discarded;
        const size_t n = vcon_guest_console_read(x->guest, port, buf, want);
        if (n == 0)
            break;
        CHECK(x, pos + n <= m->fed.len, "port %u: read past what was fed", port);
        for (size_t i = 0; i < n; i++)
            CHECK(x, buf[i] == m->fed.data[pos + i],
                  "port %u: read byte at stream offset %" PRIu64 " is 0x%02x, fed 0x%02x", port,
                  pos + i, buf[i], m->fed.data[pos + i]);
        m->read_total += n;
        mix(x, n);
        mix(x, buf[n - 1]);
        max -= n;
    }
}

static void settle(struct ctx *x)
{
    if (!vcon_guest_console_up(x->guest))
        return;
    for (unsigned i = 0; i < SETTLE_ROUNDS; i++) {
        const int runs = vcon_guest_console_service(x->guest);
        CHECK(x, runs >= 0, "service failed");
        if (runs == 0)
            return;
    }
    CHECK(x, false, "interrupts still pending after %u service calls", SETTLE_ROUNDS);
}

/* Lift every budget and run until nothing moves, then check conservation. */
static void quiescent_check(struct ctx *x)
{
    const unsigned nr = x->run->max_ports;
    for (unsigned p = 0; p < nr; p++)
        vcon_script_set_write_budget(backend(x, p), SIZE_MAX);
    uint64_t last = UINT64_MAX;
    for (unsigned round = 0; round < DRAIN_ROUNDS; round++) {
        for (unsigned p = 0; p < nr; p++)
            vcon_console_backend_ready(x->console, p);
        settle(x);
        uint64_t progress = 0;
        for (unsigned p = 0; p < nr; p++) {
            read_port(x, p, SIZE_MAX);
            size_t len = 0;
            (void)vcon_script_output(backend(x, p), &len);
            progress += len + gport(x, p)->rx_received;
        }
        if (progress == last)
            break;
        last = progress;
    }
    check_driver(x);
    x->quiescent_checks++;
    for (unsigned p = 0; p < nr; p++) {
        struct port_model *m = &x->port[p];
        const struct vcon_guest_console_port *gp = gport(x, p);
        const size_t pending = vcon_script_pending_input(backend(x, p));
        CHECK(x, m->fed.len == gp->rx_received + pending,
              "port %u: fed %zu != received %" PRIu64 " + pending in backend %zu", p, m->fed.len,
              gp->rx_received, pending);
        struct vcon_console_port_state ds;
        assert_int_equal(vcon_console_get_port(x->console, p, &ds), 0);
        const bool connected = vcon_script_connected(backend(x, p));
        /* A port the guest can read from has nothing left in its backend. */
        if (gp->present && gp->guest_open && ds.guest_open && connected &&
            vcon_guest_console_up(x->guest))
            CHECK(x, pending == 0, "port %u: %zu bytes stuck in the backend", p, pending);
        /* A present port with a connected backend drains its chains. */
        if (gp->present && connected && vcon_guest_console_up(x->guest))
            CHECK(x, gp->tx_inflight == 0 && !ds.tx_held,
                  "port %u: %" PRIu64 " bytes still in flight with no budget limit", p,
                  gp->tx_inflight);
        if (!m->dirty) {
            struct vcon_console_stats st;
            vcon_console_get_stats(x->console, &st);
            CHECK(x, m->written_matched + gp->tx_inflight == m->written.len,
                  "port %u: wrote %zu, backend got %zu, in flight %" PRIu64
                  ": bytes lost (device: from guest %" PRIu64 ", dropped %" PRIu64
                  ", malformed %" PRIu64 "; guest completed %" PRIu64 " abandoned %" PRIu64 ")",
                  p, m->written.len, m->written_matched, gp->tx_inflight, ds.from_guest_bytes,
                  st.tx_dropped_bytes, st.data_malformed, gp->tx_completed, gp->tx_abandoned);
        }
        else
            CHECK(x, m->written_matched + gp->tx_inflight <= m->written.len,
                  "port %u: backend got more than written", p);
        /* Nothing in flight and a peer that takes data: from here on the
         * streams line up again. */
        if (gp->tx_inflight == 0 && connected && m->dirty) {
            m->dirty = false;
            m->written_matched = m->written.len;
        }
        /* Sizes announced for a console port have arrived. */
        if (gp->present && gp->is_console && m->resize_valid &&
            vcon_guest_console_multiport(x->guest)) {
            CHECK(x, gp->cols == m->cols && gp->rows == m->rows,
                  "port %u: guest size %ux%u, host set %ux%u (%u control messages waiting in "
                  "the device)",
                  p, gp->cols, gp->rows, m->cols, m->rows, vcon_console_pending_ctrl(x->console));
        }
        mix(x, m->written_matched);
        mix(x, gp->rx_received);
    }
    if (x->port[0].resize_valid && vcon_guest_console_up(x->guest)) {
        uint16_t cols = 0, rows = 0;
        vcon_guest_console_config(x->guest, &cols, &rows, NULL);
        CHECK(x, cols == x->port[0].cols && rows == x->port[0].rows,
              "config space size %ux%u seen by the guest, host set %ux%u", cols, rows,
              x->port[0].cols, x->port[0].rows);
    }
}

/* ---- operations ------------------------------------------------------------------- */

static void op_write(struct ctx *x)
{
    const unsigned p = rng_below(&x->rng, x->run->max_ports);
    uint8_t buf[1200];
    const size_t len = rng_range(&x->rng, 1, sizeof(buf));
    for (size_t i = 0; i < len; i++)
        buf[i] = (uint8_t)rng_next(&x->rng);
    const int n = vcon_guest_console_write(x->guest, p, buf, len);
    note(x, "write port %u %zu bytes -> %d", p, len, n);
    CHECK(x, n == -ENODEV || n == -EPIPE || (n >= 0 && (size_t)n <= len), "write returned %d", n);
    if (n > 0)
        bytes_append(&x->port[p].written, buf, (size_t)n);
    mix(x, (uint64_t)(int64_t)n);
}

static void op_feed(struct ctx *x)
{
    const unsigned p = rng_below(&x->rng, x->run->max_ports);
    uint8_t buf[1500];
    const size_t len = rng_range(&x->rng, 1, sizeof(buf));
    for (size_t i = 0; i < len; i++)
        buf[i] = (uint8_t)rng_next(&x->rng);
    assert_int_equal(vcon_script_input(backend(x, p), buf, len), 0);
    bytes_append(&x->port[p].fed, buf, len);
    const bool ready = rng_below(&x->rng, 4) != 0;
    if (ready)
        vcon_console_backend_ready(x->console, p);
    note(x, "feed port %u %zu bytes%s", p, len, ready ? " + ready" : "");
}

static void op_read(struct ctx *x)
{
    const unsigned p = rng_below(&x->rng, x->run->max_ports);
    const size_t max = rng_below(&x->rng, 3) == 0 ? SIZE_MAX : rng_range(&x->rng, 1, 3000);
    note(x, "read port %u up to %zu", p, max == SIZE_MAX ? (size_t)0 : max);
    read_port(x, p, max);
}

static void op_budget(struct ctx *x)
{
    const unsigned p = rng_below(&x->rng, x->run->max_ports);
    const unsigned kind = rng_below(&x->rng, 4);
    const size_t budget = kind == 0 ? 0 : kind == 3 ? SIZE_MAX : rng_range(&x->rng, 1, 700);
    vcon_script_set_write_budget(backend(x, p), budget);
    const bool ready = rng_below(&x->rng, 3) != 0;
    if (ready)
        vcon_console_backend_ready(x->console, p);
    note(x, "budget port %u %lld%s", p, budget == SIZE_MAX ? -1LL : (long long)budget,
         ready ? " + ready" : "");
}

static void op_ready(struct ctx *x)
{
    const unsigned p = rng_below(&x->rng, x->run->max_ports);
    note(x, "backend_ready port %u", p);
    vcon_console_backend_ready(x->console, p);
}

static void op_service(struct ctx *x)
{
    if (!vcon_guest_console_up(x->guest))
        return;
    if (rng_below(&x->rng, 8) == 0 &&
        vcon_guest_console_irq_mode(x->guest) == VCON_GUEST_CONSOLE_INTX) {
        const int rc = vcon_guest_console_poll_isr(x->guest);
        note(x, "read ISR -> %d", rc);
        mix(x, (uint64_t)rc);
        return;
    }
    const int runs = vcon_guest_console_service(x->guest);
    note(x, "service -> %d", runs);
    CHECK(x, runs >= 0, "service failed");
    mix(x, (uint64_t)runs);
}

static void op_open_close(struct ctx *x)
{
    const unsigned p = rng_below(&x->rng, x->run->max_ports);
    const bool open = rng_below(&x->rng, 3) != 0;
    const int rc = open ? vcon_guest_console_open(x->guest, p) : vcon_guest_console_close(x->guest, p);
    note(x, "%s port %u -> %d", open ? "open" : "close", p, rc);
    CHECK(x, rc == 0 || rc == -ENODEV, "open/close returned %d", rc);
}

static void op_plug(struct ctx *x)
{
    const unsigned p = rng_range(&x->rng, 1, x->run->max_ports - 1u);
    char name[32];
    snprintf(name, sizeof(name), "p%u.%u", p, x->port[p].adds);
    const bool console = rng_below(&x->rng, 5) == 0;
    const int rc = vcon_console_port_add(x->console, p, name, console);
    note(x, "plug port %u%s -> %d", p, console ? " (console)" : "", rc);
    CHECK(x, rc == 0 || rc == -EEXIST, "port_add returned %d", rc);
    if (rc == 0) {
        x->port[p].adds++;
        x->port[p].resize_valid = false;
        x->plugs++;
    }
}

static void op_unplug(struct ctx *x)
{
    const unsigned p = rng_range(&x->rng, 1, x->run->max_ports - 1u);
    const int rc = vcon_console_port_remove(x->console, p);
    note(x, "unplug port %u -> %d", p, rc);
    CHECK(x, rc == 0 || rc == -ENOENT, "port_remove returned %d", rc);
    if (rc == 0) {
        /* A chain the device held goes back unwritten. */
        x->port[p].dirty = true;
        x->port[p].resize_valid = false;
        x->unplugs++;
    }
}

static void op_resize(struct ctx *x)
{
    const unsigned p = rng_below(&x->rng, 3) == 0 ? 0 : rng_below(&x->rng, x->run->max_ports);
    const uint16_t cols = (uint16_t)rng_range(&x->rng, 1, 300);
    const uint16_t rows = (uint16_t)rng_range(&x->rng, 1, 120);
    const int rc = vcon_console_resize(x->console, p, cols, rows);
    note(x, "resize port %u %ux%u -> %d", p, cols, rows, rc);
    CHECK(x, rc == 0 || rc == -ENOENT, "resize returned %d", rc);
    if (rc == 0) {
        x->port[p].resize_valid = true;
        x->port[p].cols = cols;
        x->port[p].rows = rows;
    }
}

static void op_emerg(struct ctx *x)
{
    struct port_model *m = &x->port[0];
    const uint8_t byte = (uint8_t)rng_next(&x->rng);
    size_t before = 0, after = 0;
    (void)vcon_script_output(backend(x, 0), &before);
    const int rc = vcon_guest_console_emerg_write(x->guest, byte);
    (void)vcon_script_output(backend(x, 0), &after);
    note(x, "emergency write 0x%02x -> %d", byte, rc);
    CHECK(x, rc == 0 || rc == -ENODEV, "emerg_write returned %d", rc);
    CHECK(x, after == before || (rc == 0 && after == before + 1u),
          "an emergency write moved the output by %zu", after - before);
    if (after == before + 1u && m->nr_emerg < MAX_EMERG) {
        CHECK(x, vcon_script_output(backend(x, 0), NULL)[before] == byte, "emergency byte");
        m->emerg[m->nr_emerg++] = before;
    }
}

static void op_connection(struct ctx *x)
{
    unsigned p = rng_below(&x->rng, x->run->max_ports);
    /* Peers come back more often than they go, so most of a run has
     * every backend connected. */
    if (rng_below(&x->rng, 4) != 0)
        for (unsigned i = 0; i < x->run->max_ports; i++)
            if (!vcon_script_connected(backend(x, i)))
                p = i;
    struct vcon_script_backend *b = backend(x, p);
    if (vcon_script_connected(b)) {
        vcon_script_disconnect(b);
        vcon_console_backend_open(x->console, p, false);
        /* Writes to a closed peer are dropped. */
        x->port[p].dirty = true;
        note(x, "disconnect port %u", p);
    } else {
        vcon_script_connect(b);
        vcon_console_backend_open(x->console, p, true);
        note(x, "connect port %u", p);
    }
}

static void op_restart(struct ctx *x)
{
    const int rc = vcon_guest_console_restart(x->guest);
    note(x, "restart -> %d", rc);
    CHECK(x, rc == 0, "restart failed: %d", rc);
    for (unsigned p = 0; p < x->run->max_ports; p++)
        x->port[p].dirty = true; /* chains abandoned, a held one half written */
    x->restarts++;
}

static void op_quiescent(struct ctx *x)
{
    note(x, "quiescent check");
    quiescent_check(x);
}

static void op_settle(struct ctx *x)
{
    note(x, "settle");
    settle(x);
}

/* Operations and their weights (per mille). */
static const struct {
    void (*fn)(struct ctx *x);
    unsigned weight;
} ops[] = {
    {op_write, 230},   {op_feed, 150},     {op_read, 120},       {op_budget, 80},
    {op_ready, 50},    {op_service, 220},  {op_open_close, 25},  {op_resize, 20},
    {op_emerg, 12},    {op_plug, 25},      {op_unplug, 18},      {op_connection, 6},
    {op_restart, 2},   {op_quiescent, 22}, {op_settle, 20},
};

static void do_op(struct ctx *x)
{
    unsigned r = rng_below(&x->rng, 1000);
    for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
        if (r < ops[i].weight) {
            ops[i].fn(x);
            return;
        }
        r -= ops[i].weight;
    }
    fail_msg("operation weights do not add up to 1000");
}

/* ---- setup, the run itself ---------------------------------------------------------- */

static void boot(struct ctx *x)
{
    const struct run *run = x->run;
    assert_int_equal(vcon_vm_create(RAM_SIZE, &x->vm), 0);
    struct vcon_host host;
    assert_int_equal(vcon_vm_bind_device(x->vm, run->max_ports, &host, &x->binding), 0);
    struct vcon_console_config cc;
    memset(&cc, 0, sizeof(cc));
    cc.max_ports = run->max_ports;
    cc.queue_size = run->queue_size;
    cc.cols = 80;
    cc.rows = 25;
    cc.intx_line = INTX_LINE;
    for (unsigned p = 0; p < run->max_ports; p += 2) {
        cc.port[p].present = true;
        cc.port[p].is_console = p == 0;
        snprintf(cc.port[p].name, sizeof(cc.port[p].name), "p%u", p);
        x->port[p].adds = 1;
    }
    assert_int_equal(vcon_console_create(&cc, &host, &x->console), 0);
    assert_int_equal(vcon_pci_device_attach(x->vm, vcon_console_transport(x->console), 0, PCI_DEV,
                                            0, &x->slot),
                     0);
    struct vcon_guest_console_options o;
    vcon_guest_console_default_options(&o);
    o.intx_line = INTX_LINE;
    o.irq = run->irq;
    o.event_idx = run->event_idx;
    o.indirect = run->indirect;
    o.tx_chunk = run->tx_chunk;
    o.tx_segs = run->tx_segs;
    o.rx_segs = run->rx_segs;
    o.rx_bufs = run->rx_bufs;
    o.chunk_seed = run->seed ^ 0x9E3779B97F4A7C15ull;
    assert_int_equal(vcon_guest_console_create(x->vm, &o, &x->guest), 0);
    assert_int_equal(vcon_guest_console_probe(x->guest), 0);
    assert_int_equal(vcon_guest_console_irq_mode(x->guest), run->irq);
    settle(x);
    for (unsigned p = 0; p < run->max_ports; p++)
        if (gport(x, p)->present)
            assert_int_equal(vcon_guest_console_open(x->guest, p), 0);
}

static void teardown(struct ctx *x)
{
    vcon_guest_console_destroy(x->guest);
    vcon_pci_device_detach(x->slot);
    vcon_console_destroy(x->console);
    vcon_vm_destroy(x->vm);
    for (unsigned p = 0; p < VCON_CONSOLE_MAX_PORTS; p++) {
        free(x->port[p].written.data);
        free(x->port[p].fed.data);
    }
}

/* Runs the sequence and returns its digest. */
static uint64_t run_sequence(const struct run *run)
{
    struct ctx *x = calloc(1, sizeof(*x));
    assert_non_null(x);
    x->run = run;
    x->rng.s = run->seed;
    x->digest = 0xCBF29CE484222325ull;
    boot(x);
    for (x->op = 0; x->op < run->ops; x->op++) {
        do_op(x);
        check_driver(x);
    }
    x->op = run->ops;
    note(x, "final quiescent check");
    quiescent_check(x);
    /* The run did what it is for. */
    assert_true(x->quiescent_checks > 20);
    assert_true(x->plugs > 0 && x->unplugs > 0);
    for (unsigned p = 0; p < run->max_ports; p++) {
        mix(x, x->port[p].written.len);
        mix(x, x->port[p].fed.len);
        mix(x, x->port[p].read_total);
        size_t len = 0;
        const uint8_t *out = vcon_script_output(backend(x, p), &len);
        for (size_t i = 0; i < len; i++)
            mix(x, out[i]);
    }
    const struct vcon_guest_console_counters *n = vcon_guest_console_counters(x->guest);
    mix(x, n->interrupts);
    mix(x, n->kicks);
    mix(x, n->ctrl_in);
    mix(x, vcon_vm_msi_count(x->vm));
    mix(x, vcon_vm_irq_raises(x->vm, INTX_LINE));
    struct vcon_console_stats s;
    vcon_console_get_stats(x->console, &s);
    mix(x, s.rx_bytes);
    mix(x, s.tx_bytes);
    mix(x, s.ctrl_out);
    const uint64_t digest = x->digest;
    teardown(x);
    free(x);
    return digest;
}

static const struct run runs[] = {
    {"intx_plain_4", 0x1234567890ABCDEFull, 20000, 4, 32, VCON_GUEST_CONSOLE_INTX, false, false,
     256, 1, 1, 8},
    {"msix_evidx_indirect_6", 0xDEADBEEFCAFEF00Dull, 20000, 6, 16, VCON_GUEST_CONSOLE_MSIX, true,
     true, 300, 4, 2, 6},
    {"shared_evidx_16_small_rings", 0x0F1E2D3C4B5A6978ull, 20000, 16, 8,
     VCON_GUEST_CONSOLE_MSIX_SHARED, true, false, 200, 3, 1, 4},
    {"intx_indirect_8", 0x5EED5EED5EED5EEDull, 20000, 8, 64, VCON_GUEST_CONSOLE_INTX, false, true,
     512, 6, 3, 12},
};

static void random_operations_keep_every_invariant(void **state)
{
    const struct run *run = *state;
    (void)run_sequence(run);
}

static void same_seed_gives_the_same_run(void **state)
{
    (void)state;
    struct run run = runs[1];
    run.ops = 3000;
    const uint64_t first = run_sequence(&run);
    const uint64_t second = run_sequence(&run);
    assert_int_equal(first, second);
    run.seed ^= 1;
    assert_int_not_equal(run_sequence(&run), first);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        {"random_operations_keep_every_invariant/intx_plain_4",
         random_operations_keep_every_invariant, NULL, NULL, (void *)&runs[0]},
        {"random_operations_keep_every_invariant/msix_evidx_indirect_6",
         random_operations_keep_every_invariant, NULL, NULL, (void *)&runs[1]},
        {"random_operations_keep_every_invariant/shared_evidx_16_small_rings",
         random_operations_keep_every_invariant, NULL, NULL, (void *)&runs[2]},
        {"random_operations_keep_every_invariant/intx_indirect_8",
         random_operations_keep_every_invariant, NULL, NULL, (void *)&runs[3]},
        cmocka_unit_test(same_seed_gives_the_same_run),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
