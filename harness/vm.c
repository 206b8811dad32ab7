/* VM creation and teardown, guest RAM and the fake guest's own accesses to
 * it, and the log every part of the VM writes to. */
#define _DEFAULT_SOURCE /* MAP_ANONYMOUS */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "vm_internal.h"

/* The guest RAM layout the devices are written for fits below 4 GiB, and the
 * bound keeps every gpa + len sum far from overflowing. */
#define HARNESS_RAM_MAX (UINT64_C(1) << 32)

/* Guest RAM is a mapping of its own, not heap memory:
 * - anonymous pages read as zero, so a guest reading RAM it never wrote
 *   sees the same bytes on every run, and only the pages a run touches cost
 *   anything. A heap block under ASan was zeroed, poisoned and quarantined
 *   whole: creating and destroying a VM of 1 MiB took 300 us of page
 *   faults, and the console fuzz target destroys its VM on one input in
 *   64 (docs/fuzzing.md, "Benchmark").
 * - an inaccessible page lies on each side, and RAM ends exactly at the
 *   upper one, so a stray access past either end faults at once, with or
 *   without a sanitizer (the bounds checks in harness_ram_* are what keeps
 *   devices inside; the guards catch the harness's own mistakes). */
static size_t host_page(void)
{
    const long page = sysconf(_SC_PAGESIZE);
    return page > 0 ? (size_t)page : 4096u;
}

static size_t ram_span(size_t ram_size, size_t page)
{
    return (ram_size + page - 1) / page * page;
}

