/* A UART's bytes followed from outside the device (harness/uart_model.h),
 * written from docs/uart.md: what each flavour may drop and counts, and
 * which accesses put bytes in the FIFOs or clear them. */
#include "harness/uart_model.h"

#define INVARIANT_SOURCE "harness/uart_model.c"
#include "invariant_require.h"

static void shadow_clear(struct vcon_uart_model_shadow *s)
{
    s->head = 0;
    s->count = 0;
}

/* A FIFO whose contents the model lost track of (or never knew) is followed
 * again from the moment it is empty. */
static void follow_when_empty(struct vcon_uart_model_shadow *s, bool *known, unsigned fifo_count)
{
    *known = fifo_count == 0;
    if (*known)
        shadow_clear(s);
}

static bool shadow_push(struct vcon_uart_model_shadow *s, uint8_t b, struct vcon_invariant_failure *why)
{
    REQUIRE(s->count < VCON_UART_MODEL_SHADOW, "shadow: model within its size", "%u bytes",
            s->count);
    s->byte[(s->head + s->count) % VCON_UART_MODEL_SHADOW] = b;
    s->count++;
    return true;
}

static uint8_t shadow_at(const struct vcon_uart_model_shadow *s, unsigned i)
{
    return s->byte[(s->head + i) % VCON_UART_MODEL_SHADOW];
}

static void shadow_drop(struct vcon_uart_model_shadow *s, unsigned n)
{
    s->head = (s->head + n) % VCON_UART_MODEL_SHADOW;
    s->count -= n;
}

void vcon_uart_model_start(struct vcon_uart_model *m, const struct vcon_uart_config *config,
                           const struct vcon_uart_model_view *now)
{
    m->hv = config->flavour == VCON_UART_FLAVOUR_HV;
    m->last = *now;
    follow_when_empty(&m->rx, &m->rx_known, now->st.rx_count);
    follow_when_empty(&m->tx, &m->tx_known, now->st.tx_count);
}

/* What an access does to the bytes, judged from the state before it. */
struct effect {
    bool thr;    /* a THR write (DLAB 0) */
    bool rbr;    /* an RBR read (DLAB 0) */
    bool reset;  /* a reset: also empties the HV flavour's input buffer */
    bool clears; /* may clear the FIFOs: a reset, or a write that reaches FCR */
    bool impure; /* may put a byte that is not the backend's into the receive FIFO */
};

static struct effect effect_of(const struct vcon_uart_state *pre, enum vcon_uart_model_event kind,
                               const struct vcon_uart_model_access *a)
{
    struct effect e = {.reset = kind == VCON_UART_MODEL_RESET,
                       .clears = kind == VCON_UART_MODEL_RESET,
                       .impure = kind == VCON_UART_MODEL_LINE_ERROR};
    if (kind != VCON_UART_MODEL_ACCESS || a == NULL)
        return e;
    /* Only sizes 1 and 2 inside the register block reach a register. */
    if ((a->size != 1 && a->size != 2) || a->offset + a->size > VCON_UART_NR_REGS)
        return e;
    const bool dlab = (pre->lcr & VCON_UART_LCR_DLAB) != 0;
    e.thr = a->is_write && a->offset == VCON_UART_RBR_THR && !dlab;
    e.rbr = !a->is_write && a->offset == VCON_UART_RBR_THR && !dlab;
    e.clears = a->is_write && (a->offset == VCON_UART_IIR_FCR || (a->offset == 1 && a->size == 2));
    e.impure = a->is_write && (pre->mcr & VCON_UART_MCR_LOOP);
    return e;
}

/* Receive side: counts for both flavours, contents for the DM flavour. */
static bool check_receive(struct vcon_uart_model *m, const struct effect *e, uint32_t read_value,
                          const struct vcon_uart_model_view *post,
                          const struct vcon_uart_model_bytes *moved,
                          struct vcon_invariant_failure *why)
{
    const struct vcon_uart_model_view *pre = &m->last;
    const uint64_t taken = moved->taken_len;
    const uint64_t dropped = post->stats.input_dropped - pre->stats.input_dropped;
    const uint64_t pushed = post->stats.rx_bytes - pre->stats.rx_bytes;

    if (e->impure) {
        follow_when_empty(&m->rx, &m->rx_known, post->st.rx_count);
        return true;
    }
    REQUIRE(post->stats.overruns == pre->stats.overruns,
            "uart rx: backend input never overruns the FIFO", "overruns %llu -> %llu",
            (unsigned long long)pre->stats.overruns, (unsigned long long)post->stats.overruns);
    if (m->hv) {
        /* A reset empties the input buffer; nothing counts those bytes. */
        const uint64_t cleared = e->reset ? pre->st.input_count : 0u;
        REQUIRE(taken + pre->st.input_count == pushed + dropped + post->st.input_count + cleared,
                "uart rx conservation: every backend byte is buffered, received or dropped",
                "taken %llu + buffered %u != received %llu + dropped %llu + buffered %u + cleared %llu",
                (unsigned long long)taken, pre->st.input_count, (unsigned long long)pushed,
                (unsigned long long)dropped, post->st.input_count, (unsigned long long)cleared);
        return true;
    }
    REQUIRE(taken == pushed + dropped,
            "uart rx conservation: every backend byte entered the FIFO or was discarded",
            "taken %llu, entered %llu, discarded %llu", (unsigned long long)taken,
            (unsigned long long)pushed, (unsigned long long)dropped);

