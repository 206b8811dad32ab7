/* vcon-demo: one UART behind the fake hypervisor, driven by the fake guest's
 * Linux-like 8250 driver. The guest probes and opens the port, sends a
 * greeting, reads a line the host types and echoes it back; the demo prints
 * what the driver identified, the bytes that reached the backend, the
 * device's statistics and the virtual time it took. Deterministic: the same
 * options give the same output on every run. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "guest/uart_driver.h"
#include "harness/script_backend.h"
#include "harness/vm.h"
#include "vcon/uart.h"

#define COM1_BASE 0x3F8u
#define COM1_IRQ 4u
#define GUEST_RAM (1u << 20)
#define GUEST_BAUD 115200u
#define SETTLE_NS 1000000u    /* 1 ms: longer than any character timeout at 115200 */
#define MAX_SEND_ROUNDS 100000u

static const char default_message[] =
    "vcon demo: hello from the fake guest's 8250 driver\n"
    "Every byte of this greeting went through THR, one FIFO load per THRE\n"
    "interrupt, and the scripted backend collected it in order.\n";
static const char host_line[] = "host: please echo this line back to me\n";

struct demo_options {
    enum vcon_uart_profile profile;
    enum vcon_uart_flavour flavour;
    enum vcon_uart_irq_mode irq_mode;
    const char *message;
};

struct demo {
    struct vcon_vm *vm;
    struct vcon_uart *uart;
    struct vcon_script_backend *backend;
    struct vcon_guest_uart guest;
};

static void print_usage(FILE *out)
{
    fputs("usage: vcon-demo [--profile 16550a|acrn-dm] [--flavour dm|hv] [--irq level|edge]\n"
          "                 [--message TEXT]\n"
          "       vcon-demo --help\n",
          out);
}

static void print_help(void)
{
    print_usage(stdout);
    fputs("\n"
          "Runs one emulated 16550A UART at COM1 (port 0x3f8, IRQ 4) behind the fake\n"
          "hypervisor. A fake guest driver that behaves like Linux's 8250 driver probes\n"
          "and opens the port, sets 115200 baud, sends a message, then reads a line the\n"
          "host types into the scripted backend and echoes it back.\n"
          "\n"
          "Printed: the UART type and FIFO size the driver identified, the bytes that\n"
          "reached the backend (non-printable bytes as \\xHH, a backslash as \\\\), the\n"
          "device's register and interrupt statistics, and the virtual time elapsed.\n"
          "\n"
          "options:\n"
          "  --profile 16550a|acrn-dm  guest-visible register behaviour (default 16550a)\n"
          "  --flavour dm|hv           device-model or hypervisor data path (default dm)\n"
          "  --irq level|edge          interrupt output mode (default level)\n"
          "  --message TEXT            what the guest sends (default: a greeting)\n"
          "  --help                    this text\n"
          "\n"
          "Exit status: 0 when every check passed, 1 when one failed (the reason is on\n"
          "stderr), 2 for bad options.\n",
          stdout);
}

/* Prints "vcon-demo: <what> '<arg>'<hint>" and the usage; returns 2. */
static int usage_error(const char *what, const char *arg, const char *hint)
{
    fprintf(stderr, "vcon-demo: %s '%s'%s\n", what, arg, hint);
    print_usage(stderr);
    return 2;
}

/* Accepts "--name VALUE" and "--name=VALUE"; advances *i past what it used. */
static const char *option_value(int argc, char **argv, int *i, const char *name)
{
    const size_t n = strlen(name);
    const char *arg = argv[*i];
    if (strncmp(arg, name, n) != 0)
        return NULL;
    if (arg[n] == '=')
        return arg + n + 1;
    if (arg[n] != '\0' || *i + 1 >= argc)
        return NULL;
    *i += 1;
    return argv[*i];
}

static bool is_option(const char *arg, const char *name)
{
    const size_t n = strlen(name);
    return strncmp(arg, name, n) == 0 && (arg[n] == '\0' || arg[n] == '=');
}

