/* The fake guest's Linux-like 8250 driver (harness/guest/uart_driver.h),
 * against the emulated UART in every profile, flavour and interrupt mode,
 * against small fake chips that answer the probe like other 8250 family
 * members, and against absent and hostile devices. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "guest/uart_driver.h"
#include "harness/script_backend.h"
#include "harness/vm.h"
#include "vcon/uart.h"

#define COM1 0x3F8u
#define COM2 0x2F8u
#define IRQ4 4u
#define IRQ3 3u
#define RAM_SIZE 65536u
#define SETTLE_NS 1000000u /* 1 ms: past any character timeout at 115200 */
#define MAX_ROUNDS 10000u

/* ---- helpers ------------------------------------------------------------- */

/* Fails printing the first differing byte and both lengths. */
static void assert_bytes_equal(const uint8_t *got, size_t got_len, const uint8_t *want,
                               size_t want_len)
{
    const size_t n = got_len < want_len ? got_len : want_len;
    for (size_t i = 0; i < n; i++) {
        if (got[i] != want[i]) {
            print_error("byte %zu is 0x%02x, expected 0x%02x (lengths %zu and %zu)\n", i,
                        got[i], want[i], got_len, want_len);
            fail();
        }
    }
    if (got_len != want_len) {
        print_error("got %zu bytes, expected %zu (the first %zu agree)\n", got_len, want_len, n);
        fail();
    }
}

/* Bytes that are not periodic in anything a FIFO or ring could hide. */
static void fill_pattern(uint8_t *buf, size_t len, unsigned seed)
{
    uint32_t x = 2463534242u ^ seed;
    for (size_t i = 0; i < len; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        buf[i] = (uint8_t)x;
    }
}

/* ---- the emulated UART behind the VM --------------------------------------- */

struct rig_config {
    enum vcon_uart_profile profile;
    enum vcon_uart_flavour flavour;
    enum vcon_uart_irq_mode irq_mode;
};

struct rig {
    struct rig_config config;
    struct vcon_vm *vm;
    struct vcon_uart *uart;
    struct vcon_script_backend *backend;
    struct vcon_guest_uart guest;
};

static const struct rig_config configs[] = {
    {VCON_UART_PROFILE_16550A, VCON_UART_FLAVOUR_DM, VCON_UART_IRQ_LEVEL},
    {VCON_UART_PROFILE_16550A, VCON_UART_FLAVOUR_DM, VCON_UART_IRQ_EDGE},
    {VCON_UART_PROFILE_16550A, VCON_UART_FLAVOUR_HV, VCON_UART_IRQ_LEVEL},
    {VCON_UART_PROFILE_16550A, VCON_UART_FLAVOUR_HV, VCON_UART_IRQ_EDGE},
    {VCON_UART_PROFILE_ACRN_DM, VCON_UART_FLAVOUR_DM, VCON_UART_IRQ_LEVEL},
    {VCON_UART_PROFILE_ACRN_DM, VCON_UART_FLAVOUR_DM, VCON_UART_IRQ_EDGE},
    {VCON_UART_PROFILE_ACRN_DM, VCON_UART_FLAVOUR_HV, VCON_UART_IRQ_LEVEL},
    {VCON_UART_PROFILE_ACRN_DM, VCON_UART_FLAVOUR_HV, VCON_UART_IRQ_EDGE},
};
#define CONFIG_16550A_DM_LEVEL (&configs[0])
#define CONFIG_ACRN_DM_LEVEL (&configs[4])

static int bus_read(void *device, uint64_t offset, unsigned size, uint32_t *value)
{
    return vcon_uart_read(device, (unsigned)offset, size, value);
}

static int bus_write(void *device, uint64_t offset, unsigned size, uint32_t value)
{
    return vcon_uart_write(device, (unsigned)offset, size, value);
}

static const struct vcon_bus_ops uart_ops = {.read = bus_read, .write = bus_write};

/* A VM with one UART mapped at COM1 on IRQ 4, not yet probed. */
static int setup_rig(void **state)
{
    const struct rig_config *config = *state;
    struct rig *r = test_calloc(1, sizeof *r);
    assert_non_null(r);
    r->config = *config;
    assert_int_equal(vcon_vm_create(RAM_SIZE, &r->vm), 0);
    struct vcon_host host;
    struct vcon_vm_binding *binding = NULL;
    assert_int_equal(vcon_vm_bind_device(r->vm, 1, &host, &binding), 0);
    r->backend = vcon_vm_backend(binding, 0);
    assert_non_null(r->backend);
    const struct vcon_uart_config uc = {
        .flavour = config->flavour,
        .profile = config->profile,
        .irq_mode = config->irq_mode,
        .irq_line = IRQ4,
    };
    assert_int_equal(vcon_uart_create(&uc, &host, &r->uart), 0);
    assert_int_equal(vcon_vm_map(r->vm, VCON_SPACE_PIO, COM1, VCON_UART_NR_REGS, &uart_ops, r->uart),
                     0);
    *state = r;
    return 0;
}

