/* Every interrupt source, their priority, and the two interrupt output modes
 * (docs/uart.md, "IIR" and "Interrupt output"). Priority: line status 0x06 >
 * received data 0x04 / timeout 0x0C > THR empty 0x02 > modem status 0x00.
 * Unless a test says otherwise it runs on all four flavour x profile
 * combinations in level mode. */
#include "uart_fixture.h"

/* ---- received data ------------------------------------------------------- */

static void check_rx_interrupt_follows_ier(struct fx *f)
{
    const uint8_t id = fx_rx_iir(f);
    fx_feed(f, "a", 1);
    assert_int_equal(fx_irq(f), 0);
    assert_int_equal(fx_inb(f, IIR), 0x01);
    fx_outb(f, IER, VCON_UART_IER_ERBFI);
    assert_int_equal(fx_irq(f), 1);
    assert_true(fx_state(f).irq_level);
    assert_int_equal(fx_inb(f, IIR), id);
    /* Reading IIR does not clear received data. */
    assert_int_equal(fx_inb(f, IIR), id);
    fx_outb(f, IER, 0);
    assert_int_equal(fx_irq(f), 0);
    assert_false(fx_state(f).irq_level);
    assert_int_equal(fx_state(f).rx_count, 1);
    fx_outb(f, IER, VCON_UART_IER_ERBFI);
    assert_int_equal(fx_irq(f), 1);
    assert_int_equal(fx_inb(f, RBR), 'a');
    assert_int_equal(fx_irq(f), 0);
    assert_int_equal(fx_inb(f, IIR), 0x01);
}

static void received_data_interrupt_follows_erbfi_and_clears_when_rbr_is_empty(void **state)
{
    (void)state;
    fx_each(check_rx_interrupt_follows_ier);
}

static void character_timeout_interrupt_needs_erbfi_16550a(void **state)
{
    (void)state;
    struct fx *f = fx_new(VCON_UART_FLAVOUR_DM, VCON_UART_PROFILE_16550A, VCON_UART_IRQ_LEVEL);
    fx_outb(f, FCR, 0x81);
    fx_feed(f, "ab", 2);
    fx_advance(f, 10000000);
    assert_true(fx_state(f).timeout_pending);
    assert_int_equal(fx_inb(f, IIR), 0xC1);
    assert_int_equal(fx_irq(f), 0);
    fx_outb(f, IER, VCON_UART_IER_ERBFI);
    assert_int_equal(fx_inb(f, IIR), 0xCC);
    assert_int_equal(fx_irq(f), 1);
    (void)fx_inb(f, RBR);
    assert_int_equal(fx_irq(f), 0);
}

/* ---- THR empty ------------------------------------------------------------ */

static void check_etbei_rising(struct fx *f)
{
    assert_int_equal(fx_inb(f, IIR), 0x01);
    fx_outb(f, IER, VCON_UART_IER_ETBEI);
    assert_true(fx_state(f).thre_pending);
    assert_int_equal(fx_irq(f), 1);
    assert_int_equal(fx_inb(f, IIR), 0x02);
    /* That read reported THRE, so it cleared it. */
    assert_false(fx_state(f).thre_pending);
    assert_int_equal(fx_irq(f), 0);
    assert_int_equal(fx_inb(f, IIR), 0x01);
    /* ETBEI staying 1 is not a rising edge. */
    fx_outb(f, IER, VCON_UART_IER_ETBEI);
    assert_int_equal(fx_inb(f, IIR), 0x01);
    assert_int_equal(fx_irq(f), 0);
    fx_outb(f, IER, VCON_UART_IER_ETBEI | VCON_UART_IER_ERBFI);
    assert_int_equal(fx_inb(f, IIR), 0x01);
    /* 0 then 1 again is. */
    fx_outb(f, IER, 0);
    fx_outb(f, IER, VCON_UART_IER_ETBEI);
    assert_int_equal(fx_irq(f), 1);
    assert_int_equal(fx_inb(f, IIR), 0x02);
    assert_int_equal(fx_irq(f), 0);
}

