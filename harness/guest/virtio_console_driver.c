/* The guest virtio-console driver at run time: control messages, ports,
 * data in both directions, interrupts, and the public API. Bring-up and
 * reset are in virtio_console_probe.c, rings and buffers in
 * virtio_console_queue.c. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "guest/virtio_console_internal.h"

#define HEAP_DEFAULT_BASE 0x10000u
#define CTRL_MSG_MAX (VCON_CONSOLE_CTRL_HEADER + VCON_CONSOLE_NAME_MAX)

static uint16_t get_le16(const uint8_t *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t get_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t rng_next(struct vcon_guest_console *c)
{
    uint64_t x = c->rng;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    c->rng = x;
    return x;
}

static struct vcon_guest_console_port *pub(struct vcon_guest_console *c, unsigned port)
{
    return &c->port[port].pub;
}

static unsigned rx_queue(unsigned port)
{
    return vcon_console_rx_queue(port);
}

static unsigned tx_queue(unsigned port)
{
    return vcon_console_tx_queue(port);
}

/* ---- control messages out ------------------------------------------------- */

int gvc_send_ctrl(struct vcon_guest_console *c, uint32_t id, uint16_t event, uint16_t value)
{
    const unsigned index = VCON_CONSOLE_CTRL_TX_QUEUE;
    struct gvc_queue *q = &c->q[index];
    const uint8_t msg[VCON_CONSOLE_CTRL_HEADER] = {
        (uint8_t)id, (uint8_t)(id >> 8), (uint8_t)(id >> 16), (uint8_t)(id >> 24),
        (uint8_t)event, (uint8_t)(event >> 8), (uint8_t)value, (uint8_t)(value >> 8),
    };
    /* Without MULTIPORT there is no control queue: Linux sends nothing. */
    if (!c->multiport)
        return 0;
    if (!q->active)
        return -ENODEV;
    gvc_reclaim_tx(c, index);
    const uint64_t gpa = vcon_guest_alloc(&c->heap, sizeof(msg), 16);
    if (gpa == 0) {
        c->n.alloc_failures++;
        c->n.ctrl_tx_full++;
        return -ENOMEM;
    }
    (void)vcon_vm_guest_write(c->vm, gpa, msg, sizeof(msg));
    const uint16_t old = q->vr.avail_idx;
    const int slot = gvc_add_chain(c, index, gpa, sizeof(msg), 1, false);
    if (slot < 0) {
        vcon_guest_free(&c->heap, gpa, sizeof(msg));
        c->n.ctrl_tx_full++;
        return slot;
    }
    c->n.ctrl_out++;
    gvc_kick_if_needed(c, index, old);
    /* Linux spins here until the device returns the buffer; a device that
     * handles kicks at once has done so. Whatever is left is collected at
     * the next send. */
    gvc_reclaim_tx(c, index);
    return 0;
}

/* ---- ports -------------------------------------------------------------- */

/* init_port_console: the port is a console, connected on the guest side. */
static void make_console(struct vcon_guest_console *c, unsigned port)
{
    struct vcon_guest_console_port *p = pub(c, port);
    p->is_console = true;
    p->app_open = true;
    if (!p->guest_open) {
        p->guest_open = true;
        (void)gvc_send_ctrl(c, port, VCON_CONSOLE_PORT_OPEN, 1);
    }
}

void gvc_add_port(struct vcon_guest_console *c, unsigned port)
{
    struct vcon_guest_console_port *p = pub(c, port);
    p->present = true;
    p->adds++;
    p->is_console = false;
    p->guest_open = false;
    p->host_open = false;
    p->has_name = false;
    memset(p->name, 0, sizeof(p->name));
    p->cols = p->rows = 0;
    gvc_fill_rx(c, rx_queue(port), c->opt.rx_bufs, c->opt.rx_buf_size, c->opt.rx_segs);
    if (!c->multiport) {
        make_console(c, port);
        p->cols = c->cols;
        p->rows = c->rows;
    }
    (void)gvc_send_ctrl(c, port, VCON_CONSOLE_PORT_READY, 1);
    /* An application that had the port open before a reset of the device
     * gets it back (virtcons_restore sends PORT_OPEN again). */
    if (p->app_open && !p->guest_open) {
        p->guest_open = true;
        (void)gvc_send_ctrl(c, port, VCON_CONSOLE_PORT_OPEN, 1);
    }
}

