/* The control protocol of a multiport console (virtio 1.x 5.3.6.2):
 * guest messages taken from the ctrl tx queue (3), device messages queued
 * inside the device and delivered into ctrl rx buffers (queue 2) as the guest
 * posts them. Every field of a guest message is checked before use. */
#include <string.h>

#include "console_internal.h"

static void put_le16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static void put_le32(uint8_t *p, uint32_t v)
{
    for (unsigned i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint16_t get_le16(const uint8_t *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t get_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* ---- device -> guest ---------------------------------------------------- */

void console_ctrl_clear(struct vcon_console *c)
{
    c->ctrl_head = 0;
    c->ctrl_count = 0;
}

void console_ctrl_enqueue(struct vcon_console *c, uint32_t id, uint16_t event, uint16_t value,
                          const void *payload, uint16_t payload_len)
{
    struct console_msg *m;
    if (c->ctrl_count >= VCON_CONSOLE_CTRL_PENDING_MAX) {
        /* Only a guest that asks for answers without ever posting buffers
         * gets here: its own messages cannot make the queue grow forever. */
        c->stats.ctrl_dropped_full++;
        console_log(c, VCON_LOG_WARN,
                    "virtio-console: control queue full (no ctrl rx buffers), message dropped");
        return;
    }
    m = &c->ctrl[(c->ctrl_head + c->ctrl_count) % VCON_CONSOLE_CTRL_PENDING_MAX];
    m->id = id;
    m->event = event;
    m->value = value;
    if (payload_len > sizeof(m->payload))
        payload_len = sizeof(m->payload);
    m->payload_len = payload_len;
    if (payload_len > 0)
        memcpy(m->payload, payload, payload_len);
    c->ctrl_count++;
}

static void drop_head(struct vcon_console *c)
{
    c->ctrl_head = (c->ctrl_head + 1u) % VCON_CONSOLE_CTRL_PENDING_MAX;
    c->ctrl_count--;
}

/* Bytes of `m` that must fit for the buffer to be used: the header, and the
 * whole payload unless it is a name (a name is cut to fit). */
static uint32_t minimum_size(const struct console_msg *m)
{
    if (m->event == VCON_CONSOLE_PORT_NAME)
        return VCON_CONSOLE_CTRL_HEADER;
    return VCON_CONSOLE_CTRL_HEADER + m->payload_len;
}

void console_ctrl_flush(struct vcon_console *c)
{
    struct vcon_virtq *vq;
    struct vcon_virtq_chain *chain = &c->ctrl_out_chain;
    bool pushed = false;

    if (c->ctrl_count == 0 || !console_multiport(c))
        return;
    vq = console_queue(c, VCON_CONSOLE_CTRL_RX_QUEUE);
    if (vq == NULL)
        return;
    while (c->ctrl_count > 0) {
        const struct console_msg *m = &c->ctrl[c->ctrl_head];
        uint8_t buf[VCON_CONSOLE_CTRL_HEADER + sizeof(m->payload)];
        uint32_t len = VCON_CONSOLE_CTRL_HEADER + m->payload_len;
        if (!console_pop(vq, chain, &pushed))
            break;
        if (chain->nr_out > 0 || chain->in_bytes < minimum_size(m)) {
            if (!console_refuse_chain(c, vq, chain, &c->stats.ctrl_bad_buffers,
                                      "virtio-console: ctrl rx buffer too small or not writable, returned",
                                      &pushed))
                break;
            continue;
        }
        put_le32(buf, m->id);
        put_le16(buf + 4, m->event);
        put_le16(buf + 6, m->value);
        memcpy(buf + VCON_CONSOLE_CTRL_HEADER, m->payload, m->payload_len);
        if (len > chain->in_bytes) {
            len = chain->in_bytes; /* only a PORT_NAME gets here */
            c->stats.ctrl_truncated++;
        }
        if (vcon_virtq_write_chain(vq, chain, 0, buf, len) != (int)len) {
            if (!console_refuse_chain(c, vq, chain, &c->stats.ctrl_bad_buffers,
                                      "virtio-console: ctrl rx buffer outside guest RAM, returned",
                                      &pushed))
                break;
            continue;
        }
        drop_head(c);
        c->stats.ctrl_out++;
        pushed = true;
        if (vcon_virtq_push(vq, chain->head, len) != 0)
            break;
    }
    if (pushed)
        vcon_virtio_pci_notify_queue(c->transport, VCON_CONSOLE_CTRL_RX_QUEUE);
}

bool console_ctrl_port_known(const struct vcon_console *c, unsigned port)
{
    return console_multiport(c) && c->device_ready && port < c->config.max_ports &&
           c->port[port].present;
}

void console_ctrl_host_open(struct vcon_console *c, unsigned port, bool open)
{
    c->port[port].host_open = open;
    if (console_ctrl_port_known(c, port) && c->port[port].guest_ready)
        console_ctrl_enqueue(c, port, VCON_CONSOLE_PORT_OPEN, open ? 1 : 0, NULL, 0);
}

static void enqueue_resize(struct vcon_console *c, unsigned port)
{
    const struct console_port *p = &c->port[port];
    uint8_t size[VCON_CONSOLE_RESIZE_PAYLOAD];
    put_le16(size, p->rows);
    put_le16(size + 2, p->cols);
    console_ctrl_enqueue(c, port, VCON_CONSOLE_RESIZE, 0, size, sizeof(size));
}

void console_ctrl_resize(struct vcon_console *c, unsigned port)
{
    if (c->port[port].is_console && console_ctrl_port_known(c, port) &&
        c->port[port].guest_ready)
        enqueue_resize(c, port);
}

/* ---- guest -> device ---------------------------------------------------- */

static void malformed(struct vcon_console *c, const char *message)
{
    c->stats.ctrl_malformed++;
    console_log(c, VCON_LOG_WARN, message);
}

static void device_ready(struct vcon_console *c, uint16_t value)
{
    if (value == 0) {
        /* The guest gave up on the device: it will not take ports. */
        c->device_ready = false;
        console_log(c, VCON_LOG_WARN, "virtio-console: guest reports device setup failure");
        return;
    }
    c->device_ready = true;
    for (unsigned p = 0; p < c->config.max_ports; p++)
        if (c->port[p].present)
            console_ctrl_enqueue(c, p, VCON_CONSOLE_DEVICE_ADD, 1, NULL, 0);
}

static void port_ready(struct vcon_console *c, unsigned port, uint16_t value)
{
    struct console_port *p = &c->port[port];
    if (value == 0) {
        p->guest_ready = false;
        p->guest_open = false;
        console_log(c, VCON_LOG_WARN, "virtio-console: guest failed to add a port");
        return;
    }
    p->guest_ready = true;
    if (p->is_console)
        console_ctrl_enqueue(c, port, VCON_CONSOLE_CONSOLE_PORT, 1, NULL, 0);
    if (p->name[0] != '\0')
        console_ctrl_enqueue(c, port, VCON_CONSOLE_PORT_NAME, 1, p->name,
                             (uint16_t)strlen(p->name));
    if (p->host_open)
        console_ctrl_enqueue(c, port, VCON_CONSOLE_PORT_OPEN, 1, NULL, 0);
    /* A size the host set before the guest had the port. */
    if (p->is_console && p->size_set)
        enqueue_resize(c, port);
}

static void handle_message(struct vcon_console *c, uint32_t id, uint16_t event, uint16_t value)
{
    switch (event) {
    case VCON_CONSOLE_DEVICE_READY:
        c->stats.ctrl_in++;
        device_ready(c, value);
        return;
    case VCON_CONSOLE_PORT_READY:
    case VCON_CONSOLE_PORT_OPEN:
        if (id >= c->config.max_ports) {
            malformed(c, "virtio-console: control message for a port id out of range");
            return;
        }
        if (!c->port[id].present) {
            malformed(c, "virtio-console: control message for an absent port");
            return;
        }
        c->stats.ctrl_in++;
        if (event == VCON_CONSOLE_PORT_READY) {
            port_ready(c, id, value);
        } else {
            c->port[id].guest_open = value != 0;
            /* Data that waited on the backend can flow now. */
            if (value != 0)
                console_port_rx(c, id);
        }
        return;
    case VCON_CONSOLE_DEVICE_ADD:
    case VCON_CONSOLE_DEVICE_REMOVE:
    case VCON_CONSOLE_CONSOLE_PORT:
    case VCON_CONSOLE_RESIZE:
    case VCON_CONSOLE_PORT_NAME:
        malformed(c, "virtio-console: guest sent a device-to-guest control event");
        return;
    default:
        malformed(c, "virtio-console: unknown control event");
        return;
    }
}

void console_ctrl_receive(struct vcon_console *c)
{
    struct vcon_virtq *vq;
    struct vcon_virtq_chain *chain = &c->ctrl_in_chain;
    bool pushed = false;

    if (!console_multiport(c))
        return;
    vq = console_queue(c, VCON_CONSOLE_CTRL_TX_QUEUE);
    if (vq == NULL)
        return;
    for (;;) {
        uint8_t hdr[VCON_CONSOLE_CTRL_HEADER];
        bool ok;
        int rc;
        if (!console_pop(vq, chain, &pushed))
            break;
        /* Copy the header, give the buffer back, then act: acting may pop
         * other queues, and the chain is not needed any more. */
        ok = chain->nr_in == 0 && chain->out_bytes >= VCON_CONSOLE_CTRL_HEADER &&
             vcon_virtq_read_chain(vq, chain, 0, hdr, sizeof(hdr)) == (int)sizeof(hdr);
        rc = vcon_virtq_push(vq, chain->head, 0);
        pushed = true;
        if (ok)
            handle_message(c, get_le32(hdr), get_le16(hdr + 4), get_le16(hdr + 6));
        else
            malformed(c, "virtio-console: control message shorter than 8 bytes or not "
                         "device-readable");
        if (rc != 0)
            break;
    }
    if (pushed)
        vcon_virtio_pci_notify_queue(c->transport, VCON_CONSOLE_CTRL_TX_QUEUE);
}