static void etbei_rising_edge_makes_thre_pending_and_an_iir_read_clears_it(void **state)
{
    (void)state;
    fx_each(check_etbei_rising);
}

static void check_etbei_with_bytes_waiting(struct fx *f)
{
    fx_outb(f, FCR, VCON_UART_FCR_ENABLE);
    fx_budget(f, 0);
    fx_outb(f, THR, 'x');
    assert_int_equal(fx_state(f).tx_count, 1);
    fx_outb(f, IER, VCON_UART_IER_ETBEI);
    assert_false(fx_state(f).thre_pending);
    assert_int_equal(fx_inb(f, IIR), 0xC1);
    assert_int_equal(fx_irq(f), 0);
    /* The transmit FIFO empties: THRE pending. */
    fx_budget(f, SIZE_MAX);
    fx_ready(f);
    fx_expect_output(f, "x", 1);
    assert_true(fx_state(f).thre_pending);
    assert_int_equal(fx_irq(f), 1);
    assert_int_equal(fx_inb(f, IIR), 0xC2);
}

static void etbei_rising_edge_with_bytes_waiting_does_not_make_thre_pending(void **state)
{
    (void)state;
    fx_each(check_etbei_with_bytes_waiting);
}

static void check_thr_write_clears_thre(struct fx *f)
{
    fx_outb(f, IER, VCON_UART_IER_ETBEI);
    assert_int_equal(fx_irq(f), 1);
    fx_budget(f, 0);
    fx_outb(f, THR, 'x');
    assert_false(fx_state(f).thre_pending);
    assert_int_equal(fx_irq(f), 0);
    assert_int_equal(fx_inb(f, IIR), 0x01);
    assert_int_equal(fx_inb(f, LSR) & FX_LSR_IDLE, 0);
    fx_budget(f, SIZE_MAX);
    fx_ready(f);
    assert_true(fx_state(f).thre_pending);
    assert_int_equal(fx_irq(f), 1);
    assert_int_equal(fx_inb(f, IIR), 0x02);
    fx_expect_output(f, "x", 1);
}

static void thr_write_clears_thre_until_the_transmit_fifo_is_empty_again(void **state)
{
    (void)state;
    fx_each(check_thr_write_clears_thre);
}

static void check_thr_write_thre_again(struct fx *f)
{
    fx_outb(f, IER, VCON_UART_IER_ETBEI);
    assert_int_equal(fx_inb(f, IIR), 0x02);
    assert_int_equal(fx_inb(f, IIR), 0x01);
    /* The backend takes the byte at once: the FIFO is empty again. */
    fx_outb(f, THR, 'x');
    fx_expect_output(f, "x", 1);
    assert_true(fx_state(f).thre_pending);
    assert_int_equal(fx_irq(f), 1);
    assert_int_equal(fx_inb(f, IIR), 0x02);
    assert_int_equal(fx_irq(f), 0);
}

static void thr_write_taken_by_the_backend_makes_thre_pending_again(void **state)
{
    (void)state;
    fx_each(check_thr_write_thre_again);
}

static void check_loopback_thr_with_bytes_waiting(struct fx *f)
{
    fx_outb(f, FCR, VCON_UART_FCR_ENABLE);
    fx_budget(f, 0);
    fx_outb(f, THR, 'a'); /* held: the backend takes nothing */
    fx_outb(f, MCR, VCON_UART_MCR_LOOP);
    fx_outb(f, IER, VCON_UART_IER_ETBEI);
    assert_int_equal(fx_state(f).tx_count, 1);
    fx_outb(f, THR, 'b'); /* goes to the receiver */
    assert_int_equal(fx_state(f).rx_count, 1);
    /* The transmit FIFO still holds 'a': THRE is not pending. */
    assert_int_equal(fx_state(f).tx_count, 1);
    assert_int_equal(fx_inb(f, LSR) & VCON_UART_LSR_THRE, 0);
    assert_false(fx_state(f).thre_pending);
    assert_int_equal(fx_inb(f, IIR), 0xC1);
    assert_int_equal(fx_irq(f), 0);
}

