/* The guest's side of a legacy split virtqueue. */
#include "guest/vring.h"

#include <errno.h>
#include <string.h>

#define DESC_SIZE 16u
#define F_NEXT 1u
#define F_WRITE 2u
#define F_INDIRECT 4u
#define USED_F_NO_NOTIFY 1u
#define AVAIL_F_NO_INTERRUPT 1u
#define RING_ALIGN 4096u

static uint64_t align_up(uint64_t value)
{
    return (value + RING_ALIGN - 1) & ~(uint64_t)(RING_ALIGN - 1);
}

uint64_t vcon_guest_vring_bytes(uint16_t size)
{
    uint64_t avail_end = (uint64_t)size * DESC_SIZE + 6u + 2u * size;
    return align_up(avail_end) + 6u + 8u * (uint64_t)size;
}

static void put16(struct vcon_guest_vring *r, uint64_t gpa, uint16_t v)
{
    uint8_t b[2] = {(uint8_t)v, (uint8_t)(v >> 8)};
    (void)vcon_vm_guest_write(r->vm, gpa, b, sizeof(b));
}

static uint16_t get16(const struct vcon_guest_vring *r, uint64_t gpa)
{
    uint8_t b[2] = {0, 0};
    (void)vcon_vm_guest_read(r->vm, gpa, b, sizeof(b));
    return (uint16_t)(b[0] | b[1] << 8);
}

