/* Finding the device and starting it: the PCI scan and BAR placement a
 * firmware and Linux's PCI core do, the MSI-X capability, and the legacy
 * virtio bring-up of virtio_pci_legacy + virtio_console's probe, including
 * Linux's fallbacks from per-queue MSI-X vectors to a shared vector to INTx.
 * Also the reset that takes everything back. */
#include <errno.h>
#include <string.h>

#include "guest/virtio_console_internal.h"

#define MAX_CAPS 48u /* a capability list longer than this loops */
#define PCI_CAP_START 0x40u
#define LEGACY_DEVICE_FIRST 0x1000u
#define LEGACY_DEVICE_LAST 0x103Fu

/* ---- PCI ---------------------------------------------------------------- */

static bool find_device(struct vcon_guest_console *c)
{
    for (unsigned dev = 0; dev < GVC_PCI_DEVICES; dev++) {
        if (c->opt.slot >= 0 && dev != (unsigned)c->opt.slot)
            continue;
        c->dev = dev;
        const uint32_t vendor = gvc_cfg_read(c, VCON_PCI_VENDOR_ID, 2);
        if (vendor == 0xFFFFu)
            continue;
        const uint32_t device = gvc_cfg_read(c, VCON_PCI_DEVICE_ID, 2);
        if (vendor != VCON_VIRTIO_PCI_VENDOR || device != VCON_CONSOLE_PCI_DEVICE_ID)
            continue;
        /* virtio_pci_legacy_probe: a transitional id and ABI revision 0;
         * the subsystem id names the virtio device type. */
        if (device < LEGACY_DEVICE_FIRST || device > LEGACY_DEVICE_LAST ||
            gvc_cfg_read(c, VCON_PCI_REVISION_ID, 1) != 0 ||
            gvc_cfg_read(c, VCON_PCI_SUBSYSTEM_ID, 2) != VCON_CONSOLE_VIRTIO_ID)
            continue;
        return true;
    }
    return false;
}

/* __pci_read_base: all ones, read the size mask, restore. Returns the raw
 * mask read back. */
static uint32_t size_bar(struct vcon_guest_console *c, unsigned reg)
{
    const uint32_t orig = gvc_cfg_read(c, reg, 4);
    gvc_cfg_write(c, reg, 4, 0xFFFFFFFFu);
    const uint32_t mask = gvc_cfg_read(c, reg, 4);
    gvc_cfg_write(c, reg, 4, orig);
    return mask;
}

static uint32_t bar_bytes(uint32_t mask, bool io)
{
    uint32_t addr = mask & (io ? ~0x3u : ~0xFu);
    if (io && (addr & 0xFFFF0000u) == 0)
        addr |= 0xFFFF0000u; /* a 16-bit I/O BAR */
    return addr == 0 ? 0 : ~addr + 1u;
}

static uint32_t align_up(uint32_t value, uint32_t align)
{
    return (value + align - 1u) & ~(align - 1u);
}

/* Size both BARs with decoding off, place them, and turn decoding and bus
 * mastering on. */