static int teardown_rig(void **state)
{
    struct rig *r = *state;
    vcon_uart_destroy(r->uart);
    vcon_vm_destroy(r->vm);
    test_free(r);
    return 0;
}

/* Probe, pick the trigger matching the UART's mode, 115200 baud. */
static void boot_guest(struct rig *r)
{
    assert_int_equal(vcon_guest_uart_probe(&r->guest, r->vm, COM1, IRQ4), 0);
    vcon_guest_uart_set_irq_trigger(&r->guest, r->config.irq_mode == VCON_UART_IRQ_EDGE
                                                   ? VCON_GUEST_IRQ_EDGE
                                                   : VCON_GUEST_IRQ_LEVEL);
    assert_int_equal(vcon_guest_uart_set_baud(&r->guest, 115200), 0);
}

/* Queue everything, servicing interrupts until the queue is drained. */
static void guest_send_all(struct rig *r, const uint8_t *bytes, size_t len)
{
    size_t queued = 0;
    for (unsigned round = 0; round < MAX_ROUNDS; round++) {
        if (queued < len) {
            const int n = vcon_guest_uart_write(&r->guest, bytes + queued, len - queued);
            assert_true(n >= 0);
            queued += (size_t)n;
        }
        assert_true(vcon_guest_uart_service(&r->guest) >= 0);
        if (queued == len && vcon_guest_uart_tx_pending(&r->guest) == 0)
            return;
    }
    print_error("%zu bytes still queued after %u rounds\n", vcon_guest_uart_tx_pending(&r->guest),
                MAX_ROUNDS);
    fail();
}

static void assert_backend_output(struct rig *r, const uint8_t *want, size_t want_len)
{
    size_t len = 0;
    const uint8_t *out = vcon_script_output(r->backend, &len);
    assert_bytes_equal(out, len, want, want_len);
}

/* ---- identification and open, every configuration ------------------------ */

static void identifies_a_16550a_with_a_16_byte_fifo_and_no_bugs(void **state)
{
    struct rig *r = *state;
    assert_int_equal(vcon_guest_uart_probe(&r->guest, r->vm, COM1, IRQ4), 0);
    assert_int_equal(r->guest.type, VCON_GUEST_UART_16550A);
    assert_string_equal(vcon_guest_uart_type_name(r->guest.type), "16550A");
    assert_int_equal(r->guest.fifo_size, 16);
    assert_false(r->guest.bug_thre);
    assert_false(r->guest.bug_txen);
    assert_true(r->guest.started);
    assert_int_equal(r->guest.counters.stuck, 0);
}

/* After open the device holds what Linux leaves in it. */
static void open_leaves_the_registers_as_linux_does(void **state)
{
    struct rig *r = *state;
    boot_guest(r);
    struct vcon_uart_state s;
    vcon_uart_get_state(r->uart, &s);
    assert_int_equal(s.ier, VCON_UART_IER_ERBFI | VCON_UART_IER_ELSI);
    assert_int_equal(s.lcr, 0x03);
    assert_int_equal(s.mcr, VCON_UART_MCR_DTR | VCON_UART_MCR_RTS | VCON_UART_MCR_OUT2);
    assert_int_equal(s.divisor, 1);
    assert_true(s.fifo_enabled);
    assert_int_equal(s.fcr & VCON_UART_FCR_TRIGGER_MASK, 0x80);
    assert_int_equal(r->guest.fcr, 0x81);
    assert_int_equal(r->guest.divisor, 1);
    struct vcon_uart_stats st;
    vcon_uart_get_stats(r->uart, &st);
    assert_int_equal(st.bad_accesses, 0);
    assert_int_equal(st.tx_bytes, 0); /* the probe's loopback bytes never leave */
}

/* ---- transmit and receive, every configuration ------------------------------ */

