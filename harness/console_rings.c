/* Where a virtio-console may write guest memory (harness/console_rings.h),
 * from docs/virtq.md: the used ring's layout, and which buffers a chain
 * makes device-writable, direct or through an indirect table. */
#include "harness/console_rings.h"

#include "vcon/virtq.h"

#define INVARIANT_SOURCE "harness/console_rings.c"
#include "invariant_require.h"

#define DESC_BYTES 16u

static uint16_t le16(const uint8_t *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static bool overlaps(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
    return alen > 0 && blen > 0 && a < b + blen && b < a + alen;
}

static bool inside(uint64_t gpa, uint64_t len, const struct vcon_console_region *region)
{
    return gpa >= region->gpa && len <= region->len && gpa - region->gpa <= region->len - len;
}

/* A queue the device can be using, or NULL. (The field vcon_virtq_ready()
 * reads, read here: this runs per queue on every device write, and the
 * call was 4 % of console_ctrl's seeds.) */
static const struct vcon_virtq *ready_queue(const struct vcon_console_rings *r, unsigned index)
{
    const struct vcon_virtq *vq = r->queue[index];
    return vq->size != 0 ? vq : NULL;
}

static struct vcon_console_desc decode_desc(const uint8_t *b)
{
    return (struct vcon_console_desc){.addr = (uint64_t)le32(b + 4) << 32 | le32(b),
                                      .len = le32(b + 8),
                                      .flags = le16(b + 12),
                                      .next = le16(b + 14)};
}

bool vcon_console_rings_read_desc(struct vcon_vm *vm, uint64_t gpa, struct vcon_console_desc *out)
{
    /* In place, not copied: under ASan a copy is a memcpy call that checks
     * both ranges, on every descriptor the checks read. */
    const uint8_t *b = vcon_vm_guest_view(vm, gpa, DESC_BYTES);
    if (b == NULL)
        return false;
    *out = decode_desc(b);
    return true;
}

void vcon_console_rings_init(struct vcon_console_rings *r, struct vcon_vm *vm,
                             struct vcon_virtio_pci *transport)
{
    r->vm = vm;
    r->transport = transport;
    r->nr_queues = 0;
    while (r->nr_queues < VCON_VIRTIO_PCI_MAX_QUEUES &&
           (r->queue[r->nr_queues] = vcon_virtio_pci_queue(transport, r->nr_queues)) != NULL)
        r->nr_queues++;
    vcon_console_rings_step(r);
}

void vcon_console_rings_step(struct vcon_console_rings *r)
{
    r->selfmod = false;
    r->regions_valid = false;
}

static void add_region(struct vcon_console_rings *r, struct vcon_console_region *list,
                       unsigned *n, uint64_t gpa, uint64_t len, bool indirect)
{
    if (len == 0)
        return;
    if (*n >= VCON_CONSOLE_RINGS_MAX_REGIONS) {
        r->regions_overflow = true;
        return;
    }
    list[*n] = (struct vcon_console_region){.gpa = gpa, .len = len, .indirect = indirect};
    (*n)++;
}

/* An indirect table the device would walk: emu/virtq_chain.c refuses the
 * others before it reads an entry, so they neither give the device
 * buffers nor hold anything it reads. */
static bool indirect_walkable(const struct vcon_console_rings *r, const struct vcon_virtq *vq,
                              const struct vcon_console_desc *d)
{
    return vq->indirect && !(d->flags & VCON_VIRTQ_DESC_F_NEXT) && d->len != 0 &&
           d->len % DESC_BYTES == 0 && d->len / DESC_BYTES <= VCON_VIRTQ_MAX_SIZE &&
           d->addr <= UINT64_MAX - (d->len - 1u) &&
           vcon_vm_guest_view(r->vm, d->addr + d->len - 1u, 1) != NULL;
}

/* An indirect table already walked in this computation: a guest can name
 * one table from many descriptors, which must not fill the lists. */
static bool indirect_seen(const struct vcon_console_rings *r, const struct vcon_console_desc *d)
{
    for (unsigned i = 0; i < r->nr_tables; i++)
        if (r->tables[i].indirect && r->tables[i].gpa == d->addr && r->tables[i].len == d->len)
            return true;
    return false;
}

static void add_indirect_regions(struct vcon_console_rings *r, const struct vcon_console_desc *d)
{
    if (indirect_seen(r, d))
        return;
    add_region(r, r->tables, &r->nr_tables, d->addr, d->len, true);
    /* Entry by entry, skipping those that are not RAM: the device reads
     * only the entries its chain visits. */
    for (uint32_t e = 0; e < d->len / DESC_BYTES; e++) {
        struct vcon_console_desc entry;
        if (vcon_console_rings_read_desc(r->vm, d->addr + DESC_BYTES * (uint64_t)e, &entry) &&
            (entry.flags & VCON_VIRTQ_DESC_F_WRITE))
            add_region(r, r->writable, &r->nr_writable, entry.addr, entry.len, false);
    }
}

static void add_desc_regions(struct vcon_console_rings *r, const struct vcon_virtq *vq,
                             const struct vcon_console_desc *d)
{
    if (d->flags & VCON_VIRTQ_DESC_F_INDIRECT) {
        /* Its own WRITE flag means nothing; a table the device refuses
         * gives it no buffer. */
        if (indirect_walkable(r, vq, d))
            add_indirect_regions(r, d);
    } else if (d->flags & VCON_VIRTQ_DESC_F_WRITE) {
        add_region(r, r->writable, &r->nr_writable, d->addr, d->len, false);
    }
}

static void add_queue_regions(struct vcon_console_rings *r, const struct vcon_virtq *vq)
{
    add_region(r, r->tables, &r->nr_tables, vq->desc_gpa, DESC_BYTES * (uint64_t)vq->size, false);
    const uint8_t *table = vcon_vm_guest_view(r->vm, vq->desc_gpa, DESC_BYTES * (size_t)vq->size);
    if (table != NULL) {
        for (unsigned i = 0; i < vq->size; i++) {
            const uint8_t *b = table + DESC_BYTES * i;
            /* Most descriptors give nothing: their flags say so. */
            if (!(le16(b + 12) & (VCON_VIRTQ_DESC_F_WRITE | VCON_VIRTQ_DESC_F_INDIRECT)))
                continue;
            const struct vcon_console_desc d = decode_desc(b);
            add_desc_regions(r, vq, &d);
        }
        return;
    }
    /* Part of the table is not RAM: the device reads one descriptor at a
     * time, so the readable ones still count. */
    for (unsigned i = 0; i < vq->size; i++) {
        struct vcon_console_desc d;
        if (vcon_console_rings_read_desc(r->vm, vq->desc_gpa + DESC_BYTES * (uint64_t)i, &d))
            add_desc_regions(r, vq, &d);
    }
}

/* The regions of every ready queue, from guest memory as it is. */
static void compute_regions(struct vcon_console_rings *r)
{
    r->nr_writable = r->nr_tables = 0;
    r->regions_overflow = false;
    for (unsigned q = 0; q < r->nr_queues; q++) {
        const struct vcon_virtq *vq = ready_queue(r, q);
        if (vq != NULL)
            add_queue_regions(r, vq);
    }
    r->regions_valid = true;
}

/* The regions of this step, computed at its first need. */
static void need_regions(struct vcon_console_rings *r)
{
    if (!r->regions_valid)
        compute_regions(r);
}

/* Writable bytes of the chain from `index` in the table of `size`
 * descriptors at `table` (a queue's, or on the `top` level only, an
 * indirect one it names), added to *in_bytes as the descriptors say now;
 * false if the walk fails (a chain the device must have refused). */
static bool table_writable(const struct vcon_console_rings *r, const struct vcon_virtq *vq,
                           uint64_t table, uint32_t size, uint16_t index, bool top,
                           uint64_t *in_bytes)
{
    for (uint32_t count = 0; count <= size; count++) {
        struct vcon_console_desc d;
        if (index >= size ||
            !vcon_console_rings_read_desc(r->vm, table + DESC_BYTES * (uint64_t)index, &d))
            return false;
        /* An indirect table only as the device accepts one: that also
         * bounds the walk (a loop in a table of 2^28 entries once took
         * this check minutes). */
        if (top && (d.flags & VCON_VIRTQ_DESC_F_INDIRECT))
            return indirect_walkable(r, vq, &d) &&
                   table_writable(r, vq, d.addr, d.len / DESC_BYTES, 0, false, in_bytes);
        if (d.flags & VCON_VIRTQ_DESC_F_WRITE)
            *in_bytes += d.len;
        if (!(d.flags & VCON_VIRTQ_DESC_F_NEXT))
            return true;
        index = d.next;
    }
    return false;
}

/* A used element the device is about to write: its length must fit the
 * chain it names, as the descriptors are at this moment (a guest may
 * rewrite them as soon as it sees the element). */
static bool check_used_element(const struct vcon_console_rings *r, const struct vcon_virtq *vq,
                               const uint8_t *elem, struct vcon_invariant_failure *why)
{
    const uint32_t id = le32(elem), len = le32(elem + 4);
    uint64_t room = 0;
    REQUIRE(id < vq->size, "console used ring: the element names a head of the queue",
            "head %u, queue size %u", (unsigned)id, (unsigned)vq->size);
    if (len > 0 && table_writable(r, vq, vq->desc_gpa, vq->size, (uint16_t)id, true, &room))
        REQUIRE(len <= room, "console used ring: the used length fits the buffer",
                "head %u, used length %u, %llu writable bytes", (unsigned)id, (unsigned)len,
                (unsigned long long)room);
    return true;
}

/* What a device write is to the used rings: none of their updates, a good
 * one, or a bad one (`why` says which check it failed). */
enum ring_update_kind { NOT_A_RING_UPDATE, GOOD_RING_UPDATE, BAD_RING_UPDATE };

/* A 2-byte write on one of the used ring's fields, as the engine writes
 * them (emu/virtq.c): used->idx one past the elements published so far
 * (the engine counts the element after writing the index), used->flags 0
 * or NO_NOTIFY without EVENT_IDX, avail_event the next avail index with
 * it. */
static bool check_used_field(const struct vcon_virtq *vq, uint64_t off, uint16_t value,
                             struct vcon_invariant_failure *why)
{
    const uint64_t elems_end = 4u + 8u * (uint64_t)vq->size;
    if (off == 2)
        REQUIRE(value == (uint16_t)(vq->used_idx + 1u),
                "console used ring: used->idx counts the elements pushed",
                "used->idx %u written, %u elements pushed before", (unsigned)value,
                (unsigned)vq->used_idx);
    else if (off == 0)
        REQUIRE(!vq->event_idx && value <= VCON_VIRTQ_USED_F_NO_NOTIFY,
                "console used ring: used->flags is 0 or NO_NOTIFY, without EVENT_IDX",
                "used->flags 0x%x written, EVENT_IDX %s", (unsigned)value,
                vq->event_idx ? "negotiated" : "not negotiated");
    else if (off == elems_end)
        REQUIRE(vq->event_idx && value == vq->last_avail,
                "console used ring: avail_event is the next avail index, with EVENT_IDX",
                "avail_event %u written, next avail index %u, EVENT_IDX %s", (unsigned)value,
                (unsigned)vq->last_avail, vq->event_idx ? "negotiated" : "not negotiated");
    return true;
}

/* The engine's own ring updates: a used element (8 bytes, only ever at the
 * slot of the next used index), used->flags, used->idx or avail_event (2
 * bytes each). Queues' used rings may overlap (the guest puts them where
 * it likes): an update is good if it is good for one of the queues whose
 * ring it lands on, and the first failure is reported when it is good for
 * none. */
static enum ring_update_kind ring_update(const struct vcon_console_rings *r, uint64_t gpa,
                                         const uint8_t *bytes, size_t len,
                                         struct vcon_invariant_failure *why)
{
    bool candidate = false;
    if (len != 8 && len != 2)
        return NOT_A_RING_UPDATE;
    for (unsigned q = 0; q < r->nr_queues; q++) {
        const struct vcon_virtq *vq = ready_queue(r, q);
        if (vq == NULL || gpa < vq->used_gpa)
            continue;
        const uint64_t off = gpa - vq->used_gpa;
        const uint64_t elems_end = 4u + 8u * (uint64_t)vq->size;
        /* The first failure goes to `why`, later ones nowhere (a failure
         * is 200 bytes: this runs on every device write). */
        struct vcon_invariant_failure later;
        struct vcon_invariant_failure *const this_one = candidate ? &later : why;
        bool good;
        if (len == 8 && off >= 4 && off < elems_end && (off - 4) % 8 == 0) {
            const uint64_t next_slot = vq->used_idx & (vq->size - 1u);
            if (off == 4 + 8 * next_slot)
                good = check_used_element(r, vq, bytes, this_one);
            else
                good = vcon_invariant_broken(
                    this_one, INVARIANT_SOURCE,
                    "console used ring: an element goes to the slot of the next used index",
                    "queue %u: element written at slot %llu, next slot %llu", q,
                    (unsigned long long)((off - 4) / 8), (unsigned long long)next_slot);
        } else if (len == 2 && (off == 0 || off == 2 || off == elems_end)) {
            good = check_used_field(vq, off, le16(bytes), this_one);
        } else {
            continue;
        }
        if (good)
            return GOOD_RING_UPDATE;
        candidate = true;
    }
    return candidate ? BAD_RING_UPDATE : NOT_A_RING_UPDATE;
}

/* A device write landing on a descriptor table or an indirect table
 * changes the chains the device walks next: the checks stop for this step.
 * (Avail and used rings do not matter: the regions come from every
 * descriptor, whatever the avail ring offers, and the device never reads a
 * used ring.) With the regions incomplete, any write stops them. */
static void note_selfmod(struct vcon_console_rings *r, uint64_t gpa, size_t len)
{
    need_regions(r);
    if (r->regions_overflow)
        r->selfmod = true;
    for (unsigned i = 0; i < r->nr_tables && !r->selfmod; i++)
        r->selfmod = overlaps(gpa, len, r->tables[i].gpa, r->tables[i].len);
}

/* Whether a write can land on a table, from the queues' fields alone: on
 * a descriptor table, or anywhere once a queue can have indirect tables. */
static bool may_hit_a_table(const struct vcon_console_rings *r, uint64_t gpa, size_t len)
{
    for (unsigned q = 0; q < r->nr_queues; q++) {
        const struct vcon_virtq *vq = ready_queue(r, q);
        if (vq != NULL &&
            (vq->indirect || overlaps(gpa, len, vq->desc_gpa, DESC_BYTES * (uint64_t)vq->size)))
            return true;
    }
    return false;
}

/* Inside a buffer the guest made device-writable (or the regions are
 * incomplete and cannot tell). */
static bool in_writable_buffer(struct vcon_console_rings *r, uint64_t gpa, size_t len)
{
    need_regions(r);
    bool in_buffer = r->regions_overflow;
    for (unsigned i = 0; i < r->nr_writable && !in_buffer; i++)
        in_buffer = inside(gpa, len, &r->writable[i]);
    return in_buffer;
}

bool vcon_console_rings_device_write(struct vcon_console_rings *r, uint64_t gpa,
                                     const uint8_t *bytes, size_t len,
                                     struct vcon_invariant_failure *why)
{
    if (r->selfmod)
        return true;
    const enum ring_update_kind kind = ring_update(r, gpa, bytes, len, why);
    if (kind == GOOD_RING_UPDATE) {
        /* The guest may have put this used ring over another queue's
         * table: the engine's own update then rewrites descriptors the
         * device walks next (found by AFL++: a used element turned a
         * control buffer's address into 0). In the common case no table
         * can lie there, and the regions are not computed for it. */
        if (r->regions_valid || may_hit_a_table(r, gpa, len))
            note_selfmod(r, gpa, len);
        return true;
    }
    /* Data: it must go to a buffer the guest made device-writable. A
     * write shaped like a ring update that no queue would have made is
     * data too when the guest posted a buffer there; otherwise it is a
     * bad update, and `why` says which check it failed. */
    const bool in_buffer = in_writable_buffer(r, gpa, len);
    if (!in_buffer && kind == BAD_RING_UPDATE)
        return false;
    REQUIRE(in_buffer,
            "console seam: the device writes only used rings and buffers the guest made "
            "device-writable",
            "%zu bytes at gpa 0x%llx", len, (unsigned long long)gpa);
    /* Data landing on a table: what the device walks next is no longer
     * what the guest wrote. */
    note_selfmod(r, gpa, len);
    return true;
}

void vcon_console_rings_foreign_write(struct vcon_console_rings *r, uint64_t gpa, size_t len)
{
    if (!r->selfmod)
        note_selfmod(r, gpa, len);
}