static int place_bars(struct vcon_guest_console *c)
{
    const uint32_t command = gvc_cfg_read(c, VCON_PCI_COMMAND, 2);
    gvc_cfg_write(c, VCON_PCI_COMMAND, 2,
                  command & ~(uint32_t)(VCON_PCI_COMMAND_IO | VCON_PCI_COMMAND_MEMORY));
    const uint32_t mask0 = size_bar(c, VCON_PCI_BASE_ADDRESS_0);
    const uint32_t mask1 = size_bar(c, VCON_PCI_BASE_ADDRESS_0 + 4u);
    const bool io0 = mask0 & VCON_PCI_BASE_ADDRESS_SPACE_IO;
    const bool io1 = mask1 & VCON_PCI_BASE_ADDRESS_SPACE_IO;
    c->io_size = bar_bytes(mask0, io0);
    c->mmio_size = bar_bytes(mask1, io1);
    if (!io0 || io1 || c->io_size == 0 || c->mmio_size == 0 || (c->io_size & (c->io_size - 1)) ||
        (c->mmio_size & (c->mmio_size - 1)) || (mask1 & 0x6u) != 0 /* 32-bit memory only */) {
        c->n.setup_failures++;
        return -ENODEV;
    }
    c->io_base = align_up(c->opt.io_base, c->io_size);
    c->mmio_base = align_up(c->opt.mmio_base, c->mmio_size);
    gvc_cfg_write(c, VCON_PCI_BASE_ADDRESS_0, 4, c->io_base);
    gvc_cfg_write(c, VCON_PCI_BASE_ADDRESS_0 + 4u, 4, c->mmio_base);
    if ((gvc_cfg_read(c, VCON_PCI_BASE_ADDRESS_0, 4) & ~0x3u) != c->io_base ||
        (gvc_cfg_read(c, VCON_PCI_BASE_ADDRESS_0 + 4u, 4) & ~0xFu) != c->mmio_base) {
        c->n.setup_failures++;
        return -ENODEV;
    }
    gvc_cfg_write(c, VCON_PCI_INTERRUPT_LINE, 1, c->opt.intx_line & 0xFFu);
    gvc_cfg_write(c, VCON_PCI_COMMAND, 2,
                  (command | VCON_PCI_COMMAND_IO | VCON_PCI_COMMAND_MEMORY |
                   VCON_PCI_COMMAND_MASTER) &
                      ~(uint32_t)VCON_PCI_COMMAND_INTX_DISABLE);
    return 0;
}

/* Walk the capability list for MSI-X whose table is in BAR1. */
static void find_msix(struct vcon_guest_console *c)
{
    c->msix_cap = 0;
    if (!(gvc_cfg_read(c, VCON_PCI_STATUS, 2) & VCON_PCI_STATUS_CAP_LIST))
        return;
    unsigned ptr = gvc_cfg_read(c, VCON_PCI_CAPABILITY_LIST, 1) & 0xFCu;
    for (unsigned n = 0; n < MAX_CAPS && ptr >= PCI_CAP_START; n++) {
        if (gvc_cfg_read(c, ptr, 1) == VCON_PCI_CAP_ID_MSIX) {
            const uint32_t control = gvc_cfg_read(c, ptr + VCON_PCI_MSIX_FLAGS, 2);
            const uint32_t table = gvc_cfg_read(c, ptr + VCON_PCI_MSIX_TABLE, 4);
            const uint32_t entries = (control & VCON_PCI_MSIX_FLAGS_QSIZE) + 1u;
            const uint32_t offset = table & ~0x7u;
            if ((table & 0x7u) != 1u || offset >= c->mmio_size ||
                entries > (c->mmio_size - offset) / VCON_PCI_MSIX_ENTRY_SIZE)
                return;
            c->msix_cap = ptr;
            c->msix_entries = entries;
            c->msix_table = offset;
            return;
        }
        ptr = gvc_cfg_read(c, ptr + 1u, 1) & 0xFCu;
    }
}

/* ---- MSI-X ---------------------------------------------------------------- */

static void set_intx_disable(struct vcon_guest_console *c, bool disable)
{
    uint32_t command = gvc_cfg_read(c, VCON_PCI_COMMAND, 2);
    if (disable)
        command |= VCON_PCI_COMMAND_INTX_DISABLE;
    else
        command &= ~(uint32_t)VCON_PCI_COMMAND_INTX_DISABLE;
    gvc_cfg_write(c, VCON_PCI_COMMAND, 2, command);
}

/* msix_capability_init: enabled with the function masked, entries
 * programmed masked then unmasked, function unmasked; INTx off. */