static uint32_t get32(const struct vcon_guest_vring *r, uint64_t gpa)
{
    uint8_t b[4] = {0, 0, 0, 0};
    (void)vcon_vm_guest_read(r->vm, gpa, b, sizeof(b));
    return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

static void write_desc(struct vcon_guest_vring *r, uint64_t gpa, uint64_t addr, uint32_t len,
                       uint16_t flags, uint16_t next)
{
    uint8_t d[DESC_SIZE];
    for (unsigned i = 0; i < 8; i++)
        d[i] = (uint8_t)(addr >> (8 * i));
    for (unsigned i = 0; i < 4; i++)
        d[8 + i] = (uint8_t)(len >> (8 * i));
    d[12] = (uint8_t)flags;
    d[13] = (uint8_t)(flags >> 8);
    d[14] = (uint8_t)next;
    d[15] = (uint8_t)(next >> 8);
    (void)vcon_vm_guest_write(r->vm, gpa, d, sizeof(d));
}

int vcon_guest_vring_init(struct vcon_guest_vring *r, struct vcon_vm *vm, uint16_t size,
                          uint64_t gpa, bool event_idx)
{
    static const uint8_t zero[256];
    uint64_t bytes;
    if (size == 0 || size > VCON_GUEST_VRING_MAX || (size & (size - 1)) || gpa % RING_ALIGN)
        return -EINVAL;
    bytes = vcon_guest_vring_bytes(size);
    if (gpa + bytes > vcon_vm_ram_size(vm))
        return -EINVAL;
    memset(r, 0, sizeof(*r));
    r->vm = vm;
    r->size = size;
    r->event_idx = event_idx;
    r->desc_gpa = gpa;
    r->avail_gpa = gpa + (uint64_t)size * DESC_SIZE;
    r->used_gpa = align_up(r->avail_gpa + 6u + 2u * size);
    for (uint64_t done = 0; done < bytes; done += sizeof(zero)) {
        uint64_t n = bytes - done < sizeof(zero) ? bytes - done : sizeof(zero);
        (void)vcon_vm_guest_write(vm, gpa + done, zero, (size_t)n);
    }
    for (uint16_t i = 0; i < size; i++)
        r->next_free[i] = (uint16_t)(i + 1);
    r->free_head = 0;
    r->num_free = size;
    return 0;
}

static int publish(struct vcon_guest_vring *r, uint16_t head, unsigned nr_desc, uint32_t token)
{
    r->chain_len[head] = (uint16_t)nr_desc;
    r->token[head] = token;
    r->outstanding[head] = true;
    put16(r, r->avail_gpa + 4u + 2u * (r->avail_idx % r->size), head);
    r->avail_idx++;
    put16(r, r->avail_gpa + 2u, r->avail_idx);
    return head;
}

int vcon_guest_vring_add(struct vcon_guest_vring *r, const struct vcon_guest_buf *out,
                         unsigned nr_out, const struct vcon_guest_buf *in, unsigned nr_in,
                         uint32_t token)
{
    unsigned total = nr_out + nr_in;
    uint16_t head = r->free_head, idx = head;
    if (total == 0 || total > r->num_free)
        return -ENOSPC;
    for (unsigned i = 0; i < total; i++) {
        const struct vcon_guest_buf *b = i < nr_out ? &out[i] : &in[i - nr_out];
        uint16_t flags = (uint16_t)((i < nr_out ? 0 : F_WRITE) | (i + 1 < total ? F_NEXT : 0));
        uint16_t next = r->next_free[idx];
        write_desc(r, r->desc_gpa + (uint64_t)idx * DESC_SIZE, b->gpa, b->len, flags,
                   i + 1 < total ? next : 0);
        if (i + 1 < total)
            idx = next;
    }
    r->free_head = r->next_free[idx];
    r->num_free = (uint16_t)(r->num_free - total);
    return publish(r, head, total, token);
}

int vcon_guest_vring_add_indirect(struct vcon_guest_vring *r, const struct vcon_guest_buf *out,
                                  unsigned nr_out, const struct vcon_guest_buf *in,
                                  unsigned nr_in, uint32_t token, uint64_t table_gpa)
{
    unsigned total = nr_out + nr_in;
    uint16_t head = r->free_head;
    if (total == 0 || r->num_free == 0)
        return -ENOSPC;
    for (unsigned i = 0; i < total; i++) {
        const struct vcon_guest_buf *b = i < nr_out ? &out[i] : &in[i - nr_out];
        uint16_t flags = (uint16_t)((i < nr_out ? 0 : F_WRITE) | (i + 1 < total ? F_NEXT : 0));
        write_desc(r, table_gpa + (uint64_t)i * DESC_SIZE, b->gpa, b->len, flags,
                   (uint16_t)(i + 1 < total ? i + 1 : 0));
    }
    write_desc(r, r->desc_gpa + (uint64_t)head * DESC_SIZE, table_gpa, total * DESC_SIZE,
               F_INDIRECT, 0);
    r->free_head = r->next_free[head];
    r->num_free--;
    return publish(r, head, 1, token);
}

bool vcon_guest_vring_kick_needed(const struct vcon_guest_vring *r, uint16_t old_avail)
{
    if (r->event_idx) {
        /* The spec's vring_need_event(avail_event, new, old). */
        uint16_t event = get16(r, r->used_gpa + 4u + 8u * r->size);
        return (uint16_t)(r->avail_idx - event - 1) < (uint16_t)(r->avail_idx - old_avail);
    }
    return !(get16(r, r->used_gpa) & USED_F_NO_NOTIFY);
}

static void free_chain(struct vcon_guest_vring *r, uint16_t head)
{
    /* The chain's links are the free-list links it was allocated along:
     * walk those, never the descriptors in guest RAM, which a buggy device
     * could have overwritten. */
    uint16_t idx = head;
    for (unsigned i = 1; i < r->chain_len[head]; i++)
        idx = r->next_free[idx];
    r->next_free[idx] = r->free_head;
    r->free_head = head;
    r->num_free = (uint16_t)(r->num_free + r->chain_len[head]);
    r->outstanding[head] = false;
}

int vcon_guest_vring_get_used(struct vcon_guest_vring *r, uint32_t *token, uint32_t *len)
{
    for (;;) {
        uint16_t used_idx = get16(r, r->used_gpa + 2u);
        uint64_t elem;
        uint32_t id;
        if (used_idx == r->last_used)
            return 0;
        elem = r->used_gpa + 4u + 8u * (uint64_t)(r->last_used % r->size);
        id = get32(r, elem);
        r->last_used++;
        if (r->event_idx) /* interrupt me at the next used entry */
            put16(r, r->avail_gpa + 4u + 2u * r->size, r->last_used);
        if (id >= r->size || !r->outstanding[id]) {
            r->bad_used++;
            continue;
        }
        *token = r->token[id];
        *len = get32(r, elem + 4u);
        free_chain(r, (uint16_t)id);
        return 1;
    }
}

void vcon_guest_vring_want_interrupts(struct vcon_guest_vring *r, bool want)
{
    put16(r, r->avail_gpa, want ? 0 : AVAIL_F_NO_INTERRUPT);
    if (r->event_idx)
        put16(r, r->avail_gpa + 4u + 2u * r->size,
              want ? r->last_used : (uint16_t)(r->last_used - 1));
}

unsigned vcon_guest_vring_outstanding(const struct vcon_guest_vring *r)
{
    return (unsigned)(r->size - r->num_free);
}
