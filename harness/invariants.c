/* Invariants of the devices' state (harness/invariants.h): the statements of
 * docs/uart.md and docs/console.md that any state between two events must
 * satisfy, written from those documents, not from the devices' code. */
#include "harness/invariants.h"

#include <stdarg.h>
#include <stdio.h>

#include "vcon/virtio_pci.h"
#include "vcon/virtq.h"

#define INVARIANT_SOURCE "harness/invariants.c"
#include "invariant_require.h"

bool vcon_invariant_broken(struct vcon_invariant_failure *why, const char *source,
                           const char *name, const char *fmt, ...)
{
    va_list ap;
    why->name = name;
    why->source = source;
    va_start(ap, fmt);
    vsnprintf(why->detail, sizeof(why->detail), fmt, ap);
    va_end(ap);
    return false;
}

/* ---- UART ----------------------------------------------------------------- */

static unsigned uart_depth(const struct vcon_uart_config *config, bool tx)
{
    const unsigned profile = config->profile == VCON_UART_PROFILE_ACRN_DM ? 256u : 16u;
    const unsigned rx = config->rx_fifo_size ? config->rx_fifo_size : profile;
    return tx && config->tx_fifo_size ? config->tx_fifo_size : rx;
}

static bool uart_line_and_fifos(const struct vcon_uart_config *config,
                                const struct vcon_uart_state *st, int line,
                                struct vcon_invariant_failure *why)
{
    const bool fifo = st->fifo_enabled;
    if (config->irq_mode == VCON_UART_IRQ_EDGE) {
        REQUIRE(line == 0, "uart irq: edge mode leaves the line low between events", "line %d", line);
    } else {
        REQUIRE((line != 0) == st->irq_level, "uart irq: line matches the device's level",
                "line %d, device level %d", line, st->irq_level);
        REQUIRE(st->irq_level == !(st->iir & VCON_UART_IIR_NO_INT),
                "uart irq: level mode line high exactly while IIR reports a source",
                "level %d, IIR %#x", st->irq_level, st->iir);
    }
    REQUIRE(st->rx_count <= st->rx_capacity, "uart fifo: rx count within capacity", "%u of %u",
            st->rx_count, st->rx_capacity);
    REQUIRE(st->tx_count <= st->tx_capacity, "uart fifo: tx count within capacity", "%u of %u",
            st->tx_count, st->tx_capacity);
    REQUIRE(st->rx_capacity == (fifo ? uart_depth(config, false) : 1u),
            "uart fifo: rx capacity is the depth with FIFOs on, 1 without", "capacity %u, FIFOs %s",
            st->rx_capacity, fifo ? "on" : "off");
    REQUIRE(st->tx_capacity == (fifo ? uart_depth(config, true) : 1u),
            "uart fifo: tx capacity is the depth with FIFOs on, 1 without", "capacity %u, FIFOs %s",
            st->tx_capacity, fifo ? "on" : "off");
    REQUIRE(st->input_count <= VCON_UART_HV_INPUT_BUFFER, "uart fifo: input buffer bound", "%u",
            st->input_count);
    REQUIRE(config->flavour == VCON_UART_FLAVOUR_HV || st->input_count == 0,
            "uart fifo: no input buffer in the DM flavour", "%u bytes", st->input_count);
    return true;
}

static bool uart_registers(const struct vcon_uart_state *st, struct vcon_invariant_failure *why)
{
    const bool fifo = st->fifo_enabled;
    const uint8_t errors = VCON_UART_LSR_OE | VCON_UART_LSR_PE | VCON_UART_LSR_FE | VCON_UART_LSR_BI;
    REQUIRE((st->ier & 0xF0u) == 0, "uart regs: IER keeps bits 0-3 only", "IER %#x", st->ier);
    REQUIRE((st->mcr & 0xE0u) == 0, "uart regs: MCR keeps bits 0-4 only", "MCR %#x", st->mcr);
    REQUIRE((st->fcr & ~(VCON_UART_FCR_ENABLE | VCON_UART_FCR_DMA | VCON_UART_FCR_TRIGGER_MASK)) == 0,
            "uart regs: FCR keeps enable, DMA and trigger bits only", "FCR %#x", st->fcr);
    REQUIRE((st->fcr & VCON_UART_FCR_ENABLE) || st->fcr == 0,
            "uart regs: FCR bits programmed only with bit 0", "FCR %#x", st->fcr);
    REQUIRE(fifo == ((st->fcr & VCON_UART_FCR_ENABLE) != 0), "uart regs: FIFO state is FCR bit 0",
            "FCR %#x, FIFOs %s", st->fcr, fifo ? "on" : "off");
    REQUIRE(((st->lsr & VCON_UART_LSR_DR) != 0) == (st->rx_count > 0),
            "uart lsr: DR exactly while the receiver holds data", "LSR %#x, %u received",
            st->lsr, st->rx_count);
    REQUIRE(((st->lsr & VCON_UART_LSR_THRE) != 0) == (st->tx_count == 0),
            "uart lsr: THRE exactly while the transmitter is empty", "LSR %#x, %u to send",
            st->lsr, st->tx_count);
    REQUIRE(((st->lsr & VCON_UART_LSR_TEMT) != 0) == (st->tx_count == 0),
            "uart lsr: TEMT exactly while the transmitter is empty", "LSR %#x, %u to send",
            st->lsr, st->tx_count);
    REQUIRE(fifo || !(st->lsr & VCON_UART_LSR_RXFE), "uart lsr: RXFE only with FIFOs", "LSR %#x",
            st->lsr);
    REQUIRE(((st->lsr & errors) != 0) == st->line_status_pending,
            "uart lsr: error bits exactly while a line status is pending", "LSR %#x, pending %d",
            st->lsr, st->line_status_pending);
    return true;
}

