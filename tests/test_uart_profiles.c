/* The two profiles (docs/uart.md, "Profiles"): each row of the table where
 * 16550a and acrn-dm differ runs both profiles and asserts both answers;
 * a few rows where they agree run both and assert the common answer. */
#include "uart_fixture.h"

struct pair {
    struct fx *a; /* 16550a */
    struct fx *d; /* acrn-dm */
};

static struct pair pair_new(enum vcon_uart_flavour flavour)
{
    struct pair p;
    p.a = fx_new(flavour, VCON_UART_PROFILE_16550A, VCON_UART_IRQ_LEVEL);
    p.d = fx_new(flavour, VCON_UART_PROFILE_ACRN_DM, VCON_UART_IRQ_LEVEL);
    return p;
}

static void pair_destroy(struct pair *p)
{
    fx_destroy(p->a);
    fx_destroy(p->d);
}

/* ---- rows that differ ------------------------------------------------------ */

static void msr_outside_loopback_is_b0_for_16550a_and_a0_for_acrn_dm(void **state)
{
    (void)state;
    for (int fl = 0; fl < 2; fl++) {
        struct pair p = pair_new((enum vcon_uart_flavour)fl);
        assert_int_equal(fx_inb(p.a, MSR), 0xB0);
        assert_int_equal(fx_inb(p.d, MSR), 0xA0);
        assert_int_equal(fx_state(p.a).msr, 0xB0);
        assert_int_equal(fx_state(p.d).msr, 0xA0);
        /* Still so after MCR writes outside loopback, and after reset. */
        fx_outb(p.a, MCR, 0x0F);
        fx_outb(p.d, MCR, 0x0F);
        assert_int_equal(fx_inb(p.a, MSR), 0xB0);
        assert_int_equal(fx_inb(p.d, MSR), 0xA0);
        vcon_uart_reset(p.a->uart);
        vcon_uart_reset(p.d->uart);
        assert_int_equal(fx_inb(p.a, MSR), 0xB0);
        assert_int_equal(fx_inb(p.d, MSR), 0xA0);
        /* The same host call changes the lines in both. */
        vcon_uart_set_modem_lines(p.a->uart, VCON_UART_MSR_DCD);
        vcon_uart_set_modem_lines(p.d->uart, VCON_UART_MSR_DCD);
        assert_int_equal(fx_inb(p.a, MSR), VCON_UART_MSR_DCD | VCON_UART_MSR_DCTS | VCON_UART_MSR_DDSR);
        assert_int_equal(fx_inb(p.d, MSR), VCON_UART_MSR_DCD | VCON_UART_MSR_DDSR);
        pair_destroy(&p);
    }
}

static void empty_rbr_reads_the_last_character_for_16550a_and_ff_for_acrn_dm(void **state)
{
    (void)state;
    for (int fl = 0; fl < 2; fl++) {
        for (int fifo = 0; fifo < 2; fifo++) {
            struct pair p = pair_new((enum vcon_uart_flavour)fl);
            if (fifo) {
                fx_outb(p.a, FCR, VCON_UART_FCR_ENABLE);
                fx_outb(p.d, FCR, VCON_UART_FCR_ENABLE);
            }
            /* Nothing received since reset. */
            assert_int_equal(fx_inb(p.a, RBR), 0x00);
            assert_int_equal(fx_inb(p.d, RBR), 0xFF);
            fx_feed_str(p.a, "QR");
            fx_feed_str(p.d, "QR");
            fx_expect_rx(p.a, "QR", 2);
            fx_expect_rx(p.d, "QR", 2);
            assert_int_equal(fx_inb(p.a, RBR), 'R');
            assert_int_equal(fx_inb(p.a, RBR), 'R');
            assert_int_equal(fx_inb(p.d, RBR), 0xFF);
            /* The empty reads took nothing and set nothing. */
            assert_int_equal(fx_inb(p.a, LSR), FX_LSR_IDLE);
            assert_int_equal(fx_inb(p.d, LSR), FX_LSR_IDLE);
            assert_int_equal(fx_stats(p.a).rx_bytes, 2);
            assert_int_equal(fx_stats(p.d).rx_bytes, 2);
            pair_destroy(&p);
        }
    }
}

