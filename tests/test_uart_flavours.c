/* The two flavours (docs/uart.md, "Flavours"): how bytes move between the
 * scripted backend and the registers, loopback, break, backend states, and
 * configuration checks. */
#include "uart_fixture.h"

/* ---- device-model flavour: receive ---------------------------------------- */

static void check_dm_fifo_full_keeps_input(struct fx *f)
{
    fx_outb(f, FCR, VCON_UART_FCR_ENABLE);
    const unsigned cap = fx_state(f).rx_capacity;
    const size_t total = cap + 40;
    fx_feed_pattern(f, total, 0);
    assert_int_equal(fx_state(f).rx_count, cap);
    assert_int_equal(fx_state(f).input_count, 0);
    assert_int_equal(fx_pending(f), total - cap);
    /* Calling again changes nothing while the FIFO is full. */
    fx_ready(f);
    assert_int_equal(fx_pending(f), total - cap);
    assert_int_equal(fx_inb(f, LSR) & VCON_UART_LSR_OE, 0);
    /* The guest drains everything, in order: each read makes room. */
    for (size_t i = 0; i < total; i++) {
        assert_int_equal(fx_inb(f, LSR) & VCON_UART_LSR_DR, VCON_UART_LSR_DR);
        assert_int_equal(fx_inb(f, RBR), (uint8_t)i);
    }
    assert_int_equal(fx_inb(f, LSR) & VCON_UART_LSR_DR, 0);
    assert_int_equal(fx_pending(f), 0);
    const struct vcon_uart_stats st = fx_stats(f);
    assert_int_equal(st.rx_bytes, total);
    assert_int_equal(st.input_dropped, 0);
    assert_int_equal(st.overruns, 0);
}

static void dm_backend_input_stays_on_the_backend_while_the_fifo_is_full(void **state)
{
    (void)state;
    for (int p = 0; p < 2; p++) {
        struct fx *f = fx_new(VCON_UART_FLAVOUR_DM, (enum vcon_uart_profile)p, VCON_UART_IRQ_LEVEL);
        print_message("    [ %s ]\n", f->name);
        check_dm_fifo_full_keeps_input(f);
        fx_destroy(f);
    }
}

static void dm_fifo_disabled_takes_one_byte_and_leaves_the_rest_on_the_backend(void **state)
{
    (void)state;
    for (int p = 0; p < 2; p++) {
        struct fx *f = fx_new(VCON_UART_FLAVOUR_DM, (enum vcon_uart_profile)p, VCON_UART_IRQ_LEVEL);
        fx_feed_str(f, "hello");
        assert_int_equal(fx_state(f).rx_count, 1);
        assert_int_equal(fx_pending(f), 4);
        fx_expect_rx(f, "hello", 5);
        assert_int_equal(fx_stats(f).overruns, 0);
        fx_destroy(f);
    }
}

static void dm_input_pause_stops_reading_until_the_next_backend_ready(void **state)
{
    (void)state;
    struct fx *f = fx_new(VCON_UART_FLAVOUR_DM, VCON_UART_PROFILE_16550A, VCON_UART_IRQ_LEVEL);
    fx_outb(f, FCR, VCON_UART_FCR_ENABLE);
    fx_queue(f, "ab", 2);
    assert_int_equal(vcon_script_input_pause(f->backend), 0);
    fx_queue(f, "cd", 2);
    fx_ready(f);
    assert_int_equal(fx_state(f).rx_count, 2);
    assert_int_equal(fx_pending(f), 2);
    /* The pause answers "no data" once; whether the device meets it on this
     * call or the previous one depends on how it splits reads, so two calls. */
    fx_ready(f);
    fx_ready(f);
    assert_int_equal(fx_state(f).rx_count, 4);
    assert_int_equal(fx_pending(f), 0);
    fx_expect_rx(f, "abcd", 4);
}