static void thre_stays_clear_after_a_loopback_thr_write_while_the_transmit_fifo_holds_bytes(
    void **state)
{
    (void)state;
    fx_each(check_loopback_thr_with_bytes_waiting);
}

static void check_thre_survives_other_source(struct fx *f)
{
    fx_outb(f, IER, VCON_UART_IER_ETBEI | VCON_UART_IER_ERBFI);
    fx_feed(f, "a", 1);
    /* Data outranks THRE: the IIR read reports data and leaves THRE. */
    assert_int_equal(fx_inb(f, IIR), fx_rx_iir(f));
    assert_true(fx_state(f).thre_pending);
    assert_int_equal(fx_inb(f, RBR), 'a');
    assert_int_equal(fx_irq(f), 1);
    assert_int_equal(fx_inb(f, IIR), 0x02);
    assert_int_equal(fx_irq(f), 0);
}

static void iir_read_leaves_thre_pending_when_another_source_is_reported(void **state)
{
    (void)state;
    fx_each(check_thre_survives_other_source);
}

static void check_tx_reset_after_ack(struct fx *f)
{
    fx_outb(f, FCR, VCON_UART_FCR_ENABLE);
    fx_outb(f, IER, VCON_UART_IER_ETBEI);
    assert_int_equal(fx_inb(f, IIR), 0xC2);
    const uint64_t raises = fx_raises(f);
    fx_outb(f, FCR, VCON_UART_FCR_ENABLE | VCON_UART_FCR_CLEAR_TX);
    assert_false(fx_state(f).thre_pending);
    assert_int_equal(fx_inb(f, IIR), 0xC1);
    assert_int_equal(fx_irq(f), 0);
    assert_int_equal(fx_raises(f), raises);
}

static void transmit_fifo_reset_after_thre_was_acknowledged_raises_nothing(void **state)
{
    (void)state;
    fx_each(check_tx_reset_after_ack);
}

/* ---- line status ----------------------------------------------------------- */

static void expect_line_status_interrupt(struct fx *f, uint8_t lsr_bits)
{
    assert_true(fx_state(f).line_status_pending);
    assert_int_equal(fx_irq(f), 1);
    assert_int_equal(fx_inb(f, IIR) & 0x0F, VCON_UART_IIR_RLS);
    assert_int_equal(fx_inb(f, LSR) & lsr_bits, lsr_bits);
    assert_false(fx_state(f).line_status_pending);
    assert_int_equal(fx_irq(f), 0);
    assert_int_equal(fx_inb(f, IIR) & 0x0F, VCON_UART_IIR_NO_INT);
}

static void check_each_line_status_source(struct fx *f)
{
    static const uint8_t errors[] = {VCON_UART_LSR_PE, VCON_UART_LSR_FE,
                                     VCON_UART_LSR_BI | VCON_UART_LSR_FE};
    fx_outb(f, IER, VCON_UART_IER_ELSI);
    for (size_t i = 0; i < sizeof errors; i++) {
        assert_int_equal(vcon_uart_receive_with_error(f->uart, 0x00, errors[i]), 0);
        expect_line_status_interrupt(f, errors[i]);
        (void)fx_inb(f, RBR);
    }
    /* Overrun: a second character into the full holding register. */
    assert_int_equal(vcon_uart_receive_with_error(f->uart, 'a', VCON_UART_LSR_PE), 0);
    assert_int_equal(fx_inb(f, LSR) & VCON_UART_LSR_PE, VCON_UART_LSR_PE);
    assert_int_equal(vcon_uart_receive_with_error(f->uart, 'b', VCON_UART_LSR_PE), -ENOSPC);
    expect_line_status_interrupt(f, VCON_UART_LSR_OE);
    assert_int_equal(fx_stats(f).overruns, 1);
}

