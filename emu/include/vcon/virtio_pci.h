/* The legacy (0.9.5 / "transitional") virtio-PCI transport: PCI
 * configuration space with an MSI-X capability, BAR0 with the legacy I/O
 * registers and the device-specific configuration, BAR1 with the MSI-X table
 * and PBA. A device (the console) plugs in through vcon_virtio_device_ops
 * and reaches its queues and interrupts through the transport. */
#ifndef VCON_VIRTIO_PCI_H
#define VCON_VIRTIO_PCI_H

#include <stdbool.h>
#include <stdint.h>

#include "vcon/host.h"
#include "vcon/virtq.h"

#ifdef __cplusplus
extern "C" {
#endif

#define VCON_VIRTIO_PCI_VENDOR 0x1AF4u

/* Legacy BAR0 register offsets. */
#define VCON_VIRTIO_PCI_HOST_FEATURES 0x00u  /* 32-bit, read-only */
#define VCON_VIRTIO_PCI_GUEST_FEATURES 0x04u /* 32-bit */
#define VCON_VIRTIO_PCI_QUEUE_PFN 0x08u      /* 32-bit */
#define VCON_VIRTIO_PCI_QUEUE_NUM 0x0Cu      /* 16-bit, read-only */
#define VCON_VIRTIO_PCI_QUEUE_SEL 0x0Eu      /* 16-bit */
#define VCON_VIRTIO_PCI_QUEUE_NOTIFY 0x10u   /* 16-bit */
#define VCON_VIRTIO_PCI_STATUS 0x12u         /* 8-bit */
#define VCON_VIRTIO_PCI_ISR 0x13u            /* 8-bit, read clears */
#define VCON_VIRTIO_MSI_CONFIG_VECTOR 0x14u  /* 16-bit, with MSI-X enabled */
#define VCON_VIRTIO_MSI_QUEUE_VECTOR 0x16u   /* 16-bit, with MSI-X enabled */
#define VCON_VIRTIO_PCI_CONFIG_NO_MSIX 20u   /* device config offset */
#define VCON_VIRTIO_PCI_CONFIG_MSIX 24u
#define VCON_VIRTIO_MSI_NO_VECTOR 0xFFFFu

#define VCON_VIRTIO_STATUS_ACKNOWLEDGE 1u
#define VCON_VIRTIO_STATUS_DRIVER 2u
#define VCON_VIRTIO_STATUS_DRIVER_OK 4u
#define VCON_VIRTIO_STATUS_FEATURES_OK 8u
#define VCON_VIRTIO_STATUS_FAILED 0x80u

#define VCON_VIRTIO_ISR_QUEUE 1u
#define VCON_VIRTIO_ISR_CONFIG 2u

/* PCI configuration space layout chosen by this transport. */
#define VCON_VIRTIO_PCI_MSIX_CAP 0x40u     /* capability offset */
#define VCON_VIRTIO_PCI_MSIX_TABLE 0x000u  /* in BAR1 */
#define VCON_VIRTIO_PCI_MSIX_PBA 0x800u    /* in BAR1 */
#define VCON_VIRTIO_PCI_BAR1_SIZE 0x1000u
#define VCON_VIRTIO_PCI_MAX_QUEUES 64u
/* MSI-X vectors: one per queue plus one for configuration changes. */
#define VCON_VIRTIO_PCI_MAX_VECTORS (VCON_VIRTIO_PCI_MAX_QUEUES + 1u)

/* Standard PCI configuration-space registers and bits this transport
 * implements (the names follow Linux's pci_regs.h). */
#define VCON_PCI_VENDOR_ID 0x00u      /* 16-bit */
#define VCON_PCI_DEVICE_ID 0x02u      /* 16-bit */
#define VCON_PCI_COMMAND 0x04u        /* 16-bit */
#define VCON_PCI_STATUS 0x06u         /* 16-bit, read-only */
#define VCON_PCI_REVISION_ID 0x08u    /* 8-bit */
#define VCON_PCI_CLASS_PROG 0x09u     /* 8-bit programming interface */
#define VCON_PCI_CLASS_DEVICE 0x0Au   /* 16-bit: class << 8 | subclass */
#define VCON_PCI_HEADER_TYPE 0x0Eu    /* 8-bit */
#define VCON_PCI_BASE_ADDRESS_0 0x10u /* BAR n at 0x10 + 4 * n */
#define VCON_PCI_SUBSYSTEM_VENDOR_ID 0x2Cu
#define VCON_PCI_SUBSYSTEM_ID 0x2Eu
#define VCON_PCI_ROM_ADDRESS 0x30u
#define VCON_PCI_CAPABILITY_LIST 0x34u
#define VCON_PCI_INTERRUPT_LINE 0x3Cu /* 8-bit, read/write */
#define VCON_PCI_INTERRUPT_PIN 0x3Du  /* 8-bit: 1 = INTA */

#define VCON_PCI_COMMAND_IO 0x0001u
#define VCON_PCI_COMMAND_MEMORY 0x0002u
#define VCON_PCI_COMMAND_MASTER 0x0004u
#define VCON_PCI_COMMAND_INTX_DISABLE 0x0400u
#define VCON_PCI_STATUS_INTERRUPT 0x0008u /* INTx condition (ISR not 0) */
#define VCON_PCI_STATUS_CAP_LIST 0x0010u
#define VCON_PCI_BASE_ADDRESS_SPACE_IO 0x1u

/* The MSI-X capability (at VCON_VIRTIO_PCI_MSIX_CAP) and its table. */
#define VCON_PCI_CAP_ID_MSIX 0x11u
#define VCON_PCI_MSIX_FLAGS 2u /* 16-bit message control, from the cap start */
#define VCON_PCI_MSIX_TABLE 4u /* 32-bit offset | BIR */
#define VCON_PCI_MSIX_PBA 8u   /* 32-bit offset | BIR */
#define VCON_PCI_MSIX_FLAGS_QSIZE 0x07FFu
#define VCON_PCI_MSIX_FLAGS_MASKALL 0x4000u
#define VCON_PCI_MSIX_FLAGS_ENABLE 0x8000u
#define VCON_PCI_MSIX_ENTRY_SIZE 16u
#define VCON_PCI_MSIX_ENTRY_LOWER_ADDR 0u
#define VCON_PCI_MSIX_ENTRY_UPPER_ADDR 4u
#define VCON_PCI_MSIX_ENTRY_DATA 8u
#define VCON_PCI_MSIX_ENTRY_VECTOR_CTRL 12u
#define VCON_PCI_MSIX_ENTRY_CTRL_MASKBIT 1u

/* What a virtio device provides to the transport. Every operation may be
 * NULL: host_features and config_size then count as 0, configuration
 * accesses are refused, the others do nothing. */
struct vcon_virtio_device_ops {
    uint32_t (*host_features)(void *device);
    /* The guest's feature choice (already masked to host features). Called
     * on every GUEST_FEATURES write before DRIVER_OK. */
    void (*set_features)(void *device, uint32_t features);
    /* Device-specific configuration; offset from its start. Return 0 or
     * -EINVAL (outside the configuration, or a size the device refuses). */
    int (*config_read)(void *device, unsigned offset, unsigned size, uint32_t *value);
    int (*config_write)(void *device, unsigned offset, unsigned size, uint32_t value);
    unsigned (*config_size)(void *device);
    /* The guest kicked queue `index` (already range-checked). */
    void (*queue_notify)(void *device, unsigned index);
    /* The guest wrote queue `index`'s PFN: its old ring is gone (a new one
     * is laid out, or none). Chains the device took from the old ring and
     * still holds must be forgotten: they can never be returned to it. */
    void (*queue_changed)(void *device, unsigned index);
    /* Status written (never 0: a 0 write calls reset instead). */
    void (*status_changed)(void *device, uint8_t old_status, uint8_t new_status);
    /* The whole device back to its initial state (status 0 written). */
    void (*reset)(void *device);
};

struct vcon_virtio_pci_config {
    uint16_t device_id;    /* PCI device id, e.g. 0x1003 for the console */
    uint16_t subsystem_id; /* the virtio device type, e.g. 3 */
    uint8_t class_code, subclass, prog_if;
    unsigned nr_queues;    /* 1 .. VCON_VIRTIO_PCI_MAX_QUEUES */
    uint16_t queue_size;   /* power of two, 1 .. VCON_VIRTQ_MAX_SIZE */
    unsigned intx_line;    /* passed to host->irq_set_level */
};

struct vcon_virtio_pci_stats {
    uint64_t bad_accesses; /* wrong size or offset, writes to read-only */
    uint64_t bad_queue_selects, bad_notifies;
    uint64_t interrupts, msi_sent, msi_masked;
    uint64_t decode_off;    /* BAR accesses refused: decode off in COMMAND */
    uint64_t msi_no_vector; /* MSI-X interrupts dropped: NO_VECTOR assigned */
};

struct vcon_virtio_pci;

/* Returns 0, -EINVAL (a config field out of range, a host without
 * mem_read, mem_write, irq_set_level or msi_send, or a device
 * configuration that does not fit a 256-byte I/O BAR), or -ENOMEM. The
 * transport starts with decoding off, MSI-X disabled and every vector
 * masked, like a PCI function after reset. */
int vcon_virtio_pci_create(const struct vcon_virtio_pci_config *config,
                           const struct vcon_host *host,
                           const struct vcon_virtio_device_ops *ops, void *device,
                           struct vcon_virtio_pci **out);
/* Lowers the INTx line first if the transport had raised it. */
void vcon_virtio_pci_destroy(struct vcon_virtio_pci *t);

/* Guest accesses. config: offset 0..4095 in PCI configuration space;
 * bar: 0 (I/O registers and device configuration) or 1 (MSI-X). Return 0,
 * or -EINVAL for an access the transport refuses (reads then give all
 * ones); the device stays usable. */
int vcon_virtio_pci_config_read(struct vcon_virtio_pci *t, unsigned offset, unsigned size,
                                uint32_t *value);
int vcon_virtio_pci_config_write(struct vcon_virtio_pci *t, unsigned offset, unsigned size,
                                 uint32_t value);
int vcon_virtio_pci_bar_read(struct vcon_virtio_pci *t, unsigned bar, uint64_t offset,
                             unsigned size, uint32_t *value);
int vcon_virtio_pci_bar_write(struct vcon_virtio_pci *t, unsigned bar, uint64_t offset,
                              unsigned size, uint32_t value);
/* The BAR sizes the guest sees when sizing (all-ones writes); 0 for BARs
 * 2-5 and anything else. */
uint32_t vcon_virtio_pci_bar_size(const struct vcon_virtio_pci *t, unsigned bar);
/* The base address the guest programmed into BAR `bar` (0 or 1), without
 * the flag bits; 0 for other BARs. The embedder maps BAR0 (port I/O) and
 * BAR1 (MMIO) there once the guest has set them. */
uint32_t vcon_virtio_pci_bar_base(const struct vcon_virtio_pci *t, unsigned bar);

/* For the device. The queue, or NULL for index >= nr_queues. */
struct vcon_virtq *vcon_virtio_pci_queue(struct vcon_virtio_pci *t, unsigned index);
uint32_t vcon_virtio_pci_features(const struct vcon_virtio_pci *t); /* negotiated */
uint8_t vcon_virtio_pci_status(const struct vcon_virtio_pci *t);
/* Interrupt for queue `index` if the ring's suppression rules allow it
 * (vcon_virtq_should_notify); ignored for a queue that is not set up. */
void vcon_virtio_pci_notify_queue(struct vcon_virtio_pci *t, unsigned index);
/* Configuration-change interrupt. */
void vcon_virtio_pci_notify_config(struct vcon_virtio_pci *t);
/* Current INTx level (ISR not yet read). */
bool vcon_virtio_pci_intx_level(const struct vcon_virtio_pci *t);
bool vcon_virtio_pci_msix_enabled(const struct vcon_virtio_pci *t);
void vcon_virtio_pci_get_stats(const struct vcon_virtio_pci *t, struct vcon_virtio_pci_stats *out);

#ifdef __cplusplus
}
#endif
#endif