static void interrupt_driven_transmit_of_1000_bytes_arrives_in_order(void **state)
{
    struct rig *r = *state;
    boot_guest(r);
    uint8_t msg[1000];
    fill_pattern(msg, sizeof msg, 1);
    guest_send_all(r, msg, sizeof msg);
    assert_backend_output(r, msg, sizeof msg);
    assert_int_equal(r->guest.counters.tx, sizeof msg);
    assert_int_equal(r->guest.counters.stuck, 0);
    /* THRI is off again once the queue is empty. */
    assert_int_equal(r->guest.ier & VCON_UART_IER_ETBEI, 0);
    struct vcon_uart_stats st;
    vcon_uart_get_stats(r->uart, &st);
    assert_int_equal(st.tx_dropped, 0);
}

static void interrupt_driven_receive_of_1000_bytes_arrives_intact(void **state)
{
    struct rig *r = *state;
    boot_guest(r);
    uint8_t input[1000];
    fill_pattern(input, sizeof input, 2);
    assert_int_equal(vcon_script_input(r->backend, input, sizeof input), 0);
    vcon_uart_backend_ready(r->uart);
    assert_true(vcon_guest_uart_service(&r->guest) >= 0);
    vcon_guest_uart_advance(&r->guest, SETTLE_NS);

    uint8_t got[sizeof input + 16];
    const size_t n = vcon_guest_uart_read(&r->guest, got, sizeof got);
    assert_bytes_equal(got, n, input, sizeof input);
    assert_int_equal(r->guest.counters.overrun, 0);
    assert_int_equal(r->guest.counters.rx_dropped, 0);
    struct vcon_uart_stats st;
    vcon_uart_get_stats(r->uart, &st);
    assert_int_equal(st.input_dropped, 0);
}

/* The backend takes nothing at first: the first THRE interrupt loads one
 * FIFO's worth (16 bytes, which fit the transmit FIFO exactly) and no more
 * interrupt comes while it is full. Once the backend takes bytes again, the
 * THRE interrupt resumes the transfer and nothing is lost. */
static void transmit_resumes_without_loss_after_the_backend_would_block(void **state)
{
    struct rig *r = *state;
    boot_guest(r);
    uint8_t msg[1000];
    fill_pattern(msg, sizeof msg, 3);
    vcon_script_set_write_budget(r->backend, 0);
    assert_int_equal(vcon_guest_uart_write(&r->guest, msg, sizeof msg), (int)sizeof msg);
    assert_true(vcon_guest_uart_service(&r->guest) >= 0);
    size_t len = 0;
    (void)vcon_script_output(r->backend, &len);
    assert_int_equal(len, 0);
    assert_int_equal(r->guest.counters.tx, 16);
    struct vcon_uart_state s;
    vcon_uart_get_state(r->uart, &s);
    assert_int_equal(s.tx_count, 16);

    vcon_script_set_write_budget(r->backend, SIZE_MAX);
    for (unsigned round = 0; round < MAX_ROUNDS && vcon_guest_uart_tx_pending(&r->guest) > 0;
         round++) {
        vcon_uart_backend_ready(r->uart);
        assert_true(vcon_guest_uart_service(&r->guest) >= 0);
    }
    vcon_uart_backend_ready(r->uart);
    assert_backend_output(r, msg, sizeof msg);
    struct vcon_uart_stats st;
    vcon_uart_get_stats(r->uart, &st);
    assert_int_equal(st.tx_dropped, 0);
}

/* A backend that takes 100 bytes and then blocks, part way through a FIFO
 * load: the rest of that load waits in the transmit FIFO. */
static void transmit_survives_a_backend_that_blocks_mid_load(void **state)
{
    struct rig *r = *state;
    boot_guest(r);
    uint8_t msg[1000];
    fill_pattern(msg, sizeof msg, 4);
    vcon_script_set_write_budget(r->backend, 100);
    assert_int_equal(vcon_guest_uart_write(&r->guest, msg, sizeof msg), (int)sizeof msg);
    assert_true(vcon_guest_uart_service(&r->guest) >= 0);
    size_t len = 0;
    (void)vcon_script_output(r->backend, &len);
    assert_int_equal(len, 100);

    vcon_script_set_write_budget(r->backend, SIZE_MAX);
    for (unsigned round = 0; round < MAX_ROUNDS && vcon_guest_uart_tx_pending(&r->guest) > 0;
         round++) {
        vcon_uart_backend_ready(r->uart);
        assert_true(vcon_guest_uart_service(&r->guest) >= 0);
    }
    vcon_uart_backend_ready(r->uart);
    assert_backend_output(r, msg, sizeof msg);
}

/* ---- receive details ------------------------------------------------------ */