static void line_status_interrupt_fires_for_oe_pe_fe_and_bi_until_lsr_is_read(void **state)
{
    (void)state;
    fx_each(check_each_line_status_source);
}

static void check_line_status_needs_elsi(struct fx *f)
{
    assert_int_equal(vcon_uart_receive_with_error(f->uart, 'x', VCON_UART_LSR_FE), 0);
    assert_true(fx_state(f).line_status_pending);
    assert_int_equal(fx_inb(f, IIR), 0x01);
    assert_int_equal(fx_irq(f), 0);
    fx_outb(f, IER, VCON_UART_IER_ELSI);
    assert_int_equal(fx_inb(f, IIR), 0x06);
    assert_int_equal(fx_irq(f), 1);
}

static void line_status_interrupt_needs_elsi(void **state)
{
    (void)state;
    fx_each(check_line_status_needs_elsi);
}

/* ---- modem status ---------------------------------------------------------- */

static void check_each_modem_delta(struct fx *f)
{
    static const uint8_t lines[] = {0x00, VCON_UART_MSR_CTS, VCON_UART_MSR_CTS | VCON_UART_MSR_DSR,
                                    VCON_UART_MSR_DSR | VCON_UART_MSR_RI, VCON_UART_MSR_DSR,
                                    VCON_UART_MSR_DCD};
    fx_outb(f, IER, VCON_UART_IER_EDSSI);
    assert_int_equal(fx_irq(f), 0);
    for (size_t i = 0; i < sizeof lines; i++) {
        vcon_uart_set_modem_lines(f->uart, lines[i]);
        assert_int_equal(fx_irq(f), 1);
        assert_int_equal(fx_inb(f, IIR), 0x00);
        assert_int_equal(fx_inb(f, MSR) & 0xF0, lines[i]);
        assert_int_equal(fx_irq(f), 0);
        assert_int_equal(fx_inb(f, IIR), 0x01);
    }
    /* RI rising alone sets no delta. */
    vcon_uart_set_modem_lines(f->uart, VCON_UART_MSR_DCD | VCON_UART_MSR_RI);
    assert_int_equal(fx_irq(f), 0);
    assert_int_equal(fx_inb(f, IIR), 0x01);
}

static void modem_status_interrupt_fires_on_each_delta_until_msr_is_read(void **state)
{
    (void)state;
    fx_each(check_each_modem_delta);
}

static void check_modem_in_loopback(struct fx *f)
{
    fx_outb(f, MCR, VCON_UART_MCR_LOOP);
    (void)fx_inb(f, MSR);
    fx_outb(f, IER, VCON_UART_IER_EDSSI);
    assert_int_equal(fx_irq(f), 0);
    fx_outb(f, MCR, VCON_UART_MCR_LOOP | VCON_UART_MCR_RTS);
    assert_int_equal(fx_irq(f), 1);
    assert_int_equal(fx_inb(f, IIR), 0x00);
    assert_int_equal(fx_inb(f, MSR), VCON_UART_MSR_CTS | VCON_UART_MSR_DCTS);
    assert_int_equal(fx_irq(f), 0);
    /* OUT1 rising (RI) is no delta; falling is TERI. */
    fx_outb(f, MCR, VCON_UART_MCR_LOOP | VCON_UART_MCR_RTS | VCON_UART_MCR_OUT1);
    assert_int_equal(fx_irq(f), 0);
    fx_outb(f, MCR, VCON_UART_MCR_LOOP | VCON_UART_MCR_RTS);
    assert_int_equal(fx_irq(f), 1);
    assert_int_equal(fx_inb(f, MSR), VCON_UART_MSR_CTS | VCON_UART_MSR_TERI);
    assert_int_equal(fx_irq(f), 0);
}

