/* Descriptor chain walking and validation. Every descriptor is read from
 * guest memory once, in one copy, and checked before it is used. The walk
 * has two phases: first the structure (indices, loops, flags, direction,
 * totals, wrapping addresses), then a probe of each segment's first and last
 * byte. So a chain with a structural error is refused without touching its
 * buffers, and the error a test provokes is the one it aims at. */
#include <errno.h>

#include "virtq_internal.h"

struct walk {
    struct vcon_virtq *vq;
    struct vcon_virtq_chain *chain;
    uint64_t out_bytes, in_bytes; /* 64-bit so that the u32 overflow shows */
    unsigned nr_seg;
    bool seen_writable;
};

int virtq_read_desc(const struct vcon_virtq *vq, uint64_t gpa, struct virtq_desc *desc)
{
    uint8_t raw[VIRTQ_DESC_BYTES];
    if (vq->host->mem_read(vq->host->ctx, gpa, raw, sizeof(raw)) != 0)
        return -EFAULT;
    desc->addr = virtq_le64(raw);
    desc->len = virtq_le32(raw + 8);
    desc->flags = virtq_le16(raw + 12);
    desc->next = virtq_le16(raw + 14);
    return 0;
}

/* Does [gpa, gpa + len) wrap around 2^64? len > 0. */
static bool range_wraps(uint64_t gpa, uint32_t len)
{
    return gpa > UINT64_MAX - ((uint64_t)len - 1);
}

/* Accept the first and last byte of a range (len > 0, not wrapping). Guest
 * RAM is contiguous in every host this runs under; a host with holes still
 * refuses the copy itself later (vcon_virtq_read_chain returns -EFAULT). */
static bool range_in_ram(const struct vcon_virtq *vq, uint64_t gpa, uint32_t len)
{
    uint8_t probe;
    if (vq->host->mem_read(vq->host->ctx, gpa, &probe, 1) != 0)
        return false;
    return len == 1 || vq->host->mem_read(vq->host->ctx, gpa + len - 1, &probe, 1) == 0;
}

static enum vcon_virtq_error add_segment(struct walk *w, const struct virtq_desc *desc)
{
    const bool writable = (desc->flags & VCON_VIRTQ_DESC_F_WRITE) != 0;
    if (writable)
        w->seen_writable = true;
    else if (w->seen_writable)
        return VCON_VIRTQ_ERR_DIRECTION;
    /* A zero-length descriptor is legal and moves nothing: it keeps its
     * place in the direction order but adds no segment. */
    if (desc->len == 0)
        return VCON_VIRTQ_ERR_NONE;
    if (writable)
        w->in_bytes += desc->len;
    else
        w->out_bytes += desc->len;
    if (w->in_bytes > UINT32_MAX || w->out_bytes > UINT32_MAX)
        return VCON_VIRTQ_ERR_LENGTH_OVERFLOW;
    if (w->nr_seg >= VCON_VIRTQ_MAX_SIZE)
        return VCON_VIRTQ_ERR_TOO_MANY_SEGMENTS;
    if (range_wraps(desc->addr, desc->len))
        return VCON_VIRTQ_ERR_SEGMENT_ADDRESS;
    w->chain->seg[w->nr_seg].gpa = desc->addr;
    w->chain->seg[w->nr_seg].len = desc->len;
    w->nr_seg++;
    if (writable)
        w->chain->nr_in++;
    else
        w->chain->nr_out++;
    return VCON_VIRTQ_ERR_NONE;
}

/* The indirect table named by `desc` (INDIRECT set, NEXT clear): its own
 * chain starts at entry 0 and may link its entries in any order. */
static enum vcon_virtq_error walk_indirect(struct walk *w, const struct virtq_desc *desc)
{
    enum vcon_virtq_error err;
    struct virtq_desc entry;
    uint32_t nr_entries, count = 0;
    uint16_t index = 0;
    uint8_t probe;