static void received_data_is_iir_04_at_the_trigger_for_16550a_and_0c_at_once_for_acrn_dm(void **state)
{
    (void)state;
    for (int fl = 0; fl < 2; fl++) {
        struct pair p = pair_new((enum vcon_uart_flavour)fl);
        /* FIFOs disabled: one byte is the trigger. */
        fx_outb(p.a, IER, VCON_UART_IER_ERBFI);
        fx_outb(p.d, IER, VCON_UART_IER_ERBFI);
        fx_feed_str(p.a, "a");
        fx_feed_str(p.d, "a");
        assert_int_equal(fx_inb(p.a, IIR), 0x04);
        assert_int_equal(fx_inb(p.d, IIR), 0x0C);
        (void)fx_inb(p.a, RBR);
        (void)fx_inb(p.d, RBR);
        /* Trigger level 8: 16550a waits for 8 bytes, acrn-dm ignores it. */
        fx_outb(p.a, FCR, 0x81);
        fx_outb(p.d, FCR, 0x81);
        fx_feed_str(p.a, "1");
        fx_feed_str(p.d, "1");
        assert_int_equal(fx_inb(p.a, IIR), 0xC1);
        assert_int_equal(fx_irq(p.a), 0);
        assert_int_equal(fx_inb(p.d, IIR), 0xCC);
        assert_int_equal(fx_irq(p.d), 1);
        fx_feed_str(p.a, "2345678");
        fx_feed_str(p.d, "2345678");
        assert_int_equal(fx_inb(p.a, IIR), 0xC4);
        assert_int_equal(fx_irq(p.a), 1);
        assert_int_equal(fx_inb(p.d, IIR), 0xCC);
        assert_int_equal(fx_irq(p.d), 1);
        /* The trigger bits are stored in both. */
        assert_int_equal(fx_state(p.a).fcr & 0xC0, 0x80);
        assert_int_equal(fx_state(p.d).fcr & 0xC0, 0x80);
        pair_destroy(&p);
    }
}

static void character_timeout_exists_for_16550a_and_not_for_acrn_dm(void **state)
{
    (void)state;
    struct pair p = pair_new(VCON_UART_FLAVOUR_DM);
    fx_outb(p.a, FCR, 0xC1);
    fx_outb(p.d, FCR, 0xC1);
    fx_outb(p.a, IER, VCON_UART_IER_ERBFI);
    fx_outb(p.d, IER, VCON_UART_IER_ERBFI);
    fx_feed_str(p.a, "ab");
    fx_feed_str(p.d, "ab");
    assert_int_equal(fx_inb(p.a, IIR), 0xC1);
    assert_int_equal(fx_inb(p.d, IIR), 0xCC);
    /* Both clocks move together (one VM each, advanced alike). */
    fx_advance(p.a, 50000000);
    fx_advance(p.d, 50000000);
    assert_true(fx_state(p.a).timeout_pending);
    assert_false(fx_state(p.d).timeout_pending);
    assert_int_equal(fx_inb(p.a, IIR), 0xCC);
    assert_int_equal(fx_inb(p.d, IIR), 0xCC);
    /* After one RBR read: 16550a waits again, acrn-dm still reports. */
    (void)fx_inb(p.a, RBR);
    (void)fx_inb(p.d, RBR);
    assert_int_equal(fx_inb(p.a, IIR), 0xC1);
    assert_int_equal(fx_inb(p.d, IIR), 0xCC);
    pair_destroy(&p);
}

