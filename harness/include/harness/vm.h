/* The fake hypervisor: guest RAM, a bus that routes port-I/O, MMIO and PCI
 * configuration accesses to devices, an interrupt sink, a virtual clock with
 * timers, and scripted in-memory backends. Single-threaded and fully
 * deterministic: nothing here reads the wall clock, a random source or the
 * environment, and time moves only through vcon_vm_advance(). */
#ifndef HARNESS_VM_H
#define HARNESS_VM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vcon/host.h"
#include "harness/script_backend.h"

struct vcon_vm;

/* Returns 0, -EINVAL (ram_size 0 or over 4 GiB), -ENOMEM. */
int vcon_vm_create(size_t ram_size, struct vcon_vm **out);
void vcon_vm_destroy(struct vcon_vm *vm);

/* ---- guest RAM ------------------------------------------------------- */
size_t vcon_vm_ram_size(const struct vcon_vm *vm);
/* A range of guest-physical addresses inside RAM that is not RAM, as the
 * PCI hole below 4 GiB is on a real machine: every access that touches it
 * fails, the devices' and the fake guest's, so a buffer whose first and last
 * bytes are RAM can still fault in its middle. One hole; len 0 removes it.
 * 0, or -EINVAL when the range is not inside RAM. */
int vcon_vm_set_ram_hole(struct vcon_vm *vm, uint64_t gpa, uint64_t len);
/* The fake guest's own memory accesses (not the device's). 0 or -EFAULT. */
int vcon_vm_guest_write(struct vcon_vm *vm, uint64_t gpa, const void *buf, size_t len);
int vcon_vm_guest_read(struct vcon_vm *vm, uint64_t gpa, void *buf, size_t len);
/* Guest RAM at [gpa, gpa + len) to read in place, or NULL when any of it
 * is not RAM. For the checks that look at whole descriptor tables after
 * every device write: a copy of a table costs them more than reading it.
 * The bytes change with the next write to RAM; the pointer stays valid as
 * long as the VM. */
const uint8_t *vcon_vm_guest_view(const struct vcon_vm *vm, uint64_t gpa, size_t len);

/* ---- reuse between runs (fuzz inputs) -------------------------------- */
/* Every write to guest RAM, by the fake guest or by a device, marks the
 * 4 KiB pages it touches. vcon_vm_clear_dirty() zeroes exactly those pages
 * and forgets them, so that RAM is again as vcon_vm_create() left it at the
 * cost of what the last run wrote, not of the RAM size. */
#define VCON_VM_PAGE_SIZE 4096u
size_t vcon_vm_dirty_pages(const struct vcon_vm *vm);
void vcon_vm_clear_dirty(struct vcon_vm *vm);
/* Whether the page holding gpa was written since the last clear (false
 * outside RAM): a page that was not holds zeros. */
bool vcon_vm_page_dirty(const struct vcon_vm *vm, uint64_t gpa);
/* Start a new run on the same VM: the clock back to 0 (with the timer
 * arming order), interrupt raise counts, the MSI record, the unmapped-access
 * count and the log (count and last line) cleared. Line levels stay as the
 * devices drove them, mappings and bindings stay. Returns 0, or -EBUSY
 * (changing nothing) while a timer is armed: reset the devices first. */
int vcon_vm_reset_run(struct vcon_vm *vm);

/* ---- bus --------------------------------------------------------------- */
/* A device's entry points. `offset` is relative to the mapped base. They
 * return 0 or a negative errno; a failed read is seen by the guest as all
 * ones. */
struct vcon_bus_ops {
    int (*read)(void *device, uint64_t offset, unsigned size, uint32_t *value);
    int (*write)(void *device, uint64_t offset, unsigned size, uint32_t value);
};

/* PCI configuration addresses: bus/device/function and register. */
#define VCON_PCI_BDF(bus, dev, fn) \
    ((((uint64_t)(bus) & 0xFF) << 8) | (((uint64_t)(dev) & 0x1F) << 3) | ((uint64_t)(fn) & 0x7))
#define VCON_PCI_CONFIG_ADDR(bus, dev, fn, reg) \
    ((VCON_PCI_BDF(bus, dev, fn) << 12) | ((uint64_t)(reg) & 0xFFF))
#define VCON_PCI_CONFIG_SIZE 4096u

/* Route [base, base + length) of `space` to `ops`. Returns 0, -EINVAL
 * (length 0 or wrapping), -EBUSY (overlaps an existing region), -ENOMEM. */
int vcon_vm_map(struct vcon_vm *vm, enum vcon_space space, uint64_t base,
                uint64_t length, const struct vcon_bus_ops *ops, void *device);
