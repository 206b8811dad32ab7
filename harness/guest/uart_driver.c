/* The guest driver at run time: open (startup and termios), the interrupt
 * routine with interrupt-driven transmit and receive, and interrupt
 * delivery from the VM's interrupt sink. The probe is in
 * uart_driver_probe.c. */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "guest/uart_driver_internal.h"

#define LSR_ERROR_BITS \
    (VCON_UART_LSR_OE | VCON_UART_LSR_PE | VCON_UART_LSR_FE | VCON_UART_LSR_BI)
#define TX_WAIT_US 10000u          /* wait_for_xmitr gives up after 10 ms */
#define DEFAULT_BAUD 9600u         /* the tty layer's default for serial ports */
#define ADVANCE_STEPS (1u << 16)   /* timer stops per vcon_guest_uart_advance */

/* ---- byte rings -------------------------------------------------------- */

static size_t ring_put(struct vcon_guest_byte_ring *r, uint8_t *buf, unsigned cap,
                       const uint8_t *src, size_t len)
{
    size_t n = 0;
    while (n < len && r->count < cap) {
        buf[(r->head + r->count) % cap] = src[n++];
        r->count++;
    }
    return n;
}

static size_t ring_take(struct vcon_guest_byte_ring *r, const uint8_t *buf, unsigned cap,
                        uint8_t *dst, size_t len)
{
    size_t n = 0;
    while (n < len && r->count > 0) {
        dst[n++] = buf[r->head];
        r->head = (r->head + 1) % cap;
        r->count--;
    }
    return n;
}

/* ---- transmit and receive ---------------------------------------------- */

static void stop_tx(struct vcon_guest_uart *u)
{
    if (u->ier & VCON_UART_IER_ETBEI) {
        u->ier &= (uint8_t)~VCON_UART_IER_ETBEI;
        guart_out(u, VCON_UART_IER, u->ier);
    }
}

/* Fill the transmitter with up to one FIFO load; stop the THRE interrupt
 * once the queue is empty. */
static void tx_chars(struct vcon_guest_uart *u)
{
    if (u->txq.count == 0) {
        stop_tx(u);
        return;
    }
    unsigned room = u->tx_loadsz ? u->tx_loadsz : 1;
    while (room-- > 0 && u->txq.count > 0) {
        uint8_t ch;
        (void)ring_take(&u->txq, u->tx_buf, VCON_GUEST_UART_TX_QUEUE, &ch, 1);
        guart_out(u, VCON_UART_RBR_THR, ch);
        u->counters.tx++;
    }
    if (u->txq.count == 0)
        stop_tx(u);
}

static void start_tx(struct vcon_guest_uart *u)
{
    if (u->ier & VCON_UART_IER_ETBEI)
        return;
    u->ier |= VCON_UART_IER_ETBEI;
    guart_out(u, VCON_UART_IER, u->ier);
    /* A chip that raised no interrupt when THRI was first enabled at
     * startup is fed directly instead. */
    if (u->bug_txen) {
        const uint8_t lsr = guart_in(u, VCON_UART_LSR);
        u->lsr_saved |= lsr & LSR_ERROR_BITS;
        if (lsr & VCON_UART_LSR_THRE)
            tx_chars(u);
    }
}

/* One character from the receiver, with the errors LSR reported for it.
 * As in Linux with the default termios, a break arrives as a NUL and a
 * character with a parity or framing error is kept as received. */
static void read_char(struct vcon_guest_uart *u, uint8_t lsr)
{
    const uint8_t ch = (lsr & VCON_UART_LSR_DR) ? guart_in(u, VCON_UART_RBR_THR) : 0;
    u->counters.rx++;
    lsr |= u->lsr_saved;
    u->lsr_saved = 0;
    if (lsr & LSR_ERROR_BITS) {
        if (lsr & VCON_UART_LSR_BI)
            u->counters.brk++;
        else if (lsr & VCON_UART_LSR_PE)
            u->counters.parity++;
        else if (lsr & VCON_UART_LSR_FE)
            u->counters.frame++;
        if (lsr & VCON_UART_LSR_OE)
            u->counters.overrun++;
    }
    if (ring_put(&u->rxq, u->rx_buf, VCON_GUEST_UART_RX_BUFFER, &ch, 1) == 0)
        u->counters.rx_dropped++;
}

