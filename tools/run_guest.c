/* vcon-run's guest side: the fake guest's drivers (Linux-like 8250 and
 * virtio-console), taking their interrupts, opening the ports they find, and
 * moving each port's bytes between the drivers and the script: what the
 * guest receives goes to the expect window and, with echo, back out. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "run.h"

#define GUEST_BAUD 115200u
#define GUEST_HEAP_BASE 0x10000u
#define IO_CHUNK 4096u
/* Echo stops taking received bytes while this many wait to go back out:
 * back-pressure reaches the device, then the peer. */
#define ECHO_BACKLOG_MAX (256u * 1024u)
/* Received bytes kept for expect commands not yet matched. */
#define WINDOW_MAX (64u * 1024u * 1024u)
#define STEP_ROUNDS 16u

/* ---- byte FIFO ------------------------------------------------------------ */

int run_bytes_push(struct run_bytes *b, const void *src, size_t n)
{
    if (n == 0)
        return 0;
    if (b->head > 0 && b->head + b->len + n > b->cap) {
        memmove(b->data, b->data + b->head, b->len);
        b->head = 0;
    }
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 4096u;
        while (cap < b->len + n)
            cap *= 2u;
        uint8_t *grown = realloc(b->data, cap);
        if (grown == NULL)
            return -ENOMEM;
        b->data = grown;
        b->cap = cap;
    }
    memcpy(b->data + b->head + b->len, src, n);
    b->len += n;
    return 0;
}

void run_bytes_drop(struct run_bytes *b, size_t n)
{
    if (n >= b->len) {
        b->head = 0;
        b->len = 0;
        return;
    }
    b->head += n;
    b->len -= n;
}

void run_bytes_free(struct run_bytes *b)
{
    free(b->data);
    memset(b, 0, sizeof(*b));
}

/* ---- bring-up -------------------------------------------------------------- */

static unsigned count_consoles(const struct run *r)
{
    unsigned n = 0;
    for (unsigned i = 0; i < r->nr_devices; i++)
        n += r->dev[i].info.kind == VCON_RIG_CONSOLE;
    return n;
}

static int start_uart(struct run *r, struct run_device *d)
{
    d->uart = calloc(1, sizeof(*d->uart));
    if (d->uart == NULL)
        return -ENOMEM;
    int rc = vcon_guest_uart_probe(d->uart, r->vm, d->info.io_base, d->info.irq_line);
    if (rc == 0)
        rc = vcon_guest_uart_set_baud(d->uart, GUEST_BAUD);
    if (rc != 0)
        run_error("the fake guest's 8250 driver cannot use the UART at 0x%x: %s",
                  d->info.io_base, strerror(-rc));
    return rc;
}

static int start_console(struct run *r, struct run_device *d, unsigned nth, unsigned n)
{
    struct vcon_guest_console_options o;
    const uint64_t ram = vcon_vm_ram_size(r->vm);
    const uint64_t slice = ((ram - GUEST_HEAP_BASE) / n) & ~(uint64_t)0xFFF;

    vcon_guest_console_default_options(&o);
    o.bus = d->info.pci_bus;
    o.io_base = d->info.io_base;
    o.mmio_base = d->info.mmio_base;
    o.intx_line = d->info.irq_line;
    o.heap_base = GUEST_HEAP_BASE + slice * nth;
    o.heap_size = slice;
    int rc = vcon_guest_console_create(r->vm, &o, &d->console);
    if (rc == 0)
        rc = vcon_guest_console_probe(d->console);
    if (rc != 0)
        run_error("the fake guest's virtio-console driver cannot start the device at %u:%u:%u: "
                  "%s",
                  d->info.pci_bus, d->info.pci_slot, d->info.pci_func, strerror(-rc));
    return rc;
}

int run_guest_start(struct run *r)
{
    const unsigned consoles = count_consoles(r);
    unsigned nth = 0;
    for (unsigned i = 0; i < r->nr_devices; i++) {
        struct run_device *d = &r->dev[i];
        const int rc = d->info.kind == VCON_RIG_UART ? start_uart(r, d)
                                                      : start_console(r, d, nth++, consoles);
        if (rc != 0)
            return RUN_EXIT_FAILED;
    }
    return 0;
}

