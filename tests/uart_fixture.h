/* Shared fixture for the 16550A UART tests: a fake VM with 64 KiB of RAM, one
 * device binding with one scripted backend, a UART mapped at PIO 0x3F8..0x3FF
 * on IRQ line 4, and helpers to drive it. Header-only (tests/CMakeLists.txt
 * builds one executable per tests/test_*.c), so everything is static inline.
 *
 * Fixtures are created inside the tests and registered in a small table;
 * every test is registered with fx_teardown_live as its teardown, so a
 * failing assertion (which longjmps out of the test) still frees everything
 * and LeakSanitizer stays quiet. */
#ifndef VCON_TESTS_UART_FIXTURE_H
#define VCON_TESTS_UART_FIXTURE_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness/script_backend.h"
#include "harness/vm.h"
#include "vcon/uart.h"

#define FX_RAM_SIZE (64u * 1024u)
#define FX_BASE 0x3F8u
#define FX_IRQ 4u
#define FX_MAX_LIVE 8

/* Offsets, shorter than the enum names. */
#define RBR 0u
#define THR 0u
#define DLL 0u
#define IER 1u
#define DLM 1u
#define IIR 2u
#define FCR 2u
#define LCR 3u
#define MCR 4u
#define LSR 5u
#define MSR 6u
#define SCR 7u

/* LSR with an empty transmitter and nothing received. */
#define FX_LSR_IDLE (VCON_UART_LSR_THRE | VCON_UART_LSR_TEMT)

struct fx {
    struct vcon_vm *vm;
    struct vcon_host host;
    struct vcon_vm_binding *binding;
    struct vcon_script_backend *backend;
    struct vcon_uart *uart;
    struct vcon_uart_config config;
    char name[48];
};

static struct fx *fx_live[FX_MAX_LIVE];

static inline int fx_bus_read(void *device, uint64_t offset, unsigned size, uint32_t *value)
{
    return vcon_uart_read(device, (unsigned)offset, size, value);
}

static inline int fx_bus_write(void *device, uint64_t offset, unsigned size, uint32_t value)
{
    return vcon_uart_write(device, (unsigned)offset, size, value);
}

static inline const char *fx_flavour_name(enum vcon_uart_flavour flavour)
{
    return flavour == VCON_UART_FLAVOUR_HV ? "hv" : "dm";
}

static inline const char *fx_profile_name(enum vcon_uart_profile profile)
{
    return profile == VCON_UART_PROFILE_ACRN_DM ? "acrn-dm" : "16550a";
}

static inline struct vcon_uart_config fx_config(enum vcon_uart_flavour flavour,
                                                enum vcon_uart_profile profile,
                                                enum vcon_uart_irq_mode irq_mode)
{
    struct vcon_uart_config config;
    memset(&config, 0, sizeof config);
    config.flavour = flavour;
    config.profile = profile;
    config.irq_mode = irq_mode;
    config.irq_line = FX_IRQ;
    config.rx_fifo_size = 0;
    config.tx_fifo_size = 0;
    return config;
}

static inline void fx_destroy(struct fx *f)
{
    if (f == NULL)
        return;
    for (int i = 0; i < FX_MAX_LIVE; i++)
        if (fx_live[i] == f)
            fx_live[i] = NULL;
    if (f->uart != NULL)
        vcon_uart_destroy(f->uart);
    if (f->vm != NULL)
        vcon_vm_destroy(f->vm);
    free(f);
}

/* cmocka teardown: frees whatever fixtures a test (even a failed one) left. */
static inline int fx_teardown_live(void **state)
{
    (void)state;
    for (int i = 0; i < FX_MAX_LIVE; i++)
        if (fx_live[i] != NULL)
            fx_destroy(fx_live[i]);
    return 0;
}

