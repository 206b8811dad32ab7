/* BAR0: the legacy virtio registers, then the device-specific configuration
 * (at 20, or 24 while MSI-X is enabled). Each register takes exactly its own
 * size at its own offset, as Linux's legacy driver accesses them; anything
 * else (a partial or straddling access, a write to a read-only register, a
 * read of the write-only notify register) is refused, counted and reads as
 * all ones. */
#include <errno.h>

#include "virtio_pci_internal.h"

#define EVENT_IDX_BIT (1u << VCON_VIRTIO_F_RING_EVENT_IDX)
#define INDIRECT_BIT (1u << VCON_VIRTIO_F_RING_INDIRECT_DESC)

static unsigned legacy_regs_size(const struct vcon_virtio_pci *t)
{
    return vpci_msix_enabled(t) ? VCON_VIRTIO_PCI_CONFIG_MSIX : VCON_VIRTIO_PCI_CONFIG_NO_MSIX;
}

/* The register at `offset` and its size, or 0 when `offset` does not start
 * one (with MSI-X off, 0x14 and up are device configuration). */
static unsigned register_size(const struct vcon_virtio_pci *t, unsigned offset)
{
    switch (offset) {
    case VCON_VIRTIO_PCI_HOST_FEATURES:
    case VCON_VIRTIO_PCI_GUEST_FEATURES:
    case VCON_VIRTIO_PCI_QUEUE_PFN:
        return 4;
    case VCON_VIRTIO_PCI_QUEUE_NUM:
    case VCON_VIRTIO_PCI_QUEUE_SEL:
    case VCON_VIRTIO_PCI_QUEUE_NOTIFY:
        return 2;
    case VCON_VIRTIO_PCI_STATUS:
    case VCON_VIRTIO_PCI_ISR:
        return 1;
    case VCON_VIRTIO_MSI_CONFIG_VECTOR:
    case VCON_VIRTIO_MSI_QUEUE_VECTOR:
        return vpci_msix_enabled(t) ? 2u : 0u;
    default:
        return 0;
    }
}

static bool queue_selected(const struct vcon_virtio_pci *t)
{
    return t->queue_sel < t->config.nr_queues;
}

static uint32_t host_features(const struct vcon_virtio_pci *t)
{
    return t->ops.host_features ? t->ops.host_features(t->device) : 0;
}

static uint16_t checked_vector(const struct vcon_virtio_pci *t, uint32_t value)
{
    /* Linux reads the vector back and takes NO_VECTOR as "refused". */
    return value < t->nr_vectors ? (uint16_t)value : (uint16_t)VCON_VIRTIO_MSI_NO_VECTOR;
}

static int device_config_read(struct vcon_virtio_pci *t, unsigned offset, unsigned size,
                              uint32_t *value)
{
    int err;
    if (offset + size > t->device_config_size || !t->ops.config_read)
        return vpci_refuse(t, &t->stats.bad_accesses,
                           "virtio-pci: read past the device configuration");
    err = t->ops.config_read(t->device, offset, size, value);
    if (err) {
        *value = vpci_size_ones(size);
        return vpci_refuse(t, &t->stats.bad_accesses,
                           "virtio-pci: device refused a configuration read");
    }
    *value &= vpci_size_ones(size);
    return 0;
}

static int device_config_write(struct vcon_virtio_pci *t, unsigned offset, unsigned size,
                               uint32_t value)
{
    if (offset + size > t->device_config_size || !t->ops.config_write)
        return vpci_refuse(t, &t->stats.bad_accesses,
                           "virtio-pci: write past the device configuration");
    if (t->ops.config_write(t->device, offset, size, value))
        return vpci_refuse(t, &t->stats.bad_accesses,
                           "virtio-pci: device refused a configuration write");
    return 0;
}

int vpci_bar0_read(struct vcon_virtio_pci *t, unsigned offset, unsigned size, uint32_t *value)
{
    unsigned regs = legacy_regs_size(t);
    if (offset >= regs)
        return device_config_read(t, offset - regs, size, value);
    if (register_size(t, offset) != size)
        return vpci_refuse(t, &t->stats.bad_accesses,
                           "virtio-pci: legacy register read of the wrong size or offset");
    switch (offset) {
    case VCON_VIRTIO_PCI_HOST_FEATURES:
        *value = host_features(t);
        return 0;
    case VCON_VIRTIO_PCI_GUEST_FEATURES:
        *value = t->guest_features;
        return 0;
    case VCON_VIRTIO_PCI_QUEUE_PFN:
        *value = queue_selected(t) ? t->queue_pfn[t->queue_sel] : 0;
        return 0;
    case VCON_VIRTIO_PCI_QUEUE_NUM:
        /* 0 tells the driver the queue does not exist. */
        *value = queue_selected(t) ? t->config.queue_size : 0;
        return 0;
    case VCON_VIRTIO_PCI_QUEUE_SEL:
        *value = t->queue_sel;
        return 0;
    case VCON_VIRTIO_PCI_STATUS:
        *value = t->status;
        return 0;
    case VCON_VIRTIO_PCI_ISR:
        /* Read-and-acknowledge. */
        *value = t->isr;
        t->isr = 0;
        vpci_update_intx(t);
        return 0;
    case VCON_VIRTIO_MSI_CONFIG_VECTOR:
        *value = t->config_vector;
        return 0;
    case VCON_VIRTIO_MSI_QUEUE_VECTOR:
        *value = queue_selected(t) ? t->queue_vector[t->queue_sel]
                                   : (uint32_t)VCON_VIRTIO_MSI_NO_VECTOR;
        return 0;
    default: /* QUEUE_NOTIFY is write-only */
        return vpci_refuse(t, &t->stats.bad_accesses,
                           "virtio-pci: read of the write-only queue notify register");
    }
}

