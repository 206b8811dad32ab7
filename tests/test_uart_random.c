/* Seeded random operation sequences against the UART, with invariants checked
 * after every operation. The expected interrupt state is computed here, from
 * the raw register state and docs/uart.md, independently of the device code.
 *
 * Each run is deterministic (xorshift64 with a fixed seed). The sixteen runs
 * cover both flavours x both profiles x both interrupt modes, once with
 * loopback never enabled (where byte conservation is checked) and once with
 * loopback allowed. A last test runs one sequence twice and compares. */
#include <inttypes.h>

#include "uart_fixture.h"

#define OPS_PER_RUN 6000u
#define SLACK_NS 4u   /* sub-nanosecond rounding of four character times */
#define HISTORY 16u
#define CLOCK_HZ 1843200u

/* ---- PRNG ------------------------------------------------------------------- */

struct rng {
    uint64_t s;
};

static uint64_t rng_next(struct rng *r)
{
    uint64_t x = r->s;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    r->s = x;
    return x;
}

static unsigned rng_below(struct rng *r, unsigned n)
{
    return (unsigned)(rng_next(r) % n);
}

static unsigned rng_range(struct rng *r, unsigned lo, unsigned hi)
{
    return lo + rng_below(r, hi - lo + 1);
}

static bool rng_percent(struct rng *r, unsigned percent)
{
    return rng_below(r, 100) < percent;
}

static uint8_t rng_byte(struct rng *r)
{
    return (uint8_t)rng_next(r);
}

/* ---- the independent model ----------------------------------------------------- */

static unsigned trigger_level(uint8_t fcr)
{
    static const unsigned levels[4] = {1, 4, 8, 14};
    return levels[(fcr >> 6) & 3];
}

/* The IIR identification (low nibble) docs/uart.md asks for in state `s`:
 * the highest-priority pending source whose IER bit is set. */
static uint8_t expected_iir_id(const struct vcon_uart_state *s, enum vcon_uart_profile profile)
{
    if ((s->ier & VCON_UART_IER_ELSI) && s->line_status_pending)
        return VCON_UART_IIR_RLS;
    if ((s->ier & VCON_UART_IER_ERBFI) && s->rx_count > 0) {
        if (profile == VCON_UART_PROFILE_ACRN_DM)
            return VCON_UART_IIR_TIMEOUT;
        if (!s->fifo_enabled || s->rx_count >= trigger_level(s->fcr))
            return VCON_UART_IIR_RDA;
        if (s->timeout_pending)
            return VCON_UART_IIR_TIMEOUT;
    }
    if ((s->ier & VCON_UART_IER_ETBEI) && s->thre_pending)
        return VCON_UART_IIR_THRE;
    if ((s->ier & VCON_UART_IER_EDSSI) && (s->msr & VCON_UART_MSR_DELTAS))
        return VCON_UART_IIR_MSR;
    return VCON_UART_IIR_NO_INT;
}

static uint8_t loopback_lines(uint8_t mcr)
{
    uint8_t lines = 0;
    if (mcr & VCON_UART_MCR_RTS)
        lines |= VCON_UART_MSR_CTS;
    if (mcr & VCON_UART_MCR_DTR)
        lines |= VCON_UART_MSR_DSR;
    if (mcr & VCON_UART_MCR_OUT1)
        lines |= VCON_UART_MSR_RI;
    if (mcr & VCON_UART_MCR_OUT2)
        lines |= VCON_UART_MSR_DCD;
    return lines;
}

/* Four character times as a numerator over CLOCK_HZ; 0 when the divisor is 0. */
static uint64_t four_ct_num(const struct vcon_uart_state *s)
{
    return s->divisor ? fx_timeout_num(s->lcr, s->divisor) : 0;
}

/* ---- a run ------------------------------------------------------------------------- */

struct run {
    const char *name;
    enum vcon_uart_flavour flavour;
    enum vcon_uart_profile profile;
    enum vcon_uart_irq_mode mode;
    bool loopback;
    unsigned rx_fifo, tx_fifo;
    uint64_t seed;
};

struct snapshot {
    struct vcon_uart_state state;
    struct vcon_uart_stats stats;
    size_t out_len;
    uint64_t out_hash;
    uint64_t raises;
    uint64_t now;
    size_t pending;
};

struct ctx {
    const struct run *run;
    bool check; /* assert the invariants (the determinism test only records) */
    struct fx *f;
    struct rng rng;
    unsigned op;
    char history[HISTORY][112];
    unsigned rx_cap, tx_cap;

    /* before the current operation */
    struct vcon_uart_state s0;
    struct vcon_uart_stats st0;
    size_t pending0, out0;
    int line0;
    uint64_t raises0, now0;
    /* what the current operation is */
    bool loose;         /* may have restarted the character timer */
    bool rbr_consumed;  /* an RBR read that took a byte */
    bool is_advance, is_reset;

