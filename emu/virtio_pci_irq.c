/* Interrupts toward the driver: the ISR and the INTx wire without MSI-X,
 * the per-source vectors with it. The device asks through
 * vcon_virtio_pci_notify_queue() / _notify_config(); the ring's suppression
 * rules (flags or EVENT_IDX) are applied here, once per request. */
#include "virtio_pci_internal.h"

void vpci_update_intx(struct vcon_virtio_pci *t)
{
    /* INTx is the interrupt only while MSI-X is off; COMMAND's INTx
     * disable holds the wire low but leaves the ISR as it is, so the
     * interrupt appears when the bit is cleared again. */
    bool level = t->isr != 0 && !(t->command & VCON_PCI_COMMAND_INTX_DISABLE) &&
                 !vpci_msix_enabled(t);
    if (level == t->intx_level)
        return;
    t->intx_level = level;
    t->host.irq_set_level(t->host.ctx, t->config.intx_line, level ? 1 : 0);
}

static void raise_intx(struct vcon_virtio_pci *t, uint8_t isr_bit)
{
    t->isr |= isr_bit;
    vpci_update_intx(t);
}

void vcon_virtio_pci_notify_queue(struct vcon_virtio_pci *t, unsigned index)
{
    struct vcon_virtq *vq;
    if (index >= t->config.nr_queues)
        return;
    vq = &t->queues[index];
    if (!vcon_virtq_ready(vq) || !vcon_virtq_should_notify(vq))
        return;
    t->stats.interrupts++;
    /* With MSI-X the ISR stays untouched: the vector says it all (ACRN and
     * Linux agree; the driver does not read the ISR then). */
    if (vpci_msix_enabled(t))
        vpci_msix_signal(t, t->queue_vector[index]);
    else
        raise_intx(t, VCON_VIRTIO_ISR_QUEUE);
}

void vcon_virtio_pci_notify_config(struct vcon_virtio_pci *t)
{
    t->stats.interrupts++;
    if (vpci_msix_enabled(t))
        vpci_msix_signal(t, t->config_vector);
    else
        raise_intx(t, VCON_VIRTIO_ISR_CONFIG);
}