static void backend_eof_stops_reading_until_the_peer_connects_again(void **state)
{
    (void)state;
    for (int fl = 0; fl < 2; fl++) {
        struct fx *f = fx_new((enum vcon_uart_flavour)fl, VCON_UART_PROFILE_16550A,
                              VCON_UART_IRQ_LEVEL);
        fx_outb(f, FCR, VCON_UART_FCR_ENABLE);
        fx_queue(f, "ab", 2);
        assert_int_equal(vcon_script_input_eof(f->backend), 0);
        fx_queue(f, "cd", 2);
        fx_ready(f);
        fx_ready(f);
        assert_int_equal(fx_state(f).rx_count, 2);
        assert_int_equal(fx_pending(f), 2);
        fx_expect_rx(f, "ab", 2);
        vcon_script_connect(f->backend);
        fx_ready(f);
        fx_expect_rx(f, "cd", 2);
        assert_int_equal(fx_pending(f), 0);
        fx_destroy(f);
    }
}

/* ---- transmit (both flavours) ---------------------------------------------- */

static void check_tx_would_block(struct fx *f)
{
    fx_outb(f, FCR, VCON_UART_FCR_ENABLE);
    fx_budget(f, 0);
    for (const char *p = "hello"; *p; p++)
        fx_outb(f, THR, (uint8_t)*p);
    fx_expect_output(f, "", 0);
    assert_int_equal(fx_state(f).tx_count, 5);
    assert_int_equal(fx_inb(f, LSR) & FX_LSR_IDLE, 0);
    assert_false(fx_state(f).thre_pending);
    /* Room for two: those two leave, in order. */
    fx_budget(f, 2);
    fx_ready(f);
    fx_expect_output(f, "he", 2);
    assert_int_equal(fx_state(f).tx_count, 3);
    assert_int_equal(fx_inb(f, LSR) & FX_LSR_IDLE, 0);
    /* A THR write pushes too. */
    fx_budget(f, 1);
    fx_outb(f, THR, '!');
    fx_expect_output(f, "hel", 3);
    assert_int_equal(fx_state(f).tx_count, 3);
    fx_budget(f, SIZE_MAX);
    fx_ready(f);
    fx_expect_output(f, "hello!", 6);
    assert_int_equal(fx_state(f).tx_count, 0);
    assert_int_equal(fx_inb(f, LSR), FX_LSR_IDLE);
    assert_true(fx_state(f).thre_pending);
    const struct vcon_uart_stats st = fx_stats(f);
    assert_int_equal(st.tx_bytes, 6);
    assert_int_equal(st.tx_dropped, 0);
}

static void backend_would_block_holds_bytes_in_the_transmit_fifo_then_flushes_in_order(void **state)
{
    (void)state;
    fx_each(check_tx_would_block);
}

static void check_tx_overflow(struct fx *f)
{
    fx_outb(f, FCR, VCON_UART_FCR_ENABLE);
    const unsigned cap = fx_state(f).tx_capacity;
    assert_int_equal(cap, fx_profile_fifo(f->config.profile));
    fx_budget(f, 0);
    for (unsigned i = 0; i < cap + 3; i++)
        fx_outb(f, THR, (uint8_t)i);
    assert_int_equal(fx_state(f).tx_count, cap);
    assert_int_equal(fx_stats(f).tx_dropped, 3);
    fx_budget(f, SIZE_MAX);
    fx_ready(f);
    size_t len = 0;
    const uint8_t *out = vcon_script_output(f->backend, &len);
    assert_int_equal(len, cap);
    for (unsigned i = 0; i < cap; i++)
        assert_int_equal(out[i], (uint8_t)i);
    assert_int_equal(fx_stats(f).tx_bytes, cap);
}

static void transmit_fifo_overflow_counts_tx_dropped(void **state)
{
    (void)state;
    fx_each(check_tx_overflow);
}

static void check_tx_overflow_fifo_disabled(struct fx *f)
{
    assert_int_equal(fx_state(f).tx_capacity, 1);
    fx_budget(f, 0);
    fx_outb(f, THR, 'a');
    fx_outb(f, THR, 'b');
    assert_int_equal(fx_state(f).tx_count, 1);
    assert_int_equal(fx_stats(f).tx_dropped, 1);
    fx_budget(f, SIZE_MAX);
    fx_ready(f);
    fx_expect_output(f, "a", 1);
}