/* Drain the receiver while it reports data or a break, at most one burst;
 * returns the last LSR value read. */
static uint8_t rx_chars(struct vcon_guest_uart *u, uint8_t lsr)
{
    unsigned budget = VCON_GUEST_UART_RX_BURST;
    do {
        read_char(u, lsr);
        if (--budget == 0)
            break;
        lsr = guart_in(u, VCON_UART_LSR);
    } while (lsr & (VCON_UART_LSR_DR | VCON_UART_LSR_BI));
    return lsr;
}

static void modem_status(struct vcon_guest_uart *u)
{
    const uint8_t msr = guart_in(u, VCON_UART_MSR);
    u->msr = msr;
    if (!(msr & VCON_UART_MSR_DELTAS) || !(u->ier & VCON_UART_IER_EDSSI))
        return;
    if (msr & VCON_UART_MSR_TERI)
        u->counters.rng++;
    if (msr & VCON_UART_MSR_DDSR)
        u->counters.dsr++;
    if (msr & VCON_UART_MSR_DDCD)
        u->counters.dcd++;
    if (msr & VCON_UART_MSR_DCTS)
        u->counters.cts++;
}

/* One look at the port: false when IIR says nothing is pending. */
static bool handle_port(struct vcon_guest_uart *u)
{
    const uint8_t iir = guart_in(u, VCON_UART_IIR_FCR);
    if (iir & VCON_UART_IIR_NO_INT)
        return false;
    uint8_t lsr = guart_in(u, VCON_UART_LSR);
    if (lsr & (VCON_UART_LSR_DR | VCON_UART_LSR_BI))
        lsr = rx_chars(u, lsr);
    modem_status(u);
    if ((lsr & VCON_UART_LSR_THRE) && (u->ier & VCON_UART_IER_ETBEI))
        tx_chars(u);
    return true;
}

/* The interrupt routine: look at the port until it has nothing pending,
 * giving up after Linux's pass limit. */
static bool run_interrupt(struct vcon_guest_uart *u)
{
    unsigned passes = 0;
    u->counters.interrupts++;
    while (handle_port(u)) {
        u->counters.passes++;
        if (++passes >= VCON_GUEST_UART_PASS_LIMIT) {
            u->counters.stuck++;
            break;
        }
    }
    if (passes == 0)
        u->counters.unhandled++;
    return passes > 0;
}

/* ---- open ---------------------------------------------------------------- */

/* Poll LSR until all of `bits` are set, 1 us apart, for at most 10 ms. */
static void wait_for_xmitr(struct vcon_guest_uart *u, uint8_t bits)
{
    for (unsigned tries = 0; tries < TX_WAIT_US; tries++) {
        const uint8_t lsr = guart_in(u, VCON_UART_LSR);
        u->lsr_saved |= lsr & LSR_ERROR_BITS;
        if ((lsr & bits) == bits)
            return;
        guart_udelay(u, 1);
    }
}

static void clear_interrupt_registers(struct vcon_guest_uart *u)
{
    (void)guart_in(u, VCON_UART_LSR);
    (void)guart_in(u, VCON_UART_RBR_THR);
    (void)guart_in(u, VCON_UART_IIR_FCR);
    (void)guart_in(u, VCON_UART_MSR);
}

/* A real 16550 asserts THRE again each time THRI goes from 0 to 1 with the
 * transmitter idle; some emulations do not, and need a polling timer. */
static void test_thre_reassert(struct vcon_guest_uart *u)
{
    wait_for_xmitr(u, VCON_UART_LSR_THRE);
    guart_out(u, VCON_UART_IER, VCON_UART_IER_ETBEI);
    guart_udelay(u, 1);
    const uint8_t first = guart_in(u, VCON_UART_IIR_FCR);
    guart_out(u, VCON_UART_IER, 0);
    guart_out(u, VCON_UART_IER, VCON_UART_IER_ETBEI);
    guart_udelay(u, 1);
    const uint8_t second = guart_in(u, VCON_UART_IIR_FCR);
    guart_out(u, VCON_UART_IER, 0);
    if (!(first & VCON_UART_IIR_NO_INT) && (second & VCON_UART_IIR_NO_INT))
        u->bug_thre = true;
}