static void line_errors_are_counted_and_the_characters_still_delivered(void **state)
{
    struct rig *r = *state;
    boot_guest(r);
    (void)vcon_uart_receive_with_error(r->uart, 0x00, VCON_UART_LSR_BI | VCON_UART_LSR_FE);
    (void)vcon_uart_receive_with_error(r->uart, 'p', VCON_UART_LSR_PE);
    (void)vcon_uart_receive_with_error(r->uart, 'f', VCON_UART_LSR_FE);
    assert_true(vcon_guest_uart_service(&r->guest) >= 1);
    vcon_guest_uart_advance(&r->guest, SETTLE_NS);

    uint8_t got[8];
    const size_t n = vcon_guest_uart_read(&r->guest, got, sizeof got);
    assert_bytes_equal(got, n, (const uint8_t *)"\0pf", 3);
    assert_int_equal(r->guest.counters.brk, 1);
    assert_int_equal(r->guest.counters.parity, 1);
    assert_int_equal(r->guest.counters.frame, 1);
    assert_int_equal(r->guest.counters.overrun, 0);
}

/* 16550a profile: three bytes stay under the trigger level (8), so they
 * arrive only with the character-timeout interrupt. */
static void short_input_below_the_trigger_level_arrives_after_the_character_timeout(void **state)
{
    struct rig *r = *state;
    boot_guest(r);
    assert_int_equal(vcon_script_input(r->backend, "abc", 3), 0);
    vcon_uart_backend_ready(r->uart);
    assert_int_equal(vcon_guest_uart_service(&r->guest), 0);
    assert_int_equal(vcon_guest_uart_rx_available(&r->guest), 0);

    vcon_guest_uart_advance(&r->guest, SETTLE_NS);
    uint8_t got[8];
    const size_t n = vcon_guest_uart_read(&r->guest, got, sizeof got);
    assert_bytes_equal(got, n, (const uint8_t *)"abc", 3);
}

/* acrn-dm profile: the receive interrupt comes with the first byte. */
static void short_input_arrives_at_once_with_the_acrn_dm_profile(void **state)
{
    struct rig *r = *state;
    boot_guest(r);
    assert_int_equal(vcon_script_input(r->backend, "abc", 3), 0);
    vcon_uart_backend_ready(r->uart);
    assert_true(vcon_guest_uart_service(&r->guest) >= 1);
    uint8_t got[8];
    const size_t n = vcon_guest_uart_read(&r->guest, got, sizeof got);
    assert_bytes_equal(got, n, (const uint8_t *)"abc", 3);
}

/* ---- API contract --------------------------------------------------------- */

static void set_baud_refuses_rates_the_clock_cannot_make(void **state)
{
    struct rig *r = *state;
    boot_guest(r);
    assert_int_equal(vcon_guest_uart_set_baud(&r->guest, 0), -EINVAL);
    assert_int_equal(vcon_guest_uart_set_baud(&r->guest, 230400), -EINVAL);
    assert_int_equal(vcon_guest_uart_set_baud(&r->guest, 1), -EINVAL);
    assert_int_equal(r->guest.divisor, 1);
    assert_int_equal(vcon_guest_uart_set_baud(&r->guest, 9600), 0);
    struct vcon_uart_state s;
    vcon_uart_get_state(r->uart, &s);
    assert_int_equal(s.divisor, 12);
    assert_int_equal(s.lcr, 0x03);
}

/* Below 2400 baud Linux drops the receive trigger to one byte, for good. */
static void set_baud_below_2400_uses_a_one_byte_trigger(void **state)
{
    struct rig *r = *state;
    boot_guest(r);
    assert_int_equal(vcon_guest_uart_set_baud(&r->guest, 1200), 0);
    struct vcon_uart_state s;
    vcon_uart_get_state(r->uart, &s);
    assert_int_equal(s.divisor, 96);
    assert_int_equal(s.fcr & VCON_UART_FCR_TRIGGER_MASK, 0x00);
    assert_int_equal(r->guest.fcr, 0x01);
}

/* ---- absent and hostile devices -------------------------------------------- */

