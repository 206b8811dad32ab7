/* The legacy virtio-PCI transport's public entry points: creation, the
 * virtio reset, routing of guest accesses to the configuration space and
 * the BARs, and the accessors the device uses. docs/virtio-pci.md describes
 * the guest-visible behaviour. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "log_budget.h"
#include "virtio_pci_internal.h"


bool vpci_access_fits_dword(uint64_t offset, unsigned size)
{
    if (size != 1 && size != 2 && size != 4)
        return false;
    return (offset & 3u) + size <= 4u;
}

uint32_t vpci_size_ones(unsigned size)
{
    if (size == 1)
        return 0xFFu;
    if (size == 2)
        return 0xFFFFu;
    return UINT32_MAX;
}

uint32_t vpci_dword_extract(uint32_t dword, uint64_t offset, unsigned size)
{
    return (dword >> ((offset & 3u) * 8u)) & vpci_size_ones(size);
}

uint32_t vpci_dword_merge(uint32_t dword, uint64_t offset, unsigned size, uint32_t value)
{
    unsigned shift = (unsigned)(offset & 3u) * 8u;
    uint32_t mask = vpci_size_ones(size) << shift;
    return (dword & ~mask) | ((value << shift) & mask);
}

void vpci_log(struct vcon_virtio_pci *t, enum vcon_log_level level, const char *message)
{
    vcon_log_limited(&t->host, &t->log_budget, level, message);
}

int vpci_refuse(struct vcon_virtio_pci *t, uint64_t *counter, const char *message)
{
    (*counter)++;
    vpci_log(t, VCON_LOG_WARN, message);
    return -EINVAL;
}

/* Everything a virtio reset puts back but the queues. */
static void reset_registers(struct vcon_virtio_pci *t)
{
    t->guest_features = 0;
    t->queue_sel = 0;
    t->status = 0;
    t->isr = 0;
    t->config_vector = VCON_VIRTIO_MSI_NO_VECTOR;
    for (unsigned i = 0; i < VCON_VIRTIO_PCI_MAX_QUEUES; i++) {
        t->queue_vector[i] = VCON_VIRTIO_MSI_NO_VECTOR;
        t->queue_pfn[i] = 0;
    }
    /* Messages held for the old driver's vectors mean nothing to the next
     * one. The table itself and the MSI-X enable bit are PCI state that a
     * virtio reset leaves alone (Linux keeps MSI-X enabled across it). */
    vpci_msix_clear_pending(t);
    vpci_update_intx(t);
}

void vpci_reset_state(struct vcon_virtio_pci *t)
{
    /* A queue that is not set up is in its reset state already (nothing
     * changes a queue before its setup): leaving those alone spares a
     * write, and often a page fault, per queue. */
    for (unsigned i = 0; i < t->config.nr_queues; i++)
        if (vcon_virtq_ready(&t->queues[i]))
            vcon_virtq_reset(&t->queues[i]);
    reset_registers(t);
}

static unsigned bar0_size_for(unsigned config_size)
{
    unsigned size = VPCI_BAR0_MIN_SIZE;
    while (size < VPCI_LEGACY_REGS_MSIX + config_size)
        size *= 2;
    return size;
}

static int check_config(const struct vcon_virtio_pci_config *config,
                        const struct vcon_host *host)
{
    if (!config || !host || !host->mem_read || !host->mem_write || !host->irq_set_level ||
        !host->msi_send)
        return -EINVAL;
    if (config->nr_queues < 1 || config->nr_queues > VCON_VIRTIO_PCI_MAX_QUEUES)
        return -EINVAL;
    if (config->queue_size < 1 || config->queue_size > VCON_VIRTQ_MAX_SIZE ||
        (config->queue_size & (config->queue_size - 1u)) != 0)
        return -EINVAL;
    return 0;
}

int vcon_virtio_pci_create(const struct vcon_virtio_pci_config *config,
                           const struct vcon_host *host,
                           const struct vcon_virtio_device_ops *ops, void *device,
                           struct vcon_virtio_pci **out)
{
    struct vcon_virtio_pci *t;
    unsigned config_size;
    int err = check_config(config, host);
    if (err || !ops || !out)
        return err ? err : -EINVAL;
    config_size = ops->config_size ? ops->config_size(device) : 0;
    if (config_size > VPCI_BAR0_MAX_SIZE - VPCI_LEGACY_REGS_MSIX)
        return -EINVAL;
    t = calloc(1, sizeof(*t) + config->nr_queues * sizeof(t->queues[0]));
    if (!t)
        return -ENOMEM;
    t->host = *host;
    t->config = *config;
    t->ops = *ops;
    t->device = device;
    t->nr_vectors = config->nr_queues + 1u;
    t->device_config_size = config_size;
    t->bar0_size = bar0_size_for(config_size);
    vpci_msix_reset_table(t);
    /* The queues are zero-filled, which is "not set up": looking at each
     * of them would only fault in the pages of a large fresh allocation. */
    reset_registers(t);
    *out = t;
    return 0;
}

