/* The interrupt sink: line levels and raise counts, the MSI record, and the
 * delivery of changes to the observer (a fake guest's interrupt handler). */
#include <stdio.h>
#include <stdlib.h>

#include "vm_internal.h"

/* Delivery is serialised: an observer that makes bus accesses which change
 * interrupts again gets those changes queued behind the current one, never a
 * nested call, and the queue is read by index because pushing may move it. */
static void deliver_pending(struct vcon_vm *vm)
{
    if (vm->delivering || vm->device_depth > 0)
        return;
    vm->delivering = true;
    while (vm->pending_head < vm->pending_count) {
        const struct harness_irq_event event = vm->pending[vm->pending_head++];
        /* Looked up per event: the observer may replace or clear itself. */
        if (vm->observer != NULL)
            vm->observer(vm->observer_arg, event.line, event.level);
    }
    vm->pending_head = 0;
    vm->pending_count = 0;
    vm->delivering = false;
}

static void queue_event(struct vcon_vm *vm, int line, int level)
{
    if (vm->observer == NULL)
        return;
    if (vm->pending_head == vm->pending_count) {
        /* Everything queued has been delivered: reuse the space, so an
         * observer that keeps a device busy does not grow the queue. */
        vm->pending_head = 0;
        vm->pending_count = 0;
    }
    if (vm->pending_count == vm->pending_capacity) {
        const size_t capacity = vm->pending_capacity ? vm->pending_capacity * 2 : 16;
        struct harness_irq_event *grown = NULL;
        if (capacity <= SIZE_MAX / sizeof(*grown))
            grown = realloc(vm->pending, capacity * sizeof(*grown));
        if (grown == NULL) {
            harness_log(vm, VCON_LOG_ERROR, "harness: out of memory, interrupt not shown to the observer");
            return;
        }
        vm->pending = grown;
        vm->pending_capacity = capacity;
    }
    vm->pending[vm->pending_count++] = (struct harness_irq_event){ .line = line, .level = level };
    deliver_pending(vm);
}

void harness_device_enter(struct vcon_vm *vm)
{
    vm->device_depth++;
}

void harness_device_leave(struct vcon_vm *vm)
{
    vm->device_depth--;
    deliver_pending(vm);
}

void harness_irq_set_level(struct vcon_vm *vm, unsigned line, int level)
{
    if (line >= VCON_VM_IRQ_LINES) {
        char message[96];
        snprintf(message, sizeof(message), "harness: interrupt line %u out of range, ignored", line);
        harness_log(vm, VCON_LOG_WARN, message);
        return;
    }
    const uint8_t high = level != 0;
    if (vm->irq_levels[line] == high)
        return;
    vm->irq_levels[line] = high;
    if (high)
        vm->irq_raises[line]++;
    queue_event(vm, (int)line, high);
}

void harness_msi_send(struct vcon_vm *vm, uint64_t address, uint32_t data)
{
    if (vm->msi_count == vm->msi_capacity) {
        const size_t capacity = vm->msi_capacity ? vm->msi_capacity * 2 : 16;
        struct vcon_msi_record *grown = NULL;
        if (capacity <= SIZE_MAX / sizeof(*grown))
            grown = realloc(vm->msis, capacity * sizeof(*grown));
        if (grown == NULL) {
            harness_log(vm, VCON_LOG_ERROR, "harness: out of memory, MSI not recorded");
            return;
        }
        vm->msis = grown;
        vm->msi_capacity = capacity;
    }
    vm->msis[vm->msi_count++] = (struct vcon_msi_record){
        .address = address, .data = data, .time_ns = vm->now
    };
    queue_event(vm, -1, 1);
}

int vcon_vm_irq_level(const struct vcon_vm *vm, unsigned line)
{
    if (line >= VCON_VM_IRQ_LINES)
        return 0;
    return vm->irq_levels[line];
}

uint64_t vcon_vm_irq_raises(const struct vcon_vm *vm, unsigned line)
{
    if (line >= VCON_VM_IRQ_LINES)
        return 0;
    return vm->irq_raises[line];
}

size_t vcon_vm_msi_count(const struct vcon_vm *vm)
{
    return vm->msi_count;
}

const struct vcon_msi_record *vcon_vm_msi(const struct vcon_vm *vm, size_t index)
{
    if (index >= vm->msi_count)
        return NULL;
    return &vm->msis[index];
}

void vcon_vm_set_irq_observer(struct vcon_vm *vm, vcon_vm_irq_observer *fn, void *arg)
{
    vm->observer = fn;
    vm->observer_arg = arg;
}

void harness_irq_free(struct vcon_vm *vm)
{
    free(vm->msis);
    free(vm->pending);
    vm->msis = NULL;
    vm->pending = NULL;
}
