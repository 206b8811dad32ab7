/* The virtio-console's public entry points: creation, the transport's
 * callbacks (queue kicks, status, reset) and the host's events. Every entry
 * that may have queued control messages ends with console_ctrl_flush(), so a
 * message never waits while the guest has a buffer for it. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "log_budget.h"
#include "console_internal.h"

#define PCI_CLASS_SIMPLECOMM 0x07u
#define PCI_SUBCLASS_SIMPLECOMM_OTHER 0x80u

void console_log(struct vcon_console *c, enum vcon_log_level level, const char *message)
{
    vcon_log_limited(&c->host, &c->log_budget, level, message);
}

bool console_multiport(const struct vcon_console *c)
{
    return (c->features & (1u << VCON_CONSOLE_F_MULTIPORT)) != 0;
}

bool console_driver_ok(const struct vcon_console *c)
{
    return (c->status & VCON_VIRTIO_STATUS_DRIVER_OK) != 0;
}

struct vcon_virtq *console_queue(struct vcon_console *c, unsigned index)
{
    struct vcon_virtq *vq;
    if (c->transport == NULL || !console_driver_ok(c) ||
        index >= CONSOLE_NR_QUEUES(c->config.max_ports))
        return NULL;
    vq = vcon_virtio_pci_queue(c->transport, index);
    if (vq == NULL || !vcon_virtq_ready(vq))
        return NULL;
    return vq;
}

bool console_pop(struct vcon_virtq *vq, struct vcon_virtq_chain *chain, bool *pushed)
{
    for (;;) {
        enum vcon_virtq_pop_result r = vcon_virtq_pop(vq, chain);
        if (r == VCON_VIRTQ_CHAIN)
            return true;
        if (r == VCON_VIRTQ_MALFORMED) {
            *pushed = true; /* the engine returned it to the used ring */
            continue;
        }
        if (r == VCON_VIRTQ_BROKEN)
            return false;
        /* The engine does not move avail_event as it pops: ask for kicks
         * again before going idle, then look once more, or a driver using
         * EVENT_IDX would never kick again. */
        vcon_virtq_set_kicks_wanted(vq, true);
        if (!vcon_virtq_has_work(vq))
            return false;
    }
}

bool console_refuse_chain(struct vcon_console *c, struct vcon_virtq *vq,
                          const struct vcon_virtq_chain *chain, uint64_t *counter,
                          const char *message, bool *pushed)
{
    (*counter)++;
    console_log(c, VCON_LOG_WARN, message);
    *pushed = true;
    return vcon_virtq_push(vq, chain->head, 0) == 0;
}

/* Everything the device may have to do: used after DRIVER_OK, when kicks
 * that came before it were deferred. */
static void run_all(struct vcon_console *c)
{
    if (console_multiport(c)) {
        console_ctrl_receive(c);
        for (unsigned p = 0; p < c->config.max_ports; p++) {
            console_port_tx(c, p);
            console_port_rx(c, p);
        }
    } else {
        console_port_tx(c, 0);
        console_port_rx(c, 0);
    }
    console_ctrl_flush(c);
}

/* ---- transport callbacks ------------------------------------------------ */

static void console_queue_notify(void *device, unsigned index)
{
    struct vcon_console *c = device;
    unsigned port;

    if (!console_driver_ok(c))
        return; /* deferred: DRIVER_OK runs every queue */
    const enum vcon_console_queue_role role = vcon_console_queue_role(index, &port);
    if (index > 1u && !console_multiport(c)) {
        c->stats.ignored_kicks++;
        console_log(c, VCON_LOG_WARN, "virtio-console: kick of a multiport queue ignored");
        return;
    }
    if (role == VCON_CONSOLE_QUEUE_CTRL_RX) {
        console_ctrl_flush(c);
        return;
    }
    if (role == VCON_CONSOLE_QUEUE_CTRL_TX) {
        console_ctrl_receive(c);
        console_ctrl_flush(c);
        return;
    }
    if (port >= c->config.max_ports || !c->port[port].present) {
        c->stats.ignored_kicks++;
        console_log(c, VCON_LOG_WARN, "virtio-console: kick of an absent port's queue ignored");
        return;
    }
    if (role == VCON_CONSOLE_QUEUE_RX)
        console_port_rx(c, port);
    else
        console_port_tx(c, port);
    console_ctrl_flush(c);
}

static void console_status_changed(void *device, uint8_t old_status, uint8_t new_status)
{
    struct vcon_console *c = device;
    bool was_ok = console_driver_ok(c);
    (void)old_status; /* our own copy: the transport may update it later */
    c->status = new_status;
    if (!was_ok && console_driver_ok(c))
        run_all(c);
}

