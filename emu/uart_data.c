/* Bytes between the backend and the UART's FIFOs: receive (with overrun and
 * line errors), transmit, and the two flavours' backend paths. */
#include <errno.h>
#include <string.h>

#include "uart_internal.h"

static bool is_acrn(const struct vcon_uart *uart)
{
    return uart->config.profile == VCON_UART_PROFILE_ACRN_DM;
}

/* The LSR error bits of a byte become visible when it reaches the head of
 * the FIFO (datasheet: "revealed to the CPU when its associated character is
 * at the top of the FIFO"). */
static void latch_head_errors(struct vcon_uart *uart)
{
    if (uart->rx.count == 0)
        return;
    uart->lsr_errors |= (uint8_t)(vcon_ring_peek(&uart->rx, 0) >> UART_SLOT_ERRORS_SHIFT);
}

static void push_received(struct vcon_uart *uart, uint8_t ch, uint8_t errors)
{
    vcon_ring_push(&uart->rx, (uint16_t)(ch | (unsigned)errors << UART_SLOT_ERRORS_SHIFT));
    if (errors)
        uart->rx_error_bytes++;
    if (uart->rx.count == 1)
        latch_head_errors(uart);
    uart->stats.rx_bytes++;
}

static uint8_t pop_received(struct vcon_uart *uart)
{
    uint16_t slot = vcon_ring_pop(&uart->rx);
    if (slot >> UART_SLOT_ERRORS_SHIFT)
        uart->rx_error_bytes--;
    return (uint8_t)slot;
}

/* One character arrives at the receiver. Returns -ENOSPC on an overrun. */
int uart_receive(struct vcon_uart *uart, uint8_t ch, uint8_t errors)
{
    errors &= UART_LSR_CHAR_ERRORS;
    if (errors & VCON_UART_LSR_BI)
        uart->stats.breaks++;
    if (vcon_ring_full(&uart->rx)) {
        uart->stats.overruns++;
        uart->lsr_errors |= VCON_UART_LSR_OE;
        /* Without FIFOs a 16550 loads the new character over the unread
         * one; ACRN keeps the old one. With FIFOs both lose the new one. */
        if (!uart_fifo_enabled(uart) && !is_acrn(uart)) {
            (void)pop_received(uart);
            uart->lsr_errors &= (uint8_t)~UART_LSR_CHAR_ERRORS;
            push_received(uart, ch, errors);
        }
        uart_restart_timeout(uart);
        return -ENOSPC;
    }
    push_received(uart, ch, errors);
    uart_restart_timeout(uart);
    return 0;
}

/* An RBR read: returns 0 and the oldest byte, or -ENODATA. */
int uart_take_received(struct vcon_uart *uart, uint8_t *ch)
{
    if (uart->rx.count == 0)
        return -ENODATA;
    *ch = pop_received(uart);
    latch_head_errors(uart);
    uart->timeout_pending = false;
    uart_restart_timeout(uart);
    return 0;
}

void uart_clear_rx(struct vcon_uart *uart)
{
    vcon_ring_clear(&uart->rx);
    uart->rx_error_bytes = 0;
    uart->lsr_errors &= VCON_UART_LSR_OE;
    uart->timeout_pending = false;
    uart_stop_timeout(uart);
}

void uart_clear_tx(struct vcon_uart *uart)
{
    bool had_bytes = uart->tx.count > 0;
    vcon_ring_clear(&uart->tx);
    /* THRE becomes pending only if the FIFO really went from full to empty:
     * resetting an already empty FIFO raises nothing. */
    if (had_bytes)
        uart->thre_pending = true;
}

/* Hands queued transmit bytes to the backend until it stops taking them. */
void uart_push_output(struct vcon_uart *uart)
{
    uint8_t chunk[UART_IO_CHUNK];
    bool had_bytes = uart->tx.count > 0;

    while (uart->tx.count > 0) {
        unsigned n = uart->tx.count < UART_IO_CHUNK ? uart->tx.count : UART_IO_CHUNK;
        for (unsigned i = 0; i < n; i++)
            chunk[i] = (uint8_t)vcon_ring_peek(&uart->tx, i);
        int written = uart->host.backend_write(uart->host.ctx, 0, chunk, n);
        if (written == VCON_BACKEND_CLOSED) {
            /* Nobody on the line: the bits go nowhere, as on a real wire. */
            uart->stats.tx_dropped += uart->tx.count;
            vcon_ring_clear(&uart->tx);
            break;
        }
        if (written <= 0)
            break; /* would block: keep the bytes for the next backend_ready */
        if ((unsigned)written > n)
            written = (int)n; /* a host that claims more than it was given */
        for (int i = 0; i < written; i++)
            (void)vcon_ring_pop(&uart->tx);
        uart->stats.tx_bytes += (unsigned)written;
    }
    if (had_bytes && uart->tx.count == 0)
        uart->thre_pending = true;
}