/* discard_port_data for everything the port has not handed out: the tty
 * buffer, and held receive buffers, which go back to the ring. */
static void discard_port_data(struct vcon_guest_console *c, unsigned port)
{
    struct gvc_port *gp = &c->port[port];
    const unsigned index = rx_queue(port);
    struct gvc_queue *q = &c->q[index];
    gp->pub.rx_discarded += gp->pub.rx_buffered;
    gp->pub.rx_buffered = 0;
    gp->rx_head = gp->rx_count = 0;
    if (!q->active)
        return;
    const uint16_t old = q->vr.avail_idx;
    while (q->held_head != GVC_NO_SLOT) {
        const uint16_t slot = q->held_head;
        q->held_head = q->slot[slot].held_next;
        q->held--;
        (void)gvc_repost(c, index, slot);
    }
    q->held_tail = GVC_NO_SLOT;
    gvc_kick_if_needed(c, index, old);
}

/* unplug_port: the port is gone with what it had not handed out; its
 * receive buffers stay in the ring for a later DEVICE_ADD. */
static void remove_port(struct vcon_guest_console *c, unsigned port)
{
    struct vcon_guest_console_port *p = pub(c, port);
    p->present = false;
    p->removes++;
    p->app_open = p->guest_open = p->host_open = p->is_console = false;
    discard_port_data(c, port);
    gvc_reclaim_tx(c, tx_queue(port));
}

/* After a reset of the device (virtcons_freeze): ports are announced
 * again; data not read yet is discarded (held buffers went with their
 * queues), so what a reader gets stays a contiguous run of the stream
 * after whatever was discarded. */
void gvc_forget_ports(struct vcon_guest_console *c)
{
    for (unsigned port = 0; port < VCON_GUEST_CONSOLE_MAX_PORTS; port++) {
        struct gvc_port *gp = &c->port[port];
        struct vcon_guest_console_port *p = &gp->pub;
        p->present = p->guest_open = p->host_open = p->is_console = false;
        p->rx_discarded += gp->rx_count;
        p->rx_buffered -= gp->rx_count;
        gp->rx_head = gp->rx_count = 0;
    }
}

/* ---- control messages in -------------------------------------------------- */

static void handle_ctrl(struct vcon_guest_console *c, const uint8_t *msg, uint32_t len)
{
    if (len < VCON_CONSOLE_CTRL_HEADER) {
        c->n.ctrl_bad++;
        return;
    }
    const uint32_t id = get_le32(msg);
    const uint16_t event = get_le16(msg + 4);
    const uint16_t value = get_le16(msg + 6);
    c->n.ctrl_in++;
    if (event == VCON_CONSOLE_DEVICE_ADD) {
        if (id >= c->nr_ports) {
            c->n.ctrl_bad++;
        } else if (pub(c, id)->present) {
            (void)gvc_send_ctrl(c, id, VCON_CONSOLE_PORT_READY, 1);
        } else {
            gvc_add_port(c, id);
        }
        return;
    }
    if (id >= c->nr_ports || !pub(c, id)->present) {
        c->n.ctrl_bad++;
        return;
    }
    struct vcon_guest_console_port *p = pub(c, id);
    switch (event) {
    case VCON_CONSOLE_DEVICE_REMOVE:
        remove_port(c, id);
        break;
    case VCON_CONSOLE_CONSOLE_PORT:
        if (value != 0 && !p->is_console)
            make_console(c, id);
        break;
    case VCON_CONSOLE_RESIZE:
        if (!p->is_console)
            break;
        if (len < VCON_CONSOLE_CTRL_HEADER + VCON_CONSOLE_RESIZE_PAYLOAD) {
            c->n.ctrl_bad++;
            break;
        }
        /* Linux's layout: rows, then cols. */
        p->rows = get_le16(msg + VCON_CONSOLE_CTRL_HEADER);
        p->cols = get_le16(msg + VCON_CONSOLE_CTRL_HEADER + 2);
        p->resizes++;
        break;
    case VCON_CONSOLE_PORT_OPEN:
        p->host_open = value != 0;
        p->host_open_msgs++;
        if (!p->host_open)
            gvc_reclaim_tx(c, tx_queue(id));
        break;
    case VCON_CONSOLE_PORT_NAME: {
        /* After a restore the name comes again: the first one stays. */
        if (p->has_name)
            break;
        uint32_t n = len - VCON_CONSOLE_CTRL_HEADER;
        if (n > VCON_CONSOLE_NAME_MAX - 1u)
            n = VCON_CONSOLE_NAME_MAX - 1u;
        memcpy(p->name, msg + VCON_CONSOLE_CTRL_HEADER, n);
        p->name[n] = '\0';
        p->has_name = true;
        break;
    }
    default: /* DEVICE_READY, PORT_READY go the other way; others unknown */
        c->n.ctrl_bad++;
        break;
    }
}

