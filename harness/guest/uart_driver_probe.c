/* The guest driver's probe: identify the UART the way Linux's 8250
 * autoconfig does, register access for register access, so the device sees
 * exactly the sequence a booting Linux guest produces. */
#include <stddef.h>

#include "guest/uart_driver_internal.h"

/* Names, FIFO sizes, transmit burst sizes and FCR values as in Linux's
 * per-type table. */
static const struct guart_type_info type_table[VCON_GUEST_UART_NR_TYPES] = {
    [VCON_GUEST_UART_NONE] = {"unknown", 1, 1, 0x00, 0},
    [VCON_GUEST_UART_8250] = {"8250", 1, 1, 0x00, 0},
    [VCON_GUEST_UART_16450] = {"16450", 1, 1, 0x00, 0},
    [VCON_GUEST_UART_16550] = {"16550", 1, 1, 0x00, 0},
    [VCON_GUEST_UART_16550A] = {"16550A", 16, 16, 0x81, GUART_CAP_FIFO},
    [VCON_GUEST_UART_16650] = {"ST16650", 1, 1, 0x00, GUART_CAP_FIFO | GUART_CAP_EFR},
    [VCON_GUEST_UART_16650V2] = {"ST16650V2", 32, 16, 0x41, GUART_CAP_FIFO | GUART_CAP_EFR},
    [VCON_GUEST_UART_16654] = {"ST16654", 64, 32, 0xA1, GUART_CAP_FIFO | GUART_CAP_EFR},
    [VCON_GUEST_UART_16850] = {"XR16850", 128, 128, 0x81, GUART_CAP_FIFO | GUART_CAP_EFR},
    [VCON_GUEST_UART_16750] = {"TI16750", 64, 64, 0xA1, GUART_CAP_FIFO},
    [VCON_GUEST_UART_NS16550A] = {"NS16550A", 16, 16, 0x81, GUART_CAP_FIFO | GUART_CAP_NATSEMI},
    [VCON_GUEST_UART_XSCALE] = {"XScale", 32, 32, 0x81,
                                GUART_CAP_FIFO | GUART_CAP_UUE | GUART_CAP_RTOIE},
    [VCON_GUEST_UART_U6_16550A] = {"U6_16550A", 64, 64, 0x81, GUART_CAP_FIFO},
    [VCON_GUEST_UART_16550A_FSL64] = {"16550A_FSL64", 64, 63, 0xA1, GUART_CAP_FIFO},
};

const struct guart_type_info *guart_type_info(enum vcon_guest_uart_type type)
{
    if ((unsigned)type >= VCON_GUEST_UART_NR_TYPES)
        type = VCON_GUEST_UART_NONE;
    return &type_table[type];
}

const char *vcon_guest_uart_type_name(enum vcon_guest_uart_type type)
{
    return guart_type_info(type)->name;
}

unsigned vcon_guest_uart_type_fifo_size(enum vcon_guest_uart_type type)
{
    return guart_type_info(type)->fifo_size;
}

void guart_clear_fifos(struct vcon_guest_uart *u)
{
    if (!(u->capabilities & GUART_CAP_FIFO))
        return;
    guart_out(u, VCON_UART_IIR_FCR, VCON_UART_FCR_ENABLE);
    guart_out(u, VCON_UART_IIR_FCR,
              VCON_UART_FCR_ENABLE | VCON_UART_FCR_CLEAR_RX | VCON_UART_FCR_CLEAR_TX);
    guart_out(u, VCON_UART_IIR_FCR, 0);
}

/* Count how many loopback characters the receiver holds: 256 bytes sent to
 * itself at the fastest divisor, then read back while DR says so. Every
 * register it touches is put back. */
