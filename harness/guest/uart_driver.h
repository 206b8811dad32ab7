/* A fake guest's serial driver: it probes, starts and drives a 16550-type
 * UART through the VM bus the way Linux's 8250 driver
 * (drivers/tty/serial/8250/8250_port.c) does, so that the device under test
 * sees the register sequences of a real guest. Written from the documented
 * behaviour of that driver, not from its code.
 *
 * It touches the device only through vcon_vm_inb/vcon_vm_outb at `base` and
 * watches interrupt line `irq` of the VM. Interrupts are delivered by explicit
 * calls (vcon_guest_uart_service after each step), never from inside a device
 * callback, so nothing re-enters the device. Every loop is bounded: a hostile
 * or broken device can make the driver count errors, never hang it. */
#ifndef HARNESS_GUEST_UART_DRIVER_H
#define HARNESS_GUEST_UART_DRIVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "harness/vm.h"

/* What the probe identified, as Linux's port types (names as Linux prints). */
enum vcon_guest_uart_type {
    VCON_GUEST_UART_NONE = 0,     /* "unknown": nothing, or nothing usable */
    VCON_GUEST_UART_8250,         /* no FIFO, no scratch register */
    VCON_GUEST_UART_16450,        /* no FIFO, scratch register */
    VCON_GUEST_UART_16550,        /* FIFO that is known not to work */
    VCON_GUEST_UART_16550A,       /* working 16-byte FIFO */
    VCON_GUEST_UART_16650,        /* ST16C650 V1: EFR reachable with DLAB */
    VCON_GUEST_UART_16650V2,      /* EFR at LCR=0xBF */
    VCON_GUEST_UART_16654,        /* EFR at LCR=0xBF, 64-byte FIFO */
    VCON_GUEST_UART_16850,        /* EFR at LCR=0xBF, XR16C850 divisor ID */
    VCON_GUEST_UART_16750,        /* TI16750: 64-byte FIFO mode with DLAB */
    VCON_GUEST_UART_NS16550A,     /* National SuperIO (bank switching at LCR=0xE0) */
    VCON_GUEST_UART_XSCALE,       /* IER bit 6 (UUE) sticks */
    VCON_GUEST_UART_U6_16550A,    /* 16550A look-alike with a 64-byte FIFO */
    VCON_GUEST_UART_16550A_FSL64, /* EFR-less DLAB probe hit, 64-byte FIFO */
    VCON_GUEST_UART_NR_TYPES,
};

/* How the interrupt line is watched by vcon_guest_uart_service(). */
enum vcon_guest_irq_trigger {
    VCON_GUEST_IRQ_AUTO = 0, /* run while the line is high or new raises were seen */
    VCON_GUEST_IRQ_LEVEL = 1, /* run while the line is high */
    VCON_GUEST_IRQ_EDGE = 2,  /* run once per batch of raises seen since last time */
};

/* Software buffers: the transmit queue is a page like Linux's xmit buffer;
 * the receive buffer stands for the tty flip buffers. */
#define VCON_GUEST_UART_TX_QUEUE 4096u
#define VCON_GUEST_UART_RX_BUFFER 16384u
/* Linux's bounds: IIR loop passes per interrupt, characters per rx call. */
#define VCON_GUEST_UART_PASS_LIMIT 512u
#define VCON_GUEST_UART_RX_BURST 256u
/* Interrupt deliveries per vcon_guest_uart_service() call. */
#define VCON_GUEST_UART_SERVICE_ROUNDS 64u

struct vcon_guest_uart_counters {
    uint64_t tx;           /* bytes written to THR */
    uint64_t rx;           /* characters taken from the receiver (breaks included) */
    uint64_t brk, frame, parity, overrun; /* line errors reported by LSR */
    uint64_t rx_dropped;   /* received while the receive buffer was full */
    uint64_t cts, dsr, rng, dcd; /* modem-line changes (counted with IER.MSI on) */
    uint64_t interrupts;   /* interrupt routine runs (service and poll) */
    uint64_t unhandled;    /* runs that found nothing pending (IIR bit 0 set) */
    uint64_t passes;       /* IIR reads that found something pending */
    uint64_t stuck;        /* runs cut short at VCON_GUEST_UART_PASS_LIMIT */
    uint64_t service_limit; /* service calls stopped at the round limit */
};

struct vcon_guest_byte_ring {
    unsigned head, count;
};

struct vcon_guest_uart {
    struct vcon_vm *vm;
    uint16_t base;
    unsigned irq;
    enum vcon_guest_irq_trigger trigger;

