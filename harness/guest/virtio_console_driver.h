/* A fake guest's virtio-console driver: it finds, starts and drives a
 * multiport virtio-console on the legacy virtio-PCI transport the way
 * Linux's virtio_pci (legacy) and virtio_console drivers do, so that the
 * device under test sees the access sequences of a real guest. Written from
 * the documented behaviour of those drivers, not from their code.
 *
 * It reaches the device only through the VM: PCI configuration cycles,
 * port-I/O (BAR0) and MMIO (BAR1) accesses, and its own guest RAM, where
 * it keeps the rings and buffers. Interrupts are taken by explicit calls
 * (vcon_guest_console_service after each step), never from inside a device
 * callback. Every loop is bounded: a hostile or broken device makes the
 * driver count errors, never hang it or read outside what it allocated.
 *
 * Bring-up (vcon_guest_console_probe):
 *   - scan bus `bus`, devices 0-31, function 0, for vendor 0x1AF4 device
 *     0x1003, revision 0, subsystem 3;
 *   - size BAR0 (I/O) and BAR1 (memory) with all-ones writes, decoding off,
 *     program them, write the interrupt line and enable I/O, memory and bus
 *     mastering;
 *   - reset (status 0), ACKNOWLEDGE, DRIVER, read the host features, write
 *     the guest features (F_SIZE, F_EMERG_WRITE, and as the options say
 *     F_MULTIPORT, INDIRECT_DESC, EVENT_IDX);
 *   - read max_nr_ports (MULTIPORT), then set up the queues: with MSI-X, one
 *     vector per queue with a callback and one for configuration changes,
 *     else one shared queue vector, else INTx (Linux's order of attempts);
 *     each queue: select, read the size, a page-aligned ring, PFN, vector;
 *   - read cols/rows (F_SIZE), DRIVER_OK; with MULTIPORT post the control
 *     receive buffers and send DEVICE_READY; without, port 0 is a console.
 *
 * Control messages are handled as Linux does: DEVICE_ADD posts the port's
 * receive buffers and answers PORT_READY; CONSOLE_PORT makes the port a
 * console and opens it (PORT_OPEN 1); PORT_NAME, PORT_OPEN (host side) and
 * RESIZE ({rows, cols}, Linux's layout) are recorded; DEVICE_REMOVE forgets
 * the port, discarding the data it had not handed out. */
#ifndef HARNESS_GUEST_VIRTIO_CONSOLE_DRIVER_H
#define HARNESS_GUEST_VIRTIO_CONSOLE_DRIVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "guest/vring.h"
#include "harness/vm.h"
#include "vcon/console.h"

#define VCON_GUEST_CONSOLE_MAX_PORTS VCON_CONSOLE_MAX_PORTS
#define VCON_GUEST_CONSOLE_MAX_QUEUES (2u + 2u * VCON_GUEST_CONSOLE_MAX_PORTS)
/* Per port: received bytes not yet read (the tty buffer). */
#define VCON_GUEST_CONSOLE_RX_BUFFER 16384u
/* Segments a buffer may be split into (through an indirect table when
 * INDIRECT_DESC is negotiated). */
#define VCON_GUEST_CONSOLE_MAX_SEGS 8u
/* Handler runs per vcon_guest_console_service(): INTx rounds, MSI messages. */
#define VCON_GUEST_CONSOLE_SERVICE_ROUNDS 64u
#define VCON_GUEST_CONSOLE_SERVICE_MSIS 1024u

enum vcon_guest_console_irq {
    VCON_GUEST_CONSOLE_INTX = 0,
    /* One vector per queue with a callback, else shared, else INTx. */
    VCON_GUEST_CONSOLE_MSIX = 1,
    /* A configuration vector and one for every queue, else INTx. */
    VCON_GUEST_CONSOLE_MSIX_SHARED = 2,
};