static unsigned measure_fifo(struct vcon_guest_uart *u)
{
    const uint8_t old_lcr = guart_in(u, VCON_UART_LCR);
    guart_out(u, VCON_UART_LCR, 0);
    /* Linux reads "FCR" back here, which is IIR: the FIFO bits it restores
     * are whatever IIR reports. */
    const uint8_t old_fcr = guart_in(u, VCON_UART_IIR_FCR);
    const uint8_t old_mcr = guart_in(u, VCON_UART_MCR);
    guart_out(u, VCON_UART_IIR_FCR,
              VCON_UART_FCR_ENABLE | VCON_UART_FCR_CLEAR_RX | VCON_UART_FCR_CLEAR_TX);
    guart_out(u, VCON_UART_MCR, VCON_UART_MCR_LOOP);
    guart_out(u, VCON_UART_LCR, GUART_LCR_CONF_A);
    const uint16_t old_dl = guart_dl_read(u);
    guart_dl_write(u, 1);
    guart_out(u, VCON_UART_LCR, GUART_LCR_WLEN8);
    for (unsigned i = 0; i < 256; i++)
        guart_out(u, VCON_UART_RBR_THR, (uint8_t)i);
    guart_udelay(u, 20000);
    unsigned count = 0;
    while (count < 256 && (guart_in(u, VCON_UART_LSR) & VCON_UART_LSR_DR)) {
        (void)guart_in(u, VCON_UART_RBR_THR);
        count++;
    }
    guart_out(u, VCON_UART_IIR_FCR, old_fcr);
    guart_out(u, VCON_UART_MCR, old_mcr);
    guart_out(u, VCON_UART_LCR, GUART_LCR_CONF_A);
    guart_dl_write(u, old_dl);
    guart_out(u, VCON_UART_LCR, old_lcr);
    return count;
}

/* Exar and StarTech parts answer a divisor of zero with an ID. */
static uint16_t read_divisor_id(struct vcon_guest_uart *u)
{
    const uint8_t old_lcr = guart_in(u, VCON_UART_LCR);
    guart_out(u, VCON_UART_LCR, GUART_LCR_CONF_A);
    const uint16_t old_dl = guart_dl_read(u);
    guart_dl_write(u, 0);
    const uint16_t id = guart_dl_read(u);
    guart_dl_write(u, old_dl);
    guart_out(u, VCON_UART_LCR, old_lcr);
    return id;
}

/* A chip with an EFR at LCR=0xBF. Linux first looks for an Oxford 16C950
 * through its indexed registers; this driver leaves that one out (it needs
 * writes to SCR and LSR that no 16550 emulation answers) and goes on with
 * the XR16C850 divisor ID and the FIFO size. */
static void autoconfig_with_efr(struct vcon_guest_uart *u)
{
    const uint8_t id_high = (uint8_t)(read_divisor_id(u) >> 8);
    if (id_high == 0x10 || id_high == 0x12 || id_high == 0x14) {
        u->type = VCON_GUEST_UART_16850;
        return;
    }
    u->type = measure_fifo(u) == 64 ? VCON_GUEST_UART_16654 : VCON_GUEST_UART_16650V2;
}

/* No FIFO: an 8250, or a 16450 if the scratch register keeps two patterns. */
static void autoconfig_no_fifo(struct vcon_guest_uart *u)
{
    u->type = VCON_GUEST_UART_8250;
    const uint8_t saved = guart_in(u, VCON_UART_SCR);
    guart_out(u, VCON_UART_SCR, 0xA5);
    const uint8_t first = guart_in(u, VCON_UART_SCR);
    guart_out(u, VCON_UART_SCR, 0x5A);
    const uint8_t second = guart_in(u, VCON_UART_SCR);
    guart_out(u, VCON_UART_SCR, saved);
    if (first == 0xA5 && second == 0x5A)
        u->type = VCON_GUEST_UART_16450;
}

/* The ST16C650 V1 shows an EFR (reading 0) at offset 2 with DLAB alone. */
static bool probe_efr_v1(struct vcon_guest_uart *u)
{
    guart_out(u, VCON_UART_LCR, GUART_LCR_CONF_A);
    if (guart_in(u, GUART_EFR) != 0)
        return false;
    guart_out(u, GUART_EFR, 0xA8);
    if (guart_in(u, GUART_EFR) != 0) {
        u->type = VCON_GUEST_UART_16650;
    } else {
        guart_out(u, VCON_UART_LCR, 0);
        guart_out(u, VCON_UART_IIR_FCR, VCON_UART_FCR_ENABLE | GUART_FCR_64BYTE);
        const unsigned iir_top = guart_in(u, VCON_UART_IIR_FCR) >> 5;
        guart_out(u, VCON_UART_IIR_FCR, 0);
        guart_out(u, VCON_UART_LCR, 0);
        if (iir_top == 7)
            u->type = VCON_GUEST_UART_16550A_FSL64;
    }
    guart_out(u, GUART_EFR, 0);
    return true;
}

