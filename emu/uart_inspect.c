/* The UART's inspection calls: what its state, counters and configuration
 * are, for the host, vcon-replay --check and the fuzz targets' checks,
 * which make them after every guest access. A file of their own so that
 * the fuzz builds can leave it out of the sanitizers and the coverage as a
 * whole (fuzzers/sanitizer_ignorelist.txt, coverage_ignorelist.txt). The
 * helpers of uart_derived.h it expands are always inlined, and so take
 * this file's lack of ASan and coverage; UBSan's checks, which the
 * compiler adds where a function is defined, stay in them. */
#include <string.h>

#include "uart_internal.h"

void vcon_uart_get_stats(const struct vcon_uart *uart, struct vcon_uart_stats *out)
{
    *out = uart->stats;
}

void vcon_uart_get_config(const struct vcon_uart *uart, struct vcon_uart_config *out)
{
    *out = uart->config;
}

void vcon_uart_get_state(const struct vcon_uart *uart, struct vcon_uart_state *out)
{
    memset(out, 0, sizeof(*out));
    out->ier = uart->ier;
    out->lcr = uart->lcr;
    out->mcr = uart->mcr;
    out->lsr = uart_lsr_value(uart);
    out->msr = (uint8_t)(uart_modem_inputs(uart) | uart->msr_deltas);
    out->scr = uart->scr;
    out->fcr = uart->fcr;
    out->divisor = (uint16_t)(uart->dlm << 8 | uart->dll);
    out->rx_count = uart->rx.count;
    out->rx_capacity = uart->rx.capacity;
    out->tx_count = uart->tx.count;
    out->tx_capacity = uart->tx.capacity;
    out->input_count = uart->input.count;
    out->fifo_enabled = uart_fifo_enabled(uart);
    out->thre_pending = uart->thre_pending;
    out->timeout_pending = uart->timeout_pending;
    out->line_status_pending = (uart->lsr_errors & UART_LSR_ERRORS) != 0;
    out->irq_level = uart->irq_level;
    out->iir = uart_iir_value(uart);
}