static void overrun_with_fifo_disabled_keeps_the_new_byte_for_16550a_and_the_old_for_acrn_dm(
    void **state)
{
    (void)state;
    for (int fl = 0; fl < 2; fl++) {
        struct pair p = pair_new((enum vcon_uart_flavour)fl);
        struct fx *both[2] = {p.a, p.d};
        for (int i = 0; i < 2; i++) {
            fx_outb(both[i], MCR, VCON_UART_MCR_LOOP);
            fx_outb(both[i], THR, 'o');
            fx_outb(both[i], THR, 'n');
            assert_int_equal(fx_stats(both[i]).overruns, 1);
            assert_int_equal(fx_state(both[i]).rx_count, 1);
            assert_int_equal(fx_inb(both[i], LSR) & (VCON_UART_LSR_OE | VCON_UART_LSR_DR),
                             VCON_UART_LSR_OE | VCON_UART_LSR_DR);
        }
        assert_int_equal(fx_inb(p.a, RBR), 'n');
        assert_int_equal(fx_inb(p.d, RBR), 'o');
        /* The same through the host's error injection. */
        for (int i = 0; i < 2; i++) {
            fx_outb(both[i], MCR, 0);
            assert_int_equal(vcon_uart_receive_with_error(both[i]->uart, 'O', VCON_UART_LSR_PE), 0);
            assert_int_equal(fx_inb(both[i], LSR) & 0x1F, VCON_UART_LSR_PE | VCON_UART_LSR_DR);
            assert_int_equal(vcon_uart_receive_with_error(both[i]->uart, 'N', VCON_UART_LSR_FE),
                             -ENOSPC);
            assert_int_equal(fx_stats(both[i]).overruns, 2);
        }
        /* 16550a holds 'N' and shows its FE; acrn-dm holds 'O', whose PE was
         * already reported. */
        assert_int_equal(fx_inb(p.a, LSR) & 0x1F, VCON_UART_LSR_OE | VCON_UART_LSR_FE | VCON_UART_LSR_DR);
        assert_int_equal(fx_inb(p.d, LSR) & 0x1F, VCON_UART_LSR_OE | VCON_UART_LSR_DR);
        assert_int_equal(fx_inb(p.a, RBR), 'N');
        assert_int_equal(fx_inb(p.d, RBR), 'O');
        pair_destroy(&p);
    }
}

static void receive_fifo_holds_16_bytes_for_16550a_and_256_for_acrn_dm(void **state)
{
    (void)state;
    struct pair p = pair_new(VCON_UART_FLAVOUR_DM);
    fx_outb(p.a, FCR, VCON_UART_FCR_ENABLE);
    fx_outb(p.d, FCR, VCON_UART_FCR_ENABLE);
    assert_int_equal(fx_state(p.a).rx_capacity, 16);
    assert_int_equal(fx_state(p.d).rx_capacity, 256);
    fx_feed_pattern(p.a, 300, 0);
    fx_feed_pattern(p.d, 300, 0);
    assert_int_equal(fx_state(p.a).rx_count, 16);
    assert_int_equal(fx_state(p.d).rx_count, 256);
    assert_int_equal(fx_pending(p.a), 284);
    assert_int_equal(fx_pending(p.d), 44);
    pair_destroy(&p);

    /* In loopback the 17th (257th) character overruns. */
    p = pair_new(VCON_UART_FLAVOUR_HV);
    struct fx *both[2] = {p.a, p.d};
    const unsigned depth[2] = {16, 256};
    for (int i = 0; i < 2; i++) {
        fx_outb(both[i], FCR, VCON_UART_FCR_ENABLE);
        fx_outb(both[i], MCR, VCON_UART_MCR_LOOP);
        fx_outb(both[i], IER, VCON_UART_IER_ELSI);
        for (unsigned n = 0; n < depth[i]; n++)
            fx_outb(both[i], THR, (uint8_t)n);
        assert_int_equal(fx_irq(both[i]), 0);
        fx_outb(both[i], THR, 0xAA);
        assert_int_equal(fx_irq(both[i]), 1);
        assert_int_equal(fx_inb(both[i], IIR), 0xC6);
        assert_int_equal(fx_stats(both[i]).overruns, 1);
    }
    pair_destroy(&p);
}

