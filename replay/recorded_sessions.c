/* Canonical guest sessions for recording (see vcon/recorded_sessions.h).
 * Every loop is bounded, so a device that stops answering ends the session
 * with incomplete counts rather than a hang. */
#define _POSIX_C_SOURCE 200809L
#include "vcon/recorded_sessions.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "guest/uart_driver.h"
#include "guest/virtio_console_driver.h"

#define ROUNDS 4000u
#define SETTLE_ROUNDS 256u
/* Longer than the 16550's character timeout at 115200 baud (4 character
 * times, about 350 us), short enough to keep traces small. */
#define SETTLE_NS 2000000u
#define UART_PIECES 4u
#define NEW_COLS 132u
#define NEW_ROWS 43u
#define HOT_PORT 2u

/* Bytes that are not periodic in anything a FIFO or a ring could hide. */
static void fill_pattern(uint8_t *buf, size_t len, uint32_t seed)
{
    uint32_t x = 2463534242u ^ (seed * 2654435761u);
    for (size_t i = 0; i < len; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        buf[i] = (uint8_t)x;
    }
}

static void mark(const struct vcon_session_options *o, const char *phase)
{
    if (o->rec != NULL)
        (void)vcon_recorder_mark(o->rec, phase);
}

/* A port's traffic: what goes out, what comes in, what arrived. */
struct stream {
    unsigned port;
    uint8_t *out, *in, *got;
    size_t out_len, in_len, out_sent, got_len;
};

static int stream_init(struct stream *s, unsigned port, size_t out_len, size_t in_len,
                       uint32_t seed)
{
    *s = (struct stream){.port = port, .out_len = out_len, .in_len = in_len};
    s->out = malloc(out_len + 1);
    s->in = malloc(in_len + 1);
    s->got = malloc(in_len + 1);
    if (s->out == NULL || s->in == NULL || s->got == NULL)
        return -ENOMEM;
    fill_pattern(s->out, out_len, seed * 2u + port);
    fill_pattern(s->in, in_len, seed * 2u + port + 1000u);
    return 0;
}

static void stream_free(struct stream *s)
{
    free(s->out);
    free(s->in);
    free(s->got);
}

/* The backend's output must be exactly what the guest sent, and what the
 * guest read exactly what the backend was given. */
static void stream_check(struct vcon_rig *rig, unsigned device, const struct stream *s,
                         struct vcon_session_result *out, unsigned slot)
{
    size_t len = 0;
    const uint8_t *got_out = vcon_script_output(vcon_rig_backend(rig, device, s->port), &len);
    out->out_done[slot] = len;
    out->out_ok[slot] = len == s->out_len && (len == 0 || memcmp(got_out, s->out, len) == 0);
    out->in_done[slot] = s->got_len;
    out->in_ok[slot] = s->got_len == s->in_len && memcmp(s->got, s->in, s->in_len) == 0;
}

/* ---- UART ----------------------------------------------------------------- */

static void uart_send(struct vcon_guest_uart *u, struct stream *s)
{
    for (unsigned round = 0; round < ROUNDS; round++) {
        if (s->out_sent < s->out_len) {
            const int n = vcon_guest_uart_write(u, s->out + s->out_sent, s->out_len - s->out_sent);
            if (n > 0)
                s->out_sent += (size_t)n;
        }
        (void)vcon_guest_uart_service(u);
        if (s->out_sent == s->out_len && vcon_guest_uart_tx_pending(u) == 0)
            return;
    }
}

/* Fed in pieces, as a terminal would type; the last bytes of each piece
 * stay under the trigger level and come with the character timeout. */
static void uart_receive(struct vcon_rig *rig, unsigned device, struct vcon_guest_uart *u,
                         struct stream *s)
{
    const size_t piece = s->in_len / UART_PIECES + 1;
    for (size_t fed = 0; fed < s->in_len; fed += piece) {
        const size_t n = s->in_len - fed < piece ? s->in_len - fed : piece;
        (void)vcon_rig_feed(rig, device, 0, s->in + fed, n);
        (void)vcon_guest_uart_service(u);
        vcon_guest_uart_advance(u, SETTLE_NS);
        s->got_len += vcon_guest_uart_read(u, s->got + s->got_len, s->in_len - s->got_len);
    }
}