/* Does enabling THRI with an empty transmitter raise an interrupt at all? */
static void test_tx_enable(struct vcon_guest_uart *u)
{
    guart_out(u, VCON_UART_IER, VCON_UART_IER_ETBEI);
    const uint8_t lsr = guart_in(u, VCON_UART_LSR);
    const uint8_t iir = guart_in(u, VCON_UART_IIR_FCR);
    guart_out(u, VCON_UART_IER, 0);
    u->bug_txen = (lsr & VCON_UART_LSR_TEMT) && (iir & VCON_UART_IIR_NO_INT);
}

int guart_startup(struct vcon_guest_uart *u)
{
    guart_clear_fifos(u);
    clear_interrupt_registers(u);
    /* A UART that passed the probe cannot read all ones here. */
    if (guart_in(u, VCON_UART_LSR) == 0xFF)
        return -ENODEV;
    if (u->irq != 0)
        test_thre_reassert(u);
    /* The handler is installed here: edges from now on are delivered. */
    u->seen_raises = vcon_vm_irq_raises(u->vm, u->irq);

    guart_out(u, VCON_UART_LCR, GUART_LCR_WLEN8);
    u->lcr = GUART_LCR_WLEN8;
    /* PC boards gate the interrupt with OUT2. */
    u->mcr = u->irq != 0 ? VCON_UART_MCR_OUT2 : 0;
    guart_out(u, VCON_UART_MCR, u->mcr);
    test_tx_enable(u);

    clear_interrupt_registers(u);
    u->lsr_saved = 0;
    /* Receive interrupts; written by set_termios once the FIFOs are on, so
     * that a busy sender cannot flood the handler before then. */
    u->ier = VCON_UART_IER_ELSI | VCON_UART_IER_ERBFI;
    return 0;
}

void guart_set_termios(struct vcon_guest_uart *u, unsigned baud)
{
    const uint16_t quot = (uint16_t)((GUART_BAUD_BASE + baud / 2) / baud);
    u->lcr = GUART_LCR_WLEN8;
    if ((u->capabilities & GUART_CAP_FIFO) && u->fifo_size > 1 && baud < 2400)
        u->fcr = (uint8_t)((u->fcr & ~VCON_UART_FCR_TRIGGER_MASK) | GUART_FCR_TRIGGER_1);

    /* CLOCAL and no CRTSCTS: no modem-status interrupts. */
    u->ier &= (uint8_t)~VCON_UART_IER_EDSSI;
    if (u->capabilities & GUART_CAP_UUE)
        u->ier |= GUART_IER_UUE;
    if (u->capabilities & GUART_CAP_RTOIE)
        u->ier |= GUART_IER_RTOIE;
    guart_out(u, VCON_UART_IER, u->ier);

    if (u->capabilities & GUART_CAP_EFR) {
        guart_out(u, VCON_UART_LCR, GUART_LCR_CONF_B);
        guart_out(u, GUART_EFR, 0); /* no automatic CTS flow control */
    }
    guart_out(u, VCON_UART_LCR,
              (u->capabilities & GUART_CAP_NATSEMI) ? GUART_LCR_NS_BANK2
                                                    : (uint8_t)(u->lcr | VCON_UART_LCR_DLAB));
    guart_dl_write(u, quot);
    /* The 16750 keeps 64-byte mode only if FCR is written with DLAB set. */
    if (u->type == VCON_GUEST_UART_16750)
        guart_out(u, VCON_UART_IIR_FCR, u->fcr);
    guart_out(u, VCON_UART_LCR, u->lcr);
    if (u->type != VCON_GUEST_UART_16750) {
        /* Some emulated parts need the enable bit on its own first. */
        if (u->fcr & VCON_UART_FCR_ENABLE)
            guart_out(u, VCON_UART_IIR_FCR, VCON_UART_FCR_ENABLE);
        guart_out(u, VCON_UART_IIR_FCR, u->fcr);
    }
    guart_out(u, VCON_UART_MCR, u->mcr);
    u->baud = baud;
    u->divisor = quot;
}

/* ---- public API ---------------------------------------------------------- */