static void process_ctrl(struct vcon_guest_console *c)
{
    const unsigned index = VCON_CONSOLE_CTRL_RX_QUEUE;
    struct gvc_queue *q = &c->q[index];
    uint8_t msg[CTRL_MSG_MAX];
    uint32_t token, len;
    if (!q->active)
        return;
    /* Bounded: a device answering every message with another one must not
     * keep the handler here. service() comes back for the rest. */
    const unsigned bound = 4u * q->num;
    unsigned n = 0;
    for (; n < bound && vcon_guest_vring_get_used(&q->vr, &token, &len) == 1; n++) {
        struct gvc_slot *s = &q->slot[token];
        q->posted--;
        if (len > s->len) {
            c->n.used_len_overflow++;
            len = s->len;
        }
        const uint32_t take = len < sizeof(msg) ? len : (uint32_t)sizeof(msg);
        memset(msg, 0, sizeof(msg));
        (void)vcon_vm_guest_read(c->vm, s->gpa, msg, take);
        const uint16_t old = q->vr.avail_idx;
        (void)gvc_repost(c, index, token);
        gvc_kick_if_needed(c, index, old);
        handle_ctrl(c, msg, take);
        if (!q->active)
            return;
    }
    if (n == bound)
        gvc_budget_spent(c, index);
}

/* ---- data in -------------------------------------------------------------- */

/* Move held buffers into the tty buffer while it has room; buffers copied
 * out completely go back to the ring (or are freed once the port is gone
 * and its queue torn down). */
static void drain_held(struct vcon_guest_console *c, unsigned port)
{
    const unsigned index = rx_queue(port);
    struct gvc_queue *q = &c->q[index];
    struct gvc_port *gp = &c->port[port];
    if (!q->active)
        return;
    const uint16_t old = q->vr.avail_idx;
    while (q->held_head != GVC_NO_SLOT && gp->rx_count < VCON_GUEST_CONSOLE_RX_BUFFER) {
        const uint16_t slot = q->held_head;
        struct gvc_slot *s = &q->slot[slot];
        uint32_t n = s->used_len - s->used_off;
        const unsigned tail = (gp->rx_head + gp->rx_count) % VCON_GUEST_CONSOLE_RX_BUFFER;
        const unsigned contiguous = VCON_GUEST_CONSOLE_RX_BUFFER - tail;
        const unsigned room = VCON_GUEST_CONSOLE_RX_BUFFER - gp->rx_count;
        if (n > room)
            n = room;
        if (n > contiguous)
            n = contiguous;
        (void)vcon_vm_guest_read(c->vm, s->gpa + s->used_off, gp->rx_buf + tail, n);
        gp->rx_count += n;
        s->used_off += n;
        if (s->used_off < s->used_len)
            continue;
        q->held_head = s->held_next;
        if (q->held_head == GVC_NO_SLOT)
            q->held_tail = GVC_NO_SLOT;
        q->held--;
        (void)gvc_repost(c, index, slot);
    }
    gvc_kick_if_needed(c, index, old);
}