static void uart_line_events(struct vcon_rig *rig, unsigned device, struct vcon_guest_uart *u)
{
    const struct vcon_rig_event brk = {.kind = VCON_RIG_EV_LINE_ERROR, .device = device,
                                       .value = 0, .flag = VCON_UART_LSR_BI | VCON_UART_LSR_FE};
    const struct vcon_rig_event parity = {.kind = VCON_RIG_EV_LINE_ERROR, .device = device,
                                          .value = 'p', .flag = VCON_UART_LSR_PE};
    const struct vcon_rig_event modem = {
        .kind = VCON_RIG_EV_MODEM_LINES, .device = device,
        .value = VCON_UART_MSR_CTS | VCON_UART_MSR_DSR | VCON_UART_MSR_DCD};
    uint8_t sink[8];
    (void)vcon_rig_apply(rig, &brk);
    (void)vcon_rig_apply(rig, &parity);
    (void)vcon_guest_uart_service(u);
    vcon_guest_uart_advance(u, SETTLE_NS);
    (void)vcon_guest_uart_read(u, sink, sizeof(sink));
    (void)vcon_rig_apply(rig, &modem);
    (void)vcon_guest_uart_service(u);
}

static int uart_run(struct vcon_rig *rig, const struct vcon_session_options *o,
                    const struct vcon_rig_device_info *info, struct vcon_guest_uart *u,
                    struct vcon_session_result *out)
{
    struct stream s;
    int rc = stream_init(&s, 0, o->out_len, o->in_len, o->seed);
    if (rc == 0) {
        mark(o, "probe and open");
        rc = vcon_guest_uart_probe(u, vcon_rig_vm(rig), info->io_base, info->irq_line);
        out->uart_type = (int)u->type;
    }
    if (rc == 0)
        rc = vcon_guest_uart_set_baud(u, 115200);
    if (rc == 0) {
        mark(o, "transmit");
        uart_send(u, &s);
        mark(o, "receive");
        uart_receive(rig, o->device, u, &s);
        stream_check(rig, o->device, &s, out, 0);
        mark(o, "line errors and modem lines");
        uart_line_events(rig, o->device, u);
        out->line_errors = u->counters.brk + u->counters.frame + u->counters.parity;
    }
    stream_free(&s);
    return rc;
}

int vcon_session_uart(struct vcon_rig *rig, const struct vcon_session_options *o,
                      struct vcon_session_result *out)
{
    struct vcon_rig_device_info info;
    memset(out, 0, sizeof(*out));
    if (vcon_rig_device_info(rig, o->device, &info) != 0 || info.kind != VCON_RIG_UART)
        return -ENODEV;
    /* The driver's software buffers are large: not on the stack. */
    struct vcon_guest_uart *u = calloc(1, sizeof(*u));
    if (u == NULL)
        return -ENOMEM;
    const int rc = uart_run(rig, o, &info, u, out);
    free(u);
    return rc;
}

/* ---- virtio-console ----------------------------------------------------------- */

static int settle(struct vcon_guest_console *g)
{
    for (unsigned i = 0; i < SETTLE_ROUNDS; i++) {
        const int runs = vcon_guest_console_service(g);
        if (runs <= 0)
            return runs;
    }
    return -EIO;
}

static bool stream_done(struct vcon_rig *rig, unsigned device, const struct stream *s)
{
    size_t len = 0;
    (void)vcon_script_output(vcon_rig_backend(rig, device, s->port), &len);
    return len >= s->out_len && s->got_len >= s->in_len;
}

/* One round: the guest posts what the ring takes, the host says the
 * backends have input, interrupts are taken, the guest reads. */
static bool traffic_round(struct vcon_rig *rig, unsigned device, struct vcon_guest_console *g,
                          struct stream *s, unsigned n)
{
    bool done = true;
    for (unsigned i = 0; i < n; i++) {
        if (s[i].out_sent < s[i].out_len) {
            const int sent = vcon_guest_console_write(g, s[i].port, s[i].out + s[i].out_sent,
                                                      s[i].out_len - s[i].out_sent);
            if (sent > 0)
                s[i].out_sent += (size_t)sent;
        }
        if (vcon_script_pending_input(vcon_rig_backend(rig, device, s[i].port)) > 0)
            (void)vcon_rig_backend_ready(rig, device, s[i].port);
    }
    (void)settle(g);
    for (unsigned i = 0; i < n; i++) {
        s[i].got_len += vcon_guest_console_read(g, s[i].port, s[i].got + s[i].got_len,
                                                s[i].in_len - s[i].got_len);
        done = done && stream_done(rig, device, &s[i]);
    }
    return done;
}

static void console_traffic(struct vcon_rig *rig, unsigned device, struct vcon_guest_console *g,
                            struct stream *s, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        (void)vcon_script_input(vcon_rig_backend(rig, device, s[i].port), s[i].in, s[i].in_len);
    for (unsigned round = 0; round < ROUNDS; round++)
        if (traffic_round(rig, device, g, s, n))
            return;
}