static void transmit_holding_register_keeps_one_byte_with_fifos_disabled(void **state)
{
    (void)state;
    fx_each(check_tx_overflow_fifo_disabled);
}

static void check_tx_closed(struct fx *f)
{
    vcon_script_disconnect(f->backend);
    fx_outb(f, THR, 'x');
    fx_expect_output(f, "", 0);
    assert_int_equal(fx_stats(f).tx_dropped, 1);
    assert_int_equal(fx_stats(f).tx_bytes, 0);
    vcon_script_connect(f->backend);
    fx_ready(f);
    fx_outb(f, THR, 'y');
    fx_expect_output(f, "y", 1);
}

static void thr_bytes_to_a_closed_backend_count_as_tx_dropped(void **state)
{
    (void)state;
    fx_each(check_tx_closed);
}

/* ---- hypervisor flavour -------------------------------------------------------- */

static void check_hv_buffer_fills(struct fx *f)
{
    fx_outb(f, FCR, VCON_UART_FCR_ENABLE);
    const unsigned cap = fx_state(f).rx_capacity;
    fx_feed_pattern(f, cap + 100, 0);
    struct vcon_uart_state s = fx_state(f);
    assert_int_equal(s.rx_count, cap);
    assert_int_equal(s.input_count, 100);
    assert_int_equal(fx_pending(f), 0);
    /* Fill the buffer to exactly 2048: nothing lost yet. */
    fx_feed_pattern(f, VCON_UART_HV_INPUT_BUFFER - 100, 100 + cap);
    s = fx_state(f);
    assert_int_equal(s.input_count, VCON_UART_HV_INPUT_BUFFER);
    assert_int_equal(fx_stats(f).input_dropped, 0);
    for (size_t i = 0; i < cap + VCON_UART_HV_INPUT_BUFFER; i++)
        assert_int_equal(fx_inb(f, RBR), (uint8_t)i);
    assert_int_equal(fx_state(f).rx_count, 0);
    assert_int_equal(fx_state(f).input_count, 0);
    assert_int_equal(fx_stats(f).overruns, 0);
}

static void hv_input_buffer_keeps_filling_while_the_fifo_is_full(void **state)
{
    (void)state;
    for (int p = 0; p < 2; p++) {
        struct fx *f = fx_new(VCON_UART_FLAVOUR_HV, (enum vcon_uart_profile)p, VCON_UART_IRQ_LEVEL);
        print_message("    [ %s ]\n", f->name);
        check_hv_buffer_fills(f);
        fx_destroy(f);
    }
}

static void check_hv_overwrite(struct fx *f)
{
    /* Bytes carry their index mod 251 so that order is visible across wraps. */
    fx_outb(f, FCR, VCON_UART_FCR_ENABLE);
    const unsigned cap = fx_state(f).rx_capacity;
    const size_t extra = 300;
    const size_t total = cap + VCON_UART_HV_INPUT_BUFFER + extra;
    uint8_t *buf = malloc(total);
    assert_non_null(buf);
    for (size_t i = 0; i < total; i++)
        buf[i] = (uint8_t)(i % 251);
    /* First exactly what fits, then the rest in two chunks. */
    fx_queue(f, buf, cap + VCON_UART_HV_INPUT_BUFFER);
    fx_ready(f);
    assert_int_equal(fx_stats(f).input_dropped, 0);
    fx_queue(f, buf + cap + VCON_UART_HV_INPUT_BUFFER, 100);
    fx_ready(f);
    fx_queue(f, buf + cap + VCON_UART_HV_INPUT_BUFFER + 100, extra - 100);
    fx_ready(f);
    const struct vcon_uart_state s = fx_state(f);
    assert_int_equal(s.rx_count, cap);
    assert_int_equal(s.input_count, VCON_UART_HV_INPUT_BUFFER);
    assert_int_equal(fx_stats(f).input_dropped, extra);
    assert_int_equal(fx_pending(f), 0);
    /* The FIFO keeps its bytes; the buffer holds the newest 2048. */
    for (size_t i = 0; i < cap; i++)
        assert_int_equal(fx_inb(f, RBR), buf[i]);
    for (size_t i = cap + extra; i < total; i++) {
        const uint8_t got = fx_inb(f, RBR);
        if (got != buf[i])
            print_error("byte %zu of the input\n", i);
        assert_int_equal(got, buf[i]);
    }
    free(buf);
    assert_int_equal(fx_inb(f, LSR) & VCON_UART_LSR_DR, 0);
    assert_int_equal(fx_stats(f).overruns, 0);
}

