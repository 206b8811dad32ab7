/* A virtio-console's bytes followed from outside the device
 * (harness/console_model.h), written from docs/console.md: where received
 * and transmitted bytes go, what the device counts, and that every control
 * chain is one message. */
#include "harness/console_model.h"

#include <string.h>

#include "vcon/virtq.h"

#define INVARIANT_SOURCE "harness/console_model.c"
#include "invariant_require.h"

/* Chains the device has taken from a control queue, or 0 without one. */
static uint64_t queue_chains(struct vcon_console *con, unsigned index)
{
    const struct vcon_virtq *vq = vcon_virtio_pci_queue(vcon_console_transport(con), index);
    return vq != NULL ? vq->stats.chains : 0u;
}

static void take_counters(struct vcon_console_model_counters *c, struct vcon_console *con,
                          size_t msis, uint64_t taken, uint64_t written)
{
    vcon_console_get_stats(con, &c->stats);
    vcon_virtio_pci_get_stats(vcon_console_transport(con), &c->tstats);
    c->msis = msis;
    c->ctrl_rx_chains = queue_chains(con, VCON_CONSOLE_CTRL_RX_QUEUE);
    c->ctrl_tx_chains = queue_chains(con, VCON_CONSOLE_CTRL_TX_QUEUE);
    c->taken = taken;
    c->written = written;
}

void vcon_console_model_start(struct vcon_console_model *m, struct vcon_console *con, size_t msis,
                              uint64_t taken, uint64_t written)
{
    m->pending_rx_len = 0;
    m->recent_total = 0;
    m->emerg = false;
    take_counters(&m->at, con, msis, taken, written);
}

void vcon_console_model_mem_read(struct vcon_console_model *m, const void *bytes, size_t len)
{
    const uint8_t *b = bytes;
    /* Only the last VCON_CONSOLE_MODEL_RECENT bytes matter. */
    const size_t skip = len > VCON_CONSOLE_MODEL_RECENT ? len - VCON_CONSOLE_MODEL_RECENT : 0;
    size_t at = (size_t)((m->recent_total + skip) % VCON_CONSOLE_MODEL_RECENT);
    for (size_t done = skip; done < len;) {
        const size_t room = VCON_CONSOLE_MODEL_RECENT - at;
        const size_t n = len - done < room ? len - done : room;
        memcpy(m->recent + at, b + done, n);
        done += n;
        at = (at + n) % VCON_CONSOLE_MODEL_RECENT;
    }
    m->recent_total += len;
}

bool vcon_console_model_mem_write(struct vcon_console_model *m, const void *bytes, size_t len,
                                  struct vcon_invariant_failure *why)
{
    if (m->pending_rx_len == 0)
        return true;
    REQUIRE(len <= m->pending_rx_len && memcmp(bytes, m->pending_rx, len) == 0,
            "console rx: the guest gets the backend's bytes, in order, once",
            "a write of %zu bytes, %zu backend bytes pending", len, m->pending_rx_len);
    memmove(m->pending_rx, m->pending_rx + len, m->pending_rx_len - len);
    m->pending_rx_len -= len;
    return true;
}

void vcon_console_model_mem_write_failed(struct vcon_console_model *m)
{
    m->pending_rx_len = 0; /* counted in rx_lost_bytes */
}

bool vcon_console_model_backend_read(struct vcon_console_model *m, const void *bytes, size_t len,
                                     struct vcon_invariant_failure *why)
{
    REQUIRE(m->pending_rx_len == 0,
            "console rx: bytes read from a backend reach the guest before the next read",
            "%zu bytes still pending", m->pending_rx_len);
    REQUIRE(len <= sizeof(m->pending_rx), "console rx: backend reads in small chunks",
            "a read of %zu bytes", len);
    memcpy(m->pending_rx, bytes, len);
    m->pending_rx_len = len;
    return true;
}

