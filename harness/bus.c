/* The bus: one sorted region list per address space, and the routing of guest
 * accesses to the device that owns the address. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vm_internal.h"

static struct harness_space *space_of(struct vcon_vm *vm, enum vcon_space space)
{
    /* The enum comes from callers (fuzzers included) as a plain number. */
    const unsigned index = (unsigned)space;
    if (index >= HARNESS_NR_SPACES)
        return NULL;
    return &vm->spaces[index];
}

/* Index of the first region whose base is above `addr` (0 .. count). */
static size_t first_above(const struct harness_space *s, uint64_t addr)
{
    size_t lo = 0;
    size_t hi = s->count;
    while (lo < hi) {
        const size_t mid = lo + (hi - lo) / 2;
        if (s->regions[mid].base <= addr)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

int vcon_vm_map(struct vcon_vm *vm, enum vcon_space space, uint64_t base,
                uint64_t length, const struct vcon_bus_ops *ops, void *device)
{
    struct harness_space *s = space_of(vm, space);
    if (s == NULL || ops == NULL || length == 0)
        return -EINVAL;
    /* length - 1 <= UINT64_MAX - base: the region may end exactly at the top
     * of the space but not wrap past it. */
    if (length - 1 > UINT64_MAX - base)
        return -EINVAL;
    const uint64_t last = base + (length - 1);

    const size_t at = first_above(s, base);
    if (at > 0 && s->regions[at - 1].last >= base)
        return -EBUSY;
    if (at < s->count && s->regions[at].base <= last)
        return -EBUSY;

    if (s->count == s->capacity) {
        const size_t capacity = s->capacity ? s->capacity * 2 : 8;
        if (capacity > SIZE_MAX / sizeof(*s->regions))
            return -ENOMEM;
        struct harness_region *grown = realloc(s->regions, capacity * sizeof(*grown));
        if (grown == NULL)
            return -ENOMEM;
        s->regions = grown;
        s->capacity = capacity;
    }
    memmove(&s->regions[at + 1], &s->regions[at], (s->count - at) * sizeof(*s->regions));
    s->regions[at] = (struct harness_region){ .base = base, .last = last, .ops = ops, .device = device };
    s->count++;
    return 0;
}

int vcon_vm_unmap(struct vcon_vm *vm, enum vcon_space space, uint64_t base)
{
    struct harness_space *s = space_of(vm, space);
    if (s == NULL)
        return -ENOENT;
    const size_t above = first_above(s, base);
    if (above == 0 || s->regions[above - 1].base != base)
        return -ENOENT;
    const size_t at = above - 1;
    memmove(&s->regions[at], &s->regions[at + 1], (s->count - at - 1) * sizeof(*s->regions));
    s->count--;
    return 0;
}

static bool size_is_valid(unsigned size)
{
    return size == 1 || size == 2 || size == 4;
}

static uint32_t all_ones(unsigned size)
{
    switch (size) {
    case 1:
        return 0xFFu;
    case 2:
        return 0xFFFFu;
    default:
        return 0xFFFFFFFFu;
    }
}

/* The region holding every byte of [addr, addr + size), copied out: a device
 * callback may map or unmap and so move the region array. An access that
 * straddles a region's end belongs to no device. */
static bool route(struct vcon_vm *vm, enum vcon_space space, uint64_t addr, unsigned size,
                  struct harness_region *out)
{
    const struct harness_space *s = space_of(vm, space);
    if (s == NULL || !size_is_valid(size))
        return false;
    const size_t above = first_above(s, addr);
    if (above == 0)
        return false;
    const struct harness_region *r = &s->regions[above - 1];
    if (addr > r->last || r->last - addr < size - 1)
        return false;
    *out = *r;
    return true;
}

static void observe_access(struct vcon_vm *vm, enum vcon_space space, uint64_t addr,
                           unsigned size, bool is_write, uint32_t value)
{
    if (vm->recorder.access != NULL)
        vm->recorder.access(vm->recorder.arg, space, addr, size, is_write, value);
}

static uint32_t observe_result(struct vcon_vm *vm, uint32_t value)
{
    if (vm->recorder.read_result != NULL)
        vm->recorder.read_result(vm->recorder.arg, value);
    return value;
}

uint32_t vcon_vm_read(struct vcon_vm *vm, enum vcon_space space, uint64_t addr, unsigned size)
{
    const uint32_t ones = all_ones(size);
    struct harness_region r;
    observe_access(vm, space, addr, size, false, 0);
    if (!route(vm, space, addr, size, &r)) {
        vm->unmapped_accesses++;
        return observe_result(vm, ones);
    }
    if (r.ops->read == NULL)
        return observe_result(vm, ones);

    uint32_t value = ones;
    harness_device_enter(vm);
    const int rc = r.ops->read(r.device, addr - r.base, size, &value);
    /* A device may leave junk above the access size; the guest's register
     * is only `size` bytes wide. The result is observed before leaving, so
     * that interrupts the read caused are delivered after it. */
    value = observe_result(vm, rc != 0 ? ones : value & ones);
    harness_device_leave(vm);
    return value;
}

void vcon_vm_write(struct vcon_vm *vm, enum vcon_space space, uint64_t addr, unsigned size,
                   uint32_t value)
{
    struct harness_region r;
    /* A guest cannot put more than `size` bytes on the bus; neither can a
     * fuzzer passing a wide value. */
    value &= all_ones(size);
    observe_access(vm, space, addr, size, true, value);
    if (!route(vm, space, addr, size, &r)) {
        vm->unmapped_accesses++;
        return;
    }
    if (r.ops->write == NULL)
        return;

    harness_device_enter(vm);
    /* A failed write has nowhere to go. */
    (void)r.ops->write(r.device, addr - r.base, size, value);
    harness_device_leave(vm);
}

uint64_t vcon_vm_unmapped_accesses(const struct vcon_vm *vm)
{
    return vm->unmapped_accesses;
}

void harness_bus_free(struct vcon_vm *vm)
{
    for (unsigned i = 0; i < HARNESS_NR_SPACES; i++) {
        free(vm->spaces[i].regions);
        vm->spaces[i] = (struct harness_space){ 0 };
    }
}
