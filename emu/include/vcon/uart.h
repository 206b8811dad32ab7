/* The 16550A UART. An opaque device: create it with a configuration and a
 * host interface, then feed it guest register accesses and host events.
 * docs/uart.md describes the two flavours and the two profiles. */
#ifndef VCON_UART_H
#define VCON_UART_H

#include <stdbool.h>
#include <stdint.h>

#include "vcon/host.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Register offsets (DLAB = LCR bit 7 turns offsets 0 and 1 into DLL/DLM). */
enum vcon_uart_reg {
    VCON_UART_RBR_THR = 0, VCON_UART_DLL = 0,
    VCON_UART_IER = 1,     VCON_UART_DLM = 1,
    VCON_UART_IIR_FCR = 2,
    VCON_UART_LCR = 3,
    VCON_UART_MCR = 4,
    VCON_UART_LSR = 5,
    VCON_UART_MSR = 6,
    VCON_UART_SCR = 7,
    VCON_UART_NR_REGS = 8,
};

/* How the backend connects to the registers. */
enum vcon_uart_flavour {
    /* Device-model flavour: one receive FIFO; transmitted bytes go straight
     * to the backend; backend input stays unread while the FIFO is full. */
    VCON_UART_FLAVOUR_DM = 0,
    /* Hypervisor flavour: receive and transmit FIFOs, a 2048-byte input
     * buffer between the backend and the receive FIFO that overwrites its
     * oldest byte when full, transmit drained from the FIFO to the backend. */
    VCON_UART_FLAVOUR_HV = 1,
};

/* Which guest-visible register behaviour to reproduce. */
enum vcon_uart_profile {
    VCON_UART_PROFILE_16550A = 0,  /* the PC16550D datasheet */
    VCON_UART_PROFILE_ACRN_DM = 1, /* ACRN's device model, exactly */
};

enum vcon_uart_irq_mode {
    VCON_UART_IRQ_LEVEL = 0, /* line high while an enabled source is pending */
    VCON_UART_IRQ_EDGE = 1,  /* a 0-1-0 pulse each time one becomes pending */
};

#define VCON_UART_HV_INPUT_BUFFER 2048u
#define VCON_UART_MAX_FIFO 8192u

struct vcon_uart_config {
    enum vcon_uart_flavour flavour;
    enum vcon_uart_profile profile;
    enum vcon_uart_irq_mode irq_mode;
    unsigned irq_line;     /* passed to host->irq_set_level */
    unsigned rx_fifo_size; /* 0: the profile's (16 or 256); max VCON_UART_MAX_FIFO */
    unsigned tx_fifo_size; /* hypervisor flavour; 0: same as rx_fifo_size */
};

/* Counters of what happened, guest errors included. */
struct vcon_uart_stats {
    uint64_t reads, writes;
    uint64_t bad_accesses;   /* unsupported size or offset */
    uint64_t rx_bytes;       /* bytes that entered the receive FIFO */
    uint64_t tx_bytes;       /* bytes handed to the backend */
    uint64_t overruns;       /* characters lost to a full receive FIFO */
    uint64_t input_dropped;  /* HV: oldest input bytes overwritten; acrn-dm: discarded */
    uint64_t tx_dropped;     /* THR writes lost (full transmit FIFO, closed backend) */
    uint64_t breaks;         /* break conditions received */
    uint64_t irq_raises;     /* interrupt line raises or pulses */
};

/* A read-only view of the internal state, for tests and fuzz invariants.
 * Register fields are what a read would return now, without its side
 * effects (lsr, msr, iir). */
struct vcon_uart_state {
    uint8_t ier, lcr, mcr, lsr, msr, scr, fcr;
    uint16_t divisor;
    unsigned rx_count, rx_capacity;
    unsigned tx_count, tx_capacity;
    unsigned input_count;  /* HV input buffer fill */
    bool fifo_enabled;
    bool thre_pending;     /* THR-empty interrupt condition, before IER */
    bool timeout_pending;  /* character-timeout condition, before IER */
    bool line_status_pending; /* OE/PE/FE/BI waiting for an LSR read */
    bool irq_level;        /* what the line is driven to (level mode) */
    uint8_t iir;           /* what an IIR read would return now */
};

struct vcon_uart;

/* Returns 0, -EINVAL for a bad configuration, -ENOMEM. */
int vcon_uart_create(const struct vcon_uart_config *config,
                     const struct vcon_host *host, struct vcon_uart **out);
