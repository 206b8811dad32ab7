/* The example adapter (dm_vcon.h): a struct vcon_host made of the device
 * model's VM, real backends wired in with vcon_backend_host, and the
 * backends' events turned into the devices' host events. */
#define _POSIX_C_SOURCE 200809L
#include "dm_vcon.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vcon/backend.h"
#include "vcon/backend_host.h"
#include "vcon/console.h"
#include "vcon/dm_options.h"
#include "vcon/uart.h"

#define MAX_PORTS VCON_CONSOLE_MAX_PORTS
#define RETRY_NS 100000000u /* socket clients look for their server every 100 ms */

/* struct vcon_timer is the host's to define: a device arms it with an
 * absolute deadline on the host's clock. */
struct vcon_timer {
    vcon_timer_fn *fire;
    void *device;
    uint64_t deadline;
    bool armed;
    struct vcon_timer *next;
};

struct dm_vcon_io {
    struct dm_vm *vm;
    /* The host the device is given: backend I/O to ports[], the rest to
     * `base`. Neither may move while the device lives. */
    struct vcon_backend_host bh;
    struct vcon_host base;
    struct vcon_backend *ports[MAX_PORTS];
    unsigned nr_ports;
    /* Which port each descriptor of the last poll_fds belongs to. */
    unsigned fd_port[MAX_PORTS * VCON_BACKEND_MAX_FDS];
    struct vcon_timer *timers;
    uint64_t next_retry;
    /* The device's answers to its backends' events. */
    void (*ready)(struct dm_vcon_io *io, unsigned port);
    void (*open)(struct dm_vcon_io *io, unsigned port, bool open);
    /* INTx / IRQ of the device. */
    void (*irq)(struct dm_vcon_io *io, unsigned line, int level);
};

struct dm_vcon_console {
    struct dm_vcon_io io; /* first: the io callbacks cast back */
    struct vcon_console *console;
    struct vcon_virtio_pci *pci;
};

struct dm_vcon_uart {
    struct dm_vcon_io io;
    struct vcon_uart *uart;
    dm_uart_intr_fn *intr_assert, *intr_deassert;
    void *intr_arg;
};

/* ---- the base host: guest memory, interrupts, clock, timers, log --------- */

static bool in_ram(const struct dm_vm *vm, uint64_t gpa, size_t len)
{
    return gpa <= vm->ram_size && len <= vm->ram_size - gpa;
}

static int host_mem_read(void *ctx, uint64_t gpa, void *buf, size_t len)
{
    struct dm_vcon_io *io = ctx;
    if (!in_ram(io->vm, gpa, len))
        return -EFAULT;
    memcpy(buf, io->vm->ram + gpa, len);
    return 0;
}

static int host_mem_write(void *ctx, uint64_t gpa, const void *buf, size_t len)
{
    struct dm_vcon_io *io = ctx;
    if (!in_ram(io->vm, gpa, len))
        return -EFAULT;
    memcpy(io->vm->ram + gpa, buf, len);
    return 0;
}

static void host_irq_set_level(void *ctx, unsigned line, int level)
{
    struct dm_vcon_io *io = ctx;
    io->irq(io, line, level);
}

static void host_msi_send(void *ctx, uint64_t address, uint32_t data)
{
    struct dm_vcon_io *io = ctx;
    io->vm->send_msi(io->vm->arg, address, data);
}

static uint64_t host_now_ns(void *ctx)
{
    struct dm_vcon_io *io = ctx;
    return io->vm->now_ns(io->vm->arg);
}

static struct vcon_timer *host_timer_create(void *ctx, vcon_timer_fn *fire, void *device)
{
    struct dm_vcon_io *io = ctx;
    struct vcon_timer *t = calloc(1, sizeof(*t));
    if (t == NULL)
        return NULL;
    t->fire = fire;
    t->device = device;
    t->next = io->timers;
    io->timers = t;
    return t;
}

static void host_timer_arm(void *ctx, struct vcon_timer *t, uint64_t deadline_ns)
{
    (void)ctx;
    t->deadline = deadline_ns;
    t->armed = true;
}

