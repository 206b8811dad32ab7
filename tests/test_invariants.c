/* The devices' state invariants (harness/invariants.h): a state that keeps
 * them passes, and each mutation that breaks one is reported under that
 * invariant's name. Devices driven through real accesses pass throughout. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "harness/invariants.h"
#include "harness/rig.h"
#include "harness/vm.h"

static const struct vcon_uart_config level_16550a = {
    .flavour = VCON_UART_FLAVOUR_DM, .profile = VCON_UART_PROFILE_16550A,
    .irq_mode = VCON_UART_IRQ_LEVEL};

/* A 16550A after reset: nothing pending, transmitter empty, FIFOs off. */
static struct vcon_uart_state idle_state(void)
{
    struct vcon_uart_state st;
    memset(&st, 0, sizeof(st));
    st.lsr = VCON_UART_LSR_THRE | VCON_UART_LSR_TEMT;
    st.rx_capacity = 1;
    st.tx_capacity = 1;
    st.iir = VCON_UART_IIR_NO_INT;
    st.divisor = 12;
    return st;
}

static void expect_broken(const struct vcon_uart_config *config, const struct vcon_uart_state *st,
                          int line, const char *name)
{
    struct vcon_invariant_failure why = {0};
    if (vcon_check_uart_state(config, st, line, &why))
        fail_msg("expected \"%s\" to break, but every invariant held", name);
    if (strcmp(why.name, name) != 0)
        fail_msg("expected \"%s\", got \"%s\" (%s)", name, why.name, why.detail);
    assert_true(why.detail[0] != '\0');
}

static void an_idle_uart_keeps_every_invariant(void **state)
{
    (void)state;
    struct vcon_invariant_failure why = {0};
    const struct vcon_uart_state st = idle_state();
    assert_true(vcon_check_uart_state(&level_16550a, &st, 0, &why));
}

static void a_line_that_disagrees_with_the_device_is_reported(void **state)
{
    (void)state;
    struct vcon_uart_state st = idle_state();
    expect_broken(&level_16550a, &st, 1, "uart irq: line matches the device's level");
    struct vcon_uart_config edge = level_16550a;
    edge.irq_mode = VCON_UART_IRQ_EDGE;
    expect_broken(&edge, &st, 1, "uart irq: edge mode leaves the line low between events");
    st.irq_level = true;
    expect_broken(&level_16550a, &st, 1,
                  "uart irq: level mode line high exactly while IIR reports a source");
}

static void fifo_counts_and_capacities_are_checked(void **state)
{
    (void)state;
    struct vcon_uart_state st = idle_state();
    st.rx_count = 2;
    st.lsr |= VCON_UART_LSR_DR;
    expect_broken(&level_16550a, &st, 0, "uart fifo: rx count within capacity");
    st = idle_state();
    st.fifo_enabled = true;
    st.fcr = VCON_UART_FCR_ENABLE;
    st.iir |= VCON_UART_IIR_FIFO_BITS;
    st.rx_capacity = st.tx_capacity = 16;
    struct vcon_invariant_failure why = {0};
    assert_true(vcon_check_uart_state(&level_16550a, &st, 0, &why));
    st.rx_capacity = 256; /* an acrn-dm depth in a 16550A */
    expect_broken(&level_16550a, &st, 0, "uart fifo: rx capacity is the depth with FIFOs on, 1 without");
    st = idle_state();
    st.input_count = 3;
    expect_broken(&level_16550a, &st, 0, "uart fifo: no input buffer in the DM flavour");
}

static void register_bits_and_lsr_are_checked(void **state)
{
    (void)state;
    struct vcon_uart_state st = idle_state();
    st.ier = 0x80;
    expect_broken(&level_16550a, &st, 0, "uart regs: IER keeps bits 0-3 only");
    st = idle_state();
    st.mcr = 0x20;
    expect_broken(&level_16550a, &st, 0, "uart regs: MCR keeps bits 0-4 only");
    st = idle_state();
    st.fcr = VCON_UART_FCR_TRIGGER_MASK;
    expect_broken(&level_16550a, &st, 0, "uart regs: FCR bits programmed only with bit 0");
    st = idle_state();
    st.lsr |= VCON_UART_LSR_DR;
    expect_broken(&level_16550a, &st, 0, "uart lsr: DR exactly while the receiver holds data");
    st = idle_state();
    st.tx_count = 1;
    expect_broken(&level_16550a, &st, 0, "uart lsr: THRE exactly while the transmitter is empty");
    st = idle_state();
    st.lsr |= VCON_UART_LSR_OE;
    expect_broken(&level_16550a, &st, 0, "uart lsr: error bits exactly while a line status is pending");
}