static inline struct fx *fx_create(const struct vcon_uart_config *config)
{
    static const struct vcon_bus_ops ops = {fx_bus_read, fx_bus_write};
    struct fx *f = calloc(1, sizeof *f);
    assert_non_null(f);
    int slot = -1;
    for (int i = 0; i < FX_MAX_LIVE && slot < 0; i++)
        if (fx_live[i] == NULL)
            slot = i;
    if (slot < 0) {
        free(f);
        fail_msg("more than %d live fixtures", FX_MAX_LIVE);
    }
    fx_live[slot] = f;
    f->config = *config;
    snprintf(f->name, sizeof f->name, "%s/%s/%s", fx_flavour_name(config->flavour),
             fx_profile_name(config->profile),
             config->irq_mode == VCON_UART_IRQ_EDGE ? "edge" : "level");
    assert_int_equal(vcon_vm_create(FX_RAM_SIZE, &f->vm), 0);
    assert_int_equal(vcon_vm_bind_device(f->vm, 1, &f->host, &f->binding), 0);
    f->backend = vcon_vm_backend(f->binding, 0);
    assert_non_null(f->backend);
    assert_int_equal(vcon_uart_create(config, &f->host, &f->uart), 0);
    assert_non_null(f->uart);
    assert_int_equal(vcon_vm_map(f->vm, VCON_SPACE_PIO, FX_BASE, 8, &ops, f->uart), 0);
    return f;
}

static inline struct fx *fx_new(enum vcon_uart_flavour flavour, enum vcon_uart_profile profile,
                                enum vcon_uart_irq_mode irq_mode)
{
    const struct vcon_uart_config config = fx_config(flavour, profile, irq_mode);
    return fx_create(&config);
}

/* The four flavour x profile combinations, level mode. */
struct fx_combo {
    enum vcon_uart_flavour flavour;
    enum vcon_uart_profile profile;
};

static const struct fx_combo fx_combos[4] = {
    {VCON_UART_FLAVOUR_DM, VCON_UART_PROFILE_16550A},
    {VCON_UART_FLAVOUR_DM, VCON_UART_PROFILE_ACRN_DM},
    {VCON_UART_FLAVOUR_HV, VCON_UART_PROFILE_16550A},
    {VCON_UART_FLAVOUR_HV, VCON_UART_PROFILE_ACRN_DM},
};

typedef void fx_check_fn(struct fx *f);

/* Runs `check` on a fresh level-mode fixture of every combination, then the
 * same in edge mode when `also_edge` (for checks that do not look at the
 * line). The combination is printed first so a failure can be placed. */
static inline void fx_each_mode(fx_check_fn *check, bool also_edge)
{
    for (int mode = 0; mode < (also_edge ? 2 : 1); mode++) {
        for (size_t i = 0; i < sizeof fx_combos / sizeof fx_combos[0]; i++) {
            struct fx *f = fx_new(fx_combos[i].flavour, fx_combos[i].profile,
                                  mode ? VCON_UART_IRQ_EDGE : VCON_UART_IRQ_LEVEL);
            print_message("    [ %s ]\n", f->name);
            check(f);
            fx_destroy(f);
        }
    }
}

static inline void fx_each(fx_check_fn *check)
{
    fx_each_mode(check, false);
}

static inline bool fx_is_16550a(const struct fx *f)
{
    return f->config.profile == VCON_UART_PROFILE_16550A;
}

static inline bool fx_is_hv(const struct fx *f)
{
    return f->config.flavour == VCON_UART_FLAVOUR_HV;
}

/* MSR outside loopback at power-on (docs/uart.md, profile table). */
static inline uint8_t fx_profile_msr(enum vcon_uart_profile profile)
{
    return profile == VCON_UART_PROFILE_ACRN_DM ? 0xA0 : 0xB0;
}

/* Receive FIFO depth with FIFOs enabled and rx_fifo_size 0. */
static inline unsigned fx_profile_fifo(enum vcon_uart_profile profile)
{
    return profile == VCON_UART_PROFILE_ACRN_DM ? 256u : 16u;
}

/* Received-data IIR identification for this profile, before the FIFO bits. */
static inline uint8_t fx_rx_iir(const struct fx *f)
{
    return fx_is_16550a(f) ? VCON_UART_IIR_RDA : VCON_UART_IIR_TIMEOUT;
}

/* ---- register access ------------------------------------------------- */

static inline uint8_t fx_inb(struct fx *f, unsigned offset)
{
    return vcon_vm_inb(f->vm, (uint16_t)(FX_BASE + offset));
}

static inline void fx_outb(struct fx *f, unsigned offset, uint8_t value)
{
    vcon_vm_outb(f->vm, (uint16_t)(FX_BASE + offset), value);
}

/* Direct device calls (for offsets past the 8-byte mapping and odd sizes). */
static inline uint32_t fx_read(struct fx *f, unsigned offset, unsigned size)
{
    uint32_t value = 0xDEADBEEFu;
    assert_int_equal(vcon_uart_read(f->uart, offset, size, &value), 0);
    return value;
}

