/* Bytes between a port's queues and its backend. Back-pressure both ways:
 * the device never reads more from a backend than the guest's buffer can
 * take, and a guest buffer the backend cannot take yet stays with the device
 * (one held chain per port) until vcon_console_backend_ready(). */
#include "console_internal.h"

bool console_port_usable(const struct vcon_console *c, unsigned port)
{
    if (port >= c->config.max_ports || !c->port[port].present || !console_driver_ok(c))
        return false;
    return port == 0 || console_multiport(c);
}

static uint32_t min_u32(uint32_t a, uint32_t b)
{
    return a < b ? a : b;
}

/* The backend answered CLOSED: the guest learns it (multiport) once. */
static void note_closed(struct vcon_console *c, unsigned port)
{
    if (c->port[port].host_open)
        console_ctrl_host_open(c, port, false);
}

/* ---- host -> guest ------------------------------------------------------ */

enum fill_end {
    FILL_FULL,    /* the chain is full: try the next one */
    FILL_NO_DATA, /* the backend has nothing more now */
    FILL_CLOSED,
    FILL_FAULT,   /* guest memory refused the write */
};

/* Read from the backend into the chain, never more than fits. */
static enum fill_end fill_chain(struct vcon_console *c, unsigned port, struct vcon_virtq *vq,
                                const struct vcon_virtq_chain *chain, uint32_t *filled)
{
    uint8_t buf[CONSOLE_IO_CHUNK];
    *filled = 0;
    while (*filled < chain->in_bytes) {
        uint32_t want = min_u32(chain->in_bytes - *filled, CONSOLE_IO_CHUNK);
        int n = c->host.backend_read(c->host.ctx, port, buf, want);
        if (n == VCON_BACKEND_CLOSED)
            return FILL_CLOSED;
        if (n <= 0)
            return FILL_NO_DATA;
        if ((uint32_t)n > want)
            n = (int)want; /* a host bug; never trust a length */
        if (vcon_virtq_write_chain(vq, chain, *filled, buf, (uint32_t)n) != n) {
            c->stats.rx_lost_bytes += (uint32_t)n;
            return FILL_FAULT;
        }
        *filled += (uint32_t)n;
    }
    return FILL_FULL;
}

void console_port_rx(struct vcon_console *c, unsigned port)
{
    struct console_port *p;
    struct vcon_virtq *vq;
    struct vcon_virtq_chain *chain = &c->data_chain;
    bool pushed = false, closed = false;

    if (!console_port_usable(c, port))
        return;
    p = &c->port[port];
    if (console_multiport(c) && !p->guest_open)
        return;
    vq = console_queue(c, vcon_console_rx_queue(port));
    if (vq == NULL)
        return;
    for (;;) {
        uint32_t filled;
        enum fill_end end;
        if (!console_pop(vq, chain, &pushed))
            break;
        if (chain->nr_out > 0 || chain->in_bytes == 0) {
            if (!console_refuse_chain(c, vq, chain, &c->stats.data_malformed,
                                      "virtio-console: rx buffer with device-readable parts, returned",
                                      &pushed))
                break;
            continue;
        }
        end = fill_chain(c, port, vq, chain, &filled);
        if (filled == 0 && end != FILL_FAULT) {
            /* Nothing for this buffer: the guest keeps it for later. */
            vcon_virtq_unpop(vq);
            closed = end == FILL_CLOSED;
            break;
        }
        if (end == FILL_FAULT) {
            c->stats.data_malformed++;
            console_log(c, VCON_LOG_WARN, "virtio-console: rx buffer outside guest RAM");
        }
        c->stats.rx_bytes += filled;
        p->to_guest_bytes += filled;
        pushed = true;
        if (vcon_virtq_push(vq, chain->head, filled) != 0)
            break;
        if (end == FILL_CLOSED)
            closed = true;
        if (end == FILL_CLOSED || end == FILL_NO_DATA)
            break;
    }
    if (pushed)
        vcon_virtio_pci_notify_queue(c->transport, vcon_console_rx_queue(port));
    if (closed)
        note_closed(c, port);
}

/* ---- guest -> host ------------------------------------------------------ */

