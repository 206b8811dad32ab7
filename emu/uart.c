/* The UART's public entry points: creation, reset, guest accesses and host
 * events. Every entry that can change a condition ends with
 * uart_update_irq(), so the interrupt output always matches the state. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "log_budget.h"
#include "uart_internal.h"

#define UART_DEFAULT_DIVISOR 12u /* 9600 baud from the 1.8432 MHz clock */
#define UART_16550A_FIFO 16u
#define UART_ACRN_FIFO 256u

static uint8_t default_modem_lines(enum vcon_uart_profile profile)
{
    /* ACRN asserts DCD and DSR so that a tty open never blocks; the 16550a
     * profile models a null-modem cable that also lets CTS flow control
     * through. */
    return profile == VCON_UART_PROFILE_ACRN_DM
               ? VCON_UART_MSR_DCD | VCON_UART_MSR_DSR
               : VCON_UART_MSR_DCD | VCON_UART_MSR_DSR | VCON_UART_MSR_CTS;
}

void uart_note_modem_change(struct vcon_uart *uart, uint8_t old_inputs)
{
    uint8_t now = uart_modem_inputs(uart);
    uint8_t changed = old_inputs ^ now;
    if (changed & VCON_UART_MSR_CTS)
        uart->msr_deltas |= VCON_UART_MSR_DCTS;
    if (changed & VCON_UART_MSR_DSR)
        uart->msr_deltas |= VCON_UART_MSR_DDSR;
    if (changed & VCON_UART_MSR_DCD)
        uart->msr_deltas |= VCON_UART_MSR_DDCD;
    if ((old_inputs & VCON_UART_MSR_RI) && !(now & VCON_UART_MSR_RI))
        uart->msr_deltas |= VCON_UART_MSR_TERI; /* trailing edge only */
}

void uart_log(struct vcon_uart *uart, enum vcon_log_level level, const char *message)
{
    vcon_log_limited(&uart->host, &uart->log_budget, level, message);
}

static int check_config(const struct vcon_uart_config *config, const struct vcon_host *host)
{
    if (!config || !host || !host->irq_set_level || !host->backend_read ||
        !host->backend_write)
        return -EINVAL;
    if (config->flavour != VCON_UART_FLAVOUR_DM && config->flavour != VCON_UART_FLAVOUR_HV)
        return -EINVAL;
    if (config->profile != VCON_UART_PROFILE_16550A &&
        config->profile != VCON_UART_PROFILE_ACRN_DM)
        return -EINVAL;
    if (config->irq_mode != VCON_UART_IRQ_LEVEL && config->irq_mode != VCON_UART_IRQ_EDGE)
        return -EINVAL;
    if (config->rx_fifo_size > VCON_UART_MAX_FIFO || config->tx_fifo_size > VCON_UART_MAX_FIFO)
        return -EINVAL;
    /* Timers are optional (no character timeout without them), but come
     * as a set. */
    if (host->timer_create &&
        (!host->timer_arm || !host->timer_disarm || !host->timer_destroy || !host->now_ns))
        return -EINVAL;
    return 0;
}

int vcon_uart_create(const struct vcon_uart_config *config, const struct vcon_host *host,
                     struct vcon_uart **out)
{
    struct vcon_uart *uart;
    int err = check_config(config, host);
    if (err)
        return err;
    uart = calloc(1, sizeof(*uart));
    if (!uart)
        return -ENOMEM;
    uart->host = *host;
    uart->config = *config;
    uart->rx_fifo_depth = config->rx_fifo_size;
    if (uart->rx_fifo_depth == 0)
        uart->rx_fifo_depth = config->profile == VCON_UART_PROFILE_ACRN_DM ? UART_ACRN_FIFO
                                                                           : UART_16550A_FIFO;
    uart->tx_fifo_depth = config->tx_fifo_size ? config->tx_fifo_size : uart->rx_fifo_depth;
    uart->modem_lines = default_modem_lines(config->profile);
    if (vcon_ring_init(&uart->rx, uart->rx_fifo_depth) ||
        vcon_ring_init(&uart->tx, uart->tx_fifo_depth) ||
        vcon_ring_init(&uart->input, VCON_UART_HV_INPUT_BUFFER))
        goto fail;
    if (host->timer_create) {
        uart->timeout_timer = host->timer_create(host->ctx, uart_timeout_fired, uart);
        if (!uart->timeout_timer)
            goto fail;
    }
    vcon_uart_reset(uart);
    *out = uart;
    return 0;
fail:
    vcon_uart_destroy(uart);
    return -ENOMEM;
}