static void absent_port_is_identified_as_none_without_hanging(void **state)
{
    struct rig *r = *state;
    const uint64_t before = vcon_vm_unmapped_accesses(r->vm);
    assert_int_equal(vcon_guest_uart_probe(&r->guest, r->vm, COM2, IRQ3), -ENODEV);
    assert_int_equal(r->guest.type, VCON_GUEST_UART_NONE);
    assert_string_equal(vcon_guest_uart_type_name(r->guest.type), "unknown");
    assert_false(r->guest.started);
    /* The IER test reads all ones and stops the probe at once. */
    const uint64_t accesses = vcon_vm_unmapped_accesses(r->vm) - before;
    assert_true(accesses > 0);
    assert_true(accesses <= 8);
    assert_int_equal(vcon_guest_uart_write(&r->guest, "x", 1), -ENODEV);
    assert_int_equal(vcon_guest_uart_service(&r->guest), -ENODEV);
    assert_int_equal(vcon_guest_uart_poll(&r->guest), -ENODEV);
    assert_int_equal(vcon_guest_uart_set_baud(&r->guest, 9600), -ENODEV);
}

/* A device whose registers are fixed values, one per offset. */
static int const_read(void *device, uint64_t offset, unsigned size, uint32_t *value)
{
    const uint8_t *regs = device;
    (void)size;
    *value = offset < 8 ? regs[offset] : 0xFF;
    return 0;
}

static int const_write(void *device, uint64_t offset, unsigned size, uint32_t value)
{
    (void)device, (void)offset, (void)size, (void)value;
    return 0;
}

static const struct vcon_bus_ops const_ops = {.read = const_read, .write = const_write};

/* Open the real UART, then swap in a device with fixed registers. */
static void boot_then_swap_in(struct rig *r, const uint8_t regs[8])
{
    boot_guest(r);
    assert_int_equal(vcon_vm_unmap(r->vm, VCON_SPACE_PIO, COM1), 0);
    assert_int_equal(vcon_vm_map(r->vm, VCON_SPACE_PIO, COM1, 8, &const_ops, (void *)regs), 0);
}

static void handler_gives_up_on_a_device_that_never_stops_interrupting(void **state)
{
    static const uint8_t regs[8] = {0}; /* IIR 0x00: modem status pending, forever */
    struct rig *r = *state;
    boot_then_swap_in(r, regs);
    assert_int_equal(vcon_guest_uart_poll(&r->guest), 1);
    assert_int_equal(r->guest.counters.stuck, 1);
    assert_int_equal(r->guest.counters.passes, VCON_GUEST_UART_PASS_LIMIT);
}

static void receive_loop_is_bounded_on_a_device_that_always_has_data(void **state)
{
    /* IIR: received data; LSR: DR, THRE, TEMT; RBR: 'x'. */
    static const uint8_t regs[8] = {'x', 0x05, 0xC4, 0x03, 0x0B, 0x61, 0xB0, 0x00};
    struct rig *r = *state;
    boot_then_swap_in(r, regs);
    assert_int_equal(vcon_guest_uart_poll(&r->guest), 1);
    const uint64_t chars = (uint64_t)VCON_GUEST_UART_PASS_LIMIT * VCON_GUEST_UART_RX_BURST;
    assert_int_equal(r->guest.counters.stuck, 1);
    assert_int_equal(r->guest.counters.rx, chars);
    assert_int_equal(vcon_guest_uart_rx_available(&r->guest), VCON_GUEST_UART_RX_BUFFER);
    assert_int_equal(r->guest.counters.rx_dropped, chars - VCON_GUEST_UART_RX_BUFFER);
}

/* The UART's line is left high, then the UART is replaced by a device
 * whose IIR says nothing is pending: service stops at its round limit. */
static void service_is_bounded_when_the_line_stays_high(void **state)
{
    static const uint8_t regs[8] = {0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF};
    struct rig *r = *state;
    boot_guest(r);
    vcon_guest_uart_set_irq_trigger(&r->guest, VCON_GUEST_IRQ_LEVEL);
    /* THRI on with an empty transmitter: the line goes high. */
    assert_int_equal(vcon_guest_uart_write(&r->guest, "x", 1), 1);
    assert_int_equal(vcon_vm_irq_level(r->vm, IRQ4), 1);
    assert_int_equal(vcon_vm_unmap(r->vm, VCON_SPACE_PIO, COM1), 0);
    assert_int_equal(vcon_vm_map(r->vm, VCON_SPACE_PIO, COM1, 8, &const_ops, (void *)regs), 0);

    assert_int_equal(vcon_guest_uart_service(&r->guest), VCON_GUEST_UART_SERVICE_ROUNDS);
    assert_int_equal(r->guest.counters.service_limit, 1);
    assert_int_equal(r->guest.counters.unhandled, VCON_GUEST_UART_SERVICE_ROUNDS);
}

/* ---- other members of the 8250 family, as small fake chips ------------------ */