static void enable_msix(struct vcon_guest_console *c, unsigned nvec)
{
    const unsigned control = c->msix_cap + VCON_PCI_MSIX_FLAGS;
    gvc_cfg_write(c, control, 2, VCON_PCI_MSIX_FLAGS_ENABLE | VCON_PCI_MSIX_FLAGS_MASKALL);
    for (unsigned v = 0; v < nvec; v++) {
        const unsigned entry = c->msix_table + v * VCON_PCI_MSIX_ENTRY_SIZE;
        c->vector[v].address = GVC_MSI_ADDRESS | ((uint64_t)v << 12);
        c->vector[v].data = GVC_MSI_DATA_BASE + v;
        gvc_mmio_write(c, entry + VCON_PCI_MSIX_ENTRY_VECTOR_CTRL, 4,
                       VCON_PCI_MSIX_ENTRY_CTRL_MASKBIT);
        gvc_mmio_write(c, entry + VCON_PCI_MSIX_ENTRY_LOWER_ADDR, 4, (uint32_t)c->vector[v].address);
        gvc_mmio_write(c, entry + VCON_PCI_MSIX_ENTRY_UPPER_ADDR, 4,
                       (uint32_t)(c->vector[v].address >> 32));
        gvc_mmio_write(c, entry + VCON_PCI_MSIX_ENTRY_DATA, 4, c->vector[v].data);
        gvc_mmio_write(c, entry + VCON_PCI_MSIX_ENTRY_VECTOR_CTRL, 4, 0);
    }
    gvc_cfg_write(c, control, 2, VCON_PCI_MSIX_FLAGS_ENABLE);
    set_intx_disable(c, true);
    c->msix_on = true;
    c->nr_vectors = nvec;
    c->cfg_off = VCON_VIRTIO_PCI_CONFIG_MSIX;
    /* Messages recorded before this belong to an earlier life. */
    c->msi_seen = vcon_vm_msi_count(c->vm);
}

static void disable_msix(struct vcon_guest_console *c)
{
    if (!c->msix_on)
        return;
    gvc_cfg_write(c, c->msix_cap + VCON_PCI_MSIX_FLAGS, 2, 0);
    set_intx_disable(c, false);
    c->msix_on = false;
    c->nr_vectors = 0;
    c->config_vector = VCON_VIRTIO_MSI_NO_VECTOR;
    c->cfg_off = VCON_VIRTIO_PCI_CONFIG_NO_MSIX;
}

/* ---- queues ------------------------------------------------------------- */

/* virtio_console gives every queue a callback except the control tx one. */
static bool has_callback(const struct vcon_guest_console *c, unsigned index)
{
    return !(c->multiport && index == VCON_CONSOLE_CTRL_TX_QUEUE);
}

/* setup_vq (legacy): select, size, ring, PFN, vector read back. */
static int setup_queue(struct vcon_guest_console *c, unsigned index, uint16_t vector)
{
    gvc_io_write(c, VCON_VIRTIO_PCI_QUEUE_SEL, 2, index);
    const uint32_t num = gvc_io_read(c, VCON_VIRTIO_PCI_QUEUE_NUM, 2);
    if (num == 0 || num > VCON_GUEST_VRING_MAX || (num & (num - 1u)) != 0 ||
        gvc_io_read(c, VCON_VIRTIO_PCI_QUEUE_PFN, 4) != 0) {
        c->n.setup_failures++;
        return -ENOENT;
    }
    const int rc = gvc_queue_init(c, index, (uint16_t)num);
    if (rc != 0)
        return rc;
    gvc_io_write(c, VCON_VIRTIO_PCI_QUEUE_PFN, 4, (uint32_t)(c->q[index].ring_gpa / GVC_PAGE));
    if (vector != VCON_VIRTIO_MSI_NO_VECTOR) {
        gvc_io_write(c, VCON_VIRTIO_MSI_QUEUE_VECTOR, 2, vector);
        if (gvc_io_read(c, VCON_VIRTIO_MSI_QUEUE_VECTOR, 2) != vector)
            return -EBUSY;
        c->q[index].vector = vector;
    }
    return 0;
}

/* vp_del_vqs: each queue's vector released and the queue deactivated, the
 * configuration vector released, MSI-X off. */
static void del_vqs(struct vcon_guest_console *c)
{
    for (unsigned i = 0; i < VCON_GUEST_CONSOLE_MAX_QUEUES; i++) {
        if (!c->q[i].active)
            continue;
        gvc_io_write(c, VCON_VIRTIO_PCI_QUEUE_SEL, 2, i);
        if (c->msix_on) {
            gvc_io_write(c, VCON_VIRTIO_MSI_QUEUE_VECTOR, 2, VCON_VIRTIO_MSI_NO_VECTOR);
            (void)gvc_io_read(c, VCON_VIRTIO_PCI_ISR, 1); /* flush */
        }
        gvc_io_write(c, VCON_VIRTIO_PCI_QUEUE_PFN, 4, 0);
        gvc_queue_free(c, i);
    }
    if (c->msix_on)
        gvc_io_write(c, VCON_VIRTIO_MSI_CONFIG_VECTOR, 2, VCON_VIRTIO_MSI_NO_VECTOR);
    disable_msix(c);
    c->repoll = 0;
}

