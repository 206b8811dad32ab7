/* Private to emu/uart*.c: the values the UART derives from its state
 * (LSR, MSR inputs, the pending interrupt source, IIR), which both register
 * accesses and vcon_uart_get_state() need. Inline on purpose: each caller
 * gets its own copy, so the fuzz builds' coverage instrumentation, which
 * leaves the inspection calls out (fuzzers/coverage_ignorelist.txt), does
 * not count the checks made after every guest access as paths the guest
 * took, and does not slow them with a comparison callback per branch. */
#ifndef EMU_UART_DERIVED_H
#define EMU_UART_DERIVED_H

/* Included by uart_internal.h, after struct vcon_uart. */

/* Always inlined, not merely inline: a compiler may otherwise keep one
 * out-of-line copy, and where the caller is built without ASan (the fuzz
 * builds leave uart_inspect.c out of it) it must, as it will not inline a
 * function built with it. An always_inline copy takes the ASan and
 * coverage instrumentation of the function it lands in (UBSan's checks
 * come with the helper's own definition). */
#define UART_DERIVED static inline __attribute__((always_inline))

UART_DERIVED bool uart_in_loopback(const struct vcon_uart *uart)
{
    return (uart->mcr & VCON_UART_MCR_LOOP) != 0;
}

UART_DERIVED bool uart_fifo_enabled(const struct vcon_uart *uart)
{
    return (uart->fcr & VCON_UART_FCR_ENABLE) != 0;
}

UART_DERIVED uint8_t uart_lsr_value(const struct vcon_uart *uart)
{
    uint8_t lsr = uart->lsr_errors & UART_LSR_ERRORS;
    if (uart->rx.count > 0)
        lsr |= VCON_UART_LSR_DR;
    if (uart->tx.count == 0)
        lsr |= VCON_UART_LSR_THRE | VCON_UART_LSR_TEMT;
    if (uart_fifo_enabled(uart) && uart->rx_error_bytes > 0)
        lsr |= VCON_UART_LSR_RXFE;
    return lsr;
}

UART_DERIVED uint8_t uart_modem_inputs(const struct vcon_uart *uart)
{
    uint8_t mcr = uart->mcr;
    uint8_t lines = 0;
    if (!uart_in_loopback(uart))
        return uart->modem_lines;
    if (mcr & VCON_UART_MCR_RTS)
        lines |= VCON_UART_MSR_CTS;
    if (mcr & VCON_UART_MCR_DTR)
        lines |= VCON_UART_MSR_DSR;
    if (mcr & VCON_UART_MCR_OUT1)
        lines |= VCON_UART_MSR_RI;
    if (mcr & VCON_UART_MCR_OUT2)
        lines |= VCON_UART_MSR_DCD;
    return lines;
}

UART_DERIVED unsigned uart_rx_trigger_level(const struct vcon_uart *uart)
{
    static const unsigned level[4] = {1, 4, 8, 14};
    unsigned trigger;
    if (!uart_fifo_enabled(uart))
        return 1;
    trigger = level[(uart->fcr & VCON_UART_FCR_TRIGGER_MASK) >> 6];
    /* A FIFO configured smaller than the trigger level would never reach
     * it: cap the level at what the FIFO can hold. */
    return trigger < uart->rx.capacity ? trigger : uart->rx.capacity;
}

UART_DERIVED bool uart_received_data_source(const struct vcon_uart *uart, uint8_t *source)
{
    if (uart->rx.count == 0)
        return false;
    if (uart->config.profile == VCON_UART_PROFILE_ACRN_DM) {
        *source = VCON_UART_IIR_TIMEOUT; /* ACRN reports every byte this way */
        return true;
    }
    if (uart->rx.count >= uart_rx_trigger_level(uart)) {
        *source = VCON_UART_IIR_RDA;
        return true;
    }
    if (uart->timeout_pending) {
        *source = VCON_UART_IIR_TIMEOUT;
        return true;
    }
    return false;
}

/* The highest-priority enabled source, as IIR bits 3:0. */
UART_DERIVED uint8_t uart_pending_source(const struct vcon_uart *uart)
{
    uint8_t source;
    if ((uart->ier & VCON_UART_IER_ELSI) && (uart->lsr_errors & UART_LSR_ERRORS))
        return VCON_UART_IIR_RLS;
    if ((uart->ier & VCON_UART_IER_ERBFI) && uart_received_data_source(uart, &source))
        return source;
    if ((uart->ier & VCON_UART_IER_ETBEI) && uart->thre_pending)
        return VCON_UART_IIR_THRE;
    if ((uart->ier & VCON_UART_IER_EDSSI) && (uart->msr_deltas & VCON_UART_MSR_DELTAS))
        return VCON_UART_IIR_MSR;
    return VCON_UART_IIR_NO_INT;
}

UART_DERIVED uint8_t uart_iir_value(const struct vcon_uart *uart)
{
    uint8_t fifo_bits = uart_fifo_enabled(uart) ? VCON_UART_IIR_FIFO_BITS : 0;
    return (uint8_t)(fifo_bits | uart_pending_source(uart));
}

#endif