static void modem_status_interrupt_works_in_loopback(void **state)
{
    (void)state;
    fx_each(check_modem_in_loopback);
}

/* ---- priority ---------------------------------------------------------------- */

static void check_priority(struct fx *f)
{
    fx_outb(f, FCR, VCON_UART_FCR_ENABLE);
    fx_outb(f, IER, 0x0F); /* ETBEI rising: THRE pending */
    vcon_uart_set_modem_lines(f->uart, 0x00);
    assert_int_equal(vcon_uart_receive_with_error(f->uart, 'e', VCON_UART_LSR_PE), 0);
    fx_feed(f, "d", 1);
    assert_int_equal(fx_irq(f), 1);
    assert_int_equal(fx_state(f).iir, 0xC6);
    assert_int_equal(fx_inb(f, IIR), 0xC6);
    assert_int_equal(fx_inb(f, IIR), 0xC6); /* reading IIR clears no line status */
    (void)fx_inb(f, LSR);
    assert_int_equal(fx_inb(f, IIR), 0xC0 | fx_rx_iir(f));
    assert_int_equal(fx_inb(f, RBR), 'e');
    assert_int_equal(fx_inb(f, IIR), 0xC0 | fx_rx_iir(f));
    assert_int_equal(fx_inb(f, RBR), 'd');
    assert_true(fx_state(f).thre_pending);
    assert_int_equal(fx_inb(f, IIR), 0xC2);
    assert_false(fx_state(f).thre_pending);
    assert_int_equal(fx_irq(f), 1);
    assert_int_equal(fx_inb(f, IIR), 0xC0);
    assert_int_equal(fx_inb(f, IIR), 0xC0); /* reading IIR clears no modem status */
    (void)fx_inb(f, MSR);
    assert_int_equal(fx_inb(f, IIR), 0xC1);
    assert_int_equal(fx_irq(f), 0);
}

static void iir_reports_line_status_then_data_then_thre_then_modem_status(void **state)
{
    (void)state;
    fx_each(check_priority);
}

static void check_priority_masked(struct fx *f)
{
    /* With a source's IER bit clear the next one is reported. */
    fx_outb(f, IER, VCON_UART_IER_ETBEI | VCON_UART_IER_EDSSI);
    vcon_uart_set_modem_lines(f->uart, 0x00);
    assert_int_equal(vcon_uart_receive_with_error(f->uart, 'e', VCON_UART_LSR_FE), 0);
    assert_int_equal(fx_inb(f, IIR), 0x02);
    assert_int_equal(fx_inb(f, IIR), 0x00);
    fx_outb(f, IER, VCON_UART_IER_EDSSI | VCON_UART_IER_ERBFI);
    assert_int_equal(fx_inb(f, IIR), fx_rx_iir(f));
    fx_outb(f, IER, VCON_UART_IER_EDSSI | VCON_UART_IER_ERBFI | VCON_UART_IER_ELSI);
    assert_int_equal(fx_inb(f, IIR), 0x06);
}

static void iir_skips_sources_whose_ier_bit_is_clear(void **state)
{
    (void)state;
    fx_each(check_priority_masked);
}

/* ---- the level line ----------------------------------------------------------- */

static void expect_line(struct fx *f, int level)
{
    assert_int_equal(fx_irq(f), level);
    assert_int_equal(fx_state(f).irq_level, level != 0);
    assert_int_equal((fx_state(f).iir & VCON_UART_IIR_NO_INT) == 0, level != 0);
}