void uart_transmit(struct vcon_uart *uart, uint8_t ch)
{
    uart->thre_pending = false;
    if (uart_in_loopback(uart)) {
        /* The transmitter output is wired to the receiver; the serial
         * output stays idle. */
        (void)uart_receive(uart, ch, 0);
        /* Bytes held from before loopback still occupy the FIFO. */
        uart->thre_pending = uart->tx.count == 0;
        return;
    }
    if (vcon_ring_full(&uart->tx)) {
        uart->stats.tx_dropped++;
        return;
    }
    vcon_ring_push(&uart->tx, ch);
    uart_push_output(uart);
}

/* Reads and drops up to `limit` bytes waiting on the backend. */
void uart_discard_backend_input(struct vcon_uart *uart, unsigned limit)
{
    uint8_t chunk[UART_IO_CHUNK];
    unsigned done = 0;
    while (done < limit) {
        unsigned want = limit - done < UART_IO_CHUNK ? limit - done : UART_IO_CHUNK;
        int got = uart->host.backend_read(uart->host.ctx, 0, chunk, want);
        if (got <= 0)
            break;
        if ((unsigned)got > want)
            got = (int)want;
        done += (unsigned)got;
        uart->stats.input_dropped += (unsigned)got;
    }
}

/* Device-model flavour: read only what the receive FIFO has room for, so the
 * rest stays on the backend and nothing is lost. */
static void pull_into_fifo(struct vcon_uart *uart)
{
    uint8_t chunk[UART_IO_CHUNK];
    unsigned room;
    while ((room = vcon_ring_room(&uart->rx)) > 0) {
        unsigned want = room < UART_IO_CHUNK ? room : UART_IO_CHUNK;
        int got = uart->host.backend_read(uart->host.ctx, 0, chunk, want);
        if (got <= 0)
            break;
        if ((unsigned)got > want)
            got = (int)want;
        for (int i = 0; i < got; i++)
            (void)uart_receive(uart, chunk[i], 0);
    }
}

/* Hypervisor flavour: everything the backend offers goes into the input
 * buffer, which overwrites its oldest byte when full; the buffer then feeds
 * the receive FIFO as far as it has room. One call reads at most one
 * buffer's worth, so an endless backend cannot keep the device busy. */
static void pull_through_buffer(struct vcon_uart *uart)
{
    uint8_t chunk[UART_IO_CHUNK];
    unsigned done = 0;
    while (done < VCON_UART_HV_INPUT_BUFFER) {
        int got = uart->host.backend_read(uart->host.ctx, 0, chunk, UART_IO_CHUNK);
        if (got <= 0)
            break;
        if ((unsigned)got > UART_IO_CHUNK)
            got = (int)UART_IO_CHUNK;
        for (int i = 0; i < got; i++)
            if (vcon_ring_push_overwrite(&uart->input, chunk[i]))
                uart->stats.input_dropped++;
        done += (unsigned)got;
    }
    if (uart_in_loopback(uart))
        return;
    while (uart->input.count > 0 && !vcon_ring_full(&uart->rx))
        (void)uart_receive(uart, (uint8_t)vcon_ring_pop(&uart->input), 0);
}

void uart_pull_input(struct vcon_uart *uart)
{
    if (uart_in_loopback(uart)) {
        /* The serial input is disconnected from the receiver. ACRN reads
         * and drops what arrives; a 16550 leaves it on the line. */
        if (is_acrn(uart)) {
            uart_discard_backend_input(uart, UART_ACRN_FLUSH_LIMIT);
            return;
        }
        if (uart->config.flavour == VCON_UART_FLAVOUR_DM)
            return;
    }
    if (uart->config.flavour == VCON_UART_FLAVOUR_HV)
        pull_through_buffer(uart);
    else
        pull_into_fifo(uart);
}