enum fake_kind { FAKE_8250, FAKE_16450, FAKE_16550, FAKE_16550A, FAKE_U6, FAKE_16750,
                 FAKE_XSCALE, FAKE_NO_LOOPBACK, FAKE_LAZY_THRE };

/* Just enough of a chip for the probe and open: IER with a bit mask, LCR,
 * MCR with loopback onto MSR, SCR, the divisor latch, a THRE interrupt, a
 * loopback receive FIFO of some depth, and the FIFO bits of IIR. */
struct fake_chip {
    enum fake_kind kind;
    uint8_t ier, lcr, mcr, scr, dll, dlm;
    bool fifo_on, fifo64, thre_pending;
    unsigned rx_count;
};

static uint8_t fake_ier_mask(const struct fake_chip *c)
{
    return c->kind == FAKE_XSCALE ? 0x5F : 0x0F;
}

static unsigned fake_rx_depth(const struct fake_chip *c)
{
    return c->kind == FAKE_U6 ? 64 : c->kind == FAKE_16550A ? 16 : 0;
}

static uint8_t fake_fifo_bits(const struct fake_chip *c)
{
    if (!c->fifo_on)
        return 0;
    switch (c->kind) {
    case FAKE_16550:
        return 0x80;
    case FAKE_8250:
    case FAKE_16450:
        return 0x00;
    default:
        return 0xC0;
    }
}

/* The transmitter is empty again: THRE pending. A lazy chip signals it
 * only when the transmitter actually empties (a THR write or a transmit
 * FIFO reset), never again for THRI going from 0 to 1. */
static void fake_thre_ready(struct fake_chip *c, bool from_ier)
{
    if (c->kind == FAKE_LAZY_THRE && from_ier)
        return;
    c->thre_pending = true;
}

static int fake_read(void *device, uint64_t offset, unsigned size, uint32_t *value)
{
    struct fake_chip *c = device;
    const bool dlab = c->lcr & 0x80;
    const bool loop = c->mcr & 0x10;
    (void)size;
    switch (offset) {
    case 0:
        if (dlab) {
            *value = c->dll;
        } else {
            *value = 0;
            if (c->rx_count > 0)
                c->rx_count--;
        }
        break;
    case 1:
        *value = dlab ? c->dlm : (uint8_t)(c->ier & fake_ier_mask(c));
        break;
    case 2: {
        const uint8_t bits = (uint8_t)(fake_fifo_bits(c) | (c->fifo64 ? 0x20 : 0));
        if ((c->ier & 0x02) && c->thre_pending) {
            c->thre_pending = false;
            *value = bits | 0x02;
        } else {
            *value = bits | 0x01;
        }
        break;
    }
    case 3:
        *value = c->lcr;
        break;
    case 4:
        *value = c->mcr;
        break;
    case 5:
        *value = 0x60u | (c->rx_count > 0 ? 0x01u : 0u);
        break;
    case 6:
        if (c->kind == FAKE_NO_LOOPBACK)
            *value = 0x00;
        else if (loop)
            *value = (uint32_t)(((c->mcr & 0x02) << 3) | ((c->mcr & 0x01) << 5) |
                                ((c->mcr & 0x0C) << 4));
        else
            *value = 0xB0;
        break;
    case 7:
        *value = (c->kind == FAKE_8250) ? 0xFF : c->scr;
        break;
    default:
        *value = 0xFF;
        break;
    }
    return 0;
}

static int fake_write(void *device, uint64_t offset, unsigned size, uint32_t value)
{
    struct fake_chip *c = device;
    const bool dlab = c->lcr & 0x80;
    const uint8_t v = (uint8_t)value;
    (void)size;
    switch (offset) {
    case 0:
        if (dlab) {
            c->dll = v;
        } else if ((c->mcr & 0x10) && c->rx_count < fake_rx_depth(c)) {
            c->rx_count++;
        } else if (c->ier & 0x02) {
            fake_thre_ready(c, false); /* sent at once */
        }
        break;
    case 1:
        if (dlab) {
            c->dlm = v;
        } else {
            if (!(c->ier & 0x02) && (v & 0x02))
                fake_thre_ready(c, true);
            c->ier = v;
        }
        break;
    case 2:
        if (c->kind == FAKE_8250 || c->kind == FAKE_16450)
            break;
        c->fifo_on = v & 0x01;
        if (!c->fifo_on || (v & 0x02))
            c->rx_count = 0;
        if (c->fifo_on && (v & 0x04))
            fake_thre_ready(c, false);
        if (c->kind == FAKE_16750)
            c->fifo64 = c->fifo_on && (v & 0x20) && dlab;
        break;
    case 3:
        c->lcr = v;
        break;
    case 4:
        c->mcr = v & 0x1F;
        break;
    case 7:
        c->scr = v;
        break;
    default:
        break;
    }
    return 0;
}