static void host_timer_disarm(void *ctx, struct vcon_timer *t)
{
    (void)ctx;
    t->armed = false;
}

static void host_timer_destroy(void *ctx, struct vcon_timer *t)
{
    struct dm_vcon_io *io = ctx;
    for (struct vcon_timer **p = &io->timers; *p != NULL; p = &(*p)->next) {
        if (*p == t) {
            *p = t->next;
            free(t);
            return;
        }
    }
}

static void host_log(void *ctx, enum vcon_log_level level, const char *message)
{
    static const char *const names[] = {"error", "warning", "info", "debug"};
    (void)ctx;
    fprintf(stderr, "vcon %s: %s\n", names[level & 3u], message);
}

/* Makes io->bh.host: what the device is created with. */
static int io_init(struct dm_vcon_io *io, struct dm_vm *vm)
{
    io->vm = vm;
    io->base = (struct vcon_host){
        .ctx = io,
        .mem_read = host_mem_read,
        .mem_write = host_mem_write,
        .irq_set_level = host_irq_set_level,
        .msi_send = host_msi_send,
        .now_ns = host_now_ns,
        .timer_create = host_timer_create,
        .timer_arm = host_timer_arm,
        .timer_disarm = host_timer_disarm,
        .timer_destroy = host_timer_destroy,
        .log = host_log,
        /* backend_read / backend_write: vcon_backend_host provides them. */
    };
    return vcon_backend_host_init(&io->bh, &io->base, io->ports, MAX_PORTS);
}

static int io_open_port(struct dm_vcon_io *io, unsigned port, const struct vcon_backend_spec *spec,
                        char *err, size_t errlen)
{
    const int rc = vcon_backend_open(spec, NULL, &io->ports[port], err, errlen);
    if (rc == 0 && port >= io->nr_ports)
        io->nr_ports = port + 1u;
    return rc;
}

static void io_close(struct dm_vcon_io *io)
{
    for (unsigned p = 0; p < MAX_PORTS; p++) {
        vcon_backend_close(io->ports[p]);
        io->ports[p] = NULL;
    }
    while (io->timers != NULL) {
        struct vcon_timer *next = io->timers->next;
        free(io->timers);
        io->timers = next;
    }
}

/* ---- the event loop -------------------------------------------------------- */

/* A backend's report, as the device's host events. A peer that left before
 * another came is closed first. */
static void io_events(struct dm_vcon_io *io, unsigned port, unsigned ev)
{
    if (ev & VCON_BACKEND_EV_DISCONNECTED)
        io->open(io, port, false);
    if (ev & VCON_BACKEND_EV_CONNECTED)
        io->open(io, port, true);
    if (ev & (VCON_BACKEND_EV_READABLE | VCON_BACKEND_EV_WRITABLE | VCON_BACKEND_EV_CONNECTED))
        io->ready(io, port);
}

unsigned dm_vcon_io_poll_fds(struct dm_vcon_io *io, struct pollfd *fds, unsigned max)
{
    unsigned n = 0;
    for (unsigned p = 0; p < io->nr_ports; p++) {
        struct pollfd mine[VCON_BACKEND_MAX_FDS];
        const int got = io->ports[p] != NULL
                            ? vcon_backend_poll_fds(io->ports[p], mine, VCON_BACKEND_MAX_FDS)
                            : 0;
        for (int k = 0; k < got && n < max; k++) {
            io->fd_port[n] = p;
            fds[n++] = mine[k];
        }
    }
    return n;
}

void dm_vcon_io_dispatch(struct dm_vcon_io *io, const struct pollfd *fds, unsigned n)
{
    for (unsigned i = 0; i < n && i < MAX_PORTS * VCON_BACKEND_MAX_FDS; i++) {
        if (fds[i].revents == 0)
            continue;
        const unsigned p = io->fd_port[i];
        io_events(io, p, vcon_backend_handle(io->ports[p], fds[i].fd, (unsigned)fds[i].revents));
    }
}

