/* Shared between the guest virtio-console driver's files: its state, the
 * bus accessors and the steps one file calls in another. */
#ifndef HARNESS_GUEST_VIRTIO_CONSOLE_INTERNAL_H
#define HARNESS_GUEST_VIRTIO_CONSOLE_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "guest/guest_alloc.h"
#include "guest/virtio_console_driver.h"
#include "guest/vring.h"
#include "vcon/virtio_pci.h"

#define GVC_PCI_DEVICES 32u
#define GVC_PAGE 4096u
#define GVC_MSI_ADDRESS 0xFEE00000u /* x86 interrupt message window */
#define GVC_MSI_DATA_BASE 0x40u
#define GVC_NO_SLOT 0xFFFFu

/* One chain the driver has handed to the device. */
struct gvc_slot {
    bool busy;
    uint64_t gpa;       /* one allocation; the segments split it */
    uint32_t len;
    uint64_t table_gpa; /* indirect table, 0 when none */
    uint32_t table_len;
    uint32_t data_len;  /* transmit: bytes of data */
    uint32_t used_len;  /* receive: as reported, clamped to len */
    uint32_t used_off;  /* receive: bytes already copied out */
    uint8_t nr_segs;
    uint16_t held_next; /* receive: next held slot, GVC_NO_SLOT */
};

struct gvc_queue {
    bool active;
    enum vcon_console_queue_role kind;
    unsigned port; /* data queues: the port */
    uint16_t num;
    uint16_t vector;
    uint64_t ring_gpa, ring_bytes;
    struct vcon_guest_vring vr;
    struct gvc_slot *slot; /* num of them */
    uint16_t *free_slot;   /* stack of free slot indices */
    uint16_t nr_free;
    unsigned posted;       /* receive buffers in the ring */
    /* Receive: used buffers waiting for room in the port's rx buffer. */
    uint16_t held_head, held_tail;
    unsigned held;
};

struct gvc_port {
    struct vcon_guest_console_port pub;
    /* The tty buffer: received bytes not yet read. */
    unsigned rx_head, rx_count;
    uint8_t rx_buf[VCON_GUEST_CONSOLE_RX_BUFFER];
};

struct gvc_vector {
    uint64_t address;
    uint32_t data;
};

struct vcon_guest_console {
    struct vcon_vm *vm;
    struct vcon_guest_console_options opt;
    struct vcon_guest_alloc heap;
    uint64_t rng;

    /* PCI */
    bool found;
    unsigned dev;
    uint32_t io_base, mmio_base;
    uint32_t io_size, mmio_size;
    unsigned msix_cap;     /* 0: none */
    unsigned msix_entries; /* table size */
    uint32_t msix_table;   /* offset in BAR1 */

    /* virtio */
    bool up;
    uint32_t host_features, features;
    bool multiport;
    enum vcon_guest_console_irq irq;
    bool msix_on;
    unsigned nr_vectors;
    struct gvc_vector vector[VCON_GUEST_CONSOLE_MAX_QUEUES + 1];
    uint16_t config_vector;
    size_t msi_seen;
    /* Queues whose handler stopped at its bound with entries left: the
     * interrupt that announced them is spent, so service() comes back. */
    uint64_t repoll;
    unsigned cfg_off;
    unsigned nr_ports, nr_queues;
    uint16_t cols, rows;
    uint32_t max_nr_ports;

    struct gvc_queue q[VCON_GUEST_CONSOLE_MAX_QUEUES];
    struct gvc_port port[VCON_GUEST_CONSOLE_MAX_PORTS];
    struct vcon_guest_console_counters n;
};

/* ---- bus access ---- */
static inline uint32_t gvc_cfg_read(struct vcon_guest_console *c, unsigned reg, unsigned size)
{
    return vcon_vm_read(c->vm, VCON_SPACE_PCI_CONFIG,
                        VCON_PCI_CONFIG_ADDR(c->opt.bus, c->dev, 0, reg), size);
}

