/* The guest's side of a legacy split virtqueue, as a Linux driver keeps it:
 * a free list of descriptors, a shadow avail index, and the last used index
 * it has seen. All ring memory is written with vcon_vm_guest_write, i.e. as
 * the fake guest's own memory writes. */
#ifndef HARNESS_GUEST_VRING_H
#define HARNESS_GUEST_VRING_H

#include <stdbool.h>
#include <stdint.h>

#include "harness/vm.h"

#define VCON_GUEST_VRING_MAX 1024u

struct vcon_guest_buf {
    uint64_t gpa;
    uint32_t len;
};

struct vcon_guest_vring {
    struct vcon_vm *vm;
    uint16_t size;
    uint64_t desc_gpa, avail_gpa, used_gpa;
    uint16_t free_head, num_free;
    uint16_t avail_idx;   /* next avail->idx to publish */
    uint16_t last_used;   /* next used ring slot to read */
    bool event_idx;
    uint16_t next_free[VCON_GUEST_VRING_MAX];
    uint16_t chain_len[VCON_GUEST_VRING_MAX]; /* descriptors per outstanding head */
    uint32_t token[VCON_GUEST_VRING_MAX];     /* caller's tag per outstanding head */
    bool outstanding[VCON_GUEST_VRING_MAX];
    uint64_t bad_used; /* used entries the device got wrong */
};

/* Bytes of guest RAM a ring of `size` entries needs (legacy layout). */
uint64_t vcon_guest_vring_bytes(uint16_t size);
/* Lay out an empty ring at `gpa` (4096-aligned) and zero it. 0 or -EINVAL. */
int vcon_guest_vring_init(struct vcon_guest_vring *r, struct vcon_vm *vm, uint16_t size,
                          uint64_t gpa, bool event_idx);
/* Add a chain: device-readable buffers first, then device-writable ones.
 * Returns the head, or -ENOSPC when too few descriptors are free. */
int vcon_guest_vring_add(struct vcon_guest_vring *r, const struct vcon_guest_buf *out,
                         unsigned nr_out, const struct vcon_guest_buf *in, unsigned nr_in,
                         uint32_t token);
/* Same, through one indirect descriptor whose table is written at
 * `table_gpa` (16 bytes per buffer). */
int vcon_guest_vring_add_indirect(struct vcon_guest_vring *r, const struct vcon_guest_buf *out,
                                  unsigned nr_out, const struct vcon_guest_buf *in,
                                  unsigned nr_in, uint32_t token, uint64_t table_gpa);
/* After adds: does the device want a kick for what was published since
 * avail index `old_avail`? (USED_F_NO_NOTIFY, or avail_event with EVENT_IDX) */
bool vcon_guest_vring_kick_needed(const struct vcon_guest_vring *r, uint16_t old_avail);
/* Take one used entry. Returns 1 with its token and length, 0 when none.
 * An entry naming a head that is not outstanding is counted in bad_used and
 * skipped. */
int vcon_guest_vring_get_used(struct vcon_guest_vring *r, uint32_t *token, uint32_t *len);
/* Ask for interrupts (or not): avail->flags, and used_event with EVENT_IDX. */
void vcon_guest_vring_want_interrupts(struct vcon_guest_vring *r, bool want);
unsigned vcon_guest_vring_outstanding(const struct vcon_guest_vring *r);

#endif
