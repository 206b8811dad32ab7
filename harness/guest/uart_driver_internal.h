/* Shared between the guest UART driver's files: register access through the
 * VM bus, the per-type table, and the steps one file calls in another. */
#ifndef HARNESS_GUEST_UART_DRIVER_INTERNAL_H
#define HARNESS_GUEST_UART_DRIVER_INTERNAL_H

#include <stdint.h>

#include "guest/uart_driver.h"
#include "vcon/uart.h"

/* Register bits beyond the 16550's, used by the probes of other chips. */
#define GUART_IER_RTOIE 0x10u     /* XScale receiver time-out interrupt */
#define GUART_IER_UUE 0x40u       /* XScale UART unit enable */
#define GUART_FCR_64BYTE 0x20u    /* TI16750 64-byte FIFO mode */
#define GUART_IIR_64BYTE 0x20u    /* TI16750 reports 64-byte mode */
#define GUART_LCR_CONF_A 0x80u    /* DLAB alone */
#define GUART_LCR_CONF_B 0xBFu    /* enhanced-register access on ST/TI/Exar parts */
#define GUART_LCR_NS_BANK2 0xE0u  /* National SuperIO bank 2 */
#define GUART_LCR_WLEN8 0x03u
#define GUART_EFR 2u              /* EFR sits where IIR/FCR are */
#define GUART_FCR_TRIGGER_1 0x00u
#define GUART_BAUD_BASE 115200u   /* 1.8432 MHz / 16 */

/* Capabilities, as Linux's UART_CAP_* (only those the driver acts on). */
#define GUART_CAP_FIFO 0x1u
#define GUART_CAP_EFR 0x2u
#define GUART_CAP_UUE 0x4u
#define GUART_CAP_RTOIE 0x8u
#define GUART_CAP_NATSEMI 0x10u

struct guart_type_info {
    const char *name;
    unsigned fifo_size;
    unsigned tx_loadsz;
    uint8_t fcr;
    unsigned caps;
};

const struct guart_type_info *guart_type_info(enum vcon_guest_uart_type type);

static inline uint8_t guart_in(struct vcon_guest_uart *u, unsigned offset)
{
    return vcon_vm_inb(u->vm, (uint16_t)(u->base + offset));
}

static inline void guart_out(struct vcon_guest_uart *u, unsigned offset, uint8_t value)
{
    vcon_vm_outb(u->vm, (uint16_t)(u->base + offset), value);
}

/* A busy-wait of the guest is virtual time passing. */
static inline void guart_udelay(struct vcon_guest_uart *u, uint64_t us)
{
    vcon_vm_advance(u->vm, us * 1000u);
}

/* The divisor latch, read and written with DLAB already set. */
static inline uint16_t guart_dl_read(struct vcon_guest_uart *u)
{
    return (uint16_t)(guart_in(u, VCON_UART_DLL) | (guart_in(u, VCON_UART_DLM) << 8));
}

static inline void guart_dl_write(struct vcon_guest_uart *u, uint16_t dl)
{
    guart_out(u, VCON_UART_DLL, (uint8_t)(dl & 0xFF));
    guart_out(u, VCON_UART_DLM, (uint8_t)(dl >> 8));
}

/* Enable, clear and disable the FIFOs (a no-op on parts without them). */
void guart_clear_fifos(struct vcon_guest_uart *u);
/* Linux's autoconfig: sets u->type, fifo_size, tx_loadsz, capabilities. */
void guart_autoconfig(struct vcon_guest_uart *u);
/* serial8250_do_startup and set_termios; 0 or -ENODEV. */
int guart_startup(struct vcon_guest_uart *u);
void guart_set_termios(struct vcon_guest_uart *u, unsigned baud);

#endif