    /* conservation (runs without loopback) */
    uint64_t fed, injected, guest_reads, rx_cleared;
    uint64_t thr_writes, tx_cleared;

    uint8_t host_lines;
    bool loop_wanted;

    /* character timer bounds */
    uint64_t t_strict, t_loose;
    uint64_t ct4_min_strict; /* UINT64_MAX: no nonzero divisor since */
    uint64_t ct4_max_loose;
    bool zero_div_since_loose;

    /* what the run reached, so that it cannot pass vacuously */
    unsigned seen_id[16];
    unsigned timeouts_fired, must_fire_checks, full_fifo, hv_buffer_full, tx_blocked;
};

static void note(struct ctx *c, const char *fmt, ...) CMOCKA_PRINTF_ATTRIBUTE(2, 3);

static void note(struct ctx *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *slot = c->history[c->op % HISTORY];
    int n = snprintf(slot, sizeof c->history[0], "#%u t=%" PRIu64 " ", c->op, fx_now(c->f));
    if (n < 0)
        n = 0;
    if ((size_t)n < sizeof c->history[0])
        vsnprintf(slot + n, sizeof c->history[0] - (size_t)n, fmt, ap);
    va_end(ap);
}

static void print_state(const char *label, const struct vcon_uart_state *s)
{
    print_error("%s: ier %02x lcr %02x mcr %02x lsr %02x msr %02x fcr %02x div %u "
                "rx %u/%u tx %u/%u in %u fifo %d thre %d to %d ls %d irq %d iir %02x\n",
                label, s->ier, s->lcr, s->mcr, s->lsr, s->msr, s->fcr, s->divisor, s->rx_count,
                s->rx_capacity, s->tx_count, s->tx_capacity, s->input_count, s->fifo_enabled,
                s->thre_pending, s->timeout_pending, s->line_status_pending, s->irq_level,
                s->iir);
}

static void report(const struct ctx *c, const char *what)
{
    print_error("random run %s, seed 0x%" PRIx64 ", operation %u: %s\n", c->run->name,
                c->run->seed, c->op, what);
    print_error("last operations:\n");
    const unsigned first = c->op + 1 > HISTORY ? c->op + 1 - HISTORY : 0;
    for (unsigned i = first; i <= c->op; i++)
        print_error("  %s\n", c->history[i % HISTORY]);
    print_state("state before", &c->s0);
    const struct vcon_uart_state now = fx_state(c->f);
    print_state("state now   ", &now);
    print_error("t_strict %" PRIu64 " ct4_min %" PRIu64 "/%u ns, t_loose %" PRIu64
                " ct4_max %" PRIu64 "/%u ns, zero divisor since %d\n",
                c->t_strict, c->ct4_min_strict, CLOCK_HZ, c->t_loose, c->ct4_max_loose, CLOCK_HZ,
                c->zero_div_since_loose);
}