static inline void gvc_cfg_write(struct vcon_guest_console *c, unsigned reg, unsigned size,
                                 uint32_t value)
{
    vcon_vm_write(c->vm, VCON_SPACE_PCI_CONFIG, VCON_PCI_CONFIG_ADDR(c->opt.bus, c->dev, 0, reg),
                  size, value);
}

static inline uint32_t gvc_io_read(struct vcon_guest_console *c, unsigned off, unsigned size)
{
    return vcon_vm_read(c->vm, VCON_SPACE_PIO, (uint64_t)c->io_base + off, size);
}

static inline void gvc_io_write(struct vcon_guest_console *c, unsigned off, unsigned size,
                                uint32_t value)
{
    vcon_vm_write(c->vm, VCON_SPACE_PIO, (uint64_t)c->io_base + off, size, value);
}

static inline void gvc_mmio_write(struct vcon_guest_console *c, unsigned off, unsigned size,
                                  uint32_t value)
{
    vcon_vm_write(c->vm, VCON_SPACE_MMIO, (uint64_t)c->mmio_base + off, size, value);
}

static inline uint32_t gvc_config_read(struct vcon_guest_console *c, unsigned off, unsigned size)
{
    return gvc_io_read(c, c->cfg_off + off, size);
}

static inline bool gvc_has(const struct vcon_guest_console *c, unsigned bit)
{
    return (c->features >> bit) & 1u;
}

/* ---- virtio_console_probe.c ---- */
/* The whole virtio bring-up after the PCI part; 0 or a negative errno. */
int gvc_bring_up(struct vcon_guest_console *c);
/* Status 0 and everything the driver gave the device taken back. */
void gvc_reset_device(struct vcon_guest_console *c);
/* Read cols/rows (F_SIZE) and max_nr_ports at the current offset. */
void gvc_read_config(struct vcon_guest_console *c);

/* ---- virtio_console_queue.c ---- */
int gvc_queue_init(struct vcon_guest_console *c, unsigned index, uint16_t num);
/* Free the ring and every buffer still in it; transmit bytes abandoned. */
void gvc_queue_free(struct vcon_guest_console *c, unsigned index);
/* Post receive buffers until `target` are in the ring; returns how many
 * were added. Kicks if the device wants it. */
unsigned gvc_fill_rx(struct vcon_guest_console *c, unsigned index, unsigned target,
                     unsigned size, unsigned segs);
/* Collect returned transmit chains (data or control). */
void gvc_reclaim_tx(struct vcon_guest_console *c, unsigned index);
/* Publish chains and kick if needed; `old_avail` is avail_idx before. */
void gvc_kick_if_needed(struct vcon_guest_console *c, unsigned index, uint16_t old_avail);
/* Add a chain of `len` bytes at gpa split in `segs` segments, device-
 * writable or not, through an indirect table when negotiated and segs > 1.
 * Returns the slot, or -ENOSPC / -ENOMEM. The buffer belongs to the slot. */
int gvc_add_chain(struct vcon_guest_console *c, unsigned index, uint64_t gpa, uint32_t len,
                  unsigned segs, bool writable);
void gvc_release_slot(struct vcon_guest_console *c, unsigned index, unsigned slot);
/* Repost a receive slot's buffer as it was. */
bool gvc_repost(struct vcon_guest_console *c, unsigned index, unsigned slot);

/* A handler took `bound` entries and may have left some. */
static inline void gvc_budget_spent(struct vcon_guest_console *c, unsigned index)
{
    c->repoll |= (uint64_t)1 << index;
}

/* ---- virtio_console_driver.c ---- */
void gvc_process_queue(struct vcon_guest_console *c, unsigned index);
void gvc_config_changed(struct vcon_guest_console *c);
int gvc_send_ctrl(struct vcon_guest_console *c, uint32_t id, uint16_t event, uint16_t value);
/* Ports back to "not announced"; data not handed out is discarded. */
void gvc_forget_ports(struct vcon_guest_console *c);
/* Port 0 without MULTIPORT, or DEVICE_ADD. */
void gvc_add_port(struct vcon_guest_console *c, unsigned port);

#endif