static void process_rx(struct vcon_guest_console *c, unsigned index)
{
    struct gvc_queue *q = &c->q[index];
    struct gvc_port *gp = &c->port[q->port];
    struct vcon_guest_console_port *p = &gp->pub;
    uint32_t token, len;
    const uint16_t old = q->vr.avail_idx;
    unsigned n = 0;
    for (; n < q->num && vcon_guest_vring_get_used(&q->vr, &token, &len) == 1; n++) {
        struct gvc_slot *s = &q->slot[token];
        q->posted--;
        if (len > s->len) {
            c->n.used_len_overflow++;
            len = s->len;
        }
        p->rx_received += len;
        if (!p->present || !p->guest_open || len == 0) {
            /* in_intr: data for a port nobody has open is discarded. */
            if (!p->present)
                c->n.rx_unexpected++;
            p->rx_discarded += len;
            (void)gvc_repost(c, index, token);
            continue;
        }
        p->rx_buffered += len;
        s->used_len = len;
        s->used_off = 0;
        s->held_next = GVC_NO_SLOT;
        if (q->held_tail == GVC_NO_SLOT)
            q->held_head = token;
        else
            q->slot[q->held_tail].held_next = (uint16_t)token;
        q->held_tail = (uint16_t)token;
        q->held++;
    }
    if (n == q->num)
        gvc_budget_spent(c, index);
    gvc_kick_if_needed(c, index, old);
    drain_held(c, q->port);
}

/* ---- interrupts ------------------------------------------------------------ */

void gvc_process_queue(struct vcon_guest_console *c, unsigned index)
{
    if (index >= c->nr_queues || !c->q[index].active)
        return;
    switch (c->q[index].kind) {
    case VCON_CONSOLE_QUEUE_RX:
        process_rx(c, index);
        break;
    case VCON_CONSOLE_QUEUE_TX:
    case VCON_CONSOLE_QUEUE_CTRL_TX:
        gvc_reclaim_tx(c, index);
        break;
    case VCON_CONSOLE_QUEUE_CTRL_RX:
        process_ctrl(c);
        break;
    }
}

/* The queues in `mask`, data before control. The control receive queue is
 * read to its end, so it may hold messages newer than data whose interrupt
 * has not been taken yet (the device coalesces interrupts): before it,
 * every port's received data is taken, so that a port gets what the device
 * gave it before it learns that the port is gone. */
static void process_queues(struct vcon_guest_console *c, uint64_t mask)
{
    const bool ctrl_rx = c->multiport && ((mask >> VCON_CONSOLE_CTRL_RX_QUEUE) & 1u);
    for (unsigned i = 0; i < c->nr_queues; i++) {
        const enum vcon_console_queue_role kind = c->q[i].kind;
        if ((kind == VCON_CONSOLE_QUEUE_TX && ((mask >> i) & 1u)) ||
            (kind == VCON_CONSOLE_QUEUE_RX && (((mask >> i) & 1u) || ctrl_rx)))
            gvc_process_queue(c, i);
    }
    if (c->multiport && ((mask >> VCON_CONSOLE_CTRL_TX_QUEUE) & 1u))
        gvc_process_queue(c, VCON_CONSOLE_CTRL_TX_QUEUE);
    if (ctrl_rx)
        gvc_process_queue(c, VCON_CONSOLE_CTRL_RX_QUEUE);
}

static void process_all(struct vcon_guest_console *c)
{
    process_queues(c, ~(uint64_t)0);
}

void gvc_config_changed(struct vcon_guest_console *c)
{
    c->n.config_changes++;
    gvc_read_config(c);
    /* config_work_handler: the size in the configuration space is port 0's
     * only without MULTIPORT; with it, RESIZE messages carry sizes. */
    if (!c->multiport && pub(c, 0)->present) {
        pub(c, 0)->cols = c->cols;
        pub(c, 0)->rows = c->rows;
        pub(c, 0)->resizes++;
    }
}

/* vp_interrupt: read (and so clear) ISR, configuration first, then every
 * queue. `line_was` is the line level before the read. */
static bool run_isr(struct vcon_guest_console *c, bool line_was)
{
    const uint32_t isr = gvc_io_read(c, VCON_VIRTIO_PCI_ISR, 1);
    c->n.interrupts++;
    if (line_was != (isr != 0) || vcon_vm_irq_level(c->vm, c->opt.intx_line))
        c->n.isr_line_mismatch++;
    if (isr == 0) {
        if (line_was)
            c->n.spurious++;
        return false;
    }
    if (isr & VCON_VIRTIO_ISR_CONFIG)
        gvc_config_changed(c);
    if (isr & VCON_VIRTIO_ISR_QUEUE)
        process_all(c);
    return true;
}

