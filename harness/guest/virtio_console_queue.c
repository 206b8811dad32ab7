/* The driver's queues: rings and buffers in guest RAM, chains added and
 * collected, kicks. Every chain is one heap allocation, split into
 * segments, owned by a slot until the device gives it back. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "guest/virtio_console_internal.h"

#define DESC_BYTES 16u
#define BUF_ALIGN 16u

int gvc_queue_init(struct vcon_guest_console *c, unsigned index, uint16_t num)
{
    struct gvc_queue *q = &c->q[index];
    memset(q, 0, sizeof(*q));
    q->kind = vcon_console_queue_role(index, &q->port);
    q->num = num;
    q->vector = VCON_VIRTIO_MSI_NO_VECTOR;
    q->held_head = q->held_tail = GVC_NO_SLOT;
    q->ring_bytes = vcon_guest_vring_bytes(num);
    q->ring_gpa = vcon_guest_alloc(&c->heap, q->ring_bytes, GVC_PAGE);
    q->slot = calloc(num, sizeof(*q->slot));
    q->free_slot = calloc(num, sizeof(*q->free_slot));
    if (q->ring_gpa == 0 || q->slot == NULL || q->free_slot == NULL ||
        vcon_guest_vring_init(&q->vr, c->vm, num, q->ring_gpa, gvc_has(c, VCON_VIRTIO_F_RING_EVENT_IDX)) != 0) {
        if (q->ring_gpa != 0)
            vcon_guest_free(&c->heap, q->ring_gpa, q->ring_bytes);
        else
            c->n.alloc_failures++;
        free(q->slot);
        free(q->free_slot);
        memset(q, 0, sizeof(*q));
        return -ENOMEM;
    }
    for (unsigned i = 0; i < num; i++)
        q->free_slot[i] = (uint16_t)(num - 1u - i);
    q->nr_free = num;
    q->active = true;
    return 0;
}

static void free_buffers(struct vcon_guest_console *c, struct gvc_slot *s)
{
    if (s->gpa != 0)
        vcon_guest_free(&c->heap, s->gpa, s->len);
    if (s->table_gpa != 0)
        vcon_guest_free(&c->heap, s->table_gpa, s->table_len);
    s->gpa = s->table_gpa = 0;
}

void gvc_release_slot(struct vcon_guest_console *c, unsigned index, unsigned slot)
{
    struct gvc_queue *q = &c->q[index];
    struct gvc_slot *s = &q->slot[slot];
    free_buffers(c, s);
    memset(s, 0, sizeof(*s));
    q->free_slot[q->nr_free++] = (uint16_t)slot;
}

void gvc_queue_free(struct vcon_guest_console *c, unsigned index)
{
    struct gvc_queue *q = &c->q[index];
    uint32_t token, len;
    if (!q->active)
        return;
    /* Chains the device finished but nobody looked at yet: transmit ones
     * count as done, received bytes as discarded, so every byte the device
     * took or gave is accounted for. */
    for (unsigned n = 0; n < q->num && vcon_guest_vring_get_used(&q->vr, &token, &len) == 1; n++) {
        struct gvc_slot *s = &q->slot[token];
        if (q->kind == VCON_CONSOLE_QUEUE_TX) {
            struct vcon_guest_console_port *p = &c->port[q->port].pub;
            p->tx_inflight -= s->data_len;
            p->tx_completed += s->data_len;
        } else if (q->kind == VCON_CONSOLE_QUEUE_RX) {
            struct vcon_guest_console_port *p = &c->port[q->port].pub;
            if (len > s->len) {
                c->n.used_len_overflow++;
                len = s->len;
            }
            p->rx_received += len;
            p->rx_discarded += len;
        }
        gvc_release_slot(c, index, token);
    }
    for (unsigned i = 0; i < q->num; i++) {
        struct gvc_slot *s = &q->slot[i];
        if (!s->busy)
            continue;
        if (q->kind == VCON_CONSOLE_QUEUE_TX) {
            struct vcon_guest_console_port *p = &c->port[q->port].pub;
            p->tx_inflight -= s->data_len;
            p->tx_abandoned += s->data_len;
        }
        free_buffers(c, s);
    }
    /* Received data still waiting in held buffers goes with them. */
    for (uint16_t h = q->held_head; h != GVC_NO_SLOT; h = q->slot[h].held_next) {
        struct vcon_guest_console_port *p = &c->port[q->port].pub;
        const uint32_t left = q->slot[h].used_len - q->slot[h].used_off;
        p->rx_discarded += left;
        p->rx_buffered -= left;
    }
    vcon_guest_free(&c->heap, q->ring_gpa, q->ring_bytes);
    free(q->slot);
    free(q->free_slot);
    memset(q, 0, sizeof(*q));
}