    if (desc->len == 0 || desc->len % VIRTQ_DESC_BYTES != 0 ||
        desc->len / VIRTQ_DESC_BYTES > VCON_VIRTQ_MAX_SIZE)
        return VCON_VIRTQ_ERR_INDIRECT_LENGTH;
    nr_entries = desc->len / VIRTQ_DESC_BYTES;
    if (range_wraps(desc->addr, desc->len))
        return VCON_VIRTQ_ERR_INDIRECT_ADDRESS;
    /* The whole table must be guest RAM, also the entries the chain skips. */
    if (w->vq->host->mem_read(w->vq->host->ctx, desc->addr + desc->len - 1, &probe, 1) != 0)
        return VCON_VIRTQ_ERR_INDIRECT_ADDRESS;
    for (;;) {
        if (++count > nr_entries)
            return VCON_VIRTQ_ERR_CHAIN_LOOP;
        if (virtq_read_desc(w->vq, desc->addr + (uint64_t)index * VIRTQ_DESC_BYTES, &entry))
            return VCON_VIRTQ_ERR_INDIRECT_ADDRESS;
        if (entry.flags & VCON_VIRTQ_DESC_F_INDIRECT)
            return VCON_VIRTQ_ERR_INDIRECT_NESTED;
        err = add_segment(w, &entry);
        if (err != VCON_VIRTQ_ERR_NONE)
            return err;
        if (!(entry.flags & VCON_VIRTQ_DESC_F_NEXT))
            return VCON_VIRTQ_ERR_NONE;
        if (entry.next >= nr_entries)
            return VCON_VIRTQ_ERR_NEXT_RANGE;
        index = entry.next;
    }
}

/* Phase one: follow the links from `head` through the descriptor table
 * and, at its end, at most one indirect table. */
static enum vcon_virtq_error walk_structure(struct walk *w, uint16_t head)
{
    struct vcon_virtq *vq = w->vq;
    enum vcon_virtq_error err;
    struct virtq_desc desc;
    uint16_t index = head;
    uint32_t count = 0;

    for (;;) {
        /* A chain can visit each descriptor once; a longer one loops. */
        if (++count > vq->size)
            return VCON_VIRTQ_ERR_CHAIN_LOOP;
        if (virtq_read_desc(vq, vq->desc_gpa + (uint64_t)index * VIRTQ_DESC_BYTES, &desc))
            return VCON_VIRTQ_ERR_RING_ADDRESS;
        if (desc.flags & VCON_VIRTQ_DESC_F_INDIRECT) {
            /* The spec lets an indirect descriptor end a direct chain, not
             * continue it; its own WRITE flag is ignored. */
            if (!vq->indirect)
                return VCON_VIRTQ_ERR_INDIRECT_NOT_NEGOTIATED;
            if (desc.flags & VCON_VIRTQ_DESC_F_NEXT)
                return VCON_VIRTQ_ERR_INDIRECT_NEXT;
            return walk_indirect(w, &desc);
        }
        err = add_segment(w, &desc);
        if (err != VCON_VIRTQ_ERR_NONE)
            return err;
        if (!(desc.flags & VCON_VIRTQ_DESC_F_NEXT))
            return VCON_VIRTQ_ERR_NONE;
        if (desc.next >= vq->size)
            return VCON_VIRTQ_ERR_NEXT_RANGE;
        index = desc.next;
    }
}

enum vcon_virtq_error virtq_walk_chain(struct vcon_virtq *vq, uint16_t head,
                                       struct vcon_virtq_chain *chain)
{
    struct walk w = { .vq = vq, .chain = chain };
    enum vcon_virtq_error err;

    chain->head = head;
    chain->nr_out = 0;
    chain->nr_in = 0;
    chain->out_bytes = 0;
    chain->in_bytes = 0;
    err = walk_structure(&w, head);
    if (err == VCON_VIRTQ_ERR_NONE) {
        /* Phase two: the buffers themselves. */
        for (unsigned i = 0; i < w.nr_seg; i++) {
            if (!range_in_ram(vq, chain->seg[i].gpa, chain->seg[i].len)) {
                err = VCON_VIRTQ_ERR_SEGMENT_ADDRESS;
                break;
            }
        }
    }
    if (err != VCON_VIRTQ_ERR_NONE) {
        chain->nr_out = 0;
        chain->nr_in = 0;
        return err;
    }
    chain->out_bytes = (uint32_t)w.out_bytes;
    chain->in_bytes = (uint32_t)w.in_bytes;
    return VCON_VIRTQ_ERR_NONE;
}