static void console_host_events(struct vcon_rig *rig, const struct vcon_session_options *o,
                                struct vcon_guest_console *g, struct vcon_session_result *out)
{
    const struct vcon_rig_event resize = {.kind = VCON_RIG_EV_RESIZE, .device = o->device,
                                          .port = 0, .cols = NEW_COLS, .rows = NEW_ROWS};
    const struct vcon_rig_event plug = {.kind = VCON_RIG_EV_HOTPLUG, .device = o->device,
                                        .port = HOT_PORT, .flag = 1, .name = "p2"};
    mark(o, "resize");
    (void)vcon_rig_apply(rig, &resize);
    (void)settle(g);
    const struct vcon_guest_console_port *p0 = vcon_guest_console_port(g, 0);
    out->resized = p0 != NULL && p0->cols == NEW_COLS && p0->rows == NEW_ROWS;
    mark(o, "hot-plug");
    (void)vcon_rig_apply(rig, &plug);
    (void)settle(g);
    const struct vcon_guest_console_port *p2 = vcon_guest_console_port(g, HOT_PORT);
    out->hotplugged = p2 != NULL && p2->present;
    (void)vcon_guest_console_open(g, HOT_PORT);
    (void)settle(g);
}

static void console_unplug(struct vcon_rig *rig, const struct vcon_session_options *o,
                           struct vcon_guest_console *g, struct vcon_session_result *out)
{
    const struct vcon_rig_event unplug = {.kind = VCON_RIG_EV_HOTPLUG, .device = o->device,
                                          .port = HOT_PORT, .flag = 0, .name = "p2"};
    mark(o, "unplug");
    (void)vcon_rig_apply(rig, &unplug);
    (void)settle(g);
    const struct vcon_guest_console_port *p2 = vcon_guest_console_port(g, HOT_PORT);
    out->unplugged = p2 != NULL && !p2->present;
}

static int console_bring_up(struct vcon_guest_console *g)
{
    int rc = vcon_guest_console_probe(g);
    if (rc == 0)
        rc = settle(g);
    for (unsigned p = 0; rc == 0 && p < vcon_guest_console_nr_ports(g); p++) {
        const struct vcon_guest_console_port *port = vcon_guest_console_port(g, p);
        if (port != NULL && port->present && !port->guest_open)
            rc = vcon_guest_console_open(g, p);
    }
    return rc == 0 ? settle(g) : rc;
}

static int console_run(struct vcon_rig *rig, const struct vcon_session_options *o,
                       struct vcon_guest_console *g, struct stream *s,
                       struct vcon_session_result *out)
{
    mark(o, "bring-up");
    int rc = console_bring_up(g);
    if (rc != 0)
        return rc;
    mark(o, "data on ports 0 and 1");
    console_traffic(rig, o->device, g, s, 2);
    console_host_events(rig, o, g, out);
    mark(o, "data on port 2");
    console_traffic(rig, o->device, g, &s[2], 1);
    for (unsigned i = 0; i < 3; i++)
        stream_check(rig, o->device, &s[i], out, i);
    console_unplug(rig, o, g, out);
    return 0;
}

static void guest_options(const struct vcon_rig_device_info *info,
                          struct vcon_guest_console_options *go)
{
    vcon_guest_console_default_options(go);
    go->bus = info->pci_bus;
    go->slot = info->pci_slot; /* the rig may have more than one console */
    go->io_base = info->io_base;
    go->mmio_base = info->mmio_base;
    go->intx_line = info->irq_line;
}

int vcon_session_console(struct vcon_rig *rig, const struct vcon_session_options *o,
                         struct vcon_session_result *out)
{
    struct vcon_rig_device_info info;
    struct vcon_guest_console_options go;
    struct vcon_guest_console *g = NULL;
    struct stream s[3];
    int rc = 0;

    memset(out, 0, sizeof(*out));
    memset(s, 0, sizeof(s));
    if (vcon_rig_device_info(rig, o->device, &info) != 0 || info.kind != VCON_RIG_CONSOLE)
        return -ENODEV;
    guest_options(&info, &go);
    if (o->console_msix)
        go.irq = VCON_GUEST_CONSOLE_MSIX;
    for (unsigned i = 0; rc == 0 && i < 3; i++)
        rc = stream_init(&s[i], i, o->out_len + 37u * i, o->in_len + 53u * i, o->seed);
    if (rc == 0)
        rc = vcon_guest_console_create(vcon_rig_vm(rig), &go, &g);
    if (rc == 0)
        rc = console_run(rig, o, g, s, out);
    vcon_guest_console_destroy(g);
    for (unsigned i = 0; i < 3; i++)
        stream_free(&s[i]);
    return rc;
}