static bool uart_iir(const struct vcon_uart_config *config, const struct vcon_uart_state *st,
                     struct vcon_invariant_failure *why)
{
    const unsigned id = st->iir & VCON_UART_IIR_ID_MASK;
    const bool acrn = config->profile == VCON_UART_PROFILE_ACRN_DM;
    const bool deltas = (st->msr & VCON_UART_MSR_DELTAS) != 0;
    REQUIRE((st->iir & VCON_UART_IIR_FIFO_BITS) == (st->fifo_enabled ? VCON_UART_IIR_FIFO_BITS : 0u),
            "uart iir: bits 7:6 set exactly with FIFOs on", "IIR %#x", st->iir);
    REQUIRE((st->iir & 0x30u) == 0, "uart iir: bits 5:4 read 0", "IIR %#x", st->iir);
    REQUIRE(id == VCON_UART_IIR_NO_INT || id == VCON_UART_IIR_MSR || id == VCON_UART_IIR_THRE ||
                id == VCON_UART_IIR_RDA || id == VCON_UART_IIR_RLS || id == VCON_UART_IIR_TIMEOUT,
            "uart iir: a defined interrupt id", "IIR %#x", st->iir);
    if ((st->ier & VCON_UART_IER_ELSI) && st->line_status_pending)
        REQUIRE(id == VCON_UART_IIR_RLS, "uart iir: line status has the highest priority",
                "IIR %#x", st->iir);
    if (id == VCON_UART_IIR_RLS)
        REQUIRE((st->ier & VCON_UART_IER_ELSI) && st->line_status_pending,
                "uart iir: RLS only when enabled and pending", "IER %#x", st->ier);
    if (id == VCON_UART_IIR_RDA || id == VCON_UART_IIR_TIMEOUT)
        REQUIRE((st->ier & VCON_UART_IER_ERBFI) && st->rx_count > 0,
                "uart iir: received data only when enabled and present", "IER %#x, %u received",
                st->ier, st->rx_count);
    if (id == VCON_UART_IIR_RDA)
        REQUIRE(!acrn, "uart iir: acrn-dm reports received data as a timeout", "IIR %#x", st->iir);
    if (id == VCON_UART_IIR_TIMEOUT && !acrn)
        REQUIRE(st->timeout_pending, "uart iir: 16550a timeout only after the timer", "IIR %#x",
                st->iir);
    if (id == VCON_UART_IIR_THRE)
        REQUIRE((st->ier & VCON_UART_IER_ETBEI) && st->thre_pending,
                "uart iir: THRE only when enabled and pending", "IER %#x", st->ier);
    if (id == VCON_UART_IIR_MSR)
        REQUIRE((st->ier & VCON_UART_IER_EDSSI) && deltas,
                "uart iir: modem status only when enabled and a delta is set", "IER %#x, MSR %#x",
                st->ier, st->msr);
    if (id == VCON_UART_IIR_NO_INT) {
        REQUIRE(!((st->ier & VCON_UART_IER_ETBEI) && st->thre_pending),
                "uart iir: an enabled THRE is reported", "IER %#x", st->ier);
        REQUIRE(!((st->ier & VCON_UART_IER_EDSSI) && deltas),
                "uart iir: an enabled modem-status change is reported", "IER %#x, MSR %#x", st->ier,
                st->msr);
        REQUIRE(!(acrn && (st->ier & VCON_UART_IER_ERBFI) && st->rx_count > 0),
                "uart iir: acrn-dm reports every received byte", "IER %#x, %u received", st->ier,
                st->rx_count);
    }
    return true;
}

bool vcon_check_uart_state(const struct vcon_uart_config *config, const struct vcon_uart_state *st,
                           int line, struct vcon_invariant_failure *why)
{
    return uart_line_and_fifos(config, st, line, why) && uart_registers(st, why) &&
           uart_iir(config, st, why);
}

bool vcon_check_uart(const struct vcon_uart *uart, const struct vcon_vm *vm, unsigned irq_line,
                     struct vcon_invariant_failure *why)
{
    struct vcon_uart_config config;
    struct vcon_uart_state st;
    vcon_uart_get_config(uart, &config);
    vcon_uart_get_state(uart, &st);
    return vcon_check_uart_state(&config, &st, vcon_vm_irq_level(vm, irq_line), why);
}

/* ---- virtio-console ---------------------------------------------------------- */