static void handle_msi(struct vcon_guest_console *c, const struct vcon_msi_record *m)
{
    c->n.interrupts++;
    for (unsigned v = 0; v < c->nr_vectors; v++) {
        if (c->vector[v].address != m->address || c->vector[v].data != m->data)
            continue;
        if (v == c->config_vector)
            gvc_config_changed(c);
        uint64_t mask = 0;
        for (unsigned i = 0; i < c->nr_queues; i++)
            if (c->q[i].active && c->q[i].vector == v)
                mask |= (uint64_t)1 << i;
        process_queues(c, mask);
        return;
    }
    c->n.spurious++;
}

/* ---- public API ------------------------------------------------------------ */

void vcon_guest_console_default_options(struct vcon_guest_console_options *o)
{
    memset(o, 0, sizeof(*o));
    o->slot = -1;
    o->io_base = 0xC000u;
    o->mmio_base = 0xFEB00000u;
    o->intx_line = 10;
    o->heap_base = HEAP_DEFAULT_BASE;
    o->multiport = true;
    o->irq = VCON_GUEST_CONSOLE_INTX;
    o->rx_bufs = 8;
    o->rx_buf_size = 256;
    o->rx_segs = 1;
    o->ctrl_bufs = 8;
    o->ctrl_buf_size = 128;
    o->tx_chunk = 256;
    o->tx_segs = 1;
}

int vcon_guest_console_create(struct vcon_vm *vm, const struct vcon_guest_console_options *o,
                              struct vcon_guest_console **out)
{
    if (out != NULL)
        *out = NULL;
    if (vm == NULL || o == NULL || out == NULL || o->rx_bufs == 0 || o->rx_buf_size == 0 ||
        o->rx_segs == 0 || o->rx_segs > VCON_GUEST_CONSOLE_MAX_SEGS || o->ctrl_bufs == 0 ||
        o->ctrl_buf_size < VCON_CONSOLE_CTRL_HEADER + VCON_CONSOLE_RESIZE_PAYLOAD ||
        o->tx_chunk == 0 || o->tx_segs == 0 || o->tx_segs > VCON_GUEST_CONSOLE_MAX_SEGS ||
        o->intx_line >= VCON_VM_IRQ_LINES || o->heap_base == 0 ||
        o->irq > VCON_GUEST_CONSOLE_MSIX_SHARED || o->slot < -1 || o->slot >= (int)GVC_PCI_DEVICES)
        return -EINVAL;
    const uint64_t ram = vcon_vm_ram_size(vm);
    if (o->heap_base >= ram || o->heap_size > ram - o->heap_base)
        return -EINVAL;
    struct vcon_guest_console *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return -ENOMEM;
    c->vm = vm;
    c->opt = *o;
    c->rng = o->chunk_seed;
    c->cfg_off = VCON_VIRTIO_PCI_CONFIG_NO_MSIX;
    c->config_vector = VCON_VIRTIO_MSI_NO_VECTOR;
    const int rc = vcon_guest_alloc_init(&c->heap, o->heap_base,
                                         o->heap_size ? o->heap_size : ram - o->heap_base);
    if (rc != 0) {
        free(c);
        return rc;
    }
    *out = c;
    return 0;
}

void vcon_guest_console_destroy(struct vcon_guest_console *c)
{
    if (c == NULL)
        return;
    for (unsigned i = 0; i < VCON_GUEST_CONSOLE_MAX_QUEUES; i++) {
        free(c->q[i].slot);
        free(c->q[i].free_slot);
    }
    vcon_guest_alloc_fini(&c->heap);
    free(c);
}

static bool port_usable(const struct vcon_guest_console *c, unsigned port)
{
    return c != NULL && c->up && port < c->nr_ports && c->port[port].pub.present;
}

int vcon_guest_console_open(struct vcon_guest_console *c, unsigned port)
{
    if (!port_usable(c, port))
        return -ENODEV;
    struct vcon_guest_console_port *p = pub(c, port);
    p->app_open = true;
    if (!p->guest_open) {
        p->guest_open = true;
        (void)gvc_send_ctrl(c, port, VCON_CONSOLE_PORT_OPEN, 1);
    }
    return 0;
}