uint64_t dm_vcon_io_tick(struct dm_vcon_io *io)
{
    const uint64_t now = io->vm->now_ns(io->vm->arg);
    uint64_t next = UINT64_MAX;
    bool retry = now >= io->next_retry;

    /* Timers: each due one fires once; a device may re-arm it. */
    for (struct vcon_timer *t = io->timers, *after; t != NULL; t = after) {
        after = t->next;
        if (t->armed && t->deadline <= now) {
            t->armed = false;
            t->fire(t->device);
        }
    }
    for (struct vcon_timer *t = io->timers; t != NULL; t = t->next)
        if (t->armed && t->deadline < next)
            next = t->deadline;
    for (unsigned p = 0; p < io->nr_ports; p++) {
        struct vcon_backend_info info;
        if (io->ports[p] == NULL)
            continue;
        vcon_backend_get_info(io->ports[p], &info);
        if (info.retry_wanted && !retry) {
            if (io->next_retry < next)
                next = io->next_retry;
            continue;
        }
        io_events(io, p, vcon_backend_poll(io->ports[p]));
    }
    if (retry)
        io->next_retry = now + RETRY_NS;
    return next;
}

/* ---- virtio-console ---------------------------------------------------------- */

static void console_ready(struct dm_vcon_io *io, unsigned port)
{
    vcon_console_backend_ready(((struct dm_vcon_console *)io)->console, port);
}

static void console_open(struct dm_vcon_io *io, unsigned port, bool open)
{
    vcon_console_backend_open(((struct dm_vcon_console *)io)->console, port, open);
}

static void console_irq(struct dm_vcon_io *io, unsigned line, int level)
{
    io->vm->set_irq(io->vm->arg, line, level);
}

int dm_vcon_console_init(struct dm_vm *vm, unsigned intx_gsi, const char *opts,
                         struct dm_vcon_console **out, char *err, size_t errlen)
{
    struct vcon_console_config config;
    struct vcon_backend_spec specs[VCON_CONSOLE_MAX_PORTS];
    struct dm_vcon_console *c;
    int rc = vcon_console_parse_options(opts, &config, specs, err, errlen);
    *out = NULL;
    if (rc != 0)
        return rc;
    config.intx_line = intx_gsi;
    c = calloc(1, sizeof(*c));
    if (c == NULL)
        return -ENOMEM;
    c->io.ready = console_ready;
    c->io.open = console_open;
    c->io.irq = console_irq;
    rc = io_init(&c->io, vm);
    for (unsigned p = 0; rc == 0 && p < config.max_ports; p++)
        if (config.port[p].present)
            rc = io_open_port(&c->io, p, &specs[p], err, errlen);
    if (rc == 0) {
        rc = vcon_console_create(&config, &c->io.bh.host, &c->console);
        if (rc != 0)
            snprintf(err, errlen, "virtio-console: the device refused its configuration");
    }
    if (rc != 0) {
        io_close(&c->io);
        free(c);
        return rc;
    }
    c->pci = vcon_console_transport(c->console);
    /* The first report of each backend: a server without a client says
     * DISCONNECTED, which the device's "host side open" start needs. */
    for (unsigned p = 0; p < c->io.nr_ports; p++)
        if (c->io.ports[p] != NULL)
            io_events(&c->io, p, vcon_backend_poll(c->io.ports[p]));
    *out = c;
    return 0;
}

void dm_vcon_console_deinit(struct dm_vcon_console *c)
{
    if (c == NULL)
        return;
    /* The device first: it uses the backends and timers until destroyed. */
    vcon_console_destroy(c->console);
    io_close(&c->io);
    free(c);
}

struct dm_vcon_io *dm_vcon_console_io(struct dm_vcon_console *c)
{
    return &c->io;
}

uint64_t dm_vcon_console_barread(struct dm_vcon_console *c, int baridx, uint64_t offset,
                                 int size)
{
    uint32_t value = 0;
    /* A refused access reads all ones; the transport fills that in. */
    (void)vcon_virtio_pci_bar_read(c->pci, (unsigned)baridx, offset, (unsigned)size, &value);
    return value;
}

