/* A virtio-PCI function on the fake PCI bus: configuration accesses are
 * passed to the transport, and after each write that can move a BAR (the
 * BAR registers or the command register) the BARs are placed again from
 * the transport's state. The transport owns the BAR semantics (sizing,
 * flag bits); the slot only follows them. */
#include "harness/pci_device.h"

#include <errno.h>
#include <stdlib.h>

#define NR_BARS 2u

struct bar_window {
    struct vcon_pci_device *dev;
    unsigned index;
};

struct vcon_pci_device {
    struct vcon_vm *vm;
    struct vcon_virtio_pci *t;
    uint64_t config_base;
    struct bar_window window[NR_BARS];
    bool mapped[NR_BARS];
    uint64_t base[NR_BARS];
    struct vcon_pci_device_stats stats;
};

static const enum vcon_space bar_space[NR_BARS] = {VCON_SPACE_PIO, VCON_SPACE_MMIO};

static int bar_read(void *device, uint64_t offset, unsigned size, uint32_t *value)
{
    const struct bar_window *w = device;
    return vcon_virtio_pci_bar_read(w->dev->t, w->index, offset, size, value);
}

static int bar_write(void *device, uint64_t offset, unsigned size, uint32_t value)
{
    const struct bar_window *w = device;
    return vcon_virtio_pci_bar_write(w->dev->t, w->index, offset, size, value);
}

static const struct vcon_bus_ops bar_ops = {.read = bar_read, .write = bar_write};

/* Where BAR `bar` decodes now, or false when it does not decode: the base
 * the guest programmed (the transport keeps it) and the decode bit of its
 * space in the command register. */
static bool bar_target(struct vcon_pci_device *d, unsigned bar, uint64_t *base, uint64_t *len)
{
    static const uint32_t decode_bit[NR_BARS] = {VCON_PCI_COMMAND_IO, VCON_PCI_COMMAND_MEMORY};
    uint32_t command = 0;
    if (vcon_virtio_pci_config_read(d->t, VCON_PCI_COMMAND, 2, &command) != 0)
        return false;
    const uint32_t addr = vcon_virtio_pci_bar_base(d->t, bar);
    const uint32_t size = vcon_virtio_pci_bar_size(d->t, bar);
    /* Base 0 is "not assigned" on a PCI bus: firmware never places a BAR
     * there. */
    if (!(command & decode_bit[bar]) || addr == 0 || size == 0)
        return false;
    *base = addr;
    *len = size;
    return true;
}

static void unmap_bar(struct vcon_pci_device *d, unsigned bar)
{
    if (!d->mapped[bar])
        return;
    (void)vcon_vm_unmap(d->vm, bar_space[bar], d->base[bar]);
    d->mapped[bar] = false;
    d->stats.unmaps++;
}

static void place_bar(struct vcon_pci_device *d, unsigned bar)
{
    uint64_t base = 0, len = 0;
    const bool want = bar_target(d, bar, &base, &len);
    if (d->mapped[bar] && want && d->base[bar] == base)
        return;
    unmap_bar(d, bar);
    if (!want)
        return;
    if (vcon_vm_map(d->vm, bar_space[bar], base, len, &bar_ops, &d->window[bar]) != 0) {
        d->stats.map_failures++;
        return;
    }
    d->mapped[bar] = true;
    d->base[bar] = base;
    d->stats.maps++;
}

static bool overlaps(uint64_t offset, unsigned size, unsigned reg, unsigned reg_size)
{
    return offset < reg + reg_size && reg < offset + size;
}

static int config_read(void *device, uint64_t offset, unsigned size, uint32_t *value)
{
    struct vcon_pci_device *d = device;
    return vcon_virtio_pci_config_read(d->t, (unsigned)offset, size, value);
}

static int config_write(void *device, uint64_t offset, unsigned size, uint32_t value)
{
    struct vcon_pci_device *d = device;
    const int rc = vcon_virtio_pci_config_write(d->t, (unsigned)offset, size, value);
    if (overlaps(offset, size, VCON_PCI_COMMAND, 2) || overlaps(offset, size, VCON_PCI_BASE_ADDRESS_0, 8)) {
        for (unsigned bar = 0; bar < NR_BARS; bar++)
            place_bar(d, bar);
    }
    return rc;
}

static const struct vcon_bus_ops config_ops = {.read = config_read, .write = config_write};

int vcon_pci_device_attach(struct vcon_vm *vm, struct vcon_virtio_pci *t, unsigned bus,
                           unsigned dev, unsigned fn, struct vcon_pci_device **out)
{
    if (out != NULL)
        *out = NULL;
    if (vm == NULL || t == NULL || out == NULL || bus > 0xFF || dev > 0x1F || fn > 7)
        return -EINVAL;
    struct vcon_pci_device *d = calloc(1, sizeof(*d));
    if (d == NULL)
        return -ENOMEM;
    d->vm = vm;
    d->t = t;
    d->config_base = VCON_PCI_CONFIG_ADDR(bus, dev, fn, 0);
    for (unsigned bar = 0; bar < NR_BARS; bar++)
        d->window[bar] = (struct bar_window){.dev = d, .index = bar};
    const int rc =
        vcon_vm_map(vm, VCON_SPACE_PCI_CONFIG, d->config_base, VCON_PCI_CONFIG_SIZE, &config_ops, d);
    if (rc != 0) {
        free(d);
        return rc;
    }
    /* A transport created with its BARs already decoding (none does today)
     * is placed at once. */
    for (unsigned bar = 0; bar < NR_BARS; bar++)
        place_bar(d, bar);
    *out = d;
    return 0;
}

void vcon_pci_device_detach(struct vcon_pci_device *d)
{
    if (d == NULL)
        return;
    for (unsigned bar = 0; bar < NR_BARS; bar++)
        unmap_bar(d, bar);
    (void)vcon_vm_unmap(d->vm, VCON_SPACE_PCI_CONFIG, d->config_base);
    free(d);
}

bool vcon_pci_device_bar_mapped(const struct vcon_pci_device *d, unsigned bar, uint64_t *base)
{
    if (d == NULL || bar >= NR_BARS || !d->mapped[bar])
        return false;
    if (base != NULL)
        *base = d->base[bar];
    return true;
}

void vcon_pci_device_get_stats(const struct vcon_pci_device *d, struct vcon_pci_device_stats *out)
{
    *out = d->stats;
}