static bool console_intx(struct vcon_console *console, const struct vcon_vm *vm, unsigned irq_line,
                         struct vcon_invariant_failure *why)
{
    struct vcon_virtio_pci *t = vcon_console_transport(console);
    /* COMMAND and STATUS share a dword: one read through the device's own
     * path (this runs after every primitive of a fuzz input). */
    uint32_t dword = 0;
    (void)vcon_virtio_pci_config_read(t, VCON_PCI_COMMAND, 4, &dword);
    const uint32_t command = dword & 0xFFFFu;
    const uint32_t status = dword >> (8u * (VCON_PCI_STATUS - VCON_PCI_COMMAND));
    const bool msix = vcon_virtio_pci_msix_enabled(t);
    const bool isr = (status & VCON_PCI_STATUS_INTERRUPT) != 0;
    const bool want = isr && !(command & VCON_PCI_COMMAND_INTX_DISABLE) && !msix;
    const bool line = vcon_vm_irq_level(vm, irq_line) != 0;
    REQUIRE(!(msix && isr), "console intx: no INTx condition while MSI-X is on", "STATUS %#x",
            (unsigned)status);
    REQUIRE(line == want, "console intx: the line is up exactly while ISR != 0, INTx enabled, no MSI-X",
            "line %d, STATUS %#x, COMMAND %#x, MSI-X %s", line, (unsigned)status, (unsigned)command,
            msix ? "on" : "off");
    REQUIRE(vcon_virtio_pci_intx_level(t) == line,
            "console intx: the transport's level is the line's", "transport %d, line %d",
            vcon_virtio_pci_intx_level(t), line);
    return true;
}

/* Absent ports; `held` gets which ports hold a transmit chain, for the
 * queue check (one state read per port). */
static bool console_ports(struct vcon_console *console, bool held[VCON_CONSOLE_MAX_PORTS],
                          struct vcon_invariant_failure *why)
{
    struct vcon_console_port_state ps;
    for (unsigned p = 0; p < VCON_CONSOLE_MAX_PORTS; p++) {
        held[p] = false;
        if (vcon_console_get_port(console, p, &ps) != 0)
            continue;
        if (!ps.present)
            REQUIRE(!ps.guest_ready && !ps.guest_open && !ps.tx_held,
                    "console ports: an absent port is not ready, open or holding a chain",
                    "port %u: ready %d, open %d, holding %d", p, ps.guest_ready, ps.guest_open,
                    ps.tx_held);
        held[p] = ps.present && ps.tx_held;
    }
    return true;
}

static bool console_queues(struct vcon_console *console, const bool held[VCON_CONSOLE_MAX_PORTS],
                           struct vcon_invariant_failure *why)
{
    struct vcon_virtio_pci *t = vcon_console_transport(console);
    const struct vcon_virtq *vq;
    for (unsigned q = 0; (vq = vcon_virtio_pci_queue(t, q)) != NULL; q++) {
        unsigned port;
        const bool tx = vcon_console_queue_role(q, &port) == VCON_CONSOLE_QUEUE_TX;
        const bool holding = tx && port < VCON_CONSOLE_MAX_PORTS && held[port];
        /* The expected count first: it is what almost every queue has, and
         * the check runs after every step of a fuzz input. */
        if (vq->outstanding == (holding ? 1u : 0u) || !vcon_virtq_ready(vq) || vq->broken)
            continue;
        if (tx) {
            REQUIRE(vq->outstanding == (holding ? 1u : 0u),
                    "console queues: a transmit queue holds exactly the port's held chain",
                    "queue %u (port %u, holding %d): %u chains outstanding", q, port, holding,
                    (unsigned)vq->outstanding);
        } else {
            REQUIRE(vq->outstanding == 0,
                    "console queues: receive and control chains are returned at once",
                    "queue %u: %u chains outstanding", q, (unsigned)vq->outstanding);
        }
    }
    return true;
}

bool vcon_check_console(struct vcon_console *console, const struct vcon_vm *vm, unsigned irq_line,
                        struct vcon_invariant_failure *why)
{
    REQUIRE(vcon_console_pending_ctrl(console) <= VCON_CONSOLE_CTRL_PENDING_MAX,
            "console ctrl: pending messages within their bound", "%u pending",
            vcon_console_pending_ctrl(console));
    bool held[VCON_CONSOLE_MAX_PORTS];
    return console_intx(console, vm, irq_line, why) && console_ports(console, held, why) &&
           console_queues(console, held, why);
}

bool vcon_check_rig(struct vcon_rig *rig, struct vcon_invariant_failure *why)
{
    const struct vcon_vm *vm = vcon_rig_vm(rig);
    for (unsigned d = 0; d < vcon_rig_nr_devices(rig); d++) {
        struct vcon_rig_device_info info;
        struct vcon_uart *uart = vcon_rig_uart(rig, d);
        struct vcon_console *console = vcon_rig_console(rig, d);
        if (vcon_rig_device_info(rig, d, &info) != 0)
            continue;
        if (uart != NULL && !vcon_check_uart(uart, vm, info.irq_line, why))
            return false;
        if (console != NULL && !vcon_check_console(console, vm, info.irq_line, why))
            return false;
    }
    return true;
}