/* 0 to run, 1 when --help was printed, 2 for a usage error (printed). */
static int parse_options(int argc, char **argv, struct demo_options *o)
{
    o->profile = VCON_UART_PROFILE_16550A;
    o->flavour = VCON_UART_FLAVOUR_DM;
    o->irq_mode = VCON_UART_IRQ_LEVEL;
    o->message = default_message;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        const char *v;
        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
            print_help();
            return 1;
        } else if (is_option(arg, "--profile")) {
            if ((v = option_value(argc, argv, &i, "--profile")) == NULL)
                return usage_error("missing value for", "--profile", "");
            if (strcmp(v, "16550a") == 0)
                o->profile = VCON_UART_PROFILE_16550A;
            else if (strcmp(v, "acrn-dm") == 0)
                o->profile = VCON_UART_PROFILE_ACRN_DM;
            else
                return usage_error("unknown profile", v, " (16550a or acrn-dm)");
        } else if (is_option(arg, "--flavour")) {
            if ((v = option_value(argc, argv, &i, "--flavour")) == NULL)
                return usage_error("missing value for", "--flavour", "");
            if (strcmp(v, "dm") == 0)
                o->flavour = VCON_UART_FLAVOUR_DM;
            else if (strcmp(v, "hv") == 0)
                o->flavour = VCON_UART_FLAVOUR_HV;
            else
                return usage_error("unknown flavour", v, " (dm or hv)");
        } else if (is_option(arg, "--irq")) {
            if ((v = option_value(argc, argv, &i, "--irq")) == NULL)
                return usage_error("missing value for", "--irq", "");
            if (strcmp(v, "level") == 0)
                o->irq_mode = VCON_UART_IRQ_LEVEL;
            else if (strcmp(v, "edge") == 0)
                o->irq_mode = VCON_UART_IRQ_EDGE;
            else
                return usage_error("unknown irq mode", v, " (level or edge)");
        } else if (is_option(arg, "--message")) {
            if ((v = option_value(argc, argv, &i, "--message")) == NULL)
                return usage_error("missing value for", "--message", "");
            o->message = v;
        } else {
            return usage_error("unknown argument", arg, "");
        }
    }
    return 0;
}

static int bus_read(void *device, uint64_t offset, unsigned size, uint32_t *value)
{
    return vcon_uart_read(device, (unsigned)offset, size, value);
}

static int bus_write(void *device, uint64_t offset, unsigned size, uint32_t value)
{
    return vcon_uart_write(device, (unsigned)offset, size, value);
}

static const struct vcon_bus_ops uart_bus_ops = {.read = bus_read, .write = bus_write};

static int fail(const char *what)
{
    fprintf(stderr, "vcon-demo: FAIL: %s\n", what);
    return 1;
}

/* A failed call, with the negative errno it returned. */
static int fail_rc(const char *what, int rc)
{
    fprintf(stderr, "vcon-demo: FAIL: %s: %s (%d)\n", what, strerror(rc < 0 ? -rc : rc), rc);
    return 1;
}

static const char *profile_name(enum vcon_uart_profile p)
{
    return p == VCON_UART_PROFILE_ACRN_DM ? "acrn-dm" : "16550a";
}

static int create_machine(struct demo *d, const struct demo_options *o)
{
    int rc = vcon_vm_create(GUEST_RAM, &d->vm);
    if (rc != 0)
        return fail_rc("cannot create the VM", rc);
    struct vcon_host host;
    struct vcon_vm_binding *binding = NULL;
    rc = vcon_vm_bind_device(d->vm, 1, &host, &binding);
    if (rc != 0)
        return fail_rc("cannot bind the UART to the VM", rc);
    d->backend = vcon_vm_backend(binding, 0);
    if (d->backend == NULL)
        return fail("the binding has no backend for port 0");
    const struct vcon_uart_config config = {
        .flavour = o->flavour,
        .profile = o->profile,
        .irq_mode = o->irq_mode,
        .irq_line = COM1_IRQ,
    };
    rc = vcon_uart_create(&config, &host, &d->uart);
    if (rc != 0)
        return fail_rc("cannot create the UART", rc);
    rc = vcon_vm_map(d->vm, VCON_SPACE_PIO, COM1_BASE, VCON_UART_NR_REGS, &uart_bus_ops, d->uart);
    if (rc != 0)
        return fail_rc("cannot map the UART at 0x3f8", rc);
    return 0;
}