static inline void fx_write(struct fx *f, unsigned offset, unsigned size, uint32_t value)
{
    assert_int_equal(vcon_uart_write(f->uart, offset, size, value), 0);
}

static inline void fx_set_divisor(struct fx *f, uint16_t divisor)
{
    const uint8_t lcr = fx_inb(f, LCR);
    fx_outb(f, LCR, (uint8_t)(lcr | VCON_UART_LCR_DLAB));
    fx_outb(f, DLL, (uint8_t)(divisor & 0xFF));
    fx_outb(f, DLM, (uint8_t)(divisor >> 8));
    fx_outb(f, LCR, (uint8_t)(lcr & ~VCON_UART_LCR_DLAB));
}

static inline uint16_t fx_get_divisor(struct fx *f)
{
    const uint8_t lcr = fx_inb(f, LCR);
    fx_outb(f, LCR, (uint8_t)(lcr | VCON_UART_LCR_DLAB));
    const uint16_t divisor = (uint16_t)(fx_inb(f, DLL) | (fx_inb(f, DLM) << 8));
    fx_outb(f, LCR, lcr);
    return divisor;
}

/* Reads RBR `n` times and checks the bytes against `expected`. */
static inline void fx_expect_rx(struct fx *f, const void *expected, size_t n)
{
    const uint8_t *e = expected;
    for (size_t i = 0; i < n; i++) {
        const uint8_t got = fx_inb(f, RBR);
        if (got != e[i])
            print_error("received byte %zu of %zu differs\n", i, n);
        assert_int_equal(got, e[i]);
    }
}

/* ---- backend --------------------------------------------------------- */

static inline void fx_queue(struct fx *f, const void *bytes, size_t len)
{
    assert_int_equal(vcon_script_input(f->backend, bytes, len), 0);
}

static inline void fx_ready(struct fx *f)
{
    vcon_uart_backend_ready(f->uart);
}

/* The outside world sends `len` bytes and the host tells the device. */
static inline void fx_feed(struct fx *f, const void *bytes, size_t len)
{
    fx_queue(f, bytes, len);
    fx_ready(f);
}

static inline void fx_feed_str(struct fx *f, const char *s)
{
    fx_feed(f, s, strlen(s));
}

/* Feeds `len` bytes of the pattern (first + i) & 0xFF. */
static inline void fx_feed_pattern(struct fx *f, size_t len, unsigned first)
{
    uint8_t *buf = malloc(len ? len : 1);
    assert_non_null(buf);
    for (size_t i = 0; i < len; i++)
        buf[i] = (uint8_t)(first + i);
    const int rc = vcon_script_input(f->backend, buf, len);
    free(buf);
    assert_int_equal(rc, 0);
    fx_ready(f);
}

static inline size_t fx_pending(struct fx *f)
{
    return vcon_script_pending_input(f->backend);
}

static inline void fx_budget(struct fx *f, size_t bytes)
{
    vcon_script_set_write_budget(f->backend, bytes);
}

static inline size_t fx_output_len(struct fx *f)
{
    size_t len = 0;
    (void)vcon_script_output(f->backend, &len);
    return len;
}

static inline void fx_expect_output(struct fx *f, const void *expected, size_t n)
{
    size_t len = 0;
    const uint8_t *out = vcon_script_output(f->backend, &len);
    assert_int_equal(len, n);
    if (n > 0)
        assert_memory_equal(out, expected, n);
}

/* ---- interrupt line, time, state ------------------------------------- */

static inline int fx_irq(struct fx *f)
{
    return vcon_vm_irq_level(f->vm, FX_IRQ);
}

static inline uint64_t fx_raises(struct fx *f)
{
    return vcon_vm_irq_raises(f->vm, FX_IRQ);
}

static inline void fx_advance(struct fx *f, uint64_t ns)
{
    vcon_vm_advance(f->vm, ns);
}

static inline uint64_t fx_now(struct fx *f)
{
    return vcon_vm_now(f->vm);
}

static inline struct vcon_uart_state fx_state(struct fx *f)
{
    struct vcon_uart_state s;
    memset(&s, 0, sizeof s);
    vcon_uart_get_state(f->uart, &s);
    return s;
}