static void console_queue_changed(void *device, unsigned index)
{
    struct vcon_console *c = device;
    unsigned port;
    if (vcon_console_queue_role(index, &port) == VCON_CONSOLE_QUEUE_TX && port < c->config.max_ports)
        console_port_forget_tx(c, port);
}

static void console_reset(void *device)
{
    struct vcon_console *c = device;
    c->status = 0;
    c->features = 0;
    c->device_ready = false;
    for (unsigned p = 0; p < VCON_CONSOLE_MAX_PORTS; p++) {
        struct console_port *port = &c->port[p];
        port->guest_ready = false;
        port->guest_open = false;
        /* The transport resets the rings: a held chain is simply forgotten. */
        port->tx_held = false;
        port->tx_offset = 0;
    }
    console_ctrl_clear(c);
}

static const struct vcon_virtio_device_ops console_ops = {
    .queue_changed = console_queue_changed,
    .host_features = console_host_features,
    .set_features = console_set_features,
    .config_read = console_config_read,
    .config_write = console_config_write,
    .config_size = console_config_size,
    .queue_notify = console_queue_notify,
    .status_changed = console_status_changed,
    .reset = console_reset,
};

/* ---- creation ----------------------------------------------------------- */

static bool name_valid(const char *name)
{
    return memchr(name, '\0', VCON_CONSOLE_NAME_MAX) != NULL;
}

/* A non-empty name used by another present port. */
static bool name_taken(const struct console_port *ports, unsigned nr, unsigned except,
                       const char *name)
{
    if (name[0] == '\0')
        return false;
    for (unsigned p = 0; p < nr; p++)
        if (p != except && ports[p].present && strcmp(ports[p].name, name) == 0)
            return true;
    return false;
}

static int check_config(const struct vcon_console_config *config, const struct vcon_host *host)
{
    unsigned qsize;
    /* msi_send: the transport needs it; checked here so that a bad host
     * is refused before anything is allocated. */
    if (!config || !host || !host->mem_read || !host->mem_write || !host->irq_set_level ||
        !host->msi_send || !host->backend_read || !host->backend_write)
        return -EINVAL;
    if (config->max_ports < 1 || config->max_ports > VCON_CONSOLE_MAX_PORTS)
        return -EINVAL;
    qsize = config->queue_size ? config->queue_size : VCON_CONSOLE_DEFAULT_QUEUE_SIZE;
    if ((qsize & (qsize - 1)) != 0 || qsize > VCON_VIRTQ_MAX_SIZE)
        return -EINVAL;
    if (!config->port[0].present)
        return -EINVAL;
    for (unsigned p = 0; p < VCON_CONSOLE_MAX_PORTS; p++) {
        const struct vcon_console_port_config *pc = &config->port[p];
        if (!pc->present)
            continue;
        if (p >= config->max_ports || !name_valid(pc->name))
            return -EINVAL;
        for (unsigned q = 0; q < p; q++)
            if (config->port[q].present && pc->name[0] != '\0' &&
                strcmp(config->port[q].name, pc->name) == 0)
                return -EINVAL;
    }
    return 0;
}

int vcon_console_create(const struct vcon_console_config *config, const struct vcon_host *host,
                        struct vcon_console **out)
{
    struct vcon_virtio_pci_config pci;
    struct vcon_console *c;
    int err = check_config(config, host);
    if (err)
        return err;
    if (!out)
        return -EINVAL;
    c = calloc(1, sizeof(*c));
    if (!c)
        return -ENOMEM;
    c->held = calloc(config->max_ports, sizeof(*c->held));
    if (!c->held) {
        free(c);
        return -ENOMEM;
    }
    c->host = *host;
    c->config = *config;
    if (c->config.queue_size == 0)
        c->config.queue_size = VCON_CONSOLE_DEFAULT_QUEUE_SIZE;
    c->cols = config->cols;
    c->rows = config->rows;
    for (unsigned p = 0; p < config->max_ports; p++) {
        const struct vcon_console_port_config *pc = &config->port[p];
        if (!pc->present)
            continue;
        c->port[p].present = true;
        c->port[p].is_console = pc->is_console;
        c->port[p].host_open = true;
        memcpy(c->port[p].name, pc->name, sizeof(c->port[p].name));
    }

    memset(&pci, 0, sizeof(pci));
    pci.device_id = VCON_CONSOLE_PCI_DEVICE_ID;
    pci.subsystem_id = VCON_CONSOLE_VIRTIO_ID;
    pci.class_code = PCI_CLASS_SIMPLECOMM;
    pci.subclass = PCI_SUBCLASS_SIMPLECOMM_OTHER;
    pci.prog_if = 0;
    pci.nr_queues = config->no_multiport ? 2u : CONSOLE_NR_QUEUES(config->max_ports);
    pci.queue_size = c->config.queue_size;
    pci.intx_line = config->intx_line;
    err = vcon_virtio_pci_create(&pci, host, &console_ops, c, &c->transport);
    if (err) {
        free(c->held);
        free(c);
        return err;
    }
    *out = c;
    return 0;
}