int vcon_guest_console_close(struct vcon_guest_console *c, unsigned port)
{
    if (!port_usable(c, port))
        return -ENODEV;
    struct vcon_guest_console_port *p = pub(c, port);
    p->app_open = false;
    if (p->guest_open) {
        p->guest_open = false;
        (void)gvc_send_ctrl(c, port, VCON_CONSOLE_PORT_OPEN, 0);
    }
    discard_port_data(c, port);
    return 0;
}

/* The next transmit buffer's size and segment count. */
static void next_chunk(struct vcon_guest_console *c, size_t left, uint32_t *len, unsigned *segs)
{
    uint32_t chunk = c->opt.tx_chunk;
    unsigned nsegs = c->opt.tx_segs;
    if (c->opt.chunk_seed != 0) {
        chunk = 1u + (uint32_t)(rng_next(c) % c->opt.tx_chunk);
        nsegs = 1u + (unsigned)(rng_next(c) % c->opt.tx_segs);
    }
    if (chunk > left)
        chunk = (uint32_t)left;
    *len = chunk;
    *segs = nsegs;
}

int vcon_guest_console_write(struct vcon_guest_console *c, unsigned port, const void *bytes,
                             size_t len)
{
    if (!port_usable(c, port))
        return -ENODEV;
    struct vcon_guest_console_port *p = pub(c, port);
    if (!p->guest_open)
        return -EPIPE;
    const unsigned index = tx_queue(port);
    struct gvc_queue *q = &c->q[index];
    if (!q->active)
        return -ENODEV;
    if (len > INT32_MAX)
        len = INT32_MAX;
    gvc_reclaim_tx(c, index);
    const uint16_t old = q->vr.avail_idx;
    size_t done = 0;
    while (done < len) {
        uint32_t chunk;
        unsigned segs;
        next_chunk(c, len - done, &chunk, &segs);
        const uint64_t gpa = vcon_guest_alloc(&c->heap, chunk, 16);
        if (gpa == 0) {
            c->n.alloc_failures++;
            break;
        }
        (void)vcon_vm_guest_write(c->vm, gpa, (const uint8_t *)bytes + done, chunk);
        const int slot = gvc_add_chain(c, index, gpa, chunk, segs, false);
        if (slot < 0) {
            vcon_guest_free(&c->heap, gpa, chunk);
            break;
        }
        q->slot[slot].data_len = chunk;
        p->tx_accepted += chunk;
        p->tx_inflight += chunk;
        done += chunk;
    }
    gvc_kick_if_needed(c, index, old);
    return (int)done;
}

size_t vcon_guest_console_read(struct vcon_guest_console *c, unsigned port, void *buf,
                               size_t len)
{
    if (c == NULL || port >= VCON_GUEST_CONSOLE_MAX_PORTS)
        return 0;
    struct gvc_port *gp = &c->port[port];
    uint8_t *dst = buf;
    size_t n = 0;
    while (n < len && gp->rx_count > 0) {
        dst[n++] = gp->rx_buf[gp->rx_head];
        gp->rx_head = (gp->rx_head + 1u) % VCON_GUEST_CONSOLE_RX_BUFFER;
        gp->rx_count--;
    }
    gp->pub.rx_read += n;
    gp->pub.rx_buffered -= n;
    /* Room again: what was held back moves in, and its buffers go back. */
    if (c->up && port < c->nr_ports)
        drain_held(c, port);
    return n;
}

int vcon_guest_console_emerg_write(struct vcon_guest_console *c, uint8_t byte)
{
    if (c == NULL || !c->up)
        return -ENODEV;
    if (!gvc_has(c, VCON_CONSOLE_F_EMERG_WRITE))
        return -ENOTSUP;
    gvc_io_write(c, c->cfg_off + VCON_CONSOLE_CFG_EMERG_WR, 4, byte);
    return 0;
}

/* Queues a handler left work in. */
static void run_repoll(struct vcon_guest_console *c)
{
    const uint64_t mask = c->repoll;
    c->repoll = 0;
    process_queues(c, mask);
}

static bool work_pending(const struct vcon_guest_console *c)
{
    if (c->repoll != 0)
        return true;
    if (c->msix_on)
        return c->msi_seen < vcon_vm_msi_count(c->vm);
    return vcon_vm_irq_level(c->vm, c->opt.intx_line) != 0;
}