static void fifo_reset_leaves_backend_input_for_16550a_and_discards_it_for_acrn_dm(void **state)
{
    (void)state;
    struct pair p = pair_new(VCON_UART_FLAVOUR_DM);
    fx_outb(p.a, FCR, VCON_UART_FCR_ENABLE);
    fx_outb(p.d, FCR, VCON_UART_FCR_ENABLE);
    fx_feed_pattern(p.a, 300, 0);
    fx_feed_pattern(p.d, 300, 0);
    fx_outb(p.a, FCR, VCON_UART_FCR_ENABLE | VCON_UART_FCR_CLEAR_RX);
    fx_outb(p.d, FCR, VCON_UART_FCR_ENABLE | VCON_UART_FCR_CLEAR_RX);
    /* 16550a: the FIFO was cleared and refilled from the waiting input. */
    assert_int_equal(fx_state(p.a).rx_count, 16);
    assert_int_equal(fx_pending(p.a), 300 - 32);
    assert_int_equal(fx_stats(p.a).input_dropped, 0);
    assert_int_equal(fx_inb(p.a, RBR), 16);
    /* acrn-dm: the waiting input was read and discarded. */
    assert_int_equal(fx_state(p.d).rx_count, 0);
    assert_int_equal(fx_pending(p.d), 0);
    assert_int_equal(fx_stats(p.d).input_dropped, 44);
    pair_destroy(&p);

    /* The enable toggle does the same. */
    p = pair_new(VCON_UART_FLAVOUR_DM);
    fx_feed_pattern(p.a, 10, 0);
    fx_feed_pattern(p.d, 10, 0);
    fx_outb(p.a, FCR, VCON_UART_FCR_ENABLE);
    fx_outb(p.d, FCR, VCON_UART_FCR_ENABLE);
    assert_int_equal(fx_state(p.a).rx_count + fx_pending(p.a), 9);
    assert_int_equal(fx_inb(p.a, RBR), 1);
    assert_int_equal(fx_state(p.d).rx_count, 0);
    assert_int_equal(fx_pending(p.d), 0);
    assert_int_equal(fx_stats(p.d).input_dropped, 9);
    pair_destroy(&p);
}

static void acrn_dm_fifo_reset_discards_at_most_4096_backend_bytes(void **state)
{
    (void)state;
    struct fx *f = fx_new(VCON_UART_FLAVOUR_DM, VCON_UART_PROFILE_ACRN_DM, VCON_UART_IRQ_LEVEL);
    fx_feed_pattern(f, 5001, 0);
    assert_int_equal(fx_pending(f), 5000);
    fx_outb(f, FCR, VCON_UART_FCR_ENABLE);
    assert_int_equal(fx_stats(f).input_dropped, 4096);
    /* What is left after the bounded flush is neither lost nor duplicated. */
    assert_int_equal(fx_pending(f) + fx_state(f).rx_count, 5000 - 4096);
    fx_ready(f);
    assert_int_equal(fx_state(f).rx_count, 256);
    assert_int_equal(fx_pending(f), 5000 - 4096 - 256);
    assert_int_equal(fx_inb(f, RBR), (uint8_t)(1 + 4096));
}

static void loopback_leaves_backend_input_for_16550a_and_discards_it_for_acrn_dm(void **state)
{
    (void)state;
    struct pair p = pair_new(VCON_UART_FLAVOUR_DM);
    struct fx *both[2] = {p.a, p.d};
    for (int i = 0; i < 2; i++) {
        fx_outb(both[i], FCR, VCON_UART_FCR_ENABLE);
        fx_outb(both[i], MCR, VCON_UART_MCR_LOOP);
        fx_feed_str(both[i], "xyz");
        assert_int_equal(fx_state(both[i]).rx_count, 0);
    }
    assert_int_equal(fx_pending(p.a), 3);
    assert_int_equal(fx_stats(p.a).input_dropped, 0);
    assert_int_equal(fx_pending(p.d), 0);
    assert_int_equal(fx_stats(p.d).input_dropped, 3);
    for (int i = 0; i < 2; i++) {
        fx_outb(both[i], MCR, 0);
        fx_ready(both[i]);
    }
    fx_expect_rx(p.a, "xyz", 3);
    assert_int_equal(fx_state(p.d).rx_count, 0);
    assert_int_equal(fx_inb(p.d, RBR), 0xFF);
    pair_destroy(&p);
}