static void hv_input_buffer_overwrites_its_oldest_bytes_beyond_2048(void **state)
{
    (void)state;
    for (int p = 0; p < 2; p++) {
        struct fx *f = fx_new(VCON_UART_FLAVOUR_HV, (enum vcon_uart_profile)p, VCON_UART_IRQ_LEVEL);
        print_message("    [ %s ]\n", f->name);
        check_hv_overwrite(f);
        fx_destroy(f);
    }
}

static void hv_configured_fifo_sizes_are_honoured(void **state)
{
    (void)state;
    for (int p = 0; p < 2; p++) {
        struct vcon_uart_config config =
            fx_config(VCON_UART_FLAVOUR_HV, (enum vcon_uart_profile)p, VCON_UART_IRQ_LEVEL);
        config.rx_fifo_size = 64;
        config.tx_fifo_size = 32;
        struct fx *f = fx_create(&config);
        print_message("    [ %s ]\n", f->name);
        struct vcon_uart_state s = fx_state(f);
        assert_int_equal(s.rx_capacity, 1);
        assert_int_equal(s.tx_capacity, 1);
        fx_outb(f, FCR, VCON_UART_FCR_ENABLE);
        s = fx_state(f);
        assert_int_equal(s.rx_capacity, 64);
        assert_int_equal(s.tx_capacity, 32);
        fx_feed_pattern(f, 100, 0);
        assert_int_equal(fx_state(f).rx_count, 64);
        assert_int_equal(fx_state(f).input_count, 36);
        fx_budget(f, 0);
        for (unsigned i = 0; i < 40; i++)
            fx_outb(f, THR, (uint8_t)i);
        assert_int_equal(fx_state(f).tx_count, 32);
        assert_int_equal(fx_stats(f).tx_dropped, 8);
        /* Loopback overrun at the 65th byte (receive side drained first). */
        for (unsigned i = 0; i < 100; i++)
            assert_int_equal(fx_inb(f, RBR), (uint8_t)i);
        assert_int_equal(fx_state(f).input_count, 0);
        fx_outb(f, FCR, 0x07);
        assert_int_equal(fx_state(f).tx_count, 0);
        fx_outb(f, MCR, VCON_UART_MCR_LOOP);
        for (unsigned i = 0; i < 64; i++)
            fx_outb(f, THR, (uint8_t)i);
        assert_int_equal(fx_stats(f).overruns, 0);
        fx_outb(f, THR, 0xFF);
        assert_int_equal(fx_stats(f).overruns, 1);
        assert_int_equal(fx_inb(f, LSR) & VCON_UART_LSR_OE, VCON_UART_LSR_OE);
        fx_destroy(f);
    }
}

static void hv_tx_fifo_size_zero_means_the_receive_fifo_size(void **state)
{
    (void)state;
    struct vcon_uart_config config =
        fx_config(VCON_UART_FLAVOUR_HV, VCON_UART_PROFILE_16550A, VCON_UART_IRQ_LEVEL);
    config.rx_fifo_size = 100;
    struct fx *f = fx_create(&config);
    fx_outb(f, FCR, VCON_UART_FCR_ENABLE);
    assert_int_equal(fx_state(f).rx_capacity, 100);
    assert_int_equal(fx_state(f).tx_capacity, 100);
}