int vcon_guest_console_service(struct vcon_guest_console *c)
{
    if (c == NULL || !c->up)
        return -ENODEV;
    const unsigned limit =
        c->msix_on ? VCON_GUEST_CONSOLE_SERVICE_MSIS : VCON_GUEST_CONSOLE_SERVICE_ROUNDS;
    unsigned runs = 0;
    if (c->msix_on && vcon_vm_irq_level(c->vm, c->opt.intx_line))
        c->n.intx_in_msix++;
    while (c->up && work_pending(c)) {
        if (runs == limit) {
            c->n.stuck++;
            break;
        }
        if (c->msix_on && c->msi_seen < vcon_vm_msi_count(c->vm)) {
            /* Copied: handling it may record more and move the array. */
            const struct vcon_msi_record m = *vcon_vm_msi(c->vm, c->msi_seen++);
            handle_msi(c, &m);
        } else if (!c->msix_on && vcon_vm_irq_level(c->vm, c->opt.intx_line)) {
            (void)run_isr(c, true);
        } else {
            run_repoll(c);
        }
        runs++;
    }
    return (int)runs;
}

int vcon_guest_console_poll(struct vcon_guest_console *c)
{
    if (c == NULL || !c->up)
        return -ENODEV;
    process_all(c);
    return 0;
}

int vcon_guest_console_poll_isr(struct vcon_guest_console *c)
{
    if (c == NULL || !c->up)
        return -ENODEV;
    if (c->msix_on)
        return 0;
    return run_isr(c, vcon_vm_irq_level(c->vm, c->opt.intx_line) != 0) ? 1 : 0;
}

int vcon_guest_console_intx_status(struct vcon_guest_console *c)
{
    if (c == NULL || !c->found)
        return -ENODEV;
    return (gvc_cfg_read(c, VCON_PCI_STATUS, 2) & VCON_PCI_STATUS_INTERRUPT) ? 1 : 0;
}

bool vcon_guest_console_up(const struct vcon_guest_console *c)
{
    return c != NULL && c->up;
}

const struct vcon_guest_console_port *vcon_guest_console_port(const struct vcon_guest_console *c,
                                                              unsigned port)
{
    if (c == NULL || port >= VCON_GUEST_CONSOLE_MAX_PORTS)
        return NULL;
    return &c->port[port].pub;
}

const struct vcon_guest_console_counters *
vcon_guest_console_counters(const struct vcon_guest_console *c)
{
    return &c->n;
}

uint32_t vcon_guest_console_features(const struct vcon_guest_console *c)
{
    return c->features;
}

bool vcon_guest_console_multiport(const struct vcon_guest_console *c)
{
    return c->multiport;
}

unsigned vcon_guest_console_nr_ports(const struct vcon_guest_console *c)
{
    return c->nr_ports;
}

unsigned vcon_guest_console_nr_queues(const struct vcon_guest_console *c)
{
    return c->nr_queues;
}

enum vcon_guest_console_irq vcon_guest_console_irq_mode(const struct vcon_guest_console *c)
{
    return c->irq;
}

void vcon_guest_console_config(const struct vcon_guest_console *c, uint16_t *cols, uint16_t *rows,
                               uint32_t *max_nr_ports)
{
    if (cols != NULL)
        *cols = c->cols;
    if (rows != NULL)
        *rows = c->rows;
    if (max_nr_ports != NULL)
        *max_nr_ports = c->max_nr_ports;
}

const struct vcon_guest_vring *vcon_guest_console_vring(const struct vcon_guest_console *c,
                                                        unsigned queue)
{
    if (c == NULL || queue >= VCON_GUEST_CONSOLE_MAX_QUEUES || !c->q[queue].active)
        return NULL;
    return &c->q[queue].vr;
}

uint32_t vcon_guest_console_io_base(const struct vcon_guest_console *c)
{
    return c->io_base;
}

uint32_t vcon_guest_console_mmio_base(const struct vcon_guest_console *c)
{
    return c->mmio_base;
}

uint64_t vcon_guest_console_heap_in_use(const struct vcon_guest_console *c)
{
    return vcon_guest_alloc_in_use(&c->heap);
}