int vcon_guest_uart_probe(struct vcon_guest_uart *u, struct vcon_vm *vm, uint16_t base,
                          unsigned irq)
{
    if (u == NULL || vm == NULL)
        return -EINVAL;
    memset(u, 0, sizeof *u);
    u->vm = vm;
    u->base = base;
    u->irq = irq;
    u->trigger = VCON_GUEST_IRQ_AUTO;

    guart_autoconfig(u);
    if (u->type == VCON_GUEST_UART_NONE)
        return -ENODEV;
    const int rc = guart_startup(u);
    if (rc != 0)
        return rc;
    guart_set_termios(u, DEFAULT_BAUD);
    /* The tty layer raises DTR and RTS once the port is open. */
    u->mcr |= VCON_UART_MCR_DTR | VCON_UART_MCR_RTS;
    guart_out(u, VCON_UART_MCR, u->mcr);
    u->started = true;
    return 0;
}

void vcon_guest_uart_set_irq_trigger(struct vcon_guest_uart *u,
                                     enum vcon_guest_irq_trigger trigger)
{
    u->trigger = trigger;
    if (u->vm != NULL)
        u->seen_raises = vcon_vm_irq_raises(u->vm, u->irq);
}

int vcon_guest_uart_set_baud(struct vcon_guest_uart *u, unsigned baud)
{
    if (!u->started)
        return -ENODEV;
    if (baud == 0 || baud > GUART_BAUD_BASE || GUART_BAUD_BASE / baud > 0xFFFF)
        return -EINVAL;
    guart_set_termios(u, baud);
    return 0;
}

int vcon_guest_uart_write(struct vcon_guest_uart *u, const void *bytes, size_t len)
{
    if (!u->started)
        return -ENODEV;
    if (len > VCON_GUEST_UART_TX_QUEUE)
        len = VCON_GUEST_UART_TX_QUEUE;
    const size_t queued = ring_put(&u->txq, u->tx_buf, VCON_GUEST_UART_TX_QUEUE, bytes, len);
    if (u->txq.count > 0)
        start_tx(u);
    return (int)queued;
}

size_t vcon_guest_uart_tx_pending(const struct vcon_guest_uart *u)
{
    return u->txq.count;
}

size_t vcon_guest_uart_read(struct vcon_guest_uart *u, void *buf, size_t len)
{
    return ring_take(&u->rxq, u->rx_buf, VCON_GUEST_UART_RX_BUFFER, buf, len);
}

size_t vcon_guest_uart_rx_available(const struct vcon_guest_uart *u)
{
    return u->rxq.count;
}

int vcon_guest_uart_poll(struct vcon_guest_uart *u)
{
    if (!u->started)
        return -ENODEV;
    return run_interrupt(u) ? 1 : 0;
}

int vcon_guest_uart_service(struct vcon_guest_uart *u)
{
    if (!u->started)
        return -ENODEV;
    if (u->irq == 0)
        return 0;
    unsigned rounds = 0;
    for (;;) {
        const uint64_t raises = vcon_vm_irq_raises(u->vm, u->irq);
        const bool high = vcon_vm_irq_level(u->vm, u->irq) != 0;
        const bool edged = raises != u->seen_raises;
        bool due;
        switch (u->trigger) {
        case VCON_GUEST_IRQ_LEVEL:
            due = high;
            break;
        case VCON_GUEST_IRQ_EDGE:
            due = edged;
            break;
        default:
            due = high || edged;
            break;
        }
        if (!due)
            break;
        if (rounds == VCON_GUEST_UART_SERVICE_ROUNDS) {
            u->counters.service_limit++;
            break;
        }
        u->seen_raises = raises;
        (void)run_interrupt(u);
        rounds++;
    }
    return (int)rounds;
}

void vcon_guest_uart_advance(struct vcon_guest_uart *u, uint64_t ns)
{
    const uint64_t start = vcon_vm_now(u->vm);
    const uint64_t end = UINT64_MAX - start < ns ? UINT64_MAX : start + ns;
    for (unsigned steps = 0; steps < ADVANCE_STEPS; steps++) {
        const uint64_t now = vcon_vm_now(u->vm);
        const uint64_t next = vcon_vm_next_deadline(u->vm);
        if (next > end || now >= end)
            break;
        /* A deadline already passed still takes a step, so time moves. */
        vcon_vm_advance(u->vm, next > now ? next - now : 1);
        if (u->started)
            (void)vcon_guest_uart_service(u);
    }
    const uint64_t now = vcon_vm_now(u->vm);
    if (now < end)
        vcon_vm_advance(u->vm, end - now);
    if (u->started)
        (void)vcon_guest_uart_service(u);
}