static uint8_t *ram_map(size_t ram_size)
{
    const size_t page = host_page(), span = ram_span(ram_size, page);
    uint8_t *base = mmap(NULL, span + 2 * page, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (base == MAP_FAILED)
        return NULL;
    if (mprotect(base + page, span, PROT_READ | PROT_WRITE) != 0) {
        munmap(base, span + 2 * page);
        return NULL;
    }
    return base + page + (span - ram_size);
}

static void ram_unmap(uint8_t *ram, size_t ram_size)
{
    const size_t page = host_page(), span = ram_span(ram_size, page);
    munmap(ram - (span - ram_size) - page, span + 2 * page);
}

int vcon_vm_create(size_t ram_size, struct vcon_vm **out)
{
    if (out == NULL)
        return -EINVAL;
    *out = NULL;
    if (ram_size == 0 || (uint64_t)ram_size > HARNESS_RAM_MAX)
        return -EINVAL;

    struct vcon_vm *vm = calloc(1, sizeof(*vm));
    if (vm == NULL)
        return -ENOMEM;
    vm->ram = ram_map(ram_size);
    if (vm->ram == NULL) {
        free(vm);
        return -ENOMEM;
    }
    vm->ram_size = ram_size;
    vm->dirty_words = ((ram_size + VCON_VM_PAGE_SIZE - 1) / VCON_VM_PAGE_SIZE + 63) / 64;
    vm->dirty = calloc(vm->dirty_words, sizeof(*vm->dirty));
    if (vm->dirty == NULL) {
        ram_unmap(vm->ram, ram_size);
        free(vm);
        return -ENOMEM;
    }
    *out = vm;
    return 0;
}

void vcon_vm_destroy(struct vcon_vm *vm)
{
    if (vm == NULL)
        return;
    harness_bindings_free(vm);
    harness_clock_free(vm);
    harness_irq_free(vm);
    harness_bus_free(vm);
    free(vm->dirty);
    ram_unmap(vm->ram, vm->ram_size);
    free(vm);
}

size_t vcon_vm_ram_size(const struct vcon_vm *vm)
{
    return vm->ram_size;
}

bool harness_ram_contains(const struct vcon_vm *vm, uint64_t gpa, size_t len)
{
    /* Written as a subtraction so that gpa + len never has to be formed: it
     * wraps for a gpa near UINT64_MAX. */
    const uint64_t size = vm->ram_size;
    if (gpa > size || (uint64_t)len > size - gpa)
        return false;
    /* Both ranges lie inside RAM here, so their ends cannot wrap. */
    return vm->hole_len == 0 || gpa + len <= vm->hole_gpa || gpa >= vm->hole_gpa + vm->hole_len;
}

int vcon_vm_set_ram_hole(struct vcon_vm *vm, uint64_t gpa, uint64_t len)
{
    if (len != 0 && (gpa >= vm->ram_size || len > vm->ram_size - gpa))
        return -EINVAL;
    vm->hole_gpa = len != 0 ? gpa : 0;
    vm->hole_len = len;
    return 0;
}

int vcon_vm_guest_write(struct vcon_vm *vm, uint64_t gpa, const void *buf, size_t len)
{
    if (vm->recorder.guest_write != NULL)
        vm->recorder.guest_write(vm->recorder.arg, gpa, buf, len);
    return harness_ram_write(vm, gpa, buf, len);
}

void vcon_vm_set_observer(struct vcon_vm *vm, const struct vcon_vm_observer *observer)
{
    if (observer != NULL)
        vm->recorder = *observer;
    else
        vm->recorder = (struct vcon_vm_observer){ 0 };
}

/* [gpa, gpa + len) is inside RAM and len > 0. */
static void mark_dirty(struct vcon_vm *vm, uint64_t gpa, size_t len)
{
    const uint64_t last = (gpa + len - 1) / VCON_VM_PAGE_SIZE;
    for (uint64_t page = gpa / VCON_VM_PAGE_SIZE; page <= last; page++)
        vm->dirty[page / 64] |= UINT64_C(1) << (page % 64);
}

int harness_ram_write(struct vcon_vm *vm, uint64_t gpa, const void *buf, size_t len)
{
    if (!harness_ram_contains(vm, gpa, len))
        return -EFAULT;
    if (len == 0)
        return 0;
    if (buf == NULL)
        return -EFAULT;
    memcpy(vm->ram + gpa, buf, len);
    mark_dirty(vm, gpa, len);
    return 0;
}

const uint8_t *vcon_vm_guest_view(const struct vcon_vm *vm, uint64_t gpa, size_t len)
{
    return harness_ram_contains(vm, gpa, len) ? vm->ram + gpa : NULL;
}

int vcon_vm_guest_read(struct vcon_vm *vm, uint64_t gpa, void *buf, size_t len)
{
    const uint8_t *ram = vcon_vm_guest_view(vm, gpa, len);
    if (ram == NULL)
        return -EFAULT;
    if (len == 0)
        return 0;
    if (buf == NULL)
        return -EFAULT;
    memcpy(buf, ram, len);
    return 0;
}

static const char *level_name(enum vcon_log_level level)
{
    switch (level) {
    case VCON_LOG_ERROR:
        return "error";
    case VCON_LOG_WARN:
        return "warn";
    case VCON_LOG_INFO:
        return "info";
    case VCON_LOG_DEBUG:
        return "debug";
    }
    return "?";
}

void harness_log(struct vcon_vm *vm, enum vcon_log_level level, const char *message)
{
    if (message == NULL)
        message = "(null)";
    vm->log_count++;
    snprintf(vm->last_log, sizeof(vm->last_log), "%s", message);
    if (vm->log_echo)
        fprintf(stderr, "vcon %s: %s\n", level_name(level), message);
}

uint64_t vcon_vm_log_count(const struct vcon_vm *vm)
{
    return vm->log_count;
}

const char *vcon_vm_last_log(const struct vcon_vm *vm)
{
    return vm->last_log;
}

void vcon_vm_set_log_echo(struct vcon_vm *vm, bool echo)
{
    vm->log_echo = echo;
}

size_t vcon_vm_dirty_pages(const struct vcon_vm *vm)
{
    size_t n = 0;
    for (size_t w = 0; w < vm->dirty_words; w++)
        for (uint64_t bits = vm->dirty[w]; bits != 0; bits &= bits - 1)
            n++;
    return n;
}

bool vcon_vm_page_dirty(const struct vcon_vm *vm, uint64_t gpa)
{
    if (gpa >= vm->ram_size)
        return false;
    const uint64_t page = gpa / VCON_VM_PAGE_SIZE;
    return (vm->dirty[page / 64] >> (page % 64) & 1u) != 0;
}

void vcon_vm_clear_dirty(struct vcon_vm *vm)
{
    for (size_t w = 0; w < vm->dirty_words; w++) {
        uint64_t bits = vm->dirty[w];
        vm->dirty[w] = 0;
        for (unsigned bit = 0; bits != 0; bit++, bits >>= 1) {
            if (!(bits & 1u))
                continue;
            const uint64_t start = ((uint64_t)w * 64 + bit) * VCON_VM_PAGE_SIZE;
            const uint64_t left = vm->ram_size - start;
            memset(vm->ram + start, 0, left < VCON_VM_PAGE_SIZE ? (size_t)left : VCON_VM_PAGE_SIZE);
        }
    }
}

int vcon_vm_reset_run(struct vcon_vm *vm)
{
    if (vcon_vm_next_deadline(vm) != UINT64_MAX)
        return -EBUSY;
    vm->now = 0;
    vm->arm_seq = 0;
    memset(vm->irq_raises, 0, sizeof(vm->irq_raises));
    vm->msi_count = 0;
    vm->pending_head = 0;
    vm->pending_count = 0;
    vm->unmapped_accesses = 0;
    vm->log_count = 0;
    vm->last_log[0] = 0;
    return 0;
}
