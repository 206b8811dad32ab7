/* The UART's state, shared by the files of emu/ that implement it. */
#ifndef VCON_EMU_UART_INTERNAL_H
#define VCON_EMU_UART_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "ring.h"
#include "vcon/uart.h"

/* Receive FIFO slots hold the byte in bits 7:0 and its LSR error bits
 * (PE, FE, BI) in bits 15:8. */
#define UART_SLOT_ERRORS_SHIFT 8
#define UART_LSR_CHAR_ERRORS (VCON_UART_LSR_PE | VCON_UART_LSR_FE | VCON_UART_LSR_BI)
#define UART_LSR_ERRORS (VCON_UART_LSR_OE | UART_LSR_CHAR_ERRORS)

/* Bytes per backend transfer; keeps the stack buffers small. */
#define UART_IO_CHUNK 64u
/* acrn-dm discards at most this much backend input per FIFO reset. */
#define UART_ACRN_FLUSH_LIMIT 4096u

struct vcon_uart {
    struct vcon_host host;
    struct vcon_uart_config config;
    unsigned rx_fifo_depth; /* receive FIFO size with FIFOs enabled */
    unsigned tx_fifo_depth;

    struct vcon_ring rx;    /* receive FIFO (or holding register) */
    struct vcon_ring tx;    /* transmit FIFO, bytes the backend has not taken */
    struct vcon_ring input; /* hypervisor flavour: backend input buffer */
    struct vcon_timer *timeout_timer;

    uint8_t ier, lcr, mcr, fcr, scr, dll, dlm;
    uint8_t lsr_errors;     /* OE, and PE/FE/BI of the byte that reached the head */
    uint8_t msr_deltas;
    uint8_t modem_lines;    /* the virtual modem's inputs outside loopback */
    uint8_t rbr_last;       /* 16550a: what an empty RBR reads */
    unsigned rx_error_bytes; /* bytes in the receive FIFO with error bits */
    bool thre_pending;
    bool timeout_pending;
    bool irq_pending;       /* an enabled source was pending at the last update */
    bool irq_level;

    struct vcon_log_budget log_budget;
    struct vcon_uart_stats stats;
};

/* uart_regs.c */
uint8_t uart_read_register(struct vcon_uart *uart, unsigned offset);
void uart_write_register(struct vcon_uart *uart, unsigned offset, uint8_t value);

/* uart_irq.c */
void uart_update_irq(struct vcon_uart *uart);
void uart_restart_timeout(struct vcon_uart *uart);
void uart_stop_timeout(struct vcon_uart *uart);
void uart_timeout_fired(void *device);
uint64_t uart_char_time_ns(const struct vcon_uart *uart);

/* uart_data.c: bytes between the backend and the FIFOs */
int uart_receive(struct vcon_uart *uart, uint8_t ch, uint8_t errors);
int uart_take_received(struct vcon_uart *uart, uint8_t *ch);
void uart_clear_rx(struct vcon_uart *uart);
void uart_clear_tx(struct vcon_uart *uart);
void uart_transmit(struct vcon_uart *uart, uint8_t ch);
void uart_pull_input(struct vcon_uart *uart);
void uart_push_output(struct vcon_uart *uart);
void uart_discard_backend_input(struct vcon_uart *uart, unsigned limit);

/* uart.c */
void uart_note_modem_change(struct vcon_uart *uart, uint8_t old_inputs);
void uart_log(struct vcon_uart *uart, enum vcon_log_level level, const char *message);

#include "uart_derived.h"

#endif