static const struct vcon_bus_ops fake_ops = {.read = fake_read, .write = fake_write};

struct fake_rig {
    struct vcon_vm *vm;
    struct fake_chip chip;
    struct vcon_guest_uart guest;
};

/* Probe a fake chip of `kind` at COM2; returns the probe's result. */
static int probe_fake(struct fake_rig *f, enum fake_kind kind)
{
    memset(f, 0, sizeof *f);
    f->chip.kind = kind;
    assert_int_equal(vcon_vm_create(RAM_SIZE, &f->vm), 0);
    assert_int_equal(vcon_vm_map(f->vm, VCON_SPACE_PIO, COM2, 8, &fake_ops, &f->chip), 0);
    return vcon_guest_uart_probe(&f->guest, f->vm, COM2, IRQ3);
}

static void expect_fake_identified(enum fake_kind kind, enum vcon_guest_uart_type type,
                                   const char *name, unsigned fifo_size)
{
    struct fake_rig *f = test_malloc(sizeof *f);
    assert_int_equal(probe_fake(f, kind), 0);
    if (f->guest.type != type)
        print_error("identified as %s, expected %s\n", vcon_guest_uart_type_name(f->guest.type),
                    name);
    assert_int_equal(f->guest.type, type);
    assert_string_equal(vcon_guest_uart_type_name(type), name);
    assert_int_equal(f->guest.fifo_size, fifo_size);
    assert_false(f->guest.bug_thre);
    assert_false(f->guest.bug_txen);
    vcon_vm_destroy(f->vm);
    test_free(f);
}

static void identifies_an_8250_by_its_missing_fifo_and_scratch_register(void **state)
{
    (void)state;
    expect_fake_identified(FAKE_8250, VCON_GUEST_UART_8250, "8250", 1);
}

static void identifies_a_16450_by_its_scratch_register(void **state)
{
    (void)state;
    expect_fake_identified(FAKE_16450, VCON_GUEST_UART_16450, "16450", 1);
}

static void identifies_a_16550_by_its_unusable_fifo(void **state)
{
    (void)state;
    expect_fake_identified(FAKE_16550, VCON_GUEST_UART_16550, "16550", 1);
}

static void identifies_a_16550a_by_its_fifo_bits_and_16_deep_loopback(void **state)
{
    (void)state;
    expect_fake_identified(FAKE_16550A, VCON_GUEST_UART_16550A, "16550A", 16);
}

static void identifies_a_u6_16550a_by_its_64_deep_loopback(void **state)
{
    (void)state;
    expect_fake_identified(FAKE_U6, VCON_GUEST_UART_U6_16550A, "U6_16550A", 64);
}

static void identifies_a_ti16750_by_its_64_byte_mode_with_dlab(void **state)
{
    (void)state;
    expect_fake_identified(FAKE_16750, VCON_GUEST_UART_16750, "TI16750", 64);
}

static void identifies_an_xscale_by_its_sticky_uue_bit(void **state)
{
    (void)state;
    expect_fake_identified(FAKE_XSCALE, VCON_GUEST_UART_XSCALE, "XScale", 32);
}

static void a_chip_failing_the_loopback_test_is_not_a_uart(void **state)
{
    (void)state;
    struct fake_rig *f = test_malloc(sizeof *f);
    assert_int_equal(probe_fake(f, FAKE_NO_LOOPBACK), -ENODEV);
    assert_int_equal(f->guest.type, VCON_GUEST_UART_NONE);
    vcon_vm_destroy(f->vm);
    test_free(f);
}

static void a_chip_that_does_not_reassert_thre_gets_the_thre_and_txen_workarounds(void **state)
{
    (void)state;
    struct fake_rig *f = test_malloc(sizeof *f);
    assert_int_equal(probe_fake(f, FAKE_LAZY_THRE), 0);
    assert_int_equal(f->guest.type, VCON_GUEST_UART_16550A);
    assert_true(f->guest.bug_thre);
    assert_true(f->guest.bug_txen);
    /* With TXEN broken, a write feeds the transmitter without waiting for
     * an interrupt. */
    assert_int_equal(vcon_guest_uart_write(&f->guest, "0123456789abcdefXYZ", 19), 19);
    assert_int_equal(f->guest.counters.tx, 16);
    vcon_vm_destroy(f->vm);
    test_free(f);
}