int gvc_add_chain(struct vcon_guest_console *c, unsigned index, uint64_t gpa, uint32_t len,
                  unsigned segs, bool writable)
{
    struct gvc_queue *q = &c->q[index];
    struct vcon_guest_buf bufs[VCON_GUEST_CONSOLE_MAX_SEGS];
    if (!q->active || q->nr_free == 0 || len == 0)
        return -ENOSPC;
    if (segs < 1)
        segs = 1;
    if (segs > VCON_GUEST_CONSOLE_MAX_SEGS)
        segs = VCON_GUEST_CONSOLE_MAX_SEGS;
    if (segs > len)
        segs = len;
    /* Linux goes indirect for chains of more than one buffer. */
    const bool indirect = gvc_has(c, VCON_VIRTIO_F_RING_INDIRECT_DESC) && segs > 1;
    if (q->vr.num_free < (indirect ? 1u : segs))
        return -ENOSPC;
    const uint32_t piece = len / segs;
    for (unsigned i = 0; i < segs; i++) {
        bufs[i].gpa = gpa + (uint64_t)i * piece;
        bufs[i].len = i + 1 < segs ? piece : len - piece * (segs - 1u);
    }
    uint64_t table = 0;
    const uint32_t table_len = indirect ? segs * DESC_BYTES : 0;
    if (indirect) {
        table = vcon_guest_alloc(&c->heap, table_len, BUF_ALIGN);
        if (table == 0) {
            c->n.alloc_failures++;
            return -ENOMEM;
        }
    }
    const uint16_t slot = q->free_slot[q->nr_free - 1u];
    int head;
    if (indirect)
        head = writable ? vcon_guest_vring_add_indirect(&q->vr, NULL, 0, bufs, segs, slot, table)
                        : vcon_guest_vring_add_indirect(&q->vr, bufs, segs, NULL, 0, slot, table);
    else
        head = writable ? vcon_guest_vring_add(&q->vr, NULL, 0, bufs, segs, slot)
                        : vcon_guest_vring_add(&q->vr, bufs, segs, NULL, 0, slot);
    if (head < 0) {
        if (table != 0)
            vcon_guest_free(&c->heap, table, table_len);
        return head;
    }
    q->nr_free--;
    q->slot[slot] = (struct gvc_slot){
        .busy = true,
        .gpa = gpa,
        .len = len,
        .table_gpa = table,
        .table_len = table_len,
        .nr_segs = (uint8_t)segs,
        .held_next = GVC_NO_SLOT,
    };
    return slot;
}

bool gvc_repost(struct vcon_guest_console *c, unsigned index, unsigned slot)
{
    struct gvc_queue *q = &c->q[index];
    struct gvc_slot s = q->slot[slot];
    /* The slot gives its buffer to the new chain: release without freeing. */
    if (s.table_gpa != 0)
        vcon_guest_free(&c->heap, s.table_gpa, s.table_len);
    memset(&q->slot[slot], 0, sizeof(q->slot[slot]));
    q->free_slot[q->nr_free++] = (uint16_t)slot;
    if (gvc_add_chain(c, index, s.gpa, s.len, s.nr_segs, true) < 0) {
        vcon_guest_free(&c->heap, s.gpa, s.len);
        return false;
    }
    q->posted++;
    return true;
}

void gvc_kick_if_needed(struct vcon_guest_console *c, unsigned index, uint16_t old_avail)
{
    struct gvc_queue *q = &c->q[index];
    if (!q->active || q->vr.avail_idx == old_avail)
        return;
    if (!vcon_guest_vring_kick_needed(&q->vr, old_avail))
        return;
    c->n.kicks++;
    gvc_io_write(c, VCON_VIRTIO_PCI_QUEUE_NOTIFY, 2, index);
}

unsigned gvc_fill_rx(struct vcon_guest_console *c, unsigned index, unsigned target,
                     unsigned size, unsigned segs)
{
    struct gvc_queue *q = &c->q[index];
    unsigned added = 0;
    if (!q->active)
        return 0;
    const uint16_t old = q->vr.avail_idx;
    while (q->posted < target) {
        const uint64_t gpa = vcon_guest_alloc(&c->heap, size, BUF_ALIGN);
        if (gpa == 0) {
            c->n.alloc_failures++;
            break;
        }
        if (gvc_add_chain(c, index, gpa, size, segs, true) < 0) {
            vcon_guest_free(&c->heap, gpa, size);
            break;
        }
        q->posted++;
        added++;
    }
    gvc_kick_if_needed(c, index, old);
    return added;
}

void gvc_reclaim_tx(struct vcon_guest_console *c, unsigned index)
{
    struct gvc_queue *q = &c->q[index];
    uint32_t token, len;
    if (!q->active)
        return;
    /* At most one pass over the ring per call; service() comes back for
     * the rest. */
    unsigned n = 0;
    for (; n < q->num && vcon_guest_vring_get_used(&q->vr, &token, &len) == 1; n++) {
        struct gvc_slot *s = &q->slot[token];
        if (q->kind == VCON_CONSOLE_QUEUE_TX) {
            struct vcon_guest_console_port *p = &c->port[q->port].pub;
            p->tx_inflight -= s->data_len;
            p->tx_completed += s->data_len;
        }
        /* Nothing in a transmit chain is device-writable: a used length
         * above 0 claims bytes the chain does not have. Linux ignores it;
         * this driver counts it. */
        if (len > 0)
            c->n.used_len_overflow++;
        gvc_release_slot(c, index, token);
    }
    if (n == q->num)
        gvc_budget_spent(c, index);
}