static int write_guest_features(struct vcon_virtio_pci *t, uint32_t value)
{
    /* Legacy has no FEATURES_OK: drivers write features before setting up
     * queues, so any time before DRIVER_OK is accepted. */
    if (t->status & VCON_VIRTIO_STATUS_DRIVER_OK)
        return vpci_refuse(t, &t->stats.bad_accesses,
                           "virtio-pci: feature write after DRIVER_OK ignored");
    t->guest_features = value & host_features(t);
    if (t->ops.set_features)
        t->ops.set_features(t->device, t->guest_features);
    return 0;
}

static void note_queue_changed(struct vcon_virtio_pci *t, unsigned index)
{
    if (t->ops.queue_changed != NULL)
        t->ops.queue_changed(t->device, index);
}

static int write_queue_pfn(struct vcon_virtio_pci *t, uint32_t pfn)
{
    struct vcon_virtq *vq;
    int err;
    if (!queue_selected(t))
        return vpci_refuse(t, &t->stats.bad_queue_selects,
                           "virtio-pci: queue PFN written for a queue that does not exist");
    vq = &t->queues[t->queue_sel];
    t->queue_pfn[t->queue_sel] = 0;
    if (pfn == 0) {
        vcon_virtq_reset(vq);
        note_queue_changed(t, t->queue_sel);
        return 0;
    }
    err = vcon_virtq_setup_legacy(vq, &t->host, t->config.queue_size, pfn,
                                  (t->guest_features & EVENT_IDX_BIT) != 0,
                                  (t->guest_features & INDIRECT_BIT) != 0);
    note_queue_changed(t, t->queue_sel);
    if (err) {
        vcon_virtq_reset(vq);
        return vpci_refuse(t, &t->stats.bad_accesses, "virtio-pci: queue setup refused");
    }
    t->queue_pfn[t->queue_sel] = pfn;
    return 0;
}

static int write_queue_notify(struct vcon_virtio_pci *t, uint32_t index)
{
    if (index >= t->config.nr_queues || !vcon_virtq_ready(&t->queues[index]))
        return vpci_refuse(t, &t->stats.bad_notifies,
                           "virtio-pci: notify for a queue that is not set up");
    if (t->ops.queue_notify)
        t->ops.queue_notify(t->device, index);
    return 0;
}

static void write_status(struct vcon_virtio_pci *t, uint8_t value)
{
    uint8_t old = t->status;
    if (value == 0) {
        vpci_reset_state(t);
        if (t->ops.reset)
            t->ops.reset(t->device);
        return;
    }
    t->status = value;
    if (t->ops.status_changed)
        t->ops.status_changed(t->device, old, value);
}

static int write_queue_vector(struct vcon_virtio_pci *t, uint32_t value)
{
    if (!queue_selected(t))
        return vpci_refuse(t, &t->stats.bad_queue_selects,
                           "virtio-pci: queue vector written for a queue that does not exist");
    t->queue_vector[t->queue_sel] = checked_vector(t, value);
    return 0;
}

int vpci_bar0_write(struct vcon_virtio_pci *t, unsigned offset, unsigned size, uint32_t value)
{
    unsigned regs = legacy_regs_size(t);
    value &= vpci_size_ones(size);
    if (offset >= regs)
        return device_config_write(t, offset - regs, size, value);
    if (register_size(t, offset) != size)
        return vpci_refuse(t, &t->stats.bad_accesses,
                           "virtio-pci: legacy register write of the wrong size or offset");
    switch (offset) {
    case VCON_VIRTIO_PCI_GUEST_FEATURES:
        return write_guest_features(t, value);
    case VCON_VIRTIO_PCI_QUEUE_PFN:
        return write_queue_pfn(t, value);
    case VCON_VIRTIO_PCI_QUEUE_SEL:
        /* Any value is kept; an out-of-range one makes the queue look
         * absent. */
        t->queue_sel = (uint16_t)value;
        return 0;
    case VCON_VIRTIO_PCI_QUEUE_NOTIFY:
        return write_queue_notify(t, value);
    case VCON_VIRTIO_PCI_STATUS:
        write_status(t, (uint8_t)value);
        return 0;
    case VCON_VIRTIO_MSI_CONFIG_VECTOR:
        t->config_vector = checked_vector(t, value);
        return 0;
    case VCON_VIRTIO_MSI_QUEUE_VECTOR:
        return write_queue_vector(t, value);
    default: /* HOST_FEATURES, QUEUE_NUM, ISR */
        return vpci_refuse(t, &t->stats.bad_accesses,
                           "virtio-pci: write to a read-only legacy register ignored");
    }
}
