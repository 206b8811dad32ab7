/* The UART's registers: one byte access at one offset. */
#include "uart_internal.h"

static uint8_t read_rbr(struct vcon_uart *uart)
{
    uint8_t ch;
    if (uart_take_received(uart, &ch) != 0) {
        /* Nothing received: ACRN answers 0xFF, a 16550 shows its holding
         * register again. */
        return uart->config.profile == VCON_UART_PROFILE_ACRN_DM ? 0xFF : uart->rbr_last;
    }
    uart->rbr_last = ch;
    uart_pull_input(uart); /* a slot became free */
    return ch;
}

static uint8_t read_iir(struct vcon_uart *uart)
{
    uint8_t iir = uart_iir_value(uart);
    /* Reading IIR acknowledges a THRE interrupt it reports. */
    if ((iir & VCON_UART_IIR_ID_MASK) == VCON_UART_IIR_THRE)
        uart->thre_pending = false;
    return iir;
}

static uint8_t read_lsr(struct vcon_uart *uart)
{
    uint8_t lsr = uart_lsr_value(uart);
    uart->lsr_errors = 0;
    return lsr;
}

static uint8_t read_msr(struct vcon_uart *uart)
{
    uint8_t msr = (uint8_t)(uart_modem_inputs(uart) | uart->msr_deltas);
    uart->msr_deltas = 0;
    return msr;
}

uint8_t uart_read_register(struct vcon_uart *uart, unsigned offset)
{
    bool dlab = (uart->lcr & VCON_UART_LCR_DLAB) != 0;
    switch (offset) {
    case VCON_UART_RBR_THR:
        return dlab ? uart->dll : read_rbr(uart);
    case VCON_UART_IER:
        return dlab ? uart->dlm : uart->ier;
    case VCON_UART_IIR_FCR:
        return read_iir(uart);
    case VCON_UART_LCR:
        return uart->lcr;
    case VCON_UART_MCR:
        return uart->mcr;
    case VCON_UART_LSR:
        return read_lsr(uart);
    case VCON_UART_MSR:
        return read_msr(uart);
    case VCON_UART_SCR:
        return uart->scr;
    default:
        uart->stats.bad_accesses++;
        uart_log(uart, VCON_LOG_WARN, "uart: read of an offset past the eight registers");
        return 0xFF;
    }
}

static void write_ier(struct vcon_uart *uart, uint8_t value)
{
    bool thre_enabled = (uart->ier & VCON_UART_IER_ETBEI) != 0;
    uart->ier = value & 0x0F;
    /* Enabling the THRE interrupt while the transmitter is empty makes it
     * pending at once: Linux's THRE test at startup relies on this. */
    if (!thre_enabled && (uart->ier & VCON_UART_IER_ETBEI) && uart->tx.count == 0)
        uart->thre_pending = true;
}

static void set_fifo_capacity(struct vcon_uart *uart, bool enabled)
{
    uart_clear_rx(uart);
    uart_clear_tx(uart);
    vcon_ring_resize(&uart->rx, enabled ? uart->rx_fifo_depth : 1);
    vcon_ring_resize(&uart->tx, enabled ? uart->tx_fifo_depth : 1);
}

static void write_fcr(struct vcon_uart *uart, uint8_t value)
{
    bool acrn = uart->config.profile == VCON_UART_PROFILE_ACRN_DM;
    bool flushed = false;

    if ((uart->fcr ^ value) & VCON_UART_FCR_ENABLE) {
        set_fifo_capacity(uart, (value & VCON_UART_FCR_ENABLE) != 0);
        flushed = true;
    }
    if (!(value & VCON_UART_FCR_ENABLE)) {
        /* The other bits are programmed only together with bit 0. */
        uart->fcr = 0;
    } else {
        if (value & VCON_UART_FCR_CLEAR_RX) {
            uart_clear_rx(uart);
            flushed = true;
        }
        if (value & VCON_UART_FCR_CLEAR_TX)
            uart_clear_tx(uart);
        uart->fcr = value & (VCON_UART_FCR_ENABLE | VCON_UART_FCR_DMA |
                             VCON_UART_FCR_TRIGGER_MASK);
    }
    if (flushed && acrn)
        uart_discard_backend_input(uart, UART_ACRN_FLUSH_LIMIT);
    /* No timer restart here: the timeout counts from the last byte received
     * or read, and a FIFO clear has already stopped it. */
    uart_pull_input(uart);
}

static void write_lcr(struct vcon_uart *uart, uint8_t value)
{
    bool break_started = !(uart->lcr & VCON_UART_LCR_BREAK) && (value & VCON_UART_LCR_BREAK);
    uart->lcr = value;
    if (!break_started)
        return;
    if (uart_in_loopback(uart))
        (void)uart_receive(uart, 0x00, VCON_UART_LSR_BI | VCON_UART_LSR_FE);
    else
        uart->stats.breaks++; /* a break on the wire; backends carry bytes only */
}

static void write_mcr(struct vcon_uart *uart, uint8_t value)
{
    uint8_t old_inputs = uart_modem_inputs(uart);
    bool was_loopback = uart_in_loopback(uart);
    uart->mcr = value & 0x1F;
    uart_note_modem_change(uart, old_inputs);
    if (was_loopback && !uart_in_loopback(uart))
        uart_pull_input(uart); /* the receiver is back on the line */
}

void uart_write_register(struct vcon_uart *uart, unsigned offset, uint8_t value)
{
    bool dlab = (uart->lcr & VCON_UART_LCR_DLAB) != 0;
    switch (offset) {
    case VCON_UART_RBR_THR:
        if (dlab)
            uart->dll = value;
        else
            uart_transmit(uart, value);
        break;
    case VCON_UART_IER:
        if (dlab)
            uart->dlm = value;
        else
            write_ier(uart, value);
        break;
    case VCON_UART_IIR_FCR:
        write_fcr(uart, value);
        break;
    case VCON_UART_LCR:
        write_lcr(uart, value);
        break;
    case VCON_UART_MCR:
        write_mcr(uart, value);
        break;
    case VCON_UART_LSR:
    case VCON_UART_MSR:
        break; /* read-only; writes have no effect on a 16550 */
    case VCON_UART_SCR:
        uart->scr = value;
        break;
    default:
        uart->stats.bad_accesses++;
        uart_log(uart, VCON_LOG_WARN, "uart: write to an offset past the eight registers");
        break;
    }
}