void vcon_console_destroy(struct vcon_console *console)
{
    if (!console)
        return;
    vcon_virtio_pci_destroy(console->transport);
    free(console->held);
    free(console);
}

struct vcon_virtio_pci *vcon_console_transport(struct vcon_console *console)
{
    return console->transport;
}

/* ---- host events -------------------------------------------------------- */

static bool port_exists(const struct vcon_console *c, unsigned port)
{
    return port < c->config.max_ports && c->port[port].present;
}

void vcon_console_backend_ready(struct vcon_console *console, unsigned port)
{
    if (!port_exists(console, port))
        return;
    console_port_tx(console, port);
    console_port_rx(console, port);
    console_ctrl_flush(console);
}

void vcon_console_backend_open(struct vcon_console *console, unsigned port, bool open)
{
    if (!port_exists(console, port))
        return;
    if (console->port[port].host_open != open)
        console_ctrl_host_open(console, port, open);
    if (open) {
        console_port_tx(console, port);
        console_port_rx(console, port);
    }
    console_ctrl_flush(console);
}

/* Ports other than 0 can exist only if the guest can learn about them. */
static bool multiport_impossible(const struct vcon_console *c)
{
    return c->config.no_multiport || (console_driver_ok(c) && !console_multiport(c));
}

int vcon_console_port_add(struct vcon_console *console, unsigned port, const char *name,
                          bool is_console)
{
    struct console_port *p;
    if (port >= console->config.max_ports)
        return -EINVAL;
    if (name == NULL)
        name = "";
    if (memchr(name, '\0', VCON_CONSOLE_NAME_MAX) == NULL)
        return -EINVAL;
    if (console->port[port].present)
        return -EEXIST;
    if (port != 0 && multiport_impossible(console))
        return -ENOTSUP;
    if (name_taken(console->port, console->config.max_ports, port, name))
        return -EINVAL;
    p = &console->port[port];
    memset(p, 0, sizeof(*p));
    p->present = true;
    p->is_console = is_console;
    p->host_open = true;
    memcpy(p->name, name, strlen(name) + 1);
    if (console_multiport(console) && console->device_ready) {
        console_ctrl_enqueue(console, port, VCON_CONSOLE_DEVICE_ADD, 1, NULL, 0);
        console_ctrl_flush(console);
    }
    return 0;
}

int vcon_console_port_remove(struct vcon_console *console, unsigned port)
{
    if (port >= console->config.max_ports || port == 0)
        return -EINVAL;
    if (!console->port[port].present)
        return -ENOENT;
    if (multiport_impossible(console))
        return -ENOTSUP;
    console_port_release_tx(console, port);
    if (console_multiport(console) && console->device_ready)
        console_ctrl_enqueue(console, port, VCON_CONSOLE_DEVICE_REMOVE, 1, NULL, 0);
    memset(&console->port[port], 0, sizeof(console->port[port]));
    console_ctrl_flush(console);
    return 0;
}

int vcon_console_resize(struct vcon_console *console, unsigned port, uint16_t cols,
                        uint16_t rows)
{
    struct console_port *p;
    if (port >= console->config.max_ports)
        return -EINVAL;
    p = &console->port[port];
    if (!p->present)
        return -ENOENT;
    p->size_set = true;
    p->cols = cols;
    p->rows = rows;
    if (port == 0) {
        console->cols = cols;
        console->rows = rows;
        if (console_driver_ok(console))
            vcon_virtio_pci_notify_config(console->transport);
    }
    console_ctrl_resize(console, port);
    console_ctrl_flush(console);
    return 0;
}

/* ---- inspection --------------------------------------------------------- */

void vcon_console_get_stats(const struct vcon_console *console, struct vcon_console_stats *out)
{
    *out = console->stats;
}

int vcon_console_get_port(const struct vcon_console *console, unsigned port,
                          struct vcon_console_port_state *out)
{
    const struct console_port *p;
    if (port >= console->config.max_ports || out == NULL)
        return -EINVAL;
    p = &console->port[port];
    *out = (struct vcon_console_port_state){
        .present = p->present,
        .is_console = p->is_console,
        .guest_ready = p->guest_ready,
        .guest_open = p->guest_open,
        .host_open = p->host_open,
        .tx_held = p->tx_held,
        .to_guest_bytes = p->to_guest_bytes,
        .from_guest_bytes = p->from_guest_bytes,
    };
    return 0;
}

unsigned vcon_console_pending_ctrl(const struct vcon_console *console)
{
    return console->ctrl_count;
}