static int try_vqs(struct vcon_guest_console *c, enum vcon_guest_console_irq mode)
{
    if (mode != VCON_GUEST_CONSOLE_INTX) {
        unsigned callbacks = 0;
        for (unsigned i = 0; i < c->nr_queues; i++)
            callbacks += has_callback(c, i);
        const unsigned nvec = mode == VCON_GUEST_CONSOLE_MSIX ? 1u + callbacks : 2u;
        if (c->msix_cap == 0 || nvec > c->msix_entries)
            return -ENOSPC;
        enable_msix(c, nvec);
        gvc_io_write(c, VCON_VIRTIO_MSI_CONFIG_VECTOR, 2, 0);
        if (gvc_io_read(c, VCON_VIRTIO_MSI_CONFIG_VECTOR, 2) != 0)
            return -EBUSY;
        c->config_vector = 0;
    }
    uint16_t next = 1;
    for (unsigned i = 0; i < c->nr_queues; i++) {
        uint16_t vector = VCON_VIRTIO_MSI_NO_VECTOR;
        if (mode != VCON_GUEST_CONSOLE_INTX && has_callback(c, i))
            vector = mode == VCON_GUEST_CONSOLE_MSIX ? next++ : 1u;
        const int rc = setup_queue(c, i, vector);
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* vp_find_vqs: the modes in Linux's order, each failure undone. */
static int find_vqs(struct vcon_guest_console *c)
{
    static const enum vcon_guest_console_irq order[3][3] = {
        [VCON_GUEST_CONSOLE_INTX] = {VCON_GUEST_CONSOLE_INTX, VCON_GUEST_CONSOLE_INTX,
                                     VCON_GUEST_CONSOLE_INTX},
        [VCON_GUEST_CONSOLE_MSIX] = {VCON_GUEST_CONSOLE_MSIX, VCON_GUEST_CONSOLE_MSIX_SHARED,
                                     VCON_GUEST_CONSOLE_INTX},
        [VCON_GUEST_CONSOLE_MSIX_SHARED] = {VCON_GUEST_CONSOLE_MSIX_SHARED,
                                            VCON_GUEST_CONSOLE_INTX, VCON_GUEST_CONSOLE_INTX},
    };
    const unsigned want = c->opt.irq <= VCON_GUEST_CONSOLE_MSIX_SHARED ? c->opt.irq : 0;
    int rc = -EIO;
    for (unsigned attempt = 0; attempt < 3; attempt++) {
        const enum vcon_guest_console_irq mode = order[want][attempt];
        if (attempt > 0 && mode == order[want][attempt - 1])
            break;
        rc = try_vqs(c, mode);
        if (rc == 0) {
            c->irq = mode;
            return 0;
        }
        del_vqs(c);
        if (mode != VCON_GUEST_CONSOLE_INTX)
            c->n.msix_fallbacks++;
    }
    return rc;
}

/* ---- virtio ------------------------------------------------------------- */

void gvc_read_config(struct vcon_guest_console *c)
{
    if (gvc_has(c, VCON_CONSOLE_F_SIZE)) {
        c->cols = (uint16_t)gvc_config_read(c, VCON_CONSOLE_CFG_COLS, 2);
        c->rows = (uint16_t)gvc_config_read(c, VCON_CONSOLE_CFG_ROWS, 2);
    }
    if (c->multiport && gvc_config_read(c, VCON_CONSOLE_CFG_MAX_NR_PORTS, 4) != c->max_nr_ports)
        c->n.bad_config++;
}

static void set_status(struct vcon_guest_console *c, uint8_t status)
{
    gvc_io_write(c, VCON_VIRTIO_PCI_STATUS, 1, status);
}

/* vp_reset: write 0, read back to flush. */
static void reset_status(struct vcon_guest_console *c)
{
    set_status(c, 0);
    (void)gvc_io_read(c, VCON_VIRTIO_PCI_STATUS, 1);
}

int gvc_bring_up(struct vcon_guest_console *c)
{
    c->cfg_off = VCON_VIRTIO_PCI_CONFIG_NO_MSIX;
    c->config_vector = VCON_VIRTIO_MSI_NO_VECTOR;
    reset_status(c);
    set_status(c, VCON_VIRTIO_STATUS_ACKNOWLEDGE);
    set_status(c, VCON_VIRTIO_STATUS_ACKNOWLEDGE | VCON_VIRTIO_STATUS_DRIVER);

    c->host_features = gvc_io_read(c, VCON_VIRTIO_PCI_HOST_FEATURES, 4);
    uint32_t wanted = (1u << VCON_CONSOLE_F_SIZE) | (1u << VCON_CONSOLE_F_EMERG_WRITE);
    if (c->opt.multiport)
        wanted |= 1u << VCON_CONSOLE_F_MULTIPORT;
    if (c->opt.event_idx)
        wanted |= 1u << VCON_VIRTIO_F_RING_EVENT_IDX;
    if (c->opt.indirect)
        wanted |= 1u << VCON_VIRTIO_F_RING_INDIRECT_DESC;
    c->features = c->host_features & wanted;
    gvc_io_write(c, VCON_VIRTIO_PCI_GUEST_FEATURES, 4, c->features);
    c->multiport = gvc_has(c, VCON_CONSOLE_F_MULTIPORT);

    /* virtcons_probe reads max_nr_ports before find_vqs: MSI-X is still
     * off, so at offset 20. */
    c->nr_ports = 1;
    c->max_nr_ports = 0;
    if (c->multiport) {
        c->max_nr_ports = gvc_config_read(c, VCON_CONSOLE_CFG_MAX_NR_PORTS, 4);
        if (c->max_nr_ports == 0 || c->max_nr_ports > VCON_GUEST_CONSOLE_MAX_PORTS) {
            c->n.bad_config++;
            c->nr_ports = c->max_nr_ports == 0 ? 1u : VCON_GUEST_CONSOLE_MAX_PORTS;
        } else {
            c->nr_ports = c->max_nr_ports;
        }
    }
    c->nr_queues = c->multiport ? 2u * (c->nr_ports + 1u) : 2u;

    const int rc = find_vqs(c);
    if (rc != 0) {
        set_status(c, VCON_VIRTIO_STATUS_ACKNOWLEDGE | VCON_VIRTIO_STATUS_DRIVER |
                          VCON_VIRTIO_STATUS_FAILED);
        c->n.setup_failures++;
        return rc == -ENOMEM ? -ENOMEM : -EIO;
    }
    gvc_read_config(c);
    set_status(c, VCON_VIRTIO_STATUS_ACKNOWLEDGE | VCON_VIRTIO_STATUS_DRIVER |
                      VCON_VIRTIO_STATUS_DRIVER_OK);
    c->up = true;
    if (c->multiport) {
        gvc_fill_rx(c, VCON_CONSOLE_CTRL_RX_QUEUE, c->opt.ctrl_bufs, c->opt.ctrl_buf_size, 1);
        (void)gvc_send_ctrl(c, VCON_CONSOLE_BAD_ID, VCON_CONSOLE_DEVICE_READY, 1);
    } else {
        gvc_add_port(c, 0);
    }
    return 0;
}

void gvc_reset_device(struct vcon_guest_console *c)
{
    reset_status(c);
    del_vqs(c);
    c->up = false;
    c->n.resets++;
    gvc_forget_ports(c);
}

/* ---- public ------------------------------------------------------------- */

int vcon_guest_console_probe(struct vcon_guest_console *c)
{
    if (c == NULL)
        return -EINVAL;
    if (c->up)
        return 0;
    if (!c->found) {
        if (!find_device(c))
            return -ENODEV;
        const int rc = place_bars(c);
        if (rc != 0)
            return rc;
        find_msix(c);
        c->found = true;
    }
    return gvc_bring_up(c);
}

int vcon_guest_console_restart(struct vcon_guest_console *c)
{
    if (c == NULL)
        return -EINVAL;
    if (!c->found)
        return -ENODEV;
    if (c->up)
        gvc_reset_device(c);
    return gvc_bring_up(c);
}
