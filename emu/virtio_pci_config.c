/* PCI configuration space: a type-0 header with two BARs and one
 * capability (MSI-X at VCON_VIRTIO_PCI_MSIX_CAP). Reads are composed a dword
 * at a time from the transport's state; writes arrive as whole dwords
 * (merged with the current value by the caller) and each register keeps
 * only its writable bits. Everything past the capability, including the
 * extended space up to 4095, reads 0 and ignores writes. */
#include "virtio_pci_internal.h"

#define COMMAND_WRITABLE                                                                   \
    (VCON_PCI_COMMAND_IO | VCON_PCI_COMMAND_MEMORY | VCON_PCI_COMMAND_MASTER |             \
     VCON_PCI_COMMAND_INTX_DISABLE)
#define MSIX_CONTROL_WRITABLE (VCON_PCI_MSIX_FLAGS_ENABLE | VCON_PCI_MSIX_FLAGS_MASKALL)
#define INTERRUPT_PIN_INTA 1u
#define BAR_ONE 0x14u /* BAR1 */

static uint32_t bar_value(const struct vcon_virtio_pci *t, unsigned bar)
{
    /* Address bits below the size are hard-wired to 0, so an all-ones
     * write reads back the size mask, as PCI sizing expects. */
    uint32_t value = t->bar[bar] & ~(vcon_virtio_pci_bar_size(t, bar) - 1u);
    if (bar == 0)
        value |= VCON_PCI_BASE_ADDRESS_SPACE_IO;
    return value; /* BAR1: 32-bit, non-prefetchable memory: flag bits 0 */
}

static uint16_t status_value(const struct vcon_virtio_pci *t)
{
    uint16_t status = VCON_PCI_STATUS_CAP_LIST;
    /* The INTx condition, whether or not COMMAND masks the wire. */
    if (t->isr != 0 && !vpci_msix_enabled(t))
        status |= VCON_PCI_STATUS_INTERRUPT;
    return status;
}

static uint32_t msix_cap_dword(const struct vcon_virtio_pci *t, unsigned offset)
{
    switch (offset) {
    case 0: {
        uint32_t control = (uint32_t)t->msix_control | ((t->nr_vectors - 1u) &
                                                        VCON_PCI_MSIX_FLAGS_QSIZE);
        return VCON_PCI_CAP_ID_MSIX | (0u << 8) /* last capability */ | (control << 16);
    }
    case VCON_PCI_MSIX_TABLE:
        return VCON_VIRTIO_PCI_MSIX_TABLE | 1u; /* BIR 1 */
    default: /* VCON_PCI_MSIX_PBA, the capability's last dword */
        return VCON_VIRTIO_PCI_MSIX_PBA | 1u;
    }
}

uint32_t vpci_config_dword(const struct vcon_virtio_pci *t, unsigned dword_offset)
{
    switch (dword_offset) {
    case VCON_PCI_VENDOR_ID:
        return VCON_VIRTIO_PCI_VENDOR | ((uint32_t)t->config.device_id << 16);
    case VCON_PCI_COMMAND:
        return t->command | ((uint32_t)status_value(t) << 16);
    case VCON_PCI_REVISION_ID:
        return 0u /* revision */ | ((uint32_t)t->config.prog_if << 8) |
               ((uint32_t)t->config.subclass << 16) | ((uint32_t)t->config.class_code << 24);
    case 0x0C: /* cache line, latency timer, header type 0, BIST: all 0 */
        return 0;
    case VCON_PCI_BASE_ADDRESS_0:
        return bar_value(t, 0);
    case BAR_ONE:
        return bar_value(t, 1);
    case VCON_PCI_SUBSYSTEM_VENDOR_ID:
        return VCON_VIRTIO_PCI_VENDOR | ((uint32_t)t->config.subsystem_id << 16);
    case VCON_PCI_CAPABILITY_LIST:
        return VCON_VIRTIO_PCI_MSIX_CAP;
    case VCON_PCI_INTERRUPT_LINE:
        return t->interrupt_line | (INTERRUPT_PIN_INTA << 8); /* MIN_GNT, MAX_LAT 0 */
    default:
        break;
    }
    if (dword_offset >= VCON_VIRTIO_PCI_MSIX_CAP && dword_offset < VCON_VIRTIO_PCI_MSIX_CAP + 12u)
        return msix_cap_dword(t, dword_offset - VCON_VIRTIO_PCI_MSIX_CAP);
    /* BARs 2-5, CardBus CIS, expansion ROM, reserved, the rest: 0. */
    return 0;
}

static void store_command(struct vcon_virtio_pci *t, uint16_t value)
{
    uint16_t old = t->command;
    t->command = value & COMMAND_WRITABLE;
    if ((old ^ t->command) & VCON_PCI_COMMAND_INTX_DISABLE)
        vpci_update_intx(t);
}

void vpci_config_store_dword(struct vcon_virtio_pci *t, unsigned dword_offset, uint32_t value)
{
    switch (dword_offset) {
    case VCON_PCI_COMMAND:
        /* The upper half is STATUS: read-only, nothing to clear. */
        store_command(t, (uint16_t)value);
        return;
    case VCON_PCI_BASE_ADDRESS_0:
        t->bar[0] = value;
        return;
    case BAR_ONE:
        t->bar[1] = value;
        return;
    case VCON_PCI_INTERRUPT_LINE:
        t->interrupt_line = (uint8_t)value;
        return;
    case VCON_VIRTIO_PCI_MSIX_CAP:
        vpci_msix_set_control(t, (uint16_t)((value >> 16) & MSIX_CONTROL_WRITABLE));
        return;
    default:
        /* Read-only registers, BARs 2-5 (not implemented: they size to 0),
         * the expansion ROM and everything else ignore writes. That is
         * ordinary PCI behaviour, not a guest error, so nothing counts. */
        return;
    }
}
