/* A fixed-storage ring of 16-bit slots, internal to emu/. The UART keeps a
 * received byte and its line-error bits in one slot. `capacity` (how many
 * slots are in use now) may be lowered below `size` (how many exist), as a
 * 16550 does when its FIFOs are switched off. */
#ifndef VCON_EMU_RING_H
#define VCON_EMU_RING_H

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

struct vcon_ring {
    uint16_t *slot;
    unsigned size;     /* slots allocated */
    unsigned capacity; /* slots usable now, 1 .. size */
    unsigned head;     /* index of the oldest entry */
    unsigned count;
};

static inline int vcon_ring_init(struct vcon_ring *r, unsigned size)
{
    r->slot = calloc(size, sizeof(*r->slot));
    r->size = size;
    r->capacity = size;
    r->head = 0;
    r->count = 0;
    return r->slot ? 0 : -1;
}

static inline void vcon_ring_free(struct vcon_ring *r)
{
    free(r->slot);
    r->slot = NULL;
}

static inline void vcon_ring_clear(struct vcon_ring *r)
{
    r->head = 0;
    r->count = 0;
}

/* Empties the ring and sets how many slots it may use (clamped to 1..size). */
static inline void vcon_ring_resize(struct vcon_ring *r, unsigned capacity)
{
    if (capacity < 1)
        capacity = 1;
    if (capacity > r->size)
        capacity = r->size;
    r->capacity = capacity;
    vcon_ring_clear(r);
}

static inline bool vcon_ring_full(const struct vcon_ring *r)
{
    return r->count >= r->capacity;
}

static inline unsigned vcon_ring_room(const struct vcon_ring *r)
{
    return r->count >= r->capacity ? 0 : r->capacity - r->count;
}

/* The caller checks vcon_ring_full() first. */
static inline void vcon_ring_push(struct vcon_ring *r, uint16_t value)
{
    r->slot[(r->head + r->count) % r->size] = value;
    r->count++;
}

static inline uint16_t vcon_ring_peek(const struct vcon_ring *r, unsigned index)
{
    return r->slot[(r->head + index) % r->size];
}

/* The caller checks count > 0 first. */
static inline uint16_t vcon_ring_pop(struct vcon_ring *r)
{
    uint16_t value = r->slot[r->head];
    r->head = (r->head + 1) % r->size;
    r->count--;
    return value;
}

/* Pushes, dropping the oldest entry when full. Returns true if one was dropped. */
static inline bool vcon_ring_push_overwrite(struct vcon_ring *r, uint16_t value)
{
    bool dropped = false;
    if (vcon_ring_full(r)) {
        (void)vcon_ring_pop(r);
        dropped = true;
    }
    vcon_ring_push(r, value);
    return dropped;
}

#endif