static void iir_sources_and_priorities_are_checked(void **state)
{
    (void)state;
    struct vcon_uart_state st = idle_state();
    st.iir = VCON_UART_IIR_FIFO_BITS | VCON_UART_IIR_NO_INT;
    expect_broken(&level_16550a, &st, 0, "uart iir: bits 7:6 set exactly with FIFOs on");
    st = idle_state();
    st.iir = VCON_UART_IIR_THRE;
    st.irq_level = true;
    expect_broken(&level_16550a, &st, 1, "uart iir: THRE only when enabled and pending");
    st = idle_state();
    st.ier = VCON_UART_IER_ETBEI;
    st.thre_pending = true;
    expect_broken(&level_16550a, &st, 0, "uart iir: an enabled THRE is reported");
    st = idle_state();
    st.ier = VCON_UART_IER_ELSI | VCON_UART_IER_ERBFI;
    st.line_status_pending = true;
    st.lsr |= VCON_UART_LSR_OE | VCON_UART_LSR_DR;
    st.rx_count = 1;
    st.iir = VCON_UART_IIR_RDA;
    st.irq_level = true;
    expect_broken(&level_16550a, &st, 1, "uart iir: line status has the highest priority");
    struct vcon_uart_config acrn = level_16550a;
    acrn.profile = VCON_UART_PROFILE_ACRN_DM;
    st = idle_state();
    st.ier = VCON_UART_IER_ERBFI;
    st.rx_count = 1;
    st.lsr |= VCON_UART_LSR_DR;
    expect_broken(&acrn, &st, 0, "uart iir: acrn-dm reports every received byte");
}

/* Real devices, driven by a rig, keep every invariant along the way. */
static void devices_driven_through_a_rig_keep_every_invariant(void **state)
{
    (void)state;
    struct vcon_rig *rig = NULL;
    char err[200];
    struct vcon_invariant_failure why = {0};
    assert_int_equal(vcon_rig_create("-s 1:0,lpc -l com1,stdio -s 3,virtio-console,@stdio:p0,pty:p1",
                                     1u << 20, NULL, &rig, err, sizeof(err)),
                     0);
    struct vcon_vm *vm = vcon_rig_vm(rig);
    struct vcon_rig_device_info uart_info;
    assert_int_equal(vcon_rig_device_info(rig, 0, &uart_info), 0);
    assert_true(vcon_check_rig(rig, &why));
    /* FIFOs on, every interrupt, bytes both ways. */
    vcon_vm_write(vm, VCON_SPACE_PIO, uart_info.io_base + VCON_UART_IIR_FCR, 1, 0xC7);
    vcon_vm_write(vm, VCON_SPACE_PIO, uart_info.io_base + VCON_UART_IER, 1, 0x0F);
    vcon_vm_write(vm, VCON_SPACE_PIO, uart_info.io_base + VCON_UART_MCR, 1, 0x0B);
    assert_true(vcon_check_rig(rig, &why));
    assert_int_equal(vcon_rig_feed(rig, 0, 0, "hello", 5), 0);
    assert_true(vcon_check_rig(rig, &why));
    for (unsigned i = 0; i < 8; i++) {
        vcon_vm_write(vm, VCON_SPACE_PIO, uart_info.io_base, 1, 'a' + i);
        (void)vcon_vm_read(vm, VCON_SPACE_PIO, uart_info.io_base, 1);
        (void)vcon_vm_read(vm, VCON_SPACE_PIO, uart_info.io_base + VCON_UART_IIR_FCR, 1);
        if (!vcon_check_rig(rig, &why))
            fail_msg("%s (%s)", why.name, why.detail);
    }
    vcon_rig_destroy(rig);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(an_idle_uart_keeps_every_invariant),
        cmocka_unit_test(a_line_that_disagrees_with_the_device_is_reported),
        cmocka_unit_test(fifo_counts_and_capacities_are_checked),
        cmocka_unit_test(register_bits_and_lsr_are_checked),
        cmocka_unit_test(iir_sources_and_priorities_are_checked),
        cmocka_unit_test(devices_driven_through_a_rig_keep_every_invariant),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
