/* The multiport virtio-console (virtio 1.x section 5.3) on the legacy
 * virtio-PCI transport. Ports 0..max_ports-1; port p talks to the host's
 * backend number p. docs/console.md describes the behaviour. */
#ifndef VCON_CONSOLE_H
#define VCON_CONSOLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vcon/dm_options.h"
#include "vcon/host.h"
#include "vcon/virtio_pci.h"

#ifdef __cplusplus
extern "C" {
#endif

#define VCON_CONSOLE_MAX_PORTS 16u
#define VCON_CONSOLE_NAME_MAX 64u /* including the terminating NUL */
#define VCON_CONSOLE_PCI_DEVICE_ID 0x1003u
#define VCON_CONSOLE_VIRTIO_ID 3u

/* Feature bits. */
#define VCON_CONSOLE_F_SIZE 0
#define VCON_CONSOLE_F_MULTIPORT 1
#define VCON_CONSOLE_F_EMERG_WRITE 2

/* Control messages: struct { le32 id; le16 event; le16 value; } + payload. */
#define VCON_CONSOLE_CTRL_HEADER 8u
/* The id of DEVICE_READY (no port). */
#define VCON_CONSOLE_BAD_ID 0xFFFFFFFFu
/* RESIZE payload: { le16 rows; le16 cols; } (the layout Linux reads). */
#define VCON_CONSOLE_RESIZE_PAYLOAD 4u
/* Device -> guest control messages waiting for ctrl rx buffers: at most
 * this many; more are dropped (stats.ctrl_dropped_full). */
#define VCON_CONSOLE_CTRL_PENDING_MAX (4u * VCON_CONSOLE_MAX_PORTS * 8u)
/* Default queue size (queue_size 0). */
#define VCON_CONSOLE_DEFAULT_QUEUE_SIZE 64u
enum vcon_console_ctrl_event {
    VCON_CONSOLE_DEVICE_READY = 0,
    VCON_CONSOLE_DEVICE_ADD = 1,
    VCON_CONSOLE_DEVICE_REMOVE = 2,
    VCON_CONSOLE_PORT_READY = 3,
    VCON_CONSOLE_CONSOLE_PORT = 4,
    VCON_CONSOLE_RESIZE = 5,
    VCON_CONSOLE_PORT_OPEN = 6,
    VCON_CONSOLE_PORT_NAME = 7,
};

/* Device configuration space offsets. */
#define VCON_CONSOLE_CFG_COLS 0u
#define VCON_CONSOLE_CFG_ROWS 2u
#define VCON_CONSOLE_CFG_MAX_NR_PORTS 4u
#define VCON_CONSOLE_CFG_EMERG_WR 8u
#define VCON_CONSOLE_CFG_SIZE 12u

/* Queue numbers: port 0 rx/tx 0/1, control rx/tx 2/3, port k 2k+2/2k+3. */
static inline unsigned vcon_console_rx_queue(unsigned port)
{
    return port == 0 ? 0u : 2u * port + 2u;
}
static inline unsigned vcon_console_tx_queue(unsigned port)
{
    return port == 0 ? 1u : 2u * port + 3u;
}
#define VCON_CONSOLE_CTRL_RX_QUEUE 2u
#define VCON_CONSOLE_CTRL_TX_QUEUE 3u
/* What queue `queue` carries, by the layout above; *port is the port of a
 * data queue (0 for the control queues). The one statement of the layout
 * that the device, the invariants and the fake guest driver all use. */
enum vcon_console_queue_role {
    VCON_CONSOLE_QUEUE_RX,      /* a port's receive queue (device to guest) */
    VCON_CONSOLE_QUEUE_TX,      /* a port's transmit queue (guest to device) */
    VCON_CONSOLE_QUEUE_CTRL_RX, /* control messages to the guest */
    VCON_CONSOLE_QUEUE_CTRL_TX, /* control messages from the guest */
};
static inline enum vcon_console_queue_role vcon_console_queue_role(unsigned queue, unsigned *port)
{
    *port = 0;
    if (queue == VCON_CONSOLE_CTRL_RX_QUEUE)
        return VCON_CONSOLE_QUEUE_CTRL_RX;
    if (queue == VCON_CONSOLE_CTRL_TX_QUEUE)
        return VCON_CONSOLE_QUEUE_CTRL_TX;
    if (queue > 1u)
        *port = (queue - 2u) / 2u;
    return queue % 2u == 0 ? VCON_CONSOLE_QUEUE_RX : VCON_CONSOLE_QUEUE_TX;
}

struct vcon_console_port_config {
    bool present;   /* plugged at creation (others can be hot-plugged) */
    bool is_console; /* '@' in the option syntax */
    char name[VCON_CONSOLE_NAME_MAX];
};

struct vcon_console_config {
    unsigned max_ports;      /* 1..16: max_nr_ports, and how many queue pairs */
    uint16_t queue_size;     /* power of two; 0 means 64 */
    uint16_t cols, rows;     /* initial console size */
    bool no_multiport;       /* do not offer F_MULTIPORT */
    unsigned intx_line;
    struct vcon_console_port_config port[VCON_CONSOLE_MAX_PORTS];
};

/* Parse the device model's option text (what follows "virtio-console,"):
 *   [@]stdio|tty|pty|file:NAME[=PATH][,...]  and  [@]socket:NAME=PATH[:server|client]
 * into a configuration (ports numbered in order, all present) and one backend
 * per port. Returns 0, or -EINVAL with a one-line reason in err; on error
 * *config and backends[] are left untouched. On success the whole *config is
 * written (ACRN's defaults: max_ports 16, queue_size 64, 80x25, intx_line 0)
 * and backends[] past the last port are zeroed. docs/console.md. */
int vcon_console_parse_options(const char *text, struct vcon_console_config *config,
                               struct vcon_backend_spec backends[VCON_CONSOLE_MAX_PORTS],
                               char *err, size_t errlen);

struct vcon_console_port_state {
    bool present, is_console;
    bool guest_ready; /* PORT_READY(1) received */
    bool guest_open;  /* PORT_OPEN from the guest */
    bool host_open;   /* backend connected, as told to the guest */
    bool tx_held;     /* a guest tx chain waits for the backend to take it */
    uint64_t to_guest_bytes, from_guest_bytes;
};

struct vcon_console_stats {
    uint64_t ctrl_in, ctrl_out;     /* well-formed control messages received / sent */
    uint64_t ctrl_malformed;        /* guest messages: short, unknown event, id out of
                                     * range, absent port, device-only event, chain
                                     * with writable parts */
    uint64_t ctrl_dropped_full;     /* device messages dropped because
                                     * VCON_CONSOLE_CTRL_PENDING_MAX were already
                                     * waiting for ctrl rx buffers */
    uint64_t ctrl_bad_buffers;      /* ctrl rx buffers returned unused (used length
                                     * 0): under 8 bytes, readable parts, or outside
                                     * guest RAM; the message waits for the next one */
    uint64_t ctrl_truncated;        /* PORT_NAME messages cut to fit a buffer */
    uint64_t emerg_bytes;           /* emergency writes port 0's backend took */
    uint64_t emerg_dropped;         /* emergency writes it refused (would block,
                                     * closed) */
    uint64_t config_ignored_writes; /* writes to read-only configuration fields */
    uint64_t ignored_kicks;         /* kicks of queues with no function in the
                                     * negotiated mode or of absent ports */
    uint64_t rx_bytes, tx_bytes;    /* all ports, to / from the guest */
    uint64_t rx_lost_bytes;         /* read from a backend, refused by guest RAM */
    uint64_t tx_dropped_bytes;      /* from the guest, dropped: backend closed or
                                     * port removed */
    uint64_t data_malformed;        /* data chains without the right direction,
                                     * empty, or outside guest RAM */
};

struct vcon_console;

int vcon_console_create(const struct vcon_console_config *config, const struct vcon_host *host,
                        struct vcon_console **out);
void vcon_console_destroy(struct vcon_console *console);
/* The PCI function the guest sees; map its config space and BARs. */
struct vcon_virtio_pci *vcon_console_transport(struct vcon_console *console);

/* Host events. */
void vcon_console_backend_ready(struct vcon_console *console, unsigned port);
/* Backend connected (open) or gone: a PORT_OPEN message to the guest. */
void vcon_console_backend_open(struct vcon_console *console, unsigned port, bool open);
/* Hot-plug / unplug. Return 0, -EINVAL (bad port, name; removing port 0),
 * -EEXIST, -ENOENT, -ENOTSUP (port != 0 while multiport is impossible:
 * no_multiport, or the driver reached DRIVER_OK without MULTIPORT). */
int vcon_console_port_add(struct vcon_console *console, unsigned port, const char *name,
                          bool is_console);
int vcon_console_port_remove(struct vcon_console *console, unsigned port);
/* New size of a port: config space and a configuration interrupt (port 0),
 * and a RESIZE message for a console port (multiport). 0, -EINVAL, -ENOENT. */
int vcon_console_resize(struct vcon_console *console, unsigned port, uint16_t cols,
                        uint16_t rows);

void vcon_console_get_stats(const struct vcon_console *console, struct vcon_console_stats *out);
int vcon_console_get_port(const struct vcon_console *console, unsigned port,
                          struct vcon_console_port_state *out);
/* Control messages waiting for a guest buffer. */
unsigned vcon_console_pending_ctrl(const struct vcon_console *console);

#ifdef __cplusplus
}
#endif
#endif