    enum vcon_guest_uart_type type;
    unsigned fifo_size; /* Linux's table for the type: 16 for a 16550A */
    unsigned tx_loadsz; /* bytes written per THRE interrupt */
    unsigned capabilities; /* GUART_CAP_* bits (uart_driver_internal.h) */
    bool bug_thre; /* THRE not re-asserted when IER.THRI is set again */
    bool bug_txen; /* no THRE interrupt when IER.THRI is first set */
    bool started;  /* probe, startup and termios done */

    /* Shadows of what the driver last programmed. */
    uint8_t ier, lcr, mcr, fcr;
    unsigned baud;
    uint16_t divisor;
    uint8_t msr;       /* last MSR value read */
    uint8_t lsr_saved; /* error bits seen by an LSR read outside rx */

    uint64_t seen_raises; /* vcon_vm_irq_raises() at the last delivery */

    struct vcon_guest_byte_ring txq, rxq;
    uint8_t tx_buf[VCON_GUEST_UART_TX_QUEUE];
    uint8_t rx_buf[VCON_GUEST_UART_RX_BUFFER];

    struct vcon_guest_uart_counters counters;
};

/* Probe the UART at `base` like Linux's autoconfig (IER scratch test,
 * loopback test, FIFO/EFR/SuperIO/TI16750/XScale/FIFO-size probes, reset),
 * then open it like serial8250_do_startup (THRE and TXEN tests) followed by
 * set_termios at the tty default (9600 8N1, CLOCAL: no modem-status
 * interrupts) and DTR/RTS raised. On success the port has IER = RLSI|RDI,
 * MCR = DTR|RTS|OUT2 and, for a 16550A, FCR = 0x81.
 * Returns 0; -ENODEV when nothing usable is there (`u->type` is then
 * VCON_GUEST_UART_NONE, or the identified type when the chip failed
 * startup's LSR check); -EINVAL for NULL arguments. `irq` 0 means no
 * interrupt line (as in Linux): no THRE test, no OUT2, and the caller polls.
 * The driver's delays (udelay/mdelay) are virtual time: the probe advances
 * the VM clock by about 20 ms. */
int vcon_guest_uart_probe(struct vcon_guest_uart *u, struct vcon_vm *vm, uint16_t base,
                          unsigned irq);
/* How service() watches the line; probe leaves VCON_GUEST_IRQ_AUTO. */
void vcon_guest_uart_set_irq_trigger(struct vcon_guest_uart *u,
                                     enum vcon_guest_irq_trigger trigger);

/* set_termios for 8N1 at `baud` (divisor 115200/baud, rounded): IER,
 * divisor through DLAB, LCR, then FCR = ENABLE and FCR = the type's value
 * (0x81 for a 16550A; trigger 1 below 2400 baud, as Linux). Returns 0,
 * -EINVAL (baud 0, above 115200 or below 2), -ENODEV (not probed). */
int vcon_guest_uart_set_baud(struct vcon_guest_uart *u, unsigned baud);

/* Queue bytes for interrupt-driven transmission and enable THRI. Returns the
 * number queued (less than len when the queue is full), or -ENODEV. */
int vcon_guest_uart_write(struct vcon_guest_uart *u, const void *bytes, size_t len);
/* Bytes still queued, not yet written to THR. */
size_t vcon_guest_uart_tx_pending(const struct vcon_guest_uart *u);
/* Take up to `len` received bytes. Returns the number taken. */
size_t vcon_guest_uart_read(struct vcon_guest_uart *u, void *buf, size_t len);
size_t vcon_guest_uart_rx_available(const struct vcon_guest_uart *u);

/* Deliver the UART's interrupt: run the interrupt routine while the line is
 * high (level) or once per batch of new raises (edge), at most
 * VCON_GUEST_UART_SERVICE_ROUNDS times. Returns the number of runs, or
 * -ENODEV. */
int vcon_guest_uart_service(struct vcon_guest_uart *u);
/* Run the interrupt routine once, whatever the line says (a polling timer).
 * Returns 1 when it found something pending, 0 when not, or -ENODEV. */
int vcon_guest_uart_poll(struct vcon_guest_uart *u);
/* Let `ns` of virtual time pass, stopping at every timer deadline on the
 * way to service the interrupt (character timeouts fire at their time). */
void vcon_guest_uart_advance(struct vcon_guest_uart *u, uint64_t ns);

/* Linux's name for a type ("16550A", "unknown" for NONE) and its FIFO size. */
const char *vcon_guest_uart_type_name(enum vcon_guest_uart_type type);
unsigned vcon_guest_uart_type_fifo_size(enum vcon_guest_uart_type type);

#endif
