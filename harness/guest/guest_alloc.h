/* A fake guest's allocator for its own RAM: the pages a driver hands to a
 * device (rings, buffers, indirect tables). First fit over a bitmap of
 * 64-byte blocks, so buffers can be freed and reused for as long as a test
 * runs. It hands out guest-physical addresses only; the memory is reached
 * through vcon_vm_guest_read/write like any other guest access. */
#ifndef HARNESS_GUEST_ALLOC_H
#define HARNESS_GUEST_ALLOC_H

#include <stddef.h>
#include <stdint.h>

#define VCON_GUEST_ALLOC_BLOCK 64u

struct vcon_guest_alloc {
    uint64_t base;     /* first byte managed, a multiple of the block size */
    size_t nr_blocks;
    size_t used_blocks;
    size_t hint;       /* where the next search starts */
    uint8_t *bitmap;   /* one bit per block, set = in use */
    uint64_t failures; /* allocations refused */
};

/* Manage [base, base + size): base is rounded up and size down to whole
 * blocks. Returns 0, -EINVAL (nothing left to manage) or -ENOMEM. */
int vcon_guest_alloc_init(struct vcon_guest_alloc *a, uint64_t base, uint64_t size);
void vcon_guest_alloc_fini(struct vcon_guest_alloc *a);

/* `len` bytes aligned to `align` (a power of two; less than a block means a
 * block). Returns the address, or 0 when there is no room (0 is never
 * handed out: the managed range must not start at 0). */
uint64_t vcon_guest_alloc(struct vcon_guest_alloc *a, uint64_t len, uint64_t align);
/* Give back what vcon_guest_alloc returned for the same `len`. */
void vcon_guest_free(struct vcon_guest_alloc *a, uint64_t gpa, uint64_t len);
/* Bytes in use, in whole blocks. */
uint64_t vcon_guest_alloc_in_use(const struct vcon_guest_alloc *a);

#endif