void vcon_virtio_pci_destroy(struct vcon_virtio_pci *t)
{
    if (!t)
        return;
    /* Leave the wire low: the host may outlive the device. */
    if (t->intx_level)
        t->host.irq_set_level(t->host.ctx, t->config.intx_line, 0);
    free(t);
}

int vcon_virtio_pci_config_read(struct vcon_virtio_pci *t, unsigned offset, unsigned size,
                                uint32_t *value)
{
    if (!value)
        return -EINVAL;
    *value = vpci_size_ones(size);
    if (offset >= VPCI_CONFIG_SPACE_SIZE || !vpci_access_fits_dword(offset, size))
        return vpci_refuse(t, &t->stats.bad_accesses,
                           "virtio-pci: bad configuration-space read size or offset");
    *value = vpci_dword_extract(vpci_config_dword(t, offset & ~3u), offset, size);
    return 0;
}

int vcon_virtio_pci_config_write(struct vcon_virtio_pci *t, unsigned offset, unsigned size,
                                 uint32_t value)
{
    unsigned dword_offset = offset & ~3u;
    if (offset >= VPCI_CONFIG_SPACE_SIZE || !vpci_access_fits_dword(offset, size))
        return vpci_refuse(t, &t->stats.bad_accesses,
                           "virtio-pci: bad configuration-space write size or offset");
    /* Merging into what a read returns keeps the bytes the guest did not
     * write; the store then applies each register's writable mask. */
    vpci_config_store_dword(
        t, dword_offset, vpci_dword_merge(vpci_config_dword(t, dword_offset), offset, size, value));
    return 0;
}

/* 0, or the refusal for a BAR that is not there or not decoded now. */
static int check_bar_access(struct vcon_virtio_pci *t, unsigned bar, uint64_t offset,
                            unsigned size)
{
    if (bar > 1)
        return vpci_refuse(t, &t->stats.bad_accesses, "virtio-pci: access to a missing BAR");
    if (bar == 0 && !(t->command & VCON_PCI_COMMAND_IO))
        return vpci_refuse(t, &t->stats.decode_off, "virtio-pci: BAR0 access with I/O decode off");
    if (bar == 1 && !(t->command & VCON_PCI_COMMAND_MEMORY))
        return vpci_refuse(t, &t->stats.decode_off,
                           "virtio-pci: BAR1 access with memory decode off");
    if (offset >= vcon_virtio_pci_bar_size(t, bar) || !vpci_access_fits_dword(offset, size))
        return vpci_refuse(t, &t->stats.bad_accesses, "virtio-pci: bad BAR access size or offset");
    return 0;
}

int vcon_virtio_pci_bar_read(struct vcon_virtio_pci *t, unsigned bar, uint64_t offset,
                             unsigned size, uint32_t *value)
{
    int err;
    if (!value)
        return -EINVAL;
    *value = vpci_size_ones(size);
    err = check_bar_access(t, bar, offset, size);
    if (err)
        return err;
    if (bar == 0)
        return vpci_bar0_read(t, (unsigned)offset, size, value);
    return vpci_bar1_read(t, (unsigned)offset, size, value);
}

int vcon_virtio_pci_bar_write(struct vcon_virtio_pci *t, unsigned bar, uint64_t offset,
                              unsigned size, uint32_t value)
{
    int err = check_bar_access(t, bar, offset, size);
    if (err)
        return err;
    if (bar == 0)
        return vpci_bar0_write(t, (unsigned)offset, size, value);
    return vpci_bar1_write(t, (unsigned)offset, size, value);
}

uint32_t vcon_virtio_pci_bar_size(const struct vcon_virtio_pci *t, unsigned bar)
{
    if (bar == 0)
        return t->bar0_size;
    if (bar == 1)
        return VCON_VIRTIO_PCI_BAR1_SIZE;
    return 0;
}

uint32_t vcon_virtio_pci_bar_base(const struct vcon_virtio_pci *t, unsigned bar)
{
    if (bar > 1)
        return 0;
    return t->bar[bar] & ~(vcon_virtio_pci_bar_size(t, bar) - 1u);
}

struct vcon_virtq *vcon_virtio_pci_queue(struct vcon_virtio_pci *t, unsigned index)
{
    if (index >= t->config.nr_queues)
        return NULL;
    return &t->queues[index];
}

uint32_t vcon_virtio_pci_features(const struct vcon_virtio_pci *t)
{
    return t->guest_features;
}

uint8_t vcon_virtio_pci_status(const struct vcon_virtio_pci *t)
{
    return t->status;
}

bool vcon_virtio_pci_intx_level(const struct vcon_virtio_pci *t)
{
    return t->intx_level;
}

bool vcon_virtio_pci_msix_enabled(const struct vcon_virtio_pci *t)
{
    return vpci_msix_enabled(t);
}

void vcon_virtio_pci_get_stats(const struct vcon_virtio_pci *t, struct vcon_virtio_pci_stats *out)
{
    *out = t->stats;
}