#define INV_EQ(c, a, b)                                                     \
    do {                                                                    \
        const uint64_t a_ = (uint64_t)(a), b_ = (uint64_t)(b);              \
        if ((c)->check && a_ != b_) {                                       \
            report((c), #a " == " #b);                                      \
            assert_int_equal(a_, b_);                                       \
        }                                                                   \
    } while (0)

#define INV_TRUE(c, cond)                                                   \
    do {                                                                    \
        if ((c)->check && !(cond)) {                                        \
            report((c), #cond);                                             \
            assert_true(cond);                                              \
        }                                                                   \
    } while (0)

static void begin(struct ctx *c)
{
    c->s0 = fx_state(c->f);
    c->st0 = fx_stats(c->f);
    c->pending0 = fx_pending(c->f);
    c->out0 = fx_output_len(c->f);
    c->line0 = fx_irq(c->f);
    c->raises0 = fx_raises(c->f);
    c->now0 = fx_now(c->f);
    c->loose = false;
    c->rbr_consumed = false;
    c->is_advance = false;
    c->is_reset = false;
}

static void track_timer(struct ctx *c, const struct vcon_uart_state *s1,
                        const struct vcon_uart_stats *st1, uint64_t now)
{
    const uint64_t k0 = four_ct_num(&c->s0), k1 = four_ct_num(s1);
    const bool strict = st1->rx_bytes != c->st0.rx_bytes || c->rbr_consumed;
    /* The timer restarts at an rx event (a byte entering the FIFO, an RBR
     * read that took one) with the character time of the state before or
     * after that operation; later line changes may re-arm it with theirs.
     * So: never before t_strict + the shortest 4 character times since, and
     * always by t_loose (the last operation that could have restarted it)
     * + the longest since. */
    if (strict) {
        c->t_strict = now;
        c->ct4_min_strict = UINT64_MAX;
        if (k0 && k0 < c->ct4_min_strict)
            c->ct4_min_strict = k0;
    }
    if (k1 && k1 < c->ct4_min_strict)
        c->ct4_min_strict = k1;
    if (strict || c->loose) {
        c->t_loose = now;
        c->ct4_max_loose = k0 > k1 ? k0 : k1;
        c->zero_div_since_loose = (k0 == 0 || k1 == 0);
    } else {
        if (k1 > c->ct4_max_loose)
            c->ct4_max_loose = k1;
        if (k1 == 0)
            c->zero_div_since_loose = true;
    }
}

static void end(struct ctx *c)
{
    struct fx *f = c->f;
    const struct vcon_uart_state s = fx_state(f);
    const struct vcon_uart_stats st = fx_stats(f);
    const size_t pending = fx_pending(f);
    const size_t out = fx_output_len(f);
    const int line = fx_irq(f);
    const uint64_t raises = fx_raises(f);
    const uint64_t now = fx_now(f);
    const enum vcon_uart_profile profile = c->run->profile;
    const uint8_t id = expected_iir_id(&s, profile);
    const uint8_t id0 = expected_iir_id(&c->s0, profile);

    /* Register masks. */
    INV_EQ(c, s.ier & 0xF0, 0);
    INV_EQ(c, s.mcr & 0xE0, 0);
    if (!c->run->loopback)
        INV_EQ(c, s.mcr & VCON_UART_MCR_LOOP, 0);

    /* (2) capacities. */
    INV_TRUE(c, s.rx_count <= s.rx_capacity);
    INV_TRUE(c, s.tx_count <= s.tx_capacity);
    INV_TRUE(c, s.input_count <= VCON_UART_HV_INPUT_BUFFER);
    if (c->run->flavour == VCON_UART_FLAVOUR_DM)
        INV_EQ(c, s.input_count, 0);
    INV_EQ(c, s.rx_capacity, s.fifo_enabled ? c->rx_cap : 1u);
    INV_EQ(c, s.tx_capacity, s.fifo_enabled ? c->tx_cap : 1u);

    /* LSR reflects the FIFOs; the line-status condition is the error bits. */
    INV_EQ(c, (s.lsr & VCON_UART_LSR_DR) != 0, s.rx_count > 0);
    INV_EQ(c, (s.lsr & VCON_UART_LSR_THRE) != 0, s.tx_count == 0);
    INV_EQ(c, (s.lsr & VCON_UART_LSR_TEMT) != 0, s.tx_count == 0);
    INV_EQ(c, s.line_status_pending, (s.lsr & 0x1E) != 0);
    if (s.rx_count == 0)
        INV_EQ(c, s.lsr & VCON_UART_LSR_RXFE, 0);

    /* Conditions that cannot hold. */
    if (s.timeout_pending) {
        INV_EQ(c, profile, VCON_UART_PROFILE_16550A);
        INV_TRUE(c, s.fifo_enabled);
        INV_TRUE(c, s.rx_count > 0);
    }
    if (s.thre_pending)
        INV_EQ(c, s.tx_count, 0);

    /* (3) IIR. */
    INV_EQ(c, s.iir & 0x0F, id);
    INV_EQ(c, s.iir & 0x30, 0);
    INV_EQ(c, s.iir & 0xC0, s.fifo_enabled ? 0xC0 : 0x00);

    /* (1) the line. */
    if (c->run->mode == VCON_UART_IRQ_LEVEL) {
        INV_EQ(c, line, s.irq_level);
        INV_EQ(c, line, id != VCON_UART_IIR_NO_INT);
        if (!c->line0 && line)
            INV_TRUE(c, raises > c->raises0);
    } else {
        INV_EQ(c, line, 0);
        if (id0 == VCON_UART_IIR_NO_INT && id != VCON_UART_IIR_NO_INT)
            INV_TRUE(c, raises > c->raises0);
    }
    INV_EQ(c, st.irq_raises, raises);
    INV_TRUE(c, raises >= c->raises0);

    /* MSR lines: the host's outside loopback, the outputs in loopback. */
    if (s.mcr & VCON_UART_MCR_LOOP)
        INV_EQ(c, s.msr & 0xF0, loopback_lines(s.mcr));
    else
        INV_EQ(c, s.msr & 0xF0, c->host_lines);

    /* Bytes handed to the backend are what it got. */
    INV_EQ(c, st.tx_bytes, out);

    /* A reset does not touch the backend. */
    if (c->is_reset) {
        INV_EQ(c, pending, c->pending0);
        INV_EQ(c, out, c->out0);
    }

    /* (4) conservation. */
    if (!c->run->loopback) {
        INV_EQ(c, c->fed + c->injected,
               pending + s.input_count + s.rx_count + c->guest_reads + st.overruns +
                   st.input_dropped + c->rx_cleared);
        INV_EQ(c, c->thr_writes, out + s.tx_count + st.tx_dropped + c->tx_cleared);
    }
    if (c->run->profile == VCON_UART_PROFILE_16550A && !c->run->loopback &&
        c->run->flavour == VCON_UART_FLAVOUR_DM)
        INV_EQ(c, st.input_dropped, 0);

    /* Character timeout: only time fires it, never early, never late. */
    track_timer(c, &s, &st, now);
    if (s.timeout_pending && !c->s0.timeout_pending) {
        c->timeouts_fired++;
        INV_TRUE(c, c->is_advance);
        INV_TRUE(c, c->ct4_min_strict != UINT64_MAX);
        /* now - t_strict + slack >= 4 character times (the shortest in force) */
        INV_TRUE(c, (now - c->t_strict + SLACK_NS) * (uint64_t)CLOCK_HZ >= c->ct4_min_strict);
    }
    if (c->is_advance && profile == VCON_UART_PROFILE_16550A && s.fifo_enabled &&
        s.rx_count > 0 && s.rx_count < trigger_level(s.fcr) && !c->zero_div_since_loose &&
        c->ct4_max_loose != 0 &&
        (now - c->t_loose) * (uint64_t)CLOCK_HZ >= c->ct4_max_loose + SLACK_NS * (uint64_t)CLOCK_HZ) {
        c->must_fire_checks++;
        INV_TRUE(c, s.timeout_pending);
    }

    /* Coverage of the run. */
    c->seen_id[id & 0x0F]++;
    if (s.rx_count == s.rx_capacity && s.fifo_enabled)
        c->full_fifo++;
    if (s.input_count == VCON_UART_HV_INPUT_BUFFER)
        c->hv_buffer_full++;
    if (s.tx_count > 0)
        c->tx_blocked++;
    c->op++;
}

/* ---- operations --------------------------------------------------------------------- */

static uint8_t gen_byte_for(struct ctx *c, unsigned offset, uint8_t lcr)
{
    struct rng *r = &c->rng;
    const bool dlab = (lcr & VCON_UART_LCR_DLAB) != 0;
    switch (offset) {
    case 0:
        if (dlab) {
            static const uint8_t dll[] = {0, 1, 2, 3, 6, 12, 18, 0x60};
            return rng_percent(r, 90) ? dll[rng_below(r, sizeof dll)] : rng_byte(r);
        }
        return rng_byte(r);
    case 1:
        if (dlab)
            return rng_percent(r, 85) ? 0 : (rng_percent(r, 70) ? 1 : rng_byte(r));
        return rng_percent(r, 90) ? (uint8_t)(rng_byte(r) & 0x0F) : rng_byte(r);
    case 2: {
        static const uint8_t fcr[] = {0x00, 0x01, 0x03, 0x05, 0x07, 0x41, 0x43, 0x81,
                                      0x87, 0xC1, 0xC7, 0xC9, 0x06, 0xC0, 0x01, 0x41};
        return rng_percent(r, 90) ? fcr[rng_below(r, sizeof fcr)] : rng_byte(r);
    }
    case 3: {
        static const uint8_t lcrs[] = {0x03, 0x03, 0x00, 0x04, 0x0B, 0x0F, 0x1B, 0x07, 0x0C, 0x02};
        if (rng_percent(r, 5))
            return rng_byte(r);
        uint8_t v = lcrs[rng_below(r, sizeof lcrs)];
        if (rng_percent(r, 25))
            v |= VCON_UART_LCR_DLAB;
        if (rng_percent(r, 5))
            v |= VCON_UART_LCR_BREAK;
        return v;
    }
    case 4: {
        uint8_t v = rng_percent(r, 95) ? (uint8_t)(rng_byte(r) & 0x0F) : rng_byte(r);
        if (c->run->loopback && rng_percent(r, 10))
            c->loop_wanted = !c->loop_wanted;
        v = (uint8_t)(v & ~VCON_UART_MCR_LOOP);
        if (c->loop_wanted)
            v |= VCON_UART_MCR_LOOP;
        return v;
    }
    default:
        return rng_byte(r);
    }
}

static unsigned gen_offset(struct rng *r)
{
    static const unsigned weights[10] = {30, 8, 14, 10, 8, 14, 7, 4, 3, 2};
    unsigned x = rng_below(r, 100);
    for (unsigned i = 0; i < 10; i++) {
        if (x < weights[i])
            return i;
        x -= weights[i];
    }
    return 0;
}

/* Accounting for one byte written at `offset`, from the state before. */
static void account_write_byte(struct ctx *c, unsigned offset, uint8_t value)
{
    const struct vcon_uart_state *s = &c->s0;
    const bool dlab = (s->lcr & VCON_UART_LCR_DLAB) != 0;
    const bool loop = (s->mcr & VCON_UART_MCR_LOOP) != 0;
    switch (offset) {
    case 0:
        if (!dlab && !loop)
            c->thr_writes++;
        if (dlab || loop)
            c->loose = true;
        break;
    case 1:
        if (dlab)
            c->loose = true;
        break;
    case 2: {
        const bool enable = (value & VCON_UART_FCR_ENABLE) != 0;
        const bool toggle = enable != s->fifo_enabled;
        if (toggle || (enable && (value & VCON_UART_FCR_CLEAR_RX)))
            c->rx_cleared += s->rx_count;
        if (toggle || (enable && (value & VCON_UART_FCR_CLEAR_TX)))
            c->tx_cleared += s->tx_count;
        /* Not a timer event: a clear empties the FIFO (no timeout without
         * data) and a refill counts as received bytes. */
        break;
    }
    case 3:
        c->loose = true;
        break;
    case 4:
        if (c->run->loopback)
            c->loose = true;
        break;
    default:
        break;
    }
}

static void op_access(struct ctx *c, unsigned offset, unsigned size, bool write)
{
    struct fx *f = c->f;
    begin(c);
    if (write) {
        const uint8_t lo = gen_byte_for(c, offset, c->s0.lcr);
        const uint8_t hi = size == 2 ? gen_byte_for(c, offset + 1, c->s0.lcr) : 0;
        const uint32_t value = size == 2 ? (uint32_t)lo | ((uint32_t)hi << 8) : lo;
        note(c, "write off %u size %u value 0x%x", offset, size, value);
        account_write_byte(c, offset, lo);
        if (size == 2)
            account_write_byte(c, offset + 1, hi);
        assert_int_equal(vcon_uart_write(f->uart, offset, size, value), 0);
    } else {
        note(c, "read off %u size %u", offset, size);
        if (offset == 0 && !(c->s0.lcr & VCON_UART_LCR_DLAB) && c->s0.rx_count > 0) {
            c->rbr_consumed = true;
            c->guest_reads++;
            c->loose = true;
        }
        uint32_t value = 0;
        assert_int_equal(vcon_uart_read(f->uart, offset, size, &value), 0);
        if (size == 1)
            INV_EQ(c, value >> 8, 0);
        if (offset >= 8)
            INV_EQ(c, value, size == 2 ? 0xFFFFu : 0xFFu);
        if (offset + size > 8 && offset < 8)
            INV_EQ(c, value >> 8, 0xFF);
        if (offset == 0 && !(c->s0.lcr & VCON_UART_LCR_DLAB) && c->s0.rx_count == 0 &&
            c->run->profile == VCON_UART_PROFILE_ACRN_DM)
            INV_EQ(c, value & 0xFF, 0xFF);
        if (offset == 1 && !(c->s0.lcr & VCON_UART_LCR_DLAB))
            INV_EQ(c, value & 0xFF, c->s0.ier);
        if (offset == 2)
            INV_EQ(c, value & 0xFF, c->s0.iir);
        if (offset == 3)
            INV_EQ(c, value & 0xFF, c->s0.lcr);
        if (offset == 5)
            INV_EQ(c, value & 0xFF, c->s0.lsr);
        if (offset == 6)
            INV_EQ(c, value & 0xFF, c->s0.msr);
        if (offset == 7)
            INV_EQ(c, value & 0xFF, c->s0.scr);
    }
    end(c);
}

static void op_random_access(struct ctx *c)
{
    struct rng *r = &c->rng;
    const unsigned offset = gen_offset(r);
    const unsigned size = rng_percent(r, 12) ? 2 : 1;
    const bool write = rng_percent(r, offset == 0 ? 40 : 45);
    op_access(c, offset, size, write);
}

static void op_input(struct ctx *c)
{
    struct rng *r = &c->rng;
    unsigned len;
    const unsigned kind = rng_below(r, 100);
    if (kind < 70)
        len = rng_range(r, 1, 8);
    else if (kind < 90)
        len = rng_range(r, 9, 64);
    else if (kind < 98)
        len = rng_range(r, 65, 400);
    else
        len = rng_range(r, 1500, 3000);
    uint8_t buf[3000];
    for (unsigned i = 0; i < len; i++)
        buf[i] = rng_byte(r);
    const bool ready = rng_percent(r, 85);
    begin(c);
    note(c, "input %u bytes%s", len, ready ? " + ready" : "");
    fx_queue(c->f, buf, len);
    c->fed += len;
    if (ready) {
        c->loose = true;
        fx_ready(c->f);
    }
    end(c);
}

static void op_ready(struct ctx *c)
{
    begin(c);
    note(c, "backend_ready");
    c->loose = true;
    fx_ready(c->f);
    end(c);
}

static void op_budget(struct ctx *c)
{
    struct rng *r = &c->rng;
    const unsigned kind = rng_below(r, 10);
    const size_t budget = kind < 4 ? 0 : (kind < 7 ? rng_range(r, 1, 20) : SIZE_MAX);
    begin(c);
    note(c, "write budget %zu", budget);
    fx_budget(c->f, budget);
    end(c);
}

static void op_script(struct ctx *c)
{
    struct rng *r = &c->rng;
    const unsigned kind = rng_below(r, 10);
    begin(c);
    if (kind < 4) {
        note(c, "input pause");
        assert_int_equal(vcon_script_input_pause(c->f->backend), 0);
    } else if (kind < 6) {
        note(c, "input eof");
        assert_int_equal(vcon_script_input_eof(c->f->backend), 0);
    } else if (kind < 9) {
        note(c, "connect");
        vcon_script_connect(c->f->backend);
    } else {
        note(c, "disconnect");
        vcon_script_disconnect(c->f->backend);
    }
    end(c);
}

static void op_error(struct ctx *c)
{
    struct rng *r = &c->rng;
    uint8_t errors = 0;
    while (errors == 0) {
        if (rng_percent(r, 40))
            errors |= VCON_UART_LSR_PE;
        if (rng_percent(r, 40))
            errors |= VCON_UART_LSR_FE;
        if (rng_percent(r, 25))
            errors |= VCON_UART_LSR_BI;
    }
    uint8_t ch = rng_byte(r);
    if (errors & VCON_UART_LSR_BI) {
        ch = 0;
        errors |= VCON_UART_LSR_FE;
    }
    begin(c);
    note(c, "receive_with_error 0x%02x errors 0x%02x", ch, errors);
    c->injected++;
    c->loose = true;
    const int rc = vcon_uart_receive_with_error(c->f->uart, ch, errors);
    INV_TRUE(c, rc == 0 || rc == -ENOSPC);
    if (!c->run->loopback || !(c->s0.mcr & VCON_UART_MCR_LOOP)) {
        const struct vcon_uart_stats st = fx_stats(c->f);
        INV_EQ(c, rc == -ENOSPC, st.overruns == c->st0.overruns + 1);
    }
    end(c);
}

static void op_modem(struct ctx *c)
{
    struct rng *r = &c->rng;
    const uint8_t lines = (uint8_t)(rng_byte(r) & 0xF0);
    begin(c);
    note(c, "set_modem_lines 0x%02x", lines);
    vcon_uart_set_modem_lines(c->f->uart, lines);
    c->host_lines = lines;
    end(c);
}

static void op_drain(struct ctx *c)
{
    const unsigned n = rng_range(&c->rng, 1, 40);
    for (unsigned i = 0; i < n; i++)
        op_access(c, RBR, 1, false);
}

static void op_advance(struct ctx *c)
{
    struct rng *r = &c->rng;
    const struct vcon_uart_state s = fx_state(c->f);
    const uint64_t now = fx_now(c->f);
    const uint64_t k = four_ct_num(&s);
    uint64_t ns;
    const unsigned kind = rng_below(r, 100);
    if (kind < 25 || k == 0) {
        ns = rng_below(r, 5000);
    } else if (kind < 45) {
        /* about one timeout span */
        ns = k / CLOCK_HZ - 2 * SLACK_NS + rng_below(r, 4 * SLACK_NS + 1);
    } else if (kind < 65 && c->ct4_min_strict != UINT64_MAX) {
        /* just before the earliest moment it may fire */
        const uint64_t at = c->t_strict + c->ct4_min_strict / CLOCK_HZ - SLACK_NS - 1 - rng_below(r, 3);
        ns = at > now ? at - now : rng_below(r, 100);
    } else if (kind < 85) {
        /* just at the latest moment it must have fired */
        const uint64_t at = c->t_loose + (c->ct4_max_loose + CLOCK_HZ - 1) / CLOCK_HZ + SLACK_NS + rng_below(r, 3);
        ns = at > now ? at - now : rng_below(r, 100);
    } else {
        ns = rng_below(r, 50000000);
    }
    begin(c);
    note(c, "advance %" PRIu64 " ns", ns);
    c->is_advance = true;
    fx_advance(c->f, ns);
    end(c);
}

static void op_reset(struct ctx *c)
{
    begin(c);
    note(c, "reset");
    c->is_reset = true;
    c->loose = true;
    vcon_uart_reset(c->f->uart);
    const struct vcon_uart_state s = fx_state(c->f);
    /* What the reset cleared: the FIFOs (and maybe the HV input buffer). */
    c->rx_cleared += (uint64_t)c->s0.rx_count + c->s0.input_count - s.rx_count - s.input_count;
    c->tx_cleared += (uint64_t)c->s0.tx_count - s.tx_count;
    /* Whether the virtual modem's lines survive a reset is not specified;
     * follow what the device shows (MCR is 0, so no loopback). */
    c->host_lines = (uint8_t)(s.msr & 0xF0);
    c->loop_wanted = false;
    end(c);
}

static void op_bad_size(struct ctx *c)
{
    struct rng *r = &c->rng;
    static const unsigned sizes[] = {0, 3, 4};
    const unsigned size = sizes[rng_below(r, 3)];
    const unsigned offset = rng_below(r, 10);
    const bool write = rng_percent(r, 50);
    begin(c);
    note(c, "%s off %u bad size %u", write ? "write" : "read", offset, size);
    uint32_t value = 0;
    const int rc = write ? vcon_uart_write(c->f->uart, offset, size, rng_byte(r))
                         : vcon_uart_read(c->f->uart, offset, size, &value);
    INV_EQ(c, rc, -EINVAL);
    const struct vcon_uart_state s = fx_state(c->f);
    if (c->check)
        fx_assert_state_equal(&c->s0, &s);
    INV_EQ(c, fx_stats(c->f).bad_accesses, c->st0.bad_accesses + 1);
    end(c);
}

static void take_snapshot(struct fx *f, struct snapshot *snap)
{
    memset(snap, 0, sizeof *snap);
    snap->state = fx_state(f);
    snap->stats = fx_stats(f);
    size_t len = 0;
    const uint8_t *out = vcon_script_output(f->backend, &len);
    snap->out_len = len;
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < len; i++)
        h = (h ^ out[i]) * 0x100000001b3ull;
    snap->out_hash = h;
    snap->raises = fx_raises(f);
    snap->now = fx_now(f);
    snap->pending = fx_pending(f);
}

static void run_random(const struct run *run, unsigned ops, bool check, struct snapshot *snap)
{
    struct vcon_uart_config config = fx_config(run->flavour, run->profile, run->mode);
    config.rx_fifo_size = run->rx_fifo;
    config.tx_fifo_size = run->tx_fifo;
    /* Static, so that a failed assertion (a longjmp) leaks nothing. */
    static struct ctx storage;
    struct ctx *c = &storage;
    memset(c, 0, sizeof *c);
    c->run = run;
    c->check = check;
    c->f = fx_create(&config);
    c->rng.s = run->seed;
    c->rx_cap = run->rx_fifo ? run->rx_fifo : fx_profile_fifo(run->profile);
    c->tx_cap = run->tx_fifo ? run->tx_fifo : c->rx_cap;
    c->host_lines = fx_profile_msr(run->profile);
    c->ct4_min_strict = UINT64_MAX;

    while (c->op < ops) {
        const unsigned pick = rng_below(&c->rng, 1000);
        if (pick < 450)
            op_random_access(c);
        else if (pick < 560)
            op_input(c);
        else if (pick < 600)
            op_ready(c);
        else if (pick < 630)
            op_budget(c);
        else if (pick < 645)
            op_script(c);
        else if (pick < 685)
            op_error(c);
        else if (pick < 710)
            op_modem(c);
        else if (pick < 720)
            op_drain(c);
        else if (pick < 995)
            op_advance(c);
        else if (pick < 998)
            op_reset(c);
        else
            op_bad_size(c);
    }

    const struct vcon_uart_stats st = fx_stats(c->f);
    print_message("    [ %s: %u ops; ids rls %u rx %u/%u thre %u msr %u none %u; timeouts %u "
                  "(must-fire checks %u); full fifo %u; hv buffer full %u; tx waiting %u; "
                  "rx %" PRIu64 " tx %" PRIu64 " overruns %" PRIu64 " in-dropped %" PRIu64
                  " tx-dropped %" PRIu64 " raises %" PRIu64 " ]\n",
                  run->name, c->op, c->seen_id[6], c->seen_id[4], c->seen_id[12], c->seen_id[2],
                  c->seen_id[0], c->seen_id[1], c->timeouts_fired, c->must_fire_checks,
                  c->full_fifo, c->hv_buffer_full, c->tx_blocked, st.rx_bytes, st.tx_bytes,
                  st.overruns, st.input_dropped, st.tx_dropped, st.irq_raises);

    /* The run reached what it is meant to exercise. */
    if (!check)
        goto out;
    assert_true(c->seen_id[VCON_UART_IIR_RLS] > 0);
    assert_true(c->seen_id[VCON_UART_IIR_THRE] > 0);
    assert_true(c->seen_id[VCON_UART_IIR_MSR] > 0);
    assert_true(c->seen_id[VCON_UART_IIR_TIMEOUT] > 0);
    if (run->profile == VCON_UART_PROFILE_16550A) {
        assert_true(c->seen_id[VCON_UART_IIR_RDA] > 0);
        assert_true(c->timeouts_fired > 0);
        assert_true(c->must_fire_checks > 0);
    }
    assert_true(c->full_fifo > 0);
    assert_true(c->tx_blocked > 0);
    assert_true(st.overruns > 0);
    assert_true(st.tx_dropped > 0);
    if (run->flavour == VCON_UART_FLAVOUR_HV)
        assert_true(c->hv_buffer_full > 0);

out:
    if (snap != NULL)
        take_snapshot(c->f, snap);
    fx_destroy(c->f);
}

/* ---- the runs ------------------------------------------------------------------------ */

#define DM VCON_UART_FLAVOUR_DM
#define HV VCON_UART_FLAVOUR_HV
#define P16 VCON_UART_PROFILE_16550A
#define PAC VCON_UART_PROFILE_ACRN_DM
#define LEVEL VCON_UART_IRQ_LEVEL
#define EDGE VCON_UART_IRQ_EDGE

static const struct run runs[] = {
    {"dm/16550a/level", DM, P16, LEVEL, false, 0, 0, 0x9E3779B97F4A7C15ull},
    {"dm/16550a/edge", DM, P16, EDGE, false, 0, 0, 0xD1B54A32D192ED03ull},
    {"dm/acrn-dm/level", DM, PAC, LEVEL, false, 0, 0, 0x8CB92BA72F3D8DD7ull},
    {"dm/acrn-dm/edge", DM, PAC, EDGE, false, 0, 0, 0xABC98388FB8FAC03ull},
    {"hv/16550a/level", HV, P16, LEVEL, false, 0, 0, 0x2545F4914F6CDD1Dull},
    {"hv/16550a/edge/rx32-tx8", HV, P16, EDGE, false, 32, 8, 0x94D049BB133111EBull},
    {"hv/acrn-dm/level", HV, PAC, LEVEL, false, 0, 0, 0xBF58476D1CE4E5B9ull},
    {"hv/acrn-dm/edge/rx64-tx16", HV, PAC, EDGE, false, 64, 16, 0x7FB5D329728EA185ull},
    {"dm/16550a/level/loopback", DM, P16, LEVEL, true, 0, 0, 0x0123456789ABCDEFull},
    {"dm/16550a/edge/loopback", DM, P16, EDGE, true, 0, 0, 0xFEDCBA9876543210ull},
    {"dm/acrn-dm/level/loopback", DM, PAC, LEVEL, true, 0, 0, 0x5851F42D4C957F2Dull},
    {"dm/acrn-dm/edge/loopback", DM, PAC, EDGE, true, 0, 0, 0x14057B7EF767814Full},
    {"hv/16550a/level/loopback", HV, P16, LEVEL, true, 0, 0, 0xC2B2AE3D27D4EB4Full},
    {"hv/16550a/edge/loopback", HV, P16, EDGE, true, 0, 0, 0x165667B19E3779F9ull},
    {"hv/acrn-dm/level/loopback", HV, PAC, LEVEL, true, 0, 0, 0x27D4EB2F165667C5ull},
    {"hv/acrn-dm/edge/loopback", HV, PAC, EDGE, true, 0, 0, 0x85EBCA77C2B2AE63ull},
};

static void random_operations_keep_the_invariants(void **state)
{
    const struct run *run = *state;
    run_random(run, OPS_PER_RUN, true, NULL);
}

static void same_seed_gives_identical_final_state_and_stats(void **state)
{
    (void)state;
    static const size_t picks[] = {0, 7, 13};
    for (size_t i = 0; i < sizeof picks / sizeof picks[0]; i++) {
        const struct run *run = &runs[picks[i]];
        struct snapshot a, b;
        /* Invariants are the other tests' business: only record here. */
        run_random(run, OPS_PER_RUN, false, &a);
        run_random(run, OPS_PER_RUN, false, &b);
        fx_assert_state_equal(&a.state, &b.state);
        fx_assert_stats_equal(&a.stats, &b.stats);
        assert_int_equal(a.out_len, b.out_len);
        assert_int_equal(a.out_hash, b.out_hash);
        assert_int_equal(a.raises, b.raises);
        assert_int_equal(a.now, b.now);
        assert_int_equal(a.pending, b.pending);
    }
}

#define RUN_TEST(i)                                                                          \
    cmocka_unit_test_prestate_setup_teardown(random_operations_keep_the_invariants, NULL,   \
                                             fx_teardown_live, (void *)&runs[i])

int main(void)
{
    struct CMUnitTest tests[] = {
        RUN_TEST(0),  RUN_TEST(1),  RUN_TEST(2),  RUN_TEST(3),  RUN_TEST(4),  RUN_TEST(5),
        RUN_TEST(6),  RUN_TEST(7),  RUN_TEST(8),  RUN_TEST(9),  RUN_TEST(10), RUN_TEST(11),
        RUN_TEST(12), RUN_TEST(13), RUN_TEST(14), RUN_TEST(15),
        FX_TEST(same_seed_gives_identical_final_state_and_stats),
    };
    /* Name each instance after its run. */
    static char names[16][96];
    for (int i = 0; i < 16; i++) {
        snprintf(names[i], sizeof names[i], "random_operations_keep_the_invariants[%s]",
                 runs[i].name);
        tests[i].name = names[i];
    }
    return cmocka_run_group_tests(tests, NULL, NULL);
}