/* Remove the region that starts at `base`. Returns 0 or -ENOENT. */
int vcon_vm_unmap(struct vcon_vm *vm, enum vcon_space space, uint64_t base);

/* Guest accesses; size 1, 2 or 4. Unmapped reads return all ones for the
 * size, unmapped writes are dropped; both are counted. */
uint32_t vcon_vm_read(struct vcon_vm *vm, enum vcon_space space, uint64_t addr, unsigned size);
void vcon_vm_write(struct vcon_vm *vm, enum vcon_space space, uint64_t addr, unsigned size,
                   uint32_t value);
static inline uint8_t vcon_vm_inb(struct vcon_vm *vm, uint16_t port)
{
    return (uint8_t)vcon_vm_read(vm, VCON_SPACE_PIO, port, 1);
}
static inline void vcon_vm_outb(struct vcon_vm *vm, uint16_t port, uint8_t value)
{
    vcon_vm_write(vm, VCON_SPACE_PIO, port, 1, value);
}
uint64_t vcon_vm_unmapped_accesses(const struct vcon_vm *vm);

/* ---- interrupt sink -------------------------------------------------- */
#define VCON_VM_IRQ_LINES 256u
int vcon_vm_irq_level(const struct vcon_vm *vm, unsigned line);
/* Number of 0 -> 1 transitions seen on `line` since creation. */
uint64_t vcon_vm_irq_raises(const struct vcon_vm *vm, unsigned line);
struct vcon_msi_record {
    uint64_t address;
    uint32_t data;
    uint64_t time_ns;
};
size_t vcon_vm_msi_count(const struct vcon_vm *vm);
const struct vcon_msi_record *vcon_vm_msi(const struct vcon_vm *vm, size_t index);
/* Called after every line change and MSI, so a fake guest can run its
 * interrupt handler. `line` is the line, or -1 for an MSI. */
typedef void vcon_vm_irq_observer(void *arg, int line, int level);
void vcon_vm_set_irq_observer(struct vcon_vm *vm, vcon_vm_irq_observer *fn, void *arg);

/* ---- virtual clock --------------------------------------------------- */
uint64_t vcon_vm_now(const struct vcon_vm *vm);
/* Move time forward by `ns`, firing each due timer at its own deadline, in
 * deadline order (ties in arming order). */
void vcon_vm_advance(struct vcon_vm *vm, uint64_t ns);
/* Deadline of the earliest armed timer, or UINT64_MAX. */
uint64_t vcon_vm_next_deadline(const struct vcon_vm *vm);

/* ---- log ------------------------------------------------------------- */
uint64_t vcon_vm_log_count(const struct vcon_vm *vm);
const char *vcon_vm_last_log(const struct vcon_vm *vm); /* "" when none */
/* Print device log lines to stderr as they arrive (default off). */
void vcon_vm_set_log_echo(struct vcon_vm *vm, bool echo);

/* ---- recording ------------------------------------------------------- */
/* One observer sees every input that reaches the VM from outside its
 * devices, in order: guest bus accesses (before the device sees them; a
 * read's result right after the device returned it, before any interrupt is
 * delivered to the irq observer), the fake guest's own RAM writes (not the
 * devices'), and clock advances (before the timers they make due fire). A
 * recorded run must not advance the clock from inside the irq observer. */
struct vcon_vm_observer {
    void *arg;
    void (*access)(void *arg, enum vcon_space space, uint64_t addr, unsigned size,
                   bool is_write, uint32_t value);
    void (*read_result)(void *arg, uint32_t value);
    void (*guest_write)(void *arg, uint64_t gpa, const void *buf, size_t len);
    void (*advance)(void *arg, uint64_t ns);
};
/* Install (a copy of) `observer`; NULL removes it. */
void vcon_vm_set_observer(struct vcon_vm *vm, const struct vcon_vm_observer *observer);

/* ---- devices' host interfaces --------------------------------------- */
#define VCON_VM_MAX_PORTS 32u
/* Make a host interface for one device with `nr_ports` scripted backends
 * (port numbers 0 .. nr_ports-1). The returned host stays valid until the
 * VM is destroyed; `*binding_out` (may be NULL) identifies it. */
struct vcon_vm_binding;
int vcon_vm_bind_device(struct vcon_vm *vm, unsigned nr_ports, struct vcon_host *host_out,
                        struct vcon_vm_binding **binding_out);
struct vcon_script_backend *vcon_vm_backend(struct vcon_vm_binding *binding, unsigned port);

#endif