enum drain_end {
    DRAIN_DONE,    /* every byte of the chain went to the backend */
    DRAIN_BLOCKED, /* the backend takes no more now: keep the chain */
    DRAIN_CLOSED,
    DRAIN_FAULT,   /* guest memory refused the read */
};

static enum drain_end drain_chain(struct vcon_console *c, unsigned port, struct vcon_virtq *vq,
                                  const struct vcon_virtq_chain *chain)
{
    struct console_port *p = &c->port[port];
    uint8_t buf[CONSOLE_IO_CHUNK];
    while (p->tx_offset < chain->out_bytes) {
        uint32_t want = min_u32(chain->out_bytes - p->tx_offset, CONSOLE_IO_CHUNK);
        int n;
        if (vcon_virtq_read_chain(vq, chain, p->tx_offset, buf, want) != (int)want)
            return DRAIN_FAULT;
        n = c->host.backend_write(c->host.ctx, port, buf, want);
        if (n == VCON_BACKEND_CLOSED)
            return DRAIN_CLOSED;
        if (n <= 0)
            return DRAIN_BLOCKED;
        if ((uint32_t)n > want)
            n = (int)want;
        p->tx_offset += (uint32_t)n;
        p->from_guest_bytes += (uint32_t)n;
        c->stats.tx_bytes += (uint32_t)n;
    }
    return DRAIN_DONE;
}

void console_port_tx(struct vcon_console *c, unsigned port)
{
    struct console_port *p;
    struct vcon_virtq *vq;
    struct vcon_virtq_chain *chain;
    bool pushed = false, closed = false;

    if (!console_port_usable(c, port))
        return;
    p = &c->port[port];
    vq = console_queue(c, vcon_console_tx_queue(port));
    if (vq == NULL)
        return;
    chain = &c->held[port];
    for (;;) {
        enum drain_end end;
        if (!p->tx_held) {
            if (!console_pop(vq, chain, &pushed))
                break;
            if (chain->nr_in > 0) {
                if (!console_refuse_chain(c, vq, chain, &c->stats.data_malformed,
                                          "virtio-console: tx buffer with device-writable parts, returned",
                                          &pushed))
                    break;
                continue;
            }
            p->tx_held = true;
            p->tx_offset = 0;
        }
        end = drain_chain(c, port, vq, chain);
        if (end == DRAIN_BLOCKED)
            break;
        if (end == DRAIN_CLOSED) {
            /* Keep draining: a closed peer must not stall the guest. */
            c->stats.tx_dropped_bytes += chain->out_bytes - p->tx_offset;
            closed = true;
        } else if (end == DRAIN_FAULT) {
            c->stats.data_malformed++;
            console_log(c, VCON_LOG_WARN, "virtio-console: tx buffer outside guest RAM");
        }
        p->tx_held = false;
        pushed = true;
        if (vcon_virtq_push(vq, chain->head, 0) != 0)
            break;
    }
    if (pushed)
        vcon_virtio_pci_notify_queue(c->transport, vcon_console_tx_queue(port));
    if (closed)
        note_closed(c, port);
}

void console_port_release_tx(struct vcon_console *c, unsigned port)
{
    struct console_port *p = &c->port[port];
    const unsigned index = vcon_console_tx_queue(port);
    struct vcon_virtq *vq;
    if (!p->tx_held)
        return;
    p->tx_held = false;
    c->stats.tx_dropped_bytes += c->held[port].out_bytes - p->tx_offset;
    /* The chain goes back to the ring it came from whatever the status:
     * the guest gets its buffer back even if it cleared DRIVER_OK. */
    vq = vcon_virtio_pci_queue(c->transport, index);
    if (vq == NULL || !vcon_virtq_ready(vq) || vcon_virtq_push(vq, c->held[port].head, 0) != 0)
        return;
    if (console_driver_ok(c))
        vcon_virtio_pci_notify_queue(c->transport, index);
}

void console_port_forget_tx(struct vcon_console *c, unsigned port)
{
    struct console_port *p = &c->port[port];
    if (!p->tx_held)
        return;
    /* Its ring was replaced: there is nothing to return it to. */
    c->stats.tx_dropped_bytes += c->held[port].out_bytes - p->tx_offset;
    p->tx_held = false;
    p->tx_offset = 0;
}