static void create_rejects_a_bad_configuration(void **state)
{
    (void)state;
    struct fx *f = fx_new(VCON_UART_FLAVOUR_DM, VCON_UART_PROFILE_16550A, VCON_UART_IRQ_LEVEL);
    struct vcon_uart_config bad[5];
    for (int i = 0; i < 5; i++)
        bad[i] = fx_config(VCON_UART_FLAVOUR_HV, VCON_UART_PROFILE_16550A, VCON_UART_IRQ_LEVEL);
    bad[0].rx_fifo_size = VCON_UART_MAX_FIFO + 1;
    bad[1].tx_fifo_size = VCON_UART_MAX_FIFO + 1;
    bad[2].flavour = (enum vcon_uart_flavour)7;
    bad[3].profile = (enum vcon_uart_profile)7;
    bad[4].irq_mode = (enum vcon_uart_irq_mode)7;
    for (int i = 0; i < 5; i++) {
        struct vcon_uart *u = NULL;
        assert_int_equal(vcon_uart_create(&bad[i], &f->host, &u), -EINVAL);
        assert_null(u);
    }
    struct vcon_uart_config max =
        fx_config(VCON_UART_FLAVOUR_HV, VCON_UART_PROFILE_16550A, VCON_UART_IRQ_LEVEL);
    max.rx_fifo_size = VCON_UART_MAX_FIFO;
    max.tx_fifo_size = VCON_UART_MAX_FIFO;
    struct vcon_uart *u = NULL;
    assert_int_equal(vcon_uart_create(&max, &f->host, &u), 0);
    assert_non_null(u);
    vcon_uart_destroy(u);
}

/* ---- loopback ---------------------------------------------------------------------- */

static void check_loopback_thr_to_rbr(struct fx *f)
{
    fx_outb(f, FCR, VCON_UART_FCR_ENABLE);
    fx_outb(f, MCR, VCON_UART_MCR_LOOP);
    fx_outb(f, THR, 'h');
    fx_outb(f, THR, 'i');
    fx_expect_output(f, "", 0);
    assert_int_equal(fx_stats(f).tx_bytes, 0);
    assert_int_equal(fx_state(f).rx_count, 2);
    assert_int_equal(fx_inb(f, LSR), FX_LSR_IDLE | VCON_UART_LSR_DR);
    fx_expect_rx(f, "hi", 2);
    /* Out of loopback the transmit path is back. */
    fx_outb(f, MCR, 0);
    fx_outb(f, THR, '!');
    fx_expect_output(f, "!", 1);
    assert_int_equal(fx_state(f).rx_count, 0);
}

static void loopback_sends_thr_bytes_to_the_receiver_not_the_backend(void **state)
{
    (void)state;
    fx_each(check_loopback_thr_to_rbr);
}

static void check_loopback_break(struct fx *f)
{
    fx_outb(f, FCR, VCON_UART_FCR_ENABLE);
    fx_outb(f, MCR, VCON_UART_MCR_LOOP);
    fx_outb(f, IER, VCON_UART_IER_ELSI);
    fx_outb(f, LCR, 0x03 | VCON_UART_LCR_BREAK);
    assert_int_equal(fx_state(f).rx_count, 1);
    assert_int_equal(fx_irq(f), 1);
    assert_int_equal(fx_inb(f, IIR), 0xC6);
    assert_int_equal(fx_inb(f, LSR) & 0x1F,
                     VCON_UART_LSR_BI | VCON_UART_LSR_FE | VCON_UART_LSR_DR);
    /* Writing LCR again with the bit still set is no new break. */
    fx_outb(f, LCR, 0x03 | VCON_UART_LCR_BREAK);
    assert_int_equal(fx_state(f).rx_count, 1);
    assert_int_equal(fx_inb(f, RBR), 0x00);
    assert_int_equal(fx_stats(f).breaks, 1);
    fx_expect_output(f, "", 0);
    fx_outb(f, LCR, 0x03);
    assert_int_equal(fx_state(f).rx_count, 0);
}