static int boot_guest(struct demo *d, const struct demo_options *o)
{
    struct vcon_guest_uart *g = &d->guest;
    const int rc = vcon_guest_uart_probe(g, d->vm, COM1_BASE, COM1_IRQ);
    if (g->type == VCON_GUEST_UART_NONE)
        printf("guest driver found no UART at 0x%x\n", COM1_BASE);
    else
        printf("guest driver found a%s %s with a %u-byte FIFO at 0x%x, irq %u\n",
               g->type == VCON_GUEST_UART_8250 ? "n" : "", vcon_guest_uart_type_name(g->type),
               g->fifo_size, COM1_BASE, COM1_IRQ);
    if (rc != 0)
        return fail_rc("the guest driver could not open the port", rc);
    if (g->type != VCON_GUEST_UART_16550A || g->fifo_size != 16)
        return fail("the guest driver did not identify a 16550A with a 16-byte FIFO");
    if (g->bug_thre)
        return fail("the THRE test failed: THRE was not re-asserted when THRI was set again");
    if (g->bug_txen)
        return fail("the TXEN test failed: no THRE interrupt when THRI was enabled");
    vcon_guest_uart_set_irq_trigger(g, o->irq_mode == VCON_UART_IRQ_EDGE ? VCON_GUEST_IRQ_EDGE
                                                                         : VCON_GUEST_IRQ_LEVEL);
    if (vcon_guest_uart_set_baud(g, GUEST_BAUD) != 0)
        return fail("the guest driver refused 115200 baud");
    printf("guest driver: THRE and TXEN tests passed; %u baud 8N1, divisor %u, FCR 0x%02x, "
           "IER 0x%02x, MCR 0x%02x\n",
           g->baud, g->divisor, g->fcr, g->ier, g->mcr);
    return 0;
}

/* Queue everything and let the interrupt handler drain the queue. */
static int guest_send(struct demo *d, const uint8_t *bytes, size_t len)
{
    size_t sent = 0;
    for (unsigned round = 0; round < MAX_SEND_ROUNDS; round++) {
        if (sent < len) {
            const int n = vcon_guest_uart_write(&d->guest, bytes + sent, len - sent);
            if (n < 0)
                return fail_rc("guest write failed", n);
            sent += (size_t)n;
        }
        (void)vcon_guest_uart_service(&d->guest);
        if (sent == len && vcon_guest_uart_tx_pending(&d->guest) == 0)
            return 0;
    }
    return fail("the guest's transmit queue did not drain");
}

static int host_line_round_trip(struct demo *d)
{
    const size_t len = sizeof host_line - 1;
    if (vcon_script_input(d->backend, host_line, len) != 0)
        return fail("cannot queue the host's input");
    vcon_uart_backend_ready(d->uart);
    (void)vcon_guest_uart_service(&d->guest);
    vcon_guest_uart_advance(&d->guest, SETTLE_NS);

    uint8_t got[sizeof host_line];
    const size_t n = vcon_guest_uart_read(&d->guest, got, sizeof got);
    if (n != len || memcmp(got, host_line, len) != 0) {
        fprintf(stderr, "vcon-demo: FAIL: the guest received %zu of the host's %zu bytes%s\n", n,
                len, n == len ? ", altered" : "");
        return 1;
    }
    printf("guest received the host's %zu-byte line and echoes it back\n", n);
    return guest_send(d, got, n);
}

static void print_escaped(const uint8_t *bytes, size_t len)
{
    bool line_start = true;
    for (size_t i = 0; i < len; i++) {
        if (line_start)
            fputs("  | ", stdout);
        line_start = false;
        const uint8_t c = bytes[i];
        if (c == '\n') {
            putchar('\n');
            line_start = true;
        } else if (c == '\\') {
            fputs("\\\\", stdout);
        } else if (c >= 0x20 && c < 0x7F) {
            putchar(c);
        } else {
            printf("\\x%02x", c);
        }
    }
    if (!line_start)
        fputs("\n  (no newline at the end)\n", stdout);
}

