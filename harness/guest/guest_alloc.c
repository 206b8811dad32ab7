/* First-fit block allocator over a bitmap. */
#include "guest/guest_alloc.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

static bool block_used(const struct vcon_guest_alloc *a, size_t i)
{
    return (a->bitmap[i / 8] >> (i % 8)) & 1u;
}

static void mark(struct vcon_guest_alloc *a, size_t first, size_t count, bool used)
{
    for (size_t i = first; i < first + count; i++) {
        if (used)
            a->bitmap[i / 8] = (uint8_t)(a->bitmap[i / 8] | (1u << (i % 8)));
        else
            a->bitmap[i / 8] = (uint8_t)(a->bitmap[i / 8] & ~(1u << (i % 8)));
    }
}

int vcon_guest_alloc_init(struct vcon_guest_alloc *a, uint64_t base, uint64_t size)
{
    memset(a, 0, sizeof(*a));
    const uint64_t first = (base + VCON_GUEST_ALLOC_BLOCK - 1) / VCON_GUEST_ALLOC_BLOCK;
    const uint64_t end = (base + size) / VCON_GUEST_ALLOC_BLOCK;
    if (base == 0 || size == 0 || base + size < base || end <= first)
        return -EINVAL;
    a->base = first * VCON_GUEST_ALLOC_BLOCK;
    a->nr_blocks = (size_t)(end - first);
    a->bitmap = calloc((a->nr_blocks + 7) / 8, 1);
    if (a->bitmap == NULL)
        return -ENOMEM;
    return 0;
}

void vcon_guest_alloc_fini(struct vcon_guest_alloc *a)
{
    free(a->bitmap);
    memset(a, 0, sizeof(*a));
}

/* First fit from `from` to `to`: the first block index, or SIZE_MAX. */
static size_t search(const struct vcon_guest_alloc *a, size_t from, size_t to, size_t count,
                     size_t align_blocks)
{
    const uint64_t base_block = a->base / VCON_GUEST_ALLOC_BLOCK;
    size_t i = from;
    while (i + count <= to) {
        /* Aligned in guest-physical terms, not relative to the base. */
        const uint64_t abs = base_block + i;
        const uint64_t rem = abs % align_blocks;
        if (rem != 0) {
            i += (size_t)(align_blocks - rem);
            continue;
        }
        size_t run = 0;
        while (run < count && !block_used(a, i + run))
            run++;
        if (run == count)
            return i;
        i += run + 1;
    }
    return SIZE_MAX;
}

uint64_t vcon_guest_alloc(struct vcon_guest_alloc *a, uint64_t len, uint64_t align)
{
    if (a->bitmap == NULL || len == 0 || len > (uint64_t)a->nr_blocks * VCON_GUEST_ALLOC_BLOCK ||
        (align & (align - 1)) != 0) {
        a->failures++;
        return 0;
    }
    const size_t count = (size_t)((len + VCON_GUEST_ALLOC_BLOCK - 1) / VCON_GUEST_ALLOC_BLOCK);
    const size_t align_blocks =
        align <= VCON_GUEST_ALLOC_BLOCK ? 1 : (size_t)(align / VCON_GUEST_ALLOC_BLOCK);
    size_t at = search(a, a->hint, a->nr_blocks, count, align_blocks);
    if (at == SIZE_MAX)
        at = search(a, 0, a->nr_blocks, count, align_blocks);
    if (at == SIZE_MAX) {
        a->failures++;
        return 0;
    }
    mark(a, at, count, true);
    a->used_blocks += count;
    a->hint = at + count < a->nr_blocks ? at + count : 0;
    return a->base + (uint64_t)at * VCON_GUEST_ALLOC_BLOCK;
}

void vcon_guest_free(struct vcon_guest_alloc *a, uint64_t gpa, uint64_t len)
{
    if (a->bitmap == NULL || gpa < a->base || len == 0)
        return;
    const size_t first = (size_t)((gpa - a->base) / VCON_GUEST_ALLOC_BLOCK);
    const size_t count = (size_t)((len + VCON_GUEST_ALLOC_BLOCK - 1) / VCON_GUEST_ALLOC_BLOCK);
    if (first >= a->nr_blocks || count > a->nr_blocks - first)
        return;
    for (size_t i = first; i < first + count; i++) {
        if (block_used(a, i)) {
            mark(a, i, 1, false);
            a->used_blocks--;
        }
    }
}

uint64_t vcon_guest_alloc_in_use(const struct vcon_guest_alloc *a)
{
    return (uint64_t)a->used_blocks * VCON_GUEST_ALLOC_BLOCK;
}