static void check_level_line(struct fx *f)
{
    uint64_t raises = fx_raises(f);
    expect_line(f, 0);
    vcon_uart_set_modem_lines(f->uart, 0x00);
    expect_line(f, 0);
    fx_outb(f, IER, VCON_UART_IER_EDSSI);
    expect_line(f, 1);
    assert_int_equal(fx_raises(f), ++raises);
    /* A second source while the line is high: no new raise. */
    fx_outb(f, IER, VCON_UART_IER_EDSSI | VCON_UART_IER_ERBFI);
    fx_feed(f, "a", 1);
    expect_line(f, 1);
    assert_int_equal(fx_raises(f), raises);
    (void)fx_inb(f, MSR);
    expect_line(f, 1);
    (void)fx_inb(f, RBR);
    expect_line(f, 0);
    fx_feed(f, "b", 1);
    expect_line(f, 1);
    assert_int_equal(fx_raises(f), ++raises);
    fx_outb(f, IER, 0);
    expect_line(f, 0);
    fx_outb(f, IER, VCON_UART_IER_ERBFI);
    expect_line(f, 1);
    assert_int_equal(fx_raises(f), ++raises);
    (void)fx_inb(f, RBR);
    expect_line(f, 0);
    assert_int_equal(fx_stats(f).irq_raises, fx_raises(f));
}

static void level_line_is_high_exactly_while_an_enabled_source_is_pending(void **state)
{
    (void)state;
    fx_each(check_level_line);
}

static void reset_lowers_the_level_line(void **state)
{
    (void)state;
    struct fx *f = fx_new(VCON_UART_FLAVOUR_DM, VCON_UART_PROFILE_16550A, VCON_UART_IRQ_LEVEL);
    fx_outb(f, IER, 0x0F);
    assert_int_equal(fx_irq(f), 1);
    vcon_uart_reset(f->uart);
    assert_int_equal(fx_irq(f), 0);
    assert_false(fx_state(f).irq_level);
}

/* ---- edge mode ------------------------------------------------------------------- */

static void expect_pulses(struct fx *f, uint64_t expected)
{
    assert_int_equal(fx_raises(f), expected);
    assert_int_equal(fx_irq(f), 0);
    assert_int_equal(fx_stats(f).irq_raises, expected);
}

static void edge_mode_pulses_once_per_change_from_nothing_to_something_pending(void **state)
{
    (void)state;
    for (size_t i = 0; i < 4; i++) {
        struct fx *f = fx_new(fx_combos[i].flavour, fx_combos[i].profile, VCON_UART_IRQ_EDGE);
        print_message("    [ %s ]\n", f->name);
        expect_pulses(f, 0);
        fx_outb(f, IER, VCON_UART_IER_ETBEI);
        expect_pulses(f, 1);
        /* Data arriving while THRE is pending: something -> something. */
        fx_outb(f, IER, VCON_UART_IER_ETBEI | VCON_UART_IER_ERBFI);
        fx_feed(f, "a", 1);
        expect_pulses(f, 1);
        assert_int_equal(fx_inb(f, IIR), fx_rx_iir(f));
        assert_int_equal(fx_inb(f, RBR), 'a');
        expect_pulses(f, 1);
        assert_int_equal(fx_inb(f, IIR), 0x02); /* nothing pending now */
        expect_pulses(f, 1);
        fx_feed(f, "b", 1);
        expect_pulses(f, 2);
        fx_feed(f, "c", 1); /* still pending: no pulse */
        expect_pulses(f, 2);
        assert_int_equal(fx_inb(f, RBR), 'b');
        assert_int_equal(fx_inb(f, RBR), 'c');
        expect_pulses(f, 2);
        fx_outb(f, IER, VCON_UART_IER_ETBEI | VCON_UART_IER_ERBFI | VCON_UART_IER_EDSSI);
        expect_pulses(f, 2);
        vcon_uart_set_modem_lines(f->uart, 0x00);
        expect_pulses(f, 3);
        (void)fx_inb(f, MSR);
        expect_pulses(f, 3);
        fx_outb(f, IER, VCON_UART_IER_ELSI);
        assert_int_equal(vcon_uart_receive_with_error(f->uart, 0, VCON_UART_LSR_BI | VCON_UART_LSR_FE),
                         0);
        expect_pulses(f, 4);
        (void)fx_inb(f, LSR);
        (void)fx_inb(f, RBR);
        expect_pulses(f, 4);
        /* Enabling a source whose condition is already pending is a change too. */
        fx_outb(f, IER, 0);
        vcon_uart_set_modem_lines(f->uart, 0xF0);
        expect_pulses(f, 4);
        fx_outb(f, IER, VCON_UART_IER_EDSSI);
        expect_pulses(f, 5);
        fx_destroy(f);
    }
}

