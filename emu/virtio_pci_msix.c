/* MSI-X: the message control bits from the capability, the table and the
 * pending-bit array in BAR1, and message delivery. A message for a masked
 * vector (its own mask bit or the function mask) sets its pending bit and
 * is sent by the write that unmasks it, as the PCI specification asks. */
#include "virtio_pci_internal.h"

static unsigned table_bytes(const struct vcon_virtio_pci *t)
{
    return t->nr_vectors * VCON_PCI_MSIX_ENTRY_SIZE;
}

static unsigned pba_bytes(const struct vcon_virtio_pci *t)
{
    return (t->nr_vectors + 63u) / 64u * 8u;
}

static bool pending(const struct vcon_virtio_pci *t, unsigned vector)
{
    return (t->msix_pending[vector / 64u] >> (vector % 64u)) & 1u;
}

static void set_pending(struct vcon_virtio_pci *t, unsigned vector, bool on)
{
    uint64_t bit = (uint64_t)1 << (vector % 64u);
    if (on)
        t->msix_pending[vector / 64u] |= bit;
    else
        t->msix_pending[vector / 64u] &= ~bit;
}

static bool vector_masked(const struct vcon_virtio_pci *t, unsigned vector)
{
    return (t->msix_control & VCON_PCI_MSIX_FLAGS_MASKALL) ||
           (t->msix_table[vector].ctrl & VCON_PCI_MSIX_ENTRY_CTRL_MASKBIT);
}

static void send(struct vcon_virtio_pci *t, unsigned vector)
{
    const struct vpci_msix_entry *e = &t->msix_table[vector];
    t->stats.msi_sent++;
    t->host.msi_send(t->host.ctx, ((uint64_t)e->addr_hi << 32) | e->addr_lo, e->data);
}

bool vpci_msix_enabled(const struct vcon_virtio_pci *t)
{
    return (t->msix_control & VCON_PCI_MSIX_FLAGS_ENABLE) != 0;
}

void vpci_msix_signal(struct vcon_virtio_pci *t, uint16_t vector)
{
    if (vector >= t->nr_vectors) {
        /* NO_VECTOR: the driver asked for no interrupt on this source. */
        t->stats.msi_no_vector++;
        return;
    }
    if (vector_masked(t, vector)) {
        t->stats.msi_masked++;
        set_pending(t, vector, true);
        return;
    }
    send(t, vector);
}

void vpci_msix_deliver_pending(struct vcon_virtio_pci *t)
{
    if (!vpci_msix_enabled(t) || (t->msix_control & VCON_PCI_MSIX_FLAGS_MASKALL))
        return;
    for (unsigned v = 0; v < t->nr_vectors; v++) {
        if (pending(t, v) && !vector_masked(t, v)) {
            set_pending(t, v, false);
            send(t, v);
        }
    }
}

void vpci_msix_set_control(struct vcon_virtio_pci *t, uint16_t control)
{
    uint16_t old = t->msix_control;
    t->msix_control = control;
    if (old == control)
        return;
    /* Enabling MSI-X takes the function off INTx; unmasking releases what
     * is pending. */
    vpci_update_intx(t);
    vpci_msix_deliver_pending(t);
}

void vpci_msix_clear_pending(struct vcon_virtio_pci *t)
{
    for (unsigned i = 0; i < VPCI_PBA_WORDS; i++)
        t->msix_pending[i] = 0;
}

void vpci_msix_reset_table(struct vcon_virtio_pci *t)
{
    t->msix_control = 0;
    for (unsigned v = 0; v < VCON_VIRTIO_PCI_MAX_VECTORS; v++)
        t->msix_table[v] = (struct vpci_msix_entry){.ctrl = VCON_PCI_MSIX_ENTRY_CTRL_MASKBIT};
    vpci_msix_clear_pending(t);
}

static uint32_t entry_dword(const struct vpci_msix_entry *e, unsigned field)
{
    switch (field) {
    case VCON_PCI_MSIX_ENTRY_LOWER_ADDR:
        return e->addr_lo;
    case VCON_PCI_MSIX_ENTRY_UPPER_ADDR:
        return e->addr_hi;
    case VCON_PCI_MSIX_ENTRY_DATA:
        return e->data;
    default:
        return e->ctrl;
    }
}

static uint32_t pba_dword(const struct vcon_virtio_pci *t, unsigned index)
{
    return (uint32_t)(t->msix_pending[index / 2u] >> (32u * (index % 2u)));
}

int vpci_bar1_read(struct vcon_virtio_pci *t, unsigned offset, unsigned size, uint32_t *value)
{
    uint32_t dword;
    if (offset < table_bytes(t)) {
        dword = entry_dword(&t->msix_table[offset / VCON_PCI_MSIX_ENTRY_SIZE],
                            (offset % VCON_PCI_MSIX_ENTRY_SIZE) & ~3u);
    } else if (offset >= VCON_VIRTIO_PCI_MSIX_PBA &&
               offset - VCON_VIRTIO_PCI_MSIX_PBA < pba_bytes(t)) {
        dword = pba_dword(t, (offset - VCON_VIRTIO_PCI_MSIX_PBA) / 4u);
    } else {
        return vpci_refuse(t, &t->stats.bad_accesses,
                           "virtio-pci: BAR1 read outside the MSI-X table and PBA");
    }
    *value = vpci_dword_extract(dword, offset, size);
    return 0;
}

int vpci_bar1_write(struct vcon_virtio_pci *t, unsigned offset, unsigned size, uint32_t value)
{
    struct vpci_msix_entry *e;
    unsigned field;
    uint32_t dword;
    if (offset >= table_bytes(t))
        return vpci_refuse(t, &t->stats.bad_accesses,
                           offset >= VCON_VIRTIO_PCI_MSIX_PBA
                               ? "virtio-pci: write to the read-only MSI-X PBA ignored"
                               : "virtio-pci: BAR1 write outside the MSI-X table");
    e = &t->msix_table[offset / VCON_PCI_MSIX_ENTRY_SIZE];
    field = (offset % VCON_PCI_MSIX_ENTRY_SIZE) & ~3u;
    dword = vpci_dword_merge(entry_dword(e, field), offset, size, value);
    switch (field) {
    case VCON_PCI_MSIX_ENTRY_LOWER_ADDR:
        e->addr_lo = dword;
        return 0;
    case VCON_PCI_MSIX_ENTRY_UPPER_ADDR:
        e->addr_hi = dword;
        return 0;
    case VCON_PCI_MSIX_ENTRY_DATA:
        e->data = dword;
        return 0;
    default: {
        bool was_masked = e->ctrl & VCON_PCI_MSIX_ENTRY_CTRL_MASKBIT;
        e->ctrl = dword & VCON_PCI_MSIX_ENTRY_CTRL_MASKBIT; /* other bits reserved */
        if (was_masked && !(e->ctrl & VCON_PCI_MSIX_ENTRY_CTRL_MASKBIT))
            vpci_msix_deliver_pending(t);
        return 0;
    }
    }
}
