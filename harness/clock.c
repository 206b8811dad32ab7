/* The virtual clock and the devices' one-shot timers. Time moves only in
 * vcon_vm_advance(), and due timers fire in a total order (deadline, then
 * arming sequence), so a run never depends on where a timer sits in memory. */
#include <stdlib.h>

#include "vm_internal.h"

struct harness_timer *harness_timer_create(struct vcon_vm *vm, vcon_timer_fn *fire, void *device)
{
    if (fire == NULL)
        return NULL;
    struct harness_timer *t = calloc(1, sizeof(*t));
    if (t == NULL)
        return NULL;
    t->vm = vm;
    t->fire = fire;
    t->device = device;
    t->next = vm->timers;
    if (vm->timers != NULL)
        vm->timers->prev = t;
    vm->timers = t;
    return t;
}

/* A timer handed back by a device must be one this VM made. */
static bool timer_is_ours(struct vcon_vm *vm, const struct harness_timer *t, const char *what)
{
    if (t != NULL && t->vm == vm)
        return true;
    harness_log(vm, VCON_LOG_ERROR, what);
    return false;
}

void harness_timer_arm(struct vcon_vm *vm, struct harness_timer *t, uint64_t deadline_ns)
{
    if (!timer_is_ours(vm, t, "harness: timer_arm on a timer this VM did not create"))
        return;
    /* Re-arming takes a fresh sequence number: the timer now ties as the
     * latest armed, as if it had been disarmed and armed again. */
    t->deadline = deadline_ns;
    t->seq = vm->arm_seq++;
    t->armed = true;
}

void harness_timer_disarm(struct vcon_vm *vm, struct harness_timer *t)
{
    if (!timer_is_ours(vm, t, "harness: timer_disarm on a timer this VM did not create"))
        return;
    t->armed = false;
}

void harness_timer_destroy(struct vcon_vm *vm, struct harness_timer *t)
{
    if (t == NULL)
        return;
    if (!timer_is_ours(vm, t, "harness: timer_destroy on a timer this VM did not create"))
        return;
    if (t->prev != NULL)
        t->prev->next = t->next;
    else
        vm->timers = t->next;
    if (t->next != NULL)
        t->next->prev = t->prev;
    free(t);
}

static struct harness_timer *earliest_armed(const struct vcon_vm *vm)
{
    struct harness_timer *best = NULL;
    for (struct harness_timer *t = vm->timers; t != NULL; t = t->next) {
        if (!t->armed)
            continue;
        if (best == NULL || t->deadline < best->deadline ||
            (t->deadline == best->deadline && t->seq < best->seq))
            best = t;
    }
    return best;
}

uint64_t vcon_vm_now(const struct vcon_vm *vm)
{
    return vm->now;
}

uint64_t vcon_vm_next_deadline(const struct vcon_vm *vm)
{
    const struct harness_timer *t = earliest_armed(vm);
    return t != NULL ? t->deadline : UINT64_MAX;
}

void vcon_vm_advance(struct vcon_vm *vm, uint64_t ns)
{
    const uint64_t target = ns > UINT64_MAX - vm->now ? UINT64_MAX : vm->now + ns;

    if (vm->recorder.advance != NULL)
        vm->recorder.advance(vm->recorder.arg, ns);

    /* Searched afresh after every fire: the callback may arm, disarm or
     * destroy any timer, itself included. A timer armed in the past fires at
     * the current time, because time never goes backwards. */
    for (;;) {
        struct harness_timer *t = earliest_armed(vm);
        if (t == NULL || t->deadline > target)
            break;
        if (t->deadline > vm->now)
            vm->now = t->deadline;
        t->armed = false;
        vcon_timer_fn *const fire = t->fire;
        void *const device = t->device;
        harness_device_enter(vm);
        fire(device);
        harness_device_leave(vm);
    }
    /* An observer may itself have advanced the clock past `target`. */
    if (target > vm->now)
        vm->now = target;
}

void harness_clock_free(struct vcon_vm *vm)
{
    struct harness_timer *t = vm->timers;
    while (t != NULL) {
        struct harness_timer *next = t->next;
        free(t);
        t = next;
    }
    vm->timers = NULL;
}