struct vcon_guest_console_options {
    unsigned bus;           /* scanned for the device */
    /* The device number to take on that bus; -1 (the default): the first
     * virtio-console found, as a guest with one would. A rig with several
     * consoles needs it, or every driver takes the first one. */
    int slot;
    uint32_t io_base;       /* BAR0 as the firmware places it (aligned up) */
    uint32_t mmio_base;     /* BAR1 */
    unsigned intx_line;     /* the VM line the firmware routed INTA to */
    uint64_t heap_base;     /* guest RAM the driver allocates from */
    uint64_t heap_size;     /* 0: from heap_base to the end of RAM */
    bool multiport;         /* ask for F_MULTIPORT */
    bool event_idx;         /* ask for VIRTIO_RING_F_EVENT_IDX */
    bool indirect;          /* ask for VIRTIO_RING_F_INDIRECT_DESC */
    enum vcon_guest_console_irq irq;
    unsigned rx_bufs;       /* receive buffers kept posted per port */
    unsigned rx_buf_size;
    unsigned rx_segs;       /* segments per receive buffer, 1..MAX_SEGS */
    unsigned ctrl_bufs;     /* control receive buffers */
    unsigned ctrl_buf_size; /* at least 8 + a port name */
    unsigned tx_chunk;      /* largest transmit buffer */
    unsigned tx_segs;       /* most segments per transmit buffer */
    /* Nonzero: transmit buffer sizes (1..tx_chunk) and segment counts
     * (1..tx_segs) drawn from xorshift64 seeded with this. */
    uint64_t chunk_seed;
};

/* Per port, as the driver sees it. */
struct vcon_guest_console_port {
    bool present;    /* DEVICE_ADD seen (port 0 without MULTIPORT), no REMOVE since */
    bool is_console; /* CONSOLE_PORT seen (port 0 without MULTIPORT) */
    bool app_open;   /* opened by vcon_guest_console_open or as a console */
    bool guest_open; /* PORT_OPEN(1) sent since the port became ready */
    bool host_open;  /* the last PORT_OPEN from the device */
    bool has_name;
    char name[VCON_CONSOLE_NAME_MAX];
    uint16_t cols, rows; /* console size */
    uint64_t resizes;    /* RESIZE messages, or config changes without MULTIPORT */
    uint64_t adds, removes, host_open_msgs;
    /* guest -> host, bytes */
    uint64_t tx_accepted;  /* taken by vcon_guest_console_write */
    uint64_t tx_inflight;  /* in chains the device has not returned */
    uint64_t tx_completed; /* in chains the device returned */
    uint64_t tx_abandoned; /* in chains dropped by a reset of the device */
    /* host -> guest, bytes */
    uint64_t rx_received;  /* in used receive buffers taken from the ring */
    uint64_t rx_read;      /* handed to vcon_guest_console_read */
    uint64_t rx_discarded; /* dropped: port not open, removed, reset */
    uint64_t rx_buffered;  /* received, neither read nor discarded */
};

struct vcon_guest_console_counters {
    uint64_t interrupts;        /* ISR reads (INTx) and MSI messages handled */
    uint64_t spurious;          /* ISR 0 with the line up; MSI for no vector of ours */
    uint64_t config_changes;
    uint64_t stuck;             /* service calls cut short at their bound */
    uint64_t isr_line_mismatch; /* line level disagreed with ISR, or stayed up after it */
    uint64_t intx_in_msix;      /* INTx line up while MSI-X is on */
    uint64_t kicks;
    uint64_t ctrl_in, ctrl_out;
    uint64_t ctrl_bad;          /* short, unknown event, bad id, absent port */
    uint64_t ctrl_tx_full;      /* control messages not sent: no room */
    uint64_t used_len_overflow; /* a used length above the buffer's size */
    uint64_t rx_unexpected;     /* receive buffers used for a port not there */
    uint64_t alloc_failures;
    uint64_t setup_failures;    /* bring-up steps the device refused */
    uint64_t msix_fallbacks;    /* vector assignments refused: next mode tried */
    uint64_t resets;
    uint64_t bad_config;        /* max_nr_ports 0 or over 16, readings that differ */
};

struct vcon_guest_console;

/* The defaults: bus 0, BAR0 at 0xC000, BAR1 at 0xFEB00000, line 10, heap
 * from 64 KiB, MULTIPORT, no ring features, INTx, 8 receive buffers of 256
 * bytes per port, 8 control buffers of 128 bytes, 256-byte transmit buffers
 * in one segment. */
void vcon_guest_console_default_options(struct vcon_guest_console_options *o);

/* Returns 0, -EINVAL (bad options, a heap outside RAM), -ENOMEM. */
int vcon_guest_console_create(struct vcon_vm *vm, const struct vcon_guest_console_options *o,
                              struct vcon_guest_console **out);