/* Exar ST16C2550 "A2" parts claim an EFR they do not have. */
static bool efr_is_broken(struct vcon_guest_uart *u)
{
    return read_divisor_id(u) == 0x0201 && measure_fifo(u) == 16;
}

/* National SuperIO: bank 2 (LCR=0xE0) shows MCR.LOOP at offset 2 (EXCR1).
 * Flip LOOP in bank 0 and see whether bank 2 follows. */
static bool probe_national_superio(struct vcon_guest_uart *u)
{
    guart_out(u, VCON_UART_LCR, 0);
    const uint8_t mcr = guart_in(u, VCON_UART_MCR);
    guart_out(u, VCON_UART_LCR, GUART_LCR_NS_BANK2);
    uint8_t excr1 = guart_in(u, 2);
    if ((excr1 ^ mcr) & VCON_UART_MCR_LOOP)
        return false;
    guart_out(u, VCON_UART_LCR, 0);
    guart_out(u, VCON_UART_MCR, (uint8_t)(mcr ^ VCON_UART_MCR_LOOP));
    guart_out(u, VCON_UART_LCR, GUART_LCR_NS_BANK2);
    excr1 = guart_in(u, 2);
    guart_out(u, VCON_UART_LCR, 0);
    guart_out(u, VCON_UART_MCR, mcr);
    if (!((excr1 ^ mcr) & VCON_UART_MCR_LOOP))
        return false;
    /* Linux also switches the chip to its high-speed clock here; this driver
     * keeps the standard clock. */
    u->type = VCON_GUEST_UART_NS16550A;
    return true;
}

/* A TI16750 sets IIR bit 5 only when 64-byte mode was requested with DLAB
 * set; clones that set it without DLAB are not 16750s. */
static bool probe_ti16750(struct vcon_guest_uart *u)
{
    guart_out(u, VCON_UART_LCR, 0);
    guart_out(u, VCON_UART_IIR_FCR, VCON_UART_FCR_ENABLE | GUART_FCR_64BYTE);
    const unsigned without_dlab = guart_in(u, VCON_UART_IIR_FCR) >> 5;
    guart_out(u, VCON_UART_IIR_FCR, VCON_UART_FCR_ENABLE);
    guart_out(u, VCON_UART_LCR, GUART_LCR_CONF_A);
    guart_out(u, VCON_UART_IIR_FCR, VCON_UART_FCR_ENABLE | GUART_FCR_64BYTE);
    const unsigned with_dlab = guart_in(u, VCON_UART_IIR_FCR) >> 5;
    guart_out(u, VCON_UART_IIR_FCR, VCON_UART_FCR_ENABLE);
    guart_out(u, VCON_UART_LCR, 0);
    if (without_dlab == 6 && with_dlab == 7) {
        u->type = VCON_GUEST_UART_16750;
        return true;
    }
    return false;
}

/* XScale UARTs keep IER bit 6 (UUE); clear it first so a bit stuck at 1
 * does not count. */
static bool probe_xscale(struct vcon_guest_uart *u)
{
    const uint8_t ier = guart_in(u, VCON_UART_IER);
    guart_out(u, VCON_UART_IER, (uint8_t)(ier & ~GUART_IER_UUE));
    if (!(guart_in(u, VCON_UART_IER) & GUART_IER_UUE)) {
        guart_out(u, VCON_UART_IER, (uint8_t)(ier | GUART_IER_UUE));
        if (guart_in(u, VCON_UART_IER) & GUART_IER_UUE) {
            u->type = VCON_GUEST_UART_XSCALE; /* UUE stays set: the unit is on */
            return true;
        }
    }
    guart_out(u, VCON_UART_IER, ier);
    return false;
}

