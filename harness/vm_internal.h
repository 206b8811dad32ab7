/* Private to harness/: the VM's state and the calls its parts make into one
 * another. Only the harness's own sources include this. */
#ifndef HARNESS_VM_INTERNAL_H
#define HARNESS_VM_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "harness/vm.h"
#include "vcon/host.h"

/* Long enough for any line a device sends in practice; longer ones are kept
 * truncated rather than allocated, so a noisy guest cannot grow the VM. */
#define HARNESS_LOG_MAX 256u

#define HARNESS_NR_SPACES 3u

struct harness_region {
    uint64_t base;
    uint64_t last; /* inclusive, so a region may end at UINT64_MAX */
    const struct vcon_bus_ops *ops;
    void *device;
};

/* Sorted by base, never overlapping, so a lookup is a binary search. */
struct harness_space {
    struct harness_region *regions;
    size_t count;
    size_t capacity;
};

/* An interrupt change waiting for the observer: `line` is -1 for an MSI. */
struct harness_irq_event {
    int line;
    int level;
};

/* What a device's struct vcon_timer * points to. A harness-only tag keeps
 * struct vcon_timer free for other hosts (recorder, replayer) to define. */
struct harness_timer {
    struct vcon_vm *vm;
    struct harness_timer *prev;
    struct harness_timer *next;
    vcon_timer_fn *fire;
    void *device;
    uint64_t deadline;
    uint64_t seq; /* arming order, to break deadline ties */
    bool armed;
};

struct vcon_vm {
    uint8_t *ram;
    size_t ram_size;
    uint64_t hole_gpa, hole_len; /* not RAM (vcon_vm_set_ram_hole); len 0: none */
    /* One bit per VCON_VM_PAGE_SIZE page written since the last
     * vcon_vm_clear_dirty(). */
    uint64_t *dirty;
    size_t dirty_words;
    struct vcon_vm_observer recorder; /* the input observer; all NULL when none */

    struct harness_space spaces[HARNESS_NR_SPACES];
    uint64_t unmapped_accesses;

    uint8_t irq_levels[VCON_VM_IRQ_LINES];
    uint64_t irq_raises[VCON_VM_IRQ_LINES];
    struct vcon_msi_record *msis;
    size_t msi_count;
    size_t msi_capacity;
    vcon_vm_irq_observer *observer;
    void *observer_arg;
    /* Changes not yet shown to the observer, oldest at `pending_head`. */
    struct harness_irq_event *pending;
    size_t pending_head;
    size_t pending_count;
    size_t pending_capacity;
    /* How many device callbacks (bus accesses, timer fires) are running. */
    unsigned device_depth;
    bool delivering;

    uint64_t now;
    uint64_t arm_seq;
    struct harness_timer *timers;

    uint64_t log_count;
    char last_log[HARNESS_LOG_MAX];
    bool log_echo;

    struct vcon_vm_binding *bindings;
};

/* vm.c */
void harness_log(struct vcon_vm *vm, enum vcon_log_level level, const char *message);
/* True when [gpa, gpa + len) lies inside guest RAM. */
bool harness_ram_contains(const struct vcon_vm *vm, uint64_t gpa, size_t len);

/* bus.c */
void harness_bus_free(struct vcon_vm *vm);

/* irq_sink.c */
void harness_irq_set_level(struct vcon_vm *vm, unsigned line, int level);
void harness_msi_send(struct vcon_vm *vm, uint64_t address, uint32_t data);
/* Bracket every call into a device. Interrupt changes a device makes inside
 * reach the observer only once the outermost call has returned, the way a
 * vCPU takes an interrupt between instructions, so the observer (a fake
 * guest's handler) never runs inside a device's own handler. */
/* A device's write to guest RAM: like vcon_vm_guest_write, not observed. */
int harness_ram_write(struct vcon_vm *vm, uint64_t gpa, const void *buf, size_t len);
void harness_device_enter(struct vcon_vm *vm);
void harness_device_leave(struct vcon_vm *vm);
void harness_irq_free(struct vcon_vm *vm);

/* clock.c */
struct harness_timer *harness_timer_create(struct vcon_vm *vm, vcon_timer_fn *fire, void *device);
void harness_timer_arm(struct vcon_vm *vm, struct harness_timer *timer, uint64_t deadline_ns);
void harness_timer_disarm(struct vcon_vm *vm, struct harness_timer *timer);
void harness_timer_destroy(struct vcon_vm *vm, struct harness_timer *timer);
void harness_clock_free(struct vcon_vm *vm);

/* binding.c */
void harness_bindings_free(struct vcon_vm *vm);

#endif