    /* DM flavour: the FIFO's exact contents. */
    if (!m->rx_known) {
        follow_when_empty(&m->rx, &m->rx_known, post->st.rx_count);
        return true;
    }
    if (e->rbr && m->rx.count > 0) {
        REQUIRE((read_value & 0xFFu) == shadow_at(&m->rx, 0),
                "uart rx conservation: RBR returns the oldest backend byte",
                "RBR 0x%02x, oldest backend byte 0x%02x", read_value & 0xFFu, shadow_at(&m->rx, 0));
        shadow_drop(&m->rx, 1);
    }
    /* Discards come first within one event (a FIFO flush, then the pull). */
    const size_t fresh = (size_t)(taken - dropped);
    if (e->clears && post->st.rx_count == fresh) {
        shadow_clear(&m->rx);
    } else {
        REQUIRE(post->st.rx_count == m->rx.count + fresh,
                "uart rx conservation: the FIFO holds exactly the unread backend bytes",
                "FIFO %u bytes, unread backend bytes %zu", post->st.rx_count,
                (size_t)m->rx.count + fresh);
    }
    for (size_t i = 0; i < fresh; i++)
        if (!shadow_push(&m->rx, moved->taken[dropped + i], why))
            return false;
    return true;
}

/* Transmit side: the backend gets exactly the THR bytes, in order. */
static bool check_transmit(struct vcon_uart_model *m, const struct effect *e, uint32_t thr_value,
                           const struct vcon_uart_model_view *post,
                           const struct vcon_uart_model_bytes *moved,
                           struct vcon_invariant_failure *why)
{
    const struct vcon_uart_model_view *pre = &m->last;
    const uint64_t dropped = post->stats.tx_dropped - pre->stats.tx_dropped;
    const size_t fresh = moved->sent_len;

    /* A THR write in loopback goes to the receive side; into a full FIFO
     * it is dropped (and counted). */
    if (e->thr && m->tx_known && !(pre->st.mcr & VCON_UART_MCR_LOOP) &&
        pre->st.tx_count < pre->st.tx_capacity && !shadow_push(&m->tx, (uint8_t)thr_value, why))
        return false;
    REQUIRE(post->stats.tx_bytes - pre->stats.tx_bytes == fresh,
            "uart tx: tx_bytes counts what the backend took", "tx_bytes +%llu, backend took %zu",
            (unsigned long long)(post->stats.tx_bytes - pre->stats.tx_bytes), fresh);
    if (!m->tx_known) {
        follow_when_empty(&m->tx, &m->tx_known, post->st.tx_count);
        return true;
    }
    REQUIRE(fresh <= m->tx.count, "uart tx conservation: no byte sent twice or invented",
            "backend took %zu bytes, %u written and not yet sent", fresh, m->tx.count);
    for (size_t i = 0; i < fresh; i++)
        REQUIRE(moved->sent[i] == shadow_at(&m->tx, (unsigned)i),
                "uart tx conservation: the backend gets THR bytes in order",
                "byte %zu: backend got 0x%02x, THR had 0x%02x", i, moved->sent[i],
                shadow_at(&m->tx, (unsigned)i));
    shadow_drop(&m->tx, (unsigned)fresh);
    if (post->st.tx_count == m->tx.count)
        return true;
    REQUIRE(post->st.tx_count == 0 && (e->clears || dropped > 0),
            "uart tx conservation: the FIFO holds exactly the bytes not yet sent",
            "FIFO %u bytes, %u written and not yet sent", post->st.tx_count, m->tx.count);
    shadow_clear(&m->tx);
    return true;
}

bool vcon_uart_model_step(struct vcon_uart_model *m, enum vcon_uart_model_event kind,
                          const struct vcon_uart_model_access *access,
                          const struct vcon_uart_model_view *post,
                          const struct vcon_uart_model_bytes *moved,
                          struct vcon_invariant_failure *why)
{
    const struct effect e = effect_of(&m->last.st, kind, access);
    const uint32_t read_value = access != NULL ? access->read_value : 0u;
    const uint32_t written = access != NULL ? access->value : 0u;
    const uint64_t raises = post->raises - m->last.raises;
    const uint64_t counted = post->stats.irq_raises - m->last.stats.irq_raises;
    bool ok = raises == counted;
    if (!ok)
        vcon_invariant_broken(why, INVARIANT_SOURCE,
                              "uart irq: raises seen by the VM equal the device's count",
                              "the VM saw %llu, the device counted %llu",
                              (unsigned long long)raises, (unsigned long long)counted);
    ok = ok && check_receive(m, &e, read_value, post, moved, why);
    ok = ok && check_transmit(m, &e, written, post, moved, why);
    m->last = *post;
    return ok;
}