void vcon_uart_destroy(struct vcon_uart *uart)
{
    if (!uart)
        return;
    if (uart->timeout_timer)
        uart->host.timer_destroy(uart->host.ctx, uart->timeout_timer);
    vcon_ring_free(&uart->rx);
    vcon_ring_free(&uart->tx);
    vcon_ring_free(&uart->input);
    free(uart);
}

void vcon_uart_reset(struct vcon_uart *uart)
{
    uart->ier = 0;
    uart->lcr = 0;
    uart->mcr = 0;
    uart->fcr = 0;
    uart->scr = 0;
    uart->dll = UART_DEFAULT_DIVISOR & 0xFF;
    uart->dlm = UART_DEFAULT_DIVISOR >> 8;
    uart->lsr_errors = 0;
    uart->msr_deltas = 0;
    uart->rbr_last = 0;
    uart->thre_pending = false;
    vcon_ring_resize(&uart->rx, 1);
    vcon_ring_resize(&uart->tx, 1);
    vcon_ring_clear(&uart->input);
    uart->rx_error_bytes = 0;
    uart->timeout_pending = false;
    uart_stop_timeout(uart);
    uart_update_irq(uart);
}

int vcon_uart_read(struct vcon_uart *uart, unsigned offset, unsigned size, uint32_t *value)
{
    uart->stats.reads++;
    if (size != 1 && size != 2) {
        uart->stats.bad_accesses++;
        uart_log(uart, VCON_LOG_WARN, "uart: read of unsupported size");
        *value = UINT32_MAX;
        return -EINVAL;
    }
    *value = uart_read_register(uart, offset);
    if (size == 2) /* the bus splits it into two byte cycles */
        *value |= (uint32_t)uart_read_register(uart, offset < VCON_UART_NR_REGS ? offset + 1
                                                                                : offset) << 8;
    uart_update_irq(uart);
    return 0;
}

int vcon_uart_write(struct vcon_uart *uart, unsigned offset, unsigned size, uint32_t value)
{
    uart->stats.writes++;
    if (size != 1 && size != 2) {
        uart->stats.bad_accesses++;
        uart_log(uart, VCON_LOG_WARN, "uart: write of unsupported size");
        return -EINVAL;
    }
    uart_write_register(uart, offset, (uint8_t)value);
    if (size == 2)
        uart_write_register(uart, offset < VCON_UART_NR_REGS ? offset + 1 : offset,
                            (uint8_t)(value >> 8));
    uart_update_irq(uart);
    return 0;
}

void vcon_uart_backend_ready(struct vcon_uart *uart)
{
    uart_push_output(uart);
    uart_pull_input(uart);
    uart_update_irq(uart);
}

int vcon_uart_receive_with_error(struct vcon_uart *uart, uint8_t ch, uint8_t lsr_errors)
{
    int err = uart_receive(uart, ch, lsr_errors);
    uart_update_irq(uart);
    return err;
}

void vcon_uart_set_modem_lines(struct vcon_uart *uart, uint8_t msr_lines)
{
    uint8_t old_inputs = uart_modem_inputs(uart);
    uart->modem_lines = msr_lines & (VCON_UART_MSR_CTS | VCON_UART_MSR_DSR | VCON_UART_MSR_RI |
                                     VCON_UART_MSR_DCD);
    uart_note_modem_change(uart, old_inputs);
    uart_update_irq(uart);
}
