/* Where a virtio-console may write guest memory, judged from the guest's
 * rings as they are in guest RAM: a used ring (an element's length must fit
 * the writable bytes of the chain it names, as the descriptors are when it
 * is written), or a buffer the guest made device-writable in a ready queue.
 * The console fuzz targets check every device write with it, and so does
 * vcon-replay --check where it has the guest's RAM (image mode).
 *
 * Where a device write lands on a descriptor table or an indirect table
 * (data, or the engine's own used-ring update where the guest put one
 * queue's used ring over another queue's table), the chains the device
 * walks next are no longer what the guest wrote: the checks stop until the
 * next step. */
#ifndef VCON_HARNESS_CONSOLE_RINGS_H
#define VCON_HARNESS_CONSOLE_RINGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "harness/invariants.h"
#include "harness/vm.h"
#include "vcon/virtio_pci.h"

#define VCON_CONSOLE_RINGS_MAX_REGIONS 4096u

struct vcon_console_region {
    uint64_t gpa, len;
    bool indirect; /* in `tables`: an indirect table (else a queue's descriptor table) */
};

struct vcon_console_rings {
    struct vcon_vm *vm; /* guest RAM as the guest wrote it */
    struct vcon_virtio_pci *transport;
    /* Its queues, ready or not (they live as long as the transport): the
     * checks look at each of them on every device write. */
    const struct vcon_virtq *queue[VCON_VIRTIO_PCI_MAX_QUEUES];
    unsigned nr_queues;
    /* Per step: a device write hit a table; the regions below are
     * computed (at the step's first need) and complete. */
    bool selfmod;
    bool regions_valid, regions_overflow;
    /* Everything device-writable in a ready queue (a superset of the
     * buffers of the chains the device can be holding), and the descriptor
     * and indirect tables it can walk. */
    struct vcon_console_region writable[VCON_CONSOLE_RINGS_MAX_REGIONS];
    struct vcon_console_region tables[VCON_CONSOLE_RINGS_MAX_REGIONS];
    unsigned nr_writable, nr_tables;
};

void vcon_console_rings_init(struct vcon_console_rings *r, struct vcon_vm *vm,
                             struct vcon_virtio_pci *transport);
/* A new step (a guest access, a host event): what the last one learnt is
 * forgotten. */
void vcon_console_rings_step(struct vcon_console_rings *r);
/* The device is writing `len` bytes at `gpa` (before they land). */
bool vcon_console_rings_device_write(struct vcon_console_rings *r, uint64_t gpa,
                                     const uint8_t *bytes, size_t len,
                                     struct vcon_invariant_failure *why);
/* A split-ring descriptor, as guest RAM holds it. */
struct vcon_console_desc {
    uint64_t addr;
    uint32_t len;
    uint16_t flags, next;
};

/* The descriptor at `gpa`; false if it is not RAM. */
bool vcon_console_rings_read_desc(struct vcon_vm *vm, uint64_t gpa, struct vcon_console_desc *out);
/* Another device is writing there: if it lands on this console's
 * tables, the checks stop until the next step. */
void vcon_console_rings_foreign_write(struct vcon_console_rings *r, uint64_t gpa, size_t len);

#endif