bool vcon_console_model_backend_write(struct vcon_console_model *m, unsigned port,
                                      const void *bytes, size_t len,
                                      struct vcon_invariant_failure *why)
{
    const uint8_t *b = bytes;
    if (m->emerg) {
        REQUIRE(port == 0 && len == 1 && b[0] == m->emerg_value,
                "console emerg_wr: one byte, the one written, to port 0",
                "%zu bytes to port %u, written 0x%02x", len, port, m->emerg_value);
        return true;
    }
    REQUIRE(len <= 256 && len <= m->recent_total,
            "console tx: the device offers only bytes it read from the guest",
            "%zu bytes offered, %llu read", len, (unsigned long long)m->recent_total);
    for (size_t i = 0; i < len; i++) {
        const uint8_t read = m->recent[(m->recent_total - len + i) % VCON_CONSOLE_MODEL_RECENT];
        REQUIRE(b[i] == read, "console tx: the backend gets the bytes of the guest's buffer, in order",
                "byte %zu of %zu: 0x%02x offered, 0x%02x read", i, len, b[i], read);
    }
    return true;
}

bool vcon_console_model_after(struct vcon_console_model *m, struct vcon_console *con, size_t msis,
                              uint64_t taken, uint64_t written,
                              struct vcon_invariant_failure *why)
{
    const struct vcon_console_model_counters was = m->at;
    const struct vcon_console_model_counters *now = &m->at;
    REQUIRE(m->pending_rx_len == 0,
            "console rx: every byte read from a backend reached the guest or was counted lost",
            "%zu bytes pending", m->pending_rx_len);
    take_counters(&m->at, con, msis, taken, written);
    REQUIRE(now->msis - was.msis == now->tstats.msi_sent - was.tstats.msi_sent,
            "console msi: messages the VM got equal the transport's count",
            "the VM got %zu, the transport sent %llu", now->msis - was.msis,
            (unsigned long long)(now->tstats.msi_sent - was.tstats.msi_sent));
    REQUIRE(now->taken - was.taken == (now->stats.rx_bytes - was.stats.rx_bytes) +
                                          (now->stats.rx_lost_bytes - was.stats.rx_lost_bytes),
            "console rx conservation: bytes from backends are received or counted lost",
            "backends gave %llu, received %llu, lost %llu",
            (unsigned long long)(now->taken - was.taken),
            (unsigned long long)(now->stats.rx_bytes - was.stats.rx_bytes),
            (unsigned long long)(now->stats.rx_lost_bytes - was.stats.rx_lost_bytes));
    REQUIRE(now->written - was.written == (now->stats.tx_bytes - was.stats.tx_bytes) +
                                              (now->stats.emerg_bytes - was.stats.emerg_bytes),
            "console tx conservation: bytes backends took are counted once",
            "backends took %llu, sent %llu, emergency %llu",
            (unsigned long long)(now->written - was.written),
            (unsigned long long)(now->stats.tx_bytes - was.stats.tx_bytes),
            (unsigned long long)(now->stats.emerg_bytes - was.stats.emerg_bytes));
    const uint64_t messages_in = (now->stats.ctrl_in - was.stats.ctrl_in) +
                                 (now->stats.ctrl_malformed - was.stats.ctrl_malformed);
    REQUIRE(messages_in == now->ctrl_tx_chains - was.ctrl_tx_chains,
            "console ctrl: every control chain from the guest is one message, counted once",
            "%llu chains, %llu messages or malformed",
            (unsigned long long)(now->ctrl_tx_chains - was.ctrl_tx_chains),
            (unsigned long long)messages_in);
    const uint64_t messages_out = (now->stats.ctrl_out - was.stats.ctrl_out) +
                                  (now->stats.ctrl_bad_buffers - was.stats.ctrl_bad_buffers);
    REQUIRE(messages_out == now->ctrl_rx_chains - was.ctrl_rx_chains,
            "console ctrl: every control buffer taken carries a message or is refused",
            "%llu buffers, %llu messages or refusals",
            (unsigned long long)(now->ctrl_rx_chains - was.ctrl_rx_chains),
            (unsigned long long)messages_out);
    return true;
}