void vcon_uart_destroy(struct vcon_uart *uart);
/* Back to the power-on state (MR pin); backend bytes are not touched. */
void vcon_uart_reset(struct vcon_uart *uart);

/* Guest accesses at `offset` from the base; size 1 or 2 (a 2-byte access is
 * two byte accesses, low byte first). Offsets past 7 read 0xFF and ignore
 * writes. Return 0, or -EINVAL for a size other than 1 or 2 (the read value
 * is then all ones); the device stays usable either way. */
int vcon_uart_read(struct vcon_uart *uart, unsigned offset, unsigned size, uint32_t *value);
int vcon_uart_write(struct vcon_uart *uart, unsigned offset, unsigned size, uint32_t value);

/* The backend has input to offer, or can take output again: the device pulls
 * and pushes what it has room for. */
void vcon_uart_backend_ready(struct vcon_uart *uart);
/* A character received with line errors (any of VCON_UART_LSR_PE/FE/BI);
 * a break is 0x00 with BI|FE. Returns 0, or -ENOSPC when it overran. */
int vcon_uart_receive_with_error(struct vcon_uart *uart, uint8_t ch, uint8_t lsr_errors);
/* Set the virtual modem's input lines (VCON_UART_MSR_CTS/DSR/RI/DCD). */
void vcon_uart_set_modem_lines(struct vcon_uart *uart, uint8_t msr_lines);

void vcon_uart_get_stats(const struct vcon_uart *uart, struct vcon_uart_stats *out);
void vcon_uart_get_state(const struct vcon_uart *uart, struct vcon_uart_state *out);
/* The configuration it was created with, FIFO sizes as they were given. */
void vcon_uart_get_config(const struct vcon_uart *uart, struct vcon_uart_config *out);

/* Register bits. */
#define VCON_UART_IER_ERBFI 0x01u /* received data available */
#define VCON_UART_IER_ETBEI 0x02u /* transmitter holding register empty */
#define VCON_UART_IER_ELSI 0x04u  /* receiver line status */
#define VCON_UART_IER_EDSSI 0x08u /* modem status */

#define VCON_UART_IIR_NO_INT 0x01u
#define VCON_UART_IIR_MSR 0x00u
#define VCON_UART_IIR_THRE 0x02u
#define VCON_UART_IIR_RDA 0x04u
#define VCON_UART_IIR_RLS 0x06u
#define VCON_UART_IIR_TIMEOUT 0x0Cu
#define VCON_UART_IIR_ID_MASK 0x0Fu
#define VCON_UART_IIR_FIFO_BITS 0xC0u

#define VCON_UART_FCR_ENABLE 0x01u
#define VCON_UART_FCR_CLEAR_RX 0x02u
#define VCON_UART_FCR_CLEAR_TX 0x04u
#define VCON_UART_FCR_DMA 0x08u
#define VCON_UART_FCR_TRIGGER_MASK 0xC0u

#define VCON_UART_LCR_WLS_MASK 0x03u
#define VCON_UART_LCR_STB 0x04u
#define VCON_UART_LCR_PEN 0x08u
#define VCON_UART_LCR_BREAK 0x40u
#define VCON_UART_LCR_DLAB 0x80u

#define VCON_UART_MCR_DTR 0x01u
#define VCON_UART_MCR_RTS 0x02u
#define VCON_UART_MCR_OUT1 0x04u
#define VCON_UART_MCR_OUT2 0x08u
#define VCON_UART_MCR_LOOP 0x10u

#define VCON_UART_LSR_DR 0x01u
#define VCON_UART_LSR_OE 0x02u
#define VCON_UART_LSR_PE 0x04u
#define VCON_UART_LSR_FE 0x08u
#define VCON_UART_LSR_BI 0x10u
#define VCON_UART_LSR_THRE 0x20u
#define VCON_UART_LSR_TEMT 0x40u
#define VCON_UART_LSR_RXFE 0x80u

#define VCON_UART_MSR_DCTS 0x01u
#define VCON_UART_MSR_DDSR 0x02u
#define VCON_UART_MSR_TERI 0x04u
#define VCON_UART_MSR_DDCD 0x08u
#define VCON_UART_MSR_CTS 0x10u
#define VCON_UART_MSR_DSR 0x20u
#define VCON_UART_MSR_RI 0x40u
#define VCON_UART_MSR_DCD 0x80u
#define VCON_UART_MSR_DELTAS 0x0Fu

#ifdef __cplusplus
}
#endif
#endif