void run_guest_stop(struct run *r)
{
    for (unsigned i = 0; i < r->nr_devices; i++) {
        free(r->dev[i].uart);
        r->dev[i].uart = NULL;
        vcon_guest_console_destroy(r->dev[i].console);
        r->dev[i].console = NULL;
    }
    for (unsigned i = 0; i < r->nr_ports; i++) {
        run_bytes_free(&r->port[i].tx);
        run_bytes_free(&r->port[i].window);
    }
}

/* ---- data ------------------------------------------------------------------ */

static size_t guest_read(struct run *r, const struct run_port *p, void *buf, size_t len)
{
    struct run_device *d = &r->dev[p->device];
    if (d->uart != NULL)
        return vcon_guest_uart_read(d->uart, buf, len);
    if (d->console != NULL)
        return vcon_guest_console_read(d->console, p->port, buf, len);
    return 0;
}

static size_t guest_write(struct run *r, const struct run_port *p, const void *buf, size_t len)
{
    struct run_device *d = &r->dev[p->device];
    int n = 0;
    if (d->uart != NULL)
        n = vcon_guest_uart_write(d->uart, buf, len);
    else if (d->console != NULL)
        n = vcon_guest_console_write(d->console, p->port, buf, len);
    /* -EPIPE / -ENODEV: the port is not open (yet); try again later. */
    return n > 0 ? (size_t)n : 0;
}

static void keep_for_expect(struct run_port *p, const uint8_t *buf, size_t n)
{
    if (p->window.len + n > WINDOW_MAX) {
        run_bytes_drop(&p->window, p->window.len + n - WINDOW_MAX);
        p->window_cut = true;
    }
    if (run_bytes_push(&p->window, buf, n) != 0)
        p->window_cut = true;
}

static void port_receive(struct run *r, struct run_port *p)
{
    uint8_t buf[IO_CHUNK];
    for (;;) {
        size_t room = sizeof(buf);
        if (p->echo) {
            if (p->tx.len >= ECHO_BACKLOG_MAX)
                return;
            if (ECHO_BACKLOG_MAX - p->tx.len < room)
                room = ECHO_BACKLOG_MAX - p->tx.len;
        }
        const size_t n = guest_read(r, p, buf, room);
        if (n == 0)
            return;
        r->progress++;
        p->rx_total += n;
        if (p->expects_left > 0)
            keep_for_expect(p, buf, n);
        if (p->echo && run_bytes_push(&p->tx, buf, n) == 0)
            p->tx_queued += n;
    }
}

static void port_transmit(struct run *r, struct run_port *p)
{
    while (p->tx.len > 0) {
        const size_t n = guest_write(r, p, run_bytes_front(&p->tx), p->tx.len);
        if (n == 0)
            return;
        run_bytes_drop(&p->tx, n);
        p->tx_taken += n;
        r->progress++;
    }
}

/* An application in the guest opens every port the driver announces. An
 * opening is progress: the control message it sends gets an answer. */
static void open_ports(struct run *r, struct vcon_guest_console *c)
{
    const unsigned n = vcon_guest_console_nr_ports(c);
    for (unsigned port = 0; port < n; port++) {
        const struct vcon_guest_console_port *gp = vcon_guest_console_port(c, port);
        if (gp != NULL && gp->present && !gp->app_open && vcon_guest_console_open(c, port) == 0)
            r->progress++;
    }
}

static void service(struct run *r)
{
    for (unsigned i = 0; i < r->nr_devices; i++) {
        struct run_device *d = &r->dev[i];
        if (d->uart != NULL)
            (void)vcon_guest_uart_service(d->uart);
        if (d->console != NULL) {
            (void)vcon_guest_console_service(d->console);
            open_ports(r, d->console);
        }
    }
}

void run_guest_step(struct run *r)
{
    for (unsigned round = 0; round < STEP_ROUNDS; round++) {
        const uint64_t before = r->progress;
        service(r);
        for (unsigned i = 0; i < r->nr_ports; i++) {
            port_receive(r, &r->port[i]);
            port_transmit(r, &r->port[i]);
        }
        if (r->progress == before)
            return;
    }
}

/* ---- the end ---------------------------------------------------------------- */