/* ---- test table ------------------------------------------------------------ */

#define RIG_TEST(name, fn, config) {name, fn, setup_rig, teardown_rig, (void *)(config)}
#define PER_CONFIG(fn)                                             \
    RIG_TEST(#fn "/16550a/dm/level", fn, &configs[0]),             \
        RIG_TEST(#fn "/16550a/dm/edge", fn, &configs[1]),          \
        RIG_TEST(#fn "/16550a/hv/level", fn, &configs[2]),         \
        RIG_TEST(#fn "/16550a/hv/edge", fn, &configs[3]),          \
        RIG_TEST(#fn "/acrn-dm/dm/level", fn, &configs[4]),        \
        RIG_TEST(#fn "/acrn-dm/dm/edge", fn, &configs[5]),         \
        RIG_TEST(#fn "/acrn-dm/hv/level", fn, &configs[6]),        \
        RIG_TEST(#fn "/acrn-dm/hv/edge", fn, &configs[7])

int main(void)
{
    const struct CMUnitTest tests[] = {
        PER_CONFIG(identifies_a_16550a_with_a_16_byte_fifo_and_no_bugs),
        PER_CONFIG(open_leaves_the_registers_as_linux_does),
        PER_CONFIG(interrupt_driven_transmit_of_1000_bytes_arrives_in_order),
        PER_CONFIG(interrupt_driven_receive_of_1000_bytes_arrives_intact),
        PER_CONFIG(transmit_resumes_without_loss_after_the_backend_would_block),
        PER_CONFIG(transmit_survives_a_backend_that_blocks_mid_load),
        RIG_TEST("line_errors_are_counted_and_the_characters_still_delivered",
                 line_errors_are_counted_and_the_characters_still_delivered,
                 CONFIG_16550A_DM_LEVEL),
        RIG_TEST("short_input_below_the_trigger_level_arrives_after_the_character_timeout",
                 short_input_below_the_trigger_level_arrives_after_the_character_timeout,
                 CONFIG_16550A_DM_LEVEL),
        RIG_TEST("short_input_arrives_at_once_with_the_acrn_dm_profile",
                 short_input_arrives_at_once_with_the_acrn_dm_profile, CONFIG_ACRN_DM_LEVEL),
        RIG_TEST("set_baud_refuses_rates_the_clock_cannot_make",
                 set_baud_refuses_rates_the_clock_cannot_make, CONFIG_16550A_DM_LEVEL),
        RIG_TEST("set_baud_below_2400_uses_a_one_byte_trigger",
                 set_baud_below_2400_uses_a_one_byte_trigger, CONFIG_16550A_DM_LEVEL),
        RIG_TEST("absent_port_is_identified_as_none_without_hanging",
                 absent_port_is_identified_as_none_without_hanging, CONFIG_16550A_DM_LEVEL),
        RIG_TEST("handler_gives_up_on_a_device_that_never_stops_interrupting",
                 handler_gives_up_on_a_device_that_never_stops_interrupting,
                 CONFIG_16550A_DM_LEVEL),
        RIG_TEST("receive_loop_is_bounded_on_a_device_that_always_has_data",
                 receive_loop_is_bounded_on_a_device_that_always_has_data,
                 CONFIG_16550A_DM_LEVEL),
        RIG_TEST("service_is_bounded_when_the_line_stays_high",
                 service_is_bounded_when_the_line_stays_high, CONFIG_16550A_DM_LEVEL),
        cmocka_unit_test(identifies_an_8250_by_its_missing_fifo_and_scratch_register),
        cmocka_unit_test(identifies_a_16450_by_its_scratch_register),
        cmocka_unit_test(identifies_a_16550_by_its_unusable_fifo),
        cmocka_unit_test(identifies_a_16550a_by_its_fifo_bits_and_16_deep_loopback),
        cmocka_unit_test(identifies_a_u6_16550a_by_its_64_deep_loopback),
        cmocka_unit_test(identifies_a_ti16750_by_its_64_byte_mode_with_dlab),
        cmocka_unit_test(identifies_an_xscale_by_its_sticky_uue_bit),
        cmocka_unit_test(a_chip_failing_the_loopback_test_is_not_a_uart),
        cmocka_unit_test(a_chip_that_does_not_reassert_thre_gets_the_thre_and_txen_workarounds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
