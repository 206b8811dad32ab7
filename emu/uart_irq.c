/* Interrupt identification, the interrupt output, and the character-timeout
 * timer of the UART. */
#include "uart_internal.h"

#define UART_CLOCK_HZ 1843200u
#define NS_PER_SECOND 1000000000u

void uart_update_irq(struct vcon_uart *uart)
{
    bool pending = uart_pending_source(uart) != VCON_UART_IIR_NO_INT;
    bool rising = pending && !uart->irq_pending;

    uart->irq_pending = pending;
    if (rising)
        uart->stats.irq_raises++;
    if (uart->config.irq_mode == VCON_UART_IRQ_EDGE) {
        if (rising) {
            uart->host.irq_set_level(uart->host.ctx, uart->config.irq_line, 1);
            uart->host.irq_set_level(uart->host.ctx, uart->config.irq_line, 0);
        }
        return;
    }
    if (pending != uart->irq_level) {
        uart->irq_level = pending;
        uart->host.irq_set_level(uart->host.ctx, uart->config.irq_line, pending);
    }
}

/* One character on the wire: start bit, 5-8 data bits, parity, and 1, 1.5
 * or 2 stop bits, each bit lasting 16 * divisor clock periods. Counted in
 * half bits so that 1.5 stop bits stay exact. 0 when the divisor stops the
 * baud clock. */
uint64_t uart_char_time_ns(const struct vcon_uart *uart)
{
    unsigned divisor = (unsigned)uart->dlm << 8 | uart->dll;
    unsigned data_bits = 5 + (uart->lcr & VCON_UART_LCR_WLS_MASK);
    unsigned half_bits = 2 * (1 + data_bits);
    if (uart->lcr & VCON_UART_LCR_PEN)
        half_bits += 2;
    if (!(uart->lcr & VCON_UART_LCR_STB))
        half_bits += 2;
    else
        half_bits += data_bits == 5 ? 3 : 4;
    if (divisor == 0)
        return 0;
    /* half_bits/2 * 16 * divisor * 1e9 / 1843200, reduced so that the
     * product stays far below 2^64 (at most about 1.3e14). */
    return (uint64_t)half_bits * 16u * divisor * (NS_PER_SECOND / 2u / 100u) /
           (UART_CLOCK_HZ / 100u);
}

/* The 16550's timeout fires when the FIFO holds data and nothing was
 * received or read for four character times. ACRN has no such timer. */
void uart_restart_timeout(struct vcon_uart *uart)
{
    uint64_t char_time;
    if (!uart->timeout_timer)
        return;
    char_time = uart_char_time_ns(uart);
    if (uart->config.profile != VCON_UART_PROFILE_16550A || !uart_fifo_enabled(uart) ||
        uart->rx.count == 0 || char_time == 0) {
        uart_stop_timeout(uart);
        return;
    }
    uart->host.timer_arm(uart->host.ctx, uart->timeout_timer,
                         uart->host.now_ns(uart->host.ctx) + 4 * char_time);
}

void uart_stop_timeout(struct vcon_uart *uart)
{
    if (uart->timeout_timer)
        uart->host.timer_disarm(uart->host.ctx, uart->timeout_timer);
}

void uart_timeout_fired(void *device)
{
    struct vcon_uart *uart = device;
    if (uart_fifo_enabled(uart) && uart->rx.count > 0)
        uart->timeout_pending = true;
    uart_update_irq(uart);
}