/* Everything the script gave the guest to send has reached a peer: not in
 * the script's queue, the driver, the device or the backend. */
static bool port_drained(struct run *r, const struct run_port *p, char *why, size_t len)
{
    struct run_device *d = &r->dev[p->device];
    struct vcon_backend_info info;

    if (p->tx.len > 0) {
        snprintf(why, len, "port %s: %zu bytes the guest has not written yet%s", p->name,
                 p->tx.len, p->console ? " (is the port open in the guest?)" : "");
        return false;
    }
    if (d->uart != NULL) {
        struct vcon_uart_state state;
        vcon_uart_get_state(vcon_rig_uart(r->rig, p->device), &state);
        if (vcon_guest_uart_tx_pending(d->uart) > 0 || state.tx_count > 0) {
            snprintf(why, len, "port %s: bytes still in the guest driver or the UART", p->name);
            return false;
        }
    }
    if (d->console != NULL) {
        const struct vcon_guest_console_port *gp = vcon_guest_console_port(d->console, p->port);
        if (gp != NULL && gp->tx_inflight > 0) {
            snprintf(why, len, "port %s: %llu bytes in transmit buffers the device holds",
                     p->name, (unsigned long long)gp->tx_inflight);
            return false;
        }
    }
    vcon_backend_get_info(p->backend, &info);
    if (info.buffered > 0 && !info.output_closed) {
        snprintf(why, len, "port %s: %zu bytes held by the backend%s", p->name, info.buffered,
                 info.connected ? " (the peer does not read)" : " (no peer connected)");
        return false;
    }
    return true;
}

bool run_guest_drained(struct run *r, char *why, size_t len)
{
    for (unsigned i = 0; i < r->nr_ports; i++)
        if (!port_drained(r, &r->port[i], why, len))
            return false;
    return true;
}

/* ---- statistics ---------------------------------------------------------- */

static void print_port_stats(struct run *r, const struct run_port *p)
{
    struct vcon_backend_info info;
    unsigned long long device_in = 0, device_out = 0, dropped = 0;

    vcon_backend_get_info(p->backend, &info);
    if (p->console) {
        struct vcon_console_port_state st;
        if (vcon_console_get_port(vcon_rig_console(r->rig, p->device), p->port, &st) == 0) {
            device_in = st.to_guest_bytes;
            device_out = st.from_guest_bytes;
        }
    } else {
        struct vcon_uart_stats st;
        vcon_uart_get_stats(vcon_rig_uart(r->rig, p->device), &st);
        device_in = st.rx_bytes;
        device_out = st.tx_bytes;
        dropped = st.tx_dropped;
    }
    fprintf(stderr,
            "vcon-run: port %s: guest sent %llu received %llu; device to guest %llu from guest "
            "%llu dropped %llu; backend bytes_read %llu bytes_written %llu buffered %zu "
            "dropped %llu connects %llu disconnects %llu\n",
            p->name, (unsigned long long)p->tx_taken, (unsigned long long)p->rx_total, device_in,
            device_out, dropped, (unsigned long long)info.bytes_read,
            (unsigned long long)info.bytes_written, info.buffered,
            (unsigned long long)info.dropped_bytes, (unsigned long long)info.connects,
            (unsigned long long)info.disconnects);
}

void run_print_stats(struct run *r)
{
    for (unsigned i = 0; i < r->nr_devices; i++) {
        if (r->dev[i].info.kind != VCON_RIG_CONSOLE)
            continue;
        struct vcon_console_stats st;
        vcon_console_get_stats(vcon_rig_console(r->rig, i), &st);
        fprintf(stderr,
                "vcon-run: virtio-console %u: rx %llu tx %llu tx_dropped %llu rx_lost %llu "
                "malformed %llu\n",
                i, (unsigned long long)st.rx_bytes, (unsigned long long)st.tx_bytes,
                (unsigned long long)st.tx_dropped_bytes, (unsigned long long)st.rx_lost_bytes,
                (unsigned long long)(st.data_malformed + st.ctrl_malformed));
    }
    for (unsigned i = 0; i < r->nr_ports; i++)
        print_port_stats(r, &r->port[i]);
    fprintf(stderr, "vcon-run: virtual time %llu ns\n", (unsigned long long)vcon_vm_now(r->vm));
}