void dm_vcon_console_barwrite(struct dm_vcon_console *c, int baridx, uint64_t offset, int size,
                              uint64_t value)
{
    (void)vcon_virtio_pci_bar_write(c->pci, (unsigned)baridx, offset, (unsigned)size,
                                    (uint32_t)value);
}

int dm_vcon_console_cfgread(struct dm_vcon_console *c, int offset, int bytes, uint32_t *value)
{
    return vcon_virtio_pci_config_read(c->pci, (unsigned)offset, (unsigned)bytes, value);
}

int dm_vcon_console_cfgwrite(struct dm_vcon_console *c, int offset, int bytes, uint32_t value)
{
    return vcon_virtio_pci_config_write(c->pci, (unsigned)offset, (unsigned)bytes, value);
}

/* ---- 16550 COM port ------------------------------------------------------------ */

static void uart_ready(struct dm_vcon_io *io, unsigned port)
{
    (void)port;
    vcon_uart_backend_ready(((struct dm_vcon_uart *)io)->uart);
}

static void uart_open(struct dm_vcon_io *io, unsigned port, bool open)
{
    /* A UART has no notion of a peer: nothing to tell the guest. */
    (void)io;
    (void)port;
    (void)open;
}

static void uart_irq(struct dm_vcon_io *io, unsigned line, int level)
{
    struct dm_vcon_uart *u = (struct dm_vcon_uart *)io;
    (void)line;
    if (level)
        u->intr_assert(u->intr_arg);
    else
        u->intr_deassert(u->intr_arg);
}

int dm_vcon_uart_init(struct dm_vm *vm, dm_uart_intr_fn *intr_assert,
                      dm_uart_intr_fn *intr_deassert, void *arg, const char *backend,
                      struct dm_vcon_uart **out, char *err, size_t errlen)
{
    /* ACRN's COM ports: the device-model data path, level interrupts. */
    const struct vcon_uart_config config = {
        .flavour = VCON_UART_FLAVOUR_DM,
        .profile = VCON_UART_PROFILE_16550A,
        .irq_mode = VCON_UART_IRQ_LEVEL,
    };
    struct vcon_backend_spec spec;
    struct dm_vcon_uart *u;
    int rc = vcon_dm_parse_uart_backend(backend, &spec, err, errlen);
    *out = NULL;
    if (rc != 0)
        return rc;
    u = calloc(1, sizeof(*u));
    if (u == NULL)
        return -ENOMEM;
    u->intr_assert = intr_assert;
    u->intr_deassert = intr_deassert;
    u->intr_arg = arg;
    u->io.ready = uart_ready;
    u->io.open = uart_open;
    u->io.irq = uart_irq;
    rc = io_init(&u->io, vm);
    if (rc == 0)
        rc = io_open_port(&u->io, 0, &spec, err, errlen);
    if (rc == 0)
        rc = vcon_uart_create(&config, &u->io.bh.host, &u->uart);
    if (rc != 0) {
        io_close(&u->io);
        free(u);
        return rc;
    }
    io_events(&u->io, 0, vcon_backend_poll(u->io.ports[0]));
    *out = u;
    return 0;
}

void dm_vcon_uart_deinit(struct dm_vcon_uart *u)
{
    if (u == NULL)
        return;
    vcon_uart_destroy(u->uart);
    io_close(&u->io);
    free(u);
}

struct dm_vcon_io *dm_vcon_uart_io(struct dm_vcon_uart *u)
{
    return &u->io;
}

uint8_t dm_vcon_uart_read(struct dm_vcon_uart *u, int offset)
{
    uint32_t value = 0xFF;
    (void)vcon_uart_read(u->uart, (unsigned)offset, 1, &value);
    return (uint8_t)value;
}

void dm_vcon_uart_write(struct dm_vcon_uart *u, int offset, uint8_t value)
{
    (void)vcon_uart_write(u->uart, (unsigned)offset, 1, value);
}