static int check_backend_output(struct demo *d, const struct demo_options *o)
{
    size_t out_len = 0;
    const uint8_t *out = vcon_script_output(d->backend, &out_len);
    printf("bytes the guest sent, as collected by the scripted backend (%zu):\n", out_len);
    print_escaped(out, out_len);

    const size_t msg_len = strlen(o->message);
    const size_t line_len = sizeof host_line - 1;
    if (out_len != msg_len + line_len) {
        fprintf(stderr, "vcon-demo: FAIL: the backend received %zu bytes, the guest sent %zu\n",
                out_len, msg_len + line_len);
        return 1;
    }
    if (memcmp(out, o->message, msg_len) != 0 || memcmp(out + msg_len, host_line, line_len) != 0)
        return fail("the bytes at the backend differ from what the guest sent");
    return 0;
}

static void print_statistics(const struct demo *d, uint64_t start_ns)
{
    struct vcon_uart_stats s;
    vcon_uart_get_stats(d->uart, &s);
    printf("uart statistics:\n"
           "  register reads %llu, register writes %llu, bad accesses %llu\n"
           "  rx bytes %llu, tx bytes %llu, overruns %llu, input dropped %llu, tx dropped %llu\n"
           "  breaks %llu, interrupt raises %llu\n",
           (unsigned long long)s.reads, (unsigned long long)s.writes,
           (unsigned long long)s.bad_accesses, (unsigned long long)s.rx_bytes,
           (unsigned long long)s.tx_bytes, (unsigned long long)s.overruns,
           (unsigned long long)s.input_dropped, (unsigned long long)s.tx_dropped,
           (unsigned long long)s.breaks, (unsigned long long)s.irq_raises);
    const struct vcon_guest_uart_counters *c = &d->guest.counters;
    printf("guest driver: %llu interrupts (%llu handled passes, %llu found nothing, "
           "%llu cut short), %llu bytes written to THR, %llu read from RBR\n",
           (unsigned long long)c->interrupts, (unsigned long long)c->passes,
           (unsigned long long)c->unhandled, (unsigned long long)c->stuck,
           (unsigned long long)c->tx, (unsigned long long)c->rx);
    if (vcon_vm_log_count(d->vm) > 0)
        printf("device log: %llu lines, last: %s\n", (unsigned long long)vcon_vm_log_count(d->vm),
               vcon_vm_last_log(d->vm));
    const uint64_t ns = vcon_vm_now(d->vm) - start_ns;
    printf("virtual time elapsed: %llu ns (%llu.%06llu ms)\n", (unsigned long long)ns,
           (unsigned long long)(ns / 1000000u), (unsigned long long)(ns % 1000000u));
}

static int run_demo(struct demo *d, const struct demo_options *o)
{
    printf("vcon-demo: 16550A UART at COM1 (0x%x), profile %s, flavour %s, %s IRQ %u\n",
           COM1_BASE, profile_name(o->profile), o->flavour == VCON_UART_FLAVOUR_HV ? "hv" : "dm",
           o->irq_mode == VCON_UART_IRQ_EDGE ? "edge" : "level", COM1_IRQ);
    int rc = create_machine(d, o);
    if (rc != 0)
        return rc;
    const uint64_t start_ns = vcon_vm_now(d->vm);
    if ((rc = boot_guest(d, o)) != 0)
        return rc;
    if ((rc = guest_send(d, (const uint8_t *)o->message, strlen(o->message))) != 0)
        return rc;
    if ((rc = host_line_round_trip(d)) != 0)
        return rc;
    vcon_guest_uart_advance(&d->guest, SETTLE_NS);
    rc = check_backend_output(d, o);
    print_statistics(d, start_ns);
    if (rc == 0)
        printf("vcon-demo: OK\n");
    return rc;
}

int main(int argc, char **argv)
{
    struct demo_options options;
    const int parsed = parse_options(argc, argv, &options);
    if (parsed == 1)
        return 0;
    if (parsed != 0)
        return parsed;

    /* The driver's buffers make the guest 20 KB: keep it off the stack. */
    struct demo *d = calloc(1, sizeof *d);
    if (d == NULL) {
        fputs("vcon-demo: out of memory\n", stderr);
        return 1;
    }
    const int rc = run_demo(d, &options);
    fflush(stdout);
    if (d->uart != NULL)
        vcon_uart_destroy(d->uart);
    if (d->vm != NULL)
        vcon_vm_destroy(d->vm);
    free(d);
    return rc;
}