/* ---- rows where both agree -------------------------------------------------- */

static void check_common_reset_values(struct fx *f)
{
    assert_int_equal(fx_inb(f, MCR), 0x00);
    assert_int_equal(fx_get_divisor(f), 12);
    vcon_uart_reset(f->uart);
    assert_int_equal(fx_inb(f, MCR), 0x00);
    assert_int_equal(fx_get_divisor(f), 12);
}

static void both_profiles_reset_mcr_to_0_and_the_divisor_to_12(void **state)
{
    (void)state;
    fx_each(check_common_reset_values);
}

static void check_overrun_fifo_full(struct fx *f)
{
    fx_outb(f, FCR, VCON_UART_FCR_ENABLE);
    const unsigned cap = fx_state(f).rx_capacity;
    for (unsigned i = 0; i < cap; i++)
        assert_int_equal(vcon_uart_receive_with_error(f->uart, (uint8_t)i, VCON_UART_LSR_PE), 0);
    assert_int_equal(vcon_uart_receive_with_error(f->uart, 0xEE, VCON_UART_LSR_PE), -ENOSPC);
    assert_int_equal(fx_state(f).rx_count, cap);
    assert_int_equal(fx_inb(f, LSR) & VCON_UART_LSR_OE, VCON_UART_LSR_OE);
    for (unsigned i = 0; i < cap; i++)
        assert_int_equal(fx_inb(f, RBR), (uint8_t)i);
}

static void both_profiles_lose_the_new_character_when_the_fifo_is_full(void **state)
{
    (void)state;
    fx_each(check_overrun_fifo_full);
}

static void check_thre_temt_always_with_open_backend(struct fx *f)
{
    fx_outb(f, FCR, VCON_UART_FCR_ENABLE);
    for (int i = 0; i < 40; i++) {
        fx_outb(f, THR, (uint8_t)i);
        assert_int_equal(fx_inb(f, LSR) & FX_LSR_IDLE, FX_LSR_IDLE);
    }
}

static void both_profiles_keep_thre_and_temt_set_while_the_backend_takes_everything(void **state)
{
    (void)state;
    fx_each(check_thre_temt_always_with_open_backend);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        FX_TEST(msr_outside_loopback_is_b0_for_16550a_and_a0_for_acrn_dm),
        FX_TEST(empty_rbr_reads_the_last_character_for_16550a_and_ff_for_acrn_dm),
        FX_TEST(received_data_is_iir_04_at_the_trigger_for_16550a_and_0c_at_once_for_acrn_dm),
        FX_TEST(character_timeout_exists_for_16550a_and_not_for_acrn_dm),
        FX_TEST(overrun_with_fifo_disabled_keeps_the_new_byte_for_16550a_and_the_old_for_acrn_dm),
        FX_TEST(receive_fifo_holds_16_bytes_for_16550a_and_256_for_acrn_dm),
        FX_TEST(fifo_reset_leaves_backend_input_for_16550a_and_discards_it_for_acrn_dm),
        FX_TEST(acrn_dm_fifo_reset_discards_at_most_4096_backend_bytes),
        FX_TEST(loopback_leaves_backend_input_for_16550a_and_discards_it_for_acrn_dm),
        FX_TEST(both_profiles_reset_mcr_to_0_and_the_divisor_to_12),
        FX_TEST(both_profiles_lose_the_new_character_when_the_fifo_is_full),
        FX_TEST(both_profiles_keep_thre_and_temt_set_while_the_backend_takes_everything),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