void vcon_guest_console_destroy(struct vcon_guest_console *c);

/* Find the device, place its BARs and bring it up (see the top). Returns 0,
 * -ENODEV (no device, or BARs that are not I/O + memory), -EIO (a queue or
 * the features refused), -ENOMEM (guest heap too small). */
int vcon_guest_console_probe(struct vcon_guest_console *c);
/* Reset the device with whatever is in flight (status 0, queues torn down,
 * chains in flight abandoned, data not yet handed out discarded), then
 * bring it up again. Ports that were open are opened again when the
 * device announces them. Returns as probe. */
int vcon_guest_console_restart(struct vcon_guest_console *c);

/* PORT_OPEN(port, 1) / (port, 0), as an application opening or closing the
 * port's character device. 0, -ENODEV (not up, port absent). */
int vcon_guest_console_open(struct vcon_guest_console *c, unsigned port);
int vcon_guest_console_close(struct vcon_guest_console *c, unsigned port);

/* Post as much of `bytes` as the transmit ring and heap take now, in
 * buffers of up to tx_chunk bytes, and kick if the device wants it.
 * Returns the bytes taken (0 when the ring is full), -ENODEV (not up, port
 * absent), -EPIPE (port not open). */
int vcon_guest_console_write(struct vcon_guest_console *c, unsigned port, const void *bytes,
                             size_t len);
/* Take up to `len` received bytes of `port`. */
size_t vcon_guest_console_read(struct vcon_guest_console *c, unsigned port, void *buf,
                               size_t len);
/* One byte through the emergency write register. 0, -ENODEV, -ENOTSUP
 * (F_EMERG_WRITE not negotiated). */
int vcon_guest_console_emerg_write(struct vcon_guest_console *c, uint8_t byte);

/* Take interrupts: with INTx, run the handler while the line is up (read
 * ISR; config change: read the size; queue: every queue's used ring); with
 * MSI-X, handle each MSI message recorded since the last call by its
 * vector. Bounded (counters.stuck). Returns the handler runs, or -ENODEV. */
int vcon_guest_console_service(struct vcon_guest_console *c);
/* Look at every queue's used ring whatever the interrupts say. */
int vcon_guest_console_poll(struct vcon_guest_console *c);
/* INTx only: read ISR whatever the line says and handle what it reports,
 * checking the line against it (counters.isr_line_mismatch). */
int vcon_guest_console_poll_isr(struct vcon_guest_console *c);
/* The PCI status register's interrupt bit (side-effect free), or -ENODEV. */
int vcon_guest_console_intx_status(struct vcon_guest_console *c);

/* ---- inspection ---- */
bool vcon_guest_console_up(const struct vcon_guest_console *c);
const struct vcon_guest_console_port *vcon_guest_console_port(const struct vcon_guest_console *c,
                                                              unsigned port);
const struct vcon_guest_console_counters *
vcon_guest_console_counters(const struct vcon_guest_console *c);
uint32_t vcon_guest_console_features(const struct vcon_guest_console *c); /* negotiated */
bool vcon_guest_console_multiport(const struct vcon_guest_console *c);
/* Ports in use: max_nr_ports with MULTIPORT (clamped to 16), else 1. */
unsigned vcon_guest_console_nr_ports(const struct vcon_guest_console *c);
unsigned vcon_guest_console_nr_queues(const struct vcon_guest_console *c);
/* The interrupt mode in use after the fallbacks. */
enum vcon_guest_console_irq vcon_guest_console_irq_mode(const struct vcon_guest_console *c);
/* The configuration space as last read: cols, rows, max_nr_ports. */
void vcon_guest_console_config(const struct vcon_guest_console *c, uint16_t *cols, uint16_t *rows,
                               uint32_t *max_nr_ports);
/* A queue's guest-side ring (NULL if not set up): bad_used, outstanding. */
const struct vcon_guest_vring *vcon_guest_console_vring(const struct vcon_guest_console *c,
                                                        unsigned queue);
/* Where the BARs were placed; the (PCI) device number found. */
uint32_t vcon_guest_console_io_base(const struct vcon_guest_console *c);
uint32_t vcon_guest_console_mmio_base(const struct vcon_guest_console *c);
/* Guest heap bytes in use (rings, buffers, tables). */
uint64_t vcon_guest_console_heap_in_use(const struct vcon_guest_console *c);

#endif