static inline struct vcon_uart_stats fx_stats(struct fx *f)
{
    struct vcon_uart_stats st;
    memset(&st, 0, sizeof st);
    vcon_uart_get_stats(f->uart, &st);
    return st;
}

/* Field by field: get_state may copy padding from anywhere. */
static inline void fx_assert_state_equal(const struct vcon_uart_state *a,
                                         const struct vcon_uart_state *b)
{
    assert_int_equal(a->ier, b->ier);
    assert_int_equal(a->lcr, b->lcr);
    assert_int_equal(a->mcr, b->mcr);
    assert_int_equal(a->lsr, b->lsr);
    assert_int_equal(a->msr, b->msr);
    assert_int_equal(a->scr, b->scr);
    assert_int_equal(a->fcr, b->fcr);
    assert_int_equal(a->divisor, b->divisor);
    assert_int_equal(a->rx_count, b->rx_count);
    assert_int_equal(a->rx_capacity, b->rx_capacity);
    assert_int_equal(a->tx_count, b->tx_count);
    assert_int_equal(a->tx_capacity, b->tx_capacity);
    assert_int_equal(a->input_count, b->input_count);
    assert_int_equal(a->fifo_enabled, b->fifo_enabled);
    assert_int_equal(a->thre_pending, b->thre_pending);
    assert_int_equal(a->timeout_pending, b->timeout_pending);
    assert_int_equal(a->line_status_pending, b->line_status_pending);
    assert_int_equal(a->irq_level, b->irq_level);
    assert_int_equal(a->iir, b->iir);
}

static inline void fx_assert_stats_equal(const struct vcon_uart_stats *a,
                                         const struct vcon_uart_stats *b)
{
    assert_int_equal(a->reads, b->reads);
    assert_int_equal(a->writes, b->writes);
    assert_int_equal(a->bad_accesses, b->bad_accesses);
    assert_int_equal(a->rx_bytes, b->rx_bytes);
    assert_int_equal(a->tx_bytes, b->tx_bytes);
    assert_int_equal(a->overruns, b->overruns);
    assert_int_equal(a->input_dropped, b->input_dropped);
    assert_int_equal(a->tx_dropped, b->tx_dropped);
    assert_int_equal(a->breaks, b->breaks);
    assert_int_equal(a->irq_raises, b->irq_raises);
}

/* ---- character time (docs/uart.md) ------------------------------------ */

/* Bits per character, doubled so that 1.5 stop bits stay an integer:
 * 1 start + 5..8 data + parity + 1 or 2 stop (1.5 for 5-bit words with STB). */
static inline unsigned fx_char_half_bits(uint8_t lcr)
{
    const unsigned data = 5u + (lcr & VCON_UART_LCR_WLS_MASK);
    const unsigned parity = (lcr & VCON_UART_LCR_PEN) ? 1u : 0u;
    unsigned stop_x2 = 2u;
    if (lcr & VCON_UART_LCR_STB)
        stop_x2 = (data == 5u) ? 3u : 4u;
    return 2u * (1u + data + parity) + stop_x2;
}

/* Four character times in ns, as numerator / 1 843 200:
 * 4 x bits x 16 x divisor x 1e9 / 1843200 = half_bits x 32e9 x divisor / 1843200. */
static inline uint64_t fx_timeout_num(uint8_t lcr, uint16_t divisor)
{
    return (uint64_t)fx_char_half_bits(lcr) * 32000000000ull * divisor;
}

static inline uint64_t fx_timeout_floor_ns(uint8_t lcr, uint16_t divisor)
{
    return fx_timeout_num(lcr, divisor) / 1843200u;
}

static inline uint64_t fx_timeout_ceil_ns(uint8_t lcr, uint16_t divisor)
{
    return (fx_timeout_num(lcr, divisor) + 1843199u) / 1843200u;
}

static inline bool fx_timeout_exact(uint8_t lcr, uint16_t divisor)
{
    return fx_timeout_num(lcr, divisor) % 1843200u == 0;
}

/* One character time in ns, rounded down. */
static inline uint64_t fx_char_time_ns(uint8_t lcr, uint16_t divisor)
{
    return fx_timeout_num(lcr, divisor) / 4u / 1843200u;
}

#define FX_TEST(fn) cmocka_unit_test_teardown(fn, fx_teardown_live)

#endif
