/* The legacy virtio-PCI transport's state, shared by the emu/virtio_pci*.c
 * files: virtio_pci.c (creation, reset, the public entry points),
 * virtio_pci_config.c (PCI configuration space), virtio_pci_bar0.c (legacy
 * registers and device configuration), virtio_pci_msix.c (MSI-X table, PBA
 * and message delivery) and virtio_pci_irq.c (INTx and notifications). */
#ifndef VCON_EMU_VIRTIO_PCI_INTERNAL_H
#define VCON_EMU_VIRTIO_PCI_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "vcon/virtio_pci.h"
#include "vcon/virtq.h"

/* Legacy registers before the device configuration when MSI-X is on: the
 * largest header, so BAR0 is sized for it. */
#define VPCI_LEGACY_REGS_MSIX VCON_VIRTIO_PCI_CONFIG_MSIX
#define VPCI_BAR0_MIN_SIZE 32u
/* PCI limits an I/O BAR to 256 bytes. */
#define VPCI_BAR0_MAX_SIZE 256u
#define VPCI_PBA_WORDS ((VCON_VIRTIO_PCI_MAX_VECTORS + 63u) / 64u)
/* Standard header plus capabilities; the extended space reads 0. */
#define VPCI_CONFIG_STD_SIZE 256u
#define VPCI_CONFIG_SPACE_SIZE 4096u

struct vpci_msix_entry {
    uint32_t addr_lo, addr_hi, data;
    uint32_t ctrl; /* only the mask bit is kept */
};

struct vcon_virtio_pci {
    struct vcon_host host;
    struct vcon_virtio_pci_config config;
    struct vcon_virtio_device_ops ops;
    void *device;
    unsigned nr_vectors;      /* MSI-X table size: nr_queues + 1 */
    unsigned device_config_size; /* ops->config_size at creation */
    uint32_t bar0_size;

    /* PCI configuration space. */
    uint16_t command;
    uint8_t interrupt_line;
    uint32_t bar[2];          /* as written; the size mask applies on read */
    uint16_t msix_control;    /* only ENABLE and MASKALL are kept */

    /* BAR1: MSI-X table and pending bits. */
    struct vpci_msix_entry msix_table[VCON_VIRTIO_PCI_MAX_VECTORS];
    uint64_t msix_pending[VPCI_PBA_WORDS];

    /* Legacy registers. */
    uint32_t guest_features;
    uint16_t queue_sel;
    uint8_t status;
    uint8_t isr;
    uint16_t config_vector;
    uint16_t queue_vector[VCON_VIRTIO_PCI_MAX_QUEUES];
    uint32_t queue_pfn[VCON_VIRTIO_PCI_MAX_QUEUES];

    bool intx_level;          /* what the host's line was last driven to */

    struct vcon_log_budget log_budget;
    struct vcon_virtio_pci_stats stats;

    /* config.nr_queues of them, allocated with the transport: a queue is
     * some 5 KiB (its per-head arrays cover the largest ring), so room for
     * all VCON_VIRTIO_PCI_MAX_QUEUES would be over 300 KiB per device. */
    struct vcon_virtq queues[];
};

/* Access checks shared by every space: size 1, 2 or 4, inside one dword. */
bool vpci_access_fits_dword(uint64_t offset, unsigned size);
/* The bytes [offset & 3, + size) of a dword, and a dword with them
 * replaced. */
uint32_t vpci_dword_extract(uint32_t dword, uint64_t offset, unsigned size);
uint32_t vpci_dword_merge(uint32_t dword, uint64_t offset, unsigned size, uint32_t value);
uint32_t vpci_size_ones(unsigned size);

/* virtio_pci.c */
void vpci_log(struct vcon_virtio_pci *t, enum vcon_log_level level, const char *message);
/* Count and log a refused access. Returns -EINVAL. */
int vpci_refuse(struct vcon_virtio_pci *t, uint64_t *counter, const char *message);
/* Everything a status-0 write resets, except calling ops->reset. */
void vpci_reset_state(struct vcon_virtio_pci *t);

/* virtio_pci_config.c */
uint32_t vpci_config_dword(const struct vcon_virtio_pci *t, unsigned dword_offset);
void vpci_config_store_dword(struct vcon_virtio_pci *t, unsigned dword_offset, uint32_t value);

/* virtio_pci_bar0.c */
int vpci_bar0_read(struct vcon_virtio_pci *t, unsigned offset, unsigned size, uint32_t *value);
int vpci_bar0_write(struct vcon_virtio_pci *t, unsigned offset, unsigned size, uint32_t value);

/* virtio_pci_msix.c */
bool vpci_msix_enabled(const struct vcon_virtio_pci *t);
int vpci_bar1_read(struct vcon_virtio_pci *t, unsigned offset, unsigned size, uint32_t *value);
int vpci_bar1_write(struct vcon_virtio_pci *t, unsigned offset, unsigned size, uint32_t value);
/* Send `vector`'s message, or hold it pending while masked. */
void vpci_msix_signal(struct vcon_virtio_pci *t, uint16_t vector);
/* Send the pending messages that are no longer masked. */
void vpci_msix_deliver_pending(struct vcon_virtio_pci *t);
void vpci_msix_set_control(struct vcon_virtio_pci *t, uint16_t control);
void vpci_msix_clear_pending(struct vcon_virtio_pci *t);
void vpci_msix_reset_table(struct vcon_virtio_pci *t);

/* virtio_pci_irq.c */
/* Drive the INTx line to what the ISR, COMMAND and MSI-X state ask for. */
void vpci_update_intx(struct vcon_virtio_pci *t);

#endif