static void edge_mode_pulses_on_the_character_timeout_16550a(void **state)
{
    (void)state;
    struct fx *f = fx_new(VCON_UART_FLAVOUR_HV, VCON_UART_PROFILE_16550A, VCON_UART_IRQ_EDGE);
    fx_outb(f, FCR, 0xC1);
    fx_outb(f, IER, VCON_UART_IER_ERBFI);
    fx_feed(f, "abc", 3);
    expect_pulses(f, 0);
    fx_advance(f, 100000000);
    expect_pulses(f, 1);
    assert_int_equal(fx_inb(f, IIR), 0xCC);
    (void)fx_inb(f, RBR);
    expect_pulses(f, 1);
    fx_advance(f, 100000000);
    expect_pulses(f, 2);
}

static void edge_mode_leaves_the_line_low_while_sources_stay_pending(void **state)
{
    (void)state;
    struct fx *f = fx_new(VCON_UART_FLAVOUR_DM, VCON_UART_PROFILE_ACRN_DM, VCON_UART_IRQ_EDGE);
    fx_outb(f, IER, 0x0F);
    vcon_uart_set_modem_lines(f->uart, 0x00);
    fx_feed(f, "x", 1);
    expect_pulses(f, 1);
    fx_advance(f, 1000000000ull);
    expect_pulses(f, 1);
    assert_int_equal(fx_inb(f, IIR), 0x0C);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        FX_TEST(received_data_interrupt_follows_erbfi_and_clears_when_rbr_is_empty),
        FX_TEST(character_timeout_interrupt_needs_erbfi_16550a),
        FX_TEST(etbei_rising_edge_makes_thre_pending_and_an_iir_read_clears_it),
        FX_TEST(etbei_rising_edge_with_bytes_waiting_does_not_make_thre_pending),
        FX_TEST(thr_write_clears_thre_until_the_transmit_fifo_is_empty_again),
        FX_TEST(thr_write_taken_by_the_backend_makes_thre_pending_again),
        FX_TEST(thre_stays_clear_after_a_loopback_thr_write_while_the_transmit_fifo_holds_bytes),
        FX_TEST(iir_read_leaves_thre_pending_when_another_source_is_reported),
        FX_TEST(transmit_fifo_reset_after_thre_was_acknowledged_raises_nothing),
        FX_TEST(line_status_interrupt_fires_for_oe_pe_fe_and_bi_until_lsr_is_read),
        FX_TEST(line_status_interrupt_needs_elsi),
        FX_TEST(modem_status_interrupt_fires_on_each_delta_until_msr_is_read),
        FX_TEST(modem_status_interrupt_works_in_loopback),
        FX_TEST(iir_reports_line_status_then_data_then_thre_then_modem_status),
        FX_TEST(iir_skips_sources_whose_ier_bit_is_clear),
        FX_TEST(level_line_is_high_exactly_while_an_enabled_source_is_pending),
        FX_TEST(reset_lowers_the_level_line),
        FX_TEST(edge_mode_pulses_once_per_change_from_nothing_to_something_pending),
        FX_TEST(edge_mode_pulses_on_the_character_timeout_16550a),
        FX_TEST(edge_mode_leaves_the_line_low_while_sources_stay_pending),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