static void loopback_break_delivers_a_zero_byte_with_bi_and_fe(void **state)
{
    (void)state;
    fx_each(check_loopback_break);
}

static void check_break_outside_loopback(struct fx *f)
{
    fx_outb(f, LCR, 0x03 | VCON_UART_LCR_BREAK);
    assert_int_equal(fx_stats(f).breaks, 1);
    assert_int_equal(fx_state(f).rx_count, 0);
    fx_expect_output(f, "", 0);
    fx_outb(f, LCR, 0x03);
}

static void break_outside_loopback_is_counted_and_sends_nothing(void **state)
{
    (void)state;
    fx_each(check_break_outside_loopback);
}

static void hv_16550a_loopback_leaves_input_waiting_until_loopback_ends(void **state)
{
    (void)state;
    struct fx *f = fx_new(VCON_UART_FLAVOUR_HV, VCON_UART_PROFILE_16550A, VCON_UART_IRQ_LEVEL);
    fx_outb(f, FCR, VCON_UART_FCR_ENABLE);
    fx_outb(f, MCR, VCON_UART_MCR_LOOP);
    fx_feed_str(f, "xyz");
    assert_int_equal(fx_state(f).rx_count, 0);
    assert_int_equal(fx_pending(f) + fx_state(f).input_count, 3);
    assert_int_equal(fx_stats(f).input_dropped, 0);
    fx_outb(f, MCR, 0);
    fx_ready(f);
    fx_expect_rx(f, "xyz", 3);
}

static void hv_acrn_loopback_reads_and_discards_input(void **state)
{
    (void)state;
    struct fx *f = fx_new(VCON_UART_FLAVOUR_HV, VCON_UART_PROFILE_ACRN_DM, VCON_UART_IRQ_LEVEL);
    fx_outb(f, FCR, VCON_UART_FCR_ENABLE);
    fx_outb(f, MCR, VCON_UART_MCR_LOOP);
    fx_feed_str(f, "xyz");
    assert_int_equal(fx_state(f).rx_count, 0);
    assert_int_equal(fx_state(f).input_count, 0);
    assert_int_equal(fx_pending(f), 0);
    assert_int_equal(fx_stats(f).input_dropped, 3);
    fx_outb(f, MCR, 0);
    fx_ready(f);
    assert_int_equal(fx_state(f).rx_count, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        FX_TEST(dm_backend_input_stays_on_the_backend_while_the_fifo_is_full),
        FX_TEST(dm_fifo_disabled_takes_one_byte_and_leaves_the_rest_on_the_backend),
        FX_TEST(dm_input_pause_stops_reading_until_the_next_backend_ready),
        FX_TEST(backend_eof_stops_reading_until_the_peer_connects_again),
        FX_TEST(backend_would_block_holds_bytes_in_the_transmit_fifo_then_flushes_in_order),
        FX_TEST(transmit_fifo_overflow_counts_tx_dropped),
        FX_TEST(transmit_holding_register_keeps_one_byte_with_fifos_disabled),
        FX_TEST(thr_bytes_to_a_closed_backend_count_as_tx_dropped),
        FX_TEST(hv_input_buffer_keeps_filling_while_the_fifo_is_full),
        FX_TEST(hv_input_buffer_overwrites_its_oldest_bytes_beyond_2048),
        FX_TEST(hv_configured_fifo_sizes_are_honoured),
        FX_TEST(hv_tx_fifo_size_zero_means_the_receive_fifo_size),
        FX_TEST(create_rejects_a_bad_configuration),
        FX_TEST(loopback_sends_thr_bytes_to_the_receiver_not_the_backend),
        FX_TEST(loopback_break_delivers_a_zero_byte_with_bi_and_fe),
        FX_TEST(break_outside_loopback_is_counted_and_sends_nothing),
        FX_TEST(hv_16550a_loopback_leaves_input_waiting_until_loopback_ends),
        FX_TEST(hv_acrn_loopback_reads_and_discards_input),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
