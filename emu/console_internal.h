/* The virtio-console's state, shared by the files of emu/ that implement it
 * (console*.c). Not installed, not part of the public API. */
#ifndef VCON_EMU_CONSOLE_INTERNAL_H
#define VCON_EMU_CONSOLE_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "vcon/console.h"
#include "vcon/virtio_pci.h"
#include "vcon/virtq.h"

/* Bytes per backend transfer; keeps the stack buffers small. */
#define CONSOLE_IO_CHUNK 256u
/* Queues: port 0 rx/tx, control rx/tx, then a pair per further port. */
#define CONSOLE_NR_QUEUES(max_ports) (2u + 2u * (max_ports))

/* One device -> guest control message waiting for a ctrl rx buffer. */
struct console_msg {
    uint32_t id;
    uint16_t event, value;
    uint16_t payload_len;
    uint8_t payload[VCON_CONSOLE_NAME_MAX];
};

struct console_port {
    bool present, is_console;
    bool guest_ready, guest_open, host_open;
    bool size_set;       /* the host gave a size with vcon_console_resize */
    uint16_t cols, rows; /* valid with size_set */
    char name[VCON_CONSOLE_NAME_MAX];
    bool tx_held;        /* console->held[port] is a chain being written */
    uint32_t tx_offset;  /* bytes of it the backend already took */
    uint64_t to_guest_bytes, from_guest_bytes;
};

struct vcon_console {
    struct vcon_host host;
    struct vcon_console_config config;
    struct vcon_virtio_pci *transport;

    uint8_t status;    /* device status as last written by the guest */
    uint32_t features; /* negotiated */
    bool device_ready; /* DEVICE_READY(1) received */
    uint16_t cols, rows; /* configuration space */
    struct console_port port[VCON_CONSOLE_MAX_PORTS];

    struct console_msg ctrl[VCON_CONSOLE_CTRL_PENDING_MAX]; /* ring */
    unsigned ctrl_head, ctrl_count;

    /* Chains live here, not on the stack: one is 16 KiB. held[] has one
     * entry per port (max_ports of them). */
    struct vcon_virtq_chain *held;
    struct vcon_virtq_chain ctrl_in_chain;  /* ctrl tx queue: guest messages */
    struct vcon_virtq_chain ctrl_out_chain; /* ctrl rx queue: device messages */
    struct vcon_virtq_chain data_chain;     /* a port's rx or tx queue */

    struct vcon_log_budget log_budget;
    struct vcon_console_stats stats;
};

/* console.c */
void console_log(struct vcon_console *c, enum vcon_log_level level, const char *message);
bool console_multiport(const struct vcon_console *c);
bool console_driver_ok(const struct vcon_console *c);
/* The queue if it is set up and the driver is running, else NULL. */
struct vcon_virtq *console_queue(struct vcon_console *c, unsigned index);
/* Take the next usable chain: true with *chain filled; false when the queue
 * is idle (kicks re-armed) or broken. Malformed chains the engine returned
 * set *pushed. */
bool console_pop(struct vcon_virtq *vq, struct vcon_virtq_chain *chain, bool *pushed);
/* Give a chain the device cannot use back with used length 0, counting and
 * logging why. False if the used ring is unreachable. */
bool console_refuse_chain(struct vcon_console *c, struct vcon_virtq *vq,
                          const struct vcon_virtq_chain *chain, uint64_t *counter,
                          const char *message, bool *pushed);

/* console_ctrl.c: the control protocol */
void console_ctrl_enqueue(struct vcon_console *c, uint32_t id, uint16_t event, uint16_t value,
                          const void *payload, uint16_t payload_len);
void console_ctrl_flush(struct vcon_console *c);
void console_ctrl_receive(struct vcon_console *c);
void console_ctrl_clear(struct vcon_console *c);
/* The guest knows the port: announcements and replies make sense. */
bool console_ctrl_port_known(const struct vcon_console *c, unsigned port);
/* The host side of `port` changed: tell the guest if it knows the port. */
void console_ctrl_host_open(struct vcon_console *c, unsigned port, bool open);
/* RESIZE for a console port the guest has made ready; otherwise the size
 * follows that port's PORT_READY. */
void console_ctrl_resize(struct vcon_console *c, unsigned port);

/* console_data.c: bytes between the ports' queues and the backends */
bool console_port_usable(const struct vcon_console *c, unsigned port);
void console_port_rx(struct vcon_console *c, unsigned port);
void console_port_tx(struct vcon_console *c, unsigned port);
void console_port_release_tx(struct vcon_console *c, unsigned port);
/* The port's transmit ring was replaced under a held chain: drop it. */
void console_port_forget_tx(struct vcon_console *c, unsigned port);

/* console_config.c: features and configuration space */
uint32_t console_host_features(void *device);
void console_set_features(void *device, uint32_t features);
int console_config_read(void *device, unsigned offset, unsigned size, uint32_t *value);
int console_config_write(void *device, unsigned offset, unsigned size, uint32_t value);
unsigned console_config_size(void *device);

#endif