/* IIR says the FIFO works: a 16550A or one of its descendants. */
static void autoconfig_fifo(struct vcon_guest_uart *u)
{
    u->type = VCON_GUEST_UART_16550A;
    if (probe_efr_v1(u))
        return;
    guart_out(u, VCON_UART_LCR, GUART_LCR_CONF_B);
    if (guart_in(u, GUART_EFR) == 0 && !efr_is_broken(u)) {
        autoconfig_with_efr(u);
        return;
    }
    if (probe_national_superio(u) || probe_ti16750(u) || probe_xscale(u))
        return;
    if (measure_fifo(u) == 64)
        u->type = VCON_GUEST_UART_U6_16550A;
}

/* Does the IER keep what is written to its low nibble? Floating buses and
 * empty ports read all ones and fail here. */
static bool ier_holds_values(struct vcon_guest_uart *u)
{
    const uint8_t saved = guart_in(u, VCON_UART_IER);
    guart_out(u, VCON_UART_IER, 0);
    const uint8_t zero = guart_in(u, VCON_UART_IER) & 0x0F;
    guart_out(u, VCON_UART_IER, 0x0F);
    const uint8_t ones = guart_in(u, VCON_UART_IER) & 0x0F;
    guart_out(u, VCON_UART_IER, saved);
    return zero == 0 && ones == 0x0F;
}

/* In loopback with RTS and OUT2 set, the chip must see CTS and DCD only. */
static bool loopback_works(struct vcon_guest_uart *u, uint8_t saved_mcr)
{
    guart_out(u, VCON_UART_MCR, VCON_UART_MCR_LOOP | VCON_UART_MCR_RTS | VCON_UART_MCR_OUT2);
    const uint8_t lines = guart_in(u, VCON_UART_MSR) & 0xF0;
    guart_out(u, VCON_UART_MCR, saved_mcr);
    return lines == (VCON_UART_MSR_CTS | VCON_UART_MSR_DCD);
}

static void set_type_parameters(struct vcon_guest_uart *u)
{
    const struct guart_type_info *info = guart_type_info(u->type);
    u->fifo_size = info->fifo_size;
    u->tx_loadsz = info->tx_loadsz;
    u->capabilities = info->caps;
    u->fcr = info->fcr;
}

void guart_autoconfig(struct vcon_guest_uart *u)
{
    u->type = VCON_GUEST_UART_NONE;
    u->capabilities = 0;
    u->bug_thre = false;
    u->bug_txen = false;

    if (!ier_holds_values(u)) {
        set_type_parameters(u);
        return;
    }
    const uint8_t saved_mcr = guart_in(u, VCON_UART_MCR);
    const uint8_t saved_lcr = guart_in(u, VCON_UART_LCR);
    if (!loopback_works(u, saved_mcr)) {
        set_type_parameters(u);
        return;
    }

    /* Zero the EFR of chips that have one (on a 16550 this write lands in
     * FCR and turns the FIFOs off), then ask IIR what the FIFO does. */
    guart_out(u, VCON_UART_LCR, GUART_LCR_CONF_B);
    guart_out(u, GUART_EFR, 0);
    guart_out(u, VCON_UART_LCR, 0);
    guart_out(u, VCON_UART_IIR_FCR, VCON_UART_FCR_ENABLE);
    switch (guart_in(u, VCON_UART_IIR_FCR) >> 6) {
    case 0:
        autoconfig_no_fifo(u);
        break;
    case 2:
        u->type = VCON_GUEST_UART_16550;
        break;
    case 3:
        autoconfig_fifo(u);
        break;
    default: /* 1: no chip reports that */
        u->type = VCON_GUEST_UART_NONE;
        break;
    }
    guart_out(u, VCON_UART_LCR, saved_lcr);
    set_type_parameters(u);
    if (u->type == VCON_GUEST_UART_NONE)
        return;

    /* Leave the chip quiet: modem lines as found, FIFOs empty and off,
     * receiver read once, interrupts off (XScale keeps the unit enabled). */
    guart_out(u, VCON_UART_MCR, saved_mcr);
    guart_clear_fifos(u);
    (void)guart_in(u, VCON_UART_RBR_THR);
    guart_out(u, VCON_UART_IER, (u->capabilities & GUART_CAP_UUE) ? GUART_IER_UUE : 0);
}
