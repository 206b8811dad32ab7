/* A legacy virtio-PCI function plugged into the fake hypervisor: its
 * configuration space at a bus/device/function, and its two BARs wherever
 * the guest programs them. BAR0 (I/O) is mapped in port-I/O space and BAR1
 * (memory) in MMIO space while the guest has a base in the BAR and the
 * matching decode bit on in the command register; changing either moves or
 * removes the mapping, as a PCI host bridge would. */
#ifndef HARNESS_PCI_DEVICE_H
#define HARNESS_PCI_DEVICE_H

#include <stdbool.h>
#include <stdint.h>

#include "harness/vm.h"
#include "vcon/virtio_pci.h"

struct vcon_pci_device;

struct vcon_pci_device_stats {
    uint64_t maps, unmaps;
    uint64_t map_failures; /* a BAR placed over another region: left unmapped */
};

/* Map `t`'s configuration space at bus/dev/fn. Returns 0, -EINVAL (NULL, or
 * dev/fn out of range), -EBUSY (the slot is taken), -ENOMEM. */
int vcon_pci_device_attach(struct vcon_vm *vm, struct vcon_virtio_pci *t, unsigned bus,
                           unsigned dev, unsigned fn, struct vcon_pci_device **out);
/* Unmap the configuration space and both BARs; NULL is a no-op. The
 * transport itself belongs to its device and stays. */
void vcon_pci_device_detach(struct vcon_pci_device *d);

/* Whether `bar` (0 or 1) is mapped now, and where. */
bool vcon_pci_device_bar_mapped(const struct vcon_pci_device *d, unsigned bar, uint64_t *base);
void vcon_pci_device_get_stats(const struct vcon_pci_device *d, struct vcon_pci_device_stats *out);

#endif
